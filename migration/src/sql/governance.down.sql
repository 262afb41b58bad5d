DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS atlas_audit_log_append_only();
DROP TYPE IF EXISTS audit_level, audit_actor_type;
