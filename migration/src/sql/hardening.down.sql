-- Back to the logic and grants of m20261201_000020 (claim) and m20261123_000015 (file access).
-- Rolling back must not reopen a hole, so the functions keep the hardened search_path (pg_temp
-- last) and TEMP stays revoked from PUBLIC.
GRANT EXECUTE ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) TO atlas_api;
REVOKE ALL ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) FROM atlas_queue;
DROP INDEX IF EXISTS jobs_queued_tenant_idx;
-- The claim of m20261201_000020, with the hardened search_path.
CREATE OR REPLACE FUNCTION atlas_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_types text[])
RETURNS SETOF jobs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  RETURN QUERY
  WITH expired AS (
    SELECT tenant_id, id FROM jobs
    WHERE status = 'running' AND locked_until < now() AND (p_types IS NULL OR job_type = ANY (p_types))
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), queued AS (
    SELECT tenant_id, id FROM jobs
    WHERE status = 'queued' AND scheduled_at <= now() AND (next_retry_at IS NULL OR next_retry_at <= now())
      AND (p_types IS NULL OR job_type = ANY (p_types))
    ORDER BY priority DESC, scheduled_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), due AS (
    SELECT * FROM expired UNION ALL SELECT * FROM queued LIMIT p_limit
  )
  UPDATE jobs j
     SET status = 'running', locked_by = p_worker, locked_until = now() + make_interval(secs => p_lease_ms / 1000.0),
         started_at = now()
    FROM due
   WHERE j.tenant_id = due.tenant_id AND j.id = due.id
  RETURNING j.*;
END $$;
-- The file functions of m20261123_000015, without the tenant-in-scope checks.
CREATE OR REPLACE FUNCTION atlas_file_granted(p_tenant uuid, p_file uuid, p_write boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM file_permissions p
    WHERE p.tenant_id = p_tenant AND p.file_id = p_file AND (NOT p_write OR p.permission = 'write')
      AND (p.grantee_user_id = atlas_current_user()
        OR p.grantee_space_id IN (SELECT m.space_id FROM space_members m
                                  WHERE m.tenant_id = p_tenant AND m.user_id = atlas_current_user())))
$$;
CREATE OR REPLACE FUNCTION atlas_file_writable(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT atlas_current_user() IS NULL
      OR atlas_current_role() IN ('owner', 'admin')
      OR NOT EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
      OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file AND f.owner_id = atlas_current_user())
      OR atlas_file_granted(p_tenant, p_file, true)
$$;
CREATE OR REPLACE FUNCTION atlas_file_exists(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
$$;
