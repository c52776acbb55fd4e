//! Adyen Management API emulator: `GET /v3/me` for test and live keys, documented bodies, switchable variants.
//!
//! One server plays both Management hosts: the environment comes from the `Host` header the
//! connector sends with an endpoint override (`management-live.adyen.com` → live), or from a
//! `/live` / `/test` path prefix for manual use; anything else is the test host.
//!
//! Keys (`EmulatorKey`): `grants` = roles, `account` = company, `state` revoked/expired → 401
//! (or, with variant `revoked: inactive`, a 200 with `"active": false`); `extra`:
//! `environment: [live]`, `allowed_ips`, `allowed_origins`, `management_api: [none]` (403
//! `00_403`), `ip_refused: [true]` (401 `010`). Vendor-wide or per-key variants:
//! `unauthorized_body: rest_service_error | classic | plain_text | empty` and
//! `ip_refusal_body: classic | rest_service_error | plain_text` (UNCONFIRMED shapes).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, Hostile, KeyState};
use crate::inventory::model::Environment;

/// Response bodies quoted from `reference/vendor-apis.md` §4, each with its evidence tag.
pub mod fixtures {
    /// OBSERVED (Adyen SDK tests): a key without the needed Management API role.
    pub const FORBIDDEN_403: &str = r#"{"type":"https://docs.adyen.com/errors/forbidden","title":"Forbidden","status":403,"detail":"Not allowed","errorCode":"00_403"}"#;
    /// UNCONFIRMED (placeholder in the RestServiceError shape): Management 401.
    pub const UNAUTHORIZED_REST_401: &str = r#"{"type":"https://docs.adyen.com/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Not authorized to access this service.","errorCode":"00_401"}"#;
    /// OBSERVED (Checkout/Classic, widely quoted): 401 invalid key.
    pub const UNAUTHORIZED_CLASSIC_401: &str = r#"{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}"#;
    /// OBSERVED (3p): plain-text 401 on a body-less Checkout GET.
    pub const UNAUTHORIZED_PLAIN_401: &str = "000 HTTP Status Response - Unauthorized";
    /// OBSERVED (3p): errorCode `010` "Not allowed" (IP allow-list), in the Checkout envelope.
    pub const IP_NOT_ALLOWED_CLASSIC_401: &str =
        r#"{"status":401,"errorCode":"010","message":"Not allowed","errorType":"security"}"#;
    /// UNCONFIRMED: the `010` code in the Management RestServiceError envelope.
    pub const IP_NOT_ALLOWED_REST_401: &str = r#"{"type":"https://docs.adyen.com/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Not allowed","errorCode":"010"}"#;
    /// UNCONFIRMED: the `010` code as plain text.
    pub const IP_NOT_ALLOWED_PLAIN_401: &str = "010 Not allowed";
    /// OBSERVED (Adyen fixture, report downloads): the only 429 body seen.
    pub const TOO_MANY_429: &str = r#"{"type":"https://docs.adyen.com/errors/forbidden","errorCode":"999_429_001","title":"Forbidden","detail":"Too many download requests","status":429}"#;
    /// UNCONFIRMED: 500 in the RestServiceError shape (500 is a documented status of `/me`).
    pub const SERVER_ERROR_500: &str = r#"{"type":"https://docs.adyen.com/errors/general/internal","title":"An internal error happened","status":500,"detail":"Unexpected error.","errorCode":"00_500"}"#;
}

/// CONFIRMED shape (`MeApiCredential`, adyen-openapi): the 200 body of `GET /v3/me`.
pub fn me_body(
    company: &str,
    roles: &[&str],
    allowed_ips: &[&str],
    origins: &[&str],
    active: bool,
) -> String {
    let origins: Vec<serde_json::Value> = origins
        .iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::json!({"id": format!("S2-origin-{i}"), "domain": d,
                "_links": {"self": {"href": format!("https://management-test.adyen.com/v3/me/allowedOrigins/S2-origin-{i}")}}})
        })
        .collect();
    serde_json::json!({
        "id": "S2-6262224667",
        "username": format!("ws_123456@Company.{company}"),
        "clientKey": "test_EMULATOREMULATOREMULATOREMULAT",
        "allowedIpAddresses": allowed_ips,
        "allowedOrigins": origins,
        "roles": roles,
        "active": active,
        "companyName": company,
        "description": "vendorscope emulator credential",
        "_links": {"self": {"href": "https://management-test.adyen.com/v3/me"}}
    })
    .to_string()
}

/// The emulator as the plumbing serves it.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        vendor: super::VENDOR,
        router,
        default_keys,
        throttled,
        error,
    }
}

/// 429 (OBSERVED body, from report downloads: Management limits are UNCONFIRMED).
/// Adyen's `RestServiceError` for an injected status.
pub fn error(status: u16) -> Response {
    let (code, title, kind) = match status {
        401 => ("00_401", "Unauthorized", "security"),
        403 => ("00_403", "Forbidden", "security"),
        404 => ("00_404", "Not found", "general"),
        400..=499 => ("00_400", "Bad request", "validation"),
        _ => ("00_500", "Internal server error", "internal"),
    };
    crate::emulator::json(
        status,
        serde_json::json!({
            "type": format!("https://docs.adyen.com/errors/{kind}"),
            "errorCode": code,
            "title": title,
            "detail": format!("{title} (injected)"),
            "status": status,
        }),
    )
}

pub fn throttled(retry_after: Option<&str>) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        [("content-type", "application/json")],
        fixtures::TOO_MANY_429,
    )
        .into_response();
    if let Some(v) = retry_after.and_then(|v| axum::http::HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// Built-in synthetic keys (format-valid, obviously fake).
pub mod keys {
    /// Test key with Management, Checkout, report and key-minting roles; any IP allowed.
    pub const TEST_FULL: &str = "AQEvendorscopeEMULATORtestFULL000000001Bw==-EMULATORemulatorEMULATORemulatorEMULATOR01=-vsEmu:full01";
    /// Live key with Checkout + Account read; IP allow-list and one origin.
    pub const LIVE_CHECKOUT: &str = "AQEvendorscopeEMULATORliveCHECKOUT00002Bw==-EMULATORemulatorEMULATORemulatorEMULATOR02=-vsEmu:live02";
    /// Test key without any Management API role (Checkout only): 403 `00_403` on `/me`.
    pub const TEST_NO_MANAGEMENT: &str = "AQEvendorscopeEMULATORtestNOMGMT0000003Bw==-EMULATORemulatorEMULATORemulatorEMULATOR03=-vsEmu:nomg03";
    /// Test key whose IP allow-list refuses the caller: 401 `010`.
    pub const TEST_IP_REFUSED: &str = "AQEvendorscopeEMULATORtestIPREFUSED00004Bw==-EMULATORemulatorEMULATORemulatorEMULATOR04=-vsEmu:ipno04";
    /// Revoked test key: 401.
    pub const TEST_REVOKED: &str = "AQEvendorscopeEMULATORtestREVOKED000005Bw==-EMULATORemulatorEMULATORemulatorEMULATOR05=-vsEmu:revk05";
}

fn key(raw: &str, roles: &[&str], extra: &[(&str, &[&str])], state: KeyState) -> EmulatorKey {
    EmulatorKey {
        key: raw.into(),
        vendor: super::VENDOR.into(),
        grants: roles.iter().map(|r| r.to_string()).collect(),
        account: Some("VendorscopeDemo".into()),
        state,
        key_type: Some("api_key".into()),
        variants: BTreeMap::new(),
        extra: extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
    }
}

/// The built-in keys (see [`keys`]).
pub fn default_keys() -> Vec<EmulatorKey> {
    vec![
        key(
            keys::TEST_FULL,
            &[
                "Management API\u{2014}Account read",
                "Management API\u{2014}API credentials read and write",
                "Management API\u{2014}Webhooks read and write",
                "Checkout webservice role",
                "Merchant Report Download role",
            ],
            &[],
            KeyState::Active,
        ),
        key(
            keys::LIVE_CHECKOUT,
            &[
                "Management API\u{2014}Account read",
                "Checkout webservice role",
            ],
            &[
                ("environment", &["live"]),
                ("allowed_ips", &["203.0.113.10"]),
                ("allowed_origins", &["https://shop.example.com"]),
            ],
            KeyState::Active,
        ),
        key(
            keys::TEST_NO_MANAGEMENT,
            &["Checkout webservice role"],
            &[("management_api", &["none"])],
            KeyState::Active,
        ),
        key(
            keys::TEST_IP_REFUSED,
            &["Checkout webservice role"],
            &[
                ("ip_refused", &["true"]),
                ("allowed_ips", &["198.51.100.7"]),
            ],
            KeyState::Active,
        ),
        key(
            keys::TEST_REVOKED,
            &["Checkout webservice role"],
            &[],
            KeyState::Revoked,
        ),
    ]
}

/// The vendor routes (the plumbing adds recording, faults and write refusal).
pub fn router(state: EmuState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(st): State<EmuState>, req: Request) -> Response {
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (status, content_type, body) = respond(&st, &host, req.uri().path(), key.as_deref());
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", content_type)], body).into_response()
}

fn environment_of(host: &str, path: &str) -> (Environment, String) {
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    if let Some(rest) = path.strip_prefix("/live") {
        return (Environment::Live, rest.to_string());
    }
    if let Some(rest) = path.strip_prefix("/test") {
        return (Environment::Test, rest.to_string());
    }
    let env = if host == super::LIVE_HOST {
        Environment::Live
    } else {
        Environment::Test
    };
    (env, path.to_string())
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

fn unauthorized(st: &EmuState, k: Option<&EmulatorKey>) -> (u16, &'static str, String) {
    let body = |b: &str| b.to_string();
    let mut r = match st.variant(k, "unauthorized_body").as_deref() {
        Some("classic") => (401, JSON, body(fixtures::UNAUTHORIZED_CLASSIC_401)),
        Some("plain_text") => (401, TEXT, body(fixtures::UNAUTHORIZED_PLAIN_401)),
        Some("empty") => (401, TEXT, String::new()),
        _ => (401, JSON, body(fixtures::UNAUTHORIZED_REST_401)),
    };
    if st.echo_key()
        && let Some(k) = k
    {
        // Vendors have echoed keys in error bodies; the output filter must catch it.
        r = (
            401,
            JSON,
            format!(
                r#"{{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized: {}","errorType":"security"}}"#,
                k.key
            ),
        );
    }
    r
}

/// Answers one request: `(status, content type, body)`.
pub fn respond(
    st: &EmuState,
    host: &str,
    path: &str,
    api_key: Option<&str>,
) -> (u16, &'static str, String) {
    let (env, path) = environment_of(host, path);
    if path != super::ME_PATH {
        return (
            404,
            JSON,
            r#"{"type":"https://docs.adyen.com/errors/not-found","title":"Not found","status":404,"detail":"Resource not found","errorCode":"00_404"}"#.into(),
        );
    }
    let Some(k) = api_key.and_then(|a| st.find_key(a)) else {
        if st.echo_key()
            && let Some(a) = api_key
        {
            return (
                401,
                JSON,
                format!(
                    r#"{{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized: {a}","errorType":"security"}}"#
                ),
            );
        }
        return unauthorized(st, None);
    };
    let extra = |name: &str| k.extra.get(name).cloned().unwrap_or_default();
    let key_env = match extra("environment").first().map(String::as_str) {
        Some("live") => Environment::Live,
        _ => Environment::Test,
    };
    if key_env != env {
        return unauthorized(st, Some(&k));
    }
    let inactive = st.variant(Some(&k), "revoked").as_deref() == Some("inactive");
    if k.state != KeyState::Active && !inactive {
        return unauthorized(st, Some(&k));
    }
    if extra("ip_refused").first().map(String::as_str) == Some("true") {
        return match st.variant(Some(&k), "ip_refusal_body").as_deref() {
            Some("rest_service_error") => (401, JSON, fixtures::IP_NOT_ALLOWED_REST_401.into()),
            Some("plain_text") => (401, TEXT, fixtures::IP_NOT_ALLOWED_PLAIN_401.into()),
            _ => (401, JSON, fixtures::IP_NOT_ALLOWED_CLASSIC_401.into()),
        };
    }
    if extra("management_api").first().map(String::as_str) == Some("none") {
        return (403, JSON, fixtures::FORBIDDEN_403.into());
    }
    let hostile = |v: Vec<String>| -> Vec<String> {
        let mut v = v;
        if st.hostile(Hostile::Text) {
            v.push(st.field("", &k.key));
        }
        v
    };
    let roles = hostile(k.grants.clone());
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let ips = hostile(extra("allowed_ips"));
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    let origins = hostile(extra("allowed_origins"));
    let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
    let company = st.field(
        &k.account.clone().unwrap_or_else(|| "Company".into()),
        &k.key,
    );
    (
        200,
        JSON,
        me_body(
            &company,
            &roles,
            &ips,
            &origins,
            k.state == KeyState::Active,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::EmulatorConfig;

    fn state() -> EmuState {
        let cfg = EmulatorConfig {
            keys: default_keys(),
            ..Default::default()
        };
        EmuState::new(&spec(), &cfg)
    }

    #[test]
    fn default_keys_have_the_api_key_shape() {
        for k in default_keys() {
            assert_eq!(
                super::super::classify(&k.key),
                super::super::Shape::ApiKey,
                "{}",
                k.key
            );
        }
    }

    #[test]
    fn answers_by_environment_and_key() {
        let st = state();
        let t = super::super::TEST_HOST;
        let l = super::super::LIVE_HOST;
        assert_eq!(respond(&st, t, "/v3/me", Some(keys::TEST_FULL)).0, 200);
        assert_eq!(respond(&st, l, "/v3/me", Some(keys::TEST_FULL)).0, 401);
        assert_eq!(respond(&st, l, "/v3/me", Some(keys::LIVE_CHECKOUT)).0, 200);
        assert_eq!(
            respond(&st, "127.0.0.1:1", "/live/v3/me", Some(keys::LIVE_CHECKOUT)).0,
            200
        );
        assert_eq!(
            respond(&st, t, "/v3/me", Some(keys::TEST_NO_MANAGEMENT)).0,
            403
        );
        let r = respond(&st, t, "/v3/me", Some(keys::TEST_IP_REFUSED));
        assert_eq!(
            (r.0, r.2.as_str()),
            (401, fixtures::IP_NOT_ALLOWED_CLASSIC_401)
        );
        assert_eq!(respond(&st, t, "/v3/me", Some(keys::TEST_REVOKED)).0, 401);
        assert_eq!(respond(&st, t, "/v3/me", None).0, 401);
        assert_eq!(
            respond(&st, t, "/v3/companies", Some(keys::TEST_FULL)).0,
            404
        );
    }

    #[test]
    fn variants_switch_bodies() {
        let st = state();
        let t = super::super::TEST_HOST;
        for (v, body) in [
            ("classic", fixtures::UNAUTHORIZED_CLASSIC_401),
            ("plain_text", fixtures::UNAUTHORIZED_PLAIN_401),
            ("empty", ""),
            ("rest_service_error", fixtures::UNAUTHORIZED_REST_401),
        ] {
            st.set_variant("unauthorized_body", v);
            assert_eq!(respond(&st, t, "/v3/me", Some("AQEnope")).2, body);
        }
        st.set_variant("ip_refusal_body", "plain_text");
        assert_eq!(
            respond(&st, t, "/v3/me", Some(keys::TEST_IP_REFUSED)).2,
            fixtures::IP_NOT_ALLOWED_PLAIN_401
        );
        st.set_variant("revoked", "inactive");
        let r = respond(&st, t, "/v3/me", Some(keys::TEST_REVOKED));
        assert_eq!(r.0, 200);
        assert!(r.2.contains(r#""active":false"#));
    }
}
