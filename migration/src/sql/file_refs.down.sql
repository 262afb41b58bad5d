ALTER TABLE kb_documents DROP COLUMN IF EXISTS source_file_id;
ALTER TABLE projects DROP COLUMN IF EXISTS guidelines_file_id;
