//! The writer thread: the only place that opens write transactions.
//!
//! It waits for a command, drains whatever else is queued (up to [`MAX_VALUES_PER_COMMIT`]) and
//! applies all of it in one transaction, committed once. Only after the commit does it publish
//! counters, release leases, signal dispatchers and reply to the callers (keeps invariants 1
//! and 2).

use std::collections::{HashMap, HashSet};
use std::ops::{Bound, Range};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use redb::{Database, Durability, ReadableTable, Table, WriteTransaction};
use tokio::sync::oneshot;

use super::error::{AppendError, DeadLetterError, DiscardError, RecordError};
use super::keys::{
    DeadLetterKey, MAX_APPEND_BYTES, MAX_EVENTS_PER_APPEND, append_number, event_index, event_seq,
};
use super::records::{
    BODIES, BODY_REFS, BodyView, COUNTERS, DEAD, DeadRecord, ENTRIES, EntryRecord, META,
    META_DESTINATION_PREFIX, META_DUE_FLOOR_MS, META_NEXT_APPEND, META_NEXT_DESTINATION,
    RECORD_VERSION, encode_body, truncate_utf8, with_inline_refcount,
};
use super::state::{Loaded, Shared, load, open_database};
use super::{DestinationId, EntryKey, MAX_ERROR_BYTES, MAX_SNIPPET_BYTES, NewEvent, Outcome};

/// The maximum number of values one transaction writes before the writer commits and replies.
/// It bounds the latency that a large backlog adds to the requests at its front.
const MAX_VALUES_PER_COMMIT: usize = 20_000;

/// How long outcomes may stay in non-durable commits before a durable commit follows.
const NONDURABLE_MAX_AGE: Duration = Duration::from_millis(500);

/// How long the writer waits for reads to release the database when it reopens the file.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

/// A request to the writer thread.
pub(crate) enum Command {
    /// Store events; the reply follows the durable commit.
    Append { events: Vec<NewEvent>, reply: oneshot::Sender<Result<Range<u64>, AppendError>> },
    /// Record outcomes of leased entries; there is no reply.
    Complete(Vec<(EntryKey, Outcome)>),
    /// Move dead letters back to the outbox; the reply carries the new entry keys.
    Replay { selection: Selection, reply: oneshot::Sender<Result<Replayed, DeadLetterError>> },
    /// Delete dead letters; the reply carries the number deleted.
    Purge { selection: Selection, reply: oneshot::Sender<Result<u64, DeadLetterError>> },
    /// Delete up to `max` pending entries of a destination; the reply carries the number deleted.
    Discard {
        destination: DestinationId,
        max: usize,
        reply: oneshot::Sender<Result<u64, DiscardError>>,
    },
    /// Register destination names; the reply carries their ids after the durable commit.
    Register { names: Vec<String>, reply: oneshot::Sender<Result<Vec<DestinationId>, AppendError>> },
    /// Commit durably; the reply follows the commit.
    Flush { reply: oneshot::Sender<Result<(), AppendError>> },
    /// Commit durably, release the database and stop.
    Close { reply: crossbeam_channel::Sender<()> },
}

/// The dead letters that a replay or purge takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selection {
    /// Exactly this one.
    One(DeadLetterKey),
    /// Up to `max` of the destination's, oldest first, after the event sequence `after`.
    Oldest { destination: DestinationId, after: Option<u64>, max: usize },
}

impl Command {
    /// Returns roughly how many values the command writes.
    fn weight(&self) -> usize {
        match self {
            Command::Append { events, .. } => {
                1 + events.iter().map(|event| event.destinations.len()).sum::<usize>()
            }
            Command::Complete(outcomes) => outcomes.len(),
            Command::Replay { selection: Selection::Oldest { max, .. }, .. }
            | Command::Purge { selection: Selection::Oldest { max, .. }, .. }
            | Command::Discard { max, .. } => *max,
            _ => 1,
        }
    }

    /// Returns whether the command needs a durable commit before its reply.
    fn needs_durable_commit(&self) -> bool {
        !matches!(self, Command::Complete(_))
    }
}

/// The writer's view of the persisted state, as of the last commit.
pub(crate) struct WriterState {
    counters: HashMap<DestinationId, (u64, u64)>,
    next_append: u64,
    due_floor_ms: u64,
    next_destination_id: u64,
    /// When the oldest commit not yet followed by a durable one was made.
    nondurable_since: Option<Instant>,
}

impl WriterState {
    pub(crate) fn new(loaded: Loaded) -> WriterState {
        WriterState {
            counters: loaded.counters,
            next_append: loaded.next_append,
            due_floor_ms: loaded.due_floor_ms,
            next_destination_id: loaded.next_destination_id,
            nondurable_since: None,
        }
    }
}

/// Starts the writer thread.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    state: WriterState,
    commands: Receiver<Command>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("outbox-writer".to_owned())
        .spawn(move || run(&shared, state, &commands))
}

fn run(shared: &Shared, mut state: WriterState, commands: &Receiver<Command>) {
    let mut db = shared.database();
    loop {
        let first = match state.nondurable_since {
            Some(since) => {
                match commands.recv_timeout(NONDURABLE_MAX_AGE.saturating_sub(since.elapsed())) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match commands.recv() {
                Ok(command) => Some(command),
                Err(_) => break,
            },
        };
        let mut batch: Vec<Command> = first.into_iter().collect();
        let mut weight: usize = batch.iter().map(Command::weight).sum();
        while weight < MAX_VALUES_PER_COMMIT {
            match commands.try_recv() {
                Ok(command) => {
                    weight += command.weight();
                    batch.push(command);
                }
                Err(_) => break,
            }
        }
        let closing = batch.iter().any(|command| matches!(command, Command::Close { .. }));
        // An empty batch means the wait timed out: outcomes have waited long enough.
        let force_durable = batch.is_empty();
        process(shared, &mut state, &mut db, batch, force_durable);
        if closing {
            return;
        }
    }
    // Every handle is gone: make the outcomes still in non-durable commits durable.
    if state.nondurable_since.is_some() {
        process(shared, &mut state, &mut db, Vec::new(), true);
    }
    close_database(shared, &mut db);
}

/// Commits one batch of commands and replies to them, reopening the database after an I/O error.
fn process(
    shared: &Shared,
    state: &mut WriterState,
    db: &mut Option<Arc<Database>>,
    batch: Vec<Command>,
    force_durable: bool,
) {
    if db.is_none() {
        *db = reopen(shared, state);
    }
    let Some(database) = db.as_ref() else {
        fail_all(shared, batch, &Failure::Unavailable);
        return;
    };
    let durable = force_durable
        || batch.iter().any(Command::needs_durable_commit)
        || state.nondurable_since.is_some_and(|since| since.elapsed() >= NONDURABLE_MAX_AGE);
    let closing = batch.iter().any(|command| matches!(command, Command::Close { .. }));
    let mut scratch = Scratch::new(state);
    let mut answers = Vec::new();
    let mut unapplied = Vec::new();
    let result = database.begin_write().map_err(redb::Error::from).and_then(|txn| {
        apply_and_commit(shared, &mut scratch, txn, batch, durable, &mut answers, &mut unapplied)
    });
    match result {
        Ok(()) => {
            // keeps invariant 1: every reply follows a durable commit (outcomes get no reply).
            debug_assert!(durable || answers.is_empty());
            publish(shared, state, scratch, durable);
            if closing {
                // Release the file before replying, so the caller of close() finds it closed.
                close_database(shared, db);
            }
            for answer in answers {
                answer.send();
            }
        }
        Err(error) => {
            let failure = Failure::from_redb(&error);
            tracing::error!(path = %shared.path.display(), %error, "outbox commit failed");
            // The transaction was dropped without a commit, so every outcome in it is undone:
            // release its leases so the entries are delivered again.
            release_leases(shared, &scratch.unlease, Released::EntriesKept);
            if failure.needs_reopen() {
                shared.set_database(None);
                *db = None;
                if !closing {
                    *db = reopen(shared, state);
                }
            }
            for answer in answers {
                answer.fail(&failure);
            }
            fail_all(shared, unapplied, &failure);
        }
    }
}

/// Drops the writer's handle and closes the database if no read still holds it.
fn close_database(shared: &Shared, db: &mut Option<Arc<Database>>) {
    shared.set_database(None);
    let Some(handle) = db.take() else { return };
    // A read in progress holds a clone; the database then closes when that read drops it.
    if let Ok(handle) = Arc::try_unwrap(handle)
        && let Err(error) = handle.close()
    {
        tracing::error!(path = %shared.path.display(), %error, "closing outbox failed");
    }
}

/// Reopens the database file after an I/O error latched redb's handle, and reloads the state.
fn reopen(shared: &Shared, state: &mut WriterState) -> Option<Arc<Database>> {
    let started = Instant::now();
    loop {
        match open_database(&shared.path, shared.cache_size_bytes) {
            Ok(db) => {
                let db = Arc::new(db);
                match load(&db) {
                    Ok(loaded) => {
                        *state = WriterState::new(loaded);
                        publish_counters(shared, &state.counters);
                        shared.set_database(Some(Arc::clone(&db)));
                        tracing::warn!(path = %shared.path.display(), "outbox reopened");
                        return Some(db);
                    }
                    Err(error) => {
                        tracing::error!(
                            path = %shared.path.display(),
                            %error,
                            "reloading outbox state failed"
                        );
                        return None;
                    }
                }
            }
            // A read still holds the old handle, and with it the file lock.
            Err(error) if started.elapsed() < REOPEN_WAIT => {
                tracing::debug!(%error, "waiting to reopen outbox");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => {
                tracing::error!(%error, "reopening outbox failed");
                return None;
            }
        }
    }
}

/// The cause of a failed batch, as reported to each caller.
enum Failure {
    DiskFull,
    Storage(String),
    Unavailable,
}

impl Failure {
    fn from_redb(error: &redb::Error) -> Failure {
        match error {
            redb::Error::Io(io) if is_disk_full(io) => Failure::DiskFull,
            other => Failure::Storage(other.to_string()),
        }
    }

    /// Returns whether redb's handle is unusable until the file is reopened.
    fn needs_reopen(&self) -> bool {
        !matches!(self, Failure::Unavailable)
    }

    fn append_error(&self) -> AppendError {
        match self {
            Failure::DiskFull => AppendError::DiskFull,
            Failure::Storage(message) => AppendError::Storage(message.clone()),
            Failure::Unavailable => AppendError::Storage("outbox database is not open".to_owned()),
        }
    }

    fn discard_error(&self) -> DiscardError {
        match self {
            Failure::DiskFull => DiscardError::DiskFull,
            Failure::Storage(message) => DiscardError::Storage(message.clone()),
            Failure::Unavailable => DiscardError::Storage("outbox database is not open".to_owned()),
        }
    }

    fn dead_letter_error(&self) -> DeadLetterError {
        match self {
            Failure::DiskFull => DeadLetterError::DiskFull,
            Failure::Storage(message) => DeadLetterError::Storage(message.clone()),
            Failure::Unavailable => {
                DeadLetterError::Storage("outbox database is not open".to_owned())
            }
        }
    }
}

/// Returns whether an I/O error means the file system has no room for the write.
fn is_disk_full(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

/// Replies with `failure` to every command of a batch that was not applied.
fn fail_all(shared: &Shared, batch: Vec<Command>, failure: &Failure) {
    for command in batch {
        match command {
            Command::Append { reply, .. } => {
                let _ = reply.send(Err(failure.append_error()));
            }
            Command::Complete(outcomes) => {
                let keys: Vec<EntryKey> = outcomes.iter().map(|(key, _)| *key).collect();
                release_leases(shared, &keys, Released::EntriesKept);
            }
            Command::Replay { reply, .. } => {
                let _ = reply.send(Err(failure.dead_letter_error()));
            }
            Command::Purge { reply, .. } => {
                let _ = reply.send(Err(failure.dead_letter_error()));
            }
            Command::Discard { reply, .. } => {
                let _ = reply.send(Err(failure.discard_error()));
            }
            Command::Register { reply, .. } => {
                let _ = reply.send(Err(failure.append_error()));
            }
            Command::Flush { reply } => {
                let _ = reply.send(Err(failure.append_error()));
            }
            Command::Close { reply } => {
                let _ = reply.send(());
            }
        }
    }
}

/// A reply to send once the commit has succeeded.
enum Answer {
    Append(oneshot::Sender<Result<Range<u64>, AppendError>>, Range<u64>),
    Replay(oneshot::Sender<Result<Replayed, DeadLetterError>>, Replayed),
    Purge(oneshot::Sender<Result<u64, DeadLetterError>>, u64),
    Discard(oneshot::Sender<Result<u64, DiscardError>>, u64),
    Register(oneshot::Sender<Result<Vec<DestinationId>, AppendError>>, Vec<DestinationId>),
    Flush(oneshot::Sender<Result<(), AppendError>>),
    Close(crossbeam_channel::Sender<()>),
}

impl Answer {
    fn send(self) {
        // A caller that stopped waiting needs no reply.
        match self {
            Answer::Append(reply, range) => drop(reply.send(Ok(range))),
            Answer::Replay(reply, replayed) => drop(reply.send(Ok(replayed))),
            Answer::Purge(reply, count) => drop(reply.send(Ok(count))),
            Answer::Discard(reply, count) => drop(reply.send(Ok(count))),
            Answer::Register(reply, ids) => drop(reply.send(Ok(ids))),
            Answer::Flush(reply) => drop(reply.send(Ok(()))),
            Answer::Close(reply) => drop(reply.send(())),
        }
    }

    fn fail(self, failure: &Failure) {
        match self {
            Answer::Append(reply, _) => drop(reply.send(Err(failure.append_error()))),
            Answer::Replay(reply, _) => drop(reply.send(Err(failure.dead_letter_error()))),
            Answer::Purge(reply, _) => drop(reply.send(Err(failure.dead_letter_error()))),
            Answer::Discard(reply, _) => drop(reply.send(Err(failure.discard_error()))),
            Answer::Register(reply, _) => drop(reply.send(Err(failure.append_error()))),
            Answer::Flush(reply) => drop(reply.send(Err(failure.append_error()))),
            Answer::Close(reply) => drop(reply.send(())),
        }
    }
}

/// Changes of one transaction, published only after its commit.
struct Scratch {
    counters: HashMap<DestinationId, (u64, u64)>,
    touched: HashSet<DestinationId>,
    next_append: u64,
    due_floor_ms: u64,
    meta_changed: bool,
    next_destination_id: u64,
    /// Destinations registered in this transaction, added to the shared registry after it.
    new_destinations: Vec<(String, DestinationId)>,
    /// Entries removed per body in this transaction, applied to the refcounts at the end.
    body_releases: HashMap<u64, u32>,
    notify: HashSet<DestinationId>,
    unlease: Vec<EntryKey>,
    /// The smallest entry key added per destination, to lower the start of its next read.
    lowest_added: HashMap<DestinationId, EntryKey>,
    now_ms: u64,
}

impl Scratch {
    fn new(state: &WriterState) -> Scratch {
        Scratch {
            counters: state.counters.clone(),
            touched: HashSet::new(),
            next_append: state.next_append,
            due_floor_ms: state.due_floor_ms,
            meta_changed: false,
            next_destination_id: state.next_destination_id,
            new_destinations: Vec::new(),
            body_releases: HashMap::new(),
            notify: HashSet::new(),
            unlease: Vec::new(),
            lowest_added: HashMap::new(),
            now_ms: 0,
        }
    }

    fn counter(&mut self, destination: DestinationId) -> &mut (u64, u64) {
        self.touched.insert(destination);
        self.counters.entry(destination).or_insert((0, 0))
    }

    fn pending_total(&self) -> u64 {
        self.counters.values().map(|(pending, _)| pending).sum()
    }

    /// Returns the due time of a new entry: now, or the previous new entry's due time if the
    /// clock went back (keeps invariant 7).
    fn next_due_ms(&mut self) -> u64 {
        let due = self.now_ms.max(self.due_floor_ms);
        debug_assert!(due >= self.due_floor_ms);
        if due != self.due_floor_ms {
            self.due_floor_ms = due;
            self.meta_changed = true;
        }
        due
    }

    /// Hands out the next append number; `finish` stores its successor in the same transaction
    /// as the body (keeps invariant 8).
    fn next_append_number(&mut self) -> u64 {
        let number = self.next_append;
        self.next_append += 1;
        self.meta_changed = true;
        number
    }

    /// Notes a new entry: its destination's dispatcher is signalled after the commit, and its
    /// next read starts no later than `key`.
    fn entry_added(&mut self, key: EntryKey) {
        self.notify.insert(key.destination);
        let lowest = self.lowest_added.entry(key.destination).or_insert(key);
        *lowest = (*lowest).min(key);
    }

    fn release_body(&mut self, event_seq: u64) {
        *self.body_releases.entry(append_number(event_seq)).or_insert(0) += 1;
    }
}

/// The tables one transaction writes.
struct Tables<'txn> {
    meta: Table<'txn, &'static str, u64>,
    bodies: Table<'txn, u64, &'static [u8]>,
    body_refs: Table<'txn, u64, u32>,
    entries: Table<'txn, EntryKey, &'static [u8]>,
    dead: Table<'txn, DeadLetterKey, &'static [u8]>,
    counters: Table<'txn, u32, (u64, u64)>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Tables<'txn>, redb::Error> {
        Ok(Tables {
            meta: txn.open_table(META)?,
            bodies: txn.open_table(BODIES)?,
            body_refs: txn.open_table(BODY_REFS)?,
            entries: txn.open_table(ENTRIES)?,
            dead: txn.open_table(DEAD)?,
            counters: txn.open_table(COUNTERS)?,
        })
    }
}

/// Applies every command to the transaction and commits it.
///
/// Commands rejected before any write (quota, unknown destination, missing dead letter) get
/// their reply at once. Commands applied queue theirs in `answers`, sent after the commit. On an
/// error, commands not yet reached are moved to `unapplied`, so that the caller can fail them.
fn apply_and_commit(
    shared: &Shared,
    scratch: &mut Scratch,
    mut txn: WriteTransaction,
    batch: Vec<Command>,
    durable: bool,
    answers: &mut Vec<Answer>,
    unapplied: &mut Vec<Command>,
) -> Result<(), redb::Error> {
    if !durable {
        // Outcomes alone: losing them in a crash only redelivers (keeps invariant 3).
        txn.set_durability(Durability::None)?;
    }
    scratch.now_ms = (shared.clock)();
    {
        let mut tables = Tables::open(&txn)?;
        let mut commands = batch.into_iter();
        while let Some(command) = commands.next() {
            if let Err(error) = apply(shared, scratch, &mut tables, command, answers) {
                unapplied.extend(commands);
                return Err(error);
            }
        }
        finish(scratch, &mut tables)?;
    }
    txn.commit()?;
    Ok(())
}

/// Applies one command. On a storage error the command's caller is queued in `answers` all the
/// same, so it hears of the failure, and its leases are released with the others.
fn apply(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    command: Command,
    answers: &mut Vec<Answer>,
) -> Result<(), redb::Error> {
    match command {
        Command::Append { events, reply } => match check_append(shared, scratch, &events) {
            Ok(destinations) => {
                let result = apply_append(scratch, tables, &events, &destinations);
                let range = result.as_ref().map_or(0..0, Range::clone);
                answers.push(Answer::Append(reply, range));
                result?;
            }
            Err(error) => drop(reply.send(Err(error))),
        },
        Command::Complete(outcomes) => {
            // Every key is released after this transaction, whether or not it commits.
            scratch.unlease.extend(outcomes.iter().map(|(key, _)| *key));
            for (key, outcome) in outcomes {
                apply_outcome(shared, scratch, tables, key, outcome)?;
            }
        }
        Command::Replay { selection, reply } => match replay(shared, scratch, tables, selection) {
            Ok(Ok(keys)) => answers.push(Answer::Replay(reply, keys)),
            Ok(Err(error)) => drop(reply.send(Err(error))),
            Err(error) => {
                answers.push(Answer::Replay(reply, Replayed::default()));
                return Err(error);
            }
        },
        Command::Purge { selection, reply } => match purge(shared, scratch, tables, selection) {
            Ok(Ok(count)) => answers.push(Answer::Purge(reply, count)),
            Ok(Err(error)) => drop(reply.send(Err(error))),
            Err(error) => {
                answers.push(Answer::Purge(reply, 0));
                return Err(error);
            }
        },
        Command::Discard { destination, max, reply } => {
            match discard(shared, scratch, tables, destination, max) {
                Ok(Ok(count)) => answers.push(Answer::Discard(reply, count)),
                Ok(Err(error)) => drop(reply.send(Err(error))),
                Err(error) => {
                    answers.push(Answer::Discard(reply, 0));
                    return Err(error);
                }
            }
        }
        Command::Register { names, reply } => match register(shared, scratch, tables, &names) {
            Ok(Ok(ids)) => answers.push(Answer::Register(reply, ids)),
            Ok(Err(error)) => drop(reply.send(Err(error))),
            Err(error) => {
                answers.push(Answer::Register(reply, Vec::new()));
                return Err(error);
            }
        },
        Command::Flush { reply } => answers.push(Answer::Flush(reply)),
        Command::Close { reply } => answers.push(Answer::Close(reply)),
    }
    Ok(())
}

/// Assigns ids to the names not registered yet and returns the id of every name, in order.
fn register(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    names: &[String],
) -> Result<Result<Vec<DestinationId>, AppendError>, redb::Error> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let known = shared.destination_id(name).or_else(|| {
            scratch.new_destinations.iter().find(|(new, _)| new == name).map(|(_, id)| *id)
        });
        if let Some(id) = known {
            ids.push(id);
            continue;
        }
        let Ok(id) = u32::try_from(scratch.next_destination_id) else {
            return Ok(Err(AppendError::Storage(format!(
                "cannot register destination {name}: every destination id is in use"
            ))));
        };
        let id = DestinationId(id);
        scratch.next_destination_id += 1;
        tables.meta.insert(format!("{META_DESTINATION_PREFIX}{name}").as_str(), u64::from(id.0))?;
        tables.meta.insert(META_NEXT_DESTINATION, scratch.next_destination_id)?;
        scratch.new_destinations.push((name.clone(), id));
        ids.push(id);
    }
    Ok(Ok(ids))
}

/// Checks an append before anything is written and returns each event's destinations, with
/// repeats removed.
fn check_append(
    shared: &Shared,
    scratch: &Scratch,
    events: &[NewEvent],
) -> Result<Vec<Vec<DestinationId>>, AppendError> {
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(AppendError::TooManyEvents {
            events: events.len(),
            max: MAX_EVENTS_PER_APPEND,
        });
    }
    let bytes: usize = events.iter().map(|event| event.body.len()).sum();
    if bytes > MAX_APPEND_BYTES {
        return Err(AppendError::TooLarge { bytes, max: MAX_APPEND_BYTES });
    }
    let mut all = Vec::with_capacity(events.len());
    let mut new_entries = 0u64;
    for event in events {
        let mut destinations = event.destinations.clone();
        destinations.sort_unstable();
        destinations.dedup();
        if let Some(unknown) = destinations.iter().find(|id| !shared.has_destination(**id)) {
            return Err(AppendError::UnknownDestination(unknown.0));
        }
        new_entries += destinations.len() as u64;
        all.push(destinations);
    }
    if new_entries > u64::from(u32::MAX) {
        // One body's refcount is a u32.
        return Err(AppendError::TooManyEvents {
            events: events.len(),
            max: MAX_EVENTS_PER_APPEND,
        });
    }
    let pending = scratch.pending_total() + new_entries;
    if pending > shared.quota {
        return Err(AppendError::QuotaExceeded { pending, quota: shared.quota });
    }
    Ok(all)
}

fn apply_append(
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    events: &[NewEvent],
    destinations: &[Vec<DestinationId>],
) -> Result<Range<u64>, redb::Error> {
    let refcount: usize = destinations.iter().map(Vec::len).sum();
    let slices: Vec<&[u8]> = events
        .iter()
        .zip(destinations)
        .map(|(event, ids)| if ids.is_empty() { &[][..] } else { event.body.as_slice() })
        .collect();
    // check_append has bounded the entries, events and bytes, so these conversions succeed.
    let refcount = u32::try_from(refcount).map_err(|_| {
        redb::Error::Corrupted(format!("append adds {refcount} entries, over u32::MAX"))
    })?;
    let (body, inline) = match encode_body(&slices, refcount) {
        Ok(encoded) => encoded,
        Err(error) => return Err(redb::Error::Corrupted(error.to_string())),
    };
    let number = scratch.next_append_number();
    let due_ms = scratch.next_due_ms();
    tables.bodies.insert(number, body.as_slice())?;
    if !inline {
        tables.body_refs.insert(number, refcount)?;
    }
    for (index, ids) in destinations.iter().enumerate() {
        let seq = event_seq(number, index);
        for &destination in ids {
            let key = EntryKey { destination, due_ms, event_seq: seq };
            tables.entries.insert(key, &[][..])?;
            scratch.counter(destination).0 += 1;
            scratch.entry_added(key);
        }
    }
    Ok(event_seq(number, 0)..event_seq(number, events.len()))
}

fn apply_outcome(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    key: EntryKey,
    outcome: Outcome,
) -> Result<(), redb::Error> {
    let record = {
        let Some(old) = tables.entries.remove(key)? else {
            // Completed twice, or the entry was already rescheduled: nothing left to change.
            tracing::debug!(
                destination = shared.destination_name(key.destination),
                event_seq = key.event_seq,
                "outcome for an entry no longer pending"
            );
            return Ok(());
        };
        EntryRecord::decode(old.value()).unwrap_or_else(|error| {
            tracing::warn!(
                destination = shared.destination_name(key.destination),
                event_seq = key.event_seq,
                %error,
                "entry record unreadable; attempts reset"
            );
            EntryRecord::fresh()
        })
    };
    let now_ms = scratch.now_ms;
    match outcome {
        Outcome::Delivered => {
            decrement(&mut scratch.counter(key.destination).0);
            scratch.release_body(key.event_seq);
        }
        Outcome::Retry { due_ms, error } => {
            let moved = EntryRecord {
                version: RECORD_VERSION,
                attempts: record.attempts.saturating_add(1),
                first_failure_ms: record.first_failure_ms.or(Some(now_ms)),
                last_error: Some(truncate_utf8(&error, MAX_ERROR_BYTES).to_owned()),
            };
            let new_key = EntryKey { due_ms, ..key };
            tables.entries.insert(new_key, moved.encode().as_slice())?;
            scratch.entry_added(new_key);
        }
        Outcome::Dead(letter) => {
            let event = read_event(&tables.bodies, key.event_seq)?.unwrap_or_else(|error| {
                tracing::error!(
                    destination = shared.destination_name(key.destination),
                    event_seq = key.event_seq,
                    %error,
                    "event body unreadable; dead letter stored without it"
                );
                Vec::new()
            });
            let stored = DeadRecord {
                version: RECORD_VERSION,
                reason: truncate_utf8(&letter.reason, MAX_ERROR_BYTES).to_owned(),
                status: letter.status,
                response_snippet: truncate_utf8(&letter.response_snippet, MAX_SNIPPET_BYTES)
                    .to_owned(),
                attempts: record.attempts.saturating_add(1),
                first_failure_ms: record.first_failure_ms,
                dead_at_ms: now_ms,
                last_error: record.last_error,
            };
            let dead_key = DeadLetterKey { destination: key.destination, event_seq: key.event_seq };
            let replaced = tables.dead.insert(dead_key, stored.encode(&event).as_slice())?;
            let counter = scratch.counter(key.destination);
            decrement(&mut counter.0);
            if replaced.is_none() {
                counter.1 += 1;
            }
            scratch.release_body(key.event_seq);
        }
    }
    Ok(())
}

/// Lowers a counter by one for a row the transaction removed.
fn decrement(counter: &mut u64) {
    // keeps invariant 6: the counter equals the rows it counts, and the transaction has just
    // removed one of them, so it is above zero.
    debug_assert!(*counter > 0, "counter below the rows it counts");
    *counter = counter.saturating_sub(1);
}

/// Copies one event out of its stored body.
fn read_event(
    bodies: &Table<'_, u64, &'static [u8]>,
    event_seq: u64,
) -> Result<Result<Vec<u8>, RecordError>, redb::Error> {
    let number = append_number(event_seq);
    let Some(body) = bodies.get(number)? else {
        return Ok(Err(RecordError::MissingBody(number)));
    };
    Ok(BodyView::parse(body.value())
        .and_then(|view| view.event(event_index(event_seq)))
        .map(<[u8]>::to_vec))
}

/// The result of one replay command.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// The new entries, in the order of the dead letters they came from.
    pub(crate) moved: Vec<EntryKey>,
    /// Dead letters looked at, including unreadable ones left in place.
    pub(crate) examined: usize,
    /// The event sequence of the last dead letter looked at.
    pub(crate) last_examined: Option<u64>,
}

fn replay(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    selection: Selection,
) -> Result<Result<Replayed, DeadLetterError>, redb::Error> {
    let keys = match select(shared, tables, selection)? {
        Ok(keys) => keys,
        Err(error) => return Ok(Err(error)),
    };
    let mut replayed = Replayed {
        moved: Vec::with_capacity(keys.len()),
        examined: keys.len(),
        last_examined: keys.last().map(|key| key.event_seq),
    };
    for dead_key in keys {
        let event = {
            let Some(stored) = tables.dead.get(dead_key)? else { continue };
            match DeadRecord::decode(stored.value()) {
                Ok((_, event)) => event.to_vec(),
                Err(error) if matches!(selection, Selection::One(_)) => {
                    return Ok(Err(DeadLetterError::Storage(format!(
                        "dead letter for destination id {} and event {} is unreadable: {error}",
                        dead_key.destination.0, dead_key.event_seq
                    ))));
                }
                Err(error) => {
                    // Left in place, so the rest of the destination's dead letters still move.
                    tracing::error!(
                        destination = shared.destination_name(dead_key.destination),
                        event_seq = dead_key.event_seq,
                        %error,
                        "dead letter unreadable; not replayed"
                    );
                    continue;
                }
            }
        };
        tables.dead.remove(dead_key)?;
        // The event gets a new append of its own, so its old body can go with its other
        // entries, and a new sequence number.
        let (body, inline) = encode_body(&[event.as_slice()], 1)
            .map_err(|error| redb::Error::Corrupted(error.to_string()))?;
        let number = scratch.next_append_number();
        let due_ms = scratch.next_due_ms();
        tables.bodies.insert(number, body.as_slice())?;
        if !inline {
            tables.body_refs.insert(number, 1)?;
        }
        let key =
            EntryKey { destination: dead_key.destination, due_ms, event_seq: event_seq(number, 0) };
        tables.entries.insert(key, &[][..])?;
        let counter = scratch.counter(dead_key.destination);
        counter.0 += 1;
        decrement(&mut counter.1);
        scratch.entry_added(key);
        replayed.moved.push(key);
    }
    Ok(Ok(replayed))
}

fn purge(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    selection: Selection,
) -> Result<Result<u64, DeadLetterError>, redb::Error> {
    let keys = match select(shared, tables, selection)? {
        Ok(keys) => keys,
        Err(error) => return Ok(Err(error)),
    };
    let mut purged = 0;
    for key in keys {
        if tables.dead.remove(key)?.is_some() {
            decrement(&mut scratch.counter(key.destination).1);
            purged += 1;
        }
    }
    Ok(Ok(purged))
}

/// Deletes up to `max` pending entries of a destination, oldest due first, and releases their
/// bodies. An entry that is leased is deleted all the same: the outcome recorded for it later
/// finds no entry and changes nothing.
fn discard(
    shared: &Shared,
    scratch: &mut Scratch,
    tables: &mut Tables<'_>,
    destination: DestinationId,
    max: usize,
) -> Result<Result<u64, DiscardError>, redb::Error> {
    if !shared.has_destination(destination) {
        return Ok(Err(DiscardError::UnknownDestination(destination.0)));
    }
    // One destination's key range, at most `max` keys (keeps invariant 6).
    let range = EntryKey::first_of(destination)..=EntryKey::last_due_at(destination, u64::MAX);
    let mut keys = Vec::new();
    for item in tables.entries.range(range)?.take(max) {
        let (key, _) = item?;
        keys.push(key.value());
    }
    for key in &keys {
        tables.entries.remove(*key)?;
        decrement(&mut scratch.counter(destination).0);
        scratch.release_body(key.event_seq);
    }
    scratch.unlease.extend(keys.iter().copied());
    Ok(Ok(keys.len() as u64))
}

/// Returns the dead-letter keys a selection names, reading at most `max` keys.
fn select(
    shared: &Shared,
    tables: &Tables<'_>,
    selection: Selection,
) -> Result<Result<Vec<DeadLetterKey>, DeadLetterError>, redb::Error> {
    match selection {
        Selection::One(key) => {
            if !shared.has_destination(key.destination) {
                return Ok(Err(DeadLetterError::UnknownDestination(key.destination.0)));
            }
            if tables.dead.get(key)?.is_none() {
                return Ok(Err(DeadLetterError::NotFound {
                    destination: key.destination,
                    event_seq: key.event_seq,
                }));
            }
            Ok(Ok(vec![key]))
        }
        Selection::Oldest { destination, after, max } => {
            if !shared.has_destination(destination) {
                return Ok(Err(DeadLetterError::UnknownDestination(destination.0)));
            }
            let first = match after {
                Some(seq) => Bound::Excluded(DeadLetterKey { destination, event_seq: seq }),
                None => Bound::Included(DeadLetterKey { destination, event_seq: 0 }),
            };
            let last = Bound::Included(DeadLetterKey { destination, event_seq: u64::MAX });
            let mut keys = Vec::new();
            for item in tables.dead.range((first, last))?.take(max) {
                let (key, _) = item?;
                keys.push(key.value());
            }
            Ok(Ok(keys))
        }
    }
}

/// The change a transaction makes to a body whose entries it released.
enum RefcountChange {
    /// The inline refcount stays above zero: rewrite the small body with the new count.
    Rewrite(Vec<u8>),
    /// The inline refcount reached zero.
    Delete,
    /// The refcount lives in its own table.
    InTable,
}

/// Applies the refcount changes and writes the counters and meta values the transaction changed.
fn finish(scratch: &mut Scratch, tables: &mut Tables<'_>) -> Result<(), redb::Error> {
    for (&number, &released) in &scratch.body_releases {
        let change = {
            let Some(body) = tables.bodies.get(number)? else {
                tracing::error!(append = number, "released entries of a body that is not stored");
                continue;
            };
            match BodyView::parse(body.value()) {
                Ok(view) => match view.inline_refcount() {
                    Some(refcount) => {
                        // keeps invariant 4: the refcount equals the entries still referring
                        // to the body.
                        debug_assert!(refcount >= released, "refcount {refcount} < {released}");
                        match refcount.saturating_sub(released) {
                            0 => RefcountChange::Delete,
                            left => {
                                RefcountChange::Rewrite(with_inline_refcount(body.value(), left))
                            }
                        }
                    }
                    None => RefcountChange::InTable,
                },
                Err(error) => {
                    tracing::error!(
                        append = number,
                        %error,
                        "stored body unreadable; left in place"
                    );
                    continue;
                }
            }
        };
        match change {
            RefcountChange::Rewrite(body) => {
                tables.bodies.insert(number, body.as_slice())?;
            }
            RefcountChange::Delete => {
                tables.bodies.remove(number)?;
            }
            RefcountChange::InTable => {
                let refcount =
                    tables.body_refs.get(number)?.map(|guard| guard.value()).unwrap_or(0);
                // keeps invariant 4
                debug_assert!(refcount >= released, "refcount {refcount} < {released}");
                let left = refcount.saturating_sub(released);
                if left == 0 {
                    tables.bodies.remove(number)?;
                    tables.body_refs.remove(number)?;
                } else {
                    tables.body_refs.insert(number, left)?;
                }
            }
        }
    }
    for destination in &scratch.touched {
        let counts = scratch.counters[destination];
        // keeps invariant 6: counters change in the same transaction as the rows they count.
        tables.counters.insert(destination.0, counts)?;
    }
    if scratch.meta_changed {
        tables.meta.insert(META_NEXT_APPEND, scratch.next_append)?;
        tables.meta.insert(META_DUE_FLOOR_MS, scratch.due_floor_ms)?;
    }
    Ok(())
}

/// Makes a committed transaction visible: counters, leases, notifications.
fn publish(shared: &Shared, state: &mut WriterState, scratch: Scratch, durable: bool) {
    for (name, id) in &scratch.new_destinations {
        shared.add_destination(name.clone(), *id, (0, 0));
        tracing::info!(destination = %name, destination_id = id.0, "destination registered");
    }
    for destination in &scratch.touched {
        let (pending, dead) = scratch.counters[destination];
        if let Some(target) = shared.destination(*destination) {
            target.pending.store(pending, Ordering::Release);
            target.dead.store(dead, Ordering::Release);
        }
    }
    shared.pending_total.store(scratch.pending_total(), Ordering::Release);
    release_leases(shared, &scratch.unlease, Released::AfterCommit);
    // Lowered before the signal, so the dispatcher it wakes reads from the new entries.
    for (destination, key) in &scratch.lowest_added {
        if let Some(target) = shared.destination(*destination) {
            target.leased().lower_to(*key);
        }
    }
    for destination in &scratch.notify {
        if let Some(target) = shared.destination(*destination) {
            target.notify.notify_one();
        }
    }
    state.counters = scratch.counters;
    state.next_destination_id = scratch.next_destination_id;
    state.next_append = scratch.next_append;
    state.due_floor_ms = scratch.due_floor_ms;
    state.nondurable_since =
        if durable { None } else { Some(state.nondurable_since.unwrap_or_else(Instant::now)) };
}

fn publish_counters(shared: &Shared, counters: &HashMap<DestinationId, (u64, u64)>) {
    for (destination, target) in shared.destinations() {
        let (pending, dead) = counters.get(&destination).copied().unwrap_or((0, 0));
        target.pending.store(pending, Ordering::Release);
        target.dead.store(dead, Ordering::Release);
    }
    let total = counters.values().map(|(pending, _)| pending).sum();
    shared.pending_total.store(total, Ordering::Release);
}

/// The state of the entries whose leases are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Released {
    /// The commit that recorded their outcomes removed or moved them.
    AfterCommit,
    /// Their outcomes were not stored (the commit failed), so they are queued again as they
    /// were and the next read must start at or before them.
    EntriesKept,
}

/// Removes keys from the leased sets, after the commit that recorded their outcome or after
/// that commit failed.
fn release_leases(shared: &Shared, keys: &[EntryKey], released: Released) {
    let mut by_destination: HashMap<DestinationId, Vec<EntryKey>> = HashMap::new();
    for key in keys {
        by_destination.entry(key.destination).or_default().push(*key);
    }
    for (destination, keys) in by_destination {
        if let Some(target) = shared.destination(destination) {
            let mut leases = target.leased();
            for key in &keys {
                leases.keys.remove(key);
            }
            if released == Released::EntriesKept
                && let Some(lowest) = keys.iter().min()
            {
                leases.lower_to(*lowest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OutboxOptions, state};

    fn writer_state(due_floor_ms: u64) -> WriterState {
        WriterState::new(Loaded {
            counters: HashMap::new(),
            next_append: 7,
            due_floor_ms,
            next_destination_id: 1,
        })
    }

    #[test]
    fn due_time_holds_floor_when_clock_goes_back() {
        let state = writer_state(1_000);
        let mut scratch = Scratch::new(&state);
        scratch.now_ms = 400;
        assert_eq!(scratch.next_due_ms(), 1_000);
        assert!(!scratch.meta_changed);
        scratch.now_ms = 2_000;
        assert_eq!(scratch.next_due_ms(), 2_000);
        assert_eq!(scratch.due_floor_ms, 2_000);
        assert!(scratch.meta_changed);
        scratch.now_ms = 1_500;
        assert_eq!(scratch.next_due_ms(), 2_000);
    }

    #[test]
    fn append_numbers_continue_from_loaded_state() {
        let state = writer_state(0);
        let mut scratch = Scratch::new(&state);
        assert_eq!(scratch.next_append_number(), 7);
        assert_eq!(scratch.next_append_number(), 8);
        assert_eq!(scratch.next_append, 9);
        assert!(scratch.meta_changed);
    }

    #[test]
    fn body_releases_add_up_per_append() {
        let state = writer_state(0);
        let mut scratch = Scratch::new(&state);
        scratch.release_body(event_seq(3, 0));
        scratch.release_body(event_seq(3, 5));
        scratch.release_body(event_seq(4, 0));
        assert_eq!(scratch.body_releases[&3], 2);
        assert_eq!(scratch.body_releases[&4], 1);
    }

    #[test]
    fn counter_marks_destination_touched() {
        let state = writer_state(0);
        let mut scratch = Scratch::new(&state);
        scratch.counter(DestinationId(2)).0 += 3;
        assert!(scratch.touched.contains(&DestinationId(2)));
        assert_eq!(scratch.pending_total(), 3);
    }

    #[test]
    fn decrement_stops_at_zero_in_release_builds() {
        let mut counter = 2;
        decrement(&mut counter);
        assert_eq!(counter, 1);
    }

    #[test]
    fn full_file_system_errors_are_disk_full() {
        use std::io::{Error, ErrorKind};
        for kind in [ErrorKind::StorageFull, ErrorKind::QuotaExceeded, ErrorKind::FileTooLarge] {
            assert!(is_disk_full(&Error::from(kind)), "{kind:?}");
        }
        assert!(!is_disk_full(&Error::from(ErrorKind::PermissionDenied)));
        let failure = Failure::from_redb(&redb::Error::Io(Error::from(ErrorKind::StorageFull)));
        assert!(matches!(failure.append_error(), AppendError::DiskFull));
    }

    #[test]
    fn only_outcomes_skip_the_durable_commit() {
        let (reply, _receiver) = oneshot::channel();
        let append = Command::Append {
            events: vec![NewEvent { body: vec![1], destinations: vec![DestinationId(1)] }; 3],
            reply,
        };
        assert!(append.needs_durable_commit());
        assert_eq!(append.weight(), 4);
        let complete = Command::Complete(Vec::new());
        assert!(!complete.needs_durable_commit());
    }

    /// Opens a new outbox in `dir` with the single destination `a`.
    fn open_one_destination(dir: &std::path::Path) -> (state::Shared, DestinationId) {
        let options = OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 10 };
        let clock: crate::store::Clock = Arc::new(|| 0);
        let (shared, _) = state::open(&dir.join("o.redb"), &["a"], options, clock).unwrap();
        let a = shared.destination_id("a").unwrap();
        (shared, a)
    }

    #[test]
    fn released_leases_leave_other_keys_leased() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, a) = open_one_destination(dir.path());
        let key = |event_seq| EntryKey { destination: a, due_ms: 1, event_seq };
        let state = shared.destination(a).unwrap();
        state.leased().keys.extend([key(1), key(2), key(3)]);
        release_leases(&shared, &[key(2), key(9)], Released::AfterCommit);
        let leases = state.leased();
        assert!(leases.keys.contains(&key(1)));
        assert!(!leases.keys.contains(&key(2)));
        assert!(leases.keys.contains(&key(3)));
    }

    #[test]
    fn failed_commit_moves_scan_start_back() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, a) = open_one_destination(dir.path());
        let key = |event_seq| EntryKey { destination: a, due_ms: 1, event_seq };
        let state = shared.destination(a).unwrap();
        {
            let mut leases = state.leased();
            leases.keys.extend([key(1), key(2), key(3)]);
            leases.advance_to(key(3));
        }

        release_leases(&shared, &[key(1)], Released::AfterCommit);
        assert_eq!(state.leased().scan_start(a), key(3));
        release_leases(&shared, &[key(2)], Released::EntriesKept);
        assert_eq!(state.leased().scan_start(a), key(2));
    }
}
