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
    /// Probe one vendor key with read-only calls and print what it can do.
    Probe(ProbeArgs),
    /// Run the vendor emulators on loopback and print their base URLs (until Ctrl-C).
    Emulate(EmulateArgs),
}

/// `vendorscope probe`. The key is read from an environment variable or stdin, never argv.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Connector: one of the implemented vendors (see `--help` of `emulate` for the list).
    #[arg(long)]
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
}

/// `vendorscope emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Loopback address; port 0 = ephemeral ports, port P = P, P+1, … per vendor.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Emulator config (YAML/JSON): a list of keys, or `{keys, variants, latency_ms}`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
