//! The self-contained HTML vendor reassessment report (inline CSS and SVG, no network).

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Environment;
use serde_json::{Value, json};

use crate::facts::{KeyFacts, VendorFacts};
use crate::guard::Clean;
use crate::run::{ControlTally, Finding, Outcome, Run, Severity};

use super::RenderError;

const TEMPLATE: &str = include_str!("templates/report.html");
const CSS: &str = include_str!("templates/report.css");

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// 2022 ids, 2013 ids and titles of one rule.
type RuleControls = (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>);

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8b0000",
        Severity::High => "#d9480f",
        Severity::Medium => "#e8a500",
        Severity::Low => "#1c7ed6",
        Severity::Info => "#868e96",
    }
}

fn status_color(s: &str) -> &'static str {
    match s {
        "pass" => "#2b8a3e",
        "fail" => "#c92a2a",
        "unknown" => "#e8a500",
        "excepted" => "#7048e8",
        "unverifiable" => "#1c7ed6",
        _ => "#adb5bd",
    }
}

fn date_of(s: &str) -> Option<jiff::civil::Date> {
    let d = s.get(..10)?;
    d.parse().ok()
}

fn days_between(from: &str, to: &str) -> Option<i64> {
    let a = date_of(from)?;
    let b = date_of(to)?;
    a.until(b).ok().map(|s| i64::from(s.get_days()))
}

/// Due date for a failing finding, by severity, from the run date.
fn due(run_date: &str, s: Severity) -> String {
    let days = match s {
        Severity::Critical => 1,
        Severity::High => 7,
        Severity::Medium => 30,
        Severity::Low => 90,
        Severity::Info => 180,
    };
    date_of(run_date)
        .and_then(|d| d.checked_add(jiff::Span::new().days(days)).ok())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn place(l: &crate::run::Location) -> String {
    let mut p = l.url.clone().or_else(|| l.path.clone()).unwrap_or_default();
    if let Some(line) = l.line {
        p.push_str(&format!(":{line}"));
        if let Some(c) = l.column {
            p.push_str(&format!(":{c}"));
        }
    }
    if let Some(g) = l.history_note() {
        p.push_str(&format!(" ({g})"));
    }
    p
}

fn finding_value(run: &Run, f: &Finding, owner: Option<&str>) -> Value {
    let (c22, c13) = split_controls(&f.controls);
    let expired = f.exception.as_ref().map(|e| e.expired).unwrap_or(false);
    json!({
        "anchor": format!("finding-{}", anchor_id(&f.fingerprint)),
        "rule": f.rule,
        "title": f.title,
        "severity": f.severity.as_str(),
        "severity_color": sev_color(f.severity),
        "status": if expired { "fail (exception expired)".to_string() } else { f.status.as_str().to_string() },
        "status_class": f.status.as_str(),
        "subject": format!("{} {}", f.subject.kind.as_str(), f.subject.id),
        "vendor": f.subject.vendor,
        // An unknown's message restates its reason: the reason is shown once, as the message.
        "message": if f.status == Outcome::Unknown {
            format!("Could not be checked: {}", f.reason.as_deref().unwrap_or("a needed fact is missing"))
        } else {
            f.message.to_string()
        },
        "reason": f.reason.as_deref().filter(|r| f.status != Outcome::Unknown && !f.message.contains(*r)).map(str::to_string),
        "remediation": f.advice(),
        "locations": f.locations.iter().map(|l| json!({
            "place": place(l),
            "original": l.original.as_ref().map(|o| format!("{}:{}:{}", o.path, o.line, o.column)),
        })).collect::<Vec<_>>(),
        "key": f.evidence.as_ref().map(|e| format!("{} ({})", e.redacted, e.fingerprint)),
        "controls_2022": c22,
        "controls_2013": c13,
        "owner": owner,
        "due": if f.status == Outcome::Fail { due(&run.started_at, f.severity) } else { String::new() },
        "fingerprint": f.fingerprint,
    })
}

fn split_controls(cs: &[String]) -> (Vec<String>, Vec<String>) {
    let mut a = vec![];
    let mut b = vec![];
    for c in cs {
        if let Some(x) = c.strip_prefix("ISO27001:2022/") {
            a.push(x.to_string());
        } else if let Some(x) = c.strip_prefix("ISO27001:2013/") {
            b.push(x.to_string());
        } else {
            a.push(c.clone());
        }
    }
    (a, b)
}

fn key_value(run: &Run, k: &KeyFacts) -> Value {
    let rec = run
        .keys
        .iter()
        .find(|r| r.id == k.id && r.vendor == k.vendor);
    let allowed: BTreeSet<&String> = k.allowed_capabilities.iter().collect();
    let caps = k.capabilities.clone().unwrap_or_default();
    let excess: Vec<&String> = caps.iter().filter(|c| !allowed.contains(c)).collect();
    let run_date = &run.started_at;
    let exposures: Vec<Value> = run
        .exposures
        .iter()
        .filter(|e| k.exposure_ids.contains(&e.id))
        .map(|e| {
            json!({
                "id": e.id,
                "source": e.source,
                "place": if e.occurrences > 1 {
                    format!("{} ({} occurrences)", place(&e.location), e.occurrences)
                } else {
                    place(&e.location)
                },
                "original": e.location.original.as_ref().map(|o| format!("{}:{}:{}", o.path, o.line, o.column)),
                "observed_at": e.observed_at,
                "confidence": format!("{:?}", e.confidence).to_lowercase(),
            })
        })
        .collect();
    // A declared field the inventory does not give is "not declared", not "declared".
    let facts = serde_json::to_value(k).unwrap_or(Value::Null);
    let prov: Vec<Value> = k
        .provenance
        .iter()
        .map(|(f, p)| {
            let absent = matches!(facts.get(f.as_str()), None | Some(Value::Null));
            let source = if p.source == crate::facts::Source::Declared && absent {
                "not declared".to_string()
            } else {
                format!("{:?}", p.source).to_lowercase()
            };
            json!({"field": f, "source": source, "at": p.at})
        })
        .collect();
    json!({
        "id": k.id,
        "vendor": k.vendor,
        "redacted": rec.and_then(|r| r.redacted.clone()),
        "fingerprint": k.fingerprint,
        "declared_type": k.key_type,
        "observed_type": k.observed_type,
        "purpose": k.purpose.as_deref().map(str::to_string),
        "allowed": k.allowed_capabilities,
        "granted": k.granted,
        "capabilities": caps,
        "excess": excess,
        "unverifiable": k.unverifiable,
        "status": crate::run::status_label(&k.status, k.status_reason.as_deref()),
        "account": k.account.as_deref().map(str::to_string),
        "expected_account": k.expected_account.as_deref().map(str::to_string),
        "account_matches": k.account_matches,
        "environment": k.environment,
        "requires_jwt": k.requires_jwt,
        "created": k.created,
        "age_days": k.created.as_deref().and_then(|c| days_between(c, run_date)),
        "last_rotated": k.last_rotated,
        "rotation_days": k.last_rotated.as_deref().and_then(|c| days_between(c, run_date)),
        "last_used": k.last_used,
        "restrictions": k.restrictions.as_ref().map(|r| r.iter().map(|(k, v)| format!("{k}: {}", if v.is_empty() { "(none — any)".to_string() } else { v.join(", ") })).collect::<Vec<_>>()),
        "exposed": k.exposed,
        "exposures": exposures,
        "provenance": prov,
        "probed_at": rec.and_then(|r| r.profile.as_ref()).and_then(|p| p.probed_at.clone()),
    })
}

/// The control of privacy and protection of personal data: the rules mapped to it are the data-protection
/// checks the report's data-protection section lists per vendor.
const PRIVACY_CONTROL: &str = "ISO27001:2022/A.5.34";

/// A vendor's data-protection checks: its findings of rules mapped to [`PRIVACY_CONTROL`]
/// (failing, unknown or excepted), and whether any such rule was evaluated for it at all.
fn privacy_checks(run: &Run, vendor: &str, findings: &[&Finding]) -> (Vec<Value>, bool) {
    let relevant = |controls: &[String]| controls.iter().any(|c| c == PRIVACY_CONTROL);
    let listed: Vec<Value> = findings
        .iter()
        .filter(|f| relevant(&f.controls))
        .map(|f| {
            json!({
                "rule": f.rule, "status": f.status.as_str(),
                "anchor": format!("finding-{}", anchor_id(&f.fingerprint)),
                "text": if f.status == Outcome::Unknown { format!("could not be checked: {}", f.reason.as_deref().unwrap_or("a needed fact is missing")) } else { f.message.to_string() },
            })
        })
        .collect();
    let evaluated = !listed.is_empty()
        || run.outcomes.iter().any(|o| {
            o.subject.kind == crate::run::SubjectKind::Vendor
                && o.subject.id == vendor
                && relevant(&o.controls)
                && o.status != Outcome::NotApplicable
        });
    (listed, evaluated)
}

/// An HTML id fragment of a finding fingerprint.
fn anchor_id(fingerprint: &str) -> String {
    fingerprint.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
}

/// The contract period as declared: `2021-02-01 → 2026-01-31`, `from 2021-02-01 (end not
/// declared)`, or `not declared`; never an invented "open-ended".
fn contract_text(start: Option<jiff::civil::Date>, end: Option<jiff::civil::Date>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("{s} → {e}"),
        (Some(s), None) => format!("from {s} (end not declared)"),
        (None, Some(e)) => format!("until {e} (start not declared)"),
        (None, None) => "not declared".into(),
    }
}

/// One "declared / observed" row of a vendor's relationship profile: what the inventory says,
/// what the vendor's own API showed, and what of the observed the inventory does not cover.
fn declared_vs_observed(
    label: &str,
    declared: Option<String>,
    observed: Option<Vec<String>>,
    beyond: &[String],
    reason: Option<&String>,
) -> Value {
    json!({
        "label": label,
        "declared": declared.unwrap_or_else(|| "not declared".into()),
        "observed": observed.map(|o| if o.is_empty() { "none".to_string() } else { o.join(", ") }),
        "beyond": beyond,
        "reason": reason,
    })
}

/// The personal-data categories observed at the vendor (a fact) that the inventory does not
/// declare.
fn observed_not_declared(v: &VendorFacts) -> Vec<String> {
    v.observed_data
        .iter()
        .flatten()
        .filter(|c| !v.data_shared.contains(c))
        .cloned()
        .collect()
}

/// The vendor's observed facts beside their declared counterparts (the observations a run
/// made or tried; none when no key of the vendor could make them).
fn observed_rows(v: &VendorFacts) -> Vec<Value> {
    let mut rows = vec![];
    if v.observed_data.is_some() || v.observed_data_reason.is_some() {
        rows.push(declared_vs_observed(
            "Personal data held (profile schema)",
            Some(v.data_shared.join(", ")).filter(|s| !s.is_empty()),
            v.observed_data.clone(),
            &observed_not_declared(v),
            v.observed_data_reason.as_ref(),
        ));
    }
    if v.observed_webhooks.is_some() || v.webhooks_reason.is_some() {
        rows.push(declared_vs_observed(
            "Webhook destinations",
            v.webhook_destinations.as_ref().map(|d| {
                if d.is_empty() {
                    "none allowed".to_string()
                } else {
                    d.join(", ")
                }
            }),
            v.observed_webhook_destinations.clone(),
            v.undeclared_webhook_destinations
                .as_deref()
                .unwrap_or_default(),
            v.webhooks_reason.as_ref(),
        ));
    }
    if v.observed_credentials.is_some() || v.credentials_reason.is_some() {
        rows.push(declared_vs_observed(
            "API credentials (keys / active credentials)",
            Some(v.key_ids.join(", ")).filter(|s| !s.is_empty()),
            v.observed_credentials.as_ref().map(|c| {
                c.iter()
                    .filter(|c| c.active)
                    .map(|c| c.id.clone())
                    .collect()
            }),
            v.undeclared_credentials.as_deref().unwrap_or_default(),
            v.credentials_reason.as_ref(),
        ));
    }
    if v.observed_staff.is_some() || v.staff_reason.is_some() {
        rows.push(declared_vs_observed(
            "Staff with order access",
            v.admin_accounts
                .as_ref()
                .and_then(|a| a.count)
                .map(|n| format!("{n} admin account(s)")),
            v.staff_with_order_access
                .as_ref()
                .map(|s| vec![format!("{} account(s): {}", s.len(), s.join(", "))]),
            &[],
            v.staff_reason.as_ref(),
        ));
    }
    rows
}

fn vendor_value(run: &Run, v: &VendorFacts, findings: &[&Finding]) -> Value {
    let a = v.assessment.clone().unwrap_or_default();
    let (privacy, privacy_evaluated) = privacy_checks(run, &v.id, findings);
    let observed_beyond = observed_not_declared(v);
    let mut by_sev = BTreeMap::new();
    for s in SEVERITIES {
        by_sev.insert(
            s.as_str(),
            findings
                .iter()
                .filter(|f| f.severity == s && f.status == Outcome::Fail)
                .count(),
        );
    }
    let stale_days = v
        .last_reassessment
        .as_deref()
        .and_then(|d| days_between(d, &run.started_at));
    let json_date = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string());
    json!({
        "id": v.id,
        "name": v.name.to_string(),
        "category": v.category,
        "tier": v.tier,
        "owner": v.owner,
        "region": v.region,
        "data_shared": v.data_shared,
        "observed_data": v.observed_data,
        "observed_data_reason": v.observed_data_reason,
        "observed_beyond": observed_beyond,
        "observed_rows": observed_rows(v),
        "privacy": privacy,
        "privacy_evaluated": privacy_evaluated,
        "dpa": v.dpa.as_ref().map(|d| json!({"signed": d.signed, "signed_on": d.signed_on, "reference": d.reference})),
        "attestations": v.attestations.iter().map(|a| json!({"type": a.kind, "valid_until": a.valid_until, "expired": days_between(&a.valid_until, &run.started_at).map(|d| d > 0)})).collect::<Vec<_>>(),
        "last_reassessment": v.last_reassessment,
        "reviewer": v.last_reassessment_reviewer,
        "reassessment_age_days": stale_days,
        "reassessment_stale": stale_days.map(|d| d > 365).unwrap_or(true),
        "retention": v.retention.as_ref().map(|r| json!({
            "order_pii_after_shipment": r.order_pii_after_shipment,
            "accounting_records": r.accounting_records,
        })),
        "admin_accounts": v.admin_accounts.as_ref().map(|a| json!({
            "mfa": if a.mfa_enforced { "enforced" } else { "not enforced" },
            "sso": match a.sso { Some(true) => "yes", Some(false) => "no", None => "not declared" },
        })),
        "subprocessors": v.subprocessors.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "keys": v.key_ids,
        "decision": a.decision.as_deref().map(str::to_string),
        "inherent_risk": a.inherent_risk,
        "residual_risk": a.residual_risk,
        "contract": contract_text(a.contract_start, a.contract_end),
        "contract_start": json_date(a.contract_start),
        "contract_end": json_date(a.contract_end),
        "certificate": a.certificate.as_ref().map(|c| json!({"number": c.number.to_string(), "scope": c.scope.as_deref().map(str::to_string), "issuer": c.issuer.as_deref().map(str::to_string), "expires": c.expires.to_string()})),
        "soc2": a.soc2.as_ref().map(|s| json!({"period_start": s.period_start.to_string(), "period_end": s.period_end.to_string(), "exceptions": s.exceptions.iter().map(|e| e.to_string()).collect::<Vec<_>>()})),
        "pci": a.pci_dss_aoc.as_ref().map(|p| json!({"level": p.level, "valid_until": p.valid_until.to_string()})),
        "last_pentest": json_date(a.last_pentest),
        "incidents": a.incidents_since_last_review.iter().map(|i| json!({"date": i.date.to_string(), "summary": i.summary.to_string()})).collect::<Vec<_>>(),
        "next_review": json_date(a.next_review),
        "notes": a.notes.as_deref().map(str::to_string),
        "by_severity": by_sev,
        "finding_count": findings.len(),
    })
}

/// Stacked horizontal bars: failing findings by severity per vendor.
fn severity_chart(vendors: &[(String, BTreeMap<Severity, usize>)]) -> Value {
    let max = vendors
        .iter()
        .map(|(_, m)| m.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = 520.0;
    let rows: Vec<Value> = vendors
        .iter()
        .enumerate()
        .map(|(i, (name, m))| {
            let mut x = 0.0;
            let segs: Vec<Value> = SEVERITIES
                .iter()
                .filter_map(|s| {
                    let n = *m.get(s).unwrap_or(&0);
                    if n == 0 {
                        return None;
                    }
                    let w = width * n as f64 / max as f64;
                    let seg = json!({"x": 140.0 + x, "w": w, "color": sev_color(*s), "n": n, "label": s.as_str()});
                    x += w;
                    Some(seg)
                })
                .collect();
            json!({"y": 10 + i * 30, "name": name, "segs": segs, "total": m.values().sum::<usize>(), "tx": 146.0 + x})
        })
        .collect();
    json!({"rows": rows, "height": 20 + vendors.len() * 30, "legend_y": 24 + vendors.len() * 30,
        "legend": SEVERITIES.iter().enumerate().map(|(i, s)| json!({"x": 140 + i * 100, "color": sev_color(*s), "label": s.as_str()})).collect::<Vec<_>>()})
}

/// Statuses of the coverage chart's segments, in stacking order, with their legend labels.
const COVERAGE_SEGMENTS: [(&str, &str); 4] = [
    ("pass", "pass"),
    ("fail", "fail"),
    ("unknown", "unknown"),
    ("excepted", "excepted"),
];

/// The 2022 controls of the run's coverage in natural order (A.5.9 before A.5.36), each with
/// its title (from the control catalogue) and [`ControlTally`].
fn coverage_rows(run: &Run) -> Vec<(String, String, ControlTally)> {
    let cw = crate::policy::crosswalk::Crosswalk::get();
    let mut rows: Vec<(&String, ControlTally)> = run
        .controls
        .iter()
        .filter(|(c, _)| !c.starts_with(crate::policy::crosswalk::P2013))
        .map(|(c, m)| (c, ControlTally::of(Some(m))))
        .collect();
    rows.sort_by_key(|(c, _)| crate::policy::crosswalk::natural_key(c));
    rows.into_iter()
        .map(|(c, t)| {
            let short = c.strip_prefix(crate::policy::crosswalk::P2022).unwrap_or(c);
            (short.to_string(), cw.title(c).unwrap_or("").to_string(), t)
        })
        .collect()
}

/// `3 pass · 1 fail · 0 unknown` (and excepted / not applicable when there are any).
fn tally_text(t: &ControlTally) -> String {
    let mut s = format!("{} pass · {} fail · {} unknown", t.pass, t.fail, t.unknown);
    if t.excepted > 0 {
        s.push_str(&format!(" · {} excepted", t.excepted));
    }
    if t.not_applicable > 0 {
        s.push_str(&format!(" · {} not applicable", t.not_applicable));
    }
    s
}

/// A round axis maximum and tick step for counts up to `max`.
fn axis(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
        .into_iter()
        .find(|s| max.div_ceil(*s) <= 6)
        .unwrap_or_else(|| max.div_ceil(6));
    (max.div_ceil(step) * step, step)
}

/// Control coverage: per 2022 control in natural order, its title, a stacked bar of rule ×
/// subject outcomes on a labelled axis, and the counts in words; a control no rule × subject
/// was evaluated against says "not assessed" (no empty bar).
fn coverage_chart(run: &Run) -> Value {
    const LEFT: f64 = 10.0;
    const WIDTH: f64 = 460.0;
    const ROW: usize = 40;
    let rows = coverage_rows(run);
    let (max, step) = axis(rows.iter().map(|(_, _, t)| t.assessed()).max().unwrap_or(0));
    let scale = WIDTH / max as f64;
    let out: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (c, title, t))| {
            let y = 10 + i * ROW;
            let mut x = LEFT;
            let segs: Vec<Value> = COVERAGE_SEGMENTS
                .iter()
                .filter_map(|(k, label)| {
                    let n = match *k {
                        "pass" => t.pass,
                        "fail" => t.fail,
                        "unknown" => t.unknown,
                        _ => t.excepted,
                    };
                    if n == 0 {
                        return None;
                    }
                    let w = scale * n as f64;
                    let seg =
                        json!({"x": x, "w": w, "color": status_color(k), "n": n, "label": label});
                    x += w;
                    Some(seg)
                })
                .collect();
            json!({
                "y": y, "control": c, "title": title, "status": t.status,
                "assessed": t.assessed() > 0, "segs": segs, "counts": tally_text(t),
                "counts_x": x + 8.0,
            })
        })
        .collect();
    let axis_y = 10 + rows.len() * ROW + 4;
    let ticks: Vec<Value> = (0..=max / step)
        .map(|i| json!({"x": LEFT + scale * (i * step) as f64, "label": i * step}))
        .collect();
    let legend_y = axis_y + 58;
    json!({
        "rows": out,
        "axis": {"y": axis_y, "x1": LEFT, "x2": LEFT + WIDTH, "ticks": ticks,
            "label": "rule × subject outcomes", "label_x": LEFT + WIDTH / 2.0},
        "legend_y": legend_y,
        "height": legend_y + 16,
        "legend": COVERAGE_SEGMENTS.iter().enumerate().map(|(i, (k, label))| json!({"x": LEFT + i as f64 * 100.0, "color": status_color(k), "label": label})).collect::<Vec<_>>(),
    })
}

/// Who ran the assessment, from what the run recorded: the operator (the user account that
/// ran it) and the CI job; `None` when it recorded neither (the row is left out).
fn assessor(run: &Run) -> Option<String> {
    let ci = run.ci.as_ref().map(|c| match &c.job {
        Some(j) => format!("{} ({j})", c.provider),
        None => c.provider.clone(),
    });
    match (&run.operator, ci) {
        (Some(o), Some(c)) => Some(format!("{o} via {c}")),
        (Some(o), None) => Some(o.clone()),
        (None, c) => c,
    }
}

fn delta(run: &Run, prev: &Run) -> Value {
    let cur: BTreeMap<&str, &Finding> = run
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let old: BTreeMap<&str, &Finding> = prev
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let comparable = run.fingerprint_check == prev.fingerprint_check;
    let line = |f: &Finding| json!({"rule": f.rule, "subject": format!("{} {}", f.subject.kind.as_str(), f.subject.id), "severity": f.severity.as_str(), "status": f.status.as_str(), "title": f.title});
    let new: Vec<Value> = cur
        .iter()
        .filter(|(k, _)| !old.contains_key(*k))
        .map(|(_, f)| line(f))
        .collect();
    let resolved: Vec<Value> = old
        .iter()
        .filter(|(k, _)| !cur.contains_key(*k))
        .map(|(_, f)| line(f))
        .collect();
    let changed: Vec<Value> = cur
        .iter()
        .filter_map(|(k, f)| {
            let o = old.get(*k)?;
            (o.status != f.status || o.severity != f.severity).then(|| json!({"rule": f.rule, "subject": format!("{} {}", f.subject.kind.as_str(), f.subject.id), "from": format!("{}, {}", o.status.as_str(), o.severity.as_str()), "to": format!("{}, {}", f.status.as_str(), f.severity.as_str())}))
        })
        .collect();
    json!({"previous_run": prev.run_id, "previous_date": prev.started_at, "comparable": comparable,
        "new": new, "resolved": resolved, "changed": changed})
}

/// Renders the reassessment report; `previous` adds the delta since the last assessment.
pub fn render(run: &Clean<Run>, previous: Option<&Clean<Run>>) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| RenderError(format!("html template: {e}")))?;
    let mut vendors = vec![];
    let mut chart_rows = vec![];
    for v in &run.facts.vendors {
        let fs: Vec<&Finding> = run
            .findings
            .iter()
            .filter(|f| f.subject.vendor.as_deref() == Some(v.id.as_str()))
            .collect();
        let mut m = BTreeMap::new();
        for f in fs.iter().filter(|f| f.status == Outcome::Fail) {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        chart_rows.push((v.name.to_string(), m));
        vendors.push(vendor_value(run, v, &fs));
    }
    let owner_of = |f: &Finding| {
        f.subject.vendor.as_deref().and_then(|vid| {
            run.facts
                .vendors
                .iter()
                .find(|v| v.id == vid)
                .and_then(|v| v.owner.clone())
        })
    };
    let mut fs: Vec<&Finding> = run.findings.iter().collect();
    fs.sort_by(|a, b| crate::run::finding_order(a, b));
    let findings: Vec<Value> = fs
        .iter()
        .map(|f| finding_value(run, f, owner_of(f).as_deref()))
        .collect();
    let exceptions: Vec<Value> = fs
        .iter()
        .filter_map(|f| {
            let e = f.exception.as_ref()?;
            Some(json!({"id": e.id, "rule": f.rule, "subject": format!("{} {}", f.subject.kind.as_str(), f.subject.id),
                "reason": e.reason.to_string(), "approver": e.approver, "ticket": e.ticket, "expires": e.expires, "expired": e.expired}))
        })
        .collect();
    let incidents: Vec<Value> = vendors
        .iter()
        .flat_map(|v| {
            let name = v["name"].clone();
            v["incidents"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |mut i| {
                    i["vendor"] = name.clone();
                    i
                })
        })
        .collect();
    let keys: Vec<Value> = run.facts.keys.iter().map(|k| key_value(run, k)).collect();
    let mut mapping: BTreeMap<String, RuleControls> = BTreeMap::new();
    for f in &run.findings {
        let (a, b) = split_controls(&f.controls);
        let e = mapping.entry(f.rule.clone()).or_default();
        e.0.extend(a);
        e.1.extend(b);
        e.2.insert(f.title.clone());
    }
    for o in &run.outcomes {
        let (a, b) = split_controls(&o.controls);
        let e = mapping.entry(o.rule.clone()).or_default();
        e.0.extend(a);
        e.1.extend(b);
        e.2.insert(o.title.clone());
    }
    let mapping: Vec<Value> = mapping
        .into_iter()
        .map(|(r, (a, b, t))| json!({"rule": r, "title": t.into_iter().next().unwrap_or_default(), "c2022": a.into_iter().collect::<Vec<_>>(), "c2013": b.into_iter().collect::<Vec<_>>()}))
        .collect();
    let coverage: Vec<Value> = coverage_rows(run)
        .into_iter()
        .map(|(c, title, t)| json!({"control": c, "title": title, "pass": t.pass, "fail": t.fail,
            "unknown": t.unknown, "excepted": t.excepted, "other": t.not_applicable, "status": t.status}))
        .collect();
    let count = |s: Outcome| run.findings.iter().filter(|f| f.status == s).count();
    let sev_counts: Vec<Value> = SEVERITIES
        .iter()
        .map(|s| json!({"label": s.as_str(), "color": sev_color(*s), "n": run.findings.iter().filter(|f| f.severity == *s && f.status == Outcome::Fail).count()}))
        .collect();
    let title = if run.facts.vendors.len() == 1 {
        format!("Vendor reassessment: {}", run.facts.vendors[0].name)
    } else {
        "Vendor reassessment report".to_string()
    };
    let ledger: Vec<Value> = run
        .ledger
        .iter()
        .take(25)
        .map(|l| json!({"at": l.at, "vendor": l.vendor, "key": l.key_id, "fingerprint": l.fingerprint, "method": l.method, "host": l.host.to_string(), "path": l.path.to_string(), "status": l.status, "latency": l.latency_ms}))
        .collect();
    let next_review = run
        .facts
        .vendors
        .iter()
        .filter_map(|v| v.assessment.as_ref().and_then(|a| a.next_review))
        .min()
        .map(|d| d.to_string());
    let ctx = json!({
        "css": CSS,
        "title": title,
        "run": {
            "id": run.run_id, "organization": run.facts.run.organization, "command": run.command, "started_at": run.started_at, "finished_at": run.finished_at,
            "tool": format!("{} {}", run.tool.name, run.tool.version), "schema_version": run.schema_version,
            "operator": run.operator, "assessor": assessor(run), "fingerprint_check": run.fingerprint_check, "policy_set_hash": run.policy_set_hash,
            "ci": run.ci.as_ref().map(|c| json!({"provider": c.provider, "job": c.job, "commit": c.commit, "reference": c.reference, "run_url": c.run_url})),
            "inputs": {
                "inventory": run.inputs.inventory.as_ref().map(|i| json!({"path": i.path, "sha256": i.sha256})),
                "policies": run.inputs.policies.iter().map(|i| json!({"path": i.path, "sha256": i.sha256})).collect::<Vec<_>>(),
                "exceptions": run.inputs.exceptions.as_ref().map(|i| json!({"path": i.path, "sha256": i.sha256})),
                "artifacts": run.inputs.artifacts, "surfaces": run.inputs.surfaces,
            },
            "proxy": run.proxy.used, "proxy_ignored": run.proxy.variables,
            "warnings": run.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            "errors": run.errors.iter().map(|e| format!("{}: {}", e.stage, e.message)).collect::<Vec<_>>(),
            "policy_changes": run.policy_changes.iter().map(|p| format!("{} {}: {}", p.rule, p.change, p.detail)).collect::<Vec<_>>(),
            "ledger_total": run.ledger.len(),
        },
        "weakened": run.weakened_rules.iter().map(|w| json!({
            "rule": w.rule, "place": w.place().to_string(), "summary": w.summary().to_string(),
            "diff": w.diff_lines().iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n"),
        })).collect::<Vec<_>>(),
        "next_review": next_review,
        "counts": {"fail": count(Outcome::Fail), "unknown": count(Outcome::Unknown), "excepted": count(Outcome::Excepted),
            "pass": run.outcomes.iter().filter(|o| o.status == Outcome::Pass).count(), "outcomes": run.outcomes.len()},
        "severity_counts": sev_counts,
        "vendors": vendors,
        "incidents": incidents,
        "keys": keys,
        "findings": findings,
        "exceptions": exceptions,
        "mapping": mapping,
        "coverage": coverage,
        "severity_chart": severity_chart(&chart_rows),
        "coverage_chart": coverage_chart(run),
        "ledger": ledger,
        "delta": previous.map(|p| delta(run, p)),
    });
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| RenderError(format!("html template: {e}")))?;
    tmpl.render(ctx)
        .map_err(|e| RenderError(format!("html template: {e}")))
}
