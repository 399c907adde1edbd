//! Reads several typed arguments out of one fuzz input, so that functions of several
//! arguments can be fuzzed from a flat byte string.

/// Takes fields off the front of an input one after another.
pub struct Fields<'a> {
    rest: &'a [u8],
}

/// Ends a text field: 0xFF never occurs in UTF-8, so texts can hold any character.
const SEPARATOR: u8 = 0xFF;

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Fields { rest: data }
    }

    /// The next eight bytes as a little-endian i64; missing bytes count as zero.
    pub fn int(&mut self) -> i64 {
        let mut bytes = [0u8; 8];
        let n = self.rest.len().min(8);
        bytes[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        i64::from_le_bytes(bytes)
    }

    /// The bytes up to the next separator (or the end) as text; `None` when they are not
    /// UTF-8, which no caller of tally's `&str` functions can pass.
    pub fn text(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == SEPARATOR)
            .unwrap_or(self.rest.len());
        let field = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
        std::str::from_utf8(field).ok()
    }

    /// Everything not yet taken.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}
