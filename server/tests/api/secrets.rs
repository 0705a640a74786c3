//! No secret reaches a frame or a log line: the session key, webhook secret, password
//! hashes, passwords and tokens are looked for in everything the suite's servers logged
//! and its clients received.

use serde_json::json;
use server::db::service_tokens;
use server::pipeline::webhook::sign;

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn no_secret_appears_in_any_frame_or_log_line() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;

    // A busy session: sockets, tasks, reports, bad logins, webhooks, tokens, logout.
    let mut ws = app.ws(&bob).await;
    ws.join_dashboard(None).await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    ws.join_task(id, None).await;
    app.wait_for_status(&ada, id, "dispatched").await;
    app.report(&ada, id, json!({ "status": "coding", "note": "working" }))
        .await;
    let _ = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "ada", "password": "wrong password" }))
        .send()
        .await;
    let pool = app.pool().await;
    let agent = service_tokens::create(&pool, "agent", 0)
        .await
        .unwrap()
        .unwrap();
    let res = app
        .http
        .post(app.url(&format!("/api/tasks/{id}/status")))
        .bearer_auth(&agent)
        .json(&json!({ "note": "from the agent" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let webhook_secret = app.generated_secret("webhook.secret").await;
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    for signature in [sign(webhook_secret.as_bytes(), body), sign(b"wrong", body)] {
        let _ = app
            .http
            .post(app.url("/api/webhooks/github"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", signature.clone())
            .header("x-hub-signature-256", signature)
            .body(body.to_vec())
            .send()
            .await;
    }
    let _ = app
        .http
        .get(app.url("/api/tasks"))
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await;
    ws.drain(std::time::Duration::from_millis(300)).await;
    app.post(&ada, "/api/auth/logout", json!({})).await;

    let jwt_key = app.generated_secret("jwt.key").await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut secrets: Vec<(&str, String)> = vec![
        ("session signing key", jwt_key.trim().to_owned()),
        ("webhook secret", webhook_secret.trim().to_owned()),
        ("password", PASSWORD.to_owned()),
        ("ada's token", ada.token.clone()),
        ("bob's token", bob.token.clone()),
        ("service token", agent.clone()),
    ];
    secrets.extend(hashes.into_iter().map(|h| ("password hash", h)));

    let seen = logs_and_frames();
    assert!(seen.contains("task created"), "the scan reads real logs");
    assert!(
        seen.contains("dashboard:task_list_updated"),
        "and real frames"
    );
    for (what, secret) in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !seen.contains(secret.as_str()),
            "a {what} appeared in a frame or log line"
        );
    }
    // Across everything the suite logged and received so far: no hash, JWT or service
    // token of anyone's.
    for (what, marker) in [
        ("password hash", "$argon2"),
        ("JWT", "eyJ0eXAi"),
        ("JWT", "eyJhbGci"),
    ] {
        assert!(
            !seen.contains(marker),
            "a {what} appeared in a frame or log line"
        );
    }
    let token_like = seen
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w.starts_with("tw_") && w.len() == 67);
    assert!(
        !token_like,
        "a service token appeared in a frame or log line"
    );
}
