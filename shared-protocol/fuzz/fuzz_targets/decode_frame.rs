//! Any bytes, as a client or server frame: decoding never panics, and every refusal
//! has a code and a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared_protocol::{ClientFrame, ServerFrame};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = ClientFrame::decode(text) {
        assert!(!e.to_error_body().message.is_empty());
    }
    if let Ok(frame) = ServerFrame::decode(text) {
        // What decodes re-encodes to something that decodes to the same frame.
        assert_eq!(ServerFrame::decode(&frame.to_json()), Ok(frame));
    }
});
