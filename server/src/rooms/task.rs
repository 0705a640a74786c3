//! A task room: one actor per watched task, started on the first join and stopped when
//! its last member leaves. It owns its members, so it can tell them who else is there.
//!
//! The room keeps no copy of the task: a join reads the task (or the missed events) and
//! the log's newest seq in one read, and the member is then sent only events after that
//! seq. Events the sequencer has not published yet are therefore never sent twice.
//!
//! Who is viewing is sent to every member when the names change. A name whose last
//! member left still counts as viewing for [`LEAVE_GRACE`], so its leaving is told only
//! then, and not at all if the person is back by then: a long-poll leaves and joins
//! again for every answer, and a socket reconnects after a blip, and neither should make
//! the others' list flicker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Pool;
use shared_protocol::*;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::member::{shared, MemberHandle, SharedFrame};
use super::sequencer::Published;
use super::{RoomError, Rooms};
use crate::db::{self, events};

/// How long a member who left still counts as viewing, in case it is back at once.
pub const LEAVE_GRACE: Duration = Duration::from_secs(2);

pub enum TaskRoomCommand {
    Join {
        member: MemberHandle,
        since: Option<Seq>,
        respond_to: oneshot::Sender<Result<(), RoomError>>,
    },
    Leave {
        conn_id: u64,
    },
    Publish(Arc<Published>),
}

/// Cheap to clone. Sends fail once the room has stopped.
#[derive(Clone)]
pub struct TaskRoomHandle {
    /// Tells this room apart from a later room for the same task.
    pub room_id: u64,
    inbox: mpsc::Sender<TaskRoomCommand>,
}

impl TaskRoomHandle {
    pub(super) fn new(task_id: TaskId, room_id: u64, pool: Pool, rooms: Rooms) -> Self {
        let (inbox, rx) = mpsc::channel(256);
        let room = TaskRoom {
            task_id,
            room_id,
            pool,
            rooms,
            members: HashMap::new(),
            joined_once: false,
            announced: Vec::new(),
            leaving: HashMap::new(),
        };
        tokio::spawn(run_task_room(room, rx));
        TaskRoomHandle { room_id, inbox }
    }

    /// `Err(Stopped)` when the room stopped before answering; the caller asks the
    /// registry for a fresh room.
    pub async fn join(&self, member: MemberHandle, since: Option<Seq>) -> Result<(), RoomError> {
        let (respond_to, rx) = oneshot::channel();
        self.inbox
            .send(TaskRoomCommand::Join {
                member,
                since,
                respond_to,
            })
            .await
            .map_err(|_| RoomError::Stopped)?;
        rx.await.map_err(|_| RoomError::Stopped)?
    }

    pub async fn leave(&self, conn_id: u64) {
        let _ = self.inbox.send(TaskRoomCommand::Leave { conn_id }).await;
    }

    pub async fn publish(&self, p: Arc<Published>) {
        let _ = self.inbox.send(TaskRoomCommand::Publish(p)).await;
    }
}

struct Member {
    handle: MemberHandle,
    sent_upto: Seq,
}

struct TaskRoom {
    task_id: TaskId,
    room_id: u64,
    pool: Pool,
    /// To remove itself from the registry when it stops. Not a cycle of waiting actors:
    /// the registry never waits on a room while holding its lock.
    rooms: Rooms,
    members: HashMap<u64, Member>,
    /// A room created for a join must not stop on an event that arrives first.
    joined_once: bool,
    /// The viewers' names as the members were last told them.
    announced: Vec<String>,
    /// Names whose last member left, and when: still viewing until [`LEAVE_GRACE`] later.
    leaving: HashMap<String, Instant>,
}

#[tracing::instrument(name = "task_room", skip_all, fields(task_id = %room.task_id))]
async fn run_task_room(mut room: TaskRoom, mut rx: mpsc::Receiver<TaskRoomCommand>) {
    loop {
        let cmd = match room.leaving.values().min() {
            Some(left) => tokio::select! {
                cmd = rx.recv() => cmd,
                () = tokio::time::sleep_until(*left + LEAVE_GRACE) => {
                    room.expire();
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(cmd) = cmd else { break };
        match cmd {
            TaskRoomCommand::Join {
                member,
                since,
                respond_to,
            } => {
                room.joined_once = true;
                let conn_id = member.conn_id;
                let result = room.join(member, since).await;
                let joined = result.is_ok();
                let _ = respond_to.send(result);
                if joined {
                    room.welcome(conn_id);
                }
            }
            TaskRoomCommand::Leave { conn_id } => {
                if let Some(m) = room.members.remove(&conn_id) {
                    room.left(vec![m.handle.user.name]);
                }
            }
            TaskRoomCommand::Publish(p) => room.publish(&p),
        }
        if room.joined_once && room.members.is_empty() {
            break;
        }
    }
    // Deregister first, so no new join is routed here; then refuse what is queued. A
    // refused join (its reply dropped) is retried by the caller on a fresh room.
    room.rooms.forget_task_room(room.task_id, room.room_id);
    rx.close();
    while rx.recv().await.is_some() {}
    tracing::debug!("task room stopped");
}

impl TaskRoom {
    fn publish(&mut self, p: &Published) {
        let mut gone = Vec::new();
        self.members.retain(|_, m| {
            if p.seq <= m.sent_upto {
                return true;
            }
            m.sent_upto = p.seq;
            let sent = m.handle.send(p.task_frame.clone());
            if !sent {
                gone.push(m.handle.user.name.clone());
            }
            sent
        });
        self.left(gone);
    }

    /// The viewers' names, sorted, each once: the members', and those still in their
    /// grace after leaving.
    fn viewers(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .members
            .values()
            .map(|m| m.handle.user.name.clone())
            .chain(self.leaving.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn viewers_frame(&self, names: Vec<String>) -> SharedFrame {
        shared(&ServerFrame::new(ServerMsg::TaskViewers(TaskViewers {
            task_id: self.task_id,
            viewers: names,
        })))
    }

    /// A member joined: a name back within its grace is no longer leaving; everyone
    /// hears of a new name, else only the newcomer is told who is here.
    fn welcome(&mut self, conn_id: u64) {
        let Some(name) = self
            .members
            .get(&conn_id)
            .map(|m| m.handle.user.name.clone())
        else {
            return;
        };
        self.leaving.remove(&name);
        if self.viewers() != self.announced {
            self.announce_viewers();
            return;
        }
        let frame = self.viewers_frame(self.announced.clone());
        let sent = self
            .members
            .get(&conn_id)
            .is_some_and(|m| m.handle.send(frame));
        if !sent {
            self.members.remove(&conn_id);
            self.left(vec![name]);
        }
    }

    /// Members with these names left: a name no member has any more starts its grace.
    fn left(&mut self, names: Vec<String>) {
        let now = Instant::now();
        for name in names {
            if !self.members.values().any(|m| m.handle.user.name == name) {
                self.leaving.entry(name).or_insert(now);
            }
        }
    }

    /// Names whose grace is over are gone: the members are told.
    fn expire(&mut self) {
        let now = Instant::now();
        self.leaving.retain(|_, left| *left + LEAVE_GRACE > now);
        self.announce_viewers();
    }

    /// Tells every member who is viewing, if that changed since they were last told.
    fn announce_viewers(&mut self) {
        let names = self.viewers();
        if names == self.announced {
            return;
        }
        let frame = self.viewers_frame(names.clone());
        self.announced = names;
        let mut gone = Vec::new();
        self.members.retain(|_, m| {
            let sent = m.handle.send(frame.clone());
            if !sent {
                gone.push(m.handle.user.name.clone());
            }
            sent
        });
        self.left(gone);
    }

    async fn join(&mut self, handle: MemberHandle, since: Option<Seq>) -> Result<(), RoomError> {
        let mut tx = crate::db::begin_read(&self.pool).await?;
        // A task the member may not see is answered exactly like a missing one.
        let task = match db::tasks::get(&mut tx, self.task_id).await? {
            Some(task) if task.visibility().allows(handle.viewer()) => task,
            _ => return Err(RoomError::NotFound),
        };
        let upto = events::max_seq(&mut tx).await?;
        let mut frames = Vec::new();
        if let Some(since) = since.filter(|s| *s <= upto) {
            let missed = events::for_task(&mut tx, self.task_id, since).await?;
            if missed.len() < handle.room_left() {
                frames = missed
                    .into_iter()
                    .map(|e| ServerFrame::at(e.seq, e.msg))
                    .collect();
            }
        }
        if frames.is_empty() && since.is_none_or(|s| s > upto || task.detail.summary.last_seq > s) {
            let timeline = events::timeline(&mut tx, self.task_id).await?;
            frames.push(ServerFrame::at(
                upto,
                ServerMsg::TaskState(TaskState {
                    task: task.detail,
                    timeline,
                }),
            ));
        }
        tx.commit().await?;
        for frame in &frames {
            if !handle.send(shared(frame)) {
                return Err(RoomError::Gone);
            }
        }
        self.members.insert(
            handle.conn_id,
            Member {
                handle,
                sent_upto: upto,
            },
        );
        Ok(())
    }
}
