//! Crawler tests: the demo storefront, limits, anonymity, SSRF refusals and hostile servers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;
use vendorscope::crawl::demo_site::{DemoConfig, DemoHandle, DemoSite, TEST_ITERABLE_KEY};
use vendorscope::crawl::{CrawlErrorKind, CrawlReport, CrawlSettings, Fetched, FetchedKind, crawl};

fn local_settings() -> CrawlSettings {
    CrawlSettings {
        allow_loopback: true,
        progress: false,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        read_idle_timeout: Duration::from_secs(2),
        ..CrawlSettings::default()
    }
}

struct Demo {
    _rt: tokio::runtime::Runtime,
    page: Url,
    cdn: Url,
    handle: DemoHandle,
}

fn demo(config: DemoConfig) -> Demo {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (page, cdn, handle) = rt.block_on(DemoSite::start(config)).expect("demo starts");
    Demo {
        _rt: rt,
        page,
        cdn,
        handle,
    }
}

fn run(seeds: &[Url], settings: &CrawlSettings) -> (Vec<Fetched>, CrawlReport) {
    let mut got = Vec::new();
    let report = crawl(seeds, settings, |f| got.push(f));
    (got, report)
}

fn fetched<'a>(got: &'a [Fetched], url: &str) -> Option<&'a Fetched> {
    got.iter().find(|f| f.url.as_str() == url)
}

#[test]
fn demo_site_lazy_chunk_source_map_and_config_are_fetched() {
    let d = demo(DemoConfig::default());
    let (got, report) = run(std::slice::from_ref(&d.page), &local_settings());
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    // The page loads its bundles from the CDN, another origin, and the checkout page a
    // third-party tag: two script origins to account for, each with the pages that load it.
    let cdn = d.cdn.origin().ascii_serialization();
    let tags = d.handle.tags_url.origin().ascii_serialization();
    let mut want = vec![&cdn, &tags];
    want.sort();
    assert_eq!(
        report.script_origins.keys().collect::<Vec<_>>(),
        want,
        "{:?}",
        report.script_origins
    );
    let page = format!("{}{}", d.page.origin().ascii_serialization(), d.page.path());
    assert!(report.script_origins[&cdn].contains(&page));
    let checkout = format!("{}/checkout", d.page.origin().ascii_serialization());
    assert_eq!(
        report.script_origins[&tags].iter().collect::<Vec<_>>(),
        vec![&checkout]
    );

    let chunk_url = d
        .cdn
        .join(&format!("assets/{}", d.handle.checkout_chunk))
        .expect("url");
    let chunk = fetched(&got, chunk_url.as_str()).expect("lazy chunk on the CDN fetched");
    assert_eq!(chunk.kind, FetchedKind::Script);
    let main_url = d
        .cdn
        .join(&format!("assets/{}", d.handle.main_chunk))
        .expect("url");
    assert_eq!(
        chunk.referrer.as_ref(),
        Some(&main_url),
        "named only in the main bundle"
    );
    // Temporary hook until the exposure engine is wired: the planted key is in the bytes.
    assert!(String::from_utf8_lossy(&chunk.bytes).contains(TEST_ITERABLE_KEY));
    let map_url = Url::parse(&format!("{chunk_url}.map")).expect("url");
    assert_eq!(chunk.source_map_url.as_ref(), Some(&map_url));
    let map = fetched(&got, map_url.as_str()).expect("source map fetched");
    assert_eq!(map.kind, FetchedKind::SourceMap);
    assert!(String::from_utf8_lossy(&map.bytes).contains("src/config/iterable.ts"));

    // SourceMap header on the vendor chunk.
    let vendor_map = d
        .cdn
        .join(&format!("assets/{}.map", d.handle.vendor_chunk))
        .expect("url");
    assert!(
        fetched(&got, vendor_map.as_str()).is_some(),
        "SourceMap header followed"
    );

    let config = fetched(&got, d.page.join("/config.json").expect("url").as_str()).expect("config");
    assert_eq!(config.kind, FetchedKind::Json);
    // Only in the sitemap.
    assert!(fetched(&got, d.page.join("/products/3").expect("url").as_str()).is_some());
    // Disallowed by robots.txt.
    assert!(fetched(&got, d.page.join("/admin/").expect("url").as_str()).is_none());
    assert!(report.stats.robots_disallowed >= 1);
    // CDN assets are fetched, not crawled: nothing but /assets/ was asked of the CDN.
    let reqs = d.handle.requests();
    assert!(
        reqs.iter()
            .filter(|r| r.origin == "cdn")
            .all(|r| r.path.starts_with("/assets/")),
        "{:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    // Anonymous: no cookie (the site set one), no credentials, no referrer.
    for r in &reqs {
        for (k, _) in &r.headers {
            assert!(
                !matches!(
                    k.as_str(),
                    "cookie" | "authorization" | "proxy-authorization" | "api-key" | "referer"
                ),
                "{} sent on {}",
                k,
                r.path
            );
        }
    }
    assert!(reqs.iter().all(|r| r.path != "/admin/"));
}

#[test]
fn ignore_robots_fetches_disallowed_pages() {
    let d = demo(DemoConfig::default());
    let settings = CrawlSettings {
        ignore_robots: true,
        ..local_settings()
    };
    let (got, _) = run(std::slice::from_ref(&d.page), &settings);
    assert!(fetched(&got, d.page.join("/admin/").expect("url").as_str()).is_some());
}

#[test]
fn two_builds_have_different_chunk_names() {
    let a = demo(DemoConfig::default());
    let b = demo(DemoConfig {
        build_seed: "build-2".into(),
        iterable_key: "00112233445566778899aabbccddeeff".into(),
    });
    assert_ne!(a.handle.checkout_chunk, b.handle.checkout_chunk);
    let (got, _) = run(std::slice::from_ref(&b.page), &local_settings());
    let chunk = b
        .cdn
        .join(&format!("assets/{}", b.handle.checkout_chunk))
        .expect("url");
    let f = fetched(&got, chunk.as_str()).expect("chunk");
    assert!(String::from_utf8_lossy(&f.bytes).contains("00112233445566778899aabbccddeeff"));
}

#[test]
fn page_and_depth_limits() {
    let d = demo(DemoConfig::default());
    let settings = CrawlSettings {
        max_pages: 2,
        ..local_settings()
    };
    let (got, report) = run(std::slice::from_ref(&d.page), &settings);
    let pages = got.iter().filter(|f| f.kind == FetchedKind::Page).count();
    assert!(pages <= 2, "{pages} pages");
    assert!(report.stats.pages_over_limit > 0);

    let settings = CrawlSettings {
        max_depth: 0,
        ..local_settings()
    };
    let (got, _) = run(std::slice::from_ref(&d.page), &settings);
    let pages: Vec<&str> = got
        .iter()
        .filter(|f| f.kind == FetchedKind::Page)
        .map(|f| f.url.as_str())
        .collect();
    assert_eq!(pages, vec![d.page.as_str()]);
}

#[test]
fn total_byte_budget_stops_the_crawl() {
    let d = demo(DemoConfig::default());
    let settings = CrawlSettings {
        max_total_bytes: 2_000,
        concurrency: 1,
        per_host_concurrency: 1,
        ..local_settings()
    };
    let (got, report) = run(std::slice::from_ref(&d.page), &settings);
    let total: usize = got.iter().map(|f| f.bytes.len()).sum();
    assert!(total <= 2_000, "{total} bytes kept");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.kind == CrawlErrorKind::BudgetExhausted)
    );
}

// ---- hostile servers -------------------------------------------------------------------

/// A raw HTTP/1.1 server on loopback that records every request head.
struct Raw {
    base: Url,
    log: Arc<Mutex<Vec<String>>>,
}

fn raw_server() -> Raw {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = log2.clone();
            std::thread::spawn(move || handle_raw(stream, port, &log));
        }
    });
    Raw {
        base: Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url"),
        log,
    }
}

fn handle_raw(mut s: TcpStream, port: u16, log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().expect("log").push(head);
    let ok = |ct: &str, body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let redirect = |to: &str| {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    let resp = match path.as_str() {
        "/" => ok(
            "text/html",
            r#"<html><head><script src="/maps.js"></script></head><body>
<a href="/redirect-metadata">m</a><a href="/redirect-private">p</a><a href="/redirect-cross">c</a>
<a href="/redirect-same">s</a></body></html>"#,
        ),
        "/maps.js" => ok(
            "application/javascript",
            "import(\"http://10.1.2.3/chunk.js\");\n//# sourceMappingURL=http://169.254.169.254/latest/meta-data/app.js.map\n",
        ),
        "/redirect-metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
        "/redirect-private" => redirect("http://10.0.0.1/"),
        "/redirect-cross" => redirect(&format!("http://localhost:{port}/other")),
        "/redirect-same" => redirect("/landed"),
        "/userinfo" => ok(
            "text/html",
            &format!(
                r#"<html><head><script src="http://bob:linkS3cret@127.0.0.1:{port}/maps.js"></script></head>
<body><a href="http://bob:linkS3cret@127.0.0.1:{port}/landed">l</a><a href="/redirect-userinfo">r</a></body></html>"#
            ),
        ),
        "/redirect-userinfo" => {
            redirect(&format!("http://eve:redirS3cret@127.0.0.1:{port}/landed"))
        }
        "/slow-index" => ok(
            "text/html",
            &(1..=12)
                .map(|i| format!("<a href=\"/slow/{i}\">{i}</a>"))
                .collect::<String>(),
        ),
        p if p.starts_with("/slow/") => {
            // Headers at once, then a byte every 500 ms for 15 s: never idle long enough for
            // the idle timeout, far shorter than the request timeout.
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 30\r\nConnection: close\r\n\r\n",
            );
            for _ in 0..30 {
                std::thread::sleep(Duration::from_millis(500));
                if s.write_all(b" ").is_err() {
                    return;
                }
            }
            return;
        }
        "/landed" => ok("text/html", "<html><body>landed</body></html>"),
        "/stall" => {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>",
            );
            let _ = s.flush();
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        "/huge" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nConnection: close\r\n\r\n");
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..(256 * 16) {
                if s.write_all(&chunk).is_err() {
                    return;
                }
            }
            return;
        }
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
    };
    let _ = s.write_all(resp.as_bytes());
}

fn paths(raw: &Raw) -> Vec<String> {
    raw.log
        .lock()
        .expect("log")
        .iter()
        .filter_map(|h| h.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn private_and_metadata_redirects_and_source_maps_are_refused() {
    let raw = raw_server();
    let (got, report) = run(std::slice::from_ref(&raw.base), &local_settings());
    let refused: Vec<&str> = report
        .errors
        .iter()
        .filter(|e| e.kind == CrawlErrorKind::Refused)
        .map(|e| e.url.as_str())
        .collect();
    for u in [
        raw.base.join("/redirect-metadata").expect("url"),
        raw.base.join("/redirect-private").expect("url"),
        Url::parse("http://169.254.169.254/latest/meta-data/app.js.map").expect("url"),
        Url::parse("http://10.1.2.3/chunk.js").expect("url"),
    ] {
        assert!(
            refused.contains(&u.as_str()),
            "{u} not refused: {:?}",
            report.errors
        );
    }
    // Cross-origin redirect not followed; same-origin one is.
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.url.ends_with("/redirect-cross"))
    );
    let p = paths(&raw);
    assert!(!p.iter().any(|x| x == "/other"), "{p:?}");
    let same = fetched(&got, raw.base.join("/redirect-same").expect("url").as_str()).expect("same");
    assert!(same.final_url.path().ends_with("/landed"));
    // Never a cookie or credential header.
    for h in raw.log.lock().expect("log").iter() {
        let lower = h.to_ascii_lowercase();
        assert!(
            !lower.contains("\r\ncookie:") && !lower.contains("\r\nauthorization:"),
            "{h}"
        );
    }
}

#[test]
fn without_allow_loopback_and_private_addresses_are_refused_before_connecting() {
    let raw = raw_server();
    let settings = CrawlSettings {
        progress: false,
        ..CrawlSettings::default()
    };
    let localhost = Url::parse(&format!(
        "http://localhost:{}/",
        raw.base.port().expect("port")
    ))
    .expect("url");
    let started = Instant::now();
    let seeds = [
        raw.base.clone(),
        localhost.clone(),
        Url::parse("http://169.254.169.254/latest/meta-data/").expect("url"),
        Url::parse("http://10.0.0.1/").expect("url"),
        Url::parse("http://[::ffff:10.0.0.1]/").expect("url"),
        Url::parse("http://0x7f.1/").expect("url"),
    ];
    let (got, report) = run(&seeds, &settings);
    assert!(got.is_empty());
    // Refusal happens before any connection: no connect timeouts, nothing reached the server.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(paths(&raw).is_empty(), "{:?}", paths(&raw));
    for s in &seeds {
        let e = report
            .errors
            .iter()
            .find(|e| e.url == s.as_str())
            .unwrap_or_else(|| panic!("no error for {s}: {:?}", report.errors));
        assert_eq!(e.kind, CrawlErrorKind::Refused, "{e:?}");
    }
    // The name was resolved, then refused.
    let e = report
        .errors
        .iter()
        .find(|e| e.url == localhost.as_str())
        .expect("error");
    assert!(e.message.contains("resolves to"), "{}", e.message);
    assert!(report.run_errors().iter().all(|r| r.stage == "surface"));
}

#[test]
fn stalled_body_is_cut_off_by_the_idle_timeout() {
    let raw = raw_server();
    let settings = CrawlSettings {
        read_idle_timeout: Duration::from_millis(500),
        probe_well_known: false,
        ..local_settings()
    };
    let url = raw.base.join("/stall").expect("url");
    let started = Instant::now();
    let (got, report) = run(std::slice::from_ref(&url), &settings);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(got.is_empty());
    let e = report
        .errors
        .iter()
        .find(|e| e.url == url.as_str())
        .expect("error");
    assert_eq!(e.kind, CrawlErrorKind::Timeout, "{e:?}");
}

#[test]
fn huge_response_is_capped() {
    let raw = raw_server();
    let settings = CrawlSettings {
        max_response_bytes: 1 << 20,
        probe_well_known: false,
        ..local_settings()
    };
    let url = raw.base.join("/huge").expect("url");
    let (got, report) = run(std::slice::from_ref(&url), &settings);
    let f = fetched(&got, url.as_str()).expect("prefix delivered");
    assert_eq!(f.bytes.len(), 1 << 20);
    assert!(f.truncated);
    let e = report
        .errors
        .iter()
        .find(|e| e.url == url.as_str())
        .expect("error");
    assert_eq!(e.kind, CrawlErrorKind::TooLarge);
}

// ---- URL credentials (issue 12 #12) --------------------------------------------------------

fn authorization_seen(raw: &Raw) -> bool {
    raw.log
        .lock()
        .expect("log")
        .iter()
        .any(|h| h.to_ascii_lowercase().contains("\nauthorization:"))
}

/// Links and redirects that carry `user:password@` are followed without it and kept without it.
#[test]
fn links_with_credentials_are_followed_without_them() {
    let raw = raw_server();
    let settings = CrawlSettings {
        probe_well_known: false,
        ..local_settings()
    };
    let mut seed = raw.base.join("/userinfo").expect("url");
    seed.set_username("alice").expect("user");
    seed.set_password(Some("seedS3cret")).expect("password");
    let (got, report) = run(std::slice::from_ref(&seed), &settings);
    assert!(!authorization_seen(&raw), "credentials were sent");
    assert!(
        paths(&raw).contains(&"/landed".to_string()),
        "{:?}",
        paths(&raw)
    );
    let kept = format!(
        "{:?} {:?}",
        got.iter()
            .map(|f| (
                f.url.to_string(),
                f.final_url.to_string(),
                f.referrer.clone()
            ))
            .collect::<Vec<_>>(),
        report
    );
    for pw in [
        "seedS3cret",
        "linkS3cret",
        "redirS3cret",
        "alice",
        "bob:",
        "eve:",
    ] {
        assert!(!kept.contains(pw), "{pw} kept: {kept}");
    }
}

fn cli(args: &[&str]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vendorscope"))
        .args(args)
        .env("VENDORSCOPE_FINGERPRINT_KEY", "crawl-test-fingerprint-key")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// `scan http://alice:pw@127.0.0.1:PORT/` sent Basic auth on every request and stored the
/// password in the run. Now: exit 2, nothing sent, the password not echoed.
#[test]
fn scan_refuses_a_url_with_credentials() {
    let raw = raw_server();
    let port = raw.base.port().expect("port");
    let url = format!("http://alice:pw@127.0.0.1:{port}/");
    let (code, stdout, stderr, _) = cli(&[
        "scan",
        &url,
        "--allow-private-addresses",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("credentials"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("pw") && !stdout.contains("pw"), "{stderr}");
    assert!(
        raw.log.lock().expect("log").is_empty(),
        "a request was sent"
    );
    // Unparsable URLs with user info are not echoed either.
    let (code, _, stderr, _) = cli(&["scan", "http://alice:pw@/", "--format", "json"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("pw"), "{stderr}");
}

/// A crawled page's links with credentials: the server sees no Authorization header and the
/// run JSON holds no password.
#[test]
fn scan_run_keeps_no_link_credentials() {
    let raw = raw_server();
    let url = raw.base.join("/userinfo").expect("url").to_string();
    let (code, stdout, stderr, _) = cli(&[
        "scan",
        &url,
        "--allow-private-addresses",
        "--format",
        "json",
    ]);
    assert!(matches!(code, 0 | 1 | 3), "{code}: {stderr}");
    assert!(!authorization_seen(&raw), "credentials were sent");
    for pw in ["linkS3cret", "redirS3cret", "bob:", "eve:"] {
        assert!(!stdout.contains(pw), "{pw} in the run");
        assert!(!stderr.contains(pw), "{pw} on stderr");
    }
}

/// An inventory surface with credentials is refused (exit 2) and its snippet stars them out.
#[test]
fn audit_refuses_a_surface_with_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = dir.path().join("inventory.yaml");
    std::fs::write(
        &inv,
        "version: 1\norganization: T\nsurfaces:\n  - url: \"http://alice:invS3cret@127.0.0.1:9/\"\n",
    )
    .expect("write");
    let inv = inv.display().to_string();
    let (code, stdout, stderr, _) = cli(&["audit", "-i", &inv, "--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("credentials"), "{stderr}");
    assert!(
        !stderr.contains("invS3cret") && !stdout.contains("invS3cret"),
        "{stderr}"
    );
}

// ---- crawl deadline (issue 12, "also measured") -------------------------------------------

/// 12 slow pages took 180 s with no overall deadline. `max_duration` ends the crawl promptly,
/// requests in flight included, and says the surface is incomplete.
#[test]
fn max_duration_ends_a_slow_crawl_promptly() {
    let raw = raw_server();
    let settings = CrawlSettings {
        probe_well_known: false,
        max_duration: Duration::from_secs(2),
        ..local_settings()
    };
    let seed = raw.base.join("/slow-index").expect("url");
    let started = Instant::now();
    let (_, report) = run(std::slice::from_ref(&seed), &settings);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    let e = report
        .errors
        .iter()
        .find(|e| e.kind == CrawlErrorKind::Deadline)
        .expect("deadline error");
    assert!(e.message.contains("--max-duration 2s"), "{}", e.message);
    assert!(e.message.contains("not fully scanned"), "{}", e.message);
}

/// One slow host cannot use the whole crawl's budget.
#[test]
fn per_host_budget_stops_a_slow_host() {
    let raw = raw_server();
    let settings = CrawlSettings {
        probe_well_known: false,
        max_host_duration: Duration::from_secs(1),
        ..local_settings()
    };
    let seed = raw.base.join("/slow-index").expect("url");
    let started = Instant::now();
    let (_, report) = run(std::slice::from_ref(&seed), &settings);
    assert!(started.elapsed() < Duration::from_secs(3));
    let e = report
        .errors
        .iter()
        .find(|e| e.kind == CrawlErrorKind::Deadline)
        .expect("deadline error");
    assert!(e.message.contains("host time budget (1s)"), "{}", e.message);
}

/// The CLI: `--max-duration 2s` ends promptly, the report is written, and the gate says
/// incomplete (exit 3), never a silent pass.
#[test]
fn scan_max_duration_reports_an_incomplete_surface() {
    let raw = raw_server();
    let url = raw.base.join("/slow-index").expect("url").to_string();
    let (code, stdout, stderr, took) = cli(&[
        "scan",
        &url,
        "--allow-private-addresses",
        "--max-duration",
        "2s",
        "--format",
        "json",
    ]);
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(code, 3, "{stderr}");
    let run: serde_json::Value = serde_json::from_str(&stdout).expect("run JSON");
    let errors = run["errors"].to_string();
    assert!(errors.contains("--max-duration 2s"), "{errors}");
    let (code, _, stderr, _) = cli(&["scan", &url, "--max-duration", "soon"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--max-duration"), "{stderr}");
}

/// `audit --max-duration` bounds each surface's crawl the same way.
#[test]
fn audit_max_duration_reports_an_incomplete_surface() {
    let raw = raw_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = dir.path().join("inventory.yaml");
    let url = raw.base.join("/slow-index").expect("url");
    std::fs::write(
        &inv,
        format!("version: 1\norganization: T\nsurfaces:\n  - url: \"{url}\"\n"),
    )
    .expect("write");
    let inv = inv.display().to_string();
    let (code, stdout, stderr, took) = cli(&[
        "audit",
        "-i",
        &inv,
        "--allow-private-addresses",
        "--max-duration",
        "2s",
        "--format",
        "json",
    ]);
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.contains("--max-duration 2s"), "{stdout}");
}
