//! The Shopify emulator's answers to the audit key's lists: `users.json` (staff accounts) and
//! `script_tags.json`, served by the generic resource route once the scope check passed.
//!
//! Staff accounts carry first and last names, e-mails and phones (the values of
//! [`crate::emulator::PLANTED_PII`]), as real ones do; script tag URLs carry a token in their
//! query. `limit` (1–250) bounds the page. Per-key `extra`: `script_tags: [URL, …]` (default one
//! third-party tag), `generated_users: [N]`, `generated_script_tags: [N]` (long lists).
//! Variants for UNCONFIRMED behaviour: `users_endpoint: plus` (default) | `not_plus_403` |
//! `not_plus_404` (how a store without Plus refuses staff accounts), and `staff: server_error`,
//! `script_tags: server_error` (a 500 while the scopes still answer).

use serde_json::json;

use crate::emulator::{EmuState, EmulatorKey, planted};

/// The default script tag of an emulated shop: a third-party origin no inventory names.
pub const DEFAULT_SCRIPT_TAG: &str =
    "https://cdn.shop-analytics.example/tag.js?shop=acme&token=EMULATOR-TAG-TOKEN";

fn count(k: &EmulatorKey, name: &str) -> usize {
    k.extra
        .get(name)
        .and_then(|v| v.first())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn staff(k: &EmulatorKey) -> Vec<serde_json::Value> {
    let person = |id: u64, kind: &str, owner: bool, perms: &[&str]| {
        json!({
            "id": id,
            "first_name": planted("first_name"),
            "last_name": planted("last_name"),
            "email": planted("email"),
            "phone": planted("phone"),
            "url": "https://www.shopify.com",
            "im": null,
            "screen_name": null,
            "bio": null,
            "locale": "en",
            "receive_announcements": 1,
            "user_type": kind,
            "account_owner": owner,
            "permissions": perms,
        })
    };
    let mut out = vec![
        person(548380001, "regular", true, &["full"]),
        person(
            548380002,
            "regular",
            false,
            &["orders", "customers", "products"],
        ),
        person(548380003, "collaborator", false, &["products", "themes"]),
    ];
    out.extend(
        (0..count(k, "generated_users"))
            .map(|i| person(600000000 + i as u64, "regular", false, &["products"])),
    );
    out
}

fn script_tags(k: &EmulatorKey) -> Vec<serde_json::Value> {
    let srcs: Vec<String> = k
        .extra
        .get("script_tags")
        .cloned()
        .unwrap_or_else(|| vec![DEFAULT_SCRIPT_TAG.to_string()]);
    let tag = |id: u64, src: &str| {
        json!({
            "id": id, "src": src, "event": "onload", "display_scope": "all", "cache": false,
            "created_at": "2026-01-01T00:00:00-05:00", "updated_at": "2026-01-01T00:00:00-05:00",
        })
    };
    let mut out: Vec<serde_json::Value> = srcs
        .iter()
        .enumerate()
        .map(|(i, s)| tag(421379493 + i as u64, s))
        .collect();
    out.extend((0..count(k, "generated_script_tags")).map(|i| {
        tag(
            700000000 + i as u64,
            "https://static.generated.example/s.js",
        )
    }));
    out
}

/// The answer to `GET …/<name>.json` for key `k`, when `name` is one of the audit lists.
pub fn answer(
    st: &EmuState,
    k: &EmulatorKey,
    name: &str,
    limit: Option<&str>,
) -> Option<(u16, serde_json::Value)> {
    let (items, variant) = match name {
        "users" => {
            // UNCONFIRMED: how a store without Plus refuses the staff API.
            match st.variant(Some(k), "users_endpoint").as_deref() {
                Some("not_plus_403") => {
                    return Some((
                        403,
                        json!({"errors": "[API] This action requires a Shopify Plus store."}),
                    ));
                }
                Some("not_plus_404") => return Some((404, json!({"errors": "Not Found"}))),
                _ => {}
            }
            (staff(k), "staff")
        }
        "script_tags" => (script_tags(k), "script_tags"),
        _ => return None,
    };
    if st.variant(Some(k), variant).as_deref() == Some("server_error") {
        return Some((500, json!({"errors": "Internal Server Error"})));
    }
    let limit = limit.and_then(|l| l.parse::<usize>().ok()).unwrap_or(50);
    let page: Vec<serde_json::Value> = items.into_iter().take(limit).collect();
    Some((200, json!({ name: page })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::EmulatorConfig;

    #[test]
    fn lists_carry_personal_data_and_tokens_and_honour_limit() {
        let spec = super::super::emulator::spec();
        let mut k = EmulatorKey::new("shpat_x", "shopify", &["read_users"], "a.myshopify.com");
        let st = EmuState::new(&spec, &EmulatorConfig::default());
        let (s, v) = answer(&st, &k, "users", Some("2")).expect("users");
        assert_eq!(s, 200);
        assert_eq!(v["users"].as_array().map(Vec::len), Some(2));
        assert!(v.to_string().contains(planted("email")));
        let (_, v) = answer(&st, &k, "script_tags", None).expect("tags");
        assert!(v.to_string().contains("EMULATOR-TAG-TOKEN"));
        k.variants
            .insert("users_endpoint".into(), "not_plus_404".into());
        assert_eq!(answer(&st, &k, "users", None).map(|a| a.0), Some(404));
        assert!(answer(&st, &k, "orders", None).is_none());
    }
}
