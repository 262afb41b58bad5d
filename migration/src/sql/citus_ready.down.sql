ALTER TABLE system_settings DROP CONSTRAINT system_settings_scope_key;
ALTER TABLE system_settings ADD CONSTRAINT system_settings_scope_key UNIQUE NULLS NOT DISTINCT (tenant_id, key);
ALTER TABLE system_settings DROP CONSTRAINT system_settings_pkey;
ALTER TABLE system_settings ADD CONSTRAINT system_settings_pkey PRIMARY KEY (id);
ALTER TABLE system_settings ALTER COLUMN tenant_id DROP NOT NULL;
CREATE POLICY read_global ON system_settings FOR SELECT USING (tenant_id IS NULL);
INSERT INTO system_settings (id, tenant_id, key, value, secret_value, is_secret, description, created_at, updated_at)
  SELECT gen_random_uuid(), NULL, key, value, secret_value, is_secret, description, created_at, updated_at
  FROM global_settings;
DROP TABLE global_settings;

ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);
ALTER TABLE audit_log ALTER COLUMN tenant_id DROP NOT NULL;

ALTER TABLE invitations DROP CONSTRAINT invitations_token_hash_key;
ALTER TABLE invitations ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);

ALTER POLICY member_of ON tenants USING (id IN (SELECT m.tenant_id FROM tenant_members m WHERE m.user_id = (SELECT atlas_current_user())));
ALTER POLICY fellow_members ON users USING (id IN (SELECT m.user_id FROM tenant_members m WHERE m.tenant_id = (SELECT atlas_current_tenant())));
ALTER POLICY file_visible ON files USING (
  (SELECT atlas_current_user()) IS NULL
  OR owner_id = (SELECT atlas_current_user())
  OR visibility IN ('organization', 'public')
  OR (SELECT atlas_current_role()) IN ('owner', 'admin')
  OR (visibility = 'space' AND space_id IN (SELECT m.space_id FROM space_members m
                                            WHERE m.tenant_id = files.tenant_id AND m.user_id = (SELECT atlas_current_user())))
  OR atlas_file_granted(tenant_id, id, false));
ALTER POLICY file_visible ON file_versions USING (NOT atlas_file_exists(tenant_id, file_id)
  OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = file_versions.tenant_id AND f.id = file_versions.file_id));
ALTER POLICY file_visible ON file_chunks USING (NOT atlas_file_exists(tenant_id, file_id)
  OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = file_chunks.tenant_id AND f.id = file_chunks.file_id));
ALTER POLICY file_visible ON file_permissions USING (NOT atlas_file_exists(tenant_id, file_id)
  OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = file_permissions.tenant_id AND f.id = file_permissions.file_id));
DROP FUNCTION atlas_file_visible(uuid, uuid);
DROP FUNCTION atlas_is_space_member(uuid, uuid);
DROP FUNCTION atlas_is_fellow_member(uuid);
DROP FUNCTION atlas_is_member(uuid);

-- The remaining policies take back their `(SELECT …)` form.
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
      q := regexp_replace(q, '(?<!SELECT )' || fn || '\(\)', '(SELECT ' || fn || '())', 'g');
      c := regexp_replace(c, '(?<!SELECT )' || fn || '\(\)', '(SELECT ' || fn || '())', 'g');
    END LOOP;
    IF q IS DISTINCT FROM p.qual THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename, q);
    END IF;
    IF c IS DISTINCT FROM p.with_check THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename, c);
    END IF;
  END LOOP;
END $$;
