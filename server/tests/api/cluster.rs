//! Several server processes on one Postgres: every client, on any of them, sees every
//! event once and in the one order of the log; a process killed mid-stream loses
//! nobody anything, and the pipeline work it held is finished by another.
//!
//! These start the real `server` binary, twice, on a database of the test Postgres
//! (`TASKWIRE_TEST_POSTGRES_URL`; scripts/test.sh starts one). Without one they are
//! skipped, except under `CI=true`, where that is a failure.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use shared_protocol::*;

use crate::helpers::*;
use crate::process::ServerProcess;

/// A fresh database on the test Postgres, or `None` (skip) without one.
async fn cluster_database(dir: &std::path::Path) -> Option<String> {
    let url = postgres_database(dir).await;
    if url.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs the cluster tests: set TASKWIRE_TEST_POSTGRES_URL (scripts/test.sh does)"
        );
        eprintln!("skipped: no TASKWIRE_TEST_POSTGRES_URL");
    }
    url
}

/// Two servers on a fresh database of the test Postgres (with `env_a` and `env_b` on
/// top), or `None` (skip) without one. The temp dir holds their data directories.
async fn two_servers(
    env_a: &[(&str, &str)],
    env_b: &[(&str, &str)],
) -> Option<(tempfile::TempDir, String, ServerProcess, ServerProcess)> {
    let dir = tempfile::tempdir().unwrap();
    let url = cluster_database(dir.path()).await?;
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = tokio::join!(
        ServerProcess::start(&url, &dir_a, env_a),
        ServerProcess::start(&url, &dir_b, env_b),
    );
    Some((dir, url, a, b))
}

async fn signup(http: &reqwest::Client, server: &ServerProcess, name: &str) -> TestUser {
    signup_at(http, &server.url(""), name).await
}

/// Creates a task through `server`; `None` if the server is gone (killed).
async fn create(
    http: &reqwest::Client,
    server_url: &str,
    user: &TestUser,
    title: &str,
) -> Option<TaskId> {
    let res = http
        .post(format!("{server_url}/api/tasks"))
        .bearer_auth(&user.token)
        .json(&json!({ "title": title, "description": ACTIONABLE }))
        .send()
        .await
        .ok()?;
    assert_eq!(res.status(), 201, "create {title}");
    let body: Value = res.json().await.unwrap();
    Some(TaskId(body["task"]["id"].as_i64().unwrap()))
}

/// The dashboard's seq after a fresh join, and the socket.
async fn dashboard_client(port: u16, user: &TestUser, since: Option<Seq>) -> (WsClient, Seq) {
    let mut ws = WsClient::connect(port, user).await;
    ws.join_dashboard(since).await;
    if let Some(since) = since {
        return (ws, since);
    }
    let state = ws
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await;
    (ws, state.seq.expect("a snapshot carries its seq"))
}

/// Row frames' seqs until the one at `last` (or the socket goes quiet for 10 s).
async fn rows_until(ws: &mut WsClient, last: Seq) -> Vec<Seq> {
    let mut seqs = Vec::new();
    while seqs.last().is_none_or(|s| *s < last) {
        let Some(frame) = ws.try_next(Duration::from_secs(10)).await else {
            break;
        };
        if let (ServerMsg::TaskListUpdated(_), Some(seq)) = (&frame.msg, frame.seq) {
            seqs.push(seq);
        }
    }
    seqs
}

/// Waits until every task of the log is `dispatched`; the log's last seq then.
pub(crate) async fn settled(pool: &server::db::Pool, tasks: usize) -> Seq {
    for _ in 0..300 {
        let (dispatched, total): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status = 'dispatched' THEN 1 ELSE 0 END), 0), COUNT(*) FROM tasks",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if total as usize == tasks && dispatched == total {
            let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM events")
                .fetch_one(pool)
                .await
                .unwrap();
            return last as Seq;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tasks did not all reach dispatched");
}

/// The log is gap-free from 1, and each task went through each pipeline step once.
pub(crate) async fn assert_log_is_whole(pool: &server::db::Pool, last: Seq) {
    assert_log_is_whole_except(pool, last, "").await;
}

/// Like [`assert_log_is_whole`], where events of kind `repeats` may repeat (notes).
async fn assert_log_is_whole_except(pool: &server::db::Pool, last: Seq, repeats: &str) {
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM events ORDER BY seq")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(
        seqs,
        (1..=last as i64).collect::<Vec<_>>(),
        "gap-free from 1"
    );
    let repeated: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT task_id, kind, COUNT(*) FROM events WHERE kind <> $1 \
         GROUP BY task_id, kind HAVING COUNT(*) > 1",
    )
    .bind(repeats)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(repeated.is_empty(), "a step ran twice: {repeated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_give_every_client_every_event_in_one_order() {
    let Some((_dir, url, a, b)) = two_servers(&[], &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    // Signed up on one, signed in on both: the servers share the signing key.
    let ada = signup(&http, &a, "ada").await;
    let grace = signup(&http, &b, "grace").await;

    let mut clients = Vec::new();
    for (server, user) in [(&a, &ada), (&a, &grace), (&b, &ada), (&b, &grace)] {
        clients.push(dashboard_client(server.port, user, None).await);
    }
    let start = clients[0].1;

    const PER_SERVER: usize = 60;
    let creates = (0..PER_SERVER).flat_map(|i| {
        [(&a, &ada, format!("a{i}")), (&b, &grace, format!("b{i}"))].map(|(server, user, title)| {
            let http = http.clone();
            let url = server.url("");
            let user = user.clone();
            async move { create(&http, &url, &user, &title).await }
        })
    });
    let created = futures::future::join_all(creates).await;
    assert!(created.iter().all(Option::is_some));

    let pool = server::db::connect(&url).await.unwrap();
    let last = settled(&pool, 2 * PER_SERVER).await;
    assert_log_is_whole(&pool, last).await;
    assert!(
        last >= start + (2 * PER_SERVER * 3) as Seq,
        "created, analysing, dispatched each"
    );

    for (i, (ws, joined)) in clients.iter_mut().enumerate() {
        let seqs = rows_until(ws, last).await;
        assert_eq!(
            seqs,
            (*joined + 1..=last).collect::<Vec<_>>(),
            "client {i}: every event once, in the log's order\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nobody_anything_and_its_pipeline_work_is_finished_elsewhere() {
    // Server a analyses slowly, so it is holding pipeline steps when it is killed; its
    // leases run out after a second.
    let Some((_dir, url, mut a, b)) = two_servers(
        &[
            ("TASKWIRE_ANALYSIS_DELAY_MS", "600000"),
            ("TASKWIRE_PIPELINE_LEASE_SECS", "1"),
        ],
        &[("TASKWIRE_PIPELINE_LEASE_SECS", "1")],
    )
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();
    let ada = signup(&http, &a, "ada").await;
    let (mut on_a, joined_a) = dashboard_client(a.port, &ada, None).await;
    let (mut on_b, joined_b) = dashboard_client(b.port, &ada, None).await;

    // Creates go to both, as a load balancer would send them, until a is killed;
    // then the rest go to b.
    let pool = server::db::connect(&url).await.unwrap();
    let mut held_by_a = Vec::new();
    for i in 0..40 {
        if i == 20 {
            // a holds its tasks mid-analysis (and would for minutes).
            let analysing: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE status = 'analyzing'")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert!(analysing > 0, "a holds tasks mid-analysis");
            a.kill();
        }
        let target = if i % 2 == 0 { &a } else { &b };
        let title = format!("t{i}");
        match create(&http, &target.url(""), &ada, &title).await {
            Some(id) => {
                if i % 2 == 0 {
                    held_by_a.push(id);
                }
            }
            None => {
                create(&http, &b.url(""), &ada, &title)
                    .await
                    .expect("b is up");
            }
        }
    }
    assert_eq!(held_by_a.len(), 10, "a took creates until it was killed");

    // a's client saw some rows, then lost its server; it reconnects to b with `since`.
    let mut seen_on_a = Vec::new();
    while let Some(frame) = on_a.try_next(Duration::from_millis(200)).await {
        if let (ServerMsg::TaskListUpdated(_), Some(seq)) = (&frame.msg, frame.seq) {
            seen_on_a.push(seq);
        }
    }
    let resume_from = seen_on_a.last().copied().unwrap_or(joined_a);

    let last = settled(&pool, 40).await;
    assert_log_is_whole(&pool, last).await;
    for id in &held_by_a {
        let dispatches: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM events WHERE task_id = $1 AND kind = 'task:dispatched'",
        )
        .bind(id.0)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(dispatches.len(), 1, "task {id} dispatched once, by b");
    }

    let (mut moved, _) = dashboard_client(b.port, &ada, Some(resume_from)).await;
    let mut all = seen_on_a.clone();
    all.extend(rows_until(&mut moved, last).await);
    assert_eq!(
        all,
        (joined_a + 1..=last).collect::<Vec<_>>(),
        "the moved client missed nothing and saw nothing twice\n{}",
        b.log_text()
    );
    assert_eq!(
        rows_until(&mut on_b, last).await,
        (joined_b + 1..=last).collect::<Vec<_>>(),
        "b's own client saw it all"
    );
    let distinct: BTreeSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len());
}

/// Sessions listening for commits on the database of `pool`.
async fn listeners(pool: &server::db::Pool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_commit_listener_reconnects_and_nothing_is_missed_meanwhile() {
    // No poll to fall back on: what b learns, it learns through its listener.
    let no_poll = [("TASKWIRE_LOG_POLL_SECS", "3600")];
    let Some((_dir, url, a, b)) = two_servers(&no_poll, &no_poll).await else {
        return;
    };
    let http = reqwest::Client::new();
    let ada = signup(&http, &a, "ada").await;
    let (mut on_b, joined) = dashboard_client(b.port, &ada, None).await;
    let pool = server::db::connect(&url).await.unwrap();
    let mut before = listeners(&pool).await;
    for _ in 0..50 {
        if before.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        before = listeners(&pool).await;
    }
    assert_eq!(before.len(), 2, "one listener per server");

    // Cut both listeners, then write through a while they are down.
    for pid in &before {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&pool)
            .await
            .unwrap();
    }
    for i in 0..5 {
        create(&http, &a.url(""), &ada, &format!("t{i}"))
            .await
            .unwrap();
    }
    let last = settled(&pool, 5).await;
    assert_eq!(
        rows_until(&mut on_b, last).await,
        (joined + 1..=last).collect::<Vec<_>>(),
        "b's client got every event, though its listener was cut while they were made"
    );
    let mut after = Vec::new();
    for _ in 0..100 {
        after = listeners(&pool).await;
        if after.len() == 2 && after.iter().all(|pid| !before.contains(pid)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after.len(), 2, "both listeners are back");
    assert!(
        after.iter().all(|pid| !before.contains(pid)),
        "on new connections"
    );

    // And b's listener carries on: the next event reaches b without any poll.
    create(&http, &a.url(""), &ada, "after").await.unwrap();
    let last = settled(&pool, 6).await;
    let frames = rows_until(&mut on_b, last).await;
    assert_eq!(frames.last(), Some(&last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_on_one_server_closes_the_users_sockets_on_the_other() {
    let Some((_dir, _url, a, b)) = two_servers(&[], &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    let ada = signup(&http, &a, "ada").await;
    let grace = signup(&http, &a, "grace").await;
    let mut adas = WsClient::connect(b.port, &ada).await;
    let mut graces = WsClient::connect(b.port, &grace).await;

    let res = http
        .post(a.url("/api/auth/logout"))
        .bearer_auth(&ada.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let (_, code) = crate::auth::until_closed(&mut adas).await;
    assert_eq!(
        code,
        Some(close_code::AUTH_EXPIRED),
        "ada's socket on b closed"
    );
    // Nobody else's.
    graces.join_dashboard(None).await;
    graces
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_one_session_on_one_server_closes_its_sockets_on_the_other_only() {
    let Some((_dir, _url, a, b)) = two_servers(&[], &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    let laptop = signup(&http, &a, "ada").await;
    let phone = login_at(&http, &a.url(""), "ada").await;
    let mut laptops = WsClient::connect(b.port, &laptop).await;
    let mut phones = WsClient::connect(b.port, &phone).await;

    let res = http
        .delete(a.url("/api/auth/session"))
        .bearer_auth(&laptop.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    let (_, code) = crate::auth::until_closed(&mut laptops).await;
    assert_eq!(
        code,
        Some(close_code::AUTH_EXPIRED),
        "the session's socket on b closed"
    );
    // The same user's other session goes on.
    phones.join_dashboard(None).await;
    phones
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_or_a_retried_action_sent_to_both_servers_counts_once() {
    let Some((_dir, url, a, b)) = two_servers(&[], &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    let ada = signup(&http, &a, "ada").await;

    // The same create, with one Idempotency-Key, to both servers at once (a client
    // retrying through a balancer): one task, and both answers name it.
    let create = |server: &ServerProcess| {
        http.post(server.url("/api/tasks"))
            .bearer_auth(&ada.token)
            .header("idempotency-key", "create-once-across-servers")
            .json(&json!({ "title": "Once", "description": ACTIONABLE }))
            .send()
    };
    let (first, second) = tokio::join!(create(&a), create(&b));
    let mut ids = Vec::new();
    for res in [first.unwrap(), second.unwrap()] {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        // The slower of two racing requests is told the first is still running.
        if status == 409 {
            assert_eq!(body["error"]["code"], "request_in_progress", "{body}");
            continue;
        }
        assert_eq!(status, 201, "{body}");
        ids.push(body["task"]["id"].as_i64().unwrap());
    }
    let replay: Value = create(&b).await.unwrap().json().await.unwrap();
    ids.push(replay["task"]["id"].as_i64().unwrap());
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one task: {ids:?}");
    let pool = server::db::connect(&url).await.unwrap();
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tasks, 1);

    // One GitHub delivery, redelivered to the other server at the same moment.
    let secret: String =
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'webhook.secret'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_vec();
    let deliver = |server: &ServerProcess| {
        http.post(server.url("/api/webhooks/github"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", "delivery-once-across-servers")
            .header(
                "x-hub-signature-256",
                server::pipeline::webhook::sign(secret.as_bytes(), &body),
            )
            .body(body.clone())
            .send()
    };
    let (first, second) = tokio::join!(deliver(&a), deliver(&b));
    let mut outcomes = Vec::new();
    for res in [first.unwrap(), second.unwrap()] {
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        outcomes.push(body["status"].as_str().unwrap().to_owned());
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        ["duplicate", "pong"],
        "processed by one server only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_one_task_on_two_servers_at_once_are_all_kept() {
    let Some((_dir, url, a, b)) = two_servers(&[], &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    let ada = signup(&http, &a, "ada").await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            create(&http, &a.url(""), &ada, &format!("t{i}"))
                .await
                .unwrap(),
        );
    }
    let pool = server::db::connect(&url).await.unwrap();
    settled(&pool, ids.len()).await;

    // On each task, a status change through a while notes go through b: a server that
    // wrote back a copy of the task read before the other's change would undo it.
    let report = |server: &ServerProcess, id: TaskId, body: Value| {
        http.post(server.url(&format!("/api/tasks/{id}/status")))
            .bearer_auth(&ada.token)
            .json(&body)
            .send()
    };
    let changes = ids.iter().flat_map(|id| {
        std::iter::once(report(&a, *id, json!({ "status": "coding" })))
            .chain((0..4).map(|n| report(&b, *id, json!({ "note": format!("note {n}") }))))
    });
    for res in futures::future::join_all(changes).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    for id in &ids {
        let (status, notes): (String, i64) = sqlx::query_as(
            "SELECT t.status, (SELECT COUNT(*) FROM events e WHERE e.task_id = t.id AND e.kind = 'task:event_added') \
             FROM tasks t WHERE t.id = $1",
        )
        .bind(id.0)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!((status.as_str(), notes), ("coding", 4), "task {id}");
    }
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_log_is_whole_except(&pool, last as Seq, "task:event_added").await;
}

/// A password change is stored with the end of every session and its announcement to
/// the other servers, or not at all: were the announcement to fail after the change,
/// sockets on the other servers would stay open on a password that no longer holds.
#[tokio::test]
async fn a_password_change_that_cannot_be_announced_is_not_made() {
    use server::db::users::{self, SessionsEnd};
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = cluster_database(dir.path()).await else {
        return;
    };
    let pool = server::db::connect(&url).await.unwrap();
    let ada = account_in(&pool, "ada", "acme").await;
    let stored = |pool: server::db::Pool| async move {
        let row = users::find_by_id(&pool, ada.id).await.unwrap().unwrap();
        (row.password_hash, row.token_version)
    };
    let before = stored(pool.clone()).await;

    // Postgres refuses a notification on a channel without a name.
    let refused = users::end_sessions(
        &pool,
        ada.id,
        SessionsEnd::Password("another hash"),
        Some(("", "1")),
    )
    .await;
    assert!(refused.is_err(), "the announcement fails");
    assert_eq!(stored(pool.clone()).await, before, "and nothing changed");

    users::end_sessions(
        &pool,
        ada.id,
        SessionsEnd::Password("another hash"),
        Some(("taskwire_revoked", "1")),
    )
    .await
    .unwrap();
    let after = stored(pool.clone()).await;
    assert_eq!(after.0, "another hash");
    assert_eq!(after.1, before.1 + 1, "every token issued before is void");
}

#[tokio::test]
async fn a_join_that_cannot_be_announced_spends_no_invite() {
    use server::db::teams::{create_invite, find_invite};
    use server::db::users::{self, SessionsEnd};
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = cluster_database(dir.path()).await else {
        return;
    };
    let pool = server::db::connect(&url).await.unwrap();
    let ada = account_in(&pool, "ada", "acme").await;
    let grace = account_in(&pool, "grace", "globex").await;
    let now = server::db::now_millis();
    let invite = create_invite(&pool, ada.org_id, ada.id, now, now + 3_600_000)
        .await
        .unwrap();

    // Postgres refuses a notification on a channel without a name.
    let refused = users::end_sessions(
        &pool,
        grace.id,
        SessionsEnd::Invite(&invite),
        Some(("", "1")),
    )
    .await;
    assert!(refused.is_err(), "the announcement fails");
    let after = users::find_by_id(&pool, grace.id).await.unwrap().unwrap();
    assert_eq!(
        (after.org_id, after.token_version),
        (grace.org_id, grace.token_version)
    );
    assert!(
        find_invite(&pool, &invite, now).await.unwrap().is_some(),
        "and the invite is still open"
    );

    let joined = users::end_sessions(
        &pool,
        grace.id,
        SessionsEnd::Invite(&invite),
        Some(("taskwire_revoked", "1")),
    )
    .await
    .unwrap();
    assert!(joined);
    let after = users::find_by_id(&pool, grace.id).await.unwrap().unwrap();
    assert_eq!(after.org_id, ada.org_id);
    assert!(find_invite(&pool, &invite, now).await.unwrap().is_none());
}
