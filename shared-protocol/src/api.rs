//! The JSON bodies of the HTTP API, asked and answered, for the server and any client
//! (the schema carries them too). Bodies with a password have no `Debug`, so none can
//! be logged by accident.

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

/// `POST /api/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct NewTask {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Only the creator sees a private task.
    #[serde(default)]
    pub private: bool,
}

/// `POST /api/tasks/{id}/answers`: one answer per question, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Answers {
    pub answers: Vec<String>,
}

/// `POST /api/tasks/{id}/status`: a progress report from an agent or an operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
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

/// `POST /api/auth/signup`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Signup {
    pub username: String,
    pub password: String,
    /// The name others see; the username when absent.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The secret of an invite link: the account joins the team that invited it, even
    /// while open sign-up is closed. Without one, the account joins the default team.
    #[serde(default)]
    pub invite: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// `POST /api/auth/password`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}
