//! Render throughput of template vectors, measured the same way as `tools/freemarker-bench`.
//!
//! Each vector folder contains `template.ftl`, `data.json` and `expected.txt`. The template is
//! compiled once and the data parsed once; the first render must equal `expected.txt` byte for
//! byte, or the program exits with an error before timing anything. Then every vector is rendered
//! in turn for `--warmup` seconds in total, and each vector is measured alone for `--measure`
//! seconds, rendering into one reused `String` cleared before each render. One line per vector
//! goes to stdout: `NAME<TAB>PER_CPU_SECOND<TAB>PER_SECOND`, renders per second of CPU time this
//! process used (from `/proc/self/schedstat`, so Linux only) and per second of elapsed time.
//! CPU time is what other processes on a loaded machine do not take away.
//!
//! ```text
//! cargo run --release --example render_throughput -- tests/fixtures/freemarker-vectors/*-dest-*
//! ```
//!
//! `tools/freemarker-bench/compare` runs this program and the FreeMarker side in one run and
//! prints both with their ratio.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use sluice::template::{Template, Value};

/// Renders between two clock reads; small enough that a measurement ends on time.
const BATCH: u64 = 64;

/// Measure renders per second of each template vector.
#[derive(Debug, Parser)]
struct Args {
    /// Seconds spent rendering all vectors in turn before measuring (0 to 600).
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Seconds each vector is measured for (0 to 600).
    #[arg(long, default_value_t = 2.0)]
    measure: f64,
    /// Render each vector exactly this many times, without warm-up or timing, and print the
    /// count. Instruction counts from `valgrind --tool=callgrind` over such a run do not depend
    /// on the load of the machine.
    #[arg(long)]
    renders: Option<u64>,
    /// Vector folders, each holding template.ftl, data.json and expected.txt.
    #[arg(required = true)]
    vectors: Vec<PathBuf>,
}

/// A compiled vector with its parsed data.
struct Vector {
    name: String,
    template: Template,
    data: Value,
}

impl Vector {
    fn load(dir: &Path) -> Result<Vector, String> {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let source = read_text(&dir.join("template.ftl"))?;
        let data_path = dir.join("data.json");
        let data = Value::from_json_str(&read_text(&data_path)?)
            .map_err(|error| format!("invalid JSON in {}: {error}", data_path.display()))?;
        if data.as_hash().is_none() {
            return Err(format!("the JSON document in {} must be an object", data_path.display()));
        }
        let template = Template::compile(&name, &source)
            .map_err(|error| format!("{name} failed to compile: {error}"))?;
        Ok(Vector { name, template, data })
    }

    fn vars(&self) -> Vec<(&str, &Value)> {
        let Some(hash) = self.data.as_hash() else {
            return Vec::new();
        };
        hash.iter().map(|(key, value)| (key.as_str(), value)).collect()
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// Returns the CPU time this process has used: the first field of `/proc/self/schedstat`, in
/// nanoseconds. The process renders on one thread, so that is all of it.
fn process_cpu_time() -> Result<Duration, String> {
    let path = "/proc/self/schedstat";
    let text = fs::read_to_string(path)
        .map_err(|error| format!("cannot read {path} for the CPU time (Linux only): {error}"))?;
    let field = text.split_whitespace().next().unwrap_or_default();
    let nanos = field
        .parse::<u64>()
        .map_err(|_| format!("invalid CPU time {field:?} in {path}; expected nanoseconds"))?;
    Ok(Duration::from_nanos(nanos))
}

fn parse_seconds(option: &str, seconds: f64) -> Result<Duration, String> {
    if !(0.0..=600.0).contains(&seconds) {
        return Err(format!("--{option} must be between 0 and 600 seconds, got {seconds}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let warmup = parse_seconds("warmup", args.warmup)?;
    let measure = parse_seconds("measure", args.measure)?;

    let mut vectors = Vec::new();
    for dir in &args.vectors {
        let vector = Vector::load(dir)?;
        let expected = read_text(&dir.join("expected.txt"))?;
        let actual = vector
            .template
            .render(&vector.vars())
            .map_err(|error| format!("{} failed to render: {error}", vector.name))?;
        if actual != expected {
            return Err(format!("{} renders differently from its expected.txt", vector.name));
        }
        vectors.push(vector);
    }

    let prepared: Vec<(&Vector, Vec<(&str, &Value)>)> =
        vectors.iter().map(|vector| (vector, vector.vars())).collect();
    let mut out = String::with_capacity(4096);
    let mut render = |template: &Template, vars: &[(&str, &Value)]| -> Result<usize, String> {
        out.clear();
        template
            .render_to(black_box(vars), &mut out)
            .map_err(|error| format!("{} failed to render: {error}", template.name()))?;
        Ok(black_box(out.len()))
    };

    if let Some(count) = args.renders {
        for (vector, vars) in &prepared {
            for _ in 0..count {
                render(&vector.template, vars)?;
            }
            println!("{}\t{count} renders", vector.name);
        }
        return Ok(());
    }

    let warmup_start = Instant::now();
    while warmup_start.elapsed() < warmup {
        for (vector, vars) in &prepared {
            for _ in 0..BATCH {
                render(&vector.template, vars)?;
            }
        }
    }
    for (vector, vars) in &prepared {
        let mut renders = 0u64;
        let cpu_start = process_cpu_time()?;
        let start = Instant::now();
        let elapsed = loop {
            for _ in 0..BATCH {
                render(&vector.template, vars)?;
            }
            renders += BATCH;
            let elapsed = start.elapsed();
            if elapsed >= measure {
                break elapsed;
            }
        };
        let cpu = process_cpu_time()?.saturating_sub(cpu_start).max(Duration::from_nanos(1));
        println!(
            "{}\t{:.1}\t{:.1}",
            vector.name,
            renders as f64 / cpu.as_secs_f64(),
            renders as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
