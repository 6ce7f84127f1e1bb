//! Snapshot tests of rendering, error reports, lexer tokens and parser output.
//!
//! Each file in `tests/template-inputs/` contains a JSON object of top-level variables, a line
//! `---`, and a template. Files whose name starts with `err_` must fail; their snapshot is the
//! error report with the caret.

use std::fs;
use std::path::Path;

use sluice::template::{Template, Value};

fn render_input(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("the input is readable");
    let (context, source) = text.split_once("\n---\n").expect("the input has a --- line");
    let data = Value::from_json_str(context).expect("the context is valid JSON");
    let vars: Vec<(&str, &Value)> = data
        .as_hash()
        .expect("the context is an object")
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    match Template::compile(&name, source).and_then(|template| template.render(&vars)) {
        Ok(output) => output,
        Err(error) => error.report(),
    }
}

#[test]
fn inputs_render_as_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/template-inputs");
    let mut paths: Vec<_> = fs::read_dir(&root)
        .expect("the inputs folder exists")
        .map(|entry| entry.expect("the folder is readable").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let rendered = render_input(&path);
        let is_error = rendered.contains(" | ") && rendered.contains('^');
        assert_eq!(is_error, name.starts_with("err_"), "{name}: only err_ inputs may fail");
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn lexer_tokens_snapshot() {
    let tokens = Template::debug_tokens(
        "a ${x.y!\"d\"} <#if n gt 1 && (m > 2)>b</#if>\n<#list xs as x>${x?index}<#sep>,</#list>",
    )
    .expect("the template lexes");
    insta::assert_snapshot!(tokens);
}

#[test]
fn parser_nodes_snapshot() {
    let template = Template::compile(
        "nodes",
        "<#assign t = 0>\n<#list xs as x>\n  ${x!\"-\"}<#sep>,</#sep>\n</#list>\n${(a.b)!1 + 2}",
    )
    .expect("the template compiles");
    insta::assert_snapshot!(template.debug_nodes());
}
