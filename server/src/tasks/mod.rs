//! The task service: the only way a task is created or its status changes.
//!
//! Each command validates the transition, updates the task and appends exactly one
//! event, all or nothing; the [`writer`] runs commands in batches, in one group commit
//! (each in its own savepoint when there are several), and only after commit are they
//! handed to the sequencer to publish.
//! Nothing is shown that is not stored.

pub mod transitions;
pub mod writer;

use std::sync::Arc;

use crate::db::{Conn, Pool};
use shared_protocol::*;

use crate::db::events::StoredEvent;
use crate::db::{self, events, tasks::Task, Db};
use crate::rooms::sequencer::Commits;
pub use crate::visibility::{Viewer, Visibility};
pub use transitions::{next_status, CommandKind, TransitionError};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest answer or note, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Longest pull request title, in characters (GitHub's own limit).
pub const MAX_PR_TITLE_CHARS: usize = 256;
/// Longest link, in characters.
pub const MAX_URL_CHARS: usize = 2_000;

/// Something that happens to a task, with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartAnalysis {
        analyser: String,
    },
    AskClarification {
        questions: Vec<String>,
        analyser: String,
    },
    Answer {
        answers: Vec<String>,
    },
    Dispatch {
        issue_number: Option<i64>,
        issue_url: Option<String>,
        github_branch: Option<String>,
    },
    StartCoding {
        note: Option<String>,
    },
    OpenPr {
        pr_number: Option<i64>,
        pr_url: Option<String>,
        pr_title: Option<String>,
    },
    MergePr {
        merge_commit_sha: Option<String>,
        merged_at: Option<i64>,
    },
    ClosePr {
        pr_number: Option<i64>,
    },
    Fail {
        reason: String,
    },
    Retry,
    AddNote {
        text: String,
    },
}

impl Command {
    /// Every text the command carries.
    fn texts(&self) -> Vec<&str> {
        match self {
            Command::Dispatch {
                issue_url,
                github_branch,
                ..
            } => [issue_url, github_branch]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            Command::StartCoding { note } => note.iter().map(String::as_str).collect(),
            Command::OpenPr {
                pr_url, pr_title, ..
            } => [pr_url, pr_title]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            Command::MergePr {
                merge_commit_sha, ..
            } => merge_commit_sha.iter().map(String::as_str).collect(),
            Command::StartAnalysis { analyser } => vec![analyser],
            Command::AskClarification {
                questions,
                analyser,
            } => std::iter::once(analyser)
                .chain(questions)
                .map(String::as_str)
                .collect(),
            Command::Answer { answers } => answers.iter().map(String::as_str).collect(),
            Command::Fail { reason } => vec![reason],
            Command::AddNote { text } => vec![text],
            Command::ClosePr { .. } | Command::Retry => Vec::new(),
        }
    }

    pub fn kind(&self) -> CommandKind {
        match self {
            Command::StartAnalysis { .. } => CommandKind::StartAnalysis,
            Command::AskClarification { .. } => CommandKind::AskClarification,
            Command::Answer { .. } => CommandKind::Answer,
            Command::Dispatch { .. } => CommandKind::Dispatch,
            Command::StartCoding { .. } => CommandKind::StartCoding,
            Command::OpenPr { .. } => CommandKind::OpenPr,
            Command::MergePr { .. } => CommandKind::MergePr,
            Command::ClosePr { .. } => CommandKind::ClosePr,
            Command::Fail { .. } => CommandKind::Fail,
            Command::Retry => CommandKind::Retry,
            Command::AddNote { .. } => CommandKind::AddNote,
        }
    }
}

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
        name: String,
    },
    /// An agent or script with a service token, by the token's name.
    Agent(String),
    /// A part of the pipeline (`analyser`, `dispatcher`, `github`).
    System(&'static str),
}

impl Actor {
    fn name(&self) -> String {
        match self {
            Actor::User { name, .. } | Actor::Agent(name) => name.clone(),
            Actor::System(name) => (*name).to_owned(),
        }
    }

    fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::Agent(_) | Actor::System(_) => None,
        }
    }
}

/// Why a command was not applied. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no such task")]
    NotFound,
    #[error(transparent)]
    InvalidTransition(#[from] TransitionError),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A link that is not an `http(s)` address.
    #[error("{field} must be an http(s) address")]
    BadUrl { field: &'static str },
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// The batch it was in could not be committed; nothing of it was applied.
    #[error("the change could not be saved")]
    NotCommitted,
    /// The writer is gone (the server is stopping).
    #[error("the server is stopping")]
    Stopped,
}

/// The result of an applied command: the task after it, and its event's seq.
#[derive(Debug, Clone)]
pub struct Applied {
    pub task: Task,
    pub seq: Seq,
}

/// A new task, as its creator wrote it.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub creator_id: i64,
    pub creator_name: String,
    pub org_id: i64,
    pub title: String,
    pub description: String,
    pub private: bool,
}

/// One page of the task list, as [`TaskService::page`] reads it.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub rows: Vec<TaskSummary>,
    /// Whether a next page has rows.
    pub more: bool,
    /// The viewer's counts over every task it may see, not just this page.
    pub counts: StatusCounts,
    pub seq: Seq,
}

/// Creates tasks and applies commands. Cheap to clone.
#[derive(Clone)]
pub struct TaskService {
    /// Readers; writes go through `writer`.
    pool: Pool,
    writer: writer::WriterHandle,
}

impl TaskService {
    /// Starts the writer on `db.write`; `committed` is handed the events of every commit.
    pub fn new(db: &Db, committed: Arc<Commits>) -> Self {
        TaskService {
            pool: db.read.clone(),
            writer: writer::WriterHandle::start(db.write.clone(), committed),
        }
    }

    /// Creates a task in `received` and appends `task:created`; with `first_step`, also
    /// applies that command to the new task in the same commit (all or nothing), so the
    /// two events are published together.
    #[tracing::instrument(skip_all, fields(creator_id = new.creator_id))]
    pub async fn create(
        &self,
        new: NewTask,
        first_step: Option<(Actor, Command)>,
    ) -> Result<Applied, ServiceError> {
        let new = NewTask {
            title: new.title.trim().to_owned(),
            description: new.description.trim().to_owned(),
            ..new
        };
        check_len("title", &new.title, 1, MAX_TITLE_CHARS)?;
        one_line("title", &new.title)?;
        check_len("description", &new.description, 0, MAX_DESCRIPTION_CHARS)?;
        if let Some((_, command)) = &first_step {
            validate(command)?;
        }
        let applied = self
            .writer
            .write(writer::Write::Create { new, first_step })
            .await?;
        tracing::info!(task_id = %applied.task.id(), seq = applied.seq, "task created");
        Ok(applied)
    }

    /// Applies `command` to task `id` if its status allows it.
    #[tracing::instrument(skip(self, command), fields(command = ?command.kind()))]
    pub async fn apply(
        &self,
        id: TaskId,
        actor: Actor,
        command: Command,
    ) -> Result<Applied, ServiceError> {
        self.apply_checked(id, actor, command, None).await
    }

    /// Like [`TaskService::apply`], for someone who must be able to see the task: a
    /// task `viewer` may not see is not found. The check reads the same row the change
    /// is made to, in the same transaction.
    pub async fn apply_as(
        &self,
        viewer: Viewer,
        id: TaskId,
        actor: Actor,
        command: Command,
    ) -> Result<Applied, ServiceError> {
        self.apply_checked(id, actor, command, Some(viewer)).await
    }

    async fn apply_checked(
        &self,
        id: TaskId,
        actor: Actor,
        command: Command,
        viewer: Option<Viewer>,
    ) -> Result<Applied, ServiceError> {
        validate(&command)?;
        let write = writer::Write::Apply {
            id,
            actor,
            command,
            viewer,
        };
        let applied = self.writer.write(write).await?;
        tracing::info!(task_id = %id, seq = applied.seq, status = %applied.task.status(), "task changed");
        Ok(applied)
    }

    /// One task, without its timeline.
    pub async fn get(&self, id: TaskId) -> Result<Option<Task>, ServiceError> {
        let mut conn = self.pool.acquire().await?;
        Ok(db::tasks::get(&mut conn, id).await?)
    }

    /// A task and its timeline, as of one consistent read.
    pub async fn get_with_timeline(
        &self,
        id: TaskId,
    ) -> Result<Option<(Task, Vec<TimelineEntry>, Seq)>, ServiceError> {
        let mut tx = db::begin_read(&self.pool).await?;
        let Some(task) = db::tasks::get(&mut tx, id).await? else {
            return Ok(None);
        };
        let timeline = events::timeline(&mut tx, id).await?;
        let seq = events::max_seq(&mut tx).await?;
        tx.commit().await?;
        Ok(Some((task, timeline, seq)))
    }

    /// Every task and the seq the list reflects, as of one consistent read.
    pub async fn list(&self) -> Result<(Vec<Task>, Seq), ServiceError> {
        let mut tx = db::begin_read(&self.pool).await?;
        let tasks = db::tasks::list(&mut tx).await?;
        let seq = events::max_seq(&mut tx).await?;
        tx.commit().await?;
        Ok((tasks, seq))
    }

    /// One page of what `viewer` may see, whether more follow, the viewer's counts, and
    /// the seq all of it reflects, as of one consistent read.
    pub async fn page(
        &self,
        viewer: Viewer,
        query: &DashboardQuery,
    ) -> Result<ListPage, ServiceError> {
        let mut tx = db::begin_read(&self.pool).await?;
        let (tasks, more) = db::tasks::page(&mut tx, viewer, query).await?;
        let counts = db::tasks::counts(&mut tx, viewer, query).await?;
        let seq = events::max_seq(&mut tx).await?;
        tx.commit().await?;
        Ok(ListPage {
            rows: tasks.into_iter().map(|t| t.detail.summary).collect(),
            more,
            counts,
            seq,
        })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Inserts a task and its `task:created` event on `conn` (inside the writer's
/// transaction), and with `first_step`, applies that command to it too: the task as
/// created, and the events as the log holds them. The seqs of both are taken at once
/// and the step works on the task as inserted, not on a second read of it.
async fn create_in(
    conn: &mut Conn,
    new: &NewTask,
    first_step: Option<(Actor, Command)>,
) -> Result<(Applied, Vec<StoredEvent>), ServiceError> {
    let now = db::now_millis();
    let seq = events::next_seqs(conn, if first_step.is_some() { 2 } else { 1 }).await?;
    let task = db::tasks::insert(
        conn,
        db::tasks::NewTask {
            title: &new.title,
            description: &new.description,
            creator_id: new.creator_id,
            org_id: new.org_id,
            private: new.private,
        },
        now,
        seq,
    )
    .await?;
    let event = ServerMsg::TaskCreated(TaskCreated {
        meta: EventMeta {
            task_id: task.id(),
            at: now,
            actor: Some(new.creator_name.clone()),
            task: task.detail.summary.clone(),
        },
        description: new.description.clone(),
    });
    events::append(conn, seq, task.id(), &event, Some(new.creator_id), now).await?;
    let step = match first_step {
        Some((actor, command)) => {
            let to = check(&task, &command)?;
            let (_, step) = apply_to(conn, task.clone(), &actor, command, to, seq + 1).await?;
            Some(step)
        }
        None => None,
    };
    let (created, event) = logged(task, seq, event);
    Ok((created, std::iter::once(event).chain(step).collect()))
}

/// Checks and applies one command to task `id` on `conn` (inside the writer's
/// transaction); the result, and the event as the log holds it.
async fn apply_in(
    conn: &mut Conn,
    id: TaskId,
    actor: &Actor,
    command: Command,
    viewer: Option<Viewer>,
) -> Result<(Applied, StoredEvent), ServiceError> {
    let task = db::tasks::get(conn, id)
        .await?
        .filter(|task| viewer.is_none_or(|v| task.visibility().allows(v)))
        .ok_or(ServiceError::NotFound)?;
    let to = check(&task, &command)?;
    let seq = events::next_seqs(conn, 1).await?;
    apply_to(conn, task, actor, command, to, seq).await
}

/// The status `command` takes `task` to, if it may be applied to it.
fn check(task: &Task, command: &Command) -> Result<TaskStatus, ServiceError> {
    let to = next_status(task.status(), command.kind())?;
    if let Command::Answer { answers } = command {
        if answers.len() != task.detail.questions.len() {
            return Err(ServiceError::Invalid {
                field: "answers",
                message: format!(
                    "expected {} answers, one per question, got {}",
                    task.detail.questions.len(),
                    answers.len()
                ),
            });
        }
    }
    Ok(to)
}

/// Applies a checked `command` to `task`, taking it `to` that status, as the change
/// logged at `seq`.
async fn apply_to(
    conn: &mut Conn,
    mut task: Task,
    actor: &Actor,
    command: Command,
    to: TaskStatus,
    seq: Seq,
) -> Result<(Applied, StoredEvent), ServiceError> {
    let id = task.id();
    let now = db::now_millis();
    let row = TaskSummary {
        status: to,
        updated_at: now,
        last_seq: seq,
        ..task.detail.summary.clone()
    };
    let meta = EventMeta {
        task_id: id,
        at: now,
        actor: Some(actor.name()),
        task: row,
    };
    let event = event_for(meta, command);
    // The same function the browser's reducer uses, so what is stored is what every
    // open page shows.
    task.detail.apply_event(&event);
    db::tasks::update(conn, &task).await?;
    events::append(conn, seq, id, &event, actor.user_id(), now).await?;
    Ok(logged(task, seq, event))
}

/// A change's result, and its event as the log holds it (handed to the sequencer).
fn logged(task: Task, seq: Seq, event: ServerMsg) -> (Applied, StoredEvent) {
    let stored = StoredEvent {
        seq,
        task_id: task.id(),
        org_id: task.org_id,
        msg: event,
    };
    (Applied { task, seq }, stored)
}

fn check_len(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), ServiceError> {
    no_nul(field, value)?;
    let n = value.chars().count();
    if n < min {
        return Err(ServiceError::Invalid {
            field,
            message: "must not be empty".into(),
        });
    }
    if n > max {
        return Err(ServiceError::Invalid {
            field,
            message: format!("must be at most {max} characters (got {n})"),
        });
    }
    Ok(())
}

/// `title` as one line of at most `max` characters: each control character becomes a
/// space, and the rest is cut off.
pub fn one_line_title(title: &str, max: usize) -> String {
    let line: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    line.trim().to_owned()
}

/// A title is one line of text: no control characters (a line break, a tab, an escape
/// sequence for a terminal) in it.
fn one_line(field: &'static str, value: &str) -> Result<(), ServiceError> {
    if value.chars().any(char::is_control) {
        return Err(ServiceError::Invalid {
            field,
            message: "must not contain control characters (line breaks, tabs, escapes)".into(),
        });
    }
    Ok(())
}

/// A pull request's or issue's number, when there is one.
fn positive(field: &'static str, number: Option<i64>) -> Result<(), ServiceError> {
    match number {
        Some(n) if n < 1 => Err(ServiceError::Invalid {
            field,
            message: "must be a positive number".into(),
        }),
        _ => Ok(()),
    }
}

/// A commit's id: 7 to 64 hexadecimal digits (an abbreviated or a full SHA-1 or SHA-256).
fn commit_id(field: &'static str, sha: &str) -> Result<(), ServiceError> {
    if (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ServiceError::Invalid {
            field,
            message: "must be a commit id: 7 to 64 hexadecimal digits".into(),
        })
    }
}

/// No store keeps the NUL character as text (Postgres refuses it), so none takes it.
fn no_nul(field: &'static str, value: &str) -> Result<(), ServiceError> {
    if value.contains('\0') {
        return Err(ServiceError::Invalid {
            field,
            message: "must not contain the NUL character".into(),
        });
    }
    Ok(())
}

fn validate(command: &Command) -> Result<(), ServiceError> {
    for text in command.texts() {
        no_nul("text", text)?;
    }
    match command {
        // Pull requests are reported from outside (agents, webhooks), and every watcher
        // is sent what is stored: a number, a web address and a title of sane sizes.
        Command::OpenPr {
            pr_number,
            pr_url,
            pr_title,
        } => {
            positive("prNumber", *pr_number)?;
            if let Some(url) = pr_url {
                check_len("prUrl", url, 1, MAX_URL_CHARS)?;
                if !is_web_url(url) {
                    return Err(ServiceError::BadUrl { field: "prUrl" });
                }
            }
            match pr_title {
                Some(title) => {
                    check_len("prTitle", title, 0, MAX_PR_TITLE_CHARS)?;
                    one_line("prTitle", title)
                }
                None => Ok(()),
            }
        }
        Command::MergePr {
            merge_commit_sha: Some(sha),
            ..
        } => commit_id("mergeCommitSha", sha),
        Command::ClosePr { pr_number } => positive("prNumber", *pr_number),
        Command::Answer { answers } => {
            for a in answers {
                check_len("answers", a.trim(), 1, MAX_TEXT_CHARS)?;
            }
            Ok(())
        }
        Command::AddNote { text } => check_len("note", text.trim(), 1, MAX_TEXT_CHARS),
        Command::Fail { reason } => check_len("reason", reason.trim(), 1, MAX_TEXT_CHARS),
        Command::StartCoding { note: Some(note) } => {
            check_len("note", note.trim(), 1, MAX_TEXT_CHARS)
        }
        Command::AskClarification { questions, .. } if questions.is_empty() => {
            Err(ServiceError::Invalid {
                field: "questions",
                message: "at least one question is needed".into(),
            })
        }
        _ => Ok(()),
    }
}

fn event_for(meta: EventMeta, command: Command) -> ServerMsg {
    match command {
        Command::StartAnalysis { analyser } => {
            ServerMsg::TaskAnalyzing(TaskAnalyzing { meta, analyser })
        }
        Command::AskClarification {
            questions,
            analyser,
        } => ServerMsg::ClarificationNeeded(ClarificationNeeded {
            meta,
            questions,
            analyser,
        }),
        Command::Answer { answers } => ServerMsg::TaskClarified(TaskClarified {
            meta,
            answers: answers.into_iter().map(|a| a.trim().to_owned()).collect(),
        }),
        Command::Dispatch {
            issue_number,
            issue_url,
            github_branch,
        } => ServerMsg::TaskDispatched(TaskDispatched {
            meta,
            issue_number,
            issue_url,
            github_branch,
        }),
        Command::StartCoding { note } => ServerMsg::TaskCoding(TaskCoding { meta, note }),
        Command::OpenPr {
            pr_number,
            pr_url,
            pr_title,
        } => ServerMsg::PrOpened(PrOpened {
            meta,
            pr_number,
            pr_url,
            pr_title,
        }),
        Command::MergePr {
            merge_commit_sha,
            merged_at,
        } => ServerMsg::PrMerged(PrMerged {
            meta,
            merge_commit_sha,
            merged_at,
        }),
        Command::ClosePr { pr_number } => ServerMsg::PrClosed(PrClosed { meta, pr_number }),
        Command::Fail { reason } => ServerMsg::TaskFailed(TaskFailed {
            meta,
            reason: reason.trim().to_owned(),
        }),
        Command::Retry => ServerMsg::TaskRetried(TaskRetried { meta }),
        Command::AddNote { text } => ServerMsg::EventAdded(EventAdded {
            meta,
            text: text.trim().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A command of each kind, with every optional part set.
    fn sample(kind: CommandKind) -> Command {
        let text = || "text".to_owned();
        match kind {
            CommandKind::StartAnalysis => Command::StartAnalysis { analyser: text() },
            CommandKind::AskClarification => Command::AskClarification {
                questions: vec![text()],
                analyser: text(),
            },
            CommandKind::Answer => Command::Answer {
                answers: vec![text()],
            },
            CommandKind::Dispatch => Command::Dispatch {
                issue_number: Some(1),
                issue_url: Some("https://github.com/o/r/issues/1".into()),
                github_branch: Some(text()),
            },
            CommandKind::StartCoding => Command::StartCoding { note: Some(text()) },
            CommandKind::OpenPr => Command::OpenPr {
                pr_number: Some(2),
                pr_url: Some("https://github.com/o/r/pull/2".into()),
                pr_title: Some(text()),
            },
            CommandKind::MergePr => Command::MergePr {
                merge_commit_sha: Some(text()),
                merged_at: Some(1),
            },
            CommandKind::ClosePr => Command::ClosePr { pr_number: Some(2) },
            CommandKind::Fail => Command::Fail { reason: text() },
            CommandKind::Retry => Command::Retry,
            CommandKind::AddNote => Command::AddNote { text: text() },
        }
    }

    fn meta() -> EventMeta {
        EventMeta {
            task_id: TaskId(1),
            at: 1,
            actor: Some("Ada".into()),
            task: TaskSummary {
                id: TaskId(1),
                title: "t".into(),
                status: TaskStatus::Received,
                creator: UserRef {
                    id: shared_protocol::UserId(1),
                    name: "Ada".into(),
                },
                created_at: 1,
                updated_at: 1,
                last_seq: 1,
                private: false,
            },
        }
    }

    /// Every event of the protocol is made by a command here (or by creating a task),
    /// and every one has its timeline line: a new event kind that misses either fails.
    #[test]
    fn every_event_kind_is_made_by_a_command_and_has_a_timeline_line() {
        let mut made = BTreeSet::from(["task:created"]);
        for kind in CommandKind::ALL {
            let command = sample(kind);
            assert_eq!(command.kind(), kind);
            let event = event_for(meta(), command);
            assert!(event.event_meta().is_some(), "{kind:?} made no event");
            let line = event
                .timeline_entry(1)
                .unwrap_or_else(|| panic!("{} has no timeline line", event.type_name()));
            assert!(!line.text.is_empty());
            assert_eq!(line.kind, event.type_name());
            made.insert(event.type_name());
        }
        let created = ServerMsg::TaskCreated(TaskCreated {
            meta: meta(),
            description: "d".into(),
        });
        assert!(created.timeline_entry(1).is_some());
        let events: BTreeSet<&str> = ServerMsg::EVENT_TYPES.iter().copied().collect();
        assert_eq!(
            made, events,
            "events without a command, or commands without an event"
        );
    }
}
