//! Whole-file validation of the positioned YAML tree: structure (driven by the model's JSON
//! Schema, so field names never drift), then semantics (ids, connectors, URLs, references)
//! and live-looking values. Every problem is collected; nothing stops at the first one.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::live;
use super::model::NO_CONNECTOR;
use crate::diag::{Diagnostics, code, suggest};
use crate::vendors::capability;
use crate::yaml::{Node, Pos, Scalar, Value};

/// Connectors with an implementation: the names in `vendors::registry()`, so adding a vendor
/// folder and its registry line is all an inventory needs.
pub fn known_connectors() -> Vec<&'static str> {
    crate::vendors::registry()
        .iter()
        .map(|c| c.name())
        .collect()
}

/// Walks the tree; pushes every problem into `diags`; fills `spans` (path → position).
pub struct Validator<'a> {
    pub diags: &'a mut Diagnostics,
    /// The file the diagnostics are about.
    file: String,
    /// What the whole document is, in messages (`inventory`, `policy file`, …).
    root: &'static str,
    /// Whether random-looking values are reported as secrets (the inventory names where
    /// secrets come from; other formats hold fingerprints and ids).
    secrets: bool,
    pub spans: &'a mut HashMap<String, (usize, usize)>,
    schema: Json,
    /// Character ranges of values found to be secret-looking (for snippet masking).
    pub secret_spans: Vec<std::ops::Range<usize>>,
    /// Character ranges already reported by the raw-text scan.
    raw_spans: Vec<std::ops::Range<usize>>,
}

/// User text safe to quote in a message: never a live-looking value, never control chars.
fn quote(s: &str) -> String {
    if live::looks_live(s).is_some() {
        return "<redacted>".into();
    }
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(60)
        .collect();
    if s.chars().count() > 60 {
        format!("`{t}…`")
    } else {
        format!("`{t}`")
    }
}

fn node_len(n: &Node) -> usize {
    if n.start.line == n.end.line && n.end.col > n.start.col {
        n.end.col - n.start.col
    } else {
        1
    }
}

impl<'a> Validator<'a> {
    pub fn new(
        diags: &'a mut Diagnostics,
        spans: &'a mut HashMap<String, (usize, usize)>,
        raw_spans: Vec<std::ops::Range<usize>>,
    ) -> Self {
        let schema = serde_json::to_value(schemars::schema_for!(super::model::Inventory))
            .unwrap_or(Json::Null);
        Self::with_schema(diags, spans, schema, "inventory", raw_spans)
    }

    /// A validator of any YAML document against the JSON Schema of its model: the same
    /// field, type and value diagnostics (with did-you-mean) for every file format.
    pub fn with_schema(
        diags: &'a mut Diagnostics,
        spans: &'a mut HashMap<String, (usize, usize)>,
        schema: Json,
        root: &'static str,
        raw_spans: Vec<std::ops::Range<usize>>,
    ) -> Self {
        Validator {
            file: diags.file.clone(),
            diags,
            root,
            secrets: root == "inventory",
            spans,
            schema,
            secret_spans: Vec::new(),
            raw_spans,
        }
    }

    fn err(&mut self, at: &Node, msg: impl Into<String>) {
        self.err_code(at, code::INVALID_VALUE, msg);
    }

    fn err_code(&mut self, at: &Node, code: &'static str, msg: impl Into<String>) {
        self.diags.push_span(
            &self.file,
            (at.start.line, at.start.col),
            node_len(at),
            code,
            msg.into(),
        );
    }

    fn err_pos(&mut self, at: Pos, len: usize, code: &'static str, msg: impl Into<String>) {
        self.diags
            .push_span(&self.file, (at.line, at.col), len, code, msg.into());
    }

    /// Validates the whole inventory.
    pub fn run(&mut self, root: &Node) {
        self.scan_live(root, "");
        self.structure(root);
        self.semantics(root);
    }

    /// Checks the document's structure against the schema: fields, types, values.
    pub fn structure(&mut self, root: &Node) {
        let schema = self.schema.clone();
        self.check(root, &schema, "", self.root);
    }

    // ---- live-looking values anywhere (keys and values) ----

    fn scan_live(&mut self, n: &Node, path: &str) {
        match &n.value {
            Value::Scalar { text, .. } => {
                if let Some(what) = live::vendor_hits(text).first().map(|h| h.what) {
                    self.live_error(n, path, what);
                }
            }
            Value::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    self.scan_live(it, &format!("{path}[{i}]"));
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let name = k.text().unwrap_or("?");
                    let p = if path.is_empty() {
                        name.to_string()
                    } else {
                        format!("{path}.{name}")
                    };
                    if let Some(what) = k
                        .text()
                        .and_then(|t| live::vendor_hits(t).first().map(|h| h.what))
                    {
                        self.live_error(k, path, what);
                    } else {
                        self.scan_live(k, &p);
                    }
                    self.scan_live(v, &p);
                }
            }
        }
    }

    fn live_error(&mut self, n: &Node, path: &str, what: &str) {
        let span = n.start.index..n.end.index.max(n.start.index + 1);
        self.secret_spans.push(span.clone());
        // The raw spans are sorted and disjoint (merged hits): a binary search, not a scan.
        let k = self.raw_spans.partition_point(|r| r.end <= span.start);
        if self
            .raw_spans
            .get(k)
            .is_some_and(|r| r.start < span.end && span.start < r.end)
        {
            return;
        }
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" at `{}`", live::mask(path))
        };
        self.err_pos(
            n.start,
            6,
            code::LIVE_CREDENTIAL,
            format!(
                "this value looks like a live credential ({what}){at}; secrets never go in the \
                 inventory: reference them with `secret: {{env: NAME}}` or `{{file: PATH}}` and \
                 rotate this one if the file was ever shared"
            ),
        );
    }

    // ---- structure, driven by the JSON Schema ----

    fn lookup(&self, schema: &Json) -> (Json, Option<String>) {
        let mut s = schema.clone();
        let mut name = None;
        for _ in 0..8 {
            let Some(r) = s.get("$ref").and_then(Json::as_str) else {
                break;
            };
            let def = r.trim_start_matches("#/$defs/").to_string();
            let next = self
                .schema
                .get("$defs")
                .and_then(|d| d.get(&def))
                .cloned()
                .unwrap_or(Json::Null);
            name = Some(def);
            s = next;
        }
        (s, name)
    }

    fn record(&mut self, path: &str, n: &Node) {
        self.spans
            .entry(path.to_string())
            .or_insert((n.start.line, n.start.col));
    }

    fn check(&mut self, n: &Node, schema: &Json, path: &str, what: &str) {
        self.record(path, n);
        let (schema, def) = self.lookup(schema);
        let what_owned;
        let what = match &def {
            Some(d) => {
                what_owned = human(d);
                what_owned.as_str()
            }
            None => what,
        };
        if def.as_deref() == Some("Capability") {
            self.check_capability(n);
            return;
        }
        // Option<T>: anyOf [T, null].
        if let Some(any) = schema.get("anyOf").and_then(Json::as_array) {
            if matches!(n.scalar(), Some(Scalar::Null))
                && any
                    .iter()
                    .any(|b| b.get("type").and_then(Json::as_str) == Some("null"))
            {
                return;
            }
            let branches: Vec<&Json> = any
                .iter()
                .filter(|b| b.get("type").and_then(Json::as_str) != Some("null"))
                .collect();
            if let [only] = branches.as_slice() {
                let only = (*only).clone();
                self.check(n, &only, path, what);
                return;
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Json::as_array) {
            let consts: Vec<String> = one
                .iter()
                .filter_map(|b| b.get("const").and_then(Json::as_str).map(str::to_string))
                .collect();
            if consts.len() == one.len() {
                self.check_enum(n, &consts, what);
                return;
            }
            // One-of-objects with one required key each (externally tagged enums: SecretRef).
            let mut tags: Vec<(String, Json)> = Vec::new();
            for b in one {
                let (b, _) = self.lookup(b);
                if let Some(props) = b.get("properties").and_then(Json::as_object) {
                    for (k, v) in props {
                        tags.push((k.clone(), v.clone()));
                    }
                }
            }
            let Value::Map(entries) = &n.value else {
                let names: Vec<String> = tags.iter().map(|(k, _)| format!("`{k}`")).collect();
                self.err_code(
                    n,
                    code::WRONG_TYPE,
                    format!(
                        "expected a mapping with one of {} for {what}, found {}",
                        names.join(", "),
                        n.kind_name()
                    ),
                );
                self.random_where_reference(n, path);
                return;
            };
            let mut found = 0;
            for (k, v) in entries {
                let key = k.text().unwrap_or("");
                match tags.iter().find(|(t, _)| t == key) {
                    Some((t, s)) => {
                        found += 1;
                        if found > 1 {
                            self.err(
                                k,
                                format!("{what} takes exactly one of its forms; remove this one"),
                            );
                        }
                        let s = s.clone();
                        let p = format!("{path}.{t}");
                        self.check(v, &s, &p, what);
                    }
                    None => {
                        self.unknown_field(k, key, tags.iter().map(|(t, _)| t.as_str()), what);
                        self.random_where_reference(v, path);
                    }
                }
            }
            if found == 0
                && entries
                    .iter()
                    .all(|(k, _)| k.text().is_some_and(|t| tags.iter().any(|(x, _)| x == t)))
            {
                self.err_code(
                    n,
                    code::MISSING_FIELD,
                    format!("{what} needs one of `env`, `file`, `command`"),
                );
            }
            return;
        }
        if let Some(consts) = schema.get("enum").and_then(Json::as_array) {
            let consts: Vec<String> = consts
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect();
            self.check_enum(n, &consts, what);
            return;
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => vec![],
        };
        if types.contains(&"null") && matches!(n.scalar(), Some(Scalar::Null)) {
            return;
        }
        let field = path.rsplit('.').next().unwrap_or(path);
        if types.contains(&"object") {
            self.check_object(n, &schema, path, what);
        } else if types.contains(&"array") {
            let Value::Seq(items) = &n.value else {
                self.err_code(
                    n,
                    code::WRONG_TYPE,
                    format!("`{field}` must be a list, found {}", n.kind_name()),
                );
                return;
            };
            let item_schema = schema.get("items").cloned().unwrap_or(Json::Null);
            for (i, it) in items.iter().enumerate() {
                self.check(it, &item_schema, &format!("{path}[{i}]"), what);
            }
        } else if types.contains(&"string") {
            let text = match n.scalar() {
                Some(Scalar::Null) | None => {
                    self.err_code(
                        n,
                        code::WRONG_TYPE,
                        format!("`{field}` must be a string, found {}", n.kind_name()),
                    );
                    return;
                }
                Some(_) => n.text().unwrap_or(""),
            };
            if def.as_deref() == Some("IsoDuration") {
                let pattern_ok = schema
                    .get("pattern")
                    .and_then(Json::as_str)
                    .and_then(|p| regex::Regex::new(p).ok())
                    .is_none_or(|re| re.is_match(text));
                if !pattern_ok || text.len() < 3 || text.parse::<jiff::Span>().is_err() {
                    self.err(
                        n,
                        format!(
                            "`{field}` is not an ISO 8601 duration (examples: `P3M`, `P90D`, `P10Y`), found {}",
                            quote(text)
                        ),
                    );
                }
            } else if schema.get("format").and_then(Json::as_str) == Some("date")
                && text.parse::<jiff::civil::Date>().is_err()
            {
                self.err(
                    n,
                    format!(
                        "`{field}` is not a valid ISO 8601 date (YYYY-MM-DD), found {}",
                        quote(text)
                    ),
                );
            }
        } else if types.contains(&"integer") {
            let Some(Scalar::Int(v)) = n.scalar() else {
                self.err_code(
                    n,
                    code::WRONG_TYPE,
                    format!("`{field}` must be an integer, found {}", n.kind_name()),
                );
                return;
            };
            if let Some(c) = schema.get("const").and_then(Json::as_i64) {
                if v != i128::from(c) {
                    self.err(n, format!("`{field}` must be {c}, found {v}"));
                }
                return;
            }
            let min = schema.get("minimum").and_then(Json::as_f64);
            let max = schema.get("maximum").and_then(Json::as_f64);
            let vf = v as f64;
            if min.is_some_and(|m| vf < m) || max.is_some_and(|m| vf > m) {
                let lo = min.map_or("-∞".into(), |m| format!("{m}"));
                let hi = max.map_or("∞".into(), |m| format!("{m}"));
                self.err(
                    n,
                    format!("`{field}` must be between {lo} and {hi}, found {v}"),
                );
            }
        } else if types.contains(&"boolean") && !matches!(n.scalar(), Some(Scalar::Bool(_))) {
            self.err_code(
                n,
                code::WRONG_TYPE,
                format!("`{field}` must be true or false, found {}", n.kind_name()),
            );
        }
    }

    fn check_enum(&mut self, n: &Node, consts: &[String], what: &str) {
        let text = match n.scalar() {
            Some(Scalar::Str(t)) => t,
            _ => {
                self.err_code(
                    n,
                    code::WRONG_TYPE,
                    format!(
                        "expected one of {} for {what}, found {}",
                        list(consts),
                        n.kind_name()
                    ),
                );
                return;
            }
        };
        if !consts.iter().any(|c| c == text) {
            let hint = suggest(text, consts.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            self.err_code(
                n,
                code::UNKNOWN_VALUE,
                format!(
                    "unknown {what} {}; expected one of {}{hint}",
                    quote(text),
                    list(consts)
                ),
            );
        }
    }

    /// `allowed_capabilities` items: vocabulary names only; a synonym or a misspelling gets
    /// the vocabulary word it most likely means.
    fn check_capability(&mut self, n: &Node) {
        let Some(Scalar::Str(name)) = n.scalar() else {
            self.err_code(
                n,
                code::WRONG_TYPE,
                format!(
                    "a capability must be a name such as `orders.read`, found {}",
                    n.kind_name()
                ),
            );
            return;
        };
        if capability::is_known(name) {
            return;
        }
        let hint = capability_suggestion(name)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        self.err_code(
            n, code::UNKNOWN_VALUE,
            format!(
                "unknown capability {}{hint} (`vendorscope policy capabilities` lists the vocabulary)",
                quote(name)
            ),
        );
    }

    fn unknown_field<'s>(
        &mut self,
        k: &Node,
        key: &str,
        known: impl IntoIterator<Item = &'s str> + Clone,
        what: &str,
    ) {
        if live::looks_live(key).is_some() {
            // Already reported (vendor shape) or random-looking: report without quoting.
            if live::vendor_hits(key).is_empty() {
                self.live_error(
                    k,
                    "",
                    &format!("a random-looking value used as a field name in {what}"),
                );
            } else {
                self.secret_spans
                    .push(k.start.index..k.end.index.max(k.start.index + 1));
            }
            return;
        }
        let hint = suggest(key, known.clone())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| {
                let all: Vec<&str> = known.into_iter().collect();
                format!("; expected one of {}", list(&all))
            });
        self.err_code(
            k,
            code::UNKNOWN_FIELD,
            format!("unknown field {} in {what}{hint}", quote(key)),
        );
    }

    fn check_object(&mut self, n: &Node, schema: &Json, path: &str, what: &str) {
        let Value::Map(entries) = &n.value else {
            let field = path.rsplit('.').next().unwrap_or(path);
            let msg = if field.is_empty() {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Json::as_array)
                    .map(|r| r.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "the {} must be a mapping with {}, found {}",
                    self.root,
                    list(&required),
                    n.kind_name()
                )
            } else {
                format!(
                    "`{field}` must be a mapping ({what}), found {}",
                    n.kind_name()
                )
            };
            self.err_code(n, code::WRONG_TYPE, msg);
            return;
        };
        let empty = serde_json::Map::new();
        let props = schema
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty)
            .clone();
        let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
        for (k, v) in entries {
            let Some(key) = k.text() else {
                self.err_code(
                    k,
                    code::WRONG_TYPE,
                    format!("keys in {what} must be plain names"),
                );
                continue;
            };
            let p = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            match props.get(key) {
                Some(s) => self.check(v, s, &p, what),
                None if closed => {
                    self.unknown_field(k, key, props.keys().map(String::as_str), what);
                    // A random-looking value under an unknown name (`token: …`) is a secret.
                    if self.secrets {
                        self.random_anywhere(v);
                    }
                }
                // A map of free names to typed values (`field_categories`).
                None => {
                    if let Some(s @ Json::Object(_)) = schema.get("additionalProperties") {
                        self.check(v, s, &p, what);
                    }
                }
            }
        }
        if let Some(req) = schema.get("required").and_then(Json::as_array) {
            for r in req.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|(k, _)| k.text() == Some(r)) {
                    self.err_code(
                        n,
                        code::MISSING_FIELD,
                        format!("missing required field `{r}` in {what}"),
                    );
                }
            }
        }
    }

    /// Random-looking scalars anywhere below `n` are reported as live-looking values.
    fn random_anywhere(&mut self, n: &Node) {
        match &n.value {
            Value::Scalar { text, .. } => {
                if live::vendor_hits(text).is_empty() && !live::random_tokens(text).is_empty() {
                    self.live_error(n, "", "a random-looking secret value");
                }
            }
            Value::Seq(items) => items.iter().for_each(|i| self.random_anywhere(i)),
            Value::Map(entries) => {
                for (_, v) in entries {
                    self.random_anywhere(v);
                }
            }
        }
    }

    fn random_where_reference(&mut self, n: &Node, _path: &str) {
        self.random_anywhere(n);
    }

    // ---- semantics ----

    fn semantics(&mut self, root: &Node) {
        let mut vendor_ids: HashMap<String, Pos> = HashMap::new();
        let mut key_ids: HashMap<String, Pos> = HashMap::new();
        for v in root.get("vendors").map(Node::items).unwrap_or(&[]) {
            if let Some(id) = v.get("id") {
                self.unique(id, &mut vendor_ids, "vendor id");
            }
            self.connector(v);
            for d in v
                .get("webhook_destinations")
                .map(Node::items)
                .unwrap_or(&[])
            {
                if let Some(Scalar::Str(t)) = d.scalar()
                    && let Err(why) = host_pattern(t)
                {
                    self.err(
                        d,
                        format!(
                            "`webhook_destinations` entry {} {why}: write a host (`hooks.example.com`), `*.example.com` or `host:port`",
                            quote(t)
                        ),
                    );
                }
            }
            for k in v.get("keys").map(Node::items).unwrap_or(&[]) {
                if let Some(id) = k.get("id") {
                    self.unique(id, &mut key_ids, "key id");
                }
                if let Some(e) = k.get("endpoint") {
                    self.endpoint(e);
                }
                if let Some(d) = k.get("shop_domain")
                    && let Some(Scalar::Str(t)) = d.scalar()
                    && !is_shop_domain(t)
                {
                    self.err(
                        d,
                        format!(
                            "`shop_domain` must be `<shop>.myshopify.com`, found {}",
                            quote(t)
                        ),
                    );
                }
                if let Some(s) = k.get("secret") {
                    self.secret_ref(s);
                }
                self.audit_role(v, k);
            }
        }
        for s in root.get("surfaces").map(Node::items).unwrap_or(&[]) {
            if let Some(u) = s.get("url")
                && let Some(Scalar::Str(t)) = u.scalar()
            {
                match url::Url::parse(t) {
                    Ok(url)
                        if matches!(url.scheme(), "http" | "https")
                            && url.host_str().is_some_and(|h| !h.is_empty())
                            && url.username().is_empty()
                            && url.password().is_none() => {}
                    Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                        self.err(u, "surface URL must not contain credentials");
                    }
                    _ => self.err(
                        u,
                        format!(
                            "surface `url` must be an absolute http(s) URL, found {}",
                            quote(t)
                        ),
                    ),
                }
            }
        }
    }

    /// Every vendor names its connector, or says `connector: none` with a reason: a vendor
    /// whose keys are never probed says so in the file.
    fn connector(&mut self, v: &Node) {
        let Value::Map(entries) = &v.value else {
            return;
        };
        let reason = v.get("connector_reason");
        let Some(c) = v.get("connector") else {
            // A misspelt `connector` is already reported with its did-you-mean.
            let misspelt = entries.iter().any(|(k, _)| {
                k.text()
                    .filter(|t| !matches!(*t, "connector" | "connector_reason"))
                    .is_some_and(|t| suggest(t, ["connector"]).is_some())
            });
            if !misspelt {
                let id = v.get("id").and_then(Node::text).map_or_else(
                    || "this vendor".to_string(),
                    |t| format!("vendor {}", quote(t)),
                );
                let mut names = known_connectors();
                names.push(NO_CONNECTOR);
                self.err(
                    v,
                    format!(
                        "{id} has no `connector`: name one of {}; `connector: none` needs \
                         `connector_reason` saying why its keys are not probed",
                        list(&names)
                    ),
                );
            }
            return;
        };
        let Some(Scalar::Str(name)) = c.scalar() else {
            return;
        };
        if name == NO_CONNECTOR {
            let given = reason
                .and_then(Node::text)
                .is_some_and(|t| !t.trim().is_empty());
            if !given {
                self.err(
                    reason.unwrap_or(c),
                    "`connector: none` needs a `connector_reason` saying why this vendor's keys \
                     are not probed (they are reported `not_probed(no_connector)`)",
                );
            }
            return;
        }
        if !known_connectors().contains(&name) {
            let hint = suggest(name, known_connectors())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            self.err_code(
                c, code::UNKNOWN_VALUE,
                format!(
                    "unknown connector {}; known connectors: {}, or `none` with a `connector_reason`{hint}",
                    quote(name),
                    list(&known_connectors())
                ),
            );
            return;
        }
        if let Some(r) = reason {
            self.err(
                r,
                format!(
                    "`connector_reason` is only for `connector: none`; this vendor's keys are probed by `{name}`"
                ),
            );
        }
    }

    /// `role: audit` is for a server-side credential of a vendor whose connector makes audit
    /// observations (the least-privilege table).
    fn audit_role(&mut self, v: &Node, k: &Node) {
        let Some(r) = k.get("role") else {
            return;
        };
        if r.text() != Some("audit") {
            return;
        }
        if let Some(t) = k.get("type").and_then(Node::text)
            && matches!(
                t,
                "client_side" | "mobile" | "publishable" | "signing_secret"
            )
        {
            self.err(
                r,
                format!(
                    "`role: audit` needs a server-side API credential; a key of type `{t}` cannot list credentials, users or staff"
                ),
            );
            return;
        }
        let Some(c) = v.get("connector").and_then(Node::text) else {
            return;
        };
        if known_connectors().contains(&c)
            && crate::vendors::least_privilege::needs_of(c).is_empty()
        {
            let with: Vec<&str> = crate::vendors::least_privilege::table()
                .iter()
                .map(|n| n.vendor)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            self.err(
                r,
                format!(
                    "connector `{c}` makes no audit observations, so an audit key has nothing to do; `role: audit` is for {}",
                    list(&with)
                ),
            );
        }
    }

    fn unique(&mut self, id: &Node, seen: &mut HashMap<String, Pos>, what: &str) {
        let Some(Scalar::Str(t)) = id.scalar() else {
            return;
        };
        // Ids name findings in CI logs and reports: no escapes, line breaks or spaces.
        if t.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        }) {
            self.err(
                id,
                format!("{what} must not contain control characters, line breaks or spaces"),
            );
            return;
        }
        if let Some(first) = seen.get(t) {
            let (l, c) = (first.line, first.col);
            self.err_code(
                id,
                code::DUPLICATE_ID,
                format!("duplicate {what} {} (first defined at {l}:{c})", quote(t)),
            );
        } else {
            seen.insert(t.to_string(), id.start);
        }
    }

    fn endpoint(&mut self, e: &Node) {
        let Some(Scalar::Str(t)) = e.scalar() else {
            return;
        };
        let Ok(url) = url::Url::parse(t) else {
            self.err(e, format!("`endpoint` is not a valid URL: {}", quote(t)));
            return;
        };
        if !url.username().is_empty() || url.password().is_some() {
            self.err(e, "`endpoint` must not contain credentials");
            return;
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if loopback => {}
            "http" => self.err(
                e,
                "`endpoint` must use https (plain http is allowed only for loopback hosts: 127.0.0.0/8, ::1, localhost)",
            ),
            _ => self.err(e, "`endpoint` must be an https URL (or http on a loopback host)"),
        }
    }

    fn secret_ref(&mut self, s: &Node) {
        if let Some(env) = s.get("env")
            && let Some(Scalar::Str(name)) = env.scalar()
        {
            if live::looks_live(name).is_some() {
                if live::vendor_hits(name).is_empty() {
                    self.live_error(env, "", "a random-looking secret value where an environment variable name is expected");
                }
            } else if !is_env_name(name) {
                self.err(
                    env,
                    format!("`env` must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*), found {}", quote(name)),
                );
            }
        }
        if let Some(file) = s.get("file")
            && let Some(Scalar::Str(p)) = file.scalar()
            && live::vendor_hits(p).is_empty()
            && !p.contains('/')
            && !p.contains('.')
            && !live::random_tokens(p).is_empty()
        {
            self.live_error(
                file,
                "",
                "a random-looking secret value where a file path is expected",
            );
        }
        if let Some(cmd) = s.get("command")
            && let Value::Seq(items) = &cmd.value
        {
            if items.is_empty() {
                self.err(cmd, "`command` needs at least the program name");
            }
            for it in items {
                if let Some(t) = it.text()
                    && live::vendor_hits(t).is_empty()
                    && !live::random_tokens(t).is_empty()
                {
                    self.live_error(
                        it,
                        "",
                        "a random-looking secret value in a command argument",
                    );
                }
            }
        }
    }
}

/// The vocabulary word an unknown capability name most likely means: a known synonym first
/// (`products.read` → `catalog.read`), then the closest spelling.
pub fn capability_suggestion(name: &str) -> Option<&'static str> {
    capability::alias_of(name)
        .or_else(|| suggest(name, capability::VOCABULARY.iter().map(|(n, _)| *n)))
}

/// `KeyType` → `key type`, `SecretRef` → `secret reference`.
fn human(def: &str) -> String {
    if def == "SecretRef" {
        return "secret reference".into();
    }
    let mut out = String::new();
    for (i, c) in def.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `s` is a host pattern: `host`, `host:port` or `*.domain` (no scheme, path, query,
/// credentials or spaces). `Err` says what is wrong.
pub fn host_pattern(s: &str) -> Result<(), &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is empty");
    }
    if t.contains("://") {
        return Err("is a URL (the scheme is checked on its own: plain http is always a finding)");
    }
    if t.contains(['/', '?', '#', '@']) || t.contains(char::is_whitespace) {
        return Err("has a path, query, credentials or spaces");
    }
    let host = t.strip_prefix("*.").unwrap_or(t);
    let (host, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (host, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err("has a port that is not a number from 0 to 65535");
    }
    let ok = !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(())
    } else {
        Err("is not a host name")
    }
}

fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn is_shop_domain(s: &str) -> bool {
    s.strip_suffix(".myshopify.com").is_some_and(|name| {
        !name.is_empty()
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}
