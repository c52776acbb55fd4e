//! Probe throughput: 400 keys (several per shop, account and project; some Stripe keys
//! restricted, so every Stripe read probe runs) against the Shopify, Stripe, Adyen and
//! Iterable emulators with 50 ms latency and the documented limits; wall
//! time against the rate lower bound (max over rate buckets of requests ÷ budgeted rate,
//! computed from the ledger), and proof that no verdict came from a 429.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use url::Url;
use vendorscope::emulator::{EmulatorConfig, EmulatorKey};
use vendorscope::emulators::start_vendor;
use vendorscope::http::Client;
use vendorscope::run::KeyStatus;
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::{self, ProbeSettings};

const SHOPS: usize = 15;
const KEYS_PER_SHOP: usize = 10;
const ACCOUNTS: usize = 8;
const KEYS_PER_ACCOUNT: usize = 20;
/// Of each account's keys, this many are restricted (`rk_`): probed endpoint by endpoint.
const RESTRICTED_PER_ACCOUNT: usize = 6;
const ADYEN_KEYS: usize = 45;
const PROJECTS: usize = 9;
const KEYS_PER_PROJECT: usize = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let cfg = EmulatorConfig {
        latency_ms: Some(50),
        include_builtin_keys: Some(false),
        ..Default::default()
    };
    let addr = "127.0.0.1:0".parse().expect("addr");
    let shopify = start_vendor("shopify", &cfg, addr).await.expect("shopify");
    let stripe = start_vendor("stripe", &cfg, addr).await.expect("stripe");
    let adyen = start_vendor("adyen", &cfg, addr).await.expect("adyen");
    let iterable = start_vendor("iterable", &cfg, addr)
        .await
        .expect("iterable");
    let mut jobs: Vec<(&str, String, vendorscope::inventory::model::Key)> = Vec::new();
    for s in 0..SHOPS {
        let shop = format!("bench{s}.myshopify.com");
        for k in 0..KEYS_PER_SHOP {
            let raw = format!("shpat_{:032x}", s * 1000 + k);
            shopify
                .state
                .put_key(ek(&raw, "shopify", &shop, &["read_products"]));
            let mut key = vendors::cli_key(SecretRef::Env("X".into()), Some(shop.clone()));
            key.id = format!("shop-{s}-{k}");
            jobs.push(("shopify", raw, key));
        }
    }
    for a in 0..ACCOUNTS {
        let acct = format!("acct_bench{a:08}");
        for k in 0..KEYS_PER_ACCOUNT {
            let (raw, grants): (String, &[&str]) = if k < RESTRICTED_PER_ACCOUNT {
                let grants: &[&str] = if k % 2 == 0 {
                    &["rak_charge_read", "rak_customer_read", "rak_event_read"]
                } else {
                    &["rak_product_read", "rak_plan_read"]
                };
                (format!("rk_test_51Bench{:040}", a * 1000 + k), grants)
            } else {
                (format!("sk_test_51Bench{:040}", a * 1000 + k), &[])
            };
            stripe.state.put_key(ek(&raw, "stripe", &acct, grants));
            let mut key = vendors::cli_key(SecretRef::Env("X".into()), None);
            key.id = format!("stripe-{a}-{k}");
            key.expected_account = Some(acct.clone());
            jobs.push(("stripe", raw, key));
        }
    }
    for n in 0..ADYEN_KEYS {
        let raw = format!("AQEbench{n:032}Bw==-{:044}=-vsBench:{n:06}", n * 7 + 1);
        let mut k = ek(
            &raw,
            "adyen",
            "BenchCompany",
            &[
                "Management API\u{2014}Account read",
                "Checkout webservice role",
            ],
        );
        k.key_type = Some("api_key".into());
        adyen.state.put_key(k);
        let mut key = vendors::cli_key(SecretRef::Env("X".into()), None);
        key.id = format!("adyen-{n}");
        jobs.push(("adyen", raw, key));
    }
    for p in 0..PROJECTS {
        let project = format!("bench-project-{p}");
        for k in 0..KEYS_PER_PROJECT {
            let raw = format!("{:032x}", 0xbe4c_0000_u64 + (p * 100 + k) as u64 * 7919);
            let mut e = ek(&raw, "iterable", &project, &["server_side"]);
            e.key_type = Some("server_side".into());
            iterable.state.put_key(e);
            let mut key = vendors::cli_key(SecretRef::Env("X".into()), None);
            key.id = format!("iterable-{p}-{k}");
            key.expected_account = Some(format!("{project}/us"));
            jobs.push(("iterable", raw, key));
        }
    }
    let settings_for = |url: &str| ProbeSettings {
        endpoint: Some(Url::parse(url).expect("url")),
        ..Default::default()
    };
    let shop_settings = settings_for(&shopify.base_url);
    let stripe_settings = settings_for(&stripe.base_url);
    let adyen_settings = settings_for(&adyen.base_url);
    let iterable_settings = settings_for(&iterable.base_url);
    let mut ccfg = shop_settings.client_config();
    for u in [&stripe.base_url, &adyen.base_url, &iterable.base_url] {
        ccfg.allowed.push_url(&Url::parse(u).expect("url"));
    }
    let share = ccfg.rate_share;
    let client = Client::new(ccfg).expect("client");

    let start = Instant::now();
    let results: Vec<KeyStatus> = futures::stream::iter(jobs.iter())
        .map(|(vendor, raw, key)| {
            let settings = match *vendor {
                "shopify" => &shop_settings,
                "stripe" => &stripe_settings,
                "adyen" => &adyen_settings,
                _ => &iterable_settings,
            };
            let client = &client;
            async move {
                vendors::probe_key(vendor, &Secret::new(raw.as_str()), key, settings, client)
                    .await
                    .status
            }
        })
        .buffer_unordered(jobs.len())
        .collect()
        .await;
    let wall = start.elapsed();

    // Lower bound: max over rate buckets of requests ÷ budgeted rate, from the ledger.
    let mut buckets: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for l in client.ledger() {
        let key = l.key_id.clone().unwrap_or_default();
        let group = key.rsplit_once('-').map(|x| x.0).unwrap_or("").to_string();
        let mut add = |bucket: String, rate: f64| {
            buckets.entry(bucket).or_insert((0, rate)).0 += 1;
        };
        match l.vendor.as_str() {
            // Shopify: 2 req/s leak per shop.
            "shopify" => add(format!("shopify:{group}"), 2.0),
            // Stripe test mode: 25 req/s per account, and 25 req/s per endpoint per account.
            "stripe" => {
                add(format!("stripe:{group}"), 25.0);
                add(format!("stripe:{group}:{}", l.path), 25.0);
            }
            // Adyen: one assumed 10 req/s bucket per host.
            "adyen" => add(format!("adyen:{}", l.host), 10.0),
            // Iterable: per project and endpoint family (getFields 3 req/s, other GETs 100).
            _ => {
                let fam = if l.path.contains("getFields") {
                    ("getFields", 3.0)
                } else {
                    ("get", 100.0)
                };
                add(format!("iterable:{group}:{}", fam.0), fam.1);
            }
        }
    }
    let (worst, (n, rate)) = buckets
        .iter()
        .max_by(|a, b| {
            let ta = a.1.0 as f64 / (a.1.1 * share);
            let tb = b.1.0 as f64 / (b.1.1 * share);
            ta.total_cmp(&tb)
        })
        .map(|(k, v)| (k.clone(), *v))
        .expect("buckets");
    let bound = Duration::from_secs_f64(n as f64 / (rate * share));
    let active = results.iter().filter(|s| **s == KeyStatus::Active).count();
    let rate_limited = results
        .iter()
        .filter(|s| matches!(s, KeyStatus::Inconclusive(r) if r == "rate_limited"))
        .count();
    let stats = client.stats();
    let per_vendor = |v: &str| jobs.iter().filter(|j| j.0 == v).count();
    println!(
        "keys probed:            {} (shopify {}, stripe {}, adyen {}, iterable {})",
        results.len(),
        per_vendor("shopify"),
        per_vendor("stripe"),
        per_vendor("adyen"),
        per_vendor("iterable")
    );
    println!("active verdicts:        {active}");
    let stripe_calls = client
        .ledger()
        .iter()
        .filter(|l| l.vendor == "stripe")
        .count();
    println!(
        "stripe calls:           {stripe_calls} ({} restricted keys probed endpoint by endpoint)",
        ACCOUNTS * RESTRICTED_PER_ACCOUNT
    );
    println!("requests sent:          {}", stats.attempts);
    println!("429 responses:          {}", stats.responses_429);
    println!("verdicts from a 429:    {rate_limited}");
    println!("wall time:              {:.2} s", wall.as_secs_f64());
    println!(
        "lower bound:            {:.2} s (bucket {worst}: {n} requests at {:.1} req/s budgeted)",
        bound.as_secs_f64(),
        rate * share
    );
    println!(
        "ratio:                  {:.3} (goal <= 1.2)",
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    for (name, st) in [
        ("shopify", &shopify.state),
        ("stripe", &stripe.state),
        ("adyen", &adyen.state),
        ("iterable", &iterable.state),
    ] {
        assert_eq!(st.writes(), 0, "{name} saw a write");
    }
}

fn ek(raw: &str, vendor: &str, account: &str, grants: &[&str]) -> EmulatorKey {
    EmulatorKey::new(raw, vendor, grants, account)
}
