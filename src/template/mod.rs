//! A renderer for a subset of Apache FreeMarker 2.3.31.
//!
//! Templates are compiled once ([`Template::compile`]) and rendered many times into a caller's
//! buffer ([`Template::render_to`]). Whatever the subset accepts renders byte for byte as
//! FreeMarker 2.3.31 renders it with `number_format` `computer`, locale en_US, time zone UTC and
//! plain-text output; whatever it does not accept is rejected by `compile` with the line, column
//! and a caret. `docs/templates.md` lists the subset.
//!
//! This module performs no I/O and knows nothing of events or HTTP.

mod case_table;
mod collation;
mod collation_table;
pub mod date;
mod error;
pub mod locale;
mod locale_table;
pub mod number;
pub mod regex;
pub mod text;
pub mod value;
mod zones;

pub use error::{ErrorKind, TemplateError};
pub use number::Number;
pub use value::{Map, Value};

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
}

impl Template {
    /// Compiles `source`; `name` appears in every error the template raises.
    ///
    /// NOTE: this first version accepts plain text only; the language arrives with the lexer,
    /// parser and evaluator.
    pub fn compile(name: &str, source: &str) -> Result<Template, TemplateError> {
        for marker in ["${", "#{", "<#", "</#", "<@"] {
            if let Some(at) = source.find(marker) {
                return Err(TemplateError::new(
                    ErrorKind::Syntax,
                    name,
                    source,
                    at..at + marker.len(),
                    format!("found `{marker}`, which this renderer does not support yet"),
                ));
            }
        }
        Ok(Template { name: name.to_owned(), source: source.to_owned() })
    }

    /// Returns the name given at compile time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the template's source text.
    pub fn source(&self) -> &str {
        &self.source
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
        let _ = vars;
        out.push_str(&self.source);
        Ok(())
    }

    /// Renders the template into a new string.
    pub fn render(&self, vars: &[(&str, &Value)]) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.render_to(vars, &mut out)?;
        Ok(out)
    }
}
