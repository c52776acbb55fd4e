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
    ac: AhoCorasick,
    /// Rule indexes per prefilter pattern.
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
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .map_err(|e| RuleError {
                origin: "detectors".into(),
                message: format!("cannot build keyword prefilter: {e}"),
            })?;
        Ok(Detectors {
            rules,
            ac,
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

    /// Whether any keyword occurs in `hay` (cheap check before decoding work).
    pub fn any_keyword(&self, hay: &[u8]) -> bool {
        self.ac.is_match(hay)
    }

    /// Every rule match in `hay`, sorted by start, one per span.
    pub fn find(&self, hay: &[u8]) -> Vec<RawHit> {
        let mut pending: Vec<Option<(usize, usize)>> = vec![None; self.rules.len()];
        let mut hits = vec![];
        for m in self.ac.find_iter(hay) {
            for &ri in &self.by_pattern[m.pattern().as_usize()] {
                let r = &self.rules[ri];
                let s = m.start().saturating_sub(r.before);
                let e = (m.end() + r.after).min(hay.len());
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
    pub fn matcher(self: &Arc<Self>) -> crate::report::filter::Matcher {
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
