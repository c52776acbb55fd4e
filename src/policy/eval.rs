//! Evaluation: every enabled rule × every subject of its kind gets exactly one outcome.
//!
//! `where` false → `not_applicable`; `require` true → `pass` (or `unverifiable` when it relied
//! on a declared value that cannot be observed by design); false → `fail`; a missing fact, a
//! wrong type or any CEL runtime error → `unknown` with the reason, never a pass. Failing and
//! unknown outcomes become findings (`excepted` when a live exception matches).

use std::collections::{BTreeMap, HashMap};

use cel::common::value::Val;
use cel::{Context, ExecutionError, Value};
use serde_json::Value as Json;

use super::exceptions::Exceptions;
use super::{PolicySet, Rule, lint, var_name};
use crate::facts::Facts;
use crate::run::{ControlCoverage, Finding, Location, Outcome, PolicyChange, Subject, SubjectKind};

/// The outcome of one rule for one subject (passes and not-applicable included).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub subject: Subject,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one evaluation produced; `audit` copies it into the run.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Failing, unknown and excepted outcomes.
    pub findings: Vec<Finding>,
    /// Outcome counts per control (2022 and 2013 ids); every mapped control is present.
    pub controls: ControlCoverage,
    /// Every rule × subject outcome.
    pub results: Vec<RuleResult>,
    /// Expired, refused and unused exceptions (for the run's warnings).
    pub exception_warnings: Vec<String>,
    /// Ids of exceptions that matched nothing (`--deny-unused-exceptions` makes them errors).
    pub unused_exceptions: Vec<String>,
    /// Built-in rules overridden, downgraded or disabled, and every exception in force.
    pub policy_changes: Vec<PolicyChange>,
    pub policy_set_hash: String,
}

/// JSON facts → CEL value; `null` members are dropped so a missing fact is `NoSuchKey`. Built
/// as the interpreter's own values, borrowing the facts' strings (a subject's facts are read
/// by every rule of its kind, and a large tree has thousands of subjects).
pub fn to_cel(v: &Json) -> Box<dyn Val + '_> {
    use cel::common::types::{
        CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
    };
    match v {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(0.0)))
            }
        }
        Json::String(s) => Box::new(CelString::from(s.as_str())),
        Json::Array(a) => Box::new(CelList::from(a.iter().map(to_cel).collect::<Vec<_>>())),
        Json::Object(o) => {
            let m: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> = o
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_cel(v)))
                .collect();
            Box::new(CelMap::from(m))
        }
    }
}

fn reason_of(e: &ExecutionError, var: &str, subject: &Json) -> String {
    // A fact the inventory declares (`created`, `owner`, …) is missing because the inventory
    // does not give it: that is the cause, whatever the key's probe status.
    if let ExecutionError::NoSuchKey(k) = e {
        let declared = subject
            .get("provenance")
            .and_then(|p| p.get(k.as_str()))
            .and_then(|p| p.get("source"))
            .and_then(Json::as_str)
            == Some("declared");
        if declared {
            let id = subject.get("id").and_then(Json::as_str).unwrap_or("?");
            return format!("`{k}` is missing from the inventory: declare it on {var} `{id}`");
        }
    }
    // `exposed` comes from the exposure scan, not from a probe: absent only when nothing was
    // scanned, whatever the key's status.
    if let ExecutionError::NoSuchKey(k) = e
        && k.as_str() == "exposed"
    {
        return "fact `exposed` not established: this run scanned no artifacts or surfaces".into();
    }
    let mut r = match e {
        ExecutionError::NoSuchKey(k) => format!("fact `{k}` not established"),
        ExecutionError::UndeclaredReference(k) => format!("`{k}` is not defined"),
        ExecutionError::FunctionError { function, message } if function == "unknown" => {
            message.clone()
        }
        ExecutionError::FunctionError { function, message } => {
            format!("{function}: {message}")
        }
        other => format!("evaluation error: {other}"),
    };
    if var == "key"
        && let Some(st) = subject.get("status").and_then(|s| s.as_str())
    {
        // The status explains a missing observation, once.
        if st != "active" && !r.contains(st) {
            let why = subject
                .get("status_reason")
                .and_then(|s| s.as_str())
                .map(|s| format!("({s})"))
                .unwrap_or_default();
            r.push_str(&format!(" — key status {st}{why}"));
        }
    }
    r
}

/// Strips content hashes from a file or URL so a finding keeps its fingerprint across rebuilds
/// (`main.3f2a1b9c.js` and `main.77aa01de.js` are the same place).
pub fn stable_location(loc: &str) -> String {
    let loc = loc.split(['?', '#']).next().unwrap_or(loc);
    let (dir, file) = match loc.rfind('/') {
        Some(i) => (&loc[..=i], &loc[i + 1..]),
        None => ("", loc),
    };
    let mut out = String::new();
    let mut seg = String::new();
    let flush = |seg: &mut String, out: &mut String, sep: Option<char>, last: bool| {
        let hashy = !last
            && seg.len() >= 6
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && seg.chars().any(|c| c.is_ascii_digit());
        if !hashy {
            out.push_str(seg);
        } else if out.ends_with(['.', '-']) {
            out.pop();
        }
        if let Some(s) = sep {
            out.push(s);
        }
        seg.clear();
    };
    let chars: Vec<char> = file.chars().collect();
    let last_dot = file.rfind('.').map(|i| file[..i].chars().count());
    for (i, c) in chars.iter().enumerate() {
        if *c == '.' || *c == '-' {
            flush(&mut seg, &mut out, Some(*c), false);
            let _ = i;
        } else {
            seg.push(*c);
        }
    }
    flush(&mut seg, &mut out, None, last_dot.is_some());
    format!("{dir}{out}")
}

/// Stable identity of a rule × subject.
fn finding_fingerprint(rule: &str, kind: SubjectKind, subject: &Json) -> String {
    let s = |k: &str| subject.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let ident = match kind {
        SubjectKind::Key => format!("{}/{}", s("vendor"), s("id")),
        SubjectKind::Vendor => s("id").to_string(),
        SubjectKind::Run => "run".into(),
        SubjectKind::Exposure => {
            let loc = subject
                .get("original")
                .and_then(|v| v.as_str())
                .unwrap_or(s("location"));
            format!("{}@{}", s("fingerprint"), stable_location(loc))
        }
    };
    let k = var_name(kind);
    let h = crate::run::sha256_hex(format!("{rule}\0{k}\0{ident}").as_bytes());
    format!("vsf1:{}", &h[..32])
}

fn subject_of(kind: SubjectKind, v: &Json) -> Subject {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match kind {
        SubjectKind::Run => Subject {
            kind,
            id: "run".into(),
            vendor: None,
        },
        SubjectKind::Vendor => Subject {
            kind,
            id: s("id").unwrap_or_default(),
            vendor: s("id"),
        },
        _ => Subject {
            kind,
            id: s("id").unwrap_or_default(),
            vendor: s("vendor"),
        },
    }
}

fn unverifiable_facts(subject: &Json) -> Vec<String> {
    let mut out: Vec<String> = subject
        .get("unverifiable")
        .and_then(|u| u.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(p) = subject.get("provenance").and_then(|p| p.as_object()) {
        for (k, v) in p {
            if v.get("source").and_then(|s| s.as_str()) == Some("unverifiable") && !out.contains(k)
            {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Whether a pass relied on a fact that cannot be observed by design.
fn relies_on_unverifiable(rule: &Rule, unverifiable: &[String]) -> Option<String> {
    if unverifiable.is_empty() {
        return None;
    }
    let mut fields = rule.require.fields.clone();
    if let Some(w) = &rule.where_ {
        fields.extend(w.fields.iter().cloned());
    }
    let src = format!(
        "{} {}",
        rule.require.source,
        rule.where_
            .as_ref()
            .map(|w| w.source.as_str())
            .unwrap_or("")
    );
    let caps = fields.contains("capabilities") || fields.contains("granted");
    let hit: Vec<&String> = unverifiable
        .iter()
        .filter(|u| {
            fields.contains(u.as_str())
                || (caps && (src.contains(u.as_str()) || fields.contains("allowed_capabilities")))
        })
        .collect();
    if hit.is_empty() {
        None
    } else {
        Some(format!(
            "declared value used for {} (cannot be observed without a write)",
            hit.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

fn run_expr(
    e: &super::Expr,
    ctx: &Context<'_, '_>,
    var: &str,
    subject: &Json,
) -> Result<bool, String> {
    match e.program.execute(ctx) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "expression returned {:?}, not a boolean",
            other.type_of()
        )),
        Err(err) => Err(reason_of(&err, var, subject)),
    }
}

pub fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "not_applicable",
        Outcome::Unverifiable => "unverifiable",
        Outcome::Unknown => "unknown",
        Outcome::Excepted => "excepted",
    }
}

/// Evaluates the policy set over the facts at time `now`.
pub fn evaluate(
    set: &PolicySet,
    facts: &Facts,
    exceptions: &Exceptions,
    now: jiff::Timestamp,
    fingerprint_check: &str,
) -> Evaluation {
    let json = facts_json(facts);
    let ev = evaluate_json(set, &json, exceptions, now, fingerprint_check);
    // A large tree's facts are a value per fact of thousands of exposures: freed on the pool
    // while the caller fills the run.
    rayon::spawn(move || drop(json));
    ev
}

/// Exposures from which [`facts_json`] converts them in parallel.
const PARALLEL_FACTS: usize = 1024;

/// `facts` as JSON: the value `serde_json::to_value` gives. A large tree's exposures are
/// converted in parallel parts beside the rest of the facts.
fn facts_json(facts: &Facts) -> Json {
    use rayon::prelude::*;
    let serial = || serde_json::to_value(facts).unwrap_or(Json::Null);
    if facts.exposures.len() < PARALLEL_FACTS {
        return serial();
    }
    // Every field but the exposures (a field added to `Facts` must be listed here).
    let rest = || {
        serde_json::to_value(Facts {
            vendors: facts.vendors.clone(),
            keys: facts.keys.clone(),
            exposures: vec![],
            run: facts.run.clone(),
        })
    };
    let exposures = || {
        facts
            .exposures
            .par_iter()
            .with_min_len(PARALLEL_CHUNK)
            .map(serde_json::to_value)
            .collect::<Result<Vec<Json>, _>>()
    };
    let (rest, exposures) = rayon::join(rest, exposures);
    let (Ok(mut json), Ok(exposures)) = (rest, exposures) else {
        return serial();
    };
    match json.get_mut("exposures") {
        Some(slot) => *slot = Json::Array(exposures),
        None => return serial(),
    }
    json
}

/// Evaluates over facts already in JSON form (the shape of [`Facts`]); fixtures and the
/// mutation test use it to remove or retype single facts.
pub fn evaluate_json(
    set: &PolicySet,
    facts: &Json,
    exceptions: &Exceptions,
    now: jiff::Timestamp,
    fingerprint_check: &str,
) -> Evaluation {
    let mut ev = Evaluation {
        policy_set_hash: set.hash.clone(),
        policy_changes: set.changes.clone(),
        ..Default::default()
    };
    let run_json = facts
        .get("run")
        .cloned()
        .unwrap_or(Json::Object(Default::default()));

    for r in set.rules.iter().filter(|r| r.enabled) {
        for c in r.controls() {
            ev.controls.entry(c).or_default();
        }
    }
    let mut usage = exceptions.new_usage();
    let scope = Scope {
        set,
        exceptions,
        now,
        fingerprint_check,
        run_json: &run_json,
    };
    for kind in [
        SubjectKind::Key,
        SubjectKind::Vendor,
        SubjectKind::Exposure,
        SubjectKind::Run,
    ] {
        let rules: Vec<&Rule> = set
            .rules
            .iter()
            .filter(|r| r.enabled && r.subject == kind)
            .collect();
        if rules.is_empty() {
            continue;
        }
        let subjects: Vec<&Json> = match kind {
            SubjectKind::Key => array(facts, "keys"),
            SubjectKind::Vendor => array(facts, "vendors"),
            SubjectKind::Exposure => array(facts, "exposures"),
            SubjectKind::Run => vec![&run_json],
        };
        // Subjects are independent: large sets are evaluated in parallel chunks (a scan of a
        // large tree has thousands of exposures), each with its own CEL context, and the parts
        // joined in subject order, so the result is the same as one pass.
        use rayon::prelude::*;
        let chunk = chunk_len(subjects.len(), rayon::current_num_threads());
        let parts: Vec<Part> = subjects
            .par_chunks(chunk)
            .map(|c| scope.evaluate(kind, &rules, c))
            .collect();
        for part in parts {
            ev.findings.extend(part.findings);
            ev.results.extend(part.results);
            for (control, counts) in part.controls {
                let into = ev.controls.entry(control).or_default();
                for (label, n) in counts {
                    *into.entry(label).or_insert(0) += n;
                }
            }
            usage.add(&part.usage);
        }
    }
    let (warnings, unused) = exceptions.report(&usage);
    ev.exception_warnings = warnings;
    ev.unused_exceptions = unused;
    ev.policy_changes.extend(exceptions.as_changes());
    ev
}

/// Subjects evaluated in one chunk at least (smaller sets are not worth a thread).
const PARALLEL_CHUNK: usize = 128;

/// How many subjects each parallel chunk evaluates: equal chunks, a whole number per thread
/// (up to four, so one slow chunk does not hold the others back) and no more chunks than
/// [`PARALLEL_CHUNK`] fills. Unequal chunks leave threads idle: 380 exposures on two threads
/// in chunks of 128, 128 and 124 take two chunks' time; in halves of 190, one and a half.
fn chunk_len(subjects: usize, threads: usize) -> usize {
    let threads = threads.max(1);
    let per_thread = (subjects / (threads * PARALLEL_CHUNK)).clamp(1, 4);
    let chunks = (threads * per_thread)
        .min(subjects.div_ceil(PARALLEL_CHUNK))
        .max(1);
    subjects.div_ceil(chunks).max(1)
}

/// What every subject's evaluation reads.
struct Scope<'a> {
    set: &'a PolicySet,
    exceptions: &'a Exceptions,
    now: jiff::Timestamp,
    fingerprint_check: &'a str,
    run_json: &'a Json,
}

/// One chunk's share of an [`Evaluation`].
#[derive(Default)]
struct Part {
    findings: Vec<Finding>,
    results: Vec<RuleResult>,
    controls: ControlCoverage,
    usage: super::exceptions::Usage,
}

impl Scope<'_> {
    /// Every rule of `kind` over `subjects`, in order.
    fn evaluate(&self, kind: SubjectKind, rules: &[&Rule], subjects: &[&Json]) -> Part {
        let (set, exceptions, now, fingerprint_check, run_json) = (
            self.set,
            self.exceptions,
            self.now,
            self.fingerprint_check,
            self.run_json,
        );
        let mut ev = Part {
            usage: exceptions.new_usage(),
            ..Part::default()
        };
        let usage = &mut ev.usage;
        let mut root = Context::with_env(lint::env());
        if let Err(e) = super::functions::register(&mut root, now) {
            tracing::error!("policy functions: {e}");
        }
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
        root.add_variable_from_value("now", now.to_string());
        root.add_variable_from_value("today", today);
        root.add_variable_as_val("run", to_cel(run_json));
        let var = var_name(kind);
        // Outcomes per rule, spread over the rules' controls once at the end of the chunk.
        let mut tally: HashMap<(usize, Outcome), u32> = HashMap::new();
        // Message templates see the subject (as `var`) and the run; both are converted to
        // template values once (the run once per chunk, a subject at its first finding).
        let run_value = std::cell::OnceCell::new();
        let run_value = || {
            run_value
                .get_or_init(|| minijinja::Value::from_serialize(run_json))
                .clone()
        };
        for &subject in subjects {
            let message_ctx = std::cell::OnceCell::new();
            let message_context = || {
                let this = minijinja::Value::from_serialize(subject);
                match var {
                    "run" => minijinja::Value::from_iter([("run", this)]),
                    _ => minijinja::Value::from_iter([(var, this), ("run", run_value())]),
                }
            };
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_as_val(var, to_cel(subject));
            let unverifiable = unverifiable_facts(subject);
            let subj = subject_of(kind, subject);
            for (ri, rule) in rules.iter().enumerate() {
                let (mut outcome, mut reason) = match &rule.where_ {
                    Some(w) => match run_expr(w, &ctx, var, subject) {
                        Ok(true) => (None, None),
                        Ok(false) => (Some(Outcome::NotApplicable), None),
                        Err(r) => (Some(Outcome::Unknown), Some(format!("scope: {r}"))),
                    },
                    None => (None, None),
                };
                if outcome.is_none() {
                    (outcome, reason) = match run_expr(&rule.require, &ctx, var, subject) {
                        Ok(true) => match relies_on_unverifiable(rule, &unverifiable) {
                            Some(why) => (Some(Outcome::Unverifiable), Some(why)),
                            None => (Some(Outcome::Pass), None),
                        },
                        Ok(false) => (Some(Outcome::Fail), None),
                        Err(r) => (Some(Outcome::Unknown), Some(r)),
                    };
                }
                let mut outcome = outcome.unwrap_or(Outcome::Unknown);
                let mut exception = None;
                if matches!(outcome, Outcome::Fail | Outcome::Unknown)
                    && let Some((eref, live)) =
                        exceptions.find(&rule.id, kind, subject, now, fingerprint_check, usage)
                {
                    if live {
                        outcome = Outcome::Excepted;
                    }
                    exception = Some(eref);
                }
                *tally.entry((ri, outcome)).or_insert(0) += 1;
                if matches!(
                    outcome,
                    Outcome::Fail | Outcome::Unknown | Outcome::Excepted
                ) {
                    // Templates describe the failure; an unknown says what was not established.
                    let message = if outcome == Outcome::Unknown
                        || exception.as_ref().is_some_and(|_| reason.is_some())
                    {
                        format!(
                            "{}: not established ({})",
                            rule.title,
                            reason.as_deref().unwrap_or("a needed fact is missing")
                        )
                    } else {
                        set.render_message(rule, message_ctx.get_or_init(&message_context))
                    };
                    ev.findings.push(Finding {
                        rule: rule.id.clone(),
                        title: rule.title.clone(),
                        severity: rule.severity,
                        confidence: rule.confidence,
                        enforcement: rule.enforcement,
                        status: outcome,
                        subject: subj.clone(),
                        message,
                        locations: locations(kind, subject),
                        evidence: evidence(kind, subject),
                        remediation: rule.remediation.clone(),
                        controls: rule.controls(),
                        fingerprint: finding_fingerprint(&rule.id, kind, subject),
                        reason: reason.clone(),
                        exception,
                    });
                }
                ev.results.push(RuleResult {
                    rule: rule.id.clone(),
                    subject: subj.clone(),
                    outcome,
                    reason,
                });
            }
        }
        for ((ri, outcome), n) in tally {
            for c in rules[ri].controls() {
                *ev.controls
                    .entry(c)
                    .or_default()
                    .entry(outcome_label(outcome).to_string())
                    .or_insert(0) += n;
            }
        }
        ev
    }
}

fn array<'a>(facts: &'a Json, k: &str) -> Vec<&'a Json> {
    facts
        .get(k)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn locations(kind: SubjectKind, subject: &Json) -> Vec<Location> {
    if kind != SubjectKind::Exposure {
        return vec![];
    }
    let loc = subject
        .get("location")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let surface = subject.get("source").and_then(|v| v.as_str()) == Some("surface");
    vec![Location {
        path: (!surface).then(|| loc.to_string()),
        url: surface.then(|| loc.to_string()),
        ..Default::default()
    }]
}

fn evidence(kind: SubjectKind, subject: &Json) -> Option<crate::run::Evidence> {
    let fp = subject.get("fingerprint")?.as_str()?;
    let _ = kind;
    Some(crate::run::Evidence {
        fingerprint: fp.to_string(),
        redacted: String::new(),
    })
}

/// Groups results per rule: outcome → count (for `policy controls --run` and tests).
pub fn tally(results: &[RuleResult]) -> BTreeMap<String, BTreeMap<&'static str, u32>> {
    let mut m: BTreeMap<String, BTreeMap<&'static str, u32>> = BTreeMap::new();
    for r in results {
        *m.entry(r.rule.clone())
            .or_default()
            .entry(outcome_label(r.outcome))
            .or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    /// Chunks are equal, never smaller than the floor unless the set is, and as many as the
    /// threads once there are enough subjects (four per thread at most).
    #[test]
    fn chunks_are_equal_and_fill_the_threads() {
        use super::{PARALLEL_CHUNK, chunk_len};
        assert_eq!(chunk_len(0, 2), 1);
        assert_eq!(chunk_len(10, 2), 10);
        assert_eq!(chunk_len(380, 2), 190);
        assert_eq!(chunk_len(200, 2), 100);
        assert_eq!(chunk_len(10_000, 2), 1_250);
        for n in [1, 127, 128, 129, 380, 1_000, 5_000, 100_000] {
            for t in [1, 2, 3, 8] {
                let c = chunk_len(n, t);
                let chunks = n.div_ceil(c);
                assert!(chunks <= 4 * t, "{n} {t}");
                assert!(c >= PARALLEL_CHUNK.min(n).div_ceil(2), "{n} {t}");
                // Equal: the last chunk is short by less than one subject per chunk.
                assert!(c * chunks - n < chunks, "{n} {t}");
            }
        }
    }

    use super::*;

    /// The facts of a large tree, converted in parallel parts, are the value one
    /// `to_value` gives; so are a small tree's.
    #[test]
    fn parallel_facts_json_is_to_value() {
        let exposure = |i: usize| -> crate::facts::ExposureFacts {
            serde_json::from_value(serde_json::json!({
                "id": format!("exp-{i}"), "rule": "stripe.secret_key", "vendor": "stripe",
                "credential_type": "secret_key", "public_by_design": false,
                "environment": "live", "source": "artifact",
                "location": format!("dist/{i}.js"), "fingerprint": format!("hmac256:{i:016x}"),
                "known": i.is_multiple_of(2), "observed_at": "2026-12-04T12:00:00Z", "provenance": {}
            }))
            .expect("exposure facts")
        };
        for n in [
            0,
            3,
            PARALLEL_FACTS - 1,
            PARALLEL_FACTS,
            2 * PARALLEL_FACTS + 77,
        ] {
            let mut facts = Facts {
                exposures: (0..n).map(exposure).collect(),
                ..Facts::default()
            };
            facts.run.command = "scan".into();
            facts.run.error_count = 2;
            let json = facts_json(&facts);
            assert_eq!(json, serde_json::to_value(&facts).expect("json"), "{n}");
            assert_eq!(json["exposures"].as_array().map(Vec::len), Some(n));
        }
    }

    #[test]
    fn stable_locations_drop_content_hashes() {
        assert_eq!(
            stable_location("dist/assets/index-BxZ3k9aQ.js"),
            "dist/assets/index.js"
        );
        assert_eq!(stable_location("dist/main.3f2a1b9c.js"), "dist/main.js");
        assert_eq!(
            stable_location("https://shop.example/app.js?v=123"),
            "https://shop.example/app.js"
        );
        assert_eq!(stable_location("dist/analytics.js"), "dist/analytics.js");
        assert_eq!(
            stable_location("dist/main.3f2a1b9c.js"),
            stable_location("dist/main.77aa01de.js")
        );
    }
}
