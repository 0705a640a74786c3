//! What operators see: Prometheus metrics behind a token, and a request id on every
//! request, in every JSON error.

use serde_json::Value;
use server::config::Secret;
use shared_protocol::{ClientMsg, Ping, ServerMsg};

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// The Prometheus text, read with the token.
async fn metrics_text(app: &TestApp) -> String {
    let res = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_served_only_with_the_token_and_name_what_happened() {
    let app = spawn_app_with(|s| s.metrics_token = Some(Secret::new(METRICS_TOKEN))).await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Count me").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let mut ws = app.ws(&ada).await;
    ws.join_dashboard(None).await;
    ws.next().await;

    let anonymous = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("not-the-metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let text = metrics_text(&app).await;
    for name in [
        "taskwire_sockets_open",
        "taskwire_room_members",
        "taskwire_frames_sent_total",
        "taskwire_joins_total",
        "taskwire_log_commit_seconds",
        "taskwire_log_writes_per_commit",
        "taskwire_commit_to_broadcast_seconds",
        "taskwire_log_events_handed_over_total",
        "taskwire_log_reads_total",
        "taskwire_pipeline_jobs_total",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    if !on_postgres() {
        // The checkpointer's first pass is at start-up.
        for name in [
            "taskwire_wal_checkpoint_seconds",
            "taskwire_wal_pages",
            "taskwire_wal_pages_not_copied",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
    // Requests are counted by route pattern, never by raw path.
    assert!(
        text.contains(r#"route="/api/tasks/{id}""#),
        "routes by pattern:\n{text}"
    );
    assert!(!text.contains(&format!("/api/tasks/{id}\"")));
    assert!(!text.contains(METRICS_TOKEN));

    // Frames are counted as they are written (other tests' servers in this process
    // add to the same counters, so only a lower bound can be asserted).
    let sent = |text: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with("taskwire_frames_sent_total "))
            .unwrap_or_else(|| panic!("no frames counted in:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let before = sent(&text);
    assert!(before >= 2, "ada's socket was sent hello and the dashboard");
    for nonce in 0..5 {
        ws.send(ClientMsg::Ping(Ping { nonce })).await;
        ws.until(|f| matches!(f.msg, ServerMsg::Pong(Ping { nonce: n }) if n == nonce))
            .await;
    }
    // A write is counted once it is flushed, so just after the client read it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let after = sent(&metrics_text(&app).await);
        if after >= before + 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "five pongs written, and the count went from {before} to {after}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn without_a_token_configured_metrics_are_not_served() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_every_json_error_names_it() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/api/health")).send().await.unwrap();
    assert!(res.headers().get("x-request-id").is_some());

    let res = app.http.get(app.url("/api/tasks")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["error"]["requestId"], id.as_str());

    // A caller's own id (a proxy's, say) is kept, so logs on both sides match.
    let res = app
        .http
        .get(app.url("/api/tasks/1"))
        .header("x-request-id", "proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "proxy-42");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["requestId"], "proxy-42");

    // One that is no plausible id (too long, or odd characters) is replaced by a fresh
    // one: it would be echoed in the body and written to every log line.
    for unusable in [
        "x".repeat(129),
        "a b<c>".to_owned(),
        "ünïcode".to_owned(),
        String::new(),
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(unusable.as_bytes()).unwrap();
        let res = app
            .http
            .get(app.url("/api/tasks/1"))
            .header("x-request-id", value)
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, unusable);
        assert!(!id.is_empty() && id.len() <= 128, "{id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["requestId"], id.as_str());
    }
}
