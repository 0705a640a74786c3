//! Sign-up, login, logout and the current user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use shared_protocol::api::{Me, Session, SessionUser};
use shared_protocol::UserId;

use super::ApiJson;
use crate::actions::accounts::{self, Credentials, PasswordChange, Signup};
use crate::auth::{self, CurrentUser};
use crate::db::users;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/session", delete(end_session))
        .route("/api/auth/me", get(me))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/password", post(change_password))
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
    let body = Session {
        user: SessionUser {
            id: UserId(user.id),
            username: user.username.clone(),
            name: user.display_name.clone(),
        },
        token,
    };
    (status, jar.add(cookie), axum::Json(body))
}

#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<Signup>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = accounts::sign_up(&state, body).await?;
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
    ApiJson(body): ApiJson<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = accounts::sign_in(&state, body).await?;
    Ok(session_response(&state, jar, StatusCode::OK, &user, token))
}

/// Ends every session of the user, on every device and socket.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    accounts::revoke_sessions(&state, user.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(auth::clear_session_cookie(state.settings.secure_cookies)),
    ))
}

/// Ends the session the request came with, and no other (signing out on one device).
/// Ending one that is over already changes nothing.
#[tracing::instrument(skip_all)]
async fn end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let token = auth::token_from_headers(&headers).ok_or(ApiError::Unauthorized)?;
    accounts::end_session(&state, &token).await?;
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(auth::clear_session_cookie(state.settings.secure_cookies)),
    ))
}

async fn me(user: CurrentUser) -> impl IntoResponse {
    axum::Json(Me {
        user: user.to_ref(),
    })
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
    let (user, token) = accounts::refresh(&state, &token).await?;
    Ok(session_response(&state, jar, StatusCode::OK, &user, token))
}

/// Changes the password; every other session of the user ends, this one continues. A
/// wrong current password is 422, not 401: the session is fine, the password typed is
/// not, and a client ends its session on a 401.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = accounts::change_password(&state, &user, body)
        .await
        .map_err(|e| match e {
            ApiError::BadCredentials => {
                ApiError::invalid("currentPassword", "the current password is not right")
            }
            e => e,
        })?;
    Ok(session_response(&state, jar, StatusCode::OK, &user, token))
}
