//! `scan.account_access`: could the scan read the account at all? An account
//! it could not read gets this one ERROR row and no other.

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::{Finding, ACCOUNT_WIDE};
use crate::facts::AccountFacts;

pub const DEFINITION: CheckDef = CheckDef {
    id: "scan.account_access",
    title: "The scan can read the account",
    severity: Severity::High,
    remediation: "Deploy the CmkScanReadOnly role (deploy/cloudformation/member-role.yaml) to the account, trusting the scanner's task role with the configured external id; see docs/operations.md.",
    controls: None,
    rows: RowsPer::Region,
};

/// The ERROR row of an account whose role could not be assumed or whose
/// regions could not be listed; `None` when the scan could read it.
pub fn denied(account: &AccountFacts) -> Option<Finding> {
    let err = account.access.as_ref().err()?;
    Some(Finding::new(
        account,
        ACCOUNT_WIDE,
        CheckId::AccountAccess,
        Status::Error,
        "",
        err.to_string(),
    ))
}
