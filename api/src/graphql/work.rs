//! Work in GraphQL: projects and tasks, their relations, and live task changes.
use async_graphql::{ComplexObject, Context, Result, SimpleObject, Subscription};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{TaskPriority, TaskStatus};
use futures_util::{Stream, StreamExt};
use service::events::ChangeOp;
use service::work::{projects, tasks};
use service::Page;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::connection::{connection, page_args, Conn};
use super::tenancy::User;
use super::CtxExt;
use crate::events::EventHub;

object! {
    /// A project: a product or repository that tasks, records and commits belong to.
    Project from entity::projects::Model {
        id: Uuid,
        name: String,
        description: Option<String>,
        owner_id: Option<Uuid>,
        repository_url: Option<String>,
        github_repo_id: Option<i64>,
        default_branch: String,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

#[ComplexObject]
impl Project {
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.owner_id else { return Ok(None) };
        Ok(ctx.loaders()?.one::<entity::users::Entity>(id).await?.map(User))
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
        let rows = ctx.loaders()?.many::<entity::tasks::Entity>("project_id", self.id).await?;
        let page = Page::from_loaded(rows, &page_args(ctx, first, after, last, before))?;
        Ok(connection(page, Task::from))
    }
}

object! {
    /// A unit of work, possibly split into subtasks.
    Task from entity::tasks::Model {
        id: Uuid,
        title: String,
        description: Option<String>,
        prompt: Option<String>,
        status: TaskStatus,
        priority: TaskPriority,
        result: Option<serde_json::Value>,
        project_id: Option<Uuid>,
        parent_id: Option<Uuid>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

#[ComplexObject]
impl Task {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let Some(id) = self.project_id else { return Ok(None) };
        Ok(ctx.loaders()?.one::<entity::projects::Entity>(id).await?.map(Project::from))
    }

    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(id) = self.parent_id else { return Ok(None) };
        Ok(ctx.loaders()?.one::<entity::tasks::Entity>(id).await?.map(Task::from))
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
        let rows = ctx.loaders()?.many::<entity::tasks::Entity>("parent_id", self.id).await?;
        let page = Page::from_loaded(rows, &page_args(ctx, first, after, last, before))?;
        Ok(connection(page, Task::from))
    }

    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.one::<entity::users::Entity>(id).await?.map(User))
    }
}

crud_fields! {
    projects => Project;
    query ProjectQuery { project, projects }
    mutation ProjectMutation { create_project, update_project, delete_project }
}

crud_fields! {
    tasks => Task;
    query TaskQuery { task, tasks }
    mutation TaskMutation { create_task, update_task, delete_task }
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
                    _ => tasks::get(&scope, event.id).await.ok(),
                };
                // Each event reads in a transaction of its own; none is left open between events.
                let _ = scope.finish(false).await;
                Some(TaskEvent { op: event.op, id: event.id, project_id: event.parent_id, task: task.map(Task::from) })
            }
        }))
    }
}
