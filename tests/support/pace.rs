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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::front::{describe, forward, read_request, throttling_response};

#[derive(Debug, Clone, Default)]
pub struct PaceConfig {
    /// Added to every request before it is forwarded.
    pub latency: Duration,
    /// Operation → requests per second allowed per key; operations not
    /// listed are not limited.
    pub quotas: HashMap<String, u32>,
}

/// What the pacer saw of one operation.
#[derive(Debug, Clone, Default)]
pub struct OperationStats {
    pub admitted: u64,
    pub throttled: u64,
    /// Most requests one key sent within any one second (throttled ones
    /// included: they are what the caller attempted).
    pub peak_per_key_second: usize,
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
}

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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the pacer");
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
        Pace {
            endpoint: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Applies `config` from now on and forgets what was counted.
    pub fn reset(&self, config: PaceConfig) {
        let mut state = self.state.lock().unwrap();
        *state = State {
            config,
            ..State::default()
        };
    }

    pub fn stats(&self) -> BTreeMap<String, OperationStats> {
        self.state.lock().unwrap().stats.clone()
    }
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
    let now = Instant::now();
    let (latency, admitted) = {
        let mut state = state.lock().unwrap();
        let quota = state.config.quotas.get(&operation).copied();
        let key = state
            .keys
            .entry((key, region, operation.clone()))
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
        if admitted {
            stats.admitted += 1;
        } else {
            stats.throttled += 1;
        }
        (latency, admitted)
    };
    tokio::time::sleep(latency).await;
    let response = if admitted {
        forward(&req, upstream).await?
    } else {
        throttling_response(
            &service,
            req.headers.contains_key("x-amz-target"),
            &operation,
        )
    };
    let stream = conn.get_mut();
    stream.write_all(&response).await?;
    stream.shutdown().await
}
