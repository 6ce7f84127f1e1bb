//! Operator commands over the outbox: queue counts, dead letters (list, show, replay, purge),
//! dropping the queue of a destination no longer configured, and pausing deliveries.
//!
//! redb lets one process open the outbox file, so while `sluice serve` runs the commands reach
//! the data through it: [`server`] serves the admin API on a Unix socket in the state
//! directory, and [`client`] calls it. When no server listens, the command opens the file itself
//! (offline). Both paths run the same operations, those of [`Admin`], and exchange the types of
//! [`api`].
//!
//! # Admin API
//!
//! HTTP/1.1 with JSON bodies on `STATE_DIR/admin.sock` (mode 0600), never on a network socket:
//!
//! | method and path | operation |
//! | --- | --- |
//! | `GET /v1/queues` | [`Admin::queues`] |
//! | `POST /v1/queues/{destination}/drop` | [`Admin::drop_queue`] |
//! | `GET /v1/dead?destination=&limit=&after=&order=oldest\|newest` | [`Admin::dead_list`] |
//! | `GET /v1/dead/{key}` | [`Admin::dead_show`] |
//! | `POST /v1/dead/replay` with a [`api::Target`] | [`Admin::replay`] |
//! | `POST /v1/dead/purge` with a [`api::Target`] | [`Admin::purge`] |
//! | `POST /v1/destinations/{destination}/pause` | [`Admin::pause`] |
//! | `POST /v1/destinations/{destination}/resume` | [`Admin::resume`] |
//!
//! A success is 200 with the operation's report. A failure is a 4xx or 5xx status with
//! `{"error": {"code": "...", "message": "..."}}`, where `code` is an [`ErrorCode`].

pub mod api;
pub mod client;
pub mod locate;
mod ops;
pub mod server;

use serde::{Deserialize, Serialize};

pub use ops::{Admin, Deliveries};

use api::LetterKey;

/// The file name of the admin socket inside the state directory.
pub const SOCKET_FILE: &str = "admin.sock";

/// Errors of the admin operations and of the admin API client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No destination has this name, in the outbox or the configuration.
    #[error("unknown destination `{name}`; {}", did_you_mean(suggestion.as_deref()))]
    UnknownDestination {
        /// The name given.
        name: String,
        /// The closest known name, if one is close.
        suggestion: Option<String>,
    },
    /// The dead letter does not exist.
    #[error("no dead letter {key}: {reason}")]
    LetterNotFound {
        /// The key given.
        key: LetterKey,
        /// The cause, with what to do.
        reason: String,
    },
    /// The dead letter exists but cannot be decoded.
    #[error("cannot read dead letter {key}: {message}")]
    LetterUnreadable {
        /// The key.
        key: LetterKey,
        /// The cause.
        message: String,
    },
    /// The destination is configured, so its queue must not be dropped.
    #[error(
        "destination `{0}` is still configured; remove it from the configuration and restart \
         sluice before dropping its queue"
    )]
    StillConfigured(String),
    /// The destination is not configured, so replayed events would never be delivered.
    #[error(
        "destination `{0}` is no longer configured, so replayed events would never be \
         delivered; add it back to the configuration, or purge its dead letters"
    )]
    NotConfigured(String),
    /// No configuration was read, so whether the destination is configured is unknown.
    #[error(
        "cannot tell whether destination `{0}` is still configured; pass --config with the \
         configuration that sluice serve runs with"
    )]
    ConfigurationUnknown(String),
    /// Pausing needs the delivery tasks of a running server.
    #[error("deliveries can be paused and resumed only in a running sluice serve")]
    NotRunning,
    /// The request is malformed or out of range.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing the outbox failed.
    #[error("{0}")]
    Storage(String),
    /// The outbox is closed or the server is shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// The running server reported an error.
    #[error("{message}")]
    Remote {
        /// The kind of error.
        code: ErrorCode,
        /// The server's message.
        message: String,
    },
    /// The admin API could not be reached, or its response could not be read.
    #[error("{0}")]
    Client(String),
}

/// The kind of an [`AdminError`], as the admin API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// [`AdminError::UnknownDestination`].
    UnknownDestination,
    /// [`AdminError::LetterNotFound`].
    NotFound,
    /// [`AdminError::LetterUnreadable`].
    Unreadable,
    /// [`AdminError::StillConfigured`].
    StillConfigured,
    /// [`AdminError::NotConfigured`].
    NotConfigured,
    /// [`AdminError::ConfigurationUnknown`].
    ConfigurationUnknown,
    /// [`AdminError::NotRunning`].
    NotRunning,
    /// [`AdminError::Invalid`].
    Invalid,
    /// [`AdminError::Storage`].
    Storage,
    /// [`AdminError::Unavailable`], and a failure of the client itself.
    Unavailable,
}

impl AdminError {
    /// Returns the kind of the error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AdminError::UnknownDestination { .. } => ErrorCode::UnknownDestination,
            AdminError::LetterNotFound { .. } => ErrorCode::NotFound,
            AdminError::LetterUnreadable { .. } => ErrorCode::Unreadable,
            AdminError::StillConfigured(_) => ErrorCode::StillConfigured,
            AdminError::NotConfigured(_) => ErrorCode::NotConfigured,
            AdminError::ConfigurationUnknown(_) => ErrorCode::ConfigurationUnknown,
            AdminError::NotRunning => ErrorCode::NotRunning,
            AdminError::Invalid(_) => ErrorCode::Invalid,
            AdminError::Storage(_) => ErrorCode::Storage,
            AdminError::Unavailable(_) | AdminError::Client(_) => ErrorCode::Unavailable,
            AdminError::Remote { code, .. } => *code,
        }
    }

    /// Returns true when the error concerns one dead letter (missing or unreadable) rather than
    /// the request or the outbox. The command reports such an error and exits with 1, not 2.
    pub fn is_problem(&self) -> bool {
        matches!(self.code(), ErrorCode::NotFound | ErrorCode::Unreadable)
    }

    /// Returns the HTTP status of the admin API's response to the error.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self.code() {
            ErrorCode::UnknownDestination | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Invalid => StatusCode::BAD_REQUEST,
            ErrorCode::StillConfigured
            | ErrorCode::NotConfigured
            | ErrorCode::ConfigurationUnknown
            | ErrorCode::NotRunning => StatusCode::CONFLICT,
            ErrorCode::Unreadable | ErrorCode::Storage => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Returns the end of an unknown-destination message: a suggestion when there is one, and
/// where to find the names.
fn did_you_mean(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(name) => format!("did you mean `{name}`? `sluice queues` lists the destinations"),
        None => "`sluice queues` lists the destinations".to_owned(),
    }
}

/// Returns the known name closest to `name`, if it is close enough to be a likely typo.
pub fn suggest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    known
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_destination_suggests_the_closest_name() {
        let known = ["billing", "braze", "warehouse"];
        assert_eq!(suggest("biling", known), Some("billing"));
        assert_eq!(suggest("braz", known), Some("braze"));
        assert_eq!(suggest("zzz", known), None);
        let error = AdminError::UnknownDestination {
            name: "biling".into(),
            suggestion: Some("billing".into()),
        };
        assert_eq!(
            error.to_string(),
            "unknown destination `biling`; did you mean `billing`? `sluice queues` lists the \
             destinations"
        );
    }

    #[test]
    fn only_letter_errors_are_problems() {
        let key = LetterKey { destination: "hook".into(), event_id: 1 };
        let missing = AdminError::LetterNotFound { key, reason: "gone".into() };
        assert!(missing.is_problem());
        assert_eq!(missing.status(), http::StatusCode::NOT_FOUND);
        assert!(!AdminError::StillConfigured("hook".into()).is_problem());
        let remote = AdminError::Remote { code: ErrorCode::Unreadable, message: "x".into() };
        assert!(remote.is_problem());
    }

    #[test]
    fn error_codes_are_snake_case() {
        let text = serde_json::to_string(&ErrorCode::UnknownDestination).unwrap();
        assert_eq!(text, "\"unknown_destination\"");
    }
}
