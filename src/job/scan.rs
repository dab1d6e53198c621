//! `cmkscan scan` as a run: the exceptions file and the previous report
//! before the first request, the scan with its evidence streamed to disk,
//! the comparison, the local report, then the delivery.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_smithy_types::date_time::{DateTime, Format};
use flate2::write::GzEncoder;

use super::deliver::{deliver, Delivery, Destinations, Written};
use super::{print_written, write_local};
use crate::aws::access::RoleRequest;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, Throttle};
use crate::exceptions::{self, Exceptions, LoadError};
use crate::facts::evidence::FactsWriter;
use crate::facts::{PreviousReport, ScanHeader};
use crate::findings::SecurityHubSummary;
use crate::history::previous::{self, Previous};
use crate::history::{compare, CompareError};
use crate::ids::{FileSource, KmsKeyId, MetricNamespace, RegionName, RoleName, S3Uri, TopicArn};
use crate::report::Report;
use crate::scan::{self, ScanError, ScanOptions, ScanOutcome};
use crate::sink::notify::{self, Notice};
use crate::sink::{
    self, heartbeat, security_hub, LocalError, LocalFile, PendingFile, S3Error, S3Target,
};

/// Everything `cmkscan scan` was asked to do.
pub struct ScanJob {
    /// What to scan and how. Its `exceptions` and `previous_report` are
    /// filled in by the run from the two fields below.
    pub options: ScanOptions,
    /// `--exceptions`: read and validated before the scan's first request.
    pub exceptions: Option<FileSource>,
    /// `--previous`: the report to compare with; without it, the latest
    /// earlier one under `--s3-uri`.
    pub previous: Option<FileSource>,
    pub output_dir: PathBuf,
    pub upload: Option<Upload>,
    pub security_hub: Option<SecurityHubJob>,
    pub sns_topic: Option<TopicArn>,
    /// `--heartbeat-namespace`: the heartbeat metric's namespace, published
    /// to in the runner's region once the report is in its place.
    pub heartbeat: Option<MetricNamespace>,
}

/// `--s3-uri` and its options.
pub struct Upload {
    pub uri: S3Uri,
    pub kms_key_id: Option<KmsKeyId>,
    /// The bucket's region; the runner's when absent.
    pub region: Option<RegionName>,
}

/// `--security-hub` and its role.
pub struct SecurityHubJob {
    pub role_name: RoleName,
}

/// Why a scan wrote no report.
#[derive(Debug, thiserror::Error)]
pub enum ScanJobError {
    #[error(transparent)]
    Output(#[from] LocalError),
    #[error(transparent)]
    Exceptions(#[from] LoadError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("cannot compress the evidence file")]
    Evidence(#[source] io::Error),
    #[error(transparent)]
    Compare(#[from] CompareError),
}

impl ScanJobError {
    /// Errors the user fixes by changing the command line (exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            ScanJobError::Exceptions(err) => err.is_usage(),
            ScanJobError::Scan(err) => err.is_usage(),
            _ => false,
        }
    }
}

/// Runs the scan and delivers its report with the runner's configuration
/// `config` (tests pass one pointing at the emulator), printing on `out`
/// what it wrote and where it went. `Err` means no report was written;
/// `Ok` says what became of the report, which may be a failed delivery.
pub async fn scan(
    config: SdkConfig,
    job: ScanJob,
    out: &mut dyn Write,
) -> Result<Delivery, ScanJobError> {
    let dir = &job.output_dir;
    sink::check_writable(dir)?;
    // Before the scan's first request: a bad file must cost nothing.
    let exceptions = match &job.exceptions {
        Some(source) => Some(load_exceptions(source, &config).await?),
        None => None,
    };
    // The runner's session outside the scan: the previous report, the
    // upload and the message (none of them counted in the summary).
    let throttle = Throttle::for_config(&config);
    let session = AccountSession::runner(config.clone(), throttle.into());
    let bucket_region = job
        .upload
        .as_ref()
        .and_then(|upload| upload.region.as_ref())
        .map(|r| r.as_str().to_string())
        .or_else(|| config.region().map(|r| r.to_string()));
    let previous = find_previous(&job, &session, bucket_region.as_deref()).await;
    let options = ScanOptions {
        exceptions,
        previous_report: previous.record(),
        ..job.options.clone()
    };
    // The evidence streams to disk while the scan runs; it takes its name
    // only if the scan completes, and vanishes if it fails.
    let (pending_facts, facts_out) = PendingFile::create(dir, sink::FACTS_NAME)?;
    let mut facts = FactsWriter::new(GzEncoder::new(facts_out, flate2::Compression::default()));
    let outcome = scan::run(config, options, &mut facts).await?;
    let facts_out = facts
        .into_inner()
        .finish()
        .map_err(ScanJobError::Evidence)?;
    let facts_path = pending_facts.commit(facts_out)?;
    let evaluated = &outcome.evaluated;
    let changes = compare(previous, &outcome.scan, &evaluated.findings)?;
    let report = Report {
        scan: &outcome.scan,
        summary: &evaluated.summary,
        changes: &changes,
        findings: &evaluated.findings,
    };
    let mut files = write_local(&report, &evaluated.key_activity, dir, out)?;
    files.push(LocalFile::facts(facts_path));
    print_written(&files, out);

    let written = Written {
        dir,
        scan: &outcome.scan,
        summary: &evaluated.summary,
        changes: &changes,
        findings: &evaluated.findings,
        files,
    };
    let mut destinations = AwsDestinations {
        target: job.upload.as_ref().map(|upload| S3Target {
            uri: upload.uri.clone(),
            kms_key_id: upload.kms_key_id.clone(),
            region: bucket_region
                .clone()
                .unwrap_or_else(|| outcome.runner_region.clone()),
        }),
        session: &session,
        scan: &outcome,
        job: &job,
    };
    Ok(deliver(&written, &mut destinations, out).await)
}

/// The `--exceptions` file, read (an S3 object with the runner's
/// credentials, in its region) and validated with its window counted from
/// today.
async fn load_exceptions(source: &FileSource, config: &SdkConfig) -> Result<Exceptions, LoadError> {
    let session = source.is_s3().then(|| {
        let throttle = Throttle::for_config(config);
        AccountSession::runner(config.clone(), throttle.into())
    });
    let s3 = session.as_ref().zip(config.region().map(|r| r.as_ref()));
    exceptions::load(source, s3, exceptions::today_utc()).await
}

/// The report `--previous` names, or the latest earlier one under
/// `--s3-uri`; never an error (what was not read is recorded with why).
async fn find_previous(
    job: &ScanJob,
    session: &AccountSession,
    bucket_region: Option<&str>,
) -> Previous {
    let Some(region) = bucket_region else {
        // The scan stops at once for the missing region; nothing is asked.
        return match &job.previous {
            Some(FileSource::Local(path)) => previous::read_local(path),
            _ => Previous::Missing(Default::default()),
        };
    };
    let found = match (&job.previous, &job.upload) {
        (Some(source), _) => previous::read_named(session, region, source).await,
        (None, Some(upload)) => {
            previous::read_latest(
                session,
                region,
                &upload.uri,
                &previous::scan_id_prefix_now(),
            )
            .await
        }
        (None, None) => Previous::Missing(Default::default()),
    };
    match &found {
        Previous::Found { source, findings } => {
            tracing::info!(source, scan_id = findings.scan_id, "previous report read")
        }
        Previous::Missing(PreviousReport::Unavailable { reason, .. }) => {
            tracing::warn!(reason, "no comparison with a previous report")
        }
        Previous::Missing(_) => {}
    }
    found
}

/// The scan's destinations in AWS, with the runner's credentials (and, for
/// Security Hub, each account's import role).
struct AwsDestinations<'a> {
    target: Option<S3Target>,
    session: &'a AccountSession,
    scan: &'a ScanOutcome,
    job: &'a ScanJob,
}

impl Destinations for AwsDestinations<'_> {
    fn uploads(&self) -> bool {
        self.target.is_some()
    }

    async fn upload(&mut self, files: &[LocalFile]) -> Result<Vec<String>, S3Error> {
        let Some(target) = &self.target else {
            return Ok(Vec::new());
        };
        let scan = &self.scan.scan;
        sink::upload(self.session, target, &scan.scan_id, &scan.scan_time, files).await
    }

    fn security_hub_role(&self) -> Option<&RoleName> {
        self.job.security_hub.as_ref().map(|job| &job.role_name)
    }

    async fn import(&mut self, written: &Written<'_>) -> io::Result<SecurityHubSummary> {
        let Some(role_name) = self.security_hub_role() else {
            return Ok(SecurityHubSummary::default());
        };
        let scan: &ScanHeader = &self.scan.scan;
        let imported_at = import_time();
        let options = &self.job.options;
        let import = security_hub::Import {
            runner: self.session,
            role: RoleRequest {
                partition: scan.partition.clone(),
                role_name: role_name.to_string(),
                external_id: options.external_id.clone(),
                session_name: format!("cmkscan-{}", scan.scan_id),
                sts_region: self.scan.runner_region.clone(),
            },
            partition: &scan.partition,
            home_region: &self.scan.runner_region,
            scan_id: &scan.scan_id,
            scan_time: &scan.scan_time,
            imported_at: &imported_at,
            concurrency: options.concurrency,
            exceptions: written
                .summary
                .exceptions
                .as_ref()
                .map_or(&[], |summary| summary.exceptions.as_slice()),
        };
        security_hub::import(&import, written.findings).await
    }

    fn topic(&self) -> Option<&TopicArn> {
        self.job.sns_topic.as_ref()
    }

    async fn publish(&mut self, notice: &Notice) -> Result<String, CallError> {
        let Some(topic) = &self.job.sns_topic else {
            return Ok(String::new());
        };
        notify::publish(self.session, topic, &self.scan.scan.scan_id, notice).await
    }

    fn heartbeat_namespace(&self) -> Option<&MetricNamespace> {
        self.job.heartbeat.as_ref()
    }

    async fn heartbeat(&mut self) -> Result<(), CallError> {
        let Some(namespace) = &self.job.heartbeat else {
            return Ok(());
        };
        heartbeat::publish(
            self.session,
            &self.scan.runner_region,
            namespace,
            SystemTime::now(),
        )
        .await
    }
}

/// Now, RFC 3339: the `UpdatedAt` of every finding sent to Security Hub.
fn import_time() -> String {
    DateTime::from(SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
