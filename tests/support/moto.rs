//! Starts `moto_server` (pinned, installed into .tools/venv by
//! scripts/install-tools.sh) on loopback, and stops it on drop.
//!
//! moto binds port 0 itself and announces the port the system gave it
//! (`Running on http://127.0.0.1:<port>`), so no other test can take the
//! port between choosing it and binding it. Its output is kept: a test that
//! fails shows moto's state and the end of its log.
//!
//! Tests share moto processes ([`Moto::for_test`]): a finished test gives
//! its moto back, and the next one resets it to empty (`POST
//! /moto-api/reset`) instead of starting a new one. A fresh moto imports
//! each service's backend on first use, which cost 1.7 CPU-seconds for
//! the twelve services the tests touch (0.1 s after a reset), and most of
//! the suite's CPU went there. Every moto dies with the test process,
//! however that ends (`PR_SET_PDEATHSIG`, set from a thread that lives as
//! long as the process).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// How long moto may take to start (a Python import of every backend, on a
/// loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The end of moto's output kept for failure messages: it logs a line per
/// request, and the benchmark makes hundreds of thousands.
const LOG_TAIL_BYTES: usize = 64 * 1024;

pub struct Moto {
    pub addr: SocketAddr,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Shown with the failed test's output.
            eprintln!("{}", self.diagnosis());
        }
        // A moto that already exited cannot be killed; the wait reaps it
        // either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto_server not found at {}: these tests need the AWS API emulator. \
         Install it with `scripts/install-tools.sh` (pinned moto[server]), \
         or point MOTO_SERVER at a moto_server binary.",
        path.display()
    );
    path
}

/// The port in moto's (werkzeug's) start-up line
/// ` * Running on http://127.0.0.1:40123`.
fn announced_port(line: &str) -> Option<u16> {
    line.split("Running on http://127.0.0.1:")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn keep_tail(log: &Mutex<String>, line: &str) {
    let mut log = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    log.push_str(line);
    log.push('\n');
    if log.len() > 2 * LOG_TAIL_BYTES {
        let mut cut = log.len() - LOG_TAIL_BYTES;
        while !log.is_char_boundary(cut) {
            cut += 1;
        }
        log.drain(..cut);
    }
}

/// Motos that finished tests gave back, each empty once reset.
static POOL: Mutex<Vec<Moto>> = Mutex::new(Vec::new());

/// A moto lent to one test: given back to [`POOL`] when the test is done,
/// unless it failed (its moto's state and log stay with its report) or
/// moto has exited.
pub struct TestMoto(Option<Moto>);

impl std::ops::Deref for TestMoto {
    type Target = Moto;

    fn deref(&self) -> &Moto {
        self.0.as_ref().expect("a lent moto")
    }
}

impl std::ops::DerefMut for TestMoto {
    fn deref_mut(&mut self) -> &mut Moto {
        self.0.as_mut().expect("a lent moto")
    }
}

impl Drop for TestMoto {
    fn drop(&mut self) {
        let Some(mut moto) = self.0.take() else {
            return;
        };
        if !std::thread::panicking() && matches!(moto.child.try_wait(), Ok(None)) {
            POOL.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(moto);
        }
    }
}

/// Starts `cmd` from one thread that lives as long as the process, with
/// `PR_SET_PDEATHSIG`: the kernel kills the child when that thread ends,
/// that is when the test process exits, even by a signal. (The signal is
/// tied to the spawning thread, so a test's own thread would not do.)
fn spawn_owned(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                // SAFETY: prctl only, which is async-signal-safe.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("the moto spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the moto spawner thread is gone"))?
}

impl Moto {
    /// A moto for one test: an empty one a finished test gave back, or a
    /// new one.
    pub fn for_test() -> TestMoto {
        loop {
            let lent = POOL.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let Some(mut moto) = lent else {
                return TestMoto(Some(Moto::start()));
            };
            // One that cannot be reset is dropped (killed); try the next.
            if moto.reset().is_ok() {
                moto.log
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                return TestMoto(Some(moto));
            }
        }
    }

    /// Empties every backend: the state of the test that used it is gone.
    fn reset(&mut self) -> io::Result<()> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "POST /moto-api/reset HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "moto's reset answered {:?}",
                answer.lines().next().unwrap_or_default()
            )))
        }
    }

    pub fn start() -> Moto {
        let binary = moto_binary();
        // A clean environment: moto reads AWS_* variables (region, account)
        // that must not leak in from the caller.
        let mut cmd = Command::new(&binary);
        cmd.env_clear()
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child =
            spawn_owned(cmd).unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("moto's stderr pipe");
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let reader_log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = announced_port(&line) {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(port);
                    }
                }
                keep_tail(&reader_log, &line);
            }
            // The pipe closed: moto exited. Dropping the sender tells a
            // start still waiting for the port.
        });
        let mut moto = Moto {
            addr: ([127, 0, 0, 1], 0).into(),
            child,
            log,
        };
        match port_rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => moto.addr.set_port(port),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "moto_server announced no port within {START_TIMEOUT:?}\n{}",
                    moto.diagnosis()
                )
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Give the exit status a moment to be reapable.
                std::thread::sleep(Duration::from_millis(200));
                panic!("moto_server exited before serving\n{}", moto.diagnosis())
            }
        }
        moto.assert_alive();
        moto
    }

    /// Panics, with moto's log, if moto has exited.
    pub fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("moto_server exited ({status})\n{}", self.diagnosis());
        }
    }

    /// moto's state and the end of its log.
    pub fn diagnosis(&mut self) -> String {
        let state = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited ({status})"),
            Ok(None) => "running".to_string(),
            Err(e) => format!("state unknown ({e})"),
        };
        let log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        format!(
            "moto_server at {} is {state}; the end of its log:\n{log}",
            self.addr
        )
    }
}
