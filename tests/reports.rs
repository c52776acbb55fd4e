//! Report renderers over the demo run fixture: SARIF, JUnit, annotations, Markdown, OCSF, HTML,
//! vendor scoping, the `report` command, and the planted-secret property test.

use std::path::Path;

use proptest::prelude::*;
use vendorscope::guard::{Clean, Redactor, encoded_forms};
use vendorscope::report::{Format, Output, RenderOptions, github, html, render, scope};
use vendorscope::run::{Finding, Location, Outcome, Run, Severity};
use vendorscope::secret::{Secret, redact};

const FIXTURE: &str = "fixtures/runs/demo-run.json";

const ALL: [Format; 8] = [
    Format::Table,
    Format::Json,
    Format::Sarif,
    Format::Junit,
    Format::Github,
    Format::Markdown,
    Format::Html,
    Format::Ocsf,
];

fn demo() -> Run {
    vendorscope::commands::report::load_run(Path::new(FIXTURE)).expect("fixture loads")
}

fn clean(run: &Run) -> Clean<Run> {
    Clean::new(run, &Redactor::new()).expect("clean")
}

fn sarif(run: &Run) -> serde_json::Value {
    serde_json::from_str(
        &render(&clean(run), Format::Sarif, RenderOptions::default()).expect("sarif"),
    )
    .expect("sarif is JSON")
}

#[test]
fn fixture_round_trips() {
    let text = std::fs::read_to_string(FIXTURE).expect("read");
    let original: serde_json::Value = serde_json::from_str(&text).expect("json");
    let run: Run = serde_json::from_value(original.clone()).expect("deserialize");
    let again = serde_json::to_value(&run).expect("serialize");
    assert_eq!(original, again);
}

#[test]
fn sarif_has_one_result_per_failing_or_unknown_finding() {
    let run = demo();
    let s = sarif(&run);
    assert_eq!(s["version"], "2.1.0");
    let r = &s["runs"][0];
    let expected = run
        .findings
        .iter()
        .filter(|f| matches!(f.status, Outcome::Fail | Outcome::Unknown))
        .count();
    let results = r["results"].as_array().expect("results");
    assert_eq!(results.len(), expected);
    assert!(
        r["automationDetails"]["id"]
            .as_str()
            .expect("id")
            .contains(&run.run_id)
    );
    for rule in r["tool"]["driver"]["rules"].as_array().expect("rules") {
        for p in [
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/text",
            "/help/markdown",
            "/name",
        ] {
            assert!(
                !rule
                    .pointer(p)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .is_empty(),
                "{p}"
            );
        }
        let tags = rule["properties"]["tags"].as_array().expect("tags");
        assert!(tags.iter().any(|t| t == "security"));
        assert!(rule["properties"]["precision"].is_string());
    }
    for res in results {
        let region = &res["locations"][0]["physicalLocation"]["region"];
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[k].as_u64().expect(k) >= 1);
        }
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(!uri.contains("://") && !uri.starts_with('/'), "{uri}");
        assert!(res["partialFingerprints"]["primaryLocationLineHash"].is_string());
        assert!(res["message"]["text"].as_str().expect("msg").ends_with('.'));
    }
    // The kill chain: anchored on the original source, the CDN URL in the message.
    let kc = results
        .iter()
        .find(|r| r["ruleId"] == "VKS-KEY-001")
        .expect("kill chain result");
    assert_eq!(kc["level"], "error");
    assert_eq!(
        kc["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/config/iterable.ts"
    );
    assert_eq!(
        kc["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
    assert!(
        kc["message"]["text"]
            .as_str()
            .expect("t")
            .contains("https://cdn.shop.example.com/")
    );
    let crit = r["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|x| x["id"] == "VKS-KEY-001")
        .expect("rule");
    assert_eq!(crit["properties"]["security-severity"], "9.5");
}

#[test]
fn sarif_fingerprints_survive_renamed_chunks() {
    let run = demo();
    let mut rebuilt = run.clone();
    for f in &mut rebuilt.findings {
        for l in &mut f.locations {
            if let Some(u) = &mut l.url {
                *u = u.replace("checkout-7f3a9c1e.js", "checkout-0b52d7aa.js");
                l.column = Some(51007);
            }
        }
    }
    let fp = |s: &serde_json::Value| -> Vec<String> {
        s["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                r["partialFingerprints"]["primaryLocationLineHash"]
                    .as_str()
                    .expect("fp")
                    .to_string()
            })
            .collect()
    };
    let a = fp(&sarif(&run));
    assert_eq!(a, fp(&sarif(&rebuilt)));
    let mut uniq = a.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), a.len(), "fingerprints are distinct");
}

#[test]
fn junit_parses_with_a_case_per_rule_and_subject() {
    let run = demo();
    let xml = render(&clean(&run), Format::Junit, RenderOptions::default()).expect("junit");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("junit parses");
    assert_eq!(report.tests, run.outcomes.len());
    assert_eq!(
        report.failures,
        run.outcomes
            .iter()
            .filter(|o| o.status == Outcome::Fail)
            .count()
    );
    assert_eq!(
        report.errors,
        run.outcomes
            .iter()
            .filter(|o| o.status == Outcome::Unknown)
            .count()
    );
    assert!(
        xml.contains("<skipped"),
        "excepted/n.a./unverifiable are skipped"
    );
    assert!(xml.contains("excepted until 2027-01-31 by ciso@example.com (SEC-1234)"));
    let mut names: Vec<String> = report
        .test_suites
        .iter()
        .flat_map(|s| {
            s.test_cases
                .iter()
                .map(|c| format!("{:?}/{:?}", s.name, c.name))
        })
        .collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "test names are unique");
}

fn finding(i: usize, sev: Severity, msg: &str) -> Finding {
    let mut f = demo().findings[0].clone();
    f.rule = format!("VKS-T-{i:03}");
    f.severity = sev;
    f.status = Outcome::Fail;
    f.message = msg.into();
    f.fingerprint = format!("t{i}");
    f
}

#[test]
fn annotations_are_capped_most_severe_first() {
    let mut run = demo();
    run.findings.clear();
    for i in 0..14 {
        run.findings.push(finding(i, Severity::Medium, "medium"));
    }
    for i in 14..27 {
        run.findings
            .push(finding(i, Severity::Critical, "critical"));
    }
    for i in 27..40 {
        run.findings.push(finding(i, Severity::Low, "low"));
    }
    let out = github::render(&clean(&run));
    let count = |p: &str| out.lines().filter(|l| l.starts_with(p)).count();
    assert_eq!(count("::error "), 10);
    assert_eq!(count("::warning "), 10);
    assert!(count("::notice ") <= 10);
    assert!(out.lines().next().expect("line").contains("critical"));
    // 3 errors, 4 warnings and 4 notices left out.
    assert!(
        out.contains("::notice title=vendorscope::11 more finding(s)"),
        "{out}"
    );
}

#[test]
fn annotations_cannot_inject_workflow_commands() {
    let mut run = demo();
    let mut f = finding(
        1,
        Severity::High,
        "key in bundle\n::set-env name=X::1\r\n\u{1b}[31mred\u{1b}[0m 100%",
    );
    f.title = "t,i:t\nle::add-mask::x".into();
    f.locations = vec![Location {
        path: Some("dist/a,b:c.js\n::set-output name=y::2".into()),
        line: Some(3),
        ..Default::default()
    }];
    run.findings = vec![f];
    let out = github::render(&clean(&run));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains('\u{1b}'));
    assert!(!out.contains('\r'));
    assert!(!out.contains("::set-env"));
    assert!(!out.contains("::set-output"));
    assert!(!out.contains("::add-mask"));
    assert!(out.starts_with("::error file=dist/a%2Cb%3Ac.js"), "{out}");
    // Outside text is single-line by construction (Clean), and `%` is still escaped.
    assert!(!out.contains("%0A") && out.contains("100%25"), "{out}");
}

#[test]
fn ocsf_lines_are_detection_findings() {
    let run = demo();
    let out = render(&clean(&run), Format::Ocsf, RenderOptions::default()).expect("ocsf");
    assert_eq!(out.lines().count(), run.findings.len());
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        assert_eq!(v["class_uid"], 2004);
        assert_eq!(v["category_uid"], 2);
        assert_eq!(v["type_uid"], 200401);
        assert!(v["finding_info"]["uid"].is_string());
        assert!(v["metadata"]["product"]["name"].is_string());
        assert!(v["time"].as_i64().expect("time") > 0);
        if v["status_code"] == "EXCEPTED" {
            assert_eq!(v["status_id"], 3);
        }
    }
    assert!(out.contains("\"severity_id\":5"));
}

#[test]
fn markdown_escapes_table_cells() {
    let mut run = demo();
    run.findings[0].message = "a | b <img src=x> `c`".into();
    let md = render(&clean(&run), Format::Markdown, RenderOptions::default()).expect("md");
    assert!(md.contains("a \\| b &lt;img src=x&gt; \\`c\\`"));
    assert!(md.contains("**expired**"));
}

#[test]
fn html_report_is_self_contained_and_has_every_section() {
    let run = demo();
    let h = html::render(&clean(&run), None).expect("html");
    for id in [
        "document-control",
        "executive-summary",
        "relationship",
        "contractual",
        "assurance",
        "technical",
        "data-protection",
        "incidents",
        "findings",
        "exceptions",
        "control-mapping",
        "evidence",
    ] {
        assert!(h.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    // Values specific to the demo.
    for s in [
        "iterable.ts:12:18",
        "approve_with_conditions",
        "IS 712345",
        "<svg",
        "EXPIRED",
        "A.9.2.4",
        "A.5.17",
        "4e1c9b27d0a35f8e",
        "management-live.adyen.com",
        "beyond purpose",
        "read_all_orders",
        "(none — any)",
        "804 (stale)",
        "first_name, postal_address, phone, order_items",
    ] {
        assert!(h.contains(s), "missing {s}");
    }
    assert!(h.contains("@media print"));
    let lower = h.to_lowercase();
    for bad in [
        "<script", "<link", "@import", "url(", " src=", "<iframe", "<img",
    ] {
        assert!(!lower.contains(bad), "external or active content: {bad}");
    }
}

#[test]
fn html_escapes_inventory_values() {
    let mut run = demo();
    let planted = "<script>alert(1)</script>";
    run.facts.vendors[0].name = planted.into();
    if let Some(a) = run.facts.vendors[0].assessment.as_mut() {
        a.notes = Some(planted.into());
    }
    run.facts.vendors[0].subprocessors.push(planted.into());
    run.findings[0].message = format!("x {planted}");
    let h = html::render(&clean(&run), None).expect("html");
    assert!(!h.contains("<script"), "planted script survived");
    assert!(h.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
}

#[test]
fn vendor_pack_has_no_other_vendor_data() {
    let run = demo();
    let pack = scope::vendor_only(&run, "shopify");
    assert!(!pack.findings.is_empty());
    let others: Vec<String> = run
        .keys
        .iter()
        .filter(|k| k.vendor != "shopify")
        .flat_map(|k| [k.id.clone(), k.fingerprint.clone().unwrap_or_default()])
        .chain(["iterable", "stripe", "adyen"].map(String::from))
        .collect();
    for f in ALL {
        let text = match f {
            Format::Html => html::render(&clean(&pack), None).expect("html"),
            f => render(&clean(&pack), f, RenderOptions::default()).expect("render"),
        }
        .to_lowercase();
        for o in &others {
            assert!(!text.contains(&o.to_lowercase()), "{} leaks {o}", f.name());
        }
    }
}

#[test]
fn html_delta_since_previous_run() {
    let run = demo();
    let mut prev = run.clone();
    prev.run_id = "run-previous".into();
    prev.findings.retain(|f| f.rule != "VKS-KEY-001");
    prev.findings[0].status = Outcome::Unknown;
    let mut gone = prev.findings[1].clone();
    gone.fingerprint = "vks1:resolved".into();
    gone.rule = "VKS-OLD-001".into();
    prev.findings.push(gone);
    let h = html::render(&clean(&run), Some(&clean(&prev))).expect("html");
    assert!(h.contains("Changes since the previous assessment (run-previous"));
    assert!(h.contains(">new</td><td>VKS-KEY-001"));
    assert!(h.contains(">resolved</td><td>VKS-OLD-001"));
    assert!(
        h.contains("unknown, high → fail, high"),
        "changed status shown"
    );
}

#[test]
fn report_command_renders_saved_run_without_network() {
    let dir = tempfile::tempdir().expect("tmp");
    let sarif_path = dir.path().join("r.sarif");
    let html_path = dir.path().join("r.html");
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args([
            "report", FIXTURE, "--format", "markdown", "--vendor", "iterable",
        ])
        .arg("--output")
        .arg(format!("sarif={}", sarif_path.display()))
        .arg("--output")
        .arg(format!("html={}", html_path.display()))
        .arg("--previous")
        .arg(FIXTURE)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("VKS-KEY-001") && !md.contains("shopify"));
    assert!(
        std::fs::read_to_string(&html_path)
            .expect("html")
            .contains("No change.")
    );
    assert!(
        std::fs::read_to_string(&sarif_path)
            .expect("sarif")
            .contains("\"2.1.0\"")
    );
    // Unknown vendor and bad documents are configuration errors (exit 2), not panics.
    let bad = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args(["report", FIXTURE, "--vendor", "nope"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"schema_version\": 1,").expect("write");
    let bad = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args(["report"])
        .arg(&junk)
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("junk.json:1:"));
}

#[test]
fn github_format_appends_step_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").expect("write");
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args(["report", FIXTURE, "--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("::error file=src/config/iterable.ts")
    );
    let s = std::fs::read_to_string(&summary).expect("read");
    assert!(s.starts_with("earlier step\n# vendorscope report"));
    assert!(s.contains("VKS-SUP-004"));
}

/// With stdout on the null device the report for it is not rendered (nobody can read it),
/// while the `--output` files and the GitHub step summary are written as always, and the
/// exit code is the same.
#[test]
fn stdout_on_the_null_device_is_not_rendered_but_files_are_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let summary = dir.path().join("summary.md");
    let json = dir.path().join("run.json");
    let run = |stdout: std::process::Stdio| {
        std::fs::write(&summary, "").expect("write");
        let _ = std::fs::remove_file(&json);
        std::process::Command::new(assert_cmd::cargo::cargo_bin("vendorscope"))
            .args(["report", FIXTURE, "--format", "github", "-vv"])
            .arg("--output")
            .arg(format!("json={}", json.display()))
            .env("GITHUB_STEP_SUMMARY", &summary)
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run")
    };
    let shown = run(std::process::Stdio::piped());
    let discarded = run(std::process::Stdio::null());
    assert_eq!(shown.status.code(), discarded.status.code());
    assert!(String::from_utf8_lossy(&shown.stdout).contains("::error"));
    let said = String::from_utf8_lossy(&discarded.stderr);
    assert!(
        said.contains("stdout is the null device; not rendered"),
        "{said}"
    );
    assert!(!String::from_utf8_lossy(&shown.stderr).contains("null device"));
    let s = std::fs::read_to_string(&summary).expect("read");
    assert!(s.contains("VKS-SUP-004"), "{s}");
    let j = std::fs::read_to_string(&json).expect("json written");
    assert!(j.contains("\"outcomes\""));
}

#[test]
fn completions_and_man_page() {
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("vendorscope"));
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .arg("man")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH vendorscope"));
}

/// Every string a secret must never appear as in an output.
fn forbidden(key: &str) -> Vec<String> {
    let shown = redact(key);
    let prefix_len = shown.split('…').next().unwrap_or("").len();
    let mut out: Vec<String> = encoded_forms(key)
        .into_iter()
        .filter(|f| f.len() >= 8)
        .collect();
    let bytes = key.as_bytes();
    for start in 0..bytes.len().saturating_sub(7) {
        if start + 8 <= prefix_len {
            continue;
        }
        out.push(key[start..start + 8].to_string());
    }
    out
}

fn plant(run: &mut Run, key: &str) {
    let k = key.to_string();
    run.findings[0].message = format!("leaked {k} here");
    run.findings[1].remediation = format!("rotate {k}");
    run.findings[2].locations.push(Location {
        path: Some(format!("dist/{k}.js")),
        url: None,
        line: Some(1),
        ..Default::default()
    });
    run.findings[3].locations.push(Location {
        url: Some(format!("https://shop.example.com/x?token={k}")),
        ..Default::default()
    });
    if let Some(e) = run.findings[5].exception.as_mut() {
        e.reason = format!("approved for {k}");
    }
    run.findings[8].reason = Some(format!("probe said {k}"));
    run.findings[4]
        .evidence
        .as_mut()
        .expect("evidence")
        .redacted = k.clone();
    run.facts.vendors[0].name = format!("Iterable {k}");
    run.facts.vendors[1].subprocessors.push(k.clone());
    if let Some(a) = run.facts.vendors[0].assessment.as_mut() {
        a.notes = Some(format!("notes <{k}>"));
        a.incidents_since_last_review[0].summary = format!("leak of \"{k}\"");
    }
    run.facts.keys[0].purpose = Some(k.clone());
    run.keys[1].redacted = Some(k.clone());
    run.ledger[0].path = format!("/api/{k}");
    run.warnings.push(format!("warning {k}"));
    run.errors.push(vendorscope::run::RunError {
        stage: "probe".into(),
        subject: None,
        message: format!("vendor echoed {k}"),
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn no_output_contains_a_planted_key(
        prefix in prop::sample::select(vec!["sk_live_", "shpat_", "rk_live_", "AQE", "", "pk_test_"]),
        body in "[A-Za-z0-9][A-Za-z0-9_+/=.-]{18,44}[A-Za-z0-9]",
    ) {
        let key = format!("{prefix}{body}");
        let mut run = demo();
        plant(&mut run, &key);
        let redactor = Redactor::new();
        redactor.add_secret(&Secret::new(key.clone()));
        let out = Output::new(redactor.clone(), true, false);
        let dir = tempfile::tempdir().expect("tmp");
        let forms = forbidden(&key);
        for (i, f) in ALL.iter().enumerate() {
            let rendered = match f {
                Format::Html => html::render(&Clean::new(&run, &redactor).expect("clean"), Some(&clean(&demo()))).expect("html"),
                f => render(&Clean::new(&run, &redactor).expect("clean"), *f, RenderOptions::default()).expect("render"),
            };
            let path = dir.path().join(format!("out{i}"));
            out.write_file(&path, &rendered).expect("write");
            let file = std::fs::read_to_string(&path).expect("read");
            let stdout = redactor.filter(&rendered);
            for text in [&file, &stdout] {
                for form in &forms {
                    prop_assert!(!text.contains(form.as_str()), "{} contains {:?} of key {:?}", f.name(), form, key);
                }
            }
        }
    }
}

/// The run with one weakened built-in rule, as a user policy in the checkout would record it.
fn with_weakened(user_require: &str, source: &str) -> Run {
    let mut run = demo();
    run.weakened_rules = vec![vendorscope::run::WeakenedRule {
        rule: "VKS-EXP-001".into(),
        source: source.into(),
        line: Some(4),
        changes: vec![
            vendorscope::run::Weakening {
                field: "enforcement".into(),
                builtin: "block".into(),
                user: "report".into(),
                line: None,
            },
            vendorscope::run::Weakening {
                field: "require".into(),
                builtin: "!key.exposed".into(),
                user: user_require.into(),
                line: Some(6),
            },
        ],
    }];
    run
}

#[test]
fn weakened_rules_show_in_every_format() {
    // Nothing says "weakened" for a run without weakened rules.
    for f in ALL {
        let text = render(&clean(&demo()), f, RenderOptions::default()).expect("renders");
        assert!(!text.to_lowercase().contains("weakened"), "{f:?}");
    }
    let run = with_weakened("true", "policies/weaker.yaml");
    for f in ALL {
        let text = render(&clean(&run), f, RenderOptions::default()).expect("renders");
        assert!(
            text.to_lowercase().contains("weakened")
                && text.contains("VKS-EXP-001")
                && text.contains("!key.exposed"),
            "{f:?} does not show the weakened rule and its diff:\n{text}"
        );
    }
    let table = render(&clean(&run), Format::Table, RenderOptions::default()).expect("table");
    assert!(table.contains(
        "WEAKENED built-in rules (1): a user policy disabled, lowered or rewrote them\n  built-in rule VKS-EXP-001 weakened by policies/weaker.yaml:4: enforcement block → report; require changed\n      require (built-in -, user policy +):\n        - !key.exposed\n        + true\n"
    ), "{table}");
    assert!(table.contains(", 1 weakened rule(s)\n"), "{table}");

    // SARIF: a warning alert on the policy line, a configuration notification, run properties.
    let s = sarif(&run);
    let r = &s["runs"][0];
    assert_eq!(r["properties"]["weakenedRules"][0]["rule"], "VKS-EXP-001");
    assert_eq!(
        r["properties"]["weakenedRules"][0]["changes"][1]["user"],
        "true"
    );
    let n = &r["invocations"][0];
    assert_eq!(n["executionSuccessful"], true);
    assert_eq!(n["toolConfigurationNotifications"][0]["level"], "warning");
    let res = r["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|x| x["ruleId"] == "vendorscope/weakened-rule")
        .expect("a result for the weakened rule");
    assert_eq!(res["level"], "warning");
    let loc = &res["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "policies/weaker.yaml");
    assert_eq!(loc["region"]["startLine"], 4);
    let idx = res["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(
        r["tool"]["driver"]["rules"][idx]["id"],
        "vendorscope/weakened-rule"
    );
    assert!(res["message"]["text"].as_str().expect("t").ends_with('.'));

    // GitHub: a warning annotation on the policy line, before any finding.
    let gh = render(&clean(&run), Format::Github, RenderOptions::default()).expect("github");
    assert!(
        gh.starts_with("::warning file=policies/weaker.yaml,line=4,title=Weakened built-in rule VKS-EXP-001::built-in rule VKS-EXP-001 weakened by policies/weaker.yaml:4: enforcement block → report; require changed%0A    require (built-in -, user policy +):%0A      - !key.exposed%0A      + true\n"),
        "{gh}"
    );

    // JUnit: a failing testcase (GitLab and Jenkins show failures) and a suite property.
    let xml = render(&clean(&run), Format::Junit, RenderOptions::default()).expect("junit");
    assert!(xml.contains("<testsuite name=\"policy\""), "{xml}");
    assert!(
        xml.contains("VKS-EXP-001 [weakened by user policy]"),
        "{xml}"
    );
    assert!(xml.contains("type=\"weakened_rule\""), "{xml}");
    assert!(
        xml.contains("name=\"vendorscope.weakened_rule.VKS-EXP-001\""),
        "{xml}"
    );

    // Markdown: the section comes first, with a diff block.
    let md = render(&clean(&run), Format::Markdown, RenderOptions::default()).expect("md");
    let at = md
        .find("## ⚠ Weakened built-in rules (1)")
        .expect("section");
    assert!(at < md.find("## Findings").expect("findings"));
    assert!(
        md.contains("```diff\n@@ require @@\n- !key.exposed\n+ true\n```"),
        "{md}"
    );
}

#[test]
fn weakened_rule_text_cannot_inject() {
    // Policy files can come from a pull request: control characters and workflow commands in
    // an expression or a file name never reach a format raw.
    let run = with_weakened(
        "true || '\u{1b}[2J\u{1b}]0;title\u{7}'\n::set-env name=X::y\n```\n<script>",
        "policies/we\u{1b}[31mak.yaml",
    );
    for f in ALL {
        let text = render(&clean(&run), f, RenderOptions::default()).expect("renders");
        assert!(!text.contains('\u{1b}'), "{f:?} keeps an escape");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("::set-env")),
            "{f:?} lets a workflow command through"
        );
        if matches!(f, Format::Html) {
            assert!(!text.contains("<script>"), "html");
        }
        if matches!(f, Format::Markdown) {
            assert_eq!(text.matches("```").count(), 2, "the fence holds:\n{text}");
        }
    }
}
