//! Facts shared by the checks' unit tests.

use super::catalog::{CheckId, Status};
use super::{Finding, RegionContext, ScanContext};
use crate::facts::{
    AccountFacts, ConfigFacts, DescribedTrail, EventSelectors, Fetched, KmsFacts, RegionFacts,
    TrailFacts, TrailStatus,
};

/// A logging multi-region trail with an S3 bucket and default selectors, no
/// log group; tests change the field they are about.
pub fn logging_trail() -> TrailFacts {
    TrailFacts {
        described: DescribedTrail {
            arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".into(),
            name: "main".into(),
            home_region: "us-east-1".into(),
            is_multi_region: true,
            is_organization_trail: false,
            s3_bucket: Some("trail-bucket".into()),
            log_group_arn: None,
        },
        status: Ok(TrailStatus {
            is_logging: true,
            ..Default::default()
        }),
        selectors: Ok(EventSelectors::Default),
        metric_filters: None,
    }
}

/// A member account (111122223333) with one region, `region`, and no trails.
pub fn account(region: RegionFacts) -> AccountFacts {
    AccountFacts {
        id: "111122223333".into(),
        name: "member".into(),
        ou_path: "Root/Workloads".into(),
        ou_id: "ou-ab12-workload".into(),
        ou_ancestors: vec!["r-ab12".into(), "ou-ab12-workload".into()],
        access: Ok(()),
        skipped_regions: vec![],
        trails: vec![],
        regions: vec![region],
    }
}

/// us-east-1 with nothing in it: no trails, recorders, rules, keys or events.
pub fn empty_region() -> RegionFacts {
    RegionFacts {
        region: "us-east-1".into(),
        visible_trails: Ok(vec![]),
        config: Ok(ConfigFacts::default()),
        rules: Ok(vec![]),
        keys: Ok(KmsFacts::default()),
        recent_events: Ok(vec![]),
    }
}

/// The findings of every regional check for `account`'s first region, as
/// seen from a management account that is not `account`, in an
/// organisation with trusted access for CloudTrail enabled.
pub fn evaluate_region(
    account: &AccountFacts,
    org_trails: &Fetched<Vec<TrailFacts>>,
) -> Vec<Finding> {
    evaluate_region_with(account, org_trails, &Some(Ok(true)))
}

/// [`evaluate_region`] with trusted access for CloudTrail as given.
pub fn evaluate_region_with(
    account: &AccountFacts,
    org_trails: &Fetched<Vec<TrailFacts>>,
    trusted_access: &Option<Fetched<bool>>,
) -> Vec<Finding> {
    let scan = ScanContext {
        management_account_id: "999999999999",
        organization_id: "o-a1b2c3d4e5",
        organization_trails: org_trails,
        cloudtrail_trusted_access: trusted_access,
        lookback_days: 7,
    };
    let ctx = RegionContext {
        scan: &scan,
        account,
        region: &account.regions[0],
    };
    let mut out = Vec::new();
    super::evaluate_region(&ctx, &mut out);
    out
}

/// The (status, detail) of each finding of `check`.
pub fn verdicts(findings: &[Finding], check: CheckId) -> Vec<(Status, String)> {
    findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| (f.status, f.detail.clone()))
        .collect()
}

/// A finding of `check` with `status` in the member account 111122223333
/// (`prod`, under `Root/Workloads`) in us-east-1, about the whole region
/// and with no detail: tests change the fields they are about.
pub fn finding(check: CheckId, status: Status) -> Finding {
    Finding {
        account_id: "111122223333".into(),
        account_name: "prod".into(),
        ou_path: "Root/Workloads".into(),
        ou_id: "ou-ab12-workload".into(),
        region: "us-east-1".into(),
        check,
        status,
        resource_id: String::new(),
        detail: String::new(),
        exception: None,
        pending_deletion: None,
    }
}

/// A finding of `check` with `status` about `region` of `account`, with
/// no account name and no OU (as in facts recorded before OUs were
/// listed), about the whole region.
pub fn bare_finding(account: &str, region: &str, check: CheckId, status: Status) -> Finding {
    Finding {
        account_id: account.into(),
        account_name: String::new(),
        ou_path: String::new(),
        ou_id: String::new(),
        region: region.into(),
        ..finding(check, status)
    }
}
