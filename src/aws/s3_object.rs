//! Reading one S3 object with the runner's credentials: whole (the
//! exceptions file), or into a file (the previous report, of any size).
//! Paced and retried like every request; the body is read as it arrives,
//! so an object larger than its reader allows is refused without being
//! read whole.

use std::io::Write;

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;

use super::api::Api;
use super::session::AccountSession;
use super::throttle::CallError;

/// The object's bytes; `Ok(None)` when it is larger than `limit` bytes,
/// which is known from its `ContentLength` before the body is read, or
/// else once the body has gone past the limit.
pub async fn get_object(
    session: &AccountSession,
    region: &str,
    bucket: &str,
    key: &str,
    limit: usize,
) -> Result<Option<Vec<u8>>, CallError> {
    let out = send(session, region, bucket, key).await?;
    if out
        .content_length
        .is_some_and(|length| u64::try_from(length).is_ok_and(|length| length > limit as u64))
    {
        return Ok(None);
    }
    let mut body = out.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await? {
        bytes.extend_from_slice(chunk.as_ref());
        if bytes.len() > limit {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

/// Why an object could not be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("cannot write it to the temporary directory (TMPDIR): {0}")]
    Write(#[source] std::io::Error),
}

/// The object's body written to `out` as it arrives: memory holds one
/// chunk, whatever the object's size.
pub async fn download(
    session: &AccountSession,
    region: &str,
    bucket: &str,
    key: &str,
    out: &mut dyn Write,
) -> Result<(), DownloadError> {
    let mut body = send(session, region, bucket, key).await?.body;
    while let Some(chunk) = next_chunk(&mut body).await? {
        out.write_all(chunk.as_ref())
            .map_err(DownloadError::Write)?;
    }
    out.flush().map_err(DownloadError::Write)
}

/// The paced and retried `GetObject`, its body not yet read.
async fn send(
    session: &AccountSession,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<GetObjectOutput, CallError> {
    let client = session.s3(region);
    session
        .throttle
        .call(Api::S3GetObject, &session.scope(region), || {
            client.get_object().bucket(bucket).key(key).send()
        })
        .await
}

/// The body's next chunk; a body that breaks off is the call's failure.
async fn next_chunk(body: &mut ByteStream) -> Result<Option<impl AsRef<[u8]>>, CallError> {
    body.try_next().await.map_err(|err| {
        CallError::new(
            Api::S3GetObject,
            "ResponseError",
            format!("the object's body could not be read: {err}"),
        )
    })
}
