//! The plan's directory: plan.md, plan.json, the scripts and the
//! templates, written complete or not at all. Everything is written into a
//! hidden staging directory first and moved into place at the end, so a
//! failure leaves the directory as it was. A directory that already holds
//! a plan is refused: a plan taken to a change board is never overwritten.
//!
//! When the directory holds the scan's own report.html, its failing rows
//! are linked to their sections of plan.md (`report::html::link_plan`),
//! and the linked page replaces it in the same move.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::alerts::TEMPLATES;
use super::model::{Action, Plan, PlanFile};
use super::render::render;
use crate::report::html::link_plan;

/// What a plan puts in its directory; their presence means a plan is there.
const PLAN_ENTRIES: [&str; 4] = ["plan.md", "plan.json", "scripts", "templates"];
const REPORT_HTML: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{dir} already holds a plan ({entry}): plan into another directory, or move that plan away first")]
    HoldsPlan { dir: String, entry: &'static str },
    #[error("{dir} is not a directory")]
    NotADirectory { dir: String },
    #[error("cannot write the plan into {dir}")]
    Io {
        dir: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot render plan.json")]
    Json(#[source] serde_json::Error),
}

impl OutputError {
    /// Errors the user fixes by choosing another directory (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OutputError::HoldsPlan { .. } | OutputError::NotADirectory { .. }
        )
    }
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// Every file, under the plan's directory.
    pub files: Vec<PathBuf>,
    /// Whether report.html beside the plan now links to it.
    pub report_linked: bool,
}

/// Writes `plan` into `dir`, complete or not at all.
pub fn write(plan: &Plan, dir: &Path) -> Result<Written, OutputError> {
    let io_err = |source| OutputError::Io {
        dir: dir.display().to_string(),
        source,
    };
    let exists = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => {
            return Err(OutputError::NotADirectory {
                dir: dir.display().to_string(),
            })
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => return Err(io_err(err)),
    };
    if exists {
        if let Some(entry) = PLAN_ENTRIES.iter().find(|e| dir.join(e).exists()) {
            return Err(OutputError::HoldsPlan {
                dir: dir.display().to_string(),
                entry,
            });
        }
    }
    let mut files = files(plan)?;
    let report = if exists {
        linked_report(plan, dir).map_err(io_err)?
    } else {
        None
    };
    let report_linked = report.is_some();
    if let Some(html) = report {
        files.push(PlanFile {
            path: REPORT_HTML.into(),
            text: html,
            executable: false,
        });
    }
    let stage = Stage::new(dir, exists).map_err(io_err)?;
    for file in &files {
        stage.write(file).map_err(io_err)?;
    }
    let written = files.iter().map(|f| dir.join(&f.path)).collect();
    stage.commit().map_err(io_err)?;
    Ok(Written {
        files: written,
        report_linked,
    })
}

/// plan.md, plan.json, the scripts, and the templates the steps use.
fn files(plan: &Plan) -> Result<Vec<PlanFile>, OutputError> {
    let mut files = vec![
        PlanFile {
            path: "plan.md".into(),
            text: render(plan),
            executable: false,
        },
        PlanFile {
            path: "plan.json".into(),
            text: serde_json::to_string_pretty(plan).map_err(OutputError::Json)? + "\n",
            executable: false,
        },
    ];
    let mut templates: Vec<&str> = plan
        .steps
        .iter()
        .flat_map(|s| s.templates.iter())
        .chain(plan.alternatives.iter().flat_map(|a| a.templates.iter()))
        .map(String::as_str)
        .collect();
    templates.sort();
    templates.dedup();
    for (path, text) in TEMPLATES {
        if templates.contains(&path) {
            files.push(PlanFile {
                path: path.into(),
                text: text.into(),
                executable: false,
            });
        }
    }
    for step in &plan.steps {
        files.extend(step.files.iter().cloned());
    }
    Ok(files)
}

/// report.html of the same scan in `dir`, with each planned or refused
/// failing row linked to its section; `None` when there is none.
fn linked_report(plan: &Plan, dir: &Path) -> io::Result<Option<String>> {
    let path = dir.join(REPORT_HTML);
    let html = match std::fs::read_to_string(&path) {
        Ok(html) => html,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    for step in &plan.steps {
        for row in &step.rows {
            if step.action != Action::Refused || row.status == crate::checks::catalog::Status::Fail
            {
                sections.insert(row.anchor.clone(), step.id.clone());
            }
        }
    }
    Ok(link_plan(&html, &plan.scan.scan_id, &sections))
}

/// Where the plan is written before it is moved into place.
struct Stage {
    dir: PathBuf,
    staging: PathBuf,
    /// The plan goes into an existing directory, entry by entry; otherwise
    /// the staging directory becomes the plan's directory.
    into_existing: bool,
    committed: bool,
}

impl Stage {
    fn new(dir: &Path, into_existing: bool) -> io::Result<Stage> {
        let unique = format!(".plan-partial-{}-{}", std::process::id(), fastrand::u64(..));
        let staging = if into_existing {
            dir.join(unique)
        } else {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            std::fs::create_dir_all(&parent)?;
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            parent.join(format!(".{name}{unique}"))
        };
        std::fs::create_dir(&staging)?;
        Ok(Stage {
            dir: dir.to_path_buf(),
            staging,
            into_existing,
            committed: false,
        })
    }

    fn write(&self, file: &PlanFile) -> io::Result<()> {
        let path = self.staging.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.text)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if file.executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// Moves the plan into place. Into an existing directory, each entry is
    /// renamed in turn (report.html last, its original kept until then);
    /// if one rename fails, those already made are undone.
    fn commit(mut self) -> io::Result<()> {
        if !self.into_existing {
            std::fs::rename(&self.staging, &self.dir)?;
            self.committed = true;
            return Ok(());
        }
        let mut entries: Vec<String> = std::fs::read_dir(&self.staging)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<_>>()?;
        // report.html last: everything it links to is then in place.
        entries.sort_by_key(|e| (e == REPORT_HTML, e.clone()));
        let original = self.staging.join(".report.html.original");
        let mut moved: Vec<&String> = Vec::new();
        let mut result = Ok(());
        for entry in &entries {
            let target = self.dir.join(entry);
            let step = if entry == REPORT_HTML {
                std::fs::rename(&target, &original)
                    .and_then(|()| std::fs::rename(self.staging.join(entry), &target))
            } else {
                std::fs::rename(self.staging.join(entry), &target)
            };
            if let Err(err) = step {
                result = Err(err);
                break;
            }
            moved.push(entry);
        }
        if result.is_err() {
            for entry in moved {
                let _ = std::fs::rename(self.dir.join(entry), self.staging.join(entry));
            }
            if original.exists() {
                let _ = std::fs::rename(&original, self.dir.join(REPORT_HTML));
            }
        }
        result
    }
}

impl Drop for Stage {
    /// The staging directory goes, whatever happened: once committed it
    /// holds at most the replaced report.html.
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> PlanFile {
        PlanFile {
            path: path.into(),
            text: text.into(),
            executable: false,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_move_that_fails_half_way_puts_everything_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.html"), "the report").unwrap();
        let stage = Stage::new(dir.path(), true).unwrap();
        for f in [
            file("plan.md", "md"),
            file("plan.json", "{}"),
            file("scripts/a/x.sh", "#!"),
            file("report.html", "linked"),
        ] {
            stage.write(&f).unwrap();
        }
        // Something appears at `scripts` meanwhile: that move fails, after
        // plan.json and plan.md moved.
        std::fs::create_dir_all(dir.path().join("scripts/other")).unwrap();
        assert!(stage.commit().is_err());
        assert_eq!(names(dir.path()), ["report.html", "scripts"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("report.html")).unwrap(),
            "the report"
        );
        assert_eq!(names(&dir.path().join("scripts")), ["other"]);
    }

    #[test]
    fn a_new_directory_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("plan");
        let stage = Stage::new(&target, false).unwrap();
        stage.write(&file("plan.md", "md")).unwrap();
        assert!(!target.exists(), "nothing is visible before the commit");
        drop(stage);
        assert_eq!(
            names(dir.path()),
            Vec::<String>::new(),
            "an abandoned stage is removed"
        );
        let stage = Stage::new(&target, false).unwrap();
        stage.write(&file("plan.md", "md")).unwrap();
        stage.commit().unwrap();
        assert_eq!(names(dir.path()), ["plan"]);
        assert_eq!(names(&target), ["plan.md"]);
    }
}
