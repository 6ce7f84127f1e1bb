//! Delivery end to end: a real outbox in a temporary directory, the dispatcher, and scripted
//! HTTP servers on 127.0.0.1.

mod dispatch_support;

use std::sync::Arc;
use std::time::Duration;

use dispatch_support::{
    Reply, TestServer, fast_retry, header, http_destination, refused_url, wait_until,
};
use sluice::config::{Batch, Destination, DestinationKind, RateLimit};
use sluice::dispatch::{self, DispatchHandle};
use sluice::event::Event;
use sluice::store::{
    DeadLetterOrder, DeadLetterSummary, DestinationCounts, NewEvent, Outbox, OutboxOptions,
};
use sluice::template::{Limits, Template, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// An outbox in a temporary directory with the dispatcher running over it.
struct Harness {
    _dir: tempfile::TempDir,
    outbox: Outbox,
    shutdown: CancellationToken,
    handle: Option<DispatchHandle>,
}

impl Harness {
    fn start(destinations: Vec<Destination>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<&str> = destinations.iter().map(|d| d.name.as_str()).collect();
        let outbox = Outbox::open(
            &dir.path().join("outbox.redb"),
            &names,
            OutboxOptions { cache_size_bytes: 4 * 1024 * 1024, max_pending_entries: 100_000 },
        )
        .unwrap();
        let destinations: Vec<Arc<Destination>> = destinations.into_iter().map(Arc::new).collect();
        let shutdown = CancellationToken::new();
        let handle = dispatch::spawn(outbox.clone(), &destinations, shutdown.clone()).unwrap();
        Harness { _dir: dir, outbox, shutdown, handle: Some(handle) }
    }

    /// Appends `count` events for the destination `name`, in one append.
    async fn append(&self, name: &str, count: usize) {
        self.append_to(&[name], count).await;
    }

    /// Appends `count` events, each for every destination in `names`, in one append.
    async fn append_to(&self, names: &[&str], count: usize) {
        let ids: Vec<_> =
            names.iter().map(|name| self.outbox.destination_id(name).unwrap()).collect();
        let events = (0..count)
            .map(|i| {
                let input =
                    Value::from_json_str(&format!(r#"{{"event_type":"e{i}","n":{i}}}"#)).unwrap();
                let event = Event { source: "test".into(), input };
                NewEvent { body: event.encode(), destinations: ids.clone() }
            })
            .collect();
        self.outbox.append(events).await.unwrap();
    }

    fn counts(&self, name: &str) -> DestinationCounts {
        self.outbox.counts().into_iter().find(|c| c.name == name).unwrap()
    }

    fn dead_letters(&self, name: &str) -> Vec<DeadLetterSummary> {
        let id = self.outbox.destination_id(name).unwrap();
        self.outbox.dead_letters(id, None, DeadLetterOrder::OldestFirst, 1000).unwrap()
    }

    /// Waits until the destination has no pending entry left.
    async fn wait_drained(&self, name: &str, limit: Duration) {
        wait_until(&format!("{name} to drain"), limit, || self.counts(name).pending == 0).await;
    }

    /// Cancels the dispatcher, waits for it and writes the last outcomes.
    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.wait().await.unwrap();
        }
        self.outbox.flush().await.unwrap();
    }
}

fn batched(
    mut destination: Destination,
    max_events: usize,
    max_bytes: usize,
    linger_ms: u64,
) -> Destination {
    destination.batch = Some(Batch {
        max_events,
        max_bytes,
        max_linger: Duration::from_millis(linger_ms),
        prefix: "[".into(),
        separator: ",".into(),
        suffix: "]".into(),
    });
    destination
}

fn events_in(body: &[u8]) -> usize {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    value.as_array().unwrap().len()
}

fn gap(earlier: Instant, later: Instant) -> Duration {
    later.saturating_duration_since(earlier)
}

#[tokio::test]
async fn event_arrives_as_compact_json() {
    let server = TestServer::always(Reply::ok()).await;
    let mut harness = Harness::start(vec![http_destination("hook", &server.url("/in"))]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].text(), r#"{"event_type":"e0","n":0}"#);
    assert!(harness.dead_letters("hook").is_empty());
}

#[tokio::test]
async fn server_errors_then_success_delivers_once() {
    let server = TestServer::start(|index, _| match index {
        0 | 1 => Reply::status(500).body("try later"),
        _ => Reply::ok(),
    })
    .await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.retry = fast_retry(5, 100);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    // Give a wrong extra delivery the chance to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 3, "two failed attempts and one delivery");
    assert!(gap(received[0].at, received[1].at) >= Duration::from_millis(100));
    assert!(gap(received[1].at, received[2].at) >= Duration::from_millis(200));
    assert!(received.iter().all(|r| r.body == received[0].body));
    assert!(harness.dead_letters("hook").is_empty());
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::status(429).header("Retry-After", "2"),
        _ => Reply::ok(),
    })
    .await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.retry = fast_retry(5, 50);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = gap(received[0].at, received[1].at);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

#[tokio::test]
async fn bad_request_is_dead_lettered_at_once() {
    let server =
        TestServer::always(Reply::status(400).body(r#"{"error":"invalid user_id"}"#)).await;
    let mut harness = Harness::start(vec![http_destination("hook", &server.url("/in"))]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    harness.stop().await;

    assert_eq!(server.count(), 1);
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].reason,
        "HTTP 400 Bad Request, which is not retried: the destination rejected the request"
    );
    assert_eq!(dead[0].status, Some(400));
    assert_eq!(dead[0].response_snippet, r#"{"error":"invalid user_id"}"#);
    assert_eq!(harness.counts("hook").dead, 1);
}

#[tokio::test]
async fn exhausted_retries_are_dead_lettered() {
    let server = TestServer::always(Reply::status(503).body("maintenance")).await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.retry = fast_retry(2, 50);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 3, "the first attempt and two retries");
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "retries exhausted after 3 attempts: HTTP 503 Service Unavailable");
    assert_eq!(dead[0].status, Some(503));
    assert_eq!(dead[0].response_snippet, "maintenance");
    assert_eq!(dead[0].attempts, 3);
}

#[tokio::test]
async fn connection_refused_is_retried() {
    let mut destination = http_destination("hook", &refused_url("/in").await);
    destination.retry = fast_retry(2, 50);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].reason.starts_with("retries exhausted after 3 attempts: connection failed: "),
        "reason {:?}",
        dead[0].reason
    );
    assert_eq!(dead[0].status, None);
    assert_eq!(dead[0].attempts, 3);
}

#[tokio::test]
async fn timeout_is_retried() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::ok().delay(Duration::from_secs(2)),
        _ => Reply::ok(),
    })
    .await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.timeout = Duration::from_millis(200);
    destination.retry = fast_retry(2, 50);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 2, "the timed-out attempt and the retry");
    assert!(harness.dead_letters("hook").is_empty());
}

#[tokio::test]
async fn oversized_event_is_dead_lettered_unsent() {
    let server = TestServer::always(Reply::ok()).await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.max_event_bytes = 10;
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 0);
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.starts_with("rendered event is 25 bytes"), "{}", dead[0].reason);
    assert_eq!(dead[0].status, None);
}

#[tokio::test]
async fn batching_respects_max_events() {
    let server = TestServer::always(Reply::ok()).await;
    let destination = batched(http_destination("hook", &server.url("/in")), 3, 64 * 1024, 300);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 7).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let sizes: Vec<usize> = server.received().iter().map(|r| events_in(&r.body)).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let received = server.received();
    assert!(received[0].text().starts_with(r#"[{"event_type":"e0","n":0},{"event_type":"e1""#));
}

#[tokio::test]
async fn batching_respects_max_bytes() {
    let server = TestServer::always(Reply::ok()).await;
    // Each event renders to 25 bytes; "[" + 2 events + "," + "]" = 53 bytes, a third needs 79.
    let destination = batched(http_destination("hook", &server.url("/in")), 100, 60, 100);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 5).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    let sizes: Vec<usize> = received.iter().map(|r| events_in(&r.body)).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert!(received.iter().all(|r| r.body.len() <= 60));
}

#[tokio::test]
async fn batch_is_sent_after_linger() {
    let server = TestServer::always(Reply::ok()).await;
    let destination = batched(http_destination("hook", &server.url("/in")), 100, 64 * 1024, 400);
    let mut harness = Harness::start(vec![destination]);
    let appended = Instant::now();
    harness.append("hook", 2).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(events_in(&received[0].body), 2);
    let waited = gap(appended, received[0].at);
    assert!(waited >= Duration::from_millis(400), "sent after {waited:?}");
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let server = TestServer::always(Reply::ok()).await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.rate_limit = Some(RateLimit { requests: 1, per: Duration::from_millis(200) });
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 4).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 4);
    for pair in received.windows(2) {
        let spacing = gap(pair[0].at, pair[1].at);
        // A little slack for the server recording arrival after the client sent.
        assert!(spacing >= Duration::from_millis(180), "requests {spacing:?} apart");
    }
}

#[tokio::test]
async fn concurrency_limit_caps_requests() {
    let server = TestServer::always(Reply::ok().delay(Duration::from_millis(200))).await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.concurrency = 2;
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 6).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 6);
    assert_eq!(server.max_concurrent(), 2);
}

#[tokio::test]
async fn hanging_destination_does_not_delay_another() {
    let stuck = TestServer::always(Reply::hang()).await;
    let healthy = TestServer::always(Reply::ok()).await;
    let mut slow = http_destination("stuck", &stuck.url("/in"));
    slow.timeout = Duration::from_secs(3);
    slow.concurrency = 1;
    let mut harness = Harness::start(vec![slow, http_destination("healthy", &healthy.url("/in"))]);
    let started = Instant::now();
    harness.append_to(&["stuck", "healthy"], 5).await;
    harness.wait_drained("healthy", Duration::from_secs(10)).await;
    let healthy_done = started.elapsed();

    assert_eq!(healthy.count(), 5);
    assert_eq!(stuck.count(), 1, "the stuck destination is waiting on its first request");
    assert_eq!(harness.counts("stuck").pending, 5);
    assert!(healthy_done < Duration::from_secs(3), "healthy destination took {healthy_done:?}");
    harness.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_and_keeps_unsent() {
    let server = TestServer::always(Reply::ok().delay(Duration::from_millis(300))).await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.concurrency = 1;
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 3).await;
    wait_until("the first request", Duration::from_secs(10), || server.count() == 1).await;
    harness.stop().await;

    assert_eq!(server.count(), 1);
    let counts = harness.counts("hook");
    assert_eq!(counts.pending, 2, "the request in flight finished and was recorded");
    assert_eq!(counts.dead, 0);
}

#[tokio::test]
async fn circuit_pauses_failing_destination() {
    // The endpoint fails for its first second, then recovers.
    let started = std::time::Instant::now();
    let server = TestServer::start(move |_, _| {
        if started.elapsed() < Duration::from_secs(1) { Reply::status(503) } else { Reply::ok() }
    })
    .await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.concurrency = 1;
    destination.retry = fast_retry(9, 300);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 10).await;
    harness.wait_drained("hook", Duration::from_secs(15)).await;
    harness.stop().await;

    let failed = server
        .received()
        .iter()
        .filter(|r| r.at.into_std().duration_since(started) < Duration::from_secs(1))
        .count();
    let threshold = sluice::dispatch::circuit::FAILURE_THRESHOLD as usize;
    // Five failures open the circuit; during the rest of the outage only probes go out.
    assert!(failed >= threshold, "{failed} requests during the outage");
    assert!(failed <= threshold + 2, "{failed} requests during the outage");
    assert!(harness.dead_letters("hook").is_empty());
}

#[tokio::test]
async fn circuit_keeps_attempts_of_waiting_entries() {
    // Without the circuit, an outage of 1.5 s would exhaust two retries 200 and 400 ms apart
    // for every entry.
    let started = std::time::Instant::now();
    let server = TestServer::start(move |_, _| {
        if started.elapsed() < Duration::from_millis(1500) {
            Reply::status(502)
        } else {
            Reply::ok()
        }
    })
    .await;
    let mut destination = http_destination("hook", &server.url("/in"));
    destination.concurrency = 1;
    destination.retry = fast_retry(2, 200);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 10).await;
    harness.wait_drained("hook", Duration::from_secs(15)).await;
    harness.stop().await;

    assert!(harness.dead_letters("hook").is_empty(), "{:?}", harness.dead_letters("hook"));
    assert_eq!(harness.counts("hook").dead, 0);
}

#[tokio::test]
async fn rejected_batch_dead_letters_every_entry() {
    let server = TestServer::always(Reply::status(422).body("schema mismatch")).await;
    let destination = batched(http_destination("hook", &server.url("/in")), 10, 64 * 1024, 50);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 4).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 1);
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 4);
    assert!(dead.iter().all(|d| d.status == Some(422)));
    assert!(dead.iter().all(|d| d.response_snippet == "schema mismatch"));
}

/// Returns `destination` with `template` as its body template and `{"team":"blue"}` as its
/// parameters.
fn templated(mut destination: Destination, template: &str) -> Destination {
    destination.template = Some(Template::compile("body", template).unwrap());
    destination.parameters = Value::from_json_str(r#"{"team":"blue","base":"/teams"}"#).unwrap();
    destination
}

#[tokio::test]
async fn templates_render_body_url_and_headers() {
    let server = TestServer::always(Reply::ok()).await;
    let base = server.url("");
    let mut destination = templated(
        http_destination(
            "hook",
            &format!("{base}/users/${{input.event_type}}?team=${{parameters.team}}"),
        ),
        r#"{"user":"${input.event_type}","team":"${parameters.team}","n":${input.n}}"#,
    );
    let DestinationKind::Http(target) = &mut destination.kind else { unreachable!() };
    target.headers = vec![header("X-Team", "${parameters.team}-${input.n}", false)];
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 2).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let mut received = server.received();
    received.sort_by_key(|r| r.uri.path().to_owned());
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].uri.path(), "/users/e0");
    assert_eq!(received[0].uri.query(), Some("team=blue"));
    assert_eq!(received[0].header("x-team").as_deref(), Some("blue-0"));
    assert_eq!(received[0].text(), r#"{"user":"e0","team":"blue","n":0}"#);
    assert_eq!(received[1].uri.path(), "/users/e1");
    assert_eq!(received[1].header("x-team").as_deref(), Some("blue-1"));
}

#[tokio::test]
async fn batched_url_sees_parameters() {
    let server = TestServer::always(Reply::ok()).await;
    let base = server.url("");
    let destination = batched(
        templated(
            http_destination("hook", &format!("{base}${{parameters.base}}/events")),
            r#"{"e":"${input.event_type}"}"#,
        ),
        10,
        64 * 1024,
        50,
    );
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 3).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri.path(), "/teams/events");
    assert_eq!(received[0].text(), r#"[{"e":"e0"},{"e":"e1"},{"e":"e2"}]"#);
}

#[tokio::test]
async fn render_error_is_dead_lettered_unsent() {
    let server = TestServer::always(Reply::ok()).await;
    let source = r#"{"user":"${input.no_such_key}"}"#;
    let destination = templated(http_destination("hook", &server.url("/in")), source);
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 1).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 0);
    let input = Value::from_json_str(r#"{"event_type":"e0","n":0}"#).unwrap();
    let parameters = Value::from_json_str(r#"{"team":"blue","base":"/teams"}"#).unwrap();
    let expected = Template::compile("body", source)
        .unwrap()
        .render(&[("input", &input), ("parameters", &parameters)])
        .unwrap_err()
        .to_string();
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, expected);
    assert!(!dead[0].reason.contains('\n'));
    assert_eq!(dead[0].status, None);
}

#[tokio::test]
async fn url_reading_input_in_batch_is_dead_lettered() {
    let server = TestServer::always(Reply::ok()).await;
    let base = server.url("");
    let destination = batched(
        http_destination("hook", &format!("{base}/users/${{input.event_type}}")),
        10,
        64 * 1024,
        50,
    );
    let mut harness = Harness::start(vec![destination]);
    harness.append("hook", 2).await;
    harness.wait_drained("hook", Duration::from_secs(10)).await;
    harness.stop().await;

    assert_eq!(server.count(), 0);
    let dead = harness.dead_letters("hook");
    assert_eq!(dead.len(), 2);
    assert!(dead[0].reason.starts_with("url template failed: "), "{}", dead[0].reason);
}

/// Templates may run for seconds within their limits, so the render must leave the async
/// worker threads free for ingest and other destinations.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn slow_render_leaves_async_worker_free() {
    let server = TestServer::always(Reply::ok()).await;
    // Each item compiles a larger regular expression, so the render runs until the time limit.
    let source = r#"<#list 1..1000000 as i>${"abc"?matches("a{" + i?c + "}")?c}</#list>"#;
    let limits = Limits { max_render_time: Duration::from_secs(3), ..Limits::default() };
    let mut destination = http_destination("slow", &server.url("/in"));
    destination.template = Some(Template::compile_with_limits("slow", source, limits).unwrap());
    let mut harness = Harness::start(vec![destination]);
    harness.append("slow", 1).await;
    // Let the dispatcher lease the entry and start rendering on the only worker thread.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe_ms = tokio::spawn(async { unix_ms() }).await.unwrap();
    wait_until("the render to fail", Duration::from_secs(30), || {
        !harness.dead_letters("slow").is_empty()
    })
    .await;
    harness.stop().await;

    let dead = harness.dead_letters("slow");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("render took longer than 3000 ms"), "{}", dead[0].reason);
    assert!(
        probe_ms + 1000 < dead[0].dead_at_ms,
        "a task spawned during the render ran at {probe_ms}, the render ended at {}",
        dead[0].dead_at_ms
    );
    assert_eq!(server.count(), 0);
}

fn unix_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    since_epoch.as_millis() as u64
}
