//! Which literals the keyword prefilter searches for.
//!
//! Searching every keyword as written is slow: Teddy (the packed SIMD search behind
//! Aho-Corasick) keys on each pattern's first three bytes, and keywords such as `production_`,
//! `test_`, `iterable` or `access_token$` start with trigrams that minified JavaScript is full
//! of (`pro`, `tes`, `ite`, `acc`), while 26 patterns overfill its eight buckets. So the
//! prefilter searches a small set of **anchors** instead: substrings of the keywords, chosen so
//! that few anchors cover every keyword (`ve_` serves `live_`, `sk_live_`, `rk_live_` and
//! `pk_live_`) and each starts with an uncommon trigram. A hit on an anchor is only a
//! candidate: the keyword is then compared byte for byte around it, so what is found does not
//! depend on this choice, only how fast.
//!
//! The commonness tables come from the byte and trigram counts of the published files of the
//! npm packages pinned in `bench/npm-fp.sh` (minified bundles, source maps, JSON, HTML, CSS).

/// Every occurrence of a set of short literals (anchors), searchable a block at a time. One
/// leftmost-first Aho-Corasick automaton (so its packed SIMD searcher runs), restarted one byte
/// after each match start: a position's occurrence is found whatever overlaps it, and a caller
/// whose literals can be prefixes of one another checks those at the reported position (see
/// `joined.rs`).
#[derive(Debug)]
pub struct Search {
    ac: aho_corasick::AhoCorasick,
    /// The longest literal's length: how far past a block's end an occurrence starting in it
    /// can reach.
    longest: usize,
}

impl Search {
    pub fn new<L: AsRef<[u8]>>(literals: &[L]) -> Result<Self, aho_corasick::BuildError> {
        Ok(Search {
            ac: aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(literals)?,
            longest: literals.iter().map(|l| l.as_ref().len()).max().unwrap_or(0),
        })
    }

    /// Calls `found(literal, start, end)` for the occurrences that start in `*from..end`, by
    /// start (one per start); `*from` moves to `end`, where the next call goes on.
    #[inline]
    pub fn upto(
        &self,
        hay: &[u8],
        from: &mut usize,
        end: usize,
        mut found: impl FnMut(usize, usize, usize),
    ) {
        let end = end.min(hay.len());
        // An occurrence that starts before `end` ends before `limit`.
        let limit = (end + self.longest).min(hay.len());
        while *from < end {
            let input = aho_corasick::Input::new(hay).span(*from..limit);
            let Some(m) = self.ac.find(input).filter(|m| m.start() < end) else {
                break;
            };
            *from = m.start() + 1;
            found(m.pattern().as_usize(), m.start(), m.end());
        }
        *from = (*from).max(end);
    }
}

/// The anchor chosen for a set of keywords: the literal to search, and for each keyword it
/// serves, the keyword's index and the anchor's offset inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub literal: Vec<u8>,
    pub keywords: Vec<(usize, usize)>,
}

/// Longest anchor considered: Teddy keys on the first three bytes; a few more only spare
/// verifications, and the bound keeps the choice fast for large user rule sets.
const MAX_ANCHOR: usize = 8;

/// Covers `keywords` (each at least 3 bytes; shorter ones are their own anchor) with anchors:
/// greedily the substring shared by the most uncovered keywords, then the one whose first
/// trigram is least common, then the longest. Deterministic.
pub fn choose(keywords: &[Vec<u8>]) -> Vec<Anchor> {
    /// Smaller is better: (more keywords, unlisted trigram, rarer bytes, longer, literal).
    type Score<'a> = (usize, u32, u32, usize, &'a [u8]);
    // Every substring of 3..=MAX_ANCHOR bytes, with the keywords that contain it.
    let mut candidates: std::collections::BTreeMap<&[u8], Vec<usize>> = Default::default();
    for (k, kw) in keywords.iter().enumerate() {
        for i in 0..kw.len() {
            for j in i + 3..=kw.len().min(i + MAX_ANCHOR) {
                let holders = candidates.entry(&kw[i..j]).or_default();
                if holders.last() != Some(&k) {
                    holders.push(k);
                }
            }
        }
    }
    /// A candidate, its commonness and the keywords holding it.
    type Ranked<'a> = (&'a [u8], (u32, u32), Vec<usize>);
    let ranked: Vec<Ranked> = candidates
        .into_iter()
        .map(|(s, holders)| (s, commonness(s), holders))
        .collect();
    let mut covered = vec![false; keywords.len()];
    let mut out: Vec<Anchor> = vec![];
    for first in 0..keywords.len() {
        while !covered[first] {
            let best = ranked
                .iter()
                .filter_map(|(s, (listed, bytes), holders)| {
                    let cover = holders.iter().filter(|&&k| !covered[k]).count();
                    let score: Score =
                        (usize::MAX - cover, *listed, *bytes, usize::MAX - s.len(), s);
                    (cover > 0).then_some(score)
                })
                .min();
            let literal = match best {
                Some((.., s)) => s.to_vec(),
                None => keywords[first].clone(),
            };
            let mut served = vec![];
            for (u, kw) in keywords.iter().enumerate() {
                if covered[u] {
                    continue;
                }
                if let Some(off) = find(kw, &literal) {
                    served.push((u, off));
                    covered[u] = true;
                }
            }
            match out.iter_mut().find(|a| a.literal == literal) {
                Some(a) => a.keywords.extend(served),
                None => out.push(Anchor {
                    literal,
                    keywords: served,
                }),
            }
        }
    }
    merge_prefixes(&mut out);
    teddy_order(out)
}

/// An anchor that starts with another anchor is served by the shorter one: both match at the
/// same start, where a leftmost-first search reports only one of them, so the keywords of the
/// other would go unchecked there.
fn merge_prefixes(anchors: &mut Vec<Anchor>) {
    let mut i = 0;
    while i < anchors.len() {
        let shorter = (0..anchors.len()).find(|&j| {
            j != i
                && anchors[j].literal.len() < anchors[i].literal.len()
                && anchors[i].literal.starts_with(&anchors[j].literal)
        });
        match shorter {
            Some(j) => {
                let longer = anchors.remove(i);
                let j = if j > i { j - 1 } else { j };
                anchors[j].keywords.extend(longer.keywords);
                i = 0;
            }
            None => i += 1,
        }
    }
}

/// Teddy's buckets: the packed searcher puts pattern `id` in bucket `7 - id % 8` (of eight),
/// unless an earlier pattern's first three bytes have the same low nybbles (then it joins that
/// pattern's bucket), and reports a candidate wherever a window's bytes match the union of the
/// nibbles of a bucket's patterns, position by position. With 9 to 16 such groups, some share a
/// bucket; a pair such as `TERABLE` and `AQE` then also admits `AAE`, which source-map mappings
/// are full of, and halves the search's speed. So the pairs are chosen (greedily, least added
/// cost first) by an estimate of how often a bucket admits a window: its bytes' frequencies, as
/// if independent, plus a charge for each common trigram it admits; the order then puts each
/// pair's first patterns at ids `j` and `j + 8`, and the rest of each group after all of those
/// (where they join their group's bucket). Returns the literals' indices in search order. Only
/// speed depends on this, never what is found.
pub fn teddy_order_of(literals: &[&[u8]]) -> Vec<usize> {
    const BUCKETS: usize = 8;
    if literals.iter().any(|l| l.len() < 3) {
        return (0..literals.len()).collect();
    }
    let mut groups: Vec<Vec<usize>> = vec![];
    for (i, l) in literals.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| nybbles(literals[g[0]]) == nybbles(l))
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let n = groups.len();
    if n > 2 * BUCKETS {
        return (0..literals.len()).collect();
    }
    let members = |k: usize| groups[k].iter().map(|&i| literals[i]);
    let single: Vec<f64> = (0..n)
        .map(|k| admits(&members(k).collect::<Vec<_>>()))
        .collect();
    let mut free: Vec<usize> = (0..n).collect();
    let mut pairs = vec![];
    for _ in 0..n.saturating_sub(BUCKETS) {
        let mut best: Option<(f64, usize, usize)> = None;
        for (x, &a) in free.iter().enumerate() {
            for &b in &free[x + 1..] {
                let both: Vec<&[u8]> = members(a).chain(members(b)).collect();
                let added = admits(&both) - single[a] - single[b];
                if best.is_none_or(|(c, ..)| added < c) {
                    best = Some((added, a, b));
                }
            }
        }
        let Some((_, a, b)) = best else { break };
        free.retain(|&k| k != a && k != b);
        pairs.push((a, b));
    }
    // Each group's first pattern decides its bucket: those first, then the rest of each group.
    let mut leaders: Vec<Option<usize>> = vec![None; n];
    for (j, &(a, b)) in pairs.iter().enumerate() {
        leaders[j] = Some(a);
        leaders[j + BUCKETS] = Some(b);
    }
    for (slot, k) in (pairs.len()..).zip(free) {
        leaders[slot] = Some(k);
    }
    let leaders: Vec<usize> = leaders.into_iter().flatten().collect();
    let mut order: Vec<usize> = leaders.iter().map(|&k| groups[k][0]).collect();
    order.extend(leaders.iter().flat_map(|&k| groups[k][1..].iter().copied()));
    order
}

/// What Teddy groups a literal (3 bytes or more) by: the low nybbles of its first three bytes.
fn nybbles(l: &[u8]) -> [u8; 3] {
    [l[0] & 0xF, l[1] & 0xF, l[2] & 0xF]
}

/// The detectors' anchors in [`teddy_order_of`]'s order.
fn teddy_order(anchors: Vec<Anchor>) -> Vec<Anchor> {
    let literals: Vec<&[u8]> = anchors.iter().map(|a| a.literal.as_slice()).collect();
    let order = teddy_order_of(&literals);
    let mut slots: Vec<Option<Anchor>> = anchors.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Which of a known key's windows (4-byte literals, `known.rs`) to search for beside the
/// literals already `searched` in the same pass: one whose first three bytes a searched literal
/// starts with costs Teddy nothing (it lands in that literal's bucket, whose nibbles it does
/// not widen), else the one admitting the fewest windows by the estimate (see [`admits`]).
/// Deterministic; only speed depends on it, never what is found.
pub fn pick_window(windows: &[&[u8]], searched: &[Vec<u8>]) -> usize {
    let cost = |w: &[u8]| match w.get(..3) {
        Some(t) if !searched.iter().any(|l| l.starts_with(t)) => admits(&[w]),
        _ => 0.0,
    };
    let mut best = (f64::INFINITY, 0);
    for (i, w) in windows.iter().enumerate() {
        let c = cost(w);
        if c < best.0 {
            best = (c, i);
        }
    }
    best.1
}

/// The estimated share of windows a bucket holding `literals` admits (see [`teddy_order`]).
fn admits(literals: &[&[u8]]) -> f64 {
    let fits = |i: usize, b: u8| {
        literals.iter().any(|l| l[i] & 0xF == b & 0xF)
            && literals.iter().any(|l| l[i] >> 4 == b >> 4)
    };
    let independent: f64 = (0..3)
        .map(|i| {
            (0..=255u8)
                .filter(|&b| fits(i, b))
                .map(|b| (f64::from(BYTE_RANK[b as usize]) / 16.0).exp2() - 1.0)
                .sum::<f64>()
                / 1e6
        })
        .product();
    let common: f64 = COMMON_TRIGRAMS
        .iter()
        .enumerate()
        .filter(|(_, t)| (0..3).all(|i| fits(i, t[i])))
        .map(|(rank, _)| 1e-3 / (rank as f64 + 8.0))
        .sum();
    independent + common
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How common a literal's first trigram is: whether it is among the most common trigrams
/// (1) or not (0), then the sum of its bytes' ranks.
fn commonness(s: &[u8]) -> (u32, u32) {
    let t = &s[..s.len().min(3)];
    let listed = u32::from(COMMON_TRIGRAMS.iter().any(|c| c.as_slice() == t));
    (
        listed,
        t.iter().map(|&b| u32::from(BYTE_RANK[b as usize])).sum(),
    )
}

/// Byte commonness, 0 (never seen) to 255 (most common): 16 × log2(1 + occurrences per
/// million bytes).
#[rustfmt::skip]
const BYTE_RANK: [u8; 256] = [
    0, 5, 3, 13, 32, 23, 1, 3, 0, 197, 221, 0, 0, 14, 20, 1,
    1, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    255, 165, 209, 144, 156, 108, 173, 184, 216, 216, 193, 179, 234, 190, 220, 196,
    213, 199, 196, 193, 195, 182, 181, 176, 181, 176, 196, 214, 158, 214, 187, 158,
    155, 242, 200, 220, 188, 209, 181, 190, 169, 206, 153, 180, 184, 195, 184, 189,
    181, 182, 185, 196, 191, 177, 166, 170, 145, 165, 139, 185, 215, 185, 105, 199,
    162, 240, 208, 228, 226, 255, 216, 215, 219, 241, 173, 193, 229, 216, 245, 240,
    220, 164, 242, 238, 248, 229, 199, 196, 194, 202, 165, 199, 178, 199, 76, 16,
    89, 74, 73, 76, 63, 68, 71, 68, 77, 60, 67, 62, 58, 71, 41, 56,
    45, 43, 46, 42, 62, 63, 48, 55, 51, 63, 42, 47, 61, 48, 57, 60,
    51, 62, 41, 47, 96, 74, 77, 79, 78, 67, 73, 62, 59, 52, 72, 66,
    88, 74, 73, 71, 78, 98, 57, 55, 81, 63, 74, 56, 66, 79, 75, 65,
    0, 0, 48, 82, 52, 49, 4, 2, 1, 84, 8, 12, 35, 1, 55, 43,
    108, 96, 29, 26, 1, 57, 29, 57, 100, 95, 38, 52, 0, 0, 52, 0,
    124, 86, 94, 36, 39, 47, 57, 11, 2, 18, 5, 10, 27, 7, 0, 39,
    32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// The 256 most common printable trigrams, most common first.
#[rustfmt::skip]
const COMMON_TRIGRAMS: [&[u8; 3]; 256] = [
    b"   ", b"\\n ", b"ion", b" = ", b"tio", b"n  ", b",CA", b" th",
    b"CAA", b"his", b"AAC", b"thi", b"ent", b"\\u0", b"is.", b"ons",
    b"con", b" re", b",EA", b"AC,", b"tur", b"  }", b" * ", b"nst",
    b"ing", b"etu", b") {", b"urn", b"ret", b"he ", b"EAA", b"the",
    b" co", b"u04", b"AAA", b"ode", b"ate", b"cti", b"st ", b",GA",
    b"rn ", b";\\n", b"ter", b"IAA", b",IA", b"---", b"ect", b"on ",
    b"GAA", b"  c", b"rea", b"ati", b"AAE", b"get", b"AAI", b"tor",
    b"nde", b"043", b"men", b"ine", b"tri", b"ext", b"if ", b"\",\"",
    b"  r", b"ype", b" in", b"ame", b"res", b"der", b"for", b"AAG",
    b"unc", b"f (", b"sta", b"se ", b"ren", b"ont", b" if", b"ed ",
    b"er ", b"nct", b"  i", b"nte", b"AI,", b"str", b"alu", b"  t",
    b"lue", b"end", b"or ", b"fun", b"AG,", b"ort", b"s._", b",MA",
    b"AAM", b"MAA", b"AE,", b"val", b"par", b"ase", b"por", b"per",
    b"n *", b"== ", b",KA", b"===", b"AAK", b">>2", b"typ", b"tat",
    b"nce", b">2]", b"new", b"et ", b"set", b"KAA", b"of ", b"ble",
    b" to", b"ind", b"rin", b"ang", b"\\n\\", b"ess", b"ull", b"if(",
    b"ist", b"C,C", b"{\\n", b"rat", b"e =", b" {\\", b" st", b"  \"",
    b" ne", b"AA,", b"omp", b"int", b"AAO", b"ice", b"lin", b"ara",
    b"ver", b"pro", b"\\u3", b"u30", b"rom", b"let", b"ers", b"com",
    b"ew ", b",OA", b"est", b"* @", b"is ", b"age", b"  *", b"nul",
    b"dat", b"ber", b" de", b" is", b");\\", b"ted", b"es ", b"pre",
    b"tex", b"pti", b" ca", b" va", b"OAA", b"tar", b"ng ", b" pr",
    b"ser", b" of", b"// ", b"nse", b"ens", b" an", b"abl", b"ten",
    b"  /", b"ata", b"to ", b"eme", b"und", b"rt ", b"and", b" no",
    b" */", b" fo", b"ele", b"n\\n", b" nu", b"n t", b"jec", b"iti",
    b"exp", b"ert", b"art", b"orm", b"igh", b"nge", b"AM,", b"ult",
    b"eak", b"nam", b"044", b"eng", b"Pro", b"mbe", b" ==", b"nt ",
    b"Con", b"ope", b"len", b"ram", b"e, ", b"ngt", b"}\\n", b"bre",
    b"gth", b"ar ", b"EAC", b"are", b"var", b",\\n", b"all", b"ack",
    b"cen", b"Nod", b"lse", b"che", b"I,C", b"BAA", b"act", b" );",
    b"umb", b"cal", b"le ", b"in ", b"ght", b"rro", b"mpo", b"dit",
    b"= t", b" \\u", b"er.", b" a ", b"mat", b";IA", b"def", b"fer",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn kws(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|k| k.as_bytes().to_vec()).collect()
    }

    #[test]
    fn every_keyword_is_served_once_at_the_anchor_offset() {
        let k = kws(&[
            "live_",
            "sk_live_",
            "rk_live_",
            "pk_live_",
            "production_",
            "sk_prod_",
            "shpat_",
            "shpca_",
            "iterable",
            "Iterable",
            "AQE",
            "access_token$",
        ]);
        let anchors = choose(&k);
        let mut seen = vec![0; k.len()];
        for a in &anchors {
            for &(i, off) in &a.keywords {
                assert_eq!(&k[i][off..off + a.literal.len()], a.literal.as_slice());
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        // Shared anchors: far fewer patterns than keywords.
        assert!(anchors.len() <= 7, "{anchors:?}");
        // Common trigrams are avoided: no anchor starts with `pro`, `ite` or `acc`.
        for a in &anchors {
            assert!(
                !COMMON_TRIGRAMS
                    .iter()
                    .any(|c| a.literal.starts_with(c.as_slice())),
                "{a:?}"
            );
        }
    }

    #[test]
    fn large_rule_sets_are_covered() {
        let k: Vec<Vec<u8>> = (0..400u32)
            .map(|i| format!("vendor{i:03}_token_{}", i * 7919 % 1000).into_bytes())
            .collect();
        let anchors = choose(&k);
        let served: usize = anchors.iter().map(|a| a.keywords.len()).sum();
        assert_eq!(served, k.len());
        assert!(anchors.iter().all(|a| a.literal.len() <= MAX_ANCHOR));
    }

    #[test]
    fn an_anchor_that_starts_with_another_is_served_by_it() {
        let mut a = vec![
            Anchor {
                literal: b"oken".to_vec(),
                keywords: vec![(0, 1)],
            },
            Anchor {
                literal: b"oke".to_vec(),
                keywords: vec![(1, 2)],
            },
        ];
        merge_prefixes(&mut a);
        assert_eq!(
            a,
            vec![Anchor {
                literal: b"oke".to_vec(),
                keywords: vec![(1, 2), (0, 1)],
            }]
        );
    }

    /// A known key's window starting like a searched literal is free; otherwise the rarer one
    /// is chosen (a hex tail admits far more of a bundle than uppercase and `=`).
    #[test]
    fn known_windows_share_searched_trigrams_or_are_rare() {
        let searched = kws(&["shp", "ve_", "AQE"]);
        let windows: [&[u8]; 4] = [b"hpat", b"pat_", b"0886", b"shpa"];
        assert_eq!(pick_window(&windows, &searched), 3);
        assert_eq!(pick_window(&[b"0886", b"QZ=X"], &[]), 1);
        assert!(admits(&[b"0886"]) > admits(&[b"QZ=X"]));
        assert_eq!(pick_window(&[b"0886"], &searched), 0);
    }

    /// The built-in keywords need 12 anchors for Teddy's 8 buckets: the 4 pairs sharing one
    /// admit no common trigram (`TERABLE` with `AQE` would admit `AAE`).
    #[test]
    fn shared_teddy_buckets_admit_no_common_trigram() {
        let k = kws(&[
            "AQE",
            "live_",
            "test_",
            "sandbox_",
            "production_",
            "access_token$",
            "braintree",
            "Braintree",
            "BRAINTREE",
            "iterable",
            "Iterable",
            "ITERABLE",
            "shpat_",
            "shpca_",
            "sk_live_",
            "sk_test_",
            "sk_prod_",
            "whsec_",
        ]);
        let anchors = choose(&k);
        assert!((9..=16).contains(&anchors.len()), "{anchors:?}");
        assert!(admits(&[b"TERABLE", b"AQE"]) > admits(&[b"TERABLE"]) + admits(&[b"AQE"]));
        for j in 0..anchors.len() - 8 {
            let pair = [&anchors[j].literal[..3], &anchors[j + 8].literal[..3]];
            for t in COMMON_TRIGRAMS {
                let fits = |i: usize| {
                    pair.iter().any(|l| l[i] & 0xF == t[i] & 0xF)
                        && pair.iter().any(|l| l[i] >> 4 == t[i] >> 4)
                };
                assert!(!(0..3).all(fits), "{pair:?} admit {t:?}");
            }
        }
        // Every keyword still served once, whatever the order.
        let served: usize = anchors.iter().map(|a| a.keywords.len()).sum();
        assert_eq!(served, k.len());
    }

    /// Teddy's bucket for each pattern of a search in this order (see [`teddy_order_of`]), and
    /// the estimated share of windows all buckets together admit.
    fn buckets(order: &[&[u8]]) -> (Vec<usize>, f64) {
        let mut by_nybbles: std::collections::HashMap<[u8; 3], usize> = Default::default();
        let bucket: Vec<usize> = order
            .iter()
            .enumerate()
            .map(|(id, l)| *by_nybbles.entry(nybbles(l)).or_insert(7 - id % 8))
            .collect();
        let cost = (0..8)
            .map(|b| {
                let held: Vec<&[u8]> = (0..order.len())
                    .filter(|&i| bucket[i] == b)
                    .map(|i| order[i])
                    .collect();
                if held.is_empty() { 0.0 } else { admits(&held) }
            })
            .sum();
        (bucket, cost)
    }

    /// The detectors' anchors and the bench inventory's key anchors (`scan --inventory`): three
    /// new trigrams (`agE`, `088`, `k_l`) and five that join a detector anchor's bucket. Searched
    /// in the joint order they are a permutation of the literals, at most two groups share a
    /// bucket, and the buckets admit fewer windows than with the keys' anchors appended after the
    /// detectors' (where `k_l` shared the bucket of `st_` and `ox_`, admitting `cto`).
    #[test]
    fn joint_order_shares_buckets_better_than_appending() {
        let detectors: [&[u8]; 12] = [
            b"rable",
            b"NTREE",
            b"shp",
            b"st_",
            b"ve_",
            b"rod",
            b"AQE",
            b"en$",
            b"raintree",
            b"TERABLE",
            b"whsec_",
            b"ox_",
        ];
        let keys: [&[u8]; 8] = [
            b"agE=", b"0886", b"shpa", b"shpp", b"shps", b"shpc", b"whse", b"k_li",
        ];
        let appended: Vec<&[u8]> = detectors.iter().chain(&keys).copied().collect();
        let order = teddy_order_of(&appended);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..appended.len()).collect::<Vec<_>>());
        let joint: Vec<&[u8]> = order.iter().map(|&i| appended[i]).collect();
        let (bucket, cost) = buckets(&joint);
        for b in 0..8 {
            let mut groups: Vec<[u8; 3]> = (0..joint.len())
                .filter(|&i| bucket[i] == b)
                .map(|i| nybbles(joint[i]))
                .collect();
            groups.sort_unstable();
            groups.dedup();
            assert!(groups.len() <= 2, "bucket {b}: {groups:?}");
        }
        let (_, before) = buckets(&appended);
        assert!(cost < before, "{cost} >= {before}");
        // The five joiners sit in their detector anchor's bucket.
        let at = |l: &[u8]| bucket[joint.iter().position(|x| *x == l).expect("listed")];
        for (key, anchor) in [
            (&b"shpa"[..], &b"shp"[..]),
            (b"shpc", b"shp"),
            (b"whse", b"whsec_"),
        ] {
            assert_eq!(at(key), at(anchor));
        }
    }

    #[test]
    fn choice_is_deterministic_and_short_keywords_stand_alone() {
        let k = kws(&["ab", "shpss_", "whsec_"]);
        assert_eq!(choose(&k), choose(&k));
        assert!(choose(&k).iter().any(|a| a.literal == b"ab"));
    }
}
