//! Locales for `<#setting locale=...>`: Java's number symbols, number patterns, date names and
//! date style patterns for a fixed list of locales, generated from the Java 17 runtime that
//! runs FreeMarker 2.3.31.
//!
//! Time zone names (`z`, `zzzz`) and string collation exist only for English here. Formatting a
//! zone name in another locale is an error, and [`Locale::is_english`] lets the evaluator check
//! whether `?sort` may use the en_US collation.

use std::fmt;
use std::sync::LazyLock;

use super::locale_table::LOCALES;

/// An error from choosing a locale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "locale {name:?} is not supported; use one of en_US, en_GB, de_DE, fr_FR, es_ES, it_IT, \
     nl_NL, pt_BR, ja_JP, zh_CN and the other locales listed in the documentation"
)]
pub struct LocaleError {
    /// The name as given.
    pub name: String,
}

/// A supported locale with its Java formatting data.
#[derive(Clone, Copy)]
pub struct Locale(&'static LocaleData);

/// The Java formatting data of one locale.
pub(super) struct LocaleData {
    pub name: &'static str,
    pub decimal: char,
    pub grouping: char,
    /// The separators of patterns with a currency sign.
    pub monetary_decimal: char,
    pub monetary_grouping: char,
    pub minus: char,
    pub percent: char,
    pub per_mille: char,
    pub infinity: &'static str,
    pub nan: &'static str,
    pub currency_symbol: &'static str,
    pub currency_code: &'static str,
    pub number_pattern: &'static str,
    pub currency_pattern: &'static str,
    pub percent_pattern: &'static str,
    pub months: [&'static str; 12],
    pub short_months: [&'static str; 12],
    pub standalone_months: [&'static str; 12],
    pub short_standalone_months: [&'static str; 12],
    /// Sunday first.
    pub weekdays: [&'static str; 7],
    pub short_weekdays: [&'static str; 7],
    pub am_pm: [&'static str; 2],
    /// BC first.
    pub eras: [&'static str; 2],
    /// Full, long, medium and short.
    pub date_patterns: [&'static str; 4],
    pub time_patterns: [&'static str; 4],
    /// By date style, then time style, each full, long, medium, short.
    pub date_time_patterns: [&'static str; 16],
    /// 1 is Sunday.
    pub first_day_of_week: i64,
    pub minimal_days_in_first_week: i64,
}

impl Locale {
    /// Returns en_US, the reference configuration's locale.
    pub fn en_us() -> Locale {
        // Every render starts in en_US, so the table search runs once per process.
        static EN_US: LazyLock<Locale> =
            LazyLock::new(|| Locale::parse("en_US").unwrap_or_else(|_| Locale(&LOCALES[0])));
        *EN_US
    }

    /// Looks a locale up by the name FreeMarker's `locale` setting takes (`de_DE`, `en`).
    ///
    /// FreeMarker reads `de-DE` as an unknown language and formats in Java's root locale, so a
    /// name with `-` is not found here either.
    pub fn parse(name: &str) -> Result<Locale, LocaleError> {
        LOCALES
            .binary_search_by(|data| data.name.cmp(name))
            .map(|index| Locale(&LOCALES[index]))
            .map_err(|_| LocaleError { name: name.to_owned() })
    }

    /// Returns the locale's name, such as `de_DE`.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Returns whether the locale's language is English, whose time zone names and collation
    /// this renderer has.
    pub fn is_english(&self) -> bool {
        self.0.name == "en" || self.0.name.starts_with("en_")
    }

    /// Returns whether the locale is en_US, the only one with Java's time zone names here.
    pub(super) fn has_zone_names(&self) -> bool {
        self.0.name == "en_US"
    }

    pub(super) fn data(&self) -> &'static LocaleData {
        self.0
    }
}

impl PartialEq for Locale {
    fn eq(&self, other: &Locale) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Locale {}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({})", self.0.name)
    }
}

impl Default for Locale {
    fn default() -> Locale {
        Locale::en_us()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_sorted_for_lookup() {
        assert!(LOCALES.windows(2).all(|pair| pair[0].name < pair[1].name));
    }

    #[test]
    fn lookup_takes_underscore_names_only() {
        assert_eq!(Locale::parse("de_DE").unwrap().name(), "de_DE");
        // FreeMarker formats `de-DE` in Java's root locale, not in German.
        assert!(Locale::parse("de-DE").is_err());
        assert!(Locale::parse("xx_YY").is_err());
        assert_eq!(Locale::en_us().name(), "en_US");
    }
}
