//! Built-ins (`value?name`): the name table the parser resolves against, and their evaluation.
//!
//! The parser turns every `?name` into a [`BuiltIn`] at compile time, so an unknown or
//! unsupported name is a compile error even in a branch that never runs. The evaluation code is
//! split by the kind of value a built-in works on.

pub(super) mod dates;
pub(super) mod misc;
pub(super) mod numbers;
pub(super) mod sequences;
pub(super) mod strings;

/// How many arguments a built-in takes and in which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// No parentheses: `x?upper_case`.
    None,
    /// Parentheses with `min..=max` arguments are required: `x?replace(a, b)`.
    Call(u8, u8),
    /// Either no parentheses or parentheses with `min..=max` arguments: `x?string`,
    /// `x?string("0.00")`.
    Optional(u8, u8),
}

macro_rules! builtins {
    ($($variant:ident => $name:literal, $camel:literal, $arity:expr;)*) => {
        /// A built-in the renderer supports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BuiltIn {
            $(
                #[doc = concat!("`?", $name, "`.")]
                $variant,
            )*
        }

        /// Every supported built-in with its snake_case and camelCase names.
        const NAMES: &[(BuiltIn, &str, &str)] = &[$((BuiltIn::$variant, $name, $camel),)*];

        impl BuiltIn {
            /// Returns the snake_case name.
            pub fn name(self) -> &'static str {
                match self {
                    $(BuiltIn::$variant => $name,)*
                }
            }

            /// Returns the arguments the built-in takes.
            pub fn arity(self) -> Arity {
                match self {
                    $(BuiltIn::$variant => $arity,)*
                }
            }
        }
    };
}

impl BuiltIn {
    /// Looks a built-in up by its snake_case or camelCase name.
    pub fn from_name(name: &str) -> Option<BuiltIn> {
        NAMES
            .iter()
            .find(|(_, snake, camel)| *snake == name || *camel == name)
            .map(|(builtin, _, _)| *builtin)
    }
}

use Arity::{Call, None as Bare, Optional};

builtins! {
    // Missing values.
    HasContent => "has_content", "hasContent", Bare;
    Default => "default", "default", Call(1, 255);
    Exists => "exists", "exists", Bare;
    IfExists => "if_exists", "ifExists", Bare;
    // Strings.
    String => "string", "string", Optional(1, 2);
    JsonString => "json_string", "jsonString", Bare;
    JsString => "js_string", "jsString", Bare;
    JString => "j_string", "jString", Bare;
    UpperCase => "upper_case", "upperCase", Bare;
    LowerCase => "lower_case", "lowerCase", Bare;
    CapFirst => "cap_first", "capFirst", Bare;
    UncapFirst => "uncap_first", "uncapFirst", Bare;
    Capitalize => "capitalize", "capitalize", Bare;
    Trim => "trim", "trim", Bare;
    Length => "length", "length", Bare;
    Contains => "contains", "contains", Call(1, 1);
    StartsWith => "starts_with", "startsWith", Call(1, 1);
    EndsWith => "ends_with", "endsWith", Call(1, 1);
    IndexOf => "index_of", "indexOf", Call(1, 2);
    LastIndexOf => "last_index_of", "lastIndexOf", Call(1, 2);
    Replace => "replace", "replace", Call(2, 3);
    Split => "split", "split", Call(1, 2);
    Substring => "substring", "substring", Call(1, 2);
    KeepAfter => "keep_after", "keepAfter", Call(1, 2);
    KeepBefore => "keep_before", "keepBefore", Call(1, 2);
    KeepAfterLast => "keep_after_last", "keepAfterLast", Call(1, 2);
    KeepBeforeLast => "keep_before_last", "keepBeforeLast", Call(1, 2);
    RemoveBeginning => "remove_beginning", "removeBeginning", Call(1, 1);
    RemoveEnding => "remove_ending", "removeEnding", Call(1, 1);
    EnsureStartsWith => "ensure_starts_with", "ensureStartsWith", Call(1, 3);
    EnsureEndsWith => "ensure_ends_with", "ensureEndsWith", Call(1, 1);
    LeftPad => "left_pad", "leftPad", Call(1, 2);
    RightPad => "right_pad", "rightPad", Call(1, 2);
    Truncate => "truncate", "truncate", Call(1, 2);
    Url => "url", "url", Optional(1, 1);
    UrlPath => "url_path", "urlPath", Optional(1, 1);
    Matches => "matches", "matches", Call(1, 2);
    Groups => "groups", "groups", Bare;
    WordList => "word_list", "wordList", Bare;
    EvalJson => "eval_json", "evalJson", Bare;
    Number => "number", "number", Bare;
    Boolean => "boolean", "boolean", Bare;
    // Dates.
    Date => "date", "date", Optional(1, 1);
    Time => "time", "time", Optional(1, 1);
    DateTime => "datetime", "datetime", Optional(1, 1);
    IsoUtc => "iso_utc", "isoUtc", Bare;
    IsoUtcMs => "iso_utc_ms", "isoUtcMs", Bare;
    IsoLocal => "iso_local", "isoLocal", Bare;
    IsoLocalMs => "iso_local_ms", "isoLocalMs", Bare;
    Long => "long", "long", Bare;
    // Numbers.
    C => "c", "c", Bare;
    Round => "round", "round", Bare;
    Floor => "floor", "floor", Bare;
    Ceiling => "ceiling", "ceiling", Bare;
    Int => "int", "int", Bare;
    Abs => "abs", "abs", Bare;
    IsInfinite => "is_infinite", "isInfinite", Bare;
    IsNan => "is_nan", "isNan", Bare;
    NumberToDateTime => "number_to_datetime", "numberToDatetime", Bare;
    NumberToDate => "number_to_date", "numberToDate", Bare;
    NumberToTime => "number_to_time", "numberToTime", Bare;
    // Booleans and any type.
    Then => "then", "then", Call(2, 2);
    Switch => "switch", "switch", Call(2, 255);
    IsString => "is_string", "isString", Bare;
    IsNumber => "is_number", "isNumber", Bare;
    IsBoolean => "is_boolean", "isBoolean", Bare;
    IsHash => "is_hash", "isHash", Bare;
    IsHashEx => "is_hash_ex", "isHashEx", Bare;
    IsSequence => "is_sequence", "isSequence", Bare;
    IsEnumerable => "is_enumerable", "isEnumerable", Bare;
    IsCollection => "is_collection", "isCollection", Bare;
    IsCollectionEx => "is_collection_ex", "isCollectionEx", Bare;
    IsIndexable => "is_indexable", "isIndexable", Bare;
    IsDate => "is_date", "isDate", Bare;
    IsDateLike => "is_date_like", "isDateLike", Bare;
    IsDateOnly => "is_date_only", "isDateOnly", Bare;
    IsTime => "is_time", "isTime", Bare;
    IsDateTime => "is_datetime", "isDatetime", Bare;
    IsUnknownDateLike => "is_unknown_date_like", "isUnknownDateLike", Bare;
    IsMethod => "is_method", "isMethod", Bare;
    IsMacro => "is_macro", "isMacro", Bare;
    IsDirective => "is_directive", "isDirective", Bare;
    IsTransform => "is_transform", "isTransform", Bare;
    IsNode => "is_node", "isNode", Bare;
    IsMarkupOutput => "is_markup_output", "isMarkupOutput", Bare;
    // Sequences and hashes.
    Size => "size", "size", Bare;
    First => "first", "first", Bare;
    Last => "last", "last", Bare;
    Reverse => "reverse", "reverse", Bare;
    SeqContains => "seq_contains", "seqContains", Call(1, 1);
    SeqIndexOf => "seq_index_of", "seqIndexOf", Call(1, 2);
    SeqLastIndexOf => "seq_last_index_of", "seqLastIndexOf", Call(1, 2);
    Sort => "sort", "sort", Bare;
    SortBy => "sort_by", "sortBy", Call(1, 1);
    Chunk => "chunk", "chunk", Call(1, 2);
    Filter => "filter", "filter", Call(1, 1);
    Map => "map", "map", Call(1, 1);
    TakeWhile => "take_while", "takeWhile", Call(1, 1);
    DropWhile => "drop_while", "dropWhile", Call(1, 1);
    Min => "min", "min", Bare;
    Max => "max", "max", Bare;
    Keys => "keys", "keys", Bare;
    Values => "values", "values", Bare;
    Join => "join", "join", Call(1, 3);
    // Loop variables.
    Index => "index", "index", Bare;
    Counter => "counter", "counter", Bare;
    HasNext => "has_next", "hasNext", Bare;
    IsFirst => "is_first", "isFirst", Bare;
    IsLast => "is_last", "isLast", Bare;
    ItemParity => "item_parity", "itemParity", Bare;
    ItemParityCap => "item_parity_cap", "itemParityCap", Bare;
    IsEvenItem => "is_even_item", "isEvenItem", Bare;
    IsOddItem => "is_odd_item", "isOddItem", Bare;
    ItemCycle => "item_cycle", "itemCycle", Call(1, 255);
}

impl BuiltIn {
    /// Returns true for the built-ins that only work on a loop variable in scope.
    pub fn is_loop_variable_builtin(self) -> bool {
        matches!(
            self,
            BuiltIn::Index
                | BuiltIn::Counter
                | BuiltIn::HasNext
                | BuiltIn::IsFirst
                | BuiltIn::IsLast
                | BuiltIn::ItemParity
                | BuiltIn::ItemParityCap
                | BuiltIn::IsEvenItem
                | BuiltIn::IsOddItem
                | BuiltIn::ItemCycle
        )
    }

    /// Returns true for the built-ins that accept a missing value: `?has_content`, `?default`,
    /// `?exists` and `?if_exists`.
    pub fn accepts_missing(self) -> bool {
        matches!(self, BuiltIn::HasContent | BuiltIn::Default | BuiltIn::Exists | BuiltIn::IfExists)
    }

    /// Returns true for the type tests `?is_string` to `?is_markup_output`.
    pub fn is_type_test(self) -> bool {
        use BuiltIn as B;
        matches!(
            self,
            B::IsString
                | B::IsNumber
                | B::IsBoolean
                | B::IsHash
                | B::IsHashEx
                | B::IsSequence
                | B::IsEnumerable
                | B::IsCollection
                | B::IsCollectionEx
                | B::IsIndexable
                | B::IsDate
                | B::IsDateLike
                | B::IsDateOnly
                | B::IsTime
                | B::IsDateTime
                | B::IsUnknownDateLike
                | B::IsMethod
                | B::IsMacro
                | B::IsDirective
                | B::IsTransform
                | B::IsNode
                | B::IsMarkupOutput
        )
    }

    /// Returns true when the first argument is a lambda (`x -> ...`) or a function.
    pub fn takes_lambda(self) -> bool {
        matches!(self, BuiltIn::Filter | BuiltIn::Map | BuiltIn::TakeWhile | BuiltIn::DropWhile)
    }

    /// Returns true for `?string`, `?date`, `?time` and `?datetime`, which also take a format
    /// as `?name.format` or `?name["format"]`.
    pub fn takes_format_key(self) -> bool {
        matches!(self, BuiltIn::String | BuiltIn::Date | BuiltIn::Time | BuiltIn::DateTime)
    }
}

/// Built-ins that FreeMarker 2.3.31 has but this renderer rejects, with the reason.
pub fn unsupported_reason(name: &str) -> Option<&'static str> {
    let reason = match name {
        "eval" | "interpret" => "evaluates text as template code",
        "new" | "api" | "has_api" | "hasApi" => "reaches into Java objects",
        "esc" | "no_esc" | "noEsc" | "markup_string" | "markupString" => {
            "needs a markup output format, and request bodies are plain text"
        }
        "html" | "xml" | "xhtml" | "rtf" | "web_safe" | "webSafe" => {
            "escapes for markup; use ?json_string, ?url or ?replace for request bodies"
        }
        "namespace" | "with_args" | "withArgs" | "with_args_last" | "withArgsLast" => {
            "works on macros, which templates here cannot define"
        }
        "ancestors" | "children" | "node_name" | "nodeName" | "node_namespace"
        | "nodeNamespace" | "node_type" | "nodeType" | "parent" | "root" | "previous_sibling"
        | "previousSibling" | "next_sibling" | "nextSibling" => "works on XML nodes",
        "absolute_template_name"
        | "absoluteTemplateName"
        | "get_optional_template"
        | "getOptionalTemplate" => "loads other templates",
        "byte" | "short" | "float" | "double" => "converts to a Java number type",
        "sequence"
        | "lower_abc"
        | "lowerAbc"
        | "upper_abc"
        | "upperAbc"
        | "chop_linebreak"
        | "chopLinebreak"
        | "date_if_unknown"
        | "dateIfUnknown"
        | "time_if_unknown"
        | "timeIfUnknown"
        | "datetime_if_unknown"
        | "datetimeIfUnknown"
        | "truncate_w"
        | "truncateW"
        | "truncate_c"
        | "truncateC"
        | "truncate_m"
        | "truncateM"
        | "truncate_w_m"
        | "truncateWM"
        | "truncate_c_m"
        | "truncateCM"
        | "iso_utc_fz"
        | "isoUtcFZ"
        | "iso_utc_nz"
        | "isoUtcNZ"
        | "iso_utc_ms_nz"
        | "isoUtcMsNZ"
        | "iso_utc_m"
        | "isoUtcM"
        | "iso_utc_m_nz"
        | "isoUtcMNZ"
        | "iso_utc_h"
        | "isoUtcH"
        | "iso_utc_h_nz"
        | "isoUtcHNZ"
        | "iso_local_nz"
        | "isoLocalNZ"
        | "iso_local_ms_nz"
        | "isoLocalMsNZ"
        | "iso_local_m"
        | "isoLocalM"
        | "iso_local_m_nz"
        | "isoLocalMNZ"
        | "iso_local_h"
        | "isoLocalH"
        | "iso_local_h_nz"
        | "isoLocalHNZ"
        | "iso"
        | "iso_nz"
        | "isoNZ"
        | "iso_ms"
        | "isoMs"
        | "iso_ms_nz"
        | "isoMsNZ"
        | "iso_m"
        | "isoM"
        | "iso_m_nz"
        | "isoMNZ"
        | "iso_h"
        | "isoH"
        | "iso_h_nz"
        | "isoHNZ" => "is outside the supported subset",
        _ => return None,
    };
    Some(reason)
}

use std::borrow::Cow;

use super::ast::{BuiltInCall, Expr, ExprKind};
use super::error::ErrorKind;
use super::eval::{R, Renderer, error};
use super::expr::Peek;
use super::token::Span;
use super::val::Val;
use super::value::Value;

impl<'a> Renderer<'a> {
    /// Evaluates a built-in call; `None` when the result is missing (`?first` of an empty
    /// sequence, `?default` of missing values).
    pub fn eval_builtin(&mut self, call: &'a BuiltInCall, span: Span) -> R<Option<Val<'a>>> {
        use BuiltIn as B;
        let builtin = call.builtin;
        if builtin.accepts_missing() {
            return self.existence_builtin(call);
        }
        if builtin.is_loop_variable_builtin() {
            return self.loop_variable_builtin(call, span).map(Some);
        }
        if builtin.takes_lambda() {
            return self.lambda_builtin(call, span).map(Some);
        }
        if matches!(builtin, B::Join | B::SeqContains | B::SeqIndexOf | B::SeqLastIndexOf) {
            self.eval_arguments_before_lazy_target(call)?;
        }
        if matches!(builtin, B::Size | B::First | B::SeqContains | B::SeqIndexOf) {
            if let Some(result) = self.lazy_sequence_builtin(call, span)? {
                return Ok(result);
            }
        }
        // A type test of a variable or `.name` chain looks at the value in place.
        let peeked = if builtin.is_type_test() { self.peek(&call.target) } else { Peek::Slow };
        match peeked {
            Peek::Data(value) => {
                if let Some(result) =
                    Val::from_data(value).and_then(|v| self.type_test_builtin(builtin, &v))
                {
                    return Ok(Some(Val::Bool(result)));
                }
            }
            Peek::Held(value) => {
                if let Some(result) = self.type_test_builtin(builtin, value) {
                    return Ok(Some(Val::Bool(result)));
                }
            }
            Peek::Missing | Peek::Slow => {}
        }
        let target = self.eval(&call.target)?;
        match builtin {
            B::Then => return self.then_builtin(call, &target).map(Some),
            B::Switch => return self.switch_builtin(call, target, span).map(Some),
            _ => {}
        }
        if let Some(result) = self.type_test_builtin(builtin, &target) {
            return Ok(Some(Val::Bool(result)));
        }
        if let Some(result) = self.sequence_builtin(call, &target, span)? {
            return Ok(result);
        }
        if let Some(result) = self.number_builtin(call, &target, span)? {
            return Ok(Some(result));
        }
        if let Some(result) = self.date_builtin(call, &target, span)? {
            return Ok(Some(result));
        }
        self.string_builtin(call, target, span).map(Some)
    }

    /// Writes `${target?builtin}` straight into `out` when the built-in transforms a string,
    /// avoiding an intermediate string; returns false when the general path must run.
    pub fn write_builtin_directly(&mut self, expr: &'a Expr, out: &mut String) -> R<bool> {
        let ExprKind::BuiltIn(call) = &expr.node else {
            return Ok(false);
        };
        let writer: fn(&str, &mut String) = match call.builtin {
            BuiltIn::JsonString => super::text::json_string,
            BuiltIn::JsString => super::text::js_string,
            BuiltIn::JString => super::text::j_string,
            BuiltIn::Url if call.args.is_empty() => super::text::url,
            BuiltIn::UrlPath if call.args.is_empty() => super::text::url_path,
            BuiltIn::UpperCase => super::text::upper_case,
            BuiltIn::LowerCase => super::text::lower_case,
            BuiltIn::IsoUtc | BuiltIn::IsoUtcMs | BuiltIn::IsoLocal | BuiltIn::IsoLocalMs => {
                let target = self.eval(&call.target)?;
                let Val::Date(date) = &target else {
                    return Err(self.wrong_target(call, "a date", &target));
                };
                date.write_iso(self.settings.zone(), dates::iso_options(call.builtin), out)
                    .map_err(|e| error(ErrorKind::Evaluation, expr.span, e.to_string()))?;
                return Ok(true);
            }
            BuiltIn::C => {
                match self.peek(&call.target) {
                    Peek::Data(Value::Number(n)) => {
                        n.write_computer(out);
                        return Ok(true);
                    }
                    Peek::Held(Val::Num(n)) => {
                        n.write_computer(out);
                        return Ok(true);
                    }
                    Peek::Data(Value::Bool(b)) | Peek::Held(Val::Bool(b)) => {
                        out.push_str(if *b { "true" } else { "false" });
                        return Ok(true);
                    }
                    _ => {}
                }
                let target = self.eval(&call.target)?;
                return match target {
                    Val::Num(n) => {
                        n.write_computer(out);
                        Ok(true)
                    }
                    Val::Bool(b) => {
                        out.push_str(if b { "true" } else { "false" });
                        Ok(true)
                    }
                    Val::Matches(m) => {
                        out.push_str(if m.whole { "true" } else { "false" });
                        Ok(true)
                    }
                    Val::Nothing => {
                        out.push_str("false");
                        Ok(true)
                    }
                    other => Err(self.expected(
                        call.target.span,
                        "`?c`",
                        "a number or a boolean",
                        &other,
                    )),
                };
            }
            _ => return Ok(false),
        };
        match self.peek(&call.target) {
            Peek::Data(Value::String(s)) => {
                writer(s, out);
                return Ok(true);
            }
            Peek::Held(Val::Str(s)) => {
                writer(s, out);
                return Ok(true);
            }
            _ => {}
        }
        let target = self.eval(&call.target)?;
        match &target {
            Val::Str(s) => writer(s, out),
            _ => {
                let text = self.string_operand(&target, call)?;
                writer(&text, out);
            }
        }
        Ok(true)
    }

    /// Converts the target of a string built-in to text: numbers in `number_format`, booleans
    /// only with a `boolean_format`, hashes and sequences not at all.
    pub fn string_operand<'v>(
        &mut self,
        target: &'v Val<'a>,
        call: &'a BuiltInCall,
    ) -> R<Cow<'v, str>> {
        match target {
            Val::Seq(_) | Val::Hash(_) | Val::Matches(_) => {
                let context = format!("`?{}`", call.builtin.name());
                Err(self.expected(call.target.span, &context, "a string", target))
            }
            _ => self.to_text(target, call.target.span),
        }
    }

    /// Evaluates argument `index` of a built-in call.
    pub fn arg(&mut self, call: &'a BuiltInCall, index: usize) -> R<Val<'a>> {
        match call.args.get(index) {
            Some(arg) => self.eval(arg),
            None => Err(error(
                ErrorKind::Evaluation,
                call.target.span,
                format!("`?{}` is missing argument {}", call.builtin.name(), index + 1),
            )),
        }
    }

    /// Evaluates argument `index` as text; numbers are formatted.
    pub fn arg_text(&mut self, call: &'a BuiltInCall, index: usize) -> R<String> {
        self.arg_str(call, index).map(Cow::into_owned)
    }

    /// Evaluates argument `index` of a built-in call as text, borrowing a string literal.
    pub fn arg_str(&mut self, call: &'a BuiltInCall, index: usize) -> R<Cow<'a, str>> {
        if let Some(ExprKind::Str(literal)) = call.args.get(index).map(|arg| &arg.node) {
            return Ok(Cow::Borrowed(literal));
        }
        let value = self.arg(call, index)?;
        let span = call.args[index].span;
        match value {
            Val::Str(s) => Ok(s),
            Val::Num(_) | Val::Empty | Val::Nothing | Val::Date(_) => {
                Ok(Cow::Owned(self.to_text(&value, span)?.into_owned()))
            }
            other => {
                let context = format!("argument {} of `?{}`", index + 1, call.builtin.name());
                Err(self.expected(span, &context, "a string", &other))
            }
        }
    }

    /// Evaluates optional argument `index` as text.
    pub fn optional_arg_text(&mut self, call: &'a BuiltInCall, index: usize) -> R<Option<String>> {
        if index < call.args.len() { self.arg_text(call, index).map(Some) } else { Ok(None) }
    }

    /// Evaluates argument `index` as a number.
    pub fn arg_number(
        &mut self,
        call: &'a BuiltInCall,
        index: usize,
    ) -> R<Cow<'a, super::number::Number>> {
        let value = self.arg(call, index)?;
        match value {
            Val::Num(n) => Ok(n),
            other => {
                let context = format!("argument {} of `?{}`", index + 1, call.builtin.name());
                Err(self.expected(call.args[index].span, &context, "a number", &other))
            }
        }
    }

    /// Returns the error for a built-in applied to a value it does not take.
    pub fn wrong_target(
        &self,
        call: &'a BuiltInCall,
        wanted: &str,
        found: &Val<'_>,
    ) -> Box<super::eval::RenderError> {
        let context = format!("`?{}`", call.builtin.name());
        self.expected(call.target.span, &context, wanted, found)
    }
}

impl<'a> Renderer<'a> {
    /// Returns the compiled regular expression for `pattern` and `flags`, compiling it only when
    /// this call site last used another one.
    pub fn cached_regex(
        &self,
        call: &'a BuiltInCall,
        pattern: &str,
        flags: &super::regex::RegexFlags,
    ) -> Result<std::sync::Arc<super::regex::JavaRegex>, super::regex::RegexError> {
        let mut slot = call.cache.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(super::ast::Cached::Regex(cached_pattern, cached_flags, regex)) = slot.as_ref()
        {
            if cached_pattern == pattern && cached_flags == flags {
                return Ok(std::sync::Arc::clone(regex));
            }
        }
        let regex = std::sync::Arc::new(super::regex::JavaRegex::compile(pattern, flags)?);
        *slot = Some(super::ast::Cached::Regex(
            pattern.to_owned(),
            flags.clone(),
            std::sync::Arc::clone(&regex),
        ));
        Ok(regex)
    }

    /// Returns the parsed number format for `text`, parsing it only when this call site last
    /// used another one.
    pub fn cached_number_format(
        &self,
        call: &'a BuiltInCall,
        text: &str,
    ) -> Result<std::sync::Arc<super::number::NumberFormat>, super::number::NumberError> {
        let mut slot = call.cache.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let locale = self.settings.locale;
        if let Some(super::ast::Cached::Number(key, key_locale, format)) = slot.as_ref() {
            if key == text && *key_locale == locale {
                return Ok(std::sync::Arc::clone(format));
            }
        }
        let format = std::sync::Arc::new(super::number::NumberFormat::parse_in(text, locale)?);
        *slot = Some(super::ast::Cached::Number(
            text.to_owned(),
            locale,
            std::sync::Arc::clone(&format),
        ));
        Ok(format)
    }

    /// Returns the parsed date format for `text`, parsing it only when this call site last used
    /// another one.
    pub fn cached_date_format(
        &self,
        call: &'a BuiltInCall,
        text: &str,
    ) -> Result<std::sync::Arc<super::date::DateFormat>, super::date::DateError> {
        let mut slot = call.cache.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(super::ast::Cached::Date(key, format)) = slot.as_ref() {
            if key == text {
                return Ok(std::sync::Arc::clone(format));
            }
        }
        let format = std::sync::Arc::new(super::date::DateFormat::parse(text)?);
        *slot = Some(super::ast::Cached::Date(text.to_owned(), std::sync::Arc::clone(&format)));
        Ok(format)
    }
}
