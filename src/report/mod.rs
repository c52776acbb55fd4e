//! Rendering a run into every output format, and the only path to the terminal and report files.
//!
//! Every renderer returns a `String`; [`Output`] passes it through the fail-closed
//! [`filter::Redactor`] before a byte is written. Report files are written atomically, mode 0600.

pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod sarif;
pub mod scope;
pub mod table;
pub mod weakened;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::guard::{Clean, Redactor};
use crate::run::Run;

/// Output formats. A format appears here only once its renderer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables (terminal default).
    Table,
    /// The run document (versioned JSON).
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML (GitLab, Jenkins).
    Junit,
    /// GitHub Actions workflow annotations.
    Github,
    /// Markdown summary.
    Markdown,
    /// Self-contained HTML vendor reassessment report.
    Html,
    /// OCSF Detection Finding (class 2004) JSON lines.
    Ocsf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Ocsf => "ocsf",
        }
    }
}

/// `--output FORMAT=PATH` (`-` is stdout).
#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl OutputSpec {
    /// `FORMAT=-`: the report goes to stdout (in place of the terminal rendering).
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// Where a report path leads, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputTarget {
    /// `-`: standard output.
    Stdout,
    /// A new path or an existing regular file: written atomically (temporary file + rename).
    File,
    /// An existing pipe or terminal the user named (`/dev/stdout` on a pipe or terminal):
    /// written in place, never replaced.
    Stream,
}

/// Classifies a report path: `-` is stdout; a new path or a regular file is written
/// atomically; a pipe or terminal (also through a symlink such as `/dev/stdout`) is written
/// in place; anything else that exists (a directory, a device, a socket, a symlink to a file)
/// is refused, so a report can never replace it.
pub fn output_target(path: &Path) -> Result<OutputTarget, String> {
    if path.as_os_str() == "-" {
        return Ok(OutputTarget::Stdout);
    }
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err("names a directory; name a file (or - for stdout)".into());
    }
    let lmeta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OutputTarget::File),
        Err(e) => return Err(e.to_string()),
    };
    if lmeta.is_file() {
        return Ok(OutputTarget::File);
    }
    if lmeta.is_dir() {
        return Err("is a directory; name a file in it (or - for stdout)".into());
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot follow it: {e}"))?;
    let via = if lmeta.file_type().is_symlink() {
        "a symbolic link to "
    } else {
        ""
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return Ok(OutputTarget::Stream);
        }
        if t.is_char_device() && open_stream(path).is_ok_and(|f| is_terminal(&f)) {
            return Ok(OutputTarget::Stream);
        }
    }
    Err(format!(
        "exists and is not a regular file (it is {via}{}); refusing to replace it (name a new file, a pipe or terminal, or - for stdout)",
        crate::secret::file_kind(&meta.file_type())
    ))
}

fn is_terminal(f: &std::fs::File) -> bool {
    std::io::IsTerminal::is_terminal(f)
}

/// Opens an existing pipe or terminal for writing without creating, truncating or blocking
/// (a pipe nobody reads is an error, not a hang), then makes writes blocking again.
fn open_stream(path: &Path) -> std::io::Result<std::fs::File> {
    let mut oo = std::fs::OpenOptions::new();
    oo.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        oo.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let f = oo.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ENXIO) {
            return std::io::Error::other("no process is reading the pipe");
        }
        e
    })?;
    set_blocking(&f)?;
    Ok(f)
}

/// Clears `O_NONBLOCK` on an open file.
#[allow(unsafe_code)]
fn set_blocking(f: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd();
        // SAFETY: fcntl on a descriptor this `File` owns; F_GETFL/F_SETFL take integers only.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(unix))]
    let _ = f;
    Ok(())
}

impl std::str::FromStr for OutputSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (f, p) = s
            .split_once('=')
            .ok_or_else(|| format!("expected FORMAT=PATH, got `{s}`"))?;
        let format = <Format as clap::ValueEnum>::from_str(f, true).map_err(|_| {
            let names: Vec<&str> = <Format as clap::ValueEnum>::value_variants()
                .iter()
                .map(|v| v.name())
                .collect();
            format!(
                "unknown format `{f}` (expected one of: {})",
                names.join(", ")
            )
        })?;
        if p.is_empty() {
            return Err("empty output path".into());
        }
        Ok(OutputSpec {
            format,
            path: PathBuf::from(p),
        })
    }
}

/// Rendering options shared by the formats.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
    /// Terminal width for tables.
    pub width: Option<u16>,
}

/// Items from which the run document's long lists are rendered in parallel, and items per
/// part of a list.
const PARALLEL_JSON_ITEMS: usize = 1024;
const JSON_PART_ITEMS: usize = 512;

/// The run document, pretty-printed: the same text as one `to_string_pretty`. For a large run
/// the three long lists are rendered in parallel parts, beside the rest of the document, and
/// spliced into it where it holds `"exposures": []` and `"findings": []` (outcomes, skipped
/// when empty, follow the findings). Pretty JSON breaks lines only between tokens (strings
/// carry `\n` escaped), so a key at the document's first level is the only one preceded by a
/// line break and two spaces.
fn pretty_run(run: &Run) -> Result<String, serde_json::Error> {
    let items = run.exposures.len() + run.findings.len() + run.outcomes.len();
    if items < PARALLEL_JSON_ITEMS {
        return serde_json::to_string_pretty(run);
    }
    let (shell, (exposures, (findings, outcomes))) = rayon::join(
        || serde_json::to_string_pretty(&run.without_lists()),
        || {
            rayon::join(
                || pretty_parts(&run.exposures),
                || {
                    rayon::join(
                        || pretty_parts(&run.findings),
                        || pretty_parts(&run.outcomes),
                    )
                },
            )
        },
    );
    let (shell, exposures, findings, outcomes) = (shell?, exposures?, findings?, outcomes?);
    const EXPOSURES: &str = "\n  \"exposures\": []";
    const FINDINGS: &str = "\n  \"findings\": []";
    let (Some(e), Some(f)) = (shell.find(EXPOSURES), shell.find(FINDINGS)) else {
        return serde_json::to_string_pretty(run);
    };
    if e > f {
        return serde_json::to_string_pretty(run);
    }
    let size = |parts: &[Vec<u8>]| parts.iter().map(Vec::len).sum::<usize>();
    let mut out =
        Vec::with_capacity(shell.len() + size(&exposures) + size(&findings) + size(&outcomes) + 64);
    out.extend_from_slice(&shell.as_bytes()[..e]);
    out.extend_from_slice(b"\n  \"exposures\": ");
    join_parts(&mut out, &exposures);
    out.extend_from_slice(&shell.as_bytes()[e + EXPOSURES.len()..f]);
    out.extend_from_slice(b"\n  \"findings\": ");
    join_parts(&mut out, &findings);
    if !run.outcomes.is_empty() {
        out.extend_from_slice(b",\n  \"outcomes\": ");
        join_parts(&mut out, &outcomes);
    }
    out.extend_from_slice(&shell.as_bytes()[f + FINDINGS.len()..]);
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// `items` as pretty JSON one level in (a field of the run document), in parts rendered in
/// parallel; [`join_parts`] makes them one list.
fn pretty_parts<T: serde::Serialize + Sync>(
    items: &[T],
) -> Result<Vec<Vec<u8>>, serde_json::Error> {
    use rayon::prelude::*;
    items
        .par_chunks(JSON_PART_ITEMS)
        .map(|part| {
            let mut out = Vec::new();
            let nested = NestedPretty {
                level: 1,
                has_value: false,
            };
            serde::Serialize::serialize(
                part,
                &mut serde_json::Serializer::with_formatter(&mut out, nested),
            )
            .map(|()| out)
        })
        .collect()
}

/// Appends the parts of a list as one: every part but the first loses its `[`, every part but
/// the last its closing line break and `]`, and a comma joins them (no part: `[]`).
fn join_parts(out: &mut Vec<u8>, parts: &[Vec<u8>]) {
    const CLOSE: &[u8] = b"\n  ]";
    if parts.is_empty() {
        out.extend_from_slice(b"[]");
    }
    let last = parts.len().saturating_sub(1);
    for (k, part) in parts.iter().enumerate() {
        let mut body = part.as_slice();
        if k > 0 {
            body = body.strip_prefix(b"[").unwrap_or(body);
        }
        if k < last {
            body = body.strip_suffix(CLOSE).unwrap_or(body);
        }
        out.extend_from_slice(body);
        if k < last {
            out.push(b',');
        }
    }
}

/// serde_json's pretty formatter (two spaces) started one level in, for a field of the run
/// document rendered on its own (serde_json's own `PrettyFormatter` always starts at the left
/// margin). Arrays and objects open, break lines and close alike; only their brackets differ.
struct NestedPretty {
    level: usize,
    has_value: bool,
}

impl NestedPretty {
    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        (0..self.level).try_for_each(|_| w.write_all(b"  "))
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, start: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(start)
    }

    fn line<W: ?Sized + std::io::Write>(&self, w: &mut W, first: bool) -> std::io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, end: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(end)
    }
}

impl serde_json::ser::Formatter for NestedPretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Renders a run in `format`.
pub fn render(
    run: &Clean<Run>,
    format: Format,
    opts: RenderOptions,
) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(table::render(run, opts)),
        Format::Json => {
            let mut s = pretty_run(run).map_err(|e| RenderError(e.to_string()))?;
            s.push('\n');
            Ok(s)
        }
        Format::Sarif => sarif::render(run),
        Format::Junit => junit::render(run),
        Format::Github => Ok(github::render(run)),
        Format::Markdown => Ok(markdown::render(run)),
        Format::Html => html::render(run, None),
        Format::Ocsf => ocsf::render(run),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot render report: {0}")]
pub struct RenderError(pub String);

/// Whether file descriptor 1 is the null character device (the same device as `/dev/null`).
#[cfg(unix)]
fn is_null_device_stdout() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    match (
        std::fs::File::from(fd).metadata(),
        std::fs::metadata("/dev/null"),
    ) {
        (Ok(out), Ok(null)) => out.file_type().is_char_device() && out.rdev() == null.rdev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_null_device_stdout() -> bool {
    false
}

/// The terminal and file sink. Everything printed by the program goes through one of these.
#[derive(Clone)]
pub struct Output {
    pub redactor: Redactor,
    pub quiet: bool,
    pub color: bool,
    /// Why stdout could not be written, if it could not (the command then exits 2).
    stdout_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Output {
    pub fn new(redactor: Redactor, quiet: bool, color: bool) -> Self {
        Output {
            redactor,
            quiet,
            color,
            stdout_error: Default::default(),
        }
    }

    /// Why standard output could not be written (a full disk, a closed file), if so.
    pub fn stdout_error(&self) -> Option<String> {
        self.stdout_error.lock().ok().and_then(|e| e.clone())
    }

    /// The sanitised form of a document, ready for any renderer (see [`Clean`]).
    pub fn clean<T>(&self, doc: &T) -> Result<Clean<T>, RenderError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        Clean::new(doc, &self.redactor).map_err(|e| RenderError(e.to_string()))
    }

    /// Whether standard output is the null device (`> /dev/null`, or a CI step that keeps
    /// only the `--output` files). The report for stdout is then not rendered at all, as grep
    /// and ripgrep skip their output there: nobody can read it, and on a large run its
    /// rendering and filtering cost as much as a report file. Checked once.
    fn stdout_discarded(&self) -> bool {
        static DISCARDED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DISCARDED.get_or_init(is_null_device_stdout)
    }

    /// The report for stdout, rendered by `render` unless [`Output::stdout_discarded`] (then
    /// empty). Every command that prints a report renders it through here.
    pub fn render_for_stdout<E>(
        &self,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<String, E> {
        if self.stdout_discarded() {
            tracing::debug!("output: stdout is the null device; not rendered");
            return Ok(String::new());
        }
        render()
    }

    /// Writes filtered text to stdout. A closed pipe ends the program quietly.
    pub fn stdout(&self, text: &str) {
        let filtered = self.redactor.filtered(text);
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(filtered.as_bytes()).and_then(|_| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            if let Ok(mut slot) = self.stdout_error.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }
    }

    /// Writes sanitised, filtered text to stderr (diagnostics, warnings). Not suppressed by
    /// `--quiet` when `always` is set (errors). Diagnostics quote outside text (file names,
    /// URLs, vendor messages), so every line passes [`crate::guard::sanitize_text`].
    pub fn stderr(&self, text: &str, always: bool) {
        if self.quiet && !always {
            return;
        }
        let filtered = self.redactor.filter(&crate::guard::sanitize_text(text));
        let _ = std::io::stderr().lock().write_all(filtered.as_bytes());
    }

    /// Writes already-sanitised text (our own escapes, e.g. the coloured prefix) to stderr.
    fn stderr_raw(&self, text: &str, always: bool) {
        if self.quiet && !always {
            return;
        }
        let filtered = self.redactor.filtered(text);
        let _ = std::io::stderr().lock().write_all(filtered.as_bytes());
    }

    /// A warning line on stderr.
    pub fn warn(&self, msg: &str) {
        let prefix = if self.color {
            "\u{1b}[33mwarning\u{1b}[0m"
        } else {
            "warning"
        };
        let msg = crate::guard::sanitize_text(msg);
        self.stderr_raw(&format!("{prefix}: {msg}\n"), false);
    }

    /// An error line on stderr (never suppressed).
    pub fn error(&self, msg: &str) {
        let prefix = if self.color {
            "\u{1b}[31merror\u{1b}[0m"
        } else {
            "error"
        };
        let msg = crate::guard::sanitize_text(msg);
        self.stderr_raw(&format!("{prefix}: {msg}\n"), true);
    }

    /// Appends filtered text to a file in one write (`$GITHUB_STEP_SUMMARY`): only to a
    /// regular file, never through a symlink, created with mode 0600 whatever the umask.
    pub fn append_file(&self, path: &Path, text: &str) -> std::io::Result<()> {
        let filtered = self.redactor.filtered(text);
        let mut oo = std::fs::OpenOptions::new();
        oo.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // No-follow: a symlink is an error (ELOOP); non-blocking: a FIFO cannot hang us.
            oo.mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
        }
        let mut f = oo.open(path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return std::io::Error::other(
                    "is a symbolic link; it is only appended to as a regular file",
                );
            }
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ENXIO) {
                return std::io::Error::other(
                    "is not a regular file (a FIFO); it is only appended to as a regular file",
                );
            }
            e
        })?;
        let meta = f.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other(format!(
                "is not a regular file (it is {}); it is only appended to as a regular file",
                crate::secret::file_kind(&meta.file_type())
            )));
        }
        f.write_all(filtered.as_bytes())
    }

    /// Writes a filtered report: `-` to stdout, a pipe or terminal in place, anything else
    /// atomically with mode 0600 (see [`output_target`]; what it refuses is an error here).
    pub fn write_file(&self, path: &Path, text: &str) -> std::io::Result<()> {
        match output_target(path).map_err(std::io::Error::other)? {
            OutputTarget::Stdout => {
                self.stdout(text);
                Ok(())
            }
            OutputTarget::File => write_atomic(path, self.redactor.filtered(text).as_bytes()),
            OutputTarget::Stream => {
                let mut f = open_stream(path)?;
                // The path could have changed since it was classified: still a pipe or tty?
                #[cfg(unix)]
                {
                    use std::os::unix::fs::FileTypeExt;
                    if !(f.metadata()?.file_type().is_fifo() || is_terminal(&f)) {
                        return Err(std::io::Error::other(
                            "is no longer a pipe or terminal; not written",
                        ));
                    }
                }
                f.write_all(self.redactor.filtered(text).as_bytes())?;
                f.flush()
            }
        }
    }
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename, mode 0600:
/// a crash never leaves half a report, and reports naming accounts are not world-readable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a file path", path.display())))?;
    let mut rnd = [0u8; 6];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut rnd);
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        hex::encode(rnd)
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_complete() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("r.json");
        write_atomic(&p, b"{}").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(d.path()).expect("ls").count(), 1);
    }

    fn output() -> Output {
        Output::new(Redactor::new(), false, false)
    }

    /// A large run's document, its lists rendered in parallel parts and spliced in, is the
    /// text one `to_string_pretty` gives; so is a run without outcomes, and a small one.
    #[test]
    fn large_run_json_is_the_serial_rendering() {
        let exposure = serde_json::json!({"id": "exp-1", "rule": "stripe.webhook_secret",
            "vendor": "stripe", "credential_type": "webhook_secret", "public_by_design": false,
            "environment": "live", "location": {"path": "dist/\"a\"\n.js", "line": 5,
            "column": 17, "end_column": 55, "offset": 118}, "source": "artifact",
            "evidence": {"fingerprint": "hmac256:a47f461d18003f04", "redacted": "whsec_…H4ef"},
            "confidence": "high", "inventory_key": null, "observed_at": "2026-12-03T16:50:46Z"});
        let finding = serde_json::json!({"rule": "VKS-EXP-005", "title": "No key in assets",
            "severity": "critical", "confidence": "high", "enforcement": "block",
            "status": "fail", "subject": {"kind": "exposure", "id": "exp-1", "vendor": "stripe"},
            "message": "line one\n  \"exposures\": []", "locations": [], "evidence": null,
            "remediation": "Rotate.", "controls": ["ISO27001:2022/A.5.17"],
            "fingerprint": "vsf1:47a9"});
        let outcome = serde_json::json!({"rule": "VKS-EXP-003", "title": "No unknown key",
            "severity": "high", "subject": {"kind": "exposure", "id": "exp-1"},
            "status": "unknown", "controls": [], "reason": "no inventory"});
        let mut run = Run::new("scan", "check");
        run.warnings.push("a \"findings\": [] warning".into());
        // Lists below, at and past a part's size (512), a multiple of it, and one item beside
        // a long list.
        for (e, n) in [(0, 0), (3, 3), (700, 700), (1, 1100), (1024, 1024)] {
            run.exposures = vec![serde_json::from_value(exposure.clone()).expect("exposure"); e];
            run.findings = vec![serde_json::from_value(finding.clone()).expect("finding"); n];
            for outcomes in [0, n] {
                run.outcomes =
                    vec![serde_json::from_value(outcome.clone()).expect("outcome"); outcomes];
                let serial = serde_json::to_string_pretty(&run).expect("serial");
                assert_eq!(
                    pretty_run(&run).expect("parallel"),
                    serial,
                    "{n} {outcomes}"
                );
            }
        }
    }

    #[cfg(unix)]
    fn mkfifo(p: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .expect("mkfifo");
        assert!(st.success());
    }

    #[test]
    fn dash_is_stdout_and_directories_are_named() {
        assert_eq!(output_target(Path::new("-")), Ok(OutputTarget::Stdout));
        let d = tempfile::tempdir().expect("tempdir");
        let e = output_target(d.path()).expect_err("a directory");
        assert!(e.contains("is a directory"), "{e}");
        let e = output()
            .write_file(d.path(), "{}")
            .expect_err("a directory");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let slash = PathBuf::from(format!("{}/new/", d.path().display()));
        assert!(
            output_target(&slash)
                .expect_err("dir")
                .contains("directory")
        );
        assert_eq!(
            output_target(&d.path().join("new.json")),
            Ok(OutputTarget::File)
        );
    }

    #[cfg(unix)]
    #[test]
    fn existing_non_regular_paths_are_never_replaced() {
        let d = tempfile::tempdir().expect("tempdir");
        // A symlink to a regular file (the `/dev/stdout` case when it resolves to a file).
        let target = d.path().join("target");
        std::fs::write(&target, "keep").expect("write");
        let link = d.path().join("stdout");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = output().write_file(&link, "{}").expect_err("refused");
        assert!(
            e.to_string().contains("a symbolic link to a regular file"),
            "{e}"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
        // A character device that is not a terminal.
        let e = output_target(Path::new("/dev/null")).expect_err("refused");
        assert!(e.contains("a character device"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_written_in_place_through_its_symlink() {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let fifo = d.path().join("pipe");
        mkfifo(&fifo);
        let link = d.path().join("stdout");
        std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
        // Nobody reading: an error at once, not a hang.
        let started = std::time::Instant::now();
        let e = output().write_file(&link, "{}").expect_err("no reader");
        assert!(e.to_string().contains("no process is reading"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // With a reader: written through, the symlink and the FIFO stay what they are.
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .expect("reader");
        assert_eq!(output_target(&link), Ok(OutputTarget::Stream));
        output().write_file(&link, "{\"ok\":1}\n").expect("written");
        let mut got = String::new();
        reader.read_to_string(&mut got).expect("read");
        assert_eq!(got, "{\"ok\":1}\n");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::metadata(&fifo)
                .expect("meta")
                .file_type()
                .is_fifo()
        );
    }

    #[cfg(unix)]
    #[test]
    fn step_summary_is_a_private_regular_file_never_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let summary = d.path().join("summary.md");
        output().append_file(&summary, "one\n").expect("created");
        output().append_file(&summary, "two\n").expect("appended");
        assert_eq!(
            std::fs::read_to_string(&summary).expect("read"),
            "one\ntwo\n"
        );
        let mode = std::fs::metadata(&summary)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Through a symlink: refused, the target untouched.
        let target = d.path().join("elsewhere");
        std::fs::write(&target, "keep").expect("write");
        let link = d.path().join("link.md");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = output().append_file(&link, "x").expect_err("refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
        // A FIFO (no reader) and a directory: refused at once.
        let fifo = d.path().join("fifo");
        mkfifo(&fifo);
        let e = output().append_file(&fifo, "x").expect_err("refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(output().append_file(d.path(), "x").is_err());
    }

    #[test]
    fn output_spec_parses() {
        let s: OutputSpec = "json=out/run.json".parse().expect("parse");
        assert_eq!(s.format, Format::Json);
        assert!("nope=x".parse::<OutputSpec>().is_err());
        assert!("json".parse::<OutputSpec>().is_err());
    }
}
