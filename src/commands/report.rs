//! `vendorscope report RUN.json`: re-renders a saved run in any format, without the network.

use std::path::Path;

use anyhow::bail;

use crate::cli::ReportArgs;
use crate::gate::EXIT_OK;
use crate::guard::Clean;
use crate::report::{Format, RenderOptions, scope};
use crate::run::Run;

use super::Ctx;

pub use crate::run::upgrade::{load_run, parse_run};

/// Renders one format, with what changed since the previous run: the HTML delta, a section
/// at the end of the table and of the Markdown report. The machine formats render the run
/// alone (`diff` gives the changes as JSON).
fn render(
    run: &Clean<Run>,
    previous: Option<&Clean<Run>>,
    format: Format,
    opts: RenderOptions,
) -> anyhow::Result<String> {
    Ok(match (format, previous) {
        (Format::Html, _) => crate::report::html::render(run, previous)?,
        (Format::Table | Format::Markdown, Some(p)) => {
            let mut s = crate::report::render(run, format, opts)?;
            s.push_str(&since_previous(run, p, format == Format::Markdown));
            s
        }
        (f, _) => crate::report::render(run, f, opts)?,
    })
}

/// Whether `--previous` shows in `format` (see [`render`]).
fn shows_previous(format: Format) -> bool {
    matches!(format, Format::Html | Format::Table | Format::Markdown)
}

/// New, resolved and changed findings since `previous`, as text or Markdown.
fn since_previous(run: &Run, previous: &Run, markdown: bool) -> String {
    let d = super::diff::diff(previous, run);
    let mut s = if markdown {
        "\n## Since the previous run\n\n".to_string()
    } else {
        "\nSince the previous run\n".to_string()
    };
    s.push_str(&format!(
        "{} new, {} resolved, {} changed finding(s)\n",
        d.new.len(),
        d.resolved.len(),
        d.changed.len()
    ));
    let (new, gone, was) = if markdown {
        ("- new: `", "- resolved: `", "- changed: `")
    } else {
        ("  + ", "  - ", "  ~ ")
    };
    let end = if markdown { "`\n" } else { "\n" };
    if markdown {
        s.push('\n');
    }
    for f in &d.new {
        s.push_str(&format!("{new}{}{end}", super::diff::line(f)));
    }
    for f in &d.resolved {
        s.push_str(&format!("{gone}{}{end}", super::diff::line(f)));
    }
    for c in &d.changed {
        s.push_str(&format!("{was}{}{end}", super::diff::line(c.after)));
    }
    s
}

pub fn run(ctx: &Ctx, args: &ReportArgs) -> anyhow::Result<u8> {
    let mut run = load_run(&args.run)?;
    let mut previous = match &args.previous {
        Some(p) => Some(load_run(p)?),
        None => None,
    };
    if let Some(prev) = &previous
        && prev.fingerprint_check != run.fingerprint_check
    {
        bail!(
            "{} and {} were made with different fingerprint keys (check values {} and {}); their findings cannot be compared",
            args.run.display(),
            args.previous.as_deref().unwrap_or(Path::new("")).display(),
            run.fingerprint_check,
            prev.fingerprint_check
        );
    }
    if let Some(v) = &args.vendor {
        if !scope::has_vendor(&run, v) {
            let known: Vec<&str> = run.facts.vendors.iter().map(|x| x.id.as_str()).collect();
            bail!(
                "vendor `{v}` is not in {} (vendors: {})",
                args.run.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        run = scope::vendor_only(&run, v);
        previous = previous.map(|p| scope::vendor_only(&p, v));
    }
    let run = ctx.out.clean(&run)?;
    let previous = match &previous {
        Some(p) => Some(ctx.out.clean(p)?),
        None => None,
    };
    if previous.is_some() {
        let mut ignored: Vec<&str> = ctx
            .file_outputs()
            .map(|s| s.format)
            .chain(std::iter::once(ctx.stdout_format(Format::Table)))
            .filter(|f| !shows_previous(*f))
            .map(Format::name)
            .collect();
        ignored.dedup();
        if !ignored.is_empty() {
            ctx.out.warn(&format!(
                "--previous: {} render(s) the run alone (html, table and markdown show the changes; `vendorscope diff PREVIOUS RUN --format json` gives them as JSON)",
                ignored.join(", ")
            ));
        }
    }
    let mut ok = true;
    for spec in ctx.file_outputs() {
        let written = render(
            &run,
            previous.as_ref(),
            spec.format,
            RenderOptions::default(),
        )
        .and_then(|text| {
            ctx.out
                .write_file(&spec.path, &text)
                .map_err(|e| anyhow::anyhow!(super::write_error(spec, &e)))
        });
        if let Err(e) = written {
            ctx.out.error(&format!("{e:#}"));
            ok = false;
        }
    }
    let format = ctx.stdout_format(Format::Table);
    let opts = RenderOptions {
        color: ctx.out.color,
        width: u16::try_from(crate::report::table::stdout_width()).ok(),
    };
    let text = ctx
        .out
        .render_for_stdout(|| render(&run, previous.as_ref(), format, opts))?;
    ctx.out.stdout(&text);
    if format == Format::Github {
        super::append_step_summary(ctx, &run);
    }
    Ok(if ok {
        EXIT_OK
    } else {
        crate::gate::EXIT_CONFIG
    })
}
