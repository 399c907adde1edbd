//! Signed links for the product's own users: `verify(secret, link, now)`.
//!
//! Only the signature tally itself would make passes, only for a well-formed uid and before
//! the expiry; the true signature passes whenever those hold; a signature with one
//! character changed never passes.

use tally::domain::links::{sign, verify, LinkError, SignedLink, MAX_LIFETIME_SECONDS};

use super::fields::Fields;

/// The input is `exp` and `now` (eight bytes each), then secret, uid and sig as texts.
pub fn signed_link(data: &[u8]) {
    let mut fields = Fields::new(data);
    let (exp, now) = (fields.int(), fields.int());
    let (Some(secret), Some(uid), Some(sig)) = (fields.text(), fields.text(), fields.text()) else {
        return;
    };
    let link = Link {
        secret,
        uid,
        exp,
        now,
    };
    check_given_signature(&link, sig);
    check_true_signature(&link);
    check_altered_signature(&link);
}

struct Link<'a> {
    secret: &'a str,
    uid: &'a str,
    exp: i64,
    now: i64,
}

impl Link<'_> {
    fn verify(&self, sig: &str) -> Result<(), LinkError> {
        let link = SignedLink {
            uid: self.uid,
            exp: self.exp,
            sig,
            nonce: None,
        };
        verify(self.secret, &link, self.now)
    }

    fn uid_is_well_formed(&self) -> bool {
        (1..=200).contains(&self.uid.len()) && !self.uid.chars().any(char::is_control)
    }

    /// What a link with the true signature must get.
    fn expected(&self) -> Result<(), LinkError> {
        if !self.uid_is_well_formed() {
            Err(LinkError::Malformed(
                "uid must be 1 to 200 printable characters",
            ))
        } else if self.secret.is_empty() {
            Err(LinkError::BadSignature)
        } else if self.exp <= self.now {
            Err(LinkError::Expired)
        } else if self.exp.saturating_sub(self.now) > MAX_LIFETIME_SECONDS {
            Err(LinkError::TooLong)
        } else {
            Ok(())
        }
    }
}

fn check_given_signature(link: &Link, sig: &str) {
    if link.verify(sig).is_ok() {
        let true_sig = sign(link.secret, link.uid, link.exp);
        assert!(
            sig.eq_ignore_ascii_case(&true_sig),
            "a signature other than the true one passed: {sig:?}"
        );
        assert_eq!(link.expected(), Ok(()), "a link passed that must not");
    }
}

fn check_true_signature(link: &Link) {
    let sig = sign(link.secret, link.uid, link.exp);
    assert_eq!(link.verify(&sig), link.expected(), "true signature {sig}");
}

/// Changing one hex digit, at a place and to a digit picked from the link, breaks it.
fn check_altered_signature(link: &Link) {
    let sig = sign(link.secret, link.uid, link.exp);
    let at = link.exp.unsigned_abs() as usize % sig.len();
    let old = sig.as_bytes()[at];
    let step = 1 + link.now.unsigned_abs() % 15;
    let new = b"0123456789abcdef"[((u64::from(hex_value(old)) + step) % 16) as usize];
    let mut altered = sig.into_bytes();
    altered[at] = new;
    let altered = String::from_utf8(altered).expect("hex digits are UTF-8");
    let result = link.verify(&altered);
    assert!(result.is_err(), "altered signature {altered} passed");
    if link.uid_is_well_formed() {
        assert_eq!(result, Err(LinkError::BadSignature));
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit - b'a' + 10,
    }
}
