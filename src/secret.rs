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
    let prefix = known_prefix(raw);
    if chars.len() <= 12 {
        return format!("{prefix}…");
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

/// The known prefix a value starts with ([`redact`] keeps it), or `""`.
pub fn known_prefix(raw: &str) -> &'static str {
    PREFIXES
        .iter()
        .find(|p| raw.starts_with(*p))
        .copied()
        .unwrap_or("")
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

/// Why a secret could not be sourced. [`SourceError::Refused`] is a configuration error (the
/// inventory names an unsafe source: exit 2); the others make the key
/// `inconclusive(secret_unavailable)`.
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
    /// The source is refused outright: not a regular file, too large, outside the allowed
    /// directories, or a command whose output is too large. Never carries any of its content.
    #[error("secret {source_desc} refused: {reason}")]
    Refused { source_desc: String, reason: String },
}

impl SourceError {
    /// Whether this is a configuration error (exit 2) rather than an unavailable secret.
    pub fn is_config_error(&self) -> bool {
        matches!(self, SourceError::Refused { .. })
    }
}

/// Largest secret a `file:` source or a `command:` source's output may have.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// The usual secret mounts (Docker, Kubernetes, systemd credentials) `file:` sources may
/// always read from, besides the inventory's own directory.
pub const SECRET_MOUNTS: &[&str] = &["/run/secrets", "/var/run/secrets"];

/// Options for sourcing secrets.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub allow_commands: bool,
    pub command_timeout: Duration,
    /// Base directory for relative `file:` paths (the inventory's directory); `file:` sources
    /// may read below it.
    pub base_dir: PathBuf,
    /// More directories `file:` sources may read below (`--allow-secret-files DIR`).
    pub allowed_file_dirs: Vec<PathBuf>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            allow_commands: false,
            command_timeout: Duration::from_secs(10),
            base_dir: PathBuf::from("."),
            allowed_file_dirs: vec![],
        }
    }
}

/// A non-fatal remark made while sourcing (e.g. a group-readable key file).
pub type SourceWarning = String;

/// Checks an `--allow-secret-files` argument: an existing directory, returned canonical.
pub fn allowed_dir(dir: &Path) -> Result<PathBuf, String> {
    let canon = std::fs::canonicalize(dir)
        .map_err(|e| format!("--allow-secret-files {}: {}", dir.display(), e.kind()))?;
    if !canon.is_dir() {
        return Err(format!(
            "--allow-secret-files {}: not a directory",
            dir.display()
        ));
    }
    Ok(canon)
}

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
        SecretRef::File(p) => read_file(p, opts),
        SecretRef::Command(argv) => run_command(argv, opts),
    }
}

/// A `file:` source: below the inventory's directory, a secret mount or an
/// `--allow-secret-files` directory (after resolving `..` and symlinks); a regular file
/// (opened without blocking, so a FIFO cannot hang the run); at most [`MAX_SECRET_BYTES`].
fn read_file(p: &Path, opts: &SourceOptions) -> Result<(Secret, Vec<SourceWarning>), SourceError> {
    use std::io::Read;
    let path = if p.is_absolute() {
        p.to_path_buf()
    } else {
        opts.base_dir.join(p)
    };
    let refused = |reason: String| SourceError::Refused {
        source_desc: format!("file {}", path.display()),
        reason,
    };
    let unreadable = |reason: String| SourceError::File {
        path: path.clone(),
        reason,
    };
    let canon = std::fs::canonicalize(&path).map_err(|e| unreadable(e.kind().to_string()))?;
    if !allowed_roots(opts)
        .iter()
        .any(|root| canon.starts_with(root))
    {
        return Err(refused(format!(
            "it is outside the inventory's directory and the secret mounts ({}); pass --allow-secret-files DIR to read secrets from another directory",
            SECRET_MOUNTS.join(", ")
        )));
    }
    let mut oo = std::fs::OpenOptions::new();
    oo.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking: opening a FIFO returns at once; no-follow: the resolved path's last
        // component cannot be swapped for a symlink after the check above.
        oo.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    let f = oo
        .open(&canon)
        .map_err(|e| unreadable(e.kind().to_string()))?;
    let meta = f.metadata().map_err(|e| unreadable(e.kind().to_string()))?;
    if !meta.is_file() {
        return Err(refused(format!(
            "not a regular file (it is {})",
            file_kind(&meta.file_type())
        )));
    }
    if meta.len() > MAX_SECRET_BYTES {
        return Err(refused(format!(
            "larger than {} KiB ({} bytes); a key file holds one key",
            MAX_SECRET_BYTES / 1024,
            meta.len()
        )));
    }
    let mut warnings = vec![];
    if let Some(w) = permissive_mode_warning(&path, &meta) {
        warnings.push(w);
    }
    let mut raw = Zeroizing::new(Vec::new());
    f.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| unreadable(e.kind().to_string()))?;
    if raw.len() as u64 > MAX_SECRET_BYTES {
        return Err(refused(format!(
            "larger than {} KiB (it grew while being read)",
            MAX_SECRET_BYTES / 1024
        )));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| unreadable("not UTF-8 text".into()))?;
    let s = Secret::new(text.to_string());
    if s.expose().is_empty() {
        return Err(unreadable("file is empty".into()));
    }
    Ok((s, warnings))
}

/// The canonical directories `file:` sources may read below.
fn allowed_roots(opts: &SourceOptions) -> Vec<PathBuf> {
    let base = if opts.base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        opts.base_dir.as_path()
    };
    std::iter::once(base)
        .chain(SECRET_MOUNTS.iter().map(Path::new))
        .chain(opts.allowed_file_dirs.iter().map(PathBuf::as_path))
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect()
}

/// A file type in words, for refusals.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

#[cfg(unix)]
fn permissive_mode_warning(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "secret file {} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn permissive_mode_warning(_path: &Path, _meta: &std::fs::Metadata) -> Option<String> {
    None
}

/// A `command:` source: argv without a shell, an empty environment but `PATH`, in its own
/// process group. The whole group is killed at the deadline, and once the command has exited
/// (a background process it left would otherwise hold its output open); stdout is read on a
/// thread, capped at [`MAX_SECRET_BYTES`].
fn run_command(
    argv: &[String],
    opts: &SourceOptions,
) -> Result<(Secret, Vec<SourceWarning>), SourceError> {
    use std::io::Read;
    use std::sync::mpsc;
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
    let failed = |reason: String| SourceError::Command {
        cmd: prog.clone(),
        reason,
    };
    let mut cmd = std::process::Command::new(&prog);
    cmd.args(&argv[1..])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| failed(e.kind().to_string()))?;
    let deadline = std::time::Instant::now() + opts.command_timeout;
    let Some(mut stdout) = child.stdout.take() else {
        kill_group(&mut child);
        return Err(failed("no output pipe".into()));
    };
    // The reader ends at EOF, at the cap, or never (a process that left the group holds the
    // pipe); the channel lets the deadline hold either way.
    let (tx, rx) = mpsc::channel::<std::io::Result<Zeroizing<Vec<u8>>>>();
    std::thread::spawn(move || {
        let mut buf = Zeroizing::new(Vec::new());
        let r = (&mut stdout)
            .take(MAX_SECRET_BYTES + 1)
            .read_to_end(&mut buf)
            .map(|_| buf);
        let _ = tx.send(r);
    });
    let mut output = None;
    let status = loop {
        if output.is_none() {
            match rx.recv_timeout(Duration::from_millis(10)) {
                Ok(r) => output = Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    output = Some(Err(std::io::Error::other("output reader failed")));
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(Ok(b)) = &output
            && b.len() as u64 > MAX_SECRET_BYTES
        {
            kill_group(&mut child);
            return Err(SourceError::Refused {
                source_desc: format!("command `{prog}`"),
                reason: format!("it printed more than {} KiB", MAX_SECRET_BYTES / 1024),
            });
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                kill_group(&mut child);
                return Err(failed(format!(
                    "timed out after {} s",
                    opts.command_timeout.as_secs_f64()
                )));
            }
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                return Err(failed(e.kind().to_string()));
            }
        }
    };
    // The command has exited: whatever it left running in its group goes too, so its output
    // pipe closes now rather than when a background process ends.
    signal_group(&child);
    let out = match output {
        Some(r) => r,
        None => {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(r) => r,
                Err(_) => {
                    return Err(failed(format!(
                        "timed out after {} s (a process it started keeps its output open)",
                        opts.command_timeout.as_secs_f64()
                    )));
                }
            }
        }
    };
    let raw = out.map_err(|e| failed(e.kind().to_string()))?;
    if raw.len() as u64 > MAX_SECRET_BYTES {
        return Err(SourceError::Refused {
            source_desc: format!("command `{prog}`"),
            reason: format!("it printed more than {} KiB", MAX_SECRET_BYTES / 1024),
        });
    }
    if !status.success() {
        return Err(failed(format!("exit status {status}")));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| failed("output is not UTF-8".into()))?;
    let s = Secret::new(text.to_string());
    if s.expose().is_empty() {
        return Err(failed("printed nothing".into()));
    }
    Ok((s, vec![]))
}

/// Kills a command's whole process group, then reaps the command.
fn kill_group(child: &mut std::process::Child) {
    signal_group(child);
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL to the process group led by `child` (it was spawned with `process_group(0)`).
#[allow(unsafe_code)]
fn signal_group(child: &std::process::Child) {
    #[cfg(unix)]
    {
        if let Ok(pgid) = libc::pid_t::try_from(child.id())
            && pgid > 0
        {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = child;
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

    fn file_opts(base: &Path) -> SourceOptions {
        SourceOptions {
            base_dir: base.to_path_buf(),
            ..Default::default()
        }
    }

    const KEY: &str = "sk_live_h1SecretFileTestQ7w9Zr2Xv4Lp";

    #[cfg(unix)]
    fn write_private(p: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(p, text).expect("write");
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    #[cfg(unix)]
    #[test]
    fn file_in_the_inventory_directory_is_read() {
        let d = tempfile::tempdir().expect("tempdir");
        write_private(&d.path().join("key"), &format!("{KEY}\n"));
        let (s, w) = source(&SecretRef::File("key".into()), &file_opts(d.path())).expect("read");
        assert_eq!(s.expose(), KEY);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn dev_zero_is_refused_at_once() {
        let d = tempfile::tempdir().expect("tempdir");
        let t = std::time::Instant::now();
        // Outside the allowed places…
        let e = source(&SecretRef::File("/dev/zero".into()), &file_opts(d.path()))
            .expect_err("refused");
        assert!(e.is_config_error(), "{e}");
        assert!(e.to_string().contains("/dev/zero"), "{e}");
        // …and not a regular file even where files are allowed.
        let mut o = file_opts(d.path());
        o.allowed_file_dirs = vec!["/dev".into()];
        let e = source(&SecretRef::File("/dev/zero".into()), &o).expect_err("refused");
        assert!(e.is_config_error(), "{e}");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[cfg(unix)]
    #[test]
    fn fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().expect("tempdir");
        let fifo = d.path().join("key.fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(st.success());
        let t = std::time::Instant::now();
        let e =
            source(&SecretRef::File("key.fifo".into()), &file_opts(d.path())).expect_err("refused");
        assert!(e.is_config_error(), "{e}");
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn etc_shadow_is_refused_without_allow_secret_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let e = source(&SecretRef::File("/etc/shadow".into()), &file_opts(d.path()))
            .expect_err("refused");
        assert!(e.is_config_error(), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("--allow-secret-files"), "{msg}");
        // Nothing of the file: no line of it, and in particular no `root:` entry.
        if let Ok(content) = std::fs::read_to_string("/etc/shadow") {
            for line in content.lines().filter(|l| l.len() >= 4) {
                assert!(!msg.contains(line), "{msg}");
            }
        }
        assert!(!msg.contains("root:"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn files_elsewhere_need_allow_secret_files_and_never_leak() {
        let inv = tempfile::tempdir().expect("tempdir");
        let other = tempfile::tempdir().expect("tempdir");
        let key = other.path().join("key");
        write_private(&key, KEY);
        // Absolute, `../` and a symlink in the inventory directory: all outside.
        let rel = PathBuf::from("..")
            .join(other.path().file_name().expect("name"))
            .join("key");
        std::os::unix::fs::symlink(&key, inv.path().join("link")).expect("symlink");
        for r in [key.clone(), rel, PathBuf::from("link")] {
            let e =
                source(&SecretRef::File(r.clone()), &file_opts(inv.path())).expect_err("refused");
            assert!(e.is_config_error(), "{r:?}: {e}");
            let msg = e.to_string();
            assert!(!msg.contains(&KEY[KEY.len() - 4..]), "{msg}");
            assert!(!msg.contains("h1SecretFile"), "{msg}");
        }
        let mut o = file_opts(inv.path());
        o.allowed_file_dirs = vec![allowed_dir(other.path()).expect("dir")];
        let (s, _) = source(&SecretRef::File("link".into()), &o).expect("allowed");
        assert_eq!(s.expose(), KEY);
        assert!(allowed_dir(&other.path().join("nope")).is_err());
        assert!(allowed_dir(&key).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn oversized_key_files_are_refused_and_loose_modes_warned() {
        let d = tempfile::tempdir().expect("tempdir");
        let big = d.path().join("big");
        write_private(&big, &"k".repeat(64 * 1024 + 1));
        let e = source(&SecretRef::File("big".into()), &file_opts(d.path())).expect_err("big");
        assert!(
            e.is_config_error() && e.to_string().contains("64 KiB"),
            "{e}"
        );
        assert!(!e.to_string().contains("kkkk"), "{e}");
        let loose = d.path().join("loose");
        std::fs::write(&loose, KEY).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (_, w) = source(&SecretRef::File("loose".into()), &file_opts(d.path())).expect("read");
        assert!(w.len() == 1 && w[0].contains("chmod 600"), "{w:?}");
        // Missing stays "unavailable" (inconclusive), not a configuration error.
        let e = source(&SecretRef::File("absent".into()), &file_opts(d.path())).expect_err("x");
        assert!(!e.is_config_error(), "{e}");
    }

    /// Whether a process is gone (or a zombie waiting for its new parent to reap it).
    #[cfg(target_os = "linux")]
    fn gone(pid: &str) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(s)
                    if s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z')) =>
                {
                    return true;
                }
                Ok(_) if std::time::Instant::now() >= deadline => return false,
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn command_opts(timeout_ms: u64) -> SourceOptions {
        SourceOptions {
            allow_commands: true,
            command_timeout: Duration::from_millis(timeout_ms),
            ..Default::default()
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn command_grandchild_holding_stdout_cannot_outlive_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let pidfile = d.path().join("pid");
        let script = format!("sleep 100 & echo $! > {}; echo {KEY}", pidfile.display());
        let t = std::time::Instant::now();
        let (s, _) = source(
            &SecretRef::Command(vec!["sh".into(), "-c".into(), script]),
            &command_opts(2000),
        )
        .expect("the key it printed");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(s.expose(), KEY);
        let pid = std::fs::read_to_string(&pidfile).expect("pid");
        assert!(gone(pid.trim()), "grandchild {pid} left running");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn command_deadline_kills_the_whole_group() {
        let d = tempfile::tempdir().expect("tempdir");
        let pidfile = d.path().join("pid");
        let script = format!("sleep 100 & echo $! > {}; sleep 100", pidfile.display());
        let t = std::time::Instant::now();
        let e = source(
            &SecretRef::Command(vec!["sh".into(), "-c".into(), script]),
            &command_opts(500),
        )
        .expect_err("times out");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(e.to_string().contains("timed out"), "{e}");
        let pid = std::fs::read_to_string(&pidfile).expect("pid");
        assert!(gone(pid.trim()), "grandchild {pid} left running");
    }

    #[cfg(unix)]
    #[test]
    fn command_output_is_capped() {
        let t = std::time::Instant::now();
        let e = source(
            &SecretRef::Command(vec!["cat".into(), "/dev/zero".into()]),
            &command_opts(5000),
        )
        .expect_err("capped");
        assert!(
            e.is_config_error() && e.to_string().contains("64 KiB"),
            "{e}"
        );
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}
