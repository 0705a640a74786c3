//! The task writer: one task that owns every change to tasks and the event log, and
//! commits them in groups.
//!
//! Callers send a [`Write`] with a oneshot to answer on; the channel is the queue, so
//! writers wait in the process, in order, instead of in SQLite's busy handler. The
//! writer takes what has queued up (up to [`MAX_BATCH`]), runs the writes in one
//! `BEGIN IMMEDIATE` transaction (each in its own savepoint when there are several),
//! commits once, and only then answers every caller and hands the committed events to
//! the sequencer. A write that fails (an invalid transition, say) rolls back its
//! savepoint and nothing else, or the transaction when it was alone in it; a commit
//! that fails fails every write of the batch, none of which is then visible. `seq` is
//! assigned inside the transaction, so it stays gap-free: a rolled-back write gives its
//! seq to the next one.
//!
//! On Postgres, writers of several processes share the log: the counter row that hands
//! out seqs (see `events::next_seqs`) orders their transactions, and each commit
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
    /// A new task, and optionally a first command for it, made together or not at all.
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
            let result = if count == 1 {
                // Alone in its transaction, a write that fails is undone with it (below):
                // a savepoint would cost two more statements for nothing.
                make(&mut tx, write).await
            } else {
                let mut savepoint = tx.begin().await?;
                let result = make(&mut savepoint, write).await;
                match &result {
                    Ok(_) => savepoint.commit().await?,
                    Err(_) => savepoint.rollback().await?,
                }
                result
            };
            results.push(result.map(|(applied, logged)| {
                events.extend(logged);
                applied
            }));
        }
        let Some(newest) = events.last().map(|e| e.seq) else {
            // Every write failed, and each answer says why; a rollback that fails
            // changes none of that (nothing of the transaction is kept either way).
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "rolling back a group commit with no change failed");
            }
            return Ok((results, events));
        };
        if crate::db::Store::of(pool) == crate::db::Store::Postgres {
            // Delivered at commit, to every process's listener, with the commit's
            // newest seq. Only a hint: what a sequencer publishes is what the log holds.
            crate::db::notify(
                &mut tx,
                crate::rooms::sequencer::CHANNEL,
                &newest.to_string(),
            )
            .await?;
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

/// Makes one write on `conn`: its answer, and its events as the log holds them (a
/// create's first step adds the second).
async fn make(
    conn: &mut crate::db::Conn,
    write: Write,
) -> Result<(Applied, Vec<StoredEvent>), ServiceError> {
    match write {
        Write::Create { new, first_step } => create_in(conn, &new, first_step).await,
        Write::Apply {
            id,
            actor,
            command,
            viewer,
        } => {
            let (applied, event) = apply_in(conn, id, &actor, command, viewer).await?;
            Ok((applied, vec![event]))
        }
    }
}
