//! The guard: the one place that decides what may leave the process.
//!
//! It sits below both the scanner and the report layer, and every output path goes through it:
//!
//! - [`filter::Redactor`] — the fail-closed output filter. Every secret value the run knows
//!   (sourced keys, detected keys, known-value hits, vendor-echoed fragments) is registered
//!   with it, and every byte bound for a terminal, log, report or transcript passes through
//!   [`filter::Redactor::filter`], which finds the secrets in a *decoded view* of the text (so
//!   any mix of JSON, percent, HTML-entity and backslash escapes, hex in either case, base64 at
//!   any alignment, keys split across lines and fragments of a key are masked alike).
//! - [`sanitize`] — the one sanitiser for text that came from outside (scanned paths and URLs,
//!   source-map fields, vendor response fields, inventory strings): ANSI/OSC/C0/C1 controls,
//!   bidi overrides, CR/LF and CI workflow commands. [`sanitize::Clean`] is the type every
//!   renderer takes: it can only be built by passing every string of a document through the
//!   sanitiser and the URL redactor, so a new format or a new field cannot skip them.
//! - [`url`] — the one URL-redaction function: userinfo is never kept, and query or fragment
//!   values carrying a secret are replaced.

pub mod filter;
pub mod sanitize;
pub mod url;

pub use filter::{Matcher, Redactor, encoded_forms};
pub use sanitize::{Clean, sanitize_line, sanitize_text};
pub use url::url_origin;
