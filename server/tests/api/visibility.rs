//! Nobody sees what they should not: private tasks and other orgs' tasks are invisible
//! in lists, reads, actions, pages, snapshots, live fan-out, counts and replays.

use std::time::Duration;

use serde_json::{json, Value};
use shared_protocol::*;

use crate::helpers::*;

fn rows(frames: &[ServerFrame]) -> Vec<TaskId> {
    frames
        .iter()
        .filter_map(|f| match &f.msg {
            ServerMsg::TaskListUpdated(u) => Some(u.task.id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn private_and_foreign_tasks_are_invisible_over_http() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let carol = app.signup_in_org("carol", "other-team").await;
    let private = app.create_task_with(&ada, "Ada's secret", true).await;
    let public = app.create_task(&ada, "Team work").await;
    app.wait_for_status(&ada, private, "dispatched").await;
    app.wait_for_status(&ada, public, "dispatched").await;

    let listed = |user: &TestUser| {
        let user = user.clone();
        let app = &app;
        async move {
            let body: Value = app.get(&user, "/api/tasks").await.json().await.unwrap();
            let ids: Vec<i64> = body["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect();
            (ids, body["counts"].clone())
        }
    };
    assert_eq!(listed(&ada).await.0.len(), 2);
    let (bobs, bob_counts) = listed(&bob).await;
    assert_eq!(bobs, vec![public.0]);
    assert_eq!(
        bob_counts,
        json!({ "dispatched": 1 }),
        "counts are per viewer"
    );
    assert!(listed(&carol).await.0.is_empty());

    let missing: Value = app
        .get(&bob, "/api/tasks/424242")
        .await
        .json()
        .await
        .unwrap();
    for (user, id) in [(&bob, private), (&carol, private), (&carol, public)] {
        let res = app.get(user, &format!("/api/tasks/{id}")).await;
        assert_eq!(res.status(), 404);
        assert_eq!(
            without_request_id(res.json::<Value>().await.unwrap()),
            without_request_id(missing.clone()),
            "exactly as for a missing task"
        );
        let res = app.report(user, id, json!({ "status": "coding" })).await;
        assert_eq!(res.status(), 404);
        let res = app
            .post(
                user,
                &format!("/api/tasks/{id}/answers"),
                json!({ "answers": [] }),
            )
            .await;
        assert_eq!(res.status(), 404);
    }
    assert_eq!(
        app.status_of(&ada, private).await,
        "dispatched",
        "nothing was changed"
    );
}

#[tokio::test]
async fn a_private_task_never_reaches_another_members_socket() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let carol = app.signup_in_org("carol", "other-team").await;
    let mut bobs = app.ws(&bob).await;
    let mut carols = app.ws(&carol).await;
    bobs.join_dashboard(None).await;
    carols.join_dashboard(None).await;
    let since = bobs.next().await.seq.unwrap();
    carols.next().await;

    let secret = app.create_task_with(&ada, "Ada's secret", true).await;
    app.wait_for_status(&ada, secret, "dispatched").await;
    let open = app.create_task(&ada, "Team work").await;
    app.wait_for_status(&ada, open, "dispatched").await;

    let seen = bobs.drain(Duration::from_millis(400)).await;
    assert!(
        rows(&seen).iter().all(|id| *id == open),
        "bob saw only the public task: {seen:?}"
    );
    assert_eq!(rows(&seen).len(), 3, "created, analyzing, dispatched");
    let last_counts = seen.iter().rev().find_map(|f| match &f.msg {
        ServerMsg::TaskCountChanged(c) => Some(c.counts.clone()),
        ServerMsg::TaskListUpdated(u) => u.counts.clone(),
        _ => None,
    });
    assert_eq!(
        last_counts.map(|c| c.total()),
        Some(1),
        "the private task is not counted"
    );
    assert!(
        carols.drain(Duration::from_millis(100)).await.is_empty(),
        "another org sees nothing"
    );

    // A replay is filtered the same way, and so is a snapshot.
    bobs.join_dashboard(Some(since)).await;
    let replay = bobs.drain(Duration::from_millis(300)).await;
    assert_eq!(rows(&replay), vec![open, open, open]);
    bobs.join_dashboard(None).await;
    let ServerMsg::DashboardState(snapshot) = bobs.next().await.msg else {
        panic!("snapshot")
    };
    assert_eq!(
        snapshot.tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![open]
    );
    assert_eq!(snapshot.counts.total(), 1);

    // Joining the private task's room answers exactly as for a missing task.
    bobs.join_task(secret, None).await;
    let hidden = bobs.next().await;
    bobs.join_task(TaskId(424242), None).await;
    let missing = bobs.next().await;
    assert_eq!(hidden, missing);
    assert!(matches!(
        hidden.msg,
        ServerMsg::Error(ErrorBody {
            code: ErrorCode::NotFound,
            ..
        })
    ));
}

#[tokio::test]
async fn pages_do_not_show_what_the_viewer_may_not_see() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let secret = app.create_task_with(&ada, "Ada's secret plan", true).await;
    app.wait_for_status(&ada, secret, "dispatched").await;
    let page = |path: String| {
        app.http
            .get(app.url(&path))
            .header("accept", "text/html")
            .bearer_auth(&bob.token)
            .send()
    };
    let dashboard = page("/".into()).await.unwrap().text().await.unwrap();
    assert!(!dashboard.contains("Ada&#x27;s secret plan") && !dashboard.contains("secret plan"));
    let task = page(format!("/tasks/{secret}")).await.unwrap();
    assert_eq!(task.status(), 404);
    let task = task.text().await.unwrap();
    assert!(task.contains(r#"data-testid="not-found""#));
    assert!(!task.contains("secret plan"));
}
