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
        &state.pool,
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
    let user = users::find_by_username(&state.pool, &username).await?;
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
        state.keys.ttl(),
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
    users::bump_token_version(&state.pool, user.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(auth::clear_session_cookie(state.settings.secure_cookies)),
    ))
}

async fn me(user: CurrentUser) -> impl IntoResponse {
    axum::Json(json!({ "user": { "id": user.id, "name": user.name } }))
}
