//! Nothing but caches and subscriptions lives in a server process (issue 18): `atlas serve`
//! processes on one database, and an `atlas worker` process, serve one tenant as one; a server
//! that is stopped drains its requests and sends its subscribers elsewhere, within its grace
//! period whatever the database does.
mod common;

use std::time::{Duration, Instant};

use common::jobs::{enqueue, Worker};
use common::link::{through, upstream, Link};
use common::serve::Served;
use common::ws::{connect, next, send, Protocol, Ws};
use common::{data, id, test_config, FilePart, TestApp, TestUser};
use serde_json::json;
use uuid::Uuid;

async fn subscribe_job(app: &TestApp, user: &TestUser, tenant: Uuid, protocol: Protocol, job: Uuid) -> Ws {
    let mut ws = connect(app, protocol).await;
    let auth = json!({ "Authorization": format!("Bearer {}", user.token), "X-Tenant-Id": tenant });
    send(&mut ws, json!({ "type": "connection_init", "payload": auth })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.expect("ack")["type"], "connection_ack");
    let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
    send(
        &mut ws,
        json!({ "id": "1", "type": start, "payload": {
        "query": "subscription($id: UUID!) { jobUpdated(id: $id) { job { status } } }", "variables": { "id": job } } }),
    )
    .await;
    ws
}

/// A subscriber on server A sees a job enqueued through server B run by a worker process, from
/// start to finish; a file uploaded through A downloads through B's link.
#[tokio::test]
async fn two_servers_and_a_worker_serve_as_one() {
    let (a, _a) = Served::start(test_config(), &[], &[]).await;
    let (b, _b) = Served::start(test_config(), &[], &[]).await;
    let owner = a.user().await;
    let t = a.tenant(&owner).await;

    let ids = enqueue(&b, &owner, t, 1, "SLEEP", 0, "input: { ms: 200 }").await;
    let mut ws = subscribe_job(&a, &owner, t, Protocol::TransportWs, ids[0]).await;
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

/// SIGTERM to A: an upload still arriving completes, both protocols' subscribers get a clean
/// close (1001, going away) instead of a dropped socket, A stops taking connections and exits
/// with success within its grace period; B serves throughout, the file A stored included.
#[tokio::test]
async fn sigterm_drains_requests_and_closes_subscriptions_while_the_other_server_serves() {
    let (a, mut a_process) = Served::start(test_config(), &["--grace-ms", "8000"], &[]).await;
    let (b, _b) = Served::start(test_config(), &[], &[]).await;
    let owner = b.user().await;
    let t = b.tenant(&owner).await;
    let job = enqueue(&b, &owner, t, 1, "NOOP", 0, "scheduledAt: \"2100-01-01T00:00:00Z\"").await[0];
    let mut modern = subscribe_job(&a, &owner, t, Protocol::TransportWs, job).await;
    let mut legacy = subscribe_job(&a, &owner, t, Protocol::LegacyGraphqlWs, job).await;

    // An upload whose body is still arriving when the signal comes.
    let (more, rest) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let first = b"first half, before the signal\n".repeat(2000);
    let second = b"second half, after the signal\n".repeat(2000);
    more.send(Ok(first.clone())).await.expect("first half");
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rest));
    let upload = {
        let (a, owner) = (a.clone(), owner.clone());
        tokio::spawn(async move {
            a.upload(
                &owner,
                t,
                "mutation($file: Upload!) { uploadFile(file: $file) { id size } }",
                json!({}),
                FilePart::new("slow.txt", "text/plain", body),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    a_process.signal("TERM");

    for (ws, name) in [(&mut modern, "graphql-transport-ws"), (&mut legacy, "graphql-ws")] {
        let msg = next(ws, Duration::from_secs(5)).await.unwrap_or_else(|| panic!("{name}: no close frame"));
        assert_eq!(msg, json!({ "type": "close", "code": 1001 }), "{name}");
    }
    // B serves while A drains.
    let res = b.gql(&owner, Some(t), "{ tenant { id } }", json!({})).await;
    assert_eq!(id(data(&res, "tenant.id")), t);
    tokio::time::sleep(Duration::from_millis(300)).await;
    more.send(Ok(second.clone())).await.expect("second half");
    drop(more);
    let res = upload.await.expect("upload task");
    let file = id(data(&res, "uploadFile.id"));
    assert_eq!(data(&res, "uploadFile.size"), &json!(first.len() + second.len()), "{res}");

    let status = a_process.exited_within(Duration::from_secs(10)).await.expect("A exited");
    assert!(status.success(), "a graceful stop exits with success: {status}");
    assert!(signalled.elapsed() < Duration::from_secs(10), "within the grace period: {:?}", signalled.elapsed());
    assert!(a.client.get(format!("{}/health", a.base)).send().await.is_err(), "A takes no new connections");

    let res =
        b.gql(&owner, Some(t), "query($id: UUID!) { file(id: $id) { downloadUrl } }", json!({ "id": file })).await;
    let url = data(&res, "file.downloadUrl").as_str().expect("url").to_string();
    let got = b.client.get(&url).send().await.expect("download").bytes().await.expect("bytes");
    assert_eq!(got.len(), first.len() + second.len());
    assert!(got.starts_with(&first) && got.ends_with(&second));
}

/// A SIGTERM while the database is down: the server (with its in-process worker running a job)
/// exits within its grace period rather than waiting for the database; the job it held is not
/// lost, since its lease returns it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_while_the_database_is_down() {
    // In the pooled pass the link runs between the server and PgBouncer: the same outage to it.
    let mut config = test_config();
    // The pool's and the worker's link, and the LISTEN session's (direct, behind a pooler).
    let link = Link::to(upstream(&config.database_url)).await;
    let listen_link = Link::to(upstream(&config.listen_url)).await;
    config.database_url = through(&config.database_url, link.port);
    config.listen_url = through(&config.listen_url, listen_link.port);
    config.worker_database_url = config.worker_database_url.as_deref().map(|u| through(u, link.port));
    let (a, mut a_process) = Served::start(config, &["--grace-ms", "1500"], &[("ATLAS_SERVE_WORKER", "true")]).await;
    let owner = a.user().await;
    let t = a.tenant(&owner).await;
    let job = enqueue(&a, &owner, t, 1, "SLEEP", 0, "input: { ms: 60000 }").await[0];
    let owner_db = a.owner_db().await;
    let started = Instant::now();
    loop {
        let row = common::jobs::lease_of(&owner_db, job).await.0;
        if row == "running" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the in-process worker never ran the job ({row})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    link.cut();
    listen_link.cut();
    let signalled = Instant::now();
    a_process.signal("TERM");
    let status = a_process.exited_within(Duration::from_secs(15)).await;
    let took = signalled.elapsed();
    assert!(status.is_some(), "atlas serve still runs {took:?} after SIGTERM with the database down");
    // 1.5 s of grace, 2 s of slack for the last steps, and a margin for a busy machine.
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    link.restore();
    listen_link.restore();
    // Not lost: still the worker's until its lease expires (then any worker claims it again).
    let (status, leased) = common::jobs::lease_of(&owner_db, job).await;
    // Tidy first: a minute-long job left behind would occupy a slot of later tests' SLEEP workers
    // once its lease expires (each in a tenant of its own, so the fair claim picks it early).
    common::exec(&owner_db, "DELETE FROM jobs WHERE id = $1", vec![job.into()]).await.expect("tidy");
    assert!(status == "running" && leased || status == "queued", "the job is {status} (leased: {leased})");
}
