//! The multi-line error report: the message, the source around the error and carets under it.

use std::fmt::Write;

use super::error::TemplateError;

/// Formats `error` as a report:
///
/// ```text
/// parse error: found `}`, expected an expression (body:3:14)
///   |
/// 2 |   "user": {
/// 3 |     "id": "${}"
///   |              ^
/// 4 |   }
/// ```
pub fn render(error: &TemplateError) -> String {
    let (before, after) = &error.context;
    let last_line = error.line + usize::from(after.is_some());
    let gutter = last_line.to_string().len();
    let mut out = String::new();
    let _ = writeln!(out, "{error}");
    let _ = writeln!(out, "{:gutter$} |", "");
    if let Some(before) = before {
        let _ = writeln!(out, "{:>gutter$} | {before}", error.line - 1);
    }
    let _ = writeln!(out, "{:>gutter$} | {}", error.line, error.source_line);
    let line = &error.source_line;
    let start = error.underline.start.min(line.len());
    let end = error.underline.end.clamp(start, line.len());
    let prefix: String = line
        .get(..start)
        .unwrap_or("")
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let width = line.get(start..end).map_or(1, |s| s.chars().count().max(1));
    let _ = writeln!(out, "{:gutter$} | {prefix}{}", "", "^".repeat(width));
    if let Some(after) = after {
        let _ = writeln!(out, "{:>gutter$} | {after}", error.line + 1);
    }
    out
}
