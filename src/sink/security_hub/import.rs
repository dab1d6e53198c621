//! The import itself: every account through its import role, every region
//! it has findings for (and the runner's region, where rows about the
//! whole account go) at once. In each region: the findings cmkscan sent
//! before (`GetFindings`), then this scan's findings and the archival of
//! those it no longer reports (`BatchImportFindings`, 100 a request). Every
//! request goes through the throttle, paced per account × region and
//! retried like any other.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::num::NonZeroUsize;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, RecordState, StringFilter,
    StringFilterComparison,
};
use futures::stream::{self, StreamExt};

use super::asff::{self, Context, Earlier};
use crate::aws::access::{self, RoleRequest};
use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::checks::catalog::CheckId;
use crate::checks::{Finding, ACCOUNT_WIDE};
use crate::exceptions::ExceptionOutcome;
use crate::findings::{FindingRows, IssueOutcome, SecurityHubIssue, SecurityHubSummary};

/// The most findings `BatchImportFindings` takes at once.
const BATCH_SIZE: usize = 100;

/// The most findings a `GetFindings` page holds.
const PAGE_SIZE: i32 = 100;

/// Security Hub's answer in an account and region where it is not enabled.
const NOT_ENABLED: &str = "InvalidAccessException";

/// STS's answer when a role does not exist or does not trust the caller.
const ROLE_REFUSED: &str = "AccessDenied";

/// Everything the import needs besides the findings.
pub struct Import<'a> {
    /// The runner's session: it assumes the import roles.
    pub runner: &'a AccountSession,
    /// The import role (`--security-hub-role-name`), with the scan's
    /// external id and session name.
    pub role: RoleRequest,
    pub partition: &'a str,
    /// The runner's region, where rows about a whole account go.
    pub home_region: &'a str,
    pub scan_id: &'a str,
    pub scan_time: &'a str,
    /// Now, RFC 3339: the `UpdatedAt` of everything sent.
    pub imported_at: &'a str,
    /// Accounts imported at once.
    pub concurrency: NonZeroUsize,
    /// The exceptions file's entries, for the rows they mark.
    pub exceptions: &'a [ExceptionOutcome],
}

/// Imports `findings` (in report order, account by account) and archives
/// what cmkscan sent before and no longer reports. Only reading the
/// findings back can fail; everything AWS answers ends up in the summary.
pub async fn import(
    import: &Import<'_>,
    findings: &dyn FindingRows,
) -> io::Result<SecurityHubSummary> {
    let accounts = AccountGroups {
        rows: findings.rows(),
        pending: None,
    };
    let mut results = stream::iter(accounts)
        .map(|group| async move {
            match group {
                Ok(findings) => Ok(import_account(import, findings).await),
                Err(err) => Err(err),
            }
        })
        .buffer_unordered(import.concurrency.get());
    let mut total = SecurityHubSummary::default();
    while let Some(account) = results.next().await {
        total.add(account?);
    }
    Ok(total)
}

/// The rows of one account after another: the report order is by account.
struct AccountGroups<I> {
    rows: I,
    /// The first row of the next account, read to see the last one end.
    pending: Option<Finding>,
}

impl<I: Iterator<Item = io::Result<Finding>>> Iterator for AccountGroups<I> {
    type Item = io::Result<Vec<Finding>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut group: Vec<Finding> = self.pending.take().into_iter().collect();
        loop {
            match self.rows.next() {
                None => return (!group.is_empty()).then_some(Ok(group)),
                Some(Err(err)) => return Some(Err(err)),
                Some(Ok(finding)) => {
                    if group
                        .first()
                        .is_some_and(|first| first.account_id != finding.account_id)
                    {
                        self.pending = Some(finding);
                        return Some(Ok(group));
                    }
                    group.push(finding);
                }
            }
        }
    }
}

async fn import_account(import: &Import<'_>, findings: Vec<Finding>) -> SecurityHubSummary {
    let account = findings
        .first()
        .map(|f| f.account_id.clone())
        .unwrap_or_default();
    let scanned: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.region != ACCOUNT_WIDE)
        .map(|f| f.region.clone())
        .collect();
    let failed_checks: BTreeSet<(String, CheckId)> = findings
        .iter()
        .filter(|f| f.check_failed_here())
        .map(|f| (asff::region_of(f, import.home_region).to_string(), f.check))
        .collect();
    // The runner's region is always visited: an earlier access error of
    // this account may be there to archive.
    let mut by_region: BTreeMap<String, Vec<Finding>> =
        BTreeMap::from([(import.home_region.to_string(), Vec::new())]);
    for finding in findings {
        let region = asff::region_of(&finding, import.home_region).to_string();
        by_region.entry(region).or_default().push(finding);
    }
    let session = match access::assume_role(import.runner, &account, &import.role).await {
        Ok(session) => session,
        Err(err) => {
            tracing::warn!(account, error = %err, "cannot assume the Security Hub import role");
            let outcome = if err.code == ROLE_REFUSED {
                IssueOutcome::Skipped
            } else {
                IssueOutcome::Failed
            };
            let reason = format!(
                "cannot assume the import role {}: {err}",
                import.role.role_name
            );
            let mut total = SecurityHubSummary {
                accounts: 1,
                accounts_without_role: usize::from(outcome == IssueOutcome::Skipped),
                ..SecurityHubSummary::default()
            };
            for (region, findings) in by_region {
                total.add(not_imported(
                    &account,
                    region,
                    outcome,
                    findings.len(),
                    &reason,
                ));
            }
            return total;
        }
    };
    let regions = by_region.into_iter().map(|(region, findings)| {
        let covered = covered_checks(&scanned, &failed_checks, &region, import.home_region);
        import_region(import, &session, region, findings, covered)
    });
    let mut total = SecurityHubSummary {
        accounts: 1,
        ..SecurityHubSummary::default()
    };
    for region in futures::future::join_all(regions).await {
        total.add(region);
    }
    session.throttle.forget_account(&account);
    total
}

/// The checks whose earlier findings in `region` this scan speaks for, so
/// that their absence now means they vanished: the regional checks where
/// the region was scanned, the account's access in the runner's region. A
/// region not scanned this time (or an account not reached) keeps its
/// earlier findings: nothing is known about them. Nor is anything known of
/// a check that failed there as a whole (`failed`: its ERROR row stands for
/// the region, as when `ListKeys` was refused): the keys it would have
/// named are not gone, only unseen, and their findings stay as they were.
fn covered_checks(
    scanned: &BTreeSet<String>,
    failed: &BTreeSet<(String, CheckId)>,
    region: &str,
    home_region: &str,
) -> BTreeSet<CheckId> {
    CheckId::ALL
        .into_iter()
        .filter(|check| match check {
            CheckId::AccountAccess => region == home_region,
            _ => scanned.contains(region),
        })
        .filter(|check| !failed.contains(&(region.to_string(), *check)))
        .collect()
}

/// A summary of findings that were not imported.
fn not_imported(
    account: &str,
    region: String,
    outcome: IssueOutcome,
    findings: usize,
    reason: &str,
) -> SecurityHubSummary {
    let mut summary = SecurityHubSummary::default();
    match outcome {
        IssueOutcome::Skipped if findings == 0 => return summary,
        IssueOutcome::Skipped => summary.skipped = findings,
        IssueOutcome::Failed => summary.failed = findings,
    }
    summary.issues.push(SecurityHubIssue {
        account_id: account.to_string(),
        region,
        outcome,
        findings,
        reason: reason.to_string(),
    });
    summary
}

async fn import_region(
    import: &Import<'_>,
    session: &AccountSession,
    region: String,
    findings: Vec<Finding>,
    covered: BTreeSet<CheckId>,
) -> SecurityHubSummary {
    let account = session.account_id.clone();
    let client = session.securityhub(&region);
    let product_arn = asff::product_arn(import.partition, &region, &account);
    let earlier = match earlier_findings(session, &client, &region, &product_arn, &covered).await {
        Ok(earlier) => earlier,
        Err(err) if err.code == NOT_ENABLED => {
            let reason = format!("Security Hub is not enabled in this region: {err}");
            return not_imported(
                &account,
                region,
                IssueOutcome::Skipped,
                findings.len(),
                &reason,
            );
        }
        Err(err) => {
            let reason = format!("cannot read cmkscan's earlier findings: {err}");
            return not_imported(
                &account,
                region,
                IssueOutcome::Failed,
                findings.len(),
                &reason,
            );
        }
    };
    let ctx = Context {
        partition: import.partition,
        home_region: import.home_region,
        scan_id: import.scan_id,
        scan_time: import.scan_time,
        imported_at: import.imported_at,
        exceptions: import.exceptions,
    };
    let earlier_by_id: HashMap<&str, Earlier> = earlier
        .iter()
        .filter_map(|f| {
            Some((
                f.id()?,
                Earlier {
                    created_at: f.created_at.clone(),
                    first_observed_at: f.first_observed_at.clone(),
                },
            ))
        })
        .collect();
    let current: Vec<AwsSecurityFinding> = findings
        .iter()
        .map(|f| {
            let id = asff::finding_id(f, &region);
            asff::to_asff(&ctx, f, earlier_by_id.get(id.as_str()))
        })
        .collect();
    let current_ids: HashSet<&str> = current.iter().filter_map(|f| f.id()).collect();
    let vanished: Vec<AwsSecurityFinding> = earlier
        .iter()
        .filter(|f| f.id().is_some_and(|id| !current_ids.contains(id)))
        .map(|f| asff::archived(f, import.imported_at))
        .collect();
    let imported = send(session, &client, &region, &current).await;
    let archived = send(session, &client, &region, &vanished).await;
    let mut summary = SecurityHubSummary {
        imported: imported.succeeded,
        archived: archived.succeeded,
        failed: imported.failed,
        archive_failed: archived.failed,
        ..SecurityHubSummary::default()
    };
    for (what, sent) in [("import", imported), ("archival", archived)] {
        if let Some(reason) = sent.reason {
            summary.issues.push(SecurityHubIssue {
                account_id: account.clone(),
                region: region.clone(),
                outcome: IssueOutcome::Failed,
                findings: sent.failed,
                reason: format!("{what}: {reason}"),
            });
        }
    }
    summary
}

/// cmkscan's `ACTIVE` findings of the covered checks in this account and
/// region. The filters ask Security Hub for exactly those; each finding is
/// checked again here, so that whatever a filter let through, no other
/// product's finding (nor another check's) is ever archived.
async fn earlier_findings(
    session: &AccountSession,
    client: &aws_sdk_securityhub::Client,
    region: &str,
    product_arn: &str,
    covered: &BTreeSet<CheckId>,
) -> Result<Vec<AwsSecurityFinding>, CallError> {
    let filters = earlier_filters(&session.account_id, product_arn, covered);
    let all = session
        .throttle
        .all_pages(
            Api::SecurityHubGetFindings,
            session.scope(region),
            |token| {
                client
                    .get_findings()
                    .filters(filters.clone())
                    .max_results(PAGE_SIZE)
                    .set_next_token(token)
                    .send()
            },
            // An empty token ends the listing too.
            |page| page.next_token().filter(|token| !token.is_empty()),
            |page| page.findings.unwrap_or_default(),
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|f| is_ours(f, &session.account_id, product_arn, covered))
        .collect())
}

/// The `GetFindings` filters of [`earlier_findings`]: values of one field
/// are alternatives, fields all apply.
fn earlier_filters(
    account: &str,
    product_arn: &str,
    covered: &BTreeSet<CheckId>,
) -> AwsSecurityFindingFilters {
    let equals = |value: &str| {
        StringFilter::builder()
            .comparison(StringFilterComparison::Equals)
            .value(value)
            .build()
    };
    let mut filters = AwsSecurityFindingFilters::builder()
        .product_arn(equals(product_arn))
        .aws_account_id(equals(account))
        .record_state(equals(RecordState::Active.as_str()));
    for check in covered {
        filters = filters.generator_id(equals(&asff::generator_id(*check)));
    }
    filters.build()
}

fn is_ours(
    finding: &AwsSecurityFinding,
    account: &str,
    product_arn: &str,
    covered: &BTreeSet<CheckId>,
) -> bool {
    finding.product_arn() == Some(product_arn)
        && finding.aws_account_id() == Some(account)
        && finding.record_state() == Some(&RecordState::Active)
        && finding
            .generator_id()
            .and_then(asff::check_of_generator)
            .is_some_and(|check| covered.contains(&check))
}

/// What became of findings sent.
#[derive(Debug, Default)]
struct Sent {
    succeeded: usize,
    failed: usize,
    /// The first failure, for the summary.
    reason: Option<String>,
}

async fn send(
    session: &AccountSession,
    client: &aws_sdk_securityhub::Client,
    region: &str,
    findings: &[AwsSecurityFinding],
) -> Sent {
    let mut sent = Sent::default();
    for batch in findings.chunks(BATCH_SIZE) {
        let answer = session
            .throttle
            .call(
                Api::SecurityHubBatchImportFindings,
                &session.scope(region),
                || {
                    client
                        .batch_import_findings()
                        .set_findings(Some(batch.to_vec()))
                        .send()
                },
            )
            .await;
        let (failed, reason) = match answer {
            Ok(out) => {
                let refused = out.failed_findings();
                let count = usize::try_from(out.failed_count().unwrap_or(0))
                    .unwrap_or(0)
                    .max(refused.len())
                    .min(batch.len());
                let reason = refused.first().map(|first| {
                    format!(
                        "{} refused: {}: {}",
                        first.id().unwrap_or("a finding"),
                        first.error_code().unwrap_or("unknown"),
                        first.error_message().unwrap_or_default()
                    )
                });
                (count, reason)
            }
            Err(err) => (batch.len(), Some(err.to_string())),
        };
        sent.succeeded += batch.len() - failed;
        sent.failed += failed;
        if sent.reason.is_none() {
            sent.reason = reason;
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::Status;

    fn finding(account: &str, region: &str, check: CheckId) -> Finding {
        crate::checks::fixtures::bare_finding(account, region, check, Status::Pass)
    }

    #[test]
    fn rows_are_grouped_by_account_in_order() {
        let rows = vec![
            Ok(finding("111111111111", "eu-west-1", CheckId::KeyState)),
            Ok(finding("111111111111", "us-east-1", CheckId::KeyState)),
            Ok(finding("222222222222", "global", CheckId::AccountAccess)),
            Ok(finding("333333333333", "us-east-1", CheckId::KeyState)),
        ];
        let groups: Vec<Vec<String>> = AccountGroups {
            rows: rows.into_iter(),
            pending: None,
        }
        .map(|group| {
            group
                .expect("no read error")
                .into_iter()
                .map(|f| format!("{} {}", f.account_id, f.region))
                .collect()
        })
        .collect();
        assert_eq!(
            groups,
            [
                vec!["111111111111 eu-west-1", "111111111111 us-east-1"],
                vec!["222222222222 global"],
                vec!["333333333333 us-east-1"],
            ]
        );
        let failing = vec![Err(io::Error::other("disk"))];
        let mut groups = AccountGroups {
            rows: failing.into_iter(),
            pending: None,
        };
        assert!(groups.next().is_some_and(|g| g.is_err()));
    }

    #[test]
    fn only_what_this_scan_speaks_for_can_be_archived() {
        let scanned = BTreeSet::from(["eu-west-1".to_string(), "us-east-1".to_string()]);
        let regional: BTreeSet<CheckId> = CheckId::ALL[1..].iter().copied().collect();
        let mut with_access = regional.clone();
        with_access.insert(CheckId::AccountAccess);
        let none = BTreeSet::new();
        assert_eq!(
            covered_checks(&scanned, &none, "us-east-1", "us-east-1"),
            with_access
        );
        assert_eq!(
            covered_checks(&scanned, &none, "eu-west-1", "us-east-1"),
            regional
        );
        // The runner's region, not scanned: only the account's access.
        assert_eq!(
            covered_checks(&scanned, &none, "ap-south-1", "ap-south-1"),
            BTreeSet::from([CheckId::AccountAccess])
        );
        // An account not reached: nothing regional is known to be gone.
        assert_eq!(
            covered_checks(&BTreeSet::new(), &none, "us-east-1", "us-east-1"),
            BTreeSet::from([CheckId::AccountAccess])
        );
        // A check that failed as a whole in a region (ListKeys refused)
        // says nothing of what vanished there; elsewhere it still does.
        let failed = BTreeSet::from([("eu-west-1".to_string(), CheckId::KeyState)]);
        let mut without_keys = regional.clone();
        without_keys.remove(&CheckId::KeyState);
        assert_eq!(
            covered_checks(&scanned, &failed, "eu-west-1", "us-east-1"),
            without_keys
        );
        assert_eq!(
            covered_checks(&scanned, &failed, "us-east-1", "us-east-1"),
            with_access
        );
    }

    #[test]
    fn earlier_findings_are_asked_for_and_checked_by_product_account_and_generator() {
        let covered = BTreeSet::from([CheckId::KeyState, CheckId::KmsKeyRecording]);
        let arn = asff::product_arn("aws", "eu-west-1", "111122223333");
        let filters = earlier_filters("111122223333", &arn, &covered);
        let values = |list: &[StringFilter]| {
            list.iter()
                .map(|f| {
                    assert_eq!(f.comparison(), Some(&StringFilterComparison::Equals));
                    f.value().unwrap_or_default().to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(values(filters.product_arn()), [arn.as_str()]);
        assert_eq!(values(filters.aws_account_id()), ["111122223333"]);
        assert_eq!(values(filters.record_state()), ["ACTIVE"]);
        assert_eq!(
            values(filters.generator_id()),
            ["cmkscan/config.kms_key_recording", "cmkscan/kms.key_state"]
        );

        let ours = |generator: &str, product: &str, account: &str, state: RecordState| {
            AwsSecurityFinding::builder()
                .generator_id(generator)
                .product_arn(product)
                .aws_account_id(account)
                .record_state(state)
                .build()
        };
        let active = RecordState::Active;
        assert!(is_ours(
            &ours(
                "cmkscan/kms.key_state",
                &arn,
                "111122223333",
                active.clone()
            ),
            "111122223333",
            &arn,
            &covered
        ));
        for other in [
            ours(
                "cmkscan/kms.key_state",
                &arn,
                "111122223333",
                RecordState::Archived,
            ),
            ours(
                "cmkscan/cloudtrail.kms_events_logged",
                &arn,
                "111122223333",
                active.clone(),
            ),
            ours(
                "security-control/KMS.3",
                &arn,
                "111122223333",
                active.clone(),
            ),
            ours(
                "cmkscan/kms.key_state",
                "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
                "111122223333",
                active.clone(),
            ),
            ours(
                "cmkscan/kms.key_state",
                &arn,
                "444455556666",
                active.clone(),
            ),
        ] {
            assert!(
                !is_ours(&other, "111122223333", &arn, &covered),
                "{other:?}"
            );
        }
    }
}
