//! `vendorscope probe`: one key's profile (or the calls a probe would make), key from env or stdin.

use std::io::Read;
use std::sync::Arc;

use url::Url;

use crate::cli::ProbeArgs;
use crate::gate::{EXIT_CONFIG, EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK};
use crate::http::Client;
use crate::progress::{Phase, Spec, Unit};
use crate::report::Format;
use crate::run::{KeyProfile, KeyStatus};
use crate::secret::{Fingerprinter, Secret, SecretRef, SourceOptions};
use crate::vendors::{self, ProbeSettings};

use super::Ctx;

pub fn run(ctx: &Ctx, args: &ProbeArgs) -> anyhow::Result<u8> {
    let names: Vec<&str> = vendors::registry().iter().map(|c| c.name()).collect();
    if vendors::connector(&args.vendor).is_none() {
        ctx.out.error(&format!(
            "--vendor {}: unknown connector (expected one of: {})",
            args.vendor,
            names.join(", ")
        ));
        return Ok(EXIT_CONFIG);
    }
    // The key: env var or stdin, never argv. Registered with the filter before any output.
    let (secret, secret_ref) = if args.key_stdin {
        let mut raw = String::new();
        std::io::stdin().read_to_string(&mut raw)?;
        let s = Secret::new(raw);
        if s.expose().is_empty() {
            ctx.out
                .error("--key-stdin: nothing was read from standard input");
            return Ok(EXIT_CONFIG);
        }
        (s, SecretRef::Env("(stdin)".into()))
    } else {
        let var = args.key_env.clone().unwrap_or_default();
        let r = SecretRef::Env(var.clone());
        match crate::secret::source(&r, &SourceOptions::default()) {
            Ok((s, _)) => (s, r),
            Err(e) => {
                ctx.out.error(&format!("--key-env {var}: {e}"));
                return Ok(EXIT_CONFIG);
            }
        }
    };
    ctx.out.redactor.add_secret(&secret);

    let endpoint = match &args.endpoint {
        Some(e) => match Url::parse(e) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                ctx.out.error(&format!(
                    "--endpoint {e}: expected an http(s) URL with a host"
                ));
                return Ok(EXIT_CONFIG);
            }
        },
        None => None,
    };
    let fingerprinter = Fingerprinter::load().ok().map(Arc::new);
    let settings = ProbeSettings {
        endpoint,
        shop: args.shop.clone(),
        fingerprinter,
        probe_bulk_endpoints: args.probe_bulk_endpoints,
        ..Default::default()
    };
    let key = vendors::cli_key(secret_ref, args.shop.clone());
    let format = ctx.global.format.unwrap_or(Format::Table);

    if args.dry_run {
        let text = match vendors::dry_run(&args.vendor, &secret, &key, &settings) {
            Ok(calls) => match format {
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"vendor": args.vendor, "dry_run": true, "calls": calls})
                    )?
                ),
                _ => {
                    let mut t =
                        format!("{}: calls a probe would make (nothing sent)\n", args.vendor);
                    for c in &calls {
                        t.push_str(&format!("  {} {}", c.method, c.url));
                        if let Some(n) = &c.note {
                            t.push_str(&format!("  ({n})"));
                        }
                        t.push('\n');
                    }
                    t
                }
            },
            Err(p) => render(&ctx.out.clean(&*p)?, format)?,
        };
        ctx.out.stdout(&text);
        return Ok(EXIT_OK);
    }

    let mut ccfg = settings.client_config();
    ccfg.record = args.record.is_some();
    let client = Client::new(ccfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let phase = Phase::start(
        Spec::new("probe", Unit::KEYS).items(1),
        !ctx.global.quiet,
        &ctx.out.redactor,
    );
    phase.begin(&args.vendor);
    let profile = rt.block_on(vendors::probe_key(
        &args.vendor,
        &secret,
        &key,
        &settings,
        &client,
    ));
    phase.end(&args.vendor);
    phase.add(1, 0);
    phase.finish();

    for w in client.take_warnings() {
        ctx.out.warn(&w);
    }
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--record {}: {e}", dir.display()))?;
        for (i, t) in client.transcripts().iter().enumerate() {
            let path = dir.join(format!("{:03}-{}.json", i + 1, args.vendor));
            let text = serde_json::to_string_pretty(t)?;
            // Through the output filter: a vendor body echoing the key is masked here too.
            ctx.out
                .write_file(&path, &text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
    }
    ctx.out.stdout(&render(&ctx.out.clean(&profile)?, format)?);
    Ok(exit_code(&profile.status))
}

/// `probe`'s exit code, on the one mapping: 0 the key works (the profile is established), 1
/// it does not (invalid or revoked: a definite answer that fails), 3 nothing could be
/// established (inconclusive, or not probed at all).
pub fn exit_code(status: &KeyStatus) -> u8 {
    match status {
        KeyStatus::Active => EXIT_OK,
        KeyStatus::Invalid | KeyStatus::Revoked => EXIT_FAIL,
        KeyStatus::Inconclusive(_) | KeyStatus::NotProbed(_) => EXIT_INCOMPLETE,
    }
}

fn render(p: &crate::guard::Clean<KeyProfile>, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&**p)?),
        _ => {
            let mut t = String::new();
            let line = |t: &mut String, k: &str, v: String| {
                if !v.is_empty() {
                    t.push_str(&format!("{k:<14} {v}\n"));
                }
            };
            line(&mut t, "vendor", p.vendor.clone());
            line(&mut t, "status", p.status.label());
            line(&mut t, "key type", p.key_type.clone().unwrap_or_default());
            line(
                &mut t,
                "environment",
                p.environment
                    .map(|e| format!("{e:?}").to_ascii_lowercase())
                    .unwrap_or_default(),
            );
            line(&mut t, "account", p.account.clone().unwrap_or_default());
            line(
                &mut t,
                "api version",
                p.api_version.clone().unwrap_or_default(),
            );
            line(&mut t, "granted", p.granted.join(", "));
            line(&mut t, "capabilities", p.capabilities.join(", "));
            line(&mut t, "unverifiable", p.unverifiable.join(", "));
            for (k, v) in &p.restrictions {
                line(
                    &mut t,
                    k,
                    if v.is_empty() {
                        "(any)".into()
                    } else {
                        v.join(", ")
                    },
                );
            }
            if !p.calls.is_empty() {
                t.push_str("calls\n");
                for c in &p.calls {
                    let st = c
                        .status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into());
                    t.push_str(&format!("  {} {} → {st}\n", c.method, c.url));
                }
            }
            t
        }
    })
}
