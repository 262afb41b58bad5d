-- Ready for Citus (issue 18): a schema that distributes by tenant_id unchanged when one
-- PostgreSQL is outgrown. Citus refuses subqueries in policies, unique keys of a tenant table
-- without tenant_id, and a nullable tenant_id. `atlas citus-ddl` prints the distribution itself;
-- the catalogue test (`api/tests/citus.rs`) keeps these constructs out of later migrations.

-- 1. Policies call the STABLE request functions directly. They are SQL functions, so the planner
-- inlines them into a stable expression, evaluated once per index scan as `(SELECT …)` was.
DO $$
DECLARE
  p record;
  q text;
  c text;
  fn text;
BEGIN
  FOR p IN SELECT * FROM pg_policies WHERE schemaname = 'public' LOOP
    q := p.qual;
    c := p.with_check;
    FOREACH fn IN ARRAY ARRAY['atlas_current_tenant', 'atlas_current_user', 'atlas_current_role'] LOOP
      q := replace(q, format('( SELECT %s() AS %s)', fn, fn), fn || '()');
      c := replace(c, format('( SELECT %s() AS %s)', fn, fn), fn || '()');
    END LOOP;
    IF q IS DISTINCT FROM p.qual THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename, q);
    END IF;
    IF c IS DISTINCT FROM p.with_check THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename, c);
    END IF;
  END LOOP;
END $$;

-- 2. Membership tests move into functions. SECURITY INVOKER on purpose: the rows they read are
-- filtered by the caller's own policies, exactly as the subqueries were. Names are qualified, so
-- that no object of the caller's search path (a temporary table) can stand in for them.
CREATE FUNCTION atlas_is_member(p_tenant uuid) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.tenant_members m
                       WHERE m.tenant_id = p_tenant AND m.user_id = public.atlas_current_user()) $$;
CREATE FUNCTION atlas_is_fellow_member(p_user uuid) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.tenant_members m
                       WHERE m.tenant_id = public.atlas_current_tenant() AND m.user_id = p_user) $$;
CREATE FUNCTION atlas_is_space_member(p_tenant uuid, p_space uuid) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.space_members m
                       WHERE m.tenant_id = p_tenant AND m.space_id = p_space
                         AND m.user_id = public.atlas_current_user()) $$;
-- Whether the caller may see the file (the files policies decide).
CREATE FUNCTION atlas_file_visible(p_tenant uuid, p_file uuid) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file) $$;
GRANT EXECUTE ON FUNCTION atlas_is_member(uuid), atlas_is_fellow_member(uuid),
  atlas_is_space_member(uuid, uuid), atlas_file_visible(uuid, uuid) TO atlas_api;

ALTER POLICY member_of ON tenants USING (atlas_is_member(id));
ALTER POLICY fellow_members ON users USING (atlas_is_fellow_member(id));
ALTER POLICY file_visible ON files USING (
  atlas_current_user() IS NULL
  OR owner_id = atlas_current_user()
  OR visibility IN ('organization', 'public')
  OR atlas_current_role() IN ('owner', 'admin')
  OR (visibility = 'space' AND atlas_is_space_member(tenant_id, space_id))
  OR atlas_file_granted(tenant_id, id, false));
ALTER POLICY file_visible ON file_versions
  USING (NOT atlas_file_exists(tenant_id, file_id) OR atlas_file_visible(tenant_id, file_id));
ALTER POLICY file_visible ON file_chunks
  USING (NOT atlas_file_exists(tenant_id, file_id) OR atlas_file_visible(tenant_id, file_id));
ALTER POLICY file_visible ON file_permissions
  USING (NOT atlas_file_exists(tenant_id, file_id) OR atlas_file_visible(tenant_id, file_id));

-- 3. An invitation token is unique within its tenant (the token names its tenant, and the
-- lookup goes there).
ALTER TABLE invitations DROP CONSTRAINT invitations_token_hash_key;
ALTER TABLE invitations ADD CONSTRAINT invitations_token_hash_key UNIQUE (tenant_id, token_hash);

-- 4. Every audit row belongs to a tenant: events of none are in global_audit_log since
-- m20261202_000024. Rows written before it move there.
ALTER TABLE audit_log DISABLE TRIGGER USER;
INSERT INTO global_audit_log (id, actor_user_id, action, entity_type, entity_id, meta, created_at)
  SELECT id, actor_user_id, action, entity_type, entity_id,
         meta || jsonb_strip_nulls(jsonb_build_object('message', message, 'level', level)), created_at
  FROM audit_log WHERE tenant_id IS NULL;
DELETE FROM audit_log WHERE tenant_id IS NULL;
ALTER TABLE audit_log ENABLE TRIGGER USER;
ALTER TABLE audit_log ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, id);

-- 5. Global defaults leave system_settings for a table of their own (a reference table under
-- Citus, copied to every node); system_settings then holds tenants' rows only. Operators write
-- the defaults as the owner; the app reads them.
CREATE TABLE global_settings (
  key text PRIMARY KEY CONSTRAINT global_settings_key_format CHECK (key ~ '^[a-z][a-z0-9_.]{0,127}$'),
  value text,
  secret_value bytea,
  is_secret boolean NOT NULL DEFAULT false,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT global_settings_secret_shape CHECK ((is_secret AND value IS NULL) OR (NOT is_secret AND secret_value IS NULL))
);
ALTER TABLE global_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE global_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY read_all ON global_settings FOR SELECT USING (true);
GRANT SELECT ON global_settings TO atlas_api;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON global_settings FOR EACH ROW EXECUTE FUNCTION atlas_touch_updated_at();
INSERT INTO global_settings (key, value, secret_value, is_secret, description, created_at, updated_at)
  SELECT key, value, secret_value, is_secret, description, created_at, updated_at
  FROM system_settings WHERE tenant_id IS NULL;
DELETE FROM system_settings WHERE tenant_id IS NULL;
DROP POLICY read_global ON system_settings;
ALTER TABLE system_settings ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE system_settings DROP CONSTRAINT system_settings_pkey;
ALTER TABLE system_settings ADD CONSTRAINT system_settings_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE system_settings DROP CONSTRAINT system_settings_scope_key;
ALTER TABLE system_settings ADD CONSTRAINT system_settings_scope_key UNIQUE (tenant_id, key);
