//! Governance in GraphQL: the tenant's audit log (read only; nothing can change it).
use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{AuditActorType, AuditLevel};
use service::governance::{self, AuditLogFilter};
use uuid::Uuid;

use super::connection::{connection, page_args, Conn};
use super::tenancy::User;
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

#[ComplexObject]
impl AuditEntry {
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.actor_user_id else { return Ok(None) };
        Ok(ctx.loaders()?.one::<entity::users::Entity>(id).await?.map(User))
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
