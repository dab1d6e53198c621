//! `cmkscan plan` as a run: a scan's evidence (a local file, or an S3
//! object read with the runner's credentials) judged as the scan judged
//! it, planned ([`crate::plan`]), checked with `--check`, and written into
//! its directory. It reads AWS at most twice (the facts and the exceptions
//! file, from S3) and never changes anything there.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use sha2::{Digest, Sha256};

use super::say;
use crate::aws::s3_object::get_object;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, Throttle};
use crate::exceptions::{self, Exceptions, LoadError};
use crate::facts::evidence::{self, EvidenceError};
use crate::ids::FileSource;
use crate::plan::{self, Action, OutputError, PlanInput, PlanOptions};

/// The largest facts object read from S3: an organisation of thousands of
/// accounts writes a few hundred megabytes of evidence.
const MAX_FACTS_BYTES: usize = 1 << 30;

/// Everything `cmkscan plan` was asked to do.
pub struct PlanJob {
    /// A `facts.json.gz` written by `cmkscan scan`: a path or an S3 object.
    pub facts: FileSource,
    /// Another exceptions file than the one the scan kept.
    pub exceptions: Option<FileSource>,
    pub output_dir: PathBuf,
    pub options: PlanOptions,
    /// `--check`: simulate the plan on the evidence before writing it.
    pub check: bool,
}

impl PlanJob {
    /// Whether the run reads AWS: only to read the facts or the
    /// exceptions file from S3.
    pub fn needs_aws(&self) -> bool {
        self.facts.is_s3() || self.exceptions.as_ref().is_some_and(FileSource::is_s3)
    }
}

/// Why no plan was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the facts file {path}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the facts object {uri}")]
    S3 {
        uri: String,
        #[source]
        source: CallError,
    },
    #[error("the facts object {uri} is larger than {MAX_FACTS_BYTES} bytes")]
    TooLarge { uri: String },
    #[error("cannot read the facts object {uri}: no AWS region configured: set AWS_REGION (or a profile region)")]
    NoRegion { uri: String },
    #[error("cannot use {path}")]
    Facts {
        path: String,
        #[source]
        source: EvidenceError,
    },
    #[error("cannot use {path}: its scan_time is not an RFC 3339 time")]
    ScanTime { path: String },
    #[error(transparent)]
    Exceptions(#[from] LoadError),
    #[error("the exceptions kept in {path}")]
    StoredExceptions {
        path: String,
        #[source]
        source: LoadError,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("--check failed: {not_as_planned} planned rows would not become what their step expects and {other} other rows would change (listed above); no plan was written")]
    CheckFailed { not_as_planned: usize, other: usize },
}

impl PlanError {
    /// Errors the user fixes by changing the command line or the file it
    /// names (exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            PlanError::Read { .. }
            | PlanError::TooLarge { .. }
            | PlanError::NoRegion { .. }
            | PlanError::Facts { .. }
            | PlanError::ScanTime { .. } => true,
            PlanError::Exceptions(err) | PlanError::StoredExceptions { source: err, .. } => {
                err.is_usage()
            }
            PlanError::Output(err) => err.is_usage(),
            PlanError::S3 { .. } | PlanError::CheckFailed { .. } => false,
        }
    }
}

/// Plans from `job.facts` into `job.output_dir`. `config`, the runner's
/// AWS configuration, is needed only for S3 objects
/// ([`PlanJob::needs_aws`]).
pub async fn plan(
    job: &PlanJob,
    config: Option<&SdkConfig>,
    out: &mut dyn Write,
) -> Result<plan::Written, PlanError> {
    let source = job.facts.to_string();
    let session = config
        .map(|config| AccountSession::runner(config.clone(), Throttle::for_config(config).into()));
    let region = config
        .and_then(|config| config.region())
        .map(|r| r.as_ref());
    let bytes = match &job.facts {
        FileSource::Local(path) => {
            tokio::fs::read(path)
                .await
                .map_err(|source| PlanError::Read {
                    path: path.display().to_string(),
                    source,
                })?
        }
        FileSource::S3 { bucket, key } => {
            let (Some(session), Some(region)) = (&session, region) else {
                return Err(PlanError::NoRegion { uri: source });
            };
            get_object(session, region, bucket, key, MAX_FACTS_BYTES)
                .await
                .map_err(|err| PlanError::S3 {
                    uri: source.clone(),
                    source: err,
                })?
                .ok_or_else(|| PlanError::TooLarge {
                    uri: source.clone(),
                })?
        }
    };
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let facts = evidence::read_facts(&bytes).map_err(|err| PlanError::Facts {
        path: source.clone(),
        source: err,
    })?;
    drop(bytes);
    let scan_day = exceptions::day_of(&facts.scan_time).ok_or_else(|| PlanError::ScanTime {
        path: source.clone(),
    })?;
    let (file, exceptions_source): (Option<Exceptions>, Option<String>) = match &job.exceptions {
        Some(given) => {
            let s3 = session.as_ref().zip(region);
            let file = exceptions::load(given, s3, exceptions::today_utc()).await?;
            (Some(file), Some(given.to_string()))
        }
        None => match &facts.exceptions {
            Some(stored) => (
                Some(Exceptions::from_stored(stored, scan_day).map_err(|err| {
                    PlanError::StoredExceptions {
                        path: source.clone(),
                        source: err,
                    }
                })?),
                Some(format!("{} (kept in the facts)", stored.source)),
            ),
            None => (None, None),
        },
    };
    let findings = plan::findings_of(&facts, file.as_ref(), scan_day);
    let now_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let input = PlanInput {
        facts: &facts,
        facts_source: source,
        facts_sha256: sha256,
        exceptions_source,
        findings: &findings,
        now_epoch,
    };
    let mut made = plan::build(&input, &job.options);
    let mut counts = [0usize; 4];
    for step in &made.steps {
        counts[step.action as usize] += 1;
    }
    say(
        out,
        format_args!(
            "plan: {} apply, {} request, {} decide, {} refused; {} rows accepted by an exception, not planned\n",
            counts[Action::Apply as usize],
            counts[Action::Request as usize],
            counts[Action::Decide as usize],
            counts[Action::Refused as usize],
            made.accepted.len()
        ),
    );
    if job.check {
        let outcome = plan::check(&mut made, &facts, file.as_ref(), scan_day);
        say(
            out,
            format_args!(
                "check: {}: {} of {} planned rows become what their step expects ({} PASS, {} WARN); {} other rows changed\n",
                if outcome.passed { "passed" } else { "FAILED" },
                outcome.turned_pass + outcome.turned_warn,
                outcome.planned_rows,
                outcome.turned_pass,
                outcome.turned_warn,
                outcome.other_rows_changed.len()
            ),
        );
        if !outcome.passed {
            for change in outcome
                .not_as_planned
                .iter()
                .chain(&outcome.other_rows_changed)
            {
                say(
                    out,
                    format_args!(
                        "  {} {} {} {}: {:?} -> {:?} (expected {:?})\n",
                        change.check_id,
                        change.account_id,
                        change.region,
                        change.resource_id,
                        change.before,
                        change.after,
                        change.expected
                    ),
                );
            }
            return Err(PlanError::CheckFailed {
                not_as_planned: outcome.not_as_planned.len(),
                other: outcome.other_rows_changed.len(),
            });
        }
    }
    let written = plan::write(&made, &job.output_dir)?;
    let scripts = written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sh"))
        .count();
    for file in written
        .files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "sh"))
    {
        say(out, format_args!("wrote {}\n", file.display()));
    }
    say(
        out,
        format_args!(
            "wrote {scripts} scripts under {}\n",
            job.output_dir.join("scripts").display()
        ),
    );
    if written.report_linked {
        say(
            out,
            format_args!("report.html beside it now links each planned or refused FAIL row to its section of plan.md\n"),
        );
    }
    Ok(written)
}
