//! Table keys and event sequence numbers.
//!
//! Keys are fixed-width big-endian byte strings compared with `memcmp`, so redb's key order is
//! the numeric order of their fields: an outbox range over one destination returns its entries
//! oldest due first.

use std::cmp::Ordering;

use redb::{Key, TypeName, Value};

use super::{DestinationId, EntryKey};

/// Bits of an event sequence number that index the event within its append.
pub(crate) const INDEX_BITS: u32 = 20;

/// The maximum number of events that one append stores.
pub const MAX_EVENTS_PER_APPEND: usize = 1 << INDEX_BITS;

/// The maximum bytes of event data that one append stores, below redb's 3 GiB value limit.
pub const MAX_APPEND_BYTES: usize = 1 << 30;

/// The largest append number that still fits an event sequence number.
pub(crate) const MAX_APPEND_NUMBER: u64 = u64::MAX >> INDEX_BITS;

/// Returns the sequence number of the event at `index` of append `append_number`.
///
/// An event sequence number is the append number in the high 44 bits and the event's index
/// within that append in the low 20 bits. The stored body of any event is therefore found by a
/// shift rather than a search.
pub(crate) fn event_seq(append_number: u64, index: usize) -> u64 {
    debug_assert!(append_number <= MAX_APPEND_NUMBER);
    debug_assert!(index < MAX_EVENTS_PER_APPEND);
    (append_number << INDEX_BITS) | index as u64
}

/// Returns the number of the append that stored the event `seq`.
pub(crate) fn append_number(seq: u64) -> u64 {
    seq >> INDEX_BITS
}

/// Returns the index of the event `seq` within its append.
pub(crate) fn event_index(seq: u64) -> usize {
    (seq & ((1 << INDEX_BITS) - 1)) as usize
}

const ENTRY_KEY_WIDTH: usize = 20;

impl EntryKey {
    /// Encodes the key as destination, due time and event sequence, each big-endian.
    pub(crate) fn to_bytes(self) -> [u8; ENTRY_KEY_WIDTH] {
        let mut bytes = [0u8; ENTRY_KEY_WIDTH];
        bytes[..4].copy_from_slice(&self.destination.0.to_be_bytes());
        bytes[4..12].copy_from_slice(&self.due_ms.to_be_bytes());
        bytes[12..].copy_from_slice(&self.event_seq.to_be_bytes());
        bytes
    }

    /// Decodes a key that [`EntryKey::to_bytes`] wrote.
    pub(crate) fn from_slice(bytes: &[u8]) -> EntryKey {
        EntryKey {
            destination: DestinationId(u32::from_be_bytes(array(&bytes[..4]))),
            due_ms: u64::from_be_bytes(array(&bytes[4..12])),
            event_seq: u64::from_be_bytes(array(&bytes[12..20])),
        }
    }

    /// Returns the smallest key of `destination`.
    pub(crate) fn first_of(destination: DestinationId) -> EntryKey {
        EntryKey { destination, due_ms: 0, event_seq: 0 }
    }

    /// Returns the largest key of `destination` due at or before `due_ms`.
    pub(crate) fn last_due_at(destination: DestinationId, due_ms: u64) -> EntryKey {
        EntryKey { destination, due_ms, event_seq: u64::MAX }
    }
}

impl Value for EntryKey {
    type SelfType<'a> = EntryKey;
    type AsBytes<'a> = [u8; ENTRY_KEY_WIDTH];

    fn fixed_width() -> Option<usize> {
        Some(ENTRY_KEY_WIDTH)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> EntryKey
    where
        Self: 'a,
    {
        EntryKey::from_slice(data)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a EntryKey) -> [u8; ENTRY_KEY_WIDTH]
    where
        Self: 'b,
    {
        value.to_bytes()
    }

    fn type_name() -> TypeName {
        TypeName::new("sluice::EntryKey")
    }
}

impl Key for EntryKey {
    fn compare(data1: &[u8], data2: &[u8]) -> Ordering {
        data1.cmp(data2)
    }
}

/// The key of a dead letter: the destination and the event sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadLetterKey {
    /// The destination that gave the entry up.
    pub destination: DestinationId,
    /// The event's sequence number.
    pub event_seq: u64,
}

const DEAD_KEY_WIDTH: usize = 12;

impl DeadLetterKey {
    fn to_bytes(self) -> [u8; DEAD_KEY_WIDTH] {
        let mut bytes = [0u8; DEAD_KEY_WIDTH];
        bytes[..4].copy_from_slice(&self.destination.0.to_be_bytes());
        bytes[4..].copy_from_slice(&self.event_seq.to_be_bytes());
        bytes
    }

    fn from_slice(bytes: &[u8]) -> DeadLetterKey {
        DeadLetterKey {
            destination: DestinationId(u32::from_be_bytes(array(&bytes[..4]))),
            event_seq: u64::from_be_bytes(array(&bytes[4..12])),
        }
    }
}

impl Value for DeadLetterKey {
    type SelfType<'a> = DeadLetterKey;
    type AsBytes<'a> = [u8; DEAD_KEY_WIDTH];

    fn fixed_width() -> Option<usize> {
        Some(DEAD_KEY_WIDTH)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> DeadLetterKey
    where
        Self: 'a,
    {
        DeadLetterKey::from_slice(data)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a DeadLetterKey) -> [u8; DEAD_KEY_WIDTH]
    where
        Self: 'b,
    {
        value.to_bytes()
    }

    fn type_name() -> TypeName {
        TypeName::new("sluice::DeadLetterKey")
    }
}

impl Key for DeadLetterKey {
    fn compare(data1: &[u8], data2: &[u8]) -> Ordering {
        data1.cmp(data2)
    }
}

/// Copies a slice of known length into an array.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(destination: u32, due_ms: u64, event_seq: u64) -> EntryKey {
        EntryKey { destination: DestinationId(destination), due_ms, event_seq }
    }

    #[test]
    fn entry_key_round_trips_through_bytes() {
        let original = key(7, 1_700_000_000_123, event_seq(42, 3));
        assert_eq!(EntryKey::from_slice(&original.to_bytes()), original);
    }

    #[test]
    fn entry_key_byte_order_matches_field_order() {
        let keys = [
            key(1, 5, 9),
            key(1, 6, 0),
            key(1, 256, 0),
            key(1, 1 << 40, 1),
            key(2, 0, 0),
            key(256, 0, 0),
            key(1, 6, 1),
        ];
        for a in &keys {
            for b in &keys {
                assert_eq!(
                    EntryKey::compare(&a.to_bytes(), &b.to_bytes()),
                    a.cmp(b),
                    "{a:?} against {b:?}"
                );
            }
        }
    }

    #[test]
    fn dead_letter_key_order_matches_field_order() {
        let a = DeadLetterKey { destination: DestinationId(1), event_seq: 1 << 33 };
        let b = DeadLetterKey { destination: DestinationId(2), event_seq: 0 };
        assert_eq!(DeadLetterKey::from_slice(&a.to_bytes()), a);
        assert!(DeadLetterKey::compare(&a.to_bytes(), &b.to_bytes()).is_lt());
    }

    #[test]
    fn event_seq_splits_into_append_and_index() {
        let seq = event_seq(123_456, 999);
        assert_eq!(append_number(seq), 123_456);
        assert_eq!(event_index(seq), 999);
        let last = event_seq(MAX_APPEND_NUMBER, MAX_EVENTS_PER_APPEND - 1);
        assert_eq!(last, u64::MAX);
    }

    #[test]
    fn event_seqs_increase_with_append_then_index() {
        assert!(event_seq(1, MAX_EVENTS_PER_APPEND - 1) < event_seq(2, 0));
        assert!(event_seq(2, 0) < event_seq(2, 1));
    }
}
