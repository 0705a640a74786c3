//! Passwords: argon2id hashes, checked off the async threads, and what a sign-up must
//! look like.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::error::ApiError;

/// Hashes a password with argon2id (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing task failed: {e}")))?
    .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Checks a password against a stored hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Verifies `password` against a hash of a random string: used when the user does not
/// exist, so a login's timing does not reveal which usernames are taken.
pub async fn burn_verification_time(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let _ = tokio::task::spawn_blocking(move || {
        let hash = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(salt.as_str().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        if let Ok(parsed) = PasswordHash::new(hash) {
            let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
        }
    })
    .await;
}

/// Checks a new account's fields; the messages are shown to people.
pub fn validate_signup(username: &str, password: &str, display_name: &str) -> Result<(), ApiError> {
    let ok_name = (3..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok_name {
        return Err(ApiError::invalid(
            "username",
            "use 3 to 32 characters: lowercase letters, digits, '_' or '-'",
        ));
    }
    let n = password.chars().count();
    if !(8..=256).contains(&n) {
        return Err(ApiError::invalid("password", "use 8 to 256 characters"));
    }
    if display_name.trim().is_empty()
        || display_name.chars().count() > 64
        || display_name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "displayName",
            "use 1 to 64 characters, none of them control characters",
        ));
    }
    Ok(())
}
