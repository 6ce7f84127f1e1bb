//! Table definitions and the encoding of stored values.
//!
//! Values that are read field by field (entries, dead letters) are MessagePack (rmp-serde)
//! arrays that start with a format version. The stored body of an append is a small binary
//! container instead, because its reference count is rewritten in place and any one event must
//! be readable without decoding the others.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::EntryKey;
use super::error::RecordError;
use super::keys::{DeadLetterKey, MAX_EVENTS_PER_APPEND};

/// The layout version of the tables, stored under [`META_SCHEMA_VERSION`].
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// The format version written at the start of every record.
pub(crate) const RECORD_VERSION: u8 = 1;

/// Settings and bookkeeping: schema version, append numbering, the due-time floor and the
/// destination name to id mapping.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The stored bodies, one per append, keyed by append number.
pub(crate) const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");

/// Reference counts of bodies too large to rewrite on every change, keyed by append number.
pub(crate) const BODY_REFS: TableDefinition<u64, u32> = TableDefinition::new("body_refs");

/// The outbox: one entry per event and destination, in due order within each destination.
pub(crate) const ENTRIES: TableDefinition<EntryKey, &[u8]> = TableDefinition::new("entries");

/// Entries that were given up, with the event body copied in.
pub(crate) const DEAD: TableDefinition<DeadLetterKey, &[u8]> = TableDefinition::new("dead");

/// Per-destination counters: (pending entries, dead letters).
pub(crate) const COUNTERS: TableDefinition<u32, (u64, u64)> = TableDefinition::new("counters");

/// Meta key holding [`SCHEMA_VERSION`].
pub(crate) const META_SCHEMA_VERSION: &str = "schema_version";
/// Meta key holding the next append number to hand out.
pub(crate) const META_NEXT_APPEND: &str = "next_append";
/// Meta key holding the due time of the newest entry appended, the floor for the next one.
pub(crate) const META_DUE_FLOOR_MS: &str = "due_floor_ms";
/// Meta key holding the next destination id to hand out.
pub(crate) const META_NEXT_DESTINATION: &str = "next_destination_id";
/// Prefix of the meta keys mapping a destination name to its id.
pub(crate) const META_DESTINATION_PREFIX: &str = "destination:";

/// Bodies up to this size keep their reference count inline and are rewritten when it changes.
/// Larger ones keep it in [`BODY_REFS`], so that a change costs a small write instead of a copy.
pub(crate) const INLINE_REFCOUNT_MAX_BYTES: usize = 16 * 1024;

const BODY_HEADER_BYTES: usize = 10;
const REFCOUNT_INLINE: u8 = 0;
const REFCOUNT_IN_TABLE: u8 = 1;

/// Encodes the stored body of one append.
///
/// Layout: the format version (1 byte), the location of the reference count (1 byte: 0 inline,
/// 1 in [`BODY_REFS`]), the inline reference count (u32) and the event count n (u32). Then come
/// n end offsets (u32 each, relative to the start of the data) and the events back to back.
/// Integers are big-endian. An event with no destination occupies an empty slot, so an event's
/// index in the append is its index in the body.
pub(crate) fn encode_body(events: &[&[u8]], refcount: u32) -> Result<(Vec<u8>, bool), RecordError> {
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(RecordError::TooManyEvents { events: events.len() });
    }
    let data_len: usize = events.iter().map(|event| event.len()).sum();
    let total = BODY_HEADER_BYTES + 4 * events.len() + data_len;
    if u32::try_from(data_len).is_err() {
        return Err(RecordError::TooLarge { bytes: total });
    }
    let inline = total <= INLINE_REFCOUNT_MAX_BYTES;
    let mut out = Vec::with_capacity(total);
    out.push(RECORD_VERSION);
    out.push(if inline { REFCOUNT_INLINE } else { REFCOUNT_IN_TABLE });
    out.extend_from_slice(&(if inline { refcount } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(events.len() as u32).to_be_bytes());
    let mut end = 0u32;
    for event in events {
        end += event.len() as u32;
        out.extend_from_slice(&end.to_be_bytes());
    }
    for event in events {
        out.extend_from_slice(event);
    }
    Ok((out, inline))
}

/// A read-only view of a stored body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyView<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> BodyView<'a> {
    /// Checks the header and returns a view over `bytes`.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<BodyView<'a>, RecordError> {
        if bytes.len() < BODY_HEADER_BYTES {
            return Err(RecordError::Truncated { what: "body header" });
        }
        if bytes[0] != RECORD_VERSION {
            return Err(RecordError::Version { what: "body", version: bytes[0] });
        }
        if bytes[1] != REFCOUNT_INLINE && bytes[1] != REFCOUNT_IN_TABLE {
            return Err(RecordError::Truncated { what: "body refcount flag" });
        }
        let count = u32::from_be_bytes(bytes[6..10].try_into().expect("4 bytes")) as usize;
        let data_start = BODY_HEADER_BYTES + 4 * count;
        if bytes.len() < data_start {
            return Err(RecordError::Truncated { what: "body index" });
        }
        let view = BodyView { bytes, count };
        if count > 0 && data_start + view.end_offset(count - 1) != bytes.len() {
            return Err(RecordError::Truncated { what: "body data" });
        }
        Ok(view)
    }

    /// Returns the reference count if it is stored inline.
    pub(crate) fn inline_refcount(&self) -> Option<u32> {
        (self.bytes[1] == REFCOUNT_INLINE)
            .then(|| u32::from_be_bytes(self.bytes[2..6].try_into().expect("4 bytes")))
    }

    /// Returns the number of events in the append.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    fn end_offset(&self, index: usize) -> usize {
        let at = BODY_HEADER_BYTES + 4 * index;
        u32::from_be_bytes(self.bytes[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    /// Returns the encoded event at `index`, without reading any other event.
    pub(crate) fn event(&self, index: usize) -> Result<&'a [u8], RecordError> {
        if index >= self.count {
            return Err(RecordError::MissingEvent { index, count: self.count });
        }
        let data_start = BODY_HEADER_BYTES + 4 * self.count;
        let start = if index == 0 { 0 } else { self.end_offset(index - 1) };
        let end = self.end_offset(index);
        if start > end || data_start + end > self.bytes.len() {
            return Err(RecordError::Truncated { what: "body event offsets" });
        }
        Ok(&self.bytes[data_start + start..data_start + end])
    }
}

/// Returns a copy of `body` with its inline reference count set to `refcount`.
pub(crate) fn with_inline_refcount(body: &[u8], refcount: u32) -> Vec<u8> {
    let mut out = body.to_vec();
    out[2..6].copy_from_slice(&refcount.to_be_bytes());
    out
}

/// The stored value of an entry that has been attempted; a fresh entry stores an empty value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EntryRecord {
    pub(crate) version: u8,
    /// Attempts made so far.
    pub(crate) attempts: u32,
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub(crate) first_failure_ms: Option<u64>,
    /// A one-line summary of the last failure.
    pub(crate) last_error: Option<String>,
}

impl EntryRecord {
    /// Returns the record of an entry that was never attempted.
    pub(crate) fn fresh() -> EntryRecord {
        EntryRecord {
            version: RECORD_VERSION,
            attempts: 0,
            first_failure_ms: None,
            last_error: None,
        }
    }

    /// Encodes the record; a fresh record encodes as no bytes at all.
    pub(crate) fn encode(&self) -> Vec<u8> {
        if self.attempts == 0 && self.first_failure_ms.is_none() && self.last_error.is_none() {
            return Vec::new();
        }
        rmp_serde::to_vec(self).expect("encoding to a Vec cannot fail")
    }

    /// Decodes a record that [`EntryRecord::encode`] wrote.
    pub(crate) fn decode(bytes: &[u8]) -> Result<EntryRecord, RecordError> {
        if bytes.is_empty() {
            return Ok(EntryRecord::fresh());
        }
        let record: EntryRecord = rmp_serde::from_slice(bytes)
            .map_err(|error| RecordError::Decode { what: "entry", error })?;
        check_version("entry", record.version)?;
        Ok(record)
    }
}

/// The fixed fields of a dead letter; the event body follows them in the stored value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeadRecord {
    pub(crate) version: u8,
    pub(crate) reason: String,
    pub(crate) status: Option<u16>,
    pub(crate) response_snippet: String,
    pub(crate) attempts: u32,
    pub(crate) first_failure_ms: Option<u64>,
    pub(crate) dead_at_ms: u64,
    pub(crate) last_error: Option<String>,
}

impl DeadRecord {
    /// Encodes the record followed by the event body.
    pub(crate) fn encode(&self, event: &[u8]) -> Vec<u8> {
        let mut out = rmp_serde::to_vec(self).expect("encoding to a Vec cannot fail");
        out.extend_from_slice(event);
        out
    }

    /// Decodes a stored dead letter into the record and the event body.
    pub(crate) fn decode(bytes: &[u8]) -> Result<(DeadRecord, &[u8]), RecordError> {
        let mut rest = bytes;
        let record: DeadRecord = rmp_serde::from_read(&mut rest)
            .map_err(|error| RecordError::Decode { what: "dead letter", error })?;
        check_version("dead letter", record.version)?;
        Ok((record, rest))
    }
}

fn check_version(what: &'static str, version: u8) -> Result<(), RecordError> {
    if version > RECORD_VERSION {
        return Err(RecordError::Version { what, version });
    }
    Ok(())
}

/// Cuts `text` to at most `max_bytes`, on a character boundary.
pub(crate) fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_reads_each_event_by_index() {
        let events: [&[u8]; 4] = [b"first", b"", b"third event", b"4"];
        let (bytes, inline) = encode_body(&events, 3).unwrap();
        assert!(inline);
        let view = BodyView::parse(&bytes).unwrap();
        assert_eq!(view.len(), 4);
        assert_eq!(view.inline_refcount(), Some(3));
        for (index, event) in events.iter().enumerate() {
            assert_eq!(view.event(index).unwrap(), *event);
        }
        assert!(view.event(4).is_err());
    }

    #[test]
    fn large_body_keeps_refcount_in_table() {
        let big = vec![7u8; INLINE_REFCOUNT_MAX_BYTES];
        let (bytes, inline) = encode_body(&[&big, b"x"], 2).unwrap();
        assert!(!inline);
        let view = BodyView::parse(&bytes).unwrap();
        assert_eq!(view.inline_refcount(), None);
        assert_eq!(view.event(1).unwrap(), b"x");
    }

    #[test]
    fn inline_refcount_rewrite_keeps_events() {
        let (bytes, _) = encode_body(&[b"a", b"bc"], 2).unwrap();
        let rewritten = with_inline_refcount(&bytes, 1);
        let view = BodyView::parse(&rewritten).unwrap();
        assert_eq!(view.inline_refcount(), Some(1));
        assert_eq!(view.event(1).unwrap(), b"bc");
    }

    #[test]
    fn truncated_body_is_rejected() {
        let (bytes, _) = encode_body(&[b"abc", b"def"], 1).unwrap();
        for cut in 0..bytes.len() {
            assert!(BodyView::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn newer_body_version_is_rejected() {
        let (mut bytes, _) = encode_body(&[b"abc"], 1).unwrap();
        bytes[0] = RECORD_VERSION + 1;
        assert!(matches!(BodyView::parse(&bytes), Err(RecordError::Version { .. })));
    }

    #[test]
    fn fresh_entry_record_is_empty() {
        let fresh = EntryRecord::fresh();
        assert!(fresh.encode().is_empty());
        assert_eq!(EntryRecord::decode(&[]).unwrap(), fresh);
    }

    #[test]
    fn entry_record_round_trips() {
        let record = EntryRecord {
            version: RECORD_VERSION,
            attempts: 3,
            first_failure_ms: Some(1_700_000_000_000),
            last_error: Some("status 503".to_owned()),
        };
        assert_eq!(EntryRecord::decode(&record.encode()).unwrap(), record);
    }

    #[test]
    fn dead_record_keeps_event_body_after_fields() {
        let record = DeadRecord {
            version: RECORD_VERSION,
            reason: "status 400".to_owned(),
            status: Some(400),
            response_snippet: "{\"error\":\"bad\"}".to_owned(),
            attempts: 1,
            first_failure_ms: None,
            dead_at_ms: 99,
            last_error: None,
        };
        let bytes = record.encode(b"\x93event");
        let (decoded, event) = DeadRecord::decode(&bytes).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(event, b"\x93event");
    }

    #[test]
    fn truncate_utf8_cuts_on_char_boundary() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("abc", 10), "abc");
    }
}
