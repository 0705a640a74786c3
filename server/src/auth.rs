//! Accounts and sessions: argon2 password hashes, JWT session tokens (HS256) in an
//! HttpOnly cookie or a Bearer header, and the [`CurrentUser`] extractor.
//!
//! A token carries the user's `token_version`; bumping it (logout) invalidates every
//! token issued before, on HTTP and on open sockets alike.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use http::request::Parts;
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared_protocol::{UserId, UserRef};
use sqlx::SqlitePool;

use crate::config::Secret;
use crate::db::users::{self, UserRow};
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "taskwire_session";

/// What a session token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id, as a decimal string (JWT subjects are strings).
    pub sub: String,
    /// The user's token version when issued.
    pub ver: i64,
    pub iat: u64,
    pub exp: u64,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session has expired")]
    Expired,
    #[error("the session token is not valid")]
    Invalid,
}

/// Signs and checks session tokens.
#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl SessionKeys {
    /// Keys from the signing secret; only an empty secret is refused (settings and the
    /// generated key file are at least 32 characters).
    pub fn new(secret: &Secret, ttl: Duration) -> Result<Self, TokenError> {
        let bytes = secret.expose().as_bytes();
        Ok(SessionKeys {
            encoding: EncodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
            decoding: DecodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
            ttl,
        })
    }

    pub fn issue(&self, user: &UserRow) -> String {
        let now = unix_now();
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.token_version,
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        // HS256 signing of a plain struct has no failure mode but a broken key, which
        // `new` cannot produce.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

impl SessionKeys {
    /// Checks a token for a refresh: the signature must hold, but it may have expired,
    /// as long as it was issued less than `max_age` ago.
    pub fn verify_for_refresh(&self, token: &str, max_age: Duration) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)?;
        if claims.iat + max_age.as_secs() < unix_now() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Trades a session token that may have expired, but was issued within `max_age` and not
/// revoked since, for a fresh one. `None` when the session cannot be renewed: the user
/// signs in again.
pub async fn renew_session(
    pool: &SqlitePool,
    keys: &SessionKeys,
    token: &str,
    max_age: Duration,
) -> Result<Option<(UserRow, String)>, sqlx::Error> {
    let Ok(claims) = keys.verify_for_refresh(token, max_age) else {
        return Ok(None);
    };
    let Ok(id) = claims.sub.parse::<i64>() else {
        return Ok(None);
    };
    match users::find_by_id(pool, id).await? {
        Some(user) if user.token_version == claims.ver => {
            let token = keys.issue(&user);
            Ok(Some((user, token)))
        }
        _ => Ok(None),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The configured key, or the one kept in `<data_dir>/<file>`, generated on first start.
pub fn load_or_create_secret(
    configured: Option<&Secret>,
    data_dir: &Path,
    file: &str,
) -> anyhow::Result<Secret> {
    use anyhow::Context;
    if let Some(secret) = configured {
        return Ok(secret.clone());
    }
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(Secret::new(s.trim())),
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to generate a new key",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new secret");
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Hashes a password with argon2id (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing task failed: {e}")))?
    .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Checks a password against a stored hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Verifies `password` against a hash of a random string: used when the user does not
/// exist, so a login's timing does not reveal which usernames are taken.
pub async fn burn_verification_time(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let _ = tokio::task::spawn_blocking(move || {
        let hash = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(salt.as_str().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        if let Ok(parsed) = PasswordHash::new(hash) {
            let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
        }
    })
    .await;
}

/// Checks a new account's fields; the messages are shown to people.
pub fn validate_signup(username: &str, password: &str, display_name: &str) -> Result<(), ApiError> {
    let ok_name = (3..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok_name {
        return Err(ApiError::invalid(
            "username",
            "use 3 to 32 characters: lowercase letters, digits, '_' or '-'",
        ));
    }
    let n = password.chars().count();
    if !(8..=256).contains(&n) {
        return Err(ApiError::invalid("password", "use 8 to 256 characters"));
    }
    if display_name.trim().is_empty() || display_name.chars().count() > 64 {
        return Err(ApiError::invalid("displayName", "use 1 to 64 characters"));
    }
    Ok(())
}

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

fn time_duration(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
}

/// The token of a request: the `Authorization: Bearer` header, else the session cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_owned());
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

/// Resolves the user a token belongs to, checking its signature, expiry and version.
pub async fn authenticate(
    pool: &SqlitePool,
    keys: &SessionKeys,
    token: &str,
) -> Result<CurrentUser, AuthFailure> {
    let claims = keys.verify(token).map_err(|e| match e {
        TokenError::Expired => AuthFailure::Expired,
        TokenError::Invalid => AuthFailure::Invalid,
    })?;
    let id: i64 = claims.sub.parse().map_err(|_| AuthFailure::Invalid)?;
    let user = users::find_by_id(pool, id)
        .await
        .map_err(|_| AuthFailure::Invalid)?
        .ok_or(AuthFailure::Invalid)?;
    if user.token_version != claims.ver {
        return Err(AuthFailure::Expired);
    }
    Ok(CurrentUser {
        id: user.id,
        name: user.display_name,
        org_id: user.org_id,
        expires_at: claims.exp,
        token_version: user.token_version,
    })
}

/// Resolves the user of a request's headers.
pub async fn user_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<CurrentUser, AuthFailure> {
    let token = token_from_headers(headers).ok_or(AuthFailure::Missing)?;
    authenticate(&state.db.read, &state.keys, &token).await
}

/// Who reports progress on a task: a signed-in person, or an agent with a service token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    User(CurrentUser),
    Agent { name: String },
}

impl FromRequestParts<AppState> for Reporter {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = token_from_headers(&parts.headers) {
            if token.starts_with(crate::db::service_tokens::PREFIX) {
                return match crate::db::service_tokens::authenticate(&state.db.read, &token).await?
                {
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

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        user_from_headers(state, &parts.headers)
            .await
            .map_err(|f| match f {
                AuthFailure::Expired => ApiError::SessionExpired,
                AuthFailure::Missing | AuthFailure::Invalid => ApiError::Unauthorized,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ttl: u64) -> SessionKeys {
        SessionKeys::new(&Secret::new("k".repeat(40)), Duration::from_secs(ttl)).unwrap()
    }

    fn user() -> UserRow {
        UserRow {
            id: 3,
            username: "ada".into(),
            display_name: "Ada".into(),
            password_hash: String::new(),
            org_id: 1,
            token_version: 2,
        }
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let k = keys(60);
        let claims = k.verify(&k.issue(&user())).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("3", 2));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let other =
            SessionKeys::new(&Secret::new("x".repeat(40)), Duration::from_secs(60)).unwrap();
        assert_eq!(
            keys(60).verify(&other.issue(&user())),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let k = keys(0);
        let token = k.issue(&user());
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(k.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        // header {"alg":"none","typ":"JWT"}, claims for user 3, no signature
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIzIiwidmVyIjoyLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0.";
        assert_eq!(keys(60).verify(token), Err(TokenError::Invalid));
    }

    #[test]
    fn a_bearer_header_wins_over_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "taskwire_session=fromcookie".parse().unwrap(),
        );
        assert_eq!(token_from_headers(&headers).as_deref(), Some("fromcookie"));
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer frombearer".parse().unwrap(),
        );
        assert_eq!(token_from_headers(&headers).as_deref(), Some("frombearer"));
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(validate_signup("ada", "correct horse", "Ada").is_ok());
        assert!(validate_signup("Ada!", "correct horse", "Ada").is_err());
        assert!(validate_signup("ada", "short", "Ada").is_err());
        assert!(validate_signup("ada", "correct horse", " ").is_err());
    }

    #[test]
    fn a_key_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(None, dir.path(), "jwt.key").unwrap();
        let b = load_or_create_secret(None, dir.path(), "jwt.key").unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
    }
}
