//! Destination senders against real HTTP servers on 127.0.0.1: request building, transport
//! errors and the classification of responses.

mod dispatch_support;

use std::time::Duration;

use bytes::Bytes;
use dispatch_support::{Reply, TestServer, header, http_destination, refused_url};
use sluice::config::{Destination, DestinationKind};
use sluice::destinations::{Request, Sender, Verdict, build_request};
use sluice::template::Value;

fn event() -> Value {
    Value::from_json_str(r#"{"event_type":"click","user_id":"u1"}"#).unwrap()
}

async fn send_once(destination: &Destination, body: &str) -> Verdict {
    let sender = Sender::new(destination).unwrap();
    let request =
        build_request(destination, Some(&event()), Bytes::copy_from_slice(body.as_bytes()))
            .unwrap();
    sender.send(request).await
}

fn failure(verdict: Verdict) -> (bool, sluice::destinations::Failure) {
    match verdict {
        Verdict::Retry(failure) => (true, failure),
        Verdict::GiveUp(failure) => (false, failure),
        Verdict::Success { status } => panic!("expected a failure, got success {status:?}"),
    }
}

#[tokio::test]
async fn success_status_is_success() {
    let server = TestServer::always(Reply::status(202).body("accepted")).await;
    let destination = http_destination("d", &server.url("/in"));
    let verdict = send_once(&destination, "{}").await;
    assert_eq!(verdict, Verdict::Success { status: Some(202) });
}

#[tokio::test]
async fn method_headers_and_url_arrive_as_configured() {
    let server = TestServer::always(Reply::ok()).await;
    let mut destination = http_destination("d", &server.url("/hooks/a?team=7&x=y%20z"));
    let DestinationKind::Http(target) = &mut destination.kind else { unreachable!() };
    target.method = http::Method::PUT;
    target.headers = vec![
        header("X-Api-Key", "k-123", true),
        header("Content-Type", "text/plain; charset=utf-8", false),
        header("X-Tag", "one", false),
        header("X-Tag", "two", false),
    ];

    let verdict = send_once(&destination, "hello body").await;
    assert_eq!(verdict, Verdict::Success { status: Some(200) });

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, http::Method::PUT);
    assert_eq!(request.uri.path(), "/hooks/a");
    assert_eq!(request.uri.query(), Some("team=7&x=y%20z"));
    assert_eq!(request.header("x-api-key").as_deref(), Some("k-123"));
    assert_eq!(request.header("content-type").as_deref(), Some("text/plain; charset=utf-8"));
    let tags: Vec<_> =
        request.headers.get_all("x-tag").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(tags, ["one", "two"]);
    assert_eq!(request.text(), "hello body");
    assert!(request.header("user-agent").unwrap().starts_with("sluice/"));
}

#[tokio::test]
async fn content_type_defaults_to_json() {
    let server = TestServer::always(Reply::ok()).await;
    let destination = http_destination("d", &server.url("/"));
    send_once(&destination, "{}").await;
    assert_eq!(server.received()[0].header("content-type").as_deref(), Some("application/json"));
}

#[tokio::test]
async fn server_error_is_retried_with_snippet() {
    let server = TestServer::always(Reply::status(500).body("database on fire")).await;
    let destination = http_destination("d", &server.url("/"));
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(retry);
    assert_eq!(failure.status, Some(500));
    assert_eq!(failure.reason, "HTTP 500 Internal Server Error");
    assert_eq!(failure.snippet, "database on fire");
    assert_eq!(failure.retry_after, None);
}

#[tokio::test]
async fn bad_request_gives_up_with_snippet() {
    let body = format!("{{\"error\":\"missing api_key\"}}{}", "x".repeat(5000));
    let server = TestServer::always(Reply::status(400).body(&body)).await;
    let destination = http_destination("d", &server.url("/"));
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(!retry);
    assert_eq!(failure.status, Some(400));
    assert!(failure.reason.starts_with("HTTP 400 Bad Request, which is not retried"));
    assert!(failure.snippet.starts_with("{\"error\":\"missing api_key\"}"));
    assert_eq!(failure.snippet.len(), sluice::destinations::classify::SNIPPET_MAX_BYTES);
}

#[tokio::test]
async fn throttled_answer_carries_retry_after() {
    let server =
        TestServer::always(Reply::status(429).header("Retry-After", "2").body("slow down")).await;
    let destination = http_destination("d", &server.url("/"));
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(retry);
    assert_eq!(failure.status, Some(429));
    assert_eq!(failure.retry_after, Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn unavailable_with_http_date_carries_retry_after() {
    let at = std::time::SystemTime::now() + Duration::from_secs(30);
    let date = httpdate::fmt_http_date(at);
    let server = TestServer::always(Reply::status(503).header("Retry-After", &date)).await;
    let destination = http_destination("d", &server.url("/"));
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(retry);
    let delay = failure.retry_after.unwrap();
    assert!(delay > Duration::from_secs(27), "delay {delay:?}");
    assert!(delay <= Duration::from_secs(30), "delay {delay:?}");
}

#[tokio::test]
async fn connection_refused_is_retried_without_url() {
    let url = refused_url("/in?api_key=very-secret").await;
    let destination = http_destination("d", &url);
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(retry);
    assert_eq!(failure.status, None);
    assert!(failure.reason.starts_with("connection failed: "), "reason {:?}", failure.reason);
    assert!(!failure.reason.contains("very-secret"), "reason {:?}", failure.reason);
    assert!(!failure.reason.contains("127.0.0.1"), "reason {:?}", failure.reason);
}

#[tokio::test]
async fn timeout_is_retried() {
    let server = TestServer::always(Reply::ok().delay(Duration::from_secs(5))).await;
    let mut destination = http_destination("d", &server.url("/"));
    destination.timeout = Duration::from_millis(200);
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(retry);
    assert_eq!(failure.reason, "request timed out after 200ms");
    assert_eq!(failure.status, None);
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::status(302).header("Location", "/elsewhere"),
        _ => Reply::ok(),
    })
    .await;
    let destination = http_destination("d", &server.url("/"));
    let (retry, failure) = failure(send_once(&destination, "{}").await);
    assert!(!retry);
    assert_eq!(failure.status, Some(302));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn debug_output_hides_secrets() {
    let mut destination = http_destination("d", "https://api.example.test/v1/track?key=q-secret");
    let DestinationKind::Http(target) = &mut destination.kind else { unreachable!() };
    target.headers = vec![
        header("Authorization", "Bearer auth-secret", false),
        header("X-Api-Key", "configured-secret", true),
        header("X-Visible", "plain-value", false),
    ];
    let request =
        build_request(&destination, None, Bytes::from_static(b"{\"body\":\"b-secret\"}")).unwrap();
    let text = format!("{request:?}");
    for secret in ["q-secret", "auth-secret", "configured-secret", "b-secret"] {
        assert!(!text.contains(secret), "{secret} shown in {text}");
    }
    assert!(text.contains("plain-value"), "{text}");
    assert!(text.contains("https://api.example.test/v1/track"), "{text}");
}

#[tokio::test]
async fn invalid_rendered_url_is_a_build_error() {
    for url in ["not a url", "ftp://example.test/file", "/relative/path"] {
        let destination = http_destination("d", url);
        let error = build_request(&destination, None, Bytes::new()).unwrap_err();
        assert!(error.to_string().starts_with("rendered url"), "{url}: {error}");
    }
}

#[tokio::test]
async fn stdout_destination_builds_lines() {
    let mut destination = http_destination("d", "http://127.0.0.1:1/");
    destination.kind = DestinationKind::Stdout;
    let request = build_request(&destination, None, Bytes::from_static(b"line")).unwrap();
    assert!(matches!(request, Request::Line(body) if body == "line"));
}
