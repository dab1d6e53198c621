//! Where `--exceptions` comes from: a local path, or an S3 object read with
//! the runner's credentials.

use std::io::Read;

use time::Date;

use super::file::{Exceptions, ExceptionsError, Problem, MAX_FILE_BYTES};
use crate::aws::s3_object::get_object;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::ids::FileSource;

/// How much of a local file is read: one byte past the limit.
const LIMIT_PLUS_ONE: u64 = MAX_FILE_BYTES as u64 + 1;

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

/// Reads and validates the exceptions file; `today` is the day the
/// `expires` window counts from. An S3 object is read with `s3`: the
/// runner's session and the bucket's region, which a local file does not
/// need.
pub async fn load(
    source: &FileSource,
    s3: Option<(&AccountSession, &str)>,
    today: Date,
) -> Result<Exceptions, LoadError> {
    let name = source.to_string();
    let bytes = match (source, s3) {
        (FileSource::Local(path), _) => {
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
        (FileSource::S3 { bucket, key }, Some((session, region))) => {
            let object = get_object(session, region, bucket, key, MAX_FILE_BYTES)
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
        (FileSource::S3 { .. }, None) => return Err(LoadError::NoRegion { uri: name }),
    };
    Ok(Exceptions::parse(&name, &bytes, today)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_file_larger_than_the_limit_is_refused_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exceptions.yaml");
        std::fs::write(&path, vec![b'#'; 3 * MAX_FILE_BYTES]).unwrap();
        let today = crate::exceptions::day_of("2026-11-28T15:56:26Z").expect("a day");
        let err = load(&FileSource::Local(path.clone()), None, today)
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
