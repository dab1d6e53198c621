//! The command line as clap reads it, flag by flag, and what clap cannot
//! check one flag at a time (like ripgrep's low-level arguments); then the
//! validated run each subcommand stands for ([`ScanArgs::job`],
//! [`EvaluateArgs::job`], [`PlanArgs::job`]), which nothing downstream
//! checks again.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use cmkscan::{
    AccountId, BucketName, EmailAddress, EvaluateJob, ExternalId, FileSource, Forwarders,
    InputError, KmsKeyId, MetricNamespace, OuId, PlanJob, PlanOptions, RegionName, RegionSelection,
    ReportFile, RoleArn, RoleName, S3Uri, ScanJob, ScanOptions, SecurityHubJob, TopicArn, Upload,
};

#[derive(Parser)]
#[command(
    version,
    about = "Is disabling or scheduled deletion of customer-managed KMS keys monitored in every account and region of an AWS Organization?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: text for a terminal, json for ECS / CloudWatch Logs.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan the organization and write findings.csv / findings.json / report.html.
    Scan(Box<ScanArgs>),
    /// Re-evaluate a scan's facts.json.gz into the same report, without AWS.
    Evaluate(EvaluateArgs),
    /// Rows whose status changed between two reports (findings.csv or findings.json).
    Diff(DiffArgs),
    /// From a scan's evidence, the changes that fix exactly what failed, each
    /// with its backout: plan.md, plan.json, scripts. Writes files only.
    Plan(Box<PlanArgs>),
}

#[derive(clap::Args)]
pub struct ScanArgs {
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
    previous: Option<FileSource>,
    /// Publish a summary (counts, coverage, changes, keys pending deletion,
    /// recent events, where the report is) to this SNS topic at the end.
    #[arg(long, value_parser = parse_input::<TopicArn>)]
    sns_topic_arn: Option<TopicArn>,
    #[command(flatten)]
    exceptions: ExceptionsArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    upload: UploadArgs,
    #[command(flatten)]
    security_hub: SecurityHubArgs,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
}

#[derive(clap::Args)]
struct HeartbeatArgs {
    /// Once the report is in its place (uploaded, or written when there is
    /// no --s3-uri), publish the CloudWatch metric ReportDelivered to this
    /// namespace in the runner's region, for an alarm on reports that stop
    /// arriving (docs/operations.md).
    #[arg(long, env = "CMKSCAN_HEARTBEAT_NAMESPACE", value_parser = parse_input::<MetricNamespace>)]
    heartbeat_namespace: Option<MetricNamespace>,
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
    #[arg(long, value_parser = parse_exceptions)]
    exceptions: Option<FileSource>,
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
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
    #[arg(long, requires = "s3_uri", value_parser = parse_input::<KmsKeyId>)]
    s3_kms_key_id: Option<KmsKeyId>,
    /// Region of the report bucket (default: the runner's region).
    #[arg(long, requires = "s3_uri")]
    s3_region: Option<RegionName>,
}

impl ScanArgs {
    /// The scan this command line asks for, once what clap cannot check
    /// one flag at a time is checked.
    pub fn job(self) -> Result<ScanJob, clap::Error> {
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
        Ok(ScanJob {
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
        })
    }
}

impl EvaluateArgs {
    pub fn job(self) -> EvaluateJob {
        EvaluateJob {
            facts: self.facts,
            exceptions: self.exceptions.exceptions,
            previous: self.previous,
            output_dir: self.output.output_dir,
        }
    }
}

impl PlanArgs {
    pub fn job(self) -> PlanJob {
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

/// `evaluate` calls no AWS API: an S3 report is downloaded first.
fn parse_local_previous(value: &str) -> Result<PathBuf, String> {
    match parse_previous(value)? {
        FileSource::Local(path) => Ok(path),
        FileSource::S3 { .. } => Err(
            "evaluate --previous takes a local file: download the report first (aws s3 cp)".into(),
        ),
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
    }
}
