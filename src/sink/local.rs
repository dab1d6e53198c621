//! The local copy of the report, always written first. Every file is
//! written under a hidden `.partial` name and renamed when complete, so a
//! killed or failed run never leaves a file that looks finished.
//!
//! The I/O is synchronous: the report is written after the scan, and the
//! evidence file takes a few kilobytes per account while it runs.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write the report to {path}")]
pub struct LocalError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Fails early, before a scan that may take an hour, when `dir` cannot
/// receive the report.
pub fn check_writable(dir: &Path) -> Result<(), LocalError> {
    let probe = write_file(dir, ".cmkscan-write-check", |_| Ok(()))?;
    std::fs::remove_file(&probe).map_err(|source| LocalError {
        path: probe,
        source,
    })
}

/// Writes `dir/name` (the directory is created if missing) with `write`.
pub fn write_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<PathBuf, LocalError> {
    let (pending, mut out) = PendingFile::create(dir, name)?;
    write(&mut out).map_err(|source| LocalError {
        path: pending.partial.clone(),
        source,
    })?;
    pending.commit(out)
}

/// A file under its `.partial` name until [`PendingFile::commit`]; dropped
/// uncommitted (a failed scan), it is removed.
pub struct PendingFile {
    path: PathBuf,
    partial: PathBuf,
    committed: bool,
}

impl PendingFile {
    pub fn create(dir: &Path, name: &str) -> Result<(Self, BufWriter<File>), LocalError> {
        std::fs::create_dir_all(dir).map_err(|source| LocalError {
            path: dir.to_path_buf(),
            source,
        })?;
        let partial = dir.join(format!(".{name}.partial"));
        let file = File::create(&partial).map_err(|source| LocalError {
            path: partial.clone(),
            source,
        })?;
        let pending = PendingFile {
            path: dir.join(name),
            partial,
            committed: false,
        };
        Ok((pending, BufWriter::new(file)))
    }

    /// Flushes and syncs `out`, then gives the file its real name.
    pub fn commit(mut self, out: BufWriter<File>) -> Result<PathBuf, LocalError> {
        let at_partial = |source| LocalError {
            path: self.partial.clone(),
            source,
        };
        let file = out
            .into_inner()
            .map_err(|err| at_partial(err.into_error()))?;
        file.sync_all().map_err(at_partial)?;
        std::fs::rename(&self.partial, &self.path).map_err(|source| LocalError {
            path: self.path.clone(),
            source,
        })?;
        self.committed = true;
        Ok(self.path.clone())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover is hidden and never taken for a report.
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_appears_only_when_committed_and_an_abandoned_one_vanishes() {
        let dir = tempfile::tempdir().unwrap();
        let (pending, mut out) = PendingFile::create(dir.path(), "findings.csv").unwrap();
        out.write_all(b"half").unwrap();
        assert!(!dir.path().join("findings.csv").exists());
        drop(out);
        drop(pending);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let path = write_file(dir.path(), "findings.csv", |out| out.write_all(b"a,b\n")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_file(dir.path(), "findings.json", |out| {
            out.write_all(b"{")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.path.ends_with(".findings.json.partial"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
