//! Issue 12, "bounded by construction": memory and report size grow with distinct values, not
//! hits (one exposure per value × place, `occurrences`, the first `--max-locations`
//! locations, per-file and per-run caps with a `truncated` note); baselines and location
//! exceptions keep covering occurrences past the kept locations; symlinks follow one rule;
//! oversized compressed members are scanned up to the cap; the quadratic inputs are linear.
//! Every key here is synthetic.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FP_KEY: &str = "test-fingerprint-key-0123456789abcdef";

/// Deterministic synthetic `sk_live_` keys (30 alphanumerics after the prefix).
struct Keys(u64);

impl Keys {
    fn next(&mut self) -> String {
        const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::from("sk_");
        s.push_str("live_");
        for _ in 0..30 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            s.push(ABC[(self.0 % ABC.len() as u64) as usize] as char);
        }
        s
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vendorscope"));
    c.env("VENDORSCOPE_FINGERPRINT_KEY", FP_KEY)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs the binary; exit code, stdout, stderr, peak RSS in KiB, wall time. The peak is the
/// child's own `VmHWM`, polled from `/proc/PID/status` until it exits (`wait4`'s `ru_maxrss`
/// would include this test process's memory, which the child inherits at spawn).
fn measured(mut c: Command) -> (i32, String, String, i64, Duration) {
    let t = Instant::now();
    let mut child = c.spawn().expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let o = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0i64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        {
            peak = peak.max(kb);
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&o.join().expect("stdout")).into_owned();
    let stderr = String::from_utf8_lossy(&e.join().expect("stderr")).into_owned();
    assert!(peak > 0, "no VmHWM read");
    (
        status.code().unwrap_or(-1),
        stdout,
        stderr,
        peak,
        t.elapsed(),
    )
}

fn scan(home: &Path, args: &[&str]) -> (i32, Value, String, i64, Duration) {
    let mut c = bin();
    c.env("VENDORSCOPE_HOME", home)
        .arg("scan")
        .args(args)
        .args(["--format", "json"]);
    let (code, out, err, rss, took) = measured(c);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err, rss, took)
}

fn exposures(v: &Value) -> Vec<Value> {
    v["exposures"].as_array().cloned().unwrap_or_default()
}

fn errors(v: &Value) -> String {
    v["errors"].to_string()
}

/// The input: 150k lines of `k='sk_live_…'` (6.5 MB), one key repeated.
fn same_key_file(dir: &Path, lines: usize) -> String {
    let key = Keys(0x9e37_79b9_7f4a_7c15).next();
    let mut text = String::with_capacity(lines * 44);
    for _ in 0..lines {
        text.push_str(&format!("k='{key}'\n"));
    }
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("many.js"), &text).expect("write");
    key
}

#[test]
fn one_key_150k_times_is_one_exposure_with_a_count_under_200_mb() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dist = tmp.path().join("dist");
    let key = same_key_file(&dist, 150_000);
    let (code, v, err, rss, took) = scan(tmp.path(), &[dist.to_str().expect("utf8")]);
    assert_eq!(code, 1, "{err}");
    let ex = exposures(&v);
    assert_eq!(ex.len(), 1, "{err}");
    assert_eq!(ex[0]["occurrences"], 150_000);
    let more = ex[0]["more_locations"].as_array().expect("more");
    assert_eq!(more.len(), 9, "10 locations kept by default");
    assert_eq!(more[8]["line"], 10);
    // Findings list the kept locations; the JSON stays small.
    for f in v["findings"].as_array().expect("findings") {
        assert_eq!(f["locations"].as_array().expect("locations").len(), 10);
    }
    let json = v.to_string();
    assert!(json.len() < 200_000, "{} bytes", json.len());
    assert!(!json.contains(&key[8..]), "raw key in the run");
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
    assert!(took < Duration::from_secs(120), "{took:?}");

    // --max-locations.
    let (_, v, _, _, _) = scan(
        tmp.path(),
        &[dist.to_str().expect("utf8"), "--max-locations", "3"],
    );
    let ex = exposures(&v);
    assert_eq!(ex[0]["occurrences"], 150_000);
    assert_eq!(ex[0]["more_locations"].as_array().map(Vec::len), Some(2));
    let bad = bin()
        .env("VENDORSCOPE_HOME", tmp.path())
        .args(["scan", dist.to_str().expect("utf8"), "--max-locations", "0"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn distinct_keys_are_capped_per_file_with_a_truncated_note_under_200_mb() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    let mut keys = Keys(0x2545_f491_4f6c_dd1d);
    let mut text = String::with_capacity(150_000 * 44);
    for _ in 0..150_000 {
        text.push_str(&format!("k='{}'\n", keys.next()));
    }
    std::fs::write(dist.join("distinct.js"), &text).expect("write");
    let (code, v, err, rss, took) = scan(tmp.path(), &[dist.to_str().expect("utf8")]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        exposures(&v).len(),
        1000,
        "default --max-exposures-per-file"
    );
    let errs = errors(&v);
    assert!(
        errs.contains("truncated")
            && errs.contains("distinct.js")
            && errs.contains("more occurrence"),
        "{errs}"
    );
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
    assert!(took < Duration::from_secs(120), "{took:?}");

    // The per-run cap.
    let (_, v, _, _, _) = scan(
        tmp.path(),
        &[dist.to_str().expect("utf8"), "--max-exposures", "50"],
    );
    assert_eq!(exposures(&v).len(), 50);
    assert!(errors(&v).contains("--max-exposures"), "{}", errors(&v));
}

/// A baseline made when the value occurred 150k times keeps suppressing it when it occurs
/// more often (every occurrence past the kept locations is the same value at the same place,
/// so the same finding); a location-glob exception matches them all alike.
#[test]
fn baselines_and_location_exceptions_cover_occurrences_past_the_kept_locations() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dist = tmp.path().join("dist");
    same_key_file(&dist, 30);
    let base = tmp.path().join("base.json");
    let spec = format!("json={}", base.display());
    let (code, v, err, _, _) = scan(
        tmp.path(),
        &[dist.to_str().expect("utf8"), "--output", &spec],
    );
    assert_eq!(code, 1, "{err}");
    let rules: Vec<String> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect();
    assert!(!rules.is_empty());
    // More occurrences, beyond the 10 kept locations, earlier and later in the file.
    same_key_file(&dist, 150_000);
    let (code, v, err, _, _) = scan(
        tmp.path(),
        &[
            dist.to_str().expect("utf8"),
            "--baseline",
            base.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(v["warnings"].to_string().contains("in the baseline"));

    // Exceptions by location glob.
    let today = jiff::Zoned::now().date();
    let expires = today.checked_add(jiff::Span::new().days(30)).expect("date");
    let mut exc = String::from("version: 1\nkind: Exceptions\nexceptions:\n");
    for (i, r) in rules.iter().enumerate() {
        exc.push_str(&format!(
            "  - id: EXC-{i}\n    rule: {r}\n    match: {{ location: \"**/many.js\" }}\n    reason: test bundle\n    approver: sec@example.com\n    created: {today}\n    expires: {expires}\n"
        ));
    }
    let exc_path = tmp.path().join("exceptions.yaml");
    std::fs::write(&exc_path, exc).expect("write");
    let (code, v, err, _, _) = scan(
        tmp.path(),
        &[
            dist.to_str().expect("utf8"),
            "--exceptions",
            exc_path.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let findings = v["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["status"] == "excepted"),
        "{findings:?}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_tree_are_not_followed() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().expect("tmp");
    let dist = tmp.path().join("dist");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let mut keys = Keys(7);
    let (inside_key, outside_key, map_key) = (keys.next(), keys.next(), keys.next());
    std::fs::write(dist.join("app.js"), format!("k='{inside_key}'\n")).expect("write");
    std::fs::write(outside.join("secret.js"), format!("k='{outside_key}'\n")).expect("write");
    // The cases: a link to /, to /proc/self, and an outside .map both linked and
    // named by a sourceMappingURL.
    symlink("/", dist.join("x")).expect("symlink");
    symlink("/proc/self", dist.join("self")).expect("symlink");
    symlink(&outside, dist.join("out")).expect("symlink");
    let map = format!(
        "{{\"version\":3,\"sources\":[\"src/a.ts\"],\"sourcesContent\":[\"k='{map_key}'\"],\"mappings\":\"AAAA\"}}"
    );
    std::fs::write(outside.join("b.js.map"), map).expect("write");
    symlink(outside.join("b.js.map"), dist.join("b.js.map")).expect("symlink");
    std::fs::write(
        dist.join("b.js"),
        format!("k='{}'\n//# sourceMappingURL=b.js.map\n", keys.next()),
    )
    .expect("write");
    // In-tree links are still followed.
    std::fs::create_dir_all(dist.join("v2")).expect("mkdir");
    std::fs::write(dist.join("v2/chunk.js"), format!("k='{}'\n", keys.next())).expect("write");
    symlink(dist.join("v2"), dist.join("latest")).expect("symlink");
    symlink(&dist, dist.join("v2/loop")).expect("symlink");

    let (code, v, err, rss, took) = scan(tmp.path(), &[dist.to_str().expect("utf8")]);
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert_eq!(code, 1, "{err}");
    let ex = exposures(&v);
    let paths: Vec<&str> = ex
        .iter()
        .filter_map(|e| e["location"]["path"].as_str())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("dist/app.js")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("latest/chunk.js")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("v2/chunk.js")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains("/out/")), "{paths:?}");
    assert!(!paths.iter().any(|p| p.ends_with(".map")), "{paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("/x/") || p.contains("/self/")),
        "{paths:?}"
    );
    let warnings = v["warnings"].to_string();
    // The linked map is refused by the walk and by the bundle's sourceMappingURL alike.
    assert!(warnings.contains("b.js →"), "{warnings}");
    for w in ["dist/x", "dist/self", "dist/out", "dist/b.js.map", "/proc"] {
        assert!(warnings.contains(w), "no warning for {w}: {warnings}");
    }
    assert!(warnings.contains("--follow-symlinks"), "{warnings}");
    assert!(warnings.contains("loop"), "{warnings}");
    // Loops and refused links are not scan errors.
    assert!(!errors(&v).contains("loop"), "{}", errors(&v));

    // Opt in: the outside tree and map are read; /proc never.
    std::fs::remove_file(dist.join("x")).expect("rm");
    let (code, v, err, _, _) = scan(
        tmp.path(),
        &[dist.to_str().expect("utf8"), "--follow-symlinks"],
    );
    assert_eq!(code, 1, "{err}");
    let ex = exposures(&v);
    let paths: Vec<&str> = ex
        .iter()
        .filter_map(|e| e["location"]["path"].as_str())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("out/secret.js")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("dist/b.js.map")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains("/self/")), "{paths:?}");
    assert!(v["warnings"].to_string().contains("/proc"));
}

/// A symlink to `/` in the tree: the walk ends promptly without following it.
#[cfg(unix)]
#[test]
fn a_symlink_to_root_ends_promptly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::os::unix::fs::symlink("/", dist.join("x")).expect("symlink");
    let (code, _, err, _, took) = scan(tmp.path(), &[dist.to_str().expect("utf8")]);
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_ne!(code, 2, "{err}");
}

/// The 32 MiB crawled page of keys stays bounded.
#[test]
fn a_32_mib_crawled_page_of_keys_stays_under_200_mb() {
    let mut keys = Keys(0xdead_beef_1234_5678);
    let mut body = String::with_capacity(32 << 20);
    body.push_str("<html><body>\n");
    while body.len() < (32 << 20) - 64 {
        body.push_str(&format!("<p>k='{}'</p>\n", keys.next()));
    }
    body.push_str("</body></html>\n");
    let body = std::sync::Arc::new(body.into_bytes());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let page = head.starts_with(b"GET / ");
                let (status, bytes): (&str, &[u8]) = if page {
                    ("200 OK", &body)
                } else {
                    ("404 Not Found", b"")
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                );
                let _ = s.write_all(bytes);
            });
        }
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let url = format!("http://127.0.0.1:{port}/");
    let (code, v, err, rss, took) = scan(
        tmp.path(),
        &[&url, "--allow-private-addresses", "--ignore-robots"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(exposures(&v).len(), 1000, "{err}");
    assert!(errors(&v).contains("truncated"), "{}", errors(&v));
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

/// The quadratic input: one `sourcesContent` string with 20k keys (4 MB), every key
/// reported (caps raised) with its original line, in bounded time.
#[test]
fn a_sources_content_string_with_20k_keys_is_linear() {
    let mut keys = Keys(11);
    let mut content = String::new();
    for i in 0..20_000 {
        content.push_str(&format!(
            "// line {i} {}\nconst k{i} = \"{}\";\n",
            "x".repeat(120),
            keys.next()
        ));
    }
    let map = serde_json::json!({
        "version": 3, "sources": ["src/a.ts"], "sourcesContent": [content], "mappings": "AAAA"
    })
    .to_string();
    assert!(map.len() > 3_500_000);
    let d = vendorscope::exposure::Detectors::load(&[]).expect("detectors");
    let mut s = vendorscope::exposure::Scanner::new(std::sync::Arc::new(d));
    s.limits.max_per_item = 100_000;
    s.cap = std::sync::Arc::new(vendorscope::exposure::scan::RunCap::new(100_000));
    let t = Instant::now();
    let out = s.scan_bytes("dist/app.js.map", map.as_bytes());
    let took = t.elapsed();
    // (A handful of random bodies look like placeholders and are not credentials.)
    assert!(out.hits.len() > 19_900, "{}", out.hits.len());
    let last = out
        .hits
        .iter()
        .filter_map(|h| h.location.original.as_ref())
        .map(|o| o.line)
        .max();
    assert_eq!(last, Some(40_000));
    // Was 61 s; linear takes well under a second in release, a few in debug.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// The quadratic input: `inventory check` of a 6 MB file with 140k live-looking
/// values; every one is reported, in bounded time.
#[test]
fn inventory_check_with_140k_live_values_is_linear() {
    let mut keys = Keys(13);
    let mut text =
        String::from("version: 1\nvendors:\n  - id: stripe\n    connector: stripe\n    keys:\n");
    for i in 0..140_000 {
        text.push_str(&format!("      - k{i}: {}\n", keys.next()));
    }
    assert!(text.len() > 6_000_000);
    let t = Instant::now();
    let Err(d) = vendorscope::inventory::load_bytes("inv.yaml", text.as_bytes(), None) else {
        panic!("a live-looking inventory was accepted");
    };
    let took = t.elapsed();
    assert!(d.items.len() >= 140_000, "{}", d.items.len());
    let rendered = d.render();
    assert!(rendered.contains("140005"));
    // Was 160 s.
    assert!(took < Duration::from_secs(30), "{took:?}");
}
