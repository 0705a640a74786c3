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
    let new = NewUser {
        username,
        display_name,
        password_hash,
        org_id,
        admin,
        now,
    };
    // The connection goes back before the row is read: the writing pool may have only
    // this one.
    let inserted = new.insert(&mut *pool.acquire().await?).await?;
    match inserted {
        Some(id) => find_by_id(pool, id).await,
        None => Ok(None),
    }
}

/// What became of a sign-up with an invite.
#[derive(Debug)]
pub enum Invited {
    /// The account, made in the invite's team; the invite is spent on it.
    Made(UserRow),
    /// The invite is not open; nothing was stored.
    NotOpen,
    /// The username is taken; nothing was stored and the invite is still open.
    UsernameTaken,
}

/// Makes an account in the team of the open invite `secret` and spends the invite on
/// it, in one transaction: either both are stored or neither is.
#[tracing::instrument(skip(pool, secret, password_hash))]
pub async fn insert_by_invite(
    pool: &Pool,
    secret: &str,
    username: &str,
    display_name: &str,
    password_hash: &str,
    now: i64,
) -> Result<Invited, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((invite, org_id)) = super::teams::spend_invite(&mut tx, secret, None, now).await?
    else {
        return Ok(Invited::NotOpen);
    };
    let new = NewUser {
        username,
        display_name,
        password_hash,
        org_id,
        admin: None,
        now,
    };
    let Some(id) = new.insert(&mut tx).await? else {
        // Dropping the transaction rolls the invite back.
        return Ok(Invited::UsernameTaken);
    };
    sqlx::query("UPDATE invites SET used_by = $1 WHERE id = $2")
        .bind(id)
        .bind(invite)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    match find_by_id(pool, id).await? {
        Some(user) => Ok(Invited::Made(user)),
        None => Err(sqlx::Error::RowNotFound),
    }
}

/// A row of `users` to insert.
struct NewUser<'a> {
    username: &'a str,
    display_name: &'a str,
    password_hash: &'a str,
    org_id: i64,
    admin: Option<bool>,
    now: i64,
}

impl NewUser<'_> {
    /// Inserts the row; the new id, or `None` when the username is taken.
    async fn insert(&self, conn: &mut super::Conn) -> Result<Option<i64>, sqlx::Error> {
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, display_name, password_hash, org_id, created_at, admin) \
             VALUES ($1, $2, $3, $4, $5, COALESCE($6, NOT EXISTS (SELECT 1 FROM users WHERE admin))) \
             RETURNING id",
        )
        .bind(self.username)
        .bind(self.display_name)
        .bind(self.password_hash)
        .bind(self.org_id)
        .bind(self.now)
        .bind(self.admin)
        .fetch_one(conn)
        .await;
        match result {
            Ok(id) => Ok(Some(id)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
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
    /// The account moves to the team of the open invite with this secret, spending it.
    Invite(&'a str),
}

/// Applies `change` and invalidates every token issued to the user so far, in one
/// transaction with `notify` (Postgres: a channel and a payload): either all of it is
/// stored and announced, or nothing is. `Ok(false)`: an invite to spend is not open,
/// and nothing was stored.
#[tracing::instrument(skip(pool, change, notify), fields(change = change.name()))]
pub async fn end_sessions(
    pool: &Pool,
    id: i64,
    change: SessionsEnd<'_>,
    notify: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let move_to = |org_id: i64| {
        sqlx::query("UPDATE users SET token_version = token_version + 1, org_id = $1 WHERE id = $2")
            .bind(org_id)
    };
    let update = match change {
        SessionsEnd::Only => {
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
        }
        SessionsEnd::Password(hash) => sqlx::query(
            "UPDATE users SET token_version = token_version + 1, password_hash = $1 WHERE id = $2",
        )
        .bind(hash),
        SessionsEnd::Team(org_id) => move_to(org_id),
        SessionsEnd::Invite(secret) => {
            let now = super::now_millis();
            let Some((_, org_id)) =
                super::teams::spend_invite(&mut tx, secret, Some(id), now).await?
            else {
                return Ok(false);
            };
            move_to(org_id)
        }
    };
    // The id binds last: after the value the change binds, if any.
    update.bind(id).execute(&mut *tx).await?;
    if let Some((channel, payload)) = notify {
        super::notify(&mut tx, channel, payload).await?;
    }
    tx.commit().await?;
    Ok(true)
}

impl SessionsEnd<'_> {
    /// For log lines: which change, never its value.
    fn name(&self) -> &'static str {
        match self {
            SessionsEnd::Only => "sessions",
            SessionsEnd::Password(_) => "password",
            SessionsEnd::Team(_) => "team",
            SessionsEnd::Invite(_) => "invite",
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
