//! What a run has done so far and what it is doing now, for the person
//! waiting on it: accounts and account-regions started and done, the
//! requests, retries and throttling answers of every throttle the run uses,
//! and what is in flight (which accounts, which calls), named when a run is
//! interrupted or passes its deadline. Written by the scan and the job,
//! read by whoever shows it (the binary's progress line and log lines).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::aws::throttle::{Activity, CallInFlight, Throttle};

/// A run's progress, shared by the run and its watchers.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    phase: AtomicU8,
    /// Accounts whose scan started (listed, selected and active).
    accounts_started: AtomicUsize,
    accounts_done: AtomicUsize,
    /// Whether the organisation's listing has ended: no account will start
    /// after those started.
    listing_done: AtomicBool,
    account_regions_started: AtomicUsize,
    account_regions_done: AtomicUsize,
    /// Every throttle the run sends requests through.
    throttles: Mutex<Vec<Arc<Throttle>>>,
    /// Accounts being scanned now: id and name.
    accounts_in_flight: Mutex<BTreeMap<String, String>>,
}

/// What a run is doing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the exceptions file and the previous report.
    Preparing,
    /// Collecting facts, account by account.
    Scanning,
    /// Writing the report into the local directory.
    Writing,
    /// Uploading, importing into Security Hub, publishing.
    Delivering,
}

impl Phase {
    const ALL: [Phase; 4] = [
        Phase::Preparing,
        Phase::Scanning,
        Phase::Writing,
        Phase::Delivering,
    ];

    /// The phase as a gerund: "interrupted while scanning".
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preparing => "reading the exceptions file and the previous report",
            Phase::Scanning => "scanning",
            Phase::Writing => "writing the report",
            Phase::Delivering => "delivering the report",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The progress at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub phase: Phase,
    pub elapsed: Duration,
    pub accounts_started: usize,
    pub accounts_done: usize,
    /// Whether more accounts may yet start.
    pub listing: bool,
    pub account_regions_started: usize,
    pub account_regions_done: usize,
    pub activity: Activity,
}

/// What was under way at one moment, for the line that says what a
/// stopped run left unfinished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InFlight {
    /// Accounts being scanned: id and name.
    pub accounts: Vec<(String, String)>,
    /// Calls under way, by account, region and API.
    pub calls: Vec<CallInFlight>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            started: Instant::now(),
            phase: AtomicU8::new(0),
            accounts_started: AtomicUsize::new(0),
            accounts_done: AtomicUsize::new(0),
            listing_done: AtomicBool::new(false),
            account_regions_started: AtomicUsize::new(0),
            account_regions_done: AtomicUsize::new(0),
            throttles: Mutex::new(Vec::new()),
            accounts_in_flight: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Progress {
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    pub fn set_phase(&self, phase: Phase) {
        let index = Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0);
        self.phase.store(index as u8, Ordering::Relaxed);
    }

    pub fn phase(&self) -> Phase {
        Phase::ALL
            .get(usize::from(self.phase.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or(Phase::Preparing)
    }

    /// Counts the requests of `throttle` in the run's, and its calls in
    /// what is in flight.
    pub fn watch(&self, throttle: &Arc<Throttle>) {
        lock(&self.throttles).push(Arc::clone(throttle));
    }

    /// An account's scan starts; it counts as in flight until the guard is
    /// dropped, as done only once [`AccountInFlight::done`] says so.
    pub fn account_started(&self, id: &str, name: &str) -> AccountInFlight<'_> {
        self.accounts_started.fetch_add(1, Ordering::Relaxed);
        lock(&self.accounts_in_flight).insert(id.to_string(), name.to_string());
        AccountInFlight {
            progress: self,
            id: id.to_string(),
            regions: 0,
        }
    }

    pub fn accounts_done(&self) -> usize {
        self.accounts_done.load(Ordering::Relaxed)
    }

    /// The organisation's listing has ended.
    pub fn listing_done(&self) {
        self.listing_done.store(true, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let activity = lock(&self.throttles).iter().map(|t| t.activity()).fold(
            Activity::default(),
            |sum, a| Activity {
                requests: sum.requests + a.requests,
                retries: sum.retries + a.retries,
                throttled: sum.throttled + a.throttled,
            },
        );
        Snapshot {
            phase: self.phase(),
            elapsed: self.started.elapsed(),
            accounts_started: self.accounts_started.load(Ordering::Relaxed),
            accounts_done: self.accounts_done.load(Ordering::Relaxed),
            listing: !self.listing_done.load(Ordering::Relaxed),
            account_regions_started: self.account_regions_started.load(Ordering::Relaxed),
            account_regions_done: self.account_regions_done.load(Ordering::Relaxed),
            activity,
        }
    }

    /// The accounts and calls under way now.
    pub fn in_flight(&self) -> InFlight {
        let accounts = lock(&self.accounts_in_flight)
            .iter()
            .map(|(id, name)| (id.clone(), name.clone()))
            .collect();
        let mut calls: Vec<CallInFlight> = lock(&self.throttles)
            .iter()
            .flat_map(|t| t.in_flight())
            .collect();
        calls.sort();
        InFlight { accounts, calls }
    }
}

/// An account being scanned; dropped, it no longer is.
pub struct AccountInFlight<'a> {
    progress: &'a Progress,
    id: String,
    regions: usize,
}

impl AccountInFlight<'_> {
    /// Its regions to scan are known.
    pub fn regions(&mut self, count: usize) {
        self.regions = count;
        self.progress
            .account_regions_started
            .fetch_add(count, Ordering::Relaxed);
    }

    /// Its scan ended, however it went.
    pub fn done(self) {
        self.progress
            .account_regions_done
            .fetch_add(self.regions, Ordering::Relaxed);
        self.progress.accounts_done.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for AccountInFlight<'_> {
    fn drop(&mut self) {
        lock(&self.progress.accounts_in_flight).remove(&self.id);
    }
}

impl InFlight {
    /// At most `most` accounts and calls, the rest counted: one line,
    /// however many thousand calls a large scan has in flight.
    pub fn describe(&self, most: usize) -> String {
        let mut parts = Vec::new();
        if !self.accounts.is_empty() {
            let named: Vec<String> = self
                .accounts
                .iter()
                .take(most)
                .map(|(id, name)| match name.as_str() {
                    "" => id.clone(),
                    name => format!("{id} ({})", crate::findings::printable(name)),
                })
                .collect();
            parts.push(format!(
                "{} account(s) in flight: {}{}",
                self.accounts.len(),
                named.join(", "),
                more(self.accounts.len(), most)
            ));
        }
        if !self.calls.is_empty() {
            let named: Vec<String> = self
                .calls
                .iter()
                .take(most)
                .map(|call| {
                    let times = if call.count > 1 {
                        format!(" ×{}", call.count)
                    } else {
                        String::new()
                    };
                    format!("{} in {} {}{times}", call.api, call.account_id, call.region)
                })
                .collect();
            let total: usize = self.calls.iter().map(|c| c.count).sum();
            parts.push(format!(
                "{total} call(s) in flight: {}{}",
                named.join(", "),
                more(self.calls.len(), most)
            ));
        }
        if parts.is_empty() {
            "nothing in flight".into()
        } else {
            parts.join("; ")
        }
    }
}

fn more(total: usize, shown: usize) -> String {
    if total > shown {
        format!(" and {} more", total - shown)
    } else {
        String::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every operation under these locks is one push, insert or remove.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_count_as_in_flight_until_dropped_and_as_done_when_said() {
        let progress = Progress::new();
        let mut first = progress.account_started("111122223333", "prod");
        first.regions(3);
        let second = progress.account_started("444455556666", "");
        let in_flight = progress.in_flight();
        assert_eq!(in_flight.accounts.len(), 2);
        assert_eq!(
            in_flight.describe(5),
            "2 account(s) in flight: 111122223333 (prod), 444455556666"
        );
        first.done();
        // Dropped without being done: an interrupted account.
        drop(second);
        let snapshot = progress.snapshot();
        assert_eq!(
            (
                snapshot.accounts_started,
                snapshot.accounts_done,
                snapshot.account_regions_started,
                snapshot.account_regions_done
            ),
            (2, 1, 3, 3)
        );
        assert_eq!(progress.in_flight(), InFlight::default());
        assert_eq!(progress.in_flight().describe(5), "nothing in flight");
    }

    #[test]
    fn a_long_list_is_cut_and_counted() {
        let in_flight = InFlight {
            accounts: Vec::new(),
            calls: (0..4)
                .map(|i| CallInFlight {
                    account_id: format!("11112222333{i}"),
                    region: "us-east-1".into(),
                    api: "kms:ListKeys".into(),
                    count: 2,
                })
                .collect(),
        };
        assert_eq!(
            in_flight.describe(2),
            "8 call(s) in flight: kms:ListKeys in 111122223330 us-east-1 ×2, \
             kms:ListKeys in 111122223331 us-east-1 ×2 and 2 more"
        );
    }

    #[test]
    fn the_phase_reads_back() {
        let progress = Progress::new();
        assert_eq!(progress.phase(), Phase::Preparing);
        for phase in Phase::ALL {
            progress.set_phase(phase);
            assert_eq!(progress.phase(), phase);
        }
    }
}
