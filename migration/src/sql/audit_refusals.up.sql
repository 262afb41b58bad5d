-- Refusals are audited (issue 15, item 10). A refused request rolls back, and an audit row
-- written in its transaction would roll back with it; so the API records refusals afterwards,
-- in a statement of their own, through this function. It writes only `security`-level rows of
-- action `security.refused`, in the tenant the caller asked for, even when the caller is no
-- member there (that is the attempt worth seeing). A tenant or user that does not exist writes
-- nothing.
CREATE FUNCTION atlas_audit_refusal(p_id uuid, p_tenant uuid, p_user uuid, p_message text, p_meta jsonb)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  -- The row's tenant for the insert policy, in this statement's own transaction only.
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  INSERT INTO public.audit_log (id, tenant_id, actor_type, actor_user_id, level, action, message, meta)
  VALUES (p_id, p_tenant, 'user', p_user, 'security', 'security.refused', left(p_message, 500),
          COALESCE(p_meta, '{}'::jsonb));
  RETURN true;
EXCEPTION WHEN foreign_key_violation THEN
  RETURN false;
END $$;
REVOKE ALL ON FUNCTION atlas_audit_refusal(uuid, uuid, uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_audit_refusal(uuid, uuid, uuid, text, jsonb) TO atlas_api;
