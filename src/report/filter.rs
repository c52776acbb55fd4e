//! The fail-closed output filter: every byte bound for a terminal or report passes here.
//!
//! It masks every sourced secret (raw, JSON-escaped, percent-encoded, HTML-entity-encoded and
//! base64-encoded at every alignment) and anything a registered detector matches. Text taken
//! from scanned content is additionally stripped of ANSI escapes and CI workflow commands by
//! [`sanitize_scanned`] before it is placed in an output.

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;

use crate::secret::{Secret, redact};

/// A detector hook: returns byte ranges of credentials in `text`.
pub type Matcher = Arc<dyn Fn(&str) -> Vec<std::ops::Range<usize>> + Send + Sync>;

#[derive(Default)]
struct Inner {
    needles: Vec<String>,
    replacements: Vec<String>,
    automaton: Option<AhoCorasick>,
    matchers: Vec<Matcher>,
}

/// Shared, thread-safe redactor. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

/// Minimum secret length the filter takes on (shorter values would mask ordinary words).
const MIN_SECRET_LEN: usize = 8;

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a sourced secret and all its encoded forms.
    pub fn add_secret(&self, s: &Secret) {
        let raw = s.expose();
        if raw.len() < MIN_SECRET_LEN {
            return;
        }
        let masked = s.redacted();
        let mut forms = encoded_forms(raw);
        forms.retain(|f| f.len() >= MIN_SECRET_LEN);
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        for f in forms {
            if !inner.needles.contains(&f) {
                inner.needles.push(f);
                inner.replacements.push(masked.clone());
            }
        }
        inner.automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&inner.needles)
            .ok();
    }

    /// Registers a detector matcher (credential shapes that were never sourced).
    pub fn add_matcher(&self, m: Matcher) {
        if let Ok(mut inner) = self.inner.write() {
            inner.matchers.push(m);
        }
    }

    /// Masks secrets in `text`. Fail-closed: if the lock is poisoned, the text is withheld.
    pub fn filter(&self, text: &str) -> String {
        let Ok(inner) = self.inner.read() else {
            return "[output withheld: redaction filter unavailable]".into();
        };
        let mut out = match &inner.automaton {
            Some(ac) => {
                let mut s = String::with_capacity(text.len());
                ac.replace_all_with(text, &mut s, |m, _, dst| {
                    dst.push_str(&inner.replacements[m.pattern().as_usize()]);
                    true
                });
                s
            }
            None => text.to_string(),
        };
        for m in &inner.matchers {
            let mut ranges = m(&out);
            if ranges.is_empty() {
                continue;
            }
            ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
            let mut last_start = usize::MAX;
            for r in ranges {
                if r.end > last_start
                    || r.end > out.len()
                    || !out.is_char_boundary(r.start)
                    || !out.is_char_boundary(r.end)
                {
                    continue;
                }
                let masked = redact(&out[r.clone()]);
                out.replace_range(r.clone(), &masked);
                last_start = r.start;
            }
        }
        out
    }
}

/// Every encoding in which a secret could appear in an output.
pub fn encoded_forms(raw: &str) -> Vec<String> {
    let mut forms = vec![raw.to_string()];
    // JSON string escaping, and full \u escaping.
    if let Ok(j) = serde_json::to_string(raw) {
        forms.push(j[1..j.len() - 1].to_string());
    }
    forms.push(
        raw.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect(),
    );
    // Percent-encoding (reserved characters only, and every character).
    forms.push(url::form_urlencoded::byte_serialize(raw.as_bytes()).collect());
    forms.push(raw.bytes().map(|b| format!("%{b:02X}")).collect());
    forms.push(raw.bytes().map(|b| format!("%{b:02x}")).collect());
    // HTML entities: minimal escaping, decimal and hex numeric entities.
    forms.push(
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;"),
    );
    // The escapers the renderers use: minijinja HTML (also `/`), XML (JUnit), Markdown cells,
    // GitHub workflow-command properties.
    forms.push(
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;"),
    );
    forms.push(
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;"),
    );
    forms.push(raw.chars().fold(String::new(), |mut s, c| {
        if "\\`*_{}[]<>()#+!|".contains(c) {
            s.push('\\');
        }
        s.push(c);
        s
    }));
    forms.push(raw.chars().fold(String::new(), |mut s, c| {
        if "\\`*_[]|".contains(c) {
            s.push('\\');
        }
        s.push(c);
        s
    }));
    forms.push(
        raw.replace('%', "%25")
            .replace(':', "%3A")
            .replace(',', "%2C"),
    );
    forms.push(raw.chars().map(|c| format!("&#{};", c as u32)).collect());
    forms.push(raw.chars().map(|c| format!("&#x{:x};", c as u32)).collect());
    // Base64 at the three alignments, standard and URL-safe, without the unstable edges.
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for pad in 0..3usize {
            let mut buf = vec![0u8; pad];
            buf.extend_from_slice(raw.as_bytes());
            let enc = engine.encode(&buf);
            let start = if pad == 0 { 0 } else { (pad * 4).div_ceil(3) };
            let stable_len = (buf.len() / 3) * 4;
            if stable_len > start {
                forms.push(enc[start..stable_len].to_string());
            }
            if pad == 0 {
                forms.push(enc.trim_end_matches('=').to_string());
            }
        }
    }
    // Any of the above placed inside a JSON string (SARIF help markdown, OCSF, the run).
    let json_forms: Vec<String> = forms
        .iter()
        .filter_map(|f| serde_json::to_string(f).ok())
        .map(|j| j[1..j.len() - 1].to_string())
        .collect();
    forms.extend(json_forms);
    forms.sort();
    forms.dedup();
    forms
}

/// Makes text taken from scanned content safe to print: ANSI/control characters removed and
/// CI workflow commands (`::set-env …::`, `##vso[`) defused.
pub fn sanitize_scanned(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip an escape sequence: ESC [ ... final byte, or ESC followed by one char.
            if chars.peek() == Some(&'[') {
                chars.next();
                for n in chars.by_ref() {
                    if ('@'..='~').contains(&n) {
                        break;
                    }
                }
            } else if chars.peek() == Some(&']') {
                // OSC: until BEL or ST.
                chars.next();
                while let Some(n) = chars.next() {
                    if n == '\u{7}' || (n == '\u{1b}' && chars.peek() == Some(&'\\')) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        out.push(c);
    }
    out.replace("::", ":\u{200b}:")
        .replace("##vso[", "##\u{200b}vso[")
        .replace("##[", "##\u{200b}[")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv";

    #[test]
    fn masks_every_encoding() {
        let r = Redactor::new();
        r.add_secret(&Secret::new(KEY));
        for form in encoded_forms(KEY) {
            let text = format!("before {form} after");
            let out = r.filter(&text);
            assert!(!out.contains(&form), "form {form} leaked: {out}");
        }
    }

    #[test]
    fn masks_base64_inside_larger_blob() {
        let r = Redactor::new();
        r.add_secret(&Secret::new(KEY));
        for prefix in ["", "x", "xy", "xyz"] {
            let blob =
                base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{KEY}tail"));
            let out = r.filter(&blob);
            assert!(!out.contains(&blob[8..blob.len() - 8]), "{prefix}: {out}");
        }
    }

    #[test]
    fn sanitizes_ansi_and_workflow_commands() {
        let s = sanitize_scanned("a\u{1b}[31mred\u{1b}[0m\n::set-env name=X::1\u{7}");
        assert!(!s.contains('\u{1b}'));
        assert!(!s.contains("::set-env"));
        assert!(s.contains("red"));
    }

    #[test]
    fn matchers_mask_unsourced_shapes() {
        let r = Redactor::new();
        r.add_matcher(Arc::new(|t: &str| {
            t.find("shpat_").map(|i| i..i + 38).into_iter().collect()
        }));
        let out = r.filter("token=shpat_0123456789abcdef0123456789abcdef;");
        assert!(!out.contains("0123456789abcdef0123456789"));
        assert!(out.starts_with("token=shpat_…"));
    }
}
