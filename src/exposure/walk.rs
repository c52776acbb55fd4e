//! The artifact walker: every file under the given paths (ignore files off, hidden files in,
//! `--exclude` globs), scanned in parallel; per-file errors collected, never fatal.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::progress::{Phase, Spec, Unit};

use super::scan::{Hit, MapBytes, MapSource, ScanOutput, Scanner};

/// Sibling source maps below this size are read into memory; larger ones are memory-mapped.
const MMAP_THRESHOLD: u64 = 256 << 10;

/// The result of scanning artifacts.
#[derive(Debug, Default)]
pub struct ArtifactScan {
    pub hits: Vec<Hit>,
    /// (subject, message) per item that could not be read or opened.
    pub errors: Vec<(String, String)>,
    /// Attribution problems (broken source maps); the content itself was scanned.
    pub warnings: Vec<(String, String)>,
    /// (path, why) of what the walk did not follow: symlinks out of the tree or into system
    /// directories, symlink loops, broken symlinks.
    pub not_followed: Vec<(String, String)>,
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

/// Directories never read through a symlink, even with `--follow-symlinks`.
const SYSTEM_DIRS: &[&str] = &["/proc", "/sys", "/dev"];

/// The one symlink rule, for files, directories and source maps alike: a path is read where it
/// really is when that is inside the scan root (`root`, canonical), anywhere else only with
/// `--follow-symlinks`, and never inside `/proc`, `/sys` or `/dev`. Returns the real path or
/// why not.
pub fn permitted(path: &Path, root: &Path, follow: bool) -> Result<PathBuf, String> {
    let real = path
        .canonicalize()
        .map_err(|e| format!("broken symlink or unreadable path: {e}"))?;
    if let Some(d) = SYSTEM_DIRS.iter().find(|d| real.starts_with(d)) {
        return Err(format!(
            "leads into {d} ({}); never followed",
            real.display()
        ));
    }
    if real.starts_with(root) || follow {
        return Ok(real);
    }
    Err(format!(
        "symlink to {}, outside the scanned tree; not followed (--follow-symlinks follows it)",
        real.display()
    ))
}

/// `a/./b/../c` → `a/c` without touching the file system; `None` when `..` climbs above the
/// start.
fn lexical(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Source maps next to artifacts: relative references resolved against the bundle's folder,
/// kept inside the scan root by name, then read under the same symlink rule as the walk;
/// remote URLs are not fetched here.
struct FsMaps {
    dir: PathBuf,
    root: PathBuf,
    follow: bool,
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
        let inside = lexical(&p)
            .zip(lexical(&self.root))
            .is_some_and(|(p, r)| p.starts_with(r));
        if !inside {
            return Err(format!(
                "{} is outside the scanned tree; not followed",
                p.display()
            ));
        }
        let root = self.root.canonicalize().map_err(|e| e.to_string())?;
        let canon =
            permitted(&p, &root, self.follow).map_err(|e| format!("{}: {e}", p.display()))?;
        let file = std::fs::File::open(&canon).map_err(|e| format!("{}: {e}", p.display()))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("{}: {e}", p.display()))?;
        if !meta.is_file() {
            return Err(format!("{}: not a regular file", p.display()));
        }
        let len = meta.len();
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

/// Walks and scans every root. Symlinks follow [`permitted`]; loops and broken links are
/// noted, not errors (nothing readable was missed).
pub fn scan_paths(roots: &[PathBuf], exclude: &GlobSet, scanner: &Scanner) -> ArtifactScan {
    scan_listed(list(roots, exclude, scanner.follow_symlinks), scanner)
}

/// The files under some roots, largest first (what [`scan_listed`] scans), with what the walk
/// could not read or follow.
#[derive(Debug)]
pub struct Listing {
    /// (path, the root's folder, length)
    files: Vec<(PathBuf, PathBuf, u64)>,
    errors: Vec<(String, String)>,
    not_followed: Vec<(String, String)>,
    started: std::time::Instant,
}

/// Walks every root (the walk of [`scan_paths`]), following symlinks as [`permitted`] allows
/// when `follow`. Needs no detectors: `scan` lists the files while they compile.
pub fn list(roots: &[PathBuf], exclude: &GlobSet, follow: bool) -> Listing {
    let started = std::time::Instant::now();
    let files: Mutex<Vec<(PathBuf, PathBuf, u64)>> = Mutex::new(vec![]);
    let errors: Mutex<Vec<(String, String)>> = Mutex::new(vec![]);
    let not_followed: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(vec![]));
    for root in roots {
        let root_dir = if root.is_dir() {
            root.clone()
        } else {
            root.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        };
        // The tree a link may point into: where the named root really is.
        let real_root = root_dir.canonicalize().unwrap_or_else(|_| root_dir.clone());
        let r2 = root.clone();
        let ex = exclude.clone();
        let refused = Arc::clone(&not_followed);
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .hidden(false)
            .follow_links(true)
            .filter_entry(move |e| {
                if e.depth() == 0 {
                    return true;
                }
                let rel = e.path().strip_prefix(&r2).unwrap_or(e.path());
                if ex.is_match(rel) || ex.is_match(e.file_name()) {
                    return false;
                }
                if !e.path_is_symlink() {
                    return true;
                }
                match permitted(e.path(), &real_root, follow) {
                    Ok(_) => true,
                    Err(why) => {
                        if let Ok(mut v) = refused.lock() {
                            v.push((e.path().display().to_string(), why));
                        }
                        false
                    }
                }
            })
            .build_parallel();
        walker.run(|| {
            let files = &files;
            let errors = &errors;
            let not_followed = &not_followed;
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
                        match link_problem(&err) {
                            Some(why) => {
                                if let Ok(mut v) = not_followed.lock() {
                                    v.push((subject, why));
                                }
                            }
                            None => {
                                if let Ok(mut v) = errors.lock() {
                                    v.push((subject, err.to_string()));
                                }
                            }
                        }
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap_or_default();
    let errors = errors.into_inner().unwrap_or_default();
    let not_followed = not_followed
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        files = files.len(),
        "walk done"
    );
    // Largest first: keeps both cores busy until the end (see `from_both_ends`).
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Listing {
        files,
        errors,
        not_followed,
        started,
    }
}

/// Scans the files of a [`Listing`].
pub fn scan_listed(listing: Listing, scanner: &Scanner) -> ArtifactScan {
    let Listing {
        files,
        mut errors,
        mut not_followed,
        started,
    } = listing;
    let total_bytes = files.iter().map(|f| f.2).sum();
    let phase = Phase::start(
        Spec::new("scan", Unit::FILES)
            .items(files.len() as u64)
            .bytes(total_bytes)
            .started(started),
        scanner.progress,
        &scanner.redactor,
    );
    let outputs = from_both_ends(&files, |(path, root, len)| {
        let out = scan_file(path, root, *len, scanner);
        phase.add(1, *len);
        out
    });
    phase.finish();
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
    not_followed.sort();
    not_followed.dedup();
    res.not_followed = not_followed;
    res.hits.sort_by(|a, b| {
        (&a.location.path, &a.location.container, a.location.offset).cmp(&(
            &b.location.path,
            &b.location.container,
            b.location.offset,
        ))
    });
    res
}

/// `scan` applied to every item (largest first) on every worker of the pool, each worker
/// taking the next item as it becomes free: half the workers from the largest end, half from
/// the smallest, until they meet; results in item order. Splitting the list (as `par_iter`
/// does) can leave one worker on a large file while the other waits at the end (a 200 MB tree
/// kept 1.76 of 2 cores busy); taking from one end only puts the two workers on the largest
/// files at once, whose maps then fault and unmap side by side.
fn from_both_ends<T: Sync, R: Send>(items: &[T], scan: impl Fn(&T) -> R + Sync) -> Vec<R> {
    // The next item from each end: `front..back` is what is left.
    let ends = Mutex::new((0usize, items.len()));
    let parts: Vec<Vec<(usize, R)>> = rayon::broadcast(|ctx| {
        let largest_first = ctx.index() % 2 == 0;
        let mut mine = vec![];
        loop {
            let i = {
                let mut e = ends
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if e.0 >= e.1 {
                    return mine;
                }
                if largest_first {
                    e.0 += 1;
                    e.0 - 1
                } else {
                    e.1 -= 1;
                    e.1
                }
            };
            mine.push((i, scan(&items[i])));
        }
    });
    let mut all: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// A walk error that is a symlink matter, not an unreadable item: a loop (its content is
/// walked already) or a link to nothing.
fn link_problem(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::Loop { ancestor, .. } => Some(format!(
            "symlink loop back to {}; not followed again",
            ancestor.display()
        )),
        ignore::Error::WithDepth { err, .. } => link_problem(err),
        ignore::Error::WithPath { path, err } => {
            let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            if is_link && std::fs::metadata(path).is_err() {
                Some("broken symlink; nothing to read".into())
            } else {
                link_problem(err)
            }
        }
        _ => None,
    }
}

fn walk_error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.display().to_string()),
        _ => None,
    }
}

/// Reads (or maps, see [`READ_MAX`]) and scans one file, `len` bytes long when the walk
/// listed it.
pub fn scan_file(path: &Path, root: &Path, len: u64, scanner: &Scanner) -> ScanOutput {
    let name = path.display().to_string();
    let fail = |msg: String| ScanOutput {
        errors: vec![(name.clone(), msg)],
        ..Default::default()
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open: {e}")),
    };
    let maps = FsMaps {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        root: root.to_path_buf(),
        follow: scanner.follow_symlinks,
    };
    if len > READ_MAX {
        return match map_file(&file) {
            Ok(m) => scanner.scan_bytes_with(&name, &m, &maps),
            Err(e) => fail(format!("cannot read: {e}")),
        };
    }
    // Taken, not borrowed: a nested read on this thread (none today) would allocate its own.
    let mut buf = READ_BUFFER.take();
    let out = match read_whole(&file, &mut buf, len) {
        Ok(n) => scanner.scan_bytes_with(&name, &buf[..n], &maps),
        Err(e) => fail(format!("cannot read: {e}")),
    };
    // A file that grew past the bound while read is not kept for the next one.
    if buf.len() <= READ_MAX as usize + 1 {
        READ_BUFFER.set(buf);
    }
    out
}

/// Reads `file` to its end into `buf` from the start, `len` bytes expected; returns how many
/// were read (`buf[..n]`; bytes past `n` are a previous file's). `buf` stays initialised to its
/// full length, so a buffer kept from file to file is not zeroed again, and the length known
/// from the walk spares the two calls `read_to_end` makes to size the file (a file that grew
/// meanwhile is still read whole; the last, empty read finds the end).
fn read_whole(mut file: &std::fs::File, buf: &mut Vec<u8>, len: u64) -> std::io::Result<usize> {
    use std::io::Read;
    let want = usize::try_from(len).unwrap_or(usize::MAX).saturating_add(1);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize(buf.len().saturating_mul(2).max(8 << 10), 0);
        }
        match file.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Files up to this size are read into their scanning thread's buffer, kept from file to file
/// (at most this much per thread); larger ones are memory-mapped. A buffer allocated per file
/// would go back to the system when freed (the allocator purges at once, see `main.rs`), and
/// every file would pay page faults and zeroing to fill a fresh one; a map pays faults as it
/// is read and a TLB shootdown when unmapped (1 GB tree: 455 -> 424 ms).
const READ_MAX: u64 = 4 << 20;

thread_local! {
    /// See [`READ_MAX`].
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is scanned once and the results come back in item order, on pools of one,
    /// two and three workers (an odd worker count has a largest-first worker more).
    #[test]
    fn both_ends_scan_each_item_once_in_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in 1..=3 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            for n in [0usize, 1, 2, 3, 1000] {
                let items: Vec<usize> = (0..n).collect();
                let calls = AtomicUsize::new(0);
                let got = pool.install(|| {
                    from_both_ends(&items, |&x| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        x * 2
                    })
                });
                assert_eq!(got, items.iter().map(|x| x * 2).collect::<Vec<_>>());
                assert_eq!(
                    calls.load(Ordering::Relaxed),
                    n,
                    "{threads} workers, {n} items"
                );
            }
        }
    }

    /// A file is read whole whatever the length the walk saw (shorter, longer, empty, or
    /// longer than the buffer doubling), and the bytes a previous file left past the end are
    /// not part of it.
    #[test]
    fn read_whole_reads_the_file_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut buf = vec![];
        for (size, hint) in [
            (5000, 5000),
            (10, 5000),
            (0, 0),
            (3000, 10),
            (100_000, 0),
            (7, 7),
        ] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8 + 1).collect();
            let path = dir.path().join(format!("f{size}-{hint}"));
            std::fs::write(&path, &body).expect("write");
            let file = std::fs::File::open(&path).expect("open");
            let n = read_whole(&file, &mut buf, hint).expect("read");
            assert_eq!(&buf[..n], &body[..], "{size} bytes, {hint} expected");
        }
    }
}
