//! The changed rows of a comparison, kept on disk: a week in which every
//! row changed (a previous report of another scope, say) has as many as
//! the report has rows. One file per [`ChangeKind`], each written in key
//! order, so reading the kinds in order gives the changes sorted by kind,
//! then account, region, check (catalogue order) and subject; only the
//! counts stay in memory.

use std::io;

use super::diff::{Change, ChangeKind};
use super::disk::{RecordReader, RecordWriter, Records};
use super::report_file::RowKey;
use super::sorted::{status_byte, status_of};

/// Collects changes, each kind in the order they are pushed (key order).
pub struct ChangeListWriter {
    kinds: Vec<Option<RecordWriter>>,
    counts: [usize; ChangeKind::ALL.len()],
}

impl ChangeListWriter {
    pub fn new() -> ChangeListWriter {
        ChangeListWriter {
            kinds: ChangeKind::ALL.iter().map(|_| None).collect(),
            counts: [0; ChangeKind::ALL.len()],
        }
    }

    pub fn push(&mut self, change: &Change) -> io::Result<()> {
        let at = change.kind.index();
        let out = match &mut self.kinds[at] {
            Some(out) => out,
            slot => slot.insert(RecordWriter::new()?),
        };
        write_change(out, change)?;
        self.counts[at] += 1;
        Ok(())
    }

    pub fn finish(self) -> io::Result<ChangeList> {
        let kinds = self
            .kinds
            .into_iter()
            .map(|out| out.map(RecordWriter::finish).transpose())
            .collect::<io::Result<_>>()?;
        Ok(ChangeList {
            kinds,
            counts: self.counts,
        })
    }
}

/// The changes of a comparison, read back from disk as often as needed.
#[derive(Debug)]
pub struct ChangeList {
    kinds: Vec<Option<Records>>,
    counts: [usize; ChangeKind::ALL.len()],
}

impl ChangeList {
    pub fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.counts[kind.index()]
    }

    /// Every change, by kind, then key.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<Change>> + '_ {
        ChangeKind::ALL
            .into_iter()
            .flat_map(move |kind| self.of_kind(kind))
    }

    /// The changes of one kind, by key.
    pub fn of_kind(&self, kind: ChangeKind) -> impl Iterator<Item = io::Result<Change>> + '_ {
        let mut input = self.kinds[kind.index()].as_ref().map(Records::reader);
        std::iter::from_fn(move || read_change(input.as_mut()?, kind).transpose())
    }
}

fn write_change(out: &mut RecordWriter, change: &Change) -> io::Result<()> {
    for text in [
        &change.key.account_id,
        &change.key.region,
        &change.key.check_id,
        &change.key.subject,
        &change.account_name,
        &change.resource_id,
        &change.old_detail,
        &change.new_detail,
    ] {
        out.str(text)?;
    }
    out.byte(status_byte(change.old_status))?;
    out.byte(status_byte(change.new_status))
}

fn read_change(input: &mut RecordReader<'_>, kind: ChangeKind) -> io::Result<Option<Change>> {
    let Some(account_id) = input.next_str()? else {
        return Ok(None);
    };
    let (region, check_id, subject) = (input.str()?, input.str()?, input.str()?);
    Ok(Some(Change {
        kind,
        key: RowKey::new(account_id, region, check_id, subject),
        account_name: input.str()?,
        resource_id: input.str()?,
        old_detail: input.str()?,
        new_detail: input.str()?,
        old_status: status_of(input.byte()?)?,
        new_status: status_of(input.byte()?)?,
    }))
}
