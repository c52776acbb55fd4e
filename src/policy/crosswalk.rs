//! The ISO 27001 control catalogue: valid 2022 Annex A ids, titles, and the 2013 crosswalk.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const CROSSWALK_YAML: &str = include_str!("../../policies/crosswalk.yaml");

/// Prefix of 2022 control ids.
pub const P2022: &str = "ISO27001:2022/";
/// Prefix of 2013 control ids.
pub const P2013: &str = "ISO27001:2013/";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)]
    version: u32,
    controls: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    title: String,
    iso2013: Vec<String>,
}

/// Titles and 2013 equivalents of the mapped 2022 controls.
#[derive(Debug, Default)]
pub struct Crosswalk {
    entries: BTreeMap<String, (String, Vec<String>)>,
}

impl Crosswalk {
    /// The embedded crosswalk (parsed once).
    pub fn get() -> &'static Crosswalk {
        static CW: OnceLock<Crosswalk> = OnceLock::new();
        CW.get_or_init(|| {
            let mut cw = Crosswalk::default();
            // The file is embedded and covered by a unit test; a parse failure leaves the
            // crosswalk empty (and every 2013 derivation absent) rather than panicking.
            if let Ok(f) = crate::yaml::from_str::<File>(CROSSWALK_YAML) {
                for e in f.controls {
                    cw.entries.insert(e.id, (e.title, e.iso2013));
                }
            }
            cw
        })
    }

    /// 2013 ids (fully qualified) for a fully qualified 2022 id.
    pub fn iso2013(&self, id2022: &str) -> Vec<String> {
        let short = id2022.strip_prefix(P2022).unwrap_or(id2022);
        self.entries
            .get(short)
            .map(|(_, v)| v.iter().map(|s| format!("{P2013}{s}")).collect())
            .unwrap_or_default()
    }

    /// Title of a fully qualified 2022 id, when the crosswalk has it.
    pub fn title(&self, id2022: &str) -> Option<&str> {
        let short = id2022.strip_prefix(P2022).unwrap_or(id2022);
        self.entries.get(short).map(|(t, _)| t.as_str())
    }

    /// Titles for a 2013 id: the 2022 controls it maps to.
    pub fn mapped_from_2013(&self, id2013: &str) -> Vec<String> {
        let short = id2013.strip_prefix(P2013).unwrap_or(id2013);
        self.entries
            .iter()
            .filter(|(_, (_, v))| v.iter().any(|x| x == short))
            .map(|(k, _)| format!("{P2022}{k}"))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The natural sort key of a control id, fully qualified or not: `A.5.9` before `A.5.36`,
/// A.5 before A.6 before A.8, 2022 ids before 2013 ids, anything unparsable last.
pub fn natural_key(id: &str) -> (u8, Vec<u32>, String) {
    let (edition, short) = if let Some(s) = id.strip_prefix(P2022) {
        (0, s)
    } else if let Some(s) = id.strip_prefix(P2013) {
        (1, s)
    } else {
        (2, id)
    };
    let nums: Option<Vec<u32>> = short
        .strip_prefix("A.")
        .map(|rest| rest.split('.').map(|p| p.parse().ok()).collect())
        .unwrap_or(None);
    match nums {
        Some(n) => (edition, n, String::new()),
        None => (3, vec![], id.to_string()),
    }
}

/// Whether `id` is a valid fully qualified control id: a 2022 Annex A control (A.5.1–A.5.37,
/// A.6.1–A.6.8, A.7.1–A.7.14, A.8.1–A.8.34) or a 2013 Annex A control id (A.5.1.1–A.18.2.3).
pub fn is_valid(id: &str) -> bool {
    if let Some(short) = id.strip_prefix(P2022) {
        let parts: Vec<&str> = short.split('.').collect();
        if parts.len() != 3 || parts[0] != "A" {
            return false;
        }
        let (Ok(c), Ok(n)) = (parts[1].parse::<u32>(), parts[2].parse::<u32>()) else {
            return false;
        };
        let max = match c {
            5 => 37,
            6 => 8,
            7 => 14,
            8 => 34,
            _ => 0,
        };
        return n >= 1 && n <= max && !parts[2].starts_with('0');
    }
    if let Some(short) = id.strip_prefix(P2013) {
        let parts: Vec<&str> = short.split('.').collect();
        if parts.len() != 4 || parts[0] != "A" {
            return false;
        }
        let nums: Vec<u32> = parts[1..].iter().filter_map(|p| p.parse().ok()).collect();
        return nums.len() == 3 && (5..=18).contains(&nums[0]) && nums[1] >= 1 && nums[2] >= 1;
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn natural_order_of_controls() {
        let mut ids = vec![
            "ISO27001:2013/A.9.2.4",
            "ISO27001:2022/A.8.12",
            "ISO27001:2022/A.5.36",
            "custom",
            "ISO27001:2022/A.6.3",
            "ISO27001:2022/A.5.9",
            "A.5.10",
        ];
        ids.sort_by_key(|i| super::natural_key(i));
        assert_eq!(
            ids,
            [
                "ISO27001:2022/A.5.9",
                "ISO27001:2022/A.5.36",
                "ISO27001:2022/A.6.3",
                "ISO27001:2022/A.8.12",
                "ISO27001:2013/A.9.2.4",
                "A.5.10",
                "custom",
            ]
        );
    }

    use super::*;

    #[test]
    fn embedded_crosswalk_parses() {
        let cw = Crosswalk::get();
        assert!(cw.len() >= 40, "{}", cw.len());
        assert_eq!(
            cw.iso2013("ISO27001:2022/A.5.17"),
            vec![
                "ISO27001:2013/A.9.2.4",
                "ISO27001:2013/A.9.3.1",
                "ISO27001:2013/A.9.4.3"
            ]
        );
        assert!(cw.iso2013("ISO27001:2022/A.8.12").is_empty());
        for k in cw.entries.keys() {
            assert!(is_valid(&format!("{P2022}{k}")), "{k}");
        }
    }

    #[test]
    fn validity() {
        assert!(is_valid("ISO27001:2022/A.5.17"));
        assert!(is_valid("ISO27001:2022/A.8.34"));
        assert!(!is_valid("ISO27001:2022/A.8.35"));
        assert!(!is_valid("ISO27001:2022/A.9.1"));
        assert!(!is_valid("A.5.17"));
        assert!(is_valid("ISO27001:2013/A.9.2.4"));
        assert!(!is_valid("ISO27001:2013/A.9.2"));
    }
}
