//! Embeddings: one provider interface, and the EMBED job that vectorises pending rows (data
//! records, KB chunks, code chunks, file chunks) in batches through it.
//!
//! Providers: an OpenAI-compatible `/v1/embeddings` client when `ATLAS_EMBEDDING_URL` is set
//! (OpenAI, OpenRouter, LM Studio, Ollama, vLLM), else the built-in all-MiniLM-L6-v2 model run
//! in-process (no network and no key, so search by meaning works on a fresh machine), else, when
//! the model's files are absent, the *lexical hashing* embedder: it hashes words and word pairs
//! into a fixed number of dimensions and finds shared terms, not shared meaning.
pub mod minilm;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::queue::{JobContext, JobError, JobHandler};
use crate::scope::Scope;

pub const JOB_TYPE: &str = "EMBED";
/// The EMBED job type: Atlas creates these jobs itself, never a client.
pub static JOB: crate::queue::JobType = crate::queue::JobType {
    name: JOB_TYPE,
    description: "Vectorises rows that have no embedding yet.",
    enqueue: crate::queue::Enqueue::Internal { by: "triggers on embedded tables and ingests" },
    development_only: false,
};
/// Texts per provider call.
const BATCH: usize = 64;

pub trait Embedder: Send + Sync {
    /// Recorded with each vector (`embedding_model`), so vectors of different models never mix.
    fn model(&self) -> &str;
    fn dimensions(&self) -> usize;
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, std::result::Result<Vec<Vec<f32>>, EmbedError>>;
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EmbedError {
    pub message: String,
    /// Worth trying again (a timeout, a 429 or 5xx), as opposed to a refused request.
    pub transient: bool,
}

impl From<EmbedError> for JobError {
    fn from(e: EmbedError) -> Self {
        if e.transient {
            JobError::retry(e.message)
        } else {
            JobError::permanent(e.message)
        }
    }
}

/// The built-in lexical hashing embedder (signed feature hashing of lower-cased words and word
/// pairs, L2-normalised).
pub struct HashingEmbedder {
    dims: usize,
    name: String,
}

impl HashingEmbedder {
    pub fn new(dims: usize) -> Self {
        Self { dims, name: format!("atlas-lexical-hash-{dims}") }
    }

    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dims];
        let words: Vec<String> =
            text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect();
        let mut add = |feature: &str, weight: f32| {
            let h = Sha256::digest(feature.as_bytes());
            let idx = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) as usize % self.dims;
            v[idx] += if h[8] & 1 == 0 { weight } else { -weight };
        };
        for w in &words {
            add(w, 1.0);
        }
        for pair in words.windows(2) {
            add(&format!("{} {}", pair[0], pair[1]), 0.5);
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Embedder for HashingEmbedder {
    fn model(&self) -> &str {
        &self.name
    }
    fn dimensions(&self) -> usize {
        self.dims
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, std::result::Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move { Ok(texts.iter().map(|t| self.vector(t)).collect()) })
    }
}

/// An OpenAI-compatible `/v1/embeddings` client.
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<String>,
    dims: usize,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, model: &str, key: Option<String>, dims: usize) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap_or_default();
        let url = format!("{}/embeddings", base_url.trim_end_matches('/'));
        Self { client, url, model: model.to_string(), key, dims }
    }
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }
    fn dimensions(&self) -> usize {
        self.dims
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, std::result::Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let mut req = self
                .client
                .post(&self.url)
                .json(&json!({ "model": self.model, "input": texts, "dimensions": self.dims }));
            if let Some(key) = &self.key {
                req = req.bearer_auth(key);
            }
            let res = req.send().await.map_err(|e| EmbedError {
                message: format!("the embedding provider did not answer: {}", e.without_url()),
                transient: true,
            })?;
            let status = res.status();
            if !status.is_success() {
                let body = res.text().await.unwrap_or_default();
                return Err(EmbedError {
                    message: format!(
                        "the embedding provider answered {status}: {}",
                        body.chars().take(300).collect::<String>()
                    ),
                    transient: status.as_u16() == 429 || status.is_server_error(),
                });
            }
            let body: serde_json::Value = res.json().await.map_err(|e| EmbedError {
                message: format!("the embedding provider's answer is not JSON: {e}"),
                transient: false,
            })?;
            let mut data: Vec<(usize, Vec<f32>)> = body["data"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let idx = item["index"].as_u64().map(|x| x as usize).unwrap_or(i);
                            let v = item["embedding"]
                                .as_array()
                                .map(|a| a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect())
                                .unwrap_or_default();
                            (idx, v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            data.sort_by_key(|(i, _)| *i);
            let vectors: Vec<Vec<f32>> = data.into_iter().map(|(_, v)| v).collect();
            if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != self.dims) {
                return Err(EmbedError {
                    message: format!(
                        "the embedding provider returned {} vectors for {} texts, or not of {} dimensions",
                        vectors.len(),
                        texts.len(),
                        self.dims
                    ),
                    transient: false,
                });
            }
            Ok(vectors)
        })
    }
}

/// Which provider embeds: `ATLAS_EMBEDDER` = `auto` (the default), `local`, `hashing` or `openai`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// `openai` when `ATLAS_EMBEDDING_URL` is set, else `local` when the model's files are there,
    /// else `hashing`.
    Auto,
    /// all-MiniLM-L6-v2 in-process (384 dimensions).
    Local,
    /// The lexical hashing embedder: shared words, not meaning.
    Hashing,
    /// An OpenAI-compatible `/v1/embeddings` endpoint.
    OpenAi,
}

/// The embedding settings (see README): read once, so the server and its in-process worker
/// share one provider (and one copy of the model's weights).
#[derive(Clone, Debug)]
pub struct EmbeddingConfig {
    pub provider: Provider,
    pub url: Option<String>,
    pub model: String,
    pub api_key: Option<String>,
    /// The dimension of remote and hashing vectors (the local model's is 384).
    pub dimensions: usize,
    pub model_dir: PathBuf,
}

impl EmbeddingConfig {
    pub fn from_env() -> std::result::Result<Self, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let provider = match var("ATLAS_EMBEDDER").as_deref().map(str::trim) {
            None | Some("auto") => Provider::Auto,
            Some("local") => Provider::Local,
            Some("hashing") => Provider::Hashing,
            Some("openai") => Provider::OpenAi,
            Some(other) => {
                return Err(format!("ATLAS_EMBEDDER={other:?}: expected auto, local, hashing or openai"));
            }
        };
        let dimensions = match var("ATLAS_EMBEDDING_DIMENSIONS") {
            None => 384,
            Some(d) => d
                .trim()
                .parse()
                .ok()
                .filter(|d| (1..=16_000).contains(d))
                .ok_or_else(|| format!("ATLAS_EMBEDDING_DIMENSIONS={d:?} is not a dimension (1..16000)"))?,
        };
        Ok(Self {
            provider,
            url: var("ATLAS_EMBEDDING_URL"),
            model: var("ATLAS_EMBEDDING_MODEL").unwrap_or_else(|| "text-embedding-3-small".into()),
            api_key: var("ATLAS_EMBEDDING_API_KEY"),
            dimensions,
            model_dir: var("ATLAS_EMBEDDING_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/models/all-MiniLM-L6-v2"))
            }),
        })
    }

    /// The provider `auto` stands for here.
    pub fn resolved(&self) -> Provider {
        match self.provider {
            Provider::Auto if self.url.is_some() => Provider::OpenAi,
            Provider::Auto
                if self.dimensions == minilm::DIMENSIONS && self.model_dir.join("model.safetensors").is_file() =>
            {
                Provider::Local
            }
            Provider::Auto => Provider::Hashing,
            p => p,
        }
    }

    /// The dimension of the vectors this configuration makes, without loading a model.
    pub fn vector_dimensions(&self) -> usize {
        if self.resolved() == Provider::Local {
            minilm::DIMENSIONS
        } else {
            self.dimensions
        }
    }

    pub fn build(&self) -> std::result::Result<Arc<dyn Embedder>, String> {
        Ok(match self.resolved() {
            Provider::OpenAi => {
                let url = self.url.as_deref().ok_or("ATLAS_EMBEDDER=openai needs ATLAS_EMBEDDING_URL")?;
                Arc::new(OpenAiEmbedder::new(url, &self.model, self.api_key.clone(), self.dimensions))
            }
            Provider::Local => {
                if self.dimensions != minilm::DIMENSIONS {
                    return Err(format!(
                        "ATLAS_EMBEDDER=local makes {} dimensions; ATLAS_EMBEDDING_DIMENSIONS is {}",
                        minilm::DIMENSIONS,
                        self.dimensions
                    ));
                }
                Arc::new(minilm::MiniLm::load(&self.model_dir)?)
            }
            _ => {
                if self.provider == Provider::Auto {
                    tracing::warn!(
                        dir = %self.model_dir.display(),
                        "no embedding model found: using the lexical hashing embedder (run scripts/model.sh for all-MiniLM-L6-v2)"
                    );
                }
                Arc::new(HashingEmbedder::new(self.dimensions))
            }
        })
    }
}

/// Tables with an embedding to fill, and the column holding their text.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    DataRecords,
    KbChunks,
    CodeEmbeddings,
    FileChunks,
}

impl Target {
    fn table(self) -> &'static str {
        match self {
            Self::DataRecords => "data_records",
            Self::KbChunks => "kb_chunks",
            Self::CodeEmbeddings => "code_embeddings",
            Self::FileChunks => "file_chunks",
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EmbedInput {
    target: Target,
    /// Only the records of this ingest (and report progress on it).
    ingest_job_id: Option<Uuid>,
}

/// Queue vectorisation of an ingest's records (in the caller's transaction).
pub async fn enqueue_for_ingest(scope: &Scope, ingest: Uuid) -> Result<Uuid> {
    enqueue(scope, EmbedInput { target: Target::DataRecords, ingest_job_id: Some(ingest) }).await
}

/// Queue vectorisation of whatever rows of `target` have no vector yet.
pub async fn enqueue_pending(scope: &Scope, target: Target) -> Result<Uuid> {
    enqueue(scope, EmbedInput { target, ingest_job_id: None }).await
}

async fn enqueue(scope: &Scope, input: EmbedInput) -> Result<Uuid> {
    let job = crate::queue::enqueue(
        scope,
        crate::queue::JobSpec::new(
            &JOB,
            serde_json::to_value(input).map_err(|e| ServiceError::internal(e.to_string()))?,
        )
        .retries(5),
    )
    .await?;
    Ok(job.id)
}

/// The EMBED job.
pub struct Embed {
    pub embedder: Arc<dyn Embedder>,
}

impl JobHandler for Embed {
    fn job_type(&self) -> &'static str {
        JOB_TYPE
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
        let input: EmbedInput = serde_json::from_value(ctx.job.input.clone())
            .map_err(|e| JobError::permanent(format!("EMBED input is not valid: {e}")))?;
        let scope = &ctx.scope;
        let ingest = match input.ingest_job_id {
            Some(id) => Some(crate::review::ingest_jobs::get(scope, id).await?),
            None => None,
        };
        if let Some(ingest) = &ingest {
            use entity::sea_orm_active_enums::IngestStatus;
            if matches!(ingest.status, IngestStatus::Cancelled | IngestStatus::Completed | IngestStatus::Failed) {
                return Ok(json!({ "skipped": "the ingest has ended" }));
            }
            crate::review::ingest::set_status(scope, ingest, "vectorizing", None).await?;
        }
        let last_attempt = ctx.job.retry_count >= ctx.job.max_retries;
        match self.vectorise(ctx, input, ingest.as_ref()).await {
            Ok(out) => Ok(out),
            Err(e) => {
                let _ = scope.finish(false).await;
                if let (Some(ingest), true) = (&ingest, e.permanent || last_attempt) {
                    let msg = format!("vectorisation failed: {}", e.message);
                    crate::review::ingest::set_status(scope, ingest, "failed", Some(&msg)).await?;
                }
                Err(e)
            }
        }
    }
}

impl Embed {
    async fn vectorise(
        &self,
        ctx: &JobContext,
        input: EmbedInput,
        ingest: Option<&entity::ingest_jobs::Model>,
    ) -> std::result::Result<serde_json::Value, JobError> {
        let scope = &ctx.scope;
        let table = input.target.table();
        let filter = if ingest.is_some() { "AND ingest_job_id = $2" } else { "" };
        let pending_sql = format!("FROM {table} WHERE tenant_id = $1 AND embedding IS NULL {filter}");
        let params = || -> Vec<Value> { ingest.map(|i| i.id.into()).into_iter().collect() };
        let total = {
            let tx = scope.tx().await?;
            let row = tx
                .query_one_raw(crate::query::raw(
                    scope,
                    format!("SELECT count(*)::bigint AS n {pending_sql}"),
                    params(),
                )?)
                .await?;
            row.map(|r| r.try_get::<i64>("", "n")).transpose().map_err(ServiceError::from)?.unwrap_or(0)
        };
        let mut done = 0i64;
        loop {
            if let Some(ingest) = ingest {
                if crate::review::ingest::cancelled(scope, ingest.id).await? {
                    scope.finish(false).await?;
                    return Ok(json!({ "cancelled": true, "embedded": done }));
                }
            }
            let rows = {
                let tx = scope.tx().await?;
                tx.query_all_raw(crate::query::raw(
                    scope,
                    format!("SELECT id, content, md5(content) AS h {pending_sql} ORDER BY id LIMIT {BATCH}"),
                    params(),
                )?)
                .await?
            };
            if rows.is_empty() {
                break;
            }
            let mut ids = Vec::with_capacity(rows.len());
            let mut texts = Vec::with_capacity(rows.len());
            let mut hashes = Vec::with_capacity(rows.len());
            for r in &rows {
                ids.push(r.try_get::<Uuid>("", "id").map_err(ServiceError::from)?);
                texts.push(r.try_get::<String>("", "content").map_err(ServiceError::from)?);
                hashes.push(Value::from(r.try_get::<String>("", "h").map_err(ServiceError::from)?));
            }
            let vectors = self.embedder.embed(&texts).await?;
            let literals: Vec<String> = vectors
                .iter()
                .map(|v| format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")))
                .collect();
            {
                let tx = scope.tx().await?;
                let ids: Vec<Value> = ids.iter().map(|i| (*i).into()).collect();
                let lits: Vec<Value> = literals.into_iter().map(Value::from).collect();
                tx.execute_raw(crate::query::raw(
                    scope,
                    format!(
                        // Only rows still unvectorised with the text that was embedded: an edit
                        // (or another writer) meanwhile wins over this batch's vector.
                        "UPDATE {table} t SET embedding = v.e::vector, embedding_model = $4 \
                         FROM unnest($2::uuid[], $3::text[], $5::text[]) AS v(id, e, h) \
                         WHERE t.tenant_id = $1 AND t.id = v.id AND t.embedding IS NULL AND md5(t.content) = v.h"
                    ),
                    [
                        Value::Array(sea_orm::sea_query::ArrayType::Uuid, Some(Box::new(ids))),
                        Value::Array(sea_orm::sea_query::ArrayType::String, Some(Box::new(lits))),
                        self.embedder.model().into(),
                        Value::Array(sea_orm::sea_query::ArrayType::String, Some(Box::new(hashes))),
                    ],
                )?)
                .await?;
                let progress =
                    if total > 0 { ((done + rows.len() as i64) as f64 / total as f64).min(1.0) } else { 1.0 };
                tx.execute_raw(crate::query::raw(
                    scope,
                    "UPDATE jobs SET progress = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
                    [ctx.job.id.into(), progress.into()],
                )?)
                .await?;
            }
            scope.finish(true).await?;
            done += rows.len() as i64;
        }
        if let Some(ingest) = ingest {
            crate::review::ingest::set_status(scope, ingest, "completed", None).await?;
        }
        Ok(json!({ "embedded": done, "model": self.embedder.model(), "dimensions": self.embedder.dimensions() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_embedder_matches_shared_terms() {
        let e = HashingEmbedder::new(384);
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let q = e.vector("invoice payment overdue");
        let near = e.vector("The invoice payment is overdue by a week");
        let far = e.vector("Kubernetes pods restart after deploy");
        assert!(cos(&q, &near) > cos(&q, &far) + 0.3);
        assert_eq!(q.len(), 384);
    }
}

/// Paragraph-aware chunks of at most about `max` characters: paragraphs (blank-line separated)
/// are packed together; a paragraph longer than `max` is cut at sentence or word boundaries; each
/// chunk after the first begins with the last `overlap` characters of the one before, so a
/// thought cut at a boundary is still found whole in one chunk.
pub fn chunk_text(text: &str, max: usize, overlap: usize) -> Vec<String> {
    let mut pieces: Vec<String> = vec![];
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let mut rest = para;
        while rest.chars().count() > max {
            let cut_at = rest.char_indices().nth(max).map(|(i, _)| i).unwrap_or(rest.len());
            let head = &rest[..cut_at];
            let cut = head.rfind(". ").map(|i| i + 1).or_else(|| head.rfind(' ')).filter(|&i| i > 0).unwrap_or(cut_at);
            pieces.push(rest[..cut].trim().to_string());
            rest = rest[cut..].trim_start();
        }
        if !rest.is_empty() {
            pieces.push(rest.to_string());
        }
    }
    let mut chunks: Vec<String> = vec![];
    let mut current = String::new();
    for p in pieces {
        if !current.is_empty() && current.chars().count() + p.chars().count() + 2 > max {
            let tail: String = {
                let chars: Vec<char> = current.chars().collect();
                let from = chars.len().saturating_sub(overlap);
                let t: String = chars[from..].iter().collect();
                // Start the overlap at a word boundary.
                t.split_once(' ').map(|(_, r)| r.to_string()).unwrap_or(t)
            };
            chunks.push(std::mem::take(&mut current));
            current = tail;
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(&p);
    }
    if !current.trim().is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Chunks of source code: `max_lines` lines each, the last `overlap` lines repeated in the next.
pub fn chunk_lines(text: &str, max_lines: usize, overlap: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return vec![];
    }
    let step = max_lines.saturating_sub(overlap).max(1);
    let mut chunks = vec![];
    let mut start = 0;
    loop {
        let end = (start + max_lines).min(lines.len());
        chunks.push(lines[start..end].join("\n"));
        if end == lines.len() {
            break;
        }
        start += step;
    }
    chunks
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn paragraphs_pack_and_overlap() {
        let text = "First paragraph about billing.\n\nSecond paragraph about invoices and payments.\n\nThird one.";
        let chunks = chunk_text(text, 60, 20);
        assert!(chunks.len() >= 2, "{chunks:?}");
        assert!(chunks.iter().all(|c| c.chars().count() <= 60 + 20 + 2), "{chunks:?}");
        assert!(chunks[0].starts_with("First paragraph"));
        // The second chunk repeats the end of the first.
        let tail: String = chunks[0].chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(chunks[1].contains(tail.trim()), "{chunks:?}");
        let long = "word ".repeat(100);
        assert!(chunk_text(&long, 50, 10).iter().all(|c| c.len() <= 62));
        assert_eq!(chunk_lines("a\nb\nc\nd\ne", 3, 1), vec!["a\nb\nc", "c\nd\ne"]);
    }
}
