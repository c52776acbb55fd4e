//! Command-line argument types only (clap derive). Validated settings are built from them in
//! `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::gate::EXIT_CODES_HELP;
use crate::report::{Format, OutputSpec};

#[derive(Debug, Parser)]
#[command(
    name = "vendorscope",
    version,
    about = "Audit the API keys you hand to vendors: read-only scope probes, public exposure, ISO 27001 policy checks",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Format printed on stdout: any of these for the commands that print a run (audit, scan,
    /// merge, demo, report); table or json for the others (a format a command cannot print is
    /// refused with exit 2).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Also write FORMAT to PATH (repeatable), e.g. `--output json=run.json`.
    #[arg(long = "output", global = true, value_name = "FORMAT=PATH")]
    pub outputs: Vec<OutputSpec>,
    /// Print only the report and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More diagnostics on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: auto (TTY and no NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an inventory or print its JSON Schema.
    #[command(subcommand, display_order = 70)]
    Inventory(InventoryCommand),
    /// Write a commented template inventory and a starter vendorscope.yaml (never over
    /// existing files without --force).
    #[command(display_order = 5)]
    Init(InitArgs),
    /// The configuration file (vendorscope.yaml): the effective settings and where each came
    /// from (`config` = `config show`), check it, or print its JSON Schema.
    #[command(display_order = 75, args_conflicts_with_subcommands = true)]
    Config(ConfigArgs),
    /// Check an exceptions file or print its JSON Schema.
    #[command(subcommand, display_order = 90)]
    Exceptions(ExceptionsCommand),
    /// Compare two saved runs: new, resolved and changed findings (exit 1 on new failing findings).
    #[command(display_order = 40)]
    Diff {
        /// The earlier run document (JSON).
        old: PathBuf,
        /// The later run document (JSON).
        new: PathBuf,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// The scheduled audit: probe every inventory key, scan artifacts, crawl surfaces, check the
    /// policies, write the run.
    #[command(display_order = 10)]
    Audit(AuditArgs),
    /// The 2020 scenario end to end against the built-in emulators and demo site (no
    /// credentials, no network): prints the findings and writes JSON, SARIF and HTML reports.
    #[command(display_order = 1)]
    Demo(DemoArgs),
    /// Merge shard runs (`audit --shard K/N`) and re-evaluate the policies over the whole.
    #[command(display_order = 50)]
    Merge(MergeArgs),
    /// Scan build output (files, folders, archives) and URLs for vendor credentials.
    #[command(display_order = 20)]
    Scan(ScanArgs),
    /// Re-render a saved run document in any format, without the network.
    #[command(display_order = 30)]
    Report(ReportArgs),
    /// Print a shell completion script.
    #[command(display_order = 110)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man pages (roff): the top-level page, or one subcommand's (`man probe`,
    /// `man policy lint`), or every page into a directory (`man --out-dir DIR`).
    #[command(display_order = 120)]
    Man(ManArgs),
    /// Probe one vendor key with read-only calls and print what it can do.
    #[command(display_order = 60, after_help = PROBE_EXIT_CODES)]
    Probe(ProbeArgs),
    /// Run the vendor emulators and the demo storefront on loopback and print their URLs
    /// (until Ctrl-C).
    #[command(display_order = 100)]
    Emulate(EmulateArgs),
    /// Lint, list and explain policy rules; show the facts they see and the controls they map.
    #[command(subcommand, display_order = 80)]
    Policy(PolicyCommand),
}

/// Gate settings shared by `audit`, `scan` and `diff`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// Fail (exit 1) on any failing finding at or above this severity, not only `block` rules.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<crate::run::Severity>,
    /// Exit 0 instead of 3 when something could not be checked.
    #[arg(long)]
    pub allow_incomplete: bool,
}

impl GateArgs {
    pub fn options(&self) -> crate::gate::GateOptions {
        crate::gate::GateOptions {
            fail_on: self.fail_on,
            allow_incomplete: self.allow_incomplete,
        }
    }
}

/// Policy inputs shared by `audit` and `merge`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// User policy file merged over the built-in ISO 27001 pack (repeatable).
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Exceptions file: `version: 1`, `kind: Exceptions` and `exceptions:`, each with `rule`,
    /// `match` (vendor, key, fingerprint, location), `reason`, `approver` and `expires`
    /// (`vendorscope exceptions schema`; README "Exceptions").
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
    /// Longest accepted exception lifetime, in days.
    #[arg(long, value_name = "DAYS", default_value_t = crate::policy::exceptions::DEFAULT_MAX_LIFETIME_DAYS)]
    pub max_exception_days: i64,
    /// Treat exceptions that match nothing as an error (exit 2) instead of a warning.
    #[arg(long)]
    pub deny_unused_exceptions: bool,
    /// Refuse (exit 2, nothing evaluated) a --policy that weakens a built-in rule: disables it,
    /// lowers its severity or enforcement, or changes its require/where/subject.
    #[arg(long)]
    pub deny_weakened_rules: bool,
    /// Gate only on findings that are not in this earlier run (same fingerprint key).
    #[arg(long, value_name = "RUN.json")]
    pub baseline: Option<PathBuf>,
}

/// Which configuration file a command reads (`audit`, `scan`, `merge`, `config`).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFileArgs {
    /// Read settings from FILE instead of the vendorscope.yaml (or .vendorscope.yaml) found
    /// from the current folder up to the repository root; command-line flags still win.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read no configuration file: flags and defaults only (reproducible runs).
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
}

/// `vendorscope init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to write inventory.yaml and vendorscope.yaml into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `vendorscope config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: Option<ConfigCommand>,
    #[command(flatten)]
    pub file: ConfigFileArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The effective settings and the source of each (flag, FILE:LINE, default); after the
    /// options, a command line to show them for (`config show scan dist/ --fail-on high`).
    Show {
        #[command(flatten)]
        file: ConfigFileArgs,
        /// The command line (`audit`, `scan …`, `merge …`) whose settings to show; none = every
        /// setting the file can hold.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<String>,
    },
    /// Validate a configuration file (default: the one found) (exit 0 with a summary, or 2
    /// with every problem).
    Check {
        /// The configuration file.
        file: Option<PathBuf>,
    },
    /// Print the configuration file's JSON Schema (for editor autocompletion).
    Schema,
}

/// `vendorscope audit -i FILE`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The inventory YAML file (default: `inventory` of vendorscope.yaml).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigFileArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Inventory facts only: no secrets sourced, no probes, no scans (key and exposure rules
    /// are `unknown`).
    #[arg(long, conflicts_with = "dry_run")]
    pub offline: bool,
    /// Print the vendor calls and crawls the audit would make; make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Let keys whose inventory `endpoint` is HOST:PORT be sent there (emulators; repeatable).
    #[arg(long = "allow-endpoint", value_name = "HOST:PORT")]
    pub allow_endpoint: Vec<String>,
    /// Run `command` secret sources (never allow this for inventories from pull requests).
    #[arg(long)]
    pub allow_secret_commands: bool,
    /// Let `file` secret sources read below DIR too (repeatable). Without it they read only
    /// below the inventory's directory, /run/secrets and /var/run/secrets.
    #[arg(long = "allow-secret-files", value_name = "DIR")]
    pub allow_secret_files: Vec<PathBuf>,
    /// Also call export/bulk endpoints to confirm export capabilities (recorded in the run).
    #[arg(long)]
    pub probe_bulk_endpoints: bool,
    /// Crawl surfaces on private, loopback and link-local addresses (metadata stays refused).
    #[arg(long)]
    pub allow_private_addresses: bool,
    /// Run shard K of N: a deterministic part of the keys, vendors, artifacts and surfaces.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::Shard>,
    /// Extra detector rules (same format as the built-in `detectors.yaml`); repeatable.
    #[arg(long = "detectors", value_name = "FILE")]
    pub detectors: Vec<PathBuf>,
    /// Wall-clock budget of each surface's crawl (`90s`, `10m`); past it the surface is
    /// reported incomplete.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub max_duration: std::time::Duration,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// A positive duration as typed: `500ms`, `90s`, `10m`, `1h 30m` or ISO 8601 (`PT10M`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 90s, 10m, 1h)"))?;
    if !d.is_positive() {
        return Err(format!("`{s}`: the duration must be positive"));
    }
    std::time::Duration::try_from(d).map_err(|_| format!("`{s}`: duration out of range"))
}

/// `vendorscope demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo inventory, its synthetic secrets and the reports.
    #[arg(long, value_name = "DIR", default_value = "vendorscope-demo")]
    pub out: PathBuf,
    /// Changes every chunk hash of the demo site's build (same content).
    #[arg(long, value_name = "SEED", default_value = "build-1", hide = true)]
    pub build_seed: String,
}

/// `vendorscope merge RUN.json...`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard run documents written by `audit --shard K/N`.
    #[arg(required = true, value_name = "RUN.json")]
    pub runs: Vec<PathBuf>,
    /// The inventory (default: the path recorded in the runs; its hash must match).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigFileArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// `vendorscope scan PATH|URL...`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, folders or archives to scan, and `http(s)://` URLs to crawl (ignore files are not
    /// honoured; hidden files are included).
    #[arg(required_unless_present = "git", value_name = "PATH|URL")]
    pub targets: Vec<String>,
    /// Scan the history of the git repository REPO (its top-level folder or its `.git`): every
    /// blob reachable from any ref or HEAD, once each, plus staged changes; each exposure names
    /// the commit that introduced it. The working tree is what PATH is for.
    #[arg(long, value_name = "REPO")]
    pub git: Option<PathBuf>,
    /// With --git: scan only the commits not reachable from REV (a pull request's new commits:
    /// `--since origin/main`).
    #[arg(long, value_name = "REV", requires = "git")]
    pub since: Option<String>,
    /// Skip paths matching GLOB (relative to the scanned folder, or a file/folder name); repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Inventory whose keys attribute found credentials (secrets are sourced to fingerprint them).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Let the inventory's `file` secret sources read below DIR too (repeatable). Without it
    /// they read only below the inventory's directory, /run/secrets and /var/run/secrets.
    #[arg(
        long = "allow-secret-files",
        value_name = "DIR",
        requires = "inventory"
    )]
    pub allow_secret_files: Vec<PathBuf>,
    /// A previous run (JSON) whose `keys[].fingerprint` attribute found credentials without secrets.
    #[arg(long, value_name = "RUN.json")]
    pub known_keys: Option<PathBuf>,
    /// Extra detector rules (same format as the built-in `detectors.yaml`); repeatable.
    #[arg(long = "detectors", value_name = "FILE")]
    pub detectors: Vec<PathBuf>,
    /// Probe found credentials that belong to inventory keys (read-only calls, in the ledger).
    #[arg(long)]
    pub verify: bool,
    /// Also probe found credentials nobody inventoried (recorded in the run).
    #[arg(long, requires = "verify")]
    pub verify_unknown: bool,
    /// Let `--verify` send inventory keys to their `endpoint` HOST:PORT (emulators; repeatable).
    #[arg(long = "allow-endpoint", value_name = "HOST:PORT")]
    pub allow_endpoint: Vec<String>,
    /// Crawl URLs on private, loopback and link-local addresses (metadata stays refused).
    #[arg(long)]
    pub allow_private_addresses: bool,
    /// Do not honour robots.txt when crawling.
    #[arg(long)]
    pub ignore_robots: bool,
    /// Pages crawled at most per URL.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_pages: usize,
    /// Link depth from each URL.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_depth: u32,
    /// Wall-clock budget of each crawl (`90s`, `10m`); past it the surface is reported incomplete.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub max_duration: std::time::Duration,
    /// Wall-clock budget per crawled host, from its first request (`5m`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub max_host_duration: std::time::Duration,
    /// Locations kept per exposure (one value at one place); further occurrences are counted.
    #[arg(long, value_name = "N", default_value_t = crate::exposure::scan::DEFAULT_MAX_LOCATIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_locations: u64,
    /// Distinct exposures reported per file or response; past it the scan is `truncated`.
    #[arg(long, value_name = "N", default_value_t = crate::exposure::scan::DEFAULT_MAX_PER_ITEM as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_exposures_per_file: u64,
    /// Distinct exposures reported per run; past it the run is `truncated`.
    #[arg(long, value_name = "N", default_value_t = crate::exposure::scan::DEFAULT_MAX_PER_RUN as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_exposures: u64,
    /// Follow symlinks that lead out of a scanned folder (never into /proc, /sys or /dev).
    #[arg(long)]
    pub follow_symlinks: bool,
    #[command(flatten)]
    pub config: ConfigFileArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run document (JSON) written by `audit`, `scan` or `demo`.
    pub run: PathBuf,
    /// Only this vendor's data: an evidence pack with no other vendor in it.
    #[arg(long, value_name = "ID")]
    pub vendor: Option<String>,
    /// The previous run, to show what changed since the last assessment.
    #[arg(long, value_name = "RUN.json")]
    pub previous: Option<PathBuf>,
}

/// `vendorscope probe`. The key is read from an environment variable or stdin, never argv.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The key's vendor connector.
    #[arg(long, value_parser = vendor_names())]
    pub vendor: String,
    /// Environment variable holding the key.
    #[arg(
        long,
        value_name = "VAR",
        required_unless_present = "key_stdin",
        conflicts_with = "key_stdin"
    )]
    pub key_env: Option<String>,
    /// Read the key from standard input.
    #[arg(long)]
    pub key_stdin: bool,
    /// Shopify shop domain (`<shop>.myshopify.com`).
    #[arg(long, value_name = "DOMAIN")]
    pub shop: Option<String>,
    /// Send to this base URL instead of the vendor's official host (emulators, tests).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Print the calls that would be made, make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Write redacted request/response transcripts to DIR.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Also call export/bulk endpoints to confirm export capabilities (listed in `calls`;
    /// Iterable's export allows 4 requests a minute per project).
    #[arg(long)]
    pub probe_bulk_endpoints: bool,
}

/// `vendorscope emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Loopback address; port 0 = ephemeral ports, port P = P, P+1, … per vendor.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Emulator config (YAML/JSON): a list of keys, or `{keys, variants, latency_ms, hostile}`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Play a hostile vendor: answer with this form on every request (repeatable).
    #[arg(long, value_name = "FORM")]
    pub hostile: Vec<crate::emulator::Hostile>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy files merged over the built-in pack: syntax, CEL, control ids, duplicate ids,
    /// rules that can never apply, built-in rules they weaken (exit 0 clean, 2 otherwise).
    Lint {
        /// Policy YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Count each built-in rule the files weaken (disable, lower, or change its
        /// require/where/subject) as a problem (exit 2); without it they are warnings.
        #[arg(long)]
        deny_weakened_rules: bool,
    },
    /// Table of rules × controls (built-in pack plus any --policy files).
    List {
        /// User policy files merged over the built-in pack.
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// A rule's documentation: what it does, why it matters, remediation, controls.
    Explain {
        /// Rule id, e.g. VKS-EXP-002 (any case).
        rule: String,
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// The facts the rules see, as JSON.
    Facts {
        /// The inventory YAML file.
        #[arg(long, short = 'i')]
        inventory: PathBuf,
        /// Build facts from the inventory only: no secrets sourced, no probes, no scans.
        #[arg(long)]
        offline: bool,
    },
    /// The capability vocabulary: each name with its meaning and, per vendor, the scopes,
    /// permissions, roles or key types that grant it (`--format json` for a document).
    Capabilities,
    /// Print the policy file's JSON Schema (for editor autocompletion).
    Schema,
    /// Each mapped Annex A control with its rules (and outcome counts from a saved run).
    Controls {
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
        /// A saved run document (JSON) to take pass/fail/unknown counts from.
        #[arg(long = "run", value_name = "RUN.json")]
        run: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Validate an inventory file (exit 0 with a summary, or 2 with every problem).
    Check {
        /// The inventory YAML file.
        file: PathBuf,
    },
    /// Print the inventory's JSON Schema (for editor autocompletion).
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// Validate an exceptions file against the rules of the policy set (exit 0 with a
    /// summary, or 2 with every problem).
    Check {
        /// The exceptions YAML file.
        file: PathBuf,
        /// User policy files merged over the built-in pack (their rule ids may be waived).
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
        /// Longest accepted exception lifetime, in days.
        #[arg(long, value_name = "DAYS", default_value_t = crate::policy::exceptions::DEFAULT_MAX_LIFETIME_DAYS)]
        max_exception_days: i64,
    },
    /// Print the exceptions file's JSON Schema (for editor autocompletion).
    Schema,
}

/// `vendorscope man [SUBCOMMAND...]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`probe`, `policy lint`); none = the top-level page.
    #[arg(value_name = "SUBCOMMAND")]
    pub command: Vec<String>,
    /// Write every page (vendorscope.1, vendorscope-audit.1, …) into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

/// The implemented vendor connectors, for `probe --vendor` (listed in its help).
fn vendor_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::vendors::registry()
            .iter()
            .map(|c| clap::builder::PossibleValue::new(c.name())),
    )
}

/// `probe`'s exit codes (the one mapping; README "Exit codes").
const PROBE_EXIT_CODES: &str = "Exit codes:\n  0  the key is active: the profile was established (whatever it can do; `audit` judges that)\n  1  the key is invalid or revoked: it does not work (a key you expected to work, or one you found that is dead)\n  2  usage or configuration error (unknown vendor, no key read, bad --endpoint); nothing was sent\n  3  inconclusive: rate limited, server error, timeout or an unexpected answer; nothing could be established";
