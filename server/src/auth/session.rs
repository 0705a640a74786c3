//! The session on a request: the cookie (or `Bearer` header) that carries the token,
//! and the [`CurrentUser`] and [`Reporter`] extractors.

use std::time::Duration;

use crate::db::Pool;
use axum::extract::{FromRef, FromRequestParts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use http::request::Parts;
use http::HeaderMap;
use shared_protocol::{UserId, UserRef};

use super::tokens::{SessionKeys, TokenError};
use crate::db::{users, Db};
use crate::error::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "taskwire_session";

/// The session cookie carrying `token`. It outlives the token inside it (`max_age` is the
/// refresh window): an expired token must still reach `/api/auth/refresh`.
pub fn session_cookie(token: String, max_age: Duration, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_duration(max_age))
        .build()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_duration(Duration::ZERO))
        .build()
}

/// How long a secret made by a form posted without JavaScript waits for its page.
const SHOWN_ONCE_FOR: Duration = Duration::from_secs(300);

/// The cookie that keeps `value` for the page a plain form post goes back to
/// (`app::api::SHOWN_ONCE_COOKIE`), or with `None` removes it: never readable by a
/// script, sent to this site's own pages only, and gone within minutes.
pub fn shown_once_cookie(value: Option<String>, secure: bool) -> Cookie<'static> {
    let max_age = if value.is_some() {
        SHOWN_ONCE_FOR
    } else {
        Duration::ZERO
    };
    Cookie::build((app::api::SHOWN_ONCE_COOKIE, value.unwrap_or_default()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(time_duration(max_age))
        .build()
}

fn time_duration(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
}

/// The token of a request: the `Authorization: Bearer` header, else the session cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        // The scheme's name is case-insensitive (RFC 9110).
        if let Some((scheme, token)) = value.trim().split_once(' ') {
            let token = token.trim();
            if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
                return Some(token.to_owned());
            }
        }
    }
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
    /// When the token expires (Unix seconds).
    pub expires_at: u64,
    /// The token version the session was issued with.
    pub token_version: i64,
    /// The session's id (empty for a token made before sessions had ids).
    pub session_id: String,
}

impl CurrentUser {
    pub fn viewer(&self) -> crate::tasks::Viewer {
        crate::tasks::Viewer {
            user_id: self.id,
            org_id: self.org_id,
        }
    }

    pub fn to_ref(&self) -> UserRef {
        UserRef {
            id: UserId(self.id),
            name: self.name.clone(),
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Expired,
    Invalid,
}

impl From<AuthFailure> for ApiError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Expired => ApiError::SessionExpired,
            AuthFailure::Missing | AuthFailure::Invalid => ApiError::Unauthorized,
        }
    }
}

/// Resolves the user a token belongs to, checking its signature, expiry and version.
pub async fn authenticate(
    pool: &Pool,
    keys: &SessionKeys,
    token: &str,
) -> Result<CurrentUser, AuthFailure> {
    let claims = keys.verify(token).map_err(|e| match e {
        TokenError::Expired => AuthFailure::Expired,
        TokenError::Invalid => AuthFailure::Invalid,
    })?;
    let id: i64 = claims.sub.parse().map_err(|_| AuthFailure::Invalid)?;
    let session = users::find_session(pool, id, &claims.sid)
        .await
        .map_err(|_| AuthFailure::Invalid)?
        .ok_or(AuthFailure::Invalid)?;
    if !session.holds(claims.ver) {
        return Err(AuthFailure::Expired);
    }
    let user = session.user;
    Ok(CurrentUser {
        id: user.id,
        name: user.display_name,
        org_id: user.org_id,
        expires_at: claims.exp,
        token_version: user.token_version,
        session_id: claims.sid,
    })
}

/// Resolves the user of a request's headers.
pub async fn user_from_headers(
    pool: &Pool,
    keys: &SessionKeys,
    headers: &HeaderMap,
) -> Result<CurrentUser, AuthFailure> {
    let token = token_from_headers(headers).ok_or(AuthFailure::Missing)?;
    authenticate(pool, keys, &token).await
}

/// Who reports progress on a task: a signed-in person, or an agent with a service token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    User(CurrentUser),
    Agent { name: String },
}

impl<S> FromRequestParts<S> for Reporter
where
    S: Send + Sync,
    Db: FromRef<S>,
    SessionKeys: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(token) = token_from_headers(&parts.headers) {
            if token.starts_with(crate::db::service_tokens::PREFIX) {
                let db = Db::from_ref(state);
                return match crate::db::service_tokens::authenticate(&db.read, &token).await? {
                    Some(name) => Ok(Reporter::Agent { name }),
                    None => Err(ApiError::Unauthorized),
                };
            }
        }
        CurrentUser::from_request_parts(parts, state)
            .await
            .map(Reporter::User)
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Db: FromRef<S>,
    SessionKeys: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (db, keys) = (Db::from_ref(state), SessionKeys::from_ref(state));
        Ok(user_from_headers(&db.read, &keys, &parts.headers).await?)
    }
}
