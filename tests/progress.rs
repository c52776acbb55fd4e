//! Progress of the long phases: one summary line per phase when stderr is not a terminal (CI
//! logs, pipes), nothing with `--quiet`, a bar that is cleared again on a terminal.

use std::path::Path;
use std::process::Command;

use vendorscope::crawl::demo_site::{DemoConfig, DemoSite};

fn cli(dir: &Path, args: &[&str], ci: bool) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vendorscope"));
    c.args(args)
        .current_dir(dir)
        .env(
            "VENDORSCOPE_FINGERPRINT_KEY",
            "progress-test-fingerprint-key",
        )
        .env("BRAINTREE_KEY", "not-a-real-braintree-key")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    if ci {
        c.env("CI", "true");
    }
    let out = c.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of stderr that start with `PHASE: `.
fn phase_lines<'a>(stderr: &'a str, phase: &str) -> Vec<&'a str> {
    let prefix = format!("{phase}: ");
    stderr.lines().filter(|l| l.starts_with(&prefix)).collect()
}

fn assert_no_control_characters(stderr: &str) {
    assert!(
        !stderr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control characters in a log: {stderr:?}"
    );
}

/// A folder of `n` small files.
fn tree(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("dist/js")).expect("mkdir");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("dist/js/chunk-{i}.js")),
            format!("console.log({i});\n").repeat(100),
        )
        .expect("write");
    }
}

#[test]
fn scan_in_a_log_prints_one_summary_line_and_quiet_prints_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    tree(tmp.path(), 40);
    for ci in [false, true] {
        let (code, _, stderr) = cli(tmp.path(), &["scan", "dist", "--format", "json"], ci);
        assert_eq!(code, 0, "{stderr}");
        let lines = phase_lines(&stderr, "scan");
        assert_eq!(lines.len(), 1, "{stderr}");
        let line = lines[0];
        // `scan: 40 files, 65.4 KiB in 0.01 s`
        let bytes = 40 * "console.log(0);\n".len() * 100 + 30 * 100; // 2-digit numbers are longer
        assert!(
            line.starts_with("scan: 40 files, ") && line.ends_with(" s"),
            "{line}"
        );
        assert!(
            line.contains(&vendorscope::progress::human_bytes(bytes as u64)),
            "{line}"
        );
        assert_no_control_characters(&stderr);
    }
    let (code, stdout, stderr) = cli(
        tmp.path(),
        &["scan", "dist", "--format", "json", "--quiet"],
        true,
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("\"schema_version\""), "{stdout}");
    assert_eq!(stderr, "", "--quiet printed on stderr");
}

/// `audit` scans the inventory's artifacts with the same phase; the probe phase counts keys
/// (the demo probes its emulators).
#[test]
fn audit_and_demo_phases_in_a_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    tree(tmp.path(), 3);
    let inventory = "version: 1
organization: Example Shop SAS
vendors:
  - id: braintree
    connector: none
    connector_reason: no read-only probe exists yet
    category: psp
    tier: 2
    keys:
      - id: braintree-api
        secret: { env: BRAINTREE_KEY }
        type: server_side
        purpose: { name: card payments, allowed_capabilities: [payments.write] }
artifacts:
  - dist/
";
    std::fs::write(tmp.path().join("vendors.yaml"), inventory).expect("write");
    let (code, _, stderr) = cli(
        tmp.path(),
        &["audit", "-i", "vendors.yaml", "--format", "json"],
        true,
    );
    assert!(matches!(code, 0 | 1 | 3), "{code}: {stderr}");
    let lines = phase_lines(&stderr, "scan");
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("scan: 3 files, "), "{}", lines[0]);
    assert!(phase_lines(&stderr, "probe").is_empty(), "{stderr}");
    assert_no_control_characters(&stderr);

    let (code, _, stderr) = cli(tmp.path(), &["demo", "--out", "demo"], true);
    assert_eq!(code, 0, "{stderr}");
    let lines = phase_lines(&stderr, "probe");
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("probe: 6 keys in ") && lines[0].ends_with(" s"),
        "{}",
        lines[0]
    );
    assert_no_control_characters(&stderr);
    let (code, _, stderr) = cli(tmp.path(), &["demo", "--out", "demo2", "--quiet"], true);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "", "--quiet printed on stderr");
}

#[test]
fn crawl_in_a_log_prints_one_summary_line() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (page, _cdn, _handle) = rt
        .block_on(DemoSite::start(DemoConfig::default()))
        .expect("demo site");
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, _, stderr) = cli(
        tmp.path(),
        &[
            "scan",
            page.as_str(),
            "--allow-private-addresses",
            "--format",
            "json",
        ],
        false,
    );
    assert!(matches!(code, 0 | 1), "{code}: {stderr}");
    let lines = phase_lines(&stderr, "crawl");
    assert_eq!(lines.len(), 1, "{stderr}");
    // `crawl: 1 pages, 6 assets, 12.3 KiB, 0 errors in 0.05 s`
    let line = lines[0];
    assert!(
        line.contains(" pages, ") && line.contains(" assets, "),
        "{line}"
    );
    assert!(line.contains(", 0 errors in "), "{line}");
    assert!(!line.contains("http"), "no URL in the summary: {line}");
    assert_no_control_characters(&stderr);
    let (_, _, stderr) = cli(
        tmp.path(),
        &[
            "scan",
            page.as_str(),
            "--allow-private-addresses",
            "--format",
            "json",
            "-q",
        ],
        false,
    );
    assert_eq!(stderr, "", "--quiet printed on stderr");
}

/// On a terminal (`script` gives the program one) the bar is drawn and cleared, and no summary
/// line stays; with `CI` set or `TERM=dumb` the same terminal gets the summary line instead.
#[test]
fn a_terminal_gets_a_bar_that_is_cleared() {
    if Command::new("script").arg("--version").output().is_err() {
        // util-linux `script` is on every Debian machine this project runs on.
        panic!("`script` (util-linux) is needed to give the program a terminal");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    tree(tmp.path(), 400);
    let bin = env!("CARGO_BIN_EXE_vendorscope");
    let run = |env: &[(&str, &str)]| -> String {
        let log = tmp.path().join("tty.log");
        let mut c = Command::new("script");
        c.arg("-qec")
            .arg(format!("{bin} scan dist --format json > /dev/null"))
            .arg(&log)
            .current_dir(tmp.path())
            .env(
                "VENDORSCOPE_FINGERPRINT_KEY",
                "progress-test-fingerprint-key",
            )
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env("TERM", "xterm");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("script runs");
        assert!(out.status.success(), "{out:?}");
        std::fs::read_to_string(&log).expect("log")
    };
    let tty = run(&[]);
    assert!(tty.contains("scan: ["), "no bar drawn: {tty:?}");
    assert!(tty.contains("\u{1b}[2K"), "bar not cleared: {tty:?}");
    assert!(
        !tty.contains("scan: 400 files"),
        "summary line on a terminal: {tty:?}"
    );
    for env in [("CI", "true"), ("TERM", "dumb")] {
        let log = run(&[env]);
        assert!(!log.contains("scan: ["), "bar drawn with {env:?}: {log:?}");
        assert!(log.contains("scan: 400 files, "), "{env:?}: {log:?}");
    }
}
