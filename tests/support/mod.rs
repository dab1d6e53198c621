//! Shared test support: the emulator (moto behind a loopback front), SDK
//! configurations for the runner and for seeding member accounts, and the
//! seeding helpers.

#![allow(dead_code)] // each test binary (tests, examples) uses a different part

pub mod chromium;
pub mod front;
pub mod moto;
pub mod pace;
pub mod sample_org;
pub mod seed;
pub mod wire;

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_types::region::Region;
use cmkscan::Finding;
use cmkscan::Status;

use front::Front;
use moto::Moto;
pub use seed::Account;

pub const REGION: &str = "us-east-1";
pub const MANAGEMENT_ACCOUNT: &str = front::DEFAULT_ACCOUNT;

pub struct Emulator {
    pub front: Front,
    // Dropped after the front, which forwards to it.
    pub moto: Moto,
}

impl Emulator {
    pub async fn start() -> Emulator {
        let moto = match tokio::task::spawn_blocking(Moto::start).await {
            Ok(moto) => moto,
            // moto's own message (and log), not the join error's.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("moto start task: {e}"),
        };
        let front = Front::start(moto.addr).await;
        Emulator { front, moto }
    }

    /// A started emulator with an organisation of the management account
    /// alone (see [`Emulator::create_organization`]).
    pub async fn with_organization() -> Emulator {
        let emulator = Emulator::start().await;
        emulator.create_organization().await;
        emulator
    }

    pub fn endpoint(&self) -> &str {
        &self.front.endpoint
    }

    /// The runner's configuration: management-account credentials.
    pub async fn runner_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(cmkscan::https_client())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await
    }

    pub async fn management(&self) -> Account {
        Account {
            id: MANAGEMENT_ACCOUNT.to_string(),
            config: self.runner_config().await,
        }
    }

    /// Creates the organisation, with the runner's account as management.
    pub async fn create_organization(&self) {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        org.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("create organization");
    }

    /// Creates a member account and returns a seeder acting inside it.
    pub async fn create_account(&self, name: &str) -> Account {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        let status = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("create account");
        let id = status
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("new account id")
            .to_string();
        self.account(&id).await
    }

    /// The organisation's root id (`r-…`).
    pub async fn root_id(&self) -> String {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        let roots = org.list_roots().send().await.expect("list roots");
        roots.roots()[0].id().expect("root id").to_string()
    }

    /// Creates an organizational unit under `parent` (a root or OU id) and
    /// returns its id.
    pub async fn create_ou(&self, parent: &str, name: &str) -> String {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        let out = org
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .expect("create organizational unit");
        out.organizational_unit()
            .and_then(|ou| ou.id())
            .expect("OU id")
            .to_string()
    }

    /// Moves an account from one parent (root or OU) to another.
    pub async fn move_account(&self, id: &str, from: &str, to: &str) {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        org.move_account()
            .account_id(id)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .expect("move account");
    }

    /// Closes an account: Organizations then lists it as SUSPENDED.
    pub async fn close_account(&self, id: &str) {
        let org = aws_sdk_organizations::Client::new(&self.runner_config().await);
        org.close_account()
            .account_id(id)
            .send()
            .await
            .expect("close account");
    }

    /// A seeder with credentials inside `id`, obtained the way an
    /// administrator would: AssumeRole into the account's admin role.
    pub async fn account(&self, id: &str) -> Account {
        let runner = self.runner_config().await;
        let sts = aws_sdk_sts::Client::new(&runner);
        let out = sts
            .assume_role()
            .role_arn(format!(
                "arn:aws:iam::{id}:role/OrganizationAccountAccessRole"
            ))
            .role_session_name("seed")
            .send()
            .await
            .expect("assume the seeding role");
        let creds = out.credentials().expect("credentials");
        let config = runner
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    creds.access_key_id(),
                    creds.secret_access_key(),
                    Some(creds.session_token().to_string()),
                    None,
                    "seed",
                )),
            )
            .build();
        Account {
            id: id.to_string(),
            config,
        }
    }
}

/// An emulator with an organisation, and a seeder for its management account.
pub async fn org() -> (Emulator, Account) {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    (emulator, management)
}

/// Scan options for tests: the given regions, defaults elsewhere.
pub fn options(regions: &[&str]) -> cmkscan::ScanOptions {
    cmkscan::ScanOptions {
        regions: cmkscan::RegionSelection::Listed(
            regions
                .iter()
                .map(|r| r.parse().expect("region name"))
                .collect(),
        ),
        include_accounts: Default::default(),
        exclude_accounts: Default::default(),
        include_ous: Default::default(),
        exclude_ous: Default::default(),
        role_name: "CmkScanReadOnly".into(),
        org_role: None,
        external_id: Some(
            cmkscan::ExternalId::new("test-external-id".into()).expect("a valid external id"),
        ),
        concurrency: std::num::NonZeroUsize::new(4).expect("non-zero"),
        lookback_days: 7,
        exceptions: None,
        previous_report: Default::default(),
    }
}

/// A library scan's outcome with its facts kept in memory.
pub struct TestScan {
    pub facts: cmkscan::ScanFacts,
    pub findings: Vec<Finding>,
    pub summary: cmkscan::Summary,
}

impl Emulator {
    /// Runs the library scan against the emulator, as the runner.
    pub async fn scan(&self, options: cmkscan::ScanOptions) -> TestScan {
        let mut facts = cmkscan::CollectedFacts::default();
        let outcome = cmkscan::run_scan(self.runner_config().await, options, &mut facts)
            .await
            .expect("scan");
        TestScan {
            facts: facts.into_facts().expect("the scan ended its facts"),
            findings: read_findings(&outcome.evaluated.findings),
            summary: outcome.evaluated.summary,
        }
    }
}

/// A scan's spooled findings, in report order.
pub fn read_findings(findings: &dyn cmkscan::FindingRows) -> Vec<Finding> {
    findings
        .rows()
        .collect::<std::io::Result<_>>()
        .expect("the findings spool reads back")
}

/// The findings of one account, region and check.
pub fn findings_for<'a>(
    findings: &'a [Finding],
    account: &str,
    region: &str,
    check: &str,
) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.account_id == account && f.region == region && f.check.as_str() == check)
        .collect()
}

/// The single finding of `check` for (account, region); fails unless there
/// is exactly one.
pub fn single<'a>(
    findings: &'a [Finding],
    account: &str,
    region: &str,
    check: &str,
) -> &'a Finding {
    let rows = findings_for(findings, account, region, check);
    assert_eq!(
        rows.len(),
        1,
        "expected one {check} row for {account} {region}, got {rows:#?}"
    );
    rows[0]
}

/// Asserts the finding's status, and that its detail contains every phrase.
pub fn assert_finding(finding: &Finding, status: Status, phrases: &[&str]) {
    assert_eq!(finding.status, status, "{finding:#?}");
    for phrase in phrases {
        assert!(
            finding.detail.contains(phrase),
            "detail {:?} lacks {phrase:?}: {finding:#?}",
            finding.detail
        );
    }
}

/// The `cmkscan` binary, pointed at the emulator at `endpoint` with its
/// test credentials and region, in an environment that holds nothing else:
/// no ambient `AWS_*` variable, profile, config file, metadata service,
/// `RUST_LOG` or cmkscan variable. Callers add the arguments and any further
/// environment.
// Cargo sets CARGO_BIN_EXE_cmkscan for integration tests and benchmarks, not
// for the example that also includes this module, where `env!` would not
// compile; the example never calls this.
#[allow(clippy::option_env_unwrap)]
pub fn cmkscan_command(endpoint: &str) -> Command {
    let binary = option_env!("CARGO_BIN_EXE_cmkscan")
        .expect("CARGO_BIN_EXE_cmkscan: only integration tests and benchmarks run the binary");
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        // Three attempts, not the binary's default eight: a permanent fault
        // fails fast. Tests of the default remove the variable.
        .env("AWS_MAX_ATTEMPTS", "3")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Empty files: no profile, and no warning about a missing file.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

/// Runs `cmd` to completion with no stdin, collecting its output; kills it
/// (and fails the test, with what it wrote to stderr) if it outlives
/// `timeout`. Blocking: async tests call it through `spawn_blocking`.
pub fn output_within(mut cmd: Command, timeout: Duration) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout pipe");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .unwrap_or_else(|e| panic!("wait for {program}: {e}"))
        {
            break status;
        }
        if Instant::now() > deadline {
            // Already gone if it exited in between; the wait reaps it.
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "{program} did not finish within {timeout:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// A loopback endpoint that refuses every connection, for runs that must
/// not reach AWS. The port stays bound (but not listening) while this
/// lives, so no other test's server can be given it meanwhile.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub endpoint: String,
}

impl ClosedPort {
    pub fn bind() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let addr = socket.local_addr().expect("local address");
        ClosedPort {
            _socket: socket,
            endpoint: format!("http://{addr}"),
        }
    }
}
