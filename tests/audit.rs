//! `audit` end to end: the 2020 scenario against the built-in emulators and demo storefront,
//! exceptions, policy downgrades, offline audits, shards and merge, stable SARIF fingerprints.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use vendorscope::audit::{self, AuditOptions, AuditResult};
use vendorscope::demo::{Keys, Scenario};
use vendorscope::gate::{EXIT_FAIL, EXIT_INCOMPLETE, GateOptions, exit_code};
use vendorscope::guard::{Clean, Redactor};
use vendorscope::report::{Format, RenderOptions, render};
use vendorscope::run::{Enforcement, Outcome, Run, SubjectKind};
use vendorscope::secret::{Fingerprinter, KeyOrigin};
use vendorscope::shard::Shard;

fn fingerprinter() -> Arc<Fingerprinter> {
    Arc::new(Fingerprinter::from_bytes(
        b"audit-test-fingerprint-key",
        KeyOrigin::Fixed,
    ))
}

struct Demo {
    scenario: Scenario,
    _dir: Option<tempfile::TempDir>,
}

fn demo_with(keys: &Keys, seed: &str) -> Demo {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = Scenario::start_with(dir.path(), seed, keys).expect("scenario starts");
    Demo {
        scenario,
        _dir: Some(dir),
    }
}

fn demo() -> Demo {
    demo_with(&Keys::generate(), "build-1")
}

impl Demo {
    fn options(&self) -> AuditOptions {
        let mut o = self.scenario.audit_options().expect("options");
        o.fingerprinter = Some(fingerprinter());
        o
    }

    fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.scenario.dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn secrets(&self) -> Vec<String> {
        std::fs::read_dir(self.scenario.dir.join("secrets"))
            .expect("secrets dir")
            .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("secret"))
            .collect()
    }
}

fn run_audit(o: &AuditOptions) -> AuditResult {
    match audit::audit(o, &Redactor::new()) {
        Ok(r) => r,
        Err(e) => panic!("audit failed: {e}"),
    }
}

/// (rule, subject) of every finding with this status, exposures by rule only.
fn findings(run: &Run, status: Outcome) -> BTreeSet<String> {
    run.findings
        .iter()
        .filter(|f| f.status == status)
        .map(|f| match f.subject.kind {
            SubjectKind::Exposure => format!("{} exposure", f.rule),
            k => format!("{} {}:{}", f.rule, k.as_str(), f.subject.id),
        })
        .collect()
}

const EXPECTED_FAILURES: &[&str] = &[
    "VKS-EXP-001 key:iterable-web",
    "VKS-EXP-002 key:iterable-web",
    "VKS-EXP-004 exposure",
    "VKS-ACC-001 vendor:adyen",
    "VKS-KEY-001 key:adyen-api",
    "VKS-KEY-001 key:iterable-web",
    "VKS-KEY-001 key:shopify-admin",
    "VKS-KEY-001 key:stripe-secret",
    "VKS-KEY-003 key:iterable-web",
    "VKS-KEY-004 key:stripe-secret",
    "VKS-KEY-005 key:adyen-api",
    "VKS-KEY-006 key:shopify-admin",
    "VKS-KEY-008 key:iterable-web",
    "VKS-KEY-008 key:shopify-admin",
    "VKS-FLOW-001 vendor:shopify",
    "VKS-PII-001 vendor:iterable",
    "VKS-PII-002 vendor:shopify",
    "VKS-PII-004 vendor:iterable",
    "VKS-SUP-001 vendor:iterable",
    "VKS-SUP-001 vendor:shopify",
    "VKS-SUP-004 vendor:iterable",
    "VKS-SUP-005 run:run",
];

#[test]
fn demo_scenario_yields_the_2020_findings_and_exit_1() {
    let d = demo();
    let res = run_audit(&d.options());
    let run = &res.run;
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let want: BTreeSet<String> = EXPECTED_FAILURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(findings(run, Outcome::Fail), want);
    assert!(findings(run, Outcome::Unknown).is_empty());
    assert_eq!(exit_code(&run.findings, GateOptions::default()), EXIT_FAIL);

    // The kill chain points at the public copies (with the original source) and the inventory.
    let kc = run
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-002")
        .expect("kill chain");
    assert_eq!(kc.severity, vendorscope::run::Severity::Critical);
    assert!(
        kc.locations.iter().any(|l| l
            .url
            .as_deref()
            .is_some_and(|u| u.contains(&d.scenario.site.checkout_chunk))
            && l.original
                .as_ref()
                .is_some_and(|o| o.path == "src/config/iterable.ts")),
        "{:?}",
        kc.locations
    );
    let inv = d.scenario.inventory.display().to_string();
    assert!(
        kc.locations
            .iter()
            .any(|l| l.path.as_deref() == Some(inv.as_str()) && l.line.is_some())
    );
    // Exposures: the chunk and its map, attributed to the inventory key.
    let it: Vec<_> = run
        .exposures
        .iter()
        .filter(|e| e.vendor == "iterable")
        .collect();
    assert_eq!(it.len(), 2, "{it:?}");
    assert!(
        it.iter()
            .all(|e| e.inventory_key.as_deref() == Some("iterable-web"))
    );

    // Control coverage: the kill chain's controls fail; every mapped control is listed.
    let a517 = &run.controls["ISO27001:2022/A.5.17"];
    assert!(a517.get("fail").copied().unwrap_or(0) >= 1, "{a517:?}");
    assert!(run.controls.contains_key("ISO27001:2013/A.9.2.4"));
    assert!(run.outcomes.iter().any(|o| o.status == Outcome::Pass));
    assert!(run.policy_set_hash.is_some());

    // Read-only: every call in the ledger, no writes at any emulator.
    assert!(run.ledger.len() >= 4);
    assert!(
        run.ledger
            .iter()
            .all(|l| l.method == "GET" || l.method == "HEAD")
    );
    for e in &d.scenario.emulators {
        assert_eq!(e.state.writes(), 0, "{}", e.vendor);
        assert!(!e.state.requests().is_empty(), "{} was probed", e.vendor);
    }

    // No key in any rendering.
    let secrets = d.secrets();
    assert_eq!(secrets.len(), 6, "four integration keys and two audit keys");
    for f in [
        Format::Json,
        Format::Table,
        Format::Sarif,
        Format::Html,
        Format::Junit,
        Format::Github,
        Format::Markdown,
        Format::Ocsf,
    ] {
        let clean = Clean::new(run, &Redactor::new()).expect("clean");
        let text = render(&clean, f, RenderOptions::default()).expect("renders");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{f:?} leaks a key");
            assert!(
                !text.contains(&s[..s.len() - 4]),
                "{f:?} leaks a key prefix"
            );
        }
    }
}

/// Issue 16: the undeclared Adyen credential the audit key saw is one finding, with the
/// declared keys and the observed credential side by side, in the table, SARIF and HTML.
#[test]
fn demo_undeclared_adyen_credential_is_one_finding_with_evidence() {
    let d = demo();
    let res = run_audit(&d.options());
    let run = &res.run;
    let acc: Vec<_> = run
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("VKS-ACC-") && f.status == Outcome::Fail)
        .collect();
    assert_eq!(acc.len(), 1, "{acc:?}");
    let m = &acc[0].message;
    assert!(
        m.contains("1 active API credential")
            && m.contains("allowed IPs: 198.51.100.77")
            && m.contains("Merchant Recurring role")
            && m.contains("adyen-api = S2-")
            && m.contains("adyen-audit = S2-"),
        "{m}"
    );
    // The audit calls are GETs in the ledger, by template.
    for t in [
        "/v3/companies/{companyId}/apiCredentials?pageNumber&pageSize",
        "/v3/companies/{companyId}/users?pageNumber&pageSize",
        "/admin/api/2026-10/users.json?limit",
        "/admin/api/2026-10/script_tags.json?limit",
    ] {
        assert!(
            run.ledger.iter().any(|l| l.method == "GET" && l.path == t),
            "{t}: {:?}",
            run.ledger.iter().map(|l| &l.path).collect::<Vec<_>>()
        );
    }
    for f in [Format::Table, Format::Sarif, Format::Html] {
        let clean = Clean::new(run, &Redactor::new()).expect("clean");
        let text = render(&clean, f, RenderOptions::default()).expect("renders");
        assert!(
            text.contains("VKS-ACC-001") && text.contains("198.51.100.77"),
            "{f:?} shows the finding and its evidence"
        );
    }
}

fn today_plus(days: i64) -> String {
    jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(days))
        .expect("date")
        .to_string()
}

fn exceptions(created: i64, expires: i64) -> String {
    format!(
        "version: 1\nkind: Exceptions\nexceptions:\n  - id: EXC-KC\n    rule: VKS-EXP-002\n    match: {{ vendor: iterable, key: iterable-web }}\n    reason: key revoked at the vendor; inventory update pending\n    approver: ciso@example.com\n    ticket: SEC-2020\n    created: {}\n    expires: {}\n",
        today_plus(created),
        today_plus(expires)
    )
}

#[test]
fn valid_exception_excepts_and_expired_one_fails_again() {
    let d = demo();
    let mut o = d.options();
    o.exceptions = Some(d.write("exceptions.yaml", &exceptions(-1, 30)));
    let run = run_audit(&o).run;
    let kc = run
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-002")
        .expect("still reported");
    assert_eq!(kc.status, Outcome::Excepted);
    let e = kc.exception.as_ref().expect("exception ref");
    assert_eq!(e.id, "EXC-KC");
    assert!(!e.expired);
    assert!(
        run.policy_changes.iter().any(|c| c.rule == "VKS-EXP-002"),
        "exceptions are listed as policy changes: {:?}",
        run.policy_changes
    );
    // Another block rule still fails.
    assert_eq!(exit_code(&run.findings, GateOptions::default()), EXIT_FAIL);

    o.exceptions = Some(d.write("expired.yaml", &exceptions(-60, -1)));
    let run = run_audit(&o).run;
    let kc = run
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-002")
        .expect("kill chain");
    assert_eq!(kc.status, Outcome::Fail);
    assert!(kc.exception.as_ref().is_some_and(|e| e.expired));
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("EXC-KC") && w.contains("expired")),
        "{:?}",
        run.warnings
    );
}

#[test]
fn user_policy_downgrading_a_block_rule_is_visible_in_the_run() {
    let d = demo();
    let mut o = d.options();
    o.policies = vec![d.write(
        "weaker.yaml",
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-002\n    enforcement: report\n",
    )];
    let run = run_audit(&o).run;
    assert!(
        run.policy_changes
            .iter()
            .any(|c| c.rule == "VKS-EXP-002" && c.change == "downgraded_enforcement"),
        "{:?}",
        run.policy_changes
    );
    let kc = run
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-002")
        .expect("kill chain still reported");
    assert_eq!(kc.enforcement, Enforcement::Report);
    // …and recorded as a weakened built-in rule, which every format shows.
    assert_eq!(run.weakened_rules.len(), 1, "{:?}", run.weakened_rules);
    assert_eq!(run.weakened_rules[0].rule, "VKS-EXP-002");
    assert_eq!(
        run.weakened_rules[0].summary(),
        "enforcement block → report"
    );
    assert_eq!(run.inputs.policies.len(), 1);
    assert!(!run.inputs.policies[0].sha256.is_empty());
}

#[test]
fn offline_audit_evaluates_suppliers_and_leaves_keys_unknown() {
    let mut o = AuditOptions::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventories/shop-2020.yaml"),
    );
    o.offline = true;
    o.fingerprinter = Some(fingerprinter());
    let run = run_audit(&o).run;
    assert!(run.ledger.is_empty());
    assert!(run.keys.iter().all(|k| k.fingerprint.is_none()));
    let status = |rule: &str| -> BTreeSet<&'static str> {
        run.outcomes
            .iter()
            .filter(|r| r.rule == rule)
            .map(|r| vendorscope::policy::eval::outcome_label(r.status))
            .collect()
    };
    for rule in [
        "VKS-SUP-001",
        "VKS-SUP-002",
        "VKS-SUP-004",
        "VKS-PII-001",
        "VKS-PII-002",
        "VKS-PII-003",
    ] {
        let s = status(rule);
        assert!(!s.is_empty(), "{rule} evaluated");
        assert!(!s.contains("unknown"), "{rule}: {s:?}");
    }
    for rule in [
        "VKS-EXP-001",
        "VKS-KEY-001",
        "VKS-KEY-002",
        "VKS-KEY-003",
        "VKS-KEY-006",
    ] {
        let s = status(rule);
        assert!(s.contains("unknown"), "{rule}: {s:?}");
        assert!(
            s.iter().all(|o| *o == "unknown" || *o == "not_applicable"),
            "{rule} is unknown offline: {s:?}"
        );
    }
    assert!(
        run.findings
            .iter()
            .filter(|f| f.status == Outcome::Unknown)
            .all(|f| f.message.contains("not established")),
    );
    assert_eq!(
        exit_code(&run.findings, GateOptions::default()),
        EXIT_INCOMPLETE
    );
}

#[test]
fn an_unreachable_surface_leaves_exposure_rules_unknown() {
    let d = demo();
    let text = std::fs::read_to_string(&d.scenario.inventory).expect("inventory");
    let page = d.scenario.page_url.to_string();
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dead = format!("http://127.0.0.1:{port}/");
    std::fs::write(&d.scenario.inventory, text.replace(&page, &dead)).expect("write");
    let run = run_audit(&d.options()).run;
    assert!(run.errors.iter().any(|e| e.stage == "surface"));
    let exp = run
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-001" && f.subject.id == "shopify-admin")
        .expect("EXP-001 for a key not found anywhere");
    assert_eq!(exp.status, Outcome::Unknown, "never a pass");
}

#[test]
fn merged_shards_equal_the_unsharded_run_kill_chain_included() {
    let d = demo();
    let whole = run_audit(&d.options()).run;
    // A split where the leaked key and the storefront fall in different shards.
    let page = d.scenario.page_url.to_string();
    let n = (2..=8)
        .find(|&n| {
            (1..=n).any(|k| {
                let s = Shard { index: k, count: n };
                s.owns(&audit::key_shard_id("iterable", "iterable-web"))
                    && !s.owns(&format!("surface:{page}"))
            })
        })
        .expect("some split separates them");
    let mut runs = vec![];
    for k in 1..=n {
        let mut o = d.options();
        o.shard = Some(Shard { index: k, count: n });
        let r = run_audit(&o).run;
        runs.push((format!("shard-{k}.json"), r));
    }
    // No shard alone sees the kill chain.
    assert!(
        runs.iter().all(|(_, r)| !r
            .findings
            .iter()
            .any(|f| f.rule == "VKS-EXP-002" && f.status == Outcome::Fail)),
        "the key and the surface are in different shards"
    );
    // Each key was probed exactly once across the shards.
    let probes: usize = runs.iter().map(|(_, r)| r.ledger.len()).sum();
    assert_eq!(probes, whole.ledger.len());

    let mut o = d.options();
    o.command = "merge".into();
    let merged = audit::merge(&o, runs.clone()).expect("merge").run;
    assert_eq!(
        findings(&merged, Outcome::Fail),
        findings(&whole, Outcome::Fail)
    );
    assert_eq!(
        merged.findings.len(),
        whole.findings.len(),
        "{:?}",
        findings(&merged, Outcome::Unknown)
    );
    assert!(
        merged
            .findings
            .iter()
            .any(|f| f.rule == "VKS-EXP-002" && f.status == Outcome::Fail)
    );

    // Missing shards and foreign fingerprint keys are refused.
    let missing = audit::merge(&o, runs[1..].to_vec());
    assert!(missing.is_err_and(|e| e.0.contains("missing")));
    let mut other = runs.clone();
    other[0].1.fingerprint_check = "check:other".into();
    assert!(audit::merge(&o, other).is_err_and(|e| e.0.contains("fingerprint keys")));
}

fn sarif_fingerprints(run: &Run) -> BTreeSet<String> {
    let clean = Clean::new(run, &Redactor::new()).expect("clean");
    let text = render(&clean, Format::Sarif, RenderOptions::default()).expect("sarif");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["partialFingerprints"].to_string())
        .collect()
}

#[test]
fn sarif_fingerprints_survive_a_rebuild_that_renames_chunks() {
    // Same keys, same inventory path, two builds.
    let keys = Keys::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let start = |seed: &str| Demo {
        scenario: Scenario::start_with(dir.path(), seed, &keys).expect("scenario"),
        _dir: None,
    };
    let a = start("build-1");
    let run_a = run_audit(&a.options()).run;
    let chunk_a = a.scenario.site.checkout_chunk.clone();
    drop(a);
    let b = start("build-2");
    let run_b = run_audit(&b.options()).run;
    assert_ne!(
        chunk_a, b.scenario.site.checkout_chunk,
        "chunk names differ"
    );
    let (fa, fb) = (sarif_fingerprints(&run_a), sarif_fingerprints(&run_b));
    assert_eq!(fa.len(), run_a.findings.len());
    // Exposure subjects of the Stripe publishable key are on the page origin, whose port
    // differs between the two servers; everything attributed by content matches.
    let kc = |r: &Run| {
        r.findings
            .iter()
            .filter(|f| f.subject.kind != SubjectKind::Exposure)
            .map(|f| f.fingerprint.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(kc(&run_a), kc(&run_b));
    let common = fa.intersection(&fb).count();
    assert!(
        common >= run_a.findings.len() - 2,
        "{common} of {} SARIF fingerprints stable",
        fa.len()
    );
}

// --- The CLI: `audit`, `scan URL` (crawl, --verify, --known-keys), `--baseline`, `merge`. ---

const FP_ENV: &str = "cli-test-fingerprint-key";

fn cli(args: &[&str]) -> (u8, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vendorscope"))
        .args(args)
        .env("VENDORSCOPE_FINGERPRINT_KEY", FP_ENV)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1) as u8,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Demo {
    fn allow_args(&self) -> Vec<String> {
        let mut v = vec!["--allow-private-addresses".to_string()];
        for e in &self.scenario.allow_endpoints {
            v.push("--allow-endpoint".into());
            v.push(e.clone());
        }
        v
    }
}

fn json_findings(stdout: &str) -> Run {
    serde_json::from_str(stdout).expect("run document on stdout")
}

#[test]
fn cli_audit_scan_verify_known_keys_and_baseline() {
    let d = demo();
    let inv = d.scenario.inventory.display().to_string();
    let run_json = d.scenario.dir.join("audit.json").display().to_string();
    let allow = d.allow_args();
    let mut args = vec!["audit", "-i", &inv, "--quiet", "--format", "json"];
    args.extend(allow.iter().map(String::as_str));
    let out_spec = format!("json={run_json}");
    args.extend(["--output", &out_spec]);
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 1, "{stderr}");
    let audit = json_findings(&stdout);
    assert!(
        audit
            .findings
            .iter()
            .any(|f| f.rule == "VKS-EXP-002" && f.status == Outcome::Fail)
    );
    assert!(Path::new(&run_json).exists());

    // The deploy gate on the live site with the inventory: verify the found key → kill chain.
    let page = d.scenario.page_url.to_string();
    let mut args = vec![
        "scan", &page, "-i", &inv, "--verify", "--quiet", "--format", "json",
    ];
    args.extend(allow.iter().map(String::as_str));
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 1, "{stderr}");
    let scan = json_findings(&stdout);
    let rules: BTreeSet<&str> = scan.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(
        rules.contains("VKS-EXP-001") && rules.contains("VKS-EXP-002"),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .all(|r| r.starts_with("VKS-EXP") || r.starts_with("VKS-RUN") || *r == "VKS-SUP-005"),
        "scan evaluates exposure rules and the run's crawl rules only: {rules:?}"
    );
    assert!(!scan.ledger.is_empty());
    assert!(
        scan.ledger
            .iter()
            .all(|l| l.method == "GET" || l.method == "HEAD")
    );
    assert!(
        scan.exposures
            .iter()
            .filter(|e| e.vendor == "iterable")
            .all(|e| e.verified.is_some())
    );

    // Without secrets: attributed with the audit's fingerprints; no verification.
    let mut args = vec![
        "scan",
        &page,
        "--known-keys",
        &run_json,
        "--quiet",
        "--format",
        "json",
    ];
    args.push("--allow-private-addresses");
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 1, "{stderr}");
    let known = json_findings(&stdout);
    // The key attributed by fingerprint gets the key-level rule, as through the inventory.
    let f = known
        .findings
        .iter()
        .find(|f| f.rule == "VKS-EXP-001")
        .expect("server-side key in public assets");
    assert_eq!(f.subject.id, "iterable-web");
    assert!(f.message.contains("iterable-web"), "{}", f.message);
    assert!(!known.findings.iter().any(|f| f.rule == "VKS-EXP-005"));
    assert!(known.ledger.is_empty(), "nothing sent without --verify");

    // Baseline: the same findings do not fail the gate again.
    let base = d.scenario.dir.join("scan.json");
    std::fs::write(&base, &stdout).expect("write");
    let base_s = base.display().to_string();
    args.extend(["--baseline", &base_s]);
    let (code, stdout2, stderr) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    let again = json_findings(&stdout2);
    assert!(
        again.warnings.iter().any(|w| w.contains("in the baseline")),
        "{:?}",
        again.warnings
    );
    assert_eq!(again.inputs.options.get("baseline"), Some(&base_s));

    // No key reached stdout or stderr.
    for s in d.secrets() {
        for text in [&stdout, &stderr] {
            assert!(!text.contains(s.as_str()));
        }
    }
}

#[test]
fn cli_scan_exit_codes_without_inventory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    // Public by design only: nothing fails.
    std::fs::write(
        dist.join("app.js"),
        "const stripe = Stripe(\"pk_live_51DemoKey0000000000000000000000000000000000000000000000\");\n",
    )
    .expect("write");
    let d = dist.display().to_string();
    let (code, _, stderr) = cli(&["scan", &d, "--quiet", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    // A live secret key fails the gate without any inventory.
    std::fs::write(
        dist.join("config.js"),
        "window.cfg={stripeKey:\"sk_live_51Hx7Q2eZvKb3Lm9NpR4sT6uW8yA1cD3fG5hJ7kL9mN0pQ2rS4tU6vW8xY0zB2dF4gH6\"};\n",
    )
    .expect("write");
    let (code, stdout, stderr) = cli(&["scan", &d, "--quiet", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let run = json_findings(&stdout);
    assert!(
        run.findings
            .iter()
            .any(|f| f.rule == "VKS-EXP-005" && f.status == Outcome::Fail)
    );
    // An unreachable URL: incomplete, exit 3 (nothing else fails).
    std::fs::remove_file(dist.join("config.js")).expect("rm");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let (code, stdout, stderr) = cli(&[
        "scan",
        &d,
        &url,
        "--allow-private-addresses",
        "--quiet",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "{stderr}");
    let run = json_findings(&stdout);
    assert!(
        run.findings
            .iter()
            .any(|f| f.rule == "VKS-RUN-001" && f.status == Outcome::Unknown)
    );
    // Bad targets are usage errors.
    assert_eq!(cli(&["scan", "ftp://example.com/x"]).0, 2);
    assert_eq!(cli(&["scan", "no/such/dir"]).0, 2);
}

#[test]
fn cli_diff_and_merge_of_shards() {
    let d = demo();
    let inv = d.scenario.inventory.display().to_string();
    let allow = d.allow_args();
    let dir = d.scenario.dir.clone();
    let audit_to = |name: &str, extra: &[&str]| -> (u8, String) {
        let path = dir.join(name).display().to_string();
        let spec = format!("json={path}");
        let mut args = vec!["audit", "-i", &inv, "--quiet", "--format", "table"];
        args.extend(allow.iter().map(String::as_str));
        args.extend(extra);
        args.extend(["--output", &spec]);
        let (code, _, stderr) = cli(&args);
        assert!(code == 1 || code == 3 || code == 0, "{stderr}");
        (code, path)
    };
    let (_, whole) = audit_to("whole.json", &[]);
    let (_, s1) = audit_to("s1.json", &["--shard", "1/2"]);
    let (_, s2) = audit_to("s2.json", &["--shard", "2/2"]);
    let merged_path = dir.join("merged.json").display().to_string();
    let spec = format!("json={merged_path}");
    let (code, _, stderr) = cli(&["merge", &s1, &s2, "--quiet", "--output", &spec]);
    assert_eq!(code, 1, "{stderr}");
    let read = |p: &str| -> Run {
        serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("run")
    };
    let (w, m) = (read(&whole), read(&merged_path));
    assert_eq!(findings(&w, Outcome::Fail), findings(&m, Outcome::Fail));
    assert_eq!(m.command, "merge");
    assert_eq!(
        cli(&["merge", &s1, "--quiet"]).0,
        2,
        "a missing shard is refused"
    );

    // diff: the merged run against the whole run has no new findings; against a run
    // with one finding removed, exactly one.
    let (code, stdout, _) = cli(&["diff", &whole, &merged_path, "--format", "json"]);
    assert_eq!(code, 0, "{stdout}");
    let mut fewer = read(&whole);
    let kc = fewer
        .findings
        .iter()
        .position(|f| f.rule == "VKS-EXP-002")
        .expect("kill chain");
    fewer.findings.remove(kc);
    let fewer_path = dir.join("fewer.json");
    std::fs::write(&fewer_path, serde_json::to_string(&fewer).expect("json")).expect("write");
    let fp = fewer_path.display().to_string();
    let (code, stdout, _) = cli(&["diff", &fp, &whole, "--format", "json"]);
    assert_eq!(code, 1, "a new failing finding: {stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["new"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["new"][0]["rule"], "VKS-EXP-002");
    let (code, stdout, _) = cli(&["diff", &whole, &fp, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["resolved"].as_array().map(Vec::len), Some(1));
}

#[test]
fn cli_emulate_serves_the_demo_site_that_scan_finds() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vendorscope"))
        .args(["emulate", "--color", "never"])
        .env("VENDORSCOPE_FINGERPRINT_KEY", FP_ENV)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("emulate starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut site = None;
    let mut vendors = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("site") {
            site = rest.split_whitespace().next().map(str::to_string);
        } else if line.contains("http://127.0.0.1:") {
            vendors += 1;
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    let site = site.expect("site URL printed");
    let (code, stdout, stderr) = cli(&[
        "scan",
        &site,
        "--allow-private-addresses",
        "--quiet",
        "--format",
        "json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(vendors, 4);
    assert_eq!(code, 1, "{stderr}");
    let run = json_findings(&stdout);
    assert!(
        run.exposures.iter().any(|e| e.vendor == "iterable"
            && e.location
                .original
                .as_ref()
                .is_some_and(|o| o.path == "src/config/iterable.ts")),
        "{:?}",
        run.exposures
    );
}

#[test]
fn cli_audit_dry_run_sends_nothing_and_offline_exits_3() {
    let d = demo();
    let inv = d.scenario.inventory.display().to_string();
    let allow = d.allow_args();
    let mut args = vec!["audit", "-i", &inv, "--dry-run", "--format", "json"];
    args.extend(allow.iter().map(String::as_str));
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("plan is JSON");
    let keys = plan["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 6);
    assert!(
        plan.to_string()
            .contains("/v3/companies/{companyId}/apiCredentials?pageNumber=1"),
        "the audit key's plan lists its calls"
    );
    assert!(
        keys.iter()
            .all(|k| k["plan"]["calls"].as_array().is_some_and(|c| !c.is_empty())),
        "{plan}"
    );
    assert!(
        keys.iter()
            .flat_map(|k| k["plan"]["calls"].as_array().into_iter().flatten())
            .all(|c| c["method"] == "GET" || c["method"] == "HEAD")
    );
    assert_eq!(plan["surfaces"].as_array().map(Vec::len), Some(1));
    for e in &d.scenario.emulators {
        assert!(e.state.requests().is_empty(), "{} was called", e.vendor);
    }
    assert!(
        d.scenario.site.requests().is_empty(),
        "the site was crawled"
    );
    for s in d.secrets() {
        assert!(!stdout.contains(s.as_str()));
    }

    let shop = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inventories/shop-2020.yaml")
        .display()
        .to_string();
    let (code, stdout, stderr) = cli(&["audit", "-i", &shop, "--offline", "--format", "json"]);
    assert_eq!(code, 3, "{stderr}");
    let run = json_findings(&stdout);
    assert!(run.ledger.is_empty());
    assert_eq!(
        run.inputs.options.get("offline").map(String::as_str),
        Some("true")
    );
}

#[test]
fn cli_probe_calls_bulk_endpoints_only_when_asked() {
    let calls = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "probe",
            "--vendor",
            "iterable",
            "--key-env",
            "VS_TEST_ITERABLE_KEY",
        ];
        args.extend_from_slice(&["--dry-run", "--format", "json"]);
        args.extend_from_slice(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vendorscope"))
            .args(&args)
            .env("VS_TEST_ITERABLE_KEY", "4f1c2b9e8d7a6b5c4d3e2f1a0b9c8d7e")
            .output()
            .expect("binary runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .map(|c| c["url"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(!calls(&[]).iter().any(|u| u.contains("/api/export/")));
    let bulk = calls(&["--probe-bulk-endpoints"]);
    assert!(bulk.iter().any(|u| u.contains("/api/export/")), "{bulk:?}");
}

// --- Weakened built-in rules (issue 12 #10), the exact hostile policies, through the CLI. ---

const WEAKENING: [(&str, &str, &str); 3] = [
    (
        "disable.yaml",
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    enabled: false\n",
        "disabled",
    ),
    (
        "lower.yaml",
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    enforcement: report\n",
        "enforcement block → report",
    ),
    (
        "rewrite.yaml",
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    scope:\n      subject: key\n      where: \"false\"\n    require: \"true\"\n",
        "scope.where changed; require changed",
    ),
];

/// What each format must carry for a weakened rule (besides the rule id).
const WEAKENED_MARKERS: [(&str, &str); 7] = [
    ("json", "\"weakened_rules\""),
    ("sarif", "\"weakenedRules\""),
    ("junit", "type=\"weakened_rule\""),
    (
        "github",
        "::warning title=Weakened built-in rule VKS-EXP-001::",
    ),
    ("markdown", "Weakened built-in rules (1)"),
    ("html", "Weakened built-in rules (1)"),
    ("ocsf", "\"status_code\":\"WEAKENED\""),
];

#[test]
fn cli_weakened_rules_are_loud_in_every_format_and_denied() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inventories/shop-2020.yaml")
        .display()
        .to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).expect("mkdir");
    std::fs::write(dist.join("app.js"), "console.log('hello')\n").expect("write");
    let dist = dist.display().to_string();
    for (name, text, summary) in WEAKENING {
        let policy = dir.path().join(name);
        std::fs::write(&policy, text).expect("write");
        let policy = policy.display().to_string();
        let out = |f: &str| dir.path().join(format!("{name}.{f}"));
        let mut args: Vec<String> = [
            "audit",
            "-i",
            &shop,
            "--offline",
            "--policy",
            &policy,
            "--format",
            "table",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (f, _) in WEAKENED_MARKERS {
            args.push("--output".into());
            args.push(format!("{f}={}", out(f).display()));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = cli(&argv);
        assert_ne!(code, 2, "{name}: {stderr}");
        let headline = format!("built-in rule VKS-EXP-001 weakened by {policy}:4: {summary}");
        assert!(
            stderr.contains(&format!("warning: {headline}")),
            "{name}: stderr says nothing: {stderr}"
        );
        assert!(
            stdout.contains("WEAKENED built-in rules (1)") && stdout.contains(&headline),
            "{name}: table says nothing: {stdout}"
        );
        for (f, marker) in WEAKENED_MARKERS {
            let text = std::fs::read_to_string(out(f)).expect("report written");
            assert!(text.contains(marker), "{name}: {f} lacks {marker}:\n{text}");
            if name == "rewrite.yaml" {
                // The expression diff: built-in text against the user's.
                assert!(
                    text.contains("!key.exposed") && text.contains("!key.public_by_design"),
                    "{name}: {f} lacks the diff"
                );
            }
        }
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out("sarif")).expect("sarif"))
                .expect("json");
        assert_eq!(
            sarif["runs"][0]["properties"]["weakenedRules"][0]["rule"],
            "VKS-EXP-001"
        );
        let run: Run = serde_json::from_str(&std::fs::read_to_string(out("json")).expect("json"))
            .expect("run");
        assert_eq!(run.weakened_rules.len(), 1);
        assert_eq!(run.weakened_rules[0].summary(), summary);

        // --deny-weakened-rules: exit 2 naming the rule, nothing evaluated or written.
        let denied = dir.path().join(format!("{name}.denied.json"));
        let (code, stdout, stderr) = cli(&[
            "audit",
            "-i",
            &shop,
            "--offline",
            "--policy",
            &policy,
            "--deny-weakened-rules",
            "--output",
            &format!("json={}", denied.display()),
        ]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains("--deny-weakened-rules") && stderr.contains(&headline),
            "{name}: {stderr}"
        );
        assert!(stdout.is_empty() && !denied.exists());
        let (code, _, stderr) = cli(&["scan", &dist, "--policy", &policy, "--deny-weakened-rules"]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(&headline), "{name}: {stderr}");
    }

    // Raising severity and enforcement is not weakening: quiet, and not denied.
    let stricter = dir.path().join("stricter.yaml");
    std::fs::write(
        &stricter,
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-004\n    severity: critical\n    enforcement: block\n",
    )
    .expect("write");
    let stricter = stricter.display().to_string();
    let (code, stdout, stderr) = cli(&[
        "audit",
        "-i",
        &shop,
        "--offline",
        "--policy",
        &stricter,
        "--deny-weakened-rules",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(!stderr.to_lowercase().contains("weakened"), "{stderr}");
    assert!(json_findings(&stdout).weakened_rules.is_empty());
    let (code, _, stderr) = cli(&[
        "scan",
        &dist,
        "--policy",
        &stricter,
        "--deny-weakened-rules",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

/// Issue #14: the demo's Iterable key assigned bare in a bundle (`window.IT='…';`, no detector
/// context) is found by value in `audit` (the inventory's artifacts), and by `scan` with the
/// inventory's secrets and with the audit's fingerprints alone, attributed to `iterable-web`
/// the same way each time.
#[test]
fn cli_demo_key_assigned_bare_is_found_by_audit_and_scan_alike() {
    let d = demo();
    let key = std::fs::read_to_string(d.scenario.dir.join("secrets/iterable-web.key"))
        .expect("secret")
        .trim()
        .to_string();
    let dist = d.scenario.dir.join("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("a.js"), format!("window.IT='{key}';\n")).expect("bundle");
    let inv = d.scenario.inventory.display().to_string();
    let mut text = std::fs::read_to_string(&d.scenario.inventory).expect("inventory");
    text.push_str("artifacts: [dist]\n");
    std::fs::write(&d.scenario.inventory, text).expect("inventory");
    let run_json = d.scenario.dir.join("audit.json").display().to_string();
    let allow = d.allow_args();
    let out_spec = format!("json={run_json}");
    let mut args = vec!["audit", "-i", &inv, "--quiet", "--output", &out_spec];
    args.extend(allow.iter().map(String::as_str));
    let (code, _, stderr) = cli(&args);
    assert_eq!(code, 1, "{stderr}");
    let audit: Run =
        serde_json::from_str(&std::fs::read_to_string(&run_json).expect("run")).expect("run");
    let in_dist = |run: &Run| -> Vec<(String, String, Option<String>, String)> {
        let mut v: Vec<_> = run
            .exposures
            .iter()
            .filter(|e| {
                e.location
                    .path
                    .as_deref()
                    .is_some_and(|p| p.ends_with("a.js"))
            })
            .map(|e| {
                (
                    e.rule.clone(),
                    e.vendor.clone(),
                    e.inventory_key.clone(),
                    e.evidence.fingerprint.clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let want = in_dist(&audit);
    assert_eq!(want.len(), 1, "{:?}", audit.exposures);
    assert_eq!(want[0].0, "inventory.known_value");
    assert_eq!(want[0].1, "iterable");
    assert_eq!(want[0].2.as_deref(), Some("iterable-web"));
    let dist_s = dist.display().to_string();
    for extra in [
        vec!["-i", inv.as_str()],
        vec!["--known-keys", run_json.as_str()],
    ] {
        let mut args = vec!["scan", dist_s.as_str(), "--quiet", "--format", "json"];
        args.extend(extra.iter().copied());
        let (code, stdout, stderr) = cli(&args);
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        assert_eq!(in_dist(&json_findings(&stdout)), want, "{extra:?}");
        assert!(!stdout.contains(&key) && !stderr.contains(&key));
    }
}
