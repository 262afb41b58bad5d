-- Settings (seed 003): key-value configuration per tenant, or global (tenant_id null, written by
-- the owner only). Secret values are stored AES-GCM-encrypted by the app and never returned.

CREATE TABLE system_settings (
  id uuid PRIMARY KEY,
  tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
  key text NOT NULL CONSTRAINT system_settings_key_format CHECK (key ~ '^[a-z][a-z0-9_.]{0,127}$'),
  value text,
  secret_value bytea,
  is_secret boolean NOT NULL DEFAULT false,
  description text,
  updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT system_settings_scope_key UNIQUE NULLS NOT DISTINCT (tenant_id, key),
  CONSTRAINT system_settings_secret_shape CHECK ((is_secret AND value IS NULL) OR (NOT is_secret AND secret_value IS NULL))
);

ALTER TABLE system_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE system_settings FORCE ROW LEVEL SECURITY;
-- Everyone reads the global defaults; a tenant reads and writes only its own rows.
CREATE POLICY read_global ON system_settings FOR SELECT USING (tenant_id IS NULL);
CREATE POLICY tenant_isolation ON system_settings
  USING (tenant_id = (SELECT atlas_current_tenant()))
  WITH CHECK (tenant_id = (SELECT atlas_current_tenant()));
GRANT SELECT, INSERT, UPDATE, DELETE ON system_settings TO atlas_api;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON system_settings FOR EACH ROW EXECUTE FUNCTION atlas_touch_updated_at();
