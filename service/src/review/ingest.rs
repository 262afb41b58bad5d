//! CSV ingest (seed 003): a CSV, uploaded or already stored, becomes data records of a project.
//! The file is streamed from the object store and parsed on a blocking thread a batch at a time,
//! so memory stays bounded whatever its size. Bad rows and duplicates are skipped and counted by
//! reason; counters commit after every batch so subscribers watch them grow. The ingest then
//! waits for vectorisation (an EMBED job) and completes when that does.
//!
//! Status: pending → processing → queued_for_vec → vectorizing → completed (or failed, cancelled).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use entity::ingest_jobs;
use entity::sea_orm_active_enums::{IngestStatus, MemberRole, RecordType};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::events::{self, ChangeOp};
use crate::queue::{JobContext, JobError, JobHandler};
use crate::scope::Scope;
use crate::storage::Storage;

pub const JOB_TYPE: &str = "INGEST_CSV";
/// The INGEST_CSV job type: Atlas creates these jobs itself, never a client.
pub static JOB: crate::queue::JobType = crate::queue::JobType {
    name: JOB_TYPE,
    description: "Parses a stored CSV into data records, with live progress (seed 003).",
    enqueue: crate::queue::Enqueue::Internal { by: "the ingestCsv mutation" },
    development_only: false,
};
/// Rows per insert statement and per progress commit, unless their text reaches `BATCH_BYTES`
/// first (which bounds memory when rows are long).
const BATCH: usize = 500;
const BATCH_BYTES: usize = 1 << 20;
/// A row longer than this is refused: it would otherwise be buffered whole by the parser.
const MAX_ROW_BYTES: u64 = 16 << 20;
/// Skipped rows reported individually in the job's output (the rest are only counted).
const EXAMPLES: usize = 20;

/// How the CSV's columns map onto data records. Columns not named here go into `metadata`.
#[derive(async_graphql::InputObject, Serialize, Deserialize, Clone, Debug)]
pub struct CsvMappingInput {
    /// The column holding each record's text (matched without regard to case).
    #[graphql(default_with = "String::from(\"content\")")]
    pub content_column: String,
    /// A column holding `task` or `feedback` per row; the ingest's record type when left out.
    pub type_column: Option<String>,
    /// A column holding `top_10` or `bottom_10` (or nothing) per row.
    pub category_column: Option<String>,
    /// The field delimiter, one ASCII character.
    #[graphql(default_with = "String::from(\",\")")]
    pub delimiter: String,
}

impl Default for CsvMappingInput {
    fn default() -> Self {
        Self { content_column: "content".into(), type_column: None, category_column: None, delimiter: ",".into() }
    }
}

/// Start an ingest of a CSV into a project.
#[derive(async_graphql::InputObject, Debug)]
pub struct IngestCsvInput {
    pub project_id: Uuid,
    /// The type of every record, unless `mapping.typeColumn` says otherwise per row.
    pub record_type: RecordType,
    /// A CSV already stored as a file (instead of `file`).
    pub file_id: Option<Uuid>,
    pub mapping: Option<CsvMappingInput>,
    /// Shown as the records' `source` (`csv:<name>`); the file's name when left out.
    pub source_name: Option<String>,
}

/// What the INGEST_CSV job is given. It names no file and no key: the handler reads the ingest
/// row in the job's tenant, and the file (and so the object) from the row's `source_file_id`.
#[derive(Serialize, Deserialize)]
struct JobInput {
    ingest_job_id: Uuid,
    mapping: CsvMappingInput,
    source: String,
}

/// Create the ingest and its job in the caller's transaction: both exist exactly when the
/// request commits. The CSV is the stored file `input.file_id` or, when given, `upload`.
pub async fn start(scope: &Scope, input: IngestCsvInput, file: entity::files::Model) -> Result<ingest_jobs::Model> {
    scope.require(MemberRole::Member, "ingest CSV files").await?;
    let mapping = input.mapping.unwrap_or_default();
    if mapping.delimiter.len() != 1 || !mapping.delimiter.is_ascii() {
        return Err(ServiceError::bad_input("mapping.delimiter", "the delimiter must be one ASCII character"));
    }
    if mapping.content_column.trim().is_empty() {
        return Err(ServiceError::bad_input("mapping.contentColumn", "name the column that holds the text"));
    }
    if file.storage_key.is_none() {
        return Err(ServiceError::bad_input("fileId", "this file has no stored content"));
    }
    let source_name = input.source_name.unwrap_or_else(|| file.name.clone());
    let ingest = super::ingest_jobs::create(
        scope,
        super::ingest_jobs::CreateIngestJobInput {
            project_id: input.project_id,
            record_type: input.record_type,
            source_name: Some(source_name.clone()),
            source_file_id: Some(file.id),
        },
    )
    .await?;
    let job = crate::queue::enqueue(
        scope,
        crate::queue::JobSpec::new(
            &JOB,
            serde_json::to_value(JobInput { ingest_job_id: ingest.id, mapping, source: format!("csv:{source_name}") })
                .map_err(|e| ServiceError::internal(e.to_string()))?,
        )
        .retries(3),
    )
    .await?;
    set_job(scope, ingest.id, job.id).await?;
    super::ingest_jobs::get(scope, ingest.id).await
}

async fn set_job(scope: &Scope, ingest: Uuid, job: Uuid) -> Result<()> {
    let tx = scope.tx().await?;
    tx.execute_raw(crate::query::raw(
        scope,
        "UPDATE ingest_jobs SET job_id = $3 WHERE tenant_id = $1 AND id = $2",
        [ingest.into(), job.into()],
    )?)
    .await?;
    Ok(())
}

/// Cancel an ingest that has not ended, and its job; the worker stops at its next batch.
pub async fn cancel(scope: &Scope, id: Uuid) -> Result<ingest_jobs::Model> {
    scope.require(MemberRole::Member, "cancel ingests").await?;
    let existing = super::ingest_jobs::get(scope, id).await?;
    let row = {
        let tx = scope.tx().await?;
        tx.query_one_raw(crate::query::raw(
            scope,
            "UPDATE ingest_jobs SET status = 'cancelled' WHERE tenant_id = $1 AND id = $2 \
               AND status IN ('pending', 'processing', 'queued_for_vec', 'vectorizing') RETURNING *",
            [id.into()],
        )?)
        .await?
    };
    let Some(row) = row else {
        return Err(ServiceError::Conflict {
            field: Some("id".into()),
            message: format!("the ingest has already ended ({:?})", existing.status).to_lowercase(),
        });
    };
    let ingest = ingest_jobs::Model::from_query_result(&row, "")?;
    if let Some(job) = ingest.job_id {
        let tx = scope.tx().await?;
        tx.execute_raw(crate::query::raw(
            scope,
            "UPDATE jobs SET status = 'cancelled', completed_at = now(), locked_by = NULL, locked_until = NULL \
             WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')",
            [job.into()],
        )?)
        .await?;
    }
    events::notify(scope, "ingest_jobs", id, ChangeOp::Updated, Some(ingest.project_id)).await?;
    crate::governance::record(scope, "ingest.cancel", "ingest_jobs", id, json!({})).await?;
    Ok(ingest)
}

/// Set an ingest's status (and error), announce it and commit, so it is seen at once.
pub(crate) async fn set_status(
    scope: &Scope,
    ingest: &ingest_jobs::Model,
    status: &str,
    error: Option<&str>,
) -> Result<()> {
    events::commit_row_change(
        scope,
        "ingest_jobs",
        (ingest.id, Some(ingest.project_id)),
        "UPDATE ingest_jobs SET status = $3::ingest_status, error = coalesce($4, error) \
         WHERE tenant_id = $1 AND id = $2 AND status <> 'cancelled'",
        vec![status.into(), error.map(str::to_string).into()],
    )
    .await
}

/// Whether the ingest was cancelled meanwhile (read in a fresh transaction).
pub(crate) async fn cancelled(scope: &Scope, id: Uuid) -> Result<bool> {
    let tx = scope.tx().await?;
    let row = tx
        .query_one_raw(crate::query::raw(
            scope,
            "SELECT status::text AS status FROM ingest_jobs WHERE tenant_id = $1 AND id = $2",
            [id.into()],
        )?)
        .await?;
    let status: Option<String> = row.map(|r| r.try_get("", "status")).transpose()?;
    Ok(status.as_deref() != Some("processing") && status.as_deref() != Some("vectorizing"))
}

/// One parsed row, ready to insert.
#[derive(Serialize)]
struct Row {
    id: Uuid,
    record_type: &'static str,
    category: Option<&'static str>,
    content: String,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// What the parser thread sends.
enum Parsed {
    Batch {
        rows: Vec<Row>,
        skipped: Vec<(u64, &'static str, String)>,
        bytes: u64,
    },
    /// The file cannot be ingested at all (no header, no content column, unreadable).
    Fatal(String),
}

/// Counts bytes as the parser reads them, and refuses a row that grows past `MAX_ROW_BYTES`.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
    row_start: Arc<AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total.saturating_sub(self.row_start.load(Ordering::Relaxed)) > MAX_ROW_BYTES + (1 << 20) {
            return Err(std::io::Error::other(format!("a row is longer than {} MiB", MAX_ROW_BYTES >> 20)));
        }
        Ok(n)
    }
}

fn parse_category(v: &str) -> Result<Option<&'static str>, ()> {
    match v.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
        "" => Ok(None),
        "top_10" | "top10" => Ok(Some("top_10")),
        "bottom_10" | "bottom10" => Ok(Some("bottom_10")),
        _ => Err(()),
    }
}

fn parse_type(v: &str) -> Result<&'static str, ()> {
    match v.trim().to_ascii_lowercase().as_str() {
        "task" => Ok("task"),
        "feedback" => Ok("feedback"),
        _ => Err(()),
    }
}

fn type_name(t: RecordType) -> &'static str {
    match t {
        RecordType::Task => "task",
        RecordType::Feedback => "feedback",
    }
}

/// The parser: runs on a blocking thread, sends batches until the file ends or the receiver
/// goes away (the ingest was cancelled).
fn parse(
    reader: impl std::io::Read,
    mapping: &CsvMappingInput,
    default_type: &'static str,
    out: tokio::sync::mpsc::Sender<Parsed>,
) {
    let read = Arc::new(AtomicU64::new(0));
    let row_start = Arc::new(AtomicU64::new(0));
    let counting = Counting { inner: reader, read: read.clone(), row_start: row_start.clone() };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(mapping.delimiter.as_bytes()[0])
        .from_reader(counting);
    let fatal = |msg: String| drop(out.blocking_send(Parsed::Fatal(msg)));
    let mut record = csv::ByteRecord::new();
    match csv.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return fatal("the file is empty: a CSV needs a header row naming its columns".into()),
        Err(e) => return fatal(format!("the header row cannot be read: {e}")),
    }
    let mut headers = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let field = if i == 0 { field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field) } else { field };
        match std::str::from_utf8(field) {
            Ok(h) => headers.push(h.trim().to_string()),
            Err(_) => return fatal("the header row is not valid UTF-8; save the file as UTF-8".into()),
        }
    }
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name.trim()));
    let Some(content_idx) = find(&mapping.content_column) else {
        return fatal(format!(
            "the CSV has no column {:?}; its columns are: {}",
            mapping.content_column,
            headers.join(", ")
        ));
    };
    let optional = |name: &Option<String>, what: &str| -> Result<Option<usize>, String> {
        match name {
            None => Ok(None),
            Some(n) => find(n).map(Some).ok_or_else(|| format!("the CSV has no {what} column {n:?}")),
        }
    };
    let type_idx = match optional(&mapping.type_column, "type") {
        Ok(i) => i,
        Err(m) => return fatal(m),
    };
    let category_idx = match optional(&mapping.category_column, "category") {
        Ok(i) => i,
        Err(m) => return fatal(m),
    };
    let mut rows: Vec<Row> = Vec::with_capacity(BATCH);
    let mut batch_bytes = 0usize;
    let mut skipped = Vec::new();
    loop {
        row_start.store(read.load(Ordering::Relaxed), Ordering::Relaxed);
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if e.is_io_error() => {
                tracing::warn!(error = %e, "an ingest's file could not be read to its end");
                return fatal("the file could not be read to its end from the store".to_string());
            }
            Err(e) => {
                skipped.push((line, "malformed_row", e.to_string()));
                continue;
            }
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if record.len() != headers.len() {
            let why = format!("{} fields where the header has {}", record.len(), headers.len());
            skipped.push((line, "wrong_column_count", why));
        } else {
            match row(&record, &headers, content_idx, type_idx, category_idx, default_type) {
                Ok(r) => {
                    batch_bytes += r.content.len() + record.as_slice().len();
                    rows.push(r)
                }
                Err((reason, why)) => skipped.push((line, reason, why)),
            }
        }
        if rows.len() + skipped.len() >= BATCH || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            let batch = Parsed::Batch {
                rows: std::mem::take(&mut rows),
                skipped: std::mem::take(&mut skipped),
                bytes: read.load(Ordering::Relaxed),
            };
            if out.blocking_send(batch).is_err() {
                return; // cancelled
            }
        }
    }
    let _ = out.blocking_send(Parsed::Batch { rows, skipped, bytes: read.load(Ordering::Relaxed) });
}

fn row(
    record: &csv::ByteRecord,
    headers: &[String],
    content_idx: usize,
    type_idx: Option<usize>,
    category_idx: Option<usize>,
    default_type: &'static str,
) -> Result<Row, (&'static str, String)> {
    let mut fields = Vec::with_capacity(record.len());
    for (i, f) in record.iter().enumerate() {
        match std::str::from_utf8(f) {
            Ok(s) if s.contains('\0') => return Err(("nul_character", format!("column {:?} holds a NUL", headers[i]))),
            Ok(s) => fields.push(s),
            Err(_) => return Err(("invalid_utf8", format!("column {:?} is not valid UTF-8", headers[i]))),
        }
    }
    let content = fields[content_idx].trim();
    if content.is_empty() {
        return Err(("empty_content", format!("column {:?} is empty", headers[content_idx])));
    }
    let record_type = match type_idx {
        Some(i) if !fields[i].trim().is_empty() => {
            parse_type(fields[i]).map_err(|_| ("invalid_type", format!("{:?} is not task or feedback", fields[i])))?
        }
        _ => default_type,
    };
    let category = match category_idx {
        Some(i) => parse_category(fields[i])
            .map_err(|_| ("invalid_category", format!("{:?} is not top_10 or bottom_10", fields[i])))?,
        None => None,
    };
    let metadata = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != content_idx && Some(*i) != type_idx && Some(*i) != category_idx)
        .map(|(i, v)| (headers[i].clone(), serde_json::Value::String(v.to_string())))
        .collect();
    Ok(Row { id: Uuid::now_v7(), record_type, category, content: content.to_string(), metadata })
}

/// The INGEST_CSV job.
pub struct IngestCsv {
    pub storage: Arc<Storage>,
}

impl JobHandler for IngestCsv {
    fn job_type(&self) -> &'static str {
        JOB_TYPE
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(3600)
    }

    async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
        let input: JobInput = serde_json::from_value(ctx.job.input.clone())
            .map_err(|e| JobError::permanent(format!("INGEST_CSV input is not valid: {e}")))?;
        let scope = &ctx.scope;
        let ingest = super::ingest_jobs::get(scope, input.ingest_job_id).await?;
        if matches!(ingest.status, IngestStatus::Cancelled | IngestStatus::Completed | IngestStatus::Failed) {
            return Ok(json!({ "skipped": "the ingest had already ended" }));
        }
        let last_attempt = ctx.job.retry_count >= ctx.job.max_retries;
        match self.ingest(scope, &ingest, &input).await {
            Ok(out) => Ok(out),
            Err(e) => {
                let _ = scope.finish(false).await;
                if e.permanent || last_attempt {
                    set_status(scope, &ingest, "failed", Some(&e.message)).await?;
                }
                Err(e)
            }
        }
    }
}

impl IngestCsv {
    async fn ingest(
        &self,
        scope: &Scope,
        ingest: &ingest_jobs::Model,
        input: &JobInput,
    ) -> std::result::Result<serde_json::Value, JobError> {
        let tenant = ingest.tenant_id;
        // A retried attempt starts over: what an earlier attempt saved is removed first.
        {
            let tx = scope.tx().await?;
            tx.execute_raw(crate::query::raw(
                scope,
                "DELETE FROM data_records WHERE tenant_id = $1 AND ingest_job_id = $2",
                [ingest.id.into()],
            )?)
            .await?;
            tx.execute_raw(crate::query::raw(
                scope,
                "UPDATE ingest_jobs SET total_records = 0, saved_count = 0, skipped_count = 0, \
                   skipped_details = '{}', error = NULL WHERE tenant_id = $1 AND id = $2",
                [ingest.id.into()],
            )?)
            .await?;
        }
        set_status(scope, ingest, "processing", None).await?;
        // The object comes from the ingest's own file row, read in the job's tenant.
        let file_id = ingest.source_file_id.ok_or_else(|| JobError::permanent("the ingest names no source file"))?;
        let file = crate::files::files::get(scope, file_id).await?;
        let key = file.storage_key.ok_or_else(|| JobError::permanent("the source file has no stored content"))?;
        let size = self.storage.size(tenant, &key).await?.max(1);
        let reader = self.storage.reader(tenant, &key).await?;
        let bridge = tokio_util::io::SyncIoBridge::new(reader);
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let mapping = input.mapping.clone();
        let default_type = type_name(ingest.record_type);
        let parser = tokio::task::spawn_blocking(move || parse(bridge, &mapping, default_type, tx));

        let (mut saved, mut skipped_total, mut total) = (0i64, 0i64, 0i64);
        let mut reasons: BTreeMap<&'static str, i64> = BTreeMap::new();
        let mut examples = Vec::new();
        while let Some(msg) = rx.recv().await {
            let (rows, skipped, bytes) = match msg {
                Parsed::Fatal(message) => {
                    drop(rx);
                    let _ = parser.await;
                    return Err(JobError::permanent(message));
                }
                Parsed::Batch { rows, skipped, bytes } => (rows, skipped, bytes),
            };
            if cancelled(scope, ingest.id).await? {
                drop(rx);
                let _ = parser.await;
                scope.finish(false).await?;
                return Ok(json!({ "cancelled": true, "saved": saved, "skipped": skipped_total }));
            }
            let n = rows.len() as i64;
            let inserted = if rows.is_empty() { 0 } else { insert(scope, ingest, &input.source, &rows).await? };
            let duplicates = n - inserted;
            if duplicates > 0 {
                *reasons.entry("duplicate").or_default() += duplicates;
            }
            for (line, reason, why) in &skipped {
                *reasons.entry(reason).or_default() += 1;
                if examples.len() < EXAMPLES {
                    examples.push(json!({ "line": line, "reason": reason, "detail": why }));
                }
            }
            saved += inserted;
            skipped_total += duplicates + skipped.len() as i64;
            total += n + skipped.len() as i64;
            let progress = (bytes as f64 / size as f64).clamp(0.0, 1.0) * 0.5;
            progress_update(scope, ingest, total, saved, skipped_total, &reasons, progress).await?;
        }
        let _ = parser.await;
        let output = json!({ "saved": saved, "skipped": skipped_total, "total": total, "examples": examples });
        if saved == 0 {
            set_status(scope, ingest, "completed", None).await?;
            return Ok(output);
        }
        // Vectorisation follows as its own job; the ingest completes when it does.
        let embed = crate::embedding::enqueue_for_ingest(scope, ingest.id).await?;
        set_job(scope, ingest.id, embed).await?;
        set_status(scope, ingest, "queued_for_vec", None).await?;
        Ok(output)
    }
}

async fn insert(scope: &Scope, ingest: &ingest_jobs::Model, source: &str, rows: &[Row]) -> Result<i64> {
    let rows = serde_json::to_value(rows).map_err(|e| ServiceError::internal(e.to_string()))?;
    crate::query::scalar(scope, "WITH ins AS ( \
               INSERT INTO data_records (tenant_id, id, project_id, ingest_job_id, record_type, category, source, content, metadata) \
               SELECT $1, r.id, $2, $3, r.record_type::record_type, r.category::record_category, $4, r.content, r.metadata \
               FROM jsonb_to_recordset($5::jsonb) AS r(id uuid, record_type text, category text, content text, metadata jsonb) \
               ON CONFLICT ON CONSTRAINT data_records_duplicate_key DO NOTHING RETURNING 1) \
             SELECT count(*)::bigint FROM ins", [ingest.project_id.into(), ingest.id.into(), source.into(), rows.into()])
        .await
}

async fn progress_update(
    scope: &Scope,
    ingest: &ingest_jobs::Model,
    total: i64,
    saved: i64,
    skipped: i64,
    reasons: &BTreeMap<&'static str, i64>,
    progress: f64,
) -> Result<()> {
    {
        let tx = scope.tx().await?;
        tx.execute_raw(crate::query::raw(
            scope,
            "UPDATE ingest_jobs SET total_records = $3, saved_count = $4, skipped_count = $5, skipped_details = $6 \
             WHERE tenant_id = $1 AND id = $2",
            [
                ingest.id.into(),
                (total as i32).into(),
                (saved as i32).into(),
                (skipped as i32).into(),
                serde_json::to_value(reasons).unwrap_or_default().into(),
            ],
        )?)
        .await?;
        if let Some(job) = ingest.job_id {
            tx.execute_raw(crate::query::raw(
                scope,
                "UPDATE jobs SET progress = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
                [job.into(), progress.into()],
            )?)
            .await?;
        }
    }
    events::notify(scope, "ingest_jobs", ingest.id, ChangeOp::Updated, Some(ingest.project_id)).await?;
    scope.finish(true).await
}
