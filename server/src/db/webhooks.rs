//! Queries on `webhook_deliveries`.

use sqlx::SqlitePool;

/// Whether a delivery id was processed before.
pub async fn seen(pool: &SqlitePool, id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM webhook_deliveries WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

/// Records a processed delivery (a second record of the same id is a no-op).
pub async fn record(pool: &SqlitePool, id: &str, event: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR IGNORE INTO webhook_deliveries (id, event, received_at) VALUES (?, ?, ?)",
    )
    .bind(id)
    .bind(event)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}
