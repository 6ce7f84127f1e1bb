//! The current build reads an outbox file written with schema version 1.
//!
//! `tests/fixtures/outbox/v1.redb` contains two destinations with fresh, rescheduled and large
//! entries and one dead letter, written by the function below. To write it again (only when the
//! format version is raised, keeping the old file under a new name), run
//! `SLUICE_WRITE_OUTBOX_FIXTURE=1 cargo test --test outbox_format`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice::store::{
    DeadLetter, DeadLetterKey, DeadLetterOrder, NewEvent, Outbox, OutboxOptions, Outcome,
};

const WRITE_ENV: &str = "SLUICE_WRITE_OUTBOX_FIXTURE";
const START_MS: u64 = 1_750_000_000_000;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/outbox/v1.redb")
}

fn options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 1000 }
}

fn large_body() -> Vec<u8> {
    let mut body = b"large-".to_vec();
    body.resize(20_000, b'L');
    body
}

/// Writes the fixture, whose contents `version_1_file_opens_and_works` checks.
async fn write_fixture(path: &Path) {
    let clock = Arc::new(|| START_MS);
    let outbox = Outbox::open_with_clock(path, &["billing", "webhook"], options(), clock).unwrap();
    let billing = outbox.destination_id("billing").unwrap();
    let webhook = outbox.destination_id("webhook").unwrap();
    let both = vec![billing, webhook];
    let new = |body: &[u8], destinations: &Vec<_>| NewEvent {
        body: body.to_vec(),
        destinations: Clone::clone(destinations),
    };
    outbox
        .append(vec![new(b"first", &both), new(b"second", &both), new(b"third", &vec![billing])])
        .await
        .unwrap();
    outbox.append(vec![new(&large_body(), &both)]).await.unwrap();

    let leases = outbox.lease(webhook, u64::MAX, 2).unwrap();
    outbox.complete(vec![
        (
            leases[0].key,
            Outcome::Retry { due_ms: START_MS + 60_000, error: "status 503".to_owned() },
        ),
        (
            leases[1].key,
            Outcome::Dead(DeadLetter {
                reason: "status 400".to_owned(),
                status: Some(400),
                response_snippet: "{\"error\":\"invalid\"}".to_owned(),
            }),
        ),
    ]);
    outbox.close();
}

#[tokio::test]
async fn version_1_file_opens_and_works() {
    if std::env::var_os(WRITE_ENV).is_some() {
        let path = fixture_path();
        let _ = std::fs::remove_file(&path);
        write_fixture(&path).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    std::fs::copy(fixture_path(), &path).unwrap();

    let outbox = Outbox::open(&path, &["billing", "webhook"], options()).unwrap();
    let billing = outbox.destination_id("billing").unwrap();
    let webhook = outbox.destination_id("webhook").unwrap();
    let counts = outbox.counts();
    assert_eq!((counts[0].name.as_str(), counts[0].pending, counts[0].dead), ("billing", 4, 0));
    assert_eq!((counts[1].name.as_str(), counts[1].pending, counts[1].dead), ("webhook", 2, 1));

    let leases = outbox.lease(billing, u64::MAX, 10).unwrap();
    let bodies: Vec<&[u8]> = leases.iter().map(|lease| &lease.event[..]).collect();
    assert_eq!(bodies, [&b"first"[..], b"second", b"third", &large_body()]);
    assert!(leases.iter().all(|lease| lease.key.due_ms == START_MS));

    let leases = outbox.lease(webhook, u64::MAX, 10).unwrap();
    assert_eq!(&leases[0].event[..], &large_body()[..]);
    assert_eq!(leases[0].attempts, 0);
    assert_eq!(&leases[1].event[..], b"first");
    assert_eq!(leases[1].key.due_ms, START_MS + 60_000);
    assert_eq!(leases[1].attempts, 1);
    assert_eq!(leases[1].first_failure_ms, Some(START_MS));

    let dead = outbox.dead_letters(webhook, None, DeadLetterOrder::OldestFirst, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "status 400");
    assert_eq!(dead[0].status, Some(400));
    assert_eq!(dead[0].response_snippet, "{\"error\":\"invalid\"}");
    let key = DeadLetterKey { destination: webhook, event_seq: dead[0].key.event_seq };
    assert_eq!(outbox.dead_letter(key).unwrap().event, b"second");

    // The file keeps working: new appends, deliveries and a replay.
    let seqs = outbox
        .append(vec![NewEvent { body: b"fourth".to_vec(), destinations: vec![billing] }])
        .await
        .unwrap();
    assert!(seqs.start > leases[0].key.event_seq);
    let mut outcomes: Vec<_> = leases.iter().map(|lease| (lease.key, Outcome::Delivered)).collect();
    let billing_leases = outbox.lease(billing, u64::MAX, 10).unwrap();
    assert_eq!(&billing_leases[0].event[..], b"fourth");
    outcomes.extend(billing_leases.iter().map(|lease| (lease.key, Outcome::Delivered)));
    outbox.complete(outcomes);
    outbox.replay_dead_letter(key).await.unwrap();
    assert_eq!(&outbox.lease(webhook, u64::MAX, 10).unwrap()[0].event[..], b"second");
    outbox.close();
}
