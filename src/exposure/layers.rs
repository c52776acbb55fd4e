//! Where the decoding layers apply, found in one pass over the bytes.
//!
//! Every 64 bytes are classified at once (one AVX-512 table lookup where the CPU has AVX-512
//! VBMI, AVX2 nibble lookups where it has AVX2, 16-byte portable SIMD compares otherwise) into
//! two bit masks: the base64 alphabet, whose long stretches are the runs the base64 layer
//! decodes (`base64.rs`), and the bytes that can open an escape (`%`, `&`, and `\` before `u`,
//! `x` or `_`), each then checked in place against the escapes the escape layer decodes
//! (`decode.rs`). Most chunks of minified code, source maps and markup hold neither a run nor
//! an escape and cost one classification and a dozen shifts; the bytes are read once for both
//! layers instead of once per layer.

use super::base64::{MIN_RUN, MIN_RUN_KNOWN};
use super::decode;

/// What the pass found, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Layers {
    /// Maximal runs of at least `min` alphabet characters (`A–Z a–z 0–9 + / - _`), with up to
    /// two `=` of padding.
    pub runs: Vec<(usize, usize)>,
    /// Positions where an escape can start ([`decode::opens`]).
    pub escapes: Vec<usize>,
}

/// Runs of at least `min_run` characters (8 to 64; `None`: no runs wanted) and escape
/// openers in `hay`.
pub fn find(hay: &[u8], min_run: Option<usize>) -> Layers {
    Walk::new(min_run).finish(hay)
}

/// The pass [`find`] makes, a block at a time: the same runs and openers, for a caller that
/// reads a large text in blocks with its other passes (see `Scanner::passes`).
#[derive(Debug, Default)]
pub struct Walk {
    min_run: Option<usize>,
    /// Where the next 64-byte chunk starts.
    at: usize,
    /// Alphabet bytes just before `at`, up to 128 (only whether a run reaches its minimum
    /// length matters).
    carry: u32,
    found: Layers,
}

impl Walk {
    pub fn new(min_run: Option<usize>) -> Self {
        Walk {
            min_run,
            ..Default::default()
        }
    }

    /// Walks on through the chunks of `hay` that start before `end` (a run found there is
    /// followed to its end, past `end` if it goes on).
    pub fn advance(&mut self, hay: &[u8], end: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512::available() {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX-512 F, BW and VBMI (checked just above).
                return unsafe { avx512::advance(hay, self, end) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { avx2::advance(hay, self, end) };
            }
        }
        advance_with::<PORTABLE>(hay, self, end);
    }

    /// Walks the rest of `hay`: what [`find`] gives.
    pub fn finish(mut self, hay: &[u8]) -> Layers {
        self.advance(hay, hay.len());
        self.found
    }
}

/// Which classification [`classify`] uses: these three values only.
const PORTABLE: u8 = 0;
const AVX2: u8 = 1;
const AVX512: u8 = 2;

/// [`Walk::advance`] with the classification `SIMD` names.
#[inline(always)]
fn advance_with<const SIMD: u8>(hay: &[u8], w: &mut Walk, end: usize) {
    // The two lengths the scanner uses get their shifts unrolled at compile time.
    const KNOWN: u32 = MIN_RUN_KNOWN as u32;
    const DETECT: u32 = MIN_RUN as u32;
    match w.min_run.map(|m| m.clamp(8, 64) as u32) {
        None => walk::<false, SIMD>(hay, 64, w, end),
        Some(KNOWN) => walk::<true, SIMD>(hay, KNOWN, w, end),
        Some(DETECT) => walk::<true, SIMD>(hay, DETECT, w, end),
        Some(m) => walk::<true, SIMD>(hay, m, w, end),
    }
}

/// The chunk walk. Runs: the windows of `min` set bits are found in the alphabet mask by
/// shifting and AND-ing it with itself (doubling the window each time), the set bits at the
/// end of the previous chunk carried over; a chunk with a window yields the run, whose end is
/// then found a chunk at a time and the walk goes on from there (a run holds no escape).
#[inline(always)]
fn walk<const RUNS: bool, const SIMD: u8>(hay: &[u8], min: u32, w: &mut Walk, end: usize) {
    let out = &mut w.found;
    let n = hay.len();
    let mut i = w.at;
    // Alphabet bytes just before `i` (see `Walk::carry`).
    let mut carry = w.carry;
    while i < end.min(n) {
        let (m, esc) = masks_at::<RUNS, SIMD>(hay, i);
        if !RUNS {
            openers(hay, i, esc, &mut out.escapes);
            i += 64;
            continue;
        }
        let ends = window_ends(m, min);
        let spans = carry > 0 && carry + m.trailing_ones() >= min;
        if ends == 0 && !spans {
            openers(hay, i, esc, &mut out.escapes);
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
        // Escapes before the run in this chunk; those after it are the next chunk's.
        if start > i {
            openers(hay, i, esc & ((1u64 << (start - i)) - 1), &mut out.escapes);
        }
        let mut e = i.max(start);
        loop {
            let m = masks_at::<true, SIMD>(hay, e).0;
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
        out.runs.push((start, e));
        i = e;
        carry = 0;
    }
    (w.at, w.carry) = (i, carry);
}

/// The escape openers among the candidate bits of the chunk at `at`.
#[inline(always)]
fn openers(hay: &[u8], at: usize, mut candidates: u64, out: &mut Vec<usize>) {
    while candidates != 0 {
        let p = at + candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        if decode::opens(&hay[p..]) {
            out.push(p);
        }
    }
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

/// The masks of the 64 bytes at `at` (bytes past the end count as neither): bit `k` of the
/// first set when `hay[at + k]` is in the base64 alphabet (letters, digits, `+ / - _`; only
/// computed when `RUNS`), of the second when it can open an escape: `%`, `&`, or `\` before
/// `u`, `x` or `_` (minified code is full of `\n` and `\"`; the last byte's successor is in
/// the next chunk, so a backslash there stays a candidate).
#[inline(always)]
fn masks_at<const RUNS: bool, const SIMD: u8>(hay: &[u8], at: usize) -> (u64, u64) {
    let (alphabet, [other, backslash, after]) = match hay.get(at..).and_then(<[u8]>::first_chunk) {
        Some(c) => classify::<RUNS, SIMD>(c),
        None => classify_tail::<RUNS, SIMD>(hay.get(at..).unwrap_or_default()),
    };
    (alphabet, other | backslash & (after >> 1 | 1 << 63))
}

/// [`classify`] of the last bytes (fewer than 64), zero-padded.
#[cold]
fn classify_tail<const RUNS: bool, const SIMD: u8>(rest: &[u8]) -> (u64, [u64; 3]) {
    let mut c = [0u8; 64];
    c[..rest.len()].copy_from_slice(rest);
    classify::<RUNS, SIMD>(&c)
}

/// The alphabet mask (when `RUNS`) and the masks of `%`/`&`, of `\`, and of the bytes an
/// escape continues with after a backslash (`u`, `x`, `_`; more is harmless: every candidate
/// is checked by [`decode::opens`]).
#[inline(always)]
fn classify<const RUNS: bool, const SIMD: u8>(c: &[u8; 64]) -> (u64, [u64; 3]) {
    #[cfg(target_arch = "x86_64")]
    match SIMD {
        #[allow(unsafe_code)]
        // SAFETY: `SIMD` is `AVX512` only inside `avx512::advance`, which `Walk::advance`
        // calls after checking that the CPU has AVX-512 F, BW and VBMI.
        AVX512 => return unsafe { avx512::classify::<RUNS>(c) },
        #[allow(unsafe_code)]
        // SAFETY: `SIMD` is `AVX2` only inside `avx2::advance`, which `Walk::advance` calls
        // after checking that the CPU has AVX2.
        AVX2 => return unsafe { avx2::classify::<RUNS>(c) },
        _ => {}
    }
    portable::<RUNS>(c)
}

/// [`classify`] sixteen bytes per compare, on any target (`wide` picks the instructions).
#[inline(always)]
fn portable<const RUNS: bool>(c: &[u8; 64]) -> (u64, [u64; 3]) {
    use wide::u8x16;
    let splat = u8x16::splat;
    let mut alphabet = 0u64;
    let mut masks = [0u64; 3];
    for (k, block) in c.chunks_exact(16).enumerate() {
        let mut b = [0u8; 16];
        b.copy_from_slice(block);
        let v = u8x16::new(b);
        if RUNS {
            let letter = ((v | splat(0x20)) - splat(b'a')).simd_lt(splat(26));
            let digit = (v - splat(b'0')).simd_lt(splat(10));
            let inside = letter
                | digit
                | v.simd_eq(splat(b'+'))
                | v.simd_eq(splat(b'/'))
                | v.simd_eq(splat(b'-'))
                | v.simd_eq(splat(b'_'));
            alphabet |= u64::from(inside.to_bitmask()) << (16 * k);
        }
        let found = [
            v.simd_eq(splat(b'%')) | v.simd_eq(splat(b'&')),
            v.simd_eq(splat(b'\\')),
            v.simd_eq(splat(b'u')) | v.simd_eq(splat(b'x')) | v.simd_eq(splat(b'_')),
        ];
        for (m, f) in masks.iter_mut().zip(found) {
            *m |= u64::from(f.to_bitmask()) << (16 * k);
        }
    }
    (alphabet, masks)
}

/// The AVX2 classification: 32 bytes at a time, every class at once by two nibble lookups
/// (the byte's class bits are `LOW[low nibble] & HIGH[high nibble]`, as simdjson classifies).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::*;

    /// Class bits: 0 `A–O a–o`, 1 `P–Z p–z`, 2 digits, 3 `+ - /`, 4 `_` (together the base64
    /// alphabet); 5 `%` `&`; 6 `\`; 7 `u x _` (and `U X` and DEL, harmless).
    const LOW: [i8; 16] = {
        let mut t = [0u8; 16];
        let mut l = 0;
        while l < 16 {
            let mut c = 0u8;
            if l >= 1 {
                c |= 1;
            }
            if l <= 0xA {
                c |= 2;
            }
            if l <= 9 {
                c |= 4;
            }
            if l == 0xB || l == 0xD || l == 0xF {
                c |= 8;
            }
            if l == 0xF {
                c |= 16;
            }
            if l == 5 || l == 6 {
                c |= 32;
            }
            if l == 0xC {
                c |= 64;
            }
            if l == 5 || l == 8 || l == 0xF {
                c |= 128;
            }
            t[l] = c;
            l += 1;
        }
        as_i8(t)
    };
    const HIGH: [i8; 16] = {
        let mut t = [0u8; 16];
        t[2] = 8 | 32;
        t[3] = 4;
        t[4] = 1;
        t[5] = 2 | 16 | 64 | 128;
        t[6] = 1;
        t[7] = 2 | 128;
        as_i8(t)
    };

    const fn as_i8(t: [u8; 16]) -> [i8; 16] {
        let mut out = [0i8; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = t[i] as i8;
            i += 1;
        }
        out
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn advance(hay: &[u8], w: &mut super::Walk, end: usize) {
        super::advance_with::<{ super::AVX2 }>(hay, w, end)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn classify<const RUNS: bool>(c: &[u8; 64]) -> (u64, [u64; 3]) {
        let table = |t: [i8; 16]| {
            // SAFETY: `t` is 16 bytes, read unaligned.
            let half = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
            _mm256_broadcastsi128_si256(half)
        };
        let (low, high, nibble) = (table(LOW), table(HIGH), _mm256_set1_epi8(0x0F));
        let mut alphabet = 0u64;
        let mut masks = [0u64; 3];
        for (k, half) in c.chunks_exact(32).enumerate() {
            // SAFETY: `half` is 32 bytes, read unaligned.
            let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast()) };
            let lo = _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble));
            let hi = _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
            let class = _mm256_and_si256(lo, hi);
            let bits = |x: __m256i| u64::from(_mm256_movemask_epi8(x) as u32) << (32 * k);
            if RUNS {
                let none = _mm256_cmpeq_epi8(
                    _mm256_and_si256(class, _mm256_set1_epi8(0x1F)),
                    _mm256_setzero_si256(),
                );
                alphabet |= !bits(none) & (u64::from(u32::MAX) << (32 * k));
            }
            // Class bits 5, 6 and 7, each moved to the byte's top bit for the movemask.
            masks[0] |= bits(_mm256_slli_epi16::<2>(class));
            masks[1] |= bits(_mm256_slli_epi16::<1>(class));
            masks[2] |= bits(class);
        }
        (alphabet, masks)
    }
}

/// The AVX-512 classification: 64 bytes at once, every class by one lookup in a 128-byte
/// table (VBMI's two-register byte permute; bytes from 0x80 are in no class) and one test per
/// class straight into a bit mask.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use std::arch::x86_64::*;

    /// Class bits of each byte below 0x80: 1 the base64 alphabet (`A–Z a–z 0–9 + / - _`),
    /// 2 `%` `&`, 4 `\\`, 8 `u x _` (what an escape continues with after a backslash).
    static TABLE: [u8; 128] = {
        let mut t = [0u8; 128];
        let mut b = 0;
        while b < 128 {
            let c = b as u8;
            if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_') {
                t[b] |= 1;
            }
            if matches!(c, b'%' | b'&') {
                t[b] |= 2;
            }
            if c == b'\\' {
                t[b] |= 4;
            }
            if matches!(c, b'u' | b'x' | b'_') {
                t[b] |= 8;
            }
            b += 1;
        }
        t
    };

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    pub(super) fn advance(hay: &[u8], w: &mut super::Walk, end: usize) {
        super::advance_with::<{ super::AVX512 }>(hay, w, end)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(super) fn classify<const RUNS: bool>(c: &[u8; 64]) -> (u64, [u64; 3]) {
        // SAFETY: `c` is 64 bytes and `TABLE` 128, each half read unaligned.
        let (v, low, high) = unsafe {
            (
                _mm512_loadu_si512(c.as_ptr().cast()),
                _mm512_loadu_si512(TABLE.as_ptr().cast()),
                _mm512_loadu_si512(TABLE[64..].as_ptr().cast()),
            )
        };
        let ascii = !_mm512_movepi8_mask(v);
        let class = _mm512_maskz_permutex2var_epi8(ascii, low, v, high);
        let has = |bits: i8| _mm512_test_epi8_mask(class, _mm512_set1_epi8(bits));
        let alphabet = if RUNS { has(1) } else { 0 };
        (alphabet, [has(2), has(4), has(8)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn is_b64(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"+/-_".contains(&b)
    }

    fn runs(hay: &[u8], min: usize) -> Vec<(usize, usize)> {
        find(hay, Some(min)).runs
    }

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
                let (m, esc) = masks_at::<true, PORTABLE>(&c, 0);
                assert_eq!(m >> k & 1 == 1, is_b64(b), "{b:#x} at {k}");
                assert_eq!(m | 1 << k, u64::MAX, "{b:#x} at {k}");
                // `\` before `a` opens nothing, except as the last byte (its successor unseen).
                let opener = b"%&".contains(&b) || (b == b'\\' && k == 63);
                assert_eq!(esc, u64::from(opener) << k, "{b:#x} at {k}");
                assert_eq!(masks_at::<false, PORTABLE>(&c, 0).1, esc, "{b:#x} at {k}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    assert_eq!(masks_at::<true, AVX2>(&c, 0), (m, esc), "{b:#x} at {k}");
                    assert_eq!(masks_at::<false, AVX2>(&c, 0).1, esc, "{b:#x} at {k}");
                }
                #[cfg(target_arch = "x86_64")]
                if avx512::available() {
                    assert_eq!(masks_at::<true, AVX512>(&c, 0), (m, esc), "{b:#x} at {k}");
                    assert_eq!(masks_at::<false, AVX512>(&c, 0).1, esc, "{b:#x} at {k}");
                }
            }
        }
        // Past the end: outside.
        assert_eq!(masks_at::<true, PORTABLE>(b"abc", 0).0, 0b111);
        assert_eq!(masks_at::<true, PORTABLE>(b"abc", 3).0, 0);
    }

    /// The chunk walk finds exactly the runs and escape openers a byte-by-byte walk finds,
    /// for runs shorter and longer than a chunk, across chunk boundaries, at both lengths the
    /// scanner uses, and the same openers when no runs are wanted.
    #[test]
    fn chunk_walk_matches_a_naive_walk() {
        fn naive(hay: &[u8], min: usize) -> Layers {
            let mut out = Layers::default();
            let mut i = 0;
            while i < hay.len() {
                if !is_b64(hay[i]) {
                    if decode::opens(&hay[i..]) {
                        out.escapes.push(i);
                    }
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
                    out.runs.push((s, i));
                }
            }
            out
        }
        let mut rng = crate::testing::Rng::new(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"aZ09+/-_=.; \"\n";
        let escapes: [&[u8]; 6] = [b"\\u0073", b"\\_", b"%41", b"&#115;", b"&amp;", b"\\n"];
        for round in 0..6000 {
            // Lengths past three chunks; outside bytes every ~8 or every ~30 bytes, so that
            // runs of every length occur, some over whole chunks; escapes (and look-alikes)
            // among them.
            let len = rng.below(400);
            let inside_percent = if round % 2 == 0 { 88 } else { 97 };
            let mut hay: Vec<u8> = vec![];
            while hay.len() < len {
                let x = rng.next_u64();
                let r = (x % 100) as usize;
                if r < inside_percent {
                    hay.push(alphabet[r % 6]);
                } else if r.is_multiple_of(3) {
                    hay.extend_from_slice(escapes[(x >> 8) as usize % escapes.len()]);
                } else {
                    hay.push(alphabet[6 + r % 6]);
                }
            }
            for min in [MIN_RUN_KNOWN, MIN_RUN] {
                let text = String::from_utf8_lossy(&hay);
                assert_eq!(find(&hay, Some(min)), naive(&hay, min), "{min}: {text}");
                assert_eq!(find(&hay, None).escapes, naive(&hay, min).escapes, "{text}");
                let with = |simd: u8, min: Option<usize>| {
                    let mut w = Walk::new(min);
                    match simd {
                        #[cfg(target_arch = "x86_64")]
                        #[allow(unsafe_code)]
                        // SAFETY: called only when the CPU has AVX2 (checked below).
                        AVX2 => unsafe { avx2::advance(&hay, &mut w, hay.len()) },
                        _ => advance_with::<PORTABLE>(&hay, &mut w, hay.len()),
                    }
                    w.found
                };
                assert_eq!(with(PORTABLE, Some(min)), naive(&hay, min), "{text}");
                assert_eq!(with(PORTABLE, None).escapes, naive(&hay, min).escapes);
                // The AVX2 walk where `find` takes the AVX-512 one.
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    assert_eq!(with(AVX2, Some(min)), naive(&hay, min), "{text}");
                }
                // Walked in blocks of any size, what `find` gives.
                let block = 1 + (round * 7 + min) % 150;
                let mut w = Walk::new(Some(min));
                let mut end = 0;
                while end < hay.len() {
                    end = (end + block).min(hay.len());
                    w.advance(&hay, end);
                }
                assert_eq!(
                    w.finish(&hay),
                    naive(&hay, min),
                    "blocks of {block}: {text}"
                );
            }
        }
    }
}
