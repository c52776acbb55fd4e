//! The `Secret` type, secret sourcing (env/file/command), redaction and keyed fingerprints.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::hmac;
use zeroize::Zeroizing;

/// A raw credential. The only place a key's bytes live.
///
/// `Debug`/`Display` print the redacted form and the buffer is zeroized on drop. Honest
/// limits: the HTTP stack copies the value into a `HeaderValue` (marked sensitive) for the
/// lifetime of a request, and the OS may have paged it; those copies are not zeroized by us.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a raw value; surrounding whitespace (a trailing newline from a file) is trimmed.
    pub fn new(raw: impl Into<String>) -> Self {
        let raw: String = raw.into();
        let trimmed = raw.trim();
        if trimmed.len() == raw.len() {
            Secret(Zeroizing::new(raw))
        } else {
            let t = Zeroizing::new(trimmed.to_string());
            drop(Zeroizing::new(raw));
            Secret(t)
        }
    }

    /// The raw value. Call sites are the HTTP client, the fingerprinter, the detectors and the
    /// output filter — never a formatter.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The one redacted form used everywhere (see [`redact`]).
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Known credential prefixes kept visible by redaction (they say what a key is, not what it is worth).
const PREFIXES: &[&str] = &[
    "shpat_", "shpca_", "shppa_", "shpss_", "shpua_", "sk_live_", "sk_test_", "rk_live_",
    "rk_test_", "pk_live_", "pk_test_", "whsec_", "live_", "test_", "AQE",
];

/// The one redaction function for every sink: known prefix + `…` + last 4 characters.
///
/// Values of 12 characters or fewer keep only their prefix; unknown shapes keep nothing but
/// the last 4.
pub fn redact(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let prefix = PREFIXES
        .iter()
        .find(|p| raw.starts_with(*p))
        .copied()
        .unwrap_or("");
    if chars.len() <= 12 {
        return format!("{prefix}…");
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

/// Where a secret comes from. Secrets are never read from argv.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable name.
    Env(String),
    /// A file whose whole content (trimmed) is the key.
    File(PathBuf),
    /// A command (argv, no shell) printing the key; needs `--allow-secret-commands`.
    Command(Vec<String>),
}

impl SecretRef {
    /// Short human description, never containing a value.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(n) => format!("env:{n}"),
            SecretRef::File(p) => format!("file:{}", p.display()),
            SecretRef::Command(argv) => {
                format!("command:{}", argv.first().map(String::as_str).unwrap_or(""))
            }
        }
    }
}

/// Why a secret could not be sourced; becomes `inconclusive(secret_unavailable)` on its key.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("environment variable {0} is not set or empty")]
    EnvMissing(String),
    #[error("cannot read secret file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("secret commands are disabled; pass --allow-secret-commands to run `{0}`")]
    CommandsDisabled(String),
    #[error("secret command `{cmd}` failed: {reason}")]
    Command { cmd: String, reason: String },
}

/// Options for sourcing secrets.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub allow_commands: bool,
    pub command_timeout: Duration,
    /// Base directory for relative `file:` paths (the inventory's directory).
    pub base_dir: PathBuf,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            allow_commands: false,
            command_timeout: Duration::from_secs(10),
            base_dir: PathBuf::from("."),
        }
    }
}

/// A non-fatal remark made while sourcing (e.g. a group-readable key file).
pub type SourceWarning = String;

/// Reads one secret. Never logs or returns the value outside `Secret`.
pub fn source(
    r: &SecretRef,
    opts: &SourceOptions,
) -> Result<(Secret, Vec<SourceWarning>), SourceError> {
    match r {
        SecretRef::Env(name) => match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok((Secret::new(v), vec![])),
            _ => Err(SourceError::EnvMissing(name.clone())),
        },
        SecretRef::File(p) => {
            let path = if p.is_absolute() {
                p.clone()
            } else {
                opts.base_dir.join(p)
            };
            let mut warnings = vec![];
            if let Some(w) = permissive_mode_warning(&path) {
                warnings.push(w);
            }
            let raw = std::fs::read_to_string(&path).map_err(|e| SourceError::File {
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            let s = Secret::new(raw);
            if s.expose().is_empty() {
                return Err(SourceError::File {
                    path,
                    reason: "file is empty".into(),
                });
            }
            Ok((s, warnings))
        }
        SecretRef::Command(argv) => run_command(argv, opts),
    }
}

#[cfg(unix)]
fn permissive_mode_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "secret file {} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn permissive_mode_warning(_path: &Path) -> Option<String> {
    None
}

fn run_command(
    argv: &[String],
    opts: &SourceOptions,
) -> Result<(Secret, Vec<SourceWarning>), SourceError> {
    let prog = argv.first().cloned().unwrap_or_default();
    if !opts.allow_commands {
        return Err(SourceError::CommandsDisabled(prog));
    }
    if prog.is_empty() {
        return Err(SourceError::Command {
            cmd: prog,
            reason: "empty argv".into(),
        });
    }
    let mut child = std::process::Command::new(&prog)
        .args(&argv[1..])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| SourceError::Command {
            cmd: prog.clone(),
            reason: e.kind().to_string(),
        })?;
    let deadline = std::time::Instant::now() + opts.command_timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SourceError::Command {
                    cmd: prog,
                    reason: "timed out".into(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(SourceError::Command {
                    cmd: prog,
                    reason: e.kind().to_string(),
                });
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| SourceError::Command {
        cmd: prog.clone(),
        reason: e.kind().to_string(),
    })?;
    if !out.status.success() {
        return Err(SourceError::Command {
            cmd: prog,
            reason: format!("exit status {}", out.status),
        });
    }
    let raw = Zeroizing::new(out.stdout);
    let text = std::str::from_utf8(&raw).map_err(|_| SourceError::Command {
        cmd: prog.clone(),
        reason: "output is not UTF-8".into(),
    })?;
    let s = Secret::new(text.to_string());
    if s.expose().is_empty() {
        return Err(SourceError::Command {
            cmd: prog,
            reason: "printed nothing".into(),
        });
    }
    Ok((s, vec![]))
}

/// Environment variable holding the fingerprint key (any string; its bytes are the HMAC key).
pub const FINGERPRINT_KEY_ENV: &str = "VENDORSCOPE_FINGERPRINT_KEY";

/// Keyed fingerprints: `hmac256:` + 16 hex of HMAC-SHA256(key, secret).
pub struct Fingerprinter {
    key: hmac::Key,
    check: String,
    /// Where the key came from, for the run document and the CI warning.
    pub origin: KeyOrigin,
}

/// Origin of the fingerprint key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    Env,
    File(PathBuf),
    Fixed,
}

impl Fingerprinter {
    /// Builds from raw key bytes.
    pub fn from_bytes(bytes: &[u8], origin: KeyOrigin) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let tag = hmac::sign(&key, b"vendorscope fingerprint check v1");
        let check = format!("check:{}", &hex::encode(tag.as_ref())[..16]);
        Fingerprinter { key, check, origin }
    }

    /// From `VENDORSCOPE_FINGERPRINT_KEY`, else a 0600 key file created once under the user's
    /// config directory (or `VENDORSCOPE_HOME`).
    pub fn load() -> std::io::Result<Self> {
        if let Ok(v) = std::env::var(FINGERPRINT_KEY_ENV)
            && !v.is_empty()
        {
            return Ok(Self::from_bytes(v.as_bytes(), KeyOrigin::Env));
        }
        let path = default_key_path();
        let bytes = load_or_create_key_file(&path)?;
        Ok(Self::from_bytes(&bytes, KeyOrigin::File(path)))
    }

    /// The warning a CI run gets when its fingerprints come from a per-machine key file: they
    /// will not match any other run's, so `--known-keys`, `diff` and baselines cannot compare.
    pub fn ci_warning(&self) -> Option<String> {
        let in_ci = crate::run::CiIdentity::detect().is_some();
        (in_ci && self.origin != KeyOrigin::Env).then(|| {
            format!(
                "running under CI without {FINGERPRINT_KEY_ENV}: fingerprints come from a key file on this machine and will not match other runs' (set it from a CI secret)"
            )
        })
    }

    /// Fingerprint of a raw value.
    pub fn fingerprint_str(&self, raw: &str) -> String {
        let tag = hmac::sign(&self.key, raw.as_bytes());
        format!("hmac256:{}", &hex::encode(tag.as_ref())[..16])
    }

    /// Fingerprint of a secret.
    pub fn fingerprint(&self, s: &Secret) -> String {
        self.fingerprint_str(s.expose())
    }

    /// A value identifying the key without revealing it; runs with different values are
    /// never compared.
    pub fn check_value(&self) -> &str {
        &self.check
    }
}

fn default_key_path() -> PathBuf {
    if let Ok(h) = std::env::var("VENDORSCOPE_HOME") {
        return PathBuf::from(h).join("fingerprint.key");
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("vendorscope").join("fingerprint.key")
}

fn load_or_create_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) if b.len() >= 32 => return Ok(b),
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "fingerprint key file {} is shorter than 32 bytes",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = vec![0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| std::io::Error::other("system random generator failed"))?;
    let text = hex::encode(&bytes).into_bytes();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&text)?;
            Ok(text)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(e) => Err(e),
    }
}

/// Disables core dumps for the life of the process: a dump would contain sourced secrets.
#[allow(unsafe_code)]
pub fn disable_core_dumps() {
    #[cfg(unix)]
    {
        let lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid pointer to a stack value; no memory is retained.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
        }
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_DUMPABLE takes an integer argument only.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_prefix_and_last_four() {
        assert_eq!(
            redact("sk_live_51HxYzAbCdEfGhIjKlMnOp1234"),
            "sk_live_…1234"
        );
        assert_eq!(redact("0123456789abcdef0123456789abcdef"), "…cdef");
        assert_eq!(redact("short"), "…");
    }

    #[test]
    fn debug_and_display_never_show_raw() {
        let raw = "shpat_0123456789abcdef0123456789abcdef";
        let s = Secret::new(raw);
        assert!(!format!("{s:?}").contains("0123456789"));
        assert!(!format!("{s}").contains("0123456789"));
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = Fingerprinter::from_bytes(b"k1", KeyOrigin::Fixed);
        let b = Fingerprinter::from_bytes(b"k2", KeyOrigin::Fixed);
        let fa = a.fingerprint_str("secret");
        assert_eq!(fa, a.fingerprint_str("secret"));
        assert_ne!(fa, b.fingerprint_str("secret"));
        assert!(fa.starts_with("hmac256:") && fa.len() == 8 + 16);
        assert_ne!(a.check_value(), b.check_value());
    }

    #[test]
    fn env_missing_is_an_error_not_a_panic() {
        let r = SecretRef::Env("VENDORSCOPE_SURELY_UNSET_VAR".into());
        assert!(matches!(
            source(&r, &SourceOptions::default()),
            Err(SourceError::EnvMissing(_))
        ));
    }

    #[test]
    fn commands_need_opt_in() {
        let r = SecretRef::Command(vec!["echo".into(), "x".into()]);
        assert!(matches!(
            source(&r, &SourceOptions::default()),
            Err(SourceError::CommandsDisabled(_))
        ));
    }
}
