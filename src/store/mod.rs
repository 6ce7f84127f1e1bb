//! The durable outbox on redb.
//!
//! sluice acknowledges an ingest request only after its events are in a committed, fsynced
//! transaction, then delivers every event to every destination that takes it, retrying over
//! hours, and moves what cannot be delivered to the dead letters. This module is that storage.
//! `docs/outbox.md` gives the full design: tables, the life of an entry, the numbered
//! invariants that the `keeps invariant N` comments below refer to, the durability of each
//! transaction and what is on disk after a crash between any two steps.
//!
//! # Constraints
//!
//! - [`Outbox::append`] resolves only after its events are in a committed, fsynced transaction.
//!   One writer thread owns every write transaction and commits everything queued on its channel
//!   together (group commit), so throughput comes from batching commits, never from skipping
//!   fsync.
//! - redb's writer is the throughput limit, so each append stores one body for all its events,
//!   and each event adds one small entry per destination.
//! - Outcomes ([`Outbox::complete`]) ride in the next commit and may be non-durable: losing them
//!   in a crash only causes a redelivery.
//! - No operation scans a whole table: leasing reads one destination's due range, and counts
//!   come from counters maintained in the same transactions as the data.
//!
//! # Record layout
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `bodies` | append number (u64) | the events of one append, with an index and a refcount |
//! | `body_refs` | append number (u64) | refcount of a body too large to rewrite (u32) |
//! | `entries` | destination, due ms, event seq | attempts, first failure, last error, or empty |
//! | `dead` | destination, event seq | reason, status, snippet, attempts, times, then the event |
//! | `counters` | destination (u32) | pending entries and dead letters (u64, u64) |
//! | `meta` | name | schema version, next append number, due-time floor, destination ids |
//!
//! Keys of `entries` and `dead` are big-endian u32 and u64 fields compared bytewise, so redb's
//! order is the due order. An event sequence number is its append number shifted left by 20 bits
//! plus its index in the append, so an entry finds its body without a search.
//!
//! # Lifecycle
//!
//! An entry is queued by `append`, leased in memory by `lease`, and then delivered (deleted),
//! rescheduled (moved to a later due time with its attempt count), or given up (moved to the
//! dead letters with the event body). A dead letter can be replayed (queued again, due now,
//! attempts reset) or purged. Leases are never stored, so after a crash every entry that was
//! leased can be leased again.

mod dead;
mod error;
mod keys;
mod read;
mod records;
mod state;
mod writer;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use dead::{DeadLetterDetail, DeadLetterOrder, DeadLetterPage, DeadLetterSummary};
pub use error::{AppendError, DeadLetterError, DiscardError, LeaseError, OpenError, RecordError};
pub use keys::{DeadLetterKey, MAX_APPEND_BYTES, MAX_EVENTS_PER_APPEND};

use state::Shared;
use writer::Command;

/// A destination's numeric id in the outbox, stable across restarts for the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationId(pub u32);

/// Settings for opening the outbox.
#[derive(Debug, Clone)]
pub struct OutboxOptions {
    /// redb's page cache size in bytes; set explicitly because redb's default is 1 GiB.
    pub cache_size_bytes: usize,
    /// Pending entries (over all destinations) above which appends are rejected with
    /// [`AppendError::QuotaExceeded`].
    pub max_pending_entries: u64,
}

impl Default for OutboxOptions {
    /// Returns a 64 MiB cache and a quota of ten million pending entries.
    fn default() -> OutboxOptions {
        OutboxOptions { cache_size_bytes: 64 * 1024 * 1024, max_pending_entries: 10_000_000 }
    }
}

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// The outbox reads it for the due time of new entries and the times stored with failures.
/// Tests pass their own to make the clock jump.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Returns the system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0)
    })
}

/// One event to append: its encoded body and the destinations that take it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The encoded event (see `crate::event::Event::encode`).
    pub body: Vec<u8>,
    /// The destinations that get an entry for this event; a repeated id counts once.
    pub destinations: Vec<DestinationId>,
}

/// Identifies one entry: the event for one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryKey {
    /// The destination the entry belongs to.
    pub destination: DestinationId,
    /// When the entry is due, in milliseconds since the Unix epoch.
    pub due_ms: u64,
    /// The event's sequence number.
    pub event_seq: u64,
}

/// A leased entry, held in memory by a dispatcher until its outcome is recorded.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The entry's key.
    pub key: EntryKey,
    /// The encoded event.
    pub event: bytes::Bytes,
    /// Attempts made before this lease.
    pub attempts: u32,
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub first_failure_ms: Option<u64>,
}

/// The result of an attempt to deliver a leased entry.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Delivered: the entry is removed.
    Delivered,
    /// Failed and to be tried again at `due_ms`; the entry keeps its attempt count plus one.
    Retry {
        /// When to try again, in milliseconds since the Unix epoch.
        due_ms: u64,
        /// A one-line summary of the failure, stored cut to [`MAX_ERROR_BYTES`].
        error: String,
    },
    /// Given up: the entry moves to the dead-letter table.
    Dead(DeadLetter),
}

/// The reason an entry was given up, as stored in the dead-letter table.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The reason the entry was given up.
    pub reason: String,
    /// The last HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// The start of the last response body, stored cut to [`MAX_SNIPPET_BYTES`].
    pub response_snippet: String,
}

/// The maximum stored length of an error summary or a dead-letter reason, in bytes.
pub const MAX_ERROR_BYTES: usize = 512;

/// Entries deleted per transaction by [`Outbox::discard_entries`], so that a large queue holds
/// up appends for one bounded transaction at a time.
const ENTRIES_PER_DISCARD: usize = 1000;

/// The maximum stored length of a response snippet, in bytes.
pub const MAX_SNIPPET_BYTES: usize = 2048;

/// Counters of one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationCounts {
    /// The destination's id.
    pub id: DestinationId,
    /// The destination's name.
    pub name: String,
    /// Entries in the outbox, leased or not.
    pub pending: u64,
    /// Entries leased by a dispatcher now, including those whose outcome awaits its commit.
    pub leased: u64,
    /// Dead letters.
    pub dead: u64,
}

/// A handle to the outbox; cheap to clone.
///
/// Dropping the last handle has the effect of [`Outbox::close`].
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// Commands for the writer thread. Every handle sends; the writer receives. Taking it on
    /// drop disconnects the channel, which makes the writer commit what is queued and stop.
    commands: Option<crossbeam_channel::Sender<Command>>,
    /// The writer thread, joined on drop so the database file is closed when the last handle
    /// goes.
    writer: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.commands.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("outbox writer thread panicked");
        }
    }
}

impl Outbox {
    /// Opens or creates the outbox at `path` and registers the destinations by name.
    ///
    /// A name seen before keeps its id. A destination missing from `destinations` keeps its
    /// entries and dead letters, and its id stays known; a renamed destination is a new one.
    pub fn open(
        path: &Path,
        destinations: &[&str],
        options: OutboxOptions,
    ) -> Result<Outbox, OpenError> {
        Outbox::open_with_clock(path, destinations, options, system_clock())
    }

    /// Opens the outbox like [`Outbox::open`], reading time from `clock`.
    pub fn open_with_clock(
        path: &Path,
        destinations: &[&str],
        options: OutboxOptions,
        clock: Clock,
    ) -> Result<Outbox, OpenError> {
        let (shared, writer_state) = state::open(path, destinations, options, clock)?;
        let shared = Arc::new(shared);
        let (commands, receiver) = crossbeam_channel::unbounded();
        let writer = writer::spawn(Arc::clone(&shared), writer_state, receiver)
            .map_err(OpenError::Thread)?;
        tracing::info!(
            path = %path.display(),
            outbox_pending = shared.pending_total(),
            destinations = shared.destinations().len(),
            "outbox opened"
        );
        Ok(Outbox {
            inner: Arc::new(Inner { shared, commands: Some(commands), writer: Some(writer) }),
        })
    }

    /// Returns the id of a registered destination.
    pub fn destination_id(&self, name: &str) -> Option<DestinationId> {
        self.inner.shared.destination_id(name)
    }

    /// Appends events and resolves once they are committed and fsynced.
    ///
    /// Returns the sequence numbers of the events: `events[i]` gets `range.start + i`. An event
    /// with no destination gets a number but nothing is stored for it, and an append where no
    /// event has a destination resolves at once with an empty range.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Range<u64>, AppendError> {
        let new_entries: usize = events.iter().map(|event| event.destinations.len()).sum();
        if new_entries == 0 {
            return Ok(0..0);
        }
        if events.len() > MAX_EVENTS_PER_APPEND {
            return Err(AppendError::TooManyEvents {
                events: events.len(),
                max: MAX_EVENTS_PER_APPEND,
            });
        }
        let shared = &self.inner.shared;
        let pending = shared.pending_total() + new_entries as u64;
        if pending > shared.quota {
            return Err(AppendError::QuotaExceeded { pending, quota: shared.quota });
        }
        let (reply, receiver) = tokio::sync::oneshot::channel();
        self.send(Command::Append { events, reply }).map_err(|_| AppendError::Closed)?;
        receiver.await.map_err(|_| AppendError::Closed)?
    }

    /// Leases up to `max` entries of `destination` that are due at `now_ms` and not already
    /// leased, oldest due first.
    ///
    /// The read is a blocking redb read transaction, usually served from the page cache. An
    /// entry stays leased until the commit that records its outcome.
    pub fn lease(
        &self,
        destination: DestinationId,
        now_ms: u64,
        max: usize,
    ) -> Result<Vec<Lease>, LeaseError> {
        read::lease(&self.inner.shared, destination, now_ms, max)
    }

    /// Returns the earliest due time of the destination's entries that are not leased.
    ///
    /// A failed read is logged and returns `None`; the next notification or lease retries it.
    pub fn next_due_ms(&self, destination: DestinationId) -> Option<u64> {
        match read::next_due_ms(&self.inner.shared, destination) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(
                    destination = self.inner.shared.destination_name(destination),
                    %error,
                    "reading next due time failed"
                );
                None
            }
        }
    }

    /// Returns a notifier signalled whenever new or rescheduled entries for `destination` are
    /// committed.
    ///
    /// It holds a permit when signalled with no task waiting, so a signal between a dispatcher's
    /// lease and its wait is not lost. An unknown destination gets a notifier never signalled.
    pub fn notifier(&self, destination: DestinationId) -> Arc<tokio::sync::Notify> {
        match self.inner.shared.destination(destination) {
            Some(state) => Arc::clone(&state.notify),
            None => Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Records outcomes for leased entries; they are written with the next commit.
    ///
    /// An outcome for an entry that no longer exists (already completed) is ignored. After
    /// [`Outbox::close`] outcomes are dropped, and the entries are delivered again after restart.
    pub fn complete(&self, outcomes: Vec<(EntryKey, Outcome)>) {
        if outcomes.is_empty() {
            return;
        }
        if self.send(Command::Complete(outcomes)).is_err() {
            tracing::warn!("outbox is closed; outcomes dropped, entries will be delivered again");
        }
    }

    /// Registers destination names while the outbox runs, for a reloaded configuration, and
    /// resolves after the durable commit with the id of each name, in order.
    ///
    /// A name registered before keeps its id. It fails like an append, with `DiskFull`,
    /// `Storage` or `Closed`.
    pub async fn register_destinations(
        &self,
        names: &[&str],
    ) -> Result<Vec<DestinationId>, AppendError> {
        let names = names.iter().map(|name| (*name).to_owned()).collect();
        let (reply, receiver) = tokio::sync::oneshot::channel();
        self.send(Command::Register { names, reply }).map_err(|_| AppendError::Closed)?;
        receiver.await.map_err(|_| AppendError::Closed)?
    }

    /// Deletes every pending entry of `destination` and returns how many were deleted.
    ///
    /// It is meant for a destination that is no longer configured, whose entries would
    /// otherwise count toward the quota for good. It commits every 1,000 entries, so an error
    /// part way leaves the earlier ones deleted. Dead letters are left alone.
    pub async fn discard_entries(&self, destination: DestinationId) -> Result<u64, DiscardError> {
        let mut total = 0;
        loop {
            let (reply, receiver) = tokio::sync::oneshot::channel();
            let command = Command::Discard { destination, max: ENTRIES_PER_DISCARD, reply };
            self.send(command).map_err(|_| DiscardError::Closed)?;
            let discarded = receiver.await.map_err(|_| DiscardError::Closed)??;
            total += discarded;
            if discarded < ENTRIES_PER_DISCARD as u64 {
                return Ok(total);
            }
        }
    }

    /// Returns the number of pending entries over all destinations.
    pub fn pending(&self) -> u64 {
        self.inner.shared.pending_total()
    }

    /// Returns the counters of every destination registered in the file, by id, including
    /// those no longer configured.
    pub fn counts(&self) -> Vec<DestinationCounts> {
        self.inner.shared.counts()
    }

    /// Writes everything queued, including outcomes, in a durable commit and resolves after it.
    pub async fn flush(&self) -> Result<(), AppendError> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        self.send(Command::Flush { reply }).map_err(|_| AppendError::Closed)?;
        receiver.await.map_err(|_| AppendError::Closed)?
    }

    /// Writes outstanding outcomes, stops the writer thread and closes the database.
    ///
    /// Other handles cloned from this one fail with `Closed` afterwards.
    pub fn close(self) {
        let (reply, receiver) = crossbeam_channel::bounded(1);
        if self.send(Command::Close { reply }).is_ok() {
            // The writer replies after its last commit; an error means it has already stopped.
            let _ = receiver.recv();
        }
        self.inner.shared.close_database();
    }

    fn send(&self, command: Command) -> Result<(), crossbeam_channel::SendError<Command>> {
        match &self.inner.commands {
            Some(commands) => commands.send(command),
            None => Err(crossbeam_channel::SendError(command)),
        }
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.inner.shared.path)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}
