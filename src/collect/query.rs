//! One hand-signed AWS Query request (a form-encoded POST answered in
//! XML), for the calls cmkscan cannot make through an SDK crate: EC2's
//! `DescribeRegions` (`aws-sdk-ec2` is too big to build for one call, see
//! [`super::regions`]) and CloudWatch's alarm mute rules (newer than the
//! pinned `aws-sdk-cloudwatch`, see [`super::mute_rules`]).
//!
//! The request is signed with SigV4 and sent through the SDK's own HTTP
//! client and timeout machinery (`aws-smithy-runtime`'s `Operation`);
//! retries are the throttle's, as for every other call.

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

/// A Query service as SigV4 and its endpoints name it.
#[derive(Debug, Clone, Copy)]
pub struct QueryService {
    /// The name SigV4 signs with and the endpoint's host starts with.
    pub signing_name: &'static str,
    /// The service-specific endpoint variable (`AWS_ENDPOINT_URL_EC2`), which
    /// overrides the global one, as in the SDK.
    pub endpoint_variable: &'static str,
}

pub const EC2: QueryService = QueryService {
    signing_name: "ec2",
    endpoint_variable: "AWS_ENDPOINT_URL_EC2",
};

/// CloudWatch signs as `monitoring`, its endpoint is `monitoring.<region>`.
pub const CLOUDWATCH: QueryService = QueryService {
    signing_name: "monitoring",
    endpoint_variable: "AWS_ENDPOINT_URL_CLOUDWATCH",
};

/// Sends `query` (the form-encoded body, `Action=…&Version=…&…`) for `api`
/// to `service` in `region`, paced and retried by the session's throttle,
/// and reads a successful answer with `parse`.
pub async fn call<T>(
    session: &AccountSession,
    api: Api,
    service: QueryService,
    region: &str,
    partition: &str,
    query: String,
    parse: fn(&str) -> Result<T, XmlDecodeError>,
) -> Result<T, CallError>
where
    T: std::fmt::Debug + Send + Sync + 'static,
{
    let fail = |code: &str, message: String| CallError::new(api, code, message);
    let credentials = session
        .config
        .credentials_provider()
        .ok_or_else(|| fail("CredentialsError", "no credentials provider".into()))?
        .provide_credentials()
        .await
        .map_err(|err| fail("CredentialsError", err.to_string()))?;
    let endpoint = endpoint(session, api, service, region, partition)?;
    let signing_region = region.to_string();
    let (_, operation_name) = api.service_and_operation();
    let operation = operation_builder(session, service, operation_name, &endpoint)
        .serializer(move |()| {
            signed_request(&endpoint, service, &signing_region, &credentials, &query)
        })
        .deserializer(move |response| parse_response(response, parse))
        .build();
    session
        .throttle
        .call(api, &session.scope(region), || operation.invoke(()))
        .await
}

/// The operation up to its serializer: timeout, HTTP client, sleep and time
/// source from the account's configuration; no retry (the throttle retries).
fn operation_builder(
    session: &AccountSession,
    service: QueryService,
    operation_name: &'static str,
    endpoint: &str,
) -> OperationBuilder {
    let mut builder = Operation::builder()
        .service_name(service.signing_name)
        .operation_name(operation_name)
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

fn endpoint(
    session: &AccountSession,
    api: Api,
    service: QueryService,
    region: &str,
    partition: &str,
) -> Result<String, CallError> {
    // Same precedence as the SDK: service-specific variable, then the global one.
    if let Ok(url) = std::env::var(service.endpoint_variable) {
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
                api,
                "UnsupportedPartition",
                format!(
                    "no known {} endpoint for partition {other}; set {}",
                    service.signing_name, service.endpoint_variable
                ),
            ))
        }
    };
    Ok(format!(
        "https://{}.{region}.{suffix}",
        service.signing_name
    ))
}

fn signed_request(
    endpoint: &str,
    service: QueryService,
    region: &str,
    credentials: &aws_credential_types::Credentials,
    query: &str,
) -> Result<HttpRequest, aws_smithy_runtime_api::box_error::BoxError> {
    let uri = format!("{}/", endpoint.trim_end_matches('/'));
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service.signing_name)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        "POST",
        Cow::Borrowed(uri.as_str()),
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(query.as_bytes()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("content-type", content_type)
        .body(SdkBody::from(query.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(HttpRequest::try_from(request)?)
}

/// A Query error response, so the throttle can report (and retry on) its
/// code.
#[derive(Debug)]
pub struct QueryError(ErrorMetadata);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.0.code().unwrap_or("Unknown"),
            self.0.message().unwrap_or("")
        )
    }
}

impl std::error::Error for QueryError {}

impl ProvideErrorMetadata for QueryError {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

fn parse_response<T>(
    response: &HttpResponse,
    parse: fn(&str) -> Result<T, XmlDecodeError>,
) -> Result<T, OrchestratorError<QueryError>> {
    let body = response
        .body()
        .bytes()
        .ok_or_else(|| OrchestratorError::other("streaming body"))?;
    let text = std::str::from_utf8(body).map_err(OrchestratorError::other)?;
    if !response.status().is_success() {
        let meta = parse_error(text).map_err(OrchestratorError::other)?;
        return Err(OrchestratorError::operation(QueryError(meta)));
    }
    parse(text).map_err(OrchestratorError::other)
}

/// EC2's `<Response><Errors><Error>`, or the `<ErrorResponse><Error>` of the
/// other Query services.
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

pub fn text_of(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.into_owned())
}

/// `value` form-encoded, as a Query body carries it.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn form_encoding_keeps_unreserved_characters_only() {
        assert_eq!(form_encode("kms-alarm_1.x~"), "kms-alarm_1.x~");
        assert_eq!(form_encode("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
    }
}
