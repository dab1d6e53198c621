//! Real-AWS pacing for benchmarks: a loopback layer in front of the
//! emulator's front that holds every request for a round-trip latency and
//! enforces per-key quotas the way AWS does (a token bucket per key that
//! holds one second's worth of requests and refills at the quota's rate),
//! answering a request over its quota with a throttling error. A key is (access key, region, operation):
//! each assumed role is one account, so that is AWS's per-account,
//! per-region quota.
//!
//! It also counts what it saw: requests admitted and throttled per
//! operation, and the busiest second of any one key.
//!
//! It can record the emulator's answers and replay them: the emulator (one
//! Python process) answers a few hundred requests a second, which a large
//! organisation's scan outruns; replayed, the same answers come back after
//! the latency alone, so the scanner is measured rather than the emulator.
//! With a [`SyntheticOrg`], a replay answers an organisation far larger
//! than the one recorded: each synthetic account from its template's
//! recording (see `synthetic.rs` for what is synthesised).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::synthetic::SyntheticOrg;
use super::wire::{error_response, forward, read_request, serve, throttling_response, Request};

#[derive(Clone, Default)]
pub struct PaceConfig {
    /// Added to every request before it is forwarded.
    pub latency: Duration,
    /// Operation → requests per second allowed per key; operations not
    /// listed are not limited.
    pub quotas: HashMap<String, u32>,
    pub tape: Tape,
    /// With [`Tape::Replay`]: the organisation answered, far larger than
    /// the recorded one.
    pub synthetic: Option<Arc<SyntheticOrg>>,
}

/// What the pacer does with the emulator's answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tape {
    /// Forward every request.
    #[default]
    Off,
    /// Forward, and keep each answer by its request.
    Record,
    /// Answer from the recording; forward (and count) what is not in it.
    Replay,
}

/// What the pacer saw of one operation.
#[derive(Debug, Clone, Default)]
pub struct OperationStats {
    pub admitted: u64,
    pub throttled: u64,
    /// Most requests one key sent within any one second (throttled ones
    /// included: they are what the caller attempted).
    pub peak_per_key_second: usize,
    /// When the first and the last request of the operation arrived.
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

struct KeyState {
    tokens: f64,
    refilled: Instant,
    arrivals: VecDeque<Instant>,
}

#[derive(Default)]
struct State {
    config: PaceConfig,
    /// Per key: the token bucket (tokens, when last refilled) and the
    /// arrival times of the last second.
    keys: HashMap<(String, String, String), KeyState>,
    stats: BTreeMap<String, OperationStats>,
    /// Recorded answers by request (see [`tape_key`]); kept across resets.
    tape: HashMap<String, Arc<Vec<u8>>>,
    /// Requests a replay did not find on the tape.
    tape_misses: u64,
    /// Requests since the key states were last pruned.
    since_pruned: usize,
}

/// Requests between two prunings of the key states: a scan of 10,000
/// accounts × 17 regions makes millions of keys, each needed for a second.
const PRUNE_EVERY: usize = 200_000;

pub struct Pace {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pace {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pace {
    pub async fn start(upstream: &str) -> Pace {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream is http://ip:port");
        let state = Arc::new(Mutex::new(State::default()));
        let (endpoint, task) = serve(Arc::clone(&state), upstream, handle).await;
        Pace {
            endpoint,
            state,
            task,
        }
    }

    /// Applies `config` from now on and forgets what was counted (not the
    /// recording).
    pub fn reset(&self, config: PaceConfig) {
        let mut state = self.state.lock().unwrap();
        let tape = std::mem::take(&mut state.tape);
        *state = State {
            config,
            tape,
            ..State::default()
        };
    }

    /// Requests the last replay had to forward: 0 means the emulator took
    /// no part.
    pub fn tape_misses(&self) -> u64 {
        self.state.lock().unwrap().tape_misses
    }

    pub fn stats(&self) -> BTreeMap<String, OperationStats> {
        self.state.lock().unwrap().stats.clone()
    }

    /// The recording's answers to `AssumeRole`, as (role ARN, the access
    /// key handed out): which key a template account's answers are under.
    pub fn recorded_access_keys(&self) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        state
            .tape
            .iter()
            .filter(|(key, _)| key.split(' ').nth(2) == Some("AssumeRole"))
            .filter_map(|(key, answer)| {
                let body = key.splitn(4, ' ').nth(3)?;
                let arn = super::wire::form_value(body.as_bytes(), "RoleArn")?;
                Some((arn, super::wire::xml_text(answer, "AccessKeyId")?))
            })
            .collect()
    }
}

/// Serves one connection: like AWS, the pacer keeps it open between
/// requests (the emulator's answers say `Connection: close`), so the scanner
/// is not measured making a TCP connection per request.
async fn handle(
    conn: TcpStream,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    while let Some(req) = read_request(&mut conn).await? {
        let response = answer(req, upstream, &state).await?;
        let stream = conn.get_mut();
        match kept_alive(&response) {
            Some(response) => stream.write_all(&response).await?,
            None => {
                stream.write_all(&response).await?;
                return stream.shutdown().await;
            }
        }
    }
    Ok(())
}

/// `response` with `Connection: close` taken out and HTTP/1.1 as its
/// version; `None` when its length is not given, so only closing the
/// connection ends it.
fn kept_alive(response: &[u8]) -> Option<Vec<u8>> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.replacen("HTTP/1.0", "HTTP/1.1", 1);
    let mut out = format!("{status}\r\n");
    let mut has_length = false;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        has_length |= lower.starts_with("content-length:");
        out.push_str(line);
        out.push_str("\r\n");
    }
    if !has_length {
        return None;
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[end + 4..]);
    Some(bytes)
}

async fn answer(
    req: Request,
    upstream: SocketAddr,
    state: &Mutex<State>,
) -> std::io::Result<Vec<u8>> {
    let described = req.describe();
    let (operation, region, key, service) = (
        described.operation,
        described.region,
        described.access_key,
        described.service,
    );
    let now = Instant::now();
    let synthetic = state.lock().unwrap().config.synthetic.clone();
    // A synthetic account's request is looked up as its template's.
    let template = synthetic.as_ref().and_then(|org| org.recorded(&key));
    let tape_key = match &template {
        Some(template) => tape_key(
            &template.template_body(&req.body),
            req.json_protocol(),
            &operation,
            &region,
            template.template_key,
        ),
        None => tape_key(&req.body, req.json_protocol(), &operation, &region, &key),
    };
    let synthesised = synthetic
        .as_ref()
        .and_then(|org| org.answer(&req, &operation, &key));
    let (latency, admitted, tape, recorded) = {
        let mut state = state.lock().unwrap();
        let tape = state.config.tape;
        let recorded = match (tape, synthesised) {
            (Tape::Replay, Some(answer)) => Some(Arc::new(answer)),
            (Tape::Replay, None) => state.tape.get(&tape_key).map(|answer| match &template {
                Some(template) => Arc::new(template.account_answer(answer)),
                None => Arc::clone(answer),
            }),
            _ => None,
        };
        if tape == Tape::Replay && recorded.is_none() {
            state.tape_misses += 1;
        }
        state.since_pruned += 1;
        if state.since_pruned >= PRUNE_EVERY {
            state.since_pruned = 0;
            let state = &mut *state;
            prune(&mut state.keys, &state.config.quotas, now);
        }
        let quota = state.config.quotas.get(&operation).copied();
        let key = state
            .keys
            .entry((key.clone(), region, operation.clone()))
            .or_insert_with(|| KeyState {
                tokens: quota.map_or(0.0, f64::from),
                refilled: now,
                arrivals: VecDeque::new(),
            });
        let admitted = match quota.map(f64::from) {
            None => true,
            Some(rate) => {
                let elapsed = now.duration_since(key.refilled).as_secs_f64();
                key.tokens = (key.tokens + elapsed * rate).min(rate);
                key.refilled = now;
                // A refused request takes no token, as with AWS.
                let admitted = key.tokens >= 1.0;
                if admitted {
                    key.tokens -= 1.0;
                }
                admitted
            }
        };
        while key
            .arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            key.arrivals.pop_front();
        }
        key.arrivals.push_back(now);
        let in_window = key.arrivals.len();
        let latency = state.config.latency;
        let stats = state.stats.entry(operation.clone()).or_default();
        stats.peak_per_key_second = stats.peak_per_key_second.max(in_window);
        stats.first.get_or_insert(now);
        stats.last = Some(now);
        if admitted {
            stats.admitted += 1;
        } else {
            stats.throttled += 1;
        }
        (latency, admitted, tape, recorded)
    };
    tokio::time::sleep(latency).await;
    Ok(if !admitted {
        throttling_response(&service, req.json_protocol(), &operation)
    } else if let Some(recorded) = recorded {
        recorded.to_vec()
    } else if template.is_some() {
        // Only the recording knows a synthetic account: say so, as an
        // ERROR row the benchmark prints.
        error_response(
            &service,
            req.json_protocol(),
            "500 Internal Server Error",
            "InternalFailure",
            &format!("{operation} of a synthetic account is not on the tape"),
        )
    } else {
        let response = forward(&req, upstream).await?;
        if tape == Tape::Record {
            state
                .lock()
                .unwrap()
                .tape
                .insert(tape_key, Arc::new(response.clone()));
        }
        response
    })
}

/// Forgets the keys that can no longer matter: no request in the last
/// second, and a full bucket (or no quota).
fn prune(
    keys: &mut HashMap<(String, String, String), KeyState>,
    quotas: &HashMap<String, u32>,
    now: Instant,
) {
    keys.retain(|(_, _, operation), key| {
        let recent = key
            .arrivals
            .back()
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1));
        let refilling = quotas.get(operation).is_some_and(|quota| {
            key.tokens + now.duration_since(key.refilled).as_secs_f64() * f64::from(*quota)
                < f64::from(*quota)
        });
        recent || refilling
    });
}

/// A request as the tape knows it: who asked what, where, with which
/// parameters, less the parts that change from one scan to the next
/// (LookupEvents' time window, AssumeRole's session name).
fn tape_key(
    body: &[u8],
    json_protocol: bool,
    operation: &str,
    region: &str,
    access_key: &str,
) -> String {
    let body = if json_protocol {
        let mut json: serde_json::Value =
            serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        if let Some(fields) = json.as_object_mut() {
            fields.remove("StartTime");
            fields.remove("EndTime");
        }
        json.to_string()
    } else {
        String::from_utf8_lossy(body)
            .split('&')
            .filter(|pair| !pair.starts_with("RoleSessionName="))
            .collect::<Vec<_>>()
            .join("&")
    };
    format!("{access_key} {region} {operation} {body}")
}
