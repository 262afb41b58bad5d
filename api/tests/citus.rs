//! Ready for Citus (issue 18): the migrated schema has none of the constructs Citus refuses when
//! tables are distributed by tenant_id, the check catches each of them, and `atlas citus-ddl`
//! distributes every table (run it on a real coordinator too: Citus cannot be installed here).
mod common;

use sea_orm::{ConnectionTrait, TransactionTrait};

#[tokio::test]
async fn the_schema_distributes_by_tenant_and_the_check_catches_what_citus_refuses() {
    let app = common::TestApp::start().await;
    let owner = app.owner_db().await;
    let found = api::citus::violations(&owner).await.expect("catalogue");
    assert!(found.is_empty(), "Citus would refuse:\n{}", found.join("\n"));

    // Each construct, in a table made (and rolled back) inside one transaction.
    let tx = owner.begin().await.expect("tx");
    for sql in [
        "CREATE TABLE citus_probe (tenant_id uuid REFERENCES tenants (id), id uuid, slug text UNIQUE, \
           parent uuid, PRIMARY KEY (id))",
        "CREATE TABLE citus_probe_child (tenant_id uuid NOT NULL, id uuid NOT NULL, probe uuid, \
           PRIMARY KEY (tenant_id, id), \
           CONSTRAINT citus_probe_child_fkey FOREIGN KEY (tenant_id, probe) REFERENCES agents (tenant_id, id) ON DELETE SET NULL)",
        "CREATE TABLE citus_probe_global (id uuid PRIMARY KEY, agent uuid, tenant uuid, \
           CONSTRAINT citus_probe_global_fkey FOREIGN KEY (tenant, agent) REFERENCES agents (tenant_id, id))",
        "ALTER TABLE citus_probe ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY probe_members ON citus_probe USING (tenant_id IN (SELECT tenant_id FROM tenant_members))",
    ] {
        tx.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let found = api::citus::violations(&tx).await.expect("catalogue").join("\n");
    for expected in [
        "citus_probe.probe_members: a subquery in a policy",
        "citus_probe: a nullable tenant_id",
        "citus_probe.citus_probe_pkey: a key or unique constraint of a tenant table without tenant_id",
        "citus_probe.citus_probe_slug_key: a key or unique constraint",
        "citus_probe_child.citus_probe_child_fkey: SET NULL or SET DEFAULT over tenant_id",
        "citus_probe_global.citus_probe_global_fkey: a foreign key between tenant tables",
    ] {
        assert!(found.contains(expected), "not caught: {expected}\nfound:\n{found}");
    }
    tx.rollback().await.expect("rollback");

    // The distribution: reference tables first, then every tenant table colocated with the
    // first, foreign keys dropped before and made again after, and the claim function remade.
    let ddl = api::citus::ddl(&owner).await.expect("ddl");
    let at = |needle: &str| {
        ddl.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("no statement with {needle}"))
    };
    for reference in ["tenants", "users", "global_settings", "global_audit_log"] {
        assert!(at(&format!("create_reference_table('{reference}')")) < at("create_distributed_table("));
    }
    let tenant_tables = owner
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT table_name::text AS t FROM information_schema.columns WHERE table_schema = 'public' \
             AND column_name = 'tenant_id'",
        ))
        .await
        .expect("tables");
    assert!(tenant_tables.len() > 40, "{}", tenant_tables.len());
    for row in &tenant_tables {
        let table: String = row.try_get("", "t").expect("t");
        at(&format!("create_distributed_table('{table}', 'tenant_id'"));
    }
    let drop_fk = at("DROP CONSTRAINT \"job_results_job_fkey\"");
    let add_fk = at("ADD CONSTRAINT \"job_results_job_fkey\"");
    assert!(drop_fk < at("create_reference_table(") && add_fk > at("create_distributed_table('tasks'"));
    assert!(at("FUNCTION public.atlas_claim_jobs") > add_fk);
    assert!(ddl.iter().any(|s| s.starts_with("GRANT EXECUTE ON FUNCTION atlas_claim_jobs")), "its grant too");
}
