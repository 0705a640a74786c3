//! One dashboard socket: joins, counts what it receives, checks order, measures each
//! create's delivery, and (in drop mode) drops and rejoins with `since`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Shared, Target};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one socket saw, at the end.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    /// Distinct accepted creates it saw.
    pub creates: usize,
    /// A create it saw twice.
    pub duplicates: u64,
    /// A row frame whose `seq` was not above the one before.
    pub out_of_order: u64,
}

/// When clients stop: once they have seen `expected` creates, or at `deadline`.
struct Control {
    expected: AtomicUsize,
    deadline: std::sync::Mutex<Option<Instant>>,
}

pub struct Clients {
    handles: Vec<tokio::task::JoinHandle<Seen>>,
    control: Arc<Control>,
}

impl Clients {
    pub fn len(&self) -> usize {
        self.handles.len()
    }
}

/// Connects every socket (a few hundred at a time) and waits until each has joined.
pub async fn connect_all(shared: &Arc<Shared>, tokens: &[String]) -> anyhow::Result<Clients> {
    let control = Arc::new(Control {
        expected: AtomicUsize::new(usize::MAX),
        deadline: std::sync::Mutex::new(None),
    });
    let gate = Arc::new(Semaphore::new(256));
    let mut handles = Vec::with_capacity(tokens.len());
    let mut joined = Vec::with_capacity(tokens.len());
    for token in tokens {
        let (tx, rx) = oneshot::channel();
        joined.push(rx);
        let shared = shared.clone();
        let control = control.clone();
        let token = token.clone();
        let gate = gate.clone();
        let index = handles.len();
        handles.push(tokio::spawn(async move {
            run_client(shared, control, index, token, gate, tx).await
        }));
    }
    for rx in joined {
        let _ = rx.await;
    }
    Ok(Clients { handles, control })
}

/// Tells the sockets how many creates to expect, and waits for them (at most `settle`).
pub async fn finish(
    shared: &Shared,
    clients: Clients,
    created: usize,
    settle: Duration,
) -> Vec<Seen> {
    let accepted = shared.accepted[..created]
        .iter()
        .filter(|a| a.load(Ordering::Relaxed))
        .count();
    *clients
        .control
        .deadline
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + settle);
    clients.control.expected.store(accepted, Ordering::Relaxed);
    let mut seen = Vec::with_capacity(clients.handles.len());
    for handle in clients.handles {
        seen.push(handle.await.unwrap_or_default());
    }
    seen
}

/// Per-socket state that outlives a reconnect.
struct State {
    /// Bit `n` set: create `n` seen.
    seen_bits: Vec<u64>,
    seen: Seen,
    last_seq: Option<u64>,
    latencies: Vec<u64>,
    /// Joins so far; a snapshot after the first one means a gap was not replayed.
    joins: u32,
}

impl State {
    fn mark(&mut self, shared: &Shared, n: usize, live: bool) {
        let (word, bit) = (n / 64, 1u64 << (n % 64));
        if word >= self.seen_bits.len() {
            return;
        }
        if self.seen_bits[word] & bit != 0 {
            self.seen.duplicates += 1;
            return;
        }
        self.seen_bits[word] |= bit;
        if shared.accepted[n].load(Ordering::Relaxed) || live {
            self.seen.creates += 1;
        }
        let sent = shared.sent_at[n].load(Ordering::Relaxed);
        if live && sent > 0 {
            self.latencies
                .push(shared.micros().saturating_sub(sent).max(1));
            if self.latencies.len() >= 512 {
                self.flush(shared);
            }
        }
    }

    fn flush(&mut self, shared: &Shared) {
        if self.latencies.is_empty() {
            return;
        }
        let mut h = shared.latency.lock().unwrap_or_else(|e| e.into_inner());
        for l in self.latencies.drain(..) {
            let _ = h.record(l);
        }
    }
}

async fn run_client(
    shared: Arc<Shared>,
    control: Arc<Control>,
    index: usize,
    token: String,
    gate: Arc<Semaphore>,
    joined: oneshot::Sender<()>,
) -> Seen {
    let words = shared.sent_at.len().div_ceil(64);
    let mut state = State {
        seen_bits: vec![0; words],
        seen: Seen::default(),
        last_seq: None,
        latencies: Vec::new(),
        joins: 0,
    };
    let mut joined = Some(joined);
    let drop_every = shared.args.drop_every.map(Duration::from_secs_f64);
    // A random phase, so drops are spread rather than synchronised.
    let phase = drop_every.map(|d| d.mul_f64(fastish_random()));
    let mut first = true;
    loop {
        let socket = {
            let _permit = gate.acquire().await;
            connect(&shared, index, &token, state.last_seq).await
        };
        let Some(mut socket) = socket else {
            shared.connect_failures.fetch_add(1, Ordering::Relaxed);
            if let Some(j) = joined.take() {
                let _ = j.send(());
            }
            if done(&control, &state) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if !first {
            shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let drop_at = match (drop_every, phase, first) {
            (Some(_), Some(p), true) => Some(Instant::now() + p.max(Duration::from_millis(100))),
            (Some(d), _, false) => Some(Instant::now() + d),
            _ => None,
        };
        first = false;
        state.joins += 1;
        let ended = read(
            &shared,
            &control,
            &mut socket,
            &mut state,
            &mut joined,
            drop_at,
        )
        .await;
        let _ = socket.close(None).await;
        if ended {
            break;
        }
    }
    state.flush(&shared);
    if let Some(j) = joined.take() {
        let _ = j.send(());
    }
    state.seen
}

fn done(control: &Control, state: &State) -> bool {
    let expected = control.expected.load(Ordering::Relaxed);
    if expected != usize::MAX && state.seen.creates >= expected {
        return true;
    }
    let deadline = *control.deadline.lock().unwrap_or_else(|e| e.into_inner());
    deadline.is_some_and(|d| Instant::now() >= d)
}

async fn connect(shared: &Shared, index: usize, token: &str, since: Option<u64>) -> Option<Socket> {
    let base = shared.args.url_for(index).replacen("http", "ws", 1);
    let url = match shared.args.target {
        Target::Socketio => format!("{base}/socket.io/?EIO=4&transport=websocket"),
        _ => format!("{base}/ws"),
    };
    let mut request = url.into_client_request().ok()?;
    if !token.is_empty() {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().ok()?);
    }
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .ok()?
    .ok()?;
    match shared.args.target {
        Target::Socketio => {
            // Engine.IO open (`0{…}`), then the Socket.IO connect (`40`), then the join.
            next_text(&mut socket).await?;
            socket.send(Message::text("40")).await.ok()?;
            next_text(&mut socket).await?;
            socket
                .send(Message::text(r#"42["dashboard:join"]"#))
                .await
                .ok()?;
        }
        _ => {
            next_text(&mut socket).await?; // hello
            let since = since.map_or("null".to_owned(), |s| s.to_string());
            let join = format!(r#"{{"v":1,"type":"dashboard:join","data":{{"since":{since}}}}}"#);
            socket.send(Message::text(join)).await.ok()?;
        }
    }
    Some(socket)
}

async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Reads until the socket ends (`false`: reconnect), it is time to drop (`false`), or
/// the run is over (`true`).
async fn read(
    shared: &Shared,
    control: &Control,
    socket: &mut Socket,
    state: &mut State,
    joined: &mut Option<oneshot::Sender<()>>,
    drop_at: Option<Instant>,
) -> bool {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            msg = socket.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return false,
                    Some(Ok(_)) => continue,
                };
                shared.frames.fetch_add(1, Ordering::Relaxed);
                if shared.args.target == Target::Socketio && text.as_str() == "2" {
                    if socket.send(Message::text("3")).await.is_err() {
                        return false;
                    }
                    continue;
                }
                if handle_frame(shared, state, text.as_str()) {
                    if let Some(j) = joined.take() {
                        let _ = j.send(());
                    }
                }
            }
            _ = tick.tick() => {
                if done(control, state) {
                    return true;
                }
                if drop_at.is_some_and(|t| Instant::now() >= t) {
                    return false;
                }
            }
        }
    }
}

/// Reads one frame; `true` when it was the join's snapshot.
fn handle_frame(shared: &Shared, state: &mut State, text: &str) -> bool {
    let snapshot =
        text.contains("\"dashboard:state\"") || text.starts_with("42[\"dashboard:state\"");
    if snapshot {
        if state.joins > 1 {
            shared.snapshots.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(seq) = number_after(text, "\"seq\":") {
            state.last_seq = Some(seq);
        }
        let marker = format!("lg-{}-", shared.run);
        let mut rest = text;
        while let Some(at) = rest.find(&marker) {
            rest = &rest[at + marker.len()..];
            if let Some(n) = leading_number(rest) {
                state.mark(shared, n as usize, false);
            }
        }
        return true;
    }
    if !text.contains("dashboard:task_list_updated") {
        return false;
    }
    if shared.args.target != Target::Socketio {
        if let Some(seq) = number_after(text, "\"seq\":") {
            if state.last_seq.is_some_and(|last| seq <= last) {
                state.seen.out_of_order += 1;
            }
            state.last_seq = Some(seq);
        }
    }
    if !text.contains("\"status\":\"received\"") {
        return false;
    }
    let marker = format!("\"lg-{}-", shared.run);
    if let Some(at) = text.find(&marker) {
        if let Some(n) = leading_number(&text[at + marker.len()..]) {
            state.mark(shared, n as usize, true);
        }
    }
    false
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)?;
    leading_number(&text[at + key.len()..])
}

fn leading_number(text: &str) -> Option<u64> {
    let digits: &str = &text[..text.bytes().take_while(u8::is_ascii_digit).count()];
    digits.parse().ok()
}

/// A number in [0, 1) that differs per call (each `RandomState` is seeded afresh);
/// good enough to spread drop phases.
fn fastish_random() -> f64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (h % 1_000_000) as f64 / 1_000_000.0
}
