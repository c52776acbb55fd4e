//! Stripe webhook endpoints: `GET /v1/webhook_endpoints`, a call of its own beside the scope
//! probes (issue 16, point 3).
//!
//! A secret key may list them; a restricted key needs `rak_webhook_read` (the by-id scope probe
//! has already said whether it holds it, so a key without it is `unverifiable` without another
//! call). Pages of [`PAGE_LIMIT`] with `starting_after` (CONFIRMED: spec 2023-08-16 takes
//! `limit`, `starting_after`, `ending_before`, `expand`), at most
//! [`crate::vendors::webhooks::MAX_PAGES`] of them. Of each endpoint only `id`, the URL's scheme
//! and host, `status` and the number of `enabled_events` are built; `secret` (returned on
//! create only) is never asked for.

use super::{Ctx, rate_limited};
use crate::http::BodyRead;
use crate::run::{CallSummary, Observation};
use crate::vendors::webhooks::{self as w, Listing, Seen};

pub const PATH: &str = "/v1/webhook_endpoints";
/// The observation's `call`.
pub const CALL: &str = "GET /v1/webhook_endpoints";
/// The restricted-key permission it needs.
pub const PERMISSION: &str = "rak_webhook_read";
/// Why a restricted key without [`PERMISSION`] cannot list them.
pub const MISSING: &str =
    "needs the restricted-key permission rak_webhook_read (Webhook Endpoints: Read)";
/// Records per page (the contract's maximum).
pub const PAGE_LIMIT: u32 = 100;
/// The only members of a page ever built.
pub const FIELDS: &[&str] = &[
    "object",
    "has_more",
    "data.id",
    "data.url.[origin]",
    "data.status",
    "data.enabled_events",
];

/// The query of one page.
pub fn query(starting_after: Option<&str>) -> String {
    match starting_after {
        None => format!("limit={PAGE_LIMIT}"),
        Some(id) => {
            let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
            format!("limit={PAGE_LIMIT}&starting_after={id}")
        }
    }
}

/// What one page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The endpoints on it, and the id to continue after when the list goes on.
    Items(
        Vec<(String, Option<String>, Option<bool>, Option<usize>)>,
        Option<String>,
    ),
    /// 403: the key may not list them.
    Denied,
    /// `rate_limited`, `server_error`, `unexpected_response`.
    Failed(&'static str),
}

/// Reads one answer (the projected body).
pub fn interpret(status: u16, body: Option<&serde_json::Value>) -> Page {
    if rate_limited(status, body) {
        return Page::Failed("rate_limited");
    }
    match status {
        200 => {}
        403 => return Page::Denied,
        s => return Page::Failed(w::vendor_failure(s).unwrap_or("unexpected_response")),
    }
    let Some(b) = body.filter(|b| b.get("object").and_then(|o| o.as_str()) == Some("list")) else {
        return Page::Failed("unexpected_response");
    };
    let (Some(data), Some(more)) = (
        b.get("data").and_then(|d| d.as_array()),
        b.get("has_more").and_then(|m| m.as_bool()),
    ) else {
        return Page::Failed("unexpected_response");
    };
    let mut items = vec![];
    for e in data {
        let Some(id) = e.get("id").and_then(|i| i.as_str()) else {
            return Page::Failed("unexpected_response");
        };
        items.push((
            id.to_string(),
            e.get("url").and_then(|u| u.as_str()).map(str::to_string),
            e.get("status")
                .and_then(|s| s.as_str())
                .map(|s| s == "enabled"),
            e.get("enabled_events")
                .and_then(|x| x.as_array())
                .map(Vec::len),
        ));
    }
    let next = if more {
        match items.last() {
            Some((id, ..)) => Some(id.clone()),
            None => return Page::Failed("unexpected_response"),
        }
    } else {
        None
    };
    Page::Items(items, next)
}

/// Lists the account's webhook endpoints page by page; every call goes to `calls`.
pub(super) async fn list(ctx: &Ctx<'_>, calls: &mut Vec<CallSummary>) -> Observation {
    let mut listing = Listing::new(CALL);
    let mut after: Option<String> = None;
    for _ in 0..w::MAX_PAGES {
        let (url, r) = ctx
            .get(PATH, &query(after.as_deref()), BodyRead::Fields(FIELDS))
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                if !e.refused_before_sending() {
                    calls.push(crate::vendors::failed_call(
                        "GET",
                        &url,
                        &crate::http::template_of(&url),
                    ));
                }
                return w::inconclusive(CALL, e.reason());
            }
        };
        calls.push(r.call.clone());
        match interpret(r.status, r.json().as_ref()) {
            Page::Items(items, next) => {
                for (id, url, active, topics) in &items {
                    listing.add(Seen {
                        id,
                        url: url.as_deref().unwrap_or(""),
                        active: *active,
                        topics: *topics,
                    });
                }
                match next {
                    None => return listing.finish(false),
                    Some(n) => after = Some(n),
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
    fn pages() {
        let body = json!({"object": "list", "has_more": true, "data": [
            {"id": "we_1", "url": "https://hooks.example.com", "status": "enabled", "enabled_events": ["*"]},
            {"id": "we_2", "url": null, "status": "disabled", "enabled_events": ["a", "b"]}]});
        assert_eq!(
            interpret(200, Some(&body)),
            Page::Items(
                vec![
                    (
                        "we_1".into(),
                        Some("https://hooks.example.com".into()),
                        Some(true),
                        Some(1)
                    ),
                    ("we_2".into(), None, Some(false), Some(2)),
                ],
                Some("we_2".into())
            )
        );
        let empty_more = json!({"object": "list", "has_more": true, "data": []});
        assert_eq!(
            interpret(200, Some(&empty_more)),
            Page::Failed("unexpected_response")
        );
        assert_eq!(interpret(403, None), Page::Denied);
        assert_eq!(interpret(429, None), Page::Failed("rate_limited"));
        assert_eq!(interpret(503, None), Page::Failed("server_error"));
        assert_eq!(
            query(Some("we_1&x=y")),
            "limit=100&starting_after=we_1%26x%3Dy"
        );
    }
}
