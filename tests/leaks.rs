//! Never the leak: keys planted in file names, URL queries, percent-encoded links, source-map
//! `sources` and hostile names must not appear — raw, encoded or most of them — in any of the
//! eight formats, on stdout, or on stderr at `-vv`; outside text must carry no terminal escapes
//! or workflow commands. Every key here is synthetic.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use assert_cmd::Command;
use proptest::prelude::*;

const FP_KEY: &str = "test-fingerprint-key-0123456789abcdef";

const FORMATS: [&str; 8] = [
    "table", "json", "sarif", "junit", "github", "markdown", "html", "ocsf",
];

/// A hostile name: ANSI colour, an OSC window title, a line break and a workflow command.
const HOSTILE: &str = "x\u{1b}[31mred\u{1b}]0;pwned-title\u{7}\n::error ::pwned";

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

fn pct(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The key as a detector sees it in code, for each vendor shape.
fn stmt(key: &str) -> String {
    if key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("var iterable={{apiKey:\"{key}\"}};")
    } else {
        format!("var stripeSecret=\"{key}\";")
    }
}

/// A bundle, its map (whose `sources` holds the percent-encoded key and a hostile name), a
/// file named after the key, a file with a hostile name, and a dangling link named after it.
fn plant_tree(dir: &Path, key: &str) {
    write(dir, &format!("dist/{key}.js"), stmt(key).as_bytes());
    write(dir, &format!("dist/{HOSTILE}.js"), stmt(key).as_bytes());
    let bundle = format!("{}\n//# sourceMappingURL=app.js.map\n", stmt(key));
    write(dir, "dist/app.js", bundle.as_bytes());
    let map = serde_json::json!({
        "version": 3,
        "file": "app.js",
        "sources": [format!("webpack:///src/{}/{HOSTILE}.ts", pct(key))],
        "sourcesContent": [format!("// config\n{}\n", stmt(key))],
        "names": [],
        "mappings": "AACA",
    });
    write(dir, "dist/app.js.map", map.to_string().as_bytes());
    // An archive member named after the key and a hostile name (`location.container`).
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file(
        format!("{key}/{HOSTILE}.js"),
        zip::write::SimpleFileOptions::default(),
    )
    .expect("zip");
    z.write_all(stmt(key).as_bytes()).expect("zip");
    write(
        dir,
        "dist/bundle.zip",
        &z.finish().expect("zip").into_inner(),
    );
    #[cfg(unix)]
    {
        let _ = std::os::unix::fs::symlink(
            dir.join("nowhere"),
            dir.join(format!("dist/{key}-gone.js")),
        );
    }
}

/// Everything a run printed or wrote.
struct Outputs {
    texts: Vec<(String, String)>,
}

fn run_all(home: &Path, args: &[String]) -> Outputs {
    let outdir = home.join("out");
    std::fs::create_dir_all(&outdir).expect("mkdir");
    let mut c = Command::cargo_bin("vendorscope").expect("binary");
    c.env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
        .env("VENDORSCOPE_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .arg("-vv")
        .args(args)
        .args(["--format", "github"]);
    for f in FORMATS {
        c.arg("--output")
            .arg(format!("{f}={}", outdir.join(f).display()));
    }
    let out = c.output().expect("run");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0..=3),
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut texts = vec![
        (
            "stdout".to_string(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        (
            "stderr".to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
    ];
    for f in FORMATS {
        let text = std::fs::read_to_string(outdir.join(f))
            .unwrap_or_else(|e| panic!("{f} report missing: {e}"));
        texts.push((f.to_string(), text));
    }
    Outputs { texts }
}

fn assert_clean(o: &Outputs, key: &str) {
    let lower_key = key.to_ascii_lowercase();
    let windows: Vec<&str> = (0..=lower_key.len() - 12)
        .map(|i| &lower_key[i..i + 12])
        .collect();
    for (name, text) in &o.texts {
        let lower = text.to_ascii_lowercase();
        for w in &windows {
            assert!(!lower.contains(w), "{name} holds {w:?} of the key:\n{text}");
        }
        assert!(!text.contains(&pct(key)), "{name} holds the encoded key");
        assert!(!text.contains('\u{1b}'), "{name} holds ESC");
        assert!(!text.contains('\u{7}'), "{name} holds BEL");
        assert!(!text.contains("pwned-title"), "{name} holds an OSC title");
        for line in text.lines() {
            let t = line.trim_start();
            assert!(
                !t.starts_with("::error ::pwned") && !t.contains("::pwned"),
                "{name}: injected workflow command: {line}"
            );
            if t.starts_with("::") {
                assert!(
                    name == "stdout" || name == "github",
                    "{name}: a line starts a workflow command: {line}"
                );
            }
        }
    }
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9]{24,99}".prop_map(|b| format!("sk_live_{b}")),
        "[a-f0-9]{32}".prop_map(|b| format!("shpat_{b}")),
        "[a-f0-9]{32}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    #[test]
    fn planted_keys_never_leak_from_a_tree_scan(key in key_strategy()) {
        let home = tempfile::tempdir().expect("tmp");
        plant_tree(home.path(), &key);
        let dist = home.path().join("dist").display().to_string();
        let o = run_all(home.path(), &["scan".to_string(), dist]);
        // The scan found it (otherwise this test proves nothing).
        let json = &o.texts.iter().find(|(n, _)| n == "json").expect("json").1;
        let v: serde_json::Value = serde_json::from_str(json).expect("run json");
        prop_assert!(v["exposures"].as_array().is_some_and(|a| !a.is_empty()), "nothing found");
        assert_clean(&o, &key);
    }
}

/// A loopback site that serves fixed bodies by path (query included).
fn serve(pages: HashMap<String, (String, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 2048];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let resp = match pages.get(&target) {
                Some((ct, body)) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn keys_in_crawled_urls_never_leak() {
    let key = format!("sk_live_{}", "Zq8vB2mN4xL6pR1tY3wK5hJ7gF9dS0aQ");
    let mut pages = HashMap::new();
    pages.insert(
        "/".to_string(),
        (
            "text/html".to_string(),
            format!(
                "<html><head><script src=\"/track.js?k={key}&v=1\"></script>\
                 <script src=\"/p/{}/a.js#{key}\"></script></head>\
                 <body><a href=\"/{HOSTILE}\">x</a></body></html>",
                pct(&key)
            ),
        ),
    );
    pages.insert(
        format!("/track.js?k={key}&v=1"),
        ("application/javascript".to_string(), stmt(&key)),
    );
    pages.insert(
        format!("/p/{}/a.js", pct(&key)),
        ("application/javascript".to_string(), stmt(&key)),
    );
    let base = serve(pages);
    let home = tempfile::tempdir().expect("tmp");
    let o = run_all(
        home.path(),
        &[
            "scan".to_string(),
            base,
            "--allow-private-addresses".to_string(),
        ],
    );
    let json = &o.texts.iter().find(|(n, _)| n == "json").expect("json").1;
    let v: serde_json::Value = serde_json::from_str(json).expect("run json");
    let ex = v["exposures"].as_array().expect("exposures");
    assert!(ex.len() >= 2, "both scripts scanned: {json}");
    // The location keeps scheme, host and path; the query value is replaced.
    assert!(
        ex.iter().any(|e| e["location"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/track.js?k=REDACTED&v=1"))),
        "{json}"
    );
    assert_clean(&o, &key);
}

#[test]
fn vendor_echoed_account_is_sanitised_and_masked() {
    use vendorscope::guard::{Clean, Redactor};
    use vendorscope::run::{KeyProfile, KeyStatus};
    let key = format!("sk_live_{}", "Hq2Wm8Zt4Xc6Vb1Nn3Lk5Jj7Gg9Ff0Dd");
    let redactor = Redactor::new();
    redactor.add_secret(&vendorscope::secret::Secret::new(key.clone()));
    let profile = KeyProfile {
        vendor: "stripe".into(),
        status: KeyStatus::Active,
        key_type: Some("secret".into()),
        environment: None,
        account: Some(format!(
            "acct_{}\u{1b}]0;title\u{7}\u{1b}[2J\n::set-env name=X::y",
            &key[5..key.len() - 3]
        )),
        account_matches: None,
        account_ids: Default::default(),
        granted: vec![],
        capabilities: vec![],
        unverifiable: vec![],
        restrictions: Default::default(),
        calls: vec![],
        observations: Default::default(),
        credential_id: None,
        api_version: None,
        probed_at: None,
    };
    let clean = Clean::new(&profile, &redactor).expect("clean");
    let shown = redactor.filter(&serde_json::to_string(&*clean).expect("json"));
    assert!(!shown.contains(&key[10..30]), "{shown}");
    assert!(
        !shown.contains("\\u001b") && !shown.contains("::set-env"),
        "{shown}"
    );
    assert!(!shown.contains("\\n"), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    /// `--record` transcripts: a vendor body echoing the key in every encoding of the encoder
    /// list (JSON `\/`, `%2B`, `&#43;`, `\u0041`, `&#0065;`, base64 wrapped at 76 columns, split
    /// across lines, the body without its prefix, hex in either case), inside JSON as the
    /// transcript writer stores it, is written without any 12 characters of the key.
    #[test]
    fn transcripts_hold_no_encoding_of_the_key(
        prefix in prop::sample::select(vec!["sk_live_", "rk_live_", "shpat_", "AQE", ""]),
        body in "[A-Za-z0-9+/]{24,60}",
    ) {
        use vendorscope::guard::{Redactor, encoded_forms};
        let key = format!("{prefix}{body}");
        let redactor = Redactor::new();
        redactor.add_secret(&vendorscope::secret::Secret::new(key.clone()));
        let out = vendorscope::report::Output::new(redactor, true, false);
        let forms = encoded_forms(&key);
        let transcript = serde_json::json!({
            "method": "GET",
            "url": format!("https://api.stripe.com/v1/account?x={}", forms[0]),
            "response_headers": [["x-echo", forms.join(" ")]],
            "body": forms.join("\n"),
        });
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("001-stripe.json");
        out.write_file(&path, &serde_json::to_string_pretty(&transcript).expect("json"))
            .expect("write");
        let text = std::fs::read_to_string(&path).expect("read").to_ascii_lowercase();
        let lower = key.to_ascii_lowercase();
        for i in 0..=lower.len() - 12 {
            prop_assert!(!text.contains(&lower[i..i + 12]), "{} of {key} in {text}", &lower[i..i + 12]);
        }
    }
}

#[test]
fn hostile_inventory_ids_are_refused_without_echoing_escapes() {
    let home = tempfile::tempdir().expect("tmp");
    let inv = std::fs::read_to_string("fixtures/inventories/shop-2020.yaml")
        .expect("fixture")
        .replacen(
            "      - id: iterable-web",
            "      - id: \"iterable-web\\e[31mRED\\e]0;pwn\\a\\n::error ::inj\"",
            1,
        );
    let path = home.path().join("inventory.yaml");
    std::fs::write(&path, inv).expect("write");
    for args in [vec!["inventory", "check"], vec!["audit", "--offline", "-i"]] {
        let out = Command::cargo_bin("vendorscope")
            .expect("binary")
            .env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
            .env("VENDORSCOPE_HOME", home.path())
            .args(&args)
            .arg(&path)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("must not contain control characters"), "{err}");
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err}");
        assert!(
            err.lines().all(|l| !l.trim_start().starts_with("::")),
            "{err}"
        );
    }
}
