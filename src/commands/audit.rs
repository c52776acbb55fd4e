//! `vendorscope audit` and `vendorscope merge`: settings from the command line, the run from
//! `crate::audit`, rendering, baseline and the exit code.

use std::path::Path;

use crate::audit::{self, AuditOptions, AuditResult};
use crate::cli::{AuditArgs, MergeArgs, PolicyArgs};
use crate::gate::{EXIT_CONFIG, EXIT_OK, GateOptions};
use crate::http::AllowedEndpoints;
use crate::report::Format;
use crate::run::{Run, RunError};
use crate::secret::Secret;
use crate::vendors;

use super::Ctx;
use super::diff::{ensure_comparable, load_run};

/// The policy inputs (`--policy`, `--exceptions`, `--max-exception-days`) as audit options;
/// shared by `audit`, `merge` and `scan`.
pub fn policy_options(p: &PolicyArgs) -> Result<AuditOptions, String> {
    let mut opts = AuditOptions::new("");
    opts.policies = p.policies.clone();
    opts.exceptions = p.exceptions.clone();
    opts.exception_max_lifetime = lifetime(p.max_exception_days)?;
    opts.deny_weakened_rules = p.deny_weakened_rules;
    Ok(opts)
}

/// `--max-exception-days N` as a span (at least one day).
pub fn lifetime(days: i64) -> Result<jiff::Span, String> {
    if days <= 0 {
        return Err(format!("--max-exception-days {days}: must be at least 1"));
    }
    jiff::Span::new()
        .try_days(days)
        .map_err(|_| format!("--max-exception-days {days}: too large"))
}

/// Builds the audit options from `audit`'s flags.
pub fn options(ctx: &Ctx, args: &AuditArgs) -> Result<AuditOptions, String> {
    let mut opts = policy_options(&args.policy)?;
    opts.inventory = args.inventory.clone().ok_or(
        "audit needs an inventory: --inventory FILE, or `inventory:` in vendorscope.yaml (`vendorscope init` writes both)",
    )?;
    opts.offline = args.offline;
    opts.allowed = AllowedEndpoints::parse(&args.allow_endpoint)
        .map_err(|e| format!("--allow-endpoint: {e}"))?;
    opts.allow_secret_commands = args.allow_secret_commands;
    opts.allow_secret_files = args
        .allow_secret_files
        .iter()
        .map(|d| crate::secret::allowed_dir(d))
        .collect::<Result<_, _>>()?;
    opts.probe_bulk_endpoints = args.probe_bulk_endpoints;
    opts.allow_private_addresses = args.allow_private_addresses;
    opts.shard = args.shard;
    opts.detectors = args.detectors.clone();
    opts.progress = !ctx.global.quiet;
    opts.crawl.progress = !ctx.global.quiet;
    opts.crawl.max_duration = args.max_duration;
    Ok(opts)
}

pub fn run(ctx: &Ctx, args: &AuditArgs) -> anyhow::Result<u8> {
    let opts = match options(ctx, args) {
        Ok(o) => o,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    if let Some(code) = super::config::refuse_weakened(ctx, opts.deny_weakened_rules) {
        return Ok(code);
    }
    if args.dry_run {
        return dry_run(ctx, &opts);
    }
    let baseline = match load_baseline(&args.policy) {
        Ok(b) => b,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    let res = audit::audit(&opts, &ctx.out.redactor);
    Ok(respond(
        ctx,
        res,
        &args.policy,
        baseline,
        args.gate.options(),
    ))
}

/// Renders a finished run (see [`finish`]) or reports the configuration error (exit 2).
fn respond(
    ctx: &Ctx,
    res: Result<AuditResult, audit::ConfigError>,
    policy: &PolicyArgs,
    baseline: Option<(String, Run)>,
    gate: GateOptions,
) -> u8 {
    match res {
        Ok(r) => finish(ctx, r, policy, baseline, gate),
        Err(e) => {
            e.report(&ctx.out);
            EXIT_CONFIG
        }
    }
}

fn load_baseline(p: &PolicyArgs) -> Result<Option<(String, Run)>, String> {
    match &p.baseline {
        Some(path) => load_run(path)
            .map(|r| Some((path.display().to_string(), r)))
            .map_err(|e| format!("--baseline: {e:#}")),
        None => Ok(None),
    }
}

/// Renders the run and computes the exit code: gate on findings not in the baseline; unused
/// exceptions are an error under `--deny-unused-exceptions`; an unwritten report is never a
/// silent success.
pub fn finish(
    ctx: &Ctx,
    res: AuditResult,
    policy: &PolicyArgs,
    baseline: Option<(String, Run)>,
    gate: GateOptions,
) -> u8 {
    let AuditResult {
        mut run,
        unused_exceptions,
    } = res;
    if let Some((name, b)) = &baseline {
        if let Err(e) = ensure_comparable(b, name, &run, "this run") {
            ctx.out.error(&format!("--baseline: {e:#}"));
            return EXIT_CONFIG;
        }
        run.inputs.options.insert("baseline".into(), name.clone());
    }
    // What the configuration file weakened, in the run and on stderr with its warnings.
    run.warnings.extend(ctx.config.warnings());
    if let Some(f) = &ctx.config.file {
        run.inputs.options.insert("config".into(), f.clone());
    }
    let deny_unused = policy.deny_unused_exceptions && !unused_exceptions.is_empty();
    if deny_unused {
        run.errors.push(RunError {
            stage: "exceptions".into(),
            subject: None,
            message: format!(
                "exceptions that match nothing (--deny-unused-exceptions): {}",
                unused_exceptions.join(", ")
            ),
        });
    }
    let in_baseline = |f: &crate::run::Finding| {
        baseline
            .as_ref()
            .is_some_and(|(_, b)| b.findings.iter().any(|x| x.fingerprint == f.fingerprint))
    };
    let known = run.findings.iter().filter(|f| in_baseline(f)).count();
    if known > 0 {
        run.warnings.push(format!(
            "{known} finding(s) are in the baseline and do not fail the gate"
        ));
    }
    for w in &run.warnings {
        ctx.out.warn(w);
    }
    warn_weakened(ctx, &run.weakened_rules);
    let mut code = crate::gate::exit_code(run.findings.iter().filter(|f| !in_baseline(f)), gate);
    let written = ctx.emit_owned(run, Format::Table);
    if deny_unused {
        code = EXIT_CONFIG;
    }
    // A report that could not be written is exit 2, winning over 1 and 3: a CI job must never
    // pass (`|| [ $? -ne 2 ]`) without the artifact it asked for.
    if !written {
        code = EXIT_CONFIG;
    }
    code
}

/// A warning on stderr per weakened built-in rule, with its expression diff (even without
/// `-v`; only `--quiet` silences it).
pub fn warn_weakened(ctx: &Ctx, weakened: &[crate::run::WeakenedRule]) {
    for w in weakened {
        let lines = crate::report::weakened::lines(w);
        ctx.out.warn(&lines.join("\n"));
    }
}

/// `audit --dry-run`: the calls each key's probe would make, the surfaces that would be crawled
/// and the artifacts scanned; nothing is sent.
fn dry_run(ctx: &Ctx, opts: &AuditOptions) -> anyhow::Result<u8> {
    let format = ctx.global.format.unwrap_or(Format::Table);
    if !matches!(format, Format::Table | Format::Json) {
        anyhow::bail!("audit --dry-run prints a plan: use --format table or --format json");
    }
    if let Some(o) = ctx.global.outputs.first() {
        anyhow::bail!(
            "--output {}={}: audit --dry-run prints a plan on stdout and writes no report",
            o.format.name(),
            o.path.display()
        );
    }
    let prep = match audit::prepare(opts) {
        Ok(p) => p,
        Err(e) => {
            e.report(&ctx.out);
            return Ok(EXIT_CONFIG);
        }
    };
    warn_weakened(ctx, &prep.policies.weakened);
    for w in ctx.config.warnings() {
        ctx.out.warn(&w);
    }
    let inv = &prep.loaded.inventory;
    let base_dir = opts.inventory.parent().unwrap_or(Path::new(""));
    let source_opts = crate::secret::SourceOptions {
        allow_commands: opts.allow_secret_commands,
        base_dir: base_dir.to_path_buf(),
        allowed_file_dirs: opts.allow_secret_files.clone(),
        ..Default::default()
    };
    let settings = vendors::ProbeSettings {
        allowed: opts.allowed.clone(),
        probe_bulk_endpoints: opts.probe_bulk_endpoints,
        ..Default::default()
    };
    let owns = |id: &str| opts.shard.is_none_or(|s| s.owns(id));
    let mut plan = vec![];
    for v in &inv.vendors {
        for k in &v.keys {
            if !owns(&audit::key_shard_id(&v.id, &k.id)) {
                continue;
            }
            let connector = v.connector.clone().unwrap_or_default();
            let entry = match crate::secret::source(&k.secret, &source_opts) {
                Ok((secret, _)) => {
                    ctx.out.redactor.add_secret(&secret);
                    let mut s = settings.clone();
                    s.region = v.region.clone();
                    planned(&connector, &secret, k, &s)
                }
                Err(e) if e.is_config_error() => {
                    ctx.out.error(&format!("key {}/{}: {e}", v.id, k.id));
                    return Ok(EXIT_CONFIG);
                }
                Err(e) => serde_json::json!({"skipped": e.to_string()}),
            };
            plan.push(serde_json::json!({"vendor": v.id, "key": k.id, "plan": entry}));
        }
    }
    let surfaces: Vec<&String> = inv
        .surfaces
        .iter()
        .map(|s| &s.url)
        .filter(|u| owns(&format!("surface:{u}")))
        .collect();
    let artifacts: Vec<String> = inv
        .artifacts
        .iter()
        .filter(|a| owns(&format!("artifact:{a}")))
        .map(|a| base_dir.join(a).display().to_string())
        .collect();
    let text = if format == Format::Json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "dry_run": true,
                "keys": plan,
                "surfaces": surfaces,
                "artifacts": artifacts,
            }))?
        )
    } else {
        let mut t = String::from("audit --dry-run: nothing is sent\n\nkey probes\n");
        for p in &plan {
            t.push_str(&format!(
                "  {}/{}\n",
                p["vendor"].as_str().unwrap_or(""),
                p["key"].as_str().unwrap_or("")
            ));
            if let Some(calls) = p["plan"]["calls"].as_array() {
                for c in calls {
                    t.push_str(&format!(
                        "    {} {}{}\n",
                        c["method"].as_str().unwrap_or(""),
                        c["url"].as_str().unwrap_or(""),
                        c["note"]
                            .as_str()
                            .map(|n| format!("  ({n})"))
                            .unwrap_or_default()
                    ));
                }
            } else if let Some(s) = p["plan"]["skipped"].as_str() {
                t.push_str(&format!("    not probed: {s}\n"));
            }
        }
        t.push_str("\nsurfaces crawled\n");
        for s in &surfaces {
            t.push_str(&format!("  {s}\n"));
        }
        t.push_str("\nartifacts scanned\n");
        for a in &artifacts {
            t.push_str(&format!("  {a}\n"));
        }
        t
    };
    ctx.out.stdout(&text);
    Ok(EXIT_OK)
}

fn planned(
    connector: &str,
    secret: &Secret,
    key: &crate::inventory::model::Key,
    s: &vendors::ProbeSettings,
) -> serde_json::Value {
    match vendors::dry_run(connector, secret, key, s) {
        Ok(calls) => serde_json::json!({ "calls": calls }),
        Err(p) => serde_json::json!({ "skipped": p.status.label() }),
    }
}

/// `vendorscope merge RUN.json...`.
pub fn merge(ctx: &Ctx, args: &MergeArgs) -> anyhow::Result<u8> {
    let mut runs = vec![];
    for p in &args.runs {
        match load_run(p) {
            Ok(r) => runs.push((p.display().to_string(), r)),
            Err(e) => {
                ctx.out.error(&format!("{e:#}"));
                return Ok(EXIT_CONFIG);
            }
        }
    }
    let baseline = match load_baseline(&args.policy) {
        Ok(b) => b,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    let inventory = match args.inventory.clone().or_else(|| {
        runs[0]
            .1
            .inputs
            .inventory
            .as_ref()
            .map(|i| i.path.clone().into())
    }) {
        Some(i) => i,
        None => {
            ctx.out
                .error("the runs record no inventory; pass --inventory FILE");
            return Ok(EXIT_CONFIG);
        }
    };
    let mut opts = match policy_options(&args.policy) {
        Ok(o) => o,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    if let Some(code) = super::config::refuse_weakened(ctx, opts.deny_weakened_rules) {
        return Ok(code);
    }
    opts.inventory = inventory;
    opts.command = "merge".into();
    let res = audit::merge(&opts, runs);
    Ok(respond(
        ctx,
        res,
        &args.policy,
        baseline,
        args.gate.options(),
    ))
}
