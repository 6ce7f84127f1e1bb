//! Dead letters: listing and showing them, replaying them into the outbox and purging them.

use std::ops::Bound;

use redb::{ReadableDatabase, ReadableTable};
use tokio::sync::oneshot;

use super::error::DeadLetterError;
use super::keys::DeadLetterKey;
use super::records::{DEAD, DeadRecord};
use super::writer::{Command, Replayed, Selection};
use super::{DestinationId, EntryKey, Outbox};

/// Dead letters moved or deleted per transaction by the whole-destination operations, so that a
/// large purge holds up appends for one bounded transaction at a time.
const DEAD_LETTERS_PER_COMMIT: usize = 1000;

/// The order of a dead-letter listing, by event sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterOrder {
    /// Oldest events first.
    OldestFirst,
    /// Newest events first.
    NewestFirst,
}

/// A dead letter without its event body.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterSummary {
    /// The destination and event.
    pub key: DeadLetterKey,
    /// The reason the entry was given up.
    pub reason: String,
    /// The last HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// The start of the last response body.
    pub response_snippet: String,
    /// Attempts made, including the last one.
    pub attempts: u32,
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub first_failure_ms: Option<u64>,
    /// When the entry was given up, in milliseconds since the Unix epoch.
    pub dead_at_ms: u64,
    /// The summary of the last retried failure, if any.
    pub last_error: Option<String>,
    /// The size of the stored event body in bytes.
    pub event_bytes: usize,
}

/// One page of a dead-letter listing.
#[derive(Debug, Default)]
pub struct DeadLetterPage {
    /// The dead letters decoded, in the order asked for.
    pub letters: Vec<DeadLetterSummary>,
    /// The dead letters that cannot be decoded, with the reason; they count toward the limit.
    pub unreadable: Vec<(DeadLetterKey, DeadLetterError)>,
}

/// A dead letter with its event body.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterDetail {
    /// Everything but the body.
    pub summary: DeadLetterSummary,
    /// The encoded event, as `append` received it.
    pub event: Vec<u8>,
}

impl From<redb::Error> for DeadLetterError {
    fn from(error: redb::Error) -> DeadLetterError {
        DeadLetterError::Storage(error.to_string())
    }
}

fn summary(
    key: DeadLetterKey,
    stored: &[u8],
) -> Result<(DeadLetterSummary, &[u8]), DeadLetterError> {
    let (record, event) = DeadRecord::decode(stored).map_err(|error| {
        DeadLetterError::Storage(format!(
            "dead letter for destination id {} and event {}: {error}",
            key.destination.0, key.event_seq
        ))
    })?;
    let summary = DeadLetterSummary {
        key,
        reason: record.reason,
        status: record.status,
        response_snippet: record.response_snippet,
        attempts: record.attempts,
        first_failure_ms: record.first_failure_ms,
        dead_at_ms: record.dead_at_ms,
        last_error: record.last_error,
        event_bytes: event.len(),
    };
    Ok((summary, event))
}

impl Outbox {
    /// Lists up to `limit` dead letters of `destination` in `order`, starting after the event
    /// sequence number `start_after` (exclusive) when given.
    ///
    /// To page through, pass the last key's `event_seq` of one page as `start_after` of the next.
    /// A dead letter that cannot be decoded is logged and left out; [`Outbox::dead_letter_page`]
    /// reports it instead.
    pub fn dead_letters(
        &self,
        destination: DestinationId,
        start_after: Option<u64>,
        order: DeadLetterOrder,
        limit: usize,
    ) -> Result<Vec<DeadLetterSummary>, DeadLetterError> {
        let page = self.dead_letter_page(destination, start_after, order, limit)?;
        for (key, error) in &page.unreadable {
            tracing::error!(
                destination = self.inner.shared.destination_name(key.destination),
                event_seq = key.event_seq,
                %error,
                "dead letter unreadable; left out of the listing"
            );
        }
        Ok(page.letters)
    }

    /// Lists dead letters like [`Outbox::dead_letters`], and returns the ones that cannot be
    /// decoded separately, so a listing can report them and go on.
    pub fn dead_letter_page(
        &self,
        destination: DestinationId,
        start_after: Option<u64>,
        order: DeadLetterOrder,
        limit: usize,
    ) -> Result<DeadLetterPage, DeadLetterError> {
        let shared = &self.inner.shared;
        if !shared.has_destination(destination) {
            return Err(DeadLetterError::UnknownDestination(destination.0));
        }
        let db = shared.database().ok_or(DeadLetterError::Closed)?;
        let txn = db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(DEAD).map_err(redb::Error::from)?;

        let first = DeadLetterKey { destination, event_seq: 0 };
        let last = DeadLetterKey { destination, event_seq: u64::MAX };
        let bounds = match (order, start_after) {
            (_, None) => (Bound::Included(first), Bound::Included(last)),
            (DeadLetterOrder::OldestFirst, Some(seq)) => (
                Bound::Excluded(DeadLetterKey { destination, event_seq: seq }),
                Bound::Included(last),
            ),
            (DeadLetterOrder::NewestFirst, Some(seq)) => (
                Bound::Included(first),
                Bound::Excluded(DeadLetterKey { destination, event_seq: seq }),
            ),
        };

        let range = table.range(bounds).map_err(redb::Error::from)?;
        let items: Box<dyn Iterator<Item = _>> = match order {
            DeadLetterOrder::OldestFirst => Box::new(range),
            DeadLetterOrder::NewestFirst => Box::new(range.rev()),
        };
        let mut page = DeadLetterPage::default();
        for item in items.take(limit) {
            let (key, value) = item.map_err(redb::Error::from)?;
            match summary(key.value(), value.value()) {
                Ok((letter, _)) => page.letters.push(letter),
                Err(error) => page.unreadable.push((key.value(), error)),
            }
        }
        Ok(page)
    }

    /// Returns one dead letter with its event body.
    pub fn dead_letter(&self, key: DeadLetterKey) -> Result<DeadLetterDetail, DeadLetterError> {
        let shared = &self.inner.shared;
        if !shared.has_destination(key.destination) {
            return Err(DeadLetterError::UnknownDestination(key.destination.0));
        }
        let db = shared.database().ok_or(DeadLetterError::Closed)?;
        let txn = db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(DEAD).map_err(redb::Error::from)?;
        let stored =
            table.get(key).map_err(redb::Error::from)?.ok_or(DeadLetterError::NotFound {
                destination: key.destination,
                event_seq: key.event_seq,
            })?;
        let (summary, event) = summary(key, stored.value())?;
        Ok(DeadLetterDetail { summary, event: event.to_vec() })
    }

    /// Moves one dead letter back to the outbox, due now with no attempts, and resolves after
    /// the durable commit with the new entry's key.
    ///
    /// The event is stored again under a new sequence number.
    pub async fn replay_dead_letter(
        &self,
        key: DeadLetterKey,
    ) -> Result<EntryKey, DeadLetterError> {
        let replayed = self.replay(Selection::One(key)).await?;
        replayed.moved.into_iter().next().ok_or(DeadLetterError::NotFound {
            destination: key.destination,
            event_seq: key.event_seq,
        })
    }

    /// Moves every dead letter of `destination` back to the outbox, oldest first, and returns
    /// how many moved.
    ///
    /// It commits every 1,000 dead letters, so an error part way leaves the earlier ones
    /// replayed. A dead letter that cannot be decoded is logged and left in place. The call stops
    /// once it has passed the newest letter present when it started, so it ends even when the
    /// replayed letters die again at once (they come back under newer keys).
    pub async fn replay_dead_letters(
        &self,
        destination: DestinationId,
    ) -> Result<u64, DeadLetterError> {
        let newest = self.dead_letters(destination, None, DeadLetterOrder::NewestFirst, 1)?;
        let Some(last) = newest.first().map(|letter| letter.key.event_seq) else {
            return Ok(0);
        };
        let mut total = 0;
        let mut after = None;
        loop {
            let selection = Selection::Oldest { destination, after, max: DEAD_LETTERS_PER_COMMIT };
            let replayed = self.replay(selection).await?;
            total += replayed.moved.len() as u64;
            if replayed.examined < DEAD_LETTERS_PER_COMMIT {
                return Ok(total);
            }
            after = replayed.last_examined;
            if after.is_none_or(|seq| seq >= last) {
                return Ok(total);
            }
        }
    }

    /// Deletes one dead letter.
    pub async fn purge_dead_letter(&self, key: DeadLetterKey) -> Result<(), DeadLetterError> {
        self.purge(Selection::One(key)).await.map(|_| ())
    }

    /// Deletes every dead letter of `destination` and returns how many were deleted.
    ///
    /// It commits every 1,000 dead letters, so an error part way leaves the earlier ones
    /// deleted.
    pub async fn purge_dead_letters(
        &self,
        destination: DestinationId,
    ) -> Result<u64, DeadLetterError> {
        let mut total = 0;
        loop {
            let purged = self
                .purge(Selection::Oldest { destination, after: None, max: DEAD_LETTERS_PER_COMMIT })
                .await?;
            total += purged;
            if purged < DEAD_LETTERS_PER_COMMIT as u64 {
                return Ok(total);
            }
        }
    }

    async fn replay(&self, selection: Selection) -> Result<Replayed, DeadLetterError> {
        let (reply, receiver) = oneshot::channel();
        self.send(Command::Replay { selection, reply }).map_err(|_| DeadLetterError::Closed)?;
        receiver.await.map_err(|_| DeadLetterError::Closed)?
    }

    async fn purge(&self, selection: Selection) -> Result<u64, DeadLetterError> {
        let (reply, receiver) = oneshot::channel();
        self.send(Command::Purge { selection, reply }).map_err(|_| DeadLetterError::Closed)?;
        receiver.await.map_err(|_| DeadLetterError::Closed)?
    }
}
