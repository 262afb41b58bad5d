//! Nothing but caches and subscriptions lives in a server process (issue 18): two servers on one
//! database, and a worker process, serve one tenant as one. (SIGTERM draining and bounded shutdown
//! are not here yet.)
mod common;

use std::time::Duration;

use common::jobs::{enqueue, Worker};
use common::ws::{connect, next, send, Protocol};
use common::{data, id, FilePart, TestApp};
use serde_json::json;

/// A subscriber on server A sees a job enqueued through server B run by a worker process, from
/// start to finish; a file uploaded through A downloads through B's link.
#[tokio::test]
async fn two_servers_and_a_worker_serve_as_one() {
    let a = TestApp::start().await;
    let b = TestApp::start().await;
    let owner = a.user().await;
    let t = a.tenant(&owner).await;

    let mut ws = connect(&a, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.expect("ack")["type"], "connection_ack");
    let ids = enqueue(&b, &owner, t, 1, "SLEEP", 0, "input: { ms: 200 }").await;
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($id: UUID!) { jobUpdated(id: $id) { job { status } } }", "variables": { "id": ids[0] } } }))
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _worker = Worker::start(&b, &["--types", "SLEEP", "--poll-ms", "50"]);
    let mut seen = vec![];
    while seen.last().map(String::as_str) != Some("SUCCEEDED") {
        let msg = next(&mut ws, Duration::from_secs(20)).await.expect("a job event on A");
        seen.push(msg["payload"]["data"]["jobUpdated"]["job"]["status"].as_str().unwrap_or("?").to_string());
    }
    seen.dedup();
    assert!(seen.contains(&"RUNNING".to_string()), "A saw the job run: {seen:?}");

    let body = b"uploaded through A, downloaded through B\n".repeat(100);
    let res = a
        .upload(
            &owner,
            t,
            "mutation($file: Upload!) { uploadFile(file: $file) { id } }",
            json!({}),
            FilePart::new("both.txt", "text/plain", body.clone()),
        )
        .await;
    let file = id(data(&res, "uploadFile.id"));
    let res =
        b.gql(&owner, Some(t), "query($id: UUID!) { file(id: $id) { downloadUrl } }", json!({ "id": file })).await;
    let url = data(&res, "file.downloadUrl").as_str().expect("url").to_string();
    assert!(url.starts_with(&b.base), "B's own link: {url}");
    let got = b.client.get(&url).send().await.expect("download").bytes().await.expect("bytes");
    assert_eq!(got.as_ref(), body.as_slice());
}
