//! The binary's side of each subcommand: run the library's job with
//! stdout, show its progress, stop it on SIGINT / SIGTERM, and say what
//! failed in a way [`exit`] maps to an exit code.

mod args;
pub mod exit;
pub mod progress;

use std::io::{IsTerminal, Write};

use cmkscan::{Progress, RunnerSettings, ScanJobError, Signal};
use tokio::signal::unix::{signal, SignalKind};

pub use args::{Cli, ColorChoice, Command, LogFormat};
use exit::Failure;
use progress::Showing;

/// How the run talks to the person (or the log service) watching it.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub log_format: LogFormat,
    pub color: ColorChoice,
}

/// Runs one subcommand. Progress and results go to stdout; a failure is
/// returned, to be printed once on stderr.
pub async fn run(command: Command, terminal: Terminal) -> Result<(), Failure> {
    match command {
        Command::Scan(args) => scan(*args, terminal).await,
        Command::Evaluate(args) => {
            let command = args.command(terminal.color.stdout());
            let runner = match command.job.needs_aws() {
                true => Some(runner(&command.aws).await?),
                false => None,
            };
            let mut stdout = std::io::stdout().lock();
            let run = cmkscan::job::evaluate(
                &command.job,
                runner.as_ref().map(|r| &r.config),
                &mut stdout,
            )
            .await
            .map_err(|err| Failure::of(err.is_usage(), err))?;
            gate(run.gate)
        }
        Command::Plan(args) => {
            let command = args.command();
            let runner = match command.job.needs_aws() {
                true => Some(runner(&command.aws).await?),
                false => None,
            };
            let mut stdout = std::io::stdout().lock();
            cmkscan::job::plan(
                &command.job,
                runner.as_ref().map(|r| &r.config),
                &mut stdout,
            )
            .await
            .map(drop)
            .map_err(|err| Failure::of(err.is_usage(), err))
        }
        Command::Diff(args) => {
            let mut stdout = std::io::stdout().lock();
            let diff = cmkscan::diff(&args.old, &args.new).map_err(|err| {
                Failure::run(anyhow::Error::new(err).context("cannot compare the reports"))
            })?;
            // Output that cannot be written (a closed pipe) is no failure;
            // changes that cannot be read back from disk are.
            diff.render(&mut Unfailing(&mut stdout)).map_err(|err| {
                Failure::run(anyhow::Error::new(err).context("cannot read the changes back"))
            })?;
            if let Some(path) = &args.output {
                let written = std::fs::File::create(path)
                    .map_err(csv::Error::from)
                    .and_then(|file| diff.write_csv(std::io::BufWriter::new(file)));
                written.map_err(|err| {
                    Failure::run(
                        anyhow::Error::new(err).context(format!("cannot write {}", path.display())),
                    )
                })?;
                let _ = writeln!(stdout, "wrote {}", path.display());
            }
            match diff.changes.len() {
                changed if args.exit_code && changed > 0 => Err(Failure::gate(format!(
                    "{changed} row(s) changed (--exit-code)"
                ))),
                _ => Ok(()),
            }
        }
    }
}

/// A writer whose write errors are dropped: what the person reads is no
/// reason to fail a run.
struct Unfailing<W>(W);

impl<W: Write> Write for Unfailing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

async fn scan(args: args::ScanArgs, terminal: Terminal) -> Result<(), Failure> {
    let command = args
        .command(terminal.color.stdout())
        .map_err(Failure::Clap)?;
    // Before anything else: a signal from here on stops the run cleanly.
    let stop = stop_signal().map_err(|err| {
        Failure::run(anyhow::Error::new(err).context("cannot listen for SIGINT and SIGTERM"))
    })?;
    let runner = runner(&command.aws).await?;
    let progress = Progress::new();
    let showing = match terminal.log_format {
        LogFormat::Text if std::io::stderr().is_terminal() => Showing::Live,
        _ => Showing::Logged(command.progress_interval),
    };
    let mut stdout = progress::Stdout::new();
    let run = cmkscan::job::scan(runner.config, command.job, &progress, stop, &mut stdout);
    let result = tokio::select! {
        biased;
        result = run => result,
        () = progress::show(&progress, showing) => unreachable!("progress is shown until the run ends"),
    };
    progress::LIVE_LINE.clear();
    drop(stdout);
    let run = result.map_err(|err| match err {
        ScanJobError::Stopped(stopped) => {
            Failure::stopped(stopped.cause, ScanJobError::Stopped(stopped))
        }
        err => {
            let detail = err.detail();
            Failure::of(err.is_usage(), err).with_detail(detail)
        }
    })?;
    run.delivery
        .result()
        .map_err(|err| Failure::of(false, err))?;
    gate(run.gate)
}

/// The runner's AWS configuration; one that cannot be made (a profile
/// that does not exist, no region) is the user's to fix.
async fn runner(settings: &RunnerSettings) -> Result<cmkscan::Runner, Failure> {
    let runner = cmkscan::load_aws_config(settings)
        .await
        .map_err(|err| Failure::of(true, err))?;
    tracing::info!(
        "runner region {} (from {})",
        runner.region,
        runner.region_from
    );
    Ok(runner)
}

/// `--fail-on`'s verdict, once the report is delivered.
fn gate(gate: Option<cmkscan::Gate>) -> Result<(), Failure> {
    match gate {
        Some(gate) if gate.tripped() => Err(Failure::gate(gate.to_string())),
        _ => Ok(()),
    }
}

/// The first SIGINT or SIGTERM, listened for from now on (the default
/// action, ending the process at once, would leave `.partial` files).
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = Signal>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => Signal::Interrupt,
            _ = terminate.recv() => Signal::Terminate,
        }
    })
}
