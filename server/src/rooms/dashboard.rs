//! The dashboard room: one actor that owns every task's row, the counts, and the
//! dashboard's members.
//!
//! It applies published events in seq order, so answering a join from its own state
//! (snapshot) or from the log up to its own seq (replay) and then adding the member is
//! atomic: the member gets exactly the events after what it was sent.
//!
//! Every member sees only the tasks it may see: rows, counts, snapshots and replays are
//! filtered per member. Counts are kept per org (public tasks) and per creator (private
//! tasks), so a member's counts are the sum of two maps, never a scan of every row.
//!
//! Under load, a change to a task already listed waits a moment (`hold`, 20 ms by
//! default) for the next new task, so that both reach each member in one write rather
//! than two: at 50 creates a second, each followed by its dispatch, that halves the
//! writes per socket. A new task is never held, a change is held only when the room sent
//! something within `hold`, and never for longer than `hold`. A join sends what is held
//! first: the member may know a newer seq than the room's (from a page read off the
//! log), and must find the room at least there to be answered "current" or a replay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Pool;
use shared_protocol::*;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::member::{shared, MemberHandle, SharedFrame};
use super::sequencer::Published;
use super::RoomError;
use crate::db::events;
use crate::tasks::{Viewer, Visibility};

pub enum DashboardCommand {
    Join {
        member: MemberHandle,
        since: Option<Seq>,
        respond_to: oneshot::Sender<Result<(), RoomError>>,
    },
    Leave {
        conn_id: u64,
    },
    /// Events committed together, in seq order.
    Publish(Vec<Arc<Published>>),
    Members {
        respond_to: oneshot::Sender<usize>,
    },
}

/// Cheap to clone; the actor stops when every handle is dropped.
#[derive(Clone)]
pub struct DashboardHandle {
    inbox: mpsc::Sender<DashboardCommand>,
}

impl DashboardHandle {
    /// Starts the actor from a snapshot of every task taken at `seq`. Under load, a change
    /// to a listed task waits up to `hold` to go out with the next new task (zero: never).
    pub fn new(
        pool: Pool,
        rows: Vec<(TaskSummary, Visibility)>,
        seq: Seq,
        replay_limit: u64,
        hold: Duration,
    ) -> Self {
        let (inbox, rx) = mpsc::channel(1024);
        let mut room = DashboardRoom {
            pool,
            rows: HashMap::new(),
            public_counts: HashMap::new(),
            private_counts: HashMap::new(),
            seq,
            members: HashMap::new(),
            replay_limit,
            hold,
            held: Vec::new(),
            held_until: None,
            last_sent: None,
        };
        for (row, visibility) in rows {
            room.counts_for(visibility).shift(None, row.status);
            room.rows.insert(row.id, (row, visibility));
        }
        tokio::spawn(run_dashboard_room(room, rx));
        DashboardHandle { inbox }
    }

    pub async fn join(&self, member: MemberHandle, since: Option<Seq>) -> Result<(), RoomError> {
        let (respond_to, rx) = oneshot::channel();
        self.inbox
            .send(DashboardCommand::Join {
                member,
                since,
                respond_to,
            })
            .await
            .map_err(|_| RoomError::Stopped)?;
        rx.await.map_err(|_| RoomError::Stopped)?
    }

    pub async fn leave(&self, conn_id: u64) {
        let _ = self.inbox.send(DashboardCommand::Leave { conn_id }).await;
    }

    pub async fn publish(&self, events: Vec<Arc<Published>>) {
        let _ = self.inbox.send(DashboardCommand::Publish(events)).await;
    }

    pub async fn members(&self) -> usize {
        let (respond_to, rx) = oneshot::channel();
        if self
            .inbox
            .send(DashboardCommand::Members { respond_to })
            .await
            .is_err()
        {
            return 0;
        }
        rx.await.unwrap_or(0)
    }
}

/// The most events whose frames are queued to each member together. A group is queued
/// to one member at once, so it must stay well below a member's queue (`ws_queue`).
const PUBLISH_GROUP: usize = 16;

struct Member {
    handle: MemberHandle,
    /// Events at or below this seq were already sent (or are in the member's snapshot).
    sent_upto: Seq,
}

struct DashboardRoom {
    pool: Pool,
    rows: HashMap<TaskId, (TaskSummary, Visibility)>,
    /// Public tasks' counts, per org.
    public_counts: HashMap<i64, StatusCounts>,
    /// Private tasks' counts, per creator.
    private_counts: HashMap<i64, StatusCounts>,
    /// The newest seq applied.
    seq: Seq,
    members: HashMap<u64, Member>,
    replay_limit: u64,
    /// The longest a change to a listed task waits for company.
    hold: Duration,
    /// Events waiting for the next new task or for `held_until`, in seq order; not applied.
    held: Vec<Arc<Published>>,
    held_until: Option<Instant>,
    /// When the room last sent events to its members.
    last_sent: Option<Instant>,
}

#[tracing::instrument(name = "dashboard_room", skip_all)]
async fn run_dashboard_room(mut room: DashboardRoom, mut rx: mpsc::Receiver<DashboardCommand>) {
    loop {
        let cmd = match room.held_until {
            Some(deadline) => tokio::select! {
                cmd = rx.recv() => cmd,
                () = tokio::time::sleep_until(deadline) => {
                    room.send_held(Vec::new());
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(cmd) = cmd else { break };
        match cmd {
            DashboardCommand::Join {
                member,
                since,
                respond_to,
            } => {
                if !room.held.is_empty() {
                    room.send_held(Vec::new());
                }
                let result = room.join(member, since).await;
                let _ = respond_to.send(result);
            }
            DashboardCommand::Leave { conn_id } => {
                room.members.remove(&conn_id);
            }
            DashboardCommand::Publish(events) => room.offer(events),
            DashboardCommand::Members { respond_to } => {
                let _ = respond_to.send(room.members.len());
            }
        }
    }
}

impl DashboardRoom {
    fn counts_for(&mut self, v: Visibility) -> &mut StatusCounts {
        if v.private {
            self.private_counts.entry(v.creator_id).or_default()
        } else {
            self.public_counts.entry(v.org_id).or_default()
        }
    }

    fn counts_of(&self, viewer: Viewer) -> StatusCounts {
        counts_of(&self.public_counts, &self.private_counts, viewer)
    }

    fn counts_frame(&self, seq: Seq, viewer: Viewer) -> ServerFrame {
        ServerFrame::at(
            seq,
            ServerMsg::TaskCountChanged(TaskCountChanged {
                counts: self.counts_of(viewer),
            }),
        )
    }

    /// Sends `events` now, or holds them for company: see the module's documentation.
    fn offer(&mut self, events: Vec<Arc<Published>>) {
        let now = Instant::now();
        let busy = self
            .last_sent
            .is_some_and(|at| now.duration_since(at) < self.hold);
        if busy && !events.iter().any(|p| p.new_task) {
            self.held_until.get_or_insert(now + self.hold);
            metrics::counter!("taskwire_dashboard_held_events_total")
                .increment(events.len() as u64);
            self.held.extend(events);
        } else {
            self.send_held(events);
        }
    }

    /// Sends what is held, then `events`.
    fn send_held(&mut self, events: Vec<Arc<Published>>) {
        let mut batch = std::mem::take(&mut self.held);
        batch.extend(events);
        self.held_until = None;
        self.publish(&batch);
        self.last_sent = Some(Instant::now());
    }

    /// Applies `events` and queues each member's frames for them together, a group at a
    /// time, so that its socket writes them in one flush rather than waking once per
    /// event.
    fn publish(&mut self, events: &[Arc<Published>]) {
        for group in events.chunks(PUBLISH_GROUP) {
            let mut outgoing = Vec::with_capacity(self.members.len() * group.len());
            for p in group {
                self.apply(p, &mut outgoing);
            }
            if group.len() > 1 {
                // Stable: each member's frames stay in seq order.
                outgoing.sort_by_key(|(conn_id, _)| *conn_id);
            }
            let mut gone: Vec<u64> = Vec::new();
            for (conn_id, frame) in outgoing {
                if gone.last() == Some(&conn_id) {
                    continue;
                }
                let Some(m) = self.members.get(&conn_id) else {
                    continue;
                };
                if !m.handle.send(frame) {
                    gone.push(conn_id);
                }
            }
            for conn_id in gone {
                self.members.remove(&conn_id);
            }
        }
    }

    /// Applies one event to the rows and counts, and adds the frame each member who may
    /// see it is owed to `outgoing`.
    fn apply(&mut self, p: &Published, outgoing: &mut Vec<(u64, SharedFrame)>) {
        if p.seq <= self.seq {
            return;
        }
        self.seq = p.seq;
        let before = self
            .rows
            .insert(p.task_id, (p.summary.clone(), p.visibility))
            .map(|(r, _)| r.status);
        let status_changed = before != Some(p.summary.status);
        if status_changed {
            self.counts_for(p.visibility)
                .shift(before, p.summary.status);
        }
        // The row frame is the same for everyone who may see it: serialised once. When the
        // status changed, the row carries the viewer's counts too; counts are the same
        // for everyone in an org who has no private tasks, so that frame is serialised
        // once per org, plus once per member who has private tasks.
        let mut counted_rows: HashMap<(i64, Option<i64>), SharedFrame> = HashMap::new();
        for (conn_id, m) in &mut self.members {
            if p.seq <= m.sent_upto {
                continue;
            }
            m.sent_upto = p.seq;
            let viewer = m.handle.viewer();
            if !p.visibility.allows(viewer) {
                continue;
            }
            let frame = if status_changed {
                let owner = self
                    .private_counts
                    .contains_key(&viewer.user_id)
                    .then_some(viewer.user_id);
                counted_rows
                    .entry((viewer.org_id, owner))
                    .or_insert_with(|| {
                        shared(&ServerFrame::at(
                            p.seq,
                            ServerMsg::TaskListUpdated(TaskListUpdated {
                                task: p.summary.clone(),
                                counts: Some(counts_of(
                                    &self.public_counts,
                                    &self.private_counts,
                                    viewer,
                                )),
                                previous: before,
                            }),
                        ))
                    })
                    .clone()
            } else {
                p.row_frame.clone()
            };
            outgoing.push((*conn_id, frame));
        }
    }

    /// The member's counts and the newest page of its rows: a dashboard with thousands of
    /// tasks sends one page, as its first load does.
    fn snapshot(&self, viewer: Viewer) -> ServerFrame {
        let mut visible: Vec<&TaskSummary> = self
            .rows
            .values()
            .filter(|(_, v)| v.allows(viewer))
            .map(|(r, _)| r)
            .collect();
        let newest_first =
            |a: &&TaskSummary, b: &&TaskSummary| b.last_seq.cmp(&a.last_seq).then(b.id.cmp(&a.id));
        if visible.len() > PAGE_SIZE {
            visible.select_nth_unstable_by(PAGE_SIZE - 1, newest_first);
            visible.truncate(PAGE_SIZE);
        }
        visible.sort_by(newest_first);
        let tasks = visible.into_iter().cloned().collect();
        ServerFrame::at(
            self.seq,
            ServerMsg::DashboardState(DashboardState {
                tasks,
                counts: self.counts_of(viewer),
            }),
        )
    }

    async fn join(&mut self, handle: MemberHandle, since: Option<Seq>) -> Result<(), RoomError> {
        let conn_id = handle.conn_id;
        let viewer = handle.viewer();
        // Replay only what fits: a replay larger than the member's free queue would close
        // it as too slow, and it would come back asking for the same replay.
        let limit = self
            .replay_limit
            .min(handle.room_left().saturating_sub(1) as u64);
        let replayable = since.filter(|s| *s <= self.seq && self.seq - *s <= limit);
        let answer = match replayable {
            Some(since) if since == self.seq => "current",
            Some(_) => "replay",
            None => "snapshot",
        };
        metrics::counter!("taskwire_joins_total", "room" => "dashboard", "answer" => answer)
            .increment(1);
        let frames = match replayable {
            Some(since) if since == self.seq => Vec::new(),
            Some(since) => {
                let mut conn = self.pool.acquire().await?;
                let missed = events::range(&mut conn, since, self.seq, i64::MAX).await?;
                let mut frames: Vec<ServerFrame> = missed
                    .into_iter()
                    .filter_map(|e| {
                        let row = e.msg.event_meta()?.task.clone();
                        Visibility::of(&row, e.org_id).allows(viewer).then(|| {
                            ServerFrame::at(
                                e.seq,
                                ServerMsg::TaskListUpdated(TaskListUpdated {
                                    task: row,
                                    counts: None,
                                    previous: None,
                                }),
                            )
                        })
                    })
                    .collect();
                frames.push(self.counts_frame(self.seq, viewer));
                frames
            }
            None => vec![self.snapshot(viewer)],
        };
        for frame in &frames {
            if !handle.send(shared(frame)) {
                return Err(RoomError::Gone);
            }
        }
        self.members.insert(
            conn_id,
            Member {
                handle,
                sent_upto: self.seq,
            },
        );
        Ok(())
    }
}

/// What `viewer` counts: its org's public tasks and its own private ones. A free
/// function so it can run while the room's members are borrowed.
fn counts_of(
    public: &HashMap<i64, StatusCounts>,
    private: &HashMap<i64, StatusCounts>,
    viewer: Viewer,
) -> StatusCounts {
    let mut counts = public.get(&viewer.org_id).cloned().unwrap_or_default();
    if let Some(own) = private.get(&viewer.user_id) {
        for (status, n) in &own.0 {
            *counts.0.entry(*status).or_insert(0) += n;
        }
    }
    counts
}
