//! Finding the state directory and the configured destination names for an admin command.
//!
//! An admin command needs only `state_dir` and the names under `[destinations]`, so it reads
//! those two from the TOML file and nothing else. It resolves no secrets and compiles no
//! templates, so it works in a shell that lacks the service's environment (the variables that
//! `{ env = "NAME" }` secrets read), and with a file that `sluice check` would reject for
//! reasons unrelated to these two keys.

use std::path::{Path, PathBuf};

use crate::config::{Config, DEFAULT_STATE_DIR};

/// The state directory of an admin command, and the configured destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The state directory, holding the outbox and the admin socket.
    pub state_dir: PathBuf,
    /// The configured destination names in the file's order; `None` when no configuration was
    /// read (only `--state-dir` was given).
    pub configured: Option<Vec<String>>,
}

/// Errors reading the configuration for an admin command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, or a key has the wrong type.
    #[error("invalid config file {path}: {message}; `sluice check` shows every problem")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The problem.
        message: String,
    },
}

/// Finds the state directory and the configured destinations.
///
/// `state_dir` overrides the file's `state_dir`. With neither a file nor a directory given,
/// it uses the embedded default configuration, as `sluice serve` does. A relative `state_dir`
/// in a file resolves against the file's directory, as `sluice serve` resolves it.
pub fn locate(config: Option<&Path>, state_dir: Option<&Path>) -> Result<Location, LocateError> {
    let mut location = match config {
        Some(path) => read_file(path)?,
        None if state_dir.is_some() => {
            Location { state_dir: PathBuf::from(DEFAULT_STATE_DIR), configured: None }
        }
        None => {
            // The embedded default has no secrets and always loads.
            let config = Config::load(None).map_err(|error| LocateError::Invalid {
                path: PathBuf::from("<embedded default>"),
                message: error.problems.join("; "),
            })?;
            Location {
                state_dir: config.state_dir,
                configured: Some(config.destinations.iter().map(|d| d.name.clone()).collect()),
            }
        }
    };
    if let Some(state_dir) = state_dir {
        location.state_dir = state_dir.to_owned();
    }
    Ok(location)
}

fn read_file(path: &Path) -> Result<Location, LocateError> {
    let read_error = |source| LocateError::Read { path: path.to_owned(), source };
    let bytes = crate::config::read_bounded_bytes(path, crate::config::MAX_CONFIG_FILE_BYTES)
        .map_err(read_error)?;
    let text = String::from_utf8(bytes)
        .map_err(|error| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, error)))?;
    let invalid = |message: String| LocateError::Invalid { path: path.to_owned(), message };
    let table: toml::Table =
        toml::from_str(&text).map_err(|error| invalid(error.message().to_owned()))?;

    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let state_dir = match table.get("state_dir") {
        None => base.join(DEFAULT_STATE_DIR),
        Some(toml::Value::String(dir)) if !dir.is_empty() => base.join(dir),
        Some(_) => return Err(invalid("state_dir: expected a non-empty string".to_owned())),
    };
    let configured = match table.get("destinations") {
        None => Vec::new(),
        Some(toml::Value::Table(destinations)) => destinations.keys().cloned().collect(),
        Some(_) => return Err(invalid("destinations: expected a table".to_owned())),
    };
    Ok(Location { state_dir, configured: Some(configured) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_gives_state_dir_and_names_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sluice.toml");
        std::fs::write(
            &file,
            "state_dir = \"state\"\n[destinations.braze]\nurl = \"https://x\"\n\
             headers = { Authorization = { env = \"NOT_SET_IN_THIS_SHELL\" } }\n\
             [destinations.billing]\nkind = \"stdout\"\n",
        )
        .unwrap();
        let location = locate(Some(&file), None).unwrap();
        assert_eq!(location.state_dir, dir.path().join("state"));
        assert_eq!(location.configured, Some(vec!["braze".to_owned(), "billing".to_owned()]));
    }

    #[test]
    fn state_dir_flag_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sluice.toml");
        std::fs::write(&file, "state_dir = \"/var/lib/sluice\"\n").unwrap();
        let location = locate(Some(&file), Some(Path::new("/tmp/other"))).unwrap();
        assert_eq!(location.state_dir, PathBuf::from("/tmp/other"));
        assert_eq!(location.configured, Some(Vec::new()));
    }

    #[test]
    fn state_dir_alone_leaves_configuration_unknown() {
        let location = locate(None, Some(Path::new("s"))).unwrap();
        assert_eq!(location.state_dir, PathBuf::from("s"));
        assert_eq!(location.configured, None);
    }

    #[test]
    fn nothing_given_uses_the_embedded_default() {
        let location = locate(None, None).unwrap();
        assert_eq!(location.state_dir, PathBuf::from(".").join(DEFAULT_STATE_DIR));
        assert_eq!(location.configured, Some(vec!["stdout".to_owned()]));
    }

    #[test]
    fn malformed_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "state_dir = 5\n").unwrap();
        let error = locate(Some(&file), None).unwrap_err();
        assert!(error.to_string().contains("bad.toml"), "{error}");
        assert!(error.to_string().contains("state_dir"), "{error}");
    }
}
