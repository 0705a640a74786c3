//! Queries on the append-only `events` log.

use super::Conn;
use shared_protocol::{LoggedEvent, Seq, ServerMsg, TaskId, TimelineEntry};

/// One row of the log.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: Seq,
    pub task_id: TaskId,
    /// The task's org (with the creator and private flag in the event's row, who may
    /// see the event).
    pub org_id: i64,
    pub msg: ServerMsg,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    task_id: i64,
    org_id: i64,
    kind: String,
    payload: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = sqlx::Error;

    fn try_from(r: EventRow) -> Result<Self, Self::Error> {
        let corrupt = || sqlx::Error::Decode(format!("event {}: unreadable payload", r.seq).into());
        let data = serde_json::from_str(&r.payload).map_err(|_| corrupt())?;
        let msg = LoggedEvent { kind: r.kind, data }
            .to_msg()
            .map_err(|_| corrupt())?;
        Ok(StoredEvent {
            seq: r.seq as Seq,
            task_id: TaskId(r.task_id),
            org_id: r.org_id,
            msg,
        })
    }
}

/// Takes the seqs the next `count` events get (at least one); returns the first, the
/// others follow it. Only call inside a write transaction ([`super::begin_write`],
/// which already holds the counter row on Postgres).
///
/// The log's head is one counter row, and taking a seq updates it: the row stays
/// locked until the transaction ends, so writers on any number of processes take seqs
/// one transaction at a time and commit them in order. Nothing is skipped (a rolled
/// back transaction or savepoint gives its seqs back) and nothing is seen out of order
/// (seq 6 cannot commit before seq 5).
pub async fn next_seqs(conn: &mut Conn, count: u32) -> Result<Seq, sqlx::Error> {
    let count = i64::from(count.max(1));
    let last: i64 =
        sqlx::query_scalar("UPDATE log_head SET seq = seq + $1 WHERE id = 1 RETURNING seq")
            .bind(count)
            .fetch_one(conn)
            .await?;
    Ok((last - count + 1) as Seq)
}

/// The newest seq in the log (0 when empty).
pub async fn max_seq(conn: &mut Conn) -> Result<Seq, sqlx::Error> {
    let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
        .fetch_one(conn)
        .await?;
    Ok(max.unwrap_or(0) as Seq)
}

/// Appends one event.
pub async fn append(
    conn: &mut Conn,
    seq: Seq,
    task_id: TaskId,
    msg: &ServerMsg,
    actor_id: Option<i64>,
    at: i64,
) -> Result<(), sqlx::Error> {
    let logged = LoggedEvent::from_msg(msg);
    sqlx::query(
        "INSERT INTO events (seq, task_id, kind, payload, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(seq as i64)
    .bind(task_id.0)
    .bind(&logged.kind)
    .bind(logged.data.to_string())
    .bind(actor_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Events with `after < seq <= upto`, in order, at most `limit` of them.
pub async fn range(
    conn: &mut Conn,
    after: Seq,
    upto: Seq,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT e.seq, e.task_id, t.org_id, e.kind, e.payload FROM events e JOIN tasks t ON t.id = e.task_id \
         WHERE e.seq > $1 AND e.seq <= $2 ORDER BY e.seq LIMIT $3",
    )
    .bind(after as i64)
    .bind(upto as i64)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// One task's events with `seq > after`, in order.
pub async fn for_task(
    conn: &mut Conn,
    task_id: TaskId,
    after: Seq,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT e.seq, e.task_id, t.org_id, e.kind, e.payload FROM events e JOIN tasks t ON t.id = e.task_id \
         WHERE e.task_id = $1 AND e.seq > $2 ORDER BY e.seq",
    )
    .bind(task_id.0)
    .bind(after as i64)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// A task's timeline, oldest first.
pub async fn timeline(conn: &mut Conn, task_id: TaskId) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    Ok(for_task(conn, task_id, 0)
        .await?
        .into_iter()
        .filter_map(|e| e.msg.timeline_entry(e.seq))
        .collect())
}
