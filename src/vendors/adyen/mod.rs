//! Adyen connector: offline key classification, `GET /v3/me` interpretation, role → capability mapping.

pub mod credentials;
pub mod credentials_emulator;
pub mod emulator;
pub mod webhooks;

use std::sync::LazyLock;

use futures::future::BoxFuture;
use regex::Regex;
use reqwest::Method;
use reqwest::header::{HOST, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::capability as cap;
use super::{Classification, Connector, PlannedCall, ProbeInput};
use crate::emulator::EmulatorSpec;
use crate::http::{Auth, BodyRead, Client, HttpError, RateSpec, Request};
use crate::inventory::model::{Environment, KeyType};
use crate::run::{KeyProfile, KeyStatus};
use crate::secret::Secret;

/// Vendor id used in profiles, ledgers and the registry.
pub const VENDOR: &str = "adyen";
/// Management API, test environment (CONFIRMED: adyen-openapi ManagementService-v3 servers).
pub const TEST_HOST: &str = "management-test.adyen.com";
/// Management API, live environment (CONFIRMED: Java SDK maps `-test` to `-live`).
pub const LIVE_HOST: &str = "management-live.adyen.com";
/// The only hosts an Adyen API key is ever sent to.
pub const OFFICIAL_HOSTS: &[&str] = &[TEST_HOST, LIVE_HOST];
/// The one probe: "You can make this request with any of the Management API roles."
pub const ME_PATH: &str = "/v3/me";
/// Authentication header (CONFIRMED: securitySchemes ApiKeyAuth).
pub const AUTH_HEADER: &str = "X-API-Key";

/// API key shape, derived from an observed real key (UNCONFIRMED: no official format).
static API_KEY_STRUCTURED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^AQE[A-Za-z0-9+/]{20,}={0,2}-[A-Za-z0-9+/]{20,}={0,2}-[\x21-\x7e]{4,30}$").ok()
});
/// Fallback API key shape for keys without the three-part structure.
static API_KEY_FALLBACK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^AQE[A-Za-z0-9+/=\-]{60,}$").ok());
/// Client key: public by design (CONFIRMED prefix; length UNCONFIRMED).
static CLIENT_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(test|live)_[A-Z0-9]{32}$").ok());

/// What a raw value is, judged offline from its shape alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `AQE…` server-side API key: probed with `GET /v3/me`.
    ApiKey,
    /// `test_…`/`live_…` client key: public by design and "not used when making requests to
    /// our APIs", so never probed.
    ClientKey(Environment),
    /// Not an Adyen credential: never sent anywhere.
    Unrecognised,
}

fn is_match(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// Classifies a key from its shape; a value that is not an Adyen key is never sent.
pub fn classify(raw: &str) -> Shape {
    if is_match(&API_KEY_STRUCTURED, raw) || is_match(&API_KEY_FALLBACK, raw) {
        return Shape::ApiKey;
    }
    if is_match(&CLIENT_KEY, raw) {
        let env = if raw.starts_with("live_") {
            Environment::Live
        } else {
            Environment::Test
        };
        return Shape::ClientKey(env);
    }
    Shape::Unrecognised
}

/// The Management host of an environment.
pub fn host(env: Environment) -> &'static str {
    match env {
        Environment::Test => TEST_HOST,
        Environment::Live => LIVE_HOST,
    }
}

/// The only members of a `/v3/me` answer ever built (the client key, the description, the
/// certificate subject and the other links are skipped while parsing).
pub const ME_FIELDS: &[&str] = &[
    "id",
    "username",
    "allowedIpAddresses",
    "roles",
    "active",
    "allowedOrigins.domain",
    "companyName",
    "_links.company.href",
    "_links.merchant.href",
];

/// `MeApiCredential` (CONFIRMED schema; required: id, username, clientKey,
/// allowedIpAddresses, roles, active).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeApiCredentialWire {
    id: String,
    username: String,
    allowed_ip_addresses: Vec<String>,
    roles: Vec<String>,
    active: bool,
    #[serde(default)]
    allowed_origins: Vec<AllowedOriginWire>,
    #[serde(default)]
    company_name: Option<String>,
    #[serde(default, rename = "_links")]
    links: LinksWire,
}

#[derive(Debug, Clone, Deserialize)]
struct AllowedOriginWire {
    domain: String,
}

/// `ApiCredentialLinks` (CONFIRMED): `company` only for company-level credentials, `merchant`
/// only for merchant-level ones.
#[derive(Debug, Clone, Default, Deserialize)]
struct LinksWire {
    #[serde(default)]
    company: Option<HrefWire>,
    #[serde(default)]
    merchant: Option<HrefWire>,
}

#[derive(Debug, Clone, Deserialize)]
struct HrefWire {
    #[serde(default)]
    href: Option<String>,
}

impl HrefWire {
    /// The id after `collection` in the link's path: `…/v3/companies/{id}` → `id`.
    fn id_after(&self, collection: &str) -> Option<String> {
        let url = Url::parse(self.href.as_deref()?).ok()?;
        let mut segments = url.path_segments()?;
        segments.find(|s| *s == collection)?;
        segments
            .next()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    }
}

/// The parts of `MeApiCredential` the profile needs (never the client key, description or
/// certificate subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeCredential {
    pub id: String,
    pub username: String,
    /// The company account: from `_links.company`, else parsed from `ws_…@Company.<Company>`,
    /// else `companyName`.
    pub company: Option<String>,
    /// The company account id of a company-level credential (`_links.company`).
    pub company_id: Option<String>,
    /// The merchant account id of a merchant-level credential (`_links.merchant`).
    pub merchant_id: Option<String>,
    pub roles: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub active: bool,
}

/// What one `GET /v3/me` answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeOutcome {
    /// 200 with a well-formed `MeApiCredential`.
    Credential(MeCredential),
    /// 403 `00_403`: the key authenticated but has no Management API role.
    NoManagementRole,
    /// 401 errorCode `010` "Not allowed": the credential is known but refuses this source IP
    /// (`active`, recorded as the restriction `ip_restricted`).
    IpRestricted,
    /// 401 in a recognised shape: the key is not valid in this environment.
    Unauthorized,
    /// Nothing can be concluded (`rate_limited`, `server_error`, `unexpected_response`, …).
    Inconclusive(String),
}

/// Company from an API credential username `ws_123456@Company.YourCompany`.
pub fn company_from_username(username: &str) -> Option<String> {
    let (_, domain) = username.rsplit_once('@')?;
    let company = domain.strip_prefix("Company.")?;
    (!company.is_empty()).then(|| company.to_string())
}

/// The Management API's error body, `RestServiceError` (CONFIRMED: required `type, errorCode,
/// title, detail, status`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestServiceErrorWire {
    #[serde(rename = "type")]
    _type: String,
    error_code: String,
    title: String,
    #[serde(rename = "detail")]
    _detail: String,
    status: u16,
}

/// The Checkout/Classic error body (OBSERVED, vendor-apis.md §4.3: `status, errorCode,
/// message, errorType`), kept because Adyen's edge has answered Management calls with it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClassicErrorWire {
    error_code: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_type: Option<String>,
}

/// Interprets one `/v3/me` response. Unknown shapes are `inconclusive(unexpected_response)`.
pub fn interpret_me(status: u16, body: &str) -> MeOutcome {
    let unexpected = || MeOutcome::Inconclusive("unexpected_response".into());
    match status {
        200 => match serde_json::from_str::<MeApiCredentialWire>(body) {
            Ok(w) => {
                let company_id = w.links.company.and_then(|l| l.id_after("companies"));
                let merchant_id = w.links.merchant.and_then(|l| l.id_after("merchants"));
                let company = company_id
                    .clone()
                    .or_else(|| company_from_username(&w.username))
                    .or_else(|| w.company_name.filter(|c| !c.trim().is_empty()));
                MeOutcome::Credential(MeCredential {
                    id: w.id,
                    username: w.username,
                    company,
                    company_id,
                    merchant_id,
                    roles: w.roles,
                    allowed_ips: w.allowed_ip_addresses,
                    allowed_origins: w.allowed_origins.into_iter().map(|o| o.domain).collect(),
                    active: w.active,
                })
            }
            Err(_) => unexpected(),
        },
        401 => interpret_401(body).unwrap_or_else(unexpected),
        403 => match serde_json::from_str::<RestServiceErrorWire>(body) {
            // OBSERVED (Adyen SDK tests): {"type":…/forbidden,"title":"Forbidden","status":403,
            // "detail":"Not allowed","errorCode":"00_403"}
            Ok(e) if e.error_code == "00_403" || (e.title == "Forbidden" && e.status == 403) => {
                MeOutcome::NoManagementRole
            }
            _ => unexpected(),
        },
        429 => MeOutcome::Inconclusive("rate_limited".into()),
        500..=599 => MeOutcome::Inconclusive("server_error".into()),
        _ => unexpected(),
    }
}

/// The 401 shapes: the contract's `RestServiceError` (errorCode `010` "Not allowed" is the IP
/// allow-list refusal; any other code is an unauthorised key), then the shapes OBSERVED on
/// Adyen's other APIs and documented in vendor-apis.md §4.3: the Checkout/Classic JSON, plain
/// text `000 HTTP Status Response - Unauthorized` / `010 Not allowed`, and an empty body.
fn interpret_401(body: &str) -> Option<MeOutcome> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Some(MeOutcome::Unauthorized);
    }
    let code = |c: &str| match c {
        "010" => Some(MeOutcome::IpRestricted),
        _ => Some(MeOutcome::Unauthorized),
    };
    if let Ok(e) = serde_json::from_str::<RestServiceErrorWire>(trimmed) {
        return code(&e.error_code);
    }
    if let Ok(e) = serde_json::from_str::<ClassicErrorWire>(trimmed) {
        let security = e.error_type.as_deref() == Some("security")
            || e.message
                .as_deref()
                .is_some_and(|m| m.contains("Unauthorized"));
        return match e.error_code.as_str() {
            "010" | "000" => code(&e.error_code),
            _ if security => Some(MeOutcome::Unauthorized),
            _ => None,
        };
    }
    if trimmed.starts_with("010") && trimmed.contains("Not allowed") {
        return Some(MeOutcome::IpRestricted);
    }
    if trimmed.starts_with("000") && trimmed.contains("Unauthorized") {
        return Some(MeOutcome::Unauthorized);
    }
    None
}

/// The environment to try after `outcome` on `env`, if any: test first; a live key only
/// authenticates on the live host, so a 401 (or an inconclusive answer) on test moves on.
pub fn next_environment(env: Environment, outcome: &MeOutcome) -> Option<Environment> {
    match (env, outcome) {
        (Environment::Test, MeOutcome::Unauthorized | MeOutcome::Inconclusive(_)) => {
            Some(Environment::Live)
        }
        _ => None,
    }
}

/// Role strings use an em dash (U+2014); tolerate en dashes and spaced hyphens too.
pub(crate) fn normalise_role(role: &str) -> String {
    role.replace(['\u{2014}', '\u{2013}'], "-")
        .replace(" - ", "-")
        .replace(" -", "-")
        .replace("- ", "-")
        .trim()
        .to_lowercase()
}

const PAY_REFUND: &[&str] = &[cap::PAYMENTS_WRITE, cap::REFUNDS_WRITE];

/// Role → capabilities, as Adyen writes the role names (matched after normalising dashes and
/// case): the one table the probe and `policy capabilities` read.
pub const ROLES: &[(&str, &[&str])] = &[
    ("Merchant Report Download role", &[cap::REPORTS_DOWNLOAD]),
    ("Merchant Rss feed role", &[cap::REPORTS_READ]),
    ("Merchant PAL Webservice role", PAY_REFUND),
    ("Checkout webservice role", PAY_REFUND),
    (
        "Merchant Recurring role",
        &[cap::CUSTOMERS_READ, cap::PAYMENTS_WRITE],
    ),
    ("Data Protection API", &[cap::CUSTOMERS_DELETE]),
    (
        "API PCI Payments role",
        &[cap::PAYMENTS_WRITE, cap::PAYMENTS_CARD_DATA],
    ),
    ("Checkout encrypted cardholder data", &[cap::PAYMENTS_WRITE]),
    // Can mint keys or users with any role: privilege escalation.
    (
        "Management API \u{2014} API credentials read and write",
        &[cap::CREDENTIALS_MANAGE],
    ),
    (
        "Management API \u{2014} Users read and write",
        &[cap::CREDENTIALS_MANAGE],
    ),
    (
        "Management API \u{2014} Webhooks read and write",
        &[cap::WEBHOOKS_MANAGE],
    ),
    (
        "Management API \u{2014} Webhooks read",
        &[cap::WEBHOOKS_READ],
    ),
    // Can redirect payouts to another bank account.
    (
        "Management API \u{2014} Payout account settings read and write",
        &[cap::PAYOUTS_WRITE],
    ),
    ("Management API \u{2014} Account read", &[cap::ACCOUNT_READ]),
];

/// Every other Management API role, by the end of its name (`…` stands for any words).
pub const ROLE_PATTERNS: &[(&str, &[&str])] = &[
    (
        "Management API \u{2014} \u{2026} read and write",
        &[cap::ACCOUNT_WRITE],
    ),
    (
        "Management API \u{2014} \u{2026} read",
        &[cap::ACCOUNT_READ],
    ),
];

/// Normalised capabilities of one role (empty for roles with no mapped capability).
pub fn role_capabilities(role: &str) -> &'static [&'static str] {
    let r = normalise_role(role);
    if let Some((_, caps)) = ROLES.iter().find(|(name, _)| normalise_role(name) == r) {
        return caps;
    }
    let management = r.starts_with("management api-");
    let pattern = if management && r.ends_with("read and write") {
        ROLE_PATTERNS.first()
    } else if management && r.ends_with(" read") {
        ROLE_PATTERNS.get(1)
    } else {
        None
    };
    pattern.map(|(_, caps)| *caps).unwrap_or(&[])
}

/// Sorted, de-duplicated capabilities of a role list.
pub fn capabilities_for(roles: &[String]) -> Vec<String> {
    let mut caps: Vec<String> = roles
        .iter()
        .flat_map(|r| role_capabilities(r).iter().map(|c| c.to_string()))
        .collect();
    caps.sort();
    caps.dedup();
    caps
}

/// Whether the declared `expected_account` names this company or merchant account (`X`,
/// `Company.X` or `MerchantAccount.X`).
pub fn account_matches(expected: Option<&str>, account: Option<&str>) -> Option<bool> {
    let expected = expected?.trim();
    let account = account?;
    let expected = ["Company.", "MerchantAccount."]
        .iter()
        .find_map(|p| expected.strip_prefix(p))
        .unwrap_or(expected);
    Some(expected == account)
}

/// The profile of a key that was never sent (client key, wrong format).
pub fn offline_profile(shape: Shape) -> Option<KeyProfile> {
    let (status, key_type, env) = match shape {
        Shape::ApiKey => return None,
        Shape::ClientKey(env) => (
            KeyStatus::NotProbed("public_by_design".into()),
            Some("publishable".to_string()),
            Some(env),
        ),
        Shape::Unrecognised => (
            KeyStatus::Inconclusive("format_mismatch".into()),
            None,
            None,
        ),
    };
    let mut p = empty_profile(status);
    p.key_type = key_type;
    p.environment = env;
    Some(p)
}

/// A profile with just a status, not yet stamped with a probe time.
fn empty_profile(status: KeyStatus) -> KeyProfile {
    KeyProfile {
        probed_at: None,
        ..super::profile(VENDOR, status)
    }
}

/// Builds the profile from the `/v3/me` outcomes in the order they were obtained (test, then
/// maybe live). `calls` is left for the caller to fill.
pub fn conclude(
    outcomes: &[(Environment, MeOutcome)],
    expected_account: Option<&str>,
) -> KeyProfile {
    let decisive = outcomes.iter().find(|(_, o)| {
        matches!(
            o,
            MeOutcome::Credential(_) | MeOutcome::NoManagementRole | MeOutcome::IpRestricted
        )
    });
    let Some((env, outcome)) = decisive else {
        let inconclusive = outcomes.iter().find_map(|(_, o)| match o {
            MeOutcome::Inconclusive(r) => Some(r.clone()),
            _ => None,
        });
        return match inconclusive {
            Some(reason) => empty_profile(KeyStatus::Inconclusive(reason)),
            None if outcomes.is_empty() => {
                empty_profile(KeyStatus::Inconclusive("not_probed".into()))
            }
            // 401 on both hosts: Adyen does not tell a deleted key from a mistyped one.
            None => empty_profile(KeyStatus::Invalid),
        };
    };
    let mut p = empty_profile(KeyStatus::Active);
    p.key_type = Some("api_key".into());
    p.environment = Some(*env);
    match outcome {
        MeOutcome::Credential(c) => {
            if !c.active {
                p.status = KeyStatus::Revoked;
            }
            p.credential_id = Some(c.id.clone());
            p.account = c.company.clone();
            let ids = [("company", &c.company_id), ("merchant", &c.merchant_id)];
            for (kind, id) in ids {
                if let Some(id) = id {
                    p.account_ids.insert(kind.into(), id.clone());
                }
            }
            p.granted = c.roles.clone();
            p.capabilities = capabilities_for(&c.roles);
            p.restrictions
                .insert("allowed_ips".into(), c.allowed_ips.clone());
            p.restrictions
                .insert("allowed_origins".into(), c.allowed_origins.clone());
            // Schema text: an empty list allows requests from any IP.
            p.restrictions
                .insert("any_ip".into(), vec![c.allowed_ips.is_empty().to_string()]);
        }
        MeOutcome::NoManagementRole => {
            // Authenticated (403, not 401) but no Management API role: no read-only call
            // can list its roles.
            p.unverifiable = vec![
                "roles".into(),
                "restrictions.allowed_ips".into(),
                "restrictions.allowed_origins".into(),
            ];
        }
        MeOutcome::IpRestricted => {
            // The credential exists (an unknown key gets `000`, not `010`) and its IP
            // allow-list refuses this source address: recorded as a restriction. Its roles and
            // the list itself cannot be read from here.
            p.restrictions
                .insert("ip_restricted".into(), vec!["true".into()]);
            p.restrictions.insert("any_ip".into(), vec!["false".into()]);
            p.unverifiable = vec![
                "roles".into(),
                "restrictions.allowed_ips".into(),
                "restrictions.allowed_origins".into(),
            ];
        }
        MeOutcome::Unauthorized | MeOutcome::Inconclusive(_) => {}
    }
    p.account_matches = expected_account.and_then(|e| super::account_verdict(&Adyen, e, &p));
    p
}

/// Management API rate limits are not documented (UNCONFIRMED): a conservative assumption,
/// of which the client spends its configured share.
pub const ASSUMED_RATE_PER_SECOND: f64 = 10.0;

/// The Adyen connector.
pub struct Adyen;

/// URL and extra headers for `path` (and query) on `env`: the official host, or the override
/// base with a `Host` header naming the official host (so one emulator can play both).
pub(crate) fn target(
    env: Environment,
    base: Option<&Url>,
    path: &str,
) -> Result<(Url, Vec<(HeaderName, HeaderValue)>), HttpError> {
    match base {
        None => Url::parse(&format!("https://{}{path}", host(env)))
            .map(|u| (u, vec![]))
            .map_err(|e| HttpError::BadUrl(e.to_string())),
        Some(b) => Ok((
            super::join(b, path)?,
            vec![(HOST, HeaderValue::from_static(host(env)))],
        )),
    }
}

/// One page of a Management API list: `path` (concrete; `template` its pattern) at page
/// `page` (`None`: the first) of `size`, its body projected to `fields` and read by `read`
/// (which gets the page number); with the call made. The webhook, credential and user lists
/// all page this way.
pub(crate) async fn list_page<T>(
    input: &ProbeInput<'_>,
    client: &Client,
    env: Environment,
    (path, template): (&str, &str),
    fields: &'static [&'static str],
    (page, size): (Option<u32>, u32),
    read: impl FnOnce(&crate::http::Response, u32) -> super::webhooks::Page<u32, T>,
) -> (super::webhooks::Page<u32, T>, Vec<crate::run::CallSummary>) {
    let page = page.unwrap_or(1);
    let pq = format!("{path}?pageNumber={page}&pageSize={size}");
    let template = format!("{template}?pageNumber&pageSize");
    let req = match request(input, env, &pq, &template, fields) {
        Ok(r) => r,
        Err(e) => return (super::webhooks::Page::Failed(e.reason().into()), vec![]),
    };
    let url = req.url.clone();
    super::webhooks::page_of(&url, &template, client.send(req).await, |r| read(r, page))
}

/// The GET of `path` (and query) on `env` with the key, reading only `fields`.
pub(crate) fn request<'a>(
    input: &'a ProbeInput<'a>,
    env: Environment,
    path: &str,
    template: &str,
    fields: &'static [&'static str],
) -> Result<Request<'a>, HttpError> {
    let (url, headers) = target(env, input.base.as_ref(), path)?;
    Ok(Request {
        method: Method::GET,
        url,
        template: template.into(),
        official_hosts: OFFICIAL_HOSTS,
        auth: Auth::Header(AUTH_HEADER, input.secret),
        headers,
        api_version: None,
        rates: vec![RateSpec {
            bucket: format!("{VENDOR}:{}", host(env)),
            per_second: ASSUMED_RATE_PER_SECOND,
        }],
        budget_header: None,
        body: BodyRead::Fields(fields),
        who: input.who(VENDOR),
    })
}

impl Connector for Adyen {
    fn observations(&self) -> &'static [&'static str] {
        &[
            super::webhooks::OBSERVATION,
            credentials::CREDENTIALS,
            credentials::USERS,
        ]
    }

    fn audit_needs(&self) -> &'static [super::least_privilege::AuditNeed] {
        credentials::AUDIT_NEEDS
    }

    fn grants(&self) -> Vec<super::Grant> {
        let mut out: Vec<super::Grant> = ROLES
            .iter()
            .map(|(r, c)| super::Grant::new("role", *r, c))
            .collect();
        out.extend(
            ROLE_PATTERNS
                .iter()
                .map(|(r, c)| super::Grant::new("role", *r, c)),
        );
        out.push(super::Grant {
            note: Some("public by design and never probed"),
            ..super::Grant::new("key_type", "client key (test_/live_)", &[])
        });
        out
    }

    fn name(&self) -> &'static str {
        VENDOR
    }

    fn official_hosts(&self) -> &'static [&'static str] {
        OFFICIAL_HOSTS
    }

    fn classify(&self, secret: &Secret) -> Option<Classification> {
        match classify(secret.expose()) {
            Shape::ApiKey => Some(Classification {
                key_type: "api_key".into(),
                inventory_type: KeyType::ServerSide,
                environment: None,
                not_probed: None,
            }),
            Shape::ClientKey(env) => Some(Classification {
                key_type: "client_key".into(),
                inventory_type: KeyType::Publishable,
                environment: Some(env),
                not_probed: Some("public_by_design".into()),
            }),
            Shape::Unrecognised => None,
        }
    }

    fn plan(&self, input: &ProbeInput<'_>) -> Vec<PlannedCall> {
        [Environment::Test, Environment::Live]
            .into_iter()
            .filter_map(|env| {
                let (url, headers) = target(env, input.base.as_ref(), ME_PATH).ok()?;
                let mut notes = vec![];
                if env == Environment::Live {
                    notes.push("only if the test host answers 401 or fails".to_string());
                }
                if !headers.is_empty() {
                    notes.push(format!("Host: {}", host(env)));
                }
                Some(PlannedCall {
                    method: "GET".into(),
                    url: crate::http::display_url(&url, ME_PATH),
                    note: (!notes.is_empty()).then(|| notes.join("; ")),
                })
            })
            .chain(
                [webhooks::COMPANY_PATH, webhooks::MERCHANT_PATH]
                    .into_iter()
                    .filter_map(|t| {
                        let (url, _) =
                            target(Environment::Test, input.base.as_ref(), ME_PATH).ok()?;
                        let url = crate::http::display_url(&url, "");
                        Some(PlannedCall {
                            method: "GET".into(),
                            url: format!("{url}{t}?pageNumber&pageSize"),
                            note: Some(
                                "only with the role Management API\u{2014}Webhooks read, for the account /v3/me links to (on the environment that answered)"
                                    .into(),
                            ),
                        })
                    }),
            )
            .chain(credentials::plan(input))
            .collect()
    }

    fn probe<'a>(&'a self, input: ProbeInput<'a>, client: &'a Client) -> BoxFuture<'a, KeyProfile> {
        Box::pin(probe(input, client))
    }

    fn emulator(&self) -> Option<EmulatorSpec> {
        Some(emulator::spec())
    }

    fn account_matches(&self, expected: &str, account: &str) -> Option<bool> {
        account_matches(Some(expected), Some(account))
    }
}

/// The (projected) body of an answer as text.
pub(crate) fn body_text(resp: &crate::http::Response) -> String {
    resp.body
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned()
}

/// `GET /v3/me` on test, then on live when test refuses; never anything else.
pub async fn probe(input: ProbeInput<'_>, client: &Client) -> KeyProfile {
    let mut outcomes = vec![];
    let mut calls = vec![];
    let mut env = Environment::Test;
    loop {
        let req = match request(&input, env, ME_PATH, ME_PATH, ME_FIELDS) {
            Ok(r) => r,
            Err(e) => {
                let mut p = empty_profile(super::status_for_error(&e));
                p.calls = calls;
                return p;
            }
        };
        let url = req.url.clone();
        let outcome = match client.send(req).await {
            Ok(resp) => {
                calls.push(resp.call.clone());
                interpret_me(resp.status, &body_text(&resp))
            }
            Err(e) => {
                calls.push(super::failed_call("GET", &url, ME_PATH));
                if e.refused_before_sending() {
                    let mut p = empty_profile(super::status_for_error(&e));
                    p.calls = calls;
                    return p;
                }
                MeOutcome::Inconclusive(e.reason().into())
            }
        };
        let next = next_environment(env, &outcome);
        outcomes.push((env, outcome));
        match next {
            Some(n) => env = n,
            None => break,
        }
    }
    let mut p = conclude(&outcomes, input.expected_account.as_deref());
    if p.status == KeyStatus::Active {
        let o = webhooks::observe(&input, client, &p, &mut calls).await;
        p.observations
            .insert(super::webhooks::OBSERVATION.into(), o);
    }
    if input.audit {
        let observations = match outcomes.iter().find_map(|(env, o)| match o {
            MeOutcome::Credential(c) => Some((*env, c)),
            _ => None,
        }) {
            Some((env, c)) if c.active => {
                credentials::observe(&input, client, env, c, &mut calls).await
            }
            Some(_) => credentials::not_observed("the audit key is inactive at Adyen", false),
            None => audit_not_observed(&outcomes),
        };
        for (name, o) in observations {
            p.observations.insert(name.into(), o);
        }
    }
    p.calls = calls;
    p
}

/// Why an audit key whose `/me` showed no credential observed nothing.
fn audit_not_observed(
    outcomes: &[(Environment, MeOutcome)],
) -> Vec<(&'static str, crate::run::Observation)> {
    let roles = format!(
        "`{}` and `{}`",
        credentials::ROLE_CREDENTIALS,
        credentials::ROLE_USERS
    );
    let decisive = outcomes
        .iter()
        .map(|(_, o)| o)
        .find(|o| !matches!(o, MeOutcome::Unauthorized | MeOutcome::Inconclusive(_)));
    match decisive {
        Some(MeOutcome::NoManagementRole) => credentials::not_observed(
            &format!("the audit key has no Management API role (needs {roles})"),
            true,
        ),
        Some(MeOutcome::IpRestricted) => credentials::not_observed(
            "ip_restricted: the audit key's IP allowlist refuses this host",
            false,
        ),
        _ => {
            let why = outcomes
                .iter()
                .find_map(|(_, o)| match o {
                    MeOutcome::Inconclusive(r) => Some(r.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "the audit key was refused (401)".into());
            credentials::not_observed(&why, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AQEyhmfxK4PJahZCw0m/n3Q5qf3VaY9UCJ1+XWZe9W27jmlZiv4PD4jhfNMofnLr2K5i8/0QwV1bDb7kfNy1WIxIIkxgBw==-kiN9mMBn4tQgNYm4kBeMlKVYRdVHqWaPbM5lvGgk5C80=-i1i:ZYyURy3sT98pv}v";

    #[test]
    fn classifies_shapes() {
        assert_eq!(classify(KEY), Shape::ApiKey);
        assert_eq!(
            classify("test_SNY6SRDLZVGH3B2I53CCV2YK6YIOK4H7"),
            Shape::ClientKey(Environment::Test)
        );
        assert_eq!(
            classify("live_SNY6SRDLZVGH3B2I53CCV2YK6YIOK4H7"),
            Shape::ClientKey(Environment::Live)
        );
        assert_eq!(classify("AQEshort"), Shape::Unrecognised);
        assert_eq!(classify("sk_live_abc"), Shape::Unrecognised);
        assert_eq!(classify(&format!("{KEY}\nX-Other: 1")), Shape::Unrecognised);
        assert_eq!(classify(""), Shape::Unrecognised);
    }

    #[test]
    fn offline_profiles_never_probe() {
        assert!(offline_profile(Shape::ApiKey).is_none());
        let p = offline_profile(Shape::Unrecognised).expect("profile");
        assert_eq!(p.status, KeyStatus::Inconclusive("format_mismatch".into()));
        let p = offline_profile(Shape::ClientKey(Environment::Live)).expect("profile");
        assert_eq!(p.environment, Some(Environment::Live));
        assert_eq!(p.key_type.as_deref(), Some("publishable"));
    }

    #[test]
    fn parses_me_credential() {
        let roles = [
            "Management API\u{2014}Account read",
            "Checkout webservice role",
            "Merchant Report Download role",
        ];
        let me = emulator::Me {
            env: Environment::Test,
            id: "S2-6262224667",
            username: "ws_1@Company.YourCompany",
            company: "YourCompany",
            company_name: "Your Company Ltd",
            merchant: None,
            roles: &roles,
            allowed_ips: &[],
            origins: &["https://www.eu.mystore.com"],
            active: true,
        };
        let body = emulator::me_body(&me);
        let MeOutcome::Credential(c) = interpret_me(200, &body) else {
            panic!("not a credential")
        };
        assert_eq!(c.company.as_deref(), Some("YourCompany"));
        assert_eq!(c.company_id.as_deref(), Some("YourCompany"));
        assert_eq!(c.merchant_id, None);
        assert_eq!(c.allowed_origins, vec!["https://www.eu.mystore.com"]);
        assert_eq!(
            capabilities_for(&c.roles),
            vec![
                "account.read",
                "payments.write",
                "refunds.write",
                "reports.download"
            ]
        );
        // A merchant-level credential links its merchant account and no company.
        let body = emulator::me_body(&emulator::Me {
            merchant: Some("YourCompanyECOM"),
            ..me
        });
        let MeOutcome::Credential(c) = interpret_me(200, &body) else {
            panic!("not a credential")
        };
        assert_eq!(c.company_id, None);
        assert_eq!(
            c.company.as_deref(),
            Some("YourCompany"),
            "from the username"
        );
        assert_eq!(c.merchant_id.as_deref(), Some("YourCompanyECOM"));
    }

    #[test]
    fn links_are_read_through_the_projection() {
        let body = br#"{"id":"S2-1","username":"ws@Company.A","clientKey":"test_X",
            "allowedIpAddresses":[],"roles":[],"active":true,"description":"Jane jane@example.com",
            "_links":{"self":{"href":"https://management-test.adyen.com/v3/me"},
            "merchant":{"href":"https://management-test.adyen.com/v3/merchants/M_1"}}}"#;
        let kept = crate::http::project_fields(body, ME_FIELDS).expect("json");
        let kept = String::from_utf8(kept).expect("utf8");
        assert!(!kept.contains("jane") && !kept.contains("test_X") && !kept.contains("\"self\""));
        let MeOutcome::Credential(c) = interpret_me(200, &kept) else {
            panic!("not a credential: {kept}")
        };
        assert_eq!(c.merchant_id.as_deref(), Some("M_1"));
    }

    #[test]
    fn company_from_username_fallback() {
        let body = r#"{"id":"S2-1","username":"ws_123456@Company.Acme","clientKey":"test_X","allowedIpAddresses":["1.2.3.4"],"roles":[],"active":true}"#;
        let MeOutcome::Credential(c) = interpret_me(200, body) else {
            panic!("not a credential")
        };
        assert_eq!(c.company.as_deref(), Some("Acme"));
        assert_eq!(company_from_username("ws@Merchant.X"), None);
    }

    #[test]
    fn missing_required_field_is_unexpected() {
        let body = r#"{"id":"S2-1","username":"ws_1@Company.Acme","roles":[],"active":true}"#;
        assert_eq!(
            interpret_me(200, body),
            MeOutcome::Inconclusive("unexpected_response".into())
        );
        assert_eq!(
            interpret_me(200, "<html>"),
            MeOutcome::Inconclusive("unexpected_response".into())
        );
    }

    #[test]
    fn error_bodies() {
        use emulator::fixtures as f;
        assert_eq!(
            interpret_me(403, f::FORBIDDEN_403),
            MeOutcome::NoManagementRole
        );
        for b in [
            f::UNAUTHORIZED_REST_401,
            f::UNAUTHORIZED_CLASSIC_401,
            f::UNAUTHORIZED_PLAIN_401,
            "",
        ] {
            assert_eq!(interpret_me(401, b), MeOutcome::Unauthorized, "{b}");
        }
        for b in [
            f::IP_NOT_ALLOWED_CLASSIC_401,
            f::IP_NOT_ALLOWED_REST_401,
            f::IP_NOT_ALLOWED_PLAIN_401,
        ] {
            assert_eq!(interpret_me(401, b), MeOutcome::IpRestricted, "{b}");
        }
        assert_eq!(
            interpret_me(429, f::TOO_MANY_429),
            MeOutcome::Inconclusive("rate_limited".into())
        );
        assert_eq!(
            interpret_me(503, ""),
            MeOutcome::Inconclusive("server_error".into())
        );
        for (s, b) in [
            (401, "<html>denied</html>"),
            // Neither a RestServiceError (required fields missing) nor the Classic envelope.
            (401, r#"{"title":"Unauthorized","status":401}"#),
            (403, r#"{"errorCode":"00_403"}"#),
            (403, "nope"),
            (422, "{}"),
            (302, ""),
        ] {
            assert_eq!(
                interpret_me(s, b),
                MeOutcome::Inconclusive("unexpected_response".into()),
                "{s}"
            );
        }
    }

    #[test]
    fn role_mapping_tolerates_dashes() {
        for r in [
            "Management API\u{2014}API credentials read and write",
            "Management API \u{2013} API credentials read and write",
            "Management API - API credentials read and write",
        ] {
            assert_eq!(role_capabilities(r), &["credentials.manage"], "{r}");
        }
        assert_eq!(
            role_capabilities("Management API\u{2014}Webhooks read and write"),
            &["webhooks.manage"]
        );
        assert_eq!(
            role_capabilities("Management API\u{2014}Users read and write"),
            &["credentials.manage"]
        );
        assert_eq!(
            role_capabilities("Management API\u{2014}Terminal settings read"),
            &["account.read"]
        );
        assert_eq!(
            role_capabilities("Management API\u{2014}Stores read and write"),
            &["account.write"]
        );
        assert_eq!(
            role_capabilities("Management API\u{2014}Payout account settings read and write"),
            &["payouts.write"]
        );
        assert!(role_capabilities("Some future role").is_empty());
    }

    #[test]
    fn environment_order() {
        assert_eq!(
            next_environment(Environment::Test, &MeOutcome::Unauthorized),
            Some(Environment::Live)
        );
        assert_eq!(
            next_environment(Environment::Test, &MeOutcome::NoManagementRole),
            None
        );
        assert_eq!(
            next_environment(Environment::Test, &MeOutcome::IpRestricted),
            None
        );
        assert_eq!(
            next_environment(Environment::Live, &MeOutcome::Unauthorized),
            None
        );
    }

    #[test]
    fn conclusions() {
        let cred = |active, ips: Vec<String>| {
            MeOutcome::Credential(MeCredential {
                id: "S2-1".into(),
                username: "ws_1@Company.Acme".into(),
                company: Some("Acme".into()),
                company_id: None,
                merchant_id: Some("AcmeECOM".into()),
                roles: vec!["Merchant Report Download role".into()],
                allowed_ips: ips,
                allowed_origins: vec![],
                active,
            })
        };
        let p = conclude(
            &[
                (Environment::Test, MeOutcome::Unauthorized),
                (Environment::Live, cred(true, vec![])),
            ],
            Some("Company.Acme"),
        );
        assert_eq!(p.status, KeyStatus::Active);
        assert_eq!(p.environment, Some(Environment::Live));
        assert_eq!(p.account_matches, Some(true));
        assert_eq!(p.restrictions["any_ip"], vec!["true"]);
        assert_eq!(p.capabilities, vec!["reports.download"]);

        let p = conclude(
            &[(Environment::Test, cred(false, vec!["1.1.1.1".into()]))],
            Some("Other"),
        );
        assert_eq!(p.status, KeyStatus::Revoked);
        assert_eq!(p.account_matches, Some(false));
        assert_eq!(p.restrictions["any_ip"], vec!["false"]);

        let p = conclude(&[(Environment::Test, MeOutcome::NoManagementRole)], None);
        assert_eq!(p.status, KeyStatus::Active);
        assert!(p.unverifiable.contains(&"roles".to_string()));

        let p = conclude(&[(Environment::Test, MeOutcome::IpRestricted)], None);
        assert_eq!(p.status, KeyStatus::Active);
        assert_eq!(p.restrictions["ip_restricted"], vec!["true"]);

        let p = conclude(
            &[
                (Environment::Test, MeOutcome::Unauthorized),
                (Environment::Live, MeOutcome::Unauthorized),
            ],
            None,
        );
        assert_eq!(p.status, KeyStatus::Invalid);

        let p = conclude(
            &[
                (
                    Environment::Test,
                    MeOutcome::Inconclusive("server_error".into()),
                ),
                (Environment::Live, MeOutcome::Unauthorized),
            ],
            None,
        );
        assert_eq!(p.status, KeyStatus::Inconclusive("server_error".into()));
    }
}
