//! The first run, as a newcomer meets it: progress while a scan runs (a
//! live line on a terminal, log lines anywhere else), colour that follows
//! the terminal and `NO_COLOR`, errors that name their cause in one line,
//! no directory left by a run that wrote no report, clean stops on Ctrl-C,
//! SIGTERM and `--deadline`, and the exit codes a pipeline gates on
//! (`--fail-on`, `diff --exit-code`). The terminal behaviours run the
//! binary on a pseudo-terminal (`support::terminal`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::evidence::fixture;
use crate::support::cli::{
    assert_exit, assert_one_line_reason, assert_same_files, cmkscan_command, describe,
    evaluate_offline, read_json, run, run_within, scan_args, text, ClosedPort, REPORT_FILES,
};
use crate::support::front::{Fault, Match, Trigger};
use crate::support::terminal::{has_escape, OnTerminal};
use crate::support::{Emulator, MANAGEMENT_ACCOUNT, REGION};

const SHORT: Duration = Duration::from_secs(30);

/// Runs `cmd` on a pseudo-terminal to its end.
async fn on_terminal(cmd: Command) -> (ExitStatus, String) {
    tokio::task::spawn_blocking(move || OnTerminal::start(cmd).finish(Duration::from_secs(120)))
        .await
        .expect("terminal runner")
}

/// An organisation of the management account and one member, whose
/// `ListKeys` in the scanned region answers after `delay`: the scan lasts
/// at least that long.
async fn slow_org(delay: Duration) -> (Emulator, String) {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    emulator.front.inject(
        Match::api("ListKeys").and_account(&member.id),
        Fault::Delay(delay),
        Trigger::Always,
    );
    (emulator, member.id)
}

/// The lines as the terminal shows them: of what was drawn over with a
/// carriage return, the last text.
fn terminal_lines(shown: &str) -> Vec<String> {
    shown
        .split('\n')
        .map(|line| {
            line.split('\r')
                .rfind(|part| !part.trim().is_empty())
                .unwrap_or_default()
                .trim_end()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ------------------------------------------------------------ progress

/// On a terminal the live line is drawn (with carriage returns) on stderr;
/// piped, and with JSON logs, there is no such line, only an INFO line
/// every `--progress-interval`.
#[tokio::test(flavor = "multi_thread")]
async fn progress_is_drawn_on_a_terminal_and_logged_when_piped() {
    let (emulator, _) = slow_org(Duration::from_secs(3)).await;
    let out_dir = tempfile::tempdir().unwrap();

    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    let (status, shown) = on_terminal(cmd).await;
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("\rscanning · accounts "),
        "no live progress line:\n{shown}"
    );
    assert!(shown.contains("account-regions "), "{shown}");
    assert!(shown.contains(" requests · "), "{shown}");
    // Taken away before the summary: no line ends with the progress text.
    assert!(shown.contains("\ncheck "), "{shown}");

    // Piped: no live line; a logged one every second.
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--progress-interval", "1s"]);
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains('\r'), "{stderr}");
    assert!(!stderr.contains("scanning · "), "{stderr}");
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" INFO ") && l.contains(": progress "))
        .collect();
    assert!(!logged.is_empty(), "no progress log line: {stderr}");
    assert!(
        logged[0].contains("accounts_done=") && logged[0].contains("requests="),
        "{stderr}"
    );

    // JSON logs: every line an object, progress among them, no live line.
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["--log-format", "json"]);
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--progress-interval", "1s"]);
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    let mut progress = 0;
    for line in stderr.lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{stderr}"));
        if value["fields"]["message"] == "progress" {
            progress += 1;
            assert!(value["fields"]["requests"].is_u64(), "{line}");
        }
    }
    assert!(progress > 0, "{stderr}");

    // JSON logs on a terminal: still no live line.
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["--log-format", "json"]);
    scan_args(&mut cmd, out_dir.path());
    let (status, shown) = on_terminal(cmd).await;
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(!shown.contains("scanning · "), "{shown}");
}

// --------------------------------------------------------------- colour

/// A scan of an organisation with FAIL rows (moto's accounts have no
/// trail), shown on a terminal with the given environment and flags.
async fn coloured_run(emulator: &Emulator, env: &[(&str, &str)], args: &[&str]) -> String {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(args);
    scan_args(&mut cmd, out_dir.path());
    cmd.envs(env.iter().copied());
    let (status, shown) = on_terminal(cmd).await;
    assert_eq!(status.code(), Some(0), "{shown}");
    shown
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_follows_the_terminal_no_color_and_the_flag() {
    let emulator = Emulator::with_organization().await;
    // A terminal: coloured log lines and a red FAIL count.
    let shown = coloured_run(&emulator, &[], &[]).await;
    assert!(shown.contains("\u{1b}[1;31m"), "{shown}");
    // NO_COLOR, or --color never: not one escape sequence, live line included.
    for (env, args) in [
        (&[("NO_COLOR", "1")][..], &[][..]),
        (&[][..], &["--color", "never"][..]),
    ] {
        let shown = coloured_run(&emulator, env, args).await;
        assert!(!has_escape(&shown), "{env:?} {args:?}:\n{shown:?}");
        assert!(shown.contains("total"), "{shown}");
    }
    // An empty NO_COLOR does not count (no-color.org).
    let shown = coloured_run(&emulator, &[("NO_COLOR", "")], &[]).await;
    assert!(has_escape(&shown), "{shown:?}");

    // Piped: no colour, unless --color always (which beats NO_COLOR).
    let out_dir = tempfile::tempdir().unwrap();
    for (args, coloured) in [(&[][..], false), (&["--color", "always"][..], true)] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        cmd.args(args).env("NO_COLOR", "1");
        scan_args(&mut cmd, out_dir.path());
        let output = run(cmd).await;
        assert_exit(&output, 0);
        let stdout = text(&output.stdout);
        assert_eq!(has_escape(&stdout), coloured, "{args:?}: {stdout:?}");
        let total = stdout
            .lines()
            .find(|l| l.starts_with("total"))
            .expect("a total row");
        // Only the FAIL and ERROR counts are coloured, and only non-zero ones.
        assert_eq!(total.contains("\u{1b}[1;31m"), coloured, "{total:?}");
        assert!(
            !total.contains("\u{1b}[1;33m"),
            "ERROR 0 coloured: {total:?}"
        );
    }
}

// ------------------------------------------------- errors, in one line

/// A runner environment without the emulator's region and credentials.
fn bare(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_profile_or_region_is_named_before_any_request() {
    let emulator = Emulator::with_organization().await;
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("config");
    std::fs::write(&config, "[profile dev]\nregion = eu-west-1\n").unwrap();
    let out_dir = scratch.path().join("reports");
    emulator.front.clear_log();
    for (env, args, needle) in [
        (
            &[("AWS_PROFILE", "prod")][..],
            &[][..],
            "no AWS profile named \"prod\" (from AWS_PROFILE)",
        ),
        (
            &[][..],
            &["--profile", "prod"][..],
            "no AWS profile named \"prod\" (from --profile)",
        ),
        (
            &[][..],
            &[][..],
            "no AWS region for the runner: pass --region",
        ),
    ] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        bare(&mut cmd)
            .env("AWS_CONFIG_FILE", &config)
            .envs(env.iter().copied())
            .args(["scan", "--output-dir"])
            .arg(&out_dir)
            .args(args);
        let output = run_within(cmd, SHORT).await;
        assert_exit(&output, 2);
        let reason = assert_one_line_reason(&output, needle);
        if needle.contains("profile") {
            assert!(reason.contains("(which define dev)"), "{reason}");
        }
        assert!(!out_dir.exists(), "{needle}: the output directory was made");
    }
    assert!(
        emulator.front.log().is_empty(),
        "{:?}",
        emulator.front.log()
    );

    // The profile's region, --region, and --regions alone: each a region,
    // said with where it came from.
    for (args, from) in [
        (
            &["--profile", "dev"][..],
            "runner region eu-west-1 (from the region of profile \"dev\")",
        ),
        (
            &["--region", "us-east-1"][..],
            "runner region us-east-1 (from --region)",
        ),
        (
            &[][..],
            "runner region us-east-1 (from the first of --regions",
        ),
    ] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        cmd.env_remove("AWS_REGION")
            .env("AWS_CONFIG_FILE", &config)
            .args(["scan", "--regions", "us-east-1", "--output-dir"])
            .arg(&out_dir)
            .args(args);
        let output = run(cmd).await;
        assert_exit(&output, 0);
        assert!(
            text(&output.stderr).contains(from),
            "{args:?}: {}",
            describe(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_are_one_line_in_text_and_kept_whole_in_json() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    scan_args(&mut cmd, out_dir.path());
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "no AWS credentials found");
    assert!(reason.contains("AWS_ACCESS_KEY_ID"), "{reason}");
    // Not the SDK's paragraph of providers, nor its WARN lines.
    assert!(!reason.contains("Attempted:"), "{reason}");
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        2,
        "the region line and the reason: {stderr}"
    );

    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["--log-format", "json"]);
    scan_args(&mut cmd, out_dir.path());
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    let last: Value = serde_json::from_str(stderr.lines().last().expect("a line")).unwrap();
    assert_eq!(last["fields"]["message"], "cmkscan failed", "{last}");
    assert!(
        last["fields"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no credentials found in chain")),
        "{last}"
    );
}

/// A host name that does not resolve (a mistyped region or endpoint) is
/// not retried: it fails at once, naming the endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_does_not_resolve_fails_at_once_naming_it() {
    let out_dir = tempfile::tempdir().unwrap();
    // RFC 2606: .invalid never resolves.
    let mut cmd = cmkscan_command("http://cmkscan-test.invalid:4566");
    cmd.env_remove("AWS_MAX_ATTEMPTS");
    scan_args(&mut cmd, out_dir.path());
    let started = Instant::now();
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 1);
    assert_one_line_reason(
        &output,
        "the endpoint http://cmkscan-test.invalid:4566 does not resolve (DNS): check AWS_ENDPOINT_URL",
    );
    // Eight attempts with their backoffs took 51 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_values_are_refused_in_words() {
    let closed = ClosedPort::bind();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let file = file.display().to_string();
    let under = format!("{file}/reports");
    for (args, env, needle) in [
        (
            &["--concurrency", "0"][..],
            &[][..],
            "must be at least 1: it is how many accounts are scanned at once",
        ),
        (&["--output-dir", &file], &[], "is a file, not a directory"),
        (&["--output-dir", &under], &[], "is a file, so"),
        (&["--deadline", "90"], &[], "give 90 a unit"),
        (&[], &[("CMKSCAN_DEADLINE", "soon")], "--deadline"),
    ] {
        let mut cmd = cmkscan_command(&closed.endpoint);
        cmd.arg("scan").args(args).envs(env.iter().copied());
        let output = run_within(cmd, SHORT).await;
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(needle),
            "{args:?}: {}",
            describe(&output)
        );
    }
}

// ------------------------------------------------------------- debris

/// A run that fails before its report leaves no directory it made.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_makes_no_output_directory() {
    let emulator = Emulator::with_organization().await;
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("reports").join("weekly");
    let missing = scratch.path().join("exceptions.yaml");
    let missing = missing.display().to_string();
    for (args, env_removed, code) in [
        (&["--regions", "us-east-1,mars-north-1"][..], &[][..], 2),
        (&["--exceptions", &missing][..], &[][..], 2),
        (&["--regions", "all"][..], &["AWS_REGION"][..], 2),
        (
            &[][..],
            &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"][..],
            1,
        ),
    ] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        scan_args(&mut cmd, &out_dir);
        cmd.args(args);
        for name in env_removed {
            cmd.env_remove(name);
        }
        let output = run(cmd).await;
        assert_exit(&output, code);
        assert_eq!(
            files_in(scratch.path()),
            Vec::<String>::new(),
            "{args:?} {env_removed:?}: {}",
            describe(&output)
        );
    }
}

// ---------------------------------------------------- stopping cleanly

const REPORT: [&str; 5] = [
    "findings.csv",
    "findings.json",
    "findings.ocsf.json",
    "report.html",
    "facts.json.gz",
];

fn read_report(dir: &Path) -> Vec<Vec<u8>> {
    REPORT
        .iter()
        .map(|name| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// Waits until the front has seen a request of `api` about `account`.
async fn until_requested(emulator: &Emulator, api: &str, account: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !emulator
        .front
        .log()
        .iter()
        .any(|r| r.api == api && r.account == account)
    {
        assert!(
            Instant::now() < deadline,
            "no {api} request in {account} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ctrl-C on the terminal mid-scan: the run stops, removes its `.partial`
/// files, says what was interrupted and that no report was written, exits
/// 130; the report already in the directory is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_scan_exits_130_leaving_the_earlier_report() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    assert_exit(&run(cmd).await, 0);
    let before = read_report(out_dir.path());

    emulator.front.inject(
        Match::api("ListKeys").and_account(&member.id),
        Fault::Delay(Duration::from_secs(120)),
        Trigger::Always,
    );
    emulator.front.clear_log();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--color", "never"]);
    let terminal = OnTerminal::start(cmd);
    until_requested(&emulator, "ListKeys", &member.id).await;
    // The management account done, the member stalled.
    let terminal = tokio::task::spawn_blocking(move || {
        terminal.wait_for("accounts_done=1", SHORT);
        terminal
    })
    .await
    .unwrap();
    let mut terminal = terminal;
    terminal.ctrl_c();
    let (status, shown) = tokio::task::spawn_blocking(move || terminal.finish(SHORT))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130), "{shown}");
    let lines = terminal_lines(&shown);
    let last = lines.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("cmkscan: interrupted by SIGINT while scanning (1 of 2 accounts done)")
            && last.contains("no report was written")
            && last.contains(&format!("kms:ListKeys in {} {REGION}", member.id)),
        "{shown}"
    );
    let mut report: Vec<String> = REPORT.iter().map(|name| name.to_string()).collect();
    report.sort();
    assert_eq!(files_in(out_dir.path()), report, "a .partial file is left");
    assert!(
        read_report(out_dir.path()) == before,
        "the earlier report changed"
    );
}

/// SIGTERM, what ECS sends to stop a task: the same clean stop, exit 143,
/// and a new directory is not left behind.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_scan_exits_143_and_leaves_nothing() {
    let (emulator, member) = slow_org(Duration::from_secs(120)).await;
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("reports");
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, &out_dir);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start cmkscan");
    until_requested(&emulator, "ListKeys", &member).await;
    // SAFETY: kill sends a signal to the child's pid; nothing else.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("wait for cmkscan");
    assert_exit(&output, 143);
    let reason = assert_one_line_reason(&output, "interrupted by SIGTERM while scanning");
    assert!(reason.contains("no report was written"), "{reason}");
    assert!(!out_dir.exists(), "{:?}", files_in(&out_dir));
}

/// `--deadline`: a stalled scan stops when it passes, names what was still
/// running (the account, region and API in flight), writes nothing that
/// looks complete, and exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_stops_a_stalled_scan_naming_what_was_running() {
    let (emulator, member) = slow_org(Duration::from_secs(120)).await;
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("reports");
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, &out_dir);
    cmd.args(["--deadline", "4s"]);
    let started = Instant::now();
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(
        &output,
        "stopped at the --deadline of 4s while scanning (1 of 2 accounts done)",
    );
    assert!(reason.contains("no report was written"), "{reason}");
    assert!(
        reason.contains(&format!("1 account(s) in flight: {member} (member)")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("kms:ListKeys in {member} {REGION}")),
        "{reason}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!out_dir.exists(), "{:?}", files_in(&out_dir));

    // From the environment, as the ECS task passes it.
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, &out_dir);
    cmd.env("CMKSCAN_DEADLINE", "3s");
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 1);
    assert_one_line_reason(&output, "stopped at the --deadline of 3s");
}

// ----------------------------------------------- the organisation's ids

#[tokio::test(flavor = "multi_thread")]
async fn accounts_outside_the_organisation_are_usage_errors_naming_them() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    let out_dir = tempfile::tempdir().unwrap();
    emulator.front.clear_log();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--accounts",
        &format!("{},111122223333,{MANAGEMENT_ACCOUNT}", member.id),
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 2);
    let reason = assert_one_line_reason(
        &output,
        "--accounts names account(s) not in this organization: 111122223333",
    );
    assert!(!reason.contains(&member.id), "{reason}");
    assert_eq!(
        emulator.front.requests("AssumeRole"),
        0,
        "an account was scanned"
    );
    assert_eq!(files_in(out_dir.path()), Vec::<String>::new());

    // All in the organisation: scanned.
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--accounts", &member.id]);
    assert_exit(&run(cmd).await, 0);
}

// ------------------------------------------------------ exit code 3

/// The fixture's report by status, from its `findings.json`.
fn by_status(dir: &Path) -> Value {
    read_json(&dir.join("findings.json"))["summary"]["by_status"].clone()
}

fn accept_everything(dir: &Path) -> PathBuf {
    let path = dir.join("accept-all.yaml");
    let expires =
        cmkscan::format_date(cmkscan::today_utc().saturating_add(time::Duration::days(30)));
    std::fs::write(
        &path,
        format!(
            "exceptions:\n  - id: all\n    accounts: [\"*\"]\n    regions: [\"*\"]\n    \
             checks: [\"*\"]\n    reason: the test accepts every row\n    \
             approved_by: test@example.com\n    expires: {expires}\n"
        ),
    )
    .unwrap();
    path
}

/// `--fail-on` exits 3 exactly when unaccepted rows at or worse than its
/// status exist (FAIL for fail; FAIL or ERROR for error), after writing
/// the report; rows an exception accepts do not count, ERROR rows are
/// never accepted.
#[tokio::test(flavor = "multi_thread")]
async fn fail_on_exits_3_exactly_when_rows_that_bad_are_not_accepted() {
    let scratch = tempfile::tempdir().unwrap();
    let plain = scratch.path().join("plain");
    let output = evaluate_offline(&fixture(), &plain, &[]).await;
    assert_exit(&output, 0);
    let counts = by_status(&plain);
    assert!(
        counts["FAIL"].as_u64() > Some(0) && counts["ERROR"].as_u64() > Some(0),
        "{counts}"
    );
    let accept = accept_everything(scratch.path());
    let accept = accept.display().to_string();
    // Every FAIL accepted; the ERROR rows never are.
    let errors_only = format!(
        "--fail-on error: {} ERROR rows that no exception accepts",
        counts["ERROR"]
    );
    for (args, code, reason) in [
        (&["--fail-on", "fail"][..], 3, Some("--fail-on fail: ")),
        (&["--fail-on", "error"][..], 3, Some("--fail-on error: ")),
        (&["--fail-on", "fail", "--exceptions", &accept][..], 0, None),
        (
            &["--fail-on", "error", "--exceptions", &accept][..],
            3,
            Some(errors_only.as_str()),
        ),
    ] {
        let out = scratch
            .path()
            .join(format!("out-{}", args.join("-").replace('/', "_")));
        let output = evaluate_offline(&fixture(), &out, args).await;
        assert_exit(&output, code);
        // The report is written either way, and the same.
        assert!(out.join("findings.csv").exists(), "{args:?}");
        if let Some(reason) = reason {
            assert_one_line_reason(&output, reason);
        }
    }
    let failed = evaluate_offline(
        &fixture(),
        &scratch.path().join("f"),
        &["--fail-on", "fail"],
    )
    .await;
    assert_one_line_reason(
        &failed,
        &format!(
            "--fail-on fail: {} FAIL rows that no exception accepts",
            counts["FAIL"]
        ),
    );
    assert_same_files(&plain, &scratch.path().join("f"), &REPORT_FILES);
}

/// A scan with `--fail-on` exits 3 only after its report is uploaded.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_failing_its_gate_still_uploads_the_report() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--fail-on", "fail", "--s3-uri", "s3://reports-bucket/gated"]);
    emulator.front.clear_log();
    let output = run(cmd).await;
    assert_exit(&output, 3);
    assert_one_line_reason(&output, "--fail-on fail: ");
    assert_eq!(
        emulator.front.requests("PutObject"),
        5,
        "{}",
        describe(&output)
    );
    assert!(text(&output.stdout).contains("uploaded s3://reports-bucket/gated/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_exit_code_is_3_exactly_when_rows_changed() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    assert_exit(&evaluate_offline(&fixture(), &out, &[]).await, 0);
    let report = out.join("findings.json");
    let mut changed = read_json(&report);
    let row = &mut changed["findings"][0]["status"];
    *row = Value::from(if *row == "PASS" { "FAIL" } else { "PASS" });
    let changed_path = scratch.path().join("changed.json");
    std::fs::write(&changed_path, serde_json::to_vec(&changed).unwrap()).unwrap();
    let closed = ClosedPort::bind();
    for (new, exit_code, code) in [
        (&report, true, 0),
        (&changed_path, true, 3),
        (&changed_path, false, 0),
    ] {
        let mut cmd = cmkscan_command(&closed.endpoint);
        cmd.arg("diff").arg(&report).arg(new);
        if exit_code {
            cmd.arg("--exit-code");
        }
        let output = run_within(cmd, SHORT).await;
        assert_exit(&output, code);
        if code == 3 {
            assert_one_line_reason(&output, "1 row(s) changed (--exit-code)");
            assert!(
                text(&output.stdout).contains("1 changed"),
                "{}",
                describe(&output)
            );
        }
    }
}

// ------------------------------------------- consistent subcommands

/// A missing input file is exit 2 in every subcommand, and a `--previous`
/// named explicitly that cannot be read stops the scan before any request.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_input_file_is_exit_2_everywhere() {
    let emulator = Emulator::with_organization().await;
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("missing.json");
    let missing = missing.display().to_string();
    let out = scratch.path().join("out");
    let out = out.display().to_string();
    let good = scratch.path().join("good");
    assert_exit(&evaluate_offline(&fixture(), &good, &[]).await, 0);
    let good = good.join("findings.json").display().to_string();
    let facts = fixture().display().to_string();
    emulator.front.clear_log();
    for args in [
        vec!["scan", "--output-dir", &out, "--previous", &missing],
        vec!["scan", "--output-dir", &out, "--exceptions", &missing],
        vec!["evaluate", &missing, "--output-dir", &out],
        vec!["evaluate", "--facts", &missing, "--output-dir", &out],
        vec![
            "evaluate",
            &facts,
            "--previous",
            &missing,
            "--output-dir",
            &out,
        ],
        vec![
            "evaluate",
            &facts,
            "--exceptions",
            &missing,
            "--output-dir",
            &out,
        ],
        vec!["diff", &missing, &good],
        vec!["diff", &good, &missing],
    ] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        cmd.args(&args);
        let output = run_within(cmd, SHORT).await;
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(&missing),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(!Path::new(&out).join("findings.csv").exists(), "{args:?}");
    }
    assert!(
        emulator.front.log().is_empty(),
        "{:?}",
        emulator.front.log()
    );
}

/// `evaluate FACTS` is `evaluate --facts FACTS`; and its summary speaks of
/// the scan's duration and requests as the scan's, and of no `--s3-uri`.
#[tokio::test(flavor = "multi_thread")]
async fn evaluate_takes_facts_positionally_and_tells_the_scan_apart() {
    let scratch = tempfile::tempdir().unwrap();
    let by_flag = scratch.path().join("flag");
    let flagged = evaluate_offline(&fixture(), &by_flag, &[]).await;
    assert_exit(&flagged, 0);
    let by_position = scratch.path().join("position");
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.arg("evaluate")
        .arg(fixture())
        .arg("--output-dir")
        .arg(&by_position);
    let output = run_within(cmd, SHORT).await;
    assert_exit(&output, 0);
    assert_same_files(&by_flag, &by_position, &REPORT_FILES);
    let stdout = text(&output.stdout);
    assert!(!stdout.contains("--s3-uri"), "{stdout}");
    assert!(!stdout.contains("\nduration: "), "{stdout}");
    assert!(
        stdout.contains("\nthe scan (from its evidence): duration "),
        "{stdout}"
    );

    // Both at once is a conflict.
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.arg("evaluate")
        .arg(fixture())
        .arg("--facts")
        .arg(fixture());
    assert_exit(&run_within(cmd, SHORT).await, 2);
}

/// `evaluate --previous s3://…` reads the report the scan compared with,
/// as its evidence names it, with one S3 request, and reproduces the
/// scan's report and changes byte for byte.
#[tokio::test(flavor = "multi_thread")]
async fn evaluate_reads_the_previous_report_from_s3_with_one_request() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let scratch = tempfile::tempdir().unwrap();
    for week in ["one", "two"] {
        let mut cmd = cmkscan_command(emulator.endpoint());
        scan_args(&mut cmd, &scratch.path().join(week));
        cmd.args(["--s3-uri", "s3://reports-bucket/weekly"]);
        assert_exit(&run(cmd).await, 0);
        // Scan ids are made of seconds: the second scan must be later.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let two = scratch.path().join("two");
    let facts = crate::support::cli::read_facts_json(&two);
    let source = facts["previous_report"]["source"]
        .as_str()
        .expect("the scan compared with week one")
        .to_string();
    assert!(
        source.starts_with("s3://reports-bucket/weekly/"),
        "{source}"
    );

    emulator.front.clear_log();
    let again = scratch.path().join("again");
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.arg("evaluate")
        .arg(two.join("facts.json.gz"))
        .args(["--previous", &source, "--output-dir"])
        .arg(&again);
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let mut files = REPORT_FILES.to_vec();
    files.push("changes.csv");
    assert_same_files(&two, &again, &files);
    let requests: Vec<String> = emulator.front.log().into_iter().map(|r| r.api).collect();
    assert_eq!(requests, vec!["GetObject"], "{}", describe(&output));
}

// ----------------------------------------------------------------- help

#[tokio::test(flavor = "multi_thread")]
async fn scan_help_is_grouped_with_examples_and_exit_codes() {
    let closed = ClosedPort::bind();
    let help = |flag: &'static str| {
        let mut cmd = cmkscan_command(&closed.endpoint);
        cmd.args(["scan", flag]);
        run_within(cmd, SHORT)
    };
    let short: Output = help("-h").await;
    let long: Output = help("--help").await;
    assert_exit(&short, 0);
    assert_exit(&long, 0);
    let (short, long) = (text(&short.stdout), text(&long.stdout));
    for heading in [
        "Scope:",
        "Access:",
        "Run:",
        "Outputs:",
        "Integrations:",
        "Logging:",
    ] {
        assert!(
            short.contains(&format!("\n{heading}\n")),
            "{heading}: {short}"
        );
        assert!(
            long.contains(&format!("\n{heading}\n")),
            "{heading}: {long}"
        );
    }
    assert!(
        short.contains("Examples and exit codes: cmkscan scan --help"),
        "{short}"
    );
    for part in [
        "Examples:",
        "Exit codes:",
        "  3    --fail-on",
        "  130  ",
        "--deadline 6h",
    ] {
        assert!(long.contains(part), "{part}: {long}");
        assert!(
            !short.contains(part) || part == "--deadline 6h",
            "{part}: {short}"
        );
    }
    assert!(
        short.len() * 2 < long.len(),
        "-h is not shorter than --help"
    );
}
