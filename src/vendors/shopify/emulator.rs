//! Shopify emulator: access_scopes.json, shop.json and data endpoints, the documented 401/403/404/429 bodies, the call-limit header and the leaky bucket.
//!
//! The shop is taken from the `Host` header (`<shop>.myshopify.com`), as on the real host.
//!
//! Built-in synthetic keys (obviously fake, format-valid), all on `acme-demo.myshopify.com`:
//! - `shpat_00000000000000000000000000000a01` — active; read_products, read_orders,
//!   read_customers, write_script_tags (the over-privileged marketing integration)
//! - `shpca_00000000000000000000000000000a02` — active; read_products
//! - `shppa_00000000000000000000000000000a03` — revoked
//! - `shpat_00000000000000000000000000000a04` — expired
//! - `shpat_00000000000000000000000000000a05` — active; read_users, read_script_tags (an audit
//!   key: staff accounts and script tags, see [`super::audit_emulator`])
//!
//! As the real API (specs README, vendor-apis.md §1.4):
//! - `shop.json` carries the owner's name, e-mail, phone and address (the values of
//!   [`crate::emulator::PLANTED_PII`]) and honours `fields=` (only the named members are
//!   returned);
//! - versioned paths take a released version: [`SUPPORTED_VERSIONS`] and [`PREVIEW_VERSIONS`]
//!   are served, a retired quarterly version falls forward to the oldest supported one
//!   (CONFIRMED), anything else is a 404 `{"errors":"Not Found"}` (OBSERVED (3p): a
//!   non-quarterly `2022-06` answered 404); `X-Shopify-API-Version` names the version served;
//! - a query parameter the endpoint does not take is a 400 `{"errors":{<name>: …}}` (the
//!   `errors` object is CONFIRMED; wording UNCONFIRMED; the real API may ignore unknown
//!   parameters, the emulator refuses them so a connector sending one fails its tests).
//!
//! Variant flags (`variants: {shopify: {...}}` or per key), for UNCONFIRMED behaviour:
//! - `retry_after`: `present` (default, `Retry-After: 2.0`) | `absent` — a 429 without it is
//!   OBSERVED on resource-specific limits.
//! - `shop_state`: `ok` (default) | `frozen` (402) | `locked` (423) — bodies UNCONFIRMED.
//! - `scopes_body`: `documented` (default) | `graphql_like` (an undocumented shape).
//! - `shop_fields`: `honoured` (default) | `ignored` (a shop that sends the whole object
//!   whatever `fields=` says: the connector must still keep only the domain).
//! - `webhooks_access`: `open` (default: an app lists its own subscriptions without a scope) |
//!   `refused` (403) — UNCONFIRMED; `webhooks_error: <status>` answers that error.
//!
//! `webhooks.json` (UNCONFIRMED shape, shopify.dev REST `Webhook`) lists the app's webhook
//! subscriptions (`extra.webhooks` of the key, see [`crate::vendors::webhooks::emulated`]),
//! honours `fields=` and `limit` (default 50) and pages with a `Link: <…page_info=…>;
//! rel="next"` header; with `page_info` only `limit` and `fields` are accepted.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{BUCKET_SIZE, INVALID_TOKEN_MESSAGE, LEAK_PER_SECOND, valid_shop_domain};
use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, KeyState, json, planted};

/// The emulator's registration.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        vendor: "shopify",
        router,
        default_keys,
        throttled,
        error,
    }
}

/// The built-in synthetic keys (see the module doc).
pub fn default_keys() -> Vec<EmulatorKey> {
    let k = |key: &str, grants: &[&str], state: KeyState| EmulatorKey {
        key: key.into(),
        vendor: "shopify".into(),
        grants: grants.iter().map(|s| s.to_string()).collect(),
        account: Some("acme-demo.myshopify.com".into()),
        state,
        key_type: None,
        variants: Default::default(),
        extra: Default::default(),
    };
    vec![
        k(
            "shpat_00000000000000000000000000000a01",
            &[
                "read_products",
                "read_orders",
                "read_customers",
                "write_script_tags",
            ],
            KeyState::Active,
        ),
        k(
            "shpca_00000000000000000000000000000a02",
            &["read_products"],
            KeyState::Active,
        ),
        k(
            "shppa_00000000000000000000000000000a03",
            &["read_products"],
            KeyState::Revoked,
        ),
        k(
            "shpat_00000000000000000000000000000a04",
            &["read_orders"],
            KeyState::Expired,
        ),
        k(
            "shpat_00000000000000000000000000000a05",
            &["read_users", "read_script_tags"],
            KeyState::Active,
        ),
    ]
}

/// 429 as seen in client libraries (OBSERVED; exact text UNCONFIRMED). `Retry-After` is
/// "usually" sent, e.g. `2.0` (OBSERVED); a 429 without it is also OBSERVED.
pub fn throttled(retry_after: Option<&str>) -> Response {
    let mut r = json(
        429,
        json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
    );
    if let Some(v) = retry_after
        && let Ok(v) = v.parse()
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// Stable Admin API versions served, as of December 2026 (CONFIRMED schedule: quarterly
/// `YYYY-01/04/07/10` releases, each supported for at least 12 months), oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2026-01", "2026-04", "2026-07", "2026-10"];
/// Served but unsupported: the release candidate and `unstable`.
pub const PREVIEW_VERSIONS: &[&str] = &["2027-01", "unstable"];
/// The first versioned release.
const FIRST_VERSION: &str = "2019-04";

/// The version a versioned path is served with: itself when released and not retired, the
/// oldest supported one for a retired quarterly version; `None` when it does not exist.
pub fn served_version(v: &str) -> Option<&str> {
    if SUPPORTED_VERSIONS.contains(&v) || PREVIEW_VERSIONS.contains(&v) {
        return Some(v);
    }
    let quarterly = v.len() == 7
        && v.as_bytes()[4] == b'-'
        && v[..4].bytes().all(|b| b.is_ascii_digit())
        && matches!(&v[5..], "01" | "04" | "07" | "10");
    let oldest = SUPPORTED_VERSIONS.first().copied()?;
    (quarterly && v >= FIRST_VERSION && v < oldest).then_some(oldest)
}

/// The query parameters, or the 400 naming one the endpoint does not take (or a value of the
/// wrong type: `limit` is 1–250).
#[allow(clippy::result_large_err)] // an axum Response is the natural error here
fn params(query: Option<&str>, allowed: &[&str]) -> Result<BTreeMap<String, String>, Response> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let problem = if !allowed.contains(&k.as_ref()) {
            Some("is not a parameter of this endpoint")
        } else if k == "limit" && !v.parse::<u16>().is_ok_and(|n| (1..=250).contains(&n)) {
            Some("must be an integer from 1 to 250")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(json(400, json!({"errors": {k.as_ref(): problem}})));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

fn not_found() -> Response {
    json(404, json!({"errors": "Not Found"}))
}

/// The 401 with its OBSERVED `www-authenticate` header.
fn unauthorized(message: &str) -> Response {
    let mut r = json(401, json!({ "errors": message }));
    r.headers_mut().insert(
        "www-authenticate",
        axum::http::HeaderValue::from_static("Basic Realm=\"Shopify API Authentication\""),
    );
    r
}

/// The error the plumbing's failure faults answer with, as `{"errors": …}`.
pub fn error(status: u16) -> Response {
    match status {
        401 => unauthorized(INVALID_TOKEN_MESSAGE),
        404 => not_found(),
        429 => throttled(Some("2.0")),
        s => {
            let reason = axum::http::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Error");
            json(s, json!({ "errors": reason }))
        }
    }
}

/// Routes the probe uses, plus data endpoints answering with the documented 403s.
pub fn router(st: EmuState) -> Router {
    Router::new()
        .route("/admin/oauth/access_scopes.json", get(access_scopes))
        .route("/admin/api/{version}/shop.json", get(shop))
        .route("/admin/api/{version}/webhooks.json", get(webhooks))
        .route("/admin/api/{version}/{resource}", get(resource))
        .with_state(st)
}

struct Authed {
    key: EmulatorKey,
    shop: String,
    level: f64,
    /// The API version served (versioned paths).
    served: Option<String>,
}

impl Authed {
    /// A response with the call-limit header and, on versioned paths, `X-Shopify-API-Version`.
    fn answer(&self, status: u16, body: serde_json::Value) -> Response {
        let mut r = with_limit(json(status, body), self.level);
        if let Some(v) = self.served.as_deref().and_then(|v| v.parse().ok()) {
            r.headers_mut().insert("x-shopify-api-version", v);
        }
        r
    }
}

fn shop_of(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or("").to_ascii_lowercase())
        .unwrap_or_default()
}

fn with_limit(mut r: Response, level: f64) -> Response {
    if let Ok(v) = format!("{}/{}", level.ceil() as u32, BUCKET_SIZE as u32).parse() {
        r.headers_mut().insert("x-shopify-shop-api-call-limit", v);
    }
    r
}

/// The shop, the API version (`None` for unversioned paths: `Err` when it does not exist),
/// then the token.
#[allow(clippy::result_large_err)] // an axum Response is the natural error here
fn authenticate(
    st: &EmuState,
    headers: &HeaderMap,
    version: Option<&str>,
) -> Result<Authed, Response> {
    let shop = shop_of(headers);
    let shop_known = valid_shop_domain(&shop)
        && st.find_key_where(|k| k.account.as_deref() == Some(shop.as_str()));
    if !shop_known {
        // OBSERVED (trufflehog shopifyoauth): 404 for a shop that does not exist.
        return Err(not_found());
    }
    let served = match version.map(served_version) {
        Some(None) => return Err(not_found()),
        Some(Some(v)) => Some(v.to_string()),
        None => None,
    };
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let key = st.find_key(&token);
    match st.variant(key.as_ref(), "shop_state").as_deref() {
        // UNCONFIRMED: 402 frozen / 423 locked shops.
        Some("frozen") => return Err(json(402, json!({"errors": "Unavailable Shop"}))),
        Some("locked") => return Err(json(423, json!({"errors": "Locked"}))),
        _ => {}
    }
    let level = match st.leaky_bucket(&shop, BUCKET_SIZE, LEAK_PER_SECOND) {
        Ok(l) => l,
        Err(l) => {
            let ra = match st.variant(key.as_ref(), "retry_after").as_deref() {
                Some("absent") => None,
                _ => Some("2.0"),
            };
            return Err(with_limit(throttled(ra), l));
        }
    };
    let ok = key.as_ref().is_some_and(|k| {
        k.state == KeyState::Active && k.account.as_deref() == Some(shop.as_str())
    });
    match (ok, key) {
        (true, Some(key)) => Ok(Authed {
            key,
            shop,
            level,
            served,
        }),
        _ => {
            // OBSERVED (frappe/ecommerce_integrations#414): invalid, revoked and expired
            // tokens all get this body and a Basic www-authenticate header.
            let msg = if st.echo_key() {
                format!("{INVALID_TOKEN_MESSAGE}: {token}")
            } else {
                st.field(INVALID_TOKEN_MESSAGE, &token)
            };
            Err(with_limit(unauthorized(&msg), level))
        }
    }
}

async fn access_scopes(
    State(st): State<EmuState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match authenticate(&st, &headers, None) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(r) = params(query.as_deref(), &[]) {
        return r;
    }
    let body = match st.variant(Some(&a.key), "scopes_body").as_deref() {
        Some("graphql_like") => json!({"data": {"currentAppInstallation": {"accessScopes": []}}}),
        // CONFIRMED (shopify.dev AccessScope): {"access_scopes":[{"handle":"read_products"},…]}
        _ => {
            json!({"access_scopes": a.key.grants.iter().map(|g| json!({"handle": st.field(g, &a.key.key)})).collect::<Vec<_>>()})
        }
    };
    a.answer(200, body)
}

/// The whole shop object: shopify.dev Shop resource fields, with the owner's (planted) data.
fn full_shop(st: &EmuState, a: &Authed) -> serde_json::Map<String, serde_json::Value> {
    let shop = json!({
        "id": 548380009,
        "name": "Acme Demo",
        "email": planted("email"),
        "customer_email": planted("email"),
        "shop_owner": planted("name"),
        "phone": planted("phone"),
        "address1": planted("address1"),
        "address2": "",
        "city": planted("city"),
        "zip": planted("zip"),
        "province": "Kentucky",
        "province_code": "KY",
        "country": "US",
        "country_code": "US",
        "country_name": "United States",
        "latitude": 45.45,
        "longitude": -75.43,
        "domain": a.shop,
        "myshopify_domain": st.field(&a.shop, &a.key.key),
        "primary_locale": "en",
        "currency": "USD",
        "iana_timezone": "America/New_York",
        "plan_name": "basic",
        "created_at": "2024-08-16T17:16:17+05:00"
    });
    match shop {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// A versioned endpoint's caller and query (`allowed` parameters only), or the answer refusing
/// them.
#[allow(clippy::result_large_err)] // an axum Response is the natural error here
fn versioned(
    st: &EmuState,
    headers: &HeaderMap,
    version: &str,
    query: Option<&str>,
    allowed: &[&str],
) -> Result<(Authed, BTreeMap<String, String>), Response> {
    let a = authenticate(st, headers, Some(version))?;
    let q = params(query, allowed)?;
    Ok((a, q))
}

async fn shop(
    State(st): State<EmuState>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (a, q) = match versioned(&st, &headers, &version, query.as_deref(), &["fields"]) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut shop = full_shop(&st, &a);
    let honoured = st.variant(Some(&a.key), "shop_fields").as_deref() != Some("ignored");
    if let Some(fields) = q.get("fields").filter(|_| honoured) {
        // CONFIRMED: `fields=` returns only the named members (unknown names are left out).
        let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
        shop.retain(|k, _| wanted.contains(&k.as_str()));
    }
    a.answer(200, json!({ "shop": shop }))
}

async fn webhooks(
    State(st): State<EmuState>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let allowed = ["fields", "limit", "page_info", "since_id"];
    let (a, q) = match versioned(&st, &headers, &version, query.as_deref(), &allowed) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if q.contains_key("page_info") && q.contains_key("since_id") {
        return a.answer(
            400,
            json!({"errors": {"page_info": "only limit and fields may be sent with page_info"}}),
        );
    }
    if st.variant(Some(&a.key), "webhooks_access").as_deref() == Some("refused") {
        return a.answer(
            403,
            json!({"errors": "[API] This action requires merchant approval for read_webhooks scope."}),
        );
    }
    if let Some(status) = st
        .variant(Some(&a.key), "webhooks_error")
        .and_then(|v| v.parse::<u16>().ok())
    {
        return with_limit(error(status), a.level);
    }
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let start: usize = match q.get("page_info") {
        None => 0,
        Some(c) => match c.strip_prefix("cursor-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return a.answer(400, json!({"errors": {"page_info": "Invalid value."}}));
            }
        },
    };
    let all = crate::vendors::webhooks::emulated(&st, &a.key);
    let wanted: Option<Vec<String>> = q
        .get("fields")
        .map(|f| f.split(',').map(|x| x.trim().to_string()).collect());
    let page: Vec<serde_json::Value> = all
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(i, w)| {
            let mut o = json!({
                "id": w.id.parse::<i64>().unwrap_or(9000 + i as i64), "address": w.url,
                "topic": "orders/create", "format": "json", "fields": [],
                "metafield_namespaces": [], "api_version": version,
                "created_at": "2025-01-01T00:00:00-05:00", "updated_at": "2025-01-01T00:00:00-05:00",
            });
            if let (Some(w), Some(m)) = (&wanted, o.as_object_mut()) {
                m.retain(|k, _| w.contains(k));
            }
            o
        })
        .collect();
    let mut r = a.answer(200, json!({ "webhooks": page }));
    if start + limit < all.len() {
        let mut next = format!(
            "https://{}/admin/api/{version}/webhooks.json?limit={limit}&page_info=cursor-{}",
            a.shop,
            start + limit
        );
        if let Some(f) = q.get("fields") {
            next.push_str(&format!("&fields={}", f.replace(',', "%2C")));
        }
        if let Ok(v) = format!("<{next}>; rel=\"next\"").parse() {
            r.headers_mut().insert("link", v);
        }
    }
    r
}

async fn resource(
    State(st): State<EmuState>,
    Path((version, resource)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match authenticate(&st, &headers, Some(&version)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = match params(
        query.as_deref(),
        &["limit", "fields", "since_id", "page_info"],
    ) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let name = resource.trim_end_matches(".json");
    let scope = format!("read_{name}");
    let write = format!("write_{name}");
    if !a.key.grants.iter().any(|g| *g == scope || *g == write) {
        // OBSERVED: 403 naming the missing scope.
        return a.answer(
            403,
            json!({"errors": format!("[API] This action requires merchant approval for {scope} scope.")}),
        );
    }
    if matches!(name, "customers" | "orders")
        && st.variant(Some(&a.key), "protected_data").as_deref() == Some("unapproved")
    {
        // OBSERVED: protected customer data not approved.
        return a.answer(
            403,
            json!({"errors": "[API] This app is not approved to access REST endpoints with protected customer data. See https://partners.shopify.com/1/apps/1/customer_data for more details."}),
        );
    }
    if let Some((status, body)) =
        super::audit_emulator::answer(&st, &a.key, name, q.get("limit").map(String::as_str))
    {
        return a.answer(status, body);
    }
    a.answer(200, json!({ name: [] })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_served_fall_forward_or_do_not_exist() {
        assert_eq!(served_version("2026-10"), Some("2026-10"));
        assert_eq!(served_version("unstable"), Some("unstable"));
        assert_eq!(served_version("2024-04"), Some("2026-01"));
        for v in [
            "2026-11", "2027-04", "2019-01", "2022-06", "latest", "2026-1", "",
        ] {
            assert_eq!(served_version(v), None, "{v}");
        }
    }
}
