//! This report against an earlier one: finding the previous report
//! ([`previous`]), reading a report back ([`report_file`]), matching two
//! reports' rows ([`diff`]), and what a report says about the changes since
//! then ([`changes`]).

pub mod changes;
mod compare;
pub mod diff;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod previous;
pub mod report_file;

pub use changes::Changes;
pub use compare::{compare, CompareError};
pub use report_file::ReportFile;
