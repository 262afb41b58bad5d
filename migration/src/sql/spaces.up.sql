-- Tenancy, continued (seed 002): personal and organisation-wide spaces and their members.

CREATE TYPE space_visibility AS ENUM ('private', 'public');
CREATE TYPE space_role AS ENUM ('owner', 'editor', 'viewer');

CREATE TABLE spaces (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  -- Set: a person's own space. Null: a space of the whole organisation.
  owner_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT spaces_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug text NOT NULL CONSTRAINT spaces_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  description text,
  visibility space_visibility NOT NULL DEFAULT 'private',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT spaces_owner_slug_key UNIQUE NULLS NOT DISTINCT (tenant_id, owner_user_id, slug)
);
CREATE INDEX spaces_owner_idx ON spaces (tenant_id, owner_user_id);

CREATE TABLE space_members (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  space_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role space_role NOT NULL DEFAULT 'viewer',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT space_members_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT space_members_space_user_key UNIQUE (tenant_id, space_id, user_id)
);
CREATE INDEX space_members_user_idx ON space_members (tenant_id, user_id);

SELECT atlas_tenant_table('spaces');
SELECT atlas_tenant_table('space_members');
