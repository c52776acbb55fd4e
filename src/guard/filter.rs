//! The fail-closed output filter: every byte bound for a terminal, log, report or transcript
//! passes here.
//!
//! Secrets are registered once ([`Redactor::add_secret`] for sourced keys,
//! [`Redactor::add_value`] for detected keys and vendor-echoed fragments). The filter does not
//! enumerate every escaping a renderer or a vendor might apply; it searches a **decoded view** of
//! the output instead: percent escapes, HTML entities (named, decimal and hex, any number of
//! leading zeros), backslash escapes (`\uXXXX` in either case, `\xXX`, `\/`, Markdown escapes),
//! line breaks (real and escaped) removed, two layers deep (`&amp;#43;`, `\\u0041`), and ASCII
//! case folded. In that view it looks for the key itself, its hex, and its base64 (standard and
//! URL-safe at every alignment), by 12-byte windows sampled every 4 bytes and extended both
//! ways (only windows made of bytes some key form holds are hashed at all): so a fragment of 15
//! or more characters of any of them — "most of the key", the key body without its vendor
//! prefix, half of a key split across lines — is found as surely as the whole key. Each match
//! is mapped back to the original bytes it came from and replaced by the key's redacted form.
//!
//! Detector matchers (credential shapes never sourced) run on the text with those masked (on a
//! large text the first one runs beside the search, and again only if something was masked).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;
use std::sync::{Arc, RwLock};

use base64::Engine;
use zeroize::Zeroizing;

use crate::secret::{Secret, redact};

/// A detector hook: returns byte ranges of credentials in `text`.
pub type Matcher = Arc<dyn Fn(&str) -> Vec<Range<usize>> + Send + Sync>;

/// Window length in the decoded view.
const GRAM: usize = 12;
/// Windows are indexed at every `STRIDE`th offset of a needle (all offsets for short needles),
/// so any common run of `GRAM + STRIDE - 1` bytes contains an indexed window.
const STRIDE: usize = 4;
/// Minimum secret length the filter takes on (shorter values would mask ordinary words).
pub const MIN_SECRET_LEN: usize = 8;
/// Entries of one window hash examined per position.
const MAX_CHAIN: usize = 32;
/// Bytes of text searched per decoded view, and the overlap on each side of a chunk (wider
/// than any encoded form of a key, a key split across lines included).
const CHUNK: usize = 512 << 10;
const OVERLAP: usize = 16 << 10;
/// Texts longer than this (reports) are searched in parallel: in overlapping chunks, with the
/// first matcher beside; shorter ones (log lines) on the calling thread.
const PARALLEL_ABOVE: usize = CHUNK + 2 * OVERLAP;

/// Bits of the window-hash prefilter per indexed window (three of them set per window), and
/// its smallest and largest sizes in 64-bit words. It grows with the index, so it stays sparse,
/// up to 512 KiB: it is probed at every byte of a text, and a prefilter larger than a core's L2
/// cache costs more in load latency than its false positives would (at the cap, a run with
/// 150,000 indexed windows still sends under 1% of positions on to the map).
const BLOOM_BITS_PER_WINDOW: usize = 32;
const BLOOM_MIN_WORDS: usize = 1 << 10;
const BLOOM_MAX_WORDS: usize = 1 << 16;

/// A hasher for keys that are already well-mixed hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The hash of one window, from its bytes alone (no rolling state: the search computes each
/// position's hash independently, so consecutive positions do not wait on each other).
#[inline(always)]
fn hash(w: &[u8; GRAM]) -> u64 {
    let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3] = *w;
    let a = u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]);
    let b = u64::from(u32::from_le_bytes([b0, b1, b2, b3]));
    let x = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    let x = (x ^ (x >> 31)).wrapping_mul(0x1656_67b1_9e37_79f9);
    x ^ (x >> 29)
}

/// A set of byte values.
#[derive(Clone, Copy)]
struct ByteSet([bool; 256]);

impl Default for ByteSet {
    fn default() -> Self {
        ByteSet([false; 256])
    }
}

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b)] = true;
    }
    /// Bit `k` set when byte `k` of `chunk` is in the set (its first 64 bytes).
    #[inline(always)]
    fn mask(&self, chunk: &[u8]) -> u64 {
        let bit = |(k, &b): (usize, &u8)| u64::from(self.0[usize::from(b)]) << k;
        match chunk.first_chunk::<64>() {
            Some(full) => full.iter().enumerate().map(bit).fold(0, |m, b| m | b),
            None => chunk.iter().enumerate().map(bit).fold(0, |m, b| m | b),
        }
    }
    /// The start of every `len`-byte window (1 to 64 bytes) of `hay` made only of bytes in the
    /// set, in order. Membership is taken 64 bytes at a time into a bit mask without branches
    /// (in a report, bytes in and out of the set alternate too irregularly to predict), and the
    /// windows are the bits whose next `len - 1` bits are set too (bytes past the end are
    /// outside the set, so no window runs past it).
    fn window_starts<'h>(&'h self, hay: &'h [u8], len: usize) -> impl Iterator<Item = usize> + 'h {
        let member = move |chunk: usize| self.mask(hay.get(chunk * 64..).unwrap_or_default());
        let mut next = member(0);
        (0..hay.len().div_ceil(64)).flat_map(move |c| {
            let this = next;
            next = member(c + 1);
            // Bit k: bytes k .. k + len of this chunk and the next all in the set.
            let mut starts = this;
            for j in 1..len.min(64) {
                starts &= (this >> j) | (next << (64 - j));
            }
            std::iter::from_fn(move || {
                let k = starts.trailing_zeros();
                if k == 64 {
                    return None;
                }
                starts &= starts - 1;
                Some(c * 64 + k as usize)
            })
        })
    }
}

/// The prefilter: the word that `h`'s top bits select, and three bits of that word that its low
/// bits select (one cache line per probe).
#[derive(Default)]
struct Bloom {
    words: Vec<u64>,
    /// 64 minus log2 of the number of words.
    shift: u32,
}

impl Bloom {
    fn with_words(n: usize) -> Bloom {
        let n = n
            .next_power_of_two()
            .clamp(BLOOM_MIN_WORDS, BLOOM_MAX_WORDS);
        Bloom {
            words: vec![0; n],
            shift: 64 - n.trailing_zeros(),
        }
    }
    #[inline(always)]
    fn slot(&self, h: u64) -> (usize, u64) {
        let m = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let bits = (1u64 << (m & 63)) | (1u64 << ((m >> 6) & 63)) | (1u64 << ((m >> 12) & 63));
        ((m >> self.shift) as usize, bits)
    }
    fn insert(&mut self, h: u64) {
        let (w, bits) = self.slot(h);
        self.words[w] |= bits;
    }
    #[inline(always)]
    fn may_hold(&self, h: u64) -> bool {
        let (w, bits) = self.slot(h);
        self.words[w] & bits == bits
    }
}

struct Needle {
    /// The encoded form, ASCII-lowercased (as it appears in the decoded view).
    bytes: Zeroizing<Vec<u8>>,
    /// Index into `masks`.
    secret: u32,
}

#[derive(Default)]
struct Inner {
    masks: Vec<String>,
    needles: Vec<Needle>,
    /// Window hash → head of a chain in `entries` (the key is already a hash: no rehashing).
    grams: HashMap<u64, u32, std::hash::BuildHasherDefault<PassThrough>>,
    /// Every byte value some indexed window holds: a window of the text with any other byte
    /// cannot match, so only runs of these bytes at least a window long are hashed (in a
    /// report, most bytes are indentation, quotes and punctuation that no key form holds).
    alphabet: ByteSet,
    /// Most remaining positions of a text are rejected here, without touching the map.
    bloom: Bloom,
    /// (needle, offset, next entry or u32::MAX).
    entries: Vec<(u32, u32, u32)>,
    /// Needles shorter than a window, searched for whole.
    short: Vec<u32>,
    /// Keyed hashes of registered values (no raw value is kept for deduplication).
    seen: HashSet<u64>,
    seen_hasher: std::collections::hash_map::RandomState,
    matchers: Vec<Matcher>,
}

/// Shared, thread-safe redactor. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a sourced secret.
    pub fn add_secret(&self, s: &Secret) {
        self.add_value(s.expose());
    }

    /// Registers any secret value the run learned: a detected key, a known-value hit, a
    /// fragment a vendor echoed. Values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn add_value(&self, raw: &str) {
        let raw = raw.trim();
        if raw.len() < MIN_SECRET_LEN {
            return;
        }
        // A value already registered (the same key found in another file) needs only the
        // shared lock: scanning threads do not queue for the exclusive one.
        let key = {
            let Ok(inner) = self.inner.read() else {
                return;
            };
            let mut h = inner.seen_hasher.build_hasher();
            h.write(raw.as_bytes());
            let key = h.finish();
            if inner.seen.contains(&key) {
                return;
            }
            key
        };
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if !inner.seen.insert(key) {
            return;
        }
        let secret = inner.masks.len() as u32;
        inner.masks.push(redact(raw));
        for form in needle_forms(raw) {
            inner.add_needle(form, secret);
        }
    }

    /// Registers a detector matcher (credential shapes that were never sourced).
    pub fn add_matcher(&self, m: Matcher) {
        if let Ok(mut inner) = self.inner.write() {
            inner.matchers.push(m);
        }
    }

    /// Whether `text` holds a registered secret in any form the filter knows.
    pub fn contains_secret(&self, text: &str) -> bool {
        let Ok(inner) = self.inner.read() else {
            return true;
        };
        if !inner.needles.is_empty() && !inner.find_regions(text).is_empty() {
            return true;
        }
        inner.matchers.iter().any(|m| !m(text).is_empty())
    }

    /// Masks secrets in `text`. Fail-closed: if the lock is poisoned, the text is withheld.
    pub fn filter(&self, text: &str) -> String {
        self.filtered(text).into_owned()
    }

    /// [`Redactor::filter`], borrowing `text` when nothing in it is masked (a large report is
    /// then not copied).
    pub fn filtered<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let Ok(inner) = self.inner.read() else {
            return Cow::Borrowed("[output withheld: redaction filter unavailable]");
        };
        // On a large text (a report) the first matcher's pass over the text as written runs
        // beside the needle search; its result stands when no needle is found (the rule), and
        // it runs again over the masked text otherwise. Small texts (log lines) stay on the
        // calling thread.
        let needles = || {
            if inner.needles.is_empty() {
                vec![]
            } else {
                inner.find_regions(text)
            }
        };
        let first = || inner.matchers.first().map(|m| m(text));
        let (regions, mut early) = if text.len() > PARALLEL_ABOVE {
            rayon::join(needles, first)
        } else {
            (needles(), None)
        };
        if !regions.is_empty() {
            early = None;
        }
        let mut out: Cow<'a, str> = if regions.is_empty() {
            Cow::Borrowed(text)
        } else {
            let mut s = String::with_capacity(text.len());
            let mut at = 0;
            for (r, secret) in regions {
                s.push_str(&text[at..r.start]);
                s.push_str(&inner.masks[secret as usize]);
                at = r.end;
            }
            s.push_str(&text[at..]);
            Cow::Owned(s)
        };
        for m in &inner.matchers {
            let mut ranges = match early.take() {
                Some(r) => r,
                None => m(&out),
            };
            if ranges.is_empty() {
                continue;
            }
            let o = out.to_mut();
            ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
            let mut last_start = usize::MAX;
            for r in ranges {
                if r.end > last_start
                    || r.end > o.len()
                    || !o.is_char_boundary(r.start)
                    || !o.is_char_boundary(r.end)
                {
                    continue;
                }
                let masked = redact(&o[r.clone()]);
                o.replace_range(r.clone(), &masked);
                last_start = r.start;
            }
        }
        out
    }
}

impl Inner {
    fn add_needle(&mut self, bytes: Vec<u8>, secret: u32) {
        if bytes.len() < MIN_SECRET_LEN {
            return;
        }
        let id = self.needles.len() as u32;
        self.needles.push(Needle {
            bytes: Zeroizing::new(bytes),
            secret,
        });
        let bytes = &self.needles[id as usize].bytes;
        if bytes.len() < GRAM {
            self.short.push(id);
            return;
        }
        let step = if bytes.len() < GRAM + STRIDE - 1 {
            1
        } else {
            STRIDE
        };
        let mut offsets: Vec<usize> = (0..=bytes.len() - GRAM).step_by(step).collect();
        // The last window too, so a match at the very end is indexed.
        if offsets.last() != Some(&(bytes.len() - GRAM)) {
            offsets.push(bytes.len() - GRAM);
        }
        for &b in &bytes[..] {
            self.alphabet.insert(b);
        }
        let words = self.bloom.words.len();
        let grow = words < BLOOM_MAX_WORDS
            && (self.entries.len() + offsets.len()) * BLOOM_BITS_PER_WINDOW > words * 64;
        for off in offsets {
            let Some(w) = bytes.get(off..).and_then(<[u8]>::first_chunk) else {
                continue;
            };
            let h = hash(w);
            if !grow {
                self.bloom.insert(h);
            }
            let next = self.grams.get(&h).copied().unwrap_or(u32::MAX);
            self.entries.push((id, off as u32, next));
            self.grams.insert(h, (self.entries.len() - 1) as u32);
        }
        if grow {
            self.rebuild_bloom();
        }
    }

    /// A prefilter sized for the index (twice the bits it needs, so it is rebuilt only when
    /// the index doubles), filled from every window.
    fn rebuild_bloom(&mut self) {
        let mut bloom =
            Bloom::with_words((self.entries.len() * BLOOM_BITS_PER_WINDOW * 2).div_ceil(64));
        for &(n, off, _) in &self.entries {
            let bytes = &self.needles[n as usize].bytes;
            if let Some(w) = bytes.get(off as usize..).and_then(<[u8]>::first_chunk) {
                bloom.insert(hash(w));
            }
        }
        self.bloom = bloom;
    }

    /// Non-overlapping byte ranges of `text` holding a secret, in order, with the secret's
    /// index. Large texts are searched in overlapping chunks so the decoded view stays small
    /// (a report of any size costs a bounded amount of memory); the overlap is wider than any
    /// encoded form of a key, and regions found twice merge.
    fn find_regions(&self, text: &str) -> Vec<(Range<usize>, u32)> {
        if text.len() <= PARALLEL_ABOVE {
            return self.find_regions_in(text);
        }
        let floor = |mut i: usize| {
            while i > 0 && !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        // The chunks are searched in parallel (a large run's JSON report is several of them).
        use rayon::prelude::*;
        let windows: Vec<(usize, usize)> = (0..text.len())
            .step_by(CHUNK)
            .map(|at| {
                let ws = floor(at.saturating_sub(OVERLAP));
                let we = floor((at + CHUNK + OVERLAP).min(text.len()));
                (ws, if we <= ws { text.len() } else { we })
            })
            .collect();
        let all: Vec<(Range<usize>, u32)> = windows
            .into_par_iter()
            .flat_map_iter(|(ws, we)| {
                self.find_regions_in(&text[ws..we])
                    .into_iter()
                    .map(move |(r, sec)| (r.start + ws..r.end + ws, sec))
            })
            .collect();
        merge(all)
    }

    fn find_regions_in(&self, text: &str) -> Vec<(Range<usize>, u32)> {
        let view = View::of(text.as_bytes());
        let hay = &view.bytes;
        let mut found: Vec<(Range<usize>, u32)> = Vec::new();
        if !self.grams.is_empty() {
            for p in self.alphabet.window_starts(hay, GRAM) {
                let Some(w) = hay[p..].first_chunk::<GRAM>() else {
                    continue;
                };
                let h = hash(w);
                if !self.bloom.may_hold(h) {
                    continue;
                }
                let Some(&head) = self.grams.get(&h) else {
                    continue;
                };
                let mut e = head;
                // Bounded: values sharing a window (low-entropy keys planted by a hostile
                // input) cannot make the walk quadratic.
                let mut walked = 0;
                while e != u32::MAX && walked < MAX_CHAIN {
                    walked += 1;
                    let (n, off, next) = self.entries[e as usize];
                    let needle = &self.needles[n as usize];
                    let nb = &needle.bytes[..];
                    let off = off as usize;
                    if nb[off..off + GRAM] == hay[p..p + GRAM] {
                        let mut left = 0;
                        while left < off && left < p && nb[off - left - 1] == hay[p - left - 1] {
                            left += 1;
                        }
                        let mut right = 0;
                        while off + GRAM + right < nb.len()
                            && p + GRAM + right < hay.len()
                            && nb[off + GRAM + right] == hay[p + GRAM + right]
                        {
                            right += 1;
                        }
                        found.push((p - left..p + GRAM + right, needle.secret));
                    }
                    e = next;
                }
            }
        }
        for &n in &self.short {
            let needle = &self.needles[n as usize];
            for at in memchr::memmem::find_iter(hay, &needle.bytes[..]) {
                found.push((at..at + needle.bytes.len(), needle.secret));
            }
        }
        if found.is_empty() {
            return vec![];
        }
        // Merge in the decoded view, then map to the original text.
        let merged = merge(found);
        let mut out: Vec<(Range<usize>, u32)> = Vec::new();
        for (r, s) in merged {
            let mut start = view.orig_start(r.start);
            let mut end = view.orig_end(r.end - 1);
            while start > 0 && !text.is_char_boundary(start) {
                start -= 1;
            }
            while end < text.len() && !text.is_char_boundary(end) {
                end += 1;
            }
            match out.last_mut() {
                Some((m, _)) if start <= m.end => m.end = m.end.max(end),
                _ => out.push((start..end, s)),
            }
        }
        out
    }
}

/// Sorts ranges and merges the overlapping ones (the first range's secret names the merge).
fn merge(mut found: Vec<(Range<usize>, u32)>) -> Vec<(Range<usize>, u32)> {
    found.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<(Range<usize>, u32)> = Vec::new();
    for (r, s) in found {
        match merged.last_mut() {
            Some((m, _)) if r.start <= m.end => m.end = m.end.max(r.end),
            _ => merged.push((r, s)),
        }
    }
    merged
}

/// The forms of a secret searched for in the decoded view (every escaping is undone by the
/// view itself): the value, its hex, and its base64 at the three alignments, standard and
/// URL-safe. All ASCII-lowercased, as the view is.
fn needle_forms(raw: &str) -> Vec<Vec<u8>> {
    let mut forms: Vec<Vec<u8>> = vec![raw.as_bytes().to_vec(), hex::encode(raw).into_bytes()];
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for pad in 0..3usize {
            let mut buf = vec![0u8; pad];
            buf.extend_from_slice(raw.as_bytes());
            let enc = engine.encode(&buf);
            // Characters that depend only on the value (not on bytes before or after it).
            let start = if pad == 0 { 0 } else { (pad * 4).div_ceil(3) };
            let stable = (buf.len() / 3) * 4;
            if stable > start {
                forms.push(enc.as_bytes()[start..stable].to_vec());
            }
        }
    }
    for f in &mut forms {
        f.make_ascii_lowercase();
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Known vendor prefixes: a key's body without them is still the key.
const VENDOR_PREFIXES: &[&str] = &[
    "sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_", "whsec_", "shpat_",
    "shpca_", "shppa_", "shpss_", "shpua_", "live_", "test_",
];

/// The encoder list: every encoding of a value that the filter is guaranteed to mask, and that
/// the scanner's known-value search looks for. Tests plant each of these; the filter itself
/// does not match them one by one (see the module documentation).
pub fn encoded_forms(raw: &str) -> Vec<String> {
    let b64 = |e: &base64::engine::GeneralPurpose, pad: usize| {
        let mut buf = vec![b'x'; pad];
        buf.extend_from_slice(raw.as_bytes());
        e.encode(&buf)
    };
    let mut forms = vec![raw.to_string()];
    if let Some(body) = VENDOR_PREFIXES.iter().find_map(|p| raw.strip_prefix(p)) {
        forms.push(body.to_string());
    }
    // JSON: standard, `\/`-escaped, every character as `\u` in either case.
    if let Ok(j) = serde_json::to_string(raw) {
        let inner = j[1..j.len() - 1].to_string();
        forms.push(inner.replace('/', "\\/"));
        forms.push(inner);
    }
    forms.push(
        raw.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect(),
    );
    forms.push(
        raw.chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect(),
    );
    // Percent-encoding: form encoding, every byte (either case), and `+`/`/` only.
    forms.push(url::form_urlencoded::byte_serialize(raw.as_bytes()).collect());
    forms.push(raw.bytes().map(|b| format!("%{b:02X}")).collect());
    forms.push(raw.bytes().map(|b| format!("%{b:02x}")).collect());
    forms.push(raw.replace('+', "%2B").replace('/', "%2F"));
    // HTML: escaped, named, decimal (with and without leading zeros), hex in either case.
    forms.push(
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;"),
    );
    forms.push(raw.replace('+', "&#43;").replace('_', "&lowbar;"));
    forms.push(raw.chars().map(|c| format!("&#{};", c as u32)).collect());
    forms.push(raw.chars().map(|c| format!("&#{:05};", c as u32)).collect());
    forms.push(raw.chars().map(|c| format!("&#x{:x};", c as u32)).collect());
    forms.push(
        raw.chars()
            .map(|c| format!("&#X{:04X};", c as u32))
            .collect(),
    );
    // Markdown escapes.
    forms.push(raw.chars().fold(String::new(), |mut s, c| {
        if "\\`*_{}[]<>()#+!|".contains(c) {
            s.push('\\');
        }
        s.push(c);
        s
    }));
    // Hex in either case.
    forms.push(hex::encode(raw));
    forms.push(hex::encode_upper(raw));
    // Base64: standard, URL-safe and unpadded, at every alignment, and wrapped at 76 columns.
    for e in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for pad in 0..3 {
            forms.push(b64(e, pad));
        }
    }
    let long = b64(&base64::engine::general_purpose::STANDARD, 0).repeat(3);
    forms.push(
        long.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n"),
    );
    // Split across lines, raw and JSON-escaped.
    let mid = raw.len() / 2;
    if raw.is_char_boundary(mid) {
        forms.push(format!("{}\n{}", &raw[..mid], &raw[mid..]));
        forms.push(format!("{}\\n{}", &raw[..mid], &raw[mid..]));
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The decoded view of a text, and where each of its bytes came from.
///
/// The map is kept by segments, not per byte: most of a report is copied through unchanged
/// (only line breaks and escapes differ), so the view costs about the text's own size and one
/// pass of bulk copies, and a match is mapped back by a binary search.
struct View {
    bytes: Vec<u8>,
    /// In view order; every view byte lies in exactly one segment (tokens that yield nothing,
    /// such as line breaks, have none).
    segs: Vec<Seg>,
    /// For a second decoding layer: the first, which this layer's offsets index into.
    inner: Option<Box<View>>,
}

/// A run of view bytes starting at `view`, decoded from the original bytes `orig..orig + len`.
/// When `copy` is set the run is those bytes one for one; otherwise every view byte of it came
/// from the whole range (one escape or entity).
#[derive(Clone, Copy)]
struct Seg {
    view: u32,
    orig: u32,
    len: u32,
    copy: bool,
}

impl View {
    fn of(text: &[u8]) -> View {
        let one = decode_layer(text);
        if !has_trigger(&one.bytes) {
            return one;
        }
        // A second layer (an escape that was itself escaped), mapped through the first.
        let mut two = decode_layer(&one.bytes);
        two.inner = Some(Box::new(one));
        two
    }

    fn seg(&self, i: usize) -> &Seg {
        let at = self.segs.partition_point(|s| s.view as usize <= i);
        &self.segs[at.saturating_sub(1)]
    }

    /// The first original byte that view byte `i` came from.
    fn orig_start(&self, i: usize) -> usize {
        let s = self.seg(i);
        let here = if s.copy {
            s.orig as usize + (i - s.view as usize)
        } else {
            s.orig as usize
        };
        match &self.inner {
            Some(inner) => inner.orig_start(here),
            None => here,
        }
    }

    /// The end (exclusive) of the original bytes that view byte `i` came from.
    fn orig_end(&self, i: usize) -> usize {
        let s = self.seg(i);
        let here = if s.copy {
            s.orig as usize + (i - s.view as usize) + 1
        } else {
            (s.orig + s.len) as usize
        };
        match &self.inner {
            Some(inner) => inner.orig_end(here - 1),
            None => here,
        }
    }
}

fn has_trigger(b: &[u8]) -> bool {
    memchr::memchr3(b'%', b'&', b'\\', b).is_some()
}

fn hex_val(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex_n(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |a, &c| Some(a * 16 + hex_val(c)?))
}

/// One decoding step at `i`: the bytes it yields and how many input bytes it consumed.
fn decode_token(b: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let push_char = |c: u32, out: &mut Vec<u8>| -> bool {
        match char::from_u32(c) {
            Some(ch) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                true
            }
            None => false,
        }
    };
    match b[i] {
        b'\r' | b'\n' => 0,
        b'%' => match hex_n(b, i + 1, 2) {
            Some(v) => {
                out.push(v as u8);
                3
            }
            None => {
                out.push(b'%');
                1
            }
        },
        b'&' => {
            if let Some((c, len)) = entity(b, i)
                && push_char(c, out)
            {
                return len;
            }
            out.push(b'&');
            1
        }
        b'\\' => match b.get(i + 1) {
            Some(b'u') | Some(b'U') => match hex_n(b, i + 2, 4) {
                Some(v) if push_char(v, out) => 6,
                _ => {
                    out.push(b'\\');
                    1
                }
            },
            Some(b'x') => match hex_n(b, i + 2, 2) {
                Some(v) => {
                    out.push(v as u8);
                    4
                }
                None => {
                    out.push(b'\\');
                    1
                }
            },
            Some(b'n') | Some(b'r') => 0,
            Some(&c) if c.is_ascii_punctuation() => {
                out.push(c);
                2
            }
            _ => {
                out.push(b'\\');
                1
            }
        },
        c => {
            out.push(c);
            1
        }
    }
}

/// An HTML character reference at `i` (`&#65;`, `&#x41;`, `&#0065;`, `&amp;` …).
fn entity(b: &[u8], i: usize) -> Option<(u32, usize)> {
    if b.get(i + 1) == Some(&b'#') {
        let (radix, mut j) = match b.get(i + 2) {
            Some(b'x') | Some(b'X') => (16, i + 3),
            _ => (10, i + 2),
        };
        let digits_start = j;
        let mut v: u32 = 0;
        while let Some(d) = b.get(j).and_then(|&c| (c as char).to_digit(radix)) {
            v = v.checked_mul(radix)?.checked_add(d)?;
            j += 1;
            if j - digits_start > 10 {
                return None;
            }
        }
        if j == digits_start {
            return None;
        }
        if b.get(j) == Some(&b';') {
            j += 1;
        }
        return Some((v, j - i));
    }
    const NAMED: &[(&[u8], u32)] = &[
        (b"amp;", '&' as u32),
        (b"lt;", '<' as u32),
        (b"gt;", '>' as u32),
        (b"quot;", '"' as u32),
        (b"apos;", '\'' as u32),
        (b"sol;", '/' as u32),
        (b"plus;", '+' as u32),
        (b"equals;", '=' as u32),
        (b"lowbar;", '_' as u32),
        (b"colon;", ':' as u32),
        (b"period;", '.' as u32),
        (b"comma;", ',' as u32),
        (b"num;", '#' as u32),
        (b"percnt;", '%' as u32),
        (b"hyphen;", '-' as u32),
        (b"dash;", '-' as u32),
    ];
    let rest = &b[i + 1..];
    NAMED
        .iter()
        .find(|(n, _)| rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n))
        .map(|(n, c)| (*c, n.len() + 1))
}

/// The next position, from a given one on, where a search matches (the bytes that may start a
/// decoding token, everything else being copied through), remembered until it is passed.
struct NextOf<F> {
    search: F,
    /// The last answer (`None`: none yet) and the position it was searched from.
    found: Option<(usize, usize)>,
}

impl<F: Fn(&[u8]) -> Option<usize>> NextOf<F> {
    fn new(search: F) -> Self {
        NextOf {
            search,
            found: None,
        }
    }
    /// The first match in `b[from..]` as a position of `b`, or `b.len()`; `from` never
    /// decreases between calls.
    fn at(&mut self, b: &[u8], from: usize) -> usize {
        match self.found {
            Some((searched, at)) if searched <= from && from <= at => at,
            _ => {
                let at = (self.search)(&b[from..]).map_or(b.len(), |p| from + p);
                self.found = Some((from, at));
                at
            }
        }
    }
}

fn decode_layer(b: &[u8]) -> View {
    let mut bytes = Vec::with_capacity(b.len());
    let mut segs: Vec<Seg> = Vec::new();
    let mut i = 0;
    // The next line break and the next other token start, each searched again only once `i`
    // has passed it (a pretty-printed report breaks its line every few dozen bytes; escapes are
    // rare).
    let mut breaks = NextOf::new(|h| memchr::memchr2(b'\n', b'\r', h));
    let mut escapes = NextOf::new(|h| memchr::memchr3(b'%', b'&', b'\\', h));
    while i < b.len() {
        // A run copied through, in one piece.
        let run = breaks.at(b, i).min(escapes.at(b, i)) - i;
        if run > 0 {
            match segs.last_mut() {
                // Contiguous in both the view and the text (a `%` or `\\` left as it was).
                Some(s)
                    if s.copy
                        && (s.orig + s.len) as usize == i
                        && (s.view + s.len) as usize == bytes.len() =>
                {
                    s.len += run as u32;
                }
                _ => segs.push(Seg {
                    view: bytes.len() as u32,
                    orig: i as u32,
                    len: run as u32,
                    copy: true,
                }),
            }
            bytes.extend_from_slice(&b[i..i + run]);
            i += run;
            continue;
        }
        let before = bytes.len();
        let used = decode_token(b, i, &mut bytes).max(1);
        // `\n` escapes and line breaks yield nothing: `used` is 0 for them in decode_token's
        // sense, but the input still advances.
        let used = match b[i] {
            b'\\' if matches!(b.get(i + 1), Some(b'n') | Some(b'r')) => 2,
            _ => used,
        };
        let yielded = bytes.len() - before;
        if yielded > 0 {
            // A token that yields its own single byte (a lone `%`, `&` or `\\`) is a copy.
            let copy = used == 1 && yielded == 1;
            match segs.last_mut() {
                Some(s)
                    if copy
                        && s.copy
                        && (s.orig + s.len) as usize == i
                        && (s.view + s.len) as usize == before =>
                {
                    s.len += 1;
                }
                _ => segs.push(Seg {
                    view: before as u32,
                    orig: i as u32,
                    len: used as u32,
                    copy,
                }),
            }
        }
        i += used;
    }
    bytes.make_ascii_lowercase();
    View {
        bytes,
        segs,
        inner: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv+/Wx";

    fn masked(r: &Redactor, text: &str, secret_part: &str) {
        let out = r.filter(text);
        assert!(
            !out.to_ascii_lowercase()
                .contains(&secret_part.to_ascii_lowercase()),
            "leaked {secret_part:?} in {out:?}"
        );
    }

    fn with_key() -> Redactor {
        let r = Redactor::new();
        r.add_secret(&Secret::new(KEY));
        r
    }

    #[test]
    fn masks_every_listed_encoding() {
        for key in [KEY, "0123456789abcdef0123456789abcdef", "AQEyhmfxK4/+x=Zz"] {
            let r = Redactor::new();
            r.add_secret(&Secret::new(key));
            for form in encoded_forms(key) {
                let text = format!("before {form} after");
                let out = r.filter(&text);
                assert!(!out.contains(&form), "form {form:?} of {key} leaked: {out}");
            }
        }
    }

    #[test]
    fn masks_plain_and_keeps_surroundings() {
        let r = with_key();
        let out = r.filter(&format!("before {KEY} after"));
        assert_eq!(out, format!("before {} after", redact(KEY)));
    }

    #[test]
    fn masks_every_transcript_encoding() {
        let r = with_key();
        let json_slash = serde_json::to_string(KEY)
            .expect("json")
            .replace('/', "\\/");
        let pct_plus = KEY.replace('+', "%2B").replace('/', "%2f");
        let ent_plus = KEY.replace('+', "&#43;");
        let upper_u: String = KEY
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        let zero_ent: String = KEY.chars().map(|c| format!("&#{:04};", c as u32)).collect();
        let hex_ent: String = KEY.chars().map(|c| format!("&#X{:x};", c as u32)).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{{\"k\":\"{KEY}\"}}"));
        let wrapped: String = b64
            .as_bytes()
            .chunks(20)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let split = format!("{}\n{}", &KEY[..20], &KEY[20..]);
        let split_escaped = format!("{}\\n{}", &KEY[..20], &KEY[20..]);
        let body = &KEY["sk_live_".len()..];
        let hex_upper = hex::encode_upper(KEY);
        let double = KEY.replace('+', "&amp;#43;");
        let md = KEY.replace('_', "\\_");
        for form in [
            json_slash,
            pct_plus,
            ent_plus,
            upper_u,
            zero_ent,
            hex_ent,
            wrapped,
            split,
            split_escaped,
            body.to_string(),
            hex_upper,
            double,
            md,
        ] {
            let text = format!("{{\"body\": \"x {form} y\"}}");
            let out = r.filter(&text);
            assert!(!out.contains(&form), "form {form:?} leaked: {out}");
            assert!(
                !out.contains(&KEY[10..30]) && !out.contains("51HxYzAbCdEf"),
                "{out}"
            );
        }
    }

    #[test]
    fn masks_most_of_the_key_inside_another_word() {
        let r = with_key();
        // An account id holding most of the key.
        masked(&r, &format!("acct_{}", &KEY[3..35]), &KEY[3..35]);
    }

    #[test]
    fn masks_base64_at_every_alignment() {
        let r = with_key();
        for prefix in ["", "x", "xy", "xyz"] {
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let blob = engine.encode(format!("{prefix}{KEY}tail"));
                let out = r.filter(&blob);
                assert!(!out.contains(&blob[8..blob.len() - 8]), "{prefix}: {out}");
            }
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let r = with_key();
        let text = "A.5.9 & A.5.36 — 100% of keys; see https://example.com/a?b=c\\d\n::";
        assert_eq!(r.filter(text), text);
    }

    #[test]
    fn large_texts_are_searched_in_chunks_without_losing_a_key() {
        let r = with_key();
        // Keys straddling every chunk boundary, raw and percent-encoded, in a 3 MiB text.
        let mut text = String::new();
        let enc: String = KEY.bytes().map(|b| format!("%{b:02X}")).collect();
        while text.len() < 3 * CHUNK {
            let pad = CHUNK - (text.len() % CHUNK) - 20;
            text.push_str(&"a".repeat(pad));
            text.push_str(KEY);
            text.push('\n');
            text.push_str(&enc);
        }
        let out = r.filter(&text);
        assert!(
            !out.contains("51HxYzAbCdEf"),
            "raw key survived a chunk boundary"
        );
        assert!(
            !out.contains(&enc[30..80]),
            "encoded key survived a chunk boundary"
        );
    }

    /// The per-byte map the view used to keep, as the reference for its segment map.
    fn byte_map(b: &[u8]) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
        let (mut bytes, mut start, mut end) = (vec![], vec![], vec![]);
        let mut i = 0;
        while i < b.len() {
            let before = bytes.len();
            let used = match b[i] {
                b'\\' if matches!(b.get(i + 1), Some(b'n') | Some(b'r')) => 2,
                _ => decode_token(b, i, &mut bytes).max(1),
            };
            for _ in before..bytes.len() {
                start.push(i);
                end.push(i + used);
            }
            i += used;
        }
        bytes.make_ascii_lowercase();
        (bytes, start, end)
    }

    #[test]
    fn the_segment_map_agrees_with_a_byte_map() {
        for text in [
            "",
            "plain Text",
            "a%41b%zz&amp;c&#x41;\\u0041\\n\\x41\\/é\r\nend",
            "%%41&&amp;\\\\\\q\n\n%",
            "&amp;#43;x\\\\u0041y%2541%",
            "{\n  \"k\": \"sk_live_\\u0041b\\/c\"\n}\n",
        ] {
            let view = View::of(text.as_bytes());
            let (one, s1, e1) = byte_map(text.as_bytes());
            let (bytes, start, end) = if has_trigger(&one) {
                let (two, s2, e2) = byte_map(&one);
                let start = s2.iter().map(|&s| s1[s]).collect::<Vec<_>>();
                let end = e2.iter().map(|&e| e1[e - 1]).collect::<Vec<_>>();
                (two, start, end)
            } else {
                (one, s1, e1)
            };
            assert_eq!(view.bytes, bytes, "{text:?}");
            for i in 0..bytes.len() {
                assert_eq!(view.orig_start(i), start[i], "{text:?} start {i}");
                assert_eq!(view.orig_end(i), end[i], "{text:?} end {i}");
            }
        }
    }

    #[test]
    fn short_values_are_found_whole() {
        let r = Redactor::new();
        r.add_value("abcdefghij");
        assert!(!r.filter("x abcdefghij y").contains("abcdefghij"));
        assert!(r.contains_secret("%61bcdefghij"));
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

    /// On a report-sized text the first matcher runs beside the needle search: with no
    /// needle in the text its ranges are used as found; with one, it runs again over the
    /// masked text (its ranges on the text as written would be off by the mask's length).
    #[test]
    fn matchers_on_large_texts_with_and_without_needles() {
        let r = Redactor::new();
        r.add_matcher(Arc::new(|t: &str| {
            t.match_indices("shpat_").map(|(i, _)| i..i + 38).collect()
        }));
        let shape = "shpat_0123456789abcdef0123456789abcdef";
        let filler = "{\"path\": \"dist/app.js\", \"line\": 1},\n".repeat(20_000);
        assert!(filler.len() > PARALLEL_ABOVE);
        let text = format!("{filler}{shape};{filler}{shape}");
        let out = r.filter(&text);
        assert!(!out.contains("0123456789abcdef0123456789"));
        assert_eq!(out.matches("shpat_…").count(), 2);
        let secret = Secret::new(String::from("needle-value-0123456789"));
        r.add_secret(&secret);
        let text = format!("{}{filler}{shape};{filler}{shape}", secret.expose());
        let out = r.filter(&text);
        assert!(!out.contains("needle-value-0123456789"));
        assert!(!out.contains("0123456789abcdef0123456789"));
        assert_eq!(out.matches("shpat_…").count(), 2);
    }

    /// The guarantee the index and the search give together: any 15 bytes or more of any
    /// searched form of a registered value (and any whole form shorter than that), in any case,
    /// at any offset of a text, among many other values, are masked.
    #[test]
    fn every_fragment_of_fifteen_bytes_of_any_form_is_masked() {
        let mut rng = crate::testing::Rng::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: usize| rng.below(n);
        const VALUE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-";
        const NOISE: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ,.;:=(){}[]\"'<>";
        for round in 0..1500 {
            let r = Redactor::new();
            let mut target = String::new();
            for k in 0..8 + round % 13 {
                let len = MIN_SECRET_LEN + next(100);
                let v: String = (0..len).map(|_| VALUE[next(VALUE.len())] as char).collect();
                r.add_value(&v);
                if k == 0 {
                    target = v;
                }
            }
            let forms = needle_forms(&target);
            let form = &forms[next(forms.len())];
            let fragment: Vec<u8> = if form.len() < GRAM + STRIDE - 1 {
                form.clone()
            } else {
                let len = GRAM + STRIDE - 1 + next(form.len() - (GRAM + STRIDE - 1) + 1);
                let at = next(form.len() - len + 1);
                form[at..at + len].to_vec()
            };
            let planted: String = fragment
                .iter()
                .map(|&b| match next(2) {
                    0 => b.to_ascii_uppercase() as char,
                    _ => b as char,
                })
                .collect();
            let noise = |n: usize, next: &mut dyn FnMut(usize) -> usize| -> String {
                (0..n).map(|_| NOISE[next(NOISE.len())] as char).collect()
            };
            let (before, after) = (next(300), next(300));
            let text = format!(
                "{}{planted}{}",
                noise(before, &mut next),
                noise(after, &mut next)
            );
            let out = r.filter(&text).to_ascii_lowercase();
            let fragment = String::from_utf8(fragment).expect("ascii");
            assert!(
                !out.contains(&fragment),
                "round {round}: {} bytes of a {}-byte form at {before} not masked",
                fragment.len(),
                form.len()
            );
        }
    }

    /// The windows the search hashes are exactly those made only of bytes some needle holds.
    #[test]
    fn window_starts_are_the_windows_inside_the_set() {
        let mut rng = crate::testing::Rng::new(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let mut set = ByteSet::default();
            for b in b"abc0_".iter().take(1 + round % 5) {
                set.insert(*b);
            }
            let len = rng.below(200);
            let hay: Vec<u8> = (0..len).map(|_| b"abc0_ x"[rng.below(7)]).collect();
            let w = 1 + rng.below(14);
            let naive: Vec<usize> = (0..(hay.len() + 1).saturating_sub(w))
                .filter(|&p| hay[p..p + w].iter().all(|&b| set.0[usize::from(b)]))
                .collect();
            assert_eq!(
                set.window_starts(&hay, w).collect::<Vec<_>>(),
                naive,
                "round {round}"
            );
        }
    }

    #[test]
    fn many_values_register_and_filter_quickly() {
        let r = Redactor::new();
        for i in 0..5000 {
            r.add_value(&format!("sk_live_{i:020}{}", "Ab".repeat(20)));
        }
        let text = format!("x sk_live_{:020}{} y", 4321, "Ab".repeat(20)).repeat(100);
        let t = std::time::Instant::now();
        let out = r.filter(&text);
        assert!(!out.contains(&"Ab".repeat(20)));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }
}
