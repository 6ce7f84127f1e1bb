//! Built-ins for sequences and hashes.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use super::BuiltIn;
use super::misc::number;
use crate::template::ast::{BuiltInCall, ExprKind};
use crate::template::error::ErrorKind;
use crate::template::eval::{Frame, R, Renderer, error};
use crate::template::text;
use crate::template::token::Span;
use crate::template::val::{Hash, Seq, Val};

impl<'a> Renderer<'a> {
    /// Evaluates the sequence and hash built-ins; `Ok(None)` for other built-ins, and
    /// `Ok(Some(None))` for a missing result such as `?first` of an empty sequence.
    pub(super) fn sequence_builtin(
        &mut self,
        call: &'a BuiltInCall,
        target: &Val<'a>,
        span: Span,
    ) -> R<Option<Option<Val<'a>>>> {
        let result = match call.builtin {
            BuiltIn::Size => match target {
                Val::Seq(seq) => number(seq.len().map_or(i64::from(i32::MAX), |n| n as i64)),
                Val::Hash(hash) => number(hash.len() as i64),
                Val::Empty | Val::Nothing => number(0),
                Val::Matches(m) => number(m.matches.len() as i64),
                other => return Err(self.wrong_target(call, "a sequence or a hash", other)),
            },
            BuiltIn::Keys | BuiltIn::Values => match target {
                Val::Hash(Hash::Data(map)) => Val::Seq(if call.builtin == BuiltIn::Keys {
                    Seq::Keys(map)
                } else {
                    Seq::Values(map)
                }),
                Val::Hash(hash) => {
                    let items = (0..hash.len())
                        .filter_map(|i| hash.entry(i))
                        .map(
                            |(k, v)| {
                                if call.builtin == BuiltIn::Keys { Some(Val::Str(k)) } else { v }
                            },
                        )
                        .collect();
                    Renderer::owned_seq(items)
                }
                Val::Empty | Val::Nothing => Renderer::owned_seq(Vec::new()),
                other => return Err(self.wrong_target(call, "a hash", other)),
            },
            BuiltIn::First
            | BuiltIn::Last
            | BuiltIn::Reverse
            | BuiltIn::Join
            | BuiltIn::SeqContains
            | BuiltIn::SeqIndexOf
            | BuiltIn::SeqLastIndexOf
            | BuiltIn::Sort
            | BuiltIn::SortBy
            | BuiltIn::Chunk
            | BuiltIn::Min
            | BuiltIn::Max => {
                let items = self.sequence_items(call, target, span)?;
                return self.sequence_operation(call, items, span).map(Some);
            }
            _ => return Ok(None),
        };
        Ok(Some(Some(result)))
    }

    /// Evaluates the arguments of `call` first when its target is the result of `?filter`,
    /// `?map`, `?take_while` or `?drop_while`, or a range slice of a `?filter`, `?take_while`
    /// or `?drop_while` result. FreeMarker passes such a result on as a lazy collection, so
    /// an error in an argument comes before an error in the lambda or in the slice's range.
    pub(super) fn eval_arguments_before_lazy_target(&mut self, call: &'a BuiltInCall) -> R<()> {
        let mut target = &call.target;
        let mut range = None;
        loop {
            match &target.node {
                ExprKind::Paren(inner) => target = inner,
                ExprKind::Index(sliced, key)
                    if range.is_none() && matches!(key.node, ExprKind::Range(..)) =>
                {
                    range = Some(key);
                    target = sliced;
                }
                _ => break,
            }
        }

        let ExprKind::BuiltIn(lazy) = &target.node else {
            return Ok(());
        };
        let deferred = match lazy.builtin {
            BuiltIn::Filter | BuiltIn::TakeWhile | BuiltIn::DropWhile => true,
            // FreeMarker checks the range of a `?map` slice at once.
            BuiltIn::Map => range.is_none(),
            _ => false,
        };
        if !deferred {
            return Ok(());
        }

        // The sequence the lambda runs over and the range are evaluated at once in FreeMarker.
        // NOTE: in a chain such as `xs?filter(f)?map(g)`, `f` still runs before the arguments.
        self.eval(&lazy.target)?;
        if let Some(range) = range {
            self.eval(range)?;
        }
        for argument in &call.args {
            self.eval_opt(argument)?;
        }
        Ok(())
    }

    /// Returns the items of a sequence target, checking the iteration limit.
    fn sequence_items(
        &mut self,
        call: &'a BuiltInCall,
        target: &Val<'a>,
        span: Span,
    ) -> R<Vec<Option<Val<'a>>>> {
        let seq = match target {
            Val::Seq(seq) => seq,
            Val::Empty | Val::Nothing => return Ok(Vec::new()),
            Val::Matches(m) => {
                return Ok((0..m.matches.len())
                    .map(|i| Some(Val::Match(Rc::clone(m), i)))
                    .collect());
            }
            other => return Err(self.wrong_target(call, "a sequence", other)),
        };
        let Some(len) = seq.len() else {
            return Err(error(
                ErrorKind::Evaluation,
                span,
                format!(
                    "`?{}` needs a sequence with an end, not a range like `1..`",
                    call.builtin.name()
                ),
            ));
        };
        self.iterate(span, len as u64)?;
        let mut items = Vec::with_capacity(len);
        for i in 0..len {
            let item = seq.get(i);
            self.charge_copy(span, item.as_ref())?;
            items.push(item);
        }
        Ok(items)
    }

    fn sequence_operation(
        &mut self,
        call: &'a BuiltInCall,
        items: Vec<Option<Val<'a>>>,
        span: Span,
    ) -> R<Option<Val<'a>>> {
        Ok(Some(match call.builtin {
            BuiltIn::First => return Ok(items.into_iter().next().flatten()),
            BuiltIn::Last => return Ok(items.into_iter().next_back().flatten()),
            BuiltIn::Reverse => Renderer::owned_seq(items.into_iter().rev().collect()),
            BuiltIn::Join => {
                let separator = self.arg_str(call, 0)?;
                let empty = self.optional_arg_text(call, 1)?;
                let end = self.optional_arg_text(call, 2)?;
                let mut out = String::new();
                let mut any = false;
                for (index, item) in items.iter().enumerate() {
                    let Some(item) = item else {
                        continue;
                    };
                    if any {
                        out.push_str(&separator);
                    }
                    any = true;
                    match item {
                        Val::Seq(_) | Val::Hash(_) | Val::Matches(_) => {
                            return Err(error(
                                ErrorKind::Type,
                                span,
                                format!(
                                    "`?join` found {} at index {index}; it joins only strings, numbers and dates",
                                    item.type_name()
                                ),
                            ));
                        }
                        _ => self.write_text(item, span, &mut out).map_err(|e| {
                            let detail = e.detail.clone().unwrap_or_default();
                            error(
                                e.kind,
                                span,
                                format!("`?join` failed at index {index}: {detail}"),
                            )
                        })?,
                    }
                }
                if !any {
                    out.push_str(empty.as_deref().unwrap_or(""));
                } else if let Some(end) = end {
                    out.push_str(&end);
                }
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::SeqContains | BuiltIn::SeqIndexOf | BuiltIn::SeqLastIndexOf => {
                // A missing or null argument is no error in FreeMarker; it matches no item.
                let wanted = self.eval_opt(&call.args[0])?;
                let last = call.builtin == BuiltIn::SeqLastIndexOf;
                let start = match call.args.get(1) {
                    Some(_) => Some(self.arg_number(call, 1)?.to_index()),
                    None => None,
                };
                let len = items.len() as i64;
                let indexes: Box<dyn Iterator<Item = i64>> = if last {
                    let from = start.map_or(len - 1, |s| i64::from(s).min(len - 1));
                    Box::new((0..=from).rev())
                } else {
                    let from = start.map_or(0, |s| i64::from(s).max(0));
                    Box::new(from..len)
                };
                let mut found = -1;
                for index in indexes {
                    if let (Some(Some(item)), Some(wanted)) = (items.get(index as usize), &wanted) {
                        if strictly_equal(item, wanted) {
                            found = index;
                            break;
                        }
                    }
                }
                if call.builtin == BuiltIn::SeqContains {
                    Val::Bool(found >= 0)
                } else {
                    number(found)
                }
            }
            BuiltIn::Sort | BuiltIn::SortBy => self.sort(call, items, span)?,
            BuiltIn::Chunk => {
                let size = self.arg_number(call, 0)?.to_index();
                if size < 1 {
                    return Err(error(
                        ErrorKind::Evaluation,
                        call.args[0].span,
                        format!("the chunk size of `?chunk` must be at least 1, not {size}"),
                    ));
                }
                let fill = match call.args.get(1) {
                    Some(_) => Some(self.arg(call, 1)?),
                    None => None,
                };
                let size = size as usize;
                let mut chunks = Vec::new();
                for chunk in items.chunks(size) {
                    let mut part = chunk.to_vec();
                    if let Some(fill) = &fill {
                        part.resize(size, Some(fill.clone()));
                    }
                    chunks.push(Some(Renderer::owned_seq(part)));
                }
                Renderer::owned_seq(chunks)
            }
            BuiltIn::Min | BuiltIn::Max => {
                let mut best: Option<Val<'a>> = None;
                for item in items.into_iter().flatten() {
                    if !matches!(item, Val::Num(_) | Val::Date(_)) {
                        return Err(error(
                            ErrorKind::Evaluation,
                            span,
                            format!(
                                "`?{}` works on numbers and dates, but found {}",
                                call.builtin.name(),
                                item.type_name()
                            ),
                        ));
                    }
                    best = Some(match best {
                        None => item,
                        Some(current) => {
                            let ordering = self.order(&item, &current, span)?;
                            let better = if call.builtin == BuiltIn::Min {
                                ordering == Ordering::Less
                            } else {
                                ordering == Ordering::Greater
                            };
                            if better { item } else { current }
                        }
                    });
                }
                return Ok(best);
            }
            _ => return Ok(None),
        }))
    }

    /// Orders two numbers or two dates.
    fn order(&mut self, left: &Val<'a>, right: &Val<'a>, span: Span) -> R<Ordering> {
        match (left, right) {
            (Val::Num(l), Val::Num(r)) => {
                l.compare(r).map_err(|e| error(ErrorKind::Evaluation, span, e.to_string()))
            }
            (Val::Date(l), Val::Date(r)) => self.compare_dates(l, r, span),
            _ => Err(error(
                ErrorKind::Evaluation,
                span,
                format!("can't order {} and {}", left.type_name(), right.type_name()),
            )),
        }
    }

    /// `?sort` and `?sort_by(key)`: a stable sort of strings (en_US collation), numbers, dates
    /// or booleans; the items must all have one type.
    fn sort(
        &mut self,
        call: &'a BuiltInCall,
        items: Vec<Option<Val<'a>>>,
        span: Span,
    ) -> R<Val<'a>> {
        let keys: Vec<String> = if call.builtin == BuiltIn::SortBy {
            match self.arg(call, 0)? {
                Val::Str(s) => vec![s.into_owned()],
                Val::Seq(seq) => {
                    let len = seq.len().unwrap_or(0);
                    let mut keys = Vec::with_capacity(len);
                    for i in 0..len {
                        match seq.get(i) {
                            Some(Val::Str(s)) => keys.push(s.into_owned()),
                            _ => {
                                return Err(error(
                                    ErrorKind::Evaluation,
                                    call.args[0].span,
                                    "the keys of `?sort_by` must be strings",
                                ));
                            }
                        }
                    }
                    keys
                }
                other => {
                    return Err(self.expected(
                        call.args[0].span,
                        "`?sort_by`",
                        "a string or a sequence of strings",
                        &other,
                    ));
                }
            }
        } else {
            Vec::new()
        };
        let mut entries: Vec<(Val<'a>, Val<'a>)> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let Some(item) = item else {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!("`?{}` found a missing item at index {index}", call.builtin.name()),
                ));
            };
            let mut key = item.clone();
            for name in &keys {
                key = match &key {
                    Val::Hash(hash) => hash.get(name).ok_or_else(|| {
                        error(
                            ErrorKind::Evaluation,
                            span,
                            format!("`?sort_by` found item {index} without the key {name:?}"),
                        )
                    })?,
                    other => {
                        return Err(error(
                            ErrorKind::Evaluation,
                            span,
                            format!(
                                "`?sort_by` found {} at index {index}, expected a hash",
                                other.type_name()
                            ),
                        ));
                    }
                };
            }
            entries.push((key, item));
        }
        let Some((first, _)) = entries.first() else {
            return Ok(Renderer::owned_seq(Vec::new()));
        };
        let kind = sort_kind(first);
        for (index, (key, _)) in entries.iter().enumerate() {
            if kind.is_none() || sort_kind(key) != kind {
                let wanted = kind.unwrap_or("strings, numbers, dates or booleans");
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!(
                        "`?{}` found {} at index {index}; all items must be {wanted} like the first",
                        call.builtin.name(),
                        key.type_name()
                    ),
                ));
            }
        }
        if kind == Some("strings") && !self.settings.locale.is_english() {
            return Err(error(
                ErrorKind::Evaluation,
                span,
                format!(
                    "`?{}` orders strings by the collation of locale {}, which only exists here \
                     for English; sort under an English locale",
                    call.builtin.name(),
                    self.settings.locale.name()
                ),
            ));
        }
        if kind == Some("strings") {
            let strings: Vec<String> = entries
                .iter()
                .map(|(k, _)| match k {
                    Val::Str(s) => s.to_string(),
                    _ => String::new(),
                })
                .collect();
            if !text::collation_is_exact(strings.iter().map(String::as_str)) {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    "`?sort` cannot order these strings exactly as Java's en_US collation does; \
                     sort by a key made of ASCII letters, digits and punctuation",
                ));
            }
        }
        let mut failure = None;
        let mut indexed: Vec<(usize, (Val<'a>, Val<'a>))> =
            entries.into_iter().enumerate().collect();
        indexed.sort_by(|(ia, (a, _)), (ib, (b, _))| {
            let ordering = match (a, b) {
                (Val::Str(x), Val::Str(y)) => text::collate(x, y),
                (Val::Num(x), Val::Num(y)) => x.compare(y).unwrap_or_else(|e| {
                    failure.get_or_insert(e.to_string());
                    Ordering::Equal
                }),
                (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
                _ => Ordering::Equal,
            };
            ordering.then(ia.cmp(ib))
        });
        if let Some(message) = failure {
            return Err(error(ErrorKind::Evaluation, span, message));
        }
        Ok(Renderer::owned_seq(indexed.into_iter().map(|(_, (_, item))| Some(item)).collect()))
    }

    /// `?filter`, `?map`, `?take_while` and `?drop_while` with a lambda.
    pub(super) fn lambda_builtin(&mut self, call: &'a BuiltInCall, span: Span) -> R<Val<'a>> {
        let lambda_result = self.lambda_items(call, span, false)?;
        Ok(Renderer::owned_seq(lambda_result.items))
    }

    /// Runs the lambda of `call` over its target's items. With `stop_at_failure`, a lambda
    /// that fails on an item, or a `?map` lambda that gives a missing value, ends the run
    /// without an error, and the result contains the items before it and the failure.
    fn lambda_items(
        &mut self,
        call: &'a BuiltInCall,
        span: Span,
        stop_at_failure: bool,
    ) -> R<LambdaResult<'a>> {
        let target = self.eval(&call.target)?;
        let items = self.sequence_items(call, &target, span)?;
        let Some(ExprKind::Lambda(lambda)) = call.args.first().map(|a| &a.node) else {
            return Err(error(ErrorKind::Evaluation, span, "expected a lambda argument"));
        };
        let frame = lambda.frame as usize;
        let source_len = items.len();
        let mut result = Vec::new();
        let mut dropping = true;
        for (index, item) in items.into_iter().enumerate() {
            self.step(span)?;
            self.frames.truncate(frame);
            self.frames.push(Frame { item: item.clone(), ..Frame::default() });
            let outcome = if call.builtin == BuiltIn::Map {
                self.eval_opt(&lambda.body)
            } else {
                self.eval_condition(&lambda.body, "the lambda").map(|b| Some(Val::Bool(b)))
            };
            self.frames.truncate(frame);
            // FreeMarker fails when a `?map` lambda gives a missing value, at the item where
            // it happens.
            let outcome = match outcome {
                Ok(None) if call.builtin == BuiltIn::Map => Err(error(
                    ErrorKind::Evaluation,
                    lambda.body.span,
                    format!(
                        "the `?map` lambda gave a missing value for item {index}; give it a \
                         default with `!`, or remove missing items with `?filter` first"
                    ),
                )),
                other => other,
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(failure) if stop_at_failure && failure.kind != ErrorKind::Limit => {
                    return Ok(LambdaResult { items: result, source_len, failure: Some(failure) });
                }
                Err(failure) => return Err(failure),
            };
            match call.builtin {
                BuiltIn::Map => result.push(outcome),
                BuiltIn::Filter => {
                    if matches!(outcome, Some(Val::Bool(true))) {
                        result.push(item);
                    }
                }
                BuiltIn::TakeWhile => {
                    if !matches!(outcome, Some(Val::Bool(true))) {
                        break;
                    }
                    result.push(item);
                }
                _ => {
                    if dropping && matches!(outcome, Some(Val::Bool(true))) {
                        continue;
                    }
                    dropping = false;
                    result.push(item);
                }
            }
        }
        Ok(LambdaResult { items: result, source_len, failure: None })
    }

    /// Evaluates `?size`, `?first`, `?seq_contains` or `?seq_index_of` of a `?map` or
    /// `?filter` result; `Ok(None)` when the target is something else.
    ///
    /// FreeMarker computes such a result only as far as the consumer reads it, so a lambda
    /// that fails on a later item is no error. `?size` of a `?map` result never runs the
    /// lambda, and `?first` runs it on the first item only.
    pub(super) fn lazy_sequence_builtin(
        &mut self,
        call: &'a BuiltInCall,
        span: Span,
    ) -> R<Option<Option<Val<'a>>>> {
        let mut target = &call.target;
        while let ExprKind::Paren(inner) = &target.node {
            target = inner;
        }
        let ExprKind::BuiltIn(lambda_call) = &target.node else {
            return Ok(None);
        };
        if !matches!(lambda_call.builtin, BuiltIn::Map | BuiltIn::Filter) {
            return Ok(None);
        }
        let lambda_result = self.lambda_items(lambda_call, span, true)?;
        let Some(failure) = lambda_result.failure else {
            let target = Renderer::owned_seq(lambda_result.items);
            return self.sequence_builtin(call, &target, span);
        };
        let read = match call.builtin {
            BuiltIn::Size if lambda_call.builtin == BuiltIn::Map => {
                Some(number(lambda_result.source_len as i64))
            }
            // With no item before the failing one, `?first` reads that item.
            BuiltIn::First => match lambda_result.items.into_iter().next() {
                Some(first) => first,
                None => return Err(failure),
            },
            BuiltIn::SeqContains | BuiltIn::SeqIndexOf => {
                let found =
                    self.sequence_operation(call, lambda_result.items, span)?.and_then(|value| {
                        match &value {
                            Val::Bool(true) => Some(value),
                            Val::Num(n) if n.to_index() >= 0 => Some(value),
                            _ => None,
                        }
                    });
                if found.is_none() {
                    return Err(failure);
                }
                found
            }
            _ => return Err(failure),
        };
        Ok(Some(read))
    }
}

/// The items a lambda built-in produced, and the failure that stopped it early.
struct LambdaResult<'a> {
    items: Vec<Option<Val<'a>>>,
    /// The number of items of the sequence the lambda ran over.
    source_len: usize,
    failure: Option<Box<crate::template::eval::RenderError>>,
}

/// Returns the sort category of a value; `None` for values that cannot be sorted.
fn sort_kind(value: &Val<'_>) -> Option<&'static str> {
    match value {
        Val::Str(_) => Some("strings"),
        Val::Num(_) => Some("numbers"),
        Val::Date(_) => Some("dates"),
        Val::Bool(_) => Some("booleans"),
        _ => None,
    }
}

/// Returns true when two values have the same type and are equal, as `?seq_contains` decides.
fn strictly_equal(left: &Val<'_>, right: &Val<'_>) -> bool {
    match (left, right) {
        (Val::Str(l), Val::Str(r)) => crate::template::expr::strings_equal(l, r).unwrap_or(l == r),
        (Val::Num(l), Val::Num(r)) => l.compare(r).is_ok_and(|o| o == Ordering::Equal),
        (Val::Bool(l), Val::Bool(r)) => l == r,
        // FreeMarker compares the result of `?matches` as a boolean and one match as a string.
        (Val::Matches(m), other) | (other, Val::Matches(m)) => {
            strictly_equal(&Val::Bool(m.whole), other)
        }
        (Val::Match(m, i), other) | (other, Val::Match(m, i)) => {
            match m.matches.get(*i).and_then(|groups| groups.first()) {
                Some(Some(text)) => strictly_equal(&Val::Str(Cow::Borrowed(text)), other),
                _ => false,
            }
        }
        // `missing!` compares as an empty string, and `missing?if_exists` also as `false`.
        (Val::Nothing, Val::Bool(b)) | (Val::Bool(b), Val::Nothing) => !b,
        (Val::Empty | Val::Nothing, other) | (other, Val::Empty | Val::Nothing) => {
            matches!(other, Val::Str(_) | Val::Match(..) | Val::Empty | Val::Nothing)
                && strictly_equal(&Val::Str(Cow::Borrowed("")), other)
        }
        _ => false,
    }
}
