//! The pipeline around the dashboard: analysis and dispatch, run in the background.
//!
//! Handlers hand it jobs through a bounded queue; each job moves a task through the
//! task service like any other writer. On start-up, tasks left mid-way by a previous
//! process are resumed.

pub mod analyser;

use std::sync::Arc;
use std::time::Duration;

use shared_protocol::{TaskId, TaskStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::tasks::{Actor, Command, ServiceError, TaskService};
use analyser::{Analyser, Analysis};

/// Work for the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Analyse a task in `received` (or one left in `analyzing`).
    Analyse(TaskId),
    /// Dispatch a task in `clarified`.
    Dispatch(TaskId),
}

/// Cheap to clone.
#[derive(Clone)]
pub struct PipelineHandle {
    jobs: mpsc::Sender<Job>,
}

impl PipelineHandle {
    /// Starts the pipeline worker.
    pub fn start(
        tasks: TaskService,
        analyser: Arc<dyn Analyser>,
        analysis_delay: Duration,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(1024);
        let worker = Worker {
            tasks,
            analyser,
            analysis_delay,
        };
        tracker
            .clone()
            .spawn(run_pipeline(worker, rx, tracker, shutdown));
        PipelineHandle { jobs }
    }

    pub async fn submit(&self, job: Job) {
        if self.jobs.send(job).await.is_err() {
            tracing::warn!(
                ?job,
                "pipeline is stopped; job dropped (it resumes at next start)"
            );
        }
    }

    /// Queues work for tasks a previous process left mid-way.
    pub async fn resume(&self, tasks: &TaskService) -> Result<(), sqlx::Error> {
        for status in [TaskStatus::Received, TaskStatus::Analyzing] {
            for id in crate::db::tasks::ids_in_status(tasks.pool(), status).await? {
                self.submit(Job::Analyse(id)).await;
            }
        }
        for id in crate::db::tasks::ids_in_status(tasks.pool(), TaskStatus::Clarified).await? {
            self.submit(Job::Dispatch(id)).await;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Worker {
    tasks: TaskService,
    analyser: Arc<dyn Analyser>,
    analysis_delay: Duration,
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

impl Worker {
    #[tracing::instrument(skip(self))]
    async fn run(&self, job: Job) {
        let result = match job {
            Job::Analyse(id) => self.analyse(id).await,
            Job::Dispatch(id) => self.dispatch(id).await,
        };
        match result {
            Ok(()) => {}
            // Someone else moved the task on (an operator, another instance): fine.
            Err(ServiceError::InvalidTransition(e)) => tracing::info!(%e, "pipeline step skipped"),
            Err(e) => tracing::error!(error = %e, "pipeline step failed"),
        }
    }

    async fn analyse(&self, id: TaskId) -> Result<(), ServiceError> {
        let name = self.analyser.name().to_owned();
        let (task, _, _) = self
            .tasks
            .get_with_timeline(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
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
        let analysis = match self
            .analyser
            .analyse(&d.summary.title, &d.description, &d.answers)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "analyser failed; falling back to the rules");
                analyser::RulesAnalyser::judge(&d.description, &d.answers)
            }
        };
        let command = match analysis {
            Analysis::Actionable => dispatch_command(),
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
        self.tasks
            .apply(id, Actor::System("dispatcher"), dispatch_command())
            .await?;
        Ok(())
    }
}

/// Dispatch without an issue tracker: the task is ready for an agent, with no issue link.
fn dispatch_command() -> Command {
    Command::Dispatch {
        issue_number: None,
        issue_url: None,
        github_branch: None,
    }
}
