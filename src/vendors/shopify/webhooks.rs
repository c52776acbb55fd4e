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
use crate::vendors::webhooks::{self as w, Hook, Listing, Page};

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

/// Reads one answer (the projected body and the `Link` header): the subscriptions, and the
/// `page_info` of the next page.
pub fn interpret(
    status: u16,
    body: Option<&serde_json::Value>,
    link: Option<&str>,
) -> Page<String> {
    if status != 200 {
        return Page::refused(status);
    }
    let hooks = body
        .and_then(|b| b.get("webhooks")?.as_array())
        .and_then(|l| Hook::all(l, "address", ""));
    match hooks {
        // Each subscription is one topic.
        Some(mut hooks) => {
            hooks.iter_mut().for_each(|h| h.topics = Some(1));
            let next = link.and_then(next_page_info).filter(|_| !hooks.is_empty());
            Page::Items(hooks, next)
        }
        None => Page::Failed("unexpected_response".into()),
    }
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
    let path = path.as_str();
    let mut listing = Listing::new(CALL);
    let read = w::read_pages(
        &mut listing,
        calls,
        |page_info: Option<String>| async move {
            let mut query = vec![("limit", PAGE_LIMIT), ("fields", QUERY_FIELDS)];
            if let Some(p) = &page_info {
                query.push(("page_info", p.as_str()));
            }
            let Some(req) = shopify.request(input, base, path, &query, FIELDS) else {
                return (Page::Failed("bad_url".into()), vec![]);
            };
            let (url, template) = (req.url.clone(), req.template.clone());
            w::page_of(&url, &template, client.send(req).await, |r| {
                interpret(r.status, r.json().as_ref(), r.header("link"))
            })
        },
    )
    .await;
    listing.conclude(read, MISSING)
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
        let link = r#"<https://a.myshopify.com/x.json?page_info=p2>; rel="next""#;
        let hook = Hook {
            id: "1".into(),
            url: Some("https://a.example".into()),
            active: None,
            topics: Some(1),
        };
        assert_eq!(
            interpret(200, Some(&b), Some(link)),
            Page::Items(vec![hook.clone()], Some("p2".into()))
        );
        assert_eq!(
            interpret(200, Some(&b), None),
            Page::Items(vec![hook], None)
        );
        assert_eq!(interpret(403, None, None), Page::Denied);
        assert_eq!(
            interpret(429, None, None),
            Page::Failed("rate_limited".into())
        );
        assert_eq!(
            interpret(200, Some(&json!({})), None),
            Page::Failed("unexpected_response".into())
        );
    }
}
