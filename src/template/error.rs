//! Template errors with the location they point at.

use std::fmt;
use std::ops::Range;

/// The class of a template error, in FreeMarker's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The template is malformed or uses something outside the subset.
    Syntax,
    /// A missing or null value was used without `!` or `??`.
    MissingValue,
    /// A value of the wrong type, such as a hash printed with `${}`.
    Type,
    /// Any other failure while rendering, such as division by zero.
    Evaluation,
    /// `<#stop>` ended the render.
    Stop,
    /// A limit on nesting, loop iterations, output size or evaluation steps was exceeded.
    Limit,
}

impl ErrorKind {
    /// Returns the class name the FreeMarker reference reports for this kind.
    pub fn class(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "parse error",
            ErrorKind::MissingValue => "missing value",
            ErrorKind::Type => "type error",
            ErrorKind::Evaluation => "evaluation error",
            ErrorKind::Stop => "stop",
            ErrorKind::Limit => "limit exceeded",
        }
    }
}

/// An error raised while compiling or rendering a template.
#[derive(Debug, Clone)]
pub struct TemplateError {
    pub(super) kind: ErrorKind,
    pub(super) detail: String,
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) column: usize,
    /// The text of the line the error points at, for the report.
    pub(super) source_line: String,
    /// The lines before and after `source_line`, when there are any.
    pub(super) context: (Option<String>, Option<String>),
    /// Byte range within `source_line` to underline.
    pub(super) underline: Range<usize>,
}

impl TemplateError {
    /// Creates an error at byte range `span` of `source`.
    pub fn new(
        kind: ErrorKind,
        name: &str,
        source: &str,
        span: Range<usize>,
        detail: impl Into<String>,
    ) -> TemplateError {
        let start = span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end);
        let before = (line_start > 0).then(|| {
            let previous_end = line_start - 1;
            let previous_start = source[..previous_end].rfind('\n').map_or(0, |i| i + 1);
            source[previous_start..previous_end].trim_end_matches('\r').to_owned()
        });
        let after = (line_end < source.len()).then(|| {
            let next_start = line_end + 1;
            let next_end = source[next_start..].find('\n').map_or(source.len(), |i| next_start + i);
            source[next_start..next_end].trim_end_matches('\r').to_owned()
        });
        TemplateError {
            kind,
            detail: detail.into(),
            name: name.to_owned(),
            line,
            column,
            source_line: source[line_start..line_end].trim_end_matches('\r').to_owned(),
            context: (before, after),
            underline: (start - line_start)..(end - line_start),
        }
    }

    /// Returns the error's class.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Returns the one-line message without location.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Returns the 1-based line the error points at.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Returns the 1-based column (in characters) the error points at.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Returns a multi-line report: the one-line message, the source line with one line of
    /// context on each side, and carets under the span.
    pub fn report(&self) -> String {
        super::report::render(self)
    }

    /// Returns the template's name.
    pub fn template_name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for TemplateError {
    /// Formats `CLASS: detail (NAME:LINE:COLUMN)` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}:{}:{})",
            self.kind.class(),
            self.detail,
            self.name,
            self.line,
            self.column
        )
    }
}

impl std::error::Error for TemplateError {}
