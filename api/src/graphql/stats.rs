//! Aggregates in GraphQL: task counts, usage totals, Likert averages, bonus-window progress.
//! Each is batched across the parents of a request (one statement per aggregate).
use std::collections::HashMap;

use async_graphql::SimpleObject;
use entity::sea_orm_active_enums::TaskStatus;
use sea_orm::prelude::Decimal;
use service::stats::{self, UsageBy};
use service::Scope;
use uuid::Uuid;

use super::loaders::Batch;

#[derive(SimpleObject, Clone)]
pub struct TaskStatusCount {
    pub status: TaskStatus,
    pub count: i64,
}

/// Totals over executions.
#[derive(SimpleObject, Clone, Default)]
pub struct Usage {
    pub executions: i64,
    pub tokens_used: i64,
    /// USD, exact.
    pub cost_usd: Decimal,
    pub duration_ms: i64,
}

#[derive(SimpleObject, Clone, Default)]
pub struct LikertSummary {
    /// How many scores there are.
    pub scores: i64,
    /// Average realism, 1-7; null without scores.
    pub realism_average: Option<f64>,
    /// Average quality, 1-7; null without scores.
    pub quality_average: Option<f64>,
}

/// One person's counts in a bonus window and the tiers they reach. A tier is met when each of its
/// non-zero targets is met (a target of 0 is off; a tier with both off is never met).
#[derive(SimpleObject, Clone)]
pub struct BonusProgress {
    pub user_id: String,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub task_count: i64,
    pub feedback_count: i64,
    pub tier1_met: bool,
    pub tier2_met: bool,
}

pub fn tier_met(tasks: i64, feedback: i64, target_tasks: i32, target_feedback: i32) -> bool {
    (target_tasks > 0 || target_feedback > 0)
        && (target_tasks == 0 || tasks >= i64::from(target_tasks))
        && (target_feedback == 0 || feedback >= i64::from(target_feedback))
}

pub struct ProjectTaskCounts;
impl Batch for ProjectTaskCounts {
    type Value = Vec<stats::StatusCount>;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
        stats::task_counts_by_project(scope, ids)
    }
}

macro_rules! usage_batch {
    ($name:ident, $by:expr) => {
        pub struct $name;
        impl Batch for $name {
            type Value = stats::Usage;
            fn run(
                scope: &Scope,
                ids: &[Uuid],
            ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
                stats::usage(scope, $by, ids)
            }
        }
    };
}
usage_batch!(TaskUsage, UsageBy::Task);
usage_batch!(AgentUsage, UsageBy::Agent);
usage_batch!(ProjectUsage, UsageBy::Project);

pub struct RecordLikert;
impl Batch for RecordLikert {
    type Value = stats::LikertSummary;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
        stats::likert(scope, false, ids)
    }
}

pub struct ProjectLikert;
impl Batch for ProjectLikert {
    type Value = stats::LikertSummary;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
        stats::likert(scope, true, ids)
    }
}

pub struct WindowProgress;
impl Batch for WindowProgress {
    type Value = Vec<stats::WindowProgress>;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
        stats::window_progress(scope, ids)
    }
}

impl From<Option<stats::Usage>> for Usage {
    fn from(u: Option<stats::Usage>) -> Self {
        u.map(|u| Usage {
            executions: u.executions,
            tokens_used: u.tokens_used,
            cost_usd: u.cost_usd,
            duration_ms: u.duration_ms,
        })
        .unwrap_or_default()
    }
}

impl From<Option<stats::LikertSummary>> for LikertSummary {
    fn from(l: Option<stats::LikertSummary>) -> Self {
        l.map(|l| LikertSummary { scores: l.scores, realism_average: l.realism_avg, quality_average: l.quality_avg })
            .unwrap_or_default()
    }
}

pub struct BudgetSpend;
impl Batch for BudgetSpend {
    type Value = i64;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send {
        stats::budget_spend(scope, ids)
    }
}
