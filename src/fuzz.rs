//! Fuzz entry points: one per parser of outside input, each calling the real parser and
//! asserting its invariants (no panic, bounded output, no raw key in error text). The same
//! functions serve `tests/fuzz.rs` (proptest), `bench/fuzz.sh` and the cargo-afl crate in
//! `fuzz/`; a broken invariant is a panic, which every driver reports as a crash.

use std::sync::{Arc, LazyLock};

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::exposure::{Detectors, Scanner, decode, srcmap};

/// Inputs larger than this are cut: the drivers are after logic bugs, not throughput, and
/// each target must stay well under a second per case.
pub const MAX_INPUT: usize = 256 << 10;

/// A fuzz target: panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, for drivers that pick one from the command line.
pub const TARGETS: &[(&str, Target)] = &[
    ("inventory_yaml", inventory_yaml),
    ("policy_yaml", policy_yaml),
    ("exceptions_yaml", exceptions_yaml),
    ("detector_rules", detector_rules),
    ("run_document", run_document),
    ("source_map", source_map),
    ("html", html),
    ("js", js),
    ("crawl_documents", crawl_documents),
    ("exposure", exposure),
    ("decode", decode_layers),
    ("guard", guard),
    ("vendor_body", vendor_body),
    ("vendor_headers", vendor_headers),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn cut(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(cut(data))
}

/// Output grows at most linearly with the input (with a constant for fixed texts).
fn bounded(what: &str, out_len: usize, in_len: usize, per_byte: usize, fixed: usize) {
    let cap = in_len.saturating_mul(per_byte).saturating_add(fixed);
    assert!(
        out_len <= cap,
        "{what}: {out_len} bytes of output for {in_len} bytes of input (cap {cap})"
    );
}

/// Live-looking values of `text` (the inventory's own detector) never appear in `out`.
fn no_live_value(what: &str, text: &str, out: &str) {
    for h in crate::inventory::live::vendor_hits(text) {
        let raw = &text[h.range.clone()];
        // A value that also occurs where the detector does not match it (a repeated run) may
        // stay there; one that occurs only at the hit must be gone.
        if text.find(raw) != text.rfind(raw) {
            continue;
        }
        assert!(
            !out.contains(raw),
            "{what}: a live-looking value ({}) appears unmasked",
            crate::secret::redact(raw)
        );
    }
}

/// Inventory YAML: parse, validate, diagnostics; a live-looking value is never echoed.
pub fn inventory_yaml(data: &[u8]) {
    let data = cut(data);
    match crate::inventory::load_bytes("fuzz.yaml", data, None) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                no_live_value("inventory warning", &String::from_utf8_lossy(data), w);
            }
        }
        Err(d) => {
            let rendered = d.render();
            bounded(
                "inventory diagnostics",
                rendered.len(),
                data.len(),
                64,
                64 << 10,
            );
            if let Ok(text) = std::str::from_utf8(data) {
                no_live_value("inventory diagnostics", text, &rendered);
            }
        }
    }
}

static FACTS: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../fixtures/policy/shop.json"))
        .unwrap_or(serde_json::Value::Null)
});

fn fixed_now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_780_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// User policy YAML with CEL: load over the built-in pack, lint, evaluate over fixture facts.
pub fn policy_yaml(data: &[u8]) {
    let text = text(data);
    let lint = crate::policy::lint_str("fuzz.yaml", &text);
    bounded("policy lint", lint.render().len(), text.len(), 64, 64 << 10);
    match crate::policy::PolicySet::load_str("fuzz.yaml", &text) {
        Ok(set) => {
            let ev = crate::policy::eval::evaluate_json(
                &set,
                &FACTS,
                &crate::policy::exceptions::Exceptions::none(),
                fixed_now(),
                "check:fuzz",
            );
            for f in &ev.findings {
                bounded("policy message", f.message.len(), text.len(), 16, 64 << 10);
            }
        }
        Err(d) => bounded(
            "policy diagnostics",
            d.render().len(),
            text.len(),
            64,
            64 << 10,
        ),
    }
}

/// Exceptions YAML: parse, validate, then match against a few subjects (location globs).
pub fn exceptions_yaml(data: &[u8]) {
    use crate::run::SubjectKind;
    let text = text(data);
    let today = jiff::civil::date(2026, 6, 1);
    let max = jiff::Span::new().days(90);
    let Ok(ex) = crate::policy::exceptions::Exceptions::from_str("fuzz.yaml", &text, max, today)
    else {
        return;
    };
    let mut usage = ex.new_usage();
    let subjects = [
        (
            SubjectKind::Key,
            serde_json::json!({"id": "k", "vendor": "stripe"}),
        ),
        (
            SubjectKind::Exposure,
            serde_json::json!({"vendor": "stripe", "inventory_key": "k",
                "location": "dist/app.js", "original": "src/a.ts", "fingerprint": "vsfp:x"}),
        ),
        (SubjectKind::Vendor, serde_json::json!({"id": "shopify"})),
        (SubjectKind::Run, serde_json::json!({})),
    ];
    for e in &ex.items {
        for (kind, s) in &subjects {
            let _ = ex.find(&e.rule, *kind, s, fixed_now(), "check:fuzz", &mut usage);
        }
    }
    let _ = ex.report(&usage);
    let _ = ex.as_changes();
    if let Ok(set) = crate::policy::PolicySet::load_builtin() {
        let _ = ex.check_rules(&set);
    }
}

/// User detector rule files (`--detectors`): parse and compile, then run on the input itself.
pub fn detector_rules(data: &[u8]) {
    let text = text(data);
    let Ok(rules) = crate::exposure::rules::parse("fuzz.yaml", &text) else {
        return;
    };
    if let Ok(d) = Detectors::new(rules) {
        for h in d.find(text.as_bytes()) {
            assert!(
                h.start <= h.end && h.end <= text.len(),
                "hit outside the buffer"
            );
        }
    }
}

static FINGERPRINTER: LazyLock<crate::secret::Fingerprinter> = LazyLock::new(|| {
    crate::secret::Fingerprinter::from_bytes(b"fuzz", crate::secret::KeyOrigin::Fixed)
});

/// The output guard on outside text: the filter masks a registered key planted anywhere in the
/// text (at most 15 of its characters may survive at a cut), the sanitiser leaves no control
/// character, line break or `::`, and the URL redactor keeps no userinfo.
pub fn guard(data: &[u8]) {
    const KEY: &str = "sk_live_Fz9Qw3Er7Ty1Ui5Op2As6Df";
    let text = text(data);
    let r = crate::guard::Redactor::new();
    r.add_value(KEY);
    let mid = text.len() / 2;
    let mid = (0..=mid)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let planted = format!("{}{KEY}{}", &text[..mid], &text[mid..]);
    let out = r.filter(&planted);
    assert!(!out.contains(KEY), "filter left the planted key");
    bounded("filter", out.len(), planted.len(), 2, 1 << 10);
    let clean = crate::guard::sanitize_line(&text);
    assert!(
        !clean.chars().any(|c| c.is_control() && c != '\t') && !clean.contains("::"),
        "sanitiser left a control character or `::`"
    );
    let multi = crate::guard::sanitize_text(&text);
    assert!(multi.lines().all(|l| !l.trim_start().starts_with("::")));
    let u = crate::guard::url::redact_url(&text, &r);
    if let Ok(parsed) = url::Url::parse(&u) {
        assert!(
            parsed.cannot_be_a_base() || !crate::guard::url::has_userinfo(&parsed),
            "userinfo kept"
        );
    }
}

/// Run documents as `report`, `diff`/`audit --previous`/`merge` and `--known-keys` read
/// them; a document that parses is rendered in every format and diffed against itself.
pub fn run_document(data: &[u8]) {
    use crate::report::Format;
    let text = text(data);
    let a = crate::commands::report::parse_run("fuzz.json", &text);
    let b = crate::commands::diff::parse_run("fuzz.json", &text);
    let _ = crate::commands::scan::parse_known_keys("fuzz.json", &text, &FINGERPRINTER);
    let Some(run) = a.ok().or(b.ok()) else {
        return;
    };
    let Ok(run) = crate::guard::Clean::new(&run, &crate::guard::Redactor::new()) else {
        return;
    };
    for f in <Format as clap::ValueEnum>::value_variants() {
        if let Ok(out) = crate::report::render(&run, *f, crate::report::RenderOptions::default()) {
            bounded(f.name(), out.len(), text.len(), 64, 1 << 20);
        }
    }
    let _ = crate::report::html::render(&run, Some(&run));
    let d = crate::commands::diff::diff(&run, &run);
    assert!(
        d.new.is_empty() && d.resolved.is_empty(),
        "a run differs from itself"
    );
    let _ = crate::commands::diff::ensure_comparable(&run, "a", &run, "b");
    if let Some(v) = run.facts.vendors.first() {
        let _ = crate::report::scope::vendor_only(&run, &v.id);
    }
    if let Some(s) = run.inputs.options.get("shard") {
        let _ = s.parse::<crate::shard::Shard>();
    }
}

/// Source maps: layout, `sourcesContent` positions, mappings lookup, `data:` URIs, and the
/// scanner attributing a planted key through the map (inline and referenced).
pub fn source_map(data: &[u8]) {
    let map = cut(data);
    if let Ok(layout) = srcmap::layout(map) {
        for &(s, e) in layout.contents.iter().take(64) {
            for off in [s, (s + e) / 2, e.saturating_sub(1)] {
                if let Some(o) = layout.original_at(map, off) {
                    assert!(
                        o.line as usize <= map.len() + 1 && o.column as usize <= map.len() + 1,
                        "original position beyond the map"
                    );
                }
            }
        }
    }
    let positions: Vec<(u64, u64)> = [(1, 1), (1, 40), (2, 1), (3, 17), (1, u64::MAX)]
        .into_iter()
        .chain(map.chunks(8).take(8).map(|c| {
            let n = c
                .iter()
                .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)));
            (n % 50 + 1, n % 400 + 1)
        }))
        .chain([(u64::MAX, u64::MAX), (0, 0)])
        .collect();
    if let Ok(found) = srcmap::lookup(map, &positions) {
        assert_eq!(found.len(), positions.len(), "one answer per position");
    }
    let _ = srcmap::mapping_url(map);
    if let Ok(s) = std::str::from_utf8(map) {
        let _ = srcmap::data_uri(s);
        let _ = srcmap::data_uri(&format!("data:application/json,{s}"));
    }
    // Attribution through the scanner: a key on line 2 of a bundle, with the map inline.
    let key = planted_key(map);
    let b64 = base64::engine::general_purpose::STANDARD.encode(map);
    let bundle = format!(
        "var a=1;\nvar k=\"{key}\";\n//# sourceMappingURL=data:application/json;base64,{b64}\n"
    );
    let out = SCANNER.scan_bytes("fuzz/app.js", bundle.as_bytes());
    check_scan(&out, bundle.len());
    // And referenced, through a map source (the artifact walker's and the crawler's path).
    struct One<'a>(&'a [u8]);
    impl crate::exposure::scan::MapSource for One<'_> {
        fn load(&self, _: &str) -> Result<Option<crate::exposure::scan::MapBytes>, String> {
            Ok(Some(Box::new(self.0.to_vec())))
        }
    }
    let bundle = format!("var k=\"{key}\";\n//# sourceMappingURL=app.js.map\n");
    let out = SCANNER.scan_bytes_with("fuzz/app.js", bundle.as_bytes(), &One(map));
    check_scan(&out, bundle.len());
    // And deferred: the crawler's path, where the map arrives after the bundle.
    let out = SCANNER.scan_bytes_deferred("fuzz/app.js", bundle.as_bytes());
    check_scan(&out, bundle.len());
    let _ = crate::exposure::scan::attribute_with_map(out.hits, &out.positions, map, 10);
}

fn page_url() -> Url {
    Url::parse("https://shop.example.com/app/index.html").unwrap_or_else(|_| {
        // A constant URL; `Url::parse` cannot fail on it.
        Url::parse("http://a/").unwrap_or_else(|_| unreachable!())
    })
}

fn check_refs(what: &str, refs: &[crate::crawl::extract::Ref], in_len: usize) {
    bounded(what, refs.len(), in_len, 1, 16);
    for r in refs {
        assert!(
            matches!(r.url.scheme(), "http" | "https"),
            "{what}: a reference with scheme {}",
            r.url.scheme()
        );
    }
}

/// HTML extraction (the crawler's page parser).
pub fn html(data: &[u8]) {
    let data = cut(data);
    let refs = crate::crawl::extract::html(data, &page_url());
    check_refs("html refs", &refs, data.len());
    check_refs(
        "__NEXT_DATA__ refs",
        &crate::crawl::extract::next_data(data, &page_url()),
        data.len(),
    );
}

/// JavaScript extraction: imports, chunk URLs, `sourceMappingURL`.
pub fn js(data: &[u8]) {
    let data = cut(data);
    let r = crate::crawl::extract::js(data, &page_url());
    check_refs("js refs", &r.refs, data.len());
    let _ = crate::crawl::extract::source_map_comment(data);
}

/// Other crawled documents: JSON manifests, sitemaps, robots.txt, link resolution.
pub fn crawl_documents(data: &[u8]) {
    use crate::crawl::extract;
    let data = cut(data);
    let base = page_url();
    check_refs(
        "manifest refs",
        &extract::json_manifest(data, &base),
        data.len(),
    );
    check_refs("sitemap refs", &extract::sitemap(data, &base), data.len());
    let text = String::from_utf8_lossy(data);
    let robots = extract::Robots::parse(&text, "vendorscope");
    for p in ["/", "/app/main.js", "/private/x?y=1", "/a*b$"] {
        let _ = robots.allows(p);
    }
    for line in text.lines().take(64) {
        let _ = robots.allows(line);
        let _ = extract::resolve(&base, line);
        let _ = extract::role_from_path(line);
    }
}

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let detectors = Detectors::load(&[]).unwrap_or_else(|e| panic!("built-in rules: {e:?}"));
    Scanner::new(Arc::new(detectors))
});

/// A synthetic Stripe-shaped key derived from the input (never a real one).
fn planted_key(seed: &[u8]) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.iter().take(4096) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let body: String = (0..24)
        .map(|i| {
            h = h.rotate_left(7).wrapping_add(i);
            ALPHA[(h % ALPHA.len() as u64) as usize] as char
        })
        .collect();
    format!("sk_live_{body}")
}

/// A scan's invariants: hits inside the buffer, and no found value in any error or warning
/// message (subjects are paths; the output filter redacts them).
fn check_scan(out: &crate::exposure::ScanOutput, in_len: usize) {
    bounded(
        "scan errors",
        out.errors.len() + out.warnings.len(),
        in_len,
        1,
        64,
    );
    for h in &out.hits {
        let raw = h.secret.expose();
        assert!(!raw.is_empty(), "empty hit");
        for (_, m) in out.errors.iter().chain(&out.warnings) {
            assert!(
                !m.contains(raw),
                "a found key ({}) appears in an error message",
                h.secret.redacted()
            );
        }
        if let Some(o) = h.location.offset {
            assert!(
                o <= in_len as u64 || h.location.container.is_some(),
                "offset past the end"
            );
        }
    }
}

/// The exposure scanner on one buffer under several names (plain, `.br`, `.tar`, `.gz`):
/// containers, decoding layers, detectors, line/column.
pub fn exposure(data: &[u8]) {
    let data = cut(data);
    let name = match data.first().map(|b| b % 4) {
        Some(1) => "fuzz/asset.js.br",
        Some(2) => "fuzz/bundle.tar",
        Some(3) => "fuzz/page.html",
        _ => "fuzz/app.js",
    };
    let out = SCANNER.scan_bytes(name, data);
    check_scan(&out, data.len());
    for h in SCANNER.detectors.find(data) {
        assert!(
            h.start <= h.end && h.end <= data.len(),
            "hit outside the buffer"
        );
    }
}

/// Decoders and the small text functions that see found values: escapes, redaction, masking.
pub fn decode_layers(data: &[u8]) {
    let data = cut(data);
    let mut out = Vec::new();
    let mut last = 0;
    for (s, e) in decode::regions(data) {
        assert!(
            s >= last && s <= e && e <= data.len(),
            "regions out of order"
        );
        last = e;
        let raw = &data[s..e];
        decode::decode_into(raw, &mut out);
        assert!(out.len() <= raw.len(), "decoding grew the text");
        let ks: Vec<usize> = (0..=out.len()).step_by(3).collect();
        let offs = decode::raw_offsets(raw, &ks);
        assert!(
            offs.windows(2).all(|w| w[0] <= w[1]) && offs.iter().all(|&o| o <= raw.len()),
            "raw offsets out of order or out of range"
        );
    }
    let text = String::from_utf8_lossy(data);
    for word in text.split_whitespace().take(256) {
        let r = crate::secret::redact(word);
        if word.chars().count() > 12 {
            assert!(!r.contains(word), "redaction kept the whole value");
        }
        let _ = crate::exposure::rules::env_from_capture(word.as_bytes());
    }
    let masked = crate::inventory::live::mask(&text);
    no_live_value("mask", &text, &masked);
    let _ = crate::inventory::live::random_tokens(&text);
    let _ = crate::exposure::rules::entropy(data);
}

const STATUSES: &[u16] = &[
    200, 201, 204, 301, 400, 401, 402, 403, 404, 409, 423, 429, 500, 502, 503, 0, 999,
];

/// Vendor response bodies: the first byte picks a status, the rest is the body, given to
/// every connector's interpretation functions.
pub fn vendor_body(data: &[u8]) {
    use crate::vendors::{adyen, iterable, shopify, stripe};
    let data = cut(data);
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (STATUSES[*s as usize % STATUSES.len()], rest),
        None => (200, data),
    };
    let resp = crate::http::Response {
        status,
        headers: HeaderMap::new(),
        body: Some(body.to_vec()),
        call: crate::run::CallSummary {
            method: "GET".into(),
            url: "https://example.com/".into(),
            status: Some(status),
        },
        attempts: 1,
    };
    let json = resp.json();
    let text = String::from_utf8_lossy(body);
    // Adyen
    let me = adyen::interpret_me(status, &text);
    let _ = adyen::next_environment(crate::inventory::model::Environment::Test, &me);
    if let adyen::MeOutcome::Credential(c) = &me {
        let _ = adyen::capabilities_for(&c.roles);
        let _ = adyen::account_matches(Some("Acme"), c.company.as_deref());
    }
    let _ = adyen::company_from_username(&text);
    let _ = adyen::role_capabilities(&text);
    // Iterable
    for p in [
        iterable::Probe::GetFields,
        iterable::Probe::InAppMobile,
        iterable::Probe::InAppWeb,
        iterable::Probe::Export,
    ] {
        let _ = iterable::interpret(p, status, Some(&text));
    }
    // Shopify
    let _ = shopify::interpret_error(status, json.clone());
    let _ = shopify::capabilities_of(&text);
    let _ = shopify::valid_shop_domain(&text);
    // Stripe
    let _ = stripe::key_verdict(status, json.as_ref());
    let _ = stripe::publishable_refusal(status, json.as_ref());
    if let Some(m) = stripe::error_message(json.as_ref()) {
        let _ = stripe::parse_forbidden(&m);
    }
    let _ = stripe::parse_forbidden(&text);
    // Every connector's key classification and account comparison on vendor-supplied text.
    let secret = crate::secret::Secret::new(text.to_string());
    for c in crate::vendors::registry() {
        let _ = c.classify(&secret);
        let _ = c.account_matches("acct_1", &text);
    }
}

/// Vendor response headers: `name: value` lines (and the whole input as `Retry-After` and
/// Shopify's call-limit header) through the client's header parsing.
pub fn vendor_headers(data: &[u8]) {
    let data = cut(data);
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n').take(64) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(line[..colon].trim_ascii()),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    if let Ok(v) = HeaderValue::from_bytes(data.trim_ascii()) {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, v.clone());
        let _ = crate::http::retry_after(&h);
        if let Ok(s) = v.to_str() {
            let _ = crate::http::parse_call_limit(s);
        }
    }
    let _ = crate::http::retry_after(&headers);
    for (_, v) in &headers {
        if let Ok(s) = v.to_str()
            && let Some((_, size)) = crate::http::parse_call_limit(s)
        {
            assert!(size > 0, "a call limit of size 0");
        }
    }
}
