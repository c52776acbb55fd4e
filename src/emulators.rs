//! Every vendor's emulator, started together: the one place that knows both the vendor
//! registry (`crate::vendors`) and the emulator plumbing (`crate::emulator`).
//!
//! The plumbing knows no vendor; each vendor folder builds on the plumbing; this module sits
//! above both, so no module imports one that imports it back.

use std::net::SocketAddr;
use std::path::Path;

use crate::emulator::{EmulatorConfig, RunningEmulator, serve};

/// The built-in synthetic keys of every registered emulator.
pub fn builtin_config() -> EmulatorConfig {
    let mut keys = Vec::new();
    for c in crate::vendors::registry() {
        if let Some(spec) = c.emulator() {
            keys.extend((spec.default_keys)());
        }
    }
    EmulatorConfig {
        keys,
        ..Default::default()
    }
}

/// Parses an emulator config (see [`EmulatorConfig::from_text`]) and adds the built-in keys
/// unless it says `include_builtin_keys: false`.
pub fn config_from_text(text: &str) -> Result<EmulatorConfig, String> {
    let mut cfg = EmulatorConfig::from_text(text)?;
    if cfg.include_builtin_keys.unwrap_or(true) {
        let mut all = builtin_config().keys;
        all.retain(|b| !cfg.keys.iter().any(|k| k.key == b.key));
        cfg.keys.extend(all);
    }
    Ok(cfg)
}

/// Loads a config file; the error names the file and position.
pub fn load_config(path: &Path) -> Result<EmulatorConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {}", path.display(), e.kind()))?;
    config_from_text(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// Serves every registered vendor emulator. With port 0 each gets an ephemeral port; with
/// port P they get P, P+1, … in registry order; the config's `listen` fixes a vendor's.
pub async fn start_all(
    cfg: &EmulatorConfig,
    listen: SocketAddr,
) -> std::io::Result<Vec<RunningEmulator>> {
    let mut out = Vec::new();
    let mut port = listen.port();
    for c in crate::vendors::registry() {
        let Some(spec) = c.emulator() else { continue };
        let addr = cfg
            .listen
            .get(spec.vendor)
            .copied()
            .unwrap_or_else(|| SocketAddr::new(listen.ip(), port));
        out.push(serve(&spec, cfg, addr).await?);
        if port != 0 {
            port = port.saturating_add(1);
        }
    }
    Ok(out)
}

/// Serves one vendor's emulator by name.
pub async fn start_vendor(
    vendor: &str,
    cfg: &EmulatorConfig,
    listen: SocketAddr,
) -> std::io::Result<RunningEmulator> {
    let spec = crate::vendors::registry()
        .into_iter()
        .find(|c| c.name() == vendor)
        .and_then(|c| c.emulator())
        .ok_or_else(|| std::io::Error::other(format!("no emulator for vendor {vendor}")))?;
    serve(&spec, cfg, listen).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{
        EmulatorKey, HOSTILE_CALL_LIMIT, HUGE_BODY_BYTES, Hostile, JSON_FORMS_MARKER,
    };
    use std::time::Duration;

    const KEY: &str = "sk_live_HostileUnitTest0000000000000001";

    fn serve_stripe(forms: &[Hostile]) -> (tokio::runtime::Runtime, RunningEmulator) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let cfg = EmulatorConfig {
            keys: vec![EmulatorKey::new(KEY, "stripe", &[], "acct_1Unit")],
            hostile: forms.to_vec(),
            ..Default::default()
        };
        let emu = rt
            .block_on(start_vendor(
                "stripe",
                &cfg,
                "127.0.0.1:0".parse().expect("addr"),
            ))
            .expect("emulator");
        (rt, emu)
    }

    async fn get(emu: &RunningEmulator, path: &str) -> reqwest::Response {
        crate::http::init_tls();
        reqwest::Client::new()
            .get(format!("{}{path}", emu.base_url))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("response")
    }

    #[test]
    fn throttling_forms_send_their_retry_after() {
        for form in Hostile::ALL {
            let Some(v) = form.retry_after() else {
                continue;
            };
            let (rt, emu) = serve_stripe(&[*form]);
            let r = rt.block_on(get(&emu, "/v1/account"));
            assert_eq!(r.status().as_u16(), 429, "{form:?}");
            assert_eq!(
                r.headers().get("retry-after").and_then(|h| h.to_str().ok()),
                Some(v)
            );
        }
    }

    #[test]
    fn text_form_puts_controls_and_every_key_encoding_in_the_read_fields() {
        let (rt, emu) = serve_stripe(&[Hostile::Text, Hostile::CallLimit]);
        let (limit, body) = rt.block_on(async {
            let r = get(&emu, "/v1/account").await;
            let limit = r
                .headers()
                .get("x-shopify-shop-api-call-limit")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            (limit, r.text().await.expect("body"))
        });
        assert_eq!(limit.as_deref(), Some(HOSTILE_CALL_LIMIT));
        // Raw JSON escapes a serialiser never writes: uppercase `\u00XX` for every character.
        assert!(body.contains("\\u0073\\u006B\\u005F"), "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("still JSON");
        let id = v["id"].as_str().expect("id");
        assert!(id.starts_with("acct_1Unit\u{1b}[31m"), "{id:?}");
        for needle in [
            "\u{1b}]0;pwn\u{7}",
            "\r\n::set-env name=X::y",
            &format!("raw={KEY}"),
            "sk%5Flive%5F",
            "&#0115;&#0107;",
        ] {
            assert!(id.contains(needle), "{needle:?} missing from {id:?}");
        }
        assert!(!id.contains(JSON_FORMS_MARKER));
    }

    #[test]
    fn huge_and_slow_bodies_are_streamed() {
        let (rt, emu) = serve_stripe(&[Hostile::HugeBody]);
        let n = rt.block_on(async {
            let mut r = get(&emu, "/v1/account").await;
            let mut n = 0usize;
            while let Ok(Some(c)) = r.chunk().await {
                n += c.len();
            }
            n
        });
        assert!(n > HUGE_BODY_BYTES, "{n}");
        let (rt, emu) = serve_stripe(&[Hostile::SlowBody]);
        let got = rt.block_on(async {
            let mut r = get(&emu, "/v1/account").await;
            let mut n = 0usize;
            let _ = tokio::time::timeout(Duration::from_millis(900), async {
                while let Ok(Some(c)) = r.chunk().await {
                    n += c.len();
                }
            })
            .await;
            n
        });
        assert!((1..=5).contains(&got), "{got} bytes in 900 ms");
    }
}
