//! Policy engine: every built-in rule passes, fails and goes unknown on its fixtures; the
//! mutation test; `policy lint` diagnostics with exact positions; CEL runtime errors.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use vendorscope::policy::eval::evaluate_json;
use vendorscope::policy::{Exceptions, PolicySet, lint_str};
use vendorscope::run::Outcome;

const SHOP: &str = include_str!("../fixtures/policy/shop.json");

fn now() -> jiff::Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("ts")
}

fn shop() -> Value {
    serde_json::from_str(SHOP).expect("fixture")
}

fn builtin() -> PolicySet {
    PolicySet::load_builtin().expect("built-in pack loads")
}

type Outcomes = BTreeMap<(String, String), Outcome>;

fn outcomes(set: &PolicySet, facts: &Value) -> Outcomes {
    evaluate_json(set, facts, &Exceptions::none(), now(), "chk")
        .results
        .into_iter()
        .map(|r| {
            (
                (r.rule, format!("{:?}:{}", r.subject.kind, r.subject.id)),
                r.outcome,
            )
        })
        .collect()
}

/// A subject inside the facts: collection (`keys`, `vendors`, `exposures`, `run`) and id.
fn subject<'a>(facts: &'a mut Value, coll: &str, id: &str) -> &'a mut Value {
    if coll == "run" {
        return facts.get_mut("run").expect("run");
    }
    facts[coll]
        .as_array_mut()
        .expect("array")
        .iter_mut()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {coll}/{id}"))
}

#[derive(Clone, Debug)]
enum Op {
    Set(&'static str, Value),
    Remove(&'static str),
}

fn apply(facts: &mut Value, coll: &str, id: &str, ops: &[Op]) {
    for op in ops {
        let s = subject(facts, coll, id);
        let (path, val) = match op {
            Op::Set(p, v) => (*p, Some(v.clone())),
            Op::Remove(p) => (*p, None),
        };
        let obj = s.as_object_mut().expect("object");
        match val {
            Some(v) => {
                obj.insert(path.to_string(), v);
            }
            None => {
                obj.remove(path);
            }
        }
    }
}

fn key_of(coll: &str, id: &str) -> String {
    let kind = match coll {
        "keys" => "Key",
        "vendors" => "Vendor",
        "exposures" => "Exposure",
        _ => "Run",
    };
    format!("{kind}:{}", if coll == "run" { "run" } else { id })
}

#[test]
fn builtin_pack_is_complete_and_documented() {
    let set = builtin();
    assert!(set.rules.len() >= 18, "{} rules", set.rules.len());
    for r in &set.rules {
        assert!(
            !r.docs.what_it_does.is_empty(),
            "{} docs.what_it_does",
            r.id
        );
        assert!(
            !r.docs.why_it_matters.is_empty(),
            "{} docs.why_it_matters",
            r.id
        );
        assert!(!r.remediation.is_empty(), "{} remediation", r.id);
        assert!(!r.controls_2022.is_empty(), "{} 2022 controls", r.id);
        assert!(!r.controls_2013.is_empty(), "{} 2013 controls", r.id);
    }
    // The pack passes its own linter.
    for (name, text) in vendorscope::policy::BUILTIN {
        let d = lint_str(name, text);
        assert!(d.is_empty(), "{}", d.render());
    }
}

#[test]
fn baseline_shop_passes() {
    let set = builtin();
    let o = outcomes(&set, &shop());
    for ((rule, subj), out) in &o {
        let expected_ok = matches!(out, Outcome::Pass | Outcome::NotApplicable)
            || (rule == "VKS-KEY-001"
                && subj == "Key:stripe-backend"
                && *out == Outcome::Unverifiable);
        assert!(expected_ok, "{rule} {subj} {out:?}");
    }
    assert_eq!(
        o[&("VKS-KEY-001".to_string(), "Key:stripe-backend".to_string())],
        Outcome::Unverifiable
    );
}

/// (rule, collection, subject id, fail mutation, unknown mutation); the baseline is the pass case.
type Case = (&'static str, &'static str, &'static str, Vec<Op>, Vec<Op>);

fn cases() -> Vec<Case> {
    use Op::*;
    vec![
        (
            "VKS-KEY-001",
            "keys",
            "shopify-admin",
            vec![Set(
                "capabilities",
                json!(["orders.read", "catalog.read", "customers.export"]),
            )],
            vec![Remove("capabilities")],
        ),
        (
            "VKS-KEY-002",
            "keys",
            "shopify-admin",
            vec![
                Set("account_matches", json!(false)),
                Set("account", json!("other.myshopify.com")),
            ],
            vec![Remove("account_matches")],
        ),
        (
            "VKS-KEY-003",
            "keys",
            "iterable-server",
            vec![Set(
                "capabilities",
                json!(["events.write", "messages.send", "customers.export"]),
            )],
            vec![Remove("capabilities")],
        ),
        (
            "VKS-KEY-004",
            "keys",
            "stripe-backend",
            vec![Set("observed_type", json!("secret"))],
            vec![Remove("observed_type")],
        ),
        (
            "VKS-KEY-005",
            "keys",
            "adyen-api",
            vec![Set("restrictions", json!({"allowed_ips": []}))],
            vec![Remove("restrictions")],
        ),
        (
            "VKS-KEY-006",
            "keys",
            "shopify-admin",
            vec![Set("granted", json!(["read_orders", "write_script_tags"]))],
            vec![Remove("granted")],
        ),
        (
            "VKS-KEY-007",
            "keys",
            "iterable-web",
            vec![Set("requires_jwt", json!(false))],
            vec![Remove("requires_jwt")],
        ),
        (
            "VKS-KEY-008",
            "keys",
            "shopify-admin",
            vec![Set("last_rotated", json!("2025-12-01"))],
            vec![Remove("last_rotated"), Remove("created")],
        ),
        (
            "VKS-KEY-009",
            "keys",
            "shopify-admin",
            vec![Set("last_used", json!("2025-12-01"))],
            vec![Remove("last_used")],
        ),
        (
            "VKS-KEY-010",
            "keys",
            "shopify-admin",
            vec![Set("status", json!("revoked"))],
            vec![
                Set("status", json!("not_probed")),
                Set("status_reason", json!("offline")),
            ],
        ),
        (
            "VKS-KEY-011",
            "keys",
            "shopify-admin",
            vec![Remove("owner")],
            vec![Remove("allowed_capabilities")],
        ),
        (
            "VKS-EXP-001",
            "keys",
            "shopify-admin",
            vec![
                Set("exposed", json!(true)),
                Set("exposure_ids", json!(["exp-9"])),
            ],
            vec![Remove("exposed")],
        ),
        (
            "VKS-EXP-002",
            "keys",
            "shopify-admin",
            vec![Set("exposed", json!(true))],
            vec![Set("exposed", json!(true)), Remove("capabilities")],
        ),
        (
            "VKS-EXP-004",
            "exposures",
            "exp-2",
            vec![Set("environment", json!("test"))],
            vec![Remove("environment")],
        ),
        (
            "VKS-SUP-001",
            "vendors",
            "shopify",
            vec![Set("last_reassessment", json!("2025-01-15"))],
            vec![Remove("last_reassessment")],
        ),
        (
            "VKS-SUP-002",
            "vendors",
            "shopify",
            vec![Set("dpa", json!({"signed": false}))],
            vec![Remove("dpa")],
        ),
        (
            "VKS-SUP-003",
            "vendors",
            "shopify",
            vec![Set(
                "attestations",
                json!([{"type": "soc2_type2", "valid_until": "2026-01-31"}]),
            )],
            vec![Set(
                "attestations",
                json!([{"type": "soc2_type2", "valid_until": "next spring"}]),
            )],
        ),
        (
            "VKS-SUP-004",
            "vendors",
            "shopify",
            vec![Set("admin_accounts", json!({"mfa_enforced": false}))],
            vec![Remove("admin_accounts")],
        ),
        (
            "VKS-PII-001",
            "vendors",
            "iterable",
            vec![Set(
                "data_shared",
                json!(["email", "name", "postal_address", "phone"]),
            )],
            vec![Remove("data_shared")],
        ),
        (
            "VKS-PII-004",
            "vendors",
            "iterable",
            vec![
                Set("observed_data", json!(["email", "first_name", "phone"])),
                Set(
                    "observed_fields",
                    json!({"email": ["email"], "first_name": ["firstName"], "phone": ["phoneNumber"]}),
                ),
            ],
            vec![
                Remove("observed_data"),
                Set(
                    "observed_data_reason",
                    json!("unverifiable: key type mobile cannot read the schema"),
                ),
            ],
        ),
        (
            "VKS-SUP-005",
            "run",
            "run",
            vec![Set(
                "undeclared_script_origins",
                json!(["https://cdn.tagvendor.example"]),
            )],
            vec![Remove("undeclared_script_origins")],
        ),
        (
            "VKS-FLOW-001",
            "vendors",
            "shopify",
            vec![Set(
                "undeclared_webhook_destinations",
                json!(["https://orders-export.unknown-broker.example"]),
            )],
            vec![
                Remove("observed_webhook_destinations"),
                Set(
                    "webhooks_reason",
                    json!(
                        "unverifiable: the token may not list the app's webhook subscriptions (403)"
                    ),
                ),
            ],
        ),
        (
            "VKS-FLOW-002",
            "vendors",
            "shopify",
            vec![Set(
                "plain_http_webhook_destinations",
                json!(["http://sync.erp.example"]),
            )],
            vec![
                Remove("plain_http_webhook_destinations"),
                Set("webhooks_reason", json!("inconclusive: server_error")),
            ],
        ),
        (
            "VKS-PII-002",
            "vendors",
            "shopify",
            vec![Set(
                "retention",
                json!({"order_pii_after_shipment": "P6M", "accounting_records": "P10Y"}),
            )],
            vec![Remove("retention")],
        ),
        (
            "VKS-PII-003",
            "vendors",
            "shopify",
            vec![Set(
                "retention",
                json!({"order_pii_after_shipment": "P3M", "accounting_records": "P12Y"}),
            )],
            vec![Set("retention", json!({"order_pii_after_shipment": "P3M"}))],
        ),
        (
            "VKS-ACC-001",
            "vendors",
            "adyen",
            vec![Set("undeclared_credentials", json!(["S2-ROGUE"]))],
            vec![
                Remove("observed_credentials"),
                Set(
                    "credentials_reason",
                    json!("unverifiable: no key of this vendor is declared `role: audit`"),
                ),
            ],
        ),
        (
            "VKS-ACC-002",
            "vendors",
            "adyen",
            vec![Set("inactive_declared_keys", json!(["adyen-api"]))],
            vec![
                Remove("observed_credentials"),
                Set("credentials_reason", json!("inconclusive: server_error")),
            ],
        ),
        (
            "VKS-ACC-003",
            "vendors",
            "adyen",
            vec![Set("open_payment_credentials", json!(["S2-ROGUE"]))],
            vec![
                Remove("observed_credentials"),
                Set("credentials_reason", json!("inconclusive: truncated")),
            ],
        ),
        (
            "VKS-ACC-004",
            "keys",
            "adyen-audit",
            vec![Set("audit_excess", json!(["Checkout webservice role"]))],
            vec![Remove("audit_excess")],
        ),
        (
            "VKS-ACC-005",
            "keys",
            "adyen-audit",
            vec![Set(
                "audit_missing",
                json!(["Management API\u{2014}Users read and write"]),
            )],
            vec![Remove("audit_missing")],
        ),
        (
            "VKS-ACC-006",
            "keys",
            "adyen-audit",
            vec![Set(
                "restrictions",
                json!({"allowed_ips": [], "any_ip": ["true"]}),
            )],
            vec![Remove("restrictions")],
        ),
        (
            "VKS-ACC-007",
            "vendors",
            "shopify",
            vec![Set(
                "staff_with_order_access",
                json!(["548380001", "548380002", "548380004"]),
            )],
            vec![
                Remove("observed_staff"),
                Set(
                    "staff_reason",
                    json!("unverifiable: the store has no staff API (404)"),
                ),
            ],
        ),
    ]
}

#[test]
fn every_rule_passes_fails_and_goes_unknown_on_its_fixtures() {
    let set = builtin();
    let mut covered = BTreeSet::new();
    let base = outcomes(&set, &shop());
    for (rule, coll, id, fail, unknown) in cases() {
        let k = (rule.to_string(), key_of(coll, id));
        assert_eq!(base.get(&k), Some(&Outcome::Pass), "{rule} pass fixture");
        let mut f = shop();
        apply(&mut f, coll, id, &fail);
        assert_eq!(
            outcomes(&set, &f).get(&k),
            Some(&Outcome::Fail),
            "{rule} fail fixture"
        );
        let mut u = shop();
        apply(&mut u, coll, id, &unknown);
        let ev = evaluate_json(&set, &u, &Exceptions::none(), now(), "chk");
        let r = ev
            .results
            .iter()
            .find(|r| r.rule == rule && format!("{:?}:{}", r.subject.kind, r.subject.id) == k.1)
            .expect("result");
        assert_eq!(r.outcome, Outcome::Unknown, "{rule} unknown fixture");
        assert!(
            r.reason.as_deref().is_some_and(|s| !s.is_empty()),
            "{rule} has a reason"
        );
        let fnd = ev
            .findings
            .iter()
            .find(|x| x.rule == rule)
            .expect("finding");
        assert!(!fnd.controls.is_empty());
        assert_eq!(fnd.reason, r.reason);
        covered.insert(rule);
    }
    // VKS-EXP-003 works on an exposure that is not public by design.
    let k = ("VKS-EXP-003".to_string(), "Exposure:exp-2".to_string());
    let mut p = shop();
    apply(
        &mut p,
        "exposures",
        "exp-2",
        &[Op::Set("public_by_design", json!(false))],
    );
    assert_eq!(outcomes(&set, &p)[&k], Outcome::Pass);
    let mut f = p.clone();
    apply(
        &mut f,
        "exposures",
        "exp-2",
        &[Op::Set("known", json!(false)), Op::Remove("inventory_key")],
    );
    assert_eq!(outcomes(&set, &f)[&k], Outcome::Fail);
    let mut u = f.clone();
    apply(
        &mut u,
        "run",
        "run",
        &[Op::Set("attribution_available", json!(false))],
    );
    assert_eq!(outcomes(&set, &u)[&k], Outcome::Unknown);
    covered.insert("VKS-EXP-003");
    // VKS-EXP-005 works on a credential no inventory key check covers.
    let k = ("VKS-EXP-005".to_string(), "Exposure:exp-2".to_string());
    let mut p = shop();
    apply(
        &mut p,
        "exposures",
        "exp-2",
        &[
            Op::Set("public_by_design", json!(false)),
            Op::Set("key_checked", json!(false)),
            Op::Set("environment", json!("test")),
        ],
    );
    assert_eq!(outcomes(&set, &p)[&k], Outcome::Pass);
    let mut f = p.clone();
    apply(
        &mut f,
        "exposures",
        "exp-2",
        &[Op::Set("environment", json!("live"))],
    );
    assert_eq!(outcomes(&set, &f)[&k], Outcome::Fail);
    let mut u = f.clone();
    apply(&mut u, "exposures", "exp-2", &[Op::Remove("key_checked")]);
    assert_eq!(outcomes(&set, &u)[&k], Outcome::Unknown);
    let mut n = f.clone();
    apply(
        &mut n,
        "exposures",
        "exp-2",
        &[Op::Set("key_checked", json!(true))],
    );
    assert_eq!(
        outcomes(&set, &n)[&k],
        Outcome::NotApplicable,
        "covered by VKS-EXP-001"
    );
    covered.insert("VKS-EXP-005");
    // VKS-RUN-001 cannot fail by design: an incomplete scan is `unknown` (exit 3), never a
    // verdict about the assets it did not see.
    let k = ("VKS-RUN-001".to_string(), "Run:run".to_string());
    assert_eq!(base[&k], Outcome::Pass);
    let mut u = shop();
    apply(&mut u, "run", "run", &[Op::Set("scan_errors", json!(2))]);
    assert_eq!(outcomes(&set, &u)[&k], Outcome::Unknown);
    let mut r = shop();
    apply(&mut r, "run", "run", &[Op::Remove("scan_errors")]);
    assert_eq!(outcomes(&set, &r)[&k], Outcome::Unknown);
    covered.insert("VKS-RUN-001");
    for r in &set.rules {
        assert!(covered.contains(r.id.as_str()), "{} has no fixtures", r.id);
    }
}

type Mutation = (&'static str, &'static str, Op, Vec<&'static str>);

/// Mutations of single facts and the rules (for that subject) expected to change outcome.
fn mutation_table() -> Vec<Mutation> {
    use Op::*;
    let k = "keys";
    let v = "vendors";
    let e = "exposures";
    let status_rules = vec![
        "VKS-KEY-001",
        "VKS-KEY-002",
        "VKS-KEY-006",
        "VKS-KEY-008",
        "VKS-KEY-009",
        "VKS-KEY-010",
    ];
    vec![
        (
            v,
            "adyen",
            Set("undeclared_credentials", json!(["S2-ROGUE"])),
            vec!["VKS-ACC-001"],
        ),
        (
            v,
            "adyen",
            Set("unmatched_keys", json!(["adyen-api"])),
            vec![],
        ),
        (
            v,
            "adyen",
            Set("inactive_declared_keys", json!(["adyen-api"])),
            vec!["VKS-ACC-002"],
        ),
        (
            v,
            "adyen",
            Set("open_payment_credentials", json!(["S2-ROGUE"])),
            vec!["VKS-ACC-003"],
        ),
        (
            v,
            "adyen",
            Remove("observed_credentials"),
            vec!["VKS-ACC-001", "VKS-ACC-002", "VKS-ACC-003"],
        ),
        (
            k,
            "adyen-audit",
            Set("audit_excess", json!(["Merchant Report Download role"])),
            vec!["VKS-ACC-004"],
        ),
        (
            k,
            "adyen-audit",
            Set("audit_missing", json!(["read_users"])),
            vec!["VKS-ACC-005"],
        ),
        (
            k,
            "adyen-audit",
            Set("audit", json!(false)),
            vec!["VKS-ACC-004", "VKS-ACC-005", "VKS-ACC-006"],
        ),
        (
            v,
            "shopify",
            Set("staff_with_order_access", json!(["1", "2", "3"])),
            vec!["VKS-ACC-007"],
        ),
        (
            v,
            "shopify",
            Set("admin_accounts", json!({"mfa_enforced": true})),
            vec!["VKS-ACC-007"],
        ),
        (k, "shopify-admin", Remove("connector"), vec!["VKS-KEY-006"]),
        (k, "shopify-admin", Remove("category"), vec!["VKS-KEY-003"]),
        (k, "shopify-admin", Remove("type"), vec![]),
        (
            k,
            "shopify-admin",
            Remove("public_by_design"),
            vec!["VKS-KEY-008", "VKS-EXP-001"],
        ),
        (k, "shopify-admin", Remove("owner"), vec!["VKS-KEY-011"]),
        (k, "shopify-admin", Remove("purpose"), vec!["VKS-KEY-011"]),
        (
            k,
            "shopify-admin",
            Remove("allowed_capabilities"),
            vec!["VKS-KEY-001", "VKS-KEY-011"],
        ),
        (
            k,
            "shopify-admin",
            Remove("expected_account"),
            vec!["VKS-KEY-002"],
        ),
        (
            k,
            "shopify-admin",
            Remove("account_matches"),
            vec!["VKS-KEY-002"],
        ),
        (
            k,
            "shopify-admin",
            Remove("last_rotated"),
            vec!["VKS-KEY-008"],
        ),
        (k, "shopify-admin", Remove("created"), vec![]),
        (k, "shopify-admin", Remove("last_used"), vec!["VKS-KEY-009"]),
        (k, "shopify-admin", Remove("status"), status_rules.clone()),
        (k, "shopify-admin", Remove("observed_type"), vec![]),
        (k, "shopify-admin", Remove("granted"), vec!["VKS-KEY-006"]),
        (
            k,
            "shopify-admin",
            Remove("capabilities"),
            vec!["VKS-KEY-001"],
        ),
        (k, "shopify-admin", Remove("restrictions"), vec![]),
        (
            k,
            "shopify-admin",
            Remove("exposed"),
            vec!["VKS-EXP-001", "VKS-EXP-002"],
        ),
        (k, "shopify-admin", Remove("fingerprint"), vec![]),
        (k, "shopify-admin", Remove("account"), vec![]),
        (k, "shopify-admin", Remove("environment"), vec![]),
        (
            k,
            "shopify-admin",
            Set("exposed", json!(true)),
            vec!["VKS-EXP-001", "VKS-EXP-002"],
        ),
        (
            k,
            "shopify-admin",
            Set("status", json!("revoked")),
            status_rules,
        ),
        (
            k,
            "shopify-admin",
            Set("account_matches", json!(false)),
            vec!["VKS-KEY-002"],
        ),
        (
            k,
            "shopify-admin",
            Set("public_by_design", json!(true)),
            vec!["VKS-KEY-008", "VKS-EXP-001"],
        ),
        (
            k,
            "shopify-admin",
            Set("category", json!("marketing_email")),
            vec!["VKS-KEY-003"],
        ),
        (
            k,
            "shopify-admin",
            Set("connector", json!("stripe")),
            vec!["VKS-KEY-004", "VKS-KEY-006"],
        ),
        (
            k,
            "shopify-admin",
            Set(
                "capabilities",
                json!(["orders.read", "catalog.read", "customers.export"]),
            ),
            vec!["VKS-KEY-001"],
        ),
        (
            k,
            "shopify-admin",
            Set("granted", json!(["read_orders", "write_themes"])),
            vec!["VKS-KEY-006"],
        ),
        (
            k,
            "shopify-admin",
            Set("last_used", json!("2025-01-01")),
            vec!["VKS-KEY-009"],
        ),
        (
            k,
            "shopify-admin",
            Set("last_rotated", json!("2025-01-01")),
            vec!["VKS-KEY-008"],
        ),
        (
            k,
            "shopify-admin",
            Set("requires_jwt", json!(false)),
            vec![],
        ),
        (
            k,
            "shopify-admin",
            Set("allowed_capabilities", json!([])),
            vec!["VKS-KEY-001", "VKS-KEY-011"],
        ),
        (
            k,
            "shopify-admin",
            Set("environment", json!("test")),
            vec![],
        ),
        (
            v,
            "shopify",
            Remove("category"),
            vec!["VKS-PII-001", "VKS-PII-002", "VKS-PII-003"],
        ),
        (v, "shopify", Remove("tier"), vec!["VKS-SUP-003"]),
        (v, "shopify", Remove("data_shared"), vec!["VKS-SUP-002"]),
        (v, "shopify", Remove("dpa"), vec!["VKS-SUP-002"]),
        (v, "shopify", Remove("attestations"), vec!["VKS-SUP-003"]),
        (
            v,
            "shopify",
            Remove("last_reassessment"),
            vec!["VKS-SUP-001"],
        ),
        (
            v,
            "shopify",
            Remove("retention"),
            vec!["VKS-PII-002", "VKS-PII-003"],
        ),
        (
            v,
            "shopify",
            Remove("admin_accounts"),
            vec!["VKS-SUP-004", "VKS-ACC-007"],
        ),
        (v, "shopify", Remove("owner"), vec![]),
        (v, "shopify", Remove("subprocessors"), vec![]),
        (v, "shopify", Remove("connector"), vec![]),
        (
            v,
            "shopify",
            Set("dpa", json!({"signed": false})),
            vec!["VKS-SUP-002"],
        ),
        (v, "shopify", Set("tier", json!(3)), vec!["VKS-SUP-003"]),
        (
            v,
            "shopify",
            Set("category", json!("marketing_email")),
            vec!["VKS-PII-001", "VKS-PII-002", "VKS-PII-003"],
        ),
        (
            v,
            "shopify",
            Set("data_shared", json!([])),
            vec!["VKS-SUP-002"],
        ),
        (
            v,
            "shopify",
            Set("admin_accounts", json!({"mfa_enforced": false, "count": 2})),
            vec!["VKS-SUP-004"],
        ),
        (
            v,
            "shopify",
            Set("last_reassessment", json!("2024-01-01")),
            vec!["VKS-SUP-001"],
        ),
        (e, "exp-2", Remove("vendor"), vec!["VKS-EXP-004"]),
        (e, "exp-2", Remove("environment"), vec!["VKS-EXP-004"]),
        (e, "exp-2", Remove("public_by_design"), vec!["VKS-EXP-003"]),
        (e, "exp-2", Remove("known"), vec![]),
        (e, "exp-2", Remove("location"), vec![]),
        (
            e,
            "exp-2",
            Set("public_by_design", json!(false)),
            vec!["VKS-EXP-003"],
        ),
        (
            e,
            "exp-2",
            Set("environment", json!("test")),
            vec!["VKS-EXP-004"],
        ),
        (
            "run",
            "run",
            Set("attribution_available", json!(false)),
            vec![],
        ),
        // Observed facts: what the vendor's schema holds and what the site loads.
        (
            v,
            "iterable",
            Set("observed_data", json!(["email", "phone"])),
            vec!["VKS-PII-001", "VKS-PII-004"],
        ),
        (v, "iterable", Remove("observed_data"), vec!["VKS-PII-004"]),
        (
            "run",
            "run",
            Set("undeclared_script_origins", json!(["https://tags.example"])),
            vec!["VKS-SUP-005"],
        ),
        (
            "run",
            "run",
            Remove("undeclared_script_origins"),
            vec!["VKS-SUP-005"],
        ),
        (
            v,
            "shopify",
            Set(
                "undeclared_webhook_destinations",
                json!(["https://orders-export.unknown-broker.example"]),
            ),
            vec!["VKS-FLOW-001"],
        ),
        (
            v,
            "shopify",
            Set(
                "plain_http_webhook_destinations",
                json!(["http://sync.erp.example"]),
            ),
            vec!["VKS-FLOW-002"],
        ),
        (
            v,
            "shopify",
            Remove("webhook_destinations"),
            vec!["VKS-FLOW-001"],
        ),
        (
            v,
            "shopify",
            Remove("observed_webhook_destinations"),
            vec!["VKS-FLOW-001", "VKS-FLOW-002"],
        ),
    ]
}

#[test]
fn mutation_changes_exactly_the_named_rules() {
    let set = builtin();
    let base_facts = shop();
    let base = outcomes(&set, &base_facts);
    let mut failures = vec![];
    for (coll, id, op, expected) in mutation_table() {
        let mut f = base_facts.clone();
        apply(&mut f, coll, id, std::slice::from_ref(&op));
        let after = outcomes(&set, &f);
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for (k, o) in &after {
            if base.get(k) != Some(o) {
                if k.1 != key_of(coll, id) {
                    failures.push(format!("{coll}/{id} {op:?}: other subject changed: {k:?}"));
                }
                changed.insert(k.0.clone());
                if *o == Outcome::Pass && matches!(op, Op::Remove(_)) {
                    failures.push(format!(
                        "{coll}/{id} {op:?}: removing a fact made {k:?} pass"
                    ));
                }
            }
        }
        let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        if changed != want {
            failures.push(format!(
                "{coll}/{id} {op:?}: changed {changed:?}, expected {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn removing_any_fact_of_any_subject_never_produces_a_pass() {
    let set = builtin();
    let base_facts = shop();
    let base = outcomes(&set, &base_facts);
    for coll in ["keys", "vendors", "exposures"] {
        let subjects = base_facts[coll].as_array().expect("arr").clone();
        for s in subjects {
            let id = s["id"].as_str().expect("id").to_string();
            for field in s.as_object().expect("obj").keys() {
                if field == "id" {
                    continue;
                }
                let mut f = base_facts.clone();
                subject(&mut f, coll, &id)
                    .as_object_mut()
                    .expect("obj")
                    .remove(field);
                let after = outcomes(&set, &f);
                for (k, o) in &after {
                    if base.get(k) != Some(o) {
                        assert_ne!(*o, Outcome::Pass, "{coll}/{id} -{field}: {k:?} became pass");
                        let rule = set.rule(&k.0).expect("rule");
                        let mut fields = rule.require.fields.clone();
                        if let Some(w) = &rule.where_ {
                            fields.extend(w.fields.iter().cloned());
                        }
                        assert!(
                            fields.contains(field.as_str()),
                            "{coll}/{id} -{field} changed {} which does not read it",
                            k.0
                        );
                    }
                }
            }
        }
    }
    // Everything a probe establishes missing at once (an offline run): no pass on those rules.
    let mut f = base_facts.clone();
    for k in f["keys"].as_array_mut().expect("keys") {
        let o = k.as_object_mut().expect("obj");
        for x in [
            "capabilities",
            "granted",
            "observed_type",
            "account",
            "account_matches",
            "restrictions",
            "exposed",
        ] {
            o.remove(x);
        }
        o.insert("status".into(), json!("not_probed"));
        o.insert("status_reason".into(), json!("offline"));
    }
    let after = outcomes(&set, &f);
    for rule in [
        "VKS-KEY-001",
        "VKS-KEY-003",
        "VKS-KEY-006",
        "VKS-KEY-010",
        "VKS-EXP-001",
    ] {
        assert!(
            after
                .iter()
                .any(|(k, o)| k.0 == rule && *o == Outcome::Unknown),
            "{rule} should be unknown offline"
        );
        assert!(
            !after
                .iter()
                .any(|(k, o)| k.0 == rule && *o == Outcome::Pass),
            "{rule} passed offline"
        );
    }
}

#[test]
fn cel_runtime_errors_become_unknown_with_reason() {
    let set = builtin();
    let mut f = shop();
    // Wrong types: a string where a list is expected, a number where a date is expected.
    apply(
        &mut f,
        "keys",
        "shopify-admin",
        &[Op::Set("capabilities", json!("orders.read"))],
    );
    apply(
        &mut f,
        "vendors",
        "shopify",
        &[Op::Set("last_reassessment", json!(20260101))],
    );
    let ev = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk");
    let get = |rule: &str, id: &str| {
        ev.results
            .iter()
            .find(|r| r.rule == rule && r.subject.id == id)
            .expect("result")
            .clone()
    };
    let a = get("VKS-KEY-001", "shopify-admin");
    assert_eq!(a.outcome, Outcome::Unknown);
    assert!(a.reason.is_some(), "{a:?}");
    let b = get("VKS-SUP-001", "shopify");
    assert_eq!(b.outcome, Outcome::Unknown);
    assert!(b.reason.is_some(), "{b:?}");
    let c = get("VKS-KEY-009", "shopify-admin");
    assert_eq!(c.outcome, Outcome::Pass);
    // A missing fact's reason names the fact and the key status.
    let mut g = shop();
    apply(
        &mut g,
        "keys",
        "shopify-admin",
        &[
            Op::Remove("capabilities"),
            Op::Set("status", json!("inconclusive")),
            Op::Set("status_reason", json!("rate_limited")),
        ],
    );
    let ev = evaluate_json(&set, &g, &Exceptions::none(), now(), "chk");
    let r = ev
        .results
        .iter()
        .find(|r| r.rule == "VKS-KEY-001" && r.subject.id == "shopify-admin")
        .expect("r");
    assert_eq!(r.outcome, Outcome::Unknown);
    let reason = r.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("capabilities") && reason.contains("rate_limited"),
        "{reason}"
    );
}

#[test]
fn findings_coverage_and_messages() {
    let set = builtin();
    let mut f = shop();
    // The 2020 kill chain: the marketing server key is public, live and can export customers.
    apply(
        &mut f,
        "keys",
        "iterable-server",
        &[
            Op::Set("exposed", json!(true)),
            Op::Set("exposure_ids", json!(["exp-7"])),
            Op::Set(
                "capabilities",
                json!([
                    "events.write",
                    "messages.send",
                    "customers.read",
                    "customers.export"
                ]),
            ),
        ],
    );
    let ev = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk");
    let kc = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-EXP-002")
        .expect("kill chain");
    assert_eq!(kc.severity, vendorscope::run::Severity::Critical);
    assert_eq!(kc.status, Outcome::Fail);
    assert!(
        kc.message.contains("KILL CHAIN") && kc.message.contains("iterable-server"),
        "{}",
        kc.message
    );
    assert!(kc.controls.contains(&"ISO27001:2013/A.9.2.4".to_string()));
    assert_eq!(
        vendorscope::gate::exit_code(&ev.findings, Default::default()),
        1
    );
    for rule in ["VKS-EXP-001", "VKS-KEY-001", "VKS-KEY-003"] {
        assert!(
            ev.findings
                .iter()
                .any(|x| x.rule == rule && x.status == Outcome::Fail),
            "{rule}"
        );
    }
    let c = &ev.controls["ISO27001:2022/A.5.22"];
    // VKS-SUP-001/002 ×2 vendors… plus VKS-ACC-002/005/007 on the observed-access facts.
    assert_eq!(c.get("pass"), Some(&8));
    assert!(ev.controls["ISO27001:2022/A.5.17"].contains_key("fail"));
    assert!(ev.controls.contains_key("ISO27001:2013/A.15.2.1"));
    let ev2 = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk");
    assert_eq!(
        ev.findings
            .iter()
            .map(|x| &x.fingerprint)
            .collect::<Vec<_>>(),
        ev2.findings
            .iter()
            .map(|x| &x.fingerprint)
            .collect::<Vec<_>>()
    );
}

#[test]
fn exposure_fingerprint_survives_a_rebuild() {
    let set = builtin();
    let mut a = shop();
    apply(
        &mut a,
        "exposures",
        "exp-2",
        &[Op::Set("environment", json!("test"))],
    );
    let mut b = a.clone();
    apply(
        &mut b,
        "exposures",
        "exp-2",
        &[
            Op::Set("location", json!("dist/checkout.77aa01de.js")),
            Op::Set("id", json!("exp-2b")),
        ],
    );
    let fa = evaluate_json(&set, &a, &Exceptions::none(), now(), "chk");
    let fb = evaluate_json(&set, &b, &Exceptions::none(), now(), "chk");
    let pa = fa
        .findings
        .iter()
        .find(|x| x.rule == "VKS-EXP-004")
        .expect("a");
    let pb = fb
        .findings
        .iter()
        .find(|x| x.rule == "VKS-EXP-004")
        .expect("b");
    assert_eq!(pa.fingerprint, pb.fingerprint);
}

fn failing_shop() -> Value {
    let mut f = shop();
    apply(
        &mut f,
        "keys",
        "shopify-admin",
        &[Op::Set(
            "granted",
            json!(["read_orders", "write_script_tags"]),
        )],
    );
    f
}

fn exc(text: &str) -> Result<Exceptions, vendorscope::policy::Diagnostics> {
    Exceptions::from_str(
        "exceptions.yaml",
        text,
        jiff::Span::new().days(180),
        "2026-06-01".parse().expect("date"),
    )
}

#[test]
fn exceptions_apply_expire_and_are_recorded() {
    let set = builtin();
    let text = "version: 1\nkind: Exceptions\nfingerprint_check: chk\nexceptions:\n  - id: EXC-1\n    rule: VKS-KEY-006\n    match: { vendor: shopify, key: shopify-admin }\n    reason: theme app migration until July\n    approver: ciso@example.com\n    ticket: SEC-12\n    created: 2026-05-01\n    expires: 2026-07-31\n  - id: EXC-2\n    rule: VKS-SUP-004\n    match: { vendor: adyen }\n    reason: nothing fails here\n    approver: ciso@example.com\n    created: 2026-05-01\n    expires: 2026-07-31\n";
    let ex = exc(text).expect("valid");
    let ev = evaluate_json(&set, &failing_shop(), &ex, now(), "chk");
    let f = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-KEY-006")
        .expect("finding kept");
    assert_eq!(f.status, Outcome::Excepted);
    assert_eq!(f.exception.as_ref().map(|e| e.expired), Some(false));
    assert_eq!(
        vendorscope::gate::exit_code(&ev.findings, Default::default()),
        0
    );
    assert_eq!(ev.unused_exceptions, vec!["EXC-2".to_string()]);
    assert!(
        ev.exception_warnings
            .iter()
            .any(|w| w.contains("EXC-2") && w.contains("unused"))
    );
    assert!(
        ev.policy_changes
            .iter()
            .any(|c| c.change == "exception" && c.detail.contains("EXC-1"))
    );
    assert_eq!(
        ev.controls["ISO27001:2022/A.8.26"].get("excepted"),
        Some(&1)
    );

    // Expired: the rule fails again and the expiry is reported.
    let later: jiff::Timestamp = "2026-08-02T00:00:00Z".parse().expect("ts");
    let ev = evaluate_json(&set, &failing_shop(), &ex, later, "chk");
    let f = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-KEY-006")
        .expect("finding");
    assert_eq!(f.status, Outcome::Fail);
    assert_eq!(f.exception.as_ref().map(|e| e.expired), Some(true));
    assert!(
        ev.exception_warnings
            .iter()
            .any(|w| w.contains("EXC-1") && w.contains("expired"))
    );
    assert_eq!(
        vendorscope::gate::exit_code(&ev.findings, Default::default()),
        1
    );
}

#[test]
fn fingerprint_exceptions_are_refused_across_fingerprint_keys() {
    let set = builtin();
    let text = "version: 1\nkind: Exceptions\nfingerprint_check: other-key\nexceptions:\n  - rule: VKS-KEY-006\n    match: { fingerprint: \"vsfp:shopadmin\" }\n    reason: r\n    approver: a@example.com\n    created: 2026-05-01\n    expires: 2026-07-31\n";
    let ex = exc(text).expect("valid");
    let ev = evaluate_json(&set, &failing_shop(), &ex, now(), "chk");
    let f = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-KEY-006")
        .expect("finding");
    assert_eq!(f.status, Outcome::Fail);
    assert!(ev.exception_warnings.iter().any(|w| w.contains("refused")));
    let ev = evaluate_json(&set, &failing_shop(), &ex, now(), "other-key");
    let f = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-KEY-006")
        .expect("finding");
    assert_eq!(f.status, Outcome::Excepted);
}

#[test]
fn exception_validation() {
    let long = "version: 1\nkind: Exceptions\nexceptions:\n  - rule: VKS-KEY-006\n    match: { vendor: shopify }\n    reason: r\n    approver: a\n    created: 2026-01-01\n    expires: 2026-12-31\n";
    let d = exc(long).expect_err("too long");
    assert_eq!(
        (d.items[0].line, d.items[0].column),
        (9, 14),
        "{}",
        d.render()
    );
    assert!(d.items[0].message.contains("lifetime"));
    let nomatch = "version: 1\nkind: Exceptions\nexceptions:\n  - rule: VKS-KEY-006\n    match: {}\n    reason: \"\"\n    approver: a\n    expires: 2026-07-01\n";
    let d = exc(nomatch).expect_err("bad");
    assert_eq!(d.items.len(), 2, "{}", d.render());
    let missing = "version: 1\nkind: Exceptions\nexceptions:\n  - rule: VKS-KEY-006\n    match: { vendor: x }\n    reason: r\n    approver: a\n";
    assert!(exc(missing).is_err());
    let glob = "version: 1\nkind: Exceptions\nexceptions:\n  - rule: VKS-EXP-004\n    match: { location: \"dist/**/*.js\" }\n    reason: r\n    approver: a\n    created: 2026-05-01\n    expires: 2026-07-01\n";
    let ex = exc(glob).expect("ok");
    let mut f = shop();
    apply(
        &mut f,
        "exposures",
        "exp-2",
        &[Op::Set("environment", json!("test"))],
    );
    let ev = evaluate_json(&builtin(), &f, &ex, now(), "chk");
    assert_eq!(
        ev.findings
            .iter()
            .find(|x| x.rule == "VKS-EXP-004")
            .map(|x| x.status),
        Some(Outcome::Excepted)
    );
}

#[test]
fn user_policy_overrides_are_recorded() {
    let base = builtin();
    let text = "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-002\n    enforcement: report\n    severity: low\n  - id: VKS-KEY-009\n    enabled: false\n  - id: ACME-001\n    title: Vendors have an owner\n    severity: low\n    controls: [ISO27001:2022/A.5.9]\n    scope: { subject: vendor }\n    require: has(vendor.owner)\n";
    let set = PolicySet::load_str("acme.yaml", text).expect("loads");
    assert_ne!(set.hash, base.hash);
    let kinds: BTreeSet<(String, String)> = set
        .changes
        .iter()
        .map(|c| (c.rule.clone(), c.change.clone()))
        .collect();
    for k in [
        ("VKS-EXP-002", "downgraded_enforcement"),
        ("VKS-EXP-002", "downgraded_severity"),
        ("VKS-EXP-002", "overridden"),
        ("VKS-KEY-009", "disabled"),
    ] {
        assert!(
            kinds.contains(&(k.0.to_string(), k.1.to_string())),
            "{k:?} in {kinds:?}"
        );
    }
    assert!(!set.changes.iter().any(|c| c.rule == "ACME-001"));
    let r = set.rule("ACME-001").expect("new rule");
    assert_eq!(
        r.controls_2013,
        vec!["ISO27001:2013/A.8.1.1", "ISO27001:2013/A.8.1.2"]
    );
    let ev = evaluate_json(&set, &shop(), &Exceptions::none(), now(), "chk");
    assert!(
        ev.policy_changes
            .iter()
            .any(|c| c.change == "downgraded_enforcement")
    );
    assert!(!ev.results.iter().any(|r| r.rule == "VKS-KEY-009"));
    assert_eq!(ev.policy_set_hash, set.hash);
    let dup = "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-002\n    severity: low\n  - id: VKS-EXP-002\n    severity: info\n";
    let d = PolicySet::load_str("dup.yaml", dup).expect_err("dup");
    assert_eq!(
        (d.items[0].line, d.items[0].column),
        (6, 9),
        "{}",
        d.render()
    );
}

fn lint1(text: &str) -> (usize, usize, String) {
    let d = lint_str("p.yaml", text);
    assert!(!d.is_empty(), "expected a diagnostic for:\n{text}");
    let i = &d.items[0];
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("LINT {}\n", i).as_bytes());
    (i.line, i.column, i.message.clone())
}

const HEAD: &str = "version: 1\nkind: PolicySet\nrules:\n";

fn rule(id: &str, subject: &str, where_: Option<&str>, require: &str, controls: &str) -> String {
    let mut s = format!(
        "  - id: {id}\n    title: t\n    severity: low\n    controls: [{controls}]\n    scope:\n      subject: {subject}\n"
    );
    if let Some(w) = where_ {
        s.push_str(&format!("      where: {w}\n"));
    }
    s.push_str(&format!("    require: {require}\n"));
    s
}

#[test]
fn lint_reports_exact_positions() {
    let c = "ISO27001:2022/A.5.17";
    let ok = format!(
        "{HEAD}{}",
        rule(
            "A-1",
            "key",
            Some("key.type == 'server_side'"),
            "key.exposed == false",
            c
        )
    );
    assert!(
        lint_str("p.yaml", &ok).is_empty(),
        "{}",
        lint_str("p.yaml", &ok).render()
    );

    // YAML syntax.
    let (l, col, m) = lint1("version: 1\nkind: PolicySet\nrules:\n  - id: [unclosed\n");
    assert_eq!((l, col), (4, 9), "{m}");

    // CEL syntax error, plain scalar on line 10 (`    require: ` is 13 characters).
    let t = format!(
        "{HEAD}{}",
        rule("A-1", "key", None, "key.exposed == == false", c)
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 29), "{m}");
    assert!(m.contains("CEL syntax error"), "{m}");

    // CEL error in a block scalar: the `)` on the second content line.
    let t = format!(
        "{HEAD}  - id: A-1\n    title: t\n    severity: low\n    controls: [{c}]\n    scope: {{ subject: key }}\n    require: |\n      key.exposed == false &&\n        key.status == )\n"
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (11, 23), "{m}");

    // Unknown fact (typo), quoted scalar: `"!key.exposd"` → the select starts at `key`.
    let t = format!("{HEAD}{}", rule("A-1", "key", None, "\"!key.exposd\"", c));
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 20), "{m}");
    assert!(m.contains("key.exposd"), "{m}");

    // Unknown variable in a key rule.
    let t = format!("{HEAD}{}", rule("A-1", "key", None, "vendor.tier <= 2", c));
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 14), "{m}");
    assert!(m.contains("unknown variable `vendor`"), "{m}");

    // Unknown function.
    let t = format!(
        "{HEAD}{}",
        rule("A-1", "key", None, "older(key.created, 'P1D')", c)
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 14), "{m}");
    assert!(m.contains("unknown function `older`"), "{m}");

    // Nested comprehension.
    let t = format!(
        "{HEAD}{}",
        rule(
            "A-1",
            "vendor",
            None,
            "\"vendor.attestations.all(a, vendor.data_shared.exists(d, d == a.type))\"",
            c
        )
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 67), "{m}");
    assert!(m.contains("nested comprehensions"), "{m}");

    // Too long.
    let long = format!("\"{}true\"", "true && ".repeat(300));
    let t = format!("{HEAD}{}", rule("A-1", "run", None, &long, c));
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 14), "{m}");
    assert!(m.contains("limit"), "{m}");

    // Unknown control id: the second list item.
    let t = format!(
        "{HEAD}{}",
        rule(
            "A-1",
            "key",
            None,
            "key.exposed == false",
            "ISO27001:2022/A.5.17, ISO27001:2022/A.5.99"
        )
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (7, 38), "{m}");
    assert!(m.contains("unknown control id"), "{m}");

    // Duplicate ids: the second `id:` value.
    let t = format!(
        "{HEAD}{}{}",
        rule("A-1", "key", None, "key.exposed == false", c),
        rule("A-1", "key", None, "key.exposed == false", c)
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (11, 9), "{m}");
    assert!(m.contains("duplicate rule id"), "{m}");

    // Never applies.
    let t = format!(
        "{HEAD}{}",
        rule("A-1", "key", Some("\"1 == 2\""), "key.exposed == false", c)
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (10, 14), "{m}");
    assert!(m.contains("never apply"), "{m}");

    // Bad subject kind.
    let t = format!(
        "{HEAD}  - id: A-1\n    title: t\n    severity: low\n    controls: [{c}]\n    scope: {{ subject: keys }}\n    require: \"true\"\n"
    );
    let (l, col, m) = lint1(&t);
    assert_eq!((l, col), (8, 23), "{m}");
}

#[test]
fn evaluation_time_for_the_pack() {
    // Realistic facts: 30 vendors, 120 keys, 200 exposures.
    let set = builtin();
    let base = shop();
    let mut f = base.clone();
    let mut vendors = vec![];
    let mut keys = vec![];
    let mut exposures = vec![];
    for i in 0..30 {
        for v in base["vendors"].as_array().expect("v") {
            if vendors.len() < 30 {
                let mut v = v.clone();
                v["id"] = json!(format!("{}-{i}", v["id"].as_str().unwrap_or("")));
                vendors.push(v);
            }
        }
        for k in base["keys"].as_array().expect("k") {
            if keys.len() < 120 {
                let mut k = k.clone();
                k["id"] = json!(format!("{}-{i}", k["id"].as_str().unwrap_or("")));
                keys.push(k);
            }
        }
        for _ in 0..7 {
            for e in base["exposures"].as_array().expect("e") {
                if exposures.len() < 200 {
                    let mut e = e.clone();
                    e["id"] = json!(format!("exp-{}", exposures.len()));
                    exposures.push(e);
                }
            }
        }
    }
    f["vendors"] = json!(vendors);
    f["keys"] = json!(keys);
    f["exposures"] = json!(exposures);
    let start = std::time::Instant::now();
    let n = 5;
    let mut results = 0;
    for _ in 0..n {
        results = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk")
            .results
            .len();
    }
    let per = start.elapsed() / n;
    // A figure for the report (run with --nocapture), not a timing assertion.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "policy evaluation: {} rules, {results} rule×subject results in {per:?} per run\n",
            set.rules.len()
        )
        .as_bytes(),
    );
    assert!(results > 1000);
}

// --- Weakened built-in rules (issue 12 #10): the exact hostile policies. ---

/// (a) disables VKS-EXP-001.
pub const DISABLE_EXP_001: &str =
    "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    enabled: false\n";
/// (b) lowers its enforcement (block → report).
pub const LOWER_EXP_001: &str =
    "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    enforcement: report\n";
/// (c) rewrites `require` and `where` so that it never fails.
pub const REWRITE_EXP_001: &str = "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    scope:\n      subject: key\n      where: \"false\"\n    require: \"true\"\n";

/// Facts where VKS-EXP-001 fails: a server-side key found in public assets.
fn exposed_server_key() -> Value {
    let mut f = shop();
    apply(
        &mut f,
        "keys",
        "shopify-admin",
        &[
            Op::Set("exposed", json!(true)),
            Op::Set("exposure_ids", json!(["exp-1"])),
        ],
    );
    f
}

fn exp_001(set: &PolicySet) -> Option<vendorscope::run::Finding> {
    evaluate_json(
        set,
        &exposed_server_key(),
        &Exceptions::none(),
        now(),
        "chk",
    )
    .findings
    .into_iter()
    .find(|f| f.rule == "VKS-EXP-001" && f.subject.id == "shopify-admin")
}

#[test]
fn each_hostile_policy_is_recorded_as_weakened_with_what_changed() {
    use vendorscope::gate::{GateOptions, fails_gate};
    let builtin_finding = exp_001(&builtin()).expect("the built-in rule fails");
    assert!(fails_gate(&builtin_finding, GateOptions::default()));

    // (a) disabled: no finding at all, recorded at the rule's line.
    let set = PolicySet::load_str("disable.yaml", DISABLE_EXP_001).expect("loads");
    assert!(exp_001(&set).is_none());
    assert_eq!(set.weakened.len(), 1, "{:?}", set.weakened);
    let w = &set.weakened[0];
    assert_eq!(
        (w.rule.as_str(), w.source.as_str(), w.line),
        ("VKS-EXP-001", "disable.yaml", Some(4))
    );
    assert_eq!(w.changes.len(), 1);
    assert_eq!(w.changes[0].field, "enabled");
    assert_eq!(
        w.headline(),
        "built-in rule VKS-EXP-001 weakened by disable.yaml:4: disabled"
    );
    assert!(set.changes.iter().any(|c| c.change == "disabled"));

    // (b) enforcement lowered: the finding no longer fails the gate.
    let set = PolicySet::load_str("lower.yaml", LOWER_EXP_001).expect("loads");
    assert!(!fails_gate(
        &exp_001(&set).expect("still reported"),
        GateOptions::default()
    ));
    assert_eq!(set.weakened.len(), 1);
    let c = &set.weakened[0].changes[0];
    assert_eq!(
        (c.field.as_str(), c.builtin.as_str(), c.user.as_str()),
        ("enforcement", "block", "report")
    );
    assert_eq!(set.weakened[0].summary(), "enforcement block → report");

    // (c) require/where rewritten to never fail: both changes, with the expression diff.
    let set = PolicySet::load_str("rewrite.yaml", REWRITE_EXP_001).expect("loads");
    assert!(exp_001(&set).is_none(), "never applies, never fails");
    assert_eq!(set.weakened.len(), 1);
    let w = &set.weakened[0];
    let fields: Vec<&str> = w.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["where", "require"]);
    assert_eq!(
        (
            w.changes[0].builtin.as_str(),
            w.changes[0].user.as_str(),
            w.changes[0].line
        ),
        ("!key.public_by_design", "false", Some(7))
    );
    assert_eq!(
        (
            w.changes[1].builtin.as_str(),
            w.changes[1].user.as_str(),
            w.changes[1].line
        ),
        ("!key.exposed", "true", Some(8))
    );
    assert_eq!(
        w.diff_lines(),
        [
            "scope.where (built-in -, user policy +):",
            "  - !key.public_by_design",
            "  + false",
            "require (built-in -, user policy +):",
            "  - !key.exposed",
            "  + true",
        ]
    );
    // The change log labels the rewrites as weakening, not only "overridden".
    let kinds: BTreeSet<&str> = set.changes.iter().map(|c| c.change.as_str()).collect();
    assert!(
        kinds.contains("weakened_require") && kinds.contains("weakened_where"),
        "{kinds:?}"
    );
}

#[test]
fn raising_severity_or_enforcement_and_new_rules_are_not_weakening() {
    let text = "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-004\n    severity: critical\n    enforcement: block\n  - id: VKS-EXP-001\n    title: A new title\n    controls: [ISO27001:2022/A.5.17]\n  - id: ACME-001\n    title: Vendors have an owner\n    severity: low\n    controls: [ISO27001:2022/A.5.9]\n    scope: { subject: vendor }\n    require: has(vendor.owner)\n";
    let base = builtin();
    let before = base.rule("VKS-EXP-004").expect("rule");
    assert!(before.severity < vendorscope::run::Severity::Critical);
    let set = PolicySet::load_str("stricter.yaml", text).expect("loads");
    assert!(set.weakened.is_empty(), "{:?}", set.weakened);
    assert_eq!(
        set.rule("VKS-EXP-004").map(|r| r.severity),
        Some(vendorscope::run::Severity::Critical)
    );
    // A copy of the built-in expression with other whitespace around it is no change either.
    let same = "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-001\n    require: \"  !key.exposed \"\n";
    let set = PolicySet::load_str("same.yaml", same).expect("loads");
    assert!(set.weakened.is_empty(), "{:?}", set.weakened);
}

#[test]
fn lint_merges_overrides_and_reports_weakened_rules() {
    let dir = tempfile::tempdir().expect("tmp");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    // A partial override of a built-in rule lints clean (it used to be "missing title"…), and
    // the weakening is returned.
    let (d, w) = vendorscope::policy::lint(&[write("disable.yaml", DISABLE_EXP_001)]);
    assert!(d.is_empty(), "{}", d.render());
    assert_eq!(w.len(), 1);
    let (d, w) = vendorscope::policy::lint(&[write("lower.yaml", LOWER_EXP_001)]);
    assert!(d.is_empty(), "{}", d.render());
    assert_eq!(w[0].changes[0].field, "enforcement");
    // `require: true` is caught by the never-fails check as well.
    let (d, _) = vendorscope::policy::lint(&[write("rewrite.yaml", REWRITE_EXP_001)]);
    let r = d.render();
    assert!(
        r.contains("rewrite.yaml:8:14: error: rule VKS-EXP-001: require is always true"),
        "{r}"
    );
    assert!(
        r.contains("rewrite.yaml:7:14: error: rule VKS-EXP-001: scope.where is always false"),
        "{r}"
    );

    for (name, text) in [
        ("disable.yaml", DISABLE_EXP_001),
        ("lower.yaml", LOWER_EXP_001),
        ("rewrite.yaml", REWRITE_EXP_001),
    ] {
        let p = write(name, text);
        let out = assert_cmd::Command::cargo_bin("vendorscope")
            .expect("bin")
            .args(["policy", "lint", "--deny-weakened-rules"])
            .arg(&p)
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!(
                "{}:4:1: error: weakens built-in rule VKS-EXP-001",
                p.display()
            )),
            "{name}: {err}"
        );
        // Without the flag: exit 0 (or 2 for the never-fails check) and a warning either way.
        let out = assert_cmd::Command::cargo_bin("vendorscope")
            .expect("bin")
            .args(["policy", "lint"])
            .arg(&p)
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        let expected = if name == "rewrite.yaml" { 2 } else { 0 };
        let list = assert_cmd::Command::cargo_bin("vendorscope")
            .expect("bin")
            .args(["policy", "list", "--policy"])
            .arg(&p)
            .output()
            .expect("run");
        let listed = String::from_utf8_lossy(&list.stdout);
        assert!(
            listed
                .contains("WEAKENED built-in rules (1):\n  built-in rule VKS-EXP-001 weakened by"),
            "{name}: {listed}"
        );
        assert_eq!(out.status.code(), Some(expected), "{name}: {err}");
        if expected == 0 {
            assert!(
                err.contains("warning: built-in rule VKS-EXP-001 weakened by"),
                "{name}: {err}"
            );
        }
    }
    let stricter = write(
        "stricter.yaml",
        "version: 1\nkind: PolicySet\nrules:\n  - id: VKS-EXP-004\n    severity: critical\n",
    );
    let out = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .args(["policy", "lint", "--deny-weakened-rules"])
        .arg(&stricter)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}

/// VKS-PII-004 names the undeclared categories and the vendor fields behind them.
#[test]
fn observed_data_contradiction_names_the_fields() {
    let set = builtin();
    let mut f = shop();
    apply(
        &mut f,
        "vendors",
        "iterable",
        &[
            Op::Set("observed_data", json!(["email", "first_name", "phone"])),
            Op::Set(
                "observed_fields",
                json!({"email": ["email"], "first_name": ["firstName"], "phone": ["phoneNumber"]}),
            ),
        ],
    );
    let ev = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk");
    let x = ev
        .findings
        .iter()
        .find(|x| x.rule == "VKS-PII-004")
        .expect("finding");
    assert_eq!(
        x.message,
        "Iterable: the inventory declares email; the vendor's profile schema holds first_name (firstName); phone (phoneNumber)"
    );
}

/// VKS-PII-001 (minimisation) judges what the vendor holds as well as what the inventory
/// declares: "only e-mail" in the inventory does not pass while Iterable's schema holds phones.
#[test]
fn minimisation_uses_the_observed_schema() {
    let set = builtin();
    let outcome = |observed: Option<serde_json::Value>| {
        let mut f = shop();
        let mut ops = vec![Op::Set("data_shared", json!(["email"]))];
        if let Some(o) = observed {
            ops.push(Op::Set("observed_data", o));
        }
        apply(&mut f, "vendors", "iterable", &ops);
        let ev = evaluate_json(&set, &f, &Exceptions::none(), now(), "chk");
        let status = ev
            .results
            .iter()
            .find(|r| r.rule == "VKS-PII-001")
            .expect("evaluated")
            .outcome;
        let message = ev
            .findings
            .iter()
            .find(|x| x.rule == "VKS-PII-001")
            .map(|x| x.message.clone());
        (status, message)
    };
    let (o, _) = outcome(None);
    assert_eq!(o, Outcome::Pass, "declared only, nothing observed");
    let (o, _) = outcome(Some(json!(["email"])));
    assert_eq!(o, Outcome::Pass, "observed only e-mail");
    let (o, m) = outcome(Some(json!(["email", "first_name", "phone"])));
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        m.as_deref().unwrap_or_default(),
        "Iterable (marketing e-mail) receives email (declared) and holds email, first_name, phone (observed in its profile schema); only the e-mail address should transit it"
    );
}
