-- Work, continued: agents (seeds 000 + 004), their executions of tasks with tokens and cost,
-- streamed task output, the job queue's tables (its behaviour comes with the worker), workflows.

CREATE TYPE agent_type AS ENUM ('planner', 'database', 'backend', 'frontend', 'reviewer', 'general');
CREATE TYPE execution_status AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE job_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');
CREATE TYPE workflow_status AS ENUM ('draft', 'active', 'paused', 'archived');

CREATE TABLE agents (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT agents_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  role text,
  email text,
  reports_to uuid,
  personality text,
  agent_type agent_type NOT NULL DEFAULT 'general',
  capabilities text[] NOT NULL DEFAULT '{}',
  model text,
  provider text,
  system_prompt text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT agents_tenant_name_key UNIQUE (tenant_id, name),
  CONSTRAINT agents_reports_to_fkey FOREIGN KEY (tenant_id, reports_to) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (reports_to),
  CONSTRAINT agents_not_own_manager CHECK (reports_to IS NULL OR reports_to <> id)
);
CREATE INDEX agents_reports_to_idx ON agents (tenant_id, reports_to);
CREATE INDEX agents_type_idx ON agents (tenant_id, agent_type);

CREATE TABLE executions (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  task_id uuid NOT NULL,
  agent_id uuid,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  status execution_status NOT NULL DEFAULT 'pending',
  input jsonb,
  output jsonb,
  error text,
  tokens_used bigint NOT NULL DEFAULT 0 CONSTRAINT executions_tokens_nonnegative CHECK (tokens_used >= 0),
  cost_usd numeric(14, 6) NOT NULL DEFAULT 0 CONSTRAINT executions_cost_nonnegative CHECK (cost_usd >= 0),
  duration_ms bigint CONSTRAINT executions_duration_nonnegative CHECK (duration_ms >= 0),
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT executions_task_fkey FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT executions_agent_fkey FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id)
);
CREATE INDEX executions_task_idx ON executions (tenant_id, task_id);
CREATE INDEX executions_agent_idx ON executions (tenant_id, agent_id);
CREATE INDEX executions_user_idx ON executions (tenant_id, user_id);
CREATE INDEX executions_status_idx ON executions (tenant_id, status);

-- A task's streamed output, in order. `seq` is assigned on insert (1, 2, …) per task, under a
-- per-task lock, so concurrent writers never collide and readers can resume from a sequence number.
CREATE TABLE task_output (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  task_id uuid NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  stream text NOT NULL DEFAULT 'stdout',
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT task_output_task_fkey FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT task_output_task_seq_key UNIQUE (tenant_id, task_id, seq)
);
CREATE FUNCTION atlas_task_output_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.task_id::text, 0));
  NEW.seq := coalesce((SELECT max(seq) FROM task_output WHERE tenant_id = NEW.tenant_id AND task_id = NEW.task_id), 0) + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER assign_seq BEFORE INSERT ON task_output FOR EACH ROW EXECUTE FUNCTION atlas_task_output_seq();

CREATE TABLE jobs (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  job_type text NOT NULL CONSTRAINT jobs_type_format CHECK (job_type ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  status job_status NOT NULL DEFAULT 'queued',
  priority integer NOT NULL DEFAULT 0,
  input jsonb NOT NULL DEFAULT '{}'::jsonb,
  output jsonb,
  error jsonb,
  progress double precision NOT NULL DEFAULT 0 CONSTRAINT jobs_progress_range CHECK (progress >= 0 AND progress <= 1),
  retry_count integer NOT NULL DEFAULT 0,
  max_retries integer NOT NULL DEFAULT 3 CONSTRAINT jobs_max_retries_range CHECK (max_retries BETWEEN 0 AND 100),
  next_retry_at timestamptz,
  scheduled_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  locked_by text,
  locked_until timestamptz,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
-- Workers poll queued jobs by priority then run time, across tenants.
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, scheduled_at) WHERE status = 'queued';
CREATE INDEX jobs_status_idx ON jobs (tenant_id, status, scheduled_at);
CREATE INDEX jobs_type_idx ON jobs (tenant_id, job_type);

CREATE TABLE job_results (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  job_id uuid NOT NULL,
  attempt integer NOT NULL CONSTRAINT job_results_attempt_positive CHECK (attempt >= 1),
  status job_status NOT NULL,
  output jsonb,
  error jsonb,
  worker text,
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT job_results_job_fkey FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX job_results_job_idx ON job_results (tenant_id, job_id, attempt);

CREATE TABLE workflows (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT workflows_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  description text,
  definition jsonb NOT NULL DEFAULT '{}'::jsonb,
  status workflow_status NOT NULL DEFAULT 'draft',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT workflows_tenant_name_key UNIQUE (tenant_id, name)
);
CREATE INDEX workflows_status_idx ON workflows (tenant_id, status);

SELECT atlas_tenant_table('agents');
SELECT atlas_tenant_table('executions');
SELECT atlas_tenant_table('task_output');
SELECT atlas_tenant_table('jobs');
SELECT atlas_tenant_table('job_results');
SELECT atlas_tenant_table('workflows');
