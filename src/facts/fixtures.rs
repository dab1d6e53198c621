//! Facts shared by unit tests of every stage.

use super::{PreviousReport, ScanHeader};

/// A scan of 2026-11-28 10:15 UTC in the commercial partition, management
/// account 111111111111, with a 7-day lookback, no exceptions file and no
/// previous report asked for, trusted access for CloudTrail enabled: tests
/// change the fields they are about.
pub fn header() -> ScanHeader {
    ScanHeader {
        scan_id: "20261128T101500Z-ab12".into(),
        scan_time: "2026-11-28T10:15:00Z".into(),
        partition: "aws".into(),
        management_account_id: "111111111111".into(),
        organization_id: "o-a1b2c3d4e5".into(),
        lookback_days: 7,
        exceptions: None,
        previous_report: PreviousReport::NotRequested,
        cloudtrail_trusted_access: Some(Ok(true)),
    }
}
