//! Runs every FreeMarker conformance vector in `tests/fixtures/freemarker-vectors/`.
//!
//! Each vector contains a template, a JSON data model and either the exact output Apache FreeMarker
//! 2.3.31 printed (`expected.txt`) or the class of the error it raised (`expected-error.txt`,
//! `CLASS: detail`). A vector passes when the output matches byte for byte, or when rendering
//! fails with the same class. A `parse error` must come from `Template::compile`. Vectors that
//! use constructs outside the subset only need to fail, with any class.

use std::fs;
use std::path::{Path, PathBuf};

use sluice::template::{Template, Value};

/// Vectors of constructs outside the subset: any error passes, output never does.
const OUT_OF_SUBSET: &[&str] = &[
    "144-local-outside-macro-error",
    "147-switch-on-is-unknown-error",
    "153-include-is-unavailable",
    "163-cn-builtin-unknown-in-2-3-31",
    "193-c-on-string-error",
    "197-markup-escaping-not-available",
    "200-new-builtin-blocked",
    "201-api-builtin-disabled",
    "302-setting-scientific-number-format-unsupported",
    "303-setting-rounding-mode-option-unsupported",
];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freemarker-vectors")
}

/// The outcome of running one vector.
#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    /// Failed with an error as the vector of an out-of-subset construct requires.
    Rejected,
    Fail(String),
}

fn run_vector(dir: &Path) -> Outcome {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let source = fs::read_to_string(dir.join("template.ftl")).expect("template.ftl is readable");
    let data_text = fs::read_to_string(dir.join("data.json")).expect("data.json is readable");
    let data = Value::from_json_str(&data_text).expect("data.json is valid JSON");
    let expected = fs::read(dir.join("expected.txt")).ok();
    let expected_class = fs::read_to_string(dir.join("expected-error.txt"))
        .ok()
        .map(|text| text.split(':').next().unwrap_or("").trim().to_owned());
    let out_of_subset = OUT_OF_SUBSET.contains(&name.as_str());

    let template = match Template::compile(&name, &source) {
        Ok(template) => template,
        Err(error) => {
            return match expected_class.as_deref() {
                _ if out_of_subset => Outcome::Rejected,
                Some("parse error") => Outcome::Pass,
                _ => Outcome::Fail(format!("compile failed: {error}")),
            };
        }
    };
    if expected_class.as_deref() == Some("parse error") && !out_of_subset {
        return Outcome::Fail("compiled, but FreeMarker rejects this template".to_owned());
    }
    let map = data.as_hash().expect("data.json holds an object");
    let vars: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = String::from("kept");
    let result = template.render_to(&vars, &mut out);
    match (result, expected, expected_class) {
        (Err(_), _, _) if out_of_subset => {
            if out == "kept" {
                Outcome::Rejected
            } else {
                Outcome::Fail("the buffer changed on error".to_owned())
            }
        }
        (Ok(()), _, _) if out_of_subset => Outcome::Fail(format!("rendered {:?}", &out[4..])),
        (Ok(()), Some(expected), _) => {
            let rendered = &out.as_bytes()[4..];
            if rendered == expected.as_slice() {
                Outcome::Pass
            } else {
                Outcome::Fail(format!(
                    "output differs\n--- expected\n{}\n--- rendered\n{}",
                    String::from_utf8_lossy(&expected),
                    String::from_utf8_lossy(rendered)
                ))
            }
        }
        (Ok(()), None, class) => Outcome::Fail(format!(
            "rendered {:?}, expected {}",
            &out[4..],
            class.unwrap_or_default()
        )),
        (Err(error), _, Some(class)) if error.kind().class() == class => {
            if out == "kept" {
                Outcome::Pass
            } else {
                Outcome::Fail("the buffer changed on error".to_owned())
            }
        }
        (Err(error), _, class) => Outcome::Fail(format!(
            "failed with {error}, expected {}",
            class.unwrap_or_else(|| "output".to_owned())
        )),
    }
}

#[test]
fn freemarker_vectors_pass() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(vectors_dir())
        .expect("the vectors folder exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("template.ftl").exists())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 303, "the corpus holds 303 vectors");

    let mut passed = 0;
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        match run_vector(dir) {
            Outcome::Pass | Outcome::Rejected => passed += 1,
            Outcome::Fail(reason) => failures.push(format!("{name}: {reason}")),
        }
    }
    println!("{passed} of {} vectors pass", dirs.len());
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
