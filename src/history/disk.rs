//! What the comparison keeps on disk instead of in memory (sorted rows,
//! changes): records of length-prefixed strings and bytes in unnamed
//! temporary files (in `TMPDIR`, gone with the process however it ends),
//! each read back from its start as often as needed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Buffers of readers and writers: a few per comparison at once.
const BUFFER: usize = 64 * 1024;

/// A temporary file being written, record by record.
pub struct RecordWriter {
    out: BufWriter<File>,
}

impl RecordWriter {
    pub fn new() -> io::Result<RecordWriter> {
        Ok(RecordWriter {
            out: BufWriter::with_capacity(BUFFER, tempfile::tempfile()?),
        })
    }

    pub fn str(&mut self, text: &str) -> io::Result<()> {
        let len = u32::try_from(text.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a cell over 4 GiB"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(text.as_bytes())
    }

    pub fn byte(&mut self, byte: u8) -> io::Result<()> {
        self.out.write_all(&[byte])
    }

    /// The file, written, to be read back.
    pub fn finish(self) -> io::Result<Records> {
        let file = self.out.into_inner().map_err(|err| err.into_error())?;
        Ok(Records {
            file: Arc::new(file),
        })
    }
}

/// A written file of records; its clones read the same file.
#[derive(Debug, Clone)]
pub struct Records {
    file: Arc<File>,
}

impl Records {
    /// A reader from the first record, independent of any other.
    pub fn reader(&self) -> RecordReader<'_> {
        RecordReader {
            input: BufReader::with_capacity(
                BUFFER,
                At {
                    file: &self.file,
                    offset: 0,
                },
            ),
        }
    }
}

/// Reads a [`Records`] file from its start, by position: several readers
/// of one file do not disturb each other.
pub struct RecordReader<'a> {
    input: BufReader<At<'a>>,
}

impl RecordReader<'_> {
    /// The next string, or `None` at the end of the file (only where a
    /// record starts).
    pub fn next_str(&mut self) -> io::Result<Option<String>> {
        let mut len = [0u8; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(err) => return Err(err),
        }
        let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
        self.input.read_exact(&mut bytes)?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
    }

    /// A string inside a record.
    pub fn str(&mut self) -> io::Result<String> {
        self.next_str()?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "a record cut short"))
    }

    pub fn byte(&mut self) -> io::Result<u8> {
        let mut byte = [0u8; 1];
        self.input.read_exact(&mut byte)?;
        Ok(byte[0])
    }
}

/// A file read from a position of its own.
struct At<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_by_any_number_of_readers() {
        let mut out = RecordWriter::new().unwrap();
        for (text, byte) in [("a", 1), ("", 2), ("été", 3)] {
            out.str(text).unwrap();
            out.byte(byte).unwrap();
        }
        let records = out.finish().unwrap();
        let read_all = || {
            let mut reader = records.reader();
            let mut got = Vec::new();
            while let Some(text) = reader.next_str().unwrap() {
                got.push((text, reader.byte().unwrap()));
            }
            got
        };
        let expected = vec![("a".into(), 1), (String::new(), 2), ("été".into(), 3)];
        assert_eq!(read_all(), expected);
        assert_eq!(read_all(), expected);
    }

    #[test]
    fn a_record_cut_short_is_an_error_not_an_end() {
        let mut out = RecordWriter::new().unwrap();
        out.str("a").unwrap();
        let records = out.finish().unwrap();
        let mut reader = records.reader();
        assert_eq!(reader.next_str().unwrap().as_deref(), Some("a"));
        assert_eq!(
            reader.byte().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
