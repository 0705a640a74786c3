//! taskwire's server. `main.rs` is thin; everything is here so tests reach it.

pub mod actions;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod janitor;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod pipeline;
pub mod rooms;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod text;
pub mod visibility;
pub mod ws;
