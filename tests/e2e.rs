//! End-to-end tests through the real binary: SDK request bodies in, rendered requests out at a
//! capturing HTTP server on 127.0.0.1, with retries, dead letters, crashes and restarts.

mod support;

use std::time::Duration;

use support::{Capture, Reply, Sluice, fixture, post_json, wait_until};

/// A webhook destination with a realistic template, short backoffs and a secret header.
fn webhook_config(url: &str, extra: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
state_dir = "state"

[sources.sdk]
api_keys = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]

[destinations.hook]
url = "{url}"
method = "PUT"
headers = {{ Authorization = "Bearer hook-token", "X-Source" = "sluice-${{parameters.region}}" }}
parameters = {{ region = "eu" }}
timeout = "2s"
template = '''
{{
  "event": "${{input.event_type?json_string}}",
  "user": <#if input.user_id??>"${{input.user_id?json_string}}"<#else>null</#if>,
  "device": "${{(input.device_id!"")?json_string}}",
  "insert_id": "${{input["$insert_id"]!""}}",
  "time": ${{input.time?c}},
  "properties": {{<#list input.event_properties!{{}} as k, v>"${{k?json_string}}": <#if !v??>null<#elseif v?is_number || v?is_boolean>${{v?c}}<#elseif v?is_string>"${{v?json_string}}"<#else>"complex"</#if><#sep>, </#list>}}
}}'''

[destinations.hook.retry]
max_retries = 3
initial_backoff = "200ms"
multiplier = 2
max_backoff = "1s"
jitter = 0
{extra}
"#
    )
}

fn sample_body(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("samples/{name}.body.json"))).expect("sample body")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn default_config_prints_each_event_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let sluice = Sluice::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let (status, body) =
        post_json(&sluice.url("/2/httpapi"), &sample_body("amplitude-python-sdk-1.3.0"));
    assert_eq!(status, 200, "{body}");
    let answer = json(&body);
    assert_eq!(answer["code"], 200);
    assert_eq!(answer["events_ingested"], 6);
    wait_until("six events are printed", || sluice.stdout.lock().unwrap().len() >= 6);
    let lines = sluice.stdout.lock().unwrap().clone();
    let types: Vec<String> =
        lines.iter().map(|l| json(l)["event_type"].as_str().unwrap().to_owned()).collect();
    for expected in ["Song Played", "$identify", "$groupidentify", "revenue_amount", "Big Number"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    let first = lines.iter().map(|l| json(l)).find(|e| e["event_type"] == "Song Played").unwrap();
    assert_eq!(first["ip_address"], "127.0.0.1");
    assert_eq!(first["$insert_id"], "7f0c3e1a-0000-4000-8000-000000000001");
    assert_eq!(first["event_time"].as_str().unwrap().len(), 23, "{first}");
    let big = lines.iter().find(|l| l.contains("Big Number")).unwrap();
    assert!(big.contains("12345678901234567890"), "exact big number lost: {big}");
}

#[test]
fn state_is_private_to_the_service() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let sluice = Sluice::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let state = sluice.path().join("sluice-state");
    assert_eq!(mode(&state), 0o700, "state directory");
    assert_eq!(mode(&state.join("outbox.redb")), 0o600, "outbox file");
}

#[test]
fn sdk_samples_reach_the_webhook_rendered() {
    let capture = Capture::start();
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    let mut expected = 0;
    for sample in ["amplitude-python-sdk-1.3.0", "amplitude-analytics-node-1.5.73"] {
        let (status, body) = post_json(&sluice.url("/2/httpapi"), &sample_body(sample));
        assert_eq!(status, 200, "{sample}: {body}");
        expected += json(&body)["events_ingested"].as_u64().unwrap() as usize;
    }
    assert_eq!(expected, 9);
    let received = capture.wait_for(expected);
    assert_eq!(received.len(), expected);
    for request in &received {
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path, "/hook");
        assert_eq!(request.header("authorization"), Some("Bearer hook-token"));
        assert_eq!(request.header("x-source"), Some("sluice-eu"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        json(&request.body);
    }
    let song = received.iter().map(|r| json(&r.body)).find(|b| b["event"] == "Song Played");
    let song = song.expect("Song Played delivered");
    assert_eq!(song["user"], "user-4711@example.test");
    assert_eq!(song["insert_id"], "7f0c3e1a-0000-4000-8000-000000000001");
    assert_eq!(song["time"], 1796396670655u64);
    assert_eq!(song["properties"]["title"], "Ünïcödé \"quoted\" song\n");
    assert_eq!(song["properties"]["rating"], 4.5);
    assert_eq!(song["properties"]["album"], "complex");
    let checkout =
        received.iter().map(|r| json(&r.body)).find(|b| b["event"] == "Checkout Started");
    let checkout = checkout.expect("Checkout Started delivered");
    assert_eq!(checkout["properties"]["coupon"], serde_json::Value::Null);
    assert!(!sluice.logs().contains("hook-token"), "secret header value logged");
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let capture = Capture::scripted(vec![Reply::status(500), Reply::status(503)]);
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    let event = br#"{"api_key":"0123456789abcdef0123456789abcdef","events":[{"event_type":"Retry Me","user_id":"user-12345"}]}"#;
    let (status, body) = post_json(&sluice.url("/2/httpapi"), event);
    assert_eq!(status, 200, "{body}");
    let received = capture.wait_for(3);
    std::thread::sleep(Duration::from_millis(700));
    let received_later = capture.received();
    assert_eq!(received_later.len(), 3, "delivered more than once: {received_later:?}");
    assert!(received.iter().all(|r| r.body == received[0].body), "bodies differ between attempts");
    let first_gap = received[1].at - received[0].at;
    assert!(first_gap >= Duration::from_millis(150), "retried after only {first_gap:?}");
    let logs = sluice.logs();
    assert!(logs.contains("WARN"), "retries are not logged as warnings:\n{logs}");
}

#[test]
fn retry_after_is_honoured() {
    let capture = Capture::scripted(vec![Reply::status(429).with_header("Retry-After", "2")]);
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    let event = br#"{"api_key":"0123456789abcdef0123456789abcdef","events":[{"event_type":"Slow Down","device_id":"device-12345"}]}"#;
    let (status, _) = post_json(&sluice.url("/2/httpapi"), event);
    assert_eq!(status, 200);
    let received = capture.wait_for(2);
    let gap = received[1].at - received[0].at;
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}, before Retry-After");
    drop(sluice);
}

#[test]
fn client_errors_are_dead_lettered_at_once() {
    let capture = Capture::scripted(vec![
        Reply::status(400).with_body(r#"{"message":"invalid external_id"}"#),
    ]);
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    let event = br#"{"api_key":"0123456789abcdef0123456789abcdef","events":[{"event_type":"Rejected","user_id":"user-12345"}]}"#;
    let (status, _) = post_json(&sluice.url("/2/httpapi"), event);
    assert_eq!(status, 200);
    capture.wait_for(1);
    wait_until("the give-up is logged", || sluice.logs().contains("ERROR"));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(capture.received().len(), 1, "a 400 was retried");
    let (clean, dir) = sluice.terminate();
    assert!(clean, "sluice did not exit cleanly");
    let outbox = sluice::store::Outbox::open(
        &dir.path().join("state/outbox.redb"),
        &["hook"],
        sluice::store::OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 1000 },
    )
    .expect("reopen outbox");
    let hook = outbox.destination_id("hook").unwrap();
    assert_eq!(outbox.pending(), 0);
    let dead = outbox
        .dead_letters(hook, None, sluice::store::DeadLetterOrder::OldestFirst, 10)
        .expect("list dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].status, Some(400));
    assert!(dead[0].response_snippet.contains("invalid external_id"));
    assert!(dead[0].reason.contains("400"), "{:?}", dead[0].reason);
    assert_eq!(dead[0].attempts, 1);
}

#[test]
fn acknowledged_events_survive_kill_and_restart() {
    // Nothing listens on the destination's port at first, so every attempt fails.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let config = webhook_config(&format!("http://127.0.0.1:{port}/hook"), "");
    let sluice = Sluice::start(&config);
    let mut events = Vec::new();
    for i in 0..50 {
        events.push(format!(
            r#"{{"event_type":"Crash Test","user_id":"user-{i:05}","insert_id":"crash-{i:05}"}}"#
        ));
    }
    let body = format!(
        r#"{{"api_key":"0123456789abcdef0123456789abcdef","events":[{}]}}"#,
        events.join(",")
    );
    let (status, answer) = post_json(&sluice.url("/2/httpapi"), body.as_bytes());
    assert_eq!(status, 200, "{answer}");
    let dir = sluice.kill();

    // The destination comes up on the same port; the restarted process delivers everything.
    let capture = Capture::start_on(port);
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    let received = capture.wait_for(50);
    let mut ids: Vec<String> =
        received.iter().map(|r| json(&r.body)["insert_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "some acknowledged events were not delivered");
    drop(sluice);
}

#[test]
fn sigterm_stops_cleanly() {
    let capture = Capture::start();
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    let (clean, _dir) = sluice.terminate();
    assert!(clean);
}

#[test]
fn health_reports_ready() {
    let capture = Capture::start();
    let sluice = Sluice::start(&webhook_config(&capture.url("/hook"), ""));
    sluice::destinations::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        reqwest::get(sluice.url("/health")).await.expect("GET /health").status().as_u16()
    });
    assert_eq!(status, 200);
}

#[test]
fn systemd_is_told_when_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(support::PATIENCE)).unwrap();
    let socket_text = socket_path.to_str().unwrap().to_owned();
    let sluice = Sluice::start_with_env(
        dir,
        &["--listen", "127.0.0.1:0"],
        &[("NOTIFY_SOCKET", socket_text.as_str())],
    );
    let mut buffer = [0u8; 256];
    let size = socket.recv(&mut buffer).expect("READY=1 arrives");
    assert_eq!(std::str::from_utf8(&buffer[..size]).unwrap().trim(), "READY=1");
    let (clean, _dir) = sluice.terminate();
    assert!(clean);
    let size = socket.recv(&mut buffer).expect("STOPPING=1 arrives");
    assert_eq!(std::str::from_utf8(&buffer[..size]).unwrap().trim(), "STOPPING=1");
}

#[test]
fn event_time_parses_with_amplitudes_pattern() {
    // Templates written for Amplitude parse event_time with milliseconds; the result must be
    // the event's own time, not one shifted by reading extra digits as milliseconds.
    let capture = Capture::start();
    let config = r#"
listen = "127.0.0.1:0"
state_dir = "state"

[sources.s]
api_keys = "any"

[destinations.hook]
url = "URL"
template = '${input.event_time?datetime("yyyy-MM-dd HH:mm:ss.SSS")?long?c} ${input.time?c}'
"#
    .replace("URL", &capture.url("/t"));
    let sluice = Sluice::start(&config);
    let event = br#"{"api_key":"k","events":[{"event_type":"Timed","user_id":"user-12345","time":1709648551482}]}"#;
    let (status, _) = post_json(&sluice.url("/2/httpapi"), event);
    assert_eq!(status, 200);
    let received = capture.wait_for(1);
    assert_eq!(received[0].body, "1709648551482 1709648551482");
}

#[test]
fn renamed_destination_left_with_entries_is_reported() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let config = webhook_config(&format!("http://127.0.0.1:{port}/hook"), "");
    let sluice = Sluice::start(&config);
    let event = br#"{"api_key":"0123456789abcdef0123456789abcdef","events":[{"event_type":"Stuck","user_id":"user-12345"}]}"#;
    assert_eq!(post_json(&sluice.url("/2/httpapi"), event).0, 200);
    let (clean, dir) = sluice.terminate();
    assert!(clean);
    let renamed = config.replace("[destinations.hook", "[destinations.renamed");
    std::fs::write(dir.path().join("sluice.toml"), renamed).unwrap();
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    wait_until("the left-over queue is reported", || {
        sluice.logs().contains("destination is no longer configured but still holds entries")
    });
    assert!(sluice.logs().contains("destination=hook"), "{}", sluice.logs());
}

#[test]
fn sighup_is_survived_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let sluice = Sluice::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let pid = sluice.child.id().to_string();
    let status = std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(status.success());
    wait_until("the SIGHUP warning is logged", || {
        sluice.logs().contains("configuration reload is not supported")
    });
    let (status, _) = post_json(
        &sluice.url("/2/httpapi"),
        br#"{"api_key":"k","events":[{"event_type":"After HUP","user_id":"user-12345"}]}"#,
    );
    assert_eq!(status, 200, "sluice stopped serving after SIGHUP");
    let (clean, _dir) = sluice.terminate();
    assert!(clean);
}
