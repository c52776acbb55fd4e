//! What the vendors and the site showed, compared between two runs: a new profile field, a
//! new webhook destination, a new credential, a new script origin, an observation that stopped
//! being visible. `diff` prints these beside the finding changes, so a reviewer sees the
//! change in the world and not only its effect on the rules.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Observation, ObservationStatus, ObservedItem, Run};

/// One change in an observed fact between two runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObservedChange {
    /// `key:<id>` for a key's observation, `run` for what the crawl saw.
    pub subject: String,
    /// The observation (`profile_fields`, `webhooks`, `api_credentials`, `script_origins`).
    pub observation: String,
    /// `added`, `removed`, `changed` (an item's attributes) or `status`.
    pub change: ObservedChangeKind,
    /// The value or item id, and for `changed`/`status` what it was and what it is.
    pub detail: String,
}

/// The kind of an [`ObservedChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedChangeKind {
    Added,
    Removed,
    Changed,
    Status,
}

impl ObservedChangeKind {
    pub fn sign(self) -> char {
        match self {
            ObservedChangeKind::Added => '+',
            ObservedChangeKind::Removed => '-',
            ObservedChangeKind::Changed | ObservedChangeKind::Status => '~',
        }
    }
}

/// The observed-fact changes from `old` to `new`, sorted by subject, observation, change.
pub fn observed_changes(old: &Run, new: &Run) -> Vec<ObservedChange> {
    let mut out = Vec::new();
    let old_obs = key_observations(old);
    let new_obs = key_observations(new);
    let subjects: BTreeSet<&(String, String)> = old_obs.keys().chain(new_obs.keys()).collect();
    for k in subjects {
        let (subject, name) = k;
        let mut push = |change, detail: String| {
            out.push(ObservedChange {
                subject: subject.clone(),
                observation: name.clone(),
                change,
                detail,
            })
        };
        match (old_obs.get(k), new_obs.get(k)) {
            (Some(a), Some(b)) => compare(a, b, &mut push),
            // A new observation (a new key, or a new kind of call): what it saw is new; one
            // that is no longer made says what it was.
            (None, Some(b)) if b.status != ObservationStatus::Observed => {
                push(ObservedChangeKind::Status, format!("now {}", status(b)))
            }
            (Some(a), None) => push(
                ObservedChangeKind::Status,
                format!("was {}, no longer observed", status(a)),
            ),
            (None, Some(b)) if b.items.is_empty() => {
                for v in &b.values {
                    push(ObservedChangeKind::Added, v.clone());
                }
            }
            (None, Some(b)) => {
                for i in &b.items {
                    push(ObservedChangeKind::Added, item(i));
                }
            }
            (None, None) => {}
        }
    }
    let origins = |r: &Run| -> BTreeMap<String, Option<String>> {
        r.facts
            .run
            .script_origins
            .iter()
            .flatten()
            .map(|o| (o.origin.clone(), o.owner.clone()))
            .collect()
    };
    let (a, b) = (origins(old), origins(new));
    let owner = |o: &Option<String>| o.clone().unwrap_or_else(|| "no vendor".into());
    for (origin, who) in &b {
        let change = match a.get(origin) {
            None => Some((
                ObservedChangeKind::Added,
                format!("{origin} ({})", owner(who)),
            )),
            Some(was) if was != who => Some((
                ObservedChangeKind::Changed,
                format!("{origin}: {} → {}", owner(was), owner(who)),
            )),
            Some(_) => None,
        };
        if let Some((change, detail)) = change {
            out.push(ObservedChange {
                subject: "run".into(),
                observation: "script_origins".into(),
                change,
                detail,
            });
        }
    }
    // Origins are only known when both runs crawled; a run that did not crawl removes none.
    if new.facts.run.script_origins.is_some() {
        for (origin, who) in &a {
            if !b.contains_key(origin) {
                out.push(ObservedChange {
                    subject: "run".into(),
                    observation: "script_origins".into(),
                    change: ObservedChangeKind::Removed,
                    detail: format!("{origin} ({})", owner(who)),
                });
            }
        }
    }
    out.sort();
    out
}

fn key_observations(run: &Run) -> BTreeMap<(String, String), &Observation> {
    let mut m = BTreeMap::new();
    for k in &run.keys {
        if let Some(p) = &k.profile {
            for (name, o) in &p.observations {
                m.insert((format!("key:{}", k.id), name.clone()), o);
            }
        }
    }
    m
}

fn status(o: &Observation) -> String {
    let s = match o.status {
        ObservationStatus::Observed => "observed",
        ObservationStatus::Unverifiable => "unverifiable",
        ObservationStatus::Inconclusive => "inconclusive",
    };
    match &o.reason {
        Some(r) => format!("{s} ({r})"),
        None => s.to_string(),
    }
}

fn item(i: &ObservedItem) -> String {
    if i.attributes.is_empty() {
        return i.id.clone();
    }
    let attrs: Vec<String> = i
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={}", v.join(",")))
        .collect();
    format!("{} [{}]", i.id, attrs.join("; "))
}

fn compare(a: &Observation, b: &Observation, push: &mut impl FnMut(ObservedChangeKind, String)) {
    if a.status != b.status {
        push(
            ObservedChangeKind::Status,
            format!("{} → {}", status(a), status(b)),
        );
    }
    // Values and items are only comparable when both runs saw them.
    if a.status != ObservationStatus::Observed || b.status != ObservationStatus::Observed {
        return;
    }
    // Where an observation has items, its values summarise them (a webhook list's
    // destinations): the items are the change, once.
    if a.items.is_empty() && b.items.is_empty() {
        let (va, vb): (BTreeSet<&String>, BTreeSet<&String>) =
            (a.values.iter().collect(), b.values.iter().collect());
        for v in vb.difference(&va) {
            push(ObservedChangeKind::Added, (*v).clone());
        }
        for v in va.difference(&vb) {
            push(ObservedChangeKind::Removed, (*v).clone());
        }
    }
    let by_id = |o: &Observation| -> BTreeMap<String, ObservedItem> {
        o.items.iter().map(|i| (i.id.clone(), i.clone())).collect()
    };
    let (ia, ib) = (by_id(a), by_id(b));
    for (id, i) in &ib {
        match ia.get(id) {
            None => push(ObservedChangeKind::Added, item(i)),
            Some(was) if was.attributes != i.attributes => push(
                ObservedChangeKind::Changed,
                format!("{} → {}", item(was), item(i)),
            ),
            Some(_) => {}
        }
    }
    for (id, i) in &ia {
        if !ib.contains_key(id) {
            push(ObservedChangeKind::Removed, item(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ScriptOriginFacts;
    use crate::run::{KeyProfile, KeyRecord};

    fn run_with(obs: Vec<(&str, Observation)>, origins: Option<Vec<(&str, Option<&str>)>>) -> Run {
        let mut r = Run::new("audit", "chk");
        let mut profile: KeyProfile = serde_json::from_value(serde_json::json!({
            "vendor": "iterable", "status": "active"
        }))
        .expect("profile");
        for (n, o) in obs {
            profile.observations.insert(n.into(), o);
        }
        let mut k: KeyRecord = serde_json::from_value(serde_json::json!({
            "id": "iterable-web", "vendor": "iterable", "secret_source": "env:X"
        }))
        .expect("key");
        k.profile = Some(profile);
        r.keys.push(k);
        r.facts.run.script_origins = origins.map(|v| {
            v.into_iter()
                .map(|(o, w)| ScriptOriginFacts {
                    origin: o.into(),
                    owner: w.map(str::to_string),
                    pages: vec![],
                    injected_by: vec![],
                })
                .collect()
        });
        r
    }

    fn hook(id: &str, active: &str) -> ObservedItem {
        ObservedItem {
            id: id.into(),
            attributes: [("active".to_string(), vec![active.to_string()])].into(),
        }
    }

    fn webhooks(items: Vec<ObservedItem>) -> Observation {
        let mut o = Observation::observed("GET /v1/webhook_endpoints", None, vec![]);
        o.items = items;
        o
    }

    #[test]
    fn a_new_field_a_new_webhook_and_a_new_origin_are_each_one_change() {
        let fields = |v: &[&str]| {
            Observation::observed(
                "GET /api/users/getFields",
                None,
                v.iter().map(|s| s.to_string()).collect(),
            )
        };
        let old = run_with(
            vec![
                ("profile_fields", fields(&["email"])),
                (
                    "webhooks",
                    webhooks(vec![hook("https://hooks.example", "true")]),
                ),
            ],
            Some(vec![("https://js.stripe.com", Some("stripe"))]),
        );
        let new = run_with(
            vec![
                ("profile_fields", fields(&["email", "phoneNumber"])),
                (
                    "webhooks",
                    webhooks(vec![
                        hook("https://hooks.example", "false"),
                        hook("https://collector.evil.example", "true"),
                    ]),
                ),
            ],
            Some(vec![
                ("https://js.stripe.com", Some("stripe")),
                ("https://tags.example", None),
            ]),
        );
        let got: Vec<String> = observed_changes(&old, &new)
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    c.change.sign(),
                    c.subject,
                    c.observation,
                    c.detail
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "+ key:iterable-web profile_fields phoneNumber",
                "+ key:iterable-web webhooks https://collector.evil.example [active=true]",
                "~ key:iterable-web webhooks https://hooks.example [active=true] → https://hooks.example [active=false]",
                "+ run script_origins https://tags.example (no vendor)",
            ]
        );
        assert!(observed_changes(&new, &new).is_empty());
    }

    #[test]
    fn a_lost_observation_is_a_status_change_not_a_removal() {
        let old = run_with(
            vec![(
                "webhooks",
                webhooks(vec![hook("https://hooks.example", "true")]),
            )],
            None,
        );
        let mut lost = Observation::observed("GET /v1/webhook_endpoints", None, vec![]);
        lost.status = ObservationStatus::Unverifiable;
        lost.reason = Some("needs rak_webhook_read".into());
        let new = run_with(vec![("webhooks", lost)], None);
        let got = observed_changes(&old, &new);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].change, ObservedChangeKind::Status);
        assert_eq!(
            got[0].detail,
            "observed → unverifiable (needs rak_webhook_read)"
        );
    }
}
