//! State shared by the handles and the writer thread, and opening the database.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable};

use super::error::OpenError;
use super::records::{
    BODIES, BODY_REFS, COUNTERS, DEAD, ENTRIES, META, META_DESTINATION_PREFIX, META_DUE_FLOOR_MS,
    META_NEXT_APPEND, META_NEXT_DESTINATION, META_SCHEMA_VERSION, SCHEMA_VERSION,
};
use super::writer::WriterState;
use super::{Clock, DestinationCounts, DestinationId, EntryKey, OutboxOptions};

/// State shared by the handles and the writer thread.
pub(crate) struct Shared {
    /// The database file.
    pub(crate) path: PathBuf,
    /// The open database; `None` once closed, or while the writer reopens it after an I/O error.
    pub(crate) db: RwLock<Option<Arc<Database>>>,
    /// Every destination registered in the file, configured or not. The writer adds to it after
    /// the commit that registers a new name; nothing removes from it.
    registry: RwLock<Registry>,
    /// Pending entries over all destinations, as of the last commit.
    pub(crate) pending_total: AtomicU64,
    /// The quota of pending entries.
    pub(crate) quota: u64,
    /// The source of time.
    pub(crate) clock: Clock,
    /// redb's cache size, kept to reopen the database after an I/O error.
    pub(crate) cache_size_bytes: usize,
}

/// The destinations by id and by name.
#[derive(Default)]
struct Registry {
    by_id: HashMap<DestinationId, Arc<DestinationState>>,
    by_name: HashMap<String, DestinationId>,
}

/// The in-memory state of one destination.
pub(crate) struct DestinationState {
    pub(crate) name: String,
    /// Signalled by the writer after a commit that adds entries for this destination.
    pub(crate) notify: Arc<tokio::sync::Notify>,
    /// The keys leased by the dispatcher and where the next read of the queue starts.
    pub(crate) leased: Mutex<Leases>,
    /// Pending entries as of the last commit.
    pub(crate) pending: AtomicU64,
    /// Dead letters as of the last commit.
    pub(crate) dead: AtomicU64,
}

impl DestinationState {
    fn new(name: String, (pending, dead): (u64, u64)) -> DestinationState {
        DestinationState {
            name,
            notify: Arc::new(tokio::sync::Notify::new()),
            leased: Mutex::new(Leases::default()),
            pending: AtomicU64::new(pending),
            dead: AtomicU64::new(dead),
        }
    }

    /// Locks the leases; a panic elsewhere never leaves them inconsistent, because every change
    /// is a single insert, remove or assignment.
    pub(crate) fn leased(&self) -> MutexGuard<'_, Leases> {
        self.leased.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The leases of one destination.
///
/// Leasing takes the oldest due entries first, so the leased keys are mostly the first keys of
/// the destination's range. `scan_from` lets reads start after them instead of passing over
/// every leased key on each lease (keeps invariant 6).
#[derive(Debug, Default)]
pub(crate) struct Leases {
    /// Keys leased by the dispatcher, kept until the commit that records their outcome, so
    /// leasing skips them.
    pub(crate) keys: HashSet<EntryKey>,
    /// A key such that every entry of the destination with a smaller key is in `keys`; `None`
    /// means the start of the range. Reads raise it to the last key they passed over, and
    /// the writer lowers it after each commit that adds an entry below it, and after a failed
    /// commit whose leases are released while their entries remain.
    scan_from: Option<EntryKey>,
}

impl Leases {
    /// Returns the key where a read of `destination`'s queue starts.
    pub(crate) fn scan_start(&self, destination: DestinationId) -> EntryKey {
        self.scan_from.unwrap_or_else(|| EntryKey::first_of(destination))
    }

    /// Records that every entry with a key below `key` is leased.
    ///
    /// The caller holds the lock from before its snapshot, so no commit published in between
    /// has lowered the start below an entry the read did not see.
    pub(crate) fn advance_to(&mut self, key: EntryKey) {
        debug_assert!(self.scan_from.is_none_or(|from| from <= key));
        self.scan_from = Some(key);
    }

    /// Makes the next read start at or before `key`, an entry that is not leased.
    pub(crate) fn lower_to(&mut self, key: EntryKey) {
        if self.scan_from.is_some_and(|from| key < from) {
            self.scan_from = Some(key);
        }
    }
}

impl Shared {
    /// Returns the open database, or `None` after close.
    pub(crate) fn database(&self) -> Option<Arc<Database>> {
        self.db.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the open database.
    pub(crate) fn set_database(&self, db: Option<Arc<Database>>) {
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = db;
    }

    fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the state of a registered destination.
    pub(crate) fn destination(&self, id: DestinationId) -> Option<Arc<DestinationState>> {
        self.registry().by_id.get(&id).cloned()
    }

    /// Returns whether `id` is registered.
    pub(crate) fn has_destination(&self, id: DestinationId) -> bool {
        self.registry().by_id.contains_key(&id)
    }

    /// Returns the id registered for `name`.
    pub(crate) fn destination_id(&self, name: &str) -> Option<DestinationId> {
        self.registry().by_name.get(name).copied()
    }

    /// Returns a destination's name for logs, or `?` for an id the file does not contain.
    pub(crate) fn destination_name(&self, id: DestinationId) -> String {
        self.registry().by_id.get(&id).map_or_else(|| "?".to_owned(), |state| state.name.clone())
    }

    /// Returns every registered destination.
    pub(crate) fn destinations(&self) -> Vec<(DestinationId, Arc<DestinationState>)> {
        self.registry().by_id.iter().map(|(id, state)| (*id, Arc::clone(state))).collect()
    }

    /// Adds a destination whose registration has been committed.
    pub(crate) fn add_destination(&self, name: String, id: DestinationId, counts: (u64, u64)) {
        let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        registry.by_id.insert(id, Arc::new(DestinationState::new(name.clone(), counts)));
        registry.by_name.insert(name, id);
    }

    pub(crate) fn pending_total(&self) -> u64 {
        self.pending_total.load(Ordering::Acquire)
    }

    pub(crate) fn counts(&self) -> Vec<DestinationCounts> {
        let mut counts: Vec<DestinationCounts> = self
            .destinations()
            .into_iter()
            .map(|(id, state)| DestinationCounts {
                id,
                name: state.name.clone(),
                pending: state.pending.load(Ordering::Acquire),
                leased: state.leased().keys.len() as u64,
                dead: state.dead.load(Ordering::Acquire),
            })
            .collect();
        counts.sort_by_key(|count| count.id);
        counts
    }

    /// Takes the database out of the shared state and closes it if no read is using it.
    pub(crate) fn close_database(&self) {
        let Some(db) = self.db.write().unwrap_or_else(PoisonError::into_inner).take() else {
            return;
        };
        // A read in progress holds a clone; the database then closes when that read drops it.
        if let Ok(db) = Arc::try_unwrap(db)
            && let Err(error) = db.close()
        {
            tracing::error!(path = %self.path.display(), %error, "closing outbox failed");
        }
    }
}

/// Opens the database with an explicit cache size.
pub(crate) fn open_database(path: &Path, cache_size_bytes: usize) -> Result<Database, OpenError> {
    Database::builder().set_cache_size(cache_size_bytes).create(path).map_err(|source| match source
    {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            OpenError::AlreadyOpen { path: path.to_owned() }
        }
        source => OpenError::Database { path: path.to_owned(), source },
    })
}

/// Opens the database, creates the tables on first use, registers the destinations and loads
/// the counters and sequence state, without reading the queue.
pub(crate) fn open(
    path: &Path,
    names: &[&str],
    options: OutboxOptions,
    clock: Clock,
) -> Result<(Shared, WriterState), OpenError> {
    let db = open_database(path, options.cache_size_bytes)?;
    let storage = |error: redb::Error| OpenError::Storage {
        path: path.to_owned(),
        message: error.to_string(),
    };
    let ids = initialise(path, &db, names).map_err(|error| match error {
        InitError::Storage(error) => storage(error),
        InitError::Open(error) => error,
    })?;
    let loaded = load(&db).map_err(storage)?;

    let mut registry = Registry::default();
    for (name, id) in ids {
        let counts = loaded.counters.get(&id).copied().unwrap_or((0, 0));
        registry.by_id.insert(id, Arc::new(DestinationState::new(name.clone(), counts)));
        registry.by_name.insert(name, id);
    }
    let pending_total = loaded.counters.values().map(|(pending, _)| pending).sum();
    let shared = Shared {
        path: path.to_owned(),
        db: RwLock::new(Some(Arc::new(db))),
        registry: RwLock::new(registry),
        pending_total: AtomicU64::new(pending_total),
        quota: options.max_pending_entries,
        clock,
        cache_size_bytes: options.cache_size_bytes,
    };
    Ok((shared, loaded.into_writer_state()))
}

enum InitError {
    Storage(redb::Error),
    Open(OpenError),
}

impl<E: Into<redb::Error>> From<E> for InitError {
    fn from(error: E) -> InitError {
        InitError::Storage(error.into())
    }
}

/// Creates missing tables, checks the schema version and assigns ids to new destination names,
/// in one durable commit. Returns every known destination with its id.
fn initialise(
    path: &Path,
    db: &Database,
    names: &[&str],
) -> Result<Vec<(String, DestinationId)>, InitError> {
    let txn = db.begin_write()?;
    let mut known = Vec::new();
    {
        let mut meta = txn.open_table(META)?;
        let version = meta.get(META_SCHEMA_VERSION)?.map(|guard| guard.value());
        match version {
            None => {
                meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION)?;
            }
            Some(found) if found > SCHEMA_VERSION => {
                return Err(InitError::Open(OpenError::NewerSchema {
                    path: path.to_owned(),
                    found,
                    supported: SCHEMA_VERSION,
                }));
            }
            Some(_) => {}
        }
        // The meta table contains one key per destination, so reading the prefix is
        // bounded by the number of destinations ever configured, not by the queue.
        let mut next_id = meta.get(META_NEXT_DESTINATION)?.map(|guard| guard.value()).unwrap_or(1);
        for item in meta.range(META_DESTINATION_PREFIX..)? {
            let (key, value) = item?;
            let Some(name) = key.value().strip_prefix(META_DESTINATION_PREFIX) else {
                break;
            };
            known.push((name.to_owned(), DestinationId(value.value() as u32)));
        }
        for name in names {
            if known.iter().any(|(known_name, _)| known_name == name) {
                continue;
            }
            let id = DestinationId(next_id as u32);
            next_id += 1;
            meta.insert(format!("{META_DESTINATION_PREFIX}{name}").as_str(), u64::from(id.0))?;
            known.push(((*name).to_owned(), id));
        }
        meta.insert(META_NEXT_DESTINATION, next_id)?;
        // Opening every table here creates the missing ones, so readers never find one absent.
        txn.open_table(BODIES)?;
        txn.open_table(BODY_REFS)?;
        txn.open_table(ENTRIES)?;
        txn.open_table(DEAD)?;
        txn.open_table(COUNTERS)?;
    }
    txn.commit()?;
    Ok(known)
}

/// The persisted state the writer continues from.
pub(crate) struct Loaded {
    pub(crate) counters: HashMap<DestinationId, (u64, u64)>,
    pub(crate) next_append: u64,
    pub(crate) due_floor_ms: u64,
    pub(crate) next_destination_id: u64,
}

impl Loaded {
    fn into_writer_state(self) -> WriterState {
        WriterState::new(self)
    }
}

/// Reads the counters and the sequence state; never the queue (keeps invariant 6).
pub(crate) fn load(db: &Database) -> Result<Loaded, redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let next_append = meta.get(META_NEXT_APPEND)?.map(|guard| guard.value()).unwrap_or(1);
    let due_floor_ms = meta.get(META_DUE_FLOOR_MS)?.map(|guard| guard.value()).unwrap_or(0);
    let next_destination_id =
        meta.get(META_NEXT_DESTINATION)?.map(|guard| guard.value()).unwrap_or(1);
    let table = txn.open_table(COUNTERS)?;
    let mut counters = HashMap::new();
    // One row per destination ever configured.
    for item in table.range(..)? {
        let (key, value) = item?;
        counters.insert(DestinationId(key.value()), value.value());
    }
    Ok(Loaded { counters, next_append, due_floor_ms, next_destination_id })
}
