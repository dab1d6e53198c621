//! cmkscan: is disabling or scheduled deletion of customer-managed KMS keys
//! monitored in every account and region of an AWS Organization?
//!
//! # Layout
//!
//! The scan is a pipeline; each stage has one module and one reason to change.
//!
//! - [`scan`] — the orchestrator, and nothing else: runner identity,
//!   organisation, region validation, accounts streamed from the listing
//!   with bounded concurrency. `scan::start` learns what the scan needs
//!   before its first account, `scan::account` scans one account,
//!   `scan::management` holds what is special about the management account
//!   (its scan beside the listing, the organisation trails every member is
//!   judged against), `scan::finished` takes a finished account to the
//!   evidence file, the tally and the findings spool.
//! - [`collect`] — AWS I/O, one module per service, returning [`facts`].
//!   `collect::organizations` walks the OU tree for the accounts,
//!   `collect::access` assumes member roles, `collect::regions` discovers
//!   enabled regions with a hand-signed EC2 `DescribeRegions`.
//! - [`facts`] — plain serialisable evidence: what AWS said, or the failed
//!   call; and `WATCHED_EVENTS`, the two calls collect looks up and checks
//!   judge alerting on.
//! - [`evidence`] — the facts file: written account by account as the scan
//!   goes, read back by `cmkscan evaluate`.
//! - [`checks`] — pure verdicts over facts. Each check's rule module
//!   (`access`, `trails`, `recording`, `alerting`, `keys`) also holds its
//!   catalogue entry: id, title, severity, remediation, controls and what
//!   one row stands for; `checks::catalog` indexes them in report order.
//!   `kms_events` judges a pattern by the watched events it catches, with
//!   the evaluators `filter_pattern` (CloudWatch Logs) and `event_pattern`
//!   (EventBridge), each a directory split into parsing and evaluation.
//! - [`exceptions`] — accepted risks (`--exceptions`): the YAML file read
//!   and validated at its lines, which rows each exception names, and the
//!   judge that marks rows after the checks and counts them for the summary.
//! - [`spool`] — a scan's findings parked on disk until the report is
//!   written, so memory does not grow with the organisation.
//! - [`report`] — findings as CSV, JSON and OCSF, and the summary; the report
//!   schema version, which `diff` also reads; `report::html`, the
//!   self-contained page people read, with the keys pending deletion and
//!   recent key events (`report::KeyActivity`).
//! - [`sink`] — the local directory (always first) and S3.
//! - [`throttle`] — every AWS request: rate limit per account × region × API,
//!   retries, request counts, the mapping of SDK failures to
//!   [`throttle::CallError`], and listings page by page.
//! - [`api`] — the catalogue of AWS operations, their IAM actions and rates.
//! - [`ids`] — validated input: account ids, region names and the region
//!   selection, S3 URIs.
//! - [`arn`] — ARNs read and built, in any partition.
//! - [`diff`] — `cmkscan diff`: rows whose status changed between two
//!   reports, read back from their CSV or JSON and matched by what the
//!   catalogue says one row of their check stands for.
//! - [`previous`] — the earlier report a scan is compared with: named by
//!   `--previous`, or the latest one under `--s3-uri`, walked date by date.
//! - [`changes`] — this report against that one (the diff, and accounts
//!   that appeared or left): `changes.csv` and findings.json's `changes`.
//! - [`notify`] — the SNS message at the end of a scan (`--sns-topic-arn`).
//!
//! The binary (`src/main.rs`) parses the command line, loads the AWS
//! configuration, runs [`scan::run`] and delivers the report.

pub mod aws;
pub mod checks;
pub mod collect;
pub mod exceptions;
pub mod facts;
pub mod findings;
pub mod history;
pub mod ids;
pub mod job;
pub mod report;
pub mod scan;
pub mod sink;

pub use history::ReportFile;
pub use ids::{
    AccountId, ExternalId, FileSource, InputError, KmsKeyId, OuId, RegionName, RegionSelection,
    RoleArn, RoleName, S3Uri, TopicArn,
};
pub use job::{EvaluateJob, ScanJob, SecurityHubJob, Upload};
pub use scan::ScanOptions;
