//! Review (Operations Tools, seed 003): data records, Likert scores, ingest and analytics jobs,
//! bonus windows. Records are written by members; windows are set by admins.
pub mod analytics;
pub mod ingest;

use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{AnalyticsStatus, IngestStatus, RecordCategory, RecordType};
use sea_orm::prelude::DateTimeWithTimeZone;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{BoolFilter, DateTimeFilter, EnumFilter, StringFilter, UuidFilter};
use crate::scope::Scope;
use crate::tenancy;

crate::crud! {
    /// Data records: a task or feedback text of a project, with its review state.
    pub mod data_records for data_records as "data record";
    filter DataRecordFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        ingest_job_id: UuidFilter => IngestJobId,
        record_type: EnumFilter<RecordType> => RecordType,
        category: EnumFilter<RecordCategory> => Category,
        source: StringFilter => Source,
        content: StringFilter => Content,
        has_been_reviewed: BoolFilter => HasBeenReviewed,
        is_category_correct: BoolFilter => IsCategoryCorrect,
        created_at: DateTimeFilter => CreatedAt,
    }
    order DataRecordOrderField / DataRecordOrderBy { CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default CreatedAt Asc;
    create CreateDataRecordInput {
        project_id: Uuid,
        record_type: RecordType,
        category: Option<RecordCategory>,
        #[graphql(default_with = "String::from(\"api\")")]
        source: String,
        content: String,
        #[graphql(default_with = "serde_json::json!({})")]
        metadata: serde_json::Value,
    }
    update UpdateDataRecordInput {
        category: MaybeUndefined<RecordCategory>,
        content: Option<String>,
        metadata: Option<serde_json::Value>,
        alignment_analysis: MaybeUndefined<String>,
        has_been_reviewed: Option<bool>,
        is_category_correct: MaybeUndefined<bool>,
    }
    roles write Member, delete Manager;
    events parent project_id;
    check update super::check_record_update;
    stamp super::stamp_record;
}

crate::crud! {
    /// Likert scores (1-7) for a record's realism and quality, by a user or an LLM.
    pub mod likert_scores for likert_scores as "likert score";
    filter LikertScoreFilter {
        record_id: UuidFilter => RecordId,
        user_id: StringFilter => UserId,
        llm_model: StringFilter => LlmModel,
        created_at: DateTimeFilter => CreatedAt,
    }
    order LikertScoreOrderField / LikertScoreOrderBy {
        CreatedAt => CreatedAt, RealismScore => RealismScore, QualityScore => QualityScore,
    } default CreatedAt Asc;
    create CreateLikertScoreInput {
        record_id: Uuid,
        /// The rater: your user id when left out; an LLM's identifier with `llmModel`.
        #[graphql(default)]
        user_id: String,
        realism_score: i32,
        quality_score: i32,
        llm_model: Option<String>,
    }
    update UpdateLikertScoreInput {
        realism_score: Option<i32>,
        quality_score: Option<i32>,
    }
    roles write Member, delete Member;
    events parent record_id;
    check create super::check_new_score;
}

crate::crud! {
    /// CSV ingest jobs with their live counters (the worker fills them in).
    pub mod ingest_jobs for ingest_jobs as "ingest job";
    filter IngestJobFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        status: EnumFilter<IngestStatus> => Status,
        record_type: EnumFilter<RecordType> => RecordType,
        created_at: DateTimeFilter => CreatedAt,
    }
    order IngestJobOrderField / IngestJobOrderBy { CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default CreatedAt Desc;
    create CreateIngestJobInput {
        project_id: Uuid,
        record_type: RecordType,
        source_name: Option<String>,
        source_file_id: Option<Uuid>,
    }
    update UpdateIngestJobInput {
        status: Option<IngestStatus>,
        total_records: Option<i32>,
        saved_count: Option<i32>,
        skipped_count: Option<i32>,
        skipped_details: Option<serde_json::Value>,
        error: MaybeUndefined<String>,
    }
    roles write Member, delete Manager;
    events parent project_id;
}

crate::crud! {
    /// Analytics jobs: per-project counts and Likert averages, with progress.
    pub mod analytics_jobs for analytics_jobs as "analytics job";
    filter AnalyticsJobFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        status: EnumFilter<AnalyticsStatus> => Status,
        created_at: DateTimeFilter => CreatedAt,
    }
    order AnalyticsJobOrderField / AnalyticsJobOrderBy { CreatedAt => CreatedAt, } default CreatedAt Desc;
    create CreateAnalyticsJobInput {
        project_id: Uuid,
    }
    update UpdateAnalyticsJobInput {
        status: Option<AnalyticsStatus>,
        total_records: Option<i32>,
        processed_count: Option<i32>,
        result: MaybeUndefined<serde_json::Value>,
        error: MaybeUndefined<String>,
    }
    roles write Member, delete Manager;
    events parent project_id;
}

crate::crud! {
    /// Bonus windows: time-bounded task and feedback targets in two tiers (0 disables a target).
    pub mod bonus_windows for bonus_windows as "bonus window";
    filter BonusWindowFilter {
        id: UuidFilter => Id,
        name: StringFilter => Name,
        start_time: DateTimeFilter => StartTime,
        end_time: DateTimeFilter => EndTime,
    }
    order BonusWindowOrderField / BonusWindowOrderBy { StartTime => StartTime, EndTime => EndTime, Name => Name, } default StartTime Desc;
    create CreateBonusWindowInput {
        #[graphql(default_with = "String::from(\"Bonus Window\")")]
        name: String,
        start_time: DateTimeWithTimeZone,
        end_time: DateTimeWithTimeZone,
        #[graphql(default)]
        target_task_count: i32,
        #[graphql(default)]
        target_feedback_count: i32,
        #[graphql(default)]
        target_task_count_tier2: i32,
        #[graphql(default)]
        target_feedback_count_tier2: i32,
    }
    update UpdateBonusWindowInput {
        name: Option<String>,
        start_time: Option<DateTimeWithTimeZone>,
        end_time: Option<DateTimeWithTimeZone>,
        target_task_count: Option<i32>,
        target_feedback_count: Option<i32>,
        target_task_count_tier2: Option<i32>,
        target_feedback_count_tier2: Option<i32>,
    }
    roles write Admin, delete Admin;
    events none;
}

/// A record keeps who created it as the seeds do (id, name and email at the time).
async fn stamp_record(scope: &Scope, model: &mut entity::data_records::ActiveModel) -> Result<()> {
    let me = tenancy::me(scope).await?;
    model.created_by_id = sea_orm::ActiveValue::Set(Some(me.id.to_string()));
    model.created_by_name = sea_orm::ActiveValue::Set(me.name);
    model.created_by_email = sea_orm::ActiveValue::Set(Some(me.email));
    Ok(())
}

async fn check_record_update(_scope: &Scope, _id: Uuid, input: &mut data_records::Update) -> Result<()> {
    if input.content.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(ServiceError::bad_input("content", "content must not be empty"));
    }
    Ok(())
}

/// A human rater scores as themselves; only an LLM score may name another rater.
async fn check_new_score(scope: &Scope, input: &mut likert_scores::Create) -> Result<()> {
    let me = scope.user_id()?.to_string();
    if input.user_id.trim().is_empty() {
        input.user_id = me;
    } else if input.user_id != me && input.llm_model.is_none() {
        return Err(ServiceError::bad_input("userId", "score as yourself, or name the llmModel for an LLM score"));
    }
    for (field, v) in [("realismScore", input.realism_score), ("qualityScore", input.quality_score)] {
        if !(1..=7).contains(&v) {
            return Err(ServiceError::bad_input(field, format!("{field} must be between 1 and 7")));
        }
    }
    Ok(())
}
