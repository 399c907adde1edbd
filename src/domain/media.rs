//! Uploaded images: what tally accepts (PNG, JPEG, WebP and GIF, told from the bytes, never
//! from a name or a declared type), their content address, their size in pixels, and how an
//! item's data names them (`"media:<sha256>"`, `{"media": "<sha256>"}`, or a file name of
//! the same zip upload).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Largest image tally stores by default: 10 MiB.
pub const DEFAULT_MAX_MEDIA_BYTES: usize = 10 * 1024 * 1024;

/// Why an upload was refused; the web layer picks the status (413, 415).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    TooLarge(String),
    Unsupported(String),
    Invalid { field: String, reason: String },
}

/// An image checked and ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub sha256: String,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// What is known of a stored image without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaInfo {
    pub sha256: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub name: Option<String>,
}

impl Upload {
    pub fn info(&self) -> MediaInfo {
        MediaInfo {
            sha256: self.sha256.clone(),
            content_type: self.content_type.to_string(),
            width: self.width,
            height: self.height,
            size: self.bytes.len() as u64,
            name: self.name.clone(),
        }
    }
}

/// The lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A content address as tally writes them: 64 lowercase hex digits, nothing else, so that
/// a path segment can never climb out of where media are looked up.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks one uploaded file: its size, its type from its first bytes, its size in pixels.
/// `name` is only for messages (and kept beside the image for people to read).
pub fn inspect(name: &str, bytes: Vec<u8>, max_bytes: usize) -> Result<Upload, Refusal> {
    let shown = shown_name(name);
    if bytes.len() > max_bytes {
        return Err(Refusal::TooLarge(format!(
            "{shown} is {} bytes; images may be at most {max_bytes} bytes",
            bytes.len()
        )));
    }
    let content_type = match imagesize::image_type(&bytes) {
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Webp) => "image/webp",
        Ok(imagesize::ImageType::Gif) => "image/gif",
        _ => {
            return Err(Refusal::Unsupported(format!(
                "{shown} is not a PNG, JPEG, WebP or GIF image (told from its bytes; SVG is never taken)"
            )))
        }
    };
    let size = imagesize::blob_size(&bytes)
        .map_err(|_| Refusal::Unsupported(format!("{shown}: its image header cannot be read")))?;
    let (width, height) = match (u32::try_from(size.width), u32::try_from(size.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(Refusal::Unsupported(format!(
                "{shown}: its header gives no usable size"
            )))
        }
    };
    Ok(Upload {
        sha256: sha256_hex(&bytes),
        content_type,
        width,
        height,
        name: Some(name.to_string()).filter(|n| !n.is_empty()),
        bytes,
    })
}

/// A file name as it appears in messages: quoted, control characters escaped, cut short.
fn shown_name(name: &str) -> String {
    let short: String = name.chars().take(200).collect();
    format!("{short:?}")
}

/// The image an item's data value names, if any: `"media:<sha>"`, `{"media": "<sha>"}`,
/// or (in a zip upload) the name of one of its images.
fn reference<'a>(value: &'a Value, zip_names: &'a HashMap<String, String>) -> Option<&'a str> {
    match value {
        Value::String(text) => text
            .strip_prefix("media:")
            .or_else(|| zip_names.get(text).map(String::as_str)),
        Value::Object(object) => object.get("media").and_then(Value::as_str),
        _ => None,
    }
}

/// Replaces each reference to an uploaded image in an item's data by
/// `{"media", "name", "width", "height"}`, so its size is known wherever the item is used
/// (boxes are checked inside it; the page sizes it). A reference to nothing is refused.
pub fn resolve(
    data: &mut Map<String, Value>,
    known: &HashMap<String, MediaInfo>,
    zip_names: &HashMap<String, String>,
) -> Result<(), String> {
    for (field, value) in data.iter_mut() {
        let Some(sha) = reference(value, zip_names) else {
            continue;
        };
        let Some(info) = known.get(sha) else {
            let what = if is_sha256(sha) {
                format!("no uploaded image has the SHA-256 {sha}")
            } else {
                format!("{sha:?} is not a SHA-256 (64 lowercase hex digits)")
            };
            return Err(format!("field {field:?}: {what}"));
        };
        let mut image = Map::new();
        image.insert("media".into(), Value::String(info.sha256.clone()));
        let name = info.name.clone().unwrap_or_else(|| info.sha256.clone());
        image.insert("name".into(), Value::String(name));
        image.insert("width".into(), Value::from(info.width));
        image.insert("height".into(), Value::from(info.height));
        *value = Value::Object(image);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PNG header that states a size: signature, IHDR length, type, w, h.
    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn types_come_from_the_bytes() {
        let upload = inspect("cat.jpg", png(30, 20), 1000).unwrap();
        assert_eq!(upload.content_type, "image/png");
        assert_eq!((upload.width, upload.height), (30, 20));
        assert_eq!(upload.sha256, sha256_hex(&png(30, 20)));
        let gif = b"GIF89a\x05\x00\x07\x00\x00\x00\x00".to_vec();
        let upload = inspect("a.gif", gif, 1000).unwrap();
        assert_eq!(
            (upload.content_type, upload.width, upload.height),
            ("image/gif", 5, 7)
        );
    }

    #[test]
    fn jpeg_and_webp_sizes_come_from_their_headers() {
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        jpeg.extend_from_slice(&[0xff, 0xc0, 0, 17, 8, 0, 10, 0, 20, 3]);
        jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
        let upload = inspect("j", jpeg, 1000).unwrap();
        assert_eq!(
            (upload.content_type, upload.width, upload.height),
            ("image/jpeg", 20, 10)
        );
        let mut webp = b"RIFF\x1e\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[39, 0, 0, 19, 0, 0]);
        let upload = inspect("w", webp, 1000).unwrap();
        assert_eq!(
            (upload.content_type, upload.width, upload.height),
            ("image/webp", 40, 20)
        );
    }

    #[test]
    fn svg_and_noise_are_refused_naming_the_file() {
        let svg =
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".to_vec();
        match inspect("x.svg", svg, 1000) {
            Err(Refusal::Unsupported(m)) => assert!(m.contains("\"x.svg\""), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            inspect("n.png", vec![7; 64], 1000),
            Err(Refusal::Unsupported(_))
        ));
        assert!(matches!(
            inspect("big.png", png(1, 1), 10),
            Err(Refusal::TooLarge(_))
        ));
    }

    #[test]
    fn only_lowercase_hex_of_64_is_an_address() {
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256("../../etc/passwd"));
        assert!(!is_sha256(&format!("{}/", "a".repeat(63))));
    }

    #[test]
    fn references_become_sized_images() {
        let info = inspect("cat.png", png(30, 20), 1000).unwrap().info();
        let known = HashMap::from([(info.sha256.clone(), info.clone())]);
        let names = HashMap::from([("cat.png".to_string(), info.sha256.clone())]);
        let mut data = Map::new();
        data.insert("a".into(), Value::String(format!("media:{}", info.sha256)));
        data.insert("b".into(), Value::String("cat.png".into()));
        data.insert("text".into(), Value::String("plain".into()));
        resolve(&mut data, &known, &names).unwrap();
        for field in ["a", "b"] {
            assert_eq!(data[field]["media"], info.sha256.as_str());
            assert_eq!(data[field]["width"], 30);
        }
        assert_eq!(data["text"], "plain");
        let mut missing = Map::new();
        missing.insert("image".into(), Value::String("media:nope".into()));
        let err = resolve(&mut missing, &known, &names).unwrap_err();
        assert!(
            err.contains("\"image\"") && err.contains("not a SHA-256"),
            "{err}"
        );
    }
}
