//! Shopify and Stripe connectors against their emulators, through the guarded client; the
//! `probe` binary against an emulator that echoes the key.

use std::time::{Duration, Instant};

use url::Url;
use vendorscope::emulators::start_vendor;
use vendorscope::http::{AllowedEndpoints, Client, HttpError, Request};
use vendorscope::inventory::model::Key;
use vendorscope::run::{KeyProfile, KeyStatus};
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::{self, ProbeSettings};

const SHOP: &str = "acme-demo.myshopify.com";
const SHP_ACTIVE: &str = "shpat_00000000000000000000000000000a01";
const SHP_PRODUCTS: &str = "shpca_00000000000000000000000000000a02";
const SHP_REVOKED: &str = "shppa_00000000000000000000000000000a03";
const SHP_EXPIRED: &str = "shpat_00000000000000000000000000000a04";
const SHP_UNKNOWN: &str = "shpat_0000000000000000000000000000ffff";

fn stripe_key(prefix: &str, n: u32) -> String {
    format!("{prefix}51DemoKey{n:046}")
}

mod support;
use support::Env;

async fn start(vendor: &str, timeout: Duration) -> Env {
    let emu = start_vendor(
        vendor,
        &vendorscope::emulators::builtin_config(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("emulator");
    let settings = |endpoint| ProbeSettings {
        endpoint: Some(endpoint),
        shop: Some(SHOP.into()),
        ..Default::default()
    };
    Env::new(emu, settings, |c| {
        c.backoff_base = Duration::from_millis(200);
        c.timeout = timeout;
    })
}

fn key() -> Key {
    vendors::cli_key(SecretRef::Env("UNUSED".into()), None)
}

impl Env {
    async fn probe(&self, vendor: &str, raw: &str) -> KeyProfile {
        self.probe_with(vendor, raw, &key()).await
    }

    fn sent(&self) -> usize {
        self.emu.state.requests().len()
    }
}

fn inconclusive(p: &KeyProfile) -> Option<&str> {
    match &p.status {
        KeyStatus::Inconclusive(r) => Some(r.as_str()),
        _ => None,
    }
}

// ---------------------------------------------------------------- Shopify

#[tokio::test]
async fn shopify_key_types_and_verdicts() {
    let env = start("shopify", Duration::from_secs(5)).await;
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    assert_eq!(p.account.as_deref(), Some(SHOP));
    assert_eq!(
        p.granted,
        [
            "read_customers",
            "read_orders",
            "read_products",
            "write_script_tags"
        ]
    );
    for c in [
        "customers.read",
        "customers.export",
        "orders.read",
        "storefront.code_inject",
    ] {
        assert!(p.capabilities.iter().any(|x| x == c), "{c} missing");
    }
    // access_scopes, shop.json and the webhook list.
    assert_eq!(p.calls.len(), 3);
    assert!(p.calls[0].url.ends_with("/admin/oauth/access_scopes.json"));

    let p = env.probe("shopify", SHP_PRODUCTS).await;
    assert_eq!(p.key_type.as_deref(), Some("custom_app_token"));
    assert_eq!(p.capabilities, ["catalog.read"]);

    // OBSERVED: invalid, revoked and expired tokens all get the same 401.
    for k in [SHP_REVOKED, SHP_EXPIRED, SHP_UNKNOWN] {
        let p = env.probe("shopify", k).await;
        assert_eq!(p.status, KeyStatus::Invalid, "{k}");
    }

    // App secrets are never sent; nor is a key of another vendor's format.
    let before = env.sent();
    let p = env
        .probe("shopify", "shpss_00000000000000000000000000000a05")
        .await;
    assert!(matches!(p.status, KeyStatus::NotProbed(_)));
    let p = env.probe("shopify", &stripe_key("sk_test_", 1)).await;
    assert_eq!(inconclusive(&p), Some("format_mismatch"));
    assert_eq!(env.sent(), before, "nothing may be sent");
}

/// shop.json is asked for the domain only; the full shop object (owner's name, e-mail, phone,
/// address) never reaches the profile, even from a shop that ignores `fields=`.
#[tokio::test]
async fn shopify_shop_json_asks_for_the_domain_only() {
    use vendorscope::emulator::PLANTED_PII;
    let env = start("shopify", Duration::from_secs(5)).await;
    for variant in ["honoured", "ignored"] {
        env.emu.state.set_variant("shop_fields", variant);
        env.emu.state.clear_requests();
        let p = env.probe("shopify", SHP_ACTIVE).await;
        assert_eq!(p.status, KeyStatus::Active, "{variant}: {p:?}");
        assert_eq!(p.account.as_deref(), Some(SHOP));
        let log = env.emu.state.requests();
        let sent: Vec<(&str, Option<&str>)> = log
            .iter()
            .map(|r| (r.path.as_str(), r.query.as_deref()))
            .collect();
        assert_eq!(
            sent,
            [
                ("/admin/oauth/access_scopes.json", None),
                (
                    "/admin/api/2026-10/shop.json",
                    Some("fields=myshopify_domain")
                ),
                (
                    "/admin/api/2026-10/webhooks.json",
                    Some("limit=250&fields=id%2Caddress%2Ctopic")
                ),
            ]
        );
        let text = format!(
            "{}{}",
            serde_json::to_string(&p).expect("json"),
            serde_json::to_string(&env.client.ledger()).expect("json")
        );
        for (_, pii) in PLANTED_PII {
            assert!(!text.contains(pii), "{variant}: {pii} in {text}");
        }
    }
}

/// Over HTTP: the full shop object carries the owner's data and `fields=` cuts it to the named
/// members; an unknown parameter is a 400 `{"errors":{…}}`; a version that does not exist is a
/// 404; a retired one falls forward to the oldest supported version.
#[tokio::test]
async fn shopify_emulator_holds_the_contract() {
    use vendorscope::emulator::planted;
    use vendorscope::vendors::shopify::emulator::SUPPORTED_VERSIONS;
    let env = start("shopify", Duration::from_secs(5)).await;
    vendorscope::http::init_tls();
    let http = reqwest::Client::new();
    let get = |path_q: &str| {
        http.get(format!("{}{path_q}", env.emu.base_url))
            .header("host", SHOP)
            .header("x-shopify-access-token", SHP_ACTIVE)
            .send()
    };
    let r = get("/admin/api/2026-10/shop.json").await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-shopify-api-version"], "2026-10");
    let full = r.text().await.expect("body");
    for m in ["name", "email", "phone", "address1", "city", "zip"] {
        assert!(full.contains(planted(m)), "owner's {m} missing: {full}");
    }
    let r = get("/admin/api/2026-10/shop.json?fields=myshopify_domain,id")
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(
        v,
        serde_json::json!({"shop": {"id": 548380009, "myshopify_domain": SHOP}})
    );
    for path_q in [
        "/admin/api/2026-10/shop.json?fields=name&limit=1",
        "/admin/oauth/access_scopes.json?fields=handle",
        "/admin/api/2026-10/products.json?limit=0",
    ] {
        let r = get(path_q).await.expect("send");
        assert_eq!(r.status(), 400, "{path_q}");
        let v: serde_json::Value = r.json().await.expect("json");
        assert!(v["errors"].is_object(), "{path_q}: {v}");
    }
    for version in ["2026-11", "2099-01", "2019-01", "latest"] {
        let r = get(&format!("/admin/api/{version}/shop.json"))
            .await
            .expect("send");
        assert_eq!(r.status(), 404, "{version}");
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(v, serde_json::json!({"errors": "Not Found"}));
    }
    let r = get("/admin/api/2024-04/shop.json?fields=myshopify_domain")
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-shopify-api-version"], SUPPORTED_VERSIONS[0]);
    env.assert_reads_only();
}

#[tokio::test]
async fn shopify_unknown_shop_and_unconfirmed_variants() {
    let mut env = start("shopify", Duration::from_secs(5)).await;
    env.settings.shop = Some("other-shop.myshopify.com".into());
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("shop_not_found"));
    env.settings.shop = Some("not a shop".into());
    let before = env.sent();
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("shop_domain_invalid"));
    assert_eq!(env.sent(), before);
    env.settings.shop = Some(SHOP.into());

    for (flag, value, reason) in [
        ("shop_state", "frozen", "shop_frozen"),
        ("shop_state", "locked", "shop_locked"),
        ("scopes_body", "graphql_like", "unexpected_response"),
    ] {
        env.emu.state.set_variant(flag, value);
        let p = env.probe("shopify", SHP_ACTIVE).await;
        assert_eq!(inconclusive(&p), Some(reason), "{flag}={value}");
        env.emu.state.set_variant(flag, "ok");
        env.emu.state.set_variant("scopes_body", "documented");
    }
}

#[tokio::test]
async fn shopify_429_with_and_without_retry_after() {
    let env = start("shopify", Duration::from_secs(5)).await;
    env.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = Some("0.6".into());
    });
    let t = Instant::now();
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "Retry-After not honoured"
    );
    assert_eq!(env.client.stats().responses_429, 1);

    env.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = None;
    });
    let t = Instant::now();
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(t.elapsed() >= Duration::from_millis(200), "no backoff");

    // Persistent throttling: inconclusive, never a guess.
    env.emu.state.faults(|f| {
        f.throttle_next = 10;
        f.retry_after = Some("0.05".into());
    });
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("rate_limited"));
    let ledger = env.client.ledger();
    assert!(
        ledger
            .iter()
            .any(|e| e.status == Some(429) && e.attempt == 3)
    );
    assert!(ledger.iter().all(|e| !e.path.contains('=')));
}

#[tokio::test]
async fn shopify_5xx_timeouts_resets_and_unexpected_bodies() {
    let env = start("shopify", Duration::from_millis(400)).await;
    env.emu.state.faults(|f| f.fail_next = 1);
    assert_eq!(
        env.probe("shopify", SHP_ACTIVE).await.status,
        KeyStatus::Active
    );
    env.emu.state.faults(|f| f.fail_next = 10);
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("server_error"));
    env.emu.state.faults(|f| {
        f.fail_next = 0;
        f.hang_next = 10;
        f.hang = Duration::from_secs(2);
    });
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("timeout"));
    env.emu.state.faults(|f| {
        f.hang_next = 0;
        f.reset_next = 10;
    });
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert!(inconclusive(&p).is_some(), "{p:?}");
    env.emu.state.faults(|f| {
        f.reset_next = 0;
        f.unexpected_next = 1;
    });
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("unexpected_response"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let env = start("shopify", Duration::from_secs(5)).await;
    let other = start("shopify", Duration::from_secs(5)).await;
    env.emu.state.faults(|f| {
        f.redirect_to = Some(format!(
            "{}/admin/oauth/access_scopes.json",
            other.emu.base_url
        ))
    });
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("redirect"));
    assert_eq!(other.sent(), 0, "the second host saw a request");
}

#[tokio::test]
async fn endpoints_need_the_command_line() {
    let env = start("shopify", Duration::from_secs(5)).await;
    // An override written in the inventory alone is refused: nothing is sent.
    let settings = ProbeSettings {
        shop: Some(SHOP.into()),
        ..Default::default()
    };
    let client = Client::new(settings.client_config()).expect("client");
    let mut k = key();
    k.endpoint = Some(env.emu.base_url.clone());
    let p = vendors::probe_key("shopify", &Secret::new(SHP_ACTIVE), &k, &settings, &client).await;
    assert_eq!(inconclusive(&p), Some("endpoint_refused"));
    assert_eq!(env.sent(), 0);

    // Allowed on the command line: used.
    let settings = ProbeSettings {
        shop: Some(SHOP.into()),
        allowed: AllowedEndpoints::parse(&[env.emu.addr.to_string()]).expect("allow"),
        ..Default::default()
    };
    let client = Client::new(settings.client_config()).expect("client");
    let p = vendors::probe_key("shopify", &Secret::new(SHP_ACTIVE), &k, &settings, &client).await;
    assert_eq!(p.status, KeyStatus::Active);

    // A client never sends a write, even when asked.
    let before = env.sent();
    let url = Url::parse(&format!(
        "{}/admin/oauth/access_scopes.json",
        env.emu.base_url
    ))
    .expect("url");
    let req = Request {
        method: reqwest::Method::POST,
        ..Request::get(url, "/admin/oauth/access_scopes.json", &["*.myshopify.com"])
    };
    assert!(matches!(
        env.client.send(req).await,
        Err(HttpError::WriteRefused(_))
    ));
    assert_eq!(env.sent(), before);
    env.assert_reads_only();
}

// ---------------------------------------------------------------- Stripe

#[tokio::test]
async fn stripe_key_types() {
    let env = start("stripe", Duration::from_secs(5)).await;
    let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(p.key_type.as_deref(), Some("secret"));
    assert_eq!(p.account.as_deref(), Some("acct_1DemoAcct0000001"));
    assert!(p.capabilities.iter().any(|c| c == "admin.full"));
    // `/v1/account` and the webhook list.
    assert_eq!(p.calls.len(), 2);

    let p = env.probe("stripe", &stripe_key("rk_test_", 2)).await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    assert_eq!(p.account.as_deref(), Some("acct_1DemoAcct0000001"));
    assert_eq!(
        p.granted,
        ["rak_charge_read", "rak_customer_read", "rak_event_read"]
    );
    assert!(p.capabilities.iter().any(|c| c == "customers.read"));
    assert!(p.unverifiable.iter().any(|c| c == "refunds.write"));
    assert!(p.calls.len() > 20);
    assert!(
        env.emu
            .state
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/customers")
            .all(|r| r.query.as_deref() == Some("limit=1&created[gte]=4102444800")),
        "customers must be read with an empty-result query"
    );

    let p = env.probe("stripe", &stripe_key("rk_test_", 3)).await;
    assert_eq!(p.capabilities, ["catalog.read"]);
    assert!(p.unverifiable.iter().all(|c| c == "catalog.write"));

    let p = env.probe("stripe", &stripe_key("pk_test_", 4)).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert_eq!(p.key_type.as_deref(), Some("publishable"));
    assert!(p.capabilities.is_empty());

    let p = env.probe("stripe", &stripe_key("sk_live_", 7)).await;
    assert_eq!(p.account.as_deref(), Some("acct_1DemoLive0000001"));
    assert_eq!(
        p.environment,
        Some(vendorscope::inventory::model::Environment::Live)
    );
}

#[tokio::test]
async fn stripe_invalid_revoked_expired_and_never_sent() {
    let env = start("stripe", Duration::from_secs(5)).await;
    assert_eq!(
        env.probe("stripe", &stripe_key("sk_test_", 99))
            .await
            .status,
        KeyStatus::Invalid
    );
    assert_eq!(
        env.probe("stripe", &stripe_key("sk_test_", 5)).await.status,
        KeyStatus::Revoked
    );
    assert_eq!(
        env.probe("stripe", &stripe_key("rk_test_", 6)).await.status,
        KeyStatus::Revoked
    );
    env.emu.state.set_variant("deleted_key", "invalid_api_key");
    assert_eq!(
        env.probe("stripe", &stripe_key("sk_test_", 5)).await.status,
        KeyStatus::Invalid
    );
    let before = env.sent();
    let p = env
        .probe("stripe", "whsec_000000000000000000000000000000ab")
        .await;
    assert!(matches!(p.status, KeyStatus::NotProbed(_)));
    let p = env.probe("stripe", SHP_ACTIVE).await;
    assert_eq!(inconclusive(&p), Some("format_mismatch"));
    assert_eq!(env.sent(), before);
}

#[tokio::test]
async fn stripe_unconfirmed_variants() {
    let env = start("stripe", Duration::from_secs(5)).await;
    let expected = ["rak_charge_read", "rak_customer_read", "rak_event_read"];
    for (flag, value) in [
        ("forbidden_wording", "having"),
        ("forbidden_wording", "enabling"),
        ("restricted_account", "unavailable"),
    ] {
        env.emu.state.set_variant(flag, value);
        let p = env.probe("stripe", &stripe_key("rk_test_", 2)).await;
        assert_eq!(p.status, KeyStatus::Active, "{flag}={value}");
        assert_eq!(p.granted, expected, "{flag}={value}");
        assert_eq!(p.account.as_deref(), Some("acct_1DemoAcct0000001"));
    }
    for status in ["401", "400"] {
        env.emu.state.set_variant("publishable_status", status);
        let p = env.probe("stripe", &stripe_key("pk_test_", 4)).await;
        assert_eq!(p.status, KeyStatus::Active, "publishable {status}");
    }
    env.emu.state.faults(|f| f.unexpected_next = 1);
    let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
    assert_eq!(inconclusive(&p), Some("unexpected_response"));
}

#[tokio::test]
async fn stripe_429_without_retry_after_backs_off() {
    let env = start("stripe", Duration::from_secs(5)).await;
    env.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = None;
    });
    let t = Instant::now();
    let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(t.elapsed() >= Duration::from_millis(200));
    env.emu.state.faults(|f| f.fail_next = 10);
    let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
    assert_eq!(inconclusive(&p), Some("server_error"));
}

// ------------------------------------------------- absurd vendor headers (issue 12 #4, #5)

/// `Retry-After: 1e300` and `18446744073709551616` (2^64) panicked in `Duration::from_secs_f64`
/// (exit 101, no report). Beyond the cap the call is `inconclusive(rate_limited)` at once: no
/// retry, no wait, and the account bucket is not paused for the next call either.
#[tokio::test]
async fn absurd_retry_after_is_rate_limited_at_once() {
    for v in [
        "1e300",
        "18446744073709551616",
        "Fri, 31 Dec 2100 23:59:59 GMT",
        "3600",
    ] {
        let env = start("stripe", Duration::from_secs(5)).await;
        env.emu.state.faults(|f| {
            f.throttle_next = 1;
            f.retry_after = Some(v.into());
        });
        let t = Instant::now();
        let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
        assert_eq!(inconclusive(&p), Some("rate_limited"), "{v}");
        assert_eq!(env.sent(), 1, "{v}: retried");
        let note = env.client.ledger()[0].note.clone().unwrap_or_default();
        assert!(note.contains("beyond the 60 s cap"), "{v}: {note}");
        // The next call is not held by a paused bucket.
        let p = env.probe("stripe", &stripe_key("sk_test_", 1)).await;
        assert_eq!(p.status, KeyStatus::Active, "{v}");
        assert!(t.elapsed() < Duration::from_secs(2), "{v}: waited");
    }
}

/// A negative `Retry-After` is not a delay: ignored, the usual backoff applies.
#[tokio::test]
async fn negative_retry_after_falls_back_to_backoff() {
    let env = start("shopify", Duration::from_secs(5)).await;
    env.emu.state.faults(|f| {
        f.throttle_next = 1;
        f.retry_after = Some("-5".into());
    });
    let t = Instant::now();
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active);
    assert!(t.elapsed() >= Duration::from_millis(200), "no backoff");
    // Four requests (the retried one, shop.json, webhooks.json) through the shop's bucket.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(
        env.client
            .ledger()
            .iter()
            .any(|e| e.note.as_deref() == Some("retry-after invalid: ignored"))
    );
}

/// `X-Shopify-Shop-Api-Call-Limit: 4294967295/2` made the client wait ~68 years. It is ignored
/// with a warning for the run, and the probe finishes at once.
#[tokio::test]
async fn impossible_shopify_call_limit_is_ignored_with_a_warning() {
    let env = start("shopify", Duration::from_secs(5)).await;
    env.emu
        .state
        .faults(|f| f.hostile = vec![vendorscope::emulator::Hostile::CallLimit]);
    let t = Instant::now();
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    let p = env.probe("shopify", SHP_ACTIVE).await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    // Four calls at the client's own pace (half of 2/s), not the header's 68 years.
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let w = env.client.take_warnings();
    assert_eq!(w.len(), 1, "one warning per bucket and value: {w:?}");
    assert!(
        w[0].contains("impossible `x-shopify-shop-api-call-limit` header 4294967295/2 ignored"),
        "{w:?}"
    );
}

// ---------------------------------------------------------------- the binary

fn assert_no_leak(text: &str, raw: &str) {
    assert!(!text.contains(raw), "full key leaked:\n{text}");
    let middle = &raw[8..raw.len() - 6];
    assert!(!text.contains(middle), "key body leaked:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_never_reaches_any_output() {
    let env = start("stripe", Duration::from_secs(5)).await;
    env.emu.state.faults(|f| f.echo_key = true);
    let raw = "sk_test_51Unknown9x8y7z6w5v4u3t2s1r0qAbCdEfGhIjKlMnOp";
    let dir = tempfile::tempdir().expect("tempdir");
    let base = env.emu.base_url.clone();
    let rec = dir.path().join("rec");
    let out = tokio::task::spawn_blocking({
        let rec = rec.clone();
        move || {
            assert_cmd::Command::cargo_bin("vendorscope")
                .expect("bin")
                .env("STRIPE_KEY", raw)
                .env("VENDORSCOPE_FINGERPRINT_KEY", "test")
                .args(["probe", "--vendor", "stripe", "--key-env", "STRIPE_KEY"])
                .args(["--endpoint", &base, "--format", "json", "-vv", "--record"])
                .arg(&rec)
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    // The emulator did echo it.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("\"status\": \"invalid\""),
        "{stdout}\n{stderr}"
    );
    assert_no_leak(&stdout, raw);
    assert_no_leak(&stderr, raw);
    let mut saw_echo = false;
    for f in std::fs::read_dir(&rec).expect("record dir") {
        let text = std::fs::read_to_string(f.expect("entry").path()).expect("read");
        assert_no_leak(&text, raw);
        saw_echo |= text.contains("Invalid API Key provided: sk_test_…");
    }
    assert!(saw_echo, "transcript should hold the (masked) echoed body");
    env.assert_reads_only();
}

#[test]
fn dry_run_sends_nothing() {
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .env("K", stripe_key("rk_test_", 2))
        .args(["probe", "--vendor", "stripe", "--key-env", "K", "--dry-run"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("GET https://api.stripe.com/v1/customers?limit=1&created[gte]=4102444800")
    );
    assert!(!stdout.contains("POST"));
}
