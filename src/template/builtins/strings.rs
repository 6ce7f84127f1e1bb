//! Built-ins that work on strings; numbers are converted with `number_format` first.

use std::borrow::Cow;
use std::rc::Rc;

use super::BuiltIn;
use super::misc::number;
use crate::template::ast::BuiltInCall;
use crate::template::error::ErrorKind;
use crate::template::eval::{R, Renderer, error};
use crate::template::number::Number;
use crate::template::text::{self, RegexFlags};
use crate::template::token::Span;
use crate::template::val::{MatchList, Val};
use crate::template::value::Value;

impl<'a> Renderer<'a> {
    /// Returns the groups of a `?matches` result: of the whole string for the result itself,
    /// of one match for an item of it.
    fn match_groups(&self, call: &'a BuiltInCall, target: &Val<'a>) -> R<Val<'a>> {
        let groups: Vec<Option<Val<'a>>> = match target {
            Val::Match(list, index) => list
                .matches
                .get(*index)
                .map(|groups| groups.iter().map(|g| Some(group_text(g))).collect())
                .unwrap_or_default(),
            Val::Matches(list) if list.whole => {
                list.whole_groups.iter().map(|g| Some(group_text(g))).collect()
            }
            // FreeMarker gives a sequence of the group count whose every item fails to read.
            // sluice fails at once, so `?size` of it is an error here too.
            Val::Matches(_) => {
                return Err(error(
                    ErrorKind::Evaluation,
                    call.target.span,
                    "failed to read the regular expression's match groups: it did not match the \
                     whole string; list the matches with `<#list s?matches(re) as m>` and read \
                     `m?groups`",
                ));
            }
            other => return Err(self.wrong_target(call, "a result of ?matches", other)),
        };
        Ok(Renderer::owned_seq(groups))
    }

    /// Evaluates the string built-ins.
    pub(super) fn string_builtin(
        &mut self,
        call: &'a BuiltInCall,
        target: Val<'a>,
        span: Span,
    ) -> R<Val<'a>> {
        if call.builtin == BuiltIn::String {
            return self.string_conversion(call, target, span);
        }
        let text_error = |e: text::TextError| {
            let kind = match &e {
                text::TextError::Regex(regex_error) => regex_error.kind(),
                _ => ErrorKind::Evaluation,
            };
            error(kind, span, e.to_string())
        };
        if call.builtin == BuiltIn::Groups {
            return self.match_groups(call, &target);
        }
        let s = self.string_operand(&target, call)?;
        let owned = |f: fn(&str, &mut String)| {
            let mut out = String::with_capacity(s.len() + 8);
            f(&s, &mut out);
            Val::Str(Cow::Owned(out))
        };
        let value = match call.builtin {
            BuiltIn::JsonString => owned(text::json_string),
            BuiltIn::JsString => owned(text::js_string),
            BuiltIn::JString => owned(text::j_string),
            BuiltIn::UpperCase => owned(text::upper_case),
            BuiltIn::LowerCase => owned(text::lower_case),
            BuiltIn::CapFirst => owned(text::cap_first),
            BuiltIn::UncapFirst => owned(text::uncap_first),
            BuiltIn::Capitalize => owned(text::capitalize),
            BuiltIn::Url | BuiltIn::UrlPath => {
                let s = s.into_owned();
                if let Some(charset) = self.optional_arg_text(call, 0)? {
                    if !charset.eq_ignore_ascii_case("UTF-8") {
                        return Err(error(
                            ErrorKind::Evaluation,
                            call.args[0].span,
                            format!(
                                "charset {charset:?} is not supported; write ?url or ?url(\"UTF-8\")"
                            ),
                        ));
                    }
                }
                let mut out = String::with_capacity(s.len() + 8);
                if call.builtin == BuiltIn::Url {
                    text::url(&s, &mut out)
                } else {
                    text::url_path(&s, &mut out)
                }
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::Trim => keep(&target, &s, text::trim(&s)),
            BuiltIn::Length => number(text::length(&s) as i64),
            BuiltIn::Contains | BuiltIn::StartsWith | BuiltIn::EndsWith => {
                let s = s.into_owned();
                let needle = self.arg_text(call, 0)?;
                Val::Bool(match call.builtin {
                    BuiltIn::Contains => text::contains(&s, &needle),
                    BuiltIn::StartsWith => s.starts_with(needle.as_str()),
                    _ => s.ends_with(needle.as_str()),
                })
            }
            BuiltIn::IndexOf | BuiltIn::LastIndexOf => {
                let s = s.into_owned();
                let needle = self.arg_text(call, 0)?;
                let from = match call.args.get(1) {
                    Some(_) => Some(i64::from(self.arg_number(call, 1)?.to_index())),
                    None => None,
                };
                number(if call.builtin == BuiltIn::IndexOf {
                    text::index_of(&s, &needle, from)
                } else {
                    text::last_index_of(&s, &needle, from)
                })
            }
            BuiltIn::Replace => {
                let s: &str = &s;
                let from = self.arg_str(call, 0)?;
                let to = self.arg_str(call, 1)?;
                let flags = self.regex_flags(call, 2)?;
                self.check_room(span, self.replace_size_bound(call, s, &from, &to, &flags))?;
                let mut out = String::with_capacity(s.len() + to.len().saturating_mul(2));
                if flags.regex {
                    let regex =
                        self.cached_regex(call, &from, &flags).map_err(|e| text_error(e.into()))?;
                    regex
                        .replace(s, &to, flags.first_only, &mut out)
                        .map_err(|e| text_error(e.into()))?;
                } else {
                    text::replace(s, &from, &to, &flags, &mut out).map_err(text_error)?;
                }
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::Split => {
                let s = s.into_owned();
                let separator = self.arg_text(call, 0)?;
                let flags = self.regex_flags(call, 1)?;
                let parts = if flags.regex {
                    let regex = self
                        .cached_regex(call, &separator, &flags)
                        .map_err(|e| text_error(e.into()))?;
                    regex
                        .split(&s)
                        .map_err(|e| text_error(e.into()))?
                        .into_iter()
                        .map(Cow::Borrowed)
                        .collect()
                } else {
                    text::split(&s, &separator, &flags).map_err(text_error)?
                };
                self.iterate(span, parts.len() as u64)?;
                let items =
                    parts.into_iter().map(|p| Some(Val::Str(Cow::Owned(p.into_owned())))).collect();
                Renderer::owned_seq(items)
            }
            BuiltIn::Substring => {
                let s = s.into_owned();
                let begin = i64::from(self.arg_number(call, 0)?.to_index());
                let end = match call.args.get(1) {
                    Some(_) => Some(i64::from(self.arg_number(call, 1)?.to_index())),
                    None => None,
                };
                let part = text::substring(&s, begin, end).map_err(text_error)?.into_owned();
                Val::Str(Cow::Owned(part))
            }
            BuiltIn::KeepAfter
            | BuiltIn::KeepBefore
            | BuiltIn::KeepAfterLast
            | BuiltIn::KeepBeforeLast => {
                let s = s.into_owned();
                let needle = self.arg_text(call, 0)?;
                let flags = self.regex_flags(call, 1)?;
                let part = match call.builtin {
                    BuiltIn::KeepAfter => text::keep_after(&s, &needle, &flags),
                    BuiltIn::KeepBefore => text::keep_before(&s, &needle, &flags),
                    BuiltIn::KeepAfterLast => text::keep_after_last(&s, &needle, &flags),
                    _ => text::keep_before_last(&s, &needle, &flags),
                }
                .map_err(text_error)?
                .into_owned();
                Val::Str(Cow::Owned(part))
            }
            BuiltIn::RemoveBeginning | BuiltIn::RemoveEnding => {
                let s = s.into_owned();
                let affix = self.arg_text(call, 0)?;
                let part = if call.builtin == BuiltIn::RemoveBeginning {
                    text::remove_beginning(&s, &affix)
                } else {
                    text::remove_ending(&s, &affix)
                };
                Val::Str(Cow::Owned(part.to_owned()))
            }
            BuiltIn::EnsureStartsWith | BuiltIn::EnsureEndsWith => {
                let s = s.into_owned();
                if call.args.len() > 1 {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        "the regular-expression form of ?ensure_starts_with is not supported; \
                         pass one prefix",
                    ));
                }
                let affix = self.arg_text(call, 0)?;
                let mut out = String::with_capacity(s.len() + affix.len());
                if call.builtin == BuiltIn::EnsureStartsWith {
                    text::ensure_starts_with(&s, &affix, &mut out);
                } else {
                    text::ensure_ends_with(&s, &affix, &mut out);
                }
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::LeftPad | BuiltIn::RightPad => {
                let s = s.into_owned();
                let width = i64::from(self.arg_number(call, 0)?.to_index());
                let padding = self.optional_arg_text(call, 1)?;
                let mut out = String::new();
                if call.builtin == BuiltIn::LeftPad {
                    text::left_pad(&s, width, padding.as_deref(), &mut out)
                } else {
                    text::right_pad(&s, width, padding.as_deref(), &mut out)
                }
                .map_err(text_error)?;
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::Truncate => {
                let s = s.into_owned();
                let max = i64::from(self.arg_number(call, 0)?.to_index());
                let mut out = String::new();
                let terminator = self.optional_arg_text(call, 1)?;
                text::truncate(
                    &s,
                    max,
                    terminator.as_deref(),
                    None,
                    text::TruncateMode::Auto,
                    &mut out,
                )
                .map_err(text_error)?;
                Val::Str(Cow::Owned(out))
            }
            BuiltIn::WordList => {
                let words: Vec<Option<Val<'a>>> = text::word_list(&s)
                    .into_iter()
                    .map(|w| Some(Val::Str(Cow::Owned(w.to_owned()))))
                    .collect();
                Renderer::owned_seq(words)
            }
            BuiltIn::Matches => {
                let s = s.into_owned();
                let pattern = self.arg_text(call, 0)?;
                let flags = self.regex_flags(call, 1)?;
                let regex = self
                    .cached_regex(call, &pattern, &flags)
                    .map_err(|e| error(e.kind(), span, e.to_string()))?;
                let whole = regex
                    .full_match(&s)
                    .map_err(|e| error(e.kind(), span, e.to_string()))?
                    .map(|groups| {
                        groups.into_iter().map(Option::unwrap_or_default).collect::<Vec<String>>()
                    });
                let found = regex.find_all(&s).map_err(|e| error(e.kind(), span, e.to_string()))?;
                let mut matches = Vec::with_capacity(found.len());
                for (start, end) in found {
                    // Each match runs the pattern again and copies its groups, so matches count
                    // as sequence items and their groups as built bytes.
                    self.iterate(span, 1)?;
                    // NOTE: the groups of each match come from matching the matched text alone,
                    // which differs from Java for patterns with lookaround.
                    let part = &s[start..end];
                    let groups = match regex.full_match(part) {
                        Ok(groups) => groups,
                        // A passed time limit ends the render. Too much backtracking on the
                        // matched text alone falls back to the whole match as the only group.
                        Err(e) if e.kind() == ErrorKind::Limit => {
                            return Err(error(e.kind(), span, e.to_string()));
                        }
                        Err(_) => None,
                    }
                    .unwrap_or_else(|| vec![Some(part.to_owned())]);
                    let group_bytes: usize = groups.iter().flatten().map(String::len).sum();
                    let slot_bytes = groups.len() * std::mem::size_of::<Option<String>>();
                    self.charge_bytes(span, group_bytes + slot_bytes)?;
                    matches.push(groups);
                }
                Val::Matches(Rc::new(MatchList {
                    whole: whole.is_some(),
                    whole_groups: whole.unwrap_or_default().into_iter().map(Some).collect(),
                    matches,
                }))
            }
            BuiltIn::EvalJson => {
                let parsed = Value::from_json_str(&drop_bare_decimal_points(&s)).map_err(|e| {
                    error(
                        ErrorKind::Evaluation,
                        span,
                        format!("?eval_json could not parse the string as JSON: {e}"),
                    )
                })?;
                owned_value(parsed).unwrap_or(Val::Empty)
            }
            // FreeMarker 2.3.31 formats a number with `number_format` and parses the text
            // back, so `?number` fails on `1,234.568` under the `number` format.
            BuiltIn::Number => match Number::parse_number(&s) {
                Ok(n) => Val::Num(Cow::Owned(n)),
                Err(e) => return Err(error(ErrorKind::Type, span, e.to_string())),
            },
            BuiltIn::Boolean => match (&target, s.as_ref()) {
                (Val::Bool(b), _) => Val::Bool(*b),
                (_, "true") => Val::Bool(true),
                (_, "false") => Val::Bool(false),
                // FreeMarker also accepts the two words of a `boolean_format` setting.
                (_, other) if self.settings.boolean_text(true) == Some(other) => Val::Bool(true),
                (_, other) if self.settings.boolean_text(false) == Some(other) => Val::Bool(false),
                (_, other) => {
                    return Err(error(
                        ErrorKind::Evaluation,
                        span,
                        format!(
                            "can't convert string {other:?} to a boolean; only \"true\" and \"false\" convert"
                        ),
                    ));
                }
            },
            other => {
                return Err(error(
                    ErrorKind::Evaluation,
                    span,
                    format!("`?{}` does not work on {}", other.name(), target.type_name()),
                ));
            }
        };
        Ok(value)
    }

    /// `?string`, `?string("pattern")`, `?string.name` and `?string("yes", "no")`.
    fn string_conversion(
        &mut self,
        call: &'a BuiltInCall,
        target: Val<'a>,
        span: Span,
    ) -> R<Val<'a>> {
        // The result of `?matches` is also a boolean, and `?string` formats it as one.
        let target = match target {
            Val::Matches(m) => Val::Bool(m.whole),
            other => other,
        };
        match (&target, call.args.len()) {
            (Val::Str(_) | Val::Empty | Val::Nothing | Val::Match(..), 0) => Ok(target),
            (Val::Num(n), 0) => {
                let mut out = String::new();
                self.settings
                    .write_number(n, &mut out)
                    .map_err(|e| error(ErrorKind::Evaluation, span, e))?;
                Ok(Val::Str(Cow::Owned(out)))
            }
            (Val::Num(n), 1) => {
                let pattern = self.arg_str(call, 0)?;
                let format = self
                    .cached_number_format(call, &pattern)
                    .map_err(|e| error(ErrorKind::Evaluation, call.args[0].span, e.to_string()))?;
                let mut out = String::new();
                n.write_format(&format, &mut out);
                Ok(Val::Str(Cow::Owned(out)))
            }
            (Val::Bool(b), 0) => {
                let text =
                    self.settings.boolean_text(*b).unwrap_or(if *b { "true" } else { "false" });
                Ok(Val::Str(Cow::Owned(text.to_owned())))
            }
            (Val::Bool(b), 2) => self.arg(call, if *b { 0 } else { 1 }).and_then(|v| {
                let text = self.to_text(&v, span)?.into_owned();
                Ok(Val::Str(Cow::Owned(text)))
            }),
            (Val::Date(_), _) => self.date_to_string(call, target, span),
            (Val::Seq(_) | Val::Hash(_) | Val::Matches(_), _) => {
                Err(self.wrong_target(call, "a string, number, boolean or date", &target))
            }
            (Val::Num(_), _) | (Val::Bool(_), _) => Err(error(
                ErrorKind::Evaluation,
                span,
                format!(
                    "`?string` on {} takes {}, not {} argument(s)",
                    target.type_name(),
                    if matches!(target, Val::Num(_)) { "one pattern" } else { "two texts" },
                    call.args.len()
                ),
            )),
            _ => Err(error(
                ErrorKind::Type,
                span,
                format!(
                    "`?string` with {} argument(s) does not work on {}",
                    call.args.len(),
                    target.type_name()
                ),
            )),
        }
    }

    /// Returns an upper bound on the bytes `?replace` builds, so a replacement that would grow
    /// the string far beyond the limit on built bytes fails before it allocates.
    fn replace_size_bound(
        &self,
        call: &'a BuiltInCall,
        s: &str,
        from: &str,
        to: &str,
        flags: &RegexFlags,
    ) -> usize {
        // A group reference such as `$1` in a regular expression's replacement copies matched
        // text, and the matches together are at most the whole string.
        let group_copies =
            if flags.regex { to.matches('$').count().saturating_mul(s.len()) } else { 0 };
        let bound = |replacements: usize| {
            s.len()
                .saturating_add(replacements.saturating_mul(to.len()))
                .saturating_add(group_copies)
        };
        // There are at most as many replacements as places between characters. When even
        // that many fit, counting the real ones would only repeat the search.
        let max_replacements = if flags.first_only { 1 } else { s.len().saturating_add(1) };
        let worst = bound(max_replacements);
        if self.built_bytes.saturating_add(worst) <= self.limits.max_built_bytes {
            return worst;
        }
        let replacements = if flags.first_only {
            1
        } else if flags.regex {
            // An invalid pattern or too much backtracking counts no replacements here, so that
            // the replacement itself reports the error.
            let matches =
                self.cached_regex(call, from, flags).ok().and_then(|r| r.find_all(s).ok());
            matches.map_or(0, |m| m.len())
        } else if from.is_empty() || flags.case_insensitive {
            s.len() + 1
        } else if to.len() <= from.len() {
            // Replacing never makes the string longer.
            0
        } else {
            count_matches(s, from)
        };
        bound(replacements)
    }

    fn regex_flags(&mut self, call: &'a BuiltInCall, index: usize) -> R<RegexFlags> {
        if index >= call.args.len() {
            return Ok(RegexFlags::default());
        }
        Ok(RegexFlags::parse(&self.arg_str(call, index)?))
    }
}

/// Returns `result` as a value, borrowing from `original` when it is a part of it.
fn keep<'a>(original: &Val<'a>, whole: &str, result: &str) -> Val<'a> {
    if let Val::Str(Cow::Borrowed(s)) = original {
        if let Some(offset) = (result.as_ptr() as usize).checked_sub(whole.as_ptr() as usize) {
            if let Some(part) = s.get(offset..offset + result.len()) {
                return Val::Str(Cow::Borrowed(part));
            }
        }
    }
    Val::Str(Cow::Owned(result.to_owned()))
}

/// Converts a parsed JSON value into an owned template value; `None` for `null`.
pub fn owned_value<'a>(value: Value) -> Option<Val<'a>> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => Val::Bool(b),
        Value::Number(n) => Val::Num(Cow::Owned(n)),
        Value::String(s) => Val::Str(Cow::Owned(s)),
        Value::Seq(items) => Renderer::owned_seq(items.into_iter().map(owned_value).collect()),
        Value::Hash(map) => Renderer::owned_hash(
            map.into_iter().map(|(k, v)| (Cow::Owned(k), owned_value(v))).collect(),
        ),
    })
}

/// Removes each decimal point that follows a digit and has no digit after it (`0.`, `1.e5`),
/// outside JSON strings. FreeMarker 2.3.31's `?eval_json` accepts such numbers, serde_json
/// does not, and without the point they have the same value.
fn drop_bare_decimal_points(json: &str) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    let bare_point = |i: usize| {
        bytes[i] == b'.'
            && i > 0
            && bytes[i - 1].is_ascii_digit()
            && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    };
    let mut in_string = false;
    let mut escaped = false;
    let mut out: Option<String> = None;
    for (i, c) in json.char_indices() {
        let keep = if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            true
        } else if c == '"' {
            in_string = true;
            true
        } else {
            !bare_point(i)
        };
        match (&mut out, keep) {
            (Some(text), true) => text.push(c),
            (Some(_), false) => {}
            (None, true) => {}
            (None, false) => out = Some(json[..i].to_owned()),
        }
    }
    match out {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(json),
    }
}

/// Counts the non-overlapping occurrences of `from` in `s`, as `str::matches` does.
fn count_matches(s: &str, from: &str) -> usize {
    match from.as_bytes() {
        // One byte of UTF-8 is an ASCII character, found faster as a `char`.
        [byte] => s.matches(char::from(*byte)).count(),
        _ => s.matches(from).count(),
    }
}

/// Returns a group's text as a string value; a group that took no part in the match is empty.
fn group_text<'a>(group: &Option<String>) -> Val<'a> {
    Val::Str(Cow::Owned(group.clone().unwrap_or_default()))
}
