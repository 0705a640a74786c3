//! The frame decoder and the reducers never panic, whatever arrives.

use proptest::prelude::*;
use shared_protocol::reducer::{DashboardView, TaskView};
use shared_protocol::*;

/// JSON-ish text built around real type names, so the decoder gets past its first checks.
fn framish() -> impl Strategy<Value = String> {
    let kinds: Vec<&'static str> = ServerMsg::TYPES
        .iter()
        .chain(ClientMsg::TYPES.iter())
        .copied()
        .collect();
    (
        prop::sample::select(kinds),
        prop::option::of(any::<i64>()),
        "[ -~]{0,80}",
        prop::sample::select(vec![
            "{}",
            "null",
            "[]",
            "\"x\"",
            "7",
            "{\"taskId\":\"7\"}",
            "{\"nonce\":-1}",
        ]),
    )
        .prop_map(|(kind, seq, junk, data)| {
            let seq = seq.map(|s| format!(",\"seq\":{s}")).unwrap_or_default();
            format!(
                r#"{{"v":1,"type":"{kind}"{seq},"data":{data},"x":"{}"}}"#,
                junk.replace('"', "")
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = ClientFrame::decode(&text);
        let _ = ServerFrame::decode(&text);
    }

    #[test]
    fn decoding_frame_shaped_text_never_panics_and_errors_are_coded(text in framish()) {
        if let Err(e) = ClientFrame::decode(&text) {
            prop_assert!(!e.to_error_body().message.is_empty());
        }
        let _ = ServerFrame::decode(&text);
    }

    #[test]
    fn reducers_take_any_decodable_frame(texts in prop::collection::vec(framish(), 0..20)) {
        let mut dashboard = DashboardView::default();
        let mut task = TaskView::from_state(0, TaskState {
            task: TaskDetail::new(
                TaskSummary {
                    id: TaskId(7),
                    title: "t".into(),
                    status: TaskStatus::Received,
                    creator: UserRef { id: UserId(1), name: "a".into() },
                    created_at: 0,
                    updated_at: 0,
                    last_seq: 0,
                    private: false,
                },
                String::new(),
            ),
            timeline: vec![],
        });
        for text in texts {
            if let Ok(frame) = ServerFrame::decode(&text) {
                dashboard.apply(&frame);
                task.apply(&frame);
            }
        }
    }
}
