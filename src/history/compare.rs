//! This scan's findings against the previous report, when one was read:
//! the one comparison `cmkscan scan` and `cmkscan evaluate` both make.

use std::io;

use super::previous::Previous;
use super::report_file::{ReadError, ReportFile};
use super::Changes;
use crate::facts::ScanHeader;
use crate::findings::{rows, FindingRows};

/// Why two reports could not be compared: this scan's own findings (or
/// the rows parked on disk to compare them) did not read back, or two of
/// its rows are about the same thing.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read the findings back to compare them")]
    ReadBack(#[source] io::Error),
    #[error("cannot compare the findings")]
    Rows(#[source] ReadError),
}

/// `findings` compared with the previous report, or why there was none.
pub fn compare(
    previous: Previous,
    scan: &ScanHeader,
    findings: &dyn FindingRows,
) -> Result<Changes, CompareError> {
    let (source, old) = match previous {
        Previous::Found { source, findings } => (source, findings),
        Previous::Missing(record) => return Ok(Changes::not_compared(record)),
    };
    // Row by row into the comparison, which keeps only what it compares,
    // sorted on disk.
    let mut unreadable = None;
    let rows = rows(scan, findings).map_while(|row| row.map_err(|err| unreadable = Some(err)).ok());
    let new = ReportFile::from_rows(scan.scan_id.clone(), scan.scan_time.clone(), rows)
        .map_err(CompareError::Rows)?;
    if let Some(err) = unreadable {
        return Err(CompareError::ReadBack(err));
    }
    Changes::compare(source, &old, &new).map_err(CompareError::ReadBack)
}
