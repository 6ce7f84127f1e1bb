//! Outbox throughput: durable appends (every append waits for its fsynced commit) and the
//! lease/complete cycle, on a real redb file in a temporary directory.
//!
//! Run with `cargo bench --bench outbox`. Throughput is reported in events per second. The
//! `redb_baseline` group commits plain redb transactions on the same file system in the same run,
//! so the outbox figures can be read as ratios of what the disk allows at that moment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::store::{DestinationId, NewEvent, Outbox, OutboxOptions, Outcome};

/// Bytes of one encoded event, about the size of an Amplitude SDK event after normalization.
const EVENT_BYTES: usize = 400;
/// Callers appending at once in the single-event benchmark, as concurrent ingest requests.
const SINGLE_EVENT_CALLERS: usize = 64;
/// Callers appending at once in the batch benchmark.
const BATCH_CALLERS: usize = 8;
const BATCH_EVENTS: usize = 100;
/// Entries leased and completed per cycle.
const LEASE_BATCH: usize = 100;
/// Entries a dispatcher holds at most, leased or awaiting the commit of their outcome.
const MAX_IN_FLIGHT: u64 = 1000;

fn options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 64 * 1024 * 1024, max_pending_entries: u64::MAX }
}

fn body(i: usize) -> Vec<u8> {
    let mut body = format!("event {i} ").into_bytes();
    body.resize(EVENT_BYTES, b'x');
    body
}

/// Returns the directory for the database files: `SLUICE_BENCH_DIR` if set, else one under the
/// target directory rather than /tmp, which may be a RAM file system where fsync costs nothing.
/// Pointing `SLUICE_BENCH_DIR` at a RAM file system such as /dev/shm measures the CPU cost alone.
fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("SLUICE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
}

struct Setup {
    _dir: tempfile::TempDir,
    outbox: Outbox,
    destination: DestinationId,
    runtime: tokio::runtime::Runtime,
}

fn open_outbox() -> Setup {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let outbox = Outbox::open(&dir.path().join("outbox.redb"), &["bench"], options()).unwrap();
    let destination = outbox.destination_id("bench").unwrap();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    Setup { _dir: dir, outbox, destination, runtime }
}

/// Appends `total` appends of `events_per_append` events from `callers` tasks and returns the
/// elapsed time.
fn append_concurrently(
    setup: &Setup,
    callers: usize,
    events_per_append: usize,
    total: u64,
) -> Duration {
    let outbox = setup.outbox.clone();
    let destination = setup.destination;
    setup.runtime.block_on(async move {
        let remaining = Arc::new(std::sync::atomic::AtomicU64::new(total));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(callers);
        for _ in 0..callers {
            let outbox = outbox.clone();
            let remaining = Arc::clone(&remaining);
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while remaining
                    .fetch_update(
                        std::sync::atomic::Ordering::AcqRel,
                        std::sync::atomic::Ordering::Acquire,
                        |left| left.checked_sub(1),
                    )
                    .is_ok()
                {
                    let events = (0..events_per_append)
                        .map(|j| NewEvent { body: body(i + j), destinations: vec![destination] })
                        .collect();
                    outbox.append(events).await.unwrap();
                    i += events_per_append;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        started.elapsed()
    })
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("outbox_append");
    group.sample_size(10).measurement_time(Duration::from_secs(10));

    let setup = open_outbox();
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_event_64_callers", |b| {
        b.iter_custom(|iters| append_concurrently(&setup, SINGLE_EVENT_CALLERS, 1, iters))
    });
    drop(setup);

    let setup = open_outbox();
    group.throughput(Throughput::Elements(BATCH_EVENTS as u64));
    group.bench_function("100_events_8_callers", |b| {
        b.iter_custom(|iters| append_concurrently(&setup, BATCH_CALLERS, BATCH_EVENTS, iters))
    });
    drop(setup);

    let setup = open_outbox();
    group.throughput(Throughput::Elements(BATCH_EVENTS as u64));
    group.bench_function("100_events_1_caller", |b| {
        b.iter_custom(|iters| append_concurrently(&setup, 1, BATCH_EVENTS, iters))
    });
    group.finish();
}

/// Leases and delivers entries in cycles of 100, as a dispatcher does, including the writer's
/// commits of the outcomes (the measurement ends with a durable flush).
fn lease_complete(c: &mut Criterion) {
    let mut group = c.benchmark_group("outbox_lease_complete");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(LEASE_BATCH as u64));
    let setup = open_outbox();
    group.bench_function("cycle_of_100", |b| {
        b.iter_custom(|iters| {
            // Fill the queue first, outside the measurement.
            let needed = iters as usize * LEASE_BATCH;
            let mut added = 0;
            while added < needed {
                let count = (needed - added).min(10_000);
                let events = (0..count)
                    .map(|i| NewEvent { body: body(i), destinations: vec![setup.destination] })
                    .collect();
                setup.runtime.block_on(setup.outbox.append(events)).unwrap();
                added += count;
            }
            let started = Instant::now();
            for _ in 0..iters {
                // Wait for the writer, as a dispatcher at its max_in_flight does.
                while setup.outbox.counts()[0].leased + LEASE_BATCH as u64 > MAX_IN_FLIGHT {
                    std::thread::sleep(Duration::from_micros(100));
                }
                let leases = setup.outbox.lease(setup.destination, u64::MAX, LEASE_BATCH).unwrap();
                assert_eq!(leases.len(), LEASE_BATCH);
                let outcomes = leases.iter().map(|lease| (lease.key, Outcome::Delivered)).collect();
                setup.outbox.complete(outcomes);
            }
            setup.runtime.block_on(setup.outbox.flush()).unwrap();
            started.elapsed()
        })
    });
    group.finish();
}

/// Plain redb on the same file system, for ratios: one write transaction per iteration with
/// `values` values of `EVENT_BYTES` and one index row each, committed with fsync. No channel, no
/// outbox layout.
fn redb_baseline(c: &mut Criterion) {
    const DATA: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("data");
    const INDEX: redb::TableDefinition<(u32, u64, u64), ()> = redb::TableDefinition::new("index");
    let mut group = c.benchmark_group("redb_baseline");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for values in [1u64, 100] {
        let dir = tempfile::tempdir_in(bench_dir()).unwrap();
        let db = redb::Database::builder()
            .set_cache_size(64 * 1024 * 1024)
            .create(dir.path().join("baseline.redb"))
            .unwrap();
        let value = body(0);
        let mut next = 0u64;
        group.throughput(Throughput::Elements(values));
        group.bench_function(format!("commit_{values}_values"), |b| {
            b.iter(|| {
                let txn = db.begin_write().unwrap();
                {
                    let mut data = txn.open_table(DATA).unwrap();
                    let mut index = txn.open_table(INDEX).unwrap();
                    for _ in 0..values {
                        data.insert(next, value.as_slice()).unwrap();
                        index.insert((1, next, next), ()).unwrap();
                        next += 1;
                    }
                }
                txn.commit().unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, redb_baseline, appends, lease_complete);
criterion_main!(benches);
