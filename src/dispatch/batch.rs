//! Rendering events and joining them into request bodies.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Batch, Destination, mapped_values};
use crate::template::{Map, TemplateError, Value};

/// A failure to render an event; either kind dead-letters the entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The template failed; the message is the template's one-line error, never the payload.
    #[error("{0}")]
    Template(#[source] Box<TemplateError>),
    /// The rendered event is larger than the destination allows.
    #[error(
        "rendered event is {bytes} bytes, over the destination's max_event_bytes of {max}; \
         raise max_event_bytes or shorten the template"
    )]
    TooLarge {
        /// The rendered size.
        bytes: usize,
        /// The configured maximum.
        max: usize,
    },
}

/// Renders one event for `destination` into `out`, which is cleared first.
///
/// Without a template the event's `input` is written as compact JSON. On error `out` is left
/// empty, so a half-rendered body can never be sent.
pub fn render_event(
    destination: &Destination,
    input: &Value,
    out: &mut String,
) -> Result<(), RenderError> {
    out.clear();
    match &destination.template {
        Some(template) => {
            let rendered = if destination.mapped_fields.is_empty()
                && destination.mapped_properties.is_empty()
            {
                // Templates may read the mapped hashes even when nothing is mapped.
                static EMPTY: LazyLock<Value> = LazyLock::new(|| Value::Hash(Map::default()));
                let vars = [
                    ("input", input),
                    ("parameters", &destination.parameters),
                    ("mappedFields", &*EMPTY),
                    ("mappedProperties", &*EMPTY),
                ];
                template.render_to(&vars, out)
            } else {
                let fields = mapped_values(&destination.mapped_fields, input);
                let properties = mapped_values(&destination.mapped_properties, input);
                let vars = [
                    ("input", input),
                    ("parameters", &destination.parameters),
                    ("mappedFields", &fields),
                    ("mappedProperties", &properties),
                ];
                template.render_to(&vars, out)
            };
            rendered.map_err(|error| RenderError::Template(Box::new(error)))?;
        }
        None => input.write_json(out),
    }
    if out.len() > destination.max_event_bytes {
        let bytes = out.len();
        out.clear();
        return Err(RenderError::TooLarge { bytes, max: destination.max_event_bytes });
    }
    Ok(())
}

/// An open batch: rendered events joined with the destination's prefix, separator and suffix,
/// and the entries they belong to.
#[derive(Debug)]
pub struct Batcher<E> {
    settings: Batch,
    /// The body so far: the prefix and the events with separators, without the suffix.
    body: String,
    entries: Vec<E>,
    /// When the batch must be sent even if not full: its first event's arrival plus
    /// `max_linger`.
    deadline: Option<Instant>,
}

impl<E> Batcher<E> {
    /// Creates an empty batch.
    pub fn new(settings: Batch) -> Batcher<E> {
        Batcher { settings, body: String::new(), entries: Vec::new(), deadline: None }
    }

    /// Returns true when an event of `event_bytes` fits: always when the batch is empty, so an
    /// event larger than `max_bytes` on its own is still sent, alone.
    pub fn fits(&self, event_bytes: usize) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        let after = self.body.len()
            + self.settings.separator.len()
            + event_bytes
            + self.settings.suffix.len();
        after <= self.settings.max_bytes
    }

    /// Adds a rendered event; the caller checks [`Batcher::fits`] first.
    pub fn push(&mut self, entry: E, event: &str, now: Instant) {
        if self.entries.is_empty() {
            self.body.push_str(&self.settings.prefix);
            self.deadline = Some(now + self.linger());
        } else {
            self.body.push_str(&self.settings.separator);
        }
        self.body.push_str(event);
        self.entries.push(entry);
    }

    /// Returns true when the batch has `max_events` events or no room for another byte.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.settings.max_events.max(1)
            || self.body.len() + self.settings.suffix.len() >= self.settings.max_bytes
    }

    /// Returns when the batch must be sent, or `None` when it is empty.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Returns the number of events in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when the batch contains no event.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Closes the batch: returns its entries and finished body, and leaves it empty.
    pub fn take(&mut self) -> Option<(Vec<E>, String)> {
        if self.entries.is_empty() {
            return None;
        }
        let capacity = self.body.capacity();
        let mut body = std::mem::replace(&mut self.body, String::with_capacity(capacity));
        body.push_str(&self.settings.suffix);
        self.deadline = None;
        Some((std::mem::take(&mut self.entries), body))
    }

    fn linger(&self) -> Duration {
        self.settings.max_linger
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DestinationKind, Retry};
    use crate::template::Template;

    fn destination(template: Option<&str>, max_event_bytes: usize) -> Destination {
        Destination {
            name: "test".into(),
            kind: DestinationKind::Stdout,
            template: template.map(|source| Template::compile("test", source).unwrap()),
            parameters: Value::Hash(Default::default()),
            mapped_fields: Vec::new(),
            mapped_properties: Vec::new(),
            batch: None,
            retry: Retry {
                max_retries: 1,
                initial_backoff: Duration::from_millis(10),
                multiplier: 2.0,
                max_backoff: Duration::from_millis(100),
                jitter: 0.0,
            },
            rate_limit: None,
            timeout: Duration::from_secs(1),
            concurrency: 1,
            max_in_flight: 10,
            max_event_bytes,
            secrets: Vec::new(),
        }
    }

    #[test]
    fn event_without_template_is_compact_json() {
        let input = Value::from_json_str(r#"{ "event_type": "click", "n": 1.5 }"#).unwrap();
        let mut out = String::from("leftover");
        render_event(&destination(None, 1000), &input, &mut out).unwrap();
        assert_eq!(out, r#"{"event_type":"click","n":1.5}"#);
    }

    #[test]
    fn event_with_template_is_rendered() {
        let input = Value::from_json_str("{}").unwrap();
        let mut out = String::new();
        render_event(&destination(Some("plain body"), 1000), &input, &mut out).unwrap();
        assert_eq!(out, "plain body");
    }

    #[test]
    fn oversized_event_is_rejected_and_buffer_emptied() {
        let input = Value::from_json_str(r#"{"event_type":"a long event name"}"#).unwrap();
        let mut out = String::new();
        let error = render_event(&destination(None, 10), &input, &mut out).unwrap_err();
        assert!(matches!(error, RenderError::TooLarge { bytes: 34, max: 10 }), "{error:?}");
        assert!(out.is_empty());
        assert!(error.to_string().starts_with("rendered event is 34 bytes"));
    }

    fn settings(max_events: usize, max_bytes: usize) -> Batch {
        Batch {
            max_events,
            max_bytes,
            max_linger: Duration::from_millis(500),
            prefix: "[".into(),
            separator: ",".into(),
            suffix: "]".into(),
        }
    }

    #[test]
    fn events_are_joined_as_json_array() {
        let now = Instant::now();
        let mut batch = Batcher::new(settings(10, 1000));
        batch.push(1, "{\"a\":1}", now);
        batch.push(2, "{\"b\":2}", now);
        let (entries, body) = batch.take().unwrap();
        assert_eq!(entries, [1, 2]);
        assert_eq!(body, "[{\"a\":1},{\"b\":2}]");
        assert!(batch.is_empty());
        assert_eq!(batch.deadline(), None);
        assert!(batch.take().is_none());
    }

    #[test]
    fn custom_envelope_is_used() {
        let now = Instant::now();
        let envelope = Batch {
            prefix: "{\"events\":[".into(),
            separator: ",\n".into(),
            suffix: "]}".into(),
            ..settings(10, 1000)
        };
        let mut batch = Batcher::new(envelope);
        batch.push((), "1", now);
        batch.push((), "2", now);
        assert_eq!(batch.take().unwrap().1, "{\"events\":[1,\n2]}");
    }

    #[test]
    fn full_at_max_events() {
        let now = Instant::now();
        let mut batch = Batcher::new(settings(2, 1000));
        batch.push((), "1", now);
        assert!(!batch.is_full());
        batch.push((), "2", now);
        assert!(batch.is_full());
    }

    #[test]
    fn fits_respects_max_bytes() {
        let now = Instant::now();
        // "[" + "12345" + "]" = 7 bytes; adding ",12345" would make 13.
        let mut batch = Batcher::new(settings(10, 12));
        assert!(batch.fits(5));
        batch.push((), "12345", now);
        assert!(!batch.fits(5));
        assert!(batch.fits(4));
        batch.push((), "1234", now);
        assert!(batch.is_full());
        assert_eq!(batch.take().unwrap().1.len(), 12);
    }

    #[test]
    fn oversized_event_fits_empty_batch() {
        let batch: Batcher<()> = Batcher::new(settings(10, 4));
        assert!(batch.fits(100));
    }

    #[test]
    fn deadline_is_first_push_plus_linger() {
        let start = Instant::now();
        let mut batch = Batcher::new(settings(10, 1000));
        assert_eq!(batch.deadline(), None);
        batch.push((), "1", start);
        batch.push((), "2", start + Duration::from_millis(300));
        assert_eq!(batch.deadline(), Some(start + Duration::from_millis(500)));
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn mapped_fields_and_properties_reach_the_template() {
        let vector = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/freemarker-vectors/258-dest-partner-parameters-mapped-fields"
        );
        let source = std::fs::read_to_string(format!("{vector}/template.ftl")).unwrap();
        let data = std::fs::read(format!("{vector}/data.json")).unwrap();
        let data = Value::from_json_slice(&data).unwrap();
        let expected = std::fs::read_to_string(format!("{vector}/expected.txt")).unwrap();
        let mut destination = destination(Some(&source), 1 << 20);
        destination.parameters = data.get("parameters").unwrap().clone();
        let mapping = |name: &str, path: &[&str]| crate::config::Mapping {
            name: name.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
        };
        destination.mapped_fields = vec![mapping("external_id", &["user_properties", "email"])];
        destination.mapped_properties = vec![
            mapping("plan", &["user_properties", "plan"]),
            mapping("coupon", &["event_properties", "coupon"]),
            mapping("city", &["city"]),
        ];
        let mut out = String::new();
        render_event(&destination, data.get("input").unwrap(), &mut out).unwrap();
        assert_eq!(out, expected);
    }
}
