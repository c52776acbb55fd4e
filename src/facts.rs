//! The facts model the policies evaluate: vendors, keys, exposures and the run, each fact
//! marked `declared` (inventory) or `observed` (probe/scan/crawl, with its time).
//!
//! A fact that could not be established is absent (`null`/missing), so a rule that needs it
//! evaluates to `unknown`, never to a pass. A fact that cannot be observed by design keeps its
//! declared value and is marked `unverifiable` in `provenance`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod access;

pub use access::{CredentialFacts, StaffFacts, UserFacts};

use crate::inventory::model::{Inventory, Key, Vendor};
use crate::run::{Exposure, KeyRecord, KeyStatus};

/// Where a fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Declared,
    Observed,
    /// Cannot be observed by design; the declared value stands.
    Unverifiable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The vendor call that observed it (`GET /v1/webhook_endpoints`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
}

impl Provenance {
    fn declared() -> Self {
        Provenance {
            source: Source::Declared,
            at: None,
            call: None,
        }
    }
    fn observed(at: Option<String>) -> Self {
        Provenance {
            source: Source::Observed,
            at,
            call: None,
        }
    }
    fn observed_by(at: Option<String>, call: &str) -> Self {
        Provenance {
            call: Some(call.to_string()),
            ..Self::observed(at)
        }
    }
}

/// All facts of one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Facts {
    #[serde(default)]
    pub vendors: Vec<VendorFacts>,
    #[serde(default)]
    pub keys: Vec<KeyFacts>,
    #[serde(default)]
    pub exposures: Vec<ExposureFacts>,
    #[serde(default)]
    pub run: RunFacts,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DpaFacts {
    pub signed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_on: Option<String>,
    /// Contract reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AttestationFacts {
    #[serde(rename = "type")]
    pub kind: String,
    pub valid_until: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RetentionFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_pii_after_shipment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounting_records: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AdminFacts {
    pub mfa_enforced: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,
    /// Declared number of admin accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// Facts about one vendor (all declared).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VendorFacts {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    pub category: String,
    pub tier: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub data_shared: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpa: Option<DpaFacts>,
    pub attestations: Vec<AttestationFacts>,
    /// Date of the last reassessment, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reassessment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_accounts: Option<AdminFacts>,
    pub subprocessors: Vec<String>,
    /// The reviewer's assessment block (declared), for the reassessment report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<crate::inventory::model::Assessment>,
    /// Last reassessment reviewer and outcome (declared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reassessment_reviewer: Option<String>,
    pub key_ids: Vec<String>,
    /// Personal-data categories the vendor was seen to hold: the field names of its
    /// user-profile schema (Iterable `getFields`) mapped by [`crate::pii`]. Absent when no key
    /// of this run could observe it; then `observed_data_reason` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_data: Option<Vec<String>>,
    /// Why `observed_data` is absent (`unverifiable: …`, `inconclusive: …`, `not probed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_data_reason: Option<String>,
    /// The vendor's field names behind each observed category (the evidence).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub observed_fields: BTreeMap<String, Vec<String>>,
    /// Hosts the inventory says may receive this vendor's webhook events (declared
    /// `webhook_destinations`); absent when the inventory does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_destinations: Option<Vec<String>>,
    /// The webhook endpoints the vendor shows (observed): id, destination, active, topics.
    /// Absent when no key of this run could list them; then `webhooks_reason` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_webhooks: Option<Vec<WebhookFacts>>,
    /// Their destinations, `scheme://host[:port]` (never a path or query), sorted and unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_webhook_destinations: Option<Vec<String>>,
    /// Observed destinations no `webhook_destinations` pattern covers: data flows nobody
    /// assessed. Absent unless both the observation and the declaration exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeclared_webhook_destinations: Option<Vec<String>>,
    /// Observed destinations that are not `https://` (events sent in clear text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_http_webhook_destinations: Option<Vec<String>>,
    /// Why `observed_webhooks` is absent (`unverifiable: …` naming the missing permission,
    /// `inconclusive: …`, `no key of this vendor was probed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks_reason: Option<String>,
    /// Every API credential the vendor holds for the account, listed by the audit key (Adyen);
    /// absent when not observed, then `credentials_reason` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_credentials: Option<Vec<CredentialFacts>>,
    /// Active credentials at the vendor that no inventory key is (by credential id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeclared_credentials: Option<Vec<String>>,
    /// Inventory keys the vendor shows inactive, or missing from the lists that hold their
    /// account (or whose probe found them invalid or revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_declared_keys: Option<Vec<String>>,
    /// Inventory keys whose credential id is unknown (not probed, inconclusive, or of an
    /// account no list covered): an undeclared credential may be one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched_keys: Option<Vec<String>>,
    /// Active credentials no inventory key is, with payment or report roles and no IP
    /// allow-list (judged like an inventory key by VKS-KEY-005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_payment_credentials: Option<Vec<String>>,
    /// Why `observed_credentials` is absent (`unverifiable: …` names the missing role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_reason: Option<String>,
    /// The vendor's user accounts (id, roles, active), listed by the audit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_users: Option<Vec<UserFacts>>,
    /// Why `observed_users` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_reason: Option<String>,
    /// The shop's staff accounts (Shopify Plus, `read_users`), listed by the audit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_staff: Option<Vec<StaffFacts>>,
    /// Ids of the staff accounts with order access (the 2020 insider export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_with_order_access: Option<Vec<String>>,
    /// Why `observed_staff` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_reason: Option<String>,
    pub provenance: BTreeMap<String, Provenance>,
}

/// One webhook endpoint at a vendor (observed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookFacts {
    /// The vendor's id of the endpoint.
    pub id: String,
    /// `scheme://host[:port]` of its URL.
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// How many event types it receives, when the vendor says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<u64>,
}

/// The key-profile observation that shows a vendor's user-profile schema.
pub const PROFILE_FIELDS: &str = "profile_fields";
/// The key-profile observation that lists a vendor's webhook endpoints.
pub const WEBHOOKS: &str = "webhooks";

/// Facts about one inventory key: declared fields plus what the probe observed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyFacts {
    pub id: String,
    pub vendor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// The vendor's category (`marketing_email`, …), copied for rules scoped to keys.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Declared type (`server_side`, `client_side`, …).
    #[serde(rename = "type")]
    pub key_type: String,
    pub public_by_design: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    pub allowed_capabilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_jwt: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// `env`, `file`, `command`.
    pub secret_source: String,
    pub secret_available: bool,
    /// `active | invalid | revoked | inconclusive | not_probed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Vendor-level type the probe saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Other ids of the observed account, by kind (Adyen `company`, `merchant`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_ids: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_matches: Option<bool>,
    /// Native grants (absent unless a probe established them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Vec<String>>,
    /// Normalised capabilities (absent unless a probe established them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    pub unverifiable: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<BTreeMap<String, Vec<String>>>,
    /// Whether an exposure scan ran and found this key in public material (absent = not scanned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed: Option<bool>,
    pub exposure_ids: Vec<String>,
    /// The vendor's id of the credential (Adyen `/me` `id`), matched against the vendor's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The inventory declares it `role: audit` (absent for integration keys).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit: bool,
    /// An audit key's grants the audit does not use (least-privilege table); absent unless
    /// its grants were observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_excess: Option<Vec<String>>,
    /// The grants the audit uses that an audit key lacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_missing: Option<Vec<String>>,
    pub provenance: BTreeMap<String, Provenance>,
}

/// Facts about one exposure, with the attributed key's observed facts copied in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExposureFacts {
    pub id: String,
    pub rule: String,
    pub vendor: String,
    pub credential_type: String,
    pub public_by_design: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `artifact` or `surface`.
    pub source: String,
    /// Path or URL.
    pub location: String,
    /// How often the value occurs there.
    #[serde(default = "one")]
    pub occurrences: u64,
    /// Original source file when a source map gave one (stable across rebuilds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_key: Option<String>,
    pub known: bool,
    /// The attributed inventory key's facts are in this run (its key-level rules cover it).
    #[serde(default)]
    pub key_checked: bool,
    /// Status of the key (from the inventory key's probe or from `--verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_category: Option<String>,
    pub observed_at: String,
    pub provenance: BTreeMap<String, Provenance>,
}

fn one() -> u64 {
    1
}

/// Facts about the run itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RunFacts {
    pub command: String,
    /// The organisation the inventory describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub offline: bool,
    pub probed: bool,
    pub artifacts_scanned: bool,
    pub surfaces_crawled: bool,
    pub error_count: u32,
    /// Exposure scanning errors (unreadable files, unreachable surfaces).
    pub scan_errors: u32,
    /// Whether found credentials could be attributed (an inventory or known-key fingerprints
    /// were available); without it, "unknown credential" cannot be decided.
    #[serde(default)]
    pub attribution_available: bool,
    /// Third-party script origins the crawled pages load, each with the vendor whose
    /// `script_origins` lists it (absent when no surface was crawled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_origins: Option<Vec<ScriptOriginFacts>>,
    /// The script origins no vendor lists and `allowed_script_origins` does not allow:
    /// suppliers that run code on the site and were never assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeclared_script_origins: Option<Vec<String>>,
    /// Script origins the shop platform injects (Shopify script tags seen by an audit key):
    /// they join `script_origins` (absent when no script tags were observed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_tag_origins: Option<Vec<String>>,
    /// Why `script_tag_origins` is absent (`unverifiable: …` names the missing scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_tags_reason: Option<String>,
}

/// One third-party script origin the crawl saw (observed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScriptOriginFacts {
    /// `https://host[:port]`.
    pub origin: String,
    /// The inventory vendor that lists it, or `allowed` for `allowed_script_origins`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Pages that load it (scheme, host and path; at most five).
    pub pages: Vec<String>,
    /// Platform script tags that inject it (`shopify script tag 421379493`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected_by: Vec<String>,
}

/// Whether `pattern` (`host`, `host:port` or `*.domain`) covers `origin` (`scheme://host[:port]`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let host_port = origin.split_once("://").map_or(origin, |(_, h)| h);
    // A URL redactor may have written the origin back as `scheme://host/`.
    let host_port = host_port.split('/').next().unwrap_or(host_port);
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host_port
        }
    });
    let pattern = pattern.trim().trim_end_matches('/').to_ascii_lowercase();
    let pattern = pattern
        .split_once("://")
        .map_or(pattern.as_str(), |(_, h)| h);
    match pattern.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => pattern == host || pattern == host_port,
    }
}

/// The crawl's script origins against the inventory: who owns each, and which nobody does.
fn script_origin_facts(
    inv: Option<&Inventory>,
    seen: &ScriptOrigins,
) -> (Vec<ScriptOriginFacts>, Vec<String>) {
    let mut all = Vec::new();
    let mut undeclared = Vec::new();
    for (origin, pages) in seen {
        let owner = inv.and_then(|inv| {
            inv.vendors
                .iter()
                .find(|v| v.script_origins.iter().any(|p| origin_matches(p, origin)))
                .map(|v| v.id.clone())
                .or_else(|| {
                    inv.allowed_script_origins
                        .iter()
                        .any(|p| origin_matches(p, origin))
                        .then(|| "allowed".to_string())
                })
        });
        if owner.is_none() {
            undeclared.push(origin.clone());
        }
        all.push(ScriptOriginFacts {
            origin: origin.clone(),
            owner,
            pages: pages.iter().cloned().collect(),
            injected_by: vec![],
        });
    }
    (all, undeclared)
}

/// What the run did, for [`build`].
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub command: String,
    pub offline: bool,
    pub probed: bool,
    pub artifacts_scanned: bool,
    pub surfaces_crawled: bool,
    pub error_count: u32,
    pub scan_errors: u32,
    /// Third-party script origins the crawl saw, with the pages loading them (`None`: no crawl).
    pub script_origins: Option<ScriptOrigins>,
}

/// Script origin → pages that load it (as [`crate::crawl::CrawlReport::script_origins`]).
pub type ScriptOrigins = BTreeMap<String, std::collections::BTreeSet<String>>;

impl RunContext {
    /// Whether every exposure scan of the run completed: `exposed: false` only then (an
    /// unreadable file or unreachable surface leaves it unknown).
    pub fn scan_complete(&self) -> bool {
        (self.artifacts_scanned || self.surfaces_crawled) && self.scan_errors == 0
    }

    /// Adds one crawl's script origins (a crawl ran, so the fact exists even when empty).
    pub fn add_script_origins(&mut self, seen: &ScriptOrigins) {
        let all = self.script_origins.get_or_insert_with(BTreeMap::new);
        for (origin, pages) in seen {
            let p = all.entry(origin.clone()).or_default();
            for page in pages {
                if p.len() < crate::crawl::MAX_PAGES_PER_ORIGIN {
                    p.insert(page.clone());
                }
            }
        }
    }
}

fn date(d: &Option<jiff::civil::Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// A unit enum's serde name (`server_side`, `live`, …).
pub(crate) fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Builds the facts from the inventory, the run's key records and exposures.
pub fn build(
    inv: Option<&Inventory>,
    keys: &[KeyRecord],
    exposures: &[Exposure],
    ctx: &RunContext,
) -> Facts {
    let mut facts = Facts {
        run: RunFacts {
            command: ctx.command.clone(),
            organization: inv.map(|i| i.organization.clone()),
            offline: ctx.offline,
            probed: ctx.probed,
            artifacts_scanned: ctx.artifacts_scanned,
            surfaces_crawled: ctx.surfaces_crawled,
            error_count: ctx.error_count,
            scan_errors: ctx.scan_errors,
            attribution_available: inv.is_some() || keys.iter().any(|k| k.fingerprint.is_some()),
            script_origins: None,
            undeclared_script_origins: None,
            script_tag_origins: None,
            script_tags_reason: None,
        },
        ..Default::default()
    };
    // The crawl's script origins and the platform's script tags, judged together.
    let (tags, tags_reason) = inv.map_or((None, None), |inv| access::script_tags(inv, keys));
    facts.run.script_tags_reason = tags_reason;
    let mut seen = ctx.script_origins.clone();
    if let Some(tags) = &tags {
        let all = seen.get_or_insert_with(BTreeMap::new);
        for origin in tags.keys() {
            all.entry(origin.clone()).or_default();
        }
        facts.run.script_tag_origins = Some(tags.keys().cloned().collect());
    }
    if let Some(seen) = &seen {
        let (mut all, undeclared) = script_origin_facts(inv, seen);
        for s in &mut all {
            s.injected_by = tags
                .as_ref()
                .and_then(|t| t.get(&s.origin).cloned())
                .unwrap_or_default();
        }
        facts.run.script_origins = Some(all);
        facts.run.undeclared_script_origins = Some(undeclared);
    }
    let scanned = ctx.scan_complete();
    if let Some(inv) = inv {
        for v in &inv.vendors {
            let mut vf = vendor_facts(v);
            let records: Vec<&KeyRecord> = keys.iter().filter(|r| r.vendor == v.id).collect();
            observe_data(
                &mut vf,
                &records,
                &crate::pii::FieldMap::new(&inv.field_categories),
            );
            observe_webhooks(&mut vf, &records);
            access::observe(&mut vf, v, &records);
            access::observe_staff(&mut vf, v, &records);
            facts.vendors.push(vf);
            for k in &v.keys {
                let rec = keys.iter().find(|r| r.id == k.id && r.vendor == v.id);
                let mut kf = key_facts(v, k, rec, exposures, scanned, ctx.offline);
                access::audit_key(&mut kf, k);
                facts.keys.push(kf);
            }
        }
    }
    facts.exposures = all_exposure_facts(exposures, &facts.keys);
    facts
}

/// [`exposure_facts`] of every exposure, in order (a large tree's in parallel).
fn all_exposure_facts(exposures: &[Exposure], keys: &[KeyFacts]) -> Vec<ExposureFacts> {
    use rayon::prelude::*;
    exposures
        .par_iter()
        .with_min_len(256)
        .map(|e| exposure_facts(e, keys))
        .collect()
}

/// Adds the keys a previous run knew (`scan --known-keys`) that the inventory did not give,
/// with [`known_key_facts`], and re-derives the exposures' key facts (`facts` is what [`build`]
/// made of the same `exposures`): a key attributed by fingerprint gets the same key-level rules
/// as one attributed through the inventory.
pub fn add_known_keys(
    facts: &mut Facts,
    known: &[KeyFacts],
    keys: &[KeyRecord],
    exposures: &[Exposure],
    ctx: &RunContext,
) {
    let before = facts.keys.len();
    for prev in known {
        if facts
            .keys
            .iter()
            .any(|k| k.id == prev.id && k.vendor == prev.vendor)
        {
            continue;
        }
        let rec = keys
            .iter()
            .find(|r| r.id == prev.id && r.vendor == prev.vendor);
        facts
            .keys
            .push(known_key_facts(prev, rec, exposures, ctx.scan_complete()));
    }
    // Only a key added here changes what an exposure's facts copy from its key.
    if facts.keys.len() > before {
        facts.exposures = all_exposure_facts(exposures, &facts.keys);
    }
}

/// One observation of a vendor account as seen through all its keys: any key that saw it is
/// enough (what several keys saw is united); otherwise why not, the missing permission first.
/// `reason` is also set when the connector can observe it but no key of this run did.
#[derive(Debug, Clone, Default)]
pub struct VendorObservation {
    pub observed: Option<crate::run::Observation>,
    pub reason: Option<String>,
}

/// The vendor-level view of observation `name` (see [`VendorObservation`]).
pub fn vendor_observation(
    connector: Option<&str>,
    records: &[&KeyRecord],
    name: &str,
) -> VendorObservation {
    use crate::run::ObservationStatus as S;
    let seen: Vec<&crate::run::Observation> = records
        .iter()
        .filter_map(|r| r.profile.as_ref()?.observations.get(name))
        .collect();
    let mut observed = seen.iter().filter(|o| o.status == S::Observed);
    if let Some(first) = observed.next() {
        let mut all = (*first).clone();
        for o in observed {
            all.values.extend(o.values.iter().cloned());
            for it in &o.items {
                if !all.items.iter().any(|x| x.id == it.id) {
                    all.items.push(it.clone());
                }
            }
            all.at = all.at.clone().max(o.at.clone());
            all.truncated |= o.truncated;
        }
        all.values.sort();
        all.values.dedup();
        all.items.sort_by(|a, b| a.id.cmp(&b.id));
        return VendorObservation {
            observed: Some(all),
            reason: None,
        };
    }
    let why = seen
        .iter()
        .find(|o| o.status == S::Unverifiable)
        .or_else(|| seen.first())
        .map(|o| {
            let status = if o.status == S::Unverifiable {
                "unverifiable"
            } else {
                "inconclusive"
            };
            format!(
                "{status}: {}",
                o.reason.as_deref().unwrap_or("no reason given")
            )
        });
    let observable = connector
        .and_then(crate::vendors::connector)
        .is_some_and(|c| c.observations().contains(&name));
    VendorObservation {
        observed: None,
        reason: why.or_else(|| observable.then(|| "no key of this vendor was probed".into())),
    }
}

/// Fills `observed_data` from the vendor's user-profile schema ([`PROFILE_FIELDS`]).
fn observe_data(vf: &mut VendorFacts, records: &[&KeyRecord], map: &crate::pii::FieldMap) {
    let o = vendor_observation(vf.connector.as_deref(), records, PROFILE_FIELDS);
    let Some(seen) = o.observed else {
        vf.observed_data_reason = o.reason;
        return;
    };
    let by_category = map.categorise(seen.values.iter().map(String::as_str));
    vf.observed_data = Some(by_category.keys().map(|c| c.to_string()).collect());
    vf.observed_fields = by_category
        .into_iter()
        .map(|(c, f)| (c.to_string(), f))
        .collect();
    vf.provenance
        .insert("observed_data".into(), Provenance::observed(seen.at));
}

/// Fills the webhook facts from the vendor's webhook endpoints ([`WEBHOOKS`]).
fn observe_webhooks(vf: &mut VendorFacts, records: &[&KeyRecord]) {
    use crate::vendors::webhooks as w;
    let o = vendor_observation(vf.connector.as_deref(), records, WEBHOOKS);
    let Some(seen) = o.observed else {
        vf.webhooks_reason = o.reason;
        return;
    };
    let attr = |i: &crate::run::ObservedItem, n: &str| i.attributes.get(n)?.first().cloned();
    vf.observed_webhooks = Some(
        seen.items
            .iter()
            .map(|i| WebhookFacts {
                id: i.id.clone(),
                destination: attr(i, "destination").unwrap_or_else(|| w::NOT_A_URL.into()),
                active: attr(i, "active").map(|a| a == "true"),
                topics: attr(i, "topics").and_then(|t| t.parse().ok()),
            })
            .collect(),
    );
    vf.undeclared_webhook_destinations = vf
        .webhook_destinations
        .as_ref()
        .map(|d| w::undeclared(&seen.values, d));
    vf.plain_http_webhook_destinations = Some(w::not_https(&seen.values));
    vf.observed_webhook_destinations = Some(seen.values);
    for f in [
        "observed_webhooks",
        "observed_webhook_destinations",
        "undeclared_webhook_destinations",
        "plain_http_webhook_destinations",
    ] {
        vf.provenance.insert(
            f.into(),
            Provenance::observed_by(seen.at.clone(), &seen.call),
        );
    }
}

fn vendor_facts(v: &Vendor) -> VendorFacts {
    let mut prov = BTreeMap::new();
    for f in [
        "category",
        "tier",
        "owner",
        "region",
        "data_shared",
        "dpa",
        "attestations",
        "last_reassessment",
        "retention",
        "admin_accounts",
        "subprocessors",
        "webhook_destinations",
    ] {
        prov.insert(f.to_string(), Provenance::declared());
    }
    VendorFacts {
        id: v.id.clone(),
        name: v.name.clone().unwrap_or_else(|| v.id.clone()),
        connector: v.connector.clone(),
        category: enum_str(&v.category),
        tier: v.tier,
        owner: v.owner.clone(),
        region: v.region.clone(),
        data_shared: v.data_shared.clone(),
        dpa: v.dpa.as_ref().map(|d| DpaFacts {
            signed: d.signed,
            signed_on: date(&d.signed_on),
            reference: d.reference.clone(),
        }),
        attestations: v
            .attestations
            .iter()
            .map(|a| AttestationFacts {
                kind: enum_str(&a.kind),
                valid_until: a.valid_until.to_string(),
            })
            .collect(),
        last_reassessment: v.last_reassessment.as_ref().map(|r| r.date.to_string()),
        retention: v.retention.as_ref().map(|r| RetentionFacts {
            order_pii_after_shipment: r.order_pii_after_shipment.as_ref().map(|d| d.0.clone()),
            accounting_records: r.accounting_records.as_ref().map(|d| d.0.clone()),
        }),
        admin_accounts: v.admin_accounts.as_ref().map(|a| AdminFacts {
            mfa_enforced: a.mfa_enforced,
            sso: a.sso,
            count: a.count,
        }),
        subprocessors: v.subprocessors.clone(),
        assessment: v.assessment.clone(),
        last_reassessment_reviewer: v
            .last_reassessment
            .as_ref()
            .and_then(|r| r.reviewer.clone()),
        key_ids: v.keys.iter().map(|k| k.id.clone()).collect(),
        observed_data: None,
        observed_data_reason: None,
        observed_fields: BTreeMap::new(),
        webhook_destinations: v.webhook_destinations.clone(),
        observed_webhooks: None,
        observed_webhook_destinations: None,
        undeclared_webhook_destinations: None,
        plain_http_webhook_destinations: None,
        webhooks_reason: None,
        observed_credentials: None,
        undeclared_credentials: None,
        inactive_declared_keys: None,
        unmatched_keys: None,
        open_payment_credentials: None,
        credentials_reason: None,
        observed_users: None,
        users_reason: None,
        observed_staff: None,
        staff_with_order_access: None,
        staff_reason: None,
        provenance: prov,
    }
}

fn key_facts(
    v: &Vendor,
    k: &Key,
    rec: Option<&KeyRecord>,
    exposures: &[Exposure],
    scanned: bool,
    offline: bool,
) -> KeyFacts {
    let mut prov = BTreeMap::new();
    for f in [
        "type",
        "purpose",
        "allowed_capabilities",
        "environment",
        "expected_account",
        "requires_jwt",
        "created",
        "last_rotated",
        "last_used",
        "owner",
    ] {
        prov.insert(f.to_string(), Provenance::declared());
    }
    let declared = KeyFacts {
        id: k.id.clone(),
        vendor: v.id.clone(),
        connector: v.connector.clone(),
        category: enum_str(&v.category),
        fingerprint: None,
        key_type: enum_str(&k.key_type),
        public_by_design: k.key_type.public_by_design(),
        owner: k.owner.clone().or_else(|| v.owner.clone()),
        purpose: k.purpose.as_ref().map(|p| p.name.clone()),
        allowed_capabilities: k
            .purpose
            .as_ref()
            .map(|p| p.allowed_capabilities.clone())
            .unwrap_or_default(),
        environment: k.environment.map(|e| enum_str(&e)),
        expected_account: k.expected_account.clone().or_else(|| k.shop_domain.clone()),
        requires_jwt: k.requires_jwt,
        created: date(&k.created),
        last_rotated: date(&k.last_rotated),
        last_used: date(&k.last_used),
        secret_source: match &k.secret {
            crate::secret::SecretRef::Env(_) => "env",
            crate::secret::SecretRef::File(_) => "file",
            crate::secret::SecretRef::Command(_) => "command",
        }
        .into(),
        secret_available: false,
        status: String::new(),
        status_reason: None,
        observed_type: None,
        account: None,
        account_ids: BTreeMap::new(),
        account_matches: None,
        granted: None,
        capabilities: None,
        unverifiable: vec![],
        restrictions: None,
        exposed: None,
        exposure_ids: vec![],
        credential_id: None,
        audit: false,
        audit_excess: None,
        audit_missing: None,
        provenance: prov,
    };
    observe_key(declared, rec, exposures, scanned, offline)
}

/// The facts of a key a previous run knew (`scan --known-keys`, no inventory): its declared
/// facts as that run recorded them, and what this run observed (status, exposure), exactly as
/// for an inventory key, so the same key gets the same rules either way.
pub fn known_key_facts(
    prev: &KeyFacts,
    rec: Option<&KeyRecord>,
    exposures: &[Exposure],
    scanned: bool,
) -> KeyFacts {
    let mut k = prev.clone();
    k.provenance.retain(|_, p| p.source == Source::Declared);
    for f in ["environment", "requires_jwt"] {
        k.provenance.insert(f.into(), Provenance::declared());
    }
    k.fingerprint = None;
    k.secret_available = false;
    k.observed_type = None;
    k.account = None;
    k.account_ids.clear();
    k.account_matches = None;
    k.granted = None;
    k.capabilities = None;
    k.unverifiable.clear();
    k.restrictions = None;
    k.exposed = None;
    k.exposure_ids.clear();
    k.credential_id = None;
    observe_key(k, rec, exposures, scanned, false)
}

/// Adds what the run observed about a key to its declared facts: probe status and profile,
/// and whether the exposure scan found it.
fn observe_key(
    mut kf: KeyFacts,
    rec: Option<&KeyRecord>,
    exposures: &[Exposure],
    scanned: bool,
    offline: bool,
) -> KeyFacts {
    let prov = &mut kf.provenance;
    let profile = rec.and_then(|r| r.profile.as_ref());
    let fingerprint = rec.and_then(|r| r.fingerprint.clone());
    let (status, status_reason) = match profile.map(|p| &p.status) {
        Some(KeyStatus::Active) => ("active".to_string(), None),
        Some(KeyStatus::Invalid) => ("invalid".to_string(), None),
        Some(KeyStatus::Revoked) => ("revoked".to_string(), None),
        Some(KeyStatus::Inconclusive(r)) => ("inconclusive".to_string(), Some(r.clone())),
        Some(KeyStatus::NotProbed(r)) => ("not_probed".to_string(), Some(r.clone())),
        None if offline => ("not_probed".to_string(), Some("offline".to_string())),
        None if fingerprint.is_none() => (
            "inconclusive".to_string(),
            Some("secret_unavailable".to_string()),
        ),
        None => ("not_probed".to_string(), Some("offline".to_string())),
    };
    let observed = profile.filter(|p| matches!(p.status, KeyStatus::Active));
    let at = profile.and_then(|p| p.probed_at.clone());
    if profile.is_some() {
        prov.insert("status".into(), Provenance::observed(at.clone()));
    }
    let mut unverifiable = vec![];
    if let Some(p) = observed {
        for f in [
            "granted",
            "capabilities",
            "account",
            "account_ids",
            "restrictions",
            "observed_type",
        ] {
            prov.insert(f.into(), Provenance::observed(at.clone()));
        }
        if let Some(e) = p.environment {
            kf.environment = Some(enum_str(&e));
            prov.insert("environment".into(), Provenance::observed(at.clone()));
        }
        unverifiable = p.unverifiable.clone();
        for u in &unverifiable {
            prov.insert(
                u.clone(),
                Provenance {
                    source: Source::Unverifiable,
                    at: None,
                    call: None,
                },
            );
        }
        if let Some(j) = p.restrictions.get("requires_jwt").and_then(|v| v.first()) {
            kf.requires_jwt = Some(j == "true");
            prov.insert("requires_jwt".into(), Provenance::observed(at.clone()));
        }
    }
    let exposure_ids: Vec<String> = exposures
        .iter()
        .filter(|e| {
            e.inventory_key.as_deref() == Some(kf.id.as_str()) && e.vendor_matches(&kf.vendor)
        })
        .map(|e| e.id.clone())
        .collect();
    let exposed = if !exposure_ids.is_empty() {
        Some(true)
    } else if scanned {
        Some(false)
    } else {
        None
    };
    if exposed.is_some() {
        prov.insert("exposed".into(), Provenance::observed(None));
    }
    KeyFacts {
        fingerprint,
        secret_available: rec.map(|r| r.fingerprint.is_some()).unwrap_or(false),
        status,
        status_reason,
        observed_type: observed.and_then(|p| p.key_type.clone()),
        account: observed.and_then(|p| p.account.clone()),
        account_ids: observed.map(|p| p.account_ids.clone()).unwrap_or_default(),
        account_matches: observed.and_then(|p| p.account_matches),
        granted: observed.map(|p| p.granted.clone()),
        capabilities: observed.map(|p| p.capabilities.clone()),
        unverifiable,
        restrictions: observed.map(|p| p.restrictions.clone()),
        exposed,
        exposure_ids,
        credential_id: observed.and_then(|p| p.credential_id.clone()),
        ..kf
    }
}

impl Exposure {
    fn vendor_matches(&self, vendor_id: &str) -> bool {
        self.vendor == vendor_id || self.inventory_vendor.as_deref() == Some(vendor_id)
    }
}

fn exposure_facts(e: &Exposure, keys: &[KeyFacts]) -> ExposureFacts {
    let key = e.inventory_key.as_deref().and_then(|id| {
        keys.iter()
            .find(|k| k.id == id && e.vendor_matches(&k.vendor))
    });
    let mut prov = BTreeMap::new();
    prov.insert(
        "location".into(),
        Provenance::observed(Some(e.observed_at.clone())),
    );
    let (key_status, key_capabilities, key_type, key_category) = match (key, &e.verified) {
        (_, Some(v)) if matches!(v.status, KeyStatus::Active) => (
            Some("active".to_string()),
            Some(v.capabilities.clone()),
            v.key_type.clone(),
            key.map(|k| k.category.clone()),
        ),
        (Some(k), _) => (
            Some(k.status.clone()),
            k.capabilities.clone(),
            Some(k.key_type.clone()),
            Some(k.category.clone()),
        ),
        (None, Some(v)) => (Some(v.status.label()), None, v.key_type.clone(), None),
        (None, None) => (None, None, None, None),
    };
    ExposureFacts {
        id: e.id.clone(),
        rule: e.rule.clone(),
        vendor: e.vendor.clone(),
        credential_type: e.credential_type.clone(),
        public_by_design: e.public_by_design,
        environment: e.environment.map(|x| enum_str(&x)),
        source: e.source.clone(),
        location: e
            .location
            .url
            .clone()
            .or_else(|| e.location.path.clone())
            .unwrap_or_default(),
        original: e.location.original.as_ref().map(|o| o.path.clone()),
        occurrences: e.occurrences,
        fingerprint: e.evidence.fingerprint.clone(),
        inventory_key: e.inventory_key.clone(),
        known: e.inventory_key.is_some(),
        key_checked: key.is_some(),
        key_status,
        key_type,
        key_capabilities,
        key_category,
        observed_at: e.observed_at.clone(),
        provenance: prov,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns() {
        assert!(origin_matches("js.stripe.com", "https://js.stripe.com"));
        assert!(origin_matches(
            "https://js.stripe.com/",
            "https://js.stripe.com"
        ));
        assert!(origin_matches("*.iterable.com", "https://js.iterable.com"));
        assert!(!origin_matches(
            "*.iterable.com",
            "https://iterable.com.evil.example"
        ));
        assert!(!origin_matches(
            "*.iterable.com",
            "https://eviliterable.com"
        ));
        assert!(origin_matches("127.0.0.1:8080", "http://127.0.0.1:8080"));
        assert!(origin_matches("127.0.0.1:8080", "http://127.0.0.1:8080/"));
        assert!(origin_matches("127.0.0.1", "http://127.0.0.1:8080"));
        assert!(!origin_matches("127.0.0.1:8081", "http://127.0.0.1:8080"));
        assert!(!origin_matches("stripe.com", "https://js.stripe.com"));
    }

    #[test]
    fn script_origins_are_owned_allowed_or_undeclared() {
        let inv: Inventory = crate::yaml::from_str(
            "version: 1
organization: T
allowed_script_origins: [cdn.example.com]
vendors:
  - id: stripe
    connector: stripe
    category: psp
    tier: 1
    script_origins: [js.stripe.com]
",
        )
        .expect("inventory");
        let mut seen = ScriptOrigins::new();
        for o in [
            "https://js.stripe.com",
            "https://cdn.example.com",
            "https://tags.unknown.example",
        ] {
            seen.entry(o.to_string())
                .or_default()
                .insert("https://shop.example.com/checkout".into());
        }
        let (all, undeclared) = script_origin_facts(Some(&inv), &seen);
        assert_eq!(undeclared, vec!["https://tags.unknown.example".to_string()]);
        let owners: Vec<_> = all.iter().map(|s| s.owner.as_deref()).collect();
        assert_eq!(owners, vec![Some("allowed"), Some("stripe"), None]);
    }
}
