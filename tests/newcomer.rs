//! Issue 15, the newcomer's path end to end in a temp dir: `demo`, the next commands it prints
//! (its emulators restarted from the config it wrote, the demo inventory audited against them),
//! `init`, `inventory check` of the template, `audit --offline` with a `vendorscope.yaml`
//! discovered from a subfolder, a report; each exit code as documented, and no warning the user
//! did not cause. Then the configuration file: precedence, provenance, diagnostics,
//! `--no-config` and weakening.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vendorscope"));
    c.env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("STRIPE_SECRET_KEY")
        .env("VENDORSCOPE_FINGERPRINT_KEY", "newcomer-test");
    c
}

/// stderr without the one summary line per long phase (`probe: 6 keys in 1.20 s`) that a run
/// prints where stderr is not a terminal: what is left is a warning or an error.
fn warnings(err: &str) -> String {
    err.lines()
        .filter(|l| {
            let phase = ["probe: ", "scan: ", "crawl: "]
                .iter()
                .any(|p| l.starts_with(p));
            !(phase && (l.ends_with(" s") || l.ends_with(" ms")) && l.contains(" in "))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs in `dir`: (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_env(dir, args, &[])
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
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

/// A temp folder that is a repository root (configuration discovery stops there).
fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let ok = Command::new("git")
        .args(["init", "-q", "."])
        .current_dir(d.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        std::fs::create_dir_all(d.path().join(".git")).expect("mkdir .git");
    }
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write");
    p
}

/// A printed command line (`  vendorscope audit …`) as arguments, without `vendorscope`.
fn printed(stderr: &str, start: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("`{start}` not printed in:\n{stderr}"));
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// A background `vendorscope emulate`, killed when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_newcomer_path_from_the_demo_to_an_own_audit() {
    let d = repo();
    let root = d.path();

    // 1. The demo: exit 0 (its findings are the point), files git-ignored, next commands.
    let (code, _, err) = run_in(root, &["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let demo = root.join("vendorscope-demo");
    assert_eq!(
        std::fs::read_to_string(demo.join(".gitignore"))
            .expect(".gitignore")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        ["*"]
    );
    if root.join(".git/HEAD").exists() {
        let st = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all"])
            .current_dir(root)
            .output()
            .expect("git status");
        let st = String::from_utf8_lossy(&st.stdout);
        assert!(
            !st.contains("vendorscope-demo"),
            "git add . would pick up: {st}"
        );
    }
    let emulate = printed(&err, "vendorscope emulate");
    let audit = printed(&err, "vendorscope audit");
    assert_eq!(emulate[..2], ["emulate", "--config"], "{emulate:?}");
    printed(&err, "vendorscope init");
    printed(&err, "vendorscope inventory check");

    // The step after the demo without its emulators' opt-in: one clear error, exit 2.
    let (code, out, err2) = run_in(root, &["audit", "-i", "vendorscope-demo/inventory.yaml"]);
    assert_eq!(code, 2, "{out}{err2}");
    assert_eq!(err2.lines().count(), 1, "{err2}");
    assert!(err2.contains("--allow-private-addresses"), "{err2}");
    assert!(out.is_empty(), "{out}");
    let (code, out, err2) = run_in(
        root,
        &[
            "audit",
            "-i",
            "vendorscope-demo/inventory.yaml",
            "--allow-private-addresses",
        ],
    );
    assert_eq!(code, 2, "{out}{err2}");
    assert_eq!(err2.lines().count(), 1, "{err2}");
    assert!(err2.contains("--allow-endpoint"), "{err2}");
    assert!(
        err2.contains("stripe/stripe-secret → http://127.0.0.1:"),
        "{err2}"
    );

    // 2. The printed commands: the emulators again (same ports), then the audit against them.
    let mut child = bin()
        .current_dir(root)
        .args(&emulate)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulate");
    let stdout = child.stdout.take().expect("stdout");
    let _emulators = Background(child);
    let mut started = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("line");
        started.push_str(&line);
        started.push('\n');
        if line.contains("Ctrl-C stops") {
            break;
        }
    }
    for a in audit.iter().filter(|a| a.starts_with("127.0.0.1:")) {
        assert!(started.contains(&format!("http://{a}")), "{a} in {started}");
    }
    let args: Vec<&str> = audit.iter().map(String::as_str).collect();
    let (code, out, err) = run_in(root, &args);
    assert_eq!(code, 1, "the demo's findings fail the gate: {err}");
    assert!(
        warnings(&err).is_empty(),
        "no warning the user did not cause: {err}"
    );
    assert!(
        err.starts_with("probe: "),
        "a summary line per phase: {err}"
    );
    assert!(out.contains(", 0 errors"), "{out}");
    assert!(out.contains("VKS-EXP-002"), "the kill chain again: {out}");
    drop(_emulators);

    // 3. init: a template inventory and a starter configuration; never over existing files.
    let own = root.join("my-vendors");
    let (code, out, err) = run_in(root, &["init", "--out", "my-vendors"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote my-vendors/inventory.yaml"), "{out}");
    assert!(own.join("vendorscope.yaml").is_file());
    let before = std::fs::read_to_string(own.join("inventory.yaml")).expect("read");
    write(&own, "inventory.yaml", "# mine\n");
    let (code, _, err) = run_in(root, &["init", "--out", "my-vendors"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(own.join("inventory.yaml")).expect("read"),
        "# mine\n",
        "nothing was overwritten"
    );
    let (code, _, err) = run_in(root, &["init", "--out", "my-vendors", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(own.join("inventory.yaml")).expect("read"),
        before
    );

    // 4. The template passes `inventory check` as written (the key's variable set: no remark).
    let env = [("STRIPE_SECRET_KEY", "set-in-ci")];
    let (code, out, err) = run_env(&own, &["inventory", "check", "inventory.yaml"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("inventory.yaml: ok"), "{out}");
    assert!(err.is_empty(), "{err}");
    let (code, _, err) = run_in(&own, &["config", "check"]);
    assert_eq!(code, 0, "{err}");

    // 5. `audit --offline` from a subfolder: the configuration is found upward, its relative
    //    paths resolved from its folder; exit 3 (key rules cannot be checked offline).
    let sub = own.join("src/deep");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let (code, out, err) = run_in(&sub, &["audit", "--offline"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        warnings(&err).is_empty(),
        "no warning the user did not cause: {err}"
    );
    assert!(
        out.contains(", 0 failing,"),
        "the template passes what it can: {out}"
    );
    let run_json = own.join("vendorscope-run.json");
    assert!(run_json.is_file(), "outputs from the configuration");
    assert!(own.join("vendorscope-run.sarif").is_file());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_json).expect("run")).expect("json");
    assert_eq!(
        doc["inputs"]["options"]["config"], "../../vendorscope.yaml",
        "the run names the configuration it used"
    );

    // 6. A report of it.
    let (code, _, err) = run_in(
        &own,
        &[
            "report",
            "vendorscope-run.json",
            "--output",
            "html=report.html",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(own.join("report.html").is_file());
}

/// An inventory with one medium failing finding offline (a tier-1 supplier without SOC 2).
const INVENTORY: &str = "version: 1
organization: Test
vendors:
  - id: stripe
    connector: stripe
    category: psp
    tier: 1
    keys:
      - id: k
        secret: { env: STRIPE_SECRET_KEY }
        type: server_side
";

fn settings(json: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(json).expect("config show JSON");
    let mut by_key = serde_json::Map::new();
    for s in doc["settings"].as_array().expect("settings") {
        by_key.insert(s["key"].as_str().expect("key").to_string(), s.clone());
    }
    serde_json::Value::Object(by_key)
}

#[test]
fn configuration_precedence_provenance_and_weakening() {
    let d = repo();
    let root = d.path();
    write(root, "inv/inventory.yaml", INVENTORY);
    write(
        root,
        "vendorscope.yaml",
        "version: 1\ninventory: inv/inventory.yaml\nfail_on: medium\n",
    );
    let sub = root.join("a/b");
    std::fs::create_dir_all(&sub).expect("mkdir");

    // From the file: the medium failing finding fails the gate (exit 1); a fail_on above
    // `low` lets lower findings through, so it is reported like a weakened rule.
    let (code, out, err) = run_in(&sub, &["audit", "--offline"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("warning: gate weakened by ../../vendorscope.yaml:3: fail_on medium"),
        "{err}"
    );
    // The flag wins over the file.
    let (code, _, err) = run_in(&sub, &["audit", "--offline", "--fail-on", "high"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        !err.contains("weakened"),
        "the file's fail_on is not in effect: {err}"
    );
    // `--no-config`: no inventory, no gate from the file.
    let (code, _, err) = run_in(&sub, &["audit", "--offline", "--no-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("audit needs an inventory"), "{err}");
    let (code, _, err) = run_in(
        &sub,
        &[
            "audit",
            "--offline",
            "--no-config",
            "-i",
            "../../inv/inventory.yaml",
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.is_empty(), "{err}");
    // Under --deny-weakened-rules the weakening configuration is refused: exit 2, nothing run.
    let (code, out, err) = run_in(&sub, &["audit", "--offline", "--deny-weakened-rules"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("--deny-weakened-rules: the configuration file weakens the gate"),
        "{err}"
    );

    // Provenance: flag, FILE:LINE, default; table and JSON.
    let (code, out, err) = run_in(
        &sub,
        &[
            "config",
            "show",
            "--format",
            "json",
            "audit",
            "--allow-incomplete",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let s = settings(&out);
    assert_eq!(s["inventory"]["value"], "../../inv/inventory.yaml");
    assert_eq!(s["inventory"]["source"]["kind"], "file");
    assert_eq!(s["inventory"]["source"]["file"], "../../vendorscope.yaml");
    assert_eq!(s["inventory"]["source"]["line"], 2);
    assert_eq!(s["fail_on"]["value"], "medium");
    assert_eq!(s["allow_incomplete"]["source"]["kind"], "flag");
    assert_eq!(s["max_exception_days"]["value"], 180);
    assert_eq!(s["max_exception_days"]["source"]["kind"], "default");
    assert!(
        s.get("scan.exclude").is_none(),
        "audit takes no scan settings"
    );
    let (code, out, _) = run_in(&sub, &["config", "show", "scan", ".", "--max-pages", "500"]);
    assert_eq!(code, 0);
    let row = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("{name} in\n{out}"))
            .to_string()
    };
    assert!(row("fail_on").contains("../../vendorscope.yaml:3"), "{out}");
    assert!(
        row("scan.max_pages").contains("flag"),
        "500 given is a flag: {out}"
    );
    assert!(row("scan.max_depth").contains("default"), "{out}");
    assert!(out.contains("warning: gate weakened by"), "{out}");
    let (code, out, _) = run_in(&sub, &["config"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("configuration file: ../../vendorscope.yaml\n"),
        "{out}"
    );
    let (code, out, _) = run_in(&sub, &["config", "--no-config"]);
    assert_eq!(code, 0);
    assert!(out.contains("none (--no-config)"), "{out}");
    assert!(!out.contains("vendorscope.yaml:"), "{out}");

    // Scan excludes and exceptions are weakenings too; `--config FILE` names the file.
    write(
        root,
        "weak.yaml",
        "version: 1\nscan:\n  exclude: [legacy/**]\n",
    );
    write(root, "dist/app.js", "nothing here\n");
    let (code, _, err) = run_in(root, &["scan", "dist", "--config", "weak.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("gate weakened by weak.yaml:3: scan.exclude skips paths matching `legacy/**`"),
        "{err}"
    );
    let (code, _, err) = run_in(
        root,
        &[
            "scan",
            "dist",
            "--config",
            "weak.yaml",
            "--deny-weakened-rules",
        ],
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_in(
        root,
        &["scan", "dist", "--config", "weak.yaml", "--exclude", "x"],
    );
    assert_eq!(code, 0);
    assert!(
        !err.contains("weakened"),
        "the flag's excludes are the user's: {err}"
    );
}

#[test]
fn configuration_diagnostics_match_the_inventorys() {
    let d = repo();
    let root = d.path();
    write(
        root,
        "vendorscope.yaml",
        "version: 1\ninventroy: inv.yaml\nfail_on: hihg\noutputs:\n  sarf: run.sarif\nscan:\n  exclude: dist\n  max_duration: soon\n",
    );
    let (code, out, err) = run_in(root, &["config", "check"]);
    assert_eq!(code, 2, "{out}");
    for want in [
        "vendorscope.yaml:2:1: error: unknown field `inventroy` in configuration file; did you mean `inventory`?",
        "vendorscope.yaml:3:10: error: unknown severity `hihg`",
        "did you mean `high`?",
        "vendorscope.yaml:5:3: error: unknown field `sarf`",
        "did you mean `sarif`?",
        "vendorscope.yaml:7:12: error: `exclude` must be a list, found a string",
        "2 | inventroy: inv.yaml\n  | ^^^^^^^^^",
    ] {
        assert!(err.contains(want), "{want} in\n{err}");
    }
    // The same problems stop a run that would read it (exit 2, nothing evaluated).
    let (code, out, err2) = run_in(root, &["audit", "--offline"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err2.contains("did you mean `inventory`?"), "{err2}");
    // JSON diagnostics: file, line, column, code, message.
    let (code, out, _) = run_in(root, &["config", "check", "--format", "json"]);
    assert_eq!(code, 2);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["valid"], false);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["file"], "vendorscope.yaml");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 1);
    assert_eq!(first["code"], "unknown-field");
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"wrong-type"), "{codes:?}");
    // A value the schema cannot check, at its position.
    write(root, "v2.yaml", "version: 1\nscan:\n  max_duration: soon\n");
    let (code, _, err) = run_in(root, &["config", "check", "v2.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("v2.yaml:3:17: error: `soon` is not a duration"),
        "{err}"
    );
    // Other commands never read it.
    let (code, _, err) = run_in(root, &["policy", "list"]);
    assert_eq!(code, 0, "{err}");
    // The schema names every field.
    let (code, out, _) = run_in(root, &["config", "schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).expect("schema");
    let props = schema["properties"].as_object().expect("properties");
    for f in [
        "inventory",
        "policies",
        "exceptions",
        "fail_on",
        "outputs",
        "scan",
    ] {
        assert!(props.contains_key(f), "{f}");
    }
}

#[test]
fn new_subcommands_have_pages_completions_and_their_place() {
    let d = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run_in(d.path(), &["man", "--out-dir", "man"]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "vendorscope-init.1",
        "vendorscope-config.1",
        "vendorscope-config-show.1",
        "vendorscope-config-check.1",
        "vendorscope-config-schema.1",
    ] {
        assert!(d.path().join("man").join(page).is_file(), "{page}");
    }
    let (code, out, _) = run_in(d.path(), &["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("vendorscope__subcmd__init") && out.contains("config__subcmd__show"),
        "bash completion"
    );
    let (_, help, _) = run_in(d.path(), &["--help"]);
    let pos = |c: &str| {
        help.find(&format!("\n  {c} "))
            .unwrap_or_else(|| panic!("{c}"))
    };
    assert!(
        pos("demo") < pos("init") && pos("init") < pos("audit"),
        "{help}"
    );
    assert!(
        pos("inventory") < pos("config") && pos("config") < pos("policy"),
        "{help}"
    );
    // `--format` is checked like every other printing command's.
    let (code, _, err) = run_in(d.path(), &["config", "schema", "--format", "table"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_in(d.path(), &["init", "--output", "json=x.json"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn readme_configuration_example_is_valid_by_the_command_and_the_schema() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let section = &readme[readme
        .find("## Configuration file (`vendorscope.yaml`)")
        .expect("section")..];
    let start = section.find("```yaml\n").expect("example") + 8;
    let example = &section[start..start + section[start..].find("```").expect("end")];
    let d = repo();
    write(d.path(), "vendorscope.yaml", example);
    let (code, out, err) = run_in(d.path(), &["config", "check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok — 14 setting(s)"), "{out}");
    let (_, schema, _) = run_in(d.path(), &["config", "schema"]);
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("schema");
    let doc: serde_json::Value = vendorscope::yaml::from_str(example).expect("yaml");
    let v = jsonschema::validator_for(&schema).expect("compile");
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Each setting of the example, shown with its line.
    let (_, shown, _) = run_in(d.path(), &["config", "show", "--format", "json"]);
    let s = settings(&shown);
    assert_eq!(s["scan.max_duration"]["value"], "5m");
    assert_eq!(s["scan.max_duration"]["source"]["line"], 19);
    assert_eq!(s["outputs"]["value"]["sarif"], "reports/run.sarif");
}

#[test]
fn emulator_config_addresses_are_checked() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "e.json",
        r#"{"listen": {"strpe": "127.0.0.1:1"}}"#,
    );
    let (code, _, err) = run_in(d.path(), &["emulate", "--config", "e.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean `stripe`?"), "{err}");
    write(
        d.path(),
        "e.json",
        r#"{"listen": {"site": "10.0.0.1:8080"}}"#,
    );
    let (code, _, err) = run_in(d.path(), &["emulate", "--config", "e.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("listen.site 10.0.0.1:8080: emulators listen on loopback only"),
        "{err}"
    );
}
