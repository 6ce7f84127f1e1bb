//! Expression evaluation: variables, access, operators, literals and missing values.
//!
//! [`Renderer::eval_opt`] returns `None` when the *last step* of an expression is missing
//! (`a.b.c` with no `c`), and fails when an earlier step is (`a.b` missing). `!`, `??` and the
//! existence built-ins turn the `None` into a default or `false`; around a parenthesised
//! expression they also catch a missing value at any step inside.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use super::ast::{
    ArithOp, BuiltInCall, CompareOp, DataName, DotKey, Expr, ExprKind, RangeKind, StrPart, Var,
};
use super::builtins::BuiltIn;
use super::error::ErrorKind;
use super::eval::{R, Renderer, error};
use super::number::Number;
use super::token::Span;
use super::val::{Hash, OwnedMap, Range, Seq, Val};
use super::value::Value;

impl<'a> Renderer<'a> {
    /// Evaluates `expr`; a missing value is an error.
    #[inline]
    pub fn eval(&mut self, expr: &'a Expr) -> R<Val<'a>> {
        match self.eval_opt(expr)? {
            Some(value) => Ok(value),
            None => Err(self.missing(expr.span)),
        }
    }

    /// Evaluates `expr` for `!`, `??` and the existence built-ins: a parenthesised expression
    /// gives `None` when any step inside is missing.
    pub fn eval_guarded(&mut self, expr: &'a Expr) -> R<Option<Val<'a>>> {
        if let ExprKind::Paren(inner) = &expr.node {
            return match self.eval_opt(inner) {
                Err(e) if e.kind == ErrorKind::MissingValue => Ok(None),
                other => other,
            };
        }
        self.eval_opt(expr)
    }

    /// Evaluates `value??`.
    pub fn exists(&mut self, value: &'a Expr) -> R<bool> {
        match self.peek(value) {
            Peek::Data(_) | Peek::Held(_) => Ok(true),
            Peek::Missing => Ok(false),
            Peek::Slow => Ok(self.eval_guarded(value)?.is_some()),
        }
    }

    /// Evaluates `expr`; `None` when its last step is missing.
    pub fn eval_opt(&mut self, expr: &'a Expr) -> R<Option<Val<'a>>> {
        // Leaves do not recurse, so they skip the nesting bookkeeping. Parentheses pass their
        // value through unchanged.
        let result = match &expr.node {
            ExprKind::Str(s) => return Ok(Some(Val::Str(Cow::Borrowed(s)))),
            ExprKind::Number(n) => return Ok(Some(Val::Num(Cow::Borrowed(n)))),
            ExprKind::Bool(b) => return Ok(Some(Val::Bool(*b))),
            ExprKind::Var(var) => Ok(self.read_var(var)),
            ExprKind::Paren(inner) => return self.eval_opt(inner),
            ExprKind::Dot(..) => match self.peek(expr) {
                Peek::Data(value) => return Ok(Val::from_data(value)),
                Peek::Missing => return Ok(None),
                Peek::Held(_) | Peek::Slow => self.nested(|renderer| renderer.eval_step(expr)),
            },
            _ => self.nested(|renderer| renderer.eval_step(expr)),
        };
        // The result is inspected in place and passed on as it is, since copying it out and
        // back costs more than the check.
        if let Ok(Some(Val::Str(Cow::Owned(text)))) = &result {
            let bytes = text.len();
            self.charge_bytes(expr.span, bytes)?;
        }
        result
    }

    fn eval_step(&mut self, expr: &'a Expr) -> R<Option<Val<'a>>> {
        let value = match &expr.node {
            ExprKind::Str(s) => Val::Str(Cow::Borrowed(s)),
            ExprKind::Number(n) => Val::Num(Cow::Borrowed(n)),
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::Interpolated(parts) => {
                let mut text = String::new();
                for part in parts {
                    match part {
                        StrPart::Text(t) => text.push_str(t),
                        StrPart::Interp(e) => {
                            let value = self.eval(e)?;
                            self.write_text(&value, e.span, &mut text)?;
                        }
                        StrPart::HashInterp(e, digits) => {
                            let value = self.eval(e)?;
                            let Val::Num(n) = &value else {
                                return Err(self.expected(e.span, "`#{...}`", "a number", &value));
                            };
                            self.settings
                                .write_fixed_number(n, *digits, &mut text)
                                .map_err(|m| error(ErrorKind::Evaluation, e.span, m))?;
                        }
                    }
                }
                Val::Str(Cow::Owned(text))
            }
            ExprKind::Seq(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(Some(self.eval(item)?));
                }
                Renderer::owned_seq(values)
            }
            ExprKind::Hash(entries) => {
                let mut map = OwnedMap::with_capacity_and_hasher(entries.len(), Default::default());
                for (key, value) in entries {
                    let key_value = self.eval(key)?;
                    let key_text = match key_value {
                        Val::Str(s) => s,
                        other => self.to_text(&other, key.span)?.into_owned().into(),
                    };
                    let value = self.eval(value)?;
                    map.insert(key_text, Some(value));
                }
                Renderer::owned_hash(map)
            }
            ExprKind::Var(var) => return Ok(self.read_var(var)),
            ExprKind::Dot(target, name) => {
                // A variable target, as in `input.user_id`, is read in place: a nested
                // evaluation would only add its bookkeeping to every dotted read.
                let target_value = match &target.node {
                    ExprKind::Var(var) => {
                        let value = self.read_var(var).ok_or_else(|| self.missing(target.span))?;
                        self.charge_copy(target.span, Some(&value))?;
                        value
                    }
                    _ => self.eval(target)?,
                };
                return match target_value {
                    Val::Hash(hash) => Ok(hash.get_with_hint(name)),
                    Val::Empty | Val::Nothing => Ok(None),
                    other => Err(self.expected(target.span, "`.`", "a hash", &other)),
                };
            }
            ExprKind::Index(target, key) => return self.eval_index(target, key),
            ExprKind::Range(start, end, kind) => self.eval_range(start, end.as_deref(), *kind)?,
            ExprKind::Not(operand) => Val::Bool(!self.eval_condition(operand, "`!`")?),
            ExprKind::Neg(operand) => {
                let n = self.eval_number(operand, "unary `-`")?;
                Val::Num(Cow::Owned(n.neg()))
            }
            // FreeMarker's unary `+` passes a missing operand on as missing, without error.
            ExprKind::Pos(operand) => match self.eval_opt(operand)? {
                None => return Ok(None),
                Some(Val::Num(n)) => Val::Num(Cow::Owned(n.into_owned())),
                Some(other) => {
                    return Err(self.expected(operand.span, "unary `+`", "a number", &other));
                }
            },
            ExprKind::Arith(op, left, right)
                if let Some(result) = self.peek_arithmetic(*op, left, right) =>
            {
                Val::Num(Cow::Owned(result))
            }
            ExprKind::Arith(ArithOp::Add, left, _)
                if matches!(left.node, ExprKind::Arith(ArithOp::Add, ..)) =>
            {
                self.eval_add_chain(expr)?
            }
            ExprKind::Arith(ArithOp::Add, left, right) => {
                let l = self.eval_opt(left)?;
                self.add_to(l, left, right, expr.span)?
            }
            ExprKind::Arith(op, left, right) => {
                // A literal per operator, because formatting one would allocate on every use.
                let context = match op {
                    ArithOp::Add => "`+`",
                    ArithOp::Sub => "`-`",
                    ArithOp::Mul => "`*`",
                    ArithOp::Div => "`/`",
                    ArithOp::Rem => "`%`",
                };
                let l = Val::Num(self.eval_number(left, context)?);
                let r = Val::Num(self.eval_number(right, context)?);
                self.arithmetic(*op, l, &r, left.span, right.span, expr.span)?
            }
            ExprKind::Compare(op, left, right) => {
                Val::Bool(self.eval_compare(*op, left, right, expr.span)?)
            }
            ExprKind::And(left, right) => {
                Val::Bool(self.eval_condition(left, "`&&`")? && self.eval_condition(right, "`&&`")?)
            }
            ExprKind::Or(left, right) => {
                Val::Bool(self.eval_condition(left, "`||`")? || self.eval_condition(right, "`||`")?)
            }
            ExprKind::Default(value, default) => match self.eval_guarded(value)? {
                Some(v) => v,
                None => match default {
                    Some(default) => return self.eval_opt(default),
                    None => Val::Empty,
                },
            },
            ExprKind::Exists(value) => Val::Bool(self.exists(value)?),
            ExprKind::Paren(inner) => return self.eval_opt(inner),
            ExprKind::BuiltIn(call) => return self.eval_builtin(call, expr.span),
            ExprKind::Lambda(_) => {
                return Err(error(
                    ErrorKind::Evaluation,
                    expr.span,
                    "a lambda can only be the argument of ?filter, ?map, ?take_while or ?drop_while",
                ));
            }
            ExprKind::ToJson(value) => {
                let v = self.eval(value)?;
                let mut out = String::new();
                self.write_json(&v, value.span, &mut out)?;
                Val::Str(Cow::Owned(out))
            }
            ExprKind::ToJsonString(value) => {
                let v = self.eval(value)?;
                let mut json = String::new();
                self.write_json(&v, value.span, &mut json)?;
                let mut out = String::with_capacity(json.len() + 8);
                super::value::write_json_string(&json, &mut out);
                Val::Str(Cow::Owned(out))
            }
        };
        Ok(Some(value))
    }

    /// Evaluates `left + right` where `left` evaluated to `l`.
    fn add_to(
        &mut self,
        l: Option<Val<'a>>,
        left: &'a Expr,
        right: &'a Expr,
        span: Span,
    ) -> R<Val<'a>> {
        // FreeMarker evaluates both operands of `+` before it checks either.
        let r = self.eval_opt(right)?;
        let l = l.ok_or_else(|| self.missing(left.span))?;
        // The right operand is borrowed where it was returned, since moving it out costs a
        // copy that stalls on the stores which just wrote it.
        let Some(r) = r.as_ref() else {
            // FreeMarker converts the left operand to text before it finds the right one
            // missing, so a boolean or hash on the left fails first.
            self.to_text(&l, left.span)?;
            return Err(self.missing(right.span));
        };
        self.arithmetic(ArithOp::Add, l, r, left.span, right.span, span)
    }

    /// Evaluates a chain `a + b + c + …` from the left without a nested evaluation per `+`,
    /// counting the intermediate results as the nested evaluations would.
    fn eval_add_chain(&mut self, expr: &'a Expr) -> R<Val<'a>> {
        // The `+` nodes of the chain from the outermost in; a longer chain evaluates its
        // innermost part recursively.
        let mut chain: [Option<&'a Expr>; 16] = [None; 16];
        let mut count = 0;
        let mut node = expr;
        while let ExprKind::Arith(ArithOp::Add, left, _) = &node.node {
            let Some(slot) = chain.get_mut(count) else {
                break;
            };
            *slot = Some(node);
            count += 1;
            node = left;
        }
        let mut value = self.eval_opt(node)?;
        for &outer in chain[..count].iter().rev().flatten() {
            let ExprKind::Arith(_, left, right) = &outer.node else {
                continue;
            };
            let sum = self.add_to(value, left, right, outer.span)?;
            if !std::ptr::eq(outer, expr) {
                self.charge_copy(outer.span, Some(&sum))?;
            }
            value = Some(sum);
        }
        value.ok_or_else(|| self.missing(expr.span))
    }

    /// Evaluates `left op right`.
    pub fn eval_compare(
        &mut self,
        op: CompareOp,
        left: &'a Expr,
        right: &'a Expr,
        span: Span,
    ) -> R<bool> {
        // Two numbers read in place are compared without copying them.
        if let (Some(l), Some(r)) = (self.peek_number(left), self.peek_number(right)) {
            if let Ok(ordering) = l.compare(r) {
                return Ok(op.satisfied_by(ordering));
            }
        }
        // FreeMarker evaluates both operands of a comparison before it checks either.
        let l = self.eval_opt(left)?;
        let r = self.eval_opt(right)?;
        let l = l.ok_or_else(|| self.missing(left.span))?;
        let r = r.ok_or_else(|| self.missing(right.span))?;
        self.compare(op, &l, &r, left.span, right.span, span)
    }

    /// Applies `op` to two numbers read in place. Returns `None` when an operand is not such a
    /// number or the operation fails, so the general evaluation runs and reports the error.
    pub(super) fn peek_arithmetic(
        &self,
        op: ArithOp,
        left: &'a Expr,
        right: &'a Expr,
    ) -> Option<Number> {
        let (l, r) = (self.peek_number(left)?, self.peek_number(right)?);
        match op {
            ArithOp::Add => l.add(r),
            ArithOp::Sub => l.sub(r),
            ArithOp::Mul => l.mul(r),
            ArithOp::Div => l.div(r),
            ArithOp::Rem => l.rem(r),
        }
        .ok()
    }

    /// Returns the number `expr` is when it is a number literal, or a variable or `.name` chain
    /// whose value is a number. Returns `None` when the general evaluation must decide.
    pub(super) fn peek_number(&self, expr: &'a Expr) -> Option<&Number> {
        match &expr.node {
            ExprKind::Number(n) => Some(n),
            ExprKind::Var(_) | ExprKind::Dot(..) => match self.peek(expr) {
                Peek::Data(Value::Number(n)) => Some(n),
                Peek::Held(Val::Num(n)) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }

    fn read_var(&self, var: &Var) -> Option<Val<'a>> {
        match var {
            Var::Local { frame, key, .. } => {
                let frame = self.frames.get(*frame as usize)?;
                if *key { frame.key.clone() } else { frame.item.clone() }
            }
            Var::Assigned { slot, name } => {
                let slot = *slot as usize;
                if let Some(value) = &self.assigned[slot] {
                    return Some(value.clone());
                }
                if let Some(value) = self.global(slot) {
                    return Some(value.clone());
                }
                self.data_var(name)
            }
            Var::Data(name) => self.data_var(name),
        }
    }

    /// Finds the value of a variable or of a `.name` chain over data hashes in place, without
    /// copying it or counting anything. [`Peek::Slow`] sends every other expression, and every
    /// chain with a missing or non-hash step before the last, to the general evaluation, which
    /// also raises the errors.
    pub fn peek(&self, expr: &'a Expr) -> Peek<'_, 'a> {
        match &expr.node {
            ExprKind::Var(var) => return self.peek_var(var),
            ExprKind::Dot(target, key) => {
                if let ExprKind::Var(var) = &target.node {
                    return peek_key(self.peek_var(var), key);
                }
            }
            _ => return Peek::Slow,
        }
        self.peek_long_chain(expr)
    }

    /// Looks up a chain of two or more `.name` reads, as [`Renderer::peek`] does.
    #[inline(never)]
    fn peek_long_chain(&self, expr: &'a Expr) -> Peek<'_, 'a> {
        // The keys of the chain, innermost first; longer chains take the general path.
        let mut keys: [Option<&'a DotKey>; 8] = [None; 8];
        let mut count = 0;
        let mut root = expr;
        while let ExprKind::Dot(target, key) = &root.node {
            let Some(slot) = keys.get_mut(count) else {
                return Peek::Slow;
            };
            *slot = Some(key);
            count += 1;
            root = target;
        }
        let ExprKind::Var(var) = &root.node else {
            return Peek::Slow;
        };
        let mut current = self.peek_var(var);
        for key in keys[..count].iter().rev().flatten() {
            current = peek_key(current, key);
        }
        current
    }

    #[inline(always)]
    fn peek_var(&self, var: &Var) -> Peek<'_, 'a> {
        fn held<'r, 'a>(value: Option<&'r Val<'a>>) -> Peek<'r, 'a> {
            match value {
                Some(value) => Peek::Held(value),
                None => Peek::Missing,
            }
        }
        match var {
            Var::Local { frame, key, .. } => match self.frames.get(*frame as usize) {
                Some(frame) => held(if *key { frame.key.as_ref() } else { frame.item.as_ref() }),
                None => Peek::Missing,
            },
            Var::Assigned { slot, name } => {
                let slot = *slot as usize;
                if let Some(value) = &self.assigned[slot] {
                    return Peek::Held(value);
                }
                if let Some(value) = self.global(slot) {
                    return Peek::Held(value);
                }
                self.peek_data(name)
            }
            Var::Data(name) => self.peek_data(name),
        }
    }

    fn peek_data(&self, name: &DataName) -> Peek<'_, 'a> {
        match self.data_value(name) {
            Some(value) if !value.is_null() => Peek::Data(value),
            _ => Peek::Missing,
        }
    }

    /// Evaluates an operand that must be a number.
    pub fn eval_number(&mut self, expr: &'a Expr, context: &str) -> R<Cow<'a, Number>> {
        match self.eval(expr)? {
            Val::Num(n) => Ok(n),
            other => Err(self.expected(expr.span, context, "a number", &other)),
        }
    }

    fn eval_index(&mut self, target: &'a Expr, key: &'a Expr) -> R<Option<Val<'a>>> {
        if let ExprKind::BuiltIn(call) = &target.node
            && call.builtin == BuiltIn::String
            && call.args.is_empty()
        {
            return self.eval_string_key(target, call, key);
        }
        let target_value = self.eval(target)?;
        let key_value = self.eval(key)?;
        self.index_value(target, target_value, key, key_value)
    }

    /// Evaluates `x?string[key]` whose key is not a string literal. FreeMarker's
    /// `?string` result of a number or date is also a hash from format names to formatted
    /// text, so a string key formats `x`, and a number or range key indexes the text.
    fn eval_string_key(
        &mut self,
        target: &'a Expr,
        call: &'a BuiltInCall,
        key: &'a Expr,
    ) -> R<Option<Val<'a>>> {
        let key_value = self.eval(key)?;
        let Val::Str(pattern) = key_value else {
            let target_value = self.eval(target)?;
            return self.index_value(target, target_value, key, key_value);
        };
        let mut out = String::new();
        match self.eval(&call.target)? {
            Val::Num(n) => {
                let format = self
                    .cached_number_format(call, &pattern)
                    .map_err(|e| error(ErrorKind::Evaluation, key.span, e.to_string()))?;
                n.write_format(&format, &mut out);
            }
            Val::Date(date) => {
                let format = self
                    .cached_date_format(call, &pattern)
                    .map_err(|e| error(ErrorKind::Evaluation, key.span, e.to_string()))?;
                self.write_date_with(&date, &format, target.span, &mut out)?;
            }
            other => return Err(self.expected(target.span, "`[\"key\"]`", "a hash", &other)),
        }
        Ok(Some(Val::Str(Cow::Owned(out))))
    }

    /// Looks `key_value` up in `target_value`, as `target[key]` does.
    fn index_value(
        &mut self,
        target: &'a Expr,
        target_value: Val<'a>,
        key: &'a Expr,
        key_value: Val<'a>,
    ) -> R<Option<Val<'a>>> {
        match key_value {
            Val::Num(n) => {
                let index = n.to_index();
                match &target_value {
                    Val::Seq(seq) => Ok(usize::try_from(index).ok().and_then(|i| seq.get(i))),
                    Val::Empty | Val::Nothing => Ok(None),
                    Val::Matches(m) => Ok(usize::try_from(index)
                        .ok()
                        .filter(|&i| i < m.matches.len())
                        .map(|i| Val::Match(Rc::clone(m), i))),
                    // With a `boolean_format` set, FreeMarker indexes the boolean's text.
                    Val::Bool(b) if self.settings.boolean_text(*b).is_some() => {
                        self.char_at(&target_value, target.span, key.span, index)
                    }
                    Val::Hash(_) | Val::Bool(_) => Err(self.expected(
                        target.span,
                        "`[number]`",
                        "a sequence or a string",
                        &target_value,
                    )),
                    _ => self.char_at(&target_value, target.span, key.span, index),
                }
            }
            Val::Str(name) => match target_value {
                Val::Hash(hash) => Ok(hash.get(&name)),
                Val::Empty | Val::Nothing => Ok(None),
                other => Err(self.expected(target.span, "`[\"key\"]`", "a hash", &other)),
            },
            Val::Seq(Seq::Range(range)) => {
                self.slice(target, &target_value, key.span, range).map(Some)
            }
            other => {
                Err(self.expected(key.span, "`[...]`", "a number, a string or a range", &other))
            }
        }
    }

    /// Returns character `index` of the text of `value`, as `value[index]` does for a string.
    fn char_at(
        &mut self,
        value: &Val<'a>,
        value_span: Span,
        key_span: Span,
        index: i32,
    ) -> R<Option<Val<'a>>> {
        let text = self.to_text(value, value_span)?;
        let char_text = super::text::substring(&text, i64::from(index), Some(i64::from(index) + 1))
            .map_err(|e| error(ErrorKind::Evaluation, key_span, e.to_string()))?
            .into_owned();
        Ok(Some(Val::Str(Cow::Owned(char_text))))
    }

    fn eval_range(
        &mut self,
        start: &'a Expr,
        end: Option<&'a Expr>,
        kind: RangeKind,
    ) -> R<Val<'a>> {
        let begin = i64::from(self.eval_number(start, "a range")?.to_index());
        let range = match (kind, end) {
            (RangeKind::Unbounded, _) | (_, None) => Range {
                start: begin,
                descending: false,
                len: None,
                adaptive: true,
                inclusive: false,
            },
            (_, Some(end)) => {
                let value = i64::from(self.eval_number(end, "a range")?.to_index());
                let (last, inclusive) = match kind {
                    RangeKind::Inclusive => (value, true),
                    RangeKind::Length => (begin + value, false),
                    _ => (value, false),
                };
                let descending = begin > last;
                let len = begin.abs_diff(last) + u64::from(inclusive);
                Range {
                    start: begin,
                    descending,
                    len: Some(len),
                    adaptive: kind == RangeKind::Length,
                    inclusive,
                }
            }
        };
        Ok(Val::Seq(Seq::Range(range)))
    }

    /// Slices a string or sequence with a range, as `target[range]` does.
    fn slice(&mut self, target: &'a Expr, value: &Val<'a>, span: Span, range: Range) -> R<Val<'a>> {
        // FreeMarker slices the value of `missing!` as an empty sequence, not as a string.
        if matches!(value, Val::Empty | Val::Nothing) {
            let empty_sequence = Renderer::owned_seq(Vec::new());
            return self.slice(target, &empty_sequence, span, range);
        }
        let (text, seq) = match value {
            Val::Seq(seq) => (None, Some(seq)),
            Val::Bool(b) if self.settings.boolean_text(*b).is_some() => {
                (Some(self.to_text(value, target.span)?.into_owned()), None)
            }
            Val::Hash(_) | Val::Bool(_) | Val::Matches(_) => {
                return Err(self.expected(target.span, "slicing", "a sequence or a string", value));
            }
            _ => (Some(self.to_text(value, target.span)?.into_owned()), None),
        };
        let what = if text.is_some() { "string" } else { "sequence" };
        let empty = || {
            if text.is_some() {
                Val::Str(Cow::Borrowed(""))
            } else {
                Renderer::owned_seq(Vec::new())
            }
        };
        if range.len == Some(0) {
            // FreeMarker 2.3.31 slices the result of `?map`, `?filter`, `?take_while` or
            // `?drop_while` written directly before `[…]` as a lazily generated collection, and
            // an empty slice of one is an empty string, not an empty sequence.
            if is_lazy_sequence(target) {
                return Ok(Val::Str(Cow::Borrowed("")));
            }
            return Ok(empty());
        }
        let first = range.start;
        if first < 0 {
            return Err(error(
                ErrorKind::Evaluation,
                span,
                format!("range start {first} is negative; slicing ranges start at 0"),
            ));
        }
        let size = match (&text, seq) {
            (Some(t), _) => super::text::length(t) as i64,
            (None, Some(s)) => s.len().unwrap_or(usize::MAX) as i64,
            _ => 0,
        };
        let step: i64 = if range.descending { -1 } else { 1 };
        let out_of_bounds = if range.adaptive && step == 1 { first > size } else { first >= size };
        if out_of_bounds {
            return Err(error(
                ErrorKind::Evaluation,
                span,
                format!(
                    "range start {first} is out of bounds: the sliced {what} has only {size} \
                     item(s), counted from 0"
                ),
            ));
        }
        let result_size = match range.len {
            None => size - first,
            Some(len) => {
                let len = len as i64;
                let last = first + (len - 1) * step;
                if last < 0 {
                    if !range.adaptive {
                        return Err(error(
                            ErrorKind::Evaluation,
                            span,
                            format!(
                                "range end {last} is negative; slicing ranges end at 0 or later"
                            ),
                        ));
                    }
                    first + 1
                } else if last >= size {
                    if !range.adaptive {
                        return Err(error(
                            ErrorKind::Evaluation,
                            span,
                            format!(
                                "range end {last} is out of bounds: the sliced {what} has only \
                                 {size} item(s), counted from 0"
                            ),
                        ));
                    }
                    (size - first).abs()
                } else {
                    len
                }
            }
        };
        if result_size == 0 {
            // Finding this size made FreeMarker collect the items of `?filter`, `?take_while`
            // and `?drop_while` into a sequence, but `?map` still yields a lazy collection.
            if is_lazy_map(target) {
                return Ok(Val::Str(Cow::Borrowed("")));
            }
            return Ok(empty());
        }
        if let Some(seq) = seq {
            self.iterate(span, result_size as u64)?;
            let mut items = Vec::with_capacity(result_size as usize);
            let mut index = first;
            for _ in 0..result_size {
                let item = usize::try_from(index).ok().and_then(|i| seq.get(i));
                self.charge_copy(span, item.as_ref())?;
                items.push(item);
                index += step;
            }
            return Ok(Renderer::owned_seq(items));
        }
        let text = text.unwrap_or_default();
        let end = if step < 0 && result_size > 1 {
            if range.inclusive && result_size == 2 {
                // FreeMarker keeps an old quirk: "abc"[n..n-1] is "" instead of an error.
                first
            } else {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    "a decreasing range cannot slice a string; use `?reverse` on a sequence instead",
                ));
            }
        } else {
            first + result_size
        };
        let sliced = super::text::substring(&text, first, Some(end))
            .map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))?
            .into_owned();
        Ok(Val::Str(Cow::Owned(sliced)))
    }

    /// Applies an arithmetic operator; `+` also joins strings, sequences and hashes.
    pub fn arithmetic(
        &mut self,
        op: ArithOp,
        left: Val<'a>,
        right: &Val<'a>,
        left_span: Span,
        right_span: Span,
        span: Span,
    ) -> R<Val<'a>> {
        if let (Val::Num(l), Val::Num(r)) = (&left, right) {
            let result = match op {
                ArithOp::Add => l.add(r),
                ArithOp::Sub => l.sub(r),
                ArithOp::Mul => l.mul(r),
                ArithOp::Div => l.div(r),
                ArithOp::Rem => l.rem(r),
            };
            return result
                .map(|n| Val::Num(Cow::Owned(n)))
                .map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()));
        }
        if op != ArithOp::Add {
            let context = format!("`{}`", op.symbol());
            return Err(match left {
                Val::Num(_) => self.expected(right_span, &context, "a number", right),
                _ => self.expected(left_span, &context, "a number", &left),
            });
        }
        if left.is_sequence() && right.is_sequence() && !(left.is_string() && right.is_string()) {
            return self.concat_sequences(&left, right, span);
        }
        let both_hashes = left.is_hash() && right.is_hash();
        let as_text = |value: &Val<'a>| {
            matches!(
                value,
                Val::Str(_)
                    | Val::Num(_)
                    | Val::Bool(_)
                    | Val::Date(_)
                    | Val::Empty
                    | Val::Nothing
                    | Val::Match(..)
                    | Val::Matches(_)
            )
        };
        if both_hashes && !(as_text(&left) && as_text(right)) {
            return self.merge_hashes(&left, right, span);
        }
        for (value, value_span) in [(&left, left_span), (right, right_span)] {
            if !as_text(value) {
                return Err(self.expected(
                    value_span,
                    "`+`",
                    "a string or number (or two sequences, or two hashes)",
                    value,
                ));
            }
            // FreeMarker converts the left operand before it looks at the right one, so a
            // boolean on the left without a `boolean_format` fails first.
            let boolean = match value {
                Val::Bool(b) => Some(*b),
                Val::Matches(m) => Some(m.whole),
                _ => None,
            };
            if boolean.is_some_and(|b| self.settings.boolean_text(b).is_none()) {
                return Err(super::eval::boolean_to_string(value_span));
            }
        }
        // A chain `a + b + c` appends to the string the previous `+` built instead of copying it.
        if let Val::Str(Cow::Owned(mut text)) = left {
            text.push_str(&self.to_text(right, right_span)?);
            return Ok(Val::Str(Cow::Owned(text)));
        }
        let left_text = self.to_text(&left, left_span)?;
        let right_text = self.to_text(right, right_span)?;
        // Room for a few more operands, so a chain does not grow the string at each one.
        let needed = left_text.len() + right_text.len();
        let mut text = String::with_capacity(needed.saturating_mul(2).max(64));
        text.push_str(&left_text);
        text.push_str(&right_text);
        Ok(Val::Str(Cow::Owned(text)))
    }

    fn concat_sequences(&mut self, left: &Val<'a>, right: &Val<'a>, span: Span) -> R<Val<'a>> {
        let mut items = Vec::new();
        for value in [left, right] {
            let Val::Seq(seq) = value else {
                continue;
            };
            let Some(len) = seq.len() else {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    "a range without end cannot be joined with `+`",
                ));
            };
            self.iterate(span, len as u64)?;
            for i in 0..len {
                let item = seq.get(i);
                self.charge_copy(span, item.as_ref())?;
                items.push(item);
            }
        }
        Ok(Renderer::owned_seq(items))
    }

    fn merge_hashes(&mut self, left: &Val<'a>, right: &Val<'a>, span: Span) -> R<Val<'a>> {
        let mut map = OwnedMap::default();
        for value in [left, right] {
            let Val::Hash(hash) = value else {
                continue;
            };
            self.iterate(span, hash.len() as u64)?;
            for i in 0..hash.len() {
                if let Some((key, item)) = hash.entry(i) {
                    // FreeMarker looks a key up in the right hash first and falls back to the
                    // left one when the right value is null, so a null never hides a value.
                    if item.is_none() && map.get(&key).is_some_and(Option::is_some) {
                        continue;
                    }
                    if let Cow::Owned(key) = &key {
                        self.charge_bytes(span, key.len())?;
                    }
                    self.charge_copy(span, item.as_ref())?;
                    map.insert(key, item);
                }
            }
        }
        Ok(Renderer::owned_hash(map))
    }

    /// Compares two values with `op`; mismatched types are an error.
    pub fn compare(
        &mut self,
        op: CompareOp,
        left: &Val<'a>,
        right: &Val<'a>,
        left_span: Span,
        right_span: Span,
        span: Span,
    ) -> R<bool> {
        let equality = matches!(op, CompareOp::Eq | CompareOp::Ne);
        let ordering = match (left, right) {
            (Val::Num(l), Val::Num(r)) => {
                l.compare(r).map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))?
            }
            (Val::Date(l), Val::Date(r)) => self.compare_dates(l, r, span)?,
            (Val::Bool(l), Val::Bool(r)) if equality => l.cmp(r),
            (Val::Bool(_), Val::Bool(_)) => {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!("`{}` cannot compare booleans; only `==` and `!=` can", op.symbol()),
                ));
            }
            (l, r) if l.is_string() && r.is_string() => {
                if !equality {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        format!("`{}` cannot compare strings; only `==` and `!=` can", op.symbol()),
                    ));
                }
                let l = self.to_text(l, left_span)?;
                let r = self.to_text(r, right_span)?;
                let ascii_visible = |s: &str| s.bytes().all(|b| (b' '..=b'~').contains(&b));
                if !self.settings.locale.is_english()
                    && l != r
                    && !(ascii_visible(&l) && ascii_visible(&r))
                {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        format!(
                            "comparing strings beyond printable ASCII follows the collation of \
                             locale {}, which only exists here for English; compare under an \
                             English locale",
                            self.settings.locale.name()
                        ),
                    ));
                }
                match strings_equal(&l, &r) {
                    Some(true) => Ordering::Equal,
                    Some(false) => Ordering::Less,
                    None => {
                        return Err(error(
                            ErrorKind::Evaluation,
                            span,
                            "these strings hold combining accents, and whether they are equal \
                             under FreeMarker's collation cannot be decided exactly here",
                        ));
                    }
                }
            }
            _ => {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!(
                        "can't compare {} with {}; comparisons work between two numbers, two \
                         strings, two dates or two booleans",
                        left.type_name(),
                        right.type_name()
                    ),
                ));
            }
        };
        Ok(op.satisfied_by(ordering))
    }

    /// Returns whether two values are equal as `==` decides, for `#switch` and `?switch`.
    pub fn values_equal(
        &mut self,
        left: &Val<'a>,
        right: &Val<'a>,
        left_span: Span,
        right_span: Span,
    ) -> R<bool> {
        self.compare(CompareOp::Eq, left, right, left_span, right_span, right_span)
    }

    /// Appends `value` as compact JSON, for `statics[...FtlUtils].toJson`.
    pub fn write_json(&mut self, value: &Val<'a>, span: Span, out: &mut String) -> R<()> {
        self.step(span)?;
        match value {
            Val::Str(s) => super::value::write_json_string(s, out),
            Val::Num(n) => n.write_json(out),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Empty | Val::Nothing => out.push_str("null"),
            Val::Date(date) => {
                let mut text = String::new();
                self.write_iso_utc_ms(date, &mut text);
                super::value::write_json_string(&text, out);
            }
            Val::Match(..) => {
                let text = self.to_text(value, span)?.into_owned();
                super::value::write_json_string(&text, out);
            }
            Val::Seq(seq) => {
                let Some(len) = seq.len() else {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        "a range without end has no JSON form",
                    ));
                };
                self.iterate(span, len as u64)?;
                out.push('[');
                for i in 0..len {
                    if i > 0 {
                        out.push(',');
                    }
                    match seq.get(i) {
                        Some(item) => self.write_json(&item, span, out)?,
                        None => out.push_str("null"),
                    }
                }
                out.push(']');
            }
            Val::Matches(m) => {
                let items: Vec<Option<Val<'a>>> =
                    (0..m.matches.len()).map(|i| Some(Val::Match(Rc::clone(m), i))).collect();
                self.write_json(&Renderer::owned_seq(items), span, out)?;
            }
            Val::Hash(hash) => {
                self.iterate(span, hash.len() as u64)?;
                out.push('{');
                for i in 0..hash.len() {
                    if let Some((key, item)) = hash.entry(i) {
                        if i > 0 {
                            out.push(',');
                        }
                        super::value::write_json_string(&key, out);
                        out.push(':');
                        match item {
                            Some(item) => self.write_json(&item, span, out)?,
                            None => out.push_str("null"),
                        }
                    }
                }
                out.push('}');
            }
        }
        Ok(())
    }
}

/// Reads `.key` of what a peek found. Returns [`Peek::Slow`] unless that is a hash of the data.
#[inline(always)]
fn peek_key<'r, 'a>(target: Peek<'r, 'a>, key: &DotKey) -> Peek<'r, 'a> {
    let map = match target {
        Peek::Data(Value::Hash(map)) => map,
        Peek::Held(Val::Hash(Hash::Data(map))) => *map,
        _ => return Peek::Slow,
    };
    match super::val::get_data_with_hint(map, key) {
        Some(value) if !value.is_null() => Peek::Data(value),
        _ => Peek::Missing,
    }
}

/// The result of [`Renderer::peek`].
pub enum Peek<'r, 'a> {
    /// A value of the data model, never JSON `null`.
    Data(&'a Value),
    /// A value the render holds: a loop variable or an assigned variable.
    Held(&'r Val<'a>),
    /// The last step is missing, and every step before it exists.
    Missing,
    /// Only the general evaluation can tell.
    Slow,
}

/// Returns whether two strings are equal as FreeMarker's `==` decides: with Java's en_US
/// collator, which ignores control characters and matches some letter-and-accent sequences
/// with precomposed letters. `None` when that cannot be decided exactly here.
///
/// The collator is reproduced for characters up to U+024F. Beyond, U+200B to U+200F are
/// ignored as Java does, and a combining accent (U+0300 to U+036F) leaves the answer undecided.
pub fn strings_equal(left: &str, right: &str) -> Option<bool> {
    if left == right {
        return Some(true);
    }
    let ascii_visible = |s: &str| s.bytes().all(|b| (b' '..=b'~').contains(&b));
    if ascii_visible(left) && ascii_visible(right) {
        return Some(false);
    }
    if super::text::collation_is_exact([left, right]) {
        return Some(super::text::collate(left, right) == Ordering::Equal);
    }
    let combining = |s: &str| s.chars().any(|c| ('\u{300}'..='\u{36f}').contains(&c));
    if combining(left) || combining(right) {
        return None;
    }
    let visible =
        |s: &str| -> String { s.chars().filter(|&c| !is_collation_ignorable(c)).collect() };
    let (l, r) = (visible(left), visible(right));
    if l == left && r == right {
        return Some(false);
    }
    if super::text::collation_is_exact([l.as_str(), r.as_str()]) {
        return Some(super::text::collate(&l, &r) == Ordering::Equal);
    }
    Some(l == r)
}

/// Returns true for characters Java's en_US collator ignores completely: controls and
/// U+200B to U+200F.
fn is_collation_ignorable(c: char) -> bool {
    ('\u{200b}'..='\u{200f}').contains(&c)
        || (u32::from(c) < 0x250 && super::text::collate(&c.to_string(), "") == Ordering::Equal)
}

/// Returns true when `expr`, inside any parentheses, is a call of `?map`.
fn is_lazy_map(expr: &Expr) -> bool {
    match &expr.node {
        ExprKind::Paren(inner) => is_lazy_map(inner),
        ExprKind::BuiltIn(call) => call.builtin == BuiltIn::Map,
        _ => false,
    }
}

/// Returns true when `expr`, inside any parentheses, is a call of a built-in whose result
/// FreeMarker generates lazily when it is sliced at once.
fn is_lazy_sequence(expr: &Expr) -> bool {
    match &expr.node {
        ExprKind::Paren(inner) => is_lazy_sequence(inner),
        ExprKind::BuiltIn(call) => matches!(
            call.builtin,
            BuiltIn::Map | BuiltIn::Filter | BuiltIn::TakeWhile | BuiltIn::DropWhile
        ),
        _ => false,
    }
}
