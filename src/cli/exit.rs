//! Exit codes, and the one line on stderr that says why a run failed.
//!
//! - 0: the report was written (and uploaded, and the summary published),
//!   whatever the findings;
//! - 1: the scan could not complete, the report could not be written or
//!   delivered, or the run passed its `--deadline`;
//! - 2: a command line (or a file, profile or region it names) that cannot
//!   run;
//! - 3: `--fail-on` (the report written and delivered) or `diff
//!   --exit-code`: rows to act on;
//! - 130 / 143: stopped by SIGINT / SIGTERM (128 + the signal's number, as
//!   shells report a process a signal ended).
//!
//! `cmkscan plan`: 0 the plan was written, 1 it could not be (a failed
//! `--check`, an unreadable S3 object, an unwritable directory), 2 bad
//! input.

use std::process::ExitCode;

use cmkscan::{Signal, StopCause};

use super::LogFormat;

/// Exit code when the report could not be produced or delivered.
const EXIT_FAILURE: u8 = 1;
/// Exit code for a command line that cannot run (clap uses it too).
const EXIT_USAGE: u8 = 2;
/// Exit code when the report has rows a pipeline gates on.
const EXIT_GATE: u8 = 3;

/// Why a run did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// What clap reports itself, with its usage text.
    Clap(clap::Error),
    /// Any other: the exit code, the one-line reason, and what that line
    /// leaves out (the failed call in full), said at debug level and in the
    /// JSON log.
    Exit {
        code: u8,
        err: anyhow::Error,
        detail: Option<String>,
    },
}

impl Failure {
    /// A usage error (exit 2) or a runtime one (exit 1).
    pub fn of(usage: bool, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        let code = if usage { EXIT_USAGE } else { EXIT_FAILURE };
        Failure::Exit {
            code,
            err: anyhow::Error::new(err),
            detail: None,
        }
    }

    pub fn run(err: anyhow::Error) -> Self {
        Failure::Exit {
            code: EXIT_FAILURE,
            err,
            detail: None,
        }
    }

    /// Rows to act on: `--fail-on`, `diff --exit-code`.
    pub fn gate(reason: String) -> Self {
        Failure::Exit {
            code: EXIT_GATE,
            err: anyhow::Error::msg(reason),
            detail: None,
        }
    }

    /// A run a signal or the deadline stopped.
    pub fn stopped(cause: StopCause, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        let code = match cause {
            StopCause::Signal(Signal::Interrupt) => 128 + 2,
            StopCause::Signal(Signal::Terminate) => 128 + 15,
            StopCause::Deadline(_) => EXIT_FAILURE,
        };
        Failure::Exit {
            code,
            err: anyhow::Error::new(err),
            detail: None,
        }
    }

    pub fn with_detail(self, detail: Option<String>) -> Self {
        match self {
            Failure::Exit { code, err, .. } => Failure::Exit { code, err, detail },
            clap => clap,
        }
    }
}

/// Says why on stderr, in one line whatever the SDK's messages contain,
/// and gives the exit code.
pub fn report(result: Result<(), Failure>, log_format: LogFormat) -> ExitCode {
    let (err, code, detail) = match result {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Clap(err)) => err.exit(),
        Err(Failure::Exit { code, err, detail }) => (err, code, detail),
    };
    let reason = one_line(&format!("{err:#}"));
    let detail = detail.as_deref().map(one_line);
    match log_format {
        // ECS ships stderr to CloudWatch Logs: keep every line JSON.
        LogFormat::Json => tracing::error!(reason, detail, exit_code = code, "cmkscan failed"),
        LogFormat::Text => {
            if let Some(detail) = &detail {
                tracing::debug!(detail, "the failure in full");
            }
            eprintln!("cmkscan: {reason}");
        }
    }
    ExitCode::from(code)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
