//! Response bodies, shaped as Amplitude's ingest APIs send them.
//!
//! The official SDKs decide what to do from the JSON body's `code` and fields, so every
//! response, errors included, is a JSON object with `code` equal to the HTTP status:
//!
//! - 200: `{"code":200,"events_ingested":N,"payload_size_bytes":B,"server_upload_time":MS}`.
//! - 400: `error` with one of Amplitude's messages, plus `missing_field` for a missing
//!   request-level field, or `events_with_missing_fields`, `events_with_invalid_fields` and
//!   `events_with_invalid_id_lengths`, each mapping a field name to the indexes of the events
//!   with that problem. The SDKs drop the listed events and retry the rest, and drop everything
//!   on `missing_field` or an `error` starting with `Invalid API key:` (the Python SDK 1.3.0
//!   compares the text up to and including the colon, so the colon matters).
//! - 413: `{"code":413,"error":"Payload too large"}`.
//! - 503 with `Retry-After` when the outbox cannot take the events now; nothing was stored, so
//!   a retry cannot duplicate events.
//!
//! Where Amplitude's terse `error` does not say what to change, a `detail` string explains the
//! problem and the fix; the SDKs ignore it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use http::StatusCode;

use crate::template::value::write_json_string;

use super::normalize::EventProblems;

/// A response: status, JSON body and the headers that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status, also written as the body's `code`.
    pub status: StatusCode,
    /// The JSON body.
    pub body: String,
    /// Seconds for the `Retry-After` header.
    pub retry_after_secs: Option<u64>,
    /// Methods for the `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl Reply {
    /// Builds the 200 response for stored events.
    pub fn success(
        events_ingested: usize,
        payload_size_bytes: usize,
        upload_time_ms: i64,
    ) -> Reply {
        let body = format!(
            r#"{{"code":200,"events_ingested":{events_ingested},"payload_size_bytes":{payload_size_bytes},"server_upload_time":{upload_time_ms}}}"#
        );
        Reply::new(StatusCode::OK, body)
    }

    /// Builds a 400 for a body that is empty.
    pub fn missing_body() -> Reply {
        Reply::error(
            StatusCode::BAD_REQUEST,
            "Missing request body",
            "the request body is empty; send a JSON object with api_key and events",
        )
    }

    /// Builds a 400 for a body that is not JSON, not a JSON object, or not UTF-8.
    pub fn invalid_json(detail: &str) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "Invalid JSON request body", detail)
    }

    /// Builds a 400 for a missing or unusable request-level field (`api_key` or `events`).
    pub fn missing_field(field: &str, detail: &str) -> Reply {
        let mut body = String::from(
            r#"{"code":400,"error":"Request missing required field","missing_field":"#,
        );
        write_json_string(field, &mut body);
        body.push_str(r#","detail":"#);
        write_json_string(detail, &mut body);
        body.push('}');
        Reply::new(StatusCode::BAD_REQUEST, body)
    }

    /// Builds the 400 for an API key that no source accepts; the key is never echoed.
    pub fn invalid_api_key() -> Reply {
        Reply::error(
            StatusCode::BAD_REQUEST,
            "Invalid API key: not accepted by any configured source",
            "no configured source accepts this api_key; use a key listed in the sluice configuration",
        )
    }

    /// Builds a 400 for unusable `options`.
    pub fn invalid_options(detail: &str) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "Invalid options", detail)
    }

    /// Builds a 400 for a `Content-Type` other than JSON.
    pub fn invalid_content_type(found: Option<&str>) -> Reply {
        let detail = match found {
            Some(found) => {
                format!("Content-Type is {}; send the body as application/json", excerpt(found))
            }
            None => "Content-Type is missing; send the body as application/json".to_owned(),
        };
        Reply::error(StatusCode::BAD_REQUEST, "Invalid content type", &detail)
    }

    /// Builds the 400 listing invalid events by field.
    pub fn invalid_events(problems: &EventProblems) -> Reply {
        let error = if !problems.missing.is_empty() {
            "Request missing required field"
        } else if problems.invalid.len() == 1 && problems.invalid.contains_key("event") {
            "Invalid event JSON"
        } else if !problems.invalid.is_empty() {
            "Invalid field values on some events"
        } else {
            "Invalid id length for user_id or device_id"
        };
        let mut body = String::from(r#"{"code":400,"error":"#);
        write_json_string(error, &mut body);
        write_index_map(&mut body, "events_with_missing_fields", &problems.missing);
        write_index_map(&mut body, "events_with_invalid_fields", &problems.invalid);
        write_index_map(&mut body, "events_with_invalid_id_lengths", &problems.invalid_id_lengths);
        body.push('}');
        Reply::new(StatusCode::BAD_REQUEST, body)
    }

    /// Builds the 413 for a body or an event count over the endpoint's limit.
    pub fn payload_too_large(detail: &str) -> Reply {
        Reply::error(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large", detail)
    }

    /// Builds a 503 with `Retry-After` for events that could not be stored now.
    pub fn unavailable(detail: &str, retry_after_secs: u64) -> Reply {
        let mut reply =
            Reply::error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", detail);
        reply.retry_after_secs = Some(retry_after_secs);
        reply
    }

    /// Builds the 404 for a path no route serves.
    pub fn not_found(path: &str) -> Reply {
        let detail = format!(
            "no endpoint at {}; send events to POST /2/httpapi or POST /batch",
            excerpt(path)
        );
        Reply::error(StatusCode::NOT_FOUND, "Invalid request path", &detail)
    }

    /// Builds the 405 for a method the path does not take.
    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Reply {
        let detail = format!("{path} does not take {}; use {allow}", excerpt(method));
        let mut reply = Reply::error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", &detail);
        reply.allow = Some(allow);
        reply
    }

    /// Builds the 415 for a `Content-Encoding` other than identity.
    pub fn unsupported_encoding(found: &str) -> Reply {
        let detail = format!(
            "Content-Encoding {} is not supported; send the body uncompressed",
            excerpt(found)
        );
        Reply::error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported content encoding", &detail)
    }

    /// Builds the 408 for a body that did not arrive in time.
    pub fn body_timeout(seconds: u64) -> Reply {
        let detail = format!("the request body did not arrive within {seconds} seconds");
        Reply::error(StatusCode::REQUEST_TIMEOUT, "Request timeout", &detail)
    }

    /// Builds the 400 for a body that could not be read from the connection.
    pub fn body_read_failed(detail: &str) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "Missing request body", detail)
    }

    /// Builds the `GET /health` response: 200 while accepting events, 503 once shutdown began.
    pub fn health(accepting: bool) -> Reply {
        if accepting {
            Reply::new(StatusCode::OK, r#"{"code":200,"status":"accepting"}"#.to_owned())
        } else {
            Reply::new(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"code":503,"status":"shutting down"}"#.to_owned(),
            )
        }
    }

    fn new(status: StatusCode, body: String) -> Reply {
        Reply { status, body, retry_after_secs: None, allow: None }
    }

    fn error(status: StatusCode, error: &str, detail: &str) -> Reply {
        let mut body = String::with_capacity(64 + detail.len());
        let _ = write!(body, r#"{{"code":{},"error":"#, status.as_u16());
        write_json_string(error, &mut body);
        body.push_str(r#","detail":"#);
        write_json_string(detail, &mut body);
        body.push('}');
        Reply::new(status, body)
    }
}

/// Appends `,"name":{"field":[i,...],...}` when `map` is not empty.
/// The maximum number of characters of a client-sent header value, method or path quoted in
/// an error.
const MAX_QUOTED_CHARS: usize = 100;

/// Returns `text` cut to [`MAX_QUOTED_CHARS`] characters, with `...` when it was cut, so that
/// a client cannot make an error response or a log line as large as its headers.
fn excerpt(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]).into(),
        None => text.into(),
    }
}

fn write_index_map(body: &mut String, name: &str, map: &BTreeMap<&'static str, Vec<usize>>) {
    if map.is_empty() {
        return;
    }
    body.push(',');
    write_json_string(name, body);
    body.push_str(":{");
    for (position, (field, indexes)) in map.iter().enumerate() {
        if position > 0 {
            body.push(',');
        }
        write_json_string(field, body);
        body.push_str(":[");
        for (i, index) in indexes.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let _ = write!(body, "{index}");
        }
        body.push(']');
    }
    body.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Value;

    fn parse(reply: &Reply) -> Value {
        Value::from_json_str(&reply.body).unwrap()
    }

    #[test]
    fn success_body_matches_amplitude() {
        let reply = Reply::success(3, 1234, 1_796_396_693_812);
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.body,
            r#"{"code":200,"events_ingested":3,"payload_size_bytes":1234,"server_upload_time":1796396693812}"#
        );
    }

    #[test]
    fn every_reply_is_json_with_its_code() {
        let mut problems = EventProblems::default();
        problems.invalid.insert("time", vec![1, 3]);
        let replies = [
            Reply::missing_body(),
            Reply::invalid_json("line 1 \"quoted\"\n"),
            Reply::missing_field("api_key", "api_key is missing"),
            Reply::invalid_api_key(),
            Reply::invalid_options("bad"),
            Reply::invalid_content_type(Some("text/html")),
            Reply::invalid_content_type(None),
            Reply::invalid_events(&problems),
            Reply::payload_too_large("too big"),
            Reply::unavailable("full", 30),
            Reply::not_found("/x\"y"),
            Reply::method_not_allowed("GET", "/batch", "POST, OPTIONS"),
            Reply::unsupported_encoding("gzip"),
            Reply::body_timeout(30),
            Reply::body_read_failed("reset"),
            Reply::health(true),
            Reply::health(false),
        ];
        for reply in replies {
            let body = parse(&reply);
            assert_eq!(body.get("code"), Some(&Value::from(i64::from(reply.status.as_u16()))));
        }
    }

    #[test]
    fn invalid_events_lists_indexes_by_field() {
        let mut problems = EventProblems::default();
        problems.missing.insert("event_type", vec![0, 2]);
        problems.invalid.insert("time", vec![1]);
        let reply = Reply::invalid_events(&problems);
        assert_eq!(
            reply.body,
            r#"{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[0,2]},"events_with_invalid_fields":{"time":[1]}}"#
        );
    }

    #[test]
    fn invalid_events_error_names_the_problem() {
        let error = |problems: &EventProblems| {
            parse(&Reply::invalid_events(problems)).get("error").cloned().unwrap()
        };
        let mut problems = EventProblems::default();
        problems.invalid_id_lengths.insert("user_id", vec![0]);
        assert_eq!(error(&problems), Value::from("Invalid id length for user_id or device_id"));
        problems.invalid.insert("event", vec![1]);
        assert_eq!(error(&problems), Value::from("Invalid event JSON"));
        problems.invalid.insert("time", vec![2]);
        assert_eq!(error(&problems), Value::from("Invalid field values on some events"));
        problems.missing.insert("event_type", vec![3]);
        assert_eq!(error(&problems), Value::from("Request missing required field"));
    }

    #[test]
    fn missing_field_names_the_field() {
        let body = parse(&Reply::missing_field("events", "events is missing"));
        assert_eq!(body.get("missing_field"), Some(&Value::from("events")));
        assert_eq!(body.get("error"), Some(&Value::from("Request missing required field")));
    }

    #[test]
    fn quoted_client_values_are_cut() {
        let long = "\u{fffd}".repeat(5000);
        let replies = [
            Reply::invalid_content_type(Some(&long)),
            Reply::unsupported_encoding(&long),
            Reply::not_found(&format!("/{long}")),
            Reply::method_not_allowed(&long, "/batch", "POST, OPTIONS"),
        ];
        for reply in replies {
            assert!(reply.body.len() < 600, "{} bytes: {}", reply.body.len(), reply.body);
            assert!(
                reply.body.contains(&format!("{}...", "\u{fffd}".repeat(99))),
                "{}",
                reply.body
            );
        }
        let short = Reply::invalid_content_type(Some("text/html"));
        assert!(short.body.contains("Content-Type is text/html;"), "{}", short.body);
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let reply = Reply::unavailable("outbox full", 30);
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.retry_after_secs, Some(30));
    }
}
