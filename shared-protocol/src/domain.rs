//! Domain values shared by both sides: ids, statuses, task rows and details.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Position in the global, gap-free event log.
pub type Seq = u64;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// A task's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A user's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct UserId(pub i64);

/// Where a task is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Received,
    Analyzing,
    NeedsClarification,
    Clarified,
    Dispatched,
    Coding,
    PrOpen,
    Merged,
    Failed,
}

impl TaskStatus {
    /// Every status, in pipeline order.
    pub const ALL: [TaskStatus; 9] = [
        TaskStatus::Received,
        TaskStatus::Analyzing,
        TaskStatus::NeedsClarification,
        TaskStatus::Clarified,
        TaskStatus::Dispatched,
        TaskStatus::Coding,
        TaskStatus::PrOpen,
        TaskStatus::Merged,
        TaskStatus::Failed,
    ];

    /// The wire and database spelling (`needs_clarification`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Received => "received",
            TaskStatus::Analyzing => "analyzing",
            TaskStatus::NeedsClarification => "needs_clarification",
            TaskStatus::Clarified => "clarified",
            TaskStatus::Dispatched => "dispatched",
            TaskStatus::Coding => "coding",
            TaskStatus::PrOpen => "pr_open",
            TaskStatus::Merged => "merged",
            TaskStatus::Failed => "failed",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Received => "Received",
            TaskStatus::Analyzing => "Analyzing",
            TaskStatus::NeedsClarification => "Needs clarification",
            TaskStatus::Clarified => "Clarified",
            TaskStatus::Dispatched => "Dispatched",
            TaskStatus::Coding => "Coding",
            TaskStatus::PrOpen => "PR open",
            TaskStatus::Merged => "Merged",
            TaskStatus::Failed => "Failed",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something, as shown to people (never an email, token or hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
}

/// A dashboard row: what every viewer of the dashboard needs about a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: TaskId,
    pub title: String,
    pub status: TaskStatus,
    pub creator: UserRef,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The `seq` of the last event that changed this task.
    pub last_seq: Seq,
    /// Only its creator can see a private task.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Everything the task page shows besides the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskDetail {
    #[serde(flatten)]
    pub summary: TaskSummary,
    pub description: String,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl TaskDetail {
    /// A task as it is created: its row and description, and nothing the pipeline adds
    /// later (no questions, answers, links or error).
    pub fn new(summary: TaskSummary, description: String) -> Self {
        TaskDetail {
            summary,
            description,
            questions: Vec::new(),
            answers: Vec::new(),
            issue_number: None,
            issue_url: None,
            github_branch: None,
            pr_number: None,
            pr_url: None,
            pr_title: None,
            merge_commit_sha: None,
            error_message: None,
        }
    }
}

/// One line of a task's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub seq: Seq,
    /// The event's wire type, e.g. `task:dispatched`.
    pub kind: String,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// A sentence for people.
    pub text: String,
}

/// How many tasks are in each status; statuses with no task may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct StatusCounts(pub BTreeMap<TaskStatus, u64>);

impl StatusCounts {
    pub fn get(&self, status: TaskStatus) -> u64 {
        self.0.get(&status).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Moves one task from `from` (if any) to `to`.
    pub fn shift(&mut self, from: Option<TaskStatus>, to: TaskStatus) {
        if let Some(from) = from {
            if let Some(n) = self.0.get_mut(&from) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.0.remove(&from);
                }
            }
        }
        *self.0.entry(to).or_insert(0) += 1;
    }

    /// Counts a set of rows.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a TaskSummary>) -> StatusCounts {
        let mut counts = StatusCounts::default();
        for row in rows {
            counts.shift(None, row.status);
        }
        counts
    }
}

/// Whether `url` may be shown as a link: an absolute `http://` or `https://` address
/// with no spaces or control characters. Anything else (`javascript:`, `data:`, a
/// relative path) is text, never an `href`.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty()
        && !rest.starts_with('/')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::is_web_url;

    #[test]
    fn only_absolute_http_addresses_are_links() {
        for ok in [
            "https://github.com/acme/app/pull/2",
            "HTTP://example.com",
            "http://127.0.0.1:3000/x?y=1#z",
        ] {
            assert!(is_web_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "//evil.example/x",
            "/tasks/1",
            "https://",
            "https:///path",
            "https://a b",
            "https://a\u{0}b",
            "",
            "ht",
        ] {
            assert!(!is_web_url(bad), "{bad:?}");
        }
    }
}
