//! `vendorscope inventory check|schema`.

use crate::cli::InventoryCommand;
use crate::diag::Diagnostics;
use crate::gate::EXIT_OK;

use super::Ctx;

pub fn run(ctx: &Ctx, cmd: &InventoryCommand) -> anyhow::Result<u8> {
    match cmd {
        InventoryCommand::Schema => {
            let schema = schemars::schema_for!(crate::inventory::model::Inventory);
            ctx.out
                .stdout(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
            Ok(EXIT_OK)
        }
        InventoryCommand::Check { file } => {
            let (diags, text, summary) = match crate::inventory::load(file) {
                Ok(loaded) => {
                    let inv = &loaded.inventory;
                    let keys: usize = inv.vendors.iter().map(|v| v.keys.len()).sum();
                    let n = |count: usize, one: &str, many: &str| {
                        format!("{count} {}", if count == 1 { one } else { many })
                    };
                    // The organisation is free text: mask anything credential-shaped in it.
                    let text = crate::inventory::live::mask(&format!(
                        "{}: ok — {} ({}, {}, {}, {})\n",
                        file.display(),
                        inv.organization,
                        n(inv.vendors.len(), "vendor", "vendors"),
                        n(keys, "key", "keys"),
                        n(inv.surfaces.len(), "surface", "surfaces"),
                        n(inv.artifacts.len(), "artifact", "artifacts")
                    ));
                    let summary = serde_json::json!({
                        "organization": crate::inventory::live::mask(&inv.organization),
                        "vendors": inv.vendors.len(),
                        "keys": keys,
                        "surfaces": inv.surfaces.len(),
                        "artifacts": inv.artifacts.len(),
                    });
                    let mut d = Diagnostics::for_file(&file.display().to_string());
                    for w in loaded.remarks {
                        d.add(w);
                    }
                    (d, text, summary)
                }
                Err(d) => (d, String::new(), serde_json::Value::Null),
            };
            Ok(super::print_diagnostics(ctx, &diags, &text, summary))
        }
    }
}
