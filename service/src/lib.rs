//! Tenant-scoped domain logic: the only crate that builds queries. Every function takes a
//! `Scope`; tenant tables are reached only through `query`, which adds the tenant filter.
pub mod chat;
pub mod code;
pub mod crud;
pub mod embedding;
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
pub mod search;
pub mod secrets;
pub mod stats;
pub mod storage;
pub mod tenancy;
pub mod work;

pub use error::{Result, ServiceError};
pub use pagination::{Page, PageArgs};
pub use scope::{Principal, Scope};

/// Every job handler Atlas has, for `atlas worker`. The queue itself knows none of them.
pub fn job_handlers(
    storage: std::sync::Arc<storage::Storage>,
    embedder: std::sync::Arc<dyn embedding::Embedder>,
    llm: work::execution::LlmConfig,
) -> queue::Registry {
    queue::diagnostics::registry()
        .register(review::ingest::IngestCsv { storage: storage.clone() })
        .register(files::StorageGc { storage })
        .register(embedding::Embed { embedder })
        .register(review::analytics::Analytics)
        .register(work::execution::Execution::new(llm))
}
