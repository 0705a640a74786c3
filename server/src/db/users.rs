//! Queries on `users`.

use super::Pool;
use shared_protocol::{UserId, UserRef};

/// A stored account. The hash stays on the server: it is never serialised.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub org_id: i64,
    pub token_version: i64,
    /// 0 or 1 (a Postgres boolean cast, so both stores read alike).
    pub admin: i64,
}

impl UserRow {
    /// Whether the account manages the installation (service tokens).
    pub fn is_admin(&self) -> bool {
        self.admin != 0
    }

    pub fn to_ref(&self) -> UserRef {
        UserRef {
            id: UserId(self.id),
            name: self.display_name.clone(),
        }
    }
}

const SELECT: &str = "SELECT id, username, display_name, password_hash, org_id, token_version, \
     CAST(admin AS INTEGER) AS admin FROM users";

/// Inserts a user in the default org; `Ok(None)` when the username is taken.
pub async fn insert(
    pool: &Pool,
    username: &str,
    display_name: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<UserRow>, sqlx::Error> {
    insert_in_org(pool, username, display_name, password_hash, 1, None, now).await
}

/// Inserts a user in `org_id`; `Ok(None)` when the username is taken. `admin` says
/// whether the account is an administrator; `None` makes it one if there is none yet.
#[tracing::instrument(skip(pool, password_hash))]
pub async fn insert_in_org(
    pool: &Pool,
    username: &str,
    display_name: &str,
    password_hash: &str,
    org_id: i64,
    admin: Option<bool>,
    now: i64,
) -> Result<Option<UserRow>, sqlx::Error> {
    let result = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, display_name, password_hash, org_id, created_at, admin) \
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, NOT EXISTS (SELECT 1 FROM users WHERE admin))) \
         RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(org_id)
    .bind(now)
    .bind(admin)
    .fetch_one(pool)
    .await;
    match result {
        Ok(id) => find_by_id(pool, id).await,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

#[tracing::instrument(skip(pool))]
pub async fn find_by_username(pool: &Pool, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE username = $1"))
        .bind(username)
        .fetch_optional(pool)
        .await
}

#[tracing::instrument(skip(pool))]
pub async fn find_by_id(pool: &Pool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A session token's account, read with what decides whether the session holds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    /// 1 when the session was signed out on its own (`ended_sessions`).
    ended: i64,
}

impl SessionRow {
    /// Whether a token of the session, issued with token version `ver`, still holds:
    /// the user's sessions were not all ended since, nor this one alone.
    pub fn holds(&self, ver: i64) -> bool {
        self.user.token_version == ver && self.ended == 0
    }
}

/// User `id` with whether session `sid` was signed out, in one read (every
/// authenticated request makes it).
#[tracing::instrument(skip(pool, sid))]
pub async fn find_session(
    pool: &Pool,
    id: i64,
    sid: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, display_name, password_hash, org_id, token_version, \
         CAST(admin AS INTEGER) AS admin, \
         CASE WHEN EXISTS (SELECT 1 FROM ended_sessions WHERE sid = $2) THEN 1 ELSE 0 END \
         AS ended FROM users WHERE id = $1",
    )
    .bind(id)
    .bind(sid)
    .fetch_optional(pool)
    .await
}

/// What else changes when every session of an account ends. (No `Debug`: a log line
/// never shows a password hash.)
#[derive(Clone, Copy)]
pub enum SessionsEnd<'a> {
    /// Nothing else: a sign-out everywhere.
    Only,
    /// The password hash is replaced.
    Password(&'a str),
    /// The account moves to team `org_id`.
    Team(i64),
}

/// Applies `change` and invalidates every token issued to the user so far, in one
/// transaction with `notify` (Postgres: a channel and a payload): either all of it is
/// stored and announced, or nothing is.
#[tracing::instrument(skip(pool, change, notify), fields(change = change.name()))]
pub async fn end_sessions(
    pool: &Pool,
    id: i64,
    change: SessionsEnd<'_>,
    notify: Option<(&str, &str)>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let update = match change {
        SessionsEnd::Only => {
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
        }
        SessionsEnd::Password(hash) => sqlx::query(
            "UPDATE users SET token_version = token_version + 1, password_hash = $1 WHERE id = $2",
        )
        .bind(hash),
        SessionsEnd::Team(org_id) => sqlx::query(
            "UPDATE users SET token_version = token_version + 1, org_id = $1 WHERE id = $2",
        )
        .bind(org_id),
    };
    // The id binds last: after the value the change binds, if any.
    update.bind(id).execute(&mut *tx).await?;
    if let Some((channel, payload)) = notify {
        super::notify(&mut tx, channel, payload).await?;
    }
    tx.commit().await
}

impl SessionsEnd<'_> {
    /// For log lines: which change, never its value.
    fn name(&self) -> &'static str {
        match self {
            SessionsEnd::Only => "sessions",
            SessionsEnd::Password(_) => "password",
            SessionsEnd::Team(_) => "team",
        }
    }
}

/// The id of the org named `name`, creating it if needed.
pub async fn org_id(pool: &Pool, name: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO orgs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(pool)
        .await?;
    sqlx::query_scalar("SELECT id FROM orgs WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// The people of `org_id`, by display name: whom a list can be filtered by. At most
/// `limit` of them.
pub async fn in_org(pool: &Pool, org_id: i64, limit: i64) -> Result<Vec<UserRef>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users WHERE org_id = $1 \
         ORDER BY LOWER(display_name), id LIMIT $2",
    )
    .bind(org_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| UserRef {
            id: UserId(id),
            name,
        })
        .collect())
}

/// Makes the account named `username` an administrator or not; `false` if there is none.
pub async fn set_admin(pool: &Pool, username: &str, admin: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET admin = $1 WHERE username = $2")
        .bind(admin)
        .bind(username)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
