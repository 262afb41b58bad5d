-- Code (Vibe Coder, seed 004): commits made for tasks, automated reviews of them, and chunked
-- code with embeddings for semantic search (up to 3,072 dimensions; indexes come with search).

CREATE TYPE review_status AS ENUM ('pending', 'approved', 'changes_requested', 'commented');

CREATE TABLE commits (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid NOT NULL,
  task_id uuid,
  sha text NOT NULL CONSTRAINT commits_sha_format CHECK (sha ~ '^[0-9a-f]{7,64}$'),
  message text NOT NULL,
  author text,
  author_email text,
  branch text,
  files_changed integer NOT NULL DEFAULT 0,
  additions integer NOT NULL DEFAULT 0,
  deletions integer NOT NULL DEFAULT 0,
  committed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT commits_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT commits_task_fkey FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE SET NULL (task_id),
  CONSTRAINT commits_project_sha_key UNIQUE (tenant_id, project_id, sha),
  CONSTRAINT commits_counts_nonnegative CHECK (files_changed >= 0 AND additions >= 0 AND deletions >= 0)
);
CREATE INDEX commits_task_idx ON commits (tenant_id, task_id);
CREATE INDEX commits_project_idx ON commits (tenant_id, project_id, committed_at);

CREATE TABLE reviews (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  commit_id uuid NOT NULL,
  reviewer_agent_id uuid,
  status review_status NOT NULL DEFAULT 'pending',
  summary text,
  quality_score integer CONSTRAINT reviews_quality_range CHECK (quality_score BETWEEN 0 AND 100),
  security_score integer CONSTRAINT reviews_security_range CHECK (security_score BETWEEN 0 AND 100),
  issues jsonb NOT NULL DEFAULT '[]'::jsonb,
  suggestions jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT reviews_commit_fkey FOREIGN KEY (tenant_id, commit_id) REFERENCES commits (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT reviews_agent_fkey FOREIGN KEY (tenant_id, reviewer_agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (reviewer_agent_id)
);
CREATE INDEX reviews_commit_idx ON reviews (tenant_id, commit_id);
CREATE INDEX reviews_status_idx ON reviews (tenant_id, status);

CREATE TABLE code_embeddings (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid NOT NULL,
  file_path text NOT NULL CONSTRAINT code_embeddings_path_nonempty CHECK (length(btrim(file_path)) > 0),
  chunk_index integer NOT NULL DEFAULT 0 CONSTRAINT code_embeddings_chunk_nonnegative CHECK (chunk_index >= 0),
  content text NOT NULL,
  embedding vector,
  embedding_model text,
  language text,
  file_type text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  commit_sha text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT code_embeddings_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT code_embeddings_chunk_key UNIQUE (tenant_id, project_id, file_path, chunk_index)
);
CREATE INDEX code_embeddings_path_idx ON code_embeddings (tenant_id, project_id, file_path text_pattern_ops);

SELECT atlas_tenant_table('commits');
SELECT atlas_tenant_table('reviews');
SELECT atlas_tenant_table('code_embeddings');
