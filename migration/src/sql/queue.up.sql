-- The job queue's engine: workers claim due jobs across tenants (and jobs whose lease expired)
-- with FOR UPDATE SKIP LOCKED, highest priority first, then earliest run time. Every change of a
-- job's status or progress is announced with pg_notify in the same transaction.

-- SECURITY DEFINER: claiming looks across tenants, which the app role cannot; it only ever hands
-- the claimed rows to the worker, which then works on each inside that job's own tenant.
CREATE FUNCTION atlas_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_types text[])
RETURNS SETOF jobs LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  WITH due AS (
    SELECT tenant_id, id FROM jobs
    WHERE ((status = 'queued' AND scheduled_at <= now() AND (next_retry_at IS NULL OR next_retry_at <= now()))
        OR (status = 'running' AND locked_until < now()))
      AND (p_types IS NULL OR job_type = ANY (p_types))
    ORDER BY priority DESC, scheduled_at, id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  )
  UPDATE jobs j
     SET status = 'running', locked_by = p_worker, locked_until = now() + make_interval(secs => p_lease_ms / 1000.0),
         started_at = now()
    FROM due
   WHERE j.tenant_id = due.tenant_id AND j.id = due.id
  RETURNING j.*;
$$;
REVOKE ALL ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) TO atlas_api;
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';

CREATE FUNCTION atlas_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atlas_events', json_build_object(
    'tenant_id', NEW.tenant_id, 'entity', 'jobs', 'id', NEW.id,
    'op', CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END, 'parent_id', NULL)::text);
  IF NEW.status = 'queued' THEN
    -- Wakes idle workers; the payload is the job type, so a worker can skip types it does not run.
    PERFORM pg_notify('atlas_jobs', NEW.job_type);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OF status, progress ON jobs
  FOR EACH ROW EXECUTE FUNCTION atlas_jobs_notify();
