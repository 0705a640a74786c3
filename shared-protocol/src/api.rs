//! The JSON bodies of the HTTP API's answers, for the server that writes them and any
//! client that reads them (the schema carries them too).

use serde::{Deserialize, Serialize};

use crate::domain::{Seq, StatusCounts, TaskDetail, TaskSummary, TimelineEntry, UserId, UserRef};

/// `POST /api/tasks`, `…/answers`, `…/status`: the task as the action left it, and the
/// `seq` of the event it appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct TaskChanged {
    pub task: TaskDetail,
    pub seq: Seq,
}

/// `GET /api/tasks/{id}`: the task and its timeline, as of `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct TaskWithTimeline {
    pub seq: Seq,
    pub task: TaskDetail,
    pub events: Vec<TimelineEntry>,
}

/// `GET /api/tasks?status=&mine=1&page=`: one page of the list, as of `seq`, with the
/// viewer's counts over every task it may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct TaskListPage {
    pub seq: Seq,
    pub tasks: Vec<TaskSummary>,
    pub counts: StatusCounts,
    pub page: u32,
    /// Whether a next page has rows.
    pub more: bool,
}

/// A signed-in account as its own session describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct SessionUser {
    pub id: UserId,
    pub username: String,
    /// The name others see.
    pub name: String,
}

/// Sign-up, sign-in, refresh and password change: the account and its new session
/// token (also set as the session cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Session {
    pub user: SessionUser,
    pub token: String,
}

/// `GET /api/auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Me {
    pub user: UserRef,
}
