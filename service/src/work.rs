//! Work: projects and tasks (with subtasks). Reading needs any active role; writing needs
//! `member` or above; deleting a project needs `manager` or above.
use async_graphql::{InputObject, MaybeUndefined};
use entity::sea_orm_active_enums::{MemberRole, TaskPriority, TaskStatus};
use entity::{projects, tasks, tenant_members};
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, DbBackend, Order, QueryFilter, Set, Statement};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::events::{self, ChangeOp};
use crate::filter::{on, DateTimeFilter, EnumFilter, SortDirection, StringFilter, UuidFilter};
use crate::pagination::{Page, PageArgs};
use crate::query::{self, all_of};
use crate::scope::Scope;

// ---------------------------------------------------------------- projects

#[derive(InputObject, Clone, Debug, Default)]
pub struct ProjectFilter {
    pub id: Option<UuidFilter>,
    pub name: Option<StringFilter>,
    pub owner_id: Option<UuidFilter>,
    pub github_repo_id: Option<i64>,
    pub created_at: Option<DateTimeFilter>,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ProjectOrderField {
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject, Clone, Debug)]
pub struct ProjectOrderBy {
    pub field: ProjectOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateProjectInput {
    pub name: String,
    pub description: Option<String>,
    /// A member of the tenant; the caller when left out.
    pub owner_id: Option<Uuid>,
    pub repository_url: Option<String>,
    pub github_repo_id: Option<i64>,
    pub default_branch: Option<String>,
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateProjectInput {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub owner_id: MaybeUndefined<Uuid>,
    pub repository_url: MaybeUndefined<String>,
    pub github_repo_id: MaybeUndefined<i64>,
    pub default_branch: Option<String>,
}

pub async fn projects(
    scope: &Scope,
    filter: Option<ProjectFilter>,
    order_by: Vec<ProjectOrderBy>,
    args: &PageArgs,
) -> Result<Page<projects::Model>> {
    use projects::Column as C;
    let f = filter.unwrap_or_default();
    let select = query::scoped::<projects::Entity>(scope)?.filter(all_of([
        on(&f.id, C::Id),
        on(&f.name, C::Name),
        on(&f.owner_id, C::OwnerId),
        f.github_repo_id.map(|v| C::GithubRepoId.eq(v).into()),
        on(&f.created_at, C::CreatedAt),
    ]));
    let order = order_columns(
        &order_by,
        |o| {
            let col = match o.field {
                ProjectOrderField::Name => C::Name,
                ProjectOrderField::CreatedAt => C::CreatedAt,
                ProjectOrderField::UpdatedAt => C::UpdatedAt,
            };
            (col, o.direction.into())
        },
        C::CreatedAt,
    );
    query::page(scope, select, &order, args).await
}

pub async fn project(scope: &Scope, id: Uuid) -> Result<projects::Model> {
    query::get::<projects::Entity>(scope, "project", id).await
}

pub async fn create_project(scope: &Scope, input: CreateProjectInput) -> Result<projects::Model> {
    scope.require(MemberRole::Member, "create projects").await?;
    let owner = match input.owner_id {
        Some(owner) => ensure_member(scope, "ownerId", owner).await?,
        None => scope.user_id()?,
    };
    let model = projects::ActiveModel {
        name: Set(required_text("name", &input.name, 200)?),
        description: Set(input.description),
        owner_id: Set(Some(owner)),
        repository_url: Set(input.repository_url.map(|u| check_url("repositoryUrl", u)).transpose()?),
        github_repo_id: Set(input.github_repo_id),
        default_branch: Set(required_text("defaultBranch", input.default_branch.as_deref().unwrap_or("main"), 200)?),
        ..Default::default()
    };
    query::insert(scope, model).await
}

pub async fn update_project(scope: &Scope, id: Uuid, input: UpdateProjectInput) -> Result<projects::Model> {
    scope.require(MemberRole::Member, "update projects").await?;
    let mut model = projects::ActiveModel::default();
    if let Some(name) = input.name {
        model.name = Set(required_text("name", &name, 200)?);
    }
    model.description = maybe(input.description);
    if let MaybeUndefined::Value(owner) = input.owner_id {
        ensure_member(scope, "ownerId", owner).await?;
    }
    model.owner_id = maybe(input.owner_id);
    model.repository_url = maybe(input.repository_url.map_value(|u| check_url("repositoryUrl", u)).transpose()?);
    model.github_repo_id = maybe(input.github_repo_id);
    if let Some(branch) = input.default_branch {
        model.default_branch = Set(required_text("defaultBranch", &branch, 200)?);
    }
    query::update(scope, "project", id, model).await
}

/// Deletes the project and, by cascade, its tasks.
pub async fn delete_project(scope: &Scope, id: Uuid) -> Result<projects::Model> {
    scope.require(MemberRole::Manager, "delete projects").await?;
    query::delete::<projects::Entity>(scope, "project", id).await
}

// ---------------------------------------------------------------- tasks

#[derive(InputObject, Clone, Debug, Default)]
pub struct TaskFilter {
    pub id: Option<UuidFilter>,
    pub project_id: Option<UuidFilter>,
    /// `{ isNull: true }` selects top-level tasks.
    pub parent_id: Option<UuidFilter>,
    pub status: Option<EnumFilter<TaskStatus>>,
    pub priority: Option<EnumFilter<TaskPriority>>,
    pub title: Option<StringFilter>,
    pub created_by: Option<UuidFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub updated_at: Option<DateTimeFilter>,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum TaskOrderField {
    CreatedAt,
    UpdatedAt,
    Title,
    Priority,
    Status,
}

#[derive(InputObject, Clone, Debug)]
pub struct TaskOrderBy {
    pub field: TaskOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateTaskInput {
    pub title: String,
    pub description: Option<String>,
    /// The full prompt a user gave (Vibe Coder).
    pub prompt: Option<String>,
    #[graphql(default_with = "TaskStatus::Pending")]
    pub status: TaskStatus,
    #[graphql(default_with = "TaskPriority::Medium")]
    pub priority: TaskPriority,
    /// Left out for a subtask: it takes its parent's project.
    pub project_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub result: Option<serde_json::Value>,
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateTaskInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub prompt: MaybeUndefined<String>,
    pub status: Option<TaskStatus>,
    pub priority: Option<TaskPriority>,
    pub parent_id: MaybeUndefined<Uuid>,
    pub result: MaybeUndefined<serde_json::Value>,
}

pub async fn tasks(
    scope: &Scope,
    filter: Option<TaskFilter>,
    order_by: Vec<TaskOrderBy>,
    args: &PageArgs,
) -> Result<Page<tasks::Model>> {
    use tasks::Column as C;
    let f = filter.unwrap_or_default();
    let select = query::scoped::<tasks::Entity>(scope)?.filter(all_of([
        on(&f.id, C::Id),
        on(&f.project_id, C::ProjectId),
        on(&f.parent_id, C::ParentId),
        on(&f.status, C::Status),
        on(&f.priority, C::Priority),
        on(&f.title, C::Title),
        on(&f.created_by, C::CreatedBy),
        on(&f.created_at, C::CreatedAt),
        on(&f.updated_at, C::UpdatedAt),
    ]));
    let order = order_columns(
        &order_by,
        |o| {
            let col = match o.field {
                TaskOrderField::CreatedAt => C::CreatedAt,
                TaskOrderField::UpdatedAt => C::UpdatedAt,
                TaskOrderField::Title => C::Title,
                TaskOrderField::Priority => C::Priority,
                TaskOrderField::Status => C::Status,
            };
            (col, o.direction.into())
        },
        C::CreatedAt,
    );
    query::page(scope, select, &order, args).await
}

pub async fn task(scope: &Scope, id: Uuid) -> Result<tasks::Model> {
    query::get::<tasks::Entity>(scope, "task", id).await
}

pub async fn create_task(scope: &Scope, input: CreateTaskInput) -> Result<tasks::Model> {
    scope.require(MemberRole::Member, "create tasks").await?;
    let mut project_id = input.project_id;
    if let Some(parent_id) = input.parent_id {
        let parent = query::get::<tasks::Entity>(scope, "task", parent_id)
            .await
            .map_err(|_| ServiceError::bad_input("parentId", format!("no task {parent_id} in this tenant")))?;
        match (project_id, parent.project_id) {
            (None, inherited) => project_id = inherited,
            (Some(p), Some(pp)) if p != pp => {
                return Err(ServiceError::bad_input("projectId", "a subtask must be in its parent's project"))
            }
            _ => {}
        }
    }
    let model = tasks::ActiveModel {
        title: Set(required_text("title", &input.title, 500)?),
        description: Set(input.description),
        prompt: Set(input.prompt),
        status: Set(input.status),
        priority: Set(input.priority),
        project_id: Set(project_id),
        parent_id: Set(input.parent_id),
        result: Set(input.result),
        created_by: Set(Some(scope.user_id()?)),
        ..Default::default()
    };
    let task = query::insert(scope, model).await?;
    events::notify(scope, "tasks", task.id, ChangeOp::Created, task.project_id).await?;
    Ok(task)
}

pub async fn update_task(scope: &Scope, id: Uuid, input: UpdateTaskInput) -> Result<tasks::Model> {
    scope.require(MemberRole::Member, "update tasks").await?;
    let mut model = tasks::ActiveModel::default();
    if let Some(title) = input.title {
        model.title = Set(required_text("title", &title, 500)?);
    }
    model.description = maybe(input.description);
    model.prompt = maybe(input.prompt);
    if let Some(status) = input.status {
        model.status = Set(status);
    }
    if let Some(priority) = input.priority {
        model.priority = Set(priority);
    }
    if let MaybeUndefined::Value(parent) = input.parent_id {
        ensure_no_cycle(scope, id, parent).await?;
    }
    model.parent_id = maybe(input.parent_id);
    model.result = maybe(input.result);
    let task = query::update(scope, "task", id, model).await?;
    events::notify(scope, "tasks", task.id, ChangeOp::Updated, task.project_id).await?;
    Ok(task)
}

/// Deletes the task and, by cascade, its subtasks.
pub async fn delete_task(scope: &Scope, id: Uuid) -> Result<tasks::Model> {
    scope.require(MemberRole::Member, "delete tasks").await?;
    let task = query::delete::<tasks::Entity>(scope, "task", id).await?;
    events::notify(scope, "tasks", task.id, ChangeOp::Deleted, task.project_id).await?;
    Ok(task)
}

/// A task may not become a descendant of itself.
async fn ensure_no_cycle(scope: &Scope, task: Uuid, new_parent: Uuid) -> Result<()> {
    if task == new_parent {
        return Err(ServiceError::bad_input("parentId", "a task cannot be its own parent"));
    }
    let parent = query::get::<tasks::Entity>(scope, "task", new_parent)
        .await
        .map_err(|_| ServiceError::bad_input("parentId", format!("no task {new_parent} in this tenant")))?;
    // Walk up from the new parent; row-level security keeps the walk inside the tenant.
    let tx = scope.tx().await?;
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH RECURSIVE up(id, parent_id) AS ( \
               SELECT id, parent_id FROM tasks WHERE tenant_id = $1 AND id = $2 \
               UNION SELECT t.id, t.parent_id FROM tasks t JOIN up ON t.tenant_id = $1 AND t.id = up.parent_id) \
             SELECT EXISTS (SELECT 1 FROM up WHERE id = $3) AS cycle",
            [parent.tenant_id.into(), new_parent.into(), task.into()],
        ))
        .await?;
    let cycle = row.map(|r| r.try_get::<bool>("", "cycle")).transpose()?.unwrap_or(false);
    if cycle {
        return Err(ServiceError::bad_input(
            "parentId",
            "that parent is a subtask of this task: it would make a cycle",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// The requested order, or `default` descending by creation when none was given.
fn order_columns<O, C: Copy>(order_by: &[O], map: impl Fn(&O) -> (C, Order), default: C) -> Vec<(C, Order)> {
    if order_by.is_empty() {
        vec![(default, Order::Asc)]
    } else {
        order_by.iter().map(map).collect()
    }
}

/// `MaybeUndefined` (absent / null / value) as an active value (unchanged / NULL / value).
fn maybe<T: Into<sea_orm::Value>>(v: MaybeUndefined<T>) -> ActiveValue<Option<T>>
where
    Option<T>: Into<sea_orm::Value>,
{
    match v {
        MaybeUndefined::Undefined => ActiveValue::NotSet,
        MaybeUndefined::Null => Set(None),
        MaybeUndefined::Value(v) => Set(Some(v)),
    }
}

fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ServiceError::bad_input(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(ServiceError::bad_input(field, format!("{field} must be at most {max} characters")));
    }
    Ok(v.to_string())
}

fn check_url(field: &str, url: String) -> Result<String> {
    let u = url.trim();
    if (u.starts_with("https://") || u.starts_with("http://")) && u.len() > 8 && !u.contains(char::is_whitespace) {
        Ok(u.to_string())
    } else {
        Err(ServiceError::bad_input(field, format!("{field} must be an http(s) URL")))
    }
}

/// The user must be an active member of the tenant in scope.
async fn ensure_member(scope: &Scope, field: &str, user: Uuid) -> Result<Uuid> {
    let select = query::scoped::<tenant_members::Entity>(scope)?
        .filter(tenant_members::Column::UserId.eq(user))
        .filter(tenant_members::Column::Role.ne(MemberRole::Pending));
    let tx = scope.tx().await?;
    match select.one(&*tx).await? {
        Some(_) => Ok(user),
        None => Err(ServiceError::bad_input(field, format!("user {user} is not a member of this tenant"))),
    }
}
