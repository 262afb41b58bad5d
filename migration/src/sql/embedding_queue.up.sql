-- Vectors follow content: changing a row's text clears its vector, and any write leaving rows of
-- a tenant without one queues an EMBED job for that table (unless one is already queued). Data
-- records of a CSV ingest are left to the ingest's own EMBED job.
CREATE FUNCTION atlas_embedding_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.content IS DISTINCT FROM OLD.content THEN
    NEW.embedding := NULL;
    NEW.embedding_model := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION atlas_embedding_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target text := TG_ARGV[0];
BEGIN
  IF TG_TABLE_NAME = 'data_records' THEN
    INSERT INTO jobs (tenant_id, id, job_type, input, max_retries)
    SELECT d.tenant_id, gen_random_uuid(), 'EMBED', jsonb_build_object('target', target, 'ingest_job_id', NULL), 5
    FROM (SELECT DISTINCT tenant_id FROM written WHERE embedding IS NULL AND ingest_job_id IS NULL) d
    WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = d.tenant_id AND j.job_type = 'EMBED'
                        AND j.status = 'queued' AND j.input->>'target' = target AND j.input->>'ingest_job_id' IS NULL);
  ELSE
    INSERT INTO jobs (tenant_id, id, job_type, input, max_retries)
    SELECT d.tenant_id, gen_random_uuid(), 'EMBED', jsonb_build_object('target', target, 'ingest_job_id', NULL), 5
    FROM (SELECT DISTINCT tenant_id FROM written WHERE embedding IS NULL) d
    WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = d.tenant_id AND j.job_type = 'EMBED'
                        AND j.status = 'queued' AND j.input->>'target' = target AND j.input->>'ingest_job_id' IS NULL);
  END IF;
  RETURN NULL;
END $$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['kb_chunks', 'data_records', 'code_embeddings', 'file_chunks'] LOOP
    EXECUTE format('CREATE TRIGGER embedding_reset BEFORE UPDATE OF content ON %I FOR EACH ROW EXECUTE FUNCTION atlas_embedding_reset()', t);
    EXECUTE format('CREATE TRIGGER embedding_queue_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS written '
                   'FOR EACH STATEMENT EXECUTE FUNCTION atlas_embedding_queue(%L)', t, t);
    EXECUTE format('CREATE TRIGGER embedding_queue_update AFTER UPDATE ON %I REFERENCING NEW TABLE AS written '
                   'FOR EACH STATEMENT EXECUTE FUNCTION atlas_embedding_queue(%L)', t, t);
  END LOOP;
END $$;
