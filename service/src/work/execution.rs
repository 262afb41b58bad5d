//! Running an agent execution (seed 004): the EXECUTION job sends the task to a model through an
//! OpenAI-compatible chat-completions endpoint, streams the answer into `task_output` as it
//! arrives (subscribers of `taskOutput` see it live), and records tokens, cost and duration.
//!
//! Configured by `ATLAS_LLM_URL` (the `/v1` base), `ATLAS_LLM_MODEL`, `ATLAS_LLM_API_KEY` and
//! `ATLAS_LLM_COST_PER_1K_TOKENS`; an agent's own `model` wins over `ATLAS_LLM_MODEL`. Without a
//! URL an execution fails at once with an error that says what to set.
use std::time::{Duration, Instant};

use entity::executions;
use entity::sea_orm_active_enums::{ExecutionStatus, MemberRole};
use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::events::{self, ChangeOp};
use crate::queue::{JobContext, JobError, JobHandler};
use crate::scope::Scope;

pub const JOB_TYPE: &str = "EXECUTION";
/// The EXECUTION job type: Atlas creates these jobs itself, never a client.
pub static JOB: crate::queue::JobType = crate::queue::JobType {
    name: JOB_TYPE,
    description: "Runs an agent execution against the configured LLM.",
    enqueue: crate::queue::Enqueue::Internal { by: "the startExecution mutation" },
    development_only: false,
};
/// Output is written to `task_output` at least this often while the model streams.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct LlmConfig {
    pub url: Option<String>,
    pub model: Option<String>,
    pub key: Option<String>,
    pub cost_per_1k_tokens: f64,
}

impl LlmConfig {
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        Self {
            url: var("ATLAS_LLM_URL"),
            model: var("ATLAS_LLM_MODEL"),
            key: var("ATLAS_LLM_API_KEY"),
            cost_per_1k_tokens: var("ATLAS_LLM_COST_PER_1K_TOKENS").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        }
    }
}

/// Queue a pending (or failed) execution to run (in the caller's transaction).
pub async fn start(scope: &Scope, id: Uuid) -> Result<executions::Model> {
    scope.require(MemberRole::Member, "run executions").await?;
    let execution = super::executions::get(scope, id).await?;
    if !matches!(execution.status, ExecutionStatus::Pending | ExecutionStatus::Failed | ExecutionStatus::Cancelled) {
        return Err(ServiceError::Conflict {
            field: Some("id".into()),
            message: "this execution is already running or completed".into(),
        });
    }
    {
        let tx = scope.tx().await?;
        let done = tx
            .execute_raw(crate::query::raw(
                scope,
                "UPDATE executions SET status = 'pending', error = NULL WHERE tenant_id = $1 AND id = $2",
                [id.into()],
            )?)
            .await?;
        // Seen but not changed: row-level security keeps the caller from running it.
        if done.rows_affected() == 0 {
            return Err(ServiceError::Forbidden("you may see this execution but not run it".into()));
        }
    }
    crate::queue::enqueue(scope, crate::queue::JobSpec::new(&JOB, json!({ "execution_id": id })).retries(2)).await?;
    events::notify(scope, "executions", id, ChangeOp::Updated, Some(execution.task_id)).await?;
    super::executions::get(scope, id).await
}

pub struct Execution {
    pub config: LlmConfig,
    pub client: reqwest::Client,
}

impl Execution {
    pub fn new(config: LlmConfig) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        Self { config, client }
    }
}

/// Write to the execution row, announce it, and commit.
async fn set(scope: &Scope, e: &executions::Model, sql: &str, extra: Vec<Value>) -> Result<()> {
    events::commit_row_change(scope, "executions", (e.id, Some(e.task_id)), sql, extra).await
}

async fn fail(scope: &Scope, e: &executions::Model, message: &str, started: Instant) -> Result<()> {
    set(
        scope,
        e,
        "UPDATE executions SET status = 'failed', error = $3, duration_ms = $4, completed_at = now() \
         WHERE tenant_id = $1 AND id = $2 AND status <> 'cancelled'",
        vec![message.into(), (started.elapsed().as_millis() as i64).into()],
    )
    .await
}

impl JobHandler for Execution {
    fn job_type(&self) -> &'static str {
        JOB_TYPE
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(900)
    }

    async fn run(&self, ctx: &JobContext) -> std::result::Result<serde_json::Value, JobError> {
        let id = ctx.job.input["execution_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobError::permanent("EXECUTION input needs execution_id"))?;
        let scope = &ctx.scope;
        let execution = super::executions::get(scope, id).await?;
        if !matches!(execution.status, ExecutionStatus::Pending | ExecutionStatus::Running) {
            return Ok(json!({ "skipped": "the execution is not pending" }));
        }
        let started = Instant::now();
        let Some(url) = self.config.url.clone() else {
            let msg = "no model provider is configured: set ATLAS_LLM_URL to an OpenAI-compatible endpoint \
                       (for example http://localhost:11434/v1) and ATLAS_LLM_MODEL";
            fail(scope, &execution, msg, started).await?;
            return Err(JobError::permanent(msg));
        };
        let last_attempt = ctx.job.retry_count >= ctx.job.max_retries;
        match self.complete(scope, &execution, &url, started).await {
            Ok(out) => Ok(out),
            Err(e) => {
                let _ = scope.finish(false).await;
                if e.permanent || last_attempt {
                    fail(scope, &execution, &e.message, started).await?;
                }
                Err(e)
            }
        }
    }
}

impl Execution {
    async fn complete(
        &self,
        scope: &Scope,
        execution: &executions::Model,
        url: &str,
        started: Instant,
    ) -> std::result::Result<serde_json::Value, JobError> {
        let task = super::tasks::get(scope, execution.task_id).await?;
        let agent = match execution.agent_id {
            Some(a) => Some(super::agents::get(scope, a).await?),
            None => None,
        };
        let model = agent
            .as_ref()
            .and_then(|a| a.model.clone())
            .or_else(|| self.config.model.clone())
            .ok_or_else(|| JobError::permanent("no model is named: set ATLAS_LLM_MODEL or the agent's model"))?;
        let system = agent
            .as_ref()
            .and_then(|a| a.system_prompt.clone())
            .or_else(|| {
                agent.as_ref().map(|a| format!("You are {}, {}.", a.name, a.role.as_deref().unwrap_or("an agent")))
            })
            .unwrap_or_else(|| "You are a helpful agent working on a task.".into());
        let mut prompt = format!("Task: {}", task.title);
        if let Some(d) = task.description.as_deref().filter(|d| !d.trim().is_empty()) {
            prompt.push_str(&format!("\n\n{d}"));
        }
        match execution.input.as_ref().map(|i| (i.get("prompt").and_then(|p| p.as_str()), i)) {
            Some((Some(p), _)) => prompt.push_str(&format!("\n\n{p}")),
            Some((None, i)) if !i.is_null() => prompt.push_str(&format!("\n\nInput: {i}")),
            _ => {}
        }
        set(
            scope,
            execution,
            "UPDATE executions SET status = 'running', started_at = now(), error = NULL WHERE tenant_id = $1 AND id = $2",
            vec![],
        )
        .await?;

        let mut req = self.client.post(format!("{}/chat/completions", url.trim_end_matches('/'))).json(&json!({
            "model": model,
            "stream": true,
            "stream_options": { "include_usage": true },
            "messages": [ { "role": "system", "content": system }, { "role": "user", "content": prompt } ],
        }));
        if let Some(key) = &self.config.key {
            req = req.bearer_auth(key);
        }
        let res = req
            .send()
            .await
            .map_err(|e| JobError::retry(format!("the model provider did not answer: {}", e.without_url())))?;
        let status = res.status();
        if !status.is_success() {
            let body = res.text().await.unwrap_or_default();
            let msg = format!("the model provider answered {status}: {}", body.chars().take(300).collect::<String>());
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                JobError::retry(msg)
            } else {
                JobError::permanent(msg)
            });
        }
        let mut stream = res.bytes_stream();
        let (mut line, mut text, mut pending) = (Vec::<u8>::new(), String::new(), String::new());
        let mut usage: Option<i64> = None;
        let mut finish_reason = None;
        let mut last_flush = Instant::now();
        let mut done = false;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| JobError::retry(format!("the model's stream broke off: {}", e.without_url())))?;
            for &b in chunk.iter() {
                if b != b'\n' {
                    line.push(b);
                    continue;
                }
                let l = String::from_utf8_lossy(&line).trim().to_string();
                line.clear();
                let Some(data) = l.strip_prefix("data:").map(str::trim) else { continue };
                if data == "[DONE]" {
                    done = true;
                    continue;
                }
                let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else { continue };
                if let Some(delta) = event["choices"][0]["delta"]["content"].as_str() {
                    pending.push_str(delta);
                    text.push_str(delta);
                }
                if let Some(r) = event["choices"][0]["finish_reason"].as_str() {
                    finish_reason = Some(r.to_string());
                }
                if let Some(t) = event["usage"]["total_tokens"].as_i64() {
                    usage = Some(t);
                }
            }
            if !pending.is_empty() && (last_flush.elapsed() >= FLUSH_EVERY || pending.len() > 2048) {
                if !self.flush(scope, execution, &mut pending).await? {
                    return Ok(json!({ "cancelled": true }));
                }
                last_flush = Instant::now();
            }
            if done {
                break;
            }
        }
        if !pending.is_empty() && !self.flush(scope, execution, &mut pending).await? {
            return Ok(json!({ "cancelled": true }));
        }
        // Providers that send no usage get an estimate (about four characters a token).
        let tokens = usage.unwrap_or(((text.len() + prompt.len() + system.len()) / 4) as i64);
        let cost = tokens as f64 / 1000.0 * self.config.cost_per_1k_tokens;
        let duration = started.elapsed().as_millis() as i64;
        let output =
            json!({ "text": text, "model": model, "finishReason": finish_reason, "usageEstimated": usage.is_none() });
        set(
            scope,
            execution,
            "UPDATE executions SET status = 'completed', output = $3, tokens_used = $4, \
               cost_usd = round($5::numeric, 6), duration_ms = $6, completed_at = now() \
             WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
            vec![output.clone().into(), tokens.into(), cost.into(), duration.into()],
        )
        .await?;
        Ok(json!({ "tokens": tokens, "durationMs": duration, "model": model }))
    }

    /// Append what arrived to the task's output and commit; false when the execution was cancelled.
    async fn flush(&self, scope: &Scope, e: &executions::Model, pending: &mut String) -> Result<bool> {
        let id = Uuid::now_v7();
        let status: Option<String> = {
            let tx = scope.tx().await?;
            let row = tx
                .query_one_raw(crate::query::raw(
                    scope,
                    "SELECT status::text AS s FROM executions WHERE tenant_id = $1 AND id = $2",
                    [e.id.into()],
                )?)
                .await?;
            let status = row.map(|r| r.try_get("", "s")).transpose()?;
            if status.as_deref() == Some("running") {
                tx.execute_raw(crate::query::raw(scope, "INSERT INTO task_output (tenant_id, id, task_id, stream, content) VALUES ($1, $2, $3, 'stdout', $4)", [id.into(), e.task_id.into(), std::mem::take(pending).into()])?)
                .await?;
            }
            status
        };
        if status.as_deref() != Some("running") {
            scope.finish(false).await?;
            return Ok(false);
        }
        events::notify(scope, "task_output", id, ChangeOp::Created, Some(e.task_id)).await?;
        scope.finish(true).await?;
        Ok(true)
    }
}
