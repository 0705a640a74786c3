//! The two stores' migrations, kept side by side, make the same schema: each version is
//! there for both, and after them every table, column (and whether it may be empty) and
//! named index SQLite has, Postgres has too, and nothing else. Runs against the
//! throwaway Postgres `scripts/test.sh` starts (`TASKWIRE_TEST_POSTGRES_URL`).

use std::collections::BTreeSet;

use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection, Row, SqlitePool};

use server::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// A fresh database on the test Postgres, dropped when the test is done with it.
struct PgDatabase {
    admin_url: String,
    name: String,
    pool: PgPool,
}

impl PgDatabase {
    /// `None` outside the project's scripts; under CI that is a failure, not a skip.
    async fn create() -> Option<PgDatabase> {
        let Some(admin_url) = std::env::var("TASKWIRE_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the Postgres tests: scripts/test.sh starts a throwaway Postgres"
            );
            eprintln!("skipped: TASKWIRE_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)");
            return None;
        };
        let mut bytes = [0u8; 6];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let name = format!("taskwire_test_{}", hex::encode(bytes));
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("the test Postgres");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _database)) => format!("{server}/{name}"),
            None => panic!("TASKWIRE_TEST_POSTGRES_URL names no database: {admin_url}"),
        };
        let pool = PgPool::connect(&url).await.unwrap();
        Some(PgDatabase {
            admin_url,
            name,
            pool,
        })
    }

    async fn drop_database(self) {
        self.pool.close().await;
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE {}", self.name))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

/// `table.column` with `?` when it may be NULL, `index:name` for named indexes, and
/// `unique:table(columns)` (with ` where …` for a partial one) for every uniqueness
/// rule but primary keys, however it was declared.
type Schema = BTreeSet<String>;

async fn postgres_schema(pool: &PgPool) -> Schema {
    let mut schema = Schema::new();
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in columns {
        let (table, column, nullable): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let mark = if nullable == "YES" { "?" } else { "" };
        schema.insert(format!("{table}.{column}{mark}"));
    }
    // Indexes the migrations name; those behind a primary key or UNIQUE column are
    // Postgres's own (`…_pkey`, `…_key`), as SQLite's are `sqlite_autoindex_…`.
    let indexes = sqlx::query(
        "SELECT indexname::text FROM pg_indexes
         WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in indexes {
        schema.insert(format!("index:{}", row.get::<String, _>(0)));
    }
    let unique = sqlx::query(
        "SELECT t.relname::text,
                (SELECT string_agg(a.attname::text, ',' ORDER BY k.n)
                   FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum),
                i.indpred IS NOT NULL
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         WHERE ns.nspname = 'public' AND i.indisunique AND NOT i.indisprimary",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in unique {
        let (table, columns, partial): (String, String, bool) =
            (row.get(0), row.get(1), row.get(2));
        schema.insert(unique_rule(&table, &columns, partial));
    }
    schema
}

fn unique_rule(table: &str, columns: &str, partial: bool) -> String {
    let partial = if partial { " where …" } else { "" };
    format!("unique:{table}({columns}){partial}")
}

async fn sqlite_schema(pool: &SqlitePool) -> Schema {
    let mut schema = Schema::new();
    // A full-text index is a virtual table (and its shadow tables) on SQLite, and an
    // index on Postgres: each counts as the index of its name.
    let virtual_tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.extend(virtual_tables.iter().map(|name| format!("index:{name}")));
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let tables = tables.into_iter().filter(|table| {
        !virtual_tables
            .iter()
            .any(|v| table == v || table.starts_with(&format!("{v}_")))
    });
    for table in tables {
        let columns = sqlx::query(&format!("PRAGMA table_info({table})"))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in columns {
            let name: String = row.get("name");
            // A primary key column is never NULL, whatever the pragma reports for it.
            let not_null = row.get::<i64, _>("notnull") == 1 || row.get::<i64, _>("pk") > 0;
            let mark = if not_null { "" } else { "?" };
            schema.insert(format!("{table}.{name}{mark}"));
        }
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite\\_autoindex%' ESCAPE '\\'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.extend(indexes.into_iter().map(|name| format!("index:{name}")));
    let tables: Vec<String> = schema
        .iter()
        .filter_map(|entry| entry.split_once('.').map(|(table, _)| table.to_owned()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for table in tables {
        let indexes = sqlx::query(&format!("PRAGMA index_list({table})"))
            .fetch_all(pool)
            .await
            .unwrap();
        for index in indexes {
            let unique = index.get::<i64, _>("unique") == 1;
            if !unique || index.get::<String, _>("origin") == "pk" {
                continue;
            }
            let name: String = index.get("name");
            let columns: Vec<String> = sqlx::query(&format!("PRAGMA index_info({name})"))
                .fetch_all(pool)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.get::<String, _>("name"))
                .collect();
            let partial = index.get::<i64, _>("partial") == 1;
            schema.insert(unique_rule(&table, &columns.join(","), partial));
        }
    }
    schema
}

#[test]
fn every_migration_exists_for_both_stores() {
    let versions = |m: &sqlx::migrate::Migrator| -> Vec<(i64, String)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    };
    assert_eq!(versions(&SQLITE_MIGRATIONS), versions(&POSTGRES_MIGRATIONS));
    assert!(SQLITE_MIGRATIONS.iter().count() >= 7);
}

#[tokio::test]
async fn postgres_migrations_make_the_schema_sqlite_migrations_make() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    POSTGRES_MIGRATIONS.run(&pg.pool).await.unwrap();
    // Running them again changes nothing (a restarted server does this).
    POSTGRES_MIGRATIONS.run(&pg.pool).await.unwrap();
    let postgres = postgres_schema(&pg.pool).await;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("taskwire.db").display());
    server::db::open(&url).await.unwrap().close().await;
    let pool = SqlitePool::connect(&url).await.unwrap();
    let sqlite = sqlite_schema(&pool).await;
    pool.close().await;

    for expected in [
        "events.seq",
        "index:tasks_last_seq",
        "unique:users(username)",
        "unique:service_tokens(name) where …",
    ] {
        assert!(sqlite.contains(expected), "{expected} in {sqlite:#?}");
    }
    assert_eq!(
        sqlite.difference(&postgres).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "in SQLite's schema but not Postgres's"
    );
    assert_eq!(
        postgres.difference(&sqlite).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "in Postgres's schema but not SQLite's"
    );
    // The default org is id 1 in both.
    let default: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE name = 'default'")
        .fetch_one(&pg.pool)
        .await
        .unwrap();
    assert_eq!(default, 1);
    pg.drop_database().await;
}
