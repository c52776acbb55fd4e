//! CLI entry: parse, run the command, map its outcome to the exit code.

use std::process::ExitCode;

use clap::Parser;

use vendorscope::cli::Cli;
use vendorscope::commands;

fn main() -> ExitCode {
    vendorscope::secret::disable_core_dumps();
    let cli = match Cli::try_parse() {
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
    ExitCode::from(commands::run(cli))
}
