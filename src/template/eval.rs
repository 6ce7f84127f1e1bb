//! Renders a compiled template: walks the nodes and writes into the caller's buffer.
//!
//! Expressions are evaluated in `expr.rs` and built-ins in `builtins/`; this file holds the
//! render state, the directives and the limits on a render.

use std::borrow::Cow;
use std::rc::Rc;
use std::time::Instant;

use super::Limits;
use super::ast::{
    ArithOp, AssignOp, AssignTarget, Assignment, Binding, DataName, Expr, ExprKind, Items, List,
    Node, NumberDigits, Setting, Switch,
};
use super::error::{ErrorKind, TemplateError};
use super::expr::Peek;
use super::number::Number;
use super::parser::{DATA_NAMES, Program};
use super::settings::Settings;
use super::token::Span;
use super::val::{Hash, OwnedMap, Seq, Val};
use super::value::Value;

/// An error raised while rendering, before it is given the template's name and source.
#[derive(Debug)]
pub struct RenderError {
    /// The error's class.
    pub kind: ErrorKind,
    /// Where in the template it happened.
    pub span: Span,
    /// The message; `None` for a missing value, whose message names the expression at `span`.
    pub detail: Option<String>,
}

/// The result of rendering or evaluating; errors are boxed to keep results small.
pub type R<T> = Result<T, Box<RenderError>>;

/// Creates an error of `kind` at `span`.
pub fn error(kind: ErrorKind, span: Span, detail: impl Into<String>) -> Box<RenderError> {
    Box::new(RenderError { kind, span, detail: Some(detail.into()) })
}

/// What a rendered node asks its enclosing directives to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Carry on.
    Normal,
    /// `<#break>`: leave the enclosing loop or `#switch`.
    Break,
    /// `<#continue>`: go on with the next item of the enclosing loop.
    Continue,
}

/// The state of one loop or lambda while its body runs.
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    /// The current item, or the hash value for `as k, v`; `None` when missing.
    pub item: Option<Val<'a>>,
    /// The current hash key for `as k, v`.
    pub key: Option<Val<'a>>,
    /// 0-based index of the current item.
    pub index: usize,
    /// Whether another item follows.
    pub has_next: bool,
    /// The listed value of a `<#list>` without `as`, for its `<#items>`.
    pub listed: Option<Val<'a>>,
}

/// The state of one render.
pub struct Renderer<'a> {
    /// The template's name, for errors.
    pub name: &'a str,
    /// The template's source, for errors.
    pub source: &'a str,
    /// The caller's top-level variables.
    pub vars: &'a [(&'a str, &'a Value)],
    /// The values of the program's data-model names, looked up when the render starts.
    data: [Option<&'a Value>; DATA_NAMES],
    /// How many entries of `data` are looked up.
    data_len: usize,
    /// Values of `<#assign>`ed variables by slot, followed by the values of `<#global>`
    /// variables by slot (see [`Renderer::global`]), in one allocation.
    pub assigned: Vec<Option<Val<'a>>>,
    /// Loop and lambda frames, innermost last.
    pub frames: Vec<Frame<'a>>,
    /// Settings changed by `<#setting>`.
    pub settings: Settings,
    /// The limits of this render.
    pub limits: Limits,
    /// Steps taken so far.
    pub steps: u64,
    /// Loop iterations and sequence items processed so far.
    pub iterations: u64,
    /// Bytes of strings built or copied so far, output excluded.
    pub built_bytes: usize,
    /// When the render started, for the time limit.
    pub started: Instant,
    /// Length of the output buffer when the render started.
    pub out_start: usize,
    /// Current nesting of node lists and expressions, for checking the stack.
    pub depth: u32,
}

impl<'a> Renderer<'a> {
    /// Creates the state for rendering `program`, which started at `started`.
    pub fn new(
        name: &'a str,
        source: &'a str,
        program: &'a Program,
        vars: &'a [(&'a str, &'a Value)],
        limits: Limits,
        out_start: usize,
        started: Instant,
    ) -> Renderer<'a> {
        let mut data = [None; DATA_NAMES];
        for (slot, wanted) in data.iter_mut().zip(&program.data_names) {
            *slot = vars.iter().find(|(n, _)| *n == wanted).map(|(_, value)| *value);
        }
        Renderer {
            name,
            source,
            vars,
            data,
            data_len: program.data_names.len().min(DATA_NAMES),
            assigned: vec![None; 2 * program.slots.len()],
            frames: Vec::with_capacity(program.max_frames),
            settings: Settings::default(),
            limits,
            steps: 0,
            iterations: 0,
            built_bytes: 0,
            started,
            out_start,
            depth: 0,
        }
    }

    /// Returns the value of the `<#global>` variable in `slot`.
    #[inline]
    pub fn global(&self, slot: usize) -> &Option<Val<'a>> {
        &self.assigned[self.assigned.len() / 2 + slot]
    }

    /// Runs `f` one nesting level deeper, checking every fourth level that enough stack
    /// remains (see [`grow_stack`](super::parser::grow_stack)).
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.depth += 1;
        let result =
            if self.depth % 4 == 0 { super::parser::grow_stack(|| f(self)) } else { f(self) };
        self.depth -= 1;
        result
    }

    /// Converts a render error into a template error pointing into the source.
    pub fn to_template_error(&self, error: &RenderError) -> TemplateError {
        let detail = match &error.detail {
            Some(detail) => detail.clone(),
            None => {
                let shown = self.source.get(error.span.range()).unwrap_or("value");
                let range = error.span.range();
                match self.source.get(range.start..chain_end(self.source, range.end)) {
                    // `!` and `??` after a later step cover only that step.
                    Some(chain) if chain.len() > shown.len() => format!(
                        "`{shown}` is missing or null, so `{chain}` cannot be read; give the \
                         whole chain a default with `({chain})!\"...\"` or test it with \
                         `({chain})??`"
                    ),
                    _ => format!(
                        "`{shown}` is missing or null; give a default with `{shown}!\"...\"` or \
                         test it with `{shown}??`"
                    ),
                }
            }
        };
        TemplateError::new(error.kind, self.name, self.source, error.span.range(), detail)
    }

    /// Returns the error for a missing value at `span`.
    pub fn missing(&self, span: Span) -> Box<RenderError> {
        Box::new(RenderError { kind: ErrorKind::MissingValue, span, detail: None })
    }

    /// Counts one step of work and fails when the step limit or, checked every 1,024 steps,
    /// the time limit is exceeded.
    #[inline]
    pub fn step(&mut self, span: Span) -> R<()> {
        self.steps += 1;
        if self.steps % 1024 == 0 || self.steps > self.limits.max_steps {
            return self.step_checks(span);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn step_checks(&self, span: Span) -> R<()> {
        if self.steps % 1024 == 0 {
            self.check_time(span)?;
        }
        if self.steps > self.limits.max_steps {
            return Err(error(
                ErrorKind::Limit,
                span,
                format!(
                    "render took more than {} evaluation steps; simplify the template",
                    self.limits.max_steps
                ),
            ));
        }
        Ok(())
    }

    /// Counts `count` items of loop or sequence work and fails past the iteration limit or,
    /// checked every 1,024 items, the time limit.
    #[inline]
    pub fn iterate(&mut self, span: Span, count: u64) -> R<()> {
        let before = self.iterations;
        self.iterations = self.iterations.saturating_add(count);
        if self.iterations / 1024 != before / 1024 || self.iterations > self.limits.max_iterations {
            return self.iteration_checks(span, before);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn iteration_checks(&self, span: Span, before: u64) -> R<()> {
        if self.iterations / 1024 != before / 1024 {
            self.check_time(span)?;
        }
        if self.iterations > self.limits.max_iterations {
            return Err(error(
                ErrorKind::Limit,
                span,
                format!(
                    "render went through more than {} loop iterations and sequence items; \
                     bound the loop with `<#break>` or slice the sequence",
                    self.limits.max_iterations
                ),
            ));
        }
        Ok(())
    }

    fn check_time(&self, span: Span) -> R<()> {
        if self.started.elapsed() > self.limits.max_render_time {
            return Err(error(
                ErrorKind::Limit,
                span,
                format!(
                    "render took longer than {} ms; simplify the template",
                    self.limits.max_render_time.as_millis()
                ),
            ));
        }
        Ok(())
    }

    /// Fails when building `bytes` more bytes of strings would exceed the built-bytes limit.
    /// Called before an operation whose result could be much larger than its operands.
    pub fn check_room(&self, span: Span, bytes: usize) -> R<()> {
        if self.built_bytes.saturating_add(bytes) > self.limits.max_built_bytes {
            return Err(self.built_bytes_error(span));
        }
        Ok(())
    }

    /// Counts `bytes` of strings built or copied and fails past the built-bytes limit.
    #[inline]
    pub fn charge_bytes(&mut self, span: Span, bytes: usize) -> R<()> {
        self.built_bytes = self.built_bytes.saturating_add(bytes);
        if self.built_bytes > self.limits.max_built_bytes {
            return Err(self.built_bytes_error(span));
        }
        Ok(())
    }

    /// Counts the bytes a clone of `value` copies: only owned strings are copied, because
    /// built sequences and hashes are shared behind `Rc` and data values are borrowed.
    #[inline]
    pub fn charge_copy(&mut self, span: Span, value: Option<&Val<'a>>) -> R<()> {
        match value {
            Some(Val::Str(Cow::Owned(text))) => self.charge_bytes(span, text.len()),
            _ => Ok(()),
        }
    }

    #[cold]
    #[inline(never)]
    fn built_bytes_error(&self, span: Span) -> Box<RenderError> {
        error(
            ErrorKind::Limit,
            span,
            format!(
                "render built or copied more than {} bytes of strings; avoid growing strings \
                 in loops and write text to the output directly",
                self.limits.max_built_bytes
            ),
        )
    }

    #[inline]
    fn check_output(&self, out: &str, span: Span) -> R<()> {
        if out.len() - self.out_start > self.limits.max_output_bytes {
            return Err(self.output_error(span));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn output_error(&self, span: Span) -> Box<RenderError> {
        error(
            ErrorKind::Limit,
            span,
            format!(
                "output grew beyond {} bytes; check the loops that produce it",
                self.limits.max_output_bytes
            ),
        )
    }

    /// Renders `nodes` into `out`.
    pub fn render_nodes(&mut self, nodes: &'a [Node], out: &mut String) -> R<Flow> {
        self.nested(|renderer| renderer.render_sequence(nodes, out))
    }

    fn render_sequence(&mut self, nodes: &'a [Node], out: &mut String) -> R<Flow> {
        // Text and interpolations, most of a template, are rendered here without the large
        // frame of `render_node`.
        for node in nodes {
            match node {
                Node::Text(text) => {
                    out.push_str(text);
                    self.check_output(out, Span::default())?;
                }
                Node::Interp(expr) => {
                    self.step(expr.span)?;
                    self.write_interpolation(expr, out)?;
                    self.check_output(out, expr.span)?;
                }
                Node::If(branches) => {
                    let flow = self.render_if(branches, out)?;
                    if flow != Flow::Normal {
                        return Ok(flow);
                    }
                }
                Node::Assign(assignments) => {
                    for assignment in assignments {
                        self.assign(assignment)?;
                    }
                }
                _ => {
                    let flow = self.render_node(node, out)?;
                    if flow != Flow::Normal {
                        return Ok(flow);
                    }
                }
            }
        }
        Ok(Flow::Normal)
    }

    /// Renders the first branch of an `<#if>` whose condition is true.
    #[inline(never)]
    fn render_if(
        &mut self,
        branches: &'a [(Option<Expr>, Vec<Node>)],
        out: &mut String,
    ) -> R<Flow> {
        for (condition, body) in branches {
            let chosen = match condition {
                None => true,
                Some(condition) => {
                    self.step(condition.span)?;
                    self.eval_condition(condition, "the `#if` condition")?
                }
            };
            if chosen {
                return self.render_nodes(body, out);
            }
        }
        Ok(Flow::Normal)
    }

    #[inline(never)]
    fn render_node(&mut self, node: &'a Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(text) => {
                out.push_str(text);
                if out.len() - self.out_start > self.limits.max_output_bytes {
                    self.check_output(out, Span::default())?;
                }
            }
            Node::Interp(expr) => {
                self.step(expr.span)?;
                self.write_interpolation(expr, out)?;
                self.check_output(out, expr.span)?;
            }
            Node::HashInterp(expr, digits) => {
                self.step(expr.span)?;
                self.write_hash_interpolation(expr, *digits, out)?;
                self.check_output(out, expr.span)?;
            }
            Node::If(branches) => return self.render_if(branches, out),
            Node::List(list) => return self.render_list(list, out),
            Node::Items(items) => return self.render_items(items, out),
            Node::Sep { frame, body } => {
                if self.frames.get(*frame as usize).is_some_and(|f| f.has_next) {
                    return self.render_nodes(body, out);
                }
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Assign(assignments) => {
                for assignment in assignments {
                    self.assign(assignment)?;
                }
            }
            Node::Capture { target, body } => {
                let start = out.len();
                let flow = self.render_nodes(body, out)?;
                let captured = out.split_off(start);
                self.store(target, Val::Str(Cow::Owned(captured)));
                return Ok(flow);
            }
            Node::Switch(switch) => return self.render_switch(switch, out),
            Node::Setting(setting, value) => self.apply_setting(*setting, value)?,
            Node::Stop(message, span) => {
                let detail = match message {
                    Some(message) => {
                        let value = self.eval(message)?;
                        self.to_text(&value, message.span)?.into_owned()
                    }
                    None => "the template stopped the render with `<#stop>`".to_owned(),
                };
                return Err(error(ErrorKind::Stop, *span, detail));
            }
            Node::Compress(body) => {
                let start = out.len();
                let flow = self.render_nodes(body, out)?;
                let compressed = compress(&out[start..]);
                out.truncate(start);
                out.push_str(&compressed);
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Evaluates a condition that must be a boolean.
    pub fn eval_condition(&mut self, condition: &'a Expr, context: &str) -> R<bool> {
        // Operators that always give a boolean are evaluated here without building a value.
        let inner = strip_parentheses(condition);
        match &inner.node {
            ExprKind::And(left, right) => {
                if !self.operand_condition(left, "`&&`")? {
                    return Ok(false);
                }
                self.operand_condition(right, "`&&`")
            }
            ExprKind::Or(left, right) => {
                if self.operand_condition(left, "`||`")? {
                    return Ok(true);
                }
                self.operand_condition(right, "`||`")
            }
            ExprKind::Not(operand) => Ok(!self.operand_condition(operand, "`!`")?),
            _ => match self.simple_condition(inner) {
                Some(result) => Ok(result),
                None => self.general_condition(condition, context),
            },
        }
    }

    /// Evaluates an operand of `&&`, `||` or `!` one nesting level deeper.
    fn operand_condition(&mut self, operand: &'a Expr, context: &str) -> R<bool> {
        let inner = strip_parentheses(operand);
        if !matches!(inner.node, ExprKind::And(..) | ExprKind::Or(..) | ExprKind::Not(_)) {
            if let Some(result) = self.simple_condition(inner) {
                return Ok(result);
            }
        }
        self.nested(|renderer| renderer.eval_condition(operand, context))
    }

    /// Evaluates a condition that is not `&&`, `||` or `!` and that
    /// [`Renderer::simple_condition`] could not decide.
    #[inline(never)]
    fn general_condition(&mut self, condition: &'a Expr, context: &str) -> R<bool> {
        let inner = strip_parentheses(condition);
        match &inner.node {
            ExprKind::Exists(value) => self.nested(|renderer| renderer.exists(value)),
            ExprKind::Compare(op, left, right) => {
                let span = inner.span;
                self.nested(|renderer| renderer.eval_compare(*op, left, right, span))
            }
            _ => self.eval_boolean(condition, context),
        }
    }

    /// Decides a `??` test, a type test or a comparison of two numbers read in place. Returns
    /// `None` when the general evaluation must decide, and that evaluation also raises any
    /// error. `inner` has no parentheses around it.
    fn simple_condition(&self, inner: &'a Expr) -> Option<bool> {
        match &inner.node {
            ExprKind::Exists(value) => match self.peek(value) {
                Peek::Data(_) | Peek::Held(_) => Some(true),
                Peek::Missing => Some(false),
                Peek::Slow => None,
            },
            ExprKind::BuiltIn(call) if call.builtin.is_type_test() => {
                match self.peek(&call.target) {
                    Peek::Data(value) => {
                        Val::from_data(value).and_then(|v| self.type_test_builtin(call.builtin, &v))
                    }
                    Peek::Held(value) => self.type_test_builtin(call.builtin, value),
                    Peek::Missing | Peek::Slow => None,
                }
            }
            ExprKind::Compare(op, left, right) => {
                let (l, r) = (self.peek_number(left)?, self.peek_number(right)?);
                l.compare(r).ok().map(|ordering| op.satisfied_by(ordering))
            }
            _ => None,
        }
    }

    /// Evaluates a condition the fast cases of [`Renderer::eval_condition`] do not cover.
    #[inline(never)]
    fn eval_boolean(&mut self, condition: &'a Expr, context: &str) -> R<bool> {
        match self.eval(condition)? {
            Val::Bool(b) => Ok(b),
            Val::Matches(m) => Ok(m.whole),
            Val::Nothing => Ok(false),
            other => Err(self.expected(condition.span, context, "a boolean", &other)),
        }
    }

    /// Returns the type error for `found` where `wanted` was expected.
    pub fn expected(
        &self,
        span: Span,
        context: &str,
        wanted: &str,
        found: &Val<'_>,
    ) -> Box<RenderError> {
        let shown = self.source.get(span.range()).unwrap_or("value");
        error(
            ErrorKind::Type,
            span,
            format!("`{shown}` is {} where {context} expects {wanted}", found.type_name()),
        )
    }

    #[inline(never)]
    fn write_interpolation(&mut self, expr: &'a Expr, out: &mut String) -> R<()> {
        // A string or number read in place is written without building a value.
        let found: Option<Result<&str, &Number>> = match self.peek(expr) {
            Peek::Data(Value::String(s)) => Some(Ok(s)),
            Peek::Held(Val::Str(Cow::Borrowed(s))) => Some(Ok(s)),
            Peek::Data(Value::Number(n)) => Some(Err(n)),
            Peek::Held(Val::Num(n)) => Some(Err(n)),
            _ => None,
        };
        match found {
            Some(Ok(text)) => {
                out.push_str(text);
                return Ok(());
            }
            Some(Err(number)) => {
                return self
                    .settings
                    .write_number(number, out)
                    .map_err(|e| error(ErrorKind::Evaluation, expr.span, e));
            }
            None => {}
        }
        if self.write_builtin_directly(expr, out)? {
            return Ok(());
        }
        let value = self.eval(expr)?;
        self.write_text(&value, expr.span, out)
    }

    /// Appends `value` as `${...}` prints it: strings as they are, numbers in `number_format`,
    /// booleans only with a non-default `boolean_format`.
    pub fn write_text(&mut self, value: &Val<'a>, span: Span, out: &mut String) -> R<()> {
        match value {
            Val::Str(s) => out.push_str(s),
            Val::Num(n) => self
                .settings
                .write_number(n, out)
                .map_err(|e| error(ErrorKind::Evaluation, span, e))?,
            Val::Empty | Val::Nothing => {}
            Val::Match(matches, index) => {
                if let Some(Some(text)) = matches.matches.get(*index).and_then(|m| m.first()) {
                    out.push_str(text);
                }
            }
            Val::Bool(b) => match self.settings.boolean_text(*b) {
                Some(text) => out.push_str(text),
                None => return Err(boolean_to_string(span)),
            },
            Val::Date(date) => self.write_date(date, span, out)?,
            // A match result is also a boolean: whether the whole string matched.
            Val::Matches(m) => match self.settings.boolean_text(m.whole) {
                Some(text) => out.push_str(text),
                None => return Err(boolean_to_string(span)),
            },
            Val::Seq(_) | Val::Hash(_) => {
                return Err(self.expected(
                    span,
                    "`${...}`",
                    "a string, number or date (use `?join(\", \")` for a sequence, or list a \
                     hash with `<#list h as k, v>`)",
                    value,
                ));
            }
        }
        Ok(())
    }

    /// Converts `value` to text as string built-ins and `+` do.
    pub fn to_text<'v>(&mut self, value: &'v Val<'a>, span: Span) -> R<Cow<'v, str>> {
        match value {
            Val::Str(s) => Ok(Cow::Borrowed(s.as_ref())),
            Val::Empty | Val::Nothing => Ok(Cow::Borrowed("")),
            _ => {
                let mut out = String::new();
                self.write_text(value, span, &mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }

    fn write_hash_interpolation(
        &mut self,
        expr: &'a Expr,
        digits: NumberDigits,
        out: &mut String,
    ) -> R<()> {
        let value = self.eval(expr)?;
        let Val::Num(n) = &value else {
            return Err(self.expected(expr.span, "`#{...}`", "a number", &value));
        };
        self.settings
            .write_fixed_number(n, digits, out)
            .map_err(|e| error(ErrorKind::Evaluation, expr.span, e))
    }

    fn render_list(&mut self, list: &'a List, out: &mut String) -> R<Flow> {
        self.step(list.source.span)?;
        let value = self.eval(&list.source).map_err(|mut e| {
            if e.kind == ErrorKind::MissingValue
                && e.detail.is_none()
                && e.span == list.source.span
            {
                let shown = self.source.get(e.span.range()).unwrap_or("the listed value");
                e.detail = Some(format!(
                    "`{shown}` is missing or null; list nothing for it with `<#list {shown}! as \
                     x>` or test it with `{shown}??`"
                ));
            }
            e
        })?;
        let frame = list.frame as usize;
        let Some(binding) = list.binding else {
            // `<#list xs>...<#items as x>...</#items>...</#list>`: the body runs once.
            if self.listable_len(&value, list.source.span, None)? == Some(0) {
                return match &list.else_body {
                    Some(body) => self.render_nodes(body, out),
                    None => Ok(Flow::Normal),
                };
            }
            self.frames.truncate(frame);
            self.frames.push(Frame { listed: Some(value), ..Frame::default() });
            let flow = self.render_nodes(&list.body, out);
            self.frames.truncate(frame);
            return flow.map(|f| if f == Flow::Break { Flow::Break } else { Flow::Normal });
        };
        let count =
            self.iterate_value(&value, binding, list.source.span, frame, &list.body, out)?;
        if count == 0 {
            if let Some(body) = &list.else_body {
                return self.render_nodes(body, out);
            }
        }
        Ok(Flow::Normal)
    }

    fn render_items(&mut self, items: &'a Items, out: &mut String) -> R<Flow> {
        let listed = self.frames.get(items.list_frame as usize).and_then(|f| f.listed.clone());
        let Some(value) = listed else {
            return Ok(Flow::Normal);
        };
        let span = Span::default();
        self.iterate_value(&value, items.binding, span, items.frame as usize, &items.body, out)?;
        Ok(Flow::Normal)
    }

    /// Returns the number of items `value` lists, checking that it can be listed as `binding`
    /// asks; `None` for a range without end.
    fn listable_len(
        &self,
        value: &Val<'a>,
        span: Span,
        binding: Option<Binding>,
    ) -> R<Option<usize>> {
        match (value, binding) {
            (Val::Empty | Val::Nothing, _) => Ok(Some(0)),
            (Val::Seq(seq), None | Some(Binding::Item)) => Ok(seq.len()),
            (Val::Matches(m), None | Some(Binding::Item)) => Ok(Some(m.matches.len())),
            (Val::Hash(hash), None | Some(Binding::KeyValue)) => Ok(Some(hash.len())),
            (Val::Hash(_), Some(Binding::Item)) => Err(error(
                ErrorKind::Type,
                span,
                "the listed value is a hash, which needs two loop variables: write \
                 `<#list h as key, value>`",
            )),
            (Val::Seq(_) | Val::Matches(_), Some(Binding::KeyValue)) => Err(error(
                ErrorKind::Type,
                span,
                "the listed value is a sequence, which takes one loop variable: write \
                 `<#list xs as x>`",
            )),
            _ => Err(self.expected(span, "`<#list>`", "a sequence or a hash", value)),
        }
    }

    /// Runs `body` once per item of `value` in frame `frame`; returns the number of items.
    fn iterate_value(
        &mut self,
        value: &Val<'a>,
        binding: Binding,
        span: Span,
        frame: usize,
        body: &'a [Node],
        out: &mut String,
    ) -> R<usize> {
        let len = self.listable_len(value, span, Some(binding))?;
        if len == Some(0) {
            return Ok(0);
        }
        self.frames.truncate(frame);
        self.frames.push(Frame::default());
        let result = self.iterate_items(value, len, span, frame, body, out);
        self.frames.truncate(frame);
        result
    }

    fn iterate_items(
        &mut self,
        value: &Val<'a>,
        len: Option<usize>,
        span: Span,
        frame: usize,
        body: &'a [Node],
        out: &mut String,
    ) -> R<usize> {
        if let Val::Hash(Hash::Data(map)) = value {
            return self.iterate_data_hash(map, span, frame, body, out);
        }
        let mut index = 0;
        loop {
            if len.is_some_and(|n| index >= n) {
                break;
            }
            self.iterate(span, 1)?;
            self.step(span)?;
            let (key, item) = match value {
                Val::Seq(seq) => {
                    let item = seq.get(index);
                    self.charge_copy(span, item.as_ref())?;
                    (None, item)
                }
                Val::Matches(m) => (None, Some(Val::Match(Rc::clone(m), index))),
                Val::Hash(hash) => match hash.entry(index) {
                    Some((key, item)) => (Some(Val::Str(key)), item),
                    None => break,
                },
                _ => break,
            };
            let current = &mut self.frames[frame];
            current.item = item;
            current.key = key;
            current.index = index;
            current.has_next = len.is_none_or(|n| index + 1 < n);
            match self.render_nodes(body, out)? {
                Flow::Break => return Ok(index + 1),
                Flow::Normal | Flow::Continue => {}
            }
            index += 1;
        }
        Ok(index)
    }

    /// Runs `body` once per entry of a data hash, as [`Renderer::iterate_items`] does.
    fn iterate_data_hash(
        &mut self,
        map: &'a super::value::Map,
        span: Span,
        frame: usize,
        body: &'a [Node],
        out: &mut String,
    ) -> R<usize> {
        let len = map.len();
        for (index, (key, item)) in map.iter().enumerate() {
            self.iterate(span, 1)?;
            self.step(span)?;
            let current = &mut self.frames[frame];
            // Only this loop stores into its frame, and what it stores borrows from the data,
            // so the values it replaces own nothing and need no drop.
            std::mem::forget(std::mem::replace(&mut current.item, Val::from_data(item)));
            std::mem::forget(current.key.replace(Val::Str(Cow::Borrowed(key.as_str()))));
            current.index = index;
            current.has_next = index + 1 < len;
            if self.render_nodes(body, out)? == Flow::Break {
                return Ok(index + 1);
            }
        }
        Ok(len)
    }

    fn render_switch(&mut self, switch: &'a Switch, out: &mut String) -> R<Flow> {
        self.step(switch.value.span)?;
        // FreeMarker compares the value with each case only after evaluating the case, so a
        // missing value is an error at the first case and none at all without cases.
        let value = self.eval_opt(&switch.value)?;
        let mut matched = false;
        let mut default = None;
        for (condition, body) in &switch.cases {
            let run = match condition {
                _ if matched => true,
                None => {
                    default = Some(body);
                    false
                }
                Some(condition) => {
                    let candidate = self.eval_opt(condition)?;
                    let Some(value) = &value else {
                        return Err(self.missing(switch.value.span));
                    };
                    let Some(candidate) = candidate else {
                        return Err(self.missing(condition.span));
                    };
                    self.values_equal(value, &candidate, switch.value.span, condition.span)?
                }
            };
            if run {
                matched = true;
                // In FreeMarker 2.3.31 `<#continue>` inside `<#switch>` ends the switch like
                // `<#break>`, and the loop body goes on after `</#switch>`.
                match self.render_nodes(body, out)? {
                    Flow::Break | Flow::Continue => return Ok(Flow::Normal),
                    Flow::Normal => {}
                }
            }
        }
        if !matched {
            if let Some(body) = default {
                self.render_nodes(body, out)?;
            }
        }
        Ok(Flow::Normal)
    }

    #[inline(never)]
    fn assign(&mut self, assignment: &'a Assignment) -> R<()> {
        let target = &assignment.target;
        self.step(target.span)?;
        let value = match (assignment.op, &assignment.value) {
            // `x = x + 1` and other arithmetic on numbers read in place is stored directly.
            (AssignOp::Set, Some(Expr { node: ExprKind::Arith(op, left, right), .. }))
                if let Some(number) = self.peek_arithmetic(*op, left, right) =>
            {
                Val::Num(Cow::Owned(number))
            }
            (AssignOp::Set, Some(value)) => self.eval(value)?,
            (AssignOp::Update(op), Some(value)) => {
                let current = self.read_target(target)?;
                // For `-=`, `*=`, `/=` and `%=` FreeMarker checks that the variable's value is a
                // number before it evaluates the right side.
                if op != ArithOp::Add && !matches!(current, Val::Num(_)) {
                    return Err(self.expected(target.span, "the assignment", "a number", &current));
                }
                let right = self.eval(value)?;
                self.arithmetic(
                    op,
                    current,
                    &right,
                    target.span,
                    value.span,
                    target.span.to(value.span),
                )?
            }
            (AssignOp::Increment | AssignOp::Decrement, _) => {
                let current = self.read_target(target)?;
                let Val::Num(n) = &current else {
                    return Err(self.expected(target.span, "`++` and `--`", "a number", &current));
                };
                let one = super::number::Number::from(1i64);
                let result =
                    if assignment.op == AssignOp::Increment { n.add(&one) } else { n.sub(&one) };
                Val::Num(Cow::Owned(
                    result.map_err(|e| error(ErrorKind::Evaluation, target.span, e.to_string()))?,
                ))
            }
            (_, None) => return Ok(()),
        };
        self.store(target, value);
        Ok(())
    }

    fn read_target(&mut self, target: &'a AssignTarget) -> R<Val<'a>> {
        let slot = target.slot as usize;
        let stored = if target.global { self.global(slot) } else { &self.assigned[slot] };
        if let Some(value) = stored {
            return Ok(value.clone());
        }
        // FreeMarker reads the current value of `<#assign x += …>` only from the template's
        // own variables and that of `<#global x += …>` only from the globals: a variable of
        // the data model or of the other scope counts as missing.
        let shown = self.source.get(target.span.range()).unwrap_or("the variable");
        let in_other_scope =
            if target.global { self.assigned[slot].is_some() } else { self.global(slot).is_some() };
        let detail = if in_other_scope && target.global {
            format!(
                "`{shown}` is an `<#assign>` variable, and `<#global>` updates only variables \
                 set with `<#global>`; write `<#assign>` to update it"
            )
        } else if in_other_scope {
            format!(
                "`{shown}` is a `<#global>` variable, and `<#assign>` updates only variables \
                 set with `<#assign>`; write `<#global>` to update it"
            )
        } else {
            format!(
                "`{shown}` has no value to update; set it first, for example with \
                 `<#assign {shown} = 0>`"
            )
        };
        Err(Box::new(RenderError {
            kind: ErrorKind::MissingValue,
            span: target.span,
            detail: Some(detail),
        }))
    }

    fn store(&mut self, target: &AssignTarget, value: Val<'a>) {
        let slot = target.slot as usize;
        if target.global {
            let index = self.assigned.len() / 2 + slot;
            self.assigned[index] = Some(value);
        } else {
            self.assigned[slot] = Some(value);
        }
    }

    /// Returns the data-model variable `name`; `None` when it is absent or null.
    pub fn data_var(&self, name: &DataName) -> Option<Val<'a>> {
        self.data_value(name).and_then(Val::from_data)
    }

    /// Returns the value of the data-model variable `name`, JSON `null` included; `None` when
    /// it is absent.
    #[inline]
    pub fn data_value(&self, name: &DataName) -> Option<&'a Value> {
        let index = usize::from(name.index);
        if index < self.data_len {
            return self.data[index];
        }
        self.vars.iter().find(|(n, _)| *n == name.name).map(|(_, value)| *value)
    }

    fn apply_setting(&mut self, setting: Setting, value: &'a Expr) -> R<()> {
        let evaluated = self.eval(value)?;
        let text = match &evaluated {
            Val::Str(s) => s.clone().into_owned(),
            other => return Err(self.expected(value.span, "`<#setting>`", "a string", other)),
        };
        self.settings.set(setting, &text).map_err(|e| error(ErrorKind::Evaluation, value.span, e))
    }
}

/// Returns the end of the `.name` and `[...]` steps that follow position `end` of `source`.
fn chain_end(source: &str, mut end: usize) -> usize {
    let bytes = source.as_bytes();
    loop {
        match bytes.get(end) {
            Some(b'.') if bytes.get(end + 1).is_some_and(|b| *b != b'.') => {
                end += 1;
                while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                    end += 1;
                }
            }
            Some(b'[') => {
                let Some(close) = source[end..].find(']') else {
                    return end;
                };
                end += close + 1;
            }
            _ => return end,
        }
    }
}

/// Returns `expr` without the parentheses around it.
fn strip_parentheses(mut expr: &Expr) -> &Expr {
    while let ExprKind::Paren(inner) = &expr.node {
        expr = inner;
    }
    expr
}

/// Returns the error for a boolean printed or joined without a `boolean_format`.
pub fn boolean_to_string(span: Span) -> Box<RenderError> {
    error(
        ErrorKind::Evaluation,
        span,
        "can't convert a boolean to a string automatically; write `?c` for true/false, \
         `?string(\"yes\", \"no\")` or `?then(a, b)`",
    )
}

/// Compresses whitespace as `<#compress>` does: leading and trailing whitespace goes, and each
/// run of whitespace becomes the first line break it holds, or one space when it holds none.
pub fn compress(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut started = false;
    while let Some(c) = chars.next() {
        if !is_java_whitespace(c) {
            out.push(c);
            started = true;
            continue;
        }
        let mut line_break: Option<&str> = None;
        let mut current = c;
        loop {
            if line_break.is_none() {
                if current == '\n' {
                    line_break = Some("\n");
                } else if current == '\r' {
                    line_break = Some(if chars.peek() == Some(&'\n') { "\r\n" } else { "\r" });
                }
            }
            match chars.peek() {
                Some(&next) if is_java_whitespace(next) => {
                    current = next;
                    chars.next();
                }
                _ => break,
            }
        }
        if !started || chars.peek().is_none() {
            continue;
        }
        out.push_str(line_break.unwrap_or(" "));
    }
    out
}

/// Returns true for Java's `Character.isWhitespace` characters.
fn is_java_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{1c}'..='\u{1f}')
        || (c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}') && c != '\u{85}')
}

impl<'a> Renderer<'a> {
    /// Builds an owned sequence from items.
    pub fn owned_seq(items: Vec<Option<Val<'a>>>) -> Val<'a> {
        Val::Seq(Seq::Owned(Rc::new(items)))
    }

    /// Builds an owned hash.
    pub fn owned_hash(map: OwnedMap<'a>) -> Val<'a> {
        Val::Hash(Hash::Owned(Rc::new(map)))
    }
}
