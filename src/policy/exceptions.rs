//! Exceptions (`--exceptions FILE`): reviewed, expiring waivers of one rule for matching subjects.
//!
//! Each needs `rule`, a non-empty `match` (vendor / key / fingerprint / location glob), `reason`,
//! `approver` and `expires` (within the lifetime cap, default 180 days). An expired exception no
//! longer applies and is reported; one that matches nothing is reported as unused; one matching
//! by fingerprint is refused when the file's `fingerprint_check` differs from the run's.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{Diagnostics, PolicySet};
use crate::run::{ExceptionRef, PolicyChange, SubjectKind};
use crate::yaml::Spanned;

/// Default lifetime cap of an exception.
pub const DEFAULT_MAX_LIFETIME_DAYS: i64 = 180;

/// An exceptions file (`--exceptions FILE`; `vendorscope exceptions schema` prints this as a
/// JSON Schema).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ExceptionsFile")]
struct RawFile {
    /// Format version: 1.
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    /// Always `Exceptions`.
    #[schemars(with = "String")]
    kind: Spanned<String>,
    /// The fingerprint key's check value (`fingerprint_check` of a run): required for
    /// exceptions that match by `fingerprint`, which are refused when it differs from the run's.
    #[serde(default)]
    fingerprint_check: Option<String>,
    /// The waivers.
    #[serde(default)]
    exceptions: Vec<RawException>,
}

/// Which subjects an exception covers: every field given must match (at least one).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ExceptionMatch")]
struct RawMatch {
    /// Inventory vendor id.
    #[serde(default)]
    vendor: Option<String>,
    /// Inventory key id (a key, or the key an exposure is attributed to).
    #[serde(default)]
    key: Option<String>,
    /// Credential fingerprint (`hmac256:…`) from a run.
    #[serde(default)]
    fingerprint: Option<String>,
    /// Glob over an exposure's path or URL and its original source (`dist/legacy/**`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    location: Option<Spanned<String>>,
}

/// One reviewed, expiring waiver of one rule.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Exception")]
struct RawException {
    /// Name in reports and warnings (default `RULE#N`).
    #[serde(default)]
    id: Option<String>,
    /// The rule waived (`VKS-EXP-004`).
    #[schemars(with = "String")]
    rule: Spanned<String>,
    /// The subjects it covers.
    #[serde(rename = "match")]
    #[schemars(with = "RawMatch")]
    match_: Spanned<RawMatch>,
    /// Why the risk is accepted.
    #[schemars(with = "String")]
    reason: Spanned<String>,
    /// Who accepted it.
    #[schemars(with = "String")]
    approver: Spanned<String>,
    /// Last day it applies (YYYY-MM-DD), within the lifetime cap (`--max-exception-days`,
    /// default 180) of `created`, or of today without `created`.
    #[schemars(with = "Date")]
    expires: Spanned<Date>,
    /// When it was granted (YYYY-MM-DD).
    #[serde(default)]
    created: Option<Date>,
    /// Tracking ticket.
    #[serde(default)]
    ticket: Option<String>,
}

/// The JSON Schema of an exceptions file (`vendorscope exceptions schema`).
pub fn schema() -> Json {
    serde_json::to_value(schemars::schema_for!(RawFile)).unwrap_or_default()
}

/// One validated exception.
#[derive(Debug, Clone)]
pub struct Exception {
    pub id: String,
    pub rule: String,
    pub vendor: Option<String>,
    pub key: Option<String>,
    pub fingerprint: Option<String>,
    pub location: Option<(String, GlobMatcher)>,
    pub reason: String,
    pub approver: String,
    pub expires: Date,
    pub ticket: Option<String>,
    rule_pos: (usize, usize),
}

/// A loaded exceptions file (possibly empty).
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub items: Vec<Exception>,
    pub fingerprint_check: Option<String>,
    pub source: Option<String>,
    /// The file's text, for the snippets of later diagnostics.
    text: Option<String>,
}

/// How often each exception matched during one evaluation.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    live: Vec<u32>,
    expired: Vec<u32>,
    refused: Vec<u32>,
}

impl Usage {
    /// Adds another part of the same evaluation's counts (parallel chunks).
    pub fn add(&mut self, other: &Usage) {
        for (mine, theirs) in [
            (&mut self.live, &other.live),
            (&mut self.expired, &other.expired),
            (&mut self.refused, &other.refused),
        ] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
    }
}

impl Exceptions {
    /// No exceptions.
    pub fn none() -> Self {
        Self::default()
    }

    /// Loads and validates an exceptions file; `max_lifetime` caps `expires - created`
    /// (or `expires - today` when `created` is absent).
    pub fn load(path: &Path, max_lifetime: jiff::Span) -> Result<Exceptions, Diagnostics> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics::bare(&name, crate::diag::code::IO, format!("cannot read: {e}"))
        })?;
        let today = jiff::Zoned::now().date();
        Self::from_str(&name, &text, max_lifetime, today)
    }

    /// Parses exceptions text (see [`Exceptions::load`]).
    pub fn from_str(
        name: &str,
        text: &str,
        max_lifetime: jiff::Span,
        today: Date,
    ) -> Result<Exceptions, Diagnostics> {
        let mut d = Diagnostics::for_file(name);
        d.add_source(name, text, &[]);
        let Some(raw) =
            super::parse_checked::<RawFile>(name, text, schema(), "exceptions file", &mut d)
        else {
            return Err(d);
        };
        if raw.version.value != 1 {
            d.push(
                name,
                crate::yaml::position(&raw.version),
                "unsupported version (expected 1)",
            );
        }
        if raw.kind.value != "Exceptions" {
            d.push(
                name,
                crate::yaml::position(&raw.kind),
                format!("kind must be `Exceptions`, found `{}`", raw.kind.value),
            );
        }
        let mut items = vec![];
        for (i, r) in raw.exceptions.into_iter().enumerate() {
            let rule_pos = crate::yaml::position(&r.rule);
            let id =
                r.id.clone()
                    .unwrap_or_else(|| format!("{}#{}", r.rule.value, i + 1));
            for (what, s) in [("reason", &r.reason), ("approver", &r.approver)] {
                if s.value.trim().is_empty() {
                    d.push(
                        name,
                        crate::yaml::position(s),
                        format!("exception {id}: `{what}` must not be empty"),
                    );
                }
            }
            let m = &r.match_.value;
            if m.vendor.is_none()
                && m.key.is_none()
                && m.fingerprint.is_none()
                && m.location.is_none()
            {
                d.push(
                    name,
                    crate::yaml::position(&r.match_),
                    format!(
                        "exception {id}: `match` needs at least one of vendor, key, fingerprint, location"
                    ),
                );
            }
            let location = match &m.location {
                Some(l) => match Glob::new(&l.value) {
                    Ok(g) => Some((l.value.clone(), g.compile_matcher())),
                    Err(e) => {
                        d.push(
                            name,
                            crate::yaml::position(l),
                            format!("exception {id}: bad location glob: {e}"),
                        );
                        None
                    }
                },
                None => None,
            };
            let start = r.created.unwrap_or(today);
            let cap_end = start.checked_add(max_lifetime).ok();
            if cap_end.is_some_and(|end| r.expires.value > end) {
                d.push_code(
                    name,
                    crate::yaml::position(&r.expires),
                    crate::diag::code::EXPIRY,
                    format!(
                        "exception {id}: expires {} is beyond the lifetime cap ({} from {start})",
                        r.expires.value, max_lifetime
                    ),
                );
            }
            if r.created.is_some_and(|c| c > r.expires.value) {
                d.push(
                    name,
                    crate::yaml::position(&r.expires),
                    format!("exception {id}: expires before it was created"),
                );
            }
            items.push(Exception {
                id,
                rule: r.rule.value.clone(),
                vendor: m.vendor.clone(),
                key: m.key.clone(),
                fingerprint: m.fingerprint.clone(),
                location,
                reason: r.reason.value.clone(),
                approver: r.approver.value.clone(),
                expires: r.expires.value,
                ticket: r.ticket.clone(),
                rule_pos,
            });
        }
        if !d.is_empty() {
            return Err(d);
        }
        Ok(Exceptions {
            items,
            fingerprint_check: raw.fingerprint_check,
            source: Some(name.to_string()),
            text: Some(text.to_string()),
        })
    }

    /// Exceptions naming a rule the policy set does not have (configuration errors).
    pub fn check_rules(&self, set: &PolicySet) -> Diagnostics {
        let file = self.source.as_deref().unwrap_or("exceptions");
        let mut d = Diagnostics::for_file(file);
        for e in &self.items {
            if set.rule(&e.rule).is_none() {
                let hint = crate::diag::suggest(
                    &e.rule.to_ascii_uppercase(),
                    set.rules.iter().map(|r| r.id.as_str()),
                )
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| " (`vendorscope policy list` lists the rules)".into());
                d.push_span(
                    file,
                    e.rule_pos,
                    e.rule.chars().count(),
                    crate::diag::code::UNKNOWN_REFERENCE,
                    format!("exception {}: unknown rule `{}`{hint}", e.id, e.rule),
                );
            }
        }
        if !d.is_empty()
            && let Some(text) = &self.text
        {
            d.add_source(file, text, &[]);
        }
        d
    }

    pub fn new_usage(&self) -> Usage {
        Usage {
            live: vec![0; self.items.len()],
            expired: vec![0; self.items.len()],
            refused: vec![0; self.items.len()],
        }
    }

    /// The exception applying to a failing/unknown rule × subject: `(ref, live)`; an expired
    /// match is returned with `live = false` (the rule fails again, the expiry is reported).
    pub fn find(
        &self,
        rule: &str,
        kind: SubjectKind,
        subject: &Json,
        now: jiff::Timestamp,
        fingerprint_check: &str,
        usage: &mut Usage,
    ) -> Option<(ExceptionRef, bool)> {
        let s = |k: &str| subject.get(k).and_then(|v| v.as_str());
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let mut expired: Option<ExceptionRef> = None;
        for (i, e) in self.items.iter().enumerate() {
            if e.rule != rule {
                continue;
            }
            let vendor = match kind {
                SubjectKind::Vendor => s("id"),
                SubjectKind::Run => None,
                _ => s("vendor"),
            };
            let key = match kind {
                SubjectKind::Key => s("id"),
                SubjectKind::Exposure => s("inventory_key"),
                _ => None,
            };
            let ok = e.vendor.as_deref().is_none_or(|v| vendor == Some(v))
                && e.key.as_deref().is_none_or(|k| key == Some(k))
                && e.fingerprint
                    .as_deref()
                    .is_none_or(|f| s("fingerprint") == Some(f))
                && e.location.as_ref().is_none_or(|(_, g)| {
                    [s("location"), s("original")]
                        .into_iter()
                        .flatten()
                        .any(|l| g.is_match(l))
                });
            if !ok {
                continue;
            }
            if e.fingerprint.is_some()
                && self
                    .fingerprint_check
                    .as_deref()
                    .is_some_and(|c| c != fingerprint_check)
            {
                usage.refused[i] += 1;
                continue;
            }
            let r = ExceptionRef {
                id: e.id.clone(),
                expires: e.expires.to_string(),
                expired: e.expires < today,
                approver: e.approver.clone(),
                reason: e.reason.clone(),
                ticket: e.ticket.clone(),
            };
            if r.expired {
                usage.expired[i] += 1;
                expired.get_or_insert(r);
            } else {
                usage.live[i] += 1;
                return Some((r, true));
            }
        }
        expired.map(|r| (r, false))
    }

    /// Warnings (expired, refused, unused) and the ids of unused exceptions.
    pub fn report(&self, usage: &Usage) -> (Vec<String>, Vec<String>) {
        let mut w = vec![];
        let mut unused = vec![];
        for (i, e) in self.items.iter().enumerate() {
            let (live, exp, refused) = (
                usage.live.get(i).copied().unwrap_or(0),
                usage.expired.get(i).copied().unwrap_or(0),
                usage.refused.get(i).copied().unwrap_or(0),
            );
            if exp > 0 {
                w.push(format!(
                    "exception {} for {} expired on {}: the rule fails again ({} subject(s))",
                    e.id, e.rule, e.expires, exp
                ));
            }
            if refused > 0 {
                w.push(format!(
                    "exception {} for {} refused: it matches by fingerprint and the exceptions file's fingerprint_check differs from this run's",
                    e.id, e.rule
                ));
            }
            if live == 0 && exp == 0 && refused == 0 {
                w.push(format!(
                    "exception {} for {} is unused (it matched no failing or unknown result)",
                    e.id, e.rule
                ));
                unused.push(e.id.clone());
            }
        }
        (w, unused)
    }

    /// Every exception, recorded in the run next to policy changes (tamper evidence).
    pub fn as_changes(&self) -> Vec<PolicyChange> {
        self.items
            .iter()
            .map(|e| {
                let mut m = vec![];
                if let Some(v) = &e.vendor {
                    m.push(format!("vendor={v}"));
                }
                if let Some(k) = &e.key {
                    m.push(format!("key={k}"));
                }
                if let Some(f) = &e.fingerprint {
                    m.push(format!("fingerprint={f}"));
                }
                if let Some((l, _)) = &e.location {
                    m.push(format!("location={l}"));
                }
                PolicyChange {
                    rule: e.rule.clone(),
                    change: "exception".into(),
                    detail: format!(
                        "{}: match {}; expires {}; approver {}; reason: {}{}",
                        e.id,
                        m.join(","),
                        e.expires,
                        e.approver,
                        e.reason,
                        e.ticket
                            .as_ref()
                            .map(|t| format!("; ticket {t}"))
                            .unwrap_or_default()
                    ),
                    source: self.source.clone().unwrap_or_default(),
                }
            })
            .collect()
    }
}
