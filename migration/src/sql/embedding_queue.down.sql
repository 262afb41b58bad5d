DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['kb_chunks', 'data_records', 'code_embeddings', 'file_chunks'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS embedding_reset ON %I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS embedding_queue_insert ON %I', t);
    EXECUTE format('DROP TRIGGER IF EXISTS embedding_queue_update ON %I', t);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS atlas_embedding_queue(), atlas_embedding_reset();
