//! Review (Operations Tools) in GraphQL: data records, Likert scores, ingest and analytics jobs,
//! bonus windows.
use async_graphql::{Context, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{AnalyticsStatus, IngestStatus, RecordCategory, RecordType};
use service::review::{analytics_jobs, bonus_windows, data_records, ingest_jobs, likert_scores};
use uuid::Uuid;

use super::stats::{tier_met, BonusProgress, LikertSummary, RecordLikert, WindowProgress};
use super::tenancy::User;
use super::work::Project;
use super::CtxExt;

object! {
    /// A task or feedback text of a project (seed 003), with its review state. Its embedding is
    /// kept for search and not shown.
    DataRecord from entity::data_records::Model {
        id: Uuid,
        project_id: Uuid,
        ingest_job_id: Option<Uuid>,
        record_type: RecordType,
        category: Option<RecordCategory>,
        source: String,
        content: String,
        metadata: serde_json::Value,
        embedding_model: Option<String>,
        alignment_analysis: Option<String>,
        has_been_reviewed: bool,
        is_category_correct: Option<bool>,
        reviewed_by: Option<Uuid>,
        reviewed_at: Option<DateTime<FixedOffset>>,
        created_by_id: Option<String>,
        created_by_name: Option<String>,
        created_by_email: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    DataRecord {
        many scores: LikertScore = entity::likert_scores::Entity["record_id"] by id;
        one project: Project = entity::projects::Entity[project_id];
        one ingest_job: IngestJob = entity::ingest_jobs::Entity[ingest_job_id];
    }
    /// Averages of the record's scores.
    async fn likert(&self, ctx: &Context<'_>) -> Result<LikertSummary> {
        Ok(ctx.loaders()?.batch::<RecordLikert>(self.id).await?.into())
    }
}

object! {
    /// A 1-7 rating of a record's realism and quality, by a user or an LLM.
    LikertScore from entity::likert_scores::Model {
        id: Uuid,
        record_id: Uuid,
        user_id: String,
        realism_score: i32,
        quality_score: i32,
        llm_model: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    LikertScore {
        one record: DataRecord = entity::data_records::Entity[record_id];
    }
}

object! {
    /// A CSV ingest into a project, with live counters.
    IngestJob from entity::ingest_jobs::Model {
        id: Uuid,
        project_id: Uuid,
        record_type: RecordType,
        status: IngestStatus,
        total_records: i32,
        saved_count: i32,
        skipped_count: i32,
        /// Skipped rows counted by reason.
        skipped_details: serde_json::Value,
        error: Option<String>,
        source_name: Option<String>,
        source_file_id: Option<Uuid>,
        job_id: Option<Uuid>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    IngestJob {
        many records: DataRecord = entity::data_records::Entity["ingest_job_id"] by id;
        one project: Project = entity::projects::Entity[project_id];
    }
}

object! {
    /// Per-project counts and Likert averages, computed in the background.
    AnalyticsJob from entity::analytics_jobs::Model {
        id: Uuid,
        project_id: Uuid,
        status: AnalyticsStatus,
        total_records: i32,
        processed_count: i32,
        result: Option<serde_json::Value>,
        error: Option<String>,
        job_id: Option<Uuid>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    AnalyticsJob {
        one project: Project = entity::projects::Entity[project_id];
    }
}

object! {
    /// A time window with task and feedback targets in two tiers (a target of 0 is off).
    BonusWindow from entity::bonus_windows::Model {
        id: Uuid,
        name: String,
        start_time: DateTime<FixedOffset>,
        end_time: DateTime<FixedOffset>,
        target_task_count: i32,
        target_feedback_count: i32,
        target_task_count_tier2: i32,
        target_feedback_count_tier2: i32,
        created_by: Uuid,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    BonusWindow {
        one creator: User = entity::users::Entity[created_by];
    }
    /// Per person who created records in the window: their counts and the tiers they reach.
    async fn progress(&self, ctx: &Context<'_>) -> Result<Vec<BonusProgress>> {
        let rows = ctx.loaders()?.batch::<WindowProgress>(self.id).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|p| BonusProgress {
                tier1_met: tier_met(p.task_count, p.feedback_count, self.target_task_count, self.target_feedback_count),
                tier2_met: tier_met(
                    p.task_count,
                    p.feedback_count,
                    self.target_task_count_tier2,
                    self.target_feedback_count_tier2,
                ),
                user_id: p.user_id,
                user_name: p.user_name,
                user_email: p.user_email,
                task_count: p.task_count,
                feedback_count: p.feedback_count,
            })
            .collect())
    }
}

crud_fields! {
    data_records => DataRecord;
    query DataRecordQuery { data_record, data_records }
    mutation DataRecordMutation { create_data_record, update_data_record, delete_data_record }
}

crud_fields! {
    likert_scores => LikertScore;
    query LikertScoreQuery { likert_score, likert_scores }
    mutation LikertScoreMutation { create_likert_score, update_likert_score, delete_likert_score }
}

crud_fields! {
    ingest_jobs => IngestJob;
    query IngestJobQuery { ingest_job, ingest_jobs }
    mutation IngestJobMutation { create_ingest_job, update_ingest_job, delete_ingest_job }
}

crud_fields! {
    analytics_jobs => AnalyticsJob;
    query AnalyticsJobQuery { analytics_job, analytics_jobs }
    mutation AnalyticsJobMutation { create_analytics_job, update_analytics_job, delete_analytics_job }
}

crud_fields! {
    bonus_windows => BonusWindow;
    query BonusWindowQuery { bonus_window, bonus_windows }
    mutation BonusWindowMutation { create_bonus_window, update_bonus_window, delete_bonus_window }
}

/// A change to an ingest job's status or counters, sent after the change commits.
#[derive(async_graphql::SimpleObject)]
pub struct IngestJobEvent {
    pub op: service::events::ChangeOp,
    pub id: Uuid,
    /// The ingest job as it is now; null once deleted.
    pub ingest_job: Option<IngestJob>,
}

#[derive(Default)]
pub struct ReviewSubscription;

#[async_graphql::Subscription]
impl ReviewSubscription {
    /// An ingest job's status and counters as the import goes (saved, skipped, total).
    async fn ingest_job_progress(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<impl futures_util::Stream<Item = Result<IngestJobEvent>>> {
        super::authorise(ctx).await?;
        super::readable::<entity::ingest_jobs::Entity>(ctx, "ingest job", id).await?;
        super::changes(
            ctx,
            "ingest_jobs",
            move |e| e.id == id,
            Some(id),
            |scope, event| async move {
                let job = ingest_jobs::get(&scope, event.id).await.ok();
                Some(IngestJobEvent { op: event.op, id: event.id, ingest_job: job.map(IngestJob::from) })
            },
        )
    }
}

#[derive(Default)]
pub struct ReviewVerbs;

#[async_graphql::Object]
impl ReviewVerbs {
    /// Ingest a CSV into a project's data records: give `file` (a multipart upload) or
    /// `input.fileId` (a stored file). Returns the ingest at once; a worker does the rest, and
    /// `ingestJobProgress(id)` follows it: pending → processing → queued_for_vec → vectorizing →
    /// completed, with saved and skipped counts (by reason in `skippedDetails`).
    async fn ingest_csv(
        &self,
        ctx: &Context<'_>,
        input: service::review::ingest::IngestCsvInput,
        file: Option<async_graphql::Upload>,
    ) -> Result<IngestJob> {
        let scope = ctx.scope()?;
        let stored = match (&file, input.file_id) {
            (Some(upload), None) => {
                super::files::store_upload(
                    ctx,
                    upload,
                    None,
                    None,
                    None,
                    entity::sea_orm_active_enums::FileVisibility::Private,
                )
                .await?
            }
            (None, Some(id)) => service::files::readable(scope, id).await?,
            _ => {
                return Err(
                    service::ServiceError::bad_input("file", "give either file (an upload) or input.fileId").into()
                )
            }
        };
        Ok(service::review::ingest::start(scope, input, stored).await?.into())
    }

    /// Cancel an ingest that has not ended; the worker stops at its next batch of rows.
    async fn cancel_ingest_job(&self, ctx: &Context<'_>, id: Uuid) -> Result<IngestJob> {
        Ok(service::review::ingest::cancel(ctx.scope()?, id).await?.into())
    }

    /// Compute a project's analytics (counts and Likert averages) in the background; follow it
    /// with the analytics job's `status` and `processedCount`.
    async fn run_analytics(&self, ctx: &Context<'_>, project_id: Uuid) -> Result<AnalyticsJob> {
        Ok(service::review::analytics::start(ctx.scope()?, project_id).await?.into())
    }
}
