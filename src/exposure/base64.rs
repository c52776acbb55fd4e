//! The base64 (and hex) layer: runs of encoded text that can hold a key are decoded into text
//! views, which the detectors and the known-value search then read like the raw bytes.
//!
//! - **Runs**: maximal stretches of the base64 alphabet, standard and URL-safe alike
//!   (`A–Z a–z 0–9 + / - _`), plus up to two `=` of padding, long enough to hold a key: at
//!   least [`MIN_RUN`] characters (the shortest key a detector finds, `sk_live_` and 20
//!   characters, encodes to 38), or [`MIN_RUN_KNOWN`] when known keys are searched for (16
//!   bytes and more). They are found in the scanner's one classification pass over the bytes
//!   (`layers.rs`), 64 bytes at a time. `atob("…")`, `Buffer.from("…",
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
/// Shortest run decoded when known keys are searched for, whatever their lengths: one that can
/// hold 16 bytes ([`super::known::MIN_KNOWN_LEN`]). The scanner decodes runs that can hold its
/// shortest known key ([`super::known::KnownKeys::min_run`]).
pub const MIN_RUN_KNOWN: usize = run_holding(super::known::MIN_KNOWN_LEN);

/// The fewest base64 characters that can encode `bytes` bytes, at any alignment: byte `k` of a
/// decoded text comes from characters `4k/3` and the next, so `bytes` consecutive bytes cover
/// at least `4 × bytes / 3` characters, rounded up. Escaped forms (JSON, URL, HTML) are longer
/// than the bytes they stand for, so they need no fewer.
pub const fn run_holding(bytes: usize) -> usize {
    (4 * bytes).div_ceil(3)
}

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

/// Decodes base64 leniently: either alphabet, padding and anything after it ignored, a last
/// partial group decoded as far as it goes.
pub fn decode(enc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(enc.len() / 4 * 3 + 2);
    decode_each(enc, |b| out.push(b));
    out
}

/// [`decode`], each decoded byte handed to `push`.
#[inline(always)]
fn decode_each(enc: &[u8], mut push: impl FnMut(u8)) {
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
            push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
}

/// Whether a sample of at most [`SAMPLE`] characters decodes to text ([`is_text`]), decoded
/// on the stack: its first 16 characters first, where most runs that are not encoded text
/// (identifiers, hashes, binary assets) already fail.
fn sample_is_text(enc: &[u8]) -> bool {
    let enc = &enc[..enc.len().min(SAMPLE)];
    let mut buf = [0u8; SAMPLE / 4 * 3];
    let mut decode = |enc: &[u8]| {
        let mut n = 0;
        decode_each(enc, |b| {
            buf[n] = b;
            n += 1;
        });
        is_text(&buf[..n])
    };
    decode(&enc[..enc.len().min(16)]) && decode(enc)
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

/// The decoded text of the run `hay[s..e]` (found by [`super::layers::find`] for `min`), if
/// it passes the pre-check (see the module documentation).
pub fn decode_run(hay: &[u8], s: usize, e: usize, min: usize) -> Option<Decoded> {
    if e - s > MAX_RUN {
        return None;
    }
    let run = &hay[s..e];
    // Padding only ends a run.
    let body_len = run.len() - run.iter().rev().take_while(|&&c| c == b'=').count();
    if body_len >= MIN_HEX
        && body_len.is_multiple_of(2)
        && run[..body_len].iter().all(u8::is_ascii_hexdigit)
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
        if sample_is_text(&hay[start..e]) {
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
