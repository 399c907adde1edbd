//! The content key of an item: the first 64 bits of the SHA-256 of its data as canonical
//! JSON.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The key of a SHA-256 kept in hex (as items were keyed before 2026-12-07).
pub fn hash_key(hex_hash: &str) -> Option<u64> {
    let bytes = hex::decode(hex_hash.get(..16)?).ok()?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The first eight bytes (big-endian) of the SHA-256 of an item's data as canonical JSON,
/// keys sorted at every level: equal data, equal keys, whatever the order of their keys.
pub fn content_key(data: &Map<String, Value>) -> u64 {
    let mut text = String::new();
    canonical_object(data, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

fn canonical_object(object: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        if let Some(value) = object.get(key) {
            canonical(value, out);
        }
    }
    out.push('}');
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(object) => canonical_object(object, out),
        Value::Array(values) => {
            out.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(value, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
