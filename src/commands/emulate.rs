//! `vendorscope emulate`: every vendor emulator on loopback until Ctrl-C.

use crate::cli::EmulateArgs;
use crate::emulator::{EmulatorConfig, start_all};
use crate::gate::{EXIT_CONFIG, EXIT_OK};

use super::Ctx;

pub fn run(ctx: &Ctx, args: &EmulateArgs) -> anyhow::Result<u8> {
    let cfg = match &args.config {
        Some(p) => match EmulatorConfig::load(p) {
            Ok(c) => c,
            Err(e) => {
                ctx.out.error(&e);
                return Ok(EXIT_CONFIG);
            }
        },
        None => EmulatorConfig::builtin(),
    };
    if !args.listen.ip().is_loopback() {
        ctx.out.error(&format!(
            "--listen {}: emulators listen on loopback only",
            args.listen
        ));
        return Ok(EXIT_CONFIG);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let running = start_all(&cfg, args.listen).await?;
        let mut text = String::new();
        for r in &running {
            text.push_str(&format!("{:<10} {}\n", r.vendor, r.base_url));
        }
        text.push_str(&format!(
            "{} synthetic keys loaded; probe with --endpoint URL; Ctrl-C stops.\n",
            cfg.keys.len()
        ));
        ctx.out.stdout(&text);
        let _ = tokio::signal::ctrl_c().await;
        drop(running);
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(EXIT_OK)
}
