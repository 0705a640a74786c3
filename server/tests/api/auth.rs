//! Accounts and sessions over HTTP.

use serde_json::{json, Value};
use shared_protocol::*;

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
    // The cookie outlives the 12-hour token inside it, so an expired token can still be
    // refreshed: it lasts the 30-day refresh window.
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
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
    assert_eq!(without_request_id(wrong), without_request_id(unknown));
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

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/auth/refresh"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::StatusCode {
    app.me_status(token).await
}

#[tokio::test]
async fn an_expired_session_is_refreshed_and_a_revoked_one_is_not() {
    let app = spawn_app_with(|s| s.session_ttl = std::time::Duration::from_secs(1)).await;
    let ada = app.signup("ada").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = app.get(&ada, "/api/auth/me").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "session_expired"
    );

    let res = refresh(&app, &ada.token).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("taskwire_session="));
    let fresh = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, &fresh).await, 200);

    let res = app
        .http
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        refresh(&app, &fresh).await.status(),
        401,
        "a revoked session cannot be refreshed"
    );
    assert_eq!(refresh(&app, "forged.token.value").await.status(), 401);
}

pub(crate) async fn until_closed(ws: &mut WsClient) -> (Vec<ErrorCode>, Option<u16>) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut errors = Vec::new();
    let deadline = std::time::Duration::from_secs(5);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(deadline, ws.stream.next()).await {
        match msg {
            Message::Text(t) => {
                if let ServerMsg::Error(e) = ServerFrame::decode(&t).unwrap().msg {
                    errors.push(e.code);
                }
            }
            Message::Close(frame) => return (errors, frame.map(|f| u16::from(f.code))),
            _ => {}
        }
    }
    (errors, None)
}

#[tokio::test]
async fn a_socket_whose_session_expires_is_told_and_closed() {
    let app = spawn_app_with(|s| s.session_ttl = std::time::Duration::from_secs(1)).await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    let (errors, code) = until_closed(&mut ws).await;
    assert_eq!(errors, vec![ErrorCode::AuthExpired]);
    assert_eq!(code, Some(4001));
}

#[tokio::test]
async fn logout_closes_the_users_open_sockets_and_no_one_elses() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let mut adas = app.ws(&ada).await;
    let mut bobs = app.ws(&bob).await;
    assert_eq!(
        app.post(&ada, "/api/auth/logout", json!({})).await.status(),
        204
    );
    let (errors, code) = until_closed(&mut adas).await;
    assert_eq!((errors, code), (vec![ErrorCode::AuthExpired], Some(4001)));
    bobs.send(ClientMsg::Ping(Ping { nonce: 1 })).await;
    assert_eq!(bobs.next().await.msg, ServerMsg::Pong(Ping { nonce: 1 }));
}

async fn end_session(app: &TestApp, user: &TestUser) -> u16 {
    app.http
        .delete(app.url("/api/auth/session"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn signing_out_ends_this_session_and_its_sockets_and_no_other() {
    let app = spawn_app().await;
    let laptop = app.signup("ada").await;
    let phone = login_at(&app.http, &app.url(""), "ada").await;
    let mut laptop_socket = app.ws(&laptop).await;
    let mut phone_socket = app.ws(&phone).await;

    assert_eq!(end_session(&app, &laptop).await, 204);

    let res = app.get(&laptop, "/api/auth/me").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "session_expired");
    assert_eq!(
        refresh(&app, &laptop.token).await.status(),
        401,
        "and it cannot be renewed"
    );
    let (errors, code) = until_closed(&mut laptop_socket).await;
    assert_eq!((errors, code), (vec![ErrorCode::AuthExpired], Some(4001)));

    assert_eq!(app.get(&phone, "/api/auth/me").await.status(), 200);
    phone_socket.send(ClientMsg::Ping(Ping { nonce: 1 })).await;
    assert_eq!(
        phone_socket.next().await.msg,
        ServerMsg::Pong(Ping { nonce: 1 })
    );
    assert_eq!(refresh(&app, &phone.token).await.status(), 200);
}

#[tokio::test]
async fn a_renewed_token_is_the_same_session_and_ends_with_it() {
    let app = spawn_app().await;
    let first = app.signup("ada").await;
    let res: Value = refresh(&app, &first.token).await.json().await.unwrap();
    let renewed = TestUser {
        token: res["token"].as_str().unwrap().to_owned(),
    };
    let other = login_at(&app.http, &app.url(""), "ada").await;

    assert_eq!(end_session(&app, &renewed).await, 204);
    assert_eq!(app.get(&first, "/api/auth/me").await.status(), 401);
    assert_eq!(refresh(&app, &first.token).await.status(), 401);
    assert_eq!(app.get(&other, "/api/auth/me").await.status(), 200);
    assert_eq!(
        end_session(&app, &renewed).await,
        204,
        "ending it again changes nothing"
    );
    assert_eq!(app.get(&other, "/api/auth/me").await.status(), 200);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let login = |password: &'static str| {
        app.http
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": "ada", "password": password }))
            .send()
    };
    let other: Value = login("correct horse battery")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = other["token"].as_str().unwrap().to_owned();
    let mut other_socket = app
        .ws(&TestUser {
            token: other.clone(),
        })
        .await;
    let mut own_socket = app.ws(&ada).await;

    let wrong = app
        .post(
            &ada,
            "/api/auth/password",
            json!({ "currentPassword": "nope nope", "newPassword": "a brand new secret" }),
        )
        .await;
    assert_eq!(
        wrong.status(),
        422,
        "the session is fine; the password typed is not"
    );
    let err: Value = wrong.json().await.unwrap();
    assert_eq!(err["error"]["field"], "currentPassword", "{err}");
    let res = app.post(&ada, "/api/auth/password", json!({ "currentPassword": "correct horse battery", "newPassword": "a brand new secret" })).await;
    assert_eq!(res.status(), 200);
    let current = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(me(&app, &current).await, 200, "this session continues");
    assert_eq!(me(&app, &other).await, 401, "the other one ended");
    assert_eq!(until_closed(&mut other_socket).await.1, Some(4001));
    own_socket.send(ClientMsg::Ping(Ping { nonce: 7 })).await;
    assert_eq!(
        own_socket.next().await.msg,
        ServerMsg::Pong(Ping { nonce: 7 }),
        "the asking session's socket stays open"
    );
    assert_eq!(login("correct horse battery").await.unwrap().status(), 401);
    assert_eq!(login("a brand new secret").await.unwrap().status(), 200);
}

#[tokio::test]
async fn password_changes_are_limited_per_user_like_sign_ins() {
    let app = spawn_app_with(|s| {
        s.ip_limits.sign_in = server::config::Rate {
            per_minute: 1,
            burst: 3,
        }
    })
    .await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let guess = |n: usize| json!({ "currentPassword": format!("guess {n}"), "newPassword": "a brand new secret" });
    for n in 0..3 {
        let res = app.post(&ada, "/api/auth/password", guess(n)).await;
        assert_eq!(res.status(), 422, "guess {n}");
    }
    let res = app.post(&ada, "/api/auth/password", guess(3)).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "rate_limited");
    // Even the right password waits: the limit counts attempts, not failures.
    let res = app
        .post(
            &ada,
            "/api/auth/password",
            json!({ "currentPassword": "correct horse battery", "newPassword": "a brand new secret" }),
        )
        .await;
    assert_eq!(res.status(), 429);
    // Another user is not held back.
    let res = app.post(&bob, "/api/auth/password", guess(0)).await;
    assert_eq!(res.status(), 422);
}
