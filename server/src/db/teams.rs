//! Queries on teams (`orgs`) and their invitations (`invites`).

use super::{Conn, Pool};
use sha2::{Digest, Sha256};

/// Invite secrets start with this, so one pasted somewhere is easy to recognise.
pub const INVITE_PREFIX: &str = "twi_";

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A team member, as the team page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub admin: i64,
    pub created_at: i64,
}

/// An invite not yet used, revoked or expired.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub id: i64,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The team's name.
pub async fn name(pool: &Pool, org_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_optional(pool)
        .await
}

/// Everyone in `org_id`, by display name.
pub async fn members(pool: &Pool, org_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, display_name, CAST(admin AS INTEGER) AS admin, created_at \
         FROM users WHERE org_id = $1 ORDER BY LOWER(display_name), id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await
}

/// Makes a new team for `username` alone, named after it (or after it and `user_id`
/// when a team already has that name); returns its id.
pub async fn create_own(pool: &Pool, username: &str, user_id: i64) -> Result<i64, sqlx::Error> {
    for name in [username.to_owned(), format!("{username}-{user_id}")] {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO orgs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(&name)
        .fetch_optional(pool)
        .await?;
        if let Some(id) = id {
            return Ok(id);
        }
    }
    // Both names taken: a name only the id makes unique.
    sqlx::query_scalar("INSERT INTO orgs (name) VALUES ($1) RETURNING id")
        .bind(format!("team-{user_id}-{}", super::now_millis()))
        .fetch_one(pool)
        .await
}

/// Whether anyone may sign up without an invite (open sign-up joins the default team).
pub async fn signup_open(pool: &Pool) -> Result<bool, sqlx::Error> {
    let open: Option<i64> =
        sqlx::query_scalar("SELECT CAST(signup_open AS INTEGER) FROM orgs WHERE id = 1")
            .fetch_optional(pool)
            .await?;
    Ok(open.unwrap_or(1) != 0)
}

pub async fn set_signup_open(pool: &Pool, open: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orgs SET signup_open = $1 WHERE id = 1")
        .bind(open)
        .execute(pool)
        .await?;
    Ok(())
}

/// Makes an invite to `org_id` that lasts until `expires_at`; returns its secret, the
/// only time it is ever shown.
pub async fn create_invite(
    pool: &Pool,
    org_id: i64,
    created_by: i64,
    now: i64,
    expires_at: i64,
) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = format!("{INVITE_PREFIX}{}", hex::encode(bytes));
    sqlx::query(
        "INSERT INTO invites (token_hash, org_id, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash(&secret))
    .bind(org_id)
    .bind(created_by)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(secret)
}

/// The open invites of `org_id`, newest first.
pub async fn open_invites(
    pool: &Pool,
    org_id: i64,
    now: i64,
) -> Result<Vec<InviteRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, u.display_name AS created_by, i.created_at, i.expires_at \
         FROM invites i JOIN users u ON u.id = i.created_by \
         WHERE i.org_id = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 \
         ORDER BY i.id DESC",
    )
    .bind(org_id)
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Revokes an open invite of `org_id`; `false` if it has none by that id.
pub async fn revoke_invite(
    pool: &Pool,
    org_id: i64,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invites SET revoked_at = $1 \
         WHERE id = $2 AND org_id = $3 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(org_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The team and name of the open invite `secret`, if it is one.
pub async fn find_invite(
    pool: &Pool,
    secret: &str,
    now: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.name FROM invites i JOIN orgs o ON o.id = i.org_id \
         WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL \
         AND i.expires_at > $2",
    )
    .bind(hash(secret))
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Spends the open invite `secret` inside the caller's transaction, for account `user`
/// when it exists already; returns the invite's id and team, or `None` if it is not
/// open (used, revoked, expired or unknown). Only one taker wins an invite, and if the
/// transaction does not commit, nobody has.
pub async fn spend_invite(
    conn: &mut Conn,
    secret: &str,
    user: Option<i64>,
    now: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE invites SET used_at = $1, used_by = $2 \
         WHERE token_hash = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING id, org_id",
    )
    .bind(now)
    .bind(user)
    .bind(hash(secret))
    .fetch_optional(conn)
    .await
}
