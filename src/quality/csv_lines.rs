//! The line a CSV record is on, as an editor numbers it.
//!
//! The `csv` crate gives each record the position where its parse began: just after the
//! previous record's first line-end byte. After a CRLF line end (the `\n` is read as the
//! start of the next record) or a blank line, that is a line or more before the record's
//! own, so an error on line 3 of a file saved on Windows was reported on line 2.
//! [`LineEnds`] sits between the file and the CSV reader and notes where the line ends
//! are, so that [`LineEnds::line_of`] can step over those that come before the record.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that notes the offsets of the `\r` and `\n` bytes it hands on, from the start
/// of the last record asked about.
pub struct LineEnds<R> {
    inner: R,
    /// Bytes handed on so far.
    read: u64,
    /// Offsets of the line-end bytes handed on from the start of the last record asked
    /// about, and whether each is `\n`.
    ends: VecDeque<(u64, bool)>,
    /// `\n` bytes before that start.
    lines_before: u64,
}

impl<R: Read> LineEnds<R> {
    pub fn new(inner: R) -> Self {
        LineEnds {
            inner,
            read: 0,
            ends: VecDeque::new(),
            lines_before: 0,
        }
    }

    /// The line (from 1) of the record whose parse began at byte `start` (its `csv`
    /// position): the line of the first byte at or after `start` that ends no line. Records
    /// are asked about in file order.
    pub fn line_of(&mut self, start: u64) -> u64 {
        while let Some(&(offset, newline)) = self.ends.front() {
            if offset >= start {
                break;
            }
            self.lines_before += u64::from(newline);
            self.ends.pop_front();
        }
        // The line ends right at `start`, one after another: a CRLF's `\n`, blank lines.
        let skipped = (self.ends.iter().zip(start..))
            .take_while(|((offset, _), at)| offset == at)
            .filter(|((_, newline), _)| *newline)
            .count();
        self.lines_before + 1 + skipped as u64
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (at, byte) in (self.read..).zip(&buf[..n]) {
            if matches!(byte, b'\r' | b'\n') {
                self.ends.push_back((at, *byte == b'\n'));
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first field of each record and the line `LineEnds` gives it.
    fn lines(text: &str) -> Vec<(String, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineEnds::new(text.as_bytes()));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).expect("reads") {
            let start = record.position().map_or(0, csv::Position::byte);
            let line = reader.get_mut().line_of(start);
            out.push((String::from_utf8_lossy(&record[0]).into_owned(), line));
        }
        out
    }

    fn expected(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(f, l)| (f.to_string(), *l)).collect()
    }

    #[test]
    fn records_get_the_line_they_are_on() {
        let lf = expected(&[("h", 1), ("a", 2), ("b", 3)]);
        assert_eq!(lines("h\na\nb\n"), lf);
        assert_eq!(lines("h\r\na\r\nb\r\n"), lf, "CRLF");
        assert_eq!(
            lines("h\n\na\r\n\r\n\nb\n"),
            expected(&[("h", 1), ("a", 3), ("b", 6)]),
            "blank lines"
        );
        assert_eq!(
            lines("h\r\n\"a\r\nstill a\"\r\nb\r\n"),
            expected(&[("h", 1), ("a\r\nstill a", 2), ("b", 4)]),
            "a quoted field over two lines is on the line it starts"
        );
    }

    #[test]
    fn a_long_file_is_numbered_across_the_reader_s_buffers() {
        let text: String = (0..20_000)
            .map(|n| match n % 3 {
                0 => format!("r{n}\r\n"),
                1 => format!("r{n}\n\n"),
                _ => format!("r{n}\n"),
            })
            .collect();
        let mut line = 1;
        let mut want = Vec::new();
        for n in 0..20_000 {
            want.push((format!("r{n}"), line));
            line += if n % 3 == 1 { 2 } else { 1 };
        }
        assert_eq!(lines(&text), want);
    }
}
