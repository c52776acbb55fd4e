//! `vendorscope completions SHELL` and `vendorscope man`: generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::gate::EXIT_OK;

use super::Ctx;

/// Prints the completion script for `shell`.
pub fn completions(ctx: &Ctx, shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vendorscope", &mut buf);
    ctx.out.stdout(&String::from_utf8_lossy(&buf));
    Ok(EXIT_OK)
}

/// Prints the roff man page.
pub fn man(ctx: &Ctx) -> anyhow::Result<u8> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    ctx.out.stdout(&String::from_utf8_lossy(&buf));
    Ok(EXIT_OK)
}
