//! The ingest server end to end: a real server on 127.0.0.1 with a real outbox, fed the request
//! bodies that the official Amplitude SDKs send, and every kind of bad request.

mod ingest_support;

use ingest_support::{NODE_KEY, TestServer, fixture};
use sluice::config::{ApiKeys, IngestLimits, Source};
use sluice::store::OutboxOptions;
use sluice::template::Value;

fn text(value: &str) -> Value {
    Value::from(value)
}

fn number(value: i64) -> Value {
    Value::from(value)
}

/// Builds an HTTP V2 body from an API key and event objects written as JSON.
fn body(api_key: &str, events: &[&str]) -> Vec<u8> {
    format!(r#"{{"api_key":"{api_key}","events":[{}]}}"#, events.join(",")).into_bytes()
}

/// Asserts that nothing was stored.
fn assert_nothing_stored(server: &TestServer) {
    assert_eq!(server.outbox.pending(), 0, "entries were stored");
    assert!(server.stored_events().is_empty(), "events were stored");
}

/// Asserts a 400 whose `error` is `error`, and that nothing was stored.
fn assert_rejected(
    server: &TestServer,
    response: &ingest_support::HttpResponse,
    status: u16,
    error: &str,
) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.field("code"), Some(number(i64::from(status))), "{}", response.body);
    assert_eq!(response.field("error"), Some(text(error)), "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_nothing_stored(server);
}

#[tokio::test]
async fn python_sample_is_stored_normalized() {
    let server = TestServer::start().await;
    let body = fixture("samples/amplitude-python-sdk-1.3.0.body.json");
    let response = server.post("/2/httpapi", "application/json; charset=UTF-8", &body).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.field("code"), Some(number(200)));
    assert_eq!(response.field("events_ingested"), Some(number(6)));
    assert_eq!(response.field("payload_size_bytes"), Some(number(body.len() as i64)));
    assert!(matches!(response.field("server_upload_time"), Some(Value::Number(_))));
    assert_eq!(server.outbox.pending(), 12, "one entry per event and destination");

    let events = server.stored_events_of(server.destinations[0]);
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|event| event.source == "python-app"));
    assert_eq!(server.stored_events_of(server.destinations[1]), events, "one body for both");
    let first = events[0].input.as_hash().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "country",
            "device_id",
            "event_properties",
            "event_type",
            "$insert_id",
            "ip_address",
            "library",
            "platform",
            "session_id",
            "time",
            "user_id",
            "user_properties",
            "event_time",
            "server_received_time",
            "server_upload_time",
            "uuid"
        ]
    );
    assert_eq!(first["event_type"], text("Song Played"));
    assert_eq!(first["$insert_id"], text("7f0c3e1a-0000-4000-8000-000000000001"));
    assert_eq!(first["ip_address"], text("127.0.0.1"));
    assert_eq!(first["time"], number(1_796_396_670_655));
    assert_eq!(first["event_time"], text("2026-12-04 15:04:30.655"));
    assert_eq!(first["session_id"], number(1_700_000_000_000));
    assert_eq!(
        first["event_properties"].to_json(),
        r#"{"album":{"name":"Live 1999","year":1999},"duration_ms":215000,"explicit":false,"rating":4.5,"tags":["rock","live"],"title":"Ünïcödé \"quoted\" song\n"}"#
    );
    assert!(!first.contains_key("client_upload_time"), "the Python SDK sends none");

    let big = events[5].input.as_hash().unwrap();
    assert_eq!(
        big["event_properties"].to_json(),
        r#"{"big":12345678901234567890,"empty":"","exp":1000000000000000000000,"neg":-0.000001}"#
    );
    // The Python SDK sends $groupidentify without ids, and Amplitude accepts it.
    let group = events[3].input.as_hash().unwrap();
    assert_eq!(group["event_type"], text("$groupidentify"));
    assert!(!group.contains_key("user_id"));
    assert!(!group.contains_key("device_id"));
}

#[tokio::test]
async fn node_sample_is_stored_normalized() {
    let server = TestServer::start().await;
    let body = fixture("samples/amplitude-analytics-node-1.5.73.body.json");
    let response = server.post_json("/2/httpapi", &body).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.field("events_ingested"), Some(number(3)));
    let events = server.stored_events();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|event| event.source == "node-app"));
    let first = events[0].input.as_hash().unwrap();
    assert_eq!(first["$insert_id"], text("node-insert-0001"));
    assert_eq!(first["event_time"], text("2026-12-04 15:04:53.812"));
    assert_eq!(first["client_upload_time"], text("2026-12-04 15:04:53.813"));
    assert_eq!(
        first["event_properties"].to_json(),
        r#"{"cart_value":120.25,"items":3,"coupon":null,"currency":"EUR"}"#
    );
    assert_eq!(first["library"], text("amplitude-node-ts/1.5.73"));
    let identify = events[1].input.as_hash().unwrap();
    assert_eq!(
        identify["user_properties"].to_json(),
        r#"{"$set":{"plan":"team"},"$add":{"seats":5},"$unset":{"legacy":"-"}}"#
    );
    let uuids: Vec<&Value> =
        events.iter().map(|event| &event.input.as_hash().unwrap()["uuid"]).collect();
    assert_ne!(uuids[0], uuids[1]);
    assert_ne!(uuids[1], uuids[2]);
}

#[tokio::test]
async fn batch_endpoint_takes_the_same_body() {
    let server = TestServer::start().await;
    let body = fixture("samples/amplitude-analytics-node-1.5.73.body.json");
    let response = server.post_json("/batch", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.field("events_ingested"), Some(number(3)));
    assert_eq!(server.stored_events().len(), 3);
}

#[tokio::test]
async fn sendbeacon_text_plain_is_accepted() {
    let server = TestServer::start().await;
    let body = body(NODE_KEY, &[r#"{"event_type":"page","device_id":"browser-1"}"#]);
    let response = server.post("/2/httpapi", "text/plain;charset=UTF-8", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(server.stored_events().len(), 1);
}

#[tokio::test]
async fn remote_ip_is_the_peer_address() {
    let server = TestServer::start().await;
    let body = body(NODE_KEY, &[r#"{"event_type":"a","device_id":"dev-1","ip":"$remote"}"#]);
    let response = server.post_json("/2/httpapi", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let events = server.stored_events();
    assert_eq!(events[0].input.get("ip_address"), Some(&text("127.0.0.1")));
}

#[tokio::test]
async fn keep_alive_serves_many_requests() {
    let server = TestServer::start().await;
    let mut connection = server.connect().await;
    for index in 0..5 {
        let body = body(NODE_KEY, &[&format!(r#"{{"event_type":"e{index}","user_id":"user-1"}}"#)]);
        let head = format!(
            "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        connection.write(head.as_bytes()).await;
        connection.write(&body).await;
        let response = connection.read_response().await;
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let types: Vec<Value> = server
        .stored_events()
        .iter()
        .map(|event| event.input.get("event_type").cloned().unwrap())
        .collect();
    assert_eq!(types, ["e0", "e1", "e2", "e3", "e4"].map(text));
}

#[tokio::test]
async fn unknown_api_key_is_rejected_and_not_echoed() {
    let server = TestServer::start().await;
    let key = "secret-key-that-no-source-has";
    let response = server
        .post_json("/2/httpapi", &body(key, &[r#"{"event_type":"a","user_id":"user-1"}"#]))
        .await;
    assert_rejected(
        &server,
        &response,
        400,
        "Invalid API key: not accepted by any configured source",
    );
    assert!(!response.body.contains(key), "{}", response.body);
}

#[tokio::test]
async fn any_key_source_accepts_every_key() {
    let sources = vec![Source { name: "trial".to_owned(), api_keys: ApiKeys::Any }];
    let server =
        TestServer::start_with(IngestLimits::default(), sources, ingest_support::outbox_options())
            .await;
    let response = server
        .post_json("/2/httpapi", &body("whatever", &[r#"{"event_type":"a","user_id":"user-1"}"#]))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(server.stored_events()[0].source, "trial");
}

#[tokio::test]
async fn missing_request_fields_are_named() {
    let server = TestServer::start().await;
    let cases: [(&str, &str); 7] = [
        (r#"{"events":[{"event_type":"a","user_id":"user-1"}]}"#, "api_key"),
        (r#"{"api_key":null,"events":[]}"#, "api_key"),
        (r#"{"api_key":"","events":[]}"#, "api_key"),
        (r#"{"api_key":42,"events":[]}"#, "api_key"),
        (&format!(r#"{{"api_key":"{NODE_KEY}"}}"#), "events"),
        (&format!(r#"{{"api_key":"{NODE_KEY}","events":[]}}"#), "events"),
        (&format!(r#"{{"api_key":"{NODE_KEY}","events":{{"event_type":"a"}}}}"#), "events"),
    ]
    .map(|(body, field)| (Box::leak(body.to_owned().into_boxed_str()) as &str, field));
    for (body, field) in cases {
        let response = server.post_json("/2/httpapi", body.as_bytes()).await;
        assert_rejected(&server, &response, 400, "Request missing required field");
        assert_eq!(response.field("missing_field"), Some(text(field)), "{body}");
    }
}

#[tokio::test]
async fn invalid_json_bodies_are_rejected() {
    let server = TestServer::start().await;
    let deep =
        format!(r#"{{"api_key":"k","events":[{{"p":{}{}}}]}}"#, "[".repeat(300), "]".repeat(300));
    let bodies: [&[u8]; 6] = [b"{", b"not json", b"[]", b"\"text\"", b"{} {}", deep.as_bytes()];
    for body in bodies {
        let response = server.post_json("/2/httpapi", body).await;
        assert_rejected(&server, &response, 400, "Invalid JSON request body");
    }
    let response = server.post_json("/2/httpapi", deep.as_bytes()).await;
    let detail = response.field("detail").unwrap();
    assert!(detail.as_str().unwrap().contains("deeper than 128 levels"), "{detail}");
}

#[tokio::test]
async fn invalid_utf8_is_rejected() {
    let server = TestServer::start().await;
    let mut body = body(NODE_KEY, &[r#"{"event_type":"a","user_id":"user-1","p":"XX"}"#]);
    let at = body.windows(2).position(|window| window == b"XX").unwrap();
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    let response = server.post_json("/2/httpapi", &body).await;
    assert_rejected(&server, &response, 400, "Invalid JSON request body");
    let detail = response.field("detail").unwrap();
    assert!(detail.as_str().unwrap().contains("not valid UTF-8"), "{detail}");
}

#[tokio::test]
async fn empty_body_is_rejected() {
    let server = TestServer::start().await;
    let response = server.post_json("/2/httpapi", b"").await;
    assert_rejected(&server, &response, 400, "Missing request body");
}

#[tokio::test]
async fn wrong_content_type_is_rejected() {
    let server = TestServer::start().await;
    let body = body(NODE_KEY, &[r#"{"event_type":"a","user_id":"user-1"}"#]);
    let response = server.post("/2/httpapi", "application/x-www-form-urlencoded", &body).await;
    assert_rejected(&server, &response, 400, "Invalid content type");

    let head = format!("POST /batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len());
    let mut request = head.into_bytes();
    request.extend_from_slice(&body);
    let response = server.send(&request).await;
    assert_rejected(&server, &response, 400, "Invalid content type");
}

#[tokio::test]
async fn long_content_type_is_not_echoed_whole() {
    let server = TestServer::start().await;
    let content_type = format!("text/{}", "x".repeat(60_000));
    let response = server.post("/2/httpapi", &content_type, b"{}").await;
    assert_rejected(&server, &response, 400, "Invalid content type");
    assert!(response.body.len() < 1000, "{} bytes", response.body.len());
    assert!(response.body.contains("Content-Type is text/xxx"), "{}", response.body);
}

#[tokio::test]
async fn compressed_body_is_rejected() {
    let server = TestServer::start().await;
    let request = b"POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}";
    let response = server.send(request).await;
    assert_rejected(&server, &response, 415, "Unsupported content encoding");
}

#[tokio::test]
async fn oversized_content_length_is_rejected_unread() {
    let limits = IngestLimits { max_body_bytes: 1000, ..IngestLimits::default() };
    let server = TestServer::start_with(
        limits,
        ingest_support::sample_sources(),
        ingest_support::outbox_options(),
    )
    .await;
    let mut connection = server.connect().await;
    // Announce 10 MB but send only the head: the response must come without the body.
    connection
        .write(b"POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        .await;
    let response = connection.read_response().await;
    assert_rejected(&server, &response, 413, "Payload too large");
}

#[tokio::test]
async fn oversized_chunked_body_is_rejected_while_streaming() {
    let limits = IngestLimits { max_body_bytes: 4096, ..IngestLimits::default() };
    let server = TestServer::start_with(
        limits,
        ingest_support::sample_sources(),
        ingest_support::outbox_options(),
    )
    .await;
    let mut connection = server.connect().await;
    connection
        .write(b"POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await;
    // Send 8 KiB in 1 KiB chunks and never the final chunk: the server must respond once the
    // body passes 4 KiB, without waiting for its end.
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    for _ in 0..8 {
        connection.write_lossy(chunk.as_bytes()).await;
    }
    let response = connection.read_response().await;
    assert_rejected(&server, &response, 413, "Payload too large");
}

#[tokio::test]
async fn batch_endpoint_has_its_own_size_limit() {
    let limits = IngestLimits {
        max_body_bytes: 300,
        max_batch_body_bytes: 100_000,
        ..IngestLimits::default()
    };
    let server = TestServer::start_with(
        limits,
        ingest_support::sample_sources(),
        ingest_support::outbox_options(),
    )
    .await;
    let padding = "x".repeat(500);
    let event = format!(r#"{{"event_type":"a","user_id":"user-1","pad":"{padding}"}}"#);
    let body = body(NODE_KEY, &[&event]);
    let response = server.post_json("/2/httpapi", &body).await;
    assert_rejected(&server, &response, 413, "Payload too large");
    let response = server.post_json("/batch", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

/// Posts `body` until the response has `status`, at most 200 times, and returns that response.
///
/// The server reads another connection's body at its own pace, so a test that needs that body
/// held in memory repeats its request until the server's state shows in the response.
async fn post_until_status(
    server: &TestServer,
    body: &[u8],
    status: u16,
) -> ingest_support::HttpResponse {
    let mut response = server.post_json("/2/httpapi", body).await;
    for _ in 0..200 {
        if response.status == status {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        response = server.post_json("/2/httpapi", body).await;
    }
    response
}

#[tokio::test]
async fn bodies_in_memory_share_one_budget() {
    let limits = IngestLimits {
        max_body_bytes: 8000,
        max_batch_body_bytes: 8000,
        max_buffered_body_bytes: 10_000,
        ..IngestLimits::default()
    };
    let server = TestServer::start_with(
        limits,
        ingest_support::sample_sources(),
        ingest_support::outbox_options(),
    )
    .await;
    let event = |padding: usize| {
        let pad = "x".repeat(padding);
        format!(r#"{{"event_type":"a","user_id":"user-1","event_properties":{{"pad":"{pad}"}}}}"#)
    };
    let large = body(NODE_KEY, &[&event(4000)]);
    let small = body(NODE_KEY, &[&event(1000)]);

    // A slow upload sends 7000 bytes of an 8000-byte body and never sends the rest.
    let mut slow = server.connect().await;
    slow.write(
        b"POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8000\r\n\r\n",
    )
    .await;
    slow.write(&[b' '; 7000]).await;

    let response = post_until_status(&server, &large, 503).await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.field("error"), Some(text("Service unavailable")), "{}", response.body);
    assert!(response.body.contains("max_buffered_body_bytes 10000"), "{}", response.body);
    assert_eq!(response.header("retry-after"), Some("30"));

    // A body that fits in what the slow upload leaves is still accepted.
    let response = server.post_json("/2/httpapi", &small).await;
    assert_eq!(response.status, 200, "{}", response.body);

    // Closing the slow upload returns its share of the budget.
    drop(slow);
    let response = post_until_status(&server, &large, 200).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(server.stored_events().len(), 2);
}

#[tokio::test]
async fn too_many_events_is_rejected() {
    let limits = IngestLimits { max_events_per_request: 3, ..IngestLimits::default() };
    let server = TestServer::start_with(
        limits,
        ingest_support::sample_sources(),
        ingest_support::outbox_options(),
    )
    .await;
    let event = r#"{"event_type":"a","user_id":"user-1"}"#;
    let response = server.post_json("/2/httpapi", &body(NODE_KEY, &[event; 4])).await;
    assert_rejected(&server, &response, 413, "Payload too large");
    let response = server.post_json("/2/httpapi", &body(NODE_KEY, &[event; 3])).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn invalid_events_are_listed_by_index() {
    let server = TestServer::start().await;
    let events = [
        r#"{"event_type":"ok","user_id":"user-1"}"#,
        r#"{"user_id":"user-1"}"#,
        r#"{"event_type":"a","user_id":"user-1","time":"2026-12-04T15:04:53Z"}"#,
        r#"{"event_type":"a","user_id":"abc"}"#,
        r#"{"event_type":"a","user_id":"null","device_id":"dev-1"}"#,
        r#"{"event_type":"a"}"#,
    ];
    let response = server.post_json("/2/httpapi", &body(NODE_KEY, &events)).await;
    assert_rejected(&server, &response, 400, "Request missing required field");
    assert_eq!(
        response.field("events_with_missing_fields").map(|value| value.to_json()),
        Some(r#"{"device_id":[5],"event_type":[1],"user_id":[5]}"#.to_owned())
    );
    assert_eq!(
        response.field("events_with_invalid_fields").map(|value| value.to_json()),
        Some(r#"{"time":[2],"user_id":[4]}"#.to_owned())
    );
    assert_eq!(
        response.field("events_with_invalid_id_lengths").map(|value| value.to_json()),
        Some(r#"{"user_id":[3]}"#.to_owned())
    );
}

#[tokio::test]
async fn min_id_length_option_is_honoured() {
    let server = TestServer::start().await;
    let request = format!(
        r#"{{"api_key":"{NODE_KEY}","events":[{{"event_type":"a","user_id":"ab"}}],"options":{{"min_id_length":2}}}}"#
    );
    let response = server.post_json("/2/httpapi", request.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let request = format!(
        r#"{{"api_key":"{NODE_KEY}","events":[{{"event_type":"a","user_id":"ab"}}],"options":{{"min_id_length":"2"}}}}"#
    );
    let response = server.post_json("/2/httpapi", request.as_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.field("error"), Some(text("Invalid options")));
}

#[tokio::test]
async fn unknown_path_gets_json_404() {
    let server = TestServer::start().await;
    let response = server.post_json("/v1/track", b"{}").await;
    assert_rejected(&server, &response, 404, "Invalid request path");
}

#[tokio::test]
async fn wrong_method_gets_json_405() {
    let server = TestServer::start().await;
    let response = server.send(b"GET /2/httpapi HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_rejected(&server, &response, 405, "Method not allowed");
    assert_eq!(response.header("allow"), Some("POST, OPTIONS"));
    let response = server.send(b"DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn health_reports_accepting() {
    let server = TestServer::start().await;
    let response = server.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.field("status"), Some(text("accepting")));
}

#[tokio::test]
async fn cors_preflight_allows_posts() {
    let server = TestServer::start().await;
    let response = server
        .send(b"OPTIONS /2/httpapi HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
        .await;
    assert_eq!(response.status, 204);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    assert_eq!(response.header("access-control-allow-headers"), Some("content-type"));
    let response = server
        .post_json("/2/httpapi", &body(NODE_KEY, &[r#"{"event_type":"a","user_id":"user-1"}"#]))
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn quota_exceeded_gets_503_with_retry_after() {
    let options = OutboxOptions { max_pending_entries: 3, ..ingest_support::outbox_options() };
    let server =
        TestServer::start_with(IngestLimits::default(), ingest_support::sample_sources(), options)
            .await;
    // Two destinations, so two events make four entries: over the quota of three.
    let event = r#"{"event_type":"a","user_id":"user-1"}"#;
    let response = server.post_json("/2/httpapi", &body(NODE_KEY, &[event, event])).await;
    assert_rejected(&server, &response, 503, "Service unavailable");
    assert_eq!(response.header("retry-after"), Some("30"));
    let response = server.post_json("/2/httpapi", &body(NODE_KEY, &[event])).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn shutdown_lets_in_flight_request_finish() {
    let server = TestServer::start().await;
    let body = body(NODE_KEY, &[r#"{"event_type":"late","user_id":"user-1"}"#]);
    let mut connection = server.connect().await;
    let head = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    connection.write(head.as_bytes()).await;
    connection.write(&body[..10]).await;
    // Let the server start reading the request before shutdown begins.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    server.begin_shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    connection.write(&body[10..]).await;
    let response = connection.read_response().await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(connection.is_closed().await, "connection kept open after shutdown");

    let address = server.address;
    assert_eq!(server.stored_events().len(), 1);
    server.stop().await.expect("serve returned an error");
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "still accepting");
}

#[tokio::test]
async fn shutdown_closes_idle_connections() {
    let server = TestServer::start().await;
    let mut idle = server.connect().await;
    idle.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(idle.read_response().await.status, 200);
    server.stop().await.expect("serve returned an error");
    assert!(idle.is_closed().await);
}
