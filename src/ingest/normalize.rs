//! Validation of Amplitude events and their normalization into the event hash templates read.
//!
//! # Validation
//!
//! Each event is checked as Amplitude's HTTP V2 and Batch API documentation describes. A request
//! with any invalid event is rejected whole, and the response lists the failing events by index
//! (see `super::response`).
//!
//! - `event_type` is required: a non-empty string of at most 1,024 characters that is not one of
//!   the names Amplitude reserves (`[Amplitude] Start Session`, `[Amplitude] End Session`,
//!   `[Amplitude] Revenue`, `[Amplitude] Revenue (Verified)`, `[Amplitude] Revenue
//!   (Unverified)`, `[Amplitude] Merged User`).
//! - `user_id` or `device_id` is required, except on `$groupidentify` events. Those update a
//!   group rather than a user, so the official SDKs send them without ids (the Python SDK's own
//!   check exempts them). Each id must be a string of at most 1,024 characters and at least
//!   `options.min_id_length` characters (5 by default). An id that is too short is dropped from
//!   the event, as Amplitude does, and the event is rejected only when no id remains.
//! - The ids Amplitude lists as invalid reject the event: `anonymous`, `nil`, `none`, `null`,
//!   `n/a`, `na`, `undefined`, `unknown`, `""`, `00000000-0000-0000-0000-000000000000`, `{}`,
//!   `lmy47d`, `0`, `-1`, and the empty string. They are compared without regard to ASCII case.
//! - `time`, when sent and not null, is an integer number of milliseconds since the Unix epoch,
//!   from 1970 to the end of year 9999; any other value (an ISO 8601 string, say) is invalid.
//! - `event_properties`, `user_properties`, `group_properties` and `groups` are objects (or
//!   null), and the first three nest at most 40 levels deep, counting the object itself.
//! - `insert_id`, when a string, has at most 1,024 characters.
//!
//! Amplitude documents a limit of 1,024 characters for every string value without saying what
//! happens to longer ones. Its Android SDK cuts them to 1,024 characters before sending. sluice
//! cuts every other string value, at any depth, to its first 1,024 characters (Unicode scalar
//! values), and rejects the identifiers above instead, because cutting an id could merge
//! distinct users, devices or events.
//!
//! # Normalized keys
//!
//! The event keeps the client's keys in the order sent, with four renamed in place, and the
//! server's keys appended at the end:
//!
//! | event key | from the request | value |
//! | --- | --- | --- |
//! | `ip_address` | `ip` | as sent; `"$remote"` becomes the IP address of the TCP peer |
//! | `$insert_id` | `insert_id` | as sent |
//! | `device_carrier` | `carrier` | as sent |
//! | `version_name` | `app_version` | as sent |
//! | `user_id`, `device_id` | same | as sent; an id shorter than the minimum length is left out |
//! | `time` | `time` | epoch milliseconds as a number; the server receive time when not sent |
//! | `event_time` | `time` | the same instant as `YYYY-MM-DD HH:MM:SS.fff` UTC |
//! | `server_received_time` | none | when sluice received the request, same form |
//! | `server_upload_time` | none | the same instant as `server_received_time` |
//! | `client_upload_time` | top-level `client_upload_time` | same form; absent unless sent as ISO 8601 |
//! | `uuid` | none | a new random (version 4) UUID, lowercase with hyphens |
//! | anything else | same | as sent: exact numbers, nested key order, `null` kept |
//!
//! Keys the client did not send are absent, never null, except `time`, which is always present.
//! A `user_id`, `device_id` or `time` sent as null counts as not sent. The server's keys
//! (`event_time`, `server_received_time`, `server_upload_time`, `client_upload_time`, `uuid`)
//! replace any key of the same name inside an event. When an event contains both a key and its
//! renamed form (`ip` and `ip_address`, say), the value that comes later in the event wins and
//! keeps the position of the first.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::event;
use crate::template::{Map, Number, Value};

use super::amplitude::RawEvent;

/// Maximum length of a string value, in characters, as Amplitude documents it.
pub const MAX_STRING_CHARS: usize = 1024;

/// Maximum nesting depth of a property object, counting the object itself.
pub const MAX_PROPERTY_DEPTH: usize = 40;

/// Latest event time accepted: the end of year 9999, in milliseconds since the epoch.
pub const MAX_TIME_MS: i64 = event::MAX_UTC_MILLIS;

/// Event types Amplitude reserves for its own use.
const RESERVED_EVENT_TYPES: [&str; 6] = [
    "[Amplitude] Start Session",
    "[Amplitude] End Session",
    "[Amplitude] Revenue",
    "[Amplitude] Revenue (Verified)",
    "[Amplitude] Revenue (Unverified)",
    "[Amplitude] Merged User",
];

/// User and device ids Amplitude rejects, lowercase.
const INVALID_IDS: [&str; 15] = [
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "\"\"",
    "",
    "00000000-0000-0000-0000-000000000000",
    "{}",
    "lmy47d",
    "0",
    "-1",
];

/// The event type of a group property update, which needs no user or device id.
pub(crate) const GROUP_IDENTIFY: &str = "$groupidentify";

/// Keys that the server sets on every event, replacing a client's value under the same key.
pub(crate) const SERVER_KEYS: [&str; 5] =
    ["event_time", "server_received_time", "server_upload_time", "client_upload_time", "uuid"];

/// Request-level values that normalization applies to every event.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The minimum length of `user_id` and `device_id`, in characters.
    pub min_id_length: usize,
    /// When the request was received, in milliseconds since the epoch.
    pub received_ms: i64,
    /// `received_ms` as `YYYY-MM-DD HH:MM:SS.fff` UTC.
    pub received_text: String,
    /// The request's `client_upload_time` in the same form, when sent and readable.
    pub client_upload_time: Option<String>,
    /// The TCP peer's address, which replaces an `ip` of `"$remote"`.
    pub remote_ip: Option<IpAddr>,
}

impl RequestContext {
    /// Builds the context for a request received at `received_ms` (milliseconds since the
    /// epoch, clamped into the range event times can express).
    pub fn new(
        min_id_length: usize,
        received_ms: i64,
        client_upload_time: Option<&str>,
        remote_ip: Option<IpAddr>,
    ) -> RequestContext {
        let received_ms = received_ms.clamp(0, MAX_TIME_MS);
        let received_text = format_ms(received_ms);
        let client_upload_time = client_upload_time
            .and_then(parse_iso8601_micros)
            .and_then(|micros| event::format_utc_millis(micros.div_euclid(1000)));
        RequestContext { min_id_length, received_ms, received_text, client_upload_time, remote_ip }
    }
}

/// The events of a request that failed validation, by problem and field.
///
/// Each map goes from a field name to the indexes (into the request's `events`) of the events
/// with that problem, in ascending order.
#[derive(Debug, Default, PartialEq)]
pub struct EventProblems {
    /// Required fields that are absent or null.
    pub missing: BTreeMap<&'static str, Vec<usize>>,
    /// Fields with a value of the wrong type or form; the key `event` marks an element of
    /// `events` that is not a JSON object.
    pub invalid: BTreeMap<&'static str, Vec<usize>>,
    /// Ids shorter than the minimum length on events left with no id.
    pub invalid_id_lengths: BTreeMap<&'static str, Vec<usize>>,
}

impl EventProblems {
    /// Returns true when no event has a problem.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.invalid.is_empty() && self.invalid_id_lengths.is_empty()
    }

    pub(crate) fn add(
        map: &mut BTreeMap<&'static str, Vec<usize>>,
        field: &'static str,
        index: usize,
    ) {
        let indexes = map.entry(field).or_default();
        if indexes.last() != Some(&index) {
            indexes.push(index);
        }
    }
}

/// Validates every event and returns each one normalized and encoded for the outbox under
/// `source`, or the problems of all invalid events.
pub fn normalize_events(
    events: Vec<RawEvent>,
    context: &RequestContext,
    source: &str,
) -> Result<Vec<Vec<u8>>, EventProblems> {
    let mut problems = EventProblems::default();
    let mut encoded = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let stored = match event {
            RawEvent::Encoded(event) => event.finish(source, index, context, &mut problems),
            RawEvent::Object(fields) => normalize_event(fields, index, context, &mut problems)
                .map(|fields| event::encode_parts(source, &Value::Hash(fields))),
            RawEvent::NotObject(_) => {
                EventProblems::add(&mut problems.invalid, "event", index);
                None
            }
        };
        // Once an event is invalid the request is rejected, so later events need no encoding
        // kept. They are still checked, so that the response lists every problem.
        if let Some(stored) = stored {
            if problems.is_empty() {
                encoded.push(stored);
            }
        }
    }
    if problems.is_empty() { Ok(encoded) } else { Err(problems) }
}

/// Returns true for the ids Amplitude lists as invalid, compared without regard to ASCII case.
pub(crate) fn is_listed_invalid_id(id: &str) -> bool {
    INVALID_IDS.iter().any(|invalid| invalid.eq_ignore_ascii_case(id))
}

/// Records the missing `event_type` and missing or short ids of an event, and returns whether
/// it has what it needs. `event_type` is `Some(true)` when valid, `Some(false)` when invalid
/// (already recorded), and `None` when not sent.
pub(crate) fn check_required(
    index: usize,
    event_type: Option<bool>,
    has_id: bool,
    is_group_identify: bool,
    short_ids: &[&'static str],
    problems: &mut EventProblems,
) -> bool {
    let mut complete = event_type == Some(true);
    if event_type.is_none() {
        EventProblems::add(&mut problems.missing, "event_type", index);
    }
    if !has_id && !is_group_identify {
        if short_ids.is_empty() {
            EventProblems::add(&mut problems.missing, "device_id", index);
            EventProblems::add(&mut problems.missing, "user_id", index);
        }
        for field in short_ids {
            EventProblems::add(&mut problems.invalid_id_lengths, field, index);
        }
        complete = false;
    }
    complete
}

/// The outcome of checking one id field.
enum IdCheck {
    Valid,
    TooShort,
    Invalid,
    Absent,
}

fn check_id(value: &Value, min_length: usize) -> IdCheck {
    let id = match value {
        Value::Null => return IdCheck::Absent,
        Value::String(id) => id,
        _ => return IdCheck::Invalid,
    };
    if is_listed_invalid_id(id) {
        return IdCheck::Invalid;
    }
    let chars = id.chars().count();
    if chars > MAX_STRING_CHARS {
        IdCheck::Invalid
    } else if chars < min_length {
        IdCheck::TooShort
    } else {
        IdCheck::Valid
    }
}

/// The normalization step for one key of an event.
enum KeyAction {
    Keep,
    Remove,
    Rename(&'static str),
    Invalid(&'static str),
}

/// Validates and normalizes one event in place; records its problems and returns `None` when
/// invalid.
///
/// The event's map is edited in place (keys renamed at their index, a few removed, server keys
/// appended) rather than copied into a new map, because rebuilding the hash table for every
/// event costs more than the rest of normalization.
fn normalize_event(
    mut fields: Map,
    index: usize,
    context: &RequestContext,
    problems: &mut EventProblems,
) -> Option<Map> {
    let mut valid = true;
    let mut has_id = false;
    let mut short_ids: Vec<&'static str> = Vec::new();
    let mut has_event_type = false;
    let mut is_group_identify = false;
    let mut invalid_event_type = false;
    let mut time_ms = None;

    let mut position = 0;
    while let Some((key, value)) = fields.get_index_mut(position) {
        let action = match key.as_str() {
            "user_id" | "device_id" => {
                let field = if key == "user_id" { "user_id" } else { "device_id" };
                match check_id(value, context.min_id_length) {
                    IdCheck::Valid => {
                        has_id = true;
                        KeyAction::Keep
                    }
                    IdCheck::TooShort => {
                        short_ids.push(field);
                        KeyAction::Remove
                    }
                    IdCheck::Absent => KeyAction::Remove,
                    IdCheck::Invalid => KeyAction::Invalid(field),
                }
            }
            "event_type" => match value {
                Value::Null => KeyAction::Remove,
                Value::String(name) if is_valid_event_type(name) => {
                    has_event_type = true;
                    is_group_identify = name == GROUP_IDENTIFY;
                    KeyAction::Keep
                }
                _ => {
                    invalid_event_type = true;
                    KeyAction::Invalid("event_type")
                }
            },
            "time" => match parse_time(value) {
                TimeCheck::Absent => KeyAction::Remove,
                TimeCheck::Valid(ms) => {
                    time_ms = Some(ms);
                    *value = Value::Number(Number::from(ms));
                    KeyAction::Keep
                }
                TimeCheck::Invalid => KeyAction::Invalid("time"),
            },
            "insert_id" => match value {
                Value::String(id) if id.chars().count() > MAX_STRING_CHARS => {
                    KeyAction::Invalid("insert_id")
                }
                _ => KeyAction::Rename("$insert_id"),
            },
            "ip" => {
                if let (Value::String(ip), Some(remote)) = (&*value, context.remote_ip) {
                    if ip == "$remote" {
                        *value = Value::String(remote.to_string());
                    }
                }
                truncate_strings(value);
                KeyAction::Rename("ip_address")
            }
            "carrier" => {
                truncate_strings(value);
                KeyAction::Rename("device_carrier")
            }
            "app_version" => {
                truncate_strings(value);
                KeyAction::Rename("version_name")
            }
            "event_properties" | "user_properties" | "group_properties" | "groups" => {
                let field = property_field_name(key);
                match value {
                    Value::Hash(_) | Value::Null => {
                        let depth = truncate_strings(value);
                        if depth > MAX_PROPERTY_DEPTH && field != "groups" {
                            KeyAction::Invalid(field)
                        } else {
                            KeyAction::Keep
                        }
                    }
                    _ => KeyAction::Invalid(field),
                }
            }
            name if SERVER_KEYS.contains(&name) => KeyAction::Remove,
            _ => {
                truncate_strings(value);
                KeyAction::Keep
            }
        };
        match action {
            KeyAction::Keep => position += 1,
            KeyAction::Remove => {
                fields.shift_remove_index(position);
            }
            KeyAction::Rename(new_key) => position = rename_at(&mut fields, position, new_key),
            KeyAction::Invalid(field) => {
                EventProblems::add(&mut problems.invalid, field, index);
                valid = false;
                position += 1;
            }
        }
    }

    let event_type = match (has_event_type, invalid_event_type) {
        (_, true) => Some(false),
        (true, false) => Some(true),
        (false, false) => None,
    };
    let complete =
        check_required(index, event_type, has_id, is_group_identify, &short_ids, problems);
    if !(valid && complete) {
        return None;
    }

    let time_ms = match time_ms {
        Some(ms) => ms,
        None => {
            fields.insert("time".to_owned(), Value::Number(Number::from(context.received_ms)));
            context.received_ms
        }
    };
    fields.insert("event_time".to_owned(), Value::String(format_ms(time_ms)));
    fields.insert("server_received_time".to_owned(), Value::String(context.received_text.clone()));
    fields.insert("server_upload_time".to_owned(), Value::String(context.received_text.clone()));
    if let Some(text) = &context.client_upload_time {
        fields.insert("client_upload_time".to_owned(), Value::String(text.clone()));
    }
    fields.insert("uuid".to_owned(), Value::String(uuid::Uuid::new_v4().to_string()));
    Some(fields)
}

/// Renames the key at `position` to `new_key` and returns the position of the next key to
/// look at.
///
/// When the event already contains `new_key` elsewhere, the later of the two values wins and
/// takes the earlier position. The other entry is removed.
fn rename_at(fields: &mut Map, position: usize, new_key: &'static str) -> usize {
    let Err((existing, _)) = fields.replace_index(position, new_key.to_owned()) else {
        return position + 1;
    };
    if existing < position {
        // The entry at `position` is the later one: its value moves to the earlier entry.
        if let Some((_, value)) = fields.shift_remove_index(position) {
            fields[existing] = value;
        }
        position
    } else {
        // The entry at `existing` is the later one and has not been looked at yet.
        if let Some((_, mut value)) = fields.shift_remove_index(existing) {
            truncate_strings(&mut value);
            fields[position] = value;
        }
        let _ = fields.replace_index(position, new_key.to_owned());
        position + 1
    }
}

pub(crate) fn property_field_name(key: &str) -> &'static str {
    match key {
        "event_properties" => "event_properties",
        "user_properties" => "user_properties",
        "group_properties" => "group_properties",
        _ => "groups",
    }
}

pub(crate) fn is_valid_event_type(name: &str) -> bool {
    !name.is_empty()
        && !RESERVED_EVENT_TYPES.contains(&name)
        && (name.len() <= MAX_STRING_CHARS || name.chars().count() <= MAX_STRING_CHARS)
}

pub(crate) enum TimeCheck {
    Valid(i64),
    Invalid,
    Absent,
}

pub(crate) fn parse_time(value: &Value) -> TimeCheck {
    match value {
        Value::Null => TimeCheck::Absent,
        Value::Number(n) => match integral_i64(n) {
            Some(ms) if (0..=MAX_TIME_MS).contains(&ms) => TimeCheck::Valid(ms),
            _ => TimeCheck::Invalid,
        },
        _ => TimeCheck::Invalid,
    }
}

/// Returns the number as an `i64` when it is a whole number in range, including one written
/// with a zero fraction such as `1796396693812.0`.
fn integral_i64(number: &Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    let truncated = number.java_long_value();
    let equal = number.compare(&Number::long(truncated)) == Ok(std::cmp::Ordering::Equal);
    equal.then_some(truncated)
}

/// Formats milliseconds since the epoch, already known to be in range.
pub(crate) fn format_ms(ms: i64) -> String {
    event::format_utc_millis(ms).unwrap_or_default()
}

/// Cuts every string in `value` to [`MAX_STRING_CHARS`] characters and returns the nesting
/// depth: 0 for a scalar, 1 plus the deepest child for an array or object.
fn truncate_strings(value: &mut Value) -> usize {
    match value {
        Value::String(text) => {
            // A string of at most MAX_STRING_CHARS bytes cannot hold more characters.
            if text.len() > MAX_STRING_CHARS {
                if let Some((cut, _)) = text.char_indices().nth(MAX_STRING_CHARS) {
                    text.truncate(cut);
                }
            }
            0
        }
        Value::Seq(items) => 1 + items.iter_mut().map(truncate_strings).max().unwrap_or(0),
        Value::Hash(map) => 1 + map.values_mut().map(truncate_strings).max().unwrap_or(0),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// Parses an ISO 8601 (RFC 3339) date and time with a zone, such as
/// `2026-12-04T15:04:53.813Z` or `2026-12-04T15:04:31.787874+00:00`, into microseconds since
/// the epoch. Digits past microseconds are dropped.
pub fn parse_iso8601_micros(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0i64, |acc, &b| acc.checked_mul(10)?.checked_add(i64::from(b - b'0')))
    };
    let expect = |at: usize, allowed: &[u8]| bytes.get(at).is_some_and(|b| allowed.contains(b));

    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    let separators_ok = expect(4, b"-")
        && expect(7, b"-")
        && expect(10, b"Tt ")
        && expect(13, b":")
        && expect(16, b":");
    if !separators_ok {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut at = 19;
    let mut micros = 0i64;
    if expect(at, b".") {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                micros = micros * 10 + i64::from(bytes[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }

    let offset_minutes = match bytes.get(at)? {
        b'Z' | b'z' if at + 1 == bytes.len() => 0,
        sign @ (b'+' | b'-') => {
            let hours = digits(at + 1..at + 3)?;
            let minutes_at = if expect(at + 3, b":") { at + 4 } else { at + 3 };
            let minutes = digits(minutes_at..minutes_at + 2)?;
            if minutes_at + 2 != bytes.len() || hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };

    let days = event::days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000_000 + micros)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::amplitude::{self, Field, ParseError, ParseMode};

    const RECEIVED_MS: i64 = 1_796_396_700_000;

    fn context() -> RequestContext {
        RequestContext::new(5, RECEIVED_MS, None, Some("10.1.2.3".parse().unwrap()))
    }

    /// Normalizes events through both parse modes, checks that the two agree (apart from the
    /// random `uuid`), and returns the decoded events.
    fn run(events: &[&str], context: &RequestContext) -> Result<Vec<Map>, EventProblems> {
        let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
        let streaming = ParseMode::Streaming { remote_ip: context.remote_ip };
        let results: Vec<Result<Vec<Map>, EventProblems>> = [streaming, ParseMode::Values]
            .into_iter()
            .map(|mode| {
                let request = match amplitude::parse(body.as_bytes(), 1000, mode) {
                    Err(ParseError::NeedsValuePath) => {
                        amplitude::parse(body.as_bytes(), 1000, ParseMode::Values)
                    }
                    other => other,
                };
                let Ok(request) = request else { panic!("{body} did not parse") };
                let Field::Present(events) = request.events else { panic!("no events") };
                normalize_events(events, context, "test")
                    .map(|encoded| encoded.iter().map(|bytes| decoded_input(bytes)).collect())
            })
            .collect();
        let without_uuid = |result: &Result<Vec<Map>, EventProblems>| match result {
            Ok(events) => Ok(events
                .iter()
                .map(|event| {
                    let mut event = event.clone();
                    event.shift_remove("uuid");
                    event
                })
                .collect::<Vec<Map>>()),
            Err(problems) => Err(format!("{problems:?}")),
        };
        assert_eq!(without_uuid(&results[0]), without_uuid(&results[1]), "paths differ for {body}");
        results.into_iter().next().unwrap()
    }

    fn decoded_input(bytes: &[u8]) -> Map {
        let event = event::Event::decode(bytes).expect("stored event decodes");
        assert_eq!(event.source, "test");
        event.input.as_hash().cloned().expect("input is a hash")
    }

    fn normalize_one(json: &str) -> Result<Map, EventProblems> {
        run(&[json], &context()).map(|mut events| events.remove(0))
    }

    fn problems_of(json: &str) -> EventProblems {
        normalize_one(json).expect_err("event accepted")
    }

    fn indexes(pairs: &[(&'static str, &[usize])]) -> BTreeMap<&'static str, Vec<usize>> {
        pairs.iter().map(|(field, list)| (*field, list.to_vec())).collect()
    }

    #[test]
    fn renames_keys_in_place_and_appends_server_keys() {
        let event = normalize_one(
            r#"{"ip":"127.0.0.1","insert_id":"i-1","event_type":"Play","carrier":"Telco",
                "user_id":"user-1","app_version":"1.2","time":1796396693812,"x":1.50}"#,
        )
        .unwrap();
        let keys: Vec<&str> = event.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "ip_address",
                "$insert_id",
                "event_type",
                "device_carrier",
                "user_id",
                "version_name",
                "time",
                "x",
                "event_time",
                "server_received_time",
                "server_upload_time",
                "uuid"
            ]
        );
        assert_eq!(event["ip_address"], Value::from("127.0.0.1"));
        assert_eq!(event["time"], Value::from(1_796_396_693_812));
        assert_eq!(event["event_time"], Value::from("2026-12-04 15:04:53.812"));
        assert_eq!(event["server_received_time"], Value::from("2026-12-04 15:05:00.000"));
        assert_eq!(event["server_upload_time"], event["server_received_time"]);
        assert_eq!(event["x"].to_json(), "1.5");
    }

    #[test]
    fn uuid_is_a_v4_uuid() {
        let event = normalize_one(r#"{"event_type":"a","user_id":"user-1"}"#).unwrap();
        let text = event["uuid"].as_str().unwrap();
        let parsed = uuid::Uuid::parse_str(text).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(text, parsed.hyphenated().to_string());
    }

    #[test]
    fn missing_time_uses_receive_time() {
        let event = normalize_one(r#"{"event_type":"a","device_id":"dev-1"}"#).unwrap();
        assert_eq!(event["time"], Value::from(RECEIVED_MS));
        assert_eq!(event["event_time"], event["server_received_time"]);
        let event = normalize_one(r#"{"event_type":"a","device_id":"dev-1","time":null}"#).unwrap();
        assert_eq!(event["time"], Value::from(RECEIVED_MS));
    }

    #[test]
    fn remote_ip_replaces_dollar_remote() {
        let event =
            normalize_one(r#"{"event_type":"a","device_id":"dev-1","ip":"$remote"}"#).unwrap();
        assert_eq!(event["ip_address"], Value::from("10.1.2.3"));
    }

    #[test]
    fn client_upload_time_is_converted() {
        let context = RequestContext::new(5, RECEIVED_MS, Some("2026-12-04T15:04:53.813Z"), None);
        let events = run(&[r#"{"event_type":"a","user_id":"user-1"}"#], &context).unwrap();
        assert_eq!(events[0]["client_upload_time"], Value::from("2026-12-04 15:04:53.813"));
        let context = RequestContext::new(5, RECEIVED_MS, Some("yesterday"), None);
        let events = run(&[r#"{"event_type":"a","user_id":"user-1"}"#], &context).unwrap();
        assert!(!events[0].contains_key("client_upload_time"));
    }

    #[test]
    fn server_keys_replace_client_values() {
        let event = normalize_one(
            r#"{"uuid":"mine","event_time":"x","event_type":"a","user_id":"user-1"}"#,
        )
        .unwrap();
        assert_ne!(event["uuid"], Value::from("mine"));
        assert_eq!(event.keys().next().map(String::as_str), Some("event_type"));
    }

    #[test]
    fn renamed_key_conflicts_keep_later_value() {
        let event = normalize_one(
            r#"{"ip_address":"1.1.1.1","event_type":"a","ip":"2.2.2.2","user_id":"user-1"}"#,
        )
        .unwrap();
        assert_eq!(event["ip_address"], Value::from("2.2.2.2"));
        assert_eq!(event.get_index_of("ip_address"), Some(0));
        assert!(!event.contains_key("ip"));

        let event = normalize_one(
            r#"{"insert_id":"first","event_type":"a","$insert_id":"second","user_id":"user-1"}"#,
        )
        .unwrap();
        assert_eq!(event["$insert_id"], Value::from("second"));
        assert_eq!(event.get_index_of("$insert_id"), Some(0));
        assert_eq!(event.get_index_of("event_type"), Some(1));
        assert!(!event.contains_key("insert_id"));
    }

    #[test]
    fn short_id_is_dropped_when_other_id_valid() {
        let event =
            normalize_one(r#"{"event_type":"a","user_id":"abc","device_id":"dev-1"}"#).unwrap();
        assert!(!event.contains_key("user_id"));
        assert_eq!(event["device_id"], Value::from("dev-1"));
    }

    #[test]
    fn short_ids_alone_are_invalid_id_lengths() {
        let problems = problems_of(r#"{"event_type":"a","user_id":"abc","device_id":"d"}"#);
        assert_eq!(problems.invalid_id_lengths, indexes(&[("device_id", &[0]), ("user_id", &[0])]));
        assert!(problems.missing.is_empty());
        assert!(problems.invalid.is_empty());
    }

    #[test]
    fn min_id_length_option_applies() {
        let context = RequestContext::new(2, RECEIVED_MS, None, None);
        let events = run(&[r#"{"event_type":"a","user_id":"ab"}"#], &context).unwrap();
        assert_eq!(events[0]["user_id"], Value::from("ab"));
    }

    #[test]
    fn id_length_counts_characters() {
        assert!(normalize_one(r#"{"event_type":"a","user_id":"ééééé"}"#).is_ok());
        let problems = problems_of(r#"{"event_type":"a","user_id":"éééé"}"#);
        assert_eq!(problems.invalid_id_lengths, indexes(&[("user_id", &[0])]));
    }

    #[test]
    fn group_identify_needs_no_id() {
        let event =
            normalize_one(r#"{"event_type":"$groupidentify","groups":{"org":"acme"}}"#).unwrap();
        assert!(!event.contains_key("user_id"));
        let event = normalize_one(r#"{"event_type":"$groupidentify","user_id":"ab"}"#).unwrap();
        assert!(!event.contains_key("user_id"), "a short id is still dropped");
        let problems = problems_of(r#"{"event_type":"$identify"}"#);
        assert_eq!(problems.missing, indexes(&[("device_id", &[0]), ("user_id", &[0])]));
    }

    #[test]
    fn missing_ids_and_event_type() {
        let problems = problems_of(r#"{"time":1}"#);
        assert_eq!(
            problems.missing,
            indexes(&[("device_id", &[0]), ("event_type", &[0]), ("user_id", &[0])])
        );
        let problems = problems_of(r#"{"event_type":null,"user_id":null,"device_id":"dev-1"}"#);
        assert_eq!(problems.missing, indexes(&[("event_type", &[0])]));
    }

    #[test]
    fn listed_invalid_ids_are_rejected() {
        for id in INVALID_IDS.iter().chain(["None", "NULL", "Anonymous"].iter()) {
            let json = format!(
                r#"{{"event_type":"a","user_id":{},"device_id":"dev-1"}}"#,
                Value::from(*id).to_json()
            );
            let problems = problems_of(&json);
            assert_eq!(problems.invalid, indexes(&[("user_id", &[0])]), "{id}");
        }
    }

    #[test]
    fn non_string_ids_are_invalid() {
        let problems = problems_of(r#"{"event_type":"a","user_id":31467,"device_id":"dev-1"}"#);
        assert_eq!(problems.invalid, indexes(&[("user_id", &[0])]));
    }

    #[test]
    fn overlong_ids_are_invalid() {
        let long = "u".repeat(1025);
        let problems = problems_of(&format!(r#"{{"event_type":"a","device_id":"{long}"}}"#));
        assert_eq!(problems.invalid, indexes(&[("device_id", &[0])]));
        let problems =
            problems_of(&format!(r#"{{"event_type":"a","user_id":"u-123","insert_id":"{long}"}}"#));
        assert_eq!(problems.invalid, indexes(&[("insert_id", &[0])]));
        let exact = "u".repeat(1024);
        assert!(normalize_one(&format!(r#"{{"event_type":"a","device_id":"{exact}"}}"#)).is_ok());
    }

    #[test]
    fn event_type_rules() {
        for bad in [r#""""#, r#""[Amplitude] Revenue""#, "12", "[\"a\"]"] {
            let problems = problems_of(&format!(r#"{{"event_type":{bad},"user_id":"user-1"}}"#));
            assert_eq!(problems.invalid, indexes(&[("event_type", &[0])]), "{bad}");
            assert!(problems.missing.is_empty(), "{bad}");
        }
    }

    #[test]
    fn time_rules() {
        for bad in [r#""2026-12-04T15:04:53Z""#, "1.5", "-1", "253402300800000", "true"] {
            let problems =
                problems_of(&format!(r#"{{"event_type":"a","user_id":"u-123","time":{bad}}}"#));
            assert_eq!(problems.invalid, indexes(&[("time", &[0])]), "{bad}");
        }
        for same in ["1.796396693812e12", "1796396693812.0", "1796396693812.000"] {
            let json = format!(r#"{{"event_type":"a","user_id":"u-123","time":{same}}}"#);
            let event = normalize_one(&json).unwrap();
            assert_eq!(event["time"], Value::from(1_796_396_693_812), "{same}");
        }
    }

    #[test]
    fn property_objects_are_checked() {
        let problems =
            problems_of(r#"{"event_type":"a","user_id":"u-123","event_properties":"x"}"#);
        assert_eq!(problems.invalid, indexes(&[("event_properties", &[0])]));
        let deep = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
        assert!(
            normalize_one(&format!(
                r#"{{"event_type":"a","user_id":"u-123","user_properties":{deep}}}"#
            ))
            .is_ok()
        );
        let deeper = format!("{}1{}", "{\"a\":".repeat(41), "}".repeat(41));
        let problems = problems_of(&format!(
            r#"{{"event_type":"a","user_id":"u-123","user_properties":{deeper}}}"#
        ));
        assert_eq!(problems.invalid, indexes(&[("user_properties", &[0])]));
    }

    #[test]
    fn long_strings_are_cut_at_any_depth() {
        let long = "é".repeat(1500);
        let event = normalize_one(&format!(
            r#"{{"event_type":"a","user_id":"u-123","title":"{long}","event_properties":{{"a":["{long}"]}}}}"#
        ))
        .unwrap();
        assert_eq!(event["title"].as_str().unwrap().chars().count(), 1024);
        let Value::Hash(props) = &event["event_properties"] else { panic!("no properties") };
        let Value::Seq(items) = &props["a"] else { panic!("no array") };
        assert_eq!(items[0].as_str().unwrap().chars().count(), 1024);
    }

    #[test]
    fn problems_collect_over_all_events() {
        let events = [
            r#"{"event_type":"a","user_id":"u-123"}"#,
            r#"{"user_id":"u-123"}"#,
            r#""not an event""#,
            r#"{"event_type":"a","user_id":"u-123","time":"x"}"#,
            r#"{"user_id":"u-123"}"#,
        ];
        let problems = run(&events, &context()).unwrap_err();
        assert_eq!(problems.missing, indexes(&[("event_type", &[1, 4])]));
        assert_eq!(problems.invalid, indexes(&[("event", &[2]), ("time", &[3])]));
    }

    #[test]
    fn values_are_kept_exactly() {
        let event = normalize_one(
            r#"{"event_type":"a","user_id":"u-123","p":{"z":null,"a":[12345678901234567890,1e+21,-1e-06]}}"#,
        )
        .unwrap();
        assert_eq!(
            event["p"].to_json(),
            r#"{"z":null,"a":[12345678901234567890,1000000000000000000000,-0.000001]}"#
        );
    }

    #[test]
    fn iso8601_parsing() {
        let cases = [
            ("2026-12-04T15:04:53.813Z", Some(1_796_396_693_813_000)),
            ("2026-12-04T15:04:31.787874+00:00", Some(1_796_396_671_787_874)),
            ("2026-12-04T16:04:31.5+01:00", Some(1_796_396_671_500_000)),
            ("2026-12-04T15:04:31.1234567891Z", Some(1_796_396_671_123_456)),
            ("2026-12-04 15:04:31Z", Some(1_796_396_671_000_000)),
            ("2026-12-04T10:04:31-0500", Some(1_796_396_671_000_000)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000_000)),
            ("2023-02-29T00:00:00Z", None),
            ("2026-12-04T15:04:31", None),
            ("2026-12-04T15:04:31.Z", None),
            ("2026-13-04T15:04:31Z", None),
            ("2026-12-04T15:04:31Zjunk", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_iso8601_micros(text), expected, "{text}");
        }
    }
}
