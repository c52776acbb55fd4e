//! Adyen Management API emulator: `GET /v3/me` for test and live keys, documented bodies, switchable variants.
//!
//! One server plays both Management hosts: the environment comes from the `Host` header the
//! connector sends with an endpoint override (`management-live.adyen.com` → live), or from a
//! `/live` / `/test` path prefix for manual use; anything else is the test host.
//!
//! As the contract (adyen-openapi ManagementService-v3) says:
//! - both security schemes authenticate: `X-API-Key: <API key>` (`ApiKeyAuth`) and HTTP Basic
//!   with the API credential's username and password (`BasicAuth`). The password is its own
//!   secret, set apart from the API key: Basic with an API key as the password (or the
//!   username) authenticates nothing and gets the 401;
//! - the 200 is a `MeApiCredential` whose `_links` carry `company` for a company-level
//!   credential and `merchant` for a merchant-level one; its `description` and `subjectDN`
//!   carry a key holder's personal data (the values of [`crate::emulator::PLANTED_PII`]), as a
//!   real credential's may;
//! - every error body is a `RestServiceError` (`type, errorCode, title, detail, status`),
//!   the 401 of an IP allow-list refusal too (errorCode `010`);
//! - `/me` takes no query parameter: any is a 400 (wording UNCONFIRMED; the real API may
//!   ignore it, the emulator refuses it so a connector sending one fails its tests).
//!
//! Keys (`EmulatorKey`): `grants` = roles, `account` = company account id, `state`
//! revoked/expired → 401 (or, with variant `revoked: inactive`, a 200 with `"active": false`);
//! `extra`: `environment: [live]`, `allowed_ips`, `allowed_origins`, `management_api: [none]`
//! (403 `00_403`), `ip_refused: [true]` (401 `010`), `merchant_id: [M]` (a merchant-level
//! credential of merchant account M), `company_name`, `username` (default
//! `ws@Company.<account>`), `basic_password` (Basic auth accepted with username + password).
//! `GET /v3/companies/{companyId}/webhooks` and `/v3/merchants/{merchantId}/webhooks` list the
//! account's webhooks (`extra.webhooks`, see [`crate::vendors::webhooks::emulated`]) for a key
//! with a "Management API—Webhooks read" role and its own company or merchant id (403 `00_403`
//! otherwise), paged with `pageNumber`/`pageSize`; variant `webhooks_error: <status>` answers
//! that error instead.
//! Vendor-wide or per-key variants: `unauthorized_body: rest_service_error | classic |
//! plain_text | empty` and `ip_refusal_body: rest_service_error | classic | plain_text`; the
//! shapes other than `rest_service_error` are OBSERVED on Adyen's Checkout/Classic APIs, not in
//! the Management contract ([`OFF_CONTRACT_VARIANTS`]).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, Hostile, KeyState, planted};
use crate::inventory::model::Environment;

/// Response bodies quoted from `reference/vendor-apis.md` §4, each with its evidence tag.
pub mod fixtures {
    /// OBSERVED (Adyen SDK tests): a key without the needed Management API role.
    pub const FORBIDDEN_403: &str = r#"{"type":"https://docs.adyen.com/errors/forbidden","title":"Forbidden","status":403,"detail":"Not allowed","errorCode":"00_403"}"#;
    /// UNCONFIRMED wording, CONFIRMED shape (RestServiceError): Management 401.
    pub const UNAUTHORIZED_REST_401: &str = r#"{"type":"https://docs.adyen.com/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Not authorized to access this service.","errorCode":"00_401"}"#;
    /// OBSERVED (Checkout/Classic, widely quoted): 401 invalid key. Not a RestServiceError.
    pub const UNAUTHORIZED_CLASSIC_401: &str = r#"{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}"#;
    /// OBSERVED (3p): plain-text 401 on a body-less Checkout GET. Not a RestServiceError.
    pub const UNAUTHORIZED_PLAIN_401: &str = "000 HTTP Status Response - Unauthorized";
    /// OBSERVED (3p): errorCode `010` "Not allowed" (IP allow-list), in the Checkout envelope.
    /// Not a RestServiceError.
    pub const IP_NOT_ALLOWED_CLASSIC_401: &str =
        r#"{"status":401,"errorCode":"010","message":"Not allowed","errorType":"security"}"#;
    /// UNCONFIRMED wording, CONFIRMED shape: the `010` code as the contract's RestServiceError.
    pub const IP_NOT_ALLOWED_REST_401: &str = r#"{"type":"https://docs.adyen.com/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Not allowed","errorCode":"010"}"#;
    /// UNCONFIRMED: the `010` code as plain text. Not a RestServiceError.
    pub const IP_NOT_ALLOWED_PLAIN_401: &str = "010 Not allowed";
    /// OBSERVED (Adyen fixture, report downloads): the only 429 body seen.
    pub const TOO_MANY_429: &str = r#"{"type":"https://docs.adyen.com/errors/forbidden","errorCode":"999_429_001","title":"Forbidden","detail":"Too many download requests","status":429}"#;
    /// UNCONFIRMED: 500 in the RestServiceError shape (500 is a documented status of `/me`).
    pub const SERVER_ERROR_500: &str = r#"{"type":"https://docs.adyen.com/errors/general/internal","title":"An internal error happened","status":500,"detail":"Unexpected error.","errorCode":"00_500"}"#;
    /// UNCONFIRMED wording, CONFIRMED shape: an unknown path.
    pub const NOT_FOUND_404: &str = r#"{"type":"https://docs.adyen.com/errors/not-found","title":"Not found","status":404,"detail":"Resource not found","errorCode":"00_404"}"#;
}

/// Variant values whose bodies are outside the Management contract (OBSERVED on other Adyen
/// APIs): contract tests of emulator responses leave them out.
pub const OFF_CONTRACT_VARIANTS: &[(&str, &str)] = &[
    ("unauthorized_body", "classic"),
    ("unauthorized_body", "plain_text"),
    ("unauthorized_body", "empty"),
    ("ip_refusal_body", "classic"),
    ("ip_refusal_body", "plain_text"),
];

/// One credential as `/me` describes it.
pub struct Me<'a> {
    pub env: Environment,
    /// The credential id (`S2-…`).
    pub id: &'a str,
    pub username: &'a str,
    /// Company account id (`_links.company` of a company-level credential) and `companyName`.
    pub company: &'a str,
    pub company_name: &'a str,
    /// Merchant account id of a merchant-level credential (`_links.merchant`, no `company`).
    pub merchant: Option<&'a str>,
    pub roles: &'a [&'a str],
    pub allowed_ips: &'a [&'a str],
    pub origins: &'a [&'a str],
    pub active: bool,
}

/// CONFIRMED shape (`MeApiCredential`, adyen-openapi): the 200 body of `GET /v3/me`, with
/// every required field, the links of its level and planted personal data.
pub fn me_body(me: &Me<'_>) -> String {
    let base = format!("https://{}/v3", super::host(me.env));
    let origins: Vec<serde_json::Value> = me
        .origins
        .iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::json!({"id": format!("S2-origin-{i}"), "domain": d,
                "_links": {"self": {"href": format!("{base}/me/allowedOrigins/S2-origin-{i}")}}})
        })
        .collect();
    let mut links = serde_json::json!({
        "self": {"href": format!("{base}/me")},
        "allowedOrigins": {"href": format!("{base}/me/allowedOrigins")},
        "generateClientKey": {"href": format!("{base}/me/generateClientKey")},
    });
    let level = match me.merchant {
        Some(m) => ("merchant", format!("{base}/merchants/{m}")),
        None => ("company", format!("{base}/companies/{}", me.company)),
    };
    links[level.0] = serde_json::json!({ "href": level.1 });
    let (holder, email) = (planted("name"), planted("email"));
    serde_json::json!({
        "id": me.id,
        "username": me.username,
        "clientKey": "test_EMULATOREMULATOREMULATOREMULAT",
        "allowedIpAddresses": me.allowed_ips,
        "allowedOrigins": origins,
        "roles": me.roles,
        "active": me.active,
        "companyName": me.company_name,
        "description": format!("{holder} {email}"),
        "subjectDN": format!(
            "CN={holder},E={email},TEL={},STREET={},L={},O={}",
            planted("phone"),
            planted("address1"),
            planted("city"),
            me.company_name
        ),
        "_links": links
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

/// The error the plumbing's failure faults answer with: a `RestServiceError` for the status.
pub fn error(status: u16) -> Response {
    if status == 429 {
        return throttled(None);
    }
    let body = match status {
        401 => fixtures::UNAUTHORIZED_REST_401.to_string(),
        403 => fixtures::FORBIDDEN_403.to_string(),
        404 => fixtures::NOT_FOUND_404.to_string(),
        500 => fixtures::SERVER_ERROR_500.to_string(),
        s => {
            let reason = StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Error");
            rest_error(s, "general/internal", reason, reason, &format!("00_{s}"))
        }
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", JSON)], body).into_response()
}

/// Built-in synthetic keys (format-valid, obviously fake).
pub mod keys {
    /// Company-level test key with Management, Checkout, report and key-minting roles; any IP
    /// allowed; Basic auth with [`TEST_FULL_USERNAME`] and [`TEST_FULL_PASSWORD`].
    pub const TEST_FULL: &str = "AQEvendorscopeEMULATORtestFULL000000001Bw==-EMULATORemulatorEMULATORemulatorEMULATOR01=-vsEmu:full01";
    /// The API credential of [`TEST_FULL`].
    pub const TEST_FULL_USERNAME: &str = "ws_100001@Company.VendorscopeDemo";
    /// Its Basic-auth password (a secret of its own, not the API key).
    pub const TEST_FULL_PASSWORD: &str = "vsEmu-basic-password-01";
    /// Merchant-level live key (merchant account [`LIVE_MERCHANT`]) with Checkout + Account
    /// read; IP allow-list and one origin.
    pub const LIVE_CHECKOUT: &str = "AQEvendorscopeEMULATORliveCHECKOUT00002Bw==-EMULATORemulatorEMULATORemulatorEMULATOR02=-vsEmu:live02";
    /// The merchant account of [`LIVE_CHECKOUT`].
    pub const LIVE_MERCHANT: &str = "VendorscopeDemoECOM";
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
                "Management API\u{2014}Users read and write",
                "Management API\u{2014}Webhooks read and write",
                "Checkout webservice role",
                "Merchant Report Download role",
            ],
            &[
                ("username", &[keys::TEST_FULL_USERNAME]),
                ("basic_password", &[keys::TEST_FULL_PASSWORD]),
                // A company credential limited to the merchant account of `LIVE_CHECKOUT`: the
                // audit lists that merchant's own credentials too.
                ("associated_merchants", &[keys::LIVE_MERCHANT]),
                ("company_name", &["Vendorscope Demo B.V."]),
            ],
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
                ("merchant_id", &[keys::LIVE_MERCHANT]),
                ("username", &["ws_100002@Company.VendorscopeDemo"]),
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

/// How a request authenticates (CONFIRMED security schemes `ApiKeyAuth` and `BasicAuth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// `X-API-Key` (wins when both are sent).
    ApiKey(String),
    /// `Authorization: Basic` with the decoded username and password.
    Basic {
        username: String,
        password: String,
    },
}

impl Auth {
    /// From the request headers; a malformed `Basic` value is `None` (and so a 401).
    pub fn of(headers: &HeaderMap) -> Auth {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if let Some(k) = h("x-api-key") {
            return Auth::ApiKey(k.to_string());
        }
        let basic = h("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        match basic.as_deref().and_then(|b| b.split_once(':')) {
            Some((u, p)) => Auth::Basic {
                username: u.to_string(),
                password: p.to_string(),
            },
            None => Auth::None,
        }
    }

    /// The raw API key, if that is how the request authenticates.
    fn api_key(&self) -> Option<&str> {
        match self {
            Auth::ApiKey(k) => Some(k),
            _ => None,
        }
    }
}

fn first_extra(k: &EmulatorKey, name: &str) -> Option<String> {
    k.extra.get(name).and_then(|v| v.first()).cloned()
}

fn username_of(k: &EmulatorKey) -> String {
    first_extra(k, "username")
        .unwrap_or_else(|| format!("ws@Company.{}", k.account.as_deref().unwrap_or("Company")))
}

/// The key a request authenticates as: by API key, or by the credential's username and its
/// own Basic password (never by an API key sent as a password).
fn find(st: &EmuState, auth: &Auth) -> Option<EmulatorKey> {
    match auth {
        Auth::None => None,
        Auth::ApiKey(k) => st.find_key(k),
        Auth::Basic { username, password } => st.key_where(|k| {
            username_of(k) == *username
                && k.extra
                    .get("basic_password")
                    .is_some_and(|p| p.contains(password))
        }),
    }
}

async fn handle(State(st): State<EmuState>, req: Request) -> Response {
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let auth = Auth::of(req.headers());
    let (status, content_type, body) =
        respond(&st, &host, req.uri().path(), req.uri().query(), &auth);
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

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// A `RestServiceError` body.
fn rest_error(status: u16, kind: &str, title: &str, detail: &str, code: &str) -> String {
    serde_json::json!({
        "type": format!("https://docs.adyen.com/errors/{kind}"),
        "title": title,
        "status": status,
        "detail": detail,
        "errorCode": code,
    })
    .to_string()
}

fn unauthorized(
    st: &EmuState,
    k: Option<&EmulatorKey>,
    auth: &Auth,
) -> (u16, &'static str, String) {
    if st.echo_key()
        && let Some(raw) = auth.api_key()
    {
        // Vendors have echoed keys in error bodies; the output filter must catch it.
        let detail = format!("Not authorized to access this service with API key {raw}");
        return (
            401,
            JSON,
            rest_error(401, "unauthorized", "Unauthorized", &detail, "00_401"),
        );
    }
    let body = |b: &str| b.to_string();
    match st.variant(k, "unauthorized_body").as_deref() {
        Some("classic") => (401, JSON, body(fixtures::UNAUTHORIZED_CLASSIC_401)),
        Some("plain_text") => (401, TEXT, body(fixtures::UNAUTHORIZED_PLAIN_401)),
        Some("empty") => (401, TEXT, String::new()),
        _ => (401, JSON, body(fixtures::UNAUTHORIZED_REST_401)),
    }
}

/// Answers one request: `(status, content type, body)`.
pub fn respond(
    st: &EmuState,
    host: &str,
    path: &str,
    query: Option<&str>,
    auth: &Auth,
) -> (u16, &'static str, String) {
    let (env, path) = environment_of(host, path);
    let webhooks = webhook_path(&path);
    let list = super::credentials_emulator::route(&path);
    if path != super::ME_PATH && webhooks.is_none() && list.is_none() {
        return (404, JSON, fixtures::NOT_FOUND_404.into());
    }
    let Some(k) = find(st, auth) else {
        return unauthorized(st, None, auth);
    };
    let extra = |name: &str| k.extra.get(name).cloned().unwrap_or_default();
    let key_env = match first_extra(&k, "environment").as_deref() {
        Some("live") => Environment::Live,
        _ => Environment::Test,
    };
    if key_env != env {
        return unauthorized(st, Some(&k), auth);
    }
    let inactive = st.variant(Some(&k), "revoked").as_deref() == Some("inactive");
    if k.state != KeyState::Active && !inactive {
        return unauthorized(st, Some(&k), auth);
    }
    if first_extra(&k, "ip_refused").as_deref() == Some("true") {
        return match st.variant(Some(&k), "ip_refusal_body").as_deref() {
            Some("classic") => (401, JSON, fixtures::IP_NOT_ALLOWED_CLASSIC_401.into()),
            Some("plain_text") => (401, TEXT, fixtures::IP_NOT_ALLOWED_PLAIN_401.into()),
            _ => (401, JSON, fixtures::IP_NOT_ALLOWED_REST_401.into()),
        };
    }
    if let Some((level, id)) = webhooks {
        return webhook_list(st, &k, level, &id, query);
    }
    if let Some(route) = &list {
        return super::credentials_emulator::answer(st, &k, env, route, query);
    }
    if let Some((name, _)) = url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).next() {
        let detail = format!("Unrecognized query parameter: {name}");
        return (
            400,
            JSON,
            rest_error(400, "general/bad-request", "Bad request", &detail, "00_400"),
        );
    }
    if first_extra(&k, "management_api").as_deref() == Some("none") {
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
    let ips = hostile(extra("allowed_ips"));
    let origins = hostile(extra("allowed_origins"));
    let account = k.account.clone().unwrap_or_else(|| "Company".into());
    let company = st.field(&account, &k.key);
    let company_name = first_extra(&k, "company_name").unwrap_or_else(|| account.clone());
    let merchant = first_extra(&k, "merchant_id").map(|m| st.field(&m, &k.key));
    let username = username_of(&k);
    let id = super::credentials_emulator::credential_id(&k);
    let body = me_body(&Me {
        env,
        id: &id,
        username: &username,
        company: &company,
        company_name: &company_name,
        merchant: merchant.as_deref(),
        roles: &refs(&roles),
        allowed_ips: &refs(&ips),
        origins: &refs(&origins),
        active: k.state == KeyState::Active,
    });
    (200, JSON, body)
}

/// `("companies" | "merchants", id)` of a webhook list path.
fn webhook_path(path: &str) -> Option<(&'static str, String)> {
    let rest = path.strip_prefix("/v3/")?;
    let (level, rest) = rest.split_once('/')?;
    let (id, tail) = rest.split_once('/')?;
    let level = match level {
        "companies" => "companies",
        "merchants" => "merchants",
        _ => return None,
    };
    (tail == "webhooks" && !id.is_empty()).then(|| {
        let id: String = url::form_urlencoded::parse(id.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect();
        (level, id)
    })
}

/// One page of a `ListWebhooksResponse` (CONFIRMED shape).
fn webhook_list(
    st: &EmuState,
    k: &EmulatorKey,
    level: &str,
    id: &str,
    query: Option<&str>,
) -> (u16, &'static str, String) {
    let bad = |detail: String| {
        (
            400,
            JSON,
            rest_error(400, "general/bad-request", "Bad request", &detail, "00_400"),
        )
    };
    let (mut number, mut size) = (1usize, 10usize);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let n = value.parse::<usize>().ok().filter(|n| *n >= 1);
        match (name.as_ref(), n) {
            ("pageNumber", Some(n)) => number = n,
            ("pageSize", Some(n)) => size = n.min(100),
            ("pageNumber" | "pageSize", None) => {
                return bad(format!("Invalid value for {name}: {value}"));
            }
            _ => return bad(format!("Unrecognized query parameter: {name}")),
        }
    }
    let roles = super::capabilities_for(&k.grants);
    let may = roles.iter().any(|c| {
        c == crate::vendors::capability::WEBHOOKS_READ
            || c == crate::vendors::capability::WEBHOOKS_MANAGE
    });
    // A merchant-level credential sees its own merchant account; a company-level one its
    // company and (as Adyen's company credentials do) the company's merchant accounts, whose
    // webhooks are `extra.merchant_webhooks` (none by default).
    let merchant_key = first_extra(k, "merchant_id");
    let own = match (level, &merchant_key) {
        ("merchants", Some(m)) => m == id,
        ("merchants", None) => true,
        (_, Some(_)) => false,
        _ => k.account.as_deref() == Some(id),
    };
    if first_extra(k, "management_api").as_deref() == Some("none") || !may || !own {
        return (403, JSON, fixtures::FORBIDDEN_403.into());
    }
    if let Some(status) = st
        .variant(Some(k), "webhooks_error")
        .and_then(|v| v.parse::<u16>().ok())
    {
        let body = match status {
            429 => fixtures::TOO_MANY_429.to_string(),
            _ => rest_error(
                status,
                "general/internal",
                "An internal error happened",
                "Unexpected error.",
                &format!("00_{status}"),
            ),
        };
        return (status, JSON, body);
    }
    let listed = if level == "merchants" && merchant_key.is_none() {
        let mut company_view = k.clone();
        let hooks = k.extra.get("merchant_webhooks").cloned();
        company_view.extra.insert(
            "webhooks".into(),
            hooks.unwrap_or_else(|| vec!["none".into()]),
        );
        crate::vendors::webhooks::emulated(st, &company_view)
    } else {
        crate::vendors::webhooks::emulated(st, k)
    };
    let all: Vec<serde_json::Value> = listed
        .into_iter()
        .map(|w| {
            serde_json::json!({
                "id": format!("S2-{}", w.id), "type": "standard", "url": w.url,
                "active": w.active, "communicationFormat": "json", "hasPassword": true,
                "username": "vendorscope-webhook", "description": "order events",
            })
        })
        .collect();
    let (data, _) = crate::vendors::webhooks::page(&all, number, size);
    let pages = all.len().div_ceil(size).max(1);
    let base = format!("/v3/{level}/{id}/webhooks");
    let body = serde_json::json!({
        "_links": {"self": {"href": format!("{base}?pageNumber={number}&pageSize={size}")}},
        "itemsTotal": all.len(),
        "pagesTotal": pages,
        "data": data,
    });
    (200, JSON, body.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::emulator::EmulatorConfig;

    /// An emulator state with the built-in keys (also for the list emulator's tests).
    pub(crate) fn state() -> EmuState {
        let cfg = EmulatorConfig {
            keys: default_keys(),
            ..Default::default()
        };
        EmuState::new(&spec(), &cfg)
    }

    fn key(k: &str) -> Auth {
        Auth::ApiKey(k.into())
    }

    fn basic(user: &str, password: &str) -> Auth {
        Auth::Basic {
            username: user.into(),
            password: password.into(),
        }
    }

    const T: &str = super::super::TEST_HOST;
    const L: &str = super::super::LIVE_HOST;

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
        let r = |host, path, auth: Auth| respond(&st, host, path, None, &auth);
        assert_eq!(r(T, "/v3/me", key(keys::TEST_FULL)).0, 200);
        assert_eq!(r(L, "/v3/me", key(keys::TEST_FULL)).0, 401);
        assert_eq!(r(L, "/v3/me", key(keys::LIVE_CHECKOUT)).0, 200);
        assert_eq!(
            r("127.0.0.1:1", "/live/v3/me", key(keys::LIVE_CHECKOUT)).0,
            200
        );
        assert_eq!(r(T, "/v3/me", key(keys::TEST_NO_MANAGEMENT)).0, 403);
        let a = r(T, "/v3/me", key(keys::TEST_IP_REFUSED));
        assert_eq!(
            (a.0, a.2.as_str()),
            (401, fixtures::IP_NOT_ALLOWED_REST_401)
        );
        assert_eq!(r(T, "/v3/me", key(keys::TEST_REVOKED)).0, 401);
        assert_eq!(r(T, "/v3/me", Auth::None).0, 401);
        assert_eq!(r(T, "/v3/companies", key(keys::TEST_FULL)).0, 404);
        assert_eq!(
            r(
                T,
                "/v3/companies/VendorscopeDemo/apiCredentials",
                key(keys::TEST_FULL)
            )
            .0,
            200
        );
    }

    #[test]
    fn links_name_the_company_or_the_merchant() {
        let st = state();
        let me = |host, k| {
            let (_, _, b) = respond(&st, host, "/v3/me", None, &key(k));
            serde_json::from_str::<serde_json::Value>(&b).expect("json")
        };
        let company = me(T, keys::TEST_FULL);
        assert_eq!(
            company["_links"]["company"]["href"],
            "https://management-test.adyen.com/v3/companies/VendorscopeDemo"
        );
        assert!(company["_links"].get("merchant").is_none());
        let merchant = me(L, keys::LIVE_CHECKOUT);
        assert_eq!(
            merchant["_links"]["merchant"]["href"],
            "https://management-live.adyen.com/v3/merchants/VendorscopeDemoECOM"
        );
        assert!(merchant["_links"].get("company").is_none());
        for v in [company, merchant] {
            for f in [
                "id",
                "username",
                "clientKey",
                "allowedIpAddresses",
                "roles",
                "active",
            ] {
                assert!(v.get(f).is_some(), "required {f}");
            }
            let text = v.to_string();
            for m in ["name", "email", "phone", "address1", "city"] {
                assert!(text.contains(planted(m)), "{m}: {text}");
            }
        }
    }

    #[test]
    fn basic_auth_takes_the_credential_password_not_the_api_key() {
        let st = state();
        let r = |auth: Auth| respond(&st, T, "/v3/me", None, &auth);
        let ok = r(basic(keys::TEST_FULL_USERNAME, keys::TEST_FULL_PASSWORD));
        assert_eq!(ok.0, 200);
        assert_eq!(
            ok.2,
            r(key(keys::TEST_FULL)).2,
            "same credential either way"
        );
        for wrong in [
            basic(keys::TEST_FULL_USERNAME, keys::TEST_FULL),
            basic(keys::TEST_FULL, ""),
            basic(keys::TEST_FULL_USERNAME, "wrong"),
            basic(
                "ws_100002@Company.VendorscopeDemo",
                keys::TEST_FULL_PASSWORD,
            ),
        ] {
            let a = r(wrong.clone());
            assert_eq!(
                (a.0, a.2.as_str()),
                (401, fixtures::UNAUTHORIZED_REST_401),
                "{wrong:?}"
            );
        }
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            keys::TEST_FULL_USERNAME,
            keys::TEST_FULL_PASSWORD
        ));
        h.insert(
            "authorization",
            format!("Basic {enc}").parse().expect("header"),
        );
        assert_eq!(
            Auth::of(&h),
            basic(keys::TEST_FULL_USERNAME, keys::TEST_FULL_PASSWORD)
        );
        h.insert("authorization", "Basic !!!".parse().expect("header"));
        assert_eq!(Auth::of(&h), Auth::None);
    }

    #[test]
    fn unknown_query_parameter_is_a_rest_service_error_400() {
        let st = state();
        let (status, _, body) =
            respond(&st, T, "/v3/me", Some("pageSize=1"), &key(keys::TEST_FULL));
        assert_eq!(status, 400);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        for f in ["type", "errorCode", "title", "detail", "status"] {
            assert!(v.get(f).is_some(), "{f}: {body}");
        }
        assert!(body.contains("pageSize"));
    }

    #[test]
    fn variants_switch_bodies() {
        let st = state();
        for (v, body) in [
            ("classic", fixtures::UNAUTHORIZED_CLASSIC_401),
            ("plain_text", fixtures::UNAUTHORIZED_PLAIN_401),
            ("empty", ""),
            ("rest_service_error", fixtures::UNAUTHORIZED_REST_401),
        ] {
            st.set_variant("unauthorized_body", v);
            assert_eq!(respond(&st, T, "/v3/me", None, &key("AQEnope")).2, body);
        }
        for (v, body) in [
            ("plain_text", fixtures::IP_NOT_ALLOWED_PLAIN_401),
            ("classic", fixtures::IP_NOT_ALLOWED_CLASSIC_401),
        ] {
            st.set_variant("ip_refusal_body", v);
            assert_eq!(
                respond(&st, T, "/v3/me", None, &key(keys::TEST_IP_REFUSED)).2,
                body
            );
        }
        st.set_variant("revoked", "inactive");
        let r = respond(&st, T, "/v3/me", None, &key(keys::TEST_REVOKED));
        assert_eq!(r.0, 200);
        assert!(r.2.contains(r#""active":false"#));
    }
}
