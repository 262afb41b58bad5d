DROP TRIGGER IF EXISTS objects_gone ON file_versions;
DROP FUNCTION IF EXISTS atlas_file_versions_gone();
DROP TABLE IF EXISTS storage_garbage;
DROP TRIGGER IF EXISTS folder_subtree ON folders;
DROP TRIGGER IF EXISTS folder_path ON folders;
DROP FUNCTION IF EXISTS atlas_folder_subtree(), atlas_folder_path();
DROP POLICY IF EXISTS file_visible ON files;
DROP POLICY IF EXISTS file_writable_update ON files;
DROP POLICY IF EXISTS file_writable_delete ON files;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['file_versions', 'file_chunks', 'file_permissions'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS file_visible ON %I', t);
    EXECUTE format('DROP POLICY IF EXISTS file_insert ON %I', t);
    EXECUTE format('DROP POLICY IF EXISTS file_update ON %I', t);
    EXECUTE format('DROP POLICY IF EXISTS file_delete ON %I', t);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS atlas_file_exists(uuid, uuid), atlas_file_writable(uuid, uuid), atlas_file_granted(uuid, uuid, boolean), atlas_current_role();
