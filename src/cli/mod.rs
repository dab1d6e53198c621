//! The binary's side of each subcommand: run the library's job with
//! stdout, and say what failed in a way [`exit`] maps to an exit code.

mod args;
pub mod exit;

use std::io::Write;

pub use args::{Cli, Command, LogFormat};
use exit::Failure;

/// Runs one subcommand. Progress and results go to stdout; a failure is
/// returned, to be printed once on stderr.
pub async fn run(command: Command) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Scan(args) => {
            let job = args.job().map_err(Failure::Clap)?;
            let config = cmkscan::load_aws_config().await;
            let delivery = cmkscan::job::scan(config, job, &mut stdout)
                .await
                .map_err(|err| Failure::of(err.is_usage(), err))?;
            delivery.result().map_err(|err| Failure::of(false, err))
        }
        Command::Evaluate(args) => {
            let job = args.job();
            let config = match job.needs_aws() {
                true => Some(cmkscan::load_aws_config().await),
                false => None,
            };
            cmkscan::job::evaluate(&job, config.as_ref(), &mut stdout)
                .await
                .map(drop)
                .map_err(|err| Failure::of(err.is_usage(), err))
        }
        Command::Plan(args) => {
            let job = args.job();
            let config = match job.needs_aws() {
                true => Some(cmkscan::load_aws_config().await),
                false => None,
            };
            cmkscan::job::plan(&job, config.as_ref(), &mut stdout)
                .await
                .map(drop)
                .map_err(|err| Failure::of(err.is_usage(), err))
        }
        Command::Diff(args) => {
            let diff = cmkscan::diff(&args.old, &args.new);
            let _ = write!(stdout, "{}", diff.render());
            if let Some(path) = &args.output {
                let csv = diff.to_csv().map_err(|err| {
                    Failure::run(anyhow::Error::new(err).context("cannot render the diff CSV"))
                })?;
                std::fs::write(path, csv).map_err(|err| {
                    Failure::run(
                        anyhow::Error::new(err).context(format!("cannot write {}", path.display())),
                    )
                })?;
                let _ = writeln!(stdout, "wrote {}", path.display());
            }
            Ok(())
        }
    }
}
