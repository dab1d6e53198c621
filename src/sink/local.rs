use std::path::{Path, PathBuf};

use super::ReportFiles;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the report to {path}")]
pub struct LocalError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Fails early, before a scan that may take an hour, when `dir` cannot
/// receive the report.
pub async fn check_writable(dir: &Path) -> Result<(), LocalError> {
    let probe = write_file(dir, ".cmkscan-write-check", b"").await?;
    tokio::fs::remove_file(&probe)
        .await
        .map_err(|source| LocalError {
            path: probe,
            source,
        })
}

/// Writes both report files into `dir` (created if missing).
pub async fn write_local(dir: &Path, files: &ReportFiles) -> Result<Vec<PathBuf>, LocalError> {
    let mut written = Vec::new();
    for (name, bytes, _) in files.entries() {
        written.push(write_file(dir, name, bytes).await?);
    }
    Ok(written)
}

/// Writes `dir/name` through a temporary name and a rename, so a reader
/// never sees half a file.
pub async fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, LocalError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LocalError { path, source }
    };
    tokio::fs::create_dir_all(dir).await.map_err(err(dir))?;
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes)
        .await
        .map_err(err(&partial))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(err(&path))?;
    Ok(path)
}
