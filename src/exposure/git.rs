//! Git history as a scan source (`scan --git REPO [--since REV]`).
//!
//! Every commit reachable from any ref or HEAD (less those reachable from `--since REV`) is
//! diffed against its first parent (one thread per core, in chunks recorded parents first);
//! each blob a commit adds or changes is scanned once, the first time it is met, by the same
//! [`Scanner`] as files (detectors, decoding layers, containers, caps). The staged entries of
//! the index that differ from HEAD are scanned the same way. Blobs stream through a bounded
//! queue to one worker per core and are dropped once scanned: memory holds ids, interned paths
//! and the change log, never content.
//!
//! Attribution: one exposure per value × path (the same key in many versions of a file is one
//! exposure), located in the commit that introduced it; the change log is then replayed for
//! the blobs that had hits to list the later commits whose tree still holds the value there.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::prelude::{FindExt, HeaderExt, ObjectIdExt};

use super::scan::{Hit, RunCap, Scanner};
use crate::run::{GitCommit, GitLocation, HistoryStats};

/// No commit (a staged blob) / no blob (a deletion) / no parent in the walk.
const NONE: u32 = u32::MAX;
/// Blobs queued for the workers at most (ids and paths only).
const QUEUE: usize = 256;
/// Delta bases kept per thread.
const PACK_CACHE_BYTES: usize = 16 << 20;
/// Decoded trees kept per diffing thread (consecutive commits share most subtrees); blobs are
/// read once and cache nothing.
const TREE_CACHE_BYTES: usize = 8 << 20;

/// What scanning a repository's history produced.
#[derive(Debug, Default)]
pub struct HistoryScan {
    /// One per value × path, located in the commit that introduced it.
    pub hits: Vec<Hit>,
    /// (subject, message) per blob that could not be scanned completely (over the size limit,
    /// truncated archives…); never fatal.
    pub errors: Errors,
    /// Refs that lead to something other than a commit (not walked).
    pub warnings: Vec<String>,
    pub stats: HistoryStats,
}

/// A problem with the repository itself (not a repository, a `--since` that does not resolve,
/// an object that cannot be read): the scan cannot be trusted, so it stops (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitError(pub String);

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GitError {}

/// (subject, message) pairs.
type Errors = Vec<(String, String)>;

/// One blob for a worker.
struct Job {
    blob: ObjectId,
    idx: u32,
    path: String,
}

/// Hits of one value × place across every blob that holds it.
struct Group {
    /// The hit in the earliest blob (in walk order).
    hit: Hit,
    /// That blob's index.
    blob: u32,
    /// Every blob holding the value at this place.
    blobs: Vec<u32>,
}

/// What the workers hand back.
#[derive(Default)]
struct Sink {
    groups: Vec<Group>,
    by_key: HashMap<[u8; 32], usize>,
    /// (blob index, subject inside the blob, message).
    errors: Vec<(u32, String, String)>,
    /// The first fatal problem; stops the scan.
    fatal: Option<String>,
}

#[derive(Default)]
struct Counters {
    scanned: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    large: AtomicU64,
}

/// The walk's record: commits in order, interned paths, the first place of every blob and
/// every commit's blob changes against its first parent.
#[derive(Default)]
struct Log {
    commits: Vec<ObjectId>,
    /// Index of each commit's first parent in `commits`, or `NONE`.
    parent: Vec<u32>,
    /// Commit `c`'s changes are `changes[starts[c]..starts[c + 1]]`.
    starts: Vec<usize>,
    /// (path, blob or `NONE` for a removal).
    changes: Vec<(u32, u32)>,
    paths: Vec<BString>,
    path_ids: HashMap<BString, u32>,
    /// Blob id → blob index.
    seen: HashMap<ObjectId, u32>,
    /// Per blob index: (commit index or `NONE` when staged, path) where it was first met.
    first: Vec<(u32, u32)>,
    blob_versions: u64,
}

impl Log {
    fn path_id(&mut self, p: &BStr) -> u32 {
        if let Some(&i) = self.path_ids.get(p) {
            return i;
        }
        let i = self.paths.len() as u32;
        self.paths.push(p.to_owned());
        self.path_ids.insert(p.to_owned(), i);
        i
    }

    /// Records a blob version; returns the job to queue when the blob is new.
    fn blob(&mut self, id: ObjectId, commit: u32, path: u32) -> (u32, Option<Job>) {
        self.blob_versions += 1;
        if let Some(&b) = self.seen.get(&id) {
            return (b, None);
        }
        let b = self.first.len() as u32;
        self.seen.insert(id, b);
        self.first.push((commit, path));
        let job = Job {
            blob: id,
            idx: b,
            path: self.paths[path as usize].to_str_lossy().into_owned(),
        };
        (b, Some(job))
    }
}

/// Opens a repository exactly at `path` (a work tree or a `.git`/bare directory), reading only
/// its own configuration. Threads share its object store (one mapping of each pack).
fn open(path: &Path) -> Result<gix::ThreadSafeRepository, GitError> {
    gix::open_opts(path, gix::open::Options::isolated())
        .map(gix::Repository::into_sync)
        .map_err(|e| {
            GitError(format!(
                "{}: not a git repository (or not its top-level directory): {e}",
                path.display()
            ))
        })
}

/// A thread's handle on the shared repository, with its own delta-base cache and `object_cache`
/// bytes of decoded objects.
fn handle(shared: &gix::ThreadSafeRepository, object_cache: usize) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            PACK_CACHE_BYTES,
        ))
    });
    repo.object_cache_size(object_cache);
    repo
}

/// Scans the history of the repository at `repo_path` (see the module documentation).
/// Blobs larger than the scanner's member limit are not scanned (a run error each).
pub fn scan_history(
    repo_path: &Path,
    since: Option<&str>,
    scanner: &Scanner,
) -> Result<HistoryScan, GitError> {
    let name = repo_path.display().to_string();
    let shared = open(repo_path)?;
    let repo = handle(&shared, 0);
    let mut out = HistoryScan::default();

    let (order, since_id, warnings) = commit_order(&repo, &name, since)?;
    out.warnings = warnings;
    out.stats.since = since_id;

    // Blob scans use their own cap: versions of one value are merged below, and only the
    // merged exposures count against the run's.
    let mut blob_scanner = scanner.clone();
    blob_scanner.cap = Arc::new(RunCap::new(usize::MAX));
    let max_blob = scanner.limits.max_member;
    let sink = Mutex::new(Sink::default());
    let counters = Counters::default();
    let stop = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
    // Only the workers hold the receiver: should every one of them end, the walker's next send
    // fails instead of waiting forever.
    let rx = Arc::new(Mutex::new(rx));
    let (shared_ref, name_ref, scanner_ref, sink_ref, counters_ref, stop_ref) = (
        &shared,
        name.as_str(),
        &blob_scanner,
        &sink,
        &counters,
        &stop,
    );
    let walked: Result<Log, GitError> = std::thread::scope(|s| {
        for _ in 0..workers {
            let rx = Arc::clone(&rx);
            s.spawn(move || {
                worker(
                    shared_ref,
                    name_ref,
                    &rx,
                    scanner_ref,
                    max_blob,
                    sink_ref,
                    counters_ref,
                    stop_ref,
                )
            });
        }
        drop(rx);
        let mut log = Log::default();
        let r = walk(&shared, &name, &order, &mut log, &tx, &stop)
            .and_then(|()| staged(&repo, &name, &mut log, &tx, &stop))
            .map(|()| log);
        drop(tx);
        r
    });
    let mut sink = sink.into_inner().unwrap_or_default();
    if let Some(f) = sink.fatal.take() {
        return Err(GitError(f));
    }
    let log = walked?;

    out.stats.repository = name.clone();
    out.stats.commits = log.commits.len() as u64;
    out.stats.blob_versions = log.blob_versions;
    out.stats.blobs_scanned = counters.scanned.load(Relaxed);
    out.stats.bytes_scanned = counters.bytes.load(Relaxed);
    out.stats.skipped_binary = counters.binary.load(Relaxed);
    out.stats.skipped_large = counters.large.load(Relaxed);
    out.stats.staged_blobs = log.first.iter().filter(|f| f.0 == NONE).count() as u64;

    let (hits, errors) = locate(&repo, &name, &log, sink, scanner)?;
    out.hits = hits;
    out.errors = errors;
    Ok(out)
}

/// Turns the workers' groups into hits located in the history (introducing commit, later
/// commits that still hold the value), within the run's exposure cap, and names each blob
/// error's commit.
fn locate(
    repo: &gix::Repository,
    name: &str,
    log: &Log,
    sink: Sink,
    scanner: &Scanner,
) -> Result<(Vec<Hit>, Errors), GitError> {
    let mut groups = sink.groups;
    groups.sort_by_key(|g| (g.blob, g.hit.location.offset));
    let admitted = scanner.cap.admit(groups.len());
    groups.truncate(admitted);
    let later = carriers(log, &groups, scanner.limits.max_locations);
    let mut meta = Meta::new(repo, name);
    let mut hits = vec![];
    for (g, (listed, total)) in groups.into_iter().zip(later) {
        let (commit, path) = log.first[g.blob as usize];
        let intro = meta.commit(log, commit, None)?;
        let mut later_commits = vec![];
        for (c, p) in listed {
            let other = (p != path).then(|| log.paths[p as usize].to_str_lossy().into_owned());
            later_commits.extend(meta.commit(log, c, other)?);
        }
        let at = GitLocation {
            repository: name.to_string(),
            staged: intro.is_none(),
            commit: intro,
            later_commits: vec![],
            later_total: 0,
        };
        let mut hit = g.hit;
        for l in &mut hit.more_locations {
            l.git = Some(at.clone());
        }
        hit.location.git = Some(GitLocation {
            later_commits,
            later_total: total,
            ..at
        });
        hits.push(hit);
    }
    let mut errors = vec![];
    for (blob, subject, message) in sink.errors {
        let (commit, _) = log.first[blob as usize];
        let place = match meta.commit(log, commit, None)? {
            Some(c) => format!("{name}@{}:{subject}", c.short),
            None => format!("{name}@index:{subject}"),
        };
        errors.push((place, message));
    }
    errors.sort();
    Ok((hits, errors))
}

/// Commits with their first parent.
type Order = Vec<(ObjectId, Option<ObjectId>)>;

/// The commits to scan, parents first (the reverse of `git log --topo-order`), each with its
/// first parent; the resolved `--since` commit; warnings about refs that were not walked.
fn commit_order(
    repo: &gix::Repository,
    name: &str,
    since: Option<&str>,
) -> Result<(Order, Option<String>, Vec<String>), GitError> {
    let (tips, warnings) = tips(repo, name)?;
    let mut hidden = vec![];
    if let Some(rev) = since {
        let id = repo.rev_parse_single(rev).map_err(|e| {
            GitError(format!(
                "{name}: --since {rev}: no such revision ({e}); a shallow clone may lack it (fetch the history, e.g. `fetch-depth: 0`)"
            ))
        })?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| GitError(format!("{name}: --since {rev}: not a commit: {e}")))?;
        hidden.push(commit.id);
    }
    let mut order: Order = vec![];
    if !tips.is_empty() {
        let broken = |e: gix::Error| GitError(format!("{name}: cannot walk the history: {e}"));
        let walk = repo
            .rev_walk(tips)
            .sorting(gix::revision::walk::Sorting::TopoOrder)
            .with_hidden(hidden.iter().copied())
            .all()
            .map_err(broken)?;
        for info in walk {
            let info = info.map_err(broken)?;
            order.push((info.id, info.parent_ids.first().copied()));
        }
    }
    order.reverse();
    Ok((order, hidden.first().map(ToString::to_string), warnings))
}

/// Every ref's and HEAD's commit. Refs to trees or blobs are reported, not walked.
fn tips(repo: &gix::Repository, name: &str) -> Result<(Vec<ObjectId>, Vec<String>), GitError> {
    let bad = |e: gix::Error| GitError(format!("{name}: cannot read its refs: {e}"));
    let mut tips = vec![];
    let mut warnings = vec![];
    let refs = repo.references().map_err(bad)?;
    for r in refs.all().map_err(bad)? {
        let mut r = r.map_err(bad)?;
        let ref_name = r.name().as_bstr().to_str_lossy().into_owned();
        let id = r
            .peel_to_id()
            .map_err(|e| GitError(format!("{name}: ref {ref_name} cannot be resolved: {e}")))?;
        let kind = repo
            .find_header(id)
            .map_err(|e| GitError(format!("{name}: ref {ref_name}: cannot read {id}: {e}")))?
            .kind();
        if kind == gix::object::Kind::Commit {
            tips.push(id.detach());
        } else {
            warnings.push(format!(
                "{name}: ref {ref_name} points at a {kind}, not a commit; not scanned"
            ));
        }
    }
    // A detached HEAD is no ref; an unborn one has no commit yet.
    if let Ok(id) = repo.head_id() {
        tips.push(id.detach());
    }
    tips.sort();
    tips.dedup();
    Ok((tips, warnings))
}

/// One commit's blob changes against its first parent: (path, blob now or `None` if removed).
type Changes = Vec<(BString, Option<ObjectId>)>;

/// Commits per unit of diff work, and units in flight at most.
const CHUNK: usize = 64;
const WINDOW: usize = 8;

/// Diffs every commit against its first parent on one thread per core, in chunks, and records
/// the changes parents first (the chunks in order), queueing each new blob.
fn walk(
    shared: &gix::ThreadSafeRepository,
    name: &str,
    order: &Order,
    log: &mut Log,
    tx: &mpsc::SyncSender<Job>,
    stop: &AtomicBool,
) -> Result<(), GitError> {
    let chunks = order.len().div_ceil(CHUNK);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (work_tx, work_rx) = mpsc::channel::<usize>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<Changes>, GitError>)>();
    let mut index_of: HashMap<ObjectId, u32> = HashMap::with_capacity(order.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            s.spawn(move || {
                let repo = handle(shared, TREE_CACHE_BYTES);
                let mut differ = Differ::new(&repo, name);
                while let Some(k) = work_rx.lock().ok().and_then(|rx| rx.recv().ok()) {
                    let commits = &order[k * CHUNK..((k + 1) * CHUNK).min(order.len())];
                    let r = commits
                        .iter()
                        .map(|(id, parent)| differ.diff(id, parent.as_ref()))
                        .collect();
                    if stop.load(Relaxed) || done_tx.send((k, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut issued = 0;
        while issued < chunks.min(WINDOW) {
            let _ = work_tx.send(issued);
            issued += 1;
        }
        let mut ready: HashMap<usize, Result<Vec<Changes>, GitError>> = HashMap::new();
        let merged = (0..chunks).try_for_each(|k| {
            let diffs = loop {
                if let Some(r) = ready.remove(&k) {
                    break r?;
                }
                let (j, r) = done_rx.recv().map_err(|_| {
                    GitError(format!("{name}: the history walk stopped unexpectedly"))
                })?;
                ready.insert(j, r);
            };
            if issued < chunks {
                let _ = work_tx.send(issued);
                issued += 1;
            }
            for (n, changes) in diffs.into_iter().enumerate() {
                let i = k * CHUNK + n;
                let (id, parent) = &order[i];
                record(
                    log,
                    &mut index_of,
                    i as u32,
                    id,
                    parent.as_ref(),
                    changes,
                    tx,
                    stop,
                )?;
            }
            Ok(())
        });
        if merged.is_err() {
            stop.store(true, Relaxed);
        }
        drop(work_tx);
        merged
    })?;
    log.starts.push(log.changes.len());
    Ok(())
}

/// Records commit `i`'s changes in the log, queueing the blobs met for the first time.
#[allow(clippy::too_many_arguments)]
fn record(
    log: &mut Log,
    index_of: &mut HashMap<ObjectId, u32>,
    i: u32,
    id: &ObjectId,
    parent: Option<&ObjectId>,
    changes: Changes,
    tx: &mpsc::SyncSender<Job>,
    stop: &AtomicBool,
) -> Result<(), GitError> {
    // A parent outside the walk (`--since`) was diffed against, never scanned.
    let parent_idx = parent
        .and_then(|p| index_of.get(p).copied())
        .unwrap_or(NONE);
    index_of.insert(*id, i);
    log.commits.push(*id);
    log.parent.push(parent_idx);
    log.starts.push(log.changes.len());
    for (path, now) in changes {
        let p = log.path_id(path.as_ref());
        let blob = match now {
            Some(oid) => {
                let (b, job) = log.blob(oid, i, p);
                if let Some(job) = job {
                    send(tx, job, stop)?;
                }
                b
            }
            None => NONE,
        };
        log.changes.push((p, blob));
    }
    Ok(())
}

fn unreadable(name: &str, what: &str, id: &ObjectId, e: impl std::fmt::Display) -> GitError {
    GitError(format!("{name}: cannot read {what} {id}: {e}"))
}

/// A tree's entries (none for the empty tree, which a repository need not store).
fn tree_iter<'b>(
    repo: &gix::Repository,
    name: &str,
    id: ObjectId,
    buf: &'b mut Vec<u8>,
) -> Result<gix::objs::TreeRefIter<'b>, GitError> {
    let hash = repo.object_hash();
    if id == ObjectId::empty_tree(hash) {
        return Ok(gix::objs::TreeRefIter::from_bytes(&[], hash));
    }
    repo.objects
        .find_tree_iter(&id, buf)
        .map_err(|e| unreadable(name, "tree", &id, e))
}

/// Tree diffs of commits against their first parent, with reused buffers.
struct Differ<'r> {
    repo: &'r gix::Repository,
    name: &'r str,
    state: gix::diff::tree::State,
    bufs: [Vec<u8>; 3],
}

impl<'r> Differ<'r> {
    fn new(repo: &'r gix::Repository, name: &'r str) -> Self {
        Differ {
            repo,
            name,
            state: Default::default(),
            bufs: Default::default(),
        }
    }

    fn tree_of(&mut self, commit: &ObjectId) -> Result<ObjectId, GitError> {
        let r = self
            .repo
            .objects
            .find_commit_iter(commit, &mut self.bufs[0])
            .and_then(|mut c| c.tree_id());
        r.map_err(|e| unreadable(self.name, "commit", commit, e))
    }

    /// The blob changes of `id` against `parent` (against nothing for a root commit).
    fn diff(&mut self, id: &ObjectId, parent: Option<&ObjectId>) -> Result<Changes, GitError> {
        let hash = self.repo.object_hash();
        let empty = ObjectId::empty_tree(hash);
        let tree = self.tree_of(id)?;
        let parent_tree = match parent {
            Some(p) => self.tree_of(p)?,
            None => empty,
        };
        let [_, lbuf, rbuf] = &mut self.bufs;
        let lhs = tree_iter(self.repo, self.name, parent_tree, lbuf)?;
        let rhs = tree_iter(self.repo, self.name, tree, rbuf)?;
        let objects = &self.repo.objects;
        // A fresh recorder per diff: it keeps its path stack between calls.
        let mut rec = gix::diff::tree::Recorder::default();
        gix::diff::tree(lhs, rhs, &mut self.state, objects, &mut rec)
            .map_err(|e| GitError(format!("{}: cannot diff commit {id}: {e}", self.name)))?;
        use gix::diff::tree::recorder::Change;
        Ok(rec
            .records
            .into_iter()
            .filter_map(|change| match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                }
                | Change::Modification {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob_or_symlink() => Some((path, Some(oid))),
                Change::Deletion {
                    entry_mode, path, ..
                } if entry_mode.is_blob_or_symlink() => Some((path, None)),
                // A file that became a directory or a submodule.
                Change::Modification {
                    previous_entry_mode,
                    path,
                    ..
                } if previous_entry_mode.is_blob_or_symlink() => Some((path, None)),
                _ => None,
            })
            .collect())
    }
}

/// Queues a job; fails when the workers stopped on a fatal problem.
fn send(tx: &mpsc::SyncSender<Job>, job: Job, stop: &AtomicBool) -> Result<(), GitError> {
    if stop.load(Relaxed) || tx.send(job).is_err() {
        // A worker's fatal message, when there is one, is reported instead.
        return Err(GitError(
            "the blob scanners stopped before the walk ended".into(),
        ));
    }
    Ok(())
}

/// Queues the index entries that differ from HEAD (staged, not committed) and were not met in
/// the history.
fn staged(
    repo: &gix::Repository,
    name: &str,
    log: &mut Log,
    tx: &mpsc::SyncSender<Job>,
    stop: &AtomicBool,
) -> Result<(), GitError> {
    if stop.load(Relaxed) {
        return Ok(());
    }
    let index = repo
        .index_or_empty()
        .map_err(|e| GitError(format!("{name}: cannot read the index: {e}")))?;
    if index.entries().is_empty() {
        return Ok(());
    }
    let mut head: HashMap<BString, ObjectId> = HashMap::new();
    if let Ok(commit) = repo.head_commit() {
        let files = commit
            .tree()
            .and_then(|t| t.traverse().breadthfirst.files())
            .map_err(|e| GitError(format!("{name}: cannot read HEAD's tree: {e}")))?;
        head = files.into_iter().map(|e| (e.filepath, e.oid)).collect();
    }
    for e in index.entries() {
        if e.mode.is_submodule() || e.mode.is_sparse() {
            continue;
        }
        let path = e.path(&index);
        if head.get(path) == Some(&e.id) {
            continue;
        }
        let p = log.path_id(path);
        if let (_, Some(job)) = log.blob(e.id, NONE, p) {
            send(tx, job, stop)?;
        }
    }
    Ok(())
}

/// Scans queued blobs until the queue closes. Each worker opens its own handle on the
/// repository (object-database handles are per thread).
#[allow(clippy::too_many_arguments)]
fn worker(
    shared: &gix::ThreadSafeRepository,
    name: &str,
    rx: &Mutex<mpsc::Receiver<Job>>,
    scanner: &Scanner,
    max_blob: u64,
    sink: &Mutex<Sink>,
    counters: &Counters,
    stop: &AtomicBool,
) {
    let fatal = |msg: String| {
        stop.store(true, Relaxed);
        if let Ok(mut s) = sink.lock() {
            s.fatal.get_or_insert(msg);
        }
    };
    let repo = handle(shared, 0);
    let mut buf = vec![];
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
            Err(_) => return,
        };
        if stop.load(Relaxed) {
            continue; // drain the queue so the walker never blocks
        }
        let size = match repo.objects.header(job.blob) {
            Ok(h) => h.size(),
            Err(e) => {
                fatal(format!(
                    "{name}: cannot read blob {} ({}): {e}",
                    job.blob, job.path
                ));
                continue;
            }
        };
        if size > max_blob {
            counters.large.fetch_add(1, Relaxed);
            if let Ok(mut s) = sink.lock() {
                s.errors.push((
                    job.idx,
                    job.path,
                    format!(
                        "blob of {} MiB exceeds the {} MiB limit; not scanned",
                        size >> 20,
                        max_blob >> 20
                    ),
                ));
            }
            continue;
        }
        let data = match repo.objects.find_blob(&job.blob, &mut buf) {
            Ok(b) => b.data,
            Err(e) => {
                fatal(format!(
                    "{name}: cannot read blob {} ({}): {e}",
                    job.blob, job.path
                ));
                continue;
            }
        };
        let out = scanner.scan_bytes(&job.path, data);
        counters.scanned.fetch_add(1, Relaxed);
        counters.bytes.fetch_add(out.bytes, Relaxed);
        counters.binary.fetch_add(out.skipped_binary, Relaxed);
        if out.hits.is_empty() && out.errors.is_empty() {
            continue;
        }
        let Ok(mut s) = sink.lock() else { return };
        for (subject, message) in out.errors {
            s.errors.push((job.idx, subject, message));
        }
        for hit in out.hits {
            s.add(job.idx, hit);
        }
    }
}

impl Sink {
    /// Merges a hit into the group of its value × place; the earliest blob's hit stays.
    fn add(&mut self, blob: u32, hit: Hit) {
        let l = &hit.location;
        let mut material = Vec::with_capacity(128);
        for part in [
            hit.rule.to_string().as_str(),
            l.path.as_deref().unwrap_or(""),
            l.container.as_deref().unwrap_or(""),
            l.original.as_ref().map_or("", |o| o.path.as_str()),
            hit.secret.expose(),
        ] {
            material.extend_from_slice(part.as_bytes());
            material.push(0);
        }
        let d = ring::digest::digest(&ring::digest::SHA256, &material);
        let mut key = [0u8; 32];
        key.copy_from_slice(d.as_ref());
        match self.by_key.get(&key) {
            Some(&g) => {
                let g = &mut self.groups[g];
                g.blobs.push(blob);
                if blob < g.blob {
                    g.blob = blob;
                    g.hit = hit;
                }
            }
            None => {
                self.by_key.insert(key, self.groups.len());
                self.groups.push(Group {
                    hit,
                    blob,
                    blobs: vec![blob],
                });
            }
        }
    }
}

/// Per group: the later commits (after the one that introduced it) whose tree holds one of its
/// blobs, the first `max` with the path there, and how many in all. Replays the change log:
/// a commit's tree is its first parent's plus its own changes.
fn carriers(log: &Log, groups: &[Group], max: usize) -> Vec<(Vec<(u32, u32)>, u64)> {
    let mut out: Vec<(Vec<(u32, u32)>, u64)> = vec![(vec![], 0); groups.len()];
    let mut watched: HashMap<u32, Vec<usize>> = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        for &b in &group.blobs {
            watched.entry(b).or_default().push(g);
        }
    }
    let intro: Vec<u32> = groups
        .iter()
        .map(|g| log.first[g.blob as usize].0)
        .collect();
    // Per commit that holds a watched blob: (path, blob) of each.
    let mut held: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
    for c in 0..log.commits.len() {
        let changes = &log.changes[log.starts[c]..log.starts[c + 1]];
        let parent = log.parent[c];
        let base = (parent != NONE)
            .then(|| held.get(&parent))
            .flatten()
            .map_or(&[][..], Vec::as_slice);
        if base.is_empty() && !changes.iter().any(|(_, b)| watched.contains_key(b)) {
            continue;
        }
        let changed: HashSet<u32> = if base.is_empty() {
            HashSet::new()
        } else {
            changes.iter().map(|&(p, _)| p).collect()
        };
        let mut now: Vec<(u32, u32)> = base
            .iter()
            .copied()
            .filter(|(p, _)| !changed.contains(p))
            .collect();
        now.extend(
            changes
                .iter()
                .copied()
                .filter(|(_, b)| watched.contains_key(b)),
        );
        let mut seen_groups = HashSet::new();
        for &(p, b) in &now {
            for &g in &watched[&b] {
                if intro[g] == c as u32 || !seen_groups.insert(g) {
                    continue;
                }
                let (list, total) = &mut out[g];
                *total += 1;
                if list.len() < max {
                    list.push((c as u32, p));
                }
            }
        }
        if !now.is_empty() {
            held.insert(c as u32, now);
        }
    }
    out
}

/// Commit ids, abbreviations and author dates for locations, looked up once each.
struct Meta<'r> {
    repo: &'r gix::Repository,
    name: &'r str,
    known: HashMap<u32, GitCommit>,
    buf: Vec<u8>,
}

impl<'r> Meta<'r> {
    fn new(repo: &'r gix::Repository, name: &'r str) -> Self {
        Meta {
            repo,
            name,
            known: HashMap::new(),
            buf: vec![],
        }
    }

    /// The commit at walk index `c` (`None` for `NONE`, a staged blob), with `path` set.
    fn commit(
        &mut self,
        log: &Log,
        c: u32,
        path: Option<String>,
    ) -> Result<Option<GitCommit>, GitError> {
        if c == NONE {
            return Ok(None);
        }
        if !self.known.contains_key(&c) {
            let id = log.commits[c as usize];
            let time = self
                .repo
                .objects
                .find_commit(&id, &mut self.buf)
                .and_then(|c| c.author().and_then(|a| a.time()))
                .map_err(|e| GitError(format!("{}: cannot read commit {id}: {e}", self.name)))?;
            let short = id.attach(self.repo).shorten_or_id().to_string();
            self.known.insert(
                c,
                GitCommit {
                    id: id.to_string(),
                    short,
                    author_date: rfc3339(time.seconds, time.offset),
                    path: None,
                },
            );
        }
        Ok(self.known.get(&c).map(|k| GitCommit { path, ..k.clone() }))
    }
}

/// `2024-05-01T10:00:00+02:00` from seconds since the epoch and a UTC offset in seconds.
fn rfc3339(seconds: i64, offset: i32) -> String {
    let tz = jiff::tz::Offset::from_seconds(offset)
        .unwrap_or(jiff::tz::Offset::UTC)
        .to_time_zone();
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_dates_keep_the_offset() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_700_000_000, 3600), "2023-11-14T23:13:20+01:00");
        assert_eq!(
            rfc3339(1_700_000_000, -5 * 3600),
            "2023-11-14T17:13:20-05:00"
        );
    }
}
