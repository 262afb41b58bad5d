//! Tenant-scoped domain logic: the only crate that builds queries. Every function takes a
//! `Scope`; tenant tables are reached only through `query`, which adds the tenant filter.
pub mod chat;
pub mod code;
pub mod crud;
pub mod error;
pub mod events;
pub mod files;
pub mod filter;
pub mod governance;
pub mod knowledge;
pub mod ops;
pub mod pagination;
pub mod query;
pub mod queue;
pub mod review;
pub mod scope;
pub mod secrets;
pub mod stats;
pub mod tenancy;
pub mod work;

pub use error::{Result, ServiceError};
pub use pagination::{Page, PageArgs};
pub use scope::{Principal, Scope};
