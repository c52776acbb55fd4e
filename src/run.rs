//! The run document: one versioned JSON shape every job produces and every report renders.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::facts::Facts;

pub mod observed_diff;
pub mod upgrade;

/// Bumped on any incompatible change to this document; [`upgrade`] reads every older one.
/// 2: one capability vocabulary, one exposure (and finding) per value × place with
/// `occurrences`, locations with `decoded`, `git` and `offset`.
pub const SCHEMA_VERSION: u32 = 2;

/// The one severity scale, used by rules, findings and every output format.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// How sure a rule or detector is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// What a failing rule does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    Block,
    Warn,
    Report,
}

/// Exactly one outcome per rule × subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    NotApplicable,
    /// A needed fact cannot be observed by design; the declared value was used.
    Unverifiable,
    /// A needed fact is missing because something failed. Never a pass.
    Unknown,
    Excepted,
}

/// The kind of thing a rule is evaluated against.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Key,
    Vendor,
    Exposure,
    Run,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Key => "key",
            SubjectKind::Vendor => "vendor",
            SubjectKind::Exposure => "exposure",
            SubjectKind::Run => "run",
        }
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not_applicable",
            Outcome::Unverifiable => "unverifiable",
            Outcome::Unknown => "unknown",
            Outcome::Excepted => "excepted",
        }
    }
}

/// Which subject a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    pub kind: SubjectKind,
    /// Key id, vendor id, exposure id or `run`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// A place in a file, URL or the inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// File path (relative to the scan root when scanning), or `None` for URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u64>,
    /// Original source file and line when a source map gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalSource>,
    /// Inside an archive or compressed file: the member path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// 0-based byte offset in the file (or archive member) where the match starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The value was found after decoding the encoded text at this place: `base64` or `hex`
    /// (nested layers as `base64/base64`); the position is the encoded text's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// In a git repository's history (`scan --git`): `path` is relative to the repository and
    /// this names the commit that introduced the value there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitLocation>,
}

/// Where in a repository's history a value was found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitLocation {
    /// The repository as given to `--git`.
    pub repository: String,
    /// The commit that introduced the value at this path; absent when it is only staged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<GitCommit>,
    /// Staged in the index and not committed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staged: bool,
    /// Later commits whose tree still holds the value at this path (the first
    /// `--max-locations`, oldest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub later_commits: Vec<GitCommit>,
    /// Every later commit that holds it, the listed ones included.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub later_total: u64,
}

/// One commit, as a location names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitCommit {
    /// Full object id.
    pub id: String,
    /// Abbreviated id, unique in the repository.
    pub short: String,
    /// Author date, RFC 3339 with the author's UTC offset.
    pub author_date: String,
    /// The path in this commit, when it differs from the location's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Location {
    /// The history part of a location for people: `introduced in commit 1a2b3c4 (2024-05-01…)
    /// of REPO; still in N later commits: …`, or `staged in the index of REPO, not committed`;
    /// `None` outside a repository.
    pub fn history_note(&self) -> Option<String> {
        let g = self.git.as_ref()?;
        let of = match g.repository.as_str() {
            "." | "./" => String::new(),
            r => format!(" of {r}"),
        };
        let mut s = match &g.commit {
            Some(c) => format!("introduced in commit {} ({}){of}", c.short, c.author_date),
            None => format!("staged in the index{of}, not committed"),
        };
        if g.later_total > 0 {
            let listed: Vec<&str> = g.later_commits.iter().map(|c| c.short.as_str()).collect();
            let more = g.later_total.saturating_sub(listed.len() as u64);
            s.push_str(&format!(
                "; still in {} later commit{}: {}{}",
                g.later_total,
                if g.later_total == 1 { "" } else { "s" },
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        Some(s)
    }
}

/// What a `scan --git` walked and scanned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryStats {
    /// The repository as given to `--git`.
    pub repository: String,
    /// `--since REV`, resolved to a commit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Commits walked (reachable from every ref and HEAD, less those reachable from `--since`).
    pub commits: u64,
    /// Blob versions met: each file added or changed by a commit, and each staged entry that
    /// differs from HEAD.
    pub blob_versions: u64,
    /// Distinct blobs scanned: each blob once, however many commits carry it.
    pub blobs_scanned: u64,
    /// Bytes of the scanned blobs.
    pub bytes_scanned: u64,
    /// Scanned blobs skipped as binary.
    pub skipped_binary: u64,
    /// Blobs over the size limit, not scanned (each is a run error).
    pub skipped_large: u64,
    /// Staged blobs (index entries not in HEAD) scanned.
    pub staged_blobs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OriginalSource {
    pub path: String,
    pub line: u64,
    pub column: u64,
}

/// Evidence about a credential, never the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub fingerprint: String,
    pub redacted: String,
}

/// A failing, unknown or excepted rule outcome.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub enforcement: Enforcement,
    pub status: Outcome,
    pub subject: Subject,
    pub message: String,
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(default)]
    pub remediation: String,
    /// Fully qualified control ids (`ISO27001:2022/A.5.17`, `ISO27001:2013/A.9.2.4`).
    #[serde(default)]
    pub controls: Vec<String>,
    /// Stable across runs and rebuilds: built from rule, subject and credential fingerprint.
    pub fingerprint: String,
    /// Why the outcome is `unknown` (the missing fact, the failed probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The exception that applied (or expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionRef>,
}

impl Finding {
    /// What to do about the finding. A failure (or an exception over one) gets the rule's
    /// remediation; an `unknown` has not been shown to fail, so its advice is to establish the
    /// missing fact its reason names; the rule's remediation applies only if it then fails.
    pub fn advice(&self) -> String {
        if self.status != Outcome::Unknown {
            return self.remediation.clone();
        }
        let reason = self.reason.as_deref().unwrap_or("");
        let how = if reason.contains("missing from the inventory") {
            "declare the missing value in the inventory (the reason names the field and where)"
        } else if reason.contains("secret_unavailable") {
            "make the key's secret available to the run (the inventory's `secret` reference), then audit online"
        } else if reason.contains("offline") || reason.contains("not_probed") {
            "run the audit without --offline so the key is probed (read-only calls)"
        } else if reason.contains("inconclusive") {
            "re-run the audit when the vendor answers (the probe was inconclusive)"
        } else if reason.contains("not scanned") || reason.contains("not crawled") {
            "run the exposure scan (artifacts or surfaces) this rule needs"
        } else {
            "establish the fact the reason names"
        };
        format!(
            "Establish the missing fact: {how}, then re-run; this rule's remediation applies only if it then fails."
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExceptionRef {
    pub id: String,
    pub expires: String,
    pub expired: bool,
    pub approver: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// Probe status of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum KeyStatus {
    Active,
    Invalid,
    Revoked,
    /// Could not be established: `rate_limited`, `server_error`, `timeout`, `redirect`,
    /// `unexpected_response`, `secret_unavailable`, `format_mismatch`, `endpoint_refused`,
    /// `offline`, `network_error`.
    Inconclusive(String),
    /// Not probed (offline run, `shpss_` secrets, detection-only vendors).
    NotProbed(String),
}

impl KeyStatus {
    /// The one way every command and report writes a key status: `active`,
    /// `inconclusive(timeout)`, `not_probed(offline)`.
    pub fn label(&self) -> String {
        match self {
            KeyStatus::Active => "active".into(),
            KeyStatus::Invalid => "invalid".into(),
            KeyStatus::Revoked => "revoked".into(),
            KeyStatus::Inconclusive(r) => status_label("inconclusive", Some(r)),
            KeyStatus::NotProbed(r) => status_label("not_probed", Some(r)),
        }
    }
}

/// A key status word with its reason, as [`KeyStatus::label`] writes it (for facts, which
/// keep the two apart).
pub fn status_label(status: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{status}({r})"),
        None => status.to_string(),
    }
}

/// What a probe established about one key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyProfile {
    pub vendor: String,
    #[serde(flatten)]
    pub status: KeyStatus,
    /// Vendor-level type (`admin_token`, `secret`, `restricted`, `publishable`, `server_side`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::inventory::model::Environment>,
    /// Shop domain, `acct_…`, Adyen company account, Iterable region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_matches: Option<bool>,
    /// Other ids the vendor gave for the account, by kind (Adyen: `company` and `merchant`
    /// account ids from `/me`'s `_links`). `expected_account` matches `account` or any of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_ids: BTreeMap<String, String>,
    /// Native grants: scope handles, `rak_*` permissions, roles, key type.
    #[serde(default)]
    pub granted: Vec<String>,
    /// Normalised capabilities (one vocabulary for all vendors).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Capabilities that cannot be observed without a write; the declared value stands.
    #[serde(default)]
    pub unverifiable: Vec<String>,
    /// Adyen allowed IPs/origins etc. `allowed_ips: []` means any IP.
    #[serde(default)]
    pub restrictions: BTreeMap<String, Vec<String>>,
    /// Calls made (method, url without query values, status).
    #[serde(default)]
    pub calls: Vec<CallSummary>,
    /// What the vendor showed about the account beside the key's own grants, by name
    /// (`profile_fields`: the names in Iterable's user-profile schema). Names only, never a
    /// record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub observations: BTreeMap<String, Observation>,
    /// The vendor's own id of the credential the key belongs to (Adyen `/v3/me` `id`): how
    /// the vendor's credential list is matched to inventory keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The vendor API version every call of the probe pinned (Stripe `Stripe-Version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// RFC 3339 time of the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed_at: Option<String>,
}

/// One observation of the vendor account (see [`KeyProfile::observations`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    pub status: ObservationStatus,
    /// For `unverifiable`: the permission, scope or role the key lacks; for `inconclusive`:
    /// why (`rate_limited`, `server_error`, `truncated`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The call that produced it, e.g. `GET /api/users/getFields`.
    pub call: String,
    /// RFC 3339 time of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// What was seen: names only (field names, hosts, ids), sorted.
    #[serde(default)]
    pub values: Vec<String>,
    /// Structured things seen (credentials, users, webhooks), each an id with named
    /// attributes; never a name, username or e-mail of a person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ObservedItem>,
    /// The vendor's list was longer than the bound read (then `status` is `inconclusive`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One thing an [`Observation`] saw at the vendor: an id (credential id, webhook id) and
/// attributes (`roles`, `allowed_ips`, `active`, `merchants`, a webhook's `destination`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedItem {
    pub id: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Whether an [`Observation`] holds a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObservationStatus {
    /// The vendor answered; `values` is what it holds.
    Observed,
    /// The key may not see it (`reason` names what is missing); nothing is known.
    Unverifiable,
    /// The vendor did not answer usably (`reason`); nothing is known.
    Inconclusive,
}

impl Observation {
    pub fn observed(call: &str, at: Option<String>, mut values: Vec<String>) -> Self {
        values.sort();
        values.dedup();
        Observation {
            status: ObservationStatus::Observed,
            reason: None,
            call: call.to_string(),
            at,
            values,
            items: vec![],
            truncated: false,
        }
    }

    pub fn not_known(status: ObservationStatus, call: &str, reason: &str) -> Self {
        Observation {
            status,
            reason: Some(reason.to_string()),
            call: call.to_string(),
            at: None,
            values: vec![],
            items: vec![],
            truncated: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CallSummary {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// One inventory key as the run saw it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyRecord {
    pub id: String,
    pub vendor: String,
    /// `None` when the secret could not be sourced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
    pub secret_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<KeyProfile>,
    /// Length and character set of the key, recorded with its fingerprint when the secret was
    /// sourced: with the redacted form's prefix and last 4 characters, what `scan --known-keys`
    /// needs to find the key by fingerprint without the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<KeyShape>,
}

/// A key's shape: its length and the smallest character set holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyShape {
    pub length: u32,
    pub charset: ShapeCharset,
}

/// Character sets of [`KeyShape`], smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShapeCharset {
    /// `0-9 a-f`
    Hex,
    /// `A-Z a-z 0-9`
    Alnum,
    /// alnum and `_ -`
    Token,
    /// alnum and `+ / = _ -`
    Base64,
    /// printable ASCII but space
    Printable,
}

impl ShapeCharset {
    /// Whether every byte of `b` is in the set.
    pub fn admits(self, b: &[u8]) -> bool {
        b.iter().all(|&c| match self {
            ShapeCharset::Hex => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            ShapeCharset::Alnum => c.is_ascii_alphanumeric(),
            ShapeCharset::Token => c.is_ascii_alphanumeric() || c == b'_' || c == b'-',
            ShapeCharset::Base64 => c.is_ascii_alphanumeric() || b"+/=_-".contains(&c),
            ShapeCharset::Printable => (0x21..=0x7e).contains(&c),
        })
    }
}

impl KeyShape {
    /// The shape of a raw key; `None` for values outside printable ASCII.
    pub fn of(raw: &str) -> Option<KeyShape> {
        let charset = [
            ShapeCharset::Hex,
            ShapeCharset::Alnum,
            ShapeCharset::Token,
            ShapeCharset::Base64,
            ShapeCharset::Printable,
        ]
        .into_iter()
        .find(|c| c.admits(raw.as_bytes()))?;
        Some(KeyShape {
            length: u32::try_from(raw.len()).ok()?,
            charset,
        })
    }
}

impl KeyRecord {
    /// The record of an inventory key before its secret is sourced: no fingerprint yet.
    pub fn declared(vendor_id: &str, key: &crate::inventory::model::Key) -> Self {
        KeyRecord {
            id: key.id.clone(),
            vendor: vendor_id.to_string(),
            fingerprint: None,
            redacted: None,
            secret_source: key.secret.describe(),
            profile: None,
            shape: None,
        }
    }
}

/// A credential found in public material: one value at one place (file or URL, archive
/// member, original source), however often it occurs there.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Exposure {
    /// Stable id: `exp-` + hash of rule, fingerprint and place (not the line: a rebuild that
    /// moves the value keeps the id).
    pub id: String,
    pub rule: String,
    pub vendor: String,
    pub credential_type: String,
    pub public_by_design: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::inventory::model::Environment>,
    /// The first occurrence.
    pub location: Location,
    /// The next occurrences at the same place, up to `--max-locations` locations in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_locations: Vec<Location>,
    /// Every occurrence at this place, including the ones past the kept locations.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrences: u64,
    /// `artifact` or `surface`.
    pub source: String,
    pub evidence: Evidence,
    pub confidence: Confidence,
    /// Inventory key id when attributed; `None` = unknown credential.
    #[serde(default)]
    pub inventory_key: Option<String>,
    /// Vendor id of the attributed inventory key (the detector's vendor may be a connector name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<KeyProfile>,
    /// RFC 3339 time of the observation.
    pub observed_at: String,
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

fn one() -> u64 {
    1
}

impl Exposure {
    /// Every kept location: the first, then the others.
    pub fn locations(&self) -> impl Iterator<Item = &Location> {
        std::iter::once(&self.location).chain(&self.more_locations)
    }

    /// Occurrences not among the kept locations.
    pub fn unlisted(&self) -> u64 {
        self.occurrences
            .saturating_sub(1 + self.more_locations.len() as u64)
    }
}

/// One vendor call, as recorded by the guarded client.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LedgerEntry {
    pub vendor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub method: String,
    pub host: String,
    /// Path template, no query values.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub attempt: u32,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The vendor API version the request pinned (Stripe `Stripe-Version`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

/// Something that could not be done; never fatal to the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunError {
    /// `secret`, `probe`, `artifact`, `surface`, `policy`, …
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: String,
}

/// An input file and its hash.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Inputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InputFile>,
    #[serde(default)]
    pub policies: Vec<InputFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<InputFile>,
    #[serde(default)]
    pub artifacts: Vec<String>,
    #[serde(default)]
    pub surfaces: Vec<String>,
    /// Options that change what was probed or how (`probe_bulk_endpoints`, `verify_unknown`, …).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// CI identity from the usual environment variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct CiIdentity {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

impl CiIdentity {
    /// Detects GitHub Actions, GitLab CI, Jenkins, CircleCI, Buildkite or a generic `CI`.
    pub fn detect() -> Option<Self> {
        let v = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        if v("GITHUB_ACTIONS").is_some() {
            let run_url = match (
                v("GITHUB_SERVER_URL"),
                v("GITHUB_REPOSITORY"),
                v("GITHUB_RUN_ID"),
            ) {
                (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
                _ => None,
            };
            return Some(CiIdentity {
                provider: "github_actions".into(),
                job: v("GITHUB_JOB").or(v("GITHUB_WORKFLOW")),
                commit: v("GITHUB_SHA"),
                reference: v("GITHUB_REF"),
                run_url,
            });
        }
        if v("GITLAB_CI").is_some() {
            return Some(CiIdentity {
                provider: "gitlab_ci".into(),
                job: v("CI_JOB_NAME"),
                commit: v("CI_COMMIT_SHA"),
                reference: v("CI_COMMIT_REF_NAME"),
                run_url: v("CI_JOB_URL"),
            });
        }
        if v("JENKINS_URL").is_some() {
            return Some(CiIdentity {
                provider: "jenkins".into(),
                job: v("JOB_NAME"),
                commit: v("GIT_COMMIT"),
                reference: v("GIT_BRANCH"),
                run_url: v("BUILD_URL"),
            });
        }
        if v("CIRCLECI").is_some() {
            return Some(CiIdentity {
                provider: "circleci".into(),
                job: v("CIRCLE_JOB"),
                commit: v("CIRCLE_SHA1"),
                reference: v("CIRCLE_BRANCH"),
                run_url: v("CIRCLE_BUILD_URL"),
            });
        }
        if v("BUILDKITE").is_some() {
            return Some(CiIdentity {
                provider: "buildkite".into(),
                job: v("BUILDKITE_LABEL"),
                commit: v("BUILDKITE_COMMIT"),
                reference: v("BUILDKITE_BRANCH"),
                run_url: v("BUILDKITE_BUILD_URL"),
            });
        }
        if v("CI").is_some() {
            return Some(CiIdentity {
                provider: "generic".into(),
                ..Default::default()
            });
        }
        None
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Proxy use (from the standard `*_PROXY` variables), recorded because it changes who sees calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProxyInfo {
    pub used: bool,
    #[serde(default)]
    pub variables: Vec<String>,
}

impl ProxyInfo {
    pub fn detect() -> Self {
        let vars: Vec<String> = [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .iter()
        .filter(|k| std::env::var(k).map(|v| !v.is_empty()).unwrap_or(false))
        .map(|k| k.to_string())
        .collect();
        // Vendor calls and crawls never go through a proxy: the official-host and SSRF checks
        // apply to the resolved address, which a proxy would hide (and a TLS-inspecting proxy
        // would see the key). The variables are recorded so the run says they were ignored.
        ProxyInfo {
            used: false,
            variables: vars,
        }
    }
}

/// Counts per control id: pass / fail / unknown / excepted / not_applicable / unverifiable.
pub type ControlCoverage = BTreeMap<String, BTreeMap<String, u32>>;

/// One control's outcome counts, as every view of coverage shows them (`policy controls`, the
/// HTML chart): passes (unverifiable ones included: the declared value stood), failures,
/// unknowns, exceptions, and a status; `not assessed` when no rule × subject was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ControlTally {
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    pub excepted: u64,
    /// Outcomes that neither pass nor fail the control: `not_applicable`.
    #[serde(skip)]
    pub not_applicable: u64,
    /// `passing`, `failing`, `incomplete` or `not assessed`.
    pub status: &'static str,
}

impl ControlTally {
    /// The tally of one control's counts (`None`: the control is not in the coverage).
    pub fn of(counts: Option<&BTreeMap<String, u32>>) -> Self {
        let n = |o: &str| u64::from(counts.and_then(|m| m.get(o)).copied().unwrap_or(0));
        let (pass, fail, unknown, excepted) = (
            n("pass") + n("unverifiable"),
            n("fail"),
            n("unknown"),
            n("excepted"),
        );
        let status = if pass + fail + unknown + excepted == 0 {
            "not assessed"
        } else if fail > 0 {
            "failing"
        } else if unknown > 0 {
            "incomplete"
        } else {
            "passing"
        };
        ControlTally {
            pass,
            fail,
            unknown,
            excepted,
            not_applicable: n("not_applicable"),
            status,
        }
    }

    /// Every outcome counted toward the control.
    pub fn assessed(&self) -> u64 {
        self.pass + self.fail + self.unknown + self.excepted
    }
}

/// One rule × subject outcome, passes included (JUnit needs every testcase, not only findings).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OutcomeRecord {
    pub rule: String,
    #[serde(default)]
    pub title: String,
    pub severity: Severity,
    pub subject: Subject,
    pub status: Outcome,
    /// Fully qualified control ids of the rule.
    #[serde(default)]
    pub controls: Vec<String>,
    /// Why the outcome is `unknown`, `unverifiable` or `not_applicable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A built-in rule changed by a user policy: visible tamper evidence.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PolicyChange {
    pub rule: String,
    /// `disabled`, `downgraded_severity`, `downgraded_enforcement`, `weakened_require`,
    /// `weakened_where`, `weakened_subject` (each also in [`Run::weakened_rules`]),
    /// `overridden` (every difference, weakening or not) or `exception`.
    pub change: String,
    pub detail: String,
    pub source: String,
}

/// A built-in rule a user policy weakened: disabled it, lowered its severity or enforcement, or
/// changed its `require`, `scope.where` or `scope.subject`. A changed expression cannot be shown
/// to be at least as strict as the built-in one, so every change of one counts. Raising
/// severity or enforcement, and adding new rules, is not weakening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WeakenedRule {
    pub rule: String,
    /// The user policy file that changed it.
    pub source: String,
    /// 1-based line of the rule's `id` in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub changes: Vec<Weakening>,
}

/// One weakening change of a built-in rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Weakening {
    /// `enabled`, `severity`, `enforcement`, `require`, `where` or `subject`.
    pub field: String,
    /// The built-in value (an expression's text for `require` and `where`; empty when the
    /// built-in rule had no `where`).
    pub builtin: String,
    /// The user policy's value (empty when it dropped the `where`).
    pub user: String,
    /// 1-based line of the user's value when known (expressions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Weakening {
    /// Whether the values are CEL expressions (shown as a diff).
    pub fn is_expression(&self) -> bool {
        matches!(self.field.as_str(), "require" | "where")
    }

    /// `enforcement block → report`, `disabled`, `require changed`.
    pub fn summary(&self) -> String {
        match self.field.as_str() {
            "enabled" => "disabled".into(),
            "where" if self.builtin.is_empty() => "scope.where added".into(),
            "where" if self.user.is_empty() => "scope.where removed".into(),
            "where" => "scope.where changed".into(),
            "require" => "require changed".into(),
            "subject" => format!("scope.subject {} → {}", self.builtin, self.user),
            f => format!("{f} {} → {}", self.builtin, self.user),
        }
    }

    /// For an expression: the built-in text as `- ` lines and the user's as `+ ` lines.
    pub fn diff_lines(&self) -> Vec<String> {
        if !self.is_expression() {
            return vec![];
        }
        let mut out = vec![];
        for (sign, text) in [("-", &self.builtin), ("+", &self.user)] {
            if text.trim().is_empty() {
                out.push(format!("{sign} (none)"));
            }
            for l in text.trim_end().lines() {
                out.push(format!("{sign} {l}"));
            }
        }
        out
    }
}

impl WeakenedRule {
    /// `weaker.yaml:4` (or the path alone without a line).
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.source),
            None => self.source.clone(),
        }
    }

    /// `disabled; require changed` — every change, in one line.
    pub fn summary(&self) -> String {
        self.changes
            .iter()
            .map(Weakening::summary)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The expression diffs of every changed `require`/`where`, labelled, one line each.
    pub fn diff_lines(&self) -> Vec<String> {
        let mut out = vec![];
        for c in self.changes.iter().filter(|c| c.is_expression()) {
            let name = if c.field == "where" {
                "scope.where"
            } else {
                "require"
            };
            out.push(format!("{name} (built-in -, user policy +):"));
            out.extend(c.diff_lines().into_iter().map(|l| format!("  {l}")));
        }
        out
    }

    /// One line: `VKS-EXP-001 weakened by weaker.yaml:4: disabled`.
    pub fn headline(&self) -> String {
        format!(
            "built-in rule {} weakened by {}: {}",
            self.rule,
            self.place(),
            self.summary()
        )
    }
}

/// The document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    pub schema_version: u32,
    pub run_id: String,
    pub tool: Tool,
    /// `audit`, `scan`, `probe`, `demo`, `merge`.
    pub command: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiIdentity>,
    #[serde(default)]
    pub proxy: ProxyInfo,
    #[serde(default)]
    pub inputs: Inputs,
    /// Check value of the fingerprint key; runs with different values are never compared.
    pub fingerprint_check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_hash: Option<String>,
    #[serde(default)]
    pub policy_changes: Vec<PolicyChange>,
    /// Built-in rules a user policy weakened (see [`WeakenedRule`]); every format shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weakened_rules: Vec<WeakenedRule>,
    #[serde(default)]
    pub keys: Vec<KeyRecord>,
    #[serde(default)]
    pub exposures: Vec<Exposure>,
    #[serde(default)]
    pub facts: Facts,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Every rule × subject outcome (optional: older runs and shards may omit it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<OutcomeRecord>,
    /// Passes and other outcomes counted per control.
    #[serde(default)]
    pub controls: ControlCoverage,
    #[serde(default)]
    pub ledger: Vec<LedgerEntry>,
    #[serde(default)]
    pub errors: Vec<RunError>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What `scan --git` walked and scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryStats>,
}

impl Run {
    /// The run without its three long lists (exposures, findings, outcomes), the rest cloned.
    pub fn without_lists(&self) -> Run {
        Run {
            schema_version: self.schema_version,
            run_id: self.run_id.clone(),
            tool: self.tool.clone(),
            command: self.command.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            operator: self.operator.clone(),
            ci: self.ci.clone(),
            proxy: self.proxy.clone(),
            inputs: self.inputs.clone(),
            fingerprint_check: self.fingerprint_check.clone(),
            policy_set_hash: self.policy_set_hash.clone(),
            policy_changes: self.policy_changes.clone(),
            weakened_rules: self.weakened_rules.clone(),
            keys: self.keys.clone(),
            exposures: Vec::new(),
            facts: self.facts.clone(),
            findings: Vec::new(),
            outcomes: Vec::new(),
            controls: self.controls.clone(),
            ledger: self.ledger.clone(),
            errors: self.errors.clone(),
            warnings: self.warnings.clone(),
            history: self.history.clone(),
        }
    }
    /// A new run stamped with the tool, time, operator, CI and proxy identity.
    pub fn new(command: &str, fingerprint_check: &str) -> Self {
        let now = now_rfc3339();
        let run_id = {
            let mut b = [0u8; 8];
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
            format!("run-{}", hex::encode(b))
        };
        let proxy = ProxyInfo::detect();
        let mut warnings = vec![];
        if !proxy.variables.is_empty() {
            warnings.push(format!(
                "{} set but ignored: vendor calls and crawls connect directly (host and address checks need the real destination); allow direct egress to the vendor hosts",
                proxy.variables.join(", ")
            ));
        }
        Run {
            schema_version: SCHEMA_VERSION,
            run_id,
            tool: Tool {
                name: "vendorscope".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            command: command.into(),
            started_at: now,
            finished_at: String::new(),
            operator: std::env::var("USER")
                .ok()
                .or_else(|| std::env::var("LOGNAME").ok()),
            ci: CiIdentity::detect(),
            proxy,
            inputs: Inputs::default(),
            fingerprint_check: fingerprint_check.into(),
            policy_set_hash: None,
            policy_changes: vec![],
            weakened_rules: vec![],
            keys: vec![],
            exposures: vec![],
            facts: Facts::default(),
            findings: vec![],
            outcomes: vec![],
            controls: BTreeMap::new(),
            ledger: vec![],
            errors: vec![],
            warnings,
            history: None,
        }
    }

    pub fn finish(&mut self) {
        self.finished_at = now_rfc3339();
    }
}

/// The one order of findings in every output: severity (highest first), then rule, then
/// subject (kind, id), then fingerprint, so equal findings never swap places between runs.
pub fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.subject.kind.cmp(&b.subject.kind))
        .then_with(|| a.subject.id.cmp(&b.subject.id))
        .then_with(|| a.fingerprint.cmp(&b.fingerprint))
}

/// Current time, RFC 3339 UTC, second precision.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// SHA-256 hex of bytes (input file hashes, policy-set hash).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}
