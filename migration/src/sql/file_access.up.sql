-- File access (seed 002): who may see and change a file is enforced by the database itself, so
-- every read path (lists, relations, search, downloads) obeys it. Folder paths kept current by
-- triggers, with cycle checks. Objects of deleted file versions are queued for removal from the
-- object store.

-- The caller's role in the tenant, set by atlas_begin with the other request settings.
CREATE FUNCTION atlas_current_role() RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.role', true), '') $$;
GRANT EXECUTE ON FUNCTION atlas_current_role() TO atlas_api;

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

-- Whether the current user holds a grant on the file (directly, or through a space they belong
-- to). SECURITY DEFINER: the grants table follows the file's own visibility, which asks this.
CREATE FUNCTION atlas_file_granted(p_tenant uuid, p_file uuid, p_write boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT EXISTS (
    SELECT 1 FROM file_permissions p
    WHERE p.tenant_id = p_tenant AND p.file_id = p_file AND (NOT p_write OR p.permission = 'write')
      AND (p.grantee_user_id = atlas_current_user()
        OR p.grantee_space_id IN (SELECT m.space_id FROM space_members m
                                  WHERE m.tenant_id = p_tenant AND m.user_id = atlas_current_user())))
$$;
REVOKE ALL ON FUNCTION atlas_file_granted(uuid, uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_file_granted(uuid, uuid, boolean) TO atlas_api;

-- Writable: Atlas itself (no user), the owner, tenant owners and admins, write grants. A file
-- that does not exist in the tenant counts as writable, so the foreign key reports it.
CREATE FUNCTION atlas_file_writable(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT atlas_current_user() IS NULL
      OR atlas_current_role() IN ('owner', 'admin')
      OR NOT EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
      OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file AND f.owner_id = atlas_current_user())
      OR atlas_file_granted(p_tenant, p_file, true)
$$;
REVOKE ALL ON FUNCTION atlas_file_writable(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_file_writable(uuid, uuid) TO atlas_api;

-- Visible: private (owner), space (members of its space), organization and public (any member),
-- plus grants; tenant owners and admins see all, and so does Atlas itself.
CREATE POLICY file_visible ON files AS RESTRICTIVE FOR SELECT USING (
  (SELECT atlas_current_user()) IS NULL
  OR owner_id = (SELECT atlas_current_user())
  OR visibility IN ('organization', 'public')
  OR (SELECT atlas_current_role()) IN ('owner', 'admin')
  OR (visibility = 'space' AND space_id IN (SELECT m.space_id FROM space_members m
        WHERE m.tenant_id = files.tenant_id AND m.user_id = (SELECT atlas_current_user())))
  OR atlas_file_granted(tenant_id, id, false));
CREATE POLICY file_writable_update ON files AS RESTRICTIVE FOR UPDATE USING (atlas_file_writable(tenant_id, id));
CREATE POLICY file_writable_delete ON files AS RESTRICTIVE FOR DELETE USING (atlas_file_writable(tenant_id, id));

-- Whether the file exists in the tenant at all, whoever may see it.
CREATE FUNCTION atlas_file_exists(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
$$;
REVOKE ALL ON FUNCTION atlas_file_exists(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_file_exists(uuid, uuid) TO atlas_api;

-- Versions, chunks and grants follow their file: seen with it (the subquery on files is itself
-- filtered), written by those who may write it. A row naming no file of the tenant passes here
-- (an INSERT … RETURNING is checked against these too), so its foreign key reports it.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['file_versions', 'file_chunks', 'file_permissions'] LOOP
    EXECUTE format('CREATE POLICY file_visible ON %1$I AS RESTRICTIVE FOR SELECT USING (NOT atlas_file_exists(tenant_id, file_id) '
      'OR EXISTS (SELECT 1 FROM files f WHERE f.tenant_id = %1$I.tenant_id AND f.id = %1$I.file_id))', t);
  END LOOP;
END $$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['file_versions', 'file_chunks', 'file_permissions'] LOOP
    EXECUTE format('CREATE POLICY file_insert ON %I AS RESTRICTIVE FOR INSERT WITH CHECK (atlas_file_writable(tenant_id, file_id))', t);
    EXECUTE format('CREATE POLICY file_update ON %I AS RESTRICTIVE FOR UPDATE USING (atlas_file_writable(tenant_id, file_id))', t);
    EXECUTE format('CREATE POLICY file_delete ON %I AS RESTRICTIVE FOR DELETE USING (atlas_file_writable(tenant_id, file_id))', t);
  END LOOP;
END $$;

-- Folder paths: '/a/b/' from the parent's path; moving a folder re-derives its subtree.
CREATE FUNCTION atlas_folder_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent folders%ROWTYPE;
BEGIN
  IF NEW.parent_id IS NULL THEN
    NEW.path := '/' || NEW.name || '/';
    RETURN NEW;
  END IF;
  SELECT * INTO parent FROM folders WHERE tenant_id = NEW.tenant_id AND id = NEW.parent_id;
  IF NOT FOUND THEN
    RETURN NEW; -- the foreign key reports it
  END IF;
  IF parent.space_id <> NEW.space_id THEN
    RAISE EXCEPTION 'a folder''s parent must be in the same space'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'folders_parent_same_space';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.parent_id IS DISTINCT FROM OLD.parent_id AND starts_with(parent.path, OLD.path) THEN
    RAISE EXCEPTION 'a folder cannot move into itself or one of its subfolders'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'folders_no_cycle';
  END IF;
  NEW.path := parent.path || NEW.name || '/';
  RETURN NEW;
END $$;
CREATE TRIGGER folder_path BEFORE INSERT OR UPDATE OF name, parent_id, path ON folders
  FOR EACH ROW EXECUTE FUNCTION atlas_folder_path();

CREATE FUNCTION atlas_folder_subtree() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.path IS DISTINCT FROM OLD.path THEN
    -- Touching the children re-runs folder_path on them, and so on down the tree.
    UPDATE folders SET path = path WHERE tenant_id = NEW.tenant_id AND parent_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
-- Not "UPDATE OF path": a move sets parent_id, and the path changes only inside folder_path.
CREATE TRIGGER folder_subtree AFTER UPDATE ON folders
  FOR EACH ROW EXECUTE FUNCTION atlas_folder_subtree();
UPDATE folders SET path = path WHERE parent_id IS NULL;

-- Objects whose version rows are gone (a file, folder or space deleted): removed from the store
-- by the STORAGE_GC job, queued in the same transaction.
CREATE TABLE storage_garbage (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  storage_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
SELECT atlas_tenant_table('storage_garbage');

CREATE FUNCTION atlas_file_versions_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO storage_garbage (tenant_id, storage_key)
    SELECT tenant_id, storage_key FROM gone WHERE storage_key IS NOT NULL;
  INSERT INTO jobs (tenant_id, id, job_type, max_retries)
    SELECT DISTINCT tenant_id, gen_random_uuid(), 'STORAGE_GC', 10 FROM gone WHERE storage_key IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER objects_gone AFTER DELETE ON file_versions REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION atlas_file_versions_gone();
