//! Agents report progress with service tokens an admin creates and revokes.

use serde_json::{json, Value};
use server::db::service_tokens;

use crate::helpers::*;

async fn report(
    app: &TestApp,
    token: &str,
    id: shared_protocol::TaskId,
    body: Value,
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/tasks/{id}/status")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agent_reports_progress_with_its_token_until_it_is_revoked() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let pool = app.pool().await;
    let token = service_tokens::create(&pool, "ci-agent", 0)
        .await
        .unwrap()
        .unwrap();
    assert!(
        service_tokens::create(&pool, "ci-agent", 0)
            .await
            .unwrap()
            .is_none(),
        "names are unique"
    );

    let res = report(
        &app,
        &token,
        id,
        json!({ "status": "coding", "note": "Cloned the repository" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = report(&app, &token, id, json!({ "note": "Tests written" })).await;
    assert_eq!(res.status(), 200);
    let task: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let last = task["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "task:event_added");
    assert_eq!(last["actor"], "ci-agent");
    assert_eq!(last["text"], "Tests written");

    assert!(service_tokens::revoke(&pool, "ci-agent", 1).await.unwrap());
    let res = report(&app, &token, id, json!({ "note": "still here?" })).await;
    assert_eq!(res.status(), 401);
    let res = report(&app, "tw_0000", id, json!({ "note": "forged" })).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn an_agent_can_fail_a_task_with_a_reason() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let pool = app.pool().await;
    let token = service_tokens::create(&pool, "bot", 0)
        .await
        .unwrap()
        .unwrap();
    let res = report(
        &app,
        &token,
        id,
        json!({ "status": "failed", "reason": "The build does not compile" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let task: Value = app
        .get(&ada, &format!("/api/tasks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(task["task"]["status"], "failed");
    assert_eq!(task["task"]["errorMessage"], "The build does not compile");
}

#[tokio::test]
async fn a_revoked_tokens_name_can_be_given_to_a_new_token() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Rotate the agent's token").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let pool = app.pool().await;
    let old = service_tokens::create(&pool, "build-agent", 0)
        .await
        .unwrap()
        .unwrap();
    assert!(service_tokens::revoke(&pool, "build-agent", 1)
        .await
        .unwrap());
    let new = service_tokens::create(&pool, "build-agent", 2)
        .await
        .unwrap()
        .expect("the name is free again once its token is revoked");
    assert_ne!(old, new);
    assert!(
        service_tokens::create(&pool, "build-agent", 3)
            .await
            .unwrap()
            .is_none(),
        "but only one live token has a name"
    );
    assert_eq!(
        report(&app, &old, id, json!({ "note": "old" }))
            .await
            .status(),
        401
    );
    assert_eq!(
        report(&app, &new, id, json!({ "note": "new" }))
            .await
            .status(),
        200
    );
    assert_eq!(
        service_tokens::list(&pool).await.unwrap().len(),
        1,
        "the list shows live tokens only"
    );
}
