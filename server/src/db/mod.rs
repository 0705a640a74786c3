//! The database: pool set-up and query functions over the pool or a transaction.

pub mod events;
pub mod idempotency;
pub mod leases;
pub mod secrets;
pub mod service_tokens;
pub mod sessions;
pub mod tasks;
pub mod teams;
pub mod users;
pub mod webhooks;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};

/// A pool on either store; queries are written once, with `$N` placeholders, in SQL
/// that SQLite and Postgres both read.
pub type Pool = AnyPool;
/// One connection (or transaction) on either store.
pub type Conn = AnyConnection;
/// A transaction on either store.
pub type Tx = Transaction<'static, Any>;

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// An embedded SQLite file: one server process (the default).
    Sqlite,
    /// A Postgres server: any number of server processes.
    Postgres,
}

impl Store {
    /// The store of `database_url`, or `None` for a URL of neither kind.
    pub fn of_url(database_url: &str) -> Option<Store> {
        if database_url.starts_with("sqlite:") {
            Some(Store::Sqlite)
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Some(Store::Postgres)
        } else {
            None
        }
    }

    /// The store `pool` is connected to.
    pub fn of(pool: &Pool) -> Store {
        match pool.connect_options().database_url.scheme() {
            "postgres" | "postgresql" => Store::Postgres,
            _ => Store::Sqlite,
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Store::Sqlite => &SQLITE_MIGRATIONS,
            Store::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// The database as a server uses it: readers in parallel, and one writer per process.
///
/// SQLite lets one connection write at a time. With several writing connections, the
/// losers wait in SQLite's busy handler, which sleeps and retries and, under load,
/// gives up with "database is locked". Here every write of this process goes through
/// the one connection of `write`, so writers queue in the process, in order, and SQLite
/// never sees two of them; task changes are also batched into group commits (see
/// `tasks::writer`). Reads never wait for writes (WAL). On Postgres the same shape
/// holds per process; several processes' writers are put in one order by the log's
/// counter row (see `events::next_seqs`).
#[derive(Clone, Debug)]
pub struct Db {
    pub store: Store,
    /// The URL, for connections that are not pooled (the Postgres listener).
    pub url: String,
    /// Read-only connections on SQLite: a write through one of them fails loudly.
    pub read: Pool,
    /// The one writing connection.
    pub write: Pool,
    /// SQLite only: the connection the WAL is checkpointed from (see [`run_checkpointer`]).
    pub checkpoint: Option<Pool>,
}

impl Db {
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.close().await;
        }
    }
}

/// How often [`run_checkpointer`] copies the WAL into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// WAL pages at which the writing connection checkpoints by itself, after a commit
/// (SQLite's default is 1,000). The WAL starts again from its beginning only when a
/// write finds all of it copied; under a steady stream of commits a checkpoint from
/// another connection seldom leaves it so, and this is what keeps the WAL's length
/// near 10,000 pages, as the default keeps it near 1,000.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// Bytes a WAL file is cut back to when it starts again (it otherwise keeps its
/// largest size): above the length the writer's own checkpoint keeps it near (10,000
/// pages of 4 KiB and their headers), so a steady load never cuts it and grows it back
/// on the writer's path; only a WAL that grew past that (a reader holding an old
/// snapshot) is cut.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// What a connection of a pool is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Reads only (a read-only connection on SQLite).
    Read,
    /// The server's one writing connection: its commits leave checkpoints to
    /// [`run_checkpointer`].
    Write,
    /// Reads and writes, and checkpoints as SQLite does by default: the command line,
    /// tests, and the checkpointer's own connection.
    ReadWrite,
}

/// SQLite: copies committed pages from the WAL into the database file every `every`,
/// on a connection of its own, until `shutdown`.
///
/// By default SQLite checkpoints on the connection that commits, once the WAL holds
/// 1,000 pages, and that commit waits for the copy and its `fsync`: at 50 creates a
/// second, about one create in a hundred took milliseconds longer. Here the writer only
/// appends to the WAL. A passive checkpoint waits for nobody, and nobody waits for it:
/// readers keep their snapshots, and the writer goes on appending (what it appends
/// meanwhile is copied the next time).
pub async fn run_checkpointer(
    pool: Pool,
    every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => break,
        }
        let started = std::time::Instant::now();
        // One row: whether it was kept from finishing, the WAL's pages, and how many
        // of them are now in the database file.
        let checkpoint =
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool);
        let outcome = tokio::select! {
            outcome = checkpoint => outcome,
            _ = shutdown.cancelled() => break,
        };
        match outcome {
            Ok((_, wal_pages, copied)) => {
                metrics::histogram!("taskwire_wal_checkpoint_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::gauge!("taskwire_wal_pages").set(wal_pages.max(0) as f64);
                metrics::gauge!("taskwire_wal_pages_not_copied")
                    .set((wal_pages - copied).max(0) as f64);
                if std::mem::take(&mut failing) {
                    tracing::info!("checkpointing the WAL works again");
                }
            }
            Err(e) => {
                metrics::counter!("taskwire_wal_checkpoint_failures_total").increment(1);
                // Said once, not twice a second, while it lasts; the counter counts on.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "checkpointing the WAL failed; will retry");
                }
            }
        }
    }
}

/// The URL a pool connects with: SQLite files are created when missing (and opened
/// read-only for readers).
fn pool_url(database_url: &str, store: Store, read_only: bool) -> String {
    if store != Store::Sqlite || database_url.contains("mode=") {
        return database_url.to_owned();
    }
    let mode = if read_only { "ro" } else { "rwc" };
    let sep = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{sep}mode={mode}")
}

/// A pool of `max` connections to the database, for `role`.
async fn pool(database_url: &str, max: u32, role: Role) -> anyhow::Result<Pool> {
    use anyhow::Context;
    sqlx::any::install_default_drivers();
    let store =
        Store::of_url(database_url).context("the database URL is neither sqlite: nor postgres:")?;
    AnyPoolOptions::new()
        .max_connections(max)
        // Writers queue for the one writing connection, in the process; under a burst
        // the wait can be long, and it is still better than failing.
        .acquire_timeout(Duration::from_secs(120))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if store == Store::Sqlite {
                    // WAL: readers never wait for the writer. Foreign keys as declared.
                    // Only other processes (the CLI) can hold the write lock; wait for
                    // them rather than fail.
                    conn.execute(
                        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    if role != Role::Read {
                        conn.execute("PRAGMA journal_mode = WAL;").await?;
                    }
                    if role == Role::Write {
                        conn.execute(
                            format!(
                                "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}; \
                                 PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
                            )
                            .as_str(),
                        )
                        .await?;
                    }
                }
                Ok(())
            })
        })
        .connect(&pool_url(database_url, store, role == Role::Read))
        .await
        .context("opening the database")
}

/// The schema's migrations, kept side by side per store: the same versions, each written
/// in its store's dialect (`server/migrations/{sqlite,postgres}`).
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    use anyhow::Context;
    Store::of(pool)
        .migrator()
        .run(pool)
        .await
        .context("running database migrations")
}

/// Opens the database for a server: runs migrations on the writer, then opens readers
/// (and on SQLite the checkpointer's connection). A failed migration stops start-up.
pub async fn open(database_url: &str) -> anyhow::Result<Db> {
    let write = pool(database_url, 1, Role::Write).await?;
    migrate(&write).await?;
    let read = pool(database_url, 8, Role::Read).await?;
    let store = Store::of(&write);
    let checkpoint = match store {
        Store::Sqlite => Some(pool(database_url, 1, Role::ReadWrite).await?),
        Store::Postgres => None,
    };
    Ok(Db {
        store,
        url: database_url.to_owned(),
        read,
        write,
        checkpoint,
    })
}

/// Opens (creating if needed) the database and runs migrations, as one small pool that
/// reads and writes: for the command line and tests, which run beside a server rather
/// than as one.
pub async fn connect(database_url: &str) -> anyhow::Result<Pool> {
    let pool = pool(database_url, 2, Role::ReadWrite).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Starts a write transaction that holds the log's write lock from its first
/// statement, so everything it reads is what the previous writer committed and nobody
/// commits in between: on SQLite the database's write lock (`BEGIN IMMEDIATE`), on
/// Postgres the log's counter row (`SELECT … FOR UPDATE`), which every writer of every
/// server takes. Without it, a Postgres writer could read a task, wait for the counter
/// behind another server's change to the same task, and then write back a stale copy.
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    match Store::of(pool) {
        Store::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Store::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT seq FROM log_head WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Starts a transaction whose reads all see one snapshot: a page and the seq it
/// reflects agree. (A SQLite read transaction is one snapshot already; Postgres needs
/// `REPEATABLE READ` for it.)
pub async fn begin_read(pool: &Pool) -> Result<Tx, sqlx::Error> {
    match Store::of(pool) {
        Store::Sqlite => pool.begin().await,
        Store::Postgres => {
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
    }
}

/// Sends `payload` on Postgres channel `channel` from inside a transaction: listeners
/// hear it when the transaction commits, and never if it does not.
pub async fn notify(conn: &mut Conn, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether the database answers a trivial query.
pub async fn answers(pool: &Pool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}
