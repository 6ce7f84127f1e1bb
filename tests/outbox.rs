//! The outbox against real redb files in temporary directories.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};
use sluice::store::{
    AppendError, Clock, DeadLetter, DeadLetterError, DeadLetterKey, DeadLetterOrder, DestinationId,
    EntryKey, NewEvent, Outbox, OutboxOptions, Outcome,
};

const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");

fn options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 4 * 1024 * 1024, max_pending_entries: 1_000_000 }
}

/// A clock the test moves by hand.
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn new(start_ms: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(start_ms)))
    }

    fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || now.load(Ordering::SeqCst))
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        Fixture { _dir: dir, path, clock: ManualClock::new(1_000_000) }
    }

    fn open(&self, destinations: &[&str]) -> Outbox {
        self.open_with(destinations, options())
    }

    fn open_with(&self, destinations: &[&str], options: OutboxOptions) -> Outbox {
        Outbox::open_with_clock(&self.path, destinations, options, self.clock.clock()).unwrap()
    }
}

fn event(body: &str, destinations: &[DestinationId]) -> NewEvent {
    NewEvent { body: body.as_bytes().to_vec(), destinations: destinations.to_vec() }
}

fn bodies_of(leases: &[sluice::store::Lease]) -> Vec<String> {
    leases.iter().map(|lease| String::from_utf8(lease.event.to_vec()).unwrap()).collect()
}

fn stored_bodies(path: &Path) -> u64 {
    let db = redb::Database::builder().set_cache_size(1 << 20).open(path).unwrap();
    let txn = db.begin_read().unwrap();
    txn.open_table(BODIES).unwrap().len().unwrap()
}

fn dead(reason: &str, status: Option<u16>, snippet: &str) -> Outcome {
    Outcome::Dead(DeadLetter {
        reason: reason.to_owned(),
        status,
        response_snippet: snippet.to_owned(),
    })
}

#[tokio::test]
async fn append_then_lease_returns_events_in_due_order() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("one", &[a]), event("two", &[a])]).await.unwrap();
    fixture.clock.set(1_000_010);
    outbox.append(vec![event("three", &[a])]).await.unwrap();

    let leases = outbox.lease(a, 2_000_000, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["one", "two", "three"]);
    assert_eq!(leases[0].key.due_ms, 1_000_000);
    assert_eq!(leases[2].key.due_ms, 1_000_010);
    assert!(leases.iter().all(|lease| lease.attempts == 0 && lease.first_failure_ms.is_none()));
    assert!(leases.windows(2).all(|pair| pair[0].key < pair[1].key));
}

#[tokio::test]
async fn append_returns_one_sequence_number_per_event() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b"]);
    let a = outbox.destination_id("a").unwrap();
    let b = outbox.destination_id("b").unwrap();
    let seqs = outbox
        .append(vec![event("to-a", &[a]), event("nowhere", &[]), event("to-b", &[b])])
        .await
        .unwrap();
    assert_eq!(seqs.end - seqs.start, 3);

    let to_a = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(to_a.len(), 1);
    assert_eq!(to_a[0].key.event_seq, seqs.start);
    let to_b = outbox.lease(b, u64::MAX, 10).unwrap();
    assert_eq!(to_b[0].key.event_seq, seqs.start + 2);
    assert_eq!(bodies_of(&to_b), ["to-b"]);
}

#[tokio::test]
async fn append_without_destinations_stores_nothing() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let seqs = outbox.append(vec![event("nowhere", &[])]).await.unwrap();
    assert!(seqs.is_empty());
    assert_eq!(outbox.pending(), 0);
}

#[tokio::test]
async fn append_rejects_unknown_destination() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let result = outbox.append(vec![event("x", &[DestinationId(99)])]).await;
    assert!(matches!(result, Err(AppendError::UnknownDestination(99))), "{result:?}");
    assert_eq!(outbox.pending(), 0);
}

#[tokio::test]
async fn repeated_destination_gets_one_entry() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a, a])]).await.unwrap();
    assert_eq!(outbox.pending(), 1);
    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    outbox.complete(vec![(leases[0].key, Outcome::Delivered)]);
    outbox.flush().await.unwrap();
    assert_eq!(outbox.pending(), 0);
    outbox.close();
    assert_eq!(stored_bodies(&fixture.path), 0);
}

#[tokio::test]
async fn lease_skips_entries_not_yet_due() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("early", &[a])]).await.unwrap();
    fixture.clock.set(1_005_000);
    outbox.append(vec![event("late", &[a])]).await.unwrap();

    let leases = outbox.lease(a, 1_004_999, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["early"]);
    assert_eq!(outbox.next_due_ms(a), Some(1_005_000));
    assert!(outbox.lease(a, 1_004_999, 10).unwrap().is_empty());
    assert_eq!(bodies_of(&outbox.lease(a, 1_005_000, 10).unwrap()), ["late"]);
}

#[tokio::test]
async fn lease_skips_entries_already_leased() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let events = (0..5).map(|i| event(&format!("e{i}"), &[a])).collect();
    outbox.append(events).await.unwrap();

    let first = outbox.lease(a, u64::MAX, 2).unwrap();
    assert_eq!(bodies_of(&first), ["e0", "e1"]);
    let second = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&second), ["e2", "e3", "e4"]);
    assert!(outbox.lease(a, u64::MAX, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due_ms(a), None);
    let counts = outbox.counts();
    assert_eq!(counts[0].leased, 5);
    assert_eq!(counts[0].pending, 5);
}

#[tokio::test]
async fn lease_skips_completed_entries_before_their_commit() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a]), event("y", &[a])]).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, 1).unwrap();
    outbox.complete(vec![(leases[0].key, Outcome::Delivered)]);
    // Whether or not the writer has committed yet, "x" is never leased again.
    for _ in 0..50 {
        let again = outbox.lease(a, u64::MAX, 10).unwrap();
        assert!(bodies_of(&again).iter().all(|body| body != "x"));
        let keys = again.iter().map(|lease| (lease.key, Outcome::Delivered)).collect();
        outbox.complete(keys);
    }
    outbox.flush().await.unwrap();
    assert_eq!(outbox.pending(), 0);
}

/// A retry due before an entry already leased is still found: leasing starts after the leased
/// keys, and the commit of the retry moves that start back.
#[tokio::test]
async fn lease_finds_retry_due_before_leased_entry() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    fixture.clock.set(1_000_200);
    outbox.append(vec![event("y", &[a])]).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["x", "y"]);

    let retry = Outcome::Retry { due_ms: 1_000_100, error: "status 503".to_owned() };
    outbox.complete(vec![(leases[0].key, retry)]);
    outbox.flush().await.unwrap();

    assert_eq!(outbox.next_due_ms(a), Some(1_000_100));
    let again = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&again), ["x"]);
    assert_eq!(again[0].key.due_ms, 1_000_100);
    assert!(outbox.lease(a, u64::MAX, 10).unwrap().is_empty());
}

/// An append due before a leased retry is still found. This happens when the clock reading of
/// the append is earlier than the `now_ms` of the lease that took the retry.
#[tokio::test]
async fn lease_finds_append_due_before_leased_retry() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 10).unwrap().remove(0);
    let retry = Outcome::Retry { due_ms: 1_000_100, error: "status 503".to_owned() };
    outbox.complete(vec![(lease.key, retry)]);
    outbox.flush().await.unwrap();
    assert_eq!(bodies_of(&outbox.lease(a, 1_000_100, 10).unwrap()), ["x"]);

    fixture.clock.set(1_000_050);
    outbox.append(vec![event("y", &[a])]).await.unwrap();

    assert_eq!(outbox.next_due_ms(a), Some(1_000_050));
    let leases = outbox.lease(a, 1_000_100, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["y"]);
    assert_eq!(leases[0].key.due_ms, 1_000_050);
}

/// Leasing in many small steps returns every entry once, in due order.
#[tokio::test]
async fn repeated_small_leases_return_each_entry_once() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let events = (0..50).map(|i| event(&format!("e{i}"), &[a])).collect();
    outbox.append(events).await.unwrap();

    let mut seen = Vec::new();
    for _ in 0..20 {
        let leases = outbox.lease(a, u64::MAX, 3).unwrap();
        seen.extend(bodies_of(&leases));
        // Deliver every other lease so that released keys and leased keys interleave.
        let delivered = leases.iter().step_by(2).map(|l| (l.key, Outcome::Delivered)).collect();
        outbox.complete(delivered);
    }
    let expected: Vec<String> = (0..50).map(|i| format!("e{i}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(outbox.next_due_ms(a), None);
}

#[tokio::test]
async fn delivered_entry_is_removed() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    outbox.complete(vec![(leases[0].key, Outcome::Delivered)]);
    outbox.flush().await.unwrap();
    assert_eq!(outbox.pending(), 0);
    assert_eq!(outbox.counts()[0].leased, 0);
    assert!(outbox.lease(a, u64::MAX, 10).unwrap().is_empty());
}

#[tokio::test]
async fn reschedule_moves_entry_and_keeps_attempts() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 1).unwrap().remove(0);
    fixture.clock.set(1_000_500);
    let retry = Outcome::Retry { due_ms: 1_060_000, error: "status 503".to_owned() };
    outbox.complete(vec![(lease.key, retry)]);
    outbox.flush().await.unwrap();

    assert!(outbox.lease(a, 1_059_999, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due_ms(a), Some(1_060_000));
    let again = outbox.lease(a, 1_060_000, 10).unwrap().remove(0);
    assert_eq!(again.key.event_seq, lease.key.event_seq);
    assert_eq!(again.key.due_ms, 1_060_000);
    assert_eq!(again.attempts, 1);
    assert_eq!(again.first_failure_ms, Some(1_000_500));
    assert_eq!(&again.event[..], b"x");

    fixture.clock.set(1_070_000);
    let retry = Outcome::Retry { due_ms: 1_200_000, error: "timed out".to_owned() };
    outbox.complete(vec![(again.key, retry)]);
    outbox.flush().await.unwrap();
    let third = outbox.lease(a, u64::MAX, 10).unwrap().remove(0);
    assert_eq!(third.attempts, 2);
    assert_eq!(third.first_failure_ms, Some(1_000_500));
    assert_eq!(outbox.pending(), 1);
}

#[tokio::test]
async fn outcome_for_missing_entry_changes_nothing() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 1).unwrap().remove(0);
    outbox.complete(vec![(lease.key, Outcome::Delivered), (lease.key, Outcome::Delivered)]);
    let stranger = EntryKey { destination: a, due_ms: 5, event_seq: 12345 };
    outbox.complete(vec![(stranger, dead("gone", None, ""))]);
    outbox.flush().await.unwrap();
    let counts = outbox.counts();
    assert_eq!(counts[0].pending, 0);
    assert_eq!(counts[0].dead, 0);
}

#[tokio::test]
async fn dead_letter_stores_reason_status_and_snippet() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("payload", &[a])]).await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 1).unwrap().remove(0);
    fixture.clock.set(1_000_100);
    outbox.complete(vec![(lease.key, Outcome::Retry { due_ms: 0, error: "status 500".into() })]);
    outbox.flush().await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 1).unwrap().remove(0);
    fixture.clock.set(1_000_200);
    outbox.complete(vec![(lease.key, dead("status 400", Some(400), "{\"error\":\"bad\"}"))]);
    outbox.flush().await.unwrap();

    let counts = outbox.counts();
    assert_eq!(counts[0].pending, 0);
    assert_eq!(counts[0].dead, 1);
    let listed = outbox.dead_letters(a, None, DeadLetterOrder::OldestFirst, 10).unwrap();
    assert_eq!(listed.len(), 1);
    let letter = &listed[0];
    assert_eq!(letter.key, DeadLetterKey { destination: a, event_seq: lease.key.event_seq });
    assert_eq!(letter.reason, "status 400");
    assert_eq!(letter.status, Some(400));
    assert_eq!(letter.response_snippet, "{\"error\":\"bad\"}");
    assert_eq!(letter.attempts, 2);
    assert_eq!(letter.first_failure_ms, Some(1_000_100));
    assert_eq!(letter.dead_at_ms, 1_000_200);
    assert_eq!(letter.last_error.as_deref(), Some("status 500"));
    assert_eq!(letter.event_bytes, 7);

    let detail = outbox.dead_letter(letter.key).unwrap();
    assert_eq!(detail.event, b"payload");
    assert_eq!(&detail.summary, letter);
}

#[tokio::test]
async fn dead_letter_snippet_is_bounded() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    let lease = outbox.lease(a, u64::MAX, 1).unwrap().remove(0);
    let snippet = "é".repeat(10_000);
    outbox.complete(vec![(lease.key, dead("status 400", Some(400), &snippet))]);
    outbox.flush().await.unwrap();
    let listed = outbox.dead_letters(a, None, DeadLetterOrder::OldestFirst, 10).unwrap();
    let stored = &listed[0].response_snippet;
    assert!(stored.len() <= sluice::store::MAX_SNIPPET_BYTES);
    assert!(snippet.starts_with(stored.as_str()));
}

/// Dead-letters every event of `bodies` for destination `a` and returns their keys.
async fn make_dead_letters(
    outbox: &Outbox,
    a: DestinationId,
    bodies: &[&str],
) -> Vec<DeadLetterKey> {
    let events = bodies.iter().map(|body| event(body, &[a])).collect();
    outbox.append(events).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, bodies.len()).unwrap();
    let outcomes =
        leases.iter().map(|lease| (lease.key, dead("status 422", Some(422), ""))).collect();
    outbox.complete(outcomes);
    outbox.flush().await.unwrap();
    leases
        .iter()
        .map(|lease| DeadLetterKey { destination: a, event_seq: lease.key.event_seq })
        .collect()
}

#[tokio::test]
async fn dead_letters_page_by_key_in_both_orders() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let keys = make_dead_letters(&outbox, a, &["d0", "d1", "d2", "d3", "d4"]).await;

    let page1 = outbox.dead_letters(a, None, DeadLetterOrder::OldestFirst, 2).unwrap();
    let page2 = outbox
        .dead_letters(a, Some(page1[1].key.event_seq), DeadLetterOrder::OldestFirst, 2)
        .unwrap();
    let page3 = outbox
        .dead_letters(a, Some(page2[1].key.event_seq), DeadLetterOrder::OldestFirst, 2)
        .unwrap();
    let oldest: Vec<_> = [page1, page2, page3].concat().iter().map(|d| d.key).collect();
    assert_eq!(oldest, keys);

    let newest = outbox.dead_letters(a, None, DeadLetterOrder::NewestFirst, 2).unwrap();
    assert_eq!(newest[0].key, keys[4]);
    assert_eq!(newest[1].key, keys[3]);
    let next = outbox
        .dead_letters(a, Some(newest[1].key.event_seq), DeadLetterOrder::NewestFirst, 10)
        .unwrap();
    let next: Vec<_> = next.iter().map(|d| d.key).collect();
    assert_eq!(next, [keys[2], keys[1], keys[0]]);
}

#[tokio::test]
async fn replay_moves_dead_letter_back_due_now() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let keys = make_dead_letters(&outbox, a, &["again"]).await;
    fixture.clock.set(2_000_000);
    let replayed = outbox.replay_dead_letter(keys[0]).await.unwrap();
    assert_eq!(replayed.due_ms, 2_000_000);
    assert_ne!(replayed.event_seq, keys[0].event_seq);

    let counts = outbox.counts();
    assert_eq!(counts[0].dead, 0);
    assert_eq!(counts[0].pending, 1);
    let lease = outbox.lease(a, 2_000_000, 10).unwrap().remove(0);
    assert_eq!(lease.key, replayed);
    assert_eq!(lease.attempts, 0);
    assert_eq!(lease.first_failure_ms, None);
    assert_eq!(&lease.event[..], b"again");
    let missing = outbox.replay_dead_letter(keys[0]).await;
    assert!(matches!(missing, Err(DeadLetterError::NotFound { .. })), "{missing:?}");
}

#[tokio::test]
async fn replay_all_moves_every_dead_letter() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b"]);
    let a = outbox.destination_id("a").unwrap();
    let b = outbox.destination_id("b").unwrap();
    make_dead_letters(&outbox, a, &["a0", "a1", "a2"]).await;
    make_dead_letters(&outbox, b, &["b0"]).await;
    assert_eq!(outbox.replay_dead_letters(a).await.unwrap(), 3);
    assert_eq!(bodies_of(&outbox.lease(a, u64::MAX, 10).unwrap()), ["a0", "a1", "a2"]);
    let counts = outbox.counts();
    assert_eq!((counts[0].pending, counts[0].dead), (3, 0));
    assert_eq!((counts[1].pending, counts[1].dead), (0, 1));
}

#[tokio::test]
async fn purge_deletes_one_or_all_dead_letters() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let keys = make_dead_letters(&outbox, a, &["p0", "p1", "p2"]).await;
    outbox.purge_dead_letter(keys[1]).await.unwrap();
    assert_eq!(outbox.counts()[0].dead, 2);
    let missing = outbox.dead_letter(keys[1]);
    assert!(matches!(missing, Err(DeadLetterError::NotFound { .. })), "{missing:?}");
    assert_eq!(outbox.purge_dead_letters(a).await.unwrap(), 2);
    assert_eq!(outbox.counts()[0].dead, 0);
    assert!(outbox.dead_letters(a, None, DeadLetterOrder::OldestFirst, 10).unwrap().is_empty());
    outbox.close();
    assert_eq!(stored_bodies(&fixture.path), 0);
}

#[tokio::test]
async fn body_is_deleted_after_last_destination() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b", "c"]);
    let ids: Vec<_> = ["a", "b", "c"].iter().map(|n| outbox.destination_id(n).unwrap()).collect();
    outbox.append(vec![event("shared", &ids), event("only-a", &ids[..1])]).await.unwrap();
    outbox.flush().await.unwrap();

    let a = outbox.lease(ids[0], u64::MAX, 10).unwrap();
    let outcomes = a.iter().map(|lease| (lease.key, Outcome::Delivered)).collect();
    outbox.complete(outcomes);
    let b = outbox.lease(ids[1], u64::MAX, 10).unwrap();
    outbox.complete(vec![(b[0].key, dead("status 404", Some(404), ""))]);
    outbox.flush().await.unwrap();
    outbox.close();
    assert_eq!(stored_bodies(&fixture.path), 1, "c still holds the body");

    let outbox = fixture.open(&["a", "b", "c"]);
    let c = outbox.lease(ids[2], u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&c), ["shared"]);
    outbox.complete(vec![(c[0].key, Outcome::Delivered)]);
    outbox.flush().await.unwrap();
    // The dead letter keeps its own copy of the event.
    let dead_key = DeadLetterKey { destination: ids[1], event_seq: b[0].key.event_seq };
    assert_eq!(outbox.dead_letter(dead_key).unwrap().event, b"shared");
    outbox.close();
    assert_eq!(stored_bodies(&fixture.path), 0);
}

#[tokio::test]
async fn large_body_is_deleted_after_last_destination() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b"]);
    let a = outbox.destination_id("a").unwrap();
    let b = outbox.destination_id("b").unwrap();
    let big = "x".repeat(40_000);
    let events = (0..3).map(|i| event(&format!("{i}{big}"), &[a, b])).collect();
    outbox.append(events).await.unwrap();

    for destination in [a, b] {
        let leases = outbox.lease(destination, u64::MAX, 10).unwrap();
        assert_eq!(leases.len(), 3);
        assert!(leases[2].event.starts_with(b"2x"));
        let outcomes = leases.iter().map(|lease| (lease.key, Outcome::Delivered)).collect();
        outbox.complete(outcomes);
        outbox.flush().await.unwrap();
    }
    outbox.close();
    assert_eq!(stored_bodies(&fixture.path), 0);
}

#[tokio::test]
async fn counters_survive_reopen() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b"]);
    let a = outbox.destination_id("a").unwrap();
    let b = outbox.destination_id("b").unwrap();
    outbox.append((0..4).map(|i| event(&format!("{i}"), &[a, b])).collect()).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, 2).unwrap();
    outbox.complete(vec![
        (leases[0].key, Outcome::Delivered),
        (leases[1].key, dead("status 400", Some(400), "")),
    ]);
    outbox.close();

    let outbox = fixture.open(&["a", "b"]);
    let counts = outbox.counts();
    assert_eq!(counts[0].name, "a");
    assert_eq!((counts[0].pending, counts[0].leased, counts[0].dead), (2, 0, 1));
    assert_eq!((counts[1].pending, counts[1].leased, counts[1].dead), (4, 0, 0));
    assert_eq!(outbox.pending(), 6);
}

#[tokio::test]
async fn removed_destination_keeps_id_and_data() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a", "b"]);
    let b = outbox.destination_id("b").unwrap();
    outbox.append(vec![event("kept", &[b])]).await.unwrap();
    outbox.close();

    let outbox = fixture.open(&["c", "a"]);
    assert_eq!(outbox.destination_id("b"), Some(b));
    let c = outbox.destination_id("c").unwrap();
    assert_ne!(c, b);
    assert_ne!(Some(c), outbox.destination_id("a"));
    let names: Vec<_> = outbox.counts().into_iter().map(|count| count.name).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(bodies_of(&outbox.lease(b, u64::MAX, 10).unwrap()), ["kept"]);
}

#[tokio::test]
async fn due_times_never_go_backwards_when_clock_does() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    fixture.clock.set(5_000_000);
    outbox.append(vec![event("first", &[a])]).await.unwrap();
    fixture.clock.set(4_000_000);
    outbox.append(vec![event("second", &[a])]).await.unwrap();
    outbox.close();

    fixture.clock.set(3_000_000);
    let outbox = fixture.open(&["a"]);
    outbox.append(vec![event("third", &[a])]).await.unwrap();
    fixture.clock.set(6_000_000);
    outbox.append(vec![event("fourth", &[a])]).await.unwrap();

    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["first", "second", "third", "fourth"]);
    let dues: Vec<u64> = leases.iter().map(|lease| lease.key.due_ms).collect();
    assert_eq!(dues, [5_000_000, 5_000_000, 5_000_000, 6_000_000]);
}

#[tokio::test]
async fn quota_rejects_appends_over_it() {
    let fixture = Fixture::new();
    let outbox = fixture.open_with(
        &["a", "b"],
        OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 3 },
    );
    let a = outbox.destination_id("a").unwrap();
    let b = outbox.destination_id("b").unwrap();
    outbox.append(vec![event("x", &[a, b])]).await.unwrap();
    let over = outbox.append(vec![event("y", &[a, b])]).await;
    assert!(matches!(over, Err(AppendError::QuotaExceeded { pending: 4, quota: 3 })), "{over:?}");
    assert_eq!(outbox.pending(), 2);
    outbox.append(vec![event("z", &[a])]).await.unwrap();
    assert_eq!(outbox.pending(), 3);

    // Delivering frees room; what was acknowledged is untouched.
    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    assert_eq!(bodies_of(&leases), ["x", "z"]);
    outbox.complete(vec![(leases[0].key, Outcome::Delivered)]);
    outbox.flush().await.unwrap();
    outbox.append(vec![event("w", &[b])]).await.unwrap();
    assert_eq!(bodies_of(&outbox.lease(b, u64::MAX, 10).unwrap()), ["x", "w"]);
}

#[tokio::test]
async fn concurrent_appends_are_all_stored() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let mut tasks = Vec::new();
    for task in 0..20 {
        let outbox = outbox.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                outbox.append(vec![event(&format!("{task}-{i}"), &[a])]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(outbox.pending(), 200);
    let leases = outbox.lease(a, u64::MAX, 1000).unwrap();
    let mut bodies = bodies_of(&leases);
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 200);
}

#[tokio::test]
async fn notifier_signals_new_entries() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let notify = outbox.notifier(a);
    outbox.append(vec![event("x", &[a])]).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), notify.notified())
        .await
        .expect("notified after append");
}

#[tokio::test]
async fn close_writes_outstanding_outcomes() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("x", &[a]), event("y", &[a])]).await.unwrap();
    let leases = outbox.lease(a, u64::MAX, 10).unwrap();
    outbox.complete(vec![(leases[0].key, Outcome::Delivered)]);
    outbox.close();

    let outbox = fixture.open(&["a"]);
    assert_eq!(outbox.pending(), 1);
    assert_eq!(bodies_of(&outbox.lease(a, u64::MAX, 10).unwrap()), ["y"]);
}

#[tokio::test]
async fn closed_outbox_rejects_appends() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let other = outbox.clone();
    outbox.close();
    let result = other.append(vec![event("x", &[a])]).await;
    assert!(matches!(result, Err(AppendError::Closed)), "{result:?}");
    assert!(matches!(other.lease(a, u64::MAX, 1), Err(sluice::store::LeaseError::Closed)));
}

#[tokio::test]
async fn newer_schema_is_rejected() {
    let fixture = Fixture::new();
    fixture.open(&["a"]).close();
    {
        let db = redb::Database::create(&fixture.path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 99)
            .unwrap();
        txn.commit().unwrap();
    }
    let error = Outbox::open(&fixture.path, &["a"], options()).unwrap_err();
    assert!(matches!(error, sluice::store::OpenError::NewerSchema { found: 99, .. }), "{error}");
}

#[tokio::test]
async fn uncommitted_transaction_leaves_no_trace() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    outbox.append(vec![event("kept", &[a])]).await.unwrap();
    outbox.close();
    {
        let db = redb::Database::create(&fixture.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut entries =
                txn.open_table(TableDefinition::<EntryKey, &[u8]>::new("entries")).unwrap();
            entries
                .insert(EntryKey { destination: a, due_ms: 1, event_seq: 999 }, &[][..])
                .unwrap();
            let mut counters =
                txn.open_table(TableDefinition::<u32, (u64, u64)>::new("counters")).unwrap();
            counters.insert(a.0, (100, 100)).unwrap();
        }
        // Dropped without a commit, as when the process stops inside a transaction.
        drop(txn);
    }
    let outbox = fixture.open(&["a"]);
    let counts = outbox.counts();
    assert_eq!((counts[0].pending, counts[0].dead), (1, 0));
    assert_eq!(bodies_of(&outbox.lease(a, u64::MAX, 10).unwrap()), ["kept"]);
}

#[test]
fn dropping_handles_mid_append_keeps_acknowledged_events() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for task in 0..8 {
        let outbox = outbox.clone();
        let acknowledged = Arc::clone(&acknowledged);
        runtime.spawn(async move {
            for i in 0.. {
                let body = format!("{task}-{i}");
                outbox.append(vec![event(&body, &[a])]).await.unwrap();
                acknowledged.lock().unwrap().push(body);
            }
        });
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Cancels every task inside its append, dropping the handles they hold.
    drop(runtime);
    drop(outbox);

    let outbox = fixture.open(&["a"]);
    let leases = outbox.lease(a, u64::MAX, usize::MAX).unwrap();
    assert_eq!(outbox.pending(), leases.len() as u64);
    let present: std::collections::HashSet<String> = bodies_of(&leases).into_iter().collect();
    let acknowledged = acknowledged.lock().unwrap();
    assert!(!acknowledged.is_empty());
    for body in acknowledged.iter() {
        assert!(present.contains(body), "acknowledged event {body} is lost");
    }
}

#[tokio::test]
async fn destinations_register_while_running() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let ids = outbox.register_destinations(&["b", "a", "c", "b"]).await.unwrap();
    assert_eq!(ids[1], a);
    assert_eq!(ids[0], ids[3]);
    assert_ne!(ids[0], ids[2]);
    assert_ne!(ids[0], a);
    let b = outbox.destination_id("b").unwrap();
    assert_eq!(b, ids[0]);

    let notify = outbox.notifier(b);
    outbox.append(vec![event("for-b", &[b])]).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), notify.notified())
        .await
        .expect("notified after append");
    assert_eq!(bodies_of(&outbox.lease(b, u64::MAX, 10).unwrap()), ["for-b"]);
    outbox.close();

    let outbox = fixture.open(&["a"]);
    assert_eq!(outbox.destination_id("b"), Some(b));
    assert_eq!(outbox.destination_id("c"), Some(ids[2]));
    assert_eq!(outbox.counts().len(), 3);
    assert_eq!(outbox.counts()[1].pending, 1);
}

#[test]
fn second_open_of_same_file_is_rejected() {
    let fixture = Fixture::new();
    let _outbox = fixture.open(&["a"]);
    let error = Outbox::open(&fixture.path, &["a"], options()).unwrap_err();
    assert!(matches!(error, sluice::store::OpenError::AlreadyOpen { .. }), "{error}");
    assert!(error.to_string().contains("open in another process"), "{error}");
}

#[tokio::test]
async fn unreadable_dead_letter_is_reported_and_passed() {
    let fixture = Fixture::new();
    let outbox = fixture.open(&["a"]);
    let a = outbox.destination_id("a").unwrap();
    let bodies: Vec<String> = (0..1203).map(|i| format!("d{i}")).collect();
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let keys = make_dead_letters(&outbox, a, &bodies).await;
    outbox.close();
    {
        let db = redb::Database::create(&fixture.path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<DeadLetterKey, &[u8]>::new("dead"))
            .unwrap()
            .insert(keys[5], &b"\xc1 not a record"[..])
            .unwrap();
        txn.commit().unwrap();
    }

    let outbox = fixture.open(&["a"]);
    let page = outbox.dead_letter_page(a, None, DeadLetterOrder::OldestFirst, 10).unwrap();
    assert_eq!(page.letters.len(), 9);
    assert_eq!(page.unreadable.len(), 1);
    assert_eq!(page.unreadable[0].0, keys[5]);
    let listed = outbox.dead_letters(a, None, DeadLetterOrder::OldestFirst, 10).unwrap();
    assert_eq!(listed.len(), 9);
    let unreadable = outbox.replay_dead_letter(keys[5]).await;
    assert!(matches!(unreadable, Err(DeadLetterError::Storage(_))), "{unreadable:?}");
    assert_eq!(outbox.replay_dead_letters(a).await.unwrap(), 1202);
    let counts = outbox.counts();
    assert_eq!((counts[0].pending, counts[0].dead), (1202, 1));
    assert_eq!(outbox.purge_dead_letters(a).await.unwrap(), 1);
    assert_eq!(outbox.counts()[0].dead, 0);
}
