//! The admin subcommands through the real binary: against a running server over its admin
//! socket, and offline on the outbox file, with dead letters made by a destination that
//! responds with 400.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::{Capture, Reply, Sluice, post_json, wait_until};

const API_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Returns a configuration with a webhook destination `hook` at `url`, short retries and
/// `extra` TOML.
fn config(url: &str, extra: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
state_dir = "state"

[sources.sdk]
api_keys = ["{API_KEY}"]

[destinations.hook]
url = "{url}"
timeout = "2s"
template = '{{"event": "${{input.event_type?json_string}}"}}'

[destinations.hook.retry]
max_retries = 2
initial_backoff = "100ms"
max_backoff = "200ms"
jitter = 0
{extra}
"#
    )
}

/// Runs `sluice ARGS --config sluice.toml` in `dir`.
fn admin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .args(["--config", "sluice.toml"])
        .current_dir(dir)
        .output()
        .expect("run sluice")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs an admin command with `--json`, checks that it exits with 0 and parses its output.
fn admin_json(dir: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = admin(dir, &args);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("{args:?} printed invalid JSON ({error}): {}", stdout(&output))
    })
}

/// Returns the `sluice queues --json` row of `destination`, if listed.
fn queue(dir: &Path, destination: &str) -> Option<Value> {
    let queues = admin_json(dir, &["queues"]);
    queues["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["destination"] == destination)
        .cloned()
}

/// Returns the pending and dead counts of `destination`.
fn counts(dir: &Path, destination: &str) -> (u64, u64) {
    let row = queue(dir, destination).unwrap_or_else(|| panic!("{destination} not listed"));
    (row["pending"].as_u64().unwrap(), row["dead"].as_u64().unwrap())
}

/// Sends one request with an event per type.
fn post_events(sluice: &Sluice, types: &[&str]) {
    let events: Vec<String> = types
        .iter()
        .map(|event_type| format!(r#"{{"event_type":"{event_type}","user_id":"user-12345"}}"#))
        .collect();
    let body = format!(r#"{{"api_key":"{API_KEY}","events":[{}]}}"#, events.join(","));
    let (status, answer) = post_json(&sluice.url("/2/httpapi"), body.as_bytes());
    assert_eq!(status, 200, "{answer}");
}

/// Starts a server whose destination rejects the first `count` requests with 400, sends
/// `count` events and waits until all of them are dead letters.
fn server_with_dead_letters(count: usize) -> (Sluice, Capture) {
    let rejection = Reply::status(400).with_body(r#"{"message":"invalid external_id"}"#);
    let capture = Capture::scripted(vec![rejection; count]);
    let sluice = Sluice::start(&config(&capture.url("/hook"), ""));
    let types: Vec<String> = (0..count).map(|i| format!("Rejected {i}")).collect();
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    post_events(&sluice, &types);
    wait_until("every event is a dead letter", || {
        counts(sluice.path(), "hook") == (0, count as u64)
    });
    (sluice, capture)
}

fn letter_keys(list: &Value) -> Vec<String> {
    list["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn server_lists_replays_and_purges_letters() {
    let (sluice, capture) = server_with_dead_letters(3);
    let dir = sluice.path();

    let list = admin_json(dir, &["dead", "list"]);
    let keys = letter_keys(&list);
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|key| key.starts_with("hook:")), "{keys:?}");
    let first = &list["letters"][0];
    assert_eq!(first["status"], 400);
    assert_eq!(first["attempts"], 1);
    assert!(first["reason"].as_str().unwrap().contains("400"), "{first}");
    assert!(first["response_snippet"].as_str().unwrap().contains("invalid external_id"));
    assert_eq!(list["next_after"], Value::Null);

    let table = admin(dir, &["dead", "list"]);
    assert_eq!(table.status.code(), Some(0));
    assert!(stdout(&table).starts_with("KEY"), "{}", stdout(&table));
    assert!(stdout(&table).contains(&keys[2]), "{}", stdout(&table));

    let page = admin_json(dir, &["dead", "list", "--limit", "2", "--newest-first"]);
    assert_eq!(letter_keys(&page), [keys[2].clone(), keys[1].clone()]);
    let next = page["next_after"].as_str().unwrap();
    let rest =
        admin_json(dir, &["dead", "list", "--limit", "2", "--newest-first", "--after", next]);
    assert_eq!(letter_keys(&rest), [keys[0].clone()]);

    let letter = admin_json(dir, &["dead", "show", &keys[0]]);
    assert_eq!(letter["event"]["event_type"], "Rejected 0");
    assert_eq!(letter["source"], "sdk");
    let text = stdout(&admin(dir, &["dead", "show", &keys[0]]));
    assert!(text.contains("invalid external_id"), "{text}");
    assert!(text.contains("\"event_type\": \"Rejected 0\""), "{text}");

    // The destination accepts everything from now on, so a replayed event is delivered.
    let replayed = admin_json(dir, &["dead", "replay", &keys[0]]);
    assert_eq!(replayed["count"], 1);
    assert!(replayed["letters"][0]["queued_as"].is_u64(), "{replayed}");
    let received = capture.wait_for(4);
    assert_eq!(received[3].body, r#"{"event": "Rejected 0"}"#);
    wait_until("the replayed event is delivered", || counts(dir, "hook") == (0, 2));

    let purged = admin_json(dir, &["dead", "purge", &keys[1]]);
    assert_eq!(purged["count"], 1);
    assert_eq!(counts(dir, "hook"), (0, 1));
    assert_eq!(capture.received().len(), 4, "a purged letter was delivered");

    // An unknown key is reported, the other key is replayed, and the exit code is 1.
    let mixed = admin(dir, &["dead", "replay", "hook:1", &keys[2]]);
    assert_eq!(mixed.status.code(), Some(1), "{}", stderr(&mixed));
    assert!(stderr(&mixed).contains("sluice: no dead letter hook:1"), "{}", stderr(&mixed));
    assert!(stdout(&mixed).contains(&format!("replayed {}", keys[2])), "{}", stdout(&mixed));
    capture.wait_for(5);
    wait_until("the last dead letter is delivered", || counts(dir, "hook") == (0, 0));

    let missing = admin(dir, &["dead", "show", &keys[2]]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).starts_with("sluice: no dead letter"), "{}", stderr(&missing));
}

#[test]
fn replay_all_delivers_each_letter_once() {
    let (sluice, capture) = server_with_dead_letters(4);
    let dir = sluice.path();
    let replayed = admin_json(dir, &["dead", "replay", "--destination", "hook", "--all"]);
    assert_eq!(replayed["count"], 4);
    assert_eq!(replayed["letters"], serde_json::json!([]));
    let received = capture.wait_for(8);
    let mut bodies: Vec<&str> = received[4..].iter().map(|r| r.body.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(
        bodies,
        (0..4).map(|i| format!(r#"{{"event": "Rejected {i}"}}"#)).collect::<Vec<_>>()
    );
    wait_until("every replayed event is delivered", || counts(dir, "hook") == (0, 0));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(capture.received().len(), 8, "a replayed event was delivered twice");
}

#[test]
fn commands_work_offline_on_the_outbox_file() {
    let (sluice, capture) = server_with_dead_letters(3);
    let (clean, dir) = sluice.terminate();
    assert!(clean);
    assert!(!dir.path().join("state/admin.sock").exists(), "the socket outlived the server");

    let list = admin_json(dir.path(), &["dead", "list"]);
    let keys = letter_keys(&list);
    assert_eq!(keys.len(), 3);
    let letter = admin_json(dir.path(), &["dead", "show", &keys[1]]);
    assert_eq!(letter["event"]["event_type"], "Rejected 1");
    let rows = admin_json(dir.path(), &["queues"]);
    assert_eq!(rows["destinations"][0]["leased"], 0);

    let purged = admin_json(dir.path(), &["dead", "purge", &keys[0]]);
    assert_eq!(purged["count"], 1);
    let replayed = admin_json(dir.path(), &["dead", "replay", &keys[1]]);
    assert_eq!(replayed["count"], 1);
    assert_eq!(counts(dir.path(), "hook"), (1, 1));
    let purged = admin_json(dir.path(), &["dead", "purge", "--destination", "hook", "--all"]);
    assert_eq!(purged["count"], 1);
    assert_eq!(counts(dir.path(), "hook"), (1, 0));

    // The replayed entry is delivered once a server runs again.
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    let received = capture.wait_for(4);
    assert_eq!(received[3].body, r#"{"event": "Rejected 1"}"#);
    wait_until("the replayed event is delivered", || counts(sluice.path(), "hook") == (0, 0));
}

#[test]
fn renamed_destination_queue_is_dropped() {
    // Nothing listens on the destination's port and the next attempt is an hour away, so the
    // entries stay pending.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let original = config(&format!("http://127.0.0.1:{port}/hook"), "")
        .replace("initial_backoff = \"100ms\"", "initial_backoff = \"1h\"")
        .replace("max_backoff = \"200ms\"", "max_backoff = \"1h\"");
    let sluice = Sluice::start(&original);
    post_events(&sluice, &["Stuck 0", "Stuck 1"]);
    let (clean, dir) = sluice.terminate();
    assert!(clean);
    let renamed = original.replace("[destinations.hook", "[destinations.renamed");
    std::fs::write(dir.path().join("sluice.toml"), renamed).unwrap();
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    let dir = sluice.path();

    let old = queue(dir, "hook").expect("the old queue is listed");
    assert_eq!(old["configured"], false);
    assert_eq!(old["pending"], 2);
    assert_eq!(queue(dir, "renamed").unwrap()["configured"], true);
    let table = admin(dir, &["queues"]);
    assert!(stdout(&table).contains("not configured"), "{}", stdout(&table));
    assert!(stderr(&table).contains("sluice queues drop hook --yes"), "{}", stderr(&table));

    let configured = admin(dir, &["queues", "drop", "renamed", "--yes"]);
    assert_eq!(configured.status.code(), Some(2));
    assert!(stderr(&configured).contains("still configured"), "{}", stderr(&configured));
    let unconfirmed = admin(dir, &["queues", "drop", "hook"]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(stderr(&unconfirmed).contains("--yes"), "{}", stderr(&unconfirmed));
    let typo = admin(dir, &["queues", "drop", "hok", "--yes"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("did you mean `hook`"), "{}", stderr(&typo));
    assert_eq!(queue(dir, "hook").unwrap()["pending"], 2, "a refused drop deleted entries");

    let dropped = admin_json(dir, &["queues", "drop", "hook", "--yes"]);
    assert_eq!(dropped["entries"], 2);
    assert_eq!(dropped["dead_letters"], 0);
    assert!(queue(dir, "hook").is_none(), "an empty unconfigured queue is still listed");
}

#[test]
fn paused_destination_receives_nothing_until_resumed() {
    let capture = Capture::start();
    let sluice = Sluice::start(&config(&capture.url("/hook"), ""));
    let dir = sluice.path();

    let paused = admin_json(dir, &["pause", "hook"]);
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["changed"], true);
    assert_eq!(queue(dir, "hook").unwrap()["paused"], true);
    assert!(stdout(&admin(dir, &["queues"])).contains("paused"));
    post_events(&sluice, &["Held"]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(capture.received().is_empty(), "a paused destination received a request");
    assert_eq!(counts(dir, "hook"), (1, 0));

    let again = admin_json(dir, &["pause", "hook"]);
    assert_eq!(again["changed"], false);
    let resumed = admin(dir, &["resume", "hook"]);
    assert_eq!(resumed.status.code(), Some(0));
    assert_eq!(stdout(&resumed), "resumed deliveries to `hook`\n");
    let received = capture.wait_for(1);
    assert_eq!(received[0].body, r#"{"event": "Held"}"#);

    let unknown = admin(dir, &["pause", "hoook"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `hook`"), "{}", stderr(&unknown));

    let (_, dir) = sluice.terminate();
    let offline = admin(dir.path(), &["pause", "hook"]);
    assert_eq!(offline.status.code(), Some(2));
    assert!(stderr(&offline).contains("no sluice serve listens"), "{}", stderr(&offline));
}

#[test]
fn socket_is_private_and_replaced_after_crash() {
    let capture = Capture::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sluice.toml"), config(&capture.url("/hook"), "")).unwrap();
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let socket = dir.path().join("state/admin.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());

    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(queue(sluice.path(), "hook").is_some());

    // A crash leaves the socket file behind; the next start replaces it.
    let dir = sluice.kill();
    assert!(socket.exists());
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    assert_eq!(admin_json(sluice.path(), &["pause", "hook"])["paused"], true);
}

#[test]
fn usage_errors_exit_with_two() {
    let (sluice, _capture) = server_with_dead_letters(1);
    let dir = sluice.path();

    let typo = admin(dir, &["dead", "list", "--destination", "hok"]);
    assert_eq!(typo.status.code(), Some(2));
    assert_eq!(
        stderr(&typo),
        "sluice: unknown destination `hok`; did you mean `hook`? `sluice queues` lists the \
         destinations\n"
    );
    let malformed = admin(dir, &["dead", "show", "hook"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(stderr(&malformed).contains("DESTINATION:EVENT_ID"), "{}", stderr(&malformed));
    let nothing = admin(dir, &["dead", "purge"]);
    assert_eq!(nothing.status.code(), Some(2));
    let missing_dir = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["queues", "--state-dir", "/nonexistent/sluice-state"])
        .output()
        .unwrap();
    assert_eq!(missing_dir.status.code(), Some(2));
    assert!(stderr(&missing_dir).starts_with("sluice: no outbox at /nonexistent"));
}

#[test]
fn closed_standard_output_ends_quietly() {
    let (sluice, _capture) = server_with_dead_letters(1);
    // `true` exits at once, so sluice writes its listing into a pipe without a reader.
    let script = format!(
        "{{ sleep 0.5; \"{}\" dead list --config sluice.toml; echo \"exit $?\" >&2; }} | true",
        env!("CARGO_BIN_EXE_sluice")
    );
    let output =
        Command::new("sh").args(["-c", &script]).current_dir(sluice.path()).output().unwrap();
    assert_eq!(stderr(&output), "exit 0\n");
}

#[test]
fn help_fits_in_79_columns() {
    let commands: [&[&str]; 10] = [
        &["queues"],
        &["queues", "drop"],
        &["dead"],
        &["dead", "list"],
        &["dead", "show"],
        &["dead", "replay"],
        &["dead", "purge"],
        &["pause"],
        &["resume"],
        &[],
    ];
    for command in commands {
        for flag in ["-h", "--help"] {
            let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
                .args(command)
                .arg(flag)
                .env("COLUMNS", "200")
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(0), "{command:?} {flag}");
            for line in stdout(&output).lines() {
                assert!(line.chars().count() <= 79, "{command:?} {flag}: {line:?}");
            }
        }
    }
}

#[test]
fn long_state_path_falls_back_to_offline() {
    let capture = Capture::start();
    let dir = tempfile::tempdir().unwrap();
    // A state directory whose socket path exceeds the 107 bytes of a Unix socket address.
    let long = format!("state/{}", "d".repeat(110));
    let text = config(&capture.url("/hook"), "")
        .replace(r#"state_dir = "state""#, &format!(r#"state_dir = "{long}""#));
    std::fs::write(dir.path().join("sluice.toml"), text).unwrap();
    let sluice = Sluice::start_in(dir, &["--config", "sluice.toml"]);
    let (clean, dir) = sluice.terminate();
    assert!(clean);

    let output = admin(dir.path(), &["queues"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("hook"), "{}", stdout(&output));
    assert!(stderr(&output).contains("sluice serve is not running"), "{}", stderr(&output));
}

#[test]
fn pause_holds_requests_already_prepared() {
    // With one request at a time, the first event is in flight while the other two wait,
    // rendered, for the concurrency slot.
    let capture =
        Capture::scripted(vec![Reply::status(200).with_delay(Duration::from_millis(1500))]);
    let text = config(&capture.url("/hook"), "")
        .replace("timeout = \"2s\"", "timeout = \"5s\"\nconcurrency = 1");
    let sluice = Sluice::start(&text);
    let dir = sluice.path();
    post_events(&sluice, &["First", "Second", "Third"]);
    capture.wait_for(1);

    let paused = admin_json(dir, &["pause", "hook"]);
    assert_eq!(paused["paused"], true);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(capture.received().len(), 1, "a request prepared before the pause was sent");

    admin_json(dir, &["resume", "hook"]);
    let received = capture.wait_for(3);
    assert_eq!(received.len(), 3);
}
