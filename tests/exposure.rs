//! `vendorscope scan`: planted keys in every container, source-map attribution, attribution by
//! inventory and known keys, hostile inputs. Every key value here is synthetic.

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const FP_KEY: &str = "test-fingerprint-key-0123456789abcdef";

// Synthetic values, assembled so this file does not itself look like a leak.
fn k(prefix: &str, body: &str) -> String {
    format!("{prefix}{body}")
}
fn sk_live() -> String {
    k("sk_live_", "p5B1Id9Z850kEnydx9qWCA79")
}
fn sk_test() -> String {
    k("sk_test_", "ISjs8JHUdKF0j7elKPoh3pKM")
}
fn shpat() -> String {
    k("shpat_", "a043bae1603803a839c0cb52f511d9cb")
}
fn shpss() -> String {
    k("shpss_", "ed40ef171cc2784d638b34fa78135933")
}
fn rk_live() -> String {
    k("rk_live_", "zKG5mSoyPstUeC99enq522wj")
}
fn whsec() -> String {
    k("whsec_", "6sy3ZHTX3EqEyPXS058H4KPfA1lquCu2")
}
const ITERABLE: &str = "8f68d9d9b0341314a5534ea92b26fa8a";
const ITERABLE2: &str = "dc30543fe5a6e743849e63f8101ac616";
fn adyen() -> String {
    k(
        "AQE",
        "yhmfr8A1EVd8oe9cbp1NpEh8DqxM9TXktL7K6y8mL1pStRZYKcIQePaAFBx5DjlHPN6XD0Lup7==-rCWKQvFuFwqrM4JHmpAJpETCbszpQxJw/JwDtoUuV8S=",
    )
}
fn pk_live() -> String {
    k("pk_live_", "ZRL9OaYsP6ihgIqLSmNqE40f")
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gz");
    e.finish().expect("gz")
}

fn br(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).expect("br");
    }
    out
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        z.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .expect("zip");
        z.write_all(data).expect("zip");
    }
    z.finish().expect("zip").into_inner()
}

/// Builds the planted tree; returns the bundle's expected original line.
fn plant(dir: &Path) {
    write(
        dir,
        "index.html",
        format!(
            "<html><head><script>window.__CONFIG__ = {{\"stripeSecretKey\": \"{}\", \"pk\": \"{}\"}};</script></head></html>\n",
            sk_live(),
            pk_live()
        )
        .as_bytes(),
    );
    write(
        dir,
        "assets/app.js",
        format!("const a = 1;\nconst b = 2;\nfetch(u, {{headers: {{'X-Shopify-Access-Token': '{}'}}}});\n", shpat()).as_bytes(),
    );
    // Minified single-line bundle with a source map (original: src/config/iterable.ts:12).
    let filler: String = "var x=function(n){return n+1};".repeat(200);
    let stmt = format!("var c={{iterable:{{apiKey:\"{ITERABLE}\"}}}};");
    let col = filler.len() as u32;
    let bundle = format!("{filler}{stmt}\n//# sourceMappingURL=bundle.min.js.map\n");
    write(dir, "assets/bundle.min.js", bundle.as_bytes());
    let mut original = String::new();
    for i in 1..12 {
        original.push_str(&format!("// line {i}\n"));
    }
    original.push_str(&format!(
        "export const iterable = {{ apiKey: \"{ITERABLE}\" }};\n"
    ));
    let mut b = sourcemap::SourceMapBuilder::new(Some("bundle.min.js"));
    let src = b.add_source("src/config/iterable.ts");
    b.set_source_contents(src, Some(&original));
    b.add_raw(0, 0, 0, 0, Some(src), None, false);
    b.add_raw(0, col, 11, 0, Some(src), None, false);
    let mut map = Vec::new();
    b.into_sourcemap().to_writer(&mut map).expect("map");
    write(dir, "assets/bundle.min.js.map", &map);
    write(
        dir,
        "config.json",
        format!(
            "{{\n  \"webhooks\": {{\n    \"STRIPE_WEBHOOK_SECRET\": \"{}\"\n  }}\n}}\n",
            whsec()
        )
        .as_bytes(),
    );
    write(
        dir,
        ".env.production",
        format!("ITERABLE_API_KEY={ITERABLE2}\nSTRIPE_TEST=").as_bytes(),
    );
    // append a test-mode key to .env
    let mut env = std::fs::read(dir.join(".env.production")).expect("env");
    env.extend_from_slice(format!("{}\n", sk_test()).as_bytes());
    write(dir, ".env.production", &env);
    write(
        dir,
        "assets/chunk.js.gz",
        &gz(format!("var r=\"{}\";\n", rk_live()).as_bytes()),
    );
    write(
        dir,
        "assets/pay.js.br",
        &br(format!("var adyen={{apiKey:\"{}\"}};\n", adyen()).as_bytes()),
    );
    write(
        dir,
        "release.zip",
        &zip(&[(
            "inner/config.js",
            format!("SECRET='{}'\n", shpss()).as_bytes(),
        )]),
    );
    // Encoded forms of the same live secret key in other files.
    let escaped: String = sk_live()
        .chars()
        .take(2)
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect::<String>()
        + &sk_live()[2..];
    write(
        dir,
        "data/escaped.json",
        format!("{{\"k\":\"{escaped}\"}}\n").as_bytes(),
    );
    let pct: String = sk_live().bytes().map(|b| format!("%{b:02X}")).collect();
    write(
        dir,
        "data/link.html",
        format!("<a href=\"/pay?key={pct}\">pay</a>\n").as_bytes(),
    );
    // Placeholders: never reported.
    write(
        dir,
        "docs/example.md",
        format!(
            "STRIPE_SECRET_KEY={}\nSHOPIFY={}\nITERABLE_API_KEY=00000000000000000000000000000000\n",
            k("sk_live_", "XXXXXXXXXXXXXXXXXXXXXXXX"),
            k("shpat_", "00000000000000000000000000000000")
        )
        .as_bytes(),
    );
}

fn cmd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("vendorscope").expect("binary");
    c.env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
        .env("VENDORSCOPE_HOME", home)
        .env("NO_COLOR", "1");
    c
}

fn scan_json(home: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = cmd(home)
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        stdout + &String::from_utf8_lossy(&out.stderr),
    )
}

fn exposures(v: &Value) -> Vec<Value> {
    v["exposures"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(ex: &'a [Value], path_end: &str, rule: &str) -> Option<&'a Value> {
    ex.iter().find(|e| {
        e["rule"] == rule
            && e["location"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(path_end))
    })
}

#[test]
fn planted_keys_found_in_every_container() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    plant(&dir);
    let (code, v, all) = scan_json(tmp.path(), &[dir.to_str().expect("utf8")]);
    assert_eq!(code, 1, "{all}");
    let ex = exposures(&v);
    let want = [
        ("index.html", "stripe.secret_key"),
        ("index.html", "stripe.publishable_key"),
        ("assets/app.js", "shopify.admin_access_token"),
        ("assets/bundle.min.js", "iterable.api_key"),
        ("assets/bundle.min.js.map", "iterable.api_key"),
        ("config.json", "stripe.webhook_secret"),
        (".env.production", "iterable.api_key"),
        (".env.production", "stripe.secret_key"),
        ("assets/chunk.js.gz", "stripe.restricted_key"),
        ("assets/pay.js.br", "adyen.api_key"),
        ("release.zip", "shopify.shared_secret"),
        ("data/escaped.json", "stripe.secret_key"),
        ("data/link.html", "stripe.secret_key"),
    ];
    for (p, r) in want {
        assert!(find(&ex, p, r).is_some(), "missing {r} in {p}: {all}");
    }
    assert!(
        !ex.iter().any(|e| e["location"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("example.md"))),
        "placeholder reported: {all}"
    );
    // Minified bundle: line 1, a column far into the line, attributed via the map.
    let b = find(&ex, "assets/bundle.min.js", "iterable.api_key").expect("bundle");
    assert_eq!(b["location"]["line"], 1);
    assert!(b["location"]["column"].as_u64().expect("col") > 6000);
    assert_eq!(b["location"]["original"]["path"], "src/config/iterable.ts");
    assert_eq!(b["location"]["original"]["line"], 12);
    // sourcesContent: original path and line.
    let m = find(&ex, "assets/bundle.min.js.map", "iterable.api_key").expect("map");
    assert_eq!(m["location"]["original"]["path"], "src/config/iterable.ts");
    assert_eq!(m["location"]["original"]["line"], 12);
    // Test-mode key marked test; public key marked public.
    let t = ex
        .iter()
        .find(|e| {
            e["evidence"]["redacted"]
                .as_str()
                .is_some_and(|r| r.starts_with("sk_test_"))
        })
        .expect("test key");
    assert_eq!(t["environment"], "test");
    assert_eq!(
        find(&ex, "index.html", "stripe.publishable_key").expect("pk")["public_by_design"],
        true
    );
    // Containers named.
    assert_eq!(
        find(&ex, "release.zip", "shopify.shared_secret").expect("zip")["location"]["container"],
        "inner/config.js"
    );
    assert_eq!(
        find(&ex, "assets/chunk.js.gz", "stripe.restricted_key").expect("gz")["location"]["container"],
        "chunk.js"
    );
    // No raw secret anywhere in the output.
    for s in [
        sk_live(),
        shpat(),
        shpss(),
        rk_live(),
        whsec(),
        adyen(),
        ITERABLE.to_string(),
        sk_test(),
    ] {
        assert!(!all.contains(&s), "raw secret leaked in output");
    }
    // The table output lists them redacted.
    let out = cmd(tmp.path()).arg("scan").arg(&dir).output().expect("run");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Exposures ("), "{table}");
    assert!(table.contains("sk_live_…"), "{table}");
    assert!(!table.contains(&sk_live()));
}

#[test]
fn excludes_and_clean_tree() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    write(&dir, "ok.js", b"console.log('hello');\n");
    write(
        &dir,
        "vendor/keys.js",
        format!("k='{}'", shpat()).as_bytes(),
    );
    let (code, v, all) = scan_json(
        tmp.path(),
        &[dir.to_str().expect("utf8"), "--exclude", "vendor"],
    );
    assert_eq!(code, 0, "{all}");
    assert!(exposures(&v).is_empty());
    let (code, _, _) = scan_json(tmp.path(), &[dir.to_str().expect("utf8")]);
    assert_eq!(code, 1);
    let (code, _, all) = scan_json(tmp.path(), &["/nonexistent/dist"]);
    assert_eq!(code, 2, "{all}");
}

#[test]
fn attribution_by_inventory_and_known_keys() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    write(
        &dir,
        "app.js",
        format!("var k=\"{}\";\n", sk_live()).as_bytes(),
    );
    let inv = tmp.path().join("vendors.yaml");
    std::fs::write(
        &inv,
        "version: 1\norganization: Example\nvendors:\n  - id: stripe-main\n    connector: stripe\n    category: psp\n    tier: 1\n    keys:\n      - id: stripe-server\n        secret: { env: TEST_STRIPE_KEY }\n        type: server_side\n",
    )
    .expect("inv");
    // With the secret: attributed.
    let out = cmd(tmp.path())
        .env("TEST_STRIPE_KEY", sk_live())
        .args([
            "scan",
            dir.to_str().expect("utf8"),
            "--inventory",
            inv.to_str().expect("utf8"),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("json: {text} {}", String::from_utf8_lossy(&out.stderr)));
    let ex = exposures(&v);
    assert_eq!(ex[0]["inventory_key"], "stripe-server", "{text}");
    assert_eq!(ex[0]["inventory_vendor"], "stripe-main");
    let run_path = tmp.path().join("audit.json");
    std::fs::write(&run_path, text.as_bytes()).expect("save");
    // Without the secret but with known keys: still attributed, no error for the key.
    let out = cmd(tmp.path())
        .env_remove("TEST_STRIPE_KEY")
        .args([
            "scan",
            dir.to_str().expect("utf8"),
            "--inventory",
            inv.to_str().expect("utf8"),
            "--known-keys",
            run_path.to_str().expect("utf8"),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(exposures(&v)[0]["inventory_key"], "stripe-server");
    assert!(v["errors"].as_array().expect("errors").is_empty(), "{v}");
    assert_eq!(out.status.code(), Some(1));
    // Without either: unknown, and the missing secret is reported.
    let out = cmd(tmp.path())
        .env_remove("TEST_STRIPE_KEY")
        .args([
            "scan",
            dir.to_str().expect("utf8"),
            "--inventory",
            inv.to_str().expect("utf8"),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(exposures(&v)[0]["inventory_key"].is_null());
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .expect("msg")
            .contains("TEST_STRIPE_KEY")
    );
    // A run made with another fingerprint key is refused.
    let out = cmd(tmp.path())
        .env(
            "VENDORSCOPE_FINGERPRINT_KEY",
            "another-key-entirely-0123456789",
        )
        .args([
            "scan",
            dir.to_str().expect("utf8"),
            "--known-keys",
            run_path.to_str().expect("utf8"),
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different fingerprint key"));
}

#[test]
fn user_detectors_add_rules_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    write(&dir, "a.js", b"var t='acme_Zx81Kd02LmQp77Rt';\n");
    let rules = tmp.path().join("rules.yaml");
    std::fs::write(&rules, "rules:\n  - id: acme.token\n    vendor: acme\n    credential_type: token\n    regex: '\\b(acme_[A-Za-z0-9]{16})\\b'\n    keywords: [acme_]\n    public_by_design: false\n    confidence: high\n    examples: ['acme_Zx81Kd02LmQp77Rt']\n").expect("rules");
    let (code, v, all) = scan_json(
        tmp.path(),
        &[
            dir.to_str().expect("utf8"),
            "--detectors",
            rules.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 1, "{all}");
    assert_eq!(exposures(&v)[0]["rule"], "acme.token");
    std::fs::write(&rules, "rules:\n  - id: bad\n    regex: '('\n").expect("rules");
    let (code, _, all) = scan_json(
        tmp.path(),
        &[
            dir.to_str().expect("utf8"),
            "--detectors",
            rules.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("rules.yaml"), "{all}");
}

/// One scanning thread reads file after file into the buffer it keeps: a shorter file read
/// after a longer one sees only its own bytes (a key at the end of the first is not reported
/// again at the second's path), and files on both sides of the read/map bound are scanned.
#[test]
fn files_read_one_after_another_keep_their_own_bytes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    let tail = format!(";k=\"{}\"", shpat());
    for (name, size, with_key) in [
        ("a-mapped.min.js", 5 << 20, true),
        ("b-read.min.js", 3 << 20, true),
        ("c-read.min.js", 2 << 20, false),
        ("d-read.min.js", 1 << 20, false),
    ] {
        let mut bytes = vec![b'a'; size];
        if with_key {
            bytes.extend_from_slice(tail.as_bytes());
        }
        write(&dir, name, &bytes);
    }
    let out = cmd(tmp.path())
        .env("RAYON_NUM_THREADS", "1")
        .args(["scan", dir.to_str().expect("utf8"), "--format", "json"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut at: Vec<(String, u64)> = v["exposures"]
        .as_array()
        .expect("exposures")
        .iter()
        .flat_map(|e| {
            e["locations"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![e["location"].clone()])
        })
        .map(|l| {
            let path = l["path"].as_str().unwrap_or_default();
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            (name, l["column"].as_u64().unwrap_or(0))
        })
        .collect();
    at.sort();
    at.dedup();
    assert_eq!(
        at,
        vec![
            ("a-mapped.min.js".to_string(), (5 << 20) + 5),
            ("b-read.min.js".to_string(), (3 << 20) + 5),
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_inputs_complete_with_per_item_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    // 10 MB single line with a key at the end.
    let mut big = vec![b'a'; 10 << 20];
    big.extend_from_slice(format!(";k=\"{}\"", shpat()).as_bytes());
    write(&dir, "big.min.js", &big);
    // Deeply nested source map referenced by a bundle with a key.
    write(
        &dir,
        "deep.js",
        format!("k=\"{}\"\n//# sourceMappingURL=deep.js.map\n", whsec()).as_bytes(),
    );
    let mut deep = b"{\"version\":3,\"x\":".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 200_000));
    write(&dir, "deep.js.map", &deep);
    // Invalid UTF-8 around a key.
    let mut bad = vec![0xff, 0xfe, b'\n', 0xc3];
    bad.extend_from_slice(format!(" k='{}' \u{e9}", rk_live()).as_bytes());
    write(&dir, "bad-utf8.js", &bad);
    // Binary named .js.
    let bin: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    write(&dir, "binary.js", &bin);
    // Zip bomb and gzip bomb (ratio far above the limit).
    let zeros = vec![0u8; 30 << 20];
    write(&dir, "bomb.zip", &zip(&[("zeros.txt", &zeros)]));
    write(&dir, "bomb.js.gz", &gz(&zeros));
    // Symlink loop.
    #[cfg(unix)]
    {
        std::fs::create_dir_all(dir.join("loop")).expect("mkdir");
        std::os::unix::fs::symlink(dir.join("loop"), dir.join("loop/again")).expect("symlink");
    }
    // Unreadable file.
    let unreadable = dir.join("secret.js");
    std::fs::write(&unreadable, b"x").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000))
            .expect("chmod");
    }
    let readable_anyway = std::fs::File::open(&unreadable).is_ok(); // root reads everything
    // What even root cannot read: a link to nothing.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("gone.js"), dir.join("dangling.js")).expect("symlink");
    let (code, v, all) = scan_json(tmp.path(), &[dir.to_str().expect("utf8")]);
    assert_eq!(code, 1, "{all}");
    let ex = exposures(&v);
    let big_hit = find(&ex, "big.min.js", "shopify.admin_access_token").expect("big");
    assert_eq!(big_hit["location"]["line"], 1);
    assert!(big_hit["location"]["column"].as_u64().expect("col") > 10_000_000);
    assert!(
        find(&ex, "deep.js", "stripe.webhook_secret").is_some(),
        "{all}"
    );
    assert!(
        find(&ex, "bad-utf8.js", "stripe.restricted_key").is_some(),
        "{all}"
    );
    let errors: Vec<String> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["subject"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    let has = |needle: &str, what: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(needle) && e.contains(what)),
            "no error for {needle} ({what}): {errors:?}"
        );
    };
    has("bomb.zip", "bomb");
    has("bomb.js.gz", "bomb");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("deep.js") && warnings.contains("nesting"),
        "{warnings}"
    );
    // Symlink loops and broken links are warnings: nothing readable was missed.
    #[cfg(unix)]
    assert!(
        warnings.contains("loop") && warnings.contains("dangling.js"),
        "{warnings}"
    );
    if !readable_anyway {
        has("secret.js", "ermission");
    }
    assert!(
        !errors.iter().any(|e| e.contains("binary.js")),
        "{errors:?}"
    );
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

const KNOWN_INVENTORY: &str = "version: 1\norganization: Example\nvendors:\n  - id: iterable\n    connector: iterable\n    category: marketing_email\n    tier: 1\n    keys:\n      - id: iterable-web\n        secret: { env: TEST_ITERABLE_KEY }\n        type: server_side\n        environment: live\n  - id: stripe-main\n    connector: stripe\n    category: psp\n    tier: 1\n    keys:\n      - id: stripe-server\n        secret: { env: TEST_STRIPE_KEY }\n        type: server_side\n        environment: live\n";

/// Runs `scan` with the given extra arguments and secrets; returns (exit code, run document).
fn scan_with(home: &Path, dir: &Path, extra: &[&str], secrets: bool) -> (i32, Value) {
    let mut c = cmd(home);
    if secrets {
        c.env("TEST_ITERABLE_KEY", ITERABLE)
            .env("TEST_STRIPE_KEY", sk_live());
    } else {
        c.env_remove("TEST_ITERABLE_KEY")
            .env_remove("TEST_STRIPE_KEY");
    }
    let out = c
        .arg("scan")
        .arg(dir)
        .args(extra)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "json: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// Exposures keyed by file name, without the observation time.
fn by_file(v: &Value) -> std::collections::BTreeMap<String, Vec<Value>> {
    let mut m: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for mut e in exposures(v) {
        e.as_object_mut().expect("object").remove("observed_at");
        let p = e["location"]["path"].as_str().unwrap_or("").to_string();
        let name = p.rsplit('/').next().unwrap_or("").to_string();
        m.entry(name).or_default().push(e);
    }
    for v in m.values_mut() {
        v.sort_by_key(|e| e["id"].as_str().unwrap_or("").to_string());
    }
    m
}

/// Issue #14's misses: a bare assignment of an inventoried key (no detector context), an
/// `atob` of an `sk_live_` key, a `data:` URI and base64 JSON config are found and attributed
/// to the inventory key, the same way with `--inventory` (the secrets) and with `--known-keys`
/// (fingerprints only), and the same rules apply.
#[test]
fn known_keys_found_by_value_and_by_fingerprint_alike() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    write(
        &dir,
        "a.js",
        format!("window.IT='{ITERABLE}';\n").as_bytes(),
    );
    write(
        &dir,
        "b.js",
        format!("var x=atob(\"{}\");\n", b64(&sk_live())).as_bytes(),
    );
    write(
        &dir,
        "c.js",
        format!(
            "fetch(\"data:application/json;base64,{}\")\n",
            b64(&format!("{{\"secretKey\":\"{}\"}}", sk_live()))
        )
        .as_bytes(),
    );
    write(
        &dir,
        "d.json",
        format!(
            "{{\"config\":\"{}\"}}\n",
            b64(&format!(
                "{{\"marketing\":{{\"token\":\"{ITERABLE}\"}},\"n\":1}}"
            ))
        )
        .as_bytes(),
    );
    write(
        &dir,
        "e.js",
        format!("const k=Buffer.from('{}','base64')\n", b64(ITERABLE)).as_bytes(),
    );
    let inv = tmp.path().join("vendors.yaml");
    std::fs::write(&inv, KNOWN_INVENTORY).expect("inv");
    let inv = inv.to_str().expect("utf8");

    let (code, with_secrets) = scan_with(tmp.path(), &dir, &["--inventory", inv], true);
    assert_eq!(code, 1, "{with_secrets}");
    let a = by_file(&with_secrets);
    assert_eq!(a.len(), 5, "{a:#?}");
    let one = |f: &str| {
        assert_eq!(a[f].len(), 1, "{f}: {:#?}", a[f]);
        a[f][0].clone()
    };
    let e = one("a.js");
    assert_eq!(e["rule"], "inventory.known_value");
    assert_eq!(e["vendor"], "iterable");
    assert_eq!(e["credential_type"], "server_side");
    assert_eq!(e["environment"], "live");
    assert_eq!(e["public_by_design"], false);
    assert_eq!(e["inventory_key"], "iterable-web");
    assert_eq!(e["location"]["line"], 1);
    assert_eq!(e["location"]["column"], 12);
    assert!(e["location"]["decoded"].is_null());
    for f in ["b.js", "c.js"] {
        let e = one(f);
        assert_eq!(e["rule"], "stripe.secret_key", "{f}");
        assert_eq!(e["inventory_key"], "stripe-server", "{f}");
        assert_eq!(e["location"]["decoded"], "base64", "{f}");
    }
    for f in ["d.json", "e.js"] {
        let e = one(f);
        assert_eq!(e["rule"], "inventory.known_value", "{f}");
        assert_eq!(e["inventory_key"], "iterable-web", "{f}");
        assert_eq!(e["location"]["decoded"], "base64", "{f}");
    }
    let failing = |v: &Value| {
        let mut r: Vec<String> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["status"] == "fail")
            .map(|f| format!("{} {}", f["rule"], f["subject"]["id"]))
            .collect();
        r.sort();
        r
    };
    assert!(
        failing(&with_secrets)
            .iter()
            .any(|f| f.contains("VKS-EXP-001") && f.contains("iterable-web")),
        "{:?}",
        failing(&with_secrets)
    );
    let run = tmp.path().join("run.json");
    std::fs::write(&run, serde_json::to_vec(&with_secrets).expect("json")).expect("save");
    let run = run.to_str().expect("utf8");

    // Fingerprints only, with and without the inventory: the same exposures.
    let (code, fp_only) = scan_with(tmp.path(), &dir, &["--known-keys", run], false);
    assert_eq!(code, 1);
    assert_eq!(by_file(&fp_only), a);
    let (code, fp_inv) = scan_with(
        tmp.path(),
        &dir,
        &["--known-keys", run, "--inventory", inv],
        false,
    );
    assert_eq!(code, 1);
    assert_eq!(by_file(&fp_inv), a);
    assert!(
        fp_inv["errors"].as_array().expect("errors").is_empty(),
        "{fp_inv}"
    );
    // The same rules, with the inventory loaded, however the keys were known.
    assert_eq!(failing(&fp_inv), failing(&with_secrets));
}

/// Every encoding in the output filter's published list (`encoded_forms`) that is an encoding
/// of the whole key is found, by value and by fingerprint: the scanner and the filter know the
/// same encodings. (The list's two other entries are not encodings: the key's body without its
/// vendor prefix, and the key split across two lines.)
#[test]
fn every_published_encoding_is_found_by_value_and_by_fingerprint() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dist");
    let mut planted = vec![];
    for (name, key) in [("it", ITERABLE.to_string()), ("sk", sk_live())] {
        let mid = key.len() / 2;
        let not_encodings = [
            key["sk_live_".len()..].to_string(),
            format!("{}\n{}", &key[..mid], &key[mid..]),
            format!("{}\\n{}", &key[..mid], &key[mid..]),
        ];
        for (i, form) in vendorscope::guard::encoded_forms(&key)
            .into_iter()
            .enumerate()
        {
            if not_encodings.contains(&form) {
                continue;
            }
            let file = format!("{name}{i:02}.js");
            write(&dir, &file, format!("var v = \"{form}\";\n").as_bytes());
            planted.push((file, form));
        }
    }
    assert!(planted.len() >= 30, "{}", planted.len());
    let inv = tmp.path().join("vendors.yaml");
    std::fs::write(&inv, KNOWN_INVENTORY).expect("inv");
    let inv = inv.to_str().expect("utf8");
    let (_, by_value) = scan_with(tmp.path(), &dir, &["--inventory", inv], true);
    let found = |v: &Value| -> std::collections::BTreeSet<String> {
        exposures(v)
            .iter()
            .filter(|e| e["inventory_key"].is_string())
            .filter_map(|e| e["location"]["path"].as_str())
            .map(|p| p.rsplit('/').next().unwrap_or("").to_string())
            .collect()
    };
    let a = found(&by_value);
    for (file, form) in &planted {
        assert!(a.contains(file), "{file}: {form:?} not found by value");
    }
    let run = tmp.path().join("run.json");
    std::fs::write(&run, serde_json::to_vec(&by_value).expect("json")).expect("save");
    let (_, by_fp) = scan_with(
        tmp.path(),
        &dir,
        &["--known-keys", run.to_str().expect("utf8")],
        false,
    );
    assert_eq!(found(&by_fp), a);
}
