//! Work: projects (seeds 003 + 004) and tasks with subtasks (seeds 002 + 004). Reading needs any
//! active role; writing needs `member` or above; deleting a project needs `manager` or above.
use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{MemberRole, TaskPriority, TaskStatus};
use entity::tenant_members;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, QueryFilter, Statement};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{DateTimeFilter, EnumFilter, IntFilter, StringFilter, UuidFilter};
use crate::query;
use crate::scope::Scope;

crate::crud! {
    /// Projects: a product or repository that tasks, records and commits belong to.
    pub mod projects for projects as "project";
    filter ProjectFilter {
        id: UuidFilter => Id,
        name: StringFilter => Name,
        owner_id: UuidFilter => OwnerId,
        github_repo_id: IntFilter => GithubRepoId,
        created_at: DateTimeFilter => CreatedAt,
        updated_at: DateTimeFilter => UpdatedAt,
    }
    order ProjectOrderField / ProjectOrderBy { Name => Name, CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default CreatedAt Asc;
    create CreateProjectInput {
        name: String,
        description: Option<String>,
        /// A member of the tenant; the caller when left out.
        owner_id: Option<Uuid>,
        repository_url: Option<String>,
        github_repo_id: Option<i64>,
        #[graphql(default_with = "String::from(\"main\")")]
        default_branch: String,
    }
    update UpdateProjectInput {
        name: Option<String>,
        description: MaybeUndefined<String>,
        owner_id: MaybeUndefined<Uuid>,
        repository_url: MaybeUndefined<String>,
        github_repo_id: MaybeUndefined<i64>,
        default_branch: Option<String>,
    }
    roles write Member, delete Manager;
    events none;
    check create super::check_new_project;
    check update super::check_project_update;
}

crate::crud! {
    /// Tasks, possibly split into subtasks; deleting a task deletes its subtasks.
    pub mod tasks for tasks as "task";
    filter TaskFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        /// `{ isNull: true }` selects top-level tasks.
        parent_id: UuidFilter => ParentId,
        status: EnumFilter<TaskStatus> => Status,
        priority: EnumFilter<TaskPriority> => Priority,
        title: StringFilter => Title,
        created_by: UuidFilter => CreatedBy,
        created_at: DateTimeFilter => CreatedAt,
        updated_at: DateTimeFilter => UpdatedAt,
    }
    order TaskOrderField / TaskOrderBy {
        CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, Title => Title, Priority => Priority, Status => Status,
    } default CreatedAt Asc;
    create CreateTaskInput {
        title: String,
        description: Option<String>,
        /// The full prompt a user gave (Vibe Coder).
        prompt: Option<String>,
        #[graphql(default_with = "TaskStatus::Pending")]
        status: TaskStatus,
        #[graphql(default_with = "TaskPriority::Medium")]
        priority: TaskPriority,
        /// Left out for a subtask: it takes its parent's project.
        project_id: Option<Uuid>,
        parent_id: Option<Uuid>,
        result: Option<serde_json::Value>,
    }
    update UpdateTaskInput {
        title: Option<String>,
        description: MaybeUndefined<String>,
        prompt: MaybeUndefined<String>,
        status: Option<TaskStatus>,
        priority: Option<TaskPriority>,
        parent_id: MaybeUndefined<Uuid>,
        result: MaybeUndefined<serde_json::Value>,
    }
    roles write Member, delete Member;
    events parent project_id;
    check create super::check_new_task;
    check update super::check_task_update;
}

async fn check_new_project(scope: &Scope, input: &mut projects::Create) -> Result<()> {
    input.name = required_text("name", &input.name, 200)?;
    input.default_branch = required_text("defaultBranch", &input.default_branch, 200)?;
    input.owner_id = Some(match input.owner_id {
        Some(owner) => ensure_member(scope, "ownerId", owner).await?,
        None => scope.user_id()?,
    });
    if let Some(url) = input.repository_url.take() {
        input.repository_url = Some(check_url("repositoryUrl", url)?);
    }
    Ok(())
}

async fn check_project_update(scope: &Scope, _id: Uuid, input: &mut projects::Update) -> Result<()> {
    if let Some(name) = &input.name {
        input.name = Some(required_text("name", name, 200)?);
    }
    if let Some(branch) = &input.default_branch {
        input.default_branch = Some(required_text("defaultBranch", branch, 200)?);
    }
    if let MaybeUndefined::Value(owner) = input.owner_id {
        ensure_member(scope, "ownerId", owner).await?;
    }
    if let MaybeUndefined::Value(url) = &input.repository_url {
        input.repository_url = MaybeUndefined::Value(check_url("repositoryUrl", url.clone())?);
    }
    Ok(())
}

/// A subtask lives in its parent's project.
async fn check_new_task(scope: &Scope, input: &mut tasks::Create) -> Result<()> {
    input.title = required_text("title", &input.title, 500)?;
    if let Some(parent_id) = input.parent_id {
        let parent = query::get::<entity::tasks::Entity>(scope, "task", parent_id)
            .await
            .map_err(|_| ServiceError::bad_input("parentId", format!("no task {parent_id} in this tenant")))?;
        match (input.project_id, parent.project_id) {
            (None, inherited) => input.project_id = inherited,
            (Some(p), Some(pp)) if p != pp => {
                return Err(ServiceError::bad_input("projectId", "a subtask must be in its parent's project"))
            }
            _ => {}
        }
    }
    Ok(())
}

async fn check_task_update(scope: &Scope, id: Uuid, input: &mut tasks::Update) -> Result<()> {
    if let Some(title) = &input.title {
        input.title = Some(required_text("title", title, 500)?);
    }
    if let MaybeUndefined::Value(parent) = input.parent_id {
        ensure_no_cycle(scope, id, parent).await?;
    }
    Ok(())
}

/// A task may not become a descendant of itself.
async fn ensure_no_cycle(scope: &Scope, task: Uuid, new_parent: Uuid) -> Result<()> {
    if task == new_parent {
        return Err(ServiceError::bad_input("parentId", "a task cannot be its own parent"));
    }
    let parent = query::get::<entity::tasks::Entity>(scope, "task", new_parent)
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

/// Trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ServiceError::bad_input(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(ServiceError::bad_input(field, format!("{field} must be at most {max} characters")));
    }
    Ok(v.to_string())
}

pub fn check_url(field: &str, url: String) -> Result<String> {
    let u = url.trim();
    if (u.starts_with("https://") || u.starts_with("http://")) && u.len() > 8 && !u.contains(char::is_whitespace) {
        Ok(u.to_string())
    } else {
        Err(ServiceError::bad_input(field, format!("{field} must be an http(s) URL")))
    }
}

/// The user must be an active member of the tenant in scope.
pub async fn ensure_member(scope: &Scope, field: &str, user: Uuid) -> Result<Uuid> {
    let select = query::scoped::<tenant_members::Entity>(scope)?
        .filter(tenant_members::Column::UserId.eq(user))
        .filter(tenant_members::Column::Role.ne(MemberRole::Pending));
    let tx = scope.tx().await?;
    match select.one(&*tx).await? {
        Some(_) => Ok(user),
        None => Err(ServiceError::bad_input(field, format!("user {user} is not a member of this tenant"))),
    }
}
