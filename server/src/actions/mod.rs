//! The use cases, one function each: what an HTTP handler, a page's server function or
//! the demo driver asks of the server. Each takes who is acting and plain input, checks
//! that it may be done, and returns a typed result; callers only translate to and from
//! their transport, and none of them reaches below this layer for a use case.

pub mod accounts;
pub mod tasks;
pub mod teams;
pub mod webhooks;
