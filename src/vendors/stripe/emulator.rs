//! Stripe emulator held to the 2023-08-16 contract: `/v1/account`, `/v1/balance`, every list and by-id endpoint the probe reads, restricted-key permissions, the documented 401/403/429 bodies and per-account rate limits.
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
//! - `restricted_account`: `forbidden` (default: `/v1/account` needs
//!   `rak_connected_account_read`) | `unavailable` ("not available for use by restricted keys")
//! - `publishable_status`: `401` (default) | `400` — the status of the publishable refusal
//! - `deleted_key`: `expired` (default: 401 `invalid_request_error`, `code: api_key_expired`,
//!   OBSERVED) | `invalid_api_key` (deleted keys look unknown)
//! - `rate_limit_status`: `429` (default) | `400` — how a rate limit is answered: the same
//!   OBSERVED body (`invalid_request_error`, `code: rate_limit`) with either status (the
//!   SDKs read both as a rate limit)
//! - `rate_limited`: `always` | a path (`/v1/customers`) — every request (to that path) is
//!   over the account's limit (tests the handling without racing the buckets)
//! - `webhooks_error`: a status (`500`) — `GET /v1/webhook_endpoints` answers that error
//!
//! `GET /v1/webhook_endpoints` lists the account's webhook endpoints (`extra.webhooks` of the
//! key, see [`crate::vendors::webhooks::emulated`]) with `limit` and `starting_after`; a
//! restricted key needs `rak_webhook_read`.
//!
//! Like the real API (stripe/openapi spec3 2023-09-12, API 2023-08-16): HTTP Basic auth with
//! the key as user name is accepted besides Bearer; a `Stripe-Version` other than 2023-08-16
//! is refused (the only version modelled); every query parameter is checked against the
//! endpoint's parameters in the generated contract (`contract.json`: unknown → 400
//! `parameter_unknown`, ill-typed → 400 `parameter_invalid_integer`/…, `limit` outside 1–100
//! or a value outside its enum → 400); list endpoints honour
//! `created` and answer one record full of personal data (planted: see [`PLANTED`]) when
//! nothing filters it out; a by-id GET of an unknown id is 404 `resource_missing`. Every
//! error `type` is one of the contract's enum (the SDKs' `authentication_error` is not in it;
//! the connector still reads it as a revoked key).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{API_VERSION, ENDPOINT_PER_SECOND, LIVE_PER_SECOND, READ_PROBES, TEST_PER_SECOND};
use crate::emulator::contract::Contract;
use crate::emulator::{EmuState, EmulatorKey, EmulatorSpec, KeyState, json};
use std::sync::OnceLock;

/// The emulator's registration.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        vendor: "stripe",
        router,
        default_keys,
        throttled,
        error,
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

/// The rate-limit answer: 429 (or 400 under `rate_limit_status: 400`) with the OBSERVED body
/// (stripe-node issue era: `invalid_request_error`, `code: rate_limit`). No `Retry-After` is
/// documented; the `Stripe-Rate-Limited-Reason` header is OBSERVED (3p).
fn rate_limit(status: u16, retry_after: Option<&str>) -> Response {
    let mut r = json(
        status,
        json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "doc_url": "https://stripe.com/docs/error-codes/rate-limit", "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."}}),
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

/// The 429 the plumbing's throttle faults answer with.
pub fn throttled(retry_after: Option<&str>) -> Response {
    rate_limit(429, retry_after)
}

/// The error the plumbing's failure faults answer with: the 429, else an error of a contract
/// `type` (`api_error` for 5xx, `invalid_request_error` otherwise).
pub fn error(status: u16) -> Response {
    if status == 429 {
        return throttled(None);
    }
    let kind = if status >= 500 {
        "api_error"
    } else {
        "invalid_request_error"
    };
    let message = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    json(status, json!({"error": {"type": kind, "message": message}}))
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

/// The 2023-08-16 contract (generated from Stripe's OpenAPI spec by `tools/contracts.py`):
/// every query the emulator answers is held to it.
fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| {
        Contract::parse(include_str!("contract.json")).unwrap_or(Contract { endpoints: vec![] })
    })
}

/// A list endpoint the emulator serves.
pub struct ListEndpoint {
    pub path: &'static str,
    /// The `object` of its records.
    pub object: &'static str,
}

/// Every list endpoint served, with the `object` of its records.
pub const LISTS: &[ListEndpoint] = &[
    ListEndpoint {
        path: "/v1/charges",
        object: "charge",
    },
    ListEndpoint {
        path: "/v1/refunds",
        object: "refund",
    },
    ListEndpoint {
        path: "/v1/customers",
        object: "customer",
    },
    ListEndpoint {
        path: "/v1/disputes",
        object: "dispute",
    },
    ListEndpoint {
        path: "/v1/events",
        object: "event",
    },
    ListEndpoint {
        path: "/v1/files",
        object: "file",
    },
    ListEndpoint {
        path: "/v1/file_links",
        object: "file_link",
    },
    ListEndpoint {
        path: "/v1/payment_intents",
        object: "payment_intent",
    },
    ListEndpoint {
        path: "/v1/payouts",
        object: "payout",
    },
    ListEndpoint {
        path: "/v1/balance_transactions",
        object: "balance_transaction",
    },
    ListEndpoint {
        path: "/v1/products",
        object: "product",
    },
    ListEndpoint {
        path: "/v1/prices",
        object: "price",
    },
    ListEndpoint {
        path: "/v1/coupons",
        object: "coupon",
    },
    ListEndpoint {
        path: "/v1/tax_rates",
        object: "tax_rate",
    },
    ListEndpoint {
        path: "/v1/setup_intents",
        object: "setup_intent",
    },
    ListEndpoint {
        path: "/v1/invoices",
        object: "invoice",
    },
    ListEndpoint {
        path: "/v1/invoiceitems",
        object: "invoiceitem",
    },
    ListEndpoint {
        path: "/v1/subscriptions",
        object: "subscription",
    },
    ListEndpoint {
        path: "/v1/subscription_schedules",
        object: "subscription_schedule",
    },
    ListEndpoint {
        path: "/v1/transfers",
        object: "transfer",
    },
    ListEndpoint {
        path: "/v1/application_fees",
        object: "application_fee",
    },
    ListEndpoint {
        path: "/v1/topups",
        object: "topup",
    },
    ListEndpoint {
        path: "/v1/accounts",
        object: "account",
    },
    ListEndpoint {
        path: "/v1/reporting/report_runs",
        object: "reporting.report_run",
    },
    ListEndpoint {
        path: "/v1/identity/verification_sessions",
        object: "identity.verification_session",
    },
    ListEndpoint {
        path: "/v1/identity/verification_reports",
        object: "identity.verification_report",
    },
    ListEndpoint {
        path: "/v1/reviews",
        object: "review",
    },
    ListEndpoint {
        path: "/v1/radar/value_lists",
        object: "radar.value_list",
    },
    ListEndpoint {
        path: "/v1/issuing/cards",
        object: "issuing.card",
    },
    ListEndpoint {
        path: "/v1/issuing/cardholders",
        object: "issuing.cardholder",
    },
    ListEndpoint {
        path: "/v1/issuing/authorizations",
        object: "issuing.authorization",
    },
    ListEndpoint {
        path: "/v1/issuing/transactions",
        object: "issuing.transaction",
    },
    ListEndpoint {
        path: "/v1/issuing/disputes",
        object: "issuing.dispute",
    },
    ListEndpoint {
        path: "/v1/treasury/financial_accounts",
        object: "treasury.financial_account",
    },
];

/// Every by-id GET served (a probe's collection): path, `object`, and the path parameter's
/// name in the contract (what a `resource_missing` error names as `param`). Only `expand` is
/// accepted in the query.
pub const RETRIEVALS: &[(&str, &str, &str)] = &[
    ("/v1/checkout/sessions", "checkout.session", "session"),
    ("/v1/credit_notes", "credit_note", "id"),
    ("/v1/quotes", "quote", "quote"),
    (
        "/v1/webhook_endpoints",
        "webhook_endpoint",
        "webhook_endpoint",
    ),
    ("/v1/payment_links", "payment_link", "payment_link"),
    ("/v1/payment_methods", "payment_method", "payment_method"),
    ("/v1/mandates", "mandate", "mandate"),
    (
        "/v1/financial_connections/accounts",
        "financial_connections.account",
        "account",
    ),
    (
        "/v1/sigma/scheduled_query_runs",
        "scheduled_query_run",
        "scheduled_query_run",
    ),
    (
        "/v1/radar/early_fraud_warnings",
        "radar.early_fraud_warning",
        "early_fraud_warning",
    ),
    ("/v1/tax/transactions", "tax.transaction", "transaction"),
];

/// Personal data planted in every success body (the account's owner, each list record): a
/// probe that reads no record carries none of it into any output.
pub const PLANTED: &[&str] = &[
    "owner.planted@example.com",
    "Plantedfirst",
    "Plantedlast",
    "+15550100777",
    "7 Planted Lane",
    "Plantedville",
    "Planted Holdings Ltd",
    "customer.planted@example.com",
    "Jane Plantedcustomer",
    "+15550100888",
    "9 Customer Planted Road",
];

/// `created` of every planted record: 2023-11-14T22:13:20Z.
const PLANTED_CREATED: i64 = 1_700_000_000;

fn planted_address(line1: &str) -> Value {
    json!({"line1": line1, "line2": null, "city": "Plantedville", "state": "CA", "postal_code": "94000", "country": "US"})
}

/// The `/v1/account` body: identity plus the owner's personal data the real API returns.
fn account_body(st: &EmuState, account: &str, raw: &str, live: bool) -> Value {
    json!({
        "id": st.field(account, raw),
        "object": "account",
        "livemode": live,
        "country": "US",
        "default_currency": "usd",
        "email": "owner.planted@example.com",
        "business_type": "individual",
        "business_profile": {"name": st.field("Acme", raw), "support_email": "owner.planted@example.com", "support_phone": "+15550100777"},
        "individual": {
            "first_name": "Plantedfirst",
            "last_name": "Plantedlast",
            "email": "owner.planted@example.com",
            "phone": "+15550100777",
            "dob": {"day": 7, "month": 7, "year": 1970},
            "address": planted_address("7 Planted Lane"),
        },
        "company": {"name": "Planted Holdings Ltd", "phone": "+15550100777", "address": planted_address("7 Planted Lane")},
    })
}

/// The id of the one record a collection holds.
fn planted_id(object: &str) -> String {
    let short = object.rsplit('.').next().unwrap_or(object);
    format!("{short}_plantedrecord0001")
}

/// The one record every list holds: a customer's personal data, as charges, invoices,
/// cardholders and the rest carry it.
fn planted_record(object: &str, live: bool) -> Value {
    json!({
        "id": planted_id(object),
        "object": object,
        "created": PLANTED_CREATED,
        "livemode": live,
        "email": "customer.planted@example.com",
        "name": "Jane Plantedcustomer",
        "phone": "+15550100888",
        "billing_details": {"name": "Jane Plantedcustomer", "email": "customer.planted@example.com", "phone": "+15550100888", "address": planted_address("9 Customer Planted Road")},
        "metadata": {},
    })
}

/// A 400 `invalid_request_error` in Stripe's shape (`code` and `doc_url` when there is a code).
struct Invalid {
    status: u16,
    param: String,
    code: Option<&'static str>,
    message: String,
}

impl Invalid {
    fn response(self) -> Response {
        let mut e = json!({"type": "invalid_request_error", "message": self.message});
        if !self.param.is_empty() {
            e["param"] = json!(self.param);
        }
        if let Some(c) = self.code {
            e["code"] = json!(c);
            e["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                c.replace('_', "-")
            ));
        }
        json(self.status, json!({ "error": e }))
    }
}

fn invalid(param: &str, code: Option<&'static str>, message: String) -> Invalid {
    Invalid {
        status: 400,
        param: param.to_string(),
        code,
        message,
    }
}

fn unknown(key: &str) -> Invalid {
    // OBSERVED wording: "Received unknown parameter: foo".
    invalid(
        key,
        Some("parameter_unknown"),
        format!("Received unknown parameter: {key}"),
    )
}

fn bad_integer(key: &str, value: &str) -> Invalid {
    invalid(
        key,
        Some("parameter_invalid_integer"),
        format!("Invalid integer: {value}"),
    )
}

/// What a valid query asks of a list.
#[derive(Debug, Default)]
struct Filters {
    /// `(op, bound)` pairs of `created`; `eq` for a plain integer.
    created: Vec<(String, i64)>,
    /// Any other filter or cursor: the one planted record matches none.
    other: bool,
}

impl Filters {
    /// Whether the planted record is on the page.
    fn keeps_planted(&self) -> bool {
        !self.other
            && self.created.iter().all(|(op, v)| match op.as_str() {
                "gt" => PLANTED_CREATED > *v,
                "gte" => PLANTED_CREATED >= *v,
                "lt" => PLANTED_CREATED < *v,
                "lte" => PLANTED_CREATED <= *v,
                _ => PLANTED_CREATED == *v,
            })
    }
}

/// Checks a query against the contract's parameters for `path`, as the real API does (the
/// first problem is the 400 Stripe answers), then reads what it asks of a list.
fn check_query(path: &str, query: Option<&str>) -> Result<Filters, Invalid> {
    use crate::emulator::contract::Violation as V;
    let checked = match contract().endpoint("GET", path) {
        Some((e, _)) => e.check_query(query),
        None => Err(V::NoSuchPath),
    };
    if let Err(v) = checked {
        return Err(match v {
            V::UnknownParameter(k) => unknown(&k),
            V::MissingRequired(k) => invalid(
                &k,
                Some("parameter_missing"),
                format!("Missing required param: {k}."),
            ),
            V::NotAnInteger { name, value } => bad_integer(&name, &value),
            V::NotABoolean { name, value } => invalid(
                &name,
                Some("parameter_invalid_boolean"),
                format!("Invalid boolean: {value}"),
            ),
            // Bounds CONFIRMED (docs.stripe.com/api/pagination); wording UNCONFIRMED.
            V::OutOfRange { name, value } => invalid(
                &name,
                Some("parameter_invalid_integer"),
                format!(
                    "This value must be {} (got {value}).",
                    if value < 1 {
                        "greater than or equal to 1"
                    } else {
                        "less than or equal to 100"
                    }
                ),
            ),
            V::NotInEnum { name, value } => invalid(
                &name,
                Some("parameter_invalid_string_enum"),
                format!("Invalid {name}: must be one of the documented values, got {value}"),
            ),
            V::TooLong(name) => invalid(
                &name,
                Some("parameter_invalid_string_too_long"),
                format!("Invalid {name}: too long"),
            ),
            V::NoSuchPath | V::BadPathValue { .. } => Invalid {
                status: 404,
                ..invalid(
                    "",
                    None,
                    format!(
                        "Unrecognized request URL (GET: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
                    ),
                )
            },
        });
    }
    let mut f = Filters::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.strip_prefix("created") {
            Some(rest) => {
                let op = rest.trim_start_matches('[').trim_end_matches(']');
                let n = value.parse::<i64>().unwrap_or(i64::MIN);
                f.created
                    .push((if op.is_empty() { "eq" } else { op }.to_string(), n));
            }
            None => f.other |= key != "limit" && !key.starts_with("expand"),
        }
    }
    Ok(f)
}

/// The key of an `Authorization: Bearer KEY` or `Basic base64(KEY:)` header (Stripe takes
/// the key as the Basic user name; the password is ignored).
pub fn stripe_credential(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (scheme, value) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let user = text.split(':').next().unwrap_or("");
        return (!user.is_empty()).then(|| user.to_string());
    }
    None
}

async fn handle(State(st): State<EmuState>, req: Request) -> Response {
    with_request_id(respond(&st, &req))
}

fn respond(st: &EmuState, req: &Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(raw) = stripe_credential(req.headers()) else {
        // OBSERVED: missing key.
        return json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."}}),
        );
    };
    let key = st.find_key(&raw);
    let invalid_key = || {
        // OBSERVED (stripe-node#361): prefix kept, middle masked, last 4 shown.
        json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": st.field(&format!("Invalid API Key provided: {}", shown(st, &raw, mask4(&raw))), &raw)}}),
        )
    };
    let Some(key) = key else {
        return invalid_key();
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
                Some("invalid_api_key") => invalid_key(),
                // OBSERVED: {"code":"api_key_expired","message":"Expired API Key provided: rk_test_***123"}
                _ => json(
                    401,
                    json!({"error": {"type": "invalid_request_error", "code": "api_key_expired", "message": format!("Expired API Key provided: {}", shown(st, &raw, mask4(&raw)))}}),
                ),
            };
        }
    }
    if let Some(v) = req.headers().get("stripe-version") {
        let v = v.to_str().unwrap_or("");
        if v != API_VERSION {
            // The one version modelled; Stripe's own answer to a version it does not know.
            return invalid(
                "stripe-version",
                None,
                format!("Invalid Stripe API version: {v}"),
            )
            .response();
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
    let forced = st.variant(Some(&key), "rate_limited");
    let over_limit = forced.is_some_and(|v| v == "always" || v == path)
        || st
            .leaky_bucket(&format!("global:{account}"), global, global)
            .is_err()
        || st
            .leaky_bucket(
                &format!("ep:{account}:{path}"),
                ENDPOINT_PER_SECOND,
                ENDPOINT_PER_SECOND,
            )
            .is_err();
    if over_limit {
        let status = match st.variant(Some(&key), "rate_limit_status").as_deref() {
            Some("400") => 400,
            _ => 429,
        };
        return rate_limit(status, None);
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
    let query = req.uri().query();
    if path == "/v1/account" {
        if let Err(e) = check_query(&path, query) {
            return e.response();
        }
        let permission = super::ACCOUNT_PERMISSION.0;
        if restricted && !has(permission) {
            if st.variant(Some(&key), "restricted_account").as_deref() == Some("unavailable") {
                let masked = shown(st, &key.key, mask6(&key.key));
                return json(
                    403,
                    json!({"error": {"type": "invalid_request_error", "message": format!("The provided key '{masked}' does not have the required permissions for this endpoint on account '{account}'. This is a restricted API key, but the required permissions are not available for use by restricted keys.")}}),
                );
            }
            return forbidden(st, &key, permission);
        }
        return json(200, account_body(st, &account, &raw, live));
    }
    if path == super::webhooks::PATH {
        if let Err(e) = check_query(&path, query) {
            return e.response();
        }
        if restricted && !has(super::webhooks::PERMISSION) {
            return forbidden(st, &key, super::webhooks::PERMISSION);
        }
        if let Some(status) = st
            .variant(Some(&key), "webhooks_error")
            .and_then(|v| v.parse::<u16>().ok())
        {
            return error(status);
        }
        return webhook_list(st, &key, query, live);
    }
    let Some(route) = route(&path) else {
        return json(
            404,
            json!({"error": {"type": "invalid_request_error", "message": format!("Unrecognized request URL (GET: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.")}}),
        );
    };
    let filters = match check_query(&path, query) {
        Ok(f) => f,
        Err(e) => return e.response(),
    };
    let collection = match route {
        Route::Balance => "/v1/balance",
        Route::List(l) => l.path,
        Route::Get(r, _) => r.0,
    };
    let permission = READ_PROBES
        .iter()
        .find(|p| p.path == collection)
        .map(|p| p.permission);
    if restricted && let Some(permission) = permission.filter(|p| !has(p)) {
        return forbidden(st, &key, permission);
    }
    match route {
        Route::Get((_, object, param), id) => {
            if id == planted_id(object) {
                return json(200, planted_record(object, live));
            }
            // CONFIRMED shape (specs README): 404 with code resource_missing.
            json(
                404,
                json!({"error": {"code": "resource_missing", "doc_url": "https://stripe.com/docs/error-codes/resource-missing", "type": "invalid_request_error", "param": param, "message": format!("No such {object}: '{id}'")}}),
            )
        }
        Route::List(l) => {
            // CONFIRMED (docs.stripe.com/api/pagination): the list envelope.
            let data: Vec<Value> = if filters.keeps_planted() {
                vec![planted_record(l.object, live)]
            } else {
                vec![]
            };
            json(
                200,
                json!({"object": "list", "url": path, "has_more": false, "data": data}),
            )
        }
        Route::Balance => json(
            200,
            json!({"object": "balance", "available": [{"amount": 125000, "currency": "usd", "source_types": {"card": 125000}}], "pending": [], "livemode": live}),
        ),
    }
}

/// One page of `GET /v1/webhook_endpoints` (CONFIRMED list envelope and `webhook_endpoint`
/// object, spec 2023-08-16): `limit` (default 10) records after `starting_after`.
fn webhook_list(st: &EmuState, key: &EmulatorKey, query: Option<&str>, live: bool) -> Response {
    let mut limit = 10usize;
    let mut after = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "limit" => limit = v.parse().unwrap_or(10),
            "starting_after" => after = Some(v.into_owned()),
            _ => {}
        }
    }
    let all: Vec<Value> = crate::vendors::webhooks::emulated(st, key)
        .into_iter()
        .map(|w| {
            json!({
                "id": format!("we_{}", w.id), "object": "webhook_endpoint", "api_version": null,
                "application": null, "created": PLANTED_CREATED, "description": null,
                "enabled_events": ["charge.succeeded", "customer.created"], "livemode": live,
                "metadata": {}, "status": if w.active { "enabled" } else { "disabled" },
                "url": w.url,
            })
        })
        .collect();
    let start = match after {
        Some(a) => match all.iter().position(|w| w["id"] == a.as_str()) {
            Some(i) => i + 1,
            None => {
                return invalid(
                    "starting_after",
                    Some("resource_missing"),
                    format!("No such webhook_endpoint: '{a}'"),
                )
                .response();
            }
        },
        None => 0,
    };
    let data: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + data.len() < all.len();
    json(
        200,
        json!({"object": "list", "url": super::webhooks::PATH, "has_more": has_more, "data": data}),
    )
}

/// What a path (other than `/v1/account`) asks for.
#[derive(Clone, Copy)]
enum Route<'a> {
    Balance,
    List(&'static ListEndpoint),
    /// A by-id GET: the collection's entry and the id.
    Get(&'static (&'static str, &'static str, &'static str), &'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == "/v1/balance" {
        return Some(Route::Balance);
    }
    if let Some(l) = LISTS.iter().find(|l| l.path == path) {
        return Some(Route::List(l));
    }
    let (parent, id) = path.rsplit_once('/')?;
    let r = RETRIEVALS.iter().find(|r| r.0 == parent)?;
    (!id.is_empty()).then_some(Route::Get(r, id))
}
