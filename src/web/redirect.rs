//! Where a page may send a browser back to after signing in: a path on this site, read the
//! way a browser reads it.

/// The path to go to after login. Browsers drop ASCII tabs and newlines anywhere in a URL,
/// trim control characters and spaces at its ends, and read `\` as `/`, so `/%09/evil` or
/// `/\evil` would leave the site; the same clean-up happens here first, and anything that
/// is not then a plain path on this host becomes `/`. The result is percent-encoded where
/// a `Location` header needs it.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(raw) = next else {
        return "/".into();
    };
    let cleaned: String = raw
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    let on_this_site = cleaned.starts_with('/') && !cleaned.starts_with("//");
    if !on_this_site || cleaned.chars().any(char::is_control) {
        return "/".into();
    }
    percent_encode_unsafe(&cleaned)
}

/// Leaves visible ASCII as it is and percent-encodes every other byte.
fn percent_encode_unsafe(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if (0x21..=0x7e).contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site_after_a_browsers_clean_up() {
        assert_eq!(safe_next(Some("/rate/1?x=2")), "/rate/1?x=2");
        assert_eq!(safe_next(None), "/");
        for off_site in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            " //evil.example",
            "\u{0}//evil.example",
            "/\r\n/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(off_site)), "/", "{off_site:?}");
        }
    }

    #[test]
    fn the_result_is_always_a_valid_location() {
        assert_eq!(safe_next(Some("/é x")), "/%C3%A9%20x");
        assert!(axum::http::HeaderValue::from_str(&safe_next(Some("/\u{7f}"))).is_ok());
    }
}
