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
//!
//! Variant flags (`variants: {shopify: {...}}` or per key), for UNCONFIRMED behaviour:
//! - `retry_after`: `present` (default, `Retry-After: 2.0`) | `absent` — a 429 without it is
//!   OBSERVED on resource-specific limits.
//! - `shop_state`: `ok` (default) | `frozen` (402) | `locked` (423) — bodies UNCONFIRMED.
//! - `scopes_body`: `documented` (default) | `graphql_like` (an undocumented shape).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{BUCKET_SIZE, INVALID_TOKEN_MESSAGE, LEAK_PER_SECOND, valid_shop_domain};
use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, KeyState, json};

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
    ]
}

/// 429 as seen in client libraries (OBSERVED; exact text UNCONFIRMED). `Retry-After` is
/// "usually" sent, e.g. `2.0` (OBSERVED); a 429 without it is also OBSERVED.
/// Shopify's `{"errors": …}` body for an injected status.
pub fn error(status: u16) -> Response {
    let text = match status {
        401 => super::INVALID_TOKEN_MESSAGE,
        402 => "Unavailable Shop",
        403 => "Forbidden",
        404 => "Not Found",
        423 => "Locked",
        400..=499 => "Bad Request",
        _ => "Internal Server Error",
    };
    json(status, serde_json::json!({ "errors": text }))
}

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

/// Routes the probe uses, plus data endpoints answering with the documented 403s.
pub fn router(st: EmuState) -> Router {
    Router::new()
        .route("/admin/oauth/access_scopes.json", get(access_scopes))
        .route("/admin/api/{version}/shop.json", get(shop))
        .route("/admin/api/{version}/{resource}", get(resource))
        .with_state(st)
}

struct Authed {
    key: EmulatorKey,
    shop: String,
    level: f64,
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

#[allow(clippy::result_large_err)] // an axum Response is the natural error here
fn authenticate(st: &EmuState, headers: &HeaderMap) -> Result<Authed, Response> {
    let shop = shop_of(headers);
    let shop_known = valid_shop_domain(&shop)
        && st.find_key_where(|k| k.account.as_deref() == Some(shop.as_str()));
    if !shop_known {
        // OBSERVED (trufflehog shopifyoauth): 404 for a shop that does not exist.
        return Err(json(404, json!({"errors": "Not Found"})));
    }
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
        (true, Some(key)) => Ok(Authed { key, shop, level }),
        _ => {
            // OBSERVED (frappe/ecommerce_integrations#414): invalid, revoked and expired
            // tokens all get this body and a Basic www-authenticate header.
            let msg = if st.echo_key() {
                format!("{INVALID_TOKEN_MESSAGE}: {token}")
            } else {
                st.field(INVALID_TOKEN_MESSAGE, &token)
            };
            let mut r = json(401, json!({"errors": msg}));
            r.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Basic Realm=\"Shopify API Authentication\""),
            );
            Err(with_limit(r, level))
        }
    }
}

async fn access_scopes(State(st): State<EmuState>, headers: HeaderMap) -> Response {
    let a = match authenticate(&st, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = match st.variant(Some(&a.key), "scopes_body").as_deref() {
        Some("graphql_like") => json!({"data": {"currentAppInstallation": {"accessScopes": []}}}),
        // CONFIRMED (shopify.dev AccessScope): {"access_scopes":[{"handle":"read_products"},…]}
        _ => {
            json!({"access_scopes": a.key.grants.iter().map(|g| json!({"handle": st.field(g, &a.key.key)})).collect::<Vec<_>>()})
        }
    };
    with_limit(json(200, body), a.level)
}

async fn shop(State(st): State<EmuState>, headers: HeaderMap) -> Response {
    let a = match authenticate(&st, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Fields trufflehog reads (OBSERVED): domain, name, email, created_at.
    let body = json!({"shop": {
        "id": 1,
        "name": st.field("Acme Demo", &a.key.key),
        "email": "owner@example.invalid",
        "domain": st.field(&a.shop, &a.key.key),
        "myshopify_domain": st.field(&a.shop, &a.key.key),
        "created_at": "2024-08-16T17:16:17+05:00"
    }});
    with_limit(json(200, body), a.level)
}

async fn resource(
    State(st): State<EmuState>,
    Path((_version, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let a = match authenticate(&st, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = resource.trim_end_matches(".json");
    let scope = format!("read_{name}");
    let write = format!("write_{name}");
    if !a.key.grants.iter().any(|g| *g == scope || *g == write) {
        // OBSERVED: 403 naming the missing scope.
        return with_limit(
            json(
                403,
                json!({"errors": format!("[API] This action requires merchant approval for {scope} scope.")}),
            ),
            a.level,
        );
    }
    if matches!(name, "customers" | "orders")
        && st.variant(Some(&a.key), "protected_data").as_deref() == Some("unapproved")
    {
        // OBSERVED: protected customer data not approved.
        return with_limit(
            json(
                403,
                json!({"errors": "[API] This app is not approved to access REST endpoints with protected customer data. See https://partners.shopify.com/1/apps/1/customer_data for more details."}),
            ),
            a.level,
        );
    }
    with_limit(json(200, json!({ name: [] })).into_response(), a.level)
}
