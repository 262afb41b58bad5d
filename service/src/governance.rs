//! Governance: the audit log. Every mutation records who did what to which row, in the same
//! transaction as the change, so the log and the data never disagree.
use async_graphql::InputObject;
use entity::audit_log;
use entity::sea_orm_active_enums::{AuditActorType, AuditLevel};
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
    let user = scope.user_id()?;
    let tx = scope.tx().await?;
    record_in(&tx, tenant, user, action, entity_type, entity_id, meta).await
}

/// The same inside an explicit tenant (joining or creating one).
pub(crate) async fn record_in(
    tx: &DatabaseTransaction,
    tenant: Uuid,
    user: Uuid,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    meta: serde_json::Value,
) -> Result<()> {
    let row = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(Some(tenant)),
        actor_type: Set(AuditActorType::User),
        actor_user_id: Set(Some(user)),
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
