//! What the scan learns before its first account: who runs it, through
//! which session it reads Organizations, the organisation's management
//! account and roots, and which part of the organisation it covers. Every
//! failure here ends the run before any account is touched; a bad
//! `--regions` or `--ous` is a usage error.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::SdkConfig;

use super::{ScanError, ScanOptions};
use crate::aws::access::{self, CallerIdentity, RoleRequest};
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, Throttle};
use crate::collect::organizations::{self, OuScope, Parent};
use crate::collect::regions::{self, RegionInfo};
use crate::facts::Fetched;
use crate::ids::{OuId, RegionSelection};

pub(super) struct Start {
    /// The runner's session, with its account id known.
    pub runner: AccountSession,
    pub caller: CallerIdentity,
    /// Makes the Organizations reads: the runner's own session, or the
    /// `--org-role` assumed for them.
    pub organizations: AccountSession,
    /// How member roles are assumed.
    pub role: RoleRequest,
    pub management_account_id: String,
    /// The organisation's `o-…` id, recorded in the evidence.
    pub organization_id: String,
    /// Whether trusted access for CloudTrail is enabled, or why that is not
    /// known: organisation trails credit members only while it is. A failure
    /// here does not stop the scan; it becomes part of the members' rows.
    pub cloudtrail_trusted_access: Fetched<bool>,
    /// `--ous` / `--exclude-ous`, every id known to exist.
    pub ou_scope: OuScope,
    /// Whether the management account is inside `ou_scope`: known before
    /// the listing reaches it, because its scan starts at once.
    pub management_in_ou_scope: bool,
}

/// What the scan learns first, and the roots the OU tree walk starts from.
pub(super) async fn start(
    config: SdkConfig,
    throttle: &Arc<Throttle>,
    options: &ScanOptions,
    scan_id: &str,
    home_region: &str,
) -> Result<(Start, Vec<Parent>), ScanError> {
    let endpoint = config.endpoint_url().map(str::to_string);
    let runner = AccountSession::runner(config, Arc::clone(throttle));
    let caller = access::caller_identity(&runner, home_region)
        .await
        .map_err(|call| identity_failure(call, home_region, endpoint.as_deref()))?;
    let runner = AccountSession {
        account_id: caller.account_id.clone(),
        ..runner
    };
    let role = RoleRequest {
        partition: caller.partition.clone(),
        role_name: options.role_name.clone(),
        external_id: options.external_id.clone(),
        session_name: format!("cmkscan-{scan_id}"),
        sts_region: home_region.to_string(),
    };
    let org_session = match &options.org_role {
        None => runner.clone(),
        Some(org_role) => access::assume_role_arn(
            &runner,
            org_role.account().as_str(),
            org_role.to_string(),
            &role,
        )
        .await
        .map_err(|source| ScanError::OrgRole {
            role: org_role.to_string(),
            source,
        })?,
    };
    let organizations::OrganizationIds {
        id: organization_id,
        management_account_id,
    } = organizations::describe_organization(&org_session, home_region)
        .await
        .map_err(ScanError::Organization)?;
    let cloudtrail_trusted_access =
        organizations::cloudtrail_trusted_access(&org_session, home_region).await;
    let partition_regions = regions::describe_regions(&runner, home_region, &caller.partition)
        .await
        .map_err(ScanError::PartitionRegions)?;
    validate_regions(&options.regions, &partition_regions, &caller.partition)?;
    let roots = organizations::roots(&org_session, home_region)
        .await
        .map_err(ScanError::AccountListing)?;
    let ou_scope = ou_scope(&org_session, home_region, options, &roots).await?;
    check_accounts(&org_session, home_region, options).await?;
    let management_in_ou_scope = ou_scope == OuScope::default()
        || ou_scope.covers(
            organizations::ancestors(&org_session, home_region, &management_account_id)
                .await
                .map_err(ScanError::CheckOus)?
                .iter()
                .map(String::as_str),
        );
    let start = Start {
        runner,
        caller,
        organizations: org_session,
        role,
        management_account_id,
        organization_id,
        cloudtrail_trusted_access,
        ou_scope,
        management_in_ou_scope,
    };
    Ok((start, roots))
}

/// The first call failed: say why in words a newcomer can act on. The
/// SDK's own text is the credential chain tried, provider by provider, or a
/// resolver's message; it stays in the error for the JSON log and debug
/// level.
fn identity_failure(call: CallError, region: &str, endpoint: Option<&str>) -> ScanError {
    let reached = match endpoint {
        Some(url) => format!("the endpoint {url}"),
        None => format!("the STS endpoint of region {region}"),
    };
    let cause = if call.code == "DispatchFailure" && call.message.contains("no credentials found") {
        "no AWS credentials found (tried the environment, the profile, web identity, the ECS \
         container and EC2 instance metadata): set AWS_PROFILE or --profile to a profile with \
         credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            .to_string()
    } else if call.code == "DispatchFailure" && call.message.contains("loading credentials") {
        format!("cannot load AWS credentials: {}", call.message)
    } else if call.is_unresolved_host() {
        match endpoint {
            Some(_) => format!("{reached} does not resolve (DNS): check AWS_ENDPOINT_URL"),
            None => format!(
                "{reached} does not resolve (DNS): is {region:?} a region? Check --region or AWS_REGION"
            ),
        }
    } else if matches!(call.code.as_str(), "DispatchFailure" | "TimeoutError") {
        format!("cannot reach {reached}: {call}")
    } else {
        format!("AWS refused the credentials: {call}")
    };
    ScanError::Identity { cause, call }
}

/// Every account `--accounts` names must be in the organisation: an id
/// outside it would otherwise give an empty report and a success.
/// `ListParents` of an account the organisation does not have fails with
/// `ChildNotFoundException` (AWS Organizations API reference, ListParents;
/// the emulator answers `AccountNotFoundException`). One request per id,
/// before any account is scanned.
async fn check_accounts(
    organizations_session: &AccountSession,
    region: &str,
    options: &ScanOptions,
) -> Result<(), ScanError> {
    let mut unknown = Vec::new();
    for id in &options.include_accounts {
        if !organizations::account_exists(organizations_session, region, id.as_str())
            .await
            .map_err(ScanError::CheckAccounts)?
        {
            unknown.push(id.to_string());
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ScanError::UnknownAccounts(unknown))
    }
}

fn validate_regions(
    selection: &RegionSelection,
    partition_regions: &[RegionInfo],
    partition: &str,
) -> Result<(), ScanError> {
    let RegionSelection::Listed(wanted) = selection else {
        return Ok(());
    };
    let known: BTreeSet<&str> = partition_regions.iter().map(|r| r.name.as_str()).collect();
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|r| !known.contains(r.as_str()))
        .map(|r| r.as_str().to_string())
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ScanError::UnknownRegions {
            unknown,
            partition: partition.to_string(),
            known: known.into_iter().map(str::to_string).collect(),
        })
    }
}

/// `--ous` / `--exclude-ous` once every id they name is known to exist:
/// roots against the root list, OUs with `DescribeOrganizationalUnit`. An id
/// that does not exist is a usage error, found before any account is
/// scanned.
async fn ou_scope(
    organizations_session: &AccountSession,
    region: &str,
    options: &ScanOptions,
    roots: &[Parent],
) -> Result<OuScope, ScanError> {
    let mut unknown = Vec::new();
    for id in options.include_ous.iter().chain(&options.exclude_ous) {
        let exists = if id.is_root() {
            roots.iter().any(|root| root.id == id.as_str())
        } else {
            organizations::ou_exists(organizations_session, region, id.as_str())
                .await
                .map_err(ScanError::CheckOus)?
        };
        if !exists {
            unknown.push(id.to_string());
        }
    }
    if !unknown.is_empty() {
        return Err(ScanError::UnknownOus(unknown));
    }
    let ids = |set: &BTreeSet<OuId>| set.iter().map(|id| id.as_str().to_string()).collect();
    Ok(OuScope {
        include: ids(&options.include_ous),
        exclude: ids(&options.exclude_ous),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> RegionInfo {
        RegionInfo {
            name: name.into(),
            opt_in_status: "opt-in-not-required".into(),
        }
    }

    #[test]
    fn listed_regions_must_exist_in_the_partition() {
        let known = [region("us-east-1"), region("eu-west-1")];
        let listed = |names: &[&str]| {
            RegionSelection::Listed(names.iter().map(|n| n.parse().unwrap()).collect())
        };
        assert!(validate_regions(&listed(&["us-east-1"]), &known, "aws").is_ok());
        assert!(validate_regions(&RegionSelection::All, &known, "aws").is_ok());
        let err =
            validate_regions(&listed(&["us-east-1", "mars-north-1"]), &known, "aws").unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().contains("mars-north-1"), "{err}");
    }
}
