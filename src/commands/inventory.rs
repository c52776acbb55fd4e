//! `vendorscope inventory check|schema`.

use crate::cli::InventoryCommand;
use crate::gate::{EXIT_CONFIG, EXIT_OK};

use super::Ctx;

pub fn run(ctx: &Ctx, cmd: &InventoryCommand) -> anyhow::Result<u8> {
    match cmd {
        InventoryCommand::Schema => {
            let schema = schemars::schema_for!(crate::inventory::model::Inventory);
            ctx.out
                .stdout(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
            Ok(EXIT_OK)
        }
        InventoryCommand::Check { file } => match crate::inventory::load(file) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    ctx.out.warn(w);
                }
                let inv = &loaded.inventory;
                let keys: usize = inv.vendors.iter().map(|v| v.keys.len()).sum();
                let n = |count: usize, one: &str, many: &str| {
                    format!("{count} {}", if count == 1 { one } else { many })
                };
                // The organisation is free text: mask anything credential-shaped in it.
                ctx.out.stdout(&crate::inventory::live::mask(&format!(
                    "{}: ok — {} ({}, {}, {}, {})\n",
                    file.display(),
                    inv.organization,
                    n(inv.vendors.len(), "vendor", "vendors"),
                    n(keys, "key", "keys"),
                    n(inv.surfaces.len(), "surface", "surfaces"),
                    n(inv.artifacts.len(), "artifact", "artifacts")
                )));
                Ok(EXIT_OK)
            }
            Err(diags) => {
                ctx.out.stderr(&diags.render(), true);
                Ok(EXIT_CONFIG)
            }
        },
    }
}
