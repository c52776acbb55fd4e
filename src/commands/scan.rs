//! `vendorscope scan PATH|URL...`: the deploy gate. Scans build output and crawls URLs,
//! attributes what it finds (inventory or `--known-keys`), optionally verifies found keys,
//! and takes its findings and exit code from the policy pack's exposure rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use url::Url;

use super::Ctx;
use crate::cli::ScanArgs;
use crate::crawl::CrawlSettings;
use crate::exposure::{Detectors, Hit, KnownIdentity, KnownKey, Scanner, to_exposure, walk};
use crate::gate::EXIT_CONFIG;
use crate::http::{AllowedEndpoints, Client};
use crate::run::{InputFile, KeyRecord, KeyShape, Run, RunError};
use crate::secret::{Fingerprinter, Secret, SecretRef, SourceError, SourceOptions};
use crate::vendors::{self, ProbeSettings};

/// Fingerprint → (inventory key id, vendor id): how exposures are attributed.
pub type KnownKeys = BTreeMap<String, (String, String)>;

/// What `--known-keys RUN.json` gives: the fingerprints, the key records (with their
/// redacted forms and shapes) and, per (vendor id, key id), the key's declared facts as that
/// run read them.
pub struct PreviousKeys {
    pub fingerprints: KnownKeys,
    pub records: Vec<KeyRecord>,
    pub identities: HashMap<(String, String), KnownIdentity>,
    /// The keys' facts as that run recorded them (their declared facts stand in for the
    /// inventory's, see [`crate::facts::add_known_keys`]).
    pub facts: Vec<crate::facts::KeyFacts>,
}

pub fn run(ctx: &Ctx, args: &ScanArgs) -> anyhow::Result<u8> {
    let fp = Arc::new(Fingerprinter::load().context("cannot load the fingerprint key")?);
    let exclude = walk::excludes(&args.exclude);
    // The local targets (checked again below, where a bad one stops the run).
    let local: Vec<PathBuf> = args
        .targets
        .iter()
        .filter(|t| !t.contains("://"))
        .map(PathBuf::from)
        .collect();
    // The detectors compile while the policies load and the files are listed (together most of
    // the start-up time); nothing is printed before the detectors feed the output filter.
    let (detectors, policy_load, listing) = std::thread::scope(|s| {
        let d = s.spawn(|| Detectors::load(&args.detectors));
        let l = s.spawn(|| {
            let ex = exclude.as_ref().ok()?;
            let exist = local.iter().all(|p| std::fs::symlink_metadata(p).is_ok());
            (exist && !local.is_empty()).then(|| walk::list(&local, ex, args.follow_symlinks))
        });
        let p = super::audit::policy_options(&args.policy).map(|opts| {
            let loaded = crate::audit::load_policies(
                &opts.policies,
                opts.exceptions.as_deref(),
                opts.exception_max_lifetime,
            );
            (opts, loaded)
        });
        (d.join(), p, l.join().ok().flatten())
    });
    let detectors = match detectors {
        Ok(Ok(d)) => Arc::new(d),
        Ok(Err(e)) => {
            ctx.out.error(&e.to_string());
            return Ok(EXIT_CONFIG);
        }
        Err(_) => anyhow::bail!("the detectors could not be compiled"),
    };
    // Detectors feed the output filter before anything is printed.
    ctx.out.redactor.add_matcher(detectors.matcher());
    let exclude = match exclude {
        Ok(g) => g,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    let mut paths: Vec<PathBuf> = vec![];
    let mut urls: Vec<Url> = vec![];
    for t in &args.targets {
        if t.starts_with("http://") || t.starts_with("https://") {
            match Url::parse(t) {
                Ok(mut u) if crate::crawl::has_userinfo(&u) => {
                    // Named without its user info: the password is never echoed.
                    crate::crawl::strip_userinfo(&mut u);
                    ctx.out.error(&format!(
                        "{u}: the URL carries credentials (`user:password@`), which are never sent or kept; remove them (a site that needs a login is out of scope for an anonymous crawl)"
                    ));
                    return Ok(EXIT_CONFIG);
                }
                Ok(u) if u.host().is_some() => urls.push(u),
                _ => {
                    ctx.out.error(&format!(
                        "{}: not a valid http(s) URL with a host",
                        crate::guard::url::mask_userinfo(t)
                    ));
                    return Ok(EXIT_CONFIG);
                }
            }
        } else if t.contains("://") {
            ctx.out.error(&format!(
                "{t}: only http:// and https:// URLs can be crawled"
            ));
            return Ok(EXIT_CONFIG);
        } else {
            let p = PathBuf::from(t);
            if std::fs::symlink_metadata(&p).is_err() {
                ctx.out.error(&format!("{t}: no such file or directory"));
                return Ok(EXIT_CONFIG);
            }
            paths.push(p);
        }
    }
    let policy = crate::crawl::AddressPolicy {
        allow_loopback: false,
        allow_private: args.allow_private_addresses,
    };
    if let Some(msg) = crate::crawl::fetch::refused_seeds(urls.iter().map(Url::as_str), policy) {
        ctx.out.error(&msg);
        return Ok(EXIT_CONFIG);
    }
    let allowed = match AllowedEndpoints::parse(&args.allow_endpoint) {
        Ok(a) => a,
        Err(e) => {
            ctx.out.error(&format!("--allow-endpoint: {e}"));
            return Ok(EXIT_CONFIG);
        }
    };
    let (opts, loaded_policies) = match policy_load {
        Ok(o) => o,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    let (mut policies, exceptions) = match loaded_policies {
        Ok(p) => p,
        Err(e) => {
            e.report(&ctx.out);
            return Ok(EXIT_CONFIG);
        }
    };
    if let Some(code) = super::config::refuse_weakened(ctx, opts.deny_weakened_rules) {
        return Ok(code);
    }
    if opts.deny_weakened_rules && !policies.weakened.is_empty() {
        ctx.out
            .error(&crate::report::weakened::deny_message(&policies.weakened));
        return Ok(EXIT_CONFIG);
    }
    policies.restrict_to_exposure();
    let baseline = match &args.policy.baseline {
        Some(p) => match super::diff::load_run(p) {
            Ok(r) => Some((p.display().to_string(), r)),
            Err(e) => {
                ctx.out.error(&format!("--baseline: {e:#}"));
                return Ok(EXIT_CONFIG);
            }
        },
        None => None,
    };

    let mut run = Run::new("scan", fp.check_value());
    if let Some(w) = fp.ci_warning() {
        run.warnings.push(w);
    }
    run.inputs.policies = args
        .policy
        .policies
        .iter()
        .map(|p| crate::audit::input_file(p))
        .collect();
    run.inputs.exceptions = args
        .policy
        .exceptions
        .as_deref()
        .map(crate::audit::input_file);
    let mut known: KnownKeys = BTreeMap::new();
    let mut identities = HashMap::new();
    let mut known_facts = vec![];
    // Inventory keys searched for by value (their secrets were sourced).
    let mut by_value: Vec<KnownKey> = vec![];

    if let Some(path) = &args.known_keys {
        match load_known_keys(path, &fp) {
            Ok(prev) => {
                known = prev.fingerprints;
                identities = prev.identities;
                known_facts = prev.facts;
                run.keys = prev.records;
                run.inputs
                    .options
                    .insert("known_keys".into(), path.display().to_string());
            }
            Err(msg) => {
                ctx.out.error(&msg);
                return Ok(EXIT_CONFIG);
            }
        }
    }

    let mut loaded = None;
    if let Some(path) = &args.inventory {
        let l = match crate::inventory::load(path) {
            Ok(l) => l,
            Err(d) => {
                ctx.out.stderr(&d.render(), true);
                return Ok(EXIT_CONFIG);
            }
        };
        run.warnings.extend(l.warnings.iter().cloned());
        run.inputs.inventory = Some(InputFile {
            path: path.display().to_string(),
            sha256: l.sha256.clone(),
        });
        let allowed: Result<Vec<_>, _> = args
            .allow_secret_files
            .iter()
            .map(|d| crate::secret::allowed_dir(d))
            .collect();
        let sourced = allowed.and_then(|allowed| {
            source_inventory_keys(
                ctx,
                &l,
                path,
                &allowed,
                &fp,
                &mut run,
                &mut known,
                &mut by_value,
            )
        });
        if let Err(msg) = sourced {
            ctx.out.error(&msg);
            return Ok(EXIT_CONFIG);
        }
        loaded = Some(l);
    }

    let searched = known_keys(
        by_value,
        &run.keys,
        loaded.as_ref(),
        &identities,
        &mut run.warnings,
    );
    let mut scanner = Scanner::new(Arc::clone(&detectors))
        .with_redactor(&ctx.out.redactor)
        .with_known(crate::exposure::KnownKeys::new(searched, Arc::clone(&fp)));
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    scanner.limits.max_locations = n(args.max_locations);
    scanner.limits.max_per_item = n(args.max_exposures_per_file);
    scanner.cap = Arc::new(crate::exposure::scan::RunCap::new(n(args.max_exposures)));
    scanner.follow_symlinks = args.follow_symlinks;
    scanner.progress = !ctx.global.quiet;
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{name} done"
        )
    };
    let at = crate::run::now_rfc3339();
    let mut hits: Vec<(Hit, &'static str)> = vec![];
    let mut scan_errors = 0u32;
    let mut script_origins = crate::facts::RunContext::default();
    // History first: a path that is no repository or a bad --since stops before the file scan.
    let history = match &args.git {
        Some(repo) => {
            match crate::exposure::git::scan_history(repo, args.since.as_deref(), &scanner) {
                Ok(h) => Some(h),
                Err(e) => {
                    ctx.out.error(&e.to_string());
                    return Ok(EXIT_CONFIG);
                }
            }
        }
        None => None,
    };
    if !paths.is_empty() {
        let listing = match listing {
            Some(l) if local == paths => l,
            _ => walk::list(&paths, &exclude, args.follow_symlinks),
        };
        let mut res = walk::scan_listed(listing, &scanner);
        tracing::info!(
            files = res.files,
            bytes = res.bytes,
            skipped_binary = res.skipped_binary,
            "artifact scan finished"
        );
        phase("artifact scan");
        scan_errors += crate::audit::record_artifact_problems(&mut run, &mut res);
        hits.extend(res.hits.into_iter().map(|h| (h, "artifact")));
    }
    if let Some(h) = history {
        tracing::info!(
            commits = h.stats.commits,
            blobs = h.stats.blobs_scanned,
            bytes = h.stats.bytes_scanned,
            "history scan finished"
        );
        phase("history scan");
        scan_errors += h.errors.len() as u32;
        run.errors
            .extend(h.errors.into_iter().map(|(subject, message)| RunError {
                stage: "history".into(),
                subject: Some(subject),
                message,
            }));
        run.warnings.extend(h.warnings);
        run.history = Some(h.stats);
        hits.extend(h.hits.into_iter().map(|h| (h, "history")));
    }
    let needs_runtime = !urls.is_empty() || args.verify;
    let rt = if needs_runtime {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the I/O runtime")?,
        )
    } else {
        None
    };
    if let Some(rt) = &rt {
        let settings = CrawlSettings {
            allow_private_addresses: args.allow_private_addresses,
            ignore_robots: args.ignore_robots,
            max_pages: args.max_pages,
            max_depth: args.max_depth,
            max_duration: args.max_duration,
            max_host_duration: args.max_host_duration,
            progress: !ctx.global.quiet,
            ..CrawlSettings::default()
        };
        for u in &urls {
            let (found, report) = rt.block_on(crate::audit::crawl_and_scan(u, &settings, &scanner));
            hits.extend(found.into_iter().map(|h| (h, "surface")));
            script_origins.add_script_origins(&report.script_origins);
            let errs = report.run_errors();
            scan_errors += errs.len() as u32;
            run.errors.extend(errs);
        }
    }

    if let Some(note) = scanner.cap.note() {
        scan_errors += 1;
        run.errors.push(RunError {
            stage: "exposure".into(),
            subject: None,
            message: note,
        });
    }
    for (flag, on) in [
        ("follow_symlinks", args.follow_symlinks),
        (
            "max_locations",
            args.max_locations != crate::exposure::scan::DEFAULT_MAX_LOCATIONS as u64,
        ),
    ] {
        if on {
            let v = if flag == "max_locations" {
                args.max_locations.to_string()
            } else {
                "true".into()
            };
            run.inputs.options.insert(flag.into(), v);
        }
    }
    // Exposures, attributed by fingerprint; the found values kept for --verify only.
    let mut seen = HashSet::new();
    let mut found: HashMap<String, Secret> = HashMap::new();
    // Each record (keyed fingerprints, redaction) is built in parallel, then kept in order.
    let records: Vec<_> = {
        use rayon::prelude::*;
        hits.par_iter()
            .map(|(hit, source)| to_exposure(&detectors, hit, &fp, source, &at))
            .collect()
    };
    for ((hit, _), mut e) in hits.iter().zip(records) {
        if !seen.insert(e.id.clone()) {
            continue;
        }
        if let Some((key, vendor)) = known.get(&e.evidence.fingerprint) {
            e.inventory_key = Some(key.clone());
            e.inventory_vendor = Some(vendor.clone());
        }
        if args.verify {
            found
                .entry(e.evidence.fingerprint.clone())
                .or_insert_with(|| hit.secret.clone());
        }
        run.exposures.push(e);
    }
    drop(hits);
    phase("exposures");

    let mut probed = false;
    if let (true, Some(rt)) = (args.verify, &rt) {
        probed = verify(
            rt,
            &mut run,
            &found,
            loaded.as_ref(),
            &allowed,
            args.verify_unknown,
            &fp,
        )?;
        run.inputs.options.insert("verify".into(), "true".into());
        if args.verify_unknown {
            run.inputs
                .options
                .insert("verify_unknown".into(), "true".into());
        }
    }
    drop(found);

    run.inputs.artifacts = paths.iter().map(|p| p.display().to_string()).collect();
    run.inputs.surfaces = urls.iter().map(|u| u.to_string()).collect();
    if !args.exclude.is_empty() {
        run.inputs
            .options
            .insert("exclude".into(), args.exclude.join(","));
    }
    if let Some(repo) = &args.git {
        let o = &mut run.inputs.options;
        o.insert("git".into(), repo.display().to_string());
        if let Some(rev) = &args.since {
            o.insert("since".into(), rev.clone());
        }
    }
    let rctx = crate::facts::RunContext {
        command: "scan".into(),
        offline: false,
        probed,
        artifacts_scanned: !paths.is_empty() || args.git.is_some(),
        surfaces_crawled: !urls.is_empty(),
        error_count: run.errors.len() as u32,
        scan_errors,
        script_origins: script_origins.script_origins,
    };
    let mut facts = crate::facts::build(
        loaded.as_ref().map(|l| &l.inventory),
        &run.keys,
        &run.exposures,
        &rctx,
    );
    crate::facts::add_known_keys(&mut facts, &known_facts, &run.keys, &run.exposures, &rctx);
    phase("facts");
    let unused = crate::audit::evaluate_into(
        &mut run,
        facts,
        &policies,
        &exceptions,
        loaded.as_ref(),
        jiff::Timestamp::now(),
    );
    run.finish();
    phase("evaluation");
    Ok(super::audit::finish(
        ctx,
        crate::audit::AuditResult {
            run,
            unused_exceptions: unused,
        },
        &args.policy,
        baseline,
        args.gate.options(),
    ))
}

/// Sources every inventory key's secret to fingerprint it and search for it by value (never
/// probes here). An unsafe source (see [`SourceError::Refused`]) is a configuration error
/// naming the key.
#[allow(clippy::too_many_arguments)]
fn source_inventory_keys(
    ctx: &Ctx,
    loaded: &crate::inventory::Loaded,
    path: &std::path::Path,
    allowed_file_dirs: &[std::path::PathBuf],
    fp: &Fingerprinter,
    run: &mut Run,
    known: &mut KnownKeys,
    by_value: &mut Vec<KnownKey>,
) -> Result<(), String> {
    let opts = SourceOptions {
        base_dir: path.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
        allowed_file_dirs: allowed_file_dirs.to_vec(),
        ..Default::default()
    };
    for vendor in &loaded.inventory.vendors {
        for key in &vendor.keys {
            let prior = run
                .keys
                .iter()
                .position(|k| k.id == key.id && k.vendor == vendor.id);
            match crate::secret::source(&key.secret, &opts) {
                Ok((secret, warnings)) => {
                    ctx.out.redactor.add_secret(&secret);
                    run.warnings.extend(warnings);
                    let f = fp.fingerprint(&secret);
                    known.insert(f.clone(), (key.id.clone(), vendor.id.clone()));
                    let rec = KeyRecord {
                        fingerprint: Some(f),
                        redacted: Some(secret.redacted()),
                        shape: KeyShape::of(secret.expose()),
                        ..KeyRecord::declared(&vendor.id, key)
                    };
                    by_value.extend(KnownKey::by_value(
                        KnownIdentity::from_inventory(vendor, key),
                        &secret,
                    ));
                    match prior {
                        Some(i) => run.keys[i] = rec,
                        None => run.keys.push(rec),
                    }
                }
                Err(e) if e.is_config_error() => {
                    return Err(format!("key {}/{}: {e}", vendor.id, key.id));
                }
                Err(e) => {
                    let has_known = prior.is_some_and(|i| run.keys[i].fingerprint.is_some());
                    let msg = format!("key {}/{}: {e}", vendor.id, key.id);
                    if has_known {
                        // The recorded fingerprint still attributes this key.
                        run.warnings.push(format!(
                            "{msg}; attributed with the fingerprint from --known-keys"
                        ));
                    } else {
                        run.errors.push(RunError {
                            stage: "secret".into(),
                            subject: Some(format!("{}/{}", vendor.id, key.id)),
                            message: match e {
                                SourceError::EnvMissing(_) => format!(
                                    "{e}; this key cannot be recognised by value (pass --known-keys RUN.json to attribute it without the secret)"
                                ),
                                _ => e.to_string(),
                            },
                        });
                        if prior.is_none() {
                            run.keys.push(KeyRecord::declared(&vendor.id, key));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `--verify`: probes each distinct found credential once, with the value that was found.
/// Inventory keys use their inventory entry (expected account, endpoint if allowed); unknown
/// credentials only with `--verify-unknown`, on the vendor's official hosts. Returns whether
/// anything was probed.
fn verify(
    rt: &tokio::runtime::Runtime,
    run: &mut Run,
    found: &HashMap<String, Secret>,
    loaded: Option<&crate::inventory::Loaded>,
    allowed: &AllowedEndpoints,
    verify_unknown: bool,
    fp: &Arc<Fingerprinter>,
) -> anyhow::Result<bool> {
    let settings = ProbeSettings {
        allowed: allowed.clone(),
        fingerprinter: Some(Arc::clone(fp)),
        ..Default::default()
    };
    let client = Client::new(settings.client_config()).context("cannot build the HTTP client")?;
    // fingerprint → (connector, key entry, region, inventory identity)
    let mut jobs = vec![];
    let mut planned = HashSet::new();
    for e in &run.exposures {
        if e.public_by_design || !planned.insert(e.evidence.fingerprint.clone()) {
            continue;
        }
        let Some(secret) = found.get(&e.evidence.fingerprint) else {
            continue;
        };
        let inv = e.inventory_key.as_deref().and_then(|k| {
            loaded.and_then(|l| {
                l.inventory.vendors.iter().find_map(|v| {
                    v.keys
                        .iter()
                        .find(|x| x.id == k && Some(v.id.as_str()) == e.inventory_vendor.as_deref())
                        .map(|x| (v, x))
                })
            })
        });
        let (connector, key, region) = match inv {
            Some((v, k)) => (
                v.connector.clone().unwrap_or_default(),
                k.clone(),
                v.region.clone(),
            ),
            None if e.inventory_key.is_some() || verify_unknown => (
                e.vendor.clone(),
                vendors::cli_key(SecretRef::Env("(found)".into()), None),
                None,
            ),
            None => continue,
        };
        let mut s = settings.clone();
        s.region = region;
        jobs.push((e.evidence.fingerprint.clone(), connector, key, secret, s));
    }
    if jobs.is_empty() {
        return Ok(false);
    }
    let profiles = rt.block_on(async {
        let futs = jobs.iter().map(|(f, connector, key, secret, s)| async {
            (
                f.clone(),
                vendors::probe_key(connector, secret, key, s, &client).await,
            )
        });
        futures::future::join_all(futs).await
    });
    for (f, p) in profiles {
        if let crate::run::KeyStatus::Inconclusive(r) = &p.status {
            run.errors.push(RunError {
                stage: "verify".into(),
                subject: Some(f.clone()),
                message: format!("probe inconclusive: {r}"),
            });
        }
        for e in run
            .exposures
            .iter_mut()
            .filter(|e| e.evidence.fingerprint == f)
        {
            e.verified = Some(p.clone());
        }
        if let Some(k) = run
            .keys
            .iter_mut()
            .find(|k| k.fingerprint.as_deref() == Some(f.as_str()))
        {
            k.profile = Some(p);
        }
    }
    run.ledger.extend(client.take_ledger());
    for w in client.take_warnings() {
        if !run.warnings.contains(&w) {
            run.warnings.push(w);
        }
    }
    Ok(true)
}

/// The keys the scan searches for whatever the text around them: those known by value, then
/// every other key with a fingerprint, redacted form and shape (from `--known-keys`), with its
/// declared facts from the inventory when loaded, else from the run that recorded it. The same
/// facts either way, so an exposure reads the same however the key was known. A fingerprinted
/// key without a recorded shape (a run from an older version) is attributed when a detector
/// finds it, and named in a warning.
pub fn known_keys(
    by_value: Vec<KnownKey>,
    records: &[KeyRecord],
    loaded: Option<&crate::inventory::Loaded>,
    identities: &HashMap<(String, String), KnownIdentity>,
    warnings: &mut Vec<String>,
) -> Vec<KnownKey> {
    let valued: HashSet<(&str, &str)> = by_value
        .iter()
        .map(|k| (k.identity.vendor.as_str(), k.identity.key.as_str()))
        .collect();
    let mut out = vec![];
    let mut shapeless = vec![];
    for r in records {
        let (Some(f), Some(red)) = (&r.fingerprint, &r.redacted) else {
            continue;
        };
        if valued.contains(&(r.vendor.as_str(), r.id.as_str())) {
            continue;
        }
        let from_inventory = loaded.and_then(|l| {
            let v = l.inventory.vendors.iter().find(|v| v.id == r.vendor)?;
            let k = v.keys.iter().find(|k| k.id == r.id)?;
            Some(KnownIdentity::from_inventory(v, k))
        });
        let identity = from_inventory
            .or_else(|| identities.get(&(r.vendor.clone(), r.id.clone())).cloned())
            .unwrap_or_else(|| KnownIdentity::bare(&r.id, &r.vendor));
        match r
            .shape
            .as_ref()
            .and_then(|s| KnownKey::by_fingerprint(identity, f, red, s))
        {
            Some(k) => out.push(k),
            None => shapeless.push(format!("{}/{}", r.vendor, r.id)),
        }
    }
    if !shapeless.is_empty() {
        warnings.push(format!(
            "key(s) {} cannot be searched for by fingerprint (no shape in the --known-keys run, or too short): found only where a detector recognises them; re-run `audit` or `scan --inventory` with this version to record their shapes",
            shapeless.join(", ")
        ));
    }
    out.extend(by_value);
    out
}

fn load_known_keys(path: &std::path::Path, fp: &Fingerprinter) -> Result<PreviousKeys, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--known-keys {}: cannot read: {e}", path.display()))?;
    parse_known_keys(&path.display().to_string(), &text, fp)
}

/// Parses `--known-keys` run text named `name`: fingerprint → (key id, vendor), and the keys.
#[doc(hidden)]
pub fn parse_known_keys(
    name: &str,
    text: &str,
    fp: &Fingerprinter,
) -> Result<PreviousKeys, String> {
    let prev: Run =
        crate::run::upgrade::parse_run(name, text).map_err(|e| format!("--known-keys {e:#}"))?;
    if prev.fingerprint_check != fp.check_value() {
        return Err(format!(
            "--known-keys {name}: its fingerprints were made with a different fingerprint key ({} here, {} in the file); set {} to the key used by that run",
            fp.check_value(),
            prev.fingerprint_check,
            crate::secret::FINGERPRINT_KEY_ENV
        ));
    }
    let mut map = BTreeMap::new();
    let mut records = vec![];
    for k in prev.keys {
        if let Some(f) = &k.fingerprint {
            map.insert(f.clone(), (k.id.clone(), k.vendor.clone()));
            records.push(KeyRecord { profile: None, ..k });
        }
    }
    let identities = prev
        .facts
        .keys
        .iter()
        .map(|k| {
            (
                (k.vendor.clone(), k.id.clone()),
                KnownIdentity::from_facts(k),
            )
        })
        .collect();
    Ok(PreviousKeys {
        fingerprints: map,
        records,
        identities,
        facts: prev.facts.keys,
    })
}
