//! GitHub Actions workflow annotations, capped per level, plus the step-summary table.

use crate::guard::Clean;
use crate::run::{Finding, Outcome, Run, Severity};

/// Annotations GitHub shows per level and step.
pub const MAX_PER_LEVEL: usize = 10;

/// Escapes workflow-command data (actions/toolkit `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (actions/toolkit `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn level(f: &Finding) -> &'static str {
    if f.status == Outcome::Unknown {
        return "warning";
    }
    match f.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

fn anchor(f: &Finding, run: &Run) -> (Option<String>, Option<u64>, Option<u64>) {
    for l in &f.locations {
        if l.url.is_some() {
            if let Some(o) = &l.original {
                return (Some(o.path.clone()), Some(o.line), Some(o.column));
            }
            continue;
        }
        if let Some(p) = &l.path {
            return (Some(p.clone()), l.line, l.column);
        }
    }
    (
        run.inputs.inventory.as_ref().map(|i| i.path.clone()),
        None,
        None,
    )
}

fn annotation(f: &Finding, run: &Run) -> String {
    let (file, line, col) = anchor(f, run);
    let mut props = vec![];
    if let Some(p) = file {
        props.push(format!("file={}", escape_property(&String::from(&p))));
    }
    if let Some(l) = line {
        props.push(format!("line={l}"));
    }
    if let Some(c) = col {
        props.push(format!("col={c}"));
    }
    props.push(format!(
        "title={}",
        escape_property(&String::from(&format!(
            "{} {} ({})",
            f.rule,
            f.title,
            f.severity.as_str()
        )))
    ));
    let mut msg = String::from(&f.message);
    if f.status == Outcome::Unknown {
        msg = format!(
            "could not be checked: {msg}{}",
            f.reason
                .as_deref()
                .map(|r| format!(" ({})", String::from(r)))
                .unwrap_or_default()
        );
    }
    if let Some(u) = f.locations.iter().find_map(|l| l.url.as_deref())
        && !msg.contains(u)
    {
        msg.push_str(&format!(" [{}]", String::from(u)));
    }
    format!(
        "::{} {}::{}\n",
        level(f),
        props.join(","),
        escape_data(&msg)
    )
}

/// A `::warning` per weakened built-in rule, on the policy file's line, with the expression diff.
/// These come first, every one of them: a weakened gate must not hide behind findings (the step
/// summary lists them too).
fn weakened(run: &Run) -> String {
    let mut out = String::new();
    for w in &run.weakened_rules {
        let mut props = vec![];
        if !w.source.starts_with('/') && !w.source.contains("://") {
            props.push(format!("file={}", escape_property(&w.source)));
            if let Some(l) = w.line {
                props.push(format!("line={l}"));
            }
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("Weakened built-in rule {}", w.rule))
        ));
        let msg = super::weakened::lines(w).join("\n");
        out.push_str(&format!(
            "::warning {}::{}\n",
            props.join(","),
            escape_data(&msg)
        ));
    }
    out
}

/// Renders the annotations: a warning per weakened built-in rule, then findings most severe
/// first, at most [`MAX_PER_LEVEL`] per level, and a notice giving the count left out.
pub fn render(run: &Clean<Run>) -> String {
    let mut fs: Vec<&Finding> = run
        .findings
        .iter()
        .filter(|f| super::sarif::reportable(f))
        .collect();
    fs.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then((a.status == Outcome::Unknown).cmp(&(b.status == Outcome::Unknown)))
            .then_with(|| crate::run::finding_order(a, b))
    });
    let mut counts = std::collections::HashMap::new();
    // Weakened-rule warnings take warning slots first.
    counts.insert("warning", run.weakened_rules.len().min(MAX_PER_LEVEL));
    let mut lines = vec![weakened(run)];
    let mut left_out = 0usize;
    for f in fs {
        let lv = level(f);
        let n = counts.entry(lv).or_insert(0usize);
        // Keep one notice slot free for the summary notice.
        let cap = if lv == "notice" {
            MAX_PER_LEVEL - 1
        } else {
            MAX_PER_LEVEL
        };
        if *n >= cap {
            left_out += 1;
            continue;
        }
        *n += 1;
        lines.push(annotation(f, run));
    }
    let mut out = lines.concat();
    if left_out > 0 {
        out.push_str(&format!(
            "::notice title=vendorscope::{} more finding(s) not annotated (GitHub shows {} per level); see the step summary or the SARIF report\n",
            left_out, MAX_PER_LEVEL
        ));
    }
    out
}

/// The full findings table for `$GITHUB_STEP_SUMMARY` (Markdown).
pub fn step_summary(run: &Clean<Run>) -> String {
    super::markdown::render(run)
}
