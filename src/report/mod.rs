//! Rendering a run into every output format, and the only path to the terminal and report files.
//!
//! Every renderer returns a `String`; [`Output`] passes it through the fail-closed
//! [`filter::Redactor`] before a byte is written. Report files are written atomically, mode 0600.

pub mod filter;
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

use crate::run::Run;
use filter::Redactor;

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

/// `--output FORMAT=PATH`.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub format: Format,
    pub path: PathBuf,
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

/// Renders a run in `format`.
pub fn render(run: &Run, format: Format, opts: RenderOptions) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(table::render(run, opts)),
        Format::Json => {
            let mut s =
                serde_json::to_string_pretty(run).map_err(|e| RenderError(e.to_string()))?;
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

/// The terminal and file sink. Everything printed by the program goes through one of these.
#[derive(Clone)]
pub struct Output {
    pub redactor: Redactor,
    pub quiet: bool,
    pub color: bool,
}

impl Output {
    pub fn new(redactor: Redactor, quiet: bool, color: bool) -> Self {
        Output {
            redactor,
            quiet,
            color,
        }
    }

    /// Writes filtered text to stdout. A closed pipe ends the program quietly.
    pub fn stdout(&self, text: &str) {
        let filtered = self.redactor.filter(text);
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(filtered.as_bytes()).and_then(|_| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }

    /// Writes filtered text to stderr (diagnostics, warnings). Not suppressed by `--quiet`
    /// when `always` is set (errors).
    pub fn stderr(&self, text: &str, always: bool) {
        if self.quiet && !always {
            return;
        }
        let filtered = self.redactor.filter(text);
        let _ = std::io::stderr().lock().write_all(filtered.as_bytes());
    }

    /// A warning line on stderr.
    pub fn warn(&self, msg: &str) {
        let prefix = if self.color {
            "\u{1b}[33mwarning\u{1b}[0m"
        } else {
            "warning"
        };
        self.stderr(&format!("{prefix}: {msg}\n"), false);
    }

    /// An error line on stderr (never suppressed).
    pub fn error(&self, msg: &str) {
        let prefix = if self.color {
            "\u{1b}[31merror\u{1b}[0m"
        } else {
            "error"
        };
        self.stderr(&format!("{prefix}: {msg}\n"), true);
    }

    /// Appends filtered text to a file in one write (`$GITHUB_STEP_SUMMARY`).
    pub fn append_file(&self, path: &Path, text: &str) -> std::io::Result<()> {
        let filtered = self.redactor.filter(text);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)?;
        f.write_all(filtered.as_bytes())
    }

    /// Writes a filtered report file atomically with mode 0600.
    pub fn write_file(&self, path: &Path, text: &str) -> std::io::Result<()> {
        write_atomic(path, self.redactor.filter(text).as_bytes())
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

    #[test]
    fn output_spec_parses() {
        let s: OutputSpec = "json=out/run.json".parse().expect("parse");
        assert_eq!(s.format, Format::Json);
        assert!("nope=x".parse::<OutputSpec>().is_err());
        assert!("json".parse::<OutputSpec>().is_err());
    }
}
