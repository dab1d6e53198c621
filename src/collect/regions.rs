//! Which regions exist in the partition and which an account has enabled,
//! from EC2 `DescribeRegions` (`AllRegions=true` reports each region's opt-in
//! status for the calling account).
//!
//! Why a hand-made request instead of `aws-sdk-ec2`: that crate is 1.2
//! million lines (about 270 s and 8 GB to compile on a 2-core builder) for
//! this one call. Account `ListRegions` would be the modern alternative, but
//! the emulator the tests run against does not implement it, and region
//! discovery must be tested end to end. So this module makes one EC2 Query
//! request, signed with SigV4 and sent through the SDK's own HTTP client
//! and timeout machinery by [`super::query`]; retries are the throttle's,
//! as for every other call.

use aws_smithy_xml::decode::{Document, XmlDecodeError};

use super::query::{self, text_of};
use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::ids::partition_of;

const QUERY: &str = "Action=DescribeRegions&Version=2016-11-15&AllRegions=true";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    pub name: String,
    /// `opt-in-not-required`, `opted-in` or `not-opted-in`.
    pub opt_in_status: String,
}

impl RegionInfo {
    pub fn is_enabled(&self) -> bool {
        self.opt_in_status != "not-opted-in"
    }
}

/// The partition's regions, each with its opt-in status for this account.
pub async fn describe_regions(
    session: &AccountSession,
    region: &str,
    partition: &str,
) -> Result<Vec<RegionInfo>, CallError> {
    let regions = query::call(
        session,
        Api::Ec2DescribeRegions,
        query::EC2,
        region,
        partition,
        QUERY.to_string(),
        parse_regions,
    )
    .await?;
    // The emulator answers with every partition's regions; AWS only with the
    // caller's. Keep the caller's so both behave alike.
    Ok(regions
        .into_iter()
        .filter(|r| partition_of(&r.name) == partition)
        .collect())
}

fn parse_regions(xml: &str) -> Result<Vec<RegionInfo>, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut regions = Vec::new();
    while let Some(mut section) = root.next_tag() {
        if !section.start_el().matches("regionInfo") {
            continue;
        }
        while let Some(mut item) = section.next_tag() {
            let (mut name, mut status) = (None, None);
            while let Some(mut field) = item.next_tag() {
                if field.start_el().matches("regionName") {
                    name = Some(text_of(&mut field)?);
                } else if field.start_el().matches("optInStatus") {
                    status = Some(text_of(&mut field)?);
                }
            }
            let name = name.ok_or_else(|| XmlDecodeError::custom("region without regionName"))?;
            regions.push(RegionInfo {
                name,
                // Regions that predate opt-in may omit the status.
                opt_in_status: status.unwrap_or_else(|| "opt-in-not-required".into()),
            });
        }
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_regions_and_opt_in_status() {
        let xml = r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>1</requestId>
            <regionInfo>
              <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
              <item><regionName>af-south-1</regionName><optInStatus>not-opted-in</optInStatus></item>
              <item><regionName>me-south-1</regionName><optInStatus>opted-in</optInStatus></item>
            </regionInfo></DescribeRegionsResponse>"#;
        let regions = parse_regions(xml).unwrap();
        let enabled: Vec<_> = regions
            .iter()
            .filter(|r| r.is_enabled())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(regions.len(), 3);
        assert_eq!(enabled, ["us-east-1", "me-south-1"]);
    }

    mod retries {
        use std::collections::VecDeque;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        use aws_credential_types::provider::SharedCredentialsProvider;
        use aws_credential_types::Credentials;
        use aws_smithy_runtime_api::client::http::{
            http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
        };
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::retry::RetryConfig;
        use aws_types::SdkConfig;

        use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
        use aws_smithy_types::body::SdkBody;

        use super::super::*;
        use crate::aws::throttle::Throttle;

        const REGIONS: &str = "<DescribeRegionsResponse><regionInfo><item><regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item></regionInfo></DescribeRegionsResponse>";

        fn ec2_error(code: &str) -> String {
            format!("<Response><Errors><Error><Code>{code}</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>")
        }

        enum Reply {
            ConnectionReset,
            Http(u16, String),
        }

        /// An HTTP client answering from a script, counting the requests.
        #[derive(Debug, Clone, Default)]
        struct Script {
            replies: Arc<Mutex<VecDeque<(bool, u16, String)>>>,
            requests: Arc<AtomicUsize>,
        }

        impl Script {
            fn new(replies: Vec<Reply>) -> Self {
                let replies = replies
                    .into_iter()
                    .map(|reply| match reply {
                        Reply::ConnectionReset => (true, 0, String::new()),
                        Reply::Http(status, body) => (false, status, body),
                    })
                    .collect();
                Script {
                    replies: Arc::new(Mutex::new(replies)),
                    requests: Arc::default(),
                }
            }

            fn requests(&self) -> usize {
                self.requests.load(Ordering::SeqCst)
            }
        }

        impl HttpConnector for Script {
            fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
                self.requests.fetch_add(1, Ordering::SeqCst);
                let (reset, status, body) = self
                    .replies
                    .lock()
                    .unwrap()
                    .pop_front()
                    .expect("a reply is scripted for every request");
                HttpConnectorFuture::ready(if reset {
                    Err(ConnectorError::io(
                        std::io::Error::from(std::io::ErrorKind::ConnectionReset).into(),
                    ))
                } else {
                    Ok(HttpResponse::new(
                        status.try_into().unwrap(),
                        SdkBody::from(body),
                    ))
                })
            }
        }

        fn session(account_id: &str, script: &Script) -> AccountSession {
            let script = script.clone();
            let config = SdkConfig::builder()
                .http_client(http_client_fn(move |_, _| {
                    SharedHttpConnector::new(script.clone())
                }))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    "AKIDEXAMPLE",
                    "secret",
                    None,
                    None,
                    "test",
                )))
                .endpoint_url("http://ec2.test")
                .build();
            AccountSession {
                account_id: account_id.into(),
                config,
                throttle: Arc::new(Throttle::new(
                    RetryConfig::standard()
                        .with_max_attempts(3)
                        .with_initial_backoff(Duration::from_millis(1)),
                )),
                custom_endpoint: true,
            }
        }

        async fn run(
            account_id: &str,
            replies: Vec<Reply>,
        ) -> (Result<Vec<RegionInfo>, CallError>, usize) {
            let script = Script::new(replies);
            let result = describe_regions(&session(account_id, &script), "us-east-1", "aws").await;
            (result, script.requests())
        }

        #[tokio::test]
        async fn connection_reset_is_retried() {
            let (result, requests) = run(
                "100000000001",
                vec![Reply::ConnectionReset, Reply::Http(200, REGIONS.into())],
            )
            .await;
            assert_eq!(result.unwrap().len(), 1);
            assert_eq!(requests, 2);
        }

        #[tokio::test]
        async fn throttling_codes_are_retried_whatever_the_status() {
            for (account, code) in [
                ("100000000002", "RequestLimitExceeded"),
                ("100000000003", "Throttling"),
            ] {
                let (result, requests) = run(
                    account,
                    vec![
                        Reply::Http(400, ec2_error(code)),
                        Reply::Http(200, REGIONS.into()),
                    ],
                )
                .await;
                assert_eq!(result.unwrap().len(), 1, "{code}");
                assert_eq!(requests, 2, "{code}");
            }
        }

        #[tokio::test]
        async fn other_client_errors_are_not_retried() {
            let (result, requests) = run(
                "100000000004",
                vec![Reply::Http(400, ec2_error("UnauthorizedOperation"))],
            )
            .await;
            assert_eq!(result.unwrap_err().code, "UnauthorizedOperation");
            assert_eq!(requests, 1);
        }

        #[tokio::test]
        async fn throttling_past_the_attempts_is_an_error() {
            let (result, requests) = run(
                "100000000005",
                (0..3)
                    .map(|_| Reply::Http(503, ec2_error("RequestLimitExceeded")))
                    .collect(),
            )
            .await;
            assert_eq!(result.unwrap_err().code, "RequestLimitExceeded");
            assert_eq!(requests, 3);
        }
    }
}
