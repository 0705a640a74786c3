//! The dashboard room: one actor that owns every task's row, the counts, and the
//! dashboard's members.
//!
//! It applies published events in seq order, so answering a join from its own state
//! (snapshot) or from the log up to its own seq (replay) and then adding the member is
//! atomic: the member gets exactly the events after what it was sent.

use std::collections::HashMap;
use std::sync::Arc;

use shared_protocol::*;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::member::{shared, MemberHandle};
use super::sequencer::Published;
use super::RoomError;
use crate::db::events;

pub enum DashboardCommand {
    Join {
        member: MemberHandle,
        since: Option<Seq>,
        respond_to: oneshot::Sender<Result<(), RoomError>>,
    },
    Leave {
        conn_id: u64,
    },
    Publish(Arc<Published>),
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
    /// Starts the actor from a snapshot of every task taken at `seq`.
    pub fn new(pool: SqlitePool, rows: Vec<TaskSummary>, seq: Seq, replay_limit: u64) -> Self {
        let (inbox, rx) = mpsc::channel(1024);
        let counts = StatusCounts::of(&rows);
        let room = DashboardRoom {
            pool,
            rows: rows.into_iter().map(|r| (r.id, r)).collect(),
            counts,
            seq,
            members: HashMap::new(),
            replay_limit,
        };
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

    pub async fn publish(&self, p: Arc<Published>) {
        let _ = self.inbox.send(DashboardCommand::Publish(p)).await;
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

struct Member {
    handle: MemberHandle,
    /// Events at or below this seq were already sent (or are in the member's snapshot).
    sent_upto: Seq,
}

struct DashboardRoom {
    pool: SqlitePool,
    rows: HashMap<TaskId, TaskSummary>,
    counts: StatusCounts,
    /// The newest seq applied.
    seq: Seq,
    members: HashMap<u64, Member>,
    replay_limit: u64,
}

#[tracing::instrument(name = "dashboard_room", skip_all)]
async fn run_dashboard_room(mut room: DashboardRoom, mut rx: mpsc::Receiver<DashboardCommand>) {
    while let Some(cmd) = rx.recv().await {
        match cmd {
            DashboardCommand::Join {
                member,
                since,
                respond_to,
            } => {
                let result = room.join(member, since).await;
                let _ = respond_to.send(result);
            }
            DashboardCommand::Leave { conn_id } => {
                room.members.remove(&conn_id);
            }
            DashboardCommand::Publish(p) => room.publish(&p),
            DashboardCommand::Members { respond_to } => {
                let _ = respond_to.send(room.members.len());
            }
        }
    }
}

impl DashboardRoom {
    fn publish(&mut self, p: &Published) {
        if p.seq <= self.seq {
            return;
        }
        self.seq = p.seq;
        let before = self
            .rows
            .insert(p.task_id, p.summary.clone())
            .map(|r| r.status);
        let counts_frame = if before != Some(p.summary.status) {
            self.counts.shift(before, p.summary.status);
            Some(shared(&ServerFrame::at(
                p.seq,
                ServerMsg::TaskCountChanged(TaskCountChanged {
                    counts: self.counts.clone(),
                }),
            )))
        } else {
            None
        };
        self.members.retain(|_, m| {
            if p.seq <= m.sent_upto {
                return true;
            }
            m.sent_upto = p.seq;
            m.handle.send(p.row_frame.clone())
                && counts_frame
                    .as_ref()
                    .is_none_or(|f| m.handle.send(f.clone()))
        });
    }

    fn snapshot(&self) -> ServerFrame {
        let mut tasks: Vec<TaskSummary> = self.rows.values().cloned().collect();
        tasks.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        ServerFrame::at(
            self.seq,
            ServerMsg::DashboardState(DashboardState {
                tasks,
                counts: self.counts.clone(),
            }),
        )
    }

    async fn join(&mut self, handle: MemberHandle, since: Option<Seq>) -> Result<(), RoomError> {
        let conn_id = handle.conn_id;
        // Replay only what fits: a replay larger than the member's free queue would close
        // it as too slow, and it would come back asking for the same replay.
        let limit = self
            .replay_limit
            .min(handle.room_left().saturating_sub(1) as u64);
        let replayable = since.filter(|s| *s <= self.seq && self.seq - *s <= limit);
        let frames = match replayable {
            Some(since) if since == self.seq => Vec::new(),
            Some(since) => {
                let mut conn = self.pool.acquire().await?;
                let missed = events::range(&mut conn, since, self.seq, u32::MAX).await?;
                let mut frames: Vec<ServerFrame> = missed
                    .into_iter()
                    .filter_map(|e| {
                        let row = e.msg.event_meta()?.task.clone();
                        Some(ServerFrame::at(
                            e.seq,
                            ServerMsg::TaskListUpdated(TaskListUpdated { task: row }),
                        ))
                    })
                    .collect();
                frames.push(ServerFrame::at(
                    self.seq,
                    ServerMsg::TaskCountChanged(TaskCountChanged {
                        counts: self.counts.clone(),
                    }),
                ));
                frames
            }
            None => vec![self.snapshot()],
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
