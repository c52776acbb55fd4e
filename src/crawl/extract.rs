//! Reference extraction: links and assets from HTML (streaming, lol_html), chunks and source maps from JS, manifests, sitemaps and robots.txt.

use std::cell::RefCell;
use std::sync::LazyLock;

use lol_html::{HtmlRewriter, Settings, element, text};
use regex::bytes::Regex;
use url::Url;

/// What a referenced URL is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Page,
    Script,
    SourceMap,
    Json,
    Sitemap,
    Other,
}

/// A reference found in a document: the URL, what it should hold, and whether it is only a
/// guess (a probe whose absence is not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub url: Url,
    pub role: Role,
    pub probe: bool,
}

impl Ref {
    /// A reference to fetch, or none when `url` is not http(s): whatever path built it (a
    /// `<base href>`, a build manifest's asset prefix, a script's string), only web URLs are
    /// crawled.
    fn new(url: Url, role: Role) -> Option<Self> {
        Self::make(url, role, false)
    }

    /// [`Ref::new`] for a URL guessed from a build's conventions (a miss is not an error).
    fn probe(url: Url, role: Role) -> Option<Self> {
        Self::make(url, role, true)
    }

    fn make(url: Url, role: Role, probe: bool) -> Option<Self> {
        matches!(url.scheme(), "http" | "https").then_some(Ref { url, role, probe })
    }
}

#[derive(Default)]
struct RawHtml {
    base: Option<String>,
    links: Vec<String>,
    assets: Vec<(String, Role)>,
    scripts: Vec<(ScriptAttrs, String)>,
    current: Option<(ScriptAttrs, String)>,
}

#[derive(Debug, Clone, Default)]
struct ScriptAttrs {
    id: Option<String>,
    ty: Option<String>,
}

/// References in one HTML page. Inline scripts and JSON data blocks (`__NEXT_DATA__`,
/// `window.__…__ =`) are read for further references; their text is already part of the page
/// bytes handed to the scanner.
pub fn html(bytes: &[u8], page: &Url) -> Vec<Ref> {
    let raw = RefCell::new(RawHtml::default());
    {
        let handlers = vec![
            element!("base[href]", |el| {
                let mut r = raw.borrow_mut();
                if r.base.is_none() {
                    r.base = el.get_attribute("href");
                }
                Ok(())
            }),
            element!("a[href], area[href]", |el| {
                if let Some(h) = el.get_attribute("href") {
                    raw.borrow_mut().links.push(h);
                }
                Ok(())
            }),
            element!("iframe[src], frame[src]", |el| {
                if let Some(h) = el.get_attribute("src") {
                    raw.borrow_mut().links.push(h);
                }
                Ok(())
            }),
            element!("script", |el| {
                if let Some(src) = el.get_attribute("src") {
                    raw.borrow_mut().assets.push((src, Role::Script));
                } else {
                    let attrs = ScriptAttrs {
                        id: el.get_attribute("id"),
                        ty: el.get_attribute("type"),
                    };
                    raw.borrow_mut().current = Some((attrs, String::new()));
                }
                Ok(())
            }),
            text!("script", |t| {
                let mut r = raw.borrow_mut();
                if let Some((_, buf)) = r.current.as_mut()
                    && buf.len() < MAX_INLINE
                {
                    buf.push_str(t.as_str());
                }
                if t.last_in_text_node()
                    && let Some(done) = r.current.take()
                {
                    r.scripts.push(done);
                }
                Ok(())
            }),
            element!("link[href]", |el| {
                let rel = el
                    .get_attribute("rel")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let as_ = el
                    .get_attribute("as")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let Some(href) = el.get_attribute("href") else {
                    return Ok(());
                };
                let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
                let role = if rels.contains(&"modulepreload") {
                    Some(Role::Script)
                } else if rels.iter().any(|r| matches!(*r, "preload" | "prefetch")) {
                    match as_.as_str() {
                        "script" | "worker" => Some(Role::Script),
                        "fetch" | "json" => Some(Role::Json),
                        _ => None,
                    }
                } else if rels.contains(&"manifest") {
                    Some(Role::Json)
                } else {
                    None
                };
                if let Some(role) = role {
                    raw.borrow_mut().assets.push((href, role));
                }
                Ok(())
            }),
        ];
        let mut rewriter = HtmlRewriter::new(
            Settings {
                element_content_handlers: handlers,
                ..Settings::new()
            },
            |_: &[u8]| {},
        );
        // Malformed HTML yields what was read so far.
        let ok = rewriter.write(bytes).is_ok();
        if ok {
            let _ = rewriter.end();
        }
    }
    let raw = raw.into_inner();
    let base = raw
        .base
        .as_deref()
        .and_then(|b| page.join(b).ok())
        .unwrap_or_else(|| page.clone());
    let mut out = Vec::new();
    for l in &raw.links {
        if let Some(u) = resolve(&base, l) {
            out.extend(Ref::new(u, Role::Page));
        }
    }
    for (a, role) in &raw.assets {
        if let Some(u) = resolve(&base, a) {
            out.extend(Ref::new(u, *role));
        }
    }
    for (attrs, body) in &raw.scripts {
        let ty = attrs.ty.as_deref().unwrap_or("").to_ascii_lowercase();
        if attrs.id.as_deref() == Some("__NEXT_DATA__") {
            out.extend(next_data(body.as_bytes(), &base));
        } else if ty.contains("json") {
            continue;
        } else {
            out.extend(js(body.as_bytes(), &base).refs);
        }
    }
    out
}

const MAX_INLINE: usize = 4 << 20;

/// Refs found in a script, plus the source map its `sourceMappingURL` comment names.
#[derive(Debug, Default)]
pub struct JsRefs {
    pub refs: Vec<Ref>,
    pub source_map: Option<Url>,
}

static DYN_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)\bimport\s*\(\s*["'`]([^"'`\s]{1,400})["'`]\s*[,)]"#).expect("static regex")
});
static STATIC_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u)\b(?:import|export)\s*(?:[\w*${}\s,]{0,200}?\bfrom\s*)?["']([^"'\s]{1,400})["']"#,
    )
    .expect("static regex")
});
static NEW_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)new\s+URL\(\s*["'`]([^"'`\s]{1,400})["'`]\s*,\s*import\.meta\.url"#)
        .expect("static regex")
});
static JS_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u)["'`]((?:\.{1,2}/|/)?[\w\-@~]{1,100}(?:/[\w\-.@~]{1,100}){1,10}\.m?js)["'`]"#,
    )
    .expect("static regex")
});
static SOURCE_MAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)[#@]\s*sourceMappingURL\s*=\s*([^\s'"*]{1,2000})"#).expect("static regex")
});
static NEXT_MANIFEST_ENTRY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?-u)"(static/[^"\s]{1,400}?\.m?js)""#).expect("static regex"));

fn is_relative_module(s: &str) -> bool {
    s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('/')
        || s.starts_with("http://")
        || s.starts_with("https://")
}

/// References in a script at `url`: `import()` chunks, static imports, `new URL(…,
/// import.meta.url)` assets, path-like `.js` strings (probes), a Next.js build manifest's
/// chunks, and the `sourceMappingURL`.
pub fn js(bytes: &[u8], url: &Url) -> JsRefs {
    let mut out = JsRefs::default();
    for re in [&*DYN_IMPORT, &*STATIC_IMPORT] {
        for c in re.captures_iter(bytes) {
            if let Some(s) = c
                .get(1)
                .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                && is_relative_module(s)
                && let Some(u) = resolve(url, s)
            {
                out.refs.extend(Ref::new(u, Role::Script));
            }
        }
    }
    for c in NEW_URL.captures_iter(bytes) {
        if let Some(s) = c
            .get(1)
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            && let Some(u) = resolve(url, s)
        {
            let role = role_from_path(u.path());
            out.refs.extend(Ref::new(u, role));
        }
    }
    if url.path().ends_with("_buildManifest.js") {
        // /_next/static/<buildId>/_buildManifest.js lists paths relative to /_next/.
        if let Ok(base) = url.join("../../") {
            for c in NEXT_MANIFEST_ENTRY.captures_iter(bytes) {
                if let Some(s) = c
                    .get(1)
                    .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                    && let Some(u) = resolve(&base, s)
                {
                    out.refs.extend(Ref::new(u, Role::Script));
                }
            }
        }
    }
    for c in JS_PATH.captures_iter(bytes) {
        if let Some(s) = c
            .get(1)
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            && let Some(u) = resolve(url, s)
            && !out.refs.iter().any(|r| r.url == u)
        {
            out.refs.extend(Ref::probe(u, Role::Script));
        }
    }
    out.source_map = source_map_comment(bytes).and_then(|s| resolve(url, &s));
    out
}

/// The last `sourceMappingURL` comment's value (data: URLs excluded: the map is inline).
pub fn source_map_comment(bytes: &[u8]) -> Option<String> {
    let m = SOURCE_MAP.captures_iter(bytes).last()?;
    let s = std::str::from_utf8(m.get(1)?.as_bytes()).ok()?;
    if s.starts_with("data:") {
        return None;
    }
    Some(s.to_owned())
}

/// Next.js `__NEXT_DATA__`: the build id names the build manifest, which names every chunk.
pub fn next_data(bytes: &[u8], page: &Url) -> Vec<Ref> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let Some(build) = v.get("buildId").and_then(|b| b.as_str()) else {
        return Vec::new();
    };
    if build.is_empty() || build.contains(['/', '?', '#']) {
        return Vec::new();
    }
    let prefix = v
        .get("assetPrefix")
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .trim_end_matches('/');
    let base = if prefix.is_empty() {
        page.join("/").ok()
    } else {
        page.join(&format!("{prefix}/")).ok()
    };
    let Some(base) = base else { return Vec::new() };
    ["_buildManifest.js", "_ssgManifest.js"]
        .iter()
        .filter_map(|f| base.join(&format!("_next/static/{build}/{f}")).ok())
        .filter_map(|u| Ref::probe(u, Role::Script))
        .collect()
}

/// Chunk files named in a JSON build manifest (Vite `manifest.json` / `.vite/manifest.json`,
/// webpack `manifest.json` / `asset-manifest.json`).
pub fn json_manifest(bytes: &[u8], url: &Url) -> Vec<Ref> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    // Vite's manifest lives in `<base>/.vite/`; its paths are relative to `<base>`.
    let base = if url.path().contains("/.vite/") {
        url.join("../").ok()
    } else {
        Some(url.clone())
    };
    let Some(base) = base else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![&v];
    let mut visited = 0usize;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            break;
        }
        match node {
            serde_json::Value::String(s) => {
                let path = s.split(['?', '#']).next().unwrap_or("");
                if (path.ends_with(".js") || path.ends_with(".mjs"))
                    && let Some(u) = resolve(&base, s)
                    && !out.iter().any(|r: &Ref| r.url == u)
                {
                    out.extend(Ref::new(u, Role::Script));
                }
            }
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            serde_json::Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    out
}

static LOC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)<loc>\s*([^<\s]{1,2000})\s*</loc>").expect("static regex"));

/// URLs in a sitemap; entries of a sitemap index are sitemaps themselves.
pub fn sitemap(bytes: &[u8], url: &Url) -> Vec<Ref> {
    let is_index = memchr::memmem::find(bytes, b"<sitemapindex").is_some();
    let role = if is_index { Role::Sitemap } else { Role::Page };
    LOC.captures_iter(bytes)
        .filter_map(|c| {
            std::str::from_utf8(c.get(1)?.as_bytes())
                .ok()
                .map(str::to_owned)
        })
        .filter_map(|s| resolve(url, &s.replace("&amp;", "&")))
        .filter_map(|u| Ref::new(u, role))
        .collect()
}

/// The expected role of a URL from its path.
pub fn role_from_path(path: &str) -> Role {
    if path.ends_with(".map") {
        Role::SourceMap
    } else if path.ends_with(".js") || path.ends_with(".mjs") {
        Role::Script
    } else if path.ends_with(".json") {
        Role::Json
    } else {
        Role::Other
    }
}

/// Resolves an attribute value against a base; only http(s), fragment dropped.
pub fn resolve(base: &Url, s: &str) -> Option<Url> {
    let s = s.trim();
    if s.is_empty() || s.starts_with('#') {
        return None;
    }
    let mut u = base.join(s).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    u.set_fragment(None);
    Some(u)
}

/// Parsed robots.txt: the group for our user agent (or `*`), longest match wins, Allow wins ties.
#[derive(Debug, Clone, Default)]
pub struct Robots {
    rules: Vec<(bool, String)>,
    pub sitemaps: Vec<String>,
}

impl Robots {
    pub fn parse(text: &str, agent: &str) -> Robots {
        let agent = agent.to_ascii_lowercase();
        let mut specific: Vec<(bool, String)> = Vec::new();
        let mut star: Vec<(bool, String)> = Vec::new();
        let mut sitemaps = Vec::new();
        let mut group_agents: Vec<String> = Vec::new();
        let mut in_rules = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            match k.as_str() {
                "user-agent" => {
                    if in_rules {
                        group_agents.clear();
                        in_rules = false;
                    }
                    group_agents.push(v.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if v.is_empty() {
                        continue;
                    }
                    let rule = (k == "allow", v.to_owned());
                    if group_agents
                        .iter()
                        .any(|a| a != "*" && agent.contains(a.as_str()))
                    {
                        specific.push(rule.clone());
                    }
                    if group_agents.iter().any(|a| a == "*") {
                        star.push(rule);
                    }
                }
                "sitemap" => sitemaps.push(v.to_owned()),
                _ => {}
            }
        }
        Robots {
            rules: if specific.is_empty() { star } else { specific },
            sitemaps,
        }
    }

    /// Whether a path (with query) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pat) in &self.rules {
            if pattern_matches(pat, path) {
                let len = pat.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// robots.txt pattern: prefix match with `*` wildcards and a trailing `$` anchor.
fn pattern_matches(pat: &str, path: &str) -> bool {
    let (pat, anchored) = match pat.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pat, false),
    };
    let parts: Vec<&str> = pat.split('*').collect();
    let mut pos = 0usize;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if let Some(found) = path[pos..].find(part) {
            pos += found + part.len();
        } else {
            return false;
        }
    }
    if anchored {
        return pos == path.len()
            || (parts.len() > 1 && path.ends_with(parts.last().copied().unwrap_or("")));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn html_refs() {
        let page = u("https://shop.example/products/");
        let h = br##"<html><head><link rel="modulepreload" href="https://cdn.example/a.js">
<script type="module" src="/assets/main.js"></script>
<script id="__NEXT_DATA__" type="application/json">{"buildId":"b1","page":"/"}</script>
<script>window.__CONFIG__ = {"x":1}; import("./lazy.js")</script>
</head><body><a href="../about">a</a><a href="mailto:x@y">m</a><a href="#top">t</a></body></html>"##;
        let refs = html(h, &page);
        let urls: Vec<String> = refs.iter().map(|r| r.url.to_string()).collect();
        assert!(urls.contains(&"https://cdn.example/a.js".to_owned()));
        assert!(urls.contains(&"https://shop.example/assets/main.js".to_owned()));
        assert!(urls.contains(&"https://shop.example/about".to_owned()));
        assert!(urls.contains(&"https://shop.example/products/lazy.js".to_owned()));
        assert!(
            urls.contains(&"https://shop.example/_next/static/b1/_buildManifest.js".to_owned())
        );
        assert_eq!(refs.iter().filter(|r| r.role == Role::Page).count(), 1);
    }

    #[test]
    fn js_refs() {
        let url = u("https://cdn.example/assets/main.abc.js");
        let src =
            br#"import{a as b}from"./vendor.1.js";const c=()=>import("./chunk-checkout.9f.js");
//# sourceMappingURL=main.abc.js.map"#;
        let r = js(src, &url);
        let urls: Vec<String> = r.refs.iter().map(|r| r.url.to_string()).collect();
        assert!(urls.contains(&"https://cdn.example/assets/vendor.1.js".to_owned()));
        assert!(urls.contains(&"https://cdn.example/assets/chunk-checkout.9f.js".to_owned()));
        assert_eq!(
            r.source_map.map(|u| u.to_string()).as_deref(),
            Some("https://cdn.example/assets/main.abc.js.map")
        );
        let bm = u("https://s.example/_next/static/B/_buildManifest.js");
        let r = js(
            br#"self.__BUILD_MANIFEST={"/":["static/chunks/pages/index-1.js"]}"#,
            &bm,
        );
        assert_eq!(
            r.refs[0].url.as_str(),
            "https://s.example/_next/static/chunks/pages/index-1.js"
        );
    }

    #[test]
    fn manifests_and_sitemaps() {
        let m = u("https://s.example/.vite/manifest.json");
        let r = json_manifest(
            br#"{"src/main.ts":{"file":"assets/main.1.js","dynamicImports":["x"]}}"#,
            &m,
        );
        assert_eq!(r[0].url.as_str(), "https://s.example/assets/main.1.js");
        let sm = u("https://s.example/sitemap.xml");
        let r = sitemap(
            b"<urlset><url><loc>https://s.example/a</loc></url></urlset>",
            &sm,
        );
        assert_eq!(
            r,
            Vec::from_iter(Ref::new(u("https://s.example/a"), Role::Page))
        );
    }

    /// Every path that builds a reference (links, assets, a `<base href>`, a build manifest's
    /// asset prefix, script strings) yields only http(s) URLs.
    #[test]
    fn references_are_web_urls_whatever_built_them() {
        let page = u("https://s.example/app/index.html");
        for html in [
            r#"<base href="ttp://[::1]:0/"><a href="x">x</a><script src="a.js"></script><script id="__NEXT_DATA__" type="application/json">{"buildId":"b1","page":"/"}</script>"#,
            r#"<script id="__NEXT_DATA__" type="application/json">{"buildId":"b1","assetPrefix":"ttp://cdn"}</script>"#,
            r#"<a href="javascript:alert(1)">x</a><img src="data:image/png;base64,AAAA"><script>import("ftp://x/a.js")</script>"#,
        ] {
            for r in super::html(html.as_bytes(), &page) {
                assert!(
                    matches!(r.url.scheme(), "http" | "https"),
                    "{html}: {}",
                    r.url
                );
            }
        }
    }

    #[test]
    fn robots() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /admin/\nAllow: /admin/public\nDisallow: /*.pdf$\nSitemap: https://s/x.xml\n",
            "vendorscope",
        );
        assert!(!r.allows("/admin/x"));
        assert!(r.allows("/admin/public/x"));
        assert!(r.allows("/"));
        assert!(!r.allows("/a/b.pdf"));
        assert!(r.allows("/a/b.pdf?x"));
        assert_eq!(r.sitemaps, vec!["https://s/x.xml".to_owned()]);
    }
}
