//! Terminal tables (comfy-table): findings, keys and exposures, width-aware, colour only on a TTY.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::RenderOptions;
use crate::guard::Clean;
use crate::run::{KeyStatus, Outcome, Run, Severity};

/// Width of tables when neither `COLUMNS` nor a terminal says otherwise (CI logs, pipes).
pub const DEFAULT_WIDTH: usize = 100;

/// The width tables are laid out for on stdout: `COLUMNS` when set, else the terminal's
/// width, else [`DEFAULT_WIDTH`].
pub fn stdout_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 20)
    {
        return w;
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdout())
        && let Some(w) = Table::new().width()
    {
        return usize::from(w).max(20);
    }
    DEFAULT_WIDTH
}

/// A column of a [`Grid`]: its header, and whether it holds long text (a message, a list)
/// that goes on its own indented lines when the table cannot fit.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub long: bool,
}

/// A table laid out for a width: columns sized so that no word is ever split (a fingerprint,
/// URL or key id stays on one line), long text wrapped at word boundaries; when even the
/// longest words of every column cannot fit side by side, each row becomes a block (its short
/// cells on one line, its long ones below, indented).
pub struct Grid {
    columns: Vec<Column>,
    /// Per row, each cell's colour (when colour is on).
    colors: Vec<Vec<Option<Color>>>,
    texts: Vec<Vec<String>>,
}

impl Grid {
    pub fn new(columns: &[Column]) -> Self {
        Grid {
            columns: columns.to_vec(),
            colors: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Adds a row of plain cells.
    pub fn row(&mut self, cells: Vec<String>) {
        self.colored_row(cells, Vec::new());
    }

    /// Adds a row with a colour per cell (`None`: none; missing: none).
    pub fn colored_row(&mut self, texts: Vec<String>, colors: Vec<Option<Color>>) {
        self.texts.push(texts);
        self.colors.push(colors);
    }

    /// Renders for `width` columns (see [`Grid`]), coloured when `color`.
    pub fn render(&self, width: usize, color: bool) -> String {
        let n = self.columns.len();
        let overhead = 3 * n + 1;
        let longest_word = |t: &str| t.split_whitespace().map(char_len).max().unwrap_or(0);
        let longest_line = |t: &str| t.lines().map(char_len).max().unwrap_or(0);
        let mut min = vec![0usize; n];
        let mut max = vec![0usize; n];
        for (i, c) in self.columns.iter().enumerate() {
            min[i] = longest_word(c.header);
            max[i] = longest_line(c.header);
        }
        for row in &self.texts {
            for (i, t) in row.iter().enumerate().take(n) {
                min[i] = min[i].max(longest_word(t));
                max[i] = max[i].max(longest_line(t));
            }
        }
        let avail = width.saturating_sub(overhead);
        if min.iter().sum::<usize>() > avail {
            return self.blocks(width);
        }
        // Every column gets its longest word, then the room left goes to the columns that
        // want more, in equal shares.
        let mut widths = min.clone();
        let mut extra = avail - widths.iter().sum::<usize>();
        loop {
            let wanting: Vec<usize> = (0..n).filter(|&i| widths[i] < max[i]).collect();
            if wanting.is_empty() || extra == 0 {
                break;
            }
            let share = (extra / wanting.len()).max(1);
            for i in wanting {
                let add = share.min(max[i] - widths[i]).min(extra);
                widths[i] += add;
                extra -= add;
            }
        }
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        if color {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        t.set_header(
            self.columns
                .iter()
                .zip(&widths)
                .map(|(c, w)| wrap(c.header, *w).join("\n")),
        );
        for (texts, colors) in self.texts.iter().zip(&self.colors) {
            let row: Vec<Cell> = texts
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (text, w))| {
                    let cell = Cell::new(wrap(text, *w).join("\n"));
                    match colors.get(i).copied().flatten() {
                        Some(c) if color => cell.fg(c),
                        _ => cell,
                    }
                })
                .collect();
            t.add_row(row);
        }
        t.to_string()
    }

    /// The narrow layout: per row, the short cells on one line, then each long cell as
    /// `header: text` wrapped with a hanging indent.
    fn blocks(&self, width: usize) -> String {
        let mut out: Vec<String> = Vec::new();
        // The short cells line up in columns when they fit side by side.
        let mut pad = vec![0usize; self.columns.len()];
        for row in &self.texts {
            for (i, t) in row.iter().enumerate().take(pad.len()) {
                pad[i] = pad[i].max(t.lines().map(char_len).max().unwrap_or(0));
            }
        }
        let shorts: Vec<usize> = (0..self.columns.len())
            .filter(|&i| !self.columns[i].long)
            .collect();
        let aligned = shorts.iter().map(|&i| pad[i] + 2).sum::<usize>() <= width + 2;
        for row in &self.texts {
            let short: Vec<String> = shorts
                .iter()
                .filter_map(|&i| row.get(i).map(|t| (i, t)))
                .filter(|(_, t)| aligned || !t.is_empty())
                .map(|(i, t)| {
                    if aligned && !t.contains('\n') {
                        format!("{t:<w$}", w = pad[i])
                    } else {
                        t.clone()
                    }
                })
                .collect();
            let mut line = String::new();
            for cell in &short {
                for part in cell.lines() {
                    if !line.is_empty() && char_len(&line) + 2 + char_len(part) > width {
                        out.push(std::mem::take(&mut line));
                        line.push_str("  ");
                    } else if !line.is_empty() {
                        line.push_str("  ");
                    }
                    line.push_str(part);
                }
            }
            out.push(line.trim_end().to_string());
            for (t, c) in row.iter().zip(&self.columns) {
                if !c.long || t.is_empty() {
                    continue;
                }
                let label = format!("    {}: ", c.header);
                let hang = if char_len(&label) + 20 <= width {
                    char_len(&label)
                } else {
                    6
                };
                let mut first = true;
                for l in wrap(t, width.saturating_sub(hang).max(1)) {
                    if first {
                        out.push(format!("{label:<hang$}{l}"));
                        first = false;
                    } else {
                        out.push(format!("{}{l}", " ".repeat(hang)));
                    }
                }
            }
            out.push(String::new());
        }
        out.pop();
        out.join("\n")
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Wraps `text` at word boundaries to `width` characters; explicit line breaks are kept, and
/// a word longer than the width gets a line of its own, whole (a fingerprint, URL or key id
/// is never split).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for hard in text.split('\n') {
        let mut line = String::new();
        for word in hard.split_whitespace() {
            if line.is_empty() {
                line.push_str(word);
            } else if char_len(&line) + 1 + char_len(word) <= width {
                line.push(' ');
                line.push_str(word);
            } else {
                lines.push(std::mem::take(&mut line));
                line.push_str(word);
            }
        }
        lines.push(line);
    }
    lines
}

fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Magenta,
        Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Blue,
        Severity::Info => Color::Grey,
    }
}

/// Renders the run for a terminal.
pub fn render(run: &Clean<Run>, opts: RenderOptions) -> String {
    let width = opts.width.map_or(DEFAULT_WIDTH, usize::from);
    let col = |header, long| Column { header, long };
    let mut out = String::new();
    if !run.keys.is_empty() {
        let mut t = Grid::new(&[
            col("vendor", false),
            col("key", false),
            col("fingerprint", false),
            col("status", false),
            col("capabilities", true),
        ]);
        for k in &run.keys {
            // The facts say what the rules saw (offline, secret unavailable, not probed).
            let fact = run
                .facts
                .keys
                .iter()
                .find(|f| f.id == k.id && f.vendor == k.vendor);
            let (status, caps) = match (&k.profile, fact) {
                (Some(p), _) => (p.status.label(), p.capabilities.join(", ")),
                (None, Some(f)) => (
                    crate::run::status_label(&f.status, f.status_reason.as_deref()),
                    String::new(),
                ),
                (None, None) if k.fingerprint.is_none() => {
                    ("inconclusive(secret_unavailable)".into(), String::new())
                }
                (None, None) => (
                    KeyStatus::NotProbed("not_requested".into()).label(),
                    String::new(),
                ),
            };
            t.row(vec![
                k.vendor.clone(),
                k.id.clone(),
                k.fingerprint.clone().unwrap_or_else(|| "-".into()),
                status,
                caps,
            ]);
        }
        out.push_str(&format!(
            "Keys ({})\n{}\n\n",
            run.keys.len(),
            t.render(width, opts.color)
        ));
    }
    if !run.exposures.is_empty() {
        let mut t = Grid::new(&[
            col("vendor", false),
            col("credential", false),
            col("key", false),
            col("where", true),
            col("attributed to", false),
        ]);
        for e in &run.exposures {
            let mut place = e
                .location
                .url
                .clone()
                .or_else(|| e.location.path.clone())
                .unwrap_or_default();
            if let Some(l) = e.location.line {
                place.push_str(&format!(":{l}"));
                if let Some(c) = e.location.column {
                    place.push_str(&format!(":{c}"));
                }
            }
            if let Some(o) = &e.location.original {
                place.push_str(&format!("\n↳ {}:{}", o.path, o.line));
            }
            if let Some(g) = e.location.history_note() {
                place.push_str(&format!("\n{g}"));
            }
            if e.occurrences > 1 {
                place.push_str(&format!("\n({} occurrences here)", e.occurrences));
            }
            let kind = if e.public_by_design {
                format!("{} (public by design)", e.credential_type)
            } else {
                e.credential_type.clone()
            };
            t.row(vec![
                e.vendor.clone(),
                kind,
                e.evidence.redacted.clone(),
                place,
                e.inventory_key
                    .clone()
                    .unwrap_or_else(|| "unknown credential".into()),
            ]);
        }
        out.push_str(&format!(
            "Exposures ({})\n{}\n\n",
            run.exposures.len(),
            t.render(width, opts.color)
        ));
    }
    let mut findings: Vec<_> = run.findings.iter().collect();
    findings.sort_by(|a, b| crate::run::finding_order(a, b));
    if !findings.is_empty() {
        let mut t = Grid::new(&[
            col("severity", false),
            col("status", false),
            col("rule", false),
            col("subject", false),
            col("message", true),
        ]);
        for f in &findings {
            t.colored_row(
                vec![
                    f.severity.as_str().to_string(),
                    f.status.as_str().to_string(),
                    f.rule.clone(),
                    format!("{}:{}", subject_kind(f), f.subject.id),
                    f.message.clone(),
                ],
                vec![Some(severity_color(f.severity))],
            );
        }
        out.push_str(&format!(
            "Findings ({})\n{}\n\n",
            findings.len(),
            t.render(width, opts.color)
        ));
    }
    let fails = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Fail)
        .count();
    let unknown = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Unknown)
        .count();
    let excepted = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Excepted)
        .count();
    if !run.weakened_rules.is_empty() {
        let head = format!(
            "WEAKENED built-in rules ({}): a user policy disabled, lowered or rewrote them",
            run.weakened_rules.len()
        );
        let head = if opts.color {
            format!("\u{1b}[1;33m{head}\u{1b}[0m")
        } else {
            head
        };
        out.push_str(&format!(
            "{head}\n{}\n",
            super::weakened::text(&run.weakened_rules, "  ")
        ));
    }
    out.push_str(&format!(
        "{} keys, {} exposures, {} failing, {} unknown, {} excepted, {} errors{}\n",
        run.keys.len(),
        run.exposures.len(),
        fails,
        unknown,
        excepted,
        run.errors.len(),
        match run.weakened_rules.len() {
            0 => String::new(),
            n => format!(", {n} weakened rule(s)"),
        }
    ));
    for e in &run.errors {
        let text = format!(
            "error [{}]{}: {}",
            e.stage,
            e.subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default(),
            e.message
        );
        for (i, l) in wrap(&text, width.saturating_sub(4)).iter().enumerate() {
            out.push_str(if i == 0 { "  " } else { "    " });
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn subject_kind(f: &crate::run::Finding) -> &'static str {
    match f.subject.kind {
        crate::run::SubjectKind::Key => "key",
        crate::run::SubjectKind::Vendor => "vendor",
        crate::run::SubjectKind::Exposure => "exposure",
        crate::run::SubjectKind::Run => "run",
    }
}
