//! Turns tokens into the element tree, then into render nodes.
//!
//! Everything that can be checked without data is checked here, so a template that compiles
//! can only fail at render time because of its data: directive nesting and end tags, built-in
//! names and argument counts, loop-variable built-ins, `#break`/`#continue`/`#sep` placement,
//! the naming convention (snake_case and camelCase may not be mixed), setting names, setting
//! values written as string literals, and constructs outside the supported subset.

use std::collections::HashMap;

use super::ast::{
    ArithOp, AssignOp, AssignTarget, Assignment, Binding, BuiltInCall, CompareOp, DataName, Expr,
    ExprKind, Items, Lambda, List, Node, NumberDigits, RangeKind, Setting, StrPart, Switch, Var,
};
use super::builtins::{self, Arity, BuiltIn};
use super::error::{ErrorKind, TemplateError};
use super::lexer::{self, LineIndex};
use super::settings::Settings;
use super::token::{Span, Spanned, Token};
use super::whitespace::{ElementId, ElementKind, ElementTree};

/// The class name Amplitude's templates reach through `statics[...]`.
pub const FTL_UTILS_CLASS: &str = "com.amplitude.integrations.connector.utils.FtlUtils";

/// A compiled template body.
#[derive(Debug, Clone)]
pub struct Program {
    /// The render nodes of the top level.
    pub nodes: Vec<Node>,
    /// Names of the variables the template assigns, by slot.
    pub slots: Vec<String>,
    /// The distinct data-model names the template reads, by [`DataName::index`].
    pub data_names: Vec<String>,
    /// The deepest nesting of loop and lambda frames.
    pub max_frames: usize,
}

/// How many distinct data-model names a render looks up once at its start.
pub const DATA_NAMES: usize = 8;

/// Parses `source` into a program; `max_depth` bounds directive and expression nesting.
pub fn parse(name: &str, source: &str, max_depth: usize) -> Result<Program, TemplateError> {
    let lines = LineIndex::new(source);
    let tokens = lexer::tokenize(name, source, &lines)?;
    let mut parser = Parser {
        name,
        source,
        lines,
        tokens,
        pos: 0,
        tree: ElementTree::default(),
        scopes: Vec::new(),
        iterators: Vec::new(),
        breakable: 0,
        continuable: 0,
        convention: None,
        depth: 0,
        max_depth,
        max_frames: 0,
    };
    let root = parser.parse_root()?;
    let root = parser.tree.strip_whitespace(root);
    let mut builder = Builder {
        tree: &mut parser.tree,
        assigned: HashMap::new(),
        slots: Vec::new(),
        data_names: Vec::new(),
    };
    builder.collect_assignments(root);
    let nodes = match builder.tree.elements[root].kind {
        ElementKind::Root => builder.build_children(root),
        _ => builder.build(root).into_iter().collect(),
    };
    Ok(Program {
        nodes,
        slots: builder.slots,
        data_names: builder.data_names,
        max_frames: parser.max_frames,
    })
}

/// Naming convention of the names the template language defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Convention {
    Snake,
    Camel,
}

/// A name bound by a loop or a lambda.
#[derive(Debug)]
struct Scope {
    frame: u16,
    /// `as k, v` binds the key name here; `as x` binds only `value`.
    key: Option<String>,
    value: Option<String>,
    is_loop: bool,
}

/// An open `#list` or `#items`, for checking `#items`, `#sep` and `#break`.
#[derive(Debug)]
struct IteratorContext {
    /// The frame of the directive.
    frame: u16,
    /// A `#list` without `as`, waiting for its `#items`.
    wrapper: bool,
    /// Whether the `#items` of a wrapper was found.
    has_items: bool,
}

struct Parser<'s> {
    name: &'s str,
    source: &'s str,
    lines: LineIndex,
    tokens: Vec<Spanned<Token>>,
    pos: usize,
    tree: ElementTree,
    scopes: Vec<Scope>,
    iterators: Vec<IteratorContext>,
    breakable: u32,
    continuable: u32,
    convention: Option<(Convention, Span, String)>,
    depth: usize,
    max_depth: usize,
    max_frames: usize,
}

/// What ended a sequence of elements.
#[derive(Debug, Clone, PartialEq)]
enum Terminator {
    Eof,
    EndTag(String),
    /// `<#else>`, `<#elseif`, `<#case`, `<#default>`: a directive that continues its parent.
    Continuation(String),
}

type PResult<T> = Result<T, TemplateError>;

impl<'s> Parser<'s> {
    // ----- token access -------------------------------------------------------------------

    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].node
    }

    fn peek_at(&self, offset: usize) -> &Token {
        &self.tokens[(self.pos + offset).min(self.tokens.len() - 1)].node
    }

    fn span(&self) -> Span {
        self.tokens[self.pos.min(self.tokens.len() - 1)].span
    }

    fn advance(&mut self) -> Spanned<Token> {
        let token = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == token {
            self.advance();
            true
        } else {
            false
        }
    }

    fn error_at(&self, span: Span, detail: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Syntax, self.name, self.source, span.range(), detail)
    }

    fn unexpected(&self, expected: &str) -> TemplateError {
        let found = self.peek().to_string();
        self.error_at(self.span(), format!("found {found}, expected {expected}"))
    }

    fn expect(&mut self, token: &Token, expected: &str) -> PResult<Span> {
        if self.peek() == token { Ok(self.advance().span) } else { Err(self.unexpected(expected)) }
    }

    /// Expects `>` or `/>` closing a directive tag.
    fn expect_tag_end(&mut self, directive: &str) -> PResult<Span> {
        match self.peek() {
            Token::TagEnd | Token::EmptyTagEnd => Ok(self.advance().span),
            _ => Err(self.unexpected(&format!("`>` closing the `<#{directive}` tag"))),
        }
    }

    fn enter(&mut self, span: Span) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(TemplateError::new(
                ErrorKind::Limit,
                self.name,
                self.source,
                span.range(),
                format!(
                    "nesting deeper than {} levels of directives, expressions and chained \
                     operators; split long expressions into several `<#assign>` steps or \
                     simplify the template",
                    self.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Consumes a binary or prefix operator that wraps the expression built so far, counting
    /// one nesting level for it: later passes walk such chains (`a + b + c`, `!!x`)
    /// recursively, so a chain costs stack like nested parentheses do. The caller resets
    /// `depth` when the chain ends; an error ends the whole parse, so no reset is needed then.
    fn enter_chain(&mut self) -> PResult<()> {
        let span = self.advance().span;
        self.enter(span)
    }

    // ----- positions ----------------------------------------------------------------------

    fn begin_of(&self, span: Span) -> (u32, u32) {
        (span.line, span.column)
    }

    fn end_line_of(&self, span: Span) -> u32 {
        self.lines.line(span.end.saturating_sub(1).max(span.start))
    }

    // ----- naming convention --------------------------------------------------------------

    /// Checks that `name`, a name defined by the template language, follows the convention the
    /// template established first.
    fn check_convention(&mut self, name: &str, span: Span) -> PResult<()> {
        let convention = if name.chars().any(|c| c.is_ascii_uppercase()) {
            Convention::Camel
        } else if name.contains('_') {
            Convention::Snake
        } else {
            return Ok(());
        };
        match &self.convention {
            None => {
                self.convention = Some((convention, span, name.to_owned()));
                Ok(())
            }
            Some((established, first_span, first)) if *established != convention => {
                let (style, other) = match established {
                    Convention::Camel => ("camelCase", "snake_case"),
                    Convention::Snake => ("snake_case", "camelCase"),
                };
                Err(self.error_at(
                    span,
                    format!(
                        "found {other} name `{name}`, expected {style} like `{first}` at \
                         {}:{}; one template must use one naming convention",
                        first_span.line, first_span.column
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    // ----- elements -----------------------------------------------------------------------

    fn parse_root(&mut self) -> PResult<ElementId> {
        let children = self.parse_elements()?;
        match self.peek().clone() {
            Token::Eof => {}
            Token::EndTag(name) => {
                return Err(self.error_at(
                    self.span(),
                    format!("found `</#{name}>`, expected no end tag here: no `<#{name}>` is open"),
                ));
            }
            Token::DirectiveStart(name) => {
                let parent = match name.as_str() {
                    "else" => "`<#if>` or `<#list>`",
                    "elseif" | "elseIf" => "`<#if>`",
                    _ => "`<#switch>`",
                };
                return Err(self.error_at(
                    self.span(),
                    format!("found `<#{name}>` outside {parent}, expected it inside one"),
                ));
            }
            _ => return Err(self.unexpected("end of template")),
        }
        // FreeMarker makes a lone top-level element the root itself, so it has no parent and is
        // never dropped as blank text.
        if children.len() == 1 {
            return Ok(children[0]);
        }
        let root = self.tree.add(ElementKind::Root, (1, 1), 1);
        self.tree.set_children(root, children);
        Ok(root)
    }

    /// Parses elements until an end tag, a continuation directive or the end of the template.
    fn parse_elements(&mut self) -> PResult<Vec<ElementId>> {
        let mut children = Vec::new();
        loop {
            let span = self.span();
            match self.peek().clone() {
                Token::Eof | Token::EndTag(_) => break,
                Token::DirectiveStart(name)
                    if matches!(
                        name.as_str(),
                        "else" | "elseif" | "elseIf" | "case" | "default" | "recover"
                    ) =>
                {
                    break;
                }
                Token::Text(text) => {
                    self.advance();
                    children.push(self.text_element(text, span));
                }
                Token::RawText(_) => return Err(self.unexpected("text")),
                Token::Comment => {
                    self.advance();
                    let id = self.tree.add(
                        ElementKind::Comment,
                        self.begin_of(span),
                        self.end_line_of(span),
                    );
                    children.push(id);
                }
                Token::InterpStart | Token::HashInterpStart => {
                    children.push(self.parse_interpolation()?);
                }
                Token::UserDirective => {
                    return Err(self.error_at(
                        span,
                        "found `<@`, a user-defined directive call, which templates here cannot \
                         use; write `<@` in text as `${\"<@\"}`",
                    ));
                }
                Token::DirectiveStart(name) => {
                    children.push(self.parse_directive(&name)?);
                }
                _ => return Err(self.unexpected("text, `${` or a directive")),
            }
        }
        Ok(children)
    }

    fn terminator(&self) -> Terminator {
        match self.peek() {
            Token::EndTag(name) => Terminator::EndTag(name.clone()),
            Token::DirectiveStart(name) => Terminator::Continuation(name.clone()),
            _ => Terminator::Eof,
        }
    }

    /// Returns the error for a block that ended at `found` instead of its end tag.
    fn unclosed(&self, directive: &str, open: Span) -> TemplateError {
        let found = match self.terminator() {
            Terminator::Eof => "end of template".to_owned(),
            Terminator::EndTag(name) => format!("`</#{name}>`"),
            Terminator::Continuation(name) => format!("`<#{name}>`"),
        };
        self.error_at(
            self.span(),
            format!(
                "found {found}, expected `</#{directive}>` closing the `<#{directive}>` at {}:{}",
                open.line, open.column
            ),
        )
    }

    fn expect_end_tag(&mut self, names: &[&str], directive: &str, open: Span) -> PResult<Span> {
        match self.peek() {
            Token::EndTag(name) if names.contains(&name.as_str()) => Ok(self.advance().span),
            _ => Err(self.unclosed(directive, open)),
        }
    }

    fn text_element(&mut self, text: String, span: Span) -> ElementId {
        let end_line = self.end_line_of(span);
        self.tree.add(ElementKind::Text { text }, self.begin_of(span), end_line)
    }

    fn parse_interpolation(&mut self) -> PResult<ElementId> {
        let start = self.advance();
        let hash = start.node == Token::HashInterpStart;
        if self.peek() == &Token::InterpEnd {
            return Err(self.unexpected("an expression"));
        }
        let expr = self.parse_expression()?;
        if hash {
            self.check_literals(&[&expr], NUMBER_ONLY, "#{...}", "a number")?;
        } else {
            self.check_literals(&[&expr], NOT_COLLECTION, "${...}", "a string, number or date")?;
        }
        let digits = if hash && self.eat(&Token::Semicolon) {
            self.parse_number_digits()?
        } else {
            NumberDigits::default()
        };
        let end = self.expect(&Token::InterpEnd, "`}` closing `${`")?;
        let kind = if hash {
            ElementKind::HashInterp(Some(expr), digits)
        } else {
            ElementKind::Interp(Some(expr))
        };
        Ok(self.tree.add(kind, self.begin_of(start.span), self.end_line_of(end)))
    }

    /// Parses the `mN`, `MN` or `mNMN` format of `#{expr; ...}`.
    fn parse_number_digits(&mut self) -> PResult<NumberDigits> {
        let span = self.span();
        let Token::Ident(spec) = self.peek().clone() else {
            return Err(self.unexpected("a format such as `m2` or `m1M3` after `;`"));
        };
        self.advance();
        let mut digits = NumberDigits::default();
        let mut rest = spec.as_str();
        while !rest.is_empty() {
            // The name may hold any letter, so split off one character, not one byte.
            let mut chars = rest.chars();
            let letter = chars.next();
            let tail = chars.as_str();
            let count: String = tail.chars().take_while(|c| c.is_ascii_digit()).collect();
            let value = count.parse::<u8>().ok().filter(|_| !count.is_empty());
            match (letter, value) {
                (Some('m'), Some(n)) if digits.min.is_none() => digits.min = Some(n),
                (Some('M'), Some(n)) if digits.max.is_none() => digits.max = Some(n),
                _ => {
                    return Err(self.error_at(
                        span,
                        format!(
                            "found invalid number format `{spec}`, expected `mN`, `MN` or `mNMN`"
                        ),
                    ));
                }
            }
            rest = &tail[count.len()..];
        }
        if let (Some(min), Some(max)) = (digits.min, digits.max) {
            if min > max {
                return Err(self.error_at(
                    span,
                    format!(
                        "found invalid number format `{spec}`: the minimum of {min} fraction \
                         digits is greater than the maximum of {max}"
                    ),
                ));
            }
        }
        Ok(digits)
    }

    fn parse_directive(&mut self, name: &str) -> PResult<ElementId> {
        let span = self.span();
        self.check_convention(name, span)?;
        self.enter(span)?;
        let result = grow_stack(|| match name {
            "if" => self.parse_if(),
            "list" => self.parse_list(),
            "items" => self.parse_items(),
            "sep" => self.parse_sep(),
            "assign" | "global" => self.parse_assign(name == "global"),
            "switch" => self.parse_switch(),
            "setting" => self.parse_setting(),
            "stop" => self.parse_stop(),
            "compress" => self.parse_compress(),
            "noparse" | "noParse" => self.parse_noparse(),
            "comment" => self.parse_comment_directive(),
            "break" => self.parse_break(true),
            "continue" => self.parse_break(false),
            "local" => Err(self.error_at(
                span,
                "found `<#local>` outside a macro, expected `<#assign>`: templates here cannot \
                 define macros",
            )),
            _ => Err(self.error_at(span, unsupported_directive(name))),
        });
        self.leave();
        result
    }

    fn parse_if(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let condition = self.parse_expression()?;
        self.expect(&Token::TagEnd, "`>` closing the `<#if` tag")?;
        let mut branches = Vec::new();
        let body = self.parse_elements()?;
        branches.push(self.branch(Some(condition), open, body));
        loop {
            match self.peek().clone() {
                Token::DirectiveStart(name) if name == "elseif" || name == "elseIf" => {
                    let start = self.span();
                    self.check_convention(&name, start)?;
                    self.advance();
                    let condition = self.parse_expression()?;
                    self.expect_tag_end("elseif")?;
                    let body = self.parse_elements()?;
                    branches.push(self.branch(Some(condition), start, body));
                }
                Token::DirectiveStart(name) if name == "else" => {
                    let start = self.advance().span;
                    self.expect_tag_end("else")?;
                    let body = self.parse_elements()?;
                    branches.push(self.branch(None, start, body));
                    break;
                }
                _ => break,
            }
        }
        let end = self.expect_end_tag(&["if"], "if", open)?;
        let id = self.tree.add(ElementKind::If, self.begin_of(open), self.end_line_of(end));
        self.tree.set_children(id, branches);
        Ok(id)
    }

    /// Adds an element whose location runs from `start` to its last child.
    fn block(&mut self, kind: ElementKind, start: Span, children: Vec<ElementId>) -> ElementId {
        let id = self.tree.add(kind, self.begin_of(start), self.end_line_of(start));
        self.tree.set_children(id, children);
        self.tree.end_with_last_child(id);
        id
    }

    fn branch(&mut self, condition: Option<Expr>, start: Span, body: Vec<ElementId>) -> ElementId {
        self.block(ElementKind::Branch(condition), start, body)
    }

    fn frame_depth(&self) -> u16 {
        self.scopes.len() as u16
    }

    fn push_scope(&mut self, scope: Scope) {
        self.scopes.push(scope);
        self.max_frames = self.max_frames.max(self.scopes.len());
    }

    fn loop_variable_name(&mut self) -> PResult<String> {
        match self.peek().clone() {
            Token::Ident(name) => {
                self.advance();
                Ok(name)
            }
            _ => Err(self.unexpected("a loop variable name")),
        }
    }

    fn parse_list(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let source = self.parse_expression()?;
        let mut names = Vec::new();
        if self.eat(&Token::As) {
            names.push(self.loop_variable_name()?);
            if self.eat(&Token::Comma) {
                let span = self.span();
                let value = self.loop_variable_name()?;
                if value == names[0] {
                    return Err(self.error_at(
                        span,
                        format!("found `{value}` twice, expected different key and value names"),
                    ));
                }
                names.push(value);
            }
        }
        self.expect(&Token::TagEnd, "`as` or `>` closing the `<#list` tag")?;
        let frame = self.frame_depth();
        let binding = match names.len() {
            0 => None,
            1 => Some(Binding::Item),
            _ => Some(Binding::KeyValue),
        };
        let (key, value) = match names.len() {
            0 => (None, None),
            1 => (None, names.pop()),
            _ => {
                let value = names.pop();
                (names.pop(), value)
            }
        };
        let wrapper = binding.is_none();
        self.push_scope(Scope { frame, key, value, is_loop: true });
        self.iterators.push(IteratorContext { frame, wrapper, has_items: false });
        if !wrapper {
            self.breakable += 1;
            self.continuable += 1;
        }
        let body = self.parse_elements();
        if !wrapper {
            self.breakable -= 1;
            self.continuable -= 1;
        }
        let context = self.iterators.pop();
        self.scopes.pop();
        let body = body?;
        if wrapper && !context.is_some_and(|c| c.has_items) {
            return Err(self.error_at(
                open,
                "found `<#list>` without `as` and without `<#items>`, expected `<#list xs as x>` \
                 or an `<#items as x>` inside",
            ));
        }
        let else_part = match self.peek().clone() {
            Token::DirectiveStart(name) if name == "else" => {
                let start = self.advance().span;
                self.expect_tag_end("else")?;
                let body = self.parse_elements()?;
                Some(self.block(ElementKind::ListElse, start, body))
            }
            _ => None,
        };
        let end = self.expect_end_tag(&["list"], "list", open)?;
        let list = self.tree.add(
            ElementKind::List { source: Some(source), binding, frame },
            self.begin_of(open),
            self.end_line_of(end),
        );
        self.tree.set_children(list, body);
        let Some(else_part) = else_part else {
            return Ok(list);
        };
        let container =
            self.tree.add(ElementKind::ListWithElse, self.begin_of(open), self.end_line_of(end));
        self.tree.set_children(container, vec![list, else_part]);
        Ok(container)
    }

    fn parse_items(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let Some(context) = self.iterators.last() else {
            return Err(
                self.error_at(open, "found `<#items>` outside `<#list>`, expected it inside")
            );
        };
        if !context.wrapper {
            return Err(self.error_at(
                open,
                "found `<#items>` in a `<#list>` that has `as`, expected `<#list xs>` without \
                 `as` around `<#items as x>`",
            ));
        }
        if context.has_items {
            return Err(self.error_at(open, "found a second `<#items>` in one `<#list>`"));
        }
        let list_frame = context.frame;
        self.expect(&Token::As, "`as` after `<#items`")?;
        let first = self.loop_variable_name()?;
        let (key, value, binding) = if self.eat(&Token::Comma) {
            let second = self.loop_variable_name()?;
            (Some(first), Some(second), Binding::KeyValue)
        } else {
            (None, Some(first), Binding::Item)
        };
        self.expect(&Token::TagEnd, "`>` closing the `<#items` tag")?;
        if let Some(context) = self.iterators.last_mut() {
            context.has_items = true;
        }
        let frame = self.frame_depth();
        self.push_scope(Scope { frame, key, value, is_loop: true });
        self.iterators.push(IteratorContext { frame, wrapper: false, has_items: false });
        self.breakable += 1;
        self.continuable += 1;
        let body = self.parse_elements();
        self.breakable -= 1;
        self.continuable -= 1;
        self.iterators.pop();
        self.scopes.pop();
        let body = body?;
        let end = self.expect_end_tag(&["items"], "items", open)?;
        let id = self.tree.add(
            ElementKind::Items { binding, list_frame, frame },
            self.begin_of(open),
            self.end_line_of(end),
        );
        self.tree.set_children(id, body);
        Ok(id)
    }

    fn parse_sep(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        // FreeMarker 2.3.31 rejects the empty-element form `<#sep/>`.
        if matches!(self.peek(), Token::EmptyTagEnd) {
            return Err(self.unexpected("`>` closing the `<#sep` tag (`<#sep/>` is not allowed)"));
        }
        self.expect_tag_end("sep")?;
        let frame = match self.iterators.last() {
            Some(context) if !context.wrapper => context.frame,
            _ => {
                return Err(self.error_at(
                    open,
                    "found `<#sep>` outside a loop, expected it inside `<#list xs as x>` or \
                     `<#items as x>`",
                ));
            }
        };
        let body = self.parse_elements()?;
        if let Token::EndTag(name) = self.peek() {
            if name == "sep" {
                let end = self.advance().span;
                let id = self.tree.add(
                    ElementKind::Sep { frame },
                    self.begin_of(open),
                    self.end_line_of(end),
                );
                self.tree.set_children(id, body);
                return Ok(id);
            }
        }
        Ok(self.block(ElementKind::Sep { frame }, open, body))
    }

    fn parse_break(&mut self, is_break: bool) -> PResult<ElementId> {
        let open = self.advance().span;
        let name = if is_break { "break" } else { "continue" };
        let end = self.expect_tag_end(name)?;
        let allowed = if is_break { self.breakable > 0 } else { self.continuable > 0 };
        if !allowed {
            let place = if is_break {
                "`<#list xs as x>`, `<#items>` or `<#switch>`"
            } else {
                "`<#list xs as x>` or `<#items>`"
            };
            return Err(self.error_at(
                open,
                format!("found `<#{name}>` outside a loop, expected it inside {place}"),
            ));
        }
        let kind = if is_break { ElementKind::Break } else { ElementKind::Continue };
        Ok(self.tree.add(kind, self.begin_of(open), self.end_line_of(end)))
    }

    fn parse_assign(&mut self, global: bool) -> PResult<ElementId> {
        let open = self.advance().span;
        let directive = if global { "global" } else { "assign" };
        let mut assignments: Vec<(Assignment, Span)> = Vec::new();
        loop {
            let name_span = self.span();
            let name = match self.peek().clone() {
                Token::Ident(name) => name,
                Token::Str { value, .. } => value,
                _ if !assignments.is_empty() => break,
                _ => return Err(self.unexpected("a variable name")),
            };
            self.advance();
            let target = AssignTarget { slot: 0, name, global, span: name_span };
            let op = match self.peek() {
                Token::Assign => AssignOp::Set,
                Token::PlusAssign => AssignOp::Update(ArithOp::Add),
                Token::MinusAssign => AssignOp::Update(ArithOp::Sub),
                Token::StarAssign => AssignOp::Update(ArithOp::Mul),
                Token::SlashAssign => AssignOp::Update(ArithOp::Div),
                Token::PercentAssign => AssignOp::Update(ArithOp::Rem),
                Token::PlusPlus => AssignOp::Increment,
                Token::MinusMinus => AssignOp::Decrement,
                Token::TagEnd if assignments.is_empty() => {
                    return self.parse_capture(target, open, directive);
                }
                Token::In => {
                    return Err(self.error_at(
                        self.span(),
                        "found `in`, expected `=`: templates here have one namespace",
                    ));
                }
                _ => return Err(self.unexpected("`=` after the variable name")),
            };
            let op_span = self.advance().span;
            let value = match op {
                AssignOp::Increment | AssignOp::Decrement => None,
                _ => Some(self.parse_expression()?),
            };
            let end = value.as_ref().map_or(op_span, |v| v.span);
            assignments.push((Assignment { target, op, value }, name_span.to(end)));
            self.eat(&Token::Comma);
        }
        let end = self.expect_tag_end(directive)?;
        if assignments.len() == 1 {
            let (assignment, _) = assignments.pop().unwrap_or_else(|| unreachable!());
            return Ok(self.tree.add(
                ElementKind::Assign(Some(assignment)),
                self.begin_of(open),
                self.end_line_of(end),
            ));
        }
        let mut children = Vec::new();
        for (assignment, span) in assignments {
            let id = self.tree.add(
                ElementKind::Assign(Some(assignment)),
                self.begin_of(span),
                self.end_line_of(span),
            );
            children.push(id);
        }
        let group =
            self.tree.add(ElementKind::AssignGroup, self.begin_of(open), self.end_line_of(end));
        self.tree.set_children(group, children);
        Ok(group)
    }

    fn parse_capture(
        &mut self,
        target: AssignTarget,
        open: Span,
        directive: &str,
    ) -> PResult<ElementId> {
        self.advance();
        let body = self.parse_elements()?;
        let end = self.expect_end_tag(&[directive], directive, open)?;
        let id = self.tree.add(
            ElementKind::Capture(Some(target)),
            self.begin_of(open),
            self.end_line_of(end),
        );
        self.tree.set_children(id, body);
        Ok(id)
    }

    fn parse_switch(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let value = self.parse_expression()?;
        self.expect(&Token::TagEnd, "`>` closing the `<#switch` tag")?;
        let mut children = Vec::new();
        // Blank text and comments before the first case render nothing, but they are elements
        // and take part in whitespace stripping.
        let mut ignored = Vec::new();
        let mut ignored_start = None;
        loop {
            let span = self.span();
            match self.peek().clone() {
                Token::Text(text)
                    if text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) =>
                {
                    self.advance();
                    ignored_start.get_or_insert(span);
                    ignored.push(self.text_element(text, span));
                }
                Token::Comment => {
                    self.advance();
                    ignored_start.get_or_insert(span);
                    let id = self.tree.add(
                        ElementKind::Comment,
                        self.begin_of(span),
                        self.end_line_of(span),
                    );
                    ignored.push(id);
                }
                _ => break,
            }
        }
        if let Some(start) = ignored_start {
            children.push(self.block(ElementKind::Ignored, start, ignored));
        }
        self.breakable += 1;
        let mut has_default = false;
        let result = loop {
            let span = self.span();
            match self.peek().clone() {
                Token::DirectiveStart(name) if name == "case" => {
                    self.advance();
                    let condition = match self.parse_expression() {
                        Ok(condition) => condition,
                        Err(error) => break Err(error),
                    };
                    if let Err(error) = self.expect(&Token::TagEnd, "`>` closing the `<#case` tag")
                    {
                        break Err(error);
                    }
                    match self.parse_elements() {
                        Ok(body) => children.push(self.block(
                            ElementKind::Case(Some(condition)),
                            span,
                            body,
                        )),
                        Err(error) => break Err(error),
                    }
                }
                Token::DirectiveStart(name) if name == "default" => {
                    if has_default {
                        break Err(
                            self.error_at(span, "found a second `<#default>` in one `<#switch>`")
                        );
                    }
                    has_default = true;
                    self.advance();
                    if let Err(error) = self.expect_tag_end("default") {
                        break Err(error);
                    }
                    match self.parse_elements() {
                        Ok(body) => children.push(self.block(ElementKind::Case(None), span, body)),
                        Err(error) => break Err(error),
                    }
                }
                Token::EndTag(name) if name == "switch" => break Ok(()),
                Token::Eof | Token::EndTag(_) => break Err(self.unclosed("switch", open)),
                _ => break Err(self.unexpected("`<#case`, `<#default>` or `</#switch>`")),
            }
        };
        self.breakable -= 1;
        result?;
        let end = self.advance().span;
        let id = self.tree.add(
            ElementKind::Switch(Some(value)),
            self.begin_of(open),
            self.end_line_of(end),
        );
        self.tree.set_children(id, children);
        Ok(id)
    }

    fn parse_setting(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let name_span = self.span();
        let Token::Ident(name) = self.peek().clone() else {
            return Err(self.unexpected("a setting name"));
        };
        self.advance();
        self.check_convention(&name, name_span)?;
        let setting = match name.as_str() {
            "number_format" | "numberFormat" => Setting::NumberFormat,
            "boolean_format" | "booleanFormat" => Setting::BooleanFormat,
            "date_format" | "dateFormat" => Setting::DateFormat,
            "time_format" | "timeFormat" => Setting::TimeFormat,
            "datetime_format" | "datetimeFormat" => Setting::DateTimeFormat,
            "locale" => Setting::Locale,
            "time_zone" | "timeZone" => Setting::TimeZone,
            "url_escaping_charset" | "urlEscapingCharset" => Setting::UrlEscapingCharset,
            "output_encoding" | "outputEncoding" => Setting::OutputEncoding,
            "classic_compatible"
            | "classicCompatible"
            | "sql_date_and_time_time_zone"
            | "sqlDateAndTimeTimeZone" => {
                return Err(self.error_at(
                    name_span,
                    format!("found setting `{name}`, which templates here cannot change"),
                ));
            }
            _ => {
                return Err(self.error_at(
                    name_span,
                    format!(
                        "found unknown setting `{name}`, expected one of number_format, \
                         boolean_format, date_format, time_format, datetime_format, locale, \
                         time_zone, url_escaping_charset, output_encoding"
                    ),
                ));
            }
        };
        self.expect(&Token::Assign, "`=` after the setting name")?;
        let value = self.parse_expression()?;
        self.check_setting_literal(setting, &name, &value)?;
        let end = self.expect_tag_end("setting")?;
        Ok(self.tree.add(
            ElementKind::Setting(setting, Some(value)),
            self.begin_of(open),
            self.end_line_of(end),
        ))
    }

    /// Rejects a string literal that `<#setting>` cannot apply, such as an unsupported locale
    /// or number pattern, so that the template fails to compile instead of failing every
    /// render. A value computed by an expression is checked when the render reaches it.
    fn check_setting_literal(&self, setting: Setting, name: &str, value: &Expr) -> PResult<()> {
        let mut literal = value;
        while let ExprKind::Paren(inner) = &literal.node {
            literal = inner;
        }
        let ExprKind::Str(text) = &literal.node else {
            return Ok(());
        };
        // Whether a value applies depends on no other setting: the locale changes only the
        // symbols of a number format, never whether its pattern is valid.
        Settings::default().set(setting, text).map_err(|reason| {
            self.error_at(value.span, format!("invalid value for setting `{name}`: {reason}"))
        })
    }

    fn parse_stop(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        let message = match self.peek() {
            Token::TagEnd | Token::EmptyTagEnd => None,
            _ => Some(self.parse_expression()?),
        };
        let end = self.expect_tag_end("stop")?;
        Ok(self.tree.add(
            ElementKind::Stop(message, open.to(end)),
            self.begin_of(open),
            self.end_line_of(end),
        ))
    }

    fn parse_compress(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        self.expect(&Token::TagEnd, "`>` closing the `<#compress` tag")?;
        let body = self.parse_elements()?;
        let end = self.expect_end_tag(&["compress"], "compress", open)?;
        let id = self.tree.add(ElementKind::Compress, self.begin_of(open), self.end_line_of(end));
        self.tree.set_children(id, body);
        Ok(id)
    }

    fn parse_noparse(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        self.expect(&Token::TagEnd, "`>` closing the `<#noparse` tag")?;
        let Token::RawText(text) = self.peek().clone() else {
            return Err(self.unexpected("the `<#noparse>` body"));
        };
        self.advance();
        let end = self.advance().span;
        let id =
            self.tree.add(ElementKind::Text { text }, self.begin_of(open), self.end_line_of(end));
        Ok(id)
    }

    fn parse_comment_directive(&mut self) -> PResult<ElementId> {
        let open = self.advance().span;
        self.expect(&Token::TagEnd, "`>` closing the `<#comment` tag")?;
        if matches!(self.peek(), Token::RawText(_)) {
            self.advance();
        }
        let end = self.advance().span;
        Ok(self.tree.add(ElementKind::Comment, self.begin_of(open), self.end_line_of(end)))
    }

    // ----- expressions --------------------------------------------------------------------

    /// Returns true when the current token can start an expression.
    fn at_expression_start(&self) -> bool {
        matches!(
            self.peek(),
            Token::Ident(_)
                | Token::Str { .. }
                | Token::Number(_)
                | Token::True
                | Token::False
                | Token::LParen
                | Token::LBracket
                | Token::LBrace
                | Token::Minus
                | Token::Plus
                | Token::Bang
                | Token::Dot
        )
    }

    pub(super) fn parse_expression(&mut self) -> PResult<Expr> {
        let span = self.span();
        self.enter(span)?;
        let result = grow_stack(|| self.parse_or());
        self.leave();
        result
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.parse_and()?;
        while self.peek() == &Token::Or {
            self.enter_chain()?;
            let right = self.parse_and()?;
            self.check_literals(&[&left, &right], BOOLEAN_ONLY, "||", "a boolean")?;
            let span = left.span.to(right.span);
            left = Spanned::new(ExprKind::Or(Box::new(left), Box::new(right)), span);
        }
        self.depth = depth;
        Ok(left)
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.parse_equality()?;
        while self.peek() == &Token::And {
            self.enter_chain()?;
            let right = self.parse_equality()?;
            self.check_literals(&[&left, &right], BOOLEAN_ONLY, "&&", "a boolean")?;
            let span = left.span.to(right.span);
            left = Spanned::new(ExprKind::And(Box::new(left), Box::new(right)), span);
        }
        self.depth = depth;
        Ok(left)
    }

    fn parse_equality(&mut self) -> PResult<Expr> {
        let left = self.parse_relational()?;
        let op = match self.peek() {
            Token::EqEq | Token::Assign => CompareOp::Eq,
            Token::NotEq => CompareOp::Ne,
            _ => return Ok(left),
        };
        self.advance();
        let right = self.parse_relational()?;
        let symbol = op.symbol();
        self.check_literals(
            &[&left, &right],
            NOT_COLLECTION,
            symbol,
            "a value other than a hash or sequence",
        )?;
        let span = left.span.to(right.span);
        Ok(Spanned::new(ExprKind::Compare(op, Box::new(left), Box::new(right)), span))
    }

    fn parse_relational(&mut self) -> PResult<Expr> {
        let left = self.parse_range()?;
        let op = match self.peek() {
            Token::Lt => CompareOp::Lt,
            Token::Lte => CompareOp::Le,
            Token::Gt => CompareOp::Gt,
            Token::Gte => CompareOp::Ge,
            _ => return Ok(left),
        };
        self.advance();
        let right = self.parse_range()?;
        self.check_literals(&[&left, &right], NUMBER_ONLY, op.symbol(), "a number")?;
        let span = left.span.to(right.span);
        Ok(Spanned::new(ExprKind::Compare(op, Box::new(left), Box::new(right)), span))
    }

    fn parse_range(&mut self) -> PResult<Expr> {
        let left = self.parse_additive()?;
        let kind = match self.peek() {
            Token::DotDot => RangeKind::Inclusive,
            Token::DotDotLess => RangeKind::Exclusive,
            Token::DotDotStar => RangeKind::Length,
            _ => return Ok(left),
        };
        let op_span = self.advance().span;
        let (end, kind) = if kind == RangeKind::Inclusive && !self.at_expression_start() {
            (None, RangeKind::Unbounded)
        } else {
            (Some(Box::new(self.parse_additive()?)), kind)
        };
        let mut sides = vec![&left];
        sides.extend(end.as_deref());
        self.check_literals(&sides, NUMBER_ONLY, "..", "a number")?;
        let span = left.span.to(end.as_ref().map_or(op_span, |e| e.span));
        Ok(Spanned::new(ExprKind::Range(Box::new(left), end, kind), span))
    }

    fn parse_additive(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.parse_multiplicative()?;
        loop {
            let op = match self.peek() {
                Token::Plus => ArithOp::Add,
                Token::Minus => ArithOp::Sub,
                _ => {
                    self.depth = depth;
                    return Ok(left);
                }
            };
            self.enter_chain()?;
            let right = self.parse_multiplicative()?;
            if op == ArithOp::Sub {
                self.check_literals(&[&left, &right], NUMBER_ONLY, "-", "a number")?;
            }
            let span = left.span.to(right.span);
            left = Spanned::new(ExprKind::Arith(op, Box::new(left), Box::new(right)), span);
        }
    }

    fn parse_multiplicative(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut left = self.parse_unary()?;
        loop {
            let op = match self.peek() {
                Token::Star => ArithOp::Mul,
                Token::Slash => ArithOp::Div,
                Token::Percent => ArithOp::Rem,
                _ => {
                    self.depth = depth;
                    return Ok(left);
                }
            };
            self.enter_chain()?;
            let right = self.parse_unary()?;
            self.check_literals(&[&left, &right], NUMBER_ONLY, op.symbol(), "a number")?;
            let span = left.span.to(right.span);
            left = Spanned::new(ExprKind::Arith(op, Box::new(left), Box::new(right)), span);
        }
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek() {
            Token::Minus | Token::Plus => {
                let negative = self.advance().node == Token::Minus;
                let operand = self.parse_primary()?;
                let span = start.to(operand.span);
                let kind = if negative {
                    ExprKind::Neg(Box::new(operand))
                } else {
                    ExprKind::Pos(Box::new(operand))
                };
                Ok(Spanned::new(kind, span))
            }
            Token::Bang => {
                let depth = self.depth;
                let mut count = 0;
                while self.peek() == &Token::Bang {
                    self.enter_chain()?;
                    count += 1;
                }
                let mut operand = self.parse_primary()?;
                self.depth = depth;
                for _ in 0..count {
                    let span = start.to(operand.span);
                    operand = Spanned::new(ExprKind::Not(Box::new(operand)), span);
                }
                Ok(operand)
            }
            _ => self.parse_primary(),
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let depth = self.depth;
        let mut expr = self.parse_atom()?;
        loop {
            let postfix = matches!(
                self.peek(),
                Token::Dot | Token::LBracket | Token::Question | Token::Exists | Token::Bang
            );
            if postfix {
                self.enter(self.span())?;
            }
            match self.peek().clone() {
                Token::Dot => {
                    self.advance();
                    let span = self.span();
                    let name = match self.peek().clone() {
                        Token::Ident(name) => name,
                        Token::True => "true".into(),
                        Token::False => "false".into(),
                        Token::As => "as".into(),
                        Token::In => "in".into(),
                        Token::Using => "using".into(),
                        Token::Lt => self.source[span.range()].to_owned(),
                        Token::Lte | Token::Gt | Token::Gte => self.source[span.range()].to_owned(),
                        _ => return Err(self.unexpected("a name after `.`")),
                    };
                    self.advance();
                    let span = expr.span.to(span);
                    expr = Spanned::new(
                        ExprKind::Dot(Box::new(expr), super::ast::DotKey::new(name)),
                        span,
                    );
                }
                Token::LBracket => {
                    // FreeMarker rejects `3[0]` and `true[0]` while parsing.
                    if matches!(expr.node, ExprKind::Number(_) | ExprKind::Bool(_)) {
                        return Err(self.error_at(
                            expr.span,
                            "found a number or boolean literal before `[`, expected a \
                             sequence, string or hash",
                        ));
                    }
                    self.advance();
                    let key = self.parse_expression()?;
                    let end = self.expect(&Token::RBracket, "`]`")?;
                    let span = expr.span.to(end);
                    expr = Spanned::new(ExprKind::Index(Box::new(expr), Box::new(key)), span);
                }
                Token::Question => {
                    self.advance();
                    expr = self.parse_builtin(expr)?;
                }
                Token::Exists => {
                    let end = self.advance().span;
                    let span = expr.span.to(end);
                    expr = Spanned::new(ExprKind::Exists(Box::new(expr)), span);
                }
                Token::Bang => {
                    let bang = self.advance().span;
                    // FreeMarker takes what follows `!` as the default only if it parses as
                    // an expression; `+-0` and `+!b` do not, so `x!+-0` is `(x!) + -0`.
                    let signs = matches!(self.peek(), Token::Plus | Token::Minus)
                        && matches!(self.peek_at(1), Token::Plus | Token::Minus | Token::Bang);
                    let default = if self.at_expression_start() && !signs {
                        Some(Box::new(self.parse_expression()?))
                    } else {
                        None
                    };
                    let span = expr.span.to(default.as_ref().map_or(bang, |d| d.span));
                    expr = Spanned::new(ExprKind::Default(Box::new(expr), default), span);
                }
                Token::LParen => {
                    return Err(self.error_at(
                        self.span(),
                        "found `(` after a value that is not a built-in, expected an operator: \
                         only built-ins such as `?string(...)` can be called",
                    ));
                }
                _ => {
                    self.depth = depth;
                    return Ok(expr);
                }
            }
        }
    }

    fn parse_atom(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            Token::Number(n) => {
                self.advance();
                Ok(Spanned::new(ExprKind::Number(n), start))
            }
            Token::True | Token::False => {
                let value = self.advance().node == Token::True;
                Ok(Spanned::new(ExprKind::Bool(value), start))
            }
            Token::Str { value, raw } => {
                self.advance();
                self.string_literal(value, raw, start)
            }
            Token::Ident(name) => {
                self.advance();
                if name == "statics" {
                    return self.parse_statics(start);
                }
                if self.peek() == &Token::Arrow {
                    return Err(self.error_at(
                        self.span(),
                        "found `->` outside a built-in argument, expected lambdas only in \
                         `?filter`, `?map`, `?take_while` and `?drop_while`",
                    ));
                }
                Ok(Spanned::new(ExprKind::Var(self.resolve(&name)), start))
            }
            Token::LParen => {
                self.advance();
                let inner = self.parse_expression()?;
                let end = self.expect(&Token::RParen, "`)`")?;
                Ok(Spanned::new(ExprKind::Paren(Box::new(inner)), start.to(end)))
            }
            Token::LBracket => {
                self.advance();
                let mut items = Vec::new();
                while self.peek() != &Token::RBracket {
                    items.push(self.parse_expression()?);
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                let end = self.expect(&Token::RBracket, "`,` or `]` in the sequence")?;
                Ok(Spanned::new(ExprKind::Seq(items), start.to(end)))
            }
            Token::LBrace => {
                self.advance();
                let mut entries = Vec::new();
                while self.peek() != &Token::RBrace {
                    let key = self.parse_expression()?;
                    self.expect(&Token::Colon, "`:` after the hash key")?;
                    let value = self.parse_expression()?;
                    entries.push((key, value));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                let end = self.expect(&Token::RBrace, "`,` or `}` in the hash")?;
                Ok(Spanned::new(ExprKind::Hash(entries), start.to(end)))
            }
            Token::Dot => {
                self.advance();
                let name = match self.peek() {
                    Token::Ident(name) => name.clone(),
                    _ => return Err(self.unexpected("a special variable name after `.`")),
                };
                Err(self.error_at(
                    start.to(self.span()),
                    format!(
                        "found special variable `.{name}`, which templates here cannot use; \
                         the data is available as the top-level variables"
                    ),
                ))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// Rejects literals of the kinds `rejected` as operands of `operator`, as FreeMarker does
    /// while parsing (`"x" * 2`, `t && 1`, `${[1, 2]}`).
    fn check_literals(
        &self,
        operands: &[&Expr],
        rejected: &[LiteralKind],
        operator: &str,
        expected: &str,
    ) -> PResult<()> {
        for operand in operands {
            let kind = match operand.node {
                ExprKind::Str(_) | ExprKind::Interpolated(_) => LiteralKind::String,
                ExprKind::Number(_) => LiteralKind::Number,
                ExprKind::Bool(_) => LiteralKind::Boolean,
                ExprKind::Hash(_) => LiteralKind::Hash,
                ExprKind::Seq(_) => LiteralKind::Sequence,
                _ => continue,
            };
            if rejected.contains(&kind) {
                return Err(self.error_at(
                    operand.span,
                    format!(
                        "found a {} literal as operand of `{operator}`, expected {expected}",
                        kind.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Resolves a name: a loop variable or lambda parameter in scope, or a template or data
    /// variable.
    fn resolve(&self, name: &str) -> Var {
        for scope in self.scopes.iter().rev() {
            if scope.value.as_deref() == Some(name) {
                return Var::Local { frame: scope.frame, key: false, name: name.to_owned() };
            }
            if scope.key.as_deref() == Some(name) {
                return Var::Local { frame: scope.frame, key: true, name: name.to_owned() };
            }
        }
        Var::Data(DataName { name: name.to_owned(), index: u16::MAX })
    }

    fn string_literal(&mut self, value: String, raw: bool, span: Span) -> PResult<Expr> {
        let utf16_len: usize = value.chars().map(char::len_utf16).sum();
        if raw || utf16_len <= 3 || !(value.contains("${") || value.contains("#{")) {
            return Ok(Spanned::new(ExprKind::Str(value), span));
        }
        let inner = (span.start as usize + 1)..(span.end as usize).saturating_sub(1);
        let base = (self.source.get(inner.clone()) == Some(value.as_str())).then_some(inner.start);
        let tokens =
            lexer::tokenize_string(self.name, self.source, &self.lines, &value, base, span)?;
        let saved_tokens = std::mem::replace(&mut self.tokens, tokens);
        let saved_pos = std::mem::replace(&mut self.pos, 0);
        let parts = self.parse_string_parts();
        self.tokens = saved_tokens;
        self.pos = saved_pos;
        Ok(Spanned::new(ExprKind::Interpolated(parts?), span))
    }

    fn parse_string_parts(&mut self) -> PResult<Vec<StrPart>> {
        let mut parts = Vec::new();
        loop {
            match self.peek().clone() {
                Token::Eof => return Ok(parts),
                Token::Text(text) => {
                    self.advance();
                    parts.push(StrPart::Text(text));
                }
                Token::InterpStart | Token::HashInterpStart => {
                    let hash = self.advance().node == Token::HashInterpStart;
                    if self.peek() == &Token::InterpEnd {
                        return Err(self.unexpected("an expression"));
                    }
                    let expr = self.parse_expression()?;
                    let digits = if hash && self.eat(&Token::Semicolon) {
                        self.parse_number_digits()?
                    } else {
                        NumberDigits::default()
                    };
                    self.expect(&Token::InterpEnd, "`}` closing `${`")?;
                    parts.push(if hash {
                        StrPart::HashInterp(expr, digits)
                    } else {
                        StrPart::Interp(expr)
                    });
                }
                _ => return Err(self.unexpected("text or `${` in the string")),
            }
        }
    }

    fn parse_statics(&mut self, start: Span) -> PResult<Expr> {
        let usage = format!(
            "expected `statics['{FTL_UTILS_CLASS}'].toJson(value)` or `.toJsonString(value)`, \
             the only use of `statics` templates here support"
        );
        let fail = |parser: &Parser<'_>| {
            let found = parser.peek().to_string();
            parser.error_at(parser.span(), format!("found {found}, {usage}"))
        };
        if !self.eat(&Token::LBracket) {
            return Err(fail(self));
        }
        match self.peek() {
            Token::Str { value, .. } if value == FTL_UTILS_CLASS => {
                self.advance();
            }
            _ => return Err(fail(self)),
        }
        if !self.eat(&Token::RBracket) || !self.eat(&Token::Dot) {
            return Err(fail(self));
        }
        let method = match self.peek() {
            Token::Ident(name) if name == "toJson" || name == "toJsonString" => name.clone(),
            _ => return Err(fail(self)),
        };
        self.advance();
        if !self.eat(&Token::LParen) {
            return Err(fail(self));
        }
        let value = self.parse_expression()?;
        let end = self.expect(&Token::RParen, "`)` closing the argument")?;
        let kind = if method == "toJson" {
            ExprKind::ToJson(Box::new(value))
        } else {
            ExprKind::ToJsonString(Box::new(value))
        };
        Ok(Spanned::new(kind, start.to(end)))
    }

    fn parse_builtin(&mut self, target: Expr) -> PResult<Expr> {
        let name_span = self.span();
        let name = match self.peek().clone() {
            Token::Ident(name) => name,
            Token::Lt | Token::Gt | Token::Lte | Token::Gte | Token::In | Token::As => {
                self.source[name_span.range()].to_owned()
            }
            _ => return Err(self.unexpected("a built-in name after `?`")),
        };
        self.advance();
        self.check_convention(&name, name_span)?;
        let Some(builtin) = BuiltIn::from_name(&name) else {
            let detail = match builtins::unsupported_reason(&name) {
                Some(reason) => {
                    format!(
                        "found built-in `?{name}`, which templates here cannot use: it {reason}"
                    )
                }
                None => format!("found unknown built-in `?{name}`"),
            };
            return Err(self.error_at(name_span, detail));
        };
        let frame = if builtin.is_loop_variable_builtin() {
            match &target.node {
                ExprKind::Var(Var::Local { frame, .. })
                    if self.scopes.get(*frame as usize).is_some_and(|s| s.is_loop) =>
                {
                    Some(*frame)
                }
                _ => {
                    let shown = &self.source[target.span.range()];
                    return Err(self.error_at(
                        name_span,
                        format!(
                            "found `?{name}` on `{shown}`, expected a loop variable: `?{name}` \
                             only works on the variable of an enclosing `<#list>` or `<#items>`"
                        ),
                    ));
                }
            }
        } else {
            None
        };
        let mut end = name_span;
        let mut args = Vec::new();
        let mut called = false;
        match self.peek().clone() {
            Token::LParen => {
                called = true;
                self.advance();
                while self.peek() != &Token::RParen {
                    if builtin.takes_lambda() && args.is_empty() {
                        args.push(self.parse_lambda()?);
                    } else {
                        args.push(self.parse_expression()?);
                    }
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                end = self.expect(&Token::RParen, "`,` or `)` after the argument")?;
            }
            Token::Dot if builtin.takes_format_key() => {
                self.advance();
                let key_span = self.span();
                let Token::Ident(key) = self.peek().clone() else {
                    return Err(self.unexpected("a format name such as `number` or `iso`"));
                };
                self.advance();
                called = true;
                args.push(Spanned::new(ExprKind::Str(key), key_span));
                end = key_span;
            }
            Token::LBracket if builtin.takes_format_key() => {
                self.advance();
                let key = self.parse_expression()?;
                end = self.expect(&Token::RBracket, "`]`")?;
                let literal_format =
                    matches!(key.node, ExprKind::Str(_) | ExprKind::Interpolated(_));
                if builtin == BuiltIn::String && !literal_format
                    || matches!(key.node, ExprKind::Range(..) | ExprKind::Number(_))
                {
                    // FreeMarker indexes or slices the result of `x?string` with a number or
                    // range key (`n?string[0..1]`); only a string key names a format. A key
                    // held in a variable is classified when it is evaluated.
                    // NOTE: for `?date`, `?time` and `?datetime` such a key is still a format.
                    let span = target.span.to(name_span);
                    let call =
                        BuiltInCall { target, builtin, args, frame, cache: Default::default() };
                    let bare = Spanned::new(ExprKind::BuiltIn(Box::new(call)), span);
                    let index = ExprKind::Index(Box::new(bare), Box::new(key));
                    return Ok(Spanned::new(index, span.to(end)));
                }
                called = true;
                args.push(key);
            }
            _ => {}
        }
        let count = args.len();
        let fits = |min: u8, max: u8| count >= min as usize && count <= max as usize;
        let problem = match (builtin.arity(), called) {
            (Arity::None, true) => Some("no arguments".to_owned()),
            (Arity::Call(min, max), false) => Some(arguments_wanted(min, max)),
            (Arity::Call(min, max) | Arity::Optional(min, max), true) if !fits(min, max) => {
                Some(arguments_wanted(min, max))
            }
            _ => None,
        };
        if let Some(wanted) = problem {
            return Err(self.error_at(
                name_span.to(end),
                format!("found `?{name}` with {count} argument(s), expected {wanted}"),
            ));
        }
        let span = target.span.to(end);
        let call = BuiltInCall { target, builtin, args, frame, cache: Default::default() };
        Ok(Spanned::new(ExprKind::BuiltIn(Box::new(call)), span))
    }

    fn parse_lambda(&mut self) -> PResult<Expr> {
        let start = self.span();
        let name = match (self.peek().clone(), self.peek_at(1).clone()) {
            (Token::Ident(name), Token::Arrow) => {
                self.advance();
                name
            }
            (Token::LParen, Token::Ident(name)) if self.peek_at(2) == &Token::RParen => {
                self.advance();
                self.advance();
                self.advance();
                name
            }
            _ => return Err(self.unexpected("a lambda such as `x -> x.price > 0`")),
        };
        self.expect(&Token::Arrow, "`->`")?;
        let frame = self.frame_depth();
        self.push_scope(Scope { frame, key: None, value: Some(name), is_loop: false });
        let body = self.parse_expression();
        self.scopes.pop();
        let body = body?;
        let span = start.to(body.span);
        Ok(Spanned::new(ExprKind::Lambda(Box::new(Lambda { frame, body })), span))
    }
}

/// The kinds of literals, for the operand checks FreeMarker makes while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LiteralKind {
    String,
    Number,
    Boolean,
    Hash,
    Sequence,
}

impl LiteralKind {
    fn name(self) -> &'static str {
        match self {
            LiteralKind::String => "string",
            LiteralKind::Number => "number",
            LiteralKind::Boolean => "boolean",
            LiteralKind::Hash => "hash",
            LiteralKind::Sequence => "sequence",
        }
    }
}

/// Literals that cannot be numbers: the operands of `- * / %`, `<`, `..` and `#{}`.
const NUMBER_ONLY: &[LiteralKind] =
    &[LiteralKind::String, LiteralKind::Boolean, LiteralKind::Hash, LiteralKind::Sequence];

/// Literals that cannot be booleans: the operands of `&&` and `||`.
const BOOLEAN_ONLY: &[LiteralKind] =
    &[LiteralKind::String, LiteralKind::Number, LiteralKind::Hash, LiteralKind::Sequence];

/// Hash and sequence literals, which `==`, `!=` and `${}` reject.
const NOT_COLLECTION: &[LiteralKind] = &[LiteralKind::Hash, LiteralKind::Sequence];

/// Runs `f`, first moving to a new 1 MiB stack segment when less than 256 KiB of stack remain.
///
/// Parsing and rendering recurse once per nesting level, and unoptimised builds use frames of
/// tens of KiB, so the nesting limit alone cannot keep a 2 MiB thread stack from overflowing.
/// The margin covers the levels between two checks.
pub fn grow_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(256 * 1024, 1024 * 1024, f)
}

fn arguments_wanted(min: u8, max: u8) -> String {
    match (min, max) {
        (0, 0) => "no arguments".to_owned(),
        (min, 255) => format!("at least {min} argument(s) in parentheses"),
        (min, max) if min == max => format!("{min} argument(s) in parentheses"),
        (min, max) => format!("{min} to {max} arguments in parentheses"),
    }
}

fn unsupported_directive(name: &str) -> String {
    let reason = match name {
        "macro" | "function" | "nested" | "return" | "recurse" | "visit" | "fallback" | "call"
        | "transform" => "user-defined directives and functions are not available",
        "include" | "import" => "templates here cannot load other templates",
        "attempt" | "recover" => "every error must stop the render so nothing wrong is sent",
        "t" | "lt" | "rt" | "nt" => {
            "per-line trimming is not supported; whitespace stripping handles tag-only lines"
        }
        "ftl" => "the FTL header cannot change the configuration here",
        "escape" | "noescape" | "noEscape" | "autoesc" | "autoEsc" | "noautoesc" | "noAutoEsc"
        | "outputformat" | "outputFormat" => "request bodies are plain text without auto-escaping",
        "foreach" | "forEach" => "use `<#list xs as x>` instead",
        "flush" => "output is buffered until the render ends",
        _ => "it is outside the supported subset",
    };
    format!("found `<#{name}>`, which templates here cannot use: {reason}")
}

/// Converts the stripped element tree into render nodes.
struct Builder<'t> {
    tree: &'t mut ElementTree,
    assigned: HashMap<String, u16>,
    slots: Vec<String>,
    data_names: Vec<String>,
}

impl Builder<'_> {
    /// Gives every assigned name a slot, so reads of that name check the template's variables.
    fn collect_assignments(&mut self, id: ElementId) {
        let mut names = Vec::new();
        match &self.tree.elements[id].kind {
            ElementKind::Assign(Some(assignment)) => names.push(assignment.target.name.clone()),
            ElementKind::Capture(Some(target)) => names.push(target.name.clone()),
            _ => {}
        }
        for name in names {
            if !self.assigned.contains_key(&name) {
                self.assigned.insert(name.clone(), self.slots.len() as u16);
                self.slots.push(name);
            }
        }
        let children = self.tree.elements[id].children.clone();
        for child in children {
            self.collect_assignments(child);
        }
    }

    fn build_children(&mut self, id: ElementId) -> Vec<Node> {
        let children = self.tree.elements[id].children.clone();
        let mut nodes = Vec::with_capacity(children.len());
        for child in children {
            if let Some(node) = self.build(child) {
                nodes.push(node);
            }
        }
        nodes
    }

    fn take_expr(&mut self, expr: &mut Option<Expr>) -> Expr {
        let mut expr =
            expr.take().unwrap_or_else(|| Spanned::new(ExprKind::Bool(false), Span::default()));
        self.resolve_expr(&mut expr);
        expr
    }

    fn build(&mut self, id: ElementId) -> Option<Node> {
        let kind = std::mem::replace(&mut self.tree.elements[id].kind, ElementKind::Comment);
        let node = match kind {
            ElementKind::Root | ElementKind::Ignored | ElementKind::Comment => return None,
            ElementKind::Text { text } => {
                if text.is_empty() {
                    return None;
                }
                Node::Text(text.into_boxed_str())
            }
            ElementKind::Interp(mut expr) => Node::Interp(self.take_expr(&mut expr)),
            ElementKind::HashInterp(mut expr, digits) => {
                Node::HashInterp(self.take_expr(&mut expr), digits)
            }
            ElementKind::If => {
                let children = self.tree.elements[id].children.clone();
                let mut branches = Vec::new();
                for child in children {
                    if let ElementKind::Branch(condition) =
                        std::mem::replace(&mut self.tree.elements[child].kind, ElementKind::Comment)
                    {
                        let condition = condition.map(|c| self.take_expr(&mut Some(c)));
                        branches.push((condition, self.build_children(child)));
                    }
                }
                Node::If(branches)
            }
            ElementKind::Branch(condition) => {
                let condition = condition.map(|c| self.take_expr(&mut Some(c)));
                Node::If(vec![(condition, self.build_children(id))])
            }
            ElementKind::List { mut source, binding, frame } => Node::List(Box::new(List {
                source: self.take_expr(&mut source),
                binding,
                frame,
                body: self.build_children(id),
                else_body: None,
            })),
            ElementKind::ListWithElse => {
                let children = self.tree.elements[id].children.clone();
                let mut list = None;
                let mut else_body = None;
                for child in children {
                    match self.tree.elements[child].kind {
                        ElementKind::ListElse => else_body = Some(self.build_children(child)),
                        _ => list = self.build(child),
                    }
                }
                match list {
                    Some(Node::List(mut list)) => {
                        list.else_body = else_body;
                        Node::List(list)
                    }
                    other => return other,
                }
            }
            ElementKind::ListElse => return None,
            ElementKind::Items { binding, list_frame, frame } => Node::Items(Box::new(Items {
                binding,
                list_frame,
                frame,
                body: self.build_children(id),
            })),
            ElementKind::Sep { frame } => Node::Sep { frame, body: self.build_children(id) },
            ElementKind::Break => Node::Break,
            ElementKind::Continue => Node::Continue,
            ElementKind::Assign(Some(mut assignment)) => {
                self.resolve_assignment(&mut assignment);
                Node::Assign(vec![assignment])
            }
            ElementKind::Assign(None) => return None,
            ElementKind::AssignGroup => {
                let children = self.tree.elements[id].children.clone();
                let mut assignments = Vec::new();
                for child in children {
                    if let ElementKind::Assign(Some(mut assignment)) =
                        std::mem::replace(&mut self.tree.elements[child].kind, ElementKind::Comment)
                    {
                        self.resolve_assignment(&mut assignment);
                        assignments.push(assignment);
                    }
                }
                Node::Assign(assignments)
            }
            ElementKind::Capture(target) => {
                let mut target = target?;
                target.slot = self.assigned.get(&target.name).copied().unwrap_or(0);
                Node::Capture { target, body: self.build_children(id) }
            }
            ElementKind::Switch(mut value) => {
                let value = self.take_expr(&mut value);
                let children = self.tree.elements[id].children.clone();
                let mut cases = Vec::new();
                for child in children {
                    if let ElementKind::Case(condition) =
                        std::mem::replace(&mut self.tree.elements[child].kind, ElementKind::Comment)
                    {
                        let condition = condition.map(|c| self.take_expr(&mut Some(c)));
                        cases.push((condition, self.build_children(child)));
                    }
                }
                Node::Switch(Box::new(Switch { value, cases }))
            }
            ElementKind::Case(_) => return None,
            ElementKind::Setting(setting, mut value) => {
                Node::Setting(setting, self.take_expr(&mut value))
            }
            ElementKind::Stop(message, span) => {
                let message = message.map(|m| self.take_expr(&mut Some(m)));
                Node::Stop(message, span)
            }
            ElementKind::Compress => Node::Compress(self.build_children(id)),
        };
        Some(node)
    }

    /// Returns the position of the data-model name `name`, adding it when it is new.
    /// Past [`DATA_NAMES`] names, reads search the variables by name.
    fn data_index(&mut self, name: &str) -> u16 {
        if let Some(index) = self.data_names.iter().position(|known| known == name) {
            return index as u16;
        }
        if self.data_names.len() >= DATA_NAMES {
            return u16::MAX;
        }
        self.data_names.push(name.to_owned());
        (self.data_names.len() - 1) as u16
    }

    fn resolve_assignment(&mut self, assignment: &mut Assignment) {
        assignment.target.slot = self.assigned.get(&assignment.target.name).copied().unwrap_or(0);
        if let Some(value) = &mut assignment.value {
            self.resolve_expr(value);
        }
    }

    /// Rewrites data-model reads of names the template assigns into slot reads.
    fn resolve_expr(&mut self, expr: &mut Expr) {
        match &mut expr.node {
            ExprKind::Var(var) => {
                if let Var::Data(name) = var {
                    name.index = self.data_index(&name.name);
                    if let Some(&slot) = self.assigned.get(name.name.as_str()) {
                        let name = DataName { name: std::mem::take(&mut name.name), ..*name };
                        *var = Var::Assigned { slot, name };
                    }
                }
            }
            ExprKind::Str(_) | ExprKind::Number(_) | ExprKind::Bool(_) => {}
            ExprKind::Interpolated(parts) => {
                for part in parts {
                    match part {
                        StrPart::Text(_) => {}
                        StrPart::Interp(e) | StrPart::HashInterp(e, _) => self.resolve_expr(e),
                    }
                }
            }
            ExprKind::Seq(items) => items.iter_mut().for_each(|e| self.resolve_expr(e)),
            ExprKind::Hash(entries) => {
                for (key, value) in entries {
                    self.resolve_expr(key);
                    self.resolve_expr(value);
                }
            }
            ExprKind::Dot(target, _) => self.resolve_expr(target),
            ExprKind::Index(a, b)
            | ExprKind::Arith(_, a, b)
            | ExprKind::Compare(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => {
                self.resolve_expr(a);
                self.resolve_expr(b);
            }
            ExprKind::Range(start, end, _) => {
                self.resolve_expr(start);
                if let Some(end) = end {
                    self.resolve_expr(end);
                }
            }
            ExprKind::Default(value, default) => {
                self.resolve_expr(value);
                if let Some(default) = default {
                    self.resolve_expr(default);
                }
            }
            ExprKind::Not(e)
            | ExprKind::Neg(e)
            | ExprKind::Pos(e)
            | ExprKind::Exists(e)
            | ExprKind::Paren(e)
            | ExprKind::ToJson(e)
            | ExprKind::ToJsonString(e) => self.resolve_expr(e),
            ExprKind::BuiltIn(call) => {
                self.resolve_expr(&mut call.target);
                call.args.iter_mut().for_each(|e| self.resolve_expr(e));
            }
            ExprKind::Lambda(lambda) => self.resolve_expr(&mut lambda.body),
        }
    }
}
