//! The detector engine: one Aho-Corasick keyword prefilter, then each candidate rule's regex on
//! a window around the keyword hits.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use super::rules::{EnvSpec, Rule, RuleError, entropy, env_from_capture};
use crate::inventory::model::Environment;
use crate::run::Confidence;

/// All rules plus the shared prefilter. Built once per run; shared across threads.
#[derive(Debug)]
pub struct Detectors {
    pub rules: Vec<Rule>,
    /// Searches the anchors (see `anchors.rs`), not the keywords themselves.
    ac: AhoCorasick,
    /// Per anchor: the keywords it serves (index, anchor offset inside the keyword).
    served: Vec<Vec<(usize, usize)>>,
    /// The distinct keywords.
    keywords: Vec<Vec<u8>>,
    /// Rule indexes per keyword.
    by_pattern: Vec<Vec<usize>>,
}

/// One match of one rule in a buffer (byte offsets into that buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub environment: Option<Environment>,
    pub confidence: Confidence,
}

/// How far a window is widened to reach a token boundary.
const BOUNDARY_SLACK: usize = 256;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Detectors {
    /// Builds the prefilter over every rule's keywords.
    pub fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        let mut patterns: Vec<String> = vec![];
        let mut by_pattern: Vec<Vec<usize>> = vec![];
        for (i, r) in rules.iter().enumerate() {
            for k in &r.keywords {
                match patterns.iter().position(|p| p == k) {
                    Some(j) => by_pattern[j].push(i),
                    None => {
                        patterns.push(k.clone());
                        by_pattern.push(vec![i]);
                    }
                }
            }
        }
        let keywords: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
        let anchors = super::anchors::choose(&keywords);
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(anchors.iter().map(|a| &a.literal))
            .map_err(|e| RuleError {
                origin: "detectors".into(),
                message: format!("cannot build keyword prefilter: {e}"),
            })?;
        Ok(Detectors {
            rules,
            ac,
            served: anchors.into_iter().map(|a| a.keywords).collect(),
            keywords,
            by_pattern,
        })
    }

    /// The built-in rules plus optional user rule files.
    pub fn load(extra: &[std::path::PathBuf]) -> Result<Self, RuleError> {
        let mut rules = super::rules::builtin()?;
        for p in extra {
            let mut more = super::rules::load_file(p)?;
            for r in &more {
                if rules.iter().any(|x| x.id == r.id) {
                    return Err(RuleError {
                        origin: p.display().to_string(),
                        message: format!("rule `{}` is already defined", r.id),
                    });
                }
            }
            rules.append(&mut more);
        }
        Self::new(rules)
    }

    /// Every keyword occurrence as (keyword, start), lazily: each anchor occurrence (the
    /// search restarts one byte after each, so overlapping ones are seen) checked against the
    /// keywords it serves. In anchor order; a keyword starts before its anchor.
    fn keyword_hits<'h>(&'h self, hay: &'h [u8]) -> impl Iterator<Item = (usize, usize)> + 'h {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let m = self
                .ac
                .find(aho_corasick::Input::new(hay).span(pos..hay.len()))?;
            pos = m.start() + 1;
            Some(m)
        })
        .flat_map(move |m| {
            self.served[m.pattern().as_usize()]
                .iter()
                .filter_map(move |&(k, off)| {
                    let s = m.start().checked_sub(off)?;
                    let kw = &self.keywords[k];
                    (hay.get(s..s + kw.len()) == Some(kw.as_slice())).then_some((k, s))
                })
        })
    }

    /// Every rule match in `hay`, sorted by start, one per span.
    pub fn find(&self, hay: &[u8]) -> Vec<RawHit> {
        let mut pending: Vec<Option<(usize, usize)>> = vec![None; self.rules.len()];
        let mut hits = vec![];
        let mut found: Vec<(usize, usize)> = self.keyword_hits(hay).collect();
        found.sort_unstable_by_key(|&(k, s)| (s, k));
        for (k, start) in found {
            let end = start + self.keywords[k].len();
            for &ri in &self.by_pattern[k] {
                let r = &self.rules[ri];
                let s = start.saturating_sub(r.before);
                let e = (end + r.after).min(hay.len());
                match &mut pending[ri] {
                    Some((_, pe)) if s <= *pe => *pe = (*pe).max(e),
                    slot => {
                        if let Some((ps, pe)) = slot.take() {
                            self.run_rule(ri, hay, ps, pe, &mut hits);
                        }
                        *slot = Some((s, e));
                    }
                }
            }
        }
        for (ri, p) in pending.into_iter().enumerate() {
            if let Some((s, e)) = p {
                self.run_rule(ri, hay, s, e, &mut hits);
            }
        }
        hits.sort_by_key(|h| (h.start, h.rule));
        hits.dedup_by(|b, a| a.start == b.start && a.end == b.end);
        hits
    }

    fn run_rule(&self, ri: usize, hay: &[u8], mut s: usize, mut e: usize, out: &mut Vec<RawHit>) {
        let r = &self.rules[ri];
        let floor = s.saturating_sub(BOUNDARY_SLACK);
        while s > floor && is_word(hay[s - 1]) {
            s -= 1;
        }
        let ceil = (e + BOUNDARY_SLACK).min(hay.len());
        while e < ceil && is_word(hay[e]) {
            e += 1;
        }
        let window = &hay[s..e];
        for caps in r.regex.captures_iter(window) {
            let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
                continue;
            };
            let secret = m.as_bytes();
            if secret.is_empty() || entropy(secret) < r.min_entropy {
                continue;
            }
            if let Ok(text) = std::str::from_utf8(secret) {
                if r.placeholders.iter().any(|p| p.is_match(text)) {
                    continue;
                }
            } else {
                continue;
            }
            let (abs_s, abs_e) = (s + m.start(), s + m.end());
            let mut confidence = r.confidence;
            if let Some((cre, before, after)) = &r.context {
                let cs = abs_s.saturating_sub(*before);
                let ce = (abs_e + after).min(hay.len());
                let found = cre.is_match(&hay[cs..ce]);
                if !found && r.context_required {
                    continue;
                }
                if found {
                    confidence = Confidence::High;
                }
            }
            let environment = match r.environment {
                Some(EnvSpec::Live) => Some(Environment::Live),
                Some(EnvSpec::Test) => Some(Environment::Test),
                Some(EnvSpec::Captured) => caps
                    .name("env")
                    .and_then(|g| env_from_capture(g.as_bytes())),
                None => None,
            };
            out.push(RawHit {
                rule: ri,
                start: abs_s,
                end: abs_e,
                environment,
                confidence,
            });
        }
    }

    /// A matcher for the output filter: byte ranges of anything a rule matches.
    pub fn matcher(self: &Arc<Self>) -> crate::guard::Matcher {
        let d = Arc::clone(self);
        Arc::new(move |text: &str| {
            d.find(text.as_bytes())
                .into_iter()
                .map(|h| h.start..h.end)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The anchored prefilter reports exactly the keyword occurrences a naive search finds,
    /// overlapping ones included (`sk_live_` also holds `live_`).
    #[test]
    fn anchored_prefilter_finds_every_keyword_occurrence() {
        let d = Detectors::load(&[]).expect("builtin rules");
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut pieces: Vec<Vec<u8>> = d.keywords.clone();
        for k in &d.keywords {
            pieces.push(k[..k.len() / 2].to_vec());
            pieces.push(k[k.len() / 2..].to_vec());
        }
        pieces.extend([b"x".to_vec(), b"_".to_vec(), b"s".to_vec(), b"k".to_vec()]);
        for _ in 0..200 {
            let mut hay = vec![];
            for _ in 0..next(60) {
                hay.extend_from_slice(&pieces[next(pieces.len())]);
            }
            let mut want: Vec<(usize, usize)> = vec![];
            for (k, kw) in d.keywords.iter().enumerate() {
                for s in 0..hay.len().saturating_sub(kw.len() - 1) {
                    if &hay[s..s + kw.len()] == kw.as_slice() {
                        want.push((k, s));
                    }
                }
            }
            let mut got: Vec<(usize, usize)> = d.keyword_hits(&hay).collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&hay));
            assert_eq!(d.keyword_hits(&hay).next().is_some(), !want.is_empty());
        }
    }

    #[test]
    fn rule_examples_match_and_negatives_do_not() {
        let d = Detectors::load(&[]).expect("builtin rules");
        assert!(d.rules.len() >= 15);
        for (i, r) in d.rules.iter().enumerate() {
            assert!(!r.examples.is_empty(), "{} has no examples", r.id);
            for ex in &r.examples {
                let hits = d.find(ex.as_bytes());
                assert!(
                    hits.iter().any(|h| h.rule == i),
                    "{}: example not matched: {ex}",
                    r.id
                );
            }
            for ex in &r.negative_examples {
                let hits = d.find(ex.as_bytes());
                assert!(
                    !hits.iter().any(|h| h.rule == i),
                    "{}: negative example matched: {ex}",
                    r.id
                );
            }
        }
    }

    #[test]
    fn environment_is_captured() {
        let d = Detectors::load(&[]).expect("builtin rules");
        let h = d.find(b"k=sk_test_ISjs8JHUdKF0j7elKPoh3pKM;");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].environment, Some(Environment::Test));
        assert_eq!(
            &b"k=sk_test_ISjs8JHUdKF0j7elKPoh3pKM;"[h[0].start..h[0].end],
            b"sk_test_ISjs8JHUdKF0j7elKPoh3pKM"
        );
    }

    #[test]
    fn bad_user_rule_is_located() {
        let e = super::super::rules::parse("user.yaml", "rules:\n  - id: x\n    vendor: v\n    credential_type: t\n    regex: '('\n    keywords: [abc]\n    public_by_design: false\n    confidence: high\n").expect_err("bad regex");
        assert!(e.to_string().contains("user.yaml"), "{e}");
        assert!(e.to_string().contains("rule `x`"), "{e}");
    }
}
