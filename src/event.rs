//! The normalized event: what every ingest API produces and every template reads as `input`.
//!
//! An event is a hash with the key names of Amplitude's export format (`event_type`, `user_id`,
//! `event_time`, `ip_address`, `$insert_id`, ...), so templates written for Amplitude's event
//! streaming work unchanged. `docs/templates.md` lists every key.
//!
//! Events are stored in the outbox as MessagePack (rmp-serde) with a format version, and decoded
//! again by dispatch for every destination that takes them.

use serde::{Deserialize, Serialize};

use crate::template::Value;

/// The version written into every stored event; raised when the stored shape changes.
pub const FORMAT_VERSION: u8 = 1;

/// A normalized event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The configured source that accepted the event.
    pub source: String,
    /// The event in Amplitude's export shape, seen by templates as `input`; always a
    /// [`Value::Hash`].
    pub input: Value,
}

/// The stored shape of an event; a struct so that rmp-serde writes it as a compact array.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    version: u8,
    source: std::borrow::Cow<'a, str>,
    input: std::borrow::Cow<'a, Value>,
}

/// An error decoding a stored event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a stored event.
    #[error("stored event is not valid MessagePack: {0}")]
    Format(#[from] rmp_serde::decode::Error),
    /// The event was written by a newer sluice.
    #[error("stored event has format version {0}, newer than this build reads ({FORMAT_VERSION})")]
    Version(u8),
    /// The stored input is not a hash.
    #[error("stored event input is not a hash")]
    Shape,
}

impl Event {
    /// Encodes the event for the outbox.
    pub fn encode(&self) -> Vec<u8> {
        let stored = Stored {
            version: FORMAT_VERSION,
            source: std::borrow::Cow::Borrowed(&self.source),
            input: std::borrow::Cow::Borrowed(&self.input),
        };
        rmp_serde::to_vec(&stored).expect("encoding a value to a Vec cannot fail")
    }

    /// Decodes an event that [`Event::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
        let stored: Stored<'static> = rmp_serde::from_slice(bytes)?;
        if stored.version > FORMAT_VERSION {
            return Err(DecodeError::Version(stored.version));
        }
        let input = stored.input.into_owned();
        if !matches!(input, Value::Hash(_)) {
            return Err(DecodeError::Shape);
        }
        Ok(Event { source: stored.source.into_owned(), input })
    }
}
