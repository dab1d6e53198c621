//! A loopback HTTP front for the emulator, and the fault-injecting proxy of
//! the fault suite. moto has no CloudTrail `LookupEvents`, so this front
//! answers it from events the test seeds. Everything else passes through to
//! moto unchanged, unless a [`Rule`] picks the request: then the front
//! answers with the rule's [`Fault`] instead, the way AWS does when it
//! throttles, fails, denies or stalls.
//!
//! Every request is logged ([`Logged`]): when it arrived, its key (caller
//! account, region, API) and the fault injected,
//! so tests can measure request rates per key, retries included.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The account moto gives to credentials it did not issue: the runner's.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Seed of the generator that decides which requests a [`Trigger::Fraction`]
/// rule hits: a failing run can be reasoned about, and the fraction hit is
/// the same from run to run (which requests it hits still depends on the
/// order in which concurrent requests arrive).
const FAULT_SEED: u64 = 0x00c0_ffee;

#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub account: String,
    pub region: String,
    pub event_name: String,
    /// Seconds since the epoch.
    pub event_time: f64,
    pub record: Value,
}

/// Which requests a [`Rule`] applies to; every field left `None` matches
/// anything.
#[derive(Debug, Clone, Default)]
pub struct Match {
    /// The IAM service prefix (`kms`, `cloudtrail`, `sts`, `ec2`, `s3`, …).
    pub service: Option<String>,
    /// The operation (`ListKeys`, `AssumeRole`, …).
    pub api: Option<String>,
    /// The account asked about: the caller's, except for `AssumeRole`, where
    /// it is the account of the role being assumed.
    pub account: Option<String>,
    /// The region the request is signed for.
    pub region: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Every request of one operation.
    pub fn api(api: &str) -> Match {
        Match::any().and_api(api)
    }

    /// Every request to one service.
    pub fn service(service: &str) -> Match {
        Match {
            service: Some(service.to_string()),
            ..Match::default()
        }
    }

    pub fn and_api(mut self, api: &str) -> Match {
        self.api = Some(api.to_string());
        self
    }

    pub fn and_account(mut self, account: &str) -> Match {
        self.account = Some(account.to_string());
        self
    }

    pub fn and_region(mut self, region: &str) -> Match {
        self.region = Some(region.to_string());
        self
    }

    fn matches(&self, request: &Key) -> bool {
        let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        field(&self.service, &request.service)
            && field(&self.api, &request.api)
            && field(&self.account, &request.account)
            && field(&self.region, &request.region)
    }
}

/// What the front answers instead of moto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's own throttling error: `ThrottlingException` (HTTP 400)
    /// from JSON-protocol services, `Throttling` (400) from Query services
    /// (STS, CloudWatch, SNS), `RequestLimitExceeded` (503) from EC2,
    /// `SlowDown` (503) from S3.
    Throttling,
    /// `TooManyRequestsException` (HTTP 400), the throttling code some
    /// JSON-protocol services (Organizations among them) answer.
    TooManyRequests,
    /// HTTP 500 with the service's internal-error code.
    Status500,
    /// HTTP 503 with the service's unavailable code.
    Status503,
    /// `AccessDeniedException` (JSON), `AccessDenied` (Query, S3) or
    /// `UnauthorizedOperation` (EC2), the way a missing role or an SCP answers.
    AccessDenied,
    /// The real answer, after a delay (past the SDK's attempt timeout, it
    /// becomes a timeout).
    Delay(Duration),
    /// The connection is closed without an answer.
    Drop,
    /// HTTP 200 with a body that is neither JSON nor XML.
    Malformed,
}

/// How many of the matching requests a [`Rule`] hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    Always,
    /// The next `n` matching requests, then none.
    Times(usize),
    /// Each matching request with this probability (seeded, see [`FAULT_SEED`]).
    Fraction(f64),
    /// Every matching request after the first `n`, which pass.
    After(usize),
}

/// Names a rule, to remove it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId(usize);

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: RuleId,
    pub matcher: Match,
    pub fault: Fault,
    pub trigger: Trigger,
}

/// One request as it reached the front.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub service: String,
    pub api: String,
    /// The account whose credentials signed the request: whose quota it uses.
    pub caller: String,
    /// The account asked about (see [`Match::account`]).
    pub account: String,
    pub region: String,
    /// The error code (or `delay`, `drop`, `malformed`) the front answered
    /// with; `None` when the request got its real answer.
    pub fault: Option<String>,
    /// `RoleSessionName` of an `AssumeRole` request.
    pub session_name: Option<String>,
}

/// (service, operation, account asked about, region) of a request.
struct Key {
    service: String,
    api: String,
    account: String,
    region: String,
}

struct State {
    /// Access key id → account, learned from AssumeRole responses.
    accounts_by_key: HashMap<String, String>,
    /// Secret keys and session tokens moto issued through AssumeRole.
    issued_secrets: Vec<String>,
    events: Vec<RecordedEvent>,
    /// Checked in order; the first that matches and fires decides.
    rules: Vec<Rule>,
    rules_added: usize,
    rng: fastrand::Rng,
    log: Vec<Logged>,
    /// JSON operation → its list field: the first page is answered empty
    /// with a NextToken, as AWS may do.
    empty_first_page: HashMap<String, String>,
    /// `service:Operation` of every request since `record_operations`, with
    /// the service as IAM names it; `None` while not recording.
    recorded: Option<Vec<String>>,
}

impl Default for State {
    fn default() -> Self {
        State {
            accounts_by_key: HashMap::new(),
            issued_secrets: Vec::new(),
            events: Vec::new(),
            rules: Vec::new(),
            rules_added: 0,
            rng: fastrand::Rng::with_seed(FAULT_SEED),
            log: Vec::new(),
            empty_first_page: HashMap::new(),
            recorded: None,
        }
    }
}

impl State {
    /// The fault for this request, if a rule fires (counting it down).
    fn fault_for(&mut self, key: &Key) -> Option<Fault> {
        let State { rules, rng, .. } = self;
        for rule in rules.iter_mut() {
            if !rule.matcher.matches(key) {
                continue;
            }
            let fires = match &mut rule.trigger {
                Trigger::Always => true,
                Trigger::Times(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                Trigger::Times(_) => false,
                Trigger::Fraction(p) => rng.f64() < *p,
                Trigger::After(passed) if *passed > 0 => {
                    *passed -= 1;
                    false
                }
                Trigger::After(_) => true,
            };
            if fires {
                return Some(rule.fault);
            }
        }
        None
    }
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
        let state = Arc::new(Mutex::new(State::default()));
        let (endpoint, task) = serve(Arc::clone(&state), upstream, handle).await;
        Front {
            endpoint,
            state,
            task,
        }
    }

    pub fn add_event(&self, event: RecordedEvent) {
        self.state.lock().unwrap().events.push(event);
    }

    /// Injects `fault` into the requests `matcher` picks, as often as
    /// `trigger` says. Rules added earlier take precedence.
    pub fn inject(&self, matcher: Match, fault: Fault, trigger: Trigger) -> RuleId {
        let mut state = self.state.lock().unwrap();
        state.rules_added += 1;
        let id = RuleId(state.rules_added);
        state.rules.push(Rule {
            id,
            matcher,
            fault,
            trigger,
        });
        id
    }

    /// Removes a rule: the requests it picked get their real answers again.
    pub fn remove(&self, id: RuleId) {
        self.state.lock().unwrap().rules.retain(|r| r.id != id);
    }

    /// Answer `operation` (e.g. `AssumeRole` for role ARNs in `account`, or
    /// `DescribeConfigurationRecorders` called by `account`) with AccessDenied.
    pub fn deny(&self, account: &str, operation: &str) {
        self.inject(
            Match::api(operation).and_account(account),
            Fault::AccessDenied,
            Trigger::Always,
        );
    }

    /// Answer `operation` called by `account` with a throttling error,
    /// `times` times (for ever when `None`), then pass it through.
    pub fn throttle(&self, account: &str, operation: &str, times: Option<usize>) {
        self.inject(
            Match::api(operation).and_account(account),
            Fault::Throttling,
            times.map_or(Trigger::Always, Trigger::Times),
        );
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

    /// Every request since the start (or the last [`Front::clear_log`]).
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many requests of `api` (the operation name) were logged.
    pub fn requests(&self, api: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| l.api == api)
            .count()
    }

    /// Forgets the logged requests (say, those of the seeding).
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Times of the LookupEvents requests answered for (account, region).
    pub fn lookup_times(&self, account: &str, region: &str) -> Vec<Instant> {
        self.log()
            .iter()
            .filter(|r| {
                r.api == "LookupEvents"
                    && r.caller == account
                    && r.region == region
                    && r.fault.is_none()
            })
            .map(|r| r.at)
            .collect()
    }

    /// The secret access keys and session tokens handed out by AssumeRole.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state.lock().unwrap().issued_secrets.clone()
    }
}

/// The most requests in any window of `window` (half-open) among `times`.
pub fn peak_in_window(times: &[Instant], window: Duration) -> usize {
    let mut times = times.to_vec();
    times.sort();
    let mut peak = 0;
    let mut first = 0;
    for (last, at) in times.iter().enumerate() {
        while at.duration_since(times[first]) >= window {
            first += 1;
        }
        peak = peak.max(last - first + 1);
    }
    peak
}

/// Answers every connection to a new loopback port with `handle`, each on
/// its own task; returns the port's endpoint and the accepting task.
pub(super) async fn serve<S, H, F>(
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

pub(super) struct Request {
    head: Vec<u8>,
    pub(super) headers: HashMap<String, String>,
    pub(super) body: Vec<u8>,
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
    let (operation, region, access_key, service) = describe(&req);
    let json_protocol = req.headers.contains_key("x-amz-target");
    let (caller, account, fault) = {
        let mut state = state.lock().unwrap();
        if let Some(recorded) = state.recorded.as_mut() {
            recorded.push(format!("{service}:{operation}"));
        }
        let caller = state
            .accounts_by_key
            .get(&access_key)
            .cloned()
            .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
        let account = if operation == "AssumeRole" {
            form_value(&req.body, "RoleArn")
                .and_then(|arn| arn.split(':').nth(4).map(str::to_string))
                .unwrap_or_default()
        } else {
            caller.clone()
        };
        let fault = state.fault_for(&Key {
            service: service.clone(),
            api: operation.clone(),
            account: account.clone(),
            region: region.clone(),
        });
        let answer = fault.map(|f| fault_answer(f, &service, json_protocol, &operation, &account));
        let session_name =
            (operation == "AssumeRole").then(|| form_value(&req.body, "RoleSessionName"));
        state.log.push(Logged {
            at: Instant::now(),
            service: service.clone(),
            api: operation.clone(),
            caller: caller.clone(),
            account: account.clone(),
            region: region.clone(),
            fault: answer.as_ref().map(|a| a.label.clone()),
            session_name: session_name.flatten(),
        });
        (caller, account, answer)
    };

    let response = match fault {
        Some(FaultAnswer {
            delay: Some(delay), ..
        }) => {
            tokio::time::sleep(delay).await;
            answer(
                &req, upstream, &state, &operation, &caller, &region, &account,
            )
            .await?
        }
        Some(FaultAnswer {
            response: Some(response),
            ..
        }) => response,
        // Dropped: the client sees the connection close with no answer.
        Some(_) => return Ok(()),
        None => {
            answer(
                &req, upstream, &state, &operation, &caller, &region, &account,
            )
            .await?
        }
    };
    let stream = conn.get_mut();
    stream.write_all(&response).await?;
    stream.shutdown().await
}

/// The real answer: LookupEvents from the seeded events, an empty first
/// page if asked for, otherwise moto's.
async fn answer(
    req: &Request,
    upstream: SocketAddr,
    state: &Mutex<State>,
    operation: &str,
    caller: &str,
    region: &str,
    account: &str,
) -> std::io::Result<Vec<u8>> {
    let json_protocol = req.headers.contains_key("x-amz-target");
    let mut body: Value = if json_protocol {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let empty_page_field = state
        .lock()
        .unwrap()
        .empty_first_page
        .get(operation)
        .cloned();
    if operation == "LookupEvents" {
        return Ok(lookup_events(state, caller, region, &req.body));
    }
    if let Some(field) = empty_page_field.filter(|_| body.get("NextToken").is_none()) {
        let page = json!({ field: [], "NextToken": EMPTY_PAGE_TOKEN }).to_string();
        return Ok(http_response("200 OK", "application/x-amz-json-1.1", &page));
    }
    if body.get("NextToken").and_then(Value::as_str) == Some(EMPTY_PAGE_TOKEN) {
        // The page after our empty one is moto's first page.
        if let Some(object) = body.as_object_mut() {
            object.remove("NextToken");
        }
        let rewritten = Request {
            head: req.head.clone(),
            headers: req.headers.clone(),
            body: body.to_string().into_bytes(),
        };
        return forward(&rewritten, upstream).await;
    }
    let upstream_response = forward(req, upstream).await?;
    if operation == "AssumeRole" {
        let mut state = state.lock().unwrap();
        for tag in ["SecretAccessKey", "SessionToken"] {
            if let Some(secret) = xml_text(&upstream_response, tag) {
                state.issued_secrets.push(secret);
            }
        }
        if let Some(access_key) = xml_text(&upstream_response, "AccessKeyId") {
            state
                .accounts_by_key
                .insert(access_key, account.to_string());
        }
    }
    Ok(upstream_response)
}

/// What the front does for a fault: answer at once, wait first, or (neither)
/// drop the connection.
struct FaultAnswer {
    label: String,
    response: Option<Vec<u8>>,
    delay: Option<Duration>,
}

fn fault_answer(
    fault: Fault,
    service: &str,
    json_protocol: bool,
    operation: &str,
    account: &str,
) -> FaultAnswer {
    let error = |status: &str, code: &str, message: &str| FaultAnswer {
        label: code.to_string(),
        response: Some(error_response(
            service,
            json_protocol,
            status,
            code,
            message,
        )),
        delay: None,
    };
    let throttled = format!("Rate exceeded for {operation}");
    match fault {
        Fault::Throttling if json_protocol => {
            error("400 Bad Request", "ThrottlingException", &throttled)
        }
        Fault::Throttling => match service {
            "ec2" => error(
                "503 Service Unavailable",
                "RequestLimitExceeded",
                &throttled,
            ),
            "s3" => error("503 Slow Down", "SlowDown", &throttled),
            _ => error("400 Bad Request", "Throttling", &throttled),
        },
        Fault::TooManyRequests => error("400 Bad Request", "TooManyRequestsException", &throttled),
        Fault::Status500 => {
            let code = match service {
                "ec2" | "s3" => "InternalError",
                _ => "InternalFailure",
            };
            error("500 Internal Server Error", code, "internal failure")
        }
        Fault::Status503 => {
            let code = match service {
                "ec2" => "Unavailable",
                _ => "ServiceUnavailable",
            };
            error("503 Service Unavailable", code, "service unavailable")
        }
        Fault::AccessDenied => {
            let message = format!("not authorized to perform {operation} in account {account}");
            let code = match service {
                _ if json_protocol => "AccessDeniedException",
                "ec2" => "UnauthorizedOperation",
                _ => "AccessDenied",
            };
            error("403 Forbidden", code, &message)
        }
        Fault::Delay(delay) => FaultAnswer {
            label: "delay".into(),
            response: None,
            delay: Some(delay),
        },
        Fault::Drop => FaultAnswer {
            label: "drop".into(),
            response: None,
            delay: None,
        },
        Fault::Malformed => {
            let content_type = if json_protocol {
                "application/x-amz-json-1.1"
            } else {
                "text/xml"
            };
            FaultAnswer {
                label: "malformed".into(),
                response: Some(http_response(
                    "200 OK",
                    content_type,
                    "<<garbled>> {\"truncated\": [",
                )),
                delay: None,
            }
        }
    }
}

/// The service's own throttling answer, for the benchmark's pacer.
pub(super) fn throttling_response(service: &str, json_protocol: bool, operation: &str) -> Vec<u8> {
    fault_answer(Fault::Throttling, service, json_protocol, operation, "")
        .response
        .unwrap_or_default()
}

/// An error in the envelope of the service's protocol.
fn error_response(
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
    let state = state.lock().unwrap();
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
