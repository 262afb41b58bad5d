-- Hardening of the functions that run as the owner (issue 15, items 2 and 4), and a role of its
-- own for workers.
--
-- SECURITY DEFINER functions resolve names with pg_temp last, so a temporary table named like a
-- real one cannot stand in for it; the app role may not create temporary tables at all.
-- Functions that take a tenant answer only for the tenant in scope. Only workers may claim jobs:
-- the claim is the one function that looks across tenants.

-- Workers log in with a role that holds atlas_queue (`atlas migrate` grants it to the user of
-- ATLAS_WORKER_DATABASE_URL); it has atlas_api's privileges and may also claim.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atlas_queue') THEN
    CREATE ROLE atlas_queue NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
GRANT atlas_api TO atlas_queue;

-- Temporary tables: not for the app. TEMP is granted to PUBLIC by default, so it is revoked there;
-- the migrating owner keeps it. A managed database may not let the owner change this: then say so.
DO $$ BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'could not revoke TEMPORARY on this database from PUBLIC: do it as its owner';
END $$;

CREATE OR REPLACE FUNCTION atlas_file_granted(p_tenant uuid, p_file uuid, p_write boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant() AND EXISTS (
    SELECT 1 FROM public.file_permissions p
    WHERE p.tenant_id = p_tenant AND p.file_id = p_file AND (NOT p_write OR p.permission = 'write')
      AND (p.grantee_user_id = atlas_current_user()
        OR p.grantee_space_id IN (SELECT m.space_id FROM public.space_members m
                                  WHERE m.tenant_id = p_tenant AND m.user_id = atlas_current_user())))
$$;

CREATE OR REPLACE FUNCTION atlas_file_writable(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant() AND (
      atlas_current_user() IS NULL
      OR atlas_current_role() IN ('owner', 'admin')
      OR NOT EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
      OR EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file
                 AND f.owner_id = atlas_current_user())
      OR atlas_file_granted(p_tenant, p_file, true))
$$;

CREATE OR REPLACE FUNCTION atlas_file_exists(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant()
     AND EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
$$;

-- Queued jobs by tenant: the fair claim walks the tenants that have any.
CREATE INDEX jobs_queued_tenant_idx ON jobs (tenant_id, priority DESC, scheduled_at) WHERE status = 'queued';

-- The claim, fair across tenants: jobs whose lease expired first; then the due jobs of up to
-- p_limit tenants, an even share each, starting at a tenant drawn at random (so one tenant's
-- 10,000 jobs cannot keep another tenant's one waiting); then, if slots are left (some
-- tenants had fewer due jobs than their share), the rest in priority order. Within a tenant,
-- higher priority first, then earlier run time.
CREATE OR REPLACE FUNCTION atlas_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_types text[])
RETURNS SETOF jobs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_left integer := p_limit;
  v_n integer;
  v_at uuid;
  v_next uuid;
  v_all uuid[] := '{}';
  v_tenants uuid[] := '{}';
  v_tenant uuid;
  v_share integer;
  v_lease interval := make_interval(secs => p_lease_ms / 1000.0);
BEGIN
  RETURN QUERY
  WITH expired AS (
    SELECT tenant_id, id FROM public.jobs
    WHERE status = 'running' AND locked_until < now() AND (p_types IS NULL OR job_type = ANY (p_types))
    LIMIT v_left
    FOR UPDATE SKIP LOCKED
  )
  UPDATE public.jobs j SET status = 'running', locked_by = p_worker, locked_until = now() + v_lease, started_at = now()
    FROM expired WHERE j.tenant_id = expired.tenant_id AND j.id = expired.id
  RETURNING j.*;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  v_left := v_left - v_n;
  IF v_left <= 0 THEN
    RETURN;
  END IF;

  -- Tenants with due jobs of these types (one index probe each, at most 256), then a random
  -- rotation of that list: each claim starts at a tenant drawn at random, so over a few claims
  -- every waiting tenant is served, however many jobs another has.
  v_at := '00000000-0000-0000-0000-000000000000';
  LOOP
    SELECT tenant_id INTO v_next FROM public.jobs
     WHERE status = 'queued' AND tenant_id > v_at AND scheduled_at <= now()
       AND (next_retry_at IS NULL OR next_retry_at <= now()) AND (p_types IS NULL OR job_type = ANY (p_types))
     ORDER BY tenant_id LIMIT 1;
    EXIT WHEN v_next IS NULL;
    v_all := v_all || v_next;
    EXIT WHEN cardinality(v_all) >= 256;
    v_at := v_next;
  END LOOP;
  IF cardinality(v_all) > 0 THEN
    v_n := floor(random() * cardinality(v_all))::integer;
    v_all := v_all[v_n + 1:] || v_all[:v_n];
    v_tenants := v_all[:v_left];
  END IF;

  IF cardinality(v_tenants) > 0 THEN
    v_share := greatest(1, v_left / cardinality(v_tenants));
    FOREACH v_tenant IN ARRAY v_tenants LOOP
      EXIT WHEN v_left <= 0;
      RETURN QUERY
      WITH due AS (
        SELECT tenant_id, id FROM public.jobs
        WHERE tenant_id = v_tenant AND status = 'queued' AND scheduled_at <= now()
          AND (next_retry_at IS NULL OR next_retry_at <= now())
          AND (p_types IS NULL OR job_type = ANY (p_types))
        ORDER BY priority DESC, scheduled_at
        LIMIT least(v_share, v_left)
        FOR UPDATE SKIP LOCKED
      )
      UPDATE public.jobs j SET status = 'running', locked_by = p_worker, locked_until = now() + v_lease, started_at = now()
        FROM due WHERE j.tenant_id = due.tenant_id AND j.id = due.id
      RETURNING j.*;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      v_left := v_left - v_n;
    END LOOP;
  END IF;
  IF v_left <= 0 THEN
    RETURN;
  END IF;

  RETURN QUERY
  WITH due AS (
    SELECT tenant_id, id FROM public.jobs
    WHERE status = 'queued' AND scheduled_at <= now() AND (next_retry_at IS NULL OR next_retry_at <= now())
      AND (p_types IS NULL OR job_type = ANY (p_types))
    ORDER BY priority DESC, scheduled_at
    LIMIT v_left
    FOR UPDATE SKIP LOCKED
  )
  UPDATE public.jobs j SET status = 'running', locked_by = p_worker, locked_until = now() + v_lease, started_at = now()
    FROM due WHERE j.tenant_id = due.tenant_id AND j.id = due.id
  RETURNING j.*;
END $$;
REVOKE ALL ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) FROM PUBLIC, atlas_api;
GRANT EXECUTE ON FUNCTION atlas_claim_jobs(text, integer, integer, text[]) TO atlas_queue;
