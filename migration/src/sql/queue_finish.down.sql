DROP FUNCTION IF EXISTS atlas_finish_job(uuid, uuid, text, job_status, jsonb, jsonb, timestamptz, uuid, integer, job_status, bigint);
