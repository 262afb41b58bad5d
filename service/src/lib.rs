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
pub mod pool;
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

/// Every job type Atlas knows, each declared beside its handler: what `enqueueJob` checks and
/// `jobTypes` lists.
pub static JOB_TYPES: &[&queue::JobType] = &[
    &queue::diagnostics::NOOP,
    &queue::diagnostics::SLEEP,
    &queue::diagnostics::FAIL,
    &review::ingest::JOB,
    &files::GC_JOB,
    &embedding::JOB,
    &review::analytics::JOB,
    &work::execution::JOB,
];

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

#[cfg(test)]
mod tests {
    /// Each declared job type has a handler and each handler a declaration.
    #[test]
    fn every_job_type_has_a_handler() {
        let config = super::work::execution::LlmConfig { url: None, model: None, key: None, cost_per_1k_tokens: 0.0 };
        let dir = std::env::temp_dir().join("atlas-job-types");
        let storage = std::sync::Arc::new(super::storage::Storage::open(&dir.to_string_lossy()).expect("store"));
        let embedder: std::sync::Arc<dyn super::embedding::Embedder> =
            std::sync::Arc::new(super::embedding::HashingEmbedder::new(8));
        let handlers = super::job_handlers(storage, embedder, config).types();
        let mut declared: Vec<String> = super::JOB_TYPES.iter().map(|t| t.name.to_string()).collect();
        declared.sort();
        assert_eq!(handlers, declared);
    }
}
