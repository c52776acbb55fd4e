//! The audit key's least privilege: per vendor, the exact role or scope each governance
//! observation needs, in one table (each connector contributes its rows through
//! [`super::Connector::audit_needs`]).
//!
//! The same table names the missing permission when an observation is `unverifiable`, lists
//! the permissions in `policy explain` of the rules that use the observation, documents them
//! in the README (a test keeps the two in step), and judges a key declared `role: audit`: what
//! it holds beyond the table is [`excess`], what it lacks is [`missing`].

/// One governance observation and what it needs at the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AuditNeed {
    /// Connector name.
    pub vendor: &'static str,
    /// The observation name in `KeyProfile::observations`.
    pub observation: &'static str,
    /// The calls that make it.
    pub call: &'static str,
    /// `role` (Adyen) or `scope` (Shopify).
    pub kind: &'static str,
    /// The vendor's own name of the grant.
    pub grant: &'static str,
    /// The facts built from it (`vendor.undeclared_credentials`), as rules name them.
    pub facts: &'static [&'static str],
}

impl AuditNeed {
    /// The reason of an `unverifiable` observation: the missing grant, named as the vendor
    /// names it.
    pub fn missing_reason(&self) -> String {
        format!("the audit key lacks the {} `{}`", self.kind, self.grant)
    }
}

/// Every row of every connector, in registry order.
pub fn table() -> Vec<&'static AuditNeed> {
    super::registry()
        .into_iter()
        .flat_map(|c| c.audit_needs().iter())
        .collect()
}

/// The rows of one connector.
pub fn needs_of(vendor: &str) -> &'static [AuditNeed] {
    super::connector(vendor).map_or(&[], |c| c.audit_needs())
}

/// The row of one observation.
pub fn need(vendor: &str, observation: &str) -> Option<&'static AuditNeed> {
    needs_of(vendor)
        .iter()
        .find(|n| n.observation == observation)
}

/// A grant name compared across spellings: Adyen writes role names with an em dash, users
/// copy them with en dashes or spaced hyphens; case does not matter.
pub fn same_grant(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.replace(['\u{2014}', '\u{2013}'], "-")
            .split('-')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase()
    }
    norm(a) == norm(b)
}

/// Whether `granted` holds the grant a row needs.
pub fn holds(granted: &[String], n: &AuditNeed) -> bool {
    granted.iter().any(|g| same_grant(g, n.grant))
}

/// What an audit key of `vendor` holds beyond what the audit uses (sorted).
pub fn excess(vendor: &str, granted: &[String]) -> Vec<String> {
    let needs = needs_of(vendor);
    let mut out: Vec<String> = granted
        .iter()
        .filter(|g| !needs.iter().any(|n| same_grant(g, n.grant)))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The grants the audit uses that an audit key of `vendor` lacks (sorted, de-duplicated).
pub fn missing(vendor: &str, granted: &[String]) -> Vec<String> {
    let mut out: Vec<String> = needs_of(vendor)
        .iter()
        .filter(|n| !holds(granted, n))
        .map(|n| n.grant.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The rows whose facts a rule's text (its `where` and `require`) names, or every row when
/// the rule is about the audit key itself (`key.audit…`).
pub fn for_rule(text: &str) -> Vec<&'static AuditNeed> {
    let about_audit_key = text.contains("key.audit");
    table()
        .into_iter()
        .filter(|n| about_audit_key || n.facts.iter().any(|f| text.contains(f)))
        .collect()
}

/// The table as Markdown (README section "What the audit key needs").
pub fn markdown() -> String {
    let mut s =
        String::from("| Vendor | Observation | Call | Needs | Facts |\n|---|---|---|---|---|\n");
    for n in table() {
        s.push_str(&format!(
            "| {} | `{}` | `{}` | {} `{}` | {} |\n",
            n.vendor,
            n.observation,
            n.call,
            n.kind,
            n.grant,
            n.facts
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_compare_across_dashes_and_case() {
        assert!(same_grant(
            "Management API\u{2014}Users read and write",
            "management api - users read and write"
        ));
        assert!(same_grant("read_users", "READ_USERS"));
        assert!(!same_grant("read_users", "read_script_tags"));
    }

    #[test]
    fn excess_and_missing_follow_the_table() {
        let granted = vec![
            "Management API \u{2013} API credentials read and write".to_string(),
            "Checkout webservice role".to_string(),
        ];
        assert_eq!(excess("adyen", &granted), vec!["Checkout webservice role"]);
        assert_eq!(
            missing("adyen", &granted),
            vec!["Management API\u{2014}Users read and write"]
        );
        // A vendor without audit observations: everything is excess.
        assert_eq!(excess("stripe", &granted).len(), 2);
    }

    #[test]
    fn every_row_names_facts_and_a_known_connector() {
        assert!(!table().is_empty());
        for n in table() {
            assert!(crate::vendors::connector(n.vendor).is_some(), "{n:?}");
            assert!(!n.facts.is_empty(), "{n:?}");
            assert!(n.missing_reason().contains(n.grant));
        }
    }
}
