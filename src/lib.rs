//! cmkscan: is disabling or scheduled deletion of customer-managed KMS keys
//! monitored in every account and region of an AWS Organization?
//!
//! # Layout
//!
//! The folders of `src/` are the pipeline, in order; a module imports only
//! from its own stage or an earlier one (`tests/integration/imports.rs`
//! holds it to that), and each has one reason to change
//! (`docs/architecture.md`).
//!
//! - `aws/` — what every stage shares to talk to AWS: the runner's
//!   configuration, the catalogue of operations (`api`), the pacer every
//!   request goes through (`throttle`: rate per account × region × API,
//!   retries, counts, pages), ARNs, an account's clients (`session`),
//!   AssumeRole with the external id (`access`), one S3 object read.
//! - `ids/` — validated input: account, OU and root ids, regions, roles, S3
//!   URIs, a local-or-S3 file, SNS topics, KMS keys, metric namespaces.
//!   Nothing downstream checks them again.
//! - `facts/` — plain serialisable evidence: what AWS said, or the failed
//!   call; the evidence file written account by account and read back.
//! - `collect/` — AWS I/O, one module per service, returning facts; it
//!   never asks the checks anything.
//! - `checks/` — pure verdicts over facts. Each check's rule module holds
//!   its catalogue entry; `catalog` indexes them in report order;
//!   `kms_events`, `filter_pattern` and `event_pattern` judge a pattern by
//!   the watched events it catches.
//! - `exceptions/` — accepted risks (`--exceptions`): the YAML file read
//!   and validated at its lines, and the judge that marks rows.
//! - `findings/` — the row contract (CSV columns, schema version,
//!   escaping), the summary, the key activity, the spool, and
//!   `Evaluation`: facts to findings, the one way `scan` and `evaluate`
//!   make them.
//! - `history/` — the previous report found and read back, two reports'
//!   rows matched (`cmkscan diff`), and what changed.
//! - `report/` — one module per format: CSV, JSON, OCSF, `report.html`.
//! - `sink/` — the local directory (always first), S3, Security Hub, SNS,
//!   the heartbeat metric.
//! - `plan/` — `cmkscan plan`: from the evidence, the changes that fix
//!   exactly what failed, each with its backout (plan.md, plan.json,
//!   scripts, templates), `--check`ed by judging the changed facts again;
//!   it writes files and calls no AWS API.
//! - `scan/` — the orchestrator of collect → findings: runner identity,
//!   organisation, accounts streamed from the OU tree walk with bounded
//!   concurrency.
//! - `job/` — a whole run to a delivered report (`job::scan`,
//!   `job::evaluate`), with a typed outcome ([`Delivery`], the `--fail-on`
//!   [`Gate`]), stopped cleanly by a signal or its deadline.
//!
//! The binary (`src/main.rs`, `src/cli/`) parses the command line, calls
//! [`job::scan`], [`job::evaluate`], [`job::plan`] or [`diff`], and maps
//! the outcome to an exit code.
//!
//! # The public API
//!
//! What the binary, the tests, the benchmark and the demo use, and
//! nothing else: the modules are private. Their documentation is for
//! maintainers (`cargo doc --document-private-items`), so it links to
//! private items freely.
#![allow(rustdoc::private_intra_doc_links)]

mod aws;
mod checks;
mod collect;
mod exceptions;
mod facts;
mod findings;
mod history;
mod ids;
pub mod job;
mod plan;
mod report;
mod scan;
mod sink;

// Running a scan or a re-evaluation.
pub use aws::config::{
    load as load_aws_config, ConfigError, RegionSource, Runner, RunnerSettings,
    DEFAULT_MAX_ATTEMPTS,
};
pub use job::{
    Delivery, EvaluateError, EvaluateJob, EvaluateRun, Gate, PlanError, PlanJob, ScanJob,
    ScanJobError, ScanRun, SecurityHubJob, Signal, StopCause, Upload,
};
pub use plan::{Forwarders, PlanOptions};
pub use scan::progress::{Phase, Progress, Snapshot as ProgressSnapshot};
pub use scan::{run as run_scan, ScanError, ScanOptions, ScanOutcome};

// Validated inputs.
pub use ids::{
    AccountId, BucketName, EmailAddress, ExternalId, FileSource, InputError, KmsKeyId,
    MetricNamespace, OuId, RegionName, RegionSelection, RoleArn, RoleName, S3Uri, TopicArn,
};

// The AWS side: the catalogue of operations, and what tests build a
// runner's configuration with.
pub use aws::api::{Api, Caller};
pub use aws::session::{https_client, AccountSession};
pub use aws::throttle::{Activity, CallError, Throttle};

// Evidence.
pub use facts::evidence::{read_facts, CollectedFacts, EvidenceError, FactsSink, FactsWriter};
pub use facts::{ScanFacts, TargetsFetch};

// Verdicts and the report.
pub use checks::catalog::{CheckId, Status, StatusCounts};
pub use checks::event_pattern::matches as event_pattern_matches;
pub use checks::{evaluate, Finding};
pub use exceptions::{format_date, today_utc};
pub use findings::{FindingRows, Summary, CSV_COLUMNS};
pub use report::OCSF_VERSION;

// Comparing reports.
pub use history::diff::{diff, DIFF_CSV_COLUMNS};
pub use history::previous::{latest_report_key, scan_id_prefix_now};
pub use history::ReportFile;

// What a finding reads as in Security Hub.
pub use sink::security_hub::asff;
