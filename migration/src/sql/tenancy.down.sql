DROP FUNCTION IF EXISTS atlas_begin(uuid, uuid);
DROP TABLE IF EXISTS invitations, tenant_members, tenants, users CASCADE;
DROP TYPE IF EXISTS member_role, seat_type, tenant_kind;
DROP FUNCTION IF EXISTS atlas_tenant_table(regclass);
DROP FUNCTION IF EXISTS atlas_touch_updated_at();
DROP FUNCTION IF EXISTS atlas_current_user();
DROP FUNCTION IF EXISTS atlas_current_tenant();
