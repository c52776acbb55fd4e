//! Known-value search: every inventory key found by its value, whatever the text around it
//! (a bare `window.IT='…'` assignment has no detector context, and still leaks the key).
//!
//! The search runs on every text the scanner reads: the bytes as written, the escape-decoded
//! regions (JSON/JS, URL and HTML escapes) and the base64 and hex views (see `base64.rs`), so
//! a key is found raw and in every encoding those layers undo: the encodings of the output
//! filter's published list ([`crate::guard::encoded_forms`]), which a test plants one by one.
//!
//! Each key is found through an **anchor**: 4 bytes of what its redacted form shows (its
//! known prefix, its last 4 characters), so that no other part of a value is copied out of
//! its [`Secret`]. Each occurrence of the anchor places a candidate of the key's length around
//! it. Which 4 bytes is chosen beside the detectors' anchors, searched in the same pass
//! (`joined.rs`): a window starting with the same three bytes as a literal already searched
//! (`shpa` beside the detectors' `shp`, `AQEx` beside `AQE`) adds no candidates to the SIMD
//! search, where a random tail such as `0886` adds hundreds of thousands on 200 MB of bundles.
//!
//! Two ways to know a key, one search:
//!
//! - **By value** (`scan --inventory` with the secrets, `audit`): a candidate is compared with
//!   the value.
//! - **By fingerprint** (`scan --known-keys RUN.json`, no secrets): the run records each key's
//!   redacted form (known prefix and last 4 characters) and its shape (length and character
//!   set, [`KeyShape`]); a candidate with the key's prefix and character set is fingerprinted
//!   and compared. Only shapes that a known key has are fingerprinted, only where its anchor
//!   occurs: the work is bounded by the occurrences of those, not by the text.
//!
//! Both find exactly the same occurrences (the candidate is the text a value match would
//! cover), and a hit is reported the same way in both: rule [`KNOWN_RULE_ID`], the key's
//! declared vendor, type, public-by-design flag and environment, attributed to the key.
//!
//! [`KNOWN_RULE_ID`]: super::engine::KNOWN_RULE_ID

use std::sync::Arc;

use crate::facts::KeyFacts;
use crate::inventory::model::{Environment, Key, Vendor};
use crate::run::{KeyShape, ShapeCharset};
use crate::secret::{Fingerprinter, Secret};

/// Shortest key searched for by value (a shorter value would match ordinary text).
pub const MIN_KNOWN_LEN: usize = 16;

/// What an exposure of a known key says about it: the inventory key and its declared facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownIdentity {
    /// Inventory key id.
    pub key: String,
    /// Inventory vendor id.
    pub vendor: String,
    /// The vendor's connector (`stripe`, `iterable`, …), when it has one.
    pub connector: Option<String>,
    /// Declared key type (`server_side`, `client_side`, …).
    pub key_type: String,
    pub public_by_design: bool,
    pub environment: Option<Environment>,
}

impl KnownIdentity {
    /// From the inventory.
    pub fn from_inventory(vendor: &Vendor, key: &Key) -> Self {
        KnownIdentity {
            key: key.id.clone(),
            vendor: vendor.id.clone(),
            connector: vendor.connector.clone(),
            key_type: crate::facts::enum_str(&key.key_type),
            public_by_design: key.key_type.public_by_design(),
            environment: key.environment,
        }
    }

    /// From a previous run's key facts (`--known-keys` without the inventory): the same
    /// declared facts, as that run read them from the inventory.
    pub fn from_facts(k: &KeyFacts) -> Self {
        KnownIdentity {
            key: k.id.clone(),
            vendor: k.vendor.clone(),
            connector: k.connector.clone(),
            key_type: k.key_type.clone(),
            public_by_design: k.public_by_design,
            environment: k
                .environment
                .as_ref()
                .and_then(|e| serde_json::from_value(serde_json::Value::String(e.clone())).ok()),
        }
    }

    /// A key a run names but whose declared facts are not at hand.
    pub fn bare(key: &str, vendor: &str) -> Self {
        KnownIdentity {
            key: key.into(),
            vendor: vendor.into(),
            connector: None,
            key_type: "unknown".into(),
            public_by_design: false,
            environment: None,
        }
    }
}

enum Probe {
    Value(Secret),
    Fingerprint {
        fingerprint: String,
        prefix: String,
        charset: ShapeCharset,
    },
}

/// The length of every known key's anchor.
const ANCHOR_LEN: usize = 4;

/// One known key and how it is recognised.
pub struct KnownKey {
    pub identity: Arc<KnownIdentity>,
    probe: Probe,
    /// What the key's redacted form shows, as (offset in the key, bytes): its known prefix
    /// (`shpat_`, `sk_live_`, `AQE`, …) when it has one, and its last 4 characters. The anchor
    /// searched for is 4 bytes of these: no other part of a value leaves its [`Secret`], and
    /// they are all a key known by fingerprint has.
    shown: Vec<(usize, Vec<u8>)>,
    /// The key's length in bytes.
    len: usize,
}

impl KnownKey {
    /// A key known by value; `None` when it is too short to search for.
    pub fn by_value(identity: KnownIdentity, secret: &Secret) -> Option<Self> {
        let raw = secret.expose();
        let v = raw.as_bytes();
        (v.len() >= MIN_KNOWN_LEN && v.is_ascii()).then(|| KnownKey {
            identity: Arc::new(identity),
            shown: shown(
                crate::secret::known_prefix(raw),
                &v[v.len() - ANCHOR_LEN..],
                v.len(),
            ),
            len: v.len(),
            probe: Probe::Value(secret.clone()),
        })
    }

    /// A key known by its fingerprint, redacted form and shape; `None` when those do not allow
    /// a bounded search (no shape recorded, too short, a redacted form without its last 4).
    pub fn by_fingerprint(
        identity: KnownIdentity,
        fingerprint: &str,
        redacted: &str,
        shape: &KeyShape,
    ) -> Option<Self> {
        let len = shape.length as usize;
        let (prefix, tail) = redacted.split_once('…')?;
        if len < MIN_KNOWN_LEN || tail.len() != ANCHOR_LEN || prefix.len() + tail.len() > len {
            return None;
        }
        if !shape.charset.admits(prefix.as_bytes()) || !shape.charset.admits(tail.as_bytes()) {
            return None;
        }
        Some(KnownKey {
            identity: Arc::new(identity),
            shown: shown(prefix, tail.as_bytes(), len),
            len,
            probe: Probe::Fingerprint {
                fingerprint: fingerprint.into(),
                prefix: prefix.into(),
                charset: shape.charset,
            },
        })
    }

    /// Every 4-byte window of what the redacted form shows, as (offset in the key, bytes).
    fn windows(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.shown.iter().flat_map(|(at, part)| {
            part.windows(ANCHOR_LEN)
                .enumerate()
                .map(move |(i, w)| (at + i, w))
        })
    }
}

/// A key's shown parts: its known prefix (if any) and its last 4 bytes.
fn shown(prefix: &str, tail: &[u8], len: usize) -> Vec<(usize, Vec<u8>)> {
    let mut parts = vec![];
    if !prefix.is_empty() {
        parts.push((0, prefix.as_bytes().to_vec()));
    }
    parts.push((len - tail.len(), tail.to_vec()));
    parts
}

/// The run's known keys, searched together.
pub struct KnownKeys {
    keys: Vec<KnownKey>,
    anchoring: Anchoring,
    fingerprinter: Arc<Fingerprinter>,
}

/// Which literals find the keys: one anchor per key, shared by keys that chose the same.
struct Anchoring {
    search: super::anchors::Search,
    /// The distinct anchors, in pattern order.
    anchors: Vec<Vec<u8>>,
    /// Per anchor pattern: the keys it serves, each with the anchor's offset in the key.
    by_anchor: Vec<Vec<(usize, usize)>>,
}

impl Anchoring {
    /// Each key's anchor chosen among its windows beside `others`, the literals searched in
    /// the same pass (see [`super::anchors::pick_window`]); `None` without keys.
    fn new(keys: &[KnownKey], others: &[Vec<u8>]) -> Option<Self> {
        let mut searched: Vec<Vec<u8>> = others.to_vec();
        let mut anchors: Vec<Vec<u8>> = vec![];
        let mut by_anchor: Vec<Vec<(usize, usize)>> = vec![];
        for (i, k) in keys.iter().enumerate() {
            let windows: Vec<(usize, &[u8])> = k.windows().collect();
            let (at, literal) = windows[super::anchors::pick_window(
                &windows.iter().map(|&(_, w)| w).collect::<Vec<_>>(),
                &searched,
            )];
            match anchors.iter().position(|a| a == literal) {
                Some(j) => by_anchor[j].push((i, at)),
                None => {
                    anchors.push(literal.to_vec());
                    searched.push(literal.to_vec());
                    by_anchor.push(vec![(i, at)]);
                }
            }
        }
        if anchors.is_empty() {
            return None;
        }
        Some(Anchoring {
            search: super::anchors::Search::new(&anchors).ok()?,
            anchors,
            by_anchor,
        })
    }
}

impl std::fmt::Debug for KnownKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownKeys({} keys)", self.keys.len())
    }
}

impl KnownKeys {
    /// `None` when there is nothing to search for.
    pub fn new(keys: Vec<KnownKey>, fingerprinter: Arc<Fingerprinter>) -> Option<Self> {
        Some(KnownKeys {
            anchoring: Anchoring::new(&keys, &[])?,
            keys,
            fingerprinter,
        })
    }

    /// The keys anchored to be searched in one pass with `others` (the detectors' anchors,
    /// `joined.rs`): only how fast they are found depends on it, never what is found.
    pub fn beside(mut self, others: &[Vec<u8>]) -> Self {
        if let Some(a) = Anchoring::new(&self.keys, others) {
            self.anchoring = a;
        }
        self
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The shortest base64 run that can hold one of the keys (see [`super::base64`]): shorter
    /// runs hold none of them, and the detectors' own bound ([`super::base64::MIN_RUN`]) applies
    /// when that is shorter still.
    pub fn min_run(&self) -> usize {
        let shortest = self
            .keys
            .iter()
            .map(|k| k.len)
            .min()
            .unwrap_or(MIN_KNOWN_LEN);
        super::base64::run_holding(shortest).min(super::base64::MIN_RUN)
    }

    /// The identity of key `k` (an index from [`KnownKeys::find`]).
    pub fn identity(&self, k: usize) -> &Arc<KnownIdentity> {
        &self.keys[k].identity
    }

    /// Every occurrence of a known key in `hay` as (key, start, end), by start (the scanner
    /// searches in blocks, with the detectors: [`Self::find_upto`], then [`Self::order`]).
    #[cfg(test)]
    pub fn find(&self, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = vec![];
        self.find_upto(hay, &mut 0, hay.len(), &mut out);
        Self::order(&mut out);
        out
    }

    /// Puts the occurrences [`Self::find_upto`] found in order: by start, then by key.
    pub fn order(found: &mut [(usize, usize, usize)]) {
        found.sort_unstable_by_key(|&(k, s, _)| (s, k));
    }

    /// The occurrences whose anchors start in `*from..end`, unordered. `*from` moves to `end`,
    /// where the next call goes on (a text read in blocks, as
    /// [`super::Detectors::keywords_upto`] reads it).
    pub fn find_upto(
        &self,
        hay: &[u8],
        from: &mut usize,
        end: usize,
        out: &mut Vec<(usize, usize, usize)>,
    ) {
        // Every anchor is `ANCHOR_LEN` bytes long and they are distinct, so at most one starts
        // at any position: the search's one occurrence per start is every occurrence.
        self.anchoring.search.upto(hay, from, end, |anchor, at, _| {
            self.keys_at(hay, anchor, at, out)
        });
    }

    /// The distinct anchors, in pattern order (a joined search, `joined.rs`, searches them
    /// with others).
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchoring.anchors
    }

    /// The keys anchor `anchor` serves that occur around its occurrence at `at`, pushed as
    /// (key, start, end).
    #[inline]
    pub fn keys_at(
        &self,
        hay: &[u8],
        anchor: usize,
        at: usize,
        out: &mut Vec<(usize, usize, usize)>,
    ) {
        for &(k, offset) in &self.anchoring.by_anchor[anchor] {
            let key = &self.keys[k];
            let Some(s) = at.checked_sub(offset) else {
                continue;
            };
            let end = s + key.len;
            let Some(cand) = hay.get(s..end) else {
                continue;
            };
            match &key.probe {
                Probe::Value(secret) => {
                    if cand == secret.expose().as_bytes() {
                        out.push((k, s, end));
                    }
                }
                Probe::Fingerprint {
                    fingerprint,
                    prefix,
                    charset,
                } => {
                    if !cand.starts_with(prefix.as_bytes()) || !charset.admits(cand) {
                        continue;
                    }
                    // The charsets are ASCII: the candidate is UTF-8.
                    let Ok(text) = std::str::from_utf8(cand) else {
                        continue;
                    };
                    if self.fingerprinter.fingerprint_str(text) == *fingerprint {
                        out.push((k, s, end));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Arc<Fingerprinter> {
        Arc::new(Fingerprinter::from_bytes(
            b"known-keys-test-key",
            crate::secret::KeyOrigin::Fixed,
        ))
    }

    /// Base64 runs are decoded for the known keys when they can hold the shortest: 16 bytes
    /// need 22 characters, 20 need 27; from 27 bytes on the detectors' own bound applies.
    #[test]
    fn min_run_follows_the_shortest_key() {
        let keys = |vs: &[&str]| {
            let keys = vs
                .iter()
                .map(|v| {
                    KnownKey::by_value(KnownIdentity::bare(v, "v"), &Secret::new(*v)).expect("long")
                })
                .collect();
            KnownKeys::new(keys, fp()).expect("keys")
        };
        let hex32 = "0123456789abcdef0123456789abcdef";
        assert_eq!(keys(&["0123456789abcdef"]).min_run(), 22);
        assert_eq!(keys(&[hex32, "0123456789abcdef0123"]).min_run(), 27);
        assert_eq!(keys(&[hex32]).min_run(), super::super::base64::MIN_RUN);
    }

    /// The same occurrences by value and by fingerprint, wherever the key sits: alone, inside
    /// longer tokens, overlapping itself, at either end.
    #[test]
    fn value_and_fingerprint_find_the_same_occurrences() {
        let f = fp();
        let detectors =
            crate::exposure::Detectors::new(crate::exposure::rules::builtin().expect("rules"))
                .expect("detectors");
        for key in [
            "8f68d9d9b0341314a5534ea92b26fa8a",
            "sk_live_p5B1Id9Z850kEnydx9qWCA79",
            "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",
            "AQEyhmfr8A1EVd8oe9cbp1NpEh8DqxM9TXktL7K6y8mL1p==-rCWKQvFuFwqrM4JH=-i1i:ZYyU}T98pv<v",
        ] {
            let secret = Secret::new(key);
            let shape = KeyShape::of(key).expect("shape");
            let id = KnownIdentity::bare("k", "v");
            // Anchored alone and beside the detectors' anchors (as the scanner searches them),
            // where a prefix window is chosen for the keys that have a known prefix.
            for beside in [&[][..], detectors.anchors()] {
                let by_value = KnownKeys::new(
                    vec![KnownKey::by_value(id.clone(), &secret).expect("long")],
                    f.clone(),
                )
                .expect("keys")
                .beside(beside);
                let by_fp = KnownKeys::new(
                    vec![
                        KnownKey::by_fingerprint(
                            id.clone(),
                            &f.fingerprint(&secret),
                            &secret.redacted(),
                            &shape,
                        )
                        .expect("shape"),
                    ],
                    f.clone(),
                )
                .expect("keys")
                .beside(beside);
                assert_eq!(by_value.anchors(), by_fp.anchors(), "{key}");
                // The anchor is 4 bytes the redacted form shows.
                let anchor = String::from_utf8(by_value.anchors()[0].clone()).expect("ascii");
                let redacted = secret.redacted();
                let (prefix, tail) = redacted.split_once('…').expect("redacted");
                assert!(
                    prefix.contains(&anchor) || tail == anchor,
                    "{key}: {anchor}"
                );
                // At either end, inside a token, overlapping, after a truncated copy, and a
                // copy cut short by the end of the text.
                let hay = format!(
                    "{key}window.IT='{key}';x{key}y\n{}{key}{}",
                    &key[..key.len() - 4],
                    &key[..key.len() - 2]
                );
                let a = by_value.find(hay.as_bytes());
                assert_eq!(a.len(), 4, "{key}");
                assert_eq!(a, by_fp.find(hay.as_bytes()), "{key}");
                for (_, s, e) in a {
                    assert_eq!(&hay[s..e], key);
                }
                // A different value of the same shape is not this key.
                let other = format!("{}0000{}", &key[..key.len() - 8], &key[key.len() - 4..]);
                assert!(by_fp.find(other.as_bytes()).is_empty());
            }
        }
    }

    #[test]
    fn short_or_shapeless_keys_are_not_searched() {
        let id = KnownIdentity::bare("k", "v");
        assert!(KnownKey::by_value(id.clone(), &Secret::new("abcdefgh12")).is_none());
        let shape = KeyShape {
            length: 32,
            charset: ShapeCharset::Hex,
        };
        assert!(KnownKey::by_fingerprint(id.clone(), "hmac256:00", "…", &shape).is_none());
        assert!(KnownKey::by_fingerprint(id, "hmac256:00", "…fa8a", &shape).is_some());
    }
}
