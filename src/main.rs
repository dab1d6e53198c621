//! The `cmkscan` command line: parse and validate, run, report, and map
//! every failure to one line on stderr and a documented exit code.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use clap::{Parser, Subcommand, ValueEnum};

use cmkscan::checks;
use cmkscan::diff::Findings;
use cmkscan::evidence::{self, FactsWriter};
use cmkscan::facts::ScanHeader;
use cmkscan::ids::{AccountId, RegionName, S3Uri};
use cmkscan::report::{Report, Summary};
use cmkscan::scan::{self, RegionSelection, ScanOptions};
use cmkscan::sink::{self, LocalFile, PendingFile, S3Target};
use flate2::write::GzEncoder;

/// Exit code when the report could not be produced or delivered.
const EXIT_FAILURE: u8 = 1;
/// Exit code for a command line that cannot run (clap uses it too).
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    version,
    about = "Is disabling or scheduled deletion of customer-managed KMS keys monitored in every account and region of an AWS Organization?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: text for a terminal, json for ECS / CloudWatch Logs.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Scan the organization and write findings.csv / findings.json.
    Scan(Box<ScanArgs>),
    /// Re-evaluate a scan's facts.json.gz into the same report, without AWS.
    Evaluate(EvaluateArgs),
    /// Rows whose status changed between two reports (findings.csv or findings.json).
    Diff(DiffArgs),
}

#[derive(clap::Args)]
struct ScanArgs {
    /// `all` (every region each account has enabled) or a comma-separated list.
    #[arg(long, default_value = "all")]
    regions: RegionSelection,
    /// Scan only these account ids (comma-separated, 12 digits each).
    #[arg(long, value_delimiter = ',')]
    accounts: Vec<AccountId>,
    /// Never scan these account ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    exclude_accounts: Vec<AccountId>,
    /// Role assumed in every member account.
    #[arg(long, env = "CMKSCAN_ROLE_NAME", default_value = "CmkScanReadOnly")]
    role_name: String,
    /// External id required by the member role's trust policy.
    #[arg(long, env = "CMKSCAN_EXTERNAL_ID", hide_env_values = true)]
    external_id: Option<String>,
    /// Accounts scanned at once (regions of an account run in parallel).
    #[arg(long, default_value = "8")]
    concurrency: NonZeroUsize,
    /// Days of CloudTrail event history searched for DisableKey / ScheduleKeyDeletion (1-90).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    lookback_days: u32,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    upload: UploadArgs,
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// A facts.json.gz written by `cmkscan scan` (or the same, uncompressed).
    #[arg(long)]
    facts: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// An unreadable or malformed report is a usage error (exit 2), reported
/// by clap before anything runs.
#[derive(clap::Args)]
struct DiffArgs {
    /// The earlier report: findings.csv or findings.json.
    #[arg(value_parser = |path: &str| Findings::from_path(Path::new(path)))]
    old: Findings,
    /// The later report: findings.csv or findings.json.
    #[arg(value_parser = |path: &str| Findings::from_path(Path::new(path)))]
    new: Findings,
    /// Also write the changed rows to this CSV file.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct OutputArgs {
    /// Directory receiving findings.csv, findings.json (and, from `scan`, facts.json.gz), written before any upload.
    #[arg(long, default_value = "./reports")]
    output_dir: PathBuf,
}

/// Re-evaluation has no upload: its report would land in, and overwrite,
/// the original scan's S3 folder.
#[derive(clap::Args)]
struct UploadArgs {
    /// Also upload the three files to s3://bucket/prefix/YYYY/MM/DD/<scan_id>/.
    #[arg(long)]
    s3_uri: Option<S3Uri>,
    /// KMS key for SSE-KMS on the uploaded reports (SSE-S3 when absent).
    #[arg(long, requires = "s3_uri")]
    s3_kms_key_id: Option<String>,
    /// Region of the report bucket (default: the runner's region).
    #[arg(long, requires = "s3_uri")]
    s3_region: Option<RegionName>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cmkscan: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let usage = err
                .downcast_ref::<scan::ScanError>()
                .is_some_and(scan::ScanError::is_usage);
            // One line, whatever the SDK's messages contain.
            let reason = format!("{err:#}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            match cli.log_format {
                // ECS ships stderr to CloudWatch Logs: keep every line JSON.
                LogFormat::Json => tracing::error!(reason, "cmkscan failed"),
                LogFormat::Text => eprintln!("cmkscan: {reason}"),
            }
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILURE })
        }
    }
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

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Scan(args) => run_scan(*args).await,
        Command::Evaluate(args) => run_evaluate(args).await,
        Command::Diff(args) => run_diff(args).await,
    }
}

async fn run_scan(args: ScanArgs) -> anyhow::Result<()> {
    let options = ScanOptions {
        regions: args.regions,
        include_accounts: args.accounts.into_iter().collect(),
        exclude_accounts: args.exclude_accounts.into_iter().collect(),
        role_name: args.role_name,
        external_id: args.external_id,
        concurrency: args.concurrency,
        lookback_days: args.lookback_days,
    };
    let dir = &args.output.output_dir;
    sink::check_writable(dir)?;
    let config = load_aws_config().await;
    let runner_region = config.region().map(|r| r.to_string());
    // The evidence streams to disk while the scan runs; it takes its name
    // only if the scan completes, and vanishes if it fails.
    let (pending_facts, out) = PendingFile::create(dir, sink::FACTS_NAME)?;
    let mut facts = FactsWriter::new(GzEncoder::new(out, flate2::Compression::default()));
    let outcome = scan::run(config.clone(), options, &mut facts).await?;
    let out = facts
        .into_inner()
        .finish()
        .context("cannot compress the evidence file")?;
    let facts_path = pending_facts.commit(out)?;
    let mut files = write_local(&outcome.scan, &outcome.summary, &outcome.findings, dir)?;
    files.push(LocalFile::facts(facts_path));
    print_written(&files);
    let Some(uri) = &args.upload.s3_uri else {
        return Ok(());
    };
    let region = args
        .upload
        .s3_region
        .as_ref()
        .map(|r| r.as_str().to_string())
        .or(runner_region)
        .context("no region for the report bucket: set AWS_REGION or --s3-region")?;
    let target = S3Target {
        uri: uri.clone(),
        kms_key_id: args.upload.s3_kms_key_id.clone(),
        region,
    };
    let session = cmkscan::collect::session::AccountSession::runner(config, Default::default());
    let uploaded = sink::upload(
        &session,
        &target,
        &outcome.scan.scan_id,
        &outcome.scan.scan_time,
        &files,
    )
    .await
    .map_err(|err| {
        anyhow::anyhow!(
            "{:#}; the local report is kept in {}",
            anyhow::Error::new(err),
            dir.display()
        )
    })?;
    for uri in uploaded {
        println!("uploaded {uri}");
    }
    Ok(())
}

async fn run_evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let bytes = tokio::fs::read(&args.facts)
        .await
        .with_context(|| format!("cannot read {}", args.facts.display()))?;
    let facts = evidence::read_facts(&bytes)
        .with_context(|| format!("cannot use {}", args.facts.display()))?;
    let findings = checks::evaluate(&facts);
    let summary = Summary::of_facts(&facts, &findings);
    let files = write_local(
        &facts.header(),
        &summary,
        &findings,
        &args.output.output_dir,
    )?;
    print_written(&files);
    Ok(())
}

async fn run_diff(args: DiffArgs) -> anyhow::Result<()> {
    let diff = cmkscan::diff::diff(&args.old, &args.new);
    print!("{}", diff.render());
    if let Some(path) = &args.output {
        let csv = diff.to_csv().context("cannot render the diff CSV")?;
        tokio::fs::write(path, csv)
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The SDK's standard sources (environment, profile, container or instance
/// role), with timeouts: a stalled connection must end in an ERROR row, not
/// hang the weekly run.
async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await
}

/// Writes the report locally and prints the summary: this happens before
/// any upload, so a failed upload loses nothing.
fn write_local(
    scan: &ScanHeader,
    summary: &Summary,
    findings: &[checks::Finding],
    dir: &Path,
) -> anyhow::Result<Vec<LocalFile>> {
    let report = Report {
        scan,
        summary,
        findings,
    };
    let files = sink::write_report(dir, &report)?;
    print!("{}", summary.render());
    Ok(files.to_vec())
}

fn print_written(files: &[LocalFile]) {
    for file in files {
        println!("wrote {}", file.path.display());
    }
}
