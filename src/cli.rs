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
    /// Format printed on stdout.
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
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Lint, list and explain policy rules; show the facts they see and the controls they map.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy files: syntax, CEL, control ids, duplicate ids, rules that can never apply
    /// (exit 0 clean, 2 otherwise).
    Lint {
        /// Policy YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Table of rules × controls (built-in pack plus any --policy files).
    List {
        /// User policy files merged over the built-in pack.
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// A rule's documentation: what it does, why it matters, remediation, controls.
    Explain {
        /// Rule id, e.g. VKS-EXP-002.
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
