//! Progress while a scan runs. On a terminal, with text logs, one live line
//! on stderr, redrawn twice a second: accounts, account-regions, requests,
//! retries and throttling answers, elapsed time. Anywhere else (piped, or
//! `--log-format json` for CloudWatch Logs) nothing is drawn: an INFO log
//! line says the same every `--progress-interval`.
//!
//! The line is drawn with a carriage return and spaces only, no escape
//! sequence, so `NO_COLOR` or a dumb terminal see no control codes; it is
//! cut to the terminal's width, so it never wraps. Everything else written
//! to the terminal (log lines, and stdout, which is often the same
//! terminal) goes through [`LIVE_LINE`], which takes the line away, writes,
//! and draws it again below.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cmkscan::{Phase, Progress, ProgressSnapshot};
use tracing_subscriber::fmt::MakeWriter;

/// The line on stderr, when one is drawn.
pub static LIVE_LINE: LiveLine = LiveLine {
    state: Mutex::new(Shown {
        text: String::new(),
        width: 0,
    }),
};

pub struct LiveLine {
    state: Mutex<Shown>,
}

/// What the terminal shows of the line now.
struct Shown {
    /// The text drawn; empty when none is.
    text: String,
    /// Its width in columns, as drawn (cut to the terminal).
    width: usize,
}

impl LiveLine {
    fn lock(&self) -> MutexGuard<'_, Shown> {
        // Each operation leaves the state whole before it can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Draws `text` in place of the line shown.
    pub fn draw(&self, text: &str) {
        let mut shown = self.lock();
        let fitted = fit(text, terminal_width().saturating_sub(1));
        let width = fitted.chars().count();
        let pad = " ".repeat(shown.width.saturating_sub(width));
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r{fitted}{pad}");
        if !pad.is_empty() {
            let _ = write!(err, "\r{fitted}");
        }
        let _ = err.flush();
        shown.text = text.to_string();
        shown.width = width;
    }

    /// Takes the line away for good.
    pub fn clear(&self) {
        let mut shown = self.lock();
        erase(&mut io::stderr().lock(), shown.width);
        shown.text.clear();
        shown.width = 0;
    }

    /// Writes `bytes` to `out` where the line was, then draws the line
    /// again under them.
    fn write_above(&self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
        let mut shown = self.lock();
        if shown.width == 0 {
            return out.write_all(bytes).and_then(|()| out.flush());
        }
        let mut err = io::stderr().lock();
        erase(&mut err, shown.width);
        out.write_all(bytes)?;
        out.flush()?;
        let fitted = fit(&shown.text, terminal_width().saturating_sub(1));
        shown.width = fitted.chars().count();
        let _ = write!(err, "{fitted}");
        let _ = err.flush();
        Ok(())
    }
}

fn erase(err: &mut dyn Write, width: usize) {
    if width > 0 {
        let _ = write!(err, "\r{}\r", " ".repeat(width));
        let _ = err.flush();
    }
}

/// `text` cut to `width` columns (one a character: the line is ASCII but
/// for its separators).
fn fit(text: &str, width: usize) -> String {
    text.chars().take(width.max(1)).collect()
}

/// The terminal's width in columns; 80 when it cannot be told.
fn terminal_width() -> usize {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed, which
    // lives for the call; on a descriptor that is not a terminal it fails
    // and writes nothing.
    let ok = unsafe { libc::ioctl(io::stderr().as_raw_fd(), libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

/// The writer of every log line: stderr, above the live line.
#[derive(Clone, Copy)]
pub struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        Stderr
    }
}

impl Write for Stderr {
    /// The subscriber writes each event whole, in one call.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        LIVE_LINE.write_above(&mut io::stderr(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Stdout, written above the live line a whole line at a time (stdout is
/// often the terminal the line is drawn on).
pub struct Stdout {
    pending: Vec<u8>,
}

impl Stdout {
    pub fn new() -> Stdout {
        Stdout {
            pending: Vec::new(),
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            LIVE_LINE.write_above(&mut io::stdout(), &lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        LIVE_LINE.write_above(&mut io::stdout(), &rest)
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy)]
pub enum Showing {
    /// The live line on stderr, a terminal.
    Live,
    /// An INFO log line this often.
    Logged(Duration),
}

/// Shows `progress` until dropped (the run ended); never returns.
pub async fn show(progress: &Progress, showing: Showing) {
    match showing {
        Showing::Live => {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                LIVE_LINE.draw(&line(&progress.snapshot()));
            }
        }
        Showing::Logged(every) => {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                log(&progress.snapshot());
            }
        }
    }
}

/// The live line: `scanning · accounts 3/11+ · account-regions 45/80 ·
/// 1,234 requests · 12 retries (8 throttled) · 56s`; `+` while the
/// listing goes on.
pub fn line(at: &ProgressSnapshot) -> String {
    let phase = match at.phase {
        Phase::Preparing => "preparing",
        Phase::Scanning => "scanning",
        Phase::Writing => "writing the report",
        Phase::Delivering => "delivering",
    };
    let activity = &at.activity;
    format!(
        "{phase} · accounts {}/{}{} · account-regions {}/{} · {} requests · {} retries ({} throttled) · {}",
        at.accounts_done,
        at.accounts_started,
        if at.listing { "+" } else { "" },
        at.account_regions_done,
        at.account_regions_started,
        thousands(activity.requests),
        thousands(activity.retries),
        thousands(activity.throttled),
        elapsed(at.elapsed)
    )
}

/// The periodic INFO line, one field a count.
fn log(at: &ProgressSnapshot) {
    tracing::info!(
        phase = at.phase.as_str(),
        accounts_done = at.accounts_done,
        accounts_started = at.accounts_started,
        listing_done = !at.listing,
        account_regions_done = at.account_regions_done,
        account_regions_started = at.account_regions_started,
        requests = at.activity.requests,
        retries = at.activity.retries,
        throttled = at.activity.throttled,
        elapsed_seconds = at.elapsed.as_secs(),
        "progress"
    );
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `56s`, `3m05s`, `1h02m`.
fn elapsed(time: Duration) -> String {
    let secs = time.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_what_the_run_did() {
        let at = ProgressSnapshot {
            phase: Phase::Scanning,
            elapsed: Duration::from_secs(185),
            accounts_started: 11,
            accounts_done: 3,
            listing: true,
            account_regions_started: 80,
            account_regions_done: 45,
            activity: cmkscan::Activity {
                requests: 12_345,
                retries: 12,
                throttled: 8,
            },
        };
        assert_eq!(
            line(&at),
            "scanning · accounts 3/11+ · account-regions 45/80 · 12,345 requests · 12 retries (8 throttled) · 3m05s"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
        assert_eq!(fit("abcdef", 3), "abc");
    }
}
