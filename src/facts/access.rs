//! Observed access at the vendor: the API credentials and users an audit key (`role: audit`)
//! listed, matched to the inventory's keys by the credential id each key's own probe saw, and
//! the audit key's least privilege.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{KeyFacts, Provenance, VendorFacts, vendor_observation};
use crate::inventory::model::Vendor;
use crate::run::{KeyRecord, KeyStatus, ObservedItem};
use crate::vendors::least_privilege;

/// The observation names (as the connectors record them).
pub const CREDENTIALS: &str = "api_credentials";
pub const USERS: &str = "users";

/// Capabilities that make an IP allow-list mandatory (as rule VKS-KEY-005 judges inventory
/// keys): payment, refund, payout and report roles.
pub const NEEDS_ALLOWLIST: &[&str] = &[
    "payments.write",
    "refunds.write",
    "payouts.write",
    "reports.read",
];

/// One API credential the vendor holds for the account (observed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CredentialFacts {
    /// The vendor's credential id.
    pub id: String,
    pub active: bool,
    /// `company` or `merchant`, and the account it belongs to.
    pub level: String,
    pub account: String,
    /// The vendor's role names.
    pub roles: Vec<String>,
    /// The roles in the capability vocabulary.
    pub capabilities: Vec<String>,
    /// Empty: any IP may use it.
    pub allowed_ips: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Merchant accounts it has explicit access to.
    pub merchants: Vec<String>,
    /// The inventory key it is (matched by credential id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One user account at the vendor (observed): id, roles, active; never a name or e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserFacts {
    pub id: String,
    pub active: bool,
    pub roles: Vec<String>,
}

fn attr(i: &ObservedItem, name: &str) -> Vec<String> {
    i.attributes.get(name).cloned().unwrap_or_default()
}

fn first(i: &ObservedItem, name: &str) -> String {
    attr(i, name).into_iter().next().unwrap_or_default()
}

/// The reason an observation of a vendor with an audit-capable connector is absent when no key
/// is declared `role: audit`.
fn no_audit_key(connector: &str, observation: &str) -> Option<String> {
    let need = least_privilege::need(connector, observation)?;
    Some(format!(
        "unverifiable: no key of this vendor is declared `role: audit` (the audit needs the {} `{}`)",
        need.kind, need.grant
    ))
}

/// Fills the vendor's observed credentials and users.
pub(super) fn observe(vf: &mut VendorFacts, v: &Vendor, records: &[&KeyRecord]) {
    let Some(connector) = v.probe_connector() else {
        return;
    };
    let has_audit_key = v.keys.iter().any(|k| k.is_audit());
    let audit_records: Vec<&KeyRecord> = records
        .iter()
        .copied()
        .filter(|r| v.keys.iter().any(|k| k.id == r.id && k.is_audit()))
        .collect();
    let why = |observation: &str, reason: Option<String>| {
        if has_audit_key {
            reason
        } else {
            no_audit_key(connector, observation).or(reason)
        }
    };
    // Credentials.
    let o = vendor_observation(Some(connector), &audit_records, CREDENTIALS);
    match o.observed {
        Some(seen) => credentials(vf, v, records, &seen),
        None => vf.credentials_reason = why(CREDENTIALS, o.reason),
    }
    // Users.
    let o = vendor_observation(Some(connector), &audit_records, USERS);
    match o.observed {
        Some(seen) => {
            vf.observed_users = Some(
                seen.items
                    .iter()
                    .map(|i| UserFacts {
                        id: i.id.clone(),
                        active: first(i, "active") == "true",
                        roles: attr(i, "roles"),
                    })
                    .collect(),
            );
            vf.provenance
                .insert("observed_users".into(), Provenance::observed(seen.at));
        }
        None => vf.users_reason = why(USERS, o.reason),
    }
}

fn credentials(
    vf: &mut VendorFacts,
    v: &Vendor,
    records: &[&KeyRecord],
    seen: &crate::run::Observation,
) {
    // Each declared key's credential id, from its own probe.
    let profile = |id: &str| {
        records
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.profile.as_ref())
    };
    let mut creds: Vec<CredentialFacts> = seen
        .items
        .iter()
        .map(|i| CredentialFacts {
            id: i.id.clone(),
            active: first(i, "active") == "true",
            level: first(i, "level"),
            account: first(i, "account"),
            roles: attr(i, "roles"),
            capabilities: attr(i, "capabilities"),
            allowed_ips: attr(i, "allowed_ips"),
            allowed_origins: attr(i, "allowed_origins"),
            merchants: attr(i, "merchants"),
            key: None,
        })
        .collect();
    let listed = |p: &crate::run::KeyProfile| {
        p.account_ids.iter().any(|(kind, id)| {
            let list = if kind == "company" {
                "companies"
            } else {
                "merchants"
            };
            seen.values.contains(&format!("{list}/{id}"))
        })
    };
    let mut inactive = vec![];
    let mut unmatched = vec![];
    for k in v.keys.iter().filter(|k| !k.key_type.public_by_design()) {
        let p = profile(&k.id);
        match p.and_then(|p| p.credential_id.as_deref().map(|c| (p, c))) {
            Some((p, cid)) => match creds.iter_mut().find(|c| c.id == cid) {
                Some(c) => {
                    c.key = Some(k.id.clone());
                    if !c.active {
                        inactive.push(k.id.clone());
                    }
                }
                None if listed(p) => inactive.push(k.id.clone()),
                None => unmatched.push(k.id.clone()),
            },
            None => match p.map(|p| &p.status) {
                Some(KeyStatus::Invalid | KeyStatus::Revoked) => inactive.push(k.id.clone()),
                _ => unmatched.push(k.id.clone()),
            },
        }
    }
    let undeclared: Vec<String> = creds
        .iter()
        .filter(|c| c.active && c.key.is_none())
        .map(|c| c.id.clone())
        .collect();
    let open: Vec<String> = creds
        .iter()
        .filter(|c| {
            c.active
                && c.key.is_none()
                && c.allowed_ips.is_empty()
                && c.capabilities
                    .iter()
                    .any(|x| NEEDS_ALLOWLIST.contains(&x.as_str()))
        })
        .map(|c| c.id.clone())
        .collect();
    for f in [
        "observed_credentials",
        "undeclared_credentials",
        "inactive_declared_keys",
        "open_payment_credentials",
    ] {
        vf.provenance
            .insert(f.into(), Provenance::observed(seen.at.clone()));
    }
    vf.observed_credentials = Some(creds);
    vf.undeclared_credentials = Some(undeclared);
    vf.inactive_declared_keys = Some(inactive);
    vf.unmatched_keys = Some(unmatched);
    vf.open_payment_credentials = Some(open);
}

/// The audit key's facts: `audit`, and what it holds beyond or lacks for the audit.
pub(super) fn audit_key(kf: &mut KeyFacts, k: &crate::inventory::model::Key) {
    kf.audit = k.is_audit();
    if !kf.audit {
        return;
    }
    let (Some(connector), Some(granted)) = (kf.connector.clone(), kf.granted.clone()) else {
        return;
    };
    kf.audit_excess = Some(least_privilege::excess(&connector, &granted));
    kf.audit_missing = Some(least_privilege::missing(&connector, &granted));
}

/// One staff account of the shop (observed): id, account type, permissions; never a person's
/// name, e-mail or phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StaffFacts {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    pub permissions: Vec<String>,
    /// Holds an order permission (`orders`, `draft_orders` or `full`).
    pub order_access: bool,
}

pub const STAFF: &str = "staff";
pub const SCRIPT_TAGS: &str = "script_tags";

/// The declared audit keys' records of `v`.
fn audit_records<'a>(v: &Vendor, records: &[&'a KeyRecord]) -> Vec<&'a KeyRecord> {
    records
        .iter()
        .copied()
        .filter(|r| v.keys.iter().any(|k| k.id == r.id && k.is_audit()))
        .collect()
}

/// The reason an observation is missing: the missing audit key first.
fn reason(v: &Vendor, connector: &str, observation: &str, why: Option<String>) -> Option<String> {
    if v.keys.iter().any(|k| k.is_audit()) {
        why
    } else {
        no_audit_key(connector, observation).or(why)
    }
}

/// Fills the shop's staff accounts.
pub(super) fn observe_staff(vf: &mut VendorFacts, v: &Vendor, records: &[&KeyRecord]) {
    let Some(connector) = v.probe_connector() else {
        return;
    };
    if least_privilege::need(connector, STAFF).is_none() {
        return;
    }
    let o = vendor_observation(Some(connector), &audit_records(v, records), STAFF);
    let Some(seen) = o.observed else {
        vf.staff_reason = reason(v, connector, STAFF, o.reason);
        return;
    };
    let staff: Vec<StaffFacts> = seen
        .items
        .iter()
        .map(|i| StaffFacts {
            id: i.id.clone(),
            account_type: attr(i, "account_type").into_iter().next(),
            permissions: attr(i, "permissions"),
            order_access: first(i, "order_access") == "true",
        })
        .collect();
    vf.staff_with_order_access = Some(
        staff
            .iter()
            .filter(|s| s.order_access)
            .map(|s| s.id.clone())
            .collect(),
    );
    vf.observed_staff = Some(staff);
    for f in ["observed_staff", "staff_with_order_access"] {
        vf.provenance
            .insert(f.into(), Provenance::observed(seen.at.clone()));
    }
}

/// Script origins the platform injects (Shopify script tags), each with the tags that load it
/// (`<vendor> script tag <id>`); `None` with the reason when no vendor's could be observed, and
/// `(None, None)` when no vendor's connector observes them.
pub(super) fn script_tags(
    inv: &crate::inventory::model::Inventory,
    keys: &[KeyRecord],
) -> (
    Option<std::collections::BTreeMap<String, Vec<String>>>,
    Option<String>,
) {
    let mut seen: Option<std::collections::BTreeMap<String, Vec<String>>> = None;
    let mut why = None;
    for v in &inv.vendors {
        let Some(connector) = v.probe_connector() else {
            continue;
        };
        if least_privilege::need(connector, SCRIPT_TAGS).is_none() {
            continue;
        }
        let records: Vec<&KeyRecord> = keys.iter().filter(|r| r.vendor == v.id).collect();
        let o = vendor_observation(Some(connector), &audit_records(v, &records), SCRIPT_TAGS);
        match o.observed {
            Some(obs) => {
                let all = seen.get_or_insert_with(Default::default);
                for i in &obs.items {
                    for origin in attr(i, "origin") {
                        all.entry(origin)
                            .or_default()
                            .push(format!("{} script tag {}", v.id, i.id));
                    }
                }
            }
            None => {
                why = why.or_else(|| {
                    reason(v, connector, SCRIPT_TAGS, o.reason).map(|r| format!("{}: {r}", v.id))
                })
            }
        }
    }
    match seen {
        Some(s) => (Some(s), None),
        None => (None, why),
    }
}
