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
use shared_protocol::{Seq, TaskId};
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

/// How a task room's list of viewers starts, as `ServerFrame::to_json` writes it (it has
/// no `seq`); pinned by a test below.
const PRESENCE_PREFIX: &str = r#"{"v":1,"type":"task:viewers","#;

/// Whether a queued frame is a task room's list of viewers.
fn is_presence(frame: &SharedFrame) -> bool {
    frame.as_str().starts_with(PRESENCE_PREFIX)
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
    // The list of viewers a task room sends every newcomer is not news to wait for (the
    // poll's own join made it): it goes first in whatever the answer holds. A later one
    // (someone else came or went) is news.
    let mut welcome: Option<SharedFrame> = None;
    if joins.is_ok() {
        let mut welcome_due = joined_task.is_some();
        let stopping = state.shutdown.cancelled();
        let timeout = tokio::time::sleep(wait);
        tokio::pin!(stopping, timeout);
        loop {
            tokio::select! {
                // Nothing pings a poll's queue: it carries frames only.
                first = queued.recv() => match first.and_then(Outgoing::frame) {
                    Some(frame) if welcome_due && is_presence(&frame) => {
                        welcome_due = false;
                        welcome = Some(frame);
                    }
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
                Ok(Some(Outgoing::Frame(frame))) => frames.push(frame),
                _ => break,
            }
        }
    }
    if let Some(welcome) = welcome {
        frames.insert(0, welcome);
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::ws::Utf8Bytes;
    use shared_protocol::*;

    use super::*;

    fn queued(frame: ServerFrame) -> SharedFrame {
        Arc::new(Utf8Bytes::from(frame.to_json()))
    }

    #[test]
    fn presence_is_told_from_other_frames_by_how_it_is_written() {
        let viewers = ServerFrame::new(ServerMsg::TaskViewers(TaskViewers {
            task_id: TaskId(7),
            viewers: vec!["ada".into()],
        }));
        assert!(is_presence(&queued(viewers)));
        let counts = ServerFrame::at(
            3,
            ServerMsg::TaskCountChanged(TaskCountChanged {
                counts: StatusCounts::default(),
            }),
        );
        assert!(!is_presence(&queued(counts)));
        let pong = ServerFrame::new(ServerMsg::Pong(Ping { nonce: 1 }));
        assert!(!is_presence(&queued(pong)));
    }
}
