//! Render throughput of the destination templates among the FreeMarker vectors.
//!
//! Each `dest-*` vector is a realistic request body (generic webhook, Braze, Customer.io,
//! Mixpanel, Slack, GA4, Segment, ...). The benchmark compiles each template once and renders it
//! into a reused buffer, as dispatch does, with the event already parsed.

use std::fs;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::template::{Template, Value};

fn destination_vectors() -> Vec<(String, Template, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freemarker-vectors");
    let mut vectors = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("the vectors folder exists")
        .map(|entry| entry.expect("the folder is readable").path())
        .filter(|path| path.to_string_lossy().contains("-dest-"))
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let source =
            fs::read_to_string(dir.join("template.ftl")).expect("template.ftl is readable");
        let data = fs::read_to_string(dir.join("data.json")).expect("data.json is readable");
        let Ok(template) = Template::compile(&name, &source) else {
            continue;
        };
        let data = Value::from_json_str(&data).expect("data.json is valid JSON");
        vectors.push((name, template, data));
    }
    vectors
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    for (name, template, data) in destination_vectors() {
        let vars: Vec<(&str, &Value)> = data
            .as_hash()
            .expect("data.json holds an object")
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let mut out = String::with_capacity(4096);
        group.bench_function(&name, |b| {
            b.iter(|| {
                out.clear();
                template.render_to(black_box(&vars), &mut out).expect("the vector renders");
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
