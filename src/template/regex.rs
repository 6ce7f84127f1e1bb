//! Java regular expressions, as FreeMarker's `?matches`, `?replace`, `?split` and friends use
//! them, translated to `fancy_regex`.
//!
//! The translation keeps Java's meaning where the two syntaxes differ: `\d`, `\w` and `\s` are
//! ASCII-only, `.` excludes every Java line terminator, `$` also matches before a final line
//! terminator, the POSIX classes (`\p{Alpha}`) are ASCII, and `\Q…\E` quotes. Constructs whose
//! Java meaning cannot be reproduced exactly (possessive quantifiers, `\G`, `\X`, unknown
//! property names, inline flags other than `i`, `m`, `s`, `x`) are rejected with an error
//! instead of matching differently. Matching is bounded by a backtracking limit, so a
//! pathological pattern fails with an error instead of hanging.

use fancy_regex::{Regex, RegexBuilder};

/// Maximum backtracking steps of one match attempt.
const BACKTRACK_LIMIT: usize = 1_000_000;

/// Maximum length of a pattern, in bytes.
const MAX_PATTERN_LENGTH: usize = 10_000;

/// Java's line terminators, as a class body.
const LINE_TERMINATORS: &str = r"\n\r\x{85}\x{2028}\x{2029}";

/// An error from compiling or running a regular expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegexError {
    /// The pattern is not a valid Java regular expression.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Invalid {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The pattern is valid Java but uses a construct this renderer cannot match exactly.
    #[error(
        "unsupported regular expression {pattern:?}: {reason}; rewrite it without that construct"
    )]
    Unsupported {
        /// The pattern as given.
        pattern: String,
        /// The construct.
        reason: String,
    },
    /// A flag string contains an unknown letter.
    #[error("unknown regular expression flag {flag:?} in {flags:?}; use letters of \"rimsfc\"")]
    UnknownFlag {
        /// The unknown letter.
        flag: char,
        /// The whole flag string.
        flags: String,
    },
    /// A replacement string refers to a group that does not exist.
    #[error("invalid replacement {replacement:?}: {reason}")]
    InvalidReplacement {
        /// The replacement as given.
        replacement: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Matching took more backtracking steps than the limit allows.
    #[error(
        "regular expression {pattern:?} needs too much backtracking on this input; simplify it"
    )]
    TooComplex {
        /// The pattern as given.
        pattern: String,
    },
}

/// The flags of FreeMarker's string built-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegexFlags {
    /// `r`: the argument is a regular expression.
    pub regex: bool,
    /// `i`: case-insensitive.
    pub case_insensitive: bool,
    /// `f`: only the first occurrence.
    pub first_only: bool,
    /// `m`: `^` and `$` match at line boundaries.
    pub multiline: bool,
    /// `s`: `.` matches line terminators too.
    pub dot_all: bool,
    /// `c`: whitespace and `#` comments in the pattern are ignored.
    pub comments: bool,
}

impl RegexFlags {
    /// Parses a FreeMarker flag string such as `"ri"`.
    pub fn parse(flags: &str) -> Result<RegexFlags, RegexError> {
        let mut parsed = RegexFlags::default();
        for c in flags.chars() {
            match c {
                'r' => parsed.regex = true,
                'i' => parsed.case_insensitive = true,
                'f' => parsed.first_only = true,
                'm' => parsed.multiline = true,
                's' => parsed.dot_all = true,
                'c' => parsed.comments = true,
                _ => return Err(RegexError::UnknownFlag { flag: c, flags: flags.to_owned() }),
            }
        }
        Ok(parsed)
    }
}

/// A compiled Java regular expression.
#[derive(Debug, Clone)]
pub struct JavaRegex {
    pattern: String,
    regex: Regex,
    /// The same pattern anchored at both ends, for `?matches`.
    anchored: Regex,
    /// Count of capturing groups, not counting group 0.
    groups: usize,
    /// Names of named groups with their numbers.
    names: Vec<(String, usize)>,
}

impl JavaRegex {
    /// Compiles a Java pattern with FreeMarker's flags.
    pub fn compile(pattern: &str, flags: &RegexFlags) -> Result<JavaRegex, RegexError> {
        if pattern.len() > MAX_PATTERN_LENGTH {
            return Err(RegexError::Unsupported {
                pattern: pattern.chars().take(100).collect(),
                reason: format!("it is longer than {MAX_PATTERN_LENGTH} bytes"),
            });
        }
        let translated = Translator::new(pattern, flags).translate()?;
        let regex = RegexBuilder::new(&translated.source)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| RegexError::Invalid {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })?;
        let anchored = RegexBuilder::new(&format!(r"\A(?:{})\z", translated.source))
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| RegexError::Invalid {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(JavaRegex {
            pattern: pattern.to_owned(),
            regex,
            anchored,
            groups: translated.groups,
            names: translated.names,
        })
    }

    fn too_complex(&self) -> RegexError {
        RegexError::TooComplex { pattern: self.pattern.clone() }
    }

    /// Returns the byte range of the first match starting at or after byte `pos`.
    pub fn find_at(&self, s: &str, pos: usize) -> Result<Option<(usize, usize)>, RegexError> {
        if pos > s.len() {
            return Ok(None);
        }
        match self.regex.find_from_pos(s, pos) {
            Ok(found) => Ok(found.map(|m| (m.start(), m.end()))),
            Err(_) => Err(self.too_complex()),
        }
    }

    /// Returns every match as a byte range, as Java's `Matcher.find` loop finds them: after an
    /// empty match the search moves on by one character.
    pub fn find_all(&self, s: &str) -> Result<Vec<(usize, usize)>, RegexError> {
        let mut found = Vec::new();
        let mut at = 0;
        while at <= s.len() {
            let Some((start, end)) = self.find_at(s, at)? else { break };
            found.push((start, end));
            at = if end > start {
                end
            } else {
                end + s[end..].chars().next().map_or(1, char::len_utf8)
            };
        }
        Ok(found)
    }

    /// Returns the groups (group 0 first) when the whole of `s` matches, as Java's
    /// `Matcher.matches` decides.
    pub fn full_match(&self, s: &str) -> Result<Option<Vec<Option<String>>>, RegexError> {
        let captures = self.anchored.captures(s).map_err(|_| self.too_complex())?;
        Ok(captures
            .map(|c| (0..=self.groups).map(|i| c.get(i).map(|m| m.as_str().to_owned())).collect()))
    }

    /// Splits `s` at every match, keeping empty items; a match of zero length at the very
    /// start produces no leading empty item, as in Java.
    pub fn split<'a>(&self, s: &'a str) -> Result<Vec<&'a str>, RegexError> {
        let mut items = Vec::new();
        let mut last = 0;
        for (start, end) in self.find_all(s)? {
            if end == 0 && start == 0 {
                continue;
            }
            items.push(&s[last..start]);
            last = end;
        }
        items.push(&s[last..]);
        Ok(items)
    }

    /// Appends `s` with matches replaced by `replacement`, where `$n` and `${name}` insert
    /// groups and `\` quotes the next character, as Java's `Matcher.replaceAll` does.
    pub fn replace(
        &self,
        s: &str,
        replacement: &str,
        first_only: bool,
        out: &mut String,
    ) -> Result<(), RegexError> {
        let parts = self.parse_replacement(replacement)?;
        let mut last = 0;
        let mut at = 0;
        while at <= s.len() {
            let captures = match self.regex.captures_from_pos(s, at) {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(_) => return Err(self.too_complex()),
            };
            let Some(whole) = captures.get(0) else { break };
            out.push_str(&s[last..whole.start()]);
            for part in &parts {
                match part {
                    ReplacementPart::Text(text) => out.push_str(text),
                    ReplacementPart::Group(i) => {
                        if let Some(m) = captures.get(*i) {
                            out.push_str(m.as_str());
                        }
                    }
                }
            }
            last = whole.end();
            if first_only {
                break;
            }
            at = if whole.end() > whole.start() {
                whole.end()
            } else {
                whole.end() + s[whole.end()..].chars().next().map_or(1, char::len_utf8)
            };
        }
        out.push_str(&s[last..]);
        Ok(())
    }

    fn parse_replacement(&self, replacement: &str) -> Result<Vec<ReplacementPart>, RegexError> {
        let invalid = |reason: &str| RegexError::InvalidReplacement {
            replacement: replacement.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(quoted) => text.push(quoted),
                    None => return Err(invalid("character to be escaped is missing")),
                },
                '$' => {
                    let group = match chars.peek() {
                        Some('{') => {
                            chars.next();
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(n) if n.is_ascii_alphanumeric() => name.push(n),
                                    _ => {
                                        return Err(invalid(
                                            "named group reference is not closed with }",
                                        ));
                                    }
                                }
                            }
                            self.names
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, i)| *i)
                                .ok_or_else(|| invalid(&format!("no group named {name}")))?
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d.to_digit(10).unwrap_or(0) as usize;
                            chars.next();
                            if number > self.groups {
                                return Err(invalid(&format!("no group {number}")));
                            }
                            // Java takes more digits while the number stays a valid group.
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = number * 10 + next as usize;
                                if longer > self.groups {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            number
                        }
                        _ => {
                            return Err(invalid(
                                "`$` must be followed by a group number or {name}; write \\$ for a dollar sign",
                            ));
                        }
                    };
                    if !text.is_empty() {
                        parts.push(ReplacementPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(ReplacementPart::Group(group));
                }
                _ => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(ReplacementPart::Text(text));
        }
        Ok(parts)
    }
}

enum ReplacementPart {
    Text(String),
    Group(usize),
}

struct Translated {
    source: String,
    groups: usize,
    names: Vec<(String, usize)>,
}

/// Inline flags in effect at a point of the pattern.
#[derive(Debug, Clone, Copy)]
struct Mode {
    multiline: bool,
    dot_all: bool,
    comments: bool,
}

struct Translator<'a> {
    pattern: &'a str,
    chars: Vec<char>,
    pos: usize,
    out: String,
    groups: usize,
    names: Vec<(String, usize)>,
    /// Modes saved at each open group, restored at its end.
    stack: Vec<Mode>,
    mode: Mode,
}

impl<'a> Translator<'a> {
    fn new(pattern: &'a str, flags: &RegexFlags) -> Translator<'a> {
        let mut out = String::with_capacity(pattern.len() + 16);
        if flags.case_insensitive {
            out.push_str("(?i)");
        }
        Translator {
            pattern,
            chars: pattern.chars().collect(),
            pos: 0,
            out,
            groups: 0,
            names: Vec::new(),
            stack: Vec::new(),
            mode: Mode {
                multiline: flags.multiline,
                dot_all: flags.dot_all,
                comments: flags.comments,
            },
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> RegexError {
        RegexError::Invalid { pattern: self.pattern.to_owned(), reason: reason.into() }
    }

    fn unsupported(&self, reason: impl Into<String>) -> RegexError {
        RegexError::Unsupported { pattern: self.pattern.to_owned(), reason: reason.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn translate(mut self) -> Result<Translated, RegexError> {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => {
                    let piece = self.escape(false)?;
                    self.out.push_str(&piece);
                }
                '[' => {
                    let class = self.class()?;
                    self.out.push_str(&class);
                }
                '.' => {
                    if self.mode.dot_all {
                        self.out.push_str("(?s:.)");
                    } else {
                        self.out.push_str(&format!("[^{LINE_TERMINATORS}]"));
                    }
                }
                '^' => {
                    if self.mode.multiline {
                        self.out.push_str(&format!(
                            r"(?:\A|(?<=[\n\x{{85}}\x{{2028}}\x{{2029}}])(?!\z)|(?<=\r)(?!\n)(?!\z))"
                        ));
                    } else {
                        self.out.push_str(r"\A");
                    }
                }
                '$' => {
                    if self.mode.multiline {
                        self.out.push_str(&format!(r"(?=[{LINE_TERMINATORS}]|\z)"));
                    } else {
                        self.out.push_str(&format!(r"(?=(?:\r\n|[{LINE_TERMINATORS}])?\z)"));
                    }
                }
                '(' => self.open_group()?,
                ')' => {
                    self.mode =
                        self.stack.pop().ok_or_else(|| self.invalid("unmatched closing ')'"))?;
                    self.out.push(')');
                }
                '*' | '+' | '?' | '}' => {
                    self.out.push(c);
                    self.quantifier_suffix()?;
                }
                '{' => {
                    // A bounded repetition; Java requires it to be well formed.
                    let start = self.pos;
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == '}' {
                            break;
                        }
                        if !(d.is_ascii_digit() || d == ',') {
                            return Err(self.invalid("malformed repetition {n,m}"));
                        }
                    }
                    let body: String = self.chars[start..self.pos].iter().collect();
                    if !body.ends_with('}') {
                        return Err(self.invalid("repetition {n,m} is not closed"));
                    }
                    self.out.push('{');
                    self.out.push_str(&body);
                    self.quantifier_suffix()?;
                }
                ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' if self.mode.comments => {}
                '#' if self.mode.comments => {
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == '\n' {
                            break;
                        }
                    }
                }
                '|' => self.out.push('|'),
                _ => push_literal(c, &mut self.out),
            }
        }
        if !self.stack.is_empty() {
            return Err(self.invalid("unclosed group"));
        }
        Ok(Translated { source: self.out, groups: self.groups, names: self.names })
    }

    /// Handles what may follow a quantifier: `?` (lazy) is kept, `+` (possessive) is rejected.
    fn quantifier_suffix(&mut self) -> Result<(), RegexError> {
        match self.peek() {
            Some('?') => {
                self.pos += 1;
                self.out.push('?');
            }
            Some('+') => return Err(self.unsupported("possessive quantifiers")),
            _ => {}
        }
        Ok(())
    }

    fn open_group(&mut self) -> Result<(), RegexError> {
        if self.peek() != Some('?') {
            self.groups += 1;
            self.stack.push(self.mode);
            self.out.push('(');
            return Ok(());
        }
        self.pos += 1;
        match self.peek() {
            Some(':') | Some('=') | Some('!') | Some('>') => {
                let kind = self.peek().unwrap_or(':');
                self.pos += 1;
                self.stack.push(self.mode);
                self.out.push_str("(?");
                self.out.push(kind);
            }
            Some('<') => {
                self.pos += 1;
                match self.peek() {
                    Some('=') | Some('!') => {
                        let kind = self.peek().unwrap_or('=');
                        self.pos += 1;
                        self.stack.push(self.mode);
                        self.out.push_str("(?<");
                        self.out.push(kind);
                    }
                    _ => {
                        let mut name = String::new();
                        while let Some(c) = self.peek() {
                            self.pos += 1;
                            if c == '>' {
                                break;
                            }
                            if !c.is_ascii_alphanumeric() {
                                return Err(self.invalid(
                                    "a group name may hold only ASCII letters and digits",
                                ));
                            }
                            name.push(c);
                        }
                        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                            return Err(self.invalid("a group name must start with a letter"));
                        }
                        self.groups += 1;
                        self.names.push((name.clone(), self.groups));
                        self.stack.push(self.mode);
                        self.out.push_str(&format!("(?P<{name}>"));
                    }
                }
            }
            _ => {
                // Inline flags: (?idmsux-idmsux) or (?flags:...).
                let mut on = true;
                let mut mode = self.mode;
                let mut case: Option<bool> = None;
                loop {
                    let Some(c) = self.peek() else {
                        return Err(self.invalid("unclosed inline flag group"));
                    };
                    self.pos += 1;
                    match c {
                        '-' => on = false,
                        'i' => case = Some(on),
                        'm' => mode.multiline = on,
                        's' => mode.dot_all = on,
                        'x' => mode.comments = on,
                        ')' => {
                            self.mode = mode;
                            if let Some(case) = case {
                                self.out.push_str(if case { "(?i)" } else { "(?-i)" });
                            }
                            return Ok(());
                        }
                        ':' => {
                            self.stack.push(self.mode);
                            self.mode = mode;
                            self.out.push_str(match case {
                                Some(true) => "(?i:",
                                Some(false) => "(?-i:",
                                None => "(?:",
                            });
                            return Ok(());
                        }
                        _ => return Err(self.unsupported(format!("the inline flag {c:?}"))),
                    }
                }
            }
        }
        Ok(())
    }

    /// Translates a character class, including nested classes and `&&`.
    fn class(&mut self) -> Result<String, RegexError> {
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.invalid("unclosed character class"));
            };
            self.pos += 1;
            match c {
                ']' if !first => break,
                '[' => out.push_str(&self.class()?),
                '\\' => out.push_str(&self.escape(true)?),
                '&' if self.peek() == Some('&') => {
                    self.pos += 1;
                    out.push_str("&&");
                }
                '-' => out.push('-'),
                ' ' | '\t' | '\n' | '\r' if self.mode.comments => {}
                _ => push_class_literal(c, &mut out),
            }
            first = false;
        }
        out.push(']');
        Ok(out)
    }

    /// Translates the escape after a `\`; `in_class` selects class-body forms.
    fn escape(&mut self, in_class: bool) -> Result<String, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("the pattern ends with a lone backslash"));
        };
        self.pos += 1;
        let class = |body: &str, negated: bool| -> String {
            match (in_class, negated) {
                (true, false) => body.to_owned(),
                (_, true) => format!("[^{body}]"),
                (false, false) => format!("[{body}]"),
            }
        };
        Ok(match c {
            'd' => class("0-9", false),
            'D' => class("0-9", true),
            'w' => class("a-zA-Z_0-9", false),
            'W' => class("a-zA-Z_0-9", true),
            's' => class(r"\t\n\x0B\f\r ", false),
            'S' => class(r"\t\n\x0B\f\r ", true),
            'h' => {
                class(r" \t\xA0\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}", false)
            }
            'H' => class(r" \t\xA0\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}", true),
            'v' => class(r"\n\x0B\f\r\x{85}\x{2028}\x{2029}", false),
            'V' => class(r"\n\x0B\f\r\x{85}\x{2028}\x{2029}", true),
            'b' | 'B' | 'A' | 'z' if !in_class => format!("\\{c}"),
            'Z' if !in_class => format!(r"(?=(?:\r\n|[{LINE_TERMINATORS}])?\z)"),
            'R' if !in_class => r"(?:\r\n|[\n\x0B\f\r\x{85}\x{2028}\x{2029}])".to_owned(),
            't' => r"\t".to_owned(),
            'n' => r"\n".to_owned(),
            'r' => r"\r".to_owned(),
            'f' => r"\f".to_owned(),
            'a' => r"\x07".to_owned(),
            'e' => r"\x1B".to_owned(),
            '0' => {
                let mut value = 0u32;
                let mut digits = 0;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(8)) {
                    let next = value * 8 + d;
                    if digits == 3 || next > 0o377 {
                        break;
                    }
                    value = next;
                    digits += 1;
                    self.pos += 1;
                }
                if digits == 0 {
                    return Err(self.invalid("illegal octal escape \\0"));
                }
                format!(r"\x{{{value:x}}}")
            }
            'x' => {
                let value = if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut value = 0u32;
                    loop {
                        match self.peek() {
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            Some(d) if d.is_ascii_hexdigit() => {
                                self.pos += 1;
                                value = value
                                    .saturating_mul(16)
                                    .saturating_add(d.to_digit(16).unwrap_or(0));
                            }
                            _ => return Err(self.invalid("malformed \\x{...} escape")),
                        }
                    }
                    value
                } else {
                    self.hex_digits(2)?
                };
                if char::from_u32(value).is_none() {
                    return Err(self.unsupported("escapes of surrogates or beyond U+10FFFF"));
                }
                format!(r"\x{{{value:x}}}")
            }
            'u' => {
                let mut value = self.hex_digits(4)?;
                if (0xd800..0xdc00).contains(&value)
                    && self.chars.get(self.pos) == Some(&'\\')
                    && self.chars.get(self.pos + 1) == Some(&'u')
                {
                    self.pos += 2;
                    let low = self.hex_digits(4)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return Err(self.unsupported("a lone surrogate escape"));
                    }
                    value = 0x10000 + ((value - 0xd800) << 10) + (low - 0xdc00);
                }
                if char::from_u32(value).is_none() {
                    return Err(self.unsupported("a lone surrogate escape"));
                }
                format!(r"\x{{{value:x}}}")
            }
            'c' => {
                let Some(letter) = self.peek() else {
                    return Err(self.invalid("\\c must be followed by a character"));
                };
                self.pos += 1;
                format!(r"\x{{{:x}}}", u32::from(letter) ^ 64)
            }
            'p' | 'P' => {
                let negated = c == 'P';
                let name = if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut name = String::new();
                    loop {
                        match self.peek() {
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            Some(n) => {
                                self.pos += 1;
                                name.push(n);
                            }
                            None => return Err(self.invalid("unclosed \\p{...}")),
                        }
                    }
                    name
                } else {
                    let Some(letter) = self.peek() else {
                        return Err(self.invalid("\\p must be followed by a property"));
                    };
                    self.pos += 1;
                    letter.to_string()
                };
                let body = property_class(&name)
                    .ok_or_else(|| self.unsupported(format!("the property \\p{{{name}}}")))?;
                class(&body, negated)
            }
            'Q' => {
                let mut quoted = String::new();
                while self.pos < self.chars.len() {
                    if self.chars[self.pos] == '\\' && self.chars.get(self.pos + 1) == Some(&'E') {
                        self.pos += 2;
                        break;
                    }
                    let q = self.chars[self.pos];
                    self.pos += 1;
                    if in_class {
                        push_class_literal(q, &mut quoted);
                    } else {
                        push_literal(q, &mut quoted);
                    }
                }
                quoted
            }
            '1'..='9' if !in_class => {
                // Java reads further digits while they still name an existing group.
                let mut number = c.to_digit(10).unwrap_or(0) as usize;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(10)) {
                    let longer = number * 10 + d as usize;
                    if longer > self.groups {
                        break;
                    }
                    number = longer;
                    self.pos += 1;
                }
                if number > self.groups {
                    return Err(self.unsupported("a back reference to a group not yet defined"));
                }
                format!(r"\{number}")
            }
            'k' if !in_class => {
                if self.peek() != Some('<') {
                    return Err(self.invalid("\\k must be followed by <name>"));
                }
                self.pos += 1;
                let mut name = String::new();
                loop {
                    match self.peek() {
                        Some('>') => {
                            self.pos += 1;
                            break;
                        }
                        Some(n) => {
                            self.pos += 1;
                            name.push(n);
                        }
                        None => return Err(self.invalid("unclosed \\k<name>")),
                    }
                }
                let number = self
                    .names
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, i)| *i)
                    .ok_or_else(|| self.invalid(format!("no group named {name}")))?;
                format!(r"\{number}")
            }
            'G' | 'X' | 'N' => return Err(self.unsupported(format!("the escape \\{c}"))),
            _ if c.is_ascii_alphanumeric() => {
                return Err(self.invalid(format!("illegal escape sequence \\{c}")));
            }
            _ => {
                let mut literal = String::new();
                if in_class {
                    push_class_literal(c, &mut literal);
                } else {
                    push_literal(c, &mut literal);
                }
                literal
            }
        })
    }

    fn hex_digits(&mut self, count: usize) -> Result<u32, RegexError> {
        let mut value = 0u32;
        for _ in 0..count {
            let digit = self
                .peek()
                .and_then(|d| d.to_digit(16))
                .ok_or_else(|| self.invalid("malformed hexadecimal escape"))?;
            self.pos += 1;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

/// Returns the class body for a Java property name, or `None` when it is not supported.
fn property_class(name: &str) -> Option<String> {
    let ascii = match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => r"\x00-\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => r##"!-/:-@\[-`{-~"##,
        "Graph" => r##"!-~"##,
        "Print" => r##" -~"##,
        "Blank" => r" \t",
        "Cntrl" => r"\x00-\x1F\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => r" \t\n\x0B\f\r",
        _ => "",
    };
    if !ascii.is_empty() {
        return Some(ascii.to_owned());
    }
    // Unicode general categories, with or without the Java `Is` prefix.
    let category = name.strip_prefix("Is").unwrap_or(name);
    const CATEGORIES: &[&str] = &[
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
        "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp",
        "C", "Cc", "Cf", "Co", "Cn",
    ];
    if CATEGORIES.contains(&category) {
        return Some(format!(r"\p{{{category}}}"));
    }
    None
}

/// Appends `c` as a literal outside a class.
fn push_literal(c: char, out: &mut String) {
    if matches!(
        c,
        '.' | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
            | '\\'
            | ' '
    ) {
        out.push('\\');
    }
    out.push(c);
}

/// Appends `c` as a literal inside a class.
fn push_class_literal(c: char, out: &mut String) {
    if matches!(c, '[' | ']' | '\\' | '&' | '-' | '~' | '^' | ' ' | '#') {
        out.push('\\');
    }
    out.push(c);
}
