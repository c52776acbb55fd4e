//! The demo storefront: a realistic build (hashed chunks on a second "CDN" origin, a lazy chunk, source maps, runtime config) with the 2020 mistake planted — a server-side Iterable key in the lazy chunk — and a third-party tag on the checkout page served from a third origin that no inventory vendor owns (a shadow vendor).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

const INDEX_HTML: &str = include_str!("demo_site/index.html");
const ITERABLE_TS: &str = include_str!("demo_site/iterable.ts");
const MAIN_TS: &str = include_str!("demo_site/main.ts");

/// A fixed, obviously synthetic Iterable key for tests (32 lowercase hex, as Iterable issues).
pub const TEST_ITERABLE_KEY: &str = "5ca1ab1e0ddba11c0ffee0dec0de5eed";

/// What to build and plant.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The server-side Iterable key planted in the lazy chunk and its source map. The demo
    /// generates a random one per run and gives the same value to the Iterable emulator.
    pub iterable_key: String,
    /// Changes every chunk hash (two builds, same content, different file names).
    pub build_seed: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            iterable_key: TEST_ITERABLE_KEY.to_owned(),
            build_seed: "build-1".to_owned(),
        }
    }
}

impl DemoConfig {
    /// A random 32-hex key, for a demo run.
    pub fn random_iterable_key() -> String {
        let mut b = [0u8; 16];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
        hex::encode(b)
    }
}

/// One request the demo servers saw (for tests: what did the crawler send?).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `page`, `cdn` or `tags` (the third-party tag's origin).
    pub origin: &'static str,
    pub path: String,
    /// Header names, lower-case, with values.
    pub headers: Vec<(String, String)>,
}

struct Asset {
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

struct Site {
    name: &'static str,
    files: HashMap<String, Asset>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
}

/// The running demo; dropping it leaves the servers running until the runtime stops, `shutdown`
/// stops them.
pub struct DemoHandle {
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    /// File names of this build (they depend on `build_seed`).
    pub main_chunk: String,
    pub vendor_chunk: String,
    pub checkout_chunk: String,
    /// The origin of the third-party tag on the checkout page (no inventory vendor owns it).
    pub tags_url: Url,
}

impl DemoHandle {
    /// Every request received so far, all origins.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops every listener.
    pub fn shutdown(mut self) {
        for s in self.stop.drain(..) {
            let _ = s.send(());
        }
    }
}

/// Starts the demo site.
pub struct DemoSite;

impl DemoSite {
    /// Binds the page origin, the CDN origin and the third-party tag's origin on 127.0.0.1
    /// (ephemeral ports) and serves the build. Must run inside a tokio runtime.
    pub async fn start(config: DemoConfig) -> std::io::Result<(Url, Url, DemoHandle)> {
        let any: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
        Self::start_on(config, any, any).await
    }

    /// [`DemoSite::start`] on given page and CDN addresses (port 0 = ephemeral).
    pub async fn start_on(
        config: DemoConfig,
        page: std::net::SocketAddr,
        cdn: std::net::SocketAddr,
    ) -> std::io::Result<(Url, Url, DemoHandle)> {
        let page_listener = tokio::net::TcpListener::bind(page).await?;
        let cdn_listener = tokio::net::TcpListener::bind(cdn).await?;
        let page_url = origin_url(&page_listener)?;
        let tags_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let cdn_url = origin_url(&cdn_listener)?;
        let tags_url = origin_url(&tags_listener)?;
        let build = Build::new(&config, &page_url, &cdn_url, &tags_url);
        let log = Arc::new(Mutex::new(Vec::new()));
        let page = Arc::new(Site {
            name: "page",
            files: build.page_files,
            log: log.clone(),
        });
        let cdn = Arc::new(Site {
            name: "cdn",
            files: build.cdn_files,
            log: log.clone(),
        });
        let tags = Arc::new(Site {
            name: "tags",
            files: build.tags_files,
            log: log.clone(),
        });
        let mut stop = Vec::new();
        for (listener, site) in [
            (page_listener, page),
            (cdn_listener, cdn),
            (tags_listener, tags),
        ] {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            stop.push(tx);
            let app = Router::new().fallback(serve).with_state(site);
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
        }
        Ok((
            page_url,
            cdn_url,
            DemoHandle {
                log,
                stop,
                main_chunk: build.main,
                vendor_chunk: build.vendor,
                checkout_chunk: build.checkout,
                tags_url,
            },
        ))
    }
}

fn origin_url(l: &tokio::net::TcpListener) -> std::io::Result<Url> {
    let addr = l.local_addr()?;
    Url::parse(&format!("http://{addr}/")).map_err(|e| std::io::Error::other(e.to_string()))
}

async fn serve(State(site): State<Arc<Site>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if let Ok(mut log) = site.log.lock() {
        log.push(RecordedRequest {
            origin: site.name,
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_else(|| path.clone()),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        });
    }
    let Some(asset) = site.files.get(&path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    for (k, v) in &asset.headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(*k, v);
        }
    }
    (StatusCode::OK, headers, asset.body.clone()).into_response()
}

struct Build {
    page_files: HashMap<String, Asset>,
    cdn_files: HashMap<String, Asset>,
    tags_files: HashMap<String, Asset>,
    main: String,
    vendor: String,
    checkout: String,
}

fn chunk_hash(seed: &str, name: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("{seed}\0{name}").as_bytes());
    hex::encode(&d.as_ref()[..4])
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "application/javascript; charset=utf-8";
const JSON: &str = "application/json";

fn asset(content_type: &'static str, body: impl Into<Vec<u8>>) -> Asset {
    Asset {
        content_type,
        body: body.into(),
        headers: Vec::new(),
    }
}

impl Build {
    fn new(config: &DemoConfig, page: &Url, cdn: &Url, tags: &Url) -> Build {
        let seed = &config.build_seed;
        let main = format!("main.{}.js", chunk_hash(seed, "main"));
        let vendor = format!("vendor.{}.js", chunk_hash(seed, "vendor"));
        let checkout = format!("chunk-checkout.{}.js", chunk_hash(seed, "checkout"));
        let cdn_base = cdn.as_str().trim_end_matches('/');
        let page_base = page.as_str().trim_end_matches('/');
        let tags_base = tags.as_str().trim_end_matches('/');

        let mut page_files = HashMap::new();
        let index = INDEX_HTML
            .replace("{{CDN}}", cdn_base)
            .replace("{{MAIN}}", &main)
            .replace("{{VENDOR}}", &vendor);
        let mut index_asset = asset(HTML, index);
        index_asset.headers.push((
            "set-cookie",
            "session=demo-session-7f3c; Path=/; HttpOnly".to_owned(),
        ));
        page_files.insert("/".to_owned(), index_asset);
        for (id, name) in [
            (1, "Alpine shell jacket"),
            (2, "Ridge 40 L pack"),
            (3, "Summit headlamp"),
        ] {
            page_files.insert(
                format!("/products/{id}"),
                asset(
                    HTML,
                    format!(
                        "<!doctype html><html><head><title>{name}</title>\
<script type=\"module\" src=\"{cdn_base}/assets/{main}\"></script></head>\
<body><h1>{name}</h1><a href=\"/\">Home</a> <a href=\"/products/{next}\">Next</a></body></html>",
                        next = id % 3 + 1
                    ),
                ),
            );
        }
        page_files.insert(
            "/about".to_owned(),
            asset(
                HTML,
                "<!doctype html><html><body><h1>About us</h1><a href=\"/\">Home</a></body></html>",
            ),
        );
        page_files.insert(
            "/checkout".to_owned(),
            asset(
                HTML,
                format!(
                    "<!doctype html><html><head><script type=\"module\" src=\"{cdn_base}/assets/{main}\"></script>\
<script async src=\"{tags_base}/pulse.js\"></script></head>\
<body><h1>Basket</h1><button id=\"checkout\">Pay</button></body></html>"
                ),
            ),
        );
        page_files.insert(
            "/admin/".to_owned(),
            asset(
                HTML,
                "<!doctype html><html><body><h1>Staff only</h1></body></html>",
            ),
        );
        page_files.insert(
            "/config.json".to_owned(),
            asset(
                JSON,
                r#"{"apiBase":"/api","currency":"EUR","stripe":{"publishableKey":"pk_test_TYooMQauvdEDq54NiTphI7jx"},"iterable":{"apiKey":"YOUR_API_KEY"},"featureFlags":{"newCheckout":true}}"#,
            ),
        );
        page_files.insert(
            "/robots.txt".to_owned(),
            asset(
                "text/plain",
                format!("User-agent: *\nDisallow: /admin/\n\nSitemap: {page_base}/sitemap.xml\n"),
            ),
        );
        let mut sitemap = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for p in [
            "/",
            "/products/1",
            "/products/2",
            "/products/3",
            "/about",
            "/checkout",
        ] {
            sitemap.push_str(&format!("  <url><loc>{page_base}{p}</loc></url>\n"));
        }
        sitemap.push_str("</urlset>\n");
        page_files.insert("/sitemap.xml".to_owned(), asset("application/xml", sitemap));

        // CDN: the build's hashed chunks.
        let mut cdn_files = HashMap::new();
        let cors = |mut a: Asset| {
            a.headers
                .push(("access-control-allow-origin", "*".to_owned()));
            a.headers.push((
                "cache-control",
                "public, max-age=31536000, immutable".to_owned(),
            ));
            a
        };
        let main_js = format!(
            "import{{m as o}}from\"./{vendor}\";const r=document.querySelector(\"#checkout\");\
r&&r.addEventListener(\"click\",async()=>{{const{{trackPurchase:e}}=await import(\"./{checkout}\");\
await e({{eventName:\"checkoutStarted\",email:\"\"}})}});o();\n//# sourceMappingURL={main}.map\n"
        );
        cdn_files.insert(format!("/assets/{main}"), cors(asset(JS, main_js)));
        cdn_files.insert(
            format!("/assets/{main}.map"),
            cors(asset(JSON, simple_map(&main, "src/main.ts", MAIN_TS))),
        );
        // Vendor bundle: a build hash that looks like a 32-hex key but is not one.
        let build_hash = hex::encode(
            &ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref()[..16],
        );
        let vendor_js = format!(
            "const t={{buildHash:\"{build_hash}\",cartKey:\"YOUR_API_KEY\"}};\
function m(){{const e=document.createElement(\"div\");e.dataset.build=t.buildHash;document.body.append(e)}}export{{m}};\n"
        );
        let mut vendor_asset = cors(asset(JS, vendor_js));
        vendor_asset
            .headers
            .push(("sourcemap", format!("{vendor}.map")));
        cdn_files.insert(format!("/assets/{vendor}"), vendor_asset);
        cdn_files.insert(
            format!("/assets/{vendor}.map"),
            cors(asset(
                JSON,
                simple_map(&vendor, "src/vendor.ts", "export function mountCart() {}\n"),
            )),
        );
        // The lazy chunk with the server-side key, and its map back to src/config/iterable.ts:12.
        let ts = ITERABLE_TS.replace("{{ITERABLE_KEY}}", &config.iterable_key);
        let code = format!(
            "const e=\"https://api.iterable.com/api\",t=\"{key}\";\
async function n(n){{return fetch(`${{e}}/events/track`,{{method:\"POST\",headers:{{\"Content-Type\":\"application/json\",\"Api-Key\":t}},body:JSON.stringify(n)}})}}\
export{{n as trackPurchase}};",
            key = config.iterable_key
        );
        let chunk = format!("{code}\n//# sourceMappingURL={checkout}.map\n");
        let map = checkout_map(&checkout, &code, &ts);
        cdn_files.insert(format!("/assets/{checkout}"), cors(asset(JS, chunk)));
        cdn_files.insert(format!("/assets/{checkout}.map"), cors(asset(JSON, map)));

        // A session-replay tag a marketer pasted into the checkout page: a supplier that runs
        // code next to the card form and was never assessed.
        let mut tags_files = HashMap::new();
        tags_files.insert(
            "/pulse.js".to_owned(),
            asset(
                JS,
                "/* ShopPulse session replay 3.2 */(function(){var q=window.pulseq=window.pulseq||[];q.push(['init','demo-shop']);})();\n",
            ),
        );

        Build {
            page_files,
            cdn_files,
            tags_files,
            main,
            vendor,
            checkout,
        }
    }
}

fn simple_map(file: &str, source: &str, content: &str) -> String {
    serde_json::json!({
        "version": 3,
        "file": file,
        "sources": [source],
        "sourcesContent": [content],
        "names": [],
        "mappings": "AAAA",
    })
    .to_string()
}

/// Source map for the checkout chunk: its declarations map to their lines in iterable.ts
/// (the key literal to line 12).
fn checkout_map(file: &str, code: &str, ts: &str) -> String {
    let find_line = |needle: &str| -> (i64, i64) {
        for (i, l) in ts.lines().enumerate() {
            if let Some(c) = l.find(needle) {
                return (i as i64, c as i64);
            }
        }
        (0, 0)
    };
    // (generated column, source line, source column), all 0-based.
    let mut segs: Vec<(i64, i64, i64)> = Vec::new();
    let endpoint = find_line("\"https://api.iterable.com/api\"");
    segs.push((0, endpoint.0, 0));
    if let Some(c) = code.find("\"https://api.iterable.com/api\"") {
        segs.push((c as i64, endpoint.0, endpoint.1));
    }
    let key_line = find_line("ITERABLE_API_KEY =");
    let key_col = ts
        .lines()
        .nth(key_line.0 as usize)
        .and_then(|l| l.find('"'))
        .unwrap_or(0) as i64;
    if let Some(c) = code.find(",t=\"") {
        segs.push((c as i64 + 1, key_line.0, key_line.1));
        segs.push((c as i64 + 3, key_line.0, key_col));
    }
    let f = find_line("export async function trackPurchase");
    if let Some(c) = code.find("async function") {
        segs.push((c as i64, f.0, f.1));
    }
    let mut mappings = String::new();
    let (mut pc, mut pl, mut ps) = (0i64, 0i64, 0i64);
    for (i, (gc, sl, sc)) in segs.iter().enumerate() {
        if i > 0 {
            mappings.push(',');
        }
        vlq(&mut mappings, gc - pc);
        vlq(&mut mappings, 0);
        vlq(&mut mappings, sl - pl);
        vlq(&mut mappings, sc - ps);
        (pc, pl, ps) = (*gc, *sl, *sc);
    }
    serde_json::json!({
        "version": 3,
        "file": file,
        "sources": ["src/config/iterable.ts"],
        "sourcesContent": [ts],
        "names": [],
        "mappings": mappings,
    })
    .to_string()
}

fn vlq(out: &mut String, v: i64) {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut n: u64 = if v < 0 {
        ((-v as u64) << 1) | 1
    } else {
        (v as u64) << 1
    };
    loop {
        let mut digit = (n & 31) as usize;
        n >>= 5;
        if n > 0 {
            digit |= 32;
        }
        out.push(B64[digit] as char);
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_map_points_at_line_12() {
        let page = Url::parse("http://127.0.0.1:1/").expect("url");
        let cdn = Url::parse("http://127.0.0.1:2/").expect("url");
        let tags = Url::parse("http://127.0.0.1:3/").expect("url");
        let b = Build::new(&DemoConfig::default(), &page, &cdn, &tags);
        let chunk = &b.cdn_files[&format!("/assets/{}", b.checkout)];
        let map = &b.cdn_files[&format!("/assets/{}.map", b.checkout)];
        let sm = sourcemap::SourceMap::from_slice(&map.body).expect("valid map");
        let code = String::from_utf8_lossy(&chunk.body);
        let col = code.find(TEST_ITERABLE_KEY).expect("key planted") as u32;
        let tok = sm.lookup_token(0, col).expect("mapped");
        assert_eq!(tok.get_source(), Some("src/config/iterable.ts"));
        assert_eq!(tok.get_src_line() + 1, 12);
        let other = Build::new(
            &DemoConfig {
                build_seed: "build-2".into(),
                ..DemoConfig::default()
            },
            &page,
            &cdn,
            &tags,
        );
        assert_ne!(other.checkout, b.checkout);
        assert_eq!(vlq_str(-17), "jB");
    }

    fn vlq_str(v: i64) -> String {
        let mut s = String::new();
        vlq(&mut s, v);
        s
    }
}
