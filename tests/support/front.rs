//! A loopback HTTP front for the emulator, and the fault-injecting proxy of
//! the fault suite. moto has no CloudTrail `LookupEvents`, so this front
//! answers it from events the test seeds. Everything else passes through to
//! moto unchanged, unless a [`Rule`] picks the request: then the front
//! answers with the rule's [`Fault`] instead, the way AWS does when it
//! throttles, fails, denies or stalls.
//!
//! It can also act as AWS does where moto does not: refuse an `AssumeRole`
//! without the role's external id, let assumed-role credentials expire,
//! split a listing into pages of one item, and refuse Security Hub calls
//! in an account and region that has not enabled Security Hub (moto
//! imports findings anywhere).
//!
//! Every request is logged ([`Logged`]): when it arrived, its key (caller
//! account, region, API) and the fault injected, so tests can tell who made
//! which call, retries included.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::wire::{
    error_response, form_value, forward, http_response, read_request, replace_xml_text, serve,
    throttling_error, xml_text, Request,
};

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

/// A CloudWatch alarm mute rule the front serves (`ListAlarmMuteRules`,
/// `GetAlarmMuteRule`), which moto does not implement.
#[derive(Debug, Clone)]
pub struct MuteRule {
    pub account: String,
    pub region: String,
    pub name: String,
    /// `SCHEDULED`, `ACTIVE` or `EXPIRED`.
    pub status: String,
    /// `cron(…)` or `at(…)`.
    pub expression: String,
    /// ISO 8601, e.g. `PT4H`.
    pub duration: String,
    pub expire: Option<String>,
    /// The alarms it mutes.
    pub alarms: Vec<String>,
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
    /// The name of the role an `AssumeRole` asks for (the last part of its
    /// ARN's path).
    pub role: Option<String>,
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

    pub fn and_role(mut self, role: &str) -> Match {
        self.role = Some(role.to_string());
        self
    }

    fn matches(&self, request: &Key) -> bool {
        let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        field(&self.service, &request.service)
            && field(&self.api, &request.api)
            && field(&self.account, &request.account)
            && field(&self.region, &request.region)
            && field(&self.role, &request.role)
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

/// How many of the matching requests a rule hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    Always,
    /// The next `n` matching requests, then none.
    Times(usize),
    /// Every matching request after the first `n`, which pass.
    After(usize),
}

/// Faults scattered over the matching requests, each request's fate decided
/// by the request alone: a hash of what it asks (service, API, caller,
/// account, region, path and body) and of how many times the same request
/// came before (its attempt). Which requests a storm hits therefore depends
/// neither on how many other requests the run makes nor on their order, nor
/// on other tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// The chance that an attempt is hit.
    pub fraction: f64,
    /// Only the first this-many attempts of a request can be hit; later ones
    /// pass. With fewer than the caller's attempts, every request gets
    /// through in the end, by construction rather than by chance.
    pub most_per_request: usize,
    /// The faults answered, one picked per hit by the same hash.
    pub faults: Vec<Fault>,
}

/// Names a rule, to remove it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId(usize);

#[derive(Debug, Clone)]
enum Firing {
    Trigger(Fault, Trigger),
    /// With how many times each request (by its hash) was seen.
    Storm(Storm, HashMap<u64, usize>),
}

#[derive(Debug, Clone)]
struct Rule {
    id: RuleId,
    matcher: Match,
    firing: Firing,
}

/// One request as it reached the front.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub service: String,
    pub api: String,
    /// The account whose credentials signed the request: whose quota it uses.
    pub caller: String,
    /// The role whose credentials signed the request (its name), `None`
    /// for credentials that did not come from an `AssumeRole` (the runner's).
    pub caller_role: Option<String>,
    /// The account asked about (see [`Match::account`]).
    pub account: String,
    pub region: String,
    /// The error code (or `delay`, `drop`, `malformed`) the front answered
    /// with; `None` when the request got its real answer.
    pub fault: Option<String>,
    /// `RoleSessionName` of an `AssumeRole` request.
    pub session_name: Option<String>,
    /// `ExternalId` of an `AssumeRole` request.
    pub external_id: Option<String>,
    /// `RoleArn` of an `AssumeRole` request.
    pub role_arn: Option<String>,
    /// The request asked for a page after the first of a listing the front
    /// splits (see [`Front::split_pages`]).
    pub later_page: bool,
}

/// (service, operation, account asked about, region) of a request, and a
/// hash of everything it asks (see [`Storm`]).
struct Key {
    service: String,
    api: String,
    account: String,
    region: String,
    /// The role an `AssumeRole` asks for; empty for other requests.
    role: String,
    request_hash: u64,
}

/// An edit of a JSON answer.
type Rewrite = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// How a JSON listing names its items and its continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The field holding the items (`Keys`, `Rules`, `metricFilters`, …).
    pub items: &'static str,
    /// The request's continuation field (`Marker`, `NextToken`, `nextToken`).
    pub token_in: &'static str,
    /// The answer's continuation field (`NextMarker`, `NextToken`, …).
    pub token_out: &'static str,
    /// The answer's "more pages" flag, where the API has one (KMS's
    /// `Truncated`).
    pub truncated: Option<&'static str>,
}

#[derive(Default)]
struct State {
    /// Access key id → account, learned from AssumeRole responses.
    accounts_by_key: HashMap<String, String>,
    /// Access key id → the name of the role assumed to get it.
    roles_by_key: HashMap<String, String>,
    /// Secret keys and session tokens moto issued through AssumeRole.
    issued_secrets: Vec<String>,
    events: Vec<RecordedEvent>,
    mute_rules: Vec<MuteRule>,
    /// Checked in order; the first that matches and fires decides.
    rules: Vec<Rule>,
    rules_added: usize,
    log: Vec<Logged>,
    /// JSON operation → its list field: the first page is answered empty
    /// with a NextToken, as AWS may do.
    empty_first_page: HashMap<String, String>,
    /// JSON operation → its listing: answered one item a page.
    split_pages: HashMap<String, Listing>,
    /// JSON operation → an edit of moto's answer.
    rewrites: HashMap<String, Rewrite>,
    /// `service:Operation` of every request since `record_operations`, with
    /// the service as IAM names it; `None` while not recording.
    recorded: Option<Vec<String>>,
    /// The external id every AssumeRole must carry, as a role's trust
    /// policy can require.
    required_external_id: Option<String>,
    /// How long credentials from AssumeRole last; `None`: as moto says.
    credential_lifetime: Option<Duration>,
    /// (account, region) pairs that enabled Security Hub through the front.
    security_hub_enabled: std::collections::HashSet<(String, String)>,
    /// Access key id → when its credentials expire, for those given a
    /// lifetime by the front.
    expiry_by_key: HashMap<String, SystemTime>,
}

/// A number in [0, 1) drawn from `hash` and `salt`.
fn unit_interval(hash: u64, salt: &str) -> f64 {
    let mut hasher = DefaultHasher::new();
    (hash, salt).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl State {
    /// The fault for this request, if a rule fires (counting it down).
    fn fault_for(&mut self, key: &Key) -> Option<Fault> {
        for rule in self.rules.iter_mut() {
            if !rule.matcher.matches(key) {
                continue;
            }
            let fault = match &mut rule.firing {
                Firing::Trigger(fault, trigger) => {
                    let fires = match trigger {
                        Trigger::Always => true,
                        Trigger::Times(left) if *left > 0 => {
                            *left -= 1;
                            true
                        }
                        Trigger::Times(_) => false,
                        Trigger::After(passed) if *passed > 0 => {
                            *passed -= 1;
                            false
                        }
                        Trigger::After(_) => true,
                    };
                    fires.then_some(*fault)
                }
                Firing::Storm(storm, seen) => {
                    let attempt = seen.entry(key.request_hash).or_default();
                    let this_attempt = *attempt;
                    *attempt += 1;
                    let mut hasher = DefaultHasher::new();
                    (key.request_hash, this_attempt).hash(&mut hasher);
                    let fate = hasher.finish();
                    let hit = this_attempt < storm.most_per_request
                        && unit_interval(fate, "hit") < storm.fraction;
                    let pick = unit_interval(fate, "fault") * storm.faults.len() as f64;
                    hit.then(|| storm.faults[pick as usize])
                }
            };
            if fault.is_some() {
                return fault;
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

    /// Serves `rule` to its account and region.
    pub fn add_mute_rule(&self, rule: MuteRule) {
        self.state.lock().unwrap().mute_rules.push(rule);
    }

    /// Injects `fault` into the requests `matcher` picks, as often as
    /// `trigger` says. Rules added earlier take precedence.
    pub fn inject(&self, matcher: Match, fault: Fault, trigger: Trigger) -> RuleId {
        self.add_rule(matcher, Firing::Trigger(fault, trigger))
    }

    /// Scatters the storm's faults over the requests `matcher` picks. Rules
    /// added earlier take precedence.
    pub fn storm(&self, matcher: Match, storm: Storm) -> RuleId {
        assert!(!storm.faults.is_empty(), "a storm needs a fault");
        self.add_rule(matcher, Firing::Storm(storm, HashMap::new()))
    }

    fn add_rule(&self, matcher: Match, firing: Firing) -> RuleId {
        let mut state = self.state.lock().unwrap();
        state.rules_added += 1;
        let id = RuleId(state.rules_added);
        state.rules.push(Rule {
            id,
            matcher,
            firing,
        });
        id
    }

    /// Refuses every AssumeRole whose `ExternalId` is not `external_id`,
    /// with AccessDenied, as a trust policy with that condition does.
    pub fn require_external_id(&self, external_id: &str) {
        self.state.lock().unwrap().required_external_id = Some(external_id.to_string());
    }

    /// Gives credentials from later AssumeRoles `lifetime` (their answer's
    /// `Expiration` says so), and refuses any request signed after its
    /// credentials expired, with AWS's `ExpiredToken` error.
    pub fn credential_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().credential_lifetime = Some(lifetime);
    }

    /// Edits moto's (successful) answers to the JSON-protocol `operation`
    /// with `edit`, to give answers moto never gives.
    pub fn rewrite(&self, operation: &str, edit: impl Fn(&mut Value) + Send + Sync + 'static) {
        self.state
            .lock()
            .unwrap()
            .rewrites
            .insert(operation.to_string(), Arc::new(edit));
    }

    /// Answers the JSON listing `operation` one item a page, from moto's
    /// whole answer, with a continuation token on every page but the last.
    pub fn split_pages(&self, operation: &str, listing: Listing) {
        self.state
            .lock()
            .unwrap()
            .split_pages
            .insert(operation.to_string(), listing);
    }

    /// Removes a rule: the requests it picked get their real answers again.
    pub fn remove(&self, id: RuleId) {
        self.state.lock().unwrap().rules.retain(|r| r.id != id);
    }

    /// Answer `operation` (e.g. `AssumeRole` for role ARNs in `account`, or
    /// `DescribeConfigurationRecorders` called by `account`) with AccessDenied.
    pub fn deny(&self, account: &str, operation: &str) -> RuleId {
        self.inject(
            Match::api(operation).and_account(account),
            Fault::AccessDenied,
            Trigger::Always,
        )
    }

    /// Answer `AssumeRole` of the role named `role` in `account` with
    /// AccessDenied, as AWS does for a role that was never deployed.
    pub fn deny_role(&self, account: &str, role: &str) {
        self.inject(
            Match::api("AssumeRole").and_account(account).and_role(role),
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

/// A hash of everything a request asks, the same for every attempt of it:
/// its request line, operation, caller, account, region and body (S3's
/// path names the object; its body, the upload, is left out).
fn request_hash(req: &Request, service: &str, caller: &str, account: &str, region: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    let head = String::from_utf8_lossy(&req.head);
    let body: &[u8] = if service == "s3" { &[] } else { &req.body };
    (
        head.lines().next().unwrap_or_default(),
        req.headers.get("x-amz-target"),
        caller,
        account,
        region,
        body,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// When the request was signed (its `X-Amz-Date`, `20261129T181000Z`).
fn signed_at(req: &Request) -> Option<SystemTime> {
    let basic = req.headers.get("x-amz-date")?;
    let (date, time) = basic.split_once('T')?;
    if date.len() != 8 || time.len() != 7 {
        return None;
    }
    let extended = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[..4],
        &date[4..6],
        &date[6..],
        &time[..2],
        &time[2..4],
        &time[4..6]
    );
    SystemTime::try_from(DateTime::from_str(&extended, Format::DateTime).ok()?).ok()
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
    let described = req.describe();
    let (operation, region, service) = (
        described.operation.clone(),
        described.region.clone(),
        described.service.clone(),
    );
    // Security Hub speaks REST-JSON: its errors are JSON documents.
    let json_protocol = req.json_protocol() || service == "securityhub";
    let (caller, account, fault) = {
        let mut state = state.lock().unwrap();
        if let Some(recorded) = state.recorded.as_mut() {
            recorded.push(format!("{service}:{operation}"));
        }
        let caller = state
            .accounts_by_key
            .get(&described.access_key)
            .cloned()
            .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
        let role_arn = (operation == "AssumeRole")
            .then(|| form_value(&req.body, "RoleArn"))
            .flatten();
        let account = match &role_arn {
            Some(arn) => arn.split(':').nth(4).unwrap_or_default().to_string(),
            None if operation == "AssumeRole" => String::new(),
            None => caller.clone(),
        };
        let external_id = (operation == "AssumeRole")
            .then(|| form_value(&req.body, "ExternalId"))
            .flatten();
        let expired = state
            .expiry_by_key
            .get(&described.access_key)
            .zip(signed_at(&req))
            .is_some_and(|(expiry, signed)| signed > *expiry);
        if service == "securityhub" && operation == "EnableSecurityHub" {
            state
                .security_hub_enabled
                .insert((caller.clone(), region.clone()));
        }
        let security_hub_off = service == "securityhub"
            && operation != "EnableSecurityHub"
            && !state
                .security_hub_enabled
                .contains(&(caller.clone(), region.clone()));
        let wrong_external_id = operation == "AssumeRole"
            && state
                .required_external_id
                .as_ref()
                .is_some_and(|required| external_id.as_ref() != Some(required));
        let answer = if expired {
            Some(expired_token(&service, json_protocol))
        } else if security_hub_off {
            Some(not_subscribed(&caller))
        } else if wrong_external_id {
            Some(fault_answer(
                Fault::AccessDenied,
                &service,
                json_protocol,
                &operation,
                &account,
            ))
        } else {
            let role = role_arn
                .as_deref()
                .and_then(|arn| arn.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            let fault = state.fault_for(&Key {
                service: service.clone(),
                api: operation.clone(),
                account: account.clone(),
                region: region.clone(),
                role,
                request_hash: request_hash(&req, &service, &caller, &account, &region),
            });
            fault.map(|f| fault_answer(f, &service, json_protocol, &operation, &account))
        };
        let session_name =
            (operation == "AssumeRole").then(|| form_value(&req.body, "RoleSessionName"));
        let later_page = state.split_pages.get(&operation).is_some_and(|listing| {
            serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|body| body.get(listing.token_in).cloned())
                .is_some()
        });
        let caller_role = state.roles_by_key.get(&described.access_key).cloned();
        state.log.push(Logged {
            at: Instant::now(),
            service: service.clone(),
            api: operation.clone(),
            caller: caller.clone(),
            caller_role,
            account: account.clone(),
            region: region.clone(),
            fault: answer.as_ref().map(|a| a.label.clone()),
            session_name: session_name.flatten(),
            external_id,
            role_arn,
            later_page,
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

/// Security Hub's answer in an account and region where it is not enabled.
fn not_subscribed(caller: &str) -> FaultAnswer {
    let code = "InvalidAccessException";
    FaultAnswer {
        label: code.to_string(),
        response: Some(error_response(
            "securityhub",
            true,
            "401 Unauthorized",
            code,
            &format!("Account {caller} is not subscribed to AWS Security Hub"),
        )),
        delay: None,
    }
}

/// AWS's answer to a request signed with expired credentials.
fn expired_token(service: &str, json_protocol: bool) -> FaultAnswer {
    let code = if json_protocol {
        "ExpiredTokenException"
    } else {
        "ExpiredToken"
    };
    FaultAnswer {
        label: code.to_string(),
        response: Some(error_response(
            service,
            json_protocol,
            "400 Bad Request",
            code,
            "The security token included in the request is expired",
        )),
        delay: None,
    }
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
    let json_protocol = req.json_protocol();
    let mut body: Value = if json_protocol {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let (empty_page_field, listing, rewrite) = {
        let state = state.lock().unwrap();
        (
            state.empty_first_page.get(operation).cloned(),
            state.split_pages.get(operation).cloned(),
            state.rewrites.get(operation).cloned(),
        )
    };
    if operation == "LookupEvents" {
        return Ok(lookup_events(state, caller, region, &req.body));
    }
    if operation == "ListAlarmMuteRules" || operation == "GetAlarmMuteRule" {
        return Ok(mute_rules(state, operation, caller, region, &req.body));
    }
    if let Some(listing) = listing {
        return one_item_page(req, upstream, &listing, body).await;
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
    let mut upstream_response = forward(req, upstream).await?;
    if let Some(edit) = rewrite {
        if let Some((status, mut answer)) = json_answer(&upstream_response) {
            if status.contains(" 200 ") {
                edit(&mut answer);
                upstream_response =
                    http_response("200 OK", "application/x-amz-json-1.1", &answer.to_string());
            }
        }
    }
    if operation == "AssumeRole" {
        let mut state = state.lock().unwrap();
        for tag in ["SecretAccessKey", "SessionToken"] {
            if let Some(secret) = xml_text(&upstream_response, tag) {
                state.issued_secrets.push(secret);
            }
        }
        if let Some(access_key) = xml_text(&upstream_response, "AccessKeyId") {
            if let Some(lifetime) = state.credential_lifetime {
                // Whole seconds, as AWS writes it and as requests are signed.
                let expiry = DateTime::from(SystemTime::now() + lifetime);
                let expiry = DateTime::from_secs(expiry.secs());
                let text = expiry.fmt(Format::DateTime).expect("a formattable time");
                upstream_response = replace_xml_text(&upstream_response, "Expiration", &text);
                state.expiry_by_key.insert(
                    access_key.clone(),
                    SystemTime::try_from(expiry).expect("a system time"),
                );
            }
            if let Some(role) = form_value(&req.body, "RoleArn")
                .as_deref()
                .and_then(|arn| arn.rsplit('/').next())
            {
                state
                    .roles_by_key
                    .insert(access_key.clone(), role.to_string());
            }
            state
                .accounts_by_key
                .insert(access_key, account.to_string());
        }
    }
    Ok(upstream_response)
}

/// The status line and JSON body of an HTTP answer.
fn json_answer(response: &[u8]) -> Option<(String, Value)> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.lines().next().unwrap_or_default().to_string();
    let body = serde_json::from_slice(&response[split + 4..]).ok()?;
    Some((status, body))
}

/// A page of one item of a JSON listing, cut from moto's whole answer:
/// the continuation token the front hands out is the next item's index.
async fn one_item_page(
    req: &Request,
    upstream: SocketAddr,
    listing: &Listing,
    mut body: Value,
) -> std::io::Result<Vec<u8>> {
    let offset: usize = body
        .get(listing.token_in)
        .and_then(Value::as_str)
        .and_then(|token| token.strip_prefix("front-page-"))
        .and_then(|index| index.parse().ok())
        .unwrap_or(0);
    if let Some(fields) = body.as_object_mut() {
        fields.remove(listing.token_in);
    }
    let whole = Request {
        head: req.head.clone(),
        headers: req.headers.clone(),
        body: body.to_string().into_bytes(),
    };
    let response = forward(&whole, upstream).await?;
    let Some((status, mut answer)) = json_answer(&response) else {
        return Ok(response);
    };
    if !status.contains(" 200 ") {
        return Ok(response);
    }
    let items = answer
        .get(listing.items)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let more = offset + 1 < items.len();
    answer[listing.items] = Value::Array(items.into_iter().skip(offset).take(1).collect());
    answer[listing.token_out] = if more {
        json!(format!("front-page-{}", offset + 1))
    } else {
        Value::Null
    };
    if let Some(flag) = listing.truncated {
        answer[flag] = json!(more);
    }
    if let Some(fields) = answer.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
    Ok(http_response(
        "200 OK",
        "application/x-amz-json-1.1",
        &answer.to_string(),
    ))
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
        Fault::Throttling => {
            let (status, code) = throttling_error(service, json_protocol);
            error(status, code, &throttled)
        }
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

/// Serves the seeded mute rules of the caller's account and region, as
/// CloudWatch's Query API does: `ListAlarmMuteRules` (filtered by
/// `AlarmName`, one rule a page so callers must follow `NextToken`) and
/// `GetAlarmMuteRule`.
fn mute_rules(
    state: &Mutex<State>,
    operation: &str,
    account: &str,
    region: &str,
    body: &[u8],
) -> Vec<u8> {
    let state = state.lock().unwrap();
    let here: Vec<&MuteRule> = state
        .mute_rules
        .iter()
        .filter(|r| r.account == account && r.region == region)
        .collect();
    let arn = |r: &MuteRule| {
        format!(
            "arn:aws:cloudwatch:{region}:{account}:alarm-mute-rule:{}",
            r.name
        )
    };
    let expire = |r: &MuteRule| {
        r.expire
            .as_ref()
            .map(|e| format!("<ExpireDate>{e}</ExpireDate>"))
            .unwrap_or_default()
    };
    let xml = if operation == "ListAlarmMuteRules" {
        let alarm = form_value(body, "AlarmName");
        let offset: usize = form_value(body, "NextToken")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let matching: Vec<&&MuteRule> = here
            .iter()
            .filter(|r| alarm.as_ref().is_none_or(|a| r.alarms.contains(a)))
            .collect();
        let members: String = matching
            .iter()
            .skip(offset)
            .take(1)
            .map(|r| {
                format!(
                    "<member><AlarmMuteRuleArn>{}</AlarmMuteRuleArn>{}<Status>{}</Status><MuteType>RECURRING</MuteType><LastUpdatedTimestamp>2026-11-01T00:00:00Z</LastUpdatedTimestamp></member>",
                    arn(r),
                    expire(r),
                    r.status
                )
            })
            .collect();
        let next = if offset + 1 < matching.len() {
            format!("<NextToken>{}</NextToken>", offset + 1)
        } else {
            String::new()
        };
        format!(
            "<ListAlarmMuteRulesResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><ListAlarmMuteRulesResult><AlarmMuteRuleSummaries>{members}</AlarmMuteRuleSummaries>{next}</ListAlarmMuteRulesResult><ResponseMetadata><RequestId>front-0001</RequestId></ResponseMetadata></ListAlarmMuteRulesResponse>"
        )
    } else {
        let name = form_value(body, "AlarmMuteRuleName").unwrap_or_default();
        let Some(r) = here.iter().find(|r| r.name == name) else {
            return error_response(
                "cloudwatch",
                false,
                "404 Not Found",
                "ResourceNotFoundException",
                &format!("no alarm mute rule {name}"),
            );
        };
        let targets: String = r
            .alarms
            .iter()
            .map(|a| format!("<member>{a}</member>"))
            .collect();
        format!(
            "<GetAlarmMuteRuleResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetAlarmMuteRuleResult><Name>{}</Name><AlarmMuteRuleArn>{}</AlarmMuteRuleArn><Rule><Schedule><Expression>{}</Expression><Duration>{}</Duration></Schedule></Rule><MuteTargets><AlarmNames>{targets}</AlarmNames></MuteTargets><StartDate>2026-11-01T00:00:00Z</StartDate>{}<Status>{}</Status><MuteType>RECURRING</MuteType></GetAlarmMuteRuleResult><ResponseMetadata><RequestId>front-0002</RequestId></ResponseMetadata></GetAlarmMuteRuleResponse>",
            r.name,
            arn(r),
            r.expression,
            r.duration,
            expire(r),
            r.status
        )
    };
    http_response("200 OK", "text/xml", &xml)
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
