//! A retried action with the same Idempotency-Key returns the first result and changes
//! nothing.

use serde_json::{json, Value};

use crate::helpers::*;

async fn post_keyed(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(&user.token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_create_returns_the_first_task_and_creates_nothing_more() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let body = json!({ "title": "Retry webhooks", "description": ACTIONABLE });
    let first = post_keyed(&app, &ada, "/api/tasks", "create-1", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post_keyed(&app, &ada, "/api/tasks", "create-1", body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_retried_status_report_is_not_applied_twice() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let path = format!("/api/tasks/{id}/status");
    let first = post_keyed(&app, &ada, &path, "report-1", json!({ "status": "coding" })).await;
    assert_eq!(first.status(), 200);
    // Without the key, the same report would be refused as an invalid transition.
    let again = post_keyed(&app, &ada, &path, "report-1", json!({ "status": "coding" })).await;
    assert_eq!(again.status(), 200, "the first result, not a 409");
    let task: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let coding = task["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "task:coding")
        .count();
    assert_eq!(coding, 1);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    post_keyed(&app, &ada, "/api/tasks", "k", json!({ "title": "one" })).await;
    let other = post_keyed(&app, &ada, "/api/tasks", "k", json!({ "title": "two" })).await;
    assert_eq!(other.status(), 422);
    assert_eq!(
        other.json::<Value>().await.unwrap()["error"]["code"],
        "idempotency_key_reused"
    );
    let bob = app.signup("bob").await;
    let bobs = post_keyed(&app, &bob, "/api/tasks", "k", json!({ "title": "two" })).await;
    assert_eq!(bobs.status(), 201, "keys are per user");
}

#[tokio::test]
async fn a_failed_action_does_not_burn_its_key() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bad = post_keyed(&app, &ada, "/api/tasks", "k2", json!({ "title": "" })).await;
    assert_eq!(bad.status(), 422);
    let long_key = "x".repeat(201);
    let res = post_keyed(
        &app,
        &ada,
        "/api/tasks",
        &long_key,
        json!({ "title": "ok" }),
    )
    .await;
    assert_eq!(res.status(), 422, "keys are limited to 200 characters");
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(list["tasks"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_claim_left_by_a_server_that_died_mid_action_is_taken_over() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    // What a server killed between claiming the key and finishing leaves behind.
    let pool = app.pool().await;
    let ada_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ada'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let long_ago = server::db::now_millis()
        - server::routes::idempotency::CLAIM_LEASE.as_millis() as i64
        - 1_000;
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, status, body, created_at) \
         VALUES ($1, 'orphaned', 'whatever it was', 0, '', $2)",
    )
    .bind(format!("user:{ada_id}"))
    .bind(long_ago)
    .execute(&pool)
    .await
    .unwrap();
    let body = json!({ "title": "Sent again", "description": ACTIONABLE });
    let res = post_keyed(&app, &ada, "/api/tasks", "orphaned", body.clone()).await;
    assert_eq!(res.status(), 201, "applied, not 409 for a day");
    let again = post_keyed(&app, &ada, "/api/tasks", "orphaned", body).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let list: Value = app.get(&ada, "/api/tasks").await.json().await.unwrap();
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
}
