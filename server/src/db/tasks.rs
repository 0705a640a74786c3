//! Queries on `tasks`.

use super::{Conn, Pool};
use shared_protocol::{
    DashboardQuery, Sort, SortKey, StatusCounts, TaskDetail, TaskId, TaskStatus, TaskSummary,
    UserId, UserRef, PAGE_SIZE,
};
use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;

/// A task as stored, with its creator's display name joined in.
#[derive(Debug, Clone, sqlx::FromRow)]
struct TaskRow {
    id: i64,
    title: String,
    description: String,
    creator_id: i64,
    creator_name: String,
    org_id: i64,
    /// 0 or 1 (a Postgres boolean cast, so both stores read alike).
    private: i64,
    status: String,
    questions: String,
    answers: String,
    issue_number: Option<i64>,
    issue_url: Option<String>,
    github_branch: Option<String>,
    pr_number: Option<i64>,
    pr_url: Option<String>,
    pr_title: Option<String>,
    merge_commit_sha: Option<String>,
    error_message: Option<String>,
    created_at: i64,
    updated_at: i64,
    last_seq: i64,
}

/// A task with the fields only the server needs (who may see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub detail: TaskDetail,
    pub org_id: i64,
    pub private: bool,
}

impl Task {
    pub fn visibility(&self) -> crate::visibility::Visibility {
        crate::visibility::Visibility {
            creator_id: self.detail.summary.creator.id.0,
            org_id: self.org_id,
            private: self.private,
        }
    }

    pub fn id(&self) -> TaskId {
        self.detail.summary.id
    }

    pub fn status(&self) -> TaskStatus {
        self.detail.summary.status
    }
}

impl TryFrom<TaskRow> for Task {
    type Error = sqlx::Error;

    fn try_from(r: TaskRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| sqlx::Error::Decode(format!("task {}: bad {what}", r.id).into());
        let status = TaskStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?;
        let questions = serde_json::from_str(&r.questions).map_err(|_| corrupt("questions"))?;
        let answers = serde_json::from_str(&r.answers).map_err(|_| corrupt("answers"))?;
        Ok(Task {
            detail: TaskDetail {
                summary: TaskSummary {
                    id: TaskId(r.id),
                    title: r.title,
                    status,
                    creator: UserRef {
                        id: UserId(r.creator_id),
                        name: r.creator_name,
                    },
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    last_seq: r.last_seq as u64,
                    private: r.private != 0,
                },
                description: r.description,
                questions,
                answers,
                issue_number: r.issue_number,
                issue_url: r.issue_url,
                github_branch: r.github_branch,
                pr_number: r.pr_number,
                pr_url: r.pr_url,
                pr_title: r.pr_title,
                merge_commit_sha: r.merge_commit_sha,
                error_message: r.error_message,
            },
            org_id: r.org_id,
            private: r.private != 0,
        })
    }
}

const SELECT: &str =
    "SELECT t.id, t.title, t.description, t.creator_id, u.display_name AS creator_name, \
     t.org_id, CAST(t.private AS INTEGER) AS private, t.status, t.questions, t.answers, t.issue_number, t.issue_url, \
     t.github_branch, t.pr_number, t.pr_url, t.pr_title, t.merge_commit_sha, t.error_message, \
     t.created_at, t.updated_at, t.last_seq \
     FROM tasks t JOIN users u ON u.id = t.creator_id";

/// A task about to be created.
#[derive(Debug, Clone, Copy)]
pub struct NewTask<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub creator_id: i64,
    pub org_id: i64,
    pub private: bool,
}

/// Creates a task in `received`, its last change at `seq`; returns it as stored (the
/// creator's name read in the same statement), so nothing has to read it back.
pub async fn insert(
    conn: &mut Conn,
    new: NewTask<'_>,
    now: i64,
    seq: u64,
) -> Result<Task, sqlx::Error> {
    let (id, creator_name): (i64, String) = sqlx::query_as(
        "INSERT INTO tasks (title, description, creator_id, org_id, private, status, created_at, updated_at, last_seq) \
         VALUES ($1, $2, $3, $4, $5, 'received', $6, $7, $8) \
         RETURNING id, (SELECT display_name FROM users WHERE id = $3)",
    )
    .bind(new.title)
    .bind(new.description)
    .bind(new.creator_id)
    .bind(new.org_id)
    .bind(new.private)
    .bind(now)
    .bind(now)
    .bind(seq as i64)
    .fetch_one(conn)
    .await?;
    Ok(Task {
        detail: TaskDetail::new(
            TaskSummary {
                id: TaskId(id),
                title: new.title.to_owned(),
                status: TaskStatus::Received,
                creator: UserRef {
                    id: UserId(new.creator_id),
                    name: creator_name,
                },
                created_at: now,
                updated_at: now,
                last_seq: seq,
                private: new.private,
            },
            new.description.to_owned(),
        ),
        org_id: new.org_id,
        private: new.private,
    })
}

/// Writes every mutable field of `task` back.
pub async fn update(conn: &mut Conn, task: &Task) -> Result<(), sqlx::Error> {
    let d = &task.detail;
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "UPDATE tasks SET status = $1, questions = $2, answers = $3, issue_number = $4, issue_url = $5, \
         github_branch = $6, pr_number = $7, pr_url = $8, pr_title = $9, merge_commit_sha = $10, \
         error_message = $11, updated_at = $12, last_seq = $13 WHERE id = $14",
    )
    .bind(d.summary.status.as_str())
    .bind(json(&d.questions))
    .bind(json(&d.answers))
    .bind(d.issue_number)
    .bind(&d.issue_url)
    .bind(&d.github_branch)
    .bind(d.pr_number)
    .bind(&d.pr_url)
    .bind(&d.pr_title)
    .bind(&d.merge_commit_sha)
    .bind(&d.error_message)
    .bind(d.summary.updated_at)
    .bind(d.summary.last_seq as i64)
    .bind(d.summary.id.0)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: TaskId) -> Result<Option<Task>, sqlx::Error> {
    let row: Option<TaskRow> = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    row.map(Task::try_from).transpose()
}

/// Every task, most recently changed first.
pub async fn list(conn: &mut Conn) -> Result<Vec<Task>, sqlx::Error> {
    let rows: Vec<TaskRow> =
        sqlx::query_as(&format!("{SELECT} ORDER BY t.last_seq DESC, t.id DESC"))
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// Who is reading a list, for the SQL that filters it the way
/// [`Visibility::allows`](crate::visibility::Visibility::allows) does.
const VISIBLE: &str = "(t.creator_id = $1 OR (t.org_id = $2 AND NOT t.private))";

/// The `WHERE` of a list: what `viewer` may see, narrowed to `query`'s scope (and its
/// status, with `status`). Binds `$1` viewer, `$2` org, `$3` status, `$4` mine, `$5`
/// creator, `$6` search; a `None` bind means "any".
fn filter(conn: &Conn) -> String {
    let search = match conn.backend_name() {
        // Each word as a word or the start of one (see `search_match`).
        "PostgreSQL" => {
            "to_tsvector('simple', t.title || ' ' || t.description) @@ to_tsquery('simple', $6)"
        }
        _ => "t.id IN (SELECT rowid FROM tasks_search WHERE tasks_search MATCH $6)",
    };
    format!(
        "{VISIBLE} AND ($3 IS NULL OR t.status = $3) AND (NOT $4 OR t.creator_id = $1) \
         AND ($5 IS NULL OR t.creator_id = $5) AND ($6 IS NULL OR {search})"
    )
}

/// A search as the store's full-text index reads it: every word, each as a word or the
/// start of one. The words are letters and digits only (see
/// [`shared_protocol::listing::search_terms`]), so nothing in them is query syntax.
fn search_match(conn: &Conn, search: &str) -> String {
    let terms = shared_protocol::listing::search_terms(search);
    match conn.backend_name() {
        "PostgreSQL" => terms
            .iter()
            .map(|t| format!("{t}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
        _ => terms
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `ORDER BY` for `sort`, the same order as [`shared_protocol::Sort::cmp`].
fn order_by(conn: &Conn, sort: Sort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let key = match sort.key {
        SortKey::Updated => "t.last_seq".to_owned(),
        SortKey::Created => "t.id".to_owned(),
        SortKey::Status => {
            let ranks: String = TaskStatus::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| format!(" WHEN '{}' THEN {i}", s.as_str()))
                .collect();
            format!("CASE t.status{ranks} END")
        }
        // Byte order of the lowercased title, as the browser compares: Postgres would
        // otherwise sort by its locale's rules.
        SortKey::Title => match conn.backend_name() {
            "PostgreSQL" => "LOWER(t.title) COLLATE \"C\"".to_owned(),
            _ => "LOWER(t.title)".to_owned(),
        },
    };
    format!("{key} {dir}, t.last_seq DESC, t.id DESC")
}

/// Binds a list's filter parameters (see [`filter`]).
fn bind_filter<'q, O>(
    query: QueryAs<'q, sqlx::Any, O, AnyArguments<'q>>,
    conn: &Conn,
    viewer: crate::visibility::Viewer,
    q: &DashboardQuery,
) -> QueryAs<'q, sqlx::Any, O, AnyArguments<'q>> {
    query
        .bind(viewer.user_id)
        .bind(viewer.org_id)
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.mine)
        .bind(q.creator.map(|c| c.0))
        .bind(q.search.as_deref().map(|s| search_match(conn, s)))
}

/// One page of the tasks `viewer` may see that match `query`, in its order, and
/// whether more follow.
pub async fn page(
    conn: &mut Conn,
    viewer: crate::visibility::Viewer,
    query: &DashboardQuery,
) -> Result<(Vec<Task>, bool), sqlx::Error> {
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY {} LIMIT $7 OFFSET $8",
        filter(conn),
        order_by(conn, query.sort)
    );
    let rows: Vec<TaskRow> = bind_filter(sqlx::query_as(&sql), conn, viewer, query)
        .bind(PAGE_SIZE as i64 + 1)
        .bind(query.offset() as i64)
        .fetch_all(&mut *conn)
        .await?;
    let more = rows.len() > PAGE_SIZE;
    let tasks = rows
        .into_iter()
        .take(PAGE_SIZE)
        .map(Task::try_from)
        .collect::<Result<_, _>>()?;
    Ok((tasks, more))
}

/// How many tasks in `query`'s scope (its status filter aside) `viewer` may see, per
/// status.
pub async fn counts(
    conn: &mut Conn,
    viewer: crate::visibility::Viewer,
    query: &DashboardQuery,
) -> Result<StatusCounts, sqlx::Error> {
    let sql = format!(
        "SELECT t.status, COUNT(*) FROM tasks t WHERE {} GROUP BY t.status",
        filter(conn)
    );
    let rows: Vec<(String, i64)> = bind_filter(sqlx::query_as(&sql), conn, viewer, &query.scope())
        .fetch_all(&mut *conn)
        .await?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        let status = TaskStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("bad task status {status:?}").into()))?;
        counts.0.insert(status, n as u64);
    }
    Ok(counts)
}

/// Tasks of `org_id` that are open for work, oldest first (used to resume the pipeline
/// after a restart).
pub async fn ids_in_status(pool: &Pool, status: TaskStatus) -> Result<Vec<TaskId>, sqlx::Error> {
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM tasks WHERE status = $1 ORDER BY id")
        .bind(status.as_str())
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().map(|(id,)| TaskId(id)).collect())
}

/// The task working on `branch`, if any.
pub async fn id_by_branch(pool: &Pool, branch: &str) -> Result<Option<TaskId>, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM tasks WHERE github_branch = $1 ORDER BY id DESC LIMIT 1")
            .bind(branch)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id,)| TaskId(id)))
}

/// The task dispatched to GitHub issue `number`, if any.
pub async fn id_by_issue(pool: &Pool, number: i64) -> Result<Option<TaskId>, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM tasks WHERE issue_number = $1 ORDER BY id DESC LIMIT 1")
            .bind(number)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id,)| TaskId(id)))
}
