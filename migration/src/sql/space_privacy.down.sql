DROP POLICY draft_visible ON kb_document_tags;
DROP POLICY draft_visible ON kb_chunks;
DROP POLICY draft_visible ON kb_documents;
DROP FUNCTION atlas_document_readable(uuid, uuid);
DROP FUNCTION atlas_delete_account(uuid, uuid);
DROP FUNCTION atlas_hand_over_spaces(uuid, uuid, uuid, uuid);
CREATE OR REPLACE FUNCTION atlas_begin(p_tenant uuid, p_user uuid) RETURNS member_role LANGUAGE plpgsql AS $$
DECLARE
  v_role member_role;
BEGIN
  PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true);
  PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
  IF p_tenant IS NULL OR p_user IS NULL THEN
    PERFORM set_config('app.role', '', true);
    RETURN NULL;
  END IF;
  v_role := (SELECT role FROM tenant_members WHERE tenant_id = p_tenant AND user_id = p_user);
  PERFORM set_config('app.role', coalesce(v_role::text, ''), true);
  RETURN v_role;
END $$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['chats', 'tasks', 'folders'] LOOP
    EXECUTE format('DROP TRIGGER cascade_check ON %I', t);
  END LOOP;
END $$;
DROP FUNCTION atlas_cascade_check();
DROP TRIGGER member_gone ON tenant_members;
DROP FUNCTION atlas_member_gone();
DROP TRIGGER folder_delete_check ON folders;
DROP FUNCTION atlas_folder_delete_check();
DROP FUNCTION atlas_folder_foreign_files(uuid, uuid);
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
ALTER POLICY file_visible ON files USING (
  atlas_current_user() IS NULL
  OR owner_id = atlas_current_user()
  OR visibility IN ('organization', 'public')
  OR atlas_current_role() IN ('owner', 'admin')
  OR (visibility = 'space' AND atlas_is_space_member(tenant_id, space_id))
  OR atlas_file_granted(tenant_id, id, false));
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['task_output', 'executions'] LOOP
    EXECUTE format('DROP TRIGGER task_space ON %I', t);
    EXECUTE format('DROP POLICY task_visible ON %I', t);
    EXECUTE format('DROP POLICY task_insert ON %I', t);
    EXECUTE format('DROP POLICY task_update ON %I', t);
    EXECUTE format('DROP POLICY task_delete ON %I', t);
  END LOOP;
END $$;
DROP FUNCTION atlas_task_writable(uuid, uuid);
DROP TRIGGER task_moved ON tasks;
DROP FUNCTION atlas_task_moved();
DROP FUNCTION atlas_task_space();
ALTER TABLE task_output DROP COLUMN space_id;
ALTER TABLE executions DROP COLUMN space_id;
DROP POLICY chat_delete ON chat_streams;
DROP POLICY chat_update ON chat_streams;
DROP POLICY chat_insert ON chat_streams;
DROP POLICY chat_visible ON chat_streams;
DROP POLICY chat_delete ON messages;
DROP POLICY own_message_update ON messages;
DROP POLICY chat_insert ON messages;
DROP POLICY chat_visible ON messages;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['notes', 'folders', 'tasks', 'chats', 'files'] LOOP
    EXECUTE format('DROP TRIGGER space_move_check ON %I', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['notes', 'folders', 'tasks', 'chats'] LOOP
    EXECUTE format('DROP POLICY space_content_insert ON %I', t);
    EXECUTE format('DROP POLICY space_content_visible ON %I', t);
    EXECUTE format('DROP POLICY space_content_update ON %I', t);
    EXECUTE format('DROP POLICY space_content_delete ON %I', t);
  END LOOP;
END $$;
DROP FUNCTION atlas_space_move_check();
DROP TRIGGER creator_joins ON spaces;
DROP FUNCTION atlas_space_creator_joins();
DROP POLICY space_member_delete ON space_members;
DROP POLICY space_member_update ON space_members;
DROP POLICY space_member_insert ON space_members;
DROP POLICY space_member_visible ON space_members;
DROP POLICY space_delete ON spaces;
DROP POLICY space_update ON spaces;
DROP POLICY space_insert ON spaces;
DROP POLICY space_visible ON spaces;
DROP FUNCTION atlas_chat_role(uuid, uuid);
DROP FUNCTION atlas_space_role(uuid, uuid);
DROP POLICY tombstones ON users;
ALTER TABLE users DROP COLUMN deleted_at;
DROP INDEX folders_created_by_idx;
DROP INDEX notes_created_by_idx;
DROP INDEX tasks_space_idx;
DROP TRIGGER task_parent_space ON tasks;
DROP FUNCTION atlas_task_parent_space();
ALTER TABLE tasks DROP CONSTRAINT tasks_project_or_space;
ALTER TABLE tasks DROP COLUMN space_id;
