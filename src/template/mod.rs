//! A renderer for a subset of Apache FreeMarker 2.3.31.
//!
//! Templates are compiled once ([`Template::compile`]) and rendered many times into a caller's
//! buffer ([`Template::render_to`]). Whatever the subset accepts renders byte for byte as
//! FreeMarker 2.3.31 renders it with `number_format` `computer`, locale en_US, time zone UTC and
//! plain-text output; whatever it does not accept is rejected by `compile` with the line, column
//! and a caret. `docs/templates.md` lists the subset.
//!
//! This module performs no I/O and knows nothing of events or HTTP.

mod ast;
mod builtins;
mod case_table;
mod collation;
mod collation_table;
pub mod date;
mod error;
mod eval;
mod expr;
mod lexer;
pub mod locale;
mod locale_table;
pub mod number;
mod parser;
pub mod regex;
mod report;
mod settings;
pub mod text;
mod token;
mod val;
pub mod value;
mod whitespace;
mod zones;

pub use error::{ErrorKind, TemplateError};
pub use number::Number;
pub use parser::FTL_UTILS_CLASS;
pub use value::{Map, Value};

use std::time::Duration;

/// Bounds on what one template may do, so an operator's template can never hang or exhaust
/// memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of directives and expressions the parser accepts.
    pub max_depth: usize,
    /// Loop iterations plus sequence items processed by built-ins, per render.
    pub max_iterations: u64,
    /// Bytes one render may append to the output.
    pub max_output_bytes: usize,
    /// Evaluation steps (nodes rendered, loop items, lambda calls) per render.
    pub max_steps: u64,
    /// Bytes of strings one render may build or copy besides its output: concatenations,
    /// built-in results, sequences of strings, and the copies made when an assigned string is
    /// read. Bounds the memory and time of templates that grow strings in loops.
    pub max_built_bytes: usize,
    /// Wall-clock time one render may take, checked every 1,024 evaluation steps, every 1,024
    /// sequence items and during regular-expression matching. It is a last guard for work the
    /// other limits do not count, so a render that hits it may succeed on a less loaded machine.
    pub max_render_time: Duration,
}

impl Default for Limits {
    /// Returns limits far above what a request body needs: nesting 100, one million loop
    /// iterations, 16 MiB of output, ten million steps, 64 MiB of built strings and 5 seconds.
    fn default() -> Limits {
        Limits {
            max_depth: 100,
            max_iterations: 1_000_000,
            max_output_bytes: 16 << 20,
            max_steps: 10_000_000,
            max_built_bytes: 64 << 20,
            max_render_time: Duration::from_secs(5),
        }
    }
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    program: parser::Program,
    limits: Limits,
}

impl Template {
    /// Compiles `source`; `name` appears in every error the template raises.
    ///
    /// Everything that can be checked without data is checked here: syntax, directive nesting,
    /// built-in names and argument counts, loop-variable built-ins, and constructs outside the
    /// supported subset. Uses the default [`Limits`].
    pub fn compile(name: &str, source: &str) -> Result<Template, TemplateError> {
        Template::compile_with_limits(name, source, Limits::default())
    }

    /// Compiles `source` with the given limits.
    pub fn compile_with_limits(
        name: &str,
        source: &str,
        limits: Limits,
    ) -> Result<Template, TemplateError> {
        let program = parser::parse(name, source, limits.max_depth)?;
        Ok(Template { name: name.to_owned(), source: source.to_owned(), program, limits })
    }

    /// Returns the name given at compile time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the template's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Returns the limits renders of this template run under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Renders the template with the given top-level variables, appending to `out`.
    ///
    /// `vars` maps names such as `input` and `parameters` to their values. On error, `out` is
    /// left as it was before the call: nothing half-rendered remains.
    pub fn render_to(
        &self,
        vars: &[(&str, &Value)],
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let start = out.len();
        let started = std::time::Instant::now();
        let _deadline = regex::scan_deadline(started.checked_add(self.limits.max_render_time));
        let mut renderer = eval::Renderer::new(
            &self.name,
            &self.source,
            &self.program,
            vars,
            self.limits,
            start,
            started,
        );
        match renderer.render_nodes(&self.program.nodes, out) {
            Ok(_) => Ok(()),
            Err(error) => {
                out.truncate(start);
                Err(renderer.to_template_error(&error))
            }
        }
    }

    /// Returns the compiled render nodes in debug notation, for snapshot tests of the parser.
    #[doc(hidden)]
    pub fn debug_nodes(&self) -> String {
        format!("{:#?}", self.program.nodes)
    }

    /// Returns the tokens of `source` in debug notation, one per line with its line and
    /// column, for snapshot tests of the lexer.
    #[doc(hidden)]
    pub fn debug_tokens(source: &str) -> Result<String, TemplateError> {
        let lines = lexer::LineIndex::new(source);
        let tokens = lexer::tokenize("tokens", source, &lines)?;
        let mut out = String::new();
        for token in tokens {
            out.push_str(&format!("{}:{} {:?}\n", token.span.line, token.span.column, token.node));
        }
        Ok(out)
    }

    /// Renders the template into a new string.
    pub fn render(&self, vars: &[(&str, &Value)]) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.render_to(vars, &mut out)?;
        Ok(out)
    }
}
