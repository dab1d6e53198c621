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

/// The output directory of a run, known to take files before a scan that
/// may take an hour. The directories the run had to make are removed again
/// (if still empty) when it is dropped, unless [`OutputDir::keep`] was
/// called: a run that ends before its report leaves no new empty
/// directory behind.
#[derive(Debug)]
pub struct OutputDir {
    /// The directories made for it, deepest first.
    made: Vec<PathBuf>,
    kept: bool,
}

impl OutputDir {
    /// Makes `dir` if missing and checks that a file can be written in it.
    pub fn prepare(dir: &Path) -> Result<OutputDir, LocalError> {
        let made: Vec<PathBuf> = dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| !a.exists())
            .map(Path::to_path_buf)
            .collect();
        let output = OutputDir { made, kept: false };
        let probe = write_file(dir, ".cmkscan-write-check", |_| Ok(()))?;
        std::fs::remove_file(&probe).map_err(|source| LocalError {
            path: probe,
            source,
        })?;
        Ok(output)
    }

    /// A report is in it: it stays.
    pub fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // `remove_dir` removes only an empty directory: anything written
        // there meanwhile, by this run or another, stays.
        for dir in &self.made {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
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
    fn an_output_dir_made_for_a_run_that_wrote_nothing_is_removed() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("reports").join("weekly");
        let output = OutputDir::prepare(&dir).unwrap();
        assert!(dir.is_dir());
        drop(output);
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);

        // Kept once a report is in it; and one that existed is never removed.
        let mut output = OutputDir::prepare(&dir).unwrap();
        output.keep();
        drop(output);
        assert!(dir.is_dir());
        drop(OutputDir::prepare(&dir).unwrap());
        assert!(dir.is_dir());

        // A file written meanwhile keeps the directory.
        std::fs::remove_dir(&dir).unwrap();
        let output = OutputDir::prepare(&dir).unwrap();
        std::fs::write(dir.join("findings.csv"), "a").unwrap();
        drop(output);
        assert!(dir.join("findings.csv").exists());
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
