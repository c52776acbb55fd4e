//! Loading and validating the inventory: model, span-aware parsing, whole-file validation.

pub mod live;
pub mod model;
mod validate;

use std::collections::HashMap;
use std::path::Path;

use crate::diag::code;
pub use crate::diag::{Diagnostic, Diagnostics};
use model::Inventory;
pub use validate::{Validator, capability_suggestion, known_connectors};

use crate::secret::SecretRef;

/// A loaded, validated inventory with its non-fatal warnings.
#[derive(Debug)]
pub struct Loaded {
    pub inventory: Inventory,
    pub warnings: Vec<String>,
    /// The same warnings as diagnostics (file, line, column, code) for `--format json`.
    pub remarks: Vec<Diagnostic>,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Path (`vendors[0].keys[1].id`) → 1-based (line, column) in the file.
    pub spans: HashMap<String, (usize, usize)>,
}

impl Loaded {
    /// Where a path (`vendors[0]`, `vendors[0].keys[1]`, `vendors[0].keys[1].id`) is written
    /// in the inventory, for SARIF and other reports that point at the file.
    pub fn location_of(&self, path: &str) -> Option<(usize, usize)> {
        self.spans.get(path).copied()
    }

    /// Path of a vendor by id (`vendors[2]`).
    pub fn vendor_path(&self, vendor_id: &str) -> Option<String> {
        self.inventory
            .vendors
            .iter()
            .position(|v| v.id == vendor_id)
            .map(|i| format!("vendors[{i}]"))
    }

    /// Path of a key by id (`vendors[2].keys[0]`).
    pub fn key_path(&self, key_id: &str) -> Option<String> {
        self.inventory
            .vendors
            .iter()
            .enumerate()
            .find_map(|(i, v)| {
                v.keys
                    .iter()
                    .position(|k| k.id == key_id)
                    .map(|j| format!("vendors[{i}].keys[{j}]"))
            })
    }
}

/// Loads and validates an inventory file: every problem at once, or the inventory.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostics::bare(
            &name,
            code::IO,
            format!("cannot read the file: {}", e.kind()),
        )
    })?;
    load_bytes(&name, &bytes, path.parent())
}

/// Loads from bytes; `base_dir` resolves relative `file:` secrets for the permission warning.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    base_dir: Option<&Path>,
) -> Result<Loaded, Diagnostics> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let prefix = String::from_utf8_lossy(valid);
            let line = prefix.matches('\n').count() + 1;
            let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let mut d = Diagnostics::new(name, "", &[]);
            d.push_span(
                name,
                (line, col),
                1,
                code::IO,
                "the file is not valid UTF-8",
            );
            return Err(d);
        }
    };
    let tree = crate::yaml::parse_tree(text);
    let mut spans = HashMap::new();
    let mut secret_spans = Vec::new();
    let mut items: Vec<(usize, usize, usize, String)> = Vec::new();
    // Raw scan first: catches keys in comments and in files too broken to parse.
    let mut char_of_byte = text.char_indices().map(|(b, _)| b).enumerate();
    let mut raw_hits = live::vendor_hits(text);
    raw_hits.sort_by_key(|h| h.range.start);
    // Line and column carried from hit to hit (hits are sorted): one pass over the text.
    let (mut line, mut line_start, mut pos) = (1usize, 0usize, 0usize);
    for h in &raw_hits {
        let ci = char_of_byte
            .by_ref()
            .find(|(_, b)| *b >= h.range.start)
            .map_or(0, |(c, _)| c);
        let clen = text[h.range.clone()].chars().count();
        secret_spans.push(ci..ci + clen);
        let upto = h.range.start.max(pos);
        for nl in memchr::memchr_iter(b'\n', &text.as_bytes()[pos..upto]) {
            line += 1;
            line_start = pos + nl + 1;
        }
        pos = upto;
        let col = text[line_start..h.range.start.max(line_start)]
            .chars()
            .count()
            + 1;
        let masked_len = crate::secret::redact(&text[h.range.clone()])
            .chars()
            .count();
        items.push((
            line,
            col,
            masked_len,
            format!(
                "this value looks like a live credential ({}); secrets never go in the inventory: \
                 reference them with `secret: {{env: NAME}}` or `{{file: PATH}}` and rotate this \
                 one if the file was ever shared",
                h.what
            ),
        ));
    }
    let mut tree_diags = Diagnostics::new(name, "", &[]);
    for i in &tree.issues {
        let msg = match i.first {
            Some(f) => format!("{} (first at {}:{})", i.message, f.line, f.col),
            None => i.message.clone(),
        };
        tree_diags.push_span(name, (i.pos.line, i.pos.col), i.len, i.code(), msg);
    }
    match &tree.root {
        Some(root) => {
            let mut v = validate::Validator::new(&mut tree_diags, &mut spans, secret_spans.clone());
            v.run(root);
            secret_spans.extend(v.secret_spans);
        }
        None if tree.issues.is_empty() => {
            tree_diags.push_span(
                name,
                (1, 1),
                1,
                code::MISSING_FIELD,
                "the inventory is empty; expected a mapping with `version: 1`, `organization` and `vendors`",
            );
        }
        None => {}
    }
    let mut diags = Diagnostics::new(name, text, &secret_spans);
    // A live value found by the raw scan is reported once, by the tree walk when it found it.
    diags.extend(tree_diags);
    for (line, col, len, msg) in items {
        diags.push_span(name, (line, col), len, code::LIVE_CREDENTIAL, msg);
    }
    if !diags.is_empty() {
        tracing::debug!(errors = diags.items.len(), "inventory rejected");
        return Err(diags);
    }
    let inventory: Inventory = crate::yaml::from_str(text).map_err(|e| {
        let mut d = Diagnostics::new(name, text, &secret_spans);
        d.push(
            name,
            (e.line.unwrap_or(1), e.column.unwrap_or(1)),
            e.message,
        );
        d
    })?;
    let remarks = warnings(&inventory, &spans, name, base_dir);
    let warnings = remarks
        .iter()
        .map(|d| match d.line {
            0 => format!("{}: {}", d.file, d.message),
            l => format!("{}:{l}:{}: {}", d.file, d.column, d.message),
        })
        .collect();
    Ok(Loaded {
        inventory,
        warnings,
        remarks,
        sha256: crate::run::sha256_hex(bytes),
        spans,
    })
}

/// Non-fatal remarks: unset environment variables, missing or group/world-readable key files.
fn warnings(
    inv: &Inventory,
    spans: &HashMap<String, (usize, usize)>,
    name: &str,
    base_dir: Option<&Path>,
) -> Vec<Diagnostic> {
    let mut out: Vec<(Option<(usize, usize)>, String)> = Vec::new();
    for (i, v) in inv.vendors.iter().enumerate() {
        for (j, k) in v.keys.iter().enumerate() {
            let at = |field: &str| {
                spans
                    .get(&format!("vendors[{i}].keys[{j}].secret.{field}"))
                    .copied()
            };
            match &k.secret {
                SecretRef::Env(var) => {
                    if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
                        out.push((
                            at("env"),
                            format!(
                                "environment variable {var} (key `{}`) is not set; the key will be inconclusive (secret_unavailable)",
                                k.id
                            ),
                        ));
                    }
                }
                SecretRef::File(p) => {
                    let full = match base_dir {
                        Some(b) if p.is_relative() => b.join(p),
                        _ => p.clone(),
                    };
                    match std::fs::metadata(&full) {
                        Err(_) => out.push((
                            at("file"),
                            format!(
                                "secret file {} (key `{}`) cannot be read",
                                full.display(),
                                k.id
                            ),
                        )),
                        Ok(m) if !m.is_file() => out.push((
                            at("file"),
                            format!(
                                "secret file {} (key `{}`) is not a regular file ({}); it will be refused",
                                full.display(),
                                k.id,
                                crate::secret::file_kind(&m.file_type())
                            ),
                        )),
                        Ok(_m) => {
                            #[cfg(unix)]
                            {
                                use std::os::unix::fs::PermissionsExt;
                                let mode = _m.permissions().mode();
                                if mode & 0o077 != 0 {
                                    out.push((
                                        at("file"),
                                        format!(
                                            "secret file {} (key `{}`) is readable by group or others (mode {:o}); chmod 600 it",
                                            full.display(),
                                            k.id,
                                            mode & 0o777
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                SecretRef::Command(_) => {}
            }
        }
    }
    out.into_iter()
        .map(|(pos, msg)| Diagnostic {
            file: live::mask(name),
            line: pos.map_or(0, |p| p.0),
            column: pos.map_or(0, |p| p.1),
            len: 1,
            level: crate::diag::Level::Warning,
            code: code::SECRET_SOURCE,
            message: live::mask(&msg),
        })
        .collect()
}
