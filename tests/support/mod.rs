//! Shared test support: the emulator (moto behind a loopback front), SDK
//! configurations for the runner and for seeding member accounts, and the
//! seeding helpers.

#![allow(dead_code)] // each test binary (tests, examples) uses a different part

pub mod front;
pub mod moto;
pub mod sample_org;
pub mod seed;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_types::region::Region;

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
        let moto = tokio::task::spawn_blocking(Moto::start)
            .await
            .expect("moto start task");
        let front = Front::start(moto.addr).await;
        Emulator { front, moto }
    }

    pub fn endpoint(&self) -> &str {
        &self.front.endpoint
    }

    /// The runner's configuration: management-account credentials.
    pub async fn runner_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
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

/// Scan options for tests: the given regions, defaults elsewhere.
pub fn options(regions: &[&str]) -> cmkscan::scan::ScanOptions {
    cmkscan::scan::ScanOptions {
        regions: cmkscan::scan::RegionSelection::Listed(
            regions
                .iter()
                .map(|r| r.parse().expect("region name"))
                .collect(),
        ),
        include_accounts: Default::default(),
        exclude_accounts: Default::default(),
        role_name: "CmkScanReadOnly".into(),
        external_id: Some("test-external-id".into()),
        concurrency: std::num::NonZeroUsize::new(4).expect("non-zero"),
        lookback_days: 7,
    }
}

impl Emulator {
    /// Runs the library scan against the emulator, as the runner.
    pub async fn scan(&self, options: cmkscan::scan::ScanOptions) -> cmkscan::scan::ScanOutcome {
        cmkscan::scan::run(self.runner_config().await, options)
            .await
            .expect("scan")
    }
}

/// The findings of one account, region and check.
pub fn findings_for<'a>(
    findings: &'a [cmkscan::checks::Finding],
    account: &str,
    region: &str,
    check: &str,
) -> Vec<&'a cmkscan::checks::Finding> {
    findings
        .iter()
        .filter(|f| f.account_id == account && f.region == region && f.check.as_str() == check)
        .collect()
}
