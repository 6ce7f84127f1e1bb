//! Compiles arbitrary text as a template: the lexer and parser must return a template or an
//! error, never panic, hang or overflow the stack. A template that compiles is rendered once
//! against a small event, which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::template::{Template, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = Template::compile("fuzz", source) else {
        return;
    };
    let input = Value::from_json_str(
        r#"{"event_type":"Order","user_id":"u1","time":1709648551482,"n":1.5,
            "event_properties":{"a":1,"b":[1,"x",null],"c":{"d":true}},"tags":["x","y"]}"#,
    )
    .expect("the fuzz event is valid JSON");
    let mut out = String::new();
    let _ = template.render_to(&[("input", &input)], &mut out);
});
