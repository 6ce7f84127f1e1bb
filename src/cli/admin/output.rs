//! Output of the admin subcommands: tables for people, JSON for scripts, and the problems on
//! standard error.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::Report;
use crate::admin::api::{
    ActionReport, DeadList, DropReport, LetterDetail, PauseReport, Problem, Queues,
};
use crate::cli::{EXIT_PROBLEMS, print_stdout};

/// The widest reason a dead-letter table shows; `sluice dead show` prints it whole.
const REASON_COLUMN_CHARS: usize = 60;

/// Prints a report as a table or JSON, and its problems on standard error; returns 1 when it
/// has problems.
pub(super) fn print_report(report: &Report, json: bool) -> anyhow::Result<ExitCode> {
    let (text, problems, hints) = match report {
        Report::Queues(queues) => (format_queues(queues), Vec::new(), queue_hints(queues)),
        Report::Drop(dropped) => (format_drop(dropped), Vec::new(), Vec::new()),
        Report::List(list) => {
            let hints = list
                .next_after
                .iter()
                .map(|key| format!("more dead letters may follow; continue with --after {key}"))
                .collect();
            (format_list(list), messages(&list.problems), hints)
        }
        Report::Show(detail) => {
            let problems = detail
                .event_error
                .iter()
                .map(|error| format!("cannot read the event of {}: {error}", detail.summary.key))
                .collect();
            (format_show(detail), problems, Vec::new())
        }
        Report::Replay(action) => {
            (format_action(action, "replayed"), messages(&action.problems), Vec::new())
        }
        Report::Purge(action) => {
            (format_action(action, "purged"), messages(&action.problems), Vec::new())
        }
        Report::Pause(pause) => (format_pause(pause), Vec::new(), Vec::new()),
    };
    if json {
        print_stdout(&to_json(report))?;
    } else {
        print_stdout(&text)?;
        for hint in &hints {
            warn(hint);
        }
    }
    for problem in &problems {
        warn(problem);
    }
    if problems.is_empty() { Ok(ExitCode::SUCCESS) } else { Ok(ExitCode::from(EXIT_PROBLEMS)) }
}

fn to_json(report: &Report) -> String {
    fn pretty(value: &impl Serialize) -> String {
        let mut text = serde_json::to_string_pretty(value).expect("admin reports serialize");
        text.push('\n');
        text
    }
    match report {
        Report::Queues(queues) => pretty(queues),
        Report::Drop(dropped) => pretty(dropped),
        Report::List(list) => pretty(list),
        Report::Show(detail) => pretty(detail),
        Report::Replay(action) | Report::Purge(action) => pretty(action),
        Report::Pause(pause) => pretty(pause),
    }
}

/// Writes `message` to standard error behind `sluice: `; a closed standard error is ignored.
pub(super) fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "sluice: {message}");
}

fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|problem| problem.message.clone()).collect()
}

fn format_queues(queues: &Queues) -> String {
    let rows = queues
        .destinations
        .iter()
        .map(|row| {
            let status = match (row.configured, row.paused) {
                (Some(false), _) => "not configured",
                (_, true) => "paused",
                (Some(true), false) => "configured",
                (None, false) => "-",
            };
            vec![
                row.destination.clone(),
                status.to_owned(),
                row.pending.to_string(),
                row.leased.to_string(),
                row.dead.to_string(),
            ]
        })
        .collect();
    table(
        &[
            ("DESTINATION", false),
            ("STATUS", false),
            ("PENDING", true),
            ("LEASED", true),
            ("DEAD", true),
        ],
        rows,
    )
}

fn queue_hints(queues: &Queues) -> Vec<String> {
    queues
        .destinations
        .iter()
        .filter(|row| row.configured == Some(false))
        .map(|row| {
            format!(
                "destination `{0}` is no longer configured; `sluice queues drop {0} --yes`, \
                 with the --config or --state-dir given here, deletes its queue",
                row.destination
            )
        })
        .collect()
}

fn format_list(list: &DeadList) -> String {
    if list.letters.is_empty() {
        return "no dead letters\n".to_owned();
    }
    let rows = list
        .letters
        .iter()
        .map(|letter| {
            vec![
                letter.key.to_string(),
                format_time(letter.dead_at_ms, false),
                letter.attempts.to_string(),
                letter.status.map_or_else(|| "-".to_owned(), |status| status.to_string()),
                shorten(&letter.reason, REASON_COLUMN_CHARS),
            ]
        })
        .collect();
    table(
        &[
            ("KEY", false),
            ("DEAD SINCE", false),
            ("ATTEMPTS", true),
            ("STATUS", true),
            ("REASON", false),
        ],
        rows,
    )
}

fn format_show(detail: &LetterDetail) -> String {
    let letter = &detail.summary;
    let optional = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    let fields = [
        ("key", letter.key.to_string()),
        ("destination", letter.key.destination.clone()),
        ("event id", letter.key.event_id.to_string()),
        ("reason", letter.reason.clone()),
        ("status", optional(letter.status.map(|status| status.to_string()))),
        ("attempts", letter.attempts.to_string()),
        // A letter that died at its first attempt failed first when it died.
        ("first failure", format_time(letter.first_failure_ms.unwrap_or(letter.dead_at_ms), true)),
        ("dead since", format_time(letter.dead_at_ms, true)),
        ("last error", optional(letter.last_error.clone())),
        ("event bytes", letter.event_bytes.to_string()),
        ("source", optional(detail.source.clone())),
    ];
    let mut out = String::new();
    for (name, value) in fields {
        let _ = writeln!(out, "{name:<14} {value}");
    }
    let _ = writeln!(out, "\nresponse snippet:");
    if letter.response_snippet.is_empty() {
        let _ = writeln!(out, "-");
    } else {
        let _ = writeln!(out, "{}", letter.response_snippet);
    }
    let _ = writeln!(out, "\nevent:");
    match &detail.event {
        Some(event) => {
            let text = serde_json::to_string_pretty(event).expect("a JSON value serializes");
            let _ = writeln!(out, "{text}");
        }
        None => {
            let _ = writeln!(out, "-");
        }
    }
    out
}

fn format_action(action: &ActionReport, verb: &str) -> String {
    let mut out = String::new();
    for letter in &action.letters {
        match letter.queued_as {
            Some(event_id) => {
                let _ = writeln!(out, "{verb} {} as event {event_id}", letter.key);
            }
            None => {
                let _ = writeln!(out, "{verb} {}", letter.key);
            }
        }
    }
    let _ = writeln!(out, "{verb} {}", count(action.count, "dead letter"));
    out
}

fn format_drop(dropped: &DropReport) -> String {
    format!(
        "dropped the queue of `{}`: {} and {}\n",
        dropped.destination,
        count(dropped.entries, "pending entry"),
        count(dropped.dead_letters, "dead letter")
    )
}

fn format_pause(pause: &PauseReport) -> String {
    match (pause.paused, pause.changed) {
        (true, true) => format!("paused deliveries to `{}`\n", pause.destination),
        (true, false) => format!("deliveries to `{}` were already paused\n", pause.destination),
        (false, true) => format!("resumed deliveries to `{}`\n", pause.destination),
        (false, false) => format!("deliveries to `{}` were not paused\n", pause.destination),
    }
}

/// Returns `"1 dead letter"`, `"2 dead letters"`, `"1 pending entry"`, `"2 pending entries"`.
fn count(number: u64, noun: &str) -> String {
    if number == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) => format!("{number} {stem}ies"),
        None => format!("{number} {noun}s"),
    }
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC, to the millisecond or to the
/// second.
fn format_time(millis: u64, with_millis: bool) -> String {
    let Ok(millis) = i64::try_from(millis) else {
        return millis.to_string();
    };
    let timestamp = if with_millis {
        jiff::Timestamp::from_millisecond(millis)
    } else {
        jiff::Timestamp::from_second(millis.div_euclid(1000))
    };
    timestamp.map_or_else(|_| millis.to_string(), |timestamp| timestamp.to_string())
}

/// Cuts `text` to one line of at most `max` characters, ending a cut line with `...`.
fn shorten(text: &str, max: usize) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

/// Lays out rows under headers, two spaces apart; columns marked true are right-aligned.
fn table(headers: &[(&str, bool)], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|(header, _)| header.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|(header, _)| (*header).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(&rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            let (width, right) = (widths[index], headers[index].1);
            let padding = " ".repeat(width.saturating_sub(cell.chars().count()));
            if index > 0 {
                line.push_str("  ");
            }
            if right {
                line.push_str(&padding);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&padding);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_pluralised() {
        assert_eq!(count(1, "dead letter"), "1 dead letter");
        assert_eq!(count(0, "dead letter"), "0 dead letters");
        assert_eq!(count(2, "pending entry"), "2 pending entries");
    }

    #[test]
    fn table_aligns_columns() {
        let text = table(
            &[("NAME", false), ("COUNT", true)],
            vec![vec!["a".into(), "5".into()], vec!["longer".into(), "12345".into()]],
        );
        assert_eq!(text, "NAME    COUNT\na           5\nlonger  12345\n");
    }

    #[test]
    fn shorten_cuts_long_reasons_to_one_line() {
        assert_eq!(shorten("a\nb", 10), "a b");
        assert_eq!(shorten("abcdefghij", 8), "abcde...");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(format_time(1_709_648_551_482, true), "2024-03-05T14:22:31.482Z");
        assert_eq!(format_time(1_709_648_551_482, false), "2024-03-05T14:22:31Z");
    }
}
