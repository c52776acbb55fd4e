//! Detector rules as data: the `detectors.yaml` format, the built-in rule files, validation.
//!
//! A rule file is `rules: [ … ]`; each rule has `id`, `vendor`, `credential_type`, `regex`
//! (group 1 is the secret when present; a group named `env` captures `live|test|prod|sandbox|
//! production`), `keywords` (the prefilter: a rule's regex only runs near one of them),
//! optional `window_before`/`window_after` (bytes around a keyword the regex sees),
//! `min_entropy` (Shannon bits per byte of the secret), `placeholders` (regexes that reject a
//! secret), `context` (`{regex, before, after}` that must appear near the secret when
//! `context_required`; found, it raises confidence to high unless the rule's is `low`), `public_by_design`,
//! `environment` (`live | test | captured | null`), `confidence`, `examples` and
//! `negative_examples` (checked by a unit test). Regexes have ASCII semantics (`\b`, `\w`, `\s`,
//! `(?i)`), unless they need Unicode (`\p{…}`, or `(?u)`).
//!
//! Keys that share a prefix with another issuer's (`sk_live_` is Stripe's, Clerk's and
//! WorkOS's) are told apart with three more fields: `canonical` (a regex of the vendor's
//! published shapes: a secret that does not match it is reported one confidence level lower),
//! `exclude` (a list of conditions under which a match is another issuer's key and not this
//! rule's: `secret` (a regex on the value), `decoded_body` (a regex on the base64-decoded text
//! after the value's last `_`) or `context` (`{regex, before, after}` near the value; not applied
//! to a value matching `canonical`)), and `decoded_body` (a regex the base64-decoded body must
//! match for the rule to match at all).

use std::path::Path;

use serde::Deserialize;

use crate::inventory::model::Environment;
use crate::run::Confidence;

/// The built-in rule files, one per vendor folder.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "src/vendors/shopify/detectors.yaml",
        include_str!("../vendors/shopify/detectors.yaml"),
    ),
    (
        "src/vendors/stripe/detectors.yaml",
        include_str!("../vendors/stripe/detectors.yaml"),
    ),
    (
        "src/vendors/adyen/detectors.yaml",
        include_str!("../vendors/adyen/detectors.yaml"),
    ),
    (
        "src/vendors/iterable/detectors.yaml",
        include_str!("../vendors/iterable/detectors.yaml"),
    ),
    (
        "src/vendors/braintree/detectors.yaml",
        include_str!("../vendors/braintree/detectors.yaml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RuleSpec>,
}

/// Where a rule's environment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvSpec {
    Live,
    Test,
    /// From the regex group named `env`.
    Captured,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    pub regex: String,
    #[serde(default = "default_ctx")]
    pub before: usize,
    #[serde(default)]
    pub after: usize,
}

/// A condition under which a match is another issuer's key (exactly one field).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludeSpec {
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub decoded_body: Option<String>,
    #[serde(default)]
    pub context: Option<ContextSpec>,
}

fn default_ctx() -> usize {
    128
}

/// One rule as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub vendor: String,
    pub credential_type: String,
    pub regex: String,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub window_before: Option<usize>,
    #[serde(default)]
    pub window_after: Option<usize>,
    #[serde(default)]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub placeholders: Vec<String>,
    #[serde(default)]
    pub context: Option<ContextSpec>,
    #[serde(default)]
    pub context_required: bool,
    #[serde(default)]
    pub canonical: Option<String>,
    #[serde(default)]
    pub exclude: Vec<ExcludeSpec>,
    #[serde(default)]
    pub decoded_body: Option<String>,
    pub public_by_design: bool,
    #[serde(default)]
    pub environment: Option<EnvSpec>,
    pub confidence: Confidence,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub vendor: String,
    pub credential_type: String,
    pub public_by_design: bool,
    pub confidence: Confidence,
    pub environment: Option<EnvSpec>,
    pub(crate) regex: regex::bytes::Regex,
    pub(crate) keywords: Vec<String>,
    pub(crate) before: usize,
    pub(crate) after: usize,
    pub(crate) min_entropy: f64,
    pub(crate) placeholders: Vec<regex::Regex>,
    pub(crate) context: Option<(regex::bytes::Regex, usize, usize)>,
    pub(crate) context_required: bool,
    pub(crate) canonical: Option<regex::Regex>,
    pub(crate) exclude: Vec<Exclude>,
    pub(crate) decoded_body: Option<regex::Regex>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
}

/// A compiled [`ExcludeSpec`].
#[derive(Debug)]
pub(crate) enum Exclude {
    Secret(regex::Regex),
    DecodedBody(regex::Regex),
    Context(regex::bytes::Regex, usize, usize),
}

/// The base64-decoded text after a value's last `_` (Clerk publishable keys carry their
/// Frontend API host that way), if it decodes to text.
pub fn decoded_body(secret: &str) -> Option<String> {
    let body = secret.rsplit('_').next()?.as_bytes();
    let d = super::base64::decode(body);
    (super::base64::is_text(&d) && !d.is_empty())
        .then(|| String::from_utf8(d).ok())
        .flatten()
}

impl Rule {
    /// The rule known-value hits are reported under: no keyword, a regex that never matches;
    /// each exposure takes its vendor, type and environment from the inventory key it found.
    pub(crate) fn known_value(id: &str) -> Rule {
        Rule {
            id: id.into(),
            vendor: "inventory".into(),
            credential_type: "inventory_key".into(),
            public_by_design: false,
            confidence: Confidence::High,
            environment: None,
            regex: regex::bytes::Regex::new(r"[^\s\S]").expect("static regex"),
            keywords: vec![],
            before: 0,
            after: 0,
            min_entropy: 0.0,
            placeholders: vec![],
            context: None,
            context_required: false,
            canonical: None,
            exclude: vec![],
            decoded_body: None,
            examples: vec![],
            negative_examples: vec![],
        }
    }

    /// Whether the value `secret` at `hay[s..e]` is another issuer's key (see `exclude`).
    pub(crate) fn excluded(&self, secret: &str, hay: &[u8], s: usize, e: usize) -> bool {
        let canonical = self.canonical.as_ref().is_some_and(|c| c.is_match(secret));
        self.exclude.iter().any(|x| match x {
            Exclude::Secret(re) => re.is_match(secret),
            Exclude::DecodedBody(re) => decoded_body(secret).is_some_and(|b| re.is_match(&b)),
            Exclude::Context(re, before, after) => {
                !canonical
                    && re.is_match(&hay[s.saturating_sub(*before)..(e + after).min(hay.len())])
            }
        })
    }

    /// The confidence of a match of `secret` before context: one level lower off the
    /// published shapes.
    pub(crate) fn base_confidence(&self, secret: &str) -> Confidence {
        match &self.canonical {
            Some(c) if !c.is_match(secret) => match self.confidence {
                Confidence::High => Confidence::Medium,
                _ => Confidence::Low,
            },
            _ => self.confidence,
        }
    }
}

/// A rule file problem, located.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct RuleError {
    pub origin: String,
    pub message: String,
}

/// Size cap on a compiled rule regex (a user rule must not exhaust memory).
const REGEX_SIZE_LIMIT: usize = 4 << 20;

fn compile_bytes(
    origin: &str,
    id: &str,
    what: &str,
    re: &str,
) -> Result<regex::bytes::Regex, RuleError> {
    // ASCII semantics first (`\b`, `\w`, `(?i)` on ASCII: keys are ASCII; compiling and
    // matching are several times cheaper); a pattern that needs Unicode gets it.
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(re)
            .size_limit(REGEX_SIZE_LIMIT)
            .unicode(unicode)
            .build()
    };
    build(false)
        .or_else(|_| build(true))
        .map_err(|e| RuleError {
            origin: origin.into(),
            message: format!("rule `{id}`: invalid {what} regex: {e}"),
        })
}

/// Parses and compiles one rule file's text.
pub fn parse(origin: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let file: RuleFile = crate::yaml::from_str(text).map_err(|e| RuleError {
        origin: format!("{origin}:{}:{}", e.line.unwrap_or(0), e.column.unwrap_or(0)),
        message: e.message,
    })?;
    let mut out = Vec::with_capacity(file.rules.len());
    for s in file.rules {
        let err = |m: String| RuleError {
            origin: origin.into(),
            message: format!("rule `{}`: {m}", s.id),
        };
        if s.id.trim().is_empty() {
            return Err(err("empty id".into()));
        }
        if s.keywords.is_empty() || s.keywords.iter().any(|k| k.len() < 3) {
            return Err(err(
                "needs at least one keyword, each of 3 bytes or more (the prefilter)".into(),
            ));
        }
        let regex = compile_bytes(origin, &s.id, "", &s.regex)?;
        if s.environment == Some(EnvSpec::Captured)
            && !regex.capture_names().any(|n| n == Some("env"))
        {
            return Err(err(
                "environment: captured needs a regex group named `env`".into()
            ));
        }
        let text_re = |what: &str, re: &str| {
            let build = |unicode: bool| regex::RegexBuilder::new(re).unicode(unicode).build();
            build(false)
                .or_else(|_| build(true))
                .map_err(|e| err(format!("invalid {what} regex: {e}")))
        };
        let mut placeholders = vec![];
        for p in &s.placeholders {
            placeholders.push(text_re("placeholder", p)?);
        }
        let context = match &s.context {
            Some(c) => Some((
                compile_bytes(origin, &s.id, "context", &c.regex)?,
                c.before.min(4096),
                c.after.min(4096),
            )),
            None if s.context_required => {
                return Err(err("context_required without context".into()));
            }
            None => None,
        };
        let canonical = s
            .canonical
            .as_deref()
            .map(|c| text_re("canonical", c))
            .transpose()?;
        let decoded = s
            .decoded_body
            .as_deref()
            .map(|c| text_re("decoded_body", c))
            .transpose()?;
        let mut exclude = vec![];
        for x in &s.exclude {
            exclude.push(match (&x.secret, &x.decoded_body, &x.context) {
                (Some(re), None, None) => Exclude::Secret(text_re("exclude secret", re)?),
                (None, Some(re), None) => {
                    Exclude::DecodedBody(text_re("exclude decoded_body", re)?)
                }
                (None, None, Some(c)) => Exclude::Context(
                    compile_bytes(origin, &s.id, "exclude context", &c.regex)?,
                    c.before.min(4096),
                    c.after.min(4096),
                ),
                _ => {
                    return Err(err(
                        "each `exclude` entry takes exactly one of `secret`, `decoded_body`, `context`"
                            .into(),
                    ));
                }
            });
        }
        out.push(Rule {
            id: s.id,
            vendor: s.vendor,
            credential_type: s.credential_type,
            public_by_design: s.public_by_design,
            confidence: s.confidence,
            environment: s.environment,
            regex,
            keywords: s.keywords,
            before: s.window_before.unwrap_or(64).min(4096),
            after: s.window_after.unwrap_or(512).min(4096),
            min_entropy: s.min_entropy.unwrap_or(0.0),
            placeholders,
            context,
            context_required: s.context_required,
            canonical,
            exclude,
            decoded_body: decoded,
            examples: s.examples,
            negative_examples: s.negative_examples,
        });
    }
    Ok(out)
}

/// The built-in rules.
pub fn builtin() -> Result<Vec<Rule>, RuleError> {
    let mut all = vec![];
    for (origin, text) in BUILTIN {
        all.extend(parse(origin, text)?);
    }
    Ok(all)
}

/// Reads a user rule file (`--detectors FILE`).
pub fn load_file(path: &Path) -> Result<Vec<Rule>, RuleError> {
    let text = std::fs::read_to_string(path).map_err(|e| RuleError {
        origin: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&path.display().to_string(), &text)
}

/// Maps a captured `env` group to an environment.
pub fn env_from_capture(s: &[u8]) -> Option<Environment> {
    match s {
        b"live" | b"prod" | b"production" => Some(Environment::Live),
        b"test" | b"sandbox" => Some(Environment::Test),
        _ => None,
    }
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}
