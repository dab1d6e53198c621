//! `cmkscan plan` as a user runs it, without AWS: bad input is exit 2 with
//! what and where, the directory is complete or untouched, a plan beside a
//! report links its failing rows, plan.json follows its schema, and the
//! templates pass cfn-lint in every partition cmkscan supports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::evidence::{evaluate, fixture, plan_schema_errors};
use crate::support::cli::{
    assert_exit, assert_one_line_reason, cmkscan_command, output_within, read_json, text,
    ClosedPort,
};

const TIMEOUT: Duration = Duration::from_secs(120);

/// `cmkscan plan <args>` with an endpoint that refuses connections: a plan
/// from a local file must not need AWS.
pub fn plan(args: &[&str]) -> Output {
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.arg("plan").args(args);
    output_within(cmd, TIMEOUT)
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Everything under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn bad_input_is_exit_2_with_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"not\": \"facts\"}").unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let sample = fixture();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--facts",
                "/nonexistent/facts.json.gz",
                "--output-dir",
                arg(&out),
            ],
            "cannot read the facts file /nonexistent/facts.json.gz",
        ),
        (
            vec!["--facts", arg(&garbage), "--output-dir", arg(&out)],
            "not a cmkscan facts file",
        ),
    ];
    for (args, needle) in cases {
        let output = plan(&args);
        assert_exit(&output, 2);
        assert_one_line_reason(&output, needle);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    // What clap checks names the flag and the value.
    for (args, needle) in [
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&out),
                "--config-bucket",
                "Config_Logs",
            ],
            "--config-bucket",
        ),
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&out),
                "--alert-email",
                "security",
            ],
            "not an email address",
        ),
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&out),
                "--max-age",
                "0",
            ],
            "--max-age",
        ),
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&out),
                "--forwarders",
                "lambda",
            ],
            "--forwarders",
        ),
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&out),
                "--bogus",
            ],
            "--bogus",
        ),
        (
            vec!["--facts", "s3://bucket-name/", "--output-dir", arg(&out)],
            "no object key",
        ),
        (vec!["--output-dir", arg(&out)], "--facts"),
        // An output directory that is a file is refused before anything
        // is read, the file named.
        (
            vec!["--facts", arg(&sample), "--output-dir", arg(&not_a_dir)],
            "is a file, not a directory",
        ),
        (
            vec![
                "--facts",
                arg(&sample),
                "--output-dir",
                arg(&not_a_dir.join("plan")),
            ],
            "is a file, so",
        ),
    ] {
        let output = plan(&args);
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(needle),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(!out.exists());
    }
}

#[test]
fn evidence_past_max_age_is_refused_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    // The fixture's scan is of 2026-11-28, more than 7 days ago.
    let output = plan(&[
        "--facts",
        arg(&fixture()),
        "--output-dir",
        arg(&out),
        "--check",
    ]);
    assert_exit(&output, 0);
    let plan = read_json(&out.join("plan.json"));
    let steps = plan["steps"].as_array().unwrap();
    let fails: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s["rows"][0]["status"] == "FAIL")
        .collect();
    assert!(!fails.is_empty());
    for step in fails {
        assert_eq!(step["reason_code"], "evidence_expired", "{step:#}");
    }
    assert!(!out.join("scripts").exists());
    assert_eq!(plan_schema_errors(&out.join("plan.json")), "");
}

/// The fixture's report in a directory, and a plan beside it.
fn report_and_plan(dir: &Path, extra: &[&str]) -> Output {
    let facts = fixture();
    evaluate(&facts, dir);
    let mut args = vec![
        "--facts",
        arg(&facts),
        "--output-dir",
        arg(dir),
        "--max-age",
        "3650",
        "--check",
    ];
    args.extend_from_slice(extra);
    plan(&args)
}

#[test]
fn a_plan_beside_its_report_links_each_failing_row_and_follows_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let before = std::fs::read_to_string(dir.path().join("report.html")).ok();
    assert!(before.is_none());
    let output = report_and_plan(dir.path(), &["--config-bucket", "config-logs-bucket"]);
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("check: passed"), "{stdout}");
    assert!(
        stdout.contains("now links each planned or refused FAIL row"),
        "{stdout}"
    );
    let plan_json = dir.path().join("plan.json");
    assert_eq!(plan_schema_errors(&plan_json), "");
    let made = read_json(&plan_json);
    assert_eq!(made["check"]["passed"], true, "{:#}", made["check"]);
    let md = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let mut linked = 0;
    for step in made["steps"].as_array().unwrap() {
        for row in step["rows"].as_array().unwrap() {
            if row["status"] != "FAIL" {
                continue;
            }
            let anchor = row["anchor"].as_str().unwrap();
            assert!(md.contains(&format!("<a id=\"{anchor}\"></a>")), "{anchor}");
            let link = format!(
                "<a class=\"plan\" href=\"plan.md#{anchor}\">plan {}</a>",
                step["id"].as_str().unwrap()
            );
            assert!(html.contains(&link), "no {link} in report.html");
            linked += 1;
        }
    }
    assert!(linked > 5, "{linked} rows linked");
    assert!(
        !html.contains("<!--plan:f-"),
        "every FAIL row of the fixture is planned or refused"
    );
    // Every file plan.json names is there, scripts executable.
    for step in made["steps"].as_array().unwrap() {
        if let Some(scripts) = step["scripts"].as_object() {
            for path in scripts.values() {
                let path = dir.path().join(path.as_str().unwrap());
                let mode = std::os::unix::fs::PermissionsExt::mode(
                    &std::fs::metadata(&path).unwrap().permissions(),
                );
                assert_eq!(mode & 0o111, 0o111, "{} is not executable", path.display());
            }
        }
        for template in step["templates"].as_array().unwrap() {
            assert!(dir.path().join(template.as_str().unwrap()).is_file());
        }
    }
    // No staging directory is left behind.
    assert!(
        !tree(dir.path()).iter().any(|e| e.contains("partial")),
        "{:?}",
        tree(dir.path())
    );

    // A second plan into the same directory is refused and changes nothing.
    let files = tree(dir.path());
    let md_before = std::fs::read(dir.path().join("plan.md")).unwrap();
    let output = plan(&[
        "--facts",
        arg(&fixture()),
        "--output-dir",
        arg(dir.path()),
        "--max-age",
        "3650",
    ]);
    assert_exit(&output, 2);
    assert_one_line_reason(&output, "already holds a plan (plan.md)");
    assert_eq!(tree(dir.path()), files);
    assert_eq!(
        std::fs::read(dir.path().join("plan.md")).unwrap(),
        md_before
    );
}

#[test]
fn a_directory_that_cannot_be_made_is_exit_1_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    // A name longer than any file system takes (NAME_MAX is 255 bytes):
    // it passes the flag's check (its parent is a directory) and fails
    // only when the directory is made, even for root.
    let out = dir.path().join("p".repeat(300));
    let output = plan(&[
        "--facts",
        arg(&fixture()),
        "--output-dir",
        arg(&out),
        "--max-age",
        "3650",
    ]);
    assert_exit(&output, 1);
    assert_one_line_reason(&output, "cannot write the plan into");
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cfn_lint() -> PathBuf {
    let path = project_root().join(".tools/venv/bin/cfn-lint");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-tools.sh to install cfn-lint",
        path.display()
    );
    path
}

/// One region of each partition `ids::partition_of` knows: aws, aws-cn,
/// aws-us-gov, aws-iso, aws-iso-b, aws-iso-f, aws-iso-e.
const ONE_REGION_PER_PARTITION: [&str; 7] = [
    "us-east-1",
    "cn-north-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "us-isof-south-1",
    "eu-isoe-west-1",
];

#[test]
fn the_plan_s_templates_pass_cfn_lint_in_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let output = report_and_plan(dir.path(), &[]);
    assert_exit(&output, 0);
    let written: Vec<PathBuf> = std::fs::read_dir(dir.path().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!written.is_empty());
    // What a plan writes is the templates of src/plan/templates, byte for
    // byte: lint those, all of them.
    let sources = project_root().join("src/plan/templates");
    for path in &written {
        let source = sources.join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(path).unwrap(),
            std::fs::read(&source).unwrap()
        );
    }
    let mut templates: Vec<PathBuf> = std::fs::read_dir(&sources)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    templates.sort();
    assert_eq!(templates.len(), 3, "{templates:?}");
    let mut cmd = Command::new(cfn_lint());
    cmd.env_clear()
        .arg("--regions")
        .args(ONE_REGION_PER_PARTITION)
        .arg("--")
        .args(&templates);
    let output = output_within(cmd, TIMEOUT);
    assert!(
        output.status.success(),
        "cfn-lint: {}\n{}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}
