//! The settings `<#setting>` changes during a render, and the text conversions they drive.

use std::borrow::Cow;

use super::ast::{NumberDigits, Setting};
use super::date::{DateFormat, DateKind, TimeZone};
use super::locale::Locale;
use super::number::{Number, NumberFormat};

/// Render settings, starting from sluice's configuration of FreeMarker: `number_format`
/// `computer`, the default `boolean_format`, locale en_US, time zone UTC.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `number_format` text as set.
    pub number_format_text: Cow<'static, str>,
    /// The parsed `number_format`.
    pub number_format: NumberFormat,
    /// The texts of `true` and `false`; `None` for the default, which refuses to print booleans
    /// without `?c` or `?string`.
    pub boolean_format: Option<(String, String)>,
    /// `date_format`, `time_format` and `datetime_format`; `None` while unset.
    pub date_formats: [Option<DateFormat>; 3],
    /// The `time_zone` dates print and parse in; `None` for UTC.
    pub time_zone: Option<TimeZone>,
    /// The `locale` numbers and dates are formatted in.
    pub locale: Locale,
}

/// UTC, built once because building a zone looks it up in the zone table.
static UTC: std::sync::LazyLock<TimeZone> = std::sync::LazyLock::new(TimeZone::utc);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            number_format_text: Cow::Borrowed("computer"),
            number_format: NumberFormat::Computer,
            boolean_format: None,
            date_formats: [None, None, None],
            time_zone: None,
            locale: Locale::en_us(),
        }
    }
}

impl Settings {
    /// Changes `setting` to `value`; the error says why the value is invalid.
    pub fn set(&mut self, setting: Setting, value: &str) -> Result<(), String> {
        match setting {
            Setting::NumberFormat => {
                self.number_format =
                    NumberFormat::parse_in(value, self.locale).map_err(|e| e.to_string())?;
                self.number_format_text = Cow::Owned(value.to_owned());
            }
            Setting::BooleanFormat => {
                self.boolean_format = parse_boolean_format(value)?;
            }
            Setting::Locale => {
                let locale = Locale::parse(value).map_err(|e| e.to_string())?;
                // The number format keeps its text and takes its symbols from the new locale.
                self.number_format = NumberFormat::parse_in(&self.number_format_text, locale)
                    .map_err(|e| e.to_string())?;
                self.locale = locale;
            }
            Setting::DateFormat | Setting::TimeFormat | Setting::DateTimeFormat => {
                let index = match setting {
                    Setting::DateFormat => 0,
                    Setting::TimeFormat => 1,
                    _ => 2,
                };
                self.date_formats[index] = if value.is_empty() {
                    None
                } else {
                    Some(DateFormat::parse(value).map_err(|e| e.to_string())?)
                };
            }
            Setting::TimeZone => {
                // Like Java's `TimeZone.getTimeZone`, an unknown name gives GMT without error.
                self.time_zone = Some(TimeZone::from_setting(value));
            }
            Setting::UrlEscapingCharset | Setting::OutputEncoding => {
                if !value.eq_ignore_ascii_case("UTF-8") {
                    return Err(format!(
                        "charset {value:?} is not supported because request bodies are UTF-8; \
                         set \"UTF-8\" or remove this setting"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Returns the time zone dates print and parse in.
    pub fn zone(&self) -> &TimeZone {
        self.time_zone.as_ref().unwrap_or(&UTC)
    }

    /// Returns the format setting for dates of `kind`; `None` while it is unset.
    pub fn date_format(&self, kind: DateKind) -> Option<&DateFormat> {
        let index = match kind {
            DateKind::Date => 0,
            DateKind::Time => 1,
            DateKind::DateTime => 2,
        };
        self.date_formats[index].as_ref()
    }

    /// Appends `number` in the current `number_format`.
    pub fn write_number(&self, number: &Number, out: &mut String) -> Result<(), String> {
        match &self.number_format {
            NumberFormat::Computer => number.write_computer(out),
            format => number.write_format(format, out),
        }
        Ok(())
    }

    /// Appends `number` as `#{...}` prints it: no grouping, and between the given minimum and
    /// maximum fraction digits (0 to 50 when none are given), rounded half-even.
    pub fn write_fixed_number(
        &self,
        number: &Number,
        digits: NumberDigits,
        out: &mut String,
    ) -> Result<(), String> {
        let (min, max) = match (digits.min, digits.max) {
            (None, None) => (0, 50),
            (Some(min), None) => (min, min),
            (None, Some(max)) => (0, max),
            (Some(min), Some(max)) => (min, max.max(min)),
        };
        let mut pattern = String::from("0");
        if max > 0 {
            pattern.push('.');
            pattern.extend(std::iter::repeat_n('0', min as usize));
            pattern.extend(std::iter::repeat_n('#', (max - min) as usize));
        }
        let format = NumberFormat::parse_in(&pattern, self.locale).map_err(|e| e.to_string())?;
        number.write_format(&format, out);
        Ok(())
    }

    /// Returns the text of a boolean under the current `boolean_format`; `None` when the format
    /// is the default, which has no text for booleans.
    pub fn boolean_text(&self, value: bool) -> Option<&str> {
        let (yes, no) = self.boolean_format.as_ref()?;
        Some(if value { yes } else { no })
    }
}

/// Parses a `boolean_format` value: `"c"`, `"true,false"` (the default) or `"yes,no"`.
fn parse_boolean_format(value: &str) -> Result<Option<(String, String)>, String> {
    if value == "c" {
        return Ok(Some(("true".to_owned(), "false".to_owned())));
    }
    if value == "true,false" {
        return Ok(None);
    }
    match value.split_once(',') {
        Some((yes, no)) if !no.contains(',') => Ok(Some((yes.to_owned(), no.to_owned()))),
        _ => Err(format!(
            "boolean_format {value:?} is invalid; write the two texts separated by a comma, \
             like \"yes,no\", or \"c\""
        )),
    }
}
