DROP FUNCTION IF EXISTS atlas_audit_refusal(uuid, uuid, uuid, text, jsonb);
