//! The content hash of an item: SHA-256 of its data as canonical JSON.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A 64-bit key of the SHA-256 of an item's data as canonical JSON (for sets in memory).
pub fn hash_key(hex_hash: &str) -> Option<u64> {
    let bytes = hex::decode(hex_hash.get(..16)?).ok()?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The SHA-256 (hex) of an item's data as canonical JSON: keys sorted at every level.
pub fn content_hash(data: &Map<String, Value>) -> String {
    let mut text = String::new();
    canonical_object(data, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
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
