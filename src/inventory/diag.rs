//! Diagnostics for a configuration file: `FILE:LINE:COL: message` plus a masked snippet.

use std::ops::Range;

use super::live;

/// One problem at a position (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub line: usize,
    pub col: usize,
    /// Width of the caret underline in characters (at least 1).
    pub len: usize,
    pub message: String,
}

/// Every problem found in a file, rendered `FILE:LINE:COL: message` with a snippet.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub file: String,
    pub items: Vec<Diagnostic>,
    /// The file's lines, with every live-looking value already masked.
    lines: Vec<String>,
    /// `items`, for pushing without a scan of them.
    seen: std::collections::HashSet<Diagnostic>,
}

impl Diagnostics {
    /// A diagnostics set for `file`; `source` is kept only as masked lines for snippets.
    /// `secret_spans` are character ranges of values known to be secret-looking (e.g. found
    /// inside escaped or multi-line scalars) that must be masked too.
    pub fn new(file: &str, source: &str, secret_spans: &[Range<usize>]) -> Self {
        let mut lines = Vec::new();
        let mut char_base = 0usize;
        // Spans by start; each line looks only at the spans that can reach it (one sweep,
        // not every span per line).
        let mut spans: Vec<&Range<usize>> =
            secret_spans.iter().filter(|s| s.start < s.end).collect();
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
        Diagnostics {
            file: file.to_string(),
            items: Vec::new(),
            lines,
            seen: Default::default(),
        }
    }

    /// A diagnostics set without snippets (file-level problems).
    pub fn bare(file: &str, message: impl Into<String>) -> Self {
        Diagnostics {
            file: file.to_string(),
            items: vec![Diagnostic {
                line: 0,
                col: 0,
                len: 0,
                message: message.into(),
            }],
            lines: Vec::new(),
            seen: Default::default(),
        }
    }

    pub fn push(&mut self, line: usize, col: usize, len: usize, message: impl Into<String>) {
        let d = Diagnostic {
            line,
            col,
            len: len.max(1),
            message: message.into(),
        };
        if self.seen.insert(d.clone()) {
            self.items.push(d);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All diagnostics, sorted by position, each with its masked snippet. The whole text goes
    /// through the credential mask once more before it is returned.
    pub fn render(&self) -> String {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by_key(|d| (d.line, d.col));
        let mut s = String::new();
        for d in &items {
            if d.line == 0 {
                s.push_str(&format!("{}: error: {}\n", self.file, d.message));
                continue;
            }
            s.push_str(&format!(
                "{}:{}:{}: error: {}\n",
                self.file, d.line, d.col, d.message
            ));
            if let Some(line) = self.lines.get(d.line - 1) {
                let (shown, caret_col, caret_len) = clip(line, d.col, d.len);
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                s.push_str(&format!("{pad} |\n{num} | {shown}\n{pad} | "));
                s.push_str(&" ".repeat(caret_col.saturating_sub(1)));
                s.push_str(&"^".repeat(caret_len.max(1)));
                s.push('\n');
            }
        }
        if items.len() > 1 {
            s.push_str(&format!("{} errors in {}\n", items.len(), self.file));
        }
        live::mask(&s)
    }
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
