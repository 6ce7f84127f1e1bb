//! A backtracking interpreter for the programs `fancy_regex` compiles, which also stops at a
//! deadline.
//!
//! `fancy_regex` 0.14 runs a pattern that needs backtracking (look-around, back references,
//! `\b`) in its own virtual machine, and one call of that machine is bounded only by a count of
//! backtracking steps. Steps that do not backtrack are not counted, and one step may scan the
//! rest of the input inside a look-around, so one call over a long string can run for minutes.
//! This interpreter runs the program that `fancy_regex` compiles for the same pattern. It follows
//! the same order of alternatives and applies the same backtracking count and stack limit, so it
//! finds the same matches and fails on the same inputs. It also reads the clock after every
//! [`CLOCK_INTERVAL`] units of work and stops once the deadline has passed.
//!
//! The programs come from `fancy_regex::internal`, a module the crate marks as hidden, so the
//! dependency is pinned to one release in `Cargo.toml`.

use std::time::Instant;

use fancy_regex::Assertion;
use fancy_regex::internal::{Insn, Prog};
use regex_automata::util::look::LookMatcher;
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input};

/// Maximum count of backtracking steps of one run, the default of `fancy_regex`.
pub const BACKTRACK_LIMIT: usize = 1_000_000;

/// Maximum count of pending alternatives of one run, the fixed limit of `fancy_regex` 0.14.
const MAX_STACK: usize = 1_000_000;

/// Units of work between two reads of the clock. One instruction is one unit, and a call into
/// the automaton of a look-around or other simple part adds the bytes it may scan.
const CLOCK_INTERVAL: u64 = 1 << 16;

/// The reason a run stopped without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// More than [`BACKTRACK_LIMIT`] backtracking steps, or more than [`MAX_STACK`] pending
    /// alternatives.
    TooComplex,
    /// The deadline passed.
    TimedOut,
}

/// A pending alternative: where to resume, and how much of the undo log to roll back first.
struct Branch {
    pc: usize,
    ix: usize,
    undo_len: usize,
    atomic_len: usize,
    serial: usize,
}

/// A slot value to restore when backtracking past the branch it was logged under.
struct Undo {
    slot: usize,
    value: usize,
    serial: usize,
}

/// The mutable state of one run.
///
/// The first `count` entries of `slots` contain group bounds, repetition counters and
/// look-around positions, and the next `count` the serial of the branch each slot was last logged
/// under. Both share one allocation. Each change to a slot is logged once per pending branch in
/// `undo`, with the slot's previous value, so popping a branch restores the slots as they were
/// when it was pushed. `serial` identifies the branch on top of the stack, or is 0 when the stack
/// is empty.
struct State {
    slots: Vec<usize>,
    count: usize,
    stack: Vec<Branch>,
    undo: Vec<Undo>,
    /// Stack lengths recorded at the start of each open atomic group.
    atomic: Vec<usize>,
    serial: usize,
    next_serial: usize,
}

impl State {
    fn new(count: usize) -> State {
        let mut slots = vec![usize::MAX; 2 * count];
        slots[count..].fill(0);
        State {
            slots,
            count,
            stack: Vec::new(),
            undo: Vec::new(),
            atomic: Vec::new(),
            serial: 0,
            next_serial: 1,
        }
    }

    fn push(&mut self, pc: usize, ix: usize) -> Result<(), Stop> {
        if self.stack.len() >= MAX_STACK {
            return Err(Stop::TooComplex);
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        self.stack.push(Branch {
            pc,
            ix,
            undo_len: self.undo.len(),
            atomic_len: self.atomic.len(),
            serial,
        });
        self.serial = serial;
        Ok(())
    }

    /// Pops the top branch, restoring the slots to their values when it was pushed, and returns
    /// where to resume. Returns `None` when no branch is pending.
    fn pop(&mut self) -> Option<(usize, usize)> {
        let branch = self.stack.pop()?;
        while self.undo.len() > branch.undo_len {
            let Some(undo) = self.undo.pop() else { break };
            self.slots[undo.slot] = undo.value;
            self.slots[self.count + undo.slot] = undo.serial;
        }
        self.atomic.truncate(branch.atomic_len);
        self.serial = self.stack.last().map_or(0, |top| top.serial);
        Some((branch.pc, branch.ix))
    }

    /// Drops the branches pushed since the stack had `len` entries, keeping the slots as they
    /// are now. The undo log stays whole, so older branches still restore correctly.
    fn cut(&mut self, len: usize) {
        self.stack.truncate(len);
        self.serial = self.stack.last().map_or(0, |top| top.serial);
    }

    fn save(&mut self, slot: usize, value: usize) {
        let logged = self.count + slot;
        if self.serial != 0 && self.slots[logged] != self.serial {
            self.undo.push(Undo { slot, value: self.slots[slot], serial: self.slots[logged] });
            self.slots[logged] = self.serial;
        }
        self.slots[slot] = value;
    }

    fn get(&self, slot: usize) -> usize {
        self.slots[slot]
    }

    /// Returns the slot values, dropping the serials.
    fn into_values(mut self) -> Vec<usize> {
        self.slots.truncate(self.count);
        self.slots
    }
}

/// Instructions the interpreter runs between two charges to its [`Budget`].
const STEP_BATCH: usize = 256;

/// A deadline, and the work done since the clock was last read.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// When matching must stop, or `None` for no limit.
    pub deadline: Option<Instant>,
    /// Units of work since the clock was last read.
    pub work: u64,
}

impl Budget {
    /// Counts `units` of work without reading the clock.
    pub fn add(&mut self, units: usize) {
        self.work = self.work.saturating_add(units as u64);
    }

    /// Counts `units` of work and, every [`CLOCK_INTERVAL`] units, fails once the deadline has
    /// passed.
    pub fn charge(&mut self, units: usize) -> Result<(), Stop> {
        self.work = self.work.saturating_add(units as u64);
        if self.work < CLOCK_INTERVAL {
            return Ok(());
        }
        self.work = 0;
        match self.deadline {
            Some(deadline) if Instant::now() > deadline => Err(Stop::TimedOut),
            _ => Ok(()),
        }
    }
}

/// Returns the count of slots `program` uses: one past the highest slot any instruction reads
/// or writes, and at least `min_slots`.
pub fn slot_count(program: &Prog, min_slots: usize) -> usize {
    let mut count = min_slots;
    for insn in &program.body {
        let highest = match *insn {
            Insn::Save(slot) | Insn::Save0(slot) | Insn::Restore(slot) => slot,
            Insn::RepeatGr { repeat, .. } | Insn::RepeatNg { repeat, .. } => repeat,
            Insn::RepeatEpsilonGr { repeat, check, .. }
            | Insn::RepeatEpsilonNg { repeat, check, .. } => repeat.max(check),
            Insn::Backref(slot) => slot + 1,
            Insn::BackrefExistsCondition(group) => group * 2,
            Insn::Delegate { end_group, .. } => (end_group * 2).saturating_sub(1),
            _ => 0,
        };
        count = count.max(highest + 1);
    }
    count
}

/// Returns the length in bytes of the UTF-8 sequence that starts with `byte`.
fn sequence_length(byte: u8) -> usize {
    match byte {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Returns the start of the character before byte `ix` of `s`.
fn previous_boundary(s: &str, ix: usize) -> usize {
    let mut at = ix - 1;
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Returns whether `literal` occurs in `s` at byte `ix`.
fn literal_at(s: &str, ix: usize, literal: &[u8]) -> bool {
    s.as_bytes().get(ix..ix + literal.len()) == Some(literal)
}

/// Runs `program` on `s` from byte `pos` and returns its slots on a match, or `None`.
///
/// `slots` must be at least [`slot_count`] of the program. Each instruction charges `budget`
/// one unit and each call into an automaton the bytes it may scan, so the run stops with
/// [`Stop::TimedOut`] soon after the deadline.
pub fn run(
    program: &Prog,
    slots: usize,
    s: &str,
    pos: usize,
    budget: &mut Budget,
) -> Result<Option<Vec<usize>>, Stop> {
    let mut state = State::new(slots);
    let clock = budget;
    let look = LookMatcher::new();
    let bytes = s.as_bytes();
    let mut group_slots: Vec<Option<NonMaxUsize>> = Vec::new();
    let mut backtracks = 0usize;
    // Instructions left before the next charge to `budget`.
    let mut countdown = STEP_BATCH;
    let mut pc = 0;
    let mut ix = pos;
    loop {
        // Each pass of this loop runs instructions until one fails.
        'thread: loop {
            countdown -= 1;
            if countdown == 0 {
                clock.charge(STEP_BATCH)?;
                countdown = STEP_BATCH;
            }
            let Some(insn) = program.body.get(pc) else { break 'thread };
            match *insn {
                Insn::End => {
                    // `\K` can move the start past the end; the match then starts at its end.
                    if state.count > 1 && state.get(0) > state.get(1) {
                        let end = state.get(1);
                        state.save(0, end);
                    }
                    clock.add(STEP_BATCH - countdown);
                    return Ok(Some(state.into_values()));
                }
                Insn::Any => {
                    let Some(&byte) = bytes.get(ix) else { break 'thread };
                    ix += sequence_length(byte);
                }
                Insn::AnyNoNL => match bytes.get(ix) {
                    Some(&byte) if byte != b'\n' => ix += sequence_length(byte),
                    _ => break 'thread,
                },
                Insn::Lit(ref literal) => {
                    if !literal_at(s, ix, literal.as_bytes()) {
                        break 'thread;
                    }
                    ix += literal.len();
                }
                Insn::Assertion(assertion) => {
                    let asserted = match assertion {
                        Assertion::StartText => look.is_start(bytes, ix),
                        Assertion::EndText => look.is_end(bytes, ix),
                        Assertion::StartLine { crlf: false } => look.is_start_lf(bytes, ix),
                        Assertion::StartLine { crlf: true } => look.is_start_crlf(bytes, ix),
                        Assertion::EndLine { crlf: false } => look.is_end_lf(bytes, ix),
                        Assertion::EndLine { crlf: true } => look.is_end_crlf(bytes, ix),
                        Assertion::LeftWordBoundary => {
                            look.is_word_start_unicode(bytes, ix).unwrap_or(false)
                        }
                        Assertion::RightWordBoundary => {
                            look.is_word_end_unicode(bytes, ix).unwrap_or(false)
                        }
                        Assertion::WordBoundary => look.is_word_unicode(bytes, ix).unwrap_or(false),
                        Assertion::NotWordBoundary => {
                            look.is_word_unicode_negate(bytes, ix).unwrap_or(false)
                        }
                    };
                    if !asserted {
                        break 'thread;
                    }
                }
                Insn::Split(first, second) => {
                    state.push(second, ix)?;
                    pc = first;
                    continue;
                }
                Insn::Jmp(target) => {
                    pc = target;
                    continue;
                }
                Insn::Save(slot) => state.save(slot, ix),
                Insn::Save0(slot) => state.save(slot, 0),
                Insn::Restore(slot) => ix = state.get(slot),
                Insn::RepeatGr { lo, hi, next, repeat } => {
                    let count = state.get(repeat);
                    if count == hi {
                        pc = next;
                        continue;
                    }
                    state.save(repeat, count + 1);
                    if count >= lo {
                        state.push(next, ix)?;
                    }
                }
                Insn::RepeatNg { lo, hi, next, repeat } => {
                    let count = state.get(repeat);
                    if count == hi {
                        pc = next;
                        continue;
                    }
                    state.save(repeat, count + 1);
                    if count >= lo {
                        state.push(pc + 1, ix)?;
                        pc = next;
                        continue;
                    }
                }
                Insn::RepeatEpsilonGr { lo, next, repeat, check } => {
                    let count = state.get(repeat);
                    // An iteration past the minimum that matched nothing ends the repetition.
                    if count > lo && state.get(check) == ix {
                        break 'thread;
                    }
                    state.save(repeat, count + 1);
                    if count >= lo {
                        state.save(check, ix);
                        state.push(next, ix)?;
                    }
                }
                Insn::RepeatEpsilonNg { lo, next, repeat, check } => {
                    let count = state.get(repeat);
                    if count > lo && state.get(check) == ix {
                        break 'thread;
                    }
                    state.save(repeat, count + 1);
                    if count >= lo {
                        state.save(check, ix);
                        state.push(pc + 1, ix)?;
                        pc = next;
                        continue;
                    }
                }
                Insn::GoBack(count) => {
                    for _ in 0..count {
                        if ix == 0 {
                            break 'thread;
                        }
                        ix = previous_boundary(s, ix);
                    }
                }
                Insn::FailNegativeLookAround => {
                    // The body of a negative look-around matched, so the look-around fails:
                    // drop every branch the body pushed, up to and including the one that
                    // resumes after the look-around, then backtrack.
                    while let Some((popped, _)) = state.pop() {
                        if popped == pc + 1 {
                            break;
                        }
                    }
                    break 'thread;
                }
                Insn::Backref(slot) => {
                    let (start, end) = (state.get(slot), state.get(slot + 1));
                    if start == usize::MAX || end == usize::MAX {
                        break 'thread;
                    }
                    let Some(text) = bytes.get(start..end) else { break 'thread };
                    clock.charge(text.len())?;
                    if !literal_at(s, ix, text) {
                        break 'thread;
                    }
                    ix += text.len();
                }
                Insn::BackrefExistsCondition(group) => {
                    if state.get(group * 2) == usize::MAX {
                        break 'thread;
                    }
                }
                Insn::BeginAtomic => state.atomic.push(state.stack.len()),
                Insn::EndAtomic => {
                    let len = state.atomic.pop().unwrap_or(state.stack.len());
                    state.cut(len);
                }
                Insn::Delegate { ref inner, start_group, end_group } => {
                    if ix > s.len() {
                        break 'thread;
                    }
                    clock.charge(s.len() - ix)?;
                    let input = Input::new(s).span(ix..s.len()).anchored(Anchored::Yes);
                    if start_group == end_group {
                        match inner.search_half(&input) {
                            Some(found) => ix = found.offset(),
                            None => break 'thread,
                        }
                    } else {
                        group_slots.clear();
                        group_slots.resize((end_group - start_group + 1) * 2, None);
                        if inner.search_slots(&input, &mut group_slots).is_none() {
                            break 'thread;
                        }
                        for i in 0..end_group - start_group {
                            let slot = (start_group + i) * 2;
                            match (group_slots[(i + 1) * 2], group_slots[(i + 1) * 2 + 1]) {
                                (Some(start), Some(end)) => {
                                    state.save(slot, start.get());
                                    state.save(slot + 1, end.get());
                                }
                                _ => {
                                    state.save(slot, usize::MAX);
                                    state.save(slot + 1, usize::MAX);
                                }
                            }
                        }
                        match group_slots[1] {
                            Some(end) => ix = end.get(),
                            None => break 'thread,
                        }
                    }
                }
                Insn::ContinueFromPreviousMatchEnd => {
                    if ix > pos {
                        break 'thread;
                    }
                }
            }
            pc += 1;
        }
        // The current thread failed: resume the most recent pending branch.
        if state.stack.is_empty() {
            clock.add(STEP_BATCH - countdown);
            return Ok(None);
        }
        backtracks += 1;
        if backtracks > BACKTRACK_LIMIT {
            return Err(Stop::TooComplex);
        }
        let Some((resume_pc, resume_ix)) = state.pop() else {
            clock.add(STEP_BATCH - countdown);
            return Ok(None);
        };
        pc = resume_pc;
        ix = resume_ix;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fancy_regex::internal::{analyze, compile};
    use fancy_regex::{Expr, Regex, RegexBuilder};

    /// Compiles `source` with the lazy `.*?` prefix that `fancy_regex::Regex` adds.
    fn program(source: &str) -> (Prog, usize) {
        let mut tree = Expr::parse_tree(source).expect("the pattern parses");
        let pattern = std::mem::replace(&mut tree.expr, Expr::Empty);
        let prefix = Expr::Repeat {
            child: Box::new(Expr::Any { newline: true }),
            lo: 0,
            hi: usize::MAX,
            greedy: false,
        };
        tree.expr = Expr::Concat(vec![prefix, Expr::Group(Box::new(pattern))]);
        let program = compile(&analyze(&tree).expect("analyzes")).expect("compiles");
        let slots = slot_count(&program, 2);
        (program, slots)
    }

    /// The outcome of one search: each group's byte range, or the reason it failed.
    type Outcome = Result<Option<Vec<Option<(usize, usize)>>>, String>;

    fn fancy_outcome(regex: &Regex, groups: usize, s: &str, pos: usize) -> Outcome {
        match regex.captures_from_pos(s, pos) {
            Ok(Some(captures)) => Ok(Some(
                (0..groups).map(|i| captures.get(i).map(|m| (m.start(), m.end()))).collect(),
            )),
            Ok(None) => Ok(None),
            Err(error) => Err(format!("{error:?}")),
        }
    }

    fn interpreter_outcome(
        program: &Prog,
        slots: usize,
        groups: usize,
        s: &str,
        pos: usize,
    ) -> Outcome {
        let mut budget = Budget { deadline: None, work: 0 };
        match run(program, slots, s, pos, &mut budget) {
            Ok(Some(saves)) => Ok(Some(
                (0..groups)
                    .map(|i| {
                        let (start, end) = (saves[2 * i], saves[2 * i + 1]);
                        (start != usize::MAX).then_some((start, end))
                    })
                    .collect(),
            )),
            Ok(None) => Ok(None),
            Err(stop) => Err(format!("{stop:?}")),
        }
    }

    /// Asserts that the interpreter finds what `fancy_regex` finds for `source` in `s` from every
    /// character boundary.
    fn assert_same(source: &str, s: &str) {
        let Ok(regex) = RegexBuilder::new(source).backtrack_limit(BACKTRACK_LIMIT).build() else {
            return;
        };
        let (program, slots) = program(source);
        let groups = regex.captures_len();
        for pos in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
            let expected = fancy_outcome(&regex, groups, s, pos);
            let actual = interpreter_outcome(&program, slots, groups, s, pos);
            let expected = expected.map_err(|_| "error".to_owned());
            let actual = actual.map_err(|_| "error".to_owned());
            assert_eq!(actual, expected, "pattern {source:?} on {s:?} from {pos}");
        }
    }

    #[test]
    fn interpreter_matches_fancy_regex_on_listed_patterns() {
        let patterns = [
            r"(?=a)a",
            r"(?!a)\w",
            r"(?<=a)b",
            r"(?<!a)b",
            r"(?<=ab|c)d",
            r"(?<!ab|c)d",
            r"(a+)\1",
            r"(a|ab)(c|bcd)(d*)(?=x|$)",
            r"(?>a+)b",
            r"(?>a|ab)c",
            r"\bfoo\b",
            r"\Bo+\B",
            r"(a*)*(?=b)",
            r"(?:(?=a))*",
            r"(a|)*b(?=c)",
            r"(?:a(?=a*))*",
            r"(?:x|(?=y)){2,4}y",
            r"(a)?(?(1)b|c)",
            r"(?<n>a+)(?=\k<n>)",
            r"\d+(?=\D|$)",
            r"a.*?(?=b)",
            r"(?s:.)*?(?<=é)x",
            r"é(?=ü)",
            r"(?m)^\w+(?=$)",
            r"a\Kb(?=c)",
            r"((a)|b)+(?=\2)",
            r"(?:(a)|b)*?c(?!\1)",
            r"(x)?(?(1)y|z)*q",
            r"(?:(?=(a+))a)*b",
            r"(?:a{2,3}?(?=a))+",
            r"(?>(?:a|ab|abc)(?>c|d))(?:e|c)",
            r"(?>(?:a|ab)(?>c))(?:c|$)",
            r"(?>x(?:a|ab|abc)(?>c)|xab)cd",
            r"(?i)abc(?=D)",
            r"(?m)^a(?:\z|(?=[\r\x{85}])|(?<!\r)(?=\n))",
            r"\p{L}+(?=\d)",
        ];
        let inputs = [
            "",
            "a",
            "b",
            "ab",
            "aab",
            "abcd",
            "aaaa",
            "foo foobar foo",
            "abc abcd x",
            "bcbbc",
            "ééü é x",
            "12ab3",
            "line\nword\n",
            "abcabc",
            "yyxy",
            "aabaab",
            "zzq yq",
            "aaaaab",
            "abce",
            "abcde",
            "abcce",
            "acc",
            "xabccd",
            "xabcd",
            "ABCD",
            "a\nab\r\na",
            "zé12",
        ];
        for pattern in patterns {
            for input in inputs {
                assert_same(pattern, input);
            }
        }
    }

    /// Returns a random pattern over the letters `a` and `b` that mixes the constructs the
    /// interpreter runs.
    fn random_pattern(rng: &mut fastrand::Rng, depth: usize) -> String {
        let atom = |rng: &mut fastrand::Rng| -> String {
            ["a", "b", ".", "[ab]", "\\b", "\\B", "$", "^", "\\1"][rng.usize(..9)].to_owned()
        };
        if depth == 0 {
            return atom(rng);
        }
        let inner = random_pattern(rng, depth - 1);
        let other = random_pattern(rng, depth - 1);
        match rng.usize(..14) {
            0 => format!("{inner}{other}"),
            1 => format!("(?:{inner}|{other})"),
            2 => format!("({inner})"),
            3 => format!("(?:{inner})*"),
            4 => format!("(?:{inner})+?"),
            5 => format!("(?:{inner}){{1,3}}"),
            6 => format!("(?={inner}){other}"),
            7 => format!("(?!{inner}){other}"),
            8 => format!("(?<=a|b){inner}"),
            9 => format!("(?<!a){inner}"),
            10 => format!("(?>{inner}){other}"),
            11 => format!("(?:{inner})??{other}"),
            12 => format!("({inner})\\1"),
            _ => atom(rng),
        }
    }

    #[test]
    fn interpreter_matches_fancy_regex_on_random_patterns() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2_000 {
            let depth = rng.usize(1..4);
            let pattern = random_pattern(&mut rng, depth);
            for _ in 0..4 {
                let length = rng.usize(..9);
                let input: String = (0..length).map(|_| ['a', 'b', ' '][rng.usize(..3)]).collect();
                assert_same(&pattern, &input);
            }
        }
    }

    #[test]
    fn backtracking_limit_is_reported() {
        let (program, slots) = program(r"(a+)+(?=b)c");
        let mut budget = Budget { deadline: None, work: 0 };
        let text = "a".repeat(40);
        assert_eq!(run(&program, slots, &text, 0, &mut budget), Err(Stop::TooComplex));
    }

    #[test]
    fn passed_deadline_stops_the_run() {
        let (program, slots) = program(r"(?=(a+)+b)");
        let past = Instant::now();
        let mut budget = Budget { deadline: Some(past), work: 0 };
        let text = "a".repeat(2_000);
        assert_eq!(run(&program, slots, &text, 0, &mut budget), Err(Stop::TimedOut));
    }

    /// Prints the time per search of `fancy_regex` and of this interpreter for a few patterns
    /// that need backtracking. Run it with
    /// `cargo test --release --lib regex::backtrack::tests::search_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints timings; run by hand"]
    fn search_speed() {
        let sentence = "The quick brown fox jumps over the lazy dog 1234, twice. ";
        let long = sentence.repeat(20);
        let cases = [
            (r"\bfox\b", sentence.to_owned()),
            (r"\bcat\b", long.clone()),
            (r"\d+(?=,)", long.clone()),
            (r"(?<=the )\w+", long.clone()),
            (r"^\w+(?:\s\w+)*(?:\z|(?=\n\z))", "alpha beta gamma".to_owned()),
            (r"^\d+(?:\z|(?=\n\z))", "12345".to_owned()),
            (r"(\w)\1", long.clone()),
        ];
        for (source, text) in cases {
            let regex = RegexBuilder::new(source).build().expect("compiles");
            let (program, slots) = program(source);
            let rounds = 2_000;
            let started = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(regex.captures_from_pos(&text, 0).expect("runs"));
            }
            let fancy = started.elapsed() / rounds;
            let mut budget = Budget {
                deadline: Some(Instant::now() + std::time::Duration::from_secs(60)),
                work: 0,
            };
            let started = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(run(&program, slots, &text, 0, &mut budget).expect("runs"));
            }
            let interpreter = started.elapsed() / rounds;
            println!(
                "{source:<32} {:>5} bytes  fancy_regex {fancy:>10.2?}  interpreter {interpreter:>10.2?}",
                text.len()
            );
        }
    }
}
