//! `bare-fanout`: the least a server can do for taskwire's dashboard, as a yardstick.
//! It speaks just enough of the protocol (`hello`, `dashboard:join`, `POST /api/tasks`),
//! stores nothing, checks nobody, and sends each frame's bytes to every socket. What
//! it achieves on a machine is what the machine and the harness allow.
//!
//! `bare-fanout [ADDR]` (default 127.0.0.1:3901).

use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Bare {
    frames: broadcast::Sender<Utf8Bytes>,
    /// The last seq handed out; held while its frame is sent, so frames go out in seq
    /// order (what a client checks).
    seq: Arc<Mutex<u64>>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3901".into());
    let state = Bare {
        frames: broadcast::channel(16_384).0,
        seq: Arc::new(Mutex::new(0)),
    };
    let app = Router::new()
        .route("/ws", get(upgrade))
        .route("/api/tasks", post(create))
        .route("/api/health", get(|| async { "ok" }))
        .with_state(state);
    // TCP_NODELAY, as taskwire sets it: each frame goes out as soon as it is written.
    let listener = tokio::net::TcpListener::bind(&addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    eprintln!("bare-fanout listening on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn create(State(s): State<Bare>, Json(body): Json<serde_json::Value>) -> impl IntoResponse {
    let mut last = s.seq.lock().unwrap_or_else(|e| e.into_inner());
    *last += 1;
    let seq = *last;
    let frame = serde_json::json!({
        "v": 1, "type": "dashboard:task_list_updated", "seq": seq,
        "data": { "task": { "id": seq, "title": body["title"], "status": "received", "lastSeq": seq } },
    });
    let _ = s.frames.send(frame.to_string().into());
    drop(last);
    (StatusCode::CREATED, Json(serde_json::json!({ "seq": seq })))
}

async fn upgrade(State(s): State<Bare>, ws: WebSocketUpgrade) -> impl IntoResponse {
    // The same small buffers taskwire uses: the library's defaults cost 128 KiB each.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .on_upgrade(move |socket| serve(socket, s))
}

async fn serve(socket: WebSocket, s: Bare) {
    let (mut tx, mut rx) = socket.split();
    let hello = r#"{"v":1,"type":"hello","data":{"user":{"id":0,"name":"bare"},"serverVersion":"0","heartbeatMs":15000}}"#;
    if tx.send(Message::text(hello)).await.is_err() {
        return;
    }
    // Wait for the join, then answer with an empty snapshot and forward every frame.
    while let Some(Ok(msg)) = rx.next().await {
        if matches!(&msg, Message::Text(t) if t.as_str().contains("dashboard:join")) {
            break;
        }
    }
    let (mut frames, seq) = {
        let last = s.seq.lock().unwrap_or_else(|e| e.into_inner());
        (s.frames.subscribe(), *last)
    };
    let snapshot = format!(
        r#"{{"v":1,"type":"dashboard:state","seq":{seq},"data":{{"tasks":[],"counts":{{}}}}}}"#
    );
    if tx.send(Message::text(snapshot)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(bytes) => if tx.send(Message::Text(bytes)).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            msg = rx.next() => if !matches!(msg, Some(Ok(_))) { return },
        }
    }
}
