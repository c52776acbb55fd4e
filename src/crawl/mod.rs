//! The surface crawler: fetches a site's pages and the scripts, chunks, source maps and config endpoints they reference, anonymously and within limits.

pub mod demo_site;
pub mod extract;
pub mod fetch;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::guard::Redactor;
use crate::progress::{self, Mode, Phase, Spec, Unit};

pub use extract::Role;
pub use fetch::{AddressPolicy, AnonymousClient, FetchError, init_tls};

/// Crawl limits and behaviour. Defaults are polite and bounded.
#[derive(Debug, Clone)]
pub struct CrawlSettings {
    /// Same-origin pages fetched at most (seeds and sitemap entries included).
    pub max_pages: usize,
    /// Link depth from a seed (seed = 0).
    pub max_depth: u32,
    /// Non-page fetches (scripts, chunks, maps, JSON, probes) at most.
    pub max_assets: usize,
    /// Body bytes kept per response (decompressed); longer bodies are cut off there.
    pub max_response_bytes: u64,
    /// Body bytes over the whole crawl; when reached, nothing more is fetched.
    pub max_total_bytes: u64,
    /// Requests in flight over all hosts.
    pub concurrency: usize,
    /// Requests in flight per host.
    pub per_host_concurrency: usize,
    /// Minimum time between request starts on one host.
    pub politeness_delay: Duration,
    pub connect_timeout: Duration,
    /// Whole request including the body.
    pub request_timeout: Duration,
    /// Longest wait for the next body bytes: a server that never finishes is cut off.
    pub read_idle_timeout: Duration,
    pub max_redirects: usize,
    pub ignore_robots: bool,
    /// `--allow-private-addresses`: loopback, private and link-local (metadata stays refused).
    pub allow_private_addresses: bool,
    /// Loopback only (local test and demo sites); private ranges stay refused.
    pub allow_loopback: bool,
    /// Try `/config.json`, `/env.js`, build manifests and the like on each seed origin.
    pub probe_well_known: bool,
    pub user_agent: String,
    /// Show a progress bar (only when stderr is a terminal); the caller passes `!quiet`.
    pub progress: bool,
    /// Wall-clock budget of the whole crawl (`--max-duration`): when it runs out, requests in
    /// flight are abandoned, nothing more is fetched and the surface is reported incomplete.
    pub max_duration: Duration,
    /// Wall-clock budget per host, from its first request: a slow host cannot use the whole
    /// crawl's budget, and what it did not serve in time is reported as not fetched.
    pub max_host_duration: Duration,
}

/// Default `--max-duration` of a crawl.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(10 * 60);
/// Default per-host time budget of a crawl.
pub const DEFAULT_MAX_HOST_DURATION: Duration = Duration::from_secs(5 * 60);

pub use crate::guard::url::{has_userinfo, remove_userinfo as strip_userinfo};

impl Default for CrawlSettings {
    fn default() -> Self {
        CrawlSettings {
            max_pages: 500,
            max_depth: 5,
            max_assets: 2_000,
            max_response_bytes: 32 << 20,
            max_total_bytes: 512 << 20,
            concurrency: 16,
            per_host_concurrency: 4,
            politeness_delay: Duration::from_millis(0),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            read_idle_timeout: Duration::from_secs(15),
            max_redirects: 5,
            ignore_robots: false,
            allow_private_addresses: false,
            allow_loopback: false,
            probe_well_known: true,
            user_agent: format!(
                "vendorscope/{} (exposure crawler)",
                env!("CARGO_PKG_VERSION")
            ),
            progress: true,
            max_duration: DEFAULT_MAX_DURATION,
            max_host_duration: DEFAULT_MAX_HOST_DURATION,
        }
    }
}

/// What a fetched body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchedKind {
    Page,
    Script,
    SourceMap,
    Json,
    Other,
}

/// One fetched body, handed to the sink as soon as it arrives (bytes are not kept).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    /// After same-origin redirects.
    pub final_url: Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// The page or script that referenced it (`None` for seeds and well-known probes).
    pub referrer: Option<Url>,
    pub kind: FetchedKind,
    /// From a `sourceMappingURL` comment or a `SourceMap`/`X-SourceMap` header.
    pub source_map_url: Option<Url>,
    /// The body was cut off at `max_response_bytes` (an error is reported too).
    pub truncated: bool,
}

/// Why a URL could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrawlErrorKind {
    /// SSRF guard: non-public address.
    Refused,
    Timeout,
    TooLarge,
    Http,
    Network,
    Redirect,
    BudgetExhausted,
    /// The crawl's `--max-duration` or a host's time budget ran out before this was fetched.
    Deadline,
}

/// A per-URL failure; becomes a `run::RunError` with stage `surface`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrawlError {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    pub kind: CrawlErrorKind,
    pub message: String,
}

/// A URL deliberately not fetched or not usable (robots, other origin, 404 link): not an error.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub url: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CrawlStats {
    pub pages: usize,
    pub assets: usize,
    pub requests: usize,
    pub bytes: u64,
    pub probes_missing: usize,
    pub robots_disallowed: usize,
    pub pages_over_limit: usize,
    pub elapsed_ms: u64,
}

/// The crawl's outcome besides the fetched bodies.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CrawlReport {
    pub errors: Vec<CrawlError>,
    pub skipped: Vec<Skipped>,
    pub stats: CrawlStats,
    /// (url, message) from scanning the fetched bodies: truncated members or values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scan_notes: Vec<(String, String)>,
    /// Third-party script origins (`https://host[:port]`) the crawled pages load, each with
    /// up to [`MAX_PAGES_PER_ORIGIN`] pages that load it; at most [`MAX_SCRIPT_ORIGINS`].
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub script_origins: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// Bounds of [`CrawlReport::script_origins`].
pub const MAX_SCRIPT_ORIGINS: usize = 500;
pub const MAX_PAGES_PER_ORIGIN: usize = 5;

impl CrawlReport {
    /// Records that `page` loads a script from `script` when that is another origin.
    fn note_script(&mut self, seed_origins: &[url::Origin], page: &Url, script: &Url) {
        let origin = script.origin();
        if !origin.is_tuple() || seed_origins.contains(&origin) {
            return;
        }
        let key = origin.ascii_serialization();
        if !self.script_origins.contains_key(&key)
            && self.script_origins.len() >= MAX_SCRIPT_ORIGINS
        {
            return;
        }
        let pages = self.script_origins.entry(key).or_default();
        if pages.len() < MAX_PAGES_PER_ORIGIN {
            // Scheme, host and path: a page's query can carry a token.
            pages.insert(format!(
                "{}{}",
                page.origin().ascii_serialization(),
                page.path()
            ));
        }
    }
}

impl CrawlReport {
    /// The errors as run errors (stage `surface`).
    pub fn run_errors(&self) -> Vec<crate::run::RunError> {
        self.errors
            .iter()
            .map(|e| crate::run::RunError {
                stage: "surface".into(),
                subject: Some(e.url.clone()),
                message: match &e.referrer {
                    Some(r) => format!("{} (referenced by {r})", e.message),
                    None => e.message.clone(),
                },
            })
            .chain(self.scan_notes.iter().map(|(url, m)| crate::run::RunError {
                stage: "surface".into(),
                subject: Some(url.clone()),
                message: m.clone(),
            }))
            .collect()
    }
}

/// Crawls from `seeds` and calls `sink` for every fetched body. Builds its own runtime: call it
/// from synchronous code (from async code, use [`crawl_async`]).
pub fn crawl(seeds: &[Url], settings: &CrawlSettings, sink: impl FnMut(Fetched)) -> CrawlReport {
    if tokio::runtime::Handle::try_current().is_ok() {
        return fatal(
            seeds,
            "crawl() called inside an async runtime; use crawl_async",
        );
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fatal(seeds, &format!("cannot start the I/O runtime: {e}")),
    };
    rt.block_on(crawl_async(seeds, settings, sink))
}

fn fatal(seeds: &[Url], msg: &str) -> CrawlReport {
    CrawlReport {
        errors: seeds
            .iter()
            .map(|s| CrawlError {
                url: s.to_string(),
                referrer: None,
                kind: CrawlErrorKind::Network,
                message: msg.to_owned(),
            })
            .collect(),
        ..CrawlReport::default()
    }
}

#[derive(Debug, Clone)]
struct Task {
    url: Url,
    role: Role,
    depth: u32,
    referrer: Option<Url>,
    probe: bool,
    seed: bool,
}

enum Outcome {
    Done(fetch::Response),
    Failed(FetchError),
    BudgetExhausted,
    /// The crawl (`true`) or the host (`false`) ran out of time.
    OutOfTime(bool),
}

struct HostGate {
    sem: Arc<Semaphore>,
    next_start: Arc<Mutex<tokio::time::Instant>>,
    /// End of this host's time budget.
    deadline: tokio::time::Instant,
}

/// URLs not fetched because time ran out: the crawl's, and each host's.
#[derive(Default)]
struct Unfetched {
    crawl: usize,
    hosts: std::collections::BTreeMap<String, usize>,
}

const CONFIG_PROBES: &[(&str, Role)] = &[
    ("/config.json", Role::Json),
    ("/env.js", Role::Script),
    ("/runtime-config.js", Role::Script),
    ("/__env.js", Role::Script),
    ("/env-config.js", Role::Script),
    ("/config.js", Role::Script),
    ("/.vite/manifest.json", Role::Json),
    ("/manifest.json", Role::Json),
    ("/asset-manifest.json", Role::Json),
];

/// The crawl itself, for callers already inside a tokio runtime.
pub async fn crawl_async(
    seeds: &[Url],
    settings: &CrawlSettings,
    mut sink: impl FnMut(Fetched),
) -> CrawlReport {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + settings.max_duration;
    // Credentials in a URL are never sent (reqwest would turn them into Basic auth).
    let seeds: Vec<Url> = seeds
        .iter()
        .map(|s| {
            let mut s = s.clone();
            strip_userinfo(&mut s);
            s
        })
        .collect();
    let seeds = seeds.as_slice();
    let mut unfetched = Unfetched::default();
    let mut report = CrawlReport::default();
    let policy = AddressPolicy {
        allow_loopback: settings.allow_loopback,
        allow_private: settings.allow_private_addresses,
    };
    let client = match AnonymousClient::new(fetch::ClientSettings {
        policy,
        connect_timeout: settings.connect_timeout,
        request_timeout: settings.request_timeout,
        read_idle_timeout: settings.read_idle_timeout,
        max_redirects: settings.max_redirects,
        user_agent: settings.user_agent.clone(),
        max_idle_per_host: settings.per_host_concurrency.max(1),
    }) {
        Ok(c) => c,
        Err(e) => return fatal(seeds, &e.to_string()),
    };
    let progress = Phase::start(
        Spec::new("crawl", Unit::RESPONSES),
        settings.progress,
        &Redactor::new(),
    );

    let mut seed_origins: Vec<url::Origin> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut robots: HashMap<url::Origin, extract::Robots> = HashMap::new();
    let mut queue: VecDeque<Task> = VecDeque::new();
    let mut pages_enqueued = 0usize;
    let mut assets_enqueued = 0usize;
    let remaining = Arc::new(AtomicU64::new(settings.max_total_bytes));
    let exhausted = Arc::new(AtomicBool::new(false));

    // robots.txt first, per seed origin, so the rules apply to everything after.
    for seed in seeds {
        let origin = seed.origin();
        if !origin.is_tuple() || seed_origins.contains(&origin) {
            continue;
        }
        seed_origins.push(origin.clone());
        let Ok(robots_url) = seed.join("/robots.txt") else {
            continue;
        };
        seen.insert(robots_url.to_string());
        report.stats.requests += 1;
        let robots_fetch = tokio::time::timeout_at(
            deadline,
            client.get(&robots_url, settings.max_response_bytes.min(1 << 20)),
        )
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Timeout(
                "robots.txt: the crawl's --max-duration ran out".into(),
            ))
        });
        match robots_fetch {
            Ok(r) if (200..300).contains(&r.status) => {
                let text = String::from_utf8_lossy(&r.bytes).into_owned();
                let rules = extract::Robots::parse(&text, "vendorscope");
                report.stats.bytes += r.bytes.len() as u64;
                remaining.fetch_sub(r.bytes.len() as u64, Ordering::Relaxed);
                for sm in &rules.sitemaps {
                    if let Some(u) = extract::resolve(&robots_url, sm) {
                        queue.push_back(Task {
                            url: u,
                            role: Role::Sitemap,
                            depth: 0,
                            referrer: Some(robots_url.clone()),
                            probe: true,
                            seed: false,
                        });
                    }
                }
                sink(Fetched {
                    url: robots_url.clone(),
                    final_url: r.final_url,
                    content_type: r.content_type,
                    bytes: r.bytes,
                    referrer: None,
                    kind: FetchedKind::Other,
                    source_map_url: None,
                    truncated: r.truncated,
                });
                robots.insert(origin, rules);
            }
            Ok(_) => report.stats.probes_missing += 1,
            Err(e @ FetchError::Refused(_)) => report.errors.push(error_for(&robots_url, None, &e)),
            Err(e) => tracing::debug!(url = %robots_url, error = %e, "robots.txt unavailable"),
        }
    }
    for seed in seeds {
        let mut s = seed.clone();
        s.set_fragment(None);
        queue.push_front(Task {
            url: s,
            role: Role::Page,
            depth: 0,
            referrer: None,
            probe: false,
            seed: true,
        });
    }
    if settings.probe_well_known {
        for seed in seeds {
            if let Ok(u) = seed.join("/sitemap.xml") {
                queue.push_back(task_probe(u, Role::Sitemap));
            }
            for (path, role) in CONFIG_PROBES {
                if let Ok(u) = seed.join(path) {
                    queue.push_back(task_probe(u, *role));
                }
            }
        }
    }

    let global = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut gates: HashMap<String, HostGate> = HashMap::new();
    let mut in_flight = FuturesUnordered::new();

    loop {
        // Admit queued tasks (limits and robots are decided here).
        while let Some(mut task) = queue.pop_front() {
            // A link that carries user info is followed without it, and kept without it.
            strip_userinfo(&mut task.url);
            let key = task.url.to_string();
            if !seen.insert(key.clone()) {
                continue;
            }
            let same_origin = seed_origins.contains(&task.url.origin());
            if task.role == Role::Page {
                if !same_origin {
                    continue;
                }
                if task.depth > settings.max_depth {
                    continue;
                }
                if pages_enqueued >= settings.max_pages {
                    report.stats.pages_over_limit += 1;
                    continue;
                }
            } else if assets_enqueued >= settings.max_assets {
                report.skipped.push(Skipped {
                    url: key,
                    reason: format!("asset limit ({}) reached", settings.max_assets),
                });
                continue;
            }
            if same_origin && !settings.ignore_robots {
                let path = match task.url.query() {
                    Some(q) => format!("{}?{q}", task.url.path()),
                    None => task.url.path().to_owned(),
                };
                if robots
                    .get(&task.url.origin())
                    .is_some_and(|r| !r.allows(&path))
                {
                    report.stats.robots_disallowed += 1;
                    report.skipped.push(Skipped {
                        url: key,
                        reason: "disallowed by robots.txt".into(),
                    });
                    continue;
                }
            }
            if task.role == Role::Page {
                pages_enqueued += 1;
            } else {
                assets_enqueued += 1;
            }
            let host = task.url.host_str().unwrap_or("").to_owned();
            let host_key = format!("{host}:{}", task.url.port_or_known_default().unwrap_or(0));
            let now = tokio::time::Instant::now();
            if now >= deadline {
                unfetched.crawl += 1;
                continue;
            }
            let gate = gates.entry(host_key.clone()).or_insert_with(|| HostGate {
                sem: Arc::new(Semaphore::new(settings.per_host_concurrency.max(1))),
                next_start: Arc::new(Mutex::new(now)),
                deadline: now + settings.max_host_duration,
            });
            if now >= gate.deadline {
                *unfetched.hosts.entry(host_key).or_default() += 1;
                continue;
            }
            let host_deadline = gate.deadline;
            let host_sem = gate.sem.clone();
            let next_start = gate.next_start.clone();
            let global = global.clone();
            let remaining = remaining.clone();
            let exhausted = exhausted.clone();
            let client = &client;
            let delay = settings.politeness_delay;
            let per_response = settings.max_response_bytes;
            in_flight.push(async move {
                let crawl_first = deadline <= host_deadline;
                let work = async {
                    let Ok(_host_permit) = host_sem.acquire_owned().await else {
                        return Outcome::BudgetExhausted;
                    };
                    let Ok(_permit) = global.acquire_owned().await else {
                        return Outcome::BudgetExhausted;
                    };
                    if !delay.is_zero() {
                        let start = {
                            let mut next = next_start.lock().await;
                            let start = (*next).max(tokio::time::Instant::now());
                            *next = start + delay;
                            start
                        };
                        tokio::time::sleep_until(start).await;
                    }
                    if exhausted.load(Ordering::Relaxed) {
                        return Outcome::BudgetExhausted;
                    }
                    let cap = per_response.min(remaining.load(Ordering::Relaxed));
                    match client.get(&task.url, cap).await {
                        Ok(r) => {
                            let n = r.bytes.len() as u64;
                            let before = remaining
                                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                                    Some(v.saturating_sub(n))
                                })
                                .unwrap_or(0);
                            if before <= n {
                                exhausted.store(true, Ordering::Relaxed);
                            }
                            Outcome::Done(r)
                        }
                        Err(e) => Outcome::Failed(e),
                    }
                };
                // Every request ends by the crawl's and its host's deadline, whatever the server does.
                let out = tokio::time::timeout_at(deadline.min(host_deadline), work)
                    .await
                    .unwrap_or(Outcome::OutOfTime(crawl_first));
                (task, out)
            });
        }

        let Some((task, outcome)) = in_flight.next().await else {
            break;
        };
        report.stats.requests += usize::from(!matches!(
            outcome,
            Outcome::BudgetExhausted | Outcome::OutOfTime(_)
        ));
        match outcome {
            Outcome::OutOfTime(true) => unfetched.crawl += 1,
            Outcome::OutOfTime(false) => {
                let host = task.url.host_str().unwrap_or("").to_owned();
                let key = format!("{host}:{}", task.url.port_or_known_default().unwrap_or(0));
                *unfetched.hosts.entry(key).or_default() += 1;
            }
            Outcome::BudgetExhausted => {
                report.errors.push(CrawlError {
                    url: task.url.to_string(),
                    referrer: task.referrer.as_ref().map(Url::to_string),
                    kind: CrawlErrorKind::BudgetExhausted,
                    message: format!(
                        "not fetched: total byte budget ({} bytes) exhausted",
                        settings.max_total_bytes
                    ),
                });
            }
            Outcome::Failed(e) => {
                if task.probe && !matches!(e, FetchError::Refused(_)) {
                    report.stats.probes_missing += 1;
                } else if let FetchError::CrossOriginRedirect(to) = &e {
                    report.skipped.push(Skipped {
                        url: task.url.to_string(),
                        reason: format!("redirects to another origin ({to}); not followed"),
                    });
                } else {
                    report
                        .errors
                        .push(error_for(&task.url, task.referrer.as_ref(), &e));
                }
            }
            Outcome::Done(resp) => {
                handle_response(
                    task,
                    resp,
                    settings,
                    &seed_origins,
                    &mut queue,
                    &mut report,
                    &mut sink,
                );
            }
        }
        if progress.mode() == Mode::Bar {
            progress.set_detail(crawl_progress(&report));
        }
    }
    if progress.mode() != Mode::Off {
        progress.set_detail(crawl_progress(&report));
        progress.finish();
    }
    // Time that ran out is an incomplete surface, never a silent pass.
    let seed = seeds.first().map(Url::to_string).unwrap_or_default();
    if unfetched.crawl > 0 {
        report.errors.push(CrawlError {
            url: seed,
            referrer: None,
            kind: CrawlErrorKind::Deadline,
            message: format!(
                "crawl stopped at its time limit (--max-duration {}): {} URL(s) not fetched; the surface was not fully scanned",
                human_duration(settings.max_duration),
                unfetched.crawl
            ),
        });
    }
    for (host, n) in &unfetched.hosts {
        report.errors.push(CrawlError {
            url: host.clone(),
            referrer: None,
            kind: CrawlErrorKind::Deadline,
            message: format!(
                "host time budget ({}) ran out: {n} URL(s) on {host} not fetched; the surface was not fully scanned",
                human_duration(settings.max_host_duration)
            ),
        });
    }
    report.stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// `90s`, `10m`, `1.5s`: a duration as the user would type it.
fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}ms", ms)
    }
}

fn task_probe(url: Url, role: Role) -> Task {
    Task {
        url,
        role,
        depth: 1,
        referrer: None,
        probe: true,
        seed: false,
    }
}

fn error_for(url: &Url, referrer: Option<&Url>, e: &FetchError) -> CrawlError {
    let kind = match e {
        FetchError::Refused(_) => CrawlErrorKind::Refused,
        FetchError::Timeout(_) => CrawlErrorKind::Timeout,
        FetchError::CrossOriginRedirect(_)
        | FetchError::TooManyRedirects(_)
        | FetchError::BadRedirect(_) => CrawlErrorKind::Redirect,
        FetchError::Unsupported(_) | FetchError::Network(_) => CrawlErrorKind::Network,
    };
    CrawlError {
        url: url.to_string(),
        referrer: referrer.map(Url::to_string),
        kind,
        message: e.to_string(),
    }
}

fn is_html(ct: Option<&str>) -> bool {
    ct.is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("text/html") || c.contains("application/xhtml")
    })
}

fn kind_of(role: Role, ct: Option<&str>, url: &Url) -> FetchedKind {
    let c = ct.unwrap_or("").to_ascii_lowercase();
    if role == Role::SourceMap {
        return FetchedKind::SourceMap;
    }
    if is_html(ct) {
        return FetchedKind::Page;
    }
    if c.contains("javascript") || c.contains("ecmascript") {
        return FetchedKind::Script;
    }
    if c.contains("json") {
        return FetchedKind::Json;
    }
    match (role, extract::role_from_path(url.path())) {
        (_, Role::SourceMap) => FetchedKind::SourceMap,
        (Role::Script, _) | (_, Role::Script) => FetchedKind::Script,
        (Role::Json, _) | (_, Role::Json) => FetchedKind::Json,
        (Role::Page, _) => FetchedKind::Page,
        _ => FetchedKind::Other,
    }
}

#[allow(clippy::too_many_arguments)]
fn handle_response(
    task: Task,
    resp: fetch::Response,
    settings: &CrawlSettings,
    seed_origins: &[url::Origin],
    queue: &mut VecDeque<Task>,
    report: &mut CrawlReport,
    sink: &mut impl FnMut(Fetched),
) {
    let ct = resp.content_type.as_deref();
    report.stats.bytes += resp.bytes.len() as u64;
    if !(200..300).contains(&resp.status) {
        if task.probe {
            report.stats.probes_missing += 1;
        } else if task.seed || resp.status >= 500 {
            report.errors.push(CrawlError {
                url: task.url.to_string(),
                referrer: task.referrer.as_ref().map(Url::to_string),
                kind: CrawlErrorKind::Http,
                message: format!("HTTP {}", resp.status),
            });
        } else {
            report.skipped.push(Skipped {
                url: task.url.to_string(),
                reason: format!("HTTP {}", resp.status),
            });
        }
        return;
    }
    // Single-page apps answer unknown paths with index.html: a probe that gets HTML missed.
    if task.probe && task.role != Role::Page && is_html(ct) {
        report.stats.probes_missing += 1;
        return;
    }
    if resp.truncated {
        report.errors.push(CrawlError {
            url: task.url.to_string(),
            referrer: task.referrer.as_ref().map(Url::to_string),
            kind: CrawlErrorKind::TooLarge,
            message: format!(
                "response larger than {} bytes; only the first {} bytes were read",
                settings.max_response_bytes,
                resp.bytes.len()
            ),
        });
    }
    let kind = kind_of(task.role, ct, &resp.final_url);
    let base = resp.final_url.clone();
    let mut refs: Vec<extract::Ref> = Vec::new();
    let mut source_map_url = resp
        .source_map_header
        .as_deref()
        .and_then(|h| extract::resolve(&base, h));
    let crawlable = seed_origins.contains(&base.origin());
    match (task.role, kind) {
        (Role::Sitemap, _) => {
            refs = extract::sitemap(&resp.bytes, &base)
                .into_iter()
                .filter(|r| seed_origins.contains(&r.url.origin()))
                .collect();
        }
        (Role::Page, FetchedKind::Page) if crawlable => {
            refs = extract::html(&resp.bytes, &base);
            for r in refs.iter().filter(|r| r.role == Role::Script && !r.probe) {
                report.note_script(seed_origins, &base, &r.url);
            }
        }
        (_, FetchedKind::Script) => {
            let js = extract::js(&resp.bytes, &base);
            refs = js.refs;
            if source_map_url.is_none() {
                source_map_url = js.source_map;
            }
        }
        (_, FetchedKind::Json) => {
            let name = base
                .path()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if name.contains("manifest") {
                refs = extract::json_manifest(&resp.bytes, &base);
            }
        }
        _ => {}
    }
    if let Some(sm) = &source_map_url {
        refs.push(extract::Ref {
            url: sm.clone(),
            role: Role::SourceMap,
            probe: false,
        });
    }
    if task.role == Role::Page {
        report.stats.pages += 1;
    } else {
        report.stats.assets += 1;
    }
    for r in refs {
        let depth = if r.role == Role::Page {
            task.depth + 1
        } else {
            task.depth
        };
        queue.push_back(Task {
            url: r.url,
            role: r.role,
            depth,
            referrer: Some(base.clone()),
            probe: r.probe,
            seed: false,
        });
    }
    if task.role == Role::Sitemap && kind == FetchedKind::Page {
        return;
    }
    sink(Fetched {
        url: task.url,
        final_url: resp.final_url,
        content_type: resp.content_type,
        bytes: resp.bytes,
        referrer: task.referrer,
        kind,
        source_map_url,
        truncated: resp.truncated,
    });
}

/// The crawl's progress: its own statistics (numbers only, no URL).
fn crawl_progress(report: &CrawlReport) -> String {
    format!(
        "{} pages, {} assets, {}, {} errors",
        progress::thousands(report.stats.pages as u64),
        progress::thousands(report.stats.assets as u64),
        progress::human_bytes(report.stats.bytes),
        report.errors.len()
    )
}
