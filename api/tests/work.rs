//! Projects and tasks through GraphQL: CRUD, validation, filters, ordering, paging, relations.
mod common;

use common::{code, data, id, TestApp};
use serde_json::json;

#[tokio::test]
async fn projects_and_tasks_crud_with_relations() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    let res = app
        .gql(&owner, t, "mutation { createProject(input: { name: \"  Vibe  \", repositoryUrl: \"https://github.com/x/y\", githubRepoId: 42 }) { id name defaultBranch owner { email } } }", json!({}))
        .await;
    let project = id(data(&res, "createProject.id"));
    assert_eq!(data(&res, "createProject.name"), "Vibe");
    assert_eq!(data(&res, "createProject.defaultBranch"), "main");
    assert_eq!(data(&res, "createProject.owner.email"), &json!(owner.email));

    let create =
        "mutation($i: CreateTaskInput!) { createTask(input: $i) { id projectId status priority creator { id } } }";
    let res = app
        .gql(&owner, t, create, json!({ "i": { "title": "Parent", "projectId": project, "priority": "HIGH" } }))
        .await;
    let parent = id(data(&res, "createTask.id"));
    assert_eq!(data(&res, "createTask.status"), "PENDING");
    assert_eq!(data(&res, "createTask.creator.id"), &json!(owner.id.to_string()));
    // A subtask takes its parent's project.
    let res = app
        .gql(&owner, t, create, json!({ "i": { "title": "Child", "parentId": parent, "result": { "ok": true } } }))
        .await;
    let child = id(data(&res, "createTask.id"));
    assert_eq!(data(&res, "createTask.projectId"), &json!(project.to_string()));

    let res = app
        .gql(
            &owner,
            t,
            "query($id: UUID!) { task(id: $id) { title parent { title project { name } } subtasks { totalCount } } }",
            json!({ "id": child }),
        )
        .await;
    assert_eq!(data(&res, "task.parent.title"), "Parent");
    assert_eq!(data(&res, "task.parent.project.name"), "Vibe");
    assert_eq!(data(&res, "task.subtasks.totalCount"), 0);

    // Update: clear a nullable field with null, leave others untouched; cycles are refused.
    let update = "mutation($id: UUID!, $i: UpdateTaskInput!) { updateTask(id: $id, input: $i) { title status description parentId } }";
    let res =
        app.gql(&owner, t, update, json!({ "id": child, "i": { "status": "IN_PROGRESS", "description": "d" } })).await;
    assert_eq!(data(&res, "updateTask.status"), "IN_PROGRESS");
    let res = app.gql(&owner, t, update, json!({ "id": child, "i": { "description": null } })).await;
    assert_eq!(data(&res, "updateTask.description"), &json!(null));
    assert_eq!(data(&res, "updateTask.title"), "Child");
    let res = app.gql(&owner, t, update, json!({ "id": parent, "i": { "parentId": child } })).await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("parentId")));
    let res = app.gql(&owner, t, update, json!({ "id": parent, "i": { "title": "   " } })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Validation and uniqueness.
    let res = app.gql(&owner, t, "mutation { createProject(input: { name: \"Vibe\" }) { id } }", json!({})).await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("CONFLICT", Some("name")));
    let res = app
        .gql(
            &owner,
            t,
            "mutation { createProject(input: { name: \"Q\", repositoryUrl: \"ftp://x\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app
        .gql(
            &owner,
            t,
            "mutation($u: UUID!) { createProject(input: { name: \"Q\", ownerId: $u }) { id } }",
            json!({ "u": uuid::Uuid::now_v7() }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Deleting the project removes its tasks.
    let res =
        app.gql(&owner, t, "mutation($id: UUID!) { deleteProject(id: $id) { id } }", json!({ "id": project })).await;
    assert_eq!(data(&res, "deleteProject.id"), &json!(project.to_string()));
    let res = app.gql(&owner, t, "query($id: UUID!) { task(id: $id) { id } }", json!({ "id": child })).await;
    assert_eq!(code(&res), "NOT_FOUND");
}

#[tokio::test]
async fn filters_ordering_and_paging() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    let res = app.gql(&owner, t, "mutation { createProject(input: { name: \"P\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    for (i, (status, priority)) in
        [("PENDING", "LOW"), ("COMPLETED", "HIGH"), ("PENDING", "CRITICAL"), ("FAILED", "MEDIUM"), ("PENDING", "HIGH")]
            .iter()
            .enumerate()
    {
        let res = app
            .gql(&owner, t, "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
                json!({ "i": { "title": format!("Task {i} alpha_%"), "projectId": project, "status": status, "priority": priority } }))
            .await;
        data(&res, "createTask.id");
    }
    let q = "query($f: TaskFilter, $o: [TaskOrderBy!], $first: Int, $after: String, $last: Int, $before: String) {
        tasks(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { title status priority } } } }";
    let res = app.gql(&owner, t, q, json!({ "f": { "status": { "eq": "PENDING" } } })).await;
    assert_eq!(data(&res, "tasks.totalCount"), 3);
    let res = app
        .gql(
            &owner,
            t,
            q,
            json!({ "f": { "status": { "in": ["FAILED", "COMPLETED"] }, "projectId": { "eq": project } } }),
        )
        .await;
    assert_eq!(data(&res, "tasks.totalCount"), 2);
    // LIKE wildcards in a search string are taken literally.
    let res = app.gql(&owner, t, q, json!({ "f": { "title": { "contains": "ALPHA_%" } } })).await;
    assert_eq!(data(&res, "tasks.totalCount"), 5);
    let res = app.gql(&owner, t, q, json!({ "f": { "title": { "contains": "a%p" } } })).await;
    assert_eq!(data(&res, "tasks.totalCount"), 0);
    // Order by priority (enum order) descending.
    let res = app.gql(&owner, t, q, json!({ "o": [{ "field": "PRIORITY", "direction": "DESC" }], "first": 2 })).await;
    let edges = data(&res, "tasks.edges").as_array().unwrap().clone();
    assert_eq!(edges[0]["node"]["priority"], "CRITICAL");
    assert_eq!(edges[1]["node"]["priority"], "HIGH");
    assert_eq!(data(&res, "tasks.pageInfo.hasNextPage"), true);
    // Page forward with the cursor, then back.
    let after = data(&res, "tasks.pageInfo.endCursor").clone();
    let res = app.gql(&owner, t, q, json!({ "o": [{ "field": "TITLE" }], "first": 10, "after": after })).await;
    let titles: Vec<_> =
        data(&res, "tasks.edges").as_array().unwrap().iter().map(|e| e["node"]["title"].clone()).collect();
    assert_eq!(titles, vec![json!("Task 2 alpha_%"), json!("Task 3 alpha_%"), json!("Task 4 alpha_%")]);
    assert_eq!(data(&res, "tasks.pageInfo.hasPreviousPage"), true);
    assert_eq!(data(&res, "tasks.pageInfo.hasNextPage"), false);
    let res = app.gql(&owner, t, q, json!({ "o": [{ "field": "TITLE" }], "last": 2 })).await;
    let titles: Vec<_> =
        data(&res, "tasks.edges").as_array().unwrap().iter().map(|e| e["node"]["title"].clone()).collect();
    assert_eq!(titles, vec![json!("Task 3 alpha_%"), json!("Task 4 alpha_%")]);
    let before = data(&res, "tasks.pageInfo.startCursor").clone();
    let res = app.gql(&owner, t, q, json!({ "o": [{ "field": "TITLE" }], "last": 1, "before": before })).await;
    assert_eq!(data(&res, "tasks.edges")[0]["node"]["title"], "Task 2 alpha_%");
    // Top-level tasks only.
    let res = app.gql(&owner, t, q, json!({ "f": { "parentId": { "isNull": true } } })).await;
    assert_eq!(data(&res, "tasks.totalCount"), 5);
}
