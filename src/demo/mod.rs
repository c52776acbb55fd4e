//! `vendorscope demo`: the 2020 scenario end to end on loopback. Starts every vendor emulator
//! and the demo storefront (page origin + CDN origin), generates fresh synthetic keys, writes
//! the demo inventory (secrets as 0600 files) and hands back what an audit of it needs.

use std::io::Write;
use std::path::{Path, PathBuf};

use url::Url;

use crate::audit::AuditOptions;
use crate::crawl::demo_site::{DemoConfig, DemoHandle, DemoSite};
use crate::emulator::{EmulatorConfig, EmulatorKey, RunningEmulator};
use crate::http::AllowedEndpoints;

/// The inventory template: `{{days_ago:N}}`, `{{days_ahead:N}}`, `{{endpoint:VENDOR}}`,
/// `{{surface}}`.
pub const INVENTORY_TEMPLATE: &str = include_str!("inventory.yaml");

/// The account names the demo keys belong to (the inventory expects the same).
const SHOP_DOMAIN: &str = "example-shop.myshopify.com";
const STRIPE_ACCOUNT: &str = "acct_1ExampleShop01";
const ADYEN_COMPANY: &str = "ExampleShopECOM";
const ITERABLE_PROJECT: &str = "example-shop";
/// The 2020 scenario's data flow nobody declared: the shop platform sends order events to a
/// host the inventory does not know (its path and query carry the receiver's token).
pub const UNDECLARED_WEBHOOK: &str =
    "https://orders-export.unknown-broker.example/in/7f3a9c?key=ex9Tq2Lw";

/// The running scenario. Dropping it stops the servers.
pub struct Scenario {
    /// Where the inventory and its secrets were written.
    pub dir: PathBuf,
    pub inventory: PathBuf,
    /// `HOST:PORT` of every emulator (for `--allow-endpoint`).
    pub allow_endpoints: Vec<String>,
    /// The emulator config that restarts the same emulators, keys and storefront on the same
    /// ports (`vendorscope emulate --config`).
    pub emulate_config: PathBuf,
    pub page_url: Url,
    pub cdn_url: Url,
    pub site: DemoHandle,
    pub emulators: Vec<RunningEmulator>,
    // Last: the servers run on it.
    rt: tokio::runtime::Runtime,
}

/// The demo's keys: fresh per run, format-valid, obviously synthetic.
#[derive(Clone)]
pub struct Keys {
    iterable: String,
    shopify: String,
    stripe: String,
    adyen: String,
    /// The Adyen audit credential (`role: audit`): lists the company's credentials and users.
    adyen_audit: String,
    /// An active Adyen credential of the company that the inventory does not declare.
    adyen_undeclared: String,
    /// The Shopify audit token (`read_users`, `read_script_tags`).
    shopify_audit: String,
}

fn random_alnum(n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = vec![0u8; n];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b.iter().map(|x| A[*x as usize % A.len()] as char).collect()
}

fn adyen_key() -> String {
    format!(
        "AQE{}Bw==-{}=-vsDemo:{}",
        random_alnum(36),
        random_alnum(44),
        random_alnum(6)
    )
}

/// The Adyen audit roles (the least-privilege table's).
const ADYEN_AUDIT_ROLES: &[&str] = &[
    crate::vendors::adyen::credentials::ROLE_CREDENTIALS,
    crate::vendors::adyen::credentials::ROLE_USERS,
];

impl Keys {
    pub fn generate() -> Self {
        Keys {
            iterable: DemoConfig::random_iterable_key(),
            shopify: format!("shpat_{}", &hex::encode(random_alnum(16).as_bytes())[..32]),
            stripe: format!("sk_live_51Demo{}", random_alnum(60)),
            adyen: adyen_key(),
            adyen_audit: adyen_key(),
            adyen_undeclared: adyen_key(),
            shopify_audit: format!("shpat_{}", &hex::encode(random_alnum(16).as_bytes())[..32]),
        }
    }

    fn emulator_config(&self) -> EmulatorConfig {
        let mut keys = self.demo_keys();
        keys.extend(crate::emulators::builtin_config().keys);
        EmulatorConfig {
            keys,
            ..Default::default()
        }
    }

    /// The four keys of the scenario, as the emulators know them.
    fn demo_keys(&self) -> Vec<EmulatorKey> {
        let key = |raw: &str, vendor: &str, grants: &[&str], account: &str, kt: Option<&str>| {
            let k = EmulatorKey::new(raw, vendor, grants, account);
            match kt {
                Some(t) => k.with_type(t),
                None => k,
            }
        };
        let mut keys = vec![
            key(
                &self.iterable,
                "iterable",
                &["server_side"],
                ITERABLE_PROJECT,
                Some("server_side"),
            ),
            key(
                &self.shopify,
                "shopify",
                &[
                    "read_orders",
                    "read_customers",
                    "read_products",
                    "write_fulfillments",
                    "write_themes",
                    "write_script_tags",
                ],
                SHOP_DOMAIN,
                None,
            ),
            {
                let mut k = key(&self.stripe, "stripe", &[], STRIPE_ACCOUNT, None);
                k.extra.insert(
                    "webhooks".into(),
                    vec![crate::vendors::webhooks::DEFAULT_WEBHOOK.into()],
                );
                k
            },
            key(
                &self.adyen,
                "adyen",
                &[
                    "Management API\u{2014}Account read",
                    "Management API\u{2014}Webhooks read",
                    "Checkout webservice role",
                    "Merchant Report Download role",
                ],
                ADYEN_COMPANY,
                Some("api_key"),
            ),
        ];
        if let Some(k) = keys.iter_mut().find(|k| k.vendor == "shopify") {
            k.extra.insert(
                "webhooks".into(),
                vec![
                    crate::vendors::webhooks::DEFAULT_WEBHOOK.into(),
                    UNDECLARED_WEBHOOK.into(),
                ],
            );
        }
        let extra = |mut k: EmulatorKey, extra: &[(&str, &str)]| {
            for (name, value) in extra {
                k.extra.insert(name.to_string(), vec![value.to_string()]);
            }
            k
        };
        keys.push(extra(
            key(
                &self.adyen_audit,
                "adyen",
                ADYEN_AUDIT_ROLES,
                ADYEN_COMPANY,
                Some("api_key"),
            ),
            &[("allowed_ips", "203.0.113.50")],
        ));
        // 2020: a credential someone created at the PSP and nobody declared.
        keys.push(extra(
            key(
                &self.adyen_undeclared,
                "adyen",
                &["Checkout webservice role", "Merchant Recurring role"],
                ADYEN_COMPANY,
                Some("api_key"),
            ),
            &[
                ("allowed_ips", "198.51.100.77"),
                ("username", "ws_legacy_export@Company.ExampleShopECOM"),
            ],
        ));
        keys.push(extra(
            key(
                &self.shopify_audit,
                "shopify",
                &["read_users", "read_script_tags"],
                SHOP_DOMAIN,
                None,
            ),
            &[(
                "script_tags",
                "https://cdn.shopify.com/s/files/1/0001/order-status.js?shop=example-shop",
            )],
        ));
        keys
    }
}

/// Fills the template's markers.
pub fn render_inventory(
    template: &str,
    today: jiff::civil::Date,
    endpoints: &[(String, String)],
    surface: &Url,
    cdn: &Url,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .ok_or_else(|| "unterminated {{ in the demo inventory".to_string())?;
        let marker = &after[..j];
        let value = match marker.split_once(':') {
            Some(("days_ago", n)) | Some(("days_ahead", n)) => {
                let n: i64 = n
                    .parse()
                    .map_err(|_| format!("bad marker {{{{{marker}}}}}"))?;
                let sign = if marker.starts_with("days_ago") {
                    -1
                } else {
                    1
                };
                today
                    .checked_add(jiff::Span::new().days(sign * n))
                    .map_err(|e| e.to_string())?
                    .to_string()
            }
            Some(("endpoint", v)) => endpoints
                .iter()
                .find(|(name, _)| name == v)
                .map(|(_, u)| u.clone())
                .ok_or_else(|| format!("no emulator for {v}"))?,
            None if marker == "surface" => surface.to_string(),
            // The shop's own CDN (host:port), allowed to serve scripts.
            None if marker == "cdn" => format!(
                "{}:{}",
                cdn.host_str().unwrap_or_default(),
                cdn.port_or_known_default().unwrap_or_default()
            ),
            _ => return Err(format!("unknown marker {{{{{marker}}}}}")),
        };
        out.push_str(&value);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Writes `text` to `path` with mode 0600 (secrets).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(text.as_bytes())
}

/// The emulator config of a running scenario: its keys, every emulator's and the storefront's
/// address, and the key the storefront ships.
fn restart_config(
    keys: &Keys,
    emulators: &[RunningEmulator],
    page: &Url,
    cdn: &Url,
) -> EmulatorConfig {
    let mut listen: std::collections::BTreeMap<String, std::net::SocketAddr> = emulators
        .iter()
        .map(|e| (e.vendor.to_string(), e.addr))
        .collect();
    for (name, url) in [("site", page), ("cdn", cdn)] {
        if let Some(addr) = url
            .socket_addrs(|| None)
            .ok()
            .and_then(|a| a.first().copied())
        {
            listen.insert(name.to_string(), addr);
        }
    }
    EmulatorConfig {
        keys: keys.demo_keys(),
        listen,
        planted_key: Some(keys.iterable.clone()),
        ..Default::default()
    }
}

impl Scenario {
    /// The commands that audit the demo inventory again against the same emulators (started
    /// from [`Scenario::emulate_config`]), one per line.
    pub fn next_commands(&self) -> (String, String) {
        let emulate = format!(
            "vendorscope emulate --config {}",
            self.emulate_config.display()
        );
        let mut audit = format!("vendorscope audit -i {}", self.inventory.display());
        for a in &self.allow_endpoints {
            audit.push_str(&format!(" --allow-endpoint {a}"));
        }
        audit.push_str(" --allow-private-addresses");
        (emulate, audit)
    }

    /// Starts the servers and writes the inventory into `dir` (created if missing).
    /// `build_seed` changes every chunk hash of the demo site (same content).
    pub fn start(dir: &Path, build_seed: &str) -> std::io::Result<Scenario> {
        Self::start_with(dir, build_seed, &Keys::generate())
    }

    /// [`Scenario::start`] with given keys (two builds of the same site, same keys).
    pub fn start_with(dir: &Path, build_seed: &str, keys: &Keys) -> std::io::Result<Scenario> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let cfg = keys.emulator_config();
        let emulators = rt.block_on(crate::emulators::start_all(
            &cfg,
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
        ))?;
        let (page_url, cdn_url, site) = rt.block_on(DemoSite::start(DemoConfig {
            iterable_key: keys.iterable.clone(),
            build_seed: build_seed.to_string(),
        }))?;
        std::fs::create_dir_all(dir.join("secrets"))?;
        // Synthetic secrets, reports and configs: `git add .` above never picks them up.
        std::fs::write(
            dir.join(".gitignore"),
            "# Written by `vendorscope demo`: synthetic secrets and reports, never committed.\n*\n",
        )?;
        for (name, value) in [
            ("iterable-web", &keys.iterable),
            ("shopify-admin", &keys.shopify),
            ("stripe-secret", &keys.stripe),
            ("adyen-api", &keys.adyen),
            ("adyen-audit", &keys.adyen_audit),
            ("shopify-audit", &keys.shopify_audit),
        ] {
            write_private(&dir.join("secrets").join(format!("{name}.key")), value)?;
        }
        let endpoints: Vec<(String, String)> = emulators
            .iter()
            .map(|e| (e.vendor.to_string(), e.base_url.clone()))
            .collect();
        let today = jiff::Zoned::now().date();
        let text = render_inventory(INVENTORY_TEMPLATE, today, &endpoints, &page_url, &cdn_url)
            .map_err(std::io::Error::other)?;
        let inventory = dir.join("inventory.yaml");
        write_private(&inventory, &text)?;
        let emulate_config = dir.join("emulate.json");
        let restart = restart_config(keys, &emulators, &page_url, &cdn_url);
        let restart = serde_json::to_string_pretty(&restart).map_err(std::io::Error::other)?;
        write_private(&emulate_config, &format!("{restart}\n"))?;
        Ok(Scenario {
            dir: dir.to_path_buf(),
            inventory,
            emulate_config,
            allow_endpoints: emulators.iter().map(|e| e.addr.to_string()).collect(),
            page_url,
            cdn_url,
            site,
            emulators,
            rt,
        })
    }

    /// The audit of the scenario: the emulators allowed as endpoints, the loopback site
    /// crawlable, no progress bars.
    pub fn audit_options(&self) -> Result<AuditOptions, String> {
        let mut o = AuditOptions::new(&self.inventory);
        o.allowed = AllowedEndpoints::parse(&self.allow_endpoints)?;
        o.allow_loopback = true;
        o.command = "demo".into();
        o.crawl.progress = false;
        o.crawl.connect_timeout = std::time::Duration::from_secs(5);
        o.crawl.request_timeout = std::time::Duration::from_secs(20);
        Ok(o)
    }

    /// The runtime the servers run on (tests add faults through emulator state).
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_markers_are_filled() {
        let today: jiff::civil::Date = "2026-11-28".parse().expect("date");
        let eps: Vec<(String, String)> = ["iterable", "shopify", "stripe", "adyen"]
            .iter()
            .map(|v| (v.to_string(), format!("http://127.0.0.1:1/{v}")))
            .collect();
        let url = Url::parse("http://127.0.0.1:2/").expect("url");
        let text = render_inventory(INVENTORY_TEMPLATE, today, &eps, &url, &url).expect("renders");
        assert!(!text.contains("{{"), "{text}");
        assert!(text.contains("date: 2024-11-28"), "730 days ago");
        assert!(text.contains("http://127.0.0.1:1/stripe"));
        let inv: crate::inventory::model::Inventory =
            crate::yaml::from_str(&text).expect("valid inventory");
        assert_eq!(inv.vendors.len(), 4);
        assert!(render_inventory("{{nope}}", today, &eps, &url, &url).is_err());
        assert!(render_inventory("{{days_ago:x}}", today, &eps, &url, &url).is_err());
    }

    #[test]
    fn generated_keys_have_their_vendor_shapes() {
        let k = Keys::generate();
        for (vendor, raw) in [
            ("iterable", &k.iterable),
            ("shopify", &k.shopify),
            ("stripe", &k.stripe),
            ("adyen", &k.adyen),
            ("adyen", &k.adyen_audit),
            ("adyen", &k.adyen_undeclared),
            ("shopify", &k.shopify_audit),
        ] {
            let c = crate::vendors::connector(vendor).expect("connector");
            let class = c
                .classify(&crate::secret::Secret::new(raw.as_str()))
                .unwrap_or_else(|| panic!("{vendor} key shape not recognised"));
            assert!(class.not_probed.is_none(), "{vendor}");
        }
    }
}
