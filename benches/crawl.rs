//! Crawl benchmark: a 2,000-page loopback site answering each request after 20 ms; prints wall time against pages × latency ÷ concurrency and peak memory.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;
use vendorscope::crawl::{CrawlSettings, crawl};

const PAGES: usize = 2_000;
const LATENCY: Duration = Duration::from_millis(20);
const CONCURRENCY: usize = 16;

async fn page(req: Request) -> Response {
    tokio::time::sleep(LATENCY).await;
    let path = req.uri().path();
    let id = if path == "/" {
        Some(0)
    } else {
        path.strip_prefix("/p/")
            .and_then(|s| s.parse::<usize>().ok())
    };
    let Some(id) = id.filter(|i| *i < PAGES) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut html = format!(
        "<!doctype html><html><head><title>Product {id}</title></head><body><h1>Product {id}</h1>"
    );
    for child in (id * 10 + 1)..=(id * 10 + 10) {
        if child < PAGES {
            html.push_str(&format!("<a href=\"/p/{child}\">product {child}</a> "));
        }
    }
    html.push_str("<a href=\"/\">home</a><p>");
    html.push_str(&"Lightweight trail gear, tested in the Alps. ".repeat(40));
    html.push_str("</p></body></html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let app = Router::new().fallback(page);
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("server address");
    let seed = Url::parse(&format!("http://{addr}/")).expect("url");
    let settings = CrawlSettings {
        allow_loopback: true,
        max_pages: PAGES,
        max_depth: 10,
        concurrency: CONCURRENCY,
        per_host_concurrency: CONCURRENCY,
        progress: false,
        ..CrawlSettings::default()
    };
    let mut bytes = 0usize;
    let mut fetched = 0usize;
    let started = Instant::now();
    let report = crawl(&[seed], &settings, |f| {
        bytes += f.bytes.len();
        fetched += 1;
    });
    let wall = started.elapsed();
    let requests = report.stats.requests;
    let ideal = LATENCY.as_secs_f64() * requests as f64 / CONCURRENCY as f64;
    println!(
        "crawl bench: {} pages, {} requests (incl. robots/sitemap/config probes), {} bodies, {:.1} MiB",
        report.stats.pages,
        requests,
        fetched,
        bytes as f64 / 1048576.0
    );
    println!("errors: {}", report.errors.len());
    println!(
        "wall {:.3} s; ideal requests x {} ms / {} = {:.3} s; ratio {:.2} (goal <= 1.2)",
        wall.as_secs_f64(),
        LATENCY.as_millis(),
        CONCURRENCY,
        ideal,
        wall.as_secs_f64() / ideal
    );
    match peak_rss_kib() {
        Some(k) => println!(
            "peak memory (VmHWM, whole process incl. server): {:.1} MiB",
            k as f64 / 1024.0
        ),
        None => println!("peak memory: unavailable (/proc/self/status)"),
    }
}
