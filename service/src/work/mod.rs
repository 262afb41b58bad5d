//! Work: projects (seeds 003 + 004), tasks with subtasks (seeds 002 + 004), agents, executions,
//! streamed task output, the job queue's rows and workflows. Reading needs any active role;
//! each entity names the role its writes need.
pub mod execution;

use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{
    AgentType, ExecutionStatus, JobStatus, MemberRole, TaskPriority, TaskStatus, WorkflowStatus,
};
use entity::tenant_members;
use sea_orm::prelude::{DateTimeWithTimeZone, Decimal};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{BoolFilter, DateTimeFilter, EnumFilter, IntFilter, StringFilter, UuidFilter};
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
        /// The project's guidelines (a stored file, e.g. a PDF); `uploadProjectGuidelines` uploads and links one.
        guidelines_file_id: Option<Uuid>,
    }
    update UpdateProjectInput {
        name: Option<String>,
        description: MaybeUndefined<String>,
        owner_id: MaybeUndefined<Uuid>,
        repository_url: MaybeUndefined<String>,
        github_repo_id: MaybeUndefined<i64>,
        default_branch: Option<String>,
        guidelines_file_id: MaybeUndefined<Uuid>,
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
        /// The space a task of seed 002 lives in; project tasks have none.
        space_id: UuidFilter => SpaceId,
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
        /// A task in a space (seed 002) is seen by those the space admits; left out for a subtask,
        /// it takes its parent's space.
        space_id: Option<Uuid>,
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
    events parent project_id space space_id;
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

/// A subtask lives in its parent's project and space.
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
        // A different space is refused by the database (`tasks_parent_same_space`).
        if input.space_id.is_none() {
            input.space_id = parent.space_id;
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
    query::get::<entity::tasks::Entity>(scope, "task", new_parent)
        .await
        .map_err(|_| ServiceError::bad_input("parentId", format!("no task {new_parent} in this tenant")))?;
    // Walk up from the new parent; row-level security keeps the walk inside the tenant.
    let cycle: bool = query::scalar(
        scope,
        "WITH RECURSIVE up(id, parent_id) AS ( \
               SELECT id, parent_id FROM tasks WHERE tenant_id = $1 AND id = $2 \
               UNION SELECT t.id, t.parent_id FROM tasks t JOIN up ON t.tenant_id = $1 AND t.id = up.parent_id) \
         SELECT EXISTS (SELECT 1 FROM up WHERE id = $3)",
        [new_parent.into(), task.into()],
    )
    .await?;
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

crate::crud! {
    /// Agents: AI workers with a role, a model and capabilities, in an org chart (`reportsTo`).
    pub mod agents for agents as "agent";
    filter AgentFilter {
        id: UuidFilter => Id,
        name: StringFilter => Name,
        agent_type: EnumFilter<AgentType> => AgentType,
        reports_to: UuidFilter => ReportsTo,
        enabled: BoolFilter => Enabled,
        provider: StringFilter => Provider,
        created_at: DateTimeFilter => CreatedAt,
    }
    order AgentOrderField / AgentOrderBy { Name => Name, CreatedAt => CreatedAt, } default Name Asc;
    create CreateAgentInput {
        name: String,
        role: Option<String>,
        email: Option<String>,
        reports_to: Option<Uuid>,
        personality: Option<String>,
        #[graphql(default_with = "AgentType::General")]
        agent_type: AgentType,
        #[graphql(default)]
        capabilities: Vec<String>,
        model: Option<String>,
        provider: Option<String>,
        system_prompt: Option<String>,
        #[graphql(default = true)]
        enabled: bool,
    }
    update UpdateAgentInput {
        name: Option<String>,
        role: MaybeUndefined<String>,
        email: MaybeUndefined<String>,
        reports_to: MaybeUndefined<Uuid>,
        personality: MaybeUndefined<String>,
        agent_type: Option<AgentType>,
        capabilities: Option<Vec<String>>,
        model: MaybeUndefined<String>,
        provider: MaybeUndefined<String>,
        system_prompt: MaybeUndefined<String>,
        enabled: Option<bool>,
    }
    roles write Manager, delete Admin;
    events none;
}

crate::crud! {
    /// Executions: an agent's run of a task, with tokens, cost and duration.
    pub mod executions for executions as "execution";
    filter ExecutionFilter {
        id: UuidFilter => Id,
        task_id: UuidFilter => TaskId,
        agent_id: UuidFilter => AgentId,
        user_id: UuidFilter => UserId,
        status: EnumFilter<ExecutionStatus> => Status,
        created_at: DateTimeFilter => CreatedAt,
    }
    order ExecutionOrderField / ExecutionOrderBy {
        CreatedAt => CreatedAt, StartedAt => StartedAt, CompletedAt => CompletedAt, TokensUsed => TokensUsed, CostUsd => CostUsd,
    } default CreatedAt Asc;
    create CreateExecutionInput {
        task_id: Uuid,
        agent_id: Option<Uuid>,
        #[graphql(default_with = "ExecutionStatus::Pending")]
        status: ExecutionStatus,
        input: Option<serde_json::Value>,
    }
    update UpdateExecutionInput {
        status: Option<ExecutionStatus>,
        output: MaybeUndefined<serde_json::Value>,
        error: MaybeUndefined<String>,
        tokens_used: Option<i64>,
        cost_usd: Option<Decimal>,
        duration_ms: MaybeUndefined<i64>,
        started_at: MaybeUndefined<DateTimeWithTimeZone>,
        completed_at: MaybeUndefined<DateTimeWithTimeZone>,
    }
    roles write Member, delete Manager;
    events parent task_id;
    stamp super::stamp_execution;
}

crate::crud! {
    /// A task's streamed output, in order; `seq` is assigned on append.
    pub mod task_output for task_output as "task output";
    filter TaskOutputFilter {
        task_id: UuidFilter => TaskId,
        seq: IntFilter => Seq,
        stream: StringFilter => Stream,
    }
    order TaskOutputOrderField / TaskOutputOrderBy { Seq => Seq, } default Seq Asc;
    create AppendTaskOutputInput {
        task_id: Uuid,
        #[graphql(default_with = "String::from(\"stdout\")")]
        stream: String,
        content: String,
    }
    update UpdateTaskOutputInput {
        content: Option<String>,
    }
    roles write Member, delete Manager;
    events parent task_id;
}

crate::crud! {
    /// The job queue (seeds 000/001): workers claim queued jobs by priority, then run time.
    pub mod jobs for jobs as "job";
    filter JobFilter {
        id: UuidFilter => Id,
        job_type: StringFilter => JobType,
        status: EnumFilter<JobStatus> => Status,
        priority: IntFilter => Priority,
        scheduled_at: DateTimeFilter => ScheduledAt,
        created_at: DateTimeFilter => CreatedAt,
    }
    order JobOrderField / JobOrderBy {
        CreatedAt => CreatedAt, ScheduledAt => ScheduledAt, Priority => Priority, Status => Status,
    } default CreatedAt Asc;
    create CreateJobInput {
        /// Upper-case with underscores, e.g. `EMAIL_SEND`, `INGEST_CSV`.
        job_type: String,
        #[graphql(default)]
        priority: i32,
        #[graphql(default_with = "serde_json::json!({})")]
        input: serde_json::Value,
        #[graphql(default = 3)]
        max_retries: i32,
        /// Run no earlier than this; now when left out.
        scheduled_at: Option<DateTimeWithTimeZone> => db_default,
    }
    update UpdateJobInput {
        priority: Option<i32>,
        max_retries: Option<i32>,
        scheduled_at: Option<DateTimeWithTimeZone>,
    }
    roles write Member, delete Manager;
    events none;
    check update super::check_job_update;
}

crate::crud! {
    /// One attempt at a job, kept whatever its outcome.
    pub mod job_results for job_results as "job result";
    filter JobResultFilter {
        job_id: UuidFilter => JobId,
        status: EnumFilter<JobStatus> => Status,
        created_at: DateTimeFilter => CreatedAt,
    }
    order JobResultOrderField / JobResultOrderBy { Attempt => Attempt, CreatedAt => CreatedAt, } default Attempt Asc;
    create CreateJobResultInput {
        job_id: Uuid,
        attempt: i32,
        status: JobStatus,
        output: Option<serde_json::Value>,
        error: Option<serde_json::Value>,
        worker: Option<String>,
        started_at: Option<DateTimeWithTimeZone>,
        finished_at: Option<DateTimeWithTimeZone>,
        duration_ms: Option<i64>,
    }
    update UpdateJobResultInput {
        status: Option<JobStatus>,
        output: MaybeUndefined<serde_json::Value>,
        error: MaybeUndefined<serde_json::Value>,
        finished_at: MaybeUndefined<DateTimeWithTimeZone>,
        duration_ms: MaybeUndefined<i64>,
    }
    roles write Manager, delete Admin;
    events none;
}

crate::crud! {
    /// Workflows: named definitions of multi-step work.
    pub mod workflows for workflows as "workflow";
    filter WorkflowFilter {
        id: UuidFilter => Id,
        name: StringFilter => Name,
        status: EnumFilter<WorkflowStatus> => Status,
        created_at: DateTimeFilter => CreatedAt,
    }
    order WorkflowOrderField / WorkflowOrderBy { Name => Name, CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default Name Asc;
    create CreateWorkflowInput {
        name: String,
        description: Option<String>,
        #[graphql(default_with = "serde_json::json!({})")]
        definition: serde_json::Value,
        #[graphql(default_with = "WorkflowStatus::Draft")]
        status: WorkflowStatus,
    }
    update UpdateWorkflowInput {
        name: Option<String>,
        description: MaybeUndefined<String>,
        definition: Option<serde_json::Value>,
        status: Option<WorkflowStatus>,
    }
    roles write Manager, delete Admin;
    events none;
}

/// A job keeps its priority and retries within the queue's ranges, whoever changes it.
async fn check_job_update(_scope: &Scope, _id: Uuid, input: &mut jobs::UpdateJobInput) -> Result<()> {
    if let Some(p) = input.priority {
        crate::queue::check_priority(p)?;
    }
    if let Some(r) = input.max_retries {
        crate::queue::check_retries(r)?;
    }
    Ok(())
}

/// An execution is started by the caller.
async fn stamp_execution(scope: &Scope, model: &mut entity::executions::ActiveModel) -> Result<()> {
    model.user_id = sea_orm::ActiveValue::Set(Some(scope.user_id()?));
    Ok(())
}

/// A task's output chunks from `from_seq` on, in order (for replay before streaming).
pub async fn task_output_since(scope: &Scope, task_id: Uuid, from_seq: i64) -> Result<Vec<entity::task_output::Model>> {
    use entity::task_output::{Column as C, Entity as E};
    use sea_orm::QueryOrder;
    tasks::get(scope, task_id).await?;
    let select =
        query::scoped::<E>(scope)?.filter(C::TaskId.eq(task_id)).filter(C::Seq.gte(from_seq)).order_by_asc(C::Seq);
    let tx = scope.tx().await?;
    Ok(select.all(&*tx).await?)
}
