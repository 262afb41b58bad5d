-- Governance: the append-only audit log (seeds 000/001): every mutation writes a row in its own transaction.
-- `tenant_id` is null for system events, which no tenant sees.

CREATE TYPE audit_actor_type AS ENUM ('user', 'system', 'agent');
CREATE TYPE audit_level AS ENUM ('info', 'warn', 'error', 'security');

CREATE TABLE audit_log (
  id uuid PRIMARY KEY,
  tenant_id uuid REFERENCES tenants (id),
  actor_type audit_actor_type NOT NULL DEFAULT 'user',
  actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  actor_external_id text,
  level audit_level NOT NULL DEFAULT 'info',
  action text NOT NULL,
  entity_type text,
  entity_id uuid,
  message text,
  meta jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_created_idx ON audit_log (tenant_id, created_at);
CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity_type, entity_id);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
  USING (tenant_id = (SELECT atlas_current_tenant()))
  WITH CHECK (tenant_id = (SELECT atlas_current_tenant()));
GRANT SELECT, INSERT ON audit_log TO atlas_api;

-- Append-only for every role, the owner included: history is not rewritten.
CREATE FUNCTION atlas_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION atlas_audit_log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION atlas_audit_log_append_only();
