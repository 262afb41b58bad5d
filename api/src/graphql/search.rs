//! Search in GraphQL: `similaritySearch` (by vector or by text embedded with the configured
//! provider) and `hybridSearch` (full text fused with vectors), over KB chunks, data records, code
//! and file chunks, inside the caller's tenant.
use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject, Union};
use service::embedding::Embedder;
use service::search::{SearchFilter, SearchTarget, SimilaritySearchInput};

use super::code::CodeChunk;
use super::files::FileChunk;
use super::knowledge::KbChunk;
use super::review::DataRecord;
use super::CtxExt;

/// What a hit is.
#[derive(Union)]
pub enum SearchNode {
    KbChunk(KbChunk),
    DataRecord(DataRecord),
    CodeChunk(CodeChunk),
    FileChunk(FileChunk),
}

#[derive(SimpleObject)]
pub struct SearchHit {
    /// Higher is closer: 1 − cosine distance, 1 / (1 + L2 distance), the inner product, or (hybrid)
    /// the reciprocal-rank-fusion score.
    pub score: f64,
    /// The vector distance, when the hit came from the vector ranking.
    pub distance: Option<f64>,
    /// The row (loaded in one batch per type for all hits).
    pub node: Option<SearchNode>,
}

async fn hits(ctx: &Context<'_>, target: SearchTarget, found: Vec<service::search::Hit>) -> Result<Vec<SearchHit>> {
    let mut out = Vec::with_capacity(found.len());
    // The by-id loader batches these into one query per type. Whole rows: the selection here is
    // the hit's, not the node's.
    async fn whole<E>(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Option<E::Model>>
    where
        E: sea_orm::EntityTrait + Send + Sync,
        E::Model: Send + Sync,
    {
        ctx.loaders()?.one::<E>(id, service::query::Skip::NONE).await
    }
    let nodes = futures_util::future::try_join_all(found.iter().map(|h| async move {
        Ok::<_, async_graphql::Error>(match target {
            SearchTarget::KbChunks => {
                whole::<entity::kb_chunks::Entity>(ctx, h.id).await?.map(KbChunk::from).map(SearchNode::KbChunk)
            }
            SearchTarget::DataRecords => whole::<entity::data_records::Entity>(ctx, h.id)
                .await?
                .map(DataRecord::from)
                .map(SearchNode::DataRecord),
            SearchTarget::Code => whole::<entity::code_embeddings::Entity>(ctx, h.id)
                .await?
                .map(CodeChunk::from)
                .map(SearchNode::CodeChunk),
            SearchTarget::Files => {
                whole::<entity::file_chunks::Entity>(ctx, h.id).await?.map(FileChunk::from).map(SearchNode::FileChunk)
            }
        })
    }))
    .await?;
    for (h, node) in found.into_iter().zip(nodes) {
        out.push(SearchHit { score: h.score, distance: h.distance, node });
    }
    Ok(out)
}

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// The `k` nearest rows of `target` to `vector`, or to `text` embedded with the configured
    /// provider (by default the built-in all-MiniLM-L6-v2 model; the lexical hashing embedder,
    /// which matches shared words rather than meaning, when the model is absent). Text is compared
    /// with vectors of the same model only. Only your tenant's rows, and only files you may see.
    async fn similarity_search(&self, ctx: &Context<'_>, input: SimilaritySearchInput) -> Result<Vec<SearchHit>> {
        let target = input.target;
        let embedder = ctx.data::<Arc<dyn Embedder>>()?;
        let found = service::search::similarity(ctx.scope()?, embedder.as_ref(), input).await?;
        hits(ctx, target, found).await
    }

    /// Full-text ranking (PostgreSQL `websearch_to_tsquery`) fused with vector ranking of `text`
    /// by reciprocal rank fusion: rows matching both the words and the vector rank first.
    async fn hybrid_search(
        &self,
        ctx: &Context<'_>,
        text: String,
        target: SearchTarget,
        #[graphql(default = 10)] k: i32,
        filter: Option<SearchFilter>,
    ) -> Result<Vec<SearchHit>> {
        let embedder = ctx.data::<Arc<dyn Embedder>>()?;
        let found = service::search::hybrid(ctx.scope()?, embedder.as_ref(), target, &text, k, filter).await?;
        hits(ctx, target, found).await
    }
}
