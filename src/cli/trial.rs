//! Trial renders for `sluice check`: every template of a destination rendered once against a
//! sample event, so a template that would fail on every event is caught before `serve`.

use crate::config::{Destination, DestinationKind, mapped_values};
use crate::template::{ErrorKind, Template, Value};

/// A sample event in the shape ingest produces: the usual Amplitude fields with typical values.
const SAMPLE_EVENT: &str = include_str!("sample-event.json");

/// A problem a trial render found.
#[derive(Debug, PartialEq, Eq)]
pub enum Finding {
    /// The template reads a parameter the destination does not define: it fails on every event.
    Error(String),
    /// The template fails on the sample event; it may work on events with other fields.
    Warning(String),
}

/// Returns the sample event as templates see it in `input`.
pub fn sample_event() -> Value {
    Value::from_json_str(SAMPLE_EVENT).expect("the embedded sample event is valid JSON")
}

/// Renders the destination's body, URL and header templates against `input`.
pub fn trial_render(destination: &Destination, input: &Value) -> Vec<Finding> {
    let fields = mapped_values(&destination.mapped_fields, input);
    let properties = mapped_values(&destination.mapped_properties, input);
    let body_vars = [
        ("input", input),
        ("parameters", &destination.parameters),
        ("mappedFields", &fields),
        ("mappedProperties", &properties),
    ];
    let mut findings = Vec::new();
    if let Some(template) = &destination.template {
        check(template, &body_vars, destination, None, &mut findings);
    }
    if let DestinationKind::Http(http) = &destination.kind {
        // URL and headers see `input` only when each request carries one event.
        let batched = destination.batch.is_some();
        let request_vars: Vec<(&str, &Value)> = if batched {
            vec![("parameters", &destination.parameters)]
        } else {
            vec![("input", input), ("parameters", &destination.parameters)]
        };
        check(&http.url, &request_vars, destination, batched.then_some("url"), &mut findings);
        for header in &http.headers {
            let part = format!("header {}", header.name);
            check(
                &header.value,
                &request_vars,
                destination,
                batched.then_some(&part),
                &mut findings,
            );
        }
    }
    findings
}

/// Renders `template` and records why it fails. `batched_part` names the URL or header of a
/// batching destination, where reading `input` fails on every request.
fn check(
    template: &Template,
    vars: &[(&str, &Value)],
    destination: &Destination,
    batched_part: Option<&str>,
    findings: &mut Vec<Finding>,
) {
    let Err(error) = template.render(vars) else { return };
    // Template errors quote values, which may be secret parameters.
    let error = destination.redact(&error.to_string()).into_owned();
    if let Some(part) = batched_part {
        if error.starts_with(ErrorKind::MissingValue.class()) && error.contains("`input") {
            findings.push(Finding::Error(format!(
                "{error}; the {part} reads `input`, but destination {} batches events, so one \
                 request carries many events and its {part} sees only `parameters`; remove \
                 `input` from it or remove the `batch` table",
                destination.name
            )));
            return;
        }
    }
    let finding = match missing_parameter(&error) {
        Some(name) => {
            let mut message =
                format!("{error}; destination {} defines no parameter `{name}`", destination.name);
            if let Some(suggestion) = closest_parameter(&destination.parameters, &name) {
                message.push_str(&format!("; did you mean `{suggestion}`?"));
            }
            Finding::Error(message)
        }
        None => Finding::Warning(format!(
            "{error}; it fails on the sample event, and events like it will be dead-lettered"
        )),
    };
    findings.push(finding);
}

/// Returns the parameter name when `error` (a template error's one-line text) is a missing
/// `parameters.NAME`.
fn missing_parameter(error: &str) -> Option<String> {
    if !error.starts_with(ErrorKind::MissingValue.class()) {
        return None;
    }
    let start = error.find("`parameters.")? + "`parameters.".len();
    let rest = &error[start..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))?;
    Some(rest[..end].to_owned())
}

fn closest_parameter(parameters: &Value, name: &str) -> Option<String> {
    parameters
        .as_hash()?
        .keys()
        .map(|key| (strsim::jaro_winkler(name, key), key))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, key)| key.clone())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Config;

    fn destination(body: &str) -> std::sync::Arc<Destination> {
        let text = format!(
            "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n\
             parameters = {{ app = \"web\" }}\ntemplate = '{body}'\n"
        );
        let config = Config::parse(&text, "t.toml", PathBuf::from("."), None).unwrap();
        config.destinations[0].clone()
    }

    #[test]
    fn sample_event_renders_with_common_templates() {
        let d = destination("${input.event_type} ${input.user_properties.email} ${parameters.app}");
        assert_eq!(trial_render(&d, &sample_event()), []);
    }

    #[test]
    fn misspelled_parameter_is_an_error_with_suggestion() {
        let d = destination("${parameters.ap}");
        let findings = trial_render(&d, &sample_event());
        let [Finding::Error(message)] = findings.as_slice() else { panic!("{findings:?}") };
        assert!(message.contains("defines no parameter `ap`; did you mean `app`?"), "{message}");
    }

    #[test]
    fn missing_event_field_is_a_warning() {
        let d = destination("${input.no_such_field}");
        let findings = trial_render(&d, &sample_event());
        assert!(matches!(findings.as_slice(), [Finding::Warning(_)]), "{findings:?}");
    }

    fn http_destination(table: &str) -> std::sync::Arc<Destination> {
        let text = format!("[sources.s]\napi_keys = \"any\"\n[destinations.d]\n{table}\n");
        let config = Config::parse(&text, "t.toml", PathBuf::from("."), None).unwrap();
        config.destinations[0].clone()
    }

    #[test]
    fn batched_url_reading_input_is_error() {
        let d = http_destination(
            "url = \"http://127.0.0.1:9/users/${input.user_id}\"\nbatch = { max_events = 10 }",
        );
        let findings = trial_render(&d, &sample_event());
        let [Finding::Error(message)] = findings.as_slice() else { panic!("{findings:?}") };
        assert!(message.contains("the url reads `input`"), "{message}");
        assert!(message.contains("remove the `batch` table"), "{message}");
    }

    #[test]
    fn unbatched_url_reading_input_passes() {
        let d = http_destination("url = \"http://127.0.0.1:9/users/${input.user_id}\"");
        assert_eq!(trial_render(&d, &sample_event()), []);
    }
}
