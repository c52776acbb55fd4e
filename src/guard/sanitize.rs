//! The one sanitiser for text that came from outside, and [`Clean`], the type every renderer
//! takes.
//!
//! Outside text — scanned paths and URLs, source-map fields, vendor response fields, inventory
//! strings, file names in errors — may carry terminal escapes (ANSI CSI, OSC window titles and
//! hyperlinks), C0/C1 controls, bidirectional overrides, line breaks followed by CI workflow
//! commands (`::set-env …`, `::error …`, `##vso[…]`) or URL userinfo. [`sanitize_line`] removes
//! or defuses all of them; [`Clean::new`] applies it, with the URL redactor, to **every string
//! of a document** through its serde form, so a renderer that takes `&Clean<Run>` cannot see an
//! unsanitised field, whatever fields or formats are added later.

use std::borrow::Cow;
use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::url;
use crate::guard::Redactor;

/// Zero-width space: inserted between the two colons of `::` and after `##` so that no CI
/// system reads a workflow command, while the text still reads the same.
const ZWSP: char = '\u{200b}';

/// Sanitises a single-line field: escapes and controls removed, CR/LF become a space,
/// workflow commands defused.
pub fn sanitize_line(s: &str) -> Cow<'_, str> {
    sanitize(s, false)
}

/// Sanitises multi-line text (diagnostics): as [`sanitize_line`] but line feeds are kept; every
/// line is defused, so no line can start a workflow command.
pub fn sanitize_text(s: &str) -> Cow<'_, str> {
    sanitize(s, true)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn needs_work(s: &str) -> bool {
    // One pass over ASCII (nearly every string of a run); from the first non-ASCII byte on,
    // the character-level checks.
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b':' | b'#' if b.get(i + 1) == Some(&c) => return true,
            0x00..=0x08 | 0x0a..=0x1f | 0x7f => return true,
            0x80.. => {
                let rest = &s[i..];
                return rest.contains("::")
                    || rest.contains("##")
                    || rest
                        .chars()
                        .any(|c| (c.is_control() && c != '\t') || is_bidi(c));
            }
            _ => {}
        }
    }
    false
}

fn sanitize(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !needs_work(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters and intermediates up to a final byte.
                Some('[') => {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' || n == '\u{9c}' {
                            break;
                        }
                        if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push(' '),
            '\r' => {
                if !keep_newlines && chars.peek() != Some(&'\n') {
                    out.push(' ');
                }
            }
            '\t' => out.push('\t'),
            c if c.is_control() || is_bidi(c) => {}
            c => out.push(c),
        }
    }
    let defused = out
        .replace("::", &format!(":{ZWSP}:"))
        .replace("##", &format!("#{ZWSP}#"));
    Cow::Owned(defused)
}

/// A document whose every string has passed [`sanitize_line`] and [`url::redact_in_text`].
///
/// The only constructor is [`Clean::new`]; renderers take `&Clean<T>` and read it through
/// `Deref`.
#[derive(Debug, Clone)]
pub struct Clean<T>(T);

impl<T: Serialize + DeserializeOwned> Clean<T> {
    /// Sanitises every string (object keys included) of `doc`'s serde form. Query and fragment
    /// values of URLs that carry a secret the `redactor` knows are replaced.
    ///
    /// The strings are sanitised as `doc` is serialised (by [`Cleaning`], the JSON formatter
    /// every string passes through, object keys included) and the document is read back from
    /// that compact JSON: one pass, and no tree of values the size of a large run.
    pub fn new(doc: &T, redactor: &Redactor) -> Result<Self, serde_json::Error> {
        clean_doc(doc, redactor).map(Clean)
    }
}

/// Items per chunk when a run's long lists are cleaned in parallel.
const CHUNK_ITEMS: usize = 512;

impl Clean<crate::run::Run> {
    /// [`Clean::new`] for a run the caller is done with: its long lists (exposures, their
    /// facts, findings, outcomes) are cleaned in parallel chunks, the rest of the document as
    /// one, each kept as it is when [`is_clean`] finds no string in it to rewrite, and written
    /// through the same [`Cleaning`] formatter, object keys included, when it does; the result
    /// is the one [`Clean::new`] gives.
    pub fn of_run(
        mut run: crate::run::Run,
        redactor: &Redactor,
    ) -> Result<Self, serde_json::Error> {
        let exposures = std::mem::take(&mut run.exposures);
        let findings = std::mem::take(&mut run.findings);
        let outcomes = std::mem::take(&mut run.outcomes);
        let facts = std::mem::take(&mut run.facts.exposures);
        let ((shell, facts), (exposures, (findings, outcomes))) = rayon::join(
            || {
                rayon::join(
                    || clean_owned(run, redactor),
                    || clean_list(facts, redactor),
                )
            },
            || {
                rayon::join(
                    || clean_list(exposures, redactor),
                    || {
                        rayon::join(
                            || clean_list(findings, redactor),
                            || clean_list(outcomes, redactor),
                        )
                    },
                )
            },
        );
        let mut clean = shell?;
        clean.facts.exposures = facts?;
        clean.exposures = exposures?;
        clean.findings = findings?;
        clean.outcomes = outcomes?;
        Ok(Clean(clean))
    }
}

/// `items` with every string cleaned, chunk by chunk in parallel. A chunk in which no string
/// changes (most of a run: paths, rule ids, fingerprints) keeps its items as they are, found
/// by [`is_clean`] without writing it out; only a chunk with a string to rewrite is written
/// through [`Cleaning`] and read back from its cleaned JSON.
fn clean_list<T>(items: Vec<T>, redactor: &Redactor) -> Result<Vec<T>, serde_json::Error>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    use rayon::prelude::*;
    let cleaned: Vec<Option<Vec<T>>> = items
        .par_chunks(CHUNK_ITEMS)
        .map(|c| {
            if is_clean(c, redactor) {
                return Ok(None);
            }
            let (json, changed) = cleaned_json(c, redactor)?;
            changed.then(|| serde_json::from_slice(&json)).transpose()
        })
        .collect::<Result<_, _>>()?;
    if cleaned.iter().all(Option::is_none) {
        return Ok(items);
    }
    let mut out = Vec::with_capacity(items.len());
    let mut originals = items.into_iter();
    for chunk in cleaned {
        let original = originals.by_ref().take(CHUNK_ITEMS);
        match chunk {
            Some(c) => {
                out.extend(c);
                original.for_each(drop);
            }
            None => out.extend(original),
        }
    }
    Ok(out)
}

/// `doc` cleaned: itself when [`is_clean`], else read back from its cleaned JSON.
fn clean_owned<T: Serialize + DeserializeOwned>(
    doc: T,
    redactor: &Redactor,
) -> Result<T, serde_json::Error> {
    if is_clean(&doc, redactor) {
        return Ok(doc);
    }
    clean_doc(&doc, redactor)
}

/// `doc` serialised through [`Cleaning`] and read back as `D`.
fn clean_doc<S, D>(doc: &S, redactor: &Redactor) -> Result<D, serde_json::Error>
where
    S: Serialize + ?Sized,
    D: DeserializeOwned,
{
    serde_json::from_slice(&cleaned_json(doc, redactor)?.0)
}

/// `doc`'s compact JSON with every string (object keys included) cleaned, and whether any
/// string changed.
fn cleaned_json<S: Serialize + ?Sized>(
    doc: &S,
    redactor: &Redactor,
) -> Result<(Vec<u8>, bool), serde_json::Error> {
    let mut json = Vec::new();
    let changed = std::cell::Cell::new(false);
    let mut ser = serde_json::Serializer::with_formatter(
        &mut json,
        Cleaning {
            redactor,
            string: String::new(),
            in_string: false,
            changed: &changed,
        },
    );
    doc.serialize(&mut ser)?;
    Ok((json, changed.get()))
}

impl<T> Deref for Clean<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The sanitised form of one outside string, as [`Clean`] stores it.
pub fn clean_string(s: &str, redactor: &Redactor) -> String {
    clean_str(s, redactor).into_owned()
}

/// [`clean_string`], borrowing when nothing changes (most strings of a run: no URL, nothing to
/// strip), so cleaning a large run allocates only for the strings it rewrites.
fn clean_str<'a>(s: &'a str, redactor: &Redactor) -> Cow<'a, str> {
    // Text without `://` holds no URL and no userinfo: `redact_in_text` leaves it as it is.
    let s: Cow<'a, str> = if s.contains("://") {
        Cow::Owned(url::redact_in_text(s, redactor))
    } else {
        Cow::Borrowed(s)
    };
    match sanitize_line(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => Cow::Owned(o),
    }
}

/// A compact JSON formatter that holds each string back until it is complete, then writes its
/// [`clean_string`] form.
struct Cleaning<'a> {
    redactor: &'a Redactor,
    /// The string being written (one buffer for all of them).
    string: String,
    in_string: bool,
    /// Set when a string's clean form differs from it.
    changed: &'a std::cell::Cell<bool>,
}

impl serde_json::ser::Formatter for Cleaning<'_> {
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.string.clear();
        self.in_string = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.in_string {
            self.string.push_str(fragment);
            return Ok(());
        }
        writer.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape as E;
        let c = match escape {
            E::Quote => '"',
            E::ReverseSolidus => '\\',
            E::Solidus => '/',
            E::Backspace => '\u{8}',
            E::FormFeed => '\u{c}',
            E::LineFeed => '\n',
            E::CarriageReturn => '\r',
            E::Tab => '\t',
            E::AsciiControl(b) => char::from(b),
        };
        if self.in_string {
            self.string.push(c);
            return Ok(());
        }
        serde_json::ser::CompactFormatter.write_char_escape(writer, escape)
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.in_string = false;
        let clean = clean_str(&self.string, self.redactor);
        if clean != self.string.as_str() {
            self.changed.set(true);
        }
        serde_json::to_writer(writer, clean.as_ref()).map_err(std::io::Error::other)
    }
}

/// Whether every string of `doc`'s serde form is its own [`clean_str`]: the strings
/// [`Cleaning`] sees (values, object keys, struct field and variant names, characters), each
/// checked where it is, with nothing written; the walk stops at the first that is not. Must
/// agree with the `changed` flag of [`cleaned_json`] (tested on documents with a string to
/// rewrite in each of those places).
fn is_clean<S: Serialize + ?Sized>(doc: &S, redactor: &Redactor) -> bool {
    doc.serialize(&mut Inspect { redactor }).is_ok()
}

/// The serializer of [`is_clean`]: an error is the first string to rewrite.
struct Inspect<'a> {
    redactor: &'a Redactor,
}

/// A string to rewrite was found (or a serialisation error: either way, not known clean).
#[derive(Debug)]
struct NotClean;

impl std::fmt::Display for NotClean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string to sanitise")
    }
}

impl std::error::Error for NotClean {}

impl serde::ser::Error for NotClean {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotClean
    }
}

impl Inspect<'_> {
    fn text(&self, s: &str) -> Result<(), NotClean> {
        match clean_str(s, self.redactor) {
            Cow::Borrowed(_) => Ok(()),
            Cow::Owned(o) if o == s => Ok(()),
            Cow::Owned(_) => Err(NotClean),
        }
    }
}

impl<'a, 'r> serde::Serializer for &'a mut Inspect<'r> {
    type Ok = ();
    type Error = NotClean;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_char(self, c: char) -> Result<(), NotClean> {
        self.text(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, s: &str) -> Result<(), NotClean> {
        self.text(s)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), NotClean> {
        // JSON writes bytes as an array of numbers.
        Ok(())
    }
    fn serialize_none(self) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), NotClean> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotClean> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), NotClean> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), NotClean> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), NotClean> {
        self.text(variant)?;
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, NotClean> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, NotClean> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, NotClean> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, NotClean> {
        self.text(variant)?;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, NotClean> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotClean> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, NotClean> {
        self.text(variant)?;
        Ok(self)
    }
}

/// Elements, keys and values of every compound: each visited as [`Inspect`] visits a value.
macro_rules! inspect_elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl serde::ser::$trait for &mut Inspect<'_> {
            type Ok = ();
            type Error = NotClean;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), NotClean> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), NotClean> {
                Ok(())
            }
        }
    )*};
}
inspect_elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl serde::ser::SerializeMap for &mut Inspect<'_> {
    type Ok = ();
    type Error = NotClean;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), NotClean> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), NotClean> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), NotClean> {
        Ok(())
    }
}

/// Struct fields: the field's name is an object key, checked like one.
macro_rules! inspect_fields {
    ($($trait:ident),*) => {$(
        impl serde::ser::$trait for &mut Inspect<'_> {
            type Ok = ();
            type Error = NotClean;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), NotClean> {
                self.text(key)?;
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), NotClean> {
                Ok(())
            }
        }
    )*};
}
inspect_fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes_controls_and_defuses_commands() {
        let s = sanitize_line(
            "a\u{1b}[31mred\u{1b}[0m\u{1b}]0;pwn\u{7}\r\n::set-env name=X::1\u{7}\u{9b}2J\u{202e}x",
        );
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{9b}'));
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert!(!s.contains("::set-env") && !s.contains("::"));
        assert!(!s.contains("pwn") && !s.contains('\u{202e}'));
        assert!(s.contains("red"));
    }

    #[test]
    fn multi_line_text_keeps_lines_but_no_line_starts_a_command() {
        let s = sanitize_text("ok\n::error ::x\n  ::warning::y\r\n##vso[task.setvariable]z");
        for line in s.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line}");
            assert!(!line.contains("##vso["), "{line}");
        }
        assert_eq!(s.lines().count(), 4);
    }

    #[test]
    fn the_ascii_pass_agrees_with_the_character_checks() {
        for s in [
            "",
            "a",
            "a:b",
            "a::b",
            "::",
            "a#b",
            "##",
            "a\tb",
            "a\nb",
            "\u{7f}",
            "é::",
            "é",
            "a\u{85}b",
            "x\u{202e}y",
            "ü#",
            "ü##",
            "ab:",
            "#",
        ] {
            let slow = s.contains("::")
                || s.contains("##")
                || s.chars()
                    .any(|c| (c.is_control() && c != '\t') || is_bidi(c));
            assert_eq!(needs_work(s), slow, "{s:?}");
        }
    }

    /// Quotes, backslashes, tabs and non-ASCII survive the round trip through the cleaning
    /// formatter; line breaks become spaces.
    #[test]
    fn clean_keeps_escaped_characters() {
        let d: Vec<String> = vec![
            "a \"quoted\" \\ path\tand é/€".into(),
            "line\nbreak".into(),
            String::new(),
        ];
        let c = Clean::new(&d, &Redactor::new()).expect("clean");
        assert_eq!(
            *c,
            [
                "a \"quoted\" \\ path\tand é/€".to_string(),
                "line break".to_string(),
                String::new()
            ]
        );
    }

    /// [`is_clean`] says a document is clean exactly when writing it through [`Cleaning`]
    /// changes nothing: for a string to rewrite as a value, a map key, a character, in a
    /// sequence, an option or a tuple, and as a struct field's or a variant's name.
    #[test]
    fn inspecting_agrees_with_cleaning_everywhere_a_string_can_be() {
        #[derive(Serialize)]
        enum Variant {
            #[serde(rename = "unit::v")]
            Unit,
            #[serde(rename = "new::v")]
            New(u8),
            #[serde(rename = "tuple::v")]
            Tuple(u8, u8),
            #[serde(rename = "struct::v")]
            Struct {
                a: u8,
            },
            Plain,
            PlainNew(String),
            PlainStruct {
                text: String,
            },
        }
        #[derive(Serialize)]
        struct Renamed {
            #[serde(rename = "field##name")]
            f: u8,
        }
        #[derive(Serialize)]
        struct Plain {
            text: String,
            list: Vec<Option<String>>,
            pair: (u8, String),
            letter: char,
            keyed: std::collections::BTreeMap<String, u32>,
            numbered: std::collections::BTreeMap<u32, String>,
            bytes: serde_json::Value,
        }
        let redactor = Redactor::new();
        let texts = [
            "plain",
            "é/€ \"quoted\"",
            "a\u{1b}[2Jb",
            "x::set-env y",
            "##vso[x]",
            "line\nbreak",
            "https://u:p@example.test/x",
            "https://example.test/x?q=1",
            "\u{202e}bidi",
        ];
        let mut cases: Vec<(String, Box<dyn erased::Doc>)> = vec![];
        for t in texts {
            let t = t.to_string();
            let plain = |text: String, key: String, letter: char| Plain {
                text,
                list: vec![None, Some("ok".into())],
                pair: (1, "ok".into()),
                letter,
                keyed: [(key, 1)].into(),
                numbered: [(7, "ok".into())].into(),
                bytes: serde_json::json!([1, 2]),
            };
            cases.push((
                format!("value {t:?}"),
                Box::new(plain(t.clone(), "k".into(), 'a')),
            ));
            cases.push((
                format!("key {t:?}"),
                Box::new(plain("ok".into(), t.clone(), 'a')),
            ));
            let mut in_list = plain("ok".into(), "k".into(), 'a');
            in_list.list.push(Some(t.clone()));
            cases.push((format!("list {t:?}"), Box::new(in_list)));
            let mut in_pair = plain("ok".into(), "k".into(), 'a');
            in_pair.pair.1 = t.clone();
            cases.push((format!("pair {t:?}"), Box::new(in_pair)));
            let mut numbered = plain("ok".into(), "k".into(), 'a');
            numbered.numbered.insert(8, t.clone());
            cases.push((format!("numbered {t:?}"), Box::new(numbered)));
            cases.push((
                format!("newtype {t:?}"),
                Box::new(Variant::PlainNew(t.clone())),
            ));
            cases.push((
                format!("struct variant {t:?}"),
                Box::new(Variant::PlainStruct { text: t }),
            ));
        }
        for c in ['a', '\u{1b}', '\n', 'é', '\u{202e}'] {
            cases.push((format!("char {c:?}"), Box::new(c)));
        }
        cases.push(("unit variant".into(), Box::new(Variant::Unit)));
        cases.push(("newtype variant".into(), Box::new(Variant::New(1))));
        cases.push(("tuple variant".into(), Box::new(Variant::Tuple(1, 2))));
        cases.push(("struct variant".into(), Box::new(Variant::Struct { a: 1 })));
        cases.push(("plain variant".into(), Box::new(Variant::Plain)));
        cases.push(("field name".into(), Box::new(Renamed { f: 1 })));
        let mut dirty = 0;
        for (name, doc) in &cases {
            let (_, changed) = doc.cleaned(&redactor);
            dirty += usize::from(changed);
            assert_eq!(doc.clean(&redactor), !changed, "{name}");
        }
        // Both verdicts occur: most of the hostile texts in every place, and every renamed name.
        assert!(
            dirty > cases.len() / 2 && dirty < cases.len(),
            "{dirty} of {}",
            cases.len()
        );
    }

    /// Object-safe access to [`is_clean`] and [`cleaned_json`] for documents of any type.
    mod erased {
        use super::super::{Redactor, cleaned_json, is_clean};
        pub trait Doc {
            fn clean(&self, r: &Redactor) -> bool;
            fn cleaned(&self, r: &Redactor) -> (Vec<u8>, bool);
        }
        impl<T: serde::Serialize> Doc for T {
            fn clean(&self, r: &Redactor) -> bool {
                is_clean(self, r)
            }
            fn cleaned(&self, r: &Redactor) -> (Vec<u8>, bool) {
                cleaned_json(self, r).expect("json")
            }
        }
    }

    /// A run cleaned by parts in parallel is the run cleaned whole.
    #[test]
    fn a_run_cleaned_in_parallel_chunks_is_the_run_cleaned_whole() {
        let mut run = crate::run::Run::new("scan", "check");
        let text = serde_json::to_string(&run).expect("json");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("value");
        v["warnings"] = serde_json::json!(["w\u{1b}[2J::error::x"]);
        run = serde_json::from_value(v).expect("run");
        // Only the second chunk holds strings to rewrite: the others are kept as they are.
        let exposure = |i: usize| {
            let (path, url) = match i / CHUNK_ITEMS {
                1 => (
                    format!("dist/a{i}.js\n::set-env x"),
                    "https://u:p@example.test/x",
                ),
                _ => (format!("dist/a{i}.js"), "https://example.test/x"),
            };
            serde_json::json!({
                "id": format!("exp-{i}"), "rule": "stripe.secret_key", "vendor": "stripe",
                "credential_type": "secret_key", "public_by_design": false,
                "location": {"path": path, "line": 1, "column": 1, "url": url},
                "source": "artifact",
                "evidence": {"fingerprint": "f", "redacted": "sk_live_…abcd"},
                "confidence": "high", "inventory_key": null, "observed_at": "2026-01-01T00:00:00Z"
            })
        };
        let exposures: Vec<crate::run::Exposure> = (0..CHUNK_ITEMS * 2 + 3)
            .map(|i| serde_json::from_value(exposure(i)).expect("exposure"))
            .collect();
        // The exposures' facts (a list of their own) name the same paths.
        run.facts =
            crate::facts::build(None, &[], &exposures, &crate::facts::RunContext::default());
        run.exposures = exposures;
        let r = Redactor::new();
        // With a string to rewrite outside the lists too, and without one (the rest of the
        // run is then kept as it is).
        for warning in ["w\u{1b}[2J::error::x", "plain warning"] {
            let mut run = run.clone();
            run.warnings = vec![warning.into()];
            let whole =
                serde_json::to_string(&*Clean::new(&run, &r).expect("whole")).expect("json");
            let parts =
                serde_json::to_string(&*Clean::of_run(run, &r).expect("parts")).expect("json");
            assert_eq!(whole, parts);
            assert!(
                !parts.contains("::set-env") && !parts.contains("u:p@"),
                "{parts}"
            );
            assert!(!parts.contains("::error"));
        }
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            sanitize_line("A.5.9 https://x.test/a:b"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn clean_reaches_every_string_and_key() {
        #[derive(Serialize, serde::Deserialize, Debug)]
        struct Doc {
            a: String,
            nested: Vec<std::collections::BTreeMap<String, Option<String>>>,
        }
        let mut m = std::collections::BTreeMap::new();
        m.insert("k\u{1b}[2J".to_string(), Some("\n::error::x".to_string()));
        let d = Doc {
            a: "http://alice:pw@127.0.0.1/x".into(),
            nested: vec![m],
        };
        let c = Clean::new(&d, &Redactor::new()).expect("clean");
        let text = serde_json::to_string(&*c).expect("json");
        assert!(!text.contains("\\u001b") && !text.contains("\\n") && !text.contains("::"));
        assert!(!text.contains("alice") && !text.contains("pw@"), "{text}");
    }
}
