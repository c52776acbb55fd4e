//! CLI entry: parse, run the command, map its outcome to the exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use vendorscope::cli::Cli;
use vendorscope::commands;

fn main() -> ExitCode {
    vendorscope::secret::disable_core_dumps();
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                vendorscope::gate::EXIT_CONFIG
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(commands::run_with(cli, Some(&matches)))
}
