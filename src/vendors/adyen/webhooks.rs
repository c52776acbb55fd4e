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

use reqwest::Method;
use reqwest::header::{HOST, HeaderValue};
use url::Url;

use super::{ASSUMED_RATE_PER_SECOND, AUTH_HEADER, OFFICIAL_HOSTS, VENDOR, host};
use crate::http::{Auth, BodyRead, Client, RateSpec, Request};
use crate::inventory::model::Environment;
use crate::run::{CallSummary, KeyProfile, Observation};
use crate::vendors::ProbeInput;
use crate::vendors::capability as cap;
use crate::vendors::webhooks::{self as w, Listing, Seen};

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

/// What one page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `(id, origin, active)` of each webhook, and `pagesTotal`.
    Items(Vec<(String, Option<String>, Option<bool>)>, u64),
    /// 403: the key lacks the role.
    Denied,
    Failed(&'static str),
}

/// Reads one answer (the projected body). A 204 (documented for the merchant list) is empty.
pub fn interpret(status: u16, body: Option<&serde_json::Value>) -> Page {
    match status {
        200 => {}
        204 => return Page::Items(vec![], 0),
        403 => return Page::Denied,
        s => return Page::Failed(w::vendor_failure(s).unwrap_or("unexpected_response")),
    }
    let Some(b) = body else {
        return Page::Failed("unexpected_response");
    };
    let (Some(_), Some(pages)) = (
        b.get("itemsTotal").and_then(|n| n.as_u64()),
        b.get("pagesTotal").and_then(|n| n.as_u64()),
    ) else {
        return Page::Failed("unexpected_response");
    };
    let mut items = vec![];
    for x in b
        .get("data")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        let Some(id) = x.get("id").and_then(|i| i.as_str()) else {
            return Page::Failed("unexpected_response");
        };
        items.push((
            id.to_string(),
            x.get("url").and_then(|u| u.as_str()).map(str::to_string),
            x.get("active").and_then(|a| a.as_bool()),
        ));
    }
    Page::Items(items, pages)
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
    for (template, path) in &targets {
        for page in 1..=w::MAX_PAGES {
            let answer = get(input, client, env, template, path, page, calls).await;
            match answer {
                Page::Items(items, pages) => {
                    for (id, url, active) in &items {
                        listing.add(Seen {
                            id,
                            url: url.as_deref().unwrap_or(""),
                            active: *active,
                            topics: None,
                        });
                    }
                    if (page as u64) >= pages {
                        break;
                    }
                    if page == w::MAX_PAGES {
                        return listing.finish(true);
                    }
                }
                Page::Denied => return w::unverifiable(&call, MISSING),
                Page::Failed(reason) => return w::inconclusive(&call, reason),
            }
        }
    }
    listing.finish(false)
}

async fn get(
    input: &ProbeInput<'_>,
    client: &Client,
    env: Environment,
    template: &str,
    path: &str,
    page: usize,
    calls: &mut Vec<CallSummary>,
) -> Page {
    let pq = format!("{path}?pageNumber={page}&pageSize={PAGE_SIZE}");
    let (url, headers) = match &input.base {
        None => match Url::parse(&format!("https://{}{pq}", host(env))) {
            Ok(u) => (u, vec![]),
            Err(_) => return Page::Failed("bad_url"),
        },
        Some(b) => match crate::vendors::join(b, &pq) {
            Ok(u) => (u, vec![(HOST, HeaderValue::from_static(host(env)))]),
            Err(_) => return Page::Failed("bad_url"),
        },
    };
    let template = format!("{template}?pageNumber&pageSize");
    let req = Request {
        method: Method::GET,
        url: url.clone(),
        template: template.clone(),
        official_hosts: OFFICIAL_HOSTS,
        auth: Auth::Header(AUTH_HEADER, input.secret),
        headers,
        api_version: None,
        rates: vec![RateSpec {
            bucket: format!("{VENDOR}:{}", host(env)),
            per_second: ASSUMED_RATE_PER_SECOND,
        }],
        budget_header: None,
        body: BodyRead::Fields(FIELDS),
        who: input.who(VENDOR),
    };
    match client.send(req).await {
        Ok(r) => {
            calls.push(r.call.clone());
            interpret(r.status, r.json().as_ref())
        }
        Err(e) => {
            if !e.refused_before_sending() {
                calls.push(crate::vendors::failed_call("GET", &url, &template));
            }
            Page::Failed(e.reason())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages() {
        let b = json!({"itemsTotal": 2, "pagesTotal": 1, "data": [
            {"id": "S2-1", "url": "https://hooks.example.com", "active": true, "type": "standard"},
            {"id": "S2-2", "active": false}]});
        assert_eq!(
            interpret(200, Some(&b)),
            Page::Items(
                vec![
                    (
                        "S2-1".into(),
                        Some("https://hooks.example.com".into()),
                        Some(true)
                    ),
                    ("S2-2".into(), None, Some(false)),
                ],
                1
            )
        );
        assert_eq!(interpret(204, None), Page::Items(vec![], 0));
        assert_eq!(interpret(403, None), Page::Denied);
        assert_eq!(interpret(500, None), Page::Failed("server_error"));
        assert_eq!(
            interpret(200, Some(&json!({"data": []}))),
            Page::Failed("unexpected_response")
        );
    }

    #[test]
    fn lists_follow_the_links_of_me() {
        let mut p = crate::vendors::profile(VENDOR, crate::run::KeyStatus::Active);
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
