//! Which regions exist in the partition and which an account has enabled,
//! from EC2 `DescribeRegions` (`AllRegions=true` reports each region's opt-in
//! status for the calling account).
//!
//! Why a hand-made request instead of `aws-sdk-ec2`: that crate is 1.2
//! million lines (about 270 s and 8 GB to compile on a 2-core builder) for
//! this one call. Account `ListRegions` would be the modern alternative, but
//! the emulator the tests run against does not implement it, and region
//! discovery must be tested end to end. So this module signs one EC2 Query
//! request with SigV4 and sends it through the SDK's own HTTP client and
//! timeout machinery (`aws-smithy-runtime`'s `Operation`); retries are the
//! throttle's, as for every other call.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime::client::orchestrator::operation::{Operation, OperationBuilder};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};

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
    let fail = |code: &str, message: String| CallError::new(Api::Ec2DescribeRegions, code, message);
    let credentials = session
        .config
        .credentials_provider()
        .ok_or_else(|| fail("CredentialsError", "no credentials provider".into()))?
        .provide_credentials()
        .await
        .map_err(|err| fail("CredentialsError", err.to_string()))?;
    let endpoint = ec2_endpoint(session, region, partition)?;
    let signing_region = region.to_string();

    let operation = operation_builder(session, &endpoint)
        .serializer(move |()| signed_request(&endpoint, &signing_region, &credentials))
        .deserializer(parse_response)
        .build();

    let regions: Vec<RegionInfo> = session
        .throttle
        .call(Api::Ec2DescribeRegions, &session.scope(region), || {
            operation.invoke(())
        })
        .await?;
    // The emulator answers with every partition's regions; AWS only with the
    // caller's. Keep the caller's so both behave alike.
    Ok(regions
        .into_iter()
        .filter(|r| partition_of(&r.name) == partition)
        .collect())
}

/// The operation up to its serializer: timeout, HTTP client, sleep and time
/// source from the account's configuration; no retry (the throttle retries).
fn operation_builder(session: &AccountSession, endpoint: &str) -> OperationBuilder {
    let mut builder = Operation::builder()
        .service_name("ec2")
        .operation_name("DescribeRegions")
        .endpoint_url(endpoint)
        .no_auth()
        .no_retry()
        .timeout_config(
            session
                .config
                .timeout_config()
                .cloned()
                .unwrap_or_else(TimeoutConfig::disabled),
        );
    // Without an explicit client the operation uses the SDK's default HTTPS
    // client, as every service client built from this configuration does.
    if let Some(http_client) = session.config.http_client() {
        builder = builder.http_client(http_client);
    }
    if let Some(sleep) = session.config.sleep_impl() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(time) = session.config.time_source() {
        builder = builder.time_source(time);
    }
    builder
}

fn ec2_endpoint(
    session: &AccountSession,
    region: &str,
    partition: &str,
) -> Result<String, CallError> {
    // Same precedence as the SDK: service-specific variable, then the global one.
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_EC2") {
        return Ok(url);
    }
    if let Some(url) = session.config.endpoint_url() {
        return Ok(url.to_string());
    }
    let suffix = match partition {
        "aws" | "aws-us-gov" => "amazonaws.com",
        "aws-cn" => "amazonaws.com.cn",
        other => {
            return Err(CallError::new(
                Api::Ec2DescribeRegions,
                "UnsupportedPartition",
                format!("no known EC2 endpoint for partition {other}; set AWS_ENDPOINT_URL_EC2"),
            ))
        }
    };
    Ok(format!("https://ec2.{region}.{suffix}"))
}

fn signed_request(
    endpoint: &str,
    region: &str,
    credentials: &aws_credential_types::Credentials,
) -> Result<HttpRequest, aws_smithy_runtime_api::box_error::BoxError> {
    let uri = format!("{}/", endpoint.trim_end_matches('/'));
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        "POST",
        Cow::Borrowed(uri.as_str()),
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(QUERY.as_bytes()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("content-type", content_type)
        .body(SdkBody::from(QUERY))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(HttpRequest::try_from(request)?)
}

/// An EC2 error response, so the throttle can report its code.
#[derive(Debug)]
pub struct Ec2Error(ErrorMetadata);

impl std::fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.0.code().unwrap_or("Unknown"),
            self.0.message().unwrap_or("")
        )
    }
}

impl std::error::Error for Ec2Error {}

impl ProvideErrorMetadata for Ec2Error {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

fn parse_response(response: &HttpResponse) -> Result<Vec<RegionInfo>, OrchestratorError<Ec2Error>> {
    let body = response
        .body()
        .bytes()
        .ok_or_else(|| OrchestratorError::other("streaming body"))?;
    let text = std::str::from_utf8(body).map_err(OrchestratorError::other)?;
    if !response.status().is_success() {
        let meta = parse_error(text).map_err(OrchestratorError::other)?;
        return Err(OrchestratorError::operation(Ec2Error(meta)));
    }
    parse_regions(text).map_err(OrchestratorError::other)
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

/// EC2's `<Response><Errors><Error>`, or the `<ErrorResponse><Error>` of the
/// other Query services (which some front ends, the tests' included, answer).
fn parse_error(xml: &str) -> Result<ErrorMetadata, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut builder = ErrorMetadata::builder();
    while let Some(mut child) = root.next_tag() {
        if child.start_el().matches("Errors") {
            while let Some(mut error) = child.next_tag() {
                builder = error_fields(&mut error, builder)?;
            }
        } else if child.start_el().matches("Error") {
            builder = error_fields(&mut child, builder)?;
        }
    }
    Ok(builder.build())
}

fn error_fields(
    error: &mut ScopedDecoder<'_, '_>,
    mut builder: aws_smithy_types::error::metadata::Builder,
) -> Result<aws_smithy_types::error::metadata::Builder, XmlDecodeError> {
    while let Some(mut field) = error.next_tag() {
        if field.start_el().matches("Code") {
            builder = builder.code(text_of(&mut field)?);
        } else if field.start_el().matches("Message") {
            builder = builder.message(text_of(&mut field)?);
        }
    }
    Ok(builder)
}

fn text_of(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.into_owned())
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

    #[test]
    fn parses_error_code_and_message() {
        let xml = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized &amp; so on</Message></Error></Errors><RequestID>x</RequestID></Response>";
        let meta = parse_error(xml).unwrap();
        assert_eq!(meta.code(), Some("UnauthorizedOperation"));
        assert_eq!(meta.message(), Some("You are not authorized & so on"));
    }

    #[test]
    fn parses_query_error_response_too() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>";
        let meta = parse_error(xml).unwrap();
        assert_eq!(meta.code(), Some("Throttling"));
        assert_eq!(meta.message(), Some("Rate exceeded"));
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
