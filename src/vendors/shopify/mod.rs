//! Shopify connector: admin token shapes, `GET /admin/oauth/access_scopes.json` for grants and `shop.json` for identity.
//!
//! Reference: vendor-apis.md §1. Every token must be paired with its `<shop>.myshopify.com`
//! domain; a 401 cannot tell invalid from revoked or expired (tokens may be short-lived), so
//! it is reported as `invalid`.

pub mod audit_emulator;
pub mod emulator;
pub mod staff;
pub mod webhooks;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::capability as cap;
use super::{Classification, Connector, PlannedCall, ProbeInput};
use crate::http::{BodyRead, BudgetHeader, Client, RateSpec, Request, valid_label};
use crate::inventory::model::KeyType;
use crate::run::{KeyProfile, KeyStatus};
use crate::secret::Secret;

/// The Shopify connector.
pub struct Shopify;

/// Official hosts: one shop label under `myshopify.com`.
pub const OFFICIAL_HOSTS: &[&str] = &["*.myshopify.com"];
/// The only members of an `access_scopes.json` answer ever built.
pub const SCOPES_FIELDS: &[&str] = &["access_scopes.handle"];
/// What `shop.json` is asked for (`?fields=`): Shopify then answers with this member only, so
/// the shop owner's name, e-mail, phone and address are never sent. Keep in step with
/// [`SHOP_FIELDS`].
pub const SHOP_QUERY_FIELDS: &str = "myshopify_domain";
/// The only members of a `shop.json` answer ever built, should a shop ignore `fields=` (the
/// rest is skipped while parsing).
pub const SHOP_FIELDS: &[&str] = &["shop.myshopify_domain"];

/// Admin REST version used for `shop.json` (access_scopes is unversioned): the newest stable
/// release, supported until at least October 2027 (CONFIRMED: quarterly releases, each
/// supported for at least 12 months; a retired version falls forward to the oldest supported).
pub const API_VERSION: &str = "2026-10";
/// Documented REST leaky bucket (Standard plan, CONFIRMED): 40 requests, leaking 2/s.
pub const BUCKET_SIZE: f64 = 40.0;
pub const LEAK_PER_SECOND: f64 = 2.0;
/// OBSERVED budget header `used/size`.
pub const CALL_LIMIT_HEADER: &str = "x-shopify-shop-api-call-limit";
/// Exact body of the documented 401 (OBSERVED).
pub const INVALID_TOKEN_MESSAGE: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

fn hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<label>.myshopify.com` with a valid label, lower case.
pub fn valid_shop_domain(d: &str) -> bool {
    d.strip_suffix(".myshopify.com").is_some_and(valid_label)
}

const CUSTOMERS_R: &[&str] = &[cap::CUSTOMERS_READ, cap::CUSTOMERS_EXPORT];
const CUSTOMERS_RW: &[&str] = &[
    cap::CUSTOMERS_READ,
    cap::CUSTOMERS_EXPORT,
    cap::CUSTOMERS_WRITE,
];
const ORDERS_R: &[&str] = &[cap::ORDERS_READ, cap::CUSTOMERS_READ];
const ORDERS_RW: &[&str] = &[
    cap::ORDERS_READ,
    cap::CUSTOMERS_READ,
    cap::ORDERS_WRITE,
    cap::REFUNDS_WRITE,
];
const DRAFTS_RW: &[&str] = &[cap::ORDERS_READ, cap::ORDERS_WRITE];
const CATALOG_R: &[&str] = &[cap::CATALOG_READ];
const CATALOG_RW: &[&str] = &[cap::CATALOG_READ, cap::CATALOG_WRITE];
const INJECT: &[&str] = &[cap::STOREFRONT_CODE_INJECT];
const SP_ACCOUNT: &[&str] = &[cap::PAYMENTS_READ, cap::ACCOUNT_READ];

/// Scope handle → normalised capabilities: the one table the probe and
/// `policy capabilities` read. Handles not listed map to nothing.
pub const SCOPES: &[(&str, &[&str])] = &[
    ("read_customers", CUSTOMERS_R),
    ("write_customers", CUSTOMERS_RW),
    ("read_orders", ORDERS_R),
    ("read_draft_orders", ORDERS_R),
    ("read_order_edits", ORDERS_R),
    ("write_orders", ORDERS_RW),
    ("write_draft_orders", DRAFTS_RW),
    ("write_order_edits", DRAFTS_RW),
    ("read_all_orders", &[cap::ORDERS_READ_ALL]),
    ("read_products", CATALOG_R),
    ("read_inventory", CATALOG_R),
    ("read_price_rules", CATALOG_R),
    ("read_discounts", CATALOG_R),
    ("write_products", CATALOG_RW),
    ("write_inventory", CATALOG_RW),
    ("write_price_rules", CATALOG_RW),
    ("write_discounts", CATALOG_RW),
    ("write_script_tags", INJECT),
    ("write_themes", INJECT),
    ("write_pixels", INJECT),
    ("write_custom_pixels", INJECT),
    ("read_reports", &[cap::REPORTS_DOWNLOAD]),
    ("read_customer_events", &[cap::CUSTOMERS_READ]),
    ("read_companies", &[cap::CUSTOMERS_READ]),
    ("read_fulfillments", &[cap::ORDERS_READ]),
    ("read_assigned_fulfillment_orders", &[cap::ORDERS_READ]),
    (
        "read_merchant_managed_fulfillment_orders",
        &[cap::ORDERS_READ],
    ),
    ("read_third_party_fulfillment_orders", &[cap::ORDERS_READ]),
    ("read_shipping", &[cap::ORDERS_READ]),
    ("read_shopify_payments_payouts", &[cap::PAYOUTS_READ]),
    ("read_shopify_payments_bank_accounts", &[cap::PAYOUTS_READ]),
    ("read_shopify_payments_disputes", &[cap::DISPUTES_READ]),
    ("read_shopify_payments_accounts", SP_ACCOUNT),
    (
        "read_shopify_payments_provider_accounts_sensitive",
        SP_ACCOUNT,
    ),
    ("read_users", &[cap::USERS_READ]),
];

/// Scope handle → normalised capabilities.
pub fn capabilities_of(handle: &str) -> &'static [&'static str] {
    SCOPES
        .iter()
        .find(|(h, _)| *h == handle)
        .map(|(_, c)| *c)
        .unwrap_or(&[])
}

impl Shopify {
    fn base(&self, input: &ProbeInput<'_>) -> Option<Url> {
        match &input.base {
            Some(b) => Some(b.clone()),
            None => Url::parse(&format!("https://{}/", input.shop_domain.as_deref()?)).ok(),
        }
    }

    fn shop_problem(&self, input: &ProbeInput<'_>) -> Option<&'static str> {
        match input.shop_domain.as_deref() {
            None => Some("shop_domain_missing"),
            Some(d) if !valid_shop_domain(d) => Some("shop_domain_invalid"),
            Some(_) => None,
        }
    }

    fn request<'a>(
        &self,
        input: &'a ProbeInput<'a>,
        base: &Url,
        path: &str,
        query: &[(&str, &str)],
        fields: &'static [&'static str],
    ) -> Option<Request<'a>> {
        let shop = input.shop_domain.clone().unwrap_or_default();
        let mut url = base.join(path).ok()?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let template = crate::http::template_of(&url);
        let mut headers = Vec::new();
        if input.base.is_some() {
            // Emulator override: the shop travels in the Host header, as it would on the real host.
            if let Ok(v) = HeaderValue::from_str(&shop) {
                headers.push((HeaderName::from_static("host"), v));
            }
        }
        let bucket = format!("shopify:{shop}");
        Some(Request {
            headers,
            rates: vec![RateSpec {
                bucket: bucket.clone(),
                per_second: LEAK_PER_SECOND,
            }],
            budget_header: Some(BudgetHeader {
                header: CALL_LIMIT_HEADER,
                bucket,
                leak_per_second: LEAK_PER_SECOND,
            }),
            body: BodyRead::Fields(fields),
            auth: crate::http::Auth::Header("x-shopify-access-token", input.secret),
            who: input.who("shopify"),
            ..Request::get(url, template, OFFICIAL_HOSTS)
        })
    }

    /// The audit key's observations (staff, script tags), after its scopes were read.
    async fn audit(&self, input: &ProbeInput<'_>, client: &Client, p: &mut KeyProfile) {
        let observations = match (&p.status, self.base(input)) {
            (KeyStatus::Active, Some(base)) => {
                let granted = p.granted.clone();
                staff::observe(self, input, client, &base, &granted, &mut p.calls).await
            }
            (status, _) => staff::not_observed(&format!("the audit key is {}", status.label())),
        };
        for (name, o) in observations {
            p.observations.insert(name.into(), o);
        }
    }

    async fn run_probe(&self, input: &ProbeInput<'_>, client: &Client) -> KeyProfile {
        let mut p = super::profile("shopify", KeyStatus::Active);
        p.key_type = Some(input.class.key_type.clone());
        p.environment = input.class.environment;
        if let Some(problem) = self.shop_problem(input) {
            p.status = super::inconclusive(problem);
            return p;
        }
        p.account = input.shop_domain.clone();
        let Some(base) = self.base(input) else {
            p.status = super::inconclusive("shop_domain_invalid");
            return p;
        };
        // 1. Grants.
        let scopes_path = "/admin/oauth/access_scopes.json";
        let Some(req) = self.request(input, &base, scopes_path, &[], SCOPES_FIELDS) else {
            p.status = super::inconclusive("bad_url");
            return p;
        };
        let url = req.url.clone();
        let resp = match client.send(req).await {
            Ok(r) => r,
            Err(e) => {
                if !e.refused_before_sending() {
                    p.calls.push(super::failed_call("GET", &url, scopes_path));
                }
                p.status = super::status_for_error(&e);
                return p;
            }
        };
        p.calls.push(resp.call.clone());
        match interpret_error(resp.status, resp.json()) {
            Some(status) => {
                p.status = status;
                return p;
            }
            None => {
                // CONFIRMED shape: {"access_scopes":[{"handle":"read_products"},…]}
                let handles = resp.json().and_then(|v| {
                    let list = v.get("access_scopes")?.as_array()?.clone();
                    list.iter()
                        .map(|s| s.get("handle").and_then(|h| h.as_str()).map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                });
                let Some(handles) = handles else {
                    p.status = super::inconclusive("unexpected_response");
                    return p;
                };
                let mut caps = Vec::new();
                for h in &handles {
                    caps.extend(capabilities_of(h).iter().map(|c| c.to_string()));
                }
                p.granted = super::sorted(handles);
                p.capabilities = super::sorted(caps);
            }
        }
        // 2. Identity: only the myshopify domain is asked for (`fields=`) and kept.
        let shop_path = format!("/admin/api/{API_VERSION}/shop.json");
        let query = [("fields", SHOP_QUERY_FIELDS)];
        let Some(req) = self.request(input, &base, &shop_path, &query, SHOP_FIELDS) else {
            return p;
        };
        let url = req.url.clone();
        let template = req.template.clone();
        match client.send(req).await {
            Ok(r) => {
                p.calls.push(r.call.clone());
                if let Some(status) = interpret_error(r.status, r.json()) {
                    // Grants are known; identity is not. Keep the grants, report why. The shop
                    // answered access_scopes, so a 404 here is the API version, not the shop.
                    p.status = match status {
                        _ if r.status == 404 => super::inconclusive("api_version_unavailable"),
                        KeyStatus::Inconclusive(_) => status,
                        _ => super::inconclusive("unexpected_response"),
                    };
                    return p;
                }
                let domain = r.json().and_then(|v| {
                    v.get("shop")?
                        .get("myshopify_domain")?
                        .as_str()
                        .map(str::to_ascii_lowercase)
                });
                match domain {
                    Some(d) => p.account = Some(d),
                    None => p.status = super::inconclusive("unexpected_response"),
                }
                if p.status == KeyStatus::Active {
                    // 3. Where shop events go: the app's webhook subscriptions.
                    let o = webhooks::list(self, input, &base, client, &mut p.calls).await;
                    p.observations
                        .insert(super::webhooks::OBSERVATION.into(), o);
                }
            }
            Err(e) => {
                if !e.refused_before_sending() {
                    p.calls.push(super::failed_call("GET", &url, &template));
                }
                p.status = super::status_for_error(&e);
            }
        }
        p
    }
}

/// Maps a non-200 admin response to a status; `None` = 200 (go on reading the body).
#[doc(hidden)]
pub fn interpret_error(status: u16, body: Option<serde_json::Value>) -> Option<KeyStatus> {
    let errors = body
        .as_ref()
        .and_then(|b| b.get("errors"))
        .and_then(|e| e.as_str())
        .map(str::to_string);
    match status {
        200 => None,
        // OBSERVED body; invalid, revoked and expired tokens all answer the same.
        401 if errors.as_deref() == Some(INVALID_TOKEN_MESSAGE) => Some(KeyStatus::Invalid),
        // OBSERVED (trufflehog shopifyoauth): unknown shop. The key's validity is unknown.
        404 => Some(super::inconclusive("shop_not_found")),
        // UNCONFIRMED: frozen/unpaid (402) and locked (423) shops; keyed on status only.
        402 => Some(super::inconclusive("shop_frozen")),
        423 => Some(super::inconclusive("shop_locked")),
        _ => Some(super::inconclusive("unexpected_response")),
    }
}

impl Connector for Shopify {
    fn grants(&self) -> Vec<super::Grant> {
        SCOPES
            .iter()
            .map(|(h, c)| super::Grant::new("scope", *h, c))
            .collect()
    }

    fn name(&self) -> &'static str {
        "shopify"
    }

    fn official_hosts(&self) -> &'static [&'static str] {
        OFFICIAL_HOSTS
    }

    fn classify(&self, secret: &Secret) -> Option<Classification> {
        let raw = secret.expose();
        let (key_type, probe) = match raw.split_once('_') {
            Some(("shpat", rest)) if hex32(rest) => ("admin_token", true),
            Some(("shpca", rest)) if hex32(rest) => ("custom_app_token", true),
            Some(("shppa", rest)) if hex32(rest) => ("private_app_token", true),
            // OBSERVED prefix, UNCONFIRMED length: 32 hex assumed.
            Some(("shpua", rest)) if hex32(rest) => ("undecided_app_token", true),
            Some(("shpss", rest)) if hex32(rest) => ("app_secret", false),
            None if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                ("legacy_token", true)
            }
            _ => return None,
        };
        Some(Classification {
            key_type: key_type.into(),
            inventory_type: if probe {
                KeyType::ServerSide
            } else {
                KeyType::SigningSecret
            },
            environment: None,
            not_probed: (!probe).then(|| "app_secret_not_usable_as_token".into()),
        })
    }

    fn plan(&self, input: &ProbeInput<'_>) -> Vec<PlannedCall> {
        let base = self
            .base(input)
            .map(|b| b.as_str().trim_end_matches('/').to_string())
            .unwrap_or_else(|| "https://<shop>.myshopify.com".into());
        let note = self.shop_problem(input).map(|p| format!("not sent: {p}"));
        let mut calls = vec![
            PlannedCall {
                method: "GET".into(),
                url: format!("{base}/admin/oauth/access_scopes.json"),
                note: note.clone(),
            },
            PlannedCall {
                method: "GET".into(),
                url: format!("{base}/admin/api/{API_VERSION}/shop.json?fields={SHOP_QUERY_FIELDS}"),
                note: note.clone(),
            },
            PlannedCall {
                method: "GET".into(),
                url: format!(
                    "{base}/admin/api/{API_VERSION}/webhooks.json?limit={}&fields={}",
                    webhooks::PAGE_LIMIT,
                    webhooks::QUERY_FIELDS
                ),
                note: Some(note.unwrap_or_else(|| {
                    "the app's webhook subscriptions (scheme and host kept); more pages with page_info".into()
                })),
            },
        ];
        if input.audit {
            calls.extend(staff::plan(&base));
        }
        calls
    }

    fn probe<'a>(&'a self, input: ProbeInput<'a>, client: &'a Client) -> BoxFuture<'a, KeyProfile> {
        async move {
            let mut p = self.run_probe(&input, client).await;
            if input.audit {
                self.audit(&input, client, &mut p).await;
            }
            p
        }
        .boxed()
    }

    fn observations(&self) -> &'static [&'static str] {
        &[
            super::webhooks::OBSERVATION,
            staff::STAFF,
            staff::SCRIPT_TAGS,
        ]
    }

    fn audit_needs(&self) -> &'static [super::least_privilege::AuditNeed] {
        staff::AUDIT_NEEDS
    }

    fn emulator(&self) -> Option<crate::emulator::EmulatorSpec> {
        Some(emulator::spec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pinned Admin API version is the one the contract was generated for.
    #[test]
    fn api_version_is_the_contracts() {
        let c: serde_json::Value =
            serde_json::from_str(include_str!("contract.json")).expect("contract");
        assert_eq!(c["api_version"].as_str(), Some(API_VERSION));
    }

    #[test]
    fn shop_fields_asked_for_are_the_fields_kept() {
        let asked: Vec<String> = SHOP_QUERY_FIELDS
            .split(',')
            .map(|f| format!("shop.{f}"))
            .collect();
        assert_eq!(asked, SHOP_FIELDS);
    }

    #[test]
    fn pinned_version_is_one_the_emulator_supports() {
        assert!(emulator::SUPPORTED_VERSIONS.contains(&API_VERSION));
    }
}
