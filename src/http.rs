//! The one guarded HTTP client (credentialed mode): GET/HEAD only, official or command-line-allowed endpoints, no redirects, retries, rate budgets, ledger.
//!
//! Every vendor call goes through [`Client::send`]. The checks happen in this order, all before
//! a byte leaves the process: method (GET/HEAD), URL host (official pattern or an
//! [`AllowedEndpoints`] entry from the command line), scheme (HTTPS unless the endpoint is
//! loopback), and — at connection time, in the DNS resolver — the *resolved* address (overrides
//! must resolve to loopback unless explicitly allowed remote; official hosts must resolve to
//! public addresses). Credentials travel in headers only, marked sensitive.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;
use zeroize::Zeroizing;

use crate::run::{CallSummary, LedgerEntry};
use crate::secret::Secret;

/// Installs the ring crypto provider for rustls once per process (reqwest is built with
/// `rustls-no-provider`, so nothing TLS works before this). Idempotent.
pub fn init_tls() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Largest response body ever read (error bodies, scope lists); the rest is dropped unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest wait a vendor header can impose (`Retry-After`, a call-limit budget). A vendor asking
/// for more ends the call as `inconclusive(rate_limited)` instead of holding the run: a hostile
/// or broken endpoint must not be able to park an audit for hours (or panic it with `1e300`).
pub const MAX_HEADER_WAIT: Duration = Duration::from_secs(60);

/// Largest call-limit bucket size taken at its word (Shopify documents 40 and 80; Plus and
/// GraphQL-era buckets stay far below this). A larger size is an impossible header.
pub const MAX_CALL_LIMIT_SIZE: u32 = 10_000;

/// Why a call did not produce a usable response. [`HttpError::reason`] is the
/// `inconclusive(reason)` word a connector reports.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("method {0} refused: the guarded client only sends GET and HEAD")]
    WriteRefused(String),
    #[error(
        "endpoint {0} refused: not an official host of this vendor and not allowed on the command line"
    )]
    EndpointRefused(String),
    #[error("endpoint {host} refused: it resolves to {addr}, which is not allowed")]
    AddressRefused { host: String, addr: String },
    #[error("plain HTTP to {0} refused: only loopback endpoints may skip TLS")]
    InsecureRefused(String),
    #[error("invalid URL: {0}")]
    BadUrl(String),
    #[error("redirect ({status}) to {location} not followed")]
    Redirect { status: u16, location: String },
    #[error("rate limited (429) after {attempts} attempt(s)")]
    RateLimited { attempts: u32 },
    #[error("server error {status} after {attempts} attempt(s)")]
    ServerError { status: u16, attempts: u32 },
    #[error("timed out after {attempts} attempt(s)")]
    Timeout { attempts: u32 },
    #[error("network error after {attempts} attempt(s): {message}")]
    Network { attempts: u32, message: String },
    #[error("credential cannot be sent as an HTTP header value")]
    BadCredential,
}

impl HttpError {
    /// The `inconclusive(reason)` word for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            HttpError::WriteRefused(_) => "write_refused",
            HttpError::EndpointRefused(_)
            | HttpError::AddressRefused { .. }
            | HttpError::InsecureRefused(_) => "endpoint_refused",
            HttpError::BadUrl(_) => "bad_url",
            HttpError::Redirect { .. } => "redirect",
            HttpError::RateLimited { .. } => "rate_limited",
            HttpError::ServerError { .. } => "server_error",
            HttpError::Timeout { .. } => "timeout",
            HttpError::Network { .. } => "network_error",
            HttpError::BadCredential => "format_mismatch",
        }
    }

    /// True when the request was refused before anything was sent.
    pub fn refused_before_sending(&self) -> bool {
        matches!(
            self,
            HttpError::WriteRefused(_)
                | HttpError::EndpointRefused(_)
                | HttpError::AddressRefused { .. }
                | HttpError::InsecureRefused(_)
                | HttpError::BadUrl(_)
                | HttpError::BadCredential
        )
    }
}

/// One `--allow-endpoint HOST[:PORT]` (or the host of `probe --endpoint URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEndpoint {
    /// Lower-case host name or IP literal (no brackets).
    pub host: String,
    /// `None` = any port.
    pub port: Option<u16>,
    /// Whether the host may resolve to a non-loopback address (never set from an inventory).
    pub allow_remote: bool,
}

impl std::str::FromStr for AllowedEndpoint {
    type Err = String;
    /// Accepts `HOST`, `HOST:PORT`, `[V6]:PORT` or a URL (`http://HOST:PORT/...`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty endpoint".into());
        }
        let with_scheme = if s.contains("://") {
            s.to_string()
        } else {
            format!("http://{s}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| format!("invalid endpoint `{s}`: {e}"))?;
        let host = url_host(&url).ok_or_else(|| format!("endpoint `{s}` has no host"))?;
        let explicit_port = url.port().or_else(|| {
            // A URL with an explicit scheme but default port still names a port.
            s.contains("://")
                .then(|| url.port_or_known_default())
                .flatten()
        });
        Ok(AllowedEndpoint {
            host,
            port: explicit_port,
            allow_remote: false,
        })
    }
}

/// Endpoint overrides allowed by the command line (`--allow-endpoint`, `probe --endpoint`).
/// An endpoint written in the inventory is used only if it matches one of these.
#[derive(Debug, Clone, Default)]
pub struct AllowedEndpoints(Vec<AllowedEndpoint>);

impl AllowedEndpoints {
    /// No overrides: official hosts only.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses `HOST[:PORT]` items; the error names the bad item.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut v = Vec::new();
        for i in items {
            v.push(i.as_ref().parse::<AllowedEndpoint>()?);
        }
        Ok(AllowedEndpoints(v))
    }

    /// Adds one entry.
    pub fn push(&mut self, e: AllowedEndpoint) {
        if !self.0.contains(&e) {
            self.0.push(e);
        }
    }

    /// Adds the host and port of a URL given with `--endpoint`.
    pub fn push_url(&mut self, url: &Url) {
        if let Some(host) = url_host(url) {
            self.push(AllowedEndpoint {
                host,
                port: url.port_or_known_default(),
                allow_remote: false,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn entries(&self) -> &[AllowedEndpoint] {
        &self.0
    }

    /// The entry allowing `host:port`, if any.
    pub fn find(&self, host: &str, port: u16) -> Option<&AllowedEndpoint> {
        let host = host.to_ascii_lowercase();
        self.0
            .iter()
            .find(|e| e.host == host && e.port.is_none_or(|p| p == port))
    }

    /// Whether `url` is an allowed override.
    pub fn allows_url(&self, url: &Url) -> bool {
        match (url_host(url), url.port_or_known_default()) {
            (Some(h), Some(p)) => self.find(&h, p).is_some(),
            _ => false,
        }
    }

    fn find_host(&self, host: &str) -> Option<&AllowedEndpoint> {
        let host = host.to_ascii_lowercase();
        self.0.iter().find(|e| e.host == host)
    }
}

/// Host of a URL, lower case, IPv6 without brackets.
pub fn url_host(url: &Url) -> Option<String> {
    match url.host()? {
        url::Host::Domain(d) => Some(d.to_ascii_lowercase()),
        url::Host::Ipv4(a) => Some(a.to_string()),
        url::Host::Ipv6(a) => Some(a.to_string()),
    }
}

/// Whether `host` matches an official-host pattern: exact, or `*.suffix` with exactly one
/// DNS label (`[a-z0-9-]`, not starting or ending with `-`) in place of `*`.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => match host.strip_suffix(suffix) {
            Some(label) => match label.strip_suffix('.') {
                Some(label) => valid_label(label),
                None => false,
            },
            None => false,
        },
        None => host == pattern,
    }
}

/// A DNS label as vendors accept it in account sub-domains.
pub fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Addresses an official vendor host must never resolve to (loopback, private, link-local,
/// metadata, unspecified): a DNS answer pointing there is an attack or a misconfiguration.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(a) => {
            a.is_loopback()
                || a.is_unspecified()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// How a credential is attached. The header value is built inside the client and marked
/// sensitive (never logged by the HTTP stack, HPACK never-indexed).
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <key>` (Stripe).
    Bearer(&'a Secret),
    /// A named header carrying the raw key (`X-Shopify-Access-Token`, `Api-Key`, `X-API-Key`).
    Header(&'static str, &'a Secret),
}

/// Which parts of a response body the connector may see. There is no "read it all": a 2xx
/// body is either dropped unread or cut down to the named fields while it is parsed, so a
/// vendor answer full of personal data (an account's e-mail, a shop owner's address) never
/// exists as a value in memory, in the profile, in a log or in a `--record` transcript.
/// Non-2xx bodies (error messages) are read whole, up to [`MAX_BODY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRead {
    /// Keep only these members of a 2xx JSON body: dotted paths (`shop.myshopify_domain`,
    /// `_links.company.href`); a path through an array applies to each element
    /// (`access_scopes.handle`); a last segment [`NAMES_ONLY`] keeps an object's member names
    /// with null values (`fields.[names]`: a schema's field names, never its values); a last
    /// segment [`ORIGIN_ONLY`] keeps only the scheme and host of a URL string
    /// (`data.url.[origin]`: a webhook URL's path and query, often its secret, are never built).
    /// Every other member is skipped without being built. A 2xx body that is not JSON is dropped.
    Fields(&'static [&'static str]),
    /// Read only non-2xx bodies (error messages); a 2xx body of a data endpoint is dropped unread.
    ErrorsOnly,
}

/// The fields of a JSON body that [`BodyRead::Fields`] keeps, re-serialised; `None` when the
/// body is not JSON. Only the kept members are ever built as values.
pub fn project_fields(body: &[u8], fields: &[&str]) -> Option<Vec<u8>> {
    use serde::de::DeserializeSeed;
    let mut tree = Projection::default();
    for f in fields {
        let mut node = &mut tree;
        for part in f.split('.') {
            node = node.0.entry(part.to_string()).or_default();
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = (&tree).deserialize(&mut de).ok()?;
    de.end().ok()?;
    serde_json::to_vec(&v).ok()
}

/// The path segment of [`BodyRead::Fields`] that keeps member names only.
pub const NAMES_ONLY: &str = "[names]";

/// The path segment of [`BodyRead::Fields`] that keeps a URL's `scheme://host[:port]` only
/// (through [`crate::guard::url::destination`]).
pub const ORIGIN_ONLY: &str = "[origin]";

/// A tree of kept member names; an empty node keeps its whole subtree.
#[derive(Default)]
struct Projection(std::collections::BTreeMap<String, Projection>);

impl<'de> serde::de::DeserializeSeed<'de> for &Projection {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.is_empty() {
            serde::Deserialize::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> serde::de::Visitor<'de> for &Projection {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        let names_only = self.0.contains_key(NAMES_ONLY);
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if names_only {
                m.next_value::<serde::de::IgnoredAny>()?;
                out.insert(k.into_owned(), serde_json::Value::Null);
                continue;
            }
            match self.0.get(k.as_ref()) {
                Some(sub) => {
                    let v = m.next_value_seed(sub)?;
                    out.insert(k.into_owned(), v);
                }
                None => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(serde_json::Value::Object(out))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = s.next_element_seed(self)? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    // A scalar where members were expected: nothing of it is kept.
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        if self.0.contains_key(ORIGIN_ONLY) {
            return Ok(crate::guard::url::destination(v)
                .map_or(serde_json::Value::Null, serde_json::Value::String));
        }
        Ok(serde_json::Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
}

/// A documented rate that one request counts against. The client spends only
/// `rate_share × per_second` of it.
#[derive(Debug, Clone)]
pub struct RateSpec {
    /// Bucket name: vendor + account (+ endpoint), e.g. `shopify:acme.myshopify.com`.
    pub bucket: String,
    /// The vendor's documented limit, requests per second.
    pub per_second: f64,
}

/// A response header that reports the vendor's own bucket as `used/size` (Shopify's
/// `X-Shopify-Shop-Api-Call-Limit`).
#[derive(Debug, Clone)]
pub struct BudgetHeader {
    pub header: &'static str,
    /// Which of the request's buckets the header describes.
    pub bucket: String,
    /// Documented leak rate of the vendor's bucket, requests per second.
    pub leak_per_second: f64,
}

/// Who a call is made for: goes to the ledger (never the key itself).
#[derive(Debug, Clone, Default)]
pub struct CallIdentity {
    pub vendor: String,
    pub key_id: Option<String>,
    pub fingerprint: Option<String>,
}

/// One request to a vendor.
pub struct Request<'a> {
    pub method: Method,
    pub url: Url,
    /// Path template recorded in the ledger (no ids, no query values), e.g. `/v1/customers`.
    pub template: String,
    /// The connector's official host patterns (`*.myshopify.com`, `api.stripe.com`).
    pub official_hosts: &'a [&'a str],
    pub auth: Auth<'a>,
    /// Non-secret extra headers (`Stripe-Version`, `Host` for an emulator override).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The vendor API version these headers (or the path) pin, recorded in the ledger.
    pub api_version: Option<&'static str>,
    pub rates: Vec<RateSpec>,
    pub budget_header: Option<BudgetHeader>,
    pub body: BodyRead,
    pub who: CallIdentity,
}

impl<'a> Request<'a> {
    /// A GET with no auth, no rates, errors-only body; fill in the rest with struct update.
    pub fn get(url: Url, template: impl Into<String>, official_hosts: &'a [&'a str]) -> Self {
        Request {
            method: Method::GET,
            url,
            template: template.into(),
            official_hosts,
            auth: Auth::None,
            headers: vec![],
            api_version: None,
            rates: vec![],
            budget_header: None,
            body: BodyRead::ErrorsOnly,
            who: CallIdentity::default(),
        }
    }
}

/// A vendor response (body read only when allowed and at most [`MAX_BODY_BYTES`]).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
    /// Method, URL without query values, status: for the key profile's `calls`.
    pub call: CallSummary,
    pub attempts: u32,
}

impl Response {
    /// The body parsed as JSON, if it was read and is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Client settings; the defaults are the product's.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per request, including the first (retries only on 429, 5xx, timeouts, resets).
    pub max_attempts: u32,
    /// First backoff when no `Retry-After` is given; doubles per attempt.
    pub backoff_base: Duration,
    /// A `Retry-After` longer than this ends the retries (`inconclusive(rate_limited)`).
    pub max_retry_wait: Duration,
    /// Requests in flight at once, all vendors together.
    pub max_concurrency: usize,
    /// Share of each documented rate limit the client may spend (default 0.5).
    pub rate_share: f64,
    /// Overrides allowed by the command line.
    pub allowed: AllowedEndpoints,
    /// Official host patterns of every connector (used by the resolver check).
    pub official_hosts: Vec<String>,
    /// Keep request/response transcripts (`probe --record DIR`); credentials are redacted.
    pub record: bool,
}

/// One request/response exchange for `--record`. The credential header is redacted here;
/// the writer still passes everything through the output filter.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Transcript {
    pub attempt: u32,
    pub method: String,
    /// Full URL (query values included: probes put nothing secret in URLs).
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    /// The body as read (data-endpoint bodies are never read, so they are absent).
    pub body: Option<String>,
    pub error: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 3,
            backoff_base: Duration::from_millis(500),
            max_retry_wait: Duration::from_secs(30),
            max_concurrency: 16,
            rate_share: 0.5,
            allowed: AllowedEndpoints::none(),
            official_hosts: vec![],
            record: false,
        }
    }
}

/// Counters for benchmarks and run metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP attempts that were sent.
    pub attempts: u64,
    /// Responses with status 429.
    pub responses_429: u64,
    /// Retries made (any reason).
    pub retries: u64,
}

struct Bucket {
    limiter: DefaultDirectRateLimiter,
    /// Set by a 429 `Retry-After` or a budget header: nobody sends before this.
    pause_until: Mutex<Option<Instant>>,
}

/// The guarded client. Cheap to share (`Arc`) across concurrent probes.
pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
    sem: tokio::sync::Semaphore,
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    ledger: Mutex<Vec<LedgerEntry>>,
    attempts: AtomicU64,
    responses_429: AtomicU64,
    retries: AtomicU64,
    transcripts: Mutex<Vec<Transcript>>,
    warnings: Mutex<Vec<String>>,
}

/// Checks resolved addresses at connection time (no time-of-check/time-of-use gap).
struct GuardedResolver {
    allowed: AllowedEndpoints,
    official: Vec<String>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allowed = self.allowed.find_host(&host).cloned();
        let official = self.official.iter().any(|p| host_matches(p, &host));
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host}: no address").into());
            }
            for a in &addrs {
                let ip = a.ip();
                let ok = match &allowed {
                    Some(e) => ip.is_loopback() || (e.allow_remote && !is_internal(ip)),
                    None => official && !is_internal(ip),
                };
                if !ok {
                    return Err(format!("{host} resolves to {ip}, which is not allowed").into());
                }
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

impl Client {
    /// Builds the client: rustls with certificate checks, no redirects, no proxies, the
    /// resolver check, timeouts.
    pub fn new(cfg: ClientConfig) -> Result<Self, HttpError> {
        init_tls();
        let resolver = GuardedResolver {
            allowed: cfg.allowed.clone(),
            official: cfg.official_hosts.clone(),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("vendorscope/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(resolver)
            .build()
            .map_err(|e| HttpError::Network {
                attempts: 0,
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
            sem: tokio::sync::Semaphore::new(cfg.max_concurrency.max(1)),
            cfg,
            buckets: Mutex::new(HashMap::new()),
            ledger: Mutex::new(Vec::new()),
            attempts: AtomicU64::new(0),
            responses_429: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            transcripts: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Every call made so far.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.ledger.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Drains the ledger.
    pub fn take_ledger(&self) -> Vec<LedgerEntry> {
        self.ledger
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// Transcripts kept when `record` is set.
    pub fn transcripts(&self) -> Vec<Transcript> {
        self.transcripts
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)] // one call site per outcome; a struct would only rename them
    fn transcribe(
        &self,
        req: &Request<'_>,
        attempt: u32,
        auth: &Option<(HeaderName, HeaderValue)>,
        status: Option<u16>,
        headers: Option<&HeaderMap>,
        body: Option<&[u8]>,
        error: Option<String>,
    ) {
        if !self.cfg.record {
            return;
        }
        let mut request_headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("(binary)").to_string()))
            .collect();
        if let (Some((k, _)), Auth::Bearer(s) | Auth::Header(_, s)) = (auth, req.auth) {
            request_headers.push((k.to_string(), format!("(redacted {})", s.redacted())));
        }
        let t = Transcript {
            attempt,
            method: req.method.to_string(),
            url: req.url.to_string(),
            request_headers,
            status,
            response_headers: headers
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("(binary)").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            body: body.map(|b| String::from_utf8_lossy(b).into_owned()),
            error,
        };
        if let Ok(mut l) = self.transcripts.lock() {
            l.push(t);
        }
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            attempts: self.attempts.load(Ordering::Relaxed),
            responses_429: self.responses_429.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// The checks made before anything is sent: method, host, scheme. Used by `--dry-run` too.
    pub fn check(
        &self,
        method: &Method,
        url: &Url,
        official_hosts: &[&str],
    ) -> Result<(), HttpError> {
        check_target(&self.cfg.allowed, method, url, official_hosts)
    }

    fn bucket(&self, spec: &RateSpec) -> Arc<Bucket> {
        let Ok(mut map) = self.buckets.lock() else {
            // A poisoned map only happens after a panic elsewhere; fall back to a private
            // bucket at the same rate (still rate-limited).
            return Arc::new(new_bucket(spec.per_second * self.cfg.rate_share));
        };
        map.entry(spec.bucket.clone())
            .or_insert_with(|| Arc::new(new_bucket(spec.per_second * self.cfg.rate_share)))
            .clone()
    }

    async fn wait_for_budget(&self, buckets: &[Arc<Bucket>]) {
        for b in buckets {
            loop {
                let until = b.pause_until.lock().ok().and_then(|p| *p);
                match until {
                    Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                    _ => break,
                }
            }
            b.limiter.until_ready().await;
        }
    }

    fn pause(buckets: &[Arc<Bucket>], wait: Duration) {
        let Some(until) = Instant::now().checked_add(wait.min(MAX_HEADER_WAIT)) else {
            return;
        };
        for b in buckets {
            if let Ok(mut p) = b.pause_until.lock()
                && p.is_none_or(|cur| cur < until)
            {
                *p = Some(until);
            }
        }
    }

    fn record(
        &self,
        req: &Request<'_>,
        status: Option<u16>,
        started: Instant,
        attempt: u32,
        note: Option<String>,
    ) {
        let entry = LedgerEntry {
            vendor: req.who.vendor.clone(),
            key_id: req.who.key_id.clone(),
            fingerprint: req.who.fingerprint.clone(),
            method: req.method.to_string(),
            host: host_port(&req.url),
            path: req.template.clone(),
            status,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            attempt,
            at: crate::run::now_rfc3339(),
            note,
            api_version: req.api_version.map(str::to_string),
        };
        if let Ok(mut l) = self.ledger.lock() {
            l.push(entry);
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.cfg
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(10))
    }

    /// Sends one request with every guard, retry and budget applied.
    pub async fn send(&self, req: Request<'_>) -> Result<Response, HttpError> {
        self.check(&req.method, &req.url, req.official_hosts)?;
        let auth = auth_header(req.auth)?;
        let buckets: Vec<Arc<Bucket>> = req.rates.iter().map(|r| self.bucket(r)).collect();
        let call_url = display_url(&req.url, &req.template);
        let max = self.cfg.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.wait_for_budget(&buckets).await;
            let Ok(_permit) = self.sem.acquire().await else {
                return Err(HttpError::Network {
                    attempts: attempt,
                    message: "client shut down".into(),
                });
            };
            let mut rb = self.http.request(req.method.clone(), req.url.clone());
            for (k, v) in &req.headers {
                rb = rb.header(k.clone(), v.clone());
            }
            if let Some((k, v)) = &auth {
                rb = rb.header(k.clone(), v.clone());
            }
            let started = Instant::now();
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let result = rb.send().await;
            let retry_wait: Duration;
            let final_err: HttpError;
            match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    if let Some(bh) = &req.budget_header {
                        self.apply_budget_header(&headers, bh, &req.rates);
                    }
                    if (300..400).contains(&status) && status != 304 {
                        let location = headers
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(redirect_target)
                            .unwrap_or_else(|| "(no location)".into());
                        self.record(
                            &req,
                            Some(status),
                            started,
                            attempt,
                            Some(format!("redirect to {location} not followed")),
                        );
                        self.transcribe(
                            &req,
                            attempt,
                            &auth,
                            Some(status),
                            Some(&headers),
                            None,
                            Some("redirect not followed".into()),
                        );
                        return Err(HttpError::Redirect { status, location });
                    }
                    if status == 429 || status >= 500 {
                        if status == 429 {
                            self.responses_429.fetch_add(1, Ordering::Relaxed);
                        }
                        let ra = retry_after(&headers);
                        let cap = MAX_HEADER_WAIT.as_secs();
                        self.record(
                            &req,
                            Some(status),
                            started,
                            attempt,
                            match ra {
                                Some(RetryAfter::Wait(d)) => {
                                    Some(format!("retry-after {}ms", d.as_millis()))
                                }
                                Some(RetryAfter::TooLong) => {
                                    Some(format!("retry-after beyond the {cap} s cap: not retried"))
                                }
                                Some(RetryAfter::Invalid) => {
                                    Some("retry-after invalid: ignored".into())
                                }
                                None => None,
                            },
                        );
                        drop(resp);
                        self.transcribe(
                            &req,
                            attempt,
                            &auth,
                            Some(status),
                            Some(&headers),
                            None,
                            None,
                        );
                        final_err = if status == 429 {
                            HttpError::RateLimited { attempts: attempt }
                        } else {
                            HttpError::ServerError {
                                status,
                                attempts: attempt,
                            }
                        };
                        retry_wait = match ra {
                            Some(RetryAfter::Wait(d)) => d,
                            // The vendor asked for longer than any run should wait.
                            Some(RetryAfter::TooLong) => return Err(final_err),
                            Some(RetryAfter::Invalid) | None => self.backoff(attempt),
                        };
                        if retry_wait > self.cfg.max_retry_wait.min(MAX_HEADER_WAIT) {
                            return Err(final_err);
                        }
                        if status == 429 {
                            // The whole account bucket waits, not just this request.
                            Self::pause(&buckets, retry_wait);
                        }
                    } else {
                        let success = (200..300).contains(&status);
                        let keep = match req.body {
                            BodyRead::Fields(f) if success => Some(f),
                            _ => None,
                        };
                        let read = keep.is_some() || !success;
                        let body = if read && req.method == Method::GET {
                            match read_limited(resp).await {
                                // The whole 2xx body lives only in this buffer, dropped here.
                                Ok(b) => match keep {
                                    Some(f) => project_fields(&b, f),
                                    None => Some(b),
                                },
                                Err(e) => {
                                    let timeout = e.is_timeout();
                                    self.record(
                                        &req,
                                        Some(status),
                                        started,
                                        attempt,
                                        Some(if timeout {
                                            "body timed out".into()
                                        } else {
                                            "body read failed".into()
                                        }),
                                    );
                                    if attempt < max {
                                        self.retries.fetch_add(1, Ordering::Relaxed);
                                        tokio::time::sleep(self.backoff(attempt)).await;
                                        continue;
                                    }
                                    return Err(if timeout {
                                        HttpError::Timeout { attempts: attempt }
                                    } else {
                                        HttpError::Network {
                                            attempts: attempt,
                                            message: "response body could not be read".into(),
                                        }
                                    });
                                }
                            }
                        } else {
                            None
                        };
                        self.record(&req, Some(status), started, attempt, None);
                        self.transcribe(
                            &req,
                            attempt,
                            &auth,
                            Some(status),
                            Some(&headers),
                            body.as_deref(),
                            None,
                        );
                        return Ok(Response {
                            status,
                            headers,
                            body,
                            call: CallSummary {
                                method: req.method.to_string(),
                                url: call_url,
                                status: Some(status),
                            },
                            attempts: attempt,
                        });
                    }
                }
                Err(e) => {
                    let timeout = e.is_timeout();
                    let message = error_chain(&e);
                    self.transcribe(
                        &req,
                        attempt,
                        &auth,
                        None,
                        None,
                        None,
                        Some(message.clone()),
                    );
                    self.record(
                        &req,
                        None,
                        started,
                        attempt,
                        Some(if timeout {
                            "timeout".into()
                        } else {
                            message.clone()
                        }),
                    );
                    if is_refusal(&message) {
                        return Err(HttpError::AddressRefused {
                            host: host_port(&req.url),
                            addr: message,
                        });
                    }
                    retry_wait = self.backoff(attempt);
                    final_err = if timeout {
                        HttpError::Timeout { attempts: attempt }
                    } else {
                        HttpError::Network {
                            attempts: attempt,
                            message,
                        }
                    };
                }
            }
            if attempt >= max || retry_wait > self.cfg.max_retry_wait.min(MAX_HEADER_WAIT) {
                return Err(final_err);
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            drop(_permit);
            tokio::time::sleep(retry_wait).await;
        }
    }

    fn apply_budget_header(&self, headers: &HeaderMap, bh: &BudgetHeader, rates: &[RateSpec]) {
        let Some(value) = headers.get(bh.header) else {
            return;
        };
        let (used, size) = match value.to_str().ok().and_then(parse_call_limit) {
            Some(p) => p,
            None => {
                // The value itself is vendor text: not repeated.
                self.warn(format!(
                    "{}: unreadable `{}` header ignored (expected USED/SIZE)",
                    bh.bucket, bh.header
                ));
                return;
            }
        };
        if let Some(why) = implausible_call_limit(used, size) {
            self.warn(format!(
                "{}: impossible `{}` header {used}/{size} ignored ({why})",
                bh.bucket, bh.header
            ));
            return;
        }
        let threshold = f64::from(size) * self.cfg.rate_share;
        let leak = bh.leak_per_second;
        if f64::from(used) < threshold || leak.is_nan() || leak <= 0.0 {
            return;
        }
        let secs = (f64::from(used) - threshold + 1.0) / leak;
        let wait = Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_HEADER_WAIT)
            .min(MAX_HEADER_WAIT);
        let buckets: Vec<Arc<Bucket>> = rates
            .iter()
            .filter(|r| r.bucket == bh.bucket)
            .map(|r| self.bucket(r))
            .collect();
        Self::pause(&buckets, wait);
    }

    /// Records a warning for the run once (same text, same warning).
    fn warn(&self, msg: String) {
        tracing::debug!("{msg}");
        if let Ok(mut w) = self.warnings.lock()
            && !w.contains(&msg)
        {
            w.push(msg);
        }
    }

    /// Drains the warnings the client recorded (impossible vendor headers), for the run.
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

fn new_bucket(per_second: f64) -> Bucket {
    let per_second = if per_second.is_finite() && per_second > 0.0 {
        per_second
    } else {
        1.0
    };
    let period = Duration::try_from_secs_f64(1.0 / per_second)
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_micros(1));
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(nonzero_one()));
    Bucket {
        limiter: RateLimiter::direct(quota),
        pause_until: Mutex::new(None),
    }
}

fn nonzero_one() -> std::num::NonZeroU32 {
    std::num::NonZeroU32::MIN
}

/// `used/size` from a call-limit header such as `32/40` (numbers only; see
/// [`implausible_call_limit`] for the values that cannot be true).
pub fn parse_call_limit(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('/')?;
    let used = a.trim().parse().ok()?;
    let size: u32 = b.trim().parse().ok()?;
    (size > 0).then_some((used, size))
}

/// What a `Retry-After` header asks for, parsed with bounds (never a panic, never an
/// unbounded wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long; at most [`MAX_HEADER_WAIT`].
    Wait(Duration),
    /// Longer than [`MAX_HEADER_WAIT`] (`1e300`, `2^64`, a date years ahead): not retried.
    TooLong,
    /// Present but not a delay (negative, not a number, not an HTTP date): ignored.
    Invalid,
}

/// `Retry-After` as seconds (integer or decimal such as Shopify's `2.0`) or an HTTP date,
/// bounded by [`MAX_HEADER_WAIT`]. `None` when the header is absent.
pub fn retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?;
    let Ok(v) = v.to_str() else {
        return Some(RetryAfter::Invalid);
    };
    Some(parse_retry_after(v.trim(), jiff::Timestamp::now()))
}

/// [`retry_after`] on a header value, relative to `now`.
pub fn parse_retry_after(v: &str, now: jiff::Timestamp) -> RetryAfter {
    let cap = MAX_HEADER_WAIT.as_secs_f64();
    if let Ok(secs) = v.parse::<f64>() {
        return if secs.is_nan() || secs < 0.0 {
            RetryAfter::Invalid
        } else if secs > cap {
            // Infinity and anything past the cap, before any conversion that could overflow.
            RetryAfter::TooLong
        } else {
            Duration::try_from_secs_f64(secs).map_or(RetryAfter::Invalid, RetryAfter::Wait)
        };
    }
    let Ok(when) = jiff::fmt::rfc2822::parse(v) else {
        return RetryAfter::Invalid;
    };
    let d = when.timestamp().duration_since(now);
    if d.is_negative() {
        return RetryAfter::Wait(Duration::ZERO);
    }
    match Duration::try_from(d) {
        Ok(d) if d <= MAX_HEADER_WAIT => RetryAfter::Wait(d),
        _ => RetryAfter::TooLong,
    }
}

/// Why a call-limit header cannot be believed, or `None` when it can.
pub fn implausible_call_limit(used: u32, size: u32) -> Option<&'static str> {
    if size == 0 {
        Some("bucket size 0")
    } else if size > MAX_CALL_LIMIT_SIZE {
        Some("bucket size beyond any documented one")
    } else if used > size {
        Some("more calls used than the bucket holds")
    } else {
        None
    }
}

fn check_target(
    allowed: &AllowedEndpoints,
    method: &Method,
    url: &Url,
    official_hosts: &[&str],
) -> Result<(), HttpError> {
    if *method != Method::GET && *method != Method::HEAD {
        return Err(HttpError::WriteRefused(method.to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::BadUrl("credentials in URLs are refused".into()));
    }
    let host = url_host(url).ok_or_else(|| HttpError::BadUrl("no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| HttpError::BadUrl("no port".into()))?;
    let official = official_hosts.iter().any(|p| host_matches(p, &host));
    if official && url.scheme() == "https" && url.port().is_none() {
        return Ok(());
    }
    let Some(entry) = allowed.find(&host, port) else {
        return Err(HttpError::EndpointRefused(host_port(url)));
    };
    // IP literals never reach the resolver: check them here.
    let ip_literal: Option<IpAddr> = host.parse().ok();
    let loopback_name = host == "localhost";
    let loopback = ip_literal.is_some_and(|ip| ip.is_loopback()) || loopback_name;
    if let Some(ip) = ip_literal
        && !ip.is_loopback()
        && (!entry.allow_remote || is_internal(ip))
    {
        return Err(HttpError::AddressRefused {
            host: host_port(url),
            addr: ip.to_string(),
        });
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(HttpError::InsecureRefused(host_port(url))),
        other => Err(HttpError::BadUrl(format!("scheme {other} not supported"))),
    }
}

fn auth_header(auth: Auth<'_>) -> Result<Option<(HeaderName, HeaderValue)>, HttpError> {
    let (name, value) = match auth {
        Auth::None => return Ok(None),
        Auth::Bearer(s) => {
            let v = Zeroizing::new(format!("Bearer {}", s.expose()));
            (reqwest::header::AUTHORIZATION, HeaderValue::from_str(&v))
        }
        Auth::Header(n, s) => (
            HeaderName::from_static_checked(n)?,
            HeaderValue::from_str(s.expose()),
        ),
    };
    let mut value = value.map_err(|_| HttpError::BadCredential)?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

trait FromStaticChecked: Sized {
    fn from_static_checked(n: &'static str) -> Result<Self, HttpError>;
}

impl FromStaticChecked for HeaderName {
    fn from_static_checked(n: &'static str) -> Result<Self, HttpError> {
        HeaderName::from_bytes(n.to_ascii_lowercase().as_bytes())
            .map_err(|_| HttpError::BadCredential)
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(out)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ")
}

fn is_refusal(message: &str) -> bool {
    message.contains("which is not allowed")
}

/// `host[:port]` as recorded (port only when not the scheme's default).
pub fn host_port(url: &Url) -> String {
    let host = url_host(url).unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// `scheme://host[:port]` + template: what `calls` and `--dry-run` show.
pub fn display_url(url: &Url, template: &str) -> String {
    format!("{}://{}{}", url.scheme(), host_port(url), template)
}

/// A path template without query values: `/v1/customers?limit&created[gte]`.
pub fn template_of(url: &Url) -> String {
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    if keys.is_empty() {
        url.path().to_string()
    } else {
        format!("{}?{}", url.path(), keys.join("&"))
    }
}

/// Only scheme and host of a redirect target are recorded (a Location can carry tokens).
fn redirect_target(loc: &str) -> String {
    match Url::parse(loc) {
        Ok(u) => format!("{}://{}", u.scheme(), host_port(&u)),
        Err(_) => "(relative location)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_only_the_named_members() {
        let body = br#"{"id":"acct_1","object":"account","email":"owner@example.com",
            "individual":{"first_name":"Jane","phone":"+15551234567"},
            "shop":{"myshopify_domain":"a.myshopify.com","email":"o@example.com","address1":"1 Main"},
            "access_scopes":[{"handle":"read_orders","x":"y"},{"handle":"read_products"}],
            "_links":{"company":{"href":"https://x/companies/C1"},"self":{"href":"s"}}}"#;
        let kept = project_fields(
            body,
            &[
                "id",
                "object",
                "shop.myshopify_domain",
                "access_scopes.handle",
                "_links.company.href",
            ],
        )
        .expect("json");
        let v: serde_json::Value = serde_json::from_slice(&kept).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"id":"acct_1","object":"account",
                "shop":{"myshopify_domain":"a.myshopify.com"},
                "access_scopes":[{"handle":"read_orders"},{"handle":"read_products"}],
                "_links":{"company":{"href":"https://x/companies/C1"}}})
        );
        let text = String::from_utf8(kept).expect("utf8");
        for planted in [
            "owner@example.com",
            "Jane",
            "+1555",
            "1 Main",
            "o@example.com",
        ] {
            assert!(!text.contains(planted), "{planted} kept");
        }
        let names = project_fields(
            br#"{"fields":{"email":"string","a.b":{"x":1}},"n":2}"#,
            &["fields.[names]"],
        );
        assert_eq!(
            names.as_deref(),
            Some(&br#"{"fields":{"a.b":null,"email":null}}"#[..])
        );
        // A scalar where an object was expected keeps nothing; not JSON is dropped.
        assert_eq!(
            project_fields(br#"{"shop":"x@y"}"#, &["shop.domain"]).as_deref(),
            Some(&br#"{"shop":null}"#[..])
        );
        assert_eq!(project_fields(b"<html>", &["id"]), None);
        assert_eq!(project_fields(br#"{"id":1} trailing"#, &["id"]), None);
        // A URL's scheme and host only: its path and query are never built.
        let origin = project_fields(
            br#"{"data":[{"id":"we_1","url":"https://u:p@Hooks.example.com/T0/s3cr3t?token=t0k","secret":"whsec_x"},{"url":7}]}"#,
            &["data.id", "data.url.[origin]"],
        );
        assert_eq!(
            origin.as_deref(),
            Some(
                &br#"{"data":[{"id":"we_1","url":"https://hooks.example.com"},{"url":null}]}"#[..]
            )
        );
    }

    #[test]
    fn official_patterns() {
        assert!(host_matches("*.myshopify.com", "acme-shop.myshopify.com"));
        assert!(!host_matches("*.myshopify.com", "myshopify.com"));
        assert!(!host_matches("*.myshopify.com", "a.b.myshopify.com"));
        assert!(!host_matches("*.myshopify.com", "evilmyshopify.com"));
        assert!(!host_matches("*.myshopify.com", "-x.myshopify.com"));
        assert!(host_matches("api.stripe.com", "API.stripe.com"));
        assert!(!host_matches("api.stripe.com", "api.stripe.com.evil"));
    }

    #[test]
    fn targets_are_checked_before_sending() {
        let none = AllowedEndpoints::none();
        let stripe = ["api.stripe.com"];
        let u = |s: &str| Url::parse(s).expect("url");
        assert!(
            check_target(
                &none,
                &Method::GET,
                &u("https://api.stripe.com/v1/account"),
                &stripe
            )
            .is_ok()
        );
        assert!(matches!(
            check_target(
                &none,
                &Method::POST,
                &u("https://api.stripe.com/v1/account"),
                &stripe
            ),
            Err(HttpError::WriteRefused(_))
        ));
        assert!(matches!(
            check_target(
                &none,
                &Method::GET,
                &u("http://api.stripe.com/v1/account"),
                &stripe
            ),
            Err(HttpError::EndpointRefused(_))
        ));
        assert!(matches!(
            check_target(&none, &Method::GET, &u("http://127.0.0.1:9/v1"), &stripe),
            Err(HttpError::EndpointRefused(_))
        ));
        let allowed = AllowedEndpoints::parse(&["127.0.0.1:9", "10.0.0.5:80"]).expect("parse");
        assert!(check_target(&allowed, &Method::GET, &u("http://127.0.0.1:9/v1"), &stripe).is_ok());
        assert!(
            check_target(
                &allowed,
                &Method::GET,
                &u("http://127.0.0.1:10/v1"),
                &stripe
            )
            .is_err()
        );
        assert!(matches!(
            check_target(&allowed, &Method::GET, &u("http://10.0.0.5/v1"), &stripe),
            Err(HttpError::AddressRefused { .. })
        ));
    }

    #[test]
    fn retry_after_and_call_limit_parse() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2.0"));
        assert_eq!(
            retry_after(&h),
            Some(RetryAfter::Wait(Duration::from_secs(2)))
        );
        assert_eq!(parse_call_limit("32/40"), Some((32, 40)));
        assert_eq!(parse_call_limit("x/40"), None);
        assert_eq!(parse_call_limit("1/0"), None);
    }

    /// Issue 12 #4: `1e300` and 2^64 panicked in `Duration::from_secs_f64` (exit 101).
    #[test]
    fn retry_after_is_bounded_never_a_panic() {
        let now = jiff::Timestamp::now();
        for v in [
            "1e300",
            "18446744073709551616",
            "18446744073709551615",
            "61",
            "inf",
            "1e19",
        ] {
            assert_eq!(parse_retry_after(v, now), RetryAfter::TooLong, "{v}");
        }
        for v in ["-1", "-1e300", "NaN", "soon", "", "Fri, 99 Foo 2026"] {
            assert_eq!(parse_retry_after(v, now), RetryAfter::Invalid, "{v}");
        }
        assert_eq!(
            parse_retry_after("60", now),
            RetryAfter::Wait(MAX_HEADER_WAIT)
        );
        assert_eq!(
            parse_retry_after("0.5", now),
            RetryAfter::Wait(Duration::from_millis(500))
        );
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("ts");
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            RetryAfter::Wait(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 2100 23:59:59 GMT", now),
            RetryAfter::TooLong
        );
        // Past the representable range: not a date; the usual backoff applies.
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            RetryAfter::Invalid
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now),
            RetryAfter::Wait(Duration::ZERO)
        );
    }

    /// Issue 12 #5: `4294967295/2` made the client wait ~68 years.
    #[test]
    fn impossible_call_limits_are_named() {
        assert_eq!(parse_call_limit("4294967295/2"), Some((u32::MAX, 2)));
        assert!(implausible_call_limit(u32::MAX, 2).is_some());
        assert!(implausible_call_limit(1, u32::MAX).is_some());
        assert!(implausible_call_limit(41, 40).is_some());
        assert!(implausible_call_limit(40, 40).is_none());
        assert!(implausible_call_limit(0, 80).is_none());
        assert_eq!(parse_call_limit("4294967296/2"), None);
    }

    #[test]
    fn templates_drop_query_values() {
        let u = Url::parse("https://api.stripe.com/v1/customers?limit=1&created[gte]=4102444800")
            .expect("url");
        assert_eq!(template_of(&u), "/v1/customers?limit&created[gte]");
    }
}
