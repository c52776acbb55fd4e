//! Decoding layers: regions holding JSON/JS string escapes, percent-encoding or HTML entities
//! are decoded (with a map back to raw offsets) so encoded keys are still found.

/// Bytes decoded around each escape before and after it.
const REGION_BEFORE: usize = 256;
const REGION_AFTER: usize = 768;

fn hexval(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex_n(s: &[u8], n: usize) -> Option<u32> {
    if s.len() < n {
        return None;
    }
    let mut v = 0u32;
    for &b in &s[..n] {
        v = v * 16 + hexval(b)?;
    }
    Some(v)
}

/// The named HTML entities decoded (after the `&`), and their characters.
const NAMED: [(&[u8], char); 6] = [
    (b"amp;", '&'),
    (b"quot;", '"'),
    (b"lt;", '<'),
    (b"gt;", '>'),
    (b"apos;", '\''),
    (b"lowbar;", '_'),
];

/// Length and decoded char of an escape at `s[0]`, if any.
fn escape_at(s: &[u8]) -> Option<(usize, char)> {
    match s.first()? {
        b'\\' => match s.get(1)? {
            b'u' => {
                let v = hex_n(&s[2..], 4)?;
                Some((6, char::from_u32(v)?))
            }
            b'x' => {
                let v = hex_n(&s[2..], 2)?;
                Some((4, char::from_u32(v)?))
            }
            // `\/`, `\"`, and Markdown's `\_`, `\*`, `\+` …: the character itself.
            &c if c.is_ascii_punctuation() => Some((2, char::from(c))),
            _ => None,
        },
        b'%' => {
            let v = hex_n(&s[1..], 2)?;
            (v < 0x80).then(|| (3, char::from(v as u8)))
        }
        b'&' => {
            let rest = &s[1..];
            if rest.first() == Some(&b'#') {
                let (digits, radix, skip) = if matches!(rest.get(1), Some(b'x' | b'X')) {
                    (&rest[2..], 16, 3)
                } else {
                    (&rest[1..], 10, 2)
                };
                let n = digits
                    .iter()
                    .take(8)
                    .take_while(|b| (**b as char).is_digit(radix))
                    .count();
                if n == 0 || digits.get(n) != Some(&b';') {
                    return None;
                }
                let txt = std::str::from_utf8(&digits[..n]).ok()?;
                let v = u32::from_str_radix(txt, radix).ok()?;
                return Some((1 + skip - 1 + n + 1, char::from_u32(v)?));
            }
            NAMED
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .map(|&(name, c)| (1 + name.len(), c))
        }
        _ => None,
    }
}

/// Whether an escape that decodes to a printable ASCII character can start at `s[0]` (a key
/// is ASCII, so no other escape can hide part of one): `\u0`, `\x2`–`\x7`, `&#` before a
/// digit or `x`, the named entities, `%`, and Markdown's `\_` (the escape that splits
/// `sk_live_` and `shpat_`). Minified code is full of `\n`, `\"`, `&&` and `100%`: those open
/// no region. Other escapes inside a region (`\"`, `\+`, …) are decoded all the same. The
/// candidates (`\`, `%`, `&`) come from the scanner's one classification pass (`layers.rs`).
#[inline]
pub fn opens(s: &[u8]) -> bool {
    match s {
        [b'\\', b'u', b'0', ..] | [b'\\', b'x', b'2'..=b'7', ..] | [b'\\', b'_', ..] => true,
        [b'&', b'#', c, ..] => c.is_ascii_digit() || matches!(c, b'x' | b'X'),
        [b'&', rest @ ..] => NAMED.iter().any(|(name, _)| rest.starts_with(name)),
        [b'%', ..] => true,
        _ => false,
    }
}

/// Byte ranges of `hay` around escapes, merged; everything outside them decodes to itself
/// (the raw scan covers it).
pub fn regions(hay: &[u8]) -> Vec<(usize, usize)> {
    regions_at(hay, &super::layers::find(hay, None).escapes)
}

/// [`regions`] around the escape openers `at` (ascending) already found in `hay`.
pub fn regions_at(hay: &[u8], at: &[usize]) -> Vec<(usize, usize)> {
    let mut r = Regions::default();
    for &p in at {
        r.add(hay, p);
    }
    r.0
}

/// Escape regions, merged as candidate positions arrive in ascending order.
#[derive(Debug, Default)]
struct Regions(Vec<(usize, usize)>);

impl Regions {
    /// Takes a candidate escape position (ascending) in `hay`.
    fn add(&mut self, hay: &[u8], at: usize) {
        if escape_at(&hay[at..]).is_none() {
            return;
        }
        let s = at.saturating_sub(REGION_BEFORE);
        let e = (at + REGION_AFTER).min(hay.len());
        match self.0.last_mut() {
            Some((_, pe)) if s <= *pe => *pe = (*pe).max(e),
            _ => self.0.push((s, e)),
        }
    }
}

/// Decodes `raw` into `out` (cleared first).
pub fn decode_into(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < raw.len() {
        match escape_at(&raw[i..]) {
            Some((len, c)) => {
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += len;
            }
            None => {
                out.push(raw[i]);
                i += 1;
            }
        }
    }
}

/// The offsets in `raw` of bytes `ks` (ascending) of its decoding, in one walk (`k` = decoded
/// length gives `raw.len()`); a byte produced by an escape maps to the escape's first byte.
pub fn raw_offsets(raw: &[u8], ks: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(ks.len());
    let (mut i, mut d) = (0, 0);
    for &k in ks {
        while i < raw.len() {
            let (len, n) = match escape_at(&raw[i..]) {
                Some((len, c)) => (len, c.len_utf8()),
                None => (1, 1),
            };
            if k < d + n {
                break;
            }
            d += n;
            i += len;
        }
        out.push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> String {
        let mut out = String::new();
        let mut buf = vec![];
        for (a, b) in regions(s.as_bytes()) {
            decode_into(&s.as_bytes()[a..b], &mut buf);
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        out
    }

    #[test]
    fn decodes_layers() {
        assert!(all(r#"k="\u0073k_live_abc""#).contains("sk_live_abc"));
        assert!(all("k=%73%6B%5Flive_abc").contains("sk_live_abc"));
        assert!(all("k=&#115;&#x6b;_live_abc").contains("sk_live_abc"));
        assert!(all("&quot;apiKey&quot;").contains("\"apiKey\""));
        assert!(all("plain text").is_empty());
        assert!(all("a && b || 100% \\n").is_empty());
        assert!(all(r"k=\x73k_live_abc").contains("sk_live_abc"));
        assert!(all("k=%73k_live_abc").contains("sk_live_abc"));
        assert!(all(r"k=sk\_live\_abc").contains("sk_live_abc"));
        assert!(all("k=sk&lowbar;live&lowbar;abc").contains("sk_live_abc"));
    }

    #[test]
    fn raw_offsets_point_into_the_escapes() {
        let raw = br"k=\u0073k_%41&amp;z";
        let mut d = vec![];
        decode_into(raw, &mut d);
        assert_eq!(d, b"k=sk_A&z");
        assert_eq!(
            raw_offsets(raw, &[0, 2, 3, 5, 6, 7, 8]),
            [0, 2, 8, 10, 13, 18, raw.len()]
        );
    }
}
