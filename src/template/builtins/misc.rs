//! Built-ins for missing values, loop variables, booleans and type tests.

use std::borrow::Cow;

use super::BuiltIn;
use crate::template::ast::BuiltInCall;
use crate::template::error::ErrorKind;
use crate::template::eval::{R, Renderer, error};
use crate::template::number::Number;
use crate::template::token::Span;
use crate::template::val::{Seq, Val};

impl<'a> Renderer<'a> {
    /// `?has_content`, `?default`, `?exists` and `?if_exists`, which accept a missing target.
    pub(super) fn existence_builtin(&mut self, call: &'a BuiltInCall) -> R<Option<Val<'a>>> {
        let target = self.eval_guarded(&call.target)?;
        Ok(Some(match call.builtin {
            BuiltIn::HasContent => Val::Bool(target.as_ref().is_some_and(|v| !is_empty(v))),
            BuiltIn::Exists => Val::Bool(target.is_some()),
            BuiltIn::IfExists => target.unwrap_or(Val::Nothing),
            _ => {
                // FreeMarker evaluates every argument before the call, so an error in an
                // argument fails the render even when the target exists.
                let mut first = None;
                for arg in &call.args {
                    let value = self.eval_opt(arg)?;
                    if first.is_none() {
                        first = value;
                    }
                }
                return Ok(target.or(first));
            }
        }))
    }

    /// `?index`, `?counter`, `?has_next` and the other built-ins of loop variables.
    pub(super) fn loop_variable_builtin(
        &mut self,
        call: &'a BuiltInCall,
        span: Span,
    ) -> R<Val<'a>> {
        let frame = call.frame.and_then(|f| self.frames.get(f as usize)).ok_or_else(|| {
            error(ErrorKind::Evaluation, span, "the loop variable is not in scope here")
        })?;
        let index = frame.index;
        let has_next = frame.has_next;
        let odd = index % 2 == 0;
        Ok(match call.builtin {
            BuiltIn::Index => number(index as i64),
            BuiltIn::Counter => number(index as i64 + 1),
            BuiltIn::HasNext => Val::Bool(has_next),
            BuiltIn::IsFirst => Val::Bool(index == 0),
            BuiltIn::IsLast => Val::Bool(!has_next),
            BuiltIn::ItemParity => Val::Str(Cow::Borrowed(if odd { "odd" } else { "even" })),
            BuiltIn::ItemParityCap => Val::Str(Cow::Borrowed(if odd { "Odd" } else { "Even" })),
            BuiltIn::IsEvenItem => Val::Bool(!odd),
            BuiltIn::IsOddItem => Val::Bool(odd),
            _ => {
                let choice = index % call.args.len().max(1);
                self.arg(call, choice)?
            }
        })
    }

    /// `?then(a, b)`: evaluates only the chosen argument.
    pub(super) fn then_builtin(&mut self, call: &'a BuiltInCall, target: &Val<'a>) -> R<Val<'a>> {
        let condition = match target {
            Val::Bool(b) => *b,
            Val::Matches(m) => m.whole,
            Val::Nothing => false,
            _ => return Err(self.wrong_target(call, "a boolean", target)),
        };
        self.arg(call, if condition { 0 } else { 1 })
    }

    /// `?switch(case1, result1, ..., default)`: compares like `==`, evaluating arguments only
    /// as far as needed.
    pub(super) fn switch_builtin(
        &mut self,
        call: &'a BuiltInCall,
        target: Val<'a>,
        span: Span,
    ) -> R<Val<'a>> {
        let pairs = call.args.len() / 2;
        for pair in 0..pairs {
            let case = self.arg(call, pair * 2)?;
            let case_span = call.args[pair * 2].span;
            if self.values_equal(&target, &case, call.target.span, case_span)? {
                return self.arg(call, pair * 2 + 1);
            }
        }
        if call.args.len() % 2 == 1 {
            return self.arg(call, call.args.len() - 1);
        }
        Err(error(
            ErrorKind::Evaluation,
            span,
            "the value matched no case of `?switch` and there is no default; add a last \
             argument for the default",
        ))
    }

    /// Evaluates the `?is_...` type tests; `None` for other built-ins.
    pub(in crate::template) fn type_test_builtin(
        &self,
        builtin: BuiltIn,
        target: &Val<'a>,
    ) -> Option<bool> {
        let unbounded = matches!(target, Val::Seq(Seq::Range(r)) if r.len.is_none());
        let collection = matches!(target, Val::Seq(Seq::Keys(_) | Seq::Values(_))) || unbounded;
        Some(match builtin {
            BuiltIn::IsString => target.is_string(),
            BuiltIn::IsNumber => matches!(target, Val::Num(_)),
            BuiltIn::IsBoolean => matches!(target, Val::Bool(_) | Val::Matches(_) | Val::Nothing),
            BuiltIn::IsHash | BuiltIn::IsHashEx => target.is_hash(),
            BuiltIn::IsSequence | BuiltIn::IsIndexable => target.is_sequence(),
            BuiltIn::IsEnumerable => target.is_sequence() || collection,
            BuiltIn::IsCollection => collection,
            BuiltIn::IsCollectionEx => collection && !unbounded,
            BuiltIn::IsDate | BuiltIn::IsDateLike => matches!(target, Val::Date(_)),
            BuiltIn::IsDateOnly
            | BuiltIn::IsTime
            | BuiltIn::IsDateTime
            | BuiltIn::IsUnknownDateLike => self.date_kind_test(builtin, target),
            BuiltIn::IsMethod
            | BuiltIn::IsMacro
            | BuiltIn::IsDirective
            | BuiltIn::IsTransform
            | BuiltIn::IsNode
            | BuiltIn::IsMarkupOutput => false,
            _ => return None,
        })
    }
}

/// Returns true for values `?has_content` calls empty: `""`, an empty sequence or hash, and
/// the empty value of `missing!`.
pub fn is_empty(value: &Val<'_>) -> bool {
    match value {
        Val::Str(s) => s.is_empty(),
        Val::Seq(seq) => seq.is_empty(),
        Val::Hash(hash) => hash.is_empty(),
        Val::Empty | Val::Nothing => true,
        Val::Matches(m) => m.matches.is_empty(),
        Val::Match(..) | Val::Num(_) | Val::Bool(_) | Val::Date(_) => false,
    }
}

/// Returns `n` as a number value.
pub fn number<'a>(n: i64) -> Val<'a> {
    Val::Num(Cow::Owned(Number::from(n)))
}
