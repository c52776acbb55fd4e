//! No personal data, by construction (issue 13, Build point 3): each connector runs, through
//! the binary, against its emulator with success bodies full of planted personal data (a shop
//! owner's, an API credential holder's, a marketing recipient's name, e-mail, phone and
//! address). None of it may reach stdout, stderr (`-vv` logs), a `--record` transcript or any
//! report format of `audit`.

use std::path::Path;

use vendorscope::emulator::RunningEmulator;
use vendorscope::emulators::{builtin_config, start_vendor};
use vendorscope::vendors::adyen::emulator::{self as adyen_emu, keys as ak};
use vendorscope::vendors::iterable::emulator::{self as iterable_emu, keys as ik};
use vendorscope::vendors::shopify::emulator as shopify_emu;

const FORMATS: &[&str] = &[
    "table", "json", "sarif", "junit", "github", "markdown", "html", "ocsf",
];
const SHOP: &str = "acme-demo.myshopify.com";
const KEY_ENV: &str = "VENDORSCOPE_PII_TEST_KEY";

/// One connector, one key, and the variant that makes its emulator send planted data.
struct Case {
    vendor: &'static str,
    key: &'static str,
    variant: Option<(&'static str, &'static str)>,
    planted: &'static [&'static str],
    /// A call whose 2xx body carries the planted data under the variant (proof it was sent).
    sample: &'static str,
    bulk: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            vendor: "shopify",
            key: "shpat_00000000000000000000000000000a01",
            // A shop that ignores `fields=`: the whole owner record comes back.
            variant: Some(("shop_fields", "ignored")),
            planted: shopify_emu::PLANTED_PII,
            sample: "/admin/api/2026-10/shop.json?fields=myshopify_domain",
            bulk: false,
        },
        Case {
            vendor: "adyen",
            key: ak::TEST_FULL,
            variant: None,
            planted: adyen_emu::PLANTED_PII,
            sample: "/v3/me",
            bulk: false,
        },
        Case {
            vendor: "adyen",
            key: ak::LIVE_CHECKOUT,
            variant: None,
            planted: adyen_emu::PLANTED_PII,
            sample: "/live/v3/me",
            bulk: false,
        },
        Case {
            vendor: "iterable",
            key: ik::SERVER_US,
            variant: Some(("ignores_filters", "true")),
            planted: iterable_emu::PLANTED_PII,
            sample: "/api/export/data.json?dataTypeName=user&range=All",
            bulk: true,
        },
        Case {
            vendor: "iterable",
            key: ik::JS_NO_JWT_US,
            variant: Some(("ignores_filters", "true")),
            planted: iterable_emu::PLANTED_PII,
            sample: "/api/inApp/web/getMessages?email=x%40invalid.example&count=1",
            bulk: false,
        },
    ]
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bin(args: &[&str], key: &str) -> Out {
    let o = assert_cmd::Command::cargo_bin("vendorscope")
        .expect("bin")
        .env(KEY_ENV, key)
        .env("VENDORSCOPE_FINGERPRINT_KEY", "pii-test")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn inventory(c: &Case, emu: &RunningEmulator) -> String {
    let shop = if c.vendor == "shopify" {
        format!("        shop_domain: {SHOP}\n")
    } else {
        String::new()
    };
    format!(
        "version: 1
organization: Planted PII test
vendors:
  - id: planted
    name: Planted
    connector: {vendor}
    category: other
    tier: 3
    keys:
      - id: k1
        type: server_side
        secret: {{ env: {KEY_ENV} }}
        endpoint: \"{url}\"
{shop}",
        vendor = c.vendor,
        url = emu.base_url
    )
}

/// Every text the probe and the audit wrote, named.
fn run_everything(c: &Case, emu: &RunningEmulator, dir: &Path) -> Vec<(String, String)> {
    let mut texts = vec![];
    let record = dir.join("record");
    let mut args = vec![
        "probe",
        "--vendor",
        c.vendor,
        "--key-env",
        KEY_ENV,
        "--endpoint",
        &emu.base_url,
        "--format",
        "json",
        "-vv",
    ];
    let record_s = record.display().to_string();
    args.extend(["--record", &record_s]);
    if c.vendor == "shopify" {
        args.extend(["--shop", SHOP]);
    }
    if c.bulk {
        args.push("--probe-bulk-endpoints");
    }
    let o = bin(&args, c.key);
    assert!(
        o.stdout.contains("\"status\": \"active\""),
        "{} probe: exit {}\n{}\n{}",
        c.vendor,
        o.code,
        o.stdout,
        o.stderr
    );
    texts.push(("probe stdout".into(), o.stdout));
    texts.push(("probe stderr".into(), o.stderr));
    let transcripts: Vec<_> = std::fs::read_dir(&record)
        .expect("record dir")
        .filter_map(Result::ok)
        .collect();
    assert!(!transcripts.is_empty(), "{}: no transcript", c.vendor);
    for t in transcripts {
        let text = std::fs::read_to_string(t.path()).expect("transcript");
        texts.push((format!("transcript {}", t.path().display()), text));
    }

    let probed = emu.state.requests().len();
    let inv = dir.join("inventory.yaml");
    std::fs::write(&inv, inventory(c, emu)).expect("inventory");
    let inv = inv.display().to_string();
    let allow = emu.addr.to_string();
    let specs: Vec<String> = FORMATS
        .iter()
        .map(|f| format!("{f}={}", dir.join(format!("report.{f}")).display()))
        .collect();
    let mut args = vec![
        "audit",
        "-i",
        &inv,
        "--allow-endpoint",
        &allow,
        "--format",
        "table",
        "-vv",
    ];
    if c.bulk {
        args.push("--probe-bulk-endpoints");
    }
    for s in &specs {
        args.extend(["--output", s.as_str()]);
    }
    let o = bin(&args, c.key);
    assert!(
        emu.state.requests().len() > probed,
        "{}: the audit probed nothing: exit {}\n{}",
        c.vendor,
        o.code,
        o.stderr
    );
    texts.push(("audit stdout".into(), o.stdout));
    texts.push(("audit stderr".into(), o.stderr.clone()));
    for f in FORMATS {
        let p = dir.join(format!("report.{f}"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| {
            panic!(
                "{} audit: {f} report missing ({e}):\n{}",
                c.vendor, o.stderr
            )
        });
        texts.push((format!("report.{f}"), text));
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_personal_data_never_reaches_any_output() {
    vendorscope::http::init_tls();
    let http = reqwest::Client::new();
    for c in cases() {
        let emu = start_vendor(
            c.vendor,
            &builtin_config(),
            "127.0.0.1:0".parse().expect("a"),
        )
        .await
        .expect("emulator");
        if let Some((flag, value)) = c.variant {
            emu.state.set_variant(flag, value);
        }
        // The vendor does send the planted data on this call (so the test can fail).
        let auth = match c.vendor {
            "shopify" => "x-shopify-access-token",
            "adyen" => "x-api-key",
            _ => "api-key",
        };
        let sample = http
            .get(format!("{}{}", emu.base_url, c.sample))
            .header(
                "host",
                if c.vendor == "shopify" {
                    SHOP
                } else {
                    "127.0.0.1"
                },
            )
            .header(auth, c.key)
            .send()
            .await
            .expect("sample")
            .text()
            .await
            .expect("body");
        assert!(
            c.planted.iter().all(|p| sample.contains(p)),
            "{}: the emulator sent no planted data: {sample}",
            c.vendor
        );
        emu.state.clear_requests();

        let dir = tempfile::tempdir().expect("tempdir");
        // The binary runs synchronously; the emulator keeps serving on the other worker.
        let texts = tokio::task::block_in_place(|| run_everything(&c, &emu, dir.path()));
        assert!(
            !emu.state.requests().is_empty(),
            "{}: nothing was probed",
            c.vendor
        );
        assert_eq!(emu.state.writes(), 0);
        for (name, text) in &texts {
            for p in c.planted {
                assert!(
                    !text.contains(p),
                    "{} ({}): planted `{p}` in {name}:\n{text}",
                    c.vendor,
                    c.key.get(..12).unwrap_or(c.key)
                );
            }
        }
    }
}
