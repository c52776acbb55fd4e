//! Iterable webhooks (issue 16, point 3): `GET /api/webhooks` (CONFIRMED in the api-client
//! swagger: `GetWebhooksResponse {webhooks: [ApiWebhookResponse]}`, documented 200/401; one
//! page, no pagination parameters), in the data centre that accepted the key.
//!
//! Only keys that may read the project (server-side and read-only keys: `getFields` answered)
//! are asked; a client-side key is `unverifiable` without a call. Of each webhook only `id`,
//! the endpoint's scheme and host and `enabled` are built; never its auth settings.

use reqwest::Method;
use reqwest::header::{HOST, HeaderValue};
use url::Url;

use super::{AUTH_HEADER, OFFICIAL_HOSTS, Probe, Region, VENDOR, interpret};
use crate::http::{Auth, BodyRead, Client, RateSpec, Request};
use crate::run::{CallSummary, KeyProfile, Observation, ObservationStatus};
use crate::vendors::ProbeInput;
use crate::vendors::webhooks::{self as w, Listing, Seen};

pub const PATH: &str = "/api/webhooks";
pub const CALL: &str = "GET /api/webhooks";
/// Why a key cannot list them.
pub const MISSING: &str =
    "needs a server-side or read-only API key (this key type may not read the project's webhooks)";
/// The only members of an answer ever built.
pub const FIELDS: &[&str] = &[
    "webhooks.id",
    "webhooks.endpoint.[origin]",
    "webhooks.enabled",
    "code",
];
/// Documented rate ("most GETs": 100 req/s per project).
pub const PER_SECOND: f64 = 100.0;

/// What one answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Items(Vec<(String, Option<String>, Option<bool>)>),
    Denied,
    Failed(String),
}

/// Reads one answer: 2xx with `webhooks`, or what [`super::interpret`] makes of an error.
pub fn read(status: u16, body: Option<&str>) -> Answer {
    if (200..300).contains(&status) {
        let v: Option<serde_json::Value> = body.and_then(|b| serde_json::from_str(b).ok());
        let Some(list) = v.as_ref().and_then(|v| v.get("webhooks")?.as_array()) else {
            return Answer::Failed("unexpected_response".into());
        };
        let mut out = vec![];
        for x in list {
            let id = match x.get("id") {
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => return Answer::Failed("unexpected_response".into()),
            };
            out.push((
                id,
                x.get("endpoint")
                    .and_then(|e| e.as_str())
                    .map(str::to_string),
                x.get("enabled").and_then(|e| e.as_bool()),
            ));
        }
        return Answer::Items(out);
    }
    // The error bodies are the probes' (`IterableApiResponse`).
    match interpret(Probe::GetFields, status, body) {
        super::Answer::Forbidden | super::Answer::BadKey | super::Answer::JwtRequired => {
            Answer::Denied
        }
        super::Answer::Inconclusive(r) => Answer::Failed(r),
        super::Answer::Allowed => Answer::Failed("unexpected_response".into()),
    }
}

/// The `webhooks` observation of a concluded profile; the call goes to `calls`.
pub async fn observe(
    input: &ProbeInput<'_>,
    client: &Client,
    p: &KeyProfile,
    calls: &mut Vec<CallSummary>,
) -> Observation {
    // The schema observation says whether this key may read the project.
    match p.observations.get(super::PROFILE_FIELDS).map(|o| o.status) {
        Some(ObservationStatus::Observed) => {}
        Some(ObservationStatus::Unverifiable) => return w::unverifiable(CALL, MISSING),
        _ => {
            let reason = p
                .observations
                .get(super::PROFILE_FIELDS)
                .and_then(|o| o.reason.clone())
                .unwrap_or_else(|| "no usable answer".into());
            return w::inconclusive(CALL, &reason);
        }
    }
    let region = match p.account.as_deref() {
        Some("eu") => Region::Eu,
        _ => Region::Us,
    };
    let (url, headers) = match &input.base {
        None => match Url::parse(&format!("https://{}{PATH}", region.host())) {
            Ok(u) => (u, vec![]),
            Err(_) => return w::inconclusive(CALL, "bad_url"),
        },
        Some(b) => match crate::vendors::join(b, PATH) {
            Ok(u) => (u, vec![(HOST, HeaderValue::from_static(region.host()))]),
            Err(_) => return w::inconclusive(CALL, "bad_url"),
        },
    };
    let req = Request {
        method: Method::GET,
        url: url.clone(),
        template: PATH.into(),
        official_hosts: OFFICIAL_HOSTS,
        auth: Auth::Header(AUTH_HEADER, input.secret),
        headers,
        api_version: None,
        rates: vec![RateSpec {
            bucket: super::bucket(input, region, Probe::InAppMobile),
            per_second: PER_SECOND,
        }],
        budget_header: None,
        body: BodyRead::Fields(FIELDS),
        who: input.who(VENDOR),
    };
    let answer = match client.send(req).await {
        Ok(r) => {
            calls.push(r.call.clone());
            let body = r.body.as_deref().map(String::from_utf8_lossy);
            read(r.status, body.as_deref())
        }
        Err(e) => {
            if !e.refused_before_sending() {
                calls.push(crate::vendors::failed_call("GET", &url, PATH));
            }
            Answer::Failed(e.reason().into())
        }
    };
    match answer {
        Answer::Items(items) => {
            let mut l = Listing::new(CALL);
            for (id, url, enabled) in &items {
                l.add(Seen {
                    id,
                    url: url.as_deref().unwrap_or(""),
                    active: *enabled,
                    topics: None,
                });
            }
            l.finish(false)
        }
        Answer::Denied => w::unverifiable(CALL, MISSING),
        Answer::Failed(r) => w::inconclusive(CALL, &r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            read(
                200,
                Some(r#"{"webhooks":[{"id":7,"endpoint":"https://a.example","enabled":true}]}"#)
            ),
            Answer::Items(vec![(
                "7".into(),
                Some("https://a.example".into()),
                Some(true)
            )])
        );
        assert_eq!(
            read(200, Some(r#"{"fields":{}}"#)),
            Answer::Failed("unexpected_response".into())
        );
        assert_eq!(
            read(403, Some(super::super::emulator::fixtures::FORBIDDEN_403)),
            Answer::Denied
        );
        assert_eq!(read(503, None), Answer::Failed("server_error".into()));
        assert_eq!(read(429, None), Answer::Failed("rate_limited".into()));
    }
}
