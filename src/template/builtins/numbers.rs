//! Built-ins for numbers, and `?c` for numbers and booleans.

use std::borrow::Cow;

use super::BuiltIn;
use crate::template::ast::BuiltInCall;
use crate::template::error::ErrorKind;
use crate::template::eval::{R, Renderer, error};
use crate::template::token::Span;
use crate::template::val::Val;

impl<'a> Renderer<'a> {
    /// Evaluates the number built-ins; `None` for other built-ins.
    pub(super) fn number_builtin(
        &mut self,
        call: &'a BuiltInCall,
        target: &Val<'a>,
        span: Span,
    ) -> R<Option<Val<'a>>> {
        let builtin = call.builtin;
        if builtin == BuiltIn::C {
            let mut out = String::new();
            match target {
                Val::Num(n) => n.write_computer(&mut out),
                Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Val::Matches(m) => out.push_str(if m.whole { "true" } else { "false" }),
                Val::Nothing => out.push_str("false"),
                other => return Err(self.wrong_target(call, "a number or a boolean", other)),
            }
            return Ok(Some(Val::Str(Cow::Owned(out))));
        }
        if !matches!(
            builtin,
            BuiltIn::Round
                | BuiltIn::Floor
                | BuiltIn::Ceiling
                | BuiltIn::Int
                | BuiltIn::Abs
                | BuiltIn::IsInfinite
                | BuiltIn::IsNan
        ) {
            return Ok(None);
        }
        let Val::Num(n) = target else {
            return Err(self.wrong_target(call, "a number", target));
        };
        let failed = |e: crate::template::number::NumberError| {
            error(ErrorKind::Evaluation, span, e.to_string())
        };
        let result = match builtin {
            BuiltIn::Round => n.round().map_err(failed)?,
            BuiltIn::Floor => n.floor().map_err(failed)?,
            BuiltIn::Ceiling => n.ceiling().map_err(failed)?,
            BuiltIn::Int => n.to_int(),
            BuiltIn::Abs => n.abs(),
            BuiltIn::IsInfinite => return Ok(Some(Val::Bool(n.is_infinite()))),
            _ => return Ok(Some(Val::Bool(n.is_nan()))),
        };
        Ok(Some(Val::Num(Cow::Owned(result))))
    }
}
