//! Exposure: detector rules, the scanning engine, source maps and the artifact walker.

mod anchors;
pub mod base64;
pub mod decode;
pub mod engine;
pub mod git;
mod joined;
pub mod known;
pub mod layers;
pub mod rules;
pub mod scan;
pub mod srcmap;
pub mod walk;

pub use engine::Detectors;
pub use known::{KnownIdentity, KnownKey, KnownKeys};
pub use scan::{Hit, MapBytes, MapSource, ScanOutput, Scanner};

use crate::run::{Evidence, Exposure};
use crate::secret::Fingerprinter;

/// Builds the run's exposure record for a hit (redacted evidence and keyed fingerprint only).
pub fn to_exposure(
    d: &Detectors,
    hit: &Hit,
    fp: &Fingerprinter,
    source: &str,
    at: &str,
) -> Exposure {
    let rule = &d.rules[hit.rule];
    let fingerprint = fp.fingerprint(&hit.secret);
    let loc = &hit.location;
    // The place, not the line: every occurrence of the value there is this exposure.
    let mut id_input = format!(
        "{fingerprint}|{}|{}|{}|{}",
        loc.path.as_deref().or(loc.url.as_deref()).unwrap_or(""),
        loc.container.as_deref().unwrap_or(""),
        loc.original.as_ref().map_or("", |o| o.path.as_str()),
        rule.id
    );
    // A path in a repository's history is another place than the same path on disk.
    if let Some(g) = &loc.git {
        id_input.push_str(&format!("|git:{}", g.repository));
    }
    // A known-value hit is reported with its inventory key's declared facts.
    let (vendor, credential_type, public_by_design) = match &hit.known {
        Some(k) => (
            k.connector.clone().unwrap_or_else(|| k.vendor.clone()),
            k.key_type.clone(),
            k.public_by_design,
        ),
        None => (
            rule.vendor.clone(),
            rule.credential_type.clone(),
            rule.public_by_design,
        ),
    };
    Exposure {
        id: format!("exp-{}", &crate::run::sha256_hex(id_input.as_bytes())[..16]),
        rule: rule.id.clone(),
        vendor,
        credential_type,
        public_by_design,
        environment: hit.environment,
        location: loc.clone(),
        more_locations: hit.more_locations.clone(),
        occurrences: hit.occurrences,
        source: source.into(),
        evidence: Evidence {
            fingerprint,
            redacted: hit.secret.redacted(),
        },
        confidence: hit.confidence,
        inventory_key: hit.known.as_ref().map(|k| k.key.clone()),
        inventory_vendor: hit.known.as_ref().map(|k| k.vendor.clone()),
        verified: None,
        observed_at: at.into(),
    }
}
