//! Hostile input against the real server: each case gets its coded outcome, the server
//! keeps serving everyone else, and nothing changes that should not.

use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared_protocol::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

/// Another user's socket still answers a ping.
async fn others_are_still_served(app: &TestApp) {
    let bystander = app.signup("bystander").await;
    let mut ws = app.ws(&bystander).await;
    ws.send(ClientMsg::Ping(Ping { nonce: 5 })).await;
    assert_eq!(
        ws.until(|f| matches!(f.msg, ServerMsg::Pong(_))).await.msg,
        ServerMsg::Pong(Ping { nonce: 5 })
    );
    let health: Value = app.health().await;
    assert_eq!(health["database"], true);
}

#[tokio::test]
async fn a_flooding_connection_is_rate_limited_and_others_are_not_slowed() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    for nonce in 0..300 {
        ws.send(ClientMsg::Ping(Ping { nonce })).await;
    }
    let frames = ws.drain(Duration::from_millis(500)).await;
    let pongs = frames
        .iter()
        .filter(|f| matches!(f.msg, ServerMsg::Pong(_)))
        .count();
    let limited = frames
        .iter()
        .filter(|f| matches!(&f.msg, ServerMsg::Error(e) if e.code == ErrorCode::RateLimited))
        .count();
    assert!(
        pongs < 100,
        "most of the flood was not processed ({pongs} pongs)"
    );
    assert!(limited >= 1, "the client was told");
    assert!(limited <= 2, "but not once per dropped frame ({limited})");
    others_are_still_served(&app).await;
}

#[tokio::test]
async fn http_actions_are_rate_limited_per_user_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.actions_per_minute = 1;
        s.action_burst = 3;
    })
    .await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    for i in 0..3 {
        app.create_task(&ada, &format!("t{i}")).await;
    }
    let res = app
        .post(&ada, "/api/tasks", json!({ "title": "one too many" }))
        .await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    app.create_task(&bob, "bob is not limited by ada").await;
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        4,
        "the refused action changed nothing"
    );
}

async fn secret_key(app: &TestApp) -> Vec<u8> {
    app.generated_secret("jwt.key").await.into_bytes()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn upgrade_status(app: &TestApp, token: &str) -> u16 {
    let mut request = format!("ws://127.0.0.1:{}/ws", app.port)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn forged_expired_unsigned_and_wrong_key_tokens_are_refused() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let key = secret_key(&app).await;
    let sign = |claims: Value, key: &[u8]| {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key).unwrap(),
        )
        .unwrap()
    };
    let t = now();
    let expired = sign(
        json!({ "sub": "1", "ver": 0, "iat": t - 100, "exp": t - 10 }),
        &key,
    );
    let wrong_key = sign(
        json!({ "sub": "1", "ver": 0, "iat": t, "exp": t + 600 }),
        b"not the server's key at all, sorry",
    );
    let unsigned = {
        use base64_like::encode as b64;
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(format!(r#"{{"sub":"1","ver":0,"iat":{t},"exp":{}}}"#, t + 600).as_bytes())
        )
    };
    let tampered = {
        let parts: Vec<&str> = ada.token.split('.').collect();
        let other = base64_like::encode(
            format!(r#"{{"sub":"2","ver":0,"iat":{t},"exp":{}}}"#, t + 600).as_bytes(),
        );
        format!("{}.{}.{}", parts[0], other, parts[2])
    };
    let cases = [
        ("expired", expired.as_str(), "session_expired"),
        ("wrong key", wrong_key.as_str(), "unauthorized"),
        ("alg none", unsigned.as_str(), "unauthorized"),
        ("tampered", tampered.as_str(), "unauthorized"),
        ("garbage", "not-a-jwt", "unauthorized"),
    ];
    for (name, token, code) in cases {
        let res = app
            .http
            .get(app.url("/api/tasks"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{name}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            code,
            "{name}"
        );
        assert_eq!(upgrade_status(&app, token).await, 401, "{name} upgrade");
    }
    assert_eq!(
        upgrade_status(&app, &ada.token).await,
        101,
        "the genuine token works"
    );
    others_are_still_served(&app).await;
}

/// Unpadded URL-safe base64, as JWTs use it.
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[tokio::test]
async fn sql_and_html_shaped_titles_and_odd_unicode_are_kept_as_text() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let titles = [
        "'; DROP TABLE tasks; --",
        "Robert'); DELETE FROM events WHERE ('1'='1",
        "<script>alert('x')</script>",
        "\"><img src=x onerror=alert(1)>",
        "Zalgo t\u{336}\u{31b}\u{317}e\u{336}x\u{335}t",
        "right-to-left \u{202e}gnp.exe",
        "emoji 🚀🔥 and CJK 漢字",
    ];
    let mut ids = Vec::new();
    for title in titles {
        let res = post_titled(&app, &ada, title).await;
        assert_eq!(res.status(), 201, "{title:?}");
        ids.push(
            res.json::<Value>().await.unwrap()["task"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    for (id, title) in ids.iter().zip(titles) {
        let body: Value = app
            .get(&ada, &format!("/api/tasks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["task"]["title"], title, "stored exactly");
    }
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        titles.len(),
        "no table was harmed"
    );
    let html = app.page_html(&ada, "/").await;
    assert!(
        !html.contains("<script>alert('x')</script>"),
        "markup is escaped"
    );
    assert!(!html.contains("<img src=x onerror"), "markup is escaped");
    assert!(html.contains("&lt;script&gt;"));
}

/// Asks for a task titled `title`, with a description the analyser acts on.
async fn post_titled(app: &TestApp, user: &TestUser, title: &str) -> reqwest::Response {
    app.post(
        user,
        "/api/tasks",
        json!({ "title": title, "description": ACTIONABLE }),
    )
    .await
}

/// No store keeps the NUL character as text, so every store refuses it, the same way,
/// and keeps nothing: a task's text, an answer, a sign-in name, a webhook payload.
#[tokio::test]
async fn text_with_the_nul_character_is_refused_on_every_store_and_nothing_is_kept() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    for body in [
        json!({ "title": "nul \u{0} inside", "description": ACTIONABLE }),
        json!({ "title": "fine", "description": "nul \u{0} inside" }),
    ] {
        let res = app.post(&ada, "/api/tasks", body).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("NUL"),
            "{body}"
        );
    }
    // An escaped backslash before "u0000" is text, not a NUL.
    let res = app
        .post(
            &ada,
            "/api/tasks",
            json!({ "title": "a \\u0000 b", "description": ACTIONABLE }),
        )
        .await;
    assert_eq!(res.status(), 201);
    // A title is one line: no other control character either.
    for title in ["\u{7}\u{1b}[31mred", "two\nlines", "tab\there", "del\u{7f}"] {
        let res = post_titled(&app, &ada, title).await;
        assert_eq!(res.status(), 422, "{title:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], "title", "{body}");
    }
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        1,
        "only the task without a NUL or another control character"
    );
    assert_eq!(list["tasks"][0]["title"], "a \\u0000 b");

    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "ada\u{0}", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "refused before any lookup");
}

#[tokio::test]
async fn joining_more_task_rooms_than_allowed_is_refused_with_the_limit() {
    let app = spawn_app_with(|s| s.ws.max_task_rooms = 2).await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.create_task(&ada, &format!("t{i}")).await);
    }
    for id in &ids[..2] {
        ws.join_task(*id, None).await;
        ws.until(|f| matches!(f.msg, ServerMsg::TaskState(_))).await;
    }
    ws.join_task(ids[2], None).await;
    let refused = ws.until(|f| matches!(f.msg, ServerMsg::Error(_))).await;
    let ServerMsg::Error(e) = refused.msg else {
        unreachable!()
    };
    assert_eq!(e.code, ErrorCode::TooManyRooms);
    assert!(e.message.contains("at most 2"), "{}", e.message);
    ws.send(ClientMsg::TaskLeave(TaskLeave { task_id: ids[0] }))
        .await;
    ws.join_task(ids[2], None).await;
    ws.until(|f| matches!(f.msg, ServerMsg::TaskState(_))).await;
}

#[tokio::test]
async fn over_long_fields_are_refused_with_the_limit_named() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let cases = [
        (json!({ "title": "x".repeat(201) }), "title", "at most 200"),
        (
            json!({ "title": "ok", "description": "x".repeat(10_001) }),
            "description",
            "at most 10000",
        ),
    ];
    for (body, field, limit) in cases {
        let res = app.post(&ada, "/api/tasks", body).await;
        assert_eq!(res.status(), 422);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["field"], field);
        assert!(
            err["error"]["message"].as_str().unwrap().contains(limit),
            "{err}"
        );
    }
    let res = app
        .post(
            &ada,
            "/api/tasks",
            json!({ "title": "Fix it", "description": "short" }),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["task"]["id"]
        .as_i64()
        .unwrap();
    app.wait_for_status(&ada, TaskId(id), "needs_clarification")
        .await;
    let body: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let n = body["task"]["questions"].as_array().unwrap().len();
    let answers: Vec<String> = (0..n).map(|_| "y".repeat(5_001)).collect();
    let res = app
        .post(
            &ada,
            &format!("/api/tasks/{id}/answers"),
            json!({ "answers": answers }),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 5000"));
}

#[tokio::test]
async fn a_reported_pull_request_must_have_a_sane_number_link_title_and_commit_id() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let refused = [
        (json!({ "status": "pr_open", "prNumber": -5 }), "prNumber"),
        (json!({ "status": "pr_open", "prNumber": 0 }), "prNumber"),
        (
            json!({ "status": "pr_open", "prTitle": "T".repeat(257) }),
            "prTitle",
        ),
        (
            json!({ "status": "pr_open", "prUrl": format!("https://example.com/{}", "a".repeat(2_000)) }),
            "prUrl",
        ),
        (
            json!({ "status": "merged", "mergeCommitSha": "S".repeat(1_000_000) }),
            "mergeCommitSha",
        ),
        (
            json!({ "status": "merged", "mergeCommitSha": "c4295bd74fb0f4fda03689c3df3f2803b658fd85zz" }),
            "mergeCommitSha",
        ),
        (
            json!({ "status": "merged", "mergeCommitSha": "abc" }),
            "mergeCommitSha",
        ),
    ];
    for (body, field) in refused {
        let res = app.report(&ada, id, body.clone()).await;
        assert_eq!(res.status(), 422, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "dispatched", "nothing was applied");
    assert!(task["task"]["prTitle"].is_null(), "{task}");

    // At the limits, each is taken.
    let title = "T".repeat(256);
    let res = app
        .report(
            &ada,
            id,
            json!({ "status": "pr_open", "prNumber": 7, "prTitle": title, "prUrl": "https://github.example/acme/app/pull/7" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .report(
            &ada,
            id,
            json!({ "status": "merged", "mergeCommitSha": "c4295bd" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let task = task_json(&app, &ada, id).await;
    assert_eq!(task["task"]["status"], "merged");
    assert_eq!(task["task"]["prTitle"], title);
    assert_eq!(task["task"]["mergeCommitSha"], "c4295bd");
}

#[tokio::test]
async fn a_write_from_a_page_of_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let post = |origin: Option<String>| {
        let mut req = app
            .http
            .post(app.url("/api/tasks"))
            .bearer_auth(&ada.token)
            .json(&json!({ "title": "From a form", "description": ACTIONABLE }));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    for evil in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let res = post(Some(evil.to_owned())).await.unwrap();
        assert_eq!(res.status(), 403, "{evil}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "origin_not_allowed", "{evil}");
    }
    // A sign-in form posted from another site is refused too.
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({ "username": "ada", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        0,
        "nothing was made"
    );

    // The server's own pages, and clients that send no origin, write as before.
    let own = format!("http://127.0.0.1:{}", app.port);
    assert_eq!(post(Some(own)).await.unwrap().status(), 201);
    assert_eq!(post(None).await.unwrap().status(), 201);
}

#[tokio::test]
async fn pages_are_not_framed_sniffed_or_kept_by_a_shared_cache() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task_with(&ada, "Private", true).await;
    let res = app
        .http
        .get(app.url(&format!("/tasks/{id}")))
        .header("cookie", format!("taskwire_session={}", ada.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("cache-control"), Some("private, no-cache"));
    assert_eq!(
        header("content-security-policy"),
        Some("frame-ancestors 'none'")
    );
    assert_eq!(header("x-frame-options"), Some("DENY"));
    assert_eq!(header("x-content-type-options"), Some("nosniff"));
}
