//! The pipeline around the dashboard: analysis and dispatch, run in the background.
//!
//! Handlers hand it jobs through a bounded queue; each job moves a task through the
//! task service like any other writer. A step that cannot be stored is retried with
//! backoff until it is; on start-up, tasks left mid-way by a previous process (a crash,
//! a restart during a retry) are resumed from their stored status.
//!
//! With several servers on one Postgres, each step is leased (see [`lease`]): one
//! server does it, and a step held by a server that died is taken over by another.

pub mod analyser;
pub mod github;
pub mod lease;
pub mod llm;
pub mod retry;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared_protocol::{TaskId, TaskStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::tasks::{Actor, Command, ServiceError, TaskService};
use analyser::{Analyser, Analysis};
use github::GithubClient;
use lease::Leases;

/// Hands dispatched tasks to GitHub, when it is configured.
#[derive(Clone)]
pub struct Dispatcher {
    github: Option<GithubClient>,
    /// Base of the link back to the task in the issue body.
    public_url: String,
}

impl Dispatcher {
    pub fn new(github: Option<GithubClient>, public_url: String) -> Self {
        Dispatcher { github, public_url }
    }

    /// The command that dispatches `task`: with an issue when GitHub is configured and
    /// answers; a failure with a sentence for people when it does not.
    async fn command(&self, task: &crate::db::tasks::Task) -> Command {
        let id = task.id();
        let branch = format!("task-{id}");
        let Some(github) = &self.github else {
            return Command::Dispatch {
                issue_number: None,
                issue_url: None,
                github_branch: Some(branch),
            };
        };
        let d = &task.detail;
        let body = format!(
            "{}\n\n---\nTracked in taskwire: {}/tasks/{id}\nWork on branch `{branch}` and open the pull request from it.",
            d.description,
            self.public_url.trim_end_matches('/'),
        );
        match github
            .create_issue(&d.summary.title, &body, "taskwire")
            .await
        {
            Ok(issue) => Command::Dispatch {
                issue_number: Some(issue.number),
                issue_url: Some(issue.url),
                github_branch: Some(branch),
            },
            Err(e) => {
                tracing::warn!(error = %e, "dispatch to GitHub failed");
                Command::Fail {
                    reason: format!("Could not create the GitHub issue: {e}."),
                }
            }
        }
    }
}

/// Work for the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Analyse a task in `received` (or one left in `analyzing`).
    Analyse(TaskId),
    /// Dispatch a task in `clarified`.
    Dispatch(TaskId),
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Analyse(_) => "analyse",
            Job::Dispatch(_) => "dispatch",
        }
    }

    fn task(self) -> TaskId {
        match self {
            Job::Analyse(id) | Job::Dispatch(id) => id,
        }
    }

    /// The job a task in `status` is owed, if any.
    fn for_status(id: TaskId, status: TaskStatus) -> Option<Job> {
        match status {
            TaskStatus::Received | TaskStatus::Analyzing => Some(Job::Analyse(id)),
            TaskStatus::Clarified => Some(Job::Dispatch(id)),
            _ => None,
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct PipelineHandle {
    jobs: mpsc::Sender<Job>,
    leases: Option<Leases>,
    /// The analyser's name, for the step that starts an analysis.
    analyser: Arc<str>,
}

impl PipelineHandle {
    /// Starts the pipeline worker; with `leases` (several servers on one database),
    /// each step is leased and unclaimed work is swept for.
    pub fn start(
        tasks: TaskService,
        analyser: Arc<dyn Analyser>,
        dispatcher: Dispatcher,
        analysis_delay: Duration,
        leases: Option<Leases>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(1024);
        let analyser_name = Arc::from(analyser.name());
        let worker = Worker {
            tasks,
            analyser,
            dispatcher,
            analysis_delay,
            leases: leases.clone(),
            in_flight: Default::default(),
        };
        tracker
            .clone()
            .spawn(run_pipeline(worker, rx, tracker.clone(), shutdown.clone()));
        let handle = PipelineHandle {
            jobs,
            leases,
            analyser: analyser_name,
        };
        if handle.leases.is_some() {
            tracker.spawn(handle.clone().sweep(shutdown));
        }
        handle
    }

    /// Every few seconds, queues work nobody holds (left by a server that stopped or
    /// died), until `shutdown`.
    async fn sweep(self, shutdown: CancellationToken) {
        let Some(leases) = self.leases.clone() else {
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep(leases.sweep_every()) => {}
                _ = shutdown.cancelled() => {
                    leases.release_all().await;
                    return;
                }
            }
            if let Err(e) = self.submit_unclaimed(&leases).await {
                tracing::warn!(error = %e, "sweeping for pipeline work failed; trying again");
            }
        }
    }

    async fn submit_unclaimed(&self, leases: &Leases) -> Result<(), sqlx::Error> {
        for (id, status) in leases.unclaimed().await? {
            if let Some(job) = Job::for_status(id, status) {
                self.submit(job).await;
            }
        }
        Ok(())
    }

    /// The command a new task's analysis starts with, for the create to apply in its own
    /// commit; the `Analyse` job then finds the task in `analyzing` and goes on from there.
    pub fn first_step(&self) -> (Actor, Command) {
        (
            Actor::System("analyser"),
            Command::StartAnalysis {
                analyser: self.analyser.to_string(),
            },
        )
    }

    pub async fn submit(&self, job: Job) {
        if self.jobs.send(job).await.is_err() {
            tracing::warn!(
                ?job,
                "pipeline is stopped; job dropped (it resumes at next start)"
            );
        }
    }

    /// Queues work for tasks a previous process left mid-way (with leases: that no
    /// live server holds).
    pub async fn resume(&self, tasks: &TaskService) -> Result<(), sqlx::Error> {
        if let Some(leases) = &self.leases {
            return self.submit_unclaimed(leases).await;
        }
        for status in lease::PENDING {
            for id in crate::db::tasks::ids_in_status(tasks.pool(), status).await? {
                if let Some(job) = Job::for_status(id, status) {
                    self.submit(job).await;
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Worker {
    tasks: TaskService,
    analyser: Arc<dyn Analyser>,
    dispatcher: Dispatcher,
    analysis_delay: Duration,
    leases: Option<Leases>,
    /// Tasks this process is working on, each with whether another job for it came in
    /// meanwhile; a task is never worked on twice at once.
    in_flight: Arc<Mutex<HashMap<TaskId, bool>>>,
}

async fn run_pipeline(
    worker: Worker,
    mut rx: mpsc::Receiver<Job>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            job = rx.recv() => match job { Some(job) => job, None => break },
            _ = shutdown.cancelled() => break,
        };
        let worker = worker.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = worker.run(job) => {}
                // An interrupted job is resumed from its stored status at next start.
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

/// Backoff between tries of a failed step: doubling from this, up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(100);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// What to do after a step's outcome.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Done,
    RetryAfter(Duration),
}

/// A step that could not be stored is tried again, with backoff and jitter, until it is
/// (or the server stops, after which start-up resumes it); a step that no longer
/// applies is done.
fn after(result: &Result<(), ServiceError>, attempt: u32) -> Next {
    match result {
        Ok(()) => Next::Done,
        // Someone else moved the task on (an operator, another instance), or it is gone.
        Err(ServiceError::InvalidTransition(_) | ServiceError::NotFound) => Next::Done,
        // Bad data for this task will not get better by trying again.
        Err(ServiceError::Invalid { .. } | ServiceError::BadUrl { .. }) => Next::Done,
        Err(ServiceError::Db(_) | ServiceError::NotCommitted | ServiceError::Stopped) => {
            let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
            let wait = FIRST_RETRY_WAIT
                .saturating_mul(doubling)
                .min(MAX_RETRY_WAIT);
            // Full jitter in the upper half, so retries of many tasks spread out.
            let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..=1.0);
            Next::RetryAfter(wait.mul_f64(jitter))
        }
    }
}

impl Worker {
    /// Runs `job` unless (with leases) another server holds its task. A job for a task
    /// this process is already working on is not run beside it: the running one, when
    /// it ends, does what the task's status then needs.
    #[tracing::instrument(skip(self))]
    async fn run(&self, job: Job) {
        let id = job.task();
        {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(again) = in_flight.get_mut(&id) {
                *again = true;
                return;
            }
            in_flight.insert(id, false);
        }
        let mut next = Some(job);
        loop {
            if let Some(job) = next.take() {
                self.run_leased(job).await;
            }
            {
                let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                match in_flight.get_mut(&id) {
                    Some(again) if *again => *again = false,
                    _ => {
                        in_flight.remove(&id);
                        return;
                    }
                }
            }
            next = match self.tasks.get(id).await {
                Ok(Some(task)) => Job::for_status(id, task.status()),
                Ok(None) => None,
                Err(e) => {
                    // The sweep (Postgres) or the next start-up picks it up.
                    tracing::warn!(error = %e, "reading a task for its next pipeline step failed");
                    None
                }
            };
        }
    }

    async fn run_leased(&self, job: Job) {
        let id = job.task();
        match &self.leases {
            None => self.run_steps(job).await,
            Some(leases) => match leases.claim(id).await {
                Ok(true) => {
                    leases.hold(id, self.run_steps(job)).await;
                }
                Ok(false) => {
                    metrics::counter!("taskwire_pipeline_jobs_total", "job" => job.name(), "outcome" => "held_elsewhere").increment(1);
                }
                // The sweep queues it again.
                Err(e) => tracing::warn!(error = %e, "taking a pipeline lease failed"),
            },
        }
    }

    async fn run_steps(&self, job: Job) {
        for attempt in 1u32.. {
            let result = match job {
                Job::Analyse(id) => self.analyse(id).await,
                Job::Dispatch(id) => self.dispatch(id).await,
            };
            let name = job.name();
            let outcome = match (after(&result, attempt), result) {
                (Next::Done, Ok(())) | (Next::RetryAfter(_), Ok(())) => "done",
                // Data the task cannot take (an analysis it refuses): the task must
                // not stay mid-pipeline, retried for ever; it fails, with the reason.
                (
                    Next::Done,
                    Err(e @ (ServiceError::Invalid { .. } | ServiceError::BadUrl { .. })),
                ) => {
                    tracing::warn!(%e, "pipeline step refused; failing the task");
                    let reason = format!("The pipeline could not go on: {e}.");
                    if let Err(e) = self
                        .tasks
                        .apply(
                            job.task(),
                            Actor::System("pipeline"),
                            Command::Fail { reason },
                        )
                        .await
                    {
                        tracing::warn!(error = %e, "failing the task failed");
                    }
                    "failed"
                }
                (Next::Done, Err(e)) => {
                    tracing::info!(%e, "pipeline step skipped");
                    "skipped"
                }
                (Next::RetryAfter(wait), Err(e)) => {
                    tracing::warn!(error = %e, attempt, ?wait, "pipeline step failed; will retry");
                    metrics::counter!("taskwire_pipeline_jobs_total", "job" => name, "outcome" => "retried").increment(1);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            metrics::counter!("taskwire_pipeline_jobs_total", "job" => name, "outcome" => outcome)
                .increment(1);
            return;
        }
    }

    async fn analyse(&self, id: TaskId) -> Result<(), ServiceError> {
        let name = self.analyser.name().to_owned();
        let task = self.tasks.get(id).await?.ok_or(ServiceError::NotFound)?;
        if !matches!(task.status(), TaskStatus::Received | TaskStatus::Analyzing) {
            // Analysed already (by this server a moment ago, or by another).
            return Ok(());
        }
        if task.status() == TaskStatus::Received {
            self.tasks
                .apply(
                    id,
                    Actor::System("analyser"),
                    Command::StartAnalysis {
                        analyser: name.clone(),
                    },
                )
                .await?;
        }
        tokio::time::sleep(self.analysis_delay).await;
        let d = &task.detail;
        let (analysis, note) = match self
            .analyser
            .analyse(&d.summary.title, &d.description, &d.answers)
            .await
        {
            Ok(verdict) => (verdict.analysis, verdict.note),
            Err(e) => {
                tracing::warn!(error = %e, "analyser failed; falling back to the rules");
                let note = format!(
                    "The {name} analyser could not be used: {e}. The built-in rules decided instead."
                );
                (
                    analyser::RulesAnalyser::judge(&d.description, &d.answers),
                    Some(note),
                )
            }
        };
        if let Some(text) = note {
            self.tasks
                .apply(id, Actor::System("analyser"), Command::AddNote { text })
                .await?;
        }
        let command = match analysis {
            Analysis::Actionable => self.dispatcher.command(&task).await,
            Analysis::NeedsClarification(questions) => Command::AskClarification {
                questions,
                analyser: name,
            },
        };
        self.tasks
            .apply(id, Actor::System("analyser"), command)
            .await?;
        Ok(())
    }

    async fn dispatch(&self, id: TaskId) -> Result<(), ServiceError> {
        tokio::time::sleep(self.analysis_delay / 2).await;
        let task = self.tasks.get(id).await?.ok_or(ServiceError::NotFound)?;
        if task.status() != TaskStatus::Clarified {
            // Dispatched already, or moved on: no second GitHub issue.
            return Ok(());
        }
        let command = self.dispatcher.command(&task).await;
        self.tasks
            .apply(id, Actor::System("dispatcher"), command)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_is_retried_with_growing_capped_waits_and_a_moot_step_is_not() {
        let failed: Result<(), ServiceError> = Err(ServiceError::NotCommitted);
        let waits: Vec<Duration> = (1..=12)
            .map(|attempt| match after(&failed, attempt) {
                Next::RetryAfter(wait) => wait,
                Next::Done => panic!("a failed write must be retried"),
            })
            .collect();
        assert!(waits[0] >= FIRST_RETRY_WAIT / 2 && waits[0] <= FIRST_RETRY_WAIT);
        assert!(waits[4] >= FIRST_RETRY_WAIT * 8, "doubling: {waits:?}");
        assert!(waits.iter().all(|w| *w <= MAX_RETRY_WAIT));
        assert!(waits[11] >= MAX_RETRY_WAIT / 2, "capped, not stuck small");

        assert_eq!(after(&Ok(()), 1), Next::Done);
        assert_eq!(after(&Err(ServiceError::NotFound), 1), Next::Done);
        let moot = Err(ServiceError::InvalidTransition(
            crate::tasks::TransitionError {
                from: TaskStatus::Dispatched,
                command: crate::tasks::CommandKind::Dispatch,
            },
        ));
        assert_eq!(after(&moot, 1), Next::Done);
    }
}
