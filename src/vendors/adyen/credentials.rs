//! The Adyen company's API credentials and users, as the audit key (`role: audit`) sees them:
//! `GET /v3/companies/{companyId}/apiCredentials`, `GET /v3/merchants/{merchantId}/apiCredentials`
//! and `GET /v3/companies/{companyId}/users`, page by page up to [`MAX_PAGES`].
//!
//! Read through projections only: a credential's id, roles, allowed IPs and origins, active
//! flag and associated merchant accounts; a user's id, roles and active flag. Names, usernames,
//! e-mails, descriptions and client keys are skipped while parsing, never built.
//!
//! The contract: both lists need a Management API role of their own ("API credentials read and
//! write", "Users read and write"); a key without it gets 403 `00_403`. Pages are 1-based,
//! `pageSize` at most 100, and every answer carries `pagesTotal` and `itemsTotal`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{MeCredential, VENDOR};
use crate::http::Client;
use crate::inventory::model::Environment;
use crate::run::{CallSummary, Observation, ObservationStatus as S, ObservedItem};
use crate::vendors::ProbeInput;
use crate::vendors::least_privilege::AuditNeed;
use crate::vendors::webhooks::{Page, Read, read_list};

/// Observation: every API credential of the company and the merchant accounts it reaches.
pub const CREDENTIALS: &str = "api_credentials";
/// Observation: every user of the company (id, roles, active).
pub const USERS: &str = "users";
/// The role the credential lists need (CONFIRMED: the operations' descriptions).
pub const ROLE_CREDENTIALS: &str = "Management API\u{2014}API credentials read and write";
/// The role the user list needs (CONFIRMED).
pub const ROLE_USERS: &str = "Management API\u{2014}Users read and write";
pub const COMPANY_CREDENTIALS: &str = "/v3/companies/{companyId}/apiCredentials";
pub const MERCHANT_CREDENTIALS: &str = "/v3/merchants/{merchantId}/apiCredentials";
pub const COMPANY_USERS: &str = "/v3/companies/{companyId}/users";
/// Items asked per page (the contract allows 100): a page of credentials, each with its roles
/// and links, must fit the client's body limit ([`crate::http::MAX_BODY_BYTES`]) whole, or the
/// projection cannot parse it.
pub const PAGE_SIZE: u32 = 25;
/// Pages read per list (1,000 items); a longer list is `truncated` and the observation
/// `inconclusive`.
pub const MAX_PAGES: u32 = 40;
/// Merchant accounts whose own credentials are listed (from the company credentials'
/// associated merchant accounts and the audit key's own merchant); more are `truncated`.
pub const MAX_MERCHANTS: usize = 20;

/// The members of a credential page ever built.
pub const CREDENTIAL_FIELDS: &[&str] = &[
    "data.id",
    "data.roles",
    "data.allowedIpAddresses",
    "data.allowedOrigins.domain",
    "data.active",
    "data.associatedMerchantAccounts",
    "pagesTotal",
    "itemsTotal",
];
/// The members of a user page ever built: no name, username or e-mail.
pub const USER_FIELDS: &[&str] = &[
    "data.id",
    "data.roles",
    "data.active",
    "pagesTotal",
    "itemsTotal",
];

/// Adyen's rows of the least-privilege table.
pub const AUDIT_NEEDS: &[AuditNeed] = &[
    AuditNeed {
        vendor: VENDOR,
        observation: CREDENTIALS,
        call: "GET /v3/companies/{companyId}/apiCredentials, GET /v3/merchants/{merchantId}/apiCredentials",
        kind: "role",
        grant: ROLE_CREDENTIALS,
        facts: &[
            "vendor.observed_credentials",
            "vendor.undeclared_credentials",
            "vendor.inactive_declared_keys",
            "vendor.open_payment_credentials",
        ],
    },
    AuditNeed {
        vendor: VENDOR,
        observation: USERS,
        call: "GET /v3/companies/{companyId}/users",
        kind: "role",
        grant: ROLE_USERS,
        facts: &["vendor.observed_users"],
    },
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageWire<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    pages_total: u32,
    #[serde(rename = "itemsTotal")]
    _items_total: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialWire {
    pub id: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub allowed_ip_addresses: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<OriginWire>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub associated_merchant_accounts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OriginWire {
    #[serde(default)]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserWire {
    pub id: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// One page answer of page `page` (the body already projected): its items, and the next page
/// while `pagesTotal` says more follow. A 403 is [`Page::Denied`] only when Adyen says the
/// key lacks the role; a 401 means the key itself was refused.
pub fn interpret_page<T: DeserializeOwned>(status: u16, body: &str, page: u32) -> Page<u32, T> {
    let unexpected = || Page::Failed("unexpected_response".into());
    match status {
        200 => match serde_json::from_str::<PageWire<T>>(body) {
            Ok(p) => Page::Items(p.data, (page < p.pages_total).then_some(page + 1)),
            Err(_) => unexpected(),
        },
        403 => match super::interpret_me(403, body) {
            super::MeOutcome::NoManagementRole => Page::Denied,
            _ => unexpected(),
        },
        401 => Page::Failed("unauthorized".into()),
        s => match crate::vendors::vendor_failure(s) {
            Some(r) => Page::Failed(r.into()),
            None => unexpected(),
        },
    }
}

/// Why a list could not be read completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    Forbidden,
    Inconclusive(String),
}

/// Reads `path` (a concrete path, `template` its pattern) page by page: the items and whether
/// the list was longer than [`MAX_PAGES`].
async fn list<T: DeserializeOwned>(
    input: &ProbeInput<'_>,
    client: &Client,
    env: Environment,
    calls: &mut Vec<CallSummary>,
    path: &str,
    template: &str,
    fields: &'static [&'static str],
) -> Result<(Vec<T>, bool), ListError> {
    let mut items = Vec::new();
    let reader =
        |r: &crate::http::Response, page| interpret_page::<T>(r.status, &super::body_text(r), page);
    let fetch = |page| {
        let at = (path, template);
        super::list_page(input, client, env, at, fields, (page, PAGE_SIZE), reader)
    };
    match read_list(MAX_PAGES as usize, calls, fetch, |data| items.extend(data)).await {
        Read::Done => Ok((items, false)),
        Read::Truncated => Ok((items, true)),
        Read::Denied => Err(ListError::Forbidden),
        Read::Failed(r) => Err(ListError::Inconclusive(r)),
    }
}

fn strs(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// One credential as an observed item.
pub fn credential_item(c: &CredentialWire, level: &str, account: &str) -> ObservedItem {
    let mut a = std::collections::BTreeMap::new();
    a.insert("active".into(), vec![c.active.unwrap_or(false).to_string()]);
    a.insert("roles".into(), strs(&c.roles));
    a.insert("capabilities".into(), super::capabilities_for(&c.roles));
    a.insert("allowed_ips".into(), strs(&c.allowed_ip_addresses));
    let origins: Vec<String> = c
        .allowed_origins
        .iter()
        .filter_map(|o| o.domain.clone())
        .collect();
    a.insert("allowed_origins".into(), strs(&origins));
    a.insert("merchants".into(), strs(&c.associated_merchant_accounts));
    a.insert("level".into(), vec![level.to_string()]);
    a.insert("account".into(), vec![account.to_string()]);
    ObservedItem {
        id: c.id.clone(),
        attributes: a,
    }
}

/// One user as an observed item: id, roles, active; nothing that names a person.
pub fn user_item(u: &UserWire) -> ObservedItem {
    let mut a = std::collections::BTreeMap::new();
    a.insert("active".into(), vec![u.active.unwrap_or(false).to_string()]);
    a.insert("roles".into(), strs(&u.roles));
    ObservedItem {
        id: u.id.clone(),
        attributes: a,
    }
}

fn holds(roles: &[String], role: &str) -> bool {
    let r = super::normalise_role(role);
    roles.iter().any(|x| super::normalise_role(x) == r)
}

fn not_known(call: &str, e: ListError, role: &str) -> Observation {
    match e {
        ListError::Forbidden => Observation::not_known(
            S::Unverifiable,
            call,
            &format!("the audit key lacks the role `{role}` (403)"),
        ),
        ListError::Inconclusive(r) => Observation::not_known(S::Inconclusive, call, &r),
    }
}

fn finish(mut o: Observation, truncated: bool) -> Observation {
    if truncated {
        o.status = S::Inconclusive;
        o.reason = Some(format!(
            "truncated: the list is longer than {MAX_PAGES} pages of {PAGE_SIZE}"
        ));
        o.truncated = true;
    }
    o
}

/// The observations of an audit key whose `/me` answered `me` on `env`; the calls made are
/// added to `calls`.
pub async fn observe(
    input: &ProbeInput<'_>,
    client: &Client,
    env: Environment,
    me: &MeCredential,
    calls: &mut Vec<CallSummary>,
) -> Vec<(&'static str, Observation)> {
    let at = || Some(crate::run::now_rfc3339());
    let cred_call = "GET /v3/companies/{companyId}/apiCredentials";
    let users_call = "GET /v3/companies/{companyId}/users";
    let mut out = vec![];
    // Credentials: the company's, then each reachable merchant's.
    let creds = if !holds(&me.roles, ROLE_CREDENTIALS) {
        Observation::not_known(
            S::Unverifiable,
            cred_call,
            &format!("the audit key lacks the role `{ROLE_CREDENTIALS}`"),
        )
    } else {
        let mut items: Vec<ObservedItem> = vec![];
        let mut lists = vec![];
        let mut truncated = false;
        let mut failure = None;
        // The company's list first; then each merchant account /me or the company's
        // credentials name.
        let mut targets: Vec<(&str, String)> = me
            .company_id
            .iter()
            .map(|c| ("company", c.clone()))
            .collect();
        let mut merchants: Vec<String> = me.merchant_id.iter().cloned().collect();
        let mut merchants_queued = false;
        let mut next = 0;
        while failure.is_none() {
            if next == targets.len() {
                if merchants_queued {
                    break;
                }
                merchants_queued = true;
                merchants.sort();
                merchants.dedup();
                if merchants.len() > MAX_MERCHANTS {
                    truncated = true;
                    merchants.truncate(MAX_MERCHANTS);
                }
                targets.extend(merchants.iter().map(|m| ("merchant", m.clone())));
                continue;
            }
            let (level, account) = targets[next].clone();
            next += 1;
            let (collection, template) = match level {
                "company" => ("companies", COMPANY_CREDENTIALS),
                _ => ("merchants", MERCHANT_CREDENTIALS),
            };
            let path = format!("/v3/{collection}/{account}/apiCredentials");
            let read = list::<CredentialWire>(
                input,
                client,
                env,
                calls,
                &path,
                template,
                CREDENTIAL_FIELDS,
            )
            .await;
            match read {
                Ok((cs, t)) => {
                    truncated |= t;
                    lists.push(format!("{collection}/{account}"));
                    for c in &cs {
                        if level == "company" {
                            merchants.extend(c.associated_merchant_accounts.iter().cloned());
                        }
                        if !items.iter().any(|i| i.id == c.id) {
                            items.push(credential_item(c, level, &account));
                        }
                    }
                }
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) => not_known(cred_call, e, ROLE_CREDENTIALS),
            None if lists.is_empty() => Observation::not_known(
                S::Inconclusive,
                cred_call,
                "the audit key's /me names no company or merchant account",
            ),
            None => {
                items.sort_by(|a, b| a.id.cmp(&b.id));
                let mut o = Observation::observed(cred_call, at(), lists);
                o.items = items;
                finish(o, truncated)
            }
        }
    };
    out.push((CREDENTIALS, creds));
    // Users: the company's.
    let users = if !holds(&me.roles, ROLE_USERS) {
        Observation::not_known(
            S::Unverifiable,
            users_call,
            &format!("the audit key lacks the role `{ROLE_USERS}`"),
        )
    } else if let Some(company) = &me.company_id {
        let path = format!("/v3/companies/{company}/users");
        match list::<UserWire>(input, client, env, calls, &path, COMPANY_USERS, USER_FIELDS).await {
            Ok((us, t)) => {
                let mut o =
                    Observation::observed(users_call, at(), vec![format!("companies/{company}")]);
                o.items = us.iter().map(user_item).collect();
                o.items.sort_by(|a, b| a.id.cmp(&b.id));
                finish(o, t)
            }
            Err(e) => not_known(users_call, e, ROLE_USERS),
        }
    } else {
        Observation::not_known(
            S::Inconclusive,
            users_call,
            "the audit key is a merchant-level credential: company users need a company-level audit key",
        )
    };
    out.push((USERS, users));
    out
}

/// The list calls an audit key makes after `/me` (`--dry-run`): none for other keys.
pub fn plan(input: &ProbeInput<'_>) -> Vec<crate::vendors::PlannedCall> {
    if !input.audit {
        return vec![];
    }
    let paging = format!("?pageNumber=1&pageSize={PAGE_SIZE}");
    [
        (COMPANY_CREDENTIALS, ROLE_CREDENTIALS, "company-level audit key"),
        (MERCHANT_CREDENTIALS, ROLE_CREDENTIALS, "each merchant account /me or the company list names"),
        (COMPANY_USERS, ROLE_USERS, "company-level audit key"),
    ]
    .into_iter()
    .filter_map(|(path, role, when)| {
        let (url, _) =
            super::target(Environment::Test, input.base.as_ref(), "/").ok()?;
        let base = url.as_str().trim_end_matches('/').to_string();
        Some(crate::vendors::PlannedCall {
            method: "GET".into(),
            url: format!("{base}{path}{paging}"),
            note: Some(format!(
                "audit key only, on the host /me answered; {when}; needs `{role}`; next pages up to {MAX_PAGES}"
            )),
        })
    })
    .collect()
}

/// The observations of an audit key whose `/me` gave no credential (`status` of the key).
pub fn not_observed(reason: &str, unverifiable: bool) -> Vec<(&'static str, Observation)> {
    let status = if unverifiable {
        S::Unverifiable
    } else {
        S::Inconclusive
    };
    vec![
        (
            CREDENTIALS,
            Observation::not_known(
                status,
                "GET /v3/companies/{companyId}/apiCredentials",
                reason,
            ),
        ),
        (
            USERS,
            Observation::not_known(status, "GET /v3/companies/{companyId}/users", reason),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_read_through_the_projection() {
        let body = br#"{"_links":{"self":{"href":"x"}},"itemsTotal":1,"pagesTotal":1,"data":[
            {"id":"U1","username":"jane.doe","email":"jane@example.com","name":{"firstName":"Jane","lastName":"Doe"},
             "roles":["Merchant admin"],"active":true,"timeZoneCode":"Europe/Amsterdam"}]}"#;
        let kept = crate::http::project_fields(body, USER_FIELDS).expect("json");
        let kept = String::from_utf8(kept).expect("utf8");
        assert!(!kept.contains("jane") && !kept.contains("Jane") && !kept.contains("Doe"));
        let Page::Items(data, next) = interpret_page::<UserWire>(200, &kept, 1) else {
            panic!("not a page: {kept}")
        };
        assert_eq!(next, None, "page 1 of 1 is the last");
        assert_eq!(data[0].id, "U1");
        let more = kept.replace("\"pagesTotal\":1", "\"pagesTotal\":3");
        assert!(matches!(
            interpret_page::<UserWire>(200, &more, 2),
            Page::Items(_, Some(3))
        ));
        assert!(matches!(
            interpret_page::<UserWire>(200, &more, 3),
            Page::Items(_, None)
        ));
        let item = user_item(&data[0]);
        assert_eq!(item.attributes["roles"], vec!["Merchant admin"]);
        assert_eq!(item.attributes["active"], vec!["true"]);
    }

    #[test]
    fn page_errors() {
        use super::super::emulator::fixtures as f;
        assert_eq!(
            interpret_page::<UserWire>(403, f::FORBIDDEN_403, 1),
            Page::Denied
        );
        assert_eq!(
            interpret_page::<UserWire>(503, "", 1),
            Page::Failed("server_error".into())
        );
        assert_eq!(
            interpret_page::<UserWire>(429, f::TOO_MANY_429, 1),
            Page::Failed("rate_limited".into())
        );
        assert_eq!(
            interpret_page::<UserWire>(200, r#"{"data":[]}"#, 1),
            Page::Failed("unexpected_response".into()),
            "pagesTotal and itemsTotal are required"
        );
        assert_eq!(
            interpret_page::<UserWire>(403, "nope", 1),
            Page::Failed("unexpected_response".into())
        );
    }
}
