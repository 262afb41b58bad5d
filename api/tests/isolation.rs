//! Tenant isolation: tenant B can neither read, list, update nor delete tenant A's rows, and the
//! database refuses cross-tenant rows even when the service layer is bypassed.
mod common;

use common::{code, data, exec, id, TestApp};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn another_tenant_cannot_touch_rows_by_id() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let carol = app.user().await;
    let carol_in_a = app.join(&alice, a, &carol, "MEMBER").await;

    let res =
        app.gql(&alice, Some(a), "mutation { createProject(input: { name: \"Secret\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let res = app
        .gql(
            &alice,
            Some(a),
            "mutation($p: UUID!) { createTask(input: { title: \"Secret task\", projectId: $p }) { id } }",
            json!({ "p": project }),
        )
        .await;
    let task = id(data(&res, "createTask.id"));

    let by_id = |q: &'static str, id: Uuid| {
        let (app, bob) = (&app, &bob);
        async move { app.gql(bob, Some(b), q, json!({ "id": id })).await }
    };
    // Read by id.
    assert_eq!(code(&by_id("query($id: UUID!) { project(id: $id) { id } }", project).await), "NOT_FOUND");
    assert_eq!(code(&by_id("query($id: UUID!) { task(id: $id) { id } }", task).await), "NOT_FOUND");
    // Update and delete by id.
    assert_eq!(
        code(&by_id("mutation($id: UUID!) { updateProject(id: $id, input: { name: \"x\" }) { id } }", project).await),
        "NOT_FOUND"
    );
    assert_eq!(
        code(&by_id("mutation($id: UUID!) { updateTask(id: $id, input: { title: \"x\" }) { id } }", task).await),
        "NOT_FOUND"
    );
    assert_eq!(code(&by_id("mutation($id: UUID!) { deleteTask(id: $id) { id } }", task).await), "NOT_FOUND");
    assert_eq!(code(&by_id("mutation($id: UUID!) { deleteProject(id: $id) { id } }", project).await), "NOT_FOUND");
    assert_eq!(
        code(&by_id("mutation($id: UUID!) { updateMemberRole(id: $id, role: VIEWER) { id } }", carol_in_a).await),
        "NOT_FOUND"
    );
    assert_eq!(code(&by_id("mutation($id: UUID!) { removeMember(id: $id) { id } }", carol_in_a).await), "NOT_FOUND");
    // Lists, even filtered on A's ids.
    let res = by_id("query($id: UUID!) { projects(filter: { id: { eq: $id } }) { totalCount } tasks(filter: { projectId: { eq: $id } }) { totalCount } members { totalCount edges { node { user { email } } } } }", project).await;
    assert_eq!(data(&res, "projects.totalCount"), 0);
    assert_eq!(data(&res, "tasks.totalCount"), 0);
    assert_eq!(data(&res, "members.totalCount"), 1, "only bob: {res}");
    // Referencing A's rows from B: refused (the composite foreign key cannot match).
    let res = app
        .gql(
            &bob,
            Some(b),
            "mutation($p: UUID!) { createTask(input: { title: \"t\", projectId: $p }) { id } }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app
        .gql(
            &bob,
            Some(b),
            "mutation($p: UUID!) { createTask(input: { title: \"t\", parentId: $p }) { id } }",
            json!({ "p": task }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Nothing changed in A.
    let res = app
        .gql(
            &alice,
            Some(a),
            "query($id: UUID!) { project(id: $id) { name tasks { totalCount } } }",
            json!({ "id": project }),
        )
        .await;
    assert_eq!(data(&res, "project.name"), "Secret");
    assert_eq!(data(&res, "project.tasks.totalCount"), 1);
    // Bob cannot see Alice or Carol as users either.
    let res = app.gql(&bob, Some(b), "{ me { id } }", json!({})).await;
    assert_eq!(data(&res, "me.id"), &json!(bob.id.to_string()));
}

#[tokio::test]
async fn row_level_security_holds_without_the_service_filter() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let res = app.gql(&alice, Some(a), "mutation { createProject(input: { name: \"A1\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));

    // As the app role, with tenant B set, a query that names A explicitly sees nothing of A.
    let db = app.app_db().await;
    let tx = db.begin().await.unwrap();
    service::pool::prepare_transaction(&tx).await.unwrap();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT atlas_begin($1, $2)",
        [b.into(), bob.id.into()],
    ))
    .await
    .unwrap();
    for table in ["projects", "tasks", "tenant_members", "invitations"] {
        let row = tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT count(*) AS n FROM {table} WHERE tenant_id = $1"),
                [a.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{table} leaked");
    }
    let row = tx
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT count(*) AS n FROM tenants".to_string()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1, "only tenant B is visible");
    // Writing into A from B's scope is refused by the policy.
    let err = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, 'sneaky')",
            [a.into(), Uuid::now_v7().into()],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // Without any tenant set, the app role sees no tenant rows at all.
    let row =
        service::pool::one(&db, Statement::from_string(DbBackend::Postgres, "SELECT count(*) AS n FROM projects"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0);

    // Even the owner, who bypasses row-level security, cannot point B's task at A's project.
    let owner = app.owner_db().await;
    let err = exec(
        &owner,
        "INSERT INTO tasks (tenant_id, id, title, project_id) VALUES ($1, $2, 'cross', $3)",
        vec![b.into(), Uuid::now_v7().into(), project.into()],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("tasks_project_fkey"), "{err}");
}
