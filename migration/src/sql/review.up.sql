-- Review (Operations Tools, seed 003): data records with embeddings and review state, Likert
-- scores, CSV ingest and analytics jobs with their progress counters, and bonus windows.

CREATE TYPE record_type AS ENUM ('task', 'feedback');
CREATE TYPE record_category AS ENUM ('top_10', 'bottom_10');
CREATE TYPE ingest_status AS ENUM ('pending', 'processing', 'queued_for_vec', 'vectorizing', 'completed', 'failed', 'cancelled');
CREATE TYPE analytics_status AS ENUM ('pending', 'processing', 'completed', 'failed', 'cancelled');

CREATE TABLE ingest_jobs (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid NOT NULL,
  record_type record_type NOT NULL,
  status ingest_status NOT NULL DEFAULT 'pending',
  total_records integer NOT NULL DEFAULT 0,
  saved_count integer NOT NULL DEFAULT 0,
  skipped_count integer NOT NULL DEFAULT 0,
  skipped_details jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  source_name text,
  source_file_id uuid,
  job_id uuid,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT ingest_jobs_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT ingest_jobs_job_fkey FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE SET NULL (job_id),
  CONSTRAINT ingest_jobs_counts_nonnegative CHECK (total_records >= 0 AND saved_count >= 0 AND skipped_count >= 0)
);
CREATE INDEX ingest_jobs_project_idx ON ingest_jobs (tenant_id, project_id, created_at);
CREATE INDEX ingest_jobs_status_idx ON ingest_jobs (tenant_id, status);

CREATE TABLE data_records (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid NOT NULL,
  ingest_job_id uuid,
  record_type record_type NOT NULL,
  category record_category,
  source text NOT NULL DEFAULT 'api',
  content text NOT NULL CONSTRAINT data_records_content_nonempty CHECK (length(btrim(content)) > 0),
  -- Duplicates (same project, type and content) are refused; ingest counts them as skipped.
  content_hash text GENERATED ALWAYS AS (md5(content)) STORED,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  embedding vector,
  embedding_model text,
  alignment_analysis text,
  has_been_reviewed boolean NOT NULL DEFAULT false,
  is_category_correct boolean,
  reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  reviewed_at timestamptz,
  created_by_id text,
  created_by_name text,
  created_by_email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT data_records_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT data_records_ingest_job_fkey FOREIGN KEY (tenant_id, ingest_job_id) REFERENCES ingest_jobs (tenant_id, id) ON DELETE SET NULL (ingest_job_id),
  CONSTRAINT data_records_duplicate_key UNIQUE (tenant_id, project_id, record_type, content_hash)
);
CREATE INDEX data_records_project_idx ON data_records (tenant_id, project_id, record_type, category);
CREATE INDEX data_records_ingest_job_idx ON data_records (tenant_id, ingest_job_id);
CREATE INDEX data_records_review_idx ON data_records (tenant_id, project_id, has_been_reviewed);
CREATE INDEX data_records_pending_embedding_idx ON data_records (tenant_id, project_id) WHERE embedding IS NULL;

CREATE TABLE likert_scores (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  record_id uuid NOT NULL,
  -- A user id, or an LLM's identifier when llm_model is set.
  user_id text NOT NULL,
  realism_score integer NOT NULL CONSTRAINT likert_scores_realism_range CHECK (realism_score BETWEEN 1 AND 7),
  quality_score integer NOT NULL CONSTRAINT likert_scores_quality_range CHECK (quality_score BETWEEN 1 AND 7),
  llm_model text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT likert_scores_record_fkey FOREIGN KEY (tenant_id, record_id) REFERENCES data_records (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT likert_scores_record_user_key UNIQUE (tenant_id, record_id, user_id)
);

CREATE TABLE analytics_jobs (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid NOT NULL,
  status analytics_status NOT NULL DEFAULT 'pending',
  total_records integer NOT NULL DEFAULT 0,
  processed_count integer NOT NULL DEFAULT 0,
  result jsonb,
  error text,
  job_id uuid,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT analytics_jobs_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT analytics_jobs_job_fkey FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE SET NULL (job_id)
);
CREATE INDEX analytics_jobs_project_idx ON analytics_jobs (tenant_id, project_id, created_at);

CREATE TABLE bonus_windows (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL DEFAULT 'Bonus Window',
  start_time timestamptz NOT NULL,
  end_time timestamptz NOT NULL,
  -- A target of 0 disables that metric.
  target_task_count integer NOT NULL DEFAULT 0,
  target_feedback_count integer NOT NULL DEFAULT 0,
  target_task_count_tier2 integer NOT NULL DEFAULT 0,
  target_feedback_count_tier2 integer NOT NULL DEFAULT 0,
  created_by uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT bonus_windows_time_order CHECK (end_time > start_time),
  CONSTRAINT bonus_windows_targets_nonnegative CHECK (
    target_task_count >= 0 AND target_feedback_count >= 0 AND target_task_count_tier2 >= 0 AND target_feedback_count_tier2 >= 0)
);
CREATE INDEX bonus_windows_time_idx ON bonus_windows (tenant_id, start_time, end_time);

SELECT atlas_tenant_table('ingest_jobs');
SELECT atlas_tenant_table('data_records');
SELECT atlas_tenant_table('likert_scores');
SELECT atlas_tenant_table('analytics_jobs');
SELECT atlas_tenant_table('bonus_windows');
