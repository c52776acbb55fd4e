//! Detector rules as data: the `detectors.yaml` format, the built-in rule files, validation.
//!
//! A rule file is `rules: [ … ]`; each rule has `id`, `vendor`, `credential_type`, `regex`
//! (group 1 is the secret when present; a group named `env` captures `live|test|prod|sandbox|
//! production`), `keywords` (the prefilter: a rule's regex only runs near one of them),
//! optional `window_before`/`window_after` (bytes around a keyword the regex sees),
//! `min_entropy` (Shannon bits per byte of the secret), `placeholders` (regexes that reject a
//! secret), `context` (`{regex, before, after}` that must appear near the secret when
//! `context_required`, and otherwise raises confidence to high), `public_by_design`,
//! `environment` (`live | test | captured | null`), `confidence`, `examples` and
//! `negative_examples` (checked by a unit test).

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
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
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
    regex::bytes::RegexBuilder::new(re)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
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
        let mut placeholders = vec![];
        for p in &s.placeholders {
            placeholders.push(
                regex::Regex::new(p).map_err(|e| err(format!("invalid placeholder regex: {e}")))?,
            );
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
