use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::LocalFile;
use crate::api::Api;
use crate::collect::session::AccountSession;
use crate::ids::S3Uri;
use crate::throttle::CallError;

#[derive(Debug, Clone)]
pub struct S3Target {
    pub uri: S3Uri,
    /// SSE-KMS key; SSE-S3 (AES256) when absent.
    pub kms_key_id: Option<String>,
    pub region: String,
}

#[derive(Debug, thiserror::Error)]
#[error("upload to s3://{bucket}/{key} failed")]
pub struct S3Error {
    pub bucket: String,
    pub key: String,
    #[source]
    pub source: UploadFailure,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadFailure {
    #[error("cannot read {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: aws_smithy_types::byte_stream::error::Error,
    },
    #[error(transparent)]
    Put(CallError),
}

/// Uploads the files to `prefix/YYYY/MM/DD/<scan_id>/` and returns their
/// URIs. Bodies stream from disk: a large report is never held in memory.
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
        let failed = |source| S3Error {
            bucket: target.uri.bucket().to_string(),
            key: key.clone(),
            source,
        };
        let body = ByteStream::from_path(&file.path).await.map_err(|source| {
            failed(UploadFailure::Read {
                path: file.path.clone(),
                source,
            })
        })?;
        let mut request = client
            .put_object()
            .bucket(target.uri.bucket())
            .key(&key)
            .content_type(file.content_type)
            .body(body);
        request = match &target.kms_key_id {
            Some(key_id) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
            None => request.server_side_encryption(ServerSideEncryption::Aes256),
        };
        session
            .throttle
            .call(Api::S3PutObject, &session.scope(&target.region), || {
                request.send()
            })
            .await
            .map_err(|err| failed(UploadFailure::Put(err)))?;
        uploaded.push(format!("s3://{}/{key}", target.uri.bucket()));
    }
    Ok(uploaded)
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
