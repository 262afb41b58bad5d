-- The end of a job attempt in one call: the job's new state and its job_results row, in the job's
-- tenant, only while `p_worker` still holds the lease (false, and nothing written, otherwise).
-- One statement in its own transaction instead of BEGIN, the tenant setup, UPDATE, INSERT and
-- COMMIT: a no-op job's cost was mostly those round trips and statements. SECURITY INVOKER: the
-- caller's role and the tenant's row-level security apply, as they did to the statements.
CREATE FUNCTION atlas_finish_job(
  p_tenant uuid, p_id uuid, p_worker text, p_status job_status, p_output jsonb, p_error jsonb,
  p_next_retry timestamptz, p_result_id uuid, p_attempt integer, p_result_status job_status, p_duration_ms bigint
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM atlas_begin(p_tenant, NULL);
  UPDATE jobs SET status = p_status, output = coalesce(p_output, output), error = p_error,
         retry_count = CASE WHEN p_status = 'queued' THEN retry_count + 1 ELSE retry_count END,
         next_retry_at = p_next_retry,
         completed_at = CASE WHEN p_status IN ('succeeded', 'failed') THEN now() END,
         progress = CASE WHEN p_status = 'succeeded' THEN 1 ELSE progress END,
         locked_by = NULL, locked_until = NULL
   WHERE tenant_id = p_tenant AND id = p_id AND locked_by = p_worker AND status = 'running';
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO job_results (tenant_id, id, job_id, attempt, status, output, error, worker, started_at, finished_at, duration_ms)
  VALUES (p_tenant, p_result_id, p_id, p_attempt, p_result_status, p_output, p_error, p_worker,
          now() - make_interval(secs => p_duration_ms / 1000.0), now(), p_duration_ms);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION atlas_finish_job(uuid, uuid, text, job_status, jsonb, jsonb, timestamptz, uuid, integer, job_status, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_finish_job(uuid, uuid, text, job_status, jsonb, jsonb, timestamptz, uuid, integer, job_status, bigint) TO atlas_api;
