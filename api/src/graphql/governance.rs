//! Governance in GraphQL: the audit log (read only; nothing can change it), intents, decision
//! memos and approvals, with the approve / reject verbs.
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{ApprovalDecision, AuditActorType, AuditLevel, IntentStatus, MemoStatus};
use sea_orm::prelude::Decimal;
use service::governance::{self, approvals, decision_memos, intents, AuditLogFilter};
use uuid::Uuid;

use super::connection::{connection, page_args, Conn};
use super::tenancy::User;
use super::work::{Agent, Job};
use super::CtxExt;

object! {
    /// One entry of the append-only audit log: who did what to which row, and when.
    AuditEntry from entity::audit_log::Model {
        id: Uuid,
        actor_type: AuditActorType,
        actor_user_id: Option<Uuid>,
        actor_external_id: Option<String>,
        level: AuditLevel,
        /// What happened, as `entity.verb`: `task.create`, `member.update_role`, …
        action: String,
        entity_type: Option<String>,
        entity_id: Option<Uuid>,
        message: Option<String>,
        meta: serde_json::Value,
        created_at: DateTime<FixedOffset>,
    }
}

complex! {
    AuditEntry {
        one actor: User = entity::users::Entity[actor_user_id];
    }
}

#[derive(Default)]
pub struct GovernanceQuery;

#[Object]
impl GovernanceQuery {
    /// The tenant's audit log, newest first.
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AuditLogFilter>,
    ) -> Result<Conn<AuditEntry>> {
        let args = page_args(ctx, first, after, last, before);
        Ok(connection(governance::audit_log(ctx.scope()?, filter, &args).await?, AuditEntry::from))
    }
}

object! {
    /// An action an agent wants taken, evaluated by policy (SGL) before it runs.
    Intent from entity::intents::Model {
        id: Uuid,
        agent_id: Option<Uuid>,
        intent_type: String,
        payload: serde_json::Value,
        sgl_result: Option<String>,
        status: IntentStatus,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A risky action proposed with its rationale, estimated cost and risk tier, awaiting approval.
    DecisionMemo from entity::decision_memos::Model {
        id: Uuid,
        agent_id: Option<Uuid>,
        title: String,
        rationale: String,
        action: Option<String>,
        estimated_cost_usd: Decimal,
        risk_tier: i32,
        requires_approval: bool,
        status: MemoStatus,
        job_id: Option<Uuid>,
        intent_id: Option<Uuid>,
        reviewed_by: Option<Uuid>,
        reviewed_at: Option<DateTime<FixedOffset>>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A person's approval or rejection of an intent or a decision memo.
    Approval from entity::approvals::Model {
        id: Uuid,
        intent_id: Option<Uuid>,
        memo_id: Option<Uuid>,
        approver_id: Uuid,
        decision: ApprovalDecision,
        comment: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Intent {
        many approvals: Approval = entity::approvals::Entity["intent_id"] by id;
        one agent: Agent = entity::agents::Entity[agent_id];
    }
}

complex! {
    DecisionMemo {
        many approvals: Approval = entity::approvals::Entity["memo_id"] by id;
        one agent: Agent = entity::agents::Entity[agent_id];
        one intent: Intent = entity::intents::Entity[intent_id];
        one job: Job = entity::jobs::Entity[job_id];
        one reviewer: User = entity::users::Entity[reviewed_by];
    }
}

complex! {
    Approval {
        one approver: User = entity::users::Entity[approver_id];
        one intent: Intent = entity::intents::Entity[intent_id];
        one memo: DecisionMemo = entity::decision_memos::Entity[memo_id];
    }
}

crud_fields! {
    intents => Intent;
    query IntentQuery { intent, intents }
    mutation IntentMutation { create_intent, update_intent, delete_intent }
}

crud_fields! {
    decision_memos => DecisionMemo;
    query DecisionMemoQuery { decision_memo, decision_memos }
    mutation DecisionMemoMutation { create_decision_memo, update_decision_memo, delete_decision_memo }
}

crud_fields! {
    approvals => Approval;
    query ApprovalQuery { approval, approvals }
    mutation ApprovalMutation { create_approval, update_approval, delete_approval }
}

#[derive(Default)]
pub struct DecisionVerbs;

#[Object]
impl DecisionVerbs {
    /// Approve a proposed decision memo (managers and above): records the approval and the reviewer.
    async fn approve_decision(&self, ctx: &Context<'_>, id: Uuid, comment: Option<String>) -> Result<DecisionMemo> {
        Ok(governance::decide_memo(ctx.scope()?, id, ApprovalDecision::Approved, comment).await?.into())
    }

    /// Reject a proposed decision memo (managers and above).
    async fn reject_decision(&self, ctx: &Context<'_>, id: Uuid, comment: Option<String>) -> Result<DecisionMemo> {
        Ok(governance::decide_memo(ctx.scope()?, id, ApprovalDecision::Rejected, comment).await?.into())
    }
}
