//! Policy engine: policy files (YAML + CEL), the built-in ISO 27001 pack, exceptions and evaluation.
//!
//! A rule = metadata + `scope` (subject kind and optional CEL `where`) + CEL `require`. Each
//! rule × subject gets exactly one [`Outcome`](crate::run::Outcome); see [`eval`].

pub mod crosswalk;
pub mod eval;
pub mod exceptions;
pub mod functions;
mod lint;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::run::{
    Confidence, Enforcement, PolicyChange, Severity, SubjectKind, WeakenedRule, Weakening,
};
use crate::yaml::Spanned;

pub use eval::{Evaluation, RuleResult, evaluate};
pub use exceptions::Exceptions;

/// Longest `where`/`require` expression accepted (CEL has no runtime limits).
pub const MAX_EXPRESSION_CHARS: usize = 2000;

/// Longest `message` template accepted.
pub const MAX_TEMPLATE_BYTES: usize = 8 * 1024;
/// Longest message a template may render.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Template instructions one message may run (minijinja fuel): a loop over a run's worth of
/// facts fits many times over; nested `range(100000)` loops stop within milliseconds.
pub const MESSAGE_FUEL: u64 = 100_000;

/// The environment message templates compile and run in: no auto-escaping (the renderers
/// escape per format), fuel-limited.
fn template_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(MESSAGE_FUEL));
    env
}

/// A writer that fails past [`MAX_MESSAGE_BYTES`].
struct CappedWriter(Vec<u8>);

impl std::io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_MESSAGE_BYTES {
            return Err(std::io::Error::other("message too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a template render went over its budget (steps or output size), if it did.
fn over_budget(e: &minijinja::Error) -> Option<String> {
    match e.kind() {
        minijinja::ErrorKind::OutOfFuel => Some(format!(
            "runs longer than the limit of {MESSAGE_FUEL} template steps"
        )),
        minijinja::ErrorKind::WriteFailure => Some(format!(
            "renders more than the limit of {} KiB",
            MAX_MESSAGE_BYTES / 1024
        )),
        _ => None,
    }
}

/// Renders a message template within the fuel and output limits.
fn render_capped(
    t: &minijinja::Template<'_, '_>,
    ctx: &impl serde::Serialize,
) -> Result<String, minijinja::Error> {
    let mut w = CappedWriter(Vec::new());
    t.render_captured_to(ctx, &mut w)?;
    Ok(String::from_utf8_lossy(&w.0).into_owned())
}

/// Checks a message template: its size, its syntax, and a trial render over empty facts
/// within the limits (a template that loops past them fails here rather than in a run).
/// Returns the problem and the 1-based template line it is on.
pub(crate) fn check_template(text: &str) -> Result<(), (String, usize)> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err((
            format!(
                "message template is {} bytes; the limit is {} KiB",
                text.len(),
                MAX_TEMPLATE_BYTES / 1024
            ),
            1,
        ));
    }
    let mut env = template_env();
    env.add_template_owned("m".to_string(), text.to_string())
        .map_err(|e| {
            (
                format!(
                    "bad message template: {}",
                    e.detail().unwrap_or("syntax error")
                ),
                e.line().unwrap_or(1),
            )
        })?;
    let t = env
        .get_template("m")
        .map_err(|e| (format!("bad message template: {e}"), 1))?;
    match render_capped(&t, &serde_json::json!({})) {
        Err(e) => match over_budget(&e) {
            Some(why) => Err((format!("message template {why}"), e.line().unwrap_or(1))),
            // Other errors depend on the facts (an undefined field here is not one in a run).
            None => Ok(()),
        },
        Ok(_) => Ok(()),
    }
}

/// The built-in pack, embedded at build time.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "iso27001/keys.yaml",
        include_str!("../../policies/iso27001/keys.yaml"),
    ),
    (
        "iso27001/exposure.yaml",
        include_str!("../../policies/iso27001/exposure.yaml"),
    ),
    (
        "iso27001/suppliers.yaml",
        include_str!("../../policies/iso27001/suppliers.yaml"),
    ),
    (
        "iso27001/privacy.yaml",
        include_str!("../../policies/iso27001/privacy.yaml"),
    ),
    (
        "iso27001/dataflows.yaml",
        include_str!("../../policies/iso27001/dataflows.yaml"),
    ),
    (
        "iso27001/access.yaml",
        include_str!("../../policies/iso27001/access.yaml"),
    ),
];

pub use crate::diag::{Diagnostic, Diagnostics};

// ---------------------------------------------------------------------------------------------
// Raw file model (what the user writes), deserialised with spans.

/// A policy file: rules merged over the built-in ISO 27001 pack (`policy schema` prints this
/// as a JSON Schema).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PolicyFile")]
struct RawFile {
    /// Format version: 1.
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    /// Always `PolicySet`.
    #[schemars(with = "String")]
    kind: Spanned<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    /// Values for the rules of this file that do not set them.
    #[serde(default)]
    defaults: Option<Defaults>,
    /// New rules, and overrides of built-in rules by id (only the fields that change).
    #[serde(default)]
    rules: Vec<RawRule>,
}

/// Free-form description of a policy file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default)]
    enforcement: Option<Enforcement>,
    #[serde(default)]
    confidence: Option<Confidence>,
    #[serde(default)]
    severity: Option<Severity>,
}

/// What a rule is evaluated against.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Scope")]
struct RawScope {
    /// `key`, `vendor`, `exposure` or `run`.
    #[schemars(with = "SubjectKind")]
    subject: Spanned<SubjectKind>,
    /// CEL condition choosing the subjects the rule applies to.
    #[serde(default, rename = "where")]
    #[schemars(with = "Option<String>")]
    where_: Option<Spanned<String>>,
}

/// ruff-style documentation sections (remediation and references live on the rule).
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    #[serde(default)]
    pub what_it_does: String,
    #[serde(default)]
    pub why_it_matters: String,
    #[serde(default)]
    pub example: Option<String>,
}

/// One rule (a new id adds a rule; a built-in id overrides the fields given).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rule")]
struct RawRule {
    /// Rule id (`ORG-KEY-001`); a built-in id (`VKS-KEY-001`) overrides that rule.
    #[schemars(with = "String")]
    id: Spanned<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    confidence: Option<Confidence>,
    #[serde(default)]
    enforcement: Option<Enforcement>,
    /// Annex A control ids, fully qualified (`ISO27001:2022/A.5.17`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    controls: Option<Vec<Spanned<String>>>,
    /// Explicit 2013 ids, replacing the crosswalk derivation.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    controls_2013: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    scope: Option<RawScope>,
    /// CEL condition that must hold for the subject to pass.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    require: Option<Spanned<String>>,
    /// Message template (minijinja) over the subject's facts.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    message: Option<Spanned<String>>,
    #[serde(default)]
    remediation: Option<String>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    docs: Option<Docs>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The JSON Schema of a policy file (`vendorscope policy schema`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawFile)).unwrap_or_default()
}

/// Deserialises a YAML document of a user-written format: first its structure against the
/// model's JSON Schema (every unknown field with a did-you-mean, every wrong type or value at
/// its `FILE:LINE:COL`, all at once: the inventory's validator), then the model itself.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    schema: serde_json::Value,
    what: &'static str,
    diags: &mut Diagnostics,
) -> Option<T> {
    let mut spans = std::collections::HashMap::new();
    let first = "`version: 1` and `kind`";
    parse_checked_spans(file, text, schema, (what, first), diags, &mut spans)
}

/// [`parse_checked`] that also fills `spans` (field path → line, column; `a.b`, `a[0]`);
/// `what` is the document's name and the fields an empty document is told to start with.
pub(crate) fn parse_checked_spans<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    schema: serde_json::Value,
    (what, first): (&'static str, &str),
    diags: &mut Diagnostics,
    spans: &mut std::collections::HashMap<String, (usize, usize)>,
) -> Option<T> {
    let before = diags.errors();
    let tree = crate::yaml::parse_tree(text);
    for i in &tree.issues {
        let msg = match i.first {
            Some(f) => format!("{} (first at {}:{})", i.message, f.line, f.col),
            None => i.message.clone(),
        };
        diags.push_span(file, (i.pos.line, i.pos.col), i.len, i.code(), msg);
    }
    match &tree.root {
        Some(root) => {
            let mut sub = Diagnostics::for_file(file);
            crate::inventory::Validator::with_schema(&mut sub, spans, schema, what, vec![])
                .structure(root);
            diags.extend(sub);
        }
        None if tree.issues.is_empty() => diags.push_span(
            file,
            (1, 1),
            1,
            crate::diag::code::MISSING_FIELD,
            format!("the {what} is empty; expected a mapping with {first}"),
        ),
        None => {}
    }
    if diags.errors() > before {
        return None;
    }
    match crate::yaml::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(
                file,
                (e.line.unwrap_or(1), e.column.unwrap_or(1)),
                format!("invalid {what}: {}", first_line(&e.message)),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validated model.

/// A compiled CEL expression with its text and the facts it reads.
#[derive(Debug, Clone)]
pub struct Expr {
    pub source: String,
    pub program: Arc<cel::Program>,
    /// First-level fields of the subject the expression reads (`capabilities`, `status`, …).
    pub fields: BTreeSet<String>,
    /// Where the expression starts in its file (1-based line, column).
    pub pos: (usize, usize),
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub enabled: bool,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub enforcement: Enforcement,
    /// Fully qualified 2022 ids as written.
    pub controls_2022: Vec<String>,
    /// Fully qualified 2013 ids (derived from the crosswalk unless overridden).
    pub controls_2013: Vec<String>,
    pub subject: SubjectKind,
    pub where_: Option<Expr>,
    pub require: Expr,
    pub message: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub docs: Docs,
    pub tags: Vec<String>,
    /// `builtin:iso27001/keys.yaml` or the user file path.
    pub source: String,
}

impl Rule {
    /// 2022 then 2013 ids, fully qualified.
    pub fn controls(&self) -> Vec<String> {
        let mut v = self.controls_2022.clone();
        v.extend(self.controls_2013.iter().cloned());
        v
    }
}

/// A loaded set of rules: the built-in pack with user files merged over it.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// Every rule, disabled ones included (they are skipped at evaluation).
    pub rules: Vec<Rule>,
    /// Built-in rules a user file overrode, downgraded or disabled.
    pub changes: Vec<PolicyChange>,
    /// Built-in rules a user file weakened (disabled, lowered, or changed an expression).
    pub weakened: Vec<WeakenedRule>,
    /// SHA-256 of the effective rules: changes whenever what is evaluated changes.
    pub hash: String,
    /// Input files (user policies) and their SHA-256.
    pub inputs: Vec<crate::run::InputFile>,
    templates: Arc<minijinja::Environment<'static>>,
}

/// Variable name a subject kind is bound to in CEL and templates.
pub fn var_name(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::Key => "key",
        SubjectKind::Vendor => "vendor",
        SubjectKind::Exposure => "exposure",
        SubjectKind::Run => "run",
    }
}

fn enforcement_rank(e: Enforcement) -> u8 {
    match e {
        Enforcement::Report => 0,
        Enforcement::Warn => 1,
        Enforcement::Block => 2,
    }
}

struct Source<'a> {
    name: String,
    text: &'a str,
    builtin: bool,
}

impl PolicySet {
    /// The built-in pack alone.
    pub fn load_builtin() -> Result<PolicySet, Diagnostics> {
        Self::load_sources(&builtin_sources(), false)
    }

    /// The built-in pack with `files` merged over it (a rule with a built-in id overrides it).
    pub fn load_files(files: &[PathBuf]) -> Result<PolicySet, Diagnostics> {
        let mut diags = Diagnostics::default();
        let mut texts = vec![];
        for f in files {
            match read_text(f) {
                Ok(t) => texts.push((f.display().to_string(), t)),
                Err(m) => {
                    diags.push_code(&f.display().to_string(), (0, 0), crate::diag::code::IO, m)
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        let mut sources = builtin_sources();
        for (name, text) in &texts {
            sources.push(Source {
                name: name.clone(),
                text,
                builtin: false,
            });
        }
        Self::load_sources(&sources, false)
    }

    /// Loads user policy text (tests, `policy lint`), merged over the built-in pack.
    pub fn load_str(name: &str, text: &str) -> Result<PolicySet, Diagnostics> {
        let mut sources = builtin_sources();
        sources.push(Source {
            name: name.to_string(),
            text,
            builtin: false,
        });
        Self::load_sources(&sources, false)
    }

    fn load_sources(sources: &[Source], strict: bool) -> Result<PolicySet, Diagnostics> {
        let mut diags = Diagnostics::default();
        let mut rules: Vec<Rule> = vec![];
        let mut origin: BTreeMap<String, (String, bool)> = BTreeMap::new();
        let mut changes = vec![];
        let mut weakened = vec![];
        let mut inputs = vec![];
        for src in sources {
            if !src.builtin {
                inputs.push(crate::run::InputFile {
                    path: src.name.clone(),
                    sha256: crate::run::sha256_hex(src.text.as_bytes()),
                });
            }
            let file = if src.builtin {
                format!("builtin:{}", src.name)
            } else {
                src.name.clone()
            };
            let raw: RawFile = if src.builtin {
                match crate::yaml::from_str(src.text) {
                    Ok(r) => r,
                    Err(e) => {
                        diags.push(
                            &file,
                            (e.line.unwrap_or(1), e.column.unwrap_or(1)),
                            format!("invalid policy file: {}", first_line(&e.message)),
                        );
                        continue;
                    }
                }
            } else {
                match parse_checked(&file, src.text, schema(), "policy file", &mut diags) {
                    Some(r) => r,
                    None => continue,
                }
            };
            if raw.version.value != 1 {
                diags.push(
                    &file,
                    crate::yaml::position(&raw.version),
                    format!("unsupported version {} (expected 1)", raw.version.value),
                );
            }
            if raw.kind.value != "PolicySet" {
                diags.push(
                    &file,
                    crate::yaml::position(&raw.kind),
                    format!("kind must be `PolicySet`, found `{}`", raw.kind.value),
                );
            }
            let defaults = raw.defaults.clone().unwrap_or_default();
            let _ = &raw.metadata;
            for rr in raw.rules {
                let id = rr.id.value.clone();
                let id_pos = crate::yaml::position(&rr.id);
                if !valid_rule_id(&id) {
                    diags.push(
                        &file,
                        id_pos,
                        format!("rule id `{id}` must be letters, digits, `-`, `_` or `.`"),
                    );
                    continue;
                }
                match origin.get(&id).cloned() {
                    Some((_, true)) if !src.builtin => {
                        // Override of a built-in rule: merge.
                        let Some(idx) = rules.iter().position(|r| r.id == id) else {
                            continue;
                        };
                        let base = rules[idx].clone();
                        if let Some(new) = lint::build_rule(
                            &file,
                            src.text,
                            rr,
                            &defaults,
                            Some(&base),
                            &mut diags,
                        ) {
                            let weak = weakening(&base, &new, &file, id_pos.0);
                            changes.extend(describe_changes(&base, &new, &file, weak.as_ref()));
                            weakened.extend(weak);
                            rules[idx] = new;
                            origin.insert(id, (file.clone(), false));
                        }
                        continue;
                    }
                    Some((prev_file, _)) => {
                        diags.push_code(
                            &file,
                            id_pos,
                            crate::diag::code::DUPLICATE_ID,
                            format!("duplicate rule id `{id}` (first defined in {prev_file})"),
                        );
                        continue;
                    }
                    None => {}
                }
                if let Some(rule) =
                    lint::build_rule(&file, src.text, rr, &defaults, None, &mut diags)
                {
                    origin.insert(id, (file.clone(), src.builtin));
                    rules.push(rule);
                }
            }
        }
        if strict {
            let user: Vec<Rule> = rules
                .iter()
                .filter(|r| !r.source.starts_with("builtin:"))
                .cloned()
                .collect();
            lint::never_applies(&user, &mut diags);
        }
        let mut env = template_env();
        for r in &rules {
            if let Err(e) = env.add_template_owned(r.id.clone(), r.message.clone()) {
                diags.push_code(
                    &r.source,
                    (1, 1),
                    crate::diag::code::TEMPLATE,
                    format!("rule {}: bad message template: {e}", r.id),
                );
            }
        }
        if !diags.is_empty() {
            add_sources(&mut diags, sources);
            return Err(diags);
        }
        let hash = hash_rules(&rules);
        Ok(PolicySet {
            rules,
            changes,
            weakened,
            hash,
            inputs,
            templates: Arc::new(env),
        })
    }

    /// Looks a rule up by id.
    /// Keeps only what `scan` can decide: exposure and run rules, and key rules that read
    /// `exposed` (the others need probes and would only be `unknown`).
    pub fn restrict_to_exposure(&mut self) {
        for r in &mut self.rules {
            let reads_exposed = r.require.fields.contains("exposed")
                || r.where_
                    .as_ref()
                    .is_some_and(|w| w.fields.contains("exposed"));
            let keep = matches!(r.subject, SubjectKind::Exposure | SubjectKind::Run)
                || (r.subject == SubjectKind::Key && reads_exposed);
            if !keep {
                r.enabled = false;
            }
        }
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Renders a rule's message over the subject's facts (empty template → the title). The
    /// template runs within [`MESSAGE_FUEL`] steps and [`MAX_MESSAGE_BYTES`] of output; past
    /// either, the message is the title and says so.
    /// The context is any serialisable value: JSON, or template values converted once and
    /// shared across a subject's findings.
    pub fn render_message(&self, rule: &Rule, ctx: &impl serde::Serialize) -> String {
        match self
            .templates
            .get_template(&rule.id)
            .and_then(|t| render_capped(&t, ctx))
        {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            Ok(_) => rule.title.clone(),
            Err(e) => match over_budget(&e) {
                Some(why) => format!("{} (message template stopped: it {why})", rule.title),
                None => format!("{} (message template error: {e})", rule.title),
            },
        }
    }
}

/// Lints policy files as they are used: merged over the built-in pack (an override of a
/// built-in rule needs only the fields it changes), plus checks that only apply to authoring:
/// user rules that can never apply. Returns every problem.
pub fn lint_files(files: &[PathBuf]) -> Diagnostics {
    lint(files).0
}

/// [`lint_files`] and, when the files load, the built-in rules they weaken.
pub fn lint(files: &[PathBuf]) -> (Diagnostics, Vec<WeakenedRule>) {
    let mut diags = Diagnostics::default();
    let mut texts = vec![];
    for f in files {
        match read_text(f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(m) => diags.push_code(&f.display().to_string(), (0, 0), crate::diag::code::IO, m),
        }
    }
    let mut sources = builtin_sources();
    sources.extend(texts.iter().map(|(n, t)| Source {
        name: n.clone(),
        text: t,
        builtin: false,
    }));
    match PolicySet::load_sources(&sources, true) {
        Ok(set) => (diags, set.weakened),
        Err(d) => {
            diags.extend(d);
            // Authoring problems (a rule that can never fail) do not hide a weakening.
            let weakened = PolicySet::load_sources(&sources, false)
                .map(|s| s.weakened)
                .unwrap_or_default();
            (diags, weakened)
        }
    }
}

/// Lints policy text (tests), merged over the built-in pack like [`lint_files`].
pub fn lint_str(name: &str, text: &str) -> Diagnostics {
    let mut sources = builtin_sources();
    sources.push(Source {
        name: name.to_string(),
        text,
        builtin: false,
    });
    match PolicySet::load_sources(&sources, true) {
        Ok(_) => Diagnostics::default(),
        Err(d) => d,
    }
}

/// Keeps the text of each file a diagnostic names, for its snippet.
fn add_sources(diags: &mut Diagnostics, sources: &[Source]) {
    for src in sources {
        let file = if src.builtin {
            format!("builtin:{}", src.name)
        } else {
            src.name.clone()
        };
        if diags.items.iter().any(|d| d.file == file) {
            diags.add_source(&file, src.text, &[]);
        }
    }
}

fn builtin_sources() -> Vec<Source<'static>> {
    BUILTIN
        .iter()
        .map(|(n, t)| Source {
            name: n.to_string(),
            text: t,
            builtin: true,
        })
        .collect()
}

fn read_text(p: &Path) -> Result<String, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// How `new` (a user override) weakens the built-in rule `base`, if it does: disabled, a lower
/// severity or enforcement, or any change of `require`, `scope.where` or `scope.subject` (an
/// expression change cannot be shown to be at least as strict). Raising severity or
/// enforcement is not weakening.
pub fn weakening(base: &Rule, new: &Rule, file: &str, line: usize) -> Option<WeakenedRule> {
    let mut changes = vec![];
    let change = |field: &str, builtin: String, user: String, line: Option<usize>| Weakening {
        field: field.into(),
        builtin,
        user,
        line: line.map(|l| l as u64),
    };
    if base.enabled && !new.enabled {
        changes.push(change("enabled", "true".into(), "false".into(), None));
    }
    if new.severity < base.severity {
        changes.push(change(
            "severity",
            base.severity.as_str().into(),
            new.severity.as_str().into(),
            None,
        ));
    }
    if enforcement_rank(new.enforcement) < enforcement_rank(base.enforcement) {
        changes.push(change(
            "enforcement",
            enforcement_name(base.enforcement).into(),
            enforcement_name(new.enforcement).into(),
            None,
        ));
    }
    if base.subject != new.subject {
        changes.push(change(
            "subject",
            base.subject.as_str().into(),
            new.subject.as_str().into(),
            None,
        ));
    }
    let text = |e: Option<&Expr>| e.map(|e| e.source.trim().to_string()).unwrap_or_default();
    if text(base.where_.as_ref()) != text(new.where_.as_ref()) {
        changes.push(change(
            "where",
            text(base.where_.as_ref()),
            text(new.where_.as_ref()),
            new.where_.as_ref().map(|e| e.pos.0),
        ));
    }
    if text(Some(&base.require)) != text(Some(&new.require)) {
        changes.push(change(
            "require",
            text(Some(&base.require)),
            text(Some(&new.require)),
            Some(new.require.pos.0),
        ));
    }
    if changes.is_empty() {
        return None;
    }
    Some(WeakenedRule {
        rule: base.id.clone(),
        source: file.to_string(),
        line: Some(line as u64),
        changes,
    })
}

/// `block`, `warn`, `report`.
pub fn enforcement_name(e: Enforcement) -> &'static str {
    match e {
        Enforcement::Block => "block",
        Enforcement::Warn => "warn",
        Enforcement::Report => "report",
    }
}

/// The policy-change log of one override: each weakening (kinds `disabled`,
/// `downgraded_severity`, `downgraded_enforcement`, `weakened_subject`, `weakened_where`,
/// `weakened_require`) and an `overridden` entry listing every difference.
fn describe_changes(
    base: &Rule,
    new: &Rule,
    file: &str,
    weak: Option<&WeakenedRule>,
) -> Vec<PolicyChange> {
    let mut out = vec![];
    let mut diffs = vec![];
    if base.severity != new.severity {
        diffs.push(format!(
            "severity {} → {}",
            base.severity.as_str(),
            new.severity.as_str()
        ));
    }
    if base.enforcement != new.enforcement {
        diffs.push(format!(
            "enforcement {} → {}",
            enforcement_name(base.enforcement),
            enforcement_name(new.enforcement)
        ));
    }
    if base.require.source != new.require.source {
        diffs.push("require changed".into());
    }
    if base.where_.as_ref().map(|e| &e.source) != new.where_.as_ref().map(|e| &e.source) {
        diffs.push("scope.where changed".into());
    }
    if base.controls_2022 != new.controls_2022 || base.controls_2013 != new.controls_2013 {
        diffs.push("controls changed".into());
    }
    if base.subject != new.subject {
        diffs.push("scope.subject changed".into());
    }
    let push = |out: &mut Vec<PolicyChange>, change: &str, detail: String| {
        out.push(PolicyChange {
            rule: base.id.clone(),
            change: change.into(),
            detail,
            source: file.to_string(),
        })
    };
    for w in weak.map(|w| w.changes.as_slice()).unwrap_or_default() {
        let (kind, detail) = match w.field.as_str() {
            "enabled" => ("disabled", "rule disabled".to_string()),
            "severity" => ("downgraded_severity", format!("{} → {}", w.builtin, w.user)),
            "enforcement" => (
                "downgraded_enforcement",
                format!("{} → {}", w.builtin, w.user),
            ),
            "subject" => ("weakened_subject", format!("{} → {}", w.builtin, w.user)),
            "where" => (
                "weakened_where",
                format!("built-in `{}` → `{}`", w.builtin, w.user),
            ),
            _ => (
                "weakened_require",
                format!("built-in `{}` → `{}`", w.builtin, w.user),
            ),
        };
        push(&mut out, kind, detail);
    }
    push(
        &mut out,
        "overridden",
        if diffs.is_empty() {
            "redefined without effective change".into()
        } else {
            diffs.join("; ")
        },
    );
    out
}

#[derive(Serialize)]
struct HashedRule<'a> {
    id: &'a str,
    enabled: bool,
    severity: Severity,
    enforcement: Enforcement,
    subject: SubjectKind,
    where_: Option<&'a str>,
    require: &'a str,
    controls: Vec<String>,
}

fn hash_rules(rules: &[Rule]) -> String {
    let mut hr: Vec<HashedRule> = rules
        .iter()
        .map(|r| HashedRule {
            id: &r.id,
            enabled: r.enabled,
            severity: r.severity,
            enforcement: r.enforcement,
            subject: r.subject,
            where_: r.where_.as_ref().map(|e| e.source.as_str()),
            require: &r.require.source,
            controls: r.controls(),
        })
        .collect();
    hr.sort_by(|a, b| a.id.cmp(b.id));
    let bytes = serde_json::to_vec(&hr).unwrap_or_default();
    format!("sha256:{}", crate::run::sha256_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile template of the review: nested `range(100000)` loops (10^10 steps).
    const NESTED: &str = "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{{ b }}{% endfor %}{% endfor %}";
    /// The same loops printing nothing: only the fuel limit stops it.
    const NESTED_SILENT: &str =
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";

    fn policy(message: &str) -> String {
        format!(
            "version: 1\nkind: PolicySet\nrules:\n  - id: U-1\n    title: Loopy\n    severity: low\n    controls: [ISO27001:2022/A.5.17]\n    scope:\n      subject: run\n    require: 'false'\n    message: {}\n",
            serde_json::to_string(message).expect("json string")
        )
    }

    #[test]
    fn nested_range_loops_are_refused_by_lint_within_the_budget() {
        for t in [NESTED, NESTED_SILENT] {
            let started = std::time::Instant::now();
            let d = lint_str("p.yaml", &policy(t));
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(d.items.len(), 1, "{}", d.render());
            let m = &d.items[0].message;
            assert!(m.starts_with("rule U-1: message template "), "{m}");
            assert!(m.contains("limit"), "{m}");
        }
        // An ordinary template is untouched.
        assert!(lint_str("p.yaml", &policy("{{ run.command }} failed")).is_empty());
    }

    #[test]
    fn oversized_templates_are_refused() {
        let big = "x".repeat(MAX_TEMPLATE_BYTES + 1);
        let d = lint_str("p.yaml", &policy(&big));
        assert!(
            d.items
                .iter()
                .any(|i| i.message.contains("the limit is 8 KiB")),
            "{}",
            d.render()
        );
    }

    #[test]
    fn templates_that_only_explode_over_real_facts_stop_at_run_time() {
        // Passes the trial render (no `run` there), loops with the run's facts.
        let t = format!("{{% if run %}}{NESTED}{{% endif %}}");
        let src = policy(&t);
        let sources = [Source {
            name: "p.yaml".into(),
            text: &src,
            builtin: false,
        }];
        let set = PolicySet::load_sources(&sources, false).expect("loads");
        let rule = set.rule("U-1").expect("rule");
        let started = std::time::Instant::now();
        let m = set.render_message(rule, &serde_json::json!({"run": {"command": "audit"}}));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(m.starts_with("Loopy (message template stopped: it "), "{m}");
        assert!(m.len() < 200, "{m}");
        let silent = format!("{{% if run %}}{NESTED_SILENT}{{% endif %}}");
        let src = policy(&silent);
        let sources = [Source {
            name: "p.yaml".into(),
            text: &src,
            builtin: false,
        }];
        let set = PolicySet::load_sources(&sources, false).expect("loads");
        let m = set.render_message(
            set.rule("U-1").expect("rule"),
            &serde_json::json!({"run": {"command": "audit"}}),
        );
        assert!(m.contains("template steps"), "{m}");
    }
}
