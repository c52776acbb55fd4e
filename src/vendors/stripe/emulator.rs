//! Stripe emulator: `/v1/account`, the list and by-id endpoints the probe reads, restricted-key permissions, the documented 401/403/429 bodies and per-account rate limits.
//!
//! Built-in synthetic keys (obviously fake, format-valid), account `acct_1DemoAcct0000001`
//! (test mode) unless noted:
//! - `sk_test_51DemoKey0000000000000000000000000000000000000001` — active secret key
//! - `rk_test_51DemoKey0000000000000000000000000000000000000002` — restricted:
//!   rak_customer_read, rak_charge_read, rak_event_read (over-privileged)
//! - `rk_test_51DemoKey0000000000000000000000000000000000000003` — restricted:
//!   rak_product_read, rak_plan_read (least privilege)
//! - `pk_test_51DemoKey0000000000000000000000000000000000000004` — publishable
//! - `sk_test_51DemoKey0000000000000000000000000000000000000005` — revoked (deleted)
//! - `rk_test_51DemoKey0000000000000000000000000000000000000006` — expired (rolled)
//! - `sk_live_51DemoKey0000000000000000000000000000000000000007` — live, `acct_1DemoLive0000001`
//!
//! Variant flags (`variants: {stripe: {...}}` or per key), for UNCONFIRMED behaviour:
//! - `forbidden_wording`: `having` (default, older OBSERVED wording) | `enabling` (newer)
//! - `restricted_account`: `forbidden` (default: `/v1/account` needs `rak_account_read`) |
//!   `unavailable` ("not available for use by restricted keys")
//! - `publishable_status`: `401` (default) | `400` — the status of the publishable refusal
//! - `deleted_key`: `authentication_error` (default, per docs.stripe.com/keys) |
//!   `invalid_api_key` (deleted keys look unknown)

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;

use super::{ENDPOINT_PER_SECOND, LIVE_PER_SECOND, READ_PROBES, TEST_PER_SECOND};
use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, KeyState, credential, json};

/// The emulator's registration.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        vendor: "stripe",
        router,
        default_keys,
        throttled,
    }
}

/// Default test account of the built-in keys.
pub const DEMO_ACCOUNT: &str = "acct_1DemoAcct0000001";

/// The built-in synthetic keys (see the module doc).
pub fn default_keys() -> Vec<EmulatorKey> {
    let k = |n: u32, prefix: &str, grants: &[&str], state: KeyState, account: &str| EmulatorKey {
        key: format!("{prefix}51DemoKey{n:046}"),
        vendor: "stripe".into(),
        grants: grants.iter().map(|s| s.to_string()).collect(),
        account: Some(account.into()),
        state,
        key_type: None,
        variants: Default::default(),
        extra: Default::default(),
    };
    vec![
        k(1, "sk_test_", &[], KeyState::Active, DEMO_ACCOUNT),
        k(
            2,
            "rk_test_",
            &["rak_customer_read", "rak_charge_read", "rak_event_read"],
            KeyState::Active,
            DEMO_ACCOUNT,
        ),
        k(
            3,
            "rk_test_",
            &["rak_product_read", "rak_plan_read"],
            KeyState::Active,
            DEMO_ACCOUNT,
        ),
        k(4, "pk_test_", &[], KeyState::Active, DEMO_ACCOUNT),
        k(5, "sk_test_", &[], KeyState::Revoked, DEMO_ACCOUNT),
        k(
            6,
            "rk_test_",
            &["rak_customer_read"],
            KeyState::Expired,
            DEMO_ACCOUNT,
        ),
        k(
            7,
            "sk_live_",
            &[],
            KeyState::Active,
            "acct_1DemoLive0000001",
        ),
    ]
}

/// 429 `rate_limit_error` (SDK docs). No `Retry-After` is documented; the
/// `Stripe-Rate-Limited-Reason` header is OBSERVED (3p).
pub fn throttled(retry_after: Option<&str>) -> Response {
    let mut r = json(
        429,
        json!({"error": {"type": "rate_limit_error", "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."}}),
    );
    r.headers_mut().insert(
        "stripe-rate-limited-reason",
        axum::http::HeaderValue::from_static("global-rate"),
    );
    if let Some(v) = retry_after
        && let Ok(v) = v.parse()
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// Every `/v1/...` path goes through one handler.
pub fn router(st: EmuState) -> Router {
    Router::new().fallback(handle).with_state(st)
}

/// `rk_test_*****…*****qs8Kgd`: prefix, stars, last 6 (OBSERVED masking in 403s).
fn mask6(key: &str) -> String {
    let prefix: String = key.chars().take(8).collect();
    let tail: String = key
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}*****…*****{tail}")
}

/// `sk_test_**********************Aso0`: prefix, stars, last 4 (OBSERVED in 401s).
fn mask4(key: &str) -> String {
    let prefix: String = key.chars().take(8).collect();
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}**********************{tail}")
}

fn shown(st: &EmuState, key: &str, masked: String) -> String {
    if st.echo_key() {
        key.to_string()
    } else {
        masked
    }
}

fn with_request_id(mut r: Response) -> Response {
    r.headers_mut().insert(
        "request-id",
        axum::http::HeaderValue::from_static("req_emulator0000001"),
    );
    r
}

fn human(permission: &str) -> String {
    let p = permission.trim_start_matches("rak_");
    p.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn forbidden(st: &EmuState, key: &EmulatorKey, permission: &str) -> Response {
    let account = key.account.clone().unwrap_or_default();
    let masked = shown(st, &key.key, mask6(&key.key));
    let message = match st.variant(Some(key), "forbidden_wording").as_deref() {
        // OBSERVED (2026 third-party test): the newer wording, without the rak_ prefix.
        Some("enabling") => format!(
            "Permission denied. The provided key '{masked}' does not have the required permissions for this endpoint on account '{account}'. Enabling \"{}\" ('{}') permissions on this key would allow this request to continue.",
            human(permission),
            permission.trim_start_matches("rak_")
        ),
        // OBSERVED (stripe-node#2246 and others): the older wording.
        _ => format!(
            "The provided key '{masked}' does not have the required permissions for this endpoint on account '{account}'. Having the '{permission}' permission would allow this request to continue."
        ),
    };
    json(
        403,
        json!({"error": {"type": "invalid_request_error", "message": st.field(&message, &key.key)}}),
    )
}

fn list(path: &str) -> Response {
    // CONFIRMED (docs.stripe.com/api/pagination): an empty list page.
    json(
        200,
        json!({"object": "list", "url": path, "has_more": false, "data": []}),
    )
}

async fn handle(State(st): State<EmuState>, req: Request) -> Response {
    with_request_id(respond(&st, &req))
}

fn respond(st: &EmuState, req: &Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(raw) = credential(req.headers()) else {
        // OBSERVED: missing key.
        return json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."}}),
        );
    };
    let key = st.find_key(&raw);
    let invalid = || {
        // OBSERVED (stripe-node#361): prefix kept, middle masked, last 4 shown.
        json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": st.field(&format!("Invalid API Key provided: {}", shown(st, &raw, mask4(&raw))), &raw)}}),
        )
    };
    let Some(key) = key else {
        return invalid();
    };
    match key.state {
        KeyState::Active => {}
        KeyState::Expired => {
            // OBSERVED (stripe-cli-style test): code api_key_expired.
            let tail: String = raw
                .chars()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let prefix: String = raw.chars().take(8).collect();
            let shown_key = shown(st, &raw, format!("{prefix}***{tail}"));
            return json(
                401,
                json!({"error": {"code": "api_key_expired", "doc_url": "https://stripe.com/docs/error-codes/api-key-expired", "message": format!("Expired API Key provided: {shown_key}"), "type": "invalid_request_error"}}),
            );
        }
        KeyState::Revoked => {
            return match st.variant(Some(&key), "deleted_key").as_deref() {
                Some("invalid_api_key") => invalid(),
                // CONFIRMED: deleted/expired → authentication error; message text UNCONFIRMED.
                _ => json(
                    401,
                    json!({"error": {"type": "authentication_error", "message": format!("The API key {} has been deleted.", shown(st, &raw, mask4(&raw)))}}),
                ),
            };
        }
    }
    let account = key.account.clone().unwrap_or_default();
    let live =
        raw.starts_with("sk_live_") || raw.starts_with("rk_live_") || raw.starts_with("pk_live_");
    let global = if live {
        LIVE_PER_SECOND
    } else {
        TEST_PER_SECOND
    };
    if st
        .leaky_bucket(&format!("global:{account}"), global, global)
        .is_err()
        || st
            .leaky_bucket(
                &format!("ep:{account}:{path}"),
                ENDPOINT_PER_SECOND,
                ENDPOINT_PER_SECOND,
            )
            .is_err()
    {
        return throttled(None);
    }
    if raw.starts_with("pk_") {
        // OBSERVED message; status UNCONFIRMED (401 or 400).
        let status = match st.variant(Some(&key), "publishable_status").as_deref() {
            Some("400") => 400,
            _ => 401,
        };
        return json(
            status,
            json!({"error": {"type": "invalid_request_error", "code": "invalid_key_for_api_call", "message": "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys."}}),
        );
    }
    if req.headers().contains_key("stripe-account") && raw.starts_with("rk_") {
        // OBSERVED Connect variant.
        return json(
            403,
            json!({"error": {"type": "invalid_request_error", "message": "You passed a restricted API key with the Stripe-Account header, but the restricted API key does not have any Connect permissions."}}),
        );
    }
    let restricted = raw.starts_with("rk_");
    let has = |perm: &str| {
        let write = perm.replace("_read", "_write");
        key.grants.iter().any(|g| g == perm || *g == write)
    };
    if path == "/v1/account" {
        if restricted && !has("rak_account_read") {
            if st.variant(Some(&key), "restricted_account").as_deref() == Some("unavailable") {
                let masked = shown(st, &key.key, mask6(&key.key));
                return json(
                    403,
                    json!({"error": {"type": "invalid_request_error", "message": format!("The provided key '{masked}' does not have the required permissions for this endpoint on account '{account}'. This is a restricted API key, but the required permissions are not available for use by restricted keys.")}}),
                );
            }
            return forbidden(st, &key, "rak_account_read");
        }
        return json(
            200,
            json!({"id": st.field(&account, &raw), "object": "account", "livemode": live, "country": "FR", "default_currency": "eur", "business_profile": {"name": st.field("Acme", &raw)}}),
        );
    }
    let Some(probe) = READ_PROBES.iter().find(|p| p.path == path) else {
        return json(
            404,
            json!({"error": {"type": "invalid_request_error", "message": format!("Unrecognized request URL (GET: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.")}}),
        );
    };
    if restricted && !has(probe.permission) {
        return forbidden(st, &key, probe.permission);
    }
    if probe.ok == [404] {
        return json(
            404,
            json!({"error": {"code": "resource_missing", "type": "invalid_request_error", "param": "id", "message": "No such object: 'x'"}}),
        );
    }
    if path == "/v1/balance" {
        return json(
            200,
            json!({"object": "balance", "available": [], "pending": [], "livemode": live}),
        );
    }
    list(&path)
}
