//! Shared emulator plumbing: axum on loopback, configurable keys → grants, request log, fault injection, write methods refused loudly.
//!
//! Each vendor folder provides an [`EmulatorSpec`] (router, default keys, throttle response);
//! this module serves it, records every request, injects faults before the vendor handler
//! runs, and answers any method other than GET/HEAD with a loud 405 (logged as an error and
//! counted in [`EmuState::writes`]).

pub mod contract;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// State of an emulated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    #[default]
    Active,
    Revoked,
    Expired,
}

/// One key the emulator knows: which vendor, what it grants, which account it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorKey {
    /// The synthetic key value (format-valid, obviously fake).
    pub key: String,
    /// `shopify`, `stripe`, `adyen`, `iterable`.
    pub vendor: String,
    /// Native grants: scope handles, `rak_*` permissions, roles, key type words.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Shop domain, `acct_…`, company, project.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub state: KeyState,
    /// Vendor-specific key type when the shape does not say it (Iterable).
    #[serde(default)]
    pub key_type: Option<String>,
    /// Per-key variant flags (override the vendor-wide ones).
    #[serde(default)]
    pub variants: BTreeMap<String, String>,
    /// Vendor-specific extras (allowed IPs, region, …).
    #[serde(default)]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl EmulatorKey {
    /// An active key of `vendor` with these native grants, belonging to `account`.
    pub fn new(raw: &str, vendor: &str, grants: &[&str], account: &str) -> Self {
        EmulatorKey {
            key: raw.into(),
            vendor: vendor.into(),
            grants: grants.iter().map(|g| g.to_string()).collect(),
            account: Some(account.into()),
            state: KeyState::Active,
            key_type: None,
            variants: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// With a vendor-specific key type (Iterable `server_side`, Adyen `api_key`).
    pub fn with_type(mut self, key_type: &str) -> Self {
        self.key_type = Some(key_type.into());
        self
    }
}

/// Emulator configuration: keys plus vendor-wide variant flags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    #[serde(default)]
    pub keys: Vec<EmulatorKey>,
    /// vendor → flag → value, e.g. `stripe: {forbidden_wording: enabling}`.
    #[serde(default)]
    pub variants: BTreeMap<String, BTreeMap<String, String>>,
    /// Added latency on every response, milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Whether the built-in synthetic keys are included (default true).
    #[serde(default)]
    pub include_builtin_keys: Option<bool>,
    /// Hostile forms every emulator answers with (see [`Hostile`]); empty = a well-behaved vendor.
    #[serde(default)]
    pub hostile: Vec<Hostile>,
    /// Fixed loopback addresses: an emulator's vendor name, or `site` and `cdn` (the demo
    /// storefront's page and asset origins) → `HOST:PORT`. The others follow `--listen`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub listen: BTreeMap<String, SocketAddr>,
    /// The server-side key the demo storefront ships in its lazy chunk (default: a fresh
    /// random one per start); `vendorscope demo` writes its own so a restart serves the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planted_key: Option<String>,
}

/// How a broken or malicious vendor endpoint can answer (issue 12, "a hostile vendor"). Each
/// emulator can play every form; the client and the reports must stay bounded, panic-free and
/// leak-free against all of them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Hostile {
    /// Every request is throttled with `Retry-After: 1e300` (overflowed `Duration`).
    RetryAfterHuge,
    /// `Retry-After: 18446744073709551616` (2^64).
    RetryAfterOverflow,
    /// `Retry-After: -5`.
    RetryAfterNegative,
    /// `Retry-After: Fri, 31 Dec 2100 23:59:59 GMT`.
    RetryAfterFarDate,
    /// `X-Shopify-Shop-Api-Call-Limit: 4294967295/2` on every response (a ~68-year wait).
    CallLimit,
    /// Every body is followed by [`HUGE_BODY_BYTES`] of JSON whitespace (still valid JSON), streamed.
    HugeBody,
    /// Every body trickles one byte per [`SLOW_BODY_STEP`], then whitespace without end.
    SlowBody,
    /// Every text field the connector reads (ids, names, roles, scopes, messages) carries
    /// control sequences, workflow commands and the probed key in every encoding.
    Text,
    /// Every object of every 2xx JSON body also carries personal data ([`PLANTED_PII`]:
    /// names, e-mails, phones, addresses), as a real account, shop or list answer can: none
    /// of it may reach vendorscope's memory-kept values, outputs, logs or transcripts.
    PlantedPii,
}

impl Hostile {
    /// Every form, in declaration order.
    pub const ALL: &'static [Hostile] = &[
        Hostile::RetryAfterHuge,
        Hostile::RetryAfterOverflow,
        Hostile::RetryAfterNegative,
        Hostile::RetryAfterFarDate,
        Hostile::CallLimit,
        Hostile::HugeBody,
        Hostile::SlowBody,
        Hostile::Text,
        Hostile::PlantedPii,
    ];

    /// The `Retry-After` value of the throttling forms.
    pub fn retry_after(self) -> Option<&'static str> {
        match self {
            Hostile::RetryAfterHuge => Some("1e300"),
            Hostile::RetryAfterOverflow => Some("18446744073709551616"),
            Hostile::RetryAfterNegative => Some("-5"),
            Hostile::RetryAfterFarDate => Some("Fri, 31 Dec 2100 23:59:59 GMT"),
            _ => None,
        }
    }
}

/// The call-limit value of [`Hostile::CallLimit`].
pub const HOSTILE_CALL_LIMIT: &str = "4294967295/2";
/// Padding after each body under [`Hostile::HugeBody`].
pub const HUGE_BODY_BYTES: usize = 64 << 20;
/// One byte per step under [`Hostile::SlowBody`].
pub const SLOW_BODY_STEP: Duration = Duration::from_millis(200);
/// Replaced, in the serialised body, by the key's JSON-escaped forms (`\/`, `\u0041`):
/// they cannot be written through a JSON serialiser.
pub(crate) const JSON_FORMS_MARKER: &str = "@@vendorscope-hostile-json-forms@@";

/// The personal data [`Hostile::PlantedPii`] adds to every object of a 2xx JSON body (the
/// member names real vendor objects use for it). Each value is unique enough to be searched
/// for in any output.
pub const PLANTED_PII: &[(&str, &str)] = &[
    ("email", "planted.person.4417@example.com"),
    ("name", "Plantina Q. Leakworth"),
    ("first_name", "Plantina"),
    ("last_name", "Leakworth"),
    ("firstName", "Plantina"),
    ("lastName", "Leakworth"),
    ("phone", "+1 555 0142 7781"),
    ("phoneNumber", "+15550142778"),
    ("address1", "17 Planted Lane"),
    ("city", "Leakville"),
    ("zip", "99417-0042"),
];

/// The planted value of one [`PLANTED_PII`] member, for emulators whose realistic success
/// bodies carry personal data of their own (a shop owner, a credential holder); `""` for a
/// member not in the list.
pub fn planted(member: &str) -> &'static str {
    PLANTED_PII
        .iter()
        .find(|(k, _)| *k == member)
        .map(|(_, v)| *v)
        .unwrap_or("")
}

/// Adds [`PLANTED_PII`] (and a nested `address` object) to every object of `v`, keeping the
/// members the vendor already sent.
pub fn plant_pii(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for x in m.values_mut() {
                plant_pii(x);
            }
            for (k, val) in PLANTED_PII {
                m.entry(*k)
                    .or_insert_with(|| serde_json::Value::String((*val).to_string()));
            }
            m.entry("address").or_insert_with(|| {
                serde_json::json!({"line1": "17 Planted Lane", "city": "Leakville",
                    "postal_code": "99417-0042", "country": "US"})
            });
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(plant_pii),
        _ => {}
    }
}

/// Control sequences and workflow commands a hostile vendor puts in its text.
pub const HOSTILE_CONTROLS: &str =
    "\u{1b}[31mred\u{1b}[0m \u{1b}]0;pwn\u{7} \r\n::set-env name=X::y\n::error ::injected\n";

/// The text of [`Hostile::Text`] for the probed key `key`: controls, then the key raw,
/// percent-encoded (`%2B`), as HTML entities (`&#43;`, `&#0065;`), base64, base64 wrapped at
/// 76 columns, and (in the serialised body) JSON-escaped with `\/` and uppercase `\u0041`.
pub fn hostile_text(key: &str) -> String {
    use base64::Engine;
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
    let ent_plus = key.replace('+', "&#43;").replace('/', "&#47;");
    let ent_all: String = key.bytes().map(|b| format!("&#{b:04};")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "{HOSTILE_CONTROLS}raw={key} pct={pct} ent={ent_plus} ent0={ent_all} b64={b64} b64w={} {JSON_FORMS_MARKER}",
        wrapped.join("\n")
    )
}

/// The key as JSON escapes only a raw JSON body can carry: `/` as `\/`, and every character
/// as an uppercase `\u00XX` escape.
fn json_forms(key: &str) -> String {
    let slash = key.replace('/', "\\/");
    let unicode: String = key
        .chars()
        .map(|c| format!("\\u{:04X}", c as u32))
        .collect();
    format!("json={slash} uni={unicode}")
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ConfigFile {
    List(Vec<EmulatorKey>),
    Full(EmulatorConfig),
}

impl EmulatorConfig {
    /// Parses a YAML (or JSON) file: either a list of keys or `{keys, variants, latency_ms}`.
    /// The vendors' built-in keys are not added here (this module knows no vendor):
    /// [`crate::emulators::load_config`] adds them unless `include_builtin_keys: false`.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let parsed: ConfigFile =
            crate::yaml::from_str(text).map_err(|e| match (e.line, e.column) {
                (Some(l), Some(c)) => format!("{l}:{c}: {}", e.message),
                _ => e.message,
            })?;
        let cfg = match parsed {
            ConfigFile::List(keys) => EmulatorConfig {
                keys,
                ..Default::default()
            },
            ConfigFile::Full(c) => c,
        };
        Ok(cfg)
    }
}

/// What a vendor folder provides to be served.
#[derive(Clone, Copy)]
pub struct EmulatorSpec {
    pub vendor: &'static str,
    /// The vendor's routes (the plumbing adds recording, faults and write refusal around them).
    pub router: fn(EmuState) -> Router,
    /// Built-in synthetic keys (documented in the vendor's emulator module).
    pub default_keys: fn() -> Vec<EmulatorKey>,
    /// The vendor's 429 response, with or without `Retry-After` (value given).
    pub throttled: fn(Option<&str>) -> Response,
    /// The vendor's error answer for a status (401, 403, 404, 5xx) in its contract's error
    /// shape: what an injected failure returns.
    pub error: fn(u16) -> Response,
}

/// One request the emulator received. The credential is kept only in redacted form.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    pub host: Option<String>,
    /// Redacted credential seen (`Authorization`, `X-Shopify-Access-Token`, `Api-Key`, `X-API-Key`).
    pub credential: Option<String>,
}

/// Faults injected before the vendor handler runs. Counters (`*_next`) apply to that many
/// upcoming requests.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every response.
    pub latency: Duration,
    /// The next N requests get the vendor's error answer for `fail_status` (default 503).
    pub fail_next: u32,
    pub fail_status: Option<u16>,
    /// The next N requests get the vendor's 429; `retry_after` is the header value, if any.
    pub throttle_next: u32,
    pub retry_after: Option<String>,
    /// The next N requests wait this long before answering (client timeouts).
    pub hang_next: u32,
    pub hang: Duration,
    /// Every response is a 302 to this URL (another host).
    pub redirect_to: Option<String>,
    /// The next N successful responses trickle their body, one byte per `slow_body` step.
    pub slow_body_next: u32,
    pub slow_body: Duration,
    /// The next N responses are cut off mid-body (connection reset).
    pub reset_next: u32,
    /// The next N requests get a 200 with an HTML body nobody documented.
    pub unexpected_next: u32,
    /// Error bodies echo the full key (vendors have done it; the output filter must catch it).
    pub echo_key: bool,
    /// Hostile forms answered on every request (see [`Hostile`]).
    pub hostile: Vec<Hostile>,
}

/// Shared, cloneable state of one running vendor emulator.
#[derive(Clone)]
pub struct EmuState {
    pub vendor: &'static str,
    keys: Arc<RwLock<Vec<EmulatorKey>>>,
    variants: Arc<RwLock<BTreeMap<String, String>>>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    writes: Arc<Mutex<u32>>,
    faults: Arc<Mutex<Faults>>,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
    throttled: fn(Option<&str>) -> Response,
    error: fn(u16) -> Response,
}

impl EmuState {
    /// State for `vendor` from a config (keeps only that vendor's keys and variants).
    pub fn new(spec: &EmulatorSpec, cfg: &EmulatorConfig) -> Self {
        let keys: Vec<EmulatorKey> = cfg
            .keys
            .iter()
            .filter(|k| k.vendor == spec.vendor)
            .cloned()
            .collect();
        let faults = Faults {
            latency: Duration::from_millis(cfg.latency_ms.unwrap_or(0)),
            hostile: cfg.hostile.clone(),
            ..Default::default()
        };
        EmuState {
            vendor: spec.vendor,
            keys: Arc::new(RwLock::new(keys)),
            variants: Arc::new(RwLock::new(
                cfg.variants.get(spec.vendor).cloned().unwrap_or_default(),
            )),
            log: Arc::new(Mutex::new(Vec::new())),
            writes: Arc::new(Mutex::new(0)),
            faults: Arc::new(Mutex::new(faults)),
            buckets: Arc::new(Mutex::new(HashMap::new())),
            throttled: spec.throttled,
            error: spec.error,
        }
    }

    /// The configured key equal to `raw`, if any.
    pub fn find_key(&self, raw: &str) -> Option<EmulatorKey> {
        self.keys
            .read()
            .ok()
            .and_then(|k| k.iter().find(|k| k.key == raw).cloned())
    }

    /// Whether any configured key satisfies `f` (e.g. belongs to a shop).
    pub fn find_key_where(&self, f: impl Fn(&EmulatorKey) -> bool) -> bool {
        self.key_where(f).is_some()
    }

    /// Every configured key that satisfies `f` (the credentials of one company).
    pub fn keys_where(&self, f: impl Fn(&EmulatorKey) -> bool) -> Vec<EmulatorKey> {
        self.keys
            .read()
            .map(|ks| ks.iter().filter(|k| f(k)).cloned().collect())
            .unwrap_or_default()
    }

    /// The first configured key that satisfies `f` (e.g. a credential's username and password).
    pub fn key_where(&self, f: impl Fn(&EmulatorKey) -> bool) -> Option<EmulatorKey> {
        self.keys
            .read()
            .ok()
            .and_then(|k| k.iter().find(|k| f(k)).cloned())
    }

    /// Adds or replaces a key at runtime (tests).
    pub fn put_key(&self, key: EmulatorKey) {
        if let Ok(mut ks) = self.keys.write() {
            ks.retain(|k| k.key != key.key);
            ks.push(key);
        }
    }

    /// A variant flag: the key's own, else the vendor-wide one.
    pub fn variant(&self, key: Option<&EmulatorKey>, flag: &str) -> Option<String> {
        if let Some(v) = key.and_then(|k| k.variants.get(flag)) {
            return Some(v.clone());
        }
        self.variants.read().ok().and_then(|v| v.get(flag).cloned())
    }

    /// Sets a vendor-wide variant flag (tests).
    pub fn set_variant(&self, flag: &str, value: &str) {
        if let Ok(mut v) = self.variants.write() {
            v.insert(flag.to_string(), value.to_string());
        }
    }

    /// Changes the faults (tests).
    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        if let Ok(mut g) = self.faults.lock() {
            f(&mut g);
        }
    }

    /// Whether error bodies should echo the full key.
    pub fn echo_key(&self) -> bool {
        self.faults.lock().map(|f| f.echo_key).unwrap_or(false)
    }

    /// Whether this hostile form is on.
    pub fn hostile(&self, form: Hostile) -> bool {
        self.faults
            .lock()
            .map(|f| f.hostile.contains(&form))
            .unwrap_or(false)
    }

    /// `text` as a vendor field: unchanged, or with [`Hostile::Text`] the hostile text for
    /// `key` appended (vendor handlers call this for every field their connector reads).
    pub fn field(&self, text: &str, key: &str) -> String {
        if self.hostile(Hostile::Text) {
            format!("{text}{}", hostile_text(key))
        } else {
            text.to_string()
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Clears the request log.
    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }

    /// Requests with a method other than GET/HEAD (must stay 0).
    pub fn writes(&self) -> u32 {
        self.writes.lock().map(|w| *w).unwrap_or(0)
    }

    /// Leaky bucket: adds one request to `bucket` (capacity, leak per second); returns the
    /// level after the request, or `Err(level)` when full (the request is not counted).
    pub fn leaky_bucket(&self, bucket: &str, capacity: f64, leak: f64) -> Result<f64, f64> {
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(0.0);
        };
        let now = Instant::now();
        let entry = map.entry(bucket.to_string()).or_insert((0.0, now));
        let level = (entry.0 - now.duration_since(entry.1).as_secs_f64() * leak).max(0.0);
        if level + 1.0 > capacity + 1e-9 {
            *entry = (level, now);
            return Err(level);
        }
        *entry = (level + 1.0, now);
        Ok(level + 1.0)
    }
}

/// Pulls the credential out of the usual headers.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    for h in ["x-shopify-access-token", "api-key", "x-api-key"] {
        if let Some(v) = headers.get(h).and_then(|v| v.to_str().ok()) {
            return Some(v.to_string());
        }
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok())?;
    auth.strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::to_string)
}

/// A JSON response with a status.
pub fn json(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

async fn plumbing(State(st): State<EmuState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let record = RecordedRequest {
        method: method.to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
        host: req
            .headers()
            .get("host")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        credential: credential(req.headers()).map(|c| crate::secret::redact(&c)),
    };
    if let Ok(mut l) = st.log.lock() {
        l.push(record);
    }
    if method != Method::GET && method != Method::HEAD {
        if let Ok(mut w) = st.writes.lock() {
            *w += 1;
        }
        tracing::error!(vendor = st.vendor, %method, path = req.uri().path(), "EMULATOR: write method refused — probes must only read");
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "vendorscope emulator: {method} refused. Probes must only send GET/HEAD; this request is recorded as a violation.\n"
            ),
        )
            .into_response();
    }
    let f = match st.faults.lock() {
        Ok(mut g) => {
            let snapshot = g.clone();
            let hang = take(&mut g.hang_next);
            let throttle = take(&mut g.throttle_next);
            let fail = take(&mut g.fail_next);
            let unexpected = take(&mut g.unexpected_next);
            let reset = take(&mut g.reset_next);
            let slow = take(&mut g.slow_body_next);
            (snapshot, hang, throttle, fail, unexpected, reset, slow)
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let (faults, hang, throttle, fail, unexpected, reset, slow) = f;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if hang {
        tokio::time::sleep(faults.hang).await;
    }
    if let Some(to) = &faults.redirect_to {
        return (StatusCode::FOUND, [("location", to.as_str())]).into_response();
    }
    if throttle {
        return (st.throttled)(faults.retry_after.as_deref());
    }
    if let Some(v) = faults.hostile.iter().find_map(|h| h.retry_after()) {
        return (st.throttled)(Some(v));
    }
    if fail {
        let status = faults.fail_status.unwrap_or(503);
        if status == 429 {
            return (st.throttled)(None);
        }
        return (st.error)(status);
    }
    if unexpected {
        return (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>Maintenance</body></html>",
        )
            .into_response();
    }
    let key = credential(req.headers()).unwrap_or_default();
    let resp = next.run(req).await;
    let resp = if faults.hostile.is_empty() {
        resp
    } else {
        hostile_response(resp, &faults.hostile, &key).await
    };
    if reset {
        let (parts, _) = resp.into_parts();
        let stream = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"par")),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset",
            )),
        ]);
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    if slow && !faults.slow_body.is_zero() {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        let step = faults.slow_body;
        let stream = futures::stream::unfold(0usize, move |i| {
            let bytes = bytes.clone();
            async move {
                if i >= bytes.len() {
                    return None;
                }
                tokio::time::sleep(step).await;
                Some((Ok::<_, std::io::Error>(bytes.slice(i..i + 1)), i + 1))
            }
        });
        let mut parts = parts;
        parts.headers.remove("content-length");
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    resp
}

/// Applies the non-throttling hostile forms to a vendor response.
async fn hostile_response(resp: Response, forms: &[Hostile], key: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    let mut bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default()
        .to_vec();
    if forms.contains(&Hostile::PlantedPii)
        && parts.status.is_success()
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        plant_pii(&mut v);
        bytes = serde_json::to_vec(&v).unwrap_or(bytes);
    }
    if forms.contains(&Hostile::Text) {
        let text = String::from_utf8_lossy(&bytes).replace(JSON_FORMS_MARKER, &json_forms(key));
        bytes = text.into_bytes();
    }
    if forms.contains(&Hostile::CallLimit) {
        parts.headers.insert(
            "x-shopify-shop-api-call-limit",
            axum::http::HeaderValue::from_static(HOSTILE_CALL_LIMIT),
        );
    }
    parts.headers.remove("content-length");
    static PAD: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let head = axum::body::Bytes::from(bytes);
    if forms.contains(&Hostile::SlowBody) {
        let stream = futures::stream::unfold(0usize, move |i| {
            let head = head.clone();
            async move {
                tokio::time::sleep(SLOW_BODY_STEP).await;
                let b = if i < head.len() {
                    head.slice(i..i + 1)
                } else {
                    axum::body::Bytes::from_static(b" ")
                };
                Some((Ok::<_, std::io::Error>(b), i + 1))
            }
        });
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    if forms.contains(&Hostile::HugeBody) {
        let pad = std::iter::repeat_n(
            axum::body::Bytes::from_static(&PAD),
            HUGE_BODY_BYTES / PAD.len(),
        );
        let stream = futures::stream::iter(
            std::iter::once(head)
                .chain(pad)
                .map(Ok::<_, std::io::Error>),
        );
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    Response::from_parts(parts, Body::from(head))
}

/// A running emulator; dropping it shuts the server down.
pub struct RunningEmulator {
    pub vendor: &'static str,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub state: EmuState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves one vendor emulator on a loopback address (a non-loopback address is refused).
pub async fn serve(
    spec: &EmulatorSpec,
    cfg: &EmulatorConfig,
    addr: SocketAddr,
) -> std::io::Result<RunningEmulator> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "emulators listen on loopback only; {addr} refused"
        )));
    }
    let state = EmuState::new(spec, cfg);
    let app = (spec.router)(state.clone()).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        plumbing,
    ));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningEmulator {
        vendor: spec.vendor,
        addr,
        base_url: format!("http://{addr}"),
        state,
        shutdown: Some(tx),
    })
}
