//! The numbers and codes both ends act on: the WebSocket close codes the server closes
//! with, and the machine codes of the HTTP API's JSON errors. The browser reads these,
//! never bare numbers or strings.

use serde::{Deserialize, Serialize};

/// Close codes the server closes a socket with.
pub mod close_code {
    /// The server is shutting down; reconnect.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was not valid WebSocket framing.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame was not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Too many bad frames.
    pub const POLICY: u16 = 1008;
    /// A message was larger than the server reads at all.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The connection could not keep up; reconnect and resync.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The session expired or was ended; refresh it, then reconnect.
    pub const AUTH_EXPIRED: u16 = 4001;
}

/// Stable machine codes of the HTTP API's errors,
/// `{"error":{"code":…,"message":…}}`; the sentence is for people, the code for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// 401: no valid session.
    Unauthorized,
    /// 401: the session expired; refresh it.
    SessionExpired,
    /// 401: the username or password is not right.
    BadCredentials,
    /// 401: a webhook whose signature does not verify.
    BadSignature,
    /// 403: a socket opened by a page of another site.
    OriginNotAllowed,
    /// 403: an administrator's action asked by someone else.
    Forbidden,
    /// 403: open sign-up is closed; an account needs an invite link.
    SignupClosed,
    /// 404: no such thing, or one the user may not see.
    NotFound,
    /// 405: the path does not take that method.
    MethodNotAllowed,
    /// 409: the username is taken.
    UsernameTaken,
    /// 409: a live service token has that name.
    TokenNameTaken,
    /// 409: the task's status does not allow the action.
    InvalidTransition,
    /// 422: a field is wrong; `field` names it.
    InvalidInput,
    /// 429: too many requests; `Retry-After` says when to try again.
    RateLimited,
    /// 422: an `Idempotency-Key` reused for a different request.
    IdempotencyKeyReused,
    /// 409: the same request is still running.
    RequestInProgress,
    /// 400: a link that is not `http(s)`.
    InvalidUrl,
    /// 413: the body is over the route's limit.
    PayloadTooLarge,
    /// 429: the account has as many sockets open as allowed.
    TooManyConnections,
    /// 500: something failed on the server; nothing was changed.
    Internal,
    /// Never sent by the server: a client's own code for a request that got no answer.
    Transport,
}

impl ApiErrorCode {
    /// The HTTP status an error with this code is answered with.
    pub fn http_status(self) -> u16 {
        use ApiErrorCode::*;
        match self {
            InvalidUrl => 400,
            Unauthorized | SessionExpired | BadCredentials | BadSignature => 401,
            OriginNotAllowed | Forbidden | SignupClosed => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            UsernameTaken | TokenNameTaken | InvalidTransition | RequestInProgress => 409,
            PayloadTooLarge => 413,
            InvalidInput | IdempotencyKeyReused => 422,
            RateLimited | TooManyConnections => 429,
            Internal | Transport => 500,
        }
    }
}

impl std::fmt::Display for ApiErrorCode {
    /// The wire name, as serde writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.serialize(f)
    }
}

/// The body of every HTTP error: `{"error":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct ApiErrorEnvelope {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    pub code: ApiErrorCode,
    pub message: String,
    /// The field at fault, for `invalid_input` and `invalid_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request's `X-Request-Id`, added on the way out, for finding its log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiErrorEnvelope {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiErrorEnvelope {
            error: ApiErrorBody {
                code,
                message: message.into(),
                field: None,
                request_id: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire() {
        let body = ApiErrorEnvelope::new(ApiErrorCode::IdempotencyKeyReused, "reused");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"idempotency_key_reused","message":"reused"}}"#
        );
        assert_eq!(
            ApiErrorCode::PayloadTooLarge.to_string(),
            "payload_too_large"
        );
    }
}
