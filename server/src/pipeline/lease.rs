//! Leases on pipeline steps, so that with several servers on one Postgres each step
//! runs on one of them, and a step held by a server that died is taken over.
//!
//! A server takes a task's lease before it works on the task and renews it while it
//! works; the lease lasts [`Leases::ttl`] unrenewed. Every server also sweeps for
//! tasks mid-pipeline whose lease is missing or expired, and takes those on: that is
//! how start-up resumes work, and how work of a dead server is finished.
//!
//! Expiry is judged by each server's clock, so the servers' clocks must agree to well
//! within the lease (NTP does).
//!
//! A server that stalls past its lease (rather than dying) may find its step taken
//! over; its renewal then fails and it drops the step. The task's transitions make a
//! step that both ran apply once; a side effect already made outside (a GitHub issue)
//! may then be made twice, which is why the lease is long next to a step's length.

use std::time::Duration;

use shared_protocol::{TaskId, TaskStatus};

use crate::db::{leases, now_millis, Pool};

/// This process's leases.
#[derive(Clone, Debug)]
pub struct Leases {
    pool: Pool,
    /// Who this process is, in the lease table.
    holder: String,
    ttl: Duration,
}

/// Statuses a task is in while the pipeline owes it a step.
pub const PENDING: [TaskStatus; 3] = [
    TaskStatus::Received,
    TaskStatus::Analyzing,
    TaskStatus::Clarified,
];

impl Leases {
    pub fn new(pool: Pool, ttl: Duration) -> Self {
        let mut bytes = [0u8; 6];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        Leases {
            pool,
            holder: format!("{}-{}", std::process::id(), hex::encode(bytes)),
            ttl,
        }
    }

    fn until(&self) -> i64 {
        now_millis() + self.ttl.as_millis() as i64
    }

    /// Takes the lease on `task`; `false` if another server holds a live one.
    pub async fn claim(&self, task: TaskId) -> Result<bool, sqlx::Error> {
        leases::claim(&self.pool, task, &self.holder, now_millis(), self.until()).await
    }

    /// Runs `work` while renewing the lease on `task`, then gives the lease up. `None`
    /// if the lease was lost meanwhile (the work is then dropped: another server has
    /// the task).
    pub async fn hold<F: std::future::Future>(&self, task: TaskId, work: F) -> Option<F::Output> {
        let renew = async {
            let mut tick = tokio::time::interval(self.ttl / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match leases::renew(&self.pool, task, &self.holder, self.until()).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    // The database is unreachable: keep working; the next renewal
                    // tells whether the lease is still ours.
                    Err(e) => tracing::warn!(error = %e, %task, "renewing a pipeline lease failed"),
                }
            }
        };
        let out = tokio::select! {
            out = work => Some(out),
            _ = renew => {
                tracing::warn!(%task, "lost the pipeline lease; another server has the task");
                None
            }
        };
        if let Err(e) = leases::release(&self.pool, task, &self.holder).await {
            // It expires on its own.
            tracing::warn!(error = %e, %task, "releasing a pipeline lease failed");
        }
        out
    }

    /// Gives up every lease this process holds (it is stopping, and its steps were
    /// cut short), so another server takes them at once rather than after the lease.
    pub async fn release_all(&self) {
        match leases::release_all(&self.pool, &self.holder).await {
            Ok(n) if n > 0 => tracing::info!(leases = n, "gave up pipeline leases"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "giving up pipeline leases failed"),
        }
    }

    /// Tasks mid-pipeline that nobody holds, oldest first.
    pub async fn unclaimed(&self) -> Result<Vec<(TaskId, TaskStatus)>, sqlx::Error> {
        leases::unclaimed(&self.pool, &PENDING, now_millis(), 256).await
    }

    /// How often to sweep for unclaimed work.
    pub fn sweep_every(&self) -> Duration {
        self.ttl / 3
    }
}
