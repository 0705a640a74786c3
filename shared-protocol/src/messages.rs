//! Message payloads, and the two message enums.
//!
//! Field names are camelCase on the wire. Every task event carries an [`EventMeta`]
//! (which task, when, who, and the task's dashboard row after the change) flattened into
//! its `data`, so any single event is enough to update both a dashboard row and a task
//! page.

use serde::{Deserialize, Serialize};

use crate::domain::*;

/// Fields common to every `task:*` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventMeta {
    pub task_id: TaskId,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The task's row after this event.
    pub task: TaskSummary,
}

/// `task:created`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskCreated {
    #[serde(flatten)]
    pub meta: EventMeta,
    pub description: String,
}

/// `task:analyzing`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskAnalyzing {
    #[serde(flatten)]
    pub meta: EventMeta,
    /// Which analyser is looking at the task (`rules`, or an LLM's name).
    pub analyser: String,
}

/// `task:clarification_needed`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClarificationNeeded {
    #[serde(flatten)]
    pub meta: EventMeta,
    pub questions: Vec<String>,
    pub analyser: String,
}

/// `task:clarified`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskClarified {
    #[serde(flatten)]
    pub meta: EventMeta,
    pub answers: Vec<String>,
}

/// `task:dispatched`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskDispatched {
    #[serde(flatten)]
    pub meta: EventMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_branch: Option<String>,
}

/// `task:coding`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskCoding {
    #[serde(flatten)]
    pub meta: EventMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `task:pr_opened`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PrOpened {
    #[serde(flatten)]
    pub meta: EventMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_title: Option<String>,
}

/// `task:pr_merged`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PrMerged {
    #[serde(flatten)]
    pub meta: EventMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<Millis>,
}

/// `task:pr_closed`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PrClosed {
    #[serde(flatten)]
    pub meta: EventMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<i64>,
}

/// `task:failed`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskFailed {
    #[serde(flatten)]
    pub meta: EventMeta,
    /// A sentence for people; never a raw error.
    pub reason: String,
}

/// `task:retried`: someone sent a failed task through the pipeline again (`actor` says
/// who); it is `received` again and will be analysed afresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskRetried {
    #[serde(flatten)]
    pub meta: EventMeta,
}

/// `task:event_added`: a timeline note that does not change the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventAdded {
    #[serde(flatten)]
    pub meta: EventMeta,
    pub text: String,
}

/// `task:state`: a task page's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    pub task: TaskDetail,
    pub timeline: Vec<TimelineEntry>,
}

/// `dashboard:state`: the dashboard's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DashboardState {
    pub tasks: Vec<TaskSummary>,
    pub counts: StatusCounts,
}

/// `dashboard:task_list_updated`: a row's newest state, and, when its status changed,
/// the viewer's counts after it (one frame where a separate count frame would double
/// the traffic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskListUpdated {
    pub task: TaskSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<StatusCounts>,
    /// With `counts`: the status the task had before this change (absent for a new
    /// task), so a client that counts a narrower view (its own tasks, a search) can
    /// move its counts by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<TaskStatus>,
}

/// `dashboard:task_count_changed`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskCountChanged {
    pub counts: StatusCounts,
}

/// `task:viewers`: who is looking at a task page (names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskViewers {
    pub task_id: TaskId,
    pub viewers: Vec<String>,
}

/// `hello`: the first frame on every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub user: UserRef,
    pub server_version: String,
    /// How often the server pings; a client that hears nothing for a few of these
    /// should reconnect.
    pub heartbeat_ms: u64,
}

/// `ping` / `pong`: an application-level round trip; the pong echoes the nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Ping {
    pub nonce: u64,
}

/// Stable machine codes of `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, or no `type`.
    MalformedFrame,
    /// `v` is not a version this server speaks.
    UnsupportedVersion,
    /// `type` names no message.
    UnknownType,
    /// `data` does not have the message's shape.
    InvalidData,
    /// A frame over the size limit.
    FrameTooLarge,
    /// A binary frame; the protocol is JSON text.
    BinaryNotSupported,
    /// No such task, or one the user may not see.
    NotFound,
    /// The connection sends too fast.
    RateLimited,
    /// The session expired; refresh it and reconnect.
    AuthExpired,
    /// The connection could not keep up and is being closed; reconnect and resync.
    SlowConsumer,
    /// The connection joined too many rooms.
    TooManyRooms,
    /// The server is shutting down; reconnect shortly.
    ShuttingDown,
    /// Something failed on the server; nothing was changed.
    Internal,
}

/// `error`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// An empty `data` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Empty {}

/// `dashboard:join`: subscribe to the dashboard; with `since`, replay what came after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DashboardJoin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Seq>,
}

/// `task:join`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskJoin {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Seq>,
}

/// `task:leave`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskLeave {
    pub task_id: TaskId,
}

/// Which subscription a `resync_requested` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(tag = "room", rename_all = "camelCase")]
pub enum RoomRef {
    #[serde(rename = "dashboard")]
    Dashboard,
    #[serde(rename = "task")]
    Task {
        #[serde(rename = "taskId")]
        task_id: TaskId,
    },
}

/// `resync_requested`: the client suspects it missed something in a room it has joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResyncRequested {
    #[serde(flatten)]
    pub room: RoomRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Seq>,
}

/// A message enum whose variants each carry their wire name once: the serde `rename`,
/// the `TYPES` list and `type_name` all come from it. Variants listed under `events`
/// are the `task:*` events of the log: each carries an [`EventMeta`] as `meta`, and
/// they make up `EVENT_TYPES` and `event_meta`.
macro_rules! wire_messages {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($wire:tt => $variant:ident($data:ty),)*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                #[serde(rename = $wire)]
                $variant($data),
            )*
        }

        impl $name {
            /// Every wire type of this direction.
            pub const TYPES: &'static [&'static str] = &[$($wire),*];

            /// The wire type of this message.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $($name::$variant(_) => $wire,)*
                }
            }

            /// Reads the message of wire type `kind` from the JSON text of its `data`;
            /// `None` for a type this direction does not have. (Only the data's own type
            /// is decoded: serde's tagged-enum decoder would also compile a buffered path
            /// for every message, for frames that put `data` before `type`.)
            pub fn from_data(kind: &str, data: &str) -> Option<serde_json::Result<Self>> {
                Some(match kind {
                    $($wire => serde_json::from_str::<$data>(data).map($name::$variant),)*
                    _ => return None,
                })
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($wire:tt => $variant:ident($data:ty),)*
        }
        events {
            $($ewire:tt => $evariant:ident($edata:ty),)*
        }
    ) => {
        wire_messages! {
            $(#[$meta])*
            pub enum $name {
                $($wire => $variant($data),)*
                $($ewire => $evariant($edata),)*
            }
        }

        impl $name {
            /// The wire types of the log's events.
            pub const EVENT_TYPES: &'static [&'static str] = &[$($ewire),*];

            /// The common part of an event of the log; `None` for other messages.
            pub fn event_meta(&self) -> Option<&EventMeta> {
                match self {
                    $($name::$evariant(e) => Some(&e.meta),)*
                    _ => None,
                }
            }
        }
    };
}

wire_messages! {
    /// Client → server.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
    #[serde(tag = "type", content = "data")]
    pub enum ClientMsg {
        "dashboard:join" => DashboardJoin(DashboardJoin),
        "dashboard:leave" => DashboardLeave(Empty),
        "task:join" => TaskJoin(TaskJoin),
        "task:leave" => TaskLeave(TaskLeave),
        "resync_requested" => ResyncRequested(ResyncRequested),
        "ping" => Ping(Ping),
    }
}

wire_messages! {
    /// Server → client.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
    #[serde(tag = "type", content = "data")]
    pub enum ServerMsg {
        "hello" => Hello(Hello),
        "pong" => Pong(Ping),
        "error" => Error(ErrorBody),
        "dashboard:state" => DashboardState(DashboardState),
        "dashboard:task_list_updated" => TaskListUpdated(TaskListUpdated),
        "dashboard:task_count_changed" => TaskCountChanged(TaskCountChanged),
        "task:state" => TaskState(TaskState),
        "task:viewers" => TaskViewers(TaskViewers),
    }
    events {
        "task:created" => TaskCreated(TaskCreated),
        "task:analyzing" => TaskAnalyzing(TaskAnalyzing),
        "task:clarification_needed" => ClarificationNeeded(ClarificationNeeded),
        "task:clarified" => TaskClarified(TaskClarified),
        "task:dispatched" => TaskDispatched(TaskDispatched),
        "task:coding" => TaskCoding(TaskCoding),
        "task:pr_opened" => PrOpened(PrOpened),
        "task:pr_merged" => PrMerged(PrMerged),
        "task:pr_closed" => PrClosed(PrClosed),
        "task:failed" => TaskFailed(TaskFailed),
        "task:retried" => TaskRetried(TaskRetried),
        "task:event_added" => EventAdded(EventAdded),
    }
}

impl ServerMsg {
    /// The timeline line a `task:*` event adds; `None` for other messages.
    pub fn timeline_entry(&self, seq: Seq) -> Option<TimelineEntry> {
        let meta = self.event_meta()?;
        let text = match self {
            ServerMsg::TaskCreated(_) => "Task created".to_owned(),
            ServerMsg::TaskAnalyzing(e) => format!("Analysis started ({})", e.analyser),
            ServerMsg::ClarificationNeeded(e) => match e.questions.len() {
                1 => "1 clarification question asked".to_owned(),
                n => format!("{n} clarification questions asked"),
            },
            ServerMsg::TaskClarified(_) => "Clarification answered".to_owned(),
            ServerMsg::TaskDispatched(e) => match e.issue_number {
                Some(n) => format!("Dispatched to GitHub issue #{n}"),
                None => "Dispatched (no GitHub issue)".to_owned(),
            },
            ServerMsg::TaskCoding(e) => match &e.note {
                Some(note) => format!("Coding started: {note}"),
                None => "Coding started".to_owned(),
            },
            ServerMsg::PrOpened(e) => match e.pr_number {
                Some(n) => format!("Pull request #{n} opened"),
                None => "Pull request opened".to_owned(),
            },
            ServerMsg::PrMerged(_) => "Pull request merged".to_owned(),
            ServerMsg::PrClosed(_) => "Pull request closed without merging".to_owned(),
            ServerMsg::TaskFailed(e) => format!("Failed: {}", e.reason),
            ServerMsg::TaskRetried(_) => "Retried".to_owned(),
            ServerMsg::EventAdded(e) => e.text.clone(),
            _ => return None,
        };
        Some(TimelineEntry {
            seq,
            kind: self.type_name().to_owned(),
            at: meta.at,
            actor: meta.actor.clone(),
            text,
        })
    }
}
