//! Vector similarity and hybrid search over KB chunks, data records, code chunks and file chunks,
//! always inside the caller's tenant (and, for files, within what the caller may see: row-level
//! security applies to every query here).
//!
//! Vectors of the configured dimension have HNSW indexes (cosine). Filtering by tenant after an
//! approximate index scan would lose recall, so queries use pgvector 0.8's iterative index scans
//! (`hnsw.iterative_scan`), with `ef_search` raised with `k`, and re-sort what comes back.
//! Hybrid search fuses Postgres full-text ranking with vector ranking by reciprocal rank fusion.
use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::embedding::Embedder;
use crate::error::{Result, ServiceError};
use crate::scope::Scope;

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SearchTarget {
    /// Knowledge-base chunks (seed 000).
    KbChunks,
    /// Data records (seed 003).
    DataRecords,
    /// Indexed code chunks (seed 004).
    Code,
    /// Text chunks of files (seed 002).
    Files,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Metric {
    #[default]
    Cosine,
    L2,
    InnerProduct,
}

/// Narrows a search; each target takes the fields that fit it.
#[derive(async_graphql::InputObject, Clone, Debug, Default)]
pub struct SearchFilter {
    /// Data records and code: the project.
    pub project_id: Option<Uuid>,
    /// KB chunks: the document.
    pub document_id: Option<Uuid>,
    /// KB chunks: documents in these states. Left out, archived documents are not searched;
    /// drafts are only ever seen by their authors and the tenant's editors.
    pub document_status: Option<Vec<entity::sea_orm_active_enums::KbStatus>>,
    /// Files: the file.
    pub file_id: Option<Uuid>,
    /// Data records: `task` or `feedback`.
    pub record_type: Option<entity::sea_orm_active_enums::RecordType>,
    /// Data records: `top_10` or `bottom_10`.
    pub category: Option<entity::sea_orm_active_enums::RecordCategory>,
    /// Code: the language, e.g. `rust`.
    pub language: Option<String>,
    /// Code: paths starting with this.
    pub path_prefix: Option<String>,
}

#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct SimilaritySearchInput {
    pub target: SearchTarget,
    /// A query vector of the configured dimension; or give `text` to embed.
    pub vector: Option<Vec<f64>>,
    /// Text to embed with the configured provider; or give `vector`.
    pub text: Option<String>,
    /// How many hits, 1 to 100.
    #[graphql(default = 10)]
    pub k: i32,
    #[graphql(default)]
    pub metric: Metric,
    pub filter: Option<SearchFilter>,
}

/// One hit: the row's id, a score (higher is closer) and, for vector hits, the distance.
#[derive(Clone, Debug)]
pub struct Hit {
    pub id: Uuid,
    pub score: f64,
    pub distance: Option<f64>,
}

struct Table {
    name: &'static str,
    /// Full-text configuration: code keeps its identifiers whole.
    ts_config: &'static str,
}

fn table(target: SearchTarget) -> Table {
    match target {
        SearchTarget::KbChunks => Table { name: "kb_chunks", ts_config: "english" },
        SearchTarget::DataRecords => Table { name: "data_records", ts_config: "english" },
        SearchTarget::Code => Table { name: "code_embeddings", ts_config: "simple" },
        SearchTarget::Files => Table { name: "file_chunks", ts_config: "english" },
    }
}

/// `AND …` conditions for the filter, numbered from `$first`, with their values.
fn conditions(target: SearchTarget, filter: &SearchFilter, first: usize) -> Result<(String, Vec<Value>)> {
    let mut sql = String::new();
    let mut values: Vec<Value> = vec![];
    // `cond $n close`: the value's placeholder sits between the two.
    let mut add = |cond: &str, v: Value, close: &str| {
        values.push(v);
        sql.push_str(&format!(" AND {cond} ${}{close}", first + values.len() - 1));
    };
    let refuse = |field: &str| {
        Err(ServiceError::bad_input(format!("filter.{field}"), format!("{field} does not apply to {target:?}")))
    };
    use SearchTarget::*;
    if let Some(p) = filter.project_id {
        if !matches!(target, DataRecords | Code) {
            return refuse("projectId");
        }
        add("project_id =", p.into(), "");
    }
    if let Some(d) = filter.document_id {
        if target != KbChunks {
            return refuse("documentId");
        }
        add("document_id =", d.into(), "");
    }
    if let Some(f) = filter.file_id {
        if target != Files {
            return refuse("fileId");
        }
        add("file_id =", f.into(), "");
    }
    if let Some(t) = filter.record_type {
        if target != DataRecords {
            return refuse("recordType");
        }
        let name = match t {
            entity::sea_orm_active_enums::RecordType::Task => "task",
            entity::sea_orm_active_enums::RecordType::Feedback => "feedback",
        };
        add("record_type::text =", name.into(), "");
    }
    if let Some(c) = filter.category {
        if target != DataRecords {
            return refuse("category");
        }
        let name = match c {
            entity::sea_orm_active_enums::RecordCategory::Top10 => "top_10",
            entity::sea_orm_active_enums::RecordCategory::Bottom10 => "bottom_10",
        };
        add("category::text =", name.into(), "");
    }
    if let Some(l) = &filter.language {
        if target != Code {
            return refuse("language");
        }
        add("language =", l.clone().into(), "");
    }
    if let Some(p) = &filter.path_prefix {
        if target != Code {
            return refuse("pathPrefix");
        }
        add("starts_with(file_path,", p.clone().into(), ")");
    }
    if filter.document_status.is_some() && target != KbChunks {
        return refuse("documentStatus");
    }
    if target == KbChunks {
        use entity::sea_orm_active_enums::KbStatus;
        let states = filter.document_status.clone().unwrap_or_else(|| vec![KbStatus::Draft, KbStatus::Published]);
        let names: Vec<String> = states
            .iter()
            .map(|s| match s {
                KbStatus::Draft => "draft",
                KbStatus::Published => "published",
                KbStatus::Archived => "archived",
            })
            .map(String::from)
            .collect();
        // `$1` is the tenant (see `query::raw`); row-level security hides others' drafts.
        add(
            "document_id IN (SELECT d.id FROM kb_documents d WHERE d.tenant_id = $1 AND d.status::text = ANY(",
            names.into(),
            "))",
        );
    }
    Ok((sql, values))
}

fn check_k(k: i32) -> Result<usize> {
    if (1..=100).contains(&k) {
        Ok(k as usize)
    } else {
        Err(ServiceError::bad_input("k", "k must be between 1 and 100"))
    }
}

fn literal(v: &[f32]) -> String {
    format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","))
}

/// The query vector: the one given (checked against the dimension) or `text` embedded.
async fn query_vector(embedder: &dyn Embedder, vector: Option<Vec<f64>>, text: Option<String>) -> Result<Vec<f32>> {
    let dims = embedder.dimensions();
    match (vector, text) {
        (Some(v), None) => {
            if v.len() != dims {
                return Err(ServiceError::bad_input(
                    "vector",
                    format!("the vector has {} dimensions; this server's embeddings have {dims}", v.len()),
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(ServiceError::bad_input("vector", "the vector holds a value that is not a finite number"));
            }
            Ok(v.into_iter().map(|x| x as f32).collect())
        }
        (None, Some(t)) => {
            if t.trim().is_empty() {
                return Err(ServiceError::bad_input("text", "the search text is empty"));
            }
            let mut out = embedder.embed(&[t]).await.map_err(|e| {
                if e.transient {
                    ServiceError::Unavailable(e.message)
                } else {
                    ServiceError::internal(e.message)
                }
            })?;
            out.pop().ok_or_else(|| ServiceError::internal("the embedding provider returned nothing"))
        }
        _ => Err(ServiceError::bad_input("vector", "give exactly one of vector and text")),
    }
}

/// Indexes for a dimension other than the default (run by `atlas migrate` as the owner).
pub fn index_statements(dims: usize) -> Vec<String> {
    if dims == 384 || dims == 0 {
        return vec![];
    }
    let (kind, ops) = if dims > 2000 { ("halfvec", "halfvec_cosine_ops") } else { ("vector", "vector_cosine_ops") };
    ["kb_chunks", "data_records", "code_embeddings", "file_chunks"]
        .iter()
        .map(|t| {
            format!(
                "CREATE INDEX IF NOT EXISTS {t}_embedding_{dims}_idx ON {t}                  USING hnsw ((embedding::{kind}({dims})) {ops}) WHERE vector_dims(embedding) = {dims}"
            )
        })
        .collect()
}

/// Nearest rows by vector, best first.
pub async fn similarity(scope: &Scope, embedder: &dyn Embedder, input: SimilaritySearchInput) -> Result<Vec<Hit>> {
    let k = check_k(input.k)?;
    let filter = input.filter.unwrap_or_default();
    // Text is embedded by this server's provider, so it is compared with that provider's
    // vectors only; a vector given by the caller is compared with every vector of its dimension.
    let model = input.text.is_some().then(|| embedder.model());
    let q = query_vector(embedder, input.vector, input.text).await?;
    vector_hits(scope, input.target, &q, model, k, input.metric, &filter).await
}

async fn vector_hits(
    scope: &Scope,
    target: SearchTarget,
    q: &[f32],
    model: Option<&str>,
    k: usize,
    metric: Metric,
    filter: &SearchFilter,
) -> Result<Vec<Hit>> {
    let t = table(target);
    let dims = q.len();
    let op = match metric {
        Metric::Cosine => "<=>",
        Metric::L2 => "<->",
        Metric::InnerProduct => "<#>",
    };
    // The cast to a typed vector matches the expression of the HNSW index on that dimension
    // (half precision above 2,000 dimensions, where HNSW takes no full-precision vectors).
    let kind = if dims > 2000 { "halfvec" } else { "vector" };
    let distance = format!("(embedding::{kind}({dims}) {op} $2::{kind}({dims}))");
    let (mut conds, mut values) = conditions(target, filter, 3)?;
    if let Some(model) = model {
        values.push(model.into());
        conds.push_str(&format!(" AND embedding_model = ${}", values.len() + 2));
    }
    let sql = format!(
        "WITH hits AS MATERIALIZED (SELECT id, {distance} AS distance FROM {table} \
           WHERE tenant_id = $1 AND embedding IS NOT NULL AND vector_dims(embedding) = {dims}{conds} \
           ORDER BY {distance} LIMIT {k}) \
         SELECT id, distance FROM hits ORDER BY distance, id",
        table = t.name
    );
    let mut params: Vec<Value> = vec![literal(q).into()];
    params.extend(values);
    let statement = crate::query::raw(scope, sql, params)?;
    let tx = scope.tx().await?;
    // Keep scanning the index until k rows pass the tenant and filter conditions.
    tx.execute_unprepared("SET LOCAL hnsw.iterative_scan = relaxed_order").await?;
    tx.execute_unprepared(&format!("SET LOCAL hnsw.ef_search = {}", (k * 4).clamp(40, 1000))).await?;
    let rows = tx.query_all_raw(statement).await?;
    rows.iter()
        .map(|r| {
            let d: f64 = r.try_get("", "distance")?;
            let score = match metric {
                Metric::Cosine => 1.0 - d,
                Metric::L2 => 1.0 / (1.0 + d),
                Metric::InnerProduct => -d,
            };
            Ok(Hit { id: r.try_get("", "id")?, score, distance: Some(d) })
        })
        .collect()
}

/// Best full-text matches, best first.
async fn text_hits(
    scope: &Scope,
    target: SearchTarget,
    text: &str,
    k: usize,
    filter: &SearchFilter,
) -> Result<Vec<Hit>> {
    let t = table(target);
    let (conds, values) = conditions(target, filter, 3)?;
    let doc = format!("to_tsvector('{}', content)", t.ts_config);
    let sql = format!(
        "SELECT id, ts_rank_cd({doc}, q) AS rank FROM {table}, websearch_to_tsquery('{cfg}', $2) q \
         WHERE tenant_id = $1 AND {doc} @@ q{conds} ORDER BY rank DESC, id LIMIT {k}",
        table = t.name,
        cfg = t.ts_config
    );
    let mut params: Vec<Value> = vec![text.into()];
    params.extend(values);
    let tx = scope.tx().await?;
    let rows = tx.query_all_raw(crate::query::raw(scope, sql, params)?).await?;
    rows.iter()
        .map(|r| Ok(Hit { id: r.try_get("", "id")?, score: r.try_get::<f32>("", "rank")? as f64, distance: None }))
        .collect()
}

/// Reciprocal rank fusion's constant: dampens the weight of the very first ranks.
const RRF_K: f64 = 60.0;

/// Full-text and vector rankings fused by reciprocal rank fusion: a row found by both ranks
/// above rows found by one.
pub async fn hybrid(
    scope: &Scope,
    embedder: &dyn Embedder,
    target: SearchTarget,
    text: &str,
    k: i32,
    filter: Option<SearchFilter>,
) -> Result<Vec<Hit>> {
    let k = check_k(k)?;
    let filter = filter.unwrap_or_default();
    let q = query_vector(embedder, None, Some(text.to_string())).await?;
    let depth = (k * 5).max(50);
    let by_text = text_hits(scope, target, text, depth, &filter).await?;
    let by_vector = vector_hits(scope, target, &q, Some(embedder.model()), depth, Metric::Cosine, &filter).await?;
    let mut fused: HashMap<Uuid, (f64, Option<f64>)> = HashMap::new();
    for (rank, hit) in by_text.iter().enumerate() {
        fused.entry(hit.id).or_default().0 += 1.0 / (RRF_K + rank as f64 + 1.0);
    }
    for (rank, hit) in by_vector.iter().enumerate() {
        let e = fused.entry(hit.id).or_default();
        e.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
        e.1 = hit.distance;
    }
    let mut hits: Vec<Hit> = fused.into_iter().map(|(id, (score, distance))| Hit { id, score, distance }).collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(k);
    Ok(hits)
}
