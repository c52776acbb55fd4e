//! Known-value search: every inventory key found by its value, whatever the text around it
//! (a bare `window.IT='…'` assignment has no detector context, and still leaks the key).
//!
//! The search runs on every text the scanner reads: the bytes as written, the escape-decoded
//! regions (JSON/JS, URL and HTML escapes) and the base64 and hex views (see `base64.rs`), so
//! a key is found raw and in every encoding those layers undo: the encodings of the output
//! filter's published list ([`crate::guard::encoded_forms`]), which a test plants one by one.
//!
//! Two ways to know a key, one search:
//!
//! - **By value** (`scan --inventory` with the secrets, `audit`): each occurrence of the key's
//!   last 4 characters ends a candidate of its length, compared with the value.
//! - **By fingerprint** (`scan --known-keys RUN.json`, no secrets): the run records each key's
//!   redacted form (known prefix and last 4 characters) and its shape (length and character
//!   set, [`KeyShape`]). Each occurrence of the last 4 characters ends a candidate of the key's
//!   length; a candidate with the key's prefix and character set is fingerprinted and compared.
//!   Only shapes that a known key has are fingerprinted, only where its last characters occur:
//!   the work is bounded by the occurrences of those, not by the text.
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
        len: usize,
        charset: ShapeCharset,
    },
}

/// The length of every known key's anchor: its last 4 characters.
const ANCHOR_LEN: usize = 4;

/// One known key and how it is recognised.
pub struct KnownKey {
    pub identity: Arc<KnownIdentity>,
    probe: Probe,
    /// The literal searched for: the key's last 4 characters (the ones its redacted form
    /// shows; no copy of the value leaves the [`Secret`]).
    anchor: Vec<u8>,
}

impl KnownKey {
    /// A key known by value; `None` when it is too short to search for.
    pub fn by_value(identity: KnownIdentity, secret: &Secret) -> Option<Self> {
        let v = secret.expose().as_bytes();
        (v.len() >= MIN_KNOWN_LEN && v.is_ascii()).then(|| KnownKey {
            identity: Arc::new(identity),
            anchor: v[v.len() - ANCHOR_LEN..].to_vec(),
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
            anchor: tail.as_bytes().to_vec(),
            probe: Probe::Fingerprint {
                fingerprint: fingerprint.into(),
                prefix: prefix.into(),
                len,
                charset: shape.charset,
            },
        })
    }
}

/// The run's known keys, searched together.
pub struct KnownKeys {
    keys: Vec<KnownKey>,
    search: super::anchors::Search,
    /// The distinct anchors, in pattern order.
    anchors: Vec<Vec<u8>>,
    /// Per anchor pattern: the keys it serves.
    by_anchor: Vec<Vec<usize>>,
    fingerprinter: Arc<Fingerprinter>,
}

impl std::fmt::Debug for KnownKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownKeys({} keys)", self.keys.len())
    }
}

impl KnownKeys {
    /// `None` when there is nothing to search for.
    pub fn new(keys: Vec<KnownKey>, fingerprinter: Arc<Fingerprinter>) -> Option<Self> {
        let mut anchors: Vec<Vec<u8>> = vec![];
        let mut by_anchor: Vec<Vec<usize>> = vec![];
        for (i, k) in keys.iter().enumerate() {
            match anchors.iter().position(|a| *a == k.anchor) {
                Some(j) => by_anchor[j].push(i),
                None => {
                    anchors.push(k.anchor.clone());
                    by_anchor.push(vec![i]);
                }
            }
        }
        if anchors.is_empty() {
            return None;
        }
        let search = super::anchors::Search::new(&anchors).ok()?;
        Some(KnownKeys {
            keys,
            search,
            anchors,
            by_anchor,
            fingerprinter,
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The identity of key `k` (an index from [`KnownKeys::find`]).
    pub fn identity(&self, k: usize) -> &Arc<KnownIdentity> {
        &self.keys[k].identity
    }

    /// Every occurrence of a known key in `hay` as (key, start, end), by start.
    pub fn find(&self, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = vec![];
        self.find_upto(hay, &mut 0, hay.len(), &mut out);
        Self::order(&mut out);
        out
    }

    /// Puts the occurrences [`Self::find_upto`] found in the order [`Self::find`] gives.
    pub fn order(found: &mut [(usize, usize, usize)]) {
        found.sort_unstable_by_key(|&(k, s, _)| (s, k));
    }

    /// The occurrences whose anchors (last 4 characters) start in `*from..end`, unordered.
    /// `*from` moves to `end`, where the next call goes on (a text read in blocks, as
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
        self.search.upto(hay, from, end, |anchor, _, at_end| {
            self.keys_at(hay, anchor, at_end, out)
        });
    }

    /// The distinct anchors (keys' last 4 characters), in pattern order (a joined search,
    /// `joined.rs`, searches them with others).
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// The keys anchor `anchor` serves that occur ending at `end` (where an occurrence of the
    /// anchor ends), pushed as (key, start, end).
    #[inline]
    pub fn keys_at(
        &self,
        hay: &[u8],
        anchor: usize,
        end: usize,
        out: &mut Vec<(usize, usize, usize)>,
    ) {
        for &k in &self.by_anchor[anchor] {
            match &self.keys[k].probe {
                Probe::Value(secret) => {
                    let v = secret.expose().as_bytes();
                    let Some(s) = end.checked_sub(v.len()) else {
                        continue;
                    };
                    if &hay[s..end] == v {
                        out.push((k, s, end));
                    }
                }
                Probe::Fingerprint {
                    fingerprint,
                    prefix,
                    len,
                    charset,
                } => {
                    let Some(s) = end.checked_sub(*len) else {
                        continue;
                    };
                    let cand = &hay[s..end];
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

    /// The same occurrences by value and by fingerprint, wherever the key sits: alone, inside
    /// longer tokens, overlapping itself, at either end.
    #[test]
    fn value_and_fingerprint_find_the_same_occurrences() {
        let f = fp();
        for key in [
            "8f68d9d9b0341314a5534ea92b26fa8a",
            "sk_live_p5B1Id9Z850kEnydx9qWCA79",
            "AQEyhmfr8A1EVd8oe9cbp1NpEh8DqxM9TXktL7K6y8mL1p==-rCWKQvFuFwqrM4JH=-i1i:ZYyU}T98pv<v",
        ] {
            let secret = Secret::new(key);
            let shape = KeyShape::of(key).expect("shape");
            let id = KnownIdentity::bare("k", "v");
            let by_value = KnownKeys::new(
                vec![KnownKey::by_value(id.clone(), &secret).expect("long")],
                f.clone(),
            )
            .expect("keys");
            let by_fp = KnownKeys::new(
                vec![
                    KnownKey::by_fingerprint(
                        id,
                        &f.fingerprint(&secret),
                        &secret.redacted(),
                        &shape,
                    )
                    .expect("shape"),
                ],
                f.clone(),
            )
            .expect("keys");
            let hay = format!(
                "{key}window.IT='{key}';x{key}y\n{}{key}",
                &key[..key.len() - 4]
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
