//! Uploaded images and zip imports: `media::inspect` and `media_zip::unpack`.
//!
//! Neither panics on any bytes. An accepted image is one of the four types, has a size in
//! pixels and is addressed by the SHA-256 of exactly its bytes. An accepted zip holds one
//! items file, images that each pass `inspect` on their own, and a name table that only
//! points at those images.

use tally::domain::media::{inspect, is_sha256, sha256_hex};
use tally::domain::media_zip::unpack;

const LIMIT: usize = 64 * 1024;

pub fn image(data: &[u8]) {
    let Ok(upload) = inspect("fuzz.bin", data.to_vec(), LIMIT) else {
        return;
    };
    assert!(matches!(
        upload.content_type,
        "image/png" | "image/jpeg" | "image/webp" | "image/gif"
    ));
    assert!(upload.width > 0 && upload.height > 0);
    assert_eq!(upload.sha256, sha256_hex(data));
    assert!(is_sha256(&upload.sha256));
}

pub fn zip(data: &[u8]) {
    let Ok(bundle) = unpack(data, LIMIT) else {
        return;
    };
    for image in &bundle.images {
        assert!(image.bytes.len() <= LIMIT);
        let again = inspect("again", image.bytes.clone(), LIMIT).expect("an accepted image");
        assert_eq!(again.sha256, image.sha256);
    }
    for sha in bundle.names.values() {
        assert!(bundle.images.iter().any(|i| &i.sha256 == sha));
    }
    for name in bundle.names.keys() {
        assert!(!name.split('/').any(|part| part == ".."), "{name}");
    }
}
