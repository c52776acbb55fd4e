//! The base64 (and hex) layer: runs of encoded text that can hold a key are decoded into text
//! views, which the detectors and the known-value search then read like the raw bytes.
//!
//! - **Runs**: maximal stretches of the base64 alphabet, standard and URL-safe alike
//!   (`A–Z a–z 0–9 + / - _`), plus up to two `=` of padding, long enough to hold a key: at
//!   least [`MIN_RUN`] characters (the shortest key a detector finds, `sk_live_` and 20
//!   characters, encodes to 38), or [`MIN_RUN_KNOWN`] when known keys are searched for (16
//!   bytes and more). They are found 64 bytes at a time, by SIMD classification and a
//!   bit-mask window search (see [`runs`]). `atob("…")`, `Buffer.from("…",
//!   "base64")`, `data:…;base64,` URIs and base64 JSON config blobs are all such runs: the
//!   container is not parsed, the run is.
//! - **Pre-check**: before a run is decoded in full, its first [`SAMPLE`] characters are
//!   decoded and must read as text (valid UTF-8, no control characters but tab and line
//!   breaks). WASM, images and fonts embedded as base64 fail it at once and cost one small
//!   decode; so do identifiers, paths and hashes that merely use the alphabet. A run whose
//!   start is not the blob's start (a path before it: `/cfg/eyJ…`) is retried after its last
//!   `/`, `+`, `-` or `_` within the sample.
//! - **Hex**: a run of hex digits only (even length, at least 32) is decoded as hex instead.
//! - **Bounds**: runs longer than [`MAX_RUN`] are not decoded; the caller bounds nesting.
//! - **Offsets** map back to the encoded text: decoded byte `k` comes from the encoded
//!   characters `4k/3` and the next ([`encoded_start`], [`encoded_end`]).

/// Shortest run decoded for the detectors: 27 bytes, less than any key they find.
pub const MIN_RUN: usize = 36;
/// Shortest run decoded when known keys are searched for: 16 bytes ([`super::known::MIN_KNOWN_LEN`]).
pub const MIN_RUN_KNOWN: usize = 22;
/// Longest run decoded (longer ones are assets, never configuration).
pub const MAX_RUN: usize = 8 << 20;
/// Characters decoded by the pre-check.
pub const SAMPLE: usize = 96;
/// Shortest hex run decoded as hex (16 bytes).
const MIN_HEX: usize = 32;

/// Sextet value per byte; `NONE` where the byte is not in either alphabet (`=` included).
const NONE: u8 = 0xFF;
static VALUE: [u8; 256] = {
    let mut t = [NONE; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

#[cfg(test)]
fn is_b64(b: u8) -> bool {
    VALUE[b as usize] != NONE
}

/// What a run decodes as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Hex,
}

impl Encoding {
    /// The name a location gives the layer.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        }
    }
}

/// A decoded run: where its encoded text starts in the haystack, how it was encoded, and the
/// decoded bytes.
#[derive(Debug)]
pub struct Decoded {
    pub start: usize,
    pub encoding: Encoding,
    pub bytes: Vec<u8>,
}

impl Decoded {
    /// Offset in the haystack of the encoded character that starts decoded byte `k`.
    pub fn encoded_start(&self, k: usize) -> usize {
        self.start
            + match self.encoding {
                Encoding::Base64 => encoded_start(k),
                Encoding::Hex => 2 * k,
            }
    }

    /// Offset in the haystack just past the encoded characters of decoded bytes `..k`.
    pub fn encoded_end(&self, k: usize) -> usize {
        self.start
            + match self.encoding {
                Encoding::Base64 => encoded_end(k),
                Encoding::Hex => 2 * k,
            }
    }
}

/// The first encoded character of decoded byte `k` (relative to the run's start).
pub fn encoded_start(k: usize) -> usize {
    4 * (k / 3) + k % 3
}

/// The end of the encoded characters of decoded bytes `..k`.
pub fn encoded_end(k: usize) -> usize {
    (4 * k).div_ceil(3)
}

/// Maximal runs of at least `min` (8 to 64) alphabet characters (with up to two `=` of
/// padding), in order.
///
/// A chunk search: every 64 bytes are classified at once into a bit mask ([`mask_at`]:
/// 16-byte SIMD compares), and the windows of `min` set bits are found in the mask by
/// shifting and AND-ing it with itself (doubling the window each time), the set bits at the
/// end of the previous chunk carried over. A chunk without such a window (most of minified
/// code, source maps and markup, where punctuation comes every few bytes) costs one
/// classification and a dozen shifts; a chunk with one yields the run, whose end is then
/// found a chunk at a time.
pub fn runs(hay: &[u8], min: usize) -> Vec<(usize, usize)> {
    // The two lengths the scanner uses get their shifts unrolled at compile time.
    const KNOWN: u32 = MIN_RUN_KNOWN as u32;
    const DETECT: u32 = MIN_RUN as u32;
    match min.clamp(8, 64) as u32 {
        KNOWN => runs_of(hay, KNOWN),
        DETECT => runs_of(hay, DETECT),
        m => runs_of(hay, m),
    }
}

#[inline(always)]
fn runs_of(hay: &[u8], min: u32) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let n = hay.len();
    let mut i = 0usize;
    // Alphabet bytes just before `i`, up to 128 (only whether a run reaches `min` matters).
    let mut carry = 0u32;
    while i < n {
        let m = mask_at(hay, i);
        let ends = window_ends(m, min);
        let spans = carry > 0 && carry + m.trailing_ones() >= min;
        if ends == 0 && !spans {
            carry = if m == u64::MAX {
                (carry + 64).min(128)
            } else {
                m.leading_ones()
            };
            i += 64;
            continue;
        }
        // The run starts in the carry (before this chunk) or after the last byte outside the
        // alphabet below the first window in this chunk. A carry of `min` or more would have
        // been a window in the previous chunk, so here it is exact.
        let start = if spans {
            i - carry as usize
        } else {
            let first = ends.trailing_zeros() + 1 - min;
            let outside = !m & ((1u64 << first) - 1);
            if outside == 0 {
                i - carry as usize
            } else {
                i + 64 - outside.leading_zeros() as usize
            }
        };
        let mut e = i.max(start);
        loop {
            let m = mask_at(hay, e);
            e += m.trailing_ones() as usize;
            if m != u64::MAX {
                break;
            }
        }
        let mut e = e.min(n);
        let mut pad = 0;
        while pad < 2 && e < n && hay[e] == b'=' {
            e += 1;
            pad += 1;
        }
        out.push((start, e));
        i = e;
        carry = 0;
    }
    out
}

/// Bit `q` set when bits `q - min + 1 ..= q` of `x` are all set (bits below 0 count as clear).
#[inline(always)]
fn window_ends(x: u64, min: u32) -> u64 {
    let mut acc = u64::MAX;
    let mut shift = 0;
    let mut p = x;
    let mut width = 1;
    let mut rem = min;
    while rem > 0 {
        if rem & 1 == 1 {
            acc &= p << shift;
            shift += width;
        }
        rem >>= 1;
        if rem > 0 {
            p &= p << width;
            width *= 2;
        }
    }
    acc
}

/// Bit `k` set when `hay[at + k]` is in the alphabet (bytes past the end count as outside).
#[inline(always)]
fn mask_at(hay: &[u8], at: usize) -> u64 {
    match hay.get(at..at + 64) {
        Some(c) => mask64(c),
        None => {
            let mut c = [0u8; 64];
            let rest = hay.get(at..).unwrap_or_default();
            c[..rest.len()].copy_from_slice(rest);
            mask64(&c)
        }
    }
}

/// [`mask_at`] of exactly 64 bytes: letters (case folded), digits and `+ / - _`, sixteen
/// bytes per compare.
#[inline(always)]
fn mask64(c: &[u8]) -> u64 {
    use wide::u8x16;
    let splat = u8x16::splat;
    let mut out = 0u64;
    for (k, block) in c.chunks_exact(16).enumerate() {
        let mut b = [0u8; 16];
        b.copy_from_slice(block);
        let v = u8x16::new(b);
        let letter = ((v | splat(0x20)) - splat(b'a')).simd_lt(splat(26));
        let digit = (v - splat(b'0')).simd_lt(splat(10));
        let inside = letter
            | digit
            | v.simd_eq(splat(b'+'))
            | v.simd_eq(splat(b'/'))
            | v.simd_eq(splat(b'-'))
            | v.simd_eq(splat(b'_'));
        out |= u64::from(inside.to_bitmask()) << (16 * k);
    }
    out
}

/// Decodes base64 leniently: either alphabet, padding and anything after it ignored, a last
/// partial group decoded as far as it goes.
pub fn decode(enc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(enc.len() / 4 * 3 + 2);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in enc {
        let v = VALUE[c as usize];
        if v == NONE {
            break;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_hex(enc: &[u8]) -> Vec<u8> {
    enc.chunks_exact(2)
        .map(|p| {
            let v = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            (v(p[0]) << 4) | v(p[1])
        })
        .collect()
}

/// Whether decoded bytes read as text: UTF-8 (a character cut at the end allowed) without
/// control characters other than tab, line feed and carriage return.
pub fn is_text(b: &[u8]) -> bool {
    if b.iter()
        .any(|&c| (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) || c == 0x7f)
    {
        return false;
    }
    match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && b.len() - e.valid_up_to() < 4,
    }
}

/// The decoded text of the run `hay[s..e]` (found with [`runs`] for `min`), if it passes the
/// pre-check (see the module documentation).
pub fn decode_run(hay: &[u8], s: usize, e: usize, min: usize) -> Option<Decoded> {
    if e - s > MAX_RUN {
        return None;
    }
    let run = &hay[s..e];
    let body_len = run.iter().take_while(|&&c| c != b'=').count();
    if body_len >= MIN_HEX && body_len % 2 == 0 && run[..body_len].iter().all(u8::is_ascii_hexdigit)
    {
        let sample = decode_hex(&run[..body_len.min(SAMPLE)]);
        if !is_text(&sample) {
            return None;
        }
        return Some(Decoded {
            start: s,
            encoding: Encoding::Hex,
            bytes: decode_hex(&run[..body_len]),
        });
    }
    let head = &run[..run.len().min(SAMPLE)];
    let retries = head
        .iter()
        .rposition(|c| matches!(c, b'/' | b'+' | b'-' | b'_'))
        .map(|i| s + i + 1);
    for start in std::iter::once(s).chain(retries) {
        if e - start < min {
            continue;
        }
        let sample = &hay[start..e.min(start + SAMPLE)];
        if is_text(&decode(sample)) {
            return Some(Decoded {
                start,
                encoding: Encoding::Base64,
                bytes: decode(&hay[start..e]),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn runs_are_found_whatever_their_position() {
        let blob = base64::engine::general_purpose::STANDARD.encode("a config blob, long enough");
        for pad in 0..45 {
            let hay = format!("{}x(\"{blob}\");k=1", " ".repeat(pad));
            let r = runs(hay.as_bytes(), MIN_RUN_KNOWN);
            assert_eq!(r.len(), 1, "{hay}");
            assert_eq!(&hay[r[0].0..r[0].1], blob, "{hay}");
        }
        assert!(runs(b"short a=b c=d; e.f(g,h)", MIN_RUN_KNOWN).is_empty());
    }

    #[test]
    fn mask_classification_matches_the_table() {
        for b in 0..=255u8 {
            for k in 0..64 {
                let mut c = [b'a'; 64];
                c[k] = b;
                let m = mask_at(&c, 0);
                assert_eq!(m >> k & 1 == 1, is_b64(b), "{b:#x} at {k}");
                assert_eq!(m | 1 << k, u64::MAX, "{b:#x} at {k}");
            }
        }
        // Past the end: outside.
        assert_eq!(mask_at(b"abc", 0), 0b111);
        assert_eq!(mask_at(b"abc", 3), 0);
    }

    /// The chunk search finds exactly the runs a byte-by-byte walk finds, for runs shorter
    /// and longer than a chunk, across chunk boundaries, at both lengths the scanner uses.
    #[test]
    fn chunk_search_matches_a_naive_walk() {
        fn naive(hay: &[u8], min: usize) -> Vec<(usize, usize)> {
            let mut out = vec![];
            let mut i = 0;
            while i < hay.len() {
                if !is_b64(hay[i]) {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < hay.len() && is_b64(hay[i]) {
                    i += 1;
                }
                if i - s >= min {
                    let mut pad = 0;
                    while pad < 2 && i < hay.len() && hay[i] == b'=' {
                        i += 1;
                        pad += 1;
                    }
                    out.push((s, i));
                }
            }
            out
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet = b"aZ09+/-_=.; \"\n";
        for round in 0..6000 {
            // Lengths past three chunks; outside bytes every ~8 or every ~30 bytes, so that
            // runs of every length occur, some over whole chunks.
            let len = (seed % 400) as usize;
            let inside_percent = if round % 2 == 0 { 88 } else { 97 };
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let r = (seed % 100) as usize;
                    if r < inside_percent {
                        alphabet[r % 6]
                    } else {
                        alphabet[6 + r % 6]
                    }
                })
                .collect();
            for min in [MIN_RUN_KNOWN, MIN_RUN] {
                assert_eq!(
                    runs(&hay, min),
                    naive(&hay, min),
                    "{min}: {}",
                    String::from_utf8_lossy(&hay)
                );
            }
        }
    }

    #[test]
    fn decodes_either_alphabet_with_or_without_padding() {
        for text in ["sk", "ska", "skab", "a longer text ~~~ ???"] {
            for e in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                assert_eq!(decode(e.encode(text).as_bytes()), text.as_bytes());
            }
        }
    }

    #[test]
    fn offsets_map_back_to_the_encoded_characters() {
        let text = b"0123456789abcdef";
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(text);
        for s in 0..text.len() {
            for e in s + 1..=text.len() {
                // The encoded span decodes (at its alignment) to a text holding `s..e`.
                let (es, ee) = (encoded_start(s), encoded_end(e));
                let aligned = es - es % 4;
                let d = decode(&enc.as_bytes()[aligned..ee]);
                let from = s - aligned / 4 * 3;
                assert_eq!(&d[from..from + e - s], &text[s..e], "{s}..{e}");
            }
        }
    }

    #[test]
    fn binary_assets_and_identifiers_fail_the_pre_check() {
        let wasm = base64::engine::general_purpose::STANDARD
            .encode(b"\0asm\x01\0\0\0\x01\x06\x01`\x01\x7f\x01\x7f\x03\x02\x01\0\x07\x07\x01");
        let png = base64::engine::general_purpose::STANDARD
            .encode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0");
        for hay in [
            wasm.as_str(),
            png.as_str(),
            "someVeryLongCamelCaseIdentifierName",
            "0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(
                decode_run(hay.as_bytes(), 0, hay.len(), MIN_RUN_KNOWN).is_none(),
                "{hay}"
            );
        }
        let text = base64::engine::general_purpose::STANDARD.encode("{\"k\":\"v\", \"x\": 1}");
        let d = decode_run(text.as_bytes(), 0, text.len(), MIN_RUN_KNOWN).expect("text");
        assert_eq!(d.bytes, b"{\"k\":\"v\", \"x\": 1}");
        let hex = hex::encode("a key in hex, as text");
        let d = decode_run(hex.as_bytes(), 0, hex.len(), MIN_RUN_KNOWN).expect("hex");
        assert_eq!(
            (d.encoding, d.bytes.as_slice()),
            (Encoding::Hex, &b"a key in hex, as text"[..])
        );
    }

    #[test]
    fn a_path_before_the_blob_is_skipped() {
        let blob =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{\"secret\":\"value\"}");
        let hay = format!("/api/cfg/{blob}");
        let d = decode_run(hay.as_bytes(), 0, hay.len(), MIN_RUN_KNOWN).expect("decoded");
        assert_eq!(d.start, "/api/cfg/".len());
        assert_eq!(d.bytes, b"{\"secret\":\"value\"}");
    }
}
