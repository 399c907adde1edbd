//! Links for the product's own users. A signed link carries the product's user id and an
//! expiry, signed with the project's secret:
//! `sig = hex(HMAC-SHA256(link_secret, uid + "|" + exp))`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signed link was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    Malformed(&'static str),
    Expired,
    BadSignature,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Malformed(what) => write!(f, "this link is incomplete: {what}"),
            LinkError::Expired => f.write_str("this link has expired; ask for a new one"),
            LinkError::BadSignature => f.write_str("this link's signature does not match"),
        }
    }
}

fn mac(secret: &str, uid: &str, exp: i64) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(uid.as_bytes());
    mac.update(b"|");
    mac.update(exp.to_string().as_bytes());
    mac
}

/// The signature a product puts on a link (what tally checks; used by tests and tools).
pub fn sign(secret: &str, uid: &str, exp: i64) -> String {
    hex::encode(mac(secret, uid, exp).finalize().into_bytes())
}

/// Checks a signed link at `now` (Unix seconds); the comparison is constant-time.
pub fn verify(secret: &str, uid: &str, exp: i64, sig: &str, now: i64) -> Result<(), LinkError> {
    if uid.is_empty() || uid.len() > 200 || uid.chars().any(char::is_control) {
        return Err(LinkError::Malformed(
            "uid must be 1 to 200 printable characters",
        ));
    }
    if secret.is_empty() {
        return Err(LinkError::BadSignature);
    }
    let Ok(bytes) = hex::decode(sig) else {
        return Err(LinkError::BadSignature);
    };
    mac(secret, uid, exp)
        .verify_slice(&bytes)
        .map_err(|_| LinkError::BadSignature)?;
    if exp <= now {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_links_pass_and_tampered_or_old_ones_fail() {
        let sig = sign("s3cret", "user-42", 2_000);
        assert_eq!(verify("s3cret", "user-42", 2_000, &sig, 1_000), Ok(()));
        assert_eq!(
            verify("s3cret", "user-43", 2_000, &sig, 1_000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify("s3cret", "user-42", 2_001, &sig, 1_000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify("other", "user-42", 2_000, &sig, 1_000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify("s3cret", "user-42", 2_000, "zz", 1_000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify("s3cret", "user-42", 2_000, &sig, 2_000),
            Err(LinkError::Expired)
        );
        assert!(matches!(
            verify("s3cret", "", 2_000, &sig, 1_000),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn signature_is_hmac_sha256_of_uid_bar_exp() {
        // RFC 4231-style check of the message layout: same as signing "uid|exp" directly.
        let mut direct = <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap();
        direct.update(b"abc|123");
        assert_eq!(
            sign("k", "abc", 123),
            hex::encode(direct.finalize().into_bytes())
        );
    }
}
