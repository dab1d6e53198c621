//! Scan benchmark against the emulator: seeds an organisation of
//! `CMKSCAN_BENCH_ACCOUNTS` members (default 40), then runs the release
//! `cmkscan scan` binary at several `--concurrency` values and prints wall
//! time, AWS requests and the binary's peak memory, with ratios against
//! concurrency 1. The emulator (one Python process) is usually the
//! bottleneck, so the figures are an upper bound on cmkscan's own cost.
//!
//! Run: `cargo bench --bench scan` (builds the release binary first).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::sample_org::key_event;
use support::seed::{KeyState, Recording, TrailSpec, CIS_RULE};

const REGIONS: &str = "us-east-1,eu-west-1,ap-southeast-2";

struct Run {
    concurrency: usize,
    wall: Duration,
    requests: u64,
    rows: usize,
    peak_rss_kib: i64,
}

fn main() {
    let accounts: usize = std::env::var("CMKSCAN_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let emulator = runtime.block_on(support::Emulator::start());
    let seeding = Instant::now();
    runtime.block_on(seed(&emulator, accounts));
    println!(
        "seeded {accounts} member accounts + management in {:.1}s; regions {REGIONS}",
        seeding.elapsed().as_secs_f64()
    );

    let runs: Vec<Run> = [1, 4, 16]
        .into_iter()
        .map(|concurrency| run(&emulator, concurrency))
        .collect();
    println!();
    println!(
        "{:>11} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}",
        "concurrency", "wall s", "requests", "req/s", "rows", "peak RSS MiB", "speedup"
    );
    let base = runs[0].wall.as_secs_f64();
    for r in &runs {
        let wall = r.wall.as_secs_f64();
        println!(
            "{:>11} {:>9.2} {:>9} {:>9.0} {:>10} {:>12.1} {:>7.2}x",
            r.concurrency,
            wall,
            r.requests,
            r.requests as f64 / wall,
            r.rows,
            r.peak_rss_kib as f64 / 1024.0,
            base / wall
        );
    }
    let accounts_scanned = (accounts + 1) as f64;
    println!(
        "\nper account: {:.1} requests, {:.3}s at concurrency 16",
        runs[0].requests as f64 / accounts_scanned,
        runs[2].wall.as_secs_f64() / accounts_scanned
    );
}

async fn seed(emulator: &support::Emulator, accounts: usize) {
    emulator.create_organization().await;
    let management = emulator.management().await;
    let mut org_trail = TrailSpec::multi_region("org-trail", "us-east-1");
    org_trail.organization = true;
    org_trail.log_group = Some("org-trail-logs");
    management.trail(org_trail).await;
    management
        .cis_alarm_chain("us-east-1", "org-trail-logs")
        .await;
    for i in 0..accounts {
        let member = emulator.create_account(&format!("member-{i:03}")).await;
        member
            .recorder("us-east-1", Recording::AllSupported, true, true)
            .await;
        let topic = member.topic("eu-west-1", "alerts", true).await;
        member
            .rule(
                "eu-west-1",
                "kms-disable-delete",
                CIS_RULE,
                true,
                Some(&topic),
            )
            .await;
        for (n, state) in [KeyState::Enabled, KeyState::Disabled, KeyState::Enabled]
            .into_iter()
            .enumerate()
        {
            let key = member
                .key("us-east-1", Some(&format!("alias/app-{n}")), state)
                .await;
            if n == 1 {
                emulator.front.add_event(key_event(
                    &member.id,
                    "us-east-1",
                    "DisableKey",
                    &key,
                    Duration::from_secs(3600),
                ));
            }
        }
    }
}

fn run(emulator: &support::Emulator, concurrency: usize) -> Run {
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    // Reaped by wait4 below, which std's Child cannot see.
    #[allow(clippy::zombie_processes)]
    let child = support::cmkscan_command(emulator.endpoint())
        .args(["scan", "--regions", REGIONS, "--concurrency"])
        .arg(concurrency.to_string())
        .arg("--output-dir")
        .arg(out.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start cmkscan");
    let (status, peak_rss_kib) = wait_with_rusage(child.id());
    let wall = started.elapsed();
    assert!(status == 0, "cmkscan exited with status {status}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("findings.json")).expect("findings.json"),
    )
    .expect("report JSON");
    let requests = report["summary"]["api_calls"]
        .as_object()
        .map(|calls| calls.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    let rows = report["findings"].as_array().map_or(0, Vec::len);
    Run {
        concurrency,
        wall,
        requests,
        rows,
        peak_rss_kib,
    }
}

/// Waits for one child and returns (exit status, its own peak RSS in KiB).
/// wait4 reports the child alone, not the emulator (also our child).
fn wait_with_rusage(pid: u32) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we started
    // and reaps it, so std's Child is never waited on afterwards.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}
