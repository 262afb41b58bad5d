//! The database goes away and comes back, as in a restart or a failover: requests meanwhile get a
//! retryable SERVICE_UNAVAILABLE (HTTP 503 with Retry-After), never INTERNAL; `/health/ready` says
//! which part is down; afterwards the pool and the LISTEN session recover by themselves.
mod common;

use std::time::{Duration, Instant};

use common::link::{through, Link};
use common::{data, TestApp};
use serde_json::{json, Value};

async fn post(app: &TestApp, token: &str, tenant: uuid::Uuid, query: &str) -> (u16, Option<String>, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .header("x-tenant-id", tenant.to_string())
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, retry, resp.json().await.expect("json body"))
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let resp = app.client.get(format!("{}/health/ready", app.base)).send().await.expect("ready");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

// Multi-threaded: the link's tasks must run while `TestApp::start_with` blocks its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_retryable_and_the_server_recovers() {
    let mut config = common::test_config();
    let link = Link::to(common::link::upstream(&config.database_url)).await;
    config.database_url = through(&config.database_url, link.port);
    config.listen_url = config.database_url.clone();
    config.prepared_statements = true;
    let app = TestApp::start_with(config).await;
    let user = app.user().await;
    let t = app.tenant(&user).await;
    let query = "{ projects { totalCount } }";
    let (status, _, body) = post(&app, &user.token, t, query).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ready(&app).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");

    link.cut();
    let (status, retry, body) = post(&app, &user.token, t, query).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(!body.to_string().contains("INTERNAL"), "{body}");
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unavailable", "{body}");
    assert_eq!(body["storage"], "ok", "{body}");

    // Back: within seconds, with nothing restarted, requests succeed and the listener is up.
    link.restore();
    let started = Instant::now();
    loop {
        let (status, _, body) = post(&app, &user.token, t, query).await;
        let (ready_status, ready_body) = ready(&app).await;
        if status == 200 && ready_status == 200 {
            data(&body, "projects.totalCount");
            assert_eq!(ready_body["listener"], "ok");
            break;
        }
        assert_ne!(body["errors"][0]["extensions"]["code"], "INTERNAL", "{body}");
        assert!(started.elapsed() < Duration::from_secs(30), "not recovered after 30 s: {body} {ready_body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
