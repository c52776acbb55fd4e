//! `vendorscope demo`: the 2020 scenario against the built-in emulators and demo site.

use crate::cli::DemoArgs;
use crate::demo::Scenario;
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::report::{Format, RenderOptions};

use super::Ctx;

/// Runs the demo. Exit 0 when the audit ran and every report was written (the findings are
/// the point of the demo, not a failure); 2 if the scenario could not start.
pub fn run(ctx: &Ctx, args: &DemoArgs) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let scenario = match Scenario::start(&args.out, &args.build_seed) {
        Ok(s) => s,
        Err(e) => {
            ctx.out.error(&format!(
                "cannot start the demo in {}: {e}",
                args.out.display()
            ));
            return Ok(EXIT_CONFIG);
        }
    };
    let mut opts = scenario.audit_options().map_err(anyhow::Error::msg)?;
    opts.progress = !ctx.global.quiet;
    let res = match crate::audit::audit(&opts, &ctx.out.redactor) {
        Ok(r) => r,
        Err(e) => {
            e.report(&ctx.out);
            return Ok(EXIT_CONFIG);
        }
    };
    let run = res.run;
    let mut ok = ctx.emit(&run, Format::Table);
    let run = ctx.out.clean(&run)?;
    let mut written = vec![];
    for (format, name) in [
        (Format::Json, "run.json"),
        (Format::Sarif, "run.sarif"),
        (Format::Html, "report.html"),
    ] {
        let path = args.out.join(name);
        match crate::report::render(&run, format, RenderOptions::default()) {
            Ok(text) => match ctx.out.write_file(&path, &text) {
                Ok(()) => written.push(path),
                Err(e) => {
                    ctx.out
                        .error(&format!("cannot write {}: {e}", path.display()));
                    ok = false;
                }
            },
            Err(e) => {
                ctx.out.error(&e.to_string());
                ok = false;
            }
        }
    }
    let kill_chain = run
        .findings
        .iter()
        .filter(|f| f.rule == "VKS-EXP-002" && f.status == crate::run::Outcome::Fail)
        .count();
    let mut msg = format!(
        "\ndemo: the 2020 scenario against {} emulators and the demo storefront at {} (CDN {}) in {:.1} s\n",
        scenario.emulators.len(),
        scenario.page_url,
        scenario.cdn_url,
        started.elapsed().as_secs_f64()
    );
    msg.push_str(&format!(
        "demo: {} vendor call(s), all read-only; kill chain findings: {kill_chain}\n",
        run.ledger.len()
    ));
    msg.push_str(&format!(
        "demo: inventory {} (synthetic secrets in {})\n",
        scenario.inventory.display(),
        scenario.dir.join("secrets").display()
    ));
    for p in &written {
        msg.push_str(&format!("demo: wrote {}\n", p.display()));
    }
    msg.push_str(&format!(
        "demo: everything in {} is git-ignored (its .gitignore says `*`)\n",
        scenario.dir.display()
    ));
    let (emulate, audit) = scenario.next_commands();
    msg.push_str(&format!(
        "\nnext: the demo's emulators stopped with it; start them again (same keys, same ports) and audit the demo inventory:\n  {emulate}\n  {audit}\n    (in a second terminal; exit 1: the demo's findings fail the gate)\nthen your own inventory:\n  vendorscope init --out my-vendors\n  vendorscope inventory check my-vendors/inventory.yaml\n"
    ));
    ctx.out.stderr(&msg, false);
    Ok(if ok { EXIT_OK } else { EXIT_CONFIG })
}
