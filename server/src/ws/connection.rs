//! One WebSocket connection: its subscriptions, heartbeat and outbound queue.
//!
//! The connection owns the receiving half of a bounded queue; rooms hold the sending
//! half (a [`MemberHandle`]) and never wait on it. Two tasks serve a connection: the
//! writer is the only one to write to the socket, so frames go out in the order rooms
//! queued them; the other reads the socket and watches the heartbeat, the session and
//! the server's shutdown. A queued frame wakes the writer alone.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use shared_protocol::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::CurrentUser;
use crate::limits::sockets::SocketSlot;
use crate::rooms::member::{shared, MemberHandle, Outgoing};
use crate::rooms::RoomError;
use crate::state::AppState;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// The most queued frames written before one flush.
const WRITE_BATCH: usize = 64;

/// Why the loop ended.
enum Exit {
    ClientClosed,
    Dead,
    Close(u16, &'static str),
    /// The client broke the WebSocket layer's rules; the reason names the rule.
    Refused(u16, String),
    /// The writer stopped of itself: a write failed, the peer took no bytes for as long
    /// as a silent peer is given, or it panicked.
    WriterStopped(Result<WriterParts<Sink>, tokio::task::JoinError>),
}

/// What a read error from the WebSocket layer means for the connection: a close code
/// and reason for a client that broke a rule, `None` for a connection that is gone.
fn read_error_exit(error: axum::Error, max_read_bytes: usize) -> Exit {
    use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
    let inner = error.into_inner();
    match inner.downcast_ref::<WsError>() {
        // A tab closed, a laptop asleep, a network gone: no rule was broken, and there is
        // nobody to send a close to.
        Some(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => Exit::Dead,
        Some(WsError::Capacity(CapacityError::MessageTooLong { size, .. })) => Exit::Refused(
            close_code::MESSAGE_TOO_BIG,
            format!("message of {size} bytes; the server reads at most {max_read_bytes}"),
        ),
        Some(WsError::Capacity(_)) => Exit::Refused(
            close_code::MESSAGE_TOO_BIG,
            format!("the server reads at most {max_read_bytes} bytes"),
        ),
        Some(WsError::Utf8(_)) => Exit::Refused(
            close_code::INVALID_PAYLOAD,
            "text frames must be UTF-8".into(),
        ),
        Some(WsError::Protocol(e)) => {
            Exit::Refused(close_code::PROTOCOL_ERROR, format!("protocol error: {e}"))
        }
        _ => Exit::Dead,
    }
}

struct Subscriptions {
    dashboard: bool,
    tasks: HashSet<TaskId>,
}

/// Decrements the open-connection count however the connection ends.
struct ConnectionGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("taskwire_sockets_open").decrement(1.0);
    }
}

/// Counts a room membership this connection took (`+1`) or gave up (`-1`).
fn members(room: &'static str, delta: f64) {
    metrics::gauge!("taskwire_room_members", "room" => room).increment(delta);
}

/// Serves one upgraded socket until it closes.
///
/// A plain function that splits the socket before the connection's future is made: an
/// async function keeps each of its arguments in its future for as long as it runs, and
/// the unsplit socket is large. Every open connection holds this future.
pub fn handle_socket(
    socket: WebSocket,
    state: AppState,
    user: CurrentUser,
    // Subscribed before `user`'s session was checked.
    revocations: tokio::sync::broadcast::Receiver<crate::state::Revoked>,
    // Held for as long as the connection lives: it is one of the user's sockets.
    slot: SocketSlot,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let conn_id = next_conn_id();
    let span = tracing::info_span!("ws", conn_id, user_id = user.id);
    let (sink, stream) = socket.split();
    serve(conn_id, sink, stream, state, user, revocations, slot).instrument(span)
}

async fn serve(
    conn_id: u64,
    sink: Sink,
    mut stream: SplitStream<WebSocket>,
    state: AppState,
    user: CurrentUser,
    revocations: tokio::sync::broadcast::Receiver<crate::state::Revoked>,
    _slot: SocketSlot,
) {
    state.connections.fetch_add(1, Ordering::Relaxed);
    metrics::gauge!("taskwire_sockets_open").increment(1.0);
    let _guard = ConnectionGuard(&state.connections);

    let ws = &state.settings.ws;
    let (tx, outbox) = mpsc::channel::<Outgoing>(ws.queue_capacity);
    let lagged = CancellationToken::new();
    let member = MemberHandle::new(conn_id, user.to_ref(), user.org_id, tx, lagged.clone());
    let mut subs = Subscriptions {
        dashboard: false,
        tasks: HashSet::new(),
    };

    member.send(shared(&ServerFrame::new(ServerMsg::Hello(Hello {
        user: user.to_ref(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        heartbeat_ms: ws.heartbeat.as_millis() as u64,
    }))));

    let mut heartbeat = tokio::time::interval(ws.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut bad_frames = 0u32;
    // Frames over the connection's rate are not processed; the client is told at most
    // once a second, so a flood cannot turn into a flood of errors.
    let limiter = governor::RateLimiter::direct(frame_quota(ws));
    let mut last_limit_notice: Option<Instant> = None;
    let expires_in = Duration::from_secs(user.expires_at.saturating_sub(unix_now()));
    let expiry = tokio::time::sleep(expires_in);
    tokio::pin!(expiry);
    // Futures made once and polled across iterations: made anew on every pass, each
    // would register with (and leave) a list shared by every connection, under its lock,
    // for every frame sent.
    let mut revocations = BroadcastStream::new(revocations);
    let slow = lagged.cancelled();
    tokio::pin!(slow);
    let stopping = state.shutdown.cancelled();
    tokio::pin!(stopping);

    // Stops the writer however this loop ends, so it gives the socket back (or, if this
    // task is dropped, ends rather than holding the queue).
    let halt = CancellationToken::new();
    let _halt_on_exit = halt.clone().drop_guard();
    let writing = write_loop(sink, outbox, halt.clone(), ws.idle_timeout);
    let mut writer = tokio::spawn(writing.in_current_span());
    let exit = loop {
        tokio::select! {
            incoming = stream.next() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(e)) => break read_error_exit(e, ws.max_read_bytes),
                    None => break Exit::ClientClosed,
                };
                last_seen = Instant::now();
                let size = match &message {
                    Message::Text(t) => t.len(),
                    Message::Binary(b) => b.len(),
                    _ => 0,
                };
                if matches!(message, Message::Text(_) | Message::Binary(_)) && limiter.check().is_err() {
                    if last_limit_notice.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        last_limit_notice = Some(Instant::now());
                        member.send(shared(&ServerFrame::error(
                            ErrorCode::RateLimited,
                            format!(
                                "a connection may send {} frames per second (bursts of {}); frames above that were not processed",
                                ws.frames_per_second, ws.frame_burst
                            ),
                        )));
                    }
                    continue;
                }
                let reply = match message {
                    // An oversized frame is named as such, whatever its kind.
                    Message::Text(_) | Message::Binary(_) if size > ws.max_frame_bytes => {
                        bad_frames += 1;
                        Some(ServerFrame::error(
                            ErrorCode::FrameTooLarge,
                            format!("frames are limited to {} bytes; this one has {size}", ws.max_frame_bytes),
                        ))
                    }
                    Message::Text(text) => {
                        // Boxed: a join's futures are large and short-lived; inline, they
                        // would size every idle connection's task for their sake.
                        let outcome = Box::pin(handle_text(&state, &member, &mut subs, &text)).await;
                        if outcome.is_some() { bad_frames += 1 } else { bad_frames = 0 }
                        outcome
                    }
                    Message::Binary(_) => {
                        bad_frames += 1;
                        Some(ServerFrame::error(ErrorCode::BinaryNotSupported, "send JSON text frames"))
                    }
                    Message::Close(_) => break Exit::ClientClosed,
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(reply) = reply {
                    member.send(shared(&reply));
                }
                if bad_frames > ws.max_bad_frames {
                    break Exit::Close(close_code::POLICY, "too many invalid frames");
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > ws.idle_timeout {
                    tracing::info!("no sign of life; dropping connection");
                    break Exit::Dead;
                }
                // The ping goes out behind what is queued. A peer that takes no bytes for
                // as long as one that sends none is cut by the writer.
                member.ping();
            }
            _ = &mut slow => {
                break Exit::Close(close_code::TRY_AGAIN_LATER, "too slow; reconnect and resync");
            }
            _ = &mut expiry => {
                break Exit::Close(close_code::AUTH_EXPIRED, "session expired");
            }
            Some(revoked) = revocations.next() => {
                let ended = match revoked {
                    Ok(crate::state::Revoked::User(user_id)) => user_id == user.id,
                    Ok(crate::state::Revoked::Session(sid)) => !sid.is_empty() && sid == user.session_id,
                    Ok(crate::state::Revoked::AllBut { user_id, sid }) => {
                        user_id == user.id && sid != user.session_id
                    }
                    // Missed some: ask the database whether this session still holds.
                    Ok(crate::state::Revoked::Unknown) | Err(BroadcastStreamRecvError::Lagged(_)) => {
                        !Box::pin(session_holds(&state, &user)).await
                    }
                };
                if ended {
                    break Exit::Close(close_code::AUTH_EXPIRED, "session ended");
                }
            }
            _ = &mut stopping => {
                break Exit::Close(close_code::GOING_AWAY, "server shutting down");
            }
            ended = &mut writer => break Exit::WriterStopped(ended),
        }
    };

    let (exit, writer) = match exit {
        Exit::WriterStopped(ended) => (Exit::Dead, ended),
        exit => {
            halt.cancel();
            (exit, writer.await)
        }
    };
    let writer = match writer {
        Ok(writer) => writer,
        Err(e) => {
            // The writer panicked (or the runtime is going), and took the socket with it:
            // only the rooms are left.
            if e.is_panic() {
                tracing::error!(error = %e, "a connection's writer failed");
            }
            Box::pin(leave_rooms(&state, conn_id, subs)).await;
            return;
        }
    };
    Box::pin(finish(&state, conn_id, subs, exit, writer, stream)).await;
    tracing::debug!("connection closed");
}

type Sink = SplitSink<WebSocket, Message>;

/// What the writer gives back when it stops.
struct WriterParts<S> {
    sink: S,
    outbox: mpsc::Receiver<Outgoing>,
    /// The item it had taken off the queue and not yet handed to the socket, which was
    /// not ready for it: when the goodbye sends what is queued, this goes first.
    unsent: Option<Outgoing>,
}

/// The connection's only writer: writes what is queued, up to [`WRITE_BATCH`] frames in
/// one flush, until `halt`, a failed write, or a peer that takes no bytes for as long as a
/// silent peer is given; then gives the socket and the queue back.
///
/// It is a task of its own so that a frame polls nothing but the queue: the socket's
/// read half, the timers, the session's revocation feed and the server's shutdown are
/// polled by the other task, when they wake it.
async fn write_loop<S>(
    mut sink: S,
    mut outbox: mpsc::Receiver<Outgoing>,
    halt: CancellationToken,
    idle_timeout: Duration,
) -> WriterParts<S>
where
    S: futures::Sink<Message> + Unpin,
{
    // Looked up once: the per-frame path only adds to the counter.
    let frames_sent = metrics::counter!("taskwire_frames_sent_total");
    let halted = halt.cancelled();
    tokio::pin!(halted);
    let mut unsent = None;
    loop {
        unsent = tokio::select! {
            biased;
            first = outbox.recv() => first,
            _ = &mut halted => break,
        };
        // The connection's member keeps a sender alive until `halt`.
        if unsent.is_none() {
            break;
        }
        let write = write_batch(&mut sink, &mut outbox, &mut unsent);
        tokio::pin!(write);
        // Most writes complete at once. One that waits on the peer is let go when the
        // connection stops (for any reason: a slow consumer cut, the session ended, the
        // server stopping), or when the peer has taken no bytes for as long as a silent
        // peer is given.
        let written = match futures::poll!(&mut write) {
            Poll::Ready(written) => written,
            Poll::Pending => tokio::select! {
                biased;
                written = tokio::time::timeout(idle_timeout, &mut write) => written.ok().flatten(),
                _ = &mut halted => break,
            },
        };
        let Some(frames) = written else { break };
        frames_sent.increment(frames);
        // Under a steady stream the queue is never empty when polled first: the halt is
        // looked at after every write.
        if halt.is_cancelled() {
            break;
        }
    }
    WriterParts {
        sink,
        outbox,
        unsent,
    }
}

/// Writes the item in `unsent` and whatever else is queued behind it (up to
/// [`WRITE_BATCH`]) with one flush: under load one syscall carries many frames instead
/// of one each. Each item is taken off `unsent` only once the socket is ready for it.
/// The number of frames written, or `None` if the socket failed.
async fn write_batch<S>(
    sink: &mut S,
    outbox: &mut mpsc::Receiver<Outgoing>,
    unsent: &mut Option<Outgoing>,
) -> Option<u64>
where
    S: futures::Sink<Message> + Unpin,
{
    let mut batched = 0;
    let mut frames = 0;
    loop {
        futures::future::poll_fn(|cx| sink.poll_ready_unpin(cx))
            .await
            .ok()?;
        let Some(item) = unsent.take() else { break };
        let message = match item {
            Outgoing::Frame(frame) => {
                frames += 1;
                Message::Text(Utf8Bytes::clone(&frame))
            }
            Outgoing::Ping => Message::Ping(Default::default()),
        };
        sink.start_send_unpin(message).ok()?;
        batched += 1;
        if batched == WRITE_BATCH {
            break;
        }
        match outbox.try_recv() {
            Ok(more) => *unsent = Some(more),
            Err(_) => break,
        }
    }
    sink.flush().await.ok()?;
    Some(frames)
}

/// Gives up the connection's room memberships.
async fn leave_rooms(state: &AppState, conn_id: u64, subs: Subscriptions) {
    if subs.dashboard {
        state.rooms.dashboard().leave(conn_id).await;
        members("dashboard", -1.0);
    }
    for task_id in subs.tasks {
        state.rooms.leave_task(task_id, conn_id).await;
        members("task", -1.0);
    }
}

/// Leaves the rooms and closes the socket as `exit` says; boxed by its caller, so the
/// closing handshake's futures do not weigh on every open connection.
async fn finish(
    state: &AppState,
    conn_id: u64,
    subs: Subscriptions,
    exit: Exit,
    writer: WriterParts<Sink>,
    stream: SplitStream<WebSocket>,
) {
    leave_rooms(state, conn_id, subs).await;
    // The goodbye goes to a peer that may not be reading: it gets as long as a silent
    // peer is given, and no longer.
    let idle = state.settings.ws.idle_timeout;
    let _ = tokio::time::timeout(idle, goodbye(exit, writer, stream)).await;
}

/// Writes the close (and the error frame that explains it) as `exit` says.
async fn goodbye(exit: Exit, writer: WriterParts<Sink>, mut stream: SplitStream<WebSocket>) {
    let WriterParts {
        mut sink,
        mut outbox,
        unsent,
    } = writer;
    if let Exit::Close(code, reason) = exit {
        // What is queued (the error for the last bad frame, say, or the frames of a
        // write the close cut short) goes out before the close. A slow consumer's queue
        // is not flushed: it resyncs from the log.
        if code != close_code::TRY_AGAIN_LATER {
            let queued = std::iter::from_fn(|| outbox.try_recv().ok());
            for item in unsent.into_iter().chain(queued) {
                let Some(frame) = item.frame() else { continue };
                if sink
                    .send(Message::Text(Utf8Bytes::clone(&frame)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
        let error = match code {
            close_code::TRY_AGAIN_LATER => Some(ErrorCode::SlowConsumer),
            close_code::AUTH_EXPIRED => Some(ErrorCode::AuthExpired),
            close_code::GOING_AWAY => Some(ErrorCode::ShuttingDown),
            _ => None,
        };
        if let Some(error) = error {
            let frame = ServerFrame::error(error, reason).to_json();
            let _ = sink.send(Message::Text(frame.into())).await;
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })))
            .await;
        // Complete the closing handshake: wait (briefly) for the peer's Close, so it does
        // not find the connection already gone.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    if let Exit::ClientClosed = exit {
        // The peer's close is answered (the WebSocket layer queued the reply when it read
        // it), completing the closing handshake.
        let _ = sink.flush().await;
    }
    if let Exit::Refused(code, reason) = exit {
        tracing::info!(code, %reason, "closing a connection that broke the protocol");
        // A close reason has room for 123 bytes.
        let mut reason = reason;
        while reason.len() > 120 {
            reason.pop();
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        // What follows on the wire is the rest of the refused frame, not frames: nothing
        // more is read. A moment's wait lets the client read the close before the
        // connection goes.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A fresh id for a room member (a socket, or one poll).
pub fn next_conn_id() -> u64 {
    NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed)
}

/// The frames a connection may send: per second, and the burst above it.
pub fn frame_quota(ws: &crate::config::WsSettings) -> governor::Quota {
    use std::num::NonZeroU32;
    let rate = NonZeroU32::new(ws.frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(ws.frame_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    governor::Quota::per_second(rate).allow_burst(burst)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Handles one text frame; returns an error frame when the frame was bad.
async fn handle_text(
    state: &AppState,
    member: &MemberHandle,
    subs: &mut Subscriptions,
    text: &str,
) -> Option<ServerFrame> {
    let frame = match ClientFrame::decode(text) {
        Ok(frame) => frame,
        Err(e) => {
            let body = e.to_error_body();
            return Some(ServerFrame::error(body.code, body.message));
        }
    };
    match frame.msg {
        ClientMsg::Ping(ping) => {
            member.send(shared(&ServerFrame::new(ServerMsg::Pong(ping))));
            None
        }
        ClientMsg::DashboardJoin(DashboardJoin { since }) => {
            join_dashboard(state, member, subs, since).await
        }
        ClientMsg::DashboardLeave(_) => {
            if std::mem::take(&mut subs.dashboard) {
                state.rooms.dashboard().leave(member.conn_id).await;
                members("dashboard", -1.0);
            }
            None
        }
        ClientMsg::TaskJoin(TaskJoin { task_id, since }) => {
            join_task(state, member, subs, task_id, since).await
        }
        ClientMsg::TaskLeave(TaskLeave { task_id }) => {
            if subs.tasks.remove(&task_id) {
                state.rooms.leave_task(task_id, member.conn_id).await;
                members("task", -1.0);
            }
            None
        }
        ClientMsg::ResyncRequested(ResyncRequested {
            room: RoomRef::Dashboard,
            since,
        }) => join_dashboard(state, member, subs, since).await,
        ClientMsg::ResyncRequested(ResyncRequested {
            room: RoomRef::Task { task_id },
            since,
        }) => join_task(state, member, subs, task_id, since).await,
    }
}

/// Joins (or rejoins, for a resync) the dashboard.
async fn join_dashboard(
    state: &AppState,
    member: &MemberHandle,
    subs: &mut Subscriptions,
    since: Option<Seq>,
) -> Option<ServerFrame> {
    let dashboard = state.rooms.dashboard();
    if subs.dashboard {
        dashboard.leave(member.conn_id).await;
        members("dashboard", -1.0);
    }
    subs.dashboard = false;
    match dashboard.join(member.clone(), since).await {
        Ok(()) => {
            subs.dashboard = true;
            members("dashboard", 1.0);
            None
        }
        Err(e) => Some(room_error(e)),
    }
}

async fn join_task(
    state: &AppState,
    member: &MemberHandle,
    subs: &mut Subscriptions,
    task_id: TaskId,
    since: Option<Seq>,
) -> Option<ServerFrame> {
    let max = state.settings.ws.max_task_rooms;
    if subs.tasks.remove(&task_id) {
        state.rooms.leave_task(task_id, member.conn_id).await;
        members("task", -1.0);
    } else if subs.tasks.len() >= max {
        return Some(ServerFrame::error(
            ErrorCode::TooManyRooms,
            format!("a connection may watch at most {max} tasks at once; leave one first"),
        ));
    }
    match state.rooms.join_task(task_id, member.clone(), since).await {
        Ok(()) => {
            subs.tasks.insert(task_id);
            members("task", 1.0);
            None
        }
        Err(e) => Some(room_error(e)),
    }
}

fn room_error(e: RoomError) -> ServerFrame {
    match e {
        RoomError::NotFound => ServerFrame::error(ErrorCode::NotFound, "no such task"),
        RoomError::Gone => ServerFrame::error(
            ErrorCode::SlowConsumer,
            "the connection could not take the replay",
        ),
        RoomError::Stopped | RoomError::Db(_) => {
            tracing::error!(error = %e, "joining a room failed");
            ServerFrame::error(ErrorCode::Internal, "the subscription failed; try again")
        }
    }
}

/// Whether `user`'s session still holds, by the database. One that cannot be asked
/// counts as ended: the client renews its session, which is asked again.
async fn session_holds(state: &AppState, user: &CurrentUser) -> bool {
    matches!(
        crate::db::users::find_session(&state.db.read, user.id, &user.session_id).await,
        Ok(Some(s)) if s.holds(user.token_version)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::channel::mpsc as wire;

    use super::*;

    fn frame(text: &'static str) -> Outgoing {
        Outgoing::Frame(Arc::new(Utf8Bytes::from_static(text)))
    }

    fn text(item: Outgoing) -> String {
        item.frame().expect("a frame").to_string()
    }

    #[test]
    fn a_connection_dropped_without_a_close_is_gone_not_refused() {
        use tungstenite::error::{Error as WsError, ProtocolError};
        let reset = axum::Error::new(WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake,
        ));
        assert!(matches!(read_error_exit(reset, 1024), Exit::Dead));
        let broken = axum::Error::new(WsError::Protocol(ProtocolError::UnmaskedFrameFromClient));
        assert!(matches!(
            read_error_exit(broken, 1024),
            Exit::Refused(close_code::PROTOCOL_ERROR, _)
        ));
    }

    #[tokio::test]
    async fn a_write_stopped_while_the_peer_is_not_reading_gives_back_what_it_had_not_sent() {
        // A socket with room for one message, whose peer reads nothing.
        let (socket, mut peer) = wire::channel::<Message>(0);
        let (queue, outbox) = mpsc::channel(8);
        for text in ["1", "2", "3"] {
            queue.try_send(frame(text)).unwrap();
        }
        let halt = CancellationToken::new();
        let writer = tokio::spawn(write_loop(
            socket,
            outbox,
            halt.clone(),
            Duration::from_secs(3600),
        ));
        // Time for the writer to send the first and wait for room for the second.
        tokio::time::sleep(Duration::from_millis(100)).await;
        halt.cancel();
        let mut parts = writer.await.unwrap();

        let mut written = Vec::new();
        while let Ok(message) = peer.try_recv() {
            match message {
                Message::Text(text) => written.push(text.to_string()),
                other => panic!("wrote {other:?}"),
            }
        }
        assert_eq!(written, ["1"]);
        assert_eq!(parts.unsent.map(text).as_deref(), Some("2"));
        assert_eq!(parts.outbox.try_recv().ok().map(text).as_deref(), Some("3"));
        assert!(parts.outbox.try_recv().is_err());
    }
}
