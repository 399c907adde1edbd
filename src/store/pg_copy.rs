//! Rows of a PostgreSQL `COPY (...) TO STDOUT (FORMAT binary)` as they stream in.
//!
//! A report reads half a million labels. Taken as query rows, the driver builds a row for
//! each (its columns' offsets, a type check per column taken) and that was half of tally's
//! time in the read; copied out in binary, a row is a count of fields and each field's
//! length and bytes, in the same binary forms the query rows use, read here in place.
//!
//! The format: a signature, flags and an extension area; then each row as a 16-bit field
//! count followed by each field as a 32-bit length (-1 for NULL) and that many bytes; then
//! a count of -1. Numbers are big-endian. The stream's chunks need not end where rows do.

use bytes::BytesMut;

/// What every binary copy starts with.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A field of a row: its bytes, or `None` for NULL.
pub(super) type Field<'a> = Option<&'a [u8]>;

/// Reads the rows of `N` fields out of a binary copy's chunks.
#[derive(Default)]
pub(super) struct BinaryRows<const N: usize> {
    /// The start of a row (or of the header) that the chunks so far ended inside.
    pending: BytesMut,
    header_read: bool,
    ended: bool,
}

impl<const N: usize> BinaryRows<N> {
    /// Hands `row` each row that `chunk` completes.
    pub(super) fn feed(
        &mut self,
        chunk: &[u8],
        row: &mut impl FnMut(&[Field<'_>; N]) -> sqlx::Result<()>,
    ) -> sqlx::Result<()> {
        if self.pending.is_empty() {
            let used = self.rows_in(chunk, row)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            self.pending.extend_from_slice(chunk);
            let pending = std::mem::take(&mut self.pending);
            let used = self.rows_in(&pending, row)?;
            self.pending.extend_from_slice(&pending[used..]);
        }
        Ok(())
    }

    /// Checks that the copy ended where it should, after its last row.
    pub(super) fn finish(self) -> sqlx::Result<()> {
        if self.ended && self.pending.is_empty() {
            Ok(())
        } else {
            Err(malformed("the copy ended inside a row"))
        }
    }

    /// Reads the header and rows complete in `bytes`; how many bytes they took.
    fn rows_in(
        &mut self,
        bytes: &[u8],
        row: &mut impl FnMut(&[Field<'_>; N]) -> sqlx::Result<()>,
    ) -> sqlx::Result<usize> {
        let mut at = 0;
        if !self.header_read {
            match header_length(bytes)? {
                Some(length) => at = length,
                None => return Ok(0),
            }
            self.header_read = true;
        }
        while at < bytes.len() {
            if self.ended {
                return Err(malformed("bytes after the end of the copy"));
            }
            let Some(count) = bytes.get(at..at + 2) else {
                break;
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.ended = true;
                at += 2;
                continue;
            }
            if usize::try_from(count).ok() != Some(N) {
                return Err(malformed(&format!("a row of {count} fields, not {N}")));
            }
            match fields::<N>(bytes, at + 2)? {
                Some((fields, end)) => {
                    row(&fields)?;
                    at = end;
                }
                None => break,
            }
        }
        Ok(at)
    }
}

/// The length of the header at the start of `bytes`, or `None` if it is not all there yet.
fn header_length(bytes: &[u8]) -> sqlx::Result<Option<usize>> {
    let Some(fixed) = bytes.get(..SIGNATURE.len() + 8) else {
        return Ok(None);
    };
    if &fixed[..SIGNATURE.len()] != SIGNATURE {
        return Err(malformed("no binary copy signature"));
    }
    let extension = i32_at(fixed, SIGNATURE.len() + 4).unwrap_or(-1);
    let extension =
        usize::try_from(extension).map_err(|_| malformed("a negative header extension"))?;
    let length = fixed.len() + extension;
    Ok((bytes.len() >= length).then_some(length))
}

/// The `N` fields that start at `at`, and where they end; `None` if they are not all there.
fn fields<const N: usize>(
    bytes: &[u8],
    mut at: usize,
) -> sqlx::Result<Option<([Field<'_>; N], usize)>> {
    let mut fields: [Field<'_>; N] = [None; N];
    for field in &mut fields {
        let Some(length) = i32_at(bytes, at) else {
            return Ok(None);
        };
        at += 4;
        if length == -1 {
            continue;
        }
        let length = usize::try_from(length).map_err(|_| malformed("a negative field length"))?;
        let Some(value) = bytes.get(at..at + length) else {
            return Ok(None);
        };
        *field = Some(value);
        at += length;
    }
    Ok(Some((fields, at)))
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at + 4)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn malformed(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("binary copy: {what}"))
}

/// A `bigint` field.
pub(super) fn int8(field: Field<'_>) -> sqlx::Result<i64> {
    optional_int8(field)?.ok_or_else(|| malformed("NULL where a number must be"))
}

/// A `bigint` field that may be NULL.
pub(super) fn optional_int8(field: Field<'_>) -> sqlx::Result<Option<i64>> {
    field
        .map(|bytes| {
            <[u8; 8]>::try_from(bytes)
                .map(i64::from_be_bytes)
                .map_err(|_| malformed("a bigint not of 8 bytes"))
        })
        .transpose()
}

/// A `text` field, borrowed from the copied bytes.
pub(super) fn text(field: Field<'_>) -> sqlx::Result<&str> {
    optional_text(field)?.ok_or_else(|| malformed("NULL where a text must be"))
}

/// A `text` field that may be NULL, borrowed from the copied bytes.
pub(super) fn optional_text(field: Field<'_>) -> sqlx::Result<Option<&str>> {
    field
        .map(|bytes| std::str::from_utf8(bytes).map_err(|_| malformed("a text not in UTF-8")))
        .transpose()
}

/// A `boolean` field.
pub(super) fn bool(field: Field<'_>) -> sqlx::Result<bool> {
    optional_bool(field)?.ok_or_else(|| malformed("NULL where a boolean must be"))
}

/// A `boolean` field that may be NULL.
pub(super) fn optional_bool(field: Field<'_>) -> sqlx::Result<Option<bool>> {
    match field {
        None => Ok(None),
        Some([byte]) => Ok(Some(*byte != 0)),
        Some(_) => Err(malformed("a boolean not of 1 byte")),
    }
}

/// A `jsonb` field that may be NULL, parsed: its binary form is a version byte (1) and the
/// JSON text.
pub(super) fn optional_jsonb<T: serde::de::DeserializeOwned>(
    field: Field<'_>,
) -> sqlx::Result<Option<T>> {
    match field {
        Some([1, json @ ..]) => serde_json::from_slice(json)
            .map(Some)
            .map_err(|e| malformed(&format!("a jsonb that does not parse: {e}"))),
        Some(_) => Err(malformed("a jsonb of an unknown version")),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of `rows` as PostgreSQL writes it.
    fn copy_of(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0i32.to_be_bytes());
        out.extend(3i32.to_be_bytes());
        out.extend(b"ext");
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    None => out.extend((-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend((bytes.len() as i32).to_be_bytes());
                        out.extend(bytes);
                    }
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    fn sample() -> Vec<Vec<Option<Vec<u8>>>> {
        (0..20i64)
            .map(|n| {
                vec![
                    Some(n.to_be_bytes().to_vec()),
                    (n % 3 != 0).then(|| format!("välue {n}").into_bytes()),
                    Some(vec![u8::from(n % 2 == 0)]),
                ]
            })
            .collect()
    }

    type Row = (i64, Option<String>, Option<bool>);

    fn read(chunks: &[&[u8]]) -> sqlx::Result<Vec<Row>> {
        let mut reader = BinaryRows::<3>::default();
        let mut rows = Vec::new();
        let mut take = |f: &[Field<'_>; 3]| {
            rows.push((
                int8(f[0])?,
                f[1].map(|_| text(f[1]).map(str::to_owned)).transpose()?,
                optional_bool(f[2])?,
            ));
            Ok(())
        };
        for chunk in chunks {
            reader.feed(chunk, &mut take)?;
        }
        reader.finish()?;
        Ok(rows)
    }

    fn expected() -> Vec<Row> {
        (0..20i64)
            .map(|n| {
                (
                    n,
                    (n % 3 != 0).then(|| format!("välue {n}")),
                    Some(n % 2 == 0),
                )
            })
            .collect()
    }

    #[test]
    fn rows_read_the_same_however_the_stream_is_cut() {
        let copy = copy_of(&sample());
        assert_eq!(read(&[&copy]).expect("whole"), expected());
        for size in [1, 2, 3, 7, 19, 20, 64] {
            let chunks: Vec<&[u8]> = copy.chunks(size).collect();
            assert_eq!(read(&chunks).expect("cut"), expected(), "chunks of {size}");
        }
        for cut in 0..copy.len() {
            let (a, b) = copy.split_at(cut);
            assert_eq!(read(&[a, b]).expect("cut"), expected(), "cut at {cut}");
        }
    }

    #[test]
    fn a_jsonb_field_is_its_version_byte_and_text() {
        let parsed: Option<serde_json::Value> =
            optional_jsonb(Some(b"\x01{\"region\": \"north\"}")).expect("jsonb");
        assert_eq!(parsed, Some(serde_json::json!({"region": "north"})));
        assert_eq!(
            optional_jsonb::<serde_json::Value>(None).expect("NULL"),
            None
        );
        assert!(
            optional_jsonb::<serde_json::Value>(Some(b"\x02{}")).is_err(),
            "version 2"
        );
        assert!(
            optional_jsonb::<serde_json::Value>(Some(b"\x01{")).is_err(),
            "cut JSON"
        );
        assert!(
            optional_jsonb::<serde_json::Value>(Some(b"")).is_err(),
            "empty"
        );
    }

    #[test]
    fn a_damaged_copy_is_an_error_and_no_panic() {
        let copy = copy_of(&sample());
        for end in 0..copy.len() {
            assert!(read(&[&copy[..end]]).is_err(), "cut short at {end}");
        }
        let mut wrong = copy.clone();
        wrong[0] = b'X';
        assert!(read(&[&wrong]).is_err(), "signature");
        let mut more = copy.clone();
        more.extend([0, 3]);
        assert!(read(&[&more]).is_err(), "bytes after the end");
        let two_fields = copy_of(&[vec![Some(vec![0; 8]), None]]);
        assert!(read(&[&two_fields]).is_err(), "a row of another width");
        let short_int = copy_of(&[vec![Some(vec![0; 4]), None, None]]);
        assert!(read(&[&short_int]).is_err(), "a bigint of 4 bytes");
        let bad_text = copy_of(&[vec![Some(vec![0; 8]), Some(vec![0xff, 0xfe]), None]]);
        assert!(read(&[&bad_text]).is_err(), "not UTF-8");
        let mut negative = copy_of(&[vec![Some(vec![0; 8]), None, None]]);
        let field = SIGNATURE.len() + 8 + 3 + 2 + 4 + 8;
        negative[field..field + 4].copy_from_slice(&(-7i32).to_be_bytes());
        assert!(read(&[&negative]).is_err(), "a negative length");
        let mut random = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut damaged = copy.clone();
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let at = (random % damaged.len() as u64) as usize;
            damaged[at] = (random >> 32) as u8;
            let _ = read(&[&damaged]);
        }
    }
}
