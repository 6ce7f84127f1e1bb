//! Splits template source into tokens.
//!
//! The lexer switches between text mode (static text, comments, the starts of tags and
//! interpolations) and expression mode (inside a directive tag or `${...}`), as FreeMarker's
//! token manager does. In a directive tag a `>` outside parentheses ends the tag, so
//! `<#if a > 0>` ends after `a`; inside `${...}` and parentheses `>` is the comparison operator.

use std::cell::Cell;

use super::error::{ErrorKind, TemplateError};
use super::number::Number;
use super::token::{Span, Spanned, Token};

/// Line starts of a source text, for turning byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Byte offset and column of the last position computed, so that the lexer's calls, which
    /// move forward through the source, count each line's characters once instead of once per
    /// token. Without it a long single-line template takes quadratic time.
    last: Cell<(u32, u32)>,
}

impl LineIndex {
    /// Indexes the line breaks of `source`: `\n`, `\r\n` and a lone `\r` each end a line.
    pub fn new(source: &str) -> LineIndex {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i as u32 + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i as u32 + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts, last: Cell::new((0, 1)) }
    }

    /// Returns the 1-based line holding byte `offset`. A line break belongs to the line it ends.
    pub fn line(&self, offset: u32) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// Returns the 1-based line and character column of byte `offset` in `source`.
    pub fn position(&self, source: &str, offset: u32) -> (u32, u32) {
        let line = self.line(offset);
        let line_start = self.starts[line as usize - 1];
        let (last_offset, last_column) = self.last.get();
        let (start, column) = if last_offset >= line_start && last_offset <= offset {
            (last_offset as usize, last_column as usize)
        } else {
            (line_start as usize, 1)
        };
        let end = (offset as usize).min(source.len());
        let column = column + source.get(start..end).map_or(end - start, |s| s.chars().count());
        self.last.set((end as u32, column as u32));
        (line, column as u32)
    }

    /// Returns a span for the byte range `start..end` of `source`.
    pub fn span(&self, source: &str, start: usize, end: usize) -> Span {
        let (line, column) = self.position(source, start as u32);
        Span { start: start as u32, end: end as u32, line, column }
    }
}

/// Directive names of FreeMarker 2.3.31; any other `<#name` is an unknown directive.
const KNOWN_DIRECTIVES: &[&str] = &[
    "assign",
    "attempt",
    "autoesc",
    "autoEsc",
    "break",
    "call",
    "case",
    "comment",
    "compress",
    "continue",
    "default",
    "else",
    "elseif",
    "elseIf",
    "escape",
    "fallback",
    "flush",
    "foreach",
    "forEach",
    "ftl",
    "function",
    "global",
    "if",
    "import",
    "include",
    "items",
    "list",
    "local",
    "lt",
    "macro",
    "nested",
    "noautoesc",
    "noAutoEsc",
    "noescape",
    "noEscape",
    "noparse",
    "noParse",
    "nt",
    "outputformat",
    "outputFormat",
    "recover",
    "recurse",
    "return",
    "rt",
    "sep",
    "setting",
    "stop",
    "switch",
    "t",
    "transform",
    "visit",
];

/// Returns true when `name` is a directive of FreeMarker 2.3.31.
pub fn is_known_directive(name: &str) -> bool {
    KNOWN_DIRECTIVES.contains(&name)
}

/// Where the lexer is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Text,
    /// Inside a directive tag, after its name.
    Tag,
    /// Inside `${...}` or `#{...}`.
    Interp,
}

/// Tokenizes a whole template.
pub fn tokenize(
    name: &str,
    source: &str,
    lines: &LineIndex,
) -> Result<Vec<Spanned<Token>>, TemplateError> {
    let mut lexer = Lexer::new(name, source, source, lines, None);
    lexer.run()?;
    Ok(lexer.tokens)
}

/// Tokenizes the value of a string literal that contains `${...}` or `#{...}`.
///
/// In a string literal only interpolations are recognised; tags and comments are plain text.
/// When the literal contains no escape, `value` is the source between its quotes and starts at byte
/// `base` of the template, so spans point at the exact source; otherwise every span is the whole
/// literal's span.
pub fn tokenize_string(
    name: &str,
    template: &str,
    lines: &LineIndex,
    value: &str,
    base: Option<usize>,
    literal: Span,
) -> Result<Vec<Spanned<Token>>, TemplateError> {
    let remap = Remap { base, literal };
    let mut lexer = Lexer::new(name, template, value, lines, Some(remap));
    lexer.run()?;
    Ok(lexer.tokens)
}

/// How spans of a string literal's inner tokens map back to the template.
#[derive(Debug, Clone, Copy)]
struct Remap {
    base: Option<usize>,
    literal: Span,
}

struct Lexer<'s> {
    name: &'s str,
    /// The whole template, which spans and errors refer to.
    template: &'s str,
    /// The text being lexed: the template, or a string literal's value.
    src: &'s str,
    bytes: &'s [u8],
    lines: &'s LineIndex,
    /// Set when lexing a string literal's value.
    remap: Option<Remap>,
    pos: usize,
    mode: Mode,
    /// Open `(` in the current tag or interpolation.
    parens: u32,
    /// Open `{` of hash literals in the current interpolation.
    braces: u32,
    /// Name of the directive whose tag is being lexed, for `noparse` bodies.
    directive: Option<String>,
    tokens: Vec<Spanned<Token>>,
}

impl<'s> Lexer<'s> {
    fn new(
        name: &'s str,
        template: &'s str,
        src: &'s str,
        lines: &'s LineIndex,
        remap: Option<Remap>,
    ) -> Lexer<'s> {
        Lexer {
            name,
            template,
            src,
            bytes: src.as_bytes(),
            lines,
            remap,
            pos: 0,
            mode: Mode::Text,
            parens: 0,
            braces: 0,
            directive: None,
            tokens: Vec::new(),
        }
    }

    /// Maps a byte range of the lexed text to a byte range of the template.
    fn template_range(&self, start: usize, end: usize) -> (usize, usize) {
        match self.remap {
            None => (start, end),
            Some(Remap { base: Some(base), .. }) => (base + start, base + end),
            Some(Remap { base: None, literal }) => (literal.start as usize, literal.end as usize),
        }
    }

    fn error(&self, start: usize, end: usize, detail: impl Into<String>) -> TemplateError {
        let (start, end) = self.template_range(start, end);
        TemplateError::new(ErrorKind::Syntax, self.name, self.template, start..end, detail)
    }

    fn push(&mut self, token: Token, start: usize, end: usize) {
        let (start, end) = self.template_range(start, end);
        let span = self.lines.span(self.template, start, end);
        self.tokens.push(Spanned::new(token, span));
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        self.src.as_bytes()[self.pos..].starts_with(text.as_bytes())
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        loop {
            match self.mode {
                Mode::Text => {
                    if self.pos >= self.bytes.len() {
                        break;
                    }
                    self.lex_text()?;
                }
                Mode::Tag | Mode::Interp => self.lex_expression_token()?,
            }
        }
        let end = self.bytes.len();
        self.push(Token::Eof, end, end);
        Ok(())
    }

    /// Lexes static text up to the next construct, or the construct at the current position.
    fn lex_text(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        if let Some(done) = self.lex_construct()? {
            if done {
                return Ok(());
            }
        }
        // Plain text: advance to the next byte that could start a construct.
        let mut i = start;
        loop {
            i += 1;
            while i < self.bytes.len() && !matches!(self.bytes[i], b'$' | b'#' | b'<') {
                i += 1;
            }
            if i >= self.bytes.len() {
                break;
            }
            self.pos = i;
            if self.construct_starts_here() {
                break;
            }
        }
        self.pos = i;
        let text = self.src[start..i].to_owned();
        self.push(Token::Text(text), start, i);
        Ok(())
    }

    /// Returns true when a tag, interpolation or comment starts at the current position.
    fn construct_starts_here(&self) -> bool {
        let rest = &self.bytes[self.pos..];
        if self.remap.is_some() {
            return matches!(rest, [b'$', b'{', ..] | [b'#', b'{', ..]);
        }
        match rest {
            [b'$', b'{', ..] | [b'#', b'{', ..] => true,
            [b'<', b'#', b'-', b'-', ..] => true,
            [b'<', b'#', c, ..] | [b'<', b'/', b'#', c, ..] => {
                c.is_ascii_alphabetic() || *c == b'_'
            }
            [b'<', b'@', ..] | [b'<', b'/', b'@', ..] => true,
            _ => false,
        }
    }

    /// Lexes the construct at the current position; returns `None` when there is none.
    fn lex_construct(&mut self) -> Result<Option<bool>, TemplateError> {
        if !self.construct_starts_here() {
            return Ok(None);
        }
        let start = self.pos;
        if self.starts_with("${") || self.starts_with("#{") {
            let token =
                if self.bytes[start] == b'$' { Token::InterpStart } else { Token::HashInterpStart };
            self.pos += 2;
            self.push(token, start, self.pos);
            self.mode = Mode::Interp;
            self.parens = 0;
            self.braces = 0;
            return Ok(Some(true));
        }
        if self.starts_with("<#--") {
            return match self.src[start + 4..].find("-->") {
                Some(at) => {
                    self.pos = start + 4 + at + 3;
                    self.push(Token::Comment, start, self.pos);
                    Ok(Some(true))
                }
                None => Err(self.error(
                    start,
                    start + 4,
                    "found end of template, expected `-->` closing the comment started here",
                )),
            };
        }
        if self.starts_with("<@") || self.starts_with("</@") {
            let len = if self.bytes[start + 1] == b'@' { 2 } else { 3 };
            self.pos += len;
            self.push(Token::UserDirective, start, self.pos);
            return Ok(Some(true));
        }
        let end_tag = self.bytes[start + 1] == b'/';
        let name_start = start + if end_tag { 3 } else { 2 };
        let mut i = name_start;
        while i < self.bytes.len() && (self.bytes[i].is_ascii_alphabetic() || self.bytes[i] == b'_')
        {
            i += 1;
        }
        let name = &self.src[name_start..i];
        if !is_known_directive(name) {
            return Err(self.error(
                start,
                i,
                format!(
                    "found unknown directive `#{name}`, expected a directive such as #if, #list \
                     or #assign; write `<` as `${{\"<\"}}` if this is meant as text"
                ),
            ));
        }
        if end_tag {
            let mut j = i;
            while j < self.bytes.len() && is_blank(self.bytes[j]) {
                j += 1;
            }
            if self.bytes.get(j) != Some(&b'>') {
                return Err(self.error(
                    start,
                    j,
                    format!("found a malformed end tag `</#{name}`, expected `>` after the name"),
                ));
            }
            self.pos = j + 1;
            self.push(Token::EndTag(name.to_owned()), start, self.pos);
            return Ok(Some(true));
        }
        self.pos = i;
        self.push(Token::DirectiveStart(name.to_owned()), start, i);
        match self.peek(0) {
            Some(b'>') => {
                self.pos += 1;
                self.push(Token::TagEnd, i, i + 1);
                self.after_tag_end(name)?;
            }
            Some(b'/') if self.peek(1) == Some(b'>') => {
                self.pos += 2;
                self.push(Token::EmptyTagEnd, i, i + 2);
            }
            Some(c) if is_blank(c) => {
                self.mode = Mode::Tag;
                self.parens = 0;
                self.braces = 0;
                self.directive = Some(name.to_owned());
            }
            _ => {
                let end = self.src[i..].chars().next().map_or(i, |c| i + c.len_utf8());
                return Err(self.error(
                    start,
                    end,
                    format!(
                        "found a malformed `<#{name}` tag, expected a space or `>` after the \
                         directive name"
                    ),
                ));
            }
        }
        Ok(Some(true))
    }

    /// Handles what follows the `>` of a tag: the raw body of `#noparse` and `#comment`.
    fn after_tag_end(&mut self, name: &str) -> Result<(), TemplateError> {
        let closing = match name {
            "noparse" | "noParse" | "comment" => name,
            _ => return Ok(()),
        };
        let body_start = self.pos;
        let mut search = body_start;
        loop {
            let Some(at) = self.src[search..].find("</#") else {
                return Err(self.error(
                    body_start.saturating_sub(name.len() + 3),
                    body_start,
                    format!("found end of template, expected `</#{closing}>` closing this block"),
                ));
            };
            let tag = search + at;
            let after_name = tag + 3 + closing.len();
            if self.src[tag + 3..].starts_with(closing) {
                let mut j = after_name;
                while j < self.bytes.len() && is_blank(self.bytes[j]) {
                    j += 1;
                }
                if self.bytes.get(j) == Some(&b'>') {
                    let body = self.src[body_start..tag].to_owned();
                    self.push(Token::RawText(body), body_start, tag);
                    self.pos = j + 1;
                    self.push(Token::EndTag(closing.to_owned()), tag, self.pos);
                    return Ok(());
                }
            }
            search = tag + 3;
        }
    }

    fn skip_blanks(&mut self) -> Result<(), TemplateError> {
        loop {
            while self.pos < self.bytes.len() && is_blank(self.bytes[self.pos]) {
                self.pos += 1;
            }
            // FreeMarker allows comments inside expressions.
            if self.starts_with("<#--") || self.starts_with("<!--") {
                let start = self.pos;
                match self.src[start + 4..].find("-->") {
                    Some(at) => self.pos = start + 4 + at + 3,
                    None => {
                        return Err(self.error(
                            start,
                            start + 4,
                            "found end of template, expected `-->` closing the comment",
                        ));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    fn lex_expression_token(&mut self) -> Result<(), TemplateError> {
        self.skip_blanks()?;
        let start = self.pos;
        let Some(c) = self.peek(0) else {
            let what = match (self.mode, self.remap) {
                (Mode::Tag, _) => "found end of template, expected `>` closing the tag",
                (_, None) => "found end of template, expected `}` closing `${`",
                (_, Some(_)) => "found end of string literal, expected `}` closing `${`",
            };
            return Err(self.error(start, start, what));
        };
        let (token, len) = match c {
            b'"' | b'\'' => return self.lex_string(false),
            b'r' if matches!(self.peek(1), Some(b'"' | b'\'')) => return self.lex_string(true),
            b'0'..=b'9' => return self.lex_number(),
            b'>' if self.mode == Mode::Tag && self.parens == 0 => {
                self.pos += 1;
                self.push(Token::TagEnd, start, self.pos);
                self.mode = Mode::Text;
                if let Some(name) = self.directive.take() {
                    self.after_tag_end(&name)?;
                }
                return Ok(());
            }
            b'/' if self.mode == Mode::Tag && self.parens == 0 && self.peek(1) == Some(b'>') => {
                self.pos += 2;
                self.push(Token::EmptyTagEnd, start, self.pos);
                self.mode = Mode::Text;
                self.directive = None;
                return Ok(());
            }
            b'}' if self.mode == Mode::Interp && self.braces == 0 => {
                self.pos += 1;
                self.push(Token::InterpEnd, start, self.pos);
                self.mode = Mode::Text;
                return Ok(());
            }
            b'.' => match (self.peek(1), self.peek(2)) {
                (Some(b'.'), Some(b'<' | b'!')) => (Token::DotDotLess, 3),
                (Some(b'.'), Some(b'*')) => (Token::DotDotStar, 3),
                (Some(b'.'), _) => (Token::DotDot, 2),
                _ => (Token::Dot, 1),
            },
            b'?' if self.peek(1) == Some(b'?') => (Token::Exists, 2),
            b'?' => (Token::Question, 1),
            b'!' if self.peek(1) == Some(b'=') => (Token::NotEq, 2),
            b'!' => (Token::Bang, 1),
            b'=' if self.peek(1) == Some(b'=') => (Token::EqEq, 2),
            b'=' => (Token::Assign, 1),
            b'+' if self.peek(1) == Some(b'=') => (Token::PlusAssign, 2),
            b'+' if self.peek(1) == Some(b'+') => (Token::PlusPlus, 2),
            b'+' => (Token::Plus, 1),
            b'-' if self.peek(1) == Some(b'=') => (Token::MinusAssign, 2),
            b'-' if self.peek(1) == Some(b'-') => (Token::MinusMinus, 2),
            b'-' if self.peek(1) == Some(b'>') => (Token::Arrow, 2),
            b'-' => (Token::Minus, 1),
            b'*' if self.peek(1) == Some(b'=') => (Token::StarAssign, 2),
            b'*' => (Token::Star, 1),
            b'/' if self.peek(1) == Some(b'=') => (Token::SlashAssign, 2),
            b'/' => (Token::Slash, 1),
            b'%' if self.peek(1) == Some(b'=') => (Token::PercentAssign, 2),
            b'%' => (Token::Percent, 1),
            b'<' if self.peek(1) == Some(b'=') => (Token::Lte, 2),
            b'<' => (Token::Lt, 1),
            // Outside parentheses `>=` is not one token: FreeMarker reads `>` and then `=`.
            b'>' if self.parens > 0 && self.peek(1) == Some(b'=') => (Token::Gte, 2),
            b'>' => (Token::Gt, 1),
            b'&' if self.starts_with("&amp;&amp;") => (Token::And, 10),
            b'&' if self.starts_with("&lt;=") => (Token::Lte, 5),
            b'&' if self.starts_with("&lt;") => (Token::Lt, 4),
            b'&' if self.starts_with("&gt;=") => (Token::Gte, 5),
            b'&' if self.starts_with("&gt;") => (Token::Gt, 4),
            b'&' if self.peek(1) == Some(b'&') => (Token::And, 2),
            b'&' => (Token::And, 1),
            b'|' if self.peek(1) == Some(b'|') => (Token::Or, 2),
            b'|' => (Token::Or, 1),
            b',' => (Token::Comma, 1),
            b';' => (Token::Semicolon, 1),
            b':' => (Token::Colon, 1),
            b'(' => {
                self.parens += 1;
                (Token::LParen, 1)
            }
            b')' => {
                self.parens = self.parens.saturating_sub(1);
                (Token::RParen, 1)
            }
            b'[' => (Token::LBracket, 1),
            b']' => (Token::RBracket, 1),
            b'{' => {
                self.braces += 1;
                (Token::LBrace, 1)
            }
            b'}' => {
                self.braces = self.braces.saturating_sub(1);
                (Token::RBrace, 1)
            }
            b'\\' if self.named_escape().is_some() => {
                let (token, len) = self.named_escape().unwrap_or((Token::Lt, 3));
                (token, len)
            }
            _ => return self.lex_identifier(),
        };
        self.pos += len;
        self.push(token, start, self.pos);
        Ok(())
    }

    /// Recognises `\lt`, `\lte`, `\gt` and `\gte`.
    fn named_escape(&self) -> Option<(Token, usize)> {
        let rest = &self.src[self.pos + 1..];
        let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        match word.as_str() {
            "lt" => Some((Token::Lt, 3)),
            "lte" => Some((Token::Lte, 4)),
            "gt" => Some((Token::Gt, 3)),
            "gte" => Some((Token::Gte, 4)),
            _ => None,
        }
    }

    fn lex_identifier(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        let mut name = String::new();
        let mut chars = self.src[start..].char_indices().peekable();
        while let Some(&(offset, c)) = chars.peek() {
            let first = offset == 0;
            if c == '\\' {
                let next = self.src[start + offset + 1..].chars().next();
                match next {
                    Some(e @ ('-' | '.' | ':' | '#')) => {
                        name.push(e);
                        chars.next();
                        chars.next();
                        continue;
                    }
                    _ => break,
                }
            }
            if is_identifier_start(c) || (!first && c.is_ascii_digit()) {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let end = chars.peek().map_or(self.src.len(), |&(offset, _)| start + offset);
        if end == start {
            let c = self.src[start..].chars().next().unwrap_or(' ');
            let shown = if c.is_control() { format!("U+{:04X}", c as u32) } else { c.to_string() };
            return Err(self.error(
                start,
                start + c.len_utf8(),
                format!("found unexpected character `{shown}` in an expression"),
            ));
        }
        self.pos = end;
        let token = match name.as_str() {
            "true" => Token::True,
            "false" => Token::False,
            "as" => Token::As,
            "in" => Token::In,
            "using" => Token::Using,
            "lt" => Token::Lt,
            "lte" => Token::Lte,
            "gt" => Token::Gt,
            "gte" => Token::Gte,
            _ => Token::Ident(name),
        };
        self.push(token, start, end);
        Ok(())
    }

    fn lex_number(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        let mut i = start;
        while i < self.bytes.len() && self.bytes[i].is_ascii_digit() {
            i += 1;
        }
        if self.bytes.get(i) == Some(&b'.')
            && self.bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit())
        {
            i += 1;
            while i < self.bytes.len() && self.bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        let text = &self.src[start..i];
        // FreeMarker accepts leading zeros (`007`), JSON number syntax does not.
        let trimmed = text.trim_start_matches('0');
        let normal = if trimmed.is_empty() || trimmed.starts_with('.') {
            format!("0{trimmed}")
        } else {
            trimmed.to_owned()
        };
        let number = Number::parse_literal(&normal)
            .ok_or_else(|| self.error(start, i, format!("found invalid number `{text}`")))?;
        self.pos = i;
        self.push(Token::Number(number), start, i);
        Ok(())
    }

    fn lex_string(&mut self, raw: bool) -> Result<(), TemplateError> {
        let start = self.pos;
        let quote_at = if raw { start + 1 } else { start };
        let quote = self.bytes[quote_at];
        let mut i = quote_at + 1;
        let mut value = String::new();
        loop {
            let Some(&b) = self.bytes.get(i) else {
                return Err(self.error(
                    start,
                    quote_at + 1,
                    format!(
                        "found end of template, expected `{}` closing this string literal",
                        quote as char
                    ),
                ));
            };
            if b == quote {
                i += 1;
                break;
            }
            if b == b'\\' && !raw {
                let (c, len) = self.string_escape(i)?;
                value.push(c);
                i += len;
                continue;
            }
            let c = self.src[i..].chars().next().unwrap_or('\u{fffd}');
            value.push(c);
            i += c.len_utf8();
        }
        self.pos = i;
        self.push(Token::Str { value, raw }, start, i);
        Ok(())
    }

    /// Decodes the escape sequence starting with the backslash at `at`; returns the character and
    /// the length of the sequence in bytes.
    fn string_escape(&self, at: usize) -> Result<(char, usize), TemplateError> {
        let Some(&e) = self.bytes.get(at + 1) else {
            return Err(self.error(at, at + 1, "found end of template after `\\` in a string"));
        };
        let c = match e {
            b'"' => '"',
            b'\'' => '\'',
            b'\\' => '\\',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'l' => '<',
            b'g' => '>',
            b'a' => '&',
            b'{' => '{',
            b'=' => '=',
            b'x' => {
                let digits: usize = self.bytes[at + 2..]
                    .iter()
                    .take(4)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                if digits == 0 {
                    return Err(self.error(
                        at,
                        at + 2,
                        "found `\\x` without hexadecimal digits, expected 1 to 4 hex digits",
                    ));
                }
                let hex = &self.src[at + 2..at + 2 + digits];
                let code = u32::from_str_radix(hex, 16).unwrap_or(0xfffd);
                let c = char::from_u32(code).ok_or_else(|| {
                    self.error(
                        at,
                        at + 2 + digits,
                        format!(
                            "found `\\x{hex}`, a UTF-16 surrogate, which cannot stand alone in a \
                             string"
                        ),
                    )
                })?;
                return Ok((c, 2 + digits));
            }
            _ => {
                let shown = self.src[at + 1..].chars().next().unwrap_or(' ');
                return Err(self.error(
                    at,
                    at + 1 + shown.len_utf8(),
                    format!(
                        "found unknown escape `\\{shown}` in a string literal, expected one of \
                         \\\" \\' \\\\ \\n \\r \\t \\b \\f \\l \\g \\a \\{{ \\= \\xHHHH"
                    ),
                ));
            }
        };
        Ok((c, 2))
    }
}

/// Returns true for the blanks FreeMarker skips inside tags: space, tab, CR and LF.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Returns true for characters that may start an identifier: letters, `_`, `$` and `@`.
fn is_identifier_start(c: char) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || c == '$'
        || c == '@'
        || (!c.is_ascii() && c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Token> {
        let lines = LineIndex::new(source);
        tokenize("t", source, &lines).unwrap().into_iter().map(|t| t.node).collect()
    }

    #[test]
    fn gt_ends_a_tag_but_not_an_interpolation() {
        let tokens = kinds("<#if a > 0>${a > 0}");
        assert_eq!(tokens[0], Token::DirectiveStart("if".into()));
        assert_eq!(tokens[2], Token::TagEnd);
        assert!(tokens.contains(&Token::Gt));
    }

    #[test]
    fn hex_escape_takes_up_to_four_digits() {
        let tokens = kinds(r#"${"\x41B"}"#);
        assert_eq!(tokens[1], Token::Str { value: "\u{41b}".into(), raw: false });
    }

    #[test]
    fn line_index_counts_crlf_once() {
        let lines = LineIndex::new("a\r\nb\rc\nd");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(2), 1);
        assert_eq!(lines.line(3), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(7), 4);
    }

    #[test]
    fn line_index_order_independent() {
        let source = "ab\u{e9}c\nx\u{1f600}yz\r\n\u{e9}\u{e9}";
        let offsets: Vec<u32> = (0..=source.len() as u32 + 2)
            .filter(|&o| o as usize >= source.len() || source.is_char_boundary(o as usize))
            .collect();
        let expected: Vec<(u32, u32)> =
            offsets.iter().map(|&o| LineIndex::new(source).position(source, o)).collect();
        let shared = LineIndex::new(source);
        for (&offset, want) in offsets.iter().zip(&expected) {
            assert_eq!(shared.position(source, offset), *want, "forward, offset {offset}");
        }
        for (&offset, want) in offsets.iter().zip(&expected).rev() {
            assert_eq!(shared.position(source, offset), *want, "backward, offset {offset}");
        }
        assert_eq!(shared.position(source, 4), (1, 4));
        assert_eq!(shared.position(source, 6), (2, 1));
    }

    #[test]
    fn dollar_escape_is_rejected() {
        let source = r#"${"\$"}"#;
        let error = tokenize("t", source, &LineIndex::new(source)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Syntax);
        assert_eq!(error.column(), 4);
    }
}
