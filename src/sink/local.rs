use std::path::{Path, PathBuf};

use super::ReportFiles;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the report to {path}: {source}")]
pub struct LocalError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes both files into `dir` (created if missing). Each file is written
/// to a temporary name and renamed, so a reader never sees half a report.
pub async fn write_local(dir: &Path, files: &ReportFiles) -> Result<Vec<PathBuf>, LocalError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LocalError { path, source }
    };
    tokio::fs::create_dir_all(dir).await.map_err(err(dir))?;
    let mut written = Vec::new();
    for (name, bytes, _) in files.entries() {
        let path = dir.join(name);
        let partial = dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, bytes)
            .await
            .map_err(err(&partial))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(err(&path))?;
        written.push(path);
    }
    Ok(written)
}
