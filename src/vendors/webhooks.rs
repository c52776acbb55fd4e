//! Where data leaves the vendor (issue 16, point 3): the vendor-independent half of the
//! `webhooks` observation.
//!
//! Each connector lists the account's webhook endpoints with GETs of its own (Stripe
//! `/v1/webhook_endpoints`, Shopify `webhooks.json`, Iterable `/api/webhooks`, Adyen company
//! and merchant webhooks), reading each body through a [`crate::http::BodyRead::Fields`]
//! projection, and hands every endpoint to a [`Listing`]. Of a webhook only its id, the
//! destination's scheme and host (through [`crate::guard::url::destination`]: a webhook URL's
//! path or query is often its secret), whether it is active and how many event types it gets
//! are kept; never the URL, never a signing secret or password.
//!
//! The emulators' side is here too ([`emulated`]): every emulator serves the same
//! configurable webhook list in its vendor's shape.

use std::future::Future;

use url::Url;

use crate::emulator::{EmuState, EmulatorKey, Hostile, planted};
use crate::http::{HttpError, Response};
use crate::run::{CallSummary, Observation, ObservationStatus, ObservedItem};

/// The observation name (`KeyProfile::observations`, facts `observed_webhook_destinations`).
pub const OBSERVATION: &str = crate::facts::WEBHOOKS;
/// At most this many pages of one list are read; a longer list is `truncated`.
pub const MAX_PAGES: usize = 10;
/// What a destination that is not an absolute URL with a host is recorded as.
pub const NOT_A_URL: &str = "(not a URL)";

/// One webhook endpoint as a page shows it (its URL already cut to scheme and host by the
/// body projection; [`Listing::add`] cuts it again, whatever it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: String,
    pub url: Option<String>,
    pub active: Option<bool>,
    /// Event types it receives (`enabled_events`, `topic`), when the vendor says.
    pub topics: Option<usize>,
}

impl Hook {
    /// `id`, `url` and `active` of one JSON element of a list page (`id` a string or a number;
    /// `None` without one).
    pub fn from_json(v: &serde_json::Value, url: &str, active: &str) -> Option<Hook> {
        let id = match v.get("id")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(Hook {
            id,
            url: v.get(url).and_then(|u| u.as_str()).map(str::to_string),
            active: v.get(active).and_then(|a| a.as_bool()),
            topics: None,
        })
    }

    /// Every element of `list` (`None` if one has no id).
    pub fn all(list: &[serde_json::Value], url: &str, active: &str) -> Option<Vec<Hook>> {
        list.iter()
            .map(|v| Hook::from_json(v, url, active))
            .collect()
    }
}

/// What one page of a vendor's list says; `C` asks for the next page, `T` is what it lists
/// (webhook endpoints unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page<C, T = Hook> {
    /// The items on it, and how to ask for the next page when the list goes on.
    Items(Vec<T>, Option<C>),
    /// The key may not list them (403).
    Denied,
    /// `rate_limited`, `server_error`, `timeout`, `unexpected_response`, …
    Failed(String),
}

impl<C, T> Page<C, T> {
    /// The page of a status other than 200 (a 403 is [`Page::Denied`]).
    pub fn refused(status: u16) -> Self {
        match status {
            403 => Page::Denied,
            s => Page::Failed(
                super::vendor_failure(s)
                    .unwrap_or("unexpected_response")
                    .into(),
            ),
        }
    }
}

/// The page a list call answered, read by `read`, or why there is none; with the call made
/// (none when it was refused before it was sent).
pub fn page_of<C, T>(
    url: &Url,
    template: &str,
    r: Result<Response, HttpError>,
    read: impl FnOnce(&Response) -> Page<C, T>,
) -> (Page<C, T>, Vec<CallSummary>) {
    match r {
        Ok(r) => (read(&r), vec![r.call.clone()]),
        Err(e) => {
            let made = if e.refused_before_sending() {
                vec![]
            } else {
                vec![super::failed_call("GET", url, template)]
            };
            (Page::Failed(e.reason().to_string()), made)
        }
    }
}

/// How reading a list ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Done,
    /// More pages than the reader reads.
    Truncated,
    Denied,
    Failed(String),
}

/// Reads one webhook list page by page (at most [`MAX_PAGES`]) into `listing`: `fetch` asks
/// for the page after a cursor (`None`: the first) and records its call in the `calls` it is
/// given.
pub async fn read_pages<C, F, Fut>(
    listing: &mut Listing,
    calls: &mut Vec<CallSummary>,
    fetch: F,
) -> Read
where
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = (Page<C>, Vec<CallSummary>)>,
{
    read_list(MAX_PAGES, calls, fetch, |hooks| {
        for h in &hooks {
            listing.add(h);
        }
    })
    .await
}

/// Reads any paged list, at most `max_pages` pages: every vendor's webhook list and Adyen's
/// credential and user lists are read by this one loop. Each page's items go to `sink`; the
/// calls `fetch` made, to `calls`.
pub async fn read_list<C, T, F, Fut>(
    max_pages: usize,
    calls: &mut Vec<CallSummary>,
    mut fetch: F,
    mut sink: impl FnMut(Vec<T>),
) -> Read
where
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = (Page<C, T>, Vec<CallSummary>)>,
{
    let mut cursor = None;
    for _ in 0..max_pages {
        let (page, made) = fetch(cursor.take()).await;
        calls.extend(made);
        match page {
            Page::Items(items, next) => {
                sink(items);
                match next {
                    None => return Read::Done,
                    Some(c) => cursor = Some(c),
                }
            }
            Page::Denied => return Read::Denied,
            Page::Failed(r) => return Read::Failed(r),
        }
    }
    Read::Truncated
}

/// The webhooks of one account, page by page.
#[derive(Debug, Clone)]
pub struct Listing {
    call: String,
    items: Vec<ObservedItem>,
}

impl Listing {
    /// `call`: the GET(s) that list them, as the observation names them.
    pub fn new(call: &str) -> Self {
        Listing {
            call: call.to_string(),
            items: vec![],
        }
    }

    /// Adds one endpoint: its id and the destination's `scheme://host[:port]` only.
    pub fn add(&mut self, w: &Hook) {
        let destination = w
            .url
            .as_deref()
            .and_then(crate::guard::url::destination)
            .unwrap_or_else(|| NOT_A_URL.to_string());
        let mut attributes = std::collections::BTreeMap::new();
        if let Some((scheme, host)) = destination.split_once("://") {
            attributes.insert("scheme".to_string(), vec![scheme.to_string()]);
            attributes.insert("host".to_string(), vec![host.to_string()]);
        }
        attributes.insert("destination".to_string(), vec![destination]);
        if let Some(a) = w.active {
            attributes.insert("active".to_string(), vec![a.to_string()]);
        }
        if let Some(n) = w.topics {
            attributes.insert("topics".to_string(), vec![n.to_string()]);
        }
        self.items.push(ObservedItem {
            id: w.id.chars().take(200).collect(),
            attributes,
        });
    }

    /// The observation after [`read_pages`] ended with `read`; `missing` names what a key
    /// that was refused lacks.
    pub fn conclude(self, read: Read, missing: &str) -> Observation {
        match read {
            Read::Done => self.finish(false),
            Read::Truncated => self.finish(true),
            Read::Denied => unverifiable(&self.call, missing),
            Read::Failed(r) => inconclusive(&self.call, &r),
        }
    }

    /// The observation: `observed` with every destination in `values`, or, when the vendor's
    /// list goes on past [`MAX_PAGES`], `inconclusive` and `truncated` (what was read is kept
    /// as evidence, but it is not the whole list).
    pub fn finish(mut self, truncated: bool) -> Observation {
        self.items.sort_by(|a, b| a.id.cmp(&b.id));
        let values = self
            .items
            .iter()
            .filter_map(|i| i.attributes.get("destination")?.first().cloned())
            .collect();
        let mut o = Observation::observed(&self.call, Some(crate::run::now_rfc3339()), values);
        o.items = self.items;
        if truncated {
            o.status = ObservationStatus::Inconclusive;
            o.reason = Some(format!(
                "truncated: the vendor lists more webhooks than the {MAX_PAGES} pages read"
            ));
            o.truncated = true;
        }
        o
    }
}

/// The key may not list webhooks: `missing` names the permission, scope or role it lacks.
pub fn unverifiable(call: &str, missing: &str) -> Observation {
    Observation::not_known(ObservationStatus::Unverifiable, call, missing)
}

/// The vendor did not answer usably (`rate_limited`, `server_error`, `timeout`, …).
pub fn inconclusive(call: &str, reason: &str) -> Observation {
    Observation::not_known(ObservationStatus::Inconclusive, call, reason)
}

/// The destinations of an observation that are not declared: `declared` holds host patterns
/// (`hooks.example.com`, `*.example.com`, `host:port`), as `script_origins` does.
pub fn undeclared(observed: &[String], declared: &[String]) -> Vec<String> {
    observed
        .iter()
        .filter(|d| !declared.iter().any(|p| crate::facts::origin_matches(p, d)))
        .cloned()
        .collect()
}

/// The destinations that are not `https://`.
pub fn not_https(observed: &[String]) -> Vec<String> {
    observed
        .iter()
        .filter(|d| !d.starts_with("https://"))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Emulators

/// One webhook an emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmuWebhook {
    pub id: String,
    pub url: String,
    pub active: bool,
}

/// The default list of every emulated account: one endpoint on a host the demo and the tests
/// declare, whose path and query carry a secret (as chat hooks and signed URLs do).
pub const DEFAULT_WEBHOOK: &str = "https://hooks.example.com/vendorscope/T00000000/B00000000/whk_s3cr3tPathToken?sig=s3cr3tQueryToken";

/// The webhooks of `key`'s account: its `extra.webhooks` (URLs; `disabled:` before one makes it
/// inactive; `none` for none), else [`DEFAULT_WEBHOOK`]. Under [`Hostile::PlantedPii`] every
/// URL also carries a person's e-mail and name in its path and query, and under
/// [`Hostile::Text`] the id is the hostile text.
pub fn emulated(st: &EmuState, key: &EmulatorKey) -> Vec<EmuWebhook> {
    let urls: Vec<String> = match key.extra.get("webhooks") {
        Some(v) => v.iter().filter(|u| *u != "none").cloned().collect(),
        None => vec![DEFAULT_WEBHOOK.to_string()],
    };
    urls.iter()
        .enumerate()
        .map(|(i, u)| {
            let (active, u) = match u.strip_prefix("disabled:") {
                Some(rest) => (false, rest.to_string()),
                None => (true, u.clone()),
            };
            let url = if st.hostile(Hostile::PlantedPii) {
                let (path, query) = u.split_once('?').unwrap_or((&u, ""));
                let email = planted("email");
                let name = planted("name").replace(' ', "+");
                format!(
                    "{}/{email}?email={email}&name={name}&{query}",
                    path.trim_end_matches('/')
                )
            } else {
                u.clone()
            };
            EmuWebhook {
                id: st.field(&format!("{}", 1001 + i), &key.key),
                url,
                active,
            }
        })
        .collect()
}

/// Page `page` (1-based) of `all` at `size` per page, and whether more follow.
pub fn page<T: Clone>(all: &[T], page: usize, size: usize) -> (Vec<T>, bool) {
    let size = size.max(1);
    let start = page.saturating_sub(1).saturating_mul(size);
    let slice: Vec<T> = all.iter().skip(start).take(size).cloned().collect();
    (slice, start.saturating_add(size) < all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scheme_and_host_only() {
        let mut l = Listing::new("GET /v1/webhook_endpoints");
        l.add(&Hook {
            id: "we_2".into(),
            url: Some("http://Collect.Broker.example:8080/in/s3cr3t?token=abc".into()),
            active: Some(true),
            topics: Some(3),
        });
        l.add(&Hook {
            id: "we_1".into(),
            url: Some("javascript:alert(1)".into()),
            active: None,
            topics: None,
        });
        let o = l.finish(false);
        assert_eq!(o.status, ObservationStatus::Observed);
        assert_eq!(
            o.values,
            vec![NOT_A_URL, "http://collect.broker.example:8080"]
        );
        assert_eq!(o.items[0].id, "we_1");
        assert_eq!(
            o.items[1].attributes["host"],
            vec!["collect.broker.example:8080"]
        );
        assert_eq!(o.items[1].attributes["topics"], vec!["3"]);
        let all = format!("{o:?}");
        assert!(!all.contains("s3cr3t") && !all.contains("token"), "{all}");
    }

    #[test]
    fn truncated_is_inconclusive() {
        let mut l = Listing::new("GET /api/webhooks");
        l.add(&Hook {
            id: "1".into(),
            url: Some("https://a.example/x".into()),
            active: Some(true),
            topics: None,
        });
        let o = l.finish(true);
        assert_eq!(o.status, ObservationStatus::Inconclusive);
        assert!(o.truncated);
        assert!(o.reason.as_deref().unwrap_or("").starts_with("truncated"));
    }

    #[test]
    fn declared_patterns() {
        let seen = vec![
            "https://hooks.example.com".to_string(),
            "https://a.partner.example".to_string(),
            "http://collect.broker.example".to_string(),
        ];
        let declared = vec!["hooks.example.com".to_string(), "*.partner.example".into()];
        assert_eq!(
            undeclared(&seen, &declared),
            vec!["http://collect.broker.example"]
        );
        assert_eq!(not_https(&seen), vec!["http://collect.broker.example"]);
    }

    #[test]
    fn hooks_from_json() {
        let v = serde_json::json!([{"id": 7, "endpoint": "https://a.example", "enabled": false},
            {"id": "S2-1"}]);
        let hooks = Hook::all(v.as_array().unwrap_or(&vec![]), "endpoint", "enabled");
        assert_eq!(
            hooks,
            Some(vec![
                Hook {
                    id: "7".into(),
                    url: Some("https://a.example".into()),
                    active: Some(false),
                    topics: None
                },
                Hook {
                    id: "S2-1".into(),
                    url: None,
                    active: None,
                    topics: None
                },
            ])
        );
        assert_eq!(
            Hook::all(&[serde_json::json!({"url": "x"})], "url", "a"),
            None
        );
        assert_eq!(Page::<u8>::refused(403), Page::Denied);
        assert_eq!(
            Page::<u8>::refused(502),
            Page::Failed("server_error".into())
        );
    }

    #[test]
    fn pages() {
        let all: Vec<u32> = (1..=5).collect();
        assert_eq!(page(&all, 1, 2), (vec![1, 2], true));
        assert_eq!(page(&all, 3, 2), (vec![5], false));
        assert_eq!(page(&all, 4, 2), (vec![], false));
    }
}
