//! A report's rows, reduced to the columns a comparison reads, sorted by
//! what each row stands for ([`RowKey`]) on disk: an external merge sort,
//! so that comparing two reports of a million rows each holds one run's
//! worth of rows in memory, not the reports. Rows are pushed in any order
//! (a report edited, concatenated or written by another tool); two with
//! one key are refused when the runs are merged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;

use super::disk::{RecordReader, RecordWriter, Records};
use super::report_file::{ReadError, RowKey};
use crate::checks::catalog::Status;
use crate::findings::Row;

/// Rows held in memory before they are sorted and written as a run: about
/// 24 MiB (estimated: the rows' text and their structures).
const RUN_BUDGET: usize = 24 << 20;

/// Sorts rows pushed one at a time.
pub struct RowSorter {
    budget: usize,
    buffer: Vec<(RowKey, Row)>,
    buffered: usize,
    runs: Vec<Records>,
}

impl Default for RowSorter {
    fn default() -> Self {
        RowSorter::with_budget(RUN_BUDGET)
    }
}

impl RowSorter {
    /// Runs of about `budget` bytes: tests force many small runs.
    pub(crate) fn with_budget(budget: usize) -> RowSorter {
        RowSorter {
            budget,
            buffer: Vec::new(),
            buffered: 0,
            runs: Vec::new(),
        }
    }

    /// A row in CSV form, with the columns a comparison reads.
    pub fn push(&mut self, row: Row) -> io::Result<()> {
        let key = RowKey::of(&row);
        self.buffered += std::mem::size_of::<(RowKey, Row)>() + text_len(&key, &row);
        self.buffer.push((key, row));
        if self.buffered >= self.budget {
            let run = self.sorted_buffer();
            self.runs.push(write_run(run)?);
        }
        Ok(())
    }

    fn sorted_buffer(&mut self) -> Vec<(RowKey, Row)> {
        self.buffered = 0;
        let mut run = std::mem::take(&mut self.buffer);
        run.sort_by(|a, b| a.0.cmp(&b.0));
        run
    }

    /// Every row, sorted into one file; two rows with one key are an error.
    pub fn finish(mut self) -> Result<SortedRows, ReadError> {
        let memory = self.sorted_buffer();
        let mut sources: Vec<Source> = self
            .runs
            .iter()
            .map(|run| Source::Run(run.reader()))
            .collect();
        sources.push(Source::Memory(memory.into_iter()));
        let mut heads: Vec<Option<(RowKey, Row)>> = Vec::with_capacity(sources.len());
        let mut heap = BinaryHeap::new();
        for (i, source) in sources.iter_mut().enumerate() {
            let head = source.next().map_err(ReadError::Spool)?;
            if let Some((key, _)) = &head {
                heap.push(Reverse((key.clone(), i)));
            }
            heads.push(head);
        }
        let mut out = RecordWriter::new().map_err(ReadError::Spool)?;
        let mut len = 0;
        let mut last: Option<RowKey> = None;
        while let Some(Reverse((_, i))) = heap.pop() {
            let (key, row) = heads[i]
                .take()
                .expect("a head for every source in the heap");
            if last.as_ref() == Some(&key) {
                return Err(ReadError::DuplicateKey {
                    key: key.to_string(),
                });
            }
            write_row(&mut out, &row).map_err(ReadError::Spool)?;
            len += 1;
            let next = sources[i].next().map_err(ReadError::Spool)?;
            if let Some((next_key, _)) = &next {
                heap.push(Reverse((next_key.clone(), i)));
            }
            heads[i] = next;
            last = Some(key);
        }
        Ok(SortedRows {
            records: out.finish().map_err(ReadError::Spool)?,
            len,
        })
    }
}

/// Bytes of text a buffered row holds (its key repeats some of it).
fn text_len(key: &RowKey, row: &Row) -> usize {
    [&key.account_id, &key.region, &key.check_id, &key.subject]
        .into_iter()
        .chain(compared_cells(row))
        .map(|text| text.len())
        .sum()
}

/// The text cells of a row a comparison keeps, in the order a run holds
/// them.
fn compared_cells(row: &Row) -> [&String; 9] {
    [
        &row.account_id,
        &row.account_name,
        &row.region,
        &row.check_id,
        &row.resource_id,
        &row.detail,
        &row.ou_path,
        &row.exception_id,
        &row.exception_state,
    ]
}

fn write_run(run: Vec<(RowKey, Row)>) -> io::Result<Records> {
    let mut out = RecordWriter::new()?;
    for (_, row) in &run {
        write_row(&mut out, row)?;
    }
    out.finish()
}

/// The compared columns of a row (the others are empty in a row read for
/// a comparison).
fn write_row(out: &mut RecordWriter, row: &Row) -> io::Result<()> {
    for text in compared_cells(row) {
        out.str(text)?;
    }
    out.byte(status_byte(Some(row.status)))
}

fn read_row(input: &mut RecordReader<'_>) -> io::Result<Option<(RowKey, Row)>> {
    let Some(account_id) = input.next_str()? else {
        return Ok(None);
    };
    let mut row = Row {
        scan_id: String::new(),
        scan_time: String::new(),
        account_id,
        account_name: input.str()?,
        region: input.str()?,
        check_id: input.str()?,
        status: Status::Pass,
        severity: String::new(),
        resource_id: input.str()?,
        title: String::new(),
        detail: input.str()?,
        remediation: String::new(),
        controls: String::new(),
        ou_path: input.str()?,
        exception_id: input.str()?,
        exception_state: input.str()?,
    };
    row.status = status_of(input.byte()?)?.ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "a sorted row without a status")
    })?;
    Ok(Some((RowKey::of(&row), row)))
}

/// A status as one byte: 0 for none, then [`Status::ALL`]'s order.
pub(super) fn status_byte(status: Option<Status>) -> u8 {
    status.map_or(0, |status| {
        Status::ALL
            .iter()
            .position(|s| *s == status)
            .map_or(0, |i| i as u8 + 1)
    })
}

pub(super) fn status_of(byte: u8) -> io::Result<Option<Status>> {
    match byte {
        0 => Ok(None),
        n => Status::ALL
            .get(usize::from(n) - 1)
            .copied()
            .map(Some)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "an unknown status byte")),
    }
}

enum Source<'a> {
    Run(RecordReader<'a>),
    Memory(std::vec::IntoIter<(RowKey, Row)>),
}

impl Source<'_> {
    fn next(&mut self) -> io::Result<Option<(RowKey, Row)>> {
        match self {
            Source::Run(input) => read_row(input),
            Source::Memory(rows) => Ok(rows.next()),
        }
    }
}

/// A report's rows, sorted by key, one key once.
#[derive(Debug, Clone)]
pub struct SortedRows {
    records: Records,
    len: usize,
}

impl SortedRows {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows in key order, read from disk: as often as needed.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<(RowKey, Row)>> + '_ {
        let mut input = self.records.reader();
        std::iter::from_fn(move || read_row(&mut input).transpose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::CheckId;
    use crate::history::fixtures::row;

    /// A row as a comparison reads it: only the compared columns.
    fn key_row(account: &str, check: CheckId, resource: &str, detail: &str) -> Row {
        Row {
            account_id: account.into(),
            scan_id: String::new(),
            scan_time: String::new(),
            severity: String::new(),
            title: String::new(),
            remediation: String::new(),
            controls: String::new(),
            ..row(check.as_str(), Status::Warn, resource, detail)
        }
    }

    #[test]
    fn rows_come_back_sorted_by_key_whatever_the_runs() {
        let mut rows = Vec::new();
        for account in ["333333333333", "111111111111", "222222222222"] {
            for key in ["k3", "k1", "k2"] {
                rows.push(key_row(account, CheckId::KeyState, key, "d"));
            }
            rows.push(key_row(account, CheckId::KmsEventsLogged, "", "trail"));
        }
        let expected: Vec<RowKey> = {
            let mut keys: Vec<RowKey> = rows.iter().map(RowKey::of).collect();
            keys.sort();
            keys
        };
        // One run, a run per row, and runs of a few rows.
        for budget in [usize::MAX, 1, 3 * std::mem::size_of::<(RowKey, Row)>()] {
            let mut sorter = RowSorter::with_budget(budget);
            for row in &rows {
                sorter.push(row.clone()).unwrap();
            }
            let sorted = sorter.finish().unwrap();
            assert_eq!(sorted.len(), rows.len());
            let keys: Vec<RowKey> = sorted.iter().map(|r| r.unwrap().0).collect();
            assert_eq!(keys, expected, "budget {budget}");
            // The rows themselves read back whole.
            let again: Vec<Row> = sorted.iter().map(|r| r.unwrap().1).collect();
            for row in &rows {
                assert!(again.contains(row), "{row:?} lost");
            }
        }
    }

    #[test]
    fn two_rows_with_one_key_are_refused_even_in_different_runs() {
        let twice = key_row("111111111111", CheckId::KmsKeyRecording, "a", "x");
        let mut other = twice.clone();
        other.resource_id = "b".into();
        other.status = Status::Fail;
        for budget in [usize::MAX, 1] {
            let mut sorter = RowSorter::with_budget(budget);
            for row in [
                twice.clone(),
                key_row("2", CheckId::KeyState, "k", ""),
                other.clone(),
            ] {
                sorter.push(row).unwrap();
            }
            let refused = sorter.finish();
            assert!(
                matches!(&refused, Err(ReadError::DuplicateKey { key }) if key == "111111111111 us-east-1 config.kms_key_recording"),
                "budget {budget}: {refused:?}"
            );
        }
    }

    #[test]
    fn no_rows_is_an_empty_report() {
        let sorted = RowSorter::default().finish().unwrap();
        assert!(sorted.is_empty());
        assert_eq!(sorted.iter().count(), 0);
    }

    #[test]
    fn status_bytes_round_trip() {
        for status in Status::ALL.map(Some).into_iter().chain([None]) {
            assert_eq!(status_of(status_byte(status)).unwrap(), status);
        }
        assert!(status_of(99).is_err());
    }
}
