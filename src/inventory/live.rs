//! Detection of live-looking credential values in an inventory file, and masking of text.
//!
//! Vendor formats come from `reference/vendor-apis.md`; a long random-looking token is also
//! treated as a credential where a reference is expected.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// Credential shapes that must never be written into an inventory (name, pattern).
const VENDOR_FORMATS: &[(&str, &str)] = &[
    (
        "a Shopify access token or app secret",
        r"shp(?:at|ca|pa|ss|ua)_[a-fA-F0-9]{32}",
    ),
    (
        "a Stripe API key",
        r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,247}",
    ),
    (
        "a Stripe webhook signing secret",
        r"\bwhsec_[A-Za-z0-9]{20,}",
    ),
    (
        "an Adyen API key",
        r"\bAQE[A-Za-z0-9+/]{20,}={0,2}-[A-Za-z0-9+/]{20,}={0,2}-[\x21-\x7e]{4,30}",
    ),
    ("an Adyen API key", r"\bAQE[A-Za-z0-9+/=\-]{60,}"),
    (
        "an Adyen client key (public by design, but it belongs in the vendor console, not here)",
        r"\b(?:live|test)_[A-Z0-9]{32}\b",
    ),
    ("an Iterable API key", r"\b[a-f0-9]{32}\b"),
];

fn regexes() -> &'static [(&'static str, Regex)] {
    static R: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    R.get_or_init(|| {
        VENDOR_FORMATS
            .iter()
            .filter_map(|(name, re)| Regex::new(re).ok().map(|r| (*name, r)))
            .collect()
    })
}

/// A credential-shaped match: byte range in the text and what it looks like.
#[derive(Debug, Clone)]
pub struct Hit {
    pub range: Range<usize>,
    pub what: &'static str,
}

/// Every vendor-format credential in `text` (overlaps merged, first description kept).
pub fn vendor_hits(text: &str) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    for (what, re) in regexes() {
        for m in re.find_iter(text) {
            let s = m.as_str();
            // A bare 32-hex run is only a key if it mixes digits and letters.
            if s.len() == 32
                && s.bytes().all(|b| b.is_ascii_hexdigit())
                && !(s.bytes().any(|b| b.is_ascii_digit())
                    && s.bytes().any(|b| b.is_ascii_alphabetic()))
            {
                continue;
            }
            hits.push(Hit {
                range: m.range(),
                what,
            });
        }
    }
    hits.sort_by_key(|h| (h.range.start, std::cmp::Reverse(h.range.end)));
    let mut merged: Vec<Hit> = Vec::new();
    for h in hits {
        match merged.last_mut() {
            Some(last) if h.range.start < last.range.end => {
                last.range.end = last.range.end.max(h.range.end);
            }
            _ => merged.push(h),
        }
    }
    merged
}

fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Byte ranges of random-looking tokens: a run of 16+ alphanumerics mixing letters and digits
/// with high entropy, extended to the surrounding token characters.
pub fn random_tokens(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let is_tok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=');
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let run = &text[start..i];
        if run.len() >= 16
            && run.bytes().any(|b| b.is_ascii_digit())
            && run.bytes().any(|b| b.is_ascii_alphabetic())
            && entropy(run) >= 3.0
        {
            let mut s = start;
            while s > 0 && is_tok(bytes[s - 1]) {
                s -= 1;
            }
            let mut e = i;
            while e < bytes.len() && is_tok(bytes[e]) {
                e += 1;
            }
            out.push(s..e);
            i = e;
        }
    }
    out
}

/// What a value looks like, if it looks like a credential.
pub fn looks_live(value: &str) -> Option<&'static str> {
    if let Some(h) = vendor_hits(value).first() {
        return Some(h.what);
    }
    (!random_tokens(value).is_empty()).then_some("a random-looking secret value")
}

/// Masks every credential-shaped or random-looking token in `text` with the one redaction form.
pub fn mask(text: &str) -> String {
    let mut ranges: Vec<Range<usize>> = vendor_hits(text).into_iter().map(|h| h.range).collect();
    ranges.extend(random_tokens(text));
    mask_ranges(text, ranges)
}

/// Replaces the given byte ranges (merged) by their redacted form.
pub fn mask_ranges(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.retain(|r| {
        r.start < r.end
            && r.end <= text.len()
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    });
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for r in ranges {
        if r.end <= pos {
            continue;
        }
        let start = r.start.max(pos);
        out.push_str(&text[pos..start]);
        out.push_str(&crate::secret::redact(&text[start..r.end]));
        pos = r.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_formats() {
        for k in [
            "shpat_0123456789abcdef0123456789abcdef",
            "sk_live_51H8abcdEFGH1234ijklMNOP",
            "whsec_abcdefghij0123456789ABCDEFGHIJ",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "test_SNY6SRDLZVGH3B2I53CCV2YK6YIOK4H7",
        ] {
            assert!(looks_live(k).is_some(), "{k}");
            assert!(!mask(&format!("x: {k}")).contains(&k[8..]), "{k}");
        }
        for ok in [
            "ITERABLE_SERVER_KEY",
            "order_pii_after_shipment",
            "https://shop.example.com/",
            "2026-01-15",
            "secrets/stripe.key",
            "acct_1PJBLEBBLEfV",
            "example-shop.myshopify.com",
        ] {
            assert!(looks_live(ok).is_none(), "{ok}");
        }
    }
}
