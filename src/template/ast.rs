//! The compiled form of a template: expressions and render nodes.
//!
//! Names are resolved at compile time: a loop variable becomes a frame index, a variable that
//! the template assigns somewhere becomes a slot, and every other name is looked up in the
//! caller's variables at render time. Built-in names are resolved to [`BuiltIn`] values.

use super::builtins::BuiltIn;
use super::number::Number;
use super::token::Spanned;

/// An expression with its span.
pub type Expr = Spanned<ExprKind>;

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A string literal without interpolations.
    Str(String),
    /// A string literal with `${...}` or `#{...}` parts.
    Interpolated(Vec<StrPart>),
    /// A number literal.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `[a, b, ...]`.
    Seq(Vec<Expr>),
    /// `{"k": v, ...}`.
    Hash(Vec<(Expr, Expr)>),
    /// A variable.
    Var(Var),
    /// `target.name`.
    Dot(Box<Expr>, DotKey),
    /// `target[key]`, where key is a number, string or range.
    Index(Box<Expr>, Box<Expr>),
    /// A range: `start..end`, `start..<end`, `start..*length` or `start..`.
    Range(Box<Expr>, Option<Box<Expr>>, RangeKind),
    /// `!operand`.
    Not(Box<Expr>),
    /// `-operand`.
    Neg(Box<Expr>),
    /// `+operand`.
    Pos(Box<Expr>),
    /// An arithmetic or concatenation operator.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// A comparison.
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    /// `a && b`.
    And(Box<Expr>, Box<Expr>),
    /// `a || b`.
    Or(Box<Expr>, Box<Expr>),
    /// `value!default` or `value!`.
    Default(Box<Expr>, Option<Box<Expr>>),
    /// `value??`.
    Exists(Box<Expr>),
    /// `( ... )`: makes `!`, `??` and `?has_content` cover every step inside.
    Paren(Box<Expr>),
    /// `target?name` or `target?name(args)`.
    BuiltIn(Box<BuiltInCall>),
    /// `x -> body`, only as the argument of a built-in that takes a function.
    Lambda(Box<Lambda>),
    /// `statics['...FtlUtils'].toJson(value)`.
    ToJson(Box<Expr>),
    /// `statics['...FtlUtils'].toJsonString(value)`.
    ToJsonString(Box<Expr>),
}

/// A built-in applied to a value.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltInCall {
    /// The value left of `?`.
    pub target: Expr,
    /// Which built-in.
    pub builtin: BuiltIn,
    /// The arguments in parentheses or the key in brackets (`?string["0.00"]`).
    pub args: Vec<Expr>,
    /// For loop-variable built-ins (`x?index`): the loop frame of `x`.
    pub frame: Option<u16>,
    /// The compiled form of the last pattern or format this call used.
    pub cache: CallCache,
}

/// A one-entry cache of the compiled regular expression or format of a built-in call, so a
/// pattern written in the template is compiled once rather than on every render.
#[derive(Default)]
pub struct CallCache(pub std::sync::Mutex<Option<Cached>>);

/// A compiled pattern with the text it was compiled from.
#[derive(Clone)]
pub enum Cached {
    /// A regular expression with the pattern and flags it was compiled from.
    Regex(String, super::regex::RegexFlags, std::sync::Arc<super::regex::JavaRegex>),
    /// A number format with the locale it was parsed for.
    Number(String, super::locale::Locale, std::sync::Arc<super::number::NumberFormat>),
    /// A date format.
    Date(String, std::sync::Arc<super::date::DateFormat>),
}

impl Clone for CallCache {
    /// Returns an empty cache; a copy compiles its own patterns.
    fn clone(&self) -> CallCache {
        CallCache::default()
    }
}

impl PartialEq for CallCache {
    /// Treats all caches as equal, since a cache never changes what a call means.
    fn eq(&self, _other: &CallCache) -> bool {
        true
    }
}

impl std::fmt::Debug for CallCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallCache")
    }
}

/// The name after `.` in `target.name`, with the position where it was last found.
///
/// Events from one source usually list their keys in the same order, so the key tends to sit at
/// the same index of every hash one `.name` reads. A lookup first compares the key at that index
/// and hashes only when it differs. The position is a hint shared by every render of the
/// template: it is checked before use, so a stale or racing value costs a hash lookup and never
/// gives a wrong result.
pub struct DotKey {
    /// The key.
    pub name: String,
    /// The index of `name` in the hash it was last found in.
    pub hint: std::sync::atomic::AtomicUsize,
}

impl DotKey {
    /// Creates the key `name` with no position known yet.
    pub fn new(name: String) -> DotKey {
        DotKey { name, hint: std::sync::atomic::AtomicUsize::new(0) }
    }
}

impl Clone for DotKey {
    /// Returns the same key with no position known yet.
    fn clone(&self) -> DotKey {
        DotKey::new(self.name.clone())
    }
}

impl PartialEq for DotKey {
    /// Compares the names only, since the position never changes what `.name` means.
    fn eq(&self, other: &DotKey) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Debug for DotKey {
    /// Shows the name as a string, as debug output showed it before positions were kept.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.name, f)
    }
}

/// A one-parameter lambda: `x -> body`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lambda {
    /// The frame the parameter is bound in while the body runs.
    pub frame: u16,
    /// The body.
    pub body: Expr,
}

/// A part of an interpolated string literal.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Literal text.
    Text(String),
    /// `${expr}`.
    Interp(Expr),
    /// `#{expr}` or `#{expr; mN}`.
    HashInterp(Expr, NumberDigits),
}

/// A reference to a variable, resolved at compile time.
///
/// The explicit tag makes telling the kinds apart one byte comparison. Without it, the kind is
/// encoded in the capacity of a name and takes several instructions to decode at every read.
#[derive(Debug, Clone, PartialEq)]
#[repr(u8)]
pub enum Var {
    /// A loop variable or lambda parameter: the frame and which of its values.
    Local {
        /// Index of the frame on the frame stack.
        frame: u16,
        /// The hash key instead of the item (`k` in `as k, v`).
        key: bool,
        /// The name as written, for messages.
        name: String,
    },
    /// A variable the template assigns somewhere; read from the data model until assigned.
    Assigned {
        /// Slot in the template's variable table.
        slot: u16,
        /// The name.
        name: DataName,
    },
    /// A variable of the data model.
    Data(DataName),
}

/// The name of a data-model variable, with its position among the distinct data-model names
/// the template reads, so a render looks each name up once rather than at every read.
#[derive(Clone)]
pub struct DataName {
    /// The name.
    pub name: String,
    /// The position of the name in the program's list of data-model names. It is `u16::MAX`
    /// when the name is not in that list, and reads then look the name up.
    pub index: u16,
}

impl PartialEq for DataName {
    /// Compares the names only, since the position follows from the name.
    fn eq(&self, other: &DataName) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Debug for DataName {
    /// Shows the name as a string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.name, f)
    }
}

/// The kind of a range expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// `a..b`: both ends included; counts down when `a > b`.
    Inclusive,
    /// `a..<b` or `a..!b`: the end excluded.
    Exclusive,
    /// `a..*n`: `n` items from `a`.
    Length,
    /// `a..`: no end.
    Unbounded,
}

/// An arithmetic operator; `+` also concatenates strings, sequences and hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl ArithOp {
    /// Returns the operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==` or `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<` or `lt`.
    Lt,
    /// `<=` or `lte`.
    Le,
    /// `>` or `gt`.
    Gt,
    /// `>=` or `gte`.
    Ge,
}

impl CompareOp {
    /// Returns whether two values whose order is `ordering` satisfy the operator.
    pub fn satisfied_by(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering;
        match self {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
        }
    }
}

impl CompareOp {
    /// Returns the operator as FreeMarker names it in messages.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Fraction digits of a `#{expr; mN MN}` interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberDigits {
    /// Minimum fraction digits (`mN`).
    pub min: Option<u8>,
    /// Maximum fraction digits (`MN`).
    pub max: Option<u8>,
}

/// A render node.
///
/// The explicit tag lets the render loop dispatch on one byte. Without it, the kind is folded
/// into the tag of an interpolation's expression and takes several instructions to decode.
#[derive(Debug, Clone, PartialEq)]
#[repr(u8)]
pub enum Node {
    /// Static text after whitespace stripping.
    Text(Box<str>),
    /// `${expr}`.
    Interp(Expr),
    /// `#{expr}` or `#{expr; mN MN}`.
    HashInterp(Expr, NumberDigits),
    /// `<#if>` with its `<#elseif>` and `<#else>` branches; `None` is the `<#else>` condition.
    If(Vec<(Option<Expr>, Vec<Node>)>),
    /// `<#list>`.
    List(Box<List>),
    /// `<#items as x>` inside a `<#list>` without `as`.
    Items(Box<Items>),
    /// `<#sep>`: rendered only when another item follows in loop frame `frame`.
    Sep {
        /// The frame of the enclosing `#list` or `#items`.
        frame: u16,
        /// The separator's content.
        body: Vec<Node>,
    },
    /// `<#break>`.
    Break,
    /// `<#continue>`.
    Continue,
    /// `<#assign>` or `<#global>` with one or more assignments.
    Assign(Vec<Assignment>),
    /// `<#assign name>...</#assign>`: captures the rendered body as a string.
    Capture {
        /// Where the string goes.
        target: AssignTarget,
        /// The captured content.
        body: Vec<Node>,
    },
    /// `<#switch>`.
    Switch(Box<Switch>),
    /// `<#setting name=value>`.
    Setting(Setting, Expr),
    /// `<#stop>` or `<#stop "message">`.
    Stop(Option<Expr>, super::token::Span),
    /// `<#compress>`.
    Compress(Vec<Node>),
}

/// A `<#list>` directive.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// The listed value.
    pub source: Expr,
    /// How the items are bound; `None` when a nested `<#items>` binds them.
    pub binding: Option<Binding>,
    /// The frame of this loop.
    pub frame: u16,
    /// The body: once per item, or once in all for the `<#items>` form.
    pub body: Vec<Node>,
    /// The `<#else>` part, rendered when the value is empty.
    pub else_body: Option<Vec<Node>>,
}

/// A `<#items>` directive.
#[derive(Debug, Clone, PartialEq)]
pub struct Items {
    /// How the items are bound.
    pub binding: Binding,
    /// The frame of the enclosing `<#list>`, which holds the listed value.
    pub list_frame: u16,
    /// The frame of this loop.
    pub frame: u16,
    /// The body, once per item.
    pub body: Vec<Node>,
}

/// How a loop binds its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `as x`: one variable, for sequences.
    Item,
    /// `as k, v`: key and value, for hashes.
    KeyValue,
}

/// One assignment of `<#assign>` or `<#global>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Where the value goes.
    pub target: AssignTarget,
    /// The operator.
    pub op: AssignOp,
    /// The right-hand side; `None` for `++` and `--`.
    pub value: Option<Expr>,
}

/// The variable an assignment sets.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignTarget {
    /// Slot in the template's variable table.
    pub slot: u16,
    /// The name, for messages.
    pub name: String,
    /// `<#global>` instead of `<#assign>`.
    pub global: bool,
    /// Where the name was written.
    pub span: super::token::Span,
}

/// An assignment operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`.
    Set,
    /// `+=`, `-=`, `*=`, `/=` or `%=`.
    Update(ArithOp),
    /// `++`.
    Increment,
    /// `--`.
    Decrement,
}

/// A `<#switch>` directive.
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    /// The value compared with each case.
    pub value: Expr,
    /// The cases in order; `None` is `<#default>`.
    pub cases: Vec<(Option<Expr>, Vec<Node>)>,
}

/// A setting `<#setting>` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `number_format`.
    NumberFormat,
    /// `boolean_format`.
    BooleanFormat,
    /// `date_format`.
    DateFormat,
    /// `time_format`.
    TimeFormat,
    /// `datetime_format`.
    DateTimeFormat,
    /// `locale`.
    Locale,
    /// `time_zone`.
    TimeZone,
    /// `url_escaping_charset`.
    UrlEscapingCharset,
    /// `output_encoding`.
    OutputEncoding,
}
