//! Request bodies of Amplitude's HTTP V2 (`POST /2/httpapi`) and Batch (`POST /batch`) APIs.
//!
//! Both APIs take the same JSON object:
//!
//! - `api_key` (string, required): the project's API key.
//! - `events` (array, required): one or more event objects.
//! - `options` (object, optional): `min_id_length`, the minimum length of `user_id` and
//!   `device_id`, 5 unless set.
//!
//! Other top-level keys are tolerated and ignored, except `client_upload_time`, which the Node
//! SDK sends as an ISO 8601 string and which is copied onto every event.
//!
//! The body is parsed once with serde_json, numbers kept exact. In [`ParseMode::Streaming`], the
//! server's mode, each event is written in its stored form as it is read. In
//! [`ParseMode::Values`], each event becomes an ordered [`Map`] of [`Value`]s. The number of
//! events is counted while parsing, so an oversized `events` array is rejected before it is
//! built whole.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::template::{Map, Number, Value};

use super::transcode::{EncodedEvent, EventSeed, Transcoded};

/// The minimum length of `user_id` and `device_id` when `options.min_id_length` is not sent.
pub const DEFAULT_MIN_ID_LENGTH: usize = 5;

/// A top-level field as it appeared in the request.
#[derive(Debug, PartialEq)]
pub enum Field<T> {
    /// The key was not sent.
    Absent,
    /// The key was sent with `null`.
    Null,
    /// The key was sent with a value of the wrong JSON type, named here ("a number", ...).
    WrongType(&'static str),
    /// The key was sent with a value of the expected type.
    Present(T),
}

/// One element of the `events` array.
#[derive(Debug)]
pub enum RawEvent {
    /// An object already written in its stored form ([`ParseMode::Streaming`]).
    Encoded(EncodedEvent),
    /// A JSON object, keys in the order sent ([`ParseMode::Values`]).
    Object(Map),
    /// Any other JSON value, named here ("a string", ...).
    NotObject(&'static str),
}

/// A parsed request body, before validation.
#[derive(Debug)]
pub struct UploadRequest<'a> {
    /// `api_key`.
    pub api_key: Field<Cow<'a, str>>,
    /// `events`.
    pub events: Field<Vec<RawEvent>>,
    /// `options`, kept whole; only `min_id_length` is read.
    pub options: Field<Value>,
    /// `client_upload_time`, when sent as a string.
    pub client_upload_time: Option<Cow<'a, str>>,
}

/// A failure to parse a request body.
#[derive(Debug)]
pub enum ParseError {
    /// The body is not UTF-8.
    Utf8(std::str::Utf8Error),
    /// The body is not valid JSON, not a JSON object, or nests too deep.
    Json(serde_json::Error),
    /// `events` contains more than the allowed number of events.
    TooManyEvents {
        /// The allowed number.
        max: usize,
    },
    /// An event repeats a top-level key or contains a key with its renamed form. Only
    /// [`ParseMode::Values`] handles that, so parse the body again in that mode.
    NeedsValuePath,
}

/// The way [`parse`] reads events.
#[derive(Debug, Clone, Copy)]
pub enum ParseMode {
    /// Each event is written in its stored form while it is read, with no `Value` tree (the
    /// fast path; see `super::transcode`).
    Streaming {
        /// The TCP peer's address, which replaces an `ip` of `"$remote"`.
        remote_ip: Option<IpAddr>,
    },
    /// Each event is read into an ordered map of `Value`s, which resolves repeated keys.
    Values,
}

/// Conditions that end parsing early, noted so that [`parse`] can report them.
#[derive(Default)]
struct Flags {
    too_many: Cell<bool>,
    needs_value_path: Cell<bool>,
}

/// Parses a request body, rejecting an `events` array longer than `max_events` as soon as its
/// element `max_events + 1` has been read.
pub fn parse(
    body: &[u8],
    max_events: usize,
    mode: ParseMode,
) -> Result<UploadRequest<'_>, ParseError> {
    // One pass over the whole body is cheaper than serde_json checking each string on its own.
    let text = std::str::from_utf8(body).map_err(ParseError::Utf8)?;
    let flags = Flags::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = RequestSeed { max_events, mode, flags: &flags };
    let result = seed.deserialize(&mut deserializer).and_then(|request| {
        deserializer.end()?;
        Ok(request)
    });
    match result {
        Ok(request) => Ok(request),
        Err(_) if flags.too_many.get() => Err(ParseError::TooManyEvents { max: max_events }),
        Err(_) if flags.needs_value_path.get() => Err(ParseError::NeedsValuePath),
        Err(error) => Err(ParseError::Json(error)),
    }
}

/// Returns the options' `min_id_length`, or an explanation of why it is invalid.
pub fn min_id_length(options: &Field<Value>) -> Result<usize, String> {
    let options = match options {
        Field::Absent | Field::Null => return Ok(DEFAULT_MIN_ID_LENGTH),
        Field::WrongType(kind) => {
            return Err(format!("options is {kind}; send a JSON object or leave it out"));
        }
        Field::Present(value) => value,
    };
    match options.get("min_id_length") {
        None | Some(Value::Null) => Ok(DEFAULT_MIN_ID_LENGTH),
        Some(Value::Number(n)) => match n.to_string().parse::<usize>().ok() {
            Some(length) => Ok(length),
            None => Err(format!(
                "options.min_id_length is {n}; send a non-negative integer or leave it out"
            )),
        },
        Some(other) => Err(format!(
            "options.min_id_length is {}; send a non-negative integer or leave it out",
            json_type_name(other)
        )),
    }
}

/// Names the JSON type of a value for messages ("a string", "an object", ...).
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "an array",
        Value::Hash(_) => "an object",
    }
}

struct RequestSeed<'c> {
    max_events: usize,
    mode: ParseMode,
    flags: &'c Flags,
}

impl<'de> DeserializeSeed<'de> for RequestSeed<'_> {
    type Value = UploadRequest<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // `deserialize_any` rather than `deserialize_map`, so that a body of another type gets
        // an error naming its type without quoting its content, which may hold a secret.
        deserializer.deserialize_any(self)
    }
}

/// Builds the error for a body that is valid JSON but not an object.
fn not_an_object<E: de::Error>(kind: &str) -> E {
    E::custom(format_args!("the body is {kind}, not a JSON object"))
}

impl<'de> Visitor<'de> for RequestSeed<'_> {
    type Value = UploadRequest<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with api_key and events")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(not_an_object("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(not_an_object("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(not_an_object("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(not_an_object("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(not_an_object("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(not_an_object("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_an_object("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut request = UploadRequest {
            api_key: Field::Absent,
            events: Field::Absent,
            options: Field::Absent,
            client_upload_time: None,
        };
        while let Some(key) = map.next_key::<KeyStr<'de>>()? {
            match key.0.as_ref() {
                JSON_NUMBER_TOKEN => return Err(not_an_object("a number")),
                "api_key" => {
                    reject_duplicate(&request.api_key, "api_key")?;
                    request.api_key = map.next_value_seed(StrSeed)?;
                }
                "events" => {
                    reject_duplicate(&request.events, "events")?;
                    let seed =
                        EventsSeed { max: self.max_events, mode: self.mode, flags: self.flags };
                    request.events = map.next_value_seed(seed)?;
                }
                "options" => {
                    reject_duplicate(&request.options, "options")?;
                    request.options = match map.next_value::<Value>()? {
                        Value::Null => Field::Null,
                        value @ Value::Hash(_) => Field::Present(value),
                        other => Field::WrongType(json_type_name(&other)),
                    };
                }
                "client_upload_time" => {
                    request.client_upload_time = match map.next_value_seed(StrSeed)? {
                        Field::Present(text) => Some(text),
                        _ => None,
                    };
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

fn reject_duplicate<T, E: de::Error>(field: &Field<T>, name: &str) -> Result<(), E> {
    if matches!(field, Field::Absent) {
        Ok(())
    } else {
        Err(E::custom(format_args!("duplicate key `{name}`")))
    }
}

/// A key that borrows from the body when it has no escapes.
pub(crate) struct KeyStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match StrSeed.deserialize(deserializer)? {
            Field::Present(text) => Ok(KeyStr(text)),
            _ => Err(de::Error::custom("object key is not a string")),
        }
    }
}

/// Reads any JSON value, keeping a string (borrowed when it has no escapes) and naming the type
/// of anything else.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Field<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Field<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Present(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Field::Present(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Field::Present(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::WrongType("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::WrongType("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::WrongType("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::WrongType("a number"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::WrongType("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Field::WrongType(skip_map(map)?))
    }
}

/// The key under which serde_json's `arbitrary_precision` feature presents a number as a
/// one-entry map.
pub(crate) const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Consumes a map and names what it was: a number in `arbitrary_precision` form, or an object.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<&'static str, A::Error> {
    let kind = match map.next_key::<KeyStr<'de>>()? {
        Some(key) if key.0 == JSON_NUMBER_TOKEN => "a number",
        Some(_) => "an object",
        None => return Ok("an object"),
    };
    map.next_value::<IgnoredAny>()?;
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(kind)
}

/// Reads the `events` value, counting elements as they arrive.
struct EventsSeed<'c> {
    max: usize,
    mode: ParseMode,
    flags: &'c Flags,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = Field<Vec<RawEvent>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // Any JSON value is read whole; a value that is not an array is named in the reply.
        match deserializer.deserialize_any(self)? {
            EventsValue::Array(events) => Ok(Field::Present(events)),
            EventsValue::Null => Ok(Field::Null),
            EventsValue::Other(kind) => Ok(Field::WrongType(kind)),
        }
    }
}

enum EventsValue {
    Array(Vec<RawEvent>),
    Null,
    Other(&'static str),
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = EventsValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of event objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(self.max));
        loop {
            let event = match self.mode {
                ParseMode::Values => match seq.next_element::<EventValue>()? {
                    Some(event) => event.0,
                    None => break,
                },
                ParseMode::Streaming { remote_ip } => {
                    match seq.next_element_seed(EventSeed { remote_ip })? {
                        Some(Transcoded::Event(event)) => RawEvent::Encoded(event),
                        Some(Transcoded::NotObject(kind)) => RawEvent::NotObject(kind),
                        Some(Transcoded::NeedsValuePath) => {
                            self.flags.needs_value_path.set(true);
                            return Err(de::Error::custom("an event repeats a key"));
                        }
                        None => break,
                    }
                }
            };
            if events.len() == self.max {
                self.flags.too_many.set(true);
                return Err(de::Error::custom(format_args!(
                    "events contains more than {} events",
                    self.max
                )));
            }
            events.push(event);
        }
        Ok(EventsValue::Array(events))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(EventsValue::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(EventsValue::Other("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(EventsValue::Other("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(EventsValue::Other("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(EventsValue::Other("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(EventsValue::Other("a string"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(EventsValue::Other(skip_map(map)?))
    }
}

/// One element of `events`: an object is kept as an ordered map, anything else is named.
struct EventValue(RawEvent);

impl<'de> serde::Deserialize<'de> for EventValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seed = ValueSeed { map_capacity: EVENT_MAP_CAPACITY };
        let event = match seed.deserialize(deserializer)? {
            Value::Hash(map) => RawEvent::Object(map),
            other => RawEvent::NotObject(json_type_name(&other)),
        };
        Ok(EventValue(event))
    }
}

/// Room reserved for an event's keys: the SDKs send about 10 to 20, and the server adds 5.
const EVENT_MAP_CAPACITY: usize = 24;

/// Builds a [`Value`] from serde_json as `Value`'s own `Deserialize` does, but faster on the hot
/// path. The key that marks an exact number is compared without allocating, and an event's map
/// starts with room for its keys instead of growing several times.
pub(crate) struct ValueSeed {
    map_capacity: usize,
}

impl ValueSeed {
    /// Returns a seed for a value that is usually a scalar.
    pub(crate) fn scalar() -> ValueSeed {
        ValueSeed { map_capacity: 0 }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
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

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed { map_capacity: 0 })? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let Some(first) = access.next_key::<KeyStr<'de>>()? else {
            return Ok(Value::Hash(Map::default()));
        };
        if first.0 == JSON_NUMBER_TOKEN {
            let text: String = access.next_value()?;
            return Number::parse_literal(&text)
                .map(Value::Number)
                .ok_or_else(|| de::Error::custom(format_args!("invalid number {text}")));
        }
        let mut map = Map::with_capacity_and_hasher(self.map_capacity, Default::default());
        let value = access.next_value_seed(ValueSeed { map_capacity: 0 })?;
        map.insert(first.0.into_owned(), value);
        while let Some(key) = access.next_key::<KeyStr<'de>>()? {
            let value = access.next_value_seed(ValueSeed { map_capacity: 0 })?;
            // A repeated key keeps its first position and takes the last value, as `Value`'s
            // own `Deserialize` does.
            map.insert(key.0.into_owned(), value);
        }
        Ok(Value::Hash(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(body: &str) -> UploadRequest<'_> {
        parse(body.as_bytes(), 10, ParseMode::Values).unwrap()
    }

    #[test]
    fn parses_fields_and_ignores_others() {
        let body = r#"{"api_key":"k1","events":[{"event_type":"a","n":1.50},"x"],
            "options":{"min_id_length":3},"client_upload_time":"2026-12-04T15:04:53.813Z",
            "request_metadata":{"sdk":{"name":"x"}}}"#;
        let request = parse_ok(body);
        assert_eq!(request.api_key, Field::Present(Cow::Borrowed("k1")));
        let Field::Present(events) = &request.events else { panic!("events missing") };
        assert_eq!(events.len(), 2);
        let RawEvent::Object(first) = &events[0] else { panic!("first event not an object") };
        assert_eq!(Value::Hash(first.clone()).to_json(), r#"{"event_type":"a","n":1.5}"#);
        assert!(matches!(events[1], RawEvent::NotObject("a string")));
        assert_eq!(min_id_length(&request.options), Ok(3));
        assert_eq!(request.client_upload_time.as_deref(), Some("2026-12-04T15:04:53.813Z"));
    }

    #[test]
    fn event_values_match_value_deserialize() {
        let event = r#"{"a":[1,2.50,-0,1e400,"x\u00e9",{"n":null,"t":true}],"b":{},"a":3,"c":[]}"#;
        let body = format!(r#"{{"events":[{event}]}}"#);
        let request = parse_ok(&body);
        let Field::Present(events) = request.events else { panic!("events missing") };
        let RawEvent::Object(parsed) = &events[0] else { panic!("event not an object") };
        assert_eq!(Value::Hash(parsed.clone()), Value::from_json_str(event).unwrap());
    }

    #[test]
    fn api_key_with_escapes_is_decoded() {
        let request = parse_ok(r#"{"api_key":"a\"b","events":[]}"#);
        assert_eq!(request.api_key, Field::Present(Cow::Owned::<str>("a\"b".to_owned())));
    }

    #[test]
    fn wrong_types_are_named() {
        let request = parse_ok(r#"{"api_key":12,"events":{"a":1},"options":[1]}"#);
        assert_eq!(request.api_key, Field::WrongType("a number"));
        assert!(matches!(request.events, Field::WrongType("an object")));
        assert_eq!(request.options, Field::WrongType("an array"));
        assert!(min_id_length(&request.options).is_err());
    }

    #[test]
    fn null_and_absent_are_distinct() {
        let request = parse_ok(r#"{"api_key":null}"#);
        assert_eq!(request.api_key, Field::Null);
        assert!(matches!(request.events, Field::Absent));
    }

    #[test]
    fn too_many_events_stops_parsing() {
        let body = format!(r#"{{"api_key":"k","events":[{}]}}"#, ["{}"; 11].join(","));
        assert!(matches!(
            parse(body.as_bytes(), 10, ParseMode::Values),
            Err(ParseError::TooManyEvents { max: 10 })
        ));
        let body = format!(r#"{{"api_key":"k","events":[{}]}}"#, ["{}"; 10].join(","));
        assert!(parse(body.as_bytes(), 10, ParseMode::Values).is_ok());
    }

    #[test]
    fn non_object_body_is_a_json_error() {
        for body in ["[]", "\"x\"", "12", "null", "{", "{} {}", ""] {
            assert!(
                matches!(parse(body.as_bytes(), 10, ParseMode::Values), Err(ParseError::Json(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_its_own_error() {
        let body = b"{\"api_key\":\"\xff\"}";
        assert!(matches!(parse(body, 10, ParseMode::Values), Err(ParseError::Utf8(_))));
    }

    #[test]
    fn non_object_error_names_type_not_content() {
        let cases = [
            (r#""secret-key""#, "a string"),
            ("[1]", "an array"),
            ("12", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ];
        for (body, kind) in cases {
            let Err(ParseError::Json(error)) = parse(body.as_bytes(), 10, ParseMode::Values) else {
                panic!("{body} accepted")
            };
            let message = error.to_string();
            assert!(message.contains(&format!("the body is {kind}")), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn duplicate_events_key_is_rejected() {
        let body = r#"{"events":[],"events":[]}"#;
        let Err(ParseError::Json(error)) = parse(body.as_bytes(), 10, ParseMode::Values) else {
            panic!("duplicate key accepted")
        };
        assert!(error.to_string().contains("duplicate key `events`"), "{error}");
    }

    #[test]
    fn deep_nesting_is_a_json_error() {
        let body = format!(r#"{{"events":[{{"p":{}1{}}}]}}"#, "[".repeat(200), "]".repeat(200));
        let Err(ParseError::Json(error)) = parse(body.as_bytes(), 10, ParseMode::Values) else {
            panic!("deep nesting accepted")
        };
        assert!(error.to_string().contains("recursion limit"), "{error}");
    }

    #[test]
    fn min_id_length_rules() {
        let options = |json: &str| Field::Present(Value::from_json_str(json).unwrap());
        assert_eq!(min_id_length(&Field::Absent), Ok(5));
        assert_eq!(min_id_length(&Field::Null), Ok(5));
        assert_eq!(min_id_length(&options(r#"{}"#)), Ok(5));
        assert_eq!(min_id_length(&options(r#"{"min_id_length":0}"#)), Ok(0));
        assert_eq!(min_id_length(&options(r#"{"min_id_length":1e1}"#)), Ok(10));
        assert!(min_id_length(&options(r#"{"min_id_length":-1}"#)).is_err());
        assert!(min_id_length(&options(r#"{"min_id_length":2.5}"#)).is_err());
        assert!(min_id_length(&options(r#"{"min_id_length":"5"}"#)).is_err());
    }
}
