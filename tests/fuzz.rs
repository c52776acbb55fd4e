//! Fuzzing on stable: every target in `vendorscope::fuzz` driven by proptest, from random
//! bytes, token soups and (mostly) mutations of the repository's own fixtures. Each target
//! runs `VENDORSCOPE_FUZZ_CASES` cases (default below, a few seconds each in CI);
//! `bench/fuzz.sh` raises it for long runs (and, with `VENDORSCOPE_FUZZ_SEEDS_DIR`, writes the
//! seeds out for AFL++). Inputs that once failed are replayed first.

use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vendorscope::fuzz;

/// Cases per target unless `VENDORSCOPE_FUZZ_CASES` says otherwise.
const DEFAULT_CASES: u32 = 96;

/// The slowest a single case may take (debug build, shared CI machine): a quadratic or
/// runaway parser shows up here even when it ends.
const MAX_CASE: Duration = Duration::from_secs(10);

fn cases() -> u32 {
    std::env::var("VENDORSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// One edit of a seed; positions are taken modulo the current length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Token(usize, usize),
    Bytes(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize, usize),
    Repeat(usize, usize, u16),
    Truncate(usize),
}

fn edit(dict_len: usize) -> impl Strategy<Value = Edit> {
    let tok = 0..dict_len.max(1);
    prop_oneof![
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        4 => (any::<usize>(), tok.clone()).prop_map(|(p, t)| Edit::Token(p, t)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Edit::Bytes(p, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (any::<usize>(), 1usize..128, any::<usize>())
            .prop_map(|(p, n, to)| Edit::Duplicate(p, n, to)),
        1 => (any::<usize>(), tok, 2u16..400).prop_map(|(p, t, n)| Edit::Repeat(p, t, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &[u8], edits: &[Edit], dict: &[&[u8]]) -> Vec<u8> {
    let mut v = seed.to_vec();
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    let tok = |t: usize| dict.get(t).copied().unwrap_or(b"");
    for e in edits {
        match e {
            Edit::Flip(p, b) if !v.is_empty() => {
                let i = p % v.len();
                v[i] ^= b | 1;
            }
            Edit::Flip(..) => {}
            Edit::Token(p, t) => {
                let i = at(*p, v.len());
                v.splice(i..i, tok(*t).iter().copied());
            }
            Edit::Bytes(p, b) => {
                let i = at(*p, v.len());
                v.splice(i..i, b.iter().copied());
            }
            Edit::Delete(p, n) => {
                let i = at(*p, v.len());
                let j = (i + n).min(v.len());
                v.drain(i..j);
            }
            Edit::Duplicate(p, n, to) => {
                let i = at(*p, v.len());
                let j = (i + n).min(v.len());
                let chunk = v[i..j].to_vec();
                let k = at(*to, v.len());
                v.splice(k..k, chunk);
            }
            Edit::Repeat(p, t, n) => {
                let i = at(*p, v.len());
                let chunk = tok(*t).repeat(usize::from(*n));
                v.splice(i..i, chunk);
            }
            Edit::Truncate(p) => {
                let i = at(*p, v.len());
                v.truncate(i);
            }
        }
    }
    v
}

/// Random bytes, token soups, and edited seeds (the bulk).
fn inputs(seeds: Vec<Vec<u8>>, dict: &'static [&'static [u8]]) -> BoxedStrategy<Vec<u8>> {
    let n = dict.len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        2 => prop::collection::vec(0..n.max(1), 0..48)
            .prop_map(move |ts| ts.iter().flat_map(|t| dict[*t].iter().copied()).collect()),
        7 => (prop::sample::select(seeds), prop::collection::vec(edit(n), 0..10))
            .prop_map(move |(s, es)| apply(&s, &es, dict)),
    ]
    .boxed()
}

/// Runs `name` over its seeds and regressions unmodified, then `cases()` generated inputs.
fn drive(name: &str, seeds: Vec<Vec<u8>>, regressions: &[&[u8]], dict: &'static [&'static [u8]]) {
    let target = fuzz::target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    if let Some(dir) = std::env::var_os("VENDORSCOPE_FUZZ_SEEDS_DIR") {
        // bench/fuzz.sh: the same seeds start the coverage-guided fuzzer.
        let dir = std::path::Path::new(&dir).join(name);
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            seeds
                .iter()
                .enumerate()
                .try_for_each(|(i, s)| std::fs::write(dir.join(format!("seed-{i}")), s))
        });
        assert!(written.is_ok(), "cannot write seeds to {}", dir.display());
    }
    for input in seeds
        .iter()
        .map(Vec::as_slice)
        .chain(regressions.iter().copied())
    {
        target(input);
    }
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let started = Instant::now();
    let slowest = Cell::new(Duration::ZERO);
    let count = Cell::new(0u64);
    let result = runner.run(&inputs(seeds, dict), |data| {
        let t = Instant::now();
        target(&data);
        let took = t.elapsed();
        slowest.set(slowest.get().max(took));
        count.set(count.get() + 1);
        prop_assert!(
            took < MAX_CASE,
            "{name}: one case took {took:?} ({} bytes)",
            data.len()
        );
        Ok(())
    });
    // Printed for bench/fuzz.sh (visible with --nocapture).
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "fuzz {name}: {} executions in {:.1?}, slowest {:.1?}",
            count.get(),
            started.elapsed(),
            slowest.get()
        );
    }
    if let Err(e) = result {
        panic!("fuzz target {name} failed: {e}");
    }
}

fn seeds(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.to_vec()).collect()
}

const YAML_DICT: &[&[u8]] = &[
    b"\n",
    b"  ",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!binary ",
    b"!!str ",
    b"'",
    b"\"",
    b"# ",
    b"|\n",
    b">-\n",
    b"~",
    b"null",
    b"1e999",
    b"-1",
    b"0x7fffffffffffffffff",
    b"99999999999999999999999",
    b"\0",
    b"\x1b[31m",
    b"\xff",
    b"\t",
    b"\r",
    b"P99999999D",
    b"P1D",
    b"2026-13-45",
    b"2026-02-30",
    b"9999-12-31",
    b"{{ ",
    b" }}",
    b"{% for i in range(9) %}",
    b"{% endfor %}",
    b"has(key.x)",
    b".all(x, x)",
    b".exists(x, x.all(y, y))",
    b" && ",
    b" || ",
    b" in ['a']",
    b"size(",
    b"duration('P1D')",
    b"timestamp('2026-01-01T00:00:00Z')",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    b"shpat_0123456789abcdef0123456789abcdef",
    b"vendors:\n",
    b"keys:\n",
    b"secret: {env: A}",
    b"secret: {file: /dev/zero}",
    b"secret: {command: [x]}",
    b"rules:\n",
    b"require: ",
    b"where: ",
    b"message: ",
    b"enforcement: off",
    b"id: VKS-EXP-001\n",
    b"exceptions:\n",
    b"location: ",
    b"**/[",
    b"{a,{b,{c",
    b"regex: ",
    b"(a+)+$",
    b"[\\x00-\\x{10FFFF}]{1000}",
    b"\\p{L}",
    b"keywords: [",
];

const JSON_DICT: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"null",
    b"true",
    b"1e308",
    b"-1e999",
    b"-0",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\\\"",
    b"\\n",
    b"\x1b]0;title\x07",
    b"\n::set-env name=X::1\n",
    b"\"schema_version\":",
    b"\"findings\":[",
    b"\"keys\":[",
    b"\"exposures\":[",
    b"\"fingerprint_check\":\"check:fuzz\"",
    b"\"status\":\"fail\"",
    b"\"location\":{\"path\":\"a\",\"line\":18446744073709551615}",
    b"\"url\":\"https://u:p@x/?k=sk_live_4eC39HqLyjWDarjtT1zdp7dc\"",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    b"\"shard\":\"1/0\"",
    b"\"shard\":\"4294967295/4294967295\"",
    b"<script>",
    b"]]>",
    b"</",
    b"{{",
];

const MAP_DICT: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b"\\n",
    b"\\u0041",
    b"\\u",
    b"\"mappings\":\"",
    b"\"sources\":[",
    b"\"sourcesContent\":[",
    b"\"sourceRoot\":\"",
    b"\"names\":[",
    b"\"sections\":[",
    b"{\"offset\":{\"line\":",
    b"\"column\":",
    b"\"map\":",
    b"4294967295",
    b"18446744073709551615",
    b"-1",
    b";",
    b";;;;;;;;",
    b"A",
    b"AAAA",
    b"gggggggggggggggggg",
    b"/////////",
    b"+",
    b"=",
    b"D",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
];

const HTML_DICT: &[&[u8]] = &[
    b"<script src=\"",
    b"<script type=module>",
    b"</script>",
    b"<script id=\"__NEXT_DATA__\" type=\"application/json\">",
    b"<link rel=modulepreload href=",
    b"<link rel=preload as=script href=",
    b"<link rel=manifest href=",
    b"<a href=\"",
    b"<img srcset=\"a.png 1x, b.png 2x\">",
    b"<base href=\"",
    b"<meta http-equiv=refresh content=\"0;url=",
    b"<iframe src=",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"<template>",
    b"<svg><script href=",
    b"\"",
    b"'",
    b">",
    b"<",
    b"/",
    b"javascript:alert(1)",
    b"//evil.example/",
    b"http://[::1]:0/",
    b"data:text/javascript,1",
    b"blob:",
    b"\\",
    b"%00",
    b"%zz",
    b"&#x",
    b"&amp;",
    b"../../../../",
    b"?k=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    b"\xe2\x80\xae",
    b"\0",
];

const JS_DICT: &[&[u8]] = &[
    b"import(",
    b"import ",
    b" from ",
    b"'./",
    b"\"./",
    b"`./",
    b"\")",
    b".js",
    b".mjs",
    b"export * from '",
    b"new URL(\"",
    b"\", import.meta.url)",
    b"__vite__mapDeps([\"",
    b"\"assets/",
    b"//# sourceMappingURL=",
    b"/*# sourceMappingURL=",
    b" */",
    b"data:application/json;base64,",
    b"\n",
    b"\\u0022",
    b"`${",
    b"}`",
    b"//",
    b"/*",
    b"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    b"{\"file\":\"",
    b"\"imports\":[",
    b"\"dynamicImports\":[",
    b"<urlset><url><loc>",
    b"</loc></url>",
    b"<sitemapindex><sitemap><loc>",
    b"User-agent: *\n",
    b"User-agent: vendorscope\n",
    b"Disallow: ",
    b"Allow: ",
    b"Sitemap: ",
    b"*",
    b"$",
    b"/**********",
];

const KEY_DICT: &[&[u8]] = &[
    b"sk_live_",
    b"rk_live_",
    b"pk_live_",
    b"sk_test_",
    b"shpat_",
    b"shpss_",
    b"AQE",
    b"test_",
    b"live_",
    b"4eC39HqLyjWDarjtT1zdp7dc",
    b"0123456789abcdef0123456789abcdef",
    b"\\u0073\\u006b",
    b"\\u00",
    b"\\x73",
    b"\\/",
    b"%73%6b",
    b"%2",
    b"&#115;&#107;",
    b"&#x73;",
    b"&#0000115;",
    b"&#x10FFFF;",
    b"&#99999999;",
    b"&amp;",
    b"&",
    b"\\",
    b"%",
    b"\n",
    b"\r\n",
    b" ",
    b"=",
    b"\"",
    b"'",
    b"key: ",
    b"apiKey=",
    b"const k = \"",
    b"\xc3\xa9",
    b"\xf0\x9f\x94\x91",
    b"\xff\xfe",
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"ustar\x0000",
    b"\x89PNG\r\n\x1a\n",
    b"tEXt",
    b"\0",
];

const VENDOR_DICT: &[&[u8]] = &[
    b"\xc8",
    b"\x05",
    b"\x0b",
    b"{\"error\":{\"message\":\"",
    b"\",\"type\":\"invalid_request_error\",\"code\":\"api_key_expired\"}}",
    b"Having the 'rak_charge_read' permission would allow this request to continue.",
    b"Enabling \"Prices Read\" ('plan_read') permissions",
    b" on account 'acct_1",
    b"not available for use by restricted keys",
    b"{\"object\":\"account\",\"id\":\"acct_",
    b"{\"errors\":\"[API] Invalid API key or access token (unrecognized login or wrong password)\"}",
    b"{\"access_scopes\":[{\"handle\":\"read_products\"},{\"handle\":",
    b"{\"shop\":{\"myshopify_domain\":\"",
    b"{\"code\":\"BadApiKey\"}",
    b"{\"code\":\"InvalidJwtPayload\"}",
    b"{\"fields\":{}}",
    b"{\"inAppMessages\":[]}",
    b"{\"errorCode\":\"010\",\"message\":\"Not allowed\"}",
    b"000 HTTP Status Response - Unauthorized",
    b"{\"username\":\"ws_1@Company.",
    b"\"roles\":[\"Management API",
    b"\xe2\x80\x94",
    b"\"allowedOrigins\":[{\"domain\":\"",
    b"\x1b[2J",
    b"\n::error::x\n",
    b"\"",
    b"}",
    b"]",
    b"null",
];

const HEADER_DICT: &[&[u8]] = &[
    b"Retry-After: ",
    b"retry-after:",
    b"X-Shopify-Shop-Api-Call-Limit: ",
    b"\n",
    b"1e300",
    b"18446744073709551616",
    b"4294967295/2",
    b"4294967295/4294967295",
    b"0/0",
    b"/",
    b"-1",
    b"NaN",
    b"inf",
    b"2.0",
    b"0.000000001",
    b"Wed, 21 Oct 2015 07:28:00 GMT",
    b"Fri, 31 Dec 9999 23:59:59 GMT",
    b"Mon, 01 Jan -9999 00:00:00 +2359",
    b" ",
    b"\t",
    b"\xff",
];

#[test]
fn inventory_yaml() {
    drive(
        "inventory_yaml",
        seeds(&[
            include_bytes!("../src/demo/inventory.yaml"),
            include_bytes!("../fixtures/inventories/live-key.yaml"),
            include_bytes!("../fixtures/inventories/five-errors.yaml"),
            include_bytes!("../fixtures/inventories/bad-endpoint.yaml"),
            include_bytes!("../fixtures/inventories/wrong-type.yaml"),
            include_bytes!("../fixtures/inventories/shop-2020.yaml"),
            include_bytes!("../fixtures/inventories/duplicate-key.yaml"),
            include_bytes!("../fixtures/inventories/unknown-field.yaml"),
        ]),
        &[],
        YAML_DICT,
    );
}

#[test]
fn policy_yaml() {
    drive(
        "policy_yaml",
        seeds(&[
            include_bytes!("../policies/iso27001/keys.yaml"),
            include_bytes!("../policies/iso27001/exposure.yaml"),
            b"version: 1\nkind: PolicySet\nrules:\n  - id: ORG-1\n    title: t\n    severity: low\n    enforcement: warn\n    controls: [ISO27001:2022/A.5.15]\n    scope: {subject: key, where: \"key.status == 'active'\"}\n    require: size(key.capabilities) < 3 && key.vendor.startsWith('s')\n    message: \"{{ key.id }} {{ key.capabilities | join(', ') }}\"\n",
        ]),
        &[],
        YAML_DICT,
    );
}

#[test]
fn exceptions_yaml() {
    drive(
        "exceptions_yaml",
        seeds(&[
            b"version: 1\nkind: Exceptions\nfingerprint_check: chk\nexceptions:\n  - id: EXC-1\n    rule: VKS-KEY-006\n    match: { vendor: shopify, key: shopify-admin }\n    reason: theme app migration until July\n    approver: ciso@example.com\n    ticket: SEC-12\n    created: 2026-05-01\n    expires: 2026-07-31\n  - id: EXC-2\n    rule: VKS-EXP-002\n    match: { location: \"dist/**/*.js\", fingerprint: \"vsfp:x\" }\n    reason: r\n    approver: a\n    created: 2026-05-01\n    expires: 2026-07-31\n",
        ]),
        &[],
        YAML_DICT,
    );
}

#[test]
fn detector_rules() {
    drive(
        "detector_rules",
        seeds(&[
            include_bytes!("../src/vendors/stripe/detectors.yaml"),
            include_bytes!("../src/vendors/shopify/detectors.yaml"),
            include_bytes!("../src/vendors/adyen/detectors.yaml"),
            include_bytes!("../src/vendors/iterable/detectors.yaml"),
        ]),
        &[],
        YAML_DICT,
    );
}

#[test]
fn run_document() {
    drive(
        "run_document",
        seeds(&[include_bytes!("../fixtures/runs/demo-run.json")]),
        &[],
        JSON_DICT,
    );
}

const MAP: &[u8] = br#"{"version":3,"sources":["src/a.ts","src/config/iterable.ts"],"sourcesContent":["x","line1\nconst k = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\";\n"],"names":["k"],"mappings":"AAAA;AACA,IAAIA,EAAE;;AAEF"}"#;
const INDEXED_MAP: &[u8] = br#"{"version":3,"sections":[
 {"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.ts"],"mappings":"AAAA,IAAI"}},
 {"offset":{"line":2,"column":10},"map":{"version":3,"sourceRoot":"webpack:///./","sources":["b.ts"],"mappings":"AACA;AAAA"}}]}"#;

#[test]
fn source_map() {
    drive(
        "source_map",
        seeds(&[MAP, INDEXED_MAP]),
        // Found by inspection while fuzzing: three segment deltas of 2^62 - 1 overflowed the
        // column sum (a panic in debug builds, a wrapped position in release).
        &[
            br#"{"version":3,"sources":["a"],"mappings":"+///////////H,+///////////H,+///////////H"}"#,
            br#"{"version":3,"sources":["a"],"mappings":"A+///////////H,A+///////////H,A+///////////H"}"#,
        ],
        MAP_DICT,
    );
}

#[test]
fn html() {
    drive(
        "html",
        seeds(&[
            include_bytes!("../src/crawl/demo_site/index.html"),
            b"<html><head><base href=\"/b/\"><script src=\"a.js?k=1\"></script><link rel=modulepreload href=\"c.js\"></head><body><a href=\"../x\">x</a><script id=\"__NEXT_DATA__\" type=\"application/json\">{\"buildId\":\"b1\",\"page\":\"/\"}</script></body></html>",
        ]),
        // A `<base href>` that is not http(s) once made the build-manifest guesses `ttp:` URLs.
        &[
            b"<base href=\"ttp://[::1]:0/\"><script id=\"__NEXT_DATA__\" type=\"application/json\">{\"buildId\":\"b1\",\"page\":\"/\"}</script>",
            b"<script id=\"__NEXT_DATA__\" type=\"application/json\">{\"buildId\":\"b1\",\"assetPrefix\":\"ttp://cdn\"}</script>",
        ],
        HTML_DICT,
    );
}

#[test]
fn js() {
    drive(
        "js",
        seeds(&[
            include_bytes!("../src/crawl/demo_site/main.ts"),
            include_bytes!("../src/crawl/demo_site/iterable.ts"),
            b"import {a} from './a.js';\nconst m = () => import(\"./chunk-1.js\");\nnew URL(\"./w.js\", import.meta.url);\n//# sourceMappingURL=app.js.map\n",
        ]),
        &[],
        JS_DICT,
    );
}

#[test]
fn crawl_documents() {
    drive(
        "crawl_documents",
        seeds(&[
            br#"{"src/main.ts":{"file":"assets/main.1.js","imports":["_v.js"],"dynamicImports":["x"],"css":["a.css"]}}"#,
            b"<urlset><url><loc>https://shop.example.com/a</loc></url></urlset>",
            b"User-agent: *\nDisallow: /admin/\nAllow: /admin/public\nDisallow: /*.pdf$\nSitemap: https://s/x.xml\n",
        ]),
        &[],
        JS_DICT,
    );
}

const KEYS_TEXT: &[u8] = b"const a = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\";\nvar b = 'rk_live_4eC39HqLyjWDarjtT1zdp7dc'; // \\u0073k_live_4eC39HqLyjWDarjtT1zdp7dd\nx=%73k_live_4eC39HqLyjWDarjtT1zdp7de&y=&#115;k_live_4eC39HqLyjWDarjtT1zdp7df\nshpat_0123456789abcdef0123456789abcdef AQEyhmfxK4LJaR1Fw0m/n3Q5qf3VeIpUB5VEVWmZ2MbF6gU5mQN\n";

#[test]
fn exposure() {
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(KEYS_TEXT);
        e.finish().unwrap_or_default()
    };
    drive(
        "exposure",
        seeds(&[
            KEYS_TEXT,
            &gz,
            include_bytes!("../src/crawl/demo_site/index.html"),
        ]),
        &[],
        KEY_DICT,
    );
}

#[test]
fn decode() {
    drive("decode", seeds(&[KEYS_TEXT]), &[], KEY_DICT);
}

#[test]
fn guard() {
    drive(
        "guard",
        seeds(&[
            KEYS_TEXT,
            b"http://alice:pw@127.0.0.1:8080/a?k=sk_live_Fz9Qw3Er7Ty1Ui5Op2As6Df#x",
            b"x\x1b[31mred\x1b]0;t\x07\r\n::error ::x \xc2\x9b2J \xe2\x80\xae",
        ]),
        &[],
        KEY_DICT,
    );
}

#[test]
fn vendor_body() {
    drive(
        "vendor_body",
        seeds(&[
            b"\x00{\"object\":\"account\",\"id\":\"acct_1\"}",
            b"\x0b{\"error\":{\"message\":\"Having the 'rak_charge_read' permission would allow this request to continue. on account 'acct_1X'\",\"type\":\"invalid_request_error\"}}",
            b"\x05{\"error\":{\"message\":\"Invalid API Key provided: sk_live_****dc\",\"type\":\"invalid_request_error\"}}",
            b"\x00{\"access_scopes\":[{\"handle\":\"read_products\"},{\"handle\":\"write_orders\"}]}",
            b"\x05{\"errors\":\"[API] Invalid API key or access token (unrecognized login or wrong password)\"}",
            b"\x00{\"id\":\"S2-1\",\"username\":\"ws_123456@Company.YourCompany\",\"roles\":[\"Management API\xe2\x80\x94Account read\"],\"allowedIpAddresses\":[],\"allowedOrigins\":[{\"domain\":\"https://a\"}],\"active\":true}",
            b"\x05{\"errorCode\":\"010\",\"message\":\"Not allowed\",\"errorType\":\"security\"}",
            b"\x00{\"fields\":{\"email\":\"string\"}}",
            b"\x05{\"code\":\"BadApiKey\",\"msg\":\"Invalid API key\"}",
        ]),
        &[],
        VENDOR_DICT,
    );
}

#[test]
fn vendor_headers() {
    drive(
        "vendor_headers",
        seeds(&[
            b"Retry-After: 2.0\nX-Shopify-Shop-Api-Call-Limit: 32/40\n",
            b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\n",
            b"120",
        ]),
        // Issue 12 #4: these panicked in `Duration::from_secs_f64` (exit 101, no report).
        &[
            b"Retry-After: 1e300\n",
            b"Retry-After: 18446744073709551616\n",
            b"1e300",
        ],
        HEADER_DICT,
    );
}

#[test]
fn every_target_is_driven_here() {
    let src = include_str!("fuzz.rs");
    for (name, _) in fuzz::TARGETS {
        assert!(
            src.contains(&format!("drive(\n        \"{name}\","))
                || src.contains(&format!("drive(\"{name}\",")),
            "fuzz target {name} has no test in tests/fuzz.rs"
        );
    }
}

/// A 20000-case decode run flagged this: an `AQE…` run repeated inside a longer unmatched run.
/// The hit was masked; the same characters stay at a position the detector does not match
/// (a false alarm of the first invariant, now checked only for values that occur once).
#[test]
fn repeated_value_outside_a_hit_is_not_a_leak() {
    fuzz::decode_layers(include_bytes!(
        "fuzz_regressions/mask-adyen-shaped-value.txt"
    ));
}
