//! The requests and reports of the admin operations, as the admin API sends them in JSON and
//! `--json` prints them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The default number of dead letters a listing returns.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// The maximum number of dead letters one listing returns.
pub const MAX_LIST_LIMIT: usize = 10_000;

/// The maximum number of keys one replay or purge request names.
pub const MAX_KEYS_PER_REQUEST: usize = 10_000;

/// The key of a dead letter as operators see it: the destination's name and the event id,
/// written `DESTINATION:EVENT_ID` (`hook:1048576`).
///
/// The event id is the outbox's sequence number of the event, the `event_id` field of the
/// delivery logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LetterKey {
    /// The destination's name.
    pub destination: String,
    /// The event's sequence number in the outbox.
    pub event_id: u64,
}

/// A text that is not a dead-letter key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid dead-letter key `{0}`: expected DESTINATION:EVENT_ID such as `hook:1048576`, as \
     `sluice dead list` prints it"
)]
pub struct InvalidLetterKey(pub String);

impl FromStr for LetterKey {
    type Err = InvalidLetterKey;

    fn from_str(text: &str) -> Result<LetterKey, InvalidLetterKey> {
        let invalid = || InvalidLetterKey(text.to_owned());
        let (destination, event_id) = text.rsplit_once(':').ok_or_else(invalid)?;
        if !is_destination_name(destination) {
            return Err(invalid());
        }
        // `u64::from_str` takes a leading `+`; a key never has one.
        if !event_id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid());
        }
        let event_id = event_id.parse().map_err(|_| invalid())?;
        Ok(LetterKey { destination: destination.to_owned(), event_id })
    }
}

impl fmt::Display for LetterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.destination, self.event_id)
    }
}

impl Serialize for LetterKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LetterKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<LetterKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Returns whether `name` has the form the configuration allows for destination names:
/// letters, digits, `_` and `-`, at least one.
pub fn is_destination_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// The queues of every destination: `sluice queues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queues {
    /// Configured destinations first, in the order of the configuration, then the destinations
    /// no longer configured that still hold entries or dead letters, by name.
    pub destinations: Vec<QueueRow>,
}

/// The queue of one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    /// The destination's name.
    pub destination: String,
    /// Whether the configuration names it; `None` when no configuration was read.
    pub configured: Option<bool>,
    /// Whether an operator has paused its deliveries in the running server.
    pub paused: bool,
    /// Entries waiting for delivery, leased or not.
    pub pending: u64,
    /// Entries leased by the running server's delivery task now; always 0 offline.
    pub leased: u64,
    /// Dead letters.
    pub dead: u64,
}

/// A dead-letter listing request: `sluice dead list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    /// List only this destination's dead letters.
    pub destination: Option<String>,
    /// The maximum number of dead letters to return, 1 to [`MAX_LIST_LIMIT`].
    pub limit: usize,
    /// Start after this key, in the listing's order: the `next_after` of the previous page.
    pub after: Option<LetterKey>,
    /// List the newest events first instead of the oldest.
    pub newest_first: bool,
}

/// One page of dead letters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadList {
    /// The dead letters, ordered by event id and then destination id.
    pub letters: Vec<LetterSummary>,
    /// Dead letters that cannot be read; they count toward the limit.
    pub problems: Vec<Problem>,
    /// The key to pass as `after` for the next page; `None` when the listing is complete. The
    /// next page may still turn out empty.
    pub next_after: Option<LetterKey>,
}

/// A dead letter without its event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterSummary {
    /// The dead letter's key.
    pub key: LetterKey,
    /// The reason the entry was given up.
    pub reason: String,
    /// The HTTP status of the last response, if one arrived.
    pub status: Option<u16>,
    /// Attempts made, the last one included.
    pub attempts: u32,
    /// When the first attempt failed, in milliseconds since the Unix epoch.
    pub first_failure_ms: Option<u64>,
    /// When the entry was given up, in milliseconds since the Unix epoch.
    pub dead_at_ms: u64,
    /// The error of the last attempt that was retried, if any.
    pub last_error: Option<String>,
    /// The start of the last response body.
    pub response_snippet: String,
    /// The size of the stored event, in bytes.
    pub event_bytes: usize,
}

/// A dead letter with its event: `sluice dead show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterDetail {
    /// Everything but the event.
    #[serde(flatten)]
    pub summary: LetterSummary,
    /// The source that accepted the event, if the event can be read.
    pub source: Option<String>,
    /// The stored event in Amplitude's export shape, as templates see it in `input`; `None`
    /// when it cannot be read.
    pub event: Option<serde_json::Value>,
    /// The reason the event cannot be read.
    pub event_error: Option<String>,
}

/// The dead letters a replay or purge acts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// The named dead letters, at most [`MAX_KEYS_PER_REQUEST`].
    Keys {
        /// The keys.
        keys: Vec<LetterKey>,
    },
    /// Every dead letter that the destination has when the operation starts.
    Destination {
        /// The destination's name.
        destination: String,
    },
}

/// The result of a replay or purge.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionReport {
    /// Dead letters replayed or purged.
    pub count: u64,
    /// The dead letters acted on, when the request named keys; empty for a whole destination.
    pub letters: Vec<ActionItem>,
    /// Keys that were not found and dead letters that cannot be read, left in place.
    pub problems: Vec<Problem>,
}

/// One dead letter replayed or purged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    /// The dead letter's key.
    pub key: LetterKey,
    /// The event id under which a replayed event was queued again; `None` for a purge.
    pub queued_as: Option<u64>,
}

/// The result of dropping a destination's queue: `sluice queues drop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropReport {
    /// The destination.
    pub destination: String,
    /// Pending entries deleted.
    pub entries: u64,
    /// Dead letters deleted.
    pub dead_letters: u64,
}

/// The result of `sluice pause` or `sluice resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseReport {
    /// The destination.
    pub destination: String,
    /// Whether deliveries are paused now.
    pub paused: bool,
    /// Whether the request changed the state.
    pub changed: bool,
}

/// A problem with one dead letter that did not stop the operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The dead letter concerned, if the problem concerns one.
    pub key: Option<LetterKey>,
    /// A description of the problem.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letter_key_round_trips_through_text() {
        let key: LetterKey = "web-hook_2:1048577".parse().unwrap();
        assert_eq!(key.destination, "web-hook_2");
        assert_eq!(key.event_id, 1_048_577);
        assert_eq!(key.to_string(), "web-hook_2:1048577");
    }

    #[test]
    fn letter_key_rejects_malformed_text() {
        for text in ["", "hook", "hook:", ":5", "hook:+5", "hook:-5", "ho ok:5", "hook:5x", "a:b:5"]
        {
            assert!(text.parse::<LetterKey>().is_err(), "{text:?} was accepted");
        }
        assert!("hook:18446744073709551616".parse::<LetterKey>().is_err());
    }

    #[test]
    fn letter_key_error_shows_the_expected_form() {
        let error = "hook".parse::<LetterKey>().unwrap_err();
        assert!(error.to_string().contains("DESTINATION:EVENT_ID"), "{error}");
    }

    #[test]
    fn letter_key_is_a_json_string() {
        let key = LetterKey { destination: "hook".into(), event_id: 7 };
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"hook:7\"");
        let back: LetterKey = serde_json::from_str("\"hook:7\"").unwrap();
        assert_eq!(back, key);
        assert!(serde_json::from_str::<LetterKey>("\"hook\"").is_err());
    }

    #[test]
    fn target_reads_keys_or_destination() {
        let keys: Target = serde_json::from_str(r#"{"keys":["hook:1","hook:2"]}"#).unwrap();
        assert!(matches!(keys, Target::Keys { keys } if keys.len() == 2));
        let all: Target = serde_json::from_str(r#"{"destination":"hook"}"#).unwrap();
        assert_eq!(all, Target::Destination { destination: "hook".into() });
    }
}
