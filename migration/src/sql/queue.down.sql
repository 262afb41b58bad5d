DROP TRIGGER IF EXISTS notify_change ON jobs;
DROP FUNCTION IF EXISTS atlas_jobs_notify();
DROP INDEX IF EXISTS jobs_lease_idx;
DROP FUNCTION IF EXISTS atlas_claim_jobs(text, integer, integer, text[]);
