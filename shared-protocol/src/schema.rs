//! The protocol's JSON Schema, generated from the types themselves (`schemars` reads the
//! same serde attributes the wire format comes from) and committed as
//! `docs/protocol.schema.json` for clients outside Rust (the end-to-end suite's
//! TypeScript types are generated from it). A test fails when the committed
//! file no longer matches the types.

use schemars::JsonSchema;

use crate::api;
use crate::codes::ApiErrorEnvelope;
use crate::domain::Seq;
use crate::messages::{ClientMsg, ServerMsg};

/// `{"v":1,"type":…,"data":…}` from a client.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ClientFrame {
    /// The protocol version, `1`.
    v: u64,
    #[serde(flatten)]
    msg: ClientMsg,
}

/// `{"v":1,"seq":…,"type":…,"data":…}` from the server; `seq` is on every frame that
/// comes from the event log and on snapshots.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ServerFrame {
    /// The protocol version, `1`.
    v: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<Seq>,
    #[serde(flatten)]
    msg: ServerMsg,
}

/// Any taskwire WebSocket frame, either way.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // never built: it only describes
enum Frame {
    FromClient(ClientFrame),
    FromServer(ServerFrame),
}

/// The schema document, as committed: frames at the root, and the HTTP API's bodies
/// (requests, answers and errors) among its definitions.
pub fn protocol_schema() -> String {
    let mut generator = schemars::SchemaGenerator::default();
    generator.subschema_for::<api::TaskChanged>();
    generator.subschema_for::<api::TaskWithTimeline>();
    generator.subschema_for::<api::TaskListPage>();
    generator.subschema_for::<api::Session>();
    generator.subschema_for::<api::Me>();
    generator.subschema_for::<ApiErrorEnvelope>();
    generator.subschema_for::<api::NewTask>();
    generator.subschema_for::<api::Answers>();
    generator.subschema_for::<api::StatusReport>();
    generator.subschema_for::<api::Signup>();
    generator.subschema_for::<api::Credentials>();
    generator.subschema_for::<api::PasswordChange>();
    let schema = generator.into_root_schema_for::<Frame>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.schema.json");

    /// `TASKWIRE_WRITE_SCHEMA=1 cargo test -p shared-protocol schema` writes it anew.
    #[test]
    fn the_committed_schema_matches_the_types() {
        let fresh = protocol_schema();
        if std::env::var_os("TASKWIRE_WRITE_SCHEMA").is_some() {
            std::fs::write(COMMITTED, &fresh).expect("writing docs/protocol.schema.json");
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == fresh,
            "docs/protocol.schema.json is stale: run \
             `TASKWIRE_WRITE_SCHEMA=1 cargo test -p shared-protocol schema` and commit it"
        );
    }

    #[test]
    fn the_schema_names_every_message_type() {
        let schema = protocol_schema();
        for name in ClientMsg::TYPES.iter().chain(ServerMsg::TYPES.iter()) {
            assert!(schema.contains(&format!("\"{name}\"")), "{name} is missing");
        }
    }
}
