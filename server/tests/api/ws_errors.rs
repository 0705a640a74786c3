//! Bad frames get coded errors and the connection stays usable; upgrades need a session.

use shared_protocol::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

fn error_code(frame: &ServerFrame) -> ErrorCode {
    match &frame.msg {
        ServerMsg::Error(e) => e.code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_frames_get_coded_errors_and_the_connection_stays_usable() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    let oversized = format!(
        r#"{{"v":1,"type":"ping","data":{{"nonce":1,"pad":"{}"}}}}"#,
        "x".repeat(20_000)
    );
    let cases: [(&str, ErrorCode); 6] = [
        ("this is not json", ErrorCode::MalformedFrame),
        (
            r#"{"v":1,"type":"task:explode","data":{}}"#,
            ErrorCode::UnknownType,
        ),
        (
            r#"{"v":1,"type":"task:join","data":{"taskId":"seven"}}"#,
            ErrorCode::InvalidData,
        ),
        (
            r#"{"v":9,"type":"ping","data":{"nonce":1}}"#,
            ErrorCode::UnsupportedVersion,
        ),
        (&oversized, ErrorCode::FrameTooLarge),
        (
            r#"{"v":1,"type":"task:join","data":{"taskId":424242}}"#,
            ErrorCode::NotFound,
        ),
    ];
    for (text, code) in cases {
        ws.send_raw(text).await;
        let frame = ws.next().await;
        assert_eq!(
            error_code(&frame),
            code,
            "for {}",
            &text[..text.len().min(60)]
        );
    }
    use futures::SinkExt;
    ws.stream
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .unwrap();
    assert_eq!(error_code(&ws.next().await), ErrorCode::BinaryNotSupported);

    ws.send(ClientMsg::Ping(Ping { nonce: 77 })).await;
    assert_eq!(ws.next().await.msg, ServerMsg::Pong(Ping { nonce: 77 }));
}

#[tokio::test]
async fn a_connection_that_keeps_sending_garbage_is_closed() {
    let app = spawn_app_with(|s| s.ws.max_bad_frames = 3).await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    for _ in 0..4 {
        ws.send_raw("garbage").await;
    }
    let mut errors = 0;
    while let Some(frame) = ws.try_next(std::time::Duration::from_secs(2)).await {
        assert_eq!(error_code(&frame), ErrorCode::MalformedFrame);
        errors += 1;
    }
    assert_eq!(
        errors, 4,
        "every bad frame is answered, then the socket closes"
    );
}

#[tokio::test]
async fn an_unauthenticated_upgrade_is_refused() {
    let app = spawn_app().await;
    let url = format!("ws://127.0.0.1:{}/ws", app.port);
    let err = tokio_tungstenite::connect_async(url.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 401),
        "{err:?}"
    );

    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer not.a.token".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(
        matches!(err, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 401),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_upgrade_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut request = format!("ws://127.0.0.1:{}/ws", app.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", ada.token).parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(
        matches!(err, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 403),
        "{err:?}"
    );
}

/// A server that pings every 100 ms and gives a silent peer `idle_ms`, and a socket to it.
async fn socket_with_fast_heartbeat(idle_ms: u64) -> (TestApp, WsClient) {
    let app = spawn_app_with(|s| {
        s.ws.heartbeat = std::time::Duration::from_millis(100);
        s.ws.idle_timeout = std::time::Duration::from_millis(idle_ms);
    })
    .await;
    let ada = app.signup("ada").await;
    let ws = app.ws(&ada).await;
    (app, ws)
}

#[tokio::test]
async fn a_socket_that_stops_answering_is_dropped_by_the_heartbeat() {
    use futures::StreamExt;
    let (app, mut ws) = socket_with_fast_heartbeat(300).await;
    // Not reading means not answering pings: to the server this is a dead peer.
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.stream.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the server closed the silent socket");
    let health: serde_json::Value = app.health().await;
    assert_eq!(health["connections"], 0);
}

#[tokio::test]
async fn a_socket_that_answers_pings_outlives_the_idle_timeout() {
    use futures::StreamExt;
    // A second of silence is let go; pings stop it being silence. (The margin is for a
    // busy machine, on which a pong can be read late.)
    let (app, mut ws) = socket_with_fast_heartbeat(1_000).await;
    // Reading is answering: the client library replies to each ping as it reads it.
    let mut pings = 0;
    let listening = tokio::time::timeout(std::time::Duration::from_millis(3_000), async {
        while let Some(Ok(message)) = ws.stream.next().await {
            if matches!(message, Message::Ping(_)) {
                pings += 1;
            }
        }
    })
    .await;
    assert!(
        listening.is_err(),
        "the server closed a socket that answered"
    );
    assert!(pings >= 10, "pinged {pings} times in thirty heartbeats");
    ws.send(ClientMsg::Ping(Ping { nonce: 9 })).await;
    assert!(matches!(
        ws.next().await.msg,
        ServerMsg::Pong(Ping { nonce: 9 })
    ));
    let health: serde_json::Value = app.health().await;
    assert_eq!(health["connections"], 1);
}

/// Waits for the server's close frame; returns its code and reason.
async fn close_of(ws: &mut WsClient) -> (u16, String) {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.stream.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (u16::from(frame.code), frame.reason.to_string())
            }
            Ok(Some(Ok(Message::Close(None)))) => panic!("a close frame without a code"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn any_frame_the_server_reads_over_the_limit_gets_frame_too_large() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    // Past the old 64 KiB transport cut-off, up to the 1 MiB the server reads at all; and
    // 100,000 nested brackets, which no JSON parser should be asked to descend.
    let padded = |n: usize| {
        format!(
            r#"{{"v":1,"type":"ping","data":{{"nonce":1,"pad":"{}"}}}}"#,
            "x".repeat(n)
        )
    };
    for text in [
        padded(70_000),
        "[".repeat(100_000),
        padded(1024 * 1024 - 100),
    ] {
        ws.send_raw(&text).await;
        let frame = ws.next().await;
        let ServerMsg::Error(error) = &frame.msg else {
            panic!("expected an error for {} bytes, got {frame:?}", text.len())
        };
        assert_eq!(error.code, ErrorCode::FrameTooLarge);
        assert!(error.message.contains("16384"), "{}", error.message);
    }
    // A binary frame over the limit is named for its size too.
    use futures::SinkExt;
    ws.stream
        .send(Message::binary(vec![0u8; 20_000]))
        .await
        .unwrap();
    assert_eq!(error_code(&ws.next().await), ErrorCode::FrameTooLarge);
    ws.send(ClientMsg::Ping(Ping { nonce: 5 })).await;
    assert_eq!(ws.next().await.msg, ServerMsg::Pong(Ping { nonce: 5 }));
}

#[tokio::test]
async fn a_frame_past_what_the_server_reads_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    ws.send_raw(&"x".repeat(2 * 1024 * 1024)).await;
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, 1009);
    assert!(
        reason.contains("1048576"),
        "the reason names the limit: {reason}"
    );
    // The server is fine, and the user can connect again.
    let mut again = app.ws(&ada).await;
    again.send(ClientMsg::Ping(Ping { nonce: 6 })).await;
    assert_eq!(again.next().await.msg, ServerMsg::Pong(Ping { nonce: 6 }));
}

async fn upgrade(app: &TestApp, user: &TestUser) -> Result<WsClient, (u16, serde_json::Value)> {
    let mut request = format!("ws://127.0.0.1:{}/ws", app.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", user.token).parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(WsClient { stream }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Err((
                response.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or_default(),
            ))
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn a_user_may_hold_only_so_many_sockets_and_a_close_frees_one() {
    let app = spawn_app_with(|s| s.ws.max_sockets_per_user = 3).await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(upgrade(&app, &ada).await.expect("under the cap"));
    }
    let Err((status, body)) = upgrade(&app, &ada).await else {
        panic!("the fourth socket must be refused")
    };
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "too_many_connections");
    assert!(body["error"]["message"].as_str().unwrap().contains('3'));
    // Another user is not affected.
    assert!(upgrade(&app, &bob).await.is_ok());

    // Closing one frees its slot.
    let mut closing = open.pop().unwrap();
    closing.stream.close(None).await.unwrap();
    drop(closing);
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(ws) = upgrade(&app, &ada).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "the closed socket's slot was freed");
}

#[tokio::test]
async fn a_clients_close_is_answered() {
    use futures::StreamExt;
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut ws = app.ws(&ada).await;
    ws.stream.close(None).await.expect("close sent");
    // Whatever was on its way (a heartbeat's ping) comes first; then the close's answer.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match ws.stream.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("an answer within 5 s");
    assert!(
        matches!(answer, Some(Ok(Message::Close(_)))),
        "the server echoes the close: {answer:?}"
    );
}
