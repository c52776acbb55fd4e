//! Scanning one buffer (a file's bytes or a fetched response): containers (gzip, brotli, zip,
//! tar) with size and ratio limits, PNG text chunks, binary skipping, decoding layers, source
//! map attribution, and line/column in characters.

use std::io::Read;
use std::sync::Arc;

use super::decode;
use super::engine::{Detectors, RawHit};
use super::srcmap::{self, MapError};
use crate::guard::Redactor;
use crate::inventory::model::Environment;
use crate::run::{Confidence, Location, OriginalSource};
use crate::secret::Secret;

/// Bounds on what containers may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest decompressed member, bytes.
    pub max_member: u64,
    /// Total decompressed bytes per top-level item.
    pub max_total: u64,
    /// Largest decompressed/compressed ratio once past 1 MiB.
    pub max_ratio: u64,
    /// Nesting of containers (a zip in a tar.gz is 2).
    pub max_depth: u32,
    /// Members per archive.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member: 64 << 20,
            max_total: 256 << 20,
            max_ratio: 200,
            max_depth: 3,
            max_entries: 100_000,
        }
    }
}

/// One credential found. The raw value stays inside `secret`.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: usize,
    pub secret: Secret,
    pub location: Location,
    pub environment: Option<Environment>,
    pub confidence: Confidence,
    /// `json-escape|percent|html-entity` when found only after decoding.
    pub decoded: bool,
}

/// What scanning one item produced. Errors are per item (subject, message) and never fatal.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub hits: Vec<Hit>,
    pub errors: Vec<(String, String)>,
    /// (subject, message) for things that limit attribution but not detection (a broken
    /// source map: the bundle itself was scanned).
    pub warnings: Vec<(String, String)>,
    /// Items skipped as binary.
    pub skipped_binary: u64,
    pub bytes: u64,
}

/// Where a bundle's source map comes from: the file system for artifacts, HTTP for the crawler.
pub trait MapSource: Sync {
    /// Loads a referenced map (`reference` is the `sourceMappingURL` value, never a `data:` URI).
    /// `Ok(None)` = not followed (e.g. a remote URL during an artifact scan).
    fn load(&self, reference: &str) -> Result<Option<MapBytes>, String>;
}

/// A loaded map: owned bytes or a read-only file mapping.
pub type MapBytes = Box<dyn AsRef<[u8]> + Send>;

/// Follows no references (only `data:` URIs are decoded).
pub struct NoMaps;

impl MapSource for NoMaps {
    fn load(&self, _: &str) -> Result<Option<MapBytes>, String> {
        Ok(None)
    }
}

/// The scanner: shared detectors and limits.
#[derive(Clone)]
pub struct Scanner {
    pub detectors: Arc<Detectors>,
    pub limits: Limits,
    /// The run's output filter: every value found is registered with it the moment it is
    /// found, before any location, log line or error that might quote it can be written.
    pub redactor: Redactor,
}

struct Budget {
    total: u64,
}

impl Scanner {
    pub fn new(detectors: Arc<Detectors>) -> Self {
        Scanner {
            detectors,
            limits: Limits::default(),
            redactor: Redactor::new(),
        }
    }

    /// Registers found values with the run's output filter (see [`Scanner::redactor`]).
    pub fn with_redactor(mut self, redactor: &Redactor) -> Self {
        self.redactor = redactor.clone();
        self
    }

    /// Scans bytes named by a path or URL (`https://…` goes to `Location.url`).
    pub fn scan_bytes(&self, name: &str, bytes: &[u8]) -> ScanOutput {
        self.scan_bytes_with(name, bytes, &NoMaps)
    }

    /// Scans bytes, following `sourceMappingURL` through `maps`.
    pub fn scan_bytes_with(&self, name: &str, bytes: &[u8], maps: &dyn MapSource) -> ScanOutput {
        let mut out = ScanOutput {
            bytes: bytes.len() as u64,
            ..Default::default()
        };
        let mut budget = Budget { total: 0 };
        self.item(name, None, name, bytes, 0, maps, &mut budget, &mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn item(
        &self,
        name: &str,
        container: Option<&str>,
        member: &str,
        bytes: &[u8],
        depth: u32,
        maps: &dyn MapSource,
        budget: &mut Budget,
        out: &mut ScanOutput,
    ) {
        let subject = match container {
            Some(c) => format!("{name}!{c}"),
            None => name.to_string(),
        };
        let lower = member.to_ascii_lowercase();
        let is_gz = bytes.starts_with(&[0x1f, 0x8b]);
        let is_zip = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06");
        let is_br = lower.ends_with(".br");
        let is_tar = lower.ends_with(".tar") || (bytes.len() > 262 && &bytes[257..262] == b"ustar");
        if is_gz || is_zip || is_br || is_tar {
            if depth >= self.limits.max_depth {
                out.errors
                    .push((subject, "containers nested too deeply; not opened".into()));
                return;
            }
            let inner_name = |suffix: &str| {
                let base = member.rsplit('/').next().unwrap_or(member);
                let stripped = if base.to_ascii_lowercase().ends_with(suffix) {
                    &base[..base.len() - suffix.len()]
                } else {
                    base
                };
                join(container, stripped)
            };
            if is_gz || is_br {
                let (decoded, inner) = if is_gz {
                    let n = if lower.ends_with(".tgz") {
                        inner_name(".tgz") + ".tar"
                    } else {
                        inner_name(".gz")
                    };
                    (
                        self.read_limited(
                            flate2::read::MultiGzDecoder::new(bytes),
                            bytes.len(),
                            budget,
                        ),
                        n,
                    )
                } else {
                    (
                        self.read_limited(
                            brotli::Decompressor::new(bytes, 64 << 10),
                            bytes.len(),
                            budget,
                        ),
                        inner_name(".br"),
                    )
                };
                match decoded {
                    Ok(d) => {
                        self.item(name, Some(&inner), &inner, &d, depth + 1, maps, budget, out)
                    }
                    Err(e) => out.errors.push((subject, e)),
                }
                return;
            }
            if is_zip {
                self.zip(name, container, bytes, depth, maps, budget, out, &subject);
                return;
            }
            self.tar(name, container, bytes, depth, maps, budget, out, &subject);
            return;
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            self.png(name, container, bytes, out);
            return;
        }
        let head = &bytes[..bytes.len().min(8192)];
        if memchr::memchr(0, head).is_some() {
            out.skipped_binary += 1;
            return;
        }
        self.text(name, container, &lower, bytes, maps, out, &subject);
    }

    fn read_limited(
        &self,
        r: impl Read,
        compressed: usize,
        budget: &mut Budget,
    ) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut r = r.take(self.limits.max_member + 1);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = r
                .read(&mut buf)
                .map_err(|e| format!("cannot decompress: {e}"))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            budget.total += n as u64;
            let len = out.len() as u64;
            if len > self.limits.max_member {
                return Err(format!(
                    "decompressed size exceeds {} MiB; not scanned (possible decompression bomb)",
                    self.limits.max_member >> 20
                ));
            }
            if budget.total > self.limits.max_total {
                return Err(format!(
                    "archive expands past {} MiB in total; rest not scanned (possible decompression bomb)",
                    self.limits.max_total >> 20
                ));
            }
            if len > (1 << 20) && len / (compressed.max(1) as u64) > self.limits.max_ratio {
                return Err(format!(
                    "compression ratio above {}:1; not scanned (possible decompression bomb)",
                    self.limits.max_ratio
                ));
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn zip(
        &self,
        name: &str,
        container: Option<&str>,
        bytes: &[u8],
        depth: u32,
        maps: &dyn MapSource,
        budget: &mut Budget,
        out: &mut ScanOutput,
        subject: &str,
    ) {
        let mut z = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                out.errors
                    .push((subject.to_string(), format!("cannot open zip: {e}")));
                return;
            }
        };
        if z.len() > self.limits.max_entries {
            out.errors.push((
                subject.to_string(),
                format!(
                    "zip has {} entries; limit {}",
                    z.len(),
                    self.limits.max_entries
                ),
            ));
            return;
        }
        for i in 0..z.len() {
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    out.errors
                        .push((subject.to_string(), format!("zip entry {i}: {e}")));
                    continue;
                }
            };
            if f.is_dir() {
                continue;
            }
            let member = join(container, f.name());
            let msub = format!("{name}!{member}");
            if f.size() > self.limits.max_member {
                out.errors.push((
                    msub,
                    format!(
                        "declared size {} exceeds {} MiB; not scanned",
                        f.size(),
                        self.limits.max_member >> 20
                    ),
                ));
                continue;
            }
            let comp = f.compressed_size() as usize;
            match self.read_limited(&mut f, comp, budget) {
                Ok(d) => {
                    drop(f);
                    self.item(
                        name,
                        Some(&member),
                        &member,
                        &d,
                        depth + 1,
                        maps,
                        budget,
                        out,
                    )
                }
                Err(e) => out.errors.push((msub, e)),
            }
            if budget.total > self.limits.max_total {
                break;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tar(
        &self,
        name: &str,
        container: Option<&str>,
        bytes: &[u8],
        depth: u32,
        maps: &dyn MapSource,
        budget: &mut Budget,
        out: &mut ScanOutput,
        subject: &str,
    ) {
        let mut a = tar::Archive::new(bytes);
        let entries = match a.entries() {
            Ok(e) => e,
            Err(e) => {
                out.errors
                    .push((subject.to_string(), format!("cannot open tar: {e}")));
                return;
            }
        };
        for (n, entry) in entries.enumerate() {
            if n >= self.limits.max_entries {
                out.errors.push((
                    subject.to_string(),
                    "too many tar entries; rest not scanned".into(),
                ));
                break;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.errors
                        .push((subject.to_string(), format!("tar entry: {e}")));
                    break;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| format!("entry{n}"));
            let member = join(container, &path);
            let size = entry.size();
            match self.read_limited(&mut entry, size as usize, budget) {
                Ok(d) => self.item(
                    name,
                    Some(&member),
                    &member,
                    &d,
                    depth + 1,
                    maps,
                    budget,
                    out,
                ),
                Err(e) => out.errors.push((format!("{name}!{member}"), e)),
            }
        }
    }

    /// PNG: only text chunks (`tEXt`, `iTXt`) are scanned; pixels are not text.
    fn png(&self, name: &str, container: Option<&str>, bytes: &[u8], out: &mut ScanOutput) {
        let mut raw = vec![];
        let mut i = 8;
        while i + 12 <= bytes.len() {
            let len =
                u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
            let ty = &bytes[i + 4..i + 8];
            let data_s = i + 8;
            let Some(data_e) = data_s.checked_add(len).filter(|e| *e <= bytes.len()) else {
                break;
            };
            if ty == b"tEXt" || ty == b"iTXt" {
                for h in self.detectors.find(&bytes[data_s..data_e]) {
                    raw.push(RawHit {
                        start: h.start + data_s,
                        end: h.end + data_s,
                        ..h
                    });
                }
            }
            i = data_e + 4;
        }
        out.skipped_binary += u64::from(raw.is_empty());
        let hits = self.locate(name, container, bytes, raw, &[]);
        out.hits.extend(hits);
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        name: &str,
        container: Option<&str>,
        lower: &str,
        bytes: &[u8],
        maps: &dyn MapSource,
        out: &mut ScanOutput,
        subject: &str,
    ) {
        let mut raw = self.detectors.find(bytes);
        let mut decoded_starts = vec![];
        let mut buf = Vec::new();
        for (rs, re) in decode::regions(bytes) {
            let region = &bytes[rs..re];
            decode::decode_into(region, &mut buf);
            let found = self.detectors.find(&buf);
            if found.is_empty() {
                continue;
            }
            // Every hit's start and end mapped back to the raw region in one walk.
            let mut ks: Vec<usize> = found.iter().flat_map(|h| [h.start, h.end]).collect();
            ks.sort_unstable();
            ks.dedup();
            let offsets = decode::raw_offsets(region, &ks);
            let raw_at = |k: usize| rs + offsets[ks.binary_search(&k).unwrap_or(0)];
            for h in found {
                let start = raw_at(h.start);
                let end = raw_at(h.end).max(start + 1);
                if raw.iter().any(|r| r.start == start && r.rule == h.rule)
                    || decoded_starts.iter().any(|(s, _, _)| *s == start)
                {
                    continue;
                }
                let secret =
                    Secret::new(String::from_utf8_lossy(&buf[h.start..h.end]).into_owned());
                decoded_starts.push((start, end, secret));
                raw.push(RawHit { start, end, ..h });
            }
        }
        if raw.is_empty() {
            return;
        }
        raw.sort_by_key(|h| h.start);
        let mut hits = self.locate(name, container, bytes, raw, &decoded_starts);
        // Source maps: keys inside sourcesContent, and bundle positions through their map.
        let looks_map = lower.ends_with(".map")
            || (bytes.starts_with(b"{")
                && memchr::memmem::find(&bytes[..bytes.len().min(4096)], b"\"mappings\"")
                    .is_some());
        if looks_map {
            match srcmap::layout(bytes) {
                Ok(l) => {
                    for h in &mut hits {
                        if let Some(off) = h.location.offset {
                            h.location.original = l.original_at(bytes, off as usize);
                        }
                    }
                }
                Err(e) => out.warnings.push((subject.to_string(), e.to_string())),
            }
        } else if let Some(url) = srcmap::mapping_url(bytes) {
            let loaded: Result<Option<MapBytes>, MapError> = match srcmap::data_uri(&url) {
                Some(r) => r.map(|m| Some(Box::new(m) as MapBytes)),
                None => maps.load(&url).map_err(MapError),
            };
            let attributed = loaded.and_then(|m| match m {
                Some(m) => attribute_with_map(&mut hits, (*m).as_ref()),
                None => Ok(()),
            });
            if let Err(e) = attributed {
                out.warnings
                    .push((format!("{subject} → {url}"), e.to_string()));
            }
        }
        out.hits.extend(hits);
    }

    /// Turns raw hits (sorted by start) into located hits with line and character column.
    fn locate(
        &self,
        name: &str,
        container: Option<&str>,
        bytes: &[u8],
        mut raw: Vec<RawHit>,
        decoded: &[(usize, usize, Secret)],
    ) -> Vec<Hit> {
        raw.sort_by_key(|h| h.start);
        let is_url = name.starts_with("http://") || name.starts_with("https://");
        let mut line = 1u64;
        let mut line_start = 0usize;
        let mut pos = 0usize;
        let mut col_chars = 0u64; // characters from line_start to pos
        let mut out = Vec::with_capacity(raw.len());
        for h in raw {
            if h.start < pos {
                // Same position as a previous hit: recount from the line start.
                pos = line_start;
                col_chars = 0;
            }
            let seg = &bytes[pos..h.start];
            for nl in memchr::memchr_iter(b'\n', seg) {
                line += 1;
                line_start = pos + nl + 1;
            }
            if line_start > pos {
                col_chars = count_chars(&bytes[line_start..h.start]);
            } else {
                col_chars += count_chars(seg);
            }
            pos = h.start;
            let column = col_chars + 1;
            let (secret, is_decoded) = match decoded.iter().find(|(s, _, _)| *s == h.start) {
                Some((_, _, s)) => (s.clone(), true),
                None => (
                    Secret::new(String::from_utf8_lossy(&bytes[h.start..h.end]).into_owned()),
                    false,
                ),
            };
            let end_column = column + count_chars(&bytes[h.start..h.end]);
            let location = Location {
                path: (!is_url).then(|| name.to_string()),
                url: is_url.then(|| name.to_string()),
                line: Some(line),
                column: Some(column),
                end_column: Some(end_column),
                original: None,
                container: container.map(str::to_string),
                offset: Some(h.start as u64),
            };
            self.redactor.add_secret(&secret);
            out.push(Hit {
                rule: h.rule,
                secret,
                location,
                environment: h.environment,
                confidence: h.confidence,
                decoded: is_decoded,
            });
        }
        out
    }
}

/// Characters in UTF-8 bytes: every byte that is not a continuation byte (`10xxxxxx`), eight
/// bytes at a time (minified bundles put megabytes before a hit's column).
fn count_chars(b: &[u8]) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut continuation = 0u64;
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // Bit 7 set and bit 6 clear.
        continuation += u64::from((x & !(x << 1) & HIGH).count_ones());
    }
    continuation += chunks
        .remainder()
        .iter()
        .filter(|&&c| c & 0xC0 == 0x80)
        .count() as u64;
    b.len() as u64 - continuation
}

fn join(container: Option<&str>, member: &str) -> String {
    match container {
        Some(c) => format!("{c}!{member}"),
        None => member.to_string(),
    }
}

/// Attributes hits in a bundle to original sources through its map (the crawler calls this
/// with a fetched map; artifact scans through their `MapSource`).
pub fn attribute_with_map(hits: &mut [Hit], map: &[u8]) -> Result<(), MapError> {
    let at: Vec<usize> = (0..hits.len())
        .filter(|&k| hits[k].location.line.is_some() && hits[k].location.column.is_some())
        .collect();
    if at.is_empty() {
        return Ok(());
    }
    let positions: Vec<(u64, u64)> = at
        .iter()
        .map(|&k| {
            let l = &hits[k].location;
            (l.line.unwrap_or(1), l.column.unwrap_or(1))
        })
        .collect();
    for (k, o) in at.into_iter().zip(srcmap::lookup(map, &positions)?) {
        if o.is_some() {
            hits[k].location.original = o;
        }
    }
    Ok(())
}

/// An original location in a `sourcesContent` string (for callers holding a map).
pub fn original_in_map(map: &[u8], offset: usize) -> Option<OriginalSource> {
    srcmap::layout(map).ok()?.original_at(map, offset)
}

#[cfg(test)]
mod tests {
    use super::count_chars;

    #[test]
    fn counts_characters_not_bytes() {
        for s in [
            "",
            "a",
            "abcdefgh",
            "abcdefghi",
            "é",
            "aéb€c😀defghijklmnopé€",
            "€€€€€€€€€",
        ] {
            assert_eq!(count_chars(s.as_bytes()), s.chars().count() as u64, "{s}");
        }
    }
}
