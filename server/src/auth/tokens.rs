//! Session tokens: JWTs (HS256) signed with the server's key, carrying the user's
//! `token_version`, so bumping it (signing out everywhere) invalidates every token
//! issued before, and the session's id, so one session can end alone (signing out).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::db::Pool;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::db::users::{self, UserRow};

/// What a session token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id, as a decimal string (JWT subjects are strings).
    pub sub: String,
    /// The user's token version when issued.
    pub ver: i64,
    /// The session's id: the same across its renewals, new at each sign-in. Empty in
    /// tokens made before sessions had ids; those end only all together.
    #[serde(default)]
    pub sid: String,
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

/// Signs and checks session tokens. Cheap to clone: the keys are shared.
#[derive(Clone)]
pub struct SessionKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    ttl: Duration,
}

impl SessionKeys {
    /// Keys from the signing secret; only an empty secret is refused (settings and the
    /// generated key file are at least 32 characters).
    pub fn new(secret: &Secret, ttl: Duration) -> Result<Self, TokenError> {
        let bytes = secret.expose().as_bytes();
        Ok(SessionKeys {
            encoding: Arc::new(EncodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?),
            decoding: Arc::new(DecodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?),
            ttl,
        })
    }

    /// A token for a new session of `user`.
    pub fn issue(&self, user: &UserRow) -> String {
        self.issue_for_session(user, "")
    }

    /// A token continuing session `sid` of `user`; with an empty `sid` (a token made
    /// before sessions had ids, or none), a new session, which has one from now on.
    pub fn issue_for_session(&self, user: &UserRow, sid: &str) -> String {
        let sid = if sid.is_empty() {
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            hex::encode(bytes)
        } else {
            sid.to_owned()
        };
        let now = unix_now();
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.token_version,
            sid,
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
    pool: &Pool,
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
    match users::find_session(pool, id, &claims.sid).await? {
        Some(session) if session.holds(claims.ver) => {
            let token = keys.issue_for_session(&session.user, &claims.sid);
            Ok(Some((session.user, token)))
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
    let secret = random_secret();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new secret");
    Ok(Secret::new(secret))
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// The configured secret, else the one every process on `db` shares: on Postgres it
/// is kept in the database (several servers must sign and check with one key), on
/// SQLite in the file `file` of the data directory.
pub async fn load_or_create_shared_secret(
    configured: Option<&Secret>,
    db: &crate::db::Db,
    data_dir: &Path,
    file: &str,
) -> anyhow::Result<Secret> {
    use anyhow::Context;
    match (configured, db.store) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, crate::db::Store::Sqlite) => load_or_create_secret(None, data_dir, file),
        (None, crate::db::Store::Postgres) => {
            let value = crate::db::secrets::shared(&db.write, file, &random_secret())
                .await
                .with_context(|| format!("reading the shared secret {file}"))?;
            Ok(Secret::new(value))
        }
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
