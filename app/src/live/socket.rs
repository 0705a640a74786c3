//! The browser side of the live connection: one WebSocket per tab that never gives up.
//!
//! A single task owns the socket. It reconnects with full-jitter exponential backoff
//! (capped), retries at once when the browser comes back online or the tab regains
//! focus, pings to notice half-open sockets, and on every `hello` rejoins the rooms the
//! current pages watch, with the `seq` their views reflect.
//!
//! When the socket cannot be opened a few times in a row (or closes before `hello`),
//! the same views are kept live over HTTP long-polling (`GET /api/live`, the same
//! frames from the same log), and the socket is probed now and then; once it answers,
//! the tab moves back to it. Both ways apply frames through the same reducers by
//! `seq`, so a switch neither loses nor repeats an event.

use std::cell::RefCell;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::stream::SplitSink;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use shared_protocol::reducer::{DashboardView, TaskView};
use shared_protocol::*;

use super::{backoff_ms, ConnState, Live};

/// Sockets in a row that fail before `hello` before the tab falls back to polling.
const FALLBACK_AFTER: u32 = 3;
/// While polling, how often the socket is tried again.
const PROBE_EVERY_MS: u32 = 30_000;
/// How long a probe waits for `hello`.
const PROBE_WAIT_MS: u32 = 5_000;

/// How often the client pings; silence for [`DEAD_AFTER_MS`] means the socket is dead.
const PING_EVERY_MS: u32 = 10_000;
const DEAD_AFTER_MS: f64 = 30_000.0;
/// How long after a refused refresh it is asked again.
const SIGNED_OUT_RECHECK_MS: u32 = 1_000;

#[derive(Default)]
struct Shared {
    started: bool,
    dashboard: Option<RwSignal<DashboardView>>,
    task: Option<RwSignal<TaskView>>,
    /// Set while a socket is open and has said hello.
    out: Option<UnboundedSender<String>>,
    /// Cuts a backoff short.
    wake: Option<UnboundedSender<()>>,
    /// Where the newest live row goes (see [`Live::last_row`]).
    last_row: Option<RwSignal<Option<TaskSummary>>>,
    /// The seq of the last row passed on there.
    last_row_seq: Seq,
    /// This page is signing out: the server closes the socket with the session, and a
    /// renewal would be refused; a closed socket waits until the sign-out fails.
    leaving: bool,
}

thread_local! {
    static SHARED: RefCell<Shared> = RefCell::new(Shared::default());
}

fn send(msg: ClientMsg) {
    SHARED.with_borrow(|s| {
        if let Some(out) = &s.out {
            let _ = out.unbounded_send(ClientFrame::new(msg).to_json());
        }
    });
}

fn dashboard_join() -> Option<ClientMsg> {
    let view = SHARED.with_borrow(|s| s.dashboard)?;
    let since = view.with_untracked(|v| v.seq);
    Some(ClientMsg::DashboardJoin(DashboardJoin {
        since: Some(since),
    }))
}

fn task_join() -> Option<ClientMsg> {
    let view = SHARED.with_borrow(|s| s.task)?;
    let (task_id, since) = view.with_untracked(|v| (v.id(), v.seq));
    Some(ClientMsg::TaskJoin(TaskJoin {
        task_id,
        since: Some(since),
    }))
}

pub fn watch_dashboard(live: Live, view: RwSignal<DashboardView>) {
    SHARED.with_borrow_mut(|s| s.dashboard = Some(view));
    if let Some(join) = dashboard_join() {
        send(join);
    }
    start(live);
}

/// Stops watching `view`, unless another view (the same dashboard loaded for a new
/// filter or page) has taken its place already.
pub fn unwatch_dashboard(view: RwSignal<DashboardView>) {
    let watching = SHARED.with_borrow_mut(|s| {
        let same = s.dashboard == Some(view);
        if same {
            s.dashboard = None;
        }
        same
    });
    if watching {
        send(ClientMsg::DashboardLeave(Empty {}));
    }
}

pub fn watch_task(live: Live, view: RwSignal<TaskView>) {
    let previous = SHARED.with_borrow_mut(|s| s.task.replace(view));
    if let Some(previous) = previous {
        let old = previous.try_with_untracked(|v| v.id());
        if let Some(task_id) = old.filter(|id| *id != view.with_untracked(|v| v.id())) {
            send(ClientMsg::TaskLeave(TaskLeave { task_id }));
        }
    }
    if let Some(join) = task_join() {
        send(join);
    }
    start(live);
}

pub fn unwatch_task(id: TaskId) {
    let watching = SHARED.with_borrow_mut(|s| {
        let same = s.task.and_then(|t| t.try_with_untracked(|v| v.id())) == Some(id);
        if same {
            s.task = None;
        }
        same
    });
    if watching {
        send(ClientMsg::TaskLeave(TaskLeave { task_id: id }));
    }
}

/// Opens the tab's connection if it is not open yet: signed-in pages without a live view
/// (the new-task form) still show whether the server can be reached.
pub fn start(live: Live) {
    let state = live.state;
    let first = SHARED.with_borrow_mut(|s| !std::mem::replace(&mut s.started, true));
    if !first {
        return;
    }
    let (wake, wake_rx) = unbounded::<()>();
    SHARED.with_borrow_mut(|s| {
        s.wake = Some(wake);
        s.last_row = Some(live.last_row);
    });
    let nudge = || SHARED.with_borrow(|s| s.wake.as_ref().map(|w| w.unbounded_send(())));
    let _ = window_event_listener(leptos::ev::online, move |_| {
        nudge();
    });
    let _ = window_event_listener(leptos::ev::focus, move |_| {
        nudge();
    });
    let _ = window_event_listener(leptos::ev::offline, move |_| {
        if state.get_untracked() != ConnState::Connected {
            state.set(ConnState::Offline);
        }
    });
    leptos::task::spawn_local(run(state, live.retry_at, wake_rx));
}

/// While `on`, a socket that closes is neither reopened nor its session renewed: the
/// page is signing out. Set back (the sign-out failed), the socket is opened again.
pub fn leaving(on: bool) {
    let wake = SHARED.with_borrow_mut(|s| {
        s.leaving = on;
        s.wake.clone()
    });
    if let (false, Some(wake)) = (on, wake) {
        let _ = wake.unbounded_send(());
    }
}

fn is_leaving() -> bool {
    SHARED.with_borrow(|s| s.leaving)
}

fn online() -> bool {
    window().navigator().on_line()
}

fn ws_url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}

/// How a session ended.
#[derive(Default)]
struct Ended {
    /// The server said hello: the connection worked.
    hello: bool,
    /// The server ended it because the session expired or was revoked.
    auth_expired: bool,
}

/// What refreshing the session over HTTP said.
enum Refresh {
    Renewed,
    /// 401: the session is over; the user has to sign in.
    SignedOut,
    /// The server could not be reached; try again later.
    Unknown,
}

async fn refresh_once() -> Refresh {
    match gloo_net::http::Request::post("/api/auth/refresh")
        .send()
        .await
    {
        Ok(res) if res.ok() => Refresh::Renewed,
        Ok(res) if res.status() == http::StatusCode::UNAUTHORIZED.as_u16() => Refresh::SignedOut,
        _ => Refresh::Unknown,
    }
}

/// Refreshes the session. A refusal is asked again once, a moment later: a session
/// change made in another tab (leaving a team) closes this tab's socket as soon as the
/// old sessions end, while the answer carrying the new cookie, which this tab shares,
/// may still be on its way to that tab. (This tab's own changes hold its socket
/// instead: see [`leaving`].)
async fn refresh_session() -> Refresh {
    match refresh_once().await {
        Refresh::SignedOut => {
            TimeoutFuture::new(SIGNED_OUT_RECHECK_MS).await;
            refresh_once().await
        }
        other => other,
    }
}

/// Where the views are, as `/api/live` takes it; `None` when no page watches.
fn poll_url() -> Option<String> {
    let (dashboard, task) = SHARED.with_borrow(|s| (s.dashboard, s.task));
    let mut query = Vec::new();
    if let Some(view) = dashboard {
        query.push(format!("dashboard={}", view.with_untracked(|v| v.seq)));
    }
    if let Some(view) = task {
        let (id, seq) = view.with_untracked(|v| (v.id(), v.seq));
        query.push(format!("task={id}&taskSince={seq}"));
    }
    (!query.is_empty()).then(|| format!("/api/live?{}", query.join("&")))
}

/// How polling ended.
enum PollEnd {
    /// The socket answered a probe: go back to it.
    SocketWorks,
    /// The session is over (401 and no refresh).
    SignedOut,
    /// The server cannot be reached over HTTP either: it is down, not the socket
    /// blocked; back to reconnecting the socket.
    Unreachable,
    /// The page is signing out (see [`leaving`]).
    Leaving,
}

/// Whether a socket opens and says `hello` soon.
async fn socket_answers() -> bool {
    let Ok(ws) = WebSocket::open(&ws_url()) else {
        return false;
    };
    let (mut sink, stream) = ws.split();
    let mut stream = stream.fuse();
    let hello = futures::select! {
        msg = stream.next() => matches!(msg, Some(Ok(Message::Text(ref t)))
            if matches!(ServerFrame::decode(t), Ok(ServerFrame { msg: ServerMsg::Hello(_), .. }))),
        _ = TimeoutFuture::new(PROBE_WAIT_MS).fuse() => false,
    };
    let _ = sink.close().await;
    hello
}

/// Keeps the views live over long-polling until the socket answers a probe.
async fn poll_until_socket_works(state: RwSignal<ConnState>) -> PollEnd {
    let mut failures = 0u32;
    let mut next_probe = js_sys::Date::now() + f64::from(PROBE_EVERY_MS);
    loop {
        if is_leaving() {
            return PollEnd::Leaving;
        }
        if js_sys::Date::now() >= next_probe {
            if socket_answers().await {
                return PollEnd::SocketWorks;
            }
            next_probe = js_sys::Date::now() + f64::from(PROBE_EVERY_MS);
        }
        let Some(url) = poll_url() else {
            TimeoutFuture::new(1_000).await;
            continue;
        };
        let answer = gloo_net::http::Request::get(&url).send().await;
        match answer {
            Ok(res) if res.ok() => match res.text().await {
                Ok(body) => {
                    failures = 0;
                    state.set(ConnState::Polling);
                    apply_polled(&body);
                }
                Err(_) => failures += 1,
            },
            Ok(res) if res.status() == http::StatusCode::UNAUTHORIZED.as_u16() => {
                if is_leaving() {
                    return PollEnd::Leaving;
                }
                match refresh_session().await {
                    Refresh::SignedOut => return PollEnd::SignedOut,
                    _ => failures += 1,
                }
            }
            Ok(_) => failures += 1,
            Err(_) => return PollEnd::Unreachable,
        }
        if failures >= FALLBACK_AFTER {
            return PollEnd::Unreachable;
        }
        if failures > 0 {
            state.set(if online() {
                ConnState::Reconnecting
            } else {
                ConnState::Offline
            });
            TimeoutFuture::new(backoff_ms(failures, js_sys::Math::random())).await;
        }
    }
}

/// Applies a poll's answer: a JSON array of server frames.
fn apply_polled(body: &str) {
    let Ok(frames) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(body) else {
        web_sys::console::warn_1(&"ignoring an unreadable poll answer".into());
        return;
    };
    for frame in frames {
        match ServerFrame::decode(frame.get()) {
            Ok(frame) => dispatch(&frame),
            Err(e) => {
                web_sys::console::warn_1(&format!("ignoring an unreadable frame: {e}").into())
            }
        }
    }
}

fn go_to_sign_in() {
    // The pages kept for offline use show the session that just ended.
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    crate::offline::forget_pages_then_go(&crate::api::login_path(&here));
}

async fn run(
    state: RwSignal<ConnState>,
    retry_at: RwSignal<Option<f64>>,
    mut wake: UnboundedReceiver<()>,
) {
    let mut attempt = 0u32;
    // Sockets in a row that never said hello.
    let mut unanswered = 0u32;
    loop {
        while is_leaving() {
            let _ = wake.next().await;
        }
        let mut ended = Ended::default();
        if let Some((raw, ws)) = open_socket() {
            ended = session(raw, ws, state).await;
            if ended.hello {
                attempt = 0;
            }
        }
        if is_leaving() {
            state.set(ConnState::Reconnecting);
            continue;
        }
        unanswered = if ended.hello { 0 } else { unanswered + 1 };
        if unanswered >= FALLBACK_AFTER && online() && !ended.auth_expired {
            match poll_until_socket_works(state).await {
                PollEnd::SocketWorks => {
                    unanswered = 0;
                    attempt = 0;
                    continue;
                }
                PollEnd::SignedOut => {
                    go_to_sign_in();
                    return;
                }
                PollEnd::Unreachable => unanswered = 0,
                PollEnd::Leaving => continue,
            }
        }
        // An upgrade refused for an expired session looks like any failed connection,
        // so after a few failures the session is checked too.
        if ended.auth_expired || attempt >= 2 {
            match refresh_session().await {
                Refresh::Renewed if ended.auth_expired && ended.hello => continue,
                Refresh::SignedOut => {
                    go_to_sign_in();
                    return;
                }
                _ => {}
            }
        }
        attempt += 1;
        state.set(if online() {
            ConnState::Reconnecting
        } else {
            ConnState::Offline
        });
        let delay = backoff_ms(attempt, js_sys::Math::random());
        // Offline, the next try is when the network is back, not at a time.
        retry_at.set(online().then(|| js_sys::Date::now() + f64::from(delay)));
        // Drain wake-ups that came while connected, then wait for the delay or a new one.
        while wake.try_recv().is_ok() {}
        futures::select! {
            _ = TimeoutFuture::new(delay).fuse() => {}
            _ = wake.next() => {}
        }
        retry_at.set(None);
    }
}

/// Opens a socket, keeping a handle on the browser's own object beside the stream and
/// sink made of it: only that object says whether the socket is still open.
fn open_socket() -> Option<(web_sys::WebSocket, WebSocket)> {
    let raw = web_sys::WebSocket::new(&ws_url()).ok()?;
    let ws = WebSocket::try_from(raw.clone()).ok()?;
    Some((raw, ws))
}

/// Sends `text` on `raw`'s sink, unless the server has begun closing `raw` (its close
/// not yet read from the stream). Nothing more is sent then: the browser would drop it
/// and report an error, and whatever it was (a ping, a join or a leave) is moot, the
/// next socket rejoining from the views' `seq`. The stream still yields the close and
/// the frames before it.
async fn send_while_open(
    raw: &web_sys::WebSocket,
    sink: &mut SplitSink<WebSocket, Message>,
    text: String,
) -> Result<(), WebSocketError> {
    if raw.ready_state() >= web_sys::WebSocket::CLOSING {
        return Ok(());
    }
    sink.send(Message::Text(text)).await
}

/// Runs one socket until it closes.
async fn session(raw: web_sys::WebSocket, ws: WebSocket, state: RwSignal<ConnState>) -> Ended {
    let (mut sink, stream) = ws.split();
    let mut stream = stream.fuse();
    let (out, mut out_rx) = unbounded::<String>();
    let mut ticker = IntervalStream::new(PING_EVERY_MS).fuse();
    let mut last_heard = js_sys::Date::now();
    let mut ended = Ended::default();
    let mut nonce = 0u64;
    loop {
        futures::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    last_heard = js_sys::Date::now();
                    match ServerFrame::decode(&text) {
                        Ok(ServerFrame { msg: ServerMsg::Hello(_), .. }) => {
                            ended.hello = true;
                            SHARED.with_borrow_mut(|s| s.out = Some(out.clone()));
                            state.set(ConnState::Connected);
                            for join in [dashboard_join(), task_join()].into_iter().flatten() {
                                send(join);
                            }
                        }
                        Ok(ServerFrame { msg: ServerMsg::Error(e), .. }) if e.code == ErrorCode::AuthExpired => {
                            ended.auth_expired = true;
                        }
                        Ok(frame) => dispatch(&frame),
                        Err(e) => web_sys::console::warn_1(&format!("ignoring an unreadable frame: {e}").into()),
                    }
                }
                Some(Ok(Message::Bytes(_))) => {}
                Some(Err(WebSocketError::ConnectionClose(e))) => {
                    ended.auth_expired |= e.code == close_code::AUTH_EXPIRED;
                    break;
                }
                Some(Err(_)) | None => break,
            },
            text = out_rx.next() => {
                let Some(text) = text else { break };
                if send_while_open(&raw, &mut sink, text).await.is_err() {
                    break;
                }
            }
            _ = ticker.next() => {
                if js_sys::Date::now() - last_heard > DEAD_AFTER_MS {
                    break;
                }
                nonce += 1;
                let ping = ClientFrame::new(ClientMsg::Ping(Ping { nonce })).to_json();
                if send_while_open(&raw, &mut sink, ping).await.is_err() {
                    break;
                }
            }
        }
    }
    SHARED.with_borrow_mut(|s| s.out = None);
    let _ = sink.close().await;
    ended
}

fn dispatch(frame: &ServerFrame) {
    if let ServerMsg::Error(e) = &frame.msg {
        web_sys::console::warn_1(&format!("server: {:?}: {}", e.code, e.message).into());
        return;
    }
    let (dashboard, task, last_row) = SHARED.with_borrow(|s| (s.dashboard, s.task, s.last_row));
    if let Some(view) = dashboard {
        view.maybe_update(|v| v.apply(frame));
    }
    if let Some(view) = task {
        view.maybe_update(|v| v.apply(frame));
    }
    let row = match &frame.msg {
        ServerMsg::TaskListUpdated(update) => Some(&update.task),
        msg => msg.event_meta().map(|meta| &meta.task),
    };
    // One event reaches both rooms: pass it on once.
    let fresh = frame.seq.is_some_and(|seq| {
        SHARED.with_borrow_mut(|s| {
            let fresh = seq > s.last_row_seq;
            s.last_row_seq = s.last_row_seq.max(seq);
            fresh
        })
    });
    if let (Some(row), Some(last_row), true) = (row, last_row, fresh) {
        last_row.set(Some(row.clone()));
    }
}
