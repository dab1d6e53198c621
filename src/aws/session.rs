//! An account as the scan sees it: its SDK configuration (credentials,
//! identity cache) and the service clients built from it.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;

use crate::aws::throttle::{QuotaScope, Throttle};

/// Builds a service client for one region from the account's configuration,
/// with the SDK's retries off: [`Throttle::call`] retries, so that every
/// attempt waits for its quota.
macro_rules! service_client {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self, region: &str) -> $krate::Client {
            let config = $krate::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .retry_config(RetryConfig::disabled())
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

/// The HTTPS client every service client and credential provider shares:
/// rustls on ring, verifying against the system's trust store, HTTP/2
/// where the endpoint offers it. The SDK crates are built without a default
/// client, so a configuration that lacks this one cannot send a request.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

impl AccountSession {
    /// The runner's own session, before its account id is known.
    pub fn runner(config: SdkConfig, throttle: Arc<Throttle>) -> Self {
        let custom_endpoint =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        // One client for all: otherwise every service client (one per
        // account, service and region) would load the trust store again and
        // reuse no connection.
        let config = if config.http_client().is_some() {
            config
        } else {
            config.to_builder().http_client(https_client()).build()
        };
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

    service_client!(sts, aws_sdk_sts);
    service_client!(organizations, aws_sdk_organizations);
    service_client!(cloudtrail, aws_sdk_cloudtrail);
    service_client!(config_service, aws_sdk_config);
    service_client!(logs, aws_sdk_cloudwatchlogs);
    service_client!(cloudwatch, aws_sdk_cloudwatch);
    service_client!(sns, aws_sdk_sns);
    service_client!(events, aws_sdk_eventbridge);
    service_client!(kms, aws_sdk_kms);
    service_client!(securityhub, aws_sdk_securityhub);

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled())
            .force_path_style(self.custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}
