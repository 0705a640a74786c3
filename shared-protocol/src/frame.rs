//! Frames: `{"v":1,"type":…,"data":…}` with `seq` where it applies, and their decoding.
//!
//! Decoding is two-step so every failure has a typed reason: first the envelope (JSON
//! object, version, a known `type`), then the message's `data`. Both steps read the
//! text itself; no intermediate JSON tree is built.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use crate::domain::Seq;
use crate::messages::{ClientMsg, ErrorBody, ErrorCode, ServerMsg};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the frame is not a JSON object with a string `type`: {0}")]
    Malformed(String),
    /// The version as the frame wrote it (`3`, `-1`, `1.0`).
    #[error("protocol version {0} is not supported (this server speaks version 1)")]
    UnsupportedVersion(String),
    #[error("`{0}` is not a message type")]
    UnknownType(String),
    #[error("`data` of `{kind}` is not valid: {detail}")]
    InvalidData { kind: String, detail: String },
}

impl DecodeError {
    /// The `error` frame code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::Malformed(_) => ErrorCode::MalformedFrame,
            DecodeError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::InvalidData { .. } => ErrorCode::InvalidData,
        }
    }

    /// The `error` body to answer this failure with.
    pub fn to_error_body(&self) -> ErrorBody {
        let mut message = self.to_string();
        truncate_on_char_boundary(&mut message, 300);
        ErrorBody {
            code: self.code(),
            message,
        }
    }
}

fn truncate_on_char_boundary(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

#[derive(Serialize)]
struct Envelope<'a, M> {
    v: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<Seq>,
    #[serde(flatten)]
    msg: &'a M,
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// Set on frames caused by the log (its position) and on snapshots (the position
    /// they reflect).
    pub seq: Option<Seq>,
    pub msg: ServerMsg,
}

impl ServerFrame {
    pub fn new(msg: ServerMsg) -> Self {
        ServerFrame { seq: None, msg }
    }

    pub fn at(seq: Seq, msg: ServerMsg) -> Self {
        ServerFrame {
            seq: Some(seq),
            msg,
        }
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::new(ServerMsg::Error(ErrorBody {
            code,
            message: message.into(),
        }))
    }

    pub fn to_json(&self) -> String {
        encode(self.seq, &self.msg)
    }

    pub fn decode(text: &str) -> Result<ServerFrame, DecodeError> {
        let (seq, msg) = decode_with(text, ServerMsg::TYPES, ServerMsg::from_data)?;
        Ok(ServerFrame { seq, msg })
    }
}

/// A frame a client sends (clients never send `seq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    pub msg: ClientMsg,
}

impl ClientFrame {
    pub fn new(msg: ClientMsg) -> Self {
        ClientFrame { msg }
    }

    pub fn to_json(&self) -> String {
        encode(None, &self.msg)
    }

    pub fn decode(text: &str) -> Result<ClientFrame, DecodeError> {
        let (_seq, msg) = decode_with(text, ClientMsg::TYPES, ClientMsg::from_data)?;
        Ok(ClientFrame { msg })
    }
}

fn encode<M: Serialize>(seq: Option<Seq>, msg: &M) -> String {
    let envelope = Envelope {
        v: PROTOCOL_VERSION,
        seq,
        msg,
    };
    // Serialising these plain data types cannot fail: no maps with non-string keys, no
    // custom serialisers that error.
    serde_json::to_string(&envelope).unwrap_or_else(|_| String::from("{}"))
}

/// Reads a message of one direction from its wire type and the text of its `data`.
type FromData<M> = fn(&str, &str) -> Option<serde_json::Result<M>>;

fn decode_with<M>(
    text: &str,
    known: &[&str],
    from_data: FromData<M>,
) -> Result<(Option<Seq>, M), DecodeError> {
    let envelope: RawEnvelope =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    match envelope.v.map(number) {
        Some(Some(n)) if n.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(Some(n)) => return Err(DecodeError::UnsupportedVersion(n.to_string())),
        Some(None) => return Err(DecodeError::Malformed("`v` must be a number".into())),
        None => return Err(DecodeError::Malformed("missing `v`".into())),
    }
    let Some(raw_kind) = envelope.kind else {
        return Err(DecodeError::Malformed("missing `type`".into()));
    };
    let Ok(kind) = serde_json::from_str::<String>(raw_kind.get()) else {
        return Err(DecodeError::Malformed("`type` must be a string".into()));
    };
    let unknown = |kind: String| {
        let mut shown = kind;
        truncate_on_char_boundary(&mut shown, 64);
        DecodeError::UnknownType(shown)
    };
    if !known.contains(&kind.as_str()) {
        return Err(unknown(kind));
    }
    let seq = match envelope
        .seq
        .map(|raw| serde_json::from_str::<Option<Number>>(raw.get()))
    {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(n))) if n.as_u64().is_some() => n.as_u64(),
        Some(_) => {
            return Err(DecodeError::Malformed(
                "`seq` must be a non-negative integer".into(),
            ))
        }
    };
    let invalid = |kind: String, detail: String| DecodeError::InvalidData { kind, detail };
    let data = match envelope.data {
        Data::Missing => return Err(invalid(kind, "missing field `data`".into())),
        Data::Twice => return Err(invalid(kind, "duplicate field `data`".into())),
        Data::Once(data) => data,
    };
    match from_data(&kind, data.get()) {
        Some(Ok(msg)) => Ok((seq, msg)),
        Some(Err(e)) => {
            let detail = in_frame(text, data.get(), &e);
            Err(invalid(kind, detail))
        }
        None => Err(unknown(kind)),
    }
}

/// `error`'s text with its position counted in `frame`, of which `data` is a part.
fn in_frame(frame: &str, data: &str, error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let Some(message) = text.strip_suffix(&suffix) else {
        return text;
    };
    let start = (data.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
    let before = frame.get(..start).unwrap_or_default();
    let lines_before = before.matches('\n').count();
    let (line, column) = if error.line() == 1 {
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (1 + lines_before, start - line_start + error.column())
    } else {
        (lines_before + error.line(), error.column())
    };
    format!("{message} at line {line} column {column}")
}

fn number(raw: &RawValue) -> Option<Number> {
    serde_json::from_str(raw.get()).ok()
}

/// A frame's fields as they were sent, read without building a JSON tree; other fields
/// are skipped. Only a JSON object is an envelope, and a field of its envelope given
/// twice makes it malformed (`data` given twice is invalid data).
#[derive(Default)]
struct RawEnvelope<'a> {
    v: Option<&'a RawValue>,
    kind: Option<&'a RawValue>,
    seq: Option<&'a RawValue>,
    data: Data<'a>,
}

#[derive(Default)]
enum Data<'a> {
    #[default]
    Missing,
    Once(&'a RawValue),
    Twice,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = RawEnvelope<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut envelope = RawEnvelope::default();
                while let Some(key) = map.next_key::<String>()? {
                    let (name, field) = match key.as_str() {
                        "v" => ("v", &mut envelope.v),
                        "type" => ("type", &mut envelope.kind),
                        "seq" => ("seq", &mut envelope.seq),
                        "data" => {
                            let data = map.next_value()?;
                            envelope.data = match envelope.data {
                                Data::Missing => Data::Once(data),
                                _ => Data::Twice,
                            };
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if field.is_some() {
                        return Err(de::Error::duplicate_field(name));
                    }
                    *field = Some(map.next_value()?);
                }
                Ok(envelope)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// A message type name paired with its frame, as stored in the event log: the log keeps
/// `type` and `data` apart so the frame can be rebuilt with its `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Value,
}

impl LoggedEvent {
    /// Splits a `task:*` message into its type and data for storage.
    pub fn from_msg(msg: &ServerMsg) -> LoggedEvent {
        let mut value = serde_json::to_value(msg).unwrap_or(Value::Null);
        let data = value
            .as_object_mut()
            .and_then(|o| o.remove("data"))
            .unwrap_or(Value::Null);
        LoggedEvent {
            kind: msg.type_name().to_owned(),
            data,
        }
    }

    /// Rebuilds the message from storage.
    pub fn to_msg(&self) -> Result<ServerMsg, DecodeError> {
        let mut tagged = Map::new();
        tagged.insert("type".into(), Value::String(self.kind.clone()));
        tagged.insert("data".into(), self.data.clone());
        ServerMsg::deserialize(Value::Object(tagged)).map_err(|e| DecodeError::InvalidData {
            kind: self.kind.clone(),
            detail: e.to_string(),
        })
    }
}
