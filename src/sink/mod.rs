//! Where reports go: the local directory first, always; then S3 when asked.
//! A failed upload leaves the local files in place.

pub mod heartbeat;
mod local;
pub mod notify;
mod s3;
pub mod security_hub;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::report::html::HtmlPage;
use crate::report::Report;

pub use local::{write_file, LocalError, OutputDir, PendingFile};
pub use s3::{upload, S3Error, S3Target};

pub const CSV_NAME: &str = "findings.csv";
pub const JSON_NAME: &str = "findings.json";
pub const OCSF_NAME: &str = "findings.ocsf.json";
pub const FACTS_NAME: &str = "facts.json.gz";
pub const CHANGES_NAME: &str = "changes.csv";
pub const HTML_NAME: &str = "report.html";

/// A report file on local disk, ready to upload.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub path: PathBuf,
    /// The object's name under the report folder.
    pub name: &'static str,
    pub content_type: &'static str,
}

impl LocalFile {
    pub fn csv(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: CSV_NAME,
            content_type: "text/csv; charset=utf-8",
        }
    }

    pub fn json(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: JSON_NAME,
            content_type: "application/json",
        }
    }

    pub fn ocsf(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: OCSF_NAME,
            content_type: "application/json",
        }
    }

    pub fn changes(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: CHANGES_NAME,
            content_type: "text/csv; charset=utf-8",
        }
    }

    pub fn html(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: HTML_NAME,
            content_type: "text/html; charset=utf-8",
        }
    }

    pub fn facts(path: PathBuf) -> Self {
        LocalFile {
            path,
            name: FACTS_NAME,
            content_type: "application/gzip",
        }
    }
}

/// Writes `findings.csv`, `findings.json`, `findings.ocsf.json` and, when
/// the report was compared with an earlier one, `changes.csv` into `dir`,
/// each complete or not at all. Without a comparison, a `changes.csv` left
/// by an earlier run is removed: beside this report it would tell of
/// changes it did not have.
pub fn write_report(dir: &Path, report: &Report) -> Result<Vec<LocalFile>, LocalError> {
    let csv = write_file(dir, CSV_NAME, |out| {
        report.write_csv(&mut *out).map_err(std::io::Error::other)
    })?;
    let json = write_json(dir, report)?;
    let ocsf = write_file(dir, OCSF_NAME, |out| {
        report.write_ocsf(&mut *out)?;
        out.flush()
    })?;
    let mut files = vec![LocalFile::csv(csv), json, LocalFile::ocsf(ocsf)];
    match report.changes.diff() {
        Some(diff) => {
            let path = write_file(dir, CHANGES_NAME, |out| {
                diff.write_csv(&mut *out).map_err(std::io::Error::other)
            })?;
            files.push(LocalFile::changes(path));
        }
        None => {
            let stale = dir.join(CHANGES_NAME);
            match std::fs::remove_file(&stale) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LocalError {
                        path: stale,
                        source: err,
                    })
                }
                _ => {}
            }
        }
    }
    Ok(files)
}

/// Writes `findings.json` into `dir`, complete or not at all: with the
/// report, and again after the Security Hub import, with its
/// `security_hub` section.
pub fn write_json(dir: &Path, report: &Report) -> Result<LocalFile, LocalError> {
    let json = write_file(dir, JSON_NAME, |out| {
        report.write_json(&mut *out)?;
        out.flush()
    })?;
    Ok(LocalFile::json(json))
}

/// Writes `report.html` into `dir`, complete or not at all.
pub fn write_html(dir: &Path, page: &HtmlPage) -> Result<LocalFile, LocalError> {
    let html = write_file(dir, HTML_NAME, |out| {
        page.write(&mut *out)?;
        out.flush()
    })?;
    Ok(LocalFile::html(html))
}
