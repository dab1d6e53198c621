//! Findings parked on disk while the scan runs, so that its memory does not
//! grow with the organisation: an account has about 32 rows of about half a
//! kilobyte each in memory, 16 MB at 1,000 accounts and growing with every
//! one (docs/performance.md).
//!
//! Each account's findings become one block of an unnamed temporary file,
//! which the kernel removes when the process ends, killed or not. The report
//! reads the blocks back in account order.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;

use crate::checks::{self, Finding};
use crate::findings::FindingRows;

pub struct FindingSpool {
    file: BufWriter<File>,
    blocks: Vec<Block>,
    written: u64,
}

/// One account's findings, sorted, as JSON.
struct Block {
    account_id: String,
    offset: u64,
    len: usize,
}

impl FindingSpool {
    /// In the system's temporary directory (`TMPDIR`).
    pub fn new() -> io::Result<Self> {
        Ok(FindingSpool {
            file: BufWriter::new(tempfile::tempfile()?),
            blocks: Vec::new(),
            written: 0,
        })
    }

    /// The findings of one account, all of them at once: the report order
    /// is by account first, so sorted blocks in account order are sorted
    /// rows.
    pub fn push_account(&mut self, findings: &mut [Finding]) -> io::Result<()> {
        checks::sort(findings);
        let Some(first) = findings.first() else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(findings)?;
        self.file.write_all(&bytes)?;
        self.blocks.push(Block {
            account_id: first.account_id.clone(),
            offset: self.written,
            len: bytes.len(),
        });
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// The findings, ready to read in report order.
    pub fn finish(self) -> io::Result<SpooledFindings> {
        let file = self.file.into_inner().map_err(|err| err.into_error())?;
        let mut blocks = self.blocks;
        blocks.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        Ok(SpooledFindings { file, blocks })
    }
}

/// A finished spool; every read goes back to the file.
pub struct SpooledFindings {
    file: File,
    blocks: Vec<Block>,
}

impl SpooledFindings {
    fn read(&self, block: &Block) -> io::Result<Vec<Finding>> {
        let mut bytes = vec![0; block.len];
        self.file.read_exact_at(&mut bytes, block.offset)?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

impl FindingRows for SpooledFindings {
    fn rows(&self) -> Box<dyn Iterator<Item = io::Result<Finding>> + '_> {
        Box::new(Rows {
            spool: self,
            blocks: self.blocks.iter(),
            current: Vec::new().into_iter(),
        })
    }
}

struct Rows<'a> {
    spool: &'a SpooledFindings,
    blocks: std::slice::Iter<'a, Block>,
    current: std::vec::IntoIter<Finding>,
}

impl Iterator for Rows<'_> {
    type Item = io::Result<Finding>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(finding) = self.current.next() {
                return Some(Ok(finding));
            }
            match self.spool.read(self.blocks.next()?) {
                Ok(findings) => self.current = findings.into_iter(),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::{CheckId, Status};

    fn finding(account: &str, region: &str, check: CheckId, detail: &str) -> Finding {
        Finding {
            account_id: account.into(),
            account_name: format!("name of {account}"),
            ou_path: "Root".into(),
            ou_id: "r-ab12".into(),
            region: region.into(),
            detail: detail.into(),
            ..crate::checks::fixtures::finding(check, Status::Pass)
        }
    }

    fn read_all(spooled: &SpooledFindings) -> Vec<Finding> {
        spooled
            .rows()
            .collect::<io::Result<_>>()
            .expect("spool reads back")
    }

    #[test]
    fn accounts_pushed_in_any_order_read_back_in_report_order_twice() {
        let mut accounts = [
            vec![
                finding("333333333333", "us-east-1", CheckId::KmsKeyRecording, "c"),
                finding("333333333333", "eu-west-1", CheckId::KmsEventsLogged, "b"),
            ],
            vec![],
            vec![
                finding(
                    "111111111111",
                    "us-east-1",
                    CheckId::KmsEventsLogged,
                    "\"quoted\" é",
                ),
                finding("111111111111", "eu-west-1", CheckId::KmsEventsLogged, "a"),
            ],
            vec![finding(
                "222222222222",
                "global",
                CheckId::AccountAccess,
                "",
            )],
        ];
        let mut expected: Vec<Finding> = accounts.iter().flatten().cloned().collect();
        checks::sort(&mut expected);

        let mut spool = FindingSpool::new().expect("temporary file");
        for findings in &mut accounts {
            spool.push_account(findings).expect("push");
        }
        let spooled = spool.finish().expect("finish");

        assert_eq!(read_all(&spooled), expected);
        assert_eq!(read_all(&spooled), expected, "a second pass reads the same");
    }

    #[test]
    fn an_empty_spool_has_no_rows() {
        let spooled = FindingSpool::new()
            .expect("temporary file")
            .finish()
            .expect("finish");
        assert_eq!(spooled.rows().count(), 0);
    }
}
