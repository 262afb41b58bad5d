//! Bad input gets a clear error with `extensions.code`, never a 500.
mod common;

use common::{code, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn bad_arguments_are_client_errors() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    let cases: &[(&str, Value)] = &[
        ("query { project(id: \"not-a-uuid\") { id } }", json!({})),
        ("query($id: UUID!) { task(id: $id) { id } }", json!({ "id": "123" })),
        ("query { tasks(filter: { status: { eq: DONE } }) { totalCount } }", json!({})),
        ("query($s: TaskStatus) { tasks(filter: { status: { eq: $s } }) { totalCount } }", json!({ "s": "done" })),
        ("query { tasks(first: 100000) { totalCount } }", json!({})),
        ("query { tasks(first: -1) { totalCount } }", json!({})),
        ("query { tasks(first: 1, last: 1) { totalCount } }", json!({})),
        ("query { tasks(after: \"bm90IGEgY3Vyc29y\") { totalCount } }", json!({})),
        ("query { tasks(before: \"%%%\") { totalCount } }", json!({})),
        ("query { nope }", json!({})),
        ("query { tasks(", json!({})),
        ("mutation { createTask(input: { title: \"\" }) { id } }", json!({})),
        ("mutation { createTask(input: { }) { id } }", json!({})),
    ];
    for (query, vars) in cases {
        let res = app.gql(&owner, t, query, vars.clone()).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{query}: {res}");
        assert!(!res["errors"][0]["message"].as_str().unwrap_or("").is_empty());
    }
    // first: 100 is the ceiling and works.
    let res = app.gql(&owner, t, "query { tasks(first: 100) { totalCount } }", json!({})).await;
    assert!(res.get("errors").is_none(), "{res}");
}

#[tokio::test]
async fn query_limits_refuse_deep_wide_and_costly_documents() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = Some(app.tenant(&owner).await);
    // 50 levels deep through task.parent.
    let deep =
        format!("query {{ tasks {{ edges {{ node {{ {}id{} }} }} }} }}", "parent { ".repeat(50), " }".repeat(50));
    let res = app.gql(&owner, t, &deep, json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    // 1,000 aliases of a cheap field.
    let wide = format!(
        "query {{ {} }}",
        (0..1000).map(|i| format!("a{i}: health {{ status }}")).collect::<Vec<_>>().join(" ")
    );
    let res = app.gql(&owner, t, &wide, json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("aliases"));
    // Large pages nested in large pages exceed the complexity budget.
    let costly = "query { projects(first: 100) { edges { node { tasks(first: 100) { edges { node { subtasks(first: 100) { edges { node { id title } } } } } } } } } }";
    let res = app.gql(&owner, t, costly, json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
}

#[tokio::test]
async fn malformed_http_requests_get_json_errors() {
    let app = TestApp::start().await;
    let url = format!("{}/graphql", app.base);
    let post = |body: Vec<u8>, ct: &'static str| {
        let (client, url) = (&app.client, &url);
        async move {
            let resp = client.post(url).header("content-type", ct).body(body).send().await.expect("send");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json error body"))
        }
    };
    let (status, body) = post(b"{\"query\": ".to_vec(), "application/json").await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    let (status, body) = post(b"[1, 2".to_vec(), "application/json").await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"));
    let (status, body) = post(b"{\"variables\": {}}".to_vec(), "application/json").await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"));
    // Only JSON (or multipart for uploads) is accepted.
    let (status, body) = post(b"{\"query\": \"{ health { status } }\"}".to_vec(), "text/plain").await;
    assert_eq!((status, code(&body)), (415, "BAD_USER_INPUT"));
    // Over the body limit.
    let huge = format!("{{\"query\": \"{{ health {{ status }} }}\", \"x\": \"{}\"}}", "a".repeat(2 << 20));
    let (status, body) = post(huge.into_bytes(), "application/json").await;
    assert_eq!((status, code(&body)), (413, "BAD_USER_INPUT"));
    // Variables of the wrong shape.
    let (status, body) = post(
        br#"{"query": "query($id: UUID!) { task(id: $id) { id } }", "variables": [1]}"#.to_vec(),
        "application/json",
    )
    .await;
    assert!(status == 400 || status == 200, "{status}");
    assert!(body["errors"].is_array());
}
