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

/// Freed memory goes back to the OS at once instead of after mimalloc's default delay (10 ms):
/// the peak RSS is a published bound (README "Performance"). The delay would save a 1 GB tree
/// 3-8% of its CPU time (memory freed and allocated again would be reused without page faults,
/// zeroing and TLB shootdowns), but a 32 MiB crawled page of keys would then peak at 205 MB
/// instead of 181 MB, over the 200 MB that `tests/bounded.rs` allows. Transparent huge pages
/// are off at build time (`no_thp`).
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: `mi_option_set` stores one integer option of the allocator; it takes no pointers
    // and is called first thing in `main`, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
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
