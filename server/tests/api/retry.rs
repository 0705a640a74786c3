//! `POST /api/tasks/{id}/retry`: a failed task goes through the pipeline again, once per
//! request, and only for people who may see it.

use serde_json::{json, Value};
use shared_protocol::api::TaskChanged;
use shared_protocol::*;

use crate::helpers::*;

async fn failed_task(app: &TestApp, user: &TestUser) -> TaskId {
    let id = app.create_task(user, "Flaky deploy").await;
    app.wait_for_status(user, id, "dispatched").await;
    let res = app
        .report(
            user,
            id,
            json!({ "status": "failed", "reason": "The runner crashed" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    id
}

async fn retry(app: &TestApp, user: &TestUser, id: TaskId, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/api/tasks/{id}/retry")))
        .bearer_auth(&user.token);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_failed_task_is_retried_through_the_pipeline_and_the_timeline_says_who() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = failed_task(&app, &ada).await;
    let mut ws = app.ws(&ada).await;
    ws.join_task(id, None).await;
    ws.until(|f| matches!(f.msg, ServerMsg::TaskState(_))).await;

    let res = retry(&app, &ada, id, None).await;
    assert_eq!(res.status(), 200);
    let body: TaskChanged = res.json().await.unwrap();
    assert_eq!(body.task.summary.status, TaskStatus::Received);
    assert_eq!(body.task.error_message, None, "the old failure is cleared");

    // Every watcher sees the retry, with who did it, and then the pipeline again.
    let retried = ws
        .until(|f| matches!(f.msg, ServerMsg::TaskRetried(_)))
        .await;
    let ServerMsg::TaskRetried(e) = retried.msg else {
        unreachable!()
    };
    assert_eq!(e.meta.actor.as_deref(), Some("ada"));
    ws.until(|f| matches!(f.msg, ServerMsg::TaskDispatched(_)))
        .await;
    app.wait_for_status(&ada, id, "dispatched").await;

    let kinds: Vec<String> = app
        .timeline(&ada, id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    let after_failure: Vec<&str> = kinds
        .iter()
        .skip_while(|k| *k != "task:failed")
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_failure,
        [
            "task:failed",
            "task:retried",
            "task:analyzing",
            "task:dispatched"
        ]
    );
}

#[tokio::test]
async fn only_a_failed_task_can_be_retried_and_only_by_who_may_see_it() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Healthy").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let res = retry(&app, &ada, id, None).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_transition");

    let failed = failed_task(&app, &ada).await;
    let outsider = app.signup_in_org("mallory", "elsewhere").await;
    let res = retry(&app, &outsider, failed, None).await;
    assert_eq!(
        res.status(),
        404,
        "another org's task does not exist for them"
    );
    let res = retry(&app, &ada, TaskId(999_999), None).await;
    assert_eq!(res.status(), 404);
    let anonymous = app
        .http
        .post(app.url(&format!("/api/tasks/{failed}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        app.status_of(&ada, failed).await,
        "failed",
        "nothing changed"
    );
}

#[tokio::test]
async fn a_retry_sent_twice_with_one_key_retries_once() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = failed_task(&app, &ada).await;
    let first = retry(&app, &ada, id, Some("retry-1")).await;
    assert_eq!(first.status(), 200);
    let again = retry(&app, &ada, id, Some("retry-1")).await;
    assert_eq!(again.status(), 200, "the first answer, not a 409");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    app.wait_for_status(&ada, id, "dispatched").await;
    let retries = app
        .timeline(&ada, id)
        .await
        .iter()
        .filter(|e| e["kind"] == "task:retried")
        .count();
    assert_eq!(retries, 1);
}
