//! Loading and validating the inventory: model, span-aware parsing, whole-file validation.

pub mod model;

use std::path::Path;

use model::Inventory;

/// A loaded, validated inventory with its non-fatal warnings.
#[derive(Debug)]
pub struct Loaded {
    pub inventory: Inventory,
    pub warnings: Vec<String>,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Every problem found in a file, rendered `FILE:LINE:COL: message` with a snippet.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<String>,
}

impl Diagnostics {
    pub fn render(&self) -> String {
        let mut s = String::new();
        for i in &self.items {
            s.push_str(i);
            s.push('\n');
        }
        s
    }
}

/// Loads and validates an inventory file.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    let bytes = std::fs::read(path).map_err(|e| Diagnostics {
        items: vec![format!("{}: cannot read: {e}", path.display())],
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| Diagnostics {
        items: vec![format!("{}: not UTF-8", path.display())],
    })?;
    let inventory: Inventory = crate::yaml::from_str(&text).map_err(|e| Diagnostics {
        items: vec![format!(
            "{}:{}:{}: {}",
            path.display(),
            e.line.unwrap_or(0),
            e.column.unwrap_or(0),
            e.message
        )],
    })?;
    Ok(Loaded {
        inventory,
        warnings: vec![],
        sha256: crate::run::sha256_hex(&bytes),
    })
}
