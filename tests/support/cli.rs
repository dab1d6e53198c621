//! Running the `cmkscan` binary in tests: a clean environment pointed at
//! the emulator, a timeout, and the assertions every CLI test makes (exit
//! code, one-line reason, files written or left alone, a scan and its
//! re-evaluation byte for byte).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::REGION;

/// The `cmkscan` binary, pointed at the emulator at `endpoint` with its
/// test credentials and region, in an environment that holds nothing else:
/// no ambient `AWS_*` variable, profile, config file, metadata service,
/// `RUST_LOG` or cmkscan variable. Callers add the arguments and any further
/// environment.
// Cargo sets CARGO_BIN_EXE_cmkscan for integration tests and benchmarks, not
// for the example that also includes this module, where `env!` would not
// compile; the example never calls this.
#[allow(clippy::option_env_unwrap)]
pub fn cmkscan_command(endpoint: &str) -> Command {
    let binary = option_env!("CARGO_BIN_EXE_cmkscan")
        .expect("CARGO_BIN_EXE_cmkscan: only integration tests and benchmarks run the binary");
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        // Three attempts, not the binary's default eight: a permanent fault
        // fails fast. Tests of the default remove the variable.
        .env("AWS_MAX_ATTEMPTS", "3")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Empty files: no profile, and no warning about a missing file.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

/// Runs `cmd` to completion with no stdin, collecting its output; kills it
/// (and fails the test, with what it wrote to stderr) if it outlives
/// `timeout`. Blocking: async tests call it through `spawn_blocking`.
pub fn output_within(mut cmd: Command, timeout: Duration) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout pipe");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .unwrap_or_else(|e| panic!("wait for {program}: {e}"))
        {
            break status;
        }
        if Instant::now() > deadline {
            // Already gone if it exited in between; the wait reaps it.
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "{program} did not finish within {timeout:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// A loopback endpoint that refuses every connection, for runs that must
/// not reach AWS. The port stays bound (but not listening) while this
/// lives, so no other test's server can be given it meanwhile.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub endpoint: String,
}

impl ClosedPort {
    pub fn bind() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let addr = socket.local_addr().expect("local address");
        ClosedPort {
            _socket: socket,
            endpoint: format!("http://{addr}"),
        }
    }
}

/// Generous: a scan of one region of a small organisation takes seconds.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the command to completion on a blocking thread, killing it (and
/// failing the test) if it outlives `timeout`.
pub async fn run_within(cmd: Command, timeout: Duration) -> Output {
    match tokio::task::spawn_blocking(move || output_within(cmd, timeout)).await {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("cmkscan runner task: {e}"),
    }
}

pub async fn run(cmd: Command) -> Output {
    run_within(cmd, TIMEOUT).await
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        describe(output)
    );
}

/// A failure is reported as exactly one `cmkscan: …` line, the last one on
/// stderr, and it contains `needle`.
pub fn assert_one_line_reason(output: &Output, needle: &str) -> String {
    let stderr = text(&output.stderr);
    let reasons: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("cmkscan: "))
        .collect();
    assert_eq!(reasons.len(), 1, "{}", describe(output));
    assert_eq!(
        stderr.lines().last(),
        Some(reasons[0]),
        "the reason must be a single line, the last one: {}",
        describe(output)
    );
    assert!(reasons[0].contains(needle), "{}", describe(output));
    reasons[0].to_string()
}

/// Each failed request is told once, not again as the error's source.
pub fn assert_not_repeated(reason: &str) {
    let pieces: Vec<&str> = reason.split(" failed: ").collect();
    let failed: Vec<&str> = pieces[..pieces.len() - 1]
        .iter()
        .filter_map(|p| p.rsplit(' ').next())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = failed.iter().copied().collect();
    assert!(!failed.is_empty(), "no failed request named: {reason}");
    assert_eq!(
        failed.len(),
        distinct.len(),
        "the reason repeats itself: {reason}"
    );
}

pub fn scan_args(cmd: &mut Command, out_dir: &Path) {
    cmd.args(["scan", "--regions", REGION, "--output-dir"])
        .arg(out_dir);
}

/// `cmkscan scan` into `out_dir`, expected to fail at run time: exit 1 and a
/// one-line reason containing `needle`. Returns the output and the reason.
pub async fn scan_failure(endpoint: &str, out_dir: &Path, needle: &str) -> (Output, String) {
    let mut cmd = cmkscan_command(endpoint);
    scan_args(&mut cmd, out_dir);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, needle);
    (output, reason)
}

/// A report file as text; the evidence file decompressed.
pub fn read_report_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap_or_else(|e| panic!("gunzip {}: {e}", path.display()));
        text
    } else {
        bytes
    };
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
}

/// A run that failed before its report must leave nothing behind.
pub fn assert_empty_dir(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").file_name())
        .collect();
    assert!(left.is_empty(), "files left in {}: {left:?}", dir.display());
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

// ---------------------------------------------------------------- usage

/// The scan's evidence in `dir`, `facts.json.gz`, as a JSON document.
pub fn read_facts_json(dir: &Path) -> serde_json::Value {
    let text = read_report_file(&dir.join("facts.json.gz"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("facts.json.gz of {}: {e}", dir.display()))
}

/// `cmkscan evaluate --facts <facts> --output-dir <out_dir> <args>`, with
/// an endpoint that refuses connections: evaluate must not need AWS.
pub async fn evaluate_offline(facts: &Path, out_dir: &Path, args: &[&str]) -> Output {
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.args(["evaluate", "--facts"])
        .arg(facts)
        .arg("--output-dir")
        .arg(out_dir)
        .args(args);
    run(cmd).await
}

/// The report files a scan and its re-evaluation both write.
pub const REPORT_FILES: [&str; 4] = [
    "findings.csv",
    "findings.json",
    "findings.ocsf.json",
    "report.html",
];

/// Each named file is the same, byte for byte, in both directories: a
/// scan's report and its re-evaluation.
pub fn assert_same_files(scanned: &Path, evaluated: &Path, names: &[&str]) {
    for name in names {
        let a = std::fs::read(scanned.join(name))
            .unwrap_or_else(|e| panic!("read {}: {e}", scanned.join(name).display()));
        let b = std::fs::read(evaluated.join(name))
            .unwrap_or_else(|e| panic!("read {}: {e}", evaluated.join(name).display()));
        assert!(
            a == b,
            "{name} differs:\n--- scan\n{}\n--- evaluate\n{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        );
    }
}
