//! The inventory model: what the user declares about vendors, keys, surfaces and artifacts.
//!
//! Field names here are canonical (DESIGN.md); the JSON Schema is generated from these types.

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::SecretRef;

/// An ISO 8601 duration such as `P3M`, `P90D` or `P10Y`, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("pattern" = r"^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$"))]
pub struct IsoDuration(pub String);

impl IsoDuration {
    /// Parsed span (validated at load time, so callers may rely on `Some`).
    pub fn span(&self) -> Option<jiff::Span> {
        self.0.parse().ok()
    }
}

/// The whole inventory file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Format version; only `1` exists.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The organisation the inventory describes.
    pub organization: String,
    #[serde(default)]
    pub vendors: Vec<Vendor>,
    /// Public places to crawl.
    #[serde(default)]
    pub surfaces: Vec<Surface>,
    /// Build outputs to scan (paths relative to the inventory file).
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// How vendor field names map to personal-data categories, beside the built-in mapping
    /// (`firstName` → `first_name`, `shippingAddress.city` → `postal_address`, …): a field
    /// name (case-insensitive) → a category, or `none` to ignore that field.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, DataCategoryName>")]
    pub field_categories: std::collections::BTreeMap<String, String>,
    /// Script hosts the crawled sites may load that belong to no vendor (your own CDN):
    /// `cdn.example.com`, `*.example-cdn.net`, `127.0.0.1:8080`.
    #[serde(default)]
    pub allowed_script_origins: Vec<String>,
}

/// Schema of a personal-data category name (the list is `crate::pii::CATEGORIES`).
pub struct DataCategoryName;

impl JsonSchema for DataCategoryName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DataCategory".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut names: Vec<&str> = crate::pii::CATEGORIES.iter().map(|(n, _)| *n).collect();
        let mut meanings: Vec<&str> = crate::pii::CATEGORIES.iter().map(|(_, m)| *m).collect();
        names.push(crate::pii::IGNORE);
        meanings.push("not personal data: ignore this field");
        schemars::json_schema!({
            "description": "A personal-data category, or `none`.",
            "type": "string",
            "enum": names,
            "enumDescriptions": meanings,
        })
    }
}

/// What kind of supplier a vendor is; rules such as "only e-mail to the e-mail vendor" key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    MarketingEmail,
    Ecommerce,
    Psp,
    Analytics,
    Logistics,
    Support,
    Other,
}

/// The `connector` value of a vendor whose keys are never probed.
pub const NO_CONNECTOR: &str = "none";

/// One third-party supplier.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    /// Unique id, referenced by exceptions and reports.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Connector: `shopify`, `stripe`, `adyen`, `iterable`, or `none` (inventory-only vendors,
    /// whose keys are reported `not_probed`; then `connector_reason` says why). Required.
    #[serde(default)]
    pub connector: Option<String>,
    /// Why a `connector: none` vendor's keys are not probed (required with `none`, refused
    /// otherwise).
    #[serde(default)]
    pub connector_reason: Option<String>,
    pub category: Category,
    /// 1 = critical … 3 = low.
    #[schemars(range(min = 1, max = 3))]
    pub tier: u8,
    #[serde(default)]
    pub owner: Option<String>,
    /// Vendor data centre where it matters (Iterable `us`/`eu`, Adyen region).
    #[serde(default)]
    pub region: Option<String>,
    /// Personal-data fields sent to this vendor (`email`, `first_name`, `postal_address`, `phone`, …).
    #[serde(default)]
    pub data_shared: Vec<String>,
    #[serde(default)]
    pub dpa: Option<Dpa>,
    #[serde(default)]
    pub attestations: Vec<Attestation>,
    #[serde(default)]
    pub last_reassessment: Option<Reassessment>,
    #[serde(default)]
    pub retention: Option<Retention>,
    #[serde(default)]
    pub admin_accounts: Option<AdminAccounts>,
    #[serde(default)]
    pub subprocessors: Vec<String>,
    /// Hosts this vendor serves scripts from on your sites (`js.stripe.com`,
    /// `*.iterable.com`); a crawled page's script from a host no vendor lists is a shadow
    /// vendor.
    #[serde(default)]
    pub script_origins: Vec<String>,
    /// Hosts that may receive this vendor's webhook events (`hooks.example.com`,
    /// `*.example.com`, `127.0.0.1:8080`): every webhook endpoint the vendor shows is checked
    /// against them, and one to any other host is an undeclared data flow. Absent: not
    /// declared (the webhook rule is unknown); `[]`: no webhook may exist.
    #[serde(default)]
    pub webhook_destinations: Option<Vec<String>>,
    /// Reviewer-facing facts for the reassessment report.
    #[serde(default)]
    pub assessment: Option<Assessment>,
    #[serde(default)]
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dpa {
    pub signed: bool,
    #[serde(default)]
    pub signed_on: Option<Date>,
    /// Contract reference.
    #[serde(default)]
    pub reference: Option<String>,
}

impl Vendor {
    /// The connector that probes this vendor's keys (`None` for `connector: none`).
    pub fn probe_connector(&self) -> Option<&str> {
        self.connector.as_deref().filter(|c| *c != NO_CONNECTOR)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttestationType {
    Iso27001,
    Soc2Type1,
    Soc2Type2,
    PciDssAoc,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    #[serde(rename = "type")]
    pub kind: AttestationType,
    pub valid_until: Date,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub certificate_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassessment {
    pub date: Date,
    #[serde(default)]
    pub reviewer: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// How long order PII stays at the vendor after shipment before it is isolated (`P3M`).
    #[serde(default)]
    pub order_pii_after_shipment: Option<IsoDuration>,
    /// How long accounting records are kept (`P10Y`).
    #[serde(default)]
    pub accounting_records: Option<IsoDuration>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminAccounts {
    pub mfa_enforced: bool,
    #[serde(default)]
    pub sso: Option<bool>,
    #[serde(default)]
    pub count: Option<u32>,
}

/// The reviewer's assessment block, rendered by the reassessment report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// `approve | approve_with_conditions | reject | pending`.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub inherent_risk: Option<RiskLevel>,
    #[serde(default)]
    pub residual_risk: Option<RiskLevel>,
    #[serde(default)]
    pub contract_start: Option<Date>,
    #[serde(default)]
    pub contract_end: Option<Date>,
    #[serde(default)]
    pub certificate: Option<Certificate>,
    #[serde(default)]
    pub soc2: Option<Soc2>,
    #[serde(default)]
    pub pci_dss_aoc: Option<PciAoc>,
    #[serde(default)]
    pub last_pentest: Option<Date>,
    #[serde(default)]
    pub incidents_since_last_review: Vec<Incident>,
    #[serde(default)]
    pub next_review: Option<Date>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub number: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    pub expires: Date,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Soc2 {
    pub period_start: Date,
    pub period_end: Date,
    #[serde(default)]
    pub exceptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PciAoc {
    pub level: u8,
    pub valid_until: Date,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub date: Date,
    pub summary: String,
}

/// What a key is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// Full server-side secret (Shopify admin token, Stripe `sk_`, Adyen API key, Iterable server-side).
    ServerSide,
    /// Designed to run in browsers/apps (Iterable JavaScript key).
    ClientSide,
    /// Mobile SDK key (Iterable mobile).
    Mobile,
    /// Read-only server key (Iterable read-only).
    ReadOnly,
    /// Restricted server key (Stripe `rk_`).
    Restricted,
    /// Publishable (Stripe `pk_`, Adyen client key).
    Publishable,
    /// Signing secret (Stripe `whsec_`, Shopify `shpss_`, Adyen HMAC).
    SigningSecret,
}

impl KeyType {
    /// Keys designed to be seen by the public.
    pub fn public_by_design(self) -> bool {
        matches!(
            self,
            KeyType::ClientSide | KeyType::Mobile | KeyType::Publishable
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Live,
    Test,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub name: String,
    /// Capabilities the purpose needs, in the vocabulary (`vendorscope policy capabilities`):
    /// `events.write`, `orders.read`, …; any other name is an error.
    #[serde(default)]
    #[schemars(schema_with = "capability_list")]
    pub allowed_capabilities: Vec<String>,
}

/// A name of the capability vocabulary (schema only: editors complete these).
pub struct CapabilityName;

impl JsonSchema for CapabilityName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Capability".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let vocab = crate::vendors::capability::VOCABULARY;
        let names: Vec<&str> = vocab.iter().map(|(n, _)| *n).collect();
        let meanings: Vec<&str> = vocab.iter().map(|(_, m)| *m).collect();
        schemars::json_schema!({
            "description": "A capability of the vocabulary (`vendorscope policy capabilities`).",
            "type": "string",
            "enum": names,
            "enumDescriptions": meanings,
        })
    }
}

fn capability_list(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": g.subschema_for::<CapabilityName>(),
    })
}

/// One credential handed to a vendor. The secret itself is never in the file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub id: String,
    pub secret: SecretRef,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    #[serde(default)]
    pub purpose: Option<Purpose>,
    #[serde(default)]
    pub environment: Option<Environment>,
    /// Shop domain, `acct_…`, Adyen company/merchant, Iterable project.
    #[serde(default)]
    pub expected_account: Option<String>,
    /// Iterable client-side keys: JWT required.
    #[serde(default)]
    pub requires_jwt: Option<bool>,
    #[serde(default)]
    pub created: Option<Date>,
    #[serde(default)]
    pub last_rotated: Option<Date>,
    #[serde(default)]
    pub last_used: Option<Date>,
    /// Endpoint override (emulators). Only honoured when the command line also allows it.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Shopify: `<shop>.myshopify.com`.
    #[serde(default)]
    pub shop_domain: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    /// `audit`: a separate credential held only for vendorscope's read-only governance
    /// observations (Adyen API credentials and users, Shopify staff and script tags). Only an
    /// audit key makes those calls, and it is judged against the least-privilege table
    /// (`vendorscope policy audit-permissions`). Absent: an integration key.
    #[serde(default)]
    pub role: Option<KeyRole>,
}

/// What a key is held for (see [`Key::role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// An integration's key (the default).
    Integration,
    /// vendorscope's own read-only audit credential.
    Audit,
}

impl Key {
    /// Whether the inventory declares this key as the vendor's audit credential.
    pub fn is_audit(&self) -> bool {
        self.role == Some(KeyRole::Audit)
    }
}

/// A public place to crawl.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Surface {
    pub url: String,
    #[serde(default)]
    pub max_pages: Option<u32>,
    #[serde(default)]
    pub max_depth: Option<u32>,
    /// Maximum bytes fetched from this surface in total.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}
