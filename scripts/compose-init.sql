-- Roles for compose.yaml (placeholder passwords: change them with the ones in compose.yaml).
CREATE ROLE atlas_owner LOGIN PASSWORD 'owner-password' CREATEROLE BYPASSRLS;
CREATE ROLE atlas_app LOGIN PASSWORD 'app-password' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE atlas_worker LOGIN PASSWORD 'worker-password' NOSUPERUSER NOBYPASSRLS;
ALTER DATABASE atlas OWNER TO atlas_owner;
\connect atlas
CREATE EXTENSION IF NOT EXISTS vector;
ALTER SCHEMA public OWNER TO atlas_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO atlas_app, atlas_worker;
