//! The Adyen emulator's credential and user lists: `GET /v3/companies/{companyId}/apiCredentials`,
//! `GET /v3/merchants/{merchantId}/apiCredentials`, `GET /v3/companies/{companyId}/users`.
//!
//! As the contract says: each list needs its Management API role (403 `00_403` without it);
//! `pageNumber` (1-based) and `pageSize` (default 10, at most 100) page it, every answer carries
//! `itemsTotal`, `pagesTotal` and `_links` (`self`, `first`, `last`, `next`/`prev` where they
//! exist); any other query parameter is a 400 (the user list also takes `username`).
//!
//! The data: every emulated Adyen key is an API credential of its company (`account`), or of
//! its merchant account (`extra.merchant_id`); its id is `extra.credential_id` or derived from
//! the key. Each credential carries a `username`, a `clientKey` and a `description` naming a
//! person ([`crate::emulator::PLANTED_PII`]), as real ones can. The company has three users with
//! names, usernames and e-mails (planted); `extra.generated_credentials: [N]` and
//! `extra.generated_users: [N]` on the calling key add N more (long lists, truncation).
//! Per-key or vendor-wide variants `api_credentials: server_error` and `users: server_error`
//! make the list answer a 500 while `/me` still works.

use crate::emulator::{EmuState, EmulatorKey, KeyState, planted};
use crate::inventory::model::Environment;

use super::credentials::{ROLE_CREDENTIALS, ROLE_USERS};
use super::emulator::fixtures;

/// Which list a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    CompanyCredentials(String),
    MerchantCredentials(String),
    CompanyUsers(String),
}

/// The list `path` names, if any.
pub fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "v3", "companies", id, "apiCredentials"] if !id.is_empty() => {
            Some(Route::CompanyCredentials(id.to_string()))
        }
        ["", "v3", "merchants", id, "apiCredentials"] if !id.is_empty() => {
            Some(Route::MerchantCredentials(id.to_string()))
        }
        ["", "v3", "companies", id, "users"] if !id.is_empty() => {
            Some(Route::CompanyUsers(id.to_string()))
        }
        _ => None,
    }
}

/// The credential id of an emulated key: `extra.credential_id`, else derived from the key.
pub fn credential_id(k: &EmulatorKey) -> String {
    if let Some(id) = k.extra.get("credential_id").and_then(|v| v.first()) {
        return id.clone();
    }
    // FNV-1a: stable across runs, and the key cannot be read back from it.
    let h = k.key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("S2-{:010}", h % 10_000_000_000)
}

fn extra(k: &EmulatorKey, name: &str) -> Vec<String> {
    k.extra.get(name).cloned().unwrap_or_default()
}

fn count(k: &EmulatorKey, name: &str) -> usize {
    extra(k, name)
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn holds(k: &EmulatorKey, role: &str) -> bool {
    let r = super::normalise_role(role);
    k.grants.iter().any(|g| super::normalise_role(g) == r)
}

fn merchant_of(k: &EmulatorKey) -> Option<String> {
    k.extra.get("merchant_id").and_then(|v| v.first()).cloned()
}

fn env_of(k: &EmulatorKey) -> Environment {
    match k
        .extra
        .get("environment")
        .and_then(|v| v.first())
        .map(String::as_str)
    {
        Some("live") => Environment::Live,
        _ => Environment::Test,
    }
}

/// `CompanyApiCredential` / `ApiCredential` of one emulated key (CONFIRMED shape).
fn credential_json(st: &EmuState, k: &EmulatorKey, base: &str) -> serde_json::Value {
    let id = credential_id(k);
    let mut v = serde_json::json!({
        "id": id,
        "username": k.extra.get("username").and_then(|v| v.first()).cloned()
            .unwrap_or_else(|| format!("ws@Company.{}", k.account.as_deref().unwrap_or("Company"))),
        "clientKey": "test_EMULATOREMULATOREMULATOREMULAT",
        "allowedIpAddresses": extra(k, "allowed_ips"),
        "allowedOrigins": extra(k, "allowed_origins").iter().enumerate().map(|(i, d)| serde_json::json!({
            "id": format!("S2-origin-{i}"), "domain": d})).collect::<Vec<_>>(),
        "roles": k.grants,
        "active": k.state == KeyState::Active && st.variant(Some(k), "revoked").is_none(),
        "description": format!("{} {}", planted("name"), planted("email")),
        "_links": {"self": {"href": format!("{base}/apiCredentials/{id}")}},
    });
    if merchant_of(k).is_none() {
        v["associatedMerchantAccounts"] = serde_json::json!(extra(k, "associated_merchants"));
    }
    v
}

fn generated_credential(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("S2-GEN{i:06}"),
        "username": format!("ws_gen{i}@Company.Generated"),
        "clientKey": "test_EMULATOREMULATOREMULATOREMULAT",
        "allowedIpAddresses": ["192.0.2.1"],
        "roles": ["Management API\u{2014}Account read"],
        "active": true,
        "associatedMerchantAccounts": [],
    })
}

/// The company's users: three synthetic people (planted personal data) and any generated ones.
fn users(caller: &EmulatorKey) -> Vec<serde_json::Value> {
    let person = |i: usize, roles: &[&str], active: bool| {
        serde_json::json!({
            "id": format!("S2-USER{i:05}"),
            "username": format!("{}{i}", planted("first_name").to_lowercase()),
            "email": planted("email"),
            "name": {"firstName": planted("firstName"), "lastName": planted("lastName")},
            "roles": roles,
            "active": active,
            "timeZoneCode": "Europe/Amsterdam",
            "accountGroups": [],
            "associatedMerchantAccounts": [],
            "apps": [],
        })
    };
    let mut out = vec![
        person(1, &["Merchant admin", "Manage API credentials"], true),
        person(2, &["Merchant view", "View payments"], true),
        person(3, &["Merchant admin"], false),
    ];
    out.extend(
        (0..count(caller, "generated_users")).map(|i| person(100 + i, &["Merchant view"], true)),
    );
    out
}

fn bad_request(detail: &str) -> (u16, &'static str, String) {
    (
        400,
        "application/json",
        serde_json::json!({"type": "https://docs.adyen.com/errors/general/bad-request",
            "title": "Bad request", "status": 400, "detail": detail, "errorCode": "00_400"})
        .to_string(),
    )
}

fn json(status: u16, body: String) -> (u16, &'static str, String) {
    (status, "application/json", body)
}

/// Page number and size from the query, or the 400 the contract's types call for.
fn paging(
    query: Option<&str>,
    extra_params: &[&str],
) -> Result<(usize, usize), (u16, &'static str, String)> {
    let (mut number, mut size) = (1usize, 10usize);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let int = || -> Result<usize, (u16, &'static str, String)> {
            value
                .parse::<i64>()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad_request(&format!("Invalid value for {name}: {value}")))
        };
        match name.as_ref() {
            "pageNumber" => number = int()?.max(1),
            "pageSize" => {
                size = int()?;
                if !(1..=100).contains(&size) {
                    return Err(bad_request("pageSize must be between 1 and 100"));
                }
            }
            n if extra_params.contains(&n) => {}
            n => return Err(bad_request(&format!("Unrecognized query parameter: {n}"))),
        }
    }
    Ok((number, size))
}

/// One page of `items` in the list shape (CONFIRMED: `ListCompanyApiCredentialsResponse` etc.).
fn page(items: Vec<serde_json::Value>, number: usize, size: usize, self_href: &str) -> String {
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let data: Vec<serde_json::Value> = items
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    let href = |n: usize| serde_json::json!({"href": format!("{self_href}?pageNumber={n}&pageSize={size}")});
    let mut links =
        serde_json::json!({"self": href(number), "first": href(1), "last": href(pages)});
    if number < pages {
        links["next"] = href(number + 1);
    }
    if number > 1 {
        links["prev"] = href(number - 1);
    }
    serde_json::json!({"_links": links, "itemsTotal": total, "pagesTotal": pages, "data": data})
        .to_string()
}

/// Answers a list request of authenticated key `caller` on `env`.
pub fn answer(
    st: &EmuState,
    caller: &EmulatorKey,
    env: Environment,
    route: &Route,
    query: Option<&str>,
) -> (u16, &'static str, String) {
    let (role, variant) = match route {
        Route::CompanyUsers(_) => (ROLE_USERS, "users"),
        _ => (ROLE_CREDENTIALS, "api_credentials"),
    };
    if !holds(caller, role) {
        return json(403, fixtures::FORBIDDEN_403.into());
    }
    let extra_params: &[&str] = match route {
        Route::CompanyUsers(_) => &["username"],
        _ => &[],
    };
    let (number, size) = match paging(query, extra_params) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if st.variant(Some(caller), variant).as_deref() == Some("server_error") {
        return json(500, fixtures::SERVER_ERROR_500.into());
    }
    let company = caller.account.clone().unwrap_or_default();
    let base = format!("https://{}/v3", super::host(env));
    let same_company = |k: &EmulatorKey| {
        k.vendor == super::VENDOR
            && k.account.as_deref() == Some(company.as_str())
            && env_of(k) == env
    };
    let all = st.keys_where(same_company);
    let (items, self_href) = match route {
        Route::CompanyCredentials(c) | Route::CompanyUsers(c) if *c != company => {
            return json(403, fixtures::FORBIDDEN_403.into());
        }
        Route::CompanyCredentials(c) => {
            let base = format!("{base}/companies/{c}");
            let mut items: Vec<serde_json::Value> = all
                .iter()
                .filter(|k| merchant_of(k).is_none())
                .map(|k| credential_json(st, k, &base))
                .collect();
            items.extend((0..count(caller, "generated_credentials")).map(generated_credential));
            (items, format!("{base}/apiCredentials"))
        }
        Route::MerchantCredentials(m) => {
            let company_keys = st.keys_where(|k| {
                k.vendor == super::VENDOR && k.account.as_deref() == Some(company.as_str())
            });
            let known = company_keys.iter().any(|k| {
                merchant_of(k).as_deref() == Some(m.as_str())
                    || extra(k, "associated_merchants").contains(m)
            });
            if !known {
                return json(403, fixtures::FORBIDDEN_403.into());
            }
            let base = format!("{base}/merchants/{m}");
            let items = all
                .iter()
                .filter(|k| merchant_of(k).as_deref() == Some(m.as_str()))
                .map(|k| {
                    let mut v = credential_json(st, k, &base);
                    if let Some(o) = v.as_object_mut() {
                        o.remove("associatedMerchantAccounts");
                    }
                    v
                })
                .collect();
            (items, format!("{base}/apiCredentials"))
        }
        Route::CompanyUsers(c) => (users(caller), format!("{base}/companies/{c}/users")),
    };
    json(200, page(items, number, size, &self_href))
}

#[cfg(test)]
mod tests {
    use super::super::emulator::tests::state;
    use super::super::emulator::{Auth, default_keys, keys, respond};
    use super::*;

    const T: &str = super::super::TEST_HOST;

    fn get(st: &EmuState, path: &str, query: Option<&str>, key: &str) -> (u16, serde_json::Value) {
        let (s, _, b) = respond(st, T, path, query, &Auth::ApiKey(key.into()));
        (
            s,
            serde_json::from_str(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    #[test]
    fn lists_need_their_roles_and_page() {
        let st = state();
        let (s, v) = get(
            &st,
            "/v3/companies/VendorscopeDemo/apiCredentials",
            None,
            keys::TEST_FULL,
        );
        assert_eq!(s, 200, "{v}");
        assert!(v["itemsTotal"].as_u64().is_some_and(|n| n >= 1));
        assert!(v["_links"]["self"].is_object());
        let (s, _) = get(
            &st,
            "/v3/companies/VendorscopeDemo/apiCredentials",
            None,
            keys::TEST_NO_MANAGEMENT,
        );
        assert_eq!(s, 403);
        let (s, v) = get(
            &st,
            "/v3/companies/VendorscopeDemo/users",
            Some("pageNumber=1&pageSize=2"),
            keys::TEST_FULL,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["pagesTotal"], 2);
        assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
        assert!(v["data"][0]["email"].as_str() == Some(planted("email")));
        let (s, _) = get(
            &st,
            "/v3/companies/VendorscopeDemo/users",
            Some("pageSize=101"),
            keys::TEST_FULL,
        );
        assert_eq!(s, 400);
        let (s, _) = get(
            &st,
            "/v3/companies/VendorscopeDemo/users",
            Some("nope=1"),
            keys::TEST_FULL,
        );
        assert_eq!(s, 400);
        let (s, _) = get(&st, "/v3/companies/Other/users", None, keys::TEST_FULL);
        assert_eq!(s, 403);
        st.set_variant("users", "server_error");
        let (s, _) = get(
            &st,
            "/v3/companies/VendorscopeDemo/users",
            None,
            keys::TEST_FULL,
        );
        assert_eq!(s, 500);
    }

    #[test]
    fn credential_ids_are_stable_and_per_key() {
        let ks = default_keys();
        assert_ne!(credential_id(&ks[0]), credential_id(&ks[1]));
        assert_eq!(credential_id(&ks[0]), credential_id(&ks[0].clone()));
        assert!(!credential_id(&ks[0]).contains("vendorscope"));
    }

    #[test]
    fn routes() {
        assert_eq!(
            route("/v3/merchants/M/apiCredentials"),
            Some(Route::MerchantCredentials("M".into()))
        );
        assert_eq!(route("/v3/companies//users"), None);
        assert_eq!(route("/v3/me"), None);
    }
}
