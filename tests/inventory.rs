//! `vendorscope inventory check|schema` against the fixtures: positions, robustness, leaks,
//! and the JSON Schema.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inventories")
        .join(name)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn run(args: &[&str]) -> Out {
    let out = Command::cargo_bin("vendorscope")
        .expect("binary")
        .args(args)
        .env_remove("VENDORSCOPE_LOG")
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked"), "panic: {}", o.stderr);
    o
}

fn check(path: &Path) -> Out {
    run(&["inventory", "check", path.to_str().expect("utf-8 path")])
}

fn check_bytes(bytes: &[u8]) -> Out {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("inv.yaml");
    std::fs::write(&p, bytes).expect("write");
    check(&p)
}

/// Asserts that no form of `secret` is in `output`: the full value, every 8-character window
/// not inside the known prefix or the last 4 characters, and its JSON-escaped, URL-encoded,
/// HTML-entity and base64 encodings.
fn assert_no_leak(output: &str, secret: &str) {
    const PREFIXES: &[&str] = &[
        "shpat_", "shpca_", "shppa_", "shpss_", "shpua_", "sk_live_", "sk_test_", "rk_live_",
        "rk_test_", "pk_live_", "pk_test_", "whsec_", "live_", "test_", "AQE",
    ];
    let chars: Vec<char> = secret.chars().collect();
    let prefix = PREFIXES
        .iter()
        .find(|p| secret.starts_with(*p))
        .map_or(0, |p| p.len());
    let tail = chars.len().saturating_sub(4);
    assert!(!output.contains(secret), "full secret leaked:\n{output}");
    for i in 0..chars.len().saturating_sub(7) {
        let (a, b) = (i, i + 8);
        if b <= prefix || a >= tail {
            continue;
        }
        let w: String = chars[a..b].iter().collect();
        assert!(!output.contains(&w), "secret piece {w:?} leaked:\n{output}");
    }
    let json = serde_json::to_string(secret).expect("json");
    let url: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let html: String = secret.chars().map(|c| format!("&#{};", c as u32)).collect();
    let html_hex: String = secret
        .chars()
        .map(|c| format!("&#x{:x};", c as u32))
        .collect();
    let mut forms = vec![json[1..json.len() - 1].to_string(), url, html, html_hex];
    for pad in 0..3 {
        let mut buf = vec![b'x'; pad];
        buf.extend_from_slice(secret.as_bytes());
        for e in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            let enc = e.encode(&buf);
            // The stable middle, independent of the neighbouring bytes.
            let start = (pad * 4).div_ceil(3) + 4;
            let end = (buf.len() / 3) * 4 - 4;
            if end > start {
                forms.push(enc[start..end].to_string());
            }
        }
    }
    for f in forms {
        assert!(
            !output.contains(&f),
            "encoded secret {f:?} leaked:\n{output}"
        );
    }
}

#[test]
fn shop_fixture_checks_clean() {
    let o = check(&fixture("shop-2020.yaml"));
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout
            .contains("ok — Example Shop SAS (4 vendors, 7 keys, 1 surface, 1 artifact)"),
        "{}",
        o.stdout
    );
}

#[test]
fn shop_fixture_warns_about_unset_env_vars_only() {
    let out = Command::cargo_bin("vendorscope")
        .expect("binary")
        .args(["inventory", "check"])
        .arg(fixture("shop-2020.yaml"))
        .env("ITERABLE_WEB_KEY", "set")
        .env_remove("ITERABLE_SERVER_KEY")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0));
    assert!(err.contains("ITERABLE_SERVER_KEY"), "{err}");
    assert!(!err.contains("ITERABLE_WEB_KEY"), "{err}");
}

/// Each broken fixture: exit 2 and its diagnostics at exactly these `LINE:COL`s.
#[test]
fn broken_fixtures_name_line_and_column() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("unknown-field.yaml", &[("6:5", "did you mean `connector`")]),
        ("wrong-type.yaml", &[("8:11", "must be an integer")]),
        ("duplicate-key.yaml", &[("9:5", "duplicate key `category`")]),
        (
            "duplicate-ids.yaml",
            &[
                ("14:9", "duplicate vendor id `stripe`"),
                ("19:13", "duplicate key id `stripe-secret`"),
            ],
        ),
        (
            "unknown-connector.yaml",
            &[("6:16", "did you mean `shopify`")],
        ),
        ("bad-date.yaml", &[("9:37", "not a valid ISO 8601 date")]),
        (
            "bad-duration.yaml",
            &[("10:33", "not an ISO 8601 duration")],
        ),
        ("bad-endpoint.yaml", &[("13:19", "must use https")]),
        (
            "unknown-capability.yaml",
            &[(
                "13:74",
                "unknown capability `products.read`; did you mean `catalog.read`?",
            )],
        ),
        (
            "missing-connector.yaml",
            &[("5:5", "vendor `braintree` has no `connector`")],
        ),
        (
            "live-key.yaml",
            &[("11:24", "looks like a live credential")],
        ),
        (
            "live-key-and-error.yaml",
            &[
                ("9:14", "looks like a live credential"),
                ("10:12", "YAML syntax error"),
            ],
        ),
    ];
    for (file, expected) in cases {
        let o = check(&fixture(file));
        assert_eq!(o.code, 2, "{file}: {}", o.all());
        let errors: Vec<&str> = o
            .stderr
            .lines()
            .filter(|l| l.contains(": error: "))
            .collect();
        assert_eq!(errors.len(), expected.len(), "{file}: {}", o.stderr);
        for (pos, text) in *expected {
            let head = format!("{}:{pos}: error: ", fixture(file).display());
            assert!(
                errors
                    .iter()
                    .any(|l| l.starts_with(&head) && l.contains(text)),
                "{file}: expected {pos} {text:?} in\n{}",
                o.stderr
            );
        }
    }
}

#[test]
fn five_errors_are_all_reported() {
    let o = check(&fixture("five-errors.yaml"));
    assert_eq!(o.code, 2);
    let path = fixture("five-errors.yaml").display().to_string();
    for (pos, text) in [
        ("6:16", "unknown connector `iterabel`"),
        ("9:5", "unknown field `data_shard`"),
        ("10:44", "not an ISO 8601 duration"),
        ("15:18", "not a valid ISO 8601 date"),
        ("16:9", "duplicate vendor id `iterable`"),
    ] {
        assert!(
            o.stderr.contains(&format!("{path}:{pos}: error: ")) && o.stderr.contains(text),
            "missing {pos} {text}:\n{}",
            o.stderr
        );
    }
    assert!(o.stderr.contains("5 errors in"), "{}", o.stderr);
}

#[test]
fn hostile_inputs_exit_2_without_panicking() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='k' {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
        prev = c;
    }
    let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let deep_block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("comment only", b"# nothing\n".to_vec()),
        ("garbage", garbage),
        ("non-utf8", b"version: 1\norganization: \xff\xfe\n".to_vec()),
        ("alias bomb", bomb.into_bytes()),
        ("deep flow", deep.into_bytes()),
        ("deep block", deep_block.into_bytes()),
        ("list", b"- a\n- b\n".to_vec()),
        ("scalar", b"hello\n".to_vec()),
        ("two documents", b"version: 1\n---\nversion: 1\n".to_vec()),
        (
            "tabs and escapes",
            b"version: 1\norganization: \"\x1b[31mred\"\n\tbad: x\n".to_vec(),
        ),
        (
            "merge key",
            b"base: &b {tier: 1}\nversion: 1\n<<: *b\n".to_vec(),
        ),
        ("recursive alias", b"a: &a [*a]\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let started = std::time::Instant::now();
        let o = check_bytes(&bytes);
        assert_eq!(o.code, 2, "{name}: {}", o.all());
        assert!(o.stderr.contains("error"), "{name}: {}", o.stderr);
        assert!(
            !o.stderr.contains('\u{1b}'),
            "{name}: escape passed through"
        );
        assert!(started.elapsed().as_secs() < 30, "{name} took too long");
    }
}

fn shopify_key() -> String {
    "shpat_".to_string() + "9c0ffee5eed1e55ba5e64a7d3f1b2c48"
}

fn stripe_key() -> String {
    "sk_live_".to_string() + "51QsyNthet1cK3yF0rTest5Only0aBcDeFgHiJkLm"
}

fn adyen_key() -> String {
    "AQE".to_string()
        + "yhmfxKo3NaRdKw2Sw0TestOnlyK3yBw==-kiN9sYnThEt1cTe5tOnLyX0k5C80=-i1i:ZYyURy3"
}

fn iterable_key() -> String {
    "7e1a5b90c2d84f3a9b6e0d1c2f3a4b5c".to_string()
}

fn random_secret() -> String {
    "Zk8pQ2vN7xR4tL9mW3sY6bH1qT5".to_string()
}

const BASE: &str = "version: 1\norganization: Example Shop SAS\nvendors:\n  - id: v\n    connector: stripe\n    category: psp\n    tier: 1\n";

/// Inventories that plant `secret` in different places.
fn plantings(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "secret.env",
            format!(
                "{BASE}    keys:\n      - id: k\n        secret: {{ env: {secret} }}\n        type: server_side\n"
            ),
        ),
        (
            "secret.file",
            format!(
                "{BASE}    keys:\n      - id: k\n        secret: {{ file: {secret} }}\n        type: server_side\n"
            ),
        ),
        (
            "secret.command",
            format!(
                "{BASE}    keys:\n      - id: k\n        secret: {{ command: [tool, --token, \"{secret}\"] }}\n        type: server_side\n"
            ),
        ),
        (
            "organization",
            format!("version: 1\norganization: \"{secret}\"\n"),
        ),
        (
            "unknown field",
            format!("{BASE}    api_key: \"{secret}\"\n"),
        ),
        ("map key", format!("{BASE}    \"{secret}\": true\n")),
        (
            "secret as a string",
            format!(
                "{BASE}    keys:\n      - id: k\n        secret: \"{secret}\"\n        type: server_side\n"
            ),
        ),
        ("comment", format!("{BASE}    # old key: {secret}\n")),
        (
            "next to a YAML error",
            format!("{BASE}    owner: \"{secret}\"\n    region: [eu\n"),
        ),
        (
            "next to a type error",
            format!("{BASE}    region: \"{secret}\"\n    dpa: yes\n"),
        ),
        (
            "in a list",
            format!("{BASE}    data_shared: [email, \"{secret}\"]\n"),
        ),
        (
            "endpoint query",
            format!(
                "{BASE}    keys:\n      - id: k\n        secret: {{ env: K }}\n        type: server_side\n        endpoint: \"http://evil.example/?k={secret}\"\n"
            ),
        ),
    ]
}

#[test]
fn planted_keys_are_errors_and_never_printed() {
    let secrets = [
        shopify_key(),
        stripe_key(),
        adyen_key(),
        iterable_key(),
        random_secret(),
    ];
    for secret in &secrets {
        for (place, yaml) in plantings(secret) {
            let dir = tempfile::tempdir().expect("tempdir");
            let p = dir.path().join("inv.yaml");
            std::fs::write(&p, &yaml).expect("write");
            for verbosity in [&[][..], &["-vv"][..]] {
                let mut args: Vec<&str> = verbosity.to_vec();
                args.extend(["inventory", "check", p.to_str().expect("path")]);
                let o = run(&args);
                assert_no_leak(&o.all(), secret);
            }
            // Vendor-shaped values are errors wherever they are (comments included);
            // random-looking ones where a reference was expected or under an unknown field.
            // In free-text fields a random-looking value is accepted but still masked above
            // (account ids such as `acct_…` look random too).
            let o = check(&p);
            let vendor_shaped = !secret.starts_with("Zk8");
            let free_text = matches!(
                place,
                "organization"
                    | "next to a YAML error"
                    | "next to a type error"
                    | "in a list"
                    | "endpoint query"
                    | "comment"
            );
            if vendor_shaped || !free_text {
                assert_eq!(o.code, 2, "{place}: {}", o.all());
                assert!(
                    o.stderr.contains("looks like a live credential"),
                    "{place} {}: {}",
                    &secret[..4],
                    o.stderr
                );
            }
        }
    }
}

#[test]
fn live_key_fixture_does_not_echo_the_value() {
    let o = check(&fixture("live-key.yaml"));
    assert_eq!(o.code, 2);
    assert_no_leak(&o.all(), "shpat_5c1e0ddba11ad0beefcafe0123456789");
    let o = check(&fixture("live-key-and-error.yaml"));
    assert_eq!(o.code, 2);
    assert_no_leak(&o.all(), "sk_live_51SynthEtic0Key9ForTests7Only3Zq");
}

fn schema() -> jsonschema::Validator {
    let o = run(&["inventory", "schema"]);
    assert_eq!(o.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&o.stdout).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("valid JSON Schema")
}

fn as_json(file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(file)).expect("read");
    vendorscope::yaml::from_str::<serde_json::Value>(&text).expect("YAML → JSON")
}

#[test]
fn schema_accepts_shop_and_rejects_structural_errors() {
    let v = schema();
    assert!(v.is_valid(&as_json("shop-2020.yaml")));
    // Structural errors are the schema's job too (editors flag them while typing).
    assert!(!v.is_valid(&as_json("unknown-field.yaml")));
    assert!(!v.is_valid(&as_json("wrong-type.yaml")));
    // Semantic errors (duplicate ids, unknown connectors, live-looking values, bad URLs) are
    // the validator's job: the schema accepts duplicate-ids.yaml, `inventory check` rejects it.
    assert!(v.is_valid(&as_json("duplicate-ids.yaml")));
    assert_eq!(check(&fixture("duplicate-ids.yaml")).code, 2);
}

#[test]
fn locations_are_indexed_for_reports() {
    let loaded = vendorscope::inventory::load(&fixture("shop-2020.yaml")).expect("loads");
    assert_eq!(loaded.location_of("vendors[0]"), Some((8, 5)));
    assert_eq!(loaded.location_of("vendors[0].keys[1].id"), Some((62, 13)));
    let key = loaded.key_path("shopify-admin").expect("key");
    assert_eq!(key, "vendors[1].keys[0]");
    assert_eq!(loaded.location_of(&key), Some((104, 9)));
    assert_eq!(loaded.vendor_path("stripe").as_deref(), Some("vendors[2]"));
}

#[test]
#[should_panic(expected = "leaked")]
fn leak_helper_catches_a_piece_of_the_key() {
    let key = shopify_key();
    assert_no_leak(&format!("token …{}…", &key[10..20]), &key);
}

#[test]
#[should_panic(expected = "leaked")]
fn leak_helper_catches_base64() {
    let key = stripe_key();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("Bearer {key}"));
    assert_no_leak(&b64, &key);
}

#[cfg(unix)]
#[test]
fn group_readable_secret_file_warns_without_failing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("stripe.key");
    std::fs::write(&key, stripe_key()).expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let inv = dir.path().join("inv.yaml");
    std::fs::write(
        &inv,
        format!("{BASE}    keys:\n      - id: k\n        secret: {{ file: stripe.key }}\n        type: server_side\n"),
    )
    .expect("write");
    let o = check(&inv);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stderr.contains("readable by group or others"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("inv.yaml:10:25"), "{}", o.stderr);
    assert_no_leak(&o.all(), &stripe_key());
}

/// An inventory whose one key declares `caps` (a YAML flow list body).
fn with_capabilities(caps: &str) -> String {
    format!(
        "{BASE}    keys:\n      - id: k\n        secret: {{ env: UNSET_KEY }}\n        type: server_side\n        purpose:\n          name: checkout\n          allowed_capabilities: [{caps}]\n"
    )
}

/// Every name used before the vocabulary was enforced (demo, fixtures, facts) and some
/// misspellings: exit 2 at the name's line and column, with the right vocabulary word.
#[test]
fn capabilities_outside_the_vocabulary_are_errors_with_their_suggestion() {
    let cases = [
        ("users.write", "users.write_self"),
        ("products.read", "catalog.read"),
        ("fulfillments.write", "orders.write"),
        ("charges.read", "payments.read"),
        ("email.send", "messages.send"),
        ("balance.read", "payouts.read"),
        ("payments.tokenize", "payments.card_data"),
        ("orders.reed", "orders.read"),
        ("customer.read", "customers.read"),
        ("webhooks.manag", "webhooks.manage"),
    ];
    for (name, want) in cases {
        let o = check_bytes(with_capabilities(&format!("payments.write, {name}")).as_bytes());
        assert_eq!(o.code, 2, "{name}: {}", o.all());
        let line = o
            .stderr
            .lines()
            .find(|l| l.contains(": error: "))
            .unwrap_or_default();
        // Line 14, column 50: the second item of the flow list.
        assert!(
            line.contains(":14:50: error: unknown capability"),
            "{name}: {}",
            o.stderr
        );
        assert!(
            line.contains(&format!("`{name}`; did you mean `{want}`?")),
            "{name}: {}",
            o.stderr
        );
        let errors = o.stderr.lines().filter(|l| l.contains(": error: ")).count();
        assert_eq!(errors, 1, "{name}: {}", o.stderr);
    }
    // No suggestion when nothing is close; still an error naming the command that lists them.
    let o = check_bytes(with_capabilities("teleport").as_bytes());
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("unknown capability `teleport` (`vendorscope policy capabilities`"),
        "{}",
        o.stderr
    );
    // A non-string item.
    let o = check_bytes(with_capabilities("{ a: 1 }").as_bytes());
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("a capability must be a name"),
        "{}",
        o.stderr
    );
}

#[test]
fn every_vocabulary_name_is_accepted() {
    let all: Vec<&str> = vendorscope::vendors::capability::VOCABULARY
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let o = check_bytes(with_capabilities(&all.join(", ")).as_bytes());
    assert_eq!(o.code, 0, "{}", o.all());
}

/// `audit` and `scan --inventory` refuse the same inventory (exit 2) before doing anything.
#[test]
fn audit_and_scan_refuse_an_unknown_capability() {
    let f = fixture("unknown-capability.yaml");
    let f = f.to_str().expect("utf-8");
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&["audit", "-i", f, "--offline"]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(
        o.stderr.contains("did you mean `catalog.read`?"),
        "{}",
        o.stderr
    );
    let o = run(&[
        "scan",
        dir.path().to_str().expect("utf-8"),
        "--inventory",
        f,
    ]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(
        o.stderr.contains("did you mean `catalog.read`?"),
        "{}",
        o.stderr
    );
}

#[test]
fn schema_enumerates_the_vocabulary() {
    let o = run(&["inventory", "schema"]);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("schema is JSON");
    let listed: Vec<&str> = doc["$defs"]["Capability"]["enum"]
        .as_array()
        .expect("Capability enum")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let vocab: Vec<&str> = vendorscope::vendors::capability::VOCABULARY
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(listed, vocab);
    assert_eq!(
        doc["$defs"]["Purpose"]["properties"]["allowed_capabilities"]["items"]["$ref"],
        "#/$defs/Capability"
    );
    let v = schema();
    assert!(!v.is_valid(&as_json("unknown-capability.yaml")));
    assert!(v.is_valid(&as_json("connector-none.yaml")));
}

#[test]
fn connector_none_needs_a_reason_and_real_connectors_refuse_one() {
    assert_eq!(check(&fixture("connector-none.yaml")).code, 0);
    let base = "version: 1\norganization: X\nvendors:\n  - id: b\n    category: psp\n    tier: 2\n";
    let cases = [
        (
            format!("{base}    connector: none\n"),
            ":7:16: error: `connector: none` needs a `connector_reason`",
        ),
        (
            format!("{base}    connector: none\n    connector_reason: \"  \"\n"),
            ":8:23: error: `connector: none` needs a `connector_reason`",
        ),
        (
            format!("{base}    connector: stripe\n    connector_reason: legacy\n"),
            ":8:23: error: `connector_reason` is only for `connector: none`",
        ),
        (
            format!("{base}    connector_reason: legacy\n"),
            ":4:5: error: vendor `b` has no `connector`",
        ),
        (
            format!("{base}    connector: nonee\n"),
            "or `none` with a `connector_reason`",
        ),
    ];
    for (yaml, want) in cases {
        let o = check_bytes(yaml.as_bytes());
        assert_eq!(o.code, 2, "{yaml}: {}", o.all());
        assert!(o.stderr.contains(want), "{yaml}: {}", o.stderr);
    }
}

/// A `connector: none` vendor's key is in the run as `not_probed(no_connector)`, with the
/// reason in the warnings: never silently left out.
#[test]
fn connector_none_keys_are_reported_not_probed() {
    let f = fixture("connector-none.yaml");
    let o = run(&[
        "audit",
        "-i",
        f.to_str().expect("utf-8"),
        "--format",
        "json",
        "--allow-incomplete",
    ]);
    assert!(o.code == 0 || o.code == 1, "{}", o.all());
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("run JSON");
    let key = doc["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == "braintree-api")
        .expect("the key is in the run");
    let profile = key["profile"].to_string();
    assert!(profile.contains("not_probed"), "{profile}");
    assert!(profile.contains("no_connector"), "{profile}");
    assert!(
        doc["warnings"]
            .to_string()
            .contains("no read-only probe exists yet"),
        "{}",
        doc["warnings"]
    );
    assert!(
        doc["ledger"].as_array().is_none_or(|l| l.is_empty()),
        "nothing sent"
    );
}

#[test]
fn policy_capabilities_lists_meanings_and_vendor_grants() {
    let o = run(&["policy", "capabilities"]);
    assert_eq!(o.code, 0, "{}", o.all());
    for (name, meaning) in vendorscope::vendors::capability::VOCABULARY {
        assert!(o.stdout.contains(name), "{name}");
        assert!(o.stdout.contains(meaning), "{meaning}");
    }
    for grant in [
        "read_products",
        "rak_product_read",
        "Merchant Recurring role",
        "server_side",
    ] {
        assert!(o.stdout.contains(grant), "{grant}:\n{}", o.stdout);
    }
    let o = run(&["policy", "capabilities", "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
    let caps = doc["capabilities"].as_array().expect("capabilities");
    assert_eq!(
        caps.len(),
        vendorscope::vendors::capability::VOCABULARY.len()
    );
    let catalog = caps
        .iter()
        .find(|c| c["name"] == "catalog.read")
        .expect("catalog.read");
    assert_eq!(catalog["meaning"], "read products, prices and coupons");
    let shopify = catalog["vendors"]["shopify"]["granted_by"].to_string();
    assert!(
        shopify.contains("read_products") && shopify.contains("write_products"),
        "{shopify}"
    );
    assert!(
        catalog["vendors"]["stripe"]["granted_by"]
            .to_string()
            .contains("rak_product_read")
    );
    assert!(
        catalog["vendors"]["iterable"]["granted_by"]
            .to_string()
            .contains("server_side")
    );
    // Stripe writes that a granted read leaves open are marked as such.
    let cw = caps
        .iter()
        .find(|c| c["name"] == "customers.write")
        .expect("customers.write");
    assert!(
        cw["vendors"]["stripe"]["unverifiable_with"]
            .to_string()
            .contains("rak_customer_read")
    );
    let o = run(&["policy", "capabilities", "--format", "sarif"]);
    assert_eq!(o.code, 2, "{}", o.all());
}

/// `webhook_destinations` takes host patterns; a URL, a path, credentials or a bad port are
/// errors at their position (exit 2), the schema documents the field.
#[test]
fn webhook_destinations_are_host_patterns() {
    let o = check_bytes(
        b"version: 1
organization: T
vendors:
  - id: stripe
    connector: stripe
    category: psp
    tier: 1
    webhook_destinations: [hooks.example.com, \"*.erp.example\", \"127.0.0.1:8080\"]
  - id: shopify
    connector: shopify
    category: ecommerce
    tier: 1
    webhook_destinations:
      - https://hooks.example.com/in
      - hooks.example.com/path
      - \"user@hooks.example.com\"
      - \"hooks.example.com:99999\"
",
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    for (pos, text) in [
        ("14:9", "is a URL"),
        ("15:9", "has a path"),
        ("16:9", "has a path, query, credentials"),
        ("17:9", "port"),
    ] {
        assert!(
            o.stderr.contains(&format!(":{pos}: error: ")) && o.stderr.contains(text),
            "missing {pos} {text}:\n{}",
            o.stderr
        );
    }
    assert!(o.stderr.contains("4 errors in"), "{}", o.stderr);
    let schema = run(&["inventory", "schema"]);
    assert!(schema.stdout.contains("webhook_destinations"));
    assert!(
        schema
            .stdout
            .contains("Hosts that may receive this vendor's webhook events")
    );
}
