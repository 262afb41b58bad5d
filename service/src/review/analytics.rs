//! Analytics (seed 003): per project, record counts by type, category and review state, and
//! Likert averages (human and LLM raters apart), computed by the ANALYTICS job a batch of records
//! at a time so `processed_count` shows progress on large projects.
use std::collections::BTreeMap;

use entity::analytics_jobs;
use entity::sea_orm_active_enums::{AnalyticsStatus, MemberRole};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::events;
use crate::queue::{JobContext, JobError, JobHandler};
use crate::scope::Scope;

pub const JOB_TYPE: &str = "ANALYTICS";
/// The ANALYTICS job type: Atlas creates these jobs itself, never a client.
pub static JOB: crate::queue::JobType = crate::queue::JobType {
    name: JOB_TYPE,
    description: "Computes a project's record analytics and Likert averages (seed 003).",
    enqueue: crate::queue::Enqueue::Internal { by: "the runAnalytics mutation" },
    development_only: false,
};
const BATCH: i64 = 1000;

/// Create an analytics run for a project and queue its job (in the caller's transaction).
pub async fn start(scope: &Scope, project_id: Uuid) -> Result<analytics_jobs::Model> {
    scope.require(MemberRole::Member, "run analytics").await?;
    let run =
        super::analytics_jobs::create(scope, super::analytics_jobs::CreateAnalyticsJobInput { project_id }).await?;
    let job = crate::queue::enqueue(
        scope,
        crate::queue::JobSpec::new(&JOB, json!({ "analytics_job_id": run.id })).retries(3),
    )
    .await?;
    let tx = scope.tx().await?;
    tx.execute_raw(crate::query::raw(
        scope,
        "UPDATE analytics_jobs SET job_id = $3 WHERE tenant_id = $1 AND id = $2",
        [run.id.into(), job.id.into()],
    )?)
    .await?;
    drop(tx);
    super::analytics_jobs::get(scope, run.id).await
}

#[derive(Default)]
struct Tally {
    by_type: BTreeMap<String, i64>,
    by_category: BTreeMap<String, i64>,
    reviewed: i64,
    category_correct: i64,
    category_incorrect: i64,
    /// (ratings, realism sum, quality sum) for human and for LLM raters.
    human: (i64, i64, i64),
    llm: (i64, i64, i64),
}

fn averages((n, realism, quality): (i64, i64, i64)) -> serde_json::Value {
    let avg = |sum: i64| if n > 0 { Some(((sum as f64 / n as f64) * 100.0).round() / 100.0) } else { None };
    json!({ "ratings": n, "realismAvg": avg(realism), "qualityAvg": avg(quality) })
}

async fn update(scope: &Scope, run: &analytics_jobs::Model, sql: &str, extra: Vec<sea_orm::Value>) -> Result<()> {
    events::commit_row_change(scope, "analytics_jobs", (run.id, Some(run.project_id)), sql, extra).await
}

pub struct Analytics;

impl JobHandler for Analytics {
    fn job_type(&self) -> &'static str {
        JOB_TYPE
    }

    async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
        let id = ctx.job.input["analytics_job_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobError::permanent("ANALYTICS input needs analytics_job_id"))?;
        let scope = &ctx.scope;
        let run = super::analytics_jobs::get(scope, id).await?;
        if matches!(run.status, AnalyticsStatus::Cancelled | AnalyticsStatus::Completed) {
            return Ok(json!({ "skipped": "the run had already ended" }));
        }
        let last_attempt = ctx.job.retry_count >= ctx.job.max_retries;
        match compute(scope, &run).await {
            Ok(result) => Ok(result),
            Err(e) => {
                let _ = scope.finish(false).await;
                if last_attempt {
                    let msg = format!("{}: {}", e.code(), e.message());
                    update(
                        scope,
                        &run,
                        "UPDATE analytics_jobs SET status = 'failed', error = $3 WHERE tenant_id = $1 AND id = $2",
                        vec![msg.into()],
                    )
                    .await?;
                }
                Err(e.into())
            }
        }
    }
}

async fn compute(scope: &Scope, run: &analytics_jobs::Model) -> Result<serde_json::Value> {
    let total: i64 = crate::query::scalar(
        scope,
        "SELECT count(*)::bigint FROM data_records WHERE tenant_id = $1 AND project_id = $2",
        [run.project_id.into()],
    )
    .await?;
    update(
        scope,
        run,
        "UPDATE analytics_jobs SET status = 'processing', total_records = $3, processed_count = 0, error = NULL \
         WHERE tenant_id = $1 AND id = $2",
        vec![(total as i32).into()],
    )
    .await?;
    let mut tally = Tally::default();
    let mut after = Uuid::nil();
    let mut processed = 0i64;
    loop {
        let rows = {
            let tx = scope.tx().await?;
            tx.query_all_raw(crate::query::raw(scope, "SELECT r.id, r.record_type::text AS record_type, coalesce(r.category::text, 'uncategorised') AS category, \
                   r.has_been_reviewed, r.is_category_correct, \
                   count(l.id) FILTER (WHERE l.llm_model IS NULL)::bigint AS hn, \
                   coalesce(sum(l.realism_score) FILTER (WHERE l.llm_model IS NULL), 0)::bigint AS hr, \
                   coalesce(sum(l.quality_score) FILTER (WHERE l.llm_model IS NULL), 0)::bigint AS hq, \
                   count(l.id) FILTER (WHERE l.llm_model IS NOT NULL)::bigint AS ln, \
                   coalesce(sum(l.realism_score) FILTER (WHERE l.llm_model IS NOT NULL), 0)::bigint AS lr, \
                   coalesce(sum(l.quality_score) FILTER (WHERE l.llm_model IS NOT NULL), 0)::bigint AS lq \
                 FROM data_records r LEFT JOIN likert_scores l ON l.tenant_id = r.tenant_id AND l.record_id = r.id \
                 WHERE r.tenant_id = $1 AND r.project_id = $2 AND r.id > $3 \
                 GROUP BY r.tenant_id, r.id ORDER BY r.id LIMIT $4", [run.project_id.into(), after.into(), BATCH.into()])?)
            .await?
        };
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            after = r.try_get("", "id")?;
            *tally.by_type.entry(r.try_get("", "record_type")?).or_default() += 1;
            *tally.by_category.entry(r.try_get("", "category")?).or_default() += 1;
            if r.try_get::<bool>("", "has_been_reviewed")? {
                tally.reviewed += 1;
            }
            match r.try_get::<Option<bool>>("", "is_category_correct")? {
                Some(true) => tally.category_correct += 1,
                Some(false) => tally.category_incorrect += 1,
                None => {}
            }
            let g = |c: &str| r.try_get::<i64>("", c);
            tally.human = (tally.human.0 + g("hn")?, tally.human.1 + g("hr")?, tally.human.2 + g("hq")?);
            tally.llm = (tally.llm.0 + g("ln")?, tally.llm.1 + g("lr")?, tally.llm.2 + g("lq")?);
        }
        processed += rows.len() as i64;
        if crate::review::analytics_jobs::get(scope, run.id).await?.status == AnalyticsStatus::Cancelled {
            scope.finish(false).await?;
            return Ok(json!({ "cancelled": true, "processed": processed }));
        }
        update(
            scope,
            run,
            "UPDATE analytics_jobs SET processed_count = $3 WHERE tenant_id = $1 AND id = $2",
            vec![(processed as i32).into()],
        )
        .await?;
    }
    let result = json!({
        "records": processed,
        "byType": tally.by_type,
        "byCategory": tally.by_category,
        "reviewed": tally.reviewed,
        "categoryCorrect": tally.category_correct,
        "categoryIncorrect": tally.category_incorrect,
        "likert": { "human": averages(tally.human), "llm": averages(tally.llm) },
    });
    update(
        scope,
        run,
        "UPDATE analytics_jobs SET status = 'completed', result = $3, processed_count = $4, total_records = $4 \
         WHERE tenant_id = $1 AND id = $2",
        vec![result.clone().into(), (processed as i32).into()],
    )
    .await
    .map_err(|e| ServiceError::internal(format!("{e:?}")))?;
    Ok(result)
}
