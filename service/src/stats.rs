//! Aggregates the apps show beside their rows: task counts by status, token and cost totals,
//! Likert averages, bonus-window progress. Each takes a batch of parent ids and answers with one
//! grouped statement, so a list of parents costs one query per aggregate, not one per parent.
use std::collections::HashMap;

use entity::sea_orm_active_enums::TaskStatus;
use sea_orm::prelude::Decimal;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::scope::Scope;

#[derive(Clone, Debug, FromQueryResult)]
pub struct StatusCount {
    pub parent: Uuid,
    pub status: TaskStatus,
    pub count: i64,
}

#[derive(Clone, Debug, Default, FromQueryResult)]
pub struct Usage {
    pub parent: Uuid,
    pub executions: i64,
    pub tokens_used: i64,
    pub cost_usd: Decimal,
    pub duration_ms: i64,
}

#[derive(Clone, Debug, Default, FromQueryResult)]
pub struct LikertSummary {
    pub parent: Uuid,
    pub scores: i64,
    pub realism_avg: Option<f64>,
    pub quality_avg: Option<f64>,
}

#[derive(Clone, Debug, FromQueryResult)]
pub struct WindowProgress {
    pub parent: Uuid,
    pub user_id: String,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub task_count: i64,
    pub feedback_count: i64,
}

/// Runs a grouped statement over `ids` inside the caller's tenant. `$1` is the tenant, `$2` the
/// ids; row-level security applies as well.
async fn grouped<T: FromQueryResult>(scope: &Scope, sql: &str, ids: &[Uuid]) -> Result<Vec<T>> {
    let ids: Vec<Value> = ids.iter().map(|i| (*i).into()).collect();
    let stmt = crate::query::raw(scope, sql, [Value::Array(sea_orm::sea_query::ArrayType::Uuid, Some(Box::new(ids)))])?;
    let tx = scope.tx().await?;
    let rows = tx.query_all_raw(stmt).await?;
    Ok(rows.iter().map(|r| T::from_query_result(r, "")).collect::<std::result::Result<_, _>>()?)
}

fn by_parent<T>(rows: Vec<T>, parent: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(parent(&row)).or_default().push(row);
    }
    map
}

pub async fn task_counts_by_project(scope: &Scope, projects: &[Uuid]) -> Result<HashMap<Uuid, Vec<StatusCount>>> {
    let rows: Vec<StatusCount> = grouped(
        scope,
        "SELECT project_id AS parent, status, count(*) AS count FROM tasks \
         WHERE tenant_id = $1 AND project_id = ANY($2) GROUP BY project_id, status ORDER BY project_id, status",
        projects,
    )
    .await?;
    Ok(by_parent(rows, |r| r.parent))
}

const USAGE: &str = "count(*) AS executions, coalesce(sum(e.tokens_used), 0)::bigint AS tokens_used, \
    coalesce(sum(e.cost_usd), 0)::numeric AS cost_usd, coalesce(sum(e.duration_ms), 0)::bigint AS duration_ms";

/// Token, cost and time totals of executions, per task, per agent or per project.
pub async fn usage(scope: &Scope, by: UsageBy, ids: &[Uuid]) -> Result<HashMap<Uuid, Usage>> {
    let sql = match by {
        UsageBy::Task => format!("SELECT e.task_id AS parent, {USAGE} FROM executions e WHERE e.tenant_id = $1 AND e.task_id = ANY($2) GROUP BY e.task_id"),
        UsageBy::Agent => format!("SELECT e.agent_id AS parent, {USAGE} FROM executions e WHERE e.tenant_id = $1 AND e.agent_id = ANY($2) GROUP BY e.agent_id"),
        UsageBy::Project => format!(
            "SELECT t.project_id AS parent, {USAGE} FROM executions e JOIN tasks t ON t.tenant_id = e.tenant_id AND t.id = e.task_id \
             WHERE e.tenant_id = $1 AND t.project_id = ANY($2) GROUP BY t.project_id"
        ),
    };
    let rows: Vec<Usage> = grouped(scope, &sql, ids).await?;
    Ok(rows.into_iter().map(|u| (u.parent, u)).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UsageBy {
    Task,
    Agent,
    Project,
}

const LIKERT: &str =
    "count(*) AS scores, avg(s.realism_score)::float8 AS realism_avg, avg(s.quality_score)::float8 AS quality_avg";

/// Likert averages per record or per project.
pub async fn likert(scope: &Scope, by_project: bool, ids: &[Uuid]) -> Result<HashMap<Uuid, LikertSummary>> {
    let sql = if by_project {
        format!(
            "SELECT r.project_id AS parent, {LIKERT} FROM likert_scores s JOIN data_records r ON r.tenant_id = s.tenant_id AND r.id = s.record_id \
             WHERE s.tenant_id = $1 AND r.project_id = ANY($2) GROUP BY r.project_id"
        )
    } else {
        format!("SELECT s.record_id AS parent, {LIKERT} FROM likert_scores s WHERE s.tenant_id = $1 AND s.record_id = ANY($2) GROUP BY s.record_id")
    };
    let rows: Vec<LikertSummary> = grouped(scope, &sql, ids).await?;
    Ok(rows.into_iter().map(|l| (l.parent, l)).collect())
}

/// Per user, the task and feedback records they created inside each window.
pub async fn window_progress(scope: &Scope, windows: &[Uuid]) -> Result<HashMap<Uuid, Vec<WindowProgress>>> {
    let rows: Vec<WindowProgress> = grouped(
        scope,
        "SELECT w.id AS parent, r.created_by_id AS user_id, max(r.created_by_name) AS user_name, max(r.created_by_email) AS user_email, \
           count(*) FILTER (WHERE r.record_type = 'task') AS task_count, \
           count(*) FILTER (WHERE r.record_type = 'feedback') AS feedback_count \
         FROM bonus_windows w JOIN data_records r ON r.tenant_id = w.tenant_id \
           AND r.created_at >= w.start_time AND r.created_at < w.end_time AND r.created_by_id IS NOT NULL \
         WHERE w.tenant_id = $1 AND w.id = ANY($2) \
         GROUP BY w.id, r.created_by_id ORDER BY w.id, r.created_by_id",
        windows,
    )
    .await?;
    Ok(by_parent(rows, |r| r.parent))
}

#[derive(Clone, Debug, FromQueryResult)]
struct Spend {
    parent: Uuid,
    spent: i64,
}

/// Per budget: expenses minus refunds of its category and currency in the current period.
pub async fn budget_spend(scope: &Scope, budgets: &[Uuid]) -> Result<HashMap<Uuid, i64>> {
    let rows: Vec<Spend> = grouped(
        scope,
        "SELECT b.id AS parent, coalesce(sum(CASE WHEN e.entry_type = 'expense' THEN e.amount_cents \
             WHEN e.entry_type = 'refund' THEN -e.amount_cents ELSE 0 END), 0)::bigint AS spent \
         FROM budgets b LEFT JOIN ledger_entries e ON e.tenant_id = b.tenant_id AND e.category = b.category \
           AND e.currency = b.currency \
           AND e.occurred_at >= date_trunc(CASE b.period WHEN 'monthly' THEN 'month' WHEN 'quarterly' THEN 'quarter' ELSE 'year' END, now()) \
         WHERE b.tenant_id = $1 AND b.id = ANY($2) GROUP BY b.id",
        budgets,
    )
    .await?;
    Ok(rows.into_iter().map(|s| (s.parent, s.spent)).collect())
}
