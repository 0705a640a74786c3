//! Queries on `server_secrets`: generated keys shared by every process on a database.

use super::Pool;

/// The secret stored under `name`, storing `candidate` first if there is none: the
/// first process to start decides, and every other one reads the same value.
pub async fn shared(pool: &Pool, name: &str, candidate: &str) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}
