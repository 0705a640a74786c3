//! Routes anyone may call are limited per client IP; bodies are limited on every route
//! with the JSON error; state that grows with traffic is pruned.

use std::time::Duration;

use serde_json::{json, Value};
use server::config::{Rate, Secret};
use server::pipeline::webhook::sign;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

fn few(burst: u32) -> Rate {
    Rate {
        per_minute: 1,
        burst,
    }
}

async fn login(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "nobody", "password": "wrong password" }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

/// The status of `/api/health`: the server still serves others.
async fn health(app: &TestApp) -> u16 {
    let res = app.http.get(app.url("/api/health")).send().await.unwrap();
    res.status().as_u16()
}

async fn expect_rate_limited(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client_ip() {
    let app = spawn_app_with(|s| s.ip_limits.sign_in = few(3)).await;
    for _ in 0..3 {
        assert_eq!(login(&app, None).await.status(), 401);
    }
    expect_rate_limited(login(&app, None).await).await;
    // Sign-up shares the limit (each costs an argon2 hash too).
    let signup = app
        .http
        .post(app.url("/api/auth/signup"))
        .json(&json!({ "username": "ada", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    expect_rate_limited(signup).await;
    // A forwarded-for header from an untrusted peer changes nothing.
    expect_rate_limited(login(&app, Some("203.0.113.9")).await).await;
    // Other routes are served.
    assert_eq!(health(&app).await, 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = spawn_app_with(|s| {
        s.ip_limits.sign_in = few(2);
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(login(&app, Some("203.0.113.1")).await.status(), 401);
    }
    expect_rate_limited(login(&app, Some("203.0.113.1")).await).await;
    // A client that puts a fake address first is still known by what the proxy saw.
    expect_rate_limited(login(&app, Some("198.51.100.7, 203.0.113.1")).await).await;
    assert_eq!(login(&app, Some("203.0.113.2")).await.status(), 401);
}

#[tokio::test]
async fn refresh_and_webhook_deliveries_are_limited_per_client_ip() {
    let app = spawn_app_with(|s| {
        s.ip_limits.refresh = few(2);
        s.ip_limits.webhook = few(2);
        s.webhook_secret = Some(Secret::new("limit-secret"));
    })
    .await;
    let refresh = || app.http.post(app.url("/api/auth/refresh")).send();
    assert_eq!(refresh().await.unwrap().status(), 401);
    assert_eq!(refresh().await.unwrap().status(), 401);
    expect_rate_limited(refresh().await.unwrap()).await;

    let ping = br#"{"zen":"Keep it logically awesome."}"#.to_vec();
    let deliver = |n: u32| {
        app.http
            .post(app.url("/api/webhooks/github"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", format!("p-{n}"))
            .header("x-hub-signature-256", sign(b"limit-secret", &ping))
            .header("content-type", "application/json")
            .body(ping.clone())
            .send()
    };
    assert_eq!(deliver(1).await.unwrap().status(), 200);
    assert_eq!(deliver(2).await.unwrap().status(), 200);
    expect_rate_limited(deliver(3).await.unwrap()).await;
}

/// A request with a chunked body of `size` bytes (no `Content-Length`), over raw TCP;
/// returns the status and the body.
async fn chunked_post(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    content_type: &str,
    size: usize,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        user.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let part = format!("{:x}\r\n", chunk.len());
        if stream.write_all(part.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break; // the server answered and stopped reading
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    // The body may itself be chunked: take the JSON object inside it.
    let json = body
        .find('{')
        .and_then(|start| body.rfind('}').map(|end| &body[start..=end]))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn every_body_over_its_limit_gets_the_json_payload_too_large_error() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let big = "x".repeat(2 * 1024 * 1024);

    // With a Content-Length: refused before it is read.
    let declared = [
        app.post(
            &ada,
            "/api/tasks",
            json!({ "title": "t", "description": big }),
        )
        .await,
        app.http
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": big, "password": "p" }))
            .send()
            .await
            .unwrap(),
        app.http
            .post(app.url(app::api::CreateTask::PATH))
            .bearer_auth(&ada.token)
            .form(&[("title", "t"), ("description", big.as_str())])
            .send()
            .await
            .unwrap(),
    ];
    for res in declared {
        let url = res.url().path().to_owned();
        assert_eq!(res.status(), 413, "{url}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{url}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1048576"));
    }

    // Chunked, so the size is only found while reading.
    for (path, content_type) in [
        ("/api/tasks", "application/json"),
        (
            app::api::CreateTask::PATH,
            "application/x-www-form-urlencoded",
        ),
    ] {
        let (status, body) = chunked_post(&app, &ada, path, content_type, 2 * 1024 * 1024).await;
        assert_eq!(status, 413, "{path}");
        assert_eq!(body["error"]["code"], "payload_too_large", "{path}: {body}");
    }
    assert_eq!(health(&app).await, 200);
}

async fn rows(pool: &server::db::Pool, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap();
    n
}

/// Whether `table` becomes empty within 5 s (the janitor runs in the background).
async fn emptied(pool: &server::db::Pool, table: &str) -> bool {
    for _ in 0..50 {
        if rows(pool, table).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn idempotency_keys_expire_after_their_retention_and_are_pruned() {
    let app = spawn_app_with(|s| {
        s.retention.idempotency_keys = Duration::from_secs(1);
        s.retention.prune_every = Duration::from_millis(200);
    })
    .await;
    let ada = app.signup("ada").await;
    let create = |title: &'static str| {
        app.http
            .post(app.url("/api/tasks"))
            .bearer_auth(&ada.token)
            .header("idempotency-key", "k-1")
            .json(&json!({ "title": title, "description": ACTIONABLE }))
            .send()
    };
    let first = create("First").await.unwrap();
    assert_eq!(first.status(), 201);
    // Within the retention a reuse for something else is refused.
    assert_eq!(create("Second").await.unwrap().status(), 422);
    let pool = app.pool().await;
    assert_eq!(rows(&pool, "idempotency_keys").await, 1);
    assert!(
        emptied(&pool, "idempotency_keys").await,
        "the sweep removed the expired key"
    );
    // Expired: the key is free for a new action.
    assert_eq!(create("Second").await.unwrap().status(), 201);
}

#[tokio::test]
async fn webhook_delivery_ids_are_forgotten_after_their_retention() {
    let app = spawn_app_with(|s| {
        s.webhook_secret = Some(Secret::new("retention-secret"));
        s.retention.webhook_deliveries = Duration::from_secs(1);
        s.retention.prune_every = Duration::from_millis(200);
    })
    .await;
    let ping = br#"{"zen":"Design for failure."}"#.to_vec();
    let deliver = || {
        app.http
            .post(app.url("/api/webhooks/github"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", "same-id")
            .header("x-hub-signature-256", sign(b"retention-secret", &ping))
            .header("content-type", "application/json")
            .body(ping.clone())
            .send()
    };
    let status =
        |res: reqwest::Response| async { res.json::<Value>().await.unwrap()["status"].clone() };
    assert_eq!(status(deliver().await.unwrap()).await, "pong");
    assert_eq!(status(deliver().await.unwrap()).await, "duplicate");
    let pool = app.pool().await;
    assert!(
        emptied(&pool, "webhook_deliveries").await,
        "the sweep removed the old delivery id"
    );
    assert_eq!(status(deliver().await.unwrap()).await, "pong");
}

#[tokio::test]
async fn rate_limiter_entries_of_quiet_clients_are_pruned() {
    let app = spawn_app_with(|s| {
        s.ip_limits.sign_in = Rate {
            per_minute: 6_000,
            burst: 1,
        };
        s.actions_per_minute = 6_000;
        s.action_burst = 1;
        s.retention.prune_every = Duration::from_secs(3600);
    })
    .await;
    let ada = app.signup("ada").await;
    app.create_task(&ada, "One action").await;
    assert!(!app.state.ip_limits.is_empty());
    assert!(!app.state.action_limits.is_empty());
    // Both buckets refill within a fraction of a second; then a sweep forgets them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    server::janitor::sweep(&app.state).await.unwrap();
    assert!(
        app.state.ip_limits.is_empty(),
        "{}",
        app.state.ip_limits.len()
    );
    assert!(app.state.action_limits.is_empty());
}
