//! Shopify webhook subscriptions (issue 16, point 3): `GET /admin/api/{version}/webhooks.json`.
//!
//! UNCONFIRMED (not in the reference documents; shopify.dev REST `Webhook` resource): the
//! list needs no scope and holds the *calling app's* subscriptions only (Shopify webhooks are
//! app-scoped), so this observes where this token's app sends shop events, not other apps'.
//! It takes `fields=`, `limit` (1–250) and pages with a cursor: the `Link` header's
//! `rel="next"` URL carries `page_info`, and only that value is taken from it (the next
//! request is built here, never the vendor's URL followed). Of each subscription only `id`,
//! the address's scheme and host, and its `topic` (counted) are built.

use url::Url;

use super::{API_VERSION, Shopify};
use crate::http::Client;
use crate::run::{CallSummary, Observation};
use crate::vendors::ProbeInput;
use crate::vendors::webhooks::{self as w, Listing, Seen};

/// The observation's `call`.
pub const CALL: &str = "GET /admin/api/{version}/webhooks.json";
/// Members asked for with `fields=` (the rest is never sent).
pub const QUERY_FIELDS: &str = "id,address,topic";
/// The only members of an answer ever built.
pub const FIELDS: &[&str] = &["webhooks.id", "webhooks.address.[origin]", "webhooks.topic"];
/// Subscriptions per page (the documented maximum).
pub const PAGE_LIMIT: &str = "250";
/// Why a token cannot list them (UNCONFIRMED: a 403 here is not documented).
pub const MISSING: &str = "the token may not list the app's webhook subscriptions (403)";

/// The `page_info` of a `Link` header's `rel="next"` target.
pub fn next_page_info(link: &str) -> Option<String> {
    // `<url>; rel="…"` entries; a URL may itself hold commas, so split on `<`, not `,`.
    link.split('<').skip(1).find_map(|part| {
        let (target, params) = part.split_once('>')?;
        if !params
            .split([';', ','])
            .any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\""))
        {
            return None;
        }
        let url = Url::parse(target.trim()).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "page_info")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty() && v.len() <= 512)
    })
}

/// What one page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `(id, origin)` of each subscription.
    Items(Vec<(String, Option<String>)>),
    Denied,
    Failed(&'static str),
}

/// Reads one answer (the projected body).
pub fn interpret(status: u16, body: Option<&serde_json::Value>) -> Page {
    match status {
        200 => {}
        403 => return Page::Denied,
        s => return Page::Failed(w::vendor_failure(s).unwrap_or("unexpected_response")),
    }
    let Some(list) = body.and_then(|b| b.get("webhooks")?.as_array()) else {
        return Page::Failed("unexpected_response");
    };
    let mut out = vec![];
    for x in list {
        let id = match x.get("id") {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => return Page::Failed("unexpected_response"),
        };
        out.push((
            id,
            x.get("address")
                .and_then(|a| a.as_str())
                .map(str::to_string),
        ));
    }
    Page::Items(out)
}

/// Lists the app's subscriptions page by page; every call goes to `calls`.
pub(super) async fn list(
    shopify: &Shopify,
    input: &ProbeInput<'_>,
    base: &Url,
    client: &Client,
    calls: &mut Vec<CallSummary>,
) -> Observation {
    let path = format!("/admin/api/{API_VERSION}/webhooks.json");
    let mut listing = Listing::new(CALL);
    let mut page_info: Option<String> = None;
    for _ in 0..w::MAX_PAGES {
        let mut query = vec![("limit", PAGE_LIMIT), ("fields", QUERY_FIELDS)];
        if let Some(p) = &page_info {
            query.push(("page_info", p.as_str()));
        }
        let Some(req) = shopify.request(input, base, &path, &query, FIELDS) else {
            return w::inconclusive(CALL, "bad_url");
        };
        let (url, template) = (req.url.clone(), req.template.clone());
        let r = match client.send(req).await {
            Ok(r) => r,
            Err(e) => {
                if !e.refused_before_sending() {
                    calls.push(crate::vendors::failed_call("GET", &url, &template));
                }
                return w::inconclusive(CALL, e.reason());
            }
        };
        calls.push(r.call.clone());
        match interpret(r.status, r.json().as_ref()) {
            Page::Items(items) => {
                for (id, address) in &items {
                    listing.add(Seen {
                        id,
                        url: address.as_deref().unwrap_or(""),
                        active: None,
                        topics: Some(1),
                    });
                }
                match r.header("link").and_then(next_page_info) {
                    Some(next) if !items.is_empty() => page_info = Some(next),
                    _ => return listing.finish(false),
                }
            }
            Page::Denied => return w::unverifiable(CALL, MISSING),
            Page::Failed(reason) => return w::inconclusive(CALL, reason),
        }
    }
    listing.finish(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn link_header() {
        let link = r#"<https://a.myshopify.com/admin/api/2026-10/webhooks.json?limit=1&page_info=abc%3D>; rel="previous", <https://a.myshopify.com/admin/api/2026-10/webhooks.json?limit=1&page_info=xyz>; rel="next""#;
        assert_eq!(next_page_info(link).as_deref(), Some("xyz"));
        assert_eq!(
            next_page_info(r#"<https://a/x?page_info=abc>; rel="previous""#),
            None
        );
        assert_eq!(next_page_info("garbage"), None);
        let with_fields = r#"<https://a.myshopify.com/x.json?limit=2&fields=id,address&page_info=p2>; rel="next""#;
        assert_eq!(next_page_info(with_fields).as_deref(), Some("p2"));
    }

    #[test]
    fn pages() {
        let b = json!({"webhooks": [{"id": 1, "address": "https://a.example", "topic": "orders/create"}]});
        assert_eq!(
            interpret(200, Some(&b)),
            Page::Items(vec![("1".into(), Some("https://a.example".into()))])
        );
        assert_eq!(interpret(403, None), Page::Denied);
        assert_eq!(interpret(429, None), Page::Failed("rate_limited"));
        assert_eq!(
            interpret(200, Some(&json!({}))),
            Page::Failed("unexpected_response")
        );
    }
}
