//! The project configuration file (`vendorscope.yaml` or `.vendorscope.yaml`): found from the
//! current folder upward (stopping at the repository root, a folder with `.git`, or the
//! filesystem root), or named with `--config FILE`; `--no-config` ignores it.
//!
//! It names what every run of `audit` and `scan` would otherwise repeat: the inventory, policy
//! files, exceptions, the gate (`fail_on`, `allow_incomplete`), report outputs and scan
//! settings. Flags given on the command line win; relative paths are relative to the file's
//! folder. Every value keeps where it came from (flag, `FILE:LINE`, default) for
//! `vendorscope config`.
//!
//! The file is as editable in a pull request as the inventory, so whatever in it lets a finding
//! through (excluded paths, exceptions, a higher `fail_on`, `allow_incomplete`, a longer
//! exception lifetime) is reported like a weakened built-in rule: a warning in the run, and a
//! configuration error (exit 2, nothing evaluated) under `--deny-weakened-rules`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::cli::{Command, ConfigFileArgs, GateArgs, GlobalArgs, PolicyArgs};
use crate::diag::{Diagnostics, code};
use crate::report::{Format, OutputSpec};
use crate::run::Severity;

/// The names looked for in each folder, in this order.
pub const FILE_NAMES: [&str; 2] = ["vendorscope.yaml", ".vendorscope.yaml"];

/// The configuration file (`vendorscope config schema` prints this as a JSON Schema).
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConfigurationFile")]
pub struct RawConfig {
    /// Format version: 1.
    pub version: u32,
    /// The inventory (`audit -i`, `scan -i`).
    pub inventory: Option<PathBuf>,
    /// User policy files merged over the built-in pack (`--policy`).
    pub policies: Option<Vec<PathBuf>>,
    /// Exceptions file (`--exceptions`). Reported as a weakening: waived findings pass.
    pub exceptions: Option<PathBuf>,
    /// Longest accepted exception lifetime in days (`--max-exception-days`, default 180); more
    /// than the default is reported as a weakening.
    pub max_exception_days: Option<i64>,
    /// Exceptions that match nothing are an error (`--deny-unused-exceptions`).
    pub deny_unused_exceptions: Option<bool>,
    /// A policy or configuration that weakens the gate is an error (`--deny-weakened-rules`).
    pub deny_weakened_rules: Option<bool>,
    /// Fail on any failing finding at or above this severity, not only `block` rules
    /// (`--fail-on`); above `low` it is reported as a weakening.
    pub fail_on: Option<Severity>,
    /// Exit 0 instead of 3 when something could not be checked (`--allow-incomplete`);
    /// reported as a weakening.
    pub allow_incomplete: Option<bool>,
    /// Extra detector rule files (`--detectors`).
    pub detectors: Option<Vec<PathBuf>>,
    /// Reports written by `audit` and `scan` (`--output FORMAT=PATH`), one path per format.
    pub outputs: Option<Outputs>,
    /// Settings of `scan`.
    pub scan: Option<ScanSettings>,
}

/// Report files, by format (`-` = standard output).
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(rename = "ConfigOutputs")]
pub struct Outputs {
    pub table: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub github: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub ocsf: Option<PathBuf>,
}

impl Outputs {
    fn specs(&self) -> Vec<(Format, &PathBuf)> {
        [
            (Format::Table, &self.table),
            (Format::Json, &self.json),
            (Format::Sarif, &self.sarif),
            (Format::Junit, &self.junit),
            (Format::Github, &self.github),
            (Format::Markdown, &self.markdown),
            (Format::Html, &self.html),
            (Format::Ocsf, &self.ocsf),
        ]
        .into_iter()
        .filter_map(|(f, p)| p.as_ref().map(|p| (f, p)))
        .collect()
    }
}

/// `scan` settings.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(rename = "ConfigScan")]
pub struct ScanSettings {
    /// Paths skipped (`--exclude GLOB`); reported as a weakening.
    pub exclude: Option<Vec<String>>,
    /// Pages crawled at most per URL (`--max-pages`).
    pub max_pages: Option<usize>,
    /// Link depth from each URL (`--max-depth`).
    pub max_depth: Option<u32>,
    /// Wall-clock budget of each crawl (`--max-duration`: `90s`, `10m`).
    pub max_duration: Option<String>,
}

/// The JSON Schema of the configuration file (`vendorscope config schema`).
pub fn schema() -> Json {
    serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default()
}

/// A loaded, valid configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as shown to the user (`vendorscope.yaml`, `../vendorscope.yaml`).
    pub file: String,
    /// Its folder: relative paths in it are relative to this.
    pub dir: PathBuf,
    pub raw: RawConfig,
    /// Field path (`scan.exclude`) → 1-based line and column.
    spans: HashMap<String, (usize, usize)>,
}

impl Config {
    /// Loads and validates `path`: every problem as `FILE:LINE:COL` with a did-you-mean.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics::bare(
                &name,
                code::IO,
                format!("cannot read the file: {}", e.kind()),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self::from_str(&name, &text, dir)
    }

    /// Parses configuration text named `name` whose relative paths start at `dir`.
    pub fn from_str(name: &str, text: &str, dir: PathBuf) -> Result<Config, Diagnostics> {
        let mut d = Diagnostics::for_file(name);
        d.add_source(name, text, &[]);
        let mut spans = HashMap::new();
        let raw: Option<RawConfig> = crate::policy::parse_checked_spans(
            name,
            text,
            schema(),
            ("configuration file", "`version: 1`"),
            &mut d,
            &mut spans,
        );
        let Some(raw) = raw else {
            return Err(d);
        };
        let cfg = Config {
            file: name.to_string(),
            dir,
            raw,
            spans,
        };
        cfg.check(&mut d);
        if d.is_empty() { Ok(cfg) } else { Err(d) }
    }

    /// The values the schema cannot check.
    fn check(&self, d: &mut Diagnostics) {
        let r = &self.raw;
        if r.version != 1 {
            d.push(
                &self.file,
                self.pos("version"),
                "unsupported version (expected 1)",
            );
        }
        if let Some(n) = r.max_exception_days
            && n <= 0
        {
            d.push(
                &self.file,
                self.pos("max_exception_days"),
                format!("`max_exception_days` must be at least 1, found {n}"),
            );
        }
        let scan = r.scan.clone().unwrap_or_default();
        if let Some(s) = &scan.max_duration
            && let Err(e) = crate::cli::parse_duration(s)
        {
            d.push(&self.file, self.pos("scan.max_duration"), e);
        }
        if scan.max_pages == Some(0) {
            let at = self.pos("scan.max_pages");
            d.push(&self.file, at, "`max_pages` must be at least 1");
        }
        // Reports land below the file's folder: a file from a pull request must not make a
        // run overwrite what lies elsewhere (a workflow, a script, a home folder).
        for (format, p) in r.outputs.clone().unwrap_or_default().specs() {
            let escapes = p.is_absolute()
                || p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir));
            if escapes {
                d.push(
                    &self.file,
                    self.pos(&format!("outputs.{}", format.name())),
                    format!(
                        "`outputs.{}` must be a path below the configuration file's folder (or `-`); give other places with --output",
                        format.name()
                    ),
                );
            }
        }
        for (i, g) in scan.exclude.iter().flatten().enumerate() {
            if let Err(e) = crate::exposure::walk::excludes(std::slice::from_ref(g)) {
                let key = format!("scan.exclude[{i}]");
                d.push(&self.file, self.pos(&key), e.replacen("--exclude ", "", 1));
            }
        }
    }

    /// Where a field was written (1, 1 when unknown).
    fn pos(&self, key: &str) -> (usize, usize) {
        self.spans.get(key).copied().unwrap_or((1, 1))
    }

    /// A path of the file, relative to the file's folder.
    fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() || p.as_os_str() == "-" || self.dir == Path::new(".") {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

/// Looks for the configuration file from `cwd` upward, stopping after the repository root (a
/// folder with `.git`) or the filesystem root. The path is relative to `cwd` (`../x.yaml`).
pub fn discover(cwd: &Path) -> Result<Option<PathBuf>, String> {
    let mut up = PathBuf::new();
    for dir in cwd.ancestors() {
        let found: Vec<&str> = FILE_NAMES
            .iter()
            .copied()
            .filter(|n| dir.join(n).is_file())
            .collect();
        match found.as_slice() {
            [one] => return Ok(Some(up.join(one))),
            [a, b, ..] => {
                return Err(format!(
                    "both {} and {} exist; keep one (or name it with --config FILE)",
                    up.join(a).display(),
                    up.join(b).display()
                ));
            }
            [] => {}
        }
        if dir.join(".git").exists() {
            break;
        }
        up.push("..");
    }
    Ok(None)
}

/// Why the configuration could not be used (exit 2).
pub enum LoadError {
    /// The file's diagnostics.
    Invalid(Diagnostics),
    /// Discovery failed (two files, unreadable folder).
    Other(String),
}

/// The configuration the flags select: none with `--no-config`, `--config FILE`, or the
/// discovered file.
pub fn resolve(args: &ConfigFileArgs) -> Result<Option<Config>, LoadError> {
    if args.no_config {
        return Ok(None);
    }
    let path = match &args.config {
        Some(p) => p.clone(),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| LoadError::Other(format!("cannot read the current folder: {e}")))?;
            match discover(&cwd).map_err(LoadError::Other)? {
                Some(p) => p,
                None => return Ok(None),
            }
        }
    };
    Config::load(&path).map(Some).map_err(LoadError::Invalid)
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Given on the command line.
    Flag,
    /// From the configuration file.
    File {
        file: String,
        line: usize,
        column: usize,
    },
    /// Not given anywhere.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::File { file, line, .. } => write!(f, "{file}:{line}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One effective setting: its configuration key, value and source.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: Json,
    pub source: Source,
}

/// Something in the configuration file that lets findings through the gate.
#[derive(Debug, Clone, Serialize)]
pub struct Weakening {
    pub key: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// What it does, in words.
    pub effect: String,
}

impl Weakening {
    /// `gate weakened by vendorscope.yaml:7: scan.exclude skips …` (sanitised: the file may
    /// come from a pull request).
    pub fn line(&self) -> String {
        crate::guard::sanitize_line(&format!(
            "gate weakened by {}:{}: {}",
            self.file, self.line, self.effect
        ))
        .into_owned()
    }
}

/// What the configuration did to one command line.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// The file used, if any.
    pub file: Option<String>,
    pub settings: Vec<Setting>,
    pub weakenings: Vec<Weakening>,
}

impl Applied {
    /// The `--deny-weakened-rules` error for these weakenings, or `None` if there are none.
    pub fn deny_message(&self) -> Option<String> {
        if self.weakenings.is_empty() {
            return None;
        }
        let mut s = format!(
            "--deny-weakened-rules: the configuration file weakens the gate in {} way(s); nothing was evaluated:",
            self.weakenings.len()
        );
        for w in &self.weakenings {
            s.push_str("\n  ");
            s.push_str(&w.line());
        }
        Some(s)
    }

    /// One warning line per weakening.
    pub fn warnings(&self) -> Vec<String> {
        self.weakenings.iter().map(Weakening::line).collect()
    }
}

/// Fills one command line's missing values from the configuration, keeping provenance.
struct Applier<'a> {
    cfg: Option<&'a Config>,
    matches: Option<&'a ArgMatches>,
    out: Applied,
}

fn json<T: Serialize>(v: &T) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

impl<'a> Applier<'a> {
    fn file_source(&self, key: &str) -> Source {
        match self.cfg {
            Some(c) => {
                let (line, column) = c.pos(key);
                Source::File {
                    file: c.file.clone(),
                    line,
                    column,
                }
            }
            None => Source::Default,
        }
    }

    fn push(&mut self, key: &'static str, value: Json, source: Source) {
        self.out.settings.push(Setting { key, value, source });
    }

    /// An optional value: the flag's, else the file's, else none.
    fn opt<T: Serialize + Clone>(
        &mut self,
        key: &'static str,
        flag: &mut Option<T>,
        file: Option<T>,
    ) {
        let source = if flag.is_some() {
            Source::Flag
        } else if let Some(v) = file {
            *flag = Some(v);
            self.file_source(key)
        } else {
            Source::Default
        };
        self.push(key, json(flag), source);
    }

    /// A list: the flags', else the file's, else empty.
    fn list<T: Serialize + Clone>(
        &mut self,
        key: &'static str,
        flag: &mut Vec<T>,
        file: Option<Vec<T>>,
    ) {
        let source = if !flag.is_empty() {
            Source::Flag
        } else if let Some(v) = file {
            *flag = v;
            self.file_source(key)
        } else {
            Source::Default
        };
        self.push(key, json(flag), source);
    }

    /// A switch: on from the flag, else the file's value, else off.
    fn switch(&mut self, key: &'static str, flag: &mut bool, file: Option<bool>) {
        let source = if *flag {
            Source::Flag
        } else if let Some(v) = file {
            *flag = v;
            self.file_source(key)
        } else {
            Source::Default
        };
        self.push(key, json(flag), source);
    }

    /// A value with a clap default: the flag's when given (argument `id`), else the file's.
    fn defaulted<T: Serialize>(
        &mut self,
        key: &'static str,
        id: &str,
        flag: &mut T,
        file: Option<T>,
    ) {
        let given = self
            .matches
            .and_then(|m| m.value_source(id))
            .is_some_and(|s| matches!(s, ValueSource::CommandLine | ValueSource::EnvVariable));
        let source = if given {
            Source::Flag
        } else if let Some(v) = file {
            *flag = v;
            self.file_source(key)
        } else {
            Source::Default
        };
        self.push(key, json(flag), source);
    }

    fn came_from_file(&self, key: &str) -> bool {
        self.out
            .settings
            .iter()
            .any(|s| s.key == key && matches!(s.source, Source::File { .. }))
    }

    fn weaken(&mut self, key: &str, effect: String) {
        let Some(c) = self.cfg else { return };
        let (line, column) = c.pos(key);
        self.out.weakenings.push(Weakening {
            key: key.to_string(),
            file: c.file.clone(),
            line,
            column,
            effect,
        });
    }

    fn paths(&self, v: &Option<Vec<PathBuf>>) -> Option<Vec<PathBuf>> {
        let c = self.cfg?;
        v.as_ref().map(|ps| ps.iter().map(|p| c.path(p)).collect())
    }

    fn path(&self, v: &Option<PathBuf>) -> Option<PathBuf> {
        let c = self.cfg?;
        v.as_ref().map(|p| c.path(p))
    }

    fn raw(&self) -> RawConfig {
        self.cfg.map(|c| c.raw.clone()).unwrap_or_default()
    }

    fn inventory(&mut self, flag: &mut Option<PathBuf>) {
        let file = self.path(&self.raw().inventory);
        self.opt("inventory", flag, file);
    }

    fn policy(&mut self, p: &mut PolicyArgs) {
        let raw = self.raw();
        let policies = self.paths(&raw.policies);
        self.list("policies", &mut p.policies, policies);
        let exceptions = self.path(&raw.exceptions);
        self.opt("exceptions", &mut p.exceptions, exceptions);
        self.defaulted(
            "max_exception_days",
            "max_exception_days",
            &mut p.max_exception_days,
            raw.max_exception_days,
        );
        self.switch(
            "deny_unused_exceptions",
            &mut p.deny_unused_exceptions,
            raw.deny_unused_exceptions,
        );
        self.switch(
            "deny_weakened_rules",
            &mut p.deny_weakened_rules,
            raw.deny_weakened_rules,
        );
        if self.came_from_file("exceptions")
            && let Some(e) = &p.exceptions
        {
            self.weaken(
                "exceptions",
                format!(
                    "exceptions {} waive findings, which then pass the gate",
                    e.display()
                ),
            );
        }
        let default = crate::policy::exceptions::DEFAULT_MAX_LIFETIME_DAYS;
        if self.came_from_file("max_exception_days") && p.max_exception_days > default {
            self.weaken(
                "max_exception_days",
                format!(
                    "max_exception_days {} lets exceptions live longer than the default {default} days",
                    p.max_exception_days
                ),
            );
        }
    }

    fn gate(&mut self, g: &mut GateArgs) {
        let raw = self.raw();
        self.opt("fail_on", &mut g.fail_on, raw.fail_on);
        self.switch(
            "allow_incomplete",
            &mut g.allow_incomplete,
            raw.allow_incomplete,
        );
        if self.came_from_file("fail_on")
            && let Some(s) = g.fail_on.filter(|s| *s > Severity::Low)
        {
            self.weaken(
                "fail_on",
                format!(
                    "fail_on {} lets failing findings below {} pass the gate (unless their rule blocks)",
                    s.as_str(),
                    s.as_str()
                ),
            );
        }
        if self.came_from_file("allow_incomplete") && g.allow_incomplete {
            self.weaken(
                "allow_incomplete",
                "allow_incomplete: what could not be checked exits 0 instead of 3".into(),
            );
        }
    }

    fn detectors(&mut self, flag: &mut Vec<PathBuf>) {
        let file = self.paths(&self.raw().detectors);
        self.list("detectors", flag, file);
    }

    fn outputs(&mut self, global: &mut GlobalArgs) {
        let file = match (self.cfg, &self.raw().outputs) {
            (Some(c), Some(o)) => Some(
                o.specs()
                    .into_iter()
                    .map(|(format, p)| OutputSpec {
                        format,
                        path: c.path(p),
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let source = if !global.outputs.is_empty() {
            Source::Flag
        } else if let Some(v) = file {
            global.outputs = v;
            self.file_source("outputs")
        } else {
            Source::Default
        };
        let shown: serde_json::Map<String, Json> = global
            .outputs
            .iter()
            .map(|s| (s.format.name().to_string(), json(&s.path)))
            .collect();
        self.push("outputs", Json::Object(shown), source);
    }
}

/// Applies the configuration to a parsed command line (flags win) and returns what came from
/// where. Only `audit`, `scan` and `merge` take values from it; `matches` are the command line's
/// (to tell a flag given from a clap default).
pub fn apply(
    cmd: &mut Command,
    global: &mut GlobalArgs,
    matches: Option<&ArgMatches>,
    cfg: Option<&Config>,
) -> Applied {
    let sub = |name: &str| matches.and_then(|m| m.subcommand_matches(name));
    let mut a = Applier {
        cfg,
        matches: None,
        out: Applied {
            file: cfg.map(|c| c.file.clone()),
            ..Default::default()
        },
    };
    match cmd {
        Command::Audit(args) => {
            a.matches = sub("audit");
            a.inventory(&mut args.inventory);
            a.policy(&mut args.policy);
            a.gate(&mut args.gate);
            a.detectors(&mut args.detectors);
            a.outputs(global);
        }
        Command::Scan(args) => {
            a.matches = sub("scan");
            a.inventory(&mut args.inventory);
            a.policy(&mut args.policy);
            a.gate(&mut args.gate);
            a.detectors(&mut args.detectors);
            a.outputs(global);
            let scan = a.raw().scan.unwrap_or_default();
            a.list("scan.exclude", &mut args.exclude, scan.exclude);
            a.defaulted(
                "scan.max_pages",
                "max_pages",
                &mut args.max_pages,
                scan.max_pages,
            );
            a.defaulted(
                "scan.max_depth",
                "max_depth",
                &mut args.max_depth,
                scan.max_depth,
            );
            let budget = scan
                .max_duration
                .as_deref()
                .and_then(|s| crate::cli::parse_duration(s).ok());
            let mut shown = humantime(args.max_duration);
            a.defaulted(
                "scan.max_duration",
                "max_duration",
                &mut shown,
                scan.max_duration.clone(),
            );
            if let (Some(d), true) = (budget, a.came_from_file("scan.max_duration")) {
                args.max_duration = d;
            }
            if a.came_from_file("scan.exclude") && !args.exclude.is_empty() {
                let globs = args
                    .exclude
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                a.weaken(
                    "scan.exclude",
                    format!("scan.exclude skips paths matching {globs}: nothing there is scanned"),
                );
            }
        }
        Command::Merge(args) => {
            a.matches = sub("merge");
            a.policy(&mut args.policy);
            a.gate(&mut args.gate);
        }
        _ => {}
    }
    a.out
}

/// A duration as the flags take it (`10m`, `90s`, `500ms`).
fn humantime(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Whether `cmd` reads the configuration file (the others never look for it).
pub fn applies_to(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Audit(_) | Command::Scan(_) | Command::Merge(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Diagnostics> {
        Config::from_str("vendorscope.yaml", text, PathBuf::from("cfg"))
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_positioned_with_suggestions() {
        let d = load("version: 1\ninventroy: inv.yaml\nfail_on: hihg\nscan:\n  exclude: dist\n")
            .expect_err("invalid");
        let r = d.render();
        assert!(
            r.contains("vendorscope.yaml:2:1: error: unknown field `inventroy`"),
            "{r}"
        );
        assert!(r.contains("did you mean `inventory`?"), "{r}");
        assert!(r.contains("vendorscope.yaml:3:10:"), "{r}");
        assert!(r.contains("did you mean `high`?"), "{r}");
        assert!(
            r.contains("vendorscope.yaml:5:12: error: `exclude` must be a list"),
            "{r}"
        );
        let codes: Vec<&str> = d.items.iter().map(|i| i.code).collect();
        assert!(codes.contains(&code::UNKNOWN_FIELD), "{codes:?}");
        assert!(codes.contains(&code::WRONG_TYPE), "{codes:?}");
    }

    #[test]
    fn values_the_schema_cannot_check() {
        let d = load(
            "version: 2\nmax_exception_days: 0\nscan:\n  max_duration: soon\n  exclude: ['[']\n",
        )
        .expect_err("invalid");
        let r = d.render();
        assert!(r.contains(":1:10: error: unsupported version"), "{r}");
        assert!(
            r.contains(":2:21: error: `max_exception_days` must be at least 1"),
            "{r}"
        );
        assert!(r.contains(":4:17: error: `soon` is not a duration"), "{r}");
        assert!(r.contains(":5:13: error:"), "{r}");
        let d =
            load("version: 1\noutputs:\n  json: ../x.json\n  sarif: /tmp/x.sarif\n  html: '-'\n")
                .expect_err("outside");
        let r = d.render();
        assert!(
            r.contains(":3:9: error: `outputs.json` must be a path below"),
            "{r}"
        );
        assert!(r.contains(":4:10: error: `outputs.sarif`"), "{r}");
        assert_eq!(d.errors(), 2, "{r}");
        let d = load("").expect_err("empty");
        assert!(d.render().contains("expected a mapping with `version: 1`"));
    }

    #[test]
    fn discovery_walks_up_to_the_repository_root() {
        let t = tempfile::tempdir().expect("tempdir");
        let repo = t.path().join("repo");
        let deep = repo.join("a/b");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::create_dir_all(repo.join(".git")).expect("mkdir");
        assert_eq!(discover(&deep).expect("ok"), None);
        // Above the repository root: never read.
        std::fs::write(t.path().join("vendorscope.yaml"), "version: 1\n").expect("write");
        assert_eq!(discover(&deep).expect("ok"), None);
        std::fs::write(repo.join(".vendorscope.yaml"), "version: 1\n").expect("write");
        assert_eq!(
            discover(&deep).expect("ok"),
            Some(PathBuf::from("../../.vendorscope.yaml"))
        );
        std::fs::write(repo.join("a/vendorscope.yaml"), "version: 1\n").expect("write");
        assert_eq!(
            discover(&deep).expect("ok"),
            Some(PathBuf::from("../vendorscope.yaml"))
        );
        std::fs::write(repo.join("a/.vendorscope.yaml"), "version: 1\n").expect("write");
        assert!(discover(&deep).expect_err("two").contains("keep one"));
    }
}
