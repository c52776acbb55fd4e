//! `vendorscope config [show|check|schema]`, and the step of every run that fills the command
//! line from the configuration file (see [`crate::config`]).

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::cli::{Cli, Command, ConfigArgs, ConfigCommand, ConfigFileArgs};
use crate::config::{self, Applied, Config, LoadError, Source};
use crate::diag::Diagnostics;
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::report::Format;
use crate::report::table::{Column, Grid};

use super::Ctx;

/// The configuration file flags of a command that reads the file.
fn file_args(cmd: &Command) -> Option<&ConfigFileArgs> {
    match cmd {
        Command::Audit(a) => Some(&a.config),
        Command::Scan(a) => Some(&a.config),
        Command::Merge(a) => Some(&a.config),
        _ => None,
    }
}

/// Fills `cli` from the configuration file, if its command reads one.
pub fn apply_to(cli: &mut Cli, matches: Option<&clap::ArgMatches>) -> Result<Applied, LoadError> {
    let Some(args) = file_args(&cli.command).cloned() else {
        return Ok(Applied::default());
    };
    let cfg = config::resolve(&args)?;
    Ok(config::apply(
        &mut cli.command,
        &mut cli.global,
        matches,
        cfg.as_ref(),
    ))
}

impl LoadError {
    /// Prints the problem (diagnostics with snippets) on stderr.
    pub fn report(&self, ctx: &Ctx) {
        match self {
            LoadError::Invalid(d) => ctx.out.stderr(&d.render(), true),
            LoadError::Other(m) => ctx.out.error(m),
        }
    }
}

/// Before anything is evaluated: under `--deny-weakened-rules`, a configuration that weakens
/// the gate is refused (exit 2, like a weakening policy); `None` = go on.
pub fn refuse_weakened(ctx: &Ctx, deny: bool) -> Option<u8> {
    let msg = ctx.config.deny_message().filter(|_| deny)?;
    ctx.out.error(&msg);
    Some(EXIT_CONFIG)
}

pub fn run(ctx: &Ctx, args: &ConfigArgs) -> anyhow::Result<u8> {
    match &args.command {
        None => show(ctx, &args.file, &[]),
        Some(ConfigCommand::Show { file, command }) => {
            let mut f = file.clone();
            f.no_config |= args.file.no_config;
            f.config = f.config.or_else(|| args.file.config.clone());
            show(ctx, &f, command)
        }
        Some(ConfigCommand::Check { file }) => check(ctx, file.as_deref(), &args.file),
        Some(ConfigCommand::Schema) => {
            ctx.out.stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&config::schema())?
            ));
            Ok(EXIT_OK)
        }
    }
}

/// `config check [FILE]`: the named file, else `--config`, else the discovered one.
fn check(ctx: &Ctx, file: Option<&std::path::Path>, args: &ConfigFileArgs) -> anyhow::Result<u8> {
    let path = match file
        .map(|p| p.to_path_buf())
        .or_else(|| args.config.clone())
    {
        Some(p) => p,
        None => {
            let cwd = std::env::current_dir()?;
            match config::discover(&cwd) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    ctx.out.error(&format!(
                        "no {} or {} in this folder or above it (up to the repository root); `vendorscope init` writes one",
                        config::FILE_NAMES[0],
                        config::FILE_NAMES[1]
                    ));
                    return Ok(EXIT_CONFIG);
                }
                Err(e) => {
                    ctx.out.error(&e);
                    return Ok(EXIT_CONFIG);
                }
            }
        }
    };
    let name = path.display().to_string();
    let (diags, summary) = match Config::load(&path) {
        Ok(c) => {
            let set: Vec<&str> = every_setting()
                .map(|mut cli| config::apply(&mut cli.command, &mut cli.global, None, Some(&c)))
                .unwrap_or_default()
                .settings
                .iter()
                .filter(|s| matches!(s.source, Source::File { .. }))
                .map(|s| s.key)
                .collect();
            let summary = serde_json::json!({ "file": name, "settings": set });
            (Diagnostics::for_file(&name), summary)
        }
        Err(d) => (d, serde_json::Value::Null),
    };
    let n = summary["settings"].as_array().map_or(0, Vec::len);
    let ok = format!("{name}: ok — {n} setting(s)\n");
    Ok(super::print_diagnostics(ctx, &diags, &ok, summary))
}

/// The command line whose settings `config show` lists when given none: `scan .`, which
/// takes every setting the file can hold.
fn every_setting() -> Option<Cli> {
    Cli::try_parse_from(["vendorscope", "scan", "."]).ok()
}

/// `config show [COMMAND…]`: every setting with its value and source.
fn show(ctx: &Ctx, file: &ConfigFileArgs, command: &[String]) -> anyhow::Result<u8> {
    let (mut cli, matches) = if command.is_empty() {
        match every_setting() {
            Some(cli) => (cli, None),
            None => anyhow::bail!("config show: the settings list could not be built"),
        }
    } else {
        let argv = std::iter::once("vendorscope".to_string()).chain(command.iter().cloned());
        let parsed = Cli::command()
            .try_get_matches_from(argv)
            .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
        match parsed {
            Ok((c, m)) => (c, Some(m)),
            Err(e) => {
                ctx.out
                    .stderr(&format!("config show: {}", e.render()), true);
                return Ok(EXIT_CONFIG);
            }
        }
    };
    let Some(own) = file_args(&cli.command).cloned() else {
        ctx.out.error(&format!(
            "config show: `{}` reads no configuration file (audit, scan and merge do)",
            command.first().map(String::as_str).unwrap_or_default()
        ));
        return Ok(EXIT_CONFIG);
    };
    let selected = ConfigFileArgs {
        config: own.config.or_else(|| file.config.clone()),
        no_config: own.no_config || file.no_config,
    };
    let cfg = match config::resolve(&selected) {
        Ok(c) => c,
        Err(e) => {
            e.report(ctx);
            return Ok(EXIT_CONFIG);
        }
    };
    let applied = config::apply(
        &mut cli.command,
        &mut cli.global,
        matches.as_ref(),
        cfg.as_ref(),
    );
    let file_name = applied.file.clone();
    if ctx.global.format == Some(Format::Json) {
        let doc = serde_json::json!({
            "file": file_name,
            "command": command.first(),
            "settings": applied.settings,
            "weakenings": applied.weakenings,
        });
        ctx.out
            .stdout(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
        return Ok(EXIT_OK);
    }
    let mut text = match &file_name {
        Some(f) => format!("configuration file: {f}\n"),
        None if selected.no_config => "configuration file: none (--no-config)\n".to_string(),
        None => format!(
            "configuration file: none found (looked for {} and {} from here up to the repository root)\n",
            config::FILE_NAMES[0],
            config::FILE_NAMES[1]
        ),
    };
    let mut t = Grid::new(&[
        Column {
            header: "SETTING",
            long: false,
        },
        Column {
            header: "VALUE",
            long: true,
        },
        Column {
            header: "SOURCE",
            long: false,
        },
    ]);
    for s in &applied.settings {
        t.row(vec![
            s.key.to_string(),
            shown(&s.value),
            s.source.to_string(),
        ]);
    }
    text.push_str(&t.render(crate::report::table::stdout_width(), false));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for w in applied.warnings() {
        text.push_str(&format!("warning: {w}\n"));
    }
    ctx.out.stdout(&crate::guard::sanitize_text(&text));
    Ok(EXIT_OK)
}

/// A value for the table: strings bare, lists comma-separated, none as `—`.
fn shown(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "—".into(),
        J::String(s) => s.clone(),
        J::Array(items) if items.is_empty() => "—".into(),
        J::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        J::Object(m) if m.is_empty() => "—".into(),
        J::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", shown(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
