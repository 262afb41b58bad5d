//! Change events. A write calls `notify` inside its transaction; PostgreSQL delivers the
//! notification only on commit, so subscribers never hear of a change that was rolled back.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::scope::Scope;

/// The one channel every server process LISTENs on.
pub const CHANNEL: &str = "atlas_events";

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Created,
    Updated,
    Deleted,
}

impl ChangeOp {
    /// The audit log's verb for the change: `task.create`, `task.update`, `task.delete`.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Created => "create",
            Self::Updated => "update",
            Self::Deleted => "delete",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub tenant_id: Uuid,
    /// Table name of the changed row, e.g. `tasks`.
    pub entity: String,
    pub id: Uuid,
    pub op: ChangeOp,
    /// The parent the row hangs under (a task's project), for filtered subscriptions.
    pub parent_id: Option<Uuid>,
    /// The space the row lives in, if any: decides who may hear of it once the row is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<Uuid>,
    /// Not a change but "events may have been missed" (the LISTEN connection was re-established,
    /// or a subscriber fell behind): subscribers re-read the current state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resync: bool,
}

impl Event {
    pub fn resync() -> Self {
        Self {
            tenant_id: Uuid::nil(),
            entity: String::new(),
            id: Uuid::nil(),
            op: ChangeOp::Updated,
            parent_id: None,
            space_id: None,
            resync: true,
        }
    }
}

/// Tables whose insert trigger announces each new row itself (workers and SQL functions write them
/// too, outside these services). Announcing their creation here as well sent every one twice.
const CREATED_BY_TRIGGER: &[&str] = &["jobs"];

pub async fn notify(scope: &Scope, entity: &str, id: Uuid, op: ChangeOp, parent_id: Option<Uuid>) -> Result<()> {
    notify_in(scope, entity, id, op, parent_id, None).await
}

/// `notify` for a row that lives in a space (`space_id`).
pub async fn notify_in(
    scope: &Scope,
    entity: &str,
    id: Uuid,
    op: ChangeOp,
    parent_id: Option<Uuid>,
    space_id: Option<Uuid>,
) -> Result<()> {
    if op == ChangeOp::Created && CREATED_BY_TRIGGER.contains(&entity) {
        return Ok(());
    }
    let tenant_id = scope.tenant_id()?;
    let event = Event { tenant_id, entity: entity.to_string(), id, op, parent_id, space_id, resync: false };
    let payload = serde_json::to_string(&event).map_err(|e| crate::ServiceError::internal(e.to_string()))?;
    let tx = scope.tx().await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// Run `sql` on one row (`$1` the scope's tenant, `$2` its id, then `extra`), announce the change
/// and commit at once: how job handlers make their progress visible while they run.
pub async fn commit_row_change(
    scope: &Scope,
    entity: &str,
    (id, parent): (Uuid, Option<Uuid>),
    sql: &str,
    extra: Vec<sea_orm::Value>,
) -> Result<()> {
    {
        let statement = crate::query::raw(scope, sql, std::iter::once(id.into()).chain(extra))?;
        let tx = scope.tx().await?;
        tx.execute_raw(statement).await?;
    }
    notify(scope, entity, id, ChangeOp::Updated, parent).await?;
    scope.finish(true).await
}
