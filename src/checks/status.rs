//! A row's status, and how many rows have each: the order PASS, FAIL,
//! WARN, ERROR is written once, in [`Status::ALL`], and every count, table
//! and map of the report follows it.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pass, Status::Fail, Status::Warn, Status::Error];

    /// The statuses from worst to best: the order of "worst status", where
    /// a FAIL is worse than an ERROR (an ERROR may yet pass).
    pub const WORST_FIRST: [Status; 4] = [Status::Fail, Status::Error, Status::Warn, Status::Pass];

    /// Its place in [`Status::ALL`], the declaration order.
    fn index(self) -> usize {
        self as usize
    }

    /// 0 for the worst status, by [`Status::WORST_FIRST`].
    pub fn rank(self) -> usize {
        Status::WORST_FIRST
            .iter()
            .position(|s| *s == self)
            .unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Error => "ERROR",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rows counted by status: every status present, zero or not, in
/// [`Status::ALL`] order. In `findings.json` it is the object
/// `{"PASS": n, "FAIL": n, "WARN": n, "ERROR": n}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts([usize; 4]);

impl StatusCounts {
    pub fn add(&mut self, status: Status) {
        self.0[status.index()] += 1;
    }

    pub fn get(&self, status: Status) -> usize {
        self.0[status.index()]
    }

    /// Every status with its count, in [`Status::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Status, usize)> + '_ {
        Status::ALL
            .into_iter()
            .map(|status| (status, self.get(status)))
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    /// The worst status counted at least once, by
    /// [`Status::WORST_FIRST`]; `None` when nothing was.
    pub fn worst(&self) -> Option<Status> {
        Status::WORST_FIRST
            .into_iter()
            .find(|status| self.get(*status) > 0)
    }
}

impl Serialize for StatusCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Status::ALL.len()))?;
        for (status, count) in self.iter() {
            map.serialize_entry(&status, &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_counted_and_serialised_in_report_order() {
        let mut counts = StatusCounts::default();
        counts.add(Status::Error);
        counts.add(Status::Pass);
        counts.add(Status::Pass);
        assert_eq!(counts.get(Status::Pass), 2);
        assert_eq!(counts.get(Status::Fail), 0);
        assert_eq!(counts.total(), 3);
        assert_eq!(
            serde_json::to_string(&counts).unwrap(),
            r#"{"PASS":2,"FAIL":0,"WARN":0,"ERROR":1}"#
        );
    }

    #[test]
    fn the_worst_status_is_fail_then_error_then_warn_then_pass() {
        let mut counts = StatusCounts::default();
        assert_eq!(counts.worst(), None);
        counts.add(Status::Pass);
        assert_eq!(counts.worst(), Some(Status::Pass));
        counts.add(Status::Warn);
        assert_eq!(counts.worst(), Some(Status::Warn));
        counts.add(Status::Error);
        assert_eq!(counts.worst(), Some(Status::Error));
        counts.add(Status::Fail);
        assert_eq!(counts.worst(), Some(Status::Fail));
        assert!(Status::Fail.rank() < Status::Error.rank());
        for status in Status::ALL {
            assert_eq!(Status::ALL[status.index()], status);
        }
    }
}
