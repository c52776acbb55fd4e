//! One audit run, end to end: load and validate → source secrets → probe keys, scan artifacts
//! and crawl surfaces → attribute → facts → policies → run document.
//!
//! Nothing here prints: the caller renders the returned [`Run`] and maps it to an exit code.
//! `merge` re-enters at [`evaluate_into`] with facts rebuilt from several shard runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use url::Url;

use crate::crawl::{CrawlSettings, Fetched, FetchedKind};
use crate::exposure::{
    Detectors, Hit, KnownIdentity, KnownKey, KnownKeys, Scanner, to_exposure, walk,
};
use crate::facts::{Facts, RunContext};
use crate::guard::Redactor;
use crate::http::{AllowedEndpoints, Client};
use crate::inventory::Loaded;
use crate::policy::{Exceptions, PolicySet};
use crate::progress::{Phase, Spec, Unit};
use crate::run::{
    Evidence, Exposure, InputFile, KeyProfile, KeyRecord, KeyStatus, Location, OutcomeRecord, Run,
    RunError, SubjectKind,
};
use crate::secret::{Fingerprinter, Secret, SourceOptions};
use crate::shard::Shard;
use crate::vendors::{self, ProbeSettings};

/// What an audit does; built by `commands::audit` (and `demo`) from the command line only.
#[derive(Clone)]
pub struct AuditOptions {
    pub inventory: PathBuf,
    /// User policy files merged over the built-in pack.
    pub policies: Vec<PathBuf>,
    pub exceptions: Option<PathBuf>,
    /// Longest exception lifetime accepted.
    pub exception_max_lifetime: jiff::Span,
    /// Inventory facts only: no secrets sourced, nothing probed, scanned or crawled.
    pub offline: bool,
    /// `--allow-endpoint`: inventory `endpoint` overrides that may be used.
    pub allowed: AllowedEndpoints,
    pub allow_secret_commands: bool,
    /// `--allow-secret-files`: more directories (canonical) `file:` secrets may be read from.
    pub allow_secret_files: Vec<PathBuf>,
    pub probe_bulk_endpoints: bool,
    /// Crawl private addresses (and loopback).
    pub allow_private_addresses: bool,
    /// Crawl loopback addresses only (the demo site).
    pub allow_loopback: bool,
    pub shard: Option<Shard>,
    /// Extra detector rule files.
    pub detectors: Vec<PathBuf>,
    /// Progress bars on a terminal.
    pub progress: bool,
    /// Recorded as the run's command (`audit`, `demo`).
    pub command: String,
    /// Crawl limits; the inventory's per-surface limits are applied on top.
    pub crawl: CrawlSettings,
    /// The fingerprint key; `None` = [`Fingerprinter::load`] (environment or key file).
    pub fingerprinter: Option<Arc<Fingerprinter>>,
    /// `--deny-weakened-rules`: a user policy that weakens a built-in rule is a configuration
    /// error.
    pub deny_weakened_rules: bool,
}

impl AuditOptions {
    pub fn new(inventory: impl Into<PathBuf>) -> Self {
        AuditOptions {
            inventory: inventory.into(),
            policies: vec![],
            exceptions: None,
            exception_max_lifetime: jiff::Span::new()
                .days(crate::policy::exceptions::DEFAULT_MAX_LIFETIME_DAYS),
            offline: false,
            allowed: AllowedEndpoints::none(),
            allow_secret_commands: false,
            allow_secret_files: vec![],
            probe_bulk_endpoints: false,
            allow_private_addresses: false,
            allow_loopback: false,
            shard: None,
            detectors: vec![],
            progress: false,
            command: "audit".into(),
            crawl: CrawlSettings::default(),
            fingerprinter: None,
            deny_weakened_rules: false,
        }
    }
}

/// A configuration problem found before anything was evaluated (exit 2). The text is rendered
/// (file:line:col diagnostics included) and passes the output filter when printed.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl ConfigError {
    /// Prints it on stderr: rendered diagnostics as they are, a one-line message as `error: …`.
    pub fn report(&self, out: &crate::report::Output) {
        if self.0.contains('\n') {
            out.stderr(&self.0, true);
        } else {
            out.error(&self.0);
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The inputs of an evaluation, loaded and validated.
pub struct Prepared {
    pub loaded: Loaded,
    pub policies: PolicySet,
    pub exceptions: Exceptions,
    pub fingerprinter: Arc<Fingerprinter>,
}

/// The audit's result: the run plus what the gate needs beyond findings.
pub struct AuditResult {
    pub run: Run,
    /// Exceptions that matched nothing (an error under `--deny-unused-exceptions`).
    pub unused_exceptions: Vec<String>,
}

/// Loads and validates the inventory, policies, exceptions and fingerprint key.
pub fn prepare(opts: &AuditOptions) -> Result<Prepared, ConfigError> {
    let loaded = crate::inventory::load(&opts.inventory).map_err(|d| ConfigError(d.render()))?;
    let (policies, exceptions) = load_policies(
        &opts.policies,
        opts.exceptions.as_deref(),
        opts.exception_max_lifetime,
    )?;
    if opts.deny_weakened_rules && !policies.weakened.is_empty() {
        return Err(ConfigError(format!(
            "error: {}",
            crate::report::weakened::deny_message(&policies.weakened)
        )));
    }
    let fingerprinter = match &opts.fingerprinter {
        Some(f) => Arc::clone(f),
        None => Fingerprinter::load()
            .map(Arc::new)
            .map_err(|e| ConfigError(format!("cannot load the fingerprint key: {e}")))?,
    };
    Ok(Prepared {
        loaded,
        policies,
        exceptions,
        fingerprinter,
    })
}

/// The built-in pack merged with user policy files, and the exceptions checked against it.
pub fn load_policies(
    policies: &[PathBuf],
    exceptions: Option<&Path>,
    max_lifetime: jiff::Span,
) -> Result<(PolicySet, Exceptions), ConfigError> {
    let set = PolicySet::load_files(policies).map_err(|d| ConfigError(d.render()))?;
    let exceptions = match exceptions {
        Some(p) => {
            let e = Exceptions::load(p, max_lifetime).map_err(|d| ConfigError(d.render()))?;
            let d = e.check_rules(&set);
            if !d.is_empty() {
                return Err(ConfigError(d.render()));
            }
            e
        }
        None => Exceptions::none(),
    };
    Ok((set, exceptions))
}

/// An input file's path and SHA-256 (empty when unreadable; loading reported that already).
pub fn input_file(path: &Path) -> InputFile {
    InputFile {
        path: path.display().to_string(),
        sha256: std::fs::read(path)
            .map(|b| crate::run::sha256_hex(&b))
            .unwrap_or_default(),
    }
}

/// The stable shard id of a key (vendor and key id).
pub fn key_shard_id(vendor: &str, key: &str) -> String {
    format!("key:{vendor}/{key}")
}

/// Runs the audit. Every sourced secret is registered with `redactor` before anything else
/// happens, so no later output can carry it.
pub fn audit(opts: &AuditOptions, redactor: &Redactor) -> Result<AuditResult, ConfigError> {
    let prep = prepare(opts)?;
    if !opts.offline {
        // A surface the run would refuse fails the run once, before anything is sent.
        let policy = crate::crawl::AddressPolicy {
            allow_loopback: opts.allow_loopback,
            allow_private: opts.allow_private_addresses,
        };
        let owned = prep.loaded.inventory.surfaces.iter().filter(|s| {
            opts.shard
                .is_none_or(|sh| sh.owns(&format!("surface:{}", s.url)))
        });
        if let Some(msg) = crate::crawl::fetch::refused_seeds(owned.map(|s| s.url.as_str()), policy)
        {
            return Err(ConfigError(format!("inventory surfaces: {msg}")));
        }
        // So is a key whose inventory `endpoint` the command line does not allow: one error,
        // not an inconclusive probe per key.
        let mut refused = vec![];
        for v in prep.loaded.inventory.vendors.iter() {
            for k in &v.keys {
                let owned = opts
                    .shard
                    .is_none_or(|s| s.owns(&key_shard_id(&v.id, &k.id)));
                let Some(ep) = k.endpoint.as_deref().filter(|_| owned) else {
                    continue;
                };
                if v.probe_connector().is_none() {
                    continue;
                }
                let allowed = Url::parse(ep).is_ok_and(|u| opts.allowed.allows_url(&u));
                if !allowed {
                    let ep = crate::guard::url::mask_userinfo(ep);
                    refused.push(format!("{}/{} → {ep}", v.id, k.id));
                }
            }
        }
        if !refused.is_empty() {
            return Err(ConfigError(format!(
                "inventory keys name an `endpoint` the command line does not allow: {}; allow each HOST:PORT with --allow-endpoint (emulators, test servers) or remove `endpoint` (nothing was sent)",
                refused.join(", ")
            )));
        }
    }
    let detectors =
        Arc::new(Detectors::load(&opts.detectors).map_err(|e| ConfigError(e.to_string()))?);
    redactor.add_matcher(detectors.matcher());
    let fp = Arc::clone(&prep.fingerprinter);
    let inv = &prep.loaded.inventory;
    let base_dir = opts
        .inventory
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let owns = |id: &str| opts.shard.is_none_or(|s| s.owns(id));

    let mut run = Run::new(&opts.command, fp.check_value());
    if !opts.offline {
        // (They are all about sourcing secrets, which an offline run does not do.)
        run.warnings.extend(prep.loaded.warnings.iter().cloned());
    }
    if let Some(w) = fp.ci_warning() {
        run.warnings.push(w);
    }
    run.inputs.inventory = Some(InputFile {
        path: opts.inventory.display().to_string(),
        sha256: prep.loaded.sha256.clone(),
    });
    run.inputs.policies = opts.policies.iter().map(|p| input_file(p)).collect();
    run.inputs.exceptions = opts.exceptions.as_deref().map(input_file);
    record_options(&mut run, opts);

    // Artifacts and surfaces this run (or shard) covers.
    let artifacts: Vec<String> = inv
        .artifacts
        .iter()
        .filter(|a| owns(&format!("artifact:{a}")))
        .cloned()
        .collect();
    let surfaces: Vec<&crate::inventory::model::Surface> = inv
        .surfaces
        .iter()
        .filter(|s| owns(&format!("surface:{}", s.url)))
        .collect();
    run.inputs.artifacts = artifacts.clone();
    run.inputs.surfaces = surfaces.iter().map(|s| s.url.clone()).collect();

    // Secrets: every key is sourced (attribution needs every fingerprint, even in a shard);
    // only the keys this shard owns are probed.
    let mut secrets: HashMap<(String, String), Secret> = HashMap::new();
    let source_opts = SourceOptions {
        allow_commands: opts.allow_secret_commands,
        base_dir: base_dir.clone(),
        allowed_file_dirs: opts.allow_secret_files.clone(),
        ..Default::default()
    };
    for vendor in &inv.vendors {
        for key in &vendor.keys {
            let mut rec = KeyRecord::declared(&vendor.id, key);
            if vendor.probe_connector().is_none() && owns(&key_shard_id(&vendor.id, &key.id)) {
                // `connector: none`: reported as such, never silently left out.
                rec.profile = Some(vendors::profile(
                    crate::inventory::model::NO_CONNECTOR,
                    KeyStatus::NotProbed("no_connector".into()),
                ));
            }
            if !opts.offline {
                match crate::secret::source(&key.secret, &source_opts) {
                    Ok((secret, warnings)) => {
                        redactor.add_secret(&secret);
                        run.warnings.extend(warnings);
                        rec.fingerprint = Some(fp.fingerprint(&secret));
                        rec.redacted = Some(secret.redacted());
                        rec.shape = crate::run::KeyShape::of(secret.expose());
                        secrets.insert((vendor.id.clone(), key.id.clone()), secret);
                    }
                    // An unsafe source (a FIFO, a device, a file outside the allowed
                    // directories) is the inventory's error, not an unavailable secret.
                    Err(e) if e.is_config_error() => {
                        return Err(ConfigError(format!("key {}/{}: {e}", vendor.id, key.id)));
                    }
                    Err(e) => run.errors.push(RunError {
                        stage: "secret".into(),
                        subject: Some(format!("{}/{}", vendor.id, key.id)),
                        message: e.to_string(),
                    }),
                }
            }
            run.keys.push(rec);
        }
    }

    for vendor in inv.vendors.iter().filter(|v| v.probe_connector().is_none()) {
        let keys: Vec<&str> = vendor
            .keys
            .iter()
            .filter(|k| owns(&key_shard_id(&vendor.id, &k.id)))
            .map(|k| k.id.as_str())
            .collect();
        if !keys.is_empty() {
            run.warnings.push(format!(
                "vendor `{}` has `connector: none` ({}): key(s) {} not probed",
                vendor.id,
                vendor
                    .connector_reason
                    .as_deref()
                    .unwrap_or("no reason given"),
                keys.join(", ")
            ));
        }
    }

    let mut scan_errors = 0u32;
    let mut probed = false;
    let mut crawled = false;
    let mut script_origins = RunContext::default();
    let mut scanned = false;
    let mut scanner_note = None;
    if !opts.offline {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| ConfigError(format!("cannot start the I/O runtime: {e}")))?;

        // Probes, concurrently on one guarded client (it bounds rate and concurrency per vendor).
        let settings = ProbeSettings {
            allowed: opts.allowed.clone(),
            probe_bulk_endpoints: opts.probe_bulk_endpoints,
            fingerprinter: Some(Arc::clone(&fp)),
            ..Default::default()
        };
        let client = Client::new(settings.client_config())
            .map_err(|e| ConfigError(format!("cannot build the HTTP client: {e}")))?;
        let mut jobs = vec![];
        for vendor in &inv.vendors {
            for key in &vendor.keys {
                if !owns(&key_shard_id(&vendor.id, &key.id)) {
                    continue;
                }
                let Some(secret) = secrets.get(&(vendor.id.clone(), key.id.clone())) else {
                    continue;
                };
                let Some(connector) = vendor.probe_connector().map(str::to_string) else {
                    continue;
                };
                let mut s = settings.clone();
                s.region = vendor.region.clone();
                jobs.push((vendor.id.clone(), key, secret, connector, s));
            }
        }
        probed = !jobs.is_empty();
        let phase = probed.then(|| {
            Phase::start(
                Spec::new("probe", Unit::KEYS).items(jobs.len() as u64),
                opts.progress,
                redactor,
            )
        });
        let profiles: Vec<(String, String, KeyProfile)> = rt.block_on(async {
            let futs = jobs.iter().map(|(vid, key, secret, connector, s)| async {
                if let Some(ph) = &phase {
                    ph.begin(vid);
                }
                let p = vendors::probe_key(connector, secret, key, s, &client).await;
                if let Some(ph) = &phase {
                    ph.end(vid);
                    ph.add(1, 0);
                }
                (vid.clone(), key.id.clone(), p)
            });
            futures::future::join_all(futs).await
        });
        if let Some(ph) = phase {
            ph.finish();
        }
        for (vid, kid, p) in profiles {
            if let KeyStatus::Inconclusive(r) = &p.status {
                run.errors.push(RunError {
                    stage: "probe".into(),
                    subject: Some(format!("{vid}/{kid}")),
                    message: format!("probe inconclusive: {r}"),
                });
            }
            if let Some(rec) = run.keys.iter_mut().find(|k| k.vendor == vid && k.id == kid) {
                rec.profile = Some(p);
            }
        }
        run.ledger = client.take_ledger();
        run.warnings.extend(client.take_warnings());

        // Every sourced key is also searched for by value, whatever the text around it.
        let by_value = inv
            .vendors
            .iter()
            .flat_map(|v| v.keys.iter().map(move |k| (v, k)))
            .filter_map(|(v, k)| {
                let secret = secrets.get(&(v.id.clone(), k.id.clone()))?;
                KnownKey::by_value(KnownIdentity::from_inventory(v, k), secret)
            })
            .collect();
        let mut scanner = Scanner::new(Arc::clone(&detectors))
            .with_redactor(redactor)
            .with_known(KnownKeys::new(by_value, Arc::clone(&fp)));
        scanner.progress = opts.progress;
        let at = crate::run::now_rfc3339();
        // Artifacts, relative to the inventory's folder.
        if !artifacts.is_empty() {
            let mut roots = vec![];
            for a in &artifacts {
                let p = base_dir.join(a);
                if std::fs::symlink_metadata(&p).is_err() {
                    scan_errors += 1;
                    run.errors.push(RunError {
                        stage: "artifact".into(),
                        subject: Some(p.display().to_string()),
                        message: "no such file or directory".into(),
                    });
                } else {
                    roots.push(p);
                }
            }
            let mut res = walk::scan_paths(&roots, &globset::GlobSet::empty(), &scanner);
            scanned = true;
            for hit in &res.hits {
                run.exposures
                    .push(to_exposure(&detectors, hit, &fp, "artifact", &at));
            }
            scan_errors += record_artifact_problems(&mut run, &mut res);
        }
        // Surfaces.
        for s in &surfaces {
            let seed = match Url::parse(&s.url) {
                Ok(u) => u,
                Err(e) => {
                    scan_errors += 1;
                    run.errors.push(RunError {
                        stage: "surface".into(),
                        subject: Some(s.url.clone()),
                        message: format!("not a URL: {e}"),
                    });
                    continue;
                }
            };
            let mut cs = opts.crawl.clone();
            cs.allow_loopback |= opts.allow_loopback;
            cs.allow_private_addresses |= opts.allow_private_addresses;
            cs.progress &= opts.progress;
            if let Some(n) = s.max_pages {
                cs.max_pages = n as usize;
            }
            if let Some(n) = s.max_depth {
                cs.max_depth = n;
            }
            if let Some(n) = s.max_bytes {
                cs.max_total_bytes = n;
            }
            let (hits, report) = rt.block_on(crawl_and_scan(&seed, &cs, &scanner));
            crawled = true;
            script_origins.add_script_origins(&report.script_origins);
            for hit in &hits {
                run.exposures
                    .push(to_exposure(&detectors, hit, &fp, "surface", &at));
            }
            let errs = report.run_errors();
            scan_errors += errs.len() as u32;
            run.errors.extend(errs);
        }
        scanner_note = scanner.cap.note();
    }

    if let Some(note) = scanner_note {
        scan_errors += 1;
        run.errors.push(RunError {
            stage: "exposure".into(),
            subject: None,
            message: note,
        });
    }
    // Attribution by fingerprint; one exposure per id.
    let known: HashMap<&str, (&str, &str)> = run
        .keys
        .iter()
        .filter_map(|k| {
            k.fingerprint
                .as_deref()
                .map(|f| (f, (k.id.as_str(), k.vendor.as_str())))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut exposures = std::mem::take(&mut run.exposures);
    exposures.retain(|e| seen.insert(e.id.clone()));
    for e in &mut exposures {
        if let Some((k, v)) = known.get(e.evidence.fingerprint.as_str()) {
            e.inventory_key = Some(k.to_string());
            e.inventory_vendor = Some(v.to_string());
        }
    }
    drop(known);
    run.exposures = exposures;

    let ctx = RunContext {
        command: opts.command.clone(),
        offline: opts.offline,
        probed,
        artifacts_scanned: scanned,
        surfaces_crawled: crawled,
        error_count: run.errors.len() as u32,
        scan_errors,
        script_origins: script_origins.script_origins,
    };
    let mut facts = crate::facts::build(Some(inv), &run.keys, &run.exposures, &ctx);
    if let Some(shard) = opts.shard {
        // A shard answers for the vendors and keys it owns; `merge` evaluates the whole.
        facts
            .vendors
            .retain(|v| shard.owns(&format!("vendor:{}", v.id)));
        facts
            .keys
            .retain(|k| shard.owns(&key_shard_id(&k.vendor, &k.id)));
    }
    Ok(conclude(run, facts, &prep))
}

/// Evaluates the policies over the facts, fills the run and stamps its end.
fn conclude(mut run: Run, facts: Facts, prep: &Prepared) -> AuditResult {
    let unused = evaluate_into(
        &mut run,
        facts,
        &prep.policies,
        &prep.exceptions,
        Some(&prep.loaded),
        jiff::Timestamp::now(),
    );
    run.finish();
    AuditResult {
        run,
        unused_exceptions: unused,
    }
}

/// Records an artifact walk's per-file errors (stage `artifact`) and warnings in the run;
/// returns how many items could not be scanned.
pub fn record_artifact_problems(run: &mut Run, res: &mut walk::ArtifactScan) -> u32 {
    let n = res.errors.len() as u32;
    for (subject, message) in res.errors.drain(..) {
        run.errors.push(RunError {
            stage: "artifact".into(),
            subject: Some(subject),
            message,
        });
    }
    for (subject, message) in res.warnings.drain(..) {
        run.warnings.push(format!(
            "{subject}: {message} (content scanned; no original position)"
        ));
    }
    for (subject, message) in res.not_followed.drain(..) {
        run.warnings.push(format!("{subject}: {message}"));
    }
    n
}

fn record_options(run: &mut Run, opts: &AuditOptions) {
    let o = &mut run.inputs.options;
    if opts.offline {
        o.insert("offline".into(), "true".into());
    }
    if opts.probe_bulk_endpoints {
        o.insert("probe_bulk_endpoints".into(), "true".into());
    }
    if opts.allow_secret_commands {
        o.insert("allow_secret_commands".into(), "true".into());
    }
    if !opts.allow_secret_files.is_empty() {
        o.insert(
            "allow_secret_files".into(),
            opts.allow_secret_files
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if opts.allow_private_addresses {
        o.insert("allow_private_addresses".into(), "true".into());
    }
    if !opts.allowed.is_empty() {
        o.insert(
            "allow_endpoint".into(),
            opts.allowed
                .entries()
                .iter()
                .map(|e| match e.port {
                    Some(p) => format!("{}:{p}", e.host),
                    None => e.host.clone(),
                })
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(s) = opts.shard {
        o.insert("shard".into(), format!("{}/{}", s.index, s.count));
    }
    if !opts.detectors.is_empty() {
        o.insert(
            "detectors".into(),
            opts.detectors
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
}

/// Crawls one surface and scans every body as it arrives. A bundle's hits are attributed to
/// original sources when its source map arrives (maps are fetched after the bundle naming them):
/// until then the bundle's hits wait with every occurrence's position, then are regrouped by
/// original source. Hits whose map never arrives are kept unattributed.
pub async fn crawl_and_scan(
    seed: &Url,
    settings: &CrawlSettings,
    scanner: &Scanner,
) -> (Vec<Hit>, crate::crawl::CrawlReport) {
    type Waiting = Vec<(Vec<Hit>, Vec<crate::exposure::scan::Occurrence>)>;
    let hits: Mutex<Vec<Hit>> = Mutex::new(vec![]);
    // map URL → bundles (hits, positions) waiting for it.
    let pending: Mutex<HashMap<String, Waiting>> = Mutex::new(HashMap::new());
    let notes: Mutex<Vec<(String, String)>> = Mutex::new(vec![]);
    let max_locations = scanner.limits.max_locations;
    let mut report =
        crate::crawl::crawl_async(std::slice::from_ref(seed), settings, |f: Fetched| {
            let name = f.final_url.to_string();
            let out = match f.source_map_url {
                Some(_) => scanner.scan_bytes_deferred(&name, &f.bytes),
                None => scanner.scan_bytes(&name, &f.bytes),
            };
            let (Ok(mut all), Ok(mut waiting), Ok(mut notes)) =
                (hits.lock(), pending.lock(), notes.lock())
            else {
                return;
            };
            notes.extend(out.errors);
            if f.kind == FetchedKind::SourceMap {
                for (bundle, positions) in waiting.remove(f.url.as_str()).unwrap_or_default() {
                    match crate::exposure::scan::attribute_with_map(
                        bundle.clone(),
                        &positions,
                        &f.bytes,
                        max_locations,
                    ) {
                        Ok(attributed) => all.extend(attributed),
                        Err(_) => all.extend(bundle),
                    }
                }
            }
            match &f.source_map_url {
                Some(map) if !out.hits.is_empty() => waiting
                    .entry(map.to_string())
                    .or_default()
                    .push((out.hits, out.positions)),
                _ => all.extend(out.hits),
            }
        })
        .await;
    let mut all = hits.into_inner().unwrap_or_default();
    for (_, bundles) in pending.into_inner().unwrap_or_default() {
        all.extend(bundles.into_iter().flat_map(|(h, _)| h));
    }
    report.scan_notes = notes.into_inner().unwrap_or_default();
    (all, report)
}

/// Evaluates the policies over `facts` and fills the run: findings (with inventory and
/// exposure locations), outcomes, control coverage, policy-set hash and changes, exception
/// warnings. Returns the unused exception ids.
pub fn evaluate_into(
    run: &mut Run,
    facts: Facts,
    policies: &PolicySet,
    exceptions: &Exceptions,
    loaded: Option<&Loaded>,
    now: jiff::Timestamp,
) -> Vec<String> {
    let ev = crate::policy::evaluate(policies, &facts, exceptions, now, &run.fingerprint_check);
    let inv_path = run.inputs.inventory.as_ref().map(|i| i.path.clone());
    let at_inventory = |path: Option<String>| -> Option<Location> {
        let (line, column) = loaded?.location_of(&path?)?;
        Some(Location {
            path: inv_path.clone(),
            line: Some(line as u64),
            column: Some(column as u64),
            ..Default::default()
        })
    };
    let exposures: HashMap<&str, &Exposure> =
        run.exposures.iter().map(|e| (e.id.as_str(), e)).collect();
    let keys: HashMap<(&str, &str), &KeyRecord> = run
        .keys
        .iter()
        .map(|k| ((k.vendor.as_str(), k.id.as_str()), k))
        .collect();
    let mut findings = ev.findings;
    // Findings and outcomes are filled in parallel (a large tree's are thousands).
    use rayon::prelude::*;
    findings.par_iter_mut().with_min_len(256).for_each(|f| {
        let rule = policies.rule(&f.rule);
        match f.subject.kind {
            SubjectKind::Exposure => {
                if let Some(e) = exposures.get(f.subject.id.as_str()) {
                    // The kept locations (`--max-locations`); `occurrences` counts the rest.
                    f.locations = e.locations().cloned().collect();
                    f.evidence = Some(e.evidence.clone());
                }
            }
            SubjectKind::Key => {
                let vendor = f.subject.vendor.clone().unwrap_or_default();
                let mut locs = vec![];
                // Rules about exposure point at the public copies first.
                if rule.is_some_and(|r| r.require.source.contains("exposed")) {
                    locs.extend(
                        run.exposures
                            .iter()
                            .filter(|e| {
                                e.inventory_key.as_deref() == Some(f.subject.id.as_str())
                                    && e.inventory_vendor.as_deref() == Some(vendor.as_str())
                            })
                            .map(|e| e.location.clone()),
                    );
                }
                locs.extend(at_inventory(loaded.and_then(|l| l.key_path(&f.subject.id))));
                f.locations = locs;
                if let Some(k) = keys.get(&(vendor.as_str(), f.subject.id.as_str()))
                    && let (Some(fp), Some(red)) = (&k.fingerprint, &k.redacted)
                {
                    f.evidence = Some(Evidence {
                        fingerprint: fp.clone(),
                        redacted: red.clone(),
                    });
                }
            }
            SubjectKind::Vendor => {
                f.locations = at_inventory(loaded.and_then(|l| l.vendor_path(&f.subject.id)))
                    .into_iter()
                    .collect();
            }
            SubjectKind::Run => {
                f.locations = inv_path
                    .clone()
                    .map(|p| Location {
                        path: Some(p),
                        ..Default::default()
                    })
                    .into_iter()
                    .collect();
            }
        }
    });
    findings.sort_by(crate::run::finding_order);
    run.outcomes = ev
        .results
        .par_iter()
        .with_min_len(256)
        .map(|r| {
            let rule = policies.rule(&r.rule);
            OutcomeRecord {
                rule: r.rule.clone(),
                title: rule.map(|x| x.title.clone()).unwrap_or_default(),
                severity: rule
                    .map(|x| x.severity)
                    .unwrap_or(crate::run::Severity::Info),
                subject: r.subject.clone(),
                status: r.outcome,
                controls: rule.map(|x| x.controls()).unwrap_or_default(),
                reason: r.reason.clone(),
            }
        })
        .collect();
    run.findings = findings;
    run.controls = ev.controls;
    run.policy_set_hash = Some(ev.policy_set_hash);
    run.policy_changes = ev.policy_changes;
    run.weakened_rules = policies.weakened.clone();
    run.warnings.extend(ev.exception_warnings);
    run.facts = facts;
    ev.unused_exceptions
}

/// Counts of outcomes per status (for summaries).
pub fn outcome_counts(run: &Run) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for o in &run.outcomes {
        *m.entry(crate::policy::eval::outcome_label(o.status))
            .or_insert(0) += 1;
    }
    m
}

/// Merges shard runs (`audit --shard K/N`, every K once) and re-evaluates the policies over the
/// whole: facts are rebuilt from the inventory, every shard's key profiles and exposures, so a
/// kill chain whose exposure and key fell in different shards is still found.
pub fn merge(opts: &AuditOptions, runs: Vec<(String, Run)>) -> Result<AuditResult, ConfigError> {
    let Some((first_name, first)) = runs.first() else {
        return Err(ConfigError("merge needs at least one run".into()));
    };
    let prep = prepare(opts)?;
    let check = first.fingerprint_check.clone();
    let mut shards: BTreeMap<u32, String> = BTreeMap::new();
    let mut count = None;
    for (name, r) in &runs {
        if r.fingerprint_check != check {
            return Err(ConfigError(format!(
                "{name} and {first_name} were made with different fingerprint keys ({} vs {check}); set VENDORSCOPE_FINGERPRINT_KEY to the same value for every shard",
                r.fingerprint_check
            )));
        }
        let sha = r.inputs.inventory.as_ref().map(|i| i.sha256.as_str());
        if sha != Some(prep.loaded.sha256.as_str()) {
            return Err(ConfigError(format!(
                "{name} was made from a different inventory than {} (SHA-256 {} vs {}); merge shards of one inventory version",
                opts.inventory.display(),
                sha.unwrap_or("none"),
                prep.loaded.sha256
            )));
        }
        let shard: Shard = r
            .inputs
            .options
            .get("shard")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                ConfigError(format!(
                    "{name} is not a shard run (no `shard` in inputs.options); merge takes the runs of `audit --shard K/N`"
                ))
            })?;
        if *count.get_or_insert(shard.count) != shard.count {
            return Err(ConfigError(format!(
                "{name} is shard {}/{} but the other runs split into {} shards",
                shard.index,
                shard.count,
                count.unwrap_or(0)
            )));
        }
        if let Some(other) = shards.insert(shard.index, name.clone()) {
            return Err(ConfigError(format!(
                "{name} and {other} are both shard {}/{}",
                shard.index, shard.count
            )));
        }
    }
    let n = count.unwrap_or(0);
    let missing: Vec<String> = (1..=n)
        .filter(|k| !shards.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError(format!(
            "shard(s) {} missing: the merge would not cover every key, vendor and surface",
            missing.join(", ")
        )));
    }

    let mut run = Run::new(&opts.command, &check);
    run.started_at = runs
        .iter()
        .map(|(_, r)| r.started_at.clone())
        .min()
        .unwrap_or_default();
    run.inputs.inventory = first.inputs.inventory.clone();
    run.inputs.policies = opts.policies.iter().map(|p| input_file(p)).collect();
    run.inputs.exceptions = opts.exceptions.as_deref().map(input_file);
    run.inputs.options.insert(
        "merged".into(),
        runs.iter()
            .map(|(_, r)| r.run_id.clone())
            .collect::<Vec<_>>()
            .join(","),
    );
    let mut ctx = RunContext {
        command: opts.command.clone(),
        ..Default::default()
    };
    let hashes: HashSet<Option<&String>> = runs
        .iter()
        .map(|(_, r)| r.policy_set_hash.as_ref())
        .collect();
    if hashes.len() > 1 {
        run.warnings.push(
            "the shards were evaluated with different policy sets; the merge re-evaluates with the policies given to it".into(),
        );
    }
    let mut seen = HashSet::new();
    for (_, r) in runs {
        ctx.offline |= r.facts.run.offline;
        ctx.probed |= r.facts.run.probed;
        ctx.artifacts_scanned |= r.facts.run.artifacts_scanned;
        ctx.surfaces_crawled |= r.facts.run.surfaces_crawled;
        ctx.scan_errors += r.facts.run.scan_errors;
        if let Some(seen) = &r.facts.run.script_origins {
            let seen: crate::facts::ScriptOrigins = seen
                .iter()
                .map(|s| (s.origin.clone(), s.pages.iter().cloned().collect()))
                .collect();
            ctx.add_script_origins(&seen);
        }
        for k in r.keys {
            match run
                .keys
                .iter_mut()
                .find(|x| x.vendor == k.vendor && x.id == k.id)
            {
                Some(x) => {
                    if x.profile.is_none() {
                        x.profile = k.profile;
                    }
                    if x.fingerprint.is_none() {
                        x.fingerprint = k.fingerprint;
                        x.redacted = k.redacted;
                    }
                }
                None => run.keys.push(k),
            }
        }
        for e in r.exposures {
            if seen.insert(e.id.clone()) {
                run.exposures.push(e);
            }
        }
        run.ledger.extend(r.ledger);
        for e in r.errors {
            if !run
                .errors
                .iter()
                .any(|x| x.stage == e.stage && x.subject == e.subject && x.message == e.message)
            {
                run.errors.push(e);
            }
        }
        for w in r.warnings {
            if !run.warnings.contains(&w) {
                run.warnings.push(w);
            }
        }
        run.inputs.artifacts.extend(r.inputs.artifacts);
        run.inputs.surfaces.extend(r.inputs.surfaces);
    }
    // Shard runs list every key; keep the inventory's order.
    let order: Vec<(String, String)> = prep
        .loaded
        .inventory
        .vendors
        .iter()
        .flat_map(|v| v.keys.iter().map(|k| (v.id.clone(), k.id.clone())))
        .collect();
    run.keys.sort_by_key(|k| {
        order
            .iter()
            .position(|(v, i)| *v == k.vendor && *i == k.id)
            .unwrap_or(usize::MAX)
    });
    let known: HashMap<String, (String, String)> = run
        .keys
        .iter()
        .filter_map(|k| {
            k.fingerprint
                .clone()
                .map(|f| (f, (k.id.clone(), k.vendor.clone())))
        })
        .collect();
    for e in &mut run.exposures {
        if let Some((k, v)) = known.get(&e.evidence.fingerprint) {
            e.inventory_key = Some(k.clone());
            e.inventory_vendor = Some(v.clone());
        }
    }
    ctx.error_count = run.errors.len() as u32;
    let facts = crate::facts::build(
        Some(&prep.loaded.inventory),
        &run.keys,
        &run.exposures,
        &ctx,
    );
    Ok(conclude(run, facts, &prep))
}
