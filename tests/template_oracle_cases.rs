//! Runs the generated cases whose expected results Apache FreeMarker 2.3.31 produced.
//!
//! `tests/template-inputs/oracle/*.jsonl` contains one case per line: a template and either the
//! exact output or the class of the error FreeMarker raised. Error classes must match, and a
//! parse error must come from `Template::compile`.

use std::fs;
use std::path::Path;

use sluice::template::{ErrorKind, Template, Value};

fn run_file(cases_path: &Path) -> (usize, Vec<String>) {
    let data_path = cases_path.with_extension("data.json");
    let data = Value::from_json_str(&fs::read_to_string(&data_path).expect("the data is readable"))
        .expect("the data is valid JSON");
    let vars: Vec<(&str, &Value)> = data
        .as_hash()
        .expect("the data is an object")
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let text = fs::read_to_string(cases_path).expect("the cases are readable");
    let mut failures = Vec::new();
    let mut count = 0;
    for (index, line) in text.lines().enumerate() {
        count += 1;
        let case = Value::from_json_str(line).expect("each line is a JSON object");
        let template = case.get("template").and_then(Value::as_str).expect("a case has a template");
        let expected_output = case.get("output").and_then(Value::as_str);
        let expected_error = case.get("error").and_then(Value::as_str);
        let compiled = Template::compile("case", template);
        let outcome = match (&compiled, expected_error) {
            (Err(error), Some("parse error")) if error.kind() == ErrorKind::Syntax => continue,
            (Err(error), _) => Err(error.clone()),
            (Ok(_), Some("parse error")) => {
                failures.push(format!(
                    "line {}: compiled, FreeMarker rejects it: {template:?}",
                    index + 1
                ));
                continue;
            }
            (Ok(compiled), _) => compiled.render(&vars),
        };
        let passed = match (&outcome, expected_output, expected_error) {
            (Ok(output), Some(expected), _) => output == expected,
            (Err(error), _, Some(class)) => error.kind().class() == class,
            _ => false,
        };
        if !passed {
            failures.push(format!(
                "line {}: {template:?}\n  expected {:?}\n  got {:?}",
                index + 1,
                expected_output.or(expected_error),
                outcome.map_err(|e| e.to_string())
            ));
        }
    }
    (count, failures)
}

#[test]
fn generated_cases_match_freemarker() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/template-inputs/oracle");
    let mut total = 0;
    let mut failures = Vec::new();
    for entry in fs::read_dir(&root).expect("the oracle folder exists") {
        let path = entry.expect("the folder is readable").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let (count, file_failures) = run_file(&path);
            total += count;
            failures.extend(file_failures);
        }
    }
    assert!(total > 2_000, "the oracle cases are present");
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
