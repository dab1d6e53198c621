//! One verdict, as the checks make it: the row every later stage reads,
//! and what finds the same row in another scan's report.

use serde::{Deserialize, Serialize};

use super::catalog::{self, CheckId, Status};
use crate::facts::{AccountFacts, PendingDeletion};

/// Region column for rows about a whole account.
pub const ACCOUNT_WIDE: &str = "global";

/// One verdict. Title, severity, remediation and controls come from the
/// catalogue by `check`, so they cannot drift between rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub account_id: String,
    pub account_name: String,
    /// The account's OU path from the root (`Root/Workloads/Prod`).
    pub ou_path: String,
    /// The id of the account's parent (`ou-…`, or `r-…` for the root):
    /// OCSF findings name the OU by it. Empty when the facts were recorded
    /// before OUs.
    pub ou_id: String,
    pub region: String,
    pub check: CheckId,
    pub status: Status,
    pub resource_id: String,
    pub detail: String,
    /// The accepted risk that matches the row, set after the checks by
    /// [`crate::exceptions::Judge`]; the checks always leave it `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionMark>,
    /// On a `kms.key_state` row about a key pending deletion, when it will
    /// be deleted; `None` on every other row. The SNS message counts the
    /// days left from it, never from `detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_deletion: Option<PendingDeletion>,
}

/// What one row stands for within its account, region and check (see
/// [`catalog::RowsPer`]): what finds the same row in another scan's report.
/// OCSF's `finding_info.uid` and Security Hub's `Id` are both made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The whole region (or account): a region's row keeps its subject
    /// whatever its verdict, and so does the row of a per-resource or
    /// per-event check that stands for the region (an ERROR when the
    /// listing failed, a PASS without events), whatever its detail says.
    Region,
    /// One resource, by its id.
    Resource(&'a str),
    /// One event about a resource, told apart by the detail naming it.
    Event { resource: &'a str, detail: &'a str },
}

impl Finding {
    /// A verdict about `account` in `region` (or [`ACCOUNT_WIDE`]), with
    /// no exception and no pending deletion: what every check makes.
    pub fn new(
        account: &AccountFacts,
        region: &str,
        check: CheckId,
        status: Status,
        resource_id: &str,
        detail: String,
    ) -> Finding {
        Finding {
            account_id: account.id.clone(),
            account_name: account.name.clone(),
            ou_path: account.ou_path.clone(),
            ou_id: account.ou_id.clone(),
            region: region.to_string(),
            check,
            status,
            resource_id: resource_id.to_string(),
            detail,
            exception: None,
            pending_deletion: None,
        }
    }

    pub fn subject(&self) -> Subject<'_> {
        match self.check.rows_per() {
            catalog::RowsPer::Region => Subject::Region,
            _ if self.resource_id.is_empty() => Subject::Region,
            catalog::RowsPer::Resource => Subject::Resource(&self.resource_id),
            catalog::RowsPer::Event => Subject::Event {
                resource: &self.resource_id,
                detail: &self.detail,
            },
        }
    }

    /// Whether the row says the check could not be run at all here (the
    /// listing it needed failed): an ERROR standing for the whole region,
    /// which hides whatever rows the check would have had.
    pub fn check_failed_here(&self) -> bool {
        self.status == Status::Error && self.resource_id.is_empty()
    }
}

/// Report order: by account, region, check and resource, so a report does
/// not depend on the order accounts finished in.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.account_id, &a.region, a.check, &a.resource_id, &a.detail).cmp(&(
            &b.account_id,
            &b.region,
            b.check,
            &b.resource_id,
            &b.detail,
        ))
    });
}

/// Whether the exception on a row accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionState {
    /// In force on the scan's day: the row is accepted.
    Active,
    /// Past its `expires` day: the row is flagged, not accepted.
    Expired,
}

impl ExceptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Active => "active",
            ExceptionState::Expired => "expired",
        }
    }
}

/// The exception a row carries: its `exception_id` and `exception_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionMark {
    pub id: String,
    pub state: ExceptionState,
}
