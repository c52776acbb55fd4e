//! `vendorscope exceptions check|schema`.

use crate::cli::ExceptionsCommand;
use crate::gate::{EXIT_CONFIG, EXIT_OK};
use crate::policy::{Exceptions, PolicySet};

use super::Ctx;

pub fn run(ctx: &Ctx, cmd: &ExceptionsCommand) -> anyhow::Result<u8> {
    match cmd {
        ExceptionsCommand::Schema => {
            let schema = crate::policy::exceptions::schema();
            ctx.out
                .stdout(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
            Ok(EXIT_OK)
        }
        ExceptionsCommand::Check {
            file,
            policies,
            max_exception_days,
        } => {
            let max_lifetime = match super::audit::lifetime(*max_exception_days) {
                Ok(l) => l,
                Err(e) => {
                    ctx.out.error(&e);
                    return Ok(EXIT_CONFIG);
                }
            };
            // The exceptions are checked against the rules they waive: the built-in pack and
            // the user policies (whose own problems are reported the same way).
            let (diags, summary) = match PolicySet::load_files(policies) {
                Err(d) => (d, None),
                Ok(set) => match Exceptions::load(file, max_lifetime) {
                    Err(d) => (d, None),
                    Ok(e) => {
                        let d = e.check_rules(&set);
                        (d, Some(e))
                    }
                },
            };
            let (text, json) = match &summary {
                Some(e) => {
                    let today = jiff::Zoned::now().date();
                    let expired = e.items.iter().filter(|x| x.expires < today).count();
                    (
                        format!(
                            "{}: ok — {} exception(s){}\n",
                            file.display(),
                            e.items.len(),
                            match expired {
                                0 => String::new(),
                                n => format!(", {n} expired (they no longer apply)"),
                            }
                        ),
                        serde_json::json!({
                            "exceptions": e.items.len(),
                            "expired": expired,
                            "fingerprint_check": e.fingerprint_check,
                        }),
                    )
                }
                None => (String::new(), serde_json::Value::Null),
            };
            Ok(super::print_diagnostics(ctx, &diags, &text, json))
        }
    }
}
