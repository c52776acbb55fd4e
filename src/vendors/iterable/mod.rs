//! Iterable connector: offline classification, region and key-type discovery from GET probes, profiles.

pub mod emulator;
pub mod webhooks;

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::{HOST, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::{Classification, Connector, PlannedCall, ProbeInput};
use crate::emulator::EmulatorSpec;
use crate::http::{Auth, BodyRead, Client, HttpError, RateSpec, Request};
use crate::inventory::model::KeyType;
use crate::run::{KeyProfile, KeyStatus};
use crate::secret::Secret;

/// Vendor id used in profiles, ledgers and the registry.
pub const VENDOR: &str = "iterable";
/// US data centre (CONFIRMED).
pub const US_HOST: &str = "api.iterable.com";
/// EU data centre (CONFIRMED): EU project keys work only here.
pub const EU_HOST: &str = "api.eu.iterable.com";
/// The only hosts an Iterable key is ever sent to.
pub const OFFICIAL_HOSTS: &[&str] = &[US_HOST, EU_HOST];
/// Authentication header (CONFIRMED: swagger `securityDefinitions.api_key`).
pub const AUTH_HEADER: &str = "Api-Key";
/// A syntactically valid address that cannot exist (`.example` is reserved): no user, no data.
pub const PROBE_EMAIL: &str = "vendorscope-probe@invalid.example";

/// Whether a value has the Iterable key shape: 32 lowercase hex (CONFIRMED, Iterable MCP
/// server). Anything else is never sent.
pub fn classify(raw: &str) -> bool {
    raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A data centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    Us,
    Eu,
}

impl Region {
    pub const ALL: [Region; 2] = [Region::Us, Region::Eu];

    pub fn host(self) -> &'static str {
        match self {
            Region::Us => US_HOST,
            Region::Eu => EU_HOST,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
        }
    }
}

/// The GET probes this connector may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// `GET /api/users/getFields`: read-only and server-side keys (3 req/s per project).
    GetFields,
    /// `GET /api/inApp/getMessages`: the Mobile key's only GET (CONFIRMED list).
    InAppMobile,
    /// `GET /api/inApp/web/getMessages`: JavaScript keys (UNCONFIRMED list).
    InAppWeb,
    /// `GET /api/export/data.json` with a far-future window: bulk export (4 req/min per
    /// project); only with `--probe-bulk-endpoints`.
    Export,
}

impl Probe {
    pub fn path(self) -> &'static str {
        match self {
            Probe::GetFields => "/api/users/getFields",
            Probe::InAppMobile => "/api/inApp/getMessages",
            Probe::InAppWeb => "/api/inApp/web/getMessages",
            Probe::Export => "/api/export/data.json",
        }
    }

    /// Query parameters: empty-result queries only (a non-existent address, `count=1`, a
    /// window in the year 2999).
    pub fn query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Probe::GetFields => &[],
            Probe::InAppMobile | Probe::InAppWeb => &[("email", PROBE_EMAIL), ("count", "1")],
            Probe::Export => &[
                ("dataTypeName", "user"),
                ("startDateTime", "2999-01-01 00:00:00 +00:00"),
                ("endDateTime", "2999-01-01 00:00:01 +00:00"),
                ("onlyFields", "email"),
            ],
        }
    }

    /// Documented limit, requests per second, per project (CONFIRMED from swagger text; the
    /// in-app endpoints fall under "most GETs: 100 req/s").
    pub fn per_second(self) -> f64 {
        match self {
            Probe::GetFields => 3.0,
            Probe::InAppMobile | Probe::InAppWeb => 100.0,
            Probe::Export => 4.0 / 60.0,
        }
    }

    /// Rate bucket name suffix (one bucket per endpoint family and project).
    pub fn bucket(self) -> &'static str {
        match self {
            Probe::GetFields => "getFields",
            Probe::InAppMobile | Probe::InAppWeb => "get",
            Probe::Export => "export",
        }
    }

    /// What of a 2xx body may be read: the `getFields` schema's field names (not even their
    /// types) and its in-body error code; of the in-app list (for an address that cannot
    /// exist) only message ids. Export bodies are never read.
    pub fn success_fields(self) -> Option<&'static [&'static str]> {
        match self {
            Probe::GetFields => Some(&["fields.[names]", "code"]),
            Probe::InAppMobile | Probe::InAppWeb => Some(&["inAppMessages.messageId", "code"]),
            Probe::Export => None,
        }
    }
}

/// What one probe answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 2xx in the documented shape: this key type may call the endpoint.
    Allowed,
    /// 403 `Forbidden`: the key is known here but may not call this endpoint.
    Forbidden,
    /// 401 `BadApiKey`/`Unauthorized` (or `{"fields":null}`): invalid here, or (UNCONFIRMED
    /// variant) a valid key of the wrong type.
    BadKey,
    /// 401 with a JWT code: a JWT-enabled client key (the probe sends no JWT).
    JwtRequired,
    /// `inconclusive(reason)`.
    Inconclusive(String),
}

/// `IterableApiResponse` (CONFIRMED envelope) and `ErrorHttpResponse` (snippets) fields.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<serde_json::Value>,
}

const JWT_CODES: &[&str] = &[
    "BadAuthorizationHeader",
    "InvalidJwtPayload",
    "JwtUserIdentifiersMismatched",
];

fn error_code(body: &str) -> Option<String> {
    let env: Envelope = serde_json::from_str(body.trim()).ok()?;
    match env.code? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    }
}

/// Interprets one answer. Bodies outside the documented shapes are `unexpected_response`.
pub fn interpret(probe: Probe, status: u16, body: Option<&str>) -> Answer {
    let unexpected = || Answer::Inconclusive("unexpected_response".into());
    let body = body.unwrap_or("");
    match status {
        200..=299 => match probe {
            Probe::Export => Answer::Allowed,
            Probe::GetFields => {
                match serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("fields").cloned())
                {
                    Some(serde_json::Value::Object(_)) => Answer::Allowed,
                    // OBSERVED (3p verifier): `{"fields":null}` / `{"fields":[]}` for bad keys.
                    Some(serde_json::Value::Null) => Answer::BadKey,
                    Some(serde_json::Value::Array(a)) if a.is_empty() => Answer::BadKey,
                    _ => match error_code(body).as_deref() {
                        Some("BadApiKey") => Answer::BadKey,
                        _ => unexpected(),
                    },
                }
            }
            Probe::InAppMobile | Probe::InAppWeb => {
                match serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("inAppMessages").cloned())
                {
                    Some(serde_json::Value::Array(_)) => Answer::Allowed,
                    _ => unexpected(),
                }
            }
        },
        401 => match error_code(body).as_deref() {
            Some("BadApiKey") | Some("Unauthorized") => Answer::BadKey,
            Some(c) if JWT_CODES.contains(&c) => Answer::JwtRequired,
            _ => unexpected(),
        },
        403 => match error_code(body).as_deref() {
            Some("Forbidden") => Answer::Forbidden,
            _ => unexpected(),
        },
        429 => Answer::Inconclusive("rate_limited".into()),
        500..=599 => Answer::Inconclusive("server_error".into()),
        _ => unexpected(),
    }
}

/// Settings that change what is probed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--probe-bulk-endpoints`: also call the export endpoint (4 req/min per project).
    pub probe_bulk_endpoints: bool,
    /// The inventory says the project is in the EU: try the EU host first.
    pub eu_first: bool,
}

impl Options {
    /// Regions in probing order (US first unless the inventory says EU).
    pub fn order(&self) -> [Region; 2] {
        if self.eu_first {
            [Region::Eu, Region::Us]
        } else {
            [Region::Us, Region::Eu]
        }
    }
}

/// The probe sequence as a pure state machine: ask [`Discovery::next`] for a call, feed the
/// answer to [`Discovery::record`], then [`Discovery::conclude`].
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub options: Options,
    answers: BTreeMap<(Region, Probe), Answer>,
    /// The field names of the project's user-profile schema (`getFields`), once read.
    schema: Option<Vec<String>>,
}

/// The observation name of the user-profile schema (`crate::facts::PROFILE_FIELDS`).
const PROFILE_FIELDS: &str = crate::facts::PROFILE_FIELDS;
/// The call that observes it.
const SCHEMA_CALL: &str = "GET /api/users/getFields";

/// The field names of a `getFields` answer (`{"fields": {"email": …, "firstName": …}}`).
pub fn schema_fields(body: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("fields")?
                .as_object()
                .map(|m| m.keys().cloned().collect())
        })
        .unwrap_or_default()
}

fn ok(a: Option<&Answer>) -> bool {
    matches!(a, Some(Answer::Allowed) | Some(Answer::JwtRequired))
}

impl Discovery {
    pub fn new(options: Options) -> Self {
        Discovery {
            options,
            answers: BTreeMap::new(),
            schema: None,
        }
    }

    pub fn record(&mut self, region: Region, probe: Probe, answer: Answer) {
        self.answers.insert((region, probe), answer);
    }

    /// Keeps the schema's field names (names only: `getFields` returns no values).
    pub fn record_schema(&mut self, fields: Vec<String>) {
        self.schema = Some(fields);
    }

    /// What this key showed of the project's user-profile schema.
    fn schema_observation(&self) -> crate::run::Observation {
        use crate::run::{Observation, ObservationStatus as S};
        if let Some(fields) = &self.schema {
            return Observation::observed(
                SCHEMA_CALL,
                Some(crate::run::now_rfc3339()),
                fields.clone(),
            );
        }
        let answers: Vec<&Answer> = Region::ALL
            .iter()
            .filter_map(|r| self.get(*r, Probe::GetFields))
            .collect();
        if answers
            .iter()
            .any(|a| matches!(a, Answer::Forbidden | Answer::JwtRequired))
            || ok(self.get(Region::Us, Probe::InAppMobile))
            || ok(self.get(Region::Us, Probe::InAppWeb))
            || ok(self.get(Region::Eu, Probe::InAppMobile))
            || ok(self.get(Region::Eu, Probe::InAppWeb))
        {
            return Observation::not_known(
                S::Unverifiable,
                SCHEMA_CALL,
                "needs a server-side or read-only API key (this key type may not read the schema)",
            );
        }
        let reason = answers
            .iter()
            .find_map(|a| match a {
                Answer::Inconclusive(r) => Some(r.as_str()),
                _ => None,
            })
            .unwrap_or("no usable answer");
        Observation::not_known(S::Inconclusive, SCHEMA_CALL, reason)
    }

    fn get(&self, r: Region, p: Probe) -> Option<&Answer> {
        self.answers.get(&(r, p))
    }

    /// The next call, or `None` when done. Order: server probe US then EU (stop at the first
    /// region that knows the key), then the client probes, then the opt-in export probe.
    pub fn next(&self) -> Option<(Region, Probe)> {
        let order = self.options.order();
        let mut known_region = None;
        for r in order {
            match self.get(r, Probe::GetFields) {
                None => return Some((r, Probe::GetFields)),
                Some(Answer::Allowed) => {
                    if self.options.probe_bulk_endpoints && self.get(r, Probe::Export).is_none() {
                        return Some((r, Probe::Export));
                    }
                    return None;
                }
                Some(Answer::Forbidden) | Some(Answer::JwtRequired) => {
                    known_region = Some(r);
                    break;
                }
                _ => {}
            }
        }
        let regions: Vec<Region> = match known_region {
            Some(r) => vec![r],
            None => order.to_vec(),
        };
        for r in regions {
            for p in [Probe::InAppMobile, Probe::InAppWeb] {
                if self.get(r, p).is_none() {
                    return Some((r, p));
                }
            }
            if ok(self.get(r, Probe::InAppMobile)) || ok(self.get(r, Probe::InAppWeb)) {
                return None;
            }
        }
        None
    }

    /// The profile. `calls` is left for the caller to fill.
    pub fn conclude(
        &self,
        declared: Option<KeyType>,
        expected_account: Option<&str>,
    ) -> KeyProfile {
        let mut p = empty_profile(KeyStatus::Active);
        p.observations
            .insert(PROFILE_FIELDS.into(), self.schema_observation());
        let region_of = |probe: &[Probe]| {
            Region::ALL
                .into_iter()
                .find(|r| probe.iter().any(|pr| ok(self.get(*r, *pr))))
        };
        if let Some(r) = region_of(&[Probe::GetFields]) {
            set_region(&mut p, r, expected_account);
            server_profile(&mut p, declared, self.get(r, Probe::Export));
            return p;
        }
        if let Some(r) = region_of(&[Probe::InAppMobile, Probe::InAppWeb]) {
            set_region(&mut p, r, expected_account);
            client_profile(
                &mut p,
                declared,
                self.get(r, Probe::InAppMobile),
                self.get(r, Probe::InAppWeb),
            );
            return p;
        }
        if let Some(r) = Region::ALL.into_iter().find(|r| {
            Probe::ALL_CLIENT_AND_SERVER
                .iter()
                .any(|pr| self.get(*r, *pr) == Some(&Answer::Forbidden))
        }) {
            // Known to this data centre (403, not 401) but no probe it may call: the type
            // cannot be read.
            set_region(&mut p, r, expected_account);
            p.unverifiable = vec!["key_type".into()];
            return p;
        }
        if let Some(reason) = self.answers.values().find_map(|a| match a {
            Answer::Inconclusive(r) => Some(r.clone()),
            _ => None,
        }) {
            p.status = KeyStatus::Inconclusive(reason);
            return p;
        }
        if self.answers.is_empty() {
            p.status = KeyStatus::Inconclusive("not_probed".into());
            return p;
        }
        // Refused everywhere: Iterable does not tell a deleted key from a mistyped one.
        p.status = KeyStatus::Invalid;
        p
    }
}

impl Probe {
    const ALL_CLIENT_AND_SERVER: [Probe; 3] =
        [Probe::GetFields, Probe::InAppMobile, Probe::InAppWeb];
}

/// A profile with just a status, not yet stamped with a probe time.
fn empty_profile(status: KeyStatus) -> KeyProfile {
    KeyProfile {
        probed_at: None,
        ..super::profile(VENDOR, status)
    }
}

/// The profile of a key that was never sent (wrong shape).
pub fn format_mismatch_profile() -> KeyProfile {
    empty_profile(KeyStatus::Inconclusive("format_mismatch".into()))
}

/// Whether `expected` (`us`, `eu`, or `<project>/<region>`) names this region; `None` when
/// it names no region (a project cannot be read with a key).
pub fn region_matches(expected: Option<&str>, region: Region) -> Option<bool> {
    let e = expected?.trim().to_ascii_lowercase();
    let last = e.rsplit(['/', ':']).next().unwrap_or(&e).trim();
    match last {
        "us" | "eu" => Some(last == region.as_str()),
        _ => None,
    }
}

fn set_region(p: &mut KeyProfile, r: Region, expected: Option<&str>) {
    p.account = Some(r.as_str().to_string());
    p.account_matches = region_matches(expected, r);
}

/// Writes only a server-side key can make; never observable without writing.
const SERVER_WRITES: &[&str] = &[
    "customers.delete",
    "customers.write",
    "events.write",
    "messages.send",
];

/// Reads server-side and read-only keys have. Campaigns, lists, templates and metrics are
/// project configuration (`account.read`).
const SERVER_READS: &[&str] = &[
    "account.read",
    "catalog.read",
    "customers.export",
    "customers.read",
];
/// What a client-side or mobile key can do when JWT is required.
const CLIENT_JWT: &[&str] = &["messages.read", "users.write_self"];
/// Without JWT any caller may update any profile and read in-app messages of any user.
const CLIENT_NO_JWT: &[&str] = &["messages.read", "users.write_any"];
/// The "Event creation" option of client keys cannot be read without tracking an event.
const CLIENT_UNVERIFIABLE: &[&str] = &["events.write"];

/// Key types → capabilities (`policy capabilities`), from the tables the probe uses.
pub fn grants() -> Vec<super::Grant> {
    let g =
        |name: &str, caps: &[&'static str], unv: &[&'static str], note: Option<&'static str>| {
            super::Grant {
                unverifiable: unv.to_vec(),
                note,
                ..super::Grant::new("key_type", name, caps)
            }
        };
    vec![
        g("server_side", SERVER_READS, SERVER_WRITES, None),
        g(
            "read_only",
            SERVER_READS,
            &[],
            Some("customers.export is dropped when the export probe is refused"),
        ),
        g(
            "client_side or mobile (JWT required)",
            CLIENT_JWT,
            CLIENT_UNVERIFIABLE,
            None,
        ),
        g(
            "client_side or mobile (no JWT)",
            CLIENT_NO_JWT,
            CLIENT_UNVERIFIABLE,
            None,
        ),
    ]
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn server_profile(p: &mut KeyProfile, declared: Option<KeyType>, export: Option<&Answer>) {
    p.granted = vec!["server_side_or_read_only".into()];
    // Reads both types have (read-only list CONFIRMED in part; export and user lookup
    // UNCONFIRMED for read-only keys, assumed yes for risk).
    let mut caps = strs(SERVER_READS);
    match export {
        // Server-side keys may export (CONFIRMED): a refusal means a read-only key.
        Some(Answer::BadKey) | Some(Answer::Forbidden) => {
            caps.retain(|c| c != "customers.export");
            p.key_type = Some("read_only".into());
            p.granted = vec!["read_only".into()];
            p.capabilities = caps;
            return;
        }
        Some(Answer::Inconclusive(r)) => {
            p.restrictions
                .insert("export_probe".into(), vec![format!("inconclusive({r})")]);
        }
        _ => {}
    }
    p.key_type = Some(match declared {
        Some(KeyType::ReadOnly) => "read_only".into(),
        _ => "server_side".into(),
    });
    p.capabilities = caps;
    let mut unv = vec!["key_type".to_string()];
    unv.extend(strs(SERVER_WRITES));
    p.unverifiable = unv;
}

fn client_profile(
    p: &mut KeyProfile,
    declared: Option<KeyType>,
    mobile: Option<&Answer>,
    web: Option<&Answer>,
) {
    let m = ok(mobile);
    let w = ok(web);
    let jwt = !matches!(mobile, Some(Answer::Allowed)) && !matches!(web, Some(Answer::Allowed));
    p.key_type = Some(
        match (m, w) {
            (true, false) => "mobile",
            (false, true) => "client_side",
            _ => match declared {
                Some(KeyType::Mobile) => "mobile",
                _ => "client_side",
            },
        }
        .into(),
    );
    if m && w {
        // Whether Mobile keys may call the web endpoint is UNCONFIRMED.
        p.unverifiable.push("key_type".into());
    }
    p.granted = vec![p.key_type.clone().unwrap_or_default()];
    p.restrictions
        .insert("requires_jwt".into(), vec![jwt.to_string()]);
    p.capabilities = strs(if jwt { CLIENT_JWT } else { CLIENT_NO_JWT });
    p.unverifiable.extend(strs(CLIENT_UNVERIFIABLE));
}

/// The Iterable connector.
pub struct Iterable;

/// URL and extra headers for `probe` in `region`: the official host, or the override base
/// with a `Host` header naming the official host (so one emulator can play both).
fn target(
    region: Region,
    probe: Probe,
    base: Option<&Url>,
) -> Result<(Url, Vec<(HeaderName, HeaderValue)>), HttpError> {
    let (mut url, headers) = match base {
        None => (
            Url::parse(&format!("https://{}{}", region.host(), probe.path()))
                .map_err(|e| HttpError::BadUrl(e.to_string()))?,
            vec![],
        ),
        Some(b) => (
            super::join(b, probe.path())?,
            vec![(HOST, HeaderValue::from_static(region.host()))],
        ),
    };
    if !probe.query().is_empty() {
        url.query_pairs_mut().extend_pairs(probe.query());
    }
    Ok((url, headers))
}

/// Rate bucket: per region and project. The project cannot be read with a key, so the
/// declared `expected_account` stands in for it, else the key's fingerprint (one key, one
/// bucket).
fn bucket(input: &ProbeInput<'_>, region: Region, probe: Probe) -> String {
    let project = input
        .expected_account
        .clone()
        .or_else(|| input.fingerprint.clone())
        .or_else(|| input.key_id.clone())
        .unwrap_or_default();
    format!("{VENDOR}:{}:{project}:{}", region.as_str(), probe.bucket())
}

fn options(input: &ProbeInput<'_>) -> Options {
    Options {
        probe_bulk_endpoints: input.settings.probe_bulk_endpoints,
        eu_first: input
            .settings
            .region
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("eu")),
    }
}

impl Connector for Iterable {
    fn observations(&self) -> &'static [&'static str] {
        &[PROFILE_FIELDS, super::webhooks::OBSERVATION]
    }

    fn grants(&self) -> Vec<super::Grant> {
        grants()
    }

    fn name(&self) -> &'static str {
        VENDOR
    }

    fn official_hosts(&self) -> &'static [&'static str] {
        OFFICIAL_HOSTS
    }

    fn classify(&self, secret: &Secret) -> Option<Classification> {
        classify(secret.expose()).then(|| Classification {
            // The shape says nothing about the type: probes tell.
            key_type: "unknown".into(),
            inventory_type: KeyType::ServerSide,
            environment: None,
            not_probed: None,
        })
    }

    fn plan(&self, input: &ProbeInput<'_>) -> Vec<PlannedCall> {
        let opts = options(input);
        let regions = opts.order();
        let mut out = vec![];
        let mut push = |r: Region, p: Probe, note: &str| {
            if let Ok((url, headers)) = target(r, p, input.base.as_ref()) {
                let mut notes = vec![note.to_string()];
                if !headers.is_empty() {
                    notes.push(format!("Host: {}", r.host()));
                }
                notes.retain(|n| !n.is_empty());
                out.push(PlannedCall {
                    method: "GET".into(),
                    url: crate::http::display_url(&url, &crate::http::template_of(&url)),
                    note: (!notes.is_empty()).then(|| notes.join("; ")),
                });
            }
        };
        push(regions[0], Probe::GetFields, "");
        push(
            regions[1],
            Probe::GetFields,
            "only if the first region refuses the key",
        );
        for r in regions {
            push(
                r,
                Probe::InAppMobile,
                "only if no region accepts getFields (client-side keys)",
            );
            push(
                r,
                Probe::InAppWeb,
                "only if no region accepts getFields (client-side keys)",
            );
        }
        if opts.probe_bulk_endpoints {
            for r in regions {
                push(
                    r,
                    Probe::Export,
                    "--probe-bulk-endpoints: server-side/read-only keys; body never read",
                );
            }
        }
        if let Ok(mut url) = target(regions[0], Probe::GetFields, input.base.as_ref()).map(|t| t.0)
        {
            url.set_path(webhooks::PATH);
            out.push(PlannedCall {
                method: "GET".into(),
                url: crate::http::display_url(&url, webhooks::PATH),
                note: Some(
                    "server-side and read-only keys, in the region that accepted getFields: webhook endpoints (scheme and host kept)"
                        .into(),
                ),
            });
        }
        out
    }

    fn probe<'a>(&'a self, input: ProbeInput<'a>, client: &'a Client) -> BoxFuture<'a, KeyProfile> {
        Box::pin(probe(input, client))
    }

    fn emulator(&self) -> Option<EmulatorSpec> {
        Some(emulator::spec())
    }

    fn account_matches(&self, expected: &str, account: &str) -> Option<bool> {
        let region = match account {
            "us" => Region::Us,
            "eu" => Region::Eu,
            _ => return None,
        };
        region_matches(Some(expected), region)
    }
}

/// A GET with the key: `target` from [`target`], counted against `rate`, reading `body`.
fn request<'a>(
    input: &'a ProbeInput<'a>,
    target: (Url, Vec<(HeaderName, HeaderValue)>),
    template: &str,
    rate: RateSpec,
    body: BodyRead,
) -> Request<'a> {
    Request {
        method: Method::GET,
        url: target.0,
        template: template.into(),
        official_hosts: OFFICIAL_HOSTS,
        auth: Auth::Header(AUTH_HEADER, input.secret),
        headers: target.1,
        api_version: None,
        rates: vec![rate],
        budget_header: None,
        body,
        who: input.who(VENDOR),
    }
}

/// Runs the [`Discovery`] sequence through the guarded client. The inventory's declared type
/// is kept where read-only and server-side cannot be told apart.
pub async fn probe(input: ProbeInput<'_>, client: &Client) -> KeyProfile {
    let mut d = Discovery::new(options(&input));
    let mut calls = vec![];
    while let Some((region, pr)) = d.next() {
        let (url, headers) = match target(region, pr, input.base.as_ref()) {
            Ok(t) => t,
            Err(e) => {
                let mut p = empty_profile(super::status_for_error(&e));
                p.calls = calls;
                return p;
            }
        };
        let template = crate::http::template_of(&url);
        let body = match pr.success_fields() {
            Some(f) => BodyRead::Fields(f),
            None => BodyRead::ErrorsOnly,
        };
        let rate = RateSpec {
            bucket: bucket(&input, region, pr),
            per_second: pr.per_second(),
        };
        let req = request(&input, (url.clone(), headers), &template, rate, body);
        let answer = match client.send(req).await {
            Ok(resp) => {
                calls.push(resp.call.clone());
                let body = resp.body.as_deref().map(String::from_utf8_lossy);
                let answer = interpret(pr, resp.status, body.as_deref());
                if pr == Probe::GetFields && answer == Answer::Allowed {
                    d.record_schema(schema_fields(body.as_deref().unwrap_or("")));
                }
                answer
            }
            Err(e) => {
                calls.push(super::failed_call("GET", &url, &template));
                if e.refused_before_sending() {
                    let mut p = empty_profile(super::status_for_error(&e));
                    p.calls = calls;
                    return p;
                }
                Answer::Inconclusive(e.reason().into())
            }
        };
        d.record(region, pr, answer);
    }
    let mut p = d.conclude(input.declared_type, input.expected_account.as_deref());
    if p.status == KeyStatus::Active {
        let o = webhooks::observe(&input, client, &p, &mut calls).await;
        p.observations
            .insert(super::webhooks::OBSERVATION.into(), o);
    }
    p.calls = calls;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use emulator::fixtures as f;

    #[test]
    fn classification() {
        assert!(classify("0123456789abcdef0123456789abcdef"));
        assert!(!classify("0123456789ABCDEF0123456789abcdef"));
        assert!(!classify("0123456789abcdef0123456789abcde"));
        assert!(!classify("0123456789abcdef0123456789abcdefa"));
        assert!(!classify("0123456789abcdef0123456789abcdeg"));
        assert!(!classify(""));
    }

    #[test]
    fn interprets_documented_bodies() {
        assert_eq!(
            interpret(Probe::GetFields, 200, Some(f::GET_FIELDS_200)),
            Answer::Allowed
        );
        assert_eq!(
            interpret(Probe::GetFields, 200, Some(f::FIELDS_NULL_200)),
            Answer::BadKey
        );
        assert_eq!(
            interpret(Probe::GetFields, 200, Some(r#"{"fields":[]}"#)),
            Answer::BadKey
        );
        for b in [
            f::BAD_API_KEY_401_PARAMS,
            f::BAD_API_KEY_401_NULL,
            f::UNAUTHORIZED_SNIPPET_401,
        ] {
            assert_eq!(
                interpret(Probe::GetFields, 401, Some(b)),
                Answer::BadKey,
                "{b}"
            );
        }
        assert_eq!(
            interpret(Probe::GetFields, 403, Some(f::FORBIDDEN_403)),
            Answer::Forbidden
        );
        for b in [f::JWT_BAD_HEADER_401, f::JWT_INVALID_PAYLOAD_401] {
            assert_eq!(
                interpret(Probe::InAppMobile, 401, Some(b)),
                Answer::JwtRequired
            );
        }
        assert_eq!(
            interpret(Probe::InAppWeb, 200, Some(f::IN_APP_EMPTY_200)),
            Answer::Allowed
        );
        assert_eq!(interpret(Probe::Export, 200, None), Answer::Allowed);
        assert_eq!(
            interpret(Probe::GetFields, 429, Some(f::RATE_LIMITED_429)),
            Answer::Inconclusive("rate_limited".into())
        );
        assert_eq!(
            interpret(Probe::GetFields, 502, None),
            Answer::Inconclusive("server_error".into())
        );
        for (s, b) in [
            (404, f::NOT_FOUND_404_HTML),
            (400, f::BAD_PARAMS_400),
            (200, "<html></html>"),
            (401, "denied"),
            (403, "{}"),
        ] {
            assert_eq!(
                interpret(Probe::GetFields, s, Some(b)),
                Answer::Inconclusive("unexpected_response".into()),
                "{s} {b}"
            );
        }
        assert_eq!(
            interpret(Probe::InAppMobile, 200, Some(f::GET_FIELDS_200)),
            Answer::Inconclusive("unexpected_response".into())
        );
    }

    fn run(answers: &[(Region, Probe, Answer)], bulk: bool) -> (Vec<(Region, Probe)>, Discovery) {
        let mut d = Discovery::new(Options {
            probe_bulk_endpoints: bulk,
            eu_first: false,
        });
        let mut calls = vec![];
        while let Some((r, p)) = d.next() {
            calls.push((r, p));
            let a = answers
                .iter()
                .find(|(ar, ap, _)| *ar == r && *ap == p)
                .map(|(_, _, a)| a.clone())
                .unwrap_or(Answer::BadKey);
            d.record(r, p, a);
            assert!(calls.len() < 10, "loop");
        }
        (calls, d)
    }

    use Answer::*;
    use Probe::*;
    use Region::*;

    #[test]
    fn server_key_us_is_one_call() {
        let (calls, d) = run(&[(Us, GetFields, Allowed)], false);
        assert_eq!(calls, vec![(Us, GetFields)]);
        let p = d.conclude(Some(KeyType::ServerSide), Some("us"));
        assert_eq!(p.status, KeyStatus::Active);
        assert_eq!(p.key_type.as_deref(), Some("server_side"));
        assert_eq!(p.account.as_deref(), Some("us"));
        assert_eq!(p.account_matches, Some(true));
        assert!(p.unverifiable.contains(&"key_type".into()));
        assert!(p.capabilities.contains(&"customers.export".into()));
    }

    #[test]
    fn read_only_keeps_declared_type() {
        let (_, d) = run(&[(Eu, GetFields, Allowed)], false);
        let p = d.conclude(Some(KeyType::ReadOnly), Some("proj/us"));
        assert_eq!(p.key_type.as_deref(), Some("read_only"));
        assert_eq!(p.account.as_deref(), Some("eu"));
        assert_eq!(p.account_matches, Some(false));
    }

    #[test]
    fn bulk_probe_only_when_enabled() {
        let (calls, d) = run(&[(Us, GetFields, Allowed), (Us, Export, Forbidden)], true);
        assert_eq!(calls, vec![(Us, GetFields), (Us, Export)]);
        let p = d.conclude(Some(KeyType::ServerSide), None);
        assert_eq!(p.key_type.as_deref(), Some("read_only"));
        assert!(!p.capabilities.contains(&"customers.export".into()));
        assert!(p.unverifiable.is_empty());
        let (calls, _) = run(&[(Us, GetFields, Allowed)], false);
        assert!(!calls.contains(&(Us, Export)));
    }

    #[test]
    fn client_keys() {
        // Wrong-type as 401 BadApiKey: every region is tried.
        let (calls, d) = run(&[(Us, InAppMobile, Allowed)], false);
        assert_eq!(
            calls,
            vec![
                (Us, GetFields),
                (Eu, GetFields),
                (Us, InAppMobile),
                (Us, InAppWeb)
            ]
        );
        let p = d.conclude(Some(KeyType::ClientSide), None);
        assert_eq!(p.key_type.as_deref(), Some("mobile"));
        assert_eq!(p.restrictions["requires_jwt"], vec!["false"]);
        assert!(p.capabilities.contains(&"users.write_any".into()));

        // Wrong-type as 403 Forbidden: the region is known at once.
        let (calls, d) = run(
            &[
                (Eu, GetFields, Forbidden),
                (Eu, InAppMobile, JwtRequired),
                (Eu, InAppWeb, JwtRequired),
            ],
            false,
        );
        assert_eq!(
            calls,
            vec![
                (Us, GetFields),
                (Eu, GetFields),
                (Eu, InAppMobile),
                (Eu, InAppWeb)
            ]
        );
        let p = d.conclude(Some(KeyType::ClientSide), None);
        assert_eq!(p.key_type.as_deref(), Some("client_side"));
        assert_eq!(p.account.as_deref(), Some("eu"));
        assert_eq!(p.restrictions["requires_jwt"], vec!["true"]);
        assert!(p.unverifiable.contains(&"key_type".into()));
    }

    #[test]
    fn invalid_and_inconclusive() {
        let (calls, d) = run(&[], false);
        assert_eq!(calls.len(), 6);
        assert_eq!(d.conclude(None, None).status, KeyStatus::Invalid);
        let (_, d) = run(
            &[(Us, GetFields, Inconclusive("server_error".into()))],
            false,
        );
        assert_eq!(
            d.conclude(None, None).status,
            KeyStatus::Inconclusive("server_error".into())
        );
        // A definite answer elsewhere wins over a failed call.
        let (_, d) = run(
            &[
                (Us, GetFields, Inconclusive("timeout".into())),
                (Eu, GetFields, Allowed),
            ],
            false,
        );
        assert_eq!(d.conclude(None, None).status, KeyStatus::Active);
    }

    #[test]
    fn region_matching() {
        assert_eq!(region_matches(Some("EU"), Region::Eu), Some(true));
        assert_eq!(region_matches(Some("123/us"), Region::Eu), Some(false));
        assert_eq!(region_matches(Some("project-123"), Region::Eu), None);
        assert_eq!(region_matches(None, Region::Eu), None);
    }
}
