//! Sign-up, login, logout and the current user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;

use super::ApiJson;
use crate::auth::{self, CurrentUser};
use crate::db::{self, users};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/password", post(change_password))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupBody {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

/// Creates an account and signs it in.
pub async fn create_account(
    state: &AppState,
    body: SignupBody,
) -> Result<(users::UserRow, String), ApiError> {
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
pub async fn check_credentials(
    state: &AppState,
    body: LoginBody,
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

fn session_response(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    user: &users::UserRow,
    token: String,
) -> impl IntoResponse {
    let cookie = auth::session_cookie(
        token.clone(),
        state.settings.session_max_age,
        state.settings.secure_cookies,
    );
    let body = json!({
        "user": { "id": user.id, "username": user.username, "name": user.display_name },
        "token": token,
    });
    (status, jar.add(cookie), axum::Json(body))
}

#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = create_account(&state, body).await?;
    Ok(session_response(
        &state,
        jar,
        StatusCode::CREATED,
        &user,
        token,
    ))
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = check_credentials(&state, body).await?;
    Ok(session_response(&state, jar, StatusCode::OK, &user, token))
}

/// Ends every session of the user, on every device and socket.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    revoke_sessions(&state, user.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(auth::clear_session_cookie(state.settings.secure_cookies)),
    ))
}

async fn me(user: CurrentUser) -> impl IntoResponse {
    axum::Json(json!({ "user": { "id": user.id, "name": user.name } }))
}

/// Ends every session of a user: tokens stop working and open sockets close.
pub async fn revoke_sessions(state: &AppState, user_id: i64) -> Result<(), ApiError> {
    users::bump_token_version(&state.db.write, user_id).await?;
    let _ = state.revocations.send(user_id);
    Ok(())
}

/// Trades a valid (possibly expired, but recent) session token for a fresh one. A
/// revoked or too old session gets 401, and the client sends its user to sign in.
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let token = auth::token_from_headers(&headers).ok_or(ApiError::Unauthorized)?;
    let (user, token) = auth::renew_session(
        &state.db.read,
        &state.keys,
        &token,
        state.settings.session_max_age,
    )
    .await?
    .ok_or(ApiError::Unauthorized)?;
    Ok(session_response(&state, jar, StatusCode::OK, &user, token))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password; every other session of the user ends, this one continues.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<impl IntoResponse, ApiError> {
    let row = users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !auth::verify_password(body.current_password, row.password_hash.clone()).await {
        return Err(ApiError::BadCredentials);
    }
    auth::validate_signup(&row.username, &body.new_password, &row.display_name)?;
    let hash = auth::hash_password(body.new_password).await?;
    users::set_password(&state.db.write, user.id, &hash).await?;
    revoke_sessions(&state, user.id).await?;
    let row = users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let token = state.keys.issue(&row);
    Ok(session_response(&state, jar, StatusCode::OK, &row, token))
}
