//! `vendorscope init`: a commented template inventory and a starter `vendorscope.yaml` that pass
//! `inventory check` and `config check` as written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::report::Format;

use super::Ctx;

/// The template inventory; `{{today}}` is filled in.
pub const INVENTORY: &str = include_str!("init/inventory.yaml");
/// The starter configuration file.
pub const CONFIG: &str = include_str!("init/vendorscope.yaml");

/// The files `init` writes, with their text for `today`.
pub fn files(today: jiff::civil::Date) -> [(&'static str, String); 2] {
    [
        (
            "inventory.yaml",
            INVENTORY.replace("{{today}}", &today.to_string()).replace(
                "{{next_year}}",
                &today.saturating_add(jiff::Span::new().years(1)).to_string(),
            ),
        ),
        (crate::config::FILE_NAMES[0], CONFIG.to_string()),
    ]
}

pub fn run(ctx: &Ctx, args: &InitArgs) -> anyhow::Result<u8> {
    let files = files(jiff::Zoned::now().date());
    let paths: Vec<PathBuf> = files.iter().map(|(n, _)| args.out.join(n)).collect();
    // Nothing is written unless everything can be: no half-initialised folder.
    if !args.force {
        let existing: Vec<String> = paths
            .iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            ctx.out.error(&format!(
                "{} already exist(s); nothing was written (--force overwrites)",
                existing.join(" and ")
            ));
            return Ok(EXIT_CONFIG);
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        ctx.out
            .error(&format!("cannot create {}: {e}", args.out.display()));
        return Ok(EXIT_CONFIG);
    }
    for ((_, text), path) in files.iter().zip(&paths) {
        if let Err(e) = write(path, text, args.force) {
            ctx.out
                .error(&format!("cannot write {}: {e}", path.display()));
            return Ok(EXIT_CONFIG);
        }
    }
    let inventory = paths[0].display().to_string();
    let next = [
        format!("vendorscope inventory check {inventory}"),
        "vendorscope audit --offline".to_string(),
        "STRIPE_SECRET_KEY=… vendorscope audit".to_string(),
    ];
    let here = args.out == Path::new(".");
    if ctx.global.format == Some(Format::Json) {
        let doc = serde_json::json!({
            "written": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "next": next,
        });
        ctx.out
            .stdout(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
    } else {
        let mut text = String::new();
        for p in &paths {
            text.push_str(&format!("wrote {}\n", p.display()));
        }
        text.push_str("\nnext:\n");
        if !here {
            text.push_str(&format!("  cd {}\n", args.out.display()));
        }
        text.push_str("  vendorscope inventory check inventory.yaml   # as written: ok\n");
        text.push_str("  vendorscope audit --offline                  # the inventory's own rules, no secrets needed\n");
        text.push_str(
            "  STRIPE_SECRET_KEY=… vendorscope audit         # probes the key (read-only calls)\n",
        );
        ctx.out.stdout(&text);
    }
    Ok(EXIT_OK)
}

/// Writes a new file (or replaces one with `force`).
fn write(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    o.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid_as_written() {
        let today: jiff::civil::Date = "2026-12-02".parse().expect("date");
        let [(inv_name, inv), (cfg_name, cfg)] = files(today);
        let loaded = crate::inventory::load_bytes(inv_name, inv.as_bytes(), None)
            .unwrap_or_else(|d| panic!("{}", d.render()));
        assert!(!inv.contains("{{"), "{inv}");
        assert_eq!(loaded.inventory.vendors.len(), 1);
        // At most the unset variable the key is read from (the user's environment).
        assert!(
            loaded
                .remarks
                .iter()
                .all(|r| r.message.contains("STRIPE_SECRET_KEY")),
            "{:?}",
            loaded.remarks
        );
        let c = crate::config::Config::from_str(cfg_name, &cfg, PathBuf::from("."))
            .unwrap_or_else(|d| panic!("{}", d.render()));
        assert_eq!(
            c.raw.inventory.as_deref(),
            Some(Path::new("inventory.yaml"))
        );
        // Every field of both is explained by a comment on its line or the line above.
        for text in [&inv, &cfg] {
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') || t.starts_with("- ") && t.contains('#') {
                    continue;
                }
                let commented =
                    l.contains(" # ") || i > 0 && lines[i - 1].trim_start().starts_with('#');
                let bare = matches!(t, "vendors:" | "keys:" | "outputs:" | "purpose:");
                assert!(
                    commented || bare || t.starts_with("name: checkout"),
                    "no comment: {l}"
                );
            }
        }
    }
}
