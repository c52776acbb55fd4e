//! A vendor's contract (`src/vendors/<vendor>/contract.json`, generated from the vendor's own
//! API specification by `tools/contracts.py`) as the emulators use it: which paths exist and
//! which query parameters each takes, with their types, bounds and enums. An emulator checks
//! every request against it and answers a violation with the vendor's own 400, so the
//! emulators reject exactly what the contract says the real API rejects, from one table.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The parts of a contract file the emulators need.
#[derive(Debug, Clone, Deserialize)]
pub struct Contract {
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of the contract.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub method: String,
    /// Path template: `/v1/quotes/{quote}`, `/admin/api/{version}/shop.json`.
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, Param>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub path_params: BTreeMap<String, Param>,
}

/// One query or path parameter (flattened: `created[gte]`, `expand[]`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Param {
    #[serde(rename = "type", default)]
    pub ty: Option<String>,
    #[serde(rename = "enum", default)]
    pub allowed: Option<Vec<String>>,
    #[serde(default)]
    pub minimum: Option<i64>,
    #[serde(default)]
    pub maximum: Option<i64>,
    #[serde(rename = "maxLength", default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub pattern: Option<String>,
}

/// Why a request breaks the contract (the emulator turns it into the vendor's 400 or 404).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// No endpoint of the contract has this method and path.
    NoSuchPath,
    /// A path parameter outside its pattern (e.g. an unsupported Shopify API version).
    BadPathValue {
        name: String,
        value: String,
    },
    UnknownParameter(String),
    NotAnInteger {
        name: String,
        value: String,
    },
    NotABoolean {
        name: String,
        value: String,
    },
    OutOfRange {
        name: String,
        value: i64,
    },
    NotInEnum {
        name: String,
        value: String,
    },
    TooLong(String),
    MissingRequired(String),
}

impl Violation {
    /// The parameter the violation is about, if any.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Violation::NoSuchPath => None,
            Violation::BadPathValue { name, .. }
            | Violation::NotAnInteger { name, .. }
            | Violation::NotABoolean { name, .. }
            | Violation::OutOfRange { name, .. }
            | Violation::NotInEnum { name, .. } => Some(name),
            Violation::UnknownParameter(n)
            | Violation::TooLong(n)
            | Violation::MissingRequired(n) => Some(n),
        }
    }
}

impl Contract {
    /// Parses a contract file; a broken file is a bug of the build, reported by the tests.
    pub fn parse(text: &str) -> Result<Contract, String> {
        serde_json::from_str(text).map_err(|e| format!("contract: {e}"))
    }

    /// The endpoint serving `method path` and the values of its path parameters.
    pub fn endpoint(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&Endpoint, BTreeMap<String, String>)> {
        self.endpoints
            .iter()
            .filter(|e| e.method.eq_ignore_ascii_case(method) || method == "HEAD")
            .find_map(|e| e.matches(path).map(|vars| (e, vars)))
    }

    /// Checks one request: its path exists, its path values fit, its query is allowed.
    pub fn check(&self, method: &str, path: &str, query: Option<&str>) -> Result<(), Violation> {
        let (e, vars) = self.endpoint(method, path).ok_or(Violation::NoSuchPath)?;
        for (name, value) in &vars {
            let fits = e
                .path_params
                .get(name)
                .and_then(|p| p.pattern.as_deref())
                .and_then(|p| regex::Regex::new(p).ok())
                .is_none_or(|re| re.is_match(value));
            if !fits {
                return Err(Violation::BadPathValue {
                    name: name.clone(),
                    value: value.clone(),
                });
            }
        }
        e.check_query(query)
    }
}

impl Endpoint {
    /// The path parameters when `path` fits this endpoint's template.
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let want: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        if want.len() != got.len() {
            return None;
        }
        let mut vars = BTreeMap::new();
        for (w, g) in want.iter().zip(&got) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => {
                    vars.insert(name.to_string(), g.to_string());
                }
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            }
        }
        Some(vars)
    }

    /// Checks a raw query string: every parameter known and well-formed, required ones present.
    pub fn check_query(&self, query: Option<&str>) -> Result<(), Violation> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        for (key, value) in &pairs {
            let param = self
                .param(key)
                .ok_or_else(|| Violation::UnknownParameter(key.clone()))?;
            param.check(key, value)?;
        }
        for r in &self.required {
            if !pairs
                .iter()
                .any(|(k, _)| k == r || k.starts_with(&format!("{r}[")))
            {
                return Err(Violation::MissingRequired(r.clone()));
            }
        }
        Ok(())
    }

    /// The parameter `key` names: exact (`created[gte]`), or an array item (`expand[0]` →
    /// `expand[]`).
    fn param(&self, key: &str) -> Option<&Param> {
        self.query.get(key).or_else(|| {
            let (name, rest) = key.split_once('[')?;
            let index = rest.strip_suffix(']')?;
            index
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| self.query.get(&format!("{name}[]")))
                .flatten()
        })
    }
}

impl Param {
    fn check(&self, key: &str, value: &str) -> Result<(), Violation> {
        match self.ty.as_deref() {
            Some("integer") => {
                let n: i64 = value.parse().map_err(|_| Violation::NotAnInteger {
                    name: key.to_string(),
                    value: value.to_string(),
                })?;
                if self.minimum.is_some_and(|m| n < m) || self.maximum.is_some_and(|m| n > m) {
                    return Err(Violation::OutOfRange {
                        name: key.to_string(),
                        value: n,
                    });
                }
            }
            Some("boolean") if value != "true" && value != "false" => {
                return Err(Violation::NotABoolean {
                    name: key.to_string(),
                    value: value.to_string(),
                });
            }
            _ => {}
        }
        if self.max_length.is_some_and(|m| value.chars().count() > m) {
            return Err(Violation::TooLong(key.to_string()));
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == value)
        {
            return Err(Violation::NotInEnum {
                name: key.to_string(),
                value: value.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = r#"{"endpoints":[
      {"method":"GET","path":"/v1/files","query":{
        "limit":{"type":"integer","minimum":1,"maximum":100},
        "created[gte]":{"type":"integer"},
        "expand[]":{"type":"string","maxLength":8},
        "purpose":{"type":"string","enum":["a","b"]}}},
      {"method":"GET","path":"/v1/quotes/{quote}"},
      {"method":"GET","path":"/admin/api/{version}/shop.json","query":{"fields":{"type":"string"}},
       "path_params":{"version":{"type":"string","pattern":"^[0-9]{4}-(01|04|07|10)$"}}},
      {"method":"GET","path":"/api/export/data.json","required":["dataTypeName"],
       "query":{"dataTypeName":{"type":"string","enum":["user"]}}}
    ]}"#;

    #[test]
    fn requests_are_held_to_the_contract() {
        let c = Contract::parse(C).expect("contract");
        let ok = |p: &str, q: Option<&str>| c.check("GET", p, q);
        assert_eq!(
            ok(
                "/v1/files",
                Some("limit=1&created%5Bgte%5D=5&expand[0]=x&purpose=a")
            ),
            Ok(())
        );
        assert_eq!(ok("/v1/quotes/qt_1", None), Ok(()));
        assert_eq!(ok("/v1/quotes", None), Err(Violation::NoSuchPath));
        assert_eq!(
            ok("/v1/files", Some("nope=1")),
            Err(Violation::UnknownParameter("nope".into()))
        );
        assert!(matches!(
            ok("/v1/files", Some("limit=x")),
            Err(Violation::NotAnInteger { .. })
        ));
        assert!(matches!(
            ok("/v1/files", Some("limit=101")),
            Err(Violation::OutOfRange { .. })
        ));
        assert!(matches!(
            ok("/v1/files", Some("purpose=c")),
            Err(Violation::NotInEnum { .. })
        ));
        assert_eq!(
            ok("/v1/files", Some("expand[]=123456789")),
            Err(Violation::TooLong("expand[]".into()))
        );
        assert_eq!(
            ok("/admin/api/2025-10/shop.json", Some("fields=id")),
            Ok(())
        );
        assert!(matches!(
            ok("/admin/api/1999-13/shop.json", None),
            Err(Violation::BadPathValue { .. })
        ));
        assert_eq!(
            ok("/api/export/data.json", None),
            Err(Violation::MissingRequired("dataTypeName".into()))
        );
        assert_eq!(
            c.check("POST", "/v1/files", None),
            Err(Violation::NoSuchPath)
        );
    }
}
