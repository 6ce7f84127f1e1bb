//! Tokens and source spans.

use std::fmt;

use super::number::Number;

/// A region of the template source: byte offsets plus the 1-based line and column of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column of `start`, counted in characters.
    pub column: u32,
}

impl Span {
    /// Returns the byte range of the span.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Returns a span from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span { end: other.end.max(self.start), ..self }
    }
}

/// A value with the span of source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where the value was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with its span.
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

/// A lexical token of the template language.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Static text, copied to the output after whitespace stripping.
    Text(String),
    /// The body of `<#noparse>`, copied as is.
    RawText(String),
    /// `<#-- ... -->`.
    Comment,
    /// `${`.
    InterpStart,
    /// `#{`.
    HashInterpStart,
    /// The `}` closing an interpolation.
    InterpEnd,
    /// `<#name`, the start of a directive tag.
    DirectiveStart(String),
    /// `</#name>`, a complete end tag.
    EndTag(String),
    /// `>` closing a directive tag.
    TagEnd,
    /// `/>` closing a directive tag.
    EmptyTagEnd,
    /// `<@` or `</@`: a user-defined directive call.
    UserDirective,

    /// An identifier, with `\-`, `\.`, `\:` and `\#` escapes already resolved.
    Ident(String),
    /// A string literal's value after escapes; `raw` for `r"..."`.
    Str { value: String, raw: bool },
    /// A number literal.
    Number(Number),
    /// `true`.
    True,
    /// `false`.
    False,
    /// `as`.
    As,
    /// `in`.
    In,
    /// `using`.
    Using,
    /// `.`.
    Dot,
    /// `..`.
    DotDot,
    /// `..<` or `..!`.
    DotDotLess,
    /// `..*`.
    DotDotStar,
    /// `?`.
    Question,
    /// `??`.
    Exists,
    /// `!`.
    Bang,
    /// `!=`.
    NotEq,
    /// `=`.
    Assign,
    /// `==`.
    EqEq,
    /// `+`.
    Plus,
    /// `+=`.
    PlusAssign,
    /// `++`.
    PlusPlus,
    /// `-`.
    Minus,
    /// `-=`.
    MinusAssign,
    /// `--`.
    MinusMinus,
    /// `->`.
    Arrow,
    /// `*`.
    Star,
    /// `*=`.
    StarAssign,
    /// `/`.
    Slash,
    /// `/=`.
    SlashAssign,
    /// `%`.
    Percent,
    /// `%=`.
    PercentAssign,
    /// `<`, `lt`, `\lt` or `&lt;`.
    Lt,
    /// `<=`, `lte`, `\lte` or `&lt;=`.
    Lte,
    /// `>` inside parentheses or an interpolation, `gt`, `\gt` or `&gt;`.
    Gt,
    /// `>=` inside parentheses or an interpolation, `gte`, `\gte` or `&gt;=`.
    Gte,
    /// `&&`, `&` or `&amp;&amp;`.
    And,
    /// `||` or `|`.
    Or,
    /// `,`.
    Comma,
    /// `;`.
    Semicolon,
    /// `:`.
    Colon,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `{` opening a hash literal.
    LBrace,
    /// `}` closing a hash literal.
    RBrace,
    /// The end of the template.
    Eof,
}

impl fmt::Display for Token {
    /// Formats the token the way an error message names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Token::Text(_) | Token::RawText(_) => "text",
            Token::Comment => "a comment",
            Token::InterpStart => "`${`",
            Token::HashInterpStart => "`#{`",
            Token::InterpEnd => "`}`",
            Token::DirectiveStart(name) => return write!(f, "`<#{name}`"),
            Token::EndTag(name) => return write!(f, "`</#{name}>`"),
            Token::TagEnd => "`>`",
            Token::EmptyTagEnd => "`/>`",
            Token::UserDirective => "`<@`",
            Token::Ident(name) => return write!(f, "`{name}`"),
            Token::Str { .. } => "a string literal",
            Token::Number(n) => return write!(f, "`{n}`"),
            Token::True => "`true`",
            Token::False => "`false`",
            Token::As => "`as`",
            Token::In => "`in`",
            Token::Using => "`using`",
            Token::Dot => "`.`",
            Token::DotDot => "`..`",
            Token::DotDotLess => "`..<`",
            Token::DotDotStar => "`..*`",
            Token::Question => "`?`",
            Token::Exists => "`??`",
            Token::Bang => "`!`",
            Token::NotEq => "`!=`",
            Token::Assign => "`=`",
            Token::EqEq => "`==`",
            Token::Plus => "`+`",
            Token::PlusAssign => "`+=`",
            Token::PlusPlus => "`++`",
            Token::Minus => "`-`",
            Token::MinusAssign => "`-=`",
            Token::MinusMinus => "`--`",
            Token::Arrow => "`->`",
            Token::Star => "`*`",
            Token::StarAssign => "`*=`",
            Token::Slash => "`/`",
            Token::SlashAssign => "`/=`",
            Token::Percent => "`%`",
            Token::PercentAssign => "`%=`",
            Token::Lt => "`<`",
            Token::Lte => "`<=`",
            Token::Gt => "`>`",
            Token::Gte => "`>=`",
            Token::And => "`&&`",
            Token::Or => "`||`",
            Token::Comma => "`,`",
            Token::Semicolon => "`;`",
            Token::Colon => "`:`",
            Token::LParen => "`(`",
            Token::RParen => "`)`",
            Token::LBracket => "`[`",
            Token::RBracket => "`]`",
            Token::LBrace => "`{`",
            Token::RBrace => "`}`",
            Token::Eof => "end of template",
        };
        f.write_str(text)
    }
}
