//! `GET /api/live`: the socket's frames over long-polling, with a real HTTP client.

use std::time::Duration;

use serde_json::Value;
use shared_protocol::*;

use crate::helpers::*;

async fn poll(app: &TestApp, user: &TestUser, query: &str) -> (u16, Vec<ServerFrame>, Value) {
    let res = app
        .http
        .get(app.url(&format!("/api/live?{query}")))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    let frames = match body.as_array() {
        Some(frames) if status == 200 => frames
            .iter()
            .map(|f| ServerFrame::decode(&f.to_string()).expect("a server frame"))
            .collect(),
        _ => Vec::new(),
    };
    (status, frames, body)
}

async fn list_seq(app: &TestApp, user: &TestUser) -> Seq {
    let list: Value = app.get(user, "/api/tasks").await.json().await.unwrap();
    list["seq"].as_u64().unwrap()
}

/// A poll held in the background; the text of its answer.
fn poll_later(app: &TestApp, user: &TestUser, query: &str) -> tokio::task::JoinHandle<String> {
    let url = app.url(&format!("/api/live?{query}"));
    let http = app.http.clone();
    let token = user.token.clone();
    tokio::spawn(async move {
        http.get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}

/// The frames of a poll's answer.
fn decoded(body: &str) -> Vec<ServerFrame> {
    serde_json::from_str::<Vec<Value>>(body)
        .unwrap()
        .iter()
        .map(|f| ServerFrame::decode(&f.to_string()).unwrap())
        .collect()
}

fn row_seqs(frames: &[ServerFrame]) -> Vec<Seq> {
    frames
        .iter()
        .filter(|f| matches!(f.msg, ServerMsg::TaskListUpdated(_)))
        .filter_map(|f| f.seq)
        .collect()
}

#[tokio::test]
async fn a_poll_is_held_until_something_happens_and_answers_what_the_socket_would() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let first = app.create_task(&ada, "First").await;
    app.wait_for_status(&ada, first, "dispatched").await;
    let since = list_seq(&app, &ada).await;

    // Nothing new: held, then an empty answer.
    let (status, frames, _) = poll(&app, &ada, &format!("dashboard={since}&wait=300")).await;
    assert_eq!((status, frames.len()), (200, 0));

    // Held while a task is created; answered with its rows, in order, after `since`.
    let waiting = poll_later(&app, &ada, &format!("dashboard={since}&wait=10000"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = app.create_task(&ada, "Second").await;
    let body = waiting.await.unwrap();
    let frames = decoded(&body);
    let seqs = row_seqs(&frames);
    assert!(!seqs.is_empty(), "{body}");
    assert!(seqs.iter().all(|s| *s > since));
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert!(frames.iter().any(|f| matches!(&f.msg,
        ServerMsg::TaskListUpdated(u) if u.task.id == second)));

    // Asked again from the same `since` later: a replay of everything after it, at once,
    // then the counts, as a socket's rejoin gets.
    app.wait_for_status(&ada, second, "dispatched").await;
    let now = list_seq(&app, &ada).await;
    let (_, frames, _) = poll(&app, &ada, &format!("dashboard={since}")).await;
    assert_eq!(row_seqs(&frames), (since + 1..=now).collect::<Vec<_>>());
    assert!(
        matches!(
            frames.last().map(|f| &f.msg),
            Some(ServerMsg::TaskCountChanged(_))
        ),
        "{frames:?}"
    );

    // With no seq: a snapshot.
    let (_, frames, _) = poll(&app, &ada, "dashboard").await;
    assert!(matches!(&frames[0].msg, ServerMsg::DashboardState(s) if s.tasks.len() == 2));
    assert_eq!(frames[0].seq, Some(now));

    // Nothing of the polls stays behind in the rooms.
    let health: Value = app.health().await;
    assert_eq!(health["rooms"]["dashboardMembers"], 0, "{health}");
}

#[tokio::test]
async fn a_task_is_polled_like_its_room_is_joined_and_only_by_who_may_see_it() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task_with(&ada, "Private", true).await;
    app.wait_for_status(&ada, id, "dispatched").await;

    let (status, frames, _) = poll(&app, &ada, &format!("task={id}")).await;
    assert_eq!(status, 200);
    assert!(
        matches!(&frames[0].msg, ServerMsg::TaskState(_)),
        "{frames:?}"
    );
    let (_, frames, _) = poll(&app, &ada, &format!("task={id}&taskSince=1")).await;
    let seqs: Vec<Seq> = frames
        .iter()
        .filter(|f| f.msg.event_meta().is_some())
        .filter_map(|f| f.seq)
        .collect();
    assert_eq!(seqs, vec![2, 3], "the task's events after seq 1");

    // Someone else is told what a missing task gets.
    let bob = app.signup("bob").await;
    let (status, _, body) = poll(&app, &bob, &format!("task={id}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, missing) = poll(&app, &bob, "task=99999").await;
    assert_eq!(status, 404);
    assert_eq!(
        without_request_id(body),
        without_request_id(missing),
        "a task one may not see answers like a missing one"
    );
}

#[tokio::test]
async fn a_task_poll_waits_for_news_not_for_its_own_arrival_and_others_see_no_flicker() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let id = app.create_task(&ada, "Watched").await;
    app.wait_for_status(&ada, id, "dispatched").await;
    let mut bobs = app.ws(&bob).await;
    bobs.join_task(id, None).await;
    let alone = vec!["bob".to_owned()];
    bobs.until(|f| matches!(&f.msg, ServerMsg::TaskViewers(v) if v.viewers == alone))
        .await;
    let now = list_seq(&app, &ada).await;

    // Ada polls from the newest seq: her own joining is no news, so the poll is held
    // until the note, and answers it with who is viewing.
    let waiting = poll_later(&app, &ada, &format!("task={id}&taskSince={now}&wait=20000"));
    let both = vec!["ada".to_owned(), "bob".to_owned()];
    let seen = bobs
        .try_next(Duration::from_secs(5))
        .await
        .expect("bob hears of ada");
    assert!(
        matches!(&seen.msg, ServerMsg::TaskViewers(v) if v.viewers == both),
        "{seen:?}"
    );
    // Well after the poll's own join, so an answer to that would be out already.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .report(&ada, id, serde_json::json!({ "note": "Looking into it" }))
        .await;
    assert_eq!(res.status(), 200);
    let body = waiting.await.unwrap();
    let frames = decoded(&body);
    assert!(
        frames
            .iter()
            .any(|f| matches!(&f.msg, ServerMsg::EventAdded(n) if n.text == "Looking into it")),
        "the poll was held until the note: {body}"
    );
    assert!(
        frames
            .iter()
            .any(|f| matches!(&f.msg, ServerMsg::TaskViewers(v) if v.viewers == both)),
        "{body}"
    );

    // Ada polls again at once, as a client does after each answer: bob is told nothing
    // of her leaving and coming back, only the note.
    let (status, _, _) = poll(
        &app,
        &ada,
        &format!("task={id}&taskSince={}&wait=300", now + 1),
    )
    .await;
    assert_eq!(status, 200);
    let mut heard = Vec::new();
    while let Some(frame) = bobs
        .try_next(Duration::from_millis(LEAVE_GRACE_MS + 500))
        .await
    {
        heard.push(frame);
    }
    let viewers: Vec<_> = heard
        .iter()
        .filter_map(|f| match &f.msg {
            ServerMsg::TaskViewers(v) => Some(v.viewers.clone()),
            _ => None,
        })
        .collect();
    assert!(
        heard
            .iter()
            .any(|f| matches!(&f.msg, ServerMsg::EventAdded(_))),
        "{heard:?}"
    );
    // Once ada's last poll is over and the grace has passed, bob is alone, and told so
    // once; never a list that drops ada while she is still polling.
    assert_eq!(viewers, vec![vec!["bob".to_owned()]], "{heard:?}");

    // Someone else arriving is news: a waiting poll answers with the new list.
    let waiting = poll_later(
        &app,
        &ada,
        &format!("task={id}&taskSince={}&wait=25000", now + 1),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cyd = app.signup("cyd").await;
    let mut cyds = app.ws(&cyd).await;
    cyds.join_task(id, None).await;
    let body = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the poll answers when cyd arrives, not when its wait runs out")
        .unwrap();
    let lists: Vec<Vec<String>> = decoded(&body)
        .into_iter()
        .filter_map(|f| match f.msg {
            ServerMsg::TaskViewers(v) => Some(v.viewers),
            _ => None,
        })
        .collect();
    assert_eq!(
        lists.last().map(Vec::as_slice),
        Some(&["ada".to_owned(), "bob".to_owned(), "cyd".to_owned()][..]),
        "{body}"
    );
}

/// `LEAVE_GRACE` of the task rooms, in milliseconds.
const LEAVE_GRACE_MS: u64 = 2_000;

#[tokio::test]
async fn bad_polls_get_coded_errors() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    for (query, status, code) in [
        ("", 422, "invalid_input"),
        ("dashboard=soon", 422, "invalid_input"),
        ("task=x", 422, "invalid_input"),
    ] {
        let (got, _, body) = poll(&app, &ada, query).await;
        assert_eq!(got, status, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}");
    }
    let res = app
        .http
        .get(app.url("/api/live?dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
