//! Stripe connector: `sk_`/`rk_`/`pk_` shapes; `sk_` is unrestricted, `rk_` is probed endpoint by endpoint with GETs, `pk_` gets one harmless GET. Never a POST.
//!
//! Reference: vendor-apis.md §3. Write permissions cannot be observed without a write, so a
//! granted read leaves the matching write capabilities in `unverifiable` ("write implies
//! read": a 403 on the read rules the write out).

pub mod emulator;
pub mod webhooks;

use futures::FutureExt;
use futures::future::BoxFuture;
use regex::Regex;
use std::sync::OnceLock;
use url::Url;

use super::capability as cap;
use super::{Classification, Connector, PlannedCall, ProbeInput};
use crate::http::{Auth, BodyRead, Client, HttpError, RateSpec, Request, Response};
use crate::inventory::model::{Environment, KeyType};
use crate::run::{KeyProfile, KeyStatus};
use crate::secret::Secret;
use reqwest::header::{HeaderName, HeaderValue};

/// The Stripe connector.
pub struct Stripe;

pub const OFFICIAL_HOSTS: &[&str] = &["api.stripe.com"];
/// CONFIRMED (docs.stripe.com/rate-limits): 100 req/s live, 25 req/s test, 25 req/s per endpoint.
pub const LIVE_PER_SECOND: f64 = 100.0;
pub const TEST_PER_SECOND: f64 = 25.0;
pub const ENDPOINT_PER_SECOND: f64 = 25.0;
/// The API version every request pins with `Stripe-Version`: the version of the contract the
/// probes are checked against (stripe/openapi `spec3` 2023-09-12, API 2023-08-16). Without it
/// each account's default version would decide which parameters exist.
pub const API_VERSION: &str = "2023-08-16";
/// 2100-01-01T00:00:00Z: a `created[gte]` filter no object matches (empty result pages).
pub const FAR_FUTURE: i64 = 4_102_444_800;

/// How a read probe asks so that a successful answer carries no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `GET path`, no query: an answer without records (`/v1/balance`: amounts per currency).
    Plain,
    /// `GET path?limit=1&created[gte]=FAR_FUTURE`: a list page no object can match.
    EmptyList,
    /// `GET path/ID` of a well-formed id that cannot exist, where the list takes no `created`
    /// filter in [`API_VERSION`]: the permitted answer is 404 `resource_missing`.
    MissingId(&'static str),
}

/// One read probe: endpoint, how it asks, the permission it needs, and what it grants.
pub struct ReadProbe {
    /// The list (or collection) path; a [`Ask::MissingId`] probe appends its id.
    pub path: &'static str,
    pub ask: Ask,
    /// The `rak_*` permission (docs.stripe.com/keys/permissions-reference where named there,
    /// trufflehog `restricted.yaml` otherwise; UNCONFIRMED where marked).
    pub permission: &'static str,
    pub capabilities: &'static [&'static str],
    /// Write capabilities a granted read leaves open (never probed).
    pub writes: &'static [&'static str],
}

impl ReadProbe {
    /// Path and query of the GET this probe sends.
    pub fn target(&self) -> (String, String) {
        match self.ask {
            Ask::Plain => (self.path.to_string(), String::new()),
            Ask::EmptyList => (self.path.to_string(), empty_list_query()),
            Ask::MissingId(id) => (format!("{}/{id}", self.path), String::new()),
        }
    }
}

/// `limit=1&created[gte]=FAR_FUTURE`: the query of every [`Ask::EmptyList`] probe.
pub fn empty_list_query() -> String {
    format!("limit=1&created[gte]={FAR_FUTURE}")
}

const fn list(
    path: &'static str,
    permission: &'static str,
    capabilities: &'static [&'static str],
    writes: &'static [&'static str],
) -> ReadProbe {
    ReadProbe {
        path,
        ask: Ask::EmptyList,
        permission,
        capabilities,
        writes,
    }
}

const fn by_id(
    path: &'static str,
    id: &'static str,
    permission: &'static str,
    capabilities: &'static [&'static str],
    writes: &'static [&'static str],
) -> ReadProbe {
    ReadProbe {
        path,
        ask: Ask::MissingId(id),
        permission,
        capabilities,
        writes,
    }
}

/// The restricted-key probe set: every read of personal, financial or bulk data in
/// [`API_VERSION`], plus the core resources. Each asks so that success carries no record.
pub const READ_PROBES: &[ReadProbe] = &[
    ReadProbe {
        path: "/v1/balance",
        ask: Ask::Plain,
        permission: "rak_balance_read",
        capabilities: &[cap::PAYOUTS_READ],
        writes: &[],
    },
    // Refunds live under the Charges permission (Stripe names no refund permission).
    list(
        "/v1/charges",
        "rak_charge_read",
        &[cap::PAYMENTS_READ, cap::CUSTOMERS_READ],
        &[cap::PAYMENTS_WRITE, cap::REFUNDS_WRITE],
    ),
    list(
        "/v1/refunds",
        "rak_charge_read",
        &[cap::PAYMENTS_READ],
        &[cap::REFUNDS_WRITE],
    ),
    list(
        "/v1/customers",
        "rak_customer_read",
        &[cap::CUSTOMERS_READ, cap::CUSTOMERS_EXPORT],
        &[cap::CUSTOMERS_WRITE],
    ),
    list(
        "/v1/disputes",
        "rak_dispute_read",
        &[cap::DISPUTES_READ],
        &[],
    ),
    list(
        "/v1/events",
        "rak_event_read",
        &[cap::EVENTS_READ, cap::CUSTOMERS_READ, cap::PAYMENTS_READ],
        &[],
    ),
    list("/v1/files", "rak_file_read", &[cap::FILES_READ], &[]),
    // Permission UNCONFIRMED: file links are read with the Files permission.
    list("/v1/file_links", "rak_file_read", &[cap::FILES_READ], &[]),
    list(
        "/v1/payment_intents",
        "rak_payment_intent_read",
        &[cap::PAYMENTS_READ],
        &[cap::PAYMENTS_WRITE],
    ),
    list(
        "/v1/payouts",
        "rak_payout_read",
        &[cap::PAYOUTS_READ],
        &[cap::PAYOUTS_WRITE],
    ),
    // Permission UNCONFIRMED: balance transactions are read with the Balance permission
    // (`rak_balance_transaction_source_read` only expands their `source`).
    list(
        "/v1/balance_transactions",
        "rak_balance_read",
        &[cap::PAYOUTS_READ],
        &[],
    ),
    list(
        "/v1/products",
        "rak_product_read",
        &[cap::CATALOG_READ],
        &[cap::CATALOG_WRITE],
    ),
    list(
        "/v1/prices",
        "rak_plan_read",
        &[cap::CATALOG_READ],
        &[cap::CATALOG_WRITE],
    ),
    list("/v1/coupons", "rak_coupon_read", &[cap::CATALOG_READ], &[]),
    list(
        "/v1/tax_rates",
        "rak_tax_rate_read",
        &[cap::CATALOG_READ],
        &[],
    ),
    list(
        "/v1/setup_intents",
        "rak_setup_intent_read",
        &[cap::PAYMENTS_READ],
        &[],
    ),
    // Scope name assumed (trufflehog's row has none): UNCONFIRMED.
    list(
        "/v1/invoices",
        "rak_invoice_read",
        &[cap::BILLING_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    // Permission UNCONFIRMED: invoice items are read with the Invoices permission.
    list(
        "/v1/invoiceitems",
        "rak_invoice_read",
        &[cap::BILLING_READ],
        &[],
    ),
    list(
        "/v1/subscriptions",
        "rak_subscription_read",
        &[cap::BILLING_READ],
        &[],
    ),
    // Permission UNCONFIRMED: schedules are read with the Subscriptions permission.
    list(
        "/v1/subscription_schedules",
        "rak_subscription_read",
        &[cap::BILLING_READ],
        &[],
    ),
    list(
        "/v1/transfers",
        "rak_transfer_read",
        &[cap::PAYOUTS_READ],
        &[cap::PAYOUTS_WRITE],
    ),
    list(
        "/v1/application_fees",
        "rak_application_fee_read",
        &[cap::PAYOUTS_READ],
        &[],
    ),
    list("/v1/topups", "rak_topup_read", &[cap::PAYOUTS_READ], &[]),
    // CONFIRMED (docs.stripe.com/keys/permissions-reference): connected_account_read.
    list(
        "/v1/accounts",
        "rak_connected_account_read",
        &[cap::CONNECTED_ACCOUNTS_READ],
        &[],
    ),
    list(
        "/v1/reporting/report_runs",
        "rak_financial_statement_read",
        &[cap::REPORTS_DOWNLOAD],
        &[],
    ),
    // Sessions and reports share one permission (trufflehog "Verification Sessions and Reports").
    list(
        "/v1/identity/verification_sessions",
        "rak_identity_product_read",
        &[cap::IDENTITY_READ],
        &[],
    ),
    list(
        "/v1/identity/verification_reports",
        "rak_identity_product_read",
        &[cap::IDENTITY_READ],
        &[],
    ),
    list("/v1/reviews", "rak_review_read", &[cap::PAYMENTS_READ], &[]),
    // Permission UNCONFIRMED (named after the resource): value lists hold customers'
    // e-mails, IP addresses and card fingerprints.
    list(
        "/v1/radar/value_lists",
        "rak_radar_value_list_read",
        &[cap::CUSTOMERS_READ],
        &[],
    ),
    list(
        "/v1/issuing/cards",
        "rak_issuing_card_read",
        &[cap::ISSUING_READ],
        &[],
    ),
    list(
        "/v1/issuing/cardholders",
        "rak_issuing_cardholder_read",
        &[cap::ISSUING_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    list(
        "/v1/issuing/authorizations",
        "rak_issuing_authorization_read",
        &[cap::ISSUING_READ, cap::PAYMENTS_READ],
        &[],
    ),
    list(
        "/v1/issuing/transactions",
        "rak_issuing_transaction_read",
        &[cap::ISSUING_READ, cap::PAYMENTS_READ],
        &[],
    ),
    list(
        "/v1/issuing/disputes",
        "rak_issuing_dispute_read",
        &[cap::ISSUING_READ, cap::DISPUTES_READ],
        &[],
    ),
    // Permission UNCONFIRMED (named after the resource, as Stripe names its permissions).
    list(
        "/v1/treasury/financial_accounts",
        "rak_treasury_financial_account_read",
        &[cap::BANK_ACCOUNTS_READ],
        &[],
    ),
    // By id: these lists take no `created` filter in API 2023-08-16.
    by_id(
        "/v1/checkout/sessions",
        "cs_vendorscopeprobe0000000000",
        "rak_checkout_session_read",
        &[cap::PAYMENTS_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    by_id(
        "/v1/credit_notes",
        "cn_vendorscopeprobe0000000000",
        "rak_credit_note_read",
        &[cap::BILLING_READ],
        &[],
    ),
    by_id(
        "/v1/quotes",
        "qt_vendorscopeprobe0000000000",
        "rak_quote_read",
        &[cap::BILLING_READ],
        &[],
    ),
    by_id(
        "/v1/webhook_endpoints",
        "we_vendorscopeprobe0000000000",
        "rak_webhook_read",
        &[cap::WEBHOOKS_READ],
        &[cap::WEBHOOKS_MANAGE],
    ),
    by_id(
        "/v1/payment_links",
        "plink_vendorscopeprobe0000000000",
        "rak_payment_links_read",
        &[cap::CATALOG_READ],
        &[],
    ),
    by_id(
        "/v1/payment_methods",
        "pm_vendorscopeprobe0000000000",
        "rak_payment_method_read",
        &[cap::PAYMENTS_READ],
        &[],
    ),
    by_id(
        "/v1/mandates",
        "mandate_vendorscopeprobe0000000000",
        "rak_mandate_read",
        &[cap::PAYMENTS_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    // Permission UNCONFIRMED (named after the resource).
    by_id(
        "/v1/financial_connections/accounts",
        "fca_vendorscopeprobe0000000000",
        "rak_financial_connections_account_read",
        &[cap::BANK_ACCOUNTS_READ],
        &[],
    ),
    // Permission UNCONFIRMED (named after the resource): query results are bulk exports.
    by_id(
        "/v1/sigma/scheduled_query_runs",
        "sqr_vendorscopeprobe0000000000",
        "rak_scheduled_query_run_read",
        &[cap::REPORTS_DOWNLOAD],
        &[],
    ),
    // Permission OBSERVED in a Stripe App manifest (`early_fraud_warning_read`).
    by_id(
        "/v1/radar/early_fraud_warnings",
        "issfr_vendorscopeprobe0000000000",
        "rak_early_fraud_warning_read",
        &[cap::PAYMENTS_READ],
        &[],
    ),
    // Tax transactions carry the customer's address and tax ids (trufflehog's permission).
    by_id(
        "/v1/tax/transactions",
        "tax_vendorscopeprobe0000000000",
        "rak_tax_transaction_read",
        &[cap::BILLING_READ, cap::CUSTOMERS_READ],
        &[],
    ),
];

/// The only members of a `/v1/account` answer ever built: the rest (the account's e-mail,
/// `individual`, `company`) is skipped while parsing.
pub const ACCOUNT_FIELDS: &[&str] = &["id", "object"];

/// The permission a restricted key's `GET /v1/account` success shows, and what it grants.
/// CONFIRMED (docs.stripe.com/keys/permissions-reference): `GET /v1/account` needs
/// `connected_account_read`, the permission that also lists Connect accounts.
pub const ACCOUNT_PERMISSION: (&str, &[&str]) =
    ("rak_connected_account_read", &[cap::ACCOUNT_READ]);

/// Everything an unrestricted `sk_` key can do (docs.stripe.com/keys: "any API request").
pub const SECRET_KEY_CAPABILITIES: &[&str] = &[
    cap::ADMIN_FULL,
    cap::CUSTOMERS_READ,
    cap::CUSTOMERS_EXPORT,
    cap::CUSTOMERS_WRITE,
    cap::PAYMENTS_READ,
    cap::PAYMENTS_WRITE,
    cap::REFUNDS_WRITE,
    cap::PAYOUTS_READ,
    cap::PAYOUTS_WRITE,
    cap::DISPUTES_READ,
    cap::REPORTS_DOWNLOAD,
    cap::WEBHOOKS_READ,
    cap::WEBHOOKS_MANAGE,
    cap::EVENTS_READ,
    cap::CATALOG_READ,
    cap::CATALOG_WRITE,
    cap::BILLING_READ,
    cap::FILES_READ,
    cap::IDENTITY_READ,
    cap::ACCOUNT_READ,
    cap::CONNECTED_ACCOUNTS_READ,
    cap::ISSUING_READ,
    cap::BANK_ACCOUNTS_READ,
];

/// What a 403 body says, in its documented wordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// The key lacks a permission (named when the wording names it, `rak_` prefix restored).
    Missing {
        permission: Option<String>,
        account: Option<String>,
    },
    /// The endpoint is not available to restricted keys at all.
    NotForRestricted { account: Option<String> },
    /// The Connect variant (`Stripe-Account` header without Connect permissions).
    NoConnect,
}

fn re(cell: &'static OnceLock<Option<Regex>>, pat: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pat).ok()).as_ref()
}

/// Parses a Stripe 403 message (both OBSERVED wordings plus the two special variants).
pub fn parse_forbidden(message: &str) -> Option<Forbidden> {
    static HAVING: OnceLock<Option<Regex>> = OnceLock::new();
    static ENABLING: OnceLock<Option<Regex>> = OnceLock::new();
    static ACCOUNT: OnceLock<Option<Regex>> = OnceLock::new();
    let account = re(&ACCOUNT, r"on account '(acct_[A-Za-z0-9]+)'")
        .and_then(|r| r.captures(message))
        .map(|c| c[1].to_string());
    if message.contains("restricted API key with the Stripe-Account header")
        && message.contains("does not have any Connect permissions")
    {
        return Some(Forbidden::NoConnect);
    }
    if message.contains("not available for use by restricted keys") {
        return Some(Forbidden::NotForRestricted { account });
    }
    // Older wording (OBSERVED, stripe-node#2246): "Having the 'rak_x_read' permission would allow…"
    if let Some(c) =
        re(&HAVING, r"Having the '(rak_[a-z0-9_]+)' permission").and_then(|r| r.captures(message))
    {
        return Some(Forbidden::Missing {
            permission: Some(c[1].to_string()),
            account,
        });
    }
    // Newer wording (OBSERVED 2026): `Enabling "Prices Read" ('plan_read') permissions…`
    if let Some(c) = re(
        &ENABLING,
        r#"Enabling "[^"]*" \('([a-z0-9_]+)'\) permissions"#,
    )
    .and_then(|r| r.captures(message))
    {
        let p = &c[1];
        let permission = if p.starts_with("rak_") {
            p.to_string()
        } else {
            format!("rak_{p}")
        };
        return Some(Forbidden::Missing {
            permission: Some(permission),
            account,
        });
    }
    None
}

/// What an error body says about the key itself; `None` = not a key-level verdict.
pub fn key_verdict(status: u16, body: Option<&serde_json::Value>) -> Option<KeyStatus> {
    let err = body?.get("error")?;
    let message = err.get("message").and_then(|m| m.as_str()).unwrap_or("");
    let code = err.get("code").and_then(|m| m.as_str());
    let kind = err.get("type").and_then(|m| m.as_str());
    if status == 401 {
        // OBSERVED: {"code":"api_key_expired","message":"Expired API Key provided: rk_test_***123"}
        if code == Some("api_key_expired") {
            return Some(KeyStatus::Revoked);
        }
        // CONFIRMED (docs.stripe.com/keys): a deleted or expired key → authentication error.
        if kind == Some("authentication_error") {
            return Some(KeyStatus::Revoked);
        }
        // OBSERVED (stripe-node#361): "Invalid API Key provided: sk_test_****…Aso0"
        if kind == Some("invalid_request_error") && message.starts_with("Invalid API Key provided")
        {
            return Some(KeyStatus::Invalid);
        }
    }
    None
}

#[doc(hidden)]
pub fn publishable_refusal(status: u16, body: Option<&serde_json::Value>) -> bool {
    // The status is UNCONFIRMED (401 or 400); the message is OBSERVED.
    (status == 400 || status == 401)
        && body
            .and_then(|b| b.get("error")?.get("message")?.as_str().map(str::to_string))
            .is_some_and(|m| m.contains("cannot be made with a publishable API key"))
}

#[doc(hidden)]
pub fn error_message(body: Option<&serde_json::Value>) -> Option<String> {
    body?
        .get("error")?
        .get("message")?
        .as_str()
        .map(str::to_string)
}

/// The `error.code` of an error body.
fn error_code(body: Option<&serde_json::Value>) -> Option<&str> {
    body?.get("error")?.get("code")?.as_str()
}

/// Whether an answer is a rate limit: a 429, or a 400 with `code: rate_limit` (the SDKs treat
/// both as a rate-limit error; the specs README lists the 400 form).
pub fn rate_limited(status: u16, body: Option<&serde_json::Value>) -> bool {
    status == 429 || (status == 400 && error_code(body) == Some("rate_limit"))
}

/// What one read probe's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadVerdict {
    /// The permission let the read through.
    Granted,
    /// A 403 naming a missing permission (or an endpoint closed to restricted keys).
    Denied,
    /// The key itself is dead (rolled or deleted mid-probe).
    Key(KeyStatus),
    /// Nothing can be concluded: `rate_limited` or `unexpected_response`.
    Inconclusive(&'static str),
}

/// Reads one probe's answer. A list or plain read is granted by a 200; a by-id read only by a
/// 404 whose code is `resource_missing` (any other 404, and a 200 for an id that cannot
/// exist, is unexpected).
pub fn read_verdict(ask: Ask, status: u16, body: Option<&serde_json::Value>) -> ReadVerdict {
    if rate_limited(status, body) {
        return ReadVerdict::Inconclusive("rate_limited");
    }
    let granted = match ask {
        Ask::MissingId(_) => status == 404 && error_code(body) == Some("resource_missing"),
        Ask::Plain | Ask::EmptyList => status == 200,
    };
    if granted {
        return ReadVerdict::Granted;
    }
    if status == 403
        && matches!(
            error_message(body).as_deref().and_then(parse_forbidden),
            Some(Forbidden::Missing { .. }) | Some(Forbidden::NotForRestricted { .. })
        )
    {
        return ReadVerdict::Denied;
    }
    match key_verdict(status, body) {
        Some(v) => ReadVerdict::Key(v),
        None => ReadVerdict::Inconclusive("unexpected_response"),
    }
}

struct Ctx<'a> {
    input: &'a ProbeInput<'a>,
    client: &'a Client,
    base: Url,
    mode: &'static str,
    account_bucket: String,
}

impl Ctx<'_> {
    async fn get(
        &self,
        path: &str,
        query: &str,
        body: BodyRead,
    ) -> (Url, Result<Response, HttpError>) {
        let pq = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        let url = match super::join(&self.base, &pq) {
            Ok(u) => u,
            Err(e) => return (self.base.clone(), Err(e)),
        };
        let global = if self.mode == "live" {
            LIVE_PER_SECOND
        } else {
            TEST_PER_SECOND
        };
        let req = Request {
            auth: Auth::Bearer(self.input.secret),
            headers: vec![(
                HeaderName::from_static("stripe-version"),
                HeaderValue::from_static(API_VERSION),
            )],
            api_version: Some(API_VERSION),
            rates: vec![
                RateSpec {
                    bucket: self.account_bucket.clone(),
                    per_second: global,
                },
                RateSpec {
                    bucket: format!("{}:{path}", self.account_bucket),
                    per_second: ENDPOINT_PER_SECOND,
                },
            ],
            body,
            who: self.input.who("stripe"),
            ..Request::get(url.clone(), crate::http::template_of(&url), OFFICIAL_HOSTS)
        };
        (url, self.client.send(req).await)
    }
}

impl Stripe {
    fn base(input: &ProbeInput<'_>) -> Result<Url, HttpError> {
        match &input.base {
            Some(b) => Ok(b.clone()),
            None => {
                Url::parse("https://api.stripe.com/").map_err(|e| HttpError::BadUrl(e.to_string()))
            }
        }
    }

    async fn run_probe(&self, input: ProbeInput<'_>, client: &Client) -> KeyProfile {
        let mut p = super::profile("stripe", KeyStatus::Active);
        p.key_type = Some(input.class.key_type.clone());
        p.environment = input.class.environment;
        let mode = if input.class.environment == Some(Environment::Live) {
            "live"
        } else {
            "test"
        };
        let account_id = input
            .expected_account
            .clone()
            .or_else(|| input.fingerprint.clone())
            .unwrap_or_else(|| input.secret.redacted());
        let base = match Self::base(&input) {
            Ok(b) => b,
            Err(e) => {
                p.status = super::status_for_error(&e);
                return p;
            }
        };
        let ctx = Ctx {
            input: &input,
            client,
            base,
            mode,
            account_bucket: format!("stripe:{mode}:{account_id}"),
        };
        let key_type = input.class.key_type.as_str();

        p.api_version = Some(API_VERSION.to_string());

        if key_type == "publishable" {
            // One GET a publishable key is refused on: tells a valid pk_ from an unknown one.
            // The empty-result query keeps even an unexpected success free of records.
            let (url, r) = ctx
                .get("/v1/charges", &empty_list_query(), BodyRead::ErrorsOnly)
                .await;
            let r = match r {
                Ok(r) => r,
                Err(e) => return fail(p, &url, e),
            };
            p.calls.push(r.call.clone());
            let body = r.json();
            p.status = if rate_limited(r.status, body.as_ref()) {
                super::inconclusive("rate_limited")
            } else if publishable_refusal(r.status, body.as_ref()) {
                KeyStatus::Active
            } else {
                key_verdict(r.status, body.as_ref())
                    .unwrap_or_else(|| super::inconclusive("unexpected_response"))
            };
            return p;
        }

        // Identity and validity: GET /v1/account, `id` and `object` only.
        let (url, r) = ctx
            .get("/v1/account", "", BodyRead::Fields(ACCOUNT_FIELDS))
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => return fail(p, &url, e),
        };
        p.calls.push(r.call.clone());
        let body = r.json();
        match r.status {
            _ if rate_limited(r.status, body.as_ref()) => {
                p.status = super::inconclusive("rate_limited");
                return p;
            }
            200 => {
                // CONFIRMED object shape: {"id":"acct_…","object":"account",…}
                let id = body
                    .as_ref()
                    .filter(|b| b.get("object").and_then(|o| o.as_str()) == Some("account"))
                    .and_then(|b| b.get("id")?.as_str().map(str::to_string));
                match id {
                    Some(id) => p.account = Some(id),
                    None => {
                        p.status = super::inconclusive("unexpected_response");
                        return p;
                    }
                }
                if key_type == "restricted" {
                    p.granted.push(ACCOUNT_PERMISSION.0.into());
                    p.capabilities
                        .extend(ACCOUNT_PERMISSION.1.iter().map(|c| c.to_string()));
                }
            }
            403 if key_type == "restricted" => {
                match error_message(body.as_ref())
                    .as_deref()
                    .and_then(parse_forbidden)
                {
                    Some(Forbidden::Missing { account, .. })
                    | Some(Forbidden::NotForRestricted { account }) => p.account = account,
                    _ => {
                        p.status = super::inconclusive("unexpected_response");
                        return p;
                    }
                }
            }
            _ => {
                p.status = key_verdict(r.status, body.as_ref())
                    .unwrap_or_else(|| super::inconclusive("unexpected_response"));
                return p;
            }
        }

        if key_type == "secret" {
            p.capabilities = SECRET_KEY_CAPABILITIES
                .iter()
                .map(|c| c.to_string())
                .collect();
            p.granted = vec!["unrestricted".into()];
            p.capabilities = super::sorted(std::mem::take(&mut p.capabilities));
            let o = webhooks::list(&ctx, &mut p.calls).await;
            p.observations
                .insert(super::webhooks::OBSERVATION.into(), o);
            return p;
        }

        // Restricted: endpoint by endpoint.
        let mut caps: Vec<String> = std::mem::take(&mut p.capabilities);
        let mut unverifiable: Vec<String> = Vec::new();
        let mut problem: Option<String> = None;
        for probe in READ_PROBES {
            let (path, query) = probe.target();
            let (url, r) = ctx.get(&path, &query, BodyRead::ErrorsOnly).await;
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    if !e.refused_before_sending() {
                        p.calls.push(super::failed_call(
                            "GET",
                            &url,
                            &crate::http::template_of(&url),
                        ));
                    }
                    problem.get_or_insert_with(|| e.reason().to_string());
                    if e.refused_before_sending() {
                        break;
                    }
                    continue;
                }
            };
            p.calls.push(r.call.clone());
            match read_verdict(probe.ask, r.status, r.json().as_ref()) {
                ReadVerdict::Granted => {
                    p.granted.push(probe.permission.to_string());
                    caps.extend(probe.capabilities.iter().map(|c| c.to_string()));
                    unverifiable.extend(probe.writes.iter().map(|c| c.to_string()));
                }
                ReadVerdict::Denied => {}
                ReadVerdict::Key(v) => {
                    // The key died mid-probe (rolled): say so, keep what was seen.
                    p.status = v;
                    break;
                }
                ReadVerdict::Inconclusive(reason) => {
                    problem.get_or_insert_with(|| reason.to_string());
                }
            }
        }
        if p.status == KeyStatus::Active {
            // Webhook endpoints: their own call, only when the scope probe granted the read.
            let o = if p.granted.iter().any(|g| g == webhooks::PERMISSION) {
                webhooks::list(&ctx, &mut p.calls).await
            } else if let Some(reason) = &problem {
                super::webhooks::inconclusive(webhooks::CALL, reason)
            } else {
                super::webhooks::unverifiable(webhooks::CALL, webhooks::MISSING)
            };
            p.observations
                .insert(super::webhooks::OBSERVATION.into(), o);
        }
        p.granted = super::sorted(std::mem::take(&mut p.granted));
        p.capabilities = super::sorted(caps);
        unverifiable.retain(|w| !p.capabilities.contains(w));
        p.unverifiable = super::sorted(unverifiable);
        if let (KeyStatus::Active, Some(reason)) = (&p.status, problem) {
            p.status = super::inconclusive(&reason);
        }
        p
    }
}

fn fail(mut p: KeyProfile, url: &Url, e: HttpError) -> KeyProfile {
    if !e.refused_before_sending() {
        p.calls.push(super::failed_call(
            "GET",
            url,
            &crate::http::template_of(url),
        ));
    }
    p.status = super::status_for_error(&e);
    p
}

impl Connector for Stripe {
    fn observations(&self) -> &'static [&'static str] {
        &[super::webhooks::OBSERVATION]
    }

    fn grants(&self) -> Vec<super::Grant> {
        let mut out = vec![
            super::Grant::new("key_type", "secret key (sk_)", SECRET_KEY_CAPABILITIES),
            super::Grant::new("permission", ACCOUNT_PERMISSION.0, ACCOUNT_PERMISSION.1),
        ];
        // One row per permission: probes that share one add up.
        for p in READ_PROBES {
            let i = match out.iter().position(|g| g.name == p.permission) {
                Some(i) => i,
                None => {
                    out.push(super::Grant::new("permission", p.permission, &[]));
                    out.len() - 1
                }
            };
            let g = &mut out[i];
            for c in p.capabilities {
                if !g.capabilities.contains(c) {
                    g.capabilities.push(c);
                }
            }
            for w in p.writes {
                if !g.unverifiable.contains(w) {
                    g.unverifiable.push(w);
                }
            }
        }
        out.push(super::Grant {
            note: Some("public by design: no capability in the vocabulary"),
            ..super::Grant::new("key_type", "publishable key (pk_)", &[])
        });
        out
    }

    fn name(&self) -> &'static str {
        "stripe"
    }

    fn official_hosts(&self) -> &'static [&'static str] {
        OFFICIAL_HOSTS
    }

    fn classify(&self, secret: &Secret) -> Option<Classification> {
        let raw = secret.expose();
        if let Some(rest) = raw.strip_prefix("whsec_") {
            if rest.len() >= 24 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Some(Classification {
                    key_type: "webhook_secret".into(),
                    inventory_type: KeyType::SigningSecret,
                    environment: None,
                    not_probed: Some("signing_secret_has_no_api".into()),
                });
            }
            return None;
        }
        let mut parts = raw.splitn(3, '_');
        let (kind, env, body) = (parts.next()?, parts.next()?, parts.next()?);
        // Scanners allow 10–247 characters of [A-Za-z0-9] after the prefix (§3.1), but Stripe
        // issues two shapes: 24 characters (older keys) and the newer account-derived keys
        // starting `5<digit>` (about 99). Anything else with these prefixes may be another
        // issuer's key (Clerk, WorkOS) and is never sent to Stripe.
        if !is_stripe_body(body) {
            return None;
        }
        let environment = match env {
            "live" => Environment::Live,
            "test" => Environment::Test,
            _ => return None,
        };
        let (key_type, inventory_type) = match kind {
            "sk" => ("secret", KeyType::ServerSide),
            "rk" => ("restricted", KeyType::Restricted),
            "pk" => ("publishable", KeyType::Publishable),
            _ => return None,
        };
        Some(Classification {
            key_type: key_type.into(),
            inventory_type,
            environment: Some(environment),
            not_probed: None,
        })
    }

    fn plan(&self, input: &ProbeInput<'_>) -> Vec<PlannedCall> {
        let base = Self::base(input)
            .map(|b| b.as_str().trim_end_matches('/').to_string())
            .unwrap_or_else(|_| "https://api.stripe.com".into());
        let base = base.as_str();
        let call = |path: &str, q: &str, note: Option<&str>| PlannedCall {
            method: "GET".into(),
            url: if q.is_empty() {
                format!("{base}{path}")
            } else {
                format!("{base}{path}?{q}")
            },
            note: note.map(str::to_string),
        };
        match input.class.key_type.as_str() {
            "publishable" => vec![call(
                "/v1/charges",
                &empty_list_query(),
                Some("expects the publishable-key refusal"),
            )],
            "secret" => vec![
                call(
                    "/v1/account",
                    "",
                    Some("identity; sk_ keys are unrestricted"),
                ),
                call(
                    webhooks::PATH,
                    &webhooks::query(None),
                    Some(
                        "webhook endpoints (scheme and host kept); more pages with starting_after",
                    ),
                ),
            ],
            _ => {
                let mut v = vec![call("/v1/account", "", Some("identity and validity"))];
                v.extend(READ_PROBES.iter().map(|p| {
                    let (path, query) = p.target();
                    let note = matches!(p.ask, Ask::MissingId(_))
                        .then_some("an id that cannot exist: expects 404 resource_missing");
                    call(&path, &query, note)
                }));
                v.push(call(
                    webhooks::PATH,
                    &webhooks::query(None),
                    Some("only with rak_webhook_read: webhook endpoints (scheme and host kept)"),
                ));
                v
            }
        }
    }

    fn probe<'a>(&'a self, input: ProbeInput<'a>, client: &'a Client) -> BoxFuture<'a, KeyProfile> {
        self.run_probe(input, client).boxed()
    }

    fn emulator(&self) -> Option<crate::emulator::EmulatorSpec> {
        Some(emulator::spec())
    }
}

/// A key body (after `sk_live_` and the like) of one of Stripe's published shapes, and not a
/// look-alike: WorkOS bodies are the base64 of `key_…` (`a2V5X…`), Clerk publishable bodies
/// the base64 of a host followed by `$`.
fn is_stripe_body(body: &str) -> bool {
    let b = body.as_bytes();
    let shape =
        b.len() == 24 || (b.len() >= 30 && b.len() <= 247 && b[0] == b'5' && b[1].is_ascii_digit());
    shape
        && b.iter().all(u8::is_ascii_alphanumeric)
        && !body.starts_with("a2V5X")
        && !crate::exposure::rules::decoded_body(body)
            .is_some_and(|h| h.ends_with('$') && h.len() > 4 && h[..h.len() - 1].contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(raw: &str) -> Option<String> {
        Stripe.classify(&Secret::new(raw)).map(|c| c.key_type)
    }

    /// Other issuers' keys with Stripe's prefixes are refused offline, so `--verify-unknown`
    /// never sends them to Stripe; Stripe's published shapes are classified.
    #[test]
    fn classify_refuses_lookalikes() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD_NO_PAD.encode(s);
        for raw in [
            format!("sk_live_{}", b64("key_01HZQ8K2M4XJ7PNV3R5T9WBYCD")),
            format!("sk_test_{}", b64("key_01HZQ8K2M4XJ7PNV3R5T9WBYCD")),
            format!("pk_live_{}", b64("clerk.example-shop.com$")),
            format!("pk_test_{}", b64("sharp-lemur-42.clerk.accounts.dev$")),
            // A Clerk-style secret key: a long base62 body of no Stripe shape.
            "sk_live_Qm4TzR8vLx2NcW7pYk3HdJ9sFa6GbE1uVo5iZt0Xr".to_string(),
            "sk_live_x".to_string(),
        ] {
            assert_eq!(class(&raw), None, "{raw}");
        }
        for (raw, want) in [
            ("sk_live_p5B1Id9Z850kEnydx9qWCA79", "secret"),
            ("rk_test_zKG5mSoyPstUeC99enq522wj", "restricted"),
            ("pk_live_ZRL9OaYsP6ihgIqLSmNqE40f", "publishable"),
            (
                "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",
                "secret",
            ),
            (
                "rk_test_51DemoKey0000000000000000000000000000000000000002",
                "restricted",
            ),
        ] {
            assert_eq!(class(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn both_forbidden_wordings_name_the_permission() {
        let a = "The provided key 'rk_test_*****qs8Kgd' does not have the required permissions for this endpoint on account 'acct_1PJBLEBBLEfV'. Having the 'rak_accounts_kyc_id_numbers_read' permission would allow this request to continue.";
        assert_eq!(
            parse_forbidden(a),
            Some(Forbidden::Missing {
                permission: Some("rak_accounts_kyc_id_numbers_read".into()),
                account: Some("acct_1PJBLEBBLEfV".into())
            })
        );
        let b = "Permission denied. The provided key 'rk_live_***j4va7j' does not have the required permissions for this endpoint on account 'acct_123'. Enabling \"Prices Read\" ('plan_read') permissions on this key would allow this request to continue.";
        assert_eq!(
            parse_forbidden(b),
            Some(Forbidden::Missing {
                permission: Some("rak_plan_read".into()),
                account: Some("acct_123".into())
            })
        );
        assert!(parse_forbidden("something else").is_none());
    }

    #[test]
    fn by_id_probes_are_granted_only_by_resource_missing() {
        let id = Ask::MissingId("cs_vendorscopeprobe0000000000");
        let missing = serde_json::json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "session", "message": "No such checkout.session: 'cs_vendorscopeprobe0000000000'"}});
        assert_eq!(read_verdict(id, 404, Some(&missing)), ReadVerdict::Granted);
        let route = serde_json::json!({"error": {"type": "invalid_request_error", "message": "Unrecognized request URL (GET: /v1/checkout/sessions/x)."}});
        assert_eq!(
            read_verdict(id, 404, Some(&route)),
            ReadVerdict::Inconclusive("unexpected_response")
        );
        assert_eq!(
            read_verdict(id, 404, None),
            ReadVerdict::Inconclusive("unexpected_response")
        );
        // An id that cannot exist answering 200 is not the vendor we know.
        assert_eq!(
            read_verdict(id, 200, None),
            ReadVerdict::Inconclusive("unexpected_response")
        );
        assert_eq!(
            read_verdict(Ask::EmptyList, 200, None),
            ReadVerdict::Granted
        );
        assert_eq!(
            read_verdict(Ask::EmptyList, 404, Some(&missing)),
            ReadVerdict::Inconclusive("unexpected_response")
        );
        let denied = serde_json::json!({"error": {"type": "invalid_request_error", "message": "The provided key 'rk_test_*****…*****000002' does not have the required permissions for this endpoint on account 'acct_1'. Having the 'rak_checkout_session_read' permission would allow this request to continue."}});
        assert_eq!(read_verdict(id, 403, Some(&denied)), ReadVerdict::Denied);
    }

    #[test]
    fn a_400_rate_limit_is_a_rate_limit() {
        let body = serde_json::json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Request rate limit exceeded."}});
        assert!(rate_limited(400, Some(&body)));
        assert!(rate_limited(429, None));
        assert!(!rate_limited(400, None));
        let other = serde_json::json!({"error": {"type": "invalid_request_error", "code": "parameter_unknown"}});
        assert!(!rate_limited(400, Some(&other)));
        for ask in [Ask::Plain, Ask::EmptyList, Ask::MissingId("x")] {
            assert_eq!(
                read_verdict(ask, 400, Some(&body)),
                ReadVerdict::Inconclusive("rate_limited")
            );
        }
    }

    #[test]
    fn probe_tables_hold_together() {
        let mut targets = std::collections::BTreeSet::new();
        for p in READ_PROBES {
            let (path, query) = p.target();
            assert!(targets.insert(path.clone()), "{path} probed twice");
            for c in p.capabilities.iter().chain(p.writes) {
                assert!(
                    SECRET_KEY_CAPABILITIES.contains(c),
                    "{path}: sk_ keys lack {c}"
                );
            }
            match p.ask {
                Ask::EmptyList => {
                    assert_eq!(query, "limit=1&created[gte]=4102444800");
                    assert!(
                        emulator::LISTS.iter().any(|l| l.path == p.path),
                        "{path}: no emulated list"
                    );
                }
                Ask::MissingId(id) => {
                    assert!(query.is_empty());
                    let (prefix, rest) = id.split_once('_').unwrap_or(("", ""));
                    assert!(!prefix.is_empty() && rest.starts_with("vendorscopeprobe"));
                    assert!(
                        emulator::RETRIEVALS.iter().any(|r| r.0 == p.path),
                        "{path}: no emulated by-id route"
                    );
                }
                Ask::Plain => assert!(query.is_empty()),
            }
        }
        let emulated = emulator::LISTS
            .iter()
            .map(|l| l.path)
            .chain(emulator::RETRIEVALS.iter().map(|r| r.0));
        for path in emulated {
            assert!(
                READ_PROBES.iter().any(|p| p.path == path),
                "{path}: emulated but no permission"
            );
        }
    }

    #[test]
    fn grants_list_each_permission_once() {
        let grants = Connector::grants(&Stripe);
        let mut names: Vec<&str> = grants.iter().map(|g| g.name.as_str()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        let connect = grants
            .iter()
            .find(|g| g.name == "rak_connected_account_read")
            .expect("connect");
        assert_eq!(
            connect.capabilities,
            [cap::ACCOUNT_READ, cap::CONNECTED_ACCOUNTS_READ]
        );
        let charges = grants
            .iter()
            .find(|g| g.name == "rak_charge_read")
            .expect("charges");
        assert_eq!(
            charges.unverifiable,
            [cap::PAYMENTS_WRITE, cap::REFUNDS_WRITE]
        );
    }

    /// Stripe's own contract, where the shared reference material is present (a user's fresh
    /// clone has none: the check is skipped there with a note).
    #[allow(clippy::print_stderr)] // the skip note
    fn contract() -> Option<serde_json::Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/specs/stripe-spec3-2023-09-12.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} not found", path.display());
            return None;
        };
        let spec: serde_json::Value = serde_json::from_str(&text).expect("spec JSON");
        assert_eq!(spec["info"]["version"], API_VERSION, "pinned version");
        Some(spec)
    }

    /// The contract's GET operation whose path template matches `path`, with the values of
    /// its path parameters.
    fn operation<'a>(
        spec: &'a serde_json::Value,
        path: &str,
    ) -> Option<(&'a serde_json::Value, Vec<(String, String)>)> {
        let parts: Vec<&str> = path.split('/').collect();
        spec["paths"].as_object()?.iter().find_map(|(tpl, ops)| {
            let t: Vec<&str> = tpl.split('/').collect();
            if t.len() != parts.len() {
                return None;
            }
            let mut values = vec![];
            for (a, b) in t.iter().zip(&parts) {
                match a.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                    Some(name) => values.push((name.to_string(), b.to_string())),
                    None if a == b => {}
                    None => return None,
                }
            }
            Some((ops.get("get")?, values))
        })
    }

    fn query_params(op: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| (p["name"].as_str().unwrap_or("").to_string(), p.clone()))
            .collect()
    }

    #[test]
    fn every_stripe_request_is_valid_in_the_contract() {
        let Some(spec) = contract() else { return };
        let mut requests: Vec<(String, String)> = vec![
            ("/v1/account".into(), String::new()),
            ("/v1/charges".into(), empty_list_query()),
        ];
        requests.extend(READ_PROBES.iter().map(ReadProbe::target));
        requests.push((webhooks::PATH.into(), webhooks::query(None)));
        requests.push((webhooks::PATH.into(), webhooks::query(Some("we_1Abc"))));
        for (path, query) in &requests {
            let (op, values) =
                operation(&spec, path).unwrap_or_else(|| panic!("{path}: no GET in the contract"));
            let params = query_params(op);
            // Path parameters: within the contract's bounds.
            for (name, value) in &values {
                let p = op["parameters"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["in"] == "path" && p["name"] == **name))
                    .unwrap_or_else(|| panic!("{path}: {name}"));
                if let Some(max) = p["schema"]["maxLength"].as_u64() {
                    assert!(value.len() as u64 <= max, "{path}: {name} too long");
                }
            }
            // Query parameters: known, of the right type, within bounds.
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                let (name, sub) = match key.split_once('[') {
                    Some((n, s)) => (n, Some(s.trim_end_matches(']'))),
                    None => (key.as_ref(), None),
                };
                let (_, p) = params
                    .iter()
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| panic!("{path}: `{name}` is not a parameter in 2023-08-16"));
                if (name, sub) == ("starting_after", None) {
                    assert_eq!(p["schema"]["type"], "string", "{path}");
                    continue;
                }
                let n: i64 = value.parse().expect("integer value");
                match (name, sub) {
                    ("limit", None) => {
                        assert_eq!(p["schema"]["type"], "integer");
                        assert!((1..=100).contains(&n));
                    }
                    ("created", Some("gte")) => {
                        assert_eq!(p["style"], "deepObject");
                        let range = &p["schema"]["anyOf"][0]["properties"]["gte"];
                        assert_eq!(range["type"], "integer", "{path}");
                    }
                    other => panic!("{path}: unexpected parameter {other:?}"),
                }
            }
            // No required parameter is missing.
            for (name, p) in &params {
                assert!(p["required"] != true, "{path}: requires {name}");
            }
        }
        // A by-id probe only where the list cannot be emptied with `created`.
        for p in READ_PROBES {
            if let Ask::MissingId(_) = p.ask
                && let Some((list, _)) = operation(&spec, p.path)
            {
                assert!(
                    !query_params(list).iter().any(|(n, _)| n == "created"),
                    "{}: the list takes `created`, probe it empty instead",
                    p.path
                );
            }
        }
    }

    /// Every route the emulator serves is in the contract it checks queries against (the
    /// contract is generated from the spec; `tests/contracts.rs` keeps it in step).
    #[test]
    fn every_emulator_route_is_in_the_contract() {
        let c = crate::emulator::contract::Contract::parse(include_str!("contract.json"))
            .expect("contract");
        for l in emulator::LISTS {
            assert!(c.endpoint("GET", l.path).is_some(), "{}", l.path);
        }
        for (path, _, param) in emulator::RETRIEVALS {
            let (_, vars) = c
                .endpoint("GET", &format!("{path}/x"))
                .unwrap_or_else(|| panic!("{path}/{{id}}"));
            assert_eq!(vars.keys().collect::<Vec<_>>(), vec![param], "{path}");
        }
        for path in ["/v1/account", "/v1/balance"] {
            assert!(c.endpoint("GET", path).is_some(), "{path}");
        }
    }
}
