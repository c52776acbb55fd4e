//! `audit` end to end: the 2020 scenario against the built-in emulators and demo storefront,
//! exceptions, policy downgrades, offline audits, shards and merge, stable SARIF fingerprints.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use vendorscope::audit::{self, AuditOptions, AuditResult};
use vendorscope::demo::{Keys, Scenario};
use vendorscope::gate::{EXIT_FAIL, EXIT_INCOMPLETE, GateOptions, exit_code};
use vendorscope::report::filter::Redactor;
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
    "VKS-PII-001 vendor:iterable",
    "VKS-PII-002 vendor:shopify",
    "VKS-SUP-001 vendor:iterable",
    "VKS-SUP-001 vendor:shopify",
    "VKS-SUP-004 vendor:iterable",
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
    assert_eq!(secrets.len(), 4);
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
        let text = render(run, f, RenderOptions::default()).expect("renders");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{f:?} leaks a key");
            assert!(
                !text.contains(&s[..s.len() - 4]),
                "{f:?} leaks a key prefix"
            );
        }
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
    let text = render(run, Format::Sarif, RenderOptions::default()).expect("sarif");
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
