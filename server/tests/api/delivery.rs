//! Delivery when clients misbehave or the server dies: a client that stops reading is
//! cut with `slow_consumer` without holding anyone else up, and resyncs whole; clients
//! that keep dropping and rejoining miss nothing, also across a `kill -9` and restart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use shared_protocol::*;
use tokio::sync::watch;
use tokio_tungstenite::MaybeTlsStream;

use crate::cluster::{assert_log_is_whole, settled};
use crate::helpers::*;
use crate::process::ServerProcess;

/// What a dashboard shows: the browser's own reducer, fed the frames a client got.
type Rows = shared_protocol::reducer::DashboardView;

fn apply(rows: &mut Rows, frame: &ServerFrame) {
    rows.apply(frame);
}

/// The rows and counts a person would see.
fn shown(rows: &Rows) -> (Vec<TaskSummary>, StatusCounts) {
    (rows.ordered_rows(), rows.counts.clone())
}

/// A socket whose receive buffer is as small as the kernel allows: once it stops
/// reading, the server's writes back up after a few kilobytes.
async fn cramped_client(port: u16, user: &TestUser) -> WsClient {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let request = ws_request(port, user);
    let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrade");
    let mut client = WsClient { stream };
    assert!(matches!(client.next().await.msg, ServerMsg::Hello(_)));
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_without_slowing_others_and_resyncs_whole() {
    let app = spawn_app_with(|s| {
        s.ws.queue_capacity = 32;
        s.actions_per_minute = 100_000;
        s.action_burst = 10_000;
        // The server waits for a silent peer (and for a cut one to take its goodbye) as
        // long as this. The slow client reads only after every task has been created
        // and dispatched, which on a busy machine can take longer than the default.
        s.ws.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;

    let mut slow = cramped_client(app.port, &bob).await;
    slow.join_dashboard(None).await;
    let mut slow_rows = Rows::default();
    let snapshot = slow
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await;
    apply(&mut slow_rows, &snapshot);
    let mut slow_seq = snapshot.seq.unwrap();

    // The fast client reads everything as it comes, on its own task, until told the
    // log's last seq.
    let mut fast = app.ws(&carol).await;
    fast.join_dashboard(None).await;
    let fast_start = fast
        .until(|f| matches!(f.msg, ServerMsg::DashboardState(_)))
        .await
        .seq
        .unwrap();
    let (last_tx, mut last_rx) = watch::channel(Seq::MAX);
    let fast_reader = tokio::spawn(async move {
        let (mut seqs, mut rows) = (Vec::new(), Rows::default());
        loop {
            let last = *last_rx.borrow_and_update();
            if seqs.last().is_some_and(|s| *s >= last) {
                break;
            }
            tokio::select! {
                frame = fast.try_next(Duration::from_secs(30)) => {
                    let Some(frame) = frame else { break };
                    if let (ServerMsg::TaskListUpdated(_), Some(seq)) = (&frame.msg, frame.seq) {
                        seqs.push(seq);
                    }
                    apply(&mut rows, &frame);
                }
                _ = last_rx.changed() => {}
            }
        }
        (seqs, rows)
    });

    // Long titles, so the stalled socket's buffers (the kernel lets them grow to a few
    // megabytes) fill sooner.
    let title = |n: usize| {
        format!(
            "{n:03} {}",
            "slow consumers are cut, not waited for ".repeat(4)
        )
    };
    let members = || async { app.state.rooms.dashboard().members().await };
    assert_eq!(members().await, 2);
    let mut created = 0;
    while members().await == 2 {
        // The server's send buffer (`TASKWIRE_SEND_BUFFER_BYTES`, 128 KiB by default)
        // bounds what the stalled client holds: about 130 tasks' frames here, where a
        // buffer the kernel sizes took some 1,700.
        assert!(
            created < 600,
            "the stalled client was not cut once its send buffer was full"
        );
        app.create_task(&ada, &title(created)).await;
        created += 1;
    }
    // And some it cannot have had on that socket at all.
    for _ in 0..5 {
        app.create_task(&ada, &title(created)).await;
        created += 1;
    }
    let pool = app.pool().await;
    let last = settled(&pool, created).await;
    assert_log_is_whole(&pool, last).await;
    last_tx.send(last).unwrap();

    // The fast client had everything while the slow one still was not reading.
    let (fast_seqs, fast_rows) = fast_reader.await.unwrap();
    assert_eq!(
        fast_seqs,
        (fast_start + 1..=last).collect::<Vec<_>>(),
        "the fast client got every event once, in order"
    );
    assert_eq!(fast_rows.len(), created.min(PAGE_SIZE));

    // The slow client reads at last: an unbroken run of what fit, then the reason.
    let mut told = None;
    while let Some(frame) = slow.try_next(Duration::from_secs(10)).await {
        if let ServerMsg::Error(error) = &frame.msg {
            told = Some(error.code);
            continue;
        }
        if let (ServerMsg::TaskListUpdated(_), Some(seq)) = (&frame.msg, frame.seq) {
            assert_eq!(
                seq,
                slow_seq + 1,
                "what did reach the slow client has no gap"
            );
            slow_seq = seq;
        }
        apply(&mut slow_rows, &frame);
    }
    assert_eq!(told, Some(ErrorCode::SlowConsumer), "{}", logs_and_frames());
    assert!(slow_seq < last, "the slow client missed some events");

    // It comes back from where it was and ends up where everyone else is.
    let mut back = app.ws(&bob).await;
    back.join_dashboard(Some(slow_seq)).await;
    while slow_seq < last {
        let frame = back.next().await;
        apply(&mut slow_rows, &frame);
        if let Some(seq) = frame.seq {
            slow_seq = slow_seq.max(seq);
        }
    }
    assert_eq!(shown(&slow_rows), shown(&fast_rows), "nothing was lost");
}

/// A dashboard socket that drops and rejoins with `since` every `every`, through
/// whatever happens to the server, until it has seen `last`.
struct Dropper {
    /// Row frames' seqs, in the order they came.
    seqs: Vec<Seq>,
    /// The seq of the first join's snapshot.
    start: Seq,
    joins: u32,
    /// Snapshots after the first join: a gap that was not replayed.
    snapshots: u32,
}

/// A signed-in socket, or `None` while the server is down.
async fn connect(port: u16, user: &TestUser) -> Option<WsClient> {
    let (stream, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(ws_request(port, user)),
    )
    .await
    .ok()?
    .ok()?;
    let mut client = WsClient { stream };
    let hello = client.try_next(Duration::from_secs(5)).await?;
    matches!(hello.msg, ServerMsg::Hello(_)).then_some(client)
}

async fn drop_and_rejoin(
    port: u16,
    user: TestUser,
    every: Duration,
    mut last: watch::Receiver<Seq>,
) -> Dropper {
    let mut d = Dropper {
        seqs: Vec::new(),
        start: 0,
        joins: 0,
        snapshots: 0,
    };
    let mut since: Option<Seq> = None;
    // Clients are spread over the interval rather than dropping together.
    let mut stay = every.mul_f64(0.2 + 0.8 * rand_fraction());
    while since.is_none_or(|s| s < *last.borrow()) {
        let Some(mut ws) = connect(port, &user).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        ws.join_dashboard(since).await;
        d.joins += 1;
        let until = tokio::time::Instant::now() + stay;
        stay = every;
        loop {
            let target = *last.borrow_and_update();
            if since.is_some_and(|s| s >= target) {
                break;
            }
            let frame = tokio::select! {
                frame = tokio::time::timeout_at(until, ws.stream.next()) => frame,
                _ = last.changed() => continue,
            };
            // Time to drop, or the server went away: either way, rejoin.
            let Ok(Some(Ok(message))) = frame else { break };
            let tokio_tungstenite::tungstenite::Message::Text(text) = message else {
                continue;
            };
            let frame = ServerFrame::decode(&text).expect("server frames decode");
            match (&frame.msg, frame.seq) {
                (ServerMsg::DashboardState(_), Some(seq)) => {
                    if d.joins == 1 {
                        d.start = seq;
                    } else {
                        d.snapshots += 1;
                    }
                    since = Some(seq);
                }
                (ServerMsg::TaskListUpdated(_), Some(seq)) => {
                    d.seqs.push(seq);
                    since = Some(seq);
                }
                _ => {}
            }
        }
        let _ = ws.stream.close(None).await;
    }
    d
}

fn rand_fraction() -> f64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (h % 10_000) as f64 / 10_000.0
}

/// Creates task `n`, retrying with the same `Idempotency-Key` until the server
/// answers: it may be down, or may have died after committing.
async fn create_until_answered(http: &reqwest::Client, port: u16, user: &TestUser, n: usize) {
    for _ in 0..600 {
        let res = http
            .post(format!("http://127.0.0.1:{port}/api/tasks"))
            .bearer_auth(&user.token)
            .header("idempotency-key", format!("drops-{n}"))
            .json(&json!({ "title": format!("drop {n}"), "description": ACTIONABLE }))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match res {
            Ok(res) if res.status().is_success() => return,
            // The first try's server died mid-action: its claim is taken over soon.
            Ok(res) if res.status() == 409 => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(res) => {
                let status = res.status();
                let body: Value = res.json().await.unwrap_or_default();
                panic!("create {n} answered {status}: {body}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("create {n} never got an answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_keep_dropping_miss_nothing_across_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path()).await;
    let mut server = ServerProcess::start(&url, &dir.path().join("data"), &[]).await;
    let port = server.port;
    let http = reqwest::Client::new();
    let mut users = Vec::new();
    for name in ["ada", "grace", "linus"] {
        users.push(signup_at(&http, &server.url(""), name).await);
    }

    const CLIENTS: usize = 24;
    const TASKS: usize = 60;
    let (last_tx, last_rx) = watch::channel(Seq::MAX);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let user = users[i % users.len()].clone();
            tokio::spawn(drop_and_rejoin(
                port,
                user,
                Duration::from_millis(1500),
                last_rx.clone(),
            ))
        })
        .collect();

    // Creates flow at about 20 a second from several writers; a third of the way in,
    // the server is killed and started again while creates and pipeline steps are in
    // flight.
    let done = Arc::new(AtomicU64::new(0));
    let producer = {
        let (http, user, done) = (http.clone(), users[0].clone(), done.clone());
        tokio::spawn(async move {
            let writers = (0..4).map(|w| {
                let (http, user, done) = (http.clone(), user.clone(), done.clone());
                async move {
                    for n in (w..TASKS).step_by(4) {
                        create_until_answered(&http, port, &user, n).await;
                        done.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            });
            futures::future::join_all(writers).await;
        })
    };
    while done.load(Ordering::Relaxed) < (TASKS / 3) as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = server.restart().await;
    producer.await.unwrap();

    let pool = server::db::connect(&url).await.unwrap();
    let last = settled(&pool, TASKS).await;
    assert_log_is_whole(&pool, last).await;
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM tasks ORDER BY title")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut expected: Vec<String> = (0..TASKS).map(|n| format!("drop {n}")).collect();
    expected.sort();
    assert_eq!(titles, expected, "every create applied exactly once");

    last_tx.send(last).unwrap();
    for (i, client) in clients.into_iter().enumerate() {
        let d = tokio::time::timeout(Duration::from_secs(60), client)
            .await
            .unwrap_or_else(|_| panic!("client {i} never caught up\n{}", server.log_text()))
            .unwrap();
        assert_eq!(
            d.seqs,
            (d.start + 1..=last).collect::<Vec<_>>(),
            "client {i}: every event once, in order"
        );
        assert!(
            d.joins >= 3,
            "client {i} dropped and rejoined: {} joins",
            d.joins
        );
        assert_eq!(d.snapshots, 0, "client {i}: short gaps are replayed");
    }
}
