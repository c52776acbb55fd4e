//! Custom CEL functions for rule authors: ISO 8601 durations relative to the bound `now`,
//! set helpers, and `unknown(reason)` for facts a rule knows it cannot decide.

use std::sync::Arc;

use cel::{Context, ExecutionError, Value};
use jiff::{Span, Timestamp, Zoned, civil::Date, tz::TimeZone};

/// Names of the functions this module adds (used by `policy lint` to flag unknown calls).
pub const CUSTOM: &[&str] = &[
    "older_than",
    "newer_than",
    "is_future",
    "duration_at_most",
    "subset_of",
    "intersects",
    "disjoint",
    "unknown",
];

fn ferr(func: &str, msg: impl ToString) -> ExecutionError {
    ExecutionError::function_error(func, msg)
}

/// Parses `YYYY-MM-DD` (start of day, UTC) or an RFC 3339 timestamp.
pub fn parse_instant(s: &str) -> Option<Zoned> {
    if let Ok(d) = s.parse::<Date>() {
        return d.to_zoned(TimeZone::UTC).ok();
    }
    s.parse::<Timestamp>()
        .ok()
        .map(|t| t.to_zoned(TimeZone::UTC))
}

/// Parses an ISO 8601 duration such as `P90D`, `P3M`, `P10Y`.
pub fn parse_duration(s: &str) -> Option<Span> {
    if !s.starts_with('P') && !s.starts_with('p') {
        return None;
    }
    s.parse::<Span>().ok()
}

fn instant(func: &str, s: &str) -> Result<Zoned, ExecutionError> {
    parse_instant(s).ok_or_else(|| ferr(func, format!("`{s}` is not a date (YYYY-MM-DD)")))
}

fn duration(func: &str, s: &str) -> Result<Span, ExecutionError> {
    parse_duration(s).ok_or_else(|| ferr(func, format!("`{s}` is not an ISO 8601 duration")))
}

fn strings(func: &str, list: &[Value]) -> Result<Vec<Arc<String>>, ExecutionError> {
    list.iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(ferr(
                func,
                format!("expected a list of strings, found {:?}", other.type_of()),
            )),
        })
        .collect()
}

/// Adds every custom function to a root context; `now` is the evaluation time.
pub fn register(ctx: &mut Context<'_, '_>, now: Timestamp) -> Result<(), cel::DeclarationError> {
    let now_z = now.to_zoned(TimeZone::UTC);
    let n1 = now_z.clone();
    ctx.add_function(
        "older_than",
        move |d: Arc<String>, p: Arc<String>| -> Result<Value, ExecutionError> {
            let d = instant("older_than", &d)?;
            let p = duration("older_than", &p)?;
            let cutoff = n1
                .checked_sub(p)
                .map_err(|e| ferr("older_than", e.to_string()))?;
            Ok(Value::Bool(d < cutoff))
        },
    )?;
    let n2 = now_z.clone();
    ctx.add_function(
        "newer_than",
        move |d: Arc<String>, p: Arc<String>| -> Result<Value, ExecutionError> {
            let d = instant("newer_than", &d)?;
            let p = duration("newer_than", &p)?;
            let cutoff = n2
                .checked_sub(p)
                .map_err(|e| ferr("newer_than", e.to_string()))?;
            Ok(Value::Bool(d >= cutoff))
        },
    )?;
    let n3 = now_z.clone();
    ctx.add_function(
        "is_future",
        move |d: Arc<String>| -> Result<Value, ExecutionError> {
            // A date is valid through its whole day.
            let d = instant("is_future", &d)?;
            let end = d
                .checked_add(Span::new().days(1))
                .map_err(|e| ferr("is_future", e.to_string()))?;
            Ok(Value::Bool(end > n3))
        },
    )?;
    let n4 = now_z;
    ctx.add_function(
        "duration_at_most",
        move |a: Arc<String>, b: Arc<String>| -> Result<Value, ExecutionError> {
            let a = duration("duration_at_most", &a)?;
            let b = duration("duration_at_most", &b)?;
            let ord = a
                .compare((b, &n4))
                .map_err(|e| ferr("duration_at_most", e.to_string()))?;
            Ok(Value::Bool(ord != std::cmp::Ordering::Greater))
        },
    )?;
    ctx.add_function(
        "subset_of",
        |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| -> Result<Value, ExecutionError> {
            let a = strings("subset_of", &a)?;
            let b = strings("subset_of", &b)?;
            Ok(Value::Bool(a.iter().all(|x| b.contains(x))))
        },
    )?;
    ctx.add_function(
        "intersects",
        |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| -> Result<Value, ExecutionError> {
            let a = strings("intersects", &a)?;
            let b = strings("intersects", &b)?;
            Ok(Value::Bool(a.iter().any(|x| b.contains(x))))
        },
    )?;
    ctx.add_function(
        "disjoint",
        |a: Arc<Vec<Value>>, b: Arc<Vec<Value>>| -> Result<Value, ExecutionError> {
            let a = strings("disjoint", &a)?;
            let b = strings("disjoint", &b)?;
            Ok(Value::Bool(!a.iter().any(|x| b.contains(x))))
        },
    )?;
    ctx.add_function(
        "unknown",
        |reason: Arc<String>| -> Result<Value, ExecutionError> { Err(ferr("unknown", reason)) },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str) -> Result<Value, ExecutionError> {
        let env = Arc::new(cel::Env::stdlib());
        let mut ctx = Context::with_env(env.clone());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().expect("ts");
        register(&mut ctx, now).expect("register");
        let p = env.compile(expr).expect("compile");
        p.execute(&ctx)
    }

    #[test]
    fn durations_and_sets() {
        assert_eq!(
            run("older_than('2026-01-01', 'P90D')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            run("newer_than('2026-05-01', 'P90D')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            run("newer_than('2025-05-01', 'P12M')"),
            Ok(Value::Bool(false))
        );
        assert_eq!(run("duration_at_most('P3M', 'P3M')"), Ok(Value::Bool(true)));
        assert_eq!(
            run("duration_at_most('P90D', 'P3M')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            run("duration_at_most('P6M', 'P3M')"),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            run("duration_at_most('P10Y', 'P10Y')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(run("is_future('2026-06-01')"), Ok(Value::Bool(true)));
        assert_eq!(run("is_future('2026-05-31')"), Ok(Value::Bool(false)));
        assert_eq!(run("subset_of(['a'], ['a', 'b'])"), Ok(Value::Bool(true)));
        assert_eq!(run("subset_of(['c'], ['a', 'b'])"), Ok(Value::Bool(false)));
        assert_eq!(run("intersects(['a'], ['a', 'b'])"), Ok(Value::Bool(true)));
        assert_eq!(run("disjoint(['a'], ['a', 'b'])"), Ok(Value::Bool(false)));
        assert!(run("older_than('yesterday', 'P1D')").is_err());
        assert!(run("older_than('2026-01-01', '90 days')").is_err());
        assert!(run("unknown('no probe')").is_err());
        assert!(run("subset_of([1], ['a'])").is_err());
    }
}
