//! Reading a saved run document of any schema this version knows. Every reader (`report`,
//! `diff`, `audit --baseline`/`--previous`, `scan --baseline`/`--known-keys`, `merge`,
//! `policy controls --run`) goes through [`parse_run`], which upgrades older documents to
//! [`SCHEMA_VERSION`] before they are typed.
//!
//! Schema 1 → 2: findings changed shape while the number stood still. Capability names became
//! one vocabulary (`email.send` is `messages.send`, `products.read` is `catalog.read`); a value
//! found several times at one place became one exposure with `occurrences` and
//! `more_locations` (one finding), where older runs listed each hit; locations gained
//! `decoded`, `git` and `offset`. The upgrade renames capabilities through the vocabulary's
//! synonym table and folds repeated hits together, leaving ids, fingerprints and locations as
//! they were, so findings keep their fingerprints (and SARIF alerts theirs) across it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

use super::{Run, SCHEMA_VERSION};

/// The oldest schema this version reads.
pub const OLDEST_SCHEMA: u32 = 1;

/// Reads a saved run document (see [`parse_run`]), naming the file in every error.
pub fn load_run(path: &Path) -> anyhow::Result<Run> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read run document {}", path.display()))?;
    parse_run(&path.display().to_string(), &text)
}

/// Parses run document text named `name`: JSON errors with their line and column, a schema
/// this version cannot read named as such, an older schema upgraded.
pub fn parse_run(name: &str, text: &str) -> anyhow::Result<Run> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{name}:{}:{}: not a JSON document: {}",
            e.line(),
            e.column(),
            e
        )
    })?;
    upgrade(name, &mut value)?;
    serde_json::from_value(value).map_err(|e| anyhow::anyhow!("{name}: invalid run document: {e}"))
}

/// Upgrades a run document's JSON in place to [`SCHEMA_VERSION`].
pub fn upgrade(name: &str, doc: &mut Value) -> anyhow::Result<()> {
    let Some(obj) = doc.as_object() else {
        bail!("{name}: not a vendorscope run document (not a JSON object)");
    };
    let version = match obj.get("schema_version") {
        None => bail!("{name}: not a vendorscope run document (no schema_version)"),
        Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()),
    };
    let version = match version {
        Some(v) if (OLDEST_SCHEMA..=SCHEMA_VERSION).contains(&v) => v,
        Some(v) if v > SCHEMA_VERSION => bail!(
            "{name}: run schema version {v} is newer than this vendorscope reads (versions {OLDEST_SCHEMA} to {SCHEMA_VERSION}); use a newer vendorscope"
        ),
        _ => bail!(
            "{name}: run schema version {} is not supported (this vendorscope reads versions {OLDEST_SCHEMA} to {SCHEMA_VERSION})",
            obj["schema_version"]
        ),
    };
    if version < 2 {
        v1_to_v2(doc);
    }
    doc["schema_version"] = Value::from(SCHEMA_VERSION);
    Ok(())
}

/// Schema 1 → 2 (see the module documentation).
fn v1_to_v2(doc: &mut Value) {
    for k in array_mut(doc, "keys") {
        if let Some(p) = k.get_mut("profile") {
            rename_capabilities(p, &["capabilities", "unverifiable"]);
        }
    }
    for e in array_mut(doc, "exposures") {
        if let Some(p) = e.get_mut("verified") {
            rename_capabilities(p, &["capabilities", "unverifiable"]);
        }
    }
    if let Some(facts) = doc.get_mut("facts") {
        for k in array_mut(facts, "keys") {
            rename_capabilities(k, &["allowed_capabilities", "capabilities", "unverifiable"]);
            if let Some(Value::Object(prov)) = k.get_mut("provenance") {
                let renamed: serde_json::Map<String, Value> = std::mem::take(prov)
                    .into_iter()
                    .map(|(f, p)| (vocabulary_name(&f), p))
                    .collect();
                *prov = renamed;
            }
        }
        for e in array_mut(facts, "exposures") {
            rename_capabilities(e, &["key_capabilities"]);
        }
        fold_repeated(facts, "exposures", "id", |first, next| {
            let n = occurrences(first) + occurrences(next);
            first["occurrences"] = Value::from(n);
        });
    }
    fold_repeated(doc, "exposures", "id", |first, next| {
        let n = occurrences(first) + occurrences(next);
        if let Some(loc) = next.get("location").cloned() {
            match first
                .get_mut("more_locations")
                .and_then(Value::as_array_mut)
            {
                Some(more) => more.push(loc),
                None => first["more_locations"] = Value::Array(vec![loc]),
            }
        }
        first["occurrences"] = Value::from(n);
    });
    fold_repeated(doc, "findings", "fingerprint", |first, next| {
        let more: Vec<Value> = next
            .get("locations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(locs) = first.get_mut("locations").and_then(Value::as_array_mut) {
            for l in more {
                if !locs.contains(&l) {
                    locs.push(l);
                }
            }
        }
    });
}

fn array_mut<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn occurrences(v: &Value) -> u64 {
    v.get("occurrences").and_then(Value::as_u64).unwrap_or(1)
}

/// A capability name of an older vocabulary as today's (a known synonym), else unchanged.
fn vocabulary_name(name: &str) -> String {
    crate::vendors::capability::alias_of(name)
        .filter(|_| !crate::vendors::capability::is_known(name))
        .unwrap_or(name)
        .to_string()
}

/// Renames the capability names in the string arrays `fields` of `v`, keeping the first of
/// any that then repeat.
fn rename_capabilities(v: &mut Value, fields: &[&str]) {
    for f in fields {
        if let Some(list) = v.get_mut(*f).and_then(Value::as_array_mut) {
            let mut out: Vec<Value> = Vec::with_capacity(list.len());
            for item in list.drain(..) {
                let item = match item.as_str() {
                    Some(s) => Value::from(vocabulary_name(s)),
                    None => item,
                };
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            *list = out;
        }
    }
}

/// Folds the items of array `key` that share the string `id_field` into the first of them
/// (in document order), with `merge(first, next)` for each repeat.
fn fold_repeated(v: &mut Value, key: &str, id_field: &str, merge: impl Fn(&mut Value, &Value)) {
    let Some(list) = v.get_mut(key).and_then(Value::as_array_mut) else {
        return;
    };
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for item in list.drain(..) {
        let id = item
            .get(id_field)
            .and_then(Value::as_str)
            .map(str::to_string);
        match id.and_then(|id| at.get(&id).copied().map(|i| (id, i))) {
            Some((_, i)) => merge(&mut out[i], &item),
            None => {
                if let Some(id) = item.get(id_field).and_then(Value::as_str) {
                    at.insert(id.to_string(), out.len());
                }
                out.push(item);
            }
        }
    }
    *list = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(extra: Value) -> Value {
        let mut doc = serde_json::json!({
            "schema_version": 1, "run_id": "run-1",
            "tool": {"name": "vendorscope", "version": "0.1.0"},
            "command": "audit", "started_at": "2026-11-28T00:00:00Z",
            "fingerprint_check": "check:0",
        });
        if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        doc
    }

    #[test]
    fn current_and_older_schemas_are_read_newer_and_unknown_refused() {
        let run = parse_run("a.json", &v1(serde_json::json!({})).to_string()).expect("v1");
        assert_eq!(run.schema_version, SCHEMA_VERSION);
        let mut cur = v1(serde_json::json!({}));
        cur["schema_version"] = Value::from(SCHEMA_VERSION);
        assert!(parse_run("b.json", &cur.to_string()).is_ok());
        cur["schema_version"] = Value::from(SCHEMA_VERSION + 1);
        let e = parse_run("c.json", &cur.to_string()).expect_err("newer");
        assert!(
            e.to_string().contains("newer than this vendorscope reads"),
            "{e}"
        );
        cur["schema_version"] = Value::from(0);
        let e = parse_run("d.json", &cur.to_string()).expect_err("zero");
        assert!(e.to_string().contains("not supported"), "{e}");
        let e = parse_run("e.json", "{\"run_id\": 1}").expect_err("no version");
        assert!(e.to_string().contains("no schema_version"), "{e}");
        let e = parse_run("f.json", "{\n  \"schema_version\": 1,,\n}").expect_err("json");
        assert!(e.to_string().starts_with("f.json:2:"), "{e}");
    }

    #[test]
    fn v1_capability_names_become_vocabulary_names() {
        let doc = v1(serde_json::json!({
            "facts": {"keys": [{
                "id": "k", "vendor": "iterable", "category": "marketing_email", "type": "server_side",
                "public_by_design": false, "allowed_capabilities": ["events.write", "email.send"],
                "secret_source": "env", "secret_available": true, "status": "active",
                "capabilities": ["email.send", "messages.send", "products.read"],
                "unverifiable": ["email.send"], "exposure_ids": [],
                "provenance": {"email.send": {"source": "unverifiable"}},
            }]},
        }));
        let run = parse_run("v1.json", &doc.to_string()).expect("upgraded");
        let k = &run.facts.keys[0];
        assert_eq!(k.allowed_capabilities, ["events.write", "messages.send"]);
        assert_eq!(
            k.capabilities.as_deref(),
            Some(&["messages.send".to_string(), "catalog.read".to_string()][..])
        );
        assert_eq!(k.unverifiable, ["messages.send"]);
        assert!(k.provenance.contains_key("messages.send"));
    }

    #[test]
    fn v1_repeated_hits_fold_into_one_exposure_and_finding() {
        let loc = |line: u64| serde_json::json!({"path": "site/app.js", "line": line});
        let exposure = |line: u64| {
            serde_json::json!({
                "id": "exp-1", "rule": "stripe-secret-key", "vendor": "stripe",
                "credential_type": "secret_key", "public_by_design": false,
                "location": loc(line), "source": "artifact",
                "evidence": {"fingerprint": "hmac256:1", "redacted": "sk_live_…0Xr"},
                "confidence": "high", "observed_at": "2026-11-28T00:00:00Z",
            })
        };
        let finding = |line: u64| {
            serde_json::json!({
                "rule": "VKS-EXP-001", "title": "t", "severity": "critical", "confidence": "high",
                "enforcement": "block", "status": "fail",
                "subject": {"kind": "exposure", "id": "exp-1", "vendor": "stripe"},
                "message": "m", "locations": [loc(line)], "fingerprint": "vks1:abc",
            })
        };
        let doc = v1(serde_json::json!({
            "exposures": [exposure(2), exposure(9)],
            "findings": [finding(2), finding(9)],
        }));
        let run = parse_run("v1.json", &doc.to_string()).expect("upgraded");
        assert_eq!(run.exposures.len(), 1);
        assert_eq!(run.exposures[0].occurrences, 2);
        assert_eq!(run.exposures[0].location.line, Some(2));
        assert_eq!(run.exposures[0].more_locations[0].line, Some(9));
        assert_eq!(run.findings.len(), 1);
        assert_eq!(run.findings[0].fingerprint, "vks1:abc");
        let lines: Vec<Option<u64>> = run.findings[0].locations.iter().map(|l| l.line).collect();
        assert_eq!(lines, [Some(2), Some(9)]);
    }
}
