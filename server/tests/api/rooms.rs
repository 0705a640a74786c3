//! Room actors, driven directly: the slow-consumer policy and task-room lifecycle.

use std::sync::Arc;
use std::time::Duration;

use server::rooms::dashboard::DashboardHandle;
use server::rooms::member::{MemberHandle, Outgoing};
use server::rooms::sequencer::Published;
use server::tasks::Visibility;
use shared_protocol::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn summary(id: i64, seq: Seq) -> TaskSummary {
    TaskSummary {
        id: TaskId(id),
        title: format!("t{id}"),
        status: TaskStatus::Received,
        creator: UserRef {
            id: UserId(1),
            name: "ada".into(),
        },
        created_at: 0,
        updated_at: seq as i64,
        last_seq: seq,
        private: false,
    }
}

const PUBLIC: Visibility = Visibility {
    creator_id: 1,
    org_id: 1,
    private: false,
};

fn published(seq: Seq) -> Arc<Published> {
    let msg = ServerMsg::EventAdded(EventAdded {
        meta: EventMeta {
            task_id: TaskId(1),
            at: 0,
            actor: None,
            task: summary(1, seq),
        },
        text: format!("note {seq}"),
    });
    Arc::new(Published::new(seq, TaskId(1), msg, 1).unwrap())
}

/// `task:created` for task `id`, at `seq`.
fn created(id: i64, seq: Seq) -> Arc<Published> {
    let msg = ServerMsg::TaskCreated(TaskCreated {
        meta: EventMeta {
            task_id: TaskId(id),
            at: 0,
            actor: None,
            task: summary(id, seq),
        },
        description: String::new(),
    });
    Arc::new(Published::new(seq, TaskId(id), msg, 1).unwrap())
}

async fn pool() -> server::db::Pool {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::database_url(dir.path()).await;
    let pool = server::db::connect(&url).await.unwrap();
    std::mem::forget(dir);
    pool
}

fn member(conn_id: u64, tx: mpsc::Sender<Outgoing>, lagged: CancellationToken) -> MemberHandle {
    MemberHandle::new(
        conn_id,
        UserRef {
            id: UserId(conn_id as i64),
            name: format!("user{conn_id}"),
        },
        1,
        tx,
        lagged,
    )
}

/// A queued frame, decoded: rooms queue frames only.
fn decode(queued: Outgoing) -> ServerFrame {
    ServerFrame::decode(&queued.frame().expect("a room queued a ping")).unwrap()
}

/// The seqs of the row frames queued for a member, taking them off its queue.
fn row_seqs(rx: &mut mpsc::Receiver<Outgoing>) -> Vec<Seq> {
    let mut seqs = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        let frame = decode(frame);
        if matches!(frame.msg, ServerMsg::TaskListUpdated(_)) {
            seqs.push(frame.seq.unwrap());
        }
    }
    seqs
}

/// A dashboard room with one task, whose changes wait up to `hold` for company.
async fn room_holding(hold: Duration) -> DashboardHandle {
    DashboardHandle::new(pool().await, vec![(summary(1, 0), PUBLIC)], 0, 1000, hold)
}

/// Joins a member with room to spare (since `since`); returns its queue.
async fn join_fast(room: &DashboardHandle, conn_id: u64, since: Seq) -> mpsc::Receiver<Outgoing> {
    let (tx, rx) = mpsc::channel(64);
    room.join(member(conn_id, tx, CancellationToken::new()), Some(since))
        .await
        .unwrap();
    rx
}

#[tokio::test]
async fn a_member_that_cannot_keep_up_is_dropped_and_told_not_left_to_grow() {
    let room = room_holding(Duration::ZERO).await;
    let (tx, mut rx) = mpsc::channel(4);
    let lagged = CancellationToken::new();
    room.join(member(1, tx, lagged.clone()), None)
        .await
        .unwrap();
    assert_eq!(room.members().await, 1);
    for seq in 1..=10 {
        room.publish(vec![published(seq)]).await;
    }
    assert_eq!(room.members().await, 0, "the slow member was removed");
    assert!(lagged.is_cancelled(), "the connection is told to close");
    let mut queued = 0;
    while rx.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, 4, "memory stayed bounded by the queue");
}

#[tokio::test]
async fn a_fast_member_gets_every_event_once_in_order() {
    let room = room_holding(Duration::ZERO).await;
    let mut rx = join_fast(&room, 1, 0).await;
    for seq in 1..=5 {
        room.publish(vec![published(seq)]).await;
    }
    room.publish(vec![published(3)]).await;
    let _ = room.members().await;
    assert_eq!(row_seqs(&mut rx), vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_batch_reaches_every_member_in_seq_order_and_one_cut_in_it_gets_nothing_after() {
    let room = room_holding(Duration::ZERO).await;
    let mut fast = join_fast(&room, 1, 0).await;
    let mut other = join_fast(&room, 2, 0).await;
    let (slow_tx, mut slow) = mpsc::channel(2);
    let slow_lagged = CancellationToken::new();
    room.join(member(3, slow_tx, slow_lagged.clone()), Some(0))
        .await
        .unwrap();
    // Whatever the join queued (the counts) is not part of what is checked.
    row_seqs(&mut fast);
    row_seqs(&mut other);
    row_seqs(&mut slow);

    room.publish((1..=3).map(published).collect()).await;
    assert_eq!(
        room.members().await,
        2,
        "the member whose queue holds two frames could not take three"
    );
    assert!(
        slow_lagged.is_cancelled(),
        "and its connection is told to close"
    );
    room.publish(vec![published(4)]).await;
    let _ = room.members().await;
    assert_eq!(row_seqs(&mut fast), vec![1, 2, 3, 4]);
    assert_eq!(row_seqs(&mut other), vec![1, 2, 3, 4]);
    assert_eq!(row_seqs(&mut slow), vec![1, 2], "nothing after it was cut");
}

/// A room whose changes wait for company far longer than any test takes.
async fn holding_room() -> DashboardHandle {
    room_holding(Duration::from_secs(600)).await
}

#[tokio::test]
async fn under_load_a_change_waits_for_the_next_new_task_and_goes_out_first() {
    let room = holding_room().await;
    let mut rx = join_fast(&room, 1, 0).await;
    row_seqs(&mut rx);

    room.publish(vec![created(2, 1)]).await;
    let _ = room.members().await;
    assert_eq!(row_seqs(&mut rx), vec![1], "a new task goes out at once");
    room.publish(vec![published(2)]).await;
    room.publish(vec![published(3)]).await;
    let _ = room.members().await;
    assert_eq!(
        row_seqs(&mut rx),
        Vec::<Seq>::new(),
        "changes right after a send are held"
    );
    room.publish(vec![created(3, 4)]).await;
    let _ = room.members().await;
    assert_eq!(
        row_seqs(&mut rx),
        vec![2, 3, 4],
        "and go out with the next new task, in order"
    );
}

#[tokio::test]
async fn a_held_change_goes_out_alone_when_no_new_task_comes() {
    let room = room_holding(Duration::from_millis(50)).await;
    let mut rx = join_fast(&room, 1, 0).await;
    row_seqs(&mut rx);
    room.publish(vec![created(2, 1)]).await;
    room.publish(vec![published(2)]).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the held change was never sent")
            .unwrap();
        let frame = decode(frame);
        if matches!(frame.msg, ServerMsg::TaskListUpdated(_)) {
            seen.push(frame.seq.unwrap());
        }
    }
    assert_eq!(seen, vec![1, 2]);
}

#[tokio::test]
async fn a_join_sends_what_is_held_first_so_a_member_that_read_it_elsewhere_is_current() {
    let room = holding_room().await;
    let mut first = join_fast(&room, 1, 0).await;
    room.publish(vec![created(2, 1)]).await;
    room.publish(vec![published(2)]).await;
    let _ = room.members().await;
    assert_eq!(row_seqs(&mut first), vec![1], "seq 2 is held");

    // A page read off the log knows seq 2 already.
    let mut rx = join_fast(&room, 2, 2).await;
    assert_eq!(
        row_seqs(&mut first),
        vec![2],
        "the held change went out first"
    );
    let mut joined = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        joined.push(decode(frame).msg);
    }
    assert!(
        !joined.iter().any(|m| matches!(
            m,
            ServerMsg::DashboardState(_) | ServerMsg::TaskListUpdated(_)
        )),
        "answered as current, with neither a snapshot nor a row: {joined:?}"
    );
    room.publish(vec![created(3, 3)]).await;
    let _ = room.members().await;
    assert_eq!(row_seqs(&mut rx), vec![3]);
    assert_eq!(row_seqs(&mut first), vec![3]);
}

#[tokio::test]
async fn a_task_room_stops_when_its_last_member_leaves() {
    let app = crate::helpers::spawn_app().await;
    let ada = app.signup("ada").await;
    let id = app.create_task(&ada, "Retry").await;
    let health = || async {
        let body: serde_json::Value = app.health().await;
        body["rooms"]["taskRooms"].as_u64().unwrap()
    };
    let mut ws = app.ws(&ada).await;
    ws.join_task(id, None).await;
    ws.until(|f| matches!(f.msg, ServerMsg::TaskState(_))).await;
    assert_eq!(health().await, 1);
    ws.send(ClientMsg::TaskLeave(TaskLeave { task_id: id }))
        .await;
    for _ in 0..50 {
        if health().await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the task room did not stop");
}
