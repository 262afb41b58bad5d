//! Relations load through per-request DataLoaders: a nested query costs the same number of SQL
//! statements for 2 projects as for 50.
mod common;

use common::{data, id, TestApp, TestUser};
use serde_json::json;
use uuid::Uuid;

const QUERY: &str = "{ projects(first: 50) { edges { node { name owner { email } tasks(first: 5) { edges { node { title project { name } subtasks(first: 5) { edges { node { title parent { title } } } } } } } } } } }";

async fn seed(app: &TestApp, owner: &TestUser, tenant: Uuid, projects: usize) {
    for p in 0..projects {
        let res = app
            .gql(
                owner,
                Some(tenant),
                "mutation($n: String!) { createProject(input: { name: $n }) { id } }",
                json!({ "n": format!("P{p}") }),
            )
            .await;
        let project = id(data(&res, "createProject.id"));
        let res = app
            .gql(
                owner,
                Some(tenant),
                "mutation($p: UUID!) { createTask(input: { title: \"T\", projectId: $p }) { id } }",
                json!({ "p": project }),
            )
            .await;
        let task = id(data(&res, "createTask.id"));
        let res = app
            .gql(
                owner,
                Some(tenant),
                "mutation($t: UUID!) { createTask(input: { title: \"S\", parentId: $t }) { id } }",
                json!({ "t": task }),
            )
            .await;
        data(&res, "createTask.id");
    }
}

async fn statements_for(app: &TestApp, owner: &TestUser, tenant: Uuid, expect_projects: usize) -> u64 {
    let before = app.statements().await;
    let res = app.gql(owner, Some(tenant), QUERY, json!({})).await;
    let after = app.statements().await;
    assert_eq!(data(&res, "projects.edges").as_array().unwrap().len(), expect_projects);
    after - before
}

#[tokio::test]
async fn nested_query_cost_does_not_grow_with_rows() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let small = app.tenant(&owner).await;
    let large = app.tenant(&owner).await;
    seed(&app, &owner, small, 2).await;
    seed(&app, &owner, large, 50).await;
    let few = statements_for(&app, &owner, small, 2).await;
    let many = statements_for(&app, &owner, large, 50).await;
    assert_eq!(few, many, "statements for 2 projects: {few}, for 50: {many}");
    // atlas_begin + projects + owners + tasks (by project) + subtasks (by parent) + tasks' projects
    // + subtasks' parents: one per relation level, none per row.
    assert!(many <= 7, "{many} statements");
}

/// Relations fetch only the costly columns a selection reads. Whatever a selection asks for, under
/// `nodes`, `edges { node }`, a fragment or a to-one relation, comes back with its real value, even
/// when the same rows are loaded in the same request by a selection that skips those columns.
#[tokio::test]
async fn relations_return_every_selected_column() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let res = app
        .gql(
            &owner,
            Some(tenant),
            "mutation { createProject(input: { name: \"P\", description: \"the project\" }) { id } }",
            json!({}),
        )
        .await;
    let project = id(data(&res, "createProject.id"));
    let res = app
        .gql(
            &owner,
            Some(tenant),
            "mutation($p: UUID!) { createTask(input: { title: \"T\", description: \"parent text\", prompt: \"do it\", projectId: $p }) { id } }",
            json!({ "p": project }),
        )
        .await;
    let parent = id(data(&res, "createTask.id"));
    let res = app
        .gql(
            &owner,
            Some(tenant),
            "mutation($t: UUID!) { createTask(input: { title: \"S\", description: \"child text\", parentId: $t }) { id } }",
            json!({ "t": parent }),
        )
        .await;
    data(&res, "createTask.id");

    let query = "{ projects(first: 5) { nodes { \
        bare: tasks(first: 5) { nodes { title } } \
        full: tasks(first: 5) { edges { node { ...T subtasks(first: 5) { nodes { title parent { id } again: parent { description prompt } } } } } } \
        } } } fragment T on Task { title description prompt }";
    let res = app.gql(&owner, Some(tenant), query, json!({})).await;
    let project = &data(&res, "projects.nodes")[0];
    assert_eq!(project["bare"]["nodes"][0]["title"], "T");
    let node = &project["full"]["edges"][0]["node"];
    assert_eq!(node["title"], "T");
    assert_eq!(node["description"], "parent text");
    assert_eq!(node["prompt"], "do it");
    let child = &node["subtasks"]["nodes"][0];
    assert_eq!(child["title"], "S");
    assert_eq!(child["parent"]["id"], json!(parent));
    assert_eq!(child["again"]["description"], "parent text");
    assert_eq!(child["again"]["prompt"], "do it");
}
