//! CLI entry: parse, run the command, map its outcome to the exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use vendorscope::cli::Cli;
use vendorscope::commands;

/// mimalloc: the scan, policy compilation and report rendering allocate many small strings,
/// which the system allocator serves markedly slower (see README "Performance").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`: the option before
/// `mi_option_use_numa_nodes`; the sys crate names no constant for it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// How long freed memory waits before it goes back to the OS, in milliseconds: mimalloc 2's
/// default, set explicitly (mimalloc 3's is 1,000). Memory freed and allocated again within the
/// delay is reused without page faults, zeroing, or the TLB shootdowns that returning it costs
/// every other thread of the process. Returning it at once (0) cost 1 GB trees 3-8% of their
/// CPU time in alternating runs. File buffers do not churn (each scanning thread keeps its
/// own, see `READ_MAX` in `exposure/walk.rs`), and the peak RSS stays within its published
/// bound (README "Performance"). Transparent huge pages are off at build time (`no_thp`).
const PURGE_DELAY_MS: std::ffi::c_long = 10;

#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: `mi_option_set` stores one integer option of the allocator; it takes no pointers
    // and is called first thing in `main`, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
}

fn main() -> ExitCode {
    tune_allocator();
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
