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

/// The database as a server uses it: readers in parallel, and exactly one writer.
///
/// SQLite lets one connection write at a time. With several writing connections, the
/// losers wait in SQLite's busy handler, which sleeps and retries and, under load,
/// gives up with "database is locked". Here every write of this process goes through
/// the one connection of `write`, so writers queue in the process, in order, and SQLite
/// never sees two of them; task changes are also batched into group commits (see
/// `tasks::writer`). Reads never wait for writes (WAL).
#[derive(Clone, Debug)]
pub struct Db {
    /// Read-only connections: a write through one of them fails loudly.
    pub read: SqlitePool,
    /// The one writing connection.
    pub write: SqlitePool,
}

impl Db {
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

fn options(database_url: &str) -> anyhow::Result<SqliteConnectOptions> {
    use anyhow::Context;
    Ok(SqliteConnectOptions::from_str(database_url)
        .context("parsing the database URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // Only other processes (the CLI) can hold the write lock now; wait for them.
        .busy_timeout(Duration::from_secs(5)))
}

/// A pool of `max` connections to the database (read-only ones when `read_only`).
async fn pool(database_url: &str, max: u32, read_only: bool) -> anyhow::Result<SqlitePool> {
    use anyhow::Context;
    SqlitePoolOptions::new()
        .max_connections(max)
        // Writers queue for the one writing connection, in the process; under a burst
        // the wait can be long, and it is still better than failing.
        .acquire_timeout(Duration::from_secs(120))
        .connect_with(options(database_url)?.read_only(read_only))
        .await
        .context("opening the database")
}

/// The schema's migrations, kept side by side per store: the same versions, each written
/// in its store's dialect (`server/migrations/{sqlite,postgres}`).
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    use anyhow::Context;
    SQLITE_MIGRATIONS
        .run(pool)
        .await
        .context("running database migrations")
}

/// Opens the database for a server: runs migrations on the writer, then opens readers.
/// A failed migration stops start-up.
pub async fn open(database_url: &str) -> anyhow::Result<Db> {
    let write = pool(database_url, 1, false).await?;
    migrate(&write).await?;
    let read = pool(database_url, 8, true).await?;
    Ok(Db { read, write })
}

/// Opens (creating if needed) the SQLite database in WAL mode and runs migrations, as
/// one small pool that reads and writes: for the command line and tests, which run
/// beside a server rather than as one.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    let pool = pool(database_url, 2, false).await?;
    migrate(&pool).await?;
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

/// Whether the database answers a trivial query.
pub async fn answers(pool: &SqlitePool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}
