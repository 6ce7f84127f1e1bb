//! Streaming normalization: event objects read from JSON and written straight into their stored
//! MessagePack form, with no [`Value`] tree in between.
//!
//! Building a `Value` per event, then normalizing and encoding it, spends most of its time
//! allocating and freeing keys, strings and hash tables. This module does the same work in one
//! pass over the JSON. Each key and value is written to a byte buffer as it is read, with the
//! renames, the `$remote` replacement and the string cut of [`super::normalize`], and what
//! validation needs is noted on the way. [`EncodedEvent::finish`] then applies the rules that
//! depend on the whole request (the minimum id length can arrive after the events) and appends
//! the server's keys.
//!
//! The bytes differ from what [`crate::event::Event::encode`] writes (containers get 32-bit
//! length headers so their counts can be filled in afterwards) but decode to the same event.
//! When an event repeats a top-level key, or contains a key together with its renamed form, the
//! request is parsed again through the `Value` path, which defines what wins.
//!
//! NOTE: inside property objects a repeated key is written twice and the later value wins when
//! decoded, as in the `Value` path, but both copies count towards the nesting depth limit.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::event;
use crate::template::Number;

use super::amplitude::{JSON_NUMBER_TOKEN, KeyStr};
use super::normalize::{self, EventProblems, MAX_PROPERTY_DEPTH, MAX_STRING_CHARS, RequestContext};

/// An event written as MessagePack while it was parsed, waiting for [`EncodedEvent::finish`].
#[derive(Debug)]
pub struct EncodedEvent {
    /// The event's map: a map32 header whose count `finish` fills in, then the entries.
    map: Vec<u8>,
    /// Entries written to `map`.
    entries: u32,
    /// The string ids written, with their byte ranges in `map`.
    ids: Vec<IdEntry>,
    /// Whether an id was sent with a value that is not a string.
    non_string_ids: Vec<&'static str>,
    /// `Some(true)` for a valid `event_type`, `Some(false)` for an invalid one.
    event_type: Option<bool>,
    is_group_identify: bool,
    /// The event time, when sent as valid epoch milliseconds.
    time_ms: Option<i64>,
    /// Fields found invalid while reading.
    invalid: Vec<&'static str>,
}

#[derive(Debug)]
struct IdEntry {
    field: &'static str,
    /// The key and value bytes in `map`.
    range: Range<usize>,
    /// The id's length in characters, or `None` when it is invalid whatever the minimum.
    chars: Option<usize>,
}

/// The result of reading one element of `events`.
#[derive(Debug)]
pub enum Transcoded {
    /// The event, written.
    Event(EncodedEvent),
    /// The element is not an object; its JSON type is named.
    NotObject(&'static str),
    /// The event repeats a top-level key or contains a key with its renamed form, so the
    /// request must go through the `Value` path.
    NeedsValuePath,
}

/// The 5-byte header of a map whose count is filled in later.
const MAP32: u8 = 0xdf;
/// The 5-byte header of an array whose count is filled in later.
const ARRAY32: u8 = 0xdd;

/// Keys renamed in the stored event, with their new names.
const RENAMES: [(&str, &str); 4] = [
    ("ip", "ip_address"),
    ("insert_id", "$insert_id"),
    ("carrier", "device_carrier"),
    ("app_version", "version_name"),
];

/// Reads one element of `events`, writing it as it goes.
#[derive(Debug, Clone, Copy)]
pub struct EventSeed {
    /// The TCP peer's address, which replaces an `ip` of `"$remote"`.
    pub remote_ip: Option<IpAddr>,
}

/// Room reserved for one event's bytes; a typical SDK event takes 300 to 800.
const EVENT_BUFFER_CAPACITY: usize = 1024;

impl<'de> DeserializeSeed<'de> for EventSeed {
    type Value = Transcoded;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Transcoded, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventSeed {
    type Value = Transcoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("a string"))
    }

    fn visit_unit<E>(self) -> Result<Transcoded, E> {
        Ok(Transcoded::NotObject("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Transcoded, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Transcoded::NotObject("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Transcoded, A::Error> {
        let mut event = EncodedEvent {
            map: Vec::with_capacity(EVENT_BUFFER_CAPACITY),
            entries: 0,
            ids: Vec::with_capacity(2),
            non_string_ids: Vec::new(),
            event_type: None,
            is_group_identify: false,
            time_ms: None,
            invalid: Vec::new(),
        };
        event.map.extend_from_slice(&[MAP32, 0, 0, 0, 0]);
        let mut keys = KeySet { list: Vec::with_capacity(KeySet::LIST_MAX), set: None };
        let mut first = true;
        while let Some(key) = access.next_key::<KeyStr<'de>>()? {
            if first && key.0 == JSON_NUMBER_TOKEN {
                access.next_value::<IgnoredAny>()?;
                return Ok(Transcoded::NotObject("a number"));
            }
            first = false;
            let name = key.0;
            if !keys.insert(name.clone()) {
                drain_map(&mut access)?;
                return Ok(Transcoded::NeedsValuePath);
            }
            event.read_entry(&name, &mut access, self.remote_ip)?;
        }
        let renamed_conflict =
            RENAMES.iter().any(|(from, to)| keys.contains(from) && keys.contains(to));
        if renamed_conflict {
            return Ok(Transcoded::NeedsValuePath);
        }
        Ok(Transcoded::Event(event))
    }
}

/// Consumes the rest of a map.
fn drain_map<'de, A: MapAccess<'de>>(access: &mut A) -> Result<(), A::Error> {
    access.next_value::<IgnoredAny>()?;
    while access.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The top-level keys of one event, checked for repeats: a list while short, a hash set once
/// long, so that an event with thousands of keys costs no more than linear time.
struct KeySet<'de> {
    list: Vec<Cow<'de, str>>,
    set: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> KeySet<'de> {
    const LIST_MAX: usize = 32;

    /// Adds `key` and returns false when it was already there.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(key);
        }
        if self.list.contains(&key) {
            return false;
        }
        self.list.push(key);
        if self.list.len() > Self::LIST_MAX {
            self.set = Some(self.list.drain(..).collect());
        }
        true
    }

    fn contains(&self, key: &str) -> bool {
        match &self.set {
            Some(set) => set.contains(key),
            None => self.list.iter().any(|known| known == key),
        }
    }
}

impl EncodedEvent {
    /// Reads the value of `key` and writes the entry, applying the per-key rules.
    fn read_entry<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        access: &mut A,
        remote_ip: Option<IpAddr>,
    ) -> Result<(), A::Error> {
        match key {
            "user_id" | "device_id" => {
                let field = if key == "user_id" { "user_id" } else { "device_id" };
                let start = self.map.len();
                write_str(&mut self.map, field);
                let info = access.next_value_seed(Writer::new(&mut self.map, false))?;
                match info.kind {
                    Kind::Null => self.map.truncate(start),
                    Kind::String => {
                        let value = string_at(&self.map, start, field.len());
                        let chars = value.chars().count();
                        let listed = normalize::is_listed_invalid_id(value);
                        let chars = (!listed && chars <= MAX_STRING_CHARS).then_some(chars);
                        self.ids.push(IdEntry { field, range: start..self.map.len(), chars });
                        self.entries += 1;
                    }
                    _ => {
                        self.map.truncate(start);
                        self.non_string_ids.push(field);
                    }
                }
            }
            "event_type" => {
                let start = self.map.len();
                write_str(&mut self.map, key);
                let info = access.next_value_seed(Writer::new(&mut self.map, false))?;
                match info.kind {
                    Kind::Null => self.map.truncate(start),
                    Kind::String => {
                        let name = string_at(&self.map, start, key.len());
                        if normalize::is_valid_event_type(name) {
                            self.is_group_identify = name == normalize::GROUP_IDENTIFY;
                            self.event_type = Some(true);
                            self.entries += 1;
                        } else {
                            self.event_type = Some(false);
                            self.invalid.push("event_type");
                        }
                    }
                    _ => {
                        self.map.truncate(start);
                        self.event_type = Some(false);
                        self.invalid.push("event_type");
                    }
                }
            }
            "time" => {
                let value = access.next_value_seed(super::amplitude::ValueSeed::scalar())?;
                match normalize::parse_time(&value) {
                    normalize::TimeCheck::Absent => {}
                    normalize::TimeCheck::Valid(ms) => {
                        write_str(&mut self.map, "time");
                        write_int(&mut self.map, ms);
                        self.entries += 1;
                        self.time_ms = Some(ms);
                    }
                    normalize::TimeCheck::Invalid => self.invalid.push("time"),
                }
            }
            "insert_id" => {
                let start = self.map.len();
                write_str(&mut self.map, "$insert_id");
                let info = access.next_value_seed(Writer::new(&mut self.map, false))?;
                if matches!(info.kind, Kind::String) {
                    let id = string_at(&self.map, start, "$insert_id".len());
                    if id.len() > MAX_STRING_CHARS && id.chars().count() > MAX_STRING_CHARS {
                        self.invalid.push("insert_id");
                    }
                }
                self.entries += 1;
            }
            "ip" => {
                write_str(&mut self.map, "ip_address");
                let value_start = self.map.len();
                let info = access.next_value_seed(Writer::new(&mut self.map, true))?;
                if let (Kind::String, Some(remote)) = (info.kind, remote_ip) {
                    if &self.map[value_start..] == b"\xa7$remote" {
                        self.map.truncate(value_start);
                        write_str(&mut self.map, &remote.to_string());
                    }
                }
                self.entries += 1;
            }
            "carrier" | "app_version" => {
                let renamed = if key == "carrier" { "device_carrier" } else { "version_name" };
                write_str(&mut self.map, renamed);
                access.next_value_seed(Writer::new(&mut self.map, true))?;
                self.entries += 1;
            }
            "event_properties" | "user_properties" | "group_properties" | "groups" => {
                let field = normalize::property_field_name(key);
                write_str(&mut self.map, key);
                let info = access.next_value_seed(Writer::new(&mut self.map, true))?;
                match info.kind {
                    Kind::Object | Kind::Null => {
                        if info.depth > MAX_PROPERTY_DEPTH && field != "groups" {
                            self.invalid.push(field);
                        }
                    }
                    _ => self.invalid.push(field),
                }
                self.entries += 1;
            }
            name if normalize::SERVER_KEYS.contains(&name) => {
                access.next_value::<IgnoredAny>()?;
            }
            _ => {
                write_str(&mut self.map, key);
                access.next_value_seed(Writer::new(&mut self.map, true))?;
                self.entries += 1;
            }
        }
        Ok(())
    }

    /// Applies the rules that need the whole request, records the event's problems, and
    /// returns the stored event, or `None` when the event is invalid.
    pub fn finish(
        mut self,
        source: &str,
        index: usize,
        context: &RequestContext,
        problems: &mut EventProblems,
    ) -> Option<Vec<u8>> {
        let mut invalid = std::mem::take(&mut self.invalid);
        invalid.extend(self.non_string_ids.iter().copied());
        let mut has_id = false;
        let mut short_ids = Vec::new();
        // Drop short ids from the end backwards, so that earlier ranges stay valid.
        for id in self.ids.iter().rev() {
            match id.chars {
                None => invalid.push(id.field),
                Some(chars) if chars < context.min_id_length => {
                    self.map.drain(id.range.clone());
                    self.entries -= 1;
                    short_ids.push(id.field);
                }
                Some(_) => has_id = true,
            }
        }
        short_ids.reverse();
        for field in &invalid {
            EventProblems::add(&mut problems.invalid, field, index);
        }
        let complete = normalize::check_required(
            index,
            self.event_type,
            has_id,
            self.is_group_identify,
            &short_ids,
            problems,
        );
        if !invalid.is_empty() || !complete {
            return None;
        }

        let time_ms = match self.time_ms {
            Some(ms) => ms,
            None => {
                write_str(&mut self.map, "time");
                write_int(&mut self.map, context.received_ms);
                self.entries += 1;
                context.received_ms
            }
        };
        write_str(&mut self.map, "event_time");
        write_str(&mut self.map, &normalize::format_ms(time_ms));
        write_str(&mut self.map, "server_received_time");
        write_str(&mut self.map, &context.received_text);
        write_str(&mut self.map, "server_upload_time");
        write_str(&mut self.map, &context.received_text);
        self.entries += 3;
        if let Some(text) = &context.client_upload_time {
            write_str(&mut self.map, "client_upload_time");
            write_str(&mut self.map, text);
            self.entries += 1;
        }
        write_str(&mut self.map, "uuid");
        let mut uuid = uuid::Uuid::encode_buffer();
        write_str(&mut self.map, uuid::Uuid::new_v4().hyphenated().encode_lower(&mut uuid));
        self.entries += 1;
        self.map[1..5].copy_from_slice(&self.entries.to_be_bytes());

        let mut stored = Vec::with_capacity(self.map.len() + source.len() + 8);
        event::write_stored_prefix(source, &mut stored);
        stored.extend_from_slice(&self.map);
        Some(stored)
    }
}

/// Returns the string value written right after the key `key_len` bytes long at `start`.
fn string_at(map: &[u8], start: usize, key_len: usize) -> &str {
    let value_start = start + str_header_len(key_len) + key_len;
    let len_bytes = str_header_len_at(map, value_start);
    std::str::from_utf8(&map[value_start + len_bytes..]).unwrap_or_default()
}

fn str_header_len(len: usize) -> usize {
    match len {
        0..32 => 1,
        32..256 => 2,
        256..65_536 => 3,
        _ => 5,
    }
}

fn str_header_len_at(map: &[u8], at: usize) -> usize {
    match map.get(at) {
        Some(0xd9) => 2,
        Some(0xda) => 3,
        Some(0xdb) => 5,
        _ => 1,
    }
}

/// The JSON type of a value written by [`Writer`], with what validation needs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// The report of [`Writer`] on the value it wrote.
#[derive(Debug, Clone, Copy)]
struct Info {
    kind: Kind,
    /// 0 for a scalar, 1 plus the deepest child for an array or object.
    depth: usize,
}

/// Writes one JSON value as MessagePack, as `Value`'s serialization would store it.
struct Writer<'b> {
    out: &'b mut Vec<u8>,
    /// Whether strings are cut to [`MAX_STRING_CHARS`] characters.
    cut_strings: bool,
}

impl<'b> Writer<'b> {
    fn new(out: &'b mut Vec<u8>, cut_strings: bool) -> Writer<'b> {
        Writer { out, cut_strings }
    }

    fn string(self, text: &str) -> Info {
        let mut text = text;
        // A string of at most MAX_STRING_CHARS bytes cannot hold more characters.
        if self.cut_strings && text.len() > MAX_STRING_CHARS {
            if let Some((cut, _)) = text.char_indices().nth(MAX_STRING_CHARS) {
                text = &text[..cut];
            }
        }
        write_str(self.out, text);
        Info { kind: Kind::String, depth: 0 }
    }
}

impl<'de> DeserializeSeed<'de> for Writer<'_> {
    type Value = Info;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Info, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Writer<'_> {
    type Value = Info;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Info, E> {
        self.out.push(0xc0);
        Ok(Info { kind: Kind::Null, depth: 0 })
    }

    fn visit_bool<E>(self, b: bool) -> Result<Info, E> {
        self.out.push(if b { 0xc3 } else { 0xc2 });
        Ok(Info { kind: Kind::Bool, depth: 0 })
    }

    fn visit_i64<E>(self, n: i64) -> Result<Info, E> {
        write_int(self.out, n);
        Ok(Info { kind: Kind::Number, depth: 0 })
    }

    fn visit_u64<E>(self, n: u64) -> Result<Info, E> {
        write_number(self.out, &Number::from(n));
        Ok(Info { kind: Kind::Number, depth: 0 })
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Info, E> {
        let number = Number::from_f64(n)
            .ok_or_else(|| E::custom(format_args!("number {n} is not finite")))?;
        write_number(self.out, &number);
        Ok(Info { kind: Kind::Number, depth: 0 })
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Info, E> {
        Ok(self.string(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Info, E> {
        Ok(self.string(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Info, A::Error> {
        let header = self.out.len();
        self.out.extend_from_slice(&[ARRAY32, 0, 0, 0, 0]);
        let mut count: u32 = 0;
        let mut deepest = 0;
        while let Some(info) = seq.next_element_seed(Writer::new(self.out, self.cut_strings))? {
            count += 1;
            deepest = deepest.max(info.depth);
        }
        self.out[header + 1..header + 5].copy_from_slice(&count.to_be_bytes());
        Ok(Info { kind: Kind::Array, depth: deepest + 1 })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Info, A::Error> {
        let Some(first) = access.next_key::<KeyStr<'de>>()? else {
            self.out.push(0x80);
            return Ok(Info { kind: Kind::Object, depth: 1 });
        };
        if first.0 == JSON_NUMBER_TOKEN {
            let text: String = access.next_value()?;
            let number = Number::parse_literal(&text)
                .ok_or_else(|| de::Error::custom(format_args!("invalid number {text}")))?;
            write_number(self.out, &number);
            return Ok(Info { kind: Kind::Number, depth: 0 });
        }
        let header = self.out.len();
        self.out.extend_from_slice(&[MAP32, 0, 0, 0, 0]);
        write_str(self.out, &first.0);
        let info = access.next_value_seed(Writer::new(self.out, self.cut_strings))?;
        let mut count: u32 = 1;
        let mut deepest = info.depth;
        while let Some(key) = access.next_key::<KeyStr<'de>>()? {
            write_str(self.out, &key.0);
            let info = access.next_value_seed(Writer::new(self.out, self.cut_strings))?;
            count += 1;
            deepest = deepest.max(info.depth);
        }
        self.out[header + 1..header + 5].copy_from_slice(&count.to_be_bytes());
        Ok(Info { kind: Kind::Object, depth: deepest + 1 })
    }
}

/// Writes a number as `Value` stores it: an integer when it is one that fits an `i64`, else its
/// exact text (scale included) as a byte string.
fn write_number(out: &mut Vec<u8>, number: &Number) {
    match number.as_i64() {
        Some(n) => write_int(out, n),
        None => write_bin(out, number.to_exact_string().as_bytes()),
    }
}

/// Writes an integer in its shortest MessagePack form.
fn write_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => out.push(n as u8),
        -32..=-1 => out.push(n as i8 as u8),
        128..=255 => out.extend_from_slice(&[0xcc, n as u8]),
        256..=65_535 => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        65_536..=4_294_967_295 => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        4_294_967_296.. => {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32_768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32_769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Writes a string with the shortest header for its length.
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    let len = text.len();
    match len {
        0..32 => out.push(0xa0 | len as u8),
        32..256 => out.extend_from_slice(&[0xd9, len as u8]),
        256..65_536 => {
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(text.as_bytes());
}

fn write_bin(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    match len {
        0..256 => out.extend_from_slice(&[0xc4, len as u8]),
        256..65_536 => {
            out.push(0xc5);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xc6);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Value;

    /// Writes `json` with [`Writer`] and decodes the bytes as a stored value would be.
    fn round_trip(json: &str) -> Value {
        let mut out = Vec::new();
        let mut deserializer = serde_json::Deserializer::from_str(json);
        Writer::new(&mut out, false).deserialize(&mut deserializer).unwrap();
        rmp_serde::from_slice(&out).unwrap()
    }

    #[test]
    fn integers_decode_at_every_width() {
        let edges = [
            0i64,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            4_294_967_295,
            4_294_967_296,
            i64::MAX,
            -1,
            -32,
            -33,
            -128,
            -129,
            -32_768,
            -32_769,
            -2_147_483_648,
            -2_147_483_649,
            i64::MIN,
        ];
        for n in edges {
            assert_eq!(round_trip(&n.to_string()), Value::from(n), "{n}");
        }
    }

    #[test]
    fn strings_decode_at_every_header_width() {
        for len in [0, 31, 32, 255, 256, 65_535, 65_536] {
            let text = "x".repeat(len);
            assert_eq!(
                round_trip(&Value::from(text.as_str()).to_json()),
                Value::from(text),
                "{len}"
            );
        }
    }

    #[test]
    fn values_decode_like_value_parsing() {
        let documents = [
            r#"{"a":[1,2.50,-0,1e400,"x\u00e9",{"n":null,"t":true}],"b":{},"c":[]}"#,
            r#"[18446744073709551616,-9223372036854775809,0.1,false]"#,
            r#"{"dup":1,"other":2,"dup":3}"#,
        ];
        for json in documents {
            assert_eq!(round_trip(json), Value::from_json_str(json).unwrap(), "{json}");
        }
    }

    #[test]
    fn writer_reports_depth_and_cuts_strings() {
        let mut out = Vec::new();
        let long = format!(r#"{{"a":[["{}"]]}}"#, "é".repeat(2000));
        let mut deserializer = serde_json::Deserializer::from_str(&long);
        let info = Writer::new(&mut out, true).deserialize(&mut deserializer).unwrap();
        assert_eq!(info.depth, 3);
        let value: Value = rmp_serde::from_slice(&out).unwrap();
        let Some(Value::Seq(outer)) = value.get("a") else { panic!("no array") };
        let Value::Seq(inner) = &outer[0] else { panic!("no inner array") };
        assert_eq!(inner[0].as_str().unwrap().chars().count(), MAX_STRING_CHARS);
    }
}
