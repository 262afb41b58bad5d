-- Files (seed 002) — metadata; the bytes live in the object store: virtual folders, files with
-- versions, visibility levels and explicit grants, and file text chunks for search.

CREATE TYPE file_visibility AS ENUM ('private', 'space', 'organization', 'public');
CREATE TYPE file_permission AS ENUM ('read', 'write');

CREATE TABLE folders (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  space_id uuid NOT NULL,
  parent_id uuid,
  name text NOT NULL CONSTRAINT folders_name_format CHECK (length(btrim(name)) BETWEEN 1 AND 255 AND position('/' in name) = 0),
  path text NOT NULL DEFAULT '/',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT folders_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT folders_parent_fkey FOREIGN KEY (tenant_id, parent_id) REFERENCES folders (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT folders_sibling_name_key UNIQUE NULLS NOT DISTINCT (tenant_id, space_id, parent_id, name),
  CONSTRAINT folders_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX folders_parent_idx ON folders (tenant_id, parent_id);

CREATE TABLE files (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  space_id uuid,
  folder_id uuid,
  owner_id uuid NOT NULL REFERENCES users (id),
  name text NOT NULL CONSTRAINT files_name_format CHECK (length(btrim(name)) BETWEEN 1 AND 255 AND position('/' in name) = 0),
  content_type text NOT NULL DEFAULT 'application/octet-stream',
  size bigint NOT NULL DEFAULT 0 CONSTRAINT files_size_nonnegative CHECK (size >= 0),
  sha256 text CONSTRAINT files_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  storage_key text,
  visibility file_visibility NOT NULL DEFAULT 'private',
  current_version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT files_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT files_folder_fkey FOREIGN KEY (tenant_id, folder_id) REFERENCES folders (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT files_folder_name_key UNIQUE NULLS NOT DISTINCT (tenant_id, space_id, folder_id, name)
);
CREATE INDEX files_folder_idx ON files (tenant_id, folder_id);
CREATE INDEX files_owner_idx ON files (tenant_id, owner_id);

CREATE TABLE file_versions (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  file_id uuid NOT NULL,
  version integer NOT NULL CONSTRAINT file_versions_version_positive CHECK (version >= 1),
  content_type text NOT NULL DEFAULT 'application/octet-stream',
  size bigint NOT NULL DEFAULT 0,
  sha256 text,
  storage_key text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT file_versions_file_fkey FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT file_versions_file_version_key UNIQUE (tenant_id, file_id, version)
);

CREATE TABLE file_permissions (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  file_id uuid NOT NULL,
  grantee_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  grantee_space_id uuid,
  permission file_permission NOT NULL DEFAULT 'read',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT file_permissions_file_fkey FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT file_permissions_space_fkey FOREIGN KEY (tenant_id, grantee_space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT file_permissions_one_grantee CHECK (num_nonnulls(grantee_user_id, grantee_space_id) = 1)
);
CREATE INDEX file_permissions_file_idx ON file_permissions (tenant_id, file_id);

CREATE TABLE file_chunks (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  file_id uuid NOT NULL,
  chunk_index integer NOT NULL DEFAULT 0,
  content text NOT NULL,
  embedding vector,
  embedding_model text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT file_chunks_file_fkey FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT file_chunks_file_index_key UNIQUE (tenant_id, file_id, chunk_index)
);

SELECT atlas_tenant_table('folders');
SELECT atlas_tenant_table('files');
SELECT atlas_tenant_table('file_versions');
SELECT atlas_tenant_table('file_permissions');
SELECT atlas_tenant_table('file_chunks');
