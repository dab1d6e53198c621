//! Where reports go: the local directory first, always; then S3 when asked.
//! A failed upload leaves the local files in place.

mod local;
mod s3;

pub use local::{check_writable, write_file, write_local, LocalError};
pub use s3::{upload, S3Error, S3Target};

/// The report files, by name.
pub struct ReportFiles {
    pub csv: Vec<u8>,
    pub json: Vec<u8>,
}

impl ReportFiles {
    pub const CSV_NAME: &'static str = "findings.csv";
    pub const JSON_NAME: &'static str = "findings.json";

    pub fn entries(&self) -> [(&'static str, &[u8], &'static str); 2] {
        [
            (Self::CSV_NAME, &self.csv, "text/csv; charset=utf-8"),
            (Self::JSON_NAME, &self.json, "application/json"),
        ]
    }
}
