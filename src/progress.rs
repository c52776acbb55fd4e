//! Progress of the long phases (probe, scan, crawl): a bar on a terminal, one summary line per
//! phase in a log, nothing with `--quiet`.
//!
//! Which of the three is decided once per phase by [`Mode::detect`]: a bar only when stderr is
//! a terminal that can redraw a line (not `TERM=dumb`) and the run is not in CI (`CI` set);
//! otherwise, unless `--quiet`, a single line when the phase ends, e.g.
//! `scan: 1,234 files, 210.3 MiB in 0.41 s`. `NO_COLOR` changes nothing here: the bars have no
//! colour.
//!
//! Counting is cheap enough for the scanner's hot loop: two relaxed atomic additions, and at
//! most ten redraws a second whoever is counting (one thread wins each 100 ms slot; the others
//! only add).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::guard::Redactor;

/// Shortest interval between two redraws (10 Hz).
const DRAW_EVERY_MS: u64 = 100;

/// How a phase shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--quiet`: nothing at all.
    Off,
    /// A live bar on stderr, cleared when the phase ends.
    Bar,
    /// One line on stderr when the phase ends (CI logs, pipes, `TERM=dumb`).
    Summary,
}

impl Mode {
    /// The mode for this process: `wanted` is `!--quiet`; the rest comes from stderr and the
    /// environment (`CI`, `TERM`).
    pub fn detect(wanted: bool) -> Mode {
        let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
        Mode::decide(
            wanted,
            std::io::stderr().is_terminal(),
            set("CI"),
            std::env::var("TERM").is_ok_and(|t| t == "dumb"),
        )
    }

    /// [`Mode::detect`] without the environment.
    pub fn decide(wanted: bool, stderr_is_terminal: bool, ci: bool, dumb_terminal: bool) -> Mode {
        if !wanted {
            Mode::Off
        } else if stderr_is_terminal && !ci && !dumb_terminal {
            Mode::Bar
        } else {
            Mode::Summary
        }
    }
}

/// What a phase counts: the unit's singular and plural, and whether bytes are counted too.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    pub one: &'static str,
    pub many: &'static str,
    pub bytes: bool,
}

impl Unit {
    pub const KEYS: Unit = Unit {
        one: "key",
        many: "keys",
        bytes: false,
    };
    pub const FILES: Unit = Unit {
        one: "file",
        many: "files",
        bytes: true,
    };
    pub const RESPONSES: Unit = Unit {
        one: "response",
        many: "responses",
        bytes: true,
    };
}

/// A phase before it starts: its name, unit and what is known of its size.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub unit: Unit,
    pub total_items: Option<u64>,
    pub total_bytes: Option<u64>,
    /// When the phase's work began, if before the phase could be shown (the scan's file listing
    /// comes before its totals are known).
    pub started: Option<Instant>,
}

impl Spec {
    pub fn new(name: &'static str, unit: Unit) -> Spec {
        Spec {
            name,
            unit,
            total_items: None,
            total_bytes: None,
            started: None,
        }
    }

    pub fn items(mut self, n: u64) -> Spec {
        self.total_items = Some(n);
        self
    }

    pub fn bytes(mut self, n: u64) -> Spec {
        self.total_bytes = Some(n);
        self
    }

    pub fn started(mut self, at: Instant) -> Spec {
        self.started = Some(at);
        self
    }
}

/// One running phase. Shared by reference between the threads doing the work.
pub struct Phase {
    spec: Spec,
    mode: Mode,
    bar: Option<ProgressBar>,
    items: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
    /// Milliseconds since `started` of the last redraw.
    last_draw: AtomicU64,
    /// What is in flight (e.g. the vendors being probed), by label, with counts.
    active: Mutex<BTreeMap<String, usize>>,
    /// Free text shown instead of the counts (the crawler's own statistics).
    detail: Mutex<Option<String>>,
    finished: AtomicBool,
    redactor: Redactor,
}

impl Phase {
    /// Starts a phase: `wanted` is `!--quiet`. Every text shown passes the run's redactor.
    pub fn start(spec: Spec, wanted: bool, redactor: &Redactor) -> Phase {
        Phase::with_mode(spec, Mode::detect(wanted), redactor)
    }

    /// A phase in a given mode (tests; [`Phase::start`] detects it).
    pub fn with_mode(spec: Spec, mode: Mode, redactor: &Redactor) -> Phase {
        let bar = (mode == Mode::Bar).then(|| new_bar(&spec));
        let phase = Phase {
            spec,
            mode,
            bar,
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: spec.started.unwrap_or_else(Instant::now),
            last_draw: AtomicU64::new(0),
            active: Mutex::new(BTreeMap::new()),
            detail: Mutex::new(None),
            finished: AtomicBool::new(false),
            redactor: redactor.clone(),
        };
        // Drawn at once: a short phase shows its bar too.
        phase.draw(true);
        phase
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Counts finished items and their bytes; redraws at most every 100 ms.
    pub fn add(&self, items: u64, bytes: u64) {
        if self.mode == Mode::Off {
            return;
        }
        self.items.fetch_add(items, Relaxed);
        if bytes > 0 {
            self.bytes.fetch_add(bytes, Relaxed);
        }
        self.draw(false);
    }

    /// Something labelled (a vendor) is now in flight; shown beside the counts.
    pub fn begin(&self, label: &str) {
        if self.mode != Mode::Bar {
            return;
        }
        if let Ok(mut a) = self.active.lock() {
            *a.entry(label.to_string()).or_default() += 1;
        }
        self.draw(true);
    }

    /// What [`Phase::begin`] announced is done (the item is counted separately by `add`).
    pub fn end(&self, label: &str) {
        if self.mode != Mode::Bar {
            return;
        }
        if let Ok(mut a) = self.active.lock()
            && let Some(n) = a.get_mut(label)
        {
            *n -= 1;
            if *n == 0 {
                a.remove(label);
            }
        }
        self.draw(false);
    }

    /// Replaces the counts in the bar and the summary by this text (statistics the phase keeps
    /// itself, such as the crawler's pages, assets and errors).
    pub fn set_detail(&self, text: String) {
        if self.mode == Mode::Off {
            return;
        }
        if let Ok(mut d) = self.detail.lock() {
            *d = Some(text);
        }
        self.draw(false);
    }

    /// Ends the phase: clears the bar, or prints the summary line.
    pub fn finish(&self) {
        if self.finished.swap(true, Relaxed) {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode == Mode::Summary {
            let line = self
                .redactor
                .filter(&crate::guard::sanitize_line(&self.summary()));
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("{line}\n").as_bytes());
        }
    }

    /// The line printed at the end of the phase in a log.
    pub fn summary(&self) -> String {
        summary_line(
            self.spec.name,
            &self.counts(),
            self.started.elapsed(),
            self.unit(),
        )
    }

    fn unit(&self) -> Unit {
        self.spec.unit
    }

    fn counts(&self) -> Counts {
        Counts {
            items: self.items.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            total_items: self.spec.total_items,
            detail: self.detail.lock().ok().and_then(|d| d.clone()),
        }
    }

    fn draw(&self, force: bool) {
        let Some(bar) = &self.bar else {
            return;
        };
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_draw.load(Relaxed);
        if !force
            && (now.saturating_sub(last) < DRAW_EVERY_MS
                || self
                    .last_draw
                    .compare_exchange(last, now, Relaxed, Relaxed)
                    .is_err())
        {
            return;
        }
        let c = self.counts();
        if self.spec.total_bytes.is_some() {
            bar.set_position(c.bytes);
        } else if self.spec.total_items.is_some() {
            bar.set_position(c.items);
        }
        let active: Vec<String> = self
            .active
            .lock()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default();
        let mut msg = bar_message(&c, self.unit());
        if !active.is_empty() {
            msg.push_str(" · ");
            msg.push_str(&active.join(", "));
        }
        bar.set_message(self.redactor.filter(&crate::guard::sanitize_line(&msg)));
    }
}

impl Drop for Phase {
    /// A phase abandoned on an error path leaves no bar behind (and prints no summary).
    fn drop(&mut self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}

fn new_bar(spec: &Spec) -> ProgressBar {
    let (len, template) = match (spec.total_bytes, spec.total_items) {
        (Some(b), _) => (
            Some(b),
            "{spinner} {prefix}: [{bar:24}] {binary_bytes}/{binary_total_bytes} {msg} [{elapsed}]",
        ),
        (None, Some(n)) => (Some(n), "{spinner} {prefix}: [{bar:24}] {msg} [{elapsed}]"),
        (None, None) => (None, "{spinner} {prefix}: {msg} [{elapsed}]"),
    };
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr_with_hz(10));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(spec.name);
    // The spinner and the clock move even while one large item is being worked on.
    bar.enable_steady_tick(Duration::from_millis(DRAW_EVERY_MS * 2));
    bar
}

/// A phase's counts at one moment.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub items: u64,
    pub bytes: u64,
    pub total_items: Option<u64>,
    pub detail: Option<String>,
}

/// The bar's message: `12/40 keys`, `1,234/5,000 files`, or the phase's own detail.
pub fn bar_message(c: &Counts, unit: Unit) -> String {
    if let Some(d) = &c.detail {
        return d.clone();
    }
    match c.total_items {
        Some(t) => format!(
            "{}/{} {}",
            thousands(c.items),
            thousands(t),
            if t == 1 { unit.one } else { unit.many }
        ),
        None => count(c.items, unit),
    }
}

/// `scan: 1,234 files, 210.3 MiB in 0.41 s`; `probe: 12 keys in 3.20 s`; with a total not
/// reached, `probe: 3 of 12 keys in …`.
pub fn summary_line(name: &str, c: &Counts, elapsed: Duration, unit: Unit) -> String {
    let what = match (&c.detail, c.total_items) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) if t != c.items => format!(
            "{} of {} {}",
            thousands(c.items),
            thousands(t),
            if t == 1 { unit.one } else { unit.many }
        ),
        (None, _) => count(c.items, unit),
    };
    let bytes = if unit.bytes && c.detail.is_none() {
        format!(", {}", human_bytes(c.bytes))
    } else {
        String::new()
    };
    format!("{name}: {what}{bytes} in {}", seconds(elapsed))
}

fn count(n: u64, unit: Unit) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { unit.one } else { unit.many }
    )
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Binary units with one decimal: `512 B`, `1.5 KiB`, `210.3 MiB`, `2.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// `0.41 s`, `12.3 s`, `2 min 05 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_follows_quiet_terminal_ci_and_term() {
        assert_eq!(Mode::decide(false, true, false, false), Mode::Off);
        assert_eq!(Mode::decide(false, false, true, false), Mode::Off);
        assert_eq!(Mode::decide(true, true, false, false), Mode::Bar);
        assert_eq!(Mode::decide(true, false, false, false), Mode::Summary);
        assert_eq!(Mode::decide(true, true, true, false), Mode::Summary);
        assert_eq!(Mode::decide(true, true, false, true), Mode::Summary);
    }

    #[test]
    fn numbers_bytes_and_durations() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(220_500_000), "210.3 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(seconds(Duration::from_millis(410)), "0.41 s");
        assert_eq!(seconds(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(seconds(Duration::from_secs(125)), "2 min 05 s");
    }

    #[test]
    fn summary_lines() {
        let c = Counts {
            items: 1234,
            bytes: 220_500_000,
            ..Default::default()
        };
        assert_eq!(
            summary_line("scan", &c, Duration::from_millis(410), Unit::FILES),
            "scan: 1,234 files, 210.3 MiB in 0.41 s"
        );
        let one = Counts {
            items: 1,
            bytes: 10,
            ..Default::default()
        };
        assert_eq!(
            summary_line("scan", &one, Duration::from_millis(5), Unit::FILES),
            "scan: 1 file, 10 B in 0.01 s"
        );
        let keys = Counts {
            items: 12,
            total_items: Some(12),
            ..Default::default()
        };
        assert_eq!(
            summary_line("probe", &keys, Duration::from_millis(3200), Unit::KEYS),
            "probe: 12 keys in 3.20 s"
        );
        let short = Counts {
            items: 3,
            total_items: Some(12),
            ..Default::default()
        };
        assert_eq!(
            summary_line("probe", &short, Duration::from_millis(3200), Unit::KEYS),
            "probe: 3 of 12 keys in 3.20 s"
        );
        let crawl = Counts {
            items: 9,
            bytes: 5000,
            detail: Some("4 pages, 5 assets, 4.9 KiB, 0 errors".into()),
            ..Default::default()
        };
        assert_eq!(
            summary_line(
                "crawl",
                &crawl,
                Duration::from_millis(2100),
                Unit::RESPONSES
            ),
            "crawl: 4 pages, 5 assets, 4.9 KiB, 0 errors in 2.10 s"
        );
    }

    #[test]
    fn bar_messages() {
        let c = Counts {
            items: 3,
            total_items: Some(40),
            ..Default::default()
        };
        assert_eq!(bar_message(&c, Unit::KEYS), "3/40 keys");
        let c = Counts {
            items: 1500,
            ..Default::default()
        };
        assert_eq!(bar_message(&c, Unit::FILES), "1,500 files");
    }

    #[test]
    fn counts_from_many_threads_and_finishing_twice_is_harmless() {
        let p = Phase::with_mode(
            Spec::new("scan", Unit::FILES).items(4000),
            Mode::Summary,
            &Redactor::new(),
        );
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        p.add(1, 10);
                    }
                });
            }
        });
        assert!(p.summary().starts_with("scan: 4,000 files, 39.1 KiB in "));
        let off = Phase::with_mode(Spec::new("scan", Unit::FILES), Mode::Off, &Redactor::new());
        off.add(5, 5);
        assert!(off.summary().starts_with("scan: 0 files, 0 B in "));
        off.finish();
        off.finish();
    }
}
