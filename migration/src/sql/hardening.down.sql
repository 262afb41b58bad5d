-- Back to the functions of m20261201_000020 (claim) and m20261123_000015 (file access).
GRANT EXECUTE ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) TO atlas_api;
REVOKE ALL ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) FROM atlas_queue;
DROP INDEX IF EXISTS jobs_queued_tenant_idx;
-- The claim of m20261201_000020, word for word.
CREATE OR REPLACE FUNCTION atlas_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_types text[])
RETURNS SETOF jobs LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
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
ALTER FUNCTION atlas_file_granted(uuid, uuid, boolean) SET search_path = public;
ALTER FUNCTION atlas_file_writable(uuid, uuid) SET search_path = public;
ALTER FUNCTION atlas_file_exists(uuid, uuid) SET search_path = public;
DO $$ BEGIN
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END $$;
