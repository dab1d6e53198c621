//! Every AWS request goes through [`Throttle::call`]: it waits for the rate
//! limiter of its (account, region, API), counts the request, and turns an SDK
//! failure into a [`CallError`] that names the service, the API and the code.
//!
//! Retries are made here too, not by the SDK (its clients are built with
//! retries off): each attempt waits for the limiter, so retries after
//! throttling can never push a key over its quota. Which failures are retried
//! and how long to back off follow the SDK's standard mode.
//!
//! Listings go through [`Throttle::pages`] (or [`Throttle::all_pages`]),
//! which makes each page one [`Throttle::call`]: every page is paced and
//! retried like any other request.
//!
//! Because every request passes here, the throttle also knows what a run is
//! doing: requests, retries and throttling answers so far ([`Activity`],
//! for the progress line), and the calls in flight ([`Throttle::in_flight`],
//! named when a run is interrupted or passes its deadline).

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use aws_types::SdkConfig;
use futures::stream::{self, Stream, TryStreamExt};
use governor::clock::DefaultClock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::aws::api::Api;

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

    /// Whether the request never left because the endpoint's host name
    /// does not exist (a mistyped region or endpoint URL).
    pub fn is_unresolved_host(&self) -> bool {
        self.code == "DispatchFailure" && names_no_host(&self.message)
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

/// Each request waits this much longer than its quota's period.
const PACING_MARGIN: f64 = 1.02;

/// Error codes retried as throttling: the SDK's list (aws-runtime's
/// `AwsErrorCodeClassifier`), whatever HTTP status carries them.
const THROTTLING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes retried as transient, as the SDK does.
const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// What the SDK's standard classifiers retry: throttling and transient
/// codes, HTTP 500/502/503/504, timeouts, I/O failures, answers that
/// could not be read, and connector failures the HTTP client marks as
/// retryable: a connection the server closed while a request was on it
/// (hyper's `IncompleteMessage`, which S3 sends and a kept-alive
/// connection closed by the server gives), marked transient by
/// `aws-smithy-http-client` and retried by the SDK's
/// `SmithyErrorClassifier`; except a host name the resolver says does not
/// exist, which no retry mends (a mistyped region waited 51 s for its
/// eight attempts before it failed).
fn is_retryable<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            THROTTLING_CODES.contains(&code)
                || TRANSIENT_CODES.contains(&code)
                || matches!(service.raw().status().as_u16(), 500 | 502 | 503 | 504)
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => {
            let unresolved = failure.as_connector_error().is_some_and(|connector| {
                names_no_host(&format!("{connector}: {}", source_chain(connector)))
            });
            let retryable = failure.is_io()
                || failure.is_timeout()
                || matches!(
                    failure.as_other(),
                    Some(
                        ErrorKind::TransientError
                            | ErrorKind::ThrottlingError
                            | ErrorKind::ServerError
                    )
                );
            retryable && !unresolved
        }
        _ => false,
    }
}

/// Whether the answer was a throttling error, for the progress counts.
fn is_throttling<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            THROTTLING_CODES.contains(&service.err().code().unwrap_or_default())
        }
        _ => false,
    }
}

/// Whether a failure's text says the endpoint's host name does not exist.
/// The resolver's answer reaches the SDK only as text: hyper-util's
/// "dns error" wrapping getaddrinfo's message, where glibc says "Name or
/// service not known" for a name that does not exist (EAI_NONAME) and
/// "Temporary failure in name resolution" (EAI_AGAIN) for a resolver that
/// did not answer, which is worth retrying; musl and macOS word EAI_NONAME
/// differently.
fn names_no_host(text: &str) -> bool {
    const NO_SUCH_NAME: [&str; 3] = [
        "Name or service not known",
        "Name does not resolve",
        "nodename nor servname provided, or not known",
    ];
    text.contains("dns error") && NO_SUCH_NAME.iter().any(|words| text.contains(words))
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

/// The rate limiters of every (account, region, API) in flight, with the
/// calls under way for each, the retry policy, and the count of requests
/// made per API.
#[derive(Debug)]
pub struct Throttle {
    limiters: Mutex<HashMap<(QuotaScope, Api), Arc<Key>>>,
    /// One clock for every limiter: making one calibrates the CPU's
    /// counter, which thousands of limiters a scan would each repeat.
    clock: DefaultClock,
    calls: [AtomicU64; Api::ALL.len()],
    /// Attempts after the first, and how many of them followed a
    /// throttling answer.
    retries: AtomicU64,
    throttled: AtomicU64,
    retry: RetryConfig,
}

/// One (account, region, API): its rate limiter, and its calls started and
/// not yet ended (waiting for their quota, sent, or backing off).
#[derive(Debug)]
struct Key {
    limiter: DefaultDirectRateLimiter,
    in_flight: AtomicUsize,
}

/// Requests, retries and throttling answers so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Every attempt sent, retries included.
    pub requests: u64,
    pub retries: u64,
    /// Retries that followed a throttling answer.
    pub throttled: u64,
}

/// A call under way: waiting for its quota, sent, or backing off.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallInFlight {
    /// The account whose quota it uses (`runner` before the runner's
    /// account is known).
    pub account_id: String,
    pub region: String,
    /// `service:Operation`.
    pub api: String,
    /// Calls of this account, region and API under way.
    pub count: usize,
}

/// Counts one call as under way for as long as it lives, so that a call
/// whose future is dropped (an interrupted run) stops counting too.
struct InFlight(Arc<Key>);

impl InFlight {
    fn start(key: Arc<Key>) -> InFlight {
        key.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(key)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Throttle {
    /// With the retry settings of the runner's SDK configuration (attempts,
    /// backoff), which the SDK would otherwise have applied itself; the
    /// SDK's standard ones when it has none.
    pub fn for_config(config: &SdkConfig) -> Self {
        Self::new(
            config
                .retry_config()
                .cloned()
                .unwrap_or_else(RetryConfig::standard),
        )
    }

    /// `retry`: attempts and backoff.
    pub fn new(retry: RetryConfig) -> Self {
        Self {
            limiters: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
            calls: std::array::from_fn(|_| AtomicU64::new(0)),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            retry,
        }
    }

    /// Sends the request when the quota allows, retries what is worth
    /// retrying (each attempt waiting for the quota again), and maps the
    /// final failure. `request` builds a fresh request for every attempt.
    pub async fn call<T, E, Fut>(
        &self,
        api: Api,
        scope: &QuotaScope,
        mut request: impl FnMut() -> Fut,
    ) -> Result<T, CallError>
    where
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let key = InFlight::start(self.key(api, scope));
        let mut attempt = 1;
        loop {
            key.0.limiter.until_ready().await;
            self.calls[api.index()].fetch_add(1, Ordering::Relaxed);
            let err = match request().await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            if attempt >= self.retry.max_attempts() || !is_retryable(&err) {
                return Err(CallError::from_sdk(api, err));
            }
            let backoff = self.backoff(attempt);
            self.retries.fetch_add(1, Ordering::Relaxed);
            if is_throttling(&err) {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!(
                api = %api,
                account = scope.account_id,
                region = scope.region,
                attempt,
                backoff_ms = backoff.as_millis() as u64,
                error = %CallError::from_sdk(api, err),
                "retrying"
            );
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }

    /// The pages of a listing, each fetched when the stream is polled for
    /// it: a consumer that stops early (or scans while it lists) sends no
    /// request for pages it does not want. `request` builds the request for
    /// a page from the previous page's token (`None` for the first page),
    /// again for every attempt; `next_token` reads the token of the page
    /// after this one, `None` on the last page. The stream ends after the
    /// first failure.
    pub fn pages<'a, T, E, Fut>(
        &'a self,
        api: Api,
        scope: QuotaScope,
        request: impl FnMut(Option<String>) -> Fut + 'a,
        next_token: fn(&T) -> Option<&str>,
    ) -> impl Stream<Item = Result<T, CallError>> + 'a
    where
        T: 'a,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>> + 'a,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // The state: the request builder and the token of the page to
        // fetch; `None` after the last page (`try_unfold` itself ends the
        // stream after a failure).
        let first = Some((request, None::<String>));
        stream::try_unfold(first, move |state| {
            let scope = scope.clone();
            async move {
                let Some((mut request, token)) = state else {
                    return Ok::<_, CallError>(None);
                };
                let page = self.call(api, &scope, || request(token.clone())).await?;
                let next = next_token(&page).map(|token| (request, Some(token.to_string())));
                Ok(Some((page, next)))
            }
        })
    }

    /// The items of a listing as one stream: [`Throttle::pages`], each page
    /// turned into the items kept of it as it arrives. Like the pages, the
    /// next one is fetched only when its items are wanted.
    pub fn page_items<'a, T, E, Fut, Item>(
        &'a self,
        api: Api,
        scope: QuotaScope,
        request: impl FnMut(Option<String>) -> Fut + 'a,
        next_token: fn(&T) -> Option<&str>,
        mut items: impl FnMut(T) -> Vec<Item> + 'a,
    ) -> impl Stream<Item = Result<Item, CallError>> + 'a
    where
        T: 'a,
        Item: 'a,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>> + 'a,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.pages(api, scope, request, next_token)
            .map_ok(move |page| stream::iter(items(page).into_iter().map(Ok)))
            .try_flatten()
    }

    /// Every page of a listing, as [`Throttle::pages`] fetches them, each
    /// turned into the items kept of it as it arrives (so the pages
    /// themselves are not held), in order.
    pub async fn all_pages<'a, T, E, Fut, Item>(
        &'a self,
        api: Api,
        scope: QuotaScope,
        request: impl FnMut(Option<String>) -> Fut + 'a,
        next_token: fn(&T) -> Option<&str>,
        items: impl FnMut(T) -> Vec<Item>,
    ) -> Result<Vec<Item>, CallError>
    where
        T: 'a,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>> + 'a,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.pages(api, scope, request, next_token)
            .map_ok(items)
            .try_concat()
            .await
    }

    /// The standard mode's delay before attempt `attempt + 1`: full jitter
    /// over an exponentially growing ceiling.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .initial_backoff()
            .saturating_mul(2u32.saturating_pow(attempt - 1))
            .min(self.retry.max_backoff());
        ceiling.mul_f64(fastrand::f64())
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

    /// Requests, retries and throttling answers so far.
    pub fn activity(&self) -> Activity {
        Activity {
            requests: self
                .calls
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .sum(),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    /// The calls under way now, by account, region and API.
    pub fn in_flight(&self) -> Vec<CallInFlight> {
        let mut calls: Vec<CallInFlight> = self
            .lock()
            .iter()
            .filter_map(|((scope, api), key)| {
                let count = key.in_flight.load(Ordering::Relaxed);
                (count > 0).then(|| CallInFlight {
                    account_id: scope.account_id.clone(),
                    region: scope.region.clone(),
                    api: api.to_string(),
                    count,
                })
            })
            .collect();
        calls.sort();
        calls
    }

    fn key(&self, api: Api, scope: &QuotaScope) -> Arc<Key> {
        let mut limiters = self.lock();
        limiters
            .entry((scope.clone(), api))
            .or_insert_with(|| {
                // No burst: governor's default burst equals the rate, which
                // would let e.g. three LookupEvents land within one second.
                // And a little under the rate: requests spaced exactly one
                // period apart here arrive a few milliseconds closer at
                // AWS, which then throttles one (seen with ListAccounts at
                // 1/s, each throttle costing a backoff of up to seconds).
                let period =
                    Duration::from_secs(1).mul_f64(PACING_MARGIN) / api.requests_per_second().get();
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_second(api.requests_per_second()))
                    .allow_burst(NonZeroU32::MIN);
                Arc::new(Key {
                    limiter: RateLimiter::direct_with_clock(quota, self.clock.clone()),
                    in_flight: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(QuotaScope, Api), Arc<Key>>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single insert or retain), so poisoning is ignored.
        self.limiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use futures::StreamExt;

    use super::*;

    #[test]
    fn error_messages_stay_on_one_line() {
        let err = CallError::new(Api::KmsListKeys, "AccessDenied", "not\r\nallowed\n\n  here");
        assert_eq!(err.message, "not allowed here");
    }

    /// A service error with an AWS error code.
    #[derive(Debug)]
    struct ServiceError(ErrorMetadata);

    impl std::fmt::Display for ServiceError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0.code().unwrap_or_default())
        }
    }

    impl std::error::Error for ServiceError {}

    impl ProvideErrorMetadata for ServiceError {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    /// One page of a listing: its items and the token of the next page.
    #[derive(Debug, Clone, PartialEq)]
    struct Page {
        items: Vec<u32>,
        next: Option<String>,
    }

    type Answer = Result<Page, &'static str>;

    /// A listing that answers from a script and records the token of every
    /// request it was sent.
    struct Listing {
        answers: Mutex<VecDeque<Answer>>,
        tokens: Mutex<Vec<Option<String>>>,
    }

    impl Listing {
        fn new(answers: Vec<Answer>) -> Self {
            Listing {
                answers: Mutex::new(answers.into()),
                tokens: Mutex::new(Vec::new()),
            }
        }

        fn send(
            &self,
            token: Option<String>,
        ) -> impl Future<Output = Result<Page, SdkError<ServiceError, HttpResponse>>> {
            self.tokens.lock().unwrap().push(token);
            let answer = self.answers.lock().unwrap().pop_front();
            async move {
                match answer.expect("a request beyond the script") {
                    Ok(page) => Ok(page),
                    Err(code) => Err(SdkError::service_error(
                        ServiceError(ErrorMetadata::builder().code(code).build()),
                        HttpResponse::new(400u16.try_into().unwrap(), SdkBody::empty()),
                    )),
                }
            }
        }

        fn tokens(&self) -> Vec<Option<String>> {
            self.tokens.lock().unwrap().clone()
        }
    }

    fn page(items: &[u32], next: Option<&str>) -> Answer {
        Ok(Page {
            items: items.to_vec(),
            next: next.map(str::to_string),
        })
    }

    fn throttle() -> Throttle {
        Throttle::new(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    }

    fn scope() -> QuotaScope {
        QuotaScope::new("111122223333", "us-gov-west-1")
    }

    const API: Api = Api::KmsDescribeKey;

    fn next(page: &Page) -> Option<&str> {
        page.next.as_deref()
    }

    fn tokens(list: &[Option<&str>]) -> Vec<Option<String>> {
        list.iter().map(|t| t.map(str::to_string)).collect()
    }

    #[tokio::test]
    async fn every_page_is_one_call_retried_and_counted() {
        let listing = Listing::new(vec![
            page(&[1, 2], Some("a")),
            Err("ThrottlingException"),
            page(&[], Some("b")),
            page(&[3], None),
        ]);
        let throttle = throttle();
        let items = throttle
            .all_pages(API, scope(), |t| listing.send(t), next, |p| p.items)
            .await;
        assert_eq!(items, Ok(vec![1, 2, 3]));
        // The throttled page was asked again with the same token.
        assert_eq!(
            listing.tokens(),
            tokens(&[None, Some("a"), Some("a"), Some("b")])
        );
        assert_eq!(throttle.call_counts(), vec![(API, 4)]);
    }

    #[tokio::test]
    async fn retries_and_throttling_are_counted_and_calls_in_flight_named() {
        let listing = Listing::new(vec![
            Err("ThrottlingException"),
            Err("RequestTimeout"),
            page(&[1], None),
        ]);
        let throttle = throttle();
        // Nothing answers this one: it stays in flight until dropped.
        let stalled_scope = scope();
        let mut stalled = Box::pin(throttle.call(Api::KmsListKeys, &stalled_scope, || {
            futures::future::pending::<Result<(), SdkError<ServiceError, HttpResponse>>>()
        }));
        assert!(futures::poll!(stalled.as_mut()).is_pending());
        assert_eq!(
            throttle.in_flight(),
            vec![CallInFlight {
                account_id: "111122223333".into(),
                region: "us-gov-west-1".into(),
                api: "kms:ListKeys".into(),
                count: 1,
            }]
        );
        let items = throttle
            .all_pages(API, scope(), |t| listing.send(t), next, |p| p.items)
            .await;
        assert_eq!(items, Ok(vec![1]));
        // The stalled call's one request, and the listing's three: two
        // retries, one after a throttling answer.
        let activity = throttle.activity();
        assert_eq!(
            (activity.requests, activity.retries, activity.throttled),
            (4, 2, 1),
            "{activity:?}"
        );
        drop(stalled);
        assert_eq!(throttle.in_flight(), Vec::new());
    }

    #[test]
    fn only_a_name_that_does_not_exist_is_an_unresolved_host() {
        let glibc = "io error: client error (Connect): dns error: failed to lookup address \
                     information: Name or service not known";
        assert!(names_no_host(glibc));
        assert!(
            CallError::new(Api::StsGetCallerIdentity, "DispatchFailure", glibc)
                .is_unresolved_host()
        );
        // The resolver did not answer: worth a retry.
        assert!(!names_no_host(
            "dns error: failed to lookup address information: Temporary failure in name resolution"
        ));
        assert!(!names_no_host(
            "tcp connect error: Connection refused (os error 111)"
        ));
        assert!(!CallError::new(Api::KmsListKeys, "AccessDenied", glibc).is_unresolved_host());
    }

    #[tokio::test]
    async fn pages_are_fetched_only_as_they_are_consumed() {
        let listing = Listing::new(vec![page(&[1], Some("a")), page(&[2], None)]);
        let throttle = throttle();
        let mut pages = std::pin::pin!(throttle.pages(API, scope(), |t| listing.send(t), next));
        let first = pages.try_next().await;
        assert_eq!(first.map(|p| p.map(|p| p.items)), Ok(Some(vec![1])));
        assert_eq!(listing.tokens(), tokens(&[None]));
        assert_eq!(throttle.call_counts(), vec![(API, 1)]);
    }

    #[test]
    fn a_connection_closed_under_a_request_is_retried_other_connector_failures_not() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let failure = |kind| -> SdkError<ServiceError, HttpResponse> {
            SdkError::dispatch_failure(ConnectorError::other(
                "connection closed before message completed".into(),
                kind,
            ))
        };
        // What aws-smithy-http-client makes of hyper's IncompleteMessage.
        assert!(is_retryable(&failure(Some(ErrorKind::TransientError))));
        assert!(!is_retryable(&failure(Some(ErrorKind::ClientError))));
        assert!(!is_retryable(&failure(None)));
        assert!(is_retryable(
            &SdkError::<ServiceError, HttpResponse>::dispatch_failure(ConnectorError::io(
                "reset".into()
            ))
        ));
    }

    #[tokio::test]
    async fn a_failed_page_ends_the_listing_with_its_error() {
        let listing = Listing::new(vec![
            page(&[1], Some("a")),
            Err("AccessDeniedException"),
            page(&[2], None),
        ]);
        let throttle = throttle();
        let results: Vec<Result<Page, CallError>> = throttle
            .pages(API, scope(), |t| listing.send(t), next)
            .collect()
            .await;
        assert_eq!(results.len(), 2, "{results:?}");
        assert_eq!(results[0].as_ref().map(|p| p.items.clone()), Ok(vec![1]));
        let err = results[1].clone().unwrap_err();
        assert_eq!(
            (err.api.as_str(), err.code.as_str()),
            ("kms:DescribeKey", "AccessDeniedException")
        );
        assert_eq!(listing.tokens(), tokens(&[None, Some("a")]));
    }
}
