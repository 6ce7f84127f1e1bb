//! Errors of the outbox, one enum per operation.

use std::path::PathBuf;

use super::DestinationId;

/// Errors opening the outbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// redb could not open or create the database.
    #[error("cannot open outbox {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: redb::DatabaseError,
    },
    /// Another process has the file open; redb allows one writer process per file.
    #[error(
        "outbox {path} is open in another process. Stop that process or use another state \
         directory"
    )]
    AlreadyOpen {
        /// The database file.
        path: PathBuf,
    },
    /// Reading or initialising the tables failed.
    #[error("cannot read outbox {path}: {message}")]
    Storage {
        /// The database file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The file was written by a newer sluice with another table layout.
    #[error(
        "outbox {path} has schema version {found}, newer than this build reads ({supported}). \
         Run the sluice version that wrote it"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version in the file.
        found: u64,
        /// The schema version this build writes.
        supported: u64,
    },
    /// The writer thread could not be started.
    #[error("cannot start the outbox writer thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Errors appending events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// Too many entries are pending; the client should retry later.
    #[error(
        "appending would bring the outbox to {pending} pending entries, over its quota of {quota}"
    )]
    QuotaExceeded {
        /// Entries pending now, with the ones this append would add.
        pending: u64,
        /// The configured maximum.
        quota: u64,
    },
    /// The disk is full; nothing of this append was stored.
    #[error("outbox disk is full; free space in the state directory")]
    DiskFull,
    /// An event names a destination the outbox does not know.
    #[error("unknown destination id {0}; register it when opening the outbox")]
    UnknownDestination(u32),
    /// The append contains more events than one stored body can index.
    #[error("append holds {events} events, over the maximum of {max} per append")]
    TooManyEvents {
        /// Events in the append.
        events: usize,
        /// The maximum.
        max: usize,
    },
    /// The append's events are larger than one stored body may be.
    #[error("append holds {bytes} bytes of events, over the maximum of {max} per append")]
    TooLarge {
        /// The bytes of event data in the append.
        bytes: usize,
        /// The maximum.
        max: usize,
    },
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
    /// The destination id is not registered.
    #[error("unknown destination id {0}")]
    UnknownDestination(u32),
    /// The outbox has been closed.
    #[error("outbox is closed")]
    Closed,
}

/// Errors of the dead-letter operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeadLetterError {
    /// Reading or writing the outbox failed.
    #[error("dead letter storage failed: {0}")]
    Storage(String),
    /// The destination id is not registered.
    #[error("unknown destination id {0}")]
    UnknownDestination(u32),
    /// No dead letter has this key.
    #[error("no dead letter for destination id {} and event {event_seq}", destination.0)]
    NotFound {
        /// The destination.
        destination: DestinationId,
        /// The event sequence number.
        event_seq: u64,
    },
    /// The disk is full.
    #[error("outbox disk is full; free space in the state directory")]
    DiskFull,
    /// The outbox has been closed.
    #[error("outbox is closed")]
    Closed,
}

/// Errors discarding the pending entries of a destination.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscardError {
    /// Reading or writing the outbox failed.
    #[error("discarding entries failed: {0}")]
    Storage(String),
    /// The destination id is not registered.
    #[error("unknown destination id {0}")]
    UnknownDestination(u32),
    /// The disk is full.
    #[error("outbox disk is full; free space in the state directory")]
    DiskFull,
    /// The outbox has been closed.
    #[error("outbox is closed")]
    Closed,
}

/// Errors decoding a stored record; they mean the file was damaged or written by a newer build.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record ends before its declared length.
    #[error("stored {what} is truncated")]
    Truncated {
        /// The part that is short.
        what: &'static str,
    },
    /// The record was written by a newer format.
    #[error("stored {what} has format version {version}, newer than this build reads")]
    Version {
        /// The kind of record.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// The MessagePack fields do not decode.
    #[error("stored {what} does not decode: {error}")]
    Decode {
        /// The kind of record.
        what: &'static str,
        /// The cause.
        error: rmp_serde::decode::Error,
    },
    /// The body contains fewer events than the sequence number implies.
    #[error("stored body has {count} events, no event at index {index}")]
    MissingEvent {
        /// The index asked for.
        index: usize,
        /// Events in the body.
        count: usize,
    },
    /// The body of an entry is missing.
    #[error("no stored body for append {0}")]
    MissingBody(u64),
    /// Too many events for one body.
    #[error("append holds {events} events, over the maximum per append")]
    TooManyEvents {
        /// Events in the append.
        events: usize,
    },
    /// Too many bytes for one body.
    #[error("append holds {bytes} bytes, over the maximum per append")]
    TooLarge {
        /// Size of the body.
        bytes: usize,
    },
}
