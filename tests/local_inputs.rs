//! Hostile local inputs (issue 12): secret `file:` and `command:` sources, report output
//! paths, the GitHub step summary and policy message templates. Each case is the exact input
//! of the review, run through the CLI.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUN_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/runs/demo-run.json");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn cli_in(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Out {
    let started = Instant::now();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_vendorscope"));
    c.args(args)
        .current_dir(dir)
        .env("VENDORSCOPE_FINGERPRINT_KEY", "local-inputs-test-key")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("VENDORSCOPE_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("binary runs");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    };
    assert!(!o.stderr.contains("panicked"), "panic: {}", o.stderr);
    o
}

fn inventory(dir: &Path, secret: &str) -> PathBuf {
    let p = dir.join("inv.yaml");
    std::fs::write(
        &p,
        format!(
            "version: 1\norganization: Test\nvendors:\n  - id: stripe\n    name: Stripe\n    connector: stripe\n    category: psp\n    tier: 1\n    owner: sec@example.com\n    keys:\n      - id: stripe-secret\n        secret: {secret}\n        type: server_side\n        environment: live\n"
        ),
    )
    .expect("write inventory");
    p
}

fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo");
    assert!(st.success());
}

/// `secret: {file: /dev/zero}`, a FIFO and `{file: /etc/shadow}`: exit 2 at once, naming the
/// key, in `audit`, `audit --dry-run` and `scan -i`; nothing of the file is printed.
#[test]
fn unsafe_secret_files_are_configuration_errors_naming_the_key() {
    let d = tempfile::tempdir().expect("tempdir");
    mkfifo(&d.path().join("key.fifo"));
    std::fs::create_dir(d.path().join("build")).expect("mkdir");
    for (secret, why) in [
        ("{file: /dev/zero}", "outside the inventory's directory"),
        ("{file: key.fifo}", "not a regular file (it is a FIFO)"),
        ("{file: /etc/shadow}", "--allow-secret-files"),
    ] {
        inventory(d.path(), secret);
        for args in [
            &["audit", "-i", "inv.yaml"][..],
            &["audit", "-i", "inv.yaml", "--dry-run"][..],
            &["scan", "-i", "inv.yaml", "build"][..],
        ] {
            let o = cli_in(d.path(), args, &[]);
            assert_eq!(o.code, 2, "{secret} {args:?}: {}", o.stderr);
            assert!(o.took < Duration::from_secs(10), "{secret}: {:?}", o.took);
            assert!(
                o.stderr
                    .contains("error: key stripe/stripe-secret: secret file"),
                "{secret} {args:?}: {}",
                o.stderr
            );
            assert!(o.stderr.contains(why), "{secret}: {}", o.stderr);
            assert!(!o.stderr.contains("root:") && !o.stdout.contains("root:"));
        }
    }
    // /dev/zero is refused even where files are allowed: it is not a regular file.
    inventory(d.path(), "{file: /dev/zero}");
    let o = cli_in(
        d.path(),
        &["audit", "-i", "inv.yaml", "--allow-secret-files", "/dev"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("a character device"), "{}", o.stderr);
    // The flag names an existing directory.
    let o = cli_in(
        d.path(),
        &["audit", "-i", "inv.yaml", "--allow-secret-files", "nope"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("--allow-secret-files nope"),
        "{}",
        o.stderr
    );
}

/// `--output sarif=-` is stdout; it cannot be combined with a different `--format`.
#[test]
fn output_dash_is_stdout() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = cli_in(
        d.path(),
        &["report", RUN_FIXTURE, "--output", "sarif=-"],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("SARIF alone on stdout");
    assert_eq!(v["version"], "2.1.0");
    assert!(!d.path().join("-").exists());
    let o = cli_in(
        d.path(),
        &[
            "report",
            RUN_FIXTURE,
            "--output",
            "sarif=-",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// `--output sarif=/dev/stdout` (here a symlink in a tempdir to the process's stderr pipe):
/// written through, never replaced; a directory, a symlink to a file and `/dev/null` are
/// refused with exit 2 before anything runs.
#[cfg(target_os = "linux")]
#[test]
fn special_output_paths() {
    let d = tempfile::tempdir().expect("tempdir");
    let err = d.path().join("stderr");
    std::os::unix::fs::symlink("/proc/self/fd/2", &err).expect("symlink");
    let spec = format!("sarif={}", err.display());
    let o = cli_in(d.path(), &["report", RUN_FIXTURE, "--output", &spec], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("\"2.1.0\""), "SARIF went to the pipe");
    assert!(
        std::fs::symlink_metadata(&err)
            .expect("meta")
            .file_type()
            .is_symlink(),
        "the symlink was replaced"
    );
    let target = d.path().join("real.sarif");
    std::fs::write(&target, "keep").expect("write");
    let link = d.path().join("link.sarif");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    for (path, why) in [
        (d.path().to_path_buf(), "is a directory"),
        (link.clone(), "a symbolic link to a regular file"),
        (PathBuf::from("/dev/null"), "a character device"),
    ] {
        let spec = format!("sarif={}", path.display());
        let o = cli_in(d.path(), &["report", RUN_FIXTURE, "--output", &spec], &[]);
        assert_eq!(o.code, 2, "{spec}: {}", o.stderr);
        assert!(o.stderr.contains(why), "{spec}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "nothing ran: {}", o.stdout);
    }
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("m")
            .file_type()
            .is_symlink()
    );
}

/// A report that cannot be written is exit 2 (it was 3).
#[test]
fn a_failed_report_write_exits_2() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("build")).expect("mkdir");
    let o = cli_in(
        d.path(),
        &["scan", "build", "--output", "json=missing/run.json"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("missing/run.json"), "{}", o.stderr);
}

/// `$GITHUB_STEP_SUMMARY`: never appended through a symlink; created 0600 under umask 000.
#[cfg(unix)]
#[test]
fn step_summary_is_private_and_never_followed() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tempdir");
    let target = d.path().join("elsewhere.md");
    std::fs::write(&target, "keep").expect("write");
    let link = d.path().join("summary.md");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let o = cli_in(
        d.path(),
        &["report", RUN_FIXTURE, "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", &link)],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("cannot append to GITHUB_STEP_SUMMARY")
            && o.stderr.contains("symbolic link"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    let fresh = d.path().join("fresh.md");
    let st = std::process::Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_vendorscope"))
        .args(["report", RUN_FIXTURE, "--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &fresh)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("runs");
    assert!(st.success());
    let mode = std::fs::metadata(&fresh)
        .expect("created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A policy whose `message` nests `range(100000)` loops: `policy lint` reports it (exit 2)
/// within the template budget instead of running at 100% CPU.
#[test]
fn policy_lint_reports_runaway_templates() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("p.yaml");
    std::fs::write(
        &p,
        "version: 1\nkind: PolicySet\nrules:\n  - id: U-1\n    title: Loopy\n    severity: low\n    controls: [ISO27001:2022/A.5.17]\n    scope:\n      subject: run\n    require: 'false'\n    message: \"{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{{ b }}{% endfor %}{% endfor %}\"\n",
    )
    .expect("write");
    let o = cli_in(d.path(), &["policy", "lint", "p.yaml"], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.took < Duration::from_secs(10), "{:?}", o.took);
    assert!(
        o.stderr.contains("rule U-1: message template"),
        "{}",
        o.stderr
    );
}
