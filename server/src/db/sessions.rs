//! Sessions ended one at a time: see the `ended_sessions` migration.

use super::Pool;

/// Ends session `sid` of `user_id`; its row is kept until `keep_until` (ms). Ending an
/// ended session again changes nothing. `notify` (Postgres: a channel and a payload) is
/// sent in the same transaction, so it goes out exactly when the end is stored.
pub async fn end(
    pool: &Pool,
    sid: &str,
    user_id: i64,
    now: i64,
    keep_until: i64,
    notify: Option<(&str, &str)>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO ended_sessions (sid, user_id, ended_at, keep_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sid) DO NOTHING",
    )
    .bind(sid)
    .bind(user_id)
    .bind(now)
    .bind(keep_until)
    .execute(&mut *tx)
    .await?;
    if let Some((channel, payload)) = notify {
        super::notify(&mut tx, channel, payload).await?;
    }
    tx.commit().await
}

/// Removes the rows no token can need any more; returns how many.
pub async fn prune(pool: &Pool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ended_sessions WHERE keep_until < $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
