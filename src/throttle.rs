//! Every AWS request goes through [`Throttle::call`]: it waits for the rate
//! limiter of its (account, region, API), counts the request, and turns an SDK
//! failure into a [`CallError`] that names the service, the API and the code.
//!
//! Retries with backoff for throttling and 5xx are the SDK's (standard retry
//! mode, per-account retry partition); this module only keeps cmkscan itself
//! under the quotas so that retries are the exception.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::api::Api;

/// A failed AWS request, as it appears in an ERROR row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{api} failed: {code}: {message}")]
pub struct CallError {
    /// `service:Operation`, e.g. `kms:ListKeys`.
    pub api: String,
    /// The AWS error code (`AccessDeniedException`, `ThrottlingException`, …),
    /// or the SDK's failure kind when no response arrived (`DispatchFailure`,
    /// `TimeoutError`).
    pub code: String,
    pub message: String,
}

impl CallError {
    pub fn new(api: Api, code: impl Into<String>, message: impl Into<String>) -> Self {
        // Messages come from AWS and end up in one CSV cell and one log
        // line: line breaks and runs of blanks are folded to single spaces.
        let message = message
            .into()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            api: api.to_string(),
            code: code.into(),
            message,
        }
    }

    fn from_sdk<E, R>(api: Api, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (code, message) = match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                (
                    inner.code().unwrap_or("UnknownServiceError").to_string(),
                    inner
                        .message()
                        .map(str::to_string)
                        .unwrap_or_else(|| inner.to_string()),
                )
            }
            SdkError::ConstructionFailure(_) => ("ConstructionFailure".into(), source_chain(&err)),
            SdkError::TimeoutError(_) => ("TimeoutError".into(), source_chain(&err)),
            SdkError::DispatchFailure(_) => ("DispatchFailure".into(), source_chain(&err)),
            SdkError::ResponseError(_) => ("ResponseError".into(), source_chain(&err)),
            _ => ("Unknown".into(), source_chain(&err)),
        };
        Self::new(api, code, message)
    }
}

fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = err.source();
    while let Some(cause) = current {
        parts.push(cause.to_string());
        current = cause.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Whose quota a request counts against: AWS quotas are per account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaScope {
    pub account_id: String,
    pub region: String,
}

impl QuotaScope {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
        }
    }
}

/// The rate limiters of every (account, region, API) in flight, and the count
/// of requests made per API.
#[derive(Debug)]
pub struct Throttle {
    limiters: Mutex<HashMap<(QuotaScope, Api), Arc<DefaultDirectRateLimiter>>>,
    calls: [AtomicU64; Api::ALL.len()],
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            limiters: Mutex::new(HashMap::new()),
            calls: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Throttle {
    /// Sends one request when the quota allows, and maps its failure.
    pub async fn call<T, E, R, Fut>(
        &self,
        api: Api,
        scope: &QuotaScope,
        request: impl FnOnce() -> Fut,
    ) -> Result<T, CallError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        self.limiter(api, scope).until_ready().await;
        self.calls[api.index()].fetch_add(1, Ordering::Relaxed);
        request().await.map_err(|err| CallError::from_sdk(api, err))
    }

    /// Drops the limiters of an account once it is scanned, so memory stays
    /// bounded by the accounts in flight rather than the size of the org.
    pub fn forget_account(&self, account_id: &str) {
        self.lock()
            .retain(|(scope, _), _| scope.account_id != account_id);
    }

    /// Requests made so far, per API, for the summary and the benchmarks.
    pub fn call_counts(&self) -> Vec<(Api, u64)> {
        Api::ALL
            .iter()
            .map(|api| (*api, self.calls[api.index()].load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    fn limiter(&self, api: Api, scope: &QuotaScope) -> Arc<DefaultDirectRateLimiter> {
        let mut limiters = self.lock();
        limiters
            .entry((scope.clone(), api))
            .or_insert_with(|| {
                // No burst: governor's default burst equals the rate, which
                // would let e.g. three LookupEvents land within one second.
                let quota =
                    Quota::per_second(api.requests_per_second()).allow_burst(NonZeroU32::MIN);
                Arc::new(RateLimiter::direct(quota))
            })
            .clone()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(QuotaScope, Api), Arc<DefaultDirectRateLimiter>>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single insert or retain), so poisoning is ignored.
        self.limiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_stay_on_one_line() {
        let err = CallError::new(Api::KmsListKeys, "AccessDenied", "not\r\nallowed\n\n  here");
        assert_eq!(err.message, "not allowed here");
    }
}
