//! GraphQL over HTTP details: GET, content negotiation, GraphiQL, health and metrics.
mod common;

use common::{code, TestApp};
use serde_json::Value;

#[tokio::test]
async fn get_queries_content_types_and_graphiql() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let url = format!("{}/graphql", app.base);

    let resp = app.client.get(&url).query(&[("query", "{ health { status } }")]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["health"]["status"], "ok");

    // A mutation over GET is refused: GET may only read.
    let resp = app
        .client
        .get(&url)
        .header("authorization", format!("Bearer {}", owner.token))
        .query(&[("query", "mutation { createTenant(input: { slug: \"via-get\", name: \"x\" }) { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);

    // The GraphQL response media type, with 4xx for a request that fails validation.
    let resp = app
        .client
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&serde_json::json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/graphql-response+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(body.get("data").is_none(), "a request that never ran has no data entry: {body}");

    // A browser gets GraphiQL, whose scripts Atlas serves itself (no CDN).
    let resp = app.client.get(&url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js") && !html.contains("cdn"), "{html}");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    ] {
        let resp = app.client.get(format!("{}/graphiql/{asset}", app.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{asset}");
        assert!(resp.bytes().await.unwrap().len() > 1000, "{asset}");
    }
}

#[tokio::test]
async fn graphiql_and_introspection_can_be_switched_off() {
    let mut config = common::test_config();
    config.graphiql = false;
    config.introspection = false;
    let app = TestApp::start_with(config).await;
    let url = format!("{}/graphql", app.base);
    let resp = app.client.get(&url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: Value = app
        .client
        .post(&url)
        .json(&serde_json::json!({ "query": "{ __schema { types { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["errors"].is_array() || body["data"]["__schema"].is_null(), "introspection answered: {body}");
}

#[tokio::test]
async fn health_and_metrics() {
    let app = TestApp::start().await;
    for path in ["/health", "/health/db"] {
        let resp = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
    app.user().await;
    // Metrics are private: without the token (or with another) they are refused.
    let url = format!("{}/metrics", app.base);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    let wrong = app.client.get(&url).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let text = app.metrics().await;
    assert!(text.contains("# TYPE atlas_graphql_requests_total counter"));
    assert!(app.statements().await > 0);
}
