//! The `cmkscan` binary: the allocator, the command line parsed, logging,
//! the runtime, and the exit code. Everything else is the library's
//! (`src/lib.rs`) and the subcommands' (`src/cli/`).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, LogFormat};

// A scan allocates and frees per request, and glibc's malloc took a fifth
// of its CPU time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // As many threads as the task has cores: at 10,000 accounts × 17
    // regions the requests' own CPU (signing, parsing, the SDK) is more than
    // one core keeps up with while Organizations lists 20 accounts a second
    // (docs/performance.md). With one core, one thread: a multi-threaded
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
    let result = runtime.block_on(cli::run(cli.command));
    cli::exit::report(result, cli.log_format)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("cmkscan=info,warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
