//! Ops in GraphQL: integrations (tokens write-only), CRM, ledger and budgets, assets, tickets,
//! publish events, suggestions.
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{
    BudgetPeriod, LedgerCategory, LedgerEntryType, PublishStatus, SuggestionStatus, TicketCategory, TicketSeverity,
    TicketStatus,
};
use service::ops::{
    self, assets, budgets, crm_companies, crm_contacts, crm_segment_members, crm_segments, integrations,
    ledger_entries, publish_events, suggestions, ticket_comments, tickets,
};
use uuid::Uuid;

use super::stats::BudgetSpend;
use super::tenancy::User;
use super::work::Agent;
use super::CtxExt;

object! {
    /// A connection to an outside provider. Its tokens are stored encrypted and never returned.
    Integration from entity::integrations::Model {
        id: Uuid,
        provider: String,
        config: serde_json::Value,
        scopes: Vec<String>,
        expires_at: Option<DateTime<FixedOffset>>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A company in the CRM.
    CrmCompany from entity::crm_companies::Model {
        id: Uuid,
        name: String,
        domain: Option<String>,
        industry: Option<String>,
        notes: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A person in the CRM.
    CrmContact from entity::crm_contacts::Model {
        id: Uuid,
        company_id: Option<Uuid>,
        first_name: Option<String>,
        last_name: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        title: Option<String>,
        notes: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A named group of contacts.
    CrmSegment from entity::crm_segments::Model {
        id: Uuid,
        name: String,
        description: Option<String>,
        criteria: serde_json::Value,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A contact in a segment.
    CrmSegmentMember from entity::crm_segment_members::Model {
        id: Uuid,
        segment_id: Uuid,
        contact_id: Uuid,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// Money in or out, in cents.
    LedgerEntry from entity::ledger_entries::Model {
        id: Uuid,
        entry_type: LedgerEntryType,
        category: LedgerCategory,
        amount_cents: i64,
        currency: String,
        description: Option<String>,
        reference: Option<String>,
        occurred_at: DateTime<FixedOffset>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A spending limit for a category and period.
    Budget from entity::budgets::Model {
        id: Uuid,
        name: String,
        category: LedgerCategory,
        limit_cents: i64,
        currency: String,
        period: BudgetPeriod,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A business asset: a link and its metrics.
    Asset from entity::assets::Model {
        id: Uuid,
        name: String,
        kind: String,
        url: Option<String>,
        metrics: serde_json::Value,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A support ticket.
    Ticket from entity::tickets::Model {
        id: Uuid,
        title: String,
        body: String,
        status: TicketStatus,
        severity: TicketSeverity,
        category: TicketCategory,
        created_by: Option<Uuid>,
        assignee_id: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A comment on a ticket.
    TicketComment from entity::ticket_comments::Model {
        id: Uuid,
        ticket_id: Uuid,
        created_by: Option<Uuid>,
        body: String,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// Content to publish on a channel.
    PublishEvent from entity::publish_events::Model {
        id: Uuid,
        channel: String,
        payload: serde_json::Value,
        status: PublishStatus,
        published_at: Option<DateTime<FixedOffset>>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A suggestion to accept or dismiss, often from an agent.
    Suggestion from entity::suggestions::Model {
        id: Uuid,
        kind: String,
        title: String,
        body: String,
        status: SuggestionStatus,
        source_agent_id: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Integration {}
    /// Whether an access token is stored (it is never returned).
    async fn has_access_token(&self, ctx: &Context<'_>) -> Result<bool> {
        let row = ctx.loaders()?.one::<entity::integrations::Entity>(self.id, service::query::Skip::NONE).await?;
        Ok(row.is_some_and(|r| r.access_token_enc.is_some()))
    }
    /// Whether a refresh token is stored (it is never returned).
    async fn has_refresh_token(&self, ctx: &Context<'_>) -> Result<bool> {
        let row = ctx.loaders()?.one::<entity::integrations::Entity>(self.id, service::query::Skip::NONE).await?;
        Ok(row.is_some_and(|r| r.refresh_token_enc.is_some()))
    }
}

complex! {
    CrmCompany {
        many contacts: CrmContact = entity::crm_contacts::Entity["company_id"] by id;
    }
}

complex! {
    CrmContact {
        many segments: CrmSegmentMember = entity::crm_segment_members::Entity["contact_id"] by id;
        one company: CrmCompany = entity::crm_companies::Entity[company_id];
    }
}

complex! {
    CrmSegment {
        many members: CrmSegmentMember = entity::crm_segment_members::Entity["segment_id"] by id;
    }
}

complex! {
    CrmSegmentMember {
        one segment: CrmSegment = entity::crm_segments::Entity[segment_id];
        one contact: CrmContact = entity::crm_contacts::Entity[contact_id];
    }
}

complex! {
    LedgerEntry {
        one creator: User = entity::users::Entity[created_by];
    }
}

complex! {
    Budget {}
    /// Expenses minus refunds in the budget's category during the current period, in cents.
    async fn spent_cents(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(ctx.loaders()?.batch::<BudgetSpend>(self.id).await?.unwrap_or(0))
    }
    /// What is left of the limit this period (negative when over).
    async fn remaining_cents(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.limit_cents - ctx.loaders()?.batch::<BudgetSpend>(self.id).await?.unwrap_or(0))
    }
}

complex! {
    Asset {}
}

complex! {
    Ticket {
        many comments: TicketComment = entity::ticket_comments::Entity["ticket_id"] by id;
        one reporter: User = entity::users::Entity[created_by];
        one assignee: User = entity::users::Entity[assignee_id];
    }
}

complex! {
    TicketComment {
        one ticket: Ticket = entity::tickets::Entity[ticket_id];
        one author: User = entity::users::Entity[created_by];
    }
}

complex! {
    PublishEvent {}
}

complex! {
    Suggestion {
        one source_agent: Agent = entity::agents::Entity[source_agent_id];
    }
}

crud_fields! {
    integrations => Integration;
    query IntegrationQuery { integration, integrations }
    mutation IntegrationMutation { create_integration, update_integration, delete_integration }
}
crud_fields! {
    crm_companies => CrmCompany;
    query CrmCompanyQuery { crm_company, crm_companies }
    mutation CrmCompanyMutation { create_crm_company, update_crm_company, delete_crm_company }
}
crud_fields! {
    crm_contacts => CrmContact;
    query CrmContactQuery { crm_contact, crm_contacts }
    mutation CrmContactMutation { create_crm_contact, update_crm_contact, delete_crm_contact }
}
crud_fields! {
    crm_segments => CrmSegment;
    query CrmSegmentQuery { crm_segment, crm_segments }
    mutation CrmSegmentMutation { create_crm_segment, update_crm_segment, delete_crm_segment }
}
crud_fields! {
    crm_segment_members => CrmSegmentMember;
    query CrmSegmentMemberQuery { crm_segment_member, crm_segment_members }
    mutation CrmSegmentMemberMutation { add_crm_segment_member, update_crm_segment_member, remove_crm_segment_member }
}
crud_fields! {
    ledger_entries => LedgerEntry;
    query LedgerEntryQuery { ledger_entry, ledger_entries }
    mutation LedgerEntryMutation { create_ledger_entry, update_ledger_entry, delete_ledger_entry }
}
crud_fields! {
    budgets => Budget;
    query BudgetQuery { budget, budgets }
    mutation BudgetMutation { create_budget, update_budget, delete_budget }
}
crud_fields! {
    assets => Asset;
    query AssetQuery { asset, assets }
    mutation AssetMutation { create_asset, update_asset, delete_asset }
}
crud_fields! {
    tickets => Ticket;
    query TicketQuery { ticket, tickets }
    mutation TicketMutation { create_ticket, update_ticket, delete_ticket }
}
crud_fields! {
    ticket_comments => TicketComment;
    query TicketCommentQuery { ticket_comment, ticket_comments }
    mutation TicketCommentMutation { create_ticket_comment, update_ticket_comment, delete_ticket_comment }
}
crud_fields! {
    publish_events => PublishEvent;
    query PublishEventQuery { publish_event, publish_events }
    mutation PublishEventMutation { create_publish_event, update_publish_event, delete_publish_event }
}
crud_fields! {
    suggestions => Suggestion;
    query SuggestionQuery { suggestion, suggestions }
    mutation SuggestionMutation { create_suggestion, update_suggestion, delete_suggestion }
}

#[derive(Default)]
pub struct IntegrationVerbs;

#[Object]
impl IntegrationVerbs {
    /// Store an integration's tokens, encrypted (admins). Null clears a token. They are never returned.
    async fn set_integration_tokens(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        access_token: Option<String>,
        refresh_token: Option<String>,
        expires_at: Option<DateTime<FixedOffset>>,
    ) -> Result<Integration> {
        Ok(ops::set_integration_tokens(ctx.scope()?, id, access_token, refresh_token, expires_at).await?.into())
    }
}

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum SettingScope {
    /// Set for this tenant.
    Tenant,
    /// The default for every tenant.
    Global,
}

/// A setting; a secret's value is never returned (only that it is set).
#[derive(async_graphql::SimpleObject)]
pub struct Setting {
    pub key: String,
    /// Null for secrets.
    pub value: Option<String>,
    pub is_secret: bool,
    pub description: Option<String>,
    pub scope: SettingScope,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<ops::Setting> for Setting {
    fn from(s: ops::Setting) -> Self {
        Setting {
            key: s.key,
            value: s.value,
            is_secret: s.is_secret,
            description: s.description,
            scope: if s.global { SettingScope::Global } else { SettingScope::Tenant },
            updated_at: s.updated_at,
        }
    }
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's settings over the global defaults.
    async fn settings(&self, ctx: &Context<'_>) -> Result<Vec<Setting>> {
        Ok(ops::settings(ctx.scope()?).await?.into_iter().map(Setting::from).collect())
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Set a tenant setting (admins). `secret: true` stores it encrypted; it is never returned.
    async fn set_setting(
        &self,
        ctx: &Context<'_>,
        key: String,
        value: String,
        #[graphql(default)] secret: bool,
        description: Option<String>,
    ) -> Result<Setting> {
        Ok(ops::set_setting(ctx.scope()?, &key, &value, secret, description).await?.into())
    }

    /// Remove the tenant's value (the global default applies again). False when there was none.
    async fn delete_setting(&self, ctx: &Context<'_>, key: String) -> Result<bool> {
        Ok(ops::delete_setting(ctx.scope()?, &key).await?)
    }
}
