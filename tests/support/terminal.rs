//! The binary on a pseudo-terminal, as a person runs it: stdin, stdout and
//! stderr on the terminal's slave side, which is also its controlling
//! terminal, so that Ctrl-C typed on the master side reaches it as SIGINT
//! the way a shell's foreground job gets it. The master side is read as
//! the person would see it (with the terminal's `\r\n` line endings).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Columns of the test terminal: wide enough for the whole progress line.
pub const COLUMNS: u16 = 200;

/// A child running on a pseudo-terminal, and what it has shown so far.
pub struct OnTerminal {
    child: Child,
    master: File,
    shown: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl OnTerminal {
    /// Starts `cmd` on a new pseudo-terminal of [`COLUMNS`] columns.
    pub fn start(mut cmd: Command) -> OnTerminal {
        let (master, slave) = open_pty();
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup the pty slave"));
        cmd.stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec:
        // setsid and ioctl.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own, with the terminal (its stdin) as
                // the controlling terminal: Ctrl-C on it sends SIGINT here.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start the binary on a pty");
        // Only the child holds the slave now: its exit ends the reads.
        drop(cmd);
        drop(slave);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut reading = master.try_clone().expect("dup the pty master");
        let sink = Arc::clone(&shown);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child (the last holder of the slave) is gone.
            while let Ok(n) = reading.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTerminal {
            child,
            master,
            shown,
            reader: Some(reader),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the terminal has shown so far.
    pub fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal shows `needle`; fails the test after
    /// `timeout`, with what it showed.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.shown().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the terminal did not show {needle:?} within {timeout:?}:\n{}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types Ctrl-C.
    pub fn ctrl_c(&mut self) {
        self.master.write_all(&[0x03]).expect("type Ctrl-C");
    }

    /// Waits for the child to end (killing it and failing the test after
    /// `timeout`), and returns its status and everything the terminal
    /// showed.
    pub fn finish(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the binary did not finish within {timeout:?}; the terminal showed:\n{}",
                    self.shown()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.shown())
    }
}

/// A new pseudo-terminal: (master, slave).
fn open_pty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 50,
        ws_col: COLUMNS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes the two descriptors it opens into the ints
    // passed; the name buffer and termios may be null; the winsize is read.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Whether `text` holds an escape sequence (ESC, 0x1b) of any kind.
pub fn has_escape(text: &str) -> bool {
    text.contains('\u{1b}')
}
