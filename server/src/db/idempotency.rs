//! Queries on `idempotency_keys`: results of actions sent with an `Idempotency-Key`.
//!
//! A row with status 0 is a claim: the action is still running. A key older than the
//! retention period counts as never used; [`prune`] removes such rows.

use super::Pool;

/// What is stored under a key.
pub struct Stored {
    pub fingerprint: String,
    /// 0 while the first request is still running.
    pub status: i64,
    pub body: String,
}

/// Claims `(scope, key)` for a request with `fingerprint`; `false` if a live claim or a
/// result is already there. A result older than `expired_before` is replaced, and so is
/// a claim older than `stale_before` (its server died before the action finished).
pub async fn claim(
    pool: &Pool,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
    expired_before: i64,
    stale_before: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
         AND (created_at < $3 OR (status = 0 AND created_at < $4))",
    )
    .bind(scope)
    .bind(key)
    .bind(expired_before)
    .bind(stale_before)
    .execute(pool)
    .await?;
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4) \
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// What another request stored under `(scope, key)`, if it is still there.
pub async fn find(pool: &Pool, scope: &str, key: &str) -> Result<Option<Stored>, sqlx::Error> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT fingerprint, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(fingerprint, status, body)| Stored {
        fingerprint,
        status,
        body,
    }))
}

/// Stores the result of the claimed request.
pub async fn complete(
    pool: &Pool,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4")
        .bind(i64::from(status))
        .bind(body)
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives up a claim (the action failed), so the same key can be tried again.
pub async fn release(pool: &Pool, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes keys created before `expired_before`; returns how many.
pub async fn prune(pool: &Pool, expired_before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(expired_before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
