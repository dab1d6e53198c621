//! Report rows shared by unit tests of the later stages.

use super::Row;
use crate::checks::catalog::Status;

/// A row of `check_id` with `status` in the member account 111122223333
/// (`prod`, under `Root/Workloads`) in us-east-1, about the whole region,
/// with no detail and no exception: tests change the fields they are about.
pub fn row(check_id: &str, status: Status) -> Row {
    Row {
        scan_id: "20261128T101500Z-ab12".into(),
        scan_time: "2026-11-28T10:15:00Z".into(),
        account_id: "111122223333".into(),
        account_name: "prod".into(),
        region: "us-east-1".into(),
        check_id: check_id.into(),
        status,
        severity: "HIGH".into(),
        resource_id: String::new(),
        title: "title".into(),
        detail: String::new(),
        remediation: "fix it".into(),
        controls: String::new(),
        ou_path: "Root/Workloads".into(),
        exception_id: String::new(),
        exception_state: String::new(),
    }
}
