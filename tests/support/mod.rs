//! Shared test support: the emulator (moto behind a loopback front), SDK
//! configurations for the runner and for seeding member accounts, and the
//! seeding helpers.

#![allow(dead_code)] // each test binary (tests, examples) uses a different part

pub mod chromium;
pub mod cli;
pub mod front;
pub mod moto;
pub mod pace;
pub mod sample_org;
pub mod seed;
pub mod synthetic;
pub mod terminal;
pub mod wire;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_types::region::Region;
use cmkscan::Finding;
use cmkscan::Status;

use front::Front;
use moto::{Moto, TestMoto};
pub use seed::Account;

pub const REGION: &str = "us-east-1";
pub const MANAGEMENT_ACCOUNT: &str = front::DEFAULT_ACCOUNT;

pub struct Emulator {
    pub front: Front,
    // Dropped after the front, which forwards to it.
    pub moto: TestMoto,
}

impl Emulator {
    /// moto (one a finished test left, reset, or a new one) behind a new
    /// front.
    pub async fn start() -> Emulator {
        let moto = match tokio::task::spawn_blocking(Moto::for_test).await {
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

    /// The organisation's id (`o-…`).
    pub async fn organization_id(&self) -> String {
        aws_sdk_organizations::Client::new(&self.runner_config().await)
            .describe_organization()
            .send()
            .await
            .expect("describe organization")
            .organization()
            .and_then(|o| o.id())
            .expect("organization id")
            .to_string()
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

    /// Disables CloudTrail's trusted access in Organizations: organisation
    /// trails then stop logging for members.
    pub async fn disable_cloudtrail_trusted_access(&self) {
        aws_sdk_organizations::Client::new(&self.runner_config().await)
            .disable_aws_service_access()
            .service_principal(seed::CLOUDTRAIL_PRINCIPAL)
            .send()
            .await
            .expect("disable trusted access for CloudTrail");
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
