//! The normalized event: what every ingest API produces and every template reads as `input`.
//!
//! An event is a hash with the key names of Amplitude's export format (`event_type`, `user_id`,
//! `event_time`, `ip_address`, `$insert_id`, ...), so templates written for Amplitude's event
//! streaming work unchanged. `crate::ingest::normalize` lists how each Amplitude request key
//! becomes an event key, and `docs/templates.md` lists every key.
//!
//! Times that the export format stores as strings (`event_time`, `server_received_time`,
//! `server_upload_time`, `client_upload_time`) are UTC in the form `YYYY-MM-DD HH:MM:SS.fff`,
//! which [`format_utc_millis`] writes. Millisecond precision is what Amplitude's event
//! streaming hands its templates, and what they parse with `?datetime("yyyy-MM-dd
//! HH:mm:ss.SSS")`: Java's pattern reads every digit after the point as milliseconds, so six
//! digits (`.482000`) would move the time by minutes.
//!
//! Events are stored in the outbox as MessagePack (rmp-serde) with a format version, and decoded
//! again by dispatch for every destination that takes them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::template::Value;

/// The version written into every stored event; raised when the stored shape changes.
pub const FORMAT_VERSION: u8 = 1;

/// The latest instant [`format_utc_millis`] accepts: 9999-12-31 23:59:59.999 UTC, in
/// milliseconds since the Unix epoch.
pub const MAX_UTC_MILLIS: i64 = 253_402_300_799_999;

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
    source: Cow<'a, str>,
    input: Cow<'a, Value>,
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
        encode_parts(&self.source, &self.input)
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

/// Encodes an event from its parts, exactly as [`Event::encode`] does, without building an
/// [`Event`] first.
pub fn encode_parts(source: &str, input: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_parts_into(source, input, &mut out);
    out
}

/// Appends an event encoded from its parts to `out`; a caller that knows the rough size can
/// reserve it and save the buffer's regrowth.
pub fn encode_parts_into(source: &str, input: &Value, out: &mut Vec<u8>) {
    let stored = Stored {
        version: FORMAT_VERSION,
        source: Cow::Borrowed(source),
        input: Cow::Borrowed(input),
    };
    // rmp-serde fails only when the writer fails or a type has no MessagePack form. Writing to
    // a Vec cannot fail, and `Value` serializes only to nil, bool, integer, string, bytes,
    // array and map, which all have one.
    rmp_serde::encode::write(out, &stored).expect("encoding a value to a Vec cannot fail");
}

/// Writes the start of a stored event, everything before the input hash, so that a caller
/// that writes the hash in MessagePack itself produces what [`Event::decode`] reads.
///
/// The stored form is a three-element array: the format version, the source, the input.
pub fn write_stored_prefix(source: &str, out: &mut Vec<u8>) {
    const _: () = assert!(FORMAT_VERSION < 128, "the version must fit a positive fixint");
    // A fixarray of three elements, then the version as a positive fixint.
    out.push(0x93);
    out.push(FORMAT_VERSION);
    rmp_serde::encode::write(out, source).expect("encoding a str to a Vec cannot fail");
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS.fff` in UTC.
///
/// Returns `None` outside 1970-01-01 00:00:00 to [`MAX_UTC_MILLIS`], the range the export
/// format's four-digit years and the ingest APIs' epoch times can express.
pub fn format_utc_millis(millis: i64) -> Option<String> {
    if !(0..=MAX_UTC_MILLIS).contains(&millis) {
        return None;
    }
    let days = millis.div_euclid(86_400_000);
    let millis_of_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let seconds_of_day = millis_of_day / 1000;
    let fraction = millis_of_day % 1000;
    let (hour, minute, second) =
        (seconds_of_day / 3600, seconds_of_day / 60 % 60, seconds_of_day % 60);
    // Written digit by digit: `format!` with widths costs several times as much, and ingest
    // formats a time for every event.
    let mut out = String::with_capacity(23);
    push_digits(&mut out, year, 4);
    out.push('-');
    push_digits(&mut out, i64::from(month), 2);
    out.push('-');
    push_digits(&mut out, i64::from(day), 2);
    out.push(' ');
    push_digits(&mut out, hour, 2);
    out.push(':');
    push_digits(&mut out, minute, 2);
    out.push(':');
    push_digits(&mut out, second, 2);
    out.push('.');
    push_digits(&mut out, fraction, 3);
    Some(out)
}

/// Appends the last `width` decimal digits of a non-negative `value`, zero-padded.
fn push_digits(out: &mut String, value: i64, width: usize) {
    let mut digits = [b'0'; 6];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend(digits[..width].iter().map(|&digit| char::from(digit)));
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
///
/// Counts in 400-year eras of 146,097 days whose years start on March 1, so the leap day is the
/// last day of its year and month lengths follow a linear formula.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch from 1970-01-01 to 0000-03-01.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 is March, 11 is February.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * march_month + 2) / 5 + 1) as u32;
    let month = if march_month < 10 { march_month + 3 } else { march_month - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Converts a proleptic Gregorian date into days since 1970-01-01; the inverse of
/// [`civil_from_days`]. `month` is 1 to 12 and `day` 1 to 31.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * march_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Map;

    #[test]
    fn encode_decode_round_trip() {
        let input = Value::from_json_str(
            r#"{"event_type":"Song Played","big":12345678901234567890,"n":-1e-06,"x":null}"#,
        )
        .unwrap();
        let event = Event { source: "web".to_owned(), input };
        let back = Event::decode(&event.encode()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn stored_prefix_matches_encode() {
        let input = Value::from_json_str(r#"{"a":1}"#).unwrap();
        let mut written = Vec::new();
        write_stored_prefix("a source name longer than thirty-one bytes", &mut written);
        written.extend_from_slice(&rmp_serde::to_vec(&input).unwrap());
        assert_eq!(written, encode_parts("a source name longer than thirty-one bytes", &input));
    }

    #[test]
    fn decode_rejects_newer_version() {
        let stored = Stored {
            version: FORMAT_VERSION + 1,
            source: Cow::Borrowed("web"),
            input: Cow::Owned(Value::Hash(Map::default())),
        };
        let bytes = rmp_serde::to_vec(&stored).unwrap();
        assert!(matches!(Event::decode(&bytes), Err(DecodeError::Version(v)) if v == 2));
    }

    #[test]
    fn decode_rejects_non_hash_input() {
        let stored =
            Stored { version: 1, source: Cow::Borrowed("web"), input: Cow::Owned(Value::Null) };
        let bytes = rmp_serde::to_vec(&stored).unwrap();
        assert!(matches!(Event::decode(&bytes), Err(DecodeError::Shape)));
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(matches!(Event::decode(b"\xc1\xc1"), Err(DecodeError::Format(_))));
    }

    #[test]
    fn format_utc_millis_examples() {
        let cases = [
            (0, "1970-01-01 00:00:00.000"),
            (1_796_396_693_812, "2026-12-04 15:04:53.812"),
            (951_782_400_001, "2000-02-29 00:00:00.001"),
            (MAX_UTC_MILLIS, "9999-12-31 23:59:59.999"),
        ];
        for (millis, text) in cases {
            assert_eq!(format_utc_millis(millis).as_deref(), Some(text), "{millis}");
        }
    }

    #[test]
    fn format_utc_millis_rejects_out_of_range() {
        assert_eq!(format_utc_millis(-1), None);
        assert_eq!(format_utc_millis(MAX_UTC_MILLIS + 1), None);
    }

    #[test]
    fn civil_days_round_trip() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days, "{year}-{month}-{day}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
