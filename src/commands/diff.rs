//! `vendorscope diff OLD.json NEW.json`: new, resolved and changed findings by stable
//! fingerprint, plus policy-set and exception changes. Exit 1 on new failing findings.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::gate::{EXIT_FAIL, EXIT_OK, GateOptions, fails_gate};
use crate::run::{Finding, Run};

use super::Ctx;

/// Loads a saved run document, with the path in every error.
pub fn load_run(path: &Path) -> anyhow::Result<Run> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read run {}", path.display()))?;
    parse_run(&path.display().to_string(), &text)
}

/// Parses run document text named `name` (see [`load_run`]).
pub fn parse_run(name: &str, text: &str) -> anyhow::Result<Run> {
    let run: Run = serde_json::from_str(text)
        .with_context(|| format!("{name}: not a vendorscope run document"))?;
    if run.schema_version != crate::run::SCHEMA_VERSION {
        anyhow::bail!(
            "{name}: run schema_version {} is not supported (expected {})",
            run.schema_version,
            crate::run::SCHEMA_VERSION
        );
    }
    Ok(run)
}

/// Refuses to compare runs whose fingerprints were made under different keys.
pub fn ensure_comparable(a: &Run, a_name: &str, b: &Run, b_name: &str) -> anyhow::Result<()> {
    if a.fingerprint_check != b.fingerprint_check {
        anyhow::bail!(
            "{a_name} and {b_name} were made with different fingerprint keys ({} vs {}): their fingerprints cannot be compared. Set VENDORSCOPE_FINGERPRINT_KEY to the same value for both runs.",
            a.fingerprint_check,
            b.fingerprint_check
        );
    }
    Ok(())
}

/// The comparison of two runs; its JSON (`diff --format json`) is this shape: `new` and
/// `resolved` findings (as in the run document), `changed` as `{fingerprint, before,
/// after}`, and the policy-set and exception changes.
#[derive(Debug, Default, serde::Serialize)]
pub struct RunDiff<'a> {
    pub new: Vec<&'a Finding>,
    pub resolved: Vec<&'a Finding>,
    /// Findings whose status, severity or message changed.
    pub changed: Vec<Changed<'a>>,
    pub policy_set_changed: bool,
    pub policy_changes_added: Vec<String>,
    pub exceptions_changed: bool,
    /// What the vendors showed that differs between the runs (a new webhook destination, a
    /// new profile field), key by key; only observations made in both runs are compared.
    pub observed: Vec<ObservedChange>,
}

/// One observation of one key whose content changed.
#[derive(Debug, serde::Serialize)]
pub struct ObservedChange {
    /// `vendor/key`.
    pub key: String,
    /// The observation (`webhooks`, `profile_fields`, …).
    pub observation: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What an observation holds, as comparable lines: each item as `id → destination` (or its
/// id), else each value.
fn observed_lines(o: &crate::run::Observation) -> std::collections::BTreeSet<String> {
    if o.items.is_empty() {
        return o.values.iter().cloned().collect();
    }
    o.items
        .iter()
        .map(
            |i| match i.attributes.get("destination").and_then(|d| d.first()) {
                Some(d) => format!("{} \u{2192} {d}", i.id),
                None => i.id.clone(),
            },
        )
        .collect()
}

/// The observations made in both runs whose content differs.
pub fn observed_changes(old: &Run, new: &Run) -> Vec<ObservedChange> {
    use crate::run::ObservationStatus as S;
    let mut out = vec![];
    for k in &new.keys {
        let Some(before) = old
            .keys
            .iter()
            .find(|o| o.id == k.id && o.vendor == k.vendor)
            .and_then(|o| o.profile.as_ref())
        else {
            continue;
        };
        let Some(after) = k.profile.as_ref() else {
            continue;
        };
        for (name, a) in &after.observations {
            let Some(b) = before.observations.get(name) else {
                continue;
            };
            if a.status != S::Observed || b.status != S::Observed {
                continue;
            }
            let (was, now) = (observed_lines(b), observed_lines(a));
            let added: Vec<String> = now.difference(&was).cloned().collect();
            let removed: Vec<String> = was.difference(&now).cloned().collect();
            if !added.is_empty() || !removed.is_empty() {
                out.push(ObservedChange {
                    key: format!("{}/{}", k.vendor, k.id),
                    observation: name.clone(),
                    added,
                    removed,
                });
            }
        }
    }
    out
}

/// One finding in both runs, with what changed.
#[derive(Debug, serde::Serialize)]
pub struct Changed<'a> {
    pub fingerprint: &'a str,
    pub before: &'a Finding,
    pub after: &'a Finding,
}

/// Compares findings by their stable fingerprint.
pub fn diff<'a>(old: &'a Run, new: &'a Run) -> RunDiff<'a> {
    let old_by: BTreeMap<&str, &Finding> = old
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let new_by: BTreeMap<&str, &Finding> = new
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let mut d = RunDiff::default();
    for (fp, f) in &new_by {
        match old_by.get(fp) {
            None => d.new.push(f),
            Some(o)
                if o.status != f.status || o.severity != f.severity || o.message != f.message =>
            {
                d.changed.push(Changed {
                    fingerprint: fp,
                    before: o,
                    after: f,
                })
            }
            Some(_) => {}
        }
    }
    for (fp, f) in &old_by {
        if !new_by.contains_key(fp) {
            d.resolved.push(f);
        }
    }
    d.new.sort_by(|a, b| crate::run::finding_order(a, b));
    d.resolved.sort_by(|a, b| crate::run::finding_order(a, b));
    d.changed
        .sort_by(|a, b| crate::run::finding_order(a.after, b.after));
    d.policy_set_changed = old.policy_set_hash != new.policy_set_hash;
    let old_changes: Vec<String> = old
        .policy_changes
        .iter()
        .map(|c| format!("{} {}", c.rule, c.change))
        .collect();
    d.policy_changes_added = new
        .policy_changes
        .iter()
        .map(|c| format!("{} {}: {}", c.rule, c.change, c.detail))
        .filter(|s| !old_changes.iter().any(|o| s.starts_with(o.as_str())))
        .collect();
    d.exceptions_changed = old.inputs.exceptions.as_ref().map(|e| &e.sha256)
        != new.inputs.exceptions.as_ref().map(|e| &e.sha256);
    d.observed = observed_changes(old, new);
    d
}

/// One finding on one line: severity, status, rule, subject and message.
pub fn line(f: &Finding) -> String {
    format!(
        "{:<8} {:<9} {:<14} {}:{} — {}",
        f.severity.as_str(),
        f.status.as_str(),
        f.rule,
        f.subject.kind.as_str(),
        f.subject.id,
        f.message
    )
}

pub fn run(
    ctx: &Ctx,
    old_path: &Path,
    new_path: &Path,
    json: bool,
    gate: GateOptions,
) -> anyhow::Result<u8> {
    // Both runs are outside input: every string is sanitised before it is printed.
    let old = ctx.out.clean(&load_run(old_path)?)?;
    let new = ctx.out.clean(&load_run(new_path)?)?;
    ensure_comparable(
        &old,
        &old_path.display().to_string(),
        &new,
        &new_path.display().to_string(),
    )?;
    let d = diff(&old, &new);
    if json {
        ctx.out
            .stdout(&format!("{}\n", serde_json::to_string_pretty(&d)?));
    } else {
        let mut s = String::new();
        s.push_str(&format!("New findings ({})\n", d.new.len()));
        for f in &d.new {
            s.push_str(&format!("  + {}\n", line(f)));
        }
        s.push_str(&format!("Resolved findings ({})\n", d.resolved.len()));
        for f in &d.resolved {
            s.push_str(&format!("  - {}\n", line(f)));
        }
        s.push_str(&format!("Changed findings ({})\n", d.changed.len()));
        for c in &d.changed {
            s.push_str(&format!(
                "  ~ {}\n    was {}\n",
                line(c.after),
                line(c.before)
            ));
        }
        if d.policy_set_changed {
            s.push_str("Policy set changed (hash differs)\n");
        }
        for c in &d.policy_changes_added {
            s.push_str(&format!("  policy change: {c}\n"));
        }
        if d.exceptions_changed {
            s.push_str("Exceptions file changed\n");
        }
        if !d.observed.is_empty() {
            s.push_str(&format!("Observed at the vendors ({})\n", d.observed.len()));
            for c in &d.observed {
                for a in &c.added {
                    s.push_str(&format!("  + {} {}: {a}\n", c.observation, c.key));
                }
                for r in &c.removed {
                    s.push_str(&format!("  - {} {}: {r}\n", c.observation, c.key));
                }
            }
        }
        ctx.out.stdout(&s);
    }
    Ok(if d.new.iter().any(|f| fails_gate(f, gate)) {
        EXIT_FAIL
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Confidence, Enforcement, Outcome, Severity, Subject, SubjectKind};

    fn finding(fp: &str, status: Outcome) -> Finding {
        Finding {
            rule: "VS-KEY-001".into(),
            title: "t".into(),
            severity: Severity::High,
            confidence: Confidence::High,
            enforcement: Enforcement::Block,
            status,
            subject: Subject {
                kind: SubjectKind::Key,
                id: fp.into(),
                vendor: None,
            },
            message: "m".into(),
            locations: vec![],
            evidence: None,
            remediation: String::new(),
            controls: vec![],
            fingerprint: fp.into(),
            reason: None,
            exception: None,
        }
    }

    #[test]
    fn new_resolved_changed() {
        let mut a = Run::new("audit", "check:1");
        let mut b = Run::new("audit", "check:1");
        a.findings = vec![finding("a", Outcome::Fail), finding("b", Outcome::Unknown)];
        b.findings = vec![finding("b", Outcome::Fail), finding("c", Outcome::Fail)];
        let d = diff(&a, &b);
        assert_eq!(d.new.len(), 1);
        assert_eq!(d.new[0].fingerprint, "c");
        assert_eq!(d.resolved.len(), 1);
        assert_eq!(d.resolved[0].fingerprint, "a");
        assert_eq!(d.changed.len(), 1);
    }

    #[test]
    fn observed_changes_compare_what_both_runs_observed() {
        use crate::run::{KeyProfile, KeyRecord, Observation, ObservationStatus, ObservedItem};
        let record = |hooks: &[(&str, &str)], status: ObservationStatus| -> KeyRecord {
            let mut o = Observation::observed("GET /v1/webhook_endpoints", None, vec![]);
            o.status = status;
            o.items = hooks
                .iter()
                .map(|(id, d)| ObservedItem {
                    id: id.to_string(),
                    attributes: [("destination".to_string(), vec![d.to_string()])].into(),
                })
                .collect();
            let mut p: KeyProfile =
                crate::vendors::profile("stripe", crate::run::KeyStatus::Active);
            p.observations.insert("webhooks".into(), o);
            serde_json::from_value(serde_json::json!({
                "id": "k", "vendor": "stripe", "secret_source": "env", "profile": p,
            }))
            .expect("record")
        };
        let mut a = Run::new("audit", "check:1");
        let mut b = Run::new("audit", "check:1");
        a.keys = vec![record(
            &[("we_1", "https://a.example")],
            ObservationStatus::Observed,
        )];
        b.keys = vec![record(
            &[("we_2", "https://b.example")],
            ObservationStatus::Observed,
        )];
        let d = diff(&a, &b);
        assert_eq!(d.observed.len(), 1);
        assert_eq!(d.observed[0].key, "stripe/k");
        assert_eq!(d.observed[0].added, vec!["we_2 \u{2192} https://b.example"]);
        assert_eq!(
            d.observed[0].removed,
            vec!["we_1 \u{2192} https://a.example"]
        );
        // Not observed in one run: nothing to compare.
        b.keys = vec![record(&[], ObservationStatus::Inconclusive)];
        assert!(diff(&a, &b).observed.is_empty());
    }

    #[test]
    fn different_fingerprint_keys_are_refused() {
        let a = Run::new("audit", "check:1");
        let b = Run::new("audit", "check:2");
        assert!(ensure_comparable(&a, "a", &b, "b").is_err());
    }
}
