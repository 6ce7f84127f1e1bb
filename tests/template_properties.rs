//! Properties that hold for every input: compiling never panics, rendering never panics, and a
//! failed render leaves the output buffer as it was.

use proptest::prelude::*;
use sluice::template::{Limits, Template, Value};

/// Pieces templates are made of, so random templates reach the parser's deeper paths more
/// often than random bytes do.
const PIECES: &[&str] = &[
    "${",
    "}",
    "#{",
    "<#if ",
    "<#elseif ",
    "<#else>",
    "</#if>",
    "<#list ",
    " as x>",
    " as k, v>",
    "</#list>",
    "<#sep>",
    "</#sep>",
    "<#items as i>",
    "</#items>",
    "<#assign a = ",
    "<#global g = ",
    "<#switch ",
    "<#case ",
    "<#default>",
    "<#break>",
    "<#continue>",
    "</#switch>",
    "<#-- ",
    " -->",
    "<#compress>",
    "</#compress>",
    "<#noparse>",
    "</#noparse>",
    "<#stop ",
    "<#setting number_format=",
    ">",
    "/>",
    "(",
    ")",
    "[",
    "]",
    "{",
    ":",
    ",",
    "..",
    "..<",
    "..*",
    "!",
    "??",
    "?",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "gt",
    "&&",
    "||",
    "->",
    "x",
    "input",
    "input.tags",
    "input.n",
    "k",
    "v",
    "1",
    "2.5",
    "\"s\"",
    "'q'",
    "r\"raw\"",
    "\"${x}\"",
    "true",
    "false",
    "size",
    "c",
    "string",
    "join(\",\")",
    "filter(i -> i??)",
    "index",
    "has_next",
    "keys",
    "upper_case",
    "json_string",
    "then(1, 2)",
    "number_to_datetime",
    "iso_utc",
    "\n",
    "  ",
    "text",
    "\\",
    "\"",
    "@",
    "<@",
    "$",
    "#",
];

fn template_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|pieces| pieces.concat())
}

fn event() -> Value {
    Value::from_json_str(
        r#"{"tags":["a",null,"c"],"n":2.5,"h":{"k":1,"z":null},"s":"text","b":true}"#,
    )
    .expect("the test event is valid JSON")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn compile_never_panics_on_any_text(source in ".{0,200}") {
        let _ = Template::compile("prop", &source);
    }

    #[test]
    fn render_never_panics_and_keeps_buffer_on_error(source in template_text()) {
        let limits = Limits { max_iterations: 10_000, max_steps: 100_000, ..Limits::default() };
        if let Ok(template) = Template::compile_with_limits("prop", &source, limits) {
            let input = event();
            let mut out = String::from("before");
            let result = template.render_to(&[("input", &input), ("x", &input)], &mut out);
            if result.is_err() {
                prop_assert_eq!(out, "before");
            } else {
                prop_assert!(out.starts_with("before"));
            }
        }
    }
}

#[test]
fn deep_nesting_is_a_limit_error() {
    let source = format!("${{{}1{}}}", "(".repeat(10_000), ")".repeat(10_000));
    let error = Template::compile("deep", &source).unwrap_err();
    assert_eq!(error.kind(), sluice::template::ErrorKind::Limit);
}

#[test]
fn unbounded_range_stops_at_iteration_limit() {
    let limits = Limits { max_iterations: 1_000, ..Limits::default() };
    let template = Template::compile_with_limits("loop", "<#list 1.. as i>${i}</#list>", limits)
        .expect("the template compiles");
    let mut out = String::new();
    let error = template.render_to(&[], &mut out).unwrap_err();
    assert_eq!(error.kind(), sluice::template::ErrorKind::Limit);
    assert!(out.is_empty());
}

#[test]
fn output_beyond_limit_is_an_error() {
    let limits = Limits { max_output_bytes: 1_000, ..Limits::default() };
    let template =
        Template::compile_with_limits("big", "<#list 1..1000 as i>0123456789</#list>", limits)
            .expect("the template compiles");
    let error = template.render(&[]).unwrap_err();
    assert_eq!(error.kind(), sluice::template::ErrorKind::Limit);
}

#[test]
fn nesting_at_the_limit_fits_a_small_stack() {
    // Tokio worker threads have 2 MiB stacks; templates nested up to the default limit must
    // compile and render there even in an unoptimised build.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let depth = Limits::default().max_depth - 2;
            let parens = format!("${{{}1{}}}", "-(".repeat(depth), ")".repeat(depth));
            let ifs = format!("{}x{}", "<#if true>".repeat(depth), "</#if>".repeat(depth));
            for source in [parens, ifs] {
                let template = Template::compile("nested", &source).expect("the template compiles");
                template.render(&[]).expect("the template renders");
            }
        })
        .expect("the thread starts");
    assert!(handle.join().is_ok());
}

#[test]
fn template_is_send_and_sync() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Template>();
}

/// `.name` keeps the position where it last found its key. Hashes that store the key elsewhere,
/// or lack it, must still read correctly in the first render and in later ones.
#[test]
fn dot_lookup_follows_changing_key_order() {
    let template =
        Template::compile("order", "<#list items as i>${i.b!\"-\"},</#list>").expect("compiles");
    let data = Value::from_json_str(
        r#"{"items": [{"a": 1, "b": 2}, {"b": 3, "a": 4}, {"c": 5}, {"x": 0, "y": 0, "b": 6},
            {"a": 7, "b": null}, {"b": 8}]}"#,
    )
    .expect("valid JSON");
    let items = data.get("items").expect("items is present");
    for _ in 0..3 {
        assert_eq!(template.render(&[("items", items)]).expect("renders"), "2,3,-,6,-,8,");
    }
}
