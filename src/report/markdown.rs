//! Markdown summary of a run: counts and the findings table (also the GitHub step summary).

use crate::guard::Clean;
use crate::run::{Finding, Outcome, Run, Severity};

/// Escapes text for a Markdown table cell: no HTML, no table breaks, no line breaks.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn place(f: &Finding) -> String {
    let mut parts = vec![];
    for l in &f.locations {
        let mut p = l.url.clone().or_else(|| l.path.clone()).unwrap_or_default();
        if p.is_empty() {
            continue;
        }
        if let Some(line) = l.line {
            p.push_str(&format!(":{line}"));
        }
        if let Some(o) = &l.original {
            p.push_str(&format!(" (original {}:{})", o.path, o.line));
        }
        if let Some(g) = l.history_note() {
            p.push_str(&format!(" ({g})"));
        }
        parts.push(p);
    }
    parts.join("; ")
}

/// Text for a fenced code block (already sanitised by `Clean`): no line can close the fence.
fn fenced(s: &str) -> String {
    s.replace("```", "`\u{200b}``")
}

/// The weakened built-in rules, before everything else: a table and each expression diff.
fn weakened_section(run: &Run) -> String {
    let mut out = format!(
        "## ⚠ Weakened built-in rules ({})\n\nA user policy disabled, lowered or rewrote these rules; the gate is weaker than the built-in pack.\n\n| rule | policy | change |\n|---|---|---|\n",
        run.weakened_rules.len()
    );
    for w in &run.weakened_rules {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&w.rule),
            cell(&w.place()),
            cell(&w.summary())
        ));
    }
    for w in run
        .weakened_rules
        .iter()
        .filter(|w| !w.diff_lines().is_empty())
    {
        out.push_str(&format!(
            "\n{} (built-in `-`, user policy `+`):\n\n```diff\n",
            cell(&w.rule)
        ));
        for c in w.changes.iter().filter(|c| c.is_expression()) {
            let name = if c.field == "where" {
                "scope.where"
            } else {
                "require"
            };
            out.push_str(&format!("@@ {name} @@\n"));
            for l in c.diff_lines() {
                out.push_str(&fenced(&l));
                out.push('\n');
            }
        }
        out.push_str("```\n");
    }
    out.push('\n');
    out
}

/// Renders the run as Markdown.
pub fn render(run: &Clean<Run>) -> String {
    let mut out = String::new();
    out.push_str("# vendorscope report\n\n");
    out.push_str(&format!(
        "Run `{}` ({}), {} → {}, vendorscope {}\n\n",
        cell(&run.run_id),
        cell(&run.command),
        cell(&run.started_at),
        cell(&run.finished_at),
        cell(&run.tool.version)
    ));
    if !run.weakened_rules.is_empty() {
        out.push_str(&weakened_section(run));
    }
    let count = |s: Outcome| run.findings.iter().filter(|f| f.status == s).count();
    out.push_str("| status | count |\n|---|---:|\n");
    for s in [Outcome::Fail, Outcome::Unknown, Outcome::Excepted] {
        out.push_str(&format!("| {} | {} |\n", s.as_str(), count(s)));
    }
    out.push_str("\n| severity | failing |\n|---|---:|\n");
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let n = run
            .findings
            .iter()
            .filter(|f| f.severity == sev && f.status == Outcome::Fail)
            .count();
        out.push_str(&format!("| {} | {} |\n", sev.as_str(), n));
    }
    let mut fs: Vec<&Finding> = run.findings.iter().collect();
    fs.sort_by(|a, b| crate::run::finding_order(a, b));
    out.push_str("\n## Findings\n\n");
    if fs.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| severity | status | rule | subject | message | location | key | controls |\n|---|---|---|---|---|---|---|---|\n");
        for f in fs {
            let status = match (&f.exception, f.status) {
                (Some(e), Outcome::Fail) if e.expired => "fail (exception expired)".to_string(),
                _ => f.status.as_str().to_string(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} {} | {} | {} | {} | {} |\n",
                f.severity.as_str(),
                status,
                cell(&f.rule),
                f.subject.kind.as_str(),
                cell(&f.subject.id),
                cell(&f.message),
                cell(&place(f)),
                cell(
                    &f.evidence
                        .as_ref()
                        .map(|e| e.redacted.clone())
                        .unwrap_or_default()
                ),
                cell(&f.controls.join(", "))
            ));
        }
    }
    let exc: Vec<&Finding> = run
        .findings
        .iter()
        .filter(|f| f.exception.is_some())
        .collect();
    if !exc.is_empty() {
        out.push_str("\n## Exceptions\n\n| exception | rule | subject | expires | state | approver | ticket | reason |\n|---|---|---|---|---|---|---|---|\n");
        for f in exc {
            if let Some(e) = &f.exception {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    cell(&e.id),
                    cell(&f.rule),
                    cell(&f.subject.id),
                    cell(&e.expires),
                    if e.expired { "**expired**" } else { "active" },
                    cell(&e.approver),
                    cell(e.ticket.as_deref().unwrap_or("")),
                    cell(&e.reason)
                ));
            }
        }
    }
    if !run.errors.is_empty() {
        out.push_str("\n## Errors\n\n");
        for e in &run.errors {
            out.push_str(&format!("- {}: {}\n", cell(&e.stage), cell(&e.message)));
        }
    }
    out
}
