//! Tasks: create, list, read, answer clarification questions, report a status.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shared_protocol::api::{Answers, TaskChanged, TaskListPage, TaskWithTimeline};
use shared_protocol::{DashboardQuery, TaskId};

use super::idempotency::{once, IdempotencyKey};
use super::ApiJson;
use crate::actions::tasks::{self, NewTask, StatusReport};
use crate::auth::{CurrentUser, Reporter};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tasks::Applied;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tasks", get(list_tasks).post(create_task))
        .route("/api/tasks/{id}", get(get_task))
        .route("/api/tasks/{id}/answers", post(answer_clarification))
        .route("/api/tasks/{id}/retry", post(retry_task))
        .route("/api/tasks/{id}/status", post(report_status))
}

/// Task ids in paths: anything that is not one is simply not found.
fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse::<i64>()
        .map(TaskId)
        .map_err(|_| ApiError::NotFound)
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn create_task(
    State(state): State<AppState>,
    user: CurrentUser,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewTask>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks {}", fingerprint(&body));
    let scope = format!("user:{}", user.id);
    once(&state, scope, key, request, move |state| async move {
        let applied = tasks::create(&state, &user, body).await?;
        Ok((StatusCode::CREATED, changed(applied)))
    })
    .await
}

/// The request's body, canonically, for matching a retried action to its first try.
fn fingerprint(body: &impl serde::Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// `GET /api/tasks?q=&status=&mine=1&creator=&sort=&order=&page=`: one page of the list, as the dashboard's URL
/// spells its view.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
async fn list_tasks(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ApiError> {
    let query = DashboardQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let page = tasks::list(&state, user.viewer(), &query).await?;
    Ok(axum::Json(TaskListPage {
        seq: page.seq,
        tasks: page.rows,
        counts: page.counts,
        page: query.page,
        more: page.more,
    }))
}

#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn get_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (task, timeline, seq) = tasks::read(&state, user.viewer(), task_id(&id)?).await?;
    Ok(axum::Json(TaskWithTimeline {
        seq,
        task: task.detail,
        events: timeline,
    }))
}

#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn answer_clarification(
    State(state): State<AppState>,
    user: CurrentUser,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Answers>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks/{id}/answers {}", fingerprint(&body));
    let id = task_id(&id)?;
    let scope = format!("user:{}", user.id);
    once(&state, scope, key, request, move |state| async move {
        let applied = tasks::answer(&state, &user, id, body.answers).await?;
        Ok((StatusCode::OK, changed(applied)))
    })
    .await
}

/// `POST /api/tasks/{id}/retry`: a failed task goes through the pipeline again. No body.
#[tracing::instrument(skip_all, fields(task_id = %id))]
async fn retry_task(
    State(state): State<AppState>,
    user: CurrentUser,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let request = format!("POST /api/tasks/{id}/retry");
    let id = task_id(&id)?;
    let scope = format!("user:{}", user.id);
    once(&state, scope, key, request, move |state| async move {
        let applied = tasks::retry(&state, &user, id).await?;
        Ok((StatusCode::OK, changed(applied)))
    })
    .await
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
    once(&state, scope, key, request, move |state| async move {
        apply_report(&state, reporter, id, report).await
    })
    .await
}

async fn apply_report(
    state: &AppState,
    reporter: Reporter,
    id: String,
    report: StatusReport,
) -> Result<(StatusCode, TaskChanged), ApiError> {
    let applied = tasks::report(state, reporter, task_id(&id)?, report).await?;
    Ok((StatusCode::OK, changed(applied)))
}

fn changed(applied: Applied) -> TaskChanged {
    TaskChanged {
        task: applied.task.detail,
        seq: applied.seq,
    }
}
