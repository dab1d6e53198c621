//! Where a written report goes next, in this order, and what happens when a
//! step fails: the upload to S3; then, only if the upload did not fail, the
//! Security Hub import (with `findings.json` written and uploaded again
//! with what it did); then the SNS message, sent even after a failed upload
//! or import, because keys being deleted are news either way and the
//! message says where the files are; last, the heartbeat metric, only when
//! the report is where it belongs (uploaded, or written locally when no
//! upload was asked for), whatever became of the import and the message:
//! it tells the "no report" alarm that a report arrived, which a failed
//! import or message does not change, and which a failed upload makes
//! untrue. The local files are written before any of this and are never
//! removed. [`Delivery`] says what each step did; the run fails when any
//! step failed, the heartbeat included: a report without its heartbeat
//! would raise the "no report" alarm days later for a report that exists,
//! so the run says at once, through its exit code and the failure alert,
//! why the heartbeat is missing.
//!
//! The AWS calls are behind [`Destinations`], so that the order and the
//! failure policy are tested here without AWS.

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::say;
use crate::aws::throttle::CallError;
use crate::facts::ScanHeader;
use crate::findings::{FindingRows, SecurityHubSummary, Summary};
use crate::history::Changes;
use crate::ids::{MetricNamespace, RoleName, TopicArn};
use crate::report::Report;
use crate::sink::heartbeat::METRIC_NAME;
use crate::sink::notify::{Notice, ReportLocation, Scan};
use crate::sink::{self, LocalError, LocalFile, S3Error, JSON_NAME};

/// A report written to its local directory: what the later steps send.
pub struct Written<'a> {
    pub dir: &'a Path,
    pub scan: &'a ScanHeader,
    pub summary: &'a Summary,
    pub changes: &'a Changes,
    pub findings: &'a dyn FindingRows,
    /// The files written, in upload order.
    pub files: Vec<LocalFile>,
}

/// The AWS side of a delivery. Each method is asked only for what the
/// command line asked for.
pub(crate) trait Destinations {
    /// Whether `--s3-uri` was given.
    fn uploads(&self) -> bool;
    /// The URIs of the uploaded files.
    async fn upload(&mut self, files: &[LocalFile]) -> Result<Vec<String>, S3Error>;
    /// The import role's name, when `--security-hub` was given.
    fn security_hub_role(&self) -> Option<&RoleName>;
    /// Only reading the findings back can fail; everything AWS answers is
    /// in the summary.
    async fn import(&mut self, written: &Written<'_>) -> io::Result<SecurityHubSummary>;
    /// The topic, when `--sns-topic-arn` was given.
    fn topic(&self) -> Option<&TopicArn>;
    /// The message id.
    async fn publish(&mut self, notice: &Notice) -> Result<String, CallError>;
    /// The namespace, when `--heartbeat-namespace` was given.
    fn heartbeat_namespace(&self) -> Option<&MetricNamespace>;
    /// Publishes the heartbeat metric ([`crate::sink::heartbeat`]).
    async fn heartbeat(&mut self) -> Result<(), CallError>;
}

/// What a step of the delivery did.
#[derive(Debug)]
pub enum Step<T, E> {
    /// The command line did not ask for it.
    NotAsked,
    /// Asked for, but not tried: an earlier step failed (the import or the
    /// heartbeat after a failed upload).
    NotTried,
    Done(T),
    Failed(E),
}

impl<T, E> Step<T, E> {
    fn failure(&self) -> Option<&E> {
        match self {
            Step::Failed(err) => Some(err),
            _ => None,
        }
    }
}

/// What became of a written report.
#[derive(Debug)]
pub struct Delivery {
    /// The uploaded files' URIs.
    pub upload: Step<Vec<String>, UploadFailed>,
    pub security_hub: Step<SecurityHubSummary, SecurityHubFailed>,
    /// The message id.
    pub notification: Step<String, NotificationFailed>,
    pub heartbeat: Step<(), HeartbeatFailed>,
}

/// The upload failed; the local files are kept.
#[derive(Debug)]
pub struct UploadFailed {
    pub error: S3Error,
    /// Where the files are kept.
    pub dir: PathBuf,
}

impl fmt::Display for UploadFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; the local report is kept in {}",
            chain(&self.error),
            self.dir.display()
        )
    }
}

/// Why the Security Hub import failed the run. The report is written (and
/// uploaded) either way.
#[derive(Debug, thiserror::Error)]
pub enum SecurityHubFailed {
    #[error("cannot read the findings back for Security Hub")]
    ReadBack(#[source] io::Error),
    #[error(transparent)]
    Rewrite(LocalError),
    #[error("{0}")]
    Reupload(UploadFailed),
    #[error("the Security Hub import role {role} could be assumed in no account: deploy member-securityhub-role.yaml under that name, trusting this runner with its external id (docs/security-hub.md); the report is written")]
    RoleRefusedEverywhere { role: RoleName },
    #[error("{} (the security_hub section of {} names them); the report is written", lost(*.failed, *.not_archived), .json.display())]
    Lost {
        failed: usize,
        not_archived: usize,
        /// The findings.json that names them.
        json: PathBuf,
    },
}

fn lost(failed: usize, not_archived: usize) -> String {
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
    lost.join(" and ")
}

/// The SNS message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotificationFailed {
    #[error("cannot read the findings back for the message")]
    ReadBack(#[source] io::Error),
    /// Not the error's `source`: the message names it already.
    #[error("the message to {topic} was not published: {error}")]
    Publish { topic: TopicArn, error: CallError },
}

/// The heartbeat metric was not published: the report is in its place,
/// but the "no report" alarm will not know it.
#[derive(Debug, thiserror::Error)]
#[error("the heartbeat metric {METRIC_NAME} was not published to namespace {namespace}: {error}; the \"no report\" alarm fires unless a later run publishes it")]
pub struct HeartbeatFailed {
    pub namespace: MetricNamespace,
    pub error: CallError,
}

impl Delivery {
    /// Ok when every step asked for was done; otherwise the run's last
    /// line: the first failure (the upload's, else the import's), then a
    /// failed message and a failed heartbeat added to it.
    pub fn result(&self) -> Result<(), DeliveryFailed> {
        let Err(DeliveryFailed(before)) = self.result_before_heartbeat() else {
            return match self.heartbeat.failure() {
                None => Ok(()),
                Some(heartbeat) => {
                    let uploaded = if matches!(self.upload, Step::Done(_)) {
                        " and uploaded"
                    } else {
                        ""
                    };
                    Err(DeliveryFailed(format!(
                        "{heartbeat}; the report is written{uploaded}"
                    )))
                }
            };
        };
        Err(DeliveryFailed(match self.heartbeat.failure() {
            None => before,
            Some(heartbeat) => format!("{before}; and {heartbeat}"),
        }))
    }

    /// [`Delivery::result`] of the steps before the heartbeat.
    fn result_before_heartbeat(&self) -> Result<(), DeliveryFailed> {
        let failure = match (self.upload.failure(), self.security_hub.failure()) {
            (Some(upload), _) => Some(upload.to_string()),
            (None, Some(import)) => Some(chain(import)),
            (None, None) => None,
        };
        let message = match (failure, self.notification.failure()) {
            (None, None) => return Ok(()),
            (Some(failure), None) => failure,
            (None, Some(publish)) => {
                let uploaded = if matches!(self.upload, Step::Done(_)) {
                    " and uploaded"
                } else {
                    ""
                };
                format!("{}; the report is written{uploaded}", chain(publish))
            }
            (Some(failure), Some(publish)) => format!("{failure}; and {}", chain(publish)),
        };
        Err(DeliveryFailed(message))
    }
}

/// A delivery that failed, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryFailed(String);

/// An error and its sources, `: `-separated, as the run's last line says it.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

/// Delivers `written`, printing on `out` what each step did.
pub(crate) async fn deliver(
    written: &Written<'_>,
    to: &mut impl Destinations,
    out: &mut dyn Write,
) -> Delivery {
    let upload = if to.uploads() {
        match to.upload(&written.files).await {
            Ok(uris) => {
                for uri in &uris {
                    say(out, format_args!("uploaded {uri}\n"));
                }
                Step::Done(uris)
            }
            Err(error) => Step::Failed(UploadFailed {
                error,
                dir: written.dir.to_path_buf(),
            }),
        }
    } else {
        Step::NotAsked
    };
    let security_hub = match (to.security_hub_role().cloned(), &upload) {
        (None, _) => Step::NotAsked,
        // A failed upload ends the run before the import (docs/security-hub.md).
        (Some(_), Step::Failed(_)) => Step::NotTried,
        (Some(role), _) => match import(written, to, &role, out).await {
            Ok(summary) => Step::Done(summary),
            Err(err) => Step::Failed(err),
        },
    };
    let notification = match to.topic().cloned() {
        None => Step::NotAsked,
        Some(topic) => {
            let location = match &upload {
                Step::Done(uris) => ReportLocation::Uploaded(uris.clone()),
                Step::Failed(failed) => ReportLocation::UploadFailed {
                    reason: failed.to_string(),
                    dir: written.dir.display().to_string(),
                },
                Step::NotAsked | Step::NotTried => {
                    ReportLocation::Local(written.dir.display().to_string())
                }
            };
            match publish(written, &location, &topic, to).await {
                Ok(id) => {
                    say(out, format_args!("published to {topic} (message {id})\n"));
                    Step::Done(id)
                }
                Err(err) => Step::Failed(err),
            }
        }
    };
    let heartbeat = match (to.heartbeat_namespace().cloned(), &upload) {
        (None, _) => Step::NotAsked,
        // No report where it belongs: the alarm must keep seeing silence.
        (Some(_), Step::Failed(_)) => Step::NotTried,
        (Some(namespace), _) => match to.heartbeat().await {
            Ok(()) => {
                say(
                    out,
                    format_args!("heartbeat: {METRIC_NAME} published to namespace {namespace}\n"),
                );
                Step::Done(())
            }
            Err(error) => Step::Failed(HeartbeatFailed { namespace, error }),
        },
    };
    Delivery {
        upload,
        security_hub,
        notification,
        heartbeat,
    }
}

/// The import, then findings.json again with what it did (uploaded again
/// when the report was). A region without Security Hub or an account
/// without the import role is only reported; a role refused everywhere, or
/// a finding not imported or not archived, fails the run.
async fn import(
    written: &Written<'_>,
    to: &mut impl Destinations,
    role: &RoleName,
    out: &mut dyn Write,
) -> Result<SecurityHubSummary, SecurityHubFailed> {
    let result = to
        .import(written)
        .await
        .map_err(SecurityHubFailed::ReadBack)?;
    say(out, format_args!("{}", result.render()));
    let summary = Summary {
        security_hub: Some(result.clone()),
        ..written.summary.clone()
    };
    let json = sink::write_json(
        written.dir,
        &Report {
            scan: written.scan,
            summary: &summary,
            changes: written.changes,
            findings: written.findings,
        },
    )
    .map_err(SecurityHubFailed::Rewrite)?;
    say(out, format_args!("wrote {}\n", json.path.display()));
    if to.uploads() {
        let uris = to
            .upload(std::slice::from_ref(&json))
            .await
            .map_err(|error| {
                SecurityHubFailed::Reupload(UploadFailed {
                    error,
                    dir: written.dir.to_path_buf(),
                })
            })?;
        for uri in &uris {
            say(out, format_args!("uploaded {uri}\n"));
        }
    }
    if result.role_refused_everywhere() {
        return Err(SecurityHubFailed::RoleRefusedEverywhere { role: role.clone() });
    }
    if result.failed > 0 || result.archive_failed > 0 {
        return Err(SecurityHubFailed::Lost {
            failed: result.failed,
            not_archived: result.archive_failed,
            json: written.dir.join(JSON_NAME),
        });
    }
    Ok(result)
}

async fn publish(
    written: &Written<'_>,
    location: &ReportLocation,
    topic: &TopicArn,
    to: &mut impl Destinations,
) -> Result<String, NotificationFailed> {
    let notice = Notice::new(&Scan {
        header: written.scan,
        summary: written.summary,
        changes: written.changes,
        findings: written.findings,
        location,
    })
    .map_err(NotificationFailed::ReadBack)?;
    to.publish(&notice)
        .await
        .map_err(|error| NotificationFailed::Publish {
            topic: topic.clone(),
            error,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::Api;
    use crate::checks::catalog::{CheckId, Status};
    use crate::checks::fixtures::finding;
    use crate::facts::fixtures::header;
    use crate::facts::PreviousReport;

    /// Destinations that record what was asked of them, in order, and
    /// fail where told to.
    #[derive(Default)]
    struct Fake {
        uploads: bool,
        role: Option<RoleName>,
        topic: Option<TopicArn>,
        fail_upload: bool,
        fail_second_upload: bool,
        import_result: SecurityHubSummary,
        fail_publish: bool,
        heartbeat: Option<MetricNamespace>,
        fail_heartbeat: bool,
        calls: Vec<String>,
        published: Vec<String>,
    }

    impl Destinations for Fake {
        fn uploads(&self) -> bool {
            self.uploads
        }

        async fn upload(&mut self, files: &[LocalFile]) -> Result<Vec<String>, S3Error> {
            let names: Vec<&str> = files.iter().map(|f| f.name).collect();
            self.calls.push(format!("upload {}", names.join(",")));
            let second = self
                .calls
                .iter()
                .filter(|c| c.starts_with("upload"))
                .count()
                > 1;
            if self.fail_upload || (second && self.fail_second_upload) {
                return Err(S3Error {
                    bucket: "reports".into(),
                    key: format!("p/{}", names[0]),
                    source: CallError::new(Api::S3PutObject, "AccessDenied", "no"),
                });
            }
            Ok(names
                .iter()
                .map(|n| format!("s3://reports/p/{n}"))
                .collect())
        }

        fn security_hub_role(&self) -> Option<&RoleName> {
            self.role.as_ref()
        }

        async fn import(&mut self, _: &Written<'_>) -> io::Result<SecurityHubSummary> {
            self.calls.push("import".into());
            Ok(self.import_result.clone())
        }

        fn topic(&self) -> Option<&TopicArn> {
            self.topic.as_ref()
        }

        async fn publish(&mut self, notice: &Notice) -> Result<String, CallError> {
            self.calls.push("publish".into());
            self.published.push(notice.message.clone());
            if self.fail_publish {
                return Err(CallError::new(Api::SnsPublish, "AuthorizationError", "no"));
            }
            Ok("m-1".into())
        }

        fn heartbeat_namespace(&self) -> Option<&MetricNamespace> {
            self.heartbeat.as_ref()
        }

        async fn heartbeat(&mut self) -> Result<(), CallError> {
            self.calls.push("heartbeat".into());
            if self.fail_heartbeat {
                return Err(CallError::new(
                    Api::CloudWatchPutMetricData,
                    "AccessDenied",
                    "no",
                ));
            }
            Ok(())
        }
    }

    fn all_asked() -> Fake {
        Fake {
            uploads: true,
            role: Some("CmkScanSecurityHubImport".parse().unwrap()),
            topic: Some("arn:aws:sns:us-east-1:111111111111:alerts".parse().unwrap()),
            heartbeat: Some("cmkscan/runner".parse().unwrap()),
            ..Fake::default()
        }
    }

    /// Delivers a one-row report written in a temporary directory and
    /// returns the delivery, what was printed, and the directory.
    fn deliver_to(to: &mut Fake) -> (Delivery, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let scan = header();
        let summary = Summary::default();
        let changes = Changes::not_compared(PreviousReport::NotRequested);
        let findings = vec![finding(CheckId::KmsKeyRecording, Status::Fail)];
        let written = Written {
            dir: dir.path(),
            scan: &scan,
            summary: &summary,
            changes: &changes,
            findings: &findings,
            files: vec![
                LocalFile::csv(dir.path().join("findings.csv")),
                LocalFile::json(dir.path().join("findings.json")),
            ],
        };
        let mut out = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let delivery = runtime.block_on(deliver(&written, to, &mut out));
        (delivery, String::from_utf8(out).unwrap(), dir)
    }

    #[test]
    fn every_step_asked_for_runs_in_order_and_findings_json_goes_again() {
        let mut to = all_asked();
        let (delivery, printed, dir) = deliver_to(&mut to);
        assert_eq!(
            to.calls,
            [
                "upload findings.csv,findings.json",
                "import",
                "upload findings.json",
                "publish",
                "heartbeat"
            ]
        );
        assert!(delivery.result().is_ok());
        assert!(matches!(delivery.heartbeat, Step::Done(())));
        assert!(matches!(delivery.upload, Step::Done(ref uris) if uris.len() == 2));
        assert!(matches!(delivery.security_hub, Step::Done(_)));
        assert!(matches!(delivery.notification, Step::Done(ref id) if id == "m-1"));
        // The summary rewritten with what the import did.
        let json = std::fs::read_to_string(dir.path().join("findings.json")).unwrap();
        assert!(json.contains("\"security_hub\""), "{json}");
        assert!(
            printed.contains("uploaded s3://reports/p/findings.csv\n"),
            "{printed}"
        );
        assert!(printed.contains("security hub: 0 imported"), "{printed}");
        assert!(
            printed.ends_with(
                "published to arn:aws:sns:us-east-1:111111111111:alerts (message m-1)\n\
                 heartbeat: ReportDelivered published to namespace cmkscan/runner\n"
            ),
            "{printed}"
        );
        assert!(to.published[0].contains("s3://reports/p/findings.csv"));
    }

    #[test]
    fn nothing_asked_is_nothing_done() {
        let mut to = Fake::default();
        let (delivery, printed, _dir) = deliver_to(&mut to);
        assert!(to.calls.is_empty());
        assert!(printed.is_empty());
        assert!(matches!(delivery.upload, Step::NotAsked));
        assert!(matches!(delivery.security_hub, Step::NotAsked));
        assert!(matches!(delivery.notification, Step::NotAsked));
        assert!(matches!(delivery.heartbeat, Step::NotAsked));
        assert!(delivery.result().is_ok());
    }

    #[test]
    fn a_failed_upload_skips_the_import_but_the_message_still_goes_and_says_so() {
        let mut to = Fake {
            fail_upload: true,
            ..all_asked()
        };
        let (delivery, _, dir) = deliver_to(&mut to);
        assert_eq!(to.calls, ["upload findings.csv,findings.json", "publish"]);
        assert!(matches!(delivery.security_hub, Step::NotTried));
        // No report in its place: no heartbeat, so the alarm keeps seeing
        // the silence.
        assert!(matches!(delivery.heartbeat, Step::NotTried));
        let reason = delivery.result().unwrap_err().to_string();
        assert_eq!(
            reason,
            format!(
                "upload to s3://reports/p/findings.csv failed: s3:PutObject failed: AccessDenied: no; the local report is kept in {}",
                dir.path().display()
            )
        );
        assert!(
            to.published[0]
                .contains("the upload failed: upload to s3://reports/p/findings.csv failed"),
            "{}",
            to.published[0]
        );
    }

    #[test]
    fn a_failed_message_after_a_complete_delivery_says_the_report_is_written_and_uploaded() {
        let mut to = Fake {
            fail_publish: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        assert_eq!(
            delivery.result().unwrap_err().to_string(),
            "the message to arn:aws:sns:us-east-1:111111111111:alerts was not published: sns:Publish failed: AuthorizationError: no; the report is written and uploaded"
        );
        let mut local_only = Fake {
            uploads: false,
            fail_publish: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut local_only);
        assert!(delivery
            .result()
            .unwrap_err()
            .to_string()
            .ends_with("; the report is written"));
    }

    #[test]
    fn both_failures_are_named_the_first_one_first() {
        let mut to = Fake {
            fail_upload: true,
            fail_publish: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        let reason = delivery.result().unwrap_err().to_string();
        assert!(
            reason.starts_with("upload to s3://reports/p/findings.csv failed"),
            "{reason}"
        );
        assert!(
            reason.contains("; and the message to arn:aws:sns"),
            "{reason}"
        );
    }

    #[test]
    fn an_import_that_lost_findings_or_entered_no_account_fails_the_run_after_the_message() {
        let mut lost = Fake {
            import_result: SecurityHubSummary {
                failed: 3,
                archive_failed: 1,
                ..SecurityHubSummary::default()
            },
            ..all_asked()
        };
        let (delivery, _, dir) = deliver_to(&mut lost);
        assert_eq!(
            lost.calls[lost.calls.len() - 2..],
            ["publish".to_string(), "heartbeat".to_string()]
        );
        assert_eq!(
            delivery.result().unwrap_err().to_string(),
            format!(
                "3 findings could not be imported into Security Hub and 1 earlier findings could not be archived in Security Hub (the security_hub section of {} names them); the report is written",
                dir.path().join("findings.json").display()
            )
        );
        let mut refused = Fake {
            import_result: SecurityHubSummary {
                accounts: 2,
                accounts_without_role: 2,
                ..SecurityHubSummary::default()
            },
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut refused);
        assert!(delivery.result().unwrap_err().to_string().starts_with(
            "the Security Hub import role CmkScanSecurityHubImport could be assumed in no account"
        ));
    }

    #[test]
    fn a_failed_second_upload_of_findings_json_fails_the_import_step() {
        let mut to = Fake {
            fail_second_upload: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        assert!(matches!(delivery.upload, Step::Done(_)));
        assert!(matches!(
            delivery.security_hub,
            Step::Failed(SecurityHubFailed::Reupload(_))
        ));
        assert!(matches!(delivery.notification, Step::Done(_)));
    }

    #[test]
    fn the_heartbeat_goes_after_a_failed_import_or_message_since_the_report_arrived() {
        let mut to = Fake {
            fail_second_upload: true,
            fail_publish: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        assert_eq!(to.calls.last().map(String::as_str), Some("heartbeat"));
        assert!(matches!(delivery.heartbeat, Step::Done(())));
        // Still a failed run, for the import and the message.
        assert!(delivery.result().is_err());
    }

    #[test]
    fn a_local_report_without_upload_gets_its_heartbeat() {
        let mut to = Fake {
            uploads: false,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        assert_eq!(to.calls, ["import", "publish", "heartbeat"]);
        assert!(delivery.result().is_ok());
    }

    #[test]
    fn a_failed_heartbeat_fails_the_run_saying_the_report_is_there() {
        let mut to = Fake {
            fail_heartbeat: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut to);
        assert!(matches!(delivery.heartbeat, Step::Failed(_)));
        assert_eq!(
            delivery.result().unwrap_err().to_string(),
            "the heartbeat metric ReportDelivered was not published to namespace cmkscan/runner: \
             cloudwatch:PutMetricData failed: AccessDenied: no; the \"no report\" alarm fires \
             unless a later run publishes it; the report is written and uploaded"
        );
        let mut also_message = Fake {
            fail_heartbeat: true,
            fail_publish: true,
            ..all_asked()
        };
        let (delivery, _, _dir) = deliver_to(&mut also_message);
        let reason = delivery.result().unwrap_err().to_string();
        assert!(
            reason.starts_with(
                "the message to arn:aws:sns:us-east-1:111111111111:alerts was not published"
            ),
            "{reason}"
        );
        assert!(
            reason.contains("uploaded; and the heartbeat metric ReportDelivered was not published"),
            "{reason}"
        );
    }
}
