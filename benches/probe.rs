//! Probe throughput: 400 keys (several per shop and account) against the Shopify and Stripe
//! emulators with 50 ms latency and documented limits; wall time vs the rate lower bound.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use url::Url;
use vendorscope::emulator::{EmulatorConfig, EmulatorKey, KeyState, start_vendor};
use vendorscope::http::Client;
use vendorscope::run::KeyStatus;
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::{self, ProbeSettings};

const SHOPS: usize = 20;
const KEYS_PER_SHOP: usize = 10;
const ACCOUNTS: usize = 10;
const KEYS_PER_ACCOUNT: usize = 20;

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
            let raw = format!("sk_test_51Bench{:040}", a * 1000 + k);
            stripe.state.put_key(ek(&raw, "stripe", &acct, &[]));
            let mut key = vendors::cli_key(SecretRef::Env("X".into()), None);
            key.id = format!("stripe-{a}-{k}");
            key.expected_account = Some(acct.clone());
            jobs.push(("stripe", raw, key));
        }
    }
    let settings_for = |url: &str| ProbeSettings {
        endpoint: Some(Url::parse(url).expect("url")),
        ..Default::default()
    };
    let shop_settings = settings_for(&shopify.base_url);
    let stripe_settings = settings_for(&stripe.base_url);
    let mut ccfg = shop_settings.client_config();
    ccfg.allowed
        .push_url(&Url::parse(&stripe.base_url).expect("url"));
    let share = ccfg.rate_share;
    let client = Client::new(ccfg).expect("client");

    let start = Instant::now();
    let results: Vec<KeyStatus> = futures::stream::iter(jobs.iter())
        .map(|(vendor, raw, key)| {
            let settings = if *vendor == "shopify" {
                &shop_settings
            } else {
                &stripe_settings
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

    // Lower bound: max over buckets of requests ÷ budgeted rate.
    let shop_bound = (KEYS_PER_SHOP * 2) as f64 / (2.0 * share);
    let stripe_bound = KEYS_PER_ACCOUNT as f64 / (25.0 * share);
    let bound = Duration::from_secs_f64(shop_bound.max(stripe_bound));
    let active = results.iter().filter(|s| **s == KeyStatus::Active).count();
    let rate_limited = results
        .iter()
        .filter(|s| matches!(s, KeyStatus::Inconclusive(r) if r == "rate_limited"))
        .count();
    let stats = client.stats();
    println!(
        "keys probed:            {} (shopify {}, stripe {}; adyen/iterable not included)",
        results.len(),
        SHOPS * KEYS_PER_SHOP,
        ACCOUNTS * KEYS_PER_ACCOUNT
    );
    println!("active verdicts:        {active}");
    println!("requests sent:          {}", stats.attempts);
    println!("429 responses:          {}", stats.responses_429);
    println!("verdicts from a 429:    {rate_limited}");
    println!("wall time:              {:.2} s", wall.as_secs_f64());
    println!(
        "lower bound:            {:.2} s (shopify {:.2} s/shop, stripe {:.2} s/account)",
        bound.as_secs_f64(),
        shop_bound,
        stripe_bound
    );
    println!(
        "ratio:                  {:.3} (goal <= 1.2)",
        wall.as_secs_f64() / bound.as_secs_f64()
    );
}

fn ek(raw: &str, vendor: &str, account: &str, grants: &[&str]) -> EmulatorKey {
    EmulatorKey {
        key: raw.into(),
        vendor: vendor.into(),
        grants: grants.iter().map(|g| g.to_string()).collect(),
        account: Some(account.into()),
        state: KeyState::Active,
        key_type: None,
        variants: Default::default(),
        extra: Default::default(),
    }
}
