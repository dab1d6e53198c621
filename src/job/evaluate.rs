//! `cmkscan evaluate` as a run: a scan's facts file made into the report
//! the scan wrote, byte for byte, with the scan's own evaluation and
//! comparison, and no AWS unless the exceptions file or the previous
//! report is an S3 object (one `GetObject` each).

use std::io::{self, Write};
use std::path::PathBuf;

use aws_config::SdkConfig;

use super::gate::Gate;
use super::{print_written, write_local};
use crate::aws::session::AccountSession;
use crate::aws::throttle::Throttle;
use crate::checks::catalog::Status;
use crate::exceptions::{self, Exceptions, Judge, LoadError};
use crate::facts::evidence::{self, EvidenceError};
use crate::facts::PreviousReport;
use crate::findings::{self, Telling};
use crate::history::previous::{self, Previous};
use crate::history::{compare, CompareError};
use crate::ids::FileSource;
use crate::report::Report;
use crate::sink::{LocalError, LocalFile};

/// Everything `cmkscan evaluate` was asked to do.
pub struct EvaluateJob {
    /// A `facts.json.gz` written by `cmkscan scan` (or the same,
    /// uncompressed).
    pub facts: PathBuf,
    /// Another exceptions file than the one the scan kept.
    pub exceptions: Option<FileSource>,
    /// The report the scan compared with: a path, or the `s3://` object
    /// the scan read (as its evidence names it).
    pub previous: Option<FileSource>,
    pub output_dir: PathBuf,
    /// `--fail-on`, as for a scan.
    pub fail_on: Option<Status>,
    /// Colour on the summary printed (`--color`).
    pub colour: bool,
}

/// What a re-evaluation wrote.
#[derive(Debug)]
pub struct EvaluateRun {
    pub files: Vec<LocalFile>,
    /// `--fail-on`'s verdict; `None` without it.
    pub gate: Option<Gate>,
}

/// Why no report was made.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
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
    #[error("cannot park findings in the temporary directory (TMPDIR)")]
    Spool(#[source] io::Error),
    #[error(transparent)]
    Compare(#[from] CompareError),
    #[error(transparent)]
    Output(#[from] LocalError),
    #[error("cannot use the report --previous names: {reason}")]
    Previous { reason: String },
    #[error("--previous {uri}: reading an S3 object needs an AWS region: pass --region or set AWS_REGION")]
    PreviousNoRegion { uri: String },
}

impl EvaluateJob {
    /// Whether the run calls AWS: only to read the exceptions file or the
    /// previous report from S3.
    pub fn needs_aws(&self) -> bool {
        self.exceptions.as_ref().is_some_and(FileSource::is_s3)
            || self.previous.as_ref().is_some_and(FileSource::is_s3)
    }
}

impl EvaluateError {
    /// Errors the user fixes by changing the command line or the file it
    /// names (exit code 2): every input file, as for `scan` and `diff`.
    pub fn is_usage(&self) -> bool {
        match self {
            EvaluateError::Exceptions(err)
            | EvaluateError::StoredExceptions { source: err, .. } => err.is_usage(),
            EvaluateError::Read { .. }
            | EvaluateError::Facts { .. }
            | EvaluateError::ScanTime { .. }
            | EvaluateError::Previous { .. }
            | EvaluateError::PreviousNoRegion { .. } => true,
            EvaluateError::Spool(_) | EvaluateError::Compare(_) | EvaluateError::Output(_) => false,
        }
    }
}

/// Writes the report of `job.facts` into `job.output_dir` and returns its
/// files. `config`, the runner's AWS configuration, is needed only to read
/// an S3 object (see [`EvaluateJob::needs_aws`]).
pub async fn evaluate(
    job: &EvaluateJob,
    config: Option<&SdkConfig>,
    out: &mut dyn Write,
) -> Result<EvaluateRun, EvaluateError> {
    let path = job.facts.display().to_string();
    let bytes = tokio::fs::read(&job.facts)
        .await
        .map_err(|source| EvaluateError::Read {
            path: path.clone(),
            source,
        })?;
    let facts = evidence::read_facts(&bytes).map_err(|source| EvaluateError::Facts {
        path: path.clone(),
        source,
    })?;
    // The scan's day, not today: the same facts judge the same way whenever
    // they are re-evaluated.
    let scan_day = exceptions::day_of(&facts.scan_time)
        .ok_or_else(|| EvaluateError::ScanTime { path: path.clone() })?;
    let session = config
        .map(|config| AccountSession::runner(config.clone(), Throttle::for_config(config).into()));
    let region = config.and_then(|config| config.region());
    let s3 = session.as_ref().zip(region.map(|region| region.as_ref()));
    let file = match &job.exceptions {
        Some(source) => Some(exceptions::load(source, s3, exceptions::today_utc()).await?),
        None => facts
            .exceptions
            .as_ref()
            .map(|stored| Exceptions::from_stored(stored, scan_day))
            .transpose()
            .map_err(|source| EvaluateError::StoredExceptions {
                path: path.clone(),
                source,
            })?,
    };
    let judge = file.map(|file| Judge::new(file, scan_day));
    let evaluated = findings::evaluate(&facts, judge).map_err(EvaluateError::Spool)?;
    let given = match &job.previous {
        Some(source) => Some(read_previous(source, s3).await?),
        None => None,
    };
    let previous = previous::for_evaluate(&facts.previous_report, given);
    let header = facts.header();
    let changes = compare(previous, &header, &evaluated.findings)?;
    let report = Report {
        scan: &header,
        summary: &evaluated.summary,
        changes: &changes,
        findings: &evaluated.findings,
    };
    let telling = Telling {
        colour: job.colour,
        re_evaluation: true,
    };
    let files = write_local(
        &report,
        &evaluated.key_activity,
        &job.output_dir,
        out,
        telling,
    )?;
    print_written(&files, out);
    let gate = job
        .fail_on
        .map(|threshold| Gate::of(&evaluated.summary, threshold));
    Ok(EvaluateRun { files, gate })
}

/// The report `--previous` names, read: a path, or an S3 object read with
/// the runner's credentials in its region. One that cannot be read is a
/// usage error, as for a scan.
async fn read_previous(
    source: &FileSource,
    s3: Option<(&AccountSession, &str)>,
) -> Result<Previous, EvaluateError> {
    let found = match (source, s3) {
        (FileSource::Local(path), _) => previous::read_local(path),
        (FileSource::S3 { .. }, Some((session, region))) => {
            previous::read_named(session, region, source).await
        }
        (FileSource::S3 { .. }, None) => {
            return Err(EvaluateError::PreviousNoRegion {
                uri: source.to_string(),
            })
        }
    };
    match found {
        Previous::Missing(PreviousReport::Unavailable { reason, .. }) => {
            Err(EvaluateError::Previous { reason })
        }
        found => Ok(found),
    }
}
