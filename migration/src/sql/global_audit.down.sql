DROP TABLE IF EXISTS global_audit_log;
