//! This report against an earlier one: finding the previous report
//! ([`previous`]), reading a report back ([`report_file`]) into rows sorted
//! on disk ([`sorted`]), matching two reports' rows ([`diff`]) into changes
//! kept on disk ([`change_list`]), and what a report says about the
//! changes since then ([`changes`]). Memory holds a run of rows being
//! sorted and the accounts, never a report.

mod change_list;
pub mod changes;
mod compare;
pub mod diff;
mod disk;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod previous;
pub mod report_file;
mod sorted;

pub use changes::Changes;
pub use compare::{compare, CompareError};
pub use report_file::ReportFile;
