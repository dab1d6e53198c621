//! Getting into accounts: who the runner is, and the read-only role in each
//! member account.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_runtime::client::identity::IdentityCache;

use super::external_id::ExternalId;
use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, QuotaScope, Throttle};

/// The identity the scan runs as, from `sts:GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account_id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, …: read from the caller's ARN, so role
    /// ARNs and endpoints follow the partition the runner is really in.
    pub partition: String,
}

pub async fn caller_identity(
    runner: &AccountSession,
    region: &str,
) -> Result<CallerIdentity, CallError> {
    let sts = runner.sts(region);
    // GetCallerIdentity needs no permission; its quota is the runner's own.
    let out = runner
        .throttle
        .call(Api::StsGetCallerIdentity, &runner.scope(region), || {
            sts.get_caller_identity().send()
        })
        .await?;
    let arn = out.arn().unwrap_or_default();
    let partition = Arn::parse(arn).ok().map(|a| a.partition);
    match (out.account(), partition) {
        (Some(account), Some(partition)) => Ok(CallerIdentity {
            account_id: account.to_string(),
            partition: partition.to_string(),
        }),
        _ => Err(CallError::new(
            Api::StsGetCallerIdentity,
            "MalformedResponse",
            format!("no account or partition in the caller identity (arn {arn:?})"),
        )),
    }
}

/// What is needed to assume the scan role in a member account.
#[derive(Debug, Clone)]
pub struct RoleRequest {
    pub partition: String,
    pub role_name: String,
    pub external_id: Option<ExternalId>,
    pub session_name: String,
    /// Region whose STS endpoint is used (the runner's region).
    pub sts_region: String,
}

/// Assumes the scan role in `account_id` and returns a session for it. The
/// first AssumeRole happens here, so an account whose role cannot be assumed
/// fails once, up front, instead of in every later call.
pub async fn assume_role(
    runner: &AccountSession,
    account_id: &str,
    request: &RoleRequest,
) -> Result<AccountSession, CallError> {
    let role_arn = Arn {
        partition: &request.partition,
        service: "iam",
        region: "",
        account: account_id,
        resource: &format!("role/{}", request.role_name),
    }
    .to_string();
    assume_role_arn(runner, account_id, role_arn, request).await
}

/// Assumes the role `role_arn` of `account_id` with the request's external
/// id and session name (the role name of `request` is not used): the
/// `--org-role` of the Organizations reads.
pub async fn assume_role_arn(
    runner: &AccountSession,
    account_id: &str,
    role_arn: String,
    request: &RoleRequest,
) -> Result<AccountSession, CallError> {
    let provider = AssumedRole {
        sts: runner.sts(&request.sts_region),
        throttle: Arc::clone(&runner.throttle),
        // STS quotas count against the caller, i.e. the runner's account.
        scope: runner.scope(&request.sts_region),
        role_arn,
        external_id: request.external_id.clone(),
        session_name: request.session_name.clone(),
        current: Mutex::new(None),
    };
    let first = provider.assume().await?;
    *provider
        .current
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(first);

    // Each account gets its own identity cache: the shared lazy cache keeps
    // 64 partitions, and a larger org would then repeat AssumeRole calls.
    let config = runner
        .config
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .identity_cache(IdentityCache::lazy().build())
        .build();
    Ok(AccountSession {
        account_id: account_id.to_string(),
        config,
        throttle: Arc::clone(&runner.throttle),
        custom_endpoint: runner.custom_endpoint,
    })
}

/// Credentials from AssumeRole, renewed by the identity cache before they
/// expire, through the same throttle as every other call.
struct AssumedRole {
    sts: aws_sdk_sts::Client,
    throttle: Arc<Throttle>,
    scope: QuotaScope,
    role_arn: String,
    external_id: Option<ExternalId>,
    session_name: String,
    /// The latest credentials, reused until they near expiry: region
    /// discovery asks the provider directly and the SDK's identity cache asks
    /// it again, and neither should cost another AssumeRole.
    current: Mutex<Option<Credentials>>,
}

/// Names the role only: the external id and the credentials stay out of any
/// debug output the SDK or a log line might produce.
impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .finish_non_exhaustive()
    }
}

/// Credentials this close to expiry are renewed rather than handed out.
const RENEW_BEFORE: std::time::Duration = std::time::Duration::from_secs(300);

impl AssumedRole {
    async fn assume(&self) -> Result<Credentials, CallError> {
        let out = self
            .throttle
            .call(Api::StsAssumeRole, &self.scope, || {
                self.sts
                    .assume_role()
                    .role_arn(&self.role_arn)
                    .role_session_name(&self.session_name)
                    .set_external_id(self.external_id.as_ref().map(|id| id.expose().to_string()))
                    .send()
            })
            .await?;
        let creds = out.credentials().ok_or_else(|| {
            CallError::new(
                Api::StsAssumeRole,
                "MalformedResponse",
                "AssumeRole returned no credentials",
            )
        })?;
        let expiry = SystemTime::try_from(*creds.expiration()).ok();
        Ok(Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            expiry,
            "cmkscan-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let fresh = self
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .filter(|creds| {
                    creds
                        .expiry()
                        .is_none_or(|expiry| expiry > SystemTime::now() + RENEW_BEFORE)
                });
            if let Some(creds) = fresh {
                return Ok(creds);
            }
            let creds = self
                .assume()
                .await
                .map_err(|err| CredentialsError::provider_error(err.to_string()))?;
            *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(creds.clone());
            Ok(creds)
        })
    }
}
