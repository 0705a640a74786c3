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
/// sequencer then reads the log): one full group commit, creates with a first step.
const MAX_HANDED_OVER: usize = 2 * crate::tasks::writer::MAX_BATCH;

/// How commits reach the sequencer: a wake-up, and the events this process's writer
/// just committed, so the sequencer need not read back what it was handed.
#[derive(Debug, Default)]
pub struct Commits {
    wake: Notify,
    state: Mutex<HandOver>,
}

#[derive(Debug, Default)]
struct HandOver {
    /// Committed by this process's writer and not yet taken, in seq order.
    events: Vec<StoredEvent>,
    /// The newest seq this process's writer committed.
    through: Seq,
    /// Something may have been committed that was not handed over.
    read_log: bool,
}

impl Commits {
    /// After this process's writer committed `events` (in seq order): hands them over
    /// and wakes the sequencer.
    pub fn committed(&self, events: Vec<StoredEvent>) {
        {
            let mut state = self.lock();
            if let Some(newest) = events.last() {
                state.through = state.through.max(newest.seq);
            }
            if state.events.len() + events.len() <= MAX_HANDED_OVER {
                state.events.extend(events);
            } else {
                state.events.clear();
                state.read_log = true;
            }
        }
        self.wake.notify_one();
    }

    /// Wakes the sequencer to read the log: something may have been committed that was
    /// not handed over (by another process, or while nobody listened).
    pub fn wake(&self) {
        self.lock().read_log = true;
        self.wake.notify_one();
    }

    /// Whether a commit announced with `payload` (its newest seq) can hold anything
    /// this process's writer did not hand over. A commit of another process with a seq
    /// below one handed over was committed first, so the sequencer, finding the gap
    /// before the hand-over, reads it from the log anyway.
    pub fn announces_more(&self, payload: &str) -> bool {
        payload
            .parse::<Seq>()
            .map_or(true, |seq| seq > self.lock().through)
    }

    async fn notified(&self) {
        self.wake.notified().await
    }

    /// The events handed over after `last`, if they go on from it without a gap, and
    /// whether the log must be read as well.
    fn take_after(&self, last: Seq) -> (Option<Vec<StoredEvent>>, bool) {
        let (handed_over, read_log) = {
            let mut state = self.lock();
            (
                std::mem::take(&mut state.events),
                std::mem::take(&mut state.read_log),
            )
        };
        let next: Vec<StoredEvent> = handed_over
            .into_iter()
            .skip_while(|e| e.seq <= last)
            .collect();
        let gap_free = next
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == last + 1 + i as Seq);
        ((gap_free && !next.is_empty()).then_some(next), read_log)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HandOver> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
                        Ok(Some(n)) => {
                            if committed.announces_more(n.payload()) {
                                committed.wake();
                            }
                        }
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

/// Runs until `shutdown`; `last` is the seq the rooms already reflect. When woken,
/// publishes what it was handed if that follows `last` without a gap, and reads the log
/// when it was not, when it was asked to, and every `poll` regardless.
#[tracing::instrument(skip_all, fields(start = last))]
pub async fn run_sequencer(
    pool: Pool,
    committed: Arc<Commits>,
    mut last: Seq,
    rooms: Rooms,
    poll: Duration,
    shutdown: CancellationToken,
) {
    // One clock across passes, so the poll comes round however often commits wake it.
    let mut every = tokio::time::interval(poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let polled = tokio::select! {
            _ = committed.notified() => false,
            _ = every.tick() => true,
            _ = shutdown.cancelled() => break,
        };
        let (handed_over, read_log) = committed.take_after(last);
        let handed = handed_over.is_some();
        if let Some(handed_over) = handed_over {
            metrics::counter!("taskwire_log_events_handed_over_total")
                .increment(handed_over.len() as u64);
            last = publish(&rooms, handed_over, last).await;
        }
        if handed && !read_log && !polled {
            continue;
        }
        loop {
            metrics::counter!("taskwire_log_reads_total").increment(1);
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
            .0
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
    fn a_wake_up_to_read_the_log_is_not_lost_in_a_hand_over() {
        let commits = Commits::default();
        commits.committed(vec![event(1)]);
        assert!(!commits.take_after(0).1, "the hand-over is enough");

        // Another server's commit is announced while this one's waits to be taken.
        commits.committed(vec![event(2)]);
        commits.wake();
        let (handed_over, read_log) = commits.take_after(1);
        assert_eq!(handed_over.map(|e| e.len()), Some(1));
        assert!(read_log, "the log is read after the hand-over");
        assert!(!commits.take_after(2).1, "asked once, read once");
    }

    #[test]
    fn only_commits_past_what_was_handed_over_are_announced_as_more() {
        let commits = Commits::default();
        assert!(commits.announces_more("1"));
        commits.committed(vec![event(1), event(2)]);
        assert!(!commits.announces_more("2"), "this server's own commit");
        assert!(!commits.announces_more("1"));
        assert!(commits.announces_more("3"), "another server's, after it");
        assert!(
            commits.announces_more("not a seq"),
            "unreadable: read the log"
        );
    }

    #[test]
    fn a_hand_over_nobody_takes_stays_bounded() {
        let commits = Commits::default();
        for seq in 1..=MAX_HANDED_OVER as Seq {
            commits.committed(vec![event(seq)]);
        }
        commits.committed(vec![event(MAX_HANDED_OVER as Seq + 1)]);
        assert!(commits.lock().events.is_empty(), "dropped, not grown");
        commits.committed(vec![event(MAX_HANDED_OVER as Seq + 2)]);
        let (handed_over, read_log) = commits.take_after(0);
        assert!(handed_over.is_none() && read_log, "the log is read instead");
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
