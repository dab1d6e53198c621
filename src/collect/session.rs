//! An account as the scan sees it: its SDK configuration (credentials, retry
//! partition, identity cache) and the service clients built from it.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_types::region::Region;

use crate::throttle::{QuotaScope, Throttle};

/// Builds a service client for one region from the account's configuration.
/// Each (account, service) gets its own retry partition: the SDK's default
/// partition is per service × region and shared by every account's client,
/// so one throttled account would drain the retry budget of all the others.
macro_rules! service_client {
    ($name:ident, $krate:ident, $service:literal) => {
        pub fn $name(&self, region: &str) -> $krate::Client {
            let config = $krate::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .retry_partition(RetryPartition::new(format!(
                    "{}-{}",
                    $service, self.account_id
                )))
                .build();
            $krate::Client::from_conf(config)
        }
    };
}

#[derive(Debug, Clone)]
pub struct AccountSession {
    pub account_id: String,
    pub config: SdkConfig,
    pub throttle: Arc<Throttle>,
    /// S3 needs path-style addressing behind a custom endpoint (an emulator
    /// has no per-bucket DNS names).
    pub custom_endpoint: bool,
}

impl AccountSession {
    /// The runner's own session, before its account id is known.
    pub fn runner(config: SdkConfig, throttle: Arc<Throttle>) -> Self {
        let custom_endpoint =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        AccountSession {
            account_id: "runner".into(),
            config,
            throttle,
            custom_endpoint,
        }
    }

    pub fn scope(&self, region: &str) -> QuotaScope {
        QuotaScope::new(&self.account_id, region)
    }

    service_client!(sts, aws_sdk_sts, "sts");
    service_client!(organizations, aws_sdk_organizations, "organizations");
    service_client!(cloudtrail, aws_sdk_cloudtrail, "cloudtrail");
    service_client!(config_service, aws_sdk_config, "config");
    service_client!(logs, aws_sdk_cloudwatchlogs, "logs");
    service_client!(cloudwatch, aws_sdk_cloudwatch, "cloudwatch");
    service_client!(sns, aws_sdk_sns, "sns");
    service_client!(events, aws_sdk_eventbridge, "events");
    service_client!(kms, aws_sdk_kms, "kms");

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_partition(RetryPartition::new(format!("s3-{}", self.account_id)))
            .force_path_style(self.custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}
