//! Leasing and other reads of the outbox, done in read transactions on the caller's thread.

use std::sync::Arc;

use redb::{AccessGuard, ReadOnlyTable, ReadableDatabase, ReadableTable};

use super::error::LeaseError;
use super::keys::{append_number, event_index};
use super::records::{BODIES, BodyView, ENTRIES, EntryRecord};
use super::state::{DestinationState, Shared};
use super::{DestinationId, EntryKey, Lease};

impl From<redb::Error> for LeaseError {
    fn from(error: redb::Error) -> LeaseError {
        LeaseError::Storage(error.to_string())
    }
}

fn destination(shared: &Shared, id: DestinationId) -> Result<Arc<DestinationState>, LeaseError> {
    shared.destination(id).ok_or(LeaseError::UnknownDestination(id.0))
}

/// Leases up to `max` due entries of a destination that are not leased yet, oldest due first.
pub(crate) fn lease(
    shared: &Shared,
    id: DestinationId,
    now_ms: u64,
    max: usize,
) -> Result<Vec<Lease>, LeaseError> {
    let state = destination(shared, id)?;
    if max == 0 {
        return Ok(Vec::new());
    }
    let db = shared.database().ok_or(LeaseError::Closed)?;

    // Hold the lock from before the snapshot to the end. The writer releases a lease only after
    // the commit that removed or moved its entry, so an entry this snapshot still contains is
    // still in the set (keeps invariant 5).
    let mut leases = state.leased();
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    let bodies = txn.open_table(BODIES).map_err(redb::Error::from)?;

    let mut cached_body = None;
    let mut out = Vec::new();
    // A key range of one destination up to now, never a scan of the whole table, starting
    // after the keys known to be leased (keeps invariant 6).
    let start = leases.scan_start(id);
    let end = EntryKey::last_due_at(id, now_ms);
    if start > end {
        // Every entry due by now has a key below the start, so all of them are leased.
        return Ok(out);
    }
    let mut last_seen = None;
    for item in entries.range(start..=end).map_err(redb::Error::from)? {
        let (key, value) = item.map_err(redb::Error::from)?;
        let key = key.value();
        last_seen = Some(key);
        if leases.keys.contains(&key) {
            continue;
        }

        // NOTE: an unreadable entry or body fails every lease of the destination until an
        // operator removes it. Only a damaged file or records of a newer build cause one.
        let record = EntryRecord::decode(value.value()).map_err(|error| {
            LeaseError::Storage(format!(
                "entry of destination id {} for event {}: {error}",
                id.0, key.event_seq
            ))
        })?;
        let event = read_event(&bodies, &mut cached_body, key)?;
        out.push(Lease {
            key,
            event,
            attempts: record.attempts,
            first_failure_ms: record.first_failure_ms,
        });
        if out.len() == max {
            break;
        }
    }

    for lease in &out {
        leases.keys.insert(lease.key);
    }
    // Every key read was leased before or is leased now.
    if let Some(key) = last_seen {
        leases.advance_to(key);
    }
    Ok(out)
}

/// Copies the event of an entry out of its body, reusing the body read for the previous entry
/// when both belong to the same append.
fn read_event<'t>(
    bodies: &'t ReadOnlyTable<u64, &'static [u8]>,
    cached_body: &mut Option<(u64, AccessGuard<'t, &'static [u8]>)>,
    key: EntryKey,
) -> Result<bytes::Bytes, LeaseError> {
    let number = append_number(key.event_seq);
    let guard = match cached_body {
        Some((cached, guard)) if *cached == number => guard,
        _ => {
            let guard = bodies.get(number).map_err(redb::Error::from)?.ok_or_else(|| {
                LeaseError::Storage(format!(
                    "no stored body for event {} of destination id {}",
                    key.event_seq, key.destination.0
                ))
            })?;
            &cached_body.insert((number, guard)).1
        }
    };
    let event = BodyView::parse(guard.value())
        .and_then(|view| view.event(event_index(key.event_seq)))
        .map_err(|error| {
            LeaseError::Storage(format!("body of event {}: {error}", key.event_seq))
        })?;
    Ok(bytes::Bytes::copy_from_slice(event))
}

/// Returns the earliest due time of the destination's entries that are not leased.
pub(crate) fn next_due_ms(shared: &Shared, id: DestinationId) -> Result<Option<u64>, LeaseError> {
    let state = destination(shared, id)?;
    let db = shared.database().ok_or(LeaseError::Closed)?;
    let mut leases = state.leased();
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    let range = leases.scan_start(id)..=EntryKey::last_due_at(id, u64::MAX);
    let mut stopped_at = None;
    let mut due = None;
    for item in entries.range(range).map_err(redb::Error::from)? {
        let (key, _) = item.map_err(redb::Error::from)?;
        let key = key.value();
        stopped_at = Some(key);
        if !leases.keys.contains(&key) {
            due = Some(key.due_ms);
            break;
        }
    }
    // Every key read before the one it stopped at is leased.
    if let Some(key) = stopped_at {
        leases.advance_to(key);
    }
    Ok(due)
}
