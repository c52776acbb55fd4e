//! Scanning one buffer (a file's bytes or a fetched response): containers (gzip, brotli, zip,
//! tar) with size and ratio limits, PNG text chunks, binary skipping, decoding layers, source
//! map attribution, and line/column in characters.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use super::base64;
use super::decode;
use super::engine::{Detectors, RawHit};
use super::joined::JoinedAnchors;
use super::known::{KnownIdentity, KnownKeys};
use super::layers;
use super::srcmap::{self, MapError};
use crate::guard::Redactor;
use crate::inventory::model::Environment;
use crate::run::{Confidence, Location, OriginalSource};
use crate::secret::Secret;

/// Anchor occurrences found so far in one text, and where each search goes on.
#[derive(Default)]
struct Anchored {
    keywords: Vec<(usize, usize)>,
    known: Vec<(usize, usize, usize)>,
    at_keyword: usize,
    at_known: usize,
}

/// Locations kept per exposure by default.
pub const DEFAULT_MAX_LOCATIONS: usize = 10;
/// Distinct exposures reported per file or response by default.
pub const DEFAULT_MAX_PER_ITEM: usize = 1_000;
/// Base64/hex layers decoded inside one another (base64 in a base64 JSON blob is 2).
pub const MAX_LAYERS: u32 = 2;
/// Bytes each pass over a text reads before the next pass reads them (see `Scanner::passes`):
/// well inside a core's L2 cache.
const PASS_BLOCK: usize = 64 << 10;

/// A hit in some text, with its value when that is not the text's own bytes (found after
/// decoding) and the base64/hex layers it was found under.
struct Found {
    hit: RawHit,
    value: Option<Vec<u8>>,
    layers: Option<String>,
}

impl Found {
    fn plain(hit: RawHit) -> Self {
        Found {
            hit,
            value: None,
            layers: None,
        }
    }
}

/// Bounds on what containers may expand to, and on what one item may report.
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
    /// Locations kept per exposure (the first ones; the rest are counted).
    pub max_locations: usize,
    /// Distinct exposures (value × place) reported per scanned item (a file or a response).
    pub max_per_item: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member: 64 << 20,
            max_total: 256 << 20,
            max_ratio: 200,
            max_depth: 3,
            max_entries: 100_000,
            max_locations: DEFAULT_MAX_LOCATIONS,
            max_per_item: DEFAULT_MAX_PER_ITEM,
        }
    }
}

/// One credential value found at one place (file or URL, archive member, original source),
/// every occurrence there counted. The raw value stays inside `secret`.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: usize,
    pub secret: Secret,
    /// The first occurrence.
    pub location: Location,
    /// The next occurrences, up to `Limits::max_locations` locations in all.
    pub more_locations: Vec<Location>,
    /// Every occurrence at this place, the ones past the kept locations included.
    pub occurrences: u64,
    pub environment: Option<Environment>,
    pub confidence: Confidence,
    /// Found only after decoding (escapes, base64, hex): the value is not the bytes at the
    /// location.
    pub decoded: bool,
    /// For a known-value hit: the inventory key it is (see `known.rs`).
    pub known: Option<Arc<KnownIdentity>>,
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
    /// Every occurrence's position, only from [`Scanner::scan_bytes_deferred`]: a bundle whose
    /// source map arrives later is attributed (and regrouped) with [`attribute_with_map`].
    pub positions: Vec<Occurrence>,
}

/// Where one occurrence is; its place (path or URL, container) is its hit's.
#[derive(Debug, Clone, Copy)]
pub struct Occurrence {
    /// Index of its hit in the same output.
    pub hit: usize,
    pub line: u64,
    pub column: u64,
    pub end_column: u64,
    pub offset: u64,
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

/// Distinct exposures reported per run by default.
pub const DEFAULT_MAX_PER_RUN: usize = 10_000;

/// The run-wide cap on distinct exposures, shared by every scan of one run (artifacts and
/// surfaces alike), so memory and reports grow with distinct values, never with input.
#[derive(Debug)]
pub struct RunCap {
    pub max: usize,
    taken: std::sync::atomic::AtomicUsize,
    dropped: std::sync::atomic::AtomicU64,
}

impl RunCap {
    pub fn new(max: usize) -> Self {
        RunCap {
            max,
            taken: 0.into(),
            dropped: 0.into(),
        }
    }

    /// How many of `n` new exposures fit; the rest are counted as dropped.
    pub fn admit(&self, n: usize) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        let prev = self.taken.fetch_add(n, Relaxed);
        let ok = self.max.saturating_sub(prev).min(n);
        self.dropped.fetch_add((n - ok) as u64, Relaxed);
        ok
    }

    /// Exposures not reported because the run reached `max`.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The run's `truncated` note, if anything was dropped.
    pub fn note(&self) -> Option<String> {
        let n = self.dropped();
        (n > 0).then(|| {
            format!(
                "truncated: the run reached {} distinct exposures (--max-exposures); {n} more were not reported",
                self.max
            )
        })
    }
}

/// The scanner: shared detectors, limits and the run's exposure cap.
#[derive(Clone)]
pub struct Scanner {
    pub detectors: Arc<Detectors>,
    pub limits: Limits,
    /// The run's output filter: every value found is registered with it the moment it is
    /// found, before any location, log line or error that might quote it can be written.
    pub redactor: Redactor,
    pub cap: Arc<RunCap>,
    /// Follow symlinks out of the scan root (never into `/proc`, `/sys`, `/dev`).
    pub follow_symlinks: bool,
    /// The inventory keys searched for by value or fingerprint, whatever the text around them
    /// (set with [`Scanner::with_known`], with `joined`).
    known: Option<Arc<KnownKeys>>,
    /// The known keys' anchors and the detectors' searched together (`joined.rs`).
    joined: Option<Arc<JoinedAnchors>>,
    /// Show the artifact scan's progress (`!--quiet`; see [`crate::progress`]).
    pub progress: bool,
}

/// What one top-level item's scan carries down into its members.
struct Budget {
    /// Decompressed bytes so far.
    total: u64,
    /// Distinct exposures reported so far.
    distinct: usize,
    /// Occurrences of values not reported past `max_per_item`.
    dropped: u64,
    /// Record every occurrence's position (deferred source-map attribution).
    keep_positions: bool,
}

impl Scanner {
    pub fn new(detectors: Arc<Detectors>) -> Self {
        Scanner {
            detectors,
            limits: Limits::default(),
            redactor: Redactor::new(),
            cap: Arc::new(RunCap::new(DEFAULT_MAX_PER_RUN)),
            follow_symlinks: false,
            known: None,
            joined: None,
            progress: false,
        }
    }

    /// Searches every scanned text for these keys too (see [`Scanner::known`]).
    pub fn with_known(mut self, known: Option<KnownKeys>) -> Self {
        self.known = known
            .map(|k| k.beside(self.detectors.anchors()))
            .map(Arc::new);
        self.joined = self
            .known
            .as_deref()
            .and_then(|k| JoinedAnchors::new(&self.detectors, k))
            .map(Arc::new);
        self
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
        self.scan_top(name, bytes, maps, false)
    }

    /// Scans bytes whose source map will arrive later: `positions` holds every occurrence for
    /// [`attribute_with_map`].
    pub fn scan_bytes_deferred(&self, name: &str, bytes: &[u8]) -> ScanOutput {
        self.scan_top(name, bytes, &NoMaps, true)
    }

    fn scan_top(
        &self,
        name: &str,
        bytes: &[u8],
        maps: &dyn MapSource,
        keep_positions: bool,
    ) -> ScanOutput {
        let mut out = ScanOutput {
            bytes: bytes.len() as u64,
            ..Default::default()
        };
        let mut budget = Budget {
            total: 0,
            distinct: 0,
            dropped: 0,
            keep_positions,
        };
        self.item(name, None, name, bytes, 0, maps, &mut budget, &mut out);
        let admitted = self.cap.admit(out.hits.len());
        if admitted < out.hits.len() {
            out.hits.truncate(admitted);
            out.positions.retain(|p| p.hit < admitted);
        }
        if budget.dropped > 0 {
            out.errors.push((
                name.to_string(),
                format!(
                    "truncated: more than {} distinct credentials here; {} more occurrence(s) of other values were not reported (--max-exposures-per-file)",
                    self.limits.max_per_item, budget.dropped
                ),
            ));
        }
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
                    Ok((d, note)) => {
                        if let Some(n) = note {
                            out.errors.push((subject, n));
                        }
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
            self.png(name, container, bytes, budget, out);
            return;
        }
        let head = &bytes[..bytes.len().min(8192)];
        if memchr::memchr(0, head).is_some() {
            out.skipped_binary += 1;
            return;
        }
        self.text(name, container, &lower, bytes, maps, budget, out, &subject);
    }

    /// Decompresses up to the member, total and ratio limits. Past a limit the bytes read so
    /// far are returned with a `truncated` note (they are scanned; the rest is not).
    fn read_limited(
        &self,
        r: impl Read,
        compressed: usize,
        budget: &mut Budget,
    ) -> Result<(Vec<u8>, Option<String>), String> {
        let mut out = Vec::new();
        let mut r = r.take(self.limits.max_member);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let room = self.limits.max_total.saturating_sub(budget.total);
            if room == 0 {
                return Ok((
                    out,
                    Some(format!(
                        "truncated: the archive expands past {} MiB in total; the rest was not scanned (possible decompression bomb)",
                        self.limits.max_total >> 20
                    )),
                ));
            }
            let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let n = r
                .read(&mut buf[..want])
                .map_err(|e| format!("cannot decompress: {e}"))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            budget.total += n as u64;
            let len = out.len() as u64;
            if len > (1 << 20) && len / (compressed.max(1) as u64) > self.limits.max_ratio {
                return Ok((
                    out,
                    Some(format!(
                        "truncated: compression ratio above {}:1; the first {} KiB were scanned, the rest not (possible decompression bomb)",
                        self.limits.max_ratio,
                        len >> 10
                    )),
                ));
            }
        }
        if out.len() as u64 >= self.limits.max_member {
            // At the cap: is there more?
            let mut probe = [0u8; 1];
            let more = r
                .into_inner()
                .read(&mut probe)
                .map(|n| n > 0)
                .unwrap_or(true);
            if more {
                return Ok((
                    out,
                    Some(format!(
                        "truncated: decompressed size exceeds {} MiB; the first {} MiB were scanned, the rest not (possible decompression bomb)",
                        self.limits.max_member >> 20,
                        self.limits.max_member >> 20
                    )),
                ));
            }
        }
        Ok((out, None))
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
            let comp = f.compressed_size() as usize;
            match self.read_limited(&mut f, comp, budget) {
                Ok((d, note)) => {
                    drop(f);
                    if let Some(n) = note {
                        out.errors.push((msub, n));
                    }
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
            if budget.total >= self.limits.max_total {
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
                Ok((d, note)) => {
                    if let Some(n) = note {
                        out.errors.push((format!("{name}!{member}"), n));
                    }
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
                Err(e) => out.errors.push((format!("{name}!{member}"), e)),
            }
            if budget.total >= self.limits.max_total {
                break;
            }
        }
    }

    /// PNG: only text chunks (`tEXt`, `iTXt`) are scanned; pixels are not text.
    fn png(
        &self,
        name: &str,
        container: Option<&str>,
        bytes: &[u8],
        budget: &mut Budget,
        out: &mut ScanOutput,
    ) {
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
                for h in self.hits_in(&bytes[data_s..data_e]) {
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
        raw.sort_by_key(|h| h.start);
        let positions = positions(bytes, &raw);
        let originals = vec![None; raw.len()];
        let place = Place::new(name, container);
        self.group(
            &place,
            bytes,
            &raw,
            &positions,
            originals,
            &HashMap::new(),
            budget,
            out,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        name: &str,
        container: Option<&str>,
        lower: &str,
        bytes: &[u8],
        maps: &dyn MapSource,
        budget: &mut Budget,
        out: &mut ScanOutput,
        subject: &str,
    ) {
        let mut found = vec![];
        self.find_all(bytes, 0, &mut found);
        // Hits found only after decoding: (raw start, rule) → decoded value and layers.
        let mut decoded: HashMap<(usize, usize), (Secret, Option<String>)> = HashMap::new();
        let mut raw = Vec::with_capacity(found.len());
        for f in found {
            if let Some(v) = f.value {
                let key = (f.hit.start, f.hit.rule);
                if decoded.contains_key(&key) {
                    continue;
                }
                decoded.insert(
                    key,
                    (
                        Secret::new(String::from_utf8_lossy(&v).into_owned()),
                        f.layers,
                    ),
                );
            }
            raw.push(f.hit);
        }
        if raw.is_empty() {
            return;
        }
        raw.sort_by_key(|h| h.start);
        let positions = positions(bytes, &raw);
        let mut originals: Vec<Option<OriginalSource>> = vec![None; raw.len()];
        // Deferred attribution needs every position unless a map was applied here.
        let mut keep_positions = budget.keep_positions && !looks_map_name(lower, bytes);
        // Source maps: keys inside sourcesContent, and bundle positions through their map.
        if looks_map_name(lower, bytes) {
            let offsets: Vec<usize> = raw.iter().map(|h| h.start).collect();
            let last = offsets.iter().copied().max().unwrap_or(0);
            match srcmap::layout_through(bytes, last) {
                Ok(l) => originals = l.originals_at(bytes, &offsets),
                Err(e) => out.warnings.push((subject.to_string(), e.to_string())),
            }
        } else if let Some(url) = srcmap::mapping_url(bytes) {
            let loaded: Result<Option<MapBytes>, MapError> = match srcmap::data_uri(&url) {
                Some(r) => r.map(|m| Some(Box::new(m) as MapBytes)),
                None => maps.load(&url).map_err(MapError),
            };
            let attributed = loaded.and_then(|m| match m {
                Some(m) => {
                    keep_positions = false;
                    let at: Vec<(u64, u64)> = positions.iter().map(|p| (p.0, p.1)).collect();
                    originals = srcmap::lookup((*m).as_ref(), &at)?;
                    Ok(())
                }
                None => Ok(()),
            });
            if let Err(e) = attributed {
                out.warnings
                    .push((format!("{subject} → {url}"), e.to_string()));
            }
        }
        let keep = std::mem::replace(&mut budget.keep_positions, keep_positions);
        let place = Place::new(name, container);
        self.group(
            &place, bytes, &raw, &positions, originals, &decoded, budget, out,
        );
        budget.keep_positions = keep;
    }

    /// Every detector and known-value hit in `hay`, in `hay`'s coordinates: in the bytes as
    /// written, in its escape-decoded regions, and (below [`MAX_LAYERS`] layers) in the
    /// base64/hex views of its encoded runs, recursively. A hit in a decoded text carries its
    /// value; one the bytes as written already hold (same start and rule) is not repeated.
    fn find_all(&self, hay: &[u8], depth: u32, out: &mut Vec<Found>) {
        let first = out.len();
        let min = match &self.known {
            Some(k) => k.min_run(),
            None => base64::MIN_RUN,
        };
        // Below the last layer, the layers pass also finds base64 runs.
        let (keywords, known, found) = self.passes(hay, (depth < MAX_LAYERS).then_some(min));
        out.extend(
            self.hits_from(hay, keywords, known)
                .into_iter()
                .map(Found::plain),
        );
        let mut seen: HashSet<(usize, usize)> = out[first..]
            .iter()
            .map(|f| (f.hit.start, f.hit.rule))
            .collect();
        let mut buf = Vec::new();
        for (rs, re) in decode::regions_at(hay, &found.escapes) {
            let region = &hay[rs..re];
            decode::decode_into(region, &mut buf);
            let hits = self.hits_in(&buf);
            if hits.is_empty() {
                continue;
            }
            // Every hit's start and end mapped back to the raw region in one walk.
            let mut ks: Vec<usize> = hits.iter().flat_map(|h| [h.start, h.end]).collect();
            ks.sort_unstable();
            ks.dedup();
            let offsets = decode::raw_offsets(region, &ks);
            let raw_at = |k: usize| rs + offsets[ks.binary_search(&k).unwrap_or(0)];
            for h in hits {
                let start = raw_at(h.start);
                let end = raw_at(h.end).max(start + 1);
                if !seen.insert((start, h.rule)) {
                    continue;
                }
                out.push(Found {
                    value: Some(buf[h.start..h.end].to_vec()),
                    layers: None,
                    hit: RawHit { start, end, ..h },
                });
            }
        }
        for (s, e) in found.runs {
            let Some(view) = base64::decode_run(hay, s, e, min) else {
                continue;
            };
            let mut inner = vec![];
            self.find_all(&view.bytes, depth + 1, &mut inner);
            for f in inner {
                let (ds, de) = (f.hit.start, f.hit.end);
                let start = view.encoded_start(ds);
                if !seen.insert((start, f.hit.rule)) {
                    continue;
                }
                let label = view.encoding.label();
                out.push(Found {
                    value: Some(f.value.unwrap_or_else(|| view.bytes[ds..de].to_vec())),
                    layers: Some(match f.layers {
                        Some(l) => format!("{label}/{l}"),
                        None => label.to_string(),
                    }),
                    hit: RawHit {
                        start,
                        end: view.encoded_end(de).min(e).max(start + 1),
                        ..f.hit
                    },
                });
            }
        }
    }

    /// The three passes over the bytes of `hay`: the detectors' keyword anchors, the known
    /// keys' anchors and the decoding layers (escape openers, and base64 runs of `min_run`
    /// characters). A large text is read a block of [`PASS_BLOCK`] bytes at a time by all three
    /// while it is in cache; one pass after another, the later ones would read a large file from
    /// memory again (each pass finds what it finds whole, see `keywords_upto`).
    #[allow(clippy::type_complexity)]
    fn passes(
        &self,
        hay: &[u8],
        min_run: Option<usize>,
    ) -> (
        Vec<(usize, usize)>,
        Vec<(usize, usize, usize)>,
        layers::Layers,
    ) {
        let mut anchors = Anchored::default();
        let mut walk = layers::Walk::new(min_run);
        let mut end = 0;
        while end < hay.len() {
            end = (end + PASS_BLOCK).min(hay.len());
            self.anchors_upto(hay, end, &mut anchors);
            walk.advance(hay, end);
        }
        KnownKeys::order(&mut anchors.known);
        (anchors.keywords, anchors.known, walk.finish(hay))
    }

    /// The keyword and known-key anchor occurrences that start before `end`, from where the
    /// last call stopped: one joined search when there are known keys (`joined.rs`).
    fn anchors_upto(&self, hay: &[u8], end: usize, a: &mut Anchored) {
        match (&self.joined, &self.known) {
            (Some(j), Some(k)) => j.find_upto(
                (&self.detectors, k),
                hay,
                &mut a.at_keyword,
                end,
                &mut a.keywords,
                &mut a.known,
            ),
            (_, k) => {
                self.detectors
                    .keywords_upto(hay, &mut a.at_keyword, end, &mut a.keywords);
                if let Some(k) = k {
                    k.find_upto(hay, &mut a.at_known, end, &mut a.known);
                }
            }
        }
    }

    /// Every detector and known-value hit in the bytes of `hay` as written (no layers): what
    /// a decoded text or a PNG text chunk holds.
    fn hits_in(&self, hay: &[u8]) -> Vec<RawHit> {
        let mut a = Anchored::default();
        self.anchors_upto(hay, hay.len(), &mut a);
        KnownKeys::order(&mut a.known);
        self.hits_from(hay, a.keywords, a.known)
    }

    /// The detectors' hits from their keyword occurrences, then the known keys' occurrences as
    /// hits of the known-value rule, unless a detector reports the same span.
    fn hits_from(
        &self,
        hay: &[u8],
        keywords: Vec<(usize, usize)>,
        known: Vec<(usize, usize, usize)>,
    ) -> Vec<RawHit> {
        let mut hits = self.detectors.find_keywords(hay, keywords);
        let spans: HashSet<(usize, usize)> = hits.iter().map(|h| (h.start, h.end)).collect();
        hits.extend(
            self.known_raw(known)
                .filter(|h| !spans.contains(&(h.start, h.end))),
        );
        hits
    }

    /// Known-key occurrences (key, start, end) as hits of the known-value rule.
    fn known_raw(&self, found: Vec<(usize, usize, usize)>) -> impl Iterator<Item = RawHit> + '_ {
        let known = self.known.as_deref();
        found.into_iter().filter_map(move |(key, start, end)| {
            let id = known?.identity(key);
            Some(RawHit {
                rule: self.detectors.known_rule,
                start,
                end,
                environment: id.environment,
                confidence: Confidence::High,
                known: Some(key),
            })
        })
    }

    /// Groups located occurrences (sorted by start) into hits: one per value × original
    /// source, every occurrence counted, the first `max_locations` kept. New values past
    /// `max_per_item` are counted as dropped.
    #[allow(clippy::too_many_arguments)]
    fn group(
        &self,
        place: &Place,
        bytes: &[u8],
        raw: &[RawHit],
        positions: &[(u64, u64, u64)],
        originals: Vec<Option<OriginalSource>>,
        decoded: &HashMap<(usize, usize), (Secret, Option<String>)>,
        budget: &mut Budget,
        out: &mut ScanOutput,
    ) {
        let mut index: HashMap<(usize, &[u8], Option<&str>), usize> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            let found = decoded.get(&(h.start, h.rule));
            let value: &[u8] = match found {
                Some((s, _)) => s.expose().as_bytes(),
                None => &bytes[h.start..h.end],
            };
            let layers = found.and_then(|(_, l)| l.as_deref());
            let original = originals[i].as_ref();
            let (line, column, end_column) = positions[i];
            let at = |original: Option<&OriginalSource>| {
                let mut l = place.at(line, column, end_column, h.start as u64, original.cloned());
                l.decoded = layers.map(str::to_string);
                l
            };
            let k = match index.get(&(h.rule, value, original.map(|o| o.path.as_str()))) {
                Some(&k) => {
                    let hit = &mut out.hits[k];
                    hit.occurrences += 1;
                    if hit.more_locations.len() + 1 < self.limits.max_locations {
                        hit.more_locations.push(at(original));
                    }
                    hit.confidence = hit.confidence.max(h.confidence);
                    k
                }
                None => {
                    if budget.distinct >= self.limits.max_per_item {
                        budget.dropped += 1;
                        continue;
                    }
                    budget.distinct += 1;
                    let secret = match found {
                        Some((s, _)) => s.clone(),
                        None => Secret::new(String::from_utf8_lossy(value).into_owned()),
                    };
                    // Registered with the output filter the moment it is found (bounded by
                    // the per-file and per-run caps, like the hits themselves).
                    self.redactor.add_secret(&secret);
                    out.hits.push(Hit {
                        rule: h.rule,
                        secret,
                        location: at(original),
                        more_locations: vec![],
                        occurrences: 1,
                        environment: h.environment,
                        confidence: h.confidence,
                        decoded: found.is_some(),
                        known: h
                            .known
                            .and_then(|k| Some(Arc::clone(self.known.as_ref()?.identity(k)))),
                    });
                    let k = out.hits.len() - 1;
                    index.insert((h.rule, value, original.map(|o| o.path.as_str())), k);
                    k
                }
            };
            if budget.keep_positions {
                out.positions.push(Occurrence {
                    hit: k,
                    line,
                    column,
                    end_column,
                    offset: h.start as u64,
                });
            }
        }
    }
}

/// A source map by name or by its first bytes.
fn looks_map_name(lower: &str, bytes: &[u8]) -> bool {
    lower.ends_with(".map")
        || (bytes.starts_with(b"{")
            && memchr::memmem::find(&bytes[..bytes.len().min(4096)], b"\"mappings\"").is_some())
}

/// Where one item's occurrences are: its path or URL and archive member.
struct Place {
    path: Option<String>,
    url: Option<String>,
    container: Option<String>,
}

impl Place {
    fn new(name: &str, container: Option<&str>) -> Self {
        let is_url = name.starts_with("http://") || name.starts_with("https://");
        Place {
            path: (!is_url).then(|| name.to_string()),
            url: is_url.then(|| name.to_string()),
            container: container.map(str::to_string),
        }
    }

    fn at(
        &self,
        line: u64,
        column: u64,
        end_column: u64,
        offset: u64,
        original: Option<OriginalSource>,
    ) -> Location {
        Location {
            path: self.path.clone(),
            url: self.url.clone(),
            line: Some(line),
            column: Some(column),
            end_column: Some(end_column),
            original,
            container: self.container.clone(),
            offset: Some(offset),
            git: None,
            decoded: None,
        }
    }
}

/// Line, character column and end column of each raw hit (sorted by start), in one walk:
/// the newlines before each hit are counted, not visited (pretty-printed markup breaks its
/// line every few dozen bytes), and the column is counted from the last of them.
fn positions(bytes: &[u8], raw: &[RawHit]) -> Vec<(u64, u64, u64)> {
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
        let (breaks, last, tail) = breaks_and_tail(&bytes[pos..h.start]);
        match last {
            Some(last) => {
                line += breaks;
                line_start = pos + last + 1;
                col_chars = tail;
            }
            None => col_chars += tail,
        }
        pos = h.start;
        let column = col_chars + 1;
        let end_column = column + count_chars(&bytes[h.start..h.end]);
        out.push((line, column, end_column));
    }
    out
}

/// The line breaks in `b`, where the last one is, and the characters after it (all of `b`'s
/// when it has none): one pass, thirty-two bytes per compare where the CPU has AVX2 (a hit in a
/// minified bundle has megabytes without a line break before it).
fn breaks_and_tail(b: &[u8]) -> (u64, Option<usize>, u64) {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { breaks_and_tail_avx2(b) };
    }
    breaks_and_tail_portable(b)
}

/// [`breaks_and_tail`] by a search for the last line break, then counts.
fn breaks_and_tail_portable(b: &[u8]) -> (u64, Option<usize>, u64) {
    match memchr::memrchr(b'\n', b) {
        Some(last) => (
            memchr::memchr_iter(b'\n', &b[..last]).count() as u64 + 1,
            Some(last),
            count_chars(&b[last + 1..]),
        ),
        None => (0, None, count_chars(b)),
    }
}

/// [`breaks_and_tail`] thirty-two bytes per compare: line breaks and continuation bytes by
/// mask; a block with a break restarts the count after its last one.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn breaks_and_tail_avx2(b: &[u8]) -> (u64, Option<usize>, u64) {
    use std::arch::x86_64::*;
    let top = _mm256_set1_epi8(0xC0u8 as i8);
    let continuation = _mm256_set1_epi8(0x80u8 as i8);
    let newline = _mm256_set1_epi8(b'\n' as i8);
    let (mut breaks, mut last, mut tail) = (0u64, None, 0u64);
    let mut chunks = b.chunks_exact(32);
    for (k, c) in (&mut chunks).enumerate() {
        // SAFETY: `c` is 32 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
        let cont =
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(v, top), continuation)) as u32;
        let nl = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, newline)) as u32;
        if nl == 0 {
            tail += u64::from(32 - cont.count_ones());
        } else {
            breaks += u64::from(nl.count_ones());
            let at = 31 - nl.leading_zeros();
            last = Some(32 * k + at as usize);
            let after = u32::MAX.checked_shl(at + 1).unwrap_or(0);
            tail = u64::from((!cont & after).count_ones());
        }
    }
    let base = b.len() - chunks.remainder().len();
    for (i, &c) in chunks.remainder().iter().enumerate() {
        if c == b'\n' {
            (breaks, last, tail) = (breaks + 1, Some(base + i), 0);
        } else if c & 0xC0 != 0x80 {
            tail += 1;
        }
    }
    (breaks, last, tail)
}

/// Characters in UTF-8 bytes: every byte that is not a continuation byte (`10xxxxxx`),
/// thirty-two bytes per compare where the CPU has AVX2, sixteen otherwise (minified bundles
/// put megabytes before a hit's column).
fn count_chars(b: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has AVX2 (checked just above).
        return b.len() as u64 - unsafe { continuation_bytes_avx2(b) };
    }
    b.len() as u64 - continuation_bytes(b)
}

/// The continuation bytes among `b`, sixteen bytes per compare.
fn continuation_bytes(b: &[u8]) -> u64 {
    use wide::u8x16;
    let mut chunks = b.chunks_exact(16);
    let mut continuation = 0u64;
    for c in &mut chunks {
        let mut block = [0u8; 16];
        block.copy_from_slice(c);
        let top = u8x16::new(block) & u8x16::splat(0xC0);
        continuation += u64::from(top.simd_eq(u8x16::splat(0x80)).to_bitmask().count_ones());
    }
    continuation
        + chunks
            .remainder()
            .iter()
            .filter(|&&c| c & 0xC0 == 0x80)
            .count() as u64
}

/// [`continuation_bytes`] thirty-two bytes per compare.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn continuation_bytes_avx2(b: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let top = _mm256_set1_epi8(0xC0u8 as i8);
    let continuation = _mm256_set1_epi8(0x80u8 as i8);
    let mut chunks = b.chunks_exact(32);
    let mut n = 0u64;
    for c in &mut chunks {
        // SAFETY: `c` is 32 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
        let m = _mm256_cmpeq_epi8(_mm256_and_si256(v, top), continuation);
        n += u64::from((_mm256_movemask_epi8(m) as u32).count_ones());
    }
    n + continuation_bytes(chunks.remainder())
}

fn join(container: Option<&str>, member: &str) -> String {
    match container {
        Some(c) => format!("{c}!{member}"),
        None => member.to_string(),
    }
}

/// Attributes a deferred bundle's hits (see [`Scanner::scan_bytes_deferred`]) to original
/// sources through its map, once the map has arrived: every occurrence is looked up and the
/// hits regrouped by original source (one value can come from several). Hits without
/// recorded positions are kept as they are.
pub fn attribute_with_map(
    hits: Vec<Hit>,
    positions: &[Occurrence],
    map: &[u8],
    max_locations: usize,
) -> Result<Vec<Hit>, MapError> {
    if positions.is_empty() {
        return Ok(hits);
    }
    let at: Vec<(u64, u64)> = positions.iter().map(|p| (p.line, p.column)).collect();
    let originals = srcmap::lookup(map, &at)?;
    let mut placed = vec![false; hits.len()];
    for p in positions {
        if let Some(x) = placed.get_mut(p.hit) {
            *x = true;
        }
    }
    let mut out: Vec<Hit> = hits
        .iter()
        .zip(&placed)
        .filter(|(_, p)| !**p)
        .map(|(h, _)| h.clone())
        .collect();
    let mut index: HashMap<(usize, Option<&str>), usize> = HashMap::new();
    for (p, o) in positions.iter().zip(&originals) {
        let Some(template) = hits.get(p.hit) else {
            continue;
        };
        let key = (p.hit, o.as_ref().map(|o| o.path.as_str()));
        let loc = || {
            let mut l = template.location.clone();
            l.line = Some(p.line);
            l.column = Some(p.column);
            l.end_column = Some(p.end_column);
            l.offset = Some(p.offset);
            l.original = o.clone();
            l
        };
        match index.get(&key) {
            Some(&k) => {
                let h = &mut out[k];
                h.occurrences += 1;
                if h.more_locations.len() + 1 < max_locations {
                    h.more_locations.push(loc());
                }
            }
            None => {
                out.push(Hit {
                    rule: template.rule,
                    secret: template.secret.clone(),
                    location: loc(),
                    more_locations: vec![],
                    occurrences: 1,
                    environment: template.environment,
                    confidence: template.confidence,
                    decoded: template.decoded,
                    known: template.known.clone(),
                });
                index.insert(key, out.len() - 1);
            }
        }
    }
    Ok(out)
}

/// An original location in a `sourcesContent` string (for callers holding a map).
pub fn original_in_map(map: &[u8], offset: usize) -> Option<OriginalSource> {
    srcmap::layout(map).ok()?.original_at(map, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A key at the start of a member far past the limits (1 GiB in the issue; a cheap 100 MiB
    /// of `0` here): scanned up to the cap with a `truncated` note, not skipped.
    #[test]
    fn oversized_compressed_member_is_scanned_up_to_the_cap() {
        let key = format!("{}{}", "sk_live_", "p5B1Id9Z850kEnydx9qWCA79");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(format!("k='{key}'\n").as_bytes()).expect("gz");
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..100 {
            e.write_all(&zeros).expect("gz");
        }
        let gz = e.finish().expect("gz");
        let d = Detectors::load(&[]).expect("detectors");
        let scanner = Scanner::new(Arc::new(d));
        // The ratio limit (about 1000:1 here) or the size limit, whichever trips first.
        let out = scanner.scan_bytes("dist/app.js.gz", &gz);
        assert_eq!(out.hits.len(), 1, "{:?}", out.errors);
        assert!(
            out.errors
                .iter()
                .any(|(s, m)| s == "dist/app.js.gz" && m.starts_with("truncated:")),
            "{:?}",
            out.errors
        );
        // The member size limit (64 MiB).
        let mut s2 = scanner.clone();
        s2.limits.max_ratio = u64::MAX;
        let out = s2.scan_bytes("dist/app.js.gz", &gz);
        assert_eq!(out.hits.len(), 1, "{:?}", out.errors);
        assert!(
            out.errors
                .iter()
                .any(|(_, m)| m.starts_with("truncated: decompressed size exceeds 64 MiB")),
            "{:?}",
            out.errors
        );
        // Exactly at the limit: complete, no note.
        let mut s3 = s2.clone();
        s3.limits.max_member = (100 << 20) + key.len() as u64 + 5;
        s3.limits.max_total = u64::MAX;
        let out = s3.scan_bytes("dist/app.js.gz", &gz);
        assert_eq!(out.hits.len(), 1);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }

    /// One value many times is one hit with a count and the first `max_locations` locations;
    /// values past `max_per_item` are counted and noted.
    #[test]
    fn occurrences_are_grouped_and_capped() {
        let d = Detectors::load(&[]).expect("detectors");
        let mut scanner = Scanner::new(Arc::new(d));
        scanner.limits.max_locations = 3;
        scanner.limits.max_per_item = 2;
        let a = format!("{}{}", "sk_live_", "p5B1Id9Z850kEnydx9qWCA79");
        let b = format!("{}{}", "sk_live_", "zKG5mSoyPstUeC99enq522wj");
        let c = format!("{}{}", "sk_live_", "ISjs8JHUdKF0j7elKPoh3pKM");
        let text = format!("a='{a}'\nb='{b}'\na='{a}'\nc='{c}'\na='{a}'\na='{a}'\n");
        let out = scanner.scan_bytes("dist/x.js", text.as_bytes());
        assert_eq!(out.hits.len(), 2);
        let h = &out.hits[0];
        assert_eq!(h.secret.expose(), a);
        assert_eq!(h.occurrences, 4);
        let lines: Vec<_> = std::iter::once(&h.location)
            .chain(&h.more_locations)
            .map(|l| l.line)
            .collect();
        assert_eq!(lines, [Some(1), Some(3), Some(5)]);
        assert!(
            out.errors
                .iter()
                .any(|(s, m)| s == "dist/x.js" && m.contains("truncated") && m.contains("1 more")),
            "{:?}",
            out.errors
        );
    }

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
        // Long texts (the 32-byte path and its remainder), and the portable count beside it.
        let mut rng = crate::testing::Rng::new(11);
        let pieces = ["a", "é", "€", "😀", "\n", "xyz"];
        for _ in 0..500 {
            let mut text = String::new();
            for _ in 0..rng.below(120) {
                text.push_str(pieces[rng.below(pieces.len())]);
            }
            let b = text.as_bytes();
            let chars = text.chars().count() as u64;
            assert_eq!(count_chars(b), chars, "{text}");
            assert_eq!(b.len() as u64 - continuation_bytes(b), chars, "{text}");
        }
    }

    /// Line breaks, the last one and the characters after it, counted 32 bytes at a time,
    /// equal a character walk: with breaks in any block position (first, last, several in a
    /// block, none), multi-byte characters across block edges, and every remainder length.
    #[test]
    fn breaks_and_tail_match_a_character_walk() {
        let mut rng = crate::testing::Rng::new(23);
        let pieces = ["a", "é", "€", "😀", "\n", "xyz", "\n\n", &"b".repeat(31)];
        for round in 0..3000 {
            let mut text = String::new();
            for _ in 0..rng.below(40) {
                text.push_str(pieces[rng.below(pieces.len())]);
            }
            let b = text.as_bytes();
            let breaks = text.matches('\n').count() as u64;
            let last = text.rfind('\n');
            let tail = text[last.map_or(0, |l| l + 1)..].chars().count() as u64;
            let want = (breaks, last, tail);
            assert_eq!(breaks_and_tail(b), want, "round {round}: {text:?}");
            assert_eq!(breaks_and_tail_portable(b), want, "round {round}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX2 (checked just above).
                let avx2 = unsafe { breaks_and_tail_avx2(b) };
                assert_eq!(avx2, want, "round {round}: {text:?}");
            }
        }
    }

    /// Lines and character columns of hits equal a character-by-character count, whatever
    /// the newlines, multi-byte characters (across every 16-byte block boundary) and repeated
    /// or nested hit positions.
    #[test]
    fn positions_match_a_naive_count() {
        let mut rng = crate::testing::Rng::new(7);
        let long_ascii = "a".repeat(70);
        let long_wide = "é".repeat(35);
        let pieces = [
            "a",
            "\n",
            "é",
            "€",
            "😀",
            "xyz",
            "\r\n",
            "\n\n",
            &long_ascii,
            &long_wide,
        ];
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..rng.below(400) {
                text.push_str(pieces[rng.below(pieces.len())]);
            }
            let bounds: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            let mut raw: Vec<RawHit> = (0..rng.below(6))
                .map(|_| {
                    let a = bounds[rng.below(bounds.len())];
                    let b = bounds[rng.below(bounds.len())];
                    RawHit {
                        rule: 0,
                        start: a.min(b),
                        end: a.max(b),
                        environment: None,
                        confidence: Confidence::High,
                        known: None,
                    }
                })
                .collect();
            raw.sort_by_key(|h| h.start);
            let naive: Vec<(u64, u64, u64)> = raw
                .iter()
                .map(|h| {
                    let before = &text[..h.start];
                    let line = before.matches('\n').count() as u64 + 1;
                    let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
                    (line, col, col + text[h.start..h.end].chars().count() as u64)
                })
                .collect();
            assert_eq!(positions(text.as_bytes(), &raw), naive, "{text:?}");
        }
    }
}

/// The base64 layer: random keys × standard/URL-safe/unpadded × offsets 0–2 × containers
/// (JS string, `atob`, `Buffer.from`, `data:` URI, nested JSON, base64 in base64) are all
/// found, located on the encoded text and labelled `base64`.
#[cfg(test)]
mod base64_layer {
    use super::*;
    use ::base64::Engine;
    use proptest::prelude::*;

    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    fn scanner() -> &'static Scanner {
        static S: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
        S.get_or_init(|| Scanner::new(Arc::new(Detectors::load(&[]).expect("detectors"))))
    }

    /// The test scanner, searching also for `key` by value as inventory key `id` of `vendor`.
    fn knowing(key: &Secret, id: &str, vendor: &str) -> Scanner {
        let fp = Arc::new(crate::secret::Fingerprinter::from_bytes(
            b"k",
            crate::secret::KeyOrigin::Fixed,
        ));
        let known = super::super::known::KnownKey::by_value(KnownIdentity::bare(id, vendor), key)
            .expect("long");
        scanner()
            .clone()
            .with_known(KnownKeys::new(vec![known], fp))
    }

    fn pick(set: &[u8], seed: &[u8]) -> String {
        seed.iter()
            .map(|&b| set[b as usize % set.len()] as char)
            .collect()
    }

    fn engine(i: usize) -> &'static ::base64::engine::GeneralPurpose {
        [
            &::base64::engine::general_purpose::STANDARD,
            &::base64::engine::general_purpose::URL_SAFE,
            &::base64::engine::general_purpose::STANDARD_NO_PAD,
            &::base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ][i]
    }

    /// A key of one of the detectors' shapes, and the text it sits in before encoding.
    fn key(kind: usize, seed: &[u8]) -> (String, String) {
        let hex = b"0123456789abcdef";
        match kind {
            0 => {
                let k = format!("sk_live_{}", pick(ALNUM, &seed[..24]));
                (k.clone(), k)
            }
            1 => {
                let k = format!("rk_live_51{}", pick(ALNUM, &seed[..97]));
                (k.clone(), format!("{{\"stripe\":{{\"key\":\"{k}\"}}}}"))
            }
            2 => {
                let k = format!("shpat_{}", pick(hex, &seed[..32]));
                (k.clone(), format!("X-Shopify-Access-Token: {k}\n"))
            }
            3 => {
                let k = format!("whsec_{}", pick(ALNUM, &seed[..32]));
                (k.clone(), format!("STRIPE_WEBHOOK_SECRET={k}"))
            }
            _ => {
                let k = pick(hex, &seed[..32]);
                (
                    k.clone(),
                    format!("{{\"iterable\":{{\"apiKey\":\"{k}\"}}}}"),
                )
            }
        }
    }

    fn plausible(key: &str) -> bool {
        let l = key.to_ascii_lowercase();
        super::super::rules::entropy(key.as_bytes()) >= 3.2
            && ![
                "your",
                "example",
                "xxxxxxxx",
                "1234567890",
                "0123456789abcdef",
            ]
            .iter()
            .any(|p| l.contains(p))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn planted_base64_keys_are_found(
            kind in 0usize..5,
            seed in prop::collection::vec(any::<u8>(), 100),
            e in 0usize..4,
            offset in 0usize..3,
            container in 0usize..6,
        ) {
            let (k, payload) = key(kind, &seed);
            prop_assume!(plausible(&k));
            // 0–2 bytes before the key move it across the three base64 alignments.
            let payload = format!("{}{payload}", [""," ", ": "][offset]);
            let b64 = engine(e).encode(&payload);
            let text = match container {
                0 => format!("var c=\"{b64}\";"),
                1 => format!("var x=atob(\"{b64}\");"),
                2 => format!("const k=Buffer.from('{b64}','base64').toString();"),
                3 => format!("fetch(\"data:application/json;base64,{b64}\")"),
                4 => format!("{{\"app\":{{\"config\":\"{b64}\"}}}}"),
                _ => {
                    let inner = engine(e).encode(format!("{{\"v\":1,\"blob\":\"{b64}\"}}"));
                    format!("<script>window.__CFG__=\"{inner}\"</script>")
                }
            };
            let out = scanner().scan_bytes("dist/app.js", text.as_bytes());
            let hit = out.hits.iter().find(|h| h.secret.expose() == k);
            prop_assert!(hit.is_some(), "{k} not found in {text}: {:?}", out.hits);
            let loc = &hit.expect("hit").location;
            let want = if container == 5 { "base64/base64" } else { "base64" };
            prop_assert_eq!(loc.decoded.as_deref(), Some(want));
            // The location is inside the encoded text.
            let at = loc.offset.expect("offset") as usize;
            if container != 5 {
                let run = text.find(&b64[..8]).expect("run");
                prop_assert!(at >= run && at < run + b64.len(), "{} not in {}..", at, run);
            }
        }
    }

    /// A known key shorter than any detector's finds is found in base64 runs shorter than the
    /// detectors decode, at every alignment, padded or not.
    #[test]
    fn short_known_values_are_found_in_short_base64_runs() {
        let key = Secret::new("q7Vd2kLm9xZp4RtW");
        let s = knowing(&key, "short", "v");
        for lead in ["", "a", "ab"] {
            for e in [
                &::base64::engine::general_purpose::STANDARD,
                &::base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let enc = e.encode(format!("{lead}{}", key.expose()));
                assert!(enc.len() < base64::MIN_RUN, "{enc}");
                let text = format!("x=atob('{enc}')");
                let out = s.scan_bytes("dist/a.js", text.as_bytes());
                assert_eq!(out.hits.len(), 1, "{text}");
                assert_eq!(out.hits[0].secret.expose(), key.expose());
            }
        }
    }

    /// A bare known value (no detector context) is found raw, inside base64 and hex, JSON
    /// escapes and a PNG text chunk.
    #[test]
    fn known_values_are_found_in_base64_and_hex() {
        let key = Secret::new("8f68d9d9b0341314a5534ea92b26fa8a");
        let s = knowing(&key, "web", "iterable");
        // A PNG whose text chunk holds the bare key.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = format!("Comment\0cfg={}", key.expose());
        png.extend((chunk.len() as u32).to_be_bytes());
        png.extend(b"tEXt");
        png.extend(chunk.as_bytes());
        png.extend([0; 4]);
        png.extend(0u32.to_be_bytes());
        png.extend(b"IEND");
        png.extend([0; 4]);
        let escaped: String = key
            .expose()
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        for (name, text) in [
            (
                "dist/a.js",
                format!("window.IT='{}';", key.expose()).into_bytes(),
            ),
            (
                "dist/a.js",
                format!(
                    "x=atob('{}')",
                    ::base64::engine::general_purpose::STANDARD.encode(key.expose())
                )
                .into_bytes(),
            ),
            (
                "dist/a.js",
                format!("x=\"{}\"", hex::encode(key.expose())).into_bytes(),
            ),
            ("dist/a.js", format!("x=\"{escaped}\"").into_bytes()),
            ("dist/logo.png", png),
        ] {
            let out = s.scan_bytes(name, &text);
            let text = String::from_utf8_lossy(&text);
            assert_eq!(out.hits.len(), 1, "{text}");
            assert_eq!(out.hits[0].secret.expose(), key.expose());
            assert_eq!(out.hits[0].rule, s.detectors.known_rule);
            assert_eq!(
                out.hits[0].known.as_ref().map(|k| k.key.as_str()),
                Some("web")
            );
        }
    }
}
