//! The detector engine: one Aho-Corasick keyword prefilter, then each candidate rule's regex on
//! a window around the keyword hits.

use std::sync::Arc;

use super::rules::{EnvSpec, Rule, RuleError, entropy, env_from_capture};
use crate::inventory::model::Environment;
use crate::run::Confidence;

/// All rules plus the shared prefilter. Built once per run; shared across threads.
#[derive(Debug)]
pub struct Detectors {
    pub rules: Vec<Rule>,
    /// Searches the anchors (see `anchors.rs`), not the keywords themselves.
    search: super::anchors::Search,
    /// The anchors' literals, in pattern order.
    anchors: Vec<Vec<u8>>,
    /// Per anchor: the keywords it serves (index, anchor offset inside the keyword).
    served: Vec<Vec<(usize, usize)>>,
    /// The distinct keywords.
    keywords: Vec<Vec<u8>>,
    /// Rule indexes per keyword.
    by_pattern: Vec<Vec<usize>>,
    /// The index of the rule known-value hits are reported under (the last rule: it has no
    /// keyword and no regex; see `known.rs`).
    pub known_rule: usize,
}

/// The id of the rule under which known-value hits are reported.
pub const KNOWN_RULE_ID: &str = "inventory.known_value";

/// One match of one rule in a buffer (byte offsets into that buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub environment: Option<Environment>,
    pub confidence: Confidence,
    /// For a known-value hit (rule [`Detectors::known_rule`]): the known key's index.
    pub known: Option<usize>,
}

/// How far a window is widened to reach a token boundary.
const BOUNDARY_SLACK: usize = 256;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Detectors {
    /// Builds the prefilter over every rule's keywords.
    pub fn new(mut rules: Vec<Rule>) -> Result<Self, RuleError> {
        if let Some(r) = rules.iter().find(|r| r.id == KNOWN_RULE_ID) {
            return Err(RuleError {
                origin: "detectors".into(),
                message: format!("rule id `{}` is reserved for the known-value search", r.id),
            });
        }
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
        let (anchors, served): (Vec<Vec<u8>>, _) =
            anchors.into_iter().map(|a| (a.literal, a.keywords)).unzip();
        let search = super::anchors::Search::new(&anchors).map_err(|e| RuleError {
            origin: "detectors".into(),
            message: format!("cannot build keyword prefilter: {e}"),
        })?;
        rules.push(Rule::known_value(KNOWN_RULE_ID));
        Ok(Detectors {
            known_rule: rules.len() - 1,
            rules,
            search,
            served,
            anchors,
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

    /// The keyword occurrences, as (keyword, start), whose anchors start in `*from..end`:
    /// each anchor occurrence (the search restarts one byte after each, so overlapping ones
    /// are seen) checked against the keywords it serves. In anchor order; a keyword starts
    /// before its anchor. `*from` moves to `end`, where the next call goes on, so a caller can
    /// read a text in blocks, each block searched while it is in cache ([`Self::find`] reads
    /// it whole).
    pub fn keywords_upto(
        &self,
        hay: &[u8],
        from: &mut usize,
        end: usize,
        out: &mut Vec<(usize, usize)>,
    ) {
        self.search.upto(hay, from, end, |anchor, at, _| {
            self.keywords_at(hay, anchor, at, out)
        });
    }

    /// The anchors' literals, in pattern order (a joined search, `joined.rs`, searches them
    /// with others).
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// The keywords anchor `anchor` serves that occur around its occurrence at `at`, pushed
    /// as (keyword, start).
    #[inline]
    pub fn keywords_at(&self, hay: &[u8], anchor: usize, at: usize, out: &mut Vec<(usize, usize)>) {
        for &(k, off) in &self.served[anchor] {
            let Some(s) = at.checked_sub(off) else {
                continue;
            };
            let kw = &self.keywords[k];
            if hay.get(s..s + kw.len()) == Some(kw.as_slice()) {
                out.push((k, s));
            }
        }
    }

    /// Every rule match in `hay`, sorted by start, one per span.
    pub fn find(&self, hay: &[u8]) -> Vec<RawHit> {
        let mut found = vec![];
        self.keywords_upto(hay, &mut 0, hay.len(), &mut found);
        self.find_keywords(hay, found)
    }

    /// [`Self::find`] from the keyword occurrences [`Self::keywords_upto`] found in all of
    /// `hay`.
    pub fn find_keywords(&self, hay: &[u8], mut found: Vec<(usize, usize)>) -> Vec<RawHit> {
        let mut pending: Vec<Option<(usize, usize)>> = vec![None; self.rules.len()];
        let mut hits = vec![];
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
            let text = std::str::from_utf8(secret).unwrap_or_default();
            if r.excluded(text, hay, abs_s, abs_e)
                || r.decoded_body.as_ref().is_some_and(|re| {
                    !super::rules::decoded_body(text).is_some_and(|b| re.is_match(&b))
                })
            {
                continue;
            }
            let mut confidence = r.base_confidence(text);
            if let Some((cre, before, after)) = &r.context {
                let cs = abs_s.saturating_sub(*before);
                let ce = (abs_e + after).min(hay.len());
                let found = cre.is_match(&hay[cs..ce]);
                if !found && r.context_required {
                    continue;
                }
                // Low-confidence rules (keys of unknown issuers) stay low.
                if found && r.confidence != Confidence::Low {
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
                known: None,
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
        let mut rng = crate::testing::Rng::new(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
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
            want.sort_unstable();
            let mut got = vec![];
            d.keywords_upto(&hay, &mut 0, hay.len(), &mut got);
            got.sort_unstable();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&hay));
            // Read in blocks of every size, the same occurrences.
            let block = 1 + next(40);
            let (mut from, mut end, mut blocks) = (0, 0, vec![]);
            while end < hay.len() {
                end = (end + block).min(hay.len());
                d.keywords_upto(&hay, &mut from, end, &mut blocks);
            }
            blocks.sort_unstable();
            assert_eq!(
                blocks,
                want,
                "blocks of {block}: {}",
                String::from_utf8_lossy(&hay)
            );
        }
    }

    #[test]
    fn rule_examples_match_and_negatives_do_not() {
        let d = Detectors::load(&[]).expect("builtin rules");
        assert!(d.rules.len() >= 15);
        for (i, r) in d
            .rules
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != d.known_rule)
        {
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

/// Keys of other issuers with Stripe's prefixes (Clerk, WorkOS) are never reported as
/// Stripe's but as unknown credentials at low confidence; Stripe's own shapes stay Stripe's,
/// next to Clerk configuration too.
#[cfg(test)]
mod lookalikes {
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;

    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    fn detectors() -> &'static Detectors {
        static D: std::sync::OnceLock<Detectors> = std::sync::OnceLock::new();
        D.get_or_init(|| Detectors::load(&[]).expect("builtin rules"))
    }

    fn alnum(picks: &[u8]) -> String {
        picks
            .iter()
            .map(|&i| ALNUM[i as usize % ALNUM.len()] as char)
            .collect()
    }

    /// (vendor, confidence) of the hits on exactly `value` in `text`.
    fn found(text: &str, value: &str) -> Vec<(String, Confidence)> {
        let d = detectors();
        let at = text.find(value).expect("planted");
        d.find(text.as_bytes())
            .into_iter()
            .filter(|h| h.start == at && h.end == at + value.len())
            .map(|h| (d.rules[h.rule].vendor.clone(), h.confidence))
            .collect()
    }

    fn env() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("live"), Just("test")]
    }

    fn around() -> impl Strategy<Value = (&'static str, &'static str)> {
        prop_oneof![
            Just(("const k = \"", "\";")),
            Just(("KEY=", "\n")),
            Just(("{\"apiKey\": \"", "\"}")),
            Just(("headers:{Authorization:`Bearer ", "`}")),
        ]
    }

    /// Not rejected as low-entropy or a placeholder (`your`, `example`, `xxxxxxxx`, …).
    fn plausible(key: &str) -> bool {
        let l = key.to_ascii_lowercase();
        crate::exposure::rules::entropy(key.as_bytes()) >= 3.0
            && !["your", "example", "xxxxxxxx", "1234567890"]
                .iter()
                .any(|p| l.contains(p))
    }

    fn unknown_low(hits: &[(String, Confidence)]) -> bool {
        hits.len() == 1 && hits[0] == ("unknown".to_string(), Confidence::Low)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn workos_keys_are_unknown(env in env(), ulid in prop::collection::vec(any::<u8>(), 26), (pre, post) in around()) {
            let body = format!("key_01{}", alnum(&ulid).to_uppercase());
            let key = format!("sk_{env}_{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(body));
            prop_assume!(plausible(&key));
            let text = format!("{pre}{key}{post}");
            let hits = found(&text, &key);
            prop_assert!(unknown_low(&hits), "{text}: {hits:?}");
        }

        #[test]
        fn clerk_secret_keys_are_unknown(
            env in env(),
            len in 30usize..64,
            picks in prop::collection::vec(any::<u8>(), 64),
            ctx in prop_oneof![Just("CLERK_SECRET_KEY="), Just("createClerkClient({secretKey:\""), Just("clerk: { secret: '")],
        ) {
            let mut body = alnum(&picks[..len]);
            // Off Stripe's published shapes (those stay Stripe's, see below).
            if body.as_bytes()[0] == b'5' {
                body.replace_range(0..1, "Q");
            }
            let key = format!("sk_{env}_{body}");
            prop_assume!(plausible(&key));
            let text = format!("{ctx}{key}\"");
            let hits = found(&text, &key);
            prop_assert!(unknown_low(&hits), "{text}: {hits:?}");
        }

        #[test]
        fn clerk_publishable_keys_are_unknown(
            env in env(),
            label in "[a-z]{3,10}-[a-z]{3,10}-[0-9]{1,3}",
            production in any::<bool>(),
            padded in any::<bool>(),
            (pre, post) in around(),
        ) {
            let host = if production {
                format!("clerk.{label}.com$")
            } else {
                format!("{label}.clerk.accounts.dev$")
            };
            let e = if padded {
                &base64::engine::general_purpose::STANDARD
            } else {
                &base64::engine::general_purpose::STANDARD_NO_PAD
            };
            let key = format!("pk_{env}_{}", e.encode(host));
            let text = format!("{pre}{key}{post}");
            let hits = found(&text, &key);
            prop_assert!(unknown_low(&hits), "{text}: {hits:?}");
        }

        #[test]
        fn stripe_shapes_stay_stripe(
            kind in prop_oneof![Just("sk"), Just("rk"), Just("pk")],
            env in env(),
            long in any::<bool>(),
            picks in prop::collection::vec(any::<u8>(), 99),
            ctx in prop_oneof![Just("STRIPE_KEY="), Just("clerkKey:\"pk_live_x\",stripe:\""), Just("CLERK_SECRET_KEY=")],
        ) {
            let body = if long {
                format!("51{}", alnum(&picks[..97]))
            } else {
                alnum(&picks[..24])
            };
            let key = format!("{kind}_{env}_{body}");
            prop_assume!(plausible(&key));
            let text = format!("{ctx}{key}\"");
            let hits = found(&text, &key);
            prop_assert_eq!(hits, vec![("stripe".to_string(), Confidence::High)], "{}", text);
        }
    }

    #[test]
    fn stripe_off_shape_lengths_stay_stripe_at_medium_confidence() {
        for body in [
            "Qm4TzR8vLx2NcW7pYk3HdJ9sFa6G",
            "Qm4TzR8vLx2NcW7pYk3HdJ9sFa6GbE1uVo",
        ] {
            let key = format!("sk_live_{body}");
            assert_eq!(
                found(&format!("STRIPE_SECRET_KEY={key}"), &key),
                [("stripe".to_string(), Confidence::Medium)]
            );
        }
    }

    /// Published Adyen API keys end in a 16-character tail with punctuation: the whole key is
    /// the value (a truncated one would never match the inventory's fingerprint).
    #[test]
    fn adyen_tails_are_captured_whole() {
        let head = "AQEyhmfxK9QbWc2Tr5LmVn8Xp3YsZa6Dh4Ef7Gj1Ku0Iq2Ow9Pe5Rt8Yu3Ai6Sd1Fg4Hj7Kl0Zx9Cv2Bn5Mq8Wx==-Tr4Ye7Ui0Op3As6Df9Gh2Jk5Lz8Xc1Vb4Nm7Qw0Er3Ty6=";
        for tail in [
            "<k3pQ{]ZvG,9sT;a",
            "]u](6wk(NKG;nzD~",
            "d(^TtKg6z&m(5DHK",
            "SGU5)Wn]k:em}W*P",
            "whdeW3vA2N6wvhtL",
        ] {
            let key = format!("{head}-{tail}");
            for text in [
                format!("\"X-API-Key: {key}\","),
                format!("apiKey:'{key}'"),
                format!("ADYEN_API_KEY={key}\n"),
            ] {
                let d = detectors();
                let hits = d.find(text.as_bytes());
                assert_eq!(hits.len(), 1, "{text}");
                assert_eq!(&text[hits[0].start..hits[0].end], key, "{text}");
            }
        }
    }
}
