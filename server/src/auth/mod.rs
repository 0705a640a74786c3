//! Accounts and sessions, by concern: [`passwords`] (argon2 hashes, sign-up rules),
//! [`tokens`] (JWT session tokens and the server's key) and [`session`] (the cookie or
//! `Bearer` header on a request, and the [`CurrentUser`] extractor).
//!
//! A token carries the user's `token_version`; bumping it (signing out everywhere, a
//! password change) invalidates every token issued before, on HTTP and on open sockets
//! alike. It also names its session, which signing out ends alone (`ended_sessions`).

pub mod passwords;
pub mod session;
pub mod tokens;

pub use passwords::*;
pub use session::*;
pub use tokens::*;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;
    use crate::config::Secret;
    use crate::db::users::UserRow;

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
            admin: 0,
        }
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let k = keys(60);
        let claims = k.verify(&k.issue(&user())).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("3", 2));
    }

    #[test]
    fn each_sign_in_is_a_new_session_and_a_renewal_continues_one() {
        let k = keys(60);
        let first = k.verify(&k.issue(&user())).unwrap().sid;
        let second = k.verify(&k.issue(&user())).unwrap().sid;
        assert_eq!(first.len(), 32);
        assert_ne!(first, second);
        let renewed = k.verify(&k.issue_for_session(&user(), &first)).unwrap();
        assert_eq!(renewed.sid, first);
    }

    #[test]
    fn a_token_made_before_sessions_had_ids_still_verifies_with_none() {
        #[derive(serde::Serialize)]
        struct Before {
            sub: String,
            ver: i64,
            iat: u64,
            exp: u64,
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let before = Before {
            sub: "3".into(),
            ver: 2,
            iat: now,
            exp: now + 60,
        };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &before,
            &jsonwebtoken::EncodingKey::from_secret("k".repeat(40).as_bytes()).unwrap(),
        )
        .unwrap();
        let claims = keys(60).verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("3", ""));
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
    fn the_bearer_scheme_is_read_whatever_its_case() {
        for value in ["bearer abc", "BEARER abc", "Bearer   abc ", "bEaReR abc"] {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(
                token_from_headers(&headers).as_deref(),
                Some("abc"),
                "{value}"
            );
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc"] {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(token_from_headers(&headers), None, "{value}");
        }
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
