//! A zip import: images plus one items file (`items.csv`, `items.jsonl`, `items.ndjson` or
//! `items.json`) naming them by file name. Read with bounds on the entry count and on the
//! unpacked bytes (each entry is read through a limit, so a lying header cannot pass), and
//! with every entry name checked, so nothing unpacks outside the upload.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::import::Format;
use super::media::{inspect, Refusal, Upload};

/// Most entries a zip import may hold.
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Most bytes a zip import may unpack to, all entries together.
pub const MAX_ZIP_UNPACKED: u64 = 512 * 1024 * 1024;
/// Largest items file inside a zip.
pub const MAX_ITEMS_FILE: u64 = 64 * 1024 * 1024;

/// What a zip (or multipart) import holds.
#[derive(Debug)]
pub struct Bundle {
    pub images: Vec<Upload>,
    /// Entry names (and base names where no two entries share one) to content addresses.
    pub names: HashMap<String, String>,
    pub items: Vec<u8>,
    pub format: Format,
}

/// Whether bytes look like a zip archive (a local file header or an empty archive).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

fn invalid(reason: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field: "zip".into(),
        reason: reason.into(),
    }
}

/// Names macOS and editors leave behind; not part of what was meant to be uploaded.
fn is_litter(name: &str) -> bool {
    name.starts_with("__MACOSX/") || base_name(name).starts_with('.')
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub fn items_format(name: &str) -> Option<Format> {
    match base_name(name).to_ascii_lowercase().as_str() {
        "items.csv" | "items.jsonl" | "items.ndjson" | "items.json" => {
            Format::from_file_name(base_name(name))
        }
        _ => None,
    }
}

/// Unpacks a zip import; any problem refuses the whole upload, naming the entry.
pub fn unpack(bytes: &[u8], max_image_bytes: usize) -> Result<Bundle, Refusal> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| invalid(format!("not a readable zip archive: {e}")))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(Refusal::TooLarge(format!(
            "the zip holds {} entries; at most {MAX_ZIP_ENTRIES}",
            archive.len()
        )));
    }
    let mut unpacked: u64 = 0;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| invalid(format!("entry {}: {e}", index + 1)))?;
        let name = entry.name().to_string();
        // `a/../b.png` stays inside the archive, but an items file could not name it
        // plainly and the name table would hold a path with `..` in it: refused too.
        let through_parent = name.split('/').any(|part| part == "..");
        if entry.enclosed_name().is_none() || name.contains('\\') || through_parent {
            return Err(invalid(format!(
                "entry {name:?} names a path outside the archive or through \"..\""
            )));
        }
        if entry.is_dir() || is_litter(&name) {
            continue;
        }
        let limit = match items_format(&name) {
            Some(_) => MAX_ITEMS_FILE,
            None => max_image_bytes as u64,
        };
        let mut content = Vec::new();
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut content)
            .map_err(|e| invalid(format!("entry {name:?} cannot be unpacked: {e}")))?;
        unpacked += content.len() as u64;
        if content.len() as u64 > limit {
            return Err(Refusal::TooLarge(format!(
                "entry {name:?} unpacks to more than {limit} bytes"
            )));
        }
        if unpacked > MAX_ZIP_UNPACKED {
            return Err(Refusal::TooLarge(format!(
                "the zip unpacks to more than {MAX_ZIP_UNPACKED} bytes"
            )));
        }
        files.push((name, content));
    }
    bundle(files, max_image_bytes)
}

/// Sorts uploaded files (from a zip or a multipart form) into the one items file and the
/// images it may name; anything that is neither is refused, naming it.
pub fn bundle(files: Vec<(String, Vec<u8>)>, max_image_bytes: usize) -> Result<Bundle, Refusal> {
    let mut images = Vec::new();
    let mut entry_names: Vec<(String, String)> = Vec::new();
    let mut items: Option<(String, Vec<u8>, Format)> = None;
    for (name, content) in files {
        match items_format(&name) {
            Some(format) => {
                if let Some((first, _, _)) = &items {
                    return Err(invalid(format!(
                        "two items files: {first:?} and {name:?}; keep one"
                    )));
                }
                items = Some((name, content, format));
            }
            None => {
                let upload = inspect(&name, content, max_image_bytes)?;
                entry_names.push((name, upload.sha256.clone()));
                images.push(upload);
            }
        }
    }
    let Some((_, items, format)) = items else {
        return Err(invalid(
            "no items file (items.csv, items.jsonl or items.json) beside the images",
        ));
    };
    Ok(Bundle {
        images,
        names: name_table(&entry_names),
        items,
        format,
    })
}

/// Full entry names, and base names that only one entry has.
fn name_table(entries: &[(String, String)]) -> HashMap<String, String> {
    let mut base_count: HashMap<&str, usize> = HashMap::new();
    for (name, _) in entries {
        *base_count.entry(base_name(name)).or_default() += 1;
    }
    let mut names = HashMap::new();
    for (name, sha) in entries {
        let base = base_name(name);
        if base_count.get(base) == Some(&1) {
            names.insert(base.to_string(), sha.clone());
        }
        names.insert(name.clone(), sha.clone());
    }
    names
}
