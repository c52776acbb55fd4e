//! `vendorscope scan PATH...`: artifact scan, attribution, run document, exit code.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;

use super::Ctx;
use crate::cli::ScanArgs;
use crate::exposure::{Detectors, Scanner, to_exposure, walk};
use crate::gate::{EXIT_CONFIG, EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK};
use crate::inventory::model::Environment;
use crate::report::Format;
use crate::run::{Exposure, InputFile, KeyRecord, Run, RunError};
use crate::secret::{Fingerprinter, SourceError, SourceOptions};

/// Inventory key identity per fingerprint.
type KnownKeys = BTreeMap<String, (String, String)>;

pub fn run(ctx: &Ctx, args: &ScanArgs) -> anyhow::Result<u8> {
    let fp = Fingerprinter::load().context("cannot load the fingerprint key")?;
    if let Some(w) = fp.ci_warning() {
        ctx.out.warn(&w);
    }
    let detectors = match Detectors::load(&args.detectors) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            ctx.out.error(&e.to_string());
            return Ok(EXIT_CONFIG);
        }
    };
    // Detectors feed the output filter before anything is printed.
    ctx.out.redactor.add_matcher(detectors.matcher());
    let exclude = match walk::excludes(&args.exclude) {
        Ok(g) => g,
        Err(e) => {
            ctx.out.error(&e);
            return Ok(EXIT_CONFIG);
        }
    };
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            ctx.out
                .error(&format!("{}: no such file or directory", p.display()));
            return Ok(EXIT_CONFIG);
        }
    }

    let mut run = Run::new("scan", fp.check_value());
    let mut known: KnownKeys = BTreeMap::new();

    if let Some(path) = &args.known_keys {
        match load_known_keys(path, &fp) {
            Ok((k, records)) => {
                known = k;
                run.keys = records;
                run.inputs
                    .options
                    .insert("known_keys".into(), path.display().to_string());
            }
            Err(msg) => {
                ctx.out.error(&msg);
                return Ok(EXIT_CONFIG);
            }
        }
    }

    if let Some(path) = &args.inventory {
        let loaded = match crate::inventory::load(path) {
            Ok(l) => l,
            Err(d) => {
                ctx.out.stderr(&d.render(), true);
                return Ok(EXIT_CONFIG);
            }
        };
        for w in &loaded.warnings {
            ctx.out.warn(w);
        }
        run.inputs.inventory = Some(InputFile {
            path: path.display().to_string(),
            sha256: loaded.sha256.clone(),
        });
        let opts = SourceOptions {
            base_dir: path.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
            ..Default::default()
        };
        for vendor in &loaded.inventory.vendors {
            for key in &vendor.keys {
                let prior = run
                    .keys
                    .iter()
                    .position(|k| k.id == key.id && k.vendor == vendor.id);
                match crate::secret::source(&key.secret, &opts) {
                    Ok((secret, warnings)) => {
                        ctx.out.redactor.add_secret(&secret);
                        for w in warnings {
                            ctx.out.warn(&w);
                        }
                        let f = fp.fingerprint(&secret);
                        known.insert(f.clone(), (key.id.clone(), vendor.id.clone()));
                        let rec = KeyRecord {
                            id: key.id.clone(),
                            vendor: vendor.id.clone(),
                            fingerprint: Some(f),
                            redacted: Some(secret.redacted()),
                            secret_source: key.secret.describe(),
                            profile: None,
                        };
                        match prior {
                            Some(i) => run.keys[i] = rec,
                            None => run.keys.push(rec),
                        }
                    }
                    Err(e) => {
                        let has_known = prior.is_some_and(|i| run.keys[i].fingerprint.is_some());
                        let msg = format!("key {}/{}: {e}", vendor.id, key.id);
                        if has_known {
                            // The recorded fingerprint still attributes this key.
                            run.warnings.push(format!(
                                "{msg}; attributed with the fingerprint from --known-keys"
                            ));
                        } else {
                            run.errors.push(RunError {
                                stage: "secret".into(),
                                subject: Some(format!("{}/{}", vendor.id, key.id)),
                                message: match e {
                                    SourceError::EnvMissing(_) => format!(
                                        "{e}; this key cannot be recognised by value (pass --known-keys RUN.json to attribute it without the secret)"
                                    ),
                                    _ => e.to_string(),
                                },
                            });
                            if prior.is_none() {
                                run.keys.push(KeyRecord {
                                    id: key.id.clone(),
                                    vendor: vendor.id.clone(),
                                    fingerprint: None,
                                    redacted: None,
                                    secret_source: key.secret.describe(),
                                    profile: None,
                                });
                            }
                        }
                    }
                }
            }
        }
    }

    let scanner = Scanner::new(Arc::clone(&detectors));
    let res = walk::scan_paths(&args.paths, &exclude, &scanner);
    let at = crate::run::now_rfc3339();
    let mut seen = std::collections::HashSet::new();
    for hit in &res.hits {
        let mut e = to_exposure(&detectors, hit, &fp, "artifact", &at);
        if !seen.insert(e.id.clone()) {
            continue;
        }
        if let Some((key, vendor)) = known.get(&e.evidence.fingerprint) {
            e.inventory_key = Some(key.clone());
            e.inventory_vendor = Some(vendor.clone());
        }
        run.exposures.push(e);
    }
    for (subject, message) in res.errors {
        run.errors.push(RunError {
            stage: "artifact".into(),
            subject: Some(subject),
            message,
        });
    }
    for (subject, message) in res.warnings {
        run.warnings.push(format!(
            "{subject}: {message} (content scanned; no original position)"
        ));
    }
    run.inputs.artifacts = args.paths.iter().map(|p| p.display().to_string()).collect();
    if !args.exclude.is_empty() {
        run.inputs
            .options
            .insert("exclude".into(), args.exclude.join(","));
    }
    tracing::info!(
        files = res.files,
        bytes = res.bytes,
        skipped_binary = res.skipped_binary,
        "artifact scan finished"
    );
    run.finish();
    let written = ctx.emit(&run, Format::Table);
    let code = exit_code(&run.exposures, !run.errors.is_empty());
    Ok(if !written && code == EXIT_OK {
        EXIT_INCOMPLETE
    } else {
        code
    })
}

/// Until policies land: 1 for any exposed credential that is not public by design (test-mode
/// keys excluded: they reach no customer data), else 3 if something could not be read, else 0.
pub fn exit_code(exposures: &[Exposure], incomplete: bool) -> u8 {
    if exposures
        .iter()
        .any(|e| !e.public_by_design && e.environment != Some(Environment::Test))
    {
        EXIT_FAIL
    } else if incomplete {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

fn load_known_keys(
    path: &std::path::Path,
    fp: &Fingerprinter,
) -> Result<(KnownKeys, Vec<KeyRecord>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--known-keys {}: cannot read: {e}", path.display()))?;
    let prev: Run = serde_json::from_str(&text).map_err(|e| {
        format!(
            "--known-keys {}:{}:{}: not a vendorscope run document: {}",
            path.display(),
            e.line(),
            e.column(),
            e.classify_message()
        )
    })?;
    if prev.fingerprint_check != fp.check_value() {
        return Err(format!(
            "--known-keys {}: its fingerprints were made with a different fingerprint key ({} here, {} in the file); set {} to the key used by that run",
            path.display(),
            fp.check_value(),
            prev.fingerprint_check,
            crate::secret::FINGERPRINT_KEY_ENV
        ));
    }
    let mut map = BTreeMap::new();
    let mut records = vec![];
    for k in prev.keys {
        if let Some(f) = &k.fingerprint {
            map.insert(f.clone(), (k.id.clone(), k.vendor.clone()));
            records.push(KeyRecord { profile: None, ..k });
        }
    }
    Ok((map, records))
}

trait Classify {
    fn classify_message(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_message(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "unexpected end of file",
        }
    }
}
