//! Governance: the audit log (every mutation records who did what to which row, in the same
//! transaction as the change, so the log and the data never disagree), intents, decision memos
//! and their approvals.
use async_graphql::InputObject;
use entity::audit_log;
use entity::sea_orm_active_enums::{ApprovalDecision, AuditActorType, AuditLevel, IntentStatus, MemoStatus};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait, Order, QueryFilter};
use uuid::Uuid;

use crate::error::Result;
use crate::filter::{on, DateTimeFilter, EnumFilter, StringFilter, UuidFilter};
use crate::pagination::{Page, PageArgs};
use crate::query::{self, all_of};
use crate::scope::Scope;

/// Record a user's action on a row of the tenant in scope.
pub async fn record(
    scope: &Scope,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    meta: serde_json::Value,
) -> Result<()> {
    let tenant = scope.tenant_id()?;
    // Atlas itself (a job handler) acts as the system, with no user.
    let user = if scope.principal().system { None } else { Some(scope.user_id()?) };
    let tx = scope.tx().await?;
    record_in(&tx, tenant, user, action, entity_type, entity_id, meta).await
}

/// A refused request (FORBIDDEN), recorded after its transaction rolled back, in a statement of
/// its own: a `security.refused` row in the tenant the caller asked for, member or not there.
/// Returns whether a row was written (not when the tenant or user does not exist).
pub async fn record_refusal(
    db: &sea_orm::DatabaseConnection,
    tenant: Uuid,
    user: Uuid,
    message: &str,
    meta: serde_json::Value,
) -> Result<bool> {
    use sea_orm::{DbBackend, Statement};
    let row = crate::pool::one(
        db,
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT atlas_audit_refusal($1, $2, $3, $4, $5) AS written",
            [Uuid::now_v7().into(), tenant.into(), user.into(), message.into(), meta.into()],
        ),
    )
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "written")?,
        None => false,
    })
}

/// An event that belongs to no tenant (a user provisioned, a token minted without a tenant), in
/// `global_audit_log`, inside the caller's transaction: `actor` must be the user in scope, or
/// none for Atlas itself. Append-only; the app role may write it, never read it.
pub async fn record_global(
    db: &impl sea_orm::ConnectionTrait,
    actor: Option<Uuid>,
    action: &str,
    entity: (&str, Uuid),
    meta: serde_json::Value,
) -> Result<()> {
    use sea_orm::{DbBackend, Statement};
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO global_audit_log (id, actor_user_id, action, entity_type, entity_id, meta) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [Uuid::now_v7().into(), actor.into(), action.into(), entity.0.into(), entity.1.into(), meta.into()],
    ))
    .await?;
    Ok(())
}

/// The same inside an explicit tenant (joining or creating one).
pub(crate) async fn record_in(
    tx: &DatabaseTransaction,
    tenant: Uuid,
    user: Option<Uuid>,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    meta: serde_json::Value,
) -> Result<()> {
    let row = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        actor_type: Set(if user.is_some() { AuditActorType::User } else { AuditActorType::System }),
        actor_user_id: Set(user),
        actor_external_id: Set(None),
        level: Set(AuditLevel::Info),
        action: Set(action.to_string()),
        entity_type: Set(Some(entity_type.to_string())),
        entity_id: Set(Some(entity_id)),
        message: Set(None),
        meta: Set(meta),
        ..Default::default()
    };
    audit_log::Entity::insert(row).exec_without_returning(tx).await?;
    Ok(())
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct AuditLogFilter {
    pub action: Option<StringFilter>,
    pub entity_type: Option<StringFilter>,
    pub entity_id: Option<UuidFilter>,
    pub actor_user_id: Option<UuidFilter>,
    pub level: Option<EnumFilter<AuditLevel>>,
    pub created_at: Option<DateTimeFilter>,
}

/// The tenant's audit log, newest first.
pub async fn audit_log(
    scope: &Scope,
    filter: Option<AuditLogFilter>,
    args: &PageArgs,
) -> Result<Page<audit_log::Model>> {
    use audit_log::Column as C;
    let f = filter.unwrap_or_default();
    let select = query::scoped::<audit_log::Entity>(scope)?.filter(all_of([
        on(&f.action, C::Action),
        on(&f.entity_type, C::EntityType),
        on(&f.entity_id, C::EntityId),
        on(&f.actor_user_id, C::ActorUserId),
        on(&f.level, C::Level),
        on(&f.created_at, C::CreatedAt),
    ]));
    query::page(scope, select, &[(C::CreatedAt, Order::Desc)], args).await
}

crate::crud! {
    /// Intents: actions an agent wants taken, evaluated by policy (SGL) before they run.
    pub mod intents for intents as "intent";
    filter IntentFilter {
        id: UuidFilter => Id,
        agent_id: UuidFilter => AgentId,
        intent_type: StringFilter => IntentType,
        status: EnumFilter<IntentStatus> => Status,
        created_at: DateTimeFilter => CreatedAt,
    }
    order IntentOrderField / IntentOrderBy { CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default CreatedAt Desc;
    create CreateIntentInput {
        agent_id: Option<Uuid>,
        /// Upper-case with underscores, e.g. `ENGINE_RUN`.
        intent_type: String,
        #[graphql(default_with = "serde_json::json!({})")]
        payload: serde_json::Value,
    }
    update UpdateIntentInput {
        payload: Option<serde_json::Value>,
        sgl_result: async_graphql::MaybeUndefined<String>,
        status: Option<IntentStatus>,
    }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// Decision memos: risky actions proposed with rationale, cost and risk tier, for approval.
    pub mod decision_memos for decision_memos as "decision memo";
    filter DecisionMemoFilter {
        id: UuidFilter => Id,
        agent_id: UuidFilter => AgentId,
        status: EnumFilter<MemoStatus> => Status,
        risk_tier: crate::filter::IntFilter => RiskTier,
        intent_id: UuidFilter => IntentId,
        job_id: UuidFilter => JobId,
        created_at: DateTimeFilter => CreatedAt,
    }
    order DecisionMemoOrderField / DecisionMemoOrderBy { CreatedAt => CreatedAt, RiskTier => RiskTier, EstimatedCostUsd => EstimatedCostUsd, } default CreatedAt Desc;
    create CreateDecisionMemoInput {
        agent_id: Option<Uuid>,
        title: String,
        #[graphql(default)]
        rationale: String,
        action: Option<String>,
        #[graphql(default)]
        estimated_cost_usd: sea_orm::prelude::Decimal,
        #[graphql(default)]
        risk_tier: i32,
        #[graphql(default = true)]
        requires_approval: bool,
        job_id: Option<Uuid>,
        intent_id: Option<Uuid>,
    }
    update UpdateDecisionMemoInput {
        title: Option<String>,
        rationale: Option<String>,
        action: async_graphql::MaybeUndefined<String>,
        estimated_cost_usd: Option<sea_orm::prelude::Decimal>,
        risk_tier: Option<i32>,
    }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// Approvals (or rejections) of an intent or a decision memo.
    pub mod approvals for approvals as "approval";
    filter ApprovalFilter {
        intent_id: UuidFilter => IntentId,
        memo_id: UuidFilter => MemoId,
        approver_id: UuidFilter => ApproverId,
        decision: EnumFilter<ApprovalDecision> => Decision,
    }
    order ApprovalOrderField / ApprovalOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create CreateApprovalInput {
        intent_id: Option<Uuid>,
        memo_id: Option<Uuid>,
        decision: ApprovalDecision,
        comment: Option<String>,
    }
    update UpdateApprovalInput {
        comment: async_graphql::MaybeUndefined<String>,
    }
    roles write Manager, delete Admin;
    events none;
    stamp super::stamp_approval;
}

async fn stamp_approval(scope: &Scope, model: &mut entity::approvals::ActiveModel) -> Result<()> {
    model.approver_id = Set(scope.user_id()?);
    Ok(())
}

/// Decide a memo: managers and above approve or reject it; the decision is recorded as an
/// approval, the memo's status, reviewer and time change with it, in one transaction.
pub async fn decide_memo(
    scope: &Scope,
    memo_id: Uuid,
    decision: ApprovalDecision,
    comment: Option<String>,
) -> Result<entity::decision_memos::Model> {
    scope.require(entity::sea_orm_active_enums::MemberRole::Manager, "approve decisions").await?;
    let memo = decision_memos::get(scope, memo_id).await?;
    if memo.status != MemoStatus::Proposed {
        return Err(crate::ServiceError::Conflict {
            field: Some("id".into()),
            message: format!(
                "this memo was already {}",
                if memo.status == MemoStatus::Approved { "approved" } else { "rejected" }
            ),
        });
    }
    approvals::create(scope, approvals::Create { intent_id: None, memo_id: Some(memo_id), decision, comment }).await?;
    let status = if decision == ApprovalDecision::Approved { MemoStatus::Approved } else { MemoStatus::Rejected };
    let change = entity::decision_memos::ActiveModel {
        status: Set(status),
        reviewed_by: Set(Some(scope.user_id()?)),
        reviewed_at: Set(Some(chrono::Utc::now().into())),
        ..Default::default()
    };
    let updated = query::update(scope, "decision memo", memo_id, change).await?;
    record(
        scope,
        &format!("decision memo.{}", if status == MemoStatus::Approved { "approve" } else { "reject" }),
        "decision_memos",
        memo_id,
        serde_json::json!({}),
    )
    .await?;
    Ok(updated)
}
