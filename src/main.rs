//! The `cmkscan` binary: the allocator, the command line parsed, logging,
//! the runtime, and the exit code. Everything else is the library's
//! (`src/lib.rs`) and the subcommands' (`src/cli/`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, LogFormat, Terminal};

// A scan allocates and frees per request, and glibc's malloc took a fifth
// of its CPU time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let terminal = Terminal {
        log_format: cli.log_format,
        color: cli.color,
    };
    init_logging(terminal);
    // As many threads as the process may use cores: at 17 regions the
    // requests' own CPU (signing, parsing, the SDK) keeps one core 77%
    // busy at the pace Organizations lists accounts (10,000 accounts,
    // docs/performance.md), so with more cores the scan spreads over them
    // and keeps that margin. With one core, one thread: a multi-threaded
    // runtime there only hands each response across threads.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut builder = if cores > 1 {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(cores);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cmkscan: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli.command, terminal));
    cli::exit::report(result, cli.log_format)
}

/// cmkscan's own lines from INFO up. Other crates' (the AWS SDK's) only
/// from ERROR in text, WARN in JSON: the SDK's warnings are debug structs
/// of a kilobyte each, repeating the failure the last line names in words;
/// the JSON log, read by machines, keeps them. `RUST_LOG` overrides both.
fn init_logging(terminal: Terminal) {
    let default = match terminal.log_format {
        LogFormat::Text => "cmkscan=info,error",
        LogFormat::Json => "cmkscan=info,warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(cli::progress::Stderr);
    match terminal.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(terminal.color.stderr()).init(),
    }
}
