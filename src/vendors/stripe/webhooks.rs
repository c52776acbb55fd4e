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
use crate::vendors::webhooks::{self as w, Hook, Listing, Page};

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

/// Reads one answer (the projected body): the endpoints, and the id to continue after.
pub fn interpret(status: u16, body: Option<&serde_json::Value>) -> Page<String> {
    if rate_limited(status, body) {
        return Page::Failed("rate_limited".into());
    }
    if status != 200 {
        return Page::refused(status);
    }
    let unexpected = || Page::Failed("unexpected_response".into());
    let Some(b) = body.filter(|b| b.get("object").and_then(|o| o.as_str()) == Some("list")) else {
        return unexpected();
    };
    let (Some(data), Some(more)) = (
        b.get("data").and_then(|d| d.as_array()),
        b.get("has_more").and_then(|m| m.as_bool()),
    ) else {
        return unexpected();
    };
    let Some(mut hooks) = Hook::all(data, "url", "") else {
        return unexpected();
    };
    for (h, e) in hooks.iter_mut().zip(data) {
        h.active = e
            .get("status")
            .and_then(|s| s.as_str())
            .map(|s| s == "enabled");
        h.topics = e
            .get("enabled_events")
            .and_then(|x| x.as_array())
            .map(Vec::len);
    }
    let next = match (more, hooks.last()) {
        (false, _) => None,
        (true, Some(last)) => Some(last.id.clone()),
        (true, None) => return unexpected(),
    };
    Page::Items(hooks, next)
}

/// Lists the account's webhook endpoints page by page; every call goes to `calls`.
pub(super) async fn list(ctx: &Ctx<'_>, calls: &mut Vec<CallSummary>) -> Observation {
    let mut listing = Listing::new(CALL);
    let read = w::read_pages(&mut listing, calls, |after: Option<String>| async move {
        let (url, r) = ctx
            .get(PATH, &query(after.as_deref()), BodyRead::Fields(FIELDS))
            .await;
        w::page_of(&url, &crate::http::template_of(&url), r, |r| {
            interpret(r.status, r.json().as_ref())
        })
    })
    .await;
    listing.conclude(read, MISSING)
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
        let hook = |id: &str, url: Option<&str>, active, topics| Hook {
            id: id.into(),
            url: url.map(str::to_string),
            active: Some(active),
            topics: Some(topics),
        };
        assert_eq!(
            interpret(200, Some(&body)),
            Page::Items(
                vec![
                    hook("we_1", Some("https://hooks.example.com"), true, 1),
                    hook("we_2", None, false, 2),
                ],
                Some("we_2".into())
            )
        );
        let empty_more = json!({"object": "list", "has_more": true, "data": []});
        assert_eq!(
            interpret(200, Some(&empty_more)),
            Page::Failed("unexpected_response".into())
        );
        assert_eq!(interpret(403, None), Page::Denied);
        assert_eq!(interpret(429, None), Page::Failed("rate_limited".into()));
        assert_eq!(interpret(503, None), Page::Failed("server_error".into()));
        assert_eq!(
            query(Some("we_1&x=y")),
            "limit=100&starting_after=we_1%26x%3Dy"
        );
    }
}
