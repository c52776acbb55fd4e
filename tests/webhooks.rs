//! Where data leaves the vendor (issue 16, point 3): each connector's webhook listing against
//! its emulator — observed, permission missing (`unverifiable` with the permission named),
//! vendor error (`inconclusive`), truncated list — and the rules VKS-FLOW-001/002 on what it
//! produced (pass, fail, unknown). Nothing of a webhook URL but its scheme and host may reach
//! the profile, the ledger or the facts.

use std::time::Duration;

use serde_json::json;
use vendorscope::emulator::{EmulatorConfig, EmulatorKey, EmulatorSpec, serve};
use vendorscope::inventory::model::{Inventory, Key, KeyType};
use vendorscope::policy::eval::evaluate_json;
use vendorscope::policy::{Exceptions, PolicySet};
use vendorscope::run::{KeyProfile, KeyRecord, Observation, ObservationStatus as S, Outcome};
use vendorscope::secret::SecretRef;
use vendorscope::vendors::{self, ProbeSettings};

const SHOP: &str = "acme-demo.myshopify.com";
/// Declared in every inventory below.
const DECLARED: &str = "https://hooks.example.com/in/T000/B000/s3cr3tPathToken?sig=s3cr3tQuery";
/// Not declared, plain HTTP, a secret in path and query.
const UNDECLARED: &str =
    "http://collect.broker.example:8080/drop/s3cr3tPathToken?token=s3cr3tQuery";

mod support;
use support::Env;

async fn start(spec: EmulatorSpec, keys: Vec<EmulatorKey>) -> Env {
    let cfg = EmulatorConfig {
        keys,
        ..Default::default()
    };
    let emu = serve(&spec, &cfg, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator");
    let settings = |endpoint| ProbeSettings {
        endpoint: Some(endpoint),
        ..Default::default()
    };
    Env::new(emu, settings, |c| {
        c.backoff_base = Duration::from_millis(10);
        c.max_attempts = 1;
        c.record = true;
    })
}

fn with_hooks(mut k: EmulatorKey, hooks: &[&str]) -> EmulatorKey {
    k.extra.insert(
        "webhooks".into(),
        hooks.iter().map(|h| h.to_string()).collect(),
    );
    k
}

fn variant(mut k: EmulatorKey, flag: &str, value: &str) -> EmulatorKey {
    k.variants.insert(flag.into(), value.into());
    k
}

impl Env {
    async fn probe(&self, vendor: &str, raw: &str, key_type: KeyType) -> KeyProfile {
        let shop = (vendor == "shopify").then(|| SHOP.to_string());
        let mut k: Key = vendors::cli_key(SecretRef::Env("UNUSED".into()), shop);
        k.key_type = key_type;
        let p = self.probe_with(vendor, raw, &k).await;
        assert!(self.emu.state.requests().iter().all(|r| r.method == "GET"));
        // Nothing of a webhook URL but scheme and host, anywhere.
        let text = format!(
            "{}{}{}",
            serde_json::to_string(&p).expect("json"),
            serde_json::to_string(&self.client.ledger()).expect("json"),
            serde_json::to_string(&self.client.transcripts()).expect("json"),
        );
        for secret in ["s3cr3tPathToken", "s3cr3tQuery", "/drop", "/in/T000"] {
            assert!(!text.contains(secret), "{secret} kept: {text}");
        }
        p
    }

    /// How many requests went to a path containing `part`.
    fn calls_to(&self, part: &str) -> usize {
        self.emu
            .state
            .requests()
            .iter()
            .filter(|r| r.path.contains(part))
            .count()
    }
}

fn webhooks(p: &KeyProfile) -> &Observation {
    p.observations
        .get("webhooks")
        .unwrap_or_else(|| panic!("no webhooks observation: {p:?}"))
}

fn observed(p: &KeyProfile) -> Vec<String> {
    let o = webhooks(p);
    assert_eq!(o.status, S::Observed, "{o:?}");
    o.values.clone()
}

fn expect_not_known(p: &KeyProfile, status: S, reason_part: &str) {
    let o = webhooks(p);
    assert_eq!(o.status, status, "{o:?}");
    assert!(
        o.reason.as_deref().unwrap_or("").contains(reason_part),
        "reason {:?} should name {reason_part}",
        o.reason
    );
}

fn many(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://h{i}.hooks.example.com/x"))
        .collect()
}

fn both() -> Vec<String> {
    vec![
        "http://collect.broker.example:8080".to_string(),
        "https://hooks.example.com".to_string(),
    ]
}

// ------------------------------------------------------------------------------------ Stripe

fn stripe_key(n: u32, prefix: &str, grants: &[&str]) -> EmulatorKey {
    EmulatorKey::new(
        &format!("{prefix}51DemoKey{n:046}"),
        "stripe",
        grants,
        "acct_1WebhookAcct01",
    )
}

#[tokio::test]
async fn stripe_webhooks() {
    let sk = with_hooks(stripe_key(101, "sk_test_", &[]), &[DECLARED, UNDECLARED]);
    let rk_hooks = with_hooks(
        stripe_key(102, "rk_test_", &["rak_webhook_read"]),
        &[DECLARED],
    );
    let rk_none = stripe_key(103, "rk_test_", &["rak_charge_read"]);
    let failing = variant(stripe_key(104, "sk_test_", &[]), "webhooks_error", "500");
    let throttled = variant(
        stripe_key(105, "sk_test_", &[]),
        "rate_limited",
        "/v1/webhook_endpoints",
    );
    let mut long = stripe_key(106, "sk_test_", &[]);
    long.extra.insert("webhooks".into(), many(1001));
    let keys = vec![
        sk.clone(),
        rk_hooks.clone(),
        rk_none.clone(),
        failing.clone(),
        throttled.clone(),
        long.clone(),
    ];
    let e = start(vendors::stripe::emulator::spec(), keys).await;

    let p = e.probe("stripe", &sk.key, KeyType::ServerSide).await;
    assert_eq!(observed(&p), both());
    let o = webhooks(&p);
    assert_eq!(o.call, "GET /v1/webhook_endpoints");
    assert_eq!(o.items.len(), 2);
    assert!(o.at.is_some());

    let p = e.probe("stripe", &rk_hooks.key, KeyType::Restricted).await;
    assert_eq!(observed(&p), vec!["https://hooks.example.com"]);

    e.emu.state.clear_requests();
    let p = e.probe("stripe", &rk_none.key, KeyType::Restricted).await;
    expect_not_known(&p, S::Unverifiable, "rak_webhook_read");
    assert_eq!(
        e.calls_to("/v1/webhook_endpoints") - e.calls_to("/v1/webhook_endpoints/"),
        0,
        "no list call without the permission"
    );

    let p = e.probe("stripe", &failing.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "server_error");
    let p = e.probe("stripe", &throttled.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "rate_limited");

    e.emu.state.clear_requests();
    let p = e.probe("stripe", &long.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "truncated");
    assert!(webhooks(&p).truncated);
    assert_eq!(webhooks(&p).items.len(), 1000, "ten pages of 100 read");
    assert_eq!(e.calls_to("/v1/webhook_endpoints"), 10);
}

// ----------------------------------------------------------------------------------- Shopify

fn shop_key(n: u32) -> EmulatorKey {
    EmulatorKey::new(
        &format!("shpat_{n:032x}"),
        "shopify",
        &["read_products"],
        SHOP,
    )
}

#[tokio::test]
async fn shopify_webhooks() {
    let ok = with_hooks(shop_key(0xb01), &[DECLARED, UNDECLARED]);
    let refused = variant(shop_key(0xb02), "webhooks_access", "refused");
    let failing = variant(shop_key(0xb03), "webhooks_error", "503");
    let mut long = shop_key(0xb04);
    long.extra.insert("webhooks".into(), many(2501));
    let mut two_pages = shop_key(0xb05);
    two_pages.extra.insert("webhooks".into(), many(300));
    let keys = vec![
        ok.clone(),
        refused.clone(),
        failing.clone(),
        long.clone(),
        two_pages.clone(),
    ];
    let e = start(vendors::shopify::emulator::spec(), keys).await;

    let p = e.probe("shopify", &ok.key, KeyType::ServerSide).await;
    assert_eq!(observed(&p), both());

    let p = e.probe("shopify", &refused.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Unverifiable, "webhook subscriptions");

    let p = e.probe("shopify", &failing.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "server_error");

    e.emu.state.clear_requests();
    let p = e
        .probe("shopify", &two_pages.key, KeyType::ServerSide)
        .await;
    assert_eq!(
        observed(&p).len(),
        300,
        "the Link header's page_info is followed"
    );
    assert_eq!(e.calls_to("webhooks.json"), 2);

    let p = e.probe("shopify", &long.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "truncated");
    assert!(webhooks(&p).truncated);
}

// ---------------------------------------------------------------------------------- Iterable

fn iterable_key(n: u32, key_type: &str) -> EmulatorKey {
    EmulatorKey::new(
        &format!("{n:032x}"),
        "iterable",
        &[key_type],
        "webhook-project",
    )
    .with_type(key_type)
}

#[tokio::test]
async fn iterable_webhooks() {
    let server = with_hooks(iterable_key(0xc01, "server_side"), &[DECLARED, UNDECLARED]);
    let read_only = iterable_key(0xc02, "read_only");
    let refused = variant(
        iterable_key(0xc03, "read_only"),
        "read_only_webhooks",
        "refused",
    );
    let mobile = iterable_key(0xc04, "mobile");
    let failing = variant(iterable_key(0xc05, "server_side"), "webhooks_error", "500");
    let keys = vec![
        server.clone(),
        read_only.clone(),
        refused.clone(),
        mobile.clone(),
        failing.clone(),
    ];
    let e = start(vendors::iterable::emulator::spec(), keys).await;

    let p = e.probe("iterable", &server.key, KeyType::ServerSide).await;
    assert_eq!(observed(&p), both());
    assert_eq!(webhooks(&p).call, "GET /api/webhooks");

    let p = e.probe("iterable", &read_only.key, KeyType::ReadOnly).await;
    assert_eq!(observed(&p), vec!["https://hooks.example.com"]);

    let p = e.probe("iterable", &refused.key, KeyType::ReadOnly).await;
    expect_not_known(&p, S::Unverifiable, "server-side");

    e.emu.state.clear_requests();
    let p = e.probe("iterable", &mobile.key, KeyType::ClientSide).await;
    expect_not_known(&p, S::Unverifiable, "server-side");
    assert_eq!(e.calls_to("/api/webhooks"), 0, "a client key is not asked");

    let p = e.probe("iterable", &failing.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "server_error");
}

// ------------------------------------------------------------------------------------- Adyen

fn adyen_key(tag: &str, roles: &[&str]) -> EmulatorKey {
    EmulatorKey::new(
        &format!(
            "AQEvendorscopeEMULATORtestWEBHOOK{tag}Bw==-EMULATORemulatorEMULATORemulatorEMULATOR01=-vsEmu:{tag}"
        ),
        "adyen",
        roles,
        "WebhookCompany",
    )
    .with_type("api_key")
}

const WEBHOOKS_READ: &str = "Management API\u{2014}Webhooks read";
const ACCOUNT_READ: &str = "Management API\u{2014}Account read";

#[tokio::test]
async fn adyen_webhooks() {
    let company = with_hooks(
        adyen_key("wh0001", &[ACCOUNT_READ, WEBHOOKS_READ]),
        &[DECLARED, UNDECLARED],
    );
    let mut merchant = with_hooks(adyen_key("wh0002", &[WEBHOOKS_READ]), &[DECLARED]);
    merchant
        .extra
        .insert("merchant_id".into(), vec!["WebhookShopECOM".into()]);
    let no_role = adyen_key("wh0003", &[ACCOUNT_READ]);
    let failing = variant(
        adyen_key("wh0004", &[WEBHOOKS_READ]),
        "webhooks_error",
        "500",
    );
    let mut long = adyen_key("wh0005", &[WEBHOOKS_READ]);
    long.extra.insert("webhooks".into(), many(1001));
    let keys = vec![
        company.clone(),
        merchant.clone(),
        no_role.clone(),
        failing.clone(),
        long.clone(),
    ];
    let e = start(vendors::adyen::emulator::spec(), keys).await;

    let p = e.probe("adyen", &company.key, KeyType::ServerSide).await;
    assert_eq!(observed(&p), both());
    assert_eq!(webhooks(&p).call, "GET /v3/companies/{companyId}/webhooks");

    e.emu.state.clear_requests();
    let p = e.probe("adyen", &merchant.key, KeyType::ServerSide).await;
    assert_eq!(observed(&p), vec!["https://hooks.example.com"]);
    assert_eq!(e.calls_to("/v3/merchants/WebhookShopECOM/webhooks"), 1);

    e.emu.state.clear_requests();
    let p = e.probe("adyen", &no_role.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Unverifiable, "Webhooks read");
    assert_eq!(e.calls_to("/webhooks"), 0, "no call without the role");

    let p = e.probe("adyen", &failing.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "server_error");

    let p = e.probe("adyen", &long.key, KeyType::ServerSide).await;
    expect_not_known(&p, S::Inconclusive, "truncated");
    assert_eq!(webhooks(&p).items.len(), 1000);
}

// ------------------------------------------------------------------------------ rules on it

fn inventory(destinations: Option<&str>) -> Inventory {
    let d = destinations
        .map(|d| format!("    webhook_destinations: {d}\n"))
        .unwrap_or_default();
    vendorscope::yaml::from_str(&format!(
        "version: 1
organization: T
vendors:
  - id: stripe
    connector: stripe
    category: psp
    tier: 1
{d}    keys:
      - id: stripe-key
        secret: {{ env: UNUSED }}
        type: server_side
"
    ))
    .expect("inventory")
}

fn outcome(inv: &Inventory, profile: &KeyProfile, rule: &str) -> (Outcome, Option<String>) {
    let rec: KeyRecord = serde_json::from_value(json!({
        "id": "stripe-key", "vendor": "stripe", "secret_source": "env",
        "fingerprint": "fp", "profile": profile,
    }))
    .expect("record");
    let facts = vendorscope::facts::build(
        Some(inv),
        &[rec],
        &[],
        &vendorscope::facts::RunContext {
            command: "audit".into(),
            probed: true,
            ..Default::default()
        },
    );
    let set = PolicySet::load_builtin().expect("pack");
    let ev = evaluate_json(
        &set,
        &serde_json::to_value(&facts).expect("facts"),
        &Exceptions::none(),
        jiff::Timestamp::now(),
        "chk",
    );
    let r = ev
        .results
        .iter()
        .find(|r| r.rule == rule && r.subject.id == "stripe")
        .unwrap_or_else(|| panic!("{rule}: no result"));
    (r.outcome, r.reason.clone())
}

#[tokio::test]
async fn flow_rules_pass_fail_and_go_unknown_on_what_the_probe_saw() {
    let clean = with_hooks(stripe_key(201, "sk_test_", &[]), &[DECLARED]);
    let leaky = with_hooks(stripe_key(202, "sk_test_", &[]), &[DECLARED, UNDECLARED]);
    let failing = variant(stripe_key(203, "sk_test_", &[]), "webhooks_error", "502");
    let rk_none = stripe_key(204, "rk_test_", &["rak_charge_read"]);
    let keys = vec![
        clean.clone(),
        leaky.clone(),
        failing.clone(),
        rk_none.clone(),
    ];
    let e = start(vendors::stripe::emulator::spec(), keys).await;
    let declared = inventory(Some("[hooks.example.com]"));

    let p = e.probe("stripe", &clean.key, KeyType::ServerSide).await;
    assert_eq!(outcome(&declared, &p, "VKS-FLOW-001").0, Outcome::Pass);
    assert_eq!(outcome(&declared, &p, "VKS-FLOW-002").0, Outcome::Pass);
    // No declaration: unknown, not failed.
    let (o, why) = outcome(&inventory(None), &p, "VKS-FLOW-001");
    assert_eq!(o, Outcome::Unknown);
    assert!(why.unwrap_or_default().contains("webhook_destinations"));

    let p = e.probe("stripe", &leaky.key, KeyType::ServerSide).await;
    assert_eq!(outcome(&declared, &p, "VKS-FLOW-001").0, Outcome::Fail);
    assert_eq!(outcome(&declared, &p, "VKS-FLOW-002").0, Outcome::Fail);
    // A wildcard pattern covers it; the plain-HTTP rule still fails.
    let wide = inventory(Some("[hooks.example.com, \"*.broker.example\"]"));
    assert_eq!(outcome(&wide, &p, "VKS-FLOW-001").0, Outcome::Pass);
    assert_eq!(outcome(&wide, &p, "VKS-FLOW-002").0, Outcome::Fail);

    for (raw, kt, why) in [
        (&failing.key, KeyType::ServerSide, "server_error"),
        (&rk_none.key, KeyType::Restricted, "rak_webhook_read"),
    ] {
        let p = e.probe("stripe", raw, kt).await;
        for rule in ["VKS-FLOW-001", "VKS-FLOW-002"] {
            let (o, reason) = outcome(&declared, &p, rule);
            assert_eq!(o, Outcome::Unknown, "{rule} {why}");
            assert!(reason.unwrap_or_default().contains(why), "{rule} {why}");
        }
    }
}

// ------------------------------------------------------------------------------ the demo

/// The 2020 scenario's undeclared webhook is one finding with declared-vs-observed evidence
/// in the table, SARIF and HTML; a second run with one new webhook diffs as exactly that.
#[test]
fn demo_finding_and_diff_of_a_new_webhook() {
    use std::sync::Arc;
    use vendorscope::commands::diff;
    use vendorscope::guard::{Clean, Redactor};
    use vendorscope::report::{Format, RenderOptions, render};
    use vendorscope::secret::{Fingerprinter, KeyOrigin};

    const NEW: &str = "https://exfil.example.net/collect/s3cr3tPathToken?t=s3cr3tQuery";
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = vendorscope::demo::Scenario::start(dir.path(), "build-1").expect("scenario");
    let mut o = scenario.audit_options().expect("options");
    o.fingerprinter = Some(Arc::new(Fingerprinter::from_bytes(
        b"webhook-test-fingerprint-key",
        KeyOrigin::Fixed,
    )));
    let audit = || {
        vendorscope::audit::audit(&o, &Redactor::new())
            .unwrap_or_else(|e| panic!("audit: {e}"))
            .run
    };
    let first = audit();
    let undeclared = "https://orders-export.unknown-broker.example";
    let flows: Vec<_> = first
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("VKS-FLOW-") && f.status == Outcome::Fail)
        .collect();
    assert_eq!(flows.len(), 1, "{flows:?}");
    let f = flows[0];
    assert_eq!(
        (f.rule.as_str(), f.subject.id.as_str()),
        ("VKS-FLOW-001", "shopify")
    );
    assert!(
        f.message.contains(undeclared) && f.message.contains("hooks.example.com"),
        "{}",
        f.message
    );
    // Every vendor's webhooks were observed (no unknown), each by its own GET.
    for v in &first.facts.vendors {
        assert!(
            v.observed_webhook_destinations.is_some(),
            "{}: {:?}",
            v.id,
            v.webhooks_reason
        );
    }
    for call in [
        "/webhook_endpoints",
        "/webhooks.json",
        "/api/webhooks",
        "/webhooks?",
    ] {
        assert!(
            first
                .ledger
                .iter()
                .any(|l| l.method == "GET" && format!("{l:?}").contains(call)),
            "{call} not in the ledger"
        );
    }
    let clean = Clean::new(&first, &Redactor::new()).expect("clean");
    for format in [Format::Table, Format::Sarif, Format::Html, Format::Json] {
        let text = render(&clean, format, RenderOptions::default()).expect("renders");
        // (HTML escapes `/`: the hosts are searched without their scheme.)
        for named in ["orders-export.unknown-broker.example", "hooks.example.com"] {
            assert!(text.contains(named), "{format:?} does not name {named}");
        }
        assert!(text.contains("VKS-FLOW-001"), "{format:?}");
        for secret in [
            "7f3a9c",
            "ex9Tq2Lw",
            "s3cr3tPathToken",
            "vendorscope/T00000000",
        ] {
            assert!(!text.contains(secret), "{format:?} keeps {secret}");
        }
    }

    // One new webhook at Stripe.
    let stripe = scenario
        .emulators
        .iter()
        .find(|e| e.vendor == "stripe")
        .expect("stripe emulator");
    let mut key = stripe
        .state
        .key_where(|k| k.extra.contains_key("webhooks"))
        .expect("the demo's Stripe key");
    key.extra
        .get_mut("webhooks")
        .expect("webhooks")
        .push(NEW.to_string());
    stripe.state.put_key(key);
    let second = audit();
    let d = diff::diff(&first, &second);
    let new: Vec<String> = d
        .new
        .iter()
        .map(|f| format!("{} {}", f.rule, f.subject.id))
        .collect();
    assert_eq!(new, vec!["VKS-FLOW-001 stripe"], "{new:?}");
    assert!(d.resolved.is_empty(), "{:?}", d.resolved);
    assert!(d.new[0].message.contains("https://exfil.example.net"));
    assert_eq!(d.observed.len(), 1, "{:?}", d.observed);
    let c = &d.observed[0];
    assert_eq!(
        (c.subject.as_str(), c.observation.as_str()),
        ("key:stripe-secret", "webhooks")
    );
    assert_eq!(
        c.change,
        vendorscope::run::observed_diff::ObservedChangeKind::Added
    );
    assert!(
        c.detail.starts_with("we_1002 [")
            && c.detail.contains("destination=https://exfil.example.net"),
        "{}",
        c.detail
    );
}
