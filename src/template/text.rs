//! String functions with FreeMarker 2.3.31's exact semantics.
//!
//! FreeMarker runs on Java strings, so lengths and indexes count UTF-16 code units (an emoji
//! counts 2) and case mapping follows Java's rules for the en_US locale. Every function here is
//! pure: it reads `&str` arguments and either returns a value or appends to a caller's buffer.
//!
//! A slice that would cut a surrogate pair in two has no UTF-8 form; FreeMarker writes such a
//! lone surrogate as `?` when it encodes its output, and these functions substitute `?` in the
//! same place.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::regex::JavaRegex;
pub use super::regex::{RegexError, RegexFlags};

/// Maximum length in UTF-16 units that padding may produce.
pub const MAX_PADDED_LENGTH: usize = 1 << 20;

/// An error from a string function, in FreeMarker's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// A substring or slice index lies outside the string.
    #[error("{what} index {index} is out of bounds: the string has {length} UTF-16 code units")]
    IndexOutOfBounds {
        /// Which index: `begin` or `end`.
        what: &'static str,
        /// The index given.
        index: i64,
        /// The string's length in UTF-16 code units.
        length: usize,
    },
    /// The end of a substring lies before its start.
    #[error("substring end index {end} is less than its begin index {begin}")]
    DecreasingRange {
        /// The begin index.
        begin: i64,
        /// The end index.
        end: i64,
    },
    /// Padding would make a string longer than [`MAX_PADDED_LENGTH`].
    #[error("padding to {width} characters exceeds the limit of {MAX_PADDED_LENGTH}")]
    PaddingTooLong {
        /// The requested width.
        width: i64,
    },
    /// The padding string is empty.
    #[error("the padding string of ?left_pad or ?right_pad must not be empty")]
    EmptyPadding,
    /// A regular expression or flag string is invalid or unsupported.
    #[error(transparent)]
    Regex(#[from] RegexError),
    /// `?truncate` was given a negative length.
    #[error("?truncate length {length} must not be negative")]
    NegativeLength {
        /// The length given.
        length: i64,
    },
}

/// Appends `s` escaped for the inside of a JSON string literal, as `?json_string` does.
///
/// `"` and `\` get a backslash; `\n \r \t \b \f` use their short forms; other characters below
/// U+0020, U+007F to U+009F, U+2028 and U+2029 become `\uXXXX` with upper-case hex. To keep the
/// text safe inside HTML `<script>`: `/` is escaped at the start or after `<`, `<` before `!` or
/// `?` or at the end, and `>` at the start or after `]` or `-`. Nothing else is escaped.
pub fn json_string(s: &str, out: &mut String) {
    escape_js_like(s, Dialect::Json, out);
}

/// Appends `s` escaped for a JavaScript string literal, as `?js_string` does.
///
/// As [`json_string`], except that `'` becomes `\'`, escapes below U+0100 use `\xXX`, and a
/// dangerous `>` becomes `\>`.
pub fn js_string(s: &str, out: &mut String) {
    escape_js_like(s, Dialect::JavaScript, out);
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Json,
    JavaScript,
}

fn escape_js_like(s: &str, dialect: Dialect, out: &mut String) {
    let bytes = s.as_bytes();
    let mut previous: Option<char> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\'' if dialect == Dialect::JavaScript => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if at == 0 || previous == Some('<') => out.push_str("\\/"),
            '<' if matches!(next, None | Some('!') | Some('?')) => push_hex_escape(c, dialect, out),
            '>' if at == 0 || matches!(previous, Some(']') | Some('-')) => {
                if dialect == Dialect::JavaScript {
                    out.push_str("\\>");
                } else {
                    push_hex_escape(c, dialect, out);
                }
            }
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => {
                push_hex_escape(c, dialect, out)
            }
            _ => {
                // Copy runs of unescaped characters in one step.
                let end = at + c.len_utf8();
                out.push_str(&s[at..end]);
            }
        }
        previous = Some(c);
    }
    let _ = bytes;
}

fn push_hex_escape(c: char, dialect: Dialect, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let code = u32::from(c);
    if dialect == Dialect::JavaScript && code < 0x100 {
        out.push_str("\\x");
    } else {
        out.push_str("\\u");
        out.push(char::from(HEX[(code >> 12 & 0xf) as usize]));
        out.push(char::from(HEX[(code >> 8 & 0xf) as usize]));
    }
    out.push(char::from(HEX[(code >> 4 & 0xf) as usize]));
    out.push(char::from(HEX[(code & 0xf) as usize]));
}

/// Appends `s` escaped for a Java string literal, as `?j_string` does.
///
/// `"` and `\` get a backslash, `\n \r \t \b \f` use their short forms and other characters
/// below U+0020 become `\u00xx` with lower-case hex. Everything else is copied.
pub fn j_string(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            _ => out.push(c),
        }
    }
}

/// Appends `s` percent-encoded as `?url` does with the UTF-8 charset: every byte except ASCII
/// letters, digits and `_-.!~*'()` becomes `%XX` with upper-case hex, so a space is `%20`.
pub fn url(s: &str, out: &mut String) {
    url_encode(s, false, out);
}

/// Appends `s` percent-encoded as `?url_path` does: as [`url`], but `/` is kept.
pub fn url_path(s: &str, out: &mut String) {
    url_encode(s, true, out);
}

fn url_encode(s: &str, keep_slash: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        let safe = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'-' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
            || (keep_slash && b == b'/');
        if safe {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// Appends `s` upper-cased with Java's full Unicode mapping (`"ß"` becomes `"SS"`).
pub fn upper_case(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_uppercase())));
    } else {
        out.push_str(&s.to_uppercase());
    }
}

/// Appends `s` lower-cased with Java's full Unicode mapping (`"İ"` becomes two characters, and
/// a final `Σ` becomes `ς`).
pub fn lower_case(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// Appends `s` with its first character after leading whitespace upper-cased (`?cap_first`).
///
/// Java maps that one character alone, so a character whose upper case has several characters
/// (`ß`) stays as it is.
pub fn cap_first(s: &str, out: &mut String) {
    map_first(s, simple_upper, out);
}

/// Appends `s` with its first character after leading whitespace lower-cased (`?uncap_first`).
pub fn uncap_first(s: &str, out: &mut String) {
    map_first(s, simple_lower, out);
}

fn map_first(s: &str, map: fn(char) -> char, out: &mut String) {
    match s.char_indices().find(|&(_, c)| !is_java_whitespace(c)) {
        Some((at, c)) => {
            out.push_str(&s[..at]);
            out.push(map(c));
            out.push_str(&s[at + c.len_utf8()..]);
        }
        None => out.push_str(s),
    }
}

/// Appends `s` with each word's first character upper-cased and the rest lower-cased
/// (`?capitalize`); words are separated by space, tab, carriage return and line feed.
pub fn capitalize(s: &str, out: &mut String) {
    let mut start_of_word = true;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            out.push(c);
            start_of_word = true;
        } else if start_of_word {
            out.extend(c.to_uppercase());
            start_of_word = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// Maps one character to upper case as Java's `Character.toUpperCase(int)`: the simple
/// one-to-one mapping.
fn simple_upper(c: char) -> char {
    let mut mapped = c.to_uppercase();
    match (mapped.next(), mapped.next()) {
        (Some(single), None) => single,
        // Characters whose full mapping has several characters keep their simple mapping,
        // which for every such character except the Greek ones with ypogegrammeni is itself.
        _ => match c {
            '\u{1f80}'..='\u{1f87}' | '\u{1f90}'..='\u{1f97}' | '\u{1fa0}'..='\u{1fa7}' => {
                char::from_u32(u32::from(c) + 8).unwrap_or(c)
            }
            '\u{1fb3}' => '\u{1fbc}',
            '\u{1fc3}' => '\u{1fcc}',
            '\u{1ff3}' => '\u{1ffc}',
            _ => c,
        },
    }
}

/// Maps one character to lower case as Java's `Character.toLowerCase(int)`.
fn simple_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut mapped = c.to_lowercase();
    match (mapped.next(), mapped.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

/// Returns whether Java's `Character.isWhitespace` holds for `c`.
pub fn is_java_whitespace(c: char) -> bool {
    match c {
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{1c}'..='\u{1f}' => true,
        '\u{a0}' | '\u{2007}' | '\u{202f}' => false,
        ' '
        | '\u{1680}'
        | '\u{2000}'..='\u{200a}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{205f}'
        | '\u{3000}' => true,
        _ => false,
    }
}

/// Returns `s` without leading and trailing characters up to U+0020, as Java's `String.trim`
/// and `?trim` do.
pub fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Returns the length in UTF-16 code units, as `?length` counts.
pub fn length(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars().map(char::len_utf16).sum()
}

/// Converts a UTF-16 index into a byte offset of `s`.
///
/// Returns `Err(byte offset of the split character)` when the index falls inside a surrogate
/// pair, and `None` when it lies beyond the end.
fn utf16_to_byte(s: &str, index: usize) -> Option<Result<usize, usize>> {
    if s.is_ascii() {
        return (index <= s.len()).then_some(Ok(index));
    }
    let mut units = 0;
    for (at, c) in s.char_indices() {
        if units == index {
            return Some(Ok(at));
        }
        units += c.len_utf16();
        if units > index {
            return Some(Err(at));
        }
    }
    (units == index).then_some(Ok(s.len()))
}

/// Converts a byte offset of `s` into a UTF-16 index.
fn byte_to_utf16(s: &str, offset: usize) -> usize {
    length(&s[..offset])
}

/// Returns the UTF-16 index of the first occurrence of `needle` at or after `from`, or -1
/// (`?index_of`). A `from` below 0 counts as 0; beyond the end finds only an empty needle at
/// the end.
pub fn index_of(s: &str, needle: &str, from: Option<i64>) -> i64 {
    let len = length(s) as i64;
    let from = from.unwrap_or(0).clamp(0, len);
    let start = match utf16_to_byte(s, from as usize) {
        Some(Ok(at)) => at,
        // Starting inside a surrogate pair: the next match can only begin after it.
        Some(Err(at)) => at + s[at..].chars().next().map_or(0, char::len_utf8),
        None => return -1,
    };
    match s[start..].find(needle) {
        Some(found) => byte_to_utf16(s, start + found) as i64,
        None => -1,
    }
}

/// Returns the UTF-16 index of the last occurrence of `needle` starting at or before `from`,
/// or -1 (`?last_index_of`).
pub fn last_index_of(s: &str, needle: &str, from: Option<i64>) -> i64 {
    let len = length(s) as i64;
    let from = match from {
        Some(from) if from < 0 => return -1,
        Some(from) => from.min(len),
        None => len,
    };
    let limit_units = from as usize + length(needle);
    let end = match utf16_to_byte(s, limit_units.min(len as usize)) {
        Some(Ok(at)) => at,
        Some(Err(at)) => at,
        None => s.len(),
    };
    match s[..end].rfind(needle) {
        Some(found) => byte_to_utf16(s, found) as i64,
        None => -1,
    }
}

/// Returns the part of `s` between UTF-16 indexes `begin` (inclusive) and `end` (exclusive,
/// default the end), as `?substring` and `s[begin..end]` do.
///
/// Indexes outside `0..=length` and an `end` before `begin` are errors. A cut inside a surrogate
/// pair leaves a lone surrogate, which is written `?`.
pub fn substring(s: &str, begin: i64, end: Option<i64>) -> Result<Cow<'_, str>, TextError> {
    let len = length(s);
    let end = end.unwrap_or(len as i64);
    if begin < 0 || begin > len as i64 {
        return Err(TextError::IndexOutOfBounds { what: "begin", index: begin, length: len });
    }
    if end < 0 || end > len as i64 {
        return Err(TextError::IndexOutOfBounds { what: "end", index: end, length: len });
    }
    if end < begin {
        return Err(TextError::DecreasingRange { begin, end });
    }
    Ok(utf16_slice(s, begin as usize, end as usize))
}

/// Slices by UTF-16 indexes known to be in range, writing `?` for a split surrogate pair.
fn utf16_slice(s: &str, begin: usize, end: usize) -> Cow<'_, str> {
    let (start, lone_start) = match utf16_to_byte(s, begin) {
        Some(Ok(at)) => (at, false),
        Some(Err(at)) => (at + 4, true),
        None => (s.len(), false),
    };
    let (stop, lone_end) = match utf16_to_byte(s, end) {
        Some(Ok(at)) => (at, false),
        Some(Err(at)) => (at, true),
        None => (s.len(), false),
    };
    if begin == end {
        return Cow::Borrowed("");
    }
    if !lone_start && !lone_end {
        return Cow::Borrowed(&s[start..stop]);
    }
    if lone_start && lone_end && stop < start {
        // Both ends inside the same surrogate pair: one unit of it.
        return Cow::Borrowed("?");
    }
    let mut text = String::with_capacity(stop.saturating_sub(start) + 2);
    if lone_start {
        text.push('?');
    }
    text.push_str(&s[start.min(stop)..stop]);
    if lone_end {
        text.push('?');
    }
    Cow::Owned(text)
}

/// Returns whether `s` contains `needle`; the empty string is contained in everything.
pub fn contains(s: &str, needle: &str) -> bool {
    s.contains(needle)
}

/// Returns `s` after the first occurrence of `needle`, or `""` if absent (`?keep_after`).
pub fn keep_after<'a>(s: &'a str, needle: &str, flags: &RegexFlags) -> Result<&'a str, TextError> {
    Ok(match find_first(s, needle, flags)? {
        Some((_, end)) => &s[end..],
        None => "",
    })
}

/// Returns `s` after the last occurrence of `needle`, or `""` if absent (`?keep_after_last`).
pub fn keep_after_last<'a>(
    s: &'a str,
    needle: &str,
    flags: &RegexFlags,
) -> Result<&'a str, TextError> {
    Ok(match find_last(s, needle, flags)? {
        Some((_, end)) => &s[end..],
        None => "",
    })
}

/// Returns `s` before the first occurrence of `needle`, or all of `s` if absent
/// (`?keep_before`).
pub fn keep_before<'a>(s: &'a str, needle: &str, flags: &RegexFlags) -> Result<&'a str, TextError> {
    Ok(match find_first(s, needle, flags)? {
        Some((start, _)) => &s[..start],
        None => s,
    })
}

/// Returns `s` before the last occurrence of `needle`, or all of `s` if absent
/// (`?keep_before_last`).
pub fn keep_before_last<'a>(
    s: &'a str,
    needle: &str,
    flags: &RegexFlags,
) -> Result<&'a str, TextError> {
    Ok(match find_last(s, needle, flags)? {
        Some((start, _)) => &s[..start],
        None => s,
    })
}

fn find_first(
    s: &str,
    needle: &str,
    flags: &RegexFlags,
) -> Result<Option<(usize, usize)>, TextError> {
    if flags.regex {
        let regex = JavaRegex::compile(needle, flags)?;
        return Ok(regex.find_at(s, 0)?);
    }
    if flags.case_insensitive {
        return Ok(find_ignore_case(s, needle, 0));
    }
    Ok(s.find(needle).map(|at| (at, at + needle.len())))
}

fn find_last(
    s: &str,
    needle: &str,
    flags: &RegexFlags,
) -> Result<Option<(usize, usize)>, TextError> {
    if flags.regex {
        let regex = JavaRegex::compile(needle, flags)?;
        let mut last = None;
        let mut at = 0;
        while let Some((start, end)) = regex.find_at(s, at)? {
            last = Some((start, end));
            at = if end > start { end } else { next_boundary(s, end) };
            if at > s.len() {
                break;
            }
        }
        return Ok(last);
    }
    if flags.case_insensitive {
        let mut last = None;
        let mut at = 0;
        while let Some((start, end)) = find_ignore_case(s, needle, at) {
            last = Some((start, end));
            at = next_boundary(s, start);
            if at > s.len() {
                break;
            }
        }
        return Ok(last);
    }
    Ok(s.rfind(needle).map(|at| (at, at + needle.len())))
}

fn next_boundary(s: &str, at: usize) -> usize {
    at + s[at..].chars().next().map_or(1, char::len_utf8)
}

/// Finds `needle` in `s` from byte `from`, comparing characters case-insensitively as Java's
/// `String.regionMatches(true, ...)` does (upper-case, then lower-case, per character).
fn find_ignore_case(s: &str, needle: &str, from: usize) -> Option<(usize, usize)> {
    let needle: Vec<char> = needle.chars().collect();
    let mut start = from;
    while start <= s.len() {
        let mut candidate = s[start..].char_indices();
        let mut matched = true;
        let mut end = start;
        for &n in &needle {
            match candidate.next() {
                Some((offset, c)) if chars_equal_ignore_case(c, n) => {
                    end = start + offset + c.len_utf8()
                }
                _ => {
                    matched = false;
                    break;
                }
            }
        }
        if matched {
            return Some((start, end));
        }
        if start == s.len() {
            break;
        }
        start = next_boundary(s, start);
    }
    None
}

fn chars_equal_ignore_case(a: char, b: char) -> bool {
    a == b || {
        let (ua, ub) = (simple_upper(a), simple_upper(b));
        ua == ub || simple_lower(ua) == simple_lower(ub)
    }
}

/// Returns `s` without `prefix` at its start, if it is there (`?remove_beginning`).
pub fn remove_beginning<'a>(s: &'a str, prefix: &str) -> &'a str {
    s.strip_prefix(prefix).unwrap_or(s)
}

/// Returns `s` without `suffix` at its end, if it is there (`?remove_ending`).
pub fn remove_ending<'a>(s: &'a str, suffix: &str) -> &'a str {
    s.strip_suffix(suffix).unwrap_or(s)
}

/// Appends `s`, preceded by `prefix` unless it already starts with it
/// (`?ensure_starts_with(prefix)`).
pub fn ensure_starts_with(s: &str, prefix: &str, out: &mut String) {
    if !s.starts_with(prefix) {
        out.push_str(prefix);
    }
    out.push_str(s);
}

/// Appends `s`, followed by `suffix` unless it already ends with it (`?ensure_ends_with`).
pub fn ensure_ends_with(s: &str, suffix: &str, out: &mut String) {
    out.push_str(s);
    if !s.ends_with(suffix) {
        out.push_str(suffix);
    }
}

/// Appends `s` padded on the left to `width` UTF-16 units with repetitions of `padding`
/// (default a space), as `?left_pad` does. A string already as long is copied unchanged.
pub fn left_pad(
    s: &str,
    width: i64,
    padding: Option<&str>,
    out: &mut String,
) -> Result<(), TextError> {
    let padding = padding.unwrap_or(" ");
    let fill = padding_units(s, width, padding)?;
    push_padding(padding, 0, fill, out);
    out.push_str(s);
    Ok(())
}

/// Appends `s` padded on the right to `width` UTF-16 units, as `?right_pad` does. The padding
/// pattern is aligned as if it started at the beginning of the string.
pub fn right_pad(
    s: &str,
    width: i64,
    padding: Option<&str>,
    out: &mut String,
) -> Result<(), TextError> {
    let padding = padding.unwrap_or(" ");
    let fill = padding_units(s, width, padding)?;
    out.push_str(s);
    push_padding(padding, length(s), fill, out);
    Ok(())
}

/// Returns how many UTF-16 units of padding `s` needs to reach `width`.
fn padding_units(s: &str, width: i64, padding: &str) -> Result<usize, TextError> {
    if padding.is_empty() {
        return Err(TextError::EmptyPadding);
    }
    let len = length(s) as i64;
    if width <= len {
        return Ok(0);
    }
    if width as u64 > MAX_PADDED_LENGTH as u64 {
        return Err(TextError::PaddingTooLong { width });
    }
    Ok((width - len) as usize)
}

/// Appends `count` UTF-16 units of `padding` repeated, starting at unit `offset` of the
/// repetition.
fn push_padding(padding: &str, offset: usize, count: usize, out: &mut String) {
    let units: Vec<u16> = padding.encode_utf16().collect();
    let fill: Vec<u16> = (0..count).map(|i| units[(offset + i) % units.len()]).collect();
    out.push_str(&String::from_utf16_lossy(&fill).replace('\u{fffd}', "?"));
}

/// Splits `s` into words separated by whitespace runs, without empty items (`?word_list`).
pub fn word_list(s: &str) -> Vec<&str> {
    s.split(is_java_whitespace).filter(|w| !w.is_empty()).collect()
}

/// Splits `s` at each occurrence of `separator` (`?split`), keeping empty items, trailing ones
/// included. With the `r` flag the separator is a Java regular expression.
pub fn split<'a>(
    s: &'a str,
    separator: &str,
    flags: &RegexFlags,
) -> Result<Vec<Cow<'a, str>>, TextError> {
    if flags.regex {
        let regex = JavaRegex::compile(separator, flags)?;
        return Ok(regex.split(s)?.into_iter().map(Cow::Borrowed).collect());
    }
    if separator.is_empty() {
        return Ok(split_units(s));
    }
    if flags.case_insensitive {
        let mut items = Vec::new();
        let mut at = 0;
        while let Some((start, end)) = find_ignore_case(s, separator, at) {
            items.push(Cow::Borrowed(&s[at..start]));
            at = end;
        }
        items.push(Cow::Borrowed(&s[at..]));
        return Ok(items);
    }
    Ok(s.split(separator).map(Cow::Borrowed).collect())
}

/// Splits into single UTF-16 units, as a split at the empty string does in FreeMarker.
fn split_units(s: &str) -> Vec<Cow<'_, str>> {
    let mut items = Vec::new();
    for (at, c) in s.char_indices() {
        if c.len_utf16() == 2 {
            items.push(Cow::Borrowed("?"));
            items.push(Cow::Borrowed("?"));
        } else {
            items.push(Cow::Borrowed(&s[at..at + c.len_utf8()]));
        }
    }
    items
}

/// Replaces occurrences of `from` with `to` (`?replace`): all of them, or the first with the
/// `f` flag; literally, case-insensitively with `i`, or as a Java regular expression with `r`
/// (where `to` may refer to groups as `$1`).
///
/// A literal empty `from` inserts `to` before every UTF-16 unit and at the end.
pub fn replace(
    s: &str,
    from: &str,
    to: &str,
    flags: &RegexFlags,
    out: &mut String,
) -> Result<(), TextError> {
    if flags.regex {
        let regex = JavaRegex::compile(from, flags)?;
        regex.replace(s, to, flags.first_only, out)?;
        return Ok(());
    }
    if from.is_empty() {
        for item in split_units(s) {
            out.push_str(to);
            out.push_str(&item);
            if flags.first_only {
                let consumed: usize = 0;
                let _ = consumed;
            }
        }
        if !flags.first_only || s.is_empty() {
            out.push_str(to);
        }
        return Ok(());
    }
    let mut at = 0;
    loop {
        let found = if flags.case_insensitive {
            find_ignore_case(s, from, at)
        } else {
            s[at..].find(from).map(|i| (at + i, at + i + from.len()))
        };
        match found {
            Some((start, end)) => {
                out.push_str(&s[at..start]);
                out.push_str(to);
                at = end;
                if flags.first_only {
                    break;
                }
            }
            None => break,
        }
    }
    out.push_str(&s[at..]);
    Ok(())
}

/// Returns whether all of `s` matches the Java regular expression `pattern` (`?matches`), and
/// its groups (group 0 first) when it does.
pub fn matches(
    s: &str,
    pattern: &str,
    flags: &RegexFlags,
) -> Result<Option<Vec<Option<String>>>, TextError> {
    let regex = JavaRegex::compile(pattern, flags)?;
    Ok(regex.full_match(s)?)
}

/// Appends `s` cut to at most `max` UTF-16 units with `[...]` appended, as `?truncate` does:
/// the cut prefers the end of a word when one lies in the last part of the allowed length.
pub fn truncate(s: &str, max: i64, out: &mut String) -> Result<(), TextError> {
    truncate_with(s, max, "[...]", true, out)
}

/// Like [`truncate`] with a custom terminator; `word_boundary` false cuts anywhere
/// (`?truncate_c`).
pub fn truncate_with(
    s: &str,
    max: i64,
    terminator: &str,
    word_boundary: bool,
    out: &mut String,
) -> Result<(), TextError> {
    if max < 0 {
        return Err(TextError::NegativeLength { length: max });
    }
    let len = length(s);
    if len as i64 <= max {
        out.push_str(s);
        return Ok(());
    }
    let terminator_len = length(terminator) as i64;
    let mut cut = (max - terminator_len).max(0) as usize;
    if word_boundary {
        // Look back for a boundary: keep the text before a whitespace run.
        let units: Vec<u16> = s.encode_utf16().collect();
        let min_cut = cut.saturating_sub(cut / 4 + 1);
        let mut boundary = None;
        let mut i = cut;
        while i > min_cut {
            let c = units[i];
            let prev = units[i - 1];
            if is_unit_whitespace(c) && !is_unit_whitespace(prev) {
                boundary = Some(i);
                break;
            }
            i -= 1;
        }
        if let Some(b) = boundary {
            cut = b;
        }
    }
    out.push_str(&utf16_slice(s, 0, cut.min(len)));
    out.push_str(terminator);
    Ok(())
}

fn is_unit_whitespace(unit: u16) -> bool {
    char::from_u32(u32::from(unit)).is_some_and(is_java_whitespace)
}

/// Compares two strings as Java's en_US `Collator` (tertiary strength) orders them for `?sort`.
///
/// NOTE: only strings for which [`collation_is_exact`] holds are ordered exactly as Java does;
/// others fall back to a case-insensitive order with lower case first.
pub fn collate(a: &str, b: &str) -> Ordering {
    super::collation::compare(a, b)
}

/// Returns whether every string lies in the character range [`collate`] orders exactly as
/// Java's en_US collator, so a sort of them matches FreeMarker's.
pub fn collation_is_exact<'a>(strings: impl IntoIterator<Item = &'a str>) -> bool {
    strings.into_iter().all(super::collation::is_exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outputs come from FreeMarker 2.3.31.
    #[test]
    fn escapes_match_freemarker() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("a\"b\\c", "?json_string", Ok("a\\\"b\\\\c")),
            ("a\"b\\c", "?js_string", Ok("a\\\"b\\\\c")),
            ("a\"b\\c", "?j_string", Ok("a\\\"b\\\\c")),
            ("it's", "?json_string", Ok("it's")),
            ("it's", "?js_string", Ok("it\\'s")),
            ("it's", "?j_string", Ok("it's")),
            ("line\nbreak\r\ttab\u{8}\u{c}", "?json_string", Ok("line\\nbreak\\r\\ttab\\b\\f")),
            ("line\nbreak\r\ttab\u{8}\u{c}", "?js_string", Ok("line\\nbreak\\r\\ttab\\b\\f")),
            ("line\nbreak\r\ttab\u{8}\u{c}", "?j_string", Ok("line\\nbreak\\r\\ttab\\b\\f")),
            (
                "\u{1}\u{1f}\u{7f}\u{80}\u{9f} ",
                "?json_string",
                Ok("\\u0001\\u001F\\u007F\\u0080\\u009F "),
            ),
            ("\u{1}\u{1f}\u{7f}\u{80}\u{9f} ", "?js_string", Ok("\\x01\\x1F\\x7F\\x80\\x9F ")),
            (
                "\u{1}\u{1f}\u{7f}\u{80}\u{9f} ",
                "?j_string",
                Ok("\\u0001\\u001f\u{7f}\u{80}\u{9f} "),
            ),
            ("\u{2028}\u{2029}‧", "?json_string", Ok("\\u2028\\u2029‧")),
            ("\u{2028}\u{2029}‧", "?js_string", Ok("\\u2028\\u2029‧")),
            ("\u{2028}\u{2029}‧", "?j_string", Ok("\u{2028}\u{2029}‧")),
            ("/x", "?json_string", Ok("\\/x")),
            ("/x", "?js_string", Ok("\\/x")),
            ("/x", "?j_string", Ok("/x")),
            ("a/b", "?json_string", Ok("a/b")),
            ("a/b", "?js_string", Ok("a/b")),
            ("a/b", "?j_string", Ok("a/b")),
            ("</script>", "?json_string", Ok("<\\/script>")),
            ("</script>", "?js_string", Ok("<\\/script>")),
            ("</script>", "?j_string", Ok("</script>")),
            ("<\\/", "?json_string", Ok("<\\\\/")),
            ("<\\/", "?js_string", Ok("<\\\\/")),
            ("<\\/", "?j_string", Ok("<\\\\/")),
            ("<!--", "?json_string", Ok("\\u003C!--")),
            ("<!--", "?js_string", Ok("\\x3C!--")),
            ("<!--", "?j_string", Ok("<!--")),
            ("<?xml", "?json_string", Ok("\\u003C?xml")),
            ("<?xml", "?js_string", Ok("\\x3C?xml")),
            ("<?xml", "?j_string", Ok("<?xml")),
            ("a<", "?json_string", Ok("a\\u003C")),
            ("a<", "?js_string", Ok("a\\x3C")),
            ("a<", "?j_string", Ok("a<")),
            ("a<b", "?json_string", Ok("a<b")),
            ("a<b", "?js_string", Ok("a<b")),
            ("a<b", "?j_string", Ok("a<b")),
            ("<", "?json_string", Ok("\\u003C")),
            ("<", "?js_string", Ok("\\x3C")),
            ("<", "?j_string", Ok("<")),
            (">", "?json_string", Ok("\\u003E")),
            (">", "?js_string", Ok("\\>")),
            (">", "?j_string", Ok(">")),
            ("a>", "?json_string", Ok("a>")),
            ("a>", "?js_string", Ok("a>")),
            ("a>", "?j_string", Ok("a>")),
            ("]]>", "?json_string", Ok("]]\\u003E")),
            ("]]>", "?js_string", Ok("]]\\>")),
            ("]]>", "?j_string", Ok("]]>")),
            ("-->", "?json_string", Ok("--\\u003E")),
            ("-->", "?js_string", Ok("--\\>")),
            ("-->", "?j_string", Ok("-->")),
            ("->", "?json_string", Ok("-\\u003E")),
            ("->", "?js_string", Ok("-\\>")),
            ("->", "?j_string", Ok("->")),
            ("é😀", "?json_string", Ok("é😀")),
            ("é😀", "?js_string", Ok("é😀")),
            ("é😀", "?j_string", Ok("é😀")),
            ("ÿĀ", "?json_string", Ok("ÿĀ")),
            ("ÿĀ", "?js_string", Ok("ÿĀ")),
            ("ÿĀ", "?j_string", Ok("ÿĀ")),
            ("\u{0}", "?json_string", Ok("\\u0000")),
            ("\u{0}", "?js_string", Ok("\\x00")),
            ("\u{0}", "?j_string", Ok("\\u0000")),
            ("<</", "?json_string", Ok("<<\\/")),
            ("<</", "?js_string", Ok("<<\\/")),
            ("<</", "?j_string", Ok("<</")),
            ("//", "?json_string", Ok("\\//")),
            ("//", "?js_string", Ok("\\//")),
            ("//", "?j_string", Ok("//")),
            ("<!", "?json_string", Ok("\\u003C!")),
            ("<!", "?js_string", Ok("\\x3C!")),
            ("<!", "?j_string", Ok("<!")),
            ("]>", "?json_string", Ok("]\\u003E")),
            ("]>", "?js_string", Ok("]\\>")),
            ("]>", "?j_string", Ok("]>")),
            ("--!>", "?json_string", Ok("--!>")),
            ("--!>", "?js_string", Ok("--!>")),
            ("--!>", "?j_string", Ok("--!>")),
            (" >", "?json_string", Ok(" >")),
            (" >", "?js_string", Ok(" >")),
            (" >", "?j_string", Ok(" >")),
            ("x]]>", "?json_string", Ok("x]]\\u003E")),
            ("x]]>", "?js_string", Ok("x]]\\>")),
            ("x]]>", "?j_string", Ok("x]]>")),
        ];
        let mut failures = Vec::new();
        for (input, builtin, expected) in cases {
            let mut out = String::new();
            match *builtin {
                "?json_string" => json_string(input, &mut out),
                "?js_string" => js_string(input, &mut out),
                "?j_string" => j_string(input, &mut out),
                _ => unreachable!("unknown built-in {builtin}"),
            }
            if Ok(out.as_str()) != *expected {
                failures.push(format!("{input:?}{builtin}: {out:?}, expected {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(length("😀"), 2);
        assert_eq!(length("é"), 1);
        assert_eq!(length("abc"), 3);
    }

    #[test]
    fn substring_uses_utf16_indexes() {
        assert_eq!(substring("a😀b", 1, Some(3)).unwrap(), "😀");
        assert_eq!(substring("a😀b", 3, None).unwrap(), "b");
        assert_eq!(substring("a😀b", 1, Some(2)).unwrap(), "?");
        assert!(substring("abc", 2, Some(1)).is_err());
        assert!(substring("abc", 0, Some(4)).is_err());
    }

    #[test]
    fn index_of_counts_utf16_units() {
        assert_eq!(index_of("😀x😀x", "x", None), 2);
        assert_eq!(last_index_of("😀x😀x", "x", None), 5);
        assert_eq!(index_of("abc", "z", None), -1);
    }
}
