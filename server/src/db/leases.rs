//! Queries on `pipeline_leases`: which process works on a task's pipeline step.

use shared_protocol::{TaskId, TaskStatus};

use super::Pool;

/// Takes the lease on `task` for `holder` until `until`, if nobody else holds a live
/// one (`now` decides which have expired). One statement, so two processes racing for
/// the same task cannot both win.
pub async fn claim(
    pool: &Pool,
    task: TaskId,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO pipeline_leases (task_id, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (task_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE pipeline_leases.expires_at < $4 OR pipeline_leases.holder = excluded.holder",
    )
    .bind(task.0)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends `holder`'s lease on `task`; `false` if it is no longer `holder`'s.
pub async fn renew(
    pool: &Pool,
    task: TaskId,
    holder: &str,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE pipeline_leases SET expires_at = $1 WHERE task_id = $2 AND holder = $3",
    )
    .bind(until)
    .bind(task.0)
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up `holder`'s lease on `task`.
pub async fn release(pool: &Pool, task: TaskId, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pipeline_leases WHERE task_id = $1 AND holder = $2")
        .bind(task.0)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives up every lease of `holder` (a server stopping).
pub async fn release_all(pool: &Pool, holder: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM pipeline_leases WHERE holder = $1")
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Tasks in one of `statuses` that no live lease covers, oldest first, at most `limit`.
pub async fn unclaimed(
    pool: &Pool,
    statuses: &[TaskStatus],
    now: i64,
    limit: i64,
) -> Result<Vec<(TaskId, TaskStatus)>, sqlx::Error> {
    let mut found = Vec::new();
    for status in statuses {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT t.id FROM tasks t LEFT JOIN pipeline_leases l ON l.task_id = t.id \
             WHERE t.status = $1 AND (l.task_id IS NULL OR l.expires_at < $2) ORDER BY t.id LIMIT $3",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        found.extend(rows.into_iter().map(|(id,)| (TaskId(id), *status)));
    }
    Ok(found)
}
