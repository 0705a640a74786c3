//! The task writer: one task that owns every change to tasks and the event log, and
//! commits them in groups.
//!
//! Callers send a [`Write`] with a oneshot to answer on; the channel is the queue, so
//! writers wait in the process, in order, instead of in SQLite's busy handler. The
//! writer takes what has queued up (up to [`MAX_BATCH`]), runs each write in its own
//! savepoint inside one `BEGIN IMMEDIATE` transaction, commits once, and only then
//! answers every caller and hands the committed events to the sequencer. A write that fails (an invalid
//! transition, say) rolls back its savepoint and nothing else; a commit that fails
//! fails every write of the batch, none of which is then visible. `seq` is assigned
//! inside the transaction as before, so it stays gap-free: a rolled-back savepoint
//! gives its seq to the next write.
//!
//! On Postgres, writers of several processes share the log: the counter row that hands
//! out seqs (see `events::next_seq`) orders their transactions, and each commit
//! notifies every process's sequencer.
//!
//! The actor ends when every handle is dropped (the channel closes).

use std::sync::Arc;

use sqlx::Acquire;

use crate::db::Pool;
use tokio::sync::{mpsc, oneshot};

use super::{apply_in, create_in, Actor, Applied, Command, NewTask, ServiceError, Viewer};
use crate::db::events::StoredEvent;
use crate::rooms::sequencer::Commits;
use shared_protocol::TaskId;

/// The most writes committed together; enough to absorb a burst, small enough that a
/// batch never holds the write lock for long.
pub const MAX_BATCH: usize = 256;

/// Writes waiting beyond this make senders wait (backpressure), not fail.
const QUEUE: usize = 4096;

/// One change to make.
#[derive(Debug)]
pub enum Write {
    /// A new task, and optionally a first command for it, made in one savepoint.
    Create {
        new: NewTask,
        first_step: Option<(Actor, Command)>,
    },
    Apply {
        id: TaskId,
        actor: Actor,
        command: Command,
        /// When set, the task must be one this viewer may see (else: not found),
        /// checked on the row the change is made to.
        viewer: Option<Viewer>,
    },
}

struct Queued {
    write: Write,
    respond_to: oneshot::Sender<Result<Applied, ServiceError>>,
}

/// Cheap to clone; sends writes to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    queue: mpsc::Sender<Queued>,
}

impl WriterHandle {
    /// Spawns the writer on `pool` (the database's one writing connection).
    pub fn start(pool: Pool, committed: Arc<Commits>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run_writer(pool, rx, committed));
        WriterHandle { queue }
    }

    /// Makes one change, in the next group commit; answers once it is durable.
    pub async fn write(&self, write: Write) -> Result<Applied, ServiceError> {
        let (respond_to, answer) = oneshot::channel();
        self.queue
            .send(Queued { write, respond_to })
            .await
            .map_err(|_| ServiceError::Stopped)?;
        answer.await.map_err(|_| ServiceError::Stopped)?
    }
}

async fn run_writer(pool: Pool, mut rx: mpsc::Receiver<Queued>, committed: Arc<Commits>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, responders): (Vec<Write>, Vec<_>) =
            batch.drain(..).map(|q| (q.write, q.respond_to)).unzip();
        let started = std::time::Instant::now();
        let count = writes.len();
        let (results, events) = commit_batch(&pool, writes).await;
        metrics::histogram!("taskwire_log_commit_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("taskwire_log_writes_per_commit").record(count as f64);
        if !events.is_empty() {
            committed.committed(events);
        }
        for (respond_to, result) in responders.into_iter().zip(results) {
            // A caller that stopped waiting (its request was cancelled) is fine: the
            // change is made and published all the same.
            let _ = respond_to.send(result);
        }
    }
}

/// Runs the writes in one transaction; one result per write, in order, and the events
/// committed, in seq order (none if the commit failed).
async fn commit_batch(
    pool: &Pool,
    writes: Vec<Write>,
) -> (Vec<Result<Applied, ServiceError>>, Vec<StoredEvent>) {
    let count = writes.len();
    let outcome = async {
        let mut tx = crate::db::begin_write(pool).await?;
        let mut results = Vec::with_capacity(count);
        let mut events = Vec::with_capacity(count);
        for write in writes {
            let mut savepoint = tx.begin().await?;
            // The write's answer, and the event of a create's first step.
            let result = match write {
                Write::Create { new, first_step } => {
                    let created = create_in(&mut savepoint, &new).await;
                    match (created, first_step) {
                        (Ok(created), Some((actor, command))) => {
                            let id = created.task.id();
                            apply_in(&mut savepoint, id, &actor, command, None)
                                .await
                                .map(|step| (created, Some(step)))
                        }
                        (created, _) => created.map(|created| (created, None)),
                    }
                }
                Write::Apply {
                    id,
                    actor,
                    command,
                    viewer,
                } => apply_in(&mut savepoint, id, &actor, command, viewer)
                    .await
                    .map(|applied| (applied, None)),
            };
            let result = match result {
                Ok((applied, step)) => {
                    savepoint.commit().await?;
                    events.extend(
                        [Some(&applied), step.as_ref()]
                            .into_iter()
                            .flatten()
                            .map(stored),
                    );
                    Ok(applied)
                }
                Err(e) => {
                    savepoint.rollback().await?;
                    Err(e)
                }
            };
            results.push(result);
        }
        if let Some(last) = results.iter().rev().find_map(|r| r.as_ref().ok()) {
            if crate::db::Store::of(pool) == crate::db::Store::Postgres {
                // Delivered at commit, to every process's listener: there is more to
                // read. Only a hint: what a sequencer publishes is what the log holds.
                crate::db::notify(
                    &mut tx,
                    crate::rooms::sequencer::CHANNEL,
                    &last.seq.to_string(),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>((results, events))
    };
    match outcome.await {
        Ok(committed) => committed,
        Err(e) => {
            tracing::error!(error = %e, writes = count, "a group commit failed; nothing in it was applied");
            let failed = (0..count)
                .map(|_| Err(ServiceError::NotCommitted))
                .collect();
            (failed, Vec::new())
        }
    }
}

/// An applied change's event as the log holds it.
fn stored(applied: &Applied) -> StoredEvent {
    StoredEvent {
        seq: applied.seq,
        task_id: applied.task.id(),
        org_id: applied.task.org_id,
        msg: applied.event.clone(),
    }
}
