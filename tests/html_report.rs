//! The HTML reassessment report's presentation (issue 15, item 9): the control-coverage chart
//! (natural order, titles, counts, axis, "not assessed"), data protection backed by findings
//! and facts only, "none recorded" for empty sections, "not declared" for values the
//! inventory did not give, unknown findings' advice and reason, and the assessor rows.

use std::collections::BTreeMap;
use std::path::Path;

use vendorscope::guard::{Clean, Redactor};
use vendorscope::report::html;
use vendorscope::run::{Finding, Outcome, Run};

const FIXTURE: &str = "fixtures/runs/v1/demo-run.json";

fn demo() -> Run {
    vendorscope::commands::report::load_run(Path::new(FIXTURE)).expect("fixture loads")
}

fn render(run: &Run) -> String {
    html::render(&Clean::new(run, &Redactor::new()).expect("clean"), None).expect("html")
}

/// The HTML between `<h2 id="ID">` and the next `<h2`.
fn section<'a>(h: &'a str, id: &str) -> &'a str {
    let start = h
        .find(&format!("<h2 id=\"{id}\">"))
        .unwrap_or_else(|| panic!("section {id}"));
    let end = h[start + 4..]
        .find("<h2")
        .map(|i| start + 4 + i)
        .unwrap_or(h.len());
    &h[start..end]
}

/// Every `data-control` of the coverage chart, in document order.
fn chart_controls(h: &str) -> Vec<String> {
    h.split("class=\"coverage-row\" data-control=\"")
        .skip(1)
        .map(|s| s[..s.find('"').expect("quote")].to_string())
        .collect()
}

fn natural(id: &str) -> Vec<u32> {
    id.trim_start_matches("A.")
        .split('.')
        .map(|p| p.parse().expect("number"))
        .collect()
}

/// A run whose coverage holds controls out of text order, one of them with nothing evaluated.
fn coverage_run() -> Run {
    let mut run = demo();
    let counts = |pairs: &[(&str, u32)]| -> BTreeMap<String, u32> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    run.controls = BTreeMap::from([
        (
            "ISO27001:2022/A.5.36".to_string(),
            counts(&[("pass", 2), ("fail", 1)]),
        ),
        (
            "ISO27001:2022/A.5.9".to_string(),
            counts(&[("pass", 3), ("unknown", 2)]),
        ),
        ("ISO27001:2022/A.8.12".to_string(), counts(&[("fail", 4)])),
        ("ISO27001:2022/A.6.8".to_string(), BTreeMap::new()),
        (
            "ISO27001:2022/A.5.10".to_string(),
            counts(&[("not_applicable", 3)]),
        ),
        ("ISO27001:2013/A.9.2.4".to_string(), counts(&[("fail", 4)])),
    ]);
    run
}

#[test]
fn coverage_chart_is_in_natural_order_with_titles_counts_and_axis() {
    let h = render(&coverage_run());
    let ids = chart_controls(&h);
    assert_eq!(ids, ["A.5.9", "A.5.10", "A.5.36", "A.6.8", "A.8.12"]);
    // The demo's own coverage is in natural order too.
    let demo_ids = chart_controls(&render(&demo()));
    assert!(demo_ids.len() > 20, "{demo_ids:?}");
    let mut sorted = demo_ids.clone();
    sorted.sort_by_key(|c| natural(c));
    assert_eq!(demo_ids, sorted);
    // Titles from the control catalogue, counts in words.
    for want in [
        "<tspan class=\"mono\">A.5.9</tspan> Inventory of information and other associated assets",
        "3 pass · 0 fail · 2 unknown",
        "<tspan class=\"mono\">A.5.36</tspan> Compliance with policies, rules and standards for information security",
        "2 pass · 1 fail · 0 unknown",
        "0 pass · 4 fail · 0 unknown",
        "<title>A.8.12 fail: 4</title>",
        "class=\"axis\"",
        "rule × subject outcomes",
        "class=\"legend\"",
    ] {
        assert!(h.contains(want), "missing {want}");
    }
    // 2013 ids are not rows; a control with nothing evaluated says so and has no bar.
    assert!(!h.contains("data-control=\"A.9.2.4\""));
    for id in ["A.6.8", "A.5.10"] {
        let row = &h[h.find(&format!("data-control=\"{id}\"")).expect("row")..];
        let row = &row[..row.find("</g>").expect("end of row")];
        assert!(row.contains("data-status=\"not assessed\""), "{row}");
        assert!(row.contains("not assessed"), "{row}");
        assert!(!row.contains("<rect"), "an empty bar: {row}");
    }
    // The coverage table is in the same order, with titles and status.
    let mapping = section(&h, "control-mapping");
    let pos = |s: &str| mapping.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(pos(">A.5.9<") < pos(">A.5.10<") && pos(">A.5.10<") < pos(">A.5.36<"));
    assert!(pos(">A.5.36<") < pos(">A.6.8<") && pos(">A.6.8<") < pos(">A.8.12<"));
    assert!(mapping.contains("<td>Information security event reporting</td>"));
}

#[test]
fn data_protection_flags_only_what_a_finding_or_fact_supports() {
    let run = demo();
    let h = render(&run);
    let s = section(&h, "data-protection");
    assert!(!s.to_lowercase().contains("beyond minimum"), "{s}");
    // Stripe and Adyen share payment_card; no finding says it is too much: nothing flagged.
    for v in ["Stripe", "Adyen"] {
        let row = &s[s.find(&format!("<tr><td>{v}</td>")).expect("row")..];
        let row = &row[..row.find("</tr>").expect("end")];
        assert!(row.contains("payment_card"), "{row}");
        assert!(
            !row.contains("class=\"fail\""),
            "{v} flagged without a finding: {row}"
        );
    }
    // Iterable's minimisation finding is listed, linked to the finding.
    let failing: Vec<&Finding> = run
        .findings
        .iter()
        .filter(|f| f.rule == "VKS-PII-001" && f.status == Outcome::Fail)
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(
        s.contains(">VKS-PII-001</a> <span class=\"fail\">fail</span>"),
        "{s}"
    );
    // Without that finding the vendor's row flags nothing.
    let mut quiet = run.clone();
    quiet.findings.retain(|f| {
        f.subject.vendor.as_deref() != Some("iterable")
            || !f.controls.iter().any(|c| c == "ISO27001:2022/A.5.34")
    });
    let h = render(&quiet);
    let s = section(&h, "data-protection");
    let row = &s[s.find("<tr><td>Iterable</td>").expect("row")..];
    let row = &row[..row.find("</tr>").expect("end")];
    assert!(!row.contains("class=\"fail\""), "{row}");
}

#[test]
fn empty_sections_say_none_recorded() {
    let mut run = demo();
    run.findings.clear();
    run.outcomes.clear();
    run.ledger.clear();
    run.controls.clear();
    for v in &mut run.facts.vendors {
        if let Some(a) = v.assessment.as_mut() {
            a.incidents_since_last_review.clear();
        }
    }
    let h = render(&run);
    for id in ["incidents", "findings", "exceptions", "control-mapping"] {
        assert!(
            section(&h, id).contains("None recorded"),
            "{id}: {}",
            section(&h, id)
        );
    }
    assert!(h.contains("None recorded: this run made no vendor call."));
    assert!(h.contains("None recorded: no rule with an ISO 27001:2022 control was evaluated."));
    // No table is only a header row.
    for table in h.split("<table").skip(1) {
        let table = &table[..table.find("</table>").expect("end")];
        assert!(table.contains("<td"), "header-only table: {table}");
    }
    // Nor with no vendor at all.
    let mut empty = demo();
    empty.facts.vendors.clear();
    empty.facts.keys.clear();
    let h = render(&empty);
    for table in h.split("<table").skip(1) {
        let table = &table[..table.find("</table>").expect("end")];
        assert!(table.contains("<td"), "header-only table: {table}");
    }
    assert!(section(&h, "relationship").contains("None recorded: no vendor in scope."));
}

#[test]
fn values_the_inventory_did_not_give_are_not_declared() {
    let mut run = demo();
    let stripe = run
        .facts
        .vendors
        .iter_mut()
        .find(|v| v.id == "stripe")
        .expect("stripe");
    if let Some(a) = stripe.assessment.as_mut() {
        a.contract_start = None;
        a.contract_end = None;
    }
    stripe.region = None;
    let key = run
        .facts
        .keys
        .iter_mut()
        .find(|k| k.vendor == "stripe")
        .expect("stripe key");
    key.created = None;
    key.last_used = None;
    let key_id = key.id.clone();
    let h = render(&run);
    // No dash stands for a missing value, and nothing is invented.
    assert!(!h.contains(">—<"), "a dash for a missing value");
    assert!(!h.contains("open-ended"));
    assert!(!h.contains("— →") && !h.contains("→ —"));
    let rel = section(&h, "relationship");
    let stripe = &rel[rel.find("<h3>Stripe</h3>").expect("stripe")..];
    let stripe = &stripe[..stripe.find("</table>").expect("end")];
    assert!(
        stripe.contains("<td class=\"k\">Contract</td><td>not declared</td>"),
        "{stripe}"
    );
    assert!(stripe.contains("<td class=\"k\">Hosting region</td><td>not declared</td>"));
    // The key block: created not declared, and its provenance says so (not "declared").
    let tech = section(&h, "technical");
    let block = &tech[tech.find(&format!("{key_id}</span>")).expect("key")..];
    let block = &block[..block.find("</table>").expect("end")];
    assert!(
        block.contains("<td class=\"k\">Created / age</td><td>not declared</td>"),
        "{block}"
    );
    assert!(block.contains("created: not declared"), "{block}");
    assert!(!block.contains("created: declared"), "{block}");
    assert!(block.contains("last_used: not declared"), "{block}");
    // A start without an end is shown as such.
    let mut partial = demo();
    for v in &mut partial.facts.vendors {
        if let Some(a) = v.assessment.as_mut() {
            a.contract_start = "2021-02-01".parse().ok();
            a.contract_end = None;
        }
    }
    assert!(render(&partial).contains("from 2021-02-01 (end not declared)"));
}

#[test]
fn unknown_findings_advise_establishing_the_fact_and_show_the_reason_once() {
    let mut run = demo();
    let f = run
        .findings
        .iter_mut()
        .find(|f| f.rule == "VKS-EXP-001")
        .expect("an exposure finding");
    let reason = "`created` is missing from the inventory: declare it on key `stripe-secret`";
    f.status = Outcome::Unknown;
    f.reason = Some(reason.into());
    f.message = format!("{}: not established ({reason})", f.title);
    f.remediation = "Revoke and rotate the key now; call the vendor from your backend.".into();
    let anchor = f
        .fingerprint
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let h = render(&run);
    let row = &h[h
        .find(&format!("<tr id=\"finding-{anchor}\">"))
        .expect("row")..];
    let row = &row[..row.find("</tr>").expect("end")];
    assert!(!row.contains("Revoke and rotate"), "{row}");
    assert!(row.contains("Establish the missing fact: declare the missing value in the inventory"));
    assert_eq!(row.matches(reason).count(), 1, "{row}");
    assert!(!row.contains("Reason:"), "{row}");
    // The same advice in the other per-finding formats.
    let clean = Clean::new(&run, &Redactor::new()).expect("clean");
    for format in [
        vendorscope::report::Format::Junit,
        vendorscope::report::Format::Ocsf,
    ] {
        let text = vendorscope::report::render(
            &clean,
            format,
            vendorscope::report::RenderOptions::default(),
        )
        .expect("render");
        assert!(
            text.contains("Establish the missing fact"),
            "{}",
            format.name()
        );
    }
}

#[test]
fn no_remediation_names_the_company_of_the_breach_story() {
    let set = vendorscope::policy::PolicySet::load_builtin().expect("built-in pack");
    for r in &set.rules {
        assert!(
            !r.remediation.to_lowercase().contains("ledger"),
            "{}: {}",
            r.id,
            r.remediation
        );
    }
    for dir in ["policies", "src"] {
        for path in files(Path::new(dir)) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().filter(|l| l.contains("remediation")) {
                assert!(!line.contains("Ledger"), "{}: {line}", path.display());
            }
        }
    }
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn assessor_and_operator_rows_only_when_recorded() {
    let mut run = demo();
    run.operator = None;
    run.ci = None;
    let h = render(&run);
    assert!(
        !h.contains(">Assessor<"),
        "an assessor row with nothing recorded"
    );
    assert!(!h.contains(">Operator<"));
    run.operator = Some("alice".into());
    let h = render(&run);
    assert!(h.contains("<td class=\"k\">Assessor</td><td>alice</td>"));
    assert!(h.contains("<td class=\"k\">Operator</td><td>alice</td>"));
    run.ci = Some(vendorscope::run::CiIdentity {
        provider: "github_actions".into(),
        job: Some("audit".into()),
        ..Default::default()
    });
    let h = render(&run);
    assert!(h.contains("<td class=\"k\">Assessor</td><td>alice via github_actions (audit)</td>"));
    run.operator = None;
    let h = render(&run);
    assert!(h.contains("<td class=\"k\">Assessor</td><td>github_actions (audit)</td>"));
}

#[test]
fn report_stays_self_contained() {
    let h = render(&coverage_run());
    let lower = h.to_lowercase();
    for bad in [
        "<script",
        "<link",
        "@import",
        "url(",
        " src=",
        "<iframe",
        "<img",
        "http://www.w3.org/1999/xlink",
    ] {
        assert!(!lower.contains(bad), "external or active content: {bad}");
    }
}

/// Issue 16: each vendor's relationship profile puts what the inventory declares beside what
/// the vendor showed, marks what is observed but not declared, and says why a fact was not
/// observed.
#[test]
fn relationship_profile_shows_declared_beside_observed() {
    let mut run = demo();
    let it = run
        .facts
        .vendors
        .iter_mut()
        .find(|v| v.id == "iterable")
        .expect("iterable");
    it.data_shared = vec!["email".into()];
    it.observed_data = Some(vec!["email".into(), "phone".into()]);
    it.observed_data_reason = None;
    it.webhook_destinations = Some(vec!["hooks.example.com".into()]);
    it.observed_webhooks = None;
    it.webhooks_reason = Some("unverifiable: needs a server-side key".into());
    let h = render(&run);
    let rel = section(&h, "relationship");
    assert!(
        rel.contains("Personal data held (profile schema): declared / observed</td><td>email / email, phone — <span class=\"fail\">not declared: phone</span>"),
        "{rel}"
    );
    assert!(
        rel.contains("Webhook destinations: declared / observed</td><td>hooks.example.com / <span class=\"unknown\">not observed</span> (unverifiable: needs a server-side key)"),
        "{rel}"
    );
}
