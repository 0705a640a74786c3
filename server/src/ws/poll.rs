//! `GET /api/live`: the socket's frames over HTTP long-polling, for networks where
//! WebSockets do not get through (some proxies, some mobile networks).
//!
//! Each request joins the rooms it names with the `seq` the client's views reflect,
//! exactly as a socket's joins do (same authorization, same filtering, a replay or a
//! snapshot by the same rule), waits until a frame is queued for it or `wait` passes,
//! collects what follows in the next moments, leaves, and answers the frames as a
//! JSON array, each one what the socket would have sent as a text frame. Nothing about
//! the client is kept between requests, so the next one may go to any server.
//!
//! `?dashboard=SEQ` joins the dashboard with `since = SEQ` (`?dashboard` alone: a
//! snapshot); `?task=ID` and `&taskSince=SEQ` the task's room; `&wait=MS` (at most
//! [`MAX_WAIT`]) bounds the hold.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared_protocol::{Seq, ServerFrame, ServerMsg, TaskId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::rooms::member::{MemberHandle, Outgoing, SharedFrame};
use crate::rooms::RoomError;
use crate::state::AppState;

/// The longest a request is held with nothing to say.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// After the first frame, how long the request waits for more before answering.
const GATHER: Duration = Duration::from_millis(20);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollQuery {
    /// Present: join the dashboard; a number: since that seq.
    dashboard: Option<String>,
    task: Option<i64>,
    task_since: Option<Seq>,
    wait: Option<u64>,
}

fn since(value: &str, field: &'static str) -> Result<Option<Seq>, ApiError> {
    match value.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(field, "a seq: a whole number")),
    }
}

/// Whether a queued frame is a task room's list of viewers.
fn is_presence(frame: &SharedFrame) -> bool {
    ServerFrame::decode(frame.as_str()).is_ok_and(|f| matches!(f.msg, ServerMsg::TaskViewers(_)))
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn poll(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<PollQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    if query.dashboard.is_none() && query.task.is_none() {
        return Err(ApiError::invalid(
            "dashboard",
            "name a view: dashboard, task, or both",
        ));
    }
    let dashboard = query
        .dashboard
        .as_deref()
        .map(|s| since(s, "dashboard"))
        .transpose()?;
    state
        .poll_limits
        .check_key(&user.id)
        .map_err(crate::limits::refused)?;
    let wait = query
        .wait
        .map(Duration::from_millis)
        .unwrap_or(MAX_WAIT)
        .min(MAX_WAIT);

    let conn_id = super::connection::next_conn_id();
    let (tx, mut queued) = mpsc::channel::<Outgoing>(state.settings.ws.queue_capacity);
    let lagged = CancellationToken::new();
    let member = MemberHandle::new(conn_id, user.to_ref(), user.org_id, tx, lagged.clone());
    let rooms = &state.rooms;
    let mut joined_dashboard = false;
    let mut joined_task = None;
    let joins = async {
        if let Some(since) = dashboard {
            rooms.dashboard().join(member.clone(), since).await?;
            joined_dashboard = true;
        }
        if let Some(id) = query.task.map(TaskId) {
            rooms
                .join_task(id, member.clone(), query.task_since)
                .await?;
            joined_task = Some(id);
        }
        Ok::<_, RoomError>(())
    }
    .await;
    // Only the rooms hold the member now: when it leaves them, the queue closes.
    drop(member);

    let mut frames: Vec<SharedFrame> = Vec::new();
    // Who is viewing the task is not news to wait for: the poll's own join changes it.
    // The newest list goes along with whatever the answer holds.
    let mut presence: Option<SharedFrame> = None;
    if joins.is_ok() {
        let stopping = state.shutdown.cancelled();
        let timeout = tokio::time::sleep(wait);
        tokio::pin!(stopping, timeout);
        loop {
            tokio::select! {
                // Nothing pings a poll's queue: it carries frames only.
                first = queued.recv() => match first.and_then(Outgoing::frame) {
                    Some(frame) if is_presence(&frame) => presence = Some(frame),
                    Some(frame) => {
                        frames.push(frame);
                        break;
                    }
                    None => break,
                },
                _ = &mut timeout => break,
                _ = lagged.cancelled() => break,
                _ = &mut stopping => break,
            }
        }
        // What follows at once (a replay's rows and counts, a burst) goes in the same
        // answer.
        while !frames.is_empty() && frames.len() < state.settings.ws.queue_capacity {
            match tokio::time::timeout(GATHER, queued.recv()).await {
                Ok(Some(Outgoing::Frame(frame))) if is_presence(&frame) => presence = Some(frame),
                Ok(Some(Outgoing::Frame(frame))) => frames.push(frame),
                _ => break,
            }
        }
    }
    frames.extend(presence);
    if joined_dashboard {
        rooms.dashboard().leave(conn_id).await;
    }
    if let Some(id) = joined_task {
        rooms.leave_task(id, conn_id).await;
    }
    match joins {
        Ok(()) => {}
        Err(RoomError::NotFound) => return Err(ApiError::NotFound),
        Err(e @ (RoomError::Gone | RoomError::Stopped)) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "joining for a poll: {e}"
            )))
        }
        Err(RoomError::Db(e)) => return Err(e.into()),
    }
    metrics::counter!("taskwire_polls_total").increment(1);
    metrics::counter!("taskwire_frames_sent_total").increment(frames.len() as u64);

    // Each frame is already the JSON the socket would send: the answer is their list.
    let mut body = String::from("[");
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame.as_str());
    }
    body.push(']');
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
