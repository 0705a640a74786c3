//! Tasks: create, list, read, answer clarification questions, report a status.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared_protocol::{DashboardQuery, Seq, TaskId, TimelineEntry};

use super::idempotency::{once, IdempotencyKey};
use super::ApiJson;
use crate::auth::{CurrentUser, Reporter};
use crate::db::tasks::Task;
use crate::error::ApiError;
use crate::pipeline::Job;
use crate::state::AppState;
use crate::tasks::{Actor, Applied, Command, Viewer};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tasks", get(list_tasks).post(create_task))
        .route("/api/tasks/{id}", get(get_task))
        .route("/api/tasks/{id}/answers", post(answer_clarification))
        .route("/api/tasks/{id}/status", post(report_status))
}

/// Task ids in paths: anything that is not one is simply not found.
fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse::<i64>()
        .map(TaskId)
        .map_err(|_| ApiError::NotFound)
}

fn actor(user: &CurrentUser) -> Actor {
    Actor::User {
        id: user.id,
        name: user.name.clone(),
    }
}

#[derive(Deserialize, serde::Serialize)]
pub struct CreateTaskBody {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Only the creator sees a private task.
    #[serde(default)]
    pub private: bool,
}

/// A task the viewer may see; one they may not is reported exactly like a missing one.
pub async fn visible_task(
    state: &AppState,
    viewer: Viewer,
    id: TaskId,
) -> Result<(Task, Vec<TimelineEntry>, Seq), ApiError> {
    match state.tasks.get_with_timeline(id).await? {
        Some(found) if found.0.visibility().allows(viewer) => Ok(found),
        _ => Err(ApiError::NotFound),
    }
}

/// Creates a task and hands it to the pipeline; shared with the page's server function.
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    body: CreateTaskBody,
) -> Result<Applied, ApiError> {
    state.check_action_limit(format!("user:{}", user.id))?;
    let applied = state
        .tasks
        .create(
            user.id,
            &user.name,
            user.org_id,
            &body.title,
            &body.description,
            body.private,
        )
        .await?;
    state.pipeline.submit(Job::Analyse(applied.task.id())).await;
    Ok(applied)
}

/// Records answers and hands the task on to dispatch; shared with the page.
pub async fn answer(
    state: &AppState,
    user: &CurrentUser,
    id: TaskId,
    answers: Vec<String>,
) -> Result<Applied, ApiError> {
    state.check_action_limit(format!("user:{}", user.id))?;
    visible_task(state, user.viewer(), id).await?;
    let applied = state
        .tasks
        .apply(id, actor(user), Command::Answer { answers })
        .await?;
    state.pipeline.submit(Job::Dispatch(id)).await;
    Ok(applied)
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn create_task(
    State(state): State<AppState>,
    user: CurrentUser,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<CreateTaskBody>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks {}", fingerprint(&body));
    once(
        &state,
        &format!("user:{}", user.id),
        key,
        &request,
        || async {
            let applied = create(&state, &user, body).await?;
            Ok((
                StatusCode::CREATED,
                json!({ "task": applied.task.detail, "seq": applied.seq }),
            ))
        },
    )
    .await
}

/// The request's body, canonically, for matching a retried action to its first try.
fn fingerprint(body: &impl serde::Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// `GET /api/tasks?status=&mine=1&page=`: one page of the list, as the dashboard's URL
/// spells its view.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn list_tasks(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ApiError> {
    let query = DashboardQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let page = state.tasks.page(user.viewer(), &query).await?;
    Ok(axum::Json(json!({
        "seq": page.seq,
        "tasks": page.rows,
        "counts": page.counts,
        "page": query.page,
        "more": page.more,
    })))
}

#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn get_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (task, timeline, seq) = visible_task(&state, user.viewer(), task_id(&id)?).await?;
    Ok(axum::Json(
        json!({ "seq": seq, "task": task.detail, "events": timeline }),
    ))
}

#[derive(Deserialize, serde::Serialize)]
pub struct AnswersBody {
    pub answers: Vec<String>,
}

#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn answer_clarification(
    State(state): State<AppState>,
    user: CurrentUser,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AnswersBody>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks/{id}/answers {}", fingerprint(&body));
    let id = task_id(&id)?;
    once(
        &state,
        &format!("user:{}", user.id),
        key,
        &request,
        || async {
            let applied = answer(&state, &user, id, body.answers).await?;
            Ok((
                StatusCode::OK,
                json!({ "task": applied.task.detail, "seq": applied.seq }),
            ))
        },
    )
    .await
}

/// A progress report from an agent or an operator.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusReport {
    /// `coding`, `pr_open`, `merged` or `failed`; absent for a plain note.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub pr_number: Option<i64>,
    #[serde(default)]
    pub pr_url: Option<String>,
    #[serde(default)]
    pub pr_title: Option<String>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
}

impl StatusReport {
    /// The command a report asks for, or why it cannot be reported.
    pub fn into_command(self) -> Result<Command, ApiError> {
        let note = self.note.filter(|n| !n.trim().is_empty());
        match self.status.as_deref() {
            None => note
                .map(|text| Command::AddNote { text })
                .ok_or_else(|| ApiError::invalid("status", "give a status, a note, or both")),
            Some("coding") => Ok(Command::StartCoding { note }),
            Some("pr_open") => Ok(Command::OpenPr {
                pr_number: self.pr_number,
                pr_url: self.pr_url,
                pr_title: self.pr_title,
            }),
            Some("merged") => Ok(Command::MergePr {
                merge_commit_sha: self.merge_commit_sha,
                merged_at: None,
            }),
            Some("failed") => Ok(Command::Fail {
                reason: self
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
}

#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn report_status(
    State(state): State<AppState>,
    reporter: Reporter,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(report): ApiJson<StatusReport>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks/{id}/status {}", fingerprint(&report));
    let scope = match &reporter {
        Reporter::User(user) => format!("user:{}", user.id),
        Reporter::Agent { name } => format!("agent:{name}"),
    };
    once(&state, &scope, key, &request, || {
        apply_report(&state, reporter, id, report)
    })
    .await
}

async fn apply_report(
    state: &AppState,
    reporter: Reporter,
    id: String,
    report: StatusReport,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let id = task_id(&id)?;
    let command = report.into_command()?;
    let actor = match &reporter {
        Reporter::User(user) => {
            state.check_action_limit(format!("user:{}", user.id))?;
            visible_task(state, user.viewer(), id).await?;
            actor(user)
        }
        // Agents act for the whole installation: their tokens are made by an admin.
        Reporter::Agent { name } => {
            state.check_action_limit(format!("agent:{name}"))?;
            Actor::Agent(name.clone())
        }
    };
    let applied = state.tasks.apply(id, actor, command).await?;
    Ok((
        StatusCode::OK,
        json!({ "task": applied.task.detail, "seq": applied.seq }),
    ))
}
