//! The artifact walker: every file under the given paths (ignore files off, hidden files in,
//! `--exclude` globs), scanned in parallel; per-file errors collected, never fatal.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use super::scan::{Hit, MapBytes, MapSource, ScanOutput, Scanner};

/// Files below this size are read into memory; larger ones are memory-mapped.
const MMAP_THRESHOLD: u64 = 256 << 10;

/// The result of scanning artifacts.
#[derive(Debug, Default)]
pub struct ArtifactScan {
    pub hits: Vec<Hit>,
    /// (subject, message) per item that could not be read or opened.
    pub errors: Vec<(String, String)>,
    /// Attribution problems (broken source maps); the content itself was scanned.
    pub warnings: Vec<(String, String)>,
    pub files: u64,
    pub bytes: u64,
    pub skipped_binary: u64,
}

/// Builds the `--exclude` matcher (globs match the path relative to the scan root, or any
/// file/directory name).
pub fn excludes(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(
            GlobBuilder::new(g)
                .literal_separator(false)
                .build()
                .map_err(|e| format!("--exclude {g}: {e}"))?,
        );
    }
    b.build().map_err(|e| e.to_string())
}

/// Source maps next to artifacts: relative references resolved against the bundle's folder and
/// kept inside the scan root; remote URLs are not fetched here.
struct FsMaps {
    dir: PathBuf,
    root: PathBuf,
}

impl MapSource for FsMaps {
    fn load(&self, reference: &str) -> Result<Option<MapBytes>, String> {
        if reference.contains("://") || reference.starts_with("//") {
            return Ok(None);
        }
        let clean = reference.split(['?', '#']).next().unwrap_or(reference);
        let p = if clean.starts_with('/') {
            self.root.join(clean.trim_start_matches('/'))
        } else {
            self.dir.join(clean)
        };
        let canon = p
            .canonicalize()
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let root = self.root.canonicalize().map_err(|e| e.to_string())?;
        if !canon.starts_with(&root) {
            return Err(format!(
                "{} is outside the scanned tree; not followed",
                p.display()
            ));
        }
        let file = std::fs::File::open(&canon).map_err(|e| format!("{}: {e}", p.display()))?;
        let len = file
            .metadata()
            .map_err(|e| format!("{}: {e}", p.display()))?
            .len();
        if len > super::srcmap::MAX_MAP_BYTES as u64 {
            return Err(format!(
                "{}: {len} bytes exceeds the source map limit",
                p.display()
            ));
        }
        contents(&file, len)
            .map(Some)
            .map_err(|e| format!("{}: {e}", p.display()))
    }
}

/// Walks and scans every root.
pub fn scan_paths(roots: &[PathBuf], exclude: &GlobSet, scanner: &Scanner) -> ArtifactScan {
    let files: Mutex<Vec<(PathBuf, PathBuf, u64)>> = Mutex::new(vec![]);
    let errors: Mutex<Vec<(String, String)>> = Mutex::new(vec![]);
    for root in roots {
        let root_dir = if root.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let r2 = root.clone();
        let ex = exclude.clone();
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .hidden(false)
            .follow_links(true)
            .filter_entry(move |e| {
                if e.depth() == 0 {
                    return true;
                }
                let rel = e.path().strip_prefix(&r2).unwrap_or(e.path());
                !(ex.is_match(rel) || ex.is_match(e.file_name()))
            })
            .build_parallel();
        walker.run(|| {
            let files = &files;
            let errors = &errors;
            let root_dir = root_dir.clone();
            Box::new(move |entry| {
                match entry {
                    Ok(e) => {
                        if e.file_type().is_some_and(|t| t.is_file()) {
                            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                            if let Ok(mut f) = files.lock() {
                                f.push((e.into_path(), root_dir.clone(), len));
                            }
                        }
                    }
                    Err(err) => {
                        let subject = walk_error_path(&err).unwrap_or_else(|| "walk".into());
                        if let Ok(mut v) = errors.lock() {
                            v.push((subject, err.to_string()));
                        }
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap_or_default();
    let mut errors = errors.into_inner().unwrap_or_default();
    // Largest first: keeps both cores busy until the end.
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let outputs: Vec<ScanOutput> = files
        .par_iter()
        .map(|(path, root, _)| scan_file(path, root, scanner))
        .collect();
    let mut res = ArtifactScan {
        files: files.len() as u64,
        ..Default::default()
    };
    for o in outputs {
        res.hits.extend(o.hits);
        errors.extend(o.errors);
        res.warnings.extend(o.warnings);
        res.bytes += o.bytes;
        res.skipped_binary += o.skipped_binary;
    }
    errors.sort();
    errors.dedup();
    res.errors = errors;
    res.hits.sort_by(|a, b| {
        (&a.location.path, &a.location.container, a.location.offset).cmp(&(
            &b.location.path,
            &b.location.container,
            b.location.offset,
        ))
    });
    res
}

fn walk_error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.display().to_string()),
        _ => None,
    }
}

/// Reads (or maps) and scans one file.
pub fn scan_file(path: &Path, root: &Path, scanner: &Scanner) -> ScanOutput {
    let name = path.display().to_string();
    let fail = |msg: String| ScanOutput {
        errors: vec![(name.clone(), msg)],
        ..Default::default()
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open: {e}")),
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return fail(format!("cannot stat: {e}")),
    };
    let maps = FsMaps {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        root: root.to_path_buf(),
    };
    match contents(&file, len) {
        Ok(b) => scanner.scan_bytes_with(&name, (*b).as_ref(), &maps),
        Err(e) => fail(format!("cannot read: {e}")),
    }
}

/// A file's bytes: read into memory when small, memory-mapped when large.
fn contents(file: &std::fs::File, len: u64) -> std::io::Result<MapBytes> {
    if len >= MMAP_THRESHOLD {
        return Ok(Box::new(map_file(file)?));
    }
    let mut buf = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut &*file, &mut buf)?;
    Ok(Box::new(buf))
}

/// Memory-maps a file read-only.
#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this scan. A file truncated by another
    // process while mapped can fault (SIGBUS); build outputs are not modified during a scan,
    // which is the documented precondition of `scan`.
    let m = unsafe { memmap2::Mmap::map(file)? };
    let _ = m.advise(memmap2::Advice::Sequential);
    Ok(m)
}
