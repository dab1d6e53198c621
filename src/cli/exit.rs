//! Exit codes, and the one line on stderr that says why a run failed.
//!
//! - 0: the report was written (and uploaded, and the summary published),
//!   whatever the findings;
//! - 1: the scan could not complete, or the report could not be written or
//!   delivered;
//! - 2: a command line (or a file it names) that cannot run.
//!
//! `cmkscan plan`: 0 the plan was written, 1 it could not be (a failed
//! `--check`, an unreadable S3 object, an unwritable directory), 2 bad
//! input.

use std::process::ExitCode;

use super::LogFormat;

/// Exit code when the report could not be produced or delivered.
const EXIT_FAILURE: u8 = 1;
/// Exit code for a command line that cannot run (clap uses it too).
const EXIT_USAGE: u8 = 2;

/// Why a run failed.
#[derive(Debug)]
pub enum Failure {
    /// What clap reports itself, with its usage text.
    Clap(clap::Error),
    /// A command line or input file the user must fix.
    Usage(anyhow::Error),
    /// The scan, the report or its delivery failed.
    Run(anyhow::Error),
}

impl Failure {
    pub fn of(usage: bool, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        let err = anyhow::Error::new(err);
        if usage {
            Failure::Usage(err)
        } else {
            Failure::Run(err)
        }
    }

    pub fn run(err: anyhow::Error) -> Self {
        Failure::Run(err)
    }
}

/// Says why on stderr, in one line whatever the SDK's messages contain,
/// and gives the exit code.
pub fn report(result: Result<(), Failure>, log_format: LogFormat) -> ExitCode {
    let (err, code) = match result {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Clap(err)) => err.exit(),
        Err(Failure::Usage(err)) => (err, EXIT_USAGE),
        Err(Failure::Run(err)) => (err, EXIT_FAILURE),
    };
    let reason = format!("{err:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match log_format {
        // ECS ships stderr to CloudWatch Logs: keep every line JSON.
        LogFormat::Json => tracing::error!(reason, "cmkscan failed"),
        LogFormat::Text => eprintln!("cmkscan: {reason}"),
    }
    ExitCode::from(code)
}
