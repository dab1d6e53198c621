//! The command line as clap reads it, flag by flag, and what clap cannot
//! check one flag at a time (like ripgrep's low-level arguments); then the
//! validated run each subcommand stands for ([`ScanArgs::job`],
//! [`EvaluateArgs::job`], [`PlanArgs::job`]), which nothing downstream
//! checks again.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use cmkscan::{
    AccountId, BucketName, EmailAddress, EvaluateJob, ExternalId, FileSource, Forwarders,
    InputError, KmsKeyId, MetricNamespace, OuId, PlanJob, PlanOptions, RegionName, RegionSelection,
    ReportFile, RoleArn, RoleName, RunnerSettings, S3Uri, ScanJob, ScanOptions, SecurityHubJob,
    Status, TopicArn, Upload,
};

/// The exit codes, as `scan --help` and `evaluate --help` end with them
/// (src/cli/exit.rs gives them).
const EXIT_CODES: &str = "\
Exit codes:
  0    the report was written (and uploaded, imported, published), whatever
       the findings
  1    the scan could not complete (then no report is written), the report
       could not be written or delivered (the local files are kept), or the
       run passed its --deadline
  2    usage: a flag, a file it names, or an AWS profile or region that
       cannot be used; found before the scan's first request
  3    --fail-on: the report was written and delivered, and has rows at or
       worse than the status given that no exception accepts
  130  stopped by SIGINT (Ctrl-C), 143 by SIGTERM (ECS stopping the task):
       no report written, an earlier one left as it was";

const SCAN_EXAMPLES: &str = "\
Examples:
  First run, from an account that can read the organisation:
    cmkscan scan --profile security --region us-east-1 --external-id \"$EXTERNAL_ID\"
  A few accounts and regions, into a directory of your choice:
    cmkscan scan --accounts 111122223333 --regions us-east-1,eu-west-1 --output-dir ./out
  The weekly task: upload, notify, gate on failures, stop after 6 hours:
    cmkscan --log-format json scan --s3-uri s3://my-reports/cmkscan \\
      --sns-topic-arn \"$TOPIC_ARN\" --fail-on fail --deadline 6h";

const EVALUATE_EXAMPLES: &str = "\
Examples:
  cmkscan evaluate ./out/facts.json.gz --output-dir ./re-evaluated
  cmkscan evaluate facts.json.gz --exceptions exceptions.yaml --fail-on fail";

#[derive(Parser)]
#[command(
    version,
    about = "Is disabling or scheduled deletion of customer-managed KMS keys monitored in every account and region of an AWS Organization?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: text for a terminal, json for ECS / CloudWatch Logs.
    ///
    /// With json every stderr line is one JSON object, and no progress line
    /// is drawn: a progress line is logged every --progress-interval instead.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, help_heading = "Logging")]
    pub log_format: LogFormat,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    ///
    /// Colours the log lines and the FAIL and ERROR counts of the summary.
    /// auto follows each stream: colour on a terminal, none when piped, and
    /// none when the NO_COLOR environment variable is set and not empty
    /// (https://no-color.org) or TERM is dumb. always and never override
    /// both.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, help_heading = "Logging")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--color`, as ripgrep and cargo take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour what goes to a stream that is (or is not) a terminal.
    pub fn colours(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
                terminal
                    && !set("NO_COLOR")
                    && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
            }
        }
    }

    pub fn stdout(self) -> bool {
        self.colours(std::io::stdout().is_terminal())
    }

    pub fn stderr(self) -> bool {
        self.colours(std::io::stderr().is_terminal())
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan the organization and write findings.csv / findings.json / report.html.
    #[command(after_help = "Examples and exit codes: cmkscan scan --help", after_long_help = format!("{SCAN_EXAMPLES}\n\n{EXIT_CODES}"))]
    Scan(Box<ScanArgs>),
    /// Re-evaluate a scan's facts.json.gz into the same report, without AWS.
    #[command(after_help = "Examples and exit codes: cmkscan evaluate --help", after_long_help = format!("{EVALUATE_EXAMPLES}\n\n{EXIT_CODES}"))]
    Evaluate(EvaluateArgs),
    /// Rows whose status changed between two reports (findings.csv or findings.json).
    #[command(
        after_help = "Exit codes: 0 compared (with --exit-code: and no row changed); 2 usage, or a report that cannot be read; 3 with --exit-code: rows changed"
    )]
    Diff(DiffArgs),
    /// From a scan's evidence, the changes that fix exactly what failed, each
    /// with its backout: plan.md, plan.json, scripts. Writes files only.
    Plan(Box<PlanArgs>),
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Regions to scan: all (every region each account has enabled) or a comma-separated list.
    ///
    /// With a list, the runner also takes its own region from it (the first,
    /// in alphabetical order) when no --region, AWS_REGION or profile
    /// region says one.
    #[arg(long, default_value = "all", help_heading = "Scope")]
    regions: RegionSelection,
    /// Scan only these account ids (comma-separated, 12 digits each).
    ///
    /// Each must be in the organisation: one that is not is a usage error
    /// (exit 2) naming it, found before any account is scanned.
    #[arg(long, value_delimiter = ',', help_heading = "Scope")]
    accounts: Vec<AccountId>,
    /// Never scan these account ids (comma-separated).
    #[arg(long, value_delimiter = ',', help_heading = "Scope")]
    exclude_accounts: Vec<AccountId>,
    /// Scan only the accounts under these OUs or roots, recursively
    /// (comma-separated ou-… / r-… ids).
    #[arg(long, value_delimiter = ',', help_heading = "Scope")]
    ous: Vec<OuId>,
    /// Never scan the accounts under these OUs, recursively (comma-separated ou-… ids).
    #[arg(long, value_delimiter = ',', help_heading = "Scope")]
    exclude_ous: Vec<OuId>,
    /// Days of CloudTrail event history searched for DisableKey / ScheduleKeyDeletion (1-90).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90), help_heading = "Scope")]
    lookback_days: u32,
    #[command(flatten)]
    aws: AwsArgs,
    /// Role assumed in every member account (a name, or path/name).
    #[arg(
        long,
        env = "CMKSCAN_ROLE_NAME",
        default_value = "CmkScanReadOnly",
        help_heading = "Access"
    )]
    role_name: RoleName,
    /// Role assumed for the Organizations reads only (a small read-only role
    /// in the management account), when the runner's own credentials cannot
    /// make them; assumed with --external-id like the member roles.
    #[arg(long, env = "CMKSCAN_ORG_ROLE", help_heading = "Access")]
    org_role: Option<RoleArn>,
    /// External id required by the member role's trust policy.
    #[arg(
        long,
        env = "CMKSCAN_EXTERNAL_ID",
        hide_env_values = true,
        help_heading = "Access"
    )]
    external_id: Option<String>,
    /// Accounts scanned at once (regions of an account run in parallel).
    #[arg(long, default_value = "8", value_parser = parse_concurrency, help_heading = "Run")]
    concurrency: NonZeroUsize,
    /// Stop the whole run after this long (90m, 4h, 1h30m): exit 1, no report.
    ///
    /// The run stops sending requests, removes its unfinished files, writes
    /// no report, names on stderr what was still running (accounts,
    /// regions, APIs) and exits 1, so a stalled scan ends the day it
    /// started rather than running into next week's. The default, 6h, is
    /// many times a large organisation's scan (docs/performance.md) and
    /// well inside a weekly window.
    #[arg(long, env = "CMKSCAN_DEADLINE", default_value = "6h", value_parser = parse_duration, help_heading = "Run")]
    deadline: Duration,
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    /// The earlier report to list changes against: a findings.json (or
    /// findings.csv) path, or s3://bucket/key of one.
    ///
    /// A report named here must be readable: one that is not is a usage
    /// error (exit 2) before the scan's first request. Without it, with
    /// --s3-uri, the latest earlier report under the S3 prefix is compared
    /// with, and one that cannot be found or read never fails the scan.
    #[arg(long, value_parser = parse_previous, help_heading = "Outputs")]
    previous: Option<FileSource>,
    #[command(flatten)]
    gate: GateArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    upload: UploadArgs,
    /// Publish a summary (counts, coverage, changes, keys pending deletion,
    /// recent events, where the report is) to this SNS topic at the end.
    #[arg(long, value_parser = parse_input::<TopicArn>, help_heading = "Integrations")]
    sns_topic_arn: Option<TopicArn>,
    #[command(flatten)]
    security_hub: SecurityHubArgs,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
    /// How often a progress line is logged when none is drawn (piped, or --log-format json).
    ///
    /// On a terminal with --log-format text, a live progress line is drawn
    /// on stderr instead.
    #[arg(long, default_value = "30s", value_parser = parse_duration, help_heading = "Logging")]
    progress_interval: Duration,
}

#[derive(clap::Args)]
struct HeartbeatArgs {
    /// Publish the CloudWatch metric ReportDelivered to this namespace once
    /// the report is delivered.
    ///
    /// Once the report is in its place (uploaded, or written when there is
    /// no --s3-uri), the metric is published in the runner's region, for an
    /// alarm on reports that stop arriving (docs/operations.md).
    #[arg(long, env = "CMKSCAN_HEARTBEAT_NAMESPACE", value_parser = parse_input::<MetricNamespace>, help_heading = "Integrations")]
    heartbeat_namespace: Option<MetricNamespace>,
}

/// The runner's own AWS profile and region, ahead of the SDK's sources.
#[derive(clap::Args)]
struct AwsArgs {
    /// The AWS shared-config profile to run as (default: AWS_PROFILE, else default).
    #[arg(long, value_parser = parse_profile, help_heading = "Access")]
    profile: Option<String>,
    /// The runner's own region: its STS, Organizations and S3 endpoints.
    ///
    /// Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, the
    /// instance metadata service, then the first of --regions. The log says
    /// which region the runner uses and where it came from. It is not a
    /// region to scan: that is --regions.
    #[arg(long, value_parser = parse_input::<RegionName>, help_heading = "Access")]
    region: Option<RegionName>,
}

impl AwsArgs {
    fn settings(&self, fallback: Option<&RegionName>) -> RunnerSettings {
        RunnerSettings {
            profile: self.profile.clone(),
            region: self.region.as_ref().map(|r| r.as_str().to_string()),
            fallback_region: fallback.map(|r| r.as_str().to_string()),
        }
    }
}

/// `--fail-on`, for pipelines.
#[derive(clap::Args)]
struct GateArgs {
    /// Exit 3, after the report is written and delivered, when it has rows this bad.
    ///
    /// fail: any FAIL row; error: any FAIL or ERROR row (a verdict that
    /// could not be made). Rows an exception accepts do not count; rows under
    /// an expired exception do. Without it, the exit code does not depend on
    /// the findings.
    #[arg(long, value_enum, help_heading = "Outputs")]
    fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Fail,
    Error,
}

impl FailOn {
    fn status(self) -> Status {
        match self {
            FailOn::Fail => Status::Fail,
            FailOn::Error => Status::Error,
        }
    }
}

#[derive(clap::Args)]
struct SecurityHubArgs {
    /// After the report is written (and uploaded), import every finding
    /// into AWS Security Hub CSPM in the account and region it is about.
    ///
    /// Findings cmkscan sent before that are gone are archived. Each
    /// account's import role (--security-hub-role-name) is assumed with
    /// --external-id (docs/security-hub.md).
    #[arg(long, help_heading = "Integrations")]
    security_hub: bool,
    /// Role assumed in every scanned account, the runner's own included,
    /// to import its findings (a name, or path/name); assumed with
    /// --external-id.
    #[arg(
        long,
        env = "CMKSCAN_SECURITY_HUB_ROLE_NAME",
        default_value = "CmkScanSecurityHubImport",
        help_heading = "Integrations"
    )]
    security_hub_role_name: RoleName,
}

#[derive(clap::Args)]
struct ExceptionsArgs {
    /// Accepted risks: a YAML exceptions file (a path or s3://bucket/key).
    ///
    /// Checked before any AWS request; matched rows keep their status and
    /// are marked (docs/report-format.md). `evaluate` applies the file kept
    /// in the facts unless this names another.
    #[arg(long, value_parser = parse_exceptions, help_heading = "Outputs")]
    exceptions: Option<FileSource>,
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// A facts.json.gz written by `cmkscan scan` (or the same, uncompressed).
    #[arg(
        value_name = "FACTS",
        required_unless_present = "facts_flag",
        conflicts_with = "facts_flag"
    )]
    facts: Option<PathBuf>,
    /// The same, as a flag.
    #[arg(long = "facts", id = "facts_flag", value_name = "FACTS")]
    facts_flag: Option<PathBuf>,
    // Judges with another exceptions file than the one the scan kept.
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    /// The earlier report to list changes against: the one the scan compared with.
    ///
    /// A findings.json (or findings.csv) path, or the s3://bucket/key of one
    /// (read with one S3 GetObject, in the runner's region): give the source
    /// the facts record (`previous_report.source`) to reproduce the scan's
    /// report. One that cannot be read is a usage error (exit 2).
    #[arg(long, value_parser = parse_previous, help_heading = "Outputs")]
    previous: Option<FileSource>,
    #[command(flatten)]
    gate: GateArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Only to read an S3 exceptions file or previous report.
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(clap::Args)]
pub struct PlanArgs {
    /// The scan's evidence: a facts.json.gz (or the same, uncompressed), a
    /// path or s3://bucket/key.
    #[arg(long, value_parser = parse_facts)]
    facts: FileSource,
    /// Directory receiving plan.md, plan.json, scripts/ and templates/: a new
    /// one, or one without a plan (a report's directory: its report.html then
    /// links each failing row to the plan). Written complete or not at all.
    #[arg(long, value_parser = parse_output_dir)]
    output_dir: PathBuf,
    // Judges with another exceptions file than the one the scan kept.
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    /// Evidence older than this many days is not planned from (1-3650).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_age: u32,
    /// The S3 bucket a new AWS Config delivery channel delivers to, where a
    /// region has none (its policy must admit AWS Config); without it such
    /// regions are refused.
    #[arg(long, value_parser = parse_input::<BucketName>)]
    config_bucket: Option<BucketName>,
    /// The account of the central alert stack (default: the management account).
    #[arg(long)]
    alerts_account: Option<AccountId>,
    /// The region of the central alert stack (default: the region with the
    /// most failing alerting rows).
    #[arg(long)]
    alerts_region: Option<RegionName>,
    /// Who the central alert topic emails; the scripts ask for it otherwise.
    #[arg(long, value_parser = parse_input::<EmailAddress>)]
    alert_email: Option<EmailAddress>,
    /// How member accounts get their alert forwarders: one service-managed
    /// StackSet run from the management account, or a plain stack run in
    /// each account-region.
    #[arg(long, value_enum, default_value_t = ForwardersArg::Stackset)]
    forwarders: ForwardersArg,
    /// Apply the planned changes to a copy of the evidence and judge it again
    /// with the same checks: every planned row must become what its step
    /// expects, and nothing else may change (else nothing is written, exit 1).
    #[arg(long)]
    check: bool,
    /// The runner's profile and region, used only to read --facts or
    /// --exceptions from S3.
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ForwardersArg {
    Stackset,
    Stacks,
}

/// An unreadable or malformed report is a usage error (exit 2), reported
/// by clap before anything runs.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The earlier report: findings.csv or findings.json.
    #[arg(value_parser = |path: &str| ReportFile::from_path(Path::new(path)))]
    pub old: ReportFile,
    /// The later report: findings.csv or findings.json.
    #[arg(value_parser = |path: &str| ReportFile::from_path(Path::new(path)))]
    pub new: ReportFile,
    /// Also write the changed rows to this CSV file.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Exit 3 when rows changed, like `git diff --exit-code`.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(clap::Args)]
struct OutputArgs {
    /// Directory receiving the report (made if missing).
    ///
    /// findings.csv, findings.json, findings.ocsf.json, report.html,
    /// changes.csv (when compared with a previous report) and, from `scan`,
    /// facts.json.gz, written before any upload. A run that fails before
    /// its report leaves no directory it made.
    #[arg(long, default_value = "./reports", value_parser = parse_output_dir, help_heading = "Outputs")]
    output_dir: PathBuf,
}

/// Re-evaluation has no upload: its report would land in, and overwrite,
/// the original scan's S3 folder.
#[derive(clap::Args)]
struct UploadArgs {
    /// Also upload the report files and facts.json.gz to s3://bucket/prefix/YYYY/MM/DD/<scan_id>/.
    #[arg(long, value_parser = parse_s3_uri, help_heading = "Outputs")]
    s3_uri: Option<S3Uri>,
    /// KMS key for SSE-KMS on the uploaded reports (SSE-S3 when absent): key
    /// id, key ARN, alias/name or alias ARN.
    #[arg(long, requires = "s3_uri", value_parser = parse_input::<KmsKeyId>, help_heading = "Outputs")]
    s3_kms_key_id: Option<KmsKeyId>,
    /// Region of the report bucket (default: the runner's region).
    #[arg(long, requires = "s3_uri", help_heading = "Outputs")]
    s3_region: Option<RegionName>,
}

/// A scan as the command line asks for it: the runner's AWS settings, the
/// run, and how often progress is logged.
pub struct ScanCommand {
    pub aws: RunnerSettings,
    pub job: ScanJob,
    pub progress_interval: Duration,
}

/// A re-evaluation as the command line asks for it.
pub struct EvaluateCommand {
    pub aws: RunnerSettings,
    pub job: EvaluateJob,
}

impl ScanArgs {
    /// The scan this command line asks for, once what clap cannot check
    /// one flag at a time is checked; `colour`: whether the summary on
    /// stdout is coloured.
    pub fn command(self, colour: bool) -> Result<ScanCommand, clap::Error> {
        let usage = |kind, message: String| Cli::command().error(kind, message);
        let conflicting: Vec<&str> = self
            .accounts
            .iter()
            .filter(|id| self.exclude_accounts.contains(id))
            .map(AccountId::as_str)
            .collect();
        if !conflicting.is_empty() {
            return Err(usage(
                ErrorKind::ArgumentConflict,
                format!(
                    "--accounts and --exclude-accounts both name {}",
                    conflicting.join(", ")
                ),
            ));
        }
        let conflicting: Vec<&str> = self
            .ous
            .iter()
            .filter(|id| self.exclude_ous.contains(id))
            .map(OuId::as_str)
            .collect();
        if !conflicting.is_empty() {
            return Err(usage(
                ErrorKind::ArgumentConflict,
                format!(
                    "--ous and --exclude-ous both name {}",
                    conflicting.join(", ")
                ),
            ));
        }
        // Checked here rather than by a value parser, whose message would
        // quote the value: the external id is a secret.
        let external_id = self
            .external_id
            .map(ExternalId::new)
            .transpose()
            .map_err(|why| {
                usage(
                    ErrorKind::ValueValidation,
                    format!("invalid value for '--external-id' (value not shown): {why}"),
                )
            })?;
        let fallback_region = match &self.regions {
            RegionSelection::Listed(regions) => regions.first(),
            RegionSelection::All => None,
        };
        let aws = self.aws.settings(fallback_region);
        let job = ScanJob {
            options: ScanOptions {
                regions: self.regions,
                include_accounts: self.accounts.into_iter().collect(),
                exclude_accounts: self.exclude_accounts.into_iter().collect(),
                include_ous: self.ous.into_iter().collect(),
                exclude_ous: self.exclude_ous.into_iter().collect(),
                role_name: self.role_name.to_string(),
                org_role: self.org_role,
                external_id,
                concurrency: self.concurrency,
                lookback_days: self.lookback_days,
                exceptions: None,
                previous_report: Default::default(),
            },
            exceptions: self.exceptions.exceptions,
            previous: self.previous,
            output_dir: self.output.output_dir,
            upload: self.upload.s3_uri.map(|uri| Upload {
                uri,
                kms_key_id: self.upload.s3_kms_key_id,
                region: self.upload.s3_region,
            }),
            security_hub: self.security_hub.security_hub.then_some(SecurityHubJob {
                role_name: self.security_hub.security_hub_role_name,
            }),
            sns_topic: self.sns_topic_arn,
            heartbeat: self.heartbeat.heartbeat_namespace,
            fail_on: self.gate.fail_on.map(FailOn::status),
            deadline: Some(self.deadline),
            colour,
        };
        Ok(ScanCommand {
            aws,
            job,
            progress_interval: self.progress_interval,
        })
    }
}

impl EvaluateArgs {
    pub fn command(self, colour: bool) -> EvaluateCommand {
        EvaluateCommand {
            aws: self.aws.settings(None),
            job: EvaluateJob {
                // clap requires one of the two.
                facts: self.facts.or(self.facts_flag).unwrap_or_default(),
                exceptions: self.exceptions.exceptions,
                previous: self.previous,
                output_dir: self.output.output_dir,
                fail_on: self.gate.fail_on.map(FailOn::status),
                colour,
            },
        }
    }
}

/// `cmkscan plan`: the run, and the AWS configuration it reads S3 with.
pub struct PlanCommand {
    pub aws: RunnerSettings,
    pub job: PlanJob,
}

impl PlanArgs {
    pub fn command(self) -> PlanCommand {
        PlanCommand {
            aws: self.aws.settings(None),
            job: self.job(),
        }
    }

    fn job(self) -> PlanJob {
        PlanJob {
            facts: self.facts,
            exceptions: self.exceptions.exceptions,
            output_dir: self.output_dir,
            options: PlanOptions {
                max_age_days: self.max_age,
                config_bucket: self.config_bucket,
                alerts_account: self.alerts_account,
                alerts_region: self.alerts_region,
                alert_email: self.alert_email,
                forwarders: match self.forwarders {
                    ForwardersArg::Stackset => Forwarders::StackSet,
                    ForwardersArg::Stacks => Forwarders::Stacks,
                },
            },
            check: self.check,
        }
    }
}

fn parse_facts(value: &str) -> Result<FileSource, String> {
    value.parse().map_err(|err| match err {
        InputError::EmptyPath => "the facts file must not be empty".into(),
        InputError::S3ObjectKey(_) => {
            format!("{value}: no object key: expected s3://bucket/prefix/.../facts.json.gz")
        }
        other => other.to_string(),
    })
}

/// Any validated input, by its own rules and message.
fn parse_input<T: std::str::FromStr<Err = InputError>>(value: &str) -> Result<T, String> {
    value.parse().map_err(|err: InputError| err.to_string())
}

/// A directory that is or can be made: the nearest part of it that exists
/// must be a directory ("File exists (os error 17)" said it badly).
fn parse_output_dir(value: &str) -> Result<PathBuf, String> {
    if value.trim().is_empty() {
        return Err("the output directory must not be empty".into());
    }
    let path = PathBuf::from(value);
    let existing = path
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists());
    match existing {
        Some(existing) if !existing.is_dir() => Err(if existing == path {
            format!("{value} is a file, not a directory: name a directory (it is made if missing)")
        } else {
            format!(
                "{} is a file, so {value} cannot be made under it: name a directory",
                existing.display()
            )
        }),
        _ => Ok(path),
    }
}

fn parse_concurrency(value: &str) -> Result<NonZeroUsize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1: it is how many accounts are scanned at once".into()),
        Ok(n) => NonZeroUsize::new(n).ok_or_else(|| "must be at least 1".into()),
        Err(_) => {
            Err("expected a whole number of accounts scanned at once, like 8 (the default)".into())
        }
    }
}

fn parse_profile(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("the profile name must not be empty".into())
    } else {
        Ok(value.to_string())
    }
}

/// `90m`, `4h`, `1h30m`, `45s`, `2d`: numbers each with its unit (d, h, m,
/// s); a bare number is refused, for it could mean seconds or minutes.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let hint = "expected a duration like 90m, 4h, 1h30m or 45s";
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in value.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("{hint}: {c:?} is not a unit (d, h, m, s)")),
        };
        if digits.is_empty() {
            return Err(format!("{hint}: a number must come before {c:?}"));
        }
        let n: u64 = digits.parse().map_err(|_| format!("{hint}: too long"))?;
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| format!("{hint}: too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("{hint}: give {digits} a unit (d, h, m, s)"));
    }
    if total == 0 {
        return Err(format!("{hint}, longer than zero"));
    }
    Ok(Duration::from_secs(total))
}

fn parse_s3_uri(value: &str) -> Result<S3Uri, String> {
    let bucket = value
        .strip_prefix("s3://")
        .map(|rest| rest.split('/').next().unwrap_or_default());
    if bucket == Some("") {
        return Err("no bucket name: expected s3://bucket or s3://bucket/prefix".into());
    }
    parse_input(value)
}

fn parse_exceptions(value: &str) -> Result<FileSource, String> {
    value.parse().map_err(|err| match err {
        InputError::EmptyPath => "the exceptions file must not be empty".into(),
        InputError::S3ObjectKey(_) => format!("{value}: no object key: expected s3://bucket/key"),
        other => other.to_string(),
    })
}

fn parse_previous(value: &str) -> Result<FileSource, String> {
    value.parse().map_err(|err| {
        let why = match err {
            InputError::EmptyPath => "expected a path or s3://bucket/key".into(),
            InputError::S3ObjectKey(_) => {
                "expected the report object, s3://bucket/prefix/YYYY/MM/DD/<scan_id>/findings.json"
                    .into()
            }
            other => other.to_string(),
        };
        format!("{value:?} is not a report: {why}")
    })
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
        assert!(parse_s3_uri("s3://reports-bucket/weekly").is_ok());
        assert!(parse_s3_uri("s3:///weekly")
            .unwrap_err()
            .starts_with("no bucket name"));
        assert!(parse_input::<KmsKeyId>("alias/reports").is_ok());
        assert!(parse_input::<KmsKeyId>("alias/").is_err());
        assert!(parse_previous("s3://reports-bucket/weekly/")
            .unwrap_err()
            .contains("expected the report object"));
        assert!(parse_exceptions("")
            .unwrap_err()
            .contains("must not be empty"));
        assert!(parse_facts("s3://reports-bucket/2026/")
            .unwrap_err()
            .contains("no object key"));
        assert!(parse_input::<BucketName>("Config_Logs")
            .unwrap_err()
            .contains("not a valid S3 bucket name"));
        assert!(parse_input::<EmailAddress>("security")
            .unwrap_err()
            .contains("not an email address"));
        assert_eq!(parse_concurrency("16"), Ok(NonZeroUsize::new(16).unwrap()));
        assert!(parse_concurrency("0").unwrap_err().contains("at least 1"));
        assert!(parse_concurrency("many")
            .unwrap_err()
            .contains("whole number"));
    }

    #[test]
    fn durations_take_units() {
        let minutes = |m: u64| Ok(Duration::from_secs(m * 60));
        assert_eq!(parse_duration("90m"), minutes(90));
        assert_eq!(parse_duration("1h30m"), minutes(90));
        assert_eq!(parse_duration("4h"), minutes(240));
        assert_eq!(parse_duration("2d"), minutes(2 * 24 * 60));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        for (bad, why) in [
            ("90", "give 90 a unit"),
            ("0m", "longer than zero"),
            ("", "longer than zero"),
            ("h", "a number must come before"),
            ("4 hours", "not a unit"),
            ("99999999999999999999d", "too long"),
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn an_output_dir_that_is_a_file_is_said_in_words() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let name = file.display().to_string();
        assert!(parse_output_dir(&name)
            .unwrap_err()
            .contains("is a file, not a directory"));
        let under = file.join("reports").display().to_string();
        assert!(parse_output_dir(&under)
            .unwrap_err()
            .contains("is a file, so"));
        let fresh = scratch.path().join("new").join("reports");
        assert_eq!(parse_output_dir(&fresh.display().to_string()), Ok(fresh));
    }

    #[test]
    fn colour_follows_the_choice_and_the_terminal() {
        assert!(ColorChoice::Always.colours(false));
        assert!(!ColorChoice::Never.colours(true));
        assert!(!ColorChoice::Auto.colours(false));
    }
}
