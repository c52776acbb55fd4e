//! Iterable webhooks (issue 16, point 3): `GET /api/webhooks` (CONFIRMED in the api-client
//! swagger: `GetWebhooksResponse {webhooks: [ApiWebhookResponse]}`, documented 200/401; one
//! page, no pagination parameters), in the data centre that accepted the key.
//!
//! Only keys that may read the project (server-side and read-only keys: `getFields` answered)
//! are asked; a client-side key is `unverifiable` without a call. Of each webhook only `id`,
//! the endpoint's scheme and host and `enabled` are built; never its auth settings.

use reqwest::header::{HOST, HeaderValue};
use url::Url;

use super::{Probe, Region, interpret};
use crate::http::{BodyRead, Client, RateSpec};
use crate::run::{CallSummary, KeyProfile, Observation, ObservationStatus};
use crate::vendors::ProbeInput;
use crate::vendors::webhooks::{self as w, Hook, Listing, Page};

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

/// Reads one answer: 2xx with `webhooks`, or what [`super::interpret`] makes of an error.
pub fn read(status: u16, body: Option<&str>) -> Page<()> {
    if (200..300).contains(&status) {
        let v: Option<serde_json::Value> = body.and_then(|b| serde_json::from_str(b).ok());
        let hooks = v
            .as_ref()
            .and_then(|v| v.get("webhooks")?.as_array())
            .and_then(|l| Hook::all(l, "endpoint", "enabled"));
        return match hooks {
            Some(h) => Page::Items(h, None),
            None => Page::Failed("unexpected_response".into()),
        };
    }
    // The error bodies are the probes' (`IterableApiResponse`).
    match interpret(Probe::GetFields, status, body) {
        super::Answer::Forbidden | super::Answer::BadKey | super::Answer::JwtRequired => {
            Page::Denied
        }
        super::Answer::Inconclusive(r) => Page::Failed(r),
        super::Answer::Allowed => Page::Failed("unexpected_response".into()),
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
    let target = match &input.base {
        None => Url::parse(&format!("https://{}{PATH}", region.host()))
            .map(|u| (u, vec![]))
            .map_err(|e| crate::http::HttpError::BadUrl(e.to_string())),
        Some(b) => crate::vendors::join(b, PATH)
            .map(|u| (u, vec![(HOST, HeaderValue::from_static(region.host()))])),
    };
    let mut listing = Listing::new(CALL);
    let outcome = w::read_pages(&mut listing, calls, |_: Option<()>| {
        let target = target.clone();
        async move {
            let target = match target {
                Ok(t) => t,
                Err(e) => return (Page::Failed(e.reason().into()), vec![]),
            };
            let url = target.0.clone();
            let rate = RateSpec {
                bucket: super::bucket(input, region, Probe::InAppMobile),
                per_second: PER_SECOND,
            };
            let req = super::request(input, target, PATH, rate, BodyRead::Fields(FIELDS));
            w::page_of(&url, PATH, client.send(req).await, |r| {
                let body = r.body.as_deref().map(String::from_utf8_lossy);
                read(r.status, body.as_deref())
            })
        }
    })
    .await;
    listing.conclude(outcome, MISSING)
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
            Page::Items(
                vec![Hook {
                    id: "7".into(),
                    url: Some("https://a.example".into()),
                    active: Some(true),
                    topics: None
                }],
                None
            )
        );
        assert_eq!(
            read(200, Some(r#"{"fields":{}}"#)),
            Page::Failed("unexpected_response".into())
        );
        assert_eq!(
            read(403, Some(super::super::emulator::fixtures::FORBIDDEN_403)),
            Page::Denied
        );
        assert_eq!(read(503, None), Page::Failed("server_error".into()));
        assert_eq!(read(429, None), Page::Failed("rate_limited".into()));
    }
}
