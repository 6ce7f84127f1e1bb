//! The durable outbox on redb.
//!
//! TODO: the implementation lands with the outbox; this file fixes the interface that ingest
//! and dispatch build against.
//!
//! Contract (see `docs/outbox.md` for the full design):
//!
//! - [`Outbox::append`] resolves only after its events are in a committed, fsynced
//!   transaction. One writer thread owns every write transaction and commits everything queued
//!   on its channel together (group commit).
//! - An event body is stored once however many destinations take it; each destination adds a
//!   small entry keyed by (destination, due time, event).
//! - Outcomes ([`Outbox::complete`]) ride in the next commit; losing them in a crash only causes
//!   a redelivery.
//! - No operation scans a whole table; counts come from maintained counters.

use std::path::Path;
use std::sync::Arc;

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

/// One event to append: its encoded body and the destinations that take it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The encoded event (see `crate::event::Event::encode`).
    pub body: Vec<u8>,
    /// The destinations that get an entry for this event.
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

/// What happened to a leased entry.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Delivered: the entry is removed.
    Delivered,
    /// Failed and to be tried again at `due_ms`.
    Retry {
        /// When to try again, in milliseconds since the Unix epoch.
        due_ms: u64,
        /// A one-line summary of the failure.
        error: String,
    },
    /// Given up: the entry moves to the dead-letter table.
    Dead(DeadLetter),
}

/// Why an entry was given up, as stored in the dead-letter table.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Why the entry was given up.
    pub reason: String,
    /// The last HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// The start of the last response body, bounded in size.
    pub response_snippet: String,
}

/// Errors opening the outbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// redb could not open or create the database.
    #[error("cannot open outbox {path}: {source}")]
    Database {
        /// The database file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: redb::DatabaseError,
    },
}

/// Errors appending events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// Too many entries are pending; the client should retry later.
    #[error("outbox holds {pending} pending entries, over its quota of {quota}")]
    QuotaExceeded {
        /// Entries pending now.
        pending: u64,
        /// The configured maximum.
        quota: u64,
    },
    /// The disk is full.
    #[error("outbox disk is full")]
    DiskFull,
    /// The writer stopped (shutdown or a failed commit).
    #[error("outbox writer has stopped")]
    Closed,
    /// The commit failed.
    #[error("outbox commit failed: {0}")]
    Storage(String),
}

/// Errors leasing entries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Reading the outbox failed.
    #[error("reading outbox failed: {0}")]
    Storage(String),
}

/// A handle to the outbox; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<()>,
}

impl Outbox {
    /// Opens or creates the outbox at `path` and registers the destinations by name.
    pub fn open(
        path: &Path,
        destinations: &[&str],
        options: OutboxOptions,
    ) -> Result<Outbox, OpenError> {
        let _ = (path, destinations, options);
        unimplemented!("outbox")
    }

    /// Returns the id of a registered destination.
    pub fn destination_id(&self, name: &str) -> Option<DestinationId> {
        let _ = (name, &self.inner);
        unimplemented!("outbox")
    }

    /// Appends events and resolves once they are committed and fsynced.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<(), AppendError> {
        let _ = events;
        unimplemented!("outbox")
    }

    /// Leases up to `max` entries of `destination` that are due at `now_ms` and not already
    /// leased, oldest due first.
    pub fn lease(
        &self,
        destination: DestinationId,
        now_ms: u64,
        max: usize,
    ) -> Result<Vec<Lease>, LeaseError> {
        let _ = (destination, now_ms, max);
        unimplemented!("outbox")
    }

    /// Returns the earliest due time of the destination's entries that are not leased.
    pub fn next_due_ms(&self, destination: DestinationId) -> Option<u64> {
        let _ = destination;
        unimplemented!("outbox")
    }

    /// Returns a notifier signalled whenever new entries for `destination` are committed.
    pub fn notifier(&self, destination: DestinationId) -> Arc<tokio::sync::Notify> {
        let _ = destination;
        unimplemented!("outbox")
    }

    /// Records outcomes for leased entries; they are written with the next commit.
    pub fn complete(&self, outcomes: Vec<(EntryKey, Outcome)>) {
        let _ = outcomes;
        unimplemented!("outbox")
    }

    /// Returns the number of pending entries over all destinations.
    pub fn pending(&self) -> u64 {
        unimplemented!("outbox")
    }

    /// Writes outstanding outcomes, stops the writer thread and closes the database.
    pub fn close(self) {
        unimplemented!("outbox")
    }
}
