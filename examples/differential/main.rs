//! Differential testing of sluice's template renderer against Apache FreeMarker 2.3.31.
//!
//! Generates random templates and data models from the grammar of the supported subset,
//! renders each case with sluice in-process and with the FreeMarker oracle
//! (`tools/freemarker-oracle/render`, one JVM per chunk of cases), and reports every case where
//! the two disagree, shrunk to a small reproduction.
//!
//! ```text
//! cargo run --example differential -- --cases 10000 --seed 1
//! ```
//!
//! Exit status: 0 when no difference was found, 1 when some were, 2 when the run failed.

mod generate;
mod oracle;
mod shrink;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use sluice::template::{ErrorKind, Template, Value};

use generate::Case;
use oracle::{Oracle, OracleResult};

/// Compare sluice's template renderer with Apache FreeMarker on random cases.
#[derive(Debug, Parser)]
struct Args {
    /// Number of cases to generate and compare.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Seed of the run; the same seed and case number always give the same case.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of the first case, so a long run can be continued in pieces.
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Cases rendered by one oracle JVM.
    #[arg(long, default_value_t = 5000)]
    chunk: usize,
    /// Differences to shrink and print in full; the rest are only counted and listed.
    #[arg(long, default_value_t = 10)]
    shrink: usize,
    /// Seconds one oracle JVM may run before it is killed.
    #[arg(long, default_value_t = 600)]
    oracle_timeout: u64,
    /// The oracle program; defaults to the repository's `tools/freemarker-oracle/render`.
    #[arg(long)]
    oracle: Option<PathBuf>,
    /// Folder to write each shrunk difference into as a vector folder (`template.ftl` and
    /// `data.json`), ready to be copied into the vector corpus.
    #[arg(long)]
    write_repros: Option<PathBuf>,
}

/// The outcome of one case in sluice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SluiceResult {
    Output(String),
    Error {
        class: &'static str,
        detail: String,
    },
    /// `compile` rejected a construct as outside the supported subset.
    Unsupported(String),
    /// A limit on loop iterations, output size or steps stopped the render.
    Limit,
}

/// The kind of a disagreement; shrinking keeps a case only while its kind stays the same.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// Both rendered, with different output.
    Output,
    /// sluice failed with this class while FreeMarker rendered.
    SluiceFails(&'static str),
    /// sluice rendered while FreeMarker failed with this class.
    OracleFails(String),
    /// Both failed, with these classes (sluice's first).
    Class(&'static str, String),
}

/// The comparison of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Same,
    Unsupported(String),
    Skipped,
    /// sluice failed on purpose at a documented limit of its string collation.
    Limitation,
    /// Both failed, one with `type error` and the other with `evaluation error`.
    ClassOnly(&'static str, String),
    Differs(Difference),
}

/// Error classes whose meaning is the same in sluice and FreeMarker. The split between
/// `type error` and `evaluation error` follows FreeMarker's Java exception types, which the
/// vectors' README calls informative, so a mismatch between those two is only counted.
const CLEAR_CLASSES: &[&str] = &["parse error", "missing value", "stop"];

/// Substrings of the render errors sluice raises on purpose where it cannot reproduce Java
/// exactly (string collation beyond U+024F). These are documented limits, counted apart.
const LIMITATION_MARKERS: &[&str] =
    &["exactly as Java's en_US collation does", "cannot be decided exactly here"];

/// Substrings of the compile errors sluice raises for constructs outside the subset.
const UNSUPPORTED_MARKERS: &[&str] =
    &["which templates here cannot use", "not supported", "unsupported", "outside the subset"];

/// Renders `case` with sluice.
pub fn render_with_sluice(case: &Case) -> SluiceResult {
    let data = match Value::from_json_str(&case.data) {
        Ok(data) => data,
        Err(e) => return SluiceResult::Error { class: "bad data", detail: e.to_string() },
    };
    let Some(map) = data.as_hash() else {
        return SluiceResult::Error { class: "bad data", detail: "not an object".to_owned() };
    };
    let vars: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let template = match Template::compile("case", &case.template) {
        Ok(template) => template,
        Err(error) => {
            let detail = error.detail().to_owned();
            if UNSUPPORTED_MARKERS.iter().any(|marker| detail.contains(marker)) {
                return SluiceResult::Unsupported(detail);
            }
            return SluiceResult::Error { class: error.kind().class(), detail };
        }
    };
    match template.render(&vars) {
        Ok(output) => SluiceResult::Output(output),
        Err(error) if error.kind() == ErrorKind::Limit => SluiceResult::Limit,
        Err(error) => {
            SluiceResult::Error { class: error.kind().class(), detail: error.to_string() }
        }
    }
}

/// Compares what sluice and FreeMarker did with one case.
pub fn compare(sluice: &SluiceResult, oracle: &OracleResult) -> Verdict {
    match (sluice, oracle) {
        (SluiceResult::Limit, _) | (_, OracleResult::Failed) => Verdict::Skipped,
        (SluiceResult::Error { detail, .. }, _)
            if LIMITATION_MARKERS.iter().any(|marker| detail.contains(marker)) =>
        {
            Verdict::Limitation
        }
        (SluiceResult::Unsupported(_), _) if oracle.class() == Some("parse error") => Verdict::Same,
        (SluiceResult::Unsupported(detail), _) => Verdict::Unsupported(detail.clone()),
        (SluiceResult::Output(mine), OracleResult::Output(theirs)) if mine == theirs => {
            Verdict::Same
        }
        (SluiceResult::Output(_), OracleResult::Output(_)) => Verdict::Differs(Difference::Output),
        (SluiceResult::Output(_), OracleResult::Error(_)) => {
            Verdict::Differs(Difference::OracleFails(oracle.class().unwrap_or_default().to_owned()))
        }
        (SluiceResult::Error { class, .. }, OracleResult::Output(_)) => {
            Verdict::Differs(Difference::SluiceFails(class))
        }
        (SluiceResult::Error { class, .. }, OracleResult::Error(_)) => {
            let theirs = oracle.class().unwrap_or_default();
            if *class == theirs {
                Verdict::Same
            } else if CLEAR_CLASSES.contains(class) || CLEAR_CLASSES.contains(&theirs) {
                Verdict::Differs(Difference::Class(class, theirs.to_owned()))
            } else {
                Verdict::ClassOnly(class, theirs.to_owned())
            }
        }
    }
}

/// A case that differs, as generated.
struct Found {
    index: u64,
    case: Case,
    difference: Difference,
}

/// Counts of one run.
#[derive(Default)]
struct Tally {
    cases: u64,
    same: u64,
    unsupported: u64,
    skipped: u64,
    /// Cases that reached a documented limit of sluice's string collation.
    limitations: u64,
    /// Cases where both failed, with `type error` on one side and `evaluation error` on the
    /// other.
    class_only: u64,
    differences: u64,
    /// Unsupported-construct messages with how often each occurred.
    unsupported_messages: BTreeMap<String, u64>,
    by_kind: BTreeMap<String, u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("differential: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs the comparison and returns whether no difference was found.
fn run(args: &Args) -> Result<bool, String> {
    if args.chunk == 0 {
        return Err("--chunk must be at least 1".to_owned());
    }
    let render = args.oracle.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/freemarker-oracle/render")
    });
    let oracle = Oracle { render, timeout: Duration::from_secs(args.oracle_timeout) };
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut found = Vec::new();
    let end = args.first.saturating_add(args.cases);
    let mut next = args.first;
    while next < end {
        let chunk_end = end.min(next + args.chunk as u64);
        let cases: Vec<(u64, Case)> =
            (next..chunk_end).map(|i| (i, generate::generate(args.seed, i))).collect();
        let sluice: Vec<SluiceResult> = cases.iter().map(|(_, c)| render_with_sluice(c)).collect();
        // Cases stopped by a sluice limit are not sent: FreeMarker has no such limit and may
        // loop for minutes.
        let to_oracle: Vec<Case> = cases
            .iter()
            .zip(&sluice)
            .filter(|(_, s)| **s != SluiceResult::Limit)
            .map(|((_, c), _)| c.clone())
            .collect();
        let mut oracle_results = oracle.run(&to_oracle)?.into_iter();
        for ((index, case), mine) in cases.into_iter().zip(&sluice) {
            let theirs = if *mine == SluiceResult::Limit {
                OracleResult::Failed
            } else {
                oracle_results.next().unwrap_or(OracleResult::Failed)
            };
            tally.cases += 1;
            match compare(mine, &theirs) {
                Verdict::Same => tally.same += 1,
                Verdict::Skipped => tally.skipped += 1,
                Verdict::Limitation => tally.limitations += 1,
                Verdict::ClassOnly(mine, theirs) => {
                    tally.class_only += 1;
                    *tally.by_kind.entry(format!("class only: {mine} / {theirs}")).or_default() +=
                        1;
                }
                Verdict::Unsupported(detail) => {
                    tally.unsupported += 1;
                    *tally.unsupported_messages.entry(detail).or_default() += 1;
                }
                Verdict::Differs(difference) => {
                    tally.differences += 1;
                    *tally.by_kind.entry(format!("{difference:?}")).or_default() += 1;
                    println!(
                        "case {index}: {difference:?}: sluice {}; FreeMarker {}",
                        clip(&format!("{mine:?}")),
                        clip(&format!("{theirs:?}"))
                    );
                    found.push(Found { index, case, difference });
                }
            }
        }
        next = chunk_end;
        eprintln!(
            "differential: {} cases, {} differences, {:.0} s",
            tally.cases,
            tally.differences,
            started.elapsed().as_secs_f64()
        );
    }
    let compared = started.elapsed();
    report(args, &oracle, &tally, &found)?;
    println!(
        "seed {}, cases {}..{}: {} cases, {} same, {} differences, {} unsupported, {} collation \
         limits, {} type/evaluation class only, {} skipped (sluice limit or oracle failure); \
         compared in {:.0} s",
        args.seed,
        args.first,
        end,
        tally.cases,
        tally.same,
        tally.differences,
        tally.unsupported,
        tally.limitations,
        tally.class_only,
        tally.skipped,
        compared.as_secs_f64()
    );
    Ok(tally.differences == 0)
}

/// Cuts a result description to one short line.
fn clip(text: &str) -> String {
    let line = text.replace('\n', "\\n");
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

fn report(args: &Args, oracle: &Oracle, tally: &Tally, found: &[Found]) -> Result<(), String> {
    if !tally.unsupported_messages.is_empty() {
        println!("constructs sluice rejected as unsupported:");
        for (message, count) in &tally.unsupported_messages {
            println!("  {count:>6}  {message}");
        }
    }
    if !tally.by_kind.is_empty() {
        println!("differences by kind:");
        for (kind, count) in &tally.by_kind {
            println!("  {count:>6}  {kind}");
        }
    }
    let mut seen = Vec::new();
    for item in found.iter().take(args.shrink) {
        let small = shrink::shrink(oracle, &item.case, &item.difference)?;
        if seen.contains(&small) {
            println!("\ncase {} shrinks to a reproduction already shown", item.index);
            continue;
        }
        seen.push(small.clone());
        let mine = render_with_sluice(&small);
        let theirs = oracle.run(std::slice::from_ref(&small))?.remove(0);
        println!("\n=== case {} (seed {}): {:?}", item.index, args.seed, item.difference);
        println!("--- template.ftl {:?}\n{}", small.template, small.template);
        println!("--- data.json\n{}", small.data);
        println!("--- sluice\n{mine:?}");
        println!("--- FreeMarker\n{theirs:?}");
        if let Some(dir) = &args.write_repros {
            let case_dir = dir.join(format!("seed{}-case{}", args.seed, item.index));
            fs::create_dir_all(&case_dir)
                .and_then(|()| fs::write(case_dir.join("template.ftl"), &small.template))
                .and_then(|()| fs::write(case_dir.join("data.json"), &small.data))
                .map_err(|e| format!("failed to write {}: {e}", case_dir.display()))?;
            println!("--- written to {}", case_dir.display());
        }
    }
    let rest: Vec<String> = found.iter().skip(args.shrink).map(|f| f.index.to_string()).collect();
    if !rest.is_empty() {
        println!("\nnot shrunk (rerun with --first N --cases 1 to see one): {}", rest.join(" "));
    }
    Ok(())
}
