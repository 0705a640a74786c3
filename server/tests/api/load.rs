//! Under many concurrent writers nothing fails and no task is left mid-pipeline.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn concurrent_creates_and_pipeline_steps_all_succeed_and_no_task_is_stuck() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(app.signup(&format!("writer{i}")).await);
    }
    // 400 creates at once, each followed by two or three pipeline writes, plus a note
    // on every task as soon as it exists: well over a thousand writes racing.
    let creates = (0..400).map(|n| {
        let user = users[n % users.len()].clone();
        let app = &app;
        async move {
            let res = app
                .post(
                    &user,
                    "/api/tasks",
                    json!({ "title": format!("burst {n}"), "description": ACTIONABLE }),
                )
                .await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or_default();
            let id = shared_protocol::TaskId(body["task"]["id"].as_i64().unwrap_or(0));
            let note = app
                .report(&user, id, json!({ "note": "racing the pipeline" }))
                .await;
            (status, note.status().as_u16())
        }
    });
    let answers = join_all(creates).await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|(c, n)| *c != 201 || *n != 200)
        .collect();
    assert!(
        failed.is_empty(),
        "every create and note succeeds: {failed:?}"
    );

    // Every task reaches the end of the automatic pipeline.
    let mut stuck = usize::MAX;
    for _ in 0..200 {
        let list: Value = app.get(&users[0], "/api/tasks").await.json().await.unwrap();
        let counts = list["counts"].as_object().unwrap();
        let total: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total, 400);
        stuck = (total - counts["dispatched"].as_u64().unwrap_or(0)) as usize;
        if stuck == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stuck, 0, "tasks left mid-pipeline");

    // And the log stayed gap-free through all of it.
    let pool = app.pool().await;
    let (count, max): (i64, i64) = sqlx::query_as("SELECT COUNT(*), MAX(seq) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, max, "seq is gap-free");
    // created, analysing, dispatched and the note, for each task.
    assert_eq!(count, 400 * 4);
}
