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
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
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

/// Removes `user[:password]@` after every `://` in `s`.
pub fn strip_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let auth_end = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
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
    fn secret_query_and_fragment_values_replaced() {
        let r = Redactor::new();
        r.add_secret(&Secret::new(KEY));
        let enc = KEY.replace('_', "%5F");
        let u = format!("https://shop.test/track.js?v=3&k={enc}#t={KEY}");
        let out = redact_url(&u, &r);
        assert_eq!(out, "https://shop.test/track.js?v=3&k=REDACTED#REDACTED");
    }
}
