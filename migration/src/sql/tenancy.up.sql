-- Tenancy: users, tenants, members, invitations, and the helpers every tenant table uses.

-- The role the server's login role is granted (`atlas migrate` grants it to the user of DATABASE_URL).
-- It owns nothing and cannot bypass row-level security; it gets only the privileges granted below.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atlas_api') THEN
    CREATE ROLE atlas_api NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO atlas_api;

CREATE EXTENSION IF NOT EXISTS vector;

-- The request's tenant and user, set with set_config(..., true) right after BEGIN.
-- nullif: once a local setting has been used in a session it reads as '' outside a transaction.
CREATE FUNCTION atlas_current_tenant() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE FUNCTION atlas_current_user() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE FUNCTION atlas_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

-- Every tenant table goes through this: forced RLS with the tenant policy, the app's grants,
-- and updated_at upkeep. One place, so no table can be created half-protected.
CREATE FUNCTION atlas_tenant_table(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = (SELECT atlas_current_tenant())) WITH CHECK (tenant_id = (SELECT atlas_current_tenant()))', tbl);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO atlas_api', tbl);
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = 'updated_at' AND NOT attisdropped) THEN
    EXECUTE format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION atlas_touch_updated_at()', tbl);
  END IF;
END $$;

CREATE TYPE tenant_kind AS ENUM ('personal', 'organization');
CREATE TYPE seat_type AS ENUM ('free_beta', 'pro', 'enterprise');
CREATE TYPE member_role AS ENUM ('owner', 'admin', 'manager', 'member', 'viewer', 'pending');

-- Global: a person may belong to many tenants. `id` is the identity provider's user id (JWT `sub`).
CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL CONSTRAINT users_email_key UNIQUE CONSTRAINT users_email_lower CHECK (email = lower(email) AND email LIKE '%_@_%'),
  name text,
  github_id text CONSTRAINT users_github_id_key UNIQUE,
  avatar_url text,
  must_reset_password boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION atlas_touch_updated_at();

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  slug text NOT NULL CONSTRAINT tenants_slug_key UNIQUE CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name text NOT NULL CONSTRAINT tenants_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  kind tenant_kind NOT NULL DEFAULT 'organization',
  seat_plan seat_type NOT NULL DEFAULT 'free_beta',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION atlas_touch_updated_at();

CREATE TABLE tenant_members (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role member_role NOT NULL DEFAULT 'member',
  seat_type seat_type NOT NULL DEFAULT 'free_beta',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT tenant_members_tenant_user_key UNIQUE (tenant_id, user_id)
);
CREATE INDEX tenant_members_user_idx ON tenant_members (user_id);

CREATE TABLE invitations (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  email text NOT NULL CONSTRAINT invitations_email_lower CHECK (email = lower(email) AND email LIKE '%_@_%'),
  role member_role NOT NULL DEFAULT 'member' CONSTRAINT invitations_role_not_pending CHECK (role <> 'pending'),
  token_hash text NOT NULL CONSTRAINT invitations_token_hash_key UNIQUE,
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  invited_by uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX invitations_tenant_email_idx ON invitations (tenant_id, email);

SELECT atlas_tenant_table('tenant_members');
SELECT atlas_tenant_table('invitations');

-- A user sees their own memberships in every tenant (to list their tenants and choose one),
-- and every membership of the tenant in scope. Policies are OR-ed.
CREATE POLICY own_memberships ON tenant_members FOR SELECT USING (user_id = (SELECT atlas_current_user()));

-- Tenants: the one in scope, and those the user belongs to. A new tenant is inserted with its own
-- id in scope (createTenant sets it first); no app-role deletes.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_in_scope ON tenants USING (id = (SELECT atlas_current_tenant())) WITH CHECK (id = (SELECT atlas_current_tenant()));
CREATE POLICY member_of ON tenants FOR SELECT USING (
  id IN (SELECT m.tenant_id FROM tenant_members m WHERE m.user_id = (SELECT atlas_current_user())));
GRANT SELECT, INSERT, UPDATE ON tenants TO atlas_api;

-- Users: yourself, and the members of the tenant in scope. Only yourself can be inserted or changed.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY self ON users USING (id = (SELECT atlas_current_user())) WITH CHECK (id = (SELECT atlas_current_user()));
CREATE POLICY fellow_members ON users FOR SELECT USING (
  id IN (SELECT m.user_id FROM tenant_members m WHERE m.tenant_id = (SELECT atlas_current_tenant())));
GRANT SELECT, INSERT, UPDATE ON users TO atlas_api;

-- Called once per request transaction, right after BEGIN: scopes the transaction to the tenant and
-- user and returns the user's role there (NULL when not a member), in one round trip.
CREATE FUNCTION atlas_begin(p_tenant uuid, p_user uuid) RETURNS member_role LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true);
  PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
  IF p_tenant IS NULL OR p_user IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT role FROM tenant_members WHERE tenant_id = p_tenant AND user_id = p_user);
END $$;
GRANT EXECUTE ON FUNCTION atlas_begin(uuid, uuid), atlas_current_tenant(), atlas_current_user() TO atlas_api;
