//! Stopping a run before it ends, one way for both reasons: a signal (the
//! binary's SIGINT or SIGTERM, what ECS sends to stop a task) and the
//! deadline. The run is a future raced against them; when one fires first,
//! what is in flight is read (the run is still alive then), and the run's
//! future is dropped. Dropping it stops every request at its next await,
//! removes the `.partial` files it was writing (`PendingFile`) and the
//! output directory it made, if still empty (`OutputDir`). Nothing that
//! looks complete is left that is not.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::scan::progress::{InFlight, Phase, Progress, Snapshot};

/// The signals a run stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `docker stop`, ECS stopping a task.
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    Signal(Signal),
    /// `--deadline`, passed.
    Deadline(Duration),
}

/// A run stopped before its end, with what it was doing then.
#[derive(Debug)]
pub struct Stopped {
    pub cause: StopCause,
    /// Where the run was, and its counts, when it stopped.
    pub at: Snapshot,
    pub in_flight: InFlight,
    pub output_dir: PathBuf,
}

/// How many accounts and calls the one line names before counting the rest.
const NAMED: usize = 8;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            StopCause::Signal(signal) => write!(f, "interrupted by {}", signal.name())?,
            StopCause::Deadline(limit) => {
                write!(f, "stopped at the --deadline of {}", format_duration(limit))?
            }
        }
        let at = &self.at;
        write!(f, " while {}", at.phase)?;
        if at.phase == Phase::Scanning {
            write!(
                f,
                " ({} of {} accounts done{})",
                at.accounts_done,
                at.accounts_started,
                if at.listing {
                    ", more being listed"
                } else {
                    ""
                }
            )?;
        }
        let dir = self.output_dir.display();
        match at.phase {
            Phase::Preparing | Phase::Scanning | Phase::Writing => write!(
                f,
                ": no report was written (an earlier report in {dir} is left as it was)"
            )?,
            Phase::Delivering => write!(
                f,
                ": the report in {dir} is complete, but its delivery (upload, Security Hub, SNS) is not"
            )?,
        }
        let deadline = matches!(self.cause, StopCause::Deadline(_));
        if deadline || self.in_flight != InFlight::default() {
            write!(f, "; still running: {}", self.in_flight.describe(NAMED))?;
        }
        Ok(())
    }
}

impl std::error::Error for Stopped {}

/// `90m`, `4h`, `1h30m`: the way `--deadline` takes it.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}

/// Runs `work` to its end, unless `signal` or the `deadline` comes first:
/// then what was in flight is read from `progress` while `work` still
/// lives, and `work` is dropped.
pub(super) async fn until_stopped<T>(
    work: impl Future<Output = T>,
    signal: impl Future<Output = Signal>,
    deadline: Option<Duration>,
    progress: &Progress,
    output_dir: PathBuf,
) -> Result<T, Box<Stopped>> {
    let stop = async {
        let cause = match deadline {
            Some(limit) => tokio::select! {
                signal = signal => StopCause::Signal(signal),
                () = tokio::time::sleep(limit) => StopCause::Deadline(limit),
            },
            None => StopCause::Signal(signal.await),
        };
        Box::new(Stopped {
            cause,
            at: progress.snapshot(),
            in_flight: progress.in_flight(),
            output_dir,
        })
    };
    tokio::select! {
        // The run first: a run that ends as the signal arrives has ended.
        biased;
        done = work => Ok(done),
        stopped = stop => Err(stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_they_are_given() {
        assert_eq!(format_duration(Duration::from_secs(6 * 3600)), "6h");
        assert_eq!(format_duration(Duration::from_secs(90 * 60)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_stops_the_work_and_names_what_was_in_flight() {
        let progress = Progress::new();
        progress.set_phase(Phase::Scanning);
        let account = progress.account_started("111122223333", "prod");
        let work = async {
            let _account = account;
            std::future::pending::<()>().await
        };
        let stopped = until_stopped(
            work,
            std::future::pending(),
            Some(Duration::from_secs(90 * 60)),
            &progress,
            "reports".into(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            stopped.cause,
            StopCause::Deadline(Duration::from_secs(5400))
        );
        assert_eq!(
            stopped.to_string(),
            "stopped at the --deadline of 1h30m while scanning (0 of 1 accounts done, more being \
             listed): no report was written (an earlier report in reports is left as it was); \
             still running: 1 account(s) in flight: 111122223333 (prod)"
        );
        // The work was dropped: the account is no longer in flight.
        assert!(progress.in_flight().accounts.is_empty());
    }

    #[tokio::test]
    async fn a_signal_stops_the_work_and_finished_work_wins() {
        let progress = Progress::new();
        let stopped = until_stopped(
            std::future::pending::<()>(),
            async { Signal::Terminate },
            None,
            &progress,
            "out".into(),
        )
        .await
        .unwrap_err();
        assert_eq!(stopped.cause, StopCause::Signal(Signal::Terminate));
        assert!(
            stopped.to_string().starts_with(
                "interrupted by SIGTERM while reading the exceptions file and the previous report: \
                 no report was written"
            ),
            "{stopped}"
        );
        let done = until_stopped(
            async { 7 },
            async { Signal::Interrupt },
            None,
            &progress,
            "out".into(),
        )
        .await;
        assert_eq!(done.ok(), Some(7));
    }
}
