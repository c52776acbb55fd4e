//! The one URL-redaction function. Every URL the run keeps or prints passes here (through
//! [`super::Clean`]): userinfo is never kept, and a query or fragment value that holds a secret
//! the output filter knows is replaced by `REDACTED`; scheme, host and path stay.

use crate::guard::Redactor;

/// What a query or fragment value holding a secret becomes.
pub const REDACTED: &str = "REDACTED";

/// Redacts one URL (see the module documentation). Text that is not an absolute URL is returned
/// with any embedded userinfo removed.
pub fn redact_url(u: &str, redactor: &Redactor) -> String {
    let Ok(mut parsed) = url::Url::parse(u) else {
        return strip_userinfo(u);
    };
    if parsed.cannot_be_a_base() {
        return strip_userinfo(u);
    }
    remove_userinfo(&mut parsed);
    if let Some(q) = parsed.query() {
        let carries = |s: &str| {
            let decoded = percent_decode(s);
            redactor.contains_secret(s) || redactor.contains_secret(&decoded)
        };
        if carries(q) {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if !carries(k) && carries(v) => format!("{k}={REDACTED}"),
                    Some((k, _)) if carries(k) => REDACTED.to_string(),
                    None if carries(pair) => REDACTED.to_string(),
                    _ => pair.to_string(),
                })
                .collect();
            parsed.set_query(Some(&pairs.join("&")));
        }
    }
    if let Some(f) = parsed.fragment()
        && (redactor.contains_secret(f) || redactor.contains_secret(&percent_decode(f)))
    {
        parsed.set_fragment(Some(REDACTED));
    }
    parsed.to_string()
}

/// The origin of a URL, `scheme://host[:port]`, for what is kept of a URL that may carry its
/// own secret in its path or query (script tags, webhook destinations): userinfo, path, query
/// and fragment are never kept. `None` unless an absolute http(s) URL with a host.
pub fn url_origin(u: &str) -> Option<String> {
    let parsed = url::Url::parse(u.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    Some(parsed.origin().ascii_serialization())
}

/// Redacts every URL in a text: the whole text when it is one URL, otherwise userinfo is
/// removed wherever a `scheme://user@host` appears.
pub fn redact_in_text(s: &str, redactor: &Redactor) -> String {
    let looks_like_url =
        (s.starts_with("http://") || s.starts_with("https://")) && !s.contains(char::is_whitespace);
    if looks_like_url {
        redact_url(s, redactor)
    } else if s.contains("://") {
        strip_userinfo(s)
    } else {
        s.to_string()
    }
}

/// Byte ranges of the `user[:password]@` parts after every `://` in `s`.
fn userinfo_spans(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = vec![];
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let start = from + i + 3;
        let rest = &s[start..];
        let auth_end = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            spans.push(start..start + at + 1);
        }
        from = start + auth_end;
    }
    spans
}

/// Removes `user[:password]@` after every `://` in `s`.
pub fn strip_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for r in userinfo_spans(s) {
        out.push_str(&s[at..r.start]);
        at = r.end;
    }
    out.push_str(&s[at..]);
    out
}

/// Replaces every character of `user[:password]` with `*`, keeping columns (for diagnostics
/// that point at a place in a line).
pub fn mask_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for r in userinfo_spans(s) {
        out.push_str(&s[at..r.start]);
        out.extend(std::iter::repeat_n(
            '*',
            s[r.start..r.end - 1].chars().count(),
        ));
        out.push('@');
        at = r.end;
    }
    out.push_str(&s[at..]);
    out
}

/// Removes userinfo from a parsed URL; returns whether it had any.
pub fn remove_userinfo(url: &mut url::Url) -> bool {
    let had = has_userinfo(url);
    if had {
        let _ = url.set_password(None);
        let _ = url.set_username("");
    }
    had
}

/// Whether a URL carries userinfo.
pub fn has_userinfo(url: &url::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const KEY: &str = "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUvWx";

    #[test]
    fn userinfo_never_kept() {
        let r = Redactor::new();
        assert_eq!(
            redact_url("http://alice:pw@127.0.0.1:8080/a?b=1", &r),
            "http://127.0.0.1:8080/a?b=1"
        );
        assert_eq!(
            redact_in_text("fetch https://bob:s3cr3t@x.test/p failed", &r),
            "fetch https://x.test/p failed"
        );
    }

    #[test]
    fn userinfo_masked_in_place() {
        assert_eq!(
            mask_userinfo("url: http://al:pw@h/x and ftp://h2/y"),
            "url: http://*****@h/x and ftp://h2/y"
        );
    }

    #[test]
    fn secret_query_and_fragment_values_replaced() {
        let r = Redactor::new();
        r.add_secret(&Secret::new(KEY));
        let enc = KEY.replace('_', "%5F");
        let u = format!("https://shop.test/track.js?v=3&k={enc}#t={KEY}");
        let out = redact_url(&u, &r);
        assert_eq!(out, "https://shop.test/track.js?v=3&k=REDACTED#REDACTED");
    }
}
