//! Adyen and Iterable connectors against their emulators, through the guarded client.

use std::time::{Duration, Instant};

use vendorscope::emulator::{EmulatorConfig, EmulatorSpec, serve};
use vendorscope::guard::Redactor;
use vendorscope::http::Client;
use vendorscope::inventory::model::{Key, KeyType};
use vendorscope::run::{KeyProfile, KeyStatus};
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::adyen::emulator::{self as adyen_emu, keys as ak};
use vendorscope::vendors::iterable::PROBE_EMAIL;
use vendorscope::vendors::iterable::emulator::{self as iterable_emu, keys as ik};
use vendorscope::vendors::{self, ProbeSettings};

mod support;
use support::Env;

async fn start(spec: EmulatorSpec, bulk: bool, timeout: Duration) -> Env {
    let cfg = EmulatorConfig {
        keys: (spec.default_keys)(),
        ..Default::default()
    };
    let emu = serve(&spec, &cfg, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator");
    let settings = |endpoint| ProbeSettings {
        endpoint: Some(endpoint),
        probe_bulk_endpoints: bulk,
        ..Default::default()
    };
    Env::new(emu, settings, |c| {
        c.backoff_base = Duration::from_millis(20);
        c.timeout = timeout;
    })
}

fn key(key_type: KeyType, expected: Option<&str>) -> Key {
    let mut k = vendors::cli_key(SecretRef::Env("UNUSED".into()), None);
    k.key_type = key_type;
    k.expected_account = expected.map(str::to_string);
    k
}

impl Env {
    fn hosts(&self) -> Vec<String> {
        self.emu
            .state
            .requests()
            .iter()
            .map(|r| r.host.clone().unwrap_or_default())
            .collect()
    }
}

fn adyen() -> EmulatorSpec {
    adyen_emu::spec()
}
fn iterable() -> EmulatorSpec {
    iterable_emu::spec()
}
const T: Duration = Duration::from_secs(5);

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The profile and the ledger of a probe hold none of the emulator's planted personal data.
fn assert_no_planted_pii(p: &KeyProfile, client: &Client) {
    let text = format!(
        "{}{}",
        serde_json::to_string(p).expect("json"),
        serde_json::to_string(&client.ledger()).expect("json")
    );
    for (member, value) in vendorscope::emulator::PLANTED_PII {
        assert!(!text.contains(value), "planted {member} kept: {text}");
    }
}

fn ids(v: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- Adyen

#[tokio::test]
async fn adyen_test_key_with_management_roles() {
    let e = start(adyen(), false, T).await;
    let p = e
        .probe_with(
            "adyen",
            ak::TEST_FULL,
            &key(KeyType::ServerSide, Some("VendorscopeDemo")),
        )
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(
        p.environment,
        Some(vendorscope::inventory::model::Environment::Test)
    );
    assert_eq!(p.account.as_deref(), Some("VendorscopeDemo"));
    assert_eq!(p.account_matches, Some(true));
    // A company-level credential: `_links.company` names its company account.
    assert_eq!(p.account_ids, ids(&[("company", "VendorscopeDemo")]));
    // `/me` carried the key holder's data (description, subjectDN): none of it was kept.
    assert_no_planted_pii(&p, &e.client);
    assert!(
        p.granted
            .contains(&"Management API\u{2014}API credentials read and write".to_string())
    );
    for c in [
        "account.read",
        "credentials.manage",
        "payments.write",
        "refunds.write",
        "reports.download",
        "webhooks.manage",
    ] {
        assert!(
            p.capabilities.contains(&c.to_string()),
            "{c}: {:?}",
            p.capabilities
        );
    }
    assert_eq!(p.restrictions["allowed_ips"], Vec::<String>::new());
    assert_eq!(p.restrictions["any_ip"], s(&["true"]));
    // `/v3/me`, then the company's webhooks (the key holds "Webhooks read and write").
    assert_eq!(p.calls.len(), 2);
    assert_eq!(
        e.hosts(),
        s(&["management-test.adyen.com", "management-test.adyen.com"])
    );
    let r = &e.emu.state.requests()[0];
    assert_eq!((r.path.as_str(), r.query.as_deref()), ("/v3/me", None));
    let r = &e.emu.state.requests()[1];
    assert!(r.path.ends_with("/webhooks"), "{}", r.path);
}

#[tokio::test]
async fn adyen_live_key_is_found_on_the_live_host() {
    let e = start(adyen(), false, T).await;
    let p = e
        .probe_with("adyen", ak::LIVE_CHECKOUT, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(
        p.environment,
        Some(vendorscope::inventory::model::Environment::Live)
    );
    assert_eq!(p.restrictions["allowed_ips"], s(&["203.0.113.10"]));
    assert_eq!(p.restrictions["any_ip"], s(&["false"]));
    assert_eq!(
        p.restrictions["allowed_origins"],
        s(&["https://shop.example.com"])
    );
    assert_eq!(
        p.capabilities,
        s(&["account.read", "payments.write", "refunds.write"])
    );
    // A merchant-level credential: `_links.merchant` only; the company comes from the username.
    assert_eq!(p.account.as_deref(), Some("VendorscopeDemo"));
    assert_eq!(p.account_ids, ids(&[("merchant", ak::LIVE_MERCHANT)]));
    assert_no_planted_pii(&p, &e.client);
    assert_eq!(
        e.hosts(),
        s(&["management-test.adyen.com", "management-live.adyen.com"])
    );
    assert_eq!(
        p.calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![Some(401), Some(200)]
    );
}

#[tokio::test]
async fn adyen_expected_account_is_checked_against_company_and_merchant_ids() {
    let e = start(adyen(), false, T).await;
    for (expected, verdict) in [
        ("VendorscopeDemoECOM", Some(true)),
        ("MerchantAccount.VendorscopeDemoECOM", Some(true)),
        ("Company.VendorscopeDemo", Some(true)),
        ("OtherMerchantECOM", Some(false)),
        ("Company.Other", Some(false)),
    ] {
        let p = e
            .probe_with(
                "adyen",
                ak::LIVE_CHECKOUT,
                &key(KeyType::ServerSide, Some(expected)),
            )
            .await;
        assert_eq!(p.account_matches, verdict, "{expected}");
    }
    // A company-level credential has no merchant id: a merchant account does not match it.
    let p = e
        .probe_with(
            "adyen",
            ak::TEST_FULL,
            &key(KeyType::ServerSide, Some(ak::LIVE_MERCHANT)),
        )
        .await;
    assert_eq!(p.account_matches, Some(false));
}

/// Over HTTP, as any client would call it: Basic auth with the credential's username and
/// password is accepted, the API key as a Basic password is not, and a query parameter `/me`
/// does not take is a `RestServiceError` 400. Every request is in the emulator's log.
#[tokio::test]
async fn adyen_emulator_auth_forms_and_unknown_parameter_over_http() {
    let e = start(adyen(), false, T).await;
    vendorscope::http::init_tls();
    let http = reqwest::Client::new();
    let url = format!("{}/v3/me", e.emu.base_url);
    let basic = |user: &str, pw: &str| http.get(&url).basic_auth(user, Some(pw)).send();
    let r = basic(ak::TEST_FULL_USERNAME, ak::TEST_FULL_PASSWORD)
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let me: serde_json::Value = r.json().await.expect("json");
    assert_eq!(me["username"], ak::TEST_FULL_USERNAME);
    assert!(me["_links"]["company"]["href"].is_string());
    let r = basic(ak::TEST_FULL_USERNAME, ak::TEST_FULL)
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let err: serde_json::Value = r.json().await.expect("json");
    for f in ["type", "errorCode", "title", "detail", "status"] {
        assert!(err.get(f).is_some(), "RestServiceError {f}: {err}");
    }
    let r = http
        .get(format!("{url}?pageSize=10"))
        .header("x-api-key", ak::TEST_FULL)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let err: serde_json::Value = r.json().await.expect("json");
    assert_eq!(
        (err["status"].as_u64(), err["errorCode"].as_str()),
        (Some(400), Some("00_400"))
    );
    let log = e.emu.state.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].query.as_deref(), Some("pageSize=10"));
    e.assert_reads_only();
}

#[tokio::test]
async fn adyen_key_without_management_role_is_active_roles_unknown() {
    let e = start(adyen(), false, T).await;
    let p = e
        .probe_with(
            "adyen",
            ak::TEST_NO_MANAGEMENT,
            &key(KeyType::ServerSide, None),
        )
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(p.granted.is_empty() && p.capabilities.is_empty());
    assert!(p.unverifiable.contains(&"roles".to_string()));
    assert_eq!(p.calls.len(), 1, "403 on test is decisive");
}

#[tokio::test]
async fn adyen_ip_allowlist_refusal_every_body_variant() {
    let e = start(adyen(), false, T).await;
    for v in ["classic", "rest_service_error", "plain_text"] {
        e.emu.state.set_variant("ip_refusal_body", v);
        let p = e
            .probe_with(
                "adyen",
                ak::TEST_IP_REFUSED,
                &key(KeyType::ServerSide, None),
            )
            .await;
        assert_eq!(p.status, KeyStatus::Active, "{v}");
        assert!(p.unverifiable.contains(&"roles".to_string()));
        assert_eq!(p.restrictions["ip_restricted"], s(&["true"]), "{v}");
        assert_eq!(
            p.environment,
            Some(vendorscope::inventory::model::Environment::Test)
        );
    }
}

#[tokio::test]
async fn adyen_revoked_and_unknown_keys_every_401_variant() {
    let e = start(adyen(), false, T).await;
    for v in ["rest_service_error", "classic", "plain_text", "empty"] {
        e.emu.state.set_variant("unauthorized_body", v);
        e.emu.state.clear_requests();
        let p = e
            .probe_with("adyen", ak::TEST_REVOKED, &key(KeyType::ServerSide, None))
            .await;
        assert_eq!(p.status, KeyStatus::Invalid, "{v}");
        assert_eq!(e.emu.state.requests().len(), 2, "test then live ({v})");
    }
    let unknown = ak::TEST_FULL.replace("FULL", "NONE");
    let p = e
        .probe_with("adyen", &unknown, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Invalid);
    // Variant: a disabled credential that still answers, with `"active": false`.
    e.emu.state.set_variant("revoked", "inactive");
    let p = e
        .probe_with("adyen", ak::TEST_REVOKED, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Revoked);
}

#[tokio::test]
async fn adyen_client_key_and_wrong_format_are_never_sent() {
    let e = start(adyen(), false, T).await;
    let p = e
        .probe_with(
            "adyen",
            "test_SNY6SRDLZVGH3B2I53CCV2YK6YIOK4H7",
            &key(KeyType::Publishable, None),
        )
        .await;
    assert_eq!(p.status, KeyStatus::NotProbed("public_by_design".into()));
    for bad in [ik::SERVER_US, "AQEshort", "sk_live_x"] {
        let p = e
            .probe_with("adyen", bad, &key(KeyType::ServerSide, None))
            .await;
        assert_eq!(p.status, KeyStatus::Inconclusive("format_mismatch".into()));
    }
    assert!(e.emu.state.requests().is_empty());
    assert!(e.client.ledger().is_empty());
}

#[tokio::test]
async fn adyen_inventory_endpoint_without_command_line_is_refused() {
    let e = start(adyen(), false, T).await;
    let mut k = key(KeyType::ServerSide, None);
    k.endpoint = Some(e.emu.base_url.clone());
    let settings = ProbeSettings::default();
    let client = Client::new(settings.client_config()).expect("client");
    let p = vendors::probe_key("adyen", &Secret::new(ak::TEST_FULL), &k, &settings, &client).await;
    assert_eq!(p.status, KeyStatus::Inconclusive("endpoint_refused".into()));
    assert!(e.emu.state.requests().is_empty());
}

#[tokio::test]
async fn adyen_429_with_and_without_retry_after() {
    let e = start(adyen(), false, T).await;
    e.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = Some("1".into());
    });
    let t0 = Instant::now();
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    e.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = None;
    });
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    e.emu.state.faults(|f| f.throttle_next = 100);
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("rate_limited".into()));
}

#[tokio::test]
async fn adyen_server_errors_timeouts_and_unexpected_bodies_are_inconclusive() {
    let e = start(adyen(), false, Duration::from_millis(300)).await;
    e.emu.state.faults(|f| f.fail_next = 100);
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("server_error".into()));
    e.emu.state.faults(|f| {
        f.fail_next = 0;
        f.hang_next = 100;
        f.hang = Duration::from_secs(2);
    });
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("timeout".into()));
    e.emu.state.faults(|f| {
        f.hang_next = 0;
        f.unexpected_next = 100;
    });
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(
        p.status,
        KeyStatus::Inconclusive("unexpected_response".into())
    );
}

#[tokio::test]
async fn adyen_redirect_is_not_followed() {
    let e = start(adyen(), false, T).await;
    let other = serve(
        &adyen(),
        &EmulatorConfig::default(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("second emulator");
    e.emu
        .state
        .faults(|f| f.redirect_to = Some(format!("{}/v3/me", other.base_url)));
    let p = e
        .probe_with("adyen", ak::TEST_FULL, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("redirect".into()));
    assert!(
        other.state.requests().is_empty(),
        "the second host saw nothing"
    );
}

#[tokio::test]
async fn adyen_error_body_echoing_the_key_never_reaches_output() {
    let e = start(adyen(), false, T).await;
    e.emu.state.faults(|f| f.echo_key = true);
    let raw = ak::TEST_FULL.replace("FULL", "ECHO");
    let p = e
        .probe_with("adyen", &raw, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Invalid);
    let out = format!(
        "{}{}",
        serde_json::to_string(&p).expect("json"),
        serde_json::to_string(&e.client.ledger()).expect("json")
    );
    assert!(!out.contains(&raw));
    // The echoed body itself is masked by the output filter.
    let auth = adyen_emu::Auth::ApiKey(raw.clone());
    let (_, _, body) = adyen_emu::respond(&e.emu.state, "", "/v3/me", None, &auth);
    assert!(body.contains(&raw));
    let red = Redactor::new();
    red.add_secret(&Secret::new(raw.clone()));
    assert!(!red.filter(&body).contains(&raw));
}

#[tokio::test]
async fn adyen_dry_run_lists_test_then_live() {
    let e = start(adyen(), false, T).await;
    let plan = vendors::dry_run(
        "adyen",
        &Secret::new(ak::TEST_FULL),
        &key(KeyType::ServerSide, None),
        &e.settings,
    )
    .expect("plan");
    // `/v3/me` on test and live, then the company and merchant webhook lists.
    assert_eq!(plan.len(), 4);
    assert!(
        plan[..2]
            .iter()
            .all(|c| c.method == "GET" && c.url.ends_with("/v3/me"))
    );
    assert!(
        plan[2..]
            .iter()
            .all(|c| c.method == "GET" && c.url.contains("/webhooks?"))
    );
    assert!(e.emu.state.requests().is_empty());
}

// ---------------------------------------------------------------- Iterable

#[tokio::test]
async fn iterable_server_side_key_us_one_call() {
    let e = start(iterable(), false, T).await;
    let p = e
        .probe_with(
            "iterable",
            ik::SERVER_US,
            &key(KeyType::ServerSide, Some("us")),
        )
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(p.key_type.as_deref(), Some("server_side"));
    assert_eq!(p.account.as_deref(), Some("us"));
    assert_eq!(p.account_matches, Some(true));
    assert!(p.capabilities.contains(&"customers.export".to_string()));
    assert!(p.unverifiable.contains(&"key_type".to_string()));
    assert!(p.unverifiable.contains(&"customers.write".to_string()));
    // getFields, then the webhook list in the same region.
    assert_eq!(e.hosts(), s(&["api.iterable.com", "api.iterable.com"]));
    assert_eq!(e.emu.state.requests()[0].path, "/api/users/getFields");
    assert_eq!(e.emu.state.requests()[1].path, "/api/webhooks");
    // A project name cannot be compared with a region: no verdict rather than a false one.
    let p = e
        .probe_with(
            "iterable",
            ik::SERVER_US,
            &key(KeyType::ServerSide, Some("demo-us")),
        )
        .await;
    assert_eq!(p.account_matches, None);
}

/// Over HTTP: the emulator holds requests to the swagger (unknown parameter, bad
/// `dataTypeName` enum, ill-typed `count` → 400 `BadParams`), and the connector's server and
/// client branches pass it (the export branch: `iterable_server_key_with_bulk_probe_exports`).
#[tokio::test]
async fn iterable_emulator_rejects_what_the_contract_rejects() {
    let e = start(iterable(), false, T).await;
    vendorscope::http::init_tls();
    let http = reqwest::Client::new();
    let get = |path_q: &str| {
        http.get(format!("{}{path_q}", e.emu.base_url))
            .header("api-key", ik::SERVER_US)
            .send()
    };
    for (path_q, param) in [
        ("/api/users/getFields?fields=email", "fields"),
        (
            "/api/export/data.json?dataTypeName=userProfile&range=Today",
            "dataTypeName",
        ),
        (
            "/api/inApp/getMessages?email=a%40b.example&count=ten",
            "count",
        ),
    ] {
        let r = get(path_q).await.expect("send");
        assert_eq!(r.status(), 400, "{path_q}");
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(
            (v["code"].as_str(), v["params"]["parameter"].as_str()),
            (Some("BadParams"), Some(param)),
            "{v}"
        );
        assert!(v["msg"].is_string());
    }
    // What the connector sends is accepted: no 400 in any branch. The project answers as if
    // the probe address existed (in-app messages full of a person's data): none is kept.
    e.emu.state.set_variant("ignores_filters", "true");
    e.emu.state.clear_requests();
    for raw in [
        ik::SERVER_US,
        ik::READ_ONLY_US,
        ik::JS_NO_JWT_US,
        ik::MOBILE_US,
    ] {
        let p = e
            .probe_with("iterable", raw, &key(KeyType::ServerSide, None))
            .await;
        assert!(
            p.calls.iter().all(|c| c.status != Some(400)),
            "{raw}: {:?}",
            p.calls
        );
        assert_eq!(p.status, KeyStatus::Active, "{raw}");
        assert_no_planted_pii(&p, &e.client);
    }
    let log = e.emu.state.requests();
    assert!(log.iter().any(|r| r.path == "/api/inApp/web/getMessages"));
}

#[tokio::test]
async fn iterable_eu_key_found_on_eu_host() {
    let e = start(iterable(), false, T).await;
    let p = e
        .probe_with("iterable", ik::SERVER_EU, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(p.account.as_deref(), Some("eu"));
    // The webhook list goes to the region that accepted the key.
    assert_eq!(
        e.hosts(),
        s(&[
            "api.iterable.com",
            "api.eu.iterable.com",
            "api.eu.iterable.com"
        ])
    );
}

#[tokio::test]
async fn iterable_read_only_key_declared_type_kept_and_bulk_opt_in() {
    let e = start(iterable(), false, T).await;
    let p = e
        .probe_with("iterable", ik::READ_ONLY_US, &key(KeyType::ReadOnly, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(
        p.key_type.as_deref(),
        Some("read_only"),
        "declared type kept"
    );
    assert!(p.unverifiable.contains(&"key_type".to_string()));
    assert!(
        !e.emu
            .state
            .requests()
            .iter()
            .any(|r| r.path.contains("export"))
    );

    // With --probe-bulk-endpoints the export refusal shows a read-only key.
    for variant in ["bad_api_key", "forbidden"] {
        let e = start(iterable(), true, T).await;
        e.emu.state.set_variant("wrong_type", variant);
        let p = e
            .probe_with(
                "iterable",
                ik::READ_ONLY_US,
                &key(KeyType::ServerSide, None),
            )
            .await;
        assert_eq!(p.key_type.as_deref(), Some("read_only"), "{variant}");
        assert!(!p.capabilities.contains(&"customers.export".to_string()));
        let export = e
            .emu
            .state
            .requests()
            .into_iter()
            .find(|r| r.path == "/api/export/data.json")
            .expect("export probed");
        let q = export.query.unwrap_or_default();
        assert!(q.contains("startDateTime=2999"), "empty-result window: {q}");
    }
    // Variant: read-only keys allowed to export → cannot be told apart.
    let e = start(iterable(), true, T).await;
    e.emu.state.set_variant("read_only_export", "allowed");
    let p = e
        .probe_with("iterable", ik::READ_ONLY_US, &key(KeyType::ReadOnly, None))
        .await;
    assert!(p.capabilities.contains(&"customers.export".to_string()));
    assert!(p.unverifiable.contains(&"key_type".to_string()));
}

#[tokio::test]
async fn iterable_server_key_with_bulk_probe_exports() {
    let e = start(iterable(), true, T).await;
    // Export rows full of a person's data come back: the body is dropped unread.
    e.emu.state.set_variant("ignores_filters", "true");
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.key_type.as_deref(), Some("server_side"));
    assert!(p.capabilities.contains(&"customers.export".to_string()));
    // getFields, the export, the webhook list.
    assert_eq!(p.calls.len(), 3);
    // The export query passes the emulator's contract checks (a 400 would be refused).
    assert!(
        p.calls.iter().all(|c| c.status == Some(200)),
        "{:?}",
        p.calls
    );
    assert_no_planted_pii(&p, &e.client);
    assert!(
        p.calls.iter().all(|c| !c.url.contains("2999")),
        "no query values in calls"
    );
}

#[tokio::test]
async fn iterable_client_keys_both_wrong_type_variants() {
    for variant in ["bad_api_key", "forbidden"] {
        let e = start(iterable(), false, T).await;
        e.emu.state.set_variant("wrong_type", variant);
        let p = e
            .probe_with(
                "iterable",
                ik::JS_NO_JWT_US,
                &key(KeyType::ClientSide, None),
            )
            .await;
        assert_eq!(p.status, KeyStatus::Active, "{variant}");
        assert_eq!(p.key_type.as_deref(), Some("client_side"));
        assert_eq!(p.restrictions["requires_jwt"], s(&["false"]));
        assert!(p.capabilities.contains(&"users.write_any".to_string()));
        let p = e
            .probe_with("iterable", ik::MOBILE_US, &key(KeyType::Mobile, None))
            .await;
        assert_eq!(p.key_type.as_deref(), Some("mobile"), "{variant}");
        for r in e.emu.state.requests() {
            if r.path.starts_with("/api/inApp/") {
                let q = r.query.unwrap_or_default();
                assert!(q.contains("count=1"));
                assert!(q.contains(&PROBE_EMAIL.replace('@', "%40")), "{q}");
            }
        }
    }
}

#[tokio::test]
async fn iterable_jwt_enabled_client_key_every_jwt_variant() {
    for variant in ["bad_authorization_header", "invalid_jwt_payload"] {
        let e = start(iterable(), false, T).await;
        e.emu.state.set_variant("jwt_error", variant);
        let p = e
            .probe_with("iterable", ik::JS_JWT_US, &key(KeyType::ClientSide, None))
            .await;
        assert_eq!(p.status, KeyStatus::Active, "{variant}");
        assert_eq!(p.restrictions["requires_jwt"], s(&["true"]));
        assert!(p.capabilities.contains(&"users.write_self".to_string()));
    }
}

#[tokio::test]
async fn iterable_invalid_and_revoked_every_variant() {
    for (flag, value) in [
        ("bad_api_key_params", "ip"),
        ("bad_api_key_params", "null"),
        ("invalid_get_fields", "fields_null"),
    ] {
        let e = start(iterable(), false, T).await;
        e.emu.state.set_variant(flag, value);
        let p = e
            .probe_with("iterable", ik::REVOKED_US, &key(KeyType::ServerSide, None))
            .await;
        assert_eq!(p.status, KeyStatus::Invalid, "{flag}={value}");
        assert_eq!(p.calls.len(), 6, "both regions, server and client probes");
        let p = e
            .probe_with(
                "iterable",
                "0123456789abcdef0123456789abcdef",
                &key(KeyType::ServerSide, None),
            )
            .await;
        assert_eq!(p.status, KeyStatus::Invalid);
    }
}

#[tokio::test]
async fn iterable_wrong_format_is_never_sent() {
    let e = start(iterable(), false, T).await;
    for bad in [&ik::SERVER_US.to_uppercase(), "abc", ak::TEST_FULL] {
        let p = e
            .probe_with("iterable", bad, &key(KeyType::ServerSide, None))
            .await;
        assert_eq!(p.status, KeyStatus::Inconclusive("format_mismatch".into()));
    }
    assert!(e.emu.state.requests().is_empty());
}

#[tokio::test]
async fn iterable_429_5xx_timeout_unexpected() {
    let e = start(iterable(), false, Duration::from_millis(300)).await;
    e.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = Some("1".into());
    });
    let t0 = Instant::now();
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(t0.elapsed() >= Duration::from_millis(950));
    e.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = None;
    });
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Active);
    e.emu.state.faults(|f| f.throttle_next = 1000);
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("rate_limited".into()));
    e.emu.state.faults(|f| {
        f.throttle_next = 0;
        f.fail_next = 1000;
    });
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("server_error".into()));
    e.emu.state.faults(|f| {
        f.fail_next = 0;
        f.hang_next = 1000;
        f.hang = Duration::from_secs(2);
    });
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("timeout".into()));
    e.emu.state.faults(|f| {
        f.hang_next = 0;
        f.unexpected_next = 1000;
    });
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(
        p.status,
        KeyStatus::Inconclusive("unexpected_response".into())
    );
}

#[tokio::test]
async fn iterable_redirect_not_followed_and_echo_filtered() {
    let e = start(iterable(), false, T).await;
    let other = serve(
        &iterable(),
        &EmulatorConfig::default(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("second emulator");
    e.emu
        .state
        .faults(|f| f.redirect_to = Some(format!("{}/api/users/getFields", other.base_url)));
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Inconclusive("redirect".into()));
    assert!(other.state.requests().is_empty());

    let e = start(iterable(), false, T).await;
    e.emu.state.faults(|f| f.echo_key = true);
    let raw = "0123456789abcdef0123456789abcdef";
    let p = e
        .probe_with("iterable", raw, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(p.status, KeyStatus::Invalid);
    let out = serde_json::to_string(&(p, e.client.ledger())).expect("json");
    assert!(!out.contains(raw));
    let a = iterable_emu::respond(
        &e.emu.state,
        "",
        "/api/users/getFields",
        None,
        Some(raw),
        None,
    );
    assert!(a.body.contains(raw));
    let red = Redactor::new();
    red.add_secret(&Secret::new(raw));
    assert!(!red.filter(&a.body).contains(raw));
}

/// Issue 16: a server-side key reads the project's user-profile schema (field names only) as
/// an observation; a client key cannot (unverifiable, the key type named); a vendor error
/// leaves it inconclusive.
#[tokio::test]
async fn iterable_profile_schema_is_observed_by_field_name() {
    use vendorscope::run::ObservationStatus;
    let e = start(iterable(), false, T).await;
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    let o = &p.observations["profile_fields"];
    assert_eq!(o.status, ObservationStatus::Observed);
    assert_eq!(o.call, "GET /api/users/getFields");
    assert!(o.at.is_some());
    assert_eq!(
        o.values,
        s(&[
            "email",
            "firstName",
            "lastName",
            "phoneNumber",
            "shippingAddress.city",
            "shippingAddress.zip",
            "signupDate",
            "userId"
        ])
    );
    let p = e
        .probe_with("iterable", ik::MOBILE_US, &key(KeyType::Mobile, None))
        .await;
    let o = &p.observations["profile_fields"];
    assert_eq!(o.status, ObservationStatus::Unverifiable);
    assert!(
        o.reason.as_deref().unwrap_or("").contains("server-side"),
        "{o:?}"
    );
    assert!(o.values.is_empty());
    let e = start(iterable(), false, T).await;
    e.emu.state.faults(|f| f.fail_next = 100);
    let p = e
        .probe_with("iterable", ik::SERVER_US, &key(KeyType::ServerSide, None))
        .await;
    assert_eq!(
        p.observations["profile_fields"].status,
        ObservationStatus::Inconclusive,
        "{:?}",
        p.observations
    );
}
