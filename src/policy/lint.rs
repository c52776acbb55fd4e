//! Rule validation: required fields, control ids, CEL compilation with errors mapped to the
//! YAML line and column, expression limits, references to facts that do not exist, and rules
//! that can never apply.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr};

use super::{Defaults, Diagnostics, Expr, MAX_EXPRESSION_CHARS, RawRule, Rule, crosswalk};
use crate::run::{Confidence, Enforcement, Severity, SubjectKind};
use crate::yaml::Spanned;

/// Standard CEL functions rule authors may call (operators are always allowed).
const STDLIB: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "int",
    "uint",
    "double",
    "bool",
    "bytes",
    "type",
    "dyn",
    "max",
    "min",
];

/// Variables bound for every subject besides the subject itself.
pub const GLOBALS: &[&str] = &["now", "today", "run"];

/// The shared CEL environment (standard library and macros).
pub fn env() -> Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

/// First-level fact names of each subject kind, from the facts model's JSON Schema.
pub fn fields_of(kind: SubjectKind) -> &'static BTreeSet<String> {
    fn props(schema: schemars::Schema) -> BTreeSet<String> {
        let v = serde_json::to_value(schema).unwrap_or_default();
        v.get("properties")
            .and_then(|p| p.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
    static K: OnceLock<BTreeSet<String>> = OnceLock::new();
    static V: OnceLock<BTreeSet<String>> = OnceLock::new();
    static E: OnceLock<BTreeSet<String>> = OnceLock::new();
    static R: OnceLock<BTreeSet<String>> = OnceLock::new();
    match kind {
        SubjectKind::Key => K.get_or_init(|| props(schemars::schema_for!(crate::facts::KeyFacts))),
        SubjectKind::Vendor => {
            V.get_or_init(|| props(schemars::schema_for!(crate::facts::VendorFacts)))
        }
        SubjectKind::Exposure => {
            E.get_or_init(|| props(schemars::schema_for!(crate::facts::ExposureFacts)))
        }
        SubjectKind::Run => R.get_or_init(|| props(schemars::schema_for!(crate::facts::RunFacts))),
    }
}

/// Maps a 1-based (line, column) inside a CEL expression to the YAML file, given where the
/// scalar starts. Handles plain, quoted and block (`|`, `>`) scalars.
pub fn map_position(text: &str, scalar: (usize, usize), inner: (usize, usize)) -> (usize, usize) {
    let (sl, sc) = scalar;
    let (il, ic) = (inner.0.max(1), inner.1.max(1));
    let lines: Vec<&str> = text.lines().collect();
    let start_char = lines
        .get(sl.saturating_sub(1))
        .and_then(|l| l.chars().nth(sc.saturating_sub(1)));
    match start_char {
        Some('|') | Some('>') => {
            let indent = lines
                .iter()
                .skip(sl)
                .find(|l| !l.trim().is_empty())
                .map(|l| l.chars().take_while(|c| *c == ' ').count())
                .unwrap_or(0);
            (sl + il, indent + ic)
        }
        Some('"') | Some('\'') if il == 1 => (sl, sc + ic),
        _ if il == 1 => (sl, sc + ic - 1),
        // Block scalars: the span starts at the first content character; later lines keep
        // the same indentation (plain and quoted scalars fold their lines into one).
        _ => (sl + il - 1, sc - 1 + ic),
    }
}

/// Character offset → 1-based (line, column) inside `src`.
fn offset_to_pos(src: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in src.chars().enumerate() {
        if i == offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

struct Walk<'a> {
    subject: SubjectKind,
    program: &'a cel::Program,
    fields: BTreeSet<String>,
    /// (position, width, message).
    errors: Vec<((usize, usize), usize, String)>,
    src: &'a str,
}

impl Walk<'_> {
    fn pos(&self, id: u64) -> (usize, usize) {
        self.program
            .source_info()
            .offset_for(id)
            .map(|(s, _)| offset_to_pos(self.src, s as usize))
            .unwrap_or((1, 1))
    }

    fn visit(&mut self, e: &IdedExpr, bound: &mut Vec<String>, in_comprehension: bool) {
        match &e.expr {
            Ast::Comprehension(c) => {
                if in_comprehension {
                    let p = self.pos(e.id);
                    self.errors.push((
                        p,
                        1,
                        "nested comprehensions (all/exists/map/filter inside another) are not allowed"
                            .into(),
                    ));
                    return;
                }
                self.visit(&c.iter_range, bound, in_comprehension);
                self.visit(&c.accu_init, bound, in_comprehension);
                bound.push(c.iter_var.clone());
                if let Some(v) = &c.iter_var2 {
                    bound.push(v.clone());
                }
                bound.push(c.accu_var.clone());
                for x in [&c.loop_cond, &c.loop_step, &c.result] {
                    self.visit(x, bound, true);
                }
                bound.pop();
                if c.iter_var2.is_some() {
                    bound.pop();
                }
                bound.pop();
            }
            Ast::Select(s) => {
                if let Ast::Ident(root) = &s.operand.expr
                    && !bound.contains(root)
                {
                    self.root_field(root, &s.field, e.id, s.operand.id);
                    return;
                }
                self.visit(&s.operand, bound, in_comprehension);
            }
            Ast::Ident(name) => {
                if bound.contains(name) {
                    return;
                }
                let var = super::var_name(self.subject);
                if name != var && !GLOBALS.contains(&name.as_str()) {
                    let p = self.pos(e.id);
                    self.errors.push((
                        p,
                        name.chars().count(),
                        format!(
                            "unknown variable `{name}`: a {var} rule sees `{var}`, `run`, `now` and `today`"
                        ),
                    ));
                }
            }
            Ast::Call(call) => {
                let f = call.func_name.as_str();
                let known = f.starts_with('_')
                    || f.starts_with('@')
                    || f.starts_with('!')
                    || STDLIB.contains(&f)
                    || super::functions::CUSTOM.contains(&f);
                if !known {
                    // A call's offset is its `(`: point at the function name.
                    let (l, c) = self.pos(e.id);
                    let n = f.chars().count();
                    let p = if call.target.is_none() && c > n {
                        (l, c - n)
                    } else {
                        (l, c)
                    };
                    self.errors.push((p, n, format!("unknown function `{f}`")));
                }
                if let Some(t) = &call.target {
                    self.visit(t, bound, in_comprehension);
                }
                for a in &call.args {
                    self.visit(a, bound, in_comprehension);
                }
            }
            Ast::List(l) => {
                for x in &l.elements {
                    self.visit(x, bound, in_comprehension);
                }
            }
            Ast::Map(m) => {
                for en in &m.entries {
                    if let EntryExpr::MapEntry(me) = &en.expr {
                        self.visit(&me.key, bound, in_comprehension);
                        self.visit(&me.value, bound, in_comprehension);
                    }
                }
            }
            Ast::Struct(s) => {
                for en in &s.entries {
                    if let EntryExpr::StructField(sf) = &en.expr {
                        self.visit(&sf.value, bound, in_comprehension);
                    }
                }
            }
            Ast::Literal(_) | Ast::Unspecified => {}
        }
    }

    fn root_field(&mut self, root: &str, field: &str, id: u64, root_id: u64) {
        let var = super::var_name(self.subject);
        let kind = if root == var {
            Some(self.subject)
        } else if root == "run" {
            Some(SubjectKind::Run)
        } else {
            None
        };
        match kind {
            Some(k) => {
                if !fields_of(k).contains(field) {
                    // The select's offset is its `.`: point at the field name after it.
                    let (l, c) = self.pos(id);
                    let p = (l, c + 1);
                    let hint = crate::diag::suggest(field, fields_of(k).iter().map(String::as_str))
                        .map(|s| format!("did you mean `{root}.{s}`? "))
                        .unwrap_or_default();
                    self.errors.push((
                        p,
                        field.chars().count(),
                        format!(
                            "`{root}.{field}` is not a fact (the rule would always be unknown); {hint}{root} facts are: {}",
                            fields_of(k).iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                } else if root == var {
                    self.fields.insert(field.to_string());
                }
            }
            None => {
                let p = self.pos(root_id);
                self.errors.push((
                    p,
                    root.chars().count(),
                    format!(
                        "unknown variable `{root}`: a {var} rule sees `{var}`, `run`, `now` and `today`"
                    ),
                ));
            }
        }
    }
}

/// Compiles one expression, pushing every problem at its YAML position.
pub fn compile(
    file: &str,
    text: &str,
    spanned: &Spanned<String>,
    subject: SubjectKind,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Expr> {
    let src = spanned.value.as_str();
    let at = crate::yaml::position(spanned);
    if src.trim().is_empty() {
        diags.push(file, at, format!("{what} is empty"));
        return None;
    }
    let n = src.chars().count();
    if n > MAX_EXPRESSION_CHARS {
        diags.push(
            file,
            at,
            format!("{what} is {n} characters long (limit {MAX_EXPRESSION_CHARS})"),
        );
        return None;
    }
    let program = match env().compile(src) {
        Ok(p) => p,
        Err(errs) => {
            for e in &errs.errors {
                let inner = (e.pos.0.max(1) as usize, e.pos.1.max(1) as usize);
                diags.push_span(
                    file,
                    map_position(text, at, inner),
                    1,
                    crate::diag::code::CEL,
                    format!("{what}: CEL syntax error: {}", e.msg),
                );
            }
            if errs.errors.is_empty() {
                diags.push(file, at, format!("{what}: CEL syntax error"));
            }
            return None;
        }
    };
    let mut w = Walk {
        subject,
        program: &program,
        fields: BTreeSet::new(),
        errors: vec![],
        src,
    };
    let mut bound = vec![];
    w.visit(program.expression(), &mut bound, false);
    let errors = std::mem::take(&mut w.errors);
    let fields = std::mem::take(&mut w.fields);
    if !errors.is_empty() {
        for (p, len, m) in errors {
            diags.push_span(
                file,
                map_position(text, at, p),
                len,
                crate::diag::code::CEL,
                format!("{what}: {m}"),
            );
        }
        return None;
    }
    Some(Expr {
        source: src.to_string(),
        program: Arc::new(program),
        fields,
        pos: at,
    })
}

/// Builds a rule from its raw form (merging over `base` for an override of a built-in rule).
pub(super) fn build_rule(
    file: &str,
    text: &str,
    rr: RawRule,
    defaults: &Defaults,
    base: Option<&Rule>,
    diags: &mut Diagnostics,
) -> Option<Rule> {
    let id = rr.id.value.clone();
    let id_pos = crate::yaml::position(&rr.id);
    let before = diags.items.len();
    let missing = |diags: &mut Diagnostics, what: &str| {
        diags.push_code(
            file,
            id_pos,
            crate::diag::code::MISSING_FIELD,
            format!("rule {id}: missing `{what}`"),
        );
    };
    let title = rr
        .title
        .clone()
        .or_else(|| base.map(|b| b.title.clone()))
        .unwrap_or_else(|| {
            missing(diags, "title");
            String::new()
        });
    let severity: Severity = rr
        .severity
        .or_else(|| base.map(|b| b.severity))
        .or(defaults.severity)
        .unwrap_or_else(|| {
            missing(diags, "severity");
            Severity::Info
        });
    let confidence = rr
        .confidence
        .or_else(|| base.map(|b| b.confidence))
        .or(defaults.confidence)
        .unwrap_or(Confidence::High);
    let enforcement = rr
        .enforcement
        .or_else(|| base.map(|b| b.enforcement))
        .or(defaults.enforcement)
        .unwrap_or(Enforcement::Report);

    // Controls.
    let (controls_2022, controls_2013) = match &rr.controls {
        Some(list) => {
            let mut c22 = vec![];
            let mut c13 = vec![];
            for c in list {
                let p = crate::yaml::position(c);
                if !crosswalk::is_valid(&c.value) {
                    diags.push_code(
                        file,
                        p,
                        crate::diag::code::UNKNOWN_REFERENCE,
                        format!(
                            "rule {id}: unknown control id `{}` (expected e.g. `ISO27001:2022/A.5.17`)",
                            c.value
                        ),
                    );
                } else if c.value.starts_with(crosswalk::P2022) {
                    if c22.contains(&c.value) {
                        diags.push(
                            file,
                            p,
                            format!("rule {id}: control `{}` listed twice", c.value),
                        );
                    }
                    c22.push(c.value.clone());
                } else {
                    c13.push(c.value.clone());
                }
            }
            if c22.is_empty() && list.iter().all(|c| crosswalk::is_valid(&c.value)) {
                diags.push(
                    file,
                    id_pos,
                    format!("rule {id}: needs at least one `ISO27001:2022/…` control"),
                );
            }
            let cw = crosswalk::Crosswalk::get();
            if c13.is_empty() {
                for c in &c22 {
                    for d in cw.iso2013(c) {
                        if !c13.contains(&d) {
                            c13.push(d);
                        }
                    }
                }
            }
            (c22, c13)
        }
        None => match base {
            Some(b) => (b.controls_2022.clone(), b.controls_2013.clone()),
            None => {
                missing(diags, "controls");
                (vec![], vec![])
            }
        },
    };
    let controls_2013 = match &rr.controls_2013 {
        Some(list) => {
            let mut v = vec![];
            for c in list {
                if !c.value.starts_with(crosswalk::P2013) || !crosswalk::is_valid(&c.value) {
                    diags.push_code(
                        file,
                        crate::yaml::position(c),
                        crate::diag::code::UNKNOWN_REFERENCE,
                        format!(
                            "rule {id}: unknown 2013 control id `{}` (expected e.g. `ISO27001:2013/A.9.2.4`)",
                            c.value
                        ),
                    );
                } else {
                    v.push(c.value.clone());
                }
            }
            v
        }
        None => controls_2013,
    };

    // Scope and expressions.
    let subject = match (&rr.scope, base) {
        (Some(s), _) => s.subject.value,
        (None, Some(b)) => b.subject,
        (None, None) => {
            missing(diags, "scope");
            SubjectKind::Run
        }
    };
    if let (Some(b), Some(s)) = (base, &rr.scope)
        && s.subject.value != b.subject
        && rr.require.is_none()
    {
        diags.push(
            file,
            crate::yaml::position(&s.subject),
            format!("rule {id}: changing scope.subject needs a new `require`"),
        );
    }
    let where_ = match &rr.scope {
        Some(s) => match &s.where_ {
            Some(w) => compile(file, text, w, subject, "scope.where", diags),
            None => None,
        },
        None => base.and_then(|b| b.where_.clone()),
    };
    let require = match (&rr.require, base) {
        (Some(r), _) => compile(file, text, r, subject, "require", diags),
        (None, Some(b)) => Some(b.require.clone()),
        (None, None) => {
            missing(diags, "require");
            None
        }
    };
    let message = match (&rr.message, base) {
        (Some(m), _) => {
            if let Err((msg, line)) = super::check_template(&m.value) {
                let at = crate::yaml::position(m);
                diags.push_code(
                    file,
                    map_position(text, at, (line, 1)),
                    crate::diag::code::TEMPLATE,
                    format!("rule {id}: {msg}"),
                );
            }
            m.value.clone()
        }
        (None, Some(b)) => b.message.clone(),
        (None, None) => title.clone(),
    };
    if diags.items.len() > before {
        return None;
    }
    Some(Rule {
        id: id.clone(),
        enabled: rr.enabled.or(base.map(|b| b.enabled)).unwrap_or(true),
        title,
        description: rr
            .description
            .or_else(|| base.map(|b| b.description.clone()))
            .unwrap_or_default(),
        severity,
        confidence,
        enforcement,
        controls_2022,
        controls_2013,
        subject,
        where_,
        require: require?,
        message,
        remediation: rr
            .remediation
            .or_else(|| base.map(|b| b.remediation.clone()))
            .unwrap_or_default(),
        references: rr
            .references
            .or_else(|| base.map(|b| b.references.clone()))
            .unwrap_or_default(),
        docs: rr
            .docs
            .or_else(|| base.map(|b| b.docs.clone()))
            .unwrap_or_default(),
        tags: rr
            .tags
            .or_else(|| base.map(|b| b.tags.clone()))
            .unwrap_or_default(),
        source: file.to_string(),
    })
}

/// Rules whose `where` is false whatever the facts (it does not read the subject at all and
/// evaluates to false), and rules whose `require` is true whatever the facts.
pub(super) fn never_applies(rules: &[Rule], diags: &mut Diagnostics) {
    let env = env();
    let mut ctx = cel::Context::with_env(env);
    let now = jiff::Timestamp::now();
    if super::functions::register(&mut ctx, now).is_err() {
        return;
    }
    ctx.add_variable_from_value("now", now.to_string());
    ctx.add_variable_from_value(
        "today",
        now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
    );
    for r in rules {
        if let Some(w) = &r.where_
            && w.program.execute(&ctx) == Ok(cel::Value::Bool(false))
        {
            diags.push_code(
                &r.source,
                w.pos,
                crate::diag::code::NEVER_APPLIES,
                format!(
                    "rule {}: scope.where is always false: the rule can never apply",
                    r.id
                ),
            );
        }
        if r.require.program.execute(&ctx) == Ok(cel::Value::Bool(true)) {
            diags.push_code(
                &r.source,
                r.require.pos,
                crate::diag::code::NEVER_APPLIES,
                format!(
                    "rule {}: require is always true: the rule can never fail",
                    r.id
                ),
            );
        }
    }
}
