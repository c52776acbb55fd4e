//! Every YAML call of the program, so swapping the YAML library is a one-file change.
//!
//! serde-saphyr is used because it reports line/column with snippets and rejects duplicate
//! map keys (the serde_yaml family silently keeps the last one).

use serde::de::DeserializeOwned;

/// A YAML error with its 1-based position, when known. The message never contains the
/// offending scalar value (it may be a secret).
#[derive(Debug, Clone)]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Deserialises a document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let (line, column) = match e.location() {
            Some(loc) => (Some(loc.line() as usize), Some(loc.column() as usize)),
            None => (None, None),
        };
        YamlError {
            line,
            column,
            message: e.to_string(),
        }
    })
}

/// A deserialised value with the position it was written at (policy files need it to point
/// CEL errors at the exact line and column).
pub use serde_saphyr::Spanned;

/// 1-based (line, column) of a spanned value.
pub fn position<T>(s: &Spanned<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}
