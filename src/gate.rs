//! The one exit-code mapping, used by every command.
//!
//! - `0` nothing fails the gate;
//! - `1` a finding fails the gate (a failing `block` rule, or with `--fail-on SEVERITY` any
//!   failing finding at or above it);
//! - `2` usage or configuration error; nothing was evaluated; or a requested output could not
//!   be written (2 wins over 1 and 3);
//! - `3` incomplete: a `block` rule is `unknown` and nothing returns 1 (`--allow-incomplete` → 0).

use crate::run::{Enforcement, Finding, Outcome, Severity};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_INCOMPLETE: u8 = 3;

/// Text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "Exit codes:\n  0  nothing fails the gate\n  1  a finding fails the gate (a failing `block` rule; with --fail-on SEVERITY, any failing finding at or above it)\n  2  usage or configuration error (nothing was evaluated), or an output that could not be written (2 wins over 1 and 3)\n  3  incomplete: a `block` rule is `unknown` (something could not be checked) and nothing returns 1; --allow-incomplete turns 3 into 0";

/// How the gate is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct GateOptions {
    pub fail_on: Option<Severity>,
    pub allow_incomplete: bool,
}

/// Whether one finding fails the gate.
pub fn fails_gate(f: &Finding, opts: GateOptions) -> bool {
    f.status == Outcome::Fail
        && match opts.fail_on {
            Some(min) => f.severity >= min || f.enforcement == Enforcement::Block,
            None => f.enforcement == Enforcement::Block,
        }
}

/// The exit code for a set of findings. 1 wins over 3.
pub fn exit_code<'a>(findings: impl IntoIterator<Item = &'a Finding>, opts: GateOptions) -> u8 {
    let mut incomplete = false;
    for f in findings {
        if fails_gate(f, opts) {
            return EXIT_FAIL;
        }
        if f.status == Outcome::Unknown && f.enforcement == Enforcement::Block {
            incomplete = true;
        }
    }
    if incomplete && !opts.allow_incomplete {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Confidence, Subject, SubjectKind};

    fn f(status: Outcome, sev: Severity, enf: Enforcement) -> Finding {
        Finding {
            rule: "R".into(),
            title: "t".into(),
            severity: sev,
            confidence: Confidence::High,
            enforcement: enf,
            status,
            subject: Subject {
                kind: SubjectKind::Run,
                id: "run".into(),
                vendor: None,
            },
            message: String::new(),
            locations: vec![],
            evidence: None,
            remediation: String::new(),
            controls: vec![],
            fingerprint: "x".into(),
            reason: None,
            exception: None,
        }
    }

    #[test]
    fn mapping() {
        let d = GateOptions::default();
        assert_eq!(exit_code(&[], d), 0);
        assert_eq!(
            exit_code(&[f(Outcome::Fail, Severity::Low, Enforcement::Block)], d),
            1
        );
        assert_eq!(
            exit_code(
                &[f(Outcome::Fail, Severity::Critical, Enforcement::Warn)],
                d
            ),
            0
        );
        let fo = GateOptions {
            fail_on: Some(Severity::High),
            allow_incomplete: false,
        };
        assert_eq!(
            exit_code(
                &[f(Outcome::Fail, Severity::Critical, Enforcement::Warn)],
                fo
            ),
            1
        );
        assert_eq!(
            exit_code(
                &[f(Outcome::Fail, Severity::Medium, Enforcement::Report)],
                fo
            ),
            0
        );
        let unk = f(Outcome::Unknown, Severity::High, Enforcement::Block);
        assert_eq!(exit_code(std::slice::from_ref(&unk), d), 3);
        let ai = GateOptions {
            fail_on: None,
            allow_incomplete: true,
        };
        assert_eq!(exit_code(std::slice::from_ref(&unk), ai), 0);
        // 1 wins over 3.
        assert_eq!(
            exit_code(
                &[unk, f(Outcome::Fail, Severity::Low, Enforcement::Block)],
                d
            ),
            1
        );
        assert_eq!(
            exit_code(
                &[f(Outcome::Excepted, Severity::Critical, Enforcement::Block)],
                d
            ),
            0
        );
    }
}
