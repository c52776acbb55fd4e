//! The run document's and the facts model's JSON Schemas are generated from the types and
//! accept the documents the program writes.

use vendorscope::facts::Facts;
use vendorscope::run::Run;

fn validate<T: schemars::JsonSchema>(doc_path: &str) -> Vec<String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(doc_path).expect("read")).expect("json");
    let v = jsonschema::validator_for(&schema).expect("compile schema");
    v.iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

#[test]
fn run_schema_accepts_the_demo_run() {
    let errs = validate::<Run>("fixtures/runs/demo-run.json");
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn run_schema_rejects_a_wrong_type() {
    let schema = serde_json::to_value(schemars::schema_for!(Run)).expect("schema");
    let mut doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/runs/demo-run.json").expect("read"),
    )
    .expect("json");
    doc["schema_version"] = serde_json::json!("one");
    let v = jsonschema::validator_for(&schema).expect("compile schema");
    assert!(!v.is_valid(&doc));
}

#[test]
fn facts_schema_accepts_the_shop_facts() {
    let errs = validate::<Facts>("fixtures/policy/shop.json");
    assert!(errs.is_empty(), "{errs:#?}");
}
