//! JUnit XML as GitLab and Jenkins read it: one testcase per rule × subject.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::guard::Clean;
use crate::run::{Finding, Outcome, OutcomeRecord, Run, Severity, Subject};

use super::RenderError;

struct Case<'a> {
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    subject: &'a Subject,
    status: Outcome,
    reason: Option<&'a str>,
    finding: Option<&'a Finding>,
}

fn subject_label(s: &Subject) -> String {
    format!("{} {}", s.kind.as_str(), s.id)
}

fn details(f: &Finding) -> String {
    let mut out = String::from(&f.message);
    for l in &f.locations {
        let place = l.url.as_deref().or(l.path.as_deref()).unwrap_or("");
        if place.is_empty() {
            continue;
        }
        out.push_str(&format!("\nLocation: {place}"));
        if let Some(line) = l.line {
            out.push_str(&format!(":{line}"));
            if let Some(c) = l.column {
                out.push_str(&format!(":{c}"));
            }
        }
        if let Some(o) = &l.original {
            out.push_str(&format!(" (original source {}:{})", o.path, o.line));
        }
        if let Some(g) = l.history_note() {
            out.push_str(&format!(" ({g})"));
        }
    }
    if let Some(e) = &f.evidence {
        out.push_str(&format!("\nKey: {} ({})", e.redacted, e.fingerprint));
    }
    if !f.controls.is_empty() {
        out.push_str(&format!("\nControls: {}", f.controls.join(", ")));
    }
    let advice = f.advice();
    if !advice.is_empty() {
        out.push_str(&format!("\nRemediation: {advice}"));
    }
    out
}

fn cases(run: &Run) -> Vec<Case<'_>> {
    let find = |rule: &str, s: &Subject| {
        run.findings
            .iter()
            .find(|f| f.rule == rule && f.subject.kind == s.kind && f.subject.id == s.id)
    };
    if run.outcomes.is_empty() {
        return run
            .findings
            .iter()
            .map(|f| Case {
                rule: &f.rule,
                title: &f.title,
                severity: f.severity,
                subject: &f.subject,
                status: f.status,
                reason: f.reason.as_deref(),
                finding: Some(f),
            })
            .collect();
    }
    let mut out: Vec<Case> = run
        .outcomes
        .iter()
        .map(|o: &OutcomeRecord| Case {
            rule: &o.rule,
            title: &o.title,
            severity: o.severity,
            subject: &o.subject,
            status: o.status,
            reason: o.reason.as_deref(),
            finding: find(&o.rule, &o.subject),
        })
        .collect();
    // Findings missing from the outcome list still appear.
    for f in &run.findings {
        if !run.outcomes.iter().any(|o| {
            o.rule == f.rule && o.subject.kind == f.subject.kind && o.subject.id == f.subject.id
        }) {
            out.push(Case {
                rule: &f.rule,
                title: &f.title,
                severity: f.severity,
                subject: &f.subject,
                status: f.status,
                reason: f.reason.as_deref(),
                finding: Some(f),
            });
        }
    }
    out
}

/// Suite `policy`: one failing testcase per built-in rule a user policy weakened (CI test views
/// show failures; a property per rule for tools that read them). The gate's exit code is not
/// changed by it unless `--deny-weakened-rules` is set.
fn weakened_suite(run: &Run) -> TestSuite {
    let mut suite = TestSuite::new("policy");
    for w in &run.weakened_rules {
        let lines = super::weakened::lines(w);
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(lines.first().cloned().unwrap_or_default())
            .set_type("weakened_rule")
            .set_description(lines.join("\n"));
        let mut tc = TestCase::new(format!("{} [weakened by user policy]", w.rule), s);
        tc.set_classname("policy.weakened");
        tc.extra.insert("file".into(), w.source.clone().into());
        suite.add_test_case(tc);
        suite.add_property(quick_junit::Property::new(
            format!("vendorscope.weakened_rule.{}", w.rule),
            format!("{}: {}", w.place(), w.summary()),
        ));
    }
    suite
}

/// Renders every rule × subject outcome as a JUnit report, one suite per vendor.
pub fn render(run: &Clean<Run>) -> Result<String, RenderError> {
    let mut suites: BTreeMap<String, Vec<TestCase>> = BTreeMap::new();
    let inventory = run.inputs.inventory.as_ref().map(|i| i.path.clone());
    let mut seen = std::collections::HashSet::new();
    for c in cases(run) {
        let vendor = c.subject.vendor.clone().unwrap_or_else(|| "run".into());
        let mut name = format!("{} [{}]", c.rule, subject_label(c.subject));
        if !seen.insert(name.clone()) {
            name = format!("{name} #{}", seen.len());
        }
        let msg = c
            .finding
            .map(|f| String::from(&f.message))
            .unwrap_or_else(|| c.title.to_string());
        let status = match c.status {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(msg.clone()).set_type(c.severity.as_str());
                if let Some(f) = c.finding {
                    s.set_description(details(f));
                }
                s
            }
            Outcome::Unknown => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(format!(
                    "could not be checked: {}",
                    String::from(c.reason.unwrap_or("a needed fact is missing"))
                ))
                .set_type("unknown");
                if let Some(f) = c.finding {
                    s.set_description(details(f));
                }
                s
            }
            Outcome::Excepted => {
                let mut s = TestCaseStatus::skipped();
                let text = match c.finding.and_then(|f| f.exception.as_ref()) {
                    Some(e) => format!(
                        "excepted until {} by {}{}: {}",
                        e.expires,
                        e.approver,
                        e.ticket
                            .as_deref()
                            .map(|t| format!(" ({t})"))
                            .unwrap_or_default(),
                        String::from(&e.reason)
                    ),
                    None => "excepted".into(),
                };
                s.set_message(text).set_type("excepted");
                s
            }
            Outcome::Unverifiable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!(
                    "unverifiable by design; declared value used{}",
                    c.reason
                        .map(|r| format!(": {}", String::from(r)))
                        .unwrap_or_default()
                ))
                .set_type("unverifiable");
                s
            }
            Outcome::NotApplicable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message("not applicable").set_type("not_applicable");
                s
            }
        };
        let mut tc = TestCase::new(name, status);
        tc.set_classname(format!("vendor.{vendor}"));
        let file = c
            .finding
            .and_then(|f| f.locations.iter().find_map(|l| l.path.clone()))
            .or_else(|| inventory.clone());
        if let Some(file) = file {
            tc.extra.insert("file".into(), file.into());
        }
        suites.entry(vendor).or_default().push(tc);
    }
    let mut report = Report::new("vendorscope");
    if !run.weakened_rules.is_empty() {
        report.add_test_suite(weakened_suite(run));
    }
    for (vendor, tcs) in suites {
        let mut suite = TestSuite::new(vendor);
        suite.add_test_cases(tcs);
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| RenderError(format!("junit: {e}")))
}
