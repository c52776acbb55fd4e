//! Stripe held to its own contract (API 2023-08-16): the emulator answers like the real API
//! (parameters, auth forms, `resource_missing`, rate-limit forms, personal data in success
//! bodies), the connector pins `Stripe-Version` and reads no record, and — where
//! `../shared/tools/stripe-mock` exists — Stripe's own mock rejects none of its requests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use url::Url;
use vendorscope::emulator::{EmulatorKey, RunningEmulator};
use vendorscope::emulators::{builtin_config, start_vendor};
use vendorscope::http::Client;
use vendorscope::run::{KeyProfile, KeyStatus};
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::stripe::emulator::PLANTED;
use vendorscope::vendors::stripe::{API_VERSION, Ask, READ_PROBES};
use vendorscope::vendors::{self, ProbeSettings};

const SK: &str = "sk_test_51DemoKey0000000000000000000000000000000000000000000001";
const RK: &str = "rk_test_51DemoKey0000000000000000000000000000000000000000000002";
const PK: &str = "pk_test_51DemoKey0000000000000000000000000000000000000000000004";
/// Expired (rolled) built-in key.
const RK_EXPIRED: &str = "rk_test_51DemoKey0000000000000000000000000000000000000000000006";
const ACCOUNT: &str = "acct_1DemoAcct0000001";

struct Env {
    emu: RunningEmulator,
    settings: ProbeSettings,
    client: Client,
}

async fn start() -> Env {
    let emu = start_vendor(
        "stripe",
        &builtin_config(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("emulator");
    let settings = ProbeSettings {
        endpoint: Some(Url::parse(&emu.base_url).expect("url")),
        ..Default::default()
    };
    let mut cfg = settings.client_config();
    cfg.backoff_base = Duration::from_millis(100);
    // More of the documented rate than the product spends (tests stay quick), still under
    // the emulator's own limits.
    cfg.rate_share = 0.8;
    let client = Client::new(cfg).expect("client");
    Env {
        emu,
        settings,
        client,
    }
}

impl Env {
    async fn probe(&self, raw: &str) -> KeyProfile {
        let key = vendors::cli_key(SecretRef::Env("UNUSED".into()), None);
        let p = vendors::probe_key(
            "stripe",
            &Secret::new(raw),
            &key,
            &self.settings,
            &self.client,
        )
        .await;
        assert_eq!(self.emu.state.writes(), 0, "emulator saw a write");
        p
    }

    /// A raw GET to the emulator (not through the product): status and JSON body.
    async fn get(&self, path_and_query: &str, auth: &str) -> (u16, serde_json::Value) {
        vendorscope::http::init_tls();
        let r = reqwest::Client::new()
            .get(format!("{}{path_and_query}", self.emu.base_url))
            .header("authorization", auth)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn error_code(body: &serde_json::Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn inconclusive(p: &KeyProfile) -> Option<&str> {
    match &p.status {
        KeyStatus::Inconclusive(r) => Some(r.as_str()),
        _ => None,
    }
}

#[tokio::test]
async fn the_emulator_rejects_what_stripe_rejects() {
    let env = start().await;
    let sk = bearer(SK);
    let (s, b) = env.get("/v1/customers?limit=1&foo=bar", &sk).await;
    assert_eq!((s, error_code(&b)), (400, Some("parameter_unknown")), "{b}");
    assert_eq!(b["error"]["message"], "Received unknown parameter: foo");
    assert_eq!(b["error"]["param"], "foo");
    assert_eq!(b["error"]["type"], "invalid_request_error");
    let (s, b) = env.get("/v1/customers?limit=abc", &sk).await;
    assert_eq!(
        (s, error_code(&b)),
        (400, Some("parameter_invalid_integer")),
        "{b}"
    );
    let (s, b) = env.get("/v1/customers?created[gte]=soon", &sk).await;
    assert_eq!(
        (s, b["error"]["param"].as_str()),
        (400, Some("created[gte]"))
    );
    let (s, b) = env.get("/v1/customers?created[sometime]=1", &sk).await;
    assert_eq!((s, error_code(&b)), (400, Some("parameter_unknown")));
    for limit in ["0", "101", "-1"] {
        let (s, b) = env.get(&format!("/v1/charges?limit={limit}"), &sk).await;
        assert_eq!(
            (s, b["error"]["param"].as_str()),
            (400, Some("limit")),
            "{limit}"
        );
    }
    let (s, _) = env.get("/v1/charges?limit=100", &sk).await;
    assert_eq!(s, 200);
    // Today's API takes `created` on checkout sessions; 2023-08-16 does not, so the
    // connector reads them by id, and the emulator serves only the contract's calls.
    let (s, b) = env
        .get("/v1/checkout/sessions?limit=1&created[gte]=4102444800", &sk)
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = env
        .get("/v1/checkout/sessions/cs_x?created[gte]=4102444800", &sk)
        .await;
    assert_eq!((s, error_code(&b)), (400, Some("parameter_unknown")), "{b}");
    // By-id GETs take `expand` only.
    let (s, _) = env
        .get("/v1/quotes/qt_vendorscopeprobe0000000000?limit=1", &sk)
        .await;
    assert_eq!(s, 400);
    let (s, _) = env.get("/v1/account?expand[]=settings", &sk).await;
    assert_eq!(s, 200);
    let (s, _) = env.get("/v1/account?expand=settings", &sk).await;
    assert_eq!(s, 400);
    let (s, _) = env.get("/v1/prices?recurring[interval]=month", &sk).await;
    assert_eq!(s, 200);
    let (s, _) = env.get("/v1/products?active=maybe", &sk).await;
    assert_eq!(s, 400);
    // Unknown routes are Stripe's 404 without a code.
    let (s, b) = env.get("/v1/no_such_thing", &sk).await;
    assert_eq!((s, error_code(&b)), (404, None));
}

#[tokio::test]
async fn the_emulator_answers_like_stripe() {
    let env = start().await;
    let sk = bearer(SK);
    // HTTP Basic with the key as user name and no password, as Stripe accepts it.
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SK}:"))
    );
    let (s, b) = env.get("/v1/account", &basic).await;
    assert_eq!((s, b["id"].as_str()), (200, Some(ACCOUNT)));
    // The account answer carries its owner's personal data, as the real one does.
    assert_eq!(b["email"], "owner.planted@example.com");
    assert_eq!(b["individual"]["first_name"], "Plantedfirst");
    assert_eq!(b["company"]["name"], "Planted Holdings Ltd");
    // A list holds a record full of personal data, unless `created` filters it out.
    let (s, b) = env.get("/v1/customers?limit=1", &sk).await;
    assert_eq!(s, 200);
    assert_eq!(b["data"][0]["email"], "customer.planted@example.com");
    let (_, b) = env
        .get("/v1/customers?limit=1&created[gte]=4102444800", &sk)
        .await;
    assert_eq!(b["data"], serde_json::json!([]));
    assert_eq!(b["object"], "list");
    let (_, b) = env.get("/v1/customers?created[lt]=1800000000", &sk).await;
    assert_eq!(b["data"].as_array().map(Vec::len), Some(1));
    // A by-id GET of an id that does not exist: 404 resource_missing naming the parameter.
    let (s, b) = env
        .get("/v1/checkout/sessions/cs_vendorscopeprobe0000000000", &sk)
        .await;
    assert_eq!((s, error_code(&b)), (404, Some("resource_missing")), "{b}");
    assert_eq!(b["error"]["param"], "session");
    assert_eq!(
        b["error"]["message"],
        "No such checkout.session: 'cs_vendorscopeprobe0000000000'"
    );
    let (s, b) = env
        .get("/v1/checkout/sessions/session_plantedrecord0001", &sk)
        .await;
    assert_eq!(
        (s, b["email"].as_str()),
        (200, Some("customer.planted@example.com"))
    );
    // Restricted keys: a 403 naming the permission, for every new endpoint too.
    let rk = bearer(RK);
    for (path, permission) in [
        ("/v1/accounts?limit=1", "rak_connected_account_read"),
        ("/v1/issuing/cards?limit=1", "rak_issuing_card_read"),
        (
            "/v1/financial_connections/accounts/fca_vendorscopeprobe0000000000",
            "rak_financial_connections_account_read",
        ),
        ("/v1/account", "rak_connected_account_read"),
    ] {
        let (s, b) = env.get(path, &rk).await;
        assert_eq!(s, 403, "{path}");
        let m = b["error"]["message"].as_str().unwrap_or("");
        assert!(
            m.contains(&format!("Having the '{permission}' permission")),
            "{m}"
        );
    }
    let (s, _) = env.get("/v1/refunds?limit=1", &rk).await;
    assert_eq!(s, 200, "refunds are read with rak_charge_read");
    // The one API version modelled.
    vendorscope::http::init_tls();
    let r = reqwest::Client::new()
        .get(format!("{}/v1/balance", env.emu.base_url))
        .header("authorization", &sk)
        .header("stripe-version", "2020-08-27")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    // Every error type is the contract's (a deleted key included).
    for (path, key) in [
        ("/v1/customers?foo=1", SK),
        ("/v1/quotes/qt_x", SK),
        (
            "/v1/charges",
            "sk_test_51Unknown000000000000000000000000000000",
        ),
        ("/v1/charges", RK_EXPIRED),
        ("/v1/customers", PK),
    ] {
        let (_, b) = env.get(path, &bearer(key)).await;
        let t = b["error"]["type"].as_str().unwrap_or("");
        assert!(
            [
                "api_error",
                "card_error",
                "idempotency_error",
                "invalid_request_error"
            ]
            .contains(&t),
            "{path}: {t}"
        );
    }
}

#[tokio::test]
async fn every_call_pins_the_api_version_and_reads_no_record() {
    let env = start().await;
    let all: Vec<&str> = READ_PROBES
        .iter()
        .map(|p| p.permission)
        .chain(["rak_connected_account_read"])
        .collect();
    env.emu.state.put_key(EmulatorKey::new(
        "rk_test_51AllReads00000000000000000000000000000000000000",
        "stripe",
        &all,
        ACCOUNT,
    ));
    let p = env
        .probe("rk_test_51AllReads00000000000000000000000000000000000000")
        .await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    assert_eq!(p.api_version.as_deref(), Some(API_VERSION));
    assert_eq!(p.account.as_deref(), Some(ACCOUNT));
    // `/v1/account`, every scope probe, and the webhook list (its own call).
    assert_eq!(p.calls.len(), 1 + READ_PROBES.len() + 1);
    for c in [
        "connected_accounts.read",
        "issuing.read",
        "bank_accounts.read",
        "identity.read",
        "reports.download",
        "account.read",
    ] {
        assert!(p.capabilities.iter().any(|x| x == c), "{c} missing");
    }
    let ledger = env.client.ledger();
    assert_eq!(ledger.len(), p.calls.len());
    assert!(
        ledger
            .iter()
            .all(|l| l.api_version.as_deref() == Some(API_VERSION)),
        "{ledger:?}"
    );
    // Every list was asked for an empty page; every by-id GET for an id that cannot exist.
    for r in env.emu.state.requests() {
        if r.path == vendorscope::vendors::stripe::webhooks::PATH {
            assert_eq!(r.query.as_deref(), Some("limit=100"));
            continue;
        }
        let probe = READ_PROBES.iter().find(|p| p.target().0 == r.path);
        match probe.map(|p| p.ask) {
            Some(Ask::EmptyList) => assert_eq!(
                r.query.as_deref(),
                Some("limit=1&created[gte]=4102444800"),
                "{}",
                r.path
            ),
            _ => assert_eq!(r.query, None, "{}", r.path),
        }
    }
    // A key with no permission at all is active with nothing granted.
    env.emu.state.put_key(EmulatorKey::new(
        "rk_test_51NoReads000000000000000000000000000000000000000",
        "stripe",
        &[],
        ACCOUNT,
    ));
    let p = env
        .probe("rk_test_51NoReads000000000000000000000000000000000000000")
        .await;
    assert_eq!(p.status, KeyStatus::Active, "{p:?}");
    assert!(p.granted.is_empty() && p.capabilities.is_empty(), "{p:?}");
    assert_eq!(p.account.as_deref(), Some(ACCOUNT));
}

#[tokio::test]
async fn a_400_rate_limit_is_inconclusive_never_a_verdict() {
    let env = start().await;
    env.emu.state.set_variant("rate_limited", "always");
    env.emu.state.set_variant("rate_limit_status", "400");
    for key in [SK, RK, PK] {
        let p = env.probe(key).await;
        assert_eq!(inconclusive(&p), Some("rate_limited"), "{key}: {p:?}");
        assert!(p.capabilities.is_empty(), "{key}");
    }
    // The 429 form: retried by the client, then rate_limited too.
    env.emu.state.set_variant("rate_limit_status", "429");
    let p = env.probe(SK).await;
    assert_eq!(inconclusive(&p), Some("rate_limited"));
    // A restricted key throttled mid-probe keeps what it saw, and says it is incomplete.
    let env = start().await;
    env.emu.state.set_variant("rate_limited", "/v1/customers");
    env.emu.state.set_variant("rate_limit_status", "400");
    let p = env.probe(RK).await;
    assert_eq!(inconclusive(&p), Some("rate_limited"), "{p:?}");
    assert_eq!(p.granted, ["rak_charge_read", "rak_event_read"]);
    assert_eq!(p.calls.len(), 1 + READ_PROBES.len());
    assert!(
        p.calls
            .iter()
            .any(|c| c.url.ends_with("/v1/customers?limit&created[gte]") && c.status == Some(400)),
        "{:?}",
        p.calls
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_personal_data_reaches_no_output() {
    let env = start().await;
    // The emulator does serve it (the check below could fail).
    let (_, b) = env.get("/v1/account", &bearer(SK)).await;
    assert!(b.to_string().contains(PLANTED[0]));
    let dir = tempfile::tempdir().expect("tempdir");
    let base = env.emu.base_url.clone();
    for (n, key) in [SK, RK].iter().enumerate() {
        for format in ["json", "table"] {
            let rec = dir.path().join(format!("rec-{n}-{format}"));
            let out = tokio::task::spawn_blocking({
                let (rec, base, key) = (rec.clone(), base.clone(), key.to_string());
                move || {
                    assert_cmd::Command::cargo_bin("vendorscope")
                        .expect("bin")
                        .env("STRIPE_KEY", key)
                        .env("VENDORSCOPE_FINGERPRINT_KEY", "test")
                        .args(["probe", "--vendor", "stripe", "--key-env", "STRIPE_KEY"])
                        .args(["--endpoint", &base, "--format", format, "-vv", "--record"])
                        .arg(&rec)
                        .output()
                        .expect("run")
                }
            })
            .await
            .expect("join");
            let mut texts = vec![
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ];
            assert!(texts[0].contains(ACCOUNT), "{}\n{}", texts[0], texts[1]);
            for f in std::fs::read_dir(&rec).expect("record dir") {
                texts.push(std::fs::read_to_string(f.expect("entry").path()).expect("read"));
            }
            assert!(texts.len() > 2, "no transcript");
            assert!(
                texts[2..].iter().any(|t| t.contains("\"stripe-version\"")),
                "transcripts show the pinned version"
            );
            for t in &texts {
                for p in PLANTED {
                    assert!(!t.contains(p), "{key} {format}: planted `{p}` leaked:\n{t}");
                }
            }
        }
    }
}

// ------------------------------------------------------------------ Stripe's own mock

/// Kills the mock however the test ends.
struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stripe_mock_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/stripe-mock/stripe-mock")
}

/// Starts stripe-mock on loopback (HTTP and HTTPS on ephemeral ports, strict version check)
/// and returns it with its HTTP address.
fn start_mock(bin: &Path) -> (Mock, String) {
    let child = Command::new(bin)
        .args(["-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"])
        .arg("-strict-version-check")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start stripe-mock");
    let mut mock = Mock(child);
    let stdout = mock.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("Listening for HTTP at address: ") {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("stripe-mock did not say where it listens");
    (mock, addr)
}

/// Zero requests rejected by Stripe's own mock, which checks every path and parameter
/// against the 2023-08-16 contract: no 400, and no 404 but the by-id probes' own. The mock
/// models no restricted-key permissions and answers any id with a fixture, so verdicts are
/// not asserted here.
#[test]
#[allow(clippy::print_stdout, clippy::print_stderr)] // the skip note and the summary figure
fn stripe_mock_rejects_no_request() {
    let bin = stripe_mock_path();
    if !bin.exists() {
        assert!(
            std::env::var_os("VENDORSCOPE_REQUIRE_STRIPE_MOCK").is_none(),
            "{} not found",
            bin.display()
        );
        eprintln!("skipped: {} not found", bin.display());
        return;
    }
    let (_mock, addr) = start_mock(&bin);
    let by_id: Vec<String> = READ_PROBES
        .iter()
        .filter(|p| matches!(p.ask, Ask::MissingId(_)))
        .map(|p| p.target().0)
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut sent, mut rejected) = (0, Vec::new());
    for (key, expected) in [
        // The secret key also lists the webhook endpoints; the restricted one does not, as
        // stripe-mock answers a by-id GET with a record, so `rak_webhook_read` stays unproven.
        ("sk_test_51MockSecret000000000000000000000000000000000", 2),
        (
            "rk_test_51MockRestricted0000000000000000000000000000000",
            1 + READ_PROBES.len(),
        ),
    ] {
        let rec = dir.path().join(&key[..2]);
        let out = assert_cmd::Command::cargo_bin("vendorscope")
            .expect("bin")
            .env("STRIPE_KEY", key)
            .env("VENDORSCOPE_FINGERPRINT_KEY", "test")
            .args(["probe", "--vendor", "stripe", "--key-env", "STRIPE_KEY"])
            .args(["--endpoint", &format!("http://{addr}"), "--format", "json"])
            .arg("--record")
            .arg(&rec)
            .timeout(Duration::from_secs(300))
            .output()
            .expect("run");
        let mut transcripts = Vec::new();
        for f in std::fs::read_dir(&rec).expect("record dir") {
            let text = std::fs::read_to_string(f.expect("entry").path()).expect("read");
            let t: serde_json::Value = serde_json::from_str(&text).expect("transcript");
            transcripts.push(t);
        }
        assert_eq!(
            transcripts.len(),
            expected,
            "{key}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for t in &transcripts {
            sent += 1;
            let url = Url::parse(t["url"].as_str().unwrap_or("")).expect("url");
            let status = t["status"].as_u64().unwrap_or(0);
            let headers = t["request_headers"].to_string();
            assert!(
                headers.contains(&format!("[\"stripe-version\",\"{API_VERSION}\"]")),
                "{headers}"
            );
            let own_404 = status == 404 && by_id.iter().any(|p| p == url.path());
            if !(200..300).contains(&status) && !own_404 {
                rejected.push(format!("{} {url} → {status}: {}", &key[..2], t["body"]));
            }
        }
    }
    println!("stripe-mock: {sent} requests, {} rejected", rejected.len());
    assert!(rejected.is_empty(), "{rejected:#?}");
}
