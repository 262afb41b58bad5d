-- Security events that belong to no tenant (issue 15, item 10): a user provisioned from a token
-- (who belongs to no tenant yet), a token minted without a tenant. A table of its own rather
-- than audit_log rows with a null tenant, so that audit_log's tenant_id can be its distribution
-- key when Atlas outgrows one PostgreSQL (issue 18). Append-only, as audit_log; the app role
-- writes and never reads it (operators read it as the owner).
CREATE TABLE global_audit_log (
  id uuid PRIMARY KEY,
  actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  action text NOT NULL,
  entity_type text,
  entity_id uuid,
  meta jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX global_audit_log_created_idx ON global_audit_log (created_at);
ALTER TABLE global_audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE global_audit_log FORCE ROW LEVEL SECURITY;
-- Inserts only, of the caller's own events (or Atlas's, with no user in scope).
CREATE POLICY own_events ON global_audit_log FOR INSERT
  WITH CHECK (actor_user_id IS NOT DISTINCT FROM atlas_current_user());
GRANT INSERT ON global_audit_log TO atlas_api;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON global_audit_log
  FOR EACH ROW EXECUTE FUNCTION atlas_audit_log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON global_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION atlas_audit_log_append_only();
