//! Organisation-scale benchmark. Seeds the emulator with a synthetic
//! organisation (a realistic mix per account × region: trails, recorders,
//! 0–20 keys in various states, alarm chains, rules, key events), then runs
//! the release `cmkscan scan` binary against it three ways:
//!
//! - **raw**: straight to the emulator, no latency, no quotas. Measures the
//!   scanner's own cost: CPU time, peak RSS, requests.
//! - **paced**: through [`support::pace`], which adds a round-trip latency to
//!   every request and refuses requests over AWS's quotas (LookupEvents 2/s
//!   per account × region, the Organizations listing 1/s) with throttling
//!   errors. Prints
//!   the wall time against the lower bound that the quotas, latencies and
//!   `--concurrency` allow (see [`lower_bound`]).
//! - **replay**: paced the same way, but the pacer answers from what the
//!   emulator said in the raw run (recorded there), so the emulator's own
//!   speed (a few hundred requests a second) is out of the measurement.
//! - **listing**: paced the same way, with `--accounts` naming no account:
//!   the scan walks the whole OU tree and scans nothing, so its wall time
//!   and Organizations requests are the listing's. Run alone, it seeds the
//!   members without their resources and skips the warm-up scan.
//! - **synthetic**: the largest organisations, which the emulator cannot
//!   hold (`scripts/bench.sh large`: 10,000 members × 17 regions).
//!   `CMKSCAN_BENCH_TEMPLATES` members are seeded and scanned for real (the
//!   warm-up, then a recorded raw scan: "template"), then a replay, paced
//!   the same way, of an organisation of `CMKSCAN_BENCH_ACCOUNTS` members
//!   in a synthetic OU tree of realistic shape, each member answered with
//!   its template's recording under its own id
//!   (`tests/support/synthetic.rs` says what is synthesised), with
//!   `--security-hub` (`CMKSCAN_BENCH_SECURITY_HUB=0` leaves it out) against
//!   a synthesised Security Hub paced at its published quotas; then what
//!   the import costs (finding ingestion events per account × region
//!   against the free tier) and the comparison with a previous report at
//!   that size (`cmkscan diff` and `cmkscan evaluate --previous`: wall,
//!   CPU, peak RSS).
//!
//! Settings come from the environment (defaults in brackets):
//! `CMKSCAN_BENCH_ACCOUNTS` [200] members, `CMKSCAN_BENCH_REGIONS` [4],
//! `CMKSCAN_BENCH_LATENCY_MS` [50], `CMKSCAN_BENCH_CONCURRENCY` [64],
//! `CMKSCAN_BENCH_MODES` [raw,paced,replay] (replay needs raw first; or
//! listing; or synthetic), `CMKSCAN_BENCH_TEMPLATES` [100] (synthetic),
//! `CMKSCAN_BENCH_SECURITY_HUB` [1] (synthetic),
//! `CMKSCAN_BENCH_OUS` [0] organizational units (a fifth of them
//! under the root, the others spread under those; members spread over the
//! OUs without children),
//! `CMKSCAN_BENCH_WRAP` [unset] (a profiler command the measured scans
//! run under, e.g. `perf record -g -o /tmp/cmkscan.perf`),
//! `CMKSCAN_BENCH_KEEP_REPORT` [unset] (a directory the last measured
//! scan's report files are copied into). Run through `scripts/bench.sh`.
//!
//! Each measured scan's `report.html` is also opened in headless Chromium
//! (`tests/support/chromium.rs`): its size and the time Chromium takes to
//! load it and dump its DOM, and to load it and take a screenshot. Each
//! output file's size and write time (its last modification less its
//! creation: each is created, written and renamed in turn) are printed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use support::pace::{OperationStats, Pace, PaceConfig, Tape};
use support::sample_org::key_event;
use support::seed::{KeyState, Recording, TrailSpec, CIS_RULE};
use support::synthetic::{ListRequest, SyntheticOrg};

/// The 17 regions every account has enabled by default (no opt-in), the
/// first four those of the earlier measurements.
const ALL_REGIONS: [&str; 17] = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "us-east-2",
    "us-west-1",
    "ap-south-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
];
/// AWS's quotas the pacer enforces, per key (account × region × API):
/// CloudTrail's LookupEvents, the Organizations listing, and Security
/// Hub's published rates (BatchImportFindings 10 a second with a burst of
/// 30, GetFindings 3 with a burst of 6; the pacer's bucket holds one
/// second's worth, so it is the stricter).
const QUOTAS: [(&str, u32); 6] = [
    ("LookupEvents", 2),
    ("ListRoots", 1),
    ("ListAccountsForParent", 1),
    ("ListOrganizationalUnitsForParent", 1),
    ("BatchImportFindings", 10),
    ("GetFindings", 3),
];
/// The import role the synthetic mode's `--security-hub` assumes.
const IMPORT_ROLE: &str = "CmkScanSecurityHubImport";
/// Accounts per ListAccountsForParent page: AWS's maximum, which cmkscan
/// asks for.
const PAGE: usize = 20;

struct Settings {
    members: usize,
    regions: Vec<&'static str>,
    latency: Duration,
    concurrency: usize,
    modes: Vec<String>,
    ous: usize,
    /// Synthetic mode: members seeded in the emulator, whose answers the
    /// synthetic members repeat.
    templates: usize,
    /// Synthetic mode: import the findings into (a synthesised) Security
    /// Hub.
    security_hub: bool,
}

impl Settings {
    /// Only the listing is measured: members need no resources and no
    /// warm-up scan.
    fn listing_only(&self) -> bool {
        self.modes.iter().all(|mode| mode == "listing")
    }

    fn synthetic(&self) -> bool {
        self.modes.iter().any(|mode| mode == "synthetic")
    }

    /// Members seeded into the emulator.
    fn seeded_members(&self) -> usize {
        if self.synthetic() {
            self.templates
        } else {
            self.members
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a valid value")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Settings {
        let regions: usize = env_or("CMKSCAN_BENCH_REGIONS", 4);
        assert!(
            (1..=ALL_REGIONS.len()).contains(&regions),
            "CMKSCAN_BENCH_REGIONS must be 1 to {}",
            ALL_REGIONS.len()
        );
        Settings {
            members: env_or("CMKSCAN_BENCH_ACCOUNTS", 200),
            regions: ALL_REGIONS[..regions].to_vec(),
            latency: Duration::from_millis(env_or("CMKSCAN_BENCH_LATENCY_MS", 50)),
            concurrency: env_or("CMKSCAN_BENCH_CONCURRENCY", 64),
            modes: env_or("CMKSCAN_BENCH_MODES", "raw,paced,replay".to_string())
                .split(',')
                .map(str::to_string)
                .collect(),
            ous: env_or("CMKSCAN_BENCH_OUS", 0),
            templates: env_or("CMKSCAN_BENCH_TEMPLATES", 100),
            security_hub: env_or("CMKSCAN_BENCH_SECURITY_HUB", 1u8) == 1,
        }
    }
}

/// What was seeded in an account, as far as the lower bound needs it.
#[derive(Clone)]
struct Seeded {
    /// LookupEvents requests each region needs: one page per event (the
    /// front serves one a page), at least one per event name.
    lookups_per_region: Vec<usize>,
    /// Has its own trail with a log group, so its scan follows the alarm
    /// chain to the topic's subscriber (six dependent calls, see
    /// [`lower_bound`]).
    alarm_chain: bool,
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let emulator = runtime.block_on(support::Emulator::start());
    let pace = runtime.block_on(Pace::start(emulator.endpoint()));
    let seeding = Instant::now();
    let seeded = runtime.block_on(seed(&emulator, &settings));
    let account_regions = seeded.len() * settings.regions.len();
    println!(
        "seeded {} accounts (management + {} members) x {} regions ({}) in {} OUs in {:.0} s",
        seeded.len(),
        settings.seeded_members(),
        settings.regions.len(),
        settings.regions.join(","),
        settings.ous,
        seeding.elapsed().as_secs_f64()
    );

    // moto builds each account's and region's backends on first use: a
    // first scan warms them so that neither measured run pays for it.
    if !settings.listing_only() {
        pace.reset(PaceConfig::default());
        let warm_up = run(&pace, &settings, &[]);
        println!("warm-up scan: {:.1} s", warm_up.wall.as_secs_f64());
    }

    let paced = |tape, synthetic| PaceConfig {
        latency: settings.latency,
        quotas: QUOTAS.iter().map(|(op, q)| (op.to_string(), *q)).collect(),
        tape,
        synthetic,
    };
    let mut raw_throughput = None;
    for mode in &settings.modes {
        if mode == "synthetic" {
            synthetic(&runtime, &emulator, &pace, &settings, &seeded);
            continue;
        }
        let config = match mode.as_str() {
            "raw" => PaceConfig {
                tape: Tape::Record,
                ..PaceConfig::default()
            },
            "paced" | "listing" => paced(Tape::Off, None),
            "replay" => paced(Tape::Replay, None),
            other => panic!("unknown mode {other}: use raw, paced, replay, listing or synthetic"),
        };
        pace.reset(config);
        // No organisation has this account: everything is listed, nothing
        // scanned.
        let extra: &[&str] = if mode == "listing" {
            &["--accounts", "000000000000"]
        } else {
            &[]
        };
        let run = run(&pace, &settings, extra);
        let stats = pace.stats();
        println!("\n== {mode}: --concurrency {}", settings.concurrency);
        print_run(&run, &stats, account_regions);
        if mode == "raw" {
            raw_throughput = Some(run.requests as f64 / run.wall.as_secs_f64());
            continue;
        }
        if mode == "listing" {
            let listing: u64 = run
                .requests_by_api
                .iter()
                .filter(|(api, _)| api.starts_with("organizations:List"))
                .map(|(_, n)| n)
                .sum();
            println!(
                "listing: {listing} Organizations list requests for {} accounts in {} OUs, \
                 wall {:.2} s (latency {} ms)",
                seeded.len(),
                settings.ous,
                run.wall.as_secs_f64(),
                settings.latency.as_millis()
            );
            continue;
        }
        if settings.ous > 0 {
            println!("no lower bound: it assumes every account directly under the root");
            continue;
        }
        let flat = flat_walk(seeded.len());
        let accounts: Vec<Member> = seeded
            .iter()
            .map(|(_, seeded)| Member {
                seeded,
                scanned: true,
            })
            .collect();
        let bound = lower_bound(&accounts, &flat, &settings);
        let wall = run.wall.as_secs_f64();
        println!(
            "lower bound {bound:.2} s (latency {} ms, quotas {QUOTAS:?}, {PAGE} accounts a page)",
            settings.latency.as_millis()
        );
        println!("wall / lower bound = {:.2}", wall / bound);
        if mode == "replay" {
            println!(
                "answers replayed from the raw run's recording; {} request(s) not on it went to the emulator",
                pace.tape_misses()
            );
        } else if let Some(capacity) = raw_throughput {
            let emulator_bound = run.requests as f64 / capacity;
            println!(
                "emulator ceiling: {capacity:.0} requests/s (raw run) -> {emulator_bound:.2} s \
                 for these requests; wall / max(lower bound, emulator ceiling) = {:.2}",
                wall / bound.max(emulator_bound)
            );
        }
    }
}

/// The synthetic mode: the seeded members are the templates; their raw
/// scan is recorded, then the synthetic organisation is scanned from the
/// recording, paced.
fn synthetic(
    runtime: &tokio::runtime::Runtime,
    emulator: &support::Emulator,
    pace: &Pace,
    settings: &Settings,
    seeded: &[(String, Seeded)],
) {
    pace.reset(PaceConfig {
        tape: Tape::Record,
        ..PaceConfig::default()
    });
    let template_run = run(pace, settings, &[]);
    println!(
        "\n== template: the {} seeded members recorded (raw, --concurrency {})",
        settings.templates, settings.concurrency
    );
    print_run(
        &template_run,
        &pace.stats(),
        seeded.len() * settings.regions.len(),
    );

    let templates: Vec<String> = seeded[1..].iter().map(|(id, _)| id.clone()).collect();
    let (root_id, organization_id) = runtime.block_on(async {
        let org = aws_sdk_organizations::Client::new(&emulator.runner_config().await);
        let described = org
            .describe_organization()
            .send()
            .await
            .expect("organization");
        let id = described
            .organization()
            .and_then(|o| o.id())
            .expect("organization id")
            .to_string();
        (emulator.root_id().await, id)
    });
    let mut org = SyntheticOrg::generate(
        settings.members,
        &templates,
        support::MANAGEMENT_ACCOUNT,
        &root_id,
        &organization_id,
        IMPORT_ROLE,
    );
    for (arn, key) in pace.recorded_access_keys() {
        // arn:aws:iam::<account>:role/<name>
        if let Some(account) = arn.split(':').nth(4) {
            org.set_template_key(account, &key);
        }
    }
    let by_template: HashMap<&str, &Seeded> =
        seeded.iter().map(|(id, s)| (id.as_str(), s)).collect();
    let management = &seeded[0].1;
    let members: Vec<Member> = org
        .accounts
        .iter()
        .map(|account| Member {
            seeded: if account.template.is_empty() {
                management
            } else {
                by_template[account.template.as_str()]
            },
            scanned: account.state == "ACTIVE",
        })
        .collect();
    let walk = org.walk();
    let active = members.iter().filter(|m| m.scanned).count();
    let account_regions = active * settings.regions.len();
    println!(
        "\nsynthetic organisation: {} accounts ({} members, {} of them SUSPENDED) in {} OUs, \
         {} Organizations list requests for the walk",
        org.accounts.len(),
        org.member_count(),
        org.accounts.len() - active,
        org.ou_count(),
        walk.len()
    );
    pace.reset(PaceConfig {
        latency: settings.latency,
        quotas: QUOTAS.iter().map(|(op, q)| (op.to_string(), *q)).collect(),
        tape: Tape::Replay,
        synthetic: Some(std::sync::Arc::new(org)),
    });
    let extra: &[&str] = if settings.security_hub {
        &["--security-hub", "--security-hub-role-name", IMPORT_ROLE]
    } else {
        &[]
    };
    let run = run(pace, settings, extra);
    let stats = pace.stats();
    println!(
        "\n== synthetic: {} members x {} regions, --concurrency {}{}",
        settings.members,
        settings.regions.len(),
        settings.concurrency,
        if settings.security_hub {
            ", --security-hub"
        } else {
            ""
        }
    );
    print_run(&run, &stats, account_regions);
    let bound = lower_bound(&members, &walk, settings);
    // The scan ends when its report is on disk; the import follows.
    let scan_wall = run.report_written.unwrap_or(run.wall).as_secs_f64();
    println!(
        "lower bound {bound:.2} s (latency {} ms, quotas {QUOTAS:?}, {PAGE} a page, the synthetic walk)",
        settings.latency.as_millis()
    );
    println!(
        "scan (start to report on disk) {scan_wall:.2} s: / lower bound = {:.3}",
        scan_wall / bound
    );
    println!(
        "answers: {} request(s) found neither on the tape nor synthesised",
        pace.tape_misses()
    );
    if settings.security_hub {
        print_import(&run, &stats, settings);
    }
    compare(run.dir.as_ref().expect("the run's report").path());
}

/// Security Hub: time, requests, and what the ingestion costs.
fn print_import(run: &Run, stats: &BTreeMap<String, OperationStats>, settings: &Settings) {
    let ops = ["GetFindings", "BatchImportFindings"];
    let first = ops.iter().filter_map(|op| stats.get(*op)?.first).min();
    let last = ops.iter().filter_map(|op| stats.get(*op)?.last).max();
    let requests = |op: &str| stats.get(op).map_or(0, |s| s.admitted + s.throttled);
    let imported = run.security_hub["imported"].as_u64().unwrap_or(0);
    if let (Some(first), Some(last)) = (first, last) {
        println!(
            "Security Hub import: {:.1} s (first to last request, + latency), \
             {} GetFindings, {} BatchImportFindings ({} throttled), {imported} findings imported, \
             summary {}",
            (last - first + settings.latency).as_secs_f64(),
            requests("GetFindings"),
            requests("BatchImportFindings"),
            stats.get("BatchImportFindings").map_or(0, |s| s.throttled),
            run.security_hub
        );
    }
    print_ingestion_cost(run.dir.as_ref().expect("the run's report").path());
}

/// Security Hub CSPM's price for findings imported from other products:
/// 10,000 finding ingestion events free per account per region a month,
/// then $0.00003 an event (us-east-1 list price, 2026).
const FREE_EVENTS_A_MONTH: f64 = 10_000.0;
const PRICE_PER_EVENT: f64 = 0.00003;
/// A weekly schedule: 52 runs a year.
const RUNS_A_MONTH: f64 = 52.0 / 12.0;

/// What importing every finding of each weekly run costs: the rows of
/// findings.csv per account × region they are imported into (a `global`
/// row into the runner's region), each an ingestion event every run.
fn print_ingestion_cost(report: &Path) {
    let mut per_key: HashMap<(String, String), u64> = HashMap::new();
    let mut rows = csv::Reader::from_path(report.join("findings.csv")).expect("findings.csv");
    let headers = rows.headers().expect("header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("findings.csv has no {name} column"))
    };
    let (account, region) = (column("account_id"), column("region"));
    for row in rows.records() {
        let row = row.expect("findings.csv row");
        let region = match &row[region] {
            "global" => support::REGION,
            other => other,
        };
        *per_key
            .entry((row[account].to_string(), region.to_string()))
            .or_default() += 1;
    }
    let events: u64 = per_key.values().sum();
    let most = per_key.values().copied().max().unwrap_or(0);
    let cost: f64 = per_key
        .values()
        .map(|&n| (n as f64 * RUNS_A_MONTH - FREE_EVENTS_A_MONTH).max(0.0) * PRICE_PER_EVENT)
        .sum();
    println!(
        "Security Hub ingestion: {events} events a run over {} account-regions, at most {most} \
         in one ({:.0} a month at one run a week, against {FREE_EVENTS_A_MONTH:.0} free per \
         account-region a month): ${cost:.2} a month beyond the free tier",
        per_key.len(),
        most as f64 * RUNS_A_MONTH
    );
}

/// The listing of the moto organisation without OUs: the root's accounts
/// 20 a page, in the order the seeding found them, then its (no) OUs.
fn flat_walk(accounts: usize) -> Vec<ListRequest> {
    let indexes: Vec<usize> = (0..accounts).collect();
    let mut walk: Vec<ListRequest> = indexes
        .chunks(PAGE)
        .map(|page| ListRequest {
            operation: "ListAccountsForParent",
            accounts: page.to_vec(),
        })
        .collect();
    walk.push(ListRequest {
        operation: "ListOrganizationalUnitsForParent",
        accounts: Vec::new(),
    });
    walk
}

struct Run {
    wall: Duration,
    user: Duration,
    sys: Duration,
    peak_rss_kib: i64,
    requests: u64,
    requests_by_api: BTreeMap<String, u64>,
    findings: usize,
    /// ERROR rows, which a scan of the benchmark organisation should not
    /// have: each is a request that failed for good (the first few).
    errors: Vec<String>,
    errors_total: usize,
    facts_bytes: u64,
    coverage: serde_json::Value,
    /// `summary.security_hub` of findings.json (`null` without the import).
    security_hub: serde_json::Value,
    page: Page,
    /// Each report file: name, size, and the time it took to write.
    outputs: Vec<(String, u64, Duration)>,
    /// From the start to the last report file on disk (before any import).
    report_written: Option<Duration>,
    /// The scan's CPU and peak when report.html appeared (polled).
    at_report: Option<AtReport>,
    /// The report files, kept until the run is dropped.
    dir: Option<tempfile::TempDir>,
}

/// The report files, in the order they are written.
const OUTPUTS: [&str; 6] = [
    "facts.json.gz",
    "findings.csv",
    "findings.json",
    "findings.ocsf.json",
    "changes.csv",
    "report.html",
];

/// `report.html` in the browser.
#[derive(Default)]
struct Page {
    bytes: u64,
    /// Chromium's wall time to load the page and dump its DOM (after the
    /// page's script ran) …
    dump_dom: Duration,
    /// … to load it and take a 1360 × 2400 screenshot (layout and paint) …
    screenshot: Duration,
    /// … and to do the latter for an empty page: the browser's own start.
    blank: Duration,
}

fn print_run(run: &Run, stats: &BTreeMap<String, OperationStats>, account_regions: usize) {
    let per = |x: f64| x / account_regions as f64;
    let cpu = (run.user + run.sys).as_secs_f64();
    println!(
        "wall {:.2} s | CPU {cpu:.2} s (user {:.2} + sys {:.2}; {:.2} ms per account-region) | peak RSS {:.1} MiB",
        run.wall.as_secs_f64(),
        run.user.as_secs_f64(),
        run.sys.as_secs_f64(),
        per(cpu * 1000.0),
        run.peak_rss_kib as f64 / 1024.0
    );
    println!(
        "requests {} ({:.2} per account-region) | findings {} | facts.json.gz {} bytes ({:.0} per account-region)",
        run.requests,
        per(run.requests as f64),
        run.findings,
        run.facts_bytes,
        per(run.facts_bytes as f64)
    );
    println!("coverage {}", run.coverage);
    println!(
        "report.html {} bytes | Chromium: load + DOM dump {:.2} s, load + screenshot {:.2} s (an empty page: {:.2} s, so the page's own {:.2} s)",
        run.page.bytes,
        run.page.dump_dom.as_secs_f64(),
        run.page.screenshot.as_secs_f64(),
        run.page.blank.as_secs_f64(),
        run.page.screenshot.saturating_sub(run.page.blank).as_secs_f64()
    );
    for (name, bytes, took) in &run.outputs {
        println!(
            "output {name:<20} {:>14} bytes ({:>7.1} MB) written in {:>7.2} s{}",
            bytes,
            *bytes as f64 / 1e6,
            took.as_secs_f64(),
            if *name == "facts.json.gz" {
                " (streamed while the scan runs)"
            } else {
                ""
            }
        );
    }
    if let Some(at) = run.at_report {
        let cpu = at.cpu.as_secs_f64();
        println!(
            "at report.html on disk: wall {:.2} s | CPU {cpu:.2} s ({:.2} ms per account-region) | peak RSS {:.1} MiB",
            at.wall.as_secs_f64(),
            per(cpu * 1000.0),
            at.peak_rss_kib as f64 / 1024.0
        );
    }
    println!("errors: {} ERROR rows", run.errors_total);
    for error in run.errors.iter().take(5) {
        println!("ERROR row: {error}");
    }
    println!(
        "{:<48} {:>8} {:>10} {:>10} {:>15}",
        "API", "cmkscan", "per acct-rg", "throttled", "peak/key/s"
    );
    for (api, count) in &run.requests_by_api {
        let operation = api.split(':').nth(1).unwrap_or(api);
        let seen = stats.get(operation).cloned().unwrap_or_default();
        println!(
            "{api:<48} {count:>8} {:>10.3} {:>10} {:>15}",
            per(*count as f64),
            seen.throttled,
            seen.peak_per_key_second
        );
    }
}

/// Runs the release binary against the pacer, with `extra` arguments, and
/// waits for it.
fn run(pace: &Pace, settings: &Settings, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut command = support::cli::cmkscan_command(&pace.endpoint);
    // The binary's own retry default, as deployed.
    command.env_remove("AWS_MAX_ATTEMPTS");
    // A profiler around the measured scans (the CPU figure then includes
    // its own, and the RSS figure is the wrapper's), e.g.
    // CMKSCAN_BENCH_WRAP="perf record -g -o /tmp/cmkscan.perf".
    if let Ok(wrapper) = std::env::var("CMKSCAN_BENCH_WRAP") {
        let mut words = wrapper.split_whitespace();
        let program = words.next().expect("CMKSCAN_BENCH_WRAP names a program");
        let binary = command.get_program().to_os_string();
        let envs: Vec<_> = command
            .get_envs()
            .map(|(k, v)| (k.to_os_string(), v.map(|v| v.to_os_string())))
            .collect();
        command = std::process::Command::new(program);
        // The same clean environment as the scan's, plus the PATH a
        // profiler may need to find its helpers.
        command.env_clear().args(words).arg(binary);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (key, value) in envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
    }
    // Reaped by wait4 below, which std's Child cannot see.
    #[allow(clippy::zombie_processes)]
    let child = command
        .arg("scan")
        .arg("--regions")
        .arg(settings.regions.join(","))
        .arg("--concurrency")
        .arg(settings.concurrency.to_string())
        .arg("--output-dir")
        .arg(out.path())
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start cmkscan");
    let usage = wait_with_rusage(child.id(), &out.path().join("report.html"), started);
    let wall = started.elapsed();
    assert!(
        usage.status == 0,
        "cmkscan exited with status {}",
        usage.status
    );
    let mut run = read_report(out.path(), wall, usage);
    (run.outputs, run.report_written) = outputs(out.path(), started_at);
    run.page = page_in_chromium(out.path());
    if let Some(keep) = std::env::var_os("CMKSCAN_BENCH_KEEP_REPORT") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).expect("CMKSCAN_BENCH_KEEP_REPORT");
        for name in OUTPUTS {
            if out.path().join(name).exists() {
                std::fs::copy(out.path().join(name), keep.join(name))
                    .unwrap_or_else(|e| panic!("keep {name}: {e}"));
            }
        }
    }
    run.dir = Some(out);
    run
}

/// Comparing with the previous report at the scan's size, each command's
/// wall time, CPU and peak RSS: `cmkscan diff` of the scan's findings.csv
/// against its findings.json (every row read by both readers, sorted on
/// disk and matched; the same rows, so no change), and `cmkscan evaluate`
/// of its facts.json.gz with `--previous` its findings.json (the whole
/// report written again from the evidence, and compared).
fn compare(report: &Path) {
    let out = tempfile::tempdir().expect("temp dir");
    let measure = |what: &str, args: &[&std::ffi::OsStr]| {
        let started = Instant::now();
        // No AWS: an endpoint nothing listens on.
        let mut command = support::cli::cmkscan_command("http://127.0.0.1:9");
        // Reaped by wait4 below, which std's Child cannot see.
        #[allow(clippy::zombie_processes)]
        let child = command
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start cmkscan");
        let usage = wait_with_rusage(child.id(), &out.path().join("none"), started);
        assert!(
            usage.status == 0,
            "{what} exited with status {}",
            usage.status
        );
        println!(
            "{what}: wall {:.2} s | CPU {:.2} s | peak RSS {:.1} MiB",
            started.elapsed().as_secs_f64(),
            (usage.user + usage.sys).as_secs_f64(),
            usage.peak_rss_kib as f64 / 1024.0
        );
    };
    let changes = out.path().join("changes.csv");
    measure(
        "compare: cmkscan diff findings.csv findings.json --output changes.csv",
        &[
            "diff".as_ref(),
            report.join("findings.csv").as_os_str(),
            report.join("findings.json").as_os_str(),
            "--output".as_ref(),
            changes.as_os_str(),
        ],
    );
    let evaluated = out.path().join("evaluated");
    measure(
        "compare: cmkscan evaluate facts.json.gz --previous findings.json",
        &[
            "evaluate".as_ref(),
            report.join("facts.json.gz").as_os_str(),
            "--previous".as_ref(),
            report.join("findings.json").as_os_str(),
            "--output-dir".as_ref(),
            evaluated.as_os_str(),
        ],
    );
}

/// Opens the scan's `report.html` in headless Chromium, timed.
fn page_in_chromium(dir: &Path) -> Page {
    let page = dir.join("report.html");
    let shot = dir.join("report.png");
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><title>blank</title>").expect("blank page");
    let timed = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };
    Page {
        bytes: std::fs::metadata(&page).expect("report.html").len(),
        dump_dom: timed(&|| {
            let loaded = support::chromium::open(&page, "");
            assert!(loaded.console.is_empty(), "console: {:?}", loaded.console);
        }),
        screenshot: timed(&|| support::chromium::screenshot(&page, &shot, (1360, 2400))),
        blank: timed(&|| support::chromium::screenshot(&blank, &shot, (1360, 2400))),
    }
}

/// Each report file's size and write time (modified less created: each is
/// created, written, synced and renamed in turn), and when the last of
/// them was on disk, from `started`. findings.json is written again after
/// a Security Hub import, so its time, and the end of the report, are
/// taken from its first writing: the report's other files follow it.
fn outputs(
    dir: &Path,
    started: std::time::SystemTime,
) -> (Vec<(String, u64, Duration)>, Option<Duration>) {
    let mut files = Vec::new();
    let mut last = None;
    for name in OUTPUTS {
        let Ok(meta) = std::fs::metadata(dir.join(name)) else {
            continue;
        };
        let (Ok(created), Ok(modified)) = (meta.created(), meta.modified()) else {
            continue;
        };
        let took = modified.duration_since(created).unwrap_or_default();
        files.push((name.to_string(), meta.len(), took));
        if name != "findings.json" {
            last = last.max(modified.duration_since(started).ok());
        }
    }
    (files, last)
}

/// The summary from findings.json, the rows counted from findings.csv:
/// streamed, since a report of 10,000 accounts × 17 regions is gigabytes.
fn read_report(dir: &Path, wall: Duration, usage: Usage) -> Run {
    #[derive(serde::Deserialize)]
    struct Head {
        summary: serde_json::Value,
    }
    let file = std::fs::File::open(dir.join("findings.json")).expect("findings.json");
    let head: Head = serde_json::from_reader(std::io::BufReader::new(file)).expect("report JSON");
    let report = head.summary;
    let requests_by_api: BTreeMap<String, u64> = report["api_calls"]
        .as_object()
        .expect("api_calls")
        .iter()
        .map(|(api, n)| (api.clone(), n.as_u64().unwrap_or(0)))
        .collect();
    let mut csv = csv::Reader::from_path(dir.join("findings.csv")).expect("findings.csv");
    let header = csv.headers().expect("CSV header").clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let (status, account, region, check, detail) = (
        column("status"),
        column("account_id"),
        column("region"),
        column("check_id"),
        column("detail"),
    );
    let (mut findings, mut errors, mut errors_total) = (0, Vec::new(), 0);
    for record in csv.records() {
        let record = record.expect("CSV row");
        findings += 1;
        if &record[status] == "ERROR" {
            errors_total += 1;
            if errors.len() < 5 {
                errors.push(format!(
                    "{} {} {}: {}",
                    &record[account], &record[region], &record[check], &record[detail]
                ));
            }
        }
    }
    Run {
        wall,
        user: usage.user,
        sys: usage.sys,
        peak_rss_kib: usage.peak_rss_kib,
        requests: requests_by_api.values().sum(),
        requests_by_api,
        findings,
        errors,
        errors_total,
        facts_bytes: std::fs::metadata(dir.join("facts.json.gz"))
            .expect("facts.json.gz")
            .len(),
        at_report: usage.at_report,
        coverage: report["coverage"].clone(),
        security_hub: report["security_hub"].clone(),
        page: Page::default(),
        outputs: Vec::new(),
        report_written: None,
        dir: None,
    }
}

struct Usage {
    status: i32,
    user: Duration,
    sys: Duration,
    peak_rss_kib: i64,
    at_report: Option<AtReport>,
}

/// Waits for one child and returns its exit status, CPU time (user + sys,
/// from wait4) and peak RSS. The peak is the child's own `VmHWM`, read
/// every 10 ms until it exits: wait4's `ru_maxrss` also counts the memory
/// of this process at the moment it spawned the child (Linux records the
/// pre-exec image's peak), which grows with the recording the pacer holds.
///
/// When `report` (the last report file written locally) appears, the CPU
/// time and peak so far are kept too: the scan's own, before a Security
/// Hub import.
fn wait_with_rusage(pid: u32, report: &Path, started: Instant) -> Usage {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    let status_file = format!("/proc/{pid}/status");
    let stat_file = format!("/proc/{pid}/stat");
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut peak_rss_kib = 0;
    let mut at_report = None;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we started
    // and reaps it, so std's Child is never waited on afterwards.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok());
            if let Some(hwm) = hwm {
                peak_rss_kib = peak_rss_kib.max(hwm);
            }
        }
        if at_report.is_none() && report.exists() {
            // utime and stime, fields 14 and 15, after the command's name.
            let cpu = std::fs::read_to_string(&stat_file).ok().and_then(|stat| {
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                let user: f64 = fields.get(11)?.parse().ok()?;
                let sys: f64 = fields.get(12)?.parse().ok()?;
                Some(Duration::from_secs_f64((user + sys) / ticks))
            });
            at_report = cpu.map(|cpu| AtReport {
                wall: started.elapsed(),
                cpu,
                peak_rss_kib,
            });
        }
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4 failed");
        if reaped == pid {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Usage {
        status: libc::WEXITSTATUS(status),
        user: time(usage.ru_utime),
        sys: time(usage.ru_stime),
        peak_rss_kib,
        at_report,
    }
}

/// The scan's figures when its report was on disk.
#[derive(Clone, Copy)]
struct AtReport {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: i64,
}

/// An account of the organisation scanned, in listing order, as the lower
/// bound sees it.
struct Member<'a> {
    seeded: &'a Seeded,
    /// Listed ACTIVE: scanned (a SUSPENDED account is only listed).
    scanned: bool,
}

/// The earliest the paced scan can end, given only the quotas, the
/// latency and `--concurrency`; the emulator's own speed is not in it.
///
/// - Before listing: GetCallerIdentity, DescribeOrganization,
///   DescribeRegions and ListRoots, one after the other (4 round trips).
/// - The tree walk (`walk`: the list requests in cmkscan's order, each
///   naming the accounts its page lists) sends one request at a time, each
///   operation at most once a second; an account is known when its page is
///   back. Without OUs it is the root's ListAccountsForParent pages.
/// - An account then needs AssumeRole and DescribeRegions (2 round trips,
///   none for the management account), then its regions in parallel. A
///   region takes the longer of its LookupEvents requests at 2 a second
///   ((k − 1) / 2 s + one round trip) and its longest chain of dependent
///   calls (DescribeTrails → DescribeMetricFilters → DescribeAlarms →
///   ListSubscriptionsByTopic → GetTopicAttributes →
///   GetSubscriptionAttributes where the account has an alarm chain with a
///   subscriber, 6 round trips; else ListKeys → DescribeKey: 2).
/// - At most `--concurrency` members are scanned at once, in listing order;
///   the management account (the first listed) runs beside them from the
///   start, and members' verdicts need its organisation trails.
fn lower_bound(accounts: &[Member], walk: &[ListRequest], settings: &Settings) -> f64 {
    let rtt = settings.latency.as_secs_f64();
    let lookup_rate = 2.0;
    let list_rate = 1.0;
    let account_path = |account: &Seeded, entry_round_trips: f64| {
        let chain = if account.alarm_chain { 6.0 } else { 2.0 } * rtt;
        let regions = account
            .lookups_per_region
            .iter()
            .map(|&k| ((k as f64 - 1.0) / lookup_rate + rtt).max(chain))
            .fold(0.0, f64::max);
        entry_round_trips * rtt + regions
    };
    let preamble = 4.0 * rtt;
    // When each account's page is back.
    let mut listed = vec![f64::INFINITY; accounts.len()];
    let mut free = preamble;
    let mut last_sent: HashMap<&str, f64> = HashMap::new();
    for request in walk {
        let send = last_sent
            .get(request.operation)
            .map_or(free, |last| free.max(last + 1.0 / list_rate));
        last_sent.insert(request.operation, send);
        free = send + rtt;
        for &i in &request.accounts {
            listed[i] = free;
        }
    }
    let management_done = preamble + account_path(accounts[0].seeded, 1.0);
    let mut slots = vec![preamble; settings.concurrency.max(1)];
    let mut end = management_done.max(free);
    for (index, account) in accounts.iter().enumerate().skip(1) {
        assert!(listed[index].is_finite(), "account {index} is never listed");
        if !account.scanned {
            continue;
        }
        let slot = slots
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one slot");
        let finished = listed[index].max(*slot) + account_path(account.seeded, 2.0);
        *slot = finished;
        end = end.max(finished.max(management_done));
    }
    end
}

/// The organisation: the management account (an organisation trail with
/// the CIS alarm chain, so members' logging is covered) and the members,
/// each with a mix drawn from a generator seeded by its index (the same
/// organisation every run).
async fn seed(emulator: &support::Emulator, settings: &Settings) -> Vec<(String, Seeded)> {
    emulator.create_organization().await;
    let management = emulator.management().await;
    let home = settings.regions[0];
    let mut org_trail = TrailSpec::multi_region("org-trail", home);
    org_trail.organization = true;
    org_trail.log_group = Some("org-trail-logs");
    management.trail(org_trail).await;
    management.cis_alarm_chain(home, "org-trail-logs").await;
    let mut seeded = vec![(
        support::MANAGEMENT_ACCOUNT.to_string(),
        Seeded {
            lookups_per_region: vec![2; settings.regions.len()],
            alarm_chain: true,
        },
    )];
    let members: Vec<(String, Seeded)> = futures::stream::iter(0..settings.seeded_members())
        .map(|i| async move {
            if settings.listing_only() {
                let id = emulator.create_account(&format!("member-{i:04}")).await.id;
                let bare = Seeded {
                    lookups_per_region: Vec::new(),
                    alarm_chain: false,
                };
                (id, bare)
            } else {
                seed_member(emulator, i, &settings.regions).await
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    if settings.ous > 0 {
        let ids: Vec<&String> = members.iter().map(|(id, _)| id).collect();
        seed_ous(emulator, settings.ous, &ids).await;
    }
    // Listing order: moto lists accounts in creation order, the root's
    // ListAccountsForParent as ListAccounts.
    let mut by_id: HashMap<String, Seeded> = members.into_iter().collect();
    let listed = list_member_ids(emulator).await;
    for id in listed {
        let member = by_id.remove(&id).expect("every listed member was seeded");
        seeded.push((id, member));
    }
    seeded
}

/// `count` OUs: a fifth (at least one) under the root, the others spread
/// under those; the members spread over the OUs without children.
async fn seed_ous(emulator: &support::Emulator, count: usize, members: &[&String]) {
    let root = emulator.root_id().await;
    let top_count = (count / 5).max(1);
    let mut top = Vec::new();
    for i in 0..top_count {
        top.push(emulator.create_ou(&root, &format!("top-{i:03}")).await);
    }
    let mut leaves = Vec::new();
    for i in 0..count - top_count {
        let parent = &top[i % top_count];
        leaves.push(emulator.create_ou(parent, &format!("leaf-{i:03}")).await);
    }
    let mut childless: Vec<&String> = leaves.iter().collect();
    // A top-level OU with no child holds members itself.
    childless.extend(top.iter().skip(count - top_count));
    futures::stream::iter(members.iter().enumerate())
        .map(|(i, id)| emulator.move_account(id, &root, childless[i % childless.len()]))
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn list_member_ids(emulator: &support::Emulator) -> Vec<String> {
    let org = aws_sdk_organizations::Client::new(&emulator.runner_config().await);
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = org
            .list_accounts()
            .max_results(PAGE as i32)
            .set_next_token(token)
            .send()
            .await
            .expect("list accounts");
        ids.extend(
            page.accounts()
                .iter()
                .filter_map(|a| a.id())
                .filter(|id| *id != support::MANAGEMENT_ACCOUNT)
                .map(str::to_string),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return ids;
        }
    }
}

async fn seed_member(
    emulator: &support::Emulator,
    index: usize,
    regions: &[&'static str],
) -> (String, Seeded) {
    let mut rng = fastrand::Rng::with_seed(index as u64);
    let member = emulator.create_account(&format!("member-{index:04}")).await;
    let alarm_chain = rng.u8(..100) < 25;
    if alarm_chain {
        let mut trail = TrailSpec::multi_region("own-trail", regions[0]);
        trail.log_group = Some("own-trail-logs");
        member.trail(trail).await;
        member.cis_alarm_chain(regions[0], "own-trail-logs").await;
    }
    let mut lookups_per_region = Vec::new();
    for (n, region) in regions.iter().enumerate() {
        match rng.u8(..100) {
            0..60 => {
                member
                    .recorder(region, Recording::AllSupported, true, true)
                    .await
            }
            60..75 => {
                member
                    .recorder(
                        region,
                        Recording::Include(vec!["AWS::EC2::Instance"]),
                        true,
                        true,
                    )
                    .await
            }
            75..85 => {
                member
                    .recorder(region, Recording::AllSupported, false, true)
                    .await
            }
            _ => {}
        }
        // Most keys live in the home region; other regions hold a few.
        let keys = if n == 0 {
            rng.usize(0..=20)
        } else {
            rng.usize(0..=3)
        };
        let (mut disabled_events, mut deletion_events) = (0, 0);
        for k in 0..keys {
            let state = match rng.u8(..100) {
                0..75 => KeyState::Enabled,
                75..90 => KeyState::Disabled,
                _ => KeyState::PendingDeletion,
            };
            let event = match state {
                KeyState::Disabled => Some("DisableKey"),
                KeyState::PendingDeletion => Some("ScheduleKeyDeletion"),
                KeyState::Enabled => None,
            }
            .filter(|_| rng.bool());
            let alias = rng.bool().then(|| format!("alias/app-{k}"));
            let arn = member.key(region, alias.as_deref(), state).await;
            if let Some(name) = event {
                if name == "DisableKey" {
                    disabled_events += 1;
                } else {
                    deletion_events += 1;
                }
                emulator.front.add_event(key_event(
                    &member.id,
                    region,
                    name,
                    &arn,
                    Duration::from_secs(3600 * rng.u64(1..72)),
                ));
            }
        }
        lookups_per_region.push(usize::max(disabled_events, 1) + usize::max(deletion_events, 1));
        if rng.u8(..100) < 30 {
            let topic = member.topic(region, "kms-alerts", true).await;
            member
                .rule(region, "kms-disable-delete", CIS_RULE, true, Some(&topic))
                .await;
        }
    }
    (
        member.id.clone(),
        Seeded {
            lookups_per_region,
            alarm_chain,
        },
    )
}
