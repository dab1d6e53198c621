//! `cmkscan scan` as a run: the exceptions file and the previous report
//! before the first request, the scan with its evidence streamed to disk,
//! the comparison, the local report, then the delivery; the whole of it
//! raced against a signal and the deadline ([`super::stop`]).

use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_types::date_time::{DateTime, Format};
use flate2::write::GzEncoder;

use super::deliver::{deliver, Delivery, Destinations, Written};
use super::gate::Gate;
use super::stop::{until_stopped, Signal, Stopped};
use super::{print_written, write_local};
use crate::aws::access::RoleRequest;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, Throttle};
use crate::checks::catalog::Status;
use crate::exceptions::{self, Exceptions, LoadError};
use crate::facts::evidence::FactsWriter;
use crate::facts::{PreviousReport, ScanHeader};
use crate::findings::{SecurityHubSummary, Telling};
use crate::history::previous::{self, Previous};
use crate::history::{compare, CompareError};
use crate::ids::{FileSource, KmsKeyId, MetricNamespace, RegionName, RoleName, S3Uri, TopicArn};
use crate::report::Report;
use crate::scan::progress::{Phase, Progress};
use crate::scan::{self, ScanError, ScanOptions, ScanOutcome};
use crate::sink::notify::{self, Notice};
use crate::sink::{
    self, heartbeat, security_hub, LocalError, LocalFile, OutputDir, PendingFile, S3Error, S3Target,
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
    /// `--fail-on`: the status at or worse than which unaccepted rows make
    /// the run's [`Gate`] trip, once the report is delivered.
    pub fail_on: Option<Status>,
    /// `--deadline`: the whole run stops when it has run this long.
    pub deadline: Option<Duration>,
    /// Colour on the summary printed (`--color`).
    pub colour: bool,
}

/// What became of a scan that wrote its report.
#[derive(Debug)]
pub struct ScanRun {
    pub delivery: Delivery,
    /// `--fail-on`'s verdict; `None` without it.
    pub gate: Option<Gate>,
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
    /// `--previous` names a report that cannot be read: said before the
    /// scan's first request.
    #[error("cannot use the report --previous names: {reason}")]
    Previous { source_name: String, reason: String },
    /// A signal or the deadline stopped the run.
    #[error(transparent)]
    Stopped(Box<Stopped>),
}

impl ScanJobError {
    /// Errors the user fixes by changing the command line (exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            ScanJobError::Exceptions(err) => err.is_usage(),
            ScanJobError::Scan(err) => err.is_usage(),
            ScanJobError::Previous { .. } => true,
            _ => false,
        }
    }

    /// What the one-line message leaves out, for the JSON log and debug
    /// level.
    pub fn detail(&self) -> Option<String> {
        match self {
            ScanJobError::Scan(err) => err.detail(),
            _ => None,
        }
    }
}

/// Runs the scan and delivers its report with the runner's configuration
/// `config` (tests pass one pointing at the emulator), printing on `out`
/// what it wrote and where it went, and telling `progress` what it does.
/// It stops early when `signal` comes or `job.deadline` passes. `Err`
/// means no report was written (or, stopped while delivering, not all of
/// it delivered); `Ok` says what became of the report, which may be a
/// failed delivery.
pub async fn scan(
    config: SdkConfig,
    job: ScanJob,
    progress: &Arc<Progress>,
    signal: impl Future<Output = Signal>,
    out: &mut dyn Write,
) -> Result<ScanRun, ScanJobError> {
    let work = run(config, &job, progress, out);
    until_stopped(work, signal, job.deadline, progress, job.output_dir.clone())
        .await
        .map_err(ScanJobError::Stopped)?
}

async fn run(
    config: SdkConfig,
    job: &ScanJob,
    progress: &Arc<Progress>,
    out: &mut dyn Write,
) -> Result<ScanRun, ScanJobError> {
    progress.set_phase(Phase::Preparing);
    let mut output_dir = OutputDir::prepare(&job.output_dir)?;
    let dir = &job.output_dir;
    // The runner's session outside the scan: the exceptions file, the
    // previous report, the upload and the message (none of them counted in
    // the summary).
    let throttle = Arc::new(Throttle::for_config(&config));
    progress.watch(&throttle);
    let session = AccountSession::runner(config.clone(), throttle);
    // Before the scan's first request: a bad file must cost nothing.
    let exceptions = match &job.exceptions {
        Some(source) => Some(load_exceptions(source, &session, &config).await?),
        None => None,
    };
    let bucket_region = job
        .upload
        .as_ref()
        .and_then(|upload| upload.region.as_ref())
        .map(|r| r.as_str().to_string())
        .or_else(|| config.region().map(|r| r.to_string()));
    let previous = find_previous(job, &session, bucket_region.as_deref()).await?;
    let options = ScanOptions {
        exceptions,
        previous_report: previous.record(),
        ..job.options.clone()
    };
    // The evidence streams to disk while the scan runs; it takes its name
    // only if the scan completes, and vanishes if it fails.
    let (pending_facts, facts_out) = PendingFile::create(dir, sink::FACTS_NAME)?;
    let mut facts = FactsWriter::new(GzEncoder::new(facts_out, flate2::Compression::default()));
    let outcome = scan::run_observed(config, options, &mut facts, progress).await?;
    progress.set_phase(Phase::Writing);
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
    let telling = Telling {
        colour: job.colour,
        re_evaluation: false,
    };
    let mut files = write_local(&report, &evaluated.key_activity, dir, out, telling)?;
    output_dir.keep();
    files.push(LocalFile::facts(facts_path));
    print_written(&files, out);
    progress.set_phase(Phase::Delivering);

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
        job,
    };
    let delivery = deliver(&written, &mut destinations, out).await;
    let gate = job
        .fail_on
        .map(|threshold| Gate::of(&evaluated.summary, threshold));
    Ok(ScanRun { delivery, gate })
}

/// The `--exceptions` file, read (an S3 object with the runner's
/// credentials, in its region) and validated with its window counted from
/// today.
async fn load_exceptions(
    source: &FileSource,
    session: &AccountSession,
    config: &SdkConfig,
) -> Result<Exceptions, LoadError> {
    let s3 = config.region().map(|r| (session, r.as_ref()));
    exceptions::load(source, s3, exceptions::today_utc()).await
}

/// The report `--previous` names, which must be read (a usage error
/// otherwise, before the scan's first request), or else the latest earlier
/// one under `--s3-uri`, which never fails the scan (what was not read is
/// recorded with why).
async fn find_previous(
    job: &ScanJob,
    session: &AccountSession,
    bucket_region: Option<&str>,
) -> Result<Previous, ScanJobError> {
    let Some(region) = bucket_region else {
        // The scan stops at once for the missing region; nothing is asked.
        return match &job.previous {
            Some(FileSource::Local(path)) => named(previous::read_local(path)),
            _ => Ok(Previous::Missing(Default::default())),
        };
    };
    let found = match (&job.previous, &job.upload) {
        (Some(source), _) => return named(previous::read_named(session, region, source).await),
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
    Ok(found)
}

/// A report named on the command line: read, or the reason it was not.
fn named(found: Previous) -> Result<Previous, ScanJobError> {
    match found {
        Previous::Missing(PreviousReport::Unavailable { source, reason }) => {
            Err(ScanJobError::Previous {
                source_name: source,
                reason,
            })
        }
        found => {
            if let Previous::Found { source, findings } = &found {
                tracing::info!(source, scan_id = findings.scan_id, "previous report read");
            }
            Ok(found)
        }
    }
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
