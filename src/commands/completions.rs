//! `vendorscope completions SHELL` and `vendorscope man`: generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::gate::{EXIT_CONFIG, EXIT_OK};

use super::Ctx;

/// Prints the completion script for `shell`.
pub fn completions(ctx: &Ctx, shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vendorscope", &mut buf);
    ctx.out.stdout(&String::from_utf8_lossy(&buf));
    Ok(EXIT_OK)
}

/// Every man page: the top-level one and one per subcommand (`vendorscope-policy-lint.1`),
/// each with that command's options, in the clap definitions' order.
pub fn pages() -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut buf = Vec::new();
        if man.render(&mut buf).is_ok() {
            out.push((
                man.get_filename(),
                String::from_utf8_lossy(&buf).into_owned(),
            ));
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out);
    out
}

/// `man`: the top-level page, one subcommand's page, or every page into a directory.
pub fn man(ctx: &Ctx, args: &ManArgs) -> anyhow::Result<u8> {
    let pages = pages();
    if let Some(dir) = &args.out_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            ctx.out
                .error(&format!("--out-dir {}: cannot create: {e}", dir.display()));
            return Ok(EXIT_CONFIG);
        }
        for (name, text) in &pages {
            let path = dir.join(name);
            if let Err(e) = ctx.out.write_file(&path, text) {
                ctx.out
                    .error(&format!("cannot write {}: {e}", path.display()));
                return Ok(EXIT_CONFIG);
            }
        }
        ctx.out.stderr(
            &format!("wrote {} man pages into {}\n", pages.len(), dir.display()),
            false,
        );
        return Ok(EXIT_OK);
    }
    let name = std::iter::once("vendorscope")
        .chain(args.command.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-");
    match pages
        .iter()
        .find(|(n, _)| n.strip_suffix(".1") == Some(name.as_str()))
    {
        Some((_, text)) => {
            ctx.out.stdout(text);
            Ok(EXIT_OK)
        }
        None => {
            let known: Vec<String> = pages
                .iter()
                .filter_map(|(n, _)| n.strip_suffix(".1")?.strip_prefix("vendorscope-"))
                .map(|n| n.replace('-', " "))
                .collect();
            ctx.out.error(&format!(
                "no man page for `{}`; pages: {}",
                args.command.join(" "),
                known.join(", ")
            ));
            Ok(EXIT_CONFIG)
        }
    }
}
