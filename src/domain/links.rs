//! Links for the product's own users. A signed link carries the product's user id and an
//! expiry, signed with the project's secret:
//! `sig = hex(HMAC-SHA256(link_secret, uid + "|" + exp))`, or, for a link that works once,
//! `hex(HMAC-SHA256(link_secret, uid + "|" + exp + "|" + nonce))` with a `nonce` the product
//! picks. A link may live at most [`MAX_LIFETIME_SECONDS`].

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest a signed link may live: 30 days from when it is used.
pub const MAX_LIFETIME_SECONDS: i64 = 30 * 86_400;

/// Why a signed link was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    Malformed(&'static str),
    Expired,
    TooLong,
    BadSignature,
}

/// A signed link's parameters as they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink<'a> {
    pub uid: &'a str,
    pub exp: i64,
    pub sig: &'a str,
    /// Present on a single-use link.
    pub nonce: Option<&'a str>,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Malformed(what) => write!(f, "this link is incomplete: {what}"),
            LinkError::Expired => f.write_str("this link has expired; ask for a new one"),
            LinkError::TooLong => write!(
                f,
                "this link's expiry is more than {} days away; links may live at most that long",
                MAX_LIFETIME_SECONDS / 86_400
            ),
            LinkError::BadSignature => f.write_str("this link's signature does not match"),
        }
    }
}

fn mac(secret: &str, uid: &str, exp: i64, nonce: Option<&str>) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(uid.as_bytes());
    mac.update(b"|");
    mac.update(exp.to_string().as_bytes());
    if let Some(nonce) = nonce {
        mac.update(b"|");
        mac.update(nonce.as_bytes());
    }
    mac
}

/// The signature a product puts on a link (what tally checks; used by tests and tools).
pub fn sign(secret: &str, uid: &str, exp: i64) -> String {
    hex::encode(mac(secret, uid, exp, None).finalize().into_bytes())
}

/// The signature of a single-use link carrying `nonce`.
pub fn sign_once(secret: &str, uid: &str, exp: i64, nonce: &str) -> String {
    hex::encode(mac(secret, uid, exp, Some(nonce)).finalize().into_bytes())
}

fn well_formed(link: &SignedLink<'_>) -> Result<(), LinkError> {
    let uid = link.uid;
    if uid.is_empty() || uid.len() > 200 || uid.chars().any(char::is_control) {
        return Err(LinkError::Malformed(
            "uid must be 1 to 200 printable characters",
        ));
    }
    let nonce_ok = |n: &str| {
        (1..=100).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if link.nonce.is_some_and(|n| !nonce_ok(n)) {
        return Err(LinkError::Malformed(
            "nonce must be 1 to 100 letters, digits, - or _",
        ));
    }
    Ok(())
}

/// Checks a signed link at `now` (Unix seconds); the comparison is constant-time.
pub fn verify(secret: &str, link: &SignedLink<'_>, now: i64) -> Result<(), LinkError> {
    well_formed(link)?;
    if secret.is_empty() {
        return Err(LinkError::BadSignature);
    }
    let Ok(bytes) = hex::decode(link.sig) else {
        return Err(LinkError::BadSignature);
    };
    mac(secret, link.uid, link.exp, link.nonce)
        .verify_slice(&bytes)
        .map_err(|_| LinkError::BadSignature)?;
    if link.exp <= now {
        return Err(LinkError::Expired);
    }
    if link.exp.saturating_sub(now) > MAX_LIFETIME_SECONDS {
        return Err(LinkError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link<'a>(uid: &'a str, exp: i64, sig: &'a str) -> SignedLink<'a> {
        SignedLink {
            uid,
            exp,
            sig,
            nonce: None,
        }
    }

    #[test]
    fn good_links_pass_and_tampered_or_old_ones_fail() {
        let sig = sign("s3cret", "user-42", 2_000);
        assert_eq!(
            verify("s3cret", &link("user-42", 2_000, &sig), 1_000),
            Ok(())
        );
        for (uid, exp, secret) in [
            ("user-43", 2_000, "s3cret"),
            ("user-42", 2_001, "s3cret"),
            ("user-42", 2_000, "other"),
        ] {
            assert_eq!(
                verify(secret, &link(uid, exp, &sig), 1_000),
                Err(LinkError::BadSignature)
            );
        }
        assert_eq!(
            verify("s3cret", &link("user-42", 2_000, "zz"), 1_000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify("s3cret", &link("user-42", 2_000, &sig), 2_000),
            Err(LinkError::Expired)
        );
        assert!(matches!(
            verify("s3cret", &link("", 2_000, &sig), 1_000),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn links_live_at_most_thirty_days() {
        let far = 1_000 + MAX_LIFETIME_SECONDS + 1;
        let sig = sign("k", "u", far);
        assert_eq!(
            verify("k", &link("u", far, &sig), 1_000),
            Err(LinkError::TooLong)
        );
        let edge = 1_000 + MAX_LIFETIME_SECONDS;
        let sig = sign("k", "u", edge);
        assert_eq!(verify("k", &link("u", edge, &sig), 1_000), Ok(()));
        let sig = sign("k", "u", i64::MAX);
        assert_eq!(
            verify("k", &link("u", i64::MAX, &sig), i64::MIN + 1),
            Err(LinkError::TooLong),
            "no overflow on extreme times"
        );
    }

    #[test]
    fn a_nonce_is_part_of_the_signature() {
        let sig = sign_once("k", "u", 2_000, "n-1");
        let once = SignedLink {
            nonce: Some("n-1"),
            ..link("u", 2_000, &sig)
        };
        assert_eq!(verify("k", &once, 1_000), Ok(()));
        let swapped = SignedLink {
            nonce: Some("n-2"),
            ..once.clone()
        };
        assert_eq!(verify("k", &swapped, 1_000), Err(LinkError::BadSignature));
        assert_eq!(
            verify("k", &link("u", 2_000, &sig), 1_000),
            Err(LinkError::BadSignature),
            "dropping the nonce breaks the signature"
        );
        let bad = SignedLink {
            nonce: Some("a b"),
            ..once
        };
        assert!(matches!(
            verify("k", &bad, 1_000),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn signature_is_hmac_sha256_of_uid_bar_exp() {
        let mut direct = <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap();
        direct.update(b"abc|123");
        assert_eq!(
            sign("k", "abc", 123),
            hex::encode(direct.finalize().into_bytes())
        );
        let mut once = <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap();
        once.update(b"abc|123|n1");
        assert_eq!(
            sign_once("k", "abc", 123, "n1"),
            hex::encode(once.finalize().into_bytes())
        );
    }
}
