//! Shrinking of a differing case to a small reproduction.
//!
//! Each round builds every one-step reduction of the current case (a run of template
//! characters removed, with run lengths from half the template down to one character; a data
//! key or item removed; a data value replaced by a simpler one), renders all of them with
//! sluice and in one oracle JVM, and keeps the smallest that still shows the same kind of
//! difference. Shrinking stops when no reduction keeps the difference, or after
//! `MAX_ROUNDS`.

use serde_json::Value as Json;

use crate::generate::Case;
use crate::oracle::Oracle;
use crate::{Difference, SluiceResult, Verdict, compare, render_with_sluice};

const MAX_ROUNDS: usize = 80;

/// Returns the smallest case found that shows `difference` like `case` does.
pub fn shrink(oracle: &Oracle, case: &Case, difference: &Difference) -> Result<Case, String> {
    let mut current = case.clone();
    let mut fine = false;
    for _ in 0..MAX_ROUNDS {
        // Coarse rounds remove runs of 4 or more characters; single characters are tried only
        // once those stop helping, because every round costs a JVM start.
        let (min_run, max_run) = if fine { (1, 3) } else { (4, usize::MAX) };
        let mut candidates: Vec<Case> = template_reductions(&current.template, min_run, max_run)
            .into_iter()
            .map(|template| Case { template, data: current.data.clone() })
            .chain(
                data_reductions(&current.data)
                    .into_iter()
                    .map(|data| Case { template: current.template.clone(), data }),
            )
            .filter(|c| size(c) < size(&current))
            .collect();
        candidates.sort_by_key(size);
        candidates.dedup_by(|a, b| a.template == b.template && a.data == b.data);
        // Only candidates sluice still treats the same way need the oracle.
        let sluice: Vec<SluiceResult> = candidates.iter().map(render_with_sluice).collect();
        let keep: Vec<usize> =
            (0..candidates.len()).filter(|&i| could_still_differ(&sluice[i], difference)).collect();
        let batch: Vec<Case> = keep.iter().map(|&i| candidates[i].clone()).collect();
        let results = oracle.run(&batch)?;
        let best = keep
            .iter()
            .zip(&results)
            .find(|(i, theirs)| {
                compare(&sluice[**i], theirs) == Verdict::Differs(difference.clone())
            })
            .map(|(i, _)| *i);
        match best {
            Some(i) => {
                current = candidates.swap_remove(i);
                fine = false;
            }
            None if fine => break,
            None => fine = true,
        }
    }
    Ok(current)
}

fn size(case: &Case) -> usize {
    case.template.len() + case.data.len()
}

/// Returns false when sluice's result alone rules out `difference`.
fn could_still_differ(sluice: &SluiceResult, difference: &Difference) -> bool {
    match (sluice, difference) {
        (SluiceResult::Limit | SluiceResult::Unsupported(_), _) => false,
        (SluiceResult::Output(_), Difference::Output | Difference::OracleFails(_)) => true,
        (SluiceResult::Error { class, .. }, Difference::SluiceFails(wanted)) => class == wanted,
        (SluiceResult::Error { class, .. }, Difference::Class(wanted, _)) => class == wanted,
        _ => false,
    }
}

/// Templates with one run of characters removed, for run lengths from half the template down
/// to `min_run` characters, skipping runs longer than `max_run`.
fn template_reductions(template: &str, min_run: usize, max_run: usize) -> Vec<String> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = Vec::new();
    let mut run = (chars.len() / 2).min(max_run);
    while run >= min_run.max(1) {
        let mut start = 0;
        while start + run <= chars.len() {
            let reduced: String = chars[..start].iter().chain(&chars[start + run..]).collect();
            out.push(reduced);
            start += run.div_ceil(2).max(1);
        }
        run /= 2;
    }
    out
}

/// Data models with one key or item removed or one value simplified.
fn data_reductions(data: &str) -> Vec<String> {
    let Ok(root) = serde_json::from_str::<Json>(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut path = Vec::new();
    reductions_at(&root, &root, &mut path, &mut out);
    out
}

/// One step into a JSON document: an object key or an array index.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn reductions_at(root: &Json, node: &Json, path: &mut Vec<Step>, out: &mut Vec<String>) {
    match node {
        Json::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                out.push(edit(root, path, None));
                reductions_at(root, child, path, out);
                path.pop();
            }
        }
        Json::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(Step::Index(index));
                out.push(edit(root, path, None));
                reductions_at(root, child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
    if !path.is_empty() {
        for simpler in [Json::Null, Json::from(0), Json::from("")] {
            if *node != simpler {
                out.push(edit(root, path, Some(simpler)));
            }
        }
    }
}

/// Returns `root` as JSON text with the value at `path` removed (`None`) or replaced.
fn edit(root: &Json, path: &[Step], replacement: Option<Json>) -> String {
    let mut copy = root.clone();
    let mut node = &mut copy;
    for step in &path[..path.len() - 1] {
        node = match step {
            Step::Key(key) => &mut node[key.as_str()],
            Step::Index(index) => &mut node[*index],
        };
    }
    match (path.last(), replacement, node) {
        (Some(Step::Key(key)), None, Json::Object(map)) => {
            map.shift_remove(key);
        }
        (Some(Step::Index(index)), None, Json::Array(items)) => {
            items.remove(*index);
        }
        (Some(Step::Key(key)), Some(value), Json::Object(map)) => {
            map.insert(key.clone(), value);
        }
        (Some(Step::Index(index)), Some(value), Json::Array(items)) => {
            items[*index] = value;
        }
        _ => {}
    }
    copy.to_string()
}
