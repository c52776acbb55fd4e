//! Stripe connector: `sk_`/`rk_`/`pk_` shapes; `sk_` is unrestricted, `rk_` is probed endpoint by endpoint with GETs, `pk_` gets one harmless GET. Never a POST.
//!
//! Reference: vendor-apis.md §3. Write permissions cannot be observed without a write, so a
//! granted read leaves the matching write capabilities in `unverifiable` ("write implies
//! read": a 403 on the read rules the write out).

pub mod emulator;

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

/// The Stripe connector.
pub struct Stripe;

pub const OFFICIAL_HOSTS: &[&str] = &["api.stripe.com"];
/// CONFIRMED (docs.stripe.com/rate-limits): 100 req/s live, 25 req/s test, 25 req/s per endpoint.
pub const LIVE_PER_SECOND: f64 = 100.0;
pub const TEST_PER_SECOND: f64 = 25.0;
pub const ENDPOINT_PER_SECOND: f64 = 25.0;
/// 2100-01-01T00:00:00Z: a `created[gte]` filter no object matches (empty result pages).
pub const FAR_FUTURE: i64 = 4_102_444_800;

/// One read probe: endpoint, the permission it needs (trufflehog restricted.yaml), the
/// statuses that mean "permission present", and what it grants.
pub struct ReadProbe {
    pub path: &'static str,
    pub permission: &'static str,
    pub ok: &'static [u16],
    /// Whether the list endpoint takes `created[gte]` (empty-result query).
    pub created_filter: bool,
    pub capabilities: &'static [&'static str],
    /// Write capabilities a granted read leaves open (never probed).
    pub writes: &'static [&'static str],
}

const fn rp(
    path: &'static str,
    permission: &'static str,
    ok: &'static [u16],
    created_filter: bool,
    capabilities: &'static [&'static str],
    writes: &'static [&'static str],
) -> ReadProbe {
    ReadProbe {
        path,
        permission,
        ok,
        created_filter,
        capabilities,
        writes,
    }
}

const OK: &[u16] = &[200];
const OK404: &[u16] = &[404];

/// The restricted-key probe set (the high-risk reads of §3.6 plus the core resources).
pub const READ_PROBES: &[ReadProbe] = &[
    rp(
        "/v1/balance",
        "rak_balance_read",
        OK,
        false,
        &[cap::PAYOUTS_READ],
        &[],
    ),
    rp(
        "/v1/charges",
        "rak_charge_read",
        OK,
        true,
        &[cap::PAYMENTS_READ, cap::CUSTOMERS_READ],
        &[cap::PAYMENTS_WRITE, cap::REFUNDS_WRITE],
    ),
    rp(
        "/v1/customers",
        "rak_customer_read",
        OK,
        true,
        &[cap::CUSTOMERS_READ, cap::CUSTOMERS_EXPORT],
        &[cap::CUSTOMERS_WRITE],
    ),
    rp(
        "/v1/disputes",
        "rak_dispute_read",
        OK,
        true,
        &[cap::DISPUTES_READ],
        &[],
    ),
    rp(
        "/v1/events",
        "rak_event_read",
        OK,
        true,
        &[cap::EVENTS_READ, cap::CUSTOMERS_READ, cap::PAYMENTS_READ],
        &[],
    ),
    rp(
        "/v1/files",
        "rak_file_read",
        OK,
        true,
        &[cap::FILES_READ],
        &[],
    ),
    rp(
        "/v1/payment_intents",
        "rak_payment_intent_read",
        OK,
        true,
        &[cap::PAYMENTS_READ],
        &[cap::PAYMENTS_WRITE],
    ),
    rp(
        "/v1/payment_methods",
        "rak_payment_method_read",
        OK,
        false,
        &[cap::PAYMENTS_READ],
        &[],
    ),
    rp(
        "/v1/payouts",
        "rak_payout_read",
        OK,
        true,
        &[cap::PAYOUTS_READ],
        &[cap::PAYOUTS_WRITE],
    ),
    rp(
        "/v1/products",
        "rak_product_read",
        OK,
        true,
        &[cap::CATALOG_READ],
        &[cap::CATALOG_WRITE],
    ),
    rp(
        "/v1/prices",
        "rak_plan_read",
        OK,
        true,
        &[cap::CATALOG_READ],
        &[cap::CATALOG_WRITE],
    ),
    rp(
        "/v1/coupons",
        "rak_coupon_read",
        OK,
        true,
        &[cap::CATALOG_READ],
        &[],
    ),
    rp(
        "/v1/setup_intents",
        "rak_setup_intent_read",
        OK,
        true,
        &[cap::PAYMENTS_READ],
        &[],
    ),
    rp(
        "/v1/checkout/sessions",
        "rak_checkout_session_read",
        OK,
        true,
        &[cap::PAYMENTS_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    // Scope name assumed (trufflehog's row has none): UNCONFIRMED.
    rp(
        "/v1/invoices",
        "rak_invoice_read",
        OK,
        true,
        &[cap::BILLING_READ, cap::CUSTOMERS_READ],
        &[],
    ),
    rp(
        "/v1/subscriptions",
        "rak_subscription_read",
        OK,
        true,
        &[cap::BILLING_READ],
        &[],
    ),
    rp(
        "/v1/credit_notes",
        "rak_credit_note_read",
        OK,
        false,
        &[cap::BILLING_READ],
        &[],
    ),
    rp(
        "/v1/quotes",
        "rak_quote_read",
        OK,
        false,
        &[cap::BILLING_READ],
        &[],
    ),
    rp(
        "/v1/transfers",
        "rak_transfer_read",
        OK,
        true,
        &[cap::PAYOUTS_READ],
        &[cap::PAYOUTS_WRITE],
    ),
    rp(
        "/v1/application_fees",
        "rak_application_fee_read",
        OK,
        true,
        &[cap::PAYOUTS_READ],
        &[],
    ),
    rp(
        "/v1/topups",
        "rak_topup_read",
        OK,
        true,
        &[cap::PAYOUTS_READ],
        &[],
    ),
    rp(
        "/v1/reporting/report_runs",
        "rak_financial_statement_read",
        OK,
        true,
        &[cap::REPORTS_DOWNLOAD],
        &[],
    ),
    rp(
        "/v1/identity/verification_sessions",
        "rak_identity_product_read",
        OK,
        true,
        &[cap::IDENTITY_READ],
        &[],
    ),
    rp(
        "/v1/webhook_endpoints",
        "rak_webhook_read",
        OK,
        false,
        &[cap::WEBHOOKS_READ],
        &[cap::WEBHOOKS_MANAGE],
    ),
    rp(
        "/v1/payment_links",
        "rak_payment_links_read",
        OK,
        false,
        &[cap::CATALOG_READ],
        &[],
    ),
    rp(
        "/v1/reviews",
        "rak_review_read",
        OK,
        true,
        &[cap::PAYMENTS_READ],
        &[],
    ),
    rp(
        "/v1/tax_rates",
        "rak_tax_rate_read",
        OK,
        true,
        &[cap::CATALOG_READ],
        &[],
    ),
    // By-id probes: a 404 for a made-up id means the permission let the lookup through.
    rp(
        "/v1/issuing/cardholders/x",
        "rak_issuing_cardholder_read",
        OK404,
        false,
        &[cap::CUSTOMERS_READ],
        &[],
    ),
    rp(
        "/v1/issuing/transactions/x",
        "rak_issuing_transaction_read",
        OK404,
        false,
        &[cap::PAYMENTS_READ],
        &[],
    ),
];

/// The only members of a `/v1/account` answer ever built: the rest (the account's e-mail,
/// `individual`, `company`) is skipped while parsing.
pub const ACCOUNT_FIELDS: &[&str] = &["id", "object"];

/// The permission a restricted key's `GET /v1/account` success shows, and what it grants.
pub const ACCOUNT_PERMISSION: (&str, &[&str]) = ("rak_account_read", &[cap::ACCOUNT_READ]);

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

fn query_for(p: &ReadProbe) -> String {
    if p.ok == OK404 || p.path == "/v1/balance" {
        String::new()
    } else if p.created_filter {
        format!("limit=1&created[gte]={FAR_FUTURE}")
    } else {
        "limit=1".into()
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

        if key_type == "publishable" {
            // One GET a publishable key is refused on: tells a valid pk_ from an unknown one.
            let (url, r) = ctx
                .get("/v1/charges", "limit=1", BodyRead::ErrorsOnly)
                .await;
            let r = match r {
                Ok(r) => r,
                Err(e) => return fail(p, &url, e),
            };
            p.calls.push(r.call.clone());
            let body = r.json();
            p.status = if publishable_refusal(r.status, body.as_ref()) {
                KeyStatus::Active
            } else {
                key_verdict(r.status, body.as_ref())
                    .unwrap_or_else(|| super::inconclusive("unexpected_response"))
            };
            return p;
        }

        // Identity and validity: GET /v1/account.
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
            return p;
        }

        // Restricted: endpoint by endpoint.
        let mut caps: Vec<String> = std::mem::take(&mut p.capabilities);
        let mut unverifiable: Vec<String> = Vec::new();
        let mut problem: Option<String> = None;
        for probe in READ_PROBES {
            let (url, r) = ctx
                .get(probe.path, &query_for(probe), BodyRead::ErrorsOnly)
                .await;
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
            if probe.ok.contains(&r.status) {
                p.granted.push(probe.permission.to_string());
                caps.extend(probe.capabilities.iter().map(|c| c.to_string()));
                unverifiable.extend(probe.writes.iter().map(|c| c.to_string()));
                continue;
            }
            let body = r.json();
            if r.status == 403
                && matches!(
                    error_message(body.as_ref())
                        .as_deref()
                        .and_then(parse_forbidden),
                    Some(Forbidden::Missing { .. }) | Some(Forbidden::NotForRestricted { .. })
                )
            {
                continue;
            }
            if let Some(v) = key_verdict(r.status, body.as_ref()) {
                // The key died mid-probe (rolled): say so, keep what was seen.
                p.status = v;
                break;
            }
            problem.get_or_insert_with(|| "unexpected_response".to_string());
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
    fn grants(&self) -> Vec<super::Grant> {
        let mut out = vec![super::Grant::new(
            "key_type",
            "secret key (sk_)",
            SECRET_KEY_CAPABILITIES,
        )];
        out.push(super::Grant::new(
            "permission",
            ACCOUNT_PERMISSION.0,
            ACCOUNT_PERMISSION.1,
        ));
        for p in READ_PROBES {
            let mut g = super::Grant::new("permission", p.permission, p.capabilities);
            g.unverifiable = p.writes.to_vec();
            out.push(g);
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
                "limit=1",
                Some("expects the publishable-key refusal"),
            )],
            "secret" => vec![call(
                "/v1/account",
                "",
                Some("identity; sk_ keys are unrestricted"),
            )],
            _ => {
                let mut v = vec![call("/v1/account", "", Some("identity and validity"))];
                v.extend(
                    READ_PROBES
                        .iter()
                        .map(|p| call(p.path, &query_for(p), None)),
                );
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
}
