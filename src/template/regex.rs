//! Java regular expressions, as FreeMarker's `?matches`, `?replace`, `?split` and friends use
//! them, translated to `fancy_regex`.
//!
//! The translation keeps Java's meaning where the two syntaxes differ: `\d`, `\w` and `\s` are
//! ASCII-only, `.` excludes every Java line terminator, `$` also matches before a final line
//! terminator, the POSIX classes (`\p{Alpha}`) are ASCII, and `\Q…\E` quotes. Constructs whose
//! Java meaning cannot be reproduced exactly (possessive quantifiers, `\G`, `\X`, unknown
//! property names, inline flags other than `i`, `m`, `s`, `x`) are rejected with an error
//! instead of matching differently.
//!
//! Matching is bounded in two ways. A pattern that needs backtracking (look-around, back
//! references, `\b`, and Java's `$`) runs in [`backtrack`], which fails after 1,000,000
//! backtracking steps, so a pathological pattern such as `(a+)+$` fails with an error instead of
//! hanging. That interpreter also stops at the render's time limit (see [`scan_deadline`]),
//! which it checks between instructions. Other patterns, and the parts of a pattern that the
//! interpreter hands over, run in the automata of the `regex` crate, whose search time is linear
//! in the input for a given pattern. Each such search is charged the length of the text it may
//! scan, and matching stops at the time limit between searches.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use fancy_regex::internal::{Prog, analyze, compile};
use fancy_regex::{Captures, Expr, Regex, RegexBuilder};

use super::ErrorKind;

mod backtrack;

use backtrack::{BACKTRACK_LIMIT, Budget, Stop};

/// Maximum count of compiled patterns kept per thread by [`JavaRegex::cached`].
const CACHE_CAPACITY: usize = 256;

thread_local! {
    /// Compiled patterns by flags and pattern text, so a template's regular expressions are
    /// compiled once per thread instead of at every render. Patterns may come from the data, so
    /// the hasher is seeded at random.
    static CACHE: RefCell<foldhash::HashMap<String, Rc<JavaRegex>>> =
        RefCell::new(foldhash::HashMap::default());
}

/// Maximum length of a pattern, in bytes.
const MAX_PATTERN_LENGTH: usize = 10_000;

/// Java's line terminators, as a class body.
const LINE_TERMINATORS: &str = r"\n\r\x{85}\x{2028}\x{2029}";

/// Java's `$` without `MULTILINE`: the end of input, or before a line terminator that ends
/// the input (never between the `\r` and `\n` of one line break).
const INPUT_END: &str = r"(?:\z|(?=\r\n\z)|(?=[\r\x{85}\x{2028}\x{2029}]\z)|(?<!\r)(?=\n\z))";

/// Java's `$` with `MULTILINE`: before any line terminator or at the end of input.
const LINE_END: &str = r"(?:\z|(?=[\r\x{85}\x{2028}\x{2029}])|(?<!\r)(?=\n))";

/// An error from compiling or running a regular expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegexError {
    /// The pattern is not a valid Java regular expression.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Invalid {
        /// The pattern as given.
        pattern: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// The pattern is valid Java but uses a construct this renderer cannot match exactly.
    #[error(
        "unsupported regular expression {pattern:?}: {reason}; rewrite it without that construct"
    )]
    Unsupported {
        /// The pattern as given.
        pattern: String,
        /// The construct.
        reason: String,
    },
    /// A replacement string refers to a group that does not exist.
    #[error("invalid replacement {replacement:?}: {reason}")]
    InvalidReplacement {
        /// The replacement as given.
        replacement: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// Matching took more backtracking steps than the limit allows.
    #[error(
        "regular expression {pattern:?} needs too much backtracking on this input; simplify it"
    )]
    TooComplex {
        /// The pattern as given.
        pattern: String,
    },
    /// A scan through the input ran past the deadline set by [`scan_deadline`].
    #[error(
        "regular expression {pattern:?} ran past the render's time limit on this input; \
         simplify it or apply it to shorter text"
    )]
    TimedOut {
        /// The pattern as given.
        pattern: String,
    },
}

impl RegexError {
    /// Returns the class of template error this error becomes: running past the render's time
    /// limit is a limit error, anything else an evaluation error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegexError::TimedOut { .. } => ErrorKind::Limit,
            _ => ErrorKind::Evaluation,
        }
    }
}

thread_local! {
    /// The running render's deadline on this thread.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Units of matching work on this thread since the clock was last read.
    static WORK: Cell<u64> = const { Cell::new(0) };
}

/// Stops regular-expression matching on this thread at `deadline` until the returned guard is
/// dropped: a running match fails with [`RegexError::TimedOut`] soon after it.
pub fn scan_deadline(deadline: Option<Instant>) -> DeadlineGuard {
    DeadlineGuard { previous: DEADLINE.with(|cell| cell.replace(deadline)) }
}

/// Restores the previous scan deadline when dropped.
pub struct DeadlineGuard {
    previous: Option<Instant>,
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|cell| cell.set(self.previous));
    }
}

/// Runs `f` with this thread's deadline and work count, and stores the work count back.
fn with_budget<T>(f: impl FnOnce(&mut Budget) -> T) -> T {
    let mut budget = Budget { deadline: DEADLINE.with(Cell::get), work: WORK.with(Cell::get) };
    let result = f(&mut budget);
    WORK.with(|cell| cell.set(budget.work));
    result
}

/// The flags of FreeMarker's string built-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegexFlags {
    /// `r`: the argument is a regular expression.
    pub regex: bool,
    /// `i`: case-insensitive.
    pub case_insensitive: bool,
    /// `f`: only the first occurrence.
    pub first_only: bool,
    /// `m`: `^` and `$` match at line boundaries.
    pub multiline: bool,
    /// `s`: `.` matches line terminators too.
    pub dot_all: bool,
    /// `c`: whitespace and `#` comments in the pattern are ignored.
    pub comments: bool,
}

impl RegexFlags {
    /// Parses a FreeMarker flag string such as `"ri"`; unknown letters are ignored, as
    /// FreeMarker 2.3.31 ignores them.
    pub fn parse(flags: &str) -> RegexFlags {
        let mut parsed = RegexFlags::default();
        for c in flags.chars() {
            match c {
                'r' => parsed.regex = true,
                'i' => parsed.case_insensitive = true,
                'f' => parsed.first_only = true,
                'm' => parsed.multiline = true,
                's' => parsed.dot_all = true,
                'c' => parsed.comments = true,
                // FreeMarker only logs a warning for other letters and ignores them.
                _ => {}
            }
        }
        parsed
    }
}

/// A compiled Java regular expression.
#[derive(Debug, Clone)]
pub struct JavaRegex {
    pattern: String,
    engine: Engine,
    /// Count of capturing groups, not counting group 0.
    groups: usize,
    /// Names of named groups with their numbers.
    names: Vec<(String, usize)>,
}

/// The compiled form of a pattern, in the engine that matches it.
#[derive(Debug, Clone)]
enum Engine {
    /// A pattern without look-around, back references or word boundaries, which `fancy_regex`
    /// hands whole to the automata of the `regex` crate.
    Automaton {
        regex: Regex,
        /// The same pattern anchored at both ends, for `?matches`.
        anchored: Regex,
    },
    /// A pattern that needs backtracking, run by [`backtrack::run`].
    Backtracking(Programs),
}

/// The programs `fancy_regex` compiles for a pattern that needs backtracking, with the count of
/// slots each uses.
#[derive(Debug, Clone)]
struct Programs {
    search: Prog,
    search_slots: usize,
    whole: Prog,
    whole_slots: usize,
}

/// One match, from either engine.
enum Found<'t> {
    Automaton(Captures<'t>),
    /// The slots of a [`backtrack::run`]: group `i` spans slots `2 * i` and `2 * i + 1`.
    Backtracking(Vec<usize>),
}

impl Found<'_> {
    /// Returns the byte range of group `i`, or `None` when it took no part in the match.
    fn group(&self, i: usize) -> Option<(usize, usize)> {
        match self {
            Found::Automaton(captures) => captures.get(i).map(|m| (m.start(), m.end())),
            Found::Backtracking(slots) => {
                let start = *slots.get(2 * i)?;
                let end = *slots.get(2 * i + 1)?;
                (start != usize::MAX && end != usize::MAX).then_some((start, end))
            }
        }
    }
}

/// Returns whether `expr` contains a construct that `fancy_regex` matches by backtracking: a
/// look-around, a back reference, an atomic group, a conditional or a word boundary.
fn needs_backtracking(expr: &Expr) -> bool {
    match expr {
        Expr::Empty | Expr::Any { .. } | Expr::Literal { .. } | Expr::Delegate { .. } => false,
        Expr::Assertion(assertion) => !matches!(
            assertion,
            fancy_regex::Assertion::StartText
                | fancy_regex::Assertion::EndText
                | fancy_regex::Assertion::StartLine { .. }
                | fancy_regex::Assertion::EndLine { .. }
        ),
        Expr::Concat(children) | Expr::Alt(children) => children.iter().any(needs_backtracking),
        Expr::Group(child) | Expr::Repeat { child, .. } => needs_backtracking(child),
        Expr::LookAround(..)
        | Expr::Backref(_)
        | Expr::AtomicGroup(_)
        | Expr::KeepOut
        | Expr::ContinueFromPreviousMatchEnd
        | Expr::BackrefExistsCondition(_)
        | Expr::Conditional { .. } => true,
    }
}

/// Compiles `source` as `fancy_regex::Regex` compiles it, with the same lazy `.*?` in front
/// that tries each start position in turn, and returns the program with its slot count. Returns
/// `None` when the pattern needs no backtracking.
fn backtracking_program(source: &str, groups: usize) -> Result<Option<(Prog, usize)>, String> {
    let mut tree = Expr::parse_tree(source).map_err(|e| e.to_string())?;
    if !needs_backtracking(&tree.expr) {
        return Ok(None);
    }
    let pattern = std::mem::replace(&mut tree.expr, Expr::Empty);
    let any_prefix = Expr::Repeat {
        child: Box::new(Expr::Any { newline: true }),
        lo: 0,
        hi: usize::MAX,
        greedy: false,
    };
    tree.expr = Expr::Concat(vec![any_prefix, Expr::Group(Box::new(pattern))]);
    let info = analyze(&tree).map_err(|e| e.to_string())?;
    let program = compile(&info).map_err(|e| e.to_string())?;
    let slots = backtrack::slot_count(&program, 2 * (groups + 1));
    Ok(Some((program, slots)))
}

impl JavaRegex {
    /// Compiles a Java pattern with FreeMarker's flags.
    pub fn compile(pattern: &str, flags: &RegexFlags) -> Result<JavaRegex, RegexError> {
        if pattern.len() > MAX_PATTERN_LENGTH {
            return Err(RegexError::Unsupported {
                pattern: pattern.chars().take(100).collect(),
                reason: format!("it is longer than {MAX_PATTERN_LENGTH} bytes"),
            });
        }
        let translated = Translator::new(pattern, flags).translate()?;
        let invalid = |reason: String| RegexError::Invalid { pattern: pattern.to_owned(), reason };
        let anchored_source = format!(r"\A(?:{})\z", translated.source);
        // `fancy_regex::Regex` would compile a pattern that needs backtracking into the same
        // programs, so such a pattern is compiled only into the programs the interpreter runs.
        let search =
            backtracking_program(&translated.source, translated.groups).map_err(invalid)?;
        let whole = match search {
            Some(_) => {
                backtracking_program(&anchored_source, translated.groups).map_err(invalid)?
            }
            None => None,
        };
        let engine = match (search, whole) {
            (Some((search, search_slots)), Some((whole, whole_slots))) => {
                Engine::Backtracking(Programs { search, search_slots, whole, whole_slots })
            }
            _ => {
                let regex = RegexBuilder::new(&translated.source)
                    .backtrack_limit(BACKTRACK_LIMIT)
                    .build()
                    .map_err(|e| invalid(e.to_string()))?;
                let anchored = RegexBuilder::new(&anchored_source)
                    .backtrack_limit(BACKTRACK_LIMIT)
                    .build()
                    .map_err(|e| invalid(e.to_string()))?;
                Engine::Automaton { regex, anchored }
            }
        };
        Ok(JavaRegex {
            pattern: pattern.to_owned(),
            engine,
            groups: translated.groups,
            names: translated.names,
        })
    }

    /// Returns the compiled pattern from this thread's cache, compiling it on first use.
    ///
    /// The cache keeps at most 256 patterns and starts over when full.
    pub fn cached(pattern: &str, flags: &RegexFlags) -> Result<Rc<JavaRegex>, RegexError> {
        let mut key = String::with_capacity(pattern.len() + 4);
        for (set, letter) in [
            (flags.case_insensitive, 'i'),
            (flags.multiline, 'm'),
            (flags.dot_all, 's'),
            (flags.comments, 'c'),
        ] {
            if set {
                key.push(letter);
            }
        }
        key.push(':');
        key.push_str(pattern);
        if let Some(regex) = CACHE.with(|cache| cache.borrow().get(&key).cloned()) {
            return Ok(regex);
        }
        let regex = Rc::new(JavaRegex::compile(pattern, flags)?);
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, Rc::clone(&regex));
        });
        Ok(regex)
    }

    fn too_complex(&self) -> RegexError {
        RegexError::TooComplex { pattern: self.pattern.clone() }
    }

    fn stopped(&self, stop: Stop) -> RegexError {
        match stop {
            Stop::TooComplex => self.too_complex(),
            Stop::TimedOut => RegexError::TimedOut { pattern: self.pattern.clone() },
        }
    }

    /// Charges a search of the automaton from byte `pos` of `s` to this thread's budget, and
    /// fails once the deadline set by [`scan_deadline`] has passed.
    ///
    /// NOTE: the search itself is not interrupted. Its time is linear in the text but grows with
    /// the pattern's automaton: `(?:[a-z]{2,50}){50}[0-9]` over 200,000 `a`s took 5.2 s in one
    /// search of a release build, so a render can overrun its time limit by that much.
    fn charge_search(&self, s: &str, pos: usize) -> Result<(), RegexError> {
        with_budget(|budget| budget.charge(s.len().saturating_sub(pos) + 1))
            .map_err(|stop| self.stopped(stop))
    }

    /// Runs `program` from byte `pos` of `s` on this thread's budget.
    fn run(
        &self,
        program: &Prog,
        slots: usize,
        s: &str,
        pos: usize,
    ) -> Result<Option<Vec<usize>>, RegexError> {
        with_budget(|budget| backtrack::run(program, slots, s, pos, budget))
            .map_err(|stop| self.stopped(stop))
    }

    /// Returns the first match starting at or after byte `pos`, with its groups.
    fn captures_at<'t>(&self, s: &'t str, pos: usize) -> Result<Option<Found<'t>>, RegexError> {
        match &self.engine {
            Engine::Backtracking(programs) => {
                let found = self.run(&programs.search, programs.search_slots, s, pos)?;
                Ok(found.map(Found::Backtracking))
            }
            Engine::Automaton { regex, .. } => {
                self.charge_search(s, pos)?;
                match regex.captures_from_pos(s, pos) {
                    Ok(found) => Ok(found.map(Found::Automaton)),
                    Err(_) => Err(self.too_complex()),
                }
            }
        }
    }

    /// Returns the byte range of the first match starting at or after byte `pos`.
    pub fn find_at(&self, s: &str, pos: usize) -> Result<Option<(usize, usize)>, RegexError> {
        if pos > s.len() {
            return Ok(None);
        }
        match &self.engine {
            Engine::Backtracking(programs) => {
                let found = self.run(&programs.search, programs.search_slots, s, pos)?;
                Ok(found.and_then(|slots| Found::Backtracking(slots).group(0)))
            }
            Engine::Automaton { regex, .. } => {
                self.charge_search(s, pos)?;
                match regex.find_from_pos(s, pos) {
                    Ok(found) => Ok(found.map(|m| (m.start(), m.end()))),
                    Err(_) => Err(self.too_complex()),
                }
            }
        }
    }

    /// Returns every match as a byte range, as Java's `Matcher.find` loop finds them: after an
    /// empty match the search moves on by one character.
    pub fn find_all(&self, s: &str) -> Result<Vec<(usize, usize)>, RegexError> {
        let mut found = Vec::new();
        let mut at = 0;
        while at <= s.len() {
            let Some((start, end)) = self.find_at(s, at)? else { break };
            found.push((start, end));
            at = if end > start {
                end
            } else {
                end + s[end..].chars().next().map_or(1, char::len_utf8)
            };
        }
        Ok(found)
    }

    /// Returns the groups (group 0 first) when the whole of `s` matches, as Java's
    /// `Matcher.matches` decides.
    pub fn full_match(&self, s: &str) -> Result<Option<Vec<Option<String>>>, RegexError> {
        let found = match &self.engine {
            Engine::Backtracking(programs) => {
                self.run(&programs.whole, programs.whole_slots, s, 0)?.map(Found::Backtracking)
            }
            Engine::Automaton { anchored, .. } => {
                self.charge_search(s, 0)?;
                anchored.captures(s).map_err(|_| self.too_complex())?.map(Found::Automaton)
            }
        };
        Ok(found.map(|found| self.group_texts(s, &found)))
    }

    /// Returns the text of each group (group 0 first) of `found`.
    fn group_texts(&self, s: &str, found: &Found<'_>) -> Vec<Option<String>> {
        (0..=self.groups)
            .map(|i| found.group(i).and_then(|(start, end)| s.get(start..end)).map(str::to_owned))
            .collect()
    }

    /// Returns the groups (group 0 first) of every match found scanning `s` as Java's
    /// `Matcher.find` loop finds them. A group that took no part in a match is `None`.
    pub fn find_all_groups(&self, s: &str) -> Result<Vec<Vec<Option<String>>>, RegexError> {
        let mut found = Vec::new();
        let mut at = 0;
        while at <= s.len() {
            let Some(captures) = self.captures_at(s, at)? else { break };
            let Some((start, end)) = captures.group(0) else { break };
            found.push(self.group_texts(s, &captures));
            at = if end > start {
                end
            } else {
                end + s[end..].chars().next().map_or(1, char::len_utf8)
            };
        }
        Ok(found)
    }

    /// Returns the count of capturing groups, not counting group 0.
    pub fn group_count(&self) -> usize {
        self.groups
    }

    /// Splits `s` at every match as Java's `String.split` does: a match of zero length at the
    /// very start produces no leading empty item, and trailing empty items are dropped.
    pub fn split<'a>(&self, s: &'a str) -> Result<Vec<&'a str>, RegexError> {
        let mut items = Vec::new();
        let mut last = 0;
        for (start, end) in self.find_all(s)? {
            if end == 0 && start == 0 {
                continue;
            }
            items.push(&s[last..start]);
            last = end;
        }
        items.push(&s[last..]);
        // Java's `String.split` drops trailing empty items, unless nothing matched at all.
        if items.len() > 1 {
            while items.last() == Some(&"") {
                items.pop();
            }
        }
        Ok(items)
    }

    /// Appends `s` with matches replaced by `replacement`, where `$n` and `${name}` insert
    /// groups and `\` quotes the next character, as Java's `Matcher.replaceAll` does.
    pub fn replace(
        &self,
        s: &str,
        replacement: &str,
        first_only: bool,
        out: &mut String,
    ) -> Result<(), RegexError> {
        let parts = self.parse_replacement(replacement)?;
        // Without a group reference only the match's bounds are needed, which the automaton
        // finds faster than it finds groups.
        let plain = parts.iter().all(|part| matches!(part, ReplacementPart::Text(_)));
        let mut last = 0;
        let mut at = 0;
        while at <= s.len() {
            let (start, end, captures) = if plain {
                let Some((start, end)) = self.find_at(s, at)? else { break };
                (start, end, None)
            } else {
                let Some(captures) = self.captures_at(s, at)? else { break };
                let Some((start, end)) = captures.group(0) else { break };
                (start, end, Some(captures))
            };
            out.push_str(&s[last..start]);
            for part in &parts {
                match part {
                    ReplacementPart::Text(text) => out.push_str(text),
                    ReplacementPart::Group(i) => {
                        let group = captures.as_ref().and_then(|found| found.group(*i));
                        if let Some(text) = group.and_then(|(a, b)| s.get(a..b)) {
                            out.push_str(text);
                        }
                    }
                }
            }
            last = end;
            if first_only {
                break;
            }
            at = if end > start {
                end
            } else {
                end + s[end..].chars().next().map_or(1, char::len_utf8)
            };
        }
        out.push_str(&s[last..]);
        Ok(())
    }

    fn parse_replacement(&self, replacement: &str) -> Result<Vec<ReplacementPart>, RegexError> {
        let invalid = |reason: &str| RegexError::InvalidReplacement {
            replacement: replacement.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(quoted) => text.push(quoted),
                    None => return Err(invalid("character to be escaped is missing")),
                },
                '$' => {
                    let group = match chars.peek() {
                        Some('{') => {
                            chars.next();
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(n) if n.is_ascii_alphanumeric() => name.push(n),
                                    _ => {
                                        return Err(invalid(
                                            "named group reference is not closed with }",
                                        ));
                                    }
                                }
                            }
                            self.names
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, i)| *i)
                                .ok_or_else(|| invalid(&format!("no group named {name}")))?
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d.to_digit(10).unwrap_or(0) as usize;
                            chars.next();
                            if number > self.groups {
                                return Err(invalid(&format!("no group {number}")));
                            }
                            // Java takes more digits while the number stays a valid group.
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = number * 10 + next as usize;
                                if longer > self.groups {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            number
                        }
                        _ => {
                            return Err(invalid(
                                "`$` must be followed by a group number or {name}; write \\$ for a dollar sign",
                            ));
                        }
                    };
                    if !text.is_empty() {
                        parts.push(ReplacementPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(ReplacementPart::Group(group));
                }
                _ => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(ReplacementPart::Text(text));
        }
        Ok(parts)
    }
}

enum ReplacementPart {
    Text(String),
    Group(usize),
}

struct Translated {
    source: String,
    groups: usize,
    names: Vec<(String, usize)>,
}

/// Inline flags in effect at a point of the pattern.
#[derive(Debug, Clone, Copy)]
struct Mode {
    case_insensitive: bool,
    multiline: bool,
    dot_all: bool,
    comments: bool,
}

/// The meaning of an escape sequence.
enum Escaped {
    /// One character, to be matched literally.
    Char(char),
    /// The characters between `\Q` and `\E`, each matched literally; a quantifier after them
    /// applies to the last one, as in Java.
    Quoted(Vec<char>),
    /// Translated regex text: a class body inside a class, any construct outside.
    Text(String),
}

/// A group opened and not yet closed.
struct OpenGroup {
    /// The mode to restore when the group closes.
    mode: Mode,
    /// The group's start in the output, where a possessive quantifier after it wraps it.
    start: usize,
}

struct Translator<'a> {
    pattern: &'a str,
    chars: Vec<char>,
    pos: usize,
    out: String,
    groups: usize,
    names: Vec<(String, usize)>,
    stack: Vec<OpenGroup>,
    mode: Mode,
    /// Output position where the last complete atom starts, for possessive quantifiers.
    atom_start: Option<usize>,
}

impl<'a> Translator<'a> {
    fn new(pattern: &'a str, flags: &RegexFlags) -> Translator<'a> {
        Translator {
            pattern,
            chars: pattern.chars().collect(),
            pos: 0,
            out: String::with_capacity(pattern.len() + 16),
            groups: 0,
            names: Vec::new(),
            stack: Vec::new(),
            mode: Mode {
                case_insensitive: flags.case_insensitive,
                multiline: flags.multiline,
                dot_all: flags.dot_all,
                comments: flags.comments,
            },
            atom_start: None,
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> RegexError {
        RegexError::Invalid { pattern: self.pattern.to_owned(), reason: reason.into() }
    }

    fn unsupported(&self, reason: impl Into<String>) -> RegexError {
        RegexError::Unsupported { pattern: self.pattern.to_owned(), reason: reason.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Appends an atom, remembering where it starts.
    fn push_atom(&mut self, text: &str) {
        self.atom_start = Some(self.out.len());
        self.out.push_str(text);
    }

    /// Appends an assertion, which a quantifier may not follow.
    fn push_assertion(&mut self, text: &str) {
        self.atom_start = None;
        self.out.push_str(text);
    }

    /// Appends a literal character; ASCII letters match both cases in case-insensitive mode,
    /// which in Java (without `UNICODE_CASE`) folds ASCII only.
    fn push_char(&mut self, c: char) {
        let mut text = String::new();
        if self.mode.case_insensitive && c.is_ascii_alphabetic() {
            text.push('[');
            text.push(c.to_ascii_lowercase());
            text.push(c.to_ascii_uppercase());
            text.push(']');
        } else {
            push_literal(c, &mut text);
        }
        self.push_atom(&text);
    }

    fn translate(mut self) -> Result<Translated, RegexError> {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => match self.escape(false)? {
                    Escaped::Char(literal) => self.push_char(literal),
                    Escaped::Quoted(literals) => {
                        literals.into_iter().for_each(|c| self.push_char(c))
                    }
                    Escaped::Text(text) if is_assertion(&text) => self.push_assertion(&text),
                    Escaped::Text(text) => self.push_atom(&text),
                },
                '[' => {
                    let class = self.class()?;
                    self.push_atom(&class);
                }
                '.' => {
                    if self.mode.dot_all {
                        self.push_atom("(?s:.)");
                    } else {
                        self.push_atom(&format!("[^{LINE_TERMINATORS}]"));
                    }
                }
                '^' => {
                    if self.mode.multiline {
                        self.push_assertion(concat!(
                            r"(?:\A|(?<=[\n\x{85}\x{2028}\x{2029}])(?!\z)",
                            r"|(?<=\r)(?!\n)(?!\z))"
                        ));
                    } else {
                        self.push_assertion(r"\A");
                    }
                }
                '$' => {
                    if self.mode.multiline {
                        self.push_assertion(LINE_END);
                    } else {
                        self.push_assertion(INPUT_END);
                    }
                }
                '(' => self.open_group()?,
                ')' => {
                    let group =
                        self.stack.pop().ok_or_else(|| self.invalid("unmatched closing ')'"))?;
                    self.mode = group.mode;
                    self.out.push(')');
                    self.atom_start = Some(group.start);
                }
                '*' | '+' | '?' => {
                    self.out.push(c);
                    self.quantifier_suffix()?;
                }
                '{' => {
                    // A bounded repetition; Java requires it to be well formed.
                    let start = self.pos;
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == '}' {
                            break;
                        }
                        if !(d.is_ascii_digit() || d == ',') {
                            return Err(self.invalid("malformed repetition {n,m}"));
                        }
                    }
                    let body: String = self.chars[start..self.pos].iter().collect();
                    if !body.ends_with('}') || body.starts_with([',', '}']) {
                        return Err(self.invalid("malformed repetition {n,m}"));
                    }
                    self.out.push('{');
                    self.out.push_str(&body);
                    self.quantifier_suffix()?;
                }
                ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' if self.mode.comments => {}
                '#' if self.mode.comments => {
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == '\n' {
                            break;
                        }
                    }
                }
                '|' => {
                    self.out.push('|');
                    self.atom_start = None;
                }
                _ => self.push_char(c),
            }
        }
        if !self.stack.is_empty() {
            return Err(self.invalid("unclosed group"));
        }
        Ok(Translated { source: self.out, groups: self.groups, names: self.names })
    }

    /// Handles what may follow a quantifier: `?` (lazy) is kept, and `+` (possessive) wraps the
    /// quantified atom in an atomic group, which means the same.
    fn quantifier_suffix(&mut self) -> Result<(), RegexError> {
        match self.peek() {
            Some('?') => {
                self.pos += 1;
                self.out.push('?');
            }
            Some('+') => {
                self.pos += 1;
                let start = self.atom_start.ok_or_else(|| self.invalid("dangling quantifier"))?;
                let quantified = self.out.split_off(start);
                self.out.push_str("(?>");
                self.out.push_str(&quantified);
                self.out.push(')');
            }
            _ => {}
        }
        // A quantified atom may not be quantified again in Java.
        self.atom_start = None;
        Ok(())
    }

    fn open_group(&mut self) -> Result<(), RegexError> {
        let start = self.out.len();
        if self.peek() != Some('?') {
            self.groups += 1;
            self.stack.push(OpenGroup { mode: self.mode, start });
            self.out.push('(');
            return Ok(());
        }
        self.pos += 1;
        match self.peek() {
            Some(kind @ (':' | '=' | '!' | '>')) => {
                self.pos += 1;
                self.stack.push(OpenGroup { mode: self.mode, start });
                self.out.push_str("(?");
                self.out.push(kind);
            }
            Some('<') if matches!(self.peek_at(1), Some('=' | '!')) => {
                let kind = self.peek_at(1).unwrap_or('=');
                self.pos += 2;
                self.stack.push(OpenGroup { mode: self.mode, start });
                self.out.push_str("(?<");
                self.out.push(kind);
            }
            Some('<') => {
                self.pos += 1;
                let mut name = String::new();
                loop {
                    match self.peek() {
                        Some('>') => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) if c.is_ascii_alphanumeric() => {
                            self.pos += 1;
                            name.push(c);
                        }
                        _ => {
                            return Err(
                                self.invalid("a group name must be letters and digits closed by >")
                            );
                        }
                    }
                }
                if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    return Err(self.invalid("a group name must start with a letter"));
                }
                if self.names.iter().any(|(n, _)| *n == name) {
                    return Err(self.invalid(format!("the group name {name} is used twice")));
                }
                self.groups += 1;
                self.names.push((name.clone(), self.groups));
                self.stack.push(OpenGroup { mode: self.mode, start });
                // Named groups become plain groups: names are resolved here, so the translated
                // pattern can mix them with numbered back references.
                self.out.push('(');
            }
            _ => self.inline_flags(start)?,
        }
        self.atom_start = None;
        Ok(())
    }

    /// Handles `(?idmsux-idmsux)` and `(?flags:...)`; only `i`, `m`, `s` and `x` are supported.
    fn inline_flags(&mut self, start: usize) -> Result<(), RegexError> {
        let mut on = true;
        let mut mode = self.mode;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.invalid("unclosed inline flag group"));
            };
            self.pos += 1;
            match c {
                '-' => on = false,
                'i' => mode.case_insensitive = on,
                'm' => mode.multiline = on,
                's' => mode.dot_all = on,
                'x' => mode.comments = on,
                ')' => {
                    self.mode = mode;
                    return Ok(());
                }
                ':' => {
                    self.stack.push(OpenGroup { mode: self.mode, start });
                    self.mode = mode;
                    self.out.push_str("(?:");
                    return Ok(());
                }
                'u' | 'd' | 'U' => {
                    return Err(self.unsupported(format!("the inline flag {c:?}")));
                }
                _ => return Err(self.invalid(format!("unknown inline flag {c:?}"))),
            }
        }
    }

    /// Translates a character class, including nested classes, ranges and `&&`.
    fn class(&mut self) -> Result<String, RegexError> {
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.invalid("unclosed character class"));
            };
            self.pos += 1;
            let single = match c {
                ']' if !first => break,
                '[' => {
                    out.push_str(&self.class()?);
                    None
                }
                '&' if self.peek() == Some('&') => {
                    self.pos += 1;
                    out.push_str("&&");
                    None
                }
                '\\' => match self.escape(true)? {
                    Escaped::Char(literal) => Some(literal),
                    Escaped::Quoted(literals) => {
                        for literal in literals {
                            self.push_class_range(literal, literal, &mut out);
                        }
                        None
                    }
                    Escaped::Text(text) => {
                        out.push_str(&text);
                        None
                    }
                },
                ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' if self.mode.comments => None,
                _ => Some(c),
            };
            first = false;
            let Some(low) = single else { continue };
            // A `-` between two characters makes a range, unless it closes the class.
            if self.peek() == Some('-') && !matches!(self.peek_at(1), Some(']') | Some('[') | None)
            {
                self.pos += 1;
                let high = match self.peek() {
                    Some('\\') => {
                        self.pos += 1;
                        match self.escape(true)? {
                            Escaped::Char(high) => high,
                            Escaped::Text(_) | Escaped::Quoted(_) => {
                                return Err(self.invalid("illegal character range"));
                            }
                        }
                    }
                    Some(high) => {
                        self.pos += 1;
                        high
                    }
                    None => return Err(self.invalid("unclosed character class")),
                };
                if high < low {
                    return Err(self.invalid(format!("illegal character range {low}-{high}")));
                }
                self.push_class_range(low, high, &mut out);
            } else {
                self.push_class_range(low, low, &mut out);
            }
        }
        out.push(']');
        Ok(out)
    }

    /// Appends a class range, adding the other case of its ASCII letters in case-insensitive
    /// mode.
    fn push_class_range(&self, low: char, high: char, out: &mut String) {
        if low == ':' && high == ':' && out.ends_with('[') {
            // Java has no POSIX bracket classes, so `[[:alpha:]]` contains the characters
            // `:alph`. The `regex` crate reads a nested class that starts with `[:NAME:]` as
            // a POSIX class, and `fancy_regex` turns every escaped `:` back into a bare one.
            // Written as the range `:-:`, the colon makes the crate look for a class named
            // `-`, which does not exist, so it reads an ordinary nested class.
            out.push_str(":-:");
        } else {
            push_range(low, high, out);
        }
        if !self.mode.case_insensitive {
            return;
        }
        for (from, to, shift) in [('a', 'z', -32i32), ('A', 'Z', 32)] {
            let (overlap_low, overlap_high) = (low.max(from), high.min(to));
            if overlap_low <= overlap_high {
                let map = |c: char| char::from_u32((c as i32 + shift) as u32).unwrap_or(c);
                push_range(map(overlap_low), map(overlap_high), out);
            }
        }
    }

    /// Translates the escape after a `\`; `in_class` selects class-body forms.
    fn escape(&mut self, in_class: bool) -> Result<Escaped, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("the pattern ends with a lone backslash"));
        };
        self.pos += 1;
        let class = |body: &str, negated: bool| -> Escaped {
            Escaped::Text(match (in_class, negated) {
                (true, false) => body.to_owned(),
                (_, true) => format!("[^{body}]"),
                (false, false) => format!("[{body}]"),
            })
        };
        const HORIZONTAL: &str =
            r" \t\xA0\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}";
        const VERTICAL: &str = r"\n\x0B\f\r\x{85}\x{2028}\x{2029}";
        Ok(match c {
            'd' => class("0-9", false),
            'D' => class("0-9", true),
            'w' => class("a-zA-Z_0-9", false),
            'W' => class("a-zA-Z_0-9", true),
            's' => class(r"\t\n\x0B\f\r ", false),
            'S' => class(r"\t\n\x0B\f\r ", true),
            'h' => class(HORIZONTAL, false),
            'H' => class(HORIZONTAL, true),
            'v' => class(VERTICAL, false),
            'V' => class(VERTICAL, true),
            'b' | 'B' | 'A' | 'z' if !in_class => Escaped::Text(format!("\\{c}")),
            'Z' if !in_class => Escaped::Text(INPUT_END.to_owned()),
            'R' if !in_class => {
                Escaped::Text(r"(?:\r\n|[\n\x0B\f\r\x{85}\x{2028}\x{2029}])".to_owned())
            }
            't' => Escaped::Char('\t'),
            'n' => Escaped::Char('\n'),
            'r' => Escaped::Char('\r'),
            'f' => Escaped::Char('\u{c}'),
            'a' => Escaped::Char('\u{7}'),
            'e' => Escaped::Char('\u{1b}'),
            '0' => {
                let mut value = 0u32;
                let mut digits = 0;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(8)) {
                    let next = value * 8 + d;
                    if digits == 3 || next > 0o377 {
                        break;
                    }
                    value = next;
                    digits += 1;
                    self.pos += 1;
                }
                if digits == 0 {
                    return Err(self.invalid("illegal octal escape \\0"));
                }
                Escaped::Char(char::from_u32(value).unwrap_or('\0'))
            }
            'x' => {
                let value = if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut value = 0u32;
                    loop {
                        match self.peek() {
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            Some(d) if d.is_ascii_hexdigit() => {
                                self.pos += 1;
                                let digit = d.to_digit(16).unwrap_or(0);
                                value = value.saturating_mul(16).saturating_add(digit);
                            }
                            _ => return Err(self.invalid("malformed \\x{...} escape")),
                        }
                    }
                    value
                } else {
                    self.hex_digits(2)?
                };
                let literal = char::from_u32(value)
                    .ok_or_else(|| self.unsupported("escapes of surrogates or beyond U+10FFFF"))?;
                Escaped::Char(literal)
            }
            'u' => {
                let mut value = self.hex_digits(4)?;
                if (0xd800..0xdc00).contains(&value)
                    && self.peek() == Some('\\')
                    && self.peek_at(1) == Some('u')
                {
                    self.pos += 2;
                    let low = self.hex_digits(4)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return Err(self.unsupported("a lone surrogate escape"));
                    }
                    value = 0x10000 + ((value - 0xd800) << 10) + (low - 0xdc00);
                }
                let literal = char::from_u32(value)
                    .ok_or_else(|| self.unsupported("a lone surrogate escape"))?;
                Escaped::Char(literal)
            }
            'c' => {
                let Some(letter) = self.peek() else {
                    return Err(self.invalid("\\c must be followed by a character"));
                };
                self.pos += 1;
                Escaped::Char(char::from_u32(u32::from(letter) ^ 64).unwrap_or('\0'))
            }
            'p' | 'P' => {
                let name = if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut name = String::new();
                    loop {
                        match self.peek() {
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            Some(n) => {
                                self.pos += 1;
                                name.push(n);
                            }
                            None => return Err(self.invalid("unclosed \\p{...}")),
                        }
                    }
                    name
                } else {
                    let Some(letter) = self.peek() else {
                        return Err(self.invalid("\\p must be followed by a property"));
                    };
                    self.pos += 1;
                    letter.to_string()
                };
                let body = property_class(&name, self.mode.case_insensitive)
                    .ok_or_else(|| self.unsupported(format!("the property \\p{{{name}}}")))?;
                class(&body, c == 'P')
            }
            'Q' => {
                let mut quoted = Vec::new();
                while self.pos < self.chars.len() {
                    if self.chars[self.pos] == '\\' && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        break;
                    }
                    quoted.push(self.chars[self.pos]);
                    self.pos += 1;
                }
                Escaped::Quoted(quoted)
            }
            '1'..='9' if !in_class => {
                // Java reads further digits while they still name an existing group.
                let mut number = c.to_digit(10).unwrap_or(0) as usize;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(10)) {
                    let longer = number * 10 + d as usize;
                    if longer > self.groups {
                        break;
                    }
                    number = longer;
                    self.pos += 1;
                }
                if number > self.groups {
                    return Err(self.unsupported("a back reference to a group not yet defined"));
                }
                if self.mode.case_insensitive {
                    return Err(self.unsupported("back references with case-insensitive matching"));
                }
                Escaped::Text(format!(r"\{number}"))
            }
            'k' if !in_class => {
                if self.peek() != Some('<') {
                    return Err(self.invalid("\\k must be followed by <name>"));
                }
                self.pos += 1;
                let mut name = String::new();
                loop {
                    match self.peek() {
                        Some('>') => {
                            self.pos += 1;
                            break;
                        }
                        Some(n) => {
                            self.pos += 1;
                            name.push(n);
                        }
                        None => return Err(self.invalid("unclosed \\k<name>")),
                    }
                }
                let number = self
                    .names
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, i)| *i)
                    .ok_or_else(|| self.invalid(format!("no group named {name}")))?;
                if self.mode.case_insensitive {
                    return Err(self.unsupported("back references with case-insensitive matching"));
                }
                Escaped::Text(format!(r"\{number}"))
            }
            'G' | 'X' | 'N' | 'b' | 'B' | 'A' | 'z' | 'Z' | 'R' => {
                return Err(self.unsupported(format!("the escape \\{c} here")));
            }
            _ if c.is_ascii_alphanumeric() => {
                return Err(self.invalid(format!("illegal escape sequence \\{c}")));
            }
            _ => Escaped::Char(c),
        })
    }

    fn hex_digits(&mut self, count: usize) -> Result<u32, RegexError> {
        let mut value = 0u32;
        for _ in 0..count {
            let digit = self
                .peek()
                .and_then(|d| d.to_digit(16))
                .ok_or_else(|| self.invalid("malformed hexadecimal escape"))?;
            self.pos += 1;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

/// Returns whether translated text is a zero-width assertion.
fn is_assertion(text: &str) -> bool {
    matches!(text, r"\b" | r"\B" | r"\A" | r"\z") || text == INPUT_END
}

/// Appends a class range (or a single character when `low == high`).
fn push_range(low: char, high: char, out: &mut String) {
    push_class_literal(low, out);
    if high != low {
        out.push('-');
        push_class_literal(high, out);
    }
}

/// Returns the class body for a Java property name, or `None` when it is not supported.
///
/// With `case_insensitive`, the case properties match letters of any case, because Java 17's
/// `Pattern` widens them under `CASE_INSENSITIVE` (see [`case_insensitive_property_class`]).
/// `\P{..}` and `[^..]` negate the widened class.
fn property_class(name: &str, case_insensitive: bool) -> Option<String> {
    if case_insensitive {
        if let Some(widened) = case_insensitive_property_class(name) {
            return Some(widened.to_owned());
        }
    }
    let ascii = match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => r"\x00-\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => r##"!-/:-@\[-`{-~"##,
        "Graph" => r##"!-~"##,
        "Print" => r##" -~"##,
        "Blank" => r" \t",
        "Cntrl" => r"\x00-\x1F\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => r" \t\n\x0B\f\r",
        _ => "",
    };
    if !ascii.is_empty() {
        return Some(ascii.to_owned());
    }
    // Unicode general categories, with or without the Java `Is` prefix.
    let category = name.strip_prefix("Is").unwrap_or(name);
    const CATEGORIES: &[&str] = &[
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
        "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp",
        "C", "Cc", "Cf", "Co", "Cn",
    ];
    if CATEGORIES.contains(&category) {
        return Some(format!(r"\p{{{category}}}"));
    }
    // Java's `Character.isLowerCase`, `isUpperCase` and `isTitleCase`.
    let java_case = match name {
        "javaLowerCase" => Some("Lowercase"),
        "javaUpperCase" => Some("Uppercase"),
        "javaTitleCase" => Some("Lt"),
        _ => None,
    };
    if let Some(property) = java_case {
        return Some(format!(r"\p{{{property}}}"));
    }
    // Binary properties and scripts after `Is`, with the names Java accepts.
    let rest = name.strip_prefix("Is")?;
    // Java 17 compares these names ignoring case and accepts an underscore only in the two
    // spellings below, so `IsWhite_Space` is valid and `Is_Uppercase` is not.
    let property = match rest.to_ascii_lowercase().as_str() {
        "alphabetic" => "Alphabetic",
        "letter" => "L",
        "digit" => "Nd",
        "uppercase" => "Uppercase",
        "lowercase" => "Lowercase",
        "titlecase" => "Lt",
        "whitespace" | "white_space" => "White_Space",
        "punctuation" => "P",
        "control" => "Cc",
        "hexdigit" | "hex_digit" => "Hex_Digit",
        "ideographic" => "Ideographic",
        "latin" => "Latin",
        "greek" => "Greek",
        "cyrillic" => "Cyrillic",
        "arabic" => "Arabic",
        "hebrew" => "Hebrew",
        "han" => "Han",
        "hiragana" => "Hiragana",
        "katakana" => "Katakana",
        "hangul" => "Hangul",
        "thai" => "Thai",
        "devanagari" => "Devanagari",
        _ => return None,
    };
    Some(format!(r"\p{{{property}}}"))
}

/// Returns the class body that a case property matches under Java's `CASE_INSENSITIVE`, or
/// `None` when `name` is not one that Java widens.
///
/// `\p{Lower}` and `\p{Upper}` become `[a-zA-Z]`. `\p{Lu}`, `\p{Ll}` and `\p{Lt}`, with or
/// without `Is`, become the union of the three categories. `\p{IsUppercase}`,
/// `\p{IsLowercase}`, `\p{IsTitlecase}` and the three `\p{javaXCase}` classes become the union
/// of the Uppercase and Lowercase properties and `Lt`.
fn case_insensitive_property_class(name: &str) -> Option<&'static str> {
    let category = name.strip_prefix("Is").unwrap_or(name);
    if name == "Lower" || name == "Upper" {
        // `Pattern` widens these POSIX classes to ASCII letters only, so `é` stays unmatched.
        return Some("a-zA-Z");
    }
    if matches!(category, "Lu" | "Ll" | "Lt") {
        return Some(r"\p{Lu}\p{Ll}\p{Lt}");
    }
    let java_case = matches!(name, "javaLowerCase" | "javaUpperCase" | "javaTitleCase");
    let binary = name.strip_prefix("Is").is_some_and(|rest| {
        matches!(
            rest.to_ascii_lowercase().as_str(),
            "uppercase" | "lowercase" | "titlecase"
        )
    });
    // `Character.isUpperCase` and `isLowerCase` also take the letters and symbols with the
    // `Other_Uppercase` and `Other_Lowercase` properties, such as `ª` and `Ⓐ`.
    (java_case || binary).then_some(r"\p{Uppercase}\p{Lowercase}\p{Lt}")
}

/// Appends `c` as a literal outside a class.
fn push_literal(c: char, out: &mut String) {
    if matches!(
        c,
        '.' | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
            | '\\'
            | ' '
    ) {
        out.push('\\');
    }
    out.push(c);
}

/// Appends `c` as a literal inside a class.
fn push_class_literal(c: char, out: &mut String) {
    if matches!(c, '[' | ']' | '\\' | '&' | '-' | '~' | '^' | ' ' | '#') {
        out.push('\\');
    }
    out.push(c);
}
