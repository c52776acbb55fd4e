//! Upgrades keep alerts: run documents of schema 1 (fixtures/runs/v1, written by the last
//! version that wrote schema 1) are read by every reader, and SARIF `partialFingerprints` of
//! their findings equal those of a fresh run of the same scenario, so code scanning does not
//! reopen every alert after an upgrade. On the same scenario: `--known-keys` and `--inventory`
//! give the same rules for the same key, and unknown reasons name their cause.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vendorscope::run::SCHEMA_VERSION;

const V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/runs/v1");
const FIXTURES: [&str; 5] = [
    "scan.json",
    "audit-offline.json",
    "shard-1-of-2.json",
    "shard-2-of-2.json",
    "demo-run.json",
];

/// The scenario's synthetic keys (see fixtures/runs/v1/README.md).
const ENV: [(&str, &str); 3] = [
    ("VENDORSCOPE_FINGERPRINT_KEY", "vendorscope-v1-fixture"),
    (
        "VS_FIXTURE_STRIPE_KEY",
        "sk_live_Qm4TzR8vLx2NcW7pYk3HdJ9sFa6GbE1uVo5iZt0Xr",
    ),
    (
        "VS_FIXTURE_SHOPIFY_TOKEN",
        "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",
    ),
];

/// `vendorscope ARGS` in the fixture directory with the scenario's environment.
fn vs(args: &[&str]) -> std::process::Output {
    let mut c = assert_cmd::Command::cargo_bin("vendorscope").expect("bin");
    c.current_dir(V1)
        .args(["--color", "never", "--quiet"])
        .args(args)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("VENDORSCOPE_HOME", std::env::temp_dir());
    for (k, v) in ENV {
        c.env(k, v);
    }
    c.output().expect("run")
}

/// `scan scenario/site --known-keys RUN --format json`.
fn scan_known(run: &str) -> std::process::Output {
    vs(&[
        "scan",
        "scenario/site",
        "--known-keys",
        run,
        "--format",
        "json",
    ])
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn fixtures_are_schema_1() {
    for f in FIXTURES {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(Path::new(V1).join(f)).expect("read"))
                .expect("json");
        assert_eq!(doc["schema_version"], 1, "{f}");
    }
    assert_eq!(SCHEMA_VERSION, 2);
}

#[test]
fn every_reader_accepts_schema_1() {
    let dir = tempfile::tempdir().expect("tmp");
    for f in FIXTURES {
        // report: re-rendered as a run of the current schema, and in every other format.
        let json = out_path(&dir, &format!("{f}.json"));
        let html = out_path(&dir, &format!("{f}.html"));
        let o = vs(&[
            "report",
            f,
            "--output",
            &format!("json={}", arg(&json)),
            "--output",
            &format!("html={}", arg(&html)),
        ]);
        assert_eq!(o.status.code(), Some(0), "report {f}: {}", stderr(&o));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
        assert_eq!(doc["schema_version"], SCHEMA_VERSION, "{f}");
        // diff: a schema-1 run against itself and against its upgraded form.
        let o = vs(&["diff", f, f]);
        assert_eq!(o.status.code(), Some(0), "diff {f}: {}", stderr(&o));
        let o = vs(&["diff", f, arg(&json), "--format", "json"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "diff {f} upgraded: {}",
            stderr(&o)
        );
        let d: serde_json::Value = serde_json::from_slice(&o.stdout).expect("diff json");
        for k in ["new", "resolved", "changed"] {
            assert_eq!(d[k].as_array().map(Vec::len), Some(0), "{f} {k}: {d}");
        }
        // report --previous and policy controls --run.
        let o = vs(&["report", arg(&json), "--previous", f]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "report --previous {f}: {}",
            stderr(&o)
        );
        let o = vs(&["policy", "controls", "--run", f]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "policy controls {f}: {}",
            stderr(&o)
        );
        // --known-keys: the schema-1 run's fingerprints and shapes attribute the scan's hits.
        let o = scan_known(f);
        assert_ne!(o.status.code(), Some(2), "--known-keys {f}: {}", stderr(&o));
        assert!(!stderr(&o).contains("not supported"), "{}", stderr(&o));
    }
    // --known-keys attributes by the v1 run's key fingerprints.
    let o = scan_known("scan.json");
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).expect("scan json");
    let attributed: Vec<&str> = run["exposures"]
        .as_array()
        .expect("exposures")
        .iter()
        .filter_map(|e| e["inventory_key"].as_str())
        .collect();
    assert_eq!(attributed.len(), 2, "{attributed:?}");
    // --baseline: every finding of the schema-1 run is known; nothing new fails the gate.
    let o = vs(&[
        "scan",
        "scenario/site",
        "--inventory",
        "scenario/inventory.yaml",
        "--baseline",
        "scan.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "scan --baseline: {}", stderr(&o));
    let o = vs(&[
        "audit",
        "--offline",
        "-i",
        "scenario/inventory.yaml",
        "--baseline",
        "audit-offline.json",
    ]);
    // Rules added since schema 1 (webhook destinations, staff access) may add `unknown`
    // findings where the inventory never declared their facts: exit 3, never 1 or 2.
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "audit --baseline: {:?} {}",
        o.status.code(),
        stderr(&o)
    );
    // merge: the two schema-1 shards of the offline audit.
    let merged = out_path(&dir, "merged.json");
    let o = vs(&[
        "merge",
        "shard-1-of-2.json",
        "shard-2-of-2.json",
        "--output",
        &format!("json={}", arg(&merged)),
    ]);
    assert_ne!(o.status.code(), Some(2), "merge: {}", stderr(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("merged")).expect("json");
    assert_eq!(doc["schema_version"], SCHEMA_VERSION);
    let whole: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(V1).join("audit-offline.json")).expect("read"),
    )
    .expect("json");
    // Merging re-evaluates today's pack: the schema-1 audit's findings, plus those of rules
    // added since (never another finding of an old rule).
    let rules_of = |d: &serde_json::Value| -> Vec<String> {
        d["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let old_rules = rules_of(&whole);
    assert_eq!(
        rules_of(&doc)
            .iter()
            .filter(|r| old_rules.contains(r))
            .count(),
        old_rules.len(),
        "the merged shards hold the unsharded audit's findings"
    );
}

/// SARIF results by rule and subject: their `partialFingerprints`.
fn sarif_fingerprints(path: &Path) -> BTreeMap<(String, String), serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sarif")).expect("json");
    doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                (
                    r["ruleId"].as_str().unwrap_or_default().to_string(),
                    r["properties"]["subject"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                r["partialFingerprints"].clone(),
            )
        })
        .collect()
}

#[test]
fn sarif_fingerprints_survive_the_upgrade() {
    let dir = tempfile::tempdir().expect("tmp");
    for (fixture, fresh) in [
        (
            "scan.json",
            &[
                "scan",
                "scenario/site",
                "--inventory",
                "scenario/inventory.yaml",
            ][..],
        ),
        (
            "audit-offline.json",
            &["audit", "--offline", "-i", "scenario/inventory.yaml"][..],
        ),
    ] {
        let old = out_path(&dir, &format!("{fixture}.old.sarif"));
        let o = vs(&[
            "report",
            fixture,
            "--output",
            &format!("sarif={}", arg(&old)),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let new = out_path(&dir, &format!("{fixture}.new.sarif"));
        let json = out_path(&dir, &format!("{fixture}.new.json"));
        let mut args = fresh.to_vec();
        let sarif_out = format!("sarif={}", arg(&new));
        let json_out = format!("json={}", arg(&json));
        args.extend(["--output", &sarif_out, "--output", &json_out]);
        let o = vs(&args);
        assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
        let (a, b) = (sarif_fingerprints(&old), sarif_fingerprints(&new));
        assert!(!a.is_empty(), "{fixture}: no results");
        // Every finding of the schema-1 run is still there; the only additions come from
        // rules the schema-1 run did not have.
        let old_rules: std::collections::BTreeSet<&str> = a.keys().map(|k| k.0.as_str()).collect();
        assert!(
            a.keys().all(|k| b.contains_key(k)),
            "{fixture}: the same findings: {:?} vs {:?}",
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>()
        );
        let added: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
        assert!(
            added.iter().all(|k| !old_rules.contains(k.0.as_str())),
            "{fixture}: new findings of old rules: {added:?}"
        );
        for (k, fp) in &a {
            assert_eq!(Some(fp), b.get(k), "{fixture}: {k:?} keeps its fingerprint");
        }
        // And the run documents' own finding fingerprints (diff, baselines) agree.
        let o = vs(&["diff", fixture, arg(&json), "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let d: serde_json::Value = serde_json::from_slice(&o.stdout).expect("diff json");
        let new_of_old_rules = d["new"]
            .as_array()
            .expect("new")
            .iter()
            .filter(|f| old_rules.contains(f["rule"].as_str().unwrap_or_default()))
            .count();
        assert_eq!(new_of_old_rules, 0, "{fixture}: {d}");
        assert_eq!(
            d["resolved"].as_array().map(Vec::len),
            Some(0),
            "{fixture}: {d}"
        );
    }
}

// ------------------------------------------------ issue 15 point 7, on the same scenario

fn findings(stdout: &[u8]) -> Vec<(String, String, String, Option<String>)> {
    let run: serde_json::Value = serde_json::from_slice(stdout).expect("run json");
    run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["subject"]["id"].as_str().unwrap_or_default().to_string(),
                f["fingerprint"].as_str().unwrap_or_default().to_string(),
                f["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn known_keys_and_inventory_give_the_same_rules_for_the_same_key() {
    let by_inventory = vs(&[
        "scan",
        "scenario/site",
        "--inventory",
        "scenario/inventory.yaml",
        "--format",
        "json",
    ]);
    let by_fingerprint = scan_known("scan.json");
    assert_eq!(
        by_inventory.status.code(),
        Some(1),
        "{}",
        stderr(&by_inventory)
    );
    assert_eq!(
        by_fingerprint.status.code(),
        Some(1),
        "{}",
        stderr(&by_fingerprint)
    );
    let (a, b) = (
        findings(&by_inventory.stdout),
        findings(&by_fingerprint.stdout),
    );
    assert!(
        a.iter()
            .any(|f| f.0 == "VKS-EXP-001" && f.1 == "stripe-secret"),
        "{a:?}"
    );
    assert_eq!(a, b, "--inventory and --known-keys disagree");
}

#[test]
fn unknown_reasons_name_the_cause_in_the_one_status_vocabulary() {
    let o = vs(&[
        "audit",
        "--offline",
        "-i",
        "scenario/inventory.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let fs = findings(&o.stdout);
    let reason = |rule: &str, key: &str| {
        fs.iter()
            .find(|f| f.0 == rule && f.1 == key)
            .and_then(|f| f.3.clone())
            .unwrap_or_else(|| panic!("{rule} {key}: {fs:?}"))
    };
    // Nothing was scanned: that is why `exposed` is unknown, not the key's probe status.
    assert_eq!(
        reason("VKS-EXP-001", "stripe-secret"),
        "fact `exposed` not established: this run scanned no artifacts or surfaces"
    );
    // A field the inventory lacks is named as such, whatever the key's status.
    assert_eq!(
        reason("VKS-KEY-009", "shopify-admin"),
        "`last_used` is missing from the inventory: declare it on key `shopify-admin`"
    );
    // Status words are the run document's labels (`not_probed(offline)`), in every reason.
    assert!(reason("VKS-KEY-010", "stripe-secret").ends_with("not_probed(offline)"));
    for f in &fs {
        if let Some(r) = &f.3 {
            assert!(!r.contains("not probed"), "{f:?}");
            assert!(
                !r.contains("not_probed") || r.contains("not_probed(offline)"),
                "a status without its reason: {f:?}"
            );
        }
    }
}

#[test]
fn a_newer_schema_is_refused_by_every_reader() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(V1).join("scan.json")).expect("read"),
    )
    .expect("json");
    doc["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    let newer = out_path(&dir, "newer.json");
    std::fs::write(&newer, doc.to_string()).expect("write");
    let n = arg(&newer);
    for args in [
        vec!["report", n],
        vec!["diff", n, n],
        vec!["merge", n],
        vec!["policy", "controls", "--run", n],
        vec!["scan", "scenario/site", "--known-keys", n],
        vec![
            "scan",
            "scenario/site",
            "--inventory",
            "scenario/inventory.yaml",
            "--baseline",
            n,
        ],
    ] {
        let o = vs(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is newer than this vendorscope reads"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}
