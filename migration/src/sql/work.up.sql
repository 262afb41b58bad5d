-- Work: projects (seeds 003 + 004) and tasks (seeds 002 + 004), the first tenant tables of the app.

CREATE TYPE task_status AS ENUM ('pending', 'queued', 'in_progress', 'completed', 'failed', 'cancelled');
CREATE TYPE task_priority AS ENUM ('low', 'medium', 'high', 'critical');

CREATE TABLE projects (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT projects_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  description text,
  owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
  repository_url text,
  github_repo_id bigint,
  default_branch text NOT NULL DEFAULT 'main',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT projects_tenant_name_key UNIQUE (tenant_id, name)
);
CREATE INDEX projects_owner_idx ON projects (tenant_id, owner_id);
CREATE INDEX projects_github_repo_idx ON projects (tenant_id, github_repo_id);
CREATE INDEX projects_created_idx ON projects (tenant_id, created_at);

CREATE TABLE tasks (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  project_id uuid,
  parent_id uuid,
  title text NOT NULL CONSTRAINT tasks_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  description text,
  prompt text,
  status task_status NOT NULL DEFAULT 'pending',
  priority task_priority NOT NULL DEFAULT 'medium',
  result jsonb,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT tasks_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT tasks_parent_fkey FOREIGN KEY (tenant_id, parent_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT tasks_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX tasks_project_idx ON tasks (tenant_id, project_id, created_at);
CREATE INDEX tasks_parent_idx ON tasks (tenant_id, parent_id);
CREATE INDEX tasks_status_idx ON tasks (tenant_id, status);
CREATE INDEX tasks_created_by_idx ON tasks (tenant_id, created_by);

SELECT atlas_tenant_table('projects');
SELECT atlas_tenant_table('tasks');
