//! Task use cases: read one, list a page, create, answer clarification questions,
//! report progress. Each checks who may do it and the action limits, changes the task
//! through the task service, and hands the pipeline its next step.

pub use shared_protocol::api::{NewTask, StatusReport};
use shared_protocol::{DashboardQuery, Seq, TaskId, TimelineEntry};

use crate::auth::{CurrentUser, Reporter};
use crate::db::tasks::Task;
use crate::error::ApiError;
use crate::pipeline::Job;
use crate::state::AppState;
use crate::tasks::{Actor, Applied, Command, ListPage, Viewer};

pub fn actor(user: &CurrentUser) -> Actor {
    Actor::User {
        id: user.id,
        name: user.name.clone(),
    }
}

/// A task the viewer may see; one they may not is reported exactly like a missing one.
pub async fn read(
    state: &AppState,
    viewer: Viewer,
    id: TaskId,
) -> Result<(Task, Vec<TimelineEntry>, Seq), ApiError> {
    match state.tasks.get_with_timeline(id).await? {
        Some(found) if found.0.visibility().allows(viewer) => Ok(found),
        _ => Err(ApiError::NotFound),
    }
}

/// A task the viewer may see, without its timeline (as [`read`] reports a hidden one).
pub async fn visible(state: &AppState, viewer: Viewer, id: TaskId) -> Result<Task, ApiError> {
    match state.tasks.get(id).await? {
        Some(task) if task.visibility().allows(viewer) => Ok(task),
        _ => Err(ApiError::NotFound),
    }
}

/// Creates a task and hands it to the pipeline. The analysis starts in the create's own
/// commit: the task is never stored waiting in `received`, and both events are
/// published together. The answer is the create's own event.
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    new: NewTask,
) -> Result<Applied, ApiError> {
    state.check_action_limit(format!("user:{}", user.id))?;
    let applied = state
        .tasks
        .create(
            crate::tasks::NewTask {
                creator_id: user.id,
                creator_name: user.name.clone(),
                org_id: user.org_id,
                title: new.title,
                description: new.description,
                private: new.private,
            },
            Some(state.pipeline.first_step()),
        )
        .await?;
    state.pipeline.submit(Job::Analyse(applied.task.id())).await;
    Ok(applied)
}

/// Records answers and hands the task on to dispatch.
pub async fn answer(
    state: &AppState,
    user: &CurrentUser,
    id: TaskId,
    answers: Vec<String>,
) -> Result<Applied, ApiError> {
    state.check_action_limit(format!("user:{}", user.id))?;
    let answer = Command::Answer { answers };
    let applied = state
        .tasks
        .apply_as(user.viewer(), id, actor(user), answer)
        .await?;
    state.pipeline.submit(Job::Dispatch(id)).await;
    Ok(applied)
}

/// Sends a failed task through the pipeline again, from analysis.
pub async fn retry(state: &AppState, user: &CurrentUser, id: TaskId) -> Result<Applied, ApiError> {
    state.check_action_limit(format!("user:{}", user.id))?;
    let applied = state
        .tasks
        .apply_as(user.viewer(), id, actor(user), Command::Retry)
        .await?;
    state.pipeline.submit(Job::Analyse(id)).await;
    Ok(applied)
}

/// One page of what the viewer may see that matches `query`.
pub async fn list(
    state: &AppState,
    viewer: Viewer,
    query: &DashboardQuery,
) -> Result<ListPage, ApiError> {
    Ok(state.tasks.page(viewer, query).await?)
}

/// The command a report asks for, or why it cannot be reported.
fn report_command(report: StatusReport) -> Result<Command, ApiError> {
    let note = report.note.filter(|n| !n.trim().is_empty());
    match report.status.as_deref() {
        None => note
            .map(|text| Command::AddNote { text })
            .ok_or_else(|| ApiError::invalid("status", "give a status, a note, or both")),
        Some("coding") => Ok(Command::StartCoding { note }),
        Some("pr_open") => Ok(Command::OpenPr {
            pr_number: report.pr_number,
            pr_url: report.pr_url,
            pr_title: report.pr_title,
        }),
        Some("merged") => Ok(Command::MergePr {
            merge_commit_sha: report.merge_commit_sha,
            merged_at: None,
        }),
        Some("failed") => Ok(Command::Fail {
            reason: report
                .reason
                .or(note)
                .unwrap_or_else(|| "Reported as failed.".to_owned()),
        }),
        Some(other) => Err(ApiError::invalid(
            "status",
            format!(
                "'{}' cannot be reported; use coding, pr_open, merged or failed",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// Applies a progress report from a user (who must see the task) or an agent.
pub async fn report(
    state: &AppState,
    reporter: Reporter,
    id: TaskId,
    report: StatusReport,
) -> Result<Applied, ApiError> {
    let command = report_command(report)?;
    let applied = match &reporter {
        Reporter::User(user) => {
            state.check_action_limit(format!("user:{}", user.id))?;
            state
                .tasks
                .apply_as(user.viewer(), id, actor(user), command)
                .await?
        }
        // Agents act for the whole installation: their tokens are made by an admin.
        Reporter::Agent { name } => {
            state.check_action_limit(format!("agent:{name}"))?;
            let agent = Actor::Agent(name.clone());
            state.tasks.apply(id, agent, command).await?
        }
    };
    Ok(applied)
}
