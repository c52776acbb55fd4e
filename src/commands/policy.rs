//! `vendorscope policy lint|list|explain|facts|controls`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::report::table::{Column, Grid};

use crate::cli::PolicyCommand;
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::policy::{PolicySet, crosswalk};
use crate::report::Format;
use crate::vendors::{self, capability};

use super::Ctx;

/// A table laid out for stdout's width (`COLUMNS`, the terminal, or 100).
fn grid(columns: &[(&'static str, bool)]) -> Grid {
    let cols: Vec<Column> = columns
        .iter()
        .map(|&(header, long)| Column { header, long })
        .collect();
    Grid::new(&cols)
}

fn render(t: &Grid) -> String {
    t.render(crate::report::table::stdout_width(), false)
}

fn load(ctx: &Ctx, policies: &[PathBuf]) -> Option<PolicySet> {
    match PolicySet::load_files(policies) {
        Ok(s) => Some(s),
        Err(d) => {
            ctx.out.stderr(&d.render(), true);
            None
        }
    }
}

pub fn run(ctx: &Ctx, cmd: &PolicyCommand) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Lint {
            files,
            deny_weakened_rules,
        } => {
            let (mut d, weakened) = crate::policy::lint(files);
            let json = ctx.global.format == Some(Format::Json);
            for w in &weakened {
                // Under --deny-weakened-rules a weakened rule is an error; otherwise a
                // warning (on stderr with its expression diff, or in the JSON document).
                let pos = (w.line.unwrap_or(1) as usize, 1);
                let msg = format!("weakens built-in rule {} ({})", w.rule, w.summary());
                if *deny_weakened_rules {
                    d.push_code(
                        &w.source,
                        pos,
                        crate::diag::code::WEAKENED_RULE,
                        format!("{msg} and --deny-weakened-rules is set"),
                    );
                } else if json {
                    d.add(crate::diag::Diagnostic {
                        file: w.source.clone(),
                        line: pos.0,
                        column: pos.1,
                        len: 1,
                        level: crate::diag::Level::Warning,
                        code: crate::diag::code::WEAKENED_RULE,
                        message: msg,
                    });
                }
            }
            if !*deny_weakened_rules && !json {
                super::audit::warn_weakened(ctx, &weakened);
            }
            let ok = format!(
                "{} file(s): no problems found{}\n",
                files.len(),
                match weakened.len() {
                    0 => String::new(),
                    n => format!(" ({n} built-in rule(s) weakened, see the warnings)"),
                }
            );
            let code = super::print_diagnostics(
                ctx,
                &d,
                &ok,
                serde_json::json!({"files": files.len(), "weakened": weakened.len()}),
            );
            if code != EXIT_OK && !json {
                if *deny_weakened_rules && !weakened.is_empty() {
                    ctx.out
                        .stderr(&crate::report::weakened::text(&weakened, "  "), true);
                }
                ctx.out.error(&format!("{} problem(s) found", d.errors()));
            }
            Ok(code)
        }
        PolicyCommand::List { policies } => {
            let Some(set) = load(ctx, policies) else {
                return Ok(EXIT_CONFIG);
            };
            if ctx.global.format == Some(Format::Json) {
                ctx.out.stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&list_document(&set))?
                ));
                return Ok(EXIT_OK);
            }
            let mut t = grid(&[
                ("rule", false),
                ("subject", false),
                ("severity", false),
                ("enforcement", false),
                ("title", true),
                ("ISO 27001:2022", true),
                ("ISO 27001:2013", true),
            ]);
            for r in &set.rules {
                let short = |v: &[String]| {
                    v.iter()
                        .map(|c| c.rsplit('/').next().unwrap_or(c).to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                t.row(vec![
                    if r.enabled {
                        r.id.clone()
                    } else {
                        format!("{} (disabled)", r.id)
                    },
                    crate::policy::var_name(r.subject).to_string(),
                    r.severity.as_str().to_string(),
                    format!("{:?}", r.enforcement).to_lowercase(),
                    r.title.clone(),
                    short(&r.controls_2022),
                    short(&r.controls_2013),
                ]);
            }
            let width = crate::report::table::stdout_width();
            let mut s = format!("{}\n", render(&t));
            for l in crate::report::table::wrap(
                &format!("{} rules; policy set {}", set.rules.len(), set.hash),
                width,
            ) {
                s.push_str(&l);
                s.push('\n');
            }
            for c in &set.changes {
                let raw = format!(
                    "changed: {} {} ({}) in {}",
                    c.rule, c.change, c.detail, c.source
                );
                let line = crate::guard::sanitize_text(&raw);
                for (i, l) in crate::report::table::wrap(&line, width - 2)
                    .iter()
                    .enumerate()
                {
                    s.push_str(if i == 0 { "" } else { "  " });
                    s.push_str(l);
                    s.push('\n');
                }
            }
            if !set.weakened.is_empty() {
                s.push_str(&format!(
                    "WEAKENED built-in rules ({}):\n{}",
                    set.weakened.len(),
                    crate::report::weakened::text(&set.weakened, "  ")
                ));
            }
            ctx.out.stdout(&s);
            Ok(EXIT_OK)
        }
        PolicyCommand::Explain { rule, policies } => {
            let Some(set) = load(ctx, policies) else {
                return Ok(EXIT_CONFIG);
            };
            let Some(r) = set
                .rule(rule)
                .or_else(|| set.rules.iter().find(|r| r.id.eq_ignore_ascii_case(rule)))
            else {
                let hint = crate::diag::suggest(
                    &rule.to_ascii_uppercase(),
                    set.rules.iter().map(|r| r.id.as_str()),
                )
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
                ctx.out.error(&format!(
                    "no rule `{rule}`; {hint}(`vendorscope policy list` lists the rules)"
                ));
                return Ok(EXIT_CONFIG);
            };
            if ctx.global.format == Some(Format::Json) {
                ctx.out.stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&rule_document(r))?
                ));
            } else {
                ctx.out.stdout(&explain(r));
            }
            Ok(EXIT_OK)
        }
        PolicyCommand::Facts { inventory, offline } => {
            if !*offline {
                ctx.out.error(
                    "probing keys for facts is done by `audit`; pass --offline to see the inventory facts",
                );
                return Ok(EXIT_CONFIG);
            }
            let loaded = match crate::inventory::load(inventory) {
                Ok(l) => l,
                Err(d) => {
                    ctx.out.stderr(&d.render(), true);
                    return Ok(EXIT_CONFIG);
                }
            };
            let facts = crate::facts::build(
                Some(&loaded.inventory),
                &[],
                &[],
                &crate::facts::RunContext {
                    command: "policy facts".into(),
                    offline: true,
                    ..Default::default()
                },
            );
            ctx.out
                .stdout(&format!("{}\n", serde_json::to_string_pretty(&facts)?));
            Ok(EXIT_OK)
        }
        PolicyCommand::Schema => {
            ctx.out.stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&crate::policy::schema())?
            ));
            Ok(EXIT_OK)
        }
        PolicyCommand::Capabilities => {
            let text = match ctx.global.format {
                None | Some(Format::Table) => capabilities_table(),
                Some(Format::Json) => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&capabilities_document())?
                ),
                Some(f) => {
                    ctx.out.error(&format!(
                        "`policy capabilities` prints a table or JSON, not {}",
                        f.name()
                    ));
                    return Ok(EXIT_CONFIG);
                }
            };
            ctx.out.stdout(&text);
            Ok(EXIT_OK)
        }
        PolicyCommand::Controls { policies, run } => {
            let Some(set) = load(ctx, policies) else {
                return Ok(EXIT_CONFIG);
            };
            let counts = match run {
                Some(p) => Some(crate::run::upgrade::load_run(p)?.controls),
                None => None,
            };
            if ctx.global.format == Some(Format::Json) {
                ctx.out.stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&controls_document(&set, counts.as_ref()))?
                ));
            } else {
                ctx.out.stdout(&controls_table(&set, counts.as_ref()));
            }
            Ok(EXIT_OK)
        }
    }
}

/// One rule as JSON (`policy explain --format json`, items of `policy list --format json`).
pub fn rule_document(r: &crate::policy::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "enabled": r.enabled,
        "title": r.title,
        "subject": crate::policy::var_name(r.subject),
        "severity": r.severity,
        "confidence": r.confidence,
        "enforcement": r.enforcement,
        "controls_2022": r.controls_2022,
        "controls_2013": r.controls_2013,
        "where": r.where_.as_ref().map(|w| &w.source),
        "require": r.require.source,
        "what_it_does": r.docs.what_it_does,
        "why_it_matters": r.docs.why_it_matters,
        "remediation": r.remediation,
        "references": r.references,
        "source": r.source,
    })
}

/// The rule set as JSON: every rule, the policy-set hash, changes and weakened rules.
fn list_document(set: &PolicySet) -> serde_json::Value {
    serde_json::json!({
        "policy_set": set.hash,
        "rules": set.rules.iter().map(rule_document).collect::<Vec<_>>(),
        "changes": set.changes,
        "weakened_rules": set.weakened,
    })
}

/// ruff-style documentation of one rule.
pub fn explain(r: &crate::policy::Rule) -> String {
    let cw = crosswalk::Crosswalk::get();
    let mut s = format!("{} — {}\n\n", r.id, r.title);
    s.push_str(&format!(
        "severity: {}   confidence: {:?}   enforcement: {}   subject: {}{}\nsource: {}\n\n",
        r.severity.as_str(),
        r.confidence,
        format!("{:?}", r.enforcement).to_lowercase(),
        crate::policy::var_name(r.subject),
        if r.enabled { "" } else { "   (disabled)" },
        r.source
    ));
    s.push_str(&format!("## What it does\n{}\n\n", r.docs.what_it_does));
    s.push_str(&format!("## Why it matters\n{}\n\n", r.docs.why_it_matters));
    s.push_str(&format!("## Remediation\n{}\n\n", r.remediation));
    s.push_str("## Condition\n");
    if let Some(w) = &r.where_ {
        s.push_str(&format!("where:   {}\n", w.source));
    }
    s.push_str(&format!("require: {}\n\n", r.require.source));
    let condition = format!(
        "{} {}",
        r.where_.as_ref().map_or("", |w| w.source.as_str()),
        r.require.source
    );
    let needs = crate::vendors::least_privilege::for_rule(&condition);
    if !needs.is_empty() {
        s.push_str("## What the audit key (`role: audit`) needs at the vendor\n");
        for n in needs {
            s.push_str(&format!(
                "{}: {} `{}` for {} ({})\n",
                n.vendor, n.kind, n.grant, n.observation, n.call
            ));
        }
        s.push('\n');
    }
    s.push_str("## Controls\n");
    for c in &r.controls_2022 {
        s.push_str(&format!("{c}  {}\n", cw.title(c).unwrap_or("")));
    }
    for c in &r.controls_2013 {
        s.push_str(&format!("{c}\n"));
    }
    if !r.references.is_empty() {
        s.push_str("\n## References\n");
        for x in &r.references {
            s.push_str(&format!("{x}\n"));
        }
    }
    s
}

/// One mapped control: its 2022 id, title, 2013 ids, rules and (with a run) outcome counts.
#[derive(serde::Serialize)]
struct ControlRow {
    control: String,
    title: String,
    iso2013: Vec<String>,
    rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<crate::run::ControlTally>,
}

/// Each mapped control (2022, with its 2013 ids) and its rules, in natural order (A.5.9
/// before A.5.36); with a run's coverage, the outcome counts, and "not assessed" when nothing
/// was evaluated.
fn control_rows(
    set: &PolicySet,
    coverage: Option<&crate::run::ControlCoverage>,
) -> Vec<ControlRow> {
    let cw = crosswalk::Crosswalk::get();
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in set.rules.iter().filter(|r| r.enabled) {
        for c in &r.controls_2022 {
            by.entry(c.clone()).or_default().push(r.id.clone());
        }
    }
    let short = |c: &str| c.rsplit('/').next().unwrap_or(c).to_string();
    let mut rows: Vec<ControlRow> = by
        .into_iter()
        .map(|(k, rules)| {
            let counts = coverage.map(|cov| crate::run::ControlTally::of(cov.get(k.as_str())));
            ControlRow {
                control: short(&k),
                title: cw.title(&k).unwrap_or("").to_string(),
                iso2013: cw.iso2013(&k).iter().map(|c| short(c)).collect(),
                rules,
                counts,
            }
        })
        .collect();
    rows.sort_by_key(|r| crosswalk::natural_key(&r.control));
    rows
}

/// `policy controls --format json`.
fn controls_document(
    set: &PolicySet,
    coverage: Option<&crate::run::ControlCoverage>,
) -> serde_json::Value {
    serde_json::json!({ "controls": control_rows(set, coverage) })
}

/// Each mapped control as a table (see [`control_rows`]).
pub fn controls_table(set: &PolicySet, coverage: Option<&crate::run::ControlCoverage>) -> String {
    let mut header = vec![
        ("control", false),
        ("title", true),
        ("2013", false),
        ("rules", true),
    ];
    if coverage.is_some() {
        header.extend([
            ("pass", false),
            ("fail", false),
            ("unknown", false),
            ("excepted", false),
            ("status", false),
        ]);
    }
    let mut t = grid(&header);
    for r in control_rows(set, coverage) {
        let mut row = vec![r.control, r.title, r.iso2013.join(" "), r.rules.join(" ")];
        if let Some(c) = r.counts {
            row.extend([
                c.pass.to_string(),
                c.fail.to_string(),
                c.unknown.to_string(),
                c.excepted.to_string(),
                c.status.to_string(),
            ]);
        }
        t.row(row);
    }
    format!("{}\n", render(&t))
}

/// Each vocabulary name with its meaning and every vendor grant that gives it, read from the
/// connectors' own mapping tables.
pub fn capabilities_document() -> serde_json::Value {
    let connectors = vendors::registry();
    let grants: Vec<(&str, Vec<vendors::Grant>)> =
        connectors.iter().map(|c| (c.name(), c.grants())).collect();
    let caps: Vec<serde_json::Value> = capability::VOCABULARY
        .iter()
        .map(|(name, meaning)| {
            let mut by_vendor = serde_json::Map::new();
            for (vendor, gs) in &grants {
                let granted: Vec<serde_json::Value> = gs
                    .iter()
                    .filter(|g| g.capabilities.contains(name))
                    .map(|g| serde_json::json!({"kind": g.kind, "name": g.name}))
                    .collect();
                let unverifiable: Vec<serde_json::Value> = gs
                    .iter()
                    .filter(|g| g.unverifiable.contains(name))
                    .map(|g| serde_json::json!({"kind": g.kind, "name": g.name}))
                    .collect();
                if !granted.is_empty() || !unverifiable.is_empty() {
                    let mut v = serde_json::json!({ "granted_by": granted });
                    if !unverifiable.is_empty() {
                        v["unverifiable_with"] = serde_json::json!(unverifiable);
                    }
                    by_vendor.insert((*vendor).to_string(), v);
                }
            }
            serde_json::json!({"name": name, "meaning": meaning, "vendors": by_vendor})
        })
        .collect();
    let vendor_grants: serde_json::Map<String, serde_json::Value> = grants
        .iter()
        .map(|(v, gs)| ((*v).to_string(), serde_json::json!(gs)))
        .collect();
    serde_json::json!({
        "capabilities": caps,
        "grants": vendor_grants,
        "aliases": capability::ALIASES
            .iter()
            .map(|(a, c)| serde_json::json!({"alias": a, "capability": c}))
            .collect::<Vec<_>>(),
    })
}

/// The vocabulary as a table: capability, meaning, and per vendor what grants it.
pub fn capabilities_table() -> String {
    let connectors = vendors::registry();
    let grants: Vec<(&str, Vec<vendors::Grant>)> =
        connectors.iter().map(|c| (c.name(), c.grants())).collect();
    let mut header = vec![("capability", false), ("meaning", true)];
    header.extend(grants.iter().map(|(v, _)| (*v, true)));
    let mut t = grid(&header);
    for (name, meaning) in capability::VOCABULARY {
        let mut row = vec![name.to_string(), meaning.to_string()];
        for (_, gs) in &grants {
            let mut cell: Vec<String> = gs
                .iter()
                .filter(|g| g.capabilities.contains(name))
                .map(|g| g.name.clone())
                .collect();
            cell.extend(
                gs.iter()
                    .filter(|g| g.unverifiable.contains(name))
                    .map(|g| format!("({} — unverifiable)", g.name)),
            );
            row.push(cell.join("\n"));
        }
        t.row(row);
    }
    let note = format!(
        "{} capabilities. `allowed_capabilities` in the inventory accepts only these names.",
        capability::VOCABULARY.len()
    );
    format!(
        "{}\n{}\n",
        render(&t),
        crate::report::table::wrap(&note, crate::report::table::stdout_width()).join("\n")
    )
}
