//! AWS Organizations: the organisation, its tree of organizational units
//! and their accounts. Organizations is slow and throttles hard (1 request
//! a second), so the listing is a stream walking the tree: accounts are
//! scanned while later parents are listed.

use std::collections::BTreeSet;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::Stream;

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::OrgAccount;

/// The most accounts (or OUs, or roots) Organizations returns in one page:
/// fewest pages at its strict pace.
const PAGE: i32 = 20;

/// Levels from an account up to its root: five of OUs, AWS's limit, and
/// the root.
const MAX_DEPTH: usize = 6;

/// Status recorded for an account whose state AWS did not report.
pub const UNREPORTED_STATE: &str = "UNREPORTED";

/// What `DescribeOrganization` tells the scan: who the organisation is and
/// which account manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationIds {
    /// `o-…`: reports name the organisation by it.
    pub id: String,
    pub management_account_id: String,
}

/// The organisation's id and its management account id.
pub async fn describe_organization(
    runner: &AccountSession,
    region: &str,
) -> Result<OrganizationIds, CallError> {
    let client = runner.organizations(region);
    let out = runner
        .throttle
        .call(
            Api::OrganizationsDescribeOrganization,
            &runner.scope(region),
            || client.describe_organization().send(),
        )
        .await?;
    let malformed = |what: &str| {
        CallError::new(
            Api::OrganizationsDescribeOrganization,
            "MalformedResponse",
            format!("no {what} in the organization"),
        )
    };
    let organization = out
        .organization()
        .ok_or_else(|| malformed("organization"))?;
    Ok(OrganizationIds {
        id: organization
            .id()
            .map(str::to_string)
            .ok_or_else(|| malformed("id"))?,
        management_account_id: organization
            .master_account_id()
            .map(str::to_string)
            .ok_or_else(|| malformed("management account id"))?,
    })
}

/// A root or an organizational unit, where the tree walk lists accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub id: String,
    /// By name from the root, e.g. `Root/Workloads/Prod` (the root's own
    /// name as Organizations returns it).
    pub path: String,
}

/// Which subtrees the walk lists accounts from (`--ous`, `--exclude-ous`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OuScope {
    /// Only accounts under one of these (recursively); empty means all.
    pub include: BTreeSet<String>,
    /// Neither these nor anything under them, not even listed.
    pub exclude: BTreeSet<String>,
}

impl OuScope {
    /// Whether an account whose ancestors (root first, its parent last)
    /// are `ancestors` is in scope.
    pub fn covers<'s>(&self, ancestors: impl IntoIterator<Item = &'s str> + Clone) -> bool {
        let under =
            |set: &BTreeSet<String>| ancestors.clone().into_iter().any(|id| set.contains(id));
        (self.include.is_empty() || under(&self.include)) && !under(&self.exclude)
    }
}

/// The service principal of CloudTrail, whose trusted access organisation
/// trails need.
pub const CLOUDTRAIL_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// Whether trusted access for CloudTrail is enabled in the organisation
/// (`ListAWSServiceAccessForOrganization`, which only the management account
/// or a delegated administrator may call). "If you disable trusted access
/// … the trails stop functioning for member accounts because CloudTrail
/// can't access the organization"
/// (https://docs.aws.amazon.com/organizations/latest/userguide/services-that-can-integrate-cloudtrail.html).
pub async fn cloudtrail_trusted_access(
    session: &AccountSession,
    region: &str,
) -> Result<bool, CallError> {
    let client = session.organizations(region);
    let principals = session
        .throttle
        .all_pages(
            Api::OrganizationsListAwsServiceAccessForOrganization,
            session.scope(region),
            move |token| {
                client
                    .list_aws_service_access_for_organization()
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| {
                page.enabled_service_principals()
                    .iter()
                    .filter_map(|p| p.service_principal().map(str::to_string))
                    .collect()
            },
        )
        .await?;
    Ok(principals.iter().any(|p| p == CLOUDTRAIL_PRINCIPAL))
}

/// The organisation's roots (there is one today; the API is paged anyway).
pub async fn roots(session: &AccountSession, region: &str) -> Result<Vec<Parent>, CallError> {
    let client = session.organizations(region);
    session
        .throttle
        .all_pages(
            Api::OrganizationsListRoots,
            session.scope(region),
            move |token| {
                client
                    .list_roots()
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| {
                page.roots()
                    .iter()
                    .map(|root| Parent {
                        id: root.id().unwrap_or_default().to_string(),
                        path: root.name().unwrap_or_default().to_string(),
                    })
                    .collect()
            },
        )
        .await
}

/// Whether an OU id names an organizational unit of the organisation:
/// `Ok(false)` when Organizations answers that it does not exist.
pub async fn ou_exists(
    session: &AccountSession,
    region: &str,
    ou_id: &str,
) -> Result<bool, CallError> {
    let client = session.organizations(region);
    let answer = session
        .throttle
        .call(
            Api::OrganizationsDescribeOrganizationalUnit,
            &session.scope(region),
            || {
                client
                    .describe_organizational_unit()
                    .organizational_unit_id(ou_id)
                    .send()
            },
        )
        .await;
    match answer {
        Ok(_) => Ok(true),
        Err(err) if err.code == "OrganizationalUnitNotFoundException" => Ok(false),
        Err(err) => Err(err),
    }
}

/// Whether the organisation has this account: `ListParents` answers for
/// any account in it, active or not, and fails with
/// `ChildNotFoundException` for one it does not have (the emulator says
/// `AccountNotFoundException`).
pub async fn account_exists(
    session: &AccountSession,
    region: &str,
    account_id: &str,
) -> Result<bool, CallError> {
    let client = session.organizations(region);
    let answer = session
        .throttle
        .call(
            Api::OrganizationsListParents,
            &session.scope(region),
            || client.list_parents().child_id(account_id).send(),
        )
        .await;
    match answer {
        Ok(_) => Ok(true),
        Err(err)
            if matches!(
                err.code.as_str(),
                "ChildNotFoundException" | "AccountNotFoundException"
            ) =>
        {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// The ids of an account's ancestors, root first and its parent last:
/// `ListParents` from the account up to the root, one request a level.
pub async fn ancestors(
    session: &AccountSession,
    region: &str,
    account_id: &str,
) -> Result<Vec<String>, CallError> {
    let client = session.organizations(region);
    let mut chain = Vec::new();
    let mut child = account_id.to_string();
    // Organizations nests OUs at most five deep under the root; the bound
    // only stops a malformed answer from looping.
    for _ in 0..MAX_DEPTH {
        let parents = session
            .throttle
            .all_pages(
                Api::OrganizationsListParents,
                session.scope(region),
                |token| {
                    client
                        .list_parents()
                        .child_id(&child)
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
                |page| {
                    page.parents()
                        .iter()
                        .map(|p| {
                            let is_root = p.r#type().is_some_and(|t| t.as_str() == "ROOT");
                            (p.id().unwrap_or_default().to_string(), is_root)
                        })
                        .collect()
                },
            )
            .await?;
        let Some((parent, is_root)) = parents.into_iter().next() else {
            break;
        };
        chain.push(parent.clone());
        if is_root {
            break;
        }
        child = parent;
    }
    chain.reverse();
    Ok(chain)
}

/// Every account under `roots` within `scope`, as a stream: a depth-first
/// walk that lists each parent's accounts (`ListAccountsForParent`) before
/// its child OUs (`ListOrganizationalUnitsForParent`), so scanning starts
/// with the first page and the next page is requested only when the
/// consumer wants more. Excluded subtrees are not walked at all. Pages may
/// be empty while a NextToken is set.
pub fn accounts<'a>(
    session: &'a AccountSession,
    region: &'a str,
    roots: Vec<Parent>,
    scope: &'a OuScope,
) -> impl Stream<Item = Result<OrgAccount, CallError>> + 'a {
    stream::iter(roots)
        .map(move |root| Ok(under(session, region, root, Vec::new(), scope)))
        .try_flatten()
}

/// The accounts of `parent` and of every OU below it. `ancestors` are the
/// ids above `parent`, root first.
fn under<'a>(
    session: &'a AccountSession,
    region: &'a str,
    parent: Parent,
    mut ancestors: Vec<String>,
    scope: &'a OuScope,
) -> BoxStream<'a, Result<OrgAccount, CallError>> {
    if scope.exclude.contains(&parent.id) {
        return stream::empty().boxed();
    }
    ancestors.push(parent.id.clone());
    let in_scope = scope.covers(ancestors.iter().map(String::as_str));
    let client = session.organizations(region);
    // Outside `--ous` the walk only looks for OUs below, so it does not
    // list accounts here at all.
    let accounts = if in_scope {
        accounts_of(
            session,
            region,
            client.clone(),
            parent.clone(),
            ancestors.clone(),
        )
        .boxed()
    } else {
        stream::empty().boxed()
    };
    let parent_id = parent.id.clone();
    let children = session
        .throttle
        .page_items(
            Api::OrganizationsListOrganizationalUnitsForParent,
            session.scope(region),
            move |token| {
                client
                    .list_organizational_units_for_parent()
                    .parent_id(&parent_id)
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            move |page| {
                page.organizational_units()
                    .iter()
                    .map(|ou| Parent {
                        id: ou.id().unwrap_or_default().to_string(),
                        path: format!("{}/{}", parent.path, ou.name().unwrap_or_default()),
                    })
                    .collect()
            },
        )
        .map_ok(move |child| under(session, region, child, ancestors.clone(), scope))
        .try_flatten();
    accounts.chain(children).boxed()
}

/// One parent's own accounts, page by page. `ancestors` are the ids from
/// the root down to `parent`, both included.
fn accounts_of<'a>(
    session: &'a AccountSession,
    region: &str,
    client: aws_sdk_organizations::Client,
    parent: Parent,
    ancestors: Vec<String>,
) -> impl Stream<Item = Result<OrgAccount, CallError>> + 'a {
    let parent_id = parent.id.clone();
    session.throttle.page_items(
        Api::OrganizationsListAccountsForParent,
        session.scope(region),
        move |token| {
            client
                .list_accounts_for_parent()
                .parent_id(&parent_id)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
        move |page| {
            page.accounts()
                .iter()
                .map(|a| org_account(a, &parent, &ancestors))
                .collect()
        },
    )
}

fn org_account(
    account: &aws_sdk_organizations::types::Account,
    parent: &Parent,
    ancestors: &[String],
) -> OrgAccount {
    OrgAccount {
        id: account.id().unwrap_or_default().to_string(),
        name: account.name().unwrap_or_default().to_string(),
        ou_path: parent.path.clone(),
        ou_id: parent.id.clone(),
        ou_ancestors: ancestors.to_vec(),
        // `State` replaces the retired `Status` field; read both so older
        // and newer API answers work alike.
        status: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| account.status().map(|s| s.as_str().to_string()))
            .unwrap_or_else(|| UNREPORTED_STATE.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_scope_includes_subtrees_and_exclusion_wins() {
        let ids = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect();
        let prod = ["r-ab12", "ou-ab12-workload", "ou-ab12-prod0001"];
        let dev = ["r-ab12", "ou-ab12-workload", "ou-ab12-dev00001"];
        let direct = ["r-ab12"];
        let all = OuScope::default();
        assert!(all.covers(prod) && all.covers(direct));
        let workloads = OuScope {
            include: ids(&["ou-ab12-workload"]),
            exclude: ids(&["ou-ab12-dev00001"]),
        };
        assert!(workloads.covers(prod));
        assert!(!workloads.covers(dev), "excluded inside an included OU");
        assert!(!workloads.covers(direct));
        let root = OuScope {
            include: ids(&["r-ab12"]),
            exclude: BTreeSet::new(),
        };
        assert!(root.covers(direct) && root.covers(dev));
    }
}
