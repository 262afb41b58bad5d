//! Every mutation writes an audit row in its own transaction; the log cannot be rewritten.
mod common;

use common::{data, exec, id, TestApp};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;

#[tokio::test]
async fn mutations_are_audited_and_the_log_is_append_only() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let res =
        app.gql(&owner, Some(t), "mutation { createProject(input: { name: \"Audited\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    app.gql(
        &owner,
        Some(t),
        "mutation($id: UUID!) { updateProject(id: $id, input: { description: \"d\" }) { id } }",
        json!({ "id": project }),
    )
    .await;
    let member = app.user().await;
    app.join(&owner, t, &member, "MEMBER").await;
    // A failed mutation leaves no audit row: the audit insert rolls back with it.
    let res =
        app.gql(&owner, Some(t), "mutation { createProject(input: { name: \"Audited\" }) { id } }", json!({})).await;
    assert!(res["errors"].is_array());

    let res = app
        .gql(
            &owner,
            Some(t),
            "{ auditLog(first: 50) { totalCount edges { node { action entityType entityId actor { email } meta } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<String> = data(&res, "auditLog.edges")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        vec!["member.join", "invitation.create", "project.update", "project.create", "tenant.create"],
        "{res}"
    );
    let created = &data(&res, "auditLog.edges")[3]["node"];
    assert_eq!(created["entityId"], json!(project.to_string()));
    assert_eq!(created["actor"]["email"], json!(owner.email));
    // Another tenant sees none of it.
    let other = app.user().await;
    let o = app.tenant(&other).await;
    let res = app.gql(&other, Some(o), "{ auditLog { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "auditLog.totalCount"), 1, "only its own tenant.create");

    // The app role may not update or delete audit rows (no privilege), even in its tenant.
    let db = app.app_db().await;
    let tx = db.begin().await.unwrap();
    service::pool::prepare_transaction(&tx).await.unwrap();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT atlas_begin($1, $2)",
        [t.into(), owner.id.into()],
    ))
    .await
    .unwrap();
    let err = tx.execute_unprepared("UPDATE audit_log SET action = 'rewritten'").await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    tx.rollback().await.unwrap();
    let err = db.execute_unprepared("DELETE FROM audit_log").await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    // Not even the owner: a trigger refuses UPDATE, DELETE and TRUNCATE for every role.
    let owner_db = app.owner_db().await;
    let err = exec(&owner_db, "UPDATE audit_log SET action = 'rewritten' WHERE tenant_id = $1", vec![t.into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = exec(&owner_db, "DELETE FROM audit_log WHERE tenant_id = $1", vec![t.into()]).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}
