//! The values templates read: JSON-like data with exact numbers and ordered hashes.
//!
//! A `Value` is what an event, a destination's parameters or a test data file becomes. JSON
//! `null` is kept as [`Value::Null`] because FreeMarker still lists a null-valued key in `?keys`
//! and counts it in `?size`, while reading it gives a missing value.
//!
//! Serialization has two forms. Human-readable serializers (JSON) see plain JSON with numbers
//! written exactly as parsed. Binary serializers (MessagePack through rmp-serde, the outbox's
//! storage format) see native integers for numbers that fit an `i64` and a byte string holding the
//! decimal text for every other number, so a stored event reads back exactly as it arrived.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

pub use super::number::Number;

/// An ordered hash: keys keep the order of the source document.
///
/// Keys come from clients, so the hasher is seeded at random per process against hash flooding.
/// foldhash is used because it hashes short keys faster than the standard library's SipHash.
/// Build one with `Map::default()` or `Map::with_capacity_and_hasher(n, Default::default())`.
pub type Map = IndexMap<String, Value, foldhash::fast::RandomState>;

/// A template value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`; reads as a missing value.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, exact at any size.
    Number(Number),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Value>),
    /// A hash whose keys keep their insertion order.
    Hash(Map),
}

/// The struct name serde_json's `arbitrary_precision` feature uses to carry a number's text.
const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The struct name the toml crate uses to carry a datetime's text.
const TOML_DATETIME_TOKEN: &str = "$__toml_private_datetime";

impl Value {
    /// Parses a JSON document, keeping every number exactly as written.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Parses a JSON document from a string, keeping every number exactly as written.
    pub fn from_json_str(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Returns the value under `key` when this is a hash.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Hash(map) => map.get(key),
            _ => None,
        }
    }

    /// Returns the string when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the hash when this is a hash.
    pub fn as_hash(&self) -> Option<&Map> {
        match self {
            Value::Hash(map) => Some(map),
            _ => None,
        }
    }

    /// Returns true for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Appends this value as compact JSON to `out`, numbers exactly, keys in order.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => n.write_json(out),
            Value::String(s) => write_json_string(s, out),
            Value::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Value::Hash(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(key, out);
                    out.push(':');
                    item.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// Returns this value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

/// Appends `s` to `out` as a quoted JSON string literal.
///
/// Escapes `"`, `\` and the control characters below U+0020, which is what RFC 8259 requires;
/// everything else, including non-ASCII text, is copied as UTF-8.
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl fmt::Display for Value {
    /// Formats the value as compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(Number::from(n))
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::Hash(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Seq(items)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    serializer.serialize_i64(i)
                } else if serializer.is_human_readable() {
                    use serde::ser::SerializeStruct;
                    let mut s = serializer.serialize_struct(JSON_NUMBER_TOKEN, 1)?;
                    s.serialize_field(JSON_NUMBER_TOKEN, &n.to_json_string())?;
                    s.end()
                } else {
                    serializer.serialize_bytes(n.to_exact_string().as_bytes())
                }
            }
            Value::String(s) => serializer.serialize_str(s),
            Value::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Hash(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, item) in map {
                    out.serialize_entry(key, item)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(n)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format_args!("number {n} is not finite")))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Value, E> {
        // Binary formats carry non-i64 numbers as their decimal text in a byte string.
        std::str::from_utf8(bytes)
            .ok()
            .and_then(Number::parse_literal)
            .map(Value::Number)
            .ok_or_else(|| E::custom("byte string is not a stored number"))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity_and_hasher(
            access.size_hint().unwrap_or(0).min(4096),
            Default::default(),
        );
        let mut first = true;
        while let Some(key) = access.next_key::<String>()? {
            if first && (key == JSON_NUMBER_TOKEN || key == TOML_DATETIME_TOKEN) {
                let text: String = access.next_value()?;
                if key == TOML_DATETIME_TOKEN {
                    return Ok(Value::String(text));
                }
                return Number::parse_literal(&text)
                    .map(Value::Number)
                    .ok_or_else(|| de::Error::custom(format_args!("invalid number {text}")));
            }
            first = false;
            let item: Value = access.next_value()?;
            // A repeated key keeps its first position and takes the last value, as FreeMarker's
            // JSON reading does; `IndexMap::insert` behaves exactly so.
            map.insert(key, item);
        }
        Ok(Value::Hash(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_round_trip_exactly() {
        let text = r#"{"big":12345678901234567890,"exp":1e+21,"neg":-1e-06,"d":59.98,"i":-7}"#;
        let value = Value::from_json_str(text).unwrap();
        assert_eq!(
            value.to_json(),
            r#"{"big":12345678901234567890,"exp":1000000000000000000000,"neg":-0.000001,"d":59.98,"i":-7}"#
        );
    }

    #[test]
    fn msgpack_round_trip_keeps_numbers_and_order() {
        let text = r#"{"z":1,"a":[true,null,"x",1.50,18446744073709551616],"m":{}}"#;
        let value = Value::from_json_str(text).unwrap();
        let bytes = rmp_serde::to_vec(&value).unwrap();
        let back: Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, value);
        let keys: Vec<_> = back.as_hash().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn repeated_key_keeps_first_position_last_value() {
        let value = Value::from_json_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(value.to_json(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn json_string_escapes_controls() {
        let mut out = String::new();
        write_json_string("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    #[test]
    fn serde_json_serializes_exact_numbers() {
        let value = Value::from_json_str(r#"[1.50,3]"#).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), "[1.5,3]");
    }
}
