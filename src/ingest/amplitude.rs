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
//! The body is parsed once with serde_json. Each event becomes an ordered [`Map`] of exact
//! [`Value`]s, so nothing is lost before validation looks at it, and the number of events is
//! checked while parsing, so an oversized `events` array is rejected before it is built whole.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::template::{Map, Value};

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
#[derive(Debug, PartialEq)]
pub enum RawEvent {
    /// A JSON object, keys in the order sent.
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

/// Why a body could not be parsed.
#[derive(Debug)]
pub enum ParseError {
    /// The body is not valid JSON, not a JSON object, or nests too deep.
    Json(serde_json::Error),
    /// `events` holds more than the allowed number of events.
    TooManyEvents {
        /// The allowed number.
        max: usize,
    },
}

/// Parses a request body, rejecting an `events` array longer than `max_events` as soon as its
/// element `max_events + 1` has been read.
pub fn parse(body: &[u8], max_events: usize) -> Result<UploadRequest<'_>, ParseError> {
    let too_many = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let seed = RequestSeed { max_events, too_many: &too_many };
    let result = seed.deserialize(&mut deserializer).and_then(|request| {
        deserializer.end()?;
        Ok(request)
    });
    match result {
        Ok(request) => Ok(request),
        Err(_) if too_many.get() => Err(ParseError::TooManyEvents { max: max_events }),
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
    too_many: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for RequestSeed<'_> {
    type Value = UploadRequest<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_> {
    type Value = UploadRequest<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with api_key and events")
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
                "api_key" => {
                    reject_duplicate(&request.api_key, "api_key")?;
                    request.api_key = map.next_value_seed(StrSeed)?;
                }
                "events" => {
                    reject_duplicate(&request.events, "events")?;
                    let seed = EventsSeed { max: self.max_events, too_many: self.too_many };
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
struct KeyStr<'a>(Cow<'a, str>);

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
const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

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
    too_many: &'c Cell<bool>,
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
        while let Some(event) = seq.next_element::<EventValue>()? {
            if events.len() == self.max {
                self.too_many.set(true);
                return Err(de::Error::custom(format_args!(
                    "events holds more than {} events",
                    self.max
                )));
            }
            events.push(event.0);
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
        // `Value` already handles exact numbers; an event object reads as `Value::Hash`.
        let event = match Value::deserialize(deserializer)? {
            Value::Hash(map) => RawEvent::Object(map),
            other => RawEvent::NotObject(json_type_name(&other)),
        };
        Ok(EventValue(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(body: &str) -> UploadRequest<'_> {
        parse(body.as_bytes(), 10).unwrap()
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
        assert_eq!(events[1], RawEvent::NotObject("a string"));
        assert_eq!(min_id_length(&request.options), Ok(3));
        assert_eq!(request.client_upload_time.as_deref(), Some("2026-12-04T15:04:53.813Z"));
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
        assert_eq!(request.events, Field::WrongType("an object"));
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
        assert!(matches!(parse(body.as_bytes(), 10), Err(ParseError::TooManyEvents { max: 10 })));
        let body = format!(r#"{{"api_key":"k","events":[{}]}}"#, ["{}"; 10].join(","));
        assert!(parse(body.as_bytes(), 10).is_ok());
    }

    #[test]
    fn non_object_body_is_a_json_error() {
        for body in ["[]", "\"x\"", "12", "null", "{", "{} {}", ""] {
            assert!(matches!(parse(body.as_bytes(), 10), Err(ParseError::Json(_))), "{body}");
        }
    }

    #[test]
    fn duplicate_events_key_is_rejected() {
        let body = r#"{"events":[],"events":[]}"#;
        let Err(ParseError::Json(error)) = parse(body.as_bytes(), 10) else {
            panic!("duplicate key accepted")
        };
        assert!(error.to_string().contains("duplicate key `events`"), "{error}");
    }

    #[test]
    fn deep_nesting_is_a_json_error() {
        let body = format!(r#"{{"events":[{{"p":{}1{}}}]}}"#, "[".repeat(200), "]".repeat(200));
        let Err(ParseError::Json(error)) = parse(body.as_bytes(), 10) else {
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
