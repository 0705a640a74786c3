//! The sequencer: publishes committed events to rooms strictly in `seq` order.
//!
//! Writers wake it through [`Commits`] (a [`Notify`] permit, so a wake-up is never
//! lost); it then publishes what follows the last seq it published. The log decides
//! what that is: the events this process's writer hands over with its wake-up are used
//! only when they start right after that seq and run on without a gap, and otherwise
//! the sequencer reads the log. So two writers cannot make it publish 6 before 5, a
//! hand-over that is missing or partial costs one read of the log, and a missed
//! wake-up only delays, never loses, an event (a slow poll covers that too).
//!
//! On Postgres the log is shared by every server process. Each commit notifies
//! [`CHANNEL`], and [`listen_for_commits`] turns the notifications into wake-ups; a
//! notification carries nothing the sequencer relies on. A lost notification or a
//! dropped listener connection costs at most one poll interval: the listener wakes
//! the sequencer whenever it reconnects, and the poll reads the log anyway.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::db::Pool;
use shared_protocol::{Seq, ServerFrame, ServerMsg, TaskId, TaskListUpdated, TaskSummary};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::member::{shared, SharedFrame};
use super::Rooms;
use crate::db::events::{self, StoredEvent};
use crate::tasks::Visibility;

/// Events handed over and not yet taken beyond which the hand-over is dropped (the
/// sequencer then reads the log): a stalled sequencer does not make it grow.
const MAX_HANDED_OVER: usize = 4096;

/// How commits reach the sequencer: a wake-up, and the events this process's writer
/// just committed, so the sequencer need not read back what it was handed.
#[derive(Debug, Default)]
pub struct Commits {
    wake: Notify,
    handed_over: Mutex<Vec<StoredEvent>>,
}

impl Commits {
    /// After this process's writer committed `events` (in seq order): hands them over
    /// and wakes the sequencer.
    pub fn committed(&self, events: Vec<StoredEvent>) {
        {
            let mut handed_over = self.lock();
            if handed_over.len() + events.len() <= MAX_HANDED_OVER {
                handed_over.extend(events);
            } else {
                handed_over.clear();
            }
        }
        self.wake.notify_one();
    }

    /// Wakes the sequencer to read the log: something may have been committed that was
    /// not handed over (by another process, or while nobody listened).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn notified(&self) {
        self.wake.notified().await
    }

    /// The events handed over after `last`, if they go on from it without a gap.
    fn take_after(&self, last: Seq) -> Option<Vec<StoredEvent>> {
        let handed_over = std::mem::take(&mut *self.lock());
        let next: Vec<StoredEvent> = handed_over
            .into_iter()
            .skip_while(|e| e.seq <= last)
            .collect();
        let gap_free = next
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == last + 1 + i as Seq);
        (gap_free && !next.is_empty()).then_some(next)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<StoredEvent>> {
        self.handed_over
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One committed event, serialised once for every room and member.
#[derive(Debug)]
pub struct Published {
    pub seq: Seq,
    pub task_id: TaskId,
    /// The task's row after the event.
    pub summary: TaskSummary,
    /// Who may see it.
    pub visibility: Visibility,
    /// The `task:*` frame, for task rooms.
    pub task_frame: SharedFrame,
    /// The `dashboard:task_list_updated` frame, for the dashboard room.
    pub row_frame: SharedFrame,
    /// The event made the task (`task:created`): a new row on the dashboard.
    pub new_task: bool,
}

impl Published {
    pub fn new(seq: Seq, task_id: TaskId, msg: ServerMsg, org_id: i64) -> Option<Published> {
        let summary = msg.event_meta()?.task.clone();
        let new_task = matches!(msg, ServerMsg::TaskCreated(_));
        let visibility = Visibility::of(&summary, org_id);
        let row_frame = shared(&ServerFrame::at(
            seq,
            ServerMsg::TaskListUpdated(TaskListUpdated {
                task: summary.clone(),
                counts: None,
                previous: None,
            }),
        ));
        let task_frame = shared(&ServerFrame::at(seq, msg));
        Some(Published {
            seq,
            task_id,
            summary,
            visibility,
            task_frame,
            row_frame,
            new_task,
        })
    }
}

const BATCH: i64 = 500;

/// The Postgres notification channel commits are announced on.
pub const CHANNEL: &str = "taskwire_log";
/// The channel ended sessions are announced on (the payload: see [`revoked_from`]).
pub const REVOKED_CHANNEL: &str = "taskwire_revoked";

/// How an ended session is told apart from a user id on [`REVOKED_CHANNEL`].
const SESSION_PREFIX: &str = "session:";
/// Between a user id and the one session of theirs that goes on.
const ALL_BUT: &str = " but ";

/// What is sent on [`REVOKED_CHANNEL`] to tell every server's sockets that `revoked`
/// ended (read back by [`revoked_from`]); `None` for what cannot be announced.
pub fn revocation_payload(revoked: &crate::state::Revoked) -> Option<String> {
    use crate::state::Revoked;
    match revoked {
        Revoked::User(user_id) => Some(user_id.to_string()),
        Revoked::AllBut { user_id, sid } => Some(format!("{user_id}{ALL_BUT}{sid}")),
        Revoked::Session(sid) => Some(format!("{SESSION_PREFIX}{sid}")),
        Revoked::Unknown => None,
    }
}

/// What a notification on [`REVOKED_CHANNEL`] says ended.
fn revoked_from(payload: &str) -> Option<crate::state::Revoked> {
    use crate::state::Revoked;
    if let Some(sid) = payload.strip_prefix(SESSION_PREFIX) {
        return (!sid.is_empty()).then(|| Revoked::Session(sid.to_owned()));
    }
    match payload.split_once(ALL_BUT) {
        Some((user_id, sid)) if !sid.is_empty() => Some(Revoked::AllBut {
            user_id: user_id.parse().ok()?,
            sid: sid.to_owned(),
        }),
        Some(_) => None,
        None => payload.parse().ok().map(Revoked::User),
    }
}

/// Wakes the sequencer on every notification of a commit, from any process, and passes
/// ended sessions on to `revocations`, until `shutdown`. Reconnects after a dropped
/// connection; then wakes the sequencer (which reads whatever was committed meanwhile)
/// and has every socket re-check its session (ends meanwhile were not heard).
pub async fn listen_for_commits(
    url: String,
    committed: Arc<Commits>,
    revocations: tokio::sync::broadcast::Sender<crate::state::Revoked>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen_all([CHANNEL, REVOKED_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            l = listener => l,
            _ = shutdown.cancelled() => return,
        };
        match &mut listener {
            Ok(listener) => {
                backoff = Duration::from_millis(100);
                committed.wake();
                // Ends announced while nobody listened were not heard.
                let _ = revocations.send(crate::state::Revoked::Unknown);
                loop {
                    let next = tokio::select! {
                        n = listener.try_recv() => n,
                        _ = shutdown.cancelled() => return,
                    };
                    match next {
                        Ok(Some(n)) if n.channel() == REVOKED_CHANNEL => {
                            if let Some(revoked) = revoked_from(n.payload()) {
                                let _ = revocations.send(revoked);
                            }
                        }
                        Ok(Some(_)) => committed.wake(),
                        // The connection was lost; notifications meanwhile are gone.
                        Ok(None) => {
                            tracing::warn!("the commit listener lost its connection; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the commit listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for commits; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        committed.wake();
    }
}

/// Runs until `shutdown`; `last` is the seq the rooms already reflect. Publishes what
/// it is handed when woken, reads the log when that is not all, and every `poll`
/// regardless.
#[tracing::instrument(skip_all, fields(start = last))]
pub async fn run_sequencer(
    pool: Pool,
    committed: Arc<Commits>,
    mut last: Seq,
    rooms: Rooms,
    poll: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = committed.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.cancelled() => break,
        }
        if let Some(handed_over) = committed.take_after(last) {
            metrics::counter!("taskwire_log_events_handed_over_total")
                .increment(handed_over.len() as u64);
            last = publish(&rooms, handed_over, last).await;
            continue;
        }
        loop {
            let batch = match pool.acquire().await {
                Ok(mut conn) => events::range(&mut conn, last, Seq::MAX >> 1, BATCH).await,
                Err(e) => Err(e),
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "reading the event log failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let done = batch.len() < BATCH as usize;
            last = publish(&rooms, batch, last).await;
            if done {
                break;
            }
        }
    }
}

/// Publishes `batch`, the events right after `last`, in order; returns the new last.
async fn publish(rooms: &Rooms, batch: Vec<StoredEvent>, mut last: Seq) -> Seq {
    // Events published together are queued for each dashboard member at once.
    let mut published = Vec::with_capacity(batch.len());
    for event in batch {
        debug_assert!(event.seq == last + 1, "the log is gap-free");
        last = event.seq;
        if let Some(meta) = event.msg.event_meta() {
            let age_ms = crate::db::now_millis().saturating_sub(meta.at).max(0);
            metrics::histogram!("taskwire_commit_to_broadcast_seconds")
                .record(age_ms as f64 / 1000.0);
        }
        if let Some(p) = Published::new(event.seq, event.task_id, event.msg, event.org_id) {
            published.push(Arc::new(p));
        }
    }
    if !published.is_empty() {
        rooms.publish(published).await;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Revoked;

    fn event(seq: Seq) -> StoredEvent {
        StoredEvent {
            seq,
            task_id: shared_protocol::TaskId(1),
            org_id: 1,
            msg: ServerMsg::Pong(shared_protocol::Ping { nonce: seq }),
        }
    }

    fn handed_over(commits: &Commits, last: Seq) -> Option<Vec<Seq>> {
        commits
            .take_after(last)
            .map(|events| events.iter().map(|e| e.seq).collect())
    }

    #[test]
    fn what_was_handed_over_is_used_only_when_it_goes_on_from_the_last_seq() {
        let commits = Commits::default();
        assert_eq!(handed_over(&commits, 4), None, "nothing handed over");

        commits.committed(vec![event(5), event(6)]);
        commits.committed(vec![event(7)]);
        assert_eq!(handed_over(&commits, 4), Some(vec![5, 6, 7]));
        assert_eq!(handed_over(&commits, 7), None, "taken once");

        commits.committed(vec![event(6), event(7), event(8)]);
        assert_eq!(
            handed_over(&commits, 7),
            Some(vec![8]),
            "what the log was read for is skipped"
        );

        commits.committed(vec![event(6), event(7)]);
        assert_eq!(
            handed_over(&commits, 7),
            None,
            "all of it already published"
        );

        commits.committed(vec![event(10)]);
        assert_eq!(handed_over(&commits, 8), None, "9 is missing: read the log");
        assert_eq!(handed_over(&commits, 9), None, "a gap drops the hand-over");

        commits.committed(vec![event(11), event(13)]);
        assert_eq!(handed_over(&commits, 10), None, "a gap inside it");
    }

    #[test]
    fn a_hand_over_nobody_takes_stays_bounded() {
        let commits = Commits::default();
        for seq in 1..=MAX_HANDED_OVER as Seq {
            commits.committed(vec![event(seq)]);
        }
        commits.committed(vec![event(MAX_HANDED_OVER as Seq + 1)]);
        assert!(commits.lock().is_empty(), "dropped, not grown");
        commits.committed(vec![event(MAX_HANDED_OVER as Seq + 2)]);
        assert_eq!(handed_over(&commits, 0), None, "the log is read instead");
    }

    #[test]
    fn a_revocation_names_a_user_or_one_session_and_anything_else_is_ignored() {
        assert_eq!(revoked_from("42"), Some(Revoked::User(42)));
        assert_eq!(
            revoked_from("session:0a1b"),
            Some(Revoked::Session("0a1b".into()))
        );
        assert_eq!(revoked_from("session:"), None);
        assert_eq!(
            revoked_from("42 but 0a1b"),
            Some(Revoked::AllBut {
                user_id: 42,
                sid: "0a1b".into()
            })
        );
        assert_eq!(revoked_from("42 but "), None);
        assert_eq!(revoked_from("forty-two"), None);
    }
}
