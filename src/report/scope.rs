//! Narrowing a run to one vendor (`--vendor ID`): an evidence pack with no other vendor's data.

use std::collections::BTreeMap;

use crate::run::{ControlCoverage, Run};

/// Whether a run mentions vendor `id` at all.
pub fn has_vendor(run: &Run, id: &str) -> bool {
    run.facts.vendors.iter().any(|v| v.id == id)
        || run.keys.iter().any(|k| k.vendor == id)
        || run
            .findings
            .iter()
            .any(|f| f.subject.vendor.as_deref() == Some(id))
}

/// A copy of `run` holding only vendor `id`'s keys, exposures, facts, findings, outcomes,
/// ledger entries and errors; control coverage is recounted from what remains.
pub fn vendor_only(run: &Run, id: &str) -> Run {
    let mut r = run.clone();
    let others: Vec<String> = run
        .facts
        .vendors
        .iter()
        .map(|v| v.id.clone())
        .chain(run.keys.iter().map(|k| k.vendor.clone()))
        .filter(|v| v != id)
        .collect();
    let mine = |v: &str| v == id;
    r.keys.retain(|k| mine(&k.vendor));
    r.exposures.retain(|e| {
        e.inventory_vendor
            .as_deref()
            .map(mine)
            .unwrap_or_else(|| mine(&e.vendor))
    });
    r.facts.vendors.retain(|v| mine(&v.id));
    r.facts.keys.retain(|k| mine(&k.vendor));
    r.facts
        .exposures
        .retain(|e| r.exposures.iter().any(|x| x.id == e.id));
    r.findings
        .retain(|f| f.subject.vendor.as_deref().map(mine).unwrap_or(false));
    r.outcomes
        .retain(|o| o.subject.vendor.as_deref().map(mine).unwrap_or(false));
    r.ledger.retain(|l| mine(&l.vendor));
    r.errors.retain(|e| {
        e.subject
            .as_deref()
            .map(|s| !others.iter().any(|o| s.contains(o.as_str())))
            .unwrap_or(true)
            && !others.iter().any(|o| e.message.contains(o.as_str()))
    });
    r.warnings
        .retain(|w| !others.iter().any(|o| w.contains(o.as_str())));
    r.controls = recount(&r);
    r
}

/// Control coverage recounted from outcomes (or findings when the run has no outcomes).
pub fn recount(run: &Run) -> ControlCoverage {
    let mut cov: ControlCoverage = BTreeMap::new();
    let mut add = |controls: &[String], status: &str| {
        for c in controls {
            *cov.entry(c.clone())
                .or_default()
                .entry(status.to_string())
                .or_insert(0) += 1;
        }
    };
    if run.outcomes.is_empty() {
        for f in &run.findings {
            add(&f.controls, f.status.as_str());
        }
    } else {
        for o in &run.outcomes {
            add(&o.controls, o.status.as_str());
        }
    }
    cov
}
