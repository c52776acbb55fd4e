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
            b'/' => Some((2, '/')),
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
            for (name, c) in [
                ("amp;", '&'),
                ("quot;", '"'),
                ("lt;", '<'),
                ("gt;", '>'),
                ("apos;", '\''),
            ] {
                if rest.starts_with(name.as_bytes()) {
                    return Some((1 + name.len(), c));
                }
            }
            None
        }
        _ => None,
    }
}

/// A decoded region: decoded bytes and, per decoded byte, its raw offset.
pub struct Decoded {
    pub bytes: Vec<u8>,
    pub raw: Vec<usize>,
}

/// Decodes every region of `hay` that contains an escape. Regions without any escape are not
/// returned (the raw scan covers them).
pub fn decoded_regions(hay: &[u8]) -> Vec<Decoded> {
    let mut regions: Vec<(usize, usize)> = vec![];
    let mut pos = 0;
    while let Some(i) = memchr::memchr3(b'\\', b'%', b'&', &hay[pos..]) {
        let at = pos + i;
        pos = at + 1;
        if escape_at(&hay[at..]).is_none() {
            continue;
        }
        let s = at.saturating_sub(REGION_BEFORE);
        let e = (at + REGION_AFTER).min(hay.len());
        match regions.last_mut() {
            Some((_, pe)) if s <= *pe => *pe = e,
            _ => regions.push((s, e)),
        }
        // Skip ahead: everything up to the region's end is already covered.
        pos = pos.max(e.saturating_sub(REGION_BEFORE));
    }
    regions
        .into_iter()
        .map(|(s, e)| decode(&hay[s..e], s))
        .collect()
}

fn decode(raw: &[u8], base: usize) -> Decoded {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut map = Vec::with_capacity(raw.len());
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < raw.len() {
        if let Some((len, c)) = escape_at(&raw[i..]) {
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                bytes.push(b);
                map.push(base + i);
            }
            i += len;
        } else {
            bytes.push(raw[i]);
            map.push(base + i);
            i += 1;
        }
    }
    map.push(base + raw.len());
    Decoded { bytes, raw: map }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> String {
        decoded_regions(s.as_bytes())
            .into_iter()
            .map(|d| String::from_utf8_lossy(&d.bytes).into_owned())
            .collect()
    }

    #[test]
    fn decodes_layers() {
        assert!(all(r#"k="\u0073k_live_abc""#).contains("sk_live_abc"));
        assert!(all("k=%73%6B%5Flive_abc").contains("sk_live_abc"));
        assert!(all("k=&#115;&#x6b;_live_abc").contains("sk_live_abc"));
        assert!(all("&quot;apiKey&quot;").contains("\"apiKey\""));
        assert!(all("plain text").is_empty());
    }
}
