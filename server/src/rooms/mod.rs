//! Rooms: the dashboard room, task rooms, the registry that finds them, and the
//! sequencer that feeds them.

pub mod dashboard;
pub mod member;
pub mod sequencer;
pub mod task;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::db::Pool;
use shared_protocol::{Seq, TaskId};

use dashboard::DashboardHandle;
use member::MemberHandle;
use sequencer::Published;
use task::TaskRoomHandle;

/// Why a join did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("no such task")]
    NotFound,
    #[error("the room stopped")]
    Stopped,
    #[error("the connection is gone")]
    Gone,
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

/// The registry of rooms. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<RoomsInner>,
}

struct RoomsInner {
    pool: Pool,
    dashboard: DashboardHandle,
    /// Running task rooms. A std mutex is enough: it is held only to look up, insert or
    /// remove a handle, never across an `.await`.
    tasks: Mutex<HashMap<TaskId, TaskRoomHandle>>,
    next_room_id: AtomicU64,
}

impl Rooms {
    pub fn new(pool: Pool, dashboard: DashboardHandle) -> Self {
        Rooms {
            inner: Arc::new(RoomsInner {
                pool,
                dashboard,
                tasks: Mutex::new(HashMap::new()),
                next_room_id: AtomicU64::new(1),
            }),
        }
    }

    pub fn dashboard(&self) -> &DashboardHandle {
        &self.inner.dashboard
    }

    /// Joins the task's room, starting one if none runs.
    pub async fn join_task(
        &self,
        task_id: TaskId,
        member: MemberHandle,
        since: Option<Seq>,
    ) -> Result<(), RoomError> {
        // A room that stops between lookup and join refuses the join; a fresh one won't.
        for _ in 0..3 {
            let room = self.task_room(task_id);
            match room.join(member.clone(), since).await {
                Err(RoomError::Stopped) => self.forget_task_room(task_id, room.room_id),
                other => return other,
            }
        }
        Err(RoomError::Stopped)
    }

    pub async fn leave_task(&self, task_id: TaskId, conn_id: u64) {
        let room = self.lock_tasks().get(&task_id).cloned();
        if let Some(room) = room {
            room.leave(conn_id).await;
        }
    }

    /// Hands committed events, in seq order, to each task's room, if one runs, and all
    /// of them at once to the dashboard.
    pub async fn publish(&self, events: Vec<Arc<Published>>) {
        for p in &events {
            let room = self.lock_tasks().get(&p.task_id).cloned();
            if let Some(room) = room {
                room.publish(p.clone()).await;
            }
        }
        self.inner.dashboard.publish(events).await;
    }

    /// How many task rooms are running.
    pub fn task_rooms(&self) -> usize {
        self.lock_tasks().len()
    }

    fn task_room(&self, task_id: TaskId) -> TaskRoomHandle {
        let mut tasks = self.lock_tasks();
        tasks
            .entry(task_id)
            .or_insert_with(|| {
                let room_id = self.inner.next_room_id.fetch_add(1, Ordering::Relaxed);
                TaskRoomHandle::new(task_id, room_id, self.inner.pool.clone(), self.clone())
            })
            .clone()
    }

    pub(crate) fn forget_task_room(&self, task_id: TaskId, room_id: u64) {
        let mut tasks = self.lock_tasks();
        if tasks.get(&task_id).is_some_and(|r| r.room_id == room_id) {
            tasks.remove(&task_id);
        }
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, TaskRoomHandle>> {
        // A panic while holding this lock leaves the map consistent (single operations).
        self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}
