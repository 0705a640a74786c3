//! Live updates: fan-out between users, resync by `seq`, ordering, restarts.

use std::time::Duration;

use serde_json::json;
use shared_protocol::*;

use crate::helpers::*;

fn is_row(frame: &ServerFrame) -> bool {
    matches!(frame.msg, ServerMsg::TaskListUpdated(_))
}

#[tokio::test]
async fn a_task_created_by_one_user_reaches_another_users_dashboard() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let mut bobs = app.ws(&bob).await;
    bobs.join_dashboard(None).await;
    let snapshot = bobs.next().await;
    assert!(matches!(snapshot.msg, ServerMsg::DashboardState(ref s) if s.tasks.is_empty()));

    let id = app.create_task(&ada, "Fix the payment webhook retry").await;

    let frame = bobs.until(is_row).await;
    let ServerMsg::TaskListUpdated(update) = frame.msg else {
        unreachable!()
    };
    assert_eq!(update.task.id, id);
    assert_eq!(update.task.title, "Fix the payment webhook retry");
    assert_eq!(update.task.status, TaskStatus::Received);
    assert_eq!(update.task.creator.name, "ada");
    assert_eq!(frame.seq, Some(1));
    // The status changed, so the same frame carries bob's counts.
    let counts = update.counts.expect("a new status comes with the counts");
    assert_eq!(counts.get(TaskStatus::Received), 1);
}

#[tokio::test]
async fn a_status_report_reaches_the_task_rooms_members_with_its_payload() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let id = dispatched_task(&app, &ada).await;

    let mut bobs = app.ws(&bob).await;
    bobs.join_task(id, None).await;
    let state = bobs
        .until(|f| matches!(f.msg, ServerMsg::TaskState(_)))
        .await;
    let ServerMsg::TaskState(s) = state.msg else {
        unreachable!()
    };
    assert_eq!(s.task.summary.status, TaskStatus::Dispatched);
    let kinds: Vec<_> = s.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["task:created", "task:analyzing", "task:dispatched"]);

    let res = app
        .report(
            &ada,
            id,
            json!({ "status": "coding", "note": "Branch pushed" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let frame = bobs.until(|f| f.msg.event_meta().is_some()).await;
    let ServerMsg::TaskCoding(coding) = frame.msg else {
        panic!("expected task:coding, got {frame:?}")
    };
    assert_eq!(coding.note.as_deref(), Some("Branch pushed"));
    assert_eq!(coding.meta.actor.as_deref(), Some("ada"));
    assert_eq!(coding.meta.task.status, TaskStatus::Coding);
    assert_eq!(frame.seq, Some(state.seq.unwrap() + 1));
}

/// A task of `user`'s, once the pipeline has dispatched it.
async fn dispatched_task(app: &TestApp, user: &TestUser) -> TaskId {
    let id = app.create_task(user, "Retry webhooks").await;
    app.wait_for_status(user, id, "dispatched").await;
    id
}

/// Makes `n` events on a dispatched task: coding, then notes.
async fn make_events(app: &TestApp, user: &TestUser, id: TaskId, n: usize, first: bool) {
    for i in 0..n {
        let body = if first && i == 0 {
            json!({ "status": "coding" })
        } else {
            json!({ "note": format!("progress {i}") })
        };
        assert_eq!(app.report(user, id, body).await.status(), 200);
    }
}

/// Joins task `id`'s room from scratch; the seq of the state it is sent.
async fn joined_at(ws: &mut WsClient, id: TaskId) -> Seq {
    ws.join_task(id, None).await;
    ws.until(|f| matches!(f.msg, ServerMsg::TaskState(_)))
        .await
        .seq
        .unwrap()
}

fn event_seqs(frames: &[ServerFrame]) -> Vec<Seq> {
    frames
        .iter()
        .filter(|f| f.msg.event_meta().is_some())
        .filter_map(|f| f.seq)
        .collect()
}

#[tokio::test]
async fn a_reconnecting_client_receives_exactly_the_missed_events() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = dispatched_task(&app, &ada).await;

    let mut first = app.ws(&ada).await;
    let since = joined_at(&mut first, id).await;
    first.join_dashboard(Some(since)).await;
    drop(first);

    make_events(&app, &ada, id, 5, true).await;

    let mut again = app.ws(&ada).await;
    again.join_task(id, Some(since)).await;
    let frames = again.drain(Duration::from_millis(300)).await;
    assert_eq!(
        event_seqs(&frames),
        (since + 1..=since + 5).collect::<Vec<_>>()
    );
    assert!(
        frames.iter().all(|f| f.msg.event_meta().is_some()),
        "no snapshot, only the missed events: {frames:?}"
    );

    again.join_dashboard(Some(since)).await;
    let frames = again.drain(Duration::from_millis(300)).await;
    let rows: Vec<_> = frames
        .iter()
        .filter(|f| is_row(f))
        .filter_map(|f| f.seq)
        .collect();
    assert_eq!(rows, (since + 1..=since + 5).collect::<Vec<_>>());
}

#[tokio::test]
async fn what_a_member_is_sent_live_is_what_the_log_replays() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    // Not the creator: bob sees the task through its org.
    let bob = app.signup("bob").await;
    let id = dispatched_task(&app, &ada).await;

    let mut live = app.ws(&bob).await;
    let since = joined_at(&mut live, id).await;
    make_events(&app, &ada, id, 5, true).await;
    let sent: Vec<ServerFrame> = live
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|f| f.msg.event_meta().is_some())
        .collect();
    assert_eq!(
        event_seqs(&sent),
        (since + 1..=since + 5).collect::<Vec<_>>()
    );

    let mut later = app.ws(&bob).await;
    later.join_task(id, Some(since)).await;
    let replayed = later.drain(Duration::from_millis(300)).await;
    assert_eq!(sent, replayed);
}

#[tokio::test]
async fn missed_events_survive_a_server_restart() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = dispatched_task(&app, &ada).await;
    let mut ws = app.ws(&ada).await;
    let since = joined_at(&mut ws, id).await;
    drop(ws);

    make_events(&app, &ada, id, 2, true).await;
    let app = app.restart().await;
    make_events(&app, &ada, id, 3, false).await;

    let mut ws = app.ws(&ada).await;
    ws.join_task(id, Some(since)).await;
    let frames = ws.drain(Duration::from_millis(300)).await;
    assert_eq!(
        event_seqs(&frames),
        (since + 1..=since + 5).collect::<Vec<_>>()
    );
    ws.join_dashboard(Some(since)).await;
    let frames = ws.drain(Duration::from_millis(300)).await;
    let rows: Vec<_> = frames
        .iter()
        .filter(|f| is_row(f))
        .filter_map(|f| f.seq)
        .collect();
    assert_eq!(rows, (since + 1..=since + 5).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_rejoin_that_is_up_to_date_gets_nothing_twice() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = dispatched_task(&app, &ada).await;
    let mut ws = app.ws(&ada).await;
    let since = joined_at(&mut ws, id).await;
    ws.join_task(id, Some(since)).await;
    assert!(ws.drain(Duration::from_millis(300)).await.is_empty());
}

#[tokio::test]
async fn concurrent_writers_are_published_in_strictly_increasing_gap_free_order() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    ws.join_dashboard(None).await;
    let start = ws.next().await.seq.unwrap();

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let http = app.http.clone();
            let url = app.url("/api/tasks");
            let token = ada.token.clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    let res = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "title": format!("w{w} t{i}"), "description": ACTIONABLE }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // 40 tasks, each created, analysed and dispatched: 120 events.
    let mut seqs = Vec::new();
    while seqs.len() < 120 {
        let frame = ws.next().await;
        if is_row(&frame) {
            seqs.push(frame.seq.unwrap());
        }
    }
    assert_eq!(seqs, (start + 1..=start + 120).collect::<Vec<_>>());
}

#[tokio::test]
async fn shutting_down_closes_sockets_with_a_close_frame() {
    let mut app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    let stopping = tokio::spawn(async move {
        app.stop().await;
    });
    use futures::StreamExt;
    let mut saw_error = false;
    let mut close_code = None;
    while let Some(Ok(msg)) = ws.stream.next().await {
        match msg {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                let f = ServerFrame::decode(&t).unwrap();
                if let ServerMsg::Error(e) = f.msg {
                    saw_error = e.code == ErrorCode::ShuttingDown;
                }
            }
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    stopping.await.unwrap();
    assert!(saw_error, "a shutting_down error precedes the close");
    assert_eq!(close_code, Some(1001));
}

fn viewers(frame: &ServerFrame) -> Option<Vec<String>> {
    match &frame.msg {
        ServerMsg::TaskViewers(v) => Some(v.viewers.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_task_room_tells_its_members_who_is_viewing_by_name() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let id = app.create_task(&ada, "Retry webhooks").await;
    let mut adas = app.ws(&ada).await;
    adas.join_task(id, None).await;
    assert_eq!(
        adas.until(|f| viewers(f).is_some()).await.msg,
        ServerMsg::TaskViewers(TaskViewers {
            task_id: id,
            viewers: vec!["ada".into()]
        })
    );

    let mut bobs = app.ws(&bob).await;
    bobs.join_task(id, None).await;
    let both = vec!["ada".to_owned(), "bob".to_owned()];
    assert_eq!(
        viewers(&adas.until(|f| viewers(f).is_some()).await),
        Some(both.clone())
    );
    assert_eq!(
        viewers(&bobs.until(|f| viewers(f).is_some()).await),
        Some(both)
    );

    drop(bobs);
    assert_eq!(
        viewers(&adas.until(|f| viewers(f).is_some()).await),
        Some(vec!["ada".to_owned()])
    );
}
