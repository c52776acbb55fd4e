//! `vendorscope scan --git`: keys in a repository's history, built here with the `git` CLI
//! (fixed identities and dates). Every key value is synthetic.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const FP_KEY: &str = "test-fingerprint-key-0123456789abcdef";

// Synthetic values, assembled so this file does not itself look like a leak.
fn key(n: usize) -> String {
    let bodies = [
        "p5B1Id9Z850kEnydx9qWCA79",
        "zKG5mSoyPstUeC99enq522wj",
        "ISjs8JHUdKF0j7elKPoh3pKM",
        "Q7wm2Lx9TfB4nV6cR8sK1pZd",
    ];
    format!("{}{}", "sk_live_", bodies[n])
}

/// A repository in a temp dir; every commit is one day after the previous one.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    clock: Cell<i64>,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("repo");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let r = Repo {
            _tmp: tmp,
            dir,
            clock: Cell::new(1_700_000_000),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("@{} +0200", self.clock.get());
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Dev")
            .env("GIT_AUTHOR_EMAIL", "dev@example.com")
            .env("GIT_COMMITTER_NAME", "Dev")
            .env("GIT_COMMITTER_EMAIL", "dev@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Commits everything; returns the commit id.
    fn commit(&self, msg: &str) -> String {
        self.clock.set(self.clock.get() + 86_400);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn path(&self) -> &str {
        self.dir.to_str().expect("utf8")
    }
}

fn scan(repo: &Repo, args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("vendorscope")
        .expect("binary")
        .env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
        .env("VENDORSCOPE_HOME", repo._tmp.path())
        .env("NO_COLOR", "1")
        .arg("scan")
        .args(args)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        stdout + &String::from_utf8_lossy(&out.stderr),
    )
}

fn scan_json(repo: &Repo, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--git", repo.path(), "--format", "json"];
    args.extend_from_slice(extra);
    scan(repo, &args)
}

fn exposures(v: &Value) -> Vec<Value> {
    v["exposures"].as_array().cloned().unwrap_or_default()
}

/// The exposure of `secret` (by its redacted tail).
fn of<'a>(ex: &'a [Value], secret: &str) -> Option<&'a Value> {
    let tail = &secret[secret.len() - 4..];
    ex.iter().find(|e| {
        e["evidence"]["redacted"]
            .as_str()
            .is_some_and(|r| r.ends_with(tail))
    })
}

fn commit_of(e: &Value) -> &str {
    e["location"]["git"]["commit"]["id"].as_str().unwrap_or("")
}

#[test]
fn key_added_then_deleted_is_found_in_the_commit_that_introduced_it() {
    let r = Repo::new();
    r.write("README.md", "# shop\n");
    r.commit("init");
    r.write(
        "src/config.js",
        &format!("export const cfg = {{\n  stripe: '{}',\n}};\n", key(0)),
    );
    let added = r.commit("add payment config");
    let mut carriers = vec![];
    for i in 0..4 {
        r.write("src/app.js", &format!("console.log({i});\n"));
        carriers.push(r.commit(&format!("app {i}")));
    }
    // The key stays while the file changes: a new blob, the same exposure.
    r.write(
        "src/config.js",
        &format!(
            "export const cfg = {{\n  stripe: '{}',\n  v: 2,\n}};\n",
            key(0)
        ),
    );
    carriers.push(r.commit("config v2"));
    r.git(&["rm", "-q", "src/config.js"]);
    let removed = r.commit("remove the key");
    r.write("src/app.js", "console.log('after');\n");
    r.commit("after");

    let (code, v, text) = scan_json(&r, &["--max-locations", "3"]);
    assert_eq!(code, 1, "{text}");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{text}");
    let e = &ex[0];
    assert_eq!(e["source"], "history");
    assert_eq!(e["rule"], "stripe.secret_key");
    assert_eq!(e["location"]["path"], "src/config.js");
    assert_eq!(e["location"]["line"], 2);
    assert_eq!(e["location"]["column"], 12);
    let g = &e["location"]["git"];
    assert_eq!(g["repository"], r.path());
    assert_eq!(commit_of(e), added);
    assert_eq!(
        g["commit"]["short"],
        r.git(&["rev-parse", "--short", &added])
    );
    assert_eq!(g["commit"]["author_date"], "2023-11-17T00:13:20+02:00");
    // Later commits still holding it: the first --max-locations listed, all counted; the one
    // that removed it is not among them.
    assert_eq!(g["later_total"], carriers.len() as u64, "{g}");
    let listed: Vec<&str> = g["later_commits"]
        .as_array()
        .expect("later")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, carriers[..3].to_vec());
    assert!(!listed.contains(&removed.as_str()));
    assert!(!text.contains(&key(0)), "raw key in the output");

    // People-facing formats name the commit.
    let short = g["commit"]["short"].as_str().expect("short").to_string();
    let (_, _, table) = scan(&r, &["--git", r.path(), "--color", "never"]);
    assert!(
        table.contains(&format!("introduced in commit {short}")),
        "{table}"
    );
    let sarif = r._tmp.path().join("out.sarif");
    let html = r._tmp.path().join("out.html");
    let (_, _, _) = scan(
        &r,
        &[
            "--git",
            r.path(),
            "--quiet",
            "--output",
            &format!("sarif={}", sarif.display()),
            "--output",
            &format!("html={}", html.display()),
        ],
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("sarif")).expect("json");
    let res = &s["runs"][0]["results"][0];
    assert!(
        res["message"]["text"]
            .as_str()
            .expect("text")
            .contains(&format!("Introduced in commit {short}")),
        "{res}"
    );
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/config.js"
    );
    assert_eq!(res["properties"]["git"]["commit"]["id"], added.as_str());
    let h = std::fs::read_to_string(&html).expect("html");
    assert!(h.contains(&format!("introduced in commit {short}")), "html");
}

#[test]
fn inventory_attribution_applies_to_history() {
    let r = Repo::new();
    r.write(".env", &format!("STRIPE_KEY={}\n", key(1)));
    r.commit("oops");
    r.git(&["rm", "-q", ".env"]);
    r.commit("remove");
    let inv = r._tmp.path().join("vendors.yaml");
    std::fs::write(
        &inv,
        "version: 1\norganization: Example\nvendors:\n  - id: stripe-main\n    connector: stripe\n    category: psp\n    tier: 1\n    keys:\n      - id: stripe-server\n        secret: { env: TEST_STRIPE_KEY }\n        type: server_side\n",
    )
    .expect("inv");
    let out = Command::cargo_bin("vendorscope")
        .expect("binary")
        .env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
        .env("VENDORSCOPE_HOME", r._tmp.path())
        .env("TEST_STRIPE_KEY", key(1))
        .args(["scan", "--git", r.path(), "--inventory"])
        .arg(&inv)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{v}");
    assert_eq!(ex[0]["inventory_key"], "stripe-server");
    assert_eq!(ex[0]["location"]["path"], ".env");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn since_scans_only_the_new_commits() {
    let r = Repo::new();
    r.write("a.js", &format!("var a='{}';\n", key(0)));
    r.commit("old key");
    r.write("b.js", "var b=1;\n");
    let base = r.commit("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("c.js", &format!("var c='{}';\n", key(1)));
    let new = r.commit("new key");
    r.write("b.js", "var b=2;\n");
    r.commit("more");

    let (code, v, text) = scan_json(&r, &["--since", "main"]);
    assert_eq!(code, 1, "{text}");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{text}");
    assert!(of(&ex, &key(1)).is_some());
    assert_eq!(commit_of(&ex[0]), new);
    assert_eq!(v["history"]["commits"], 2);
    assert_eq!(v["history"]["since"], base.as_str());
    assert_eq!(v["inputs"]["options"]["since"], "main");
    // Without --since: both.
    let (_, v, _) = scan_json(&r, &[]);
    assert_eq!(exposures(&v).len(), 2);
    assert_eq!(v["history"]["commits"], 4);
    // Nothing new: clean.
    let (code, v, text) = scan_json(&r, &["--since", "feature"]);
    assert_eq!(code, 0, "{text}");
    assert!(exposures(&v).is_empty());
    assert_eq!(v["history"]["commits"], 0);
}

#[test]
fn a_blob_in_many_commits_is_scanned_once() {
    let r = Repo::new();
    let with_key = format!("module.exports = '{}';\n", key(2));
    r.write("keys.js", &with_key);
    r.commit("one");
    r.write("keys.js", "module.exports = null;\n");
    r.commit("two");
    // The same content again, at the old path and at two new ones, on two branches.
    r.write("keys.js", &with_key);
    r.commit("revert");
    r.write("copy/keys.js", &with_key);
    r.commit("copy");
    r.git(&["checkout", "-q", "-b", "side", "HEAD~2"]);
    r.write("other/keys.js", &with_key);
    r.commit("side copy");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-edit", "side"]);
    for i in 0..5 {
        r.write("noise.txt", &format!("{i}\n"));
        r.commit(&format!("noise {i}"));
    }
    let (_, v, text) = scan_json(&r, &[]);
    let blobs = r
        .git(&["cat-file", "--batch-all-objects", "--batch-check"])
        .lines()
        .filter(|l| l.contains(" blob "))
        .count() as u64;
    let h = &v["history"];
    assert_eq!(h["blobs_scanned"], blobs, "{text}");
    // The key blob was met in 4 commits (added, reverted to, copied, copied on the side).
    assert!(h["blob_versions"].as_u64().expect("n") >= blobs + 3, "{h}");
    // Scanned once, attributed to its first commit and path; its other paths are the
    // later commits' paths.
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{text}");
    assert_eq!(ex[0]["location"]["path"], "keys.js");
    let later = ex[0]["location"]["git"]["later_commits"]
        .as_array()
        .expect("later");
    assert!(
        later
            .iter()
            .any(|c| c["path"] == "copy/keys.js" || c["path"] == "other/keys.js"),
        "{later:?}"
    );
}

#[test]
fn branches_tags_and_detached_history_are_covered() {
    let r = Repo::new();
    r.write("index.html", "<html></html>\n");
    r.commit("init");
    // Only on a branch that is not checked out.
    r.git(&["checkout", "-q", "-b", "experiment"]);
    r.write("exp.js", &format!("k='{}'\n", key(0)));
    let on_branch = r.commit("experiment");
    r.git(&["checkout", "-q", "main"]);
    // Only in a commit that an annotated tag holds (no branch).
    r.git(&["checkout", "-q", "--detach"]);
    r.write("release.js", &format!("k='{}'\n", key(1)));
    let tagged = r.commit("release build");
    r.git(&["tag", "-a", "v1", "-m", "v1"]);
    r.git(&["checkout", "-q", "main"]);
    // Only under the detached HEAD.
    r.git(&["checkout", "-q", "--detach"]);
    r.write("head.js", &format!("k='{}'\n", key(2)));
    let detached = r.commit("detached");

    let (code, v, text) = scan_json(&r, &[]);
    assert_eq!(code, 1, "{text}");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 3, "{text}");
    for (n, c) in [(0, &on_branch), (1, &tagged), (2, &detached)] {
        let e = of(&ex, &key(n)).unwrap_or_else(|| panic!("key {n} missing: {text}"));
        assert_eq!(commit_of(e), c.as_str());
    }
}

#[test]
fn staged_changes_are_covered_and_the_working_tree_is_not() {
    let r = Repo::new();
    r.write("app.js", "var x=1;\n");
    r.commit("init");
    r.write("app.js", &format!("var x='{}';\n", key(3)));
    r.git(&["add", "app.js"]);
    // Not staged: the working tree is plain `scan PATH`'s job.
    r.write("draft.js", &format!("var y='{}';\n", key(0)));
    let (code, v, text) = scan_json(&r, &[]);
    assert_eq!(code, 1, "{text}");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{text}");
    let e = of(&ex, &key(3)).expect("staged key");
    assert_eq!(e["location"]["git"]["staged"], true);
    assert!(e["location"]["git"]["commit"].is_null());
    assert_eq!(v["history"]["staged_blobs"], 1);
    // Once committed, it is the commit's.
    let c = r.commit("commit it");
    let (_, v, _) = scan_json(&r, &[]);
    let ex = exposures(&v);
    assert_eq!(commit_of(&ex[0]), c);
    assert_eq!(v["history"]["staged_blobs"], 0);
}

#[test]
fn repository_problems_are_configuration_errors() {
    let r = Repo::new();
    // Not a repository.
    let plain = r._tmp.path().join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let (code, _, text) = scan(&r, &["--git", plain.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not a git repository"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // A --since that does not resolve.
    r.write("a.txt", "a\n");
    r.commit("a");
    let (code, _, text) = scan(&r, &["--git", r.path(), "--since", "no-such-branch"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--since no-such-branch") && text.contains("no such revision"),
        "{text}"
    );
    // --since needs --git.
    let (code, _, text) = scan(&r, &[r.path(), "--since", "main"]);
    assert_eq!(code, 2, "{text}");
    // An object that cannot be read: the blob of b.txt is gone.
    r.write("b.txt", "b\n");
    r.commit("b");
    let blob = r.git(&["rev-parse", "HEAD:b.txt"]);
    let obj = r.dir.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    std::fs::remove_file(&obj).expect("remove object");
    let (code, _, text) = scan(&r, &["--git", r.path()]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(&format!("cannot read blob {blob}")) && text.contains("b.txt"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn blobs_over_the_size_limit_are_reported_not_scanned() {
    let r = Repo::new();
    r.write("small.js", &format!("k='{}'\n", key(0)));
    r.commit("small");
    let path: &Path = &r.dir.join("big.txt");
    // 65 MiB of text: over the 64 MiB member limit.
    std::fs::write(path, "x".repeat(65 << 20)).expect("big");
    r.commit("big");
    let (code, v, text) = scan_json(&r, &[]);
    assert_eq!(v["history"]["skipped_large"], 1, "{text}");
    let err = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|e| e["stage"] == "history")
        .expect("history error");
    assert!(
        err["subject"]
            .as_str()
            .expect("subject")
            .ends_with(":big.txt")
            && err["message"]
                .as_str()
                .expect("msg")
                .contains("exceeds the 64 MiB limit"),
        "{err}"
    );
    assert_eq!(exposures(&v).len(), 1);
    // The key is found; the unscanned blob keeps the gate from passing as clean either way.
    assert_eq!(code, 1, "{text}");
}
