//! What the Shopify audit key (`role: audit`) observes beside its own scopes: the shop's staff
//! accounts (`GET /admin/api/<version>/users.json`, `read_users`, Shopify Plus only) and the
//! scripts the platform injects into the storefront (`GET /admin/api/<version>/script_tags.json`,
//! `read_script_tags`).
//!
//! Read through projections only: a staff account's id, account type and permissions (never a
//! name, e-mail or phone); a script tag's id, `src`, event and display scope, and of the `src`
//! only its origin is kept (a tag URL can carry a token in its path or query), through the
//! output layer's URL function ([`crate::guard::url::destination`]).
//!
//! One page of [`LIMIT`] is read; a full page means the list may be longer: `truncated`,
//! `inconclusive`. Evidence: `read_users` and the Plus-only answer are UNCONFIRMED
//! (vendor-apis.md §1): a store that refuses the call for lack of Plus is `unverifiable`
//! whichever status it answers with (403 or 404, the emulator's `users_endpoint` variant).

use std::collections::BTreeMap;

use url::Url;

use super::API_VERSION;
use crate::http::Client;
use crate::run::{CallSummary, Observation, ObservationStatus as S, ObservedItem};
use crate::vendors::ProbeInput;
use crate::vendors::least_privilege::AuditNeed;

/// Observation: the shop's staff accounts.
pub const STAFF: &str = "staff";
/// Observation: the storefront's script tags (their origins).
pub const SCRIPT_TAGS: &str = "script_tags";
pub const SCOPE_USERS: &str = "read_users";
pub const SCOPE_SCRIPT_TAGS: &str = "read_script_tags";
/// The page size asked for (Shopify allows 250): a page of staff accounts, each with its
/// name, e-mail and permissions, must fit the client's body limit
/// ([`crate::http::MAX_BODY_BYTES`]) whole. A full page is `truncated`.
pub const LIMIT: usize = 50;
/// Staff members kept (UNCONFIRMED member names: `account_type` as issue 16 names it and
/// `user_type` as the REST User resource has been documented).
pub const USER_FIELDS: &[&str] = &[
    "users.id",
    "users.account_type",
    "users.user_type",
    "users.account_owner",
    "users.permissions",
];
pub const SCRIPT_TAG_FIELDS: &[&str] = &[
    "script_tags.id",
    "script_tags.src",
    "script_tags.event",
    "script_tags.display_scope",
];
/// Permissions that reach orders (`full` is every permission).
pub const ORDER_PERMISSIONS: &[&str] = &["orders", "full", "draft_orders"];

/// Shopify's rows of the least-privilege table.
pub const AUDIT_NEEDS: &[AuditNeed] = &[
    AuditNeed {
        vendor: "shopify",
        observation: STAFF,
        call: "GET /admin/api/{version}/users.json",
        kind: "scope",
        grant: SCOPE_USERS,
        facts: &["vendor.observed_staff", "vendor.staff_with_order_access"],
    },
    AuditNeed {
        vendor: "shopify",
        observation: SCRIPT_TAGS,
        call: "GET /admin/api/{version}/script_tags.json",
        kind: "scope",
        grant: SCOPE_SCRIPT_TAGS,
        facts: &["run.script_tag_origins", "run.undeclared_script_origins"],
    },
];

fn path(resource: &str) -> String {
    format!("/admin/api/{API_VERSION}/{resource}.json")
}

/// What one list answer means: the items, or the observation saying why not.
fn interpret(
    status: u16,
    body: Option<serde_json::Value>,
    member: &str,
    call: &str,
    scope: &str,
) -> Result<Vec<serde_json::Value>, Box<Observation>> {
    let not = |s, r: &str| Err(Box::new(Observation::not_known(s, call, r)));
    match status {
        200 => match body
            .as_ref()
            .and_then(|b| b.get(member)?.as_array().cloned())
        {
            Some(items) => Ok(items),
            None => not(S::Inconclusive, "unexpected_response"),
        },
        403 if member == "users" => not(
            S::Unverifiable,
            &format!(
                "the store refuses staff accounts to this key (403): it lacks `{scope}` or the store is not on Shopify Plus"
            ),
        ),
        404 if member == "users" => not(
            S::Unverifiable,
            "the store has no staff API (404): staff accounts are readable on Shopify Plus stores only",
        ),
        403 => not(
            S::Unverifiable,
            &format!("the audit key lacks the scope `{scope}` (403)"),
        ),
        401 => not(S::Inconclusive, "unauthorized"),
        s => not(
            S::Inconclusive,
            crate::vendors::vendor_failure(s).unwrap_or("unexpected_response"),
        ),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        serde_json::Value::Bool(b) => vec![b.to_string()],
        _ => vec![],
    }
}

/// One staff account as an observed item (id, account type, permissions, order access).
pub fn staff_item(u: &serde_json::Value) -> Option<ObservedItem> {
    let id = strings(u.get("id")?).into_iter().next()?;
    let mut a = BTreeMap::new();
    let kind = u
        .get("account_type")
        .or_else(|| u.get("user_type"))
        .map(strings)
        .unwrap_or_default();
    a.insert("account_type".to_string(), kind);
    let mut perms = u.get("permissions").map(strings).unwrap_or_default();
    perms.sort();
    perms.dedup();
    let orders = perms
        .iter()
        .any(|p| ORDER_PERMISSIONS.contains(&p.as_str()));
    a.insert("order_access".to_string(), vec![orders.to_string()]);
    a.insert("permissions".to_string(), perms);
    if let Some(o) = u.get("account_owner") {
        a.insert("account_owner".to_string(), strings(o));
    }
    Some(ObservedItem { id, attributes: a })
}

/// One script tag as an observed item: its id with the origin of its `src` (never the path or
/// query), event and display scope.
pub fn script_tag_item(t: &serde_json::Value) -> Option<ObservedItem> {
    let id = strings(t.get("id")?).into_iter().next()?;
    let src = t.get("src")?.as_str()?;
    let origin = crate::guard::url::destination(src)?;
    let mut a = BTreeMap::new();
    a.insert("origin".to_string(), vec![origin]);
    for m in ["event", "display_scope"] {
        a.insert(m.to_string(), t.get(m).map(strings).unwrap_or_default());
    }
    Some(ObservedItem { id, attributes: a })
}

fn holds(granted: &[String], scope: &str) -> bool {
    // A `write_` scope includes its `read_` scope (CONFIRMED: shopify.dev access scopes).
    let write = scope.replacen("read_", "write_", 1);
    granted.iter().any(|g| *g == scope || *g == write)
}

/// The list member, the fields kept and the item reader of one observation.
type Reader = fn(&serde_json::Value) -> Option<ObservedItem>;

fn list_of(observation: &str) -> (&'static str, &'static [&'static str], Reader) {
    match observation {
        STAFF => ("users", USER_FIELDS, staff_item),
        _ => ("script_tags", SCRIPT_TAG_FIELDS, script_tag_item),
    }
}

/// Reads one list with the audit key; the call is added to `calls`.
async fn read(
    shopify: &super::Shopify,
    input: &ProbeInput<'_>,
    client: &Client,
    base: &Url,
    calls: &mut Vec<CallSummary>,
    need: &AuditNeed,
) -> Result<Vec<serde_json::Value>, Box<Observation>> {
    let (resource, fields, _) = list_of(need.observation);
    let scope = need.grant;
    let call = format!("GET /admin/api/{{version}}/{resource}.json");
    let p = path(resource);
    let limit = LIMIT.to_string();
    let Some(req) = shopify.request(input, base, &p, &[("limit", limit.as_str())], fields) else {
        return Err(Box::new(Observation::not_known(
            S::Inconclusive,
            &call,
            "bad_url",
        )));
    };
    let url = req.url.clone();
    let template = req.template.clone();
    match client.send(req).await {
        Ok(r) => {
            calls.push(r.call.clone());
            interpret(r.status, r.json(), resource, &call, scope)
        }
        Err(e) => {
            if !e.refused_before_sending() {
                calls.push(crate::vendors::failed_call("GET", &url, &template));
            }
            Err(Box::new(Observation::not_known(
                S::Inconclusive,
                &call,
                e.reason(),
            )))
        }
    }
}

fn observed(call: &str, items: Vec<ObservedItem>, read: usize) -> Observation {
    let mut o = Observation::observed(call, Some(crate::run::now_rfc3339()), vec![]);
    o.items = items;
    o.items.sort_by(|a, b| a.id.cmp(&b.id));
    if read >= LIMIT {
        o.status = S::Inconclusive;
        o.truncated = true;
        o.reason = Some(format!(
            "truncated: a full page of {LIMIT}; the list may be longer"
        ));
    }
    o
}

/// The audit key's observations, given the scopes its `access_scopes.json` showed.
pub async fn observe(
    shopify: &super::Shopify,
    input: &ProbeInput<'_>,
    client: &Client,
    base: &Url,
    granted: &[String],
    calls: &mut Vec<CallSummary>,
) -> Vec<(&'static str, Observation)> {
    let mut out = vec![];
    for need in AUDIT_NEEDS {
        let (member, _, item) = list_of(need.observation);
        let call = format!("GET /admin/api/{{version}}/{member}.json");
        let o = if !holds(granted, need.grant) {
            Observation::not_known(S::Unverifiable, &call, &need.missing_reason())
        } else {
            match read(shopify, input, client, base, calls, need).await {
                Ok(list) => {
                    let items: Vec<ObservedItem> = list.iter().filter_map(item).collect();
                    if items.len() != list.len() {
                        Observation::not_known(S::Inconclusive, &call, "unexpected_response")
                    } else {
                        observed(&call, items, list.len())
                    }
                }
                Err(o) => *o,
            }
        };
        out.push((need.observation, o));
    }
    out
}

/// The audit key's observations when its scopes could not be read (`reason`).
pub fn not_observed(reason: &str) -> Vec<(&'static str, Observation)> {
    AUDIT_NEEDS
        .iter()
        .map(|n| {
            (
                n.observation,
                Observation::not_known(S::Inconclusive, n.call, reason),
            )
        })
        .collect()
}

/// The calls an audit key adds to the plan (`--dry-run`).
pub fn plan(base: &str) -> Vec<crate::vendors::PlannedCall> {
    AUDIT_NEEDS
        .iter()
        .map(|n| crate::vendors::PlannedCall {
            method: "GET".into(),
            url: format!(
                "{base}{}?limit={LIMIT}",
                path(if n.observation == STAFF {
                    "users"
                } else {
                    "script_tags"
                })
            ),
            note: Some(format!("audit key only; needs `{}`", n.grant)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_items_keep_no_person() {
        let body = br#"{"users":[{"id":7,"first_name":"Jane","last_name":"Doe","email":"jane@example.com",
            "phone":"+15551234567","user_type":"regular","account_owner":false,"permissions":["orders","products"]}]}"#;
        let kept = crate::http::project_fields(body, USER_FIELDS).expect("json");
        let text = String::from_utf8(kept.clone()).expect("utf8");
        assert!(!text.contains("Jane") && !text.contains("jane") && !text.contains("555"));
        let v: serde_json::Value = serde_json::from_slice(&kept).expect("json");
        let it = staff_item(&v["users"][0]).expect("item");
        assert_eq!(it.id, "7");
        assert_eq!(it.attributes["order_access"], vec!["true"]);
        assert_eq!(it.attributes["account_type"], vec!["regular"]);
    }

    #[test]
    fn script_tags_keep_the_origin_only() {
        let t = serde_json::json!({"id": 1, "src": "https://user:pw@cdn.tags.example:8443/x/t.js?token=s3cr3t#f",
            "event": "onload", "display_scope": "all"});
        let it = script_tag_item(&t).expect("item");
        assert_eq!(
            it.attributes["origin"],
            vec!["https://cdn.tags.example:8443"]
        );
        assert!(!format!("{it:?}").contains("s3cr3t"));
        assert!(
            script_tag_item(&serde_json::json!({"id": 2, "src": "javascript:alert(1)"})).is_none()
        );
    }

    #[test]
    fn answers() {
        let c = "GET /x";
        assert_eq!(
            interpret(404, None, "users", c, SCOPE_USERS)
                .expect_err("404")
                .status,
            S::Unverifiable
        );
        assert_eq!(
            interpret(503, None, "script_tags", c, SCOPE_SCRIPT_TAGS)
                .expect_err("503")
                .status,
            S::Inconclusive
        );
        assert!(holds(&["write_script_tags".to_string()], SCOPE_SCRIPT_TAGS));
        assert!(!holds(&["read_orders".to_string()], SCOPE_USERS));
    }
}
