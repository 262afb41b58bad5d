//! Work in GraphQL: projects and tasks, their relations, and live task changes.
use async_graphql::{Context, Result, SimpleObject, Subscription};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{
    AgentType, ExecutionStatus, JobStatus, MemberRole, TaskPriority, TaskStatus, WorkflowStatus,
};
use futures_util::{Stream, StreamExt};
use sea_orm::prelude::Decimal;
use service::events::ChangeOp;
use service::work::{agents, executions, job_results, jobs, projects, task_output, tasks, workflows};
use uuid::Uuid;

use super::code::{CodeChunk, Commit};
use super::review::{AnalyticsJob, DataRecord, IngestJob};
use super::stats::{
    AgentUsage, LikertSummary, ProjectLikert, ProjectTaskCounts, ProjectUsage, TaskStatusCount, TaskUsage, Usage,
};
use super::tenancy::User;
use super::{authorise, changes, readable, CtxExt};

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
        guidelines_file_id: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Project {
        /// The project's tasks, oldest first (all levels; filter `parentId: { isNull: true }` on
        /// `tasks` for top-level ones).
        many tasks: Task = entity::tasks::Entity["project_id"] by id;
        many data_records: DataRecord = entity::data_records::Entity["project_id"] by id;
        many ingest_jobs: IngestJob = entity::ingest_jobs::Entity["project_id"] by id;
        many analytics_jobs: AnalyticsJob = entity::analytics_jobs::Entity["project_id"] by id;
        many commits: Commit = entity::commits::Entity["project_id"] by id;
        many code_chunks: CodeChunk = entity::code_embeddings::Entity["project_id"] by id;
        one owner: User = entity::users::Entity[owner_id];
        /// The guidelines file (seed 003's PDF for reviewers), with its download link; null when
        /// none is set or you may not see it.
        one guidelines: super::files::File = entity::files::Entity[guidelines_file_id];
    }
    /// How many of the project's tasks are in each status.
    async fn task_counts(&self, ctx: &Context<'_>) -> Result<Vec<TaskStatusCount>> {
        let rows = ctx.loaders()?.batch::<ProjectTaskCounts>(self.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|r| TaskStatusCount { status: r.status, count: r.count }).collect())
    }

    /// Tokens, cost and time of every execution of the project's tasks.
    async fn usage(&self, ctx: &Context<'_>) -> Result<Usage> {
        Ok(ctx.loaders()?.batch::<ProjectUsage>(self.id).await?.into())
    }

    /// Likert averages over every scored record of the project.
    async fn likert(&self, ctx: &Context<'_>) -> Result<LikertSummary> {
        Ok(ctx.loaders()?.batch::<ProjectLikert>(self.id).await?.into())
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
        /// The space a task of seed 002 lives in; empty for project tasks.
        space_id: Option<Uuid>,
        parent_id: Option<Uuid>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Task {
        many subtasks: Task = entity::tasks::Entity["parent_id"] by id;
        many executions: Execution = entity::executions::Entity["task_id"] by id;
        /// The task's streamed output, in sequence order.
        many output: TaskOutput = entity::task_output::Entity["task_id"] by id;
        many commits: Commit = entity::commits::Entity["task_id"] by id;
        one project: Project = entity::projects::Entity[project_id];
        one space: super::tenancy::Space = entity::spaces::Entity[space_id];
        one parent: Task = entity::tasks::Entity[parent_id];
        one creator: User = entity::users::Entity[created_by];
    }

    /// Tokens, cost and time of the task's executions.
    async fn usage(&self, ctx: &Context<'_>) -> Result<Usage> {
        Ok(ctx.loaders()?.batch::<TaskUsage>(self.id).await?.into())
    }
}

object! {
    /// An AI agent: role, model, capabilities, and its place in the org chart.
    Agent from entity::agents::Model {
        id: Uuid,
        name: String,
        role: Option<String>,
        email: Option<String>,
        reports_to: Option<Uuid>,
        personality: Option<String>,
        agent_type: AgentType,
        capabilities: Vec<String>,
        model: Option<String>,
        provider: Option<String>,
        system_prompt: Option<String>,
        enabled: bool,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Agent {
        /// The agents reporting to this one.
        many reports: Agent = entity::agents::Entity["reports_to"] by id;
        many executions: Execution = entity::executions::Entity["agent_id"] by id;
        /// The agent this one reports to.
        one manager: Agent = entity::agents::Entity[reports_to];
    }

    /// Tokens, cost and time of the agent's executions.
    async fn usage(&self, ctx: &Context<'_>) -> Result<Usage> {
        Ok(ctx.loaders()?.batch::<AgentUsage>(self.id).await?.into())
    }
}

object! {
    /// An agent's run of a task, with tokens, cost (USD, exact decimal) and duration.
    Execution from entity::executions::Model {
        id: Uuid,
        task_id: Uuid,
        agent_id: Option<Uuid>,
        user_id: Option<Uuid>,
        status: ExecutionStatus,
        input: Option<serde_json::Value>,
        output: Option<serde_json::Value>,
        error: Option<String>,
        tokens_used: i64,
        cost_usd: Decimal,
        duration_ms: Option<i64>,
        started_at: Option<DateTime<FixedOffset>>,
        completed_at: Option<DateTime<FixedOffset>>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Execution {
        one task: Task = entity::tasks::Entity[task_id];
        one agent: Agent = entity::agents::Entity[agent_id];
        one user: User = entity::users::Entity[user_id];
    }
}

object! {
    /// One chunk of a task's streamed output.
    TaskOutput from entity::task_output::Model {
        id: Uuid,
        task_id: Uuid,
        /// 1, 2, 3, … per task, in the order written.
        seq: i64,
        stream: String,
        content: String,
        created_at: DateTime<FixedOffset>,
    }
}

complex! {
    TaskOutput {
        one task: Task = entity::tasks::Entity[task_id];
    }
}

object! {
    /// A queued unit of background work, retried with backoff until `maxRetries`.
    Job from entity::jobs::Model {
        id: Uuid,
        job_type: String,
        status: JobStatus,
        priority: i32,
        input: serde_json::Value,
        output: Option<serde_json::Value>,
        error: Option<serde_json::Value>,
        /// From 0 to 1.
        progress: f64,
        retry_count: i32,
        max_retries: i32,
        next_retry_at: Option<DateTime<FixedOffset>>,
        scheduled_at: DateTime<FixedOffset>,
        started_at: Option<DateTime<FixedOffset>>,
        completed_at: Option<DateTime<FixedOffset>>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Job {
        /// Every attempt, first to last.
        many results: JobResult = entity::job_results::Entity["job_id"] by id;
        one creator: User = entity::users::Entity[created_by];
    }
}

object! {
    /// One attempt at a job.
    JobResult from entity::job_results::Model {
        id: Uuid,
        job_id: Uuid,
        attempt: i32,
        status: JobStatus,
        output: Option<serde_json::Value>,
        error: Option<serde_json::Value>,
        worker: Option<String>,
        started_at: Option<DateTime<FixedOffset>>,
        finished_at: Option<DateTime<FixedOffset>>,
        duration_ms: Option<i64>,
        created_at: DateTime<FixedOffset>,
    }
}

complex! {
    JobResult {
        one job: Job = entity::jobs::Entity[job_id];
    }
}

object! {
    /// A named definition of multi-step work.
    Workflow from entity::workflows::Model {
        id: Uuid,
        name: String,
        description: Option<String>,
        definition: serde_json::Value,
        status: WorkflowStatus,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Workflow {
        one creator: User = entity::users::Entity[created_by];
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

crud_fields! {
    agents => Agent;
    query AgentQuery { agent, agents }
    mutation AgentMutation { create_agent, update_agent, delete_agent }
}

crud_fields! {
    executions => Execution;
    query ExecutionQuery { execution, executions }
    mutation ExecutionMutation { create_execution, update_execution, delete_execution }
}

crud_fields! {
    task_output => TaskOutput;
    query TaskOutputQuery { task_output_chunk, task_output }
    mutation TaskOutputMutation { append_task_output, update_task_output, delete_task_output }
}

crud_fields! {
    jobs => Job;
    query JobQuery { job, jobs }
    mutation JobMutation { no create, update_job, delete_job }
}

crud_fields! {
    job_results => JobResult;
    query JobResultQuery { job_result, job_results }
    mutation JobResultMutation { no create, update_job_result, delete_job_result }
}

crud_fields! {
    workflows => Workflow;
    query WorkflowQuery { workflow, workflows }
    mutation WorkflowMutation { create_workflow, update_workflow, delete_workflow }
}

#[derive(Default)]
pub struct JobVerbs;

#[async_graphql::Object]
impl JobVerbs {
    /// Put a job on the queue. Only the types `jobTypes` lists as `clientEnqueue` are accepted,
    /// each with the input it declares; priority is -100 to 100 (higher runs first).
    async fn enqueue_job(&self, ctx: &Context<'_>, input: service::work::jobs::CreateJobInput) -> Result<Job> {
        let mode = ctx.data::<super::Mode>()?;
        Ok(service::queue::enqueue_client(ctx.scope()?, service::JOB_TYPES, mode.development, input).await?.into())
    }

    /// Cancel a queued or running job; a running handler stops at its next heartbeat.
    async fn cancel_job(&self, ctx: &Context<'_>, id: Uuid) -> Result<Job> {
        Ok(service::queue::cancel(ctx.scope()?, id).await?.into())
    }

    /// Run a pending (or failed) execution: a worker sends its task to the configured model
    /// (ATLAS_LLM_URL), streams the answer into the task's output (`taskOutput`) and records
    /// tokens, cost and duration; `executionUpdated(id)` follows it.
    async fn start_execution(&self, ctx: &Context<'_>, id: Uuid) -> Result<Execution> {
        Ok(service::work::execution::start(ctx.scope()?, id).await?.into())
    }

    /// Run a failed or cancelled job again, from its first attempt.
    async fn retry_job(&self, ctx: &Context<'_>, id: Uuid) -> Result<Job> {
        Ok(service::queue::retry(ctx.scope()?, id).await?.into())
    }
}

/// A kind of job the queue runs.
#[derive(SimpleObject)]
pub struct JobType {
    pub name: String,
    pub description: String,
    /// Whether `enqueueJob` accepts it; other types are started by their own verbs.
    pub client_enqueue: bool,
    /// The lowest role that may enqueue it, when clients may.
    pub min_role: Option<MemberRole>,
    /// What starts it when clients may not.
    pub started_by: Option<String>,
}

#[derive(Default)]
pub struct JobTypeQuery;

#[async_graphql::Object]
impl JobTypeQuery {
    /// The job types this server knows (development-only ones only in development mode).
    async fn job_types(&self, ctx: &Context<'_>) -> Result<Vec<JobType>> {
        ctx.scope()?.tenant_id()?;
        let mode = ctx.data::<super::Mode>()?;
        Ok(service::queue::offered(service::JOB_TYPES, mode.development)
            .map(|t| {
                let (client_enqueue, min_role, started_by) = match t.enqueue {
                    service::queue::Enqueue::Client { role, .. } => (true, Some(role), None),
                    service::queue::Enqueue::Internal { by } => (false, None, Some(by.to_string())),
                };
                JobType { name: t.name.into(), description: t.description.into(), client_enqueue, min_role, started_by }
            })
            .collect())
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

/// A change to an execution, sent after the change commits.
#[derive(SimpleObject)]
pub struct ExecutionEvent {
    pub op: ChangeOp,
    pub id: Uuid,
    /// The execution as it is now; null once deleted.
    pub execution: Option<Execution>,
}

/// A change to a job (status or progress), sent after the change commits.
#[derive(SimpleObject)]
pub struct JobEvent {
    pub op: ChangeOp,
    pub id: Uuid,
    /// The job as it is now; null once deleted.
    pub job: Option<Job>,
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
    ) -> Result<impl Stream<Item = Result<TaskEvent>>> {
        authorise(ctx).await?;
        if let Some(id) = id {
            readable::<entity::tasks::Entity>(ctx, "task", id).await?;
        }
        let keep = move |e: &service::events::Event| {
            id.is_none_or(|want| want == e.id) && project_id.is_none_or(|p| Some(p) == e.parent_id)
        };
        changes(ctx, "tasks", keep, id, |scope, event| async move {
            let task = match event.op {
                ChangeOp::Deleted => None,
                _ => tasks::get(&scope, event.id).await.ok(),
            };
            // A task in a space is announced only to those who read the space, also when it is
            // gone (deleted, or changed and deleted before this event is read): not even its id.
            if let (None, Some(space)) = (&task, event.space_id) {
                if !service::tenancy::reads_space(&scope, space).await.unwrap_or(false) {
                    return None;
                }
            }
            Some(TaskEvent { op: event.op, id: event.id, project_id: event.parent_id, task: task.map(Task::from) })
        })
    }

    /// One job's status and progress as workers move it along (from any process or host).
    async fn job_updated(&self, ctx: &Context<'_>, id: Uuid) -> Result<impl Stream<Item = Result<JobEvent>>> {
        authorise(ctx).await?;
        readable::<entity::jobs::Entity>(ctx, "job", id).await?;
        changes(
            ctx,
            "jobs",
            move |e| e.id == id,
            Some(id),
            |scope, event| async move {
                let job = jobs::get(&scope, event.id).await.ok();
                Some(JobEvent { op: event.op, id: event.id, job: job.map(Job::from) })
            },
        )
    }

    /// A task's streamed output: the chunks from `fromSeq` on (1: from the start), then each new
    /// chunk as it is written, in sequence order, without gaps or repeats.
    async fn task_output(
        &self,
        ctx: &Context<'_>,
        task_id: Uuid,
        #[graphql(default = 1)] from_seq: i64,
    ) -> Result<impl Stream<Item = Result<TaskOutput>>> {
        authorise(ctx).await?;
        // Listen first, then replay what is already written: nothing falls in between, and the
        // sequence numbers drop what arrives twice. After missed events, re-read from the last seen.
        let last = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(from_seq - 1));
        let seen = last.clone();
        let live = changes(
            ctx,
            "task_output",
            move |e| e.parent_id == Some(task_id),
            Some(task_id),
            move |scope, event| {
                let seen = seen.clone();
                async move {
                    if event.resync {
                        let from = seen.load(std::sync::atomic::Ordering::Relaxed) + 1;
                        service::work::task_output_since(&scope, task_id, from).await.ok()
                    } else {
                        task_output::get(&scope, event.id).await.ok().map(|c| vec![c])
                    }
                }
            },
        )?;
        let scope = ctx.scope()?;
        let backlog = service::work::task_output_since(scope, task_id, from_seq).await?;
        scope.finish(false).await?;
        let chunks = futures_util::stream::iter(vec![Ok(backlog)]).chain(live).flat_map(|batch| {
            let items: Vec<Result<_>> = match batch {
                Ok(chunks) => chunks.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(items)
        });
        Ok(chunks.filter_map(move |chunk| {
            let next = match chunk {
                Ok(chunk) => (chunk.seq > last.load(std::sync::atomic::Ordering::Relaxed)).then(|| {
                    last.store(chunk.seq, std::sync::atomic::Ordering::Relaxed);
                    Ok(TaskOutput::from(chunk))
                }),
                Err(e) => Some(Err(e)),
            };
            async move { next }
        }))
    }

    /// One execution as it runs: status, tokens, cost, duration.
    async fn execution_updated(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<impl Stream<Item = Result<ExecutionEvent>>> {
        authorise(ctx).await?;
        readable::<entity::executions::Entity>(ctx, "execution", id).await?;
        changes(
            ctx,
            "executions",
            move |e| e.id == id,
            Some(id),
            |scope, event| async move {
                let execution = executions::get(&scope, event.id).await.ok();
                Some(ExecutionEvent { op: event.op, id: event.id, execution: execution.map(Execution::from) })
            },
        )
    }

    /// Every job change in your tenant, optionally only of some types or statuses.
    async fn job_events(
        &self,
        ctx: &Context<'_>,
        job_types: Option<Vec<String>>,
        statuses: Option<Vec<JobStatus>>,
    ) -> Result<impl Stream<Item = Result<JobEvent>>> {
        authorise(ctx).await?;
        changes(
            ctx,
            "jobs",
            |_| true,
            None,
            move |scope, event| {
                let (job_types, statuses) = (job_types.clone(), statuses.clone());
                async move {
                    let job = jobs::get(&scope, event.id).await.ok()?;
                    if job_types.as_ref().is_some_and(|t| !t.contains(&job.job_type))
                        || statuses.as_ref().is_some_and(|s| !s.contains(&job.status))
                    {
                        return None;
                    }
                    Some(JobEvent { op: event.op, id: event.id, job: Some(Job::from(job)) })
                }
            },
        )
    }
}
