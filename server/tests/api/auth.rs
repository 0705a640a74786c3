//! Accounts and sessions over HTTP.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn signup_sets_an_http_only_session_cookie() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/api/auth/signup"))
        .json(&json!({ "username": "ada", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("taskwire_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let body: Value = res.json().await.unwrap();
    assert!(body["user"].get("passwordHash").is_none() && !body.to_string().contains("argon2"));
}

#[tokio::test]
async fn a_taken_username_is_a_conflict() {
    let app = spawn_app().await;
    app.signup("ada").await;
    let res = app
        .http
        .post(app.url("/api/auth/signup"))
        .json(&json!({ "username": "ada", "password": "another password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "username_taken");
}

#[tokio::test]
async fn login_checks_the_password_and_says_the_same_for_unknown_users() {
    let app = spawn_app().await;
    app.signup("ada").await;
    let login = |user: &'static str, password: &'static str| {
        app.http
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": user, "password": password }))
            .send()
    };
    assert_eq!(
        login("ada", "correct horse battery")
            .await
            .unwrap()
            .status(),
        200
    );
    let wrong: Value = login("ada", "wrong password!")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unknown: Value = login("nobody", "wrong password!")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["error"]["code"], "bad_credentials");
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn logout_revokes_the_token_everywhere() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    assert_eq!(app.get(&ada, "/api/auth/me").await.status(), 200);
    let res = app.post(&ada, "/api/auth/logout", json!({})).await;
    assert_eq!(res.status(), 204);
    let res = app.get(&ada, "/api/auth/me").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "session_expired");
}

#[tokio::test]
async fn requests_without_a_session_are_unauthorized_with_a_json_body() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/api/tasks")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn the_signing_key_is_kept_across_restarts() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let app = app.restart().await;
    assert_eq!(app.get(&ada, "/api/auth/me").await.status(), 200);
}
