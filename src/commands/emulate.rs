//! `vendorscope emulate`: every vendor emulator and the demo storefront on loopback until
//! Ctrl-C.

use crate::cli::EmulateArgs;
use crate::crawl::demo_site::{DemoConfig, DemoSite};
use crate::emulator::EmulatorKey;
use crate::emulators::start_all;
use crate::gate::{EXIT_CONFIG, EXIT_OK};

use super::Ctx;

pub fn run(ctx: &Ctx, args: &EmulateArgs) -> anyhow::Result<u8> {
    let mut cfg = match &args.config {
        Some(p) => match crate::emulators::load_config(p) {
            Ok(c) => c,
            Err(e) => {
                ctx.out.error(&e);
                return Ok(EXIT_CONFIG);
            }
        },
        None => crate::emulators::builtin_config(),
    };
    cfg.hostile.extend(args.hostile.iter().copied());
    let names: Vec<&str> = crate::vendors::registry()
        .iter()
        .filter(|c| c.emulator().is_some())
        .map(|c| c.name())
        .chain(["site", "cdn"])
        .collect();
    if let Some(bad) = cfg.listen.keys().find(|n| !names.contains(&n.as_str())) {
        let hint = crate::diag::suggest(bad, names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("expected one of {}", names.join(", ")));
        ctx.out.error(&format!(
            "{}: `listen` names no emulator `{bad}`; {hint}",
            args.config
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        ));
        return Ok(EXIT_CONFIG);
    }
    let fixed = cfg.listen.iter().map(|(n, a)| (format!("listen.{n}"), *a));
    for (name, addr) in std::iter::once(("--listen".to_string(), args.listen)).chain(fixed) {
        if !addr.ip().is_loopback() {
            ctx.out
                .error(&format!("{name} {addr}: emulators listen on loopback only"));
            return Ok(EXIT_CONFIG);
        }
    }
    // The storefront's planted server-side Iterable key (fresh per start unless the config
    // names one) is live at the Iterable emulator, so a crawl of the site followed by
    // `--verify` finds the 2020 chain.
    let planted = cfg
        .planted_key
        .clone()
        .unwrap_or_else(DemoConfig::random_iterable_key);
    if !cfg.keys.iter().any(|k| k.key == planted) {
        cfg.keys.push(
            EmulatorKey::new(&planted, "iterable", &["server_side"], "demo-us")
                .with_type("server_side"),
        );
    }
    let site_addr = |name: &str| {
        cfg.listen
            .get(name)
            .copied()
            .unwrap_or_else(|| std::net::SocketAddr::new(args.listen.ip(), 0))
    };
    let (page_addr, cdn_addr) = (site_addr("site"), site_addr("cdn"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let running = start_all(&cfg, args.listen).await?;
        let (page, cdn, site) = DemoSite::start_on(
            DemoConfig {
                iterable_key: planted.clone(),
                build_seed: "build-1".into(),
            },
            page_addr,
            cdn_addr,
        )
        .await?;
        let tail = &planted[planted.len() - 4..];
        let text = if ctx.global.format == Some(crate::report::Format::Json) {
            // One line, so a script can read it and leave the emulators running.
            let vendors: serde_json::Map<String, serde_json::Value> = running
                .iter()
                .map(|r| (r.vendor.to_string(), r.base_url.to_string().into()))
                .collect();
            format!(
                "{}\n",
                serde_json::json!({
                    "vendors": vendors,
                    "site": page.to_string(),
                    "cdn": cdn.to_string(),
                    "planted_iterable_key": format!("…{tail}"),
                    "keys": cfg.keys.len(),
                })
            )
        } else {
            let mut text = String::new();
            for r in &running {
                text.push_str(&format!("{:<10} {}\n", r.vendor, r.base_url));
            }
            text.push_str(&format!(
                "{:<10} {page} (assets on {cdn}; the server-side Iterable key …{tail} is planted in a lazy chunk)\n",
                "site",
            ));
            text.push_str(&format!(
                "{} synthetic keys loaded; probe with --endpoint URL; Ctrl-C stops.\n",
                cfg.keys.len()
            ));
            text
        };
        ctx.out.stdout(&text);
        let _ = tokio::signal::ctrl_c().await;
        drop(running);
        site.shutdown();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(EXIT_OK)
}
