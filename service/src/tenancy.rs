//! Tenancy: users, tenants, memberships and invitations.
use async_graphql::InputObject;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{Duration, Utc};
use entity::sea_orm_active_enums::{MemberRole, SeatType, TenantKind};
use entity::{invitations, tenant_members, tenants, users};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{OptionExt, Result, ServiceError};
use crate::filter::{on, DateTimeFilter, EnumFilter, SortDirection, UuidFilter};
use crate::governance::{record, record_in};
use crate::pagination::{Page, PageArgs};
use crate::query::{self, all_of};
use crate::scope::{rank, role_name, set_tenant_setting, Scope};

const INVITATION_TTL_DAYS: i64 = 14;

/// The caller's user row, created on first sight from the token's `email` claim (the identity
/// provider owns sign-up; Atlas mirrors the user, as a Supabase `auth.users` trigger would).
pub async fn me(scope: &Scope) -> Result<users::Model> {
    let id = scope.user_id()?;
    let tx = scope.tx().await?;
    if let Some(user) = users::Entity::find_by_id(id).one(&*tx).await? {
        if user.deleted_at.is_some() {
            return Err(ServiceError::Unauthenticated("this account was deleted".into()));
        }
        return Ok(user);
    }
    let email = scope.principal().email.clone().ok_or_else(|| {
        ServiceError::Unauthenticated(format!("user {id} is not known here and the token has no email claim"))
    })?;
    let user = users::ActiveModel {
        id: Set(id),
        email: Set(normalize_email(&email)?),
        must_reset_password: Set(false),
        ..Default::default()
    };
    let user = user.insert(&*tx).await?;
    // A user belongs to no tenant yet: the event goes to the global log (a tenant's own log
    // records the user when they create or join it: `tenant.create`, `member.join`).
    crate::governance::record_global(&*tx, Some(id), "user.provision", ("users", id), serde_json::json!({})).await?;
    tracing::info!(user = %id, "provisioned a user from their token's email claim");
    Ok(user)
}

/// Users by id, as far as the caller may see them (themselves and fellow members of the tenant).
pub async fn users_by_ids(scope: &Scope, ids: &[Uuid]) -> Result<Vec<users::Model>> {
    let tx = scope.tx().await?;
    Ok(users::Entity::find().filter(users::Column::Id.is_in(ids.iter().copied())).all(&*tx).await?)
}

/// The tenant in scope.
pub async fn current_tenant(scope: &Scope) -> Result<tenants::Model> {
    let id = scope.tenant_id()?;
    let tx = scope.tx().await?;
    tenants::Entity::find_by_id(id).one(&*tx).await?.found("tenant", id)
}

/// The id of the tenant with this slug, among those the caller belongs to (row-level security
/// shows no other): a request may name its tenant by slug. Any other slug is FORBIDDEN, as the id
/// of a tenant the caller is not a member of is.
pub async fn tenant_by_slug(scope: &Scope, slug: &str) -> Result<Uuid> {
    let tx = scope.tx().await?;
    let found = tenants::Entity::find().filter(tenants::Column::Slug.eq(slug)).one(&*tx).await?;
    found.map(|t| t.id).ok_or_else(|| ServiceError::Forbidden(format!("you are not a member of tenant {slug}")))
}

/// Every tenant the caller belongs to, with their role there (pending ones included, so a user
/// can see what awaits approval).
pub async fn my_tenants(scope: &Scope) -> Result<Vec<(tenants::Model, MemberRole)>> {
    let user = scope.user_id()?;
    let tx = scope.tx().await?;
    let rows = tenant_members::Entity::find()
        .filter(tenant_members::Column::UserId.eq(user))
        .find_also_related(tenants::Entity)
        .order_by_asc(tenant_members::Column::CreatedAt)
        .all(&*tx)
        .await?;
    Ok(rows.into_iter().filter_map(|(m, t)| t.map(|t| (t, m.role))).collect())
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct MemberFilter {
    pub user_id: Option<UuidFilter>,
    pub role: Option<EnumFilter<MemberRole>>,
    pub created_at: Option<DateTimeFilter>,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum MemberOrderField {
    CreatedAt,
    Role,
}

#[derive(InputObject, Clone, Debug)]
pub struct MemberOrderBy {
    pub field: MemberOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

pub async fn members(
    scope: &Scope,
    filter: Option<MemberFilter>,
    order_by: Vec<MemberOrderBy>,
    args: &PageArgs,
) -> Result<Page<tenant_members::Model>> {
    use tenant_members::Column as C;
    let f = filter.unwrap_or_default();
    let select = query::scoped::<tenant_members::Entity>(scope)?.filter(all_of([
        on(&f.user_id, C::UserId),
        on(&f.role, C::Role),
        on(&f.created_at, C::CreatedAt),
    ]));
    let order: Vec<(C, Order)> = order_by
        .iter()
        .map(|o| {
            let col = match o.field {
                MemberOrderField::CreatedAt => C::CreatedAt,
                MemberOrderField::Role => C::Role,
            };
            (col, o.direction.into())
        })
        .collect();
    let order = if order.is_empty() { vec![(C::CreatedAt, Order::Asc)] } else { order };
    query::page(scope, select, &order, args).await
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateTenantInput {
    /// URL-safe identifier, unique across Atlas: 2-63 characters of a-z, 0-9 and '-'.
    pub slug: String,
    pub name: String,
    #[graphql(default_with = "TenantKind::Organization")]
    pub kind: TenantKind,
}

/// Create a tenant with the caller as its owner. Any signed-in user may.
pub async fn create_tenant(scope: &Scope, input: CreateTenantInput) -> Result<tenants::Model> {
    let user = me(scope).await?;
    let slug = input.slug.trim().to_lowercase();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(ServiceError::bad_input("name", "name must not be empty"));
    }
    let id = Uuid::now_v7();
    let tx = scope.tx().await?;
    // Row-level security admits the new rows only with the new tenant in scope.
    set_tenant_setting(&tx, Some(id)).await?;
    let tenant = tenants::ActiveModel {
        id: Set(id),
        slug: Set(slug),
        name: Set(name),
        kind: Set(input.kind),
        seat_plan: Set(SeatType::FreeBeta),
        ..Default::default()
    }
    .insert(&*tx)
    .await?;
    tenant_members::ActiveModel {
        tenant_id: Set(id),
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        role: Set(MemberRole::Owner),
        seat_type: Set(SeatType::FreeBeta),
        ..Default::default()
    }
    .insert(&*tx)
    .await?;
    record_in(&tx, id, Some(user.id), "tenant.create", "tenants", id, serde_json::json!({ "slug": tenant.slug }))
        .await?;
    set_tenant_setting(&tx, scope.principal().tenant_id).await?;
    Ok(tenant)
}

#[derive(InputObject, Clone, Debug)]
pub struct InviteMemberInput {
    pub email: String,
    #[graphql(default_with = "MemberRole::Member")]
    pub role: MemberRole,
}

/// Invite someone by email. Admins and owners may; nobody may grant a role above their own.
/// Returns the invitation and the one-time token to send to the invitee (only its hash is kept).
pub async fn invite_member(scope: &Scope, input: InviteMemberInput) -> Result<(invitations::Model, String)> {
    let mine = scope.require(MemberRole::Admin, "invite members").await?;
    if input.role == MemberRole::Pending {
        return Err(ServiceError::bad_input("role", "an invitation cannot grant the pending role"));
    }
    if rank(input.role) > rank(mine) {
        return Err(ServiceError::Forbidden(format!(
            "you cannot grant the {} role, which is above your own",
            role_name(input.role)
        )));
    }
    let tenant = scope.tenant_id()?;
    let email = normalize_email(&input.email)?;
    let token = new_invitation_token(tenant);
    let model = invitations::ActiveModel {
        email: Set(email),
        role: Set(input.role),
        token_hash: Set(hash_token(&token)),
        expires_at: Set((Utc::now() + Duration::days(INVITATION_TTL_DAYS)).into()),
        invited_by: Set(scope.user_id()?),
        ..Default::default()
    };
    let invitation = query::insert(scope, model).await?;
    let meta = serde_json::json!({ "email": invitation.email, "role": role_name(invitation.role) });
    record(scope, "invitation.create", "invitations", invitation.id, meta).await?;
    Ok((invitation, token))
}

/// Join a tenant with an invitation token sent to the caller's email address.
pub async fn accept_invitation(scope: &Scope, token: &str) -> Result<tenant_members::Model> {
    let user = me(scope).await?;
    let tenant = parse_invitation_token(token)?;
    let invalid = || ServiceError::bad_input("token", "this invitation token is invalid or was already used");
    let tx = scope.tx().await?;
    set_tenant_setting(&tx, Some(tenant)).await?;
    let invitation = query::scoped_to::<invitations::Entity>(tenant)?
        .filter(invitations::Column::TokenHash.eq(hash_token(token)))
        .one(&*tx)
        .await?
        .ok_or_else(invalid)?;
    if invitation.accepted_at.is_some() {
        return Err(invalid());
    }
    if invitation.expires_at < Utc::now() {
        return Err(ServiceError::bad_input("token", "this invitation has expired; ask for a new one"));
    }
    if invitation.email != user.email {
        return Err(ServiceError::Forbidden(format!(
            "this invitation was sent to another address than {}",
            user.email
        )));
    }
    let existing = query::scoped_to::<tenant_members::Entity>(tenant)?
        .filter(tenant_members::Column::UserId.eq(user.id))
        .one(&*tx)
        .await?;
    let member = match existing {
        Some(m) if m.role != MemberRole::Pending => {
            return Err(ServiceError::Conflict {
                field: Some("token".into()),
                message: "you are already a member of this tenant".into(),
            })
        }
        Some(m) => {
            let mut am: tenant_members::ActiveModel = m.into();
            am.role = Set(invitation.role);
            am.update(&*tx).await?
        }
        None => {
            tenant_members::ActiveModel {
                tenant_id: Set(tenant),
                id: Set(Uuid::now_v7()),
                user_id: Set(user.id),
                role: Set(invitation.role),
                seat_type: Set(SeatType::FreeBeta),
                ..Default::default()
            }
            .insert(&*tx)
            .await?
        }
    };
    let mut accepted: invitations::ActiveModel = invitation.into();
    accepted.accepted_at = Set(Some(Utc::now().into()));
    accepted.update(&*tx).await?;
    let meta = serde_json::json!({ "role": role_name(member.role) });
    record_in(&tx, tenant, Some(user.id), "member.join", "tenant_members", member.id, meta).await?;
    set_tenant_setting(&tx, scope.principal().tenant_id).await?;
    Ok(member)
}

/// Change a member's role. Admins and owners may, never above their own role; only owners
/// touch owners, and the last owner stays an owner.
pub async fn update_member_role(scope: &Scope, member_id: Uuid, role: MemberRole) -> Result<tenant_members::Model> {
    let mine = scope.require(MemberRole::Admin, "change roles").await?;
    let member = query::get::<tenant_members::Entity>(scope, "member", member_id).await?;
    if rank(role) > rank(mine) || (member.role == MemberRole::Owner && mine != MemberRole::Owner) {
        return Err(ServiceError::Forbidden("only owners can make or unmake owners".into()));
    }
    if member.role == MemberRole::Owner && role != MemberRole::Owner {
        ensure_another_owner(scope, member_id).await?;
    }
    let model = tenant_members::ActiveModel { role: Set(role), ..Default::default() };
    let updated = query::update(scope, "member", member_id, model).await?;
    let meta = serde_json::json!({ "from": role_name(member.role), "to": role_name(role) });
    record(scope, "member.update_role", "tenant_members", member_id, meta).await?;
    Ok(updated)
}

/// Remove a member: admins and owners may remove others (owners only by owners); anyone may leave.
/// The member's personal spaces go to `transfer_to` (another member), with the files they own
/// there, or are deleted with all they hold; their space memberships and file grants go with the
/// membership (a trigger).
pub async fn remove_member(scope: &Scope, member_id: Uuid, transfer_to: Option<Uuid>) -> Result<tenant_members::Model> {
    let member = query::get::<tenant_members::Entity>(scope, "member", member_id).await?;
    if member.user_id != scope.user_id()? {
        let mine = scope.require(MemberRole::Admin, "remove members").await?;
        if member.role == MemberRole::Owner && mine != MemberRole::Owner {
            return Err(ServiceError::Forbidden("only owners can remove owners".into()));
        }
    }
    if member.role == MemberRole::Owner {
        ensure_another_owner(scope, member_id).await?;
    }
    let spaces = hand_over_spaces(scope, member.user_id, transfer_to, None).await?;
    let removed = query::delete::<tenant_members::Entity>(scope, "member", member_id).await?;
    let meta = serde_json::json!({
        "userId": removed.user_id,
        "spaces": spaces,
        "spacesTo": transfer_to,
    });
    record(scope, "member.remove", "tenant_members", member_id, meta).await?;
    Ok(removed)
}

/// `user`'s personal spaces (or the one `space`) handed to `to`, or deleted when `to` is None; the
/// database checks again that the caller is that user or a tenant owner or admin. How many.
async fn hand_over_spaces(scope: &Scope, user: Uuid, to: Option<Uuid>, space: Option<Uuid>) -> Result<i64> {
    query::scalar(scope, "SELECT atlas_hand_over_spaces($1, $2, $3, $4)", [user.into(), to.into(), space.into()]).await
}

/// Whether the caller reads what `space` holds (README's access table, as row-level security
/// decides it): for change events of rows that are gone, so no longer there to read. A space that
/// no longer exists admits nobody.
pub async fn reads_space(scope: &Scope, space: Uuid) -> Result<bool> {
    query::scalar(
        scope,
        "SELECT EXISTS (SELECT 1 FROM spaces WHERE tenant_id = $1 AND id = $2) AND atlas_space_role($1, $2) IS NOT NULL",
        [space.into()],
    )
    .await
}

/// Give a personal space to another member of the tenant: its owner may, and so may tenant
/// owners and admins (who manage personal spaces without reading them). The files its owner
/// kept there go along.
pub async fn transfer_space(scope: &Scope, space_id: Uuid, to: Uuid) -> Result<entity::spaces::Model> {
    let space = spaces::get(scope, space_id).await?;
    let owner = space.owner_user_id.ok_or_else(|| {
        ServiceError::bad_input("id", "an organisation space has no owner to transfer; change its members")
    })?;
    if owner != scope.user_id()? {
        scope.require(MemberRole::Admin, "transfer another member's space").await?;
    }
    crate::work::ensure_member(scope, "toUserId", to).await?;
    hand_over_spaces(scope, owner, Some(to), Some(space_id)).await?;
    record(scope, "space.transfer", "spaces", space_id, serde_json::json!({ "from": owner, "to": to })).await?;
    crate::events::notify(scope, "spaces", space_id, crate::events::ChangeOp::Updated, None).await?;
    spaces::get(scope, space_id).await
}

/// Delete the caller's account (`user` None) or, by an owner, the account of a member who
/// belongs to no other tenant. Personal spaces go with all they hold; shared content goes to
/// `transfer_to` (a member, only for another's account) or keeps the tombstone author the user
/// row becomes. The account's tokens stop working at once: every request checks.
pub async fn delete_account(scope: &Scope, user: Option<Uuid>, transfer_to: Option<Uuid>) -> Result<Uuid> {
    use sea_orm::ConnectionTrait;
    let me = scope.user_id()?;
    let target = user.unwrap_or(me);
    if target != me {
        scope.require(MemberRole::Owner, "delete a member's account").await?;
    }
    let tx = scope.tx().await?;
    // Raw, not `query::raw`: the account may span tenants, and the function checks the caller.
    tx.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "SELECT atlas_delete_account($1, $2)",
        [target.into(), transfer_to.into()],
    ))
    .await?;
    drop(tx);
    let meta = serde_json::json!({ "userId": target, "contentTo": transfer_to });
    match scope.principal().tenant_id {
        Some(_) => record(scope, "user.delete", "users", target, meta).await?,
        None => {
            let tx = scope.tx().await?;
            crate::governance::record_global(&*tx, Some(me), "user.delete", ("users", target), meta).await?;
        }
    }
    Ok(target)
}

/// Whether an owner other than `except` remains. The tenant's owner rows are locked first
/// (`FOR UPDATE`), so two owners who demote or remove each other at once are serialised: the
/// second waits, then sees the first's change and is refused, and a tenant keeps an owner.
async fn ensure_another_owner(scope: &Scope, except: Uuid) -> Result<()> {
    let owners = query::scoped::<tenant_members::Entity>(scope)?
        .filter(tenant_members::Column::Role.eq(MemberRole::Owner))
        .order_by_asc(tenant_members::Column::Id)
        .lock_exclusive();
    let tx = scope.tx().await?;
    if !owners.all(&*tx).await?.iter().any(|m| m.id != except) {
        return Err(ServiceError::Conflict {
            field: Some("role".into()),
            message: "a tenant needs at least one owner; make someone else owner first".into(),
        });
    }
    Ok(())
}

fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 320
        && e.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(ServiceError::bad_input("email", format!("{email:?} is not an email address")))
    }
}

/// `inv_<tenant>_<secret>`: the tenant part lets acceptance run inside that tenant's scope.
fn new_invitation_token(tenant: Uuid) -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!("inv_{}_{}", tenant.simple(), URL_SAFE_NO_PAD.encode(secret))
}

fn parse_invitation_token(token: &str) -> Result<Uuid> {
    token
        .strip_prefix("inv_")
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(tenant, _)| Uuid::try_parse(tenant).ok())
        .ok_or_else(|| ServiceError::bad_input("token", "this is not an invitation token"))
}

fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

crate::crud! {
    /// Spaces: a person's own (owner set) or the organisation's (no owner); slug unique per owner.
    pub mod spaces for spaces as "space";
    filter SpaceFilter {
        id: crate::filter::UuidFilter => Id,
        owner_user_id: crate::filter::UuidFilter => OwnerUserId,
        slug: crate::filter::StringFilter => Slug,
        name: crate::filter::StringFilter => Name,
        visibility: EnumFilter<entity::sea_orm_active_enums::SpaceVisibility> => Visibility,
    }
    order SpaceOrderField / SpaceOrderBy { Name => Name, CreatedAt => CreatedAt, } default Name Asc;
    create CreateSpaceInput {
        name: String,
        slug: String,
        description: Option<String>,
        #[graphql(default_with = "entity::sea_orm_active_enums::SpaceVisibility::Private")]
        visibility: entity::sea_orm_active_enums::SpaceVisibility,
        /// Your own user id for a personal space; left out for a space of the whole organisation.
        owner_user_id: Option<Uuid>,
    }
    update UpdateSpaceInput {
        name: Option<String>,
        description: async_graphql::MaybeUndefined<String>,
        visibility: Option<entity::sea_orm_active_enums::SpaceVisibility>,
    }
    roles write Member, delete Member;
    events none;
    check create super::check_new_space;
}

crate::crud! {
    /// Members of a space, with their role there.
    pub mod space_members for space_members as "space member";
    filter SpaceMemberFilter {
        space_id: crate::filter::UuidFilter => SpaceId,
        user_id: crate::filter::UuidFilter => UserId,
        role: EnumFilter<entity::sea_orm_active_enums::SpaceRole> => Role,
    }
    order SpaceMemberOrderField / SpaceMemberOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create AddSpaceMemberInput {
        space_id: Uuid,
        user_id: Uuid,
        #[graphql(default_with = "entity::sea_orm_active_enums::SpaceRole::Viewer")]
        role: entity::sea_orm_active_enums::SpaceRole,
    }
    update UpdateSpaceMemberInput {
        role: Option<entity::sea_orm_active_enums::SpaceRole>,
    }
    roles write Member, delete Viewer;
    events parent space_id;
    check create super::check_space_member;
}

async fn check_space_member(scope: &Scope, input: &mut space_members::Create) -> Result<()> {
    crate::work::ensure_member(scope, "userId", input.user_id).await?;
    Ok(())
}

/// A personal space can only be your own.
async fn check_new_space(scope: &Scope, input: &mut spaces::Create) -> Result<()> {
    input.slug = input.slug.trim().to_lowercase();
    if input.owner_user_id.is_some_and(|owner| Some(owner) != scope.principal().user_id) {
        return Err(ServiceError::bad_input("ownerUserId", "a personal space can only be made for yourself"));
    }
    Ok(())
}

/// Refuses a server or worker connection whose role would switch row-level security off: a
/// superuser, a role with BYPASSRLS, or one that owns (or acts as the owner of) Atlas's tables.
/// Such a role is usually `DIRECT_URL`'s owner reused as `DATABASE_URL`; every tenant's rows
/// would then be one forgotten filter away.
pub async fn check_app_role(db: &sea_orm::DatabaseConnection) -> std::result::Result<(), String> {
    use sea_orm::{DbBackend, Statement};
    let row = crate::pool::one(
        db,
        Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass, \
               (SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'public' \
                  AND pg_has_role(current_user, t.tableowner, 'USAGE'))::bigint AS owned \
             FROM pg_roles r WHERE r.rolname = current_user",
        ),
    )
    .await
    .map_err(|e| format!("cannot read the connection's role: {e}"))?
    .ok_or("cannot read the connection's role")?;
    let get = |e: sea_orm::DbErr| format!("cannot read the connection's role: {e}");
    let name: String = row.try_get("", "name").map_err(get)?;
    let superuser: bool = row.try_get("", "superuser").map_err(get)?;
    let bypass: bool = row.try_get("", "bypass").map_err(get)?;
    let owned: i64 = row.try_get("", "owned").map_err(get)?;
    let why = if superuser {
        "is a superuser"
    } else if bypass {
        "has BYPASSRLS"
    } else if owned > 0 {
        "owns Atlas's tables (or is a member of their owner)"
    } else {
        return Ok(());
    };
    Err(format!(
        "the role {name:?} {why}, so row-level security would not apply to it. Connect as a role that \
         owns nothing and cannot bypass row-level security (`atlas migrate` grants it what it needs), \
         and keep the owner for DIRECT_URL"
    ))
}
