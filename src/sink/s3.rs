use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::LocalFile;
use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::ids::{KmsKeyId, S3Uri};

#[derive(Debug, Clone)]
pub struct S3Target {
    pub uri: S3Uri,
    /// SSE-KMS key; SSE-S3 (AES256) when absent.
    pub kms_key_id: Option<KmsKeyId>,
    pub region: String,
}

#[derive(Debug, thiserror::Error)]
#[error("upload to s3://{bucket}/{key} failed")]
pub struct S3Error {
    pub bucket: String,
    pub key: String,
    #[source]
    pub source: CallError,
}

/// Uploads the files to `prefix/YYYY/MM/DD/<scan_id>/` and returns their
/// URIs. Bodies stream from disk, opened afresh for every attempt: a large
/// report is never held in memory.
pub async fn upload(
    session: &AccountSession,
    target: &S3Target,
    scan_id: &str,
    scan_time: &str,
    files: &[LocalFile],
) -> Result<Vec<String>, S3Error> {
    let client = session.s3(&target.region);
    let folder = target.uri.key_for(&report_folder(scan_id, scan_time));
    let mut uploaded = Vec::new();
    for file in files {
        let key = format!("{folder}/{}", file.name);
        session
            .throttle
            .call(Api::S3PutObject, &session.scope(&target.region), || {
                let request = put_object(&client, target, &key, file);
                let path = file.path.clone();
                async move {
                    let body = ByteStream::from_path(&path).await.map_err(|err| {
                        SdkError::construction_failure(format!(
                            "cannot read {}: {err}",
                            path.display()
                        ))
                    })?;
                    request.body(body).send().await
                }
            })
            .await
            .map_err(|source| S3Error {
                bucket: target.uri.bucket().to_string(),
                key: key.clone(),
                source,
            })?;
        uploaded.push(format!("s3://{}/{key}", target.uri.bucket()));
    }
    Ok(uploaded)
}

/// The PutObject of one file, without its body; server-side encryption is
/// always asked for, whatever the bucket's default.
fn put_object(
    client: &aws_sdk_s3::Client,
    target: &S3Target,
    key: &str,
    file: &LocalFile,
) -> PutObjectFluentBuilder {
    let request = client
        .put_object()
        .bucket(target.uri.bucket())
        .key(key)
        .content_type(file.content_type);
    match &target.kms_key_id {
        Some(key_id) => request
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_id.as_str()),
        None => request.server_side_encryption(ServerSideEncryption::Aes256),
    }
}

/// `YYYY/MM/DD/<scan_id>` from an RFC 3339 scan time.
fn report_folder(scan_id: &str, scan_time: &str) -> String {
    let date = scan_time
        .get(..10)
        .unwrap_or("unknown-date")
        .replace('-', "/");
    format!("{date}/{scan_id}")
}

#[cfg(test)]
mod tests {
    use super::report_folder;

    #[test]
    fn folder_is_dated_by_scan_time() {
        assert_eq!(
            report_folder("20261128T101500Z-ab12", "2026-11-28T10:15:00Z"),
            "2026/11/28/20261128T101500Z-ab12"
        );
    }
}
