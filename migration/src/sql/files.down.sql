DROP TABLE IF EXISTS file_chunks, file_permissions, file_versions, files, folders CASCADE;
DROP TYPE IF EXISTS file_permission, file_visibility;
