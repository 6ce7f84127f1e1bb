//! The parse tree before rendering, and FreeMarker's whitespace stripping over it.
//!
//! The parser builds an [`ElementTree`] shaped like FreeMarker's own element tree, because
//! stripping depends on that shape: it walks to the previous and next *terminal* elements, whose
//! nesting and line numbers decide what is removed. The rules, as FreeMarker 2.3.31 applies them:
//!
//! 1. Only two parts of a text element can go: its opening part (up to and including the first
//!    line break, when all blank) and its closing part (after the last line break, when blank).
//! 2. The closing part is removed unless a terminal element that begins later on the same line
//!    heeds whitespace; the opening part unless one that ends earlier on that line does.
//!    Interpolations heed; text heeds when it has non-blank characters on that line, or is blank
//!    with no line break at all.
//! 3. The template's first text, when it comes before any other element, is never stripped.
//! 4. Blank text between two non-outputting elements (assignments, settings, comments) is
//!    dropped, even mid-line.
//!
//! Text elements are processed in document order, so each sees its predecessors already
//! stripped.

use super::ast::{AssignTarget, Assignment, Binding, Expr, NumberDigits, Setting};

/// Index of an element in the tree.
pub type ElementId = usize;

/// An element: a node of FreeMarker's template tree.
#[derive(Debug)]
pub struct Element {
    /// What the element is.
    pub kind: ElementKind,
    /// Child elements in order.
    pub children: Vec<ElementId>,
    /// The parent element; `None` for the root.
    pub parent: Option<ElementId>,
    /// Position among the parent's children.
    pub index: usize,
    /// Line of the first character.
    pub begin_line: u32,
    /// Column of the first character; only whether it is 1 matters.
    pub begin_column: u32,
    /// Line of the last character.
    pub end_line: u32,
}

/// The kinds of elements.
#[derive(Debug)]
pub enum ElementKind {
    /// The sequence of top-level elements.
    Root,
    /// A group of elements that renders nothing: what precedes the first `<#case>`.
    Ignored,
    /// Static text, including the body of `<#noparse>`, which is stripped like other text.
    Text { text: String },
    /// `${...}`.
    Interp(Option<Expr>),
    /// `#{...}`.
    HashInterp(Option<Expr>, NumberDigits),
    /// A comment.
    Comment,
    /// `<#if>` with `<#elseif>` or `<#else>`: its children are [`ElementKind::Branch`]es.
    If,
    /// One branch of an `#if`; its condition is `None` for `<#else>`.
    Branch(Option<Expr>),
    /// `<#list>`.
    List { source: Option<Expr>, binding: Option<Binding>, frame: u16 },
    /// A `<#list>` that has an `<#else>`: its children are the list and the else part.
    ListWithElse,
    /// The `<#else>` part of a `<#list>`.
    ListElse,
    /// `<#items>`.
    Items { binding: Binding, list_frame: u16, frame: u16 },
    /// `<#sep>`.
    Sep { frame: u16 },
    /// `<#break>`.
    Break,
    /// `<#continue>`.
    Continue,
    /// One assignment: a whole `<#assign>` tag, or one of several in a tag.
    Assign(Option<Assignment>),
    /// An `<#assign>` tag with several assignments, its children.
    AssignGroup,
    /// `<#assign x>...</#assign>`.
    Capture(Option<AssignTarget>),
    /// `<#switch>`.
    Switch(Option<Expr>),
    /// `<#case>`, or `<#default>` when `None`.
    Case(Option<Expr>),
    /// `<#setting>`.
    Setting(Setting, Option<Expr>),
    /// `<#stop>`.
    Stop(Option<Expr>, super::token::Span),
    /// `<#compress>`.
    Compress,
}

impl ElementKind {
    /// Returns true for elements that output nothing, so blank text between two of them is
    /// dropped.
    fn is_non_outputting(&self) -> bool {
        matches!(
            self,
            ElementKind::Assign(_)
                | ElementKind::AssignGroup
                | ElementKind::Setting(..)
                | ElementKind::Comment
        )
    }
}

/// The element tree of one template.
#[derive(Debug, Default)]
pub struct ElementTree {
    /// All elements; children refer to them by index.
    pub elements: Vec<Element>,
}

impl ElementTree {
    /// Adds an element without children and returns its id.
    pub fn add(&mut self, kind: ElementKind, begin: (u32, u32), end_line: u32) -> ElementId {
        self.elements.push(Element {
            kind,
            children: Vec::new(),
            parent: None,
            index: 0,
            begin_line: begin.0,
            begin_column: begin.1,
            end_line,
        });
        self.elements.len() - 1
    }

    /// Makes `children` the children of `parent`.
    pub fn set_children(&mut self, parent: ElementId, children: Vec<ElementId>) {
        for (index, &child) in children.iter().enumerate() {
            self.elements[child].parent = Some(parent);
            self.elements[child].index = index;
        }
        self.elements[parent].children = children;
    }

    /// Sets the end line of `id` to that of its last child, or leaves it when it has none.
    pub fn end_with_last_child(&mut self, id: ElementId) {
        if let Some(&last) = self.elements[id].children.last() {
            self.elements[id].end_line = self.elements[last].end_line;
        }
    }

    /// Strips whitespace in the tree under `root`, as FreeMarker does after parsing.
    pub fn strip_whitespace(&mut self, root: ElementId) -> ElementId {
        self.cleanup(root)
    }

    fn cleanup(&mut self, id: ElementId) -> ElementId {
        match self.elements[id].kind {
            ElementKind::Text { .. } => {
                self.strip_text(id);
                id
            }
            ElementKind::If if self.elements[id].children.len() == 1 => {
                // An `#if` without `#else` branches becomes its single branch, which takes the
                // location of the whole `#if`.
                let branch = self.elements[id].children[0];
                self.elements[branch].end_line = self.elements[id].end_line;
                self.cleanup(branch)
            }
            _ => {
                self.cleanup_children(id);
                id
            }
        }
    }

    fn cleanup_children(&mut self, id: ElementId) {
        let count = self.elements[id].children.len();
        for i in 0..count {
            let child = self.elements[id].children[i];
            let cleaned = self.cleanup(child);
            self.elements[id].children[i] = cleaned;
            self.elements[cleaned].parent = Some(id);
            self.elements[cleaned].index = i;
        }
        let mut i = 0;
        while i < self.elements[id].children.len() {
            let child = self.elements[id].children[i];
            if self.is_ignorable(child) {
                self.elements[id].children.remove(i);
                for j in i..self.elements[id].children.len() {
                    let later = self.elements[id].children[j];
                    self.elements[later].index = j;
                }
            } else {
                i += 1;
            }
        }
    }

    fn text(&self, id: ElementId) -> Option<&str> {
        match &self.elements[id].kind {
            ElementKind::Text { text, .. } => Some(text),
            _ => None,
        }
    }

    fn previous_sibling(&self, id: ElementId) -> Option<ElementId> {
        let element = &self.elements[id];
        let parent = element.parent?;
        if element.index == 0 {
            return None;
        }
        self.elements[parent].children.get(element.index - 1).copied()
    }

    fn next_sibling(&self, id: ElementId) -> Option<ElementId> {
        let element = &self.elements[id];
        let parent = element.parent?;
        self.elements[parent].children.get(element.index + 1).copied()
    }

    /// Returns true when `id` is the root or a direct child of the root.
    fn is_top_level_if_parent_is(&self, parent: Option<ElementId>) -> bool {
        match parent {
            None => true,
            Some(p) => {
                self.elements[p].parent.is_none()
                    && matches!(self.elements[p].kind, ElementKind::Root)
            }
        }
    }

    fn is_ignorable(&self, id: ElementId) -> bool {
        let Some(text) = self.text(id) else {
            return false;
        };
        if text.is_empty() {
            return true;
        }
        if !is_blank(text) {
            return false;
        }
        let top_level = self.is_top_level_if_parent_is(self.elements[id].parent);
        let before = self.previous_sibling(id);
        let after = self.next_sibling(id);
        let quiet = |other: Option<ElementId>| match other {
            None => top_level,
            Some(e) => self.elements[e].kind.is_non_outputting(),
        };
        quiet(before) && quiet(after)
    }

    /// Descends to the first element without children; a capture block counts as one.
    fn first_leaf(&self, mut id: ElementId) -> ElementId {
        while let Some(&first) = self.elements[id].children.first() {
            if matches!(self.elements[id].kind, ElementKind::Capture(_)) {
                break;
            }
            id = first;
        }
        id
    }

    fn last_leaf(&self, mut id: ElementId) -> ElementId {
        while let Some(&last) = self.elements[id].children.last() {
            if matches!(self.elements[id].kind, ElementKind::Capture(_)) {
                break;
            }
            id = last;
        }
        id
    }

    fn previous_terminal(&self, id: ElementId) -> Option<ElementId> {
        match self.previous_sibling(id) {
            Some(before) => Some(self.last_leaf(before)),
            None => self.previous_terminal(self.elements[id].parent?),
        }
    }

    fn next_terminal(&self, id: ElementId) -> Option<ElementId> {
        match self.next_sibling(id) {
            Some(after) => Some(self.first_leaf(after)),
            None => self.next_terminal(self.elements[id].parent?),
        }
    }

    /// Returns true when `id` keeps the whitespace after the element before it.
    fn heeds_opening_whitespace(&self, id: ElementId) -> bool {
        match &self.elements[id].kind {
            ElementKind::Interp(_) | ElementKind::HashInterp(..) => true,
            ElementKind::Text { text, .. } => {
                if self.is_ignorable(id) {
                    return false;
                }
                for c in text.chars().rev() {
                    if c == '\n' || c == '\r' {
                        return false;
                    }
                    if c != ' ' && c != '\t' {
                        return true;
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Returns true when `id` keeps the whitespace before the element after it.
    fn heeds_trailing_whitespace(&self, id: ElementId) -> bool {
        match &self.elements[id].kind {
            ElementKind::Interp(_) | ElementKind::HashInterp(..) => true,
            ElementKind::Text { text, .. } => {
                if self.is_ignorable(id) {
                    return false;
                }
                for c in text.chars() {
                    if c == '\n' || c == '\r' {
                        return false;
                    }
                    if c != ' ' && c != '\t' {
                        return true;
                    }
                }
                true
            }
            _ => false,
        }
    }

    fn strip_text(&mut self, id: ElementId) {
        let Some(text) = self.text(id) else {
            return;
        };
        if text.is_empty() {
            return;
        }
        let parent = self.elements[id].parent;
        if self.is_top_level_if_parent_is(parent) && self.previous_sibling(id).is_none() {
            return;
        }
        let trailing = self.trailing_chars_to_strip(id);
        let opening = self.opening_chars_to_strip(id);
        if opening == 0 && trailing == 0 {
            return;
        }
        let element = &mut self.elements[id];
        if let ElementKind::Text { text, .. } = &mut element.kind {
            let end = text.len() - trailing;
            *text = if opening < end { text[opening..end].to_owned() } else { String::new() };
        }
        if opening > 0 {
            element.begin_line += 1;
            element.begin_column = 1;
        }
    }

    fn opening_chars_to_strip(&self, id: ElementId) -> usize {
        let element = &self.elements[id];
        let text = self.text(id).unwrap_or("");
        let newline = text.find(['\n', '\r']);
        if newline.is_none() && element.begin_column != 1 {
            return 0;
        }
        let mut end = newline.map_or(0, |i| i + 1);
        if end > 0 && text.as_bytes()[end - 1] == b'\r' && text.as_bytes().get(end) == Some(&b'\n')
        {
            end += 1;
        }
        if !is_blank(&text[..end]) {
            return 0;
        }
        let mut other = self.previous_terminal(id);
        while let Some(e) = other {
            if self.elements[e].end_line != element.begin_line {
                break;
            }
            if self.heeds_opening_whitespace(e) {
                return 0;
            }
            other = self.previous_terminal(e);
        }
        end
    }

    fn trailing_chars_to_strip(&self, id: ElementId) -> usize {
        let element = &self.elements[id];
        let text = self.text(id).unwrap_or("");
        let last_newline = text.rfind(['\n', '\r']);
        if last_newline.is_none() && element.begin_column != 1 {
            return 0;
        }
        let start = last_newline.map_or(0, |i| i + 1);
        if !is_blank(&text[start..]) {
            return 0;
        }
        let mut other = self.next_terminal(id);
        while let Some(e) = other {
            if self.elements[e].begin_line != element.end_line {
                break;
            }
            if self.heeds_trailing_whitespace(e) {
                return 0;
            }
            other = self.next_terminal(e);
        }
        text.len() - start
    }
}

/// Returns true when every character is at most U+0020, as Java's `String.trim` counts blanks.
fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b <= b' ')
}
