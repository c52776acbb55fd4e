//! The text every format shares for built-in rules a user policy weakened: one headline per
//! rule and, for a changed expression, the built-in text (`-`) against the user's (`+`).
//!
//! Policy files may come from a pull request: every line passes the single-line sanitiser here,
//! because these lines also go to stderr one by one, before any `Clean` run exists.

use crate::run::WeakenedRule;

use crate::guard::sanitize_line;

/// `built-in rule VKS-EXP-001 weakened by weaker.yaml:4: disabled`, then the indented diff lines.
pub fn lines(w: &WeakenedRule) -> Vec<String> {
    let mut out = vec![sanitize_line(&w.headline()).into_owned()];
    out.extend(
        w.diff_lines()
            .iter()
            .map(|l| format!("    {}", sanitize_line(l))),
    );
    out
}

/// Every weakened rule, one block each, `indent` before every line.
pub fn text(ws: &[WeakenedRule], indent: &str) -> String {
    let mut s = String::new();
    for w in ws {
        for l in lines(w) {
            s.push_str(indent);
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

/// The `--deny-weakened-rules` error: every weakened rule with what changed (exit 2).
pub fn deny_message(ws: &[WeakenedRule]) -> String {
    format!(
        "--deny-weakened-rules: user policies weaken {} built-in rule(s) ({}); nothing was evaluated:\n{}",
        ws.len(),
        ws.iter()
            .map(|w| w.rule.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        text(ws, "  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Weakening;

    #[test]
    fn expression_diffs_are_sanitised_line_by_line() {
        let w = WeakenedRule {
            rule: "VKS-EXP-001".into(),
            source: "p\u{1b}[2J.yaml".into(),
            line: Some(4),
            changes: vec![Weakening {
                field: "require".into(),
                builtin: "!key.exposed".into(),
                user: "true ||\n::error ::x".into(),
                line: Some(6),
            }],
        };
        let t = text(std::slice::from_ref(&w), "");
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(!t.lines().any(|l| l.trim_start().starts_with("::")), "{t}");
        assert!(t.contains("weakened by p.yaml:4: require changed"), "{t}");
        assert!(t.contains("    - !key.exposed\n"), "{t}");
        assert!(t.contains("    + true ||\n"), "{t}");
    }
}
