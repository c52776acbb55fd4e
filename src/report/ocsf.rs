//! OCSF Detection Finding (class 2004) events, one JSON object per line.

use serde_json::{Value, json};

use crate::guard::Clean;
use crate::run::{Finding, Outcome, Run, Severity};

use super::RenderError;

/// OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.3.0";

/// OCSF `severity_id` and caption for a severity (reference §3.1).
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

fn millis(ts: &str) -> i64 {
    ts.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or(0)
}

fn event(run: &Run, f: &Finding, time: i64) -> Value {
    let (sev_id, sev) = severity(f.severity);
    let (status_id, status) = match f.status {
        Outcome::Excepted => (3, "Suppressed"),
        _ => (1, "New"),
    };
    let status_code = match f.status {
        Outcome::Fail => "FAIL",
        Outcome::Unknown => "UNKNOWN",
        Outcome::Excepted => "EXCEPTED",
        Outcome::Pass => "PASS",
        Outcome::NotApplicable => "NOT_APPLICABLE",
        Outcome::Unverifiable => "UNVERIFIABLE",
    };
    let detail = match (&f.exception, f.status) {
        (Some(e), _) if e.expired => format!("exception {} expired on {}", e.id, e.expires),
        (Some(e), _) => format!(
            "excepted until {} by {}: {}",
            e.expires,
            e.approver,
            String::from(&e.reason)
        ),
        (None, Outcome::Unknown) => f.reason.as_deref().map(String::from).unwrap_or_default(),
        _ => String::new(),
    };
    let split = |edition: &str| -> Vec<String> {
        f.controls
            .iter()
            .filter_map(|c| {
                c.strip_prefix(&format!("ISO27001:{edition}/"))
                    .map(str::to_string)
            })
            .collect()
    };
    let locations: Vec<Value> = f
        .locations
        .iter()
        .map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
        .collect();
    let mut labels = vec![format!("severity:{}", f.severity.as_str())];
    if let Some(v) = &f.subject.vendor {
        labels.push(format!("vendor:{v}"));
    }
    let mut data = serde_json::Map::new();
    if let Some(e) = &f.evidence {
        data.insert("key_fingerprint".into(), json!(e.fingerprint));
        data.insert("key_redacted".into(), json!(e.redacted));
    }
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": time,
        "severity_id": sev_id,
        "severity": sev,
        "confidence": format!("{:?}", f.confidence),
        "message": String::from(&f.message),
        "status_id": status_id,
        "status": status,
        "status_code": status_code,
        "status_detail": detail,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "uid": "vendorscope",
                "name": run.tool.name,
                "vendor_name": "vendorscope",
                "version": run.tool.version,
            },
            "event_code": f.rule,
            "correlation_uid": run.run_id,
            "profiles": [],
        },
        "finding_info": {
            "uid": f.fingerprint,
            "title": f.title,
            "desc": String::from(&f.message),
            "types": [format!("{}:{}", f.subject.kind.as_str(), f.rule)],
            "created_time": time,
        },
        "resources": [{
            "uid": f.subject.id,
            "name": f.subject.id,
            "type": f.subject.kind.as_str(),
            "group": { "name": f.subject.vendor.clone().unwrap_or_default() },
            "labels": labels,
            "data": data,
        }],
        "remediation": {
            "desc": f.advice(),
            "references": [],
        },
        "risk_details": f.title,
        "unmapped": {
            "compliance": {
                "ISO27001:2022": split("2022"),
                "ISO27001:2013": split("2013"),
            },
            "enforcement": f.enforcement,
            "locations": locations,
            "run_id": run.run_id,
        },
    })
}

/// A Detection Finding for a built-in rule a user policy weakened (a SIEM sees the gate change).
fn weakened_event(run: &Run, w: &crate::run::WeakenedRule, time: i64) -> Value {
    let (sev_id, sev) = severity(Severity::Medium);
    let text = super::weakened::lines(w).join("\n");
    let uid = {
        let material = format!("{}|{}|{}", super::sarif::WEAKENED_RULE_ID, w.rule, w.source);
        let d = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
        hex::encode(&d.as_ref()[..8])
    };
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": time,
        "severity_id": sev_id,
        "severity": sev,
        "message": text,
        "status_id": 1,
        "status": "New",
        "status_code": "WEAKENED",
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "uid": "vendorscope",
                "name": run.tool.name,
                "vendor_name": "vendorscope",
                "version": run.tool.version,
            },
            "event_code": super::sarif::WEAKENED_RULE_ID,
            "correlation_uid": run.run_id,
            "profiles": [],
        },
        "finding_info": {
            "uid": uid,
            "title": format!("Built-in rule {} weakened by a user policy", w.rule),
            "desc": text,
            "types": ["policy:weakened_rule"],
            "created_time": time,
        },
        "resources": [{
            "uid": w.rule,
            "name": w.rule,
            "type": "policy_rule",
            "labels": ["weakened"],
            "data": { "policy": w.place(), "summary": w.summary() },
        }],
        "unmapped": {
            "run_id": run.run_id,
            "weakened_rule": w,
        },
    })
}

/// Renders every weakened built-in rule, then every finding (excepted ones as suppressed), as
/// JSON lines.
pub fn render(run: &Clean<Run>) -> Result<String, RenderError> {
    let time = millis(if run.finished_at.is_empty() {
        &run.started_at
    } else {
        &run.finished_at
    });
    let mut out = String::new();
    for w in &run.weakened_rules {
        let line = serde_json::to_string(&weakened_event(run, w, time))
            .map_err(|e| RenderError(e.to_string()))?;
        out.push_str(&line);
        out.push('\n');
    }
    for f in &run.findings {
        let line =
            serde_json::to_string(&event(run, f, time)).map_err(|e| RenderError(e.to_string()))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}
