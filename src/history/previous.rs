//! The previous report a scan is compared with: the one `--previous` names
//! (a local file, or an `s3://` object), or else the latest earlier report
//! under `--s3-uri`, found by walking its `YYYY/MM/DD/<scan_id>/` folders
//! newest first. Nothing here fails a scan: a report that cannot be found
//! or read becomes [`PreviousReport::Unavailable`], with the reason.

use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_smithy_types::date_time::{DateTime, Format as DateFormat};

use crate::aws::api::Api;
use crate::aws::s3_object::{download, DownloadError};
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::PreviousReport;
use crate::history::report_file::{ReadError, ReportFile};
use crate::ids::{FileSource, S3Uri};

/// The previous report, read; or what the evidence records instead.
#[derive(Debug)]
pub enum Previous {
    Found {
        source: String,
        findings: ReportFile,
    },
    Missing(PreviousReport),
}

impl Previous {
    /// What the evidence records of it.
    pub fn record(&self) -> PreviousReport {
        match self {
            Previous::Found { source, findings } => PreviousReport::Read {
                source: source.clone(),
                scan_id: findings.scan_id.clone(),
                scan_time: findings.scan_time.clone(),
            },
            Previous::Missing(record) => record.clone(),
        }
    }

    fn unavailable(source: impl ToString, reason: String) -> Previous {
        Previous::Missing(PreviousReport::Unavailable {
            source: source.to_string(),
            reason,
        })
    }
}

/// A report on local disk, CSV or JSON (as `cmkscan diff` reads them).
pub fn read_local(path: &Path) -> Previous {
    match ReportFile::from_path(path) {
        Ok(findings) => Previous::Found {
            source: path.display().to_string(),
            findings,
        },
        Err(err) => Previous::unavailable(path.display(), err.to_string()),
    }
}

/// The report `--previous` names; an `s3://` object is read from the
/// report bucket's region.
pub async fn read_named(session: &AccountSession, region: &str, source: &FileSource) -> Previous {
    match source {
        FileSource::Local(path) => read_local(path),
        FileSource::S3 { bucket, key } => read_s3(session, region, bucket, key).await,
    }
}

/// A report in S3: downloaded into an unnamed temporary file, then read
/// from there like a local one, so neither holds it in memory.
async fn read_s3(session: &AccountSession, region: &str, bucket: &str, key: &str) -> Previous {
    let source = format!("s3://{bucket}/{key}");
    let downloaded = match tempfile::tempfile() {
        Ok(mut file) => download(session, region, bucket, key, &mut file)
            .await
            .map(|()| file),
        Err(err) => Err(DownloadError::Write(err)),
    };
    let mut file = match downloaded {
        Ok(file) => file,
        Err(err) => return Previous::unavailable(&source, format!("cannot read {source}: {err}")),
    };
    let read = file
        .seek(SeekFrom::Start(0))
        .map_err(|err| ReadError::Read {
            path: source.clone(),
            source: err,
        })
        .and_then(|_| ReportFile::read_detected(Path::new(key), file));
    match read {
        Ok(findings) => Previous::Found { source, findings },
        Err(err) => Previous::unavailable(&source, format!("{source}: {err}")),
    }
}

/// The latest report under `uri` from a scan that started before `before`
/// (`YYYYMMDDTHHMMSSZ`, see [`now`]), read; none found is said, not failed.
pub async fn read_latest(
    session: &AccountSession,
    region: &str,
    uri: &S3Uri,
    before: &str,
) -> Previous {
    match latest_report_key(session, region, uri, before).await {
        Ok(Some(key)) => read_s3(session, region, uri.bucket(), &key).await,
        Ok(None) => Previous::unavailable(uri, format!("no earlier report under {uri}")),
        Err(err) => Previous::unavailable(
            uri,
            format!("cannot look for an earlier report under {uri}: {err}"),
        ),
    }
}

/// The key of the latest `findings.json` under `uri` whose scan started
/// before `before`. Reports land in `prefix/YYYY/MM/DD/<scan_id>/`, and S3
/// lists keys in ascending order only, so the walk asks for the years, then
/// the months of the newest year, the days of the newest month (each one
/// `ListObjectsV2` with the delimiter `/`), and the objects of the newest
/// day (without it); it goes back a day, month or year only when that one
/// holds no earlier report. A weekly scan finds last week's in 4 requests.
/// Folders from after `before` (a clock ahead, a concurrent run) and a
/// folder without `findings.json` (an upload that failed before it) are
/// passed over.
pub async fn latest_report_key(
    session: &AccountSession,
    region: &str,
    uri: &S3Uri,
    before: &str,
) -> Result<Option<String>, CallError> {
    let lister = Lister {
        session,
        region,
        bucket: uri.bucket(),
    };
    let root = uri.key_for("");
    let (year, month, day) = (
        before.get(..4).unwrap_or_default(),
        before.get(4..6).unwrap_or_default(),
        before.get(6..8).unwrap_or_default(),
    );
    for y in lister.children(&root, 4, year).await? {
        let month_bound = if y == year { month } else { "99" };
        for m in lister
            .children(&format!("{root}{y}/"), 2, month_bound)
            .await?
        {
            let day_bound = if y == year && m == month { day } else { "99" };
            for d in lister
                .children(&format!("{root}{y}/{m}/"), 2, day_bound)
                .await?
            {
                let folder = format!("{root}{y}/{m}/{d}/");
                let (_, keys) = lister.list(&folder, false).await?;
                let latest = keys
                    .iter()
                    .filter_map(|key| key.strip_prefix(&folder)?.strip_suffix("/findings.json"))
                    .filter(|scan_id| !scan_id.contains('/') && started_before(scan_id, before))
                    .max();
                if let Some(scan_id) = latest {
                    return Ok(Some(format!("{folder}{scan_id}/findings.json")));
                }
            }
        }
    }
    Ok(None)
}

/// `YYYYMMDDTHHMMSSZ` of the present second: the scan's own id will start
/// with it or a later one, so reports listed with ids before it are earlier.
pub fn scan_id_prefix_now() -> String {
    DateTime::from_secs(DateTime::from(SystemTime::now()).secs())
        .fmt(DateFormat::DateTime)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// A scan id (`YYYYMMDDTHHMMSSZ-xxxx`) of a scan started before `before`.
fn started_before(scan_id: &str, before: &str) -> bool {
    let Some(time) = scan_id.get(..16) else {
        return false;
    };
    let shaped = time.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    shaped && time < before
}

struct Lister<'a> {
    session: &'a AccountSession,
    region: &'a str,
    bucket: &'a str,
}

impl Lister<'_> {
    /// The folders under `prefix` named by `digits` digits, at most
    /// `bound`, newest first.
    async fn children(
        &self,
        prefix: &str,
        digits: usize,
        bound: &str,
    ) -> Result<Vec<String>, CallError> {
        let (folders, _) = self.list(prefix, true).await?;
        let mut names: Vec<String> = folders
            .iter()
            .filter_map(|folder| folder.strip_prefix(prefix)?.strip_suffix('/'))
            .filter(|name| name.len() == digits && name.bytes().all(|b| b.is_ascii_digit()))
            .filter(|name| *name <= bound)
            .map(str::to_string)
            .collect();
        names.sort_unstable_by(|a, b| b.cmp(a));
        Ok(names)
    }

    /// Every page of `ListObjectsV2` under `prefix`: the folders (with the
    /// delimiter `/`) and the keys.
    async fn list(
        &self,
        prefix: &str,
        folders: bool,
    ) -> Result<(Vec<String>, Vec<String>), CallError> {
        let client = self.session.s3(self.region);
        let delimiter = folders.then(|| "/".to_string());
        let entries = self
            .session
            .throttle
            .all_pages(
                Api::S3ListObjectsV2,
                self.session.scope(self.region),
                |token| {
                    client
                        .list_objects_v2()
                        .bucket(self.bucket)
                        .prefix(prefix)
                        .set_delimiter(delimiter.clone())
                        .set_continuation_token(token)
                        .send()
                },
                |page: &ListObjectsV2Output| page.next_continuation_token(),
                |page| {
                    let folders = page
                        .common_prefixes()
                        .iter()
                        .filter_map(|p| p.prefix())
                        .map(|p| (true, p.to_string()));
                    let keys = page
                        .contents()
                        .iter()
                        .filter_map(|o| o.key())
                        .map(|k| (false, k.to_string()));
                    folders.chain(keys).collect()
                },
            )
            .await?;
        let (folders, keys): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(f, _)| *f);
        Ok((
            folders.into_iter().map(|(_, p)| p).collect(),
            keys.into_iter().map(|(_, k)| k).collect(),
        ))
    }
}

/// What `cmkscan evaluate` compares with, so that its report says what the
/// scan's said: the report given with `--previous` (under the name the
/// scan recorded, when it is the report the scan read); without it, the
/// scan's own outcome, except that a comparison the scan made cannot be
/// made again without that report (its rows are not in the evidence).
pub fn for_evaluate(recorded: &PreviousReport, given: Option<Previous>) -> Previous {
    match (given, recorded) {
        (
            Some(Previous::Found { findings, .. }),
            PreviousReport::Read {
                source, scan_id, ..
            },
        ) if findings.scan_id == *scan_id => Previous::Found {
            source: source.clone(),
            findings,
        },
        (Some(given), _) => given,
        (None, PreviousReport::Read {
            source, scan_id, ..
        }) => Previous::unavailable(
            source,
            format!(
                "the scan compared with {source} (scan {scan_id}); give evaluate that report with --previous to compare again"
            ),
        ),
        (None, recorded) => Previous::Missing(recorded.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_sources_are_paths_or_report_objects() {
        assert_eq!(
            "last/findings.json".parse(),
            Ok(FileSource::Local("last/findings.json".into()))
        );
        let object = "s3://reports-bucket/cmkscan/2026/11/21/20261121T060000Z-ab12/findings.json";
        let parsed: FileSource = object.parse().expect("an object");
        assert_eq!(parsed.to_string(), object);
        for bad in [
            "",
            "s3://",
            "s3://Bad_Bucket/x.json",
            "s3://bucket",
            "s3://bucket/prefix/",
        ] {
            assert!(bad.parse::<FileSource>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_well_formed_earlier_scan_ids_count() {
        let before = "20261129T060000Z";
        assert!(started_before("20261128T060000Z-ffff", before));
        assert!(started_before("20261129T055959Z-0000", before));
        assert!(!started_before("20261129T060000Z-0000", before));
        assert!(!started_before("20271129T060000Z-0000", before));
        assert!(!started_before("latest", before));
        assert!(!started_before("2026112XT060000Z-0000", before));
        assert_eq!(scan_id_prefix_now().len(), 16);
        assert!(started_before(
            "20000101T000000Z-0000",
            &scan_id_prefix_now()
        ));
    }

    fn findings(scan_id: &str) -> ReportFile {
        ReportFile::from_rows(scan_id.into(), "2026-11-21T06:00:00Z".into(), Vec::new()).unwrap()
    }

    #[test]
    fn evaluate_names_the_report_as_the_scan_did() {
        let recorded = PreviousReport::Read {
            source: "s3://b/p/2026/11/21/S1/findings.json".into(),
            scan_id: "S1".into(),
            scan_time: "2026-11-21T06:00:00Z".into(),
        };
        let given = |scan_id: &str| Previous::Found {
            source: "copy/findings.json".into(),
            findings: findings(scan_id),
        };
        // The same report, downloaded: named as the scan named it.
        assert_eq!(
            for_evaluate(&recorded, Some(given("S1"))).record(),
            recorded
        );
        // Another report: named as given.
        assert!(matches!(
            for_evaluate(&recorded, Some(given("S2"))).record(),
            PreviousReport::Read { source, .. } if source == "copy/findings.json"
        ));
        // None given: the comparison cannot be made again, and it says so.
        assert!(matches!(
            for_evaluate(&recorded, None).record(),
            PreviousReport::Unavailable { reason, .. } if reason.contains("with --previous")
        ));
        // The scan's own "not compared" is repeated as it was.
        let unavailable = PreviousReport::Unavailable {
            source: "s3://b/p".into(),
            reason: "no earlier report under s3://b/p".into(),
        };
        assert_eq!(for_evaluate(&unavailable, None).record(), unavailable);
        assert_eq!(
            for_evaluate(&PreviousReport::NotRequested, None).record(),
            PreviousReport::NotRequested
        );
    }
}
