//! AFL++ harness: `vendorscope-fuzz TARGET` runs one `vendorscope::fuzz` target on the inputs
//! afl-fuzz feeds it (persistent mode); run outside afl-fuzz it reads one input from stdin,
//! which replays a crash: `vendorscope-fuzz html < crash`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = vendorscope::fuzz::target(&name) else {
        let names: Vec<&str> = vendorscope::fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        #[allow(clippy::print_stderr)]
        {
            eprintln!("usage: vendorscope-fuzz TARGET ({})", names.join(", "));
        }
        return ExitCode::from(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
    ExitCode::SUCCESS
}
