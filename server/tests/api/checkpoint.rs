//! On SQLite, committed pages are copied from the WAL into the database file by a
//! checkpointer of its own, not by the commit that happens to fill the WAL.

use std::time::Duration;

use sqlx::{Connection, SqliteConnection};

use crate::helpers::*;

/// Tasks in the database file itself, leaving the WAL out (`immutable=1`): what has
/// been checkpointed. `None` while the file cannot be read (a checkpoint mid-copy).
async fn tasks_in_the_file(file: &std::path::Path) -> Option<i64> {
    let url = format!("sqlite://{}?mode=ro&immutable=1", file.display());
    let mut conn = SqliteConnection::connect(&url).await.ok()?;
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(&mut conn)
        .await
        .ok();
    let _ = conn.close().await;
    count
}

#[tokio::test]
async fn committed_tasks_reach_the_database_file_without_filling_the_wal() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    for i in 0..5 {
        app.create_task(&ada, &format!("Task {i}")).await;
    }
    // Far fewer pages than any commit would checkpoint at.
    let file = app.dir.path().join("taskwire.db");
    let mut in_file = None;
    for _ in 0..100 {
        in_file = tasks_in_the_file(&file).await;
        if in_file == Some(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(in_file, Some(5), "the WAL was not checkpointed within 10 s");
}
