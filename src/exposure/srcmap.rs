//! Source maps: `sourceMappingURL` references (relative paths, `data:` URIs), mapping a bundle
//! position to its original file and line, and locating keys inside `sourcesContent`.

use base64::Engine;

use crate::run::OriginalSource;

/// Largest map decoded for attribution.
pub const MAX_MAP_BYTES: usize = 64 << 20;
/// Deepest JSON nesting accepted in a map (real maps are 2–4 deep).
const MAX_DEPTH: usize = 64;

/// Byte spans (inside the raw map text, between the quotes) of `sources` and `sourcesContent`.
#[derive(Debug, Default)]
pub struct MapLayout {
    pub sources: Vec<String>,
    pub contents: Vec<(usize, usize)>,
}

/// Why a map could not be used.
#[derive(Debug, thiserror::Error)]
#[error("source map: {0}")]
pub struct MapError(pub String);

struct Tok<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Tok<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Result<(), MapError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(MapError(format!(
                "expected `{}` at byte {}",
                c as char, self.i
            )))
        }
    }
    /// A string's raw span (between the quotes).
    fn string(&mut self) -> Result<(usize, usize), MapError> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match memchr::memchr2(b'"', b'\\', &self.s[self.i..]) {
                None => return Err(MapError("unterminated string".into())),
                Some(k) => {
                    self.i += k;
                    if self.s[self.i] == b'\\' {
                        self.i += 2;
                    } else {
                        let end = self.i;
                        self.i += 1;
                        return Ok((start, end));
                    }
                }
            }
        }
    }
    fn skip_value(&mut self, depth: usize) -> Result<(), MapError> {
        if depth > MAX_DEPTH {
            return Err(MapError(format!("nesting deeper than {MAX_DEPTH}")));
        }
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.i += 1;
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(MapError(format!("bad object at byte {}", self.i))),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(MapError(format!("bad array at byte {}", self.i))),
                    }
                }
            }
            Some(_) => {
                while self.i < self.s.len()
                    && !matches!(
                        self.s[self.i],
                        b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'
                    )
                {
                    self.i += 1;
                }
                Ok(())
            }
            None => Err(MapError("unexpected end".into())),
        }
    }
    /// An array of strings-or-null; spans of the strings (null → empty span at 0).
    fn string_array(&mut self) -> Result<Vec<(usize, usize)>, MapError> {
        let mut out = vec![];
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(out);
        }
        loop {
            if self.peek() == Some(b'"') {
                out.push(self.string()?);
            } else {
                self.skip_value(2)?;
                out.push((0, 0));
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(MapError(format!("bad array at byte {}", self.i))),
            }
        }
    }
}

fn unescape(raw: &[u8]) -> String {
    let quoted = [b"\"", raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// Reads the layout of a map without building a tree (bounded depth, any size).
pub fn layout(map: &[u8]) -> Result<MapLayout, MapError> {
    let mut t = Tok { s: map, i: 0 };
    let mut out = MapLayout::default();
    t.eat(b'{')?;
    if t.peek() == Some(b'}') {
        return Ok(out);
    }
    loop {
        let (ks, ke) = t.string()?;
        t.eat(b':')?;
        match &map[ks..ke] {
            b"sources" => {
                out.sources = t
                    .string_array()?
                    .into_iter()
                    .map(|(s, e)| unescape(&map[s..e]))
                    .collect();
            }
            b"sourcesContent" => out.contents = t.string_array()?,
            _ => t.skip_value(1)?,
        }
        match t.peek() {
            Some(b',') => t.i += 1,
            Some(b'}') => return Ok(out),
            _ => return Err(MapError(format!("bad object at byte {}", t.i))),
        }
    }
}

impl MapLayout {
    /// If `offset` lies inside a `sourcesContent` string: its source path and the 1-based
    /// line/column (characters) inside the decoded content.
    pub fn original_at(&self, map: &[u8], offset: usize) -> Option<OriginalSource> {
        let idx = self
            .contents
            .iter()
            .position(|&(s, e)| s <= offset && offset < e && e > s)?;
        let (s, _) = self.contents[idx];
        let (mut line, mut col) = (1u64, 1u64);
        let mut i = s;
        while i < offset {
            if map[i] == b'\\' {
                if map.get(i + 1) == Some(&b'n') {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
                i += if map.get(i + 1) == Some(&b'u') { 6 } else { 2 };
                continue;
            }
            if map[i] & 0xC0 != 0x80 {
                col += 1;
            }
            i += 1;
        }
        Some(OriginalSource {
            path: self
                .sources
                .get(idx)
                .cloned()
                .unwrap_or_else(|| format!("sources[{idx}]")),
            line,
            column: col,
        })
    }
}

/// The last `sourceMappingURL=` reference in a bundle.
pub fn mapping_url(bundle: &[u8]) -> Option<String> {
    let finder = memchr::memmem::FinderRev::new(b"sourceMappingURL=");
    let at = finder.rfind(bundle)? + b"sourceMappingURL=".len();
    let rest = &bundle[at..];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'*' || *b == b'"' || *b == b'\'')
        .unwrap_or(rest.len());
    let url = std::str::from_utf8(&rest[..end]).ok()?.trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// Decodes a `data:` URI map.
pub fn data_uri(url: &str) -> Option<Result<Vec<u8>, MapError>> {
    let rest = url.strip_prefix("data:")?;
    let (meta, payload) = match rest.split_once(',') {
        Some(x) => x,
        None => return Some(Err(MapError("malformed data: URI".into()))),
    };
    if payload.len() > MAX_MAP_BYTES * 2 {
        return Some(Err(MapError("data: URI map too large".into())));
    }
    Some(if meta.ends_with(";base64") {
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| MapError(format!("data: URI is not base64: {e}")))
    } else {
        Ok(percent_decode(payload.as_bytes()))
    })
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(a), Some(b)) = (
                (s[i + 1] as char).to_digit(16),
                s.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((a * 16 + b) as u8);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A decoded map for bundle positions.
pub struct BundleMap(sourcemap::SourceMap);

impl BundleMap {
    /// Parses a map (size and depth bounded).
    pub fn parse(map: &[u8]) -> Result<Self, MapError> {
        if map.len() > MAX_MAP_BYTES {
            return Err(MapError(format!(
                "map of {} bytes exceeds the {} MiB limit",
                map.len(),
                MAX_MAP_BYTES >> 20
            )));
        }
        // Depth check first: the tree parser must never see a hostile nesting.
        let mut t = Tok { s: map, i: 0 };
        t.skip_value(0)?;
        sourcemap::SourceMap::from_slice(map)
            .map(BundleMap)
            .map_err(|e| MapError(e.to_string()))
    }

    /// Original position of a 1-based bundle line/column.
    pub fn lookup(&self, line: u64, column: u64) -> Option<OriginalSource> {
        let l = u32::try_from(line.checked_sub(1)?).ok()?;
        let c = u32::try_from(column.checked_sub(1)?).ok()?;
        let tok = self.0.lookup_token(l, c)?;
        Some(OriginalSource {
            path: tok.get_source()?.to_string(),
            line: u64::from(tok.get_src_line()) + 1,
            column: u64::from(tok.get_src_col()) + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_original() {
        let map = br#"{"version":3,"sources":["src/a.ts","src/config/iterable.ts"],"sourcesContent":["x","line1\nconst k = \"KEY\";\n"],"mappings":"AAAA"}"#;
        let l = layout(map).expect("layout");
        assert_eq!(l.sources[1], "src/config/iterable.ts");
        let off = memchr::memmem::find(map, b"KEY").expect("key");
        let o = l.original_at(map, off).expect("inside");
        assert_eq!(o.path, "src/config/iterable.ts");
        assert_eq!(o.line, 2);
        assert_eq!(o.column, 12);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut m = b"{\"x\":".to_vec();
        m.extend(std::iter::repeat_n(b'[', 10_000));
        assert!(layout(&m).is_err());
        assert!(BundleMap::parse(&m).is_err());
    }

    #[test]
    fn mapping_url_found() {
        assert_eq!(
            mapping_url(b"var a=1;\n//# sourceMappingURL=app.js.map\n").as_deref(),
            Some("app.js.map")
        );
    }
}
