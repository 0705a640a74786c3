//! Queries on `service_tokens`.

use super::Pool;
use sha2::{Digest, Sha256};

/// Tokens start with this, so a leaked one is easy to recognise (and to tell from a JWT).
pub const PREFIX: &str = "tw_";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token named `name`; returns it (the only time it is ever shown), or `None`
/// if a live token has that name (a revoked token's name can be used again).
pub async fn create(pool: &Pool, name: &str, now: i64) -> Result<Option<String>, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let token = format!("{PREFIX}{}", hex::encode(bytes));
    let result = sqlx::query(
        "INSERT INTO service_tokens (name, token_hash, created_at) VALUES ($1, $2, $3)",
    )
    .bind(name)
    .bind(hash(&token))
    .bind(now)
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(Some(token)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Revokes the token named `name`; `false` if there is no such live token.
pub async fn revoke(pool: &Pool, name: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE service_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Names of live tokens, and when each was created.
pub async fn list(pool: &Pool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, created_at FROM service_tokens WHERE revoked_at IS NULL ORDER BY name",
    )
    .fetch_all(pool)
    .await
}

/// The name of the live token `token`, if it is one.
pub async fn authenticate(pool: &Pool, token: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM service_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(name,)| name))
}
