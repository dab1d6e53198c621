//! AWS Organizations: the organisation and its accounts. Organizations is
//! slow and throttles hard (`ListAccounts` at 1 request a second), so its
//! listing is a stream: accounts are scanned while later pages are listed.

use futures::stream::{self, TryStreamExt};
use futures::Stream;

use super::session::AccountSession;
use crate::api::Api;
use crate::facts::OrgAccount;
use crate::throttle::CallError;

/// The most accounts Organizations returns in one page: fewest pages at the
/// strict ListAccounts pace.
const LIST_ACCOUNTS_PAGE: i32 = 20;

/// Status recorded for an account whose state AWS did not report.
pub const UNREPORTED_STATE: &str = "UNREPORTED";

/// The organisation's management account id.
pub async fn management_account_id(
    runner: &AccountSession,
    region: &str,
) -> Result<String, CallError> {
    let client = runner.organizations(region);
    let out = runner
        .throttle
        .call(
            Api::OrganizationsDescribeOrganization,
            &runner.scope(region),
            || client.describe_organization().send(),
        )
        .await?;
    out.organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_string)
        .ok_or_else(|| {
            CallError::new(
                Api::OrganizationsDescribeOrganization,
                "MalformedResponse",
                "no management account id in the organization",
            )
        })
}

/// Every account of the organisation, page by page, as a stream: scanning
/// starts with the first page, and the next page is requested only when
/// the consumer wants more. Pages may be empty while a NextToken is set.
pub fn accounts<'a>(
    runner: &'a AccountSession,
    region: &str,
) -> impl Stream<Item = Result<OrgAccount, CallError>> + 'a {
    let client = runner.organizations(region);
    runner
        .throttle
        .pages(
            Api::OrganizationsListAccounts,
            runner.scope(region),
            move |token| {
                client
                    .list_accounts()
                    .max_results(LIST_ACCOUNTS_PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
        )
        .map_ok(|page| {
            let accounts: Vec<Result<OrgAccount, CallError>> =
                page.accounts().iter().map(|a| Ok(org_account(a))).collect();
            stream::iter(accounts)
        })
        .try_flatten()
}

fn org_account(account: &aws_sdk_organizations::types::Account) -> OrgAccount {
    OrgAccount {
        id: account.id().unwrap_or_default().to_string(),
        name: account.name().unwrap_or_default().to_string(),
        // `State` replaces the retired `Status` field; read both so older
        // and newer API answers work alike.
        status: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| account.status().map(|s| s.as_str().to_string()))
            .unwrap_or_else(|| UNREPORTED_STATE.into()),
    }
}
