//! The HTTP/1.1 plumbing the test front (`front.rs`) and the benchmark's
//! pacer (`pace.rs`) share: a loopback server, reading a request, forwarding
//! it upstream, telling who sent it and what it asks, and answering in the
//! envelope of the service's protocol.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Answers every connection to a new loopback port with `handle`, each on
/// its own task; returns the port's endpoint and the accepting task.
pub async fn serve<S, H, F>(
    state: Arc<Mutex<S>>,
    upstream: SocketAddr,
    handle: H,
) -> (String, tokio::task::JoinHandle<()>)
where
    S: Send + 'static,
    H: Fn(TcpStream, SocketAddr, Arc<Mutex<S>>) -> F + Send + Copy + 'static,
    F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let _ = handle(conn, upstream, state).await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

pub struct Request {
    /// The request line and headers, as received.
    pub head: Vec<u8>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

pub async fn read_request(conn: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if conn.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let end = line == b"\r\n";
        head.extend_from_slice(&line);
        if end {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let headers: HashMap<String, String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = Vec::new();
    if let Some(len) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(len, 0);
        conn.read_exact(&mut body).await?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        // Kept raw (sizes and trailers included) to be forwarded as sent.
        loop {
            let mut size_line = Vec::new();
            conn.read_until(b'\n', &mut size_line).await?;
            body.extend_from_slice(&size_line);
            let size_text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(size_text.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                loop {
                    let mut trailer = Vec::new();
                    conn.read_until(b'\n', &mut trailer).await?;
                    body.extend_from_slice(&trailer);
                    if trailer == b"\r\n" || trailer.is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            conn.read_exact(&mut chunk).await?;
            body.extend_from_slice(&chunk);
        }
    }
    Ok(Some(Request {
        head,
        headers,
        body,
    }))
}

pub fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Who sent a request and what it asks, from its signature and protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The operation (`ListKeys`, `AssumeRole`, …).
    pub operation: String,
    /// The region the request is signed for.
    pub region: String,
    /// The access key id that signed it.
    pub access_key: String,
    /// The IAM service prefix (`kms`, `cloudwatch`, …).
    pub service: String,
}

/// The Security Hub operations the tests use, by method and path.
fn security_hub_operation(method: &str, path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or_default();
    let operation = match (method, path) {
        ("POST", "/findings/import") => "BatchImportFindings",
        ("POST", "/findings") => "GetFindings",
        ("POST", "/accounts") => "EnableSecurityHub",
        _ => return None,
    };
    Some(operation.to_string())
}

impl Request {
    /// The request line's path.
    pub fn path(&self) -> String {
        String::from_utf8_lossy(&self.head)
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// JSON-protocol services name the operation in `X-Amz-Target`.
    pub fn json_protocol(&self) -> bool {
        self.headers.contains_key("x-amz-target")
    }

    pub fn method(&self) -> String {
        String::from_utf8_lossy(&self.head)
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The S3 operation of a REST request, for those cmkscan makes.
    fn s3_operation(&self, method: &str) -> Option<String> {
        let head = String::from_utf8_lossy(&self.head);
        let target = head.split(' ').nth(1).unwrap_or_default();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let listing = query.split('&').any(|pair| pair == "list-type=2");
        match method {
            "PUT" => Some("PutObject"),
            "GET" if listing => Some("ListObjectsV2"),
            "GET" => Some("GetObject"),
            _ => None,
        }
        .map(str::to_string)
    }

    pub fn describe(&self) -> Described {
        let method = self.method();
        // Credential=AKID/20261128/us-east-1/cloudtrail/aws4_request
        let credential = self
            .headers
            .get("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split(',').next())
            .unwrap_or_default()
            .to_string();
        let mut parts = credential.split('/');
        let access_key = parts.next().unwrap_or_default().to_string();
        let region = parts.nth(1).unwrap_or_default().to_string();
        let signing_name = parts.next().unwrap_or_default();
        // CloudWatch signs as "monitoring"; IAM calls it "cloudwatch".
        let service = match signing_name {
            "monitoring" => "cloudwatch",
            other => other,
        }
        .to_string();
        let operation = self
            .headers
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next().map(str::to_string))
            .or_else(|| form_value(&self.body, "Action"))
            // S3 is REST: cmkscan writes with PutObject, and reads with
            // ListObjectsV2 (a GET with list-type=2) and GetObject.
            .or_else(|| {
                (service == "s3")
                    .then(|| self.s3_operation(&method))
                    .flatten()
            })
            // Security Hub is REST-JSON: the operation is in the path.
            .or_else(|| {
                (service == "securityhub")
                    .then(|| security_hub_operation(&method, &self.path()))
                    .flatten()
            })
            .unwrap_or_else(|| format!("{method} (unrecognised)"));
        Described {
            operation,
            region,
            access_key,
            service,
        }
    }
}

/// The service's own throttling error, as (HTTP status, code):
/// `TooManyRequestsException` (429) from Security Hub,
/// `ThrottlingException` (400) from JSON-protocol services, `Throttling`
/// (400) from Query services (STS, CloudWatch, SNS), `RequestLimitExceeded`
/// (503) from EC2, `SlowDown` (503) from S3.
pub fn throttling_error(service: &str, json_protocol: bool) -> (&'static str, &'static str) {
    match service {
        "securityhub" => ("429 Too Many Requests", "TooManyRequestsException"),
        _ if json_protocol => ("400 Bad Request", "ThrottlingException"),
        "ec2" => ("503 Service Unavailable", "RequestLimitExceeded"),
        "s3" => ("503 Slow Down", "SlowDown"),
        _ => ("400 Bad Request", "Throttling"),
    }
}

/// The service's own throttling answer to `operation`.
pub fn throttling_response(service: &str, json_protocol: bool, operation: &str) -> Vec<u8> {
    let (status, code) = throttling_error(service, json_protocol);
    error_response(
        service,
        json_protocol,
        status,
        code,
        &format!("Rate exceeded for {operation}"),
    )
}

/// An error in the envelope of the service's protocol.
pub fn error_response(
    service: &str,
    json_protocol: bool,
    status: &str,
    code: &str,
    message: &str,
) -> Vec<u8> {
    if json_protocol {
        let body = json!({"__type": code, "message": message}).to_string();
        return http_response(status, "application/x-amz-json-1.1", &body);
    }
    let body = match service {
        // EC2's Query dialect has its own envelope.
        "ec2" => format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>front-0001</RequestID></Response>"
        ),
        // S3 (REST-XML) has a bare <Error>.
        "s3" => format!(
            "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>front-0001</RequestId></Error>"
        ),
        _ => format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>front-0001</RequestId></ErrorResponse>"
        ),
    };
    http_response(status, "text/xml", &body)
}

pub async fn forward(req: &Request, upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut out = TcpStream::connect(upstream).await?;
    let head = String::from_utf8_lossy(&req.head);
    let mut rewritten = String::new();
    for line in head.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if lower.starts_with("content-length:") {
            // The body may have been rewritten.
            rewritten.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    out.write_all(rewritten.as_bytes()).await?;
    out.write_all(&req.body).await?;
    let mut response = Vec::new();
    out.read_to_end(&mut response).await?;
    Ok(response)
}

pub fn xml_text(response: &[u8], tag: &str) -> Option<String> {
    let text = String::from_utf8_lossy(response);
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_string())
}

pub fn http_response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: front-0001\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `response` (a whole HTTP answer) with the text of its first `<tag>`
/// replaced by `text`, and its `Content-Length` to match.
pub fn replace_xml_text(response: &[u8], tag: &str, text: &str) -> Vec<u8> {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response.to_vec();
    };
    let body = String::from_utf8_lossy(&response[split + 4..]).into_owned();
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let Some(start) = body.find(&open).map(|i| i + open.len()) else {
        return response.to_vec();
    };
    let Some(end) = body[start..].find(&close).map(|i| i + start) else {
        return response.to_vec();
    };
    let body = format!("{}{text}{}", &body[..start], &body[end..]);
    let head = String::from_utf8_lossy(&response[..split]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}
