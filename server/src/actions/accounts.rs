//! Account use cases: sign up, sign in, end every session.

use serde::Deserialize;

use crate::auth;
use crate::db::{self, users};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signup {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Creates an account and signs it in.
pub async fn sign_up(state: &AppState, body: Signup) -> Result<(users::UserRow, String), ApiError> {
    let username = body.username.trim().to_lowercase();
    let display_name = body
        .display_name
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| username.clone());
    auth::validate_signup(&username, &body.password, &display_name)?;
    let hash = auth::hash_password(body.password).await?;
    let user = users::insert(
        &state.db.write,
        &username,
        display_name.trim(),
        &hash,
        db::now_millis(),
    )
    .await?
    .ok_or(ApiError::UsernameTaken)?;
    let token = state.keys.issue(&user);
    tracing::info!(user_id = user.id, "account created");
    Ok((user, token))
}

/// Checks credentials; the same answer for an unknown user and a wrong password.
pub async fn sign_in(
    state: &AppState,
    body: Credentials,
) -> Result<(users::UserRow, String), ApiError> {
    let username = body.username.trim().to_lowercase();
    let user = users::find_by_username(&state.db.read, &username).await?;
    let Some(user) = user else {
        // Spend the same time as a real check, so timing does not reveal accounts.
        auth::burn_verification_time(body.password).await;
        return Err(ApiError::BadCredentials);
    };
    if !auth::verify_password(body.password, user.password_hash.clone()).await {
        return Err(ApiError::BadCredentials);
    }
    let token = state.keys.issue(&user);
    Ok((user, token))
}

/// Ends every session of a user: tokens stop working and open sockets close.
pub async fn revoke_sessions(state: &AppState, user_id: i64) -> Result<(), ApiError> {
    users::bump_token_version(&state.db.write, user_id).await?;
    let _ = state.revocations.send(user_id);
    Ok(())
}
