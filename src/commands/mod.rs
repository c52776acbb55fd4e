//! Command glue: turns parsed arguments into validated settings, runs the job, renders, and
//! returns the exit code (see `gate`).

pub mod audit;
pub mod completions;
pub mod config;
pub mod demo;
pub mod diff;
pub mod emulate;
pub mod exceptions;
pub mod init;
pub mod inventory;
pub mod policy;
pub mod probe;
pub mod report;
pub mod scan;

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::{Cli, ColorChoice, Command, GlobalArgs};
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::guard::Redactor;
use crate::report::{Format, Output, RenderOptions};
use crate::run::Run;

/// Everything a command needs to talk to the user.
pub struct Ctx<'a> {
    pub global: &'a GlobalArgs,
    pub out: Output,
    /// What the configuration file gave this command line (see [`crate::config`]).
    pub config: crate::config::Applied,
}

impl Ctx<'_> {
    /// The format stdout gets: an `--output FORMAT=-`, else `--format`, else `default`.
    pub fn stdout_format(&self, default: Format) -> Format {
        self.global
            .outputs
            .iter()
            .find(|s| s.is_stdout())
            .map(|s| s.format)
            .or(self.global.format)
            .unwrap_or(default)
    }

    /// The `--output` reports that go to files, pipes or terminals (not `-`).
    pub fn file_outputs(&self) -> impl Iterator<Item = &crate::report::OutputSpec> {
        self.global.outputs.iter().filter(|s| !s.is_stdout())
    }

    /// Renders the run on stdout in the chosen format and to every `--output` file.
    /// Returns false (after reporting) if a report file could not be written.
    pub fn emit(&self, run: &Run, default: Format) -> bool {
        let started = std::time::Instant::now();
        match self.out.clean(run) {
            Ok(c) => self.emit_clean(&c, default, started),
            Err(e) => {
                self.out.error(&e.to_string());
                false
            }
        }
    }

    /// [`Ctx::emit`] for a run the caller is done with: its long lists are sanitised in
    /// parallel, and it is dropped once sanitised, so a large run is not held twice while the
    /// reports are rendered and filtered.
    pub fn emit_owned(&self, run: Run, default: Format) -> bool {
        let started = std::time::Instant::now();
        let clean = crate::guard::Clean::of_run(run, &self.out.redactor)
            .map_err(|e| crate::report::RenderError(e.to_string()));
        match clean {
            Ok(c) => self.emit_clean(&c, default, started),
            Err(e) => {
                self.out.error(&e.to_string());
                false
            }
        }
    }

    fn emit_clean(
        &self,
        run: &crate::guard::Clean<Run>,
        default: Format,
        started: std::time::Instant,
    ) -> bool {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "output: sanitised"
        );
        let format = self.stdout_format(default);
        let width = u16::try_from(crate::report::table::stdout_width()).ok();
        let term_opts = RenderOptions {
            color: self.out.color,
            width,
        };
        // Every report file and the terminal rendering at once (a large run's JSON and its
        // filter pass take as long as the table); errors are reported in `--output` order.
        let (written, terminal) = std::thread::scope(|s| {
            let files: Vec<_> = self
                .file_outputs()
                .map(|spec| {
                    s.spawn(move || {
                        let text =
                            crate::report::render(run, spec.format, RenderOptions::default())
                                .map_err(|e| e.to_string())?;
                        tracing::debug!(
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "output: {} rendered",
                            spec.path.display()
                        );
                        self.out
                            .write_file(&spec.path, &text)
                            .map_err(|e| write_error(spec, &e))
                    })
                })
                .collect();
            let terminal = self
                .out
                .render_for_stdout(|| crate::report::render(run, format, term_opts));
            let written: Vec<_> = files
                .into_iter()
                .zip(self.file_outputs())
                .map(|(h, spec)| {
                    h.join()
                        .unwrap_or_else(|_| Err(write_error(spec, &"rendering failed")))
                })
                .collect();
            (written, terminal)
        });
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "output: files written, terminal rendered"
        );
        let mut ok = true;
        for r in written {
            if let Err(e) = r {
                self.out.error(&e);
                ok = false;
            }
        }
        match terminal {
            Ok(text) => {
                self.out.stdout(&text);
                if format == Format::Github {
                    append_step_summary(self, run);
                }
            }
            Err(e) => {
                self.out.error(&e.to_string());
                ok = false;
            }
        }
        ok
    }
}

/// The error of an `--output` that could not be written (not a rendering error).
pub fn write_error(spec: &crate::report::OutputSpec, e: &dyn std::fmt::Display) -> String {
    format!(
        "--output {}={}: cannot write the report: {e}",
        spec.format.name(),
        spec.path.display()
    )
}

/// Checks every `--output` before anything runs: one report at most on stdout (and not
/// together with `--format`), and no path that exists and is not a regular file, pipe or
/// terminal (see [`crate::report::output_target`]).
pub fn check_outputs(global: &GlobalArgs) -> Result<(), String> {
    let to_stdout: Vec<_> = global.outputs.iter().filter(|s| s.is_stdout()).collect();
    if to_stdout.len() > 1 {
        return Err("--output: only one report can go to stdout (-)".into());
    }
    if let (Some(s), Some(f)) = (to_stdout.first(), global.format)
        && s.format != f
    {
        return Err(format!(
            "--output {}=- and --format {} both choose what stdout gets; use one",
            s.format.name(),
            f.name()
        ));
    }
    for spec in &global.outputs {
        let at = || format!("--output {}={}", spec.format.name(), spec.path.display());
        // A new file needs a folder to go in: checked now, not after the work is done.
        let new_file = !spec.is_stdout()
            && !spec.path.as_os_str().as_encoded_bytes().ends_with(b"/")
            && std::fs::symlink_metadata(&spec.path).is_err();
        if new_file {
            let dir = match spec.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(format!("{}: {} is not a directory", at(), dir.display()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(format!(
                        "{}: directory {} does not exist (create it first)",
                        at(),
                        dir.display()
                    ));
                }
                Err(e) => return Err(format!("{}: {}: {e}", at(), dir.display())),
            }
        }
        crate::report::output_target(&spec.path).map_err(|e| format!("{}: {e}", at()))?;
    }
    Ok(())
}

/// What a command prints on stdout: a run (every `--format` and `--output`), or a document of
/// its own in the formats listed (no `--output`: it is for run reports).
fn printed_formats(cmd: &Command) -> Option<(&'static str, &'static [Format])> {
    use crate::cli::{ExceptionsCommand as E, InventoryCommand as I, PolicyCommand as P};
    const TEXT_JSON: &[Format] = &[Format::Table, Format::Json];
    const JSON: &[Format] = &[Format::Json];
    const TEXT: &[Format] = &[Format::Table];
    Some(match cmd {
        Command::Audit(_)
        | Command::Scan(_)
        | Command::Merge(_)
        | Command::Demo(_)
        | Command::Report(_) => return None,
        Command::Inventory(I::Check { .. }) => ("inventory check", TEXT_JSON),
        Command::Init(_) => ("init", TEXT_JSON),
        Command::Config(c) => match &c.command {
            None | Some(crate::cli::ConfigCommand::Show { .. }) => ("config show", TEXT_JSON),
            Some(crate::cli::ConfigCommand::Check { .. }) => ("config check", TEXT_JSON),
            Some(crate::cli::ConfigCommand::Schema) => ("config schema", JSON),
        },
        Command::Inventory(I::Schema) => ("inventory schema", JSON),
        Command::Exceptions(E::Check { .. }) => ("exceptions check", TEXT_JSON),
        Command::Exceptions(E::Schema) => ("exceptions schema", JSON),
        Command::Policy(P::Lint { .. }) => ("policy lint", TEXT_JSON),
        Command::Policy(P::List { .. }) => ("policy list", TEXT_JSON),
        Command::Policy(P::Explain { .. }) => ("policy explain", TEXT_JSON),
        Command::Policy(P::Facts { .. }) => ("policy facts", JSON),
        Command::Policy(P::Capabilities) => ("policy capabilities", TEXT_JSON),
        Command::Policy(P::Controls { .. }) => ("policy controls", TEXT_JSON),
        Command::Policy(P::Schema) => ("policy schema", JSON),
        Command::Diff { .. } => ("diff", TEXT_JSON),
        Command::Probe(_) => ("probe", TEXT_JSON),
        Command::Emulate(_) => ("emulate", TEXT_JSON),
        Command::Completions { .. } => ("completions", TEXT),
        Command::Man { .. } => ("man", TEXT),
    })
}

/// Refuses a `--format` or `--output` the command would ignore (exit 2): a flag either works
/// or says why it does not.
pub fn check_formats(cmd: &Command, global: &GlobalArgs) -> Result<(), String> {
    let Some((name, formats)) = printed_formats(cmd) else {
        return Ok(());
    };
    let names = || {
        formats
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if let Some(f) = global.format
        && !formats.contains(&f)
    {
        return Err(format!(
            "`{name}` prints {}; --format {} does not apply to it",
            names(),
            f.name()
        ));
    }
    if let Some(o) = global.outputs.first() {
        return Err(format!(
            "--output {}={}: `{name}` prints to stdout only (--output writes run reports: audit, scan, merge, demo, report); redirect stdout instead",
            o.format.name(),
            o.path.display()
        ));
    }
    Ok(())
}

/// Prints a validation result, the same way for every command that validates: with
/// `--format json` one JSON document on stdout (`valid`, `errors`, `warnings`, `diagnostics`
/// with file, line, column, level, code and message, and `summary` when valid); otherwise the
/// diagnostics with snippets on stderr and `ok` on stdout. Exit 2 on any error, else 0.
pub fn print_diagnostics(
    ctx: &Ctx,
    diags: &crate::diag::Diagnostics,
    ok: &str,
    summary: serde_json::Value,
) -> u8 {
    let valid = diags.is_empty();
    if ctx.global.format == Some(Format::Json) {
        let doc = diags.document(valid.then_some(summary));
        ctx.out.stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ));
    } else if valid {
        for w in &diags.items {
            ctx.out
                .warn(&w.to_string().replacen(": warning: ", ": ", 1));
        }
        ctx.out.stdout(ok);
    } else {
        ctx.out.stderr(&diags.render(), true);
    }
    if valid { EXIT_OK } else { EXIT_CONFIG }
}

/// Appends the findings table to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn append_step_summary(ctx: &Ctx, run: &crate::guard::Clean<Run>) {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let text = crate::report::github::step_summary(run);
        if let Err(e) = ctx.out.append_file(std::path::Path::new(&path), &text) {
            ctx.out
                .warn(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
        }
    }
}

/// Whether to use colour: `--color`, then `NO_COLOR`, then whether stdout is a terminal.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// A log writer that passes every line through the redactor before stderr.
#[derive(Clone)]
struct FilteredStderr(Redactor);

struct FilteredLine(Redactor, Vec<u8>);

impl std::io::Write for FilteredLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for FilteredLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.1);
        let text = crate::guard::sanitize_text(&text);
        let _ = std::io::Write::write_all(
            &mut std::io::stderr().lock(),
            self.0.filter(&text).as_bytes(),
        );
    }
}

impl<'a> MakeWriter<'a> for FilteredStderr {
    type Writer = FilteredLine;
    fn make_writer(&'a self) -> Self::Writer {
        FilteredLine(self.0.clone(), Vec::new())
    }
}

fn init_logging(global: &GlobalArgs, redactor: Redactor) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("VENDORSCOPE_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("vendorscope={level},warn"))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(FilteredStderr(redactor))
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    run_with(cli, None)
}

/// [`run`] with the command line's matches, which tell a flag given from a default when the
/// configuration file fills in what the command line left out.
pub fn run_with(mut cli: Cli, matches: Option<&clap::ArgMatches>) -> u8 {
    let color = use_color(cli.global.color);
    crate::http::init_tls();
    let redactor = Redactor::new();
    init_logging(&cli.global, redactor.clone());
    let applied = config::apply_to(&mut cli, matches);
    let mut ctx = Ctx {
        global: &cli.global,
        out: Output::new(redactor, cli.global.quiet, color),
        config: Default::default(),
    };
    match applied {
        Ok(a) => ctx.config = a,
        Err(e) => {
            e.report(&ctx);
            return EXIT_CONFIG;
        }
    }
    if let Err(e) =
        check_formats(&cli.command, &cli.global).and_then(|_| check_outputs(&cli.global))
    {
        ctx.out.error(&e);
        return EXIT_CONFIG;
    }
    let code = match &cli.command {
        Command::Inventory(cmd) => inventory::run(&ctx, cmd),
        Command::Init(args) => init::run(&ctx, args),
        Command::Config(args) => config::run(&ctx, args),
        Command::Exceptions(cmd) => exceptions::run(&ctx, cmd),
        Command::Diff { old, new, gate } => diff::run(
            &ctx,
            old,
            new,
            cli.global.format == Some(Format::Json),
            gate.options(),
        ),
        Command::Audit(args) => audit::run(&ctx, args),
        Command::Demo(args) => demo::run(&ctx, args),
        Command::Merge(args) => audit::merge(&ctx, args),
        Command::Scan(args) => scan::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Completions { shell } => completions::completions(&ctx, *shell),
        Command::Man(args) => completions::man(&ctx, args),
        Command::Probe(args) => probe::run(&ctx, args),
        Command::Emulate(args) => emulate::run(&ctx, args),
        Command::Policy(cmd) => policy::run(&ctx, cmd),
    }
    .unwrap_or_else(|e| {
        ctx.out.error(&format!("{e:#}"));
        EXIT_CONFIG
    });
    // An output that could not be written is exit 2, whatever the findings said: a CI job
    // never passes without what it asked for.
    match ctx.out.stdout_error() {
        Some(e) => {
            ctx.out
                .error(&format!("cannot write to standard output: {e}"));
            EXIT_CONFIG
        }
        None => code,
    }
}
