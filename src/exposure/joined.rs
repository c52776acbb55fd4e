//! One search for the detectors' keyword anchors and the known keys' anchors together.
//!
//! With known keys (`scan --inventory`, `--known-keys`, `audit`) the scanner looks for two sets
//! of short literals in every text: the keyword anchors (`anchors.rs`) and each known key's anchor
//! (`known.rs`). Searched one after the other, each set costs a full SIMD pass over
//! the bytes; joined in one Aho-Corasick automaton they cost one (200 MB corpus with ten
//! inventory keys: the known-value search no longer doubles the prefilter's share).
//!
//! What is found is exactly what the two searches find. The automaton reports one literal per
//! position (leftmost-first, restarted one byte after each match), and two literals that both
//! occur at one position are prefixes of one another, so each literal is listed with the
//! literals it is a prefix of or that are prefixes of it, and those are compared in place
//! whenever it is reported. Within each set no literal is a prefix of another (keyword anchors
//! are merged so, known anchors are distinct and of one length): only literals of different
//! sets are ever listed.

use super::engine::Detectors;
use super::known::KnownKeys;

/// The joined automaton over both sets of anchors.
#[derive(Debug)]
pub struct JoinedAnchors {
    search: super::anchors::Search,
    /// Literal `i < keyword_anchors` is the detectors' anchor `i`; literal `keyword_anchors + j`
    /// is the known keys' anchor `j`.
    keyword_anchors: usize,
    literals: Vec<Vec<u8>>,
    /// The literal each pattern of the automaton is: the literals in the order that shares
    /// Teddy's buckets best between both sets ([`super::anchors::teddy_order_of`]; a key's
    /// anchor appended after the detectors' could share the bucket of a common one).
    order: Vec<usize>,
    /// Per literal: the other literals that can occur at the same position.
    overlapping: Vec<Vec<usize>>,
}

impl JoinedAnchors {
    /// `None` if the automaton cannot be built (the two searches then run apart).
    pub fn new(detectors: &Detectors, known: &KnownKeys) -> Option<Self> {
        let literals: Vec<Vec<u8>> = detectors
            .anchors()
            .iter()
            .chain(known.anchors())
            .cloned()
            .collect();
        let overlapping = literals
            .iter()
            .enumerate()
            .map(|(i, a)| {
                (0..literals.len())
                    .filter(|&j| {
                        j != i && (a.starts_with(&literals[j]) || literals[j].starts_with(a))
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[u8]> = literals.iter().map(Vec::as_slice).collect();
        let order = super::anchors::teddy_order_of(&refs);
        let patterns: Vec<&[u8]> = order.iter().map(|&i| refs[i]).collect();
        Some(JoinedAnchors {
            search: super::anchors::Search::new(&patterns).ok()?,
            keyword_anchors: detectors.anchors().len(),
            literals,
            overlapping,
            order,
        })
    }

    /// [`Detectors::keywords_upto`] and [`KnownKeys::find_upto`] in one pass: the keyword and
    /// known-key occurrences whose anchors start in `*from..end`, each pushed where its own
    /// search pushes it. `*from` moves to `end`.
    pub fn find_upto(
        &self,
        (detectors, known): (&Detectors, &KnownKeys),
        hay: &[u8],
        from: &mut usize,
        end: usize,
        keywords: &mut Vec<(usize, usize)>,
        keys: &mut Vec<(usize, usize, usize)>,
    ) {
        let mut found = |p: usize, at: usize| match p.checked_sub(self.keyword_anchors) {
            None => detectors.keywords_at(hay, p, at, keywords),
            Some(k) => known.keys_at(hay, k, at, keys),
        };
        self.search.upto(hay, from, end, |p, at, _| {
            let p = self.order[p];
            found(p, at);
            for &q in &self.overlapping[p] {
                if hay[at..].starts_with(&self.literals[q]) {
                    found(q, at);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposure::known::KnownKey;
    use crate::exposure::{KnownIdentity, rules};
    use crate::secret::{Fingerprinter, KeyOrigin, Secret};
    use std::sync::Arc;

    /// The joined search finds exactly what the two searches find apart, at every block size,
    /// with known keys whose last characters overlap keyword anchors both ways (a key ending in
    /// an anchor, an anchor's prefix) and appear inside keywords.
    #[test]
    fn joined_search_equals_the_two_searches() {
        let detectors = Detectors::new(rules::builtin().expect("rules")).expect("detectors");
        let anchors: Vec<Vec<u8>> = detectors.anchors().to_vec();
        let mut rng = crate::testing::Rng::new(11);
        let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
        let body = |rng: &mut crate::testing::Rng, n: usize| -> String {
            (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())] as char)
                .collect()
        };
        // Key tails: one equal to a 4-byte slice of an anchor-holding keyword, one that starts
        // with a 3-byte anchor, one that is a prefix of a longer anchor, random ones.
        let mut tails: Vec<String> = vec![];
        for a in &anchors {
            match a.len() {
                3 => tails.push(format!("{}x", String::from_utf8_lossy(a))),
                n if n >= 4 => tails.push(String::from_utf8_lossy(&a[..4]).into_owned()),
                _ => {}
            }
        }
        tails.truncate(6);
        tails.push(body(&mut rng, 4));
        tails.push(body(&mut rng, 4));
        let mut values: Vec<String> = tails
            .iter()
            .map(|t| format!("{}{t}", body(&mut rng, 20)))
            .collect();
        // Keys with known prefixes, anchored in them (`shpa` starts like the anchor `shp`).
        for prefix in ["shpat_", "AQE", "sk_live_"] {
            values.push(format!("{prefix}{}", body(&mut rng, 30)));
        }
        let fp = Arc::new(Fingerprinter::from_bytes(b"joined-test", KeyOrigin::Fixed));
        let keys: Vec<KnownKey> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                KnownKey::by_value(
                    KnownIdentity::bare(&format!("k{i}"), "v"),
                    &Secret::new(v.clone()),
                )
            })
            .collect();
        let known = KnownKeys::new(keys, fp)
            .expect("known")
            .beside(detectors.anchors());
        assert!(
            known
                .anchors()
                .iter()
                .any(|a| anchors.iter().any(|k| a.starts_with(&k[..3]))),
            "a known anchor starts like a keyword anchor"
        );
        let joined = JoinedAnchors::new(&detectors, &known).expect("joined");
        assert!(
            joined.overlapping.iter().any(|o| !o.is_empty()),
            "the test plants overlapping anchors"
        );
        let mut pieces: Vec<Vec<u8>> = anchors.clone();
        pieces.extend(values.iter().map(|v| v.as_bytes().to_vec()));
        pieces.extend(tails.iter().map(|t| t.as_bytes().to_vec()));
        pieces.extend([b"sk_live_".to_vec(), b" ".to_vec(), b"live_".to_vec()]);
        pieces.extend([b"shpat_".to_vec(), b"AQE".to_vec()]);
        for round in 0..300 {
            let mut hay = vec![];
            for _ in 0..rng.below(60) {
                if rng.below(3) == 0 {
                    let n = rng.below(5);
                    hay.extend(body(&mut rng, n).bytes());
                } else {
                    hay.extend(&pieces[rng.below(pieces.len())]);
                }
            }
            let (mut kw_apart, mut keys_apart) = (vec![], vec![]);
            detectors.keywords_upto(&hay, &mut 0, hay.len(), &mut kw_apart);
            known.find_upto(&hay, &mut 0, hay.len(), &mut keys_apart);
            let block = 1 + rng.below(40);
            let (mut kw, mut keys) = (vec![], vec![]);
            let (mut from, mut end) = (0, 0);
            while end < hay.len() {
                end = (end + block).min(hay.len());
                joined.find_upto(
                    (&detectors, &known),
                    &hay,
                    &mut from,
                    end,
                    &mut kw,
                    &mut keys,
                );
            }
            for v in [&mut kw_apart, &mut kw] {
                v.sort_unstable();
            }
            for v in [&mut keys_apart, &mut keys] {
                v.sort_unstable();
            }
            assert_eq!(
                kw,
                kw_apart,
                "round {round}: {}",
                String::from_utf8_lossy(&hay)
            );
            assert_eq!(
                keys,
                keys_apart,
                "round {round}: {}",
                String::from_utf8_lossy(&hay)
            );
        }
    }
}
