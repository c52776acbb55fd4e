//! Personal-data categories, and the mapping from a vendor's field names (never values) to them.
//!
//! The inventory declares what each vendor receives (`data_shared: [email]`). A vendor schema
//! read without reading any record, such as Iterable's `GET /api/users/getFields`, shows which
//! fields the vendor actually holds. This module turns those field names into the same
//! category words, so a rule can compare "declared" and "observed".
//!
//! The default mapping covers common spellings: `firstName`, `first_name`, `FNAME`,
//! `phoneNumber`, `shippingAddress.city`, `dob`. A user changes it with the inventory's
//! `field_categories` (a field name → a category, or `none` to ignore a field).

use std::collections::BTreeMap;

/// The categories, with what each covers. `data_shared` values outside this list are allowed
/// (a declaration may be finer or coarser), but observed categories always come from here.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("email", "e-mail address"),
    ("first_name", "given name"),
    ("last_name", "family name"),
    ("name", "full or display name of a person"),
    ("phone", "telephone or mobile number"),
    (
        "postal_address",
        "street, city, postcode or a whole postal address",
    ),
    ("date_of_birth", "birth date or birthday"),
    ("gender", "gender"),
    ("ip_address", "IP address"),
    ("order_history", "orders, purchases or cart contents"),
    ("payment_card", "card number or card details"),
    ("locale", "language or locale"),
];

/// The value of `field_categories` that drops a field from the observed categories.
pub const IGNORE: &str = "none";

/// Default words, compared with a field-name segment reduced to lowercase letters and digits.
const WORDS: &[(&str, &[&str])] = &[
    ("email", &["email", "emailaddress", "mail", "emailaddr"]),
    (
        "first_name",
        &["firstname", "givenname", "fname", "forename"],
    ),
    ("last_name", &["lastname", "surname", "familyname", "lname"]),
    (
        "name",
        &["fullname", "customername", "displayname", "username"],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "cellphone",
            "telephone",
            "tel",
            "msisdn",
        ],
    ),
    (
        "postal_address",
        &[
            "address",
            "address1",
            "address2",
            "addressline1",
            "addressline2",
            "street",
            "streetaddress",
            "city",
            "zip",
            "zipcode",
            "postcode",
            "postalcode",
            "shippingaddress",
            "billingaddress",
            "homeaddress",
            "mailingaddress",
        ],
    ),
    (
        "date_of_birth",
        &["dob", "dateofbirth", "birthdate", "birthday"],
    ),
    ("gender", &["gender", "sex"]),
    ("ip_address", &["ip", "ipaddress", "lastip"]),
    (
        "order_history",
        &[
            "orders",
            "orderhistory",
            "purchasehistory",
            "purchases",
            "lastorder",
            "lastpurchase",
            "cart",
            "cartitems",
            "shoppingcartitems",
        ],
    ),
    (
        "payment_card",
        &["cardnumber", "creditcard", "pan", "cardlast4"],
    ),
    ("locale", &["locale", "language", "preferredlanguage"]),
];

/// Segments that make every field below them part of a category (`shippingAddress.city`).
const PARENTS: &[(&str, &[&str])] = &[(
    "postal_address",
    &[
        "address",
        "shippingaddress",
        "billingaddress",
        "homeaddress",
        "mailingaddress",
    ],
)];

fn squash(segment: &str) -> String {
    segment
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The mapping in force: the defaults, then the user's `field_categories`.
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    /// Exact field name (as the vendor spells it, case-insensitive) → category or `none`.
    overrides: BTreeMap<String, String>,
}

impl FieldMap {
    /// With the user's overrides (field name → category or `none`); the caller has checked
    /// each category against [`CATEGORIES`] (see [`is_category`]).
    pub fn new(overrides: &BTreeMap<String, String>) -> Self {
        FieldMap {
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        }
    }

    /// The category of one field name (`shippingAddress.city` → `postal_address`), if any.
    pub fn category(&self, field: &str) -> Option<&'static str> {
        if let Some(c) = self.overrides.get(&field.to_ascii_lowercase()) {
            return CATEGORIES
                .iter()
                .find(|(name, _)| name == c)
                .map(|(name, _)| *name);
        }
        let segments: Vec<String> = field.split(['.', '/']).map(squash).collect();
        let last = segments.last()?;
        if let Some((cat, _)) = WORDS.iter().find(|(_, w)| w.contains(&last.as_str())) {
            return Some(cat);
        }
        let parents = &segments[..segments.len() - 1];
        PARENTS
            .iter()
            .find(|(_, w)| parents.iter().any(|p| w.contains(&p.as_str())))
            .map(|(cat, _)| *cat)
    }

    /// The categories of a schema's field names, with the fields behind each (sorted).
    pub fn categorise<'a>(
        &self,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<&'static str, Vec<String>> {
        let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for f in fields {
            if let Some(c) = self.category(f) {
                out.entry(c).or_default().push(f.to_string());
            }
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
        out
    }
}

/// Whether `name` is a category of [`CATEGORIES`] or [`IGNORE`].
pub fn is_category(name: &str) -> bool {
    name == IGNORE || CATEGORIES.iter().any(|(c, _)| *c == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_spellings_map_to_their_category() {
        let m = FieldMap::default();
        for (field, cat) in [
            ("email", "email"),
            ("firstName", "first_name"),
            ("first_name", "first_name"),
            ("FNAME", "first_name"),
            ("lastName", "last_name"),
            ("phoneNumber", "phone"),
            ("mobile_phone", "phone"),
            ("shippingAddress.city", "postal_address"),
            ("billingAddress.line1", "postal_address"),
            ("address.zip", "postal_address"),
            ("postalCode", "postal_address"),
            ("dateOfBirth", "date_of_birth"),
            ("dob", "date_of_birth"),
            ("shoppingCartItems", "order_history"),
            ("ipAddress", "ip_address"),
        ] {
            assert_eq!(m.category(field), Some(cat), "{field}");
        }
        for field in [
            "userId",
            "signupDate",
            "emailListIds",
            "profileUpdatedAt",
            "campaignName",
            "itemCount",
        ] {
            assert_eq!(m.category(field), None, "{field}");
        }
    }

    #[test]
    fn overrides_win_and_none_ignores() {
        let mut o = BTreeMap::new();
        o.insert("custAddr".to_string(), "postal_address".to_string());
        o.insert("phoneNumber".to_string(), IGNORE.to_string());
        let m = FieldMap::new(&o);
        assert_eq!(m.category("CUSTADDR"), Some("postal_address"));
        assert_eq!(m.category("phoneNumber"), None);
        let got = m.categorise(["email", "custAddr", "phoneNumber", "firstName"]);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            vec!["email", "first_name", "postal_address"]
        );
        assert!(is_category("postal_address") && is_category("none"));
        assert!(!is_category("postal"));
    }
}
