-- Files referenced instead of embedded: a project's guidelines PDF (seed 003 kept it base64 in a
-- column) and the upload a knowledge-base document came from (seed 000's kb_uploads bucket).
ALTER TABLE projects ADD COLUMN guidelines_file_id uuid,
  ADD CONSTRAINT projects_guidelines_file_fkey FOREIGN KEY (tenant_id, guidelines_file_id)
    REFERENCES files (tenant_id, id) ON DELETE SET NULL (guidelines_file_id);
ALTER TABLE kb_documents ADD COLUMN source_file_id uuid,
  ADD CONSTRAINT kb_documents_source_file_fkey FOREIGN KEY (tenant_id, source_file_id)
    REFERENCES files (tenant_id, id) ON DELETE SET NULL (source_file_id);
