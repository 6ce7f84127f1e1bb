//! Built-ins for dates, times and date-times, and how dates print.
//!
//! Dates print with a `SimpleDateFormat` pattern or an ISO 8601 form, in the `time_zone`
//! setting (UTC unless a template changes it). FreeMarker's default for a date printed without a
//! format is the JDK's locale-dependent "medium" style, which this renderer refuses to guess: it
//! raises an error that asks for a format instead.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::BuiltIn;
use super::misc::number;
use crate::template::ast::BuiltInCall;
use crate::template::date::{DateError, DateFormat, DateKind, DateValue, IsoOptions, IsoPrecision};
use crate::template::error::ErrorKind;
use crate::template::eval::{R, RenderError, Renderer, error};
use crate::template::number::Number;
use crate::template::token::Span;
use crate::template::val::Val;

/// A date, time or date-time value.
pub type DateTime = DateValue;

impl<'a> Renderer<'a> {
    /// Evaluates the date built-ins; `None` for other built-ins.
    pub(super) fn date_builtin(
        &mut self,
        call: &'a BuiltInCall,
        target: &Val<'a>,
        span: Span,
    ) -> R<Option<Val<'a>>> {
        let failed = |e: DateError| error(ErrorKind::Evaluation, span, e.to_string());
        let value = match call.builtin {
            BuiltIn::NumberToDateTime | BuiltIn::NumberToDate | BuiltIn::NumberToTime => {
                let Val::Num(n) = target else {
                    return Err(self.wrong_target(call, "a number", target));
                };
                let millis = n
                    .to_epoch_millis()
                    .map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))?;
                let kind = match call.builtin {
                    BuiltIn::NumberToDate => DateKind::Date,
                    BuiltIn::NumberToTime => DateKind::Time,
                    _ => DateKind::DateTime,
                };
                Val::Date(DateValue::new(millis, kind))
            }
            BuiltIn::IsoUtc | BuiltIn::IsoUtcMs | BuiltIn::IsoLocal | BuiltIn::IsoLocalMs => {
                let Val::Date(date) = target else {
                    return Err(self.wrong_target(call, "a date", target));
                };
                let mut out = String::new();
                date.write_iso(self.settings.zone(), iso_options(call.builtin), &mut out)
                    .map_err(failed)?;
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::Long => match target {
                Val::Date(date) => number(date.millis()),
                Val::Num(n) => Val::Num(Cow::Owned(Number::long(n.java_long_value()))),
                other => return Err(self.wrong_target(call, "a date or a number", other)),
            },
            BuiltIn::Date | BuiltIn::Time | BuiltIn::DateTime => {
                let kind = match call.builtin {
                    BuiltIn::Date => DateKind::Date,
                    BuiltIn::Time => DateKind::Time,
                    _ => DateKind::DateTime,
                };
                self.to_date(call, target, kind, span)?
            }
            _ => return Ok(None),
        };
        Ok(Some(value))
    }

    /// `?date`, `?time` and `?datetime`: changes the kind of a date, or parses a string with
    /// the given format or the matching format setting.
    fn to_date(
        &mut self,
        call: &'a BuiltInCall,
        target: &Val<'a>,
        kind: DateKind,
        span: Span,
    ) -> R<Val<'a>> {
        if let Val::Date(date) = target {
            if !call.args.is_empty() {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!(
                        "`?{}` takes no format on a date; it only changes the kind",
                        call.builtin.name()
                    ),
                ));
            }
            return Ok(Val::Date(date.with_kind(kind)));
        }
        let text = self.string_operand(target, call)?.into_owned();
        let format = match call.args.first() {
            Some(_) => {
                let format_text = self.arg_str(call, 0)?;
                self.cached_date_format(call, &format_text)
                    .map_err(|e| error(ErrorKind::Evaluation, call.args[0].span, e.to_string()))?
            }
            None => match self.settings.date_format(kind) {
                Some(format) => std::sync::Arc::new(format.clone()),
                None => {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        format!(
                            "`?{}` without a format needs the {} setting; give a pattern such \
                             as ?{}(\"yyyy-MM-dd HH:mm:ss\")",
                            call.builtin.name(),
                            setting_name(kind),
                            call.builtin.name()
                        ),
                    ));
                }
            },
        };
        // Two-digit years fall into the century window around the current time, as in Java.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        format
            .parse_text_in(&text, kind, self.settings.zone(), self.settings.locale, now)
            .map(Val::Date)
            .map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))
    }

    /// Evaluates `?is_date_only`, `?is_time`, `?is_datetime` and `?is_unknown_date_like`.
    pub(super) fn date_kind_test(&self, builtin: BuiltIn, target: &Val<'a>) -> bool {
        let Val::Date(date) = target else {
            return false;
        };
        match builtin {
            BuiltIn::IsDateOnly => date.kind() == DateKind::Date,
            BuiltIn::IsTime => date.kind() == DateKind::Time,
            BuiltIn::IsDateTime => date.kind() == DateKind::DateTime,
            _ => false,
        }
    }

    /// Appends a date as `${...}` prints it: with the format setting of its kind.
    pub fn write_date(&mut self, date: &DateTime, span: Span, out: &mut String) -> R<()> {
        let Some(format) = self.settings.date_format(date.kind()).cloned() else {
            return Err(error(
                ErrorKind::Evaluation,
                span,
                format!(
                    "a {} prints only with a format; write ?string(\"yyyy-MM-dd'T'HH:mm:ss\"), \
                     ?iso_utc, or set {}",
                    kind_name(date.kind()),
                    setting_name(date.kind())
                ),
            ));
        };
        self.write_date_with(date, &format, span, out)
    }

    pub(crate) fn write_date_with(
        &mut self,
        date: &DateTime,
        format: &DateFormat,
        span: Span,
        out: &mut String,
    ) -> R<()> {
        date.write_format_in(format, self.settings.zone(), self.settings.locale, out)
            .map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))
    }

    /// Appends a date in ISO 8601 UTC with milliseconds, as JSON output shows dates.
    pub fn write_iso_utc_ms(&mut self, date: &DateTime, out: &mut String) {
        // Writing in UTC cannot fail for a date that was computed once already; an instant out
        // of range would have failed when it was created or printed.
        let _ = date.write_iso(self.settings.zone(), IsoOptions::ISO_UTC_MS, out);
    }

    /// `?string` on a date: with a pattern or format name, or with the format setting.
    pub fn date_to_string(
        &mut self,
        call: &'a BuiltInCall,
        target: Val<'a>,
        span: Span,
    ) -> R<Val<'a>> {
        let Val::Date(date) = target else {
            return Ok(target);
        };
        let mut out = String::new();
        match call.args.len() {
            0 => self.write_date(&date, span, &mut out)?,
            1 => {
                let text = self.arg_str(call, 0)?;
                let format = self
                    .cached_date_format(call, &text)
                    .map_err(|e| error(ErrorKind::Evaluation, call.args[0].span, e.to_string()))?;
                self.write_date_with(&date, &format, span, &mut out)?;
            }
            _ => {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    "`?string` on a date takes one pattern",
                ));
            }
        }
        Ok(Val::Str(Cow::Owned(out)))
    }

    /// Orders two dates; dates of different kinds do not compare.
    pub fn compare_dates(&self, left: &DateTime, right: &DateTime, span: Span) -> R<Ordering> {
        left.compare(right)
            .map_err(|e| -> Box<RenderError> { error(ErrorKind::Evaluation, span, e.to_string()) })
    }
}

/// Returns the ISO 8601 form `?iso_utc`, `?iso_utc_ms`, `?iso_local` or `?iso_local_ms` writes.
pub(super) fn iso_options(builtin: BuiltIn) -> IsoOptions {
    match builtin {
        BuiltIn::IsoUtc => IsoOptions::ISO_UTC,
        BuiltIn::IsoUtcMs => IsoOptions::ISO_UTC_MS,
        BuiltIn::IsoLocal => IsoOptions::ISO_LOCAL,
        _ => IsoOptions { precision: IsoPrecision::Millis, ..IsoOptions::ISO_LOCAL },
    }
}

fn kind_name(kind: DateKind) -> &'static str {
    match kind {
        DateKind::Date => "date",
        DateKind::Time => "time",
        DateKind::DateTime => "date-time",
    }
}

fn setting_name(kind: DateKind) -> &'static str {
    match kind {
        DateKind::Date => "date_format",
        DateKind::Time => "time_format",
        DateKind::DateTime => "datetime_format",
    }
}
