//! SARIF 2.1.0 for GitHub code scanning: hand-written structs for the subset vendorscope emits.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::guard::Clean;
use crate::run::{Finding, Location, Outcome, Run, Severity};

use super::RenderError;

/// The schema URI every SARIF file declares.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://github.com/vendorscope/vendorscope";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<SarifRun<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun<'a> {
    tool: Tool,
    automation_details: AutomationDetails,
    results: Vec<SarifResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_control_provenance: Option<Vec<VersionControl<'a>>>,
    original_uri_base_ids: BTreeMap<&'static str, BaseId>,
    column_kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invocations: Vec<Invocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RunProperties<'a>>,
}

/// `runs[0].properties`: the built-in rules a user policy weakened, as in the run document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    weakened_rules: &'a [crate::run::WeakenedRule],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    tool_configuration_notifications: Vec<Notification>,
}

/// A configuration notification (SARIF §3.58): one per weakened built-in rule.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    level: &'static str,
    message: Text,
    descriptor: DescriptorRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<NotificationLocation>,
}

#[derive(Serialize)]
struct DescriptorRef {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionControl<'a> {
    repository_uri: String,
    revision_id: &'a str,
    mapped_to: MappedTo,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MappedTo {
    uri_base_id: &'static str,
}

#[derive(Serialize)]
struct BaseId {
    description: Text,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    semantic_version: String,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties,
}

#[derive(Serialize)]
struct ResultProperties {
    status: &'static str,
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    /// Occurrences of the exposed value at its place (the first `--max-locations` are the
    /// result's locations).
    #[serde(skip_serializing_if = "Option::is_none")]
    occurrences: Option<u64>,
    /// A history hit (`scan --git`): the commit that introduced it and the later ones that
    /// still hold it (GitHub shows only the message, which names them too).
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<crate::run::GitLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

/// Files are relative to the scan root / repository checkout, named by this base id.
const SRCROOT: &str = "SRCROOT";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
    start_column: u64,
    end_line: u64,
    end_column: u64,
}

/// SARIF `level` for a severity (reference §3.1).
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score for a severity (reference §3.1).
pub fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("2.0"),
        Severity::Info => None,
    }
}

/// Findings that SARIF and the annotations report: failing and unknown ones.
pub fn reportable(f: &Finding) -> bool {
    matches!(f.status, Outcome::Fail | Outcome::Unknown)
}

fn capitalise(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

fn with_period(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with('.') || t.ends_with('!') || t.ends_with('?') {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// A stable content fingerprint: rule, credential fingerprint (or subject) and original source,
/// never the hashed chunk name, so alerts survive rebuilds.
pub fn content_fingerprint(f: &Finding) -> String {
    let cred = f
        .evidence
        .as_ref()
        .map(|e| e.fingerprint.clone())
        .unwrap_or_else(|| {
            format!(
                "{}:{}:{}",
                f.subject.vendor.as_deref().unwrap_or(""),
                f.subject.kind.as_str(),
                f.subject.id
            )
        });
    let original = f
        .locations
        .iter()
        .find_map(|l| l.original.as_ref().map(|o| o.path.clone()))
        .or_else(|| {
            f.locations
                .iter()
                .find(|l| l.url.is_none())
                .and_then(|l| l.path.clone())
        })
        // A URL without a source map: its path with content hashes and queries removed.
        .or_else(|| {
            f.locations
                .iter()
                .find_map(|l| l.url.as_deref().map(crate::policy::eval::stable_location))
        })
        .unwrap_or_default();
    let mut material = format!("{}|{}|{}", f.rule, cred, original);
    // The same path in the history and on disk are two alerts; the commit stays out, so the
    // alert is the same in every later upload.
    if f.locations.iter().any(|l| l.git.is_some()) {
        material.push_str("|history");
    }
    let d = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
    format!("{}:1", &hex::encode(d.as_ref())[..16])
}

/// A history hit's path from the checkout root: a repository given as a relative folder inside
/// the checkout prefixes its paths; otherwise the repository is the checkout.
fn history_path(l: &Location, path: &str) -> String {
    let Some(g) = &l.git else {
        return path.to_string();
    };
    let repo = g.repository.trim_start_matches("./").trim_end_matches('/');
    if repo.is_empty()
        || repo == "."
        || !is_relative_path(repo)
        || repo.split('/').any(|c| c == "..")
    {
        path.to_string()
    } else {
        format!("{repo}/{path}")
    }
}

fn is_relative_path(p: &str) -> bool {
    !p.starts_with('/') && !p.contains("://") && !p.contains('\\')
}

/// Percent-encodes characters a URI reference may not hold (spaces, non-ASCII…).
fn uri_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn region(line: Option<u64>, col: Option<u64>, end_col: Option<u64>) -> Region {
    let start_line = line.unwrap_or(1).max(1);
    let start_column = col.unwrap_or(1).max(1);
    Region {
        start_line,
        start_column,
        end_line: start_line,
        end_column: end_col.unwrap_or(start_column + 1).max(start_column + 1),
    }
}

fn physical(uri: String, l: &Location) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri,
            uri_base_id: SRCROOT,
        },
        region: region(l.line, l.column, l.end_column),
    }
}

/// Primary and related locations of a finding. Files are repo-relative; a URL is reported in
/// the message and anchored on the original source (source map) or the inventory line.
fn locations(f: &Finding, run: &Run) -> (Vec<SarifLocation>, Vec<SarifLocation>, Vec<String>) {
    let mut primary = vec![];
    let mut related = vec![];
    let mut urls = vec![];
    for l in &f.locations {
        if let Some(u) = &l.url {
            urls.push(format!(
                "{}{}",
                u,
                match (l.line, l.column) {
                    (Some(a), Some(b)) => format!(":{a}:{b}"),
                    (Some(a), None) => format!(":{a}"),
                    _ => String::new(),
                }
            ));
            if let Some(o) = &l.original
                && is_relative_path(&o.path)
            {
                let loc = SarifLocation {
                    id: None,
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation {
                            uri: uri_path(&o.path),
                            uri_base_id: SRCROOT,
                        },
                        region: region(Some(o.line), Some(o.column), None),
                    },
                    message: Some(Text {
                        text: format!("Original source of {u} (from its source map)."),
                    }),
                };
                if primary.is_empty() {
                    primary.push(loc);
                } else {
                    related.push(loc);
                }
            }
        } else if let Some(p) = &l.path {
            if !is_relative_path(p) {
                continue;
            }
            let loc = SarifLocation {
                id: None,
                physical_location: physical(uri_path(&history_path(l, p)), l),
                message: l.history_note().map(|text| Text {
                    text: with_period(&capitalise(&text)),
                }),
            };
            if primary.is_empty() {
                primary.push(loc);
            } else {
                related.push(loc);
            }
        }
    }
    if primary.is_empty() {
        // Anchor on the inventory file when nothing else is in the repository.
        let inv = run
            .inputs
            .inventory
            .as_ref()
            .map(|i| i.path.clone())
            .filter(|p| is_relative_path(p))
            .unwrap_or_else(|| "vendors.yaml".into());
        primary.push(SarifLocation {
            id: None,
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: uri_path(&inv),
                    uri_base_id: SRCROOT,
                },
                region: region(Some(1), Some(1), None),
            },
            message: None,
        });
    }
    for (i, r) in related.iter_mut().enumerate() {
        r.id = Some(i + 1);
        if r.message.is_none() {
            r.message = Some(Text {
                text: "Related location.".into(),
            });
        }
    }
    related.truncate(9);
    (primary, related, urls)
}

fn rule_for(f: &Finding) -> Rule {
    let controls: Vec<String> = f
        .controls
        .iter()
        .map(|c| c.replace("ISO27001:", "iso27001-").replace('/', ":"))
        .collect();
    let mut tags = vec!["security".to_string()];
    tags.extend(controls.iter().take(9).cloned());
    let full = if f.remediation.is_empty() {
        with_period(&f.title)
    } else {
        format!(
            "{} Remediation: {}",
            with_period(&f.title),
            with_period(&f.remediation)
        )
    };
    let control_list = if f.controls.is_empty() {
        String::new()
    } else {
        format!("\n\nControls: {}", f.controls.join(", "))
    };
    Rule {
        id: f.rule.clone(),
        name: rule_name(&f.title),
        short_description: Text {
            text: truncate(&with_period(&f.title), 1024),
        },
        full_description: Text {
            text: truncate(&full, 1024),
        },
        help: Help {
            text: format!(
                "{}\n\nRemediation: {}{}",
                with_period(&f.title),
                with_period(if f.remediation.is_empty() {
                    "see the rule documentation"
                } else {
                    &f.remediation
                }),
                control_list
            ),
            markdown: format!(
                "**{}**\n\n**Remediation:** {}{}",
                md_escape(&with_period(&f.title)),
                md_escape(&with_period(if f.remediation.is_empty() {
                    "see the rule documentation"
                } else {
                    &f.remediation
                })),
                if f.controls.is_empty() {
                    String::new()
                } else {
                    format!("\n\n**Controls:** {}", md_escape(&f.controls.join(", ")))
                }
            ),
        },
        default_configuration: Configuration {
            level: level(f.severity),
        },
        properties: RuleProperties {
            tags,
            precision: match f.confidence {
                crate::run::Confidence::High => "high",
                crate::run::Confidence::Medium => "medium",
                crate::run::Confidence::Low => "low",
            },
            security_severity: security_severity(f.severity),
        },
    }
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_{}[]<>()#+!|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn rule_name(title: &str) -> String {
    let mut out = String::new();
    for w in title.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut cs = w.chars();
        if let Some(c) = cs.next() {
            out.push(c.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    truncate(&out, 255)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The rule id of the results that report a weakened built-in rule.
pub const WEAKENED_RULE_ID: &str = "vendorscope/weakened-rule";

fn weakened_location(w: &crate::run::WeakenedRule) -> Option<PhysicalLocation> {
    is_relative_path(&w.source).then(|| PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: uri_path(&w.source),
            uri_base_id: SRCROOT,
        },
        region: region(w.line, Some(1), None),
    })
}

fn weakened_text(w: &crate::run::WeakenedRule) -> String {
    with_period(&super::weakened::lines(w).join(" "))
}

/// A warning result per weakened built-in rule, on the policy file's line (or the inventory's
/// first line when the policy is outside the checkout), so code scanning shows an alert.
fn weakened_results(run: &Run, rule_index: usize) -> Vec<SarifResult> {
    run.weakened_rules
        .iter()
        .map(|w| {
            let physical_location = weakened_location(w).unwrap_or_else(|| {
                let inv = run
                    .inputs
                    .inventory
                    .as_ref()
                    .map(|i| i.path.clone())
                    .filter(|p| is_relative_path(p))
                    .unwrap_or_else(|| "vendors.yaml".into());
                PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: uri_path(&inv),
                        uri_base_id: SRCROOT,
                    },
                    region: region(Some(1), Some(1), None),
                }
            });
            let material = format!("{}|{}|{}", WEAKENED_RULE_ID, w.rule, w.source);
            let d = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
            SarifResult {
                rule_id: WEAKENED_RULE_ID.into(),
                rule_index,
                level: "warning",
                message: Text {
                    text: weakened_text(w),
                },
                locations: vec![SarifLocation {
                    id: None,
                    physical_location,
                    message: None,
                }],
                related_locations: vec![],
                partial_fingerprints: BTreeMap::from([(
                    "primaryLocationLineHash",
                    format!("{}:1", &hex::encode(d.as_ref())[..16]),
                )]),
                properties: ResultProperties {
                    status: "weakened",
                    subject: format!("rule:{}", w.rule),
                    fingerprint: None,
                    occurrences: None,
                    git: None,
                },
            }
        })
        .collect()
}

fn weakened_rule_descriptor() -> Rule {
    let title = "A user policy weakened a built-in rule.";
    let help = "A user policy disabled a built-in rule, lowered its severity or enforcement, or changed its require, scope.where or scope.subject: the gate no longer checks what the built-in pack checks. Review the policy change; `--deny-weakened-rules` makes such a policy a configuration error (exit 2).";
    Rule {
        id: WEAKENED_RULE_ID.into(),
        name: "WeakenedBuiltInRule".into(),
        short_description: Text { text: title.into() },
        full_description: Text { text: help.into() },
        help: Help {
            text: help.into(),
            markdown: md_escape(help),
        },
        default_configuration: Configuration { level: "warning" },
        properties: RuleProperties {
            tags: vec!["security".into(), "policy".into()],
            precision: "high",
            security_severity: security_severity(Severity::Medium),
        },
    }
}

/// Renders the failing and unknown findings as a SARIF 2.1.0 log, plus the weakened built-in
/// rules: a warning result each, a configuration notification each, and
/// `runs[0].properties.weakenedRules`.
pub fn render(run: &Clean<Run>) -> Result<String, RenderError> {
    let mut rules: Vec<Rule> = vec![];
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings: Vec<&Finding> = run.findings.iter().filter(|f| reportable(f)).collect();
    findings.sort_by(|a, b| crate::run::finding_order(a, b));
    let occurrences: BTreeMap<&str, u64> = run
        .exposures
        .iter()
        .filter(|e| e.occurrences > 1)
        .map(|e| (e.id.as_str(), e.occurrences))
        .collect();
    let mut results = vec![];
    for f in findings {
        let idx = *index.entry(f.rule.clone()).or_insert_with(|| {
            rules.push(rule_for(f));
            rules.len() - 1
        });
        let (locs, related, urls) = locations(f, run);
        let mut text = f.message.replace('\n', " ");
        if !urls.is_empty() {
            let listed: Vec<&String> = urls.iter().filter(|u| !text.contains(u.as_str())).collect();
            if !listed.is_empty() {
                text = format!(
                    "{} Public location: {}",
                    with_period(&text),
                    listed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        // GitHub shows one revision per upload: a history hit names its commits in the text.
        if let Some(note) = f.locations.first().and_then(|l| l.history_note()) {
            text = format!("{} {}", with_period(&text), with_period(&capitalise(&note)));
        }
        if f.status == Outcome::Unknown {
            text = format!(
                "Could not be checked: {}{}",
                with_period(&text),
                f.reason
                    .as_deref()
                    .map(|r| format!(" Reason: {}", with_period(r)))
                    .unwrap_or_default()
            );
        }
        let mut pf = BTreeMap::new();
        pf.insert("primaryLocationLineHash", content_fingerprint(f));
        results.push(SarifResult {
            rule_id: f.rule.clone(),
            rule_index: idx,
            level: if f.status == Outcome::Unknown {
                "warning"
            } else {
                level(f.severity)
            },
            message: Text {
                text: with_period(&text),
            },
            locations: locs,
            related_locations: related,
            partial_fingerprints: pf,
            properties: ResultProperties {
                status: match f.status {
                    Outcome::Unknown => "unknown",
                    _ => "fail",
                },
                subject: format!("{}:{}", f.subject.kind.as_str(), f.subject.id),
                fingerprint: f.evidence.as_ref().map(|e| e.fingerprint.clone()),
                occurrences: (f.subject.kind == crate::run::SubjectKind::Exposure)
                    .then(|| occurrences.get(f.subject.id.as_str()).copied())
                    .flatten(),
                git: f.locations.first().and_then(|l| l.git.clone()),
            },
        });
    }
    if !run.weakened_rules.is_empty() {
        rules.push(weakened_rule_descriptor());
        results.extend(weakened_results(run, rules.len() - 1));
    }
    let invocations = if run.weakened_rules.is_empty() {
        vec![]
    } else {
        vec![Invocation {
            execution_successful: true,
            tool_configuration_notifications: run
                .weakened_rules
                .iter()
                .map(|w| Notification {
                    level: "warning",
                    message: Text {
                        text: weakened_text(w),
                    },
                    descriptor: DescriptorRef {
                        id: WEAKENED_RULE_ID.into(),
                    },
                    locations: weakened_location(w)
                        .map(|physical_location| NotificationLocation { physical_location })
                        .into_iter()
                        .collect(),
                })
                .collect(),
        }]
    };
    let vcp = run.ci.as_ref().and_then(|ci| {
        let commit = ci.commit.as_deref()?;
        let url = ci.run_url.as_deref()?;
        let repo = url.split("/actions/runs/").next()?.to_string();
        if repo.starts_with("https://") && commit.len() >= 7 {
            Some(vec![VersionControl {
                repository_uri: repo,
                revision_id: commit,
                mapped_to: MappedTo {
                    uri_base_id: SRCROOT,
                },
            }])
        } else {
            None
        }
    });
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![SarifRun {
            tool: Tool {
                driver: Driver {
                    name: "vendorscope",
                    semantic_version: run.tool.version.clone(),
                    information_uri: INFO_URI,
                    rules,
                },
            },
            automation_details: AutomationDetails {
                id: format!("vendorscope/{}/{}", run.command, run.run_id),
            },
            results,
            version_control_provenance: vcp,
            original_uri_base_ids: BTreeMap::from([(
                SRCROOT,
                BaseId {
                    description: Text {
                        text: "The scan root (repository checkout).".into(),
                    },
                },
            )]),
            column_kind: "unicodeCodePoints",
            invocations,
            properties: (!run.weakened_rules.is_empty()).then_some(RunProperties {
                weakened_rules: &run.weakened_rules,
            }),
        }],
    };
    let mut s = serde_json::to_string_pretty(&log).map_err(|e| RenderError(e.to_string()))?;
    s.push('\n');
    Ok(s)
}
