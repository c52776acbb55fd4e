//! Observed access (issue 16 points 2, 4, 5) against the emulators: Adyen API credentials and
//! users, Shopify staff accounts and script tags, read by a key declared `role: audit`; each
//! observation observed, unverifiable with the missing permission named, inconclusive on a
//! vendor error (rule `unknown`) and truncated; the rules' pass, fail and unknown on real facts.

use std::time::Duration;

use url::Url;
use vendorscope::emulator::{
    EmulatorConfig, EmulatorKey, EmulatorSpec, PLANTED_PII, RunningEmulator, serve,
};
use vendorscope::facts::{self, Facts, RunContext};
use vendorscope::http::Client;
use vendorscope::inventory::model::{Inventory, KeyRole};
use vendorscope::policy::eval::evaluate;
use vendorscope::policy::{Exceptions, PolicySet};
use vendorscope::run::{KeyProfile, KeyRecord, ObservationStatus as S, Outcome};
use vendorscope::secret::Secret;
use vendorscope::vendors::adyen::credentials::{CREDENTIALS, ROLE_CREDENTIALS, ROLE_USERS, USERS};
use vendorscope::vendors::adyen::emulator::{self as adyen_emu, keys as ak};
use vendorscope::vendors::shopify::staff::{SCRIPT_TAGS, STAFF};
use vendorscope::vendors::{self, ProbeSettings};

const SHOP: &str = "audit-shop.myshopify.com";

struct Env {
    emu: RunningEmulator,
    settings: ProbeSettings,
    client: Client,
}

async fn start(spec: EmulatorSpec, mut keys: Vec<EmulatorKey>, builtin: bool) -> Env {
    if builtin {
        keys.extend((spec.default_keys)());
    }
    let cfg = EmulatorConfig {
        keys,
        include_builtin_keys: Some(builtin),
        ..Default::default()
    };
    let emu = serve(&spec, &cfg, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator");
    let settings = ProbeSettings {
        endpoint: Some(Url::parse(&emu.base_url).expect("url")),
        shop: Some(SHOP.into()),
        ..Default::default()
    };
    let mut ccfg = settings.client_config();
    ccfg.backoff_base = Duration::from_millis(20);
    ccfg.timeout = Duration::from_secs(10);
    let client = Client::new(ccfg).expect("client");
    Env {
        emu,
        settings,
        client,
    }
}

fn key(id: &str, audit: bool) -> vendorscope::inventory::model::Key {
    let mut k = vendors::cli_key(vendorscope::secret::SecretRef::Env("UNUSED".into()), None);
    k.id = id.into();
    k.role = audit.then_some(KeyRole::Audit);
    k
}

impl Env {
    async fn probe(&self, vendor: &str, raw: &str, audit: bool) -> KeyProfile {
        let k = key("k", audit);
        let p =
            vendors::probe_key(vendor, &Secret::new(raw), &k, &self.settings, &self.client).await;
        let st = &self.emu.state;
        assert_eq!(st.writes(), 0, "emulator saw a write");
        assert!(st.requests().iter().all(|r| r.method == "GET"));
        assert!(self.client.ledger().iter().all(|e| e.method == "GET"));
        p
    }
}

/// No planted personal value, and no script-tag token, in the profile or the ledger.
fn assert_clean(p: &KeyProfile, client: &Client) {
    let text = format!(
        "{}{}",
        serde_json::to_string(p).expect("json"),
        serde_json::to_string(&client.ledger()).expect("json")
    );
    for (member, value) in PLANTED_PII {
        assert!(!text.contains(value), "planted {member} kept: {text}");
    }
    assert!(!text.contains("EMULATOR-TAG-TOKEN"), "{text}");
}

fn adyen_key(raw: &str, roles: &[&str], company: &str, ips: &[&str]) -> EmulatorKey {
    let mut k = EmulatorKey::new(raw, "adyen", roles, company).with_type("api_key");
    k.extra.insert(
        "allowed_ips".into(),
        ips.iter().map(|s| s.to_string()).collect(),
    );
    k
}

fn raw_adyen(tag: &str) -> String {
    format!(
        "AQEvendorscopeACCESStest{tag:0<16}Bw==-EMULATORemulatorEMULATORemulatorEMULATOR77=-vsAcc:{tag}"
    )
}

// ---------------------------------------------------------------- Adyen observations

#[tokio::test]
async fn adyen_audit_key_lists_credentials_and_users_without_personal_data() {
    let e = start(adyen_emu::spec(), vec![], true).await;
    let p = e.probe("adyen", ak::TEST_FULL, true).await;
    let own = p.credential_id.clone().expect("credential id from /me");
    let creds = &p.observations[CREDENTIALS];
    assert_eq!(creds.status, S::Observed, "{creds:?}");
    assert!(creds.at.is_some());
    // The company's list, then the merchant account its credentials name.
    assert_eq!(
        creds.values,
        vec!["companies/VendorscopeDemo", "merchants/VendorscopeDemoECOM"]
    );
    let mine = creds.items.iter().find(|i| i.id == own).expect("own");
    assert!(
        mine.attributes["roles"]
            .iter()
            .any(|r| r.contains("Users read"))
    );
    assert_eq!(mine.attributes["active"], vec!["true"]);
    // The revoked built-in key is an inactive credential of the same company.
    assert!(
        creds
            .items
            .iter()
            .any(|i| i.attributes["active"] == vec!["false"])
    );
    let users = &p.observations[USERS];
    assert_eq!(users.status, S::Observed);
    assert_eq!(users.items.len(), 3);
    assert!(
        users
            .items
            .iter()
            .all(|i| i.attributes.keys().all(|k| k == "roles" || k == "active"))
    );
    assert_clean(&p, &e.client);
    let paths: Vec<String> = e.client.ledger().iter().map(|l| l.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/v3/companies/{companyId}/users?pageNumber&pageSize"),
        "{paths:?}"
    );
    // An integration key never makes the audit calls.
    let e = start(adyen_emu::spec(), vec![], true).await;
    let p = e.probe("adyen", ak::TEST_FULL, false).await;
    assert!(
        p.observations
            .keys()
            .all(|k| k != "api_credentials" && k != "users"),
        "{:?}",
        p.observations.keys()
    );
    let paths: Vec<String> = e.client.ledger().iter().map(|l| l.path.clone()).collect();
    assert!(
        paths
            .iter()
            .all(|p| !p.contains("/apiCredentials") && !p.contains("/users")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn adyen_audit_key_without_a_role_is_unverifiable_naming_it() {
    let raw = raw_adyen("noUsers");
    let e = start(
        adyen_emu::spec(),
        vec![adyen_key(
            &raw,
            &[ROLE_CREDENTIALS],
            "AuditCo",
            &["192.0.2.9"],
        )],
        false,
    )
    .await;
    let p = e.probe("adyen", &raw, true).await;
    assert_eq!(p.observations[CREDENTIALS].status, S::Observed);
    let u = &p.observations[USERS];
    assert_eq!(u.status, S::Unverifiable);
    assert!(
        u.reason.as_deref().is_some_and(|r| r.contains(ROLE_USERS)),
        "{u:?}"
    );
    // No Management API role at all: /me is a 403, both lists unverifiable.
    let e = start(adyen_emu::spec(), vec![], true).await;
    let p = e.probe("adyen", ak::TEST_NO_MANAGEMENT, true).await;
    for name in [CREDENTIALS, USERS] {
        let o = &p.observations[name];
        assert_eq!(o.status, S::Unverifiable, "{name}");
        assert!(
            o.reason
                .as_deref()
                .is_some_and(|r| r.contains(ROLE_CREDENTIALS))
        );
    }
}

#[tokio::test]
async fn adyen_vendor_error_is_inconclusive_and_a_long_list_truncated() {
    let e = start(adyen_emu::spec(), vec![], true).await;
    e.emu.state.set_variant("api_credentials", "server_error");
    let p = e.probe("adyen", ak::TEST_FULL, true).await;
    let c = &p.observations[CREDENTIALS];
    assert_eq!(c.status, S::Inconclusive);
    assert_eq!(c.reason.as_deref(), Some("server_error"));
    assert_eq!(
        p.observations[USERS].status,
        S::Observed,
        "the other list stands"
    );

    let raw = raw_adyen("long");
    let mut k = adyen_key(
        &raw,
        &[ROLE_CREDENTIALS, ROLE_USERS],
        "LongCo",
        &["192.0.2.9"],
    );
    k.extra
        .insert("generated_credentials".into(), vec!["1001".into()]);
    let e = start(adyen_emu::spec(), vec![k], false).await;
    let p = e.probe("adyen", &raw, true).await;
    let c = &p.observations[CREDENTIALS];
    assert_eq!(c.status, S::Inconclusive);
    assert!(c.truncated);
    assert_eq!(c.items.len(), 1000, "forty pages of 25");
    let list_calls = e
        .client
        .ledger()
        .iter()
        .filter(|l| l.path.contains("apiCredentials"))
        .count();
    assert_eq!(list_calls, 40);
}

// ---------------------------------------------------------------- Adyen rules on real facts

const ADYEN_INVENTORY: &str = "version: 1
organization: T
vendors:
  - id: adyen
    connector: adyen
    category: psp
    tier: 1
    keys:
      - id: adyen-audit
        type: server_side
        secret: { env: A }
        role: audit
      - id: adyen-api
        type: server_side
        secret: { env: B }
";

fn outcome(facts: &Facts, rule: &str, subject: &str) -> (Outcome, Option<String>, String) {
    let set = PolicySet::load_builtin().expect("pack");
    let ev = evaluate(
        &set,
        facts,
        &Exceptions::none(),
        jiff::Timestamp::now(),
        "t",
    );
    let r = ev
        .results
        .iter()
        .find(|r| r.rule == rule && r.subject.id == subject)
        .unwrap_or_else(|| panic!("{rule} on {subject}"));
    let msg = ev
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.message.clone())
        .unwrap_or_default();
    (r.outcome, r.reason.clone(), msg)
}

fn facts_of(inv_text: &str, profiles: &[(&str, KeyProfile)]) -> Facts {
    let inv: Inventory = vendorscope::yaml::from_str(inv_text).expect("inventory");
    let v = &inv.vendors[0];
    let records: Vec<KeyRecord> = profiles
        .iter()
        .map(|(id, p)| {
            let k = v.keys.iter().find(|k| k.id == *id).expect("key");
            let mut r = KeyRecord::declared(&v.id, k);
            r.fingerprint = Some(format!("vsfp:{id}"));
            r.profile = Some(p.clone());
            r
        })
        .collect();
    facts::build(Some(&inv), &records, &[], &RunContext::default())
}

#[tokio::test]
async fn adyen_rules_pass_fail_and_go_unknown() {
    let (audit, api, rogue) = (raw_adyen("audit"), raw_adyen("api"), raw_adyen("rogue"));
    let both = [ROLE_CREDENTIALS, ROLE_USERS];
    let e = start(
        adyen_emu::spec(),
        vec![
            adyen_key(&audit, &both, "AuditCo", &["192.0.2.9"]),
            adyen_key(
                &api,
                &["Checkout webservice role"],
                "AuditCo",
                &["192.0.2.10"],
            ),
        ],
        false,
    )
    .await;
    let pa = e.probe("adyen", &audit, true).await;
    let pi = e.probe("adyen", &api, false).await;
    let f = facts_of(
        ADYEN_INVENTORY,
        &[("adyen-audit", pa), ("adyen-api", pi.clone())],
    );
    for rule in ["VKS-ACC-001", "VKS-ACC-002", "VKS-ACC-003"] {
        assert_eq!(outcome(&f, rule, "adyen").0, Outcome::Pass, "{rule}");
    }
    for rule in ["VKS-ACC-004", "VKS-ACC-005", "VKS-ACC-006"] {
        assert_eq!(outcome(&f, rule, "adyen-audit").0, Outcome::Pass, "{rule}");
    }
    let v = &f.vendors[0];
    assert_eq!(v.undeclared_credentials, Some(vec![]));
    assert!(v.provenance["observed_credentials"].at.is_some());

    // An undeclared payment credential that any IP may use appears at the vendor.
    e.emu.state.put_key(adyen_key(
        &rogue,
        &["Checkout webservice role"],
        "AuditCo",
        &[],
    ));
    let pa = e.probe("adyen", &audit, true).await;
    let f = facts_of(
        ADYEN_INVENTORY,
        &[("adyen-audit", pa.clone()), ("adyen-api", pi.clone())],
    );
    let (o, _, msg) = outcome(&f, "VKS-ACC-001", "adyen");
    assert_eq!(o, Outcome::Fail);
    let rogue_id = f.vendors[0]
        .undeclared_credentials
        .clone()
        .expect("observed");
    assert_eq!(rogue_id.len(), 1);
    assert!(
        msg.contains(&rogue_id[0]) && msg.contains("allowed IPs: any"),
        "{msg}"
    );
    assert!(
        msg.contains("adyen-api = "),
        "declared side of the evidence: {msg}"
    );
    assert_eq!(outcome(&f, "VKS-ACC-003", "adyen").0, Outcome::Fail);

    // The integration key's credential deactivated at the vendor.
    let mut gone = pi.clone();
    gone.credential_id = Some("S2-0000000000".into());
    let f = facts_of(
        ADYEN_INVENTORY,
        &[("adyen-audit", pa.clone()), ("adyen-api", gone)],
    );
    assert_eq!(outcome(&f, "VKS-ACC-002", "adyen").0, Outcome::Fail);

    // An inventory key whose credential id is unknown: the undeclared one may be it.
    let f = facts_of(ADYEN_INVENTORY, &[("adyen-audit", pa.clone())]);
    let (o, reason, _) = outcome(&f, "VKS-ACC-001", "adyen");
    assert_eq!(o, Outcome::Unknown, "{reason:?}");

    // A vendor error on the list: unknown, never pass.
    e.emu.state.set_variant("api_credentials", "server_error");
    let pa = e.probe("adyen", &audit, true).await;
    let f = facts_of(
        ADYEN_INVENTORY,
        &[("adyen-audit", pa), ("adyen-api", pi.clone())],
    );
    let (o, reason, _) = outcome(&f, "VKS-ACC-001", "adyen");
    assert_eq!(o, Outcome::Unknown);
    assert!(reason.is_some_and(|r| r.contains("server_error")));

    // No audit key declared: unknown, the reason names the role to grant.
    let f = facts_of(
        &ADYEN_INVENTORY.replace("        role: audit\n", ""),
        &[("adyen-api", pi)],
    );
    let (o, reason, _) = outcome(&f, "VKS-ACC-001", "adyen");
    assert_eq!(o, Outcome::Unknown);
    assert!(reason.is_some_and(|r| r.contains("role: audit") && r.contains(ROLE_CREDENTIALS)));
}

#[tokio::test]
async fn adyen_audit_key_with_more_than_the_audit_or_any_ip_fails() {
    let raw = raw_adyen("wide");
    let roles = [ROLE_CREDENTIALS, ROLE_USERS, "Checkout webservice role"];
    let e = start(
        adyen_emu::spec(),
        vec![adyen_key(&raw, &roles, "WideCo", &[])],
        false,
    )
    .await;
    let p = e.probe("adyen", &raw, true).await;
    let f = facts_of(ADYEN_INVENTORY, &[("adyen-audit", p)]);
    let (o, _, msg) = outcome(&f, "VKS-ACC-004", "adyen-audit");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("Checkout webservice role"), "{msg}");
    assert_eq!(outcome(&f, "VKS-ACC-006", "adyen-audit").0, Outcome::Fail);
    assert_eq!(outcome(&f, "VKS-ACC-005", "adyen-audit").0, Outcome::Pass);
}

// ---------------------------------------------------------------- Shopify

fn shopify_key(raw: &str, scopes: &[&str]) -> EmulatorKey {
    EmulatorKey::new(raw, "shopify", scopes, SHOP)
}

const SHOPIFY_AUDIT: &str = "shpat_000000000000000000000000000a0d17";

#[tokio::test]
async fn shopify_audit_key_reads_staff_and_script_tags_without_personal_data() {
    let e = start(
        vendorscope::vendors::shopify::emulator::spec(),
        vec![shopify_key(
            SHOPIFY_AUDIT,
            &["read_users", "read_script_tags"],
        )],
        false,
    )
    .await;
    let p = e.probe("shopify", SHOPIFY_AUDIT, true).await;
    let staff = &p.observations[STAFF];
    assert_eq!(staff.status, S::Observed, "{staff:?}");
    let with_orders: Vec<&str> = staff
        .items
        .iter()
        .filter(|i| i.attributes["order_access"] == vec!["true"])
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(with_orders.len(), 2, "full + orders");
    let tags = &p.observations[SCRIPT_TAGS];
    assert_eq!(tags.status, S::Observed);
    assert_eq!(
        tags.items[0].attributes["origin"],
        vec!["https://cdn.shop-analytics.example"]
    );
    assert_clean(&p, &e.client);
}

#[tokio::test]
async fn shopify_missing_scope_not_plus_vendor_error_and_truncation() {
    let mut long = shopify_key(SHOPIFY_AUDIT, &["read_users", "write_script_tags"]);
    long.extra
        .insert("generated_users".into(), vec!["60".into()]);
    let e = start(
        vendorscope::vendors::shopify::emulator::spec(),
        vec![long],
        false,
    )
    .await;
    let p = e.probe("shopify", SHOPIFY_AUDIT, true).await;
    let s = &p.observations[STAFF];
    assert_eq!((s.status, s.truncated), (S::Inconclusive, true), "{s:?}");
    assert_eq!(
        p.observations[SCRIPT_TAGS].status,
        S::Observed,
        "write_ includes read_"
    );
    e.emu.state.set_variant("users_endpoint", "not_plus_404");
    e.emu.state.set_variant("script_tags", "server_error");
    let p = e.probe("shopify", SHOPIFY_AUDIT, true).await;
    let s = &p.observations[STAFF];
    assert_eq!(s.status, S::Unverifiable);
    assert!(s.reason.as_deref().is_some_and(|r| r.contains("Plus")));
    let t = &p.observations[SCRIPT_TAGS];
    assert_eq!(
        (t.status, t.reason.as_deref()),
        (S::Inconclusive, Some("server_error"))
    );

    let e = start(
        vendorscope::vendors::shopify::emulator::spec(),
        vec![shopify_key(SHOPIFY_AUDIT, &["read_orders"])],
        false,
    )
    .await;
    let p = e.probe("shopify", SHOPIFY_AUDIT, true).await;
    for (name, scope) in [(STAFF, "read_users"), (SCRIPT_TAGS, "read_script_tags")] {
        let o = &p.observations[name];
        assert_eq!(o.status, S::Unverifiable, "{name}");
        assert!(
            o.reason.as_deref().is_some_and(|r| r.contains(scope)),
            "{o:?}"
        );
    }
    assert!(
        e.client
            .ledger()
            .iter()
            .all(|l| !l.path.contains("users.json")),
        "no call without the scope"
    );
}

const SHOPIFY_INVENTORY: &str = "version: 1
organization: T
vendors:
  - id: shopify
    connector: shopify
    category: ecommerce
    tier: 1
    admin_accounts: { mfa_enforced: true, count: 2 }
    keys:
      - id: shop-audit
        type: server_side
        secret: { env: A }
        role: audit
";

#[tokio::test]
async fn shopify_rules_on_staff_and_script_tag_origins() {
    let e = start(
        vendorscope::vendors::shopify::emulator::spec(),
        vec![shopify_key(
            SHOPIFY_AUDIT,
            &["read_users", "read_script_tags"],
        )],
        false,
    )
    .await;
    let p = e.probe("shopify", SHOPIFY_AUDIT, true).await;
    let f = facts_of(SHOPIFY_INVENTORY, &[("shop-audit", p.clone())]);
    assert_eq!(outcome(&f, "VKS-ACC-007", "shopify").0, Outcome::Pass);
    assert_eq!(outcome(&f, "VKS-ACC-004", "shop-audit").0, Outcome::Pass);
    // The script tag's origin belongs to no vendor: a shadow vendor, without any crawl.
    let (o, _, msg) = outcome(&f, "VKS-SUP-005", "run");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("https://cdn.shop-analytics.example"), "{msg}");
    assert_eq!(
        f.run.script_tag_origins,
        Some(vec!["https://cdn.shop-analytics.example".to_string()])
    );
    let so = f.run.script_origins.as_ref().expect("origins");
    assert!(so[0].injected_by[0].starts_with("shopify script tag "));
    // Declared: the origin is the vendor's.
    let owned = SHOPIFY_INVENTORY.replace(
        "    keys:",
        "    script_origins: [cdn.shop-analytics.example]\n    keys:",
    );
    let f = facts_of(&owned, &[("shop-audit", p.clone())]);
    assert_eq!(outcome(&f, "VKS-SUP-005", "run").0, Outcome::Pass);
    // More staff with order access than declared admin accounts.
    let f = facts_of(
        &SHOPIFY_INVENTORY.replace("count: 2", "count: 1"),
        &[("shop-audit", p)],
    );
    assert_eq!(outcome(&f, "VKS-ACC-007", "shopify").0, Outcome::Fail);
}

// ---------------------------------------------------------------- the table

#[test]
fn readme_lists_every_row_of_the_least_privilege_table() {
    let readme = include_str!("../README.md");
    for n in vendorscope::vendors::least_privilege::table() {
        assert!(
            readme.contains(n.grant),
            "README does not name {} `{}`",
            n.kind,
            n.grant
        );
        assert!(readme.contains(n.observation), "README: {}", n.observation);
    }
}

fn check(text: &str) -> String {
    match vendorscope::inventory::load_bytes("inv.yaml", text.as_bytes(), None) {
        Ok(_) => "accepted".into(),
        Err(d) => d.render(),
    }
}

#[test]
fn inventory_refuses_an_audit_role_that_cannot_audit() {
    for (bad, says) in [
        (
            "      - id: k\n        type: publishable\n        secret: { env: A }\n        role: audit\n",
            "server-side",
        ),
        (
            "      - id: k\n        type: server_side\n        secret: { env: A }\n        role: auditor\n",
            "audit",
        ),
    ] {
        let text = format!(
            "version: 1\norganization: T\nvendors:\n  - id: adyen\n    connector: adyen\n    category: psp\n    tier: 1\n    keys:\n{bad}"
        );
        let shown = check(&text);
        assert!(shown.contains("inv.yaml:12:"), "{shown}");
        assert!(shown.contains(says), "{shown}");
    }
    let stripe = "version: 1\norganization: T\nvendors:\n  - id: s\n    connector: stripe\n    category: psp\n    tier: 1\n    keys:\n      - id: k\n        type: server_side\n        secret: { env: A }\n        role: audit\n";
    let shown = check(stripe);
    assert!(shown.contains("makes no audit observations"), "{shown}");
}

#[test]
fn policy_explain_names_what_the_audit_key_needs() {
    let run = |rule: &str| {
        let out = assert_cmd::Command::cargo_bin("vendorscope")
            .expect("binary")
            .args(["policy", "explain", rule])
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        assert!(out.status.success(), "{rule}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let acc = run("VKS-ACC-001");
    assert!(
        acc.contains("needs at the vendor") && acc.contains(ROLE_CREDENTIALS),
        "{acc}"
    );
    assert!(!acc.contains("read_users"), "only the rows the rule uses");
    let audit = run("VKS-ACC-004");
    for g in [
        ROLE_CREDENTIALS,
        ROLE_USERS,
        "read_users",
        "read_script_tags",
    ] {
        assert!(audit.contains(g), "{g}: {audit}");
    }
    assert!(run("VKS-SUP-005").contains("read_script_tags"));
    assert!(!run("VKS-KEY-004").contains("needs at the vendor"));
}
