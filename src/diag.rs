//! Diagnostics for every file the user writes (inventory, policies, exceptions): one problem
//! per item with file, 1-based line and column, a stable `code` and a message; rendered as
//! `FILE:LINE:COL: error: message` with a masked snippet and a caret under the span, or as
//! JSON (`--format json`) for machines. One mechanism for every command that validates.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::inventory::live;

/// How bad a diagnostic is: an error stops the command (exit 2), a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
}

/// Stable diagnostic codes (the `code` of the JSON form).
pub mod code {
    /// The file cannot be read or is not UTF-8.
    pub const IO: &str = "io";
    /// YAML syntax error, or a construct the loader refuses (merge keys, several documents).
    pub const SYNTAX: &str = "yaml-syntax";
    /// The same key twice in one mapping.
    pub const DUPLICATE_KEY: &str = "duplicate-key";
    /// A field the format does not have (with a did-you-mean).
    pub const UNKNOWN_FIELD: &str = "unknown-field";
    /// A required field is absent.
    pub const MISSING_FIELD: &str = "missing-field";
    /// A value of the wrong type (a list where a string is expected, …).
    pub const WRONG_TYPE: &str = "wrong-type";
    /// A value outside a closed set (with a did-you-mean).
    pub const UNKNOWN_VALUE: &str = "unknown-value";
    /// A value of the right type that is not valid (a bad date, URL, range).
    pub const INVALID_VALUE: &str = "invalid-value";
    /// Two items with the same id.
    pub const DUPLICATE_ID: &str = "duplicate-id";
    /// A value that looks like a live credential.
    pub const LIVE_CREDENTIAL: &str = "live-credential";
    /// A CEL expression that does not compile or reads what does not exist.
    pub const CEL: &str = "cel";
    /// A message template that does not compile or runs past its limits.
    pub const TEMPLATE: &str = "template";
    /// A reference to a rule, control or other name that does not exist.
    pub const UNKNOWN_REFERENCE: &str = "unknown-reference";
    /// A user rule that can never apply or never fail.
    pub const NEVER_APPLIES: &str = "never-applies";
    /// A user policy that weakens a built-in rule.
    pub const WEAKENED_RULE: &str = "weakened-rule";
    /// A secret source that will not give the key (unset variable, unreadable file).
    pub const SECRET_SOURCE: &str = "secret-source";
    /// An exception beyond its lifetime cap or otherwise out of date.
    pub const EXPIRY: &str = "expiry";
}

/// The candidate closest to `word` (Jaro-Winkler ≥ 0.8), for "did you mean" hints.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(word, c);
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// One problem at a position (1-based line and column in characters; line 0 = the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Width of the caret underline in characters (at least 1).
    #[serde(skip)]
    pub len: usize,
    pub level: Level,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {level}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {level}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in one or more files, rendered with snippets or as JSON.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    /// The main file (the one a summary line names).
    pub file: String,
    pub items: Vec<Diagnostic>,
    /// Snippet sources and the duplicate index, boxed: the set is the error type of every
    /// loader and stays small.
    store: Box<Store>,
}

#[derive(Debug, Default, Clone)]
struct Store {
    /// Each file's lines, with every live-looking value already masked.
    sources: HashMap<String, Vec<String>>,
    /// `items`, for pushing without a scan of them.
    seen: HashSet<Diagnostic>,
}

impl Diagnostics {
    /// A diagnostics set for `file`; `source` is kept only as masked lines for snippets.
    /// `secret_spans` are character ranges of values known to be secret-looking (e.g. found
    /// inside escaped or multi-line scalars) that must be masked too.
    pub fn new(file: &str, source: &str, secret_spans: &[Range<usize>]) -> Self {
        let mut d = Diagnostics {
            file: file.to_string(),
            ..Default::default()
        };
        d.add_source(file, source, secret_spans);
        d
    }

    /// An empty set about `file` (sources are added later, if at all).
    pub fn for_file(file: &str) -> Self {
        Diagnostics {
            file: file.to_string(),
            ..Default::default()
        }
    }

    /// A diagnostics set without snippets (file-level problems).
    pub fn bare(file: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut d = Diagnostics {
            file: file.to_string(),
            ..Default::default()
        };
        d.push_span(file, (0, 0), 0, code, message);
        d
    }

    /// Keeps `source` (masked) to show snippets of `file`'s diagnostics.
    pub fn add_source(&mut self, file: &str, source: &str, secret_spans: &[Range<usize>]) {
        if source.is_empty() || self.store.sources.contains_key(file) {
            return;
        }
        self.store
            .sources
            .insert(file.to_string(), masked_lines(source, secret_spans));
    }

    /// An error in `file` at `pos` (1-based line, column) with the default code.
    pub fn push(&mut self, file: &str, pos: (usize, usize), message: impl Into<String>) {
        self.push_span(file, pos, 1, code::INVALID_VALUE, message);
    }

    /// An error in `file` at `pos` with its code.
    pub fn push_code(
        &mut self,
        file: &str,
        pos: (usize, usize),
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.push_span(file, pos, 1, code, message);
    }

    /// An error in `file` at `pos`, `len` characters wide, with its code.
    pub fn push_span(
        &mut self,
        file: &str,
        pos: (usize, usize),
        len: usize,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.add(Diagnostic {
            file: file.to_string(),
            line: pos.0,
            column: pos.1,
            len: len.max(1),
            level: Level::Error,
            code,
            message: message.into(),
        });
    }

    /// Adds one diagnostic (an exact duplicate is kept once).
    pub fn add(&mut self, d: Diagnostic) {
        if self.file.is_empty() {
            self.file = d.file.clone();
        }
        if self.store.seen.insert(d.clone()) {
            self.items.push(d);
        }
    }

    /// Moves every item and source of `other` into this set.
    pub fn extend(&mut self, other: Diagnostics) {
        for (f, lines) in other.store.sources {
            self.store.sources.entry(f).or_insert(lines);
        }
        for d in other.items {
            self.add(d);
        }
    }

    /// Whether there is an error (warnings alone do not count).
    pub fn is_empty(&self) -> bool {
        !self.items.iter().any(|d| d.level == Level::Error)
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }

    /// The items in reading order: by file (first seen first), line, column.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut order: Vec<&str> = Vec::new();
        for d in &self.items {
            if !order.contains(&d.file.as_str()) {
                order.push(&d.file);
            }
        }
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by_key(|d| (order.iter().position(|f| *f == d.file), d.line, d.column));
        items
    }

    /// All diagnostics, sorted by position, each with its masked snippet. The whole text goes
    /// through the credential mask once more before it is returned.
    pub fn render(&self) -> String {
        let items = self.sorted();
        let mut s = String::new();
        for d in &items {
            s.push_str(&d.to_string());
            s.push('\n');
            if d.line == 0 {
                continue;
            }
            if let Some(line) = self
                .store
                .sources
                .get(&d.file)
                .and_then(|l| l.get(d.line - 1))
            {
                let (shown, caret_col, caret_len) = clip(line, d.column, d.len);
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                s.push_str(&format!("{pad} |\n{num} | {shown}\n{pad} | "));
                s.push_str(&" ".repeat(caret_col.saturating_sub(1)));
                s.push_str(&"^".repeat(caret_len.max(1)));
                s.push('\n');
            }
        }
        let errors = self.errors();
        if errors > 1 {
            let files: HashSet<&str> = items.iter().map(|d| d.file.as_str()).collect();
            if files.len() == 1 {
                s.push_str(&format!("{errors} errors in {}\n", self.file));
            } else {
                s.push_str(&format!("{errors} errors in {} files\n", files.len()));
            }
        }
        live::mask(&s)
    }

    /// The machine-readable form (`--format json`), masked like [`Diagnostics::render`].
    pub fn document(&self, summary: Option<serde_json::Value>) -> Document {
        Document {
            valid: self.is_empty(),
            errors: self.errors(),
            warnings: self.items.len() - self.errors(),
            diagnostics: self
                .sorted()
                .into_iter()
                .map(|d| Diagnostic {
                    file: live::mask(&d.file),
                    message: live::mask(&d.message),
                    ..d.clone()
                })
                .collect(),
            summary,
        }
    }
}

/// The JSON document of every validating command: `valid`, the counts, every diagnostic
/// (`file`, `line`, `column`, `level`, `code`, `message`) and, when valid, the command's
/// summary.
#[derive(Debug, serde::Serialize)]
pub struct Document {
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
}

/// A file's lines for snippets: live-looking values and URL passwords masked, control
/// characters shown as `?`. Spans are swept once, by start (not every span per line).
fn masked_lines(source: &str, secret_spans: &[Range<usize>]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut char_base = 0usize;
    let mut spans: Vec<&Range<usize>> = secret_spans.iter().filter(|s| s.start < s.end).collect();
    spans.sort_by_key(|s| s.start);
    let mut open: Vec<&Range<usize>> = Vec::new();
    let mut next = 0usize;
    for line in source.split('\n') {
        let n = line.chars().count();
        while next < spans.len() && spans[next].start < char_base + n {
            open.push(spans[next]);
            next += 1;
        }
        open.retain(|s| s.end > char_base);
        // Byte ranges on this line of the secret char spans.
        let mut ranges = Vec::new();
        for s in &open {
            let a = s.start.max(char_base);
            let b = s.end.min(char_base + n);
            if a < b {
                let ba = char_to_byte(line, a - char_base);
                let bb = char_to_byte(line, b - char_base);
                ranges.push(ba..bb);
            }
        }
        let masked = live::mask_ranges(line, ranges);
        lines.push(printable(&mask_userinfo(&live::mask(&masked))));
        char_base += n + 1;
    }
    lines
}

fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(b, _)| b)
}

use crate::guard::url::mask_userinfo;

fn printable(line: &str) -> String {
    line.trim_end_matches('\r')
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// Clips a long line around the caret. Masking happened before, so no secret is cut in half.
fn clip(line: &str, col: usize, len: usize) -> (String, usize, usize) {
    const MAX: usize = 120;
    let chars: Vec<char> = line.chars().collect();
    let col = col.clamp(1, chars.len().max(1) + 1);
    if chars.len() <= MAX {
        let len = len.min(chars.len().saturating_sub(col - 1)).max(1);
        return (line.to_string(), col, len);
    }
    let start = col.saturating_sub(40).min(chars.len());
    let end = (start + MAX).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = col - start;
    if start > 0 {
        shown = format!("…{shown}");
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret, len.min(end.saturating_sub(col - 1)).max(1))
}

#[cfg(test)]
mod userinfo_tests {
    use super::*;

    #[test]
    fn url_passwords_are_starred_in_snippets() {
        assert_eq!(
            mask_userinfo("  - url: \"http://alice:pw@127.0.0.1:8080/x\" # a://b"),
            "  - url: \"http://********@127.0.0.1:8080/x\" # a://b"
        );
        assert_eq!(
            mask_userinfo("https://example.com/a@b"),
            "https://example.com/a@b"
        );
    }
}
