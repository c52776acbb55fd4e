//! Connectors: the Connector trait, the registry, the capability vocabulary, and `probe_key` (classify → guard → probe → `KeyProfile`).
//!
//! Adding a vendor is one folder (`mod.rs` with classify + probe, `emulator.rs`) plus one line
//! in [`registry`].

pub mod adyen;
pub mod iterable;
pub mod least_privilege;
pub mod shopify;
pub mod stripe;
pub mod webhooks;

use std::sync::Arc;

use futures::future::BoxFuture;
use url::Url;

use crate::emulator::EmulatorSpec;
use crate::http::{AllowedEndpoints, CallIdentity, Client, ClientConfig, HttpError};
use crate::inventory::model::{Environment, Key, KeyType};
use crate::run::{CallSummary, KeyProfile, KeyStatus};
use crate::secret::{Fingerprinter, Secret};

/// The one capability vocabulary for every vendor: what a key can do, in the words the
/// inventory's `allowed_capabilities` and the policies use.
pub mod capability {
    /// Read customer records (names, e-mails, addresses, phones) one page at a time.
    pub const CUSTOMERS_READ: &str = "customers.read";
    /// Pull customer records in bulk (list/export endpoints without a per-record lookup).
    pub const CUSTOMERS_EXPORT: &str = "customers.export";
    /// Create or modify customer records.
    pub const CUSTOMERS_WRITE: &str = "customers.write";
    /// Read orders inside the vendor's default window (carry shipping addresses).
    pub const ORDERS_READ: &str = "orders.read";
    /// Read every order regardless of age (Shopify `read_all_orders`).
    pub const ORDERS_READ_ALL: &str = "orders.read_all";
    /// Create or modify orders.
    pub const ORDERS_WRITE: &str = "orders.write";
    /// Read payments, charges, payment methods and their billing details.
    pub const PAYMENTS_READ: &str = "payments.read";
    /// Create, capture or cancel payments.
    pub const PAYMENTS_WRITE: &str = "payments.write";
    /// Issue refunds (money leaves the merchant).
    pub const REFUNDS_WRITE: &str = "refunds.write";
    /// Read balances, payouts and transfers.
    pub const PAYOUTS_READ: &str = "payouts.read";
    /// Create payouts or transfers.
    pub const PAYOUTS_WRITE: &str = "payouts.write";
    /// Read disputes (carry evidence with customer data).
    pub const DISPUTES_READ: &str = "disputes.read";
    /// Run or download reports: bulk exports of transactions or orders.
    pub const REPORTS_DOWNLOAD: &str = "reports.download";
    /// Create, rotate or delete API credentials and users.
    pub const CREDENTIALS_MANAGE: &str = "credentials.manage";
    /// Read webhook endpoint configuration.
    pub const WEBHOOKS_READ: &str = "webhooks.read";
    /// Create or change webhook endpoints (redirects event data elsewhere).
    pub const WEBHOOKS_MANAGE: &str = "webhooks.manage";
    /// Inject code into the storefront (script tags, themes, pixels): skimming risk.
    pub const STOREFRONT_CODE_INJECT: &str = "storefront.code_inject";
    /// Send tracking events (Iterable client keys).
    pub const EVENTS_WRITE: &str = "events.write";
    /// Read the event stream (Stripe events embed full object snapshots).
    pub const EVENTS_READ: &str = "events.read";
    /// Update the calling user's own profile (Iterable client keys).
    pub const USERS_WRITE_SELF: &str = "users.write_self";
    /// Read user or staff profiles.
    pub const USERS_READ: &str = "users.read";
    /// Read products, prices and coupons.
    pub const CATALOG_READ: &str = "catalog.read";
    /// Change products, prices and coupons.
    pub const CATALOG_WRITE: &str = "catalog.write";
    /// Read billing objects: invoices, subscriptions, quotes, credit notes.
    pub const BILLING_READ: &str = "billing.read";
    /// Read uploaded files (dispute evidence, identity documents).
    pub const FILES_READ: &str = "files.read";
    /// Read identity verification sessions and documents.
    pub const IDENTITY_READ: &str = "identity.read";
    /// Read account, company or merchant settings.
    pub const ACCOUNT_READ: &str = "account.read";
    /// Unrestricted: every API operation (Stripe `sk_`, admin roles).
    pub const ADMIN_FULL: &str = "admin.full";
    /// Delete customer data (Adyen Data Protection API): destructive.
    pub const CUSTOMERS_DELETE: &str = "customers.delete";
    /// Handle raw card data (Adyen API PCI Payments role).
    pub const PAYMENTS_CARD_DATA: &str = "payments.card_data";
    /// Read report notifications and listings (Adyen RSS feed role).
    pub const REPORTS_READ: &str = "reports.read";
    /// Change account, store, terminal or payment-method settings.
    pub const ACCOUNT_WRITE: &str = "account.write";
    /// Update any user's profile without proving who they are (Iterable client key without JWT).
    pub const USERS_WRITE_ANY: &str = "users.write_any";
    /// Read messages addressed to users (Iterable in-app messages).
    pub const MESSAGES_READ: &str = "messages.read";
    /// Send messages or trigger campaigns to users.
    pub const MESSAGES_SEND: &str = "messages.send";
    /// Read connected accounts (Stripe Connect): their owners' names, addresses, identity and
    /// bank details, gathered for know-your-customer checks.
    pub const CONNECTED_ACCOUNTS_READ: &str = "connected_accounts.read";
    /// Read issued cards, cardholders (names, addresses, phones), their authorizations and
    /// card transactions (Stripe Issuing).
    pub const ISSUING_READ: &str = "issuing.read";
    /// Read linked or hosted bank accounts: owners, balances, account details (Stripe
    /// Financial Connections, Treasury).
    pub const BANK_ACCOUNTS_READ: &str = "bank_accounts.read";

    /// Every capability with its one-line meaning (for `policy explain` and docs).
    pub const VOCABULARY: &[(&str, &str)] = &[
        (CUSTOMERS_READ, "read customer records one page at a time"),
        (CUSTOMERS_EXPORT, "pull customer records in bulk"),
        (CUSTOMERS_WRITE, "create or modify customer records"),
        (ORDERS_READ, "read orders in the default window"),
        (ORDERS_READ_ALL, "read every order regardless of age"),
        (ORDERS_WRITE, "create or modify orders"),
        (PAYMENTS_READ, "read payments and billing details"),
        (PAYMENTS_WRITE, "create, capture or cancel payments"),
        (REFUNDS_WRITE, "issue refunds"),
        (PAYOUTS_READ, "read balances, payouts and transfers"),
        (PAYOUTS_WRITE, "create payouts or transfers"),
        (DISPUTES_READ, "read disputes and their evidence"),
        (REPORTS_DOWNLOAD, "run or download bulk reports"),
        (
            CREDENTIALS_MANAGE,
            "create, rotate or delete credentials and users",
        ),
        (WEBHOOKS_READ, "read webhook configuration"),
        (WEBHOOKS_MANAGE, "create or change webhook endpoints"),
        (STOREFRONT_CODE_INJECT, "inject code into the storefront"),
        (EVENTS_WRITE, "send tracking events"),
        (EVENTS_READ, "read the event stream (full object snapshots)"),
        (USERS_WRITE_SELF, "update the caller's own user profile"),
        (USERS_READ, "read user or staff profiles"),
        (CATALOG_READ, "read products, prices and coupons"),
        (CATALOG_WRITE, "change products, prices and coupons"),
        (BILLING_READ, "read invoices, subscriptions and quotes"),
        (FILES_READ, "read uploaded files"),
        (IDENTITY_READ, "read identity verifications and documents"),
        (ACCOUNT_READ, "read account or company settings"),
        (ADMIN_FULL, "unrestricted: every API operation"),
        (CUSTOMERS_DELETE, "delete customer data"),
        (PAYMENTS_CARD_DATA, "handle raw card data"),
        (REPORTS_READ, "read report notifications and listings"),
        (ACCOUNT_WRITE, "change account, store or terminal settings"),
        (
            USERS_WRITE_ANY,
            "update any user's profile without authentication",
        ),
        (MESSAGES_READ, "read messages addressed to users"),
        (MESSAGES_SEND, "send messages or trigger campaigns"),
        (
            CONNECTED_ACCOUNTS_READ,
            "read connected accounts and their owners' identity and bank details",
        ),
        (
            ISSUING_READ,
            "read issued cards, cardholders and card transactions",
        ),
        (
            BANK_ACCOUNTS_READ,
            "read linked bank accounts: owners, balances, account details",
        ),
    ];

    /// Whether `name` is in the vocabulary.
    pub fn is_known(name: &str) -> bool {
        VOCABULARY.iter().any(|(n, _)| *n == name)
    }

    /// Common synonyms → the vocabulary word, used only to suggest a name where spelling
    /// distance would not (`products.read` is `catalog.read`); never accepted as names.
    pub const ALIASES: &[(&str, &str)] = &[
        ("products.read", CATALOG_READ),
        ("products.write", CATALOG_WRITE),
        ("prices.read", CATALOG_READ),
        ("prices.write", CATALOG_WRITE),
        ("coupons.read", CATALOG_READ),
        ("inventory.read", CATALOG_READ),
        ("charges.read", PAYMENTS_READ),
        ("charges.write", PAYMENTS_WRITE),
        ("payment_methods.read", PAYMENTS_READ),
        ("payments.tokenize", PAYMENTS_CARD_DATA),
        ("refunds.read", PAYMENTS_READ),
        ("fulfillments.read", ORDERS_READ),
        ("fulfillments.write", ORDERS_WRITE),
        ("shipping.read", ORDERS_READ),
        ("users.write", USERS_WRITE_SELF),
        ("profiles.write", USERS_WRITE_SELF),
        ("email.send", MESSAGES_SEND),
        ("emails.send", MESSAGES_SEND),
        ("campaigns.send", MESSAGES_SEND),
        ("balance.read", PAYOUTS_READ),
        ("balances.read", PAYOUTS_READ),
        ("transfers.read", PAYOUTS_READ),
        ("invoices.read", BILLING_READ),
        ("subscriptions.read", BILLING_READ),
        ("webhooks.write", WEBHOOKS_MANAGE),
        ("api_keys.manage", CREDENTIALS_MANAGE),
        ("scripts.write", STOREFRONT_CODE_INJECT),
        ("themes.write", STOREFRONT_CODE_INJECT),
        ("reports.export", REPORTS_DOWNLOAD),
        ("customers.delete_all", CUSTOMERS_DELETE),
    ];

    /// The vocabulary word a synonym stands for, if it is a known synonym.
    pub fn alias_of(name: &str) -> Option<&'static str> {
        ALIASES.iter().find(|(a, _)| *a == name).map(|(_, c)| *c)
    }

    /// The one-line meaning of a vocabulary name.
    pub fn meaning(name: &str) -> Option<&'static str> {
        VOCABULARY.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }
}

/// One way a vendor grants capabilities: a scope, permission, role or key type, read from the
/// connector's own mapping (the same table its probe uses).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Grant {
    /// `scope`, `permission`, `role` or `key_type`.
    pub kind: &'static str,
    /// The vendor's own name (`read_products`, `rak_charge_read`, `Merchant Recurring role`).
    pub name: String,
    /// Vocabulary names it grants.
    pub capabilities: Vec<&'static str>,
    /// Capabilities a key holding it may also have that no read-only call can observe.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverifiable: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

impl Grant {
    pub fn new(kind: &'static str, name: impl Into<String>, caps: &[&'static str]) -> Self {
        Grant {
            kind,
            name: name.into(),
            capabilities: caps.to_vec(),
            unverifiable: vec![],
            note: None,
        }
    }
}

/// What a key is, from its shape alone (no network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Vendor-level type word (`admin_token`, `secret`, `restricted`, `publishable`, …).
    pub key_type: String,
    /// The inventory's notion of the type.
    pub inventory_type: KeyType,
    pub environment: Option<Environment>,
    /// `Some(reason)` when this shape is never probed (`shpss_` app secrets, `whsec_`).
    pub not_probed: Option<String>,
}

/// How probes run; built from the command line (never from the inventory alone).
#[derive(Clone, Default)]
pub struct ProbeSettings {
    /// `--allow-endpoint` entries: an inventory `endpoint` is used only if listed here.
    pub allowed: AllowedEndpoints,
    /// `probe --endpoint URL`: replaces the official base URL for this run.
    pub endpoint: Option<Url>,
    /// `probe --shop DOMAIN`.
    pub shop: Option<String>,
    /// Vendor region (Iterable `us`/`eu`), from the inventory's vendor.
    pub region: Option<String>,
    /// `--probe-bulk-endpoints`: also call export endpoints (recorded in the run).
    pub probe_bulk_endpoints: bool,
    /// Fingerprints for the ledger (never the key itself).
    pub fingerprinter: Option<Arc<Fingerprinter>>,
}

impl ProbeSettings {
    /// The client configuration these settings need: every official host pattern and the
    /// allowed endpoints (plus the `--endpoint` host).
    pub fn client_config(&self) -> ClientConfig {
        let mut allowed = self.allowed.clone();
        if let Some(e) = &self.endpoint {
            allowed.push_url(e);
        }
        ClientConfig {
            allowed,
            official_hosts: all_official_hosts(),
            ..ClientConfig::default()
        }
    }
}

/// Everything a connector's probe needs, already checked by [`prepare`].
pub struct ProbeInput<'a> {
    pub secret: &'a Secret,
    pub key_id: Option<String>,
    pub fingerprint: Option<String>,
    pub class: Classification,
    /// Override base URL (`http://127.0.0.1:PORT`), already allowed; `None` = official host.
    pub base: Option<Url>,
    pub expected_account: Option<String>,
    /// The inventory's declared type: stands where the probe cannot tell (Iterable read-only
    /// vs server-side).
    pub declared_type: Option<KeyType>,
    /// Shopify shop domain (validated), from `--shop`, the key's `shop_domain` or `expected_account`.
    pub shop_domain: Option<String>,
    pub settings: &'a ProbeSettings,
    /// The inventory declares this key `role: audit`: it also makes the governance
    /// observations of [`least_privilege::AuditNeed`] (credentials, users, staff, script tags).
    pub audit: bool,
}

impl ProbeInput<'_> {
    /// Identity for ledger entries.
    pub fn who(&self, vendor: &str) -> CallIdentity {
        CallIdentity {
            vendor: vendor.to_string(),
            key_id: self.key_id.clone(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

/// A call `--dry-run` would make.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedCall {
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One vendor's knowledge: shapes, official hosts, read-only probe, emulator.
pub trait Connector: Send + Sync {
    /// Registry name (`shopify`, `stripe`, …).
    fn name(&self) -> &'static str;
    /// Hosts the key may be sent to (`*.` = exactly one DNS label).
    fn official_hosts(&self) -> &'static [&'static str];
    /// Offline classification; `None` = this is not one of this vendor's key formats (the key
    /// is then never sent).
    fn classify(&self, secret: &Secret) -> Option<Classification>;
    /// The calls a probe would make (for `--dry-run`), in order; later calls may be skipped.
    fn plan(&self, input: &ProbeInput<'_>) -> Vec<PlannedCall>;
    /// Probes through the guarded client only.
    fn probe<'a>(&'a self, input: ProbeInput<'a>, client: &'a Client) -> BoxFuture<'a, KeyProfile>;
    /// The vendor's emulator.
    fn emulator(&self) -> Option<EmulatorSpec> {
        None
    }
    /// Every scope, permission, role or key type this connector maps to capabilities, from
    /// the mapping its probe uses (`vendorscope policy capabilities`).
    fn grants(&self) -> Vec<Grant>;
    /// The observations of the vendor account its probe records in
    /// `KeyProfile::observations` (e.g. `profile_fields`), so a run can tell "not observed"
    /// from "this connector cannot observe it".
    fn observations(&self) -> &'static [&'static str] {
        &[]
    }
    /// What each governance observation of an audit key (`role: audit`) needs at the vendor:
    /// this connector's rows of the least-privilege table ([`least_privilege::table`]).
    fn audit_needs(&self) -> &'static [least_privilege::AuditNeed] {
        &[]
    }
    /// Whether the observed `account` is the declared `expected_account`; `None` when they
    /// cannot be compared (an Iterable project name against a region).
    fn account_matches(&self, expected: &str, account: &str) -> Option<bool> {
        Some(expected.eq_ignore_ascii_case(account))
    }
}

/// Every implemented connector, in a fixed order.
pub fn registry() -> Vec<&'static dyn Connector> {
    vec![
        &shopify::Shopify,
        &stripe::Stripe,
        &adyen::Adyen,
        &iterable::Iterable,
    ]
}

/// The connector called `name`.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    registry().into_iter().find(|c| c.name() == name)
}

/// Official host patterns of every connector (the resolver accepts only these and allowed
/// overrides).
pub fn all_official_hosts() -> Vec<String> {
    registry()
        .iter()
        .flat_map(|c| c.official_hosts().iter().map(|h| h.to_string()))
        .collect()
}

/// Whether `expected` names the observed account: `Some(true)` when it names `account` or any
/// of `account_ids`, `Some(false)` when it names none of them, `None` when nothing observed can
/// be compared with it.
pub fn account_verdict(c: &dyn Connector, expected: &str, p: &KeyProfile) -> Option<bool> {
    let verdicts: Vec<Option<bool>> = p
        .account
        .iter()
        .chain(p.account_ids.values())
        .map(|a| c.account_matches(expected, a))
        .collect();
    if verdicts.contains(&Some(true)) {
        Some(true)
    } else if verdicts.contains(&Some(false)) {
        Some(false)
    } else {
        None
    }
}

/// A profile with just a status.
pub fn profile(vendor: &str, status: KeyStatus) -> KeyProfile {
    KeyProfile {
        vendor: vendor.to_string(),
        status,
        key_type: None,
        environment: None,
        account: None,
        account_matches: None,
        account_ids: Default::default(),
        granted: vec![],
        capabilities: vec![],
        unverifiable: vec![],
        restrictions: Default::default(),
        calls: vec![],
        observations: Default::default(),
        credential_id: None,
        api_version: None,
        probed_at: Some(crate::run::now_rfc3339()),
    }
}

/// `inconclusive(reason)`.
pub fn inconclusive(reason: &str) -> KeyStatus {
    KeyStatus::Inconclusive(reason.to_string())
}

/// The status a failed call turns into (never active/invalid by guess).
pub fn status_for_error(e: &HttpError) -> KeyStatus {
    inconclusive(e.reason())
}

/// The reason a vendor status leaves what was asked unknown (`inconclusive`): 429 is
/// `rate_limited`, a 5xx `server_error`; `None` for any other status.
pub fn vendor_failure(status: u16) -> Option<&'static str> {
    match status {
        429 => Some("rate_limited"),
        500..=599 => Some("server_error"),
        _ => None,
    }
}

/// The call summary of a request that never got a response.
pub fn failed_call(method: &str, url: &Url, template: &str) -> CallSummary {
    CallSummary {
        method: method.to_string(),
        url: crate::http::display_url(url, template),
        status: None,
    }
}

/// Joins a base (official or override) with a path and query.
pub fn join(base: &Url, path_and_query: &str) -> Result<Url, HttpError> {
    base.join(path_and_query)
        .map_err(|e| HttpError::BadUrl(e.to_string()))
}

/// Checks format and endpoint, picks the shop, and builds the probe input. `Err` is the
/// final profile (nothing was sent).
pub fn prepare<'a>(
    connector: &dyn Connector,
    secret: &'a Secret,
    key: &Key,
    settings: &'a ProbeSettings,
) -> Result<ProbeInput<'a>, Box<KeyProfile>> {
    let vendor = connector.name();
    let Some(class) = connector.classify(secret) else {
        return Err(Box::new(profile(vendor, inconclusive("format_mismatch"))));
    };
    let mut base_profile = profile(vendor, KeyStatus::Active);
    base_profile.key_type = Some(class.key_type.clone());
    base_profile.environment = class.environment;
    if let Some(reason) = &class.not_probed {
        base_profile.status = KeyStatus::NotProbed(reason.clone());
        return Err(Box::new(base_profile));
    }
    let base = match (&settings.endpoint, &key.endpoint) {
        (Some(cli), _) => Some(cli.clone()),
        (None, Some(inv)) => match Url::parse(inv) {
            Ok(u) if settings.allowed.allows_url(&u) => Some(u),
            _ => {
                tracing::warn!(
                    key = key.id.as_str(),
                    "endpoint override in the inventory is not allowed on the command line (--allow-endpoint); key not sent"
                );
                base_profile.status = inconclusive("endpoint_refused");
                return Err(Box::new(base_profile));
            }
        },
        (None, None) => None,
    };
    let shop_domain = settings
        .shop
        .clone()
        .or_else(|| key.shop_domain.clone())
        .map(|s| s.trim().to_ascii_lowercase());
    let fingerprint = settings
        .fingerprinter
        .as_ref()
        .map(|f| f.fingerprint(secret));
    Ok(ProbeInput {
        secret,
        key_id: Some(key.id.clone()),
        fingerprint,
        class,
        base,
        expected_account: key.expected_account.clone(),
        declared_type: Some(key.key_type),
        shop_domain,
        settings,
        audit: key.is_audit(),
    })
}

/// Probes one inventory key with connector `connector_name`. Safe to call for many keys at
/// once on one shared client: the client bounds concurrency and rate per vendor account.
pub async fn probe_key(
    connector_name: &str,
    secret: &Secret,
    key: &Key,
    settings: &ProbeSettings,
    client: &Client,
) -> KeyProfile {
    let Some(c) = connector(connector_name) else {
        return profile(connector_name, KeyStatus::NotProbed("no_connector".into()));
    };
    let input = match prepare(c, secret, key, settings) {
        Ok(i) => i,
        Err(p) => return *p,
    };
    let expected = input.expected_account.clone();
    let mut p = c.probe(input, client).await;
    if let Some(exp) = &expected {
        p.account_matches = account_verdict(c, exp, &p).or(p.account_matches);
    }
    p.probed_at = Some(crate::run::now_rfc3339());
    p
}

/// The calls a probe of this key would make (`--dry-run`). `Err` is the profile saying why
/// nothing would be sent.
pub fn dry_run(
    connector_name: &str,
    secret: &Secret,
    key: &Key,
    settings: &ProbeSettings,
) -> Result<Vec<PlannedCall>, Box<KeyProfile>> {
    let Some(c) = connector(connector_name) else {
        return Err(Box::new(profile(
            connector_name,
            KeyStatus::NotProbed("no_connector".into()),
        )));
    };
    let input = prepare(c, secret, key, settings)?;
    Ok(c.plan(&input))
}

/// A throwaway inventory key for `probe` (no inventory): the id is `cli`.
pub fn cli_key(secret_ref: crate::secret::SecretRef, shop: Option<String>) -> Key {
    Key {
        id: "cli".into(),
        secret: secret_ref,
        key_type: KeyType::ServerSide,
        purpose: None,
        environment: None,
        expected_account: None,
        requires_jwt: None,
        created: None,
        last_rotated: None,
        last_used: None,
        endpoint: None,
        shop_domain: shop,
        owner: None,
        role: None,
    }
}

/// Sorted, de-duplicated strings.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::capability;

    #[test]
    fn aliases_point_into_the_vocabulary_and_are_not_in_it() {
        for (alias, target) in capability::ALIASES {
            assert!(capability::is_known(target), "{alias} → {target}");
            assert!(!capability::is_known(alias), "{alias} is a real name");
        }
    }

    #[test]
    fn every_grant_maps_to_vocabulary_names_only() {
        for c in super::registry() {
            let grants = c.grants();
            assert!(!grants.is_empty(), "{} lists no grants", c.name());
            for g in grants {
                for cap in g.capabilities.iter().chain(&g.unverifiable) {
                    assert!(capability::is_known(cap), "{} {}: {cap}", c.name(), g.name);
                }
            }
        }
    }

    #[test]
    fn grants_are_the_probe_tables() {
        // Shopify's listing is its probe table.
        let shopify = super::shopify::Shopify;
        for g in super::Connector::grants(&shopify) {
            assert_eq!(
                super::shopify::capabilities_of(&g.name),
                g.capabilities.as_slice()
            );
        }
        // Adyen roles resolve to their listed capabilities, in any dash style.
        for (role, caps) in super::adyen::ROLES {
            assert_eq!(super::adyen::role_capabilities(role), *caps, "{role}");
            let hyphen = role.replace(" \u{2014} ", " - ");
            assert_eq!(super::adyen::role_capabilities(&hyphen), *caps, "{hyphen}");
        }
    }
}
