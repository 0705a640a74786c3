//! Any sequence of frames (one per line) applied to both reducers never panics, and
//! applying the same sequence twice changes nothing the second time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared_protocol::reducer::DashboardView;
use shared_protocol::ServerFrame;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let frames: Vec<ServerFrame> = text
        .lines()
        .filter_map(|l| ServerFrame::decode(l).ok())
        .collect();
    let mut view = DashboardView::default();
    for frame in &frames {
        view.apply(frame);
    }
    let once = view.clone();
    // A replay of frames already applied (same seqs) must not change the view, unless
    // it carries a snapshot, which always replaces it.
    let has_snapshot = frames
        .iter()
        .any(|f| matches!(f.msg, shared_protocol::ServerMsg::DashboardState(_)));
    for frame in &frames {
        view.apply(frame);
    }
    if !has_snapshot {
        assert_eq!(view, once);
    }
});
