//! Kills a process that is appending to the outbox and checks that every acknowledged event
//! survives.
//!
//! The test binary re-executes itself as the child, with `CHILD_ENV` naming the database. The
//! child appends from several tasks, delivers some entries and retries others as it goes, and
//! reports one line per acknowledged event (`ack ID`) and per delivery (`delivered a ID`) to a
//! report file. The parent kills it with SIGKILL at a random moment, reopens the file, and checks
//! that every acknowledged event not reported delivered is still there and leasable, once, and
//! that the counters match the entries. Three rounds run against the same file. The report is a
//! file rather than standard output because libtest writes its own text there.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sluice::store::{NewEvent, Outbox, OutboxOptions, Outcome};

const CHILD_ENV: &str = "SLUICE_OUTBOX_CRASH_CHILD";
const ROUND_ENV: &str = "SLUICE_OUTBOX_CRASH_ROUND";
const REPORT_ENV: &str = "SLUICE_OUTBOX_CRASH_REPORT";
const TEST_NAME: &str = "acknowledged_events_survive_sigkill";
const DESTINATIONS: [&str; 2] = ["a", "b"];

fn options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 8 * 1024 * 1024, max_pending_entries: 10_000_000 }
}

#[test]
fn acknowledged_events_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let round: u32 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
        let report = std::env::var(REPORT_ENV).unwrap();
        run_child(Path::new(&path), Path::new(&report), round);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut delivered: HashSet<(String, String)> = HashSet::new();
    for round in 0..3 {
        let lines = run_and_kill(&path, round);
        let mut acks_this_round = 0;
        for line in lines {
            if let Some(id) = line.strip_prefix("ack ") {
                acknowledged.insert(id.to_owned());
                acks_this_round += 1;
            } else if let Some(rest) = line.strip_prefix("delivered ") {
                let (destination, id) = rest.split_once(' ').unwrap();
                delivered.insert((destination.to_owned(), id.to_owned()));
            }
        }
        assert!(acks_this_round > 0, "round {round}: the child acknowledged nothing");
        check(&path, &acknowledged, &delivered);
    }
}

/// Starts the child, kills it at a random moment after its first acknowledgement, and returns
/// the lines it reported.
fn run_and_kill(path: &Path, round: u32) -> Vec<String> {
    let report = path.with_extension(format!("report{round}"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env(REPORT_ENV, &report)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // From the second round on the child reports deliveries of earlier rounds' entries first, so
    // wait for an acknowledgement itself, not for the first line.
    while !has_acknowledgement(&report) {
        assert!(Instant::now() < deadline, "round {round}: the child acknowledged nothing in 60 s");
        assert!(child.try_wait().unwrap().is_none(), "round {round}: the child exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(fastrand::u64(0..400)));
    // SIGKILL: no destructor, no close, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    // Each report is one write of whole lines, so only a line cut by the kill lacks its newline.
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    complete.lines().map(str::to_owned).collect()
}

/// Returns whether the report contains a whole `ack` line.
fn has_acknowledgement(report: &Path) -> bool {
    std::fs::read_to_string(report)
        .is_ok_and(|text| text.lines().any(|line| line.starts_with("ack ")) && text.ends_with('\n'))
}

/// Reopens the file and checks every acknowledged, undelivered event is leasable.
fn check(path: &Path, acknowledged: &HashSet<String>, delivered: &HashSet<(String, String)>) {
    let outbox = Outbox::open(path, &DESTINATIONS, options()).unwrap();
    for name in DESTINATIONS {
        let id = outbox.destination_id(name).unwrap();
        let leases = outbox.lease(id, u64::MAX, usize::MAX).unwrap();
        let counts = outbox.counts().into_iter().find(|count| count.id == id).unwrap();
        assert_eq!(
            counts.pending,
            leases.len() as u64,
            "destination {name}: counter and entries differ"
        );
        let mut present: HashMap<String, usize> = HashMap::new();
        for lease in &leases {
            let body = String::from_utf8(lease.event.to_vec()).unwrap();
            *present.entry(body).or_default() += 1;
        }
        for id_text in acknowledged {
            if delivered.contains(&(name.to_owned(), id_text.clone())) {
                continue;
            }
            assert!(
                present.contains_key(id_text),
                "destination {name}: acknowledged event {id_text} is lost"
            );
        }
        assert!(
            present.values().all(|count| *count == 1),
            "destination {name}: an event has two entries"
        );
    }
    outbox.close();
}

/// Writes whole lines to the report file in one write, so a kill never tears a line.
fn report_lines(report: &std::fs::File, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    (&*report).write_all(text.as_bytes()).unwrap();
}

fn run_child(path: &Path, report: &Path, round: u32) {
    let report = std::sync::Arc::new(
        std::fs::OpenOptions::new().create(true).append(true).open(report).unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    runtime.block_on(async {
        let outbox = Outbox::open(path, &DESTINATIONS, options()).unwrap();
        let ids: Vec<_> =
            DESTINATIONS.iter().map(|name| outbox.destination_id(name).unwrap()).collect();
        let mut tasks = Vec::new();
        for task in 0..8 {
            let outbox = outbox.clone();
            let ids = ids.clone();
            let report = std::sync::Arc::clone(&report);
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    // Single events and small batches, as ingest sends them.
                    let size = if i % 4 == 0 { 5 } else { 1 };
                    let events: Vec<NewEvent> = (0..size)
                        .map(|j| NewEvent {
                            body: format!("r{round}-t{task}-i{i}-j{j}").into_bytes(),
                            destinations: ids.clone(),
                        })
                        .collect();
                    let bodies: Vec<String> = events
                        .iter()
                        .map(|event| String::from_utf8(event.body.clone()).unwrap())
                        .collect();
                    outbox.append(events).await.unwrap();
                    let lines: Vec<String> =
                        bodies.iter().map(|body| format!("ack {body}")).collect();
                    report_lines(&report, &lines);
                }
            }));
        }
        // Deliver some of destination a's entries and retry some of b's, so outcomes commit
        // while appends run.
        let deliverer = {
            let outbox = outbox.clone();
            let report = std::sync::Arc::clone(&report);
            tokio::spawn(async move {
                loop {
                    let leases = outbox.lease(ids[0], u64::MAX, 50).unwrap();
                    let mut outcomes = Vec::new();
                    let mut lines = Vec::new();
                    for lease in &leases {
                        let body = String::from_utf8(lease.event.to_vec()).unwrap();
                        lines.push(format!("delivered a {body}"));
                        outcomes.push((lease.key, Outcome::Delivered));
                    }
                    report_lines(&report, &lines);
                    outbox.complete(outcomes);
                    let leases = outbox.lease(ids[1], u64::MAX, 20).unwrap();
                    let retries = leases
                        .iter()
                        .map(|lease| {
                            let due_ms = lease.key.due_ms + 1;
                            (lease.key, Outcome::Retry { due_ms, error: "status 503".to_owned() })
                        })
                        .collect();
                    outbox.complete(retries);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        for task in tasks {
            task.await.unwrap();
        }
        deliverer.await.unwrap();
    });
}
