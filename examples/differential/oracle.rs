//! Batched runs of the FreeMarker oracle (`tools/freemarker-oracle/render --vectors --write`).
//!
//! One JVM renders a whole batch: each case becomes a vector folder in a temporary directory
//! and the oracle writes `expected.txt` or `expected-error.txt` beside it, in name order.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::generate::Case;

/// The outcome of one case in FreeMarker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OracleResult {
    Output(String),
    /// The one-line `CLASS: detail` the oracle writes for an error.
    Error(String),
    /// The oracle crashed, timed out or wrote nothing for this case.
    Failed,
}

impl OracleResult {
    /// Returns the error class (the text before the first `:`), if this is an error.
    pub fn class(&self) -> Option<&str> {
        match self {
            OracleResult::Error(line) => Some(line.split(':').next().unwrap_or("").trim()),
            _ => None,
        }
    }
}

pub struct Oracle {
    pub render: PathBuf,
    /// The maximum time one JVM run may take before it is killed.
    pub timeout: Duration,
}

impl Oracle {
    /// Renders every case with FreeMarker and returns the results in the same order.
    ///
    /// A JVM that dies or times out ends its run early; the cases it finished keep their
    /// results, the case it was on is marked `Failed`, and the rest run in a new JVM.
    pub fn run(&self, cases: &[Case]) -> Result<Vec<OracleResult>, String> {
        let mut results = Vec::with_capacity(cases.len());
        while results.len() < cases.len() {
            let start = results.len();
            let (batch, completed) = self.run_once(&cases[start..])?;
            if completed {
                results.extend(batch);
                break;
            }
            let finished = batch.iter().take_while(|r| **r != OracleResult::Failed).count();
            results.extend(batch.into_iter().take(finished));
            if results.len() < cases.len() {
                results.push(OracleResult::Failed);
            }
        }
        Ok(results)
    }

    /// Runs one JVM over `cases`; the flag is true when it got through all of them.
    fn run_once(&self, cases: &[Case]) -> Result<(Vec<OracleResult>, bool), String> {
        let dir = tempfile::Builder::new()
            .prefix("sluice-differential-")
            .tempdir()
            .map_err(|e| format!("failed to create a temporary directory: {e}"))?;
        for (index, case) in cases.iter().enumerate() {
            let case_dir = case_dir(dir.path(), index);
            fs::create_dir(&case_dir)
                .and_then(|()| fs::write(case_dir.join("template.ftl"), &case.template))
                .and_then(|()| fs::write(case_dir.join("data.json"), &case.data))
                .map_err(|e| format!("failed to write case {}: {e}", case_dir.display()))?;
        }
        let log_path = dir.path().join("oracle.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("failed to create {}: {e}", log_path.display()))?;
        let mut child = Command::new(&self.render)
            .arg("--vectors")
            .arg("--write")
            .arg(dir.path())
            // A runaway template fails fast with OutOfMemoryError instead of filling memory.
            .env("JAVA_TOOL_OPTIONS", "-Xmx512m")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("failed to start the oracle {}: {e}", self.render.display()))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("failed to wait for the oracle: {e}")),
            }
        }
        let mut results = Vec::with_capacity(cases.len());
        for index in 0..cases.len() {
            let case_dir = case_dir(dir.path(), index);
            let result = if let Ok(bytes) = fs::read(case_dir.join("expected.txt")) {
                match String::from_utf8(bytes) {
                    Ok(text) => OracleResult::Output(text),
                    Err(_) => OracleResult::Failed,
                }
            } else if let Ok(text) = fs::read_to_string(case_dir.join("expected-error.txt")) {
                OracleResult::Error(text.trim_end().to_owned())
            } else {
                OracleResult::Failed
            };
            results.push(result);
        }
        // The oracle ends a completed run with its summary line, "N vectors: …".
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let completed = log.contains(" vectors: ");
        if !completed && results.first() == Some(&OracleResult::Failed) && log.contains("render: ")
        {
            return Err(format!("the oracle could not run: {}", log.trim()));
        }
        Ok((results, completed))
    }
}

fn case_dir(root: &Path, index: usize) -> PathBuf {
    root.join(format!("case-{index:07}"))
}
