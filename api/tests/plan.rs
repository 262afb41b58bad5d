//! Planned answers (a list field's whole subtree answered level by level, `graphql::plan`) are
//! the ordinary resolvers' answers: the same query is asked once as it is and once with a field
//! the planner leaves to the resolvers, and the two answers must agree to the byte once that
//! field is taken out. `/metrics` tells which path answered.
mod common;

use common::{data, id, TestApp, TestUser};
use serde_json::{json, Value};
use uuid::Uuid;

/// Three projects of 0, 3 and 5 tasks; every second task has two executions with figures.
async fn workspace(app: &TestApp, owner: &TestUser, t: Option<Uuid>) {
    for (p, tasks) in [("Empty", 0), ("Three", 3), ("Five", 5)] {
        let res = app
            .gql(
                owner,
                t,
                "mutation($n: String!) { createProject(input: { name: $n, description: \"d\" }) { id } }",
                json!({ "n": p }),
            )
            .await;
        let project = id(data(&res, "createProject.id"));
        for i in 0..tasks {
            let input = json!({ "title": format!("{p} {i}"), "projectId": project, "priority": if i % 2 == 0 { "HIGH" } else { "LOW" },
                "description": format!("about {i}"), "result": { "n": i, "tags": ["a", "b"] } });
            let res = app
                .gql(owner, t, "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }", json!({ "i": input }))
                .await;
            let task = id(data(&res, "createTask.id"));
            if i % 2 == 1 {
                continue;
            }
            for e in 0..2 {
                let res = app
                    .gql(
                        owner,
                        t,
                        "mutation($i: CreateExecutionInput!) { createExecution(input: $i) { id } }",
                        json!({ "i": { "taskId": task, "input": { "step": e } } }),
                    )
                    .await;
                let execution = id(data(&res, "createExecution.id"));
                let update = json!({ "status": "COMPLETED", "tokensUsed": 100 * e + i, "costUsd": "0.0125",
                    "durationMs": 250 + e, "startedAt": "2026-11-30T10:00:00+00:00" });
                let res = app
                    .gql(owner, t, "mutation($id: UUID!, $i: UpdateExecutionInput!) { updateExecution(id: $id, input: $i) { id } }",
                        json!({ "id": execution, "i": update }))
                    .await;
                data(&res, "updateExecution.id");
            }
        }
    }
}

async fn planned(app: &TestApp) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("atlas_graphql_planned_fields_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("atlas_graphql_planned_fields_total")
}

/// The answer's text, as the server wrote it (key order included).
async fn raw(app: &TestApp, owner: &TestUser, t: Option<Uuid>, query: &str, vars: &Value) -> String {
    let mut req = app.client.post(format!("{}/graphql", app.base)).bearer_auth(&owner.token);
    if let Some(t) = t {
        req = req.header("x-tenant-id", t.to_string());
    }
    let resp = req.json(&json!({ "query": query, "variables": vars })).send().await.expect("request");
    resp.text().await.expect("body")
}

/// `text` without each `,"key":` member (the value after it skipped whole: a scalar, an object or
/// a list, strings included).
fn without(text: &str, key: &str) -> String {
    let needle = format!(",\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        out.push_str(&rest[..at]);
        rest = &rest[at + needle.len()..];
        let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '{' | '[' => depth += 1,
                '}' | ']' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Each of `keys` appears in `text`, each after the one before: the planner answers fields in
/// the order the query asks for them, as the GraphQL spec wants.
fn assert_in_order(text: &str, keys: &[&str]) {
    let mut from = 0;
    for key in keys {
        let at = text[from..].find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} not after {from}: {text}"));
        from += at + key.len();
    }
}

/// The answer to `query` as it is (planned), and with `extra` spliced in after `marker` (a field
/// the planner does not answer, so the ordinary resolvers do): the two texts must be the same
/// once `extra_key` is taken out of the second.
async fn same_answer(
    app: &TestApp,
    owner: &TestUser,
    t: Option<Uuid>,
    (query, vars): (&str, Value),
    (marker, extra, extra_key): (&str, &str, &str),
    order: &[&str],
) -> Value {
    assert!(query.contains(marker), "marker {marker} not in the query");
    let before = planned(app).await;
    let fast = raw(app, owner, t, query, &vars).await;
    assert_eq!(planned(app).await, before + 1, "the planner did not answer {query}: {fast}");
    assert_in_order(&fast, order);
    let slow_query = query.replacen(marker, &format!("{marker} {extra}"), 1);
    let slow = raw(app, owner, t, &slow_query, &vars).await;
    assert_eq!(planned(app).await, before + 1, "the planner answered {slow_query}");
    assert!(slow.contains(&format!("\"{extra_key}\":")), "{slow}");
    // Compared as values: the ordinary resolvers list sibling fields in the order they finish
    // (async-graphql resolves them concurrently), the planner in the order they were asked.
    let (fast, slow): (Value, Value) = (json_of(&fast), json_of(&without(&slow, extra_key)));
    assert!(fast.get("errors").is_none(), "{fast}");
    assert_eq!(fast, slow, "planned and ordinary answers differ");
    fast
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn planned_answers_equal_the_resolvers_answers() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    workspace(&app, &owner, t).await;
    // Another tenant's identical workspace must not show through either path.
    let other = app.user().await;
    let other_t = Some(app.tenant(&other).await);
    workspace(&app, &other, other_t).await;

    // Every connection field, cursors, typenames, columns of every kind (enum, JSON, decimal,
    // timestamps, nullable), paging arguments from literals and variables, aliases, fragments.
    let query = "query($after: String, $n: Int) {
        projects(first: 10, orderBy: [{ field: NAME }]) {
          __typename totalCount
          pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
          edges { __typename cursor node { ...P } }
        }
      }
      fragment P on Project {
        __typename id name description
        first: tasks(first: $n, after: $after) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          nodes { id title status priority result description createdAt
            executions { totalCount nodes { id status tokensUsed costUsd durationMs startedAt completedAt input error } } }
        }
        last: tasks(last: 2) { edges { cursor node { ... on Task { title } } } }
        tasks { nodes { title subtasks { totalCount } } }
      }";
    let cursor = json!(service::pagination::encode_cursor(0));
    let vars = json!({ "after": cursor, "n": 2 });
    let fast = same_answer(
        &app,
        &owner,
        t,
        (query, vars),
        ("__typename id name", "taskCounts { status count }", "taskCounts"),
        &[
            "__typename",
            "totalCount",
            "pageInfo",
            "edges",
            "cursor",
            "node",
            "id",
            "name",
            "description",
            "first",
            "last",
            "tasks",
        ],
    )
    .await;
    let projects = &fast["data"]["projects"];
    assert_eq!(projects["totalCount"], 3);
    let names: Vec<&str> =
        projects["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Empty", "Five", "Three"]);
    let five = &projects["edges"][1]["node"];
    assert_eq!(five["first"]["totalCount"], 5);
    assert_eq!(five["first"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(five["first"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(five["first"]["nodes"][0]["title"], "Five 1");
    assert_eq!(five["first"]["nodes"][1]["executions"]["totalCount"], 2);
    assert_eq!(five["first"]["nodes"][1]["executions"]["nodes"][1]["tokensUsed"], 102);
    assert_eq!(five["first"]["nodes"][1]["result"], json!({ "n": 2, "tags": ["a", "b"] }));
    assert_eq!(five["last"]["edges"][1]["node"]["title"], "Five 4");
    assert_eq!(projects["edges"][0]["node"]["tasks"]["nodes"], json!([]));

    // The bench's shape, with the column skipping of both paths (descriptions not read).
    let nested = "{ projects(first: 20) { nodes { id name tasks(first: 20) { nodes { id title status
        executions(first: 10) { nodes { id status durationMs startedAt } } } } } } }";
    let fast = same_answer(
        &app,
        &owner,
        t,
        (nested, json!({})),
        ("id title status", "usage { tokensUsed }", "usage"),
        &["nodes", "id", "name", "tasks", "id", "title", "status", "executions"],
    )
    .await;
    assert_eq!(fast["data"]["projects"]["nodes"].as_array().unwrap().len(), 3);

    // To-one relations (a global table among them: users), batched per level, nulls included.
    let upward = "{ tasks(first: 20, orderBy: [{ field: TITLE }]) { nodes { id title project { name owner { email } }
        creator { id email } parent { id } executions { nodes { task { title } agent { name } } } } } }";
    let fast = same_answer(
        &app,
        &owner,
        t,
        (upward, json!({})),
        ("id title", "usage { tokensUsed }", "usage"),
        &["id", "title", "project", "name", "owner", "creator", "parent", "executions"],
    )
    .await;
    let tasks = fast["data"]["tasks"]["nodes"].as_array().unwrap();
    assert_eq!(tasks.len(), 8);
    assert_eq!(tasks[0]["project"]["owner"]["email"], json!(owner.email));
    assert_eq!(tasks[0]["creator"]["id"], json!(owner.id.to_string()));
    assert_eq!(tasks[0]["parent"], json!(null));
    assert_eq!(tasks[0]["executions"]["nodes"][0]["task"]["title"], tasks[0]["title"]);
    assert_eq!(tasks[0]["executions"]["nodes"][0]["agent"], json!(null));

    // One column read by several fields of one level (nodes, an alias, edges' nodes), a relation's
    // key read as a column too, and a to-many relation under a to-one one.
    let shared = "{ tasks(first: 20, orderBy: [{ field: TITLE }]) { nodes { title projectId again: title
        project { id tasks { totalCount nodes { title } } } } edges { node { title projectId } } } }";
    let fast = same_answer(
        &app,
        &owner,
        t,
        (shared, json!({})),
        ("{ title projectId", "usage { tokensUsed }", "usage"),
        &["nodes", "title", "projectId", "again", "project", "edges"],
    )
    .await;
    let tasks = &fast["data"]["tasks"];
    assert_eq!(tasks["nodes"][0]["again"], tasks["nodes"][0]["title"]);
    assert_eq!(tasks["edges"][0]["node"]["title"], tasks["nodes"][0]["title"]);
    assert_eq!(tasks["nodes"][0]["projectId"], tasks["nodes"][0]["project"]["id"]);
    assert_eq!(tasks["nodes"][0]["project"]["tasks"]["totalCount"], 5);

    // A root field by id.
    let three = projects["edges"][2]["node"]["id"].clone();
    let by_id = "query($id: UUID!) { project(id: $id) { name tasks { totalCount nodes { title executions { totalCount } } } } }";
    let fast = same_answer(
        &app,
        &owner,
        t,
        (by_id, json!({ "id": three })),
        ("{ name", "taskCounts { count }", "taskCounts"),
        &["name", "tasks", "totalCount", "nodes"],
    )
    .await;
    assert_eq!(fast["data"]["project"]["tasks"]["totalCount"], 3);

    // One statement per level on the planned path too (plus the transaction's setup).
    let before = app.statements().await;
    data(&app.gql(&owner, t, nested, json!({})).await, "projects");
    assert_eq!(app.statements().await - before, 4);
}

#[tokio::test]
async fn arguments_the_planner_cannot_take_get_the_resolvers_errors() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    workspace(&app, &owner, t).await;
    let before = planned(&app).await;
    for (query, message) in [
        ("{ projects { nodes { tasks(first: 101) { totalCount } } } }", "first must be at most 100"),
        ("{ projects { nodes { tasks(first: 1, last: 1) { totalCount } } } }", "give either first or last"),
        ("{ projects { nodes { tasks(after: \"nope\") { totalCount } } } }", "after is not a cursor"),
    ] {
        let res = app.gql(&owner, t, query, json!({})).await;
        let error = &res["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{res}");
        assert!(error["message"].as_str().unwrap_or("").contains(message), "{res}");
        assert_eq!(error["path"][0], "projects", "{res}");
    }
    assert_eq!(planned(&app).await, before);
}
