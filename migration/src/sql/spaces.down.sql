DROP TABLE IF EXISTS space_members, spaces CASCADE;
DROP TYPE IF EXISTS space_role, space_visibility;
