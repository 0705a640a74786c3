//! `docs/protocol.md` names every message type, and every example in it decodes.

use shared_protocol::{ClientFrame, ClientMsg, ServerFrame, ServerMsg};

fn reference() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    std::fs::read_to_string(path).expect("docs/protocol.md exists")
}

fn examples(doc: &str) -> Vec<String> {
    doc.split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_message_type_is_documented() {
    let doc = reference();
    for kind in ServerMsg::TYPES.iter().chain(ClientMsg::TYPES.iter()) {
        assert!(
            doc.contains(&format!("`{kind}`")) || doc.contains(&format!("\"{kind}\"")),
            "{kind} is not documented"
        );
    }
}

#[test]
fn every_example_in_the_reference_decodes() {
    let doc = reference();
    let examples = examples(&doc);
    assert!(examples.len() >= 15, "found {} examples", examples.len());
    for example in examples {
        let as_server = ServerFrame::decode(&example);
        let as_client = ClientFrame::decode(&example);
        assert!(
            as_server.is_ok() || as_client.is_ok(),
            "{example}\n{as_server:?}\n{as_client:?}"
        );
    }
}
