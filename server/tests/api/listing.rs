//! The task list comes a page at a time, newest change first, with the view (status,
//! mine, page) in the query: over HTTP, on the server-rendered dashboard, and in the
//! socket's snapshot.

use serde_json::{json, Value};
use shared_protocol::*;

use crate::helpers::*;

/// The task ids of a rendered dashboard's rows, top to bottom.
fn row_ids(html: &str) -> Vec<i64> {
    html.split(r#"data-testid="task-row" data-task-id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

async fn list(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let res = app.get(user, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn thin_task(app: &TestApp, user: &TestUser, title: &str) -> TaskId {
    let res = app
        .post(
            user,
            "/api/tasks",
            json!({ "title": title, "description": "Broken" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    TaskId(
        res.json::<Value>().await.unwrap()["task"]["id"]
            .as_i64()
            .unwrap(),
    )
}

/// Ada's 52 tasks (the last two ask questions), Bob's two public and one private one,
/// and one in another org; returns ids in creation order.
async fn seeded() -> (TestApp, TestUser, TestUser, Vec<TaskId>, TaskId) {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let carol = app.signup_in_org("carol", "other-team").await;
    let mut created = Vec::new();
    for i in 0..50 {
        created.push(app.create_task(&ada, &format!("Ada {i}")).await);
    }
    for i in 50..52 {
        created.push(thin_task(&app, &ada, &format!("Ada {i}")).await);
    }
    for i in 0..2 {
        created.push(app.create_task(&bob, &format!("Bob {i}")).await);
    }
    let private = app.create_task_with(&bob, "Bob's own", true).await;
    app.create_task(&carol, "Elsewhere").await;
    for id in &created[..50] {
        app.wait_for_status(&ada, *id, "dispatched").await;
    }
    for id in &created[50..52] {
        app.wait_for_status(&ada, *id, "needs_clarification").await;
    }
    for id in created[52..].iter().chain([&private]) {
        app.wait_for_status(&bob, *id, "dispatched").await;
    }
    (app, ada, bob, created, private)
}

#[tokio::test]
async fn the_list_comes_a_page_at_a_time_newest_change_first_with_its_view_in_the_query() {
    let (app, ada, bob, created, private) = seeded().await;

    let first: Value = list(&app, &ada, "/api/tasks").await;
    assert_eq!(first["tasks"].as_array().unwrap().len(), PAGE_SIZE);
    assert_eq!(first["more"], true);
    assert_eq!(first["page"], 1);
    assert_eq!(
        first["counts"]["dispatched"], 52,
        "counts cover every visible task"
    );
    assert_eq!(first["counts"]["needs_clarification"], 2);
    let second: Value = list(&app, &ada, "/api/tasks?page=2").await;
    assert_eq!(second["more"], false);
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(
        all.len(),
        54,
        "Ada sees her 52 and Bob's 2 public tasks, each once"
    );
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 54);
    assert!(!all.contains(&private.0), "Bob's private task is not Ada's");
    // Newest change first: the seqs of the rows only go down.
    let seqs: Vec<u64> = first["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["tasks"].as_array().unwrap())
        .map(|t| t["lastSeq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    let asking: Value = list(&app, &ada, "/api/tasks?status=needs_clarification").await;
    let mut asking_ids = ids(&asking);
    asking_ids.sort();
    assert_eq!(asking_ids, vec![created[50].0, created[51].0]);
    assert_eq!(asking["more"], false);

    let bobs: Value = list(&app, &bob, "/api/tasks?mine=1").await;
    let mut bobs_ids = ids(&bobs);
    bobs_ids.sort();
    assert_eq!(bobs_ids, vec![created[52].0, created[53].0, private.0]);

    let past_the_end: Value = list(&app, &ada, "/api/tasks?page=9").await;
    assert!(ids(&past_the_end).is_empty());
    assert_eq!(past_the_end["more"], false);
    // Nonsense in the query means the default view, not an error.
    let res = app
        .get(&ada, "/api/tasks?page=zero&status=nope&mine=x")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(ids(&res.json::<Value>().await.unwrap()), ids(&first));
}

#[tokio::test]
async fn the_rendered_dashboard_shows_one_page_of_its_view_with_links_to_the_next() {
    let (app, ada, _bob, _created, _private) = seeded().await;

    let html = app.page_html(&ada, "/").await;
    assert_eq!(html.matches(r#"data-testid="task-row""#).count(), PAGE_SIZE);
    assert!(
        html.contains(r#"href="/?page=2""#),
        "a link to the older page"
    );
    assert!(
        !html.contains(r#"rel="prev""#),
        "the first page has no newer one"
    );
    // The same rows, in the same order, as the list's first page over HTTP. (Which
    // tasks those are depends on when each one's pipeline finished.)
    let first = list(&app, &ada, "/api/tasks").await;
    assert_eq!(row_ids(&html), ids(&first));

    let html = app.page_html(&ada, "/?page=2").await;
    assert_eq!(html.matches(r#"data-testid="task-row""#).count(), 4);
    assert!(html.contains(r#"href="/""#) && html.contains(r#"rel="prev""#));

    let html = app.page_html(&ada, "/?status=needs_clarification").await;
    assert_eq!(html.matches(r#"data-testid="task-row""#).count(), 2);
    assert!(html.matches(r#"data-status="needs_clarification""#).count() >= 2);
    assert!(
        html.contains(r#"aria-current="page""#),
        "the status card of the view is marked as current"
    );

    let html = app.page_html(&ada, "/?status=failed").await;
    assert!(
        html.contains(r#"data-testid="clear-filters""#),
        "an empty view offers a way out"
    );
}

#[tokio::test]
async fn a_socket_snapshot_holds_the_newest_page_and_every_count() {
    let (app, ada, _bob, _created, _private) = seeded().await;
    let mut ws = app.ws(&ada).await;
    ws.join_dashboard(None).await;
    let frame = ws
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await;
    let ServerMsg::DashboardState(state) = frame.msg else {
        unreachable!()
    };
    assert_eq!(state.tasks.len(), PAGE_SIZE);
    assert_eq!(state.counts.total(), 54);
    let first = list(&app, &ada, "/api/tasks").await;
    assert_eq!(
        state.tasks.iter().map(|t| t.id.0).collect::<Vec<_>>(),
        ids(&first),
        "the snapshot is the list's first page, in its order"
    );
    assert!(state
        .tasks
        .windows(2)
        .all(|w| w[0].last_seq > w[1].last_seq));
}
