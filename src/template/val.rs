//! The values expressions produce while rendering.
//!
//! A [`Val`] borrows from the data and from the template wherever it can, so reading
//! `input.user_id` or listing `input.event_properties` copies nothing. Values a template builds
//! (concatenations, literals, built-in results) are owned; owned sequences and hashes sit behind
//! `Rc` so that storing one in a variable and reading it back is cheap.
//!
//! A missing value (a missing key, a JSON `null`, an index out of range) is not a `Val`:
//! evaluation returns `Option<Val>` where a value may be missing, and items of sequences and
//! hashes are `Option<Val>` for the same reason.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use indexmap::IndexMap;

use super::ast::DotKey;
use super::builtins::dates::DateTime;
use super::number::Number;
use super::value::{Map, Value};

/// A value during rendering; `'a` is the lifetime of the data and the template.
#[derive(Debug, Clone)]
pub enum Val<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A number.
    Num(Cow<'a, Number>),
    /// A boolean.
    Bool(bool),
    /// A sequence.
    Seq(Seq<'a>),
    /// A hash.
    Hash(Hash<'a>),
    /// A date, time or date-time.
    Date(DateTime),
    /// The value of `missing!`: an empty string, sequence and hash at once.
    Empty,
    /// The value of `missing?if_exists`: like [`Val::Empty`], and also the boolean `false`.
    Nothing,
    /// The result of `?matches`: a boolean (whether the whole string matched) and a sequence of
    /// the matches.
    Matches(Rc<MatchList>),
    /// One match of `?matches`: a string whose `?groups` are the capture groups.
    Match(Rc<MatchList>, usize),
}

/// The result of `?matches`.
#[derive(Debug)]
pub struct MatchList {
    /// Whether the regular expression matched the whole string.
    pub whole: bool,
    /// Every match: the matched text followed by its capture groups (`None` when a group did
    /// not take part).
    pub matches: Vec<Vec<Option<String>>>,
    /// The groups of the whole-string match, when `whole` is true.
    pub whole_groups: Vec<Option<String>>,
}

/// A sequence.
#[derive(Debug, Clone)]
pub enum Seq<'a> {
    /// An array of the data.
    Data(&'a [Value]),
    /// A sequence the template built; `None` items are missing (JSON `null`).
    Owned(Rc<Vec<Option<Val<'a>>>>),
    /// A numeric range.
    Range(Range),
    /// The keys of a data hash (`?keys`).
    Keys(&'a Map),
    /// The values of a data hash (`?values`).
    Values(&'a Map),
}

/// A numeric range: `len` integers from `start`, counting up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The first number.
    pub start: i64,
    /// True when the range counts down (`3..1`).
    pub descending: bool,
    /// The number of items; `None` for a range without end (`1..`).
    pub len: Option<u64>,
    /// True for `a..*n` and `a..`, whose end adapts to the length of what they slice.
    pub adaptive: bool,
    /// True for `a..b`, whose end is included.
    pub inclusive: bool,
}

/// A hash.
#[derive(Debug, Clone)]
pub enum Hash<'a> {
    /// An object of the data.
    Data(&'a Map),
    /// A hash the template built; `None` values are missing (JSON `null`).
    Owned(Rc<OwnedMap<'a>>),
}

/// The map of a hash the template built, seeded at random like [`Map`] because merged hashes
/// take their keys from the data.
pub type OwnedMap<'a> = IndexMap<Cow<'a, str>, Option<Val<'a>>, foldhash::fast::RandomState>;

impl<'a> Val<'a> {
    /// Converts a data value; JSON `null` is missing.
    pub fn from_data(value: &'a Value) -> Option<Val<'a>> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(Cow::Borrowed(n)),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Seq(items) => Val::Seq(Seq::Data(items)),
            Value::Hash(map) => Val::Hash(Hash::Data(map)),
        })
    }

    /// Returns the name of the value's type as messages show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Num(_) => "a number",
            Val::Bool(_) => "a boolean",
            Val::Seq(_) => "a sequence",
            Val::Hash(_) => "a hash",
            Val::Date(_) => "a date",
            Val::Empty => "an empty value",
            Val::Nothing => "an empty value",
            Val::Matches(_) => "a regular expression match result",
            Val::Match(..) => "a string",
        }
    }

    /// Returns true for values that are sequences (including the empty value).
    pub fn is_sequence(&self) -> bool {
        matches!(self, Val::Seq(_) | Val::Empty | Val::Nothing | Val::Matches(_))
    }

    /// Returns true for values that are hashes (including the empty value).
    pub fn is_hash(&self) -> bool {
        matches!(self, Val::Hash(_) | Val::Empty | Val::Nothing)
    }

    /// Returns true for values that are strings (including the empty value).
    pub fn is_string(&self) -> bool {
        matches!(self, Val::Str(_) | Val::Empty | Val::Nothing | Val::Match(..))
    }
}

impl<'a> Seq<'a> {
    /// Returns the number of items; `None` for a range without end.
    pub fn len(&self) -> Option<usize> {
        match self {
            Seq::Data(items) => Some(items.len()),
            Seq::Owned(items) => Some(items.len()),
            Seq::Range(range) => range.len.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            Seq::Keys(map) | Seq::Values(map) => Some(map.len()),
        }
    }

    /// Returns true when the sequence has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Returns item `index`; `None` when it is out of range or missing.
    pub fn get(&self, index: usize) -> Option<Val<'a>> {
        match self {
            Seq::Data(items) => items.get(index).and_then(Val::from_data),
            Seq::Owned(items) => items.get(index).cloned().flatten(),
            Seq::Range(range) => range.get(index).map(|n| Val::Num(Cow::Owned(Number::from(n)))),
            Seq::Keys(map) => {
                map.get_index(index).map(|(k, _)| Val::Str(Cow::Borrowed(k.as_str())))
            }
            Seq::Values(map) => map.get_index(index).and_then(|(_, v)| Val::from_data(v)),
        }
    }
}

impl Range {
    /// Returns item `index` of the range.
    pub fn get(&self, index: usize) -> Option<i64> {
        let index = i64::try_from(index).ok()?;
        if let Some(len) = self.len {
            if index as u64 >= len {
                return None;
            }
        }
        if self.descending { self.start.checked_sub(index) } else { self.start.checked_add(index) }
    }
}

impl<'a> Hash<'a> {
    /// Returns the number of keys, null-valued keys included.
    pub fn len(&self) -> usize {
        match self {
            Hash::Data(map) => map.len(),
            Hash::Owned(map) => map.len(),
        }
    }

    /// Returns true when the hash has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the value under `key`; `None` when the key is absent or its value is null.
    pub fn get(&self, key: &str) -> Option<Val<'a>> {
        match self {
            Hash::Data(map) => map.get(key).and_then(Val::from_data),
            Hash::Owned(map) => map.get(key).cloned().flatten(),
        }
    }

    /// Returns the value under `key.name` as [`Hash::get`] does, trying the position in
    /// `key.hint` before hashing and storing the position where the key was found.
    pub fn get_with_hint(&self, key: &DotKey) -> Option<Val<'a>> {
        match self {
            Hash::Data(map) => get_data_with_hint(map, key).and_then(Val::from_data),
            Hash::Owned(_) => self.get(&key.name),
        }
    }

    /// Returns the key and value at position `index`.
    pub fn entry(&self, index: usize) -> Option<(Cow<'a, str>, Option<Val<'a>>)> {
        match self {
            Hash::Data(map) => {
                map.get_index(index).map(|(k, v)| (Cow::Borrowed(k.as_str()), Val::from_data(v)))
            }
            Hash::Owned(map) => map.get_index(index).map(|(k, v)| (k.clone(), v.clone())),
        }
    }
}

/// Returns the value under `key.name` in `map`, trying the position in `key.hint` before
/// hashing and storing the position where the key was found.
#[inline(always)]
pub fn get_data_with_hint<'a>(map: &'a Map, key: &DotKey) -> Option<&'a Value> {
    let hint = key.hint.load(Ordering::Relaxed);
    if let Some((found, value)) = map.get_index(hint) {
        if same_text(found, &key.name) {
            return Some(value);
        }
    }
    let (index, _, value) = map.get_full(key.name.as_str())?;
    key.hint.store(index, Ordering::Relaxed);
    Some(value)
}

/// Returns whether two strings are equal. Strings of up to 16 bytes, as most object keys are,
/// are compared in a few word loads instead of a call to `memcmp`.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let len = a.len();
    if len != b.len() {
        return false;
    }
    // Two loads that overlap in the middle cover every byte of a string of `n` to `2n` bytes.
    fn words<const N: usize>(bytes: &[u8]) -> Option<([u8; N], [u8; N])> {
        let first = bytes.get(..N)?.try_into().ok()?;
        let last = bytes.get(bytes.len().checked_sub(N)?..)?.try_into().ok()?;
        Some((first, last))
    }
    match len {
        0 => true,
        1..=3 => a == b,
        4..=7 => words::<4>(a) == words::<4>(b),
        8..=16 => words::<8>(a) == words::<8>(b),
        _ => a == b,
    }
}
