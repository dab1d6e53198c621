//! Where `--exceptions` comes from: a local path, or an S3 object read with
//! the runner's credentials.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use time::Date;

use super::file::{Exceptions, ExceptionsError, Problem, MAX_FILE_BYTES};
use crate::api::Api;
use crate::collect::session::AccountSession;
use crate::ids::S3Uri;
use crate::throttle::CallError;

/// How much of a local file is read: one byte past the limit.
const LIMIT_PLUS_ONE: u64 = MAX_FILE_BYTES as u64 + 1;

/// The value of `--exceptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionsSource {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl ExceptionsSource {
    /// `s3://bucket/key` (a key is required), or a path.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.trim().is_empty() {
            return Err("the exceptions file must not be empty".into());
        }
        if !value.starts_with("s3://") {
            return Ok(ExceptionsSource::Local(PathBuf::from(value)));
        }
        let uri: S3Uri = value
            .parse()
            .map_err(|e: crate::ids::InputError| e.to_string())?;
        let key = uri.key_for("");
        let key = key.trim_end_matches('/');
        if key.is_empty() {
            return Err(format!("{value}: no object key: expected s3://bucket/key"));
        }
        Ok(ExceptionsSource::S3 {
            bucket: uri.bucket().to_string(),
            key: key.to_string(),
        })
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, ExceptionsSource::S3 { .. })
    }
}

impl fmt::Display for ExceptionsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExceptionsSource::Local(path) => write!(f, "{}", path.display()),
            ExceptionsSource::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// Why the exceptions file could not be used: a problem with the file
/// itself (a usage error), or an S3 object that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Invalid(#[from] ExceptionsError),
    #[error("cannot read the exceptions file {uri}: no AWS region configured: set AWS_REGION (or a profile region)")]
    NoRegion { uri: String },
    #[error("the exceptions file {source_name} kept in the facts has SHA-256 {computed}, but the scan recorded {recorded}: the evidence was altered")]
    Altered {
        source_name: String,
        recorded: String,
        computed: String,
    },
    #[error("cannot read the exceptions file {uri}")]
    S3 {
        uri: String,
        #[source]
        source: CallError,
    },
}

impl LoadError {
    /// Whether the user must fix the file or its path (exit code 2); an
    /// unreadable S3 object may be a passing failure (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, LoadError::Invalid(_))
    }
}

impl ExceptionsSource {
    /// Reads and validates the file; `today` is the day the `expires`
    /// window counts from. An S3 object is read with `s3`: the runner's
    /// session and the bucket's region, which a local file does not need.
    pub async fn load(
        &self,
        s3: Option<(&AccountSession, &str)>,
        today: Date,
    ) -> Result<Exceptions, LoadError> {
        let name = self.to_string();
        let bytes = match (self, s3) {
            (ExceptionsSource::Local(path), _) => {
                // At most one byte past the limit: enough for the parser to
                // refuse a larger file without reading all of it.
                let mut bytes = Vec::new();
                std::fs::File::open(path)
                    .and_then(|file| file.take(LIMIT_PLUS_ONE).read_to_end(&mut bytes))
                    .map_err(|err| ExceptionsError {
                        file: name.clone(),
                        line: None,
                        problem: Problem::Unreadable(err.to_string()),
                    })?;
                bytes
            }
            (ExceptionsSource::S3 { bucket, key }, Some((session, region))) => {
                let object = get_object(session, region, bucket, key)
                    .await
                    .map_err(|source| LoadError::S3 {
                        uri: name.clone(),
                        source,
                    })?;
                object.ok_or_else(|| ExceptionsError {
                    file: name.clone(),
                    line: None,
                    problem: Problem::TooLarge,
                })?
            }
            (ExceptionsSource::S3 { .. }, None) => return Err(LoadError::NoRegion { uri: name }),
        };
        Ok(Exceptions::parse(&name, &bytes, today)?)
    }
}

/// The object's bytes; `None` when it is larger than an exceptions file
/// may be, which is known from its `ContentLength` before the body is read,
/// or else once the body has gone past the limit.
async fn get_object(
    session: &AccountSession,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, CallError> {
    let client = session.s3(region);
    let out = session
        .throttle
        .call(Api::S3GetObject, &session.scope(region), || {
            client.get_object().bucket(bucket).key(key).send()
        })
        .await?;
    if out
        .content_length
        .is_some_and(|length| length > MAX_FILE_BYTES as i64)
    {
        return Ok(None);
    }
    let mut body = out.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.try_next().await.map_err(|err| {
        CallError::new(
            Api::S3GetObject,
            "ResponseError",
            format!("the object's body could not be read: {err}"),
        )
    })? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FILE_BYTES {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_paths_or_s3_objects_with_a_key() {
        assert_eq!(
            ExceptionsSource::parse("exceptions.yaml"),
            Ok(ExceptionsSource::Local("exceptions.yaml".into()))
        );
        assert_eq!(
            ExceptionsSource::parse("s3://risk-register/cmkscan/exceptions.yaml"),
            Ok(ExceptionsSource::S3 {
                bucket: "risk-register".into(),
                key: "cmkscan/exceptions.yaml".into()
            })
        );
        assert_eq!(
            ExceptionsSource::parse("s3://risk-register/cmkscan/exceptions.yaml")
                .unwrap()
                .to_string(),
            "s3://risk-register/cmkscan/exceptions.yaml"
        );
        for bad in [
            "",
            "s3://risk-register",
            "s3://risk-register/",
            "s3://Bad_Bucket/x",
        ] {
            assert!(ExceptionsSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_local_file_larger_than_the_limit_is_refused_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exceptions.yaml");
        std::fs::write(&path, vec![b'#'; 3 * MAX_FILE_BYTES]).unwrap();
        let today = crate::exceptions::day_of("2026-11-28T15:56:26Z").expect("a day");
        let err = ExceptionsSource::Local(path.clone())
            .load(None, today)
            .await
            .unwrap_err();
        assert!(err.is_usage(), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "exceptions file {}: larger than 1048576 bytes",
                path.display()
            )
        );
    }
}
