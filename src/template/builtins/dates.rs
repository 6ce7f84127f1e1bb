//! Built-ins for dates, times and date-times.
//!
//! NOTE: date values arrive with the date library; until then every date built-in fails at
//! render time with an evaluation error, and `DateTime` has no values.

use super::BuiltIn;
use crate::template::ast::BuiltInCall;
use crate::template::error::ErrorKind;
use crate::template::eval::{R, Renderer, error};
use crate::template::token::Span;
use crate::template::val::Val;

/// A date, time or date-time value.
#[derive(Debug, Clone)]
pub enum DateTime {}

impl<'a> Renderer<'a> {
    /// Evaluates the date built-ins; `None` for other built-ins.
    pub(super) fn date_builtin(
        &mut self,
        call: &'a BuiltInCall,
        _target: &Val<'a>,
        span: Span,
    ) -> R<Option<Val<'a>>> {
        match call.builtin {
            BuiltIn::Date
            | BuiltIn::Time
            | BuiltIn::DateTime
            | BuiltIn::IsoUtc
            | BuiltIn::IsoUtcMs
            | BuiltIn::IsoLocal
            | BuiltIn::IsoLocalMs
            | BuiltIn::Long
            | BuiltIn::NumberToDateTime
            | BuiltIn::NumberToDate
            | BuiltIn::NumberToTime => Err(error(
                ErrorKind::Evaluation,
                span,
                format!("`?{}` is not available yet", call.builtin.name()),
            )),
            _ => Ok(None),
        }
    }

    /// Evaluates `?is_date_only`, `?is_time`, `?is_datetime` and `?is_unknown_date_like`.
    pub(super) fn date_kind_test(&self, _builtin: BuiltIn, _target: &Val<'a>) -> bool {
        false
    }

    /// Appends a date as `${...}` prints it.
    pub fn write_date(&mut self, date: &DateTime, _span: Span, _out: &mut String) -> R<()> {
        match *date {}
    }

    /// Appends a date in ISO 8601 UTC with milliseconds.
    pub fn write_iso_utc_ms(&mut self, date: &DateTime, _out: &mut String) {
        match *date {}
    }

    /// `?string` on a date.
    pub fn date_to_string(
        &mut self,
        _call: &'a BuiltInCall,
        target: Val<'a>,
        _span: Span,
    ) -> R<Val<'a>> {
        match target {
            Val::Date(date) => match date {},
            other => Ok(other),
        }
    }

    /// Orders two dates.
    pub fn compare_dates(
        &self,
        left: &DateTime,
        _right: &DateTime,
        _span: Span,
    ) -> R<std::cmp::Ordering> {
        match *left {}
    }
}
