//! The line a CSV record is on, as an editor numbers it.
//!
//! The `csv` crate gives each record the position where its parse began: just after the
//! previous record's first line-end byte. After a CRLF line end (the `\n` is read as the
//! start of the next record) or a blank line, that is a line or more before the record's
//! own, so an error on line 3 of a file saved on Windows was reported on line 2.
//! [`LineEnds`] sits between the file and the CSV reader and notes the runs of line-end
//! bytes (a lone `\n` needs nothing), so that [`LineEnds::line_of`] can add the lines a
//! record's position stops short of.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that notes, for each run of two or more line-end bytes (`\r`, `\n`) it hands
/// on, how many `\n` follow the run's first byte.
pub struct LineEnds<R> {
    inner: R,
    /// Bytes handed on so far.
    read: u64,
    /// The offset of the last line-end byte handed on, if any.
    last_end: Option<u64>,
    /// Whether the run that byte is in is noted in `runs` (it has two bytes or more).
    run_noted: bool,
    /// For each run from the last record asked about on: the offset after its first byte
    /// (where the next record's parse begins) and the `\n` bytes from there to its end.
    runs: VecDeque<(u64, u64)>,
}

impl<R: Read> LineEnds<R> {
    pub fn new(inner: R) -> Self {
        LineEnds {
            inner,
            read: 0,
            last_end: None,
            run_noted: false,
            runs: VecDeque::new(),
        }
    }

    /// The line (from 1) of the record whose parse began at `position` (its `csv`
    /// position): the line of its first byte that ends no line. Records are asked about in
    /// file order.
    pub fn line_of(&mut self, position: &csv::Position) -> u64 {
        let start = position.byte();
        while self.runs.front().is_some_and(|&(at, _)| at < start) {
            self.runs.pop_front();
        }
        let skipped = match self.runs.front() {
            Some(&(at, newlines)) if at == start => newlines,
            _ => 0,
        };
        position.line() + skipped
    }

    /// Takes note of the line-end `byte` at offset `at`.
    fn note(&mut self, at: u64, byte: u8) {
        let newline = u64::from(byte == b'\n');
        let follows = self.last_end.is_some_and(|last| last + 1 == at);
        match (follows, self.runs.back_mut()) {
            (true, Some((_, newlines))) if self.run_noted => *newlines += newline,
            (true, _) => {
                self.runs.push_back((at, newline));
                self.run_noted = true;
            }
            (false, _) => self.run_noted = false,
        }
        self.last_end = Some(at);
    }
}

/// The line of the record (or error) whose parse began at `position`, when the CSV reader
/// gave a position.
pub fn line_at<R: Read>(
    reader: &mut csv::Reader<LineEnds<R>>,
    position: Option<&csv::Position>,
) -> Option<u64> {
    position.map(|p| reader.get_mut().line_of(p))
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            self.note(self.read + i as u64, buf[i]);
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
            let position = record.position().expect("a record read has a position");
            let line = reader.get_mut().line_of(position);
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
