DROP TABLE IF EXISTS notes, kb_document_tags, kb_tags, kb_chunks, kb_documents CASCADE;
DROP TYPE IF EXISTS kb_status;
