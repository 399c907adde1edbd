//! Reading items from a file: NDJSON and CSV one row at a time from any reader, a JSON
//! array (or Label Studio tasks) whole; bytes that are not UTF-8 replaced and marked.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::BufRead;

use serde_json::Value;

use super::{
    at_line, check_csv_headers, csv_error, item_from_csv_record, item_from_json, strip_position,
    Format, NewItem,
};
use crate::domain::Invalid;
use crate::quality::csv_lines::{line_at, LineEnds};

/// Items read one at a time: NDJSON and CSV stream from the reader; a JSON array or Label
/// Studio file is read whole first (a JSON array has no line boundaries to stream on).
pub struct ItemReader<R> {
    source: Source<R>,
    /// External ids seen, by a 64-bit hash, so a million ids fit in a few megabytes.
    ids: HashMap<u64, usize>,
}

enum Source<R> {
    Ndjson {
        reader: R,
        line: usize,
        buf: Vec<u8>,
    },
    Csv {
        reader: csv::Reader<LineEnds<R>>,
        headers: Vec<String>,
        record: csv::ByteRecord,
    },
    Whole(std::vec::IntoIter<NewItem>),
}

/// Starts reading items; a CSV header or a whole JSON file is read (and checked) here.
pub fn read_items<R: BufRead>(mut reader: R, format: Format) -> Result<ItemReader<R>, Invalid> {
    let source = match format {
        Format::Ndjson => Source::Ndjson {
            reader,
            line: 0,
            buf: Vec::new(),
        },
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(false)
                .from_reader(LineEnds::new(reader));
            let headers = csv_headers(&mut reader)?;
            Source::Csv {
                reader,
                headers,
                record: csv::ByteRecord::new(),
            }
        }
        Format::JsonArray | Format::LabelStudio => {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| Invalid::new("file", format!("cannot be read: {e}")))?;
            Source::Whole(parse_whole_json(&bytes, format)?.into_iter())
        }
    };
    Ok(ItemReader {
        source,
        ids: HashMap::new(),
    })
}

impl<R: BufRead> Iterator for ItemReader<R> {
    type Item = Result<NewItem, Invalid>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.source {
            Source::Ndjson { reader, line, buf } => next_ndjson(reader, line, buf)?,
            Source::Csv {
                reader,
                headers,
                record,
            } => next_csv(reader, headers, record)?,
            Source::Whole(items) => Ok(items.next()?),
        };
        Some(item.and_then(|item| self.check_new_id(item)))
    }
}

impl<R> ItemReader<R> {
    fn check_new_id(&mut self, item: NewItem) -> Result<NewItem, Invalid> {
        if let Some(id) = item.external_id.as_deref() {
            let mut hasher = DefaultHasher::new();
            id.hash(&mut hasher);
            if let Some(first) = self.ids.insert(hasher.finish(), item.line) {
                return Err(at_line(
                    item.line,
                    format!("external_id {id:?} was already used on line {first}"),
                ));
            }
        }
        Ok(item)
    }
}

/// Text with every byte sequence that is not UTF-8 replaced, and the lines they were on.
fn decode_lossy(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Vec<usize>) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.into(), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len());
    let mut bad_lines = Vec::new();
    let mut line = 1;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        line += newlines_in(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            text.push(char::REPLACEMENT_CHARACTER);
            if bad_lines.last() != Some(&line) {
                bad_lines.push(line);
            }
        }
    }
    (text.into(), bad_lines)
}

pub(super) fn newlines_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn parse_whole_json(bytes: &[u8], format: Format) -> Result<Vec<NewItem>, Invalid> {
    let (text, bad_lines) = decode_lossy(bytes);
    let elements = json_elements(&text)?;
    let label_studio =
        format == Format::LabelStudio || crate::domain::label_studio::looks_like_tasks(&elements);
    let mut items = elements
        .into_iter()
        .map(|(line, value)| {
            if label_studio {
                crate::domain::label_studio::item_from_task(value, line)
            } else {
                item_from_json(value, line)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    mark_bad_lines(&mut items, &bad_lines);
    Ok(items)
}

/// Marks each item holding a line with bytes that are not UTF-8: the last item starting
/// on or before that line.
fn mark_bad_lines(items: &mut [NewItem], bad_lines: &[usize]) {
    for &bad in bad_lines {
        let holder = items.partition_point(|item| item.line <= bad);
        if let Some(item) = holder.checked_sub(1).and_then(|i| items.get_mut(i)) {
            item.encoding_line.get_or_insert(bad);
        }
    }
}

/// The elements of a JSON array, each with the line it starts on.
fn json_elements(text: &str) -> Result<Vec<(usize, Value)>, Invalid> {
    let raw: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).map_err(|e| {
        at_line(
            e.line().max(1),
            format!("expected a JSON array of items: {}", strip_position(&e)),
        )
    })?;
    // Elements come in file order, so each one's line continues the count from the one
    // before: counting from the start each time took hours for a large file.
    let mut line = 1;
    let mut counted_to = 0;
    raw.into_iter()
        .map(|element| {
            let offset = element.get().as_ptr() as usize - text.as_ptr() as usize;
            line += text
                .as_bytes()
                .get(counted_to..offset)
                .map_or(0, newlines_in);
            counted_to = offset;
            let value: Value =
                serde_json::from_str(element.get()).map_err(|e| at_line(line, e.to_string()))?;
            Ok((line, value))
        })
        .collect()
}

fn next_ndjson<R: BufRead>(
    reader: &mut R,
    line: &mut usize,
    buf: &mut Vec<u8>,
) -> Option<Result<NewItem, Invalid>> {
    loop {
        buf.clear();
        *line += 1;
        match reader.read_until(b'\n', buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(at_line(*line, format!("cannot be read: {e}")))),
        }
        let (text, bad) = decode_lossy(buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let at = *line;
        let parsed = serde_json::from_str::<Value>(text)
            .map_err(|e| at_line(at, format!("bad JSON: {}", strip_position(&e))))
            .and_then(|value| item_from_json(value, at))
            .map(|mut item| {
                item.encoding_line = (!bad.is_empty()).then_some(at);
                item
            });
        return Some(parsed);
    }
}

/// The line of the record (or error) whose parse began at `position`, or `fallback`.
fn line_or<R: std::io::Read>(
    reader: &mut csv::Reader<LineEnds<R>>,
    position: Option<&csv::Position>,
    fallback: usize,
) -> usize {
    line_at(reader, position).map_or(fallback, |line| usize::try_from(line).unwrap_or(usize::MAX))
}

fn csv_headers<R: std::io::Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, Invalid> {
    let headers = reader.byte_headers().map_err(|e| csv_error(&e, 1))?;
    let headers = headers
        .iter()
        .map(|h| {
            std::str::from_utf8(h)
                .map(|h| h.trim().to_string())
                .map_err(|_| at_line(1, "is not valid UTF-8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_csv_headers(&headers)?;
    Ok(headers)
}

fn next_csv<R: std::io::Read>(
    reader: &mut csv::Reader<LineEnds<R>>,
    headers: &[String],
    record: &mut csv::ByteRecord,
) -> Option<Result<NewItem, Invalid>> {
    let fallback = reader.position().line() as usize + 1;
    match reader.read_byte_record(record) {
        Ok(false) => None,
        Err(e) => {
            let line = line_or(reader, e.position(), fallback);
            Some(Err(csv_error(&e, line)))
        }
        Ok(true) => {
            let line = line_or(reader, record.position(), fallback);
            let mut bad = false;
            let fields = record
                .iter()
                .map(|field| {
                    let (text, bad_lines) = decode_lossy(field);
                    bad |= !bad_lines.is_empty();
                    text.into_owned()
                })
                .collect::<Vec<_>>();
            Some(
                item_from_csv_record(headers, &fields, line).map(|mut item| {
                    item.encoding_line = bad.then_some(line);
                    item
                }),
            )
        }
    }
}
