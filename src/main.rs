//! The `cmkscan` command line: parse and validate, run, report, and map
//! every failure to one line on stderr and a documented exit code.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_smithy_types::date_time::{DateTime, Format};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use cmkscan::arn::Arn;
use cmkscan::changes::Changes;
use cmkscan::checks;
use cmkscan::collect::access::RoleRequest;
use cmkscan::collect::session::{https_client, AccountSession};
use cmkscan::diff::Findings;
use cmkscan::evidence::{self, FactsWriter};
use cmkscan::exceptions::{self, Exceptions, ExceptionsSource, Judge, LoadError};
use cmkscan::facts::ScanHeader;
use cmkscan::ids::{AccountId, OuId, RegionName, RegionSelection, RoleArn, RoleName, S3Uri};
use cmkscan::notify::{self, Notice, ReportLocation, TopicArn};
use cmkscan::previous::{self, Previous, PreviousSource};
use cmkscan::report::html::HtmlPage;
use cmkscan::report::{FindingRows, KeyActivity, Report, Summary};
use cmkscan::scan::{self, ScanOptions};
use cmkscan::sink::{self, security_hub, LocalFile, PendingFile, S3Target};
use flate2::write::GzEncoder;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Scan the organization and write findings.csv / findings.json / report.html.
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
    /// Scan only the accounts under these OUs or roots, recursively
    /// (comma-separated ou-… / r-… ids).
    #[arg(long, value_delimiter = ',')]
    ous: Vec<OuId>,
    /// Never scan the accounts under these OUs, recursively (comma-separated ou-… ids).
    #[arg(long, value_delimiter = ',')]
    exclude_ous: Vec<OuId>,
    /// Role assumed in every member account (a name, or path/name).
    #[arg(long, env = "CMKSCAN_ROLE_NAME", default_value = "CmkScanReadOnly")]
    role_name: RoleName,
    /// Role assumed for the Organizations reads only (a small read-only role
    /// in the management account), when the runner's own credentials cannot
    /// make them; assumed with --external-id like the member roles.
    #[arg(long, env = "CMKSCAN_ORG_ROLE")]
    org_role: Option<RoleArn>,
    /// External id required by the member role's trust policy.
    #[arg(long, env = "CMKSCAN_EXTERNAL_ID", hide_env_values = true)]
    external_id: Option<String>,
    /// Accounts scanned at once (regions of an account run in parallel).
    #[arg(long, default_value = "8")]
    concurrency: NonZeroUsize,
    /// Days of CloudTrail event history searched for DisableKey / ScheduleKeyDeletion (1-90).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    lookback_days: u32,
    /// The earlier report to list changes against: a findings.json (or
    /// findings.csv) path, or s3://bucket/key of one. With --s3-uri and no
    /// --previous, the latest earlier report under the S3 prefix.
    #[arg(long, value_parser = parse_previous)]
    previous: Option<PreviousSource>,
    /// Publish a summary (counts, coverage, changes, keys pending deletion,
    /// recent events, where the report is) to this SNS topic at the end.
    #[arg(long, value_parser = parse_topic_arn)]
    sns_topic_arn: Option<TopicArn>,
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    upload: UploadArgs,
    #[command(flatten)]
    security_hub: SecurityHubArgs,
}

#[derive(clap::Args)]
struct SecurityHubArgs {
    /// After the report is written (and uploaded), import every finding
    /// into AWS Security Hub in the account and region it is about, and
    /// archive the ones cmkscan sent before that are gone.
    #[arg(long)]
    security_hub: bool,
    /// Role assumed in every scanned account, the runner's own included,
    /// to import its findings (a name, or path/name); assumed with
    /// --external-id.
    #[arg(
        long,
        env = "CMKSCAN_SECURITY_HUB_ROLE_NAME",
        default_value = "CmkScanSecurityHubImport"
    )]
    security_hub_role_name: RoleName,
}

#[derive(clap::Args)]
struct ExceptionsArgs {
    /// Accepted risks: a YAML exceptions file (a path or s3://bucket/key),
    /// checked before any AWS request; matched rows keep their status and
    /// are marked (docs/report-format.md). `evaluate` applies the file kept
    /// in the facts unless this names another.
    #[arg(long, value_parser = ExceptionsSource::parse)]
    exceptions: Option<ExceptionsSource>,
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// A facts.json.gz written by `cmkscan scan` (or the same, uncompressed).
    #[arg(long)]
    facts: PathBuf,
    // Judges with another exceptions file than the one the scan kept.
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    /// The earlier report to list changes against, a local findings.json (or
    /// findings.csv): the one the scan compared with, to reproduce its report.
    #[arg(long, value_parser = parse_local_previous)]
    previous: Option<PathBuf>,
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
    /// Directory receiving findings.csv, findings.json, findings.ocsf.json, report.html, changes.csv (when compared with a previous report) and, from `scan`, facts.json.gz, written before any upload.
    #[arg(long, default_value = "./reports", value_parser = parse_output_dir)]
    output_dir: PathBuf,
}

/// Re-evaluation has no upload: its report would land in, and overwrite,
/// the original scan's S3 folder.
#[derive(clap::Args)]
struct UploadArgs {
    /// Also upload the report files and facts.json.gz to s3://bucket/prefix/YYYY/MM/DD/<scan_id>/.
    #[arg(long, value_parser = parse_s3_uri)]
    s3_uri: Option<S3Uri>,
    /// KMS key for SSE-KMS on the uploaded reports (SSE-S3 when absent): key
    /// id, key ARN, alias/name or alias ARN.
    #[arg(long, requires = "s3_uri", value_parser = parse_kms_key_id)]
    s3_kms_key_id: Option<String>,
    /// Region of the report bucket (default: the runner's region).
    #[arg(long, requires = "s3_uri")]
    s3_region: Option<RegionName>,
}

impl ScanArgs {
    /// What clap cannot check one flag at a time.
    fn validate(&self) -> Result<(), clap::Error> {
        let usage = |kind, message: String| Err(Cli::command().error(kind, message));
        let conflicting: Vec<&str> = self
            .accounts
            .iter()
            .filter(|id| self.exclude_accounts.contains(id))
            .map(AccountId::as_str)
            .collect();
        if !conflicting.is_empty() {
            return usage(
                ErrorKind::ArgumentConflict,
                format!(
                    "--accounts and --exclude-accounts both name {}",
                    conflicting.join(", ")
                ),
            );
        }
        let conflicting: Vec<&str> = self
            .ous
            .iter()
            .filter(|id| self.exclude_ous.contains(id))
            .map(OuId::as_str)
            .collect();
        if !conflicting.is_empty() {
            return usage(
                ErrorKind::ArgumentConflict,
                format!(
                    "--ous and --exclude-ous both name {}",
                    conflicting.join(", ")
                ),
            );
        }
        // Checked here rather than by a value parser, whose message would
        // quote the value: the external id is a secret.
        if let Some(external_id) = &self.external_id {
            if let Err(why) = check_external_id(external_id) {
                return usage(
                    ErrorKind::ValueValidation,
                    format!("invalid value for '--external-id' (value not shown): {why}"),
                );
            }
        }
        Ok(())
    }
}

/// AWS's rule for `sts:AssumeRole`'s ExternalId.
fn check_external_id(value: &str) -> Result<(), &'static str> {
    if !(2..=1224).contains(&value.chars().count()) {
        return Err("must be 2 to 1224 characters");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
    {
        return Err("only letters, digits and _+=,.@:/- are allowed");
    }
    Ok(())
}

fn parse_output_dir(value: &str) -> Result<PathBuf, String> {
    if value.trim().is_empty() {
        Err("the output directory must not be empty".into())
    } else {
        Ok(PathBuf::from(value))
    }
}

fn parse_s3_uri(value: &str) -> Result<S3Uri, String> {
    let bucket = value
        .strip_prefix("s3://")
        .map(|rest| rest.split('/').next().unwrap_or_default());
    if bucket == Some("") {
        return Err("no bucket name: expected s3://bucket or s3://bucket/prefix".into());
    }
    value
        .parse()
        .map_err(|err: cmkscan::ids::InputError| err.to_string())
}

fn parse_previous(value: &str) -> Result<PreviousSource, String> {
    value
        .parse()
        .map_err(|err: previous::PreviousSourceError| err.to_string())
}

/// `evaluate` calls no AWS API: an S3 report is downloaded first.
fn parse_local_previous(value: &str) -> Result<PathBuf, String> {
    match value.parse() {
        Ok(PreviousSource::Local(path)) => Ok(path),
        Ok(PreviousSource::S3 { .. }) => Err(
            "evaluate --previous takes a local file: download the report first (aws s3 cp)".into(),
        ),
        Err(err) => Err(err.to_string()),
    }
}

fn parse_topic_arn(value: &str) -> Result<TopicArn, String> {
    value
        .parse()
        .map_err(|err: notify::TopicArnError| err.to_string())
}

/// A KMS key id, key ARN, alias name or alias ARN, as SSE-KMS accepts them.
fn parse_kms_key_id(value: &str) -> Result<String, String> {
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/:".contains(c))
    };
    let shaped = if value.starts_with("arn:") {
        // arn:partition:kms:region:account:key/id or …:alias/name
        Arn::parse(value).is_ok_and(|arn| {
            let id = arn
                .resource
                .strip_prefix("key/")
                .or_else(|| arn.resource.strip_prefix("alias/"));
            arn.service == "kms" && id.is_some_and(id_ok)
        })
    } else {
        match value.strip_prefix("alias/") {
            Some(alias) => id_ok(alias),
            None => id_ok(value) && !value.contains('/') && !value.contains(':'),
        }
    };
    if shaped {
        Ok(value.to_string())
    } else {
        Err("not a KMS key: expected a key id, key ARN, alias/name or alias ARN".into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Scan(args) = &cli.command {
        if let Err(err) = args.validate() {
            err.exit();
        }
    }
    init_logging(cli.log_format);
    // One thread: the scan is one future waiting on the network, and a
    // multi-threaded runtime spent a third of the CPU handing each response
    // from the connection's worker thread to it (benchmarked).
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
                .is_some_and(scan::ScanError::is_usage)
                || err
                    .downcast_ref::<LoadError>()
                    .is_some_and(LoadError::is_usage);
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
    let external_id = args.external_id.clone();
    let dir = &args.output.output_dir;
    sink::check_writable(dir)?;
    let config = load_aws_config().await;
    // Before the scan's first request: a bad file must cost nothing.
    let exceptions = match &args.exceptions.exceptions {
        Some(source) => Some(load_exceptions(source, &config, exceptions::today_utc()).await?),
        None => None,
    };
    // The runner's session outside the scan: the previous report, the
    // upload and the message (none of them counted in the summary).
    let throttle = cmkscan::throttle::Throttle::for_config(&config);
    let session = AccountSession::runner(config.clone(), throttle.into());
    let bucket_region = args
        .upload
        .s3_region
        .as_ref()
        .map(|r| r.as_str().to_string())
        .or_else(|| config.region().map(|r| r.to_string()));
    let previous = find_previous(&args, &session, bucket_region.as_deref()).await;
    let options = ScanOptions {
        regions: args.regions,
        include_accounts: args.accounts.into_iter().collect(),
        exclude_accounts: args.exclude_accounts.into_iter().collect(),
        include_ous: args.ous.into_iter().collect(),
        exclude_ous: args.exclude_ous.into_iter().collect(),
        role_name: args.role_name.to_string(),
        org_role: args.org_role,
        external_id: args.external_id,
        concurrency: args.concurrency,
        lookback_days: args.lookback_days,
        exceptions,
        previous_report: previous.record(),
    };
    // The evidence streams to disk while the scan runs; it takes its name
    // only if the scan completes, and vanishes if it fails.
    let (pending_facts, out) = PendingFile::create(dir, sink::FACTS_NAME)?;
    let mut facts = FactsWriter::new(GzEncoder::new(out, flate2::Compression::default()));
    let outcome = scan::run(config, options, &mut facts).await?;
    let out = facts
        .into_inner()
        .finish()
        .context("cannot compress the evidence file")?;
    let facts_path = pending_facts.commit(out)?;
    let changes = compare(previous, &outcome.scan, &outcome.findings)?;
    let mut files = write_local(
        &outcome.scan,
        &outcome.summary,
        &changes,
        &outcome.findings,
        &outcome.key_activity,
        dir,
    )?;
    files.push(LocalFile::facts(facts_path));
    print_written(&files);

    let target = args.upload.s3_uri.as_ref().map(|uri| S3Target {
        uri: uri.clone(),
        kms_key_id: args.upload.s3_kms_key_id.clone(),
        region: bucket_region.unwrap_or_else(|| outcome.runner_region.clone()),
    });
    let uploaded = match &target {
        None => Ok(None),
        Some(target) => upload(&session, target, &outcome.scan, &files, dir)
            .await
            .map(Some),
    };
    // A failed upload ends the run before the import (docs/security-hub.md).
    let imported = match (&uploaded, args.security_hub.security_hub) {
        (Ok(_), true) => {
            let import = SecurityHubImport {
                role_name: &args.security_hub.security_hub_role_name,
                external_id,
                concurrency: args.concurrency,
                dir,
            };
            import_into_security_hub(&import, &session, &outcome, &changes, target.as_ref()).await
        }
        _ => Ok(()),
    };
    // Published even when the upload or the import failed: the keys being
    // deleted are news either way, and the message says where the files are.
    let published = match &args.sns_topic_arn {
        None => Ok(()),
        Some(topic) => {
            let location = match &uploaded {
                Ok(Some(uris)) => ReportLocation::Uploaded(uris.clone()),
                Ok(None) => ReportLocation::Local(dir.display().to_string()),
                Err(reason) => ReportLocation::UploadFailed {
                    reason: reason.clone(),
                    dir: dir.display().to_string(),
                },
            };
            let scan = notify::Scan {
                header: &outcome.scan,
                summary: &outcome.summary,
                changes: &changes,
                findings: &outcome.findings,
                location: &location,
            };
            publish(&session, topic, &scan).await?
        }
    };
    // The first failure is the run's reason; a failed publish is added.
    let failure = match (uploaded, imported) {
        (Err(upload), _) => Some(upload),
        (Ok(_), Err(import)) => Some(format!("{import:#}")),
        (Ok(_), Ok(())) => None,
    };
    let written = if target.is_some() {
        " and uploaded"
    } else {
        ""
    };
    match (failure, published) {
        (None, Ok(())) => Ok(()),
        (Some(failure), Ok(())) => Err(anyhow::anyhow!(failure)),
        (None, Err(publish)) => Err(anyhow::anyhow!("{publish}; the report is written{written}")),
        (Some(failure), Err(publish)) => Err(anyhow::anyhow!("{failure}; and {publish}")),
    }
}

/// Uploads the files and prints their URIs; on failure, the reason for
/// the run's last line, naming the local copy.
async fn upload(
    session: &AccountSession,
    target: &S3Target,
    scan: &ScanHeader,
    files: &[LocalFile],
    dir: &Path,
) -> Result<Vec<String>, String> {
    let uploaded = sink::upload(session, target, &scan.scan_id, &scan.scan_time, files)
        .await
        .map_err(|err| {
            format!(
                "{:#}; the local report is kept in {}",
                anyhow::Error::new(err),
                dir.display()
            )
        })?;
    for uri in &uploaded {
        println!("uploaded {uri}");
    }
    Ok(uploaded)
}

/// Publishes the scan's summary. The outer error is the findings spool
/// failing to read back; the inner one, the publish failing, which the run
/// reports after the upload's outcome.
async fn publish(
    session: &AccountSession,
    topic: &TopicArn,
    scan: &notify::Scan<'_>,
) -> anyhow::Result<Result<(), String>> {
    let notice = Notice::new(scan).context("cannot read the findings back for the message")?;
    Ok(
        match notify::publish(session, topic, &scan.header.scan_id, &notice).await {
            Ok(id) => {
                println!("published to {topic} (message {id})");
                Ok(())
            }
            Err(err) => Err(format!("the message to {topic} was not published: {err}")),
        },
    )
}

/// The report `--previous` names, or the latest earlier one under
/// `--s3-uri`; never an error (what was not read is recorded with why).
async fn find_previous(
    args: &ScanArgs,
    session: &AccountSession,
    bucket_region: Option<&str>,
) -> Previous {
    let Some(region) = bucket_region else {
        // The scan stops at once for the missing region; nothing is asked.
        return match &args.previous {
            Some(PreviousSource::Local(path)) => previous::read_local(path),
            _ => Previous::Missing(Default::default()),
        };
    };
    let found = match (&args.previous, &args.upload.s3_uri) {
        (Some(source), _) => previous::read_named(session, region, source).await,
        (None, Some(uri)) => previous::read_latest(session, region, uri, &previous::now()).await,
        (None, None) => Previous::Missing(Default::default()),
    };
    match &found {
        Previous::Found { source, findings } => {
            tracing::info!(source, scan_id = findings.scan_id, "previous report read")
        }
        Previous::Missing(cmkscan::facts::PreviousReport::Unavailable { reason, .. }) => {
            tracing::warn!(reason, "no comparison with a previous report")
        }
        Previous::Missing(_) => {}
    }
    found
}

/// This report against the previous one, when one was read.
fn compare(
    previous: Previous,
    scan: &ScanHeader,
    findings: &dyn FindingRows,
) -> anyhow::Result<Changes> {
    let (source, old) = match previous {
        Previous::Found { source, findings } => (source, findings),
        Previous::Missing(record) => return Ok(Changes::not_compared(record)),
    };
    // Row by row into the comparison, which keeps only what it compares.
    let mut unreadable = None;
    let rows = cmkscan::report::rows(scan, findings)
        .map_while(|row| row.map_err(|err| unreadable = Some(err)).ok());
    let new =
        cmkscan::diff::Findings::from_rows(scan.scan_id.clone(), scan.scan_time.clone(), rows)
            .context("cannot compare the findings")?;
    if let Some(err) = unreadable {
        return Err(err).context("cannot read the findings back to compare them");
    }
    Ok(Changes::compare(source, &old, &new))
}

/// What the Security Hub import takes from the command line.
struct SecurityHubImport<'a> {
    role_name: &'a RoleName,
    external_id: Option<String>,
    concurrency: NonZeroUsize,
    /// The report's directory, where findings.json is written again.
    dir: &'a Path,
}

/// The Security Hub import, once the report is written and uploaded; then
/// findings.json again, with what the import did (and uploaded again). A
/// region without Security Hub or an account without the import role is
/// only reported; a finding that could not be imported fails the run.
async fn import_into_security_hub(
    args: &SecurityHubImport<'_>,
    runner: &AccountSession,
    outcome: &scan::ScanOutcome,
    changes: &Changes,
    target: Option<&S3Target>,
) -> anyhow::Result<()> {
    let imported_at = DateTime::from(SystemTime::now())
        .fmt(Format::DateTime)
        .context("cannot format the import time")?;
    let import = security_hub::Import {
        runner,
        role: RoleRequest {
            partition: outcome.scan.partition.clone(),
            role_name: args.role_name.to_string(),
            external_id: args.external_id.clone(),
            session_name: format!("cmkscan-{}", outcome.scan.scan_id),
            sts_region: outcome.runner_region.clone(),
        },
        partition: &outcome.scan.partition,
        home_region: &outcome.runner_region,
        scan_id: &outcome.scan.scan_id,
        scan_time: &outcome.scan.scan_time,
        imported_at: &imported_at,
        concurrency: args.concurrency,
        exceptions: outcome
            .summary
            .exceptions
            .as_ref()
            .map_or(&[], |summary| summary.exceptions.as_slice()),
    };
    let result = security_hub::import(&import, &outcome.findings)
        .await
        .context("cannot read the findings back for Security Hub")?;
    print!("{}", result.render());
    let failed = result.failed;
    let not_archived = result.archive_failed;
    let role_refused_everywhere = result.role_refused_everywhere();
    let summary = Summary {
        security_hub: Some(result),
        ..outcome.summary.clone()
    };
    let dir = args.dir;
    let json = sink::write_json(
        dir,
        &Report {
            scan: &outcome.scan,
            summary: &summary,
            changes,
            findings: &outcome.findings,
        },
    )?;
    println!("wrote {}", json.path.display());
    if let Some(target) = target {
        upload(runner, target, &outcome.scan, &[json], dir)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let json_path = dir.join(sink::JSON_NAME);
    if role_refused_everywhere {
        anyhow::bail!(
            "the Security Hub import role {} could be assumed in no account: deploy member-securityhub-role.yaml under that name, trusting this runner with its external id (docs/security-hub.md); the report is written",
            args.role_name
        );
    }
    let mut lost = Vec::new();
    if failed > 0 {
        lost.push(format!(
            "{failed} findings could not be imported into Security Hub"
        ));
    }
    if not_archived > 0 {
        lost.push(format!(
            "{not_archived} earlier findings could not be archived in Security Hub"
        ));
    }
    if !lost.is_empty() {
        anyhow::bail!(
            "{} (the security_hub section of {} names them); the report is written",
            lost.join(" and "),
            json_path.display()
        );
    }
    Ok(())
}

async fn run_evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let bytes = tokio::fs::read(&args.facts)
        .await
        .with_context(|| format!("cannot read {}", args.facts.display()))?;
    let facts = evidence::read_facts(&bytes)
        .with_context(|| format!("cannot use {}", args.facts.display()))?;
    // The scan's day, not today: the same facts judge the same way whenever
    // they are re-evaluated.
    let scan_day = exceptions::day_of(&facts.scan_time).with_context(|| {
        format!(
            "cannot use {}: its scan_time is not an RFC 3339 time",
            args.facts.display()
        )
    })?;
    let file = match &args.exceptions.exceptions {
        // AWS only for an S3 object: evaluate otherwise needs no network.
        Some(source @ ExceptionsSource::S3 { .. }) => {
            let config = load_aws_config().await;
            Some(load_exceptions(source, &config, exceptions::today_utc()).await?)
        }
        Some(source) => Some(source.load(None, exceptions::today_utc()).await?),
        None => facts
            .exceptions
            .as_ref()
            .map(|stored| Exceptions::from_stored(stored, scan_day))
            .transpose()
            .with_context(|| format!("the exceptions kept in {}", args.facts.display()))?,
    };
    let mut findings = checks::evaluate(&facts);
    let judged = file.map(|file| {
        let mut judge = Judge::new(file, scan_day);
        judge.apply_to_facts(&facts, &mut findings);
        judge.finish()
    });
    let mut summary = Summary::of_facts(&facts, &findings);
    summary.exceptions = judged;
    let key_activity = KeyActivity::of_facts(&facts);
    let given = args.previous.as_deref().map(previous::read_local);
    let previous = previous::for_evaluate(&facts.previous_report, given);
    let header = facts.header();
    let changes = compare(previous, &header, &findings)?;
    let files = write_local(
        &header,
        &summary,
        &changes,
        &findings,
        &key_activity,
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // The credential providers (the task role on Fargate) need it too.
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    // The SDK's 3 attempts leave ERROR rows behind a throttling storm that
    // 8 absorb (tests/integration/faults.rs); a weekly scan can wait.
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader =
            loader.retry_config(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS));
    }
    loader.load().await
}

/// The `--exceptions` file, read (an S3 object with the runner's
/// credentials, in its region) and validated with its window counted from
/// `today`.
async fn load_exceptions(
    source: &ExceptionsSource,
    config: &aws_config::SdkConfig,
    today: time::Date,
) -> Result<Exceptions, LoadError> {
    let session = source.is_s3().then(|| {
        let throttle = cmkscan::throttle::Throttle::for_config(config);
        cmkscan::collect::session::AccountSession::runner(config.clone(), throttle.into())
    });
    let s3 = session.as_ref().zip(config.region().map(|r| r.as_ref()));
    source.load(s3, today).await
}

/// Attempts per AWS request unless `AWS_MAX_ATTEMPTS` says otherwise.
const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Writes the report locally and prints the summary: this happens before
/// any upload, so a failed upload loses nothing.
fn write_local(
    scan: &ScanHeader,
    summary: &Summary,
    changes: &Changes,
    findings: &dyn FindingRows,
    key_activity: &KeyActivity,
    dir: &Path,
) -> anyhow::Result<Vec<LocalFile>> {
    let report = Report {
        scan,
        summary,
        changes,
        findings,
    };
    let mut files = sink::write_report(dir, &report)?;
    files.push(sink::write_html(
        dir,
        &HtmlPage {
            report: &report,
            activity: key_activity,
        },
    )?);
    print!("{}{}", summary.render(), changes.render());
    Ok(files)
}

fn print_written(files: &[LocalFile]) {
    for file in files {
        println!("wrote {}", file.path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks (unique argument ids, ...), which otherwise
        // only run when the binary parses its first command line.
        Cli::command().debug_assert();
    }

    #[test]
    fn accepted_flag_values() {
        for key in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "alias/reports",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/reports",
        ] {
            assert_eq!(parse_kms_key_id(key).as_deref(), Ok(key));
        }
        for key in [
            "",
            "alias/",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-east-1:1:user/x",
        ] {
            assert!(parse_kms_key_id(key).is_err(), "{key}");
        }
        assert!(check_external_id("demo-external-id").is_ok());
        assert!(check_external_id("a:b/c=d+e,f.g@h_i-j").is_ok());
        assert!(check_external_id(&"x".repeat(1225)).is_err());
        assert!(parse_s3_uri("s3://reports-bucket/weekly").is_ok());
    }
}
