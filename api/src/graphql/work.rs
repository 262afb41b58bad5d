//! Work in GraphQL: projects and tasks, their relations, and live task changes.
use async_graphql::{Context, Json, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{TaskPriority, TaskStatus};
use entity::{projects, tasks, users};
use futures_util::{Stream, StreamExt};
use service::events::ChangeOp;
use service::work::{
    self, CreateProjectInput, CreateTaskInput, ProjectFilter, ProjectOrderBy, TaskFilter, TaskOrderBy,
    UpdateProjectInput, UpdateTaskInput,
};
use service::Page;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::connection::{connection, page_args, Conn};
use super::tenancy::User;
use super::CtxExt;
use crate::events::EventHub;

pub struct Project(pub projects::Model);

/// A project: a product or repository that tasks, records and commits belong to.
#[Object]
impl Project {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn owner_id(&self) -> Option<Uuid> {
        self.0.owner_id
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.owner_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.one::<users::Entity>(id).await?.map(User))
    }
    async fn repository_url(&self) -> Option<&str> {
        self.0.repository_url.as_deref()
    }
    async fn github_repo_id(&self) -> Option<i64> {
        self.0.github_repo_id
    }
    async fn default_branch(&self) -> &str {
        &self.0.default_branch
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.0.updated_at
    }
    /// The project's tasks, oldest first (all levels; filter `parentId: { isNull: true }` on
    /// `tasks` for top-level ones).
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Task>> {
        let rows = ctx.loaders()?.many::<tasks::Entity>("project_id", self.0.id).await?;
        let page = Page::from_loaded(rows, &page_args(ctx, first, after, last, before))?;
        Ok(connection(page, Task))
    }
}

pub struct Task(pub tasks::Model);

/// A unit of work, possibly split into subtasks.
#[Object]
impl Task {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn prompt(&self) -> Option<&str> {
        self.0.prompt.as_deref()
    }
    async fn status(&self) -> TaskStatus {
        self.0.status
    }
    async fn priority(&self) -> TaskPriority {
        self.0.priority
    }
    async fn result(&self) -> Option<Json<serde_json::Value>> {
        self.0.result.clone().map(Json)
    }
    async fn project_id(&self) -> Option<Uuid> {
        self.0.project_id
    }
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let Some(id) = self.0.project_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.one::<projects::Entity>(id).await?.map(Project))
    }
    async fn parent_id(&self) -> Option<Uuid> {
        self.0.parent_id
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(id) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.one::<tasks::Entity>(id).await?.map(Task))
    }
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn subtasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Task>> {
        let rows = ctx.loaders()?.many::<tasks::Entity>("parent_id", self.0.id).await?;
        let page = Page::from_loaded(rows, &page_args(ctx, first, after, last, before))?;
        Ok(connection(page, Task))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.created_by else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.one::<users::Entity>(id).await?.map(User))
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct WorkQuery;

#[Object]
impl WorkQuery {
    async fn project(&self, ctx: &Context<'_>, id: Uuid) -> Result<Project> {
        Ok(Project(work::project(ctx.scope()?, id).await?))
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProjectFilter>,
        order_by: Option<Vec<ProjectOrderBy>>,
    ) -> Result<Conn<Project>> {
        let args = page_args(ctx, first, after, last, before);
        Ok(connection(work::projects(ctx.scope()?, filter, order_by.unwrap_or_default(), &args).await?, Project))
    }

    async fn task(&self, ctx: &Context<'_>, id: Uuid) -> Result<Task> {
        Ok(Task(work::task(ctx.scope()?, id).await?))
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::page_cost(first, last, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TaskFilter>,
        order_by: Option<Vec<TaskOrderBy>>,
    ) -> Result<Conn<Task>> {
        let args = page_args(ctx, first, after, last, before);
        Ok(connection(work::tasks(ctx.scope()?, filter, order_by.unwrap_or_default(), &args).await?, Task))
    }
}

#[derive(Default)]
pub struct WorkMutation;

#[Object]
impl WorkMutation {
    async fn create_project(&self, ctx: &Context<'_>, input: CreateProjectInput) -> Result<Project> {
        Ok(Project(work::create_project(ctx.scope()?, input).await?))
    }
    async fn update_project(&self, ctx: &Context<'_>, id: Uuid, input: UpdateProjectInput) -> Result<Project> {
        Ok(Project(work::update_project(ctx.scope()?, id, input).await?))
    }
    /// Delete a project and its tasks (managers and above); returns what was deleted.
    async fn delete_project(&self, ctx: &Context<'_>, id: Uuid) -> Result<Project> {
        Ok(Project(work::delete_project(ctx.scope()?, id).await?))
    }
    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> Result<Task> {
        Ok(Task(work::create_task(ctx.scope()?, input).await?))
    }
    async fn update_task(&self, ctx: &Context<'_>, id: Uuid, input: UpdateTaskInput) -> Result<Task> {
        Ok(Task(work::update_task(ctx.scope()?, id, input).await?))
    }
    /// Delete a task and its subtasks; returns what was deleted.
    async fn delete_task(&self, ctx: &Context<'_>, id: Uuid) -> Result<Task> {
        Ok(Task(work::delete_task(ctx.scope()?, id).await?))
    }
}

/// A change to a task, sent after the change commits.
#[derive(SimpleObject)]
pub struct TaskEvent {
    pub op: ChangeOp,
    pub id: Uuid,
    pub project_id: Option<Uuid>,
    /// The task as it is now; null once deleted.
    pub task: Option<Task>,
}

#[derive(Default)]
pub struct WorkSubscription;

#[Subscription]
impl WorkSubscription {
    /// Tasks of your tenant as they are created, changed and deleted; narrow to one project or task.
    async fn task_updated(
        &self,
        ctx: &Context<'_>,
        project_id: Option<Uuid>,
        id: Option<Uuid>,
    ) -> Result<impl Stream<Item = TaskEvent>> {
        let scope = ctx.scope()?.clone();
        let tenant = scope.tenant_id()?;
        // Authorise now, so a non-member is refused at subscribe time rather than never hearing.
        drop(scope.tx().await?);
        scope.finish(false).await?;
        let rx = ctx.data::<EventHub>()?.subscribe();
        Ok(BroadcastStream::new(rx).filter_map(move |event| {
            let scope = scope.clone();
            async move {
                // A lagging receiver skips what it missed rather than failing the subscription.
                let event = event.ok()?;
                // Tenant first: nothing of another tenant is looked at further.
                if event.tenant_id != tenant || event.entity != "tasks" {
                    return None;
                }
                if id.is_some_and(|want| want != event.id) || project_id.is_some_and(|p| Some(p) != event.parent_id) {
                    return None;
                }
                let task = match event.op {
                    ChangeOp::Deleted => None,
                    _ => work::task(&scope, event.id).await.ok(),
                };
                // Each event reads in a transaction of its own; none is left open between events.
                let _ = scope.finish(false).await;
                Some(TaskEvent { op: event.op, id: event.id, project_id: event.parent_id, task: task.map(Task) })
            }
        }))
    }
}
