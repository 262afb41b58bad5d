//! Ops (Atlas UX): integrations (tokens encrypted, never returned), CRM, ledger and budgets,
//! assets, tickets and comments, publish events, suggestions.
use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{
    BudgetPeriod, LedgerCategory, LedgerEntryType, PublishStatus, SuggestionStatus, TicketCategory, TicketSeverity,
    TicketStatus,
};
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::error::Result;
use crate::filter::{DateTimeFilter, EnumFilter, IntFilter, StringFilter, UuidFilter};
use crate::scope::Scope;
use crate::{query, secrets};

crate::crud! {
    /// Integrations with outside providers, one per provider. Tokens are set with
    /// `setIntegrationTokens`, stored encrypted and never returned.
    pub mod integrations for integrations as "integration";
    filter IntegrationFilter {
        id: UuidFilter => Id,
        provider: StringFilter => Provider,
        expires_at: DateTimeFilter => ExpiresAt,
    }
    order IntegrationOrderField / IntegrationOrderBy { Provider => Provider, CreatedAt => CreatedAt, } default Provider Asc;
    create CreateIntegrationInput {
        /// Lower-case identifier, e.g. `slack`, `telegram`, `google`.
        provider: String,
        #[graphql(default_with = "serde_json::json!({})")]
        config: serde_json::Value,
        #[graphql(default)]
        scopes: Vec<String>,
    }
    update UpdateIntegrationInput {
        config: Option<serde_json::Value>,
        scopes: Option<Vec<String>>,
    }
    roles write Admin, delete Admin;
    events none;
}

/// Store (or clear, with null) an integration's tokens, encrypted; admins only.
pub async fn set_integration_tokens(
    scope: &Scope,
    id: Uuid,
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_at: Option<DateTimeWithTimeZone>,
) -> Result<entity::integrations::Model> {
    scope.require(entity::sea_orm_active_enums::MemberRole::Admin, "set integration tokens").await?;
    let model = entity::integrations::ActiveModel {
        access_token_enc: Set(access_token.as_deref().map(secrets::encrypt).transpose()?),
        refresh_token_enc: Set(refresh_token.as_deref().map(secrets::encrypt).transpose()?),
        expires_at: Set(expires_at),
        ..Default::default()
    };
    let row = query::update(scope, "integration", id, model).await?;
    crate::governance::record(scope, "integration.set_tokens", "integrations", id, serde_json::json!({})).await?;
    Ok(row)
}

crate::crud! {
    /// CRM companies.
    pub mod crm_companies for crm_companies as "company";
    filter CrmCompanyFilter { id: UuidFilter => Id, name: StringFilter => Name, domain: StringFilter => Domain, industry: StringFilter => Industry, }
    order CrmCompanyOrderField / CrmCompanyOrderBy { Name => Name, CreatedAt => CreatedAt, } default Name Asc;
    create CreateCrmCompanyInput { name: String, domain: Option<String>, industry: Option<String>, notes: Option<String>, }
    update UpdateCrmCompanyInput { name: Option<String>, domain: MaybeUndefined<String>, industry: MaybeUndefined<String>, notes: MaybeUndefined<String>, }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// CRM contacts, optionally at a company.
    pub mod crm_contacts for crm_contacts as "contact";
    filter CrmContactFilter {
        id: UuidFilter => Id, company_id: UuidFilter => CompanyId, email: StringFilter => Email,
        last_name: StringFilter => LastName, first_name: StringFilter => FirstName,
    }
    order CrmContactOrderField / CrmContactOrderBy { LastName => LastName, FirstName => FirstName, CreatedAt => CreatedAt, } default LastName Asc;
    create CreateCrmContactInput {
        company_id: Option<Uuid>, first_name: Option<String>, last_name: Option<String>, email: Option<String>,
        phone: Option<String>, title: Option<String>, notes: Option<String>,
    }
    update UpdateCrmContactInput {
        company_id: MaybeUndefined<Uuid>, first_name: MaybeUndefined<String>, last_name: MaybeUndefined<String>,
        email: MaybeUndefined<String>, phone: MaybeUndefined<String>, title: MaybeUndefined<String>, notes: MaybeUndefined<String>,
    }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// CRM segments: named groups of contacts.
    pub mod crm_segments for crm_segments as "segment";
    filter CrmSegmentFilter { id: UuidFilter => Id, name: StringFilter => Name, }
    order CrmSegmentOrderField / CrmSegmentOrderBy { Name => Name, CreatedAt => CreatedAt, } default Name Asc;
    create CreateCrmSegmentInput {
        name: String,
        description: Option<String>,
        #[graphql(default_with = "serde_json::json!({})")]
        criteria: serde_json::Value,
    }
    update UpdateCrmSegmentInput { name: Option<String>, description: MaybeUndefined<String>, criteria: Option<serde_json::Value>, }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// A contact's membership of a segment.
    pub mod crm_segment_members for crm_segment_members as "segment member";
    filter CrmSegmentMemberFilter { segment_id: UuidFilter => SegmentId, contact_id: UuidFilter => ContactId, }
    order CrmSegmentMemberOrderField / CrmSegmentMemberOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create AddSegmentMemberInput { segment_id: Uuid, contact_id: Uuid, }
    update UpdateSegmentMemberInput { segment_id: Option<Uuid>, }
    roles write Member, delete Member;
    events parent segment_id;
}

crate::crud! {
    /// The ledger: money in and out, in cents.
    pub mod ledger_entries for ledger_entries as "ledger entry";
    filter LedgerEntryFilter {
        id: UuidFilter => Id, entry_type: EnumFilter<LedgerEntryType> => EntryType, category: EnumFilter<LedgerCategory> => Category,
        amount_cents: IntFilter => AmountCents, occurred_at: DateTimeFilter => OccurredAt, reference: StringFilter => Reference,
    }
    order LedgerEntryOrderField / LedgerEntryOrderBy { OccurredAt => OccurredAt, AmountCents => AmountCents, } default OccurredAt Desc;
    create CreateLedgerEntryInput {
        entry_type: LedgerEntryType,
        #[graphql(default_with = "LedgerCategory::Other")]
        category: LedgerCategory,
        amount_cents: i64,
        #[graphql(default_with = "String::from(\"USD\")")]
        currency: String,
        description: Option<String>,
        reference: Option<String>,
        /// Now when left out.
        occurred_at: Option<DateTimeWithTimeZone> => db_default,
    }
    update UpdateLedgerEntryInput {
        category: Option<LedgerCategory>, description: MaybeUndefined<String>, reference: MaybeUndefined<String>,
        occurred_at: Option<DateTimeWithTimeZone>,
    }
    roles write Manager, delete Admin;
    events none;
}

crate::crud! {
    /// Budgets: a spending limit per category and period.
    pub mod budgets for budgets as "budget";
    filter BudgetFilter { id: UuidFilter => Id, name: StringFilter => Name, category: EnumFilter<LedgerCategory> => Category, period: EnumFilter<BudgetPeriod> => Period, }
    order BudgetOrderField / BudgetOrderBy { Name => Name, LimitCents => LimitCents, } default Name Asc;
    create CreateBudgetInput {
        name: String,
        category: LedgerCategory,
        limit_cents: i64,
        #[graphql(default_with = "String::from(\"USD\")")]
        currency: String,
        #[graphql(default_with = "BudgetPeriod::Monthly")]
        period: BudgetPeriod,
    }
    update UpdateBudgetInput { name: Option<String>, limit_cents: Option<i64>, period: Option<BudgetPeriod>, }
    roles write Manager, delete Admin;
    events none;
}

crate::crud! {
    /// Business assets: links with their metrics.
    pub mod assets for assets as "asset";
    filter AssetFilter { id: UuidFilter => Id, name: StringFilter => Name, kind: StringFilter => Kind, }
    order AssetOrderField / AssetOrderBy { Name => Name, CreatedAt => CreatedAt, } default Name Asc;
    create CreateAssetInput {
        name: String,
        #[graphql(default_with = "String::from(\"link\")")]
        kind: String,
        url: Option<String>,
        #[graphql(default_with = "serde_json::json!({})")]
        metrics: serde_json::Value,
    }
    update UpdateAssetInput { name: Option<String>, kind: Option<String>, url: MaybeUndefined<String>, metrics: Option<serde_json::Value>, }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// Support tickets.
    pub mod tickets for tickets as "ticket";
    filter TicketFilter {
        id: UuidFilter => Id, status: EnumFilter<TicketStatus> => Status, severity: EnumFilter<TicketSeverity> => Severity,
        category: EnumFilter<TicketCategory> => Category, assignee_id: UuidFilter => AssigneeId, created_by: UuidFilter => CreatedBy,
        title: StringFilter => Title,
    }
    order TicketOrderField / TicketOrderBy { CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, Severity => Severity, Status => Status, } default CreatedAt Desc;
    create CreateTicketInput {
        title: String,
        #[graphql(default)]
        body: String,
        #[graphql(default_with = "TicketSeverity::Medium")]
        severity: TicketSeverity,
        #[graphql(default_with = "TicketCategory::Other")]
        category: TicketCategory,
        assignee_id: Option<Uuid>,
    }
    update UpdateTicketInput {
        title: Option<String>, body: Option<String>, status: Option<TicketStatus>, severity: Option<TicketSeverity>,
        category: Option<TicketCategory>, assignee_id: MaybeUndefined<Uuid>,
    }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// Comments on a ticket.
    pub mod ticket_comments for ticket_comments as "ticket comment";
    filter TicketCommentFilter { ticket_id: UuidFilter => TicketId, created_by: UuidFilter => CreatedBy, }
    order TicketCommentOrderField / TicketCommentOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create CreateTicketCommentInput { ticket_id: Uuid, body: String, }
    update UpdateTicketCommentInput { body: Option<String>, }
    roles write Member, delete Manager;
    events parent ticket_id;
}

crate::crud! {
    /// Content to publish on a channel, and whether it went out.
    pub mod publish_events for publish_events as "publish event";
    filter PublishEventFilter { id: UuidFilter => Id, channel: StringFilter => Channel, status: EnumFilter<PublishStatus> => Status, created_at: DateTimeFilter => CreatedAt, }
    order PublishEventOrderField / PublishEventOrderBy { CreatedAt => CreatedAt, PublishedAt => PublishedAt, } default CreatedAt Desc;
    create CreatePublishEventInput {
        channel: String,
        #[graphql(default_with = "serde_json::json!({})")]
        payload: serde_json::Value,
    }
    update UpdatePublishEventInput { status: Option<PublishStatus>, published_at: MaybeUndefined<DateTimeWithTimeZone>, payload: Option<serde_json::Value>, }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// Suggestions, often from an agent, to accept or dismiss.
    pub mod suggestions for suggestions as "suggestion";
    filter SuggestionFilter { id: UuidFilter => Id, kind: StringFilter => Kind, status: EnumFilter<SuggestionStatus> => Status, source_agent_id: UuidFilter => SourceAgentId, }
    order SuggestionOrderField / SuggestionOrderBy { CreatedAt => CreatedAt, } default CreatedAt Desc;
    create CreateSuggestionInput {
        #[graphql(default_with = "String::from(\"general\")")]
        kind: String,
        title: String,
        #[graphql(default)]
        body: String,
        source_agent_id: Option<Uuid>,
    }
    update UpdateSuggestionInput { status: Option<SuggestionStatus>, title: Option<String>, body: Option<String>, }
    roles write Member, delete Manager;
    events none;
}

/// A setting as the tenant sees it: its own value, or the global default.
#[derive(Clone, Debug)]
pub struct Setting {
    pub key: String,
    /// None for secrets (and for a setting without a value).
    pub value: Option<String>,
    pub is_secret: bool,
    pub description: Option<String>,
    pub updated_at: chrono::DateTime<chrono::FixedOffset>,
    /// A global default (`global_settings`, written by operators), not the tenant's own value.
    pub global: bool,
}

impl Setting {
    /// A row of either table; a secret's value stays behind.
    fn new(
        key: String,
        value: Option<String>,
        is_secret: bool,
        description: Option<String>,
        updated_at: chrono::DateTime<chrono::FixedOffset>,
        global: bool,
    ) -> Self {
        let value = if is_secret { None } else { value };
        Setting { key, value, is_secret, description, updated_at, global }
    }
}

impl From<entity::system_settings::Model> for Setting {
    fn from(r: entity::system_settings::Model) -> Self {
        Setting::new(r.key, r.value, r.is_secret, r.description, r.updated_at, false)
    }
}

impl From<entity::global_settings::Model> for Setting {
    fn from(r: entity::global_settings::Model) -> Self {
        Setting::new(r.key, r.value, r.is_secret, r.description, r.updated_at, true)
    }
}

/// The tenant's settings merged over the global defaults, by key.
pub async fn settings(scope: &Scope) -> Result<Vec<Setting>> {
    use sea_orm::EntityTrait;
    let select = query::scoped::<entity::system_settings::Entity>(scope)?;
    let tx = scope.tx().await?;
    let own = select.all(&*tx).await?;
    let defaults = entity::global_settings::Entity::find().all(&*tx).await?;
    // By key: the tenant's own value over the default, in key order.
    let mut out: std::collections::BTreeMap<String, Setting> =
        defaults.into_iter().map(|r| (r.key.clone(), Setting::from(r))).collect();
    for row in own {
        out.insert(row.key.clone(), Setting::from(row));
    }
    Ok(out.into_values().collect())
}

/// Set a tenant setting (admins). A secret is encrypted and can be read back only by the server.
pub async fn set_setting(
    scope: &Scope,
    key: &str,
    value: &str,
    secret: bool,
    description: Option<String>,
) -> Result<Setting> {
    use entity::system_settings::{ActiveModel, Column as C, Entity as E};
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    scope.require(entity::sea_orm_active_enums::MemberRole::Admin, "change settings").await?;
    let tenant = scope.tenant_id()?;
    let key = key.trim().to_lowercase();
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        key: Set(key.clone()),
        value: Set(if secret { None } else { Some(value.to_string()) }),
        secret_value: Set(if secret { Some(secrets::encrypt(value)?) } else { None }),
        is_secret: Set(secret),
        description: Set(description),
        updated_by: Set(Some(scope.user_id()?)),
        ..Default::default()
    };
    let tx = scope.tx().await?;
    E::insert(row)
        .on_conflict(
            OnConflict::columns([C::TenantId, C::Key])
                .update_columns([C::Value, C::SecretValue, C::IsSecret, C::Description, C::UpdatedBy])
                .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
    let saved = E::find().filter(C::TenantId.eq(tenant)).filter(C::Key.eq(key.clone())).one(&*tx).await?;
    drop(tx);
    let saved = saved.ok_or_else(|| crate::ServiceError::internal("a saved setting vanished"))?;
    crate::governance::record(
        scope,
        "setting.set",
        "system_settings",
        saved.id,
        serde_json::json!({ "key": key, "secret": secret }),
    )
    .await?;
    Ok(Setting::from(saved))
}

/// Remove the tenant's value of a setting (the global default, if any, applies again).
pub async fn delete_setting(scope: &Scope, key: &str) -> Result<bool> {
    use entity::system_settings::{Column as C, Entity as E};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    scope.require(entity::sea_orm_active_enums::MemberRole::Admin, "change settings").await?;
    let tenant = scope.tenant_id()?;
    let tx = scope.tx().await?;
    let deleted =
        E::delete_many().filter(C::TenantId.eq(tenant)).filter(C::Key.eq(key)).exec_with_returning(&*tx).await?;
    drop(tx);
    for row in &deleted {
        crate::governance::record(
            scope,
            "setting.delete",
            "system_settings",
            row.id,
            serde_json::json!({ "key": key }),
        )
        .await?;
    }
    Ok(!deleted.is_empty())
}
