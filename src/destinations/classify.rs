//! Outcome classification: turns an HTTP status, its `Retry-After` header or a transport error
//! into a [`Verdict`] that the dispatcher acts on.
//!
//! The rules, in order:
//!
//! - 2xx is a success.
//! - 408, 429 and every 5xx are retried; so are connection errors and timeouts.
//! - A 429 or 503 carrying `Retry-After` (delay in seconds or an HTTP date) sets the earliest
//!   time of the next attempt.
//! - 3xx gives up, because redirects are not followed: a destination could otherwise send
//!   requests, with their credentials, to any address it names.
//! - Every other status (the remaining 4xx, and 1xx) gives up at once.

use std::time::{Duration, SystemTime};

use http::StatusCode;

/// Largest response snippet kept for a dead letter, in bytes.
pub const SNIPPET_MAX_BYTES: usize = 1024;

/// Longest `Retry-After` delay honoured; longer ones are cut to this so that a misbehaving
/// endpoint cannot park entries indefinitely.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The result of one attempt, as data the dispatcher acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The destination accepted the request.
    Success {
        /// The HTTP status; `None` for the stdout destination.
        status: Option<u16>,
    },
    /// The attempt failed in a way that may succeed later.
    Retry(Failure),
    /// The attempt failed in a way that retrying cannot fix.
    GiveUp(Failure),
}

/// The cause of a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// A one-line description, such as `HTTP 503 Service Unavailable` or
    /// `connection failed: Connection refused (os error 111)`.
    pub reason: String,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The start of the response body, at most [`SNIPPET_MAX_BYTES`] and cut on a UTF-8
    /// character boundary.
    pub snippet: String,
    /// The earliest time to try again, from a `Retry-After` header on a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// Creates a failure without a response, such as a connection error.
    pub fn transport(reason: impl Into<String>) -> Failure {
        Failure { reason: reason.into(), status: None, snippet: String::new(), retry_after: None }
    }
}

impl Verdict {
    /// Returns true when the verdict is a success.
    pub fn is_success(&self) -> bool {
        matches!(self, Verdict::Success { .. })
    }
}

/// Classifies a response that did not succeed, from its status, its `Retry-After` header value
/// and the start of its body.
///
/// `now` is the current wall-clock time, used to turn an HTTP date into a delay.
pub fn classify_status(
    status: StatusCode,
    retry_after: Option<&str>,
    body_start: &[u8],
    now: SystemTime,
) -> Verdict {
    if status.is_success() {
        return Verdict::Success { status: Some(status.as_u16()) };
    }
    let code = status.as_u16();
    let mut reason = match status.canonical_reason() {
        Some(text) => format!("HTTP {code} {text}"),
        None => format!("HTTP {code}"),
    };
    let snippet = snippet(body_start);
    let retryable = matches!(code, 408 | 429) || status.is_server_error();
    if !retryable {
        if status.is_redirection() {
            reason.push_str(
                ", and redirects are not followed: set the destination url to the final address",
            );
        } else if status.is_client_error() {
            // A 4xx other than 408 and 429 means the request itself is wrong. Sending it again
            // cannot succeed, so the reason explains why no retry happened.
            reason.push_str(", which is not retried: the destination rejected the request");
        }
        return Verdict::GiveUp(Failure { reason, status: Some(code), snippet, retry_after: None });
    }
    let retry_after = match code {
        429 | 503 => retry_after.and_then(|value| parse_retry_after(value, now)),
        _ => None,
    };
    Verdict::Retry(Failure { reason, status: Some(code), snippet, retry_after })
}

/// Parses a `Retry-After` header value: a number of seconds or an HTTP date.
///
/// Returns the delay from `now`, zero for a date in the past, and at most [`MAX_RETRY_AFTER`].
/// Returns `None` for a value that is neither form.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let delay = if value.bytes().all(|b| b.is_ascii_digit()) {
        // A run of digits too long for u64 is still a valid, very long delay.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Returns the start of a response body as text: at most [`SNIPPET_MAX_BYTES`], cut on a UTF-8
/// character boundary, with invalid bytes replaced by U+FFFD.
pub fn snippet(body: &[u8]) -> String {
    let mut bytes = &body[..body.len().min(SNIPPET_MAX_BYTES)];
    // Drop a character that the cut split in two; invalid bytes elsewhere are replaced below.
    if let Err(error) = std::str::from_utf8(bytes)
        && error.error_len().is_none()
    {
        bytes = &bytes[..error.valid_up_to()];
    }
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        // 2024-05-01T12:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_800)
    }

    fn split(verdict: Verdict) -> (bool, Failure) {
        match verdict {
            Verdict::Retry(f) => (true, f),
            Verdict::GiveUp(f) => (false, f),
            Verdict::Success { .. } => panic!("expected a failure"),
        }
    }

    #[test]
    fn retry_after_seconds_are_parsed() {
        assert_eq!(parse_retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 120 ", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_http_date_is_relative() {
        let delay = parse_retry_after("Wed, 01 May 2024 12:01:30 GMT", now());
        assert_eq!(delay, Some(Duration::from_secs(90)));
    }

    #[test]
    fn retry_after_obsolete_date_forms_are_accepted() {
        // RFC 850 and asctime forms, which HTTP/1.1 recipients must accept.
        assert_eq!(
            parse_retry_after("Wednesday, 01-May-24 12:00:10 GMT", now()),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed May  1 12:00:20 2024", now()),
            Some(Duration::from_secs(20))
        );
    }

    #[test]
    fn retry_after_date_in_past_is_zero() {
        let delay = parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now());
        assert_eq!(delay, Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_is_capped() {
        assert_eq!(parse_retry_after("999999999", now()), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("99999999999999999999999999", now()), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now()),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        for value in ["", "  ", "-1", "1.5", "soon", "Wed, 32 May 2024 12:00:00 GMT", "+5"] {
            assert_eq!(parse_retry_after(value, now()), None, "value {value:?}");
        }
    }

    #[test]
    fn success_statuses_succeed() {
        for code in [200, 201, 202, 204, 299] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                classify_status(status, None, b"", now()),
                Verdict::Success { status: Some(code) }
            );
        }
    }

    #[test]
    fn retryable_statuses_retry() {
        for code in [408, 429, 500, 502, 503, 504, 599] {
            let status = StatusCode::from_u16(code).unwrap();
            let (retry, failure) = split(classify_status(status, None, b"busy", now()));
            assert!(retry, "status {code}");
            assert_eq!(failure.status, Some(code));
            assert_eq!(failure.snippet, "busy");
        }
    }

    #[test]
    fn other_statuses_give_up() {
        for code in [100, 301, 302, 304, 400, 401, 403, 404, 409, 413, 422] {
            let status = StatusCode::from_u16(code).unwrap();
            let (retry, failure) = split(classify_status(status, Some("5"), b"", now()));
            assert!(!retry, "status {code}");
            assert_eq!(failure.status, Some(code));
            assert_eq!(failure.retry_after, None);
        }
    }

    #[test]
    fn give_up_reason_names_status() {
        let (_, failure) = split(classify_status(StatusCode::BAD_REQUEST, None, b"", now()));
        assert_eq!(
            failure.reason,
            "HTTP 400 Bad Request, which is not retried: the destination rejected the request"
        );
        let (_, failure) = split(classify_status(StatusCode::FOUND, None, b"", now()));
        assert!(failure.reason.starts_with("HTTP 302 Found, and redirects are not followed"));
    }

    #[test]
    fn retry_after_honoured_only_on_429_and_503() {
        let (_, f429) =
            split(classify_status(StatusCode::TOO_MANY_REQUESTS, Some("7"), b"", now()));
        assert_eq!(f429.retry_after, Some(Duration::from_secs(7)));
        let (_, f503) =
            split(classify_status(StatusCode::SERVICE_UNAVAILABLE, Some("8"), b"", now()));
        assert_eq!(f503.retry_after, Some(Duration::from_secs(8)));
        let (_, f500) =
            split(classify_status(StatusCode::INTERNAL_SERVER_ERROR, Some("9"), b"", now()));
        assert_eq!(f500.retry_after, None);
    }

    #[test]
    fn snippet_is_bounded() {
        let body = vec![b'a'; SNIPPET_MAX_BYTES * 3];
        assert_eq!(snippet(&body).len(), SNIPPET_MAX_BYTES);
    }

    #[test]
    fn snippet_cuts_on_character_boundary() {
        // 'é' is two bytes; put one across the cut.
        let mut body = vec![b'a'; SNIPPET_MAX_BYTES - 1];
        body.extend_from_slice("é tail".as_bytes());
        let text = snippet(&body);
        assert_eq!(text.len(), SNIPPET_MAX_BYTES - 1);
        assert!(text.bytes().all(|b| b == b'a'));
    }

    #[test]
    fn snippet_replaces_invalid_bytes() {
        assert_eq!(snippet(b"ok \xff\xfe end"), "ok \u{fffd}\u{fffd} end");
        assert_eq!(snippet(b""), "");
    }
}
