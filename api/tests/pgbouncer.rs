//! Behind PgBouncer in transaction mode, as the seeds deploy: concurrent clients get no errors,
//! whatever server session each transaction lands on. scripts/test.sh starts Debian's PgBouncer
//! (scripts/pgbouncer.sh) and runs this, the four seed scenarios, isolation, subscriptions and
//! the queue through it.
mod common;

use common::{data, id, FilePart, TestApp};
use serde_json::json;

/// The test server's configuration, through the test PgBouncer.
fn pooled_config() -> api::config::Config {
    let url = std::env::var("TEST_POOLED_DATABASE_URL")
        .expect("TEST_POOLED_DATABASE_URL: run the tests with scripts/test.sh, which starts PgBouncer");
    let worker = std::env::var("TEST_POOLED_WORKER_DATABASE_URL").expect("TEST_POOLED_WORKER_DATABASE_URL");
    let mut config = common::test_config();
    config.database_url = url;
    config.worker_database_url = Some(worker);
    config.prepared_statements = false;
    config.listen_url = config.direct_url.clone();
    config.db_pool_size = 10;
    config
}

/// 1,000 requests from 20 concurrent clients (reads with relations and variables, writes), then
/// uploads and downloads: not one error, and every write is there afterwards.
#[tokio::test]
async fn a_thousand_concurrent_requests_through_pgbouncer_all_succeed() {
    let app = TestApp::start_with(pooled_config()).await;
    assert!(!app.config.prepared_statements);
    let user = app.user().await;
    let t = app.tenant(&user).await;
    let res =
        app.gql(&user, Some(t), "mutation { createProject(input: { name: \"Pooled\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));

    let mut clients = vec![];
    for c in 0..20 {
        let (app, user) = (&app, &user);
        clients.push(async move {
            let mut errors = vec![];
            for i in 0..50 {
                let res = match i % 3 {
                    0 => {
                        app.gql(
                            user,
                            Some(t),
                            "mutation($p: UUID!, $t: String!) { createTask(input: { projectId: $p, title: $t }) { id } }",
                            json!({ "p": project, "t": format!("c{c} t{i}") }),
                        )
                        .await
                    }
                    1 => {
                        app.gql(
                            user,
                            Some(t),
                            "query($p: UUID!) { project(id: $p) { name tasks(first: 5) { totalCount nodes { title project { name } } } } }",
                            json!({ "p": project }),
                        )
                        .await
                    }
                    _ => app.gql(user, Some(t), "{ me { id email } tenant { name } projects { totalCount } }", json!({})).await,
                };
                if res.get("errors").is_some() {
                    errors.push(res);
                }
            }
            errors
        });
    }
    let errors: Vec<_> = futures_util::future::join_all(clients).await.into_iter().flatten().collect();
    assert!(errors.is_empty(), "{} of 1,000 requests failed; first: {}", errors.len(), errors[0]);
    let res = app
        .gql(&user, Some(t), "query($p: UUID!) { project(id: $p) { tasks { totalCount } } }", json!({ "p": project }))
        .await;
    assert_eq!(data(&res, "project.tasks.totalCount"), 20 * 17, "every createTask committed");

    // Uploads and their downloads, concurrently.
    let mut uploads = vec![];
    for i in 0..10 {
        let (app, user) = (&app, &user);
        uploads.push(async move {
            let body = format!("file {i}\n").repeat(1000).into_bytes();
            let res = app
                .upload(
                    user,
                    t,
                    "mutation($file: Upload!) { uploadFile(file: $file) { id downloadUrl } }",
                    json!({}),
                    FilePart::new(&format!("f{i}.txt"), "text/plain", body.clone()),
                )
                .await;
            let url = data(&res, "uploadFile.downloadUrl").as_str().expect("url").to_string();
            let got = app.client.get(&url).send().await.expect("download").bytes().await.expect("bytes");
            assert_eq!(got.as_ref(), body.as_slice(), "download of f{i}");
        });
    }
    futures_util::future::join_all(uploads).await;
}
