//! String ordering of Java's en_US `Collator`, as FreeMarker's `?sort` uses it.
//!
//! NOTE: this first version orders ASCII letters, digits and spaces only; other strings are
//! reported as not exact by [`is_exact`].

use std::cmp::Ordering;

/// Compares `a` and `b`: letters alphabetically ignoring case, then lower case before upper.
pub fn compare(a: &str, b: &str) -> Ordering {
    let primary =
        a.chars().map(|c| c.to_ascii_lowercase()).cmp(b.chars().map(|c| c.to_ascii_lowercase()));
    primary.then_with(|| {
        a.chars().map(|c| c.is_ascii_uppercase()).cmp(b.chars().map(|c| c.is_ascii_uppercase()))
    })
}

/// Returns whether [`compare`] orders `s` exactly as Java's en_US collator does.
pub fn is_exact(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}
