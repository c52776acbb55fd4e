//! Iterable API emulator: US and EU data centres, four key types, JWT-enabled client keys, documented errors and limits.
//!
//! One server plays both hosts: the region comes from the `Host` header the connector sends
//! with an endpoint override (`api.eu.iterable.com` → EU), or a `/eu` / `/us` path prefix for
//! manual use; anything else is the US host.
//!
//! Keys (`EmulatorKey`): `key_type` = `server_side | read_only | client_side | mobile`
//! (`javascript` = `client_side`), `account` = project (rate buckets are per project),
//! `state` revoked/expired → 401 `BadApiKey`; `extra`: `region: [eu]`, `jwt: [true]`.
//! Variants (vendor-wide or per key; every UNCONFIRMED behaviour has a switch):
//! - `wrong_type: bad_api_key | forbidden` — a valid key of the wrong type gets 401
//!   `BadApiKey` (default) or 403 `Forbidden`;
//! - `invalid_get_fields: unauthorized | fields_null` — an invalid key on `getFields` gets 401
//!   (default) or a 200 `{"fields":null}` (OBSERVED by a third-party verifier);
//! - `jwt_error: bad_authorization_header | invalid_jwt_payload`;
//! - `bad_api_key_params: ip | null`;
//! - `read_only_export: refused | allowed` (whether read-only keys may export: UNCONFIRMED);
//! - `retry_after: <seconds> | none` on the emulator's own 429s (default `60`, the fixture's);
//! - `read_only_webhooks: allowed | refused` (whether read-only keys may list webhooks:
//!   UNCONFIRMED; default allowed); `webhooks_error: <status>` — `GET /api/webhooks` answers
//!   that error;
//! - `ignores_filters: true` (and every answer under `--hostile planted-pii`) — a project that
//!   answers as if the probes' empty-result filters matched: in-app messages for the probe
//!   address and export rows carry a person's data (the values of
//!   [`crate::emulator::PLANTED_PII`]), which no output of a probe may contain.
//!
//! As the contract (Iterable api-client swagger) says: a query parameter an endpoint does not
//! declare, a missing required one (`count`; `email` or `userId`; `dataTypeName`; `range` or
//! both date-times), an integer that is not one, or a value outside an enum (`dataTypeName`,
//! `range`, `platform`) is a 400 `IterableApiResponse` with code `BadParams` (wording
//! UNCONFIRMED; for unknown parameters the real API may be lenient, the emulator refuses them
//! so a connector sending one fails its tests). Error bodies are `IterableApiResponse`s (`msg`,
//! `code`, and `params` only as an object); the OBSERVED `"params": null` and `{"fields":null}`
//! forms are variants outside the contract ([`OFF_CONTRACT_VARIANTS`]).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Region;
use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, Hostile, KeyState, planted};

/// Response bodies quoted from `reference/vendor-apis.md` §2, each with its evidence tag.
pub mod fixtures {
    /// CONFIRMED shape (`{"fields":{…}}`, swagger); the field list is the 2020 shop's: order
    /// e-mails still carried the customer's name, address and phone into the profile.
    pub const GET_FIELDS_200: &str = r#"{"fields":{"email":"string","userId":"string","signupDate":"date","firstName":"string","lastName":"string","phoneNumber":"string","shippingAddress.city":"string","shippingAddress.zip":"string"}}"#;
    /// OBSERVED (3p verifier treats it as an invalid key): a 200 with null fields.
    pub const FIELDS_NULL_200: &str = r#"{"fields":null}"#;
    /// OBSERVED (Iterable api-client tests, a captured response): invalid or revoked key.
    pub const BAD_API_KEY_401_PARAMS: &str = r#"{"msg":"Invalid API key","code":"BadApiKey","params":{"ip":"192.184.158.61","endpoint":"/api/experiments/metrics"}}"#;
    /// OBSERVED (other api-client fixtures): the same with `"params":null`.
    pub const BAD_API_KEY_401_NULL: &str =
        r#"{"msg":"Invalid API key","code":"BadApiKey","params":null}"#;
    /// CONFIRMED shape (`ErrorHttpResponse`, snippet endpoints): 401 "Unauthorized".
    pub const UNAUTHORIZED_SNIPPET_401: &str =
        r#"{"code":"Unauthorized","data":null,"error":{"status":401},"message":"Unauthorized"}"#;
    /// Code CONFIRMED (response enum); wording UNCONFIRMED: a wrong key type as 403.
    pub const FORBIDDEN_403: &str = r#"{"msg":"This endpoint is forbidden with this API key type. Please use a server-side key.","code":"Forbidden"}"#;
    /// Code CONFIRMED (enum), 401 CONFIRMED (JWT article), wording UNCONFIRMED: no JWT sent.
    pub const JWT_BAD_HEADER_401: &str = r#"{"msg":"JWT authorization header is missing or malformed","code":"BadAuthorizationHeader"}"#;
    /// Code CONFIRMED (enum), wording UNCONFIRMED: an invalid JWT.
    pub const JWT_INVALID_PAYLOAD_401: &str =
        r#"{"msg":"Invalid JWT payload","code":"InvalidJwtPayload"}"#;
    /// UNCONFIRMED shape: no in-app messages for an unknown user.
    pub const IN_APP_EMPTY_200: &str = r#"{"inAppMessages":[]}"#;
    /// OBSERVED (api-client test fixture, sent with `retry-after: 60`).
    pub const RATE_LIMITED_429: &str =
        r#"{"msg":"Exceeded rate limit.","code":"RateLimitExceeded"}"#;
    /// CONFIRMED envelope (vendor-apis.md §2.3): bad parameters, as quoted (the emulator's own
    /// 400s name the parameter, with `params` as an object).
    pub const BAD_PARAMS_400: &str =
        r#"{"msg":"Invalid parameters","code":"BadParams","params":null}"#;
    /// OBSERVED (api-client test): unknown paths answer an HTML page.
    pub const NOT_FOUND_404_HTML: &str = "<!DOCTYPE html><html><head><title>Action not found</title></head><body><h1>Action not found</h1></body></html>";
}

/// Variant values whose bodies are outside the contract's schemas (OBSERVED forms): contract
/// tests of emulator responses leave them out.
pub const OFF_CONTRACT_VARIANTS: &[(&str, &str)] = &[
    ("bad_api_key_params", "null"),
    ("invalid_get_fields", "fields_null"),
];

/// Query parameter types of the swagger (`type`, `format`, `enum`).
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Int32,
    Int64,
    Enum(&'static [&'static str]),
    /// `yyyy-MM-dd HH:mm:ss [ZZ]` (export date-times).
    DateTime,
}

/// `dataTypeName` of `GET /api/export/data.json` (swagger enum).
pub const DATA_TYPE_NAMES: &[&str] = &[
    "emailSend",
    "emailOpen",
    "emailClick",
    "hostedUnsubscribeClick",
    "emailComplaint",
    "emailBounce",
    "emailSendSkip",
    "pushSend",
    "pushOpen",
    "pushUninstall",
    "pushBounce",
    "pushSendSkip",
    "inAppSend",
    "inAppOpen",
    "inAppClick",
    "inAppClose",
    "inAppDelete",
    "inAppDelivery",
    "inAppSendSkip",
    "inAppRecall",
    "inboxSession",
    "inboxMessageImpression",
    "smsSend",
    "smsBounce",
    "smsClick",
    "smsReceived",
    "smsSendSkip",
    "webPushSend",
    "webPushClick",
    "webPushSendSkip",
    "rcsSend",
    "rcsSendSkip",
    "emailSubscribe",
    "emailUnSubscribe",
    "purchase",
    "customEvent",
    "user",
    "smsUsageInfo",
    "embeddedSend",
    "embeddedSendSkip",
    "embeddedClick",
    "embeddedReceived",
    "embeddedImpression",
    "embeddedSession",
    "unknownSession",
    "journeyExit",
    "whatsAppBounce",
    "whatsAppClick",
    "whatsAppReceived",
    "whatsAppSeen",
    "whatsAppSend",
    "whatsAppSendSkip",
    "whatsAppUsageInfo",
];

/// The query parameters each emulated endpoint declares (swagger).
fn declared(path: &str) -> &'static [(&'static str, Ty)] {
    const MESSAGES: &[(&str, Ty)] = &[
        ("email", Ty::Str),
        ("userId", Ty::Str),
        ("count", Ty::Int32),
        ("SDKVersion", Ty::Str),
        ("packageName", Ty::Str),
        ("platform", Ty::Enum(&["iOS", "Android", "Web", "OTT"])),
    ];
    match path {
        "/api/inApp/getMessages" => MESSAGES,
        // The web variant takes no `platform`.
        "/api/inApp/web/getMessages" => &MESSAGES[..5],
        "/api/export/data.json" => &[
            ("dataTypeName", Ty::Enum(DATA_TYPE_NAMES)),
            (
                "range",
                Ty::Enum(&["Today", "Yesterday", "BeforeToday", "All"]),
            ),
            ("startDateTime", Ty::DateTime),
            ("endDateTime", Ty::DateTime),
            ("omitFields", Ty::Str),
            ("onlyFields", Ty::Str),
            ("campaignId", Ty::Int64),
        ],
        _ => &[],
    }
}

fn valid_date_time(v: &str) -> bool {
    let (date_time, zone) = v.split_at(v.len().min(19));
    let shape = date_time.len() == 19
        && date_time.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    let zone = zone.trim_start();
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() >= 5
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'));
    shape && zone_ok
}

/// The 400 for a bad parameter: an `IterableApiResponse` with code `BadParams`.
fn bad_params(msg: &str, name: &str) -> Answer {
    json(
        400,
        serde_json::json!({"msg": msg, "code": "BadParams", "params": {"parameter": name}})
            .to_string(),
    )
}

/// The query parameters, or the 400 the contract calls for.
fn checked_params(path: &str, query: Option<&str>) -> Result<BTreeMap<String, String>, Answer> {
    let declared = declared(path);
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let Some((_, ty)) = declared.iter().find(|(n, _)| *n == k) else {
            return Err(bad_params(&format!("Unknown parameter: {k}"), &k));
        };
        let ok = match ty {
            Ty::Str => true,
            Ty::Int32 => v.parse::<i32>().is_ok(),
            Ty::Int64 => v.parse::<i64>().is_ok(),
            Ty::Enum(values) => values.contains(&v.as_ref()),
            Ty::DateTime => valid_date_time(&v),
        };
        if !ok {
            return Err(bad_params(
                &format!("Invalid value for parameter {k}: {v}"),
                &k,
            ));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    let has = |n: &str| out.contains_key(n);
    let missing = match path {
        "/api/inApp/getMessages" | "/api/inApp/web/getMessages" => {
            if !has("count") {
                Some("count")
            } else if !has("email") && !has("userId") {
                Some("email")
            } else {
                None
            }
        }
        "/api/export/data.json" => {
            if !has("dataTypeName") {
                Some("dataTypeName")
            } else if !(has("range") || (has("startDateTime") && has("endDateTime"))) {
                Some("range")
            } else {
                None
            }
        }
        _ => None,
    };
    match missing {
        Some(n) => Err(bad_params(&format!("Missing required parameter: {n}"), n)),
        None => Ok(out),
    }
}

/// One in-app message holding a person's planted data (`ignores_filters`).
fn planted_message() -> serde_json::Value {
    let (name, email, phone, street) = (
        planted("name"),
        planted("email"),
        planted("phone"),
        planted("address1"),
    );
    serde_json::json!({
        "messageId": "vsEmuPlantedMessage01",
        "campaignId": 424242,
        "createdAt": "2026-11-30T10:00:00.000Z",
        "jsonOnly": false,
        "messageType": {"name": "Mobile"},
        "typeOfContent": {"name": "Static"},
        "read": false,
        "saveToInbox": true,
        "content": {
            "html": format!("<p>Hi {name}, your parcel to {street} is on its way. Questions? {phone}</p>"),
            "webInAppDisplaySettings": {}
        },
        "customPayload": {"email": email, "phone": phone, "address": street},
        "inboxMetadata": {"title": format!("For {name}"), "subtitle": email}
    })
}

/// Export rows holding a person's planted data (`ignores_filters`), one JSON object per line.
fn planted_export_rows() -> String {
    serde_json::json!({"email": planted("email"), "dataFields": {"firstName": planted("firstName"),
        "lastName": planted("lastName"), "phoneNumber": planted("phoneNumber"),
        "address1": planted("address1"), "city": planted("city")},
        "signupDate": "2026-01-02 03:04:05 +00:00"})
    .to_string()
        + "\n"
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

/// 429 with the OBSERVED body (whether the real API sends `Retry-After` is UNCONFIRMED).
pub fn throttled(retry_after: Option<&str>) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        [("content-type", "application/json")],
        fixtures::RATE_LIMITED_429,
    )
        .into_response();
    if let Some(v) = retry_after.and_then(|v| axum::http::HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// The error the plumbing's failure faults answer with: an `IterableApiResponse` whose code
/// fits the status.
pub fn error(status: u16) -> Response {
    if status == 429 {
        return throttled(Some("60"));
    }
    let body = match status {
        401 => r#"{"msg":"Invalid API key","code":"BadApiKey"}"#,
        403 => fixtures::FORBIDDEN_403,
        404 => r#"{"msg":"Not found","code":"NotFound"}"#,
        400 => r#"{"msg":"Invalid parameters","code":"BadParams"}"#,
        _ => r#"{"msg":"Internal error","code":"GenericError"}"#,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], body).into_response()
}

/// Built-in synthetic keys (32 lowercase hex, obviously patterned).
pub mod keys {
    /// Server-side key, US project `demo-us`.
    pub const SERVER_US: &str = "5e5e5e5e00000000000000000000a001";
    /// Read-only key, US project `demo-us`.
    pub const READ_ONLY_US: &str = "5e5e5e5e00000000000000000000a002";
    /// JavaScript key without JWT, US (the 2020 pattern when embedded in a site).
    pub const JS_NO_JWT_US: &str = "5e5e5e5e00000000000000000000a003";
    /// JavaScript key with JWT, US.
    pub const JS_JWT_US: &str = "5e5e5e5e00000000000000000000a004";
    /// Mobile key without JWT, US.
    pub const MOBILE_US: &str = "5e5e5e5e00000000000000000000a005";
    /// Server-side key, EU project `demo-eu`.
    pub const SERVER_EU: &str = "5e5e5e5e00000000000000000000e001";
    /// Revoked server-side key, US.
    pub const REVOKED_US: &str = "5e5e5e5e00000000000000000000dead";
}

fn key(
    raw: &str,
    key_type: &str,
    project: &str,
    extra: &[(&str, &str)],
    state: KeyState,
) -> EmulatorKey {
    EmulatorKey {
        key: raw.into(),
        vendor: super::VENDOR.into(),
        grants: vec![key_type.into()],
        account: Some(project.into()),
        state,
        key_type: Some(key_type.into()),
        variants: BTreeMap::new(),
        extra: extra
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
    }
}

/// The built-in keys (see [`keys`]).
pub fn default_keys() -> Vec<EmulatorKey> {
    vec![
        key(
            keys::SERVER_US,
            "server_side",
            "demo-us",
            &[],
            KeyState::Active,
        ),
        key(
            keys::READ_ONLY_US,
            "read_only",
            "demo-us",
            &[],
            KeyState::Active,
        ),
        key(
            keys::JS_NO_JWT_US,
            "client_side",
            "demo-us",
            &[],
            KeyState::Active,
        ),
        key(
            keys::JS_JWT_US,
            "client_side",
            "demo-us",
            &[("jwt", "true")],
            KeyState::Active,
        ),
        key(keys::MOBILE_US, "mobile", "demo-us", &[], KeyState::Active),
        key(
            keys::SERVER_EU,
            "server_side",
            "demo-eu",
            &[("region", "eu")],
            KeyState::Active,
        ),
        key(
            keys::REVOKED_US,
            "server_side",
            "demo-us",
            &[],
            KeyState::Revoked,
        ),
    ]
}

/// The vendor routes (the plumbing adds recording, faults and write refusal).
pub fn router(state: EmuState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// One answer before it becomes HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub retry_after: Option<String>,
}

fn json(status: u16, body: impl Into<String>) -> Answer {
    Answer {
        status,
        content_type: "application/json",
        body: body.into(),
        retry_after: None,
    }
}

async fn handle(State(st): State<EmuState>, req: Request) -> Response {
    let h = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let a = respond(
        &st,
        h("host").as_deref().unwrap_or(""),
        req.uri().path(),
        req.uri().query(),
        h("api-key").as_deref(),
        h("authorization").as_deref(),
    );
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, [("content-type", a.content_type)], a.body).into_response();
    if let Some(v) = a
        .retry_after
        .and_then(|v| axum::http::HeaderValue::from_str(&v).ok())
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

fn region_of(host: &str, path: &str) -> (Region, String) {
    if let Some(rest) = path.strip_prefix("/eu/") {
        return (Region::Eu, format!("/{rest}"));
    }
    if let Some(rest) = path.strip_prefix("/us/") {
        return (Region::Us, format!("/{rest}"));
    }
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    let r = if host == super::EU_HOST {
        Region::Eu
    } else {
        Region::Us
    };
    (r, path.to_string())
}

fn bad_key(st: &EmuState, k: Option<&EmulatorKey>, path: &str, raw: Option<&str>) -> Answer {
    if st.echo_key()
        && let Some(raw) = raw
    {
        return json(
            401,
            format!(
                r#"{{"msg":"Invalid API key {raw}","code":"BadApiKey","params":{{"apiKey":"{raw}","endpoint":"{path}"}}}}"#
            ),
        );
    }
    match st.variant(k, "bad_api_key_params").as_deref() {
        Some("null") => json(401, fixtures::BAD_API_KEY_401_NULL),
        _ => json(
            401,
            serde_json::json!({"msg": st.field("Invalid API key", raw.unwrap_or_default()), "code": "BadApiKey",
                "params": {"ip": "192.184.158.61", "endpoint": path}})
            .to_string(),
        ),
    }
}

fn wrong_type(st: &EmuState, k: &EmulatorKey, path: &str) -> Answer {
    match st.variant(Some(k), "wrong_type").as_deref() {
        Some("forbidden") => json(403, fixtures::FORBIDDEN_403),
        _ => bad_key(st, Some(k), path, None),
    }
}

/// Answers one request.
pub fn respond(
    st: &EmuState,
    host: &str,
    path: &str,
    query: Option<&str>,
    api_key: Option<&str>,
    authorization: Option<&str>,
) -> Answer {
    let (region, path) = region_of(host, path);
    let known = [
        "/api/users/getFields",
        "/api/lists",
        "/api/inApp/getMessages",
        "/api/inApp/web/getMessages",
        "/api/export/data.json",
        super::webhooks::PATH,
    ];
    if !known.contains(&path.as_str()) {
        return Answer {
            status: 404,
            content_type: "text/html",
            body: fixtures::NOT_FOUND_404_HTML.into(),
            retry_after: None,
        };
    }
    let k = api_key.and_then(|a| st.find_key(a));
    let key_region = k
        .as_ref()
        .and_then(|k| k.extra.get("region"))
        .and_then(|v| v.first())
        .map(|r| if r == "eu" { Region::Eu } else { Region::Us })
        .unwrap_or(Region::Us);
    let Some(k) = k.filter(|k| k.state == KeyState::Active && key_region == region) else {
        if path == "/api/users/getFields"
            && st.variant(None, "invalid_get_fields").as_deref() == Some("fields_null")
        {
            return json(200, fixtures::FIELDS_NULL_200);
        }
        return bad_key(st, None, &path, api_key);
    };
    let key_type = match k.key_type.as_deref() {
        Some("javascript") | Some("client_side") => "client_side",
        Some(t) => t,
        None => "server_side",
    };
    let allowed = match (path.as_str(), key_type) {
        (_, "server_side") => true,
        ("/api/users/getFields" | "/api/lists", "read_only") => true,
        ("/api/export/data.json", "read_only") => {
            st.variant(Some(&k), "read_only_export").as_deref() == Some("allowed")
        }
        ("/api/webhooks", "read_only") => {
            st.variant(Some(&k), "read_only_webhooks").as_deref() != Some("refused")
        }
        ("/api/inApp/getMessages", "client_side" | "mobile") => true,
        ("/api/inApp/web/getMessages", "client_side") => true,
        _ => false,
    };
    if !allowed {
        return wrong_type(st, &k, &path);
    }
    let jwt_key = k
        .extra
        .get("jwt")
        .and_then(|v| v.first())
        .map(String::as_str)
        == Some("true");
    if jwt_key && path.starts_with("/api/inApp/") {
        let bearer = authorization.and_then(|a| a.strip_prefix("Bearer "));
        // The emulator never issues JWTs: any bearer is an invalid payload.
        return match (bearer, st.variant(Some(&k), "jwt_error").as_deref()) {
            (Some(_), _) | (None, Some("invalid_jwt_payload")) => {
                json(401, fixtures::JWT_INVALID_PAYLOAD_401)
            }
            _ => json(401, fixtures::JWT_BAD_HEADER_401),
        };
    }
    // Parameters are checked before the rate limit: a refused request is not counted.
    if let Err(a) = checked_params(&path, query) {
        return a;
    }
    let project = k.account.clone().unwrap_or_else(|| "project".into());
    let (bucket, capacity, leak) = match path.as_str() {
        "/api/users/getFields" => ("getFields", 3.0, 3.0),
        "/api/export/data.json" => ("export", 4.0, 4.0 / 60.0),
        _ => ("get", 100.0, 100.0),
    };
    if st
        .leaky_bucket(&format!("{project}:{bucket}"), capacity, leak)
        .is_err()
    {
        let mut a = json(429, fixtures::RATE_LIMITED_429);
        a.retry_after = match st.variant(Some(&k), "retry_after").as_deref() {
            Some("none") => None,
            Some(v) => Some(v.to_string()),
            None => Some("60".into()),
        };
        return a;
    }
    let planted = st.hostile(Hostile::PlantedPii)
        || st.variant(Some(&k), "ignores_filters").as_deref() == Some("true");
    if path == super::webhooks::PATH {
        if let Some(status) = st
            .variant(Some(&k), "webhooks_error")
            .and_then(|v| v.parse::<u16>().ok())
        {
            return Answer {
                status,
                content_type: "application/json",
                body: serde_json::json!({"msg": "Internal error", "code": "GenericError", "params": {}})
                    .to_string(),
                retry_after: None,
            };
        }
        // CONFIRMED shape: GetWebhooksResponse {webhooks: [ApiWebhookResponse]}.
        let hooks: Vec<serde_json::Value> = crate::vendors::webhooks::emulated(st, &k)
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                serde_json::json!({
                    "id": w.id.parse::<i64>().unwrap_or(9000 + i as i64), "endpoint": w.url,
                    "enabled": w.active, "authType": "NoAuth", "blastSendEnabled": true,
                    "triggeredSendEnabled": true, "channelIds": [], "messageTypeIds": [],
                })
            })
            .collect();
        return json(200, serde_json::json!({ "webhooks": hooks }).to_string());
    }
    match path.as_str() {
        "/api/users/getFields" if st.hostile(Hostile::Text) => json(
            200,
            serde_json::json!({"fields": {"email": "string", st.field("name", &k.key): st.field("string", &k.key)}})
                .to_string(),
        ),
        "/api/users/getFields" => json(200, fixtures::GET_FIELDS_200),
        "/api/lists" => json(200, r#"{"lists":[]}"#),
        "/api/inApp/getMessages" | "/api/inApp/web/getMessages" if planted => json(
            200,
            serde_json::json!({"inAppMessages": [planted_message()]}).to_string(),
        ),
        "/api/inApp/getMessages" | "/api/inApp/web/getMessages" => {
            json(200, fixtures::IN_APP_EMPTY_200)
        }
        _ => Answer {
            status: 200,
            content_type: "application/x-json-stream",
            body: if planted {
                planted_export_rows()
            } else {
                String::new()
            },
            retry_after: None,
        },
    }
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

    const US: &str = super::super::US_HOST;
    const EU: &str = super::super::EU_HOST;
    const MSG_Q: &str = "email=vendorscope-probe%40invalid.example&count=1";
    const EXPORT_Q: &str = "dataTypeName=user&startDateTime=2999-01-01+00%3A00%3A00+%2B00%3A00&endDateTime=2999-01-01+00%3A00%3A01+%2B00%3A00&onlyFields=email";

    #[test]
    fn parameters_are_held_to_the_contract() {
        let st = state();
        let r = |path, q: &str| {
            let a = respond(&st, US, path, Some(q), Some(keys::SERVER_US), None);
            (a.status, a.body)
        };
        let ok = [
            ("/api/inApp/getMessages", MSG_Q),
            ("/api/inApp/getMessages", "userId=u1&count=5&platform=iOS"),
            (
                "/api/inApp/web/getMessages",
                "email=a%40b.example&count=1&SDKVersion=6.2.17",
            ),
            ("/api/export/data.json", EXPORT_Q),
            (
                "/api/export/data.json",
                "dataTypeName=emailSend&range=All&campaignId=7",
            ),
        ];
        for (path, q) in ok {
            assert_eq!(r(path, q).0, 200, "{path}?{q}");
        }
        let bad = [
            ("/api/users/getFields", "limit=1", "limit"),
            (
                "/api/inApp/getMessages",
                "email=a%40b.example&count=1&foo=1",
                "foo",
            ),
            (
                "/api/inApp/getMessages",
                "email=a%40b.example&count=one",
                "count",
            ),
            ("/api/inApp/getMessages", "email=a%40b.example", "count"),
            ("/api/inApp/getMessages", "count=1", "email"),
            (
                "/api/inApp/getMessages",
                "email=a%40b.example&count=1&platform=ios",
                "platform",
            ),
            (
                "/api/inApp/web/getMessages",
                "email=a%40b.example&count=1&platform=Web",
                "platform",
            ),
            (
                "/api/export/data.json",
                "dataTypeName=users&range=Today",
                "dataTypeName",
            ),
            (
                "/api/export/data.json",
                "dataTypeName=user&range=Tomorrow",
                "range",
            ),
            ("/api/export/data.json", "dataTypeName=user", "range"),
            (
                "/api/export/data.json",
                "dataTypeName=user&startDateTime=2999-01-01",
                "startDateTime",
            ),
            ("/api/export/data.json", "range=Today", "dataTypeName"),
            (
                "/api/export/data.json",
                "dataTypeName=user&range=All&campaignId=x",
                "campaignId",
            ),
        ];
        for (path, q, name) in bad {
            let (status, body) = r(path, q);
            assert_eq!(status, 400, "{path}?{q}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["code"], "BadParams", "{body}");
            assert!(v["msg"].is_string(), "{body}");
            assert_eq!(v["params"]["parameter"], name, "{path}?{q}");
        }
    }

    #[test]
    fn planted_data_only_when_filters_are_ignored() {
        let st = state();
        let body = |path, q| respond(&st, US, path, Some(q), Some(keys::SERVER_US), None).body;
        let planted = |b: &str| b.contains(crate::emulator::planted("email"));
        assert!(!planted(&body("/api/inApp/getMessages", MSG_Q)));
        assert!(!planted(&body("/api/export/data.json", EXPORT_Q)));
        st.set_variant("ignores_filters", "true");
        assert!(planted(&body("/api/inApp/getMessages", MSG_Q)));
        assert!(planted(&body("/api/export/data.json", EXPORT_Q)));
    }

    #[test]
    fn default_keys_have_the_shape() {
        for k in default_keys() {
            assert!(super::super::classify(&k.key), "{}", k.key);
        }
    }

    #[test]
    fn types_regions_and_variants() {
        let st = state();
        let r = |host, path, q, key| respond(&st, host, path, q, Some(key), None).status;
        assert_eq!(r(US, "/api/users/getFields", None, keys::SERVER_US), 200);
        assert_eq!(r(EU, "/api/users/getFields", None, keys::SERVER_US), 401);
        assert_eq!(r(EU, "/api/users/getFields", None, keys::SERVER_EU), 200);
        assert_eq!(r(US, "/api/users/getFields", None, keys::REVOKED_US), 401);
        assert_eq!(r(US, "/api/users/getFields", None, keys::JS_NO_JWT_US), 401);
        assert_eq!(
            r(
                US,
                "/api/inApp/getMessages",
                Some(MSG_Q),
                keys::JS_NO_JWT_US
            ),
            200
        );
        assert_eq!(
            r(US, "/api/inApp/getMessages", None, keys::JS_NO_JWT_US),
            400
        );
        assert_eq!(
            r(
                US,
                "/api/inApp/web/getMessages",
                Some(MSG_Q),
                keys::MOBILE_US
            ),
            401
        );
        let a = respond(
            &st,
            US,
            "/api/inApp/getMessages",
            Some(MSG_Q),
            Some(keys::JS_JWT_US),
            None,
        );
        assert_eq!(
            (a.status, a.body.as_str()),
            (401, fixtures::JWT_BAD_HEADER_401)
        );
        st.set_variant("wrong_type", "forbidden");
        assert_eq!(r(US, "/api/users/getFields", None, keys::MOBILE_US), 403);
        assert_eq!(
            r(
                US,
                "/api/export/data.json",
                Some("dataTypeName=user&range=Today"),
                keys::READ_ONLY_US
            ),
            403
        );
        st.set_variant("invalid_get_fields", "fields_null");
        let a = respond(
            &st,
            US,
            "/api/users/getFields",
            None,
            Some("00000000000000000000000000000000"),
            None,
        );
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, fixtures::FIELDS_NULL_200)
        );
        assert_eq!(r(US, "/api/nope", None, keys::SERVER_US), 404);
    }

    #[test]
    fn documented_limits() {
        let st = state();
        let q = Some(EXPORT_Q);
        for _ in 0..4 {
            assert_eq!(
                respond(
                    &st,
                    US,
                    "/api/export/data.json",
                    q,
                    Some(keys::SERVER_US),
                    None
                )
                .status,
                200
            );
        }
        let a = respond(
            &st,
            US,
            "/api/export/data.json",
            q,
            Some(keys::SERVER_US),
            None,
        );
        assert_eq!((a.status, a.retry_after.as_deref()), (429, Some("60")));
    }
}
