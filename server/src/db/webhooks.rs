//! Queries on `webhook_deliveries`.

use sqlx::SqlitePool;

/// Whether a delivery id was processed at or after `since` (older records are
/// forgotten: see [`prune`]).
pub async fn seen(pool: &SqlitePool, id: &str, since: i64) -> Result<bool, sqlx::Error> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM webhook_deliveries WHERE id = ? AND received_at >= ?")
            .bind(id)
            .bind(since)
            .fetch_optional(pool)
            .await?;
    Ok(found.is_some())
}

/// Records a processed delivery (again for an id whose record had expired).
pub async fn record(pool: &SqlitePool, id: &str, event: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event, received_at) VALUES (?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET event = excluded.event, received_at = excluded.received_at",
    )
    .bind(id)
    .bind(event)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets deliveries received before `before`; returns how many.
pub async fn prune(pool: &SqlitePool, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < ?")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
