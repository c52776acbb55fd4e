//! A hostile vendor (issue 12, Build point 6): `probe` and `audit` against every connector's
//! emulator playing every hostile form (absurd headers, huge and slow bodies, control
//! characters and the probed key in every encoding in every field the connector reads), with
//! every report format rendered. They must stay bounded, panic-free and leak-free.
//!
//! The same matrix carries issue 13's planted-PII test: under [`Hostile::PlantedPii`] every
//! object of every success body holds names, e-mails, phones and addresses, and none of it may
//! reach any output, report, `-vv` log or `--record` transcript.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use url::Url;
use vendorscope::emulator::{
    EmulatorConfig, EmulatorKey, Hostile, PLANTED_PII, RunningEmulator, hostile_text,
};
use vendorscope::emulators::start_vendor;
use vendorscope::http::Client;
use vendorscope::run::{KeyProfile, KeyStatus};
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::{self, ProbeSettings};

const FORMATS: &[&str] = &[
    "table", "json", "sarif", "junit", "github", "markdown", "html", "ocsf",
];
const SHOP: &str = "acme-demo.myshopify.com";
const KEY_ENV: &str = "VENDORSCOPE_HOSTILE_TEST_KEY";
/// Longest any one `probe` or `audit` run may take against a hostile vendor.
const RUN_LIMIT: Duration = Duration::from_secs(45);

fn random(alphabet: &[u8], n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("random bytes");
    b.iter()
        .map(|x| alphabet[*x as usize % alphabet.len()] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One connector's synthetic key (fresh per test run) as its emulator knows it.
struct Target {
    /// `vendor` or `vendor-variant` (the matrix's output names start with it).
    name: &'static str,
    vendor: &'static str,
    key: String,
    emulator_key: EmulatorKey,
}

fn targets() -> Vec<Target> {
    let stripe = format!("sk_live_51{}", random(ALNUM, 97));
    // A restricted key walks every read probe (lists and by-id lookups).
    let restricted = format!("rk_live_51{}", random(ALNUM, 97));
    let shopify = format!("shpat_{}", random(HEX, 32));
    let iterable = random(HEX, 32);
    // `+` and `/` in the body, so `%2B`, `&#43;` and `\/` differ from the raw key.
    let adyen = format!(
        "AQE{}+/{}=-{}+/{}=-vsHx:{}",
        random(B64, 24),
        random(ALNUM, 4),
        random(B64, 24),
        random(ALNUM, 4),
        random(ALNUM, 6)
    );
    vec![
        Target {
            name: "stripe",
            vendor: "stripe",
            emulator_key: EmulatorKey::new(&stripe, "stripe", &[], "acct_1HostileAcct0001"),
            key: stripe,
        },
        Target {
            name: "stripe-restricted",
            vendor: "stripe",
            emulator_key: EmulatorKey::new(
                &restricted,
                "stripe",
                &[
                    "rak_connected_account_read",
                    "rak_customer_read",
                    "rak_charge_read",
                    "rak_checkout_session_read",
                    "rak_webhook_read",
                ],
                "acct_1HostileAcct0002",
            ),
            key: restricted,
        },
        Target {
            name: "shopify",
            vendor: "shopify",
            // The audit key's scopes too: staff accounts and script tags go through every form.
            emulator_key: EmulatorKey::new(
                &shopify,
                "shopify",
                &["read_orders", "read_users", "read_script_tags"],
                SHOP,
            ),
            key: shopify,
        },
        Target {
            name: "iterable",
            vendor: "iterable",
            emulator_key: EmulatorKey::new(&iterable, "iterable", &["server_side"], "demo-us")
                .with_type("server_side"),
            key: iterable,
        },
        Target {
            name: "adyen",
            vendor: "adyen",
            emulator_key: EmulatorKey::new(
                &adyen,
                "adyen",
                // The audit roles: credential, user and webhook lists go through every form.
                &[
                    "Management API—Accounts read",
                    "Management API—API credentials read and write",
                    "Management API—Users read and write",
                    "Management API—Webhooks read",
                ],
                "HostileCo",
            ),
            key: adyen,
        },
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn start(rt: &tokio::runtime::Runtime, t: &Target, forms: &[Hostile]) -> RunningEmulator {
    let cfg = EmulatorConfig {
        keys: vec![t.emulator_key.clone()],
        hostile: forms.to_vec(),
        include_builtin_keys: Some(false),
        ..Default::default()
    };
    rt.block_on(start_vendor(
        t.vendor,
        &cfg,
        "127.0.0.1:0".parse().expect("addr"),
    ))
    .expect("emulator starts")
}

/// One binary run: exit code, stdout, stderr, time taken.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs the binary with the key in the environment; kills it (and fails) past [`RUN_LIMIT`].
fn bin(args: &[&str], key: &str) -> Out {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendorscope"))
        .args(args)
        .env(KEY_ENV, key)
        .env(
            "VENDORSCOPE_FINGERPRINT_KEY",
            "hostile-vendor-test-fingerprint-key",
        )
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`vendorscope {}` not bounded: killed after {RUN_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().expect("stdout thread")).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().expect("stderr thread")).into_owned();
    Out {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

fn probe(t: &Target, emu: &RunningEmulator, format: &str, record: Option<&str>) -> Out {
    let mut args = vec![
        "-vv",
        "probe",
        "--probe-bulk-endpoints",
        "--vendor",
        t.vendor,
        "--key-env",
        KEY_ENV,
        "--endpoint",
        &emu.base_url,
        "--format",
        format,
    ];
    if t.vendor == "shopify" {
        args.extend(["--shop", SHOP]);
    }
    if let Some(dir) = record {
        args.extend(["--record", dir]);
    }
    bin(&args, &t.key)
}

fn inventory(t: &Target, emu: &RunningEmulator) -> String {
    let mut shop = if t.vendor == "shopify" {
        format!("        shop_domain: {SHOP}\n")
    } else {
        String::new()
    };
    // Adyen and Shopify keys are declared audit keys: the audit makes the governance calls
    // (credentials, users, staff, script tags) through every hostile form.
    if matches!(t.vendor, "adyen" | "shopify") {
        shop.push_str("        role: audit\n");
    }
    format!(
        "version: 1
organization: Hostile vendor test
vendors:
  - id: hostile
    name: Hostile
    connector: {vendor}
    category: other
    tier: 3
    keys:
      - id: k1
        type: server_side
        secret: {{ env: {KEY_ENV} }}
        endpoint: \"{url}\"
{shop}",
        vendor = t.vendor,
        url = emu.base_url
    )
}

/// `audit` writing every format: stdout (table) plus one file per format.
fn audit(t: &Target, emu: &RunningEmulator, dir: &Path) -> (Out, BTreeMap<String, String>) {
    let inv = dir.join("inventory.yaml");
    std::fs::write(&inv, inventory(t, emu)).expect("inventory");
    let inv = inv.display().to_string();
    let allow = emu.addr.to_string();
    let specs: Vec<String> = FORMATS
        .iter()
        .map(|f| format!("{f}={}", dir.join(format!("report.{f}")).display()))
        .collect();
    let mut args = vec![
        "-vv",
        "audit",
        "-i",
        &inv,
        "--allow-endpoint",
        &allow,
        "--format",
        "table",
    ];
    for s in &specs {
        args.extend(["--output", s.as_str()]);
    }
    let out = bin(&args, &t.key);
    let mut files = BTreeMap::new();
    for f in FORMATS {
        let p = dir.join(format!("report.{f}"));
        let text = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{} audit: {f} report missing ({e}); exit {} stderr:\n{}",
                t.vendor, out.code, out.stderr
            )
        });
        files.insert(f.to_string(), String::from_utf8_lossy(&text).into_owned());
    }
    (out, files)
}

/// Every text a run produced, named.
type Texts = Vec<(String, String)>;

/// The whole matrix, run once per test binary: every connector × every hostile form run
/// through the binary (slow bodies are covered in-process, with a short client timeout).
struct Matrix {
    keys: BTreeMap<&'static str, String>,
    texts: Texts,
}

fn matrix() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| {
        let rt = runtime();
        let mut texts = Texts::new();
        let mut keys = BTreeMap::new();
        for t in targets() {
            keys.insert(t.name, t.key.clone());
            for form in Hostile::ALL.iter().filter(|f| **f != Hostile::SlowBody) {
                let emu = start(&rt, &t, &[*form]);
                let name = format!("{}/{form:?}", t.name);
                let dir = tempfile::tempdir().expect("tempdir");
                let record = dir.path().join("record");
                for format in ["table", "json"] {
                    // The JSON run also keeps `--record` transcripts (raw vendor bodies).
                    let rec = (format == "json").then(|| record.display().to_string());
                    let o = probe(&t, &emu, format, rec.as_deref());
                    check_run(&format!("{name} probe --format {format}"), &o);
                    if format == "json" {
                        check_probe_json(&name, *form, &o);
                    }
                    texts.push((format!("{name} probe {format} stdout"), o.stdout));
                    texts.push((format!("{name} probe {format} stderr"), o.stderr));
                }
                let mut transcripts: Vec<_> = std::fs::read_dir(&record)
                    .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                    .unwrap_or_default();
                transcripts.sort();
                assert!(!transcripts.is_empty(), "{name}: no transcript recorded");
                for p in transcripts {
                    let text = std::fs::read(&p).expect("transcript");
                    let text = String::from_utf8_lossy(&text).into_owned();
                    let file = p
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    // The recorded body as a reader of the transcript sees it (JSON-decoded once).
                    if let Some(body) = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["body"].as_str().map(str::to_string))
                    {
                        texts.push((format!("{name} probe --record {file} body"), body));
                    }
                    texts.push((format!("{name} probe --record {file}"), text));
                }
                let (o, files) = audit(&t, &emu, dir.path());
                check_run(&format!("{name} audit"), &o);
                if *form == Hostile::CallLimit && t.vendor == "shopify" {
                    assert!(
                        files["json"].contains(
                            "impossible `x-shopify-shop-api-call-limit` header 4294967295/2 ignored"
                        ),
                        "{name}: the ignored call-limit is a run warning"
                    );
                }
                texts.push((format!("{name} audit stdout"), o.stdout));
                texts.push((format!("{name} audit stderr"), o.stderr));
                for (f, text) in files {
                    texts.push((format!("{name} audit {f}"), text));
                }
            }
        }
        Matrix { keys, texts }
    })
}

/// Bounded, no panic, an exit code of the documented set.
fn check_run(name: &str, o: &Out) {
    assert!(
        matches!(o.code, 0 | 1 | 3),
        "{name}: exit {} (never 101, never 2 for a vendor's answer); stderr:\n{}",
        o.code,
        o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{name}: {}", o.stderr);
    assert!(o.elapsed < RUN_LIMIT, "{name}: took {:?}", o.elapsed);
}

fn check_probe_json(name: &str, form: Hostile, o: &Out) {
    let p: KeyProfile = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: probe JSON ({e}):\n{}", o.stdout));
    match form {
        Hostile::RetryAfterHuge | Hostile::RetryAfterOverflow | Hostile::RetryAfterFarDate => {
            assert_eq!(
                p.status,
                KeyStatus::Inconclusive("rate_limited".into()),
                "{name}"
            );
            assert!(
                o.elapsed < Duration::from_secs(10),
                "{name}: waited {:?}",
                o.elapsed
            );
        }
        Hostile::RetryAfterNegative => assert_eq!(
            p.status,
            KeyStatus::Inconclusive("rate_limited".into()),
            "{name}"
        ),
        // Extra members in every object change nothing the connector concludes.
        Hostile::CallLimit | Hostile::HugeBody | Hostile::PlantedPii => {
            assert_eq!(p.status, KeyStatus::Active, "{name}")
        }
        Hostile::SlowBody | Hostile::Text => {}
    }
    if form == Hostile::CallLimit && name.starts_with("shopify") {
        assert!(
            o.stderr
                .contains("impossible `x-shopify-shop-api-call-limit` header 4294967295/2 ignored"),
            "{name}: {}",
            o.stderr
        );
    }
}

/// Every encoding of `key` the hostile emulator sends (see `emulator::hostile_text`).
fn encodings(key: &str) -> Vec<(&'static str, String)> {
    let pct: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
    let mut v = vec![
        ("raw", key.to_string()),
        ("percent-encoded", pct),
        (
            "HTML entities",
            key.replace('+', "&#43;").replace('/', "&#47;"),
        ),
        (
            "decimal entities with leading zeros",
            key.bytes().map(|b| format!("&#{b:04};")).collect(),
        ),
        ("base64", b64[..b64.len().min(60)].to_string()),
        ("JSON \\/-escaped", key.replace('/', "\\/")),
        (
            "JSON \\u00XX uppercase",
            key.chars()
                .map(|c| format!("\\u{:04X}", c as u32))
                .collect(),
        ),
    ];
    // Stripe: the key body without its vendor prefix.
    if let Some(body) = key
        .strip_prefix("sk_live_")
        .or_else(|| key.strip_prefix("rk_live_"))
    {
        v.push(("key body without prefix", body.to_string()));
    }
    v.dedup_by(|a, b| a.1 == b.1);
    v
}

/// `(output, what leaked)` for every text that carries the key in some encoding.
fn key_leaks(m: &Matrix, only_raw: bool) -> Vec<(String, String)> {
    let mut found = vec![];
    for (name, text) in &m.texts {
        let target = name.split('/').next().unwrap_or("");
        let Some(key) = m.keys.get(target) else {
            continue;
        };
        for (enc, form) in encodings(key) {
            if only_raw && enc != "raw" {
                continue;
            }
            if text.contains(form.as_str()) {
                found.push((name.clone(), enc.to_string()));
            }
        }
    }
    found
}

/// `(output, what)` for every control byte or line-initial workflow command from vendor text.
fn injections(m: &Matrix) -> Vec<(String, String)> {
    let mut found = vec![];
    for (name, text) in &m.texts {
        if text.contains('\u{1b}') {
            found.push((name.clone(), "ESC (0x1b)".into()));
        }
        if text.contains('\u{7}') {
            found.push((name.clone(), "BEL (0x07)".into()));
        }
        let github = name.ends_with(" github");
        for line in text.lines() {
            let l = line.trim_start();
            // The github format's own annotations start with `::error file=` etc.; a line
            // starting with `::set-env` or `::error ::` came from the vendor.
            let vendor_command = l.starts_with("::set-env") || l.starts_with("::error ::");
            if vendor_command || (!github && l.starts_with("::")) {
                found.push((name.clone(), format!("line starting with `::`: {l:.60}")));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn report(found: &[(String, String)]) -> String {
    found
        .iter()
        .map(|(n, w)| format!("  {n}: {w}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_connector_stays_bounded_and_panic_free_against_every_hostile_form() {
    let m = matrix();
    // 5 targets × 8 forms × (2 probe runs × 2 streams + audit stdout, stderr, 8 formats),
    // plus the transcripts.
    assert!(m.texts.len() > 5 * 8 * (4 + 2 + FORMATS.len()));
}

/// Issue 13: success bodies full of personal data leave none of it in any output, report,
/// `-vv` log or `--record` transcript (the connectors keep only named members).
#[test]
fn no_planted_personal_data_reaches_any_output() {
    let m = matrix();
    let planted_runs = m
        .texts
        .iter()
        .filter(|(n, _)| n.contains("/PlantedPii "))
        .count();
    assert!(
        planted_runs >= 5 * (4 + 2 + FORMATS.len()),
        "{planted_runs}"
    );
    // The webhook lists (issue 16), whose URLs carry the planted data, were read in them.
    for (target, call) in [
        ("stripe/", "/v1/webhook_endpoints?"),
        ("stripe-restricted/", "/v1/webhook_endpoints?"),
        ("shopify/", "/webhooks.json"),
        ("iterable/", "/api/webhooks"),
        ("adyen/", "/webhooks?"),
    ] {
        assert!(
            m.texts.iter().any(|(n, t)| n.starts_with(target)
                && n.contains("/PlantedPii probe json stdout")
                && t.contains(call)),
            "{target}: no {call} call under planted-pii"
        );
    }
    let mut found = vec![];
    for (name, text) in &m.texts {
        for (field, value) in PLANTED_PII
            .iter()
            .chain(&[("address.line1", "17 Planted Lane")])
        {
            if text.contains(value) {
                found.push((name.clone(), format!("{field} = {value}")));
            }
        }
        if text.contains("Leakville") || text.contains("Plantina") {
            found.push((name.clone(), "a planted name or city".into()));
        }
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "planted personal data in:\n{}",
        report(&found)
    );
}

#[test]
fn the_raw_key_never_reaches_any_output() {
    let leaks = key_leaks(matrix(), true);
    assert!(leaks.is_empty(), "raw key in:\n{}", report(&leaks));
}

#[test]
fn no_encoding_of_the_key_reaches_any_output() {
    let leaks = key_leaks(matrix(), false);
    assert!(leaks.is_empty(), "key encodings in:\n{}", report(&leaks));
}

#[test]
fn vendor_text_carries_no_control_sequence_or_workflow_command() {
    let found = injections(matrix());
    assert!(found.is_empty(), "vendor controls in:\n{}", report(&found));
}

// ---------------------------------------------------------------- in-process forms

fn client_for(emu: &RunningEmulator, timeout: Duration) -> (ProbeSettings, Client) {
    let settings = ProbeSettings {
        endpoint: Some(Url::parse(&emu.base_url).expect("url")),
        shop: Some(SHOP.into()),
        ..Default::default()
    };
    let mut cfg = settings.client_config();
    cfg.timeout = timeout;
    cfg.max_attempts = 2;
    cfg.backoff_base = Duration::from_millis(100);
    (settings, Client::new(cfg).expect("client"))
}

/// A body that trickles without end is cut off by the client's timeout: every connector ends
/// `inconclusive(timeout)` within attempts × timeout (+ backoff), never hangs.
#[test]
fn slow_bodies_are_cut_off_by_the_client_timeout() {
    let rt = runtime();
    for t in targets() {
        let emu = start(&rt, &t, &[Hostile::SlowBody]);
        let (settings, client) = client_for(&emu, Duration::from_secs(1));
        let key = vendors::cli_key(SecretRef::Env(KEY_ENV.into()), Some(SHOP.into()));
        let started = Instant::now();
        let p = rt.block_on(vendors::probe_key(
            t.vendor,
            &Secret::new(t.key.clone()),
            &key,
            &settings,
            &client,
        ));
        let took = started.elapsed();
        assert!(
            matches!(&p.status, KeyStatus::Inconclusive(r) if r == "timeout"),
            "{}: {:?}",
            t.vendor,
            p.status
        );
        // Each request ends at the 1 s timeout (connectors may go on to their next
        // endpoint or environment after one times out, but each call is cut off).
        let sent = emu.state.requests().len() as u32;
        assert!(sent >= 1, "{}", t.vendor);
        assert!(
            took < Duration::from_millis(1300) * sent,
            "{}: {took:?} for {sent} requests",
            t.vendor
        );
    }
}

/// A 64 MiB body (JSON then whitespace) is read up to the client's cap and no further; only
/// the named members reach the connector.
#[test]
fn huge_bodies_are_read_up_to_the_cap() {
    let rt = runtime();
    let t = targets().remove(0);
    let emu = start(&rt, &t, &[Hostile::HugeBody]);
    let (_, client) = client_for(&emu, Duration::from_secs(10));
    let url = Url::parse(&format!("{}/v1/account", emu.base_url)).expect("url");
    let secret = Secret::new(t.key.clone());
    let started = Instant::now();
    let r = rt
        .block_on(client.send(vendorscope::http::Request {
            auth: vendorscope::http::Auth::Bearer(&secret),
            body: vendorscope::http::BodyRead::Fields(&["id", "object"]),
            ..vendorscope::http::Request::get(url, "/v1/account", &["api.stripe.com"])
        }))
        .expect("response");
    assert_eq!(r.status, 200);
    let kept: serde_json::Value =
        serde_json::from_slice(r.body.as_deref().expect("body")).expect("json");
    assert_eq!(
        kept.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["id".to_string(), "object".to_string()])
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The planted-PII emulator really sends personal data in the bodies the connectors read, so
/// [`no_planted_personal_data_reaches_any_output`] can fail.
#[test]
fn planted_pii_is_in_what_the_emulators_send() {
    let rt = runtime();
    for t in targets() {
        let emu = start(&rt, &t, &[Hostile::PlantedPii]);
        let path = match t.vendor {
            "stripe" => "/v1/account",
            "shopify" => "/admin/oauth/access_scopes.json",
            "iterable" => "/api/users/getFields",
            _ => "/v3/me",
        };
        let header = match t.vendor {
            "stripe" => "authorization",
            "shopify" => "x-shopify-access-token",
            "iterable" => "api-key",
            _ => "x-api-key",
        };
        let value = if t.vendor == "stripe" {
            format!("Bearer {}", t.key)
        } else {
            t.key.clone()
        };
        let body = rt.block_on(async {
            vendorscope::http::init_tls();
            reqwest::Client::new()
                .get(format!("{}{path}", emu.base_url))
                .header(header, value)
                .header("host", SHOP)
                .send()
                .await
                .expect("response")
                .text()
                .await
                .expect("body")
        });
        assert!(
            body.contains(PLANTED_PII[0].1) && body.contains("17 Planted Lane"),
            "{}: {body}",
            t.name
        );
        // The webhook lists carry it in the URLs themselves (path and query).
        let hooks = match t.vendor {
            "stripe" => "/v1/webhook_endpoints?limit=100",
            "shopify" => "/admin/api/2026-10/webhooks.json",
            "iterable" => "/api/webhooks",
            _ => "/v3/companies/HostileCo/webhooks",
        };
        let value = if t.vendor == "stripe" {
            format!("Bearer {}", t.key)
        } else {
            t.key.clone()
        };
        let body = rt.block_on(async {
            reqwest::Client::new()
                .get(format!("{}{hooks}", emu.base_url))
                .header(header, value)
                .header("host", SHOP)
                .send()
                .await
                .expect("response")
                .text()
                .await
                .expect("body")
        });
        assert!(
            body.contains(&format!("/{}?email=", PLANTED_PII[0].1)),
            "{} webhooks: {body}",
            t.name
        );
    }
}

/// The hostile text itself carries every form the assertions above look for.
#[test]
fn hostile_text_carries_every_form() {
    let key = "AQEab+/cd";
    let text = hostile_text(key);
    for needle in [
        "\u{1b}[31m",
        "\u{1b}]0;pwn\u{7}",
        "\r\n::set-env name=X::y",
        "\n::error ::",
        "raw=AQEab+/cd",
        "%2B%2F",
        "&#43;&#47;",
        "&#0065;",
    ] {
        assert!(text.contains(needle), "{needle:?} missing");
    }
}
