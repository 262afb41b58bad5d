#![recursion_limit = "512"]
//! Atlas's HTTP and GraphQL layer, and the `atlas` binary's commands.
pub mod auth;
pub mod citus;
pub mod config;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod websocket;
