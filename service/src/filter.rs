//! Typed filter and ordering inputs shared by every connection. Defined once here, as the
//! service API's own argument types, and exposed to GraphQL as they are.
use async_graphql::{Enum, InputObject, InputType};
use chrono::{DateTime, Utc};
use entity::sea_orm_active_enums::*;
use sea_orm::{
    sea_query::{extension::postgres::PgExpr, Expr, IntoCondition},
    ColumnTrait, Condition, Order, Value,
};
use uuid::Uuid;

use crate::query::ColumnFilter;

#[derive(InputObject, Clone, Debug, Default)]
pub struct UuidFilter {
    pub eq: Option<Uuid>,
    pub ne: Option<Uuid>,
    #[graphql(name = "in")]
    pub in_list: Option<Vec<Uuid>>,
    pub is_null: Option<bool>,
}

impl ColumnFilter for UuidFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = self.eq {
            c = c.add(col.eq(v));
        }
        if let Some(v) = self.ne {
            c = c.add(col.ne(v));
        }
        if let Some(v) = &self.in_list {
            c = c.add(col.is_in(v.iter().copied()));
        }
        c.add_option(is_null(col, self.is_null))
    }
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
    pub ne: Option<String>,
    #[graphql(name = "in")]
    pub in_list: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    /// Case-insensitive prefix match.
    pub starts_with: Option<String>,
    pub is_null: Option<bool>,
}

impl ColumnFilter for StringFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = &self.eq {
            c = c.add(col.eq(v.clone()));
        }
        if let Some(v) = &self.ne {
            c = c.add(col.ne(v.clone()));
        }
        if let Some(v) = &self.in_list {
            c = c.add(col.is_in(v.iter().cloned()));
        }
        if let Some(v) = &self.contains {
            c = c.add(Expr::col(col).ilike(format!("%{}%", escape_like(v))));
        }
        if let Some(v) = &self.starts_with {
            c = c.add(Expr::col(col).ilike(format!("{}%", escape_like(v))));
        }
        c.add_option(is_null(col, self.is_null))
    }
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct DateTimeFilter {
    pub eq: Option<DateTime<Utc>>,
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
    pub is_null: Option<bool>,
}

impl ColumnFilter for DateTimeFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        Condition::all()
            .add_option(self.eq.map(|v| col.eq(v)))
            .add_option(self.gt.map(|v| col.gt(v)))
            .add_option(self.gte.map(|v| col.gte(v)))
            .add_option(self.lt.map(|v| col.lt(v)))
            .add_option(self.lte.map(|v| col.lte(v)))
            .add_option(is_null(col, self.is_null))
    }
}

/// Filter on a database enum column; one GraphQL input per enum, named `<Enum>Filter`.
#[derive(InputObject, Clone, Debug)]
#[graphql(concrete(name = "AgentTypeFilter", params(AgentType)))]
#[graphql(concrete(name = "AnalyticsStatusFilter", params(AnalyticsStatus)))]
#[graphql(concrete(name = "ApprovalDecisionFilter", params(ApprovalDecision)))]
#[graphql(concrete(name = "AuditActorTypeFilter", params(AuditActorType)))]
#[graphql(concrete(name = "AuditLevelFilter", params(AuditLevel)))]
#[graphql(concrete(name = "BudgetPeriodFilter", params(BudgetPeriod)))]
#[graphql(concrete(name = "ChatStreamStatusFilter", params(ChatStreamStatus)))]
#[graphql(concrete(name = "ExecutionStatusFilter", params(ExecutionStatus)))]
#[graphql(concrete(name = "FilePermissionFilter", params(FilePermission)))]
#[graphql(concrete(name = "FileVisibilityFilter", params(FileVisibility)))]
#[graphql(concrete(name = "IngestStatusFilter", params(IngestStatus)))]
#[graphql(concrete(name = "IntentStatusFilter", params(IntentStatus)))]
#[graphql(concrete(name = "JobStatusFilter", params(JobStatus)))]
#[graphql(concrete(name = "KbStatusFilter", params(KbStatus)))]
#[graphql(concrete(name = "LedgerCategoryFilter", params(LedgerCategory)))]
#[graphql(concrete(name = "LedgerEntryTypeFilter", params(LedgerEntryType)))]
#[graphql(concrete(name = "MemberRoleFilter", params(MemberRole)))]
#[graphql(concrete(name = "MemoStatusFilter", params(MemoStatus)))]
#[graphql(concrete(name = "MessageRoleFilter", params(MessageRole)))]
#[graphql(concrete(name = "PublishStatusFilter", params(PublishStatus)))]
#[graphql(concrete(name = "RecordCategoryFilter", params(RecordCategory)))]
#[graphql(concrete(name = "RecordTypeFilter", params(RecordType)))]
#[graphql(concrete(name = "ReviewStatusFilter", params(ReviewStatus)))]
#[graphql(concrete(name = "SeatTypeFilter", params(SeatType)))]
#[graphql(concrete(name = "SpaceRoleFilter", params(SpaceRole)))]
#[graphql(concrete(name = "SpaceVisibilityFilter", params(SpaceVisibility)))]
#[graphql(concrete(name = "SuggestionStatusFilter", params(SuggestionStatus)))]
#[graphql(concrete(name = "TaskPriorityFilter", params(TaskPriority)))]
#[graphql(concrete(name = "TaskStatusFilter", params(TaskStatus)))]
#[graphql(concrete(name = "TenantKindFilter", params(TenantKind)))]
#[graphql(concrete(name = "TicketCategoryFilter", params(TicketCategory)))]
#[graphql(concrete(name = "TicketSeverityFilter", params(TicketSeverity)))]
#[graphql(concrete(name = "TicketStatusFilter", params(TicketStatus)))]
#[graphql(concrete(name = "WorkflowStatusFilter", params(WorkflowStatus)))]
pub struct EnumFilter<T: InputType> {
    pub eq: Option<T>,
    pub ne: Option<T>,
    #[graphql(name = "in")]
    pub in_list: Option<Vec<T>>,
}

impl<T: InputType + Into<Value> + Clone> ColumnFilter for EnumFilter<T> {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = &self.eq {
            c = c.add(col.eq(v.clone()));
        }
        if let Some(v) = &self.ne {
            c = c.add(col.ne(v.clone()));
        }
        if let Some(v) = &self.in_list {
            c = c.add(col.is_in(v.iter().cloned()));
        }
        c
    }
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

impl From<SortDirection> for Order {
    fn from(d: SortDirection) -> Self {
        match d {
            SortDirection::Asc => Order::Asc,
            SortDirection::Desc => Order::Desc,
        }
    }
}

/// Apply an optional column filter: `f.map(|f| f.condition(col))` without the noise.
pub fn on<F: ColumnFilter, C: ColumnTrait>(filter: &Option<F>, col: C) -> Option<Condition> {
    filter.as_ref().map(|f| f.condition(col))
}

fn is_null<C: ColumnTrait>(col: C, flag: Option<bool>) -> Option<Condition> {
    flag.map(|null| if null { col.is_null().into_condition() } else { col.is_not_null().into_condition() })
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct BoolFilter {
    pub eq: Option<bool>,
    pub is_null: Option<bool>,
}

impl ColumnFilter for BoolFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        Condition::all().add_option(self.eq.map(|v| col.eq(v))).add_option(is_null(col, self.is_null))
    }
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct IntFilter {
    pub eq: Option<i64>,
    pub ne: Option<i64>,
    #[graphql(name = "in")]
    pub in_list: Option<Vec<i64>>,
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
    pub is_null: Option<bool>,
}

impl ColumnFilter for IntFilter {
    fn condition<C: ColumnTrait>(&self, col: C) -> Condition {
        Condition::all()
            .add_option(self.eq.map(|v| col.eq(v)))
            .add_option(self.ne.map(|v| col.ne(v)))
            .add_option(self.in_list.as_ref().map(|v| col.is_in(v.iter().copied())))
            .add_option(self.gt.map(|v| col.gt(v)))
            .add_option(self.gte.map(|v| col.gte(v)))
            .add_option(self.lt.map(|v| col.lt(v)))
            .add_option(self.lte.map(|v| col.lte(v)))
            .add_option(is_null(col, self.is_null))
    }
}
