//! Queries on `webhook_deliveries`.

use super::Pool;

/// Claims delivery `id` for processing; `false` if it was processed at or after
/// `since` (older records are forgotten: see [`prune`]) or is being processed. A claim
/// left unfinished since before `stale_before` (its server died) is taken over. One
/// statement, so of two servers given the same delivery at once, one processes it.
pub async fn claim(
    pool: &Pool,
    id: &str,
    event: &str,
    now: i64,
    since: i64,
    stale_before: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (id, event, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET event = excluded.event, received_at = excluded.received_at, done_at = NULL \
         WHERE webhook_deliveries.received_at < $4 \
            OR (webhook_deliveries.done_at IS NULL AND webhook_deliveries.received_at < $5)",
    )
    .bind(id)
    .bind(event)
    .bind(now)
    .bind(since)
    .bind(stale_before)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks claimed delivery `id` processed.
pub async fn finish(pool: &Pool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_deliveries SET done_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives up the claim on delivery `id` (processing failed), so a redelivery is tried.
pub async fn unclaim(pool: &Pool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets deliveries received before `before`; returns how many.
pub async fn prune(pool: &Pool, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
