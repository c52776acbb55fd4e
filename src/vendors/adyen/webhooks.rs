//! Adyen webhooks (issue 16, point 3): `GET /v3/companies/{companyId}/webhooks` for a
//! company-level credential and `GET /v3/merchants/{merchantId}/webhooks` for a merchant-level
//! one (the ids `/v3/me` links to).
//!
//! CONFIRMED (ManagementService v3): both need the role "Management API—Webhooks read" (or
//! "…read and write"); they page with `pageNumber` and `pageSize` and answer
//! `ListWebhooksResponse {itemsTotal, pagesTotal, data: [Webhook]}`. A key whose `/me` roles
//! lack the role is `unverifiable` without a call. The merchant list "does not return webhook
//! configurations for the company account", and the company list is the company's own: a
//! company credential's merchants' webhooks would need their ids (another list, another role),
//! which is left out (README). Of each webhook only `id`, the URL's scheme and host, `active`
//! and `type` are built; `username`, `password` and the HMAC check value never are.

use crate::http::Client;
use crate::run::{CallSummary, KeyProfile, Observation};
use crate::vendors::ProbeInput;
use crate::vendors::capability as cap;
use crate::vendors::webhooks::{self as w, Hook, Listing, Page};

pub const COMPANY_PATH: &str = "/v3/companies/{companyId}/webhooks";
pub const MERCHANT_PATH: &str = "/v3/merchants/{merchantId}/webhooks";
/// The role the lists need (or "…read and write").
pub const ROLE: &str = "Management API\u{2014}Webhooks read";
/// Why a key without [`ROLE`] cannot list them.
pub const MISSING: &str = "needs the role \"Management API\u{2014}Webhooks read\"";
/// Webhooks per page asked for.
pub const PAGE_SIZE: u32 = 100;
/// The only members of a page ever built.
pub const FIELDS: &[&str] = &[
    "itemsTotal",
    "pagesTotal",
    "data.id",
    "data.url.[origin]",
    "data.active",
    "data.type",
];

/// Reads one answer (the projected body) of page `page`: the webhooks, and the next page
/// number while `pagesTotal` says more follow. A 204 (documented for the merchant list) is
/// empty.
pub fn interpret(status: u16, body: Option<&serde_json::Value>, page: u32) -> Page<u32> {
    match status {
        200 => {}
        204 => return Page::Items(vec![], None),
        s => return Page::refused(s),
    }
    let unexpected = || Page::Failed("unexpected_response".into());
    let Some(b) = body else {
        return unexpected();
    };
    let (Some(_), Some(pages)) = (
        b.get("itemsTotal").and_then(|n| n.as_u64()),
        b.get("pagesTotal").and_then(|n| n.as_u64()),
    ) else {
        return unexpected();
    };
    let empty = vec![];
    let data = b.get("data").and_then(|d| d.as_array()).unwrap_or(&empty);
    match Hook::all(data, "url", "active") {
        Some(hooks) => Page::Items(hooks, (u64::from(page) < pages).then_some(page + 1)),
        None => unexpected(),
    }
}

/// The lists a profile calls for: `(template, path)` for its company and merchant ids.
pub fn lists(p: &KeyProfile) -> Vec<(&'static str, String)> {
    let seg = |id: &str| -> String {
        url::form_urlencoded::byte_serialize(id.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let mut out = vec![];
    if let Some(c) = p.account_ids.get("company") {
        out.push((COMPANY_PATH, format!("/v3/companies/{}/webhooks", seg(c))));
    }
    if let Some(m) = p.account_ids.get("merchant") {
        out.push((MERCHANT_PATH, format!("/v3/merchants/{}/webhooks", seg(m))));
    }
    out
}

/// Whether the roles `/me` showed include a webhooks role.
fn may_list(p: &KeyProfile) -> bool {
    p.capabilities
        .iter()
        .any(|c| c == cap::WEBHOOKS_READ || c == cap::WEBHOOKS_MANAGE)
}

/// The `webhooks` observation of an active key's profile; every call goes to `calls`.
pub async fn observe(
    input: &ProbeInput<'_>,
    client: &Client,
    p: &KeyProfile,
    calls: &mut Vec<CallSummary>,
) -> Observation {
    let targets = lists(p);
    let call = if targets.is_empty() {
        format!("GET {COMPANY_PATH}")
    } else {
        targets
            .iter()
            .map(|(t, _)| format!("GET {t}"))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    if p.unverifiable.iter().any(|u| u == "roles") {
        return w::unverifiable(
            &call,
            &format!(
                "{MISSING} (the key's roles cannot be read: no Management API access from here)"
            ),
        );
    }
    if !may_list(p) {
        return w::unverifiable(&call, MISSING);
    }
    let (Some(env), false) = (p.environment, targets.is_empty()) else {
        return w::inconclusive(&call, "no company or merchant account in /v3/me");
    };
    let mut listing = Listing::new(&call);
    let reader = |r: &crate::http::Response, page| interpret(r.status, r.json().as_ref(), page);
    for (template, path) in &targets {
        let fetch = |page| {
            let at = (path.as_str(), *template);
            super::list_page(input, client, env, at, FIELDS, (page, PAGE_SIZE), reader)
        };
        let read = w::read_pages(&mut listing, calls, fetch).await;
        if read != w::Read::Done {
            return listing.conclude(read, MISSING);
        }
    }
    listing.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages() {
        let b = json!({"itemsTotal": 2, "pagesTotal": 2, "data": [
            {"id": "S2-1", "url": "https://hooks.example.com", "active": true, "type": "standard"},
            {"id": "S2-2", "active": false}]});
        let hook = |id: &str, url: Option<&str>, active| Hook {
            id: id.into(),
            url: url.map(str::to_string),
            active: Some(active),
            topics: None,
        };
        let hooks = vec![
            hook("S2-1", Some("https://hooks.example.com"), true),
            hook("S2-2", None, false),
        ];
        assert_eq!(
            interpret(200, Some(&b), 1),
            Page::Items(hooks.clone(), Some(2))
        );
        assert_eq!(interpret(200, Some(&b), 2), Page::Items(hooks, None));
        assert_eq!(interpret(204, None, 1), Page::Items(vec![], None));
        assert_eq!(interpret(403, None, 1), Page::Denied);
        assert_eq!(interpret(500, None, 1), Page::Failed("server_error".into()));
        assert_eq!(
            interpret(200, Some(&json!({"data": []})), 1),
            Page::Failed("unexpected_response".into())
        );
    }

    #[test]
    fn lists_follow_the_links_of_me() {
        let mut p = crate::vendors::profile(super::super::VENDOR, crate::run::KeyStatus::Active);
        assert!(lists(&p).is_empty());
        p.account_ids.insert("company".into(), "Acme Co".into());
        p.account_ids.insert("merchant".into(), "AcmeECOM".into());
        assert_eq!(
            lists(&p),
            vec![
                (COMPANY_PATH, "/v3/companies/Acme%20Co/webhooks".to_string()),
                (MERCHANT_PATH, "/v3/merchants/AcmeECOM/webhooks".to_string()),
            ]
        );
    }
}
