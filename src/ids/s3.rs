//! S3 locations given on the command line: the report prefix
//! (`--s3-uri`), and a file that may be local or an S3 object
//! (`--exceptions`, `--previous`, `evaluate`'s facts).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::InputError;

/// `s3://bucket[/prefix]`, with the prefix normalised to no leading or
/// trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    bucket: String,
    prefix: String,
}

impl S3Uri {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key for `path` under the prefix.
    pub fn key_for(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }
}

impl FromStr for S3Uri {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| InputError::S3Uri(s.to_string()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket)?;
        let prefix = prefix.trim_matches('/');
        if prefix.contains("//") {
            return Err(InputError::S3Uri(s.to_string()));
        }
        Ok(S3Uri {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// An S3 bucket name, by the general-purpose naming rules (`cmkscan plan
/// --config-bucket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketName(String);

impl BucketName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BucketName {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_bucket(s)?;
        Ok(BucketName(s.to_string()))
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The general-purpose bucket naming rules that can be checked offline.
fn check_bucket(name: &str) -> Result<(), InputError> {
    let bad = |why| InputError::BucketName {
        value: name.to_string(),
        why,
    };
    if !(3..=63).contains(&name.len()) {
        return Err(bad("must be 3 to 63 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(bad(
            "only lowercase letters, digits, '-' and '.' are allowed",
        ));
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return Err(bad("must begin and end with a letter or digit"));
    }
    if name.contains("..") {
        return Err(bad("must not contain two adjacent periods"));
    }
    Ok(())
}

/// A file named on the command line: a path on this machine, or an S3
/// object, `s3://bucket/key` (the bucket named by the rules of
/// [`S3Uri`], a key that names an object, not a folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl FileSource {
    pub fn is_s3(&self) -> bool {
        matches!(self, FileSource::S3 { .. })
    }
}

impl FromStr for FileSource {
    type Err = InputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let Some(rest) = value.strip_prefix("s3://") else {
            if value.trim().is_empty() {
                return Err(InputError::EmptyPath);
            }
            return Ok(FileSource::Local(PathBuf::from(value)));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket)?;
        if key.is_empty() || key.ends_with('/') {
            return Err(InputError::S3ObjectKey(value.to_string()));
        }
        Ok(FileSource::S3 {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl fmt::Display for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSource::Local(path) => write!(f, "{}", path.display()),
            FileSource::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris() {
        let uri: S3Uri = "s3://reports-bucket/cmkscan/weekly/".parse().unwrap();
        assert_eq!(uri.bucket(), "reports-bucket");
        assert_eq!(uri.key_for("2026/11/28/x"), "cmkscan/weekly/2026/11/28/x");
        assert_eq!(uri.to_string(), "s3://reports-bucket/cmkscan/weekly");
        let bare: S3Uri = "s3://reports-bucket".parse().unwrap();
        assert_eq!(bare.key_for("a"), "a");
        for bad in [
            "reports-bucket/x",
            "s3://",
            "s3://Bad_Bucket",
            "s3://ab",
            "s3://-bucket",
            "s3://a..b",
            "s3://bucket/a//b",
            "https://bucket.s3.amazonaws.com/x",
        ] {
            assert!(bad.parse::<S3Uri>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn bucket_names() {
        assert_eq!(
            "config-logs.example"
                .parse::<BucketName>()
                .unwrap()
                .as_str(),
            "config-logs.example"
        );
        for bad in ["", "ab", "Config", "s3://bucket", "a..b", "-a-", "a b c"] {
            assert!(
                bad.parse::<BucketName>().is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn file_sources() {
        assert_eq!(
            "exceptions.yaml".parse(),
            Ok(FileSource::Local(PathBuf::from("exceptions.yaml")))
        );
        let object: FileSource = "s3://reports-bucket/weekly/findings.json".parse().unwrap();
        assert_eq!(
            object,
            FileSource::S3 {
                bucket: "reports-bucket".into(),
                key: "weekly/findings.json".into()
            }
        );
        assert!(object.is_s3());
        assert_eq!(
            object.to_string(),
            "s3://reports-bucket/weekly/findings.json"
        );
        assert_eq!("".parse::<FileSource>(), Err(InputError::EmptyPath));
        for no_object in ["s3://reports-bucket", "s3://reports-bucket/weekly/"] {
            assert_eq!(
                no_object.parse::<FileSource>(),
                Err(InputError::S3ObjectKey(no_object.into()))
            );
        }
        assert!(matches!(
            "s3://Bad_Bucket/x".parse::<FileSource>(),
            Err(InputError::BucketName { .. })
        ));
    }
}
