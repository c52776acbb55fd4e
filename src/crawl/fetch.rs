//! The anonymous HTTP client mode: no credentials, no cookies, manual same-origin redirects and an SSRF guard on every resolved address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use crate::http::init_tls;

/// Which non-public address ranges a connection may reach. Public-only by default, because a
/// crawled page controls which URLs we fetch (SSRF).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow loopback (127/8, ::1) only — for local test sites; private ranges stay refused.
    pub allow_loopback: bool,
    /// Allow loopback, private, link-local and other special ranges (`--allow-private-addresses`).
    /// Cloud metadata addresses stay refused even then.
    pub allow_private: bool,
}

/// Why an address is refused, or `None` when the policy allows it.
pub fn refusal_reason(ip: IpAddr, policy: AddressPolicy) -> Option<&'static str> {
    let class = classify(ip);
    match class {
        AddrClass::Public => None,
        AddrClass::Metadata => Some("cloud metadata address"),
        AddrClass::Loopback if policy.allow_loopback || policy.allow_private => None,
        AddrClass::Loopback => Some("loopback address"),
        AddrClass::Private(_) if policy.allow_private => None,
        AddrClass::Private(what) => Some(what),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrClass {
    Public,
    Loopback,
    Metadata,
    Private(&'static str),
}

fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let o = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return AddrClass::Metadata;
    }
    // 0.0.0.0/8 reaches the local host on Linux: treat it as loopback.
    if ip.is_loopback() || o[0] == 0 {
        return AddrClass::Loopback;
    }
    if ip.is_private() {
        return AddrClass::Private("private address");
    }
    if ip.is_link_local() {
        return AddrClass::Private("link-local address");
    }
    if o[0] == 100 && (o[1] & 0xC0) == 64 {
        return AddrClass::Private("shared (CGNAT) address");
    }
    if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        return AddrClass::Private("multicast or reserved address");
    }
    if (o[0] == 192 && o[1] == 0 && (o[2] == 0 || o[2] == 2))
        || (o[0] == 198 && (o[1] & 0xFE) == 18)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
    {
        return AddrClass::Private("special-purpose address");
    }
    AddrClass::Public
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() || ip.is_loopback() {
        return AddrClass::Loopback;
    }
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0..6] == [0, 0, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return match classify_v4(embedded(s[1], s[2])) {
            AddrClass::Public => AddrClass::Public,
            _ => AddrClass::Private("6to4 address embedding a non-public IPv4 address"),
        };
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return AddrClass::Metadata;
    }
    if (s[0] & 0xFE00) == 0xFC00 {
        return AddrClass::Private("unique local address");
    }
    if (s[0] & 0xFFC0) == 0xFE80 || (s[0] & 0xFFC0) == 0xFEC0 {
        return AddrClass::Private("link-local address");
    }
    if (s[0] & 0xFF00) == 0xFF00 {
        return AddrClass::Private("multicast address");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return AddrClass::Private("documentation address");
    }
    AddrClass::Public
}

/// An address the SSRF guard refused; carried through reqwest's error chain so the crawler can
/// tell a refusal from a network failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused: {host} resolves to {addr} ({reason}); use --allow-private-addresses to permit")]
pub struct Refused {
    pub host: String,
    pub addr: IpAddr,
    pub reason: &'static str,
}

/// DNS resolver that resolves, then refuses the whole name if any address is non-public, so a
/// name cannot smuggle a private address among public ones.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_addrs(&host, &addrs, policy)?;
            let out: Addrs = Box::new(addrs.into_iter());
            Ok(out)
        })
    }
}

/// Refuses a resolved address list if any entry is forbidden by the policy.
pub fn check_addrs(host: &str, addrs: &[SocketAddr], policy: AddressPolicy) -> Result<(), Refused> {
    for a in addrs {
        if let Some(reason) = refusal_reason(a.ip(), policy) {
            return Err(Refused {
                host: host.to_owned(),
                addr: a.ip(),
                reason,
            });
        }
    }
    Ok(())
}

/// Literal-IP URLs never reach the resolver, so they are checked here before any connection.
pub fn check_url(url: &Url, policy: AddressPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Unsupported(format!("scheme {}", url.scheme())));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(FetchError::Unsupported("URL without host".into())),
    };
    match refusal_reason(ip, policy) {
        None => Ok(()),
        Some(reason) => Err(FetchError::Refused(Refused {
            host: ip.to_string(),
            addr: ip,
            reason,
        })),
    }
}

/// The start URLs the policy refuses before any request (literal addresses and `localhost`),
/// as one message naming each with its reason and the flag that permits it; `None` when every
/// URL may be crawled. A run fails fast on it (exit 2) instead of a refused crawl per URL.
pub fn refused_seeds<'a>(
    urls: impl IntoIterator<Item = &'a str>,
    policy: AddressPolicy,
) -> Option<String> {
    let mut refused = vec![];
    for raw in urls {
        let Ok(url) = Url::parse(raw) else { continue };
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(d)) if d == "localhost" || d.ends_with(".localhost") => {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            _ => continue,
        };
        if let Some(reason) = refusal_reason(ip, policy) {
            let mut shown = url.clone();
            crate::crawl::strip_userinfo(&mut shown);
            refused.push(format!("{shown} ({reason})"));
        }
    }
    if refused.is_empty() {
        return None;
    }
    let permit = if refused.iter().any(|r| r.contains("metadata")) {
        "cloud metadata addresses are never crawled; remove them"
    } else {
        "crawl them with --allow-private-addresses (a local test site), or remove them"
    };
    Some(format!(
        "{} URL(s) to crawl are on refused addresses: {}; {permit} (nothing was run)",
        refused.len(),
        refused.join(", ")
    ))
}

/// Client settings for the anonymous mode.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub policy: AddressPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub read_idle_timeout: Duration,
    pub max_redirects: usize,
    pub user_agent: String,
    pub max_idle_per_host: usize,
}

/// What one GET returned (after same-origin redirects).
#[derive(Debug)]
pub struct Response {
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// `SourceMap` or `X-SourceMap` response header.
    pub source_map_header: Option<String>,
    pub bytes: Vec<u8>,
    /// The body was longer than the cap and was cut off there.
    pub truncated: bool,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(Refused),
    #[error("redirect to another origin not followed: {0}")]
    CrossOriginRedirect(Url),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("bad redirect: {0}")]
    BadRedirect(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("unsupported URL: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Network(String),
}

/// The crawler's HTTP client: built without a cookie store, default credentials, proxy or
/// automatic redirects, so nothing from the inventory or a server can ride along.
#[derive(Debug, Clone)]
pub struct AnonymousClient {
    client: reqwest::Client,
    settings: Arc<ClientSettings>,
}

impl AnonymousClient {
    pub fn new(settings: ClientSettings) -> Result<Self, FetchError> {
        init_tls();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself and bypass the guard.
            .no_proxy()
            .referer(false)
            .dns_resolver(GuardedResolver {
                policy: settings.policy,
            })
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .read_timeout(settings.read_idle_timeout)
            .pool_max_idle_per_host(settings.max_idle_per_host)
            .user_agent(settings.user_agent.clone())
            .build()
            .map_err(|e| FetchError::Network(format!("cannot build HTTP client: {}", chain(&e))))?;
        Ok(AnonymousClient {
            client,
            settings: Arc::new(settings),
        })
    }

    /// GETs `url`, following only same-origin redirects (each hop re-checked), reading at most
    /// `cap` bytes of the (decompressed) body.
    pub async fn get(&self, url: &Url, cap: u64) -> Result<Response, FetchError> {
        let mut current = url.clone();
        // Never sent: reqwest would turn `user:password@` into a Basic authorization header.
        super::strip_userinfo(&mut current);
        let mut hops = 0usize;
        loop {
            check_url(&current, self.settings.policy)?;
            let resp = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(classify_error)?;
            let status = resp.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let Some(loc) = resp.headers().get(reqwest::header::LOCATION) else {
                    return Err(FetchError::BadRedirect(format!(
                        "{status} without Location"
                    )));
                };
                let loc = loc
                    .to_str()
                    .map_err(|_| FetchError::BadRedirect("non-ASCII Location".into()))?;
                let mut next = current
                    .join(loc)
                    .map_err(|_| FetchError::BadRedirect("unparsable Location".into()))?;
                super::strip_userinfo(&mut next);
                // A private target is a refusal whatever its origin; report it as such.
                check_url(&next, self.settings.policy)?;
                if next.origin() != current.origin() {
                    return Err(FetchError::CrossOriginRedirect(next));
                }
                hops += 1;
                if hops > self.settings.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.settings.max_redirects));
                }
                current = next;
                continue;
            }
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header("content-type");
            let source_map_header = header("sourcemap").or_else(|| header("x-sourcemap"));
            let (bytes, truncated) = read_capped(resp, cap).await?;
            return Ok(Response {
                final_url: current,
                status: status.as_u16(),
                content_type,
                source_map_header,
                bytes,
                truncated,
            });
        }
    }
}

async fn read_capped(mut resp: reqwest::Response, cap: u64) -> Result<(Vec<u8>, bool), FetchError> {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let hint = resp
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(cap)
        .min(1 << 20);
    let mut out = Vec::with_capacity(hint);
    while let Some(chunk) = resp.chunk().await.map_err(classify_error)? {
        let room = cap - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

fn classify_error(e: reqwest::Error) -> FetchError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return FetchError::Refused(r.clone());
        }
        src = s.source();
    }
    if e.is_timeout() {
        return FetchError::Timeout(chain(&e));
    }
    FetchError::Network(chain(&e))
}

/// The error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        let t = x.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = x.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str, p: AddressPolicy) -> bool {
        let ip: IpAddr = s.parse().expect("ip");
        refusal_reason(ip, p).is_some()
    }

    #[test]
    fn ranges() {
        let public = AddressPolicy::default();
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "fd00:ec2::254",
        ] {
            assert!(refused(a, public), "{a} must be refused");
        }
        for a in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(!refused(a, public), "{a} must be allowed");
        }
        let lo = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(!refused("127.0.0.1", lo));
        assert!(!refused("::1", lo));
        assert!(refused("10.0.0.1", lo));
        assert!(refused("169.254.169.254", lo));
        let private = AddressPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        assert!(!refused("10.0.0.1", private));
        assert!(!refused("127.0.0.1", private));
        assert!(refused("169.254.169.254", private));
    }
}
