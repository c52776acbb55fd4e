//! Contract tests (issue 13, point 1). `src/vendors/<vendor>/contract.json`, generated from the
//! vendors' own API contracts by `tools/contracts.py`, is the yardstick:
//!
//! - (0) where `../shared/reference/specs` exists, `python3 tools/contracts.py --check` passes;
//! - (a) every request a connector can emit — from its dry-run plan for every key shape and
//!   settings branch, and from the emulator's request log after probing every built-in key —
//!   has the contract's method, a path matching a template, only allowed query parameters with
//!   valid values, and the required ones;
//! - (b) every emulator answer (each built-in key in each state, each documented variant flag, a
//!   missing credential, the injected 401/403/404/429/5xx faults) validates against the
//!   endpoint's response schema or the vendor's error schema;
//! - (c) the emulators reject what the contract rejects (unknown, ill-typed, out-of-range,
//!   out-of-enum or missing parameters; path values outside their pattern) with the vendor's error
//!   body, and accept every auth form the contract declares;
//! - the validator itself rejects what it must (negative tests).
//!
//! Left out on purpose: the `Hostile` forms and `echo_key` (a vendor misbehaving on purpose),
//! the transport faults (redirects, hangs, resets, slow or HTML bodies), and variant values
//! documented as undocumented shapes (Shopify `scopes_body: graphql_like`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value};
use url::Url;
use vendorscope::emulator::{EmulatorKey, KeyState, RunningEmulator};
use vendorscope::emulators::{builtin_config, start_vendor};
use vendorscope::http::Client;
use vendorscope::secret::{Secret, SecretRef};
use vendorscope::vendors::{self, ProbeSettings};

const SHOP: &str = "acme-demo.myshopify.com";

// ------------------------------------------------------------------------------- the contract

struct Endpoint {
    method: String,
    path: String,
    path_params: Map<String, Value>,
    query: Map<String, Value>,
    required: Vec<String>,
    status: u16,
    content_type: String,
    schema: Option<Value>,
    auth: Vec<Value>,
}

struct Contract {
    api_version: String,
    error: Value,
    endpoints: Vec<Endpoint>,
}

fn contract(vendor: &str) -> Contract {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/vendors")
        .join(vendor)
        .join("contract.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let auth = v["auth"].as_array().cloned().unwrap_or_default();
    let endpoints = v["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| Endpoint {
            method: e["method"].as_str().expect("method").to_string(),
            path: e["path"].as_str().expect("path").to_string(),
            path_params: obj(&e["path_params"]),
            query: obj(&e["query"]),
            required: strs(&e["required"]),
            status: e["response"]["status"].as_u64().expect("status") as u16,
            content_type: e["response"]["content_type"]
                .as_str()
                .expect("content type")
                .to_string(),
            schema: e["response"].get("schema").cloned(),
            auth: e["auth"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| auth.clone()),
        })
        .collect();
    Contract {
        api_version: v["api_version"].as_str().unwrap_or_default().to_string(),
        error: v["error"].clone(),
        endpoints,
    }
}

/// Every error of `instance` against `schema`.
fn validate(schema: &Value, instance: &Value) -> Result<(), String> {
    let v = jsonschema::validator_for(schema).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at `{}`", e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Whether a query or path value (always text on the wire) is valid as any of the JSON values it
/// can stand for: the string itself, an integer, a number or a boolean.
fn value_ok(raw: &str, schema: &Value) -> bool {
    let mut candidates = vec![Value::String(raw.into())];
    if let Ok(i) = raw.parse::<i64>() {
        candidates.push(i.into());
    } else if let Some(n) = raw
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        candidates.push(Value::Number(n));
    }
    if raw == "true" || raw == "false" {
        candidates.push(Value::Bool(raw == "true"));
    }
    candidates.iter().any(|c| validate(schema, c).is_ok())
}

/// Query pairs, decoded; `None` = a name without a value (dry-run plans withhold values).
fn query_pairs(q: &str) -> Vec<(String, Option<String>)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = url::form_urlencoded::parse(p.as_bytes())
                .next()
                .unwrap_or_default();
            (k.into_owned(), p.contains('=').then(|| v.into_owned()))
        })
        .collect()
}

impl Contract {
    /// The endpoint whose template matches (the most literal segments wins), with the path
    /// parameter values.
    fn endpoint(&self, method: &str, path: &str) -> Option<(&Endpoint, BTreeMap<String, String>)> {
        let segs: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &Endpoint, BTreeMap<String, String>)> = None;
        for e in self.endpoints.iter().filter(|e| e.method == method) {
            let tpl: Vec<&str> = e.path.split('/').collect();
            if tpl.len() != segs.len() {
                continue;
            }
            let mut params = BTreeMap::new();
            let mut literal = 0;
            let fits = tpl.iter().zip(&segs).all(|(t, s)| {
                match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        params.insert(name.to_string(), s.to_string());
                        true
                    }
                    Some(_) => false,
                    None => {
                        literal += 1;
                        t == s
                    }
                }
            });
            if fits && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, e, params));
            }
        }
        best.map(|(_, e, p)| (e, p))
    }

    /// Every way `method path?query` breaks the contract (empty = valid).
    fn check_request(&self, method: &str, path: &str, query: Option<&str>) -> Vec<String> {
        let Some((ep, params)) = self.endpoint(method, path) else {
            return vec![format!("{method} {path}: no such endpoint in the contract")];
        };
        let mut out = vec![];
        for (name, value) in &params {
            match ep.path_params.get(name) {
                Some(s) if value_ok(value, s) => {}
                Some(s) => out.push(format!(
                    "{method} {path}: path parameter {name}={value} does not match {s}"
                )),
                None => out.push(format!("{method} {path}: {name} is not a path parameter")),
            }
        }
        let pairs = query_pairs(query.unwrap_or(""));
        for (k, v) in &pairs {
            match (ep.query.get(k), v) {
                (None, _) => out.push(format!("{method} {path}: unknown query parameter `{k}`")),
                (Some(s), Some(v)) if !value_ok(v, s) => {
                    out.push(format!("{method} {path}: `{k}={v}` does not match {s}"))
                }
                _ => {}
            }
        }
        for r in &ep.required {
            let deep = format!("{r}[");
            if !pairs.iter().any(|(k, _)| k == r || k.starts_with(&deep)) {
                out.push(format!("{method} {path}: required parameter `{r}` missing"));
            }
        }
        out
    }

    /// Whether an answer to a request on `ep` is one the contract allows.
    fn check_response(
        &self,
        ep: &Endpoint,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let shown = || {
            let t = String::from_utf8_lossy(body);
            t.chars().take(160).collect::<String>()
        };
        if (200..300).contains(&status) {
            if status != ep.status {
                return Err(format!(
                    "status {status}; the contract documents {}",
                    ep.status
                ));
            }
            let ct = content_type.split(';').next().unwrap_or("").trim();
            if ct != ep.content_type {
                return Err(format!("content type `{ct}`, not `{}`", ep.content_type));
            }
            let Some(schema) = &ep.schema else {
                return Ok(());
            };
            let v: Value = serde_json::from_slice(body)
                .map_err(|_| format!("status {status}: not JSON: {:?}", shown()))?;
            return validate(schema, &v).map_err(|e| format!("status {status}: {e}"));
        }
        let v: Value = serde_json::from_slice(body).map_err(|_| {
            format!(
                "status {status}: not the vendor's error body: {:?}",
                shown()
            )
        })?;
        validate(&self.error, &v).map_err(|e| format!("status {status}: {e} in {}", shown()))
    }
}

// ------------------------------------------------------------------------------- the requests

/// One request as sent: method, path, raw query.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Req {
    method: String,
    path: String,
    query: Option<String>,
}

impl Req {
    fn get(path: &str, query: Option<String>) -> Req {
        Req {
            method: "GET".into(),
            path: path.into(),
            query: query.filter(|q| !q.is_empty()),
        }
    }

    fn shown(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{q}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    fn with_query(&self, pairs: &[(String, Option<String>)]) -> Req {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v.as_deref().unwrap_or(""));
        }
        Req::get(&self.path, Some(s.finish()))
    }
}

/// Key shapes the built-in emulator keys leave out (every connector classifies every key), and
/// well-formed keys the emulators do not know (the unknown-key branch).
const EXTRA_KEYS: &[(&str, &str)] = &[
    (
        "stripe",
        "rk_live_51DemoKey0000000000000000000000000000000000000097",
    ),
    (
        "stripe",
        "pk_live_51DemoKey0000000000000000000000000000000000000098",
    ),
    (
        "stripe",
        "sk_test_51DemoKey0000000000000000000000000000000000000099",
    ),
    ("stripe", "whsec_0000000000000000000000000000000000"),
    ("shopify", "shpua_00000000000000000000000000000b01"),
    ("shopify", "shpss_00000000000000000000000000000b02"),
    ("shopify", "shpat_0000000000000000000000000000ffff"),
    ("shopify", "0000000000000000000000000000b003"),
    (
        "adyen",
        "AQEvendorscopeEMULATORtestUNKNOWN00009Bw==-EMULATORemulatorEMULATORemulatorEMULATOR09=-vsEmu:unkn09",
    ),
    ("adyen", "test_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"),
    ("iterable", "0123456789abcdef0123456789abcdef"),
];

fn builtin_keys(vendor: &str) -> Vec<EmulatorKey> {
    builtin_config()
        .keys
        .into_iter()
        .filter(|k| k.vendor == vendor)
        .collect()
}

fn raw_keys(vendor: &str) -> Vec<String> {
    let mut keys: Vec<String> = builtin_keys(vendor).into_iter().map(|k| k.key).collect();
    keys.extend(
        EXTRA_KEYS
            .iter()
            .filter(|(v, _)| *v == vendor)
            .map(|(_, k)| k.to_string()),
    );
    keys
}

/// Every settings branch a connector reads: bulk endpoints on/off, region default/EU.
fn settings_branches(endpoint: Option<&Url>, shop: Option<&str>) -> Vec<ProbeSettings> {
    let mut out = vec![];
    for bulk in [false, true] {
        for region in [None, Some("eu")] {
            out.push(ProbeSettings {
                endpoint: endpoint.cloned(),
                shop: shop.map(str::to_string),
                region: region.map(str::to_string),
                probe_bulk_endpoints: bulk,
                ..Default::default()
            });
        }
    }
    out
}

fn inventory_key(n: usize) -> vendorscope::inventory::model::Key {
    // A distinct id per probe: the client's rate buckets are per key when no account is known.
    let mut k = vendors::cli_key(SecretRef::Env("UNUSED".into()), None);
    k.id = format!("contract-{n}");
    k
}

/// Path and query of a planned URL (the host may be a placeholder such as `<shop>`).
fn planned_req(method: &str, url: &str) -> Req {
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let pq = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    let (path, query) = match pq.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (pq, None),
    };
    Req {
        method: method.to_string(),
        ..Req::get(path, query)
    }
}

/// Every call the dry-run plan lists, for every key shape and settings branch, official hosts
/// and an endpoint override, with and without a shop.
fn planned(vendor: &str) -> BTreeSet<Req> {
    let endpoint = Url::parse("http://127.0.0.1:9/").expect("url");
    let mut out = BTreeSet::new();
    for raw in raw_keys(vendor) {
        for ep in [None, Some(&endpoint)] {
            for shop in [None, Some(SHOP)] {
                for s in settings_branches(ep, shop) {
                    let mut key = inventory_key(0);
                    for role in [None, Some(vendorscope::inventory::model::KeyRole::Audit)] {
                        key.role = role;
                        let plan = vendors::dry_run(vendor, &Secret::new(&raw), &key, &s);
                        for call in plan.unwrap_or_default() {
                            out.insert(planned_req(&call.method, &call.url));
                        }
                    }
                }
            }
        }
    }
    out
}

fn client_for(settings: &ProbeSettings) -> Client {
    let mut cfg = settings.client_config();
    cfg.backoff_base = Duration::from_millis(50);
    cfg.timeout = Duration::from_secs(10);
    cfg.rate_share = 1.0;
    Client::new(cfg).expect("client")
}

/// Every request the emulator logged while the connector probed every key, in every settings
/// branch (each branch on a fresh emulator, concurrently).
async fn logged(vendor: &str) -> BTreeSet<Req> {
    let runs = settings_branches(None, Some(SHOP))
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| async move {
            let emu = start(vendor).await;
            s.endpoint = Some(Url::parse(&emu.base_url).expect("url"));
            let client = client_for(&s);
            for (n, raw) in raw_keys(vendor).iter().enumerate() {
                let mut key = inventory_key(i * 100 + n);
                vendors::probe_key(vendor, &Secret::new(raw), &key, &s, &client).await;
                // As an audit key too: its governance lists are held to the contract.
                key.role = Some(vendorscope::inventory::model::KeyRole::Audit);
                vendors::probe_key(vendor, &Secret::new(raw), &key, &s, &client).await;
            }
            assert_eq!(emu.state.writes(), 0, "{vendor}: a probe wrote");
            emu.state.requests()
        });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .map(|r| Req {
            method: r.method,
            ..Req::get(&r.path, r.query)
        })
        .collect()
}

async fn start(vendor: &str) -> RunningEmulator {
    start_vendor(
        vendor,
        &builtin_config(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("emulator")
}

/// Contract violations, grouped by problem: each problem once, with where it was seen.
#[derive(Default)]
struct Violations(BTreeMap<String, BTreeSet<String>>);

impl Violations {
    fn add(&mut self, problem: String, at: String) {
        self.0.entry(problem).or_default().insert(at);
    }

    fn assert_none(self, vendor: &str, what: &str) {
        const PLACES: usize = 4;
        let n: usize = self.0.values().map(BTreeSet::len).sum();
        let lines: Vec<String> = self
            .0
            .into_iter()
            .map(|(problem, at)| {
                let more = at.len().saturating_sub(PLACES);
                let at: Vec<String> = at.into_iter().take(PLACES).collect();
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                format!("{problem}\n      at {}{more}", at.join("; "))
            })
            .collect();
        assert!(
            lines.is_empty(),
            "{vendor}: {n} {what} break the contract ({} problems):\n  {}",
            lines.len(),
            lines.join("\n  ")
        );
    }
}

async fn requests_match_the_contract(vendor: &str) {
    let c = contract(vendor);
    let mut bad = Violations::default();
    let plan = planned(vendor);
    assert!(!plan.is_empty(), "{vendor}: no dry-run plan at all");
    for r in &plan {
        for v in c.check_request(&r.method, &r.path, r.query.as_deref()) {
            bad.add(v, "the dry-run plan".into());
        }
    }
    let log = logged(vendor).await;
    assert!(!log.is_empty(), "{vendor}: the emulator saw no request");
    for r in &log {
        for v in c.check_request(&r.method, &r.path, r.query.as_deref()) {
            bad.add(v, "the emulator log".into());
        }
    }
    bad.assert_none(vendor, "emitted requests");
}

// ------------------------------------------------------------------------------- the answers

/// A value of `schema` (for path parameters and required query parameters of requests no
/// connector logged): the first candidate the contract accepts.
fn sample(schema: &Value, api_version: &str) -> String {
    let mut candidates: Vec<String> = schema["enum"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(m) = schema["minimum"].as_i64() {
        candidates.push(m.to_string());
    }
    candidates.extend([
        "vendorscope_probe_0".into(),
        "1".into(),
        api_version.to_string(),
    ]);
    candidates
        .into_iter()
        .find(|c| value_ok(c, schema))
        .unwrap_or_else(|| panic!("no sample value for {schema}"))
}

/// The request each contract endpoint is exercised with: one the connector sent, else one built
/// from the contract (path parameters and required query parameters only).
async fn base_requests(vendor: &str, c: &Contract) -> Vec<(usize, Req)> {
    let log = logged(vendor).await;
    let mut out = vec![];
    for (i, ep) in c.endpoints.iter().enumerate() {
        let sent: Vec<&Req> = log
            .iter()
            .filter(|r| {
                c.endpoint(&r.method, &r.path)
                    .is_some_and(|(e, _)| std::ptr::eq(e, ep))
            })
            .collect();
        if sent.is_empty() {
            let path: Vec<String> = ep
                .path
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => sample(&ep.path_params[name], &c.api_version),
                        None => s.to_string(),
                    },
                )
                .collect();
            let pairs: Vec<(String, Option<String>)> = ep
                .required
                .iter()
                .map(|r| (r.clone(), Some(sample(&ep.query[r], &c.api_version))))
                .collect();
            out.push((i, Req::get(&path.join("/"), None).with_query(&pairs)));
        } else {
            out.extend(sent.into_iter().map(|r| (i, r.clone())));
        }
    }
    out
}

/// The header carrying `key` in an auth form of the contract; `None` for a form that does not
/// carry an API key (Adyen's Basic auth takes a username and password).
fn auth_header(form: &Value, key: &str) -> Option<(String, String)> {
    match (form["type"].as_str(), form["scheme"].as_str()) {
        (Some("apiKey"), _) if form["in"] == "header" => {
            Some((form["name"].as_str()?.to_ascii_lowercase(), key.to_string()))
        }
        (Some("http"), Some("bearer")) => Some(("authorization".into(), format!("Bearer {key}"))),
        (Some("http"), Some("basic"))
            if form["description"]
                .as_str()
                .is_some_and(|d| d.contains("api_key")) =>
        {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
            Some(("authorization".into(), format!("Basic {b64}")))
        }
        _ => None,
    }
}

/// The auth form the connectors use: an API-key header, else bearer.
fn primary_auth(ep: &Endpoint) -> &Value {
    ep.auth
        .iter()
        .find(|f| f["type"] == "apiKey")
        .or_else(|| ep.auth.iter().find(|f| f["scheme"] == "bearer"))
        .expect("an auth form")
}

/// The hosts a key is sent to: the official hosts, the shop for `*.myshopify.com`.
fn hosts(vendor: &str, key: &EmulatorKey) -> Vec<String> {
    let c = vendors::connector(vendor).expect("connector");
    c.official_hosts()
        .iter()
        .map(|h| match h.strip_prefix("*.") {
            Some(_) => key.account.clone().unwrap_or_default(),
            None => h.to_string(),
        })
        .collect()
}

/// What to change on a fresh emulator before one request.
#[derive(Clone, Debug, Default)]
struct Setup {
    variant: Option<(&'static str, &'static str)>,
    throttle: bool,
    fail_status: Option<u16>,
}

impl Setup {
    fn shown(&self) -> String {
        match (self.variant, self.throttle, self.fail_status) {
            (Some((f, v)), _, _) => format!(" [{f}={v}]"),
            (_, true, _) => " [throttled]".into(),
            (_, _, Some(s)) => format!(" [injected {s}]"),
            _ => String::new(),
        }
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// One request on a fresh emulator (no rate bucket or variant carries over).
async fn ask(
    vendor: &str,
    req: &Req,
    host: &str,
    auth: Option<(String, String)>,
    setup: &Setup,
) -> Answer {
    let emu = start(vendor).await;
    if let Some((flag, value)) = setup.variant {
        emu.state.set_variant(flag, value);
    }
    emu.state.faults(|f| {
        if setup.throttle {
            f.throttle_next = 1;
            f.retry_after = Some("1".into());
        }
        if let Some(s) = setup.fail_status {
            f.fail_next = 1;
            f.fail_status = Some(s);
        }
    });
    let url = match &req.query {
        Some(q) => format!("{}{}?{q}", emu.base_url, req.path),
        None => format!("{}{}", emu.base_url, req.path),
    };
    vendorscope::http::init_tls();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut r = http.get(url).header("host", host);
    if let Some((name, value)) = auth {
        r = r.header(name, value);
    }
    let resp = r.send().await.expect("emulator answers");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.bytes().await.expect("body").to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

/// Variant flags of each emulator whose values play real vendor behaviour (from the emulator
/// module docs). Shopify `scopes_body: graphql_like` is an undocumented shape on purpose and
/// stays out, like the `Hostile` forms; so do the values an emulator tags as outside its
/// contract ([`off_contract`]: shapes OBSERVED on other APIs of the vendor, kept to test the
/// connector's tolerance).
const VARIANTS: &[(&str, &str, &str)] = &[
    ("stripe", "forbidden_wording", "enabling"),
    ("stripe", "restricted_account", "unavailable"),
    ("stripe", "publishable_status", "400"),
    ("stripe", "deleted_key", "invalid_api_key"),
    ("shopify", "retry_after", "absent"),
    ("shopify", "shop_state", "frozen"),
    ("shopify", "shop_state", "locked"),
    ("adyen", "unauthorized_body", "rest_service_error"),
    ("adyen", "unauthorized_body", "classic"),
    ("adyen", "unauthorized_body", "plain_text"),
    ("adyen", "unauthorized_body", "empty"),
    ("adyen", "ip_refusal_body", "classic"),
    ("adyen", "ip_refusal_body", "rest_service_error"),
    ("adyen", "ip_refusal_body", "plain_text"),
    ("adyen", "revoked", "inactive"),
    ("iterable", "wrong_type", "forbidden"),
    ("iterable", "invalid_get_fields", "fields_null"),
    ("iterable", "jwt_error", "invalid_jwt_payload"),
    ("iterable", "bad_api_key_params", "null"),
    ("iterable", "read_only_export", "allowed"),
    ("iterable", "retry_after", "none"),
];

/// The variant values an emulator tags as answering outside its contract.
fn off_contract(vendor: &str) -> &'static [(&'static str, &'static str)] {
    match vendor {
        "adyen" => vendorscope::vendors::adyen::emulator::OFF_CONTRACT_VARIANTS,
        "iterable" => vendorscope::vendors::iterable::emulator::OFF_CONTRACT_VARIANTS,
        _ => &[],
    }
}

/// The statuses injected through `Faults::fail_next`.
const FAULT_STATUSES: &[u16] = &[401, 403, 404, 429, 500, 503];

fn state_of(k: &EmulatorKey) -> &'static str {
    match k.state {
        KeyState::Active => "active",
        KeyState::Revoked => "revoked",
        KeyState::Expired => "expired",
    }
}

async fn responses_match_the_contract(vendor: &str) {
    let c = contract(vendor);
    let keys = builtin_keys(vendor);
    let mut setups = vec![Setup::default()];
    setups.extend(
        VARIANTS
            .iter()
            .filter(|(v, f, val)| *v == vendor && !off_contract(vendor).contains(&(*f, *val)))
            .map(|(_, f, val)| Setup {
                variant: Some((*f, *val)),
                ..Default::default()
            }),
    );
    let mut bad = Violations::default();
    let mut seen = 0usize;
    for (i, req) in base_requests(vendor, &c).await {
        let ep = &c.endpoints[i];
        let auth_form = primary_auth(ep);
        let mut check = |label: String, a: Answer| {
            seen += 1;
            if let Err(e) = c.check_response(ep, a.status, &a.content_type, &a.body) {
                bad.add(e, format!("{}{label}", req.shown()));
            }
        };
        for setup in &setups {
            for (n, k) in keys.iter().enumerate() {
                for host in hosts(vendor, k) {
                    let a = ask(vendor, &req, &host, auth_header(auth_form, &k.key), setup).await;
                    check(
                        format!(" key#{n} ({}) on {host}{}", state_of(k), setup.shown()),
                        a,
                    );
                }
            }
        }
        // No credential at all.
        let host = hosts(vendor, &keys[0]).remove(0);
        let a = ask(vendor, &req, &host, None, &Setup::default()).await;
        check(format!(" without a credential on {host}"), a);
        // The injected faults, on the first key.
        let auth = auth_header(auth_form, &keys[0].key);
        let mut faults = vec![Setup {
            throttle: true,
            ..Default::default()
        }];
        faults.extend(FAULT_STATUSES.iter().map(|s| Setup {
            fail_status: Some(*s),
            ..Default::default()
        }));
        for setup in faults {
            let a = ask(vendor, &req, &host, auth.clone(), &setup).await;
            check(setup.shown(), a);
        }
    }
    assert!(seen > 0, "{vendor}: no answer checked");
    bad.assert_none(vendor, "emulator answers");
}

// ------------------------------------------------------------------------------- strictness

/// The key, host and answer status of the first built-in key that gets past authentication on
/// `req` (a 2xx, else any answer other than 401/403/429).
async fn working_key(vendor: &str, ep: &Endpoint, req: &Req) -> Option<(String, String, u16)> {
    let mut fallback = None;
    for k in builtin_keys(vendor)
        .into_iter()
        .filter(|k| k.state == KeyState::Active)
    {
        for host in hosts(vendor, &k) {
            let auth = auth_header(primary_auth(ep), &k.key);
            let a = ask(vendor, req, &host, auth, &Setup::default()).await;
            if (200..300).contains(&a.status) {
                return Some((k.key, host, a.status));
            }
            if fallback.is_none() && ![401, 403, 429].contains(&a.status) {
                fallback = Some((k.key.clone(), host, a.status));
            }
        }
    }
    fallback
}

/// Requests the contract rejects, built from a valid one: (what, request, path-level).
fn invalid_variants(c: &Contract, ep: &Endpoint, base: &Req) -> Vec<(String, Req, bool)> {
    let pairs = query_pairs(base.query.as_deref().unwrap_or(""));
    let set = |name: &str, value: &str| -> Req {
        let mut p: Vec<(String, Option<String>)> =
            pairs.iter().filter(|(k, _)| k != name).cloned().collect();
        p.push((name.to_string(), Some(value.to_string())));
        base.with_query(&p)
    };
    let mut out = vec![(
        "an unknown query parameter".to_string(),
        set("vendorscope_unknown", "1"),
        false,
    )];
    for (name, s) in &ep.query {
        if s["enum"].is_array() {
            out.push((
                "a value outside its enum".into(),
                set(name, "vendorscope_not_in_enum"),
                false,
            ));
        }
        if s["type"] == "integer" {
            out.push((
                "a non-integer value".into(),
                set(name, "not_a_number"),
                false,
            ));
        }
        if let Some(max) = s["maximum"].as_i64() {
            let v = (max + 1).to_string();
            out.push(("a value above its maximum".into(), set(name, &v), false));
        }
        if let Some(min) = s["minimum"].as_i64() {
            let v = (min - 1).to_string();
            out.push(("a value below its minimum".into(), set(name, &v), false));
        }
    }
    for r in &ep.required {
        let deep = format!("{r}[");
        let p: Vec<(String, Option<String>)> = pairs
            .iter()
            .filter(|(k, _)| k != r && !k.starts_with(&deep))
            .cloned()
            .collect();
        out.push((
            format!("required `{r}` missing"),
            base.with_query(&p),
            false,
        ));
    }
    let tpl: Vec<&str> = ep.path.split('/').collect();
    let segs: Vec<&str> = base.path.split('/').collect();
    for (i, t) in tpl.iter().enumerate() {
        let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
            continue;
        };
        let s = &ep.path_params[name];
        if !(s["pattern"].is_string() || s["enum"].is_array()) {
            continue;
        }
        let Some(bad) = ["1999-13", "vendorscope_unsupported"]
            .into_iter()
            .find(|v| !value_ok(v, s))
        else {
            continue;
        };
        let mut p: Vec<&str> = segs.clone();
        p[i] = bad;
        out.push((
            "a path value outside its pattern".into(),
            Req {
                path: p.join("/"),
                ..base.clone()
            },
            true,
        ));
    }
    for (what, r, _) in &out {
        assert!(
            !c.check_request(&r.method, &r.path, r.query.as_deref())
                .is_empty(),
            "the validator accepts {what}: {}",
            r.shown()
        );
    }
    out
}

async fn emulator_rejects_what_the_contract_rejects(vendor: &str) {
    let c = contract(vendor);
    let mut bad = Violations::default();
    let mut done = BTreeSet::new();
    for (i, base) in base_requests(vendor, &c).await {
        if !done.insert(i) {
            continue; // one valid request per endpoint is enough
        }
        let ep = &c.endpoints[i];
        let Some((key, host, ok_status)) = working_key(vendor, ep, &base).await else {
            bad.add(
                "no built-in key gets past authentication".into(),
                base.shown(),
            );
            continue;
        };
        for (what, req, path_level) in invalid_variants(&c, ep, &base) {
            let a = ask(
                vendor,
                &req,
                &host,
                auth_header(primary_auth(ep), &key),
                &Setup::default(),
            )
            .await;
            let status_ok = if path_level {
                (400..500).contains(&a.status)
            } else {
                a.status == 400
            };
            if !status_ok {
                let expected = if path_level { "4xx" } else { "400" };
                bad.add(
                    format!("{what}: status {}, expected {expected}", a.status),
                    req.shown(),
                );
            } else if let Err(e) = c.check_response(ep, a.status, &a.content_type, &a.body) {
                bad.add(format!("{what}: {e}"), req.shown());
            }
        }
        // Every auth form the contract declares is accepted like the connector's own.
        for form in &ep.auth {
            let Some(h) = auth_header(form, &key) else {
                continue; // a form that does not carry the API key (Adyen Basic: user/password)
            };
            let a = ask(vendor, &base, &host, Some(h), &Setup::default()).await;
            if a.status != ok_status {
                bad.add(
                    format!(
                        "auth {form}: status {}, {ok_status} with the connector's form",
                        a.status
                    ),
                    base.shown(),
                );
            }
        }
    }
    bad.assert_none(vendor, "strictness checks");
}

// ------------------------------------------------------------------------------- tests

macro_rules! per_vendor {
    ($($vendor:ident),*) => {
        mod emitted_requests {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $vendor() {
                super::requests_match_the_contract(stringify!($vendor)).await;
            })*
        }
        mod emulator_answers {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $vendor() {
                super::responses_match_the_contract(stringify!($vendor)).await;
            })*
        }
        mod emulator_strictness {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $vendor() {
                super::emulator_rejects_what_the_contract_rejects(stringify!($vendor)).await;
            })*
        }
    };
}

per_vendor!(stripe, shopify, adyen, iterable);

/// (0) The contract files are what the generator makes of the specs (only where they exist).
#[test]
#[allow(clippy::print_stderr)]
fn contracts_are_generated_from_the_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("../shared/reference/specs").is_dir() {
        eprintln!("contracts: ../shared/reference/specs absent: generator check skipped");
        return;
    }
    let out = match std::process::Command::new("python3")
        .arg(root.join("tools/contracts.py"))
        .arg("--check")
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("contracts: python3 not found: generator check skipped");
            return;
        }
        Err(e) => panic!("python3: {e}"),
    };
    assert!(
        out.status.success(),
        "tools/contracts.py --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_contract_is_well_formed() {
    for vendor in ["stripe", "shopify", "adyen", "iterable"] {
        let c = contract(vendor);
        assert!(!c.endpoints.is_empty(), "{vendor}");
        jsonschema::validator_for(&c.error).unwrap_or_else(|e| panic!("{vendor} error: {e}"));
        for e in &c.endpoints {
            assert!(!e.auth.is_empty(), "{vendor} {}: no auth form", e.path);
            let schemas = e
                .query
                .values()
                .chain(e.path_params.values())
                .chain(&e.schema);
            for s in schemas {
                jsonschema::validator_for(s)
                    .unwrap_or_else(|err| panic!("{vendor} {}: {err}", e.path));
            }
        }
    }
}

// ------------------------------------------------------------------------------- the validator

#[test]
fn an_adyen_error_that_is_not_a_rest_service_error_fails() {
    let c = contract("adyen");
    let ep = &c.endpoints[0];
    let rest = br#"{"type":"https://docs.adyen.com/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Not allowed","errorCode":"010"}"#;
    assert_eq!(c.check_response(ep, 401, "application/json", rest), Ok(()));
    for body in [
        &br#"{"status":401,"errorCode":"010","message":"Not allowed","errorType":"security"}"#[..],
        b"010 Not allowed",
        b"",
        br#"{"type":"t","title":"Unauthorized","status":"401","detail":"d","errorCode":"000"}"#,
    ] {
        assert!(
            c.check_response(ep, 401, "application/json", body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // A /me answer without a required member, or with one the schema closes out.
    let me = |extra: &str| {
        format!(
            r#"{{"id":"S2-1","username":"ws@Company.X","clientKey":"test_X","allowedIpAddresses":[],"roles":[],"active":true{extra}}}"#
        )
    };
    assert_eq!(
        c.check_response(ep, 200, "application/json", me("").as_bytes()),
        Ok(())
    );
    let links = r#","_links":{"self":{"href":"s"},"company":{"href":"c"},"merchant":{"href":"m"}}"#;
    assert_eq!(
        c.check_response(ep, 200, "application/json", me(links).as_bytes()),
        Ok(())
    );
    assert!(
        c.check_response(
            ep,
            200,
            "application/json",
            me(r#","email":"x""#).as_bytes()
        )
        .is_err()
    );
    let no_key =
        br#"{"id":"S2-1","username":"u","allowedIpAddresses":[],"roles":[],"active":true}"#;
    assert!(
        c.check_response(ep, 200, "application/json", no_key)
            .is_err()
    );
}

#[test]
fn an_unknown_or_invalid_stripe_parameter_fails() {
    let c = contract("stripe");
    let ok = |p: &str, q: Option<&str>| c.check_request("GET", p, q);
    assert_eq!(
        ok("/v1/charges", Some("limit=1&created[gte]=4102444800")),
        Vec::<String>::new()
    );
    assert_eq!(
        ok("/v1/charges", Some("limit=1&created%5Bgte%5D=4102444800")),
        Vec::<String>::new()
    );
    assert_eq!(ok("/v1/account", None), Vec::<String>::new());
    assert_eq!(ok("/v1/quotes/qt_vendorscope0", None), Vec::<String>::new());
    for (path, q) in [
        ("/v1/charges", "limit=1&vendorscope=1"),
        ("/v1/charges", "limit=0"),
        ("/v1/charges", "limit=101"),
        ("/v1/charges", "limit=one"),
        ("/v1/charges", "created[gte]=tomorrow"),
        ("/v1/charges", "created[between]=1"),
        ("/v1/payment_methods/pm_x", "limit=1"),
        ("/v1/subscriptions", "status=sleeping"),
    ] {
        assert!(!ok(path, Some(q)).is_empty(), "{path}?{q} accepted");
    }
    // No such endpoint, or not a GET.
    assert!(!ok("/v1/charges/ch_1/refund", None).is_empty());
    assert!(!c.check_request("POST", "/v1/charges", None).is_empty());
    // Error types outside the spec's enum.
    let ep = &c.endpoints[0];
    let err = |t: &str| format!(r#"{{"error":{{"type":"{t}","message":"m"}}}}"#);
    assert_eq!(
        c.check_response(
            ep,
            400,
            "application/json",
            err("invalid_request_error").as_bytes()
        ),
        Ok(())
    );
    for t in ["rate_limit_error", "authentication_error"] {
        assert!(
            c.check_response(ep, 429, "application/json", err(t).as_bytes())
                .is_err(),
            "{t}"
        );
    }
}

#[test]
fn iterable_and_shopify_parameters_are_checked() {
    let c = contract("iterable");
    let export = "dataTypeName=user&startDateTime=2999-01-01+00%3A00%3A00+%2B00%3A00";
    assert!(
        c.check_request("GET", "/api/export/data.json", Some(export))
            .is_empty()
    );
    assert!(
        !c.check_request("GET", "/api/export/data.json", Some("dataTypeName=users"))
            .is_empty()
    );
    assert!(
        !c.check_request("GET", "/api/export/data.json", Some("range=Today"))
            .is_empty()
    );
    assert!(
        !c.check_request("GET", "/api/inApp/getMessages", Some("email=a%40b.example"))
            .is_empty()
    );
    assert!(
        c.check_request(
            "GET",
            "/api/inApp/getMessages",
            Some("email=a%40b.example&count=1")
        )
        .is_empty()
    );
    let ep = &c.endpoints[0];
    assert!(
        c.check_response(
            ep,
            401,
            "application/json",
            br#"{"msg":"m","code":"BadApiKey","params":null}"#
        )
        .is_ok()
    );
    assert!(
        c.check_response(
            ep,
            401,
            "application/json",
            br#"{"msg":"m","code":"NoSuchCode"}"#
        )
        .is_err()
    );
    assert!(
        c.check_response(ep, 200, "application/json", br#"{"fields":null}"#)
            .is_err()
    );

    let c = contract("shopify");
    assert!(
        c.check_request(
            "GET",
            "/admin/api/2025-10/shop.json",
            Some("fields=myshopify_domain")
        )
        .is_empty()
    );
    for v in ["2025-11", "unstable2", "latest"] {
        assert!(
            !c.check_request("GET", &format!("/admin/api/{v}/shop.json"), None)
                .is_empty(),
            "{v}"
        );
    }
    assert!(
        !c.check_request("GET", "/admin/oauth/access_scopes.json", Some("fields=x"))
            .is_empty()
    );
    let ep = &c.endpoints[0];
    assert!(
        c.check_response(
            ep,
            401,
            "application/json",
            br#"{"errors":"[API] Invalid API key"}"#
        )
        .is_ok()
    );
    assert!(
        c.check_response(ep, 422, "application/json", br#"{"errors":{"base":["x"]}}"#)
            .is_ok()
    );
    assert!(
        c.check_response(ep, 401, "application/json", br#"{"error":"x"}"#)
            .is_err()
    );
}
