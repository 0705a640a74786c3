//! Integration tests: the real server on port 0 with a temp SQLite file, driven by a
//! real HTTP client and a real WebSocket client.

mod helpers;
mod process;

mod hostile;

mod account;
mod agents;
mod analyser;
mod assets;
mod auth;
mod checkpoint;
mod cli;
mod cluster;
mod delivery;
mod demo;
mod github;
mod http_api;
mod idempotency;
mod limits;
mod listing;
mod live;
mod load;
mod operators;
mod pages;
mod poll;
mod retry;
mod rooms;
mod search;
mod secrets;
mod store_schema;
mod team;
mod transitions;
mod visibility;
mod ws_errors;
