//! Headless Chromium (Debian's `chromium`, installed by
//! `scripts/install-tools.sh`), to open `report.html` as a person would:
//! its DOM after the page's script ran, and every console message (script
//! errors and Content-Security-Policy refusals included).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::cli::output_within;

/// A cold start on a busy two-core machine takes a few seconds.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The browser: `CMKSCAN_TEST_CHROMIUM`, or `chromium` on the PATH.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CMKSCAN_TEST_CHROMIUM") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is needed to open report.html in a real browser. Install it with \
             `scripts/install-tools.sh` (as root: apt-get install chromium), or point \
             CMKSCAN_TEST_CHROMIUM at a Chromium binary."
        )
    })
}

/// The page as Chromium left it.
pub struct Loaded {
    /// The DOM, serialised after the page's script ran.
    pub dom: String,
    /// Console messages: what the page logged, its uncaught errors, and
    /// what the browser refused to load or run.
    pub console: Vec<String>,
}

/// The flags every run takes: no network of its own, no first-run or
/// background work, a fresh profile.
fn command(profile: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn url(page: &Path, fragment: &str) -> String {
    let page = page
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    format!("file://{}{fragment}", page.display())
}

/// Opens `page` (a local file) at `fragment` (`""` or `#…`).
pub fn open(page: &Path, fragment: &str) -> Loaded {
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let mut cmd = command(profile.path());
    // Console messages go to stderr as `…:INFO:CONSOLE:<line>] "message", source: …`.
    cmd.args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(url(page, fragment));
    let output = output_within(cmd, BROWSER_TIMEOUT);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed on {}: {}\n{stderr}",
        page.display(),
        output.status
    );
    Loaded {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console: stderr
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .map(str::to_string)
            .collect(),
    }
}

/// Opens `page` in a `width` × `height` window and saves what it shows as
/// the PNG `shot`.
pub fn screenshot(page: &Path, shot: &Path, (width, height): (u32, u32)) {
    // A shot left from an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(shot);
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let mut cmd = command(profile.path());
    cmd.arg("--hide-scrollbars")
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url(page, ""));
    let output = output_within(cmd, BROWSER_TIMEOUT);
    assert!(
        output.status.success() && shot.is_file(),
        "chromium took no screenshot of {}: {}\n{}",
        page.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
