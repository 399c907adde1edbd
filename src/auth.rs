//! Secrets: password hashing (argon2id), API tokens (stored as SHA-256), CSRF tokens,
//! generated passwords and pseudonyms. No HTTP and no SQL here.
//!
//! Password hashing is slow on purpose, so it never runs on the async runtime and only a
//! few hashes run at once: `hash_password_bounded` and `verify_password_bounded` are the one
//! way the login page, the admin pages, the demo and the command line hash.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hashes a password with argon2id and a fresh salt (PHC string). CPU-heavy: call it off
/// the async runtime.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against a stored hash. With no stored hash it still does the work of
/// one check, so a missing user cannot be told apart by timing.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let hash = stored.unwrap_or(DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

/// Hashes running at once, across the process: one per core is all the CPU there is.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.clamp(1, 8))
});

/// How long a request may wait for a hashing slot before it is turned away.
const HASHING_WAIT: Duration = Duration::from_secs(10);

/// Why a bounded hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    #[error("hashing failed: {0}")]
    Failed(String),
}

async fn run_bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashingError> {
    let _permit = tokio::time::timeout(HASHING_WAIT, HASHING.acquire())
        .await
        .map_err(|_| HashingError::Busy)?
        .map_err(|e| HashingError::Failed(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| HashingError::Failed(e.to_string()))
}

/// Hashes a password off the runtime, a few at a time.
pub async fn hash_password_bounded(password: String) -> Result<String, HashingError> {
    run_bounded(move || hash_password(&password))
        .await?
        .map_err(|e| HashingError::Failed(e.to_string()))
}

/// Checks a password off the runtime, a few at a time; with no stored hash it still does
/// the work of one check.
pub async fn verify_password_bounded(
    password: String,
    stored: Option<String>,
) -> Result<bool, HashingError> {
    run_bounded(move || verify_password(&password, stored.as_deref())).await
}

/// An argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRmb3JkdW1teQ$yqT5nYcSVbTEZtoI0v+W+fP7n3aSJt9yVZJ9mRr1xg0";

/// A new API token and the hash to store. The token is shown once.
pub fn new_api_token() -> (String, String) {
    let token = format!("tly_{}", random_hex(32));
    let hash = hash_token(&token);
    (token, hash)
}

/// A one-time link's token (to set a password) and the hash to store. The token is shown
/// once, inside the link.
pub fn new_link_token() -> (String, String) {
    let token = random_hex(32);
    let hash = hash_token(&token);
    (token, hash)
}

/// Tokens are long and random, so one fast hash is enough (no salt or stretching needed).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A strong password for generated accounts: 20 alphanumeric characters (~119 bits).
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// The rater id that exports show instead of a name.
pub fn new_pseudonym() -> String {
    format!("r-{}", random_hex(6))
}

pub fn new_csrf_token() -> String {
    random_hex(32)
}

/// Compares two secrets in constant time.
pub fn secrets_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_with_argon2id() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(!verify_password("anything", None));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn tokens_hash_stably() {
        let (token, hash) = new_api_token();
        assert!(token.starts_with("tly_"));
        assert_eq!(hash_token(&token), hash);
        assert_ne!(hash, token);
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "ab"));
    }
}
