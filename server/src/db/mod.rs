//! The database: pool set-up and query functions over the pool or a transaction.

pub mod events;
pub mod idempotency;
pub mod service_tokens;
pub mod tasks;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// Opens (creating if needed) the SQLite database in WAL mode and runs migrations.
/// A failed migration stops start-up.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    use anyhow::Context;
    let options = SqliteConnectOptions::from_str(database_url)
        .context("parsing the database URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("opening the database")?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("running database migrations")?;
    Ok(pool)
}

/// Starts a write transaction that takes SQLite's write lock at once (`BEGIN
/// IMMEDIATE`), so two writers never both read and then race to upgrade; it is also
/// what makes `max(seq) + 1` safe.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
