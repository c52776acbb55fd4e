//! Issue 15, "the first hour": each numbered point tested with the commands quoted in the issue
//! (exit codes, exceptions, policy diagnostics, tables, ignored flags, unknown reasons,
//! subcommand help).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vendorscope"));
    c.env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("VENDORSCOPE_FINGERPRINT_KEY", "first-hour-test");
    c
}

/// Runs in `dir` with piped output: (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = bin();
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, &[])
}

fn fixture(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write");
    p
}

/// A Stripe live secret key shape that no detector takes for a placeholder (deterministic).
fn stripe_live_key() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let body: String = (0..96)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect();
    format!("sk_live_51{body}")
}

/// A folder with nothing to find and one with a leaked key (a failing `block` finding).
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "clean/index.html", "<html>nothing here</html>\n");
    write(
        d.path(),
        "dist/app.js",
        &format!("const k = \"{}\";\n", stripe_live_key()),
    );
    d
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ------------------------------------------------------------------ 1. exit codes

#[test]
fn an_output_that_cannot_be_written_exits_2() {
    let d = workspace();
    let w = d.path();
    // Checked before the work starts: nothing is evaluated, nothing printed on stdout.
    let (code, out, err) = run_in(
        w,
        &[
            "scan",
            "clean/",
            "--output",
            "json=/nonexistent/dir/run.json",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(
            "--output json=/nonexistent/dir/run.json: directory /nonexistent/dir does not exist"
        ),
        "{err}"
    );
    // README's CI recipe fails without its artifact.
    let st = Command::new("sh")
        .current_dir(w)
        .env("VENDORSCOPE_FINGERPRINT_KEY", "first-hour-test")
        .arg("-c")
        .arg(format!(
            "{} scan clean/ --output json=/nonexistent/dir/run.json 2>/dev/null || [ $? -ne 2 ]",
            env!("CARGO_BIN_EXE_vendorscope")
        ))
        .status()
        .expect("sh");
    assert!(!st.success());

    // A directory is named as one.
    let (code, _, err) = run_in(w, &["scan", "clean/", "--output", "sarif=clean/"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("names a directory"), "{err}");
    assert!(!err.contains("Not a directory"), "{err}");
    let (code, _, err) = run_in(w, &["scan", "clean/", "--output", "sarif=clean"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("sarif=clean: is a directory"), "{err}");
    let (code, _, err) = run_in(
        w,
        &[
            "scan",
            "clean/",
            "--output",
            "sarif=clean/index.html/x.sarif",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("clean/index.html is not a directory"), "{err}");

    // The gate says 1; the report fails afterwards: 2 wins.
    let (code, _, err) = run_in(w, &["scan", "dist/"], &[]);
    assert_eq!(code, 1, "{err}");
    if cfg!(target_os = "linux") {
        let (code, _, err) = run_in(
            w,
            &[
                "scan",
                "dist/",
                "--output",
                "json=/proc/vendorscope-first-hour.json",
            ],
            &[],
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(
                "--output json=/proc/vendorscope-first-hour.json: cannot write the report"
            ),
            "{err}"
        );
        assert!(!err.contains("cannot render report"), "{err}");
        // Standard output is an output too.
        let full = std::fs::File::create("/dev/full").expect("/dev/full");
        let out = bin()
            .current_dir(w)
            .args(["scan", "dist/"])
            .stdout(Stdio::from(full))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ------------------------------------------------------------------ 2. exceptions

/// The YAML example of README's "Exceptions" section.
fn readme_exceptions_example() -> String {
    let readme = std::fs::read_to_string(fixture("README.md")).expect("README");
    let at = readme
        .find("\n## Exceptions")
        .expect("an Exceptions section");
    let start = readme[at..].find("```yaml").expect("a yaml block") + at + "```yaml".len();
    let end = readme[start..].find("```").expect("block end") + start;
    readme[start..end].to_string()
}

#[test]
fn exceptions_are_documented_checked_and_have_a_schema() {
    let d = workspace();
    let w = d.path();
    // Written the way the old help said: a clear error, not "value does not match".
    write(
        w,
        "exc.yaml",
        "- rule: VKS-EXP-004\n  subject: exposure:exp-2e3cb2247101405b\n  reason: test key\n  approver: alice\n  expires: 2026-09-01\n",
    );
    let (code, _, err) = run_in(w, &["scan", "clean/", "--exceptions", "exc.yaml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "exc.yaml:1:1: error: the exceptions file must be a mapping with `version`, `kind`"
        ),
        "{err}"
    );
    assert!(!err.contains("does not match the expected format"), "{err}");

    // The help says what the file holds.
    let (_, help, _) = run(&["audit", "--help"]);
    let help = collapse(&help);
    assert!(!help.contains("rule, subject, reason"), "{help}");
    assert!(
        help.contains(
            "`match` (vendor, key, fingerprint, location), `reason`, `approver` and `expires`"
        ),
        "{help}"
    );

    // README's example is valid, by the command and by the schema.
    let example = readme_exceptions_example();
    write(w, "readme.yaml", &example);
    let (code, out, err) = run_in(w, &["exceptions", "check", "readme.yaml"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("readme.yaml: ok — 1 exception(s)"), "{out}");
    let (code, schema, _) = run(&["exceptions", "schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let doc: serde_json::Value = vendorscope::yaml::from_str(&example).expect("yaml");
    assert!(validator.is_valid(&doc));
    let old: serde_json::Value =
        vendorscope::yaml::from_str(&std::fs::read_to_string(w.join("exc.yaml")).expect("read"))
            .expect("yaml");
    assert!(!validator.is_valid(&old));

    // Diagnostics as good as the inventory's: position, field, did-you-mean, snippet.
    write(
        w,
        "typo.yaml",
        "version: 1\nkind: Exceptions\nexceptions:\n  - rule: vks-exp-004\n    match: {vendor: stripe, locaton: \"dist/**\"}\n    reason: test key\n    approver: alice\n    expires: 2027-02-30\n",
    );
    let (code, _, err) = run_in(w, &["exceptions", "check", "typo.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "typo.yaml:5:29: error: unknown field `locaton` in exception match; did you mean `location`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("5 |     match: {vendor: stripe, locaton:"),
        "{err}"
    );
    assert!(
        err.contains("typo.yaml:8:14: error: `expires` is not a valid ISO 8601 date"),
        "{err}"
    );
    // The same file through `scan --exceptions`: the same diagnostics.
    let (code, _, err2) = run_in(w, &["scan", "clean/", "--exceptions", "typo.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(err2.contains("did you mean `location`?"), "{err2}");
    // Once the structure is right, rule ids are checked against the policy set.
    write(
        w,
        "rule.yaml",
        "version: 1\nkind: Exceptions\nexceptions:\n  - rule: vks-exp-004\n    match: {vendor: stripe}\n    reason: test key\n    approver: alice\n    expires: 2027-02-01\n",
    );
    let (code, _, err) = run_in(w, &["exceptions", "check", "rule.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("rule.yaml:4:11: error: exception vks-exp-004#1: unknown rule `vks-exp-004`; did you mean `VKS-EXP-004`?"),
        "{err}"
    );
}

// ------------------------------------------------------------------ 3. policy diagnostics

const BADFIELD: &str = "version: 1
kind: PolicySet
metadata:
  name: org
rules:
  - id: ORG-KEY-001
    title: Keys rotated
    severty: high
    controls: [ISO27001:2022/A.5.17]
    scope:
      subject: key
    require: key.created != ''
";

#[test]
fn policy_files_get_field_names_suggestions_and_cel_snippets() {
    let d = tempfile::tempdir().expect("tempdir");
    let w = d.path();
    write(w, "badfield.yaml", BADFIELD);
    let (code, _, err) = run_in(w, &["policy", "lint", "badfield.yaml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "badfield.yaml:8:5: error: unknown field `severty` in rule; did you mean `severity`?\n  |\n8 |     severty: high\n  |     ^^^^^^^\n"
        ),
        "{err}"
    );
    assert!(!err.contains("does not match the expected format"), "{err}");
    // A value outside the set: named, with the nearest.
    write(
        w,
        "enforce.yaml",
        &BADFIELD.replace("severty: high", "severity: high\n    enforcement: blok"),
    );
    let (code, _, err) = run_in(w, &["policy", "lint", "enforce.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("enforce.yaml:9:18: error: unknown enforcement `blok`; expected one of `block`, `warn`, `report`; did you mean `block`?"),
        "{err}"
    );
    // CEL: the snippet shows the expression with the caret under the bad field.
    write(
        w,
        "cel.yaml",
        &BADFIELD
            .replace("severty: high", "severity: high")
            .replace("key.created != ''", "key.statu == 'active'"),
    );
    let (code, _, err) = run_in(w, &["policy", "lint", "cel.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cel.yaml:12:18: error: require: `key.statu` is not a fact"),
        "{err}"
    );
    assert!(err.contains("did you mean `key.status`?"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("12 | "))
        .expect("a snippet of line 12");
    let src = lines[at];
    let caret = lines[at + 1];
    assert_eq!(src, "12 |     require: key.statu == 'active'");
    assert_eq!(
        caret.find('^'),
        src.find("statu"),
        "caret under `statu`:\n{src}\n{caret}"
    );
    assert_eq!(caret.matches('^').count(), "statu".len());
}

// ------------------------------------------------------------------ one JSON diagnostics format

fn diagnostics(stdout: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON on stdout");
    for d in v["diagnostics"].as_array().expect("diagnostics") {
        let keys: Vec<&str> = d
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for k in ["file", "line", "column", "level", "code", "message"] {
            assert!(keys.contains(&k), "{k} missing in {d}");
        }
    }
    v
}

#[test]
fn every_validating_command_prints_the_same_json_diagnostics() {
    let d = tempfile::tempdir().expect("tempdir");
    let w = d.path();
    write(w, "badfield.yaml", BADFIELD);
    write(
        w,
        "exc.yaml",
        "version: 1\nkind: Exceptions\nexceptions:\n  - rule: VKS-EXP-004\n    match: {locaton: x}\n    reason: r\n    approver: a\n    expires: 2027-01-01\n",
    );
    let inv = fixture("fixtures/inventories/unknown-field.yaml");
    for (args, code) in [
        (vec!["inventory", "check", inv.as_str()], "unknown-field"),
        (vec!["policy", "lint", "badfield.yaml"], "unknown-field"),
        (vec!["exceptions", "check", "exc.yaml"], "unknown-field"),
    ] {
        let mut a = args.clone();
        a.extend(["--format", "json"]);
        let (rc, out, err) = run_in(w, &a, &[]);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(
            err.is_empty(),
            "{args:?}: the problems are in the JSON only: {err}"
        );
        let v = diagnostics(&out);
        assert_eq!(v["valid"], false);
        assert!(v["errors"].as_u64().unwrap_or(0) >= 1);
        assert!(
            v["diagnostics"]
                .as_array()
                .expect("list")
                .iter()
                .any(|d| d["code"] == code
                    && d["level"] == "error"
                    && d["line"].as_u64() > Some(0)),
            "{args:?}: {out}"
        );
    }
    // Valid: a summary, and warnings as diagnostics.
    let (rc, out, _) = run(&[
        "inventory",
        "check",
        &fixture("fixtures/inventories/shop-2020.yaml"),
        "--format",
        "json",
    ]);
    assert_eq!(rc, 0);
    let v = diagnostics(&out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["summary"]["vendors"], 4);
    assert!(
        v["diagnostics"]
            .as_array()
            .expect("list")
            .iter()
            .all(|d| d["level"] == "warning" && d["code"] == "secret-source")
    );
}

// ------------------------------------------------------------------ 4. tables

/// Words a table must never split: fingerprints, URLs, key and exposure ids of the run.
fn tokens(run: &serde_json::Value) -> Vec<String> {
    let mut t = vec![];
    for k in run["keys"].as_array().into_iter().flatten() {
        t.extend(k["fingerprint"].as_str().map(String::from));
        t.extend(k["id"].as_str().map(String::from));
    }
    for e in run["exposures"].as_array().into_iter().flatten() {
        t.extend(e["location"]["url"].as_str().map(String::from));
        t.extend(e["location"]["path"].as_str().map(String::from));
        t.extend(e["evidence"]["redacted"].as_str().map(String::from));
    }
    for f in run["findings"].as_array().into_iter().flatten() {
        t.extend(f["subject"]["id"].as_str().map(String::from));
        t.extend(f["rule"].as_str().map(String::from));
    }
    t.sort();
    t.dedup();
    t
}

fn max_width(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn tables_fit_the_width_and_never_split_a_token() {
    let path = fixture("fixtures/runs/demo-run.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let words = tokens(&doc);
    assert!(words.iter().any(|w| w.starts_with("https://")));
    assert!(words.iter().any(|w| w.starts_with("hmac256:")));
    for (name, width) in [
        ("80", Some(80)),
        ("100", Some(100)),
        ("200", Some(200)),
        ("piped", None),
    ] {
        let cols = width.map(|w: usize| w.to_string());
        let env: Vec<(&str, &str)> = cols.iter().map(|c| ("COLUMNS", c.as_str())).collect();
        let (code, out, err) = run_in(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["report", &path],
            &env,
        );
        assert_eq!(code, 0, "{err}");
        let limit = width.unwrap_or(100);
        assert!(
            max_width(&out) <= limit,
            "{name}: {} > {limit}\n{out}",
            max_width(&out)
        );
        for w in &words {
            assert!(
                out.contains(w.as_str()),
                "{name}: `{w}` is split or missing:\n{out}"
            );
        }
        insta::assert_snapshot!(format!("report_table_{name}"), out);
    }
    // The wide tables of the policy commands too.
    for args in [
        vec!["policy", "list"],
        vec!["policy", "capabilities"],
        vec!["policy", "controls"],
    ] {
        for (cols, limit) in [(None, 100), (Some("80"), 80)] {
            let env: Vec<(&str, &str)> = cols.iter().map(|c| ("COLUMNS", *c)).collect();
            let (code, out, _) = run_in(Path::new(env!("CARGO_MANIFEST_DIR")), &args, &env);
            assert_eq!(code, 0);
            assert!(
                max_width(&out) <= limit,
                "{args:?} at {limit}: {}",
                max_width(&out)
            );
        }
    }
    let (_, list, _) = run(&["policy", "list"]);
    assert!(list.contains("VKS-EXP-002"), "{list}");
}

// ------------------------------------------------------------------ 5. flags never ignored

#[test]
fn format_and_output_either_work_or_are_refused() {
    let inv = fixture("fixtures/inventories/shop-2020.yaml");
    for args in [
        vec!["inventory", "check", inv.as_str(), "--format", "sarif"],
        vec!["policy", "lint", inv.as_str(), "--format", "html"],
        vec!["policy", "list", "--format", "junit"],
        vec!["emulate", "--format", "sarif"],
        vec!["inventory", "schema", "--format", "table"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("does not apply"), "{args:?}: {err}");
    }
    let d = tempfile::tempdir().expect("tempdir");
    let target = d.path().join("out.json");
    let (code, _, err) = run(&[
        "inventory",
        "check",
        &inv,
        "--output",
        &format!("json={}", target.display()),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("prints to stdout only"), "{err}");
    assert!(!target.exists());

    let (code, out, _) = run(&["policy", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["id"] == "VKS-EXP-002")
    );
    let (code, out, _) = run(&["policy", "explain", "VKS-EXP-002", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["id"], "VKS-EXP-002");
    let (code, out, _) = run(&["policy", "controls", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ids: Vec<&str> = v["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter_map(|c| c["control"].as_str())
        .collect();
    let pos = |id: &str| ids.iter().position(|c| *c == id);
    if let (Some(a), Some(b)) = (pos("A.5.9"), pos("A.5.36")) {
        assert!(a < b, "natural order: {ids:?}");
    }
}

#[test]
fn report_previous_and_diff_json() {
    let d = tempfile::tempdir().expect("tempdir");
    let w = d.path();
    let cur = fixture("fixtures/runs/demo-run.json");
    let mut prev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cur).expect("read")).expect("json");
    let findings = prev["findings"].as_array_mut().expect("findings");
    let dropped = findings.remove(0);
    findings[0]["message"] = "an older message".into();
    write(w, "prev.json", &serde_json::to_string(&prev).expect("json"));

    let (code, out, err) = run_in(w, &["report", &cur, "--previous", "prev.json"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Since the previous run\n1 new, 0 resolved, 1 changed finding(s)"),
        "{out}"
    );
    assert!(out.contains(dropped["rule"].as_str().expect("rule")));
    let (code, out, _) = run_in(
        w,
        &[
            "report",
            &cur,
            "--previous",
            "prev.json",
            "--format",
            "markdown",
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("## Since the previous run"), "{out}");
    let (code, _, err) = run_in(
        w,
        &[
            "report",
            &cur,
            "--previous",
            "prev.json",
            "--format",
            "sarif",
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        err.contains("--previous: sarif render(s) the run alone"),
        "{err}"
    );

    let (code, out, err) = run_in(w, &["diff", "prev.json", &cur, "--format", "json"], &[]);
    assert!(code == 0 || code == 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["new"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["new"][0]["fingerprint"], dropped["fingerprint"]);
    let changed = &v["changed"][0];
    assert_eq!(changed["before"]["message"], "an older message");
    assert_eq!(changed["fingerprint"], changed["after"]["fingerprint"]);
    let (code, _, err) = run_in(w, &["diff", "prev.json", &cur, "--format", "sarif"], &[]);
    assert_eq!(code, 2, "{err}");
}

// ------------------------------------------------------------------ 7. unknown reasons, order

#[test]
fn unknown_reasons_name_the_cause_and_the_order_is_stable() {
    let d = tempfile::tempdir().expect("tempdir");
    let w = d.path();
    write(
        w,
        "inv.yaml",
        "version: 1\norganization: Own\nvendors:\n  - id: stripe\n    connector: stripe\n    category: psp\n    tier: 1\n    keys:\n      - id: stripe-secret\n        secret: { env: FIRST_HOUR_UNSET_KEY }\n        type: server_side\n        purpose: { name: checkout, allowed_capabilities: [payments.write] }\n",
    );
    let args = ["audit", "-i", "inv.yaml", "--offline", "--format", "json"];
    let (code, out, err) = run_in(w, &args, &[]);
    assert_eq!(code, 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    let rotation = findings
        .iter()
        .find(|f| f["rule"] == "VKS-KEY-008")
        .expect("the rotation rule");
    let reason = rotation["reason"].as_str().expect("a reason");
    assert_eq!(
        reason,
        "`created` is missing from the inventory: declare it on key `stripe-secret`"
    );
    // Observed facts say the key was not probed, in the one status vocabulary.
    let caps = findings
        .iter()
        .find(|f| f["rule"] == "VKS-KEY-001")
        .expect("the capability rule");
    assert!(
        caps["reason"]
            .as_str()
            .is_some_and(|r| r.contains("key status not_probed(offline)")),
        "{caps}"
    );
    let (_, table, _) = run_in(w, &["audit", "-i", "inv.yaml", "--offline"], &[]);
    assert!(table.contains("not_probed(offline)"), "{table}");
    assert!(!table.contains("not probed"), "{table}");

    // Severity, then rule, then subject; the same every run.
    let order = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap_or("").to_string(),
                    f["subject"]["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let (_, again, _) = run_in(w, &args, &[]);
    let again: serde_json::Value = serde_json::from_str(&again).expect("json");
    assert_eq!(order(&v), order(&again));
    let run: vendorscope::run::Run = serde_json::from_str(&out).expect("run");
    assert!(
        run.findings
            .windows(2)
            .all(|p| vendorscope::run::finding_order(&p[0], &p[1]).is_le())
    );
}

// ------------------------------------------------------------------ 8. help, probe, explain, man

/// `vendorscope emulate --format json`, killed when dropped.
struct Emulators {
    child: Child,
    urls: serde_json::Value,
}

impl Emulators {
    fn start(config: &Path) -> Self {
        let mut child = bin()
            .args(["emulate", "--format", "json", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("emulate");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("one line");
        let urls = serde_json::from_str(&line).expect("emulate prints one JSON line");
        Emulators { child, urls }
    }
}

impl Drop for Emulators {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn probe_lists_vendors_and_exits_on_the_one_mapping() {
    let (code, help, _) = run(&["probe", "--help"]);
    assert_eq!(code, 0);
    assert!(
        help.contains("[possible values: shopify, stripe, adyen, iterable]"),
        "{help}"
    );
    assert!(help.contains("Exit codes:"), "{help}");
    let (code, _, err) = run(&["probe", "--vendor", "stripes", "--key-env", "K"]);
    assert_eq!(code, 2);
    assert!(err.contains("stripe"), "{err}");

    let d = tempfile::tempdir().expect("tempdir");
    let revoked = format!("sk_test_51DemoKey{:046}", 777);
    let cfg = write(
        d.path(),
        "emu.yaml",
        &format!("- {{key: {revoked}, vendor: stripe, state: revoked}}\n"),
    );
    let emu = Emulators::start(&cfg);
    let stripe = emu.urls["vendors"]["stripe"]
        .as_str()
        .expect("the stripe emulator's URL")
        .to_string();
    let probe = |key: &str, endpoint: &str| {
        run_in(
            d.path(),
            &[
                "probe",
                "--vendor",
                "stripe",
                "--key-env",
                "K",
                "--endpoint",
                endpoint,
                "--format",
                "json",
            ],
            &[("K", key)],
        )
    };
    let active = format!("sk_test_51DemoKey{:046}", 1);
    let (code, out, err) = probe(&active, &stripe);
    assert_eq!(code, 0, "{out}{err}");
    let p: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(p["status"], "active");
    for k in ["vendor", "capabilities", "granted", "calls"] {
        assert!(p.get(k).is_some(), "{k} in {p}");
    }
    let (code, out, _) = probe(&format!("sk_test_51DemoKey{:046}", 999), &stripe);
    assert_eq!(code, 1, "an invalid key: {out}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).expect("json")["status"],
        "invalid"
    );
    let (code, out, _) = probe(&revoked, &stripe);
    assert_eq!(code, 1, "a revoked key: {out}");
    drop(emu);
    // Nobody listening: inconclusive.
    let (code, out, _) = probe(&active, "http://127.0.0.1:9");
    assert_eq!(code, 3, "inconclusive: {out}");
}

#[test]
fn explain_man_pages_and_command_order() {
    let (code, out, _) = run(&["policy", "explain", "vks-exp-002"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("VKS-EXP-002 — "), "{out}");
    let (code, _, err) = run(&["policy", "explain", "VKS-EXP-02"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `VKS-EXP-002`?"), "{err}");

    let (code, page, _) = run(&["man", "probe"]);
    assert_eq!(code, 0);
    assert!(page.contains("vendorscope\\-probe"), "{page}");
    assert!(page.contains("key\\-env"), "{page}");
    let (code, page, _) = run(&["man", "policy", "lint"]);
    assert_eq!(code, 0);
    assert!(page.contains("deny\\-weakened\\-rules"), "{page}");
    let (code, _, err) = run(&["man", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("policy lint"), "{err}");
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("man");
    let (code, _, err) = run(&["man", "--out-dir", &dir.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "vendorscope.1",
        "vendorscope-audit.1",
        "vendorscope-scan.1",
        "vendorscope-probe.1",
        "vendorscope-policy-lint.1",
        "vendorscope-exceptions-check.1",
    ] {
        assert!(dir.join(page).is_file(), "{page}");
    }

    // Subcommands in the order a newcomer uses them.
    let (_, help, _) = run(&["--help"]);
    let commands = &help[help.find("Commands:").expect("commands")..];
    let pos = |c: &str| {
        commands
            .find(&format!("\n  {c} "))
            .unwrap_or_else(|| panic!("{c} in\n{commands}"))
    };
    let order = [
        "demo",
        "audit",
        "scan",
        "report",
        "diff",
        "merge",
        "probe",
        "inventory",
        "policy",
        "exceptions",
        "emulate",
        "completions",
        "man",
    ];
    assert!(
        order.windows(2).all(|p| pos(p[0]) < pos(p[1])),
        "{commands}"
    );
}
