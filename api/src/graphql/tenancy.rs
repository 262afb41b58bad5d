//! Tenancy in GraphQL: the caller, tenants, members, invitations, spaces and their members.
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{MemberRole, SeatType, SpaceRole, SpaceVisibility, TenantKind};
use entity::{invitations, tenant_members, tenants, users};
use service::tenancy::{
    self, space_members, spaces, CreateTenantInput, InviteMemberInput, MemberFilter, MemberOrderBy,
};
use uuid::Uuid;

use super::connection::{connection, page_args, Conn};
use super::CtxExt;

object! {
    /// A person. You see yourself and the members of the tenant you are in.
    User from users::Model {
        id: Uuid,
        email: String,
        name: Option<String>,
        github_id: Option<String>,
        avatar_url: Option<String>,
        must_reset_password: bool,
        created_at: DateTime<FixedOffset>,
    }
}

complex! {
    User {}
}

pub struct Tenant(pub tenants::Model);

/// An organisation or a person's own workspace: every row of Atlas belongs to one.
#[Object]
impl Tenant {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> TenantKind {
        self.0.kind
    }
    async fn seat_plan(&self) -> SeatType {
        self.0.seat_plan
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.0.updated_at
    }
}

pub struct Member(pub tenant_members::Model);

/// A user's membership of the tenant, with their role and seat.
#[Object]
impl Member {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn user_id(&self) -> Uuid {
        self.0.user_id
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        super::one::<users::Entity, _>(ctx, Some(self.0.user_id)).await
    }
    async fn role(&self) -> MemberRole {
        self.0.role
    }
    async fn seat_type(&self) -> SeatType {
        self.0.seat_type
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }
}

pub struct Invitation(pub invitations::Model);

/// An invitation to join the tenant. The token is shown once, when the invitation is made.
#[Object]
impl Invitation {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> MemberRole {
        self.0.role
    }
    async fn expires_at(&self) -> DateTime<FixedOffset> {
        self.0.expires_at
    }
    async fn accepted_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.accepted_at
    }
    async fn invited_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        super::one::<users::Entity, _>(ctx, Some(self.0.invited_by)).await
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct TenantMembership {
    pub tenant: Tenant,
    pub role: MemberRole,
}

#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    pub invitation: Invitation,
    /// Send this to the invitee: it is not stored and cannot be shown again.
    pub token: String,
}

#[derive(Default)]
pub struct TenancyQuery;

#[Object]
impl TenancyQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User::from(tenancy::me(ctx.scope()?).await?))
    }

    /// The tenant chosen by `X-Tenant-Id` (or the token's `tenant_id` claim).
    async fn tenant(&self, ctx: &Context<'_>) -> Result<Tenant> {
        Ok(Tenant(tenancy::current_tenant(ctx.scope()?).await?))
    }

    /// Every tenant you belong to, with your role there.
    async fn my_tenants(&self, ctx: &Context<'_>) -> Result<Vec<TenantMembership>> {
        let rows = tenancy::my_tenants(ctx.scope()?).await?;
        Ok(rows.into_iter().map(|(t, role)| TenantMembership { tenant: Tenant(t), role }).collect())
    }

    /// The members of the tenant.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<MemberFilter>,
        order_by: Option<Vec<MemberOrderBy>>,
    ) -> Result<Conn<Member>> {
        let args = page_args(ctx, first, after, last, before);
        let page = tenancy::members(ctx.scope()?, filter, order_by.unwrap_or_default(), &args).await?;
        Ok(connection(page, Member))
    }
}

#[derive(Default)]
pub struct TenancyMutation;

#[Object]
impl TenancyMutation {
    /// Create a tenant; you become its owner. Choose it with `X-Tenant-Id` afterwards.
    async fn create_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> Result<Tenant> {
        Ok(Tenant(tenancy::create_tenant(ctx.scope()?, input).await?))
    }

    /// Invite someone by email (admins and owners).
    async fn invite_member(&self, ctx: &Context<'_>, input: InviteMemberInput) -> Result<InviteMemberPayload> {
        let (invitation, token) = tenancy::invite_member(ctx.scope()?, input).await?;
        Ok(InviteMemberPayload { invitation: Invitation(invitation), token })
    }

    /// Join the tenant an invitation token is for; the invitation must be to your email.
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> Result<Member> {
        Ok(Member(tenancy::accept_invitation(ctx.scope()?, &token).await?))
    }

    /// Change a member's role (admins and owners; never above your own role).
    async fn update_member_role(&self, ctx: &Context<'_>, id: Uuid, role: MemberRole) -> Result<Member> {
        Ok(Member(tenancy::update_member_role(ctx.scope()?, id, role).await?))
    }

    /// Remove a member (admins and owners), or leave the tenant (your own membership). Their
    /// space memberships and file grants go; their personal spaces go to `transferTo` (another
    /// member), with the files they own there, or are deleted with all they hold.
    async fn remove_member(&self, ctx: &Context<'_>, id: Uuid, transfer_to: Option<Uuid>) -> Result<Member> {
        Ok(Member(tenancy::remove_member(ctx.scope()?, id, transfer_to).await?))
    }

    /// Give a personal space to another member: its owner may, and tenant owners and admins.
    async fn transfer_space(&self, ctx: &Context<'_>, id: Uuid, to_user_id: Uuid) -> Result<Space> {
        Ok(tenancy::transfer_space(ctx.scope()?, id, to_user_id).await?.into())
    }

    /// Delete your account: your personal spaces go with all they hold, in every tenant; what
    /// you wrote in shared spaces stays under a "Deleted user" author; your tokens stop working
    /// at once. Refused while you are the last owner of a tenant with other members.
    async fn delete_my_account(&self, ctx: &Context<'_>) -> Result<Uuid> {
        Ok(tenancy::delete_account(ctx.scope()?, None, None).await?)
    }

    /// Delete a member's account (owners), when they belong to no other tenant: as
    /// `deleteMyAccount`, and what they own or wrote here goes to `transferTo` when given.
    async fn delete_user(&self, ctx: &Context<'_>, id: Uuid, transfer_to: Option<Uuid>) -> Result<Uuid> {
        Ok(tenancy::delete_account(ctx.scope()?, Some(id), transfer_to).await?)
    }
}

object! {
    /// A space: a person's own (owner set) or the whole organisation's (no owner).
    Space from entity::spaces::Model {
        id: Uuid,
        owner_user_id: Option<Uuid>,
        name: String,
        slug: String,
        description: Option<String>,
        visibility: SpaceVisibility,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A member of a space, with their role there.
    SpaceMember from entity::space_members::Model {
        id: Uuid,
        space_id: Uuid,
        user_id: Uuid,
        role: SpaceRole,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Space {
        many members: SpaceMember = entity::space_members::Entity["space_id"] by id;
        many notes: super::knowledge::Note = entity::notes::Entity["space_id"] by id;
        many folders: super::files::Folder = entity::folders::Entity["space_id"] by id;
        many chats: super::chat::Chat = entity::chats::Entity["space_id"] by id;
        many tasks: super::work::Task = entity::tasks::Entity["space_id"] by id;
        many files: super::files::File = entity::files::Entity["space_id"] by id;
        one owner: User = users::Entity[owner_user_id];
    }
    /// Personal spaces have an owner; organisation spaces do not.
    async fn personal(&self) -> bool {
        self.owner_user_id.is_some()
    }
}

complex! {
    SpaceMember {
        one space: Space = entity::spaces::Entity[space_id];
        one user: User = users::Entity[user_id];
    }
}

crud_fields! {
    spaces => Space;
    query SpaceQuery { space, spaces }
    mutation SpaceMutation { create_space, update_space, delete_space }
}

crud_fields! {
    space_members => SpaceMember;
    query SpaceMemberQuery { space_member, space_members }
    mutation SpaceMemberMutation { add_space_member, update_space_member, remove_space_member }
}
