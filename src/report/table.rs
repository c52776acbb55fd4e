//! Terminal tables (comfy-table): findings, keys and exposures, width-aware, colour only on a TTY.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::RenderOptions;
use crate::guard::Clean;
use crate::run::{Outcome, Run, Severity};

fn new_table(opts: RenderOptions) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = opts.width {
        t.set_width(w);
    }
    if !opts.color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    t
}

fn severity_cell(s: Severity, color: bool) -> Cell {
    let c = Cell::new(s.as_str());
    if !color {
        return c;
    }
    c.fg(match s {
        Severity::Critical => Color::Magenta,
        Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Blue,
        Severity::Info => Color::Grey,
    })
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "n/a",
        Outcome::Unverifiable => "unverifiable",
        Outcome::Unknown => "unknown",
        Outcome::Excepted => "excepted",
    }
}

/// Renders the run for a terminal.
pub fn render(run: &Clean<Run>, opts: RenderOptions) -> String {
    let mut out = String::new();
    if !run.keys.is_empty() {
        let mut t = new_table(opts);
        t.set_header(vec![
            "vendor",
            "key",
            "fingerprint",
            "status",
            "capabilities",
        ]);
        for k in &run.keys {
            // The facts say what the rules saw (offline, secret unavailable, not probed).
            let fact = run
                .facts
                .keys
                .iter()
                .find(|f| f.id == k.id && f.vendor == k.vendor);
            let (status, caps) = match (&k.profile, fact) {
                (Some(p), _) => (p.status.label(), p.capabilities.join(", ")),
                (None, Some(f)) => (
                    match &f.status_reason {
                        Some(r) => format!("{}({r})", f.status),
                        None => f.status.clone(),
                    },
                    String::new(),
                ),
                (None, None) if k.fingerprint.is_none() => {
                    ("inconclusive(secret_unavailable)".into(), String::new())
                }
                (None, None) => ("not probed".into(), String::new()),
            };
            t.add_row(vec![
                Cell::new(&k.vendor),
                Cell::new(&k.id),
                Cell::new(k.fingerprint.as_deref().unwrap_or("-")),
                Cell::new(status),
                Cell::new(caps),
            ]);
        }
        out.push_str(&format!("Keys ({})\n{t}\n\n", run.keys.len()));
    }
    if !run.exposures.is_empty() {
        let mut t = new_table(opts);
        t.set_header(vec![
            "vendor",
            "credential",
            "key",
            "where",
            "attributed to",
        ]);
        for e in &run.exposures {
            let mut place = e
                .location
                .url
                .clone()
                .or_else(|| e.location.path.clone())
                .unwrap_or_default();
            if let Some(l) = e.location.line {
                place.push_str(&format!(":{l}"));
                if let Some(c) = e.location.column {
                    place.push_str(&format!(":{c}"));
                }
            }
            if let Some(o) = &e.location.original {
                place.push_str(&format!("\n↳ {}:{}", o.path, o.line));
            }
            if let Some(g) = e.location.history_note() {
                place.push_str(&format!("\n{g}"));
            }
            if e.occurrences > 1 {
                place.push_str(&format!("\n({} occurrences here)", e.occurrences));
            }
            let kind = if e.public_by_design {
                format!("{} (public by design)", e.credential_type)
            } else {
                e.credential_type.clone()
            };
            t.add_row(vec![
                Cell::new(&e.vendor),
                Cell::new(kind),
                Cell::new(&e.evidence.redacted),
                Cell::new(String::from(&place)),
                Cell::new(e.inventory_key.as_deref().unwrap_or("unknown credential")),
            ]);
        }
        out.push_str(&format!("Exposures ({})\n{t}\n\n", run.exposures.len()));
    }
    let mut findings: Vec<_> = run.findings.iter().collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    if !findings.is_empty() {
        let mut t = new_table(opts);
        t.set_header(vec!["severity", "status", "rule", "subject", "message"]);
        for f in &findings {
            t.add_row(vec![
                severity_cell(f.severity, opts.color),
                Cell::new(outcome_str(f.status)),
                Cell::new(&f.rule),
                Cell::new(format!("{}:{}", subject_kind(f), f.subject.id)),
                Cell::new(String::from(&f.message)),
            ]);
        }
        out.push_str(&format!("Findings ({})\n{t}\n\n", findings.len()));
    }
    let fails = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Fail)
        .count();
    let unknown = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Unknown)
        .count();
    let excepted = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Excepted)
        .count();
    if !run.weakened_rules.is_empty() {
        let head = format!(
            "WEAKENED built-in rules ({}): a user policy disabled, lowered or rewrote them",
            run.weakened_rules.len()
        );
        let head = if opts.color {
            format!("\u{1b}[1;33m{head}\u{1b}[0m")
        } else {
            head
        };
        out.push_str(&format!(
            "{head}\n{}\n",
            super::weakened::text(&run.weakened_rules, "  ")
        ));
    }
    out.push_str(&format!(
        "{} keys, {} exposures, {} failing, {} unknown, {} excepted, {} errors{}\n",
        run.keys.len(),
        run.exposures.len(),
        fails,
        unknown,
        excepted,
        run.errors.len(),
        match run.weakened_rules.len() {
            0 => String::new(),
            n => format!(", {n} weakened rule(s)"),
        }
    ));
    for e in &run.errors {
        out.push_str(&format!(
            "  error [{}]{}: {}\n",
            e.stage,
            e.subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default(),
            String::from(&e.message)
        ));
    }
    out
}

fn subject_kind(f: &crate::run::Finding) -> &'static str {
    match f.subject.kind {
        crate::run::SubjectKind::Key => "key",
        crate::run::SubjectKind::Vendor => "vendor",
        crate::run::SubjectKind::Exposure => "exposure",
        crate::run::SubjectKind::Run => "run",
    }
}
