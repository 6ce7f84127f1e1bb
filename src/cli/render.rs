//! `sluice render`: renders a template with a JSON data file, offline.

use std::process::ExitCode;

use anyhow::Context;

use super::{EXIT_PROBLEMS, RenderArgs, print_stdout};
use crate::config::{MAX_TEMPLATE_FILE_BYTES, read_bounded_bytes as read_bounded};
use crate::template::{Template, Value};

/// The largest data file read, in bytes: the largest `/batch` body that ingest accepts by
/// default.
const MAX_DATA_BYTES: u64 = 20 << 20;

/// Renders the template and prints the output exactly, without adding a line break.
///
/// A template or render error prints the error report to standard error and returns exit
/// code 1.
pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let source = read_bounded(&args.template, MAX_TEMPLATE_FILE_BYTES)
        .with_context(|| format!("cannot read template {}", args.template.display()))?;
    let source = String::from_utf8(source)
        .with_context(|| format!("cannot read template {}", args.template.display()))?;
    let data_text = read_bounded(&args.data, MAX_DATA_BYTES)
        .with_context(|| format!("cannot read data file {}", args.data.display()))?;
    let data = Value::from_json_slice(&data_text)
        .with_context(|| format!("data file {} is not valid JSON", args.data.display()))?;
    let Value::Hash(root) = data else {
        anyhow::bail!(
            "data file {} must hold a JSON object whose keys are the template's variables, \
             such as {{\"input\": {{...}}}}",
            args.data.display()
        );
    };
    let name = args.template.display().to_string();
    let template = match Template::compile(&name, &source) {
        Ok(template) => template,
        Err(error) => {
            eprint!("sluice: {}", error.report());
            return Ok(ExitCode::from(EXIT_PROBLEMS));
        }
    };
    // `serve` always passes these three hashes, empty when a destination sets none, so a
    // template that reads them renders offline as it would there.
    let empty = Value::Hash(Default::default());
    let mut vars: Vec<(&str, &Value)> = root.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for name in ["parameters", "mappedFields", "mappedProperties"] {
        if !root.contains_key(name) {
            vars.push((name, &empty));
        }
    }
    match template.render(&vars) {
        Ok(output) => {
            print_stdout(&output)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprint!("sluice: {}", error.report());
            if !root.contains_key("input") && root.contains_key("event_type") {
                eprintln!(
                    "sluice: hint: {} looks like a bare event; templates read the event as \
                     `input`, so wrap it as {{\"input\": {{...}}}}",
                    args.data.display()
                );
            }
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
    }
}
