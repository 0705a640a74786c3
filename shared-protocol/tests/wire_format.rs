//! Pins the exact JSON of every message against a literal fixture, both ways: a renamed
//! field or type cannot slip through.

use serde_json::Value;
use shared_protocol::*;

fn row(status: TaskStatus, seq: Seq) -> TaskSummary {
    TaskSummary {
        id: TaskId(7),
        title: "Fix the payment webhook retry".into(),
        status,
        creator: UserRef {
            id: UserId(1),
            name: "Ada".into(),
        },
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_001_000,
        last_seq: seq,
        private: false,
    }
}

fn meta(status: TaskStatus, seq: Seq) -> EventMeta {
    EventMeta {
        task_id: TaskId(7),
        at: 1_700_000_001_000,
        actor: Some("Ada".into()),
        task: row(status, seq),
    }
}

const ROW: &str = r#""id":7,"title":"Fix the payment webhook retry","creator":{"id":1,"name":"Ada"},"createdAt":1700000000000,"updatedAt":1700000001000"#;

fn event_json(kind: &str, status: &str, seq: u64, extra: &str) -> String {
    format!(
        r#"{{"v":1,"seq":{seq},"type":"{kind}","data":{{"taskId":7,"at":1700000001000,"actor":"Ada","task":{{{ROW},"status":"{status}","lastSeq":{seq}}}{extra}}}}}"#
    )
}

#[track_caller]
fn assert_server_pinned(frame: ServerFrame, fixture: &str) {
    let expected: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    let actual: Value = serde_json::from_str(&frame.to_json()).expect("encoded JSON");
    assert_eq!(actual, expected, "encoding of {}", frame.msg.type_name());
    assert_eq!(ServerFrame::decode(fixture), Ok(frame), "decoding fixture");
}

#[track_caller]
fn assert_client_pinned(msg: ClientMsg, fixture: &str) {
    let frame = ClientFrame::new(msg);
    let expected: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    let actual: Value = serde_json::from_str(&frame.to_json()).expect("encoded JSON");
    assert_eq!(actual, expected);
    assert_eq!(ClientFrame::decode(fixture), Ok(frame));
}

#[test]
fn task_created_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            3,
            ServerMsg::TaskCreated(TaskCreated {
                meta: meta(TaskStatus::Received, 3),
                description: "Retries stop after one".into(),
            }),
        ),
        &event_json(
            "task:created",
            "received",
            3,
            r#","description":"Retries stop after one""#,
        ),
    );
}

#[test]
fn task_analyzing_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            4,
            ServerMsg::TaskAnalyzing(TaskAnalyzing {
                meta: meta(TaskStatus::Analyzing, 4),
                analyser: "rules".into(),
            }),
        ),
        &event_json("task:analyzing", "analyzing", 4, r#","analyser":"rules""#),
    );
}

#[test]
fn task_clarification_needed_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            5,
            ServerMsg::ClarificationNeeded(ClarificationNeeded {
                meta: meta(TaskStatus::NeedsClarification, 5),
                questions: vec!["Which endpoint?".into()],
                analyser: "rules".into(),
            }),
        ),
        &event_json(
            "task:clarification_needed",
            "needs_clarification",
            5,
            r#","questions":["Which endpoint?"],"analyser":"rules""#,
        ),
    );
}

#[test]
fn task_clarified_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            6,
            ServerMsg::TaskClarified(TaskClarified {
                meta: meta(TaskStatus::Clarified, 6),
                answers: vec!["/hooks/pay".into()],
            }),
        ),
        &event_json(
            "task:clarified",
            "clarified",
            6,
            r#","answers":["/hooks/pay"]"#,
        ),
    );
}

#[test]
fn task_dispatched_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            7,
            ServerMsg::TaskDispatched(TaskDispatched {
                meta: meta(TaskStatus::Dispatched, 7),
                issue_number: Some(42),
                issue_url: Some("https://github.com/acme/app/issues/42".into()),
                github_branch: Some("task-7".into()),
            }),
        ),
        &event_json(
            "task:dispatched",
            "dispatched",
            7,
            r#","issueNumber":42,"issueUrl":"https://github.com/acme/app/issues/42","githubBranch":"task-7""#,
        ),
    );
}

#[test]
fn task_dispatched_without_github_omits_the_links() {
    assert_server_pinned(
        ServerFrame::at(
            7,
            ServerMsg::TaskDispatched(TaskDispatched {
                meta: meta(TaskStatus::Dispatched, 7),
                issue_number: None,
                issue_url: None,
                github_branch: None,
            }),
        ),
        &event_json("task:dispatched", "dispatched", 7, ""),
    );
}

#[test]
fn task_coding_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            8,
            ServerMsg::TaskCoding(TaskCoding {
                meta: meta(TaskStatus::Coding, 8),
                note: Some("Branch pushed".into()),
            }),
        ),
        &event_json("task:coding", "coding", 8, r#","note":"Branch pushed""#),
    );
}

#[test]
fn task_pr_opened_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            9,
            ServerMsg::PrOpened(PrOpened {
                meta: meta(TaskStatus::PrOpen, 9),
                pr_number: Some(43),
                pr_url: Some("https://github.com/acme/app/pull/43".into()),
                pr_title: Some("Retry payment webhooks".into()),
            }),
        ),
        &event_json(
            "task:pr_opened",
            "pr_open",
            9,
            r#","prNumber":43,"prUrl":"https://github.com/acme/app/pull/43","prTitle":"Retry payment webhooks""#,
        ),
    );
}

#[test]
fn task_pr_merged_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            10,
            ServerMsg::PrMerged(PrMerged {
                meta: meta(TaskStatus::Merged, 10),
                merge_commit_sha: Some("9f8e7d".into()),
                merged_at: Some(1_700_000_002_000),
            }),
        ),
        &event_json(
            "task:pr_merged",
            "merged",
            10,
            r#","mergeCommitSha":"9f8e7d","mergedAt":1700000002000"#,
        ),
    );
}

#[test]
fn task_pr_closed_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            11,
            ServerMsg::PrClosed(PrClosed {
                meta: meta(TaskStatus::Failed, 11),
                pr_number: Some(43),
            }),
        ),
        &event_json("task:pr_closed", "failed", 11, r#","prNumber":43"#),
    );
}

#[test]
fn task_failed_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            12,
            ServerMsg::TaskFailed(TaskFailed {
                meta: meta(TaskStatus::Failed, 12),
                reason: "GitHub did not answer".into(),
            }),
        ),
        &event_json(
            "task:failed",
            "failed",
            12,
            r#","reason":"GitHub did not answer""#,
        ),
    );
}

#[test]
fn task_retried_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            14,
            ServerMsg::TaskRetried(TaskRetried {
                meta: meta(TaskStatus::Received, 14),
            }),
        ),
        &event_json("task:retried", "received", 14, ""),
    );
}

#[test]
fn task_event_added_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            13,
            ServerMsg::EventAdded(EventAdded {
                meta: meta(TaskStatus::Coding, 13),
                text: "Tests pass locally".into(),
            }),
        ),
        &event_json(
            "task:event_added",
            "coding",
            13,
            r#","text":"Tests pass locally""#,
        ),
    );
}

#[test]
fn task_state_is_pinned() {
    let detail = TaskDetail {
        questions: vec!["Which endpoint?".into()],
        ..TaskDetail::new(
            row(TaskStatus::NeedsClarification, 5),
            "Retries stop after one".into(),
        )
    };
    let timeline = vec![TimelineEntry {
        seq: 3,
        kind: "task:created".into(),
        at: 1_700_000_000_000,
        actor: Some("Ada".into()),
        text: "Task created".into(),
    }];
    assert_server_pinned(
        ServerFrame::at(
            20,
            ServerMsg::TaskState(TaskState {
                task: detail,
                timeline,
            }),
        ),
        &format!(
            r#"{{"v":1,"seq":20,"type":"task:state","data":{{"task":{{{ROW},"status":"needs_clarification","lastSeq":5,"description":"Retries stop after one","questions":["Which endpoint?"],"answers":[]}},"timeline":[{{"seq":3,"kind":"task:created","at":1700000000000,"actor":"Ada","text":"Task created"}}]}}}}"#
        ),
    );
}

#[test]
fn dashboard_state_is_pinned() {
    let mut counts = StatusCounts::default();
    counts.shift(None, TaskStatus::Dispatched);
    assert_server_pinned(
        ServerFrame::at(
            21,
            ServerMsg::DashboardState(DashboardState {
                tasks: vec![row(TaskStatus::Dispatched, 7)],
                counts,
            }),
        ),
        &format!(
            r#"{{"v":1,"seq":21,"type":"dashboard:state","data":{{"tasks":[{{{ROW},"status":"dispatched","lastSeq":7}}],"counts":{{"dispatched":1}}}}}}"#
        ),
    );
}

#[test]
fn dashboard_task_list_updated_is_pinned() {
    assert_server_pinned(
        ServerFrame::at(
            8,
            ServerMsg::TaskListUpdated(TaskListUpdated {
                task: row(TaskStatus::Coding, 8),
                counts: None,
                previous: None,
            }),
        ),
        &format!(
            r#"{{"v":1,"seq":8,"type":"dashboard:task_list_updated","data":{{"task":{{{ROW},"status":"coding","lastSeq":8}}}}}}"#
        ),
    );
}

#[test]
fn dashboard_task_list_updated_with_counts_is_pinned() {
    let mut counts = StatusCounts::default();
    counts.0.insert(TaskStatus::Coding, 2);
    counts.0.insert(TaskStatus::Merged, 1);
    assert_server_pinned(
        ServerFrame::at(
            8,
            ServerMsg::TaskListUpdated(TaskListUpdated {
                task: row(TaskStatus::Coding, 8),
                counts: Some(counts),
                previous: Some(TaskStatus::Dispatched),
            }),
        ),
        &format!(
            r#"{{"v":1,"seq":8,"type":"dashboard:task_list_updated","data":{{"task":{{{ROW},"status":"coding","lastSeq":8}},"counts":{{"coding":2,"merged":1}},"previous":"dispatched"}}}}"#
        ),
    );
}

#[test]
fn dashboard_task_count_changed_is_pinned() {
    let mut counts = StatusCounts::default();
    counts.shift(None, TaskStatus::Coding);
    counts.shift(None, TaskStatus::Coding);
    counts.shift(None, TaskStatus::Merged);
    assert_server_pinned(
        ServerFrame::at(8, ServerMsg::TaskCountChanged(TaskCountChanged { counts })),
        r#"{"v":1,"seq":8,"type":"dashboard:task_count_changed","data":{"counts":{"coding":2,"merged":1}}}"#,
    );
}

#[test]
fn task_viewers_is_pinned() {
    assert_server_pinned(
        ServerFrame::new(ServerMsg::TaskViewers(TaskViewers {
            task_id: TaskId(7),
            viewers: vec!["Ada".into(), "Grace".into()],
        })),
        r#"{"v":1,"type":"task:viewers","data":{"taskId":7,"viewers":["Ada","Grace"]}}"#,
    );
}

#[test]
fn hello_is_pinned() {
    assert_server_pinned(
        ServerFrame::new(ServerMsg::Hello(Hello {
            user: UserRef {
                id: UserId(1),
                name: "Ada".into(),
            },
            server_version: "0.1.0".into(),
            heartbeat_ms: 15000,
        })),
        r#"{"v":1,"type":"hello","data":{"user":{"id":1,"name":"Ada"},"serverVersion":"0.1.0","heartbeatMs":15000}}"#,
    );
}

#[test]
fn pong_is_pinned() {
    assert_server_pinned(
        ServerFrame::new(ServerMsg::Pong(Ping { nonce: 9 })),
        r#"{"v":1,"type":"pong","data":{"nonce":9}}"#,
    );
}

#[test]
fn error_is_pinned() {
    assert_server_pinned(
        ServerFrame::error(
            ErrorCode::FrameTooLarge,
            "frames are limited to 16384 bytes",
        ),
        r#"{"v":1,"type":"error","data":{"code":"frame_too_large","message":"frames are limited to 16384 bytes"}}"#,
    );
}

#[test]
fn every_error_code_has_a_stable_name() {
    let names: Vec<String> = [
        ErrorCode::MalformedFrame,
        ErrorCode::UnsupportedVersion,
        ErrorCode::UnknownType,
        ErrorCode::InvalidData,
        ErrorCode::FrameTooLarge,
        ErrorCode::BinaryNotSupported,
        ErrorCode::NotFound,
        ErrorCode::RateLimited,
        ErrorCode::AuthExpired,
        ErrorCode::SlowConsumer,
        ErrorCode::TooManyRooms,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
    ]
    .iter()
    .map(|c| serde_json::to_string(c).unwrap())
    .collect();
    assert_eq!(
        names.join(","),
        r#""malformed_frame","unsupported_version","unknown_type","invalid_data","frame_too_large","binary_not_supported","not_found","rate_limited","auth_expired","slow_consumer","too_many_rooms","shutting_down","internal""#
    );
}

#[test]
fn dashboard_join_is_pinned() {
    assert_client_pinned(
        ClientMsg::DashboardJoin(DashboardJoin { since: Some(12) }),
        r#"{"v":1,"type":"dashboard:join","data":{"since":12}}"#,
    );
    assert_client_pinned(
        ClientMsg::DashboardJoin(DashboardJoin { since: None }),
        r#"{"v":1,"type":"dashboard:join","data":{}}"#,
    );
}

#[test]
fn dashboard_leave_is_pinned() {
    assert_client_pinned(
        ClientMsg::DashboardLeave(Empty {}),
        r#"{"v":1,"type":"dashboard:leave","data":{}}"#,
    );
}

#[test]
fn task_join_is_pinned() {
    assert_client_pinned(
        ClientMsg::TaskJoin(TaskJoin {
            task_id: TaskId(7),
            since: Some(3),
        }),
        r#"{"v":1,"type":"task:join","data":{"taskId":7,"since":3}}"#,
    );
}

#[test]
fn task_leave_is_pinned() {
    assert_client_pinned(
        ClientMsg::TaskLeave(TaskLeave { task_id: TaskId(7) }),
        r#"{"v":1,"type":"task:leave","data":{"taskId":7}}"#,
    );
}

#[test]
fn resync_requested_is_pinned() {
    assert_client_pinned(
        ClientMsg::ResyncRequested(ResyncRequested {
            room: RoomRef::Task { task_id: TaskId(7) },
            since: Some(3),
        }),
        r#"{"v":1,"type":"resync_requested","data":{"room":"task","taskId":7,"since":3}}"#,
    );
    assert_client_pinned(
        ClientMsg::ResyncRequested(ResyncRequested {
            room: RoomRef::Dashboard,
            since: None,
        }),
        r#"{"v":1,"type":"resync_requested","data":{"room":"dashboard"}}"#,
    );
}

#[test]
fn ping_is_pinned() {
    assert_client_pinned(
        ClientMsg::Ping(Ping { nonce: 9 }),
        r#"{"v":1,"type":"ping","data":{"nonce":9}}"#,
    );
}

#[test]
fn every_type_name_round_trips_through_the_type_list() {
    for kind in ServerMsg::TYPES {
        let err = ServerFrame::decode(&format!(r#"{{"v":1,"type":"{kind}","data":"x"}}"#))
            .expect_err("string data fits no message");
        assert!(
            matches!(err, DecodeError::InvalidData { .. }),
            "{kind} should be a known type, got {err:?}"
        );
    }
    for kind in ClientMsg::TYPES {
        let err = ClientFrame::decode(&format!(r#"{{"v":1,"type":"{kind}","data":"x"}}"#))
            .expect_err("string data fits no message");
        assert!(matches!(err, DecodeError::InvalidData { .. }), "{kind}");
    }
}

#[test]
fn decoding_rejects_what_is_not_a_frame_with_a_typed_error() {
    let cases: [(&str, ErrorCode); 9] = [
        ("not json", ErrorCode::MalformedFrame),
        ("[1,2]", ErrorCode::MalformedFrame),
        (
            r#"{"type":"ping","data":{"nonce":1}}"#,
            ErrorCode::MalformedFrame,
        ),
        (r#"{"v":"1","type":"ping"}"#, ErrorCode::MalformedFrame),
        (
            r#"{"v":2,"type":"ping","data":{"nonce":1}}"#,
            ErrorCode::UnsupportedVersion,
        ),
        (r#"{"v":1,"type":7}"#, ErrorCode::MalformedFrame),
        (
            r#"{"v":1,"type":"task:explode","data":{}}"#,
            ErrorCode::UnknownType,
        ),
        (
            r#"{"v":1,"type":"task:join","data":{"taskId":"seven"}}"#,
            ErrorCode::InvalidData,
        ),
        (r#"{"v":1,"type":"ping"}"#, ErrorCode::InvalidData),
    ];
    for (text, code) in cases {
        let err = ClientFrame::decode(text).expect_err(text);
        assert_eq!(err.code(), code, "{text}: {err}");
        assert!(!err.to_error_body().message.is_empty());
    }
}

#[test]
fn a_server_only_type_is_unknown_to_the_client_decoder() {
    let err = ClientFrame::decode(r#"{"v":1,"type":"hello","data":{}}"#).unwrap_err();
    assert_eq!(err, DecodeError::UnknownType("hello".into()));
}

#[test]
fn a_logged_event_rebuilds_the_same_message() {
    let msg = ServerMsg::TaskCoding(TaskCoding {
        meta: meta(TaskStatus::Coding, 8),
        note: None,
    });
    let logged = LoggedEvent::from_msg(&msg);
    assert_eq!(logged.kind, "task:coding");
    assert_eq!(logged.to_msg(), Ok(msg));
}

#[test]
fn an_envelope_is_read_whatever_the_order_spacing_and_escapes_of_its_fields() {
    let ping = ClientMsg::Ping(Ping { nonce: 9 });
    for text in [
        r#"{"data":{"nonce":9},"type":"ping","v":1}"#,
        r#" { "v" : 1 , "extra" : [1, {"v": 2}] , "type" : "ping" , "data" : { "nonce" : 9 } } "#,
        r#"{"\u0076":1,"type":"p\u0069ng","data":{"nonce":9}}"#,
    ] {
        assert_eq!(ClientFrame::decode(text).expect(text).msg, ping, "{text}");
    }
    let frame =
        ServerFrame::decode(r#"{"seq":null,"data":{"nonce":4},"type":"pong","v":1}"#).unwrap();
    assert_eq!(frame.seq, None);
    let frame =
        ServerFrame::decode(r#"{"seq":12,"data":{"nonce":4},"type":"pong","v":1}"#).unwrap();
    assert_eq!(frame.seq, Some(12));
}

#[test]
fn a_bad_envelope_field_is_named_in_its_error() {
    let cases: [(&str, DecodeError); 10] = [
        (
            r#"{"v":null,"type":"ping"}"#,
            DecodeError::Malformed("`v` must be a number".into()),
        ),
        (
            r#"{"v":1.5,"type":"ping"}"#,
            DecodeError::UnsupportedVersion("1.5".into()),
        ),
        (
            r#"{"v":1.0,"type":"ping"}"#,
            DecodeError::UnsupportedVersion("1.0".into()),
        ),
        (
            r#"{"v":-1,"type":"ping"}"#,
            DecodeError::UnsupportedVersion("-1".into()),
        ),
        (
            r#"{"v":3,"type":"ping"}"#,
            DecodeError::UnsupportedVersion("3".into()),
        ),
        (
            r#"{"v":1,"type":null}"#,
            DecodeError::Malformed("`type` must be a string".into()),
        ),
        (
            r#"{"v":1,"data":{}}"#,
            DecodeError::Malformed("missing `type`".into()),
        ),
        (
            r#"{"v":1,"seq":-1,"type":"ping","data":{"nonce":1}}"#,
            DecodeError::Malformed("`seq` must be a non-negative integer".into()),
        ),
        (
            r#"{"v":1,"seq":"3","type":"ping","data":{"nonce":1}}"#,
            DecodeError::Malformed("`seq` must be a non-negative integer".into()),
        ),
        (
            r#"{"v":1,"type":"\u0070ong"}"#,
            DecodeError::UnknownType("pong".into()),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(ClientFrame::decode(text).unwrap_err(), expected, "{text}");
    }
    // Not an object: neither an array nor anything after the object is a frame; nor
    // one that gives a field of its envelope twice.
    for text in [
        r#"[1,"ping",null,{"nonce":1}]"#,
        r#"{"v":1,"type":"ping","data":{"nonce":1}} x"#,
        r#"{"v":2,"v":1,"type":"ping","data":{"nonce":1}}"#,
        r#"{"v":1,"type":"hello","type":"ping","data":{"nonce":1}}"#,
        r#"{"v":1,"seq":1,"seq":2,"type":"ping","data":{"nonce":1}}"#,
    ] {
        let err = ClientFrame::decode(text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedFrame, "{text}: {err}");
    }
}

#[test]
fn invalid_data_says_what_is_wrong_and_where() {
    let err =
        ClientFrame::decode(r#"{"v":1,"type":"task:join","data":{"taskId":"seven"}}"#).unwrap_err();
    let DecodeError::InvalidData { kind, detail } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(kind, "task:join");
    assert!(
        detail.contains("invalid type: string \"seven\""),
        "{detail}"
    );
    // The position is in the frame the peer sent, on whichever of its lines.
    assert!(detail.ends_with("at line 1 column 50"), "{detail}");
    for (text, position) in [
        (
            "{\"v\":1,\"type\":\"task:join\",\n \"data\":{\"taskId\":\"seven\"}}",
            "at line 2 column 25",
        ),
        (
            "{\"v\":1,\"type\":\"task:join\",\"data\":{\n\n  \"taskId\":\"seven\"}}",
            "at line 3 column 18",
        ),
    ] {
        let err = ClientFrame::decode(text).unwrap_err();
        assert!(
            matches!(&err, DecodeError::InvalidData { detail, .. } if detail.ends_with(position)),
            "{text}: {err:?}"
        );
    }
    for (text, problem) in [
        (r#"{"v":1,"type":"ping"}"#, "missing field `data`"),
        (
            r#"{"v":1,"type":"ping","data":{"nonce":1},"data":{"nonce":2}}"#,
            "duplicate field `data`",
        ),
    ] {
        let err = ClientFrame::decode(text).unwrap_err();
        assert!(
            matches!(&err, DecodeError::InvalidData { detail, .. } if detail.contains(problem)),
            "{text}: {err:?}"
        );
    }
}
