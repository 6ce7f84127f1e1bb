//! The stdout destination: one rendered body per line.
//!
//! Every CR, LF or CRLF inside a body becomes one space, so one request is always one line and
//! a reader can split the stream on line breaks. For JSON bodies this changes nothing a JSON
//! parser reads, because JSON strings cannot hold raw line breaks and whitespace between tokens
//! is insignificant. A batch is written as one line, like any other body.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::classify::{Failure, Verdict};

/// Writes bodies as lines to standard output, or to another writer in tests.
#[derive(Clone, Default)]
pub struct StdoutSender {
    /// The writer; `None` is the process's standard output. The mutex keeps the lines of
    /// concurrent requests from interleaving.
    writer: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
}

impl std::fmt::Debug for StdoutSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = if self.writer.is_some() { "writer" } else { "stdout" };
        f.debug_struct("StdoutSender").field("target", &target).finish()
    }
}

impl StdoutSender {
    /// Creates a sender that writes to standard output.
    pub fn new() -> StdoutSender {
        StdoutSender { writer: None }
    }

    /// Creates a sender that writes to `writer` instead of standard output.
    pub fn to_writer(writer: Box<dyn Write + Send>) -> StdoutSender {
        StdoutSender { writer: Some(Arc::new(Mutex::new(writer))) }
    }

    /// Writes `body` as one line and flushes.
    ///
    /// Fails (as a retryable verdict) only when the write fails, for example because standard
    /// output was closed. The write runs on tokio's blocking pool, so a slow reader of standard
    /// output stalls only this destination.
    pub async fn send(&self, body: Bytes) -> Verdict {
        let writer = self.writer.clone();
        let written = tokio::task::spawn_blocking(move || {
            let line = one_line(&body);
            match writer {
                Some(writer) => {
                    let mut guard = writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    guard.write_all(&line).and_then(|()| guard.flush())
                }
                None => {
                    let mut out = io::stdout().lock();
                    out.write_all(&line).and_then(|()| out.flush())
                }
            }
        })
        .await;
        match written {
            Ok(Ok(())) => Verdict::Success { status: None },
            Ok(Err(error)) => Verdict::Retry(Failure::transport(format!(
                "cannot write to standard output: {error}"
            ))),
            Err(error) => Verdict::Retry(Failure::transport(format!(
                "cannot write to standard output: writer task failed: {error}"
            ))),
        }
    }
}

/// Returns `body` with every CR, LF or CRLF replaced by a space, followed by one LF.
fn one_line(body: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(body.len() + 1);
    let mut bytes = body.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                line.push(b' ');
            }
            b'\n' => line.push(b' '),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces() {
        assert_eq!(one_line(b"{\n  \"a\": 1\r\n}\r"), b"{   \"a\": 1 } \n");
        assert_eq!(one_line(b"a\n\nb"), b"a  b\n");
        assert_eq!(one_line(b""), b"\n");
    }

    #[tokio::test]
    async fn bodies_are_written_as_lines() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let sender = StdoutSender::to_writer(Box::new(file.reopen().unwrap()));
        let first = sender.send(Bytes::from_static(b"{\"a\":1}")).await;
        let second = sender.send(Bytes::from_static(b"two\nlines")).await;
        assert_eq!(first, Verdict::Success { status: None });
        assert_eq!(second, Verdict::Success { status: None });
        let written = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(written, "{\"a\":1}\ntwo lines\n");
    }

    #[tokio::test]
    async fn closed_output_is_retried() {
        let (reader, writer) = io::pipe().unwrap();
        drop(reader);
        let sender = StdoutSender::to_writer(Box::new(writer));
        match sender.send(Bytes::from_static(b"x")).await {
            Verdict::Retry(failure) => {
                assert!(failure.reason.starts_with("cannot write to standard output"));
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }
}
