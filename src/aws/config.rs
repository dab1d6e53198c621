//! The runner's AWS configuration, from the SDK's standard sources
//! (environment, profile, container or instance role), with the timeouts
//! and attempts a weekly scan wants.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use super::session::https_client;

/// Attempts per AWS request unless `AWS_MAX_ATTEMPTS` says otherwise: the
/// SDK's 3 leave ERROR rows behind a throttling storm that 8 absorb
/// (tests/integration/faults.rs); a weekly scan can wait.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// The SDK's standard sources, with timeouts: a stalled connection must end
/// in an ERROR row, not hang the weekly run.
pub async fn load() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // The credential providers (the task role on Fargate) need it too.
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader =
            loader.retry_config(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS));
    }
    loader.load().await
}
