//! Demo mode drives labelled synthetic tasks through the whole pipeline.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn demo_mode_drives_labelled_tasks_to_the_end_of_the_pipeline() {
    let app = spawn_app_with(|s| s.demo = Some(Duration::from_millis(20))).await;
    let viewer = app.signup("viewer").await;
    for _ in 0..300 {
        let list: Value = app.get(&viewer, "/api/tasks").await.json().await.unwrap();
        let tasks = list["tasks"].as_array().unwrap();
        let finished = tasks
            .iter()
            .any(|t| t["status"] == "merged" || t["status"] == "failed");
        if finished {
            for t in tasks {
                assert!(t["title"].as_str().unwrap().starts_with("[demo] "), "{t}");
                assert!(
                    t["creator"]["name"].as_str().unwrap().ends_with("(demo)"),
                    "{t}"
                );
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list: Value = app.get(&viewer, "/api/tasks").await.json().await.unwrap();
    panic!("no demo task finished: {list}");
}

#[tokio::test]
async fn demo_mode_is_off_unless_asked_for() {
    let app = spawn_app().await;
    let viewer = app.signup("viewer").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list: Value = app.get(&viewer, "/api/tasks").await.json().await.unwrap();
    assert_eq!(list["tasks"].as_array().unwrap().len(), 0);
}
