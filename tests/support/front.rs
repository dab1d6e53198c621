//! A loopback HTTP front for the emulator. moto has no CloudTrail
//! `LookupEvents`, so this front answers it from events the test seeds; it
//! can also make chosen calls fail (AccessDenied) for chosen accounts, the
//! way a missing role or a restrictive SCP would. Everything else passes
//! through to moto unchanged.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The account moto gives to credentials it did not issue: the runner's.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub account: String,
    pub region: String,
    pub event_name: String,
    /// Seconds since the epoch.
    pub event_time: f64,
    pub record: Value,
}

#[derive(Default)]
struct State {
    /// Access key id → account, learned from AssumeRole responses.
    accounts_by_key: HashMap<String, String>,
    events: Vec<RecordedEvent>,
    /// (account, operation) pairs answered with AccessDenied.
    denied: HashSet<(String, String)>,
    /// (when, account, region) of every LookupEvents request served.
    lookups: Vec<(Instant, String, String)>,
    /// (account, operation) → throttling answers still to give; `None`
    /// throttles for ever.
    throttled: HashMap<(String, String), Option<usize>>,
    /// JSON operation → its list field: the first page is answered empty
    /// with a NextToken, as AWS may do.
    empty_first_page: HashMap<String, String>,
    /// `service:Operation` of every request since `record_operations`, with
    /// the service as IAM names it; `None` while not recording.
    recorded: Option<Vec<String>>,
}

const EMPTY_PAGE_TOKEN: &str = "front-empty-page";

pub struct Front {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    pub async fn start(upstream: SocketAddr) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the emulator front");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = handle(conn, upstream, state).await;
                });
            }
        });
        Front {
            endpoint: format!("http://{addr}"),
            state,
            task,
        }
    }

    pub fn add_event(&self, event: RecordedEvent) {
        self.state.lock().unwrap().events.push(event);
    }

    /// Answer `operation` (e.g. `AssumeRole` for role ARNs in `account`, or
    /// `DescribeConfigurationRecorders` called by `account`) with AccessDenied.
    pub fn deny(&self, account: &str, operation: &str) {
        self.state
            .lock()
            .unwrap()
            .denied
            .insert((account.to_string(), operation.to_string()));
    }

    /// Answer `operation` called by `account` with a throttling error,
    /// `times` times (for ever when `None`), then pass it through.
    pub fn throttle(&self, account: &str, operation: &str, times: Option<usize>) {
        self.state
            .lock()
            .unwrap()
            .throttled
            .insert((account.to_string(), operation.to_string()), times);
    }

    /// Answer the first page of a JSON-protocol list `operation` with an
    /// empty `list_field` and a NextToken; the next request goes to moto.
    pub fn empty_first_page(&self, operation: &str, list_field: &str) {
        self.state
            .lock()
            .unwrap()
            .empty_first_page
            .insert(operation.to_string(), list_field.to_string());
    }

    /// Starts recording which operations reach the front (seeding is done).
    pub fn record_operations(&self) {
        self.state.lock().unwrap().recorded = Some(Vec::new());
    }

    /// The distinct `service:Operation`s recorded, sorted.
    pub fn recorded_operations(&self) -> Vec<String> {
        let mut ops = self
            .state
            .lock()
            .unwrap()
            .recorded
            .clone()
            .unwrap_or_default();
        ops.sort();
        ops.dedup();
        ops
    }

    /// Times of the LookupEvents requests served for (account, region).
    pub fn lookup_times(&self, account: &str, region: &str) -> Vec<Instant> {
        self.state
            .lock()
            .unwrap()
            .lookups
            .iter()
            .filter(|(_, a, r)| a == account && r == region)
            .map(|(t, _, _)| *t)
            .collect()
    }
}

pub(super) struct Request {
    head: Vec<u8>,
    pub(super) headers: HashMap<String, String>,
    body: Vec<u8>,
}

pub(super) async fn read_request(
    conn: &mut BufReader<TcpStream>,
) -> std::io::Result<Option<Request>> {
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

fn form_value(body: &[u8], key: &str) -> Option<String> {
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

/// (operation, region, access key) of a request.
/// (operation, region, access key, IAM service prefix) of a request.
pub(super) fn describe(req: &Request) -> (String, String, String, String) {
    let method = String::from_utf8_lossy(&req.head)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    // Credential=AKID/20261128/us-east-1/cloudtrail/aws4_request
    let credential = req
        .headers
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .unwrap_or_default()
        .to_string();
    let mut parts = credential.split('/');
    let key = parts.next().unwrap_or_default().to_string();
    let region = parts.nth(1).unwrap_or_default().to_string();
    let signing_name = parts.next().unwrap_or_default();
    // CloudWatch signs as "monitoring"; IAM calls it "cloudwatch".
    let service = match signing_name {
        "monitoring" => "cloudwatch",
        other => other,
    }
    .to_string();
    let operation = req
        .headers
        .get("x-amz-target")
        .and_then(|t| t.rsplit('.').next().map(str::to_string))
        .or_else(|| form_value(&req.body, "Action"))
        // S3 is REST: the only write cmkscan makes is PutObject.
        .or_else(|| (service == "s3" && method == "PUT").then(|| "PutObject".to_string()))
        .unwrap_or_else(|| format!("{method} (unrecognised)"));
    (operation, region, key, service)
}

async fn handle(
    conn: TcpStream,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    let Some(req) = read_request(&mut conn).await? else {
        return Ok(());
    };
    let (operation, region, key, service) = describe(&req);
    if let Some(recorded) = state.lock().unwrap().recorded.as_mut() {
        recorded.push(format!("{service}:{operation}"));
    }
    let caller = state
        .lock()
        .unwrap()
        .accounts_by_key
        .get(&key)
        .cloned()
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    let target_account = if operation == "AssumeRole" {
        form_value(&req.body, "RoleArn")
            .and_then(|arn| arn.split(':').nth(4).map(str::to_string))
            .unwrap_or_default()
    } else {
        caller.clone()
    };
    let json_protocol = req.headers.contains_key("x-amz-target");

    let key = (target_account.clone(), operation.clone());
    let (denied, throttled, empty_page_field) = {
        let mut state = state.lock().unwrap();
        let throttled = match state.throttled.get_mut(&key) {
            Some(None) => true,
            Some(Some(left)) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        };
        (
            state.denied.contains(&key),
            throttled,
            state.empty_first_page.get(&operation).cloned(),
        )
    };
    let mut body: Value = if json_protocol {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let response = if denied {
        access_denied(json_protocol, &operation, &target_account)
    } else if throttled {
        throttling(json_protocol, &operation)
    } else if operation == "LookupEvents" {
        lookup_events(&state, &caller, &region, &req.body)
    } else if let Some(field) = empty_page_field.filter(|_| body.get("NextToken").is_none()) {
        let page = json!({ field: [], "NextToken": EMPTY_PAGE_TOKEN }).to_string();
        http_response("200 OK", "application/x-amz-json-1.1", &page)
    } else if body.get("NextToken").and_then(Value::as_str) == Some(EMPTY_PAGE_TOKEN) {
        // The page after our empty one is moto's first page.
        if let Some(object) = body.as_object_mut() {
            object.remove("NextToken");
        }
        let rewritten = Request {
            body: body.to_string().into_bytes(),
            ..req
        };
        forward(&rewritten, upstream).await?
    } else {
        let upstream_response = forward(&req, upstream).await?;
        if operation == "AssumeRole" {
            if let Some(access_key) = xml_text(&upstream_response, "AccessKeyId") {
                state
                    .lock()
                    .unwrap()
                    .accounts_by_key
                    .insert(access_key, target_account);
            }
        }
        upstream_response
    };
    let stream = conn.get_mut();
    stream.write_all(&response).await?;
    stream.shutdown().await
}

pub(super) async fn forward(req: &Request, upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
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

fn xml_text(response: &[u8], tag: &str) -> Option<String> {
    let text = String::from_utf8_lossy(response);
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_string())
}

fn http_response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: front-0001\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(super) fn throttling(json_protocol: bool, operation: &str) -> Vec<u8> {
    let message = format!("Rate exceeded for {operation}");
    if json_protocol {
        let body = json!({"__type": "ThrottlingException", "message": message}).to_string();
        http_response("400 Bad Request", "application/x-amz-json-1.1", &body)
    } else {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>{message}</Message></Error><RequestId>front-0001</RequestId></ErrorResponse>"
        );
        http_response("400 Bad Request", "text/xml", &body)
    }
}

fn access_denied(json_protocol: bool, operation: &str, account: &str) -> Vec<u8> {
    let message = format!("not authorized to perform {operation} in account {account}");
    if json_protocol {
        let body = json!({"__type": "AccessDeniedException", "message": message}).to_string();
        http_response("400 Bad Request", "application/x-amz-json-1.1", &body)
    } else if operation == "DescribeRegions" {
        // EC2's Query dialect has its own error envelope.
        let body = format!(
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}</Message></Error></Errors><RequestID>front-0001</RequestID></Response>"
        );
        http_response("403 Forbidden", "text/xml", &body)
    } else {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error><RequestId>front-0001</RequestId></ErrorResponse>"
        );
        http_response("403 Forbidden", "text/xml", &body)
    }
}

/// Serves seeded events one per page, so callers must follow NextToken.
fn lookup_events(state: &Mutex<State>, account: &str, region: &str, body: &[u8]) -> Vec<u8> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let name = request
        .pointer("/LookupAttributes/0/AttributeValue")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let start = request
        .get("StartTime")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let end = request
        .get("EndTime")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    let offset: usize = request
        .get("NextToken")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let mut state = state.lock().unwrap();
    state
        .lookups
        .push((Instant::now(), account.to_string(), region.to_string()));
    let matching: Vec<&RecordedEvent> = state
        .events
        .iter()
        .filter(|e| {
            e.account == account
                && e.region == region
                && e.event_name == name
                && e.event_time >= start
                && e.event_time <= end
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(1)
        .map(|e| {
            json!({
                "EventId": e.record.get("eventID").cloned().unwrap_or(json!("id")),
                "EventName": e.event_name,
                "EventTime": e.event_time,
                "EventSource": "kms.amazonaws.com",
                "Username": "alice",
                "Resources": [{
                    "ResourceType": "AWS::KMS::Key",
                    "ResourceName": e.record.pointer("/requestParameters/keyId").cloned().unwrap_or(json!("unknown"))
                }],
                "CloudTrailEvent": e.record.to_string()
            })
        })
        .collect();
    let mut body = json!({ "Events": page });
    if offset + 1 < matching.len() {
        body["NextToken"] = json!((offset + 1).to_string());
    }
    http_response("200 OK", "application/x-amz-json-1.1", &body.to_string())
}
