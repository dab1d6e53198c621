//! A whole run, from its inputs to a delivered report: what `cmkscan scan`
//! and `cmkscan evaluate` do once their command line is read. A scan reads
//! its exceptions file and finds the previous report before its first
//! request, scans ([`crate::scan`]), compares, writes the report locally,
//! then delivers it ([`deliver`]); `evaluate` makes the same report from
//! saved facts, with the same evaluation ([`crate::findings::evaluate`])
//! and the same comparison; `plan` turns saved facts into a plan
//! ([`crate::plan`]). Each returns a typed outcome; the binary only maps
//! it to an exit code.

mod deliver;
mod evaluate;
mod gate;
mod plan;
mod scan;
mod stop;

use std::fmt;
use std::io::Write;
use std::path::Path;

pub use deliver::{
    Delivery, DeliveryFailed, HeartbeatFailed, NotificationFailed, SecurityHubFailed, Step,
    UploadFailed, Written,
};
pub use evaluate::{evaluate, EvaluateError, EvaluateJob, EvaluateRun};
pub use gate::Gate;
pub use plan::{plan, PlanError, PlanJob};
pub use scan::{scan, ScanJob, ScanJobError, ScanRun, SecurityHubJob, Upload};
pub use stop::{format_duration, Signal, StopCause, Stopped};

use crate::findings::{KeyActivity, Telling};
use crate::report::html::HtmlPage;
use crate::report::Report;
use crate::sink::{self, LocalError, LocalFile};

/// Writes the report into `dir` and prints the summary and the changes:
/// this happens before any upload, so a failed upload loses nothing.
fn write_local(
    report: &Report<'_>,
    key_activity: &KeyActivity,
    dir: &Path,
    out: &mut dyn Write,
    telling: Telling,
) -> Result<Vec<LocalFile>, LocalError> {
    let mut files = sink::write_report(dir, report)?;
    files.push(sink::write_html(
        dir,
        &HtmlPage {
            report,
            activity: key_activity,
        },
    )?);
    let changes = if telling.re_evaluation {
        report.changes.render_for_evaluate()
    } else {
        report.changes.render()
    };
    say(
        out,
        format_args!("{}{changes}", report.summary.tell(telling)),
    );
    Ok(files)
}

fn print_written(files: &[LocalFile], out: &mut dyn Write) {
    for file in files {
        say(out, format_args!("wrote {}\n", file.path.display()));
    }
}

/// What a run tells the person running it, on `out` (stdout for the
/// binary). Output that cannot be written is no reason to fail a run whose
/// report is written.
fn say(out: &mut dyn Write, text: fmt::Arguments<'_>) {
    let _ = out.write_fmt(text);
}
