-- Spaces privacy (issue 16, seed 002): what a space holds is visible to those the space admits,
-- enforced by row-level security, so lists, relations, totals, search, subscriptions and the
-- planner obey it with no service code of their own.
--
-- The caller's role in a space (README "Who sees what"):
--   a personal space (owner_user_id set): its owner is 'owner'; explicit members have their role;
--   an organisation space: tenant OWNER and ADMIN are 'owner'; members have their role; PUBLIC
--     spaces are 'viewer' to every other member of the tenant;
--   Atlas itself (no user: job handlers) is 'owner' everywhere.
-- Reading needs any role; writing needs 'editor' or 'owner', or authorship of the row.
--
-- The new policies are restrictive and apply to atlas_api (the server's and workers' roles), as
-- a lock on what clients reach; Atlas's own SECURITY DEFINER functions keep the tenant policy.

-- Tasks of seed 002 live in spaces; project tasks leave it empty.
ALTER TABLE tasks ADD COLUMN space_id uuid;
ALTER TABLE tasks ADD CONSTRAINT tasks_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE;
CREATE INDEX tasks_space_idx ON tasks (tenant_id, space_id);
-- A task is in a project or in a space, never both, and a subtask is in its parent's space: so a
-- project's or a parent task's delete never cascades into a space the deleter may not see.
ALTER TABLE tasks ADD CONSTRAINT tasks_project_or_space CHECK (project_id IS NULL OR space_id IS NULL);
-- SECURITY DEFINER: the parent is compared whether or not the caller sees it (the foreign key
-- does not look through row-level security either).
CREATE FUNCTION atlas_task_parent_space() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_found boolean;
  v_space uuid;
BEGIN
  IF NEW.parent_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT true, t.space_id INTO v_found, v_space FROM public.tasks t WHERE t.tenant_id = NEW.tenant_id AND t.id = NEW.parent_id;
  IF v_found AND v_space IS DISTINCT FROM NEW.space_id THEN
    RAISE EXCEPTION 'a subtask must be in its parent''s space'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_parent_same_space';
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION atlas_task_parent_space() FROM PUBLIC;
CREATE TRIGGER task_parent_space BEFORE INSERT OR UPDATE OF parent_id, space_id ON tasks
  FOR EACH ROW EXECUTE FUNCTION atlas_task_parent_space();
CREATE INDEX notes_created_by_idx ON notes (tenant_id, created_by);
CREATE INDEX folders_created_by_idx ON folders (tenant_id, created_by);

-- A deleted account keeps its row as a tombstone author, so that foreign keys and the audit log
-- stay valid; its tokens are refused from then on.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
-- A tombstone holds nothing personal, and every member may see it as the author it stands for.
CREATE POLICY tombstones ON users FOR SELECT USING (deleted_at IS NOT NULL);

-- The caller's role in the space, or NULL. A space that does not exist answers 'owner': a row
-- naming it then reaches its foreign key, which reports it; and the one row checked before it
-- exists is a space being inserted (INSERT … RETURNING checks the new row against the read policy
-- first), which the insert policy has already checked. Another tenant's space does not exist here.
CREATE FUNCTION atlas_space_role(p_tenant uuid, p_space uuid) RETURNS space_role
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE
    WHEN p_space IS NULL OR p_tenant IS DISTINCT FROM atlas_current_tenant() THEN NULL
    WHEN atlas_current_user() IS NULL OR s.id IS NULL THEN 'owner'::public.space_role
    WHEN atlas_current_role() IS NULL OR atlas_current_role() = 'pending' THEN NULL
    WHEN s.owner_user_id = atlas_current_user() THEN 'owner'
    WHEN s.owner_user_id IS NULL AND atlas_current_role() IN ('owner', 'admin') THEN 'owner'
    WHEN m.role IS NOT NULL THEN m.role
    WHEN s.owner_user_id IS NULL AND s.visibility = 'public' THEN 'viewer'
  END
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN public.spaces s ON s.tenant_id = p_tenant AND s.id = p_space
  LEFT JOIN public.space_members m ON m.tenant_id = p_tenant AND m.space_id = p_space
    AND m.user_id = atlas_current_user()
$$;
REVOKE ALL ON FUNCTION atlas_space_role(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_space_role(uuid, uuid) TO atlas_api;

-- The caller's role in a chat: its space's, or for a chat outside spaces, 'owner' to its creator
-- and nothing to anyone else. A chat that does not exist answers 'owner', as above.
CREATE FUNCTION atlas_chat_role(p_tenant uuid, p_chat uuid) RETURNS space_role
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE
    WHEN p_chat IS NULL OR p_tenant IS DISTINCT FROM atlas_current_tenant() THEN NULL
    WHEN atlas_current_user() IS NULL OR c.id IS NULL THEN 'owner'::public.space_role
    WHEN c.space_id IS NOT NULL THEN atlas_space_role(p_tenant, c.space_id)
    WHEN c.created_by = atlas_current_user() THEN 'owner'
  END
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN public.chats c ON c.tenant_id = p_tenant AND c.id = p_chat
$$;
REVOKE ALL ON FUNCTION atlas_chat_role(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_chat_role(uuid, uuid) TO atlas_api;

-- Spaces: seen by whoever has a role there, and by tenant owners and admins, who manage every
-- space (rename, delete, transfer) without reading a personal space's content.
CREATE POLICY space_visible ON spaces AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (atlas_space_role(tenant_id, id) IS NOT NULL OR atlas_current_role() IN ('owner', 'admin'));
CREATE POLICY space_insert ON spaces AS RESTRICTIVE FOR INSERT TO atlas_api
  WITH CHECK (atlas_current_user() IS NULL OR owner_user_id IS NULL OR owner_user_id = atlas_current_user());
CREATE POLICY space_update ON spaces AS RESTRICTIVE FOR UPDATE TO atlas_api
  USING (atlas_space_role(tenant_id, id) = 'owner' OR atlas_current_role() IN ('owner', 'admin'));
CREATE POLICY space_delete ON spaces AS RESTRICTIVE FOR DELETE TO atlas_api
  USING (atlas_space_role(tenant_id, id) = 'owner' OR atlas_current_role() IN ('owner', 'admin'));

-- Memberships: your own, those of spaces you have a role in, and (for managing) all of them to
-- tenant owners and admins. Changed by the space's owners; anyone may leave. A tenant VIEWER,
-- who writes nothing, removes nobody else even as a space's owner (leaving needs only the
-- tenant role VIEWER, so the service lets viewers delete memberships).
CREATE POLICY space_member_visible ON space_members AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (user_id = atlas_current_user() OR atlas_space_role(tenant_id, space_id) IS NOT NULL
         OR atlas_current_role() IN ('owner', 'admin'));
CREATE POLICY space_member_insert ON space_members AS RESTRICTIVE FOR INSERT TO atlas_api
  WITH CHECK (atlas_space_role(tenant_id, space_id) = 'owner');
CREATE POLICY space_member_update ON space_members AS RESTRICTIVE FOR UPDATE TO atlas_api
  USING (atlas_space_role(tenant_id, space_id) = 'owner');
CREATE POLICY space_member_delete ON space_members AS RESTRICTIVE FOR DELETE TO atlas_api
  USING (user_id = atlas_current_user()
         OR (atlas_space_role(tenant_id, space_id) = 'owner' AND atlas_current_role() IS DISTINCT FROM 'viewer'));

-- Whoever creates a space becomes its owner member (Atlas itself is nobody). SECURITY DEFINER:
-- the creator is not yet an owner whom the membership policy admits.
CREATE FUNCTION atlas_space_creator_joins() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF atlas_current_user() IS NOT NULL THEN
    INSERT INTO public.space_members (tenant_id, id, space_id, user_id, role)
      VALUES (NEW.tenant_id, gen_random_uuid(), NEW.id, atlas_current_user(), 'owner')
      ON CONFLICT (tenant_id, space_id, user_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION atlas_space_creator_joins() FROM PUBLIC;
CREATE TRIGGER creator_joins AFTER INSERT ON spaces FOR EACH ROW EXECUTE FUNCTION atlas_space_creator_joins();

-- What lives in a space: read with any role there; written by its editors and owners, and
-- changed or deleted by its author too. Tasks outside spaces (project tasks) and chats outside
-- spaces keep their own rules: any member, and the chat's creator only.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['notes', 'folders', 'tasks', 'chats'] LOOP
    EXECUTE format('CREATE POLICY space_content_insert ON %I AS RESTRICTIVE FOR INSERT TO atlas_api '
      'WITH CHECK (%s OR atlas_space_role(tenant_id, space_id) IN (''owner'', ''editor''))', t,
      CASE t WHEN 'tasks' THEN 'space_id IS NULL'
             WHEN 'chats' THEN '(space_id IS NULL AND (created_by = atlas_current_user() OR atlas_current_user() IS NULL))'
             ELSE 'false' END);
    EXECUTE format('CREATE POLICY space_content_visible ON %I AS RESTRICTIVE FOR SELECT TO atlas_api '
      'USING (%s OR atlas_space_role(tenant_id, space_id) IS NOT NULL)', t,
      CASE t WHEN 'tasks' THEN 'space_id IS NULL'
             WHEN 'chats' THEN '(space_id IS NULL AND (created_by = atlas_current_user() OR atlas_current_user() IS NULL))'
             ELSE 'false' END);
    EXECUTE format('CREATE POLICY space_content_update ON %1$I AS RESTRICTIVE FOR UPDATE TO atlas_api '
      'USING (%2$s OR created_by = atlas_current_user() OR atlas_space_role(tenant_id, space_id) IN (''owner'', ''editor''))', t,
      CASE t WHEN 'tasks' THEN 'space_id IS NULL' ELSE 'false' END);
    EXECUTE format('CREATE POLICY space_content_delete ON %1$I AS RESTRICTIVE FOR DELETE TO atlas_api '
      'USING (%2$s OR created_by = atlas_current_user() OR atlas_space_role(tenant_id, space_id) IN (''owner'', ''editor''))', t,
      CASE t WHEN 'tasks' THEN 'space_id IS NULL' ELSE 'false' END);
  END LOOP;
END $$;

-- An author may change their own row, but not move it into a space where they may not write.
CREATE FUNCTION atlas_space_move_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.space_id IS DISTINCT FROM OLD.space_id AND NEW.space_id IS NOT NULL
     AND atlas_space_role(NEW.tenant_id, NEW.space_id) IS DISTINCT FROM 'owner'
     AND atlas_space_role(NEW.tenant_id, NEW.space_id) IS DISTINCT FROM 'editor' THEN
    RAISE EXCEPTION 'you may not move this into a space where you cannot write' USING ERRCODE = 'AT403';
  END IF;
  RETURN NEW;
END $$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['notes', 'folders', 'tasks', 'chats', 'files'] LOOP
    EXECUTE format('CREATE TRIGGER space_move_check BEFORE UPDATE OF space_id ON %I FOR EACH ROW '
      'EXECUTE FUNCTION atlas_space_move_check()', t);
  END LOOP;
END $$;

-- Messages and reply streams follow their chat. Nobody edits another user's message; its
-- author, and the chat's editors and owners, may delete it.
CREATE POLICY chat_visible ON messages AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (atlas_chat_role(tenant_id, chat_id) IS NOT NULL);
CREATE POLICY chat_insert ON messages AS RESTRICTIVE FOR INSERT TO atlas_api
  WITH CHECK (atlas_chat_role(tenant_id, chat_id) IN ('owner', 'editor'));
CREATE POLICY own_message_update ON messages AS RESTRICTIVE FOR UPDATE TO atlas_api
  USING (atlas_current_user() IS NULL OR created_by = atlas_current_user());
CREATE POLICY chat_delete ON messages AS RESTRICTIVE FOR DELETE TO atlas_api
  USING (created_by = atlas_current_user() OR atlas_chat_role(tenant_id, chat_id) IN ('owner', 'editor'));
CREATE POLICY chat_visible ON chat_streams AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (atlas_chat_role(tenant_id, chat_id) IS NOT NULL);
CREATE POLICY chat_insert ON chat_streams AS RESTRICTIVE FOR INSERT TO atlas_api
  WITH CHECK (atlas_chat_role(tenant_id, chat_id) IN ('owner', 'editor'));
CREATE POLICY chat_update ON chat_streams AS RESTRICTIVE FOR UPDATE TO atlas_api
  USING (atlas_chat_role(tenant_id, chat_id) IN ('owner', 'editor'));
CREATE POLICY chat_delete ON chat_streams AS RESTRICTIVE FOR DELETE TO atlas_api
  USING (atlas_chat_role(tenant_id, chat_id) IN ('owner', 'editor'));

-- A task's output and executions follow the task: seen with it, written by those who may change
-- it (its creator, its space's editors and owners; anyone, as before, for a task outside spaces).
-- They carry their task's space (kept by triggers, from the task itself whoever inserts), so a
-- project task's thousands of executions cost the policy nothing.
ALTER TABLE executions ADD COLUMN space_id uuid;
ALTER TABLE task_output ADD COLUMN space_id uuid;
CREATE FUNCTION atlas_task_space() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  NEW.space_id := (SELECT t.space_id FROM public.tasks t WHERE t.tenant_id = NEW.tenant_id AND t.id = NEW.task_id);
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION atlas_task_space() FROM PUBLIC;
CREATE FUNCTION atlas_task_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  UPDATE public.executions SET space_id = NEW.space_id WHERE tenant_id = NEW.tenant_id AND task_id = NEW.id;
  UPDATE public.task_output SET space_id = NEW.space_id WHERE tenant_id = NEW.tenant_id AND task_id = NEW.id;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION atlas_task_moved() FROM PUBLIC;
CREATE TRIGGER task_moved AFTER UPDATE OF space_id ON tasks FOR EACH ROW
  WHEN (NEW.space_id IS DISTINCT FROM OLD.space_id) EXECUTE FUNCTION atlas_task_moved();
-- Whether the caller may change the task (for its output and executions).
CREATE FUNCTION atlas_task_writable(p_tenant uuid, p_task uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant() AND coalesce(
    atlas_current_user() IS NULL OR t.id IS NULL OR t.space_id IS NULL OR t.created_by = atlas_current_user()
    OR atlas_space_role(p_tenant, t.space_id) IN ('owner', 'editor'), false)
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN public.tasks t ON t.tenant_id = p_tenant AND t.id = p_task
$$;
REVOKE ALL ON FUNCTION atlas_task_writable(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_task_writable(uuid, uuid) TO atlas_api;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['task_output', 'executions'] LOOP
    EXECUTE format('CREATE TRIGGER task_space BEFORE INSERT OR UPDATE OF task_id, space_id ON %I FOR EACH ROW '
      'EXECUTE FUNCTION atlas_task_space()', t);
    EXECUTE format('CREATE POLICY task_visible ON %I AS RESTRICTIVE FOR SELECT TO atlas_api '
      'USING (space_id IS NULL OR atlas_space_role(tenant_id, space_id) IS NOT NULL)', t);
    EXECUTE format('CREATE POLICY task_insert ON %I AS RESTRICTIVE FOR INSERT TO atlas_api '
      'WITH CHECK (space_id IS NULL OR atlas_task_writable(tenant_id, task_id))', t);
    EXECUTE format('CREATE POLICY task_update ON %I AS RESTRICTIVE FOR UPDATE TO atlas_api '
      'USING (space_id IS NULL OR atlas_task_writable(tenant_id, task_id))', t);
    EXECUTE format('CREATE POLICY task_delete ON %I AS RESTRICTIVE FOR DELETE TO atlas_api '
      'USING (space_id IS NULL OR atlas_task_writable(tenant_id, task_id))', t);
  END LOOP;
END $$;

-- Files keep their visibility levels; 'space' now means whoever has a role in the file's space
-- (PUBLIC organisation spaces included), and tenant owners and admins no longer read files in
-- someone else's personal space.
ALTER POLICY file_visible ON files USING (
  atlas_current_user() IS NULL
  OR owner_id = atlas_current_user()
  OR visibility IN ('organization', 'public')
  OR (atlas_current_role() IN ('owner', 'admin') AND (space_id IS NULL OR atlas_space_role(tenant_id, space_id) IS NOT NULL))
  OR (visibility = 'space' AND atlas_space_role(tenant_id, space_id) IS NOT NULL)
  OR atlas_file_granted(tenant_id, id, false));
CREATE OR REPLACE FUNCTION atlas_file_writable(p_tenant uuid, p_file uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant() AND (
      atlas_current_user() IS NULL
      OR NOT EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file)
      OR EXISTS (SELECT 1 FROM public.files f WHERE f.tenant_id = p_tenant AND f.id = p_file
                 AND (f.owner_id = atlas_current_user()
                      OR (atlas_current_role() IN ('owner', 'admin')
                          AND (f.space_id IS NULL OR atlas_space_role(p_tenant, f.space_id) IS NOT NULL))))
      OR atlas_file_granted(p_tenant, p_file, true))
$$;

-- Deleting a folder deletes its subfolders and their files by foreign-key cascade, which row-level
-- security does not see. So a folder delete that would take files the caller may not delete is
-- refused, naming how many. Folders deleted by a cascade themselves (a whole space going, which
-- its owner may do) are not asked again.
CREATE FUNCTION atlas_folder_foreign_files(p_tenant uuid, p_folder uuid) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT count(*) FROM public.folders root
  JOIN public.folders d ON d.tenant_id = root.tenant_id AND d.space_id = root.space_id AND starts_with(d.path, root.path)
  JOIN public.files f ON f.tenant_id = d.tenant_id AND f.folder_id = d.id
  WHERE p_tenant = atlas_current_tenant() AND root.tenant_id = p_tenant AND root.id = p_folder
    AND NOT atlas_file_writable(p_tenant, f.id)
$$;
REVOKE ALL ON FUNCTION atlas_folder_foreign_files(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_folder_foreign_files(uuid, uuid) TO atlas_api;
CREATE FUNCTION atlas_folder_delete_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF pg_trigger_depth() = 1 THEN
    n := atlas_folder_foreign_files(OLD.tenant_id, OLD.id);
    IF n > 0 THEN
      RAISE EXCEPTION 'this folder holds % file(s) you may not delete; their owners must move or delete them first', n
        USING ERRCODE = 'AT403';
    END IF;
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER folder_delete_check BEFORE DELETE ON folders FOR EACH ROW EXECUTE FUNCTION atlas_folder_delete_check();

-- Likewise what hangs below a chat, a task or a folder (messages, subtasks, subfolders) goes with
-- it by cascade. The author of a chat, task or folder may delete it after losing the right to
-- write in its space; what others wrote below it is then not theirs to delete: refused, naming
-- how many. Whoever may write in the space may delete all of it anyway, and rows deleted by a
-- cascade themselves (a whole space going) are not asked again.
CREATE FUNCTION atlas_cascade_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_user uuid := atlas_current_user();
  n bigint;
  what text;
BEGIN
  IF pg_trigger_depth() > 1 OR v_user IS NULL THEN
    RETURN OLD;
  END IF;
  IF TG_TABLE_NAME = 'chats' THEN
    IF atlas_chat_role(OLD.tenant_id, OLD.id) IN ('owner', 'editor') THEN
      RETURN OLD;
    END IF;
    what := 'message(s)';
    SELECT count(*) INTO n FROM public.messages m
      WHERE m.tenant_id = OLD.tenant_id AND m.chat_id = OLD.id AND m.created_by IS DISTINCT FROM v_user;
  ELSIF TG_TABLE_NAME = 'tasks' THEN
    IF OLD.space_id IS NULL OR atlas_space_role(OLD.tenant_id, OLD.space_id) IN ('owner', 'editor') THEN
      RETURN OLD;
    END IF;
    what := 'subtask(s)';
    WITH RECURSIVE below (id, created_by) AS (
      SELECT t.id, t.created_by FROM public.tasks t WHERE t.tenant_id = OLD.tenant_id AND t.parent_id = OLD.id
      UNION
      SELECT t.id, t.created_by FROM public.tasks t JOIN below b ON t.tenant_id = OLD.tenant_id AND t.parent_id = b.id)
    SELECT count(*) INTO n FROM below WHERE created_by IS DISTINCT FROM v_user;
  ELSE
    IF atlas_space_role(OLD.tenant_id, OLD.space_id) IN ('owner', 'editor') THEN
      RETURN OLD;
    END IF;
    what := 'subfolder(s)';
    SELECT count(*) INTO n FROM public.folders d
      WHERE d.tenant_id = OLD.tenant_id AND d.space_id = OLD.space_id AND d.id <> OLD.id
        AND starts_with(d.path, OLD.path) AND d.created_by IS DISTINCT FROM v_user;
  END IF;
  IF n > 0 THEN
    RAISE EXCEPTION 'this holds % % by others that you may not delete', n, what USING ERRCODE = 'AT403';
  END IF;
  RETURN OLD;
END $$;
REVOKE ALL ON FUNCTION atlas_cascade_check() FROM PUBLIC;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['chats', 'tasks', 'folders'] LOOP
    EXECUTE format('CREATE TRIGGER cascade_check BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION atlas_cascade_check()', t);
  END LOOP;
END $$;

-- A member who leaves (or is removed) loses their space memberships and file grants in that
-- tenant with the membership. Their personal spaces are handed over or deleted first, by
-- atlas_hand_over_spaces.
CREATE FUNCTION atlas_member_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  DELETE FROM public.space_members WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
  DELETE FROM public.file_permissions WHERE tenant_id = OLD.tenant_id AND grantee_user_id = OLD.user_id;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION atlas_member_gone() FROM PUBLIC;
CREATE TRIGGER member_gone AFTER DELETE ON tenant_members FOR EACH ROW EXECUTE FUNCTION atlas_member_gone();

-- A member's personal spaces in the tenant in scope (one of them when p_space is given): handed
-- to p_to (another member), with the files the member owns there, or deleted with all they hold
-- when p_to is NULL. Called by removeMember, transferSpace and account deletion, which check who
-- may; this checks it again: the caller is the member themselves, or a tenant owner or admin.
-- Returns how many spaces it moved or deleted.
CREATE FUNCTION atlas_hand_over_spaces(p_tenant uuid, p_user uuid, p_to uuid, p_space uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  n bigint;
  v_moved uuid[];
BEGIN
  IF p_tenant IS DISTINCT FROM atlas_current_tenant()
     OR NOT (p_user = atlas_current_user() OR atlas_current_role() IN ('owner', 'admin')) THEN
    RAISE EXCEPTION 'you may not hand over this member''s spaces' USING ERRCODE = 'AT403';
  END IF;
  IF p_to IS NULL THEN
    DELETE FROM public.spaces WHERE tenant_id = p_tenant AND owner_user_id = p_user AND (p_space IS NULL OR id = p_space);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
  END IF;
  IF p_to = p_user OR NOT EXISTS (SELECT 1 FROM public.tenant_members m WHERE m.tenant_id = p_tenant
       AND m.user_id = p_to AND m.role <> 'pending') THEN
    RAISE EXCEPTION 'spaces can only go to another member of this tenant'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'spaces_transfer_to_member';
  END IF;
  -- A slug the receiver already uses for a space of their own gets part of the space's id.
  WITH moved AS (
    UPDATE public.spaces s SET owner_user_id = p_to,
        slug = CASE WHEN EXISTS (SELECT 1 FROM public.spaces o WHERE o.tenant_id = p_tenant
                                 AND o.owner_user_id = p_to AND o.slug = s.slug)
                    THEN left(s.slug, 50) || '-' || left(replace(s.id::text, '-', ''), 12) ELSE s.slug END
      WHERE s.tenant_id = p_tenant AND s.owner_user_id = p_user AND (p_space IS NULL OR s.id = p_space)
      RETURNING s.id)
  SELECT coalesce(array_agg(id), '{}') INTO v_moved FROM moved;
  n := cardinality(v_moved);
  UPDATE public.files f SET owner_id = p_to
    WHERE f.tenant_id = p_tenant AND f.space_id = ANY (v_moved) AND f.owner_id = p_user;
  DELETE FROM public.space_members m
    WHERE m.tenant_id = p_tenant AND m.space_id = ANY (v_moved) AND m.user_id = p_user;
  INSERT INTO public.space_members (tenant_id, id, space_id, user_id, role)
    SELECT p_tenant, gen_random_uuid(), s, p_to, 'owner' FROM unnest(v_moved) AS s
    ON CONFLICT (tenant_id, space_id, user_id) DO UPDATE SET role = 'owner';
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION atlas_hand_over_spaces(uuid, uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_hand_over_spaces(uuid, uuid, uuid, uuid) TO atlas_api;

-- Account deletion (seed 002: "User deletion → Anonymize or transfer ownership"). The user's
-- personal spaces go with all they hold, in every tenant; their memberships go (and with them
-- space memberships and grants); what they wrote in shared places stays, under p_to when given
-- (files they own, and what they created, in the tenant in scope), else under the tombstone the
-- user row becomes: "Deleted user", no email, no GitHub id. The row stays, so foreign keys and
-- the append-only audit log stay valid; atlas_begin refuses its tokens from then on.
-- Yourself, from anywhere; or, by an owner of the tenant in scope, a user who belongs to no
-- other tenant. A last owner of a tenant with other members must hand it over first.
CREATE FUNCTION atlas_delete_account(p_user uuid, p_to uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_tenant uuid := atlas_current_tenant();
  v_last text;
  t text;
BEGIN
  IF p_user IS DISTINCT FROM atlas_current_user() THEN
    IF v_tenant IS NULL OR atlas_current_role() IS DISTINCT FROM 'owner'
       OR NOT EXISTS (SELECT 1 FROM public.tenant_members m WHERE m.tenant_id = v_tenant AND m.user_id = p_user) THEN
      RAISE EXCEPTION 'only an owner of this tenant may delete one of its members'' accounts' USING ERRCODE = 'AT403';
    END IF;
    IF EXISTS (SELECT 1 FROM public.tenant_members m WHERE m.tenant_id <> v_tenant AND m.user_id = p_user) THEN
      RAISE EXCEPTION 'this user belongs to other tenants too: remove them from this one (removeMember) instead'
        USING ERRCODE = 'AT403';
    END IF;
  END IF;
  IF p_to IS NOT NULL AND (p_to = p_user OR v_tenant IS NULL OR NOT EXISTS (SELECT 1 FROM public.tenant_members m
       WHERE m.tenant_id = v_tenant AND m.user_id = p_to AND m.role <> 'pending')) THEN
    RAISE EXCEPTION 'content can only go to another member of this tenant'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'spaces_transfer_to_member';
  END IF;
  SELECT string_agg(tn.slug, ', ') INTO v_last FROM public.tenant_members m JOIN public.tenants tn ON tn.id = m.tenant_id
    WHERE m.user_id = p_user AND m.role = 'owner'
      AND NOT EXISTS (SELECT 1 FROM public.tenant_members o WHERE o.tenant_id = m.tenant_id AND o.user_id <> p_user AND o.role = 'owner')
      AND EXISTS (SELECT 1 FROM public.tenant_members o WHERE o.tenant_id = m.tenant_id AND o.user_id <> p_user);
  IF v_last IS NOT NULL THEN
    RAISE EXCEPTION 'the account is the last owner of % with other members: make someone else owner first', v_last
      USING ERRCODE = 'AT409';
  END IF;
  DELETE FROM public.spaces WHERE owner_user_id = p_user;
  IF p_to IS NOT NULL THEN
    UPDATE public.files SET owner_id = p_to WHERE tenant_id = v_tenant AND owner_id = p_user;
    FOREACH t IN ARRAY ARRAY['notes', 'chats', 'folders', 'tasks', 'kb_documents'] LOOP
      EXECUTE format('UPDATE public.%I SET created_by = $1 WHERE tenant_id = $2 AND created_by = $3', t)
        USING p_to, v_tenant, p_user;
    END LOOP;
  END IF;
  DELETE FROM public.tenant_members WHERE user_id = p_user;
  UPDATE public.users SET email = 'deleted-' || replace(id::text, '-', '') || '@deleted.invalid',
      name = 'Deleted user', github_id = NULL, avatar_url = NULL, deleted_at = now()
    WHERE id = p_user;
END $$;
REVOKE ALL ON FUNCTION atlas_delete_account(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_delete_account(uuid, uuid) TO atlas_api;

-- A deleted account's tokens are refused at the start of every request (its WebSockets too: a
-- subscription opens a transaction per event).
CREATE OR REPLACE FUNCTION atlas_begin(p_tenant uuid, p_user uuid) RETURNS member_role LANGUAGE plpgsql AS $$
DECLARE
  v_role member_role;
BEGIN
  PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true);
  PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
  IF p_user IS NOT NULL AND EXISTS (SELECT 1 FROM users u WHERE u.id = p_user AND u.deleted_at IS NOT NULL) THEN
    RAISE EXCEPTION 'this account was deleted' USING ERRCODE = 'AT401';
  END IF;
  IF p_tenant IS NULL OR p_user IS NULL THEN
    PERFORM set_config('app.role', '', true);
    RETURN NULL;
  END IF;
  v_role := (SELECT role FROM tenant_members WHERE tenant_id = p_tenant AND user_id = p_user);
  PERFORM set_config('app.role', coalesce(v_role::text, ''), true);
  RETURN v_role;
END $$;

-- Knowledge base: drafts are seen by their author and the tenant's editors (owners, admins,
-- managers) only; published and archived documents by every member. Chunks and tags follow
-- their document.
CREATE FUNCTION atlas_document_readable(p_tenant uuid, p_document uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT p_tenant = atlas_current_tenant() AND (
    atlas_current_user() IS NULL OR atlas_current_role() IN ('owner', 'admin', 'manager')
    OR NOT EXISTS (SELECT 1 FROM public.kb_documents d WHERE d.tenant_id = p_tenant AND d.id = p_document
                   AND d.status = 'draft' AND d.created_by IS DISTINCT FROM atlas_current_user()))
$$;
REVOKE ALL ON FUNCTION atlas_document_readable(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atlas_document_readable(uuid, uuid) TO atlas_api;
CREATE POLICY draft_visible ON kb_documents AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (status <> 'draft' OR created_by = atlas_current_user() OR atlas_current_user() IS NULL
         OR atlas_current_role() IN ('owner', 'admin', 'manager'));
CREATE POLICY draft_visible ON kb_chunks AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (atlas_document_readable(tenant_id, document_id));
CREATE POLICY draft_visible ON kb_document_tags AS RESTRICTIVE FOR SELECT TO atlas_api
  USING (atlas_document_readable(tenant_id, document_id));
