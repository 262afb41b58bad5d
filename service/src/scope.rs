//! `Scope`: who is asking (user), where (tenant, role), and the request's database transaction.
//!
//! One transaction per request, begun lazily on first use: `BEGIN`, then one statement that sets
//! `app.tenant_id` / `app.user_id` with `set_config(…, true)` (transaction-local, so it is safe
//! behind PgBouncer in transaction mode) and returns the caller's role in the tenant. Row-level
//! security reads those settings, so even a query that forgot its tenant filter sees one tenant.
use entity::sea_orm_active_enums::MemberRole;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use uuid::Uuid;

use crate::error::{Result, ServiceError};

/// The verified identity of a request: from a JWT, or none.
#[derive(Clone, Debug, Default)]
pub struct Principal {
    pub user_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    /// The token's `email` claim: lets a first-time user be provisioned (as Supabase does).
    pub email: Option<String>,
    /// Atlas itself (a worker running a job): no user, full rights, still inside one tenant.
    pub system: bool,
}

impl Principal {
    /// Atlas acting inside `tenant`, as a job handler does.
    pub fn system(tenant: Uuid) -> Self {
        Self { user_id: None, tenant_id: Some(tenant), email: None, system: true }
    }
}

enum TxState {
    NotStarted,
    Open { tx: DatabaseTransaction, role: Option<MemberRole> },
}

/// Work to undo outside the database when the transaction does not commit (an object already
/// written to the store whose row is now rolled back).
pub type Undo = futures_util::future::BoxFuture<'static, ()>;

pub struct Scope {
    db: DatabaseConnection,
    principal: Principal,
    state: Mutex<TxState>,
    undo: std::sync::Mutex<Vec<Undo>>,
}

/// The transaction, borrowed for a few statements. Do not hold it across a DataLoader call.
pub type Tx<'a> = MappedMutexGuard<'a, DatabaseTransaction>;

impl Scope {
    pub fn new(db: DatabaseConnection, principal: Principal) -> Self {
        Self { db, principal, state: Mutex::new(TxState::NotStarted), undo: Default::default() }
    }

    /// The pool this scope's transactions come from, for a statement that must not share the
    /// request's transaction (an audit row of a refusal, which the rollback would take along).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn user_id(&self) -> Result<Uuid> {
        self.principal
            .user_id
            .ok_or_else(|| ServiceError::Unauthenticated("sign in: send Authorization: Bearer <token>".into()))
    }

    pub fn tenant_id(&self) -> Result<Uuid> {
        // Anonymous callers hear "sign in" first, not "choose a tenant".
        if !self.principal.system {
            self.user_id()?;
        }
        self.principal.tenant_id.ok_or_else(|| ServiceError::BadInput {
            field: None,
            message: "choose a tenant: send the X-Tenant-Id header or a token with a tenant_id claim".into(),
        })
    }

    /// The request's transaction, begun on first use. Fails with UNAUTHENTICATED for anonymous
    /// requests and FORBIDDEN when the user is not an active member of the chosen tenant.
    pub async fn tx(&self) -> Result<Tx<'_>> {
        let user = if self.principal.system { None } else { Some(self.user_id()?) };
        let mut state = self.state.lock().await;
        if let TxState::NotStarted = *state {
            let tx = self.db.begin().await?;
            crate::pool::prepare_transaction(&tx).await?;
            let row = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT atlas_begin($1, $2) AS role",
                    [self.principal.tenant_id.into(), user.into()],
                ))
                .await?;
            let role = row.map(|r| r.try_get::<Option<MemberRole>>("", "role")).transpose()?.flatten();
            *state = TxState::Open { tx, role };
        }
        if let (TxState::Open { role, .. }, false) = (&*state, self.principal.system) {
            if let Some(tenant) = self.principal.tenant_id {
                match role {
                    None => return Err(ServiceError::Forbidden(format!("you are not a member of tenant {tenant}"))),
                    Some(MemberRole::Pending) => {
                        return Err(ServiceError::Forbidden(format!(
                            "your membership of tenant {tenant} is pending approval"
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        MutexGuard::try_map(state, |s| match s {
            TxState::Open { tx, .. } => Some(tx),
            _ => None,
        })
        .map_err(|_| ServiceError::internal("the request's transaction is not open"))
    }

    /// The caller's role in the tenant in scope.
    pub async fn role(&self) -> Result<MemberRole> {
        self.tenant_id()?;
        if self.principal.system {
            return Ok(MemberRole::Owner);
        }
        drop(self.tx().await?);
        match &*self.state.lock().await {
            TxState::Open { role: Some(role), .. } => Ok(*role),
            _ => Err(ServiceError::Forbidden("not a member of this tenant".into())),
        }
    }

    /// Fails with FORBIDDEN unless the caller's role is `at_least` or above.
    pub async fn require(&self, at_least: MemberRole, to: &str) -> Result<MemberRole> {
        let role = self.role().await?;
        if rank(role) >= rank(at_least) {
            Ok(role)
        } else {
            Err(ServiceError::Forbidden(format!(
                "{} role or above is needed to {to}; you are {}",
                role_name(at_least),
                role_name(role)
            )))
        }
    }

    /// Ends the transaction: commit when the request succeeded, roll back otherwise. Idempotent.
    /// A later `tx()` begins a new one: a subscription ends its transaction after each event, so
    /// no connection sits idle in a transaction between events.
    pub async fn finish(&self, commit: bool) -> Result<()> {
        let mut state = self.state.lock().await;
        let result = match std::mem::replace(&mut *state, TxState::NotStarted) {
            TxState::Open { tx, .. } if commit => tx.commit().await.map_err(ServiceError::from),
            TxState::Open { tx, .. } => tx.rollback().await.map_err(ServiceError::from),
            TxState::NotStarted => Ok(()),
        };
        let undo = std::mem::take(&mut *self.undo.lock().unwrap_or_else(|p| p.into_inner()));
        if !commit || result.is_err() {
            for work in undo {
                work.await;
            }
        }
        result
    }

    /// Run `work` if the current transaction ends without committing.
    pub fn on_rollback(&self, work: Undo) {
        self.undo.lock().unwrap_or_else(|p| p.into_inner()).push(work);
    }
}

/// Within the current transaction, act in `tenant` (or none) from now on: used where a user
/// writes to a tenant they are joining or creating. Row-level security still applies.
pub(crate) async fn set_tenant_setting(tx: &DatabaseTransaction, tenant: Option<Uuid>) -> Result<()> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.tenant_id', $1, true)",
        [tenant.map(|t| t.to_string()).unwrap_or_default().into()],
    ))
    .await?;
    Ok(())
}

pub fn rank(role: MemberRole) -> u8 {
    match role {
        MemberRole::Owner => 5,
        MemberRole::Admin => 4,
        MemberRole::Manager => 3,
        MemberRole::Member => 2,
        MemberRole::Viewer => 1,
        MemberRole::Pending => 0,
    }
}

pub fn role_name(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner => "owner",
        MemberRole::Admin => "admin",
        MemberRole::Manager => "manager",
        MemberRole::Member => "member",
        MemberRole::Viewer => "viewer",
        MemberRole::Pending => "pending",
    }
}
