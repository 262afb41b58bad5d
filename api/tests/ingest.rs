//! CSV ingest (seed 003) end to end: multipart upload or stored file, a real worker process
//! parsing the CSV from the object store, skip reasons, vectorisation, a WebSocket subscriber
//! watching progress, cancellation halfway, and a 100 MB file with bounded worker memory.
//!
//! Only this file starts INGEST_CSV/EMBED workers, and it starts one, so its memory reading
//! covers every ingest of the file (tests in one binary run in parallel; binaries one by one).
mod common;

use std::time::{Duration, Instant};

use common::jobs::Worker;
use common::ws::{connect, next, send, Protocol};
use common::{data, id, FilePart, TestApp, TestUser};
use serde_json::{json, Value};
use uuid::Uuid;

const INGEST: &str = "mutation($i: IngestCsvInput!, $file: Upload) { ingestCsv(input: $i, file: $file) { id status } }";

async fn project(app: &TestApp, user: &TestUser, t: Uuid) -> Uuid {
    let res =
        app.gql(user, Some(t), "mutation { createProject(input: { name: \"Reviews\" }) { id } }", json!({})).await;
    id(data(&res, "createProject.id"))
}

async fn ingest_bytes(
    app: &TestApp,
    user: &TestUser,
    t: Uuid,
    p: Uuid,
    name: &str,
    bytes: Vec<u8>,
    mapping: Value,
) -> Value {
    let vars = json!({ "i": { "projectId": p, "recordType": "TASK", "mapping": mapping } });
    app.upload(user, t, INGEST, vars, FilePart::new(name, "text/csv", bytes)).await
}

async fn ingest_state(app: &TestApp, user: &TestUser, t: Uuid, ingest: Uuid) -> Value {
    let res = app
        .gql(
            user,
            Some(t),
            "query($id: UUID!) { ingestJob(id: $id) { status totalRecords savedCount skippedCount skippedDetails error \
               records(first: 100) { totalCount edges { node { content category metadata source embeddingModel } } } } }",
            json!({ "id": ingest }),
        )
        .await;
    data(&res, "ingestJob").clone()
}

/// Poll until the ingest reaches one of `states`.
/// The ingest without its records, short enough for an assertion message.
fn brief(s: &Value) -> Value {
    let mut s = s.clone();
    s["records"] = s["records"]["totalCount"].clone();
    s
}

async fn wait_state(
    app: &TestApp,
    user: &TestUser,
    t: Uuid,
    ingest: Uuid,
    states: &[&str],
    timeout: Duration,
) -> Value {
    let started = Instant::now();
    loop {
        let s = brief(&ingest_state(app, user, t, ingest).await);
        if states.iter().any(|w| s["status"] == *w) {
            return s;
        }
        assert!(started.elapsed() < timeout, "ingest still {s} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The seed 003 flow through GraphQL: upload, subscribe, watch it go through its statuses.
async fn end_to_end_with_subscription(app: &TestApp, worker: &Worker) {
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let p = project(app, &owner, t).await;
    let mut csv = b"Content,Category,Author,Score\n".to_vec();
    csv.extend_from_slice(b"Refactor the billing module,top_10,ann,5\n");
    csv.extend_from_slice(b"\"Write tests, then ship\",bottom_10,bob,3\n");
    csv.extend_from_slice(b"Refactor the billing module,top_10,ann,5\n"); // duplicate
    csv.extend_from_slice(b"   ,top_10,cid,1\n"); // empty content
    csv.extend_from_slice(b"Only two fields,top_10\n"); // wrong column count
    csv.extend_from_slice(b"Categorised wrongly,middle,dan,2\n"); // invalid category
    csv.extend_from_slice(b"Bad bytes \xff\xfe here,top_10,eve,4\n"); // invalid UTF-8
    csv.extend_from_slice(b"Add a CSV export,,fay,4\n");
    // Enough rows for several batches, so the subscriber sees the counters grow.
    for i in 0..3000 {
        csv.extend_from_slice(format!("Generated review number {i},,gen,1\n").as_bytes());
    }
    // The subscriber is in place before the job can start: the worker would otherwise finish it
    // before the subscription reads its first state.
    worker.pause();
    let res = ingest_bytes(
        app,
        &owner,
        t,
        p,
        "reviews.csv",
        csv,
        json!({ "contentColumn": "content", "categoryColumn": "category" }),
    )
    .await;
    let ingest = id(data(&res, "ingestCsv.id"));
    assert_eq!(data(&res, "ingestCsv.status"), "PENDING");

    let mut ws = connect(app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($id: UUID!) { ingestJobProgress(id: $id) { ingestJob { status savedCount skippedCount } } }",
        "variables": { "id": ingest } } })).await;
    // As the other subscription tests: give the server a moment to start listening.
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.resume();

    let order = ["PENDING", "PROCESSING", "QUEUED_FOR_VEC", "VECTORIZING", "COMPLETED"];
    let mut seen: Vec<String> = vec![];
    let mut events = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.last().map(String::as_str) != Some("COMPLETED") {
        assert!(Instant::now() < deadline, "no completion; saw {seen:?}");
        let Some(msg) = next(&mut ws, Duration::from_secs(30)).await else { continue };
        assert_eq!(msg["type"], "next", "{msg}");
        events += 1;
        let status = msg["payload"]["data"]["ingestJobProgress"]["ingestJob"]["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
    }
    // Statuses only move forward.
    let ranks: Vec<usize> = seen.iter().map(|s| order.iter().position(|o| o == s).expect("known status")).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "statuses out of order: {seen:?}");
    assert!(events >= 3, "only {events} progress events: {seen:?}");

    let s = ingest_state(app, &owner, t, ingest).await;
    assert_eq!(s["savedCount"], 3003, "{}", brief(&s));
    assert_eq!(s["skippedCount"], 5, "{}", brief(&s));
    assert_eq!(s["totalRecords"], 3008);
    assert_eq!(
        s["skippedDetails"],
        json!({ "duplicate": 1, "empty_content": 1, "wrong_column_count": 1, "invalid_category": 1, "invalid_utf8": 1 })
    );
    let records = s["records"]["edges"].as_array().unwrap();
    assert_eq!(s["records"]["totalCount"], 3003);
    let quoted =
        records.iter().find(|r| r["node"]["content"] == "Write tests, then ship").expect("quoted field kept whole");
    assert_eq!(quoted["node"]["category"], "BOTTOM_10");
    assert_eq!(quoted["node"]["metadata"], json!({ "Author": "bob", "Score": "3" }));
    assert_eq!(quoted["node"]["source"], "csv:reviews.csv");
    assert!(records.iter().all(|r| r["node"]["embeddingModel"].as_str().is_some_and(|m| m.contains("lexical-hash"))));
    // The CSV itself is kept as a file.
    let files = app
        .gql(&owner, Some(t), "{ files { totalCount edges { node { name contentType size sha256 } } } }", json!({}))
        .await;
    assert_eq!(data(&files, "files.edges")[0]["node"]["name"], "reviews.csv");
    assert_eq!(data(&files, "files.edges")[0]["node"]["contentType"], "text/csv");
}

/// Files that cannot be ingested fail with an error that says why.
async fn unusable_files_fail_clearly(app: &TestApp) {
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let p = project(app, &owner, t).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "empty"),
        ("nocontent.csv", b"title,author\nHello,ann\n".to_vec(), "no column \"content\""),
        ("latin1.csv", b"c\xf6ntent\nHello\n".to_vec(), "not valid UTF-8"),
    ];
    for (name, bytes, why) in cases {
        let res = ingest_bytes(app, &owner, t, p, name, bytes, json!({})).await;
        let ingest = id(data(&res, "ingestCsv.id"));
        let s = wait_state(app, &owner, t, ingest, &["FAILED", "COMPLETED"], Duration::from_secs(60)).await;
        assert_eq!(s["status"], "FAILED", "{name}: {s}");
        assert!(s["error"].as_str().unwrap().contains(why), "{name}: {s}");
    }
    // A header alone is a valid, empty import.
    let res = ingest_bytes(app, &owner, t, p, "header.csv", b"content,author\n".to_vec(), json!({})).await;
    let ingest = id(data(&res, "ingestCsv.id"));
    let s = wait_state(app, &owner, t, ingest, &["FAILED", "COMPLETED"], Duration::from_secs(60)).await;
    assert_eq!(s["status"], "COMPLETED", "{s}");
    assert_eq!(s["savedCount"], 0);

    // By file id: upload once, ingest it (with a type column), and not as another tenant.
    let up = app
        .upload(
            &owner,
            t,
            "mutation($file: Upload!) { uploadFile(file: $file) { id } }",
            json!({}),
            FilePart::new("mixed.csv", "text/csv", b"text;kind\nfirst;task\nsecond;feedback\nthird;neither\n".to_vec()),
        )
        .await;
    let file = id(data(&up, "uploadFile.id"));
    let vars = json!({ "i": { "projectId": p, "recordType": "TASK", "fileId": file, "mapping": { "contentColumn": "text", "typeColumn": "kind", "delimiter": ";" } } });
    let res = app.gql(&owner, Some(t), INGEST, vars.clone()).await;
    let ingest = id(data(&res, "ingestCsv.id"));
    let s = wait_state(app, &owner, t, ingest, &["FAILED", "COMPLETED"], Duration::from_secs(60)).await;
    assert_eq!(s["status"], "COMPLETED", "{s}");
    assert_eq!(s["savedCount"], 2);
    assert_eq!(s["skippedDetails"], json!({ "invalid_type": 1 }));
    let types = app.gql(&owner, Some(t), "query($p: UUID!) { dataRecords(filter: { projectId: { eq: $p }, recordType: { eq: FEEDBACK } }) { totalCount } }", json!({ "p": p })).await;
    assert_eq!(data(&types, "dataRecords.totalCount"), 1);

    let other = app.user().await;
    let o = app.tenant(&other).await;
    let op = project(app, &other, o).await;
    let vars = json!({ "i": { "projectId": op, "recordType": "TASK", "fileId": file } });
    let res = app.gql(&other, Some(o), INGEST, vars).await;
    assert_eq!(common::code(&res), "NOT_FOUND", "{res}");
    // Neither file nor fileId, or both: refused before anything starts.
    let res = app.gql(&owner, Some(t), INGEST, json!({ "i": { "projectId": p, "recordType": "TASK" } })).await;
    assert_eq!(common::code(&res), "BAD_USER_INPUT");
}

/// A CSV of `rows` rows of about `width` bytes of content each, generated on the fly.
fn generated_csv(rows: usize, width: usize) -> reqwest::Body {
    let chunks = (0..rows).step_by(1000).map(move |start| {
        let mut buf = String::with_capacity(1000 * (width + 40));
        if start == 0 {
            buf.push_str("content,n\n");
        }
        for i in start..(start + 1000).min(rows) {
            let word = format!("row{i} ");
            let body: String = word.repeat(width / word.len() + 1);
            buf.push_str(&format!("\"{}\",{i}\n", &body[..width]));
        }
        Ok::<_, std::io::Error>(buf)
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// 100 MB streamed through upload, store and parser.
async fn hundred_megabytes(app: &TestApp) {
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let p = project(app, &owner, t).await;
    let rows = 10_000;
    let vars = json!({ "i": { "projectId": p, "recordType": "FEEDBACK" } });
    let res =
        app.upload(&owner, t, INGEST, vars, FilePart::new("big.csv", "text/csv", generated_csv(rows, 10_000))).await;
    let ingest = id(data(&res, "ingestCsv.id"));
    let s = wait_state(
        app,
        &owner,
        t,
        ingest,
        &["FAILED", "COMPLETED", "QUEUED_FOR_VEC", "VECTORIZING"],
        Duration::from_secs(600),
    )
    .await;
    assert_ne!(s["status"], "FAILED", "{s}");
    assert_eq!(s["savedCount"], rows, "{s}");
    let files = app.gql(&owner, Some(t), "{ files { edges { node { size } } } }", json!({})).await;
    assert!(data(&files, "files.edges")[0]["node"]["size"].as_i64().unwrap() > 100_000_000);
    wait_state(app, &owner, t, ingest, &["COMPLETED"], Duration::from_secs(900)).await;
}

/// Cancelled halfway: the worker stops at its next batch, and nothing more is saved.
async fn cancel_halfway(app: &TestApp) {
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let p = project(app, &owner, t).await;
    let rows = 200_000;
    let vars = json!({ "i": { "projectId": p, "recordType": "TASK" } });
    let res =
        app.upload(&owner, t, INGEST, vars, FilePart::new("long.csv", "text/csv", generated_csv(rows, 100))).await;
    let ingest = id(data(&res, "ingestCsv.id"));
    let started = Instant::now();
    loop {
        let s = ingest_state(app, &owner, t, ingest).await;
        if s["savedCount"].as_i64().unwrap() > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "no progress: {}", brief(&s));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let res = app
        .gql(&owner, Some(t), "mutation($id: UUID!) { cancelIngestJob(id: $id) { status } }", json!({ "id": ingest }))
        .await;
    assert_eq!(data(&res, "cancelIngestJob.status"), "CANCELLED");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = brief(&ingest_state(app, &owner, t, ingest).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = brief(&ingest_state(app, &owner, t, ingest).await);
    assert_eq!(b["status"], "CANCELLED");
    assert_eq!(a["savedCount"], b["savedCount"], "still saving after cancel");
    assert!(b["savedCount"].as_i64().unwrap() < rows as i64, "{b}");
    assert_eq!(b["records"], b["savedCount"]);
    // Cancelling again is a conflict, not a silent success.
    let res = app
        .gql(&owner, Some(t), "mutation($id: UUID!) { cancelIngestJob(id: $id) { status } }", json!({ "id": ingest }))
        .await;
    assert_eq!(common::code(&res), "CONFLICT");
}

#[tokio::test]
async fn csv_ingest() {
    let app = TestApp::start().await;
    let worker = Worker::start(&app, &["--types", "INGEST_CSV,EMBED", "--concurrency", "4", "--poll-ms", "200"]);
    tokio::join!(
        end_to_end_with_subscription(&app, &worker),
        unusable_files_fail_clearly(&app),
        cancel_halfway(&app),
        hundred_megabytes(&app),
    );
    // The worker streamed 100 MB (and more) without holding it: its peak memory stays far below.
    let peak = worker.peak_rss();
    eprintln!("INGEST worker peak RSS: {} MB", peak >> 20);
    assert!(peak < 80 << 20, "the worker peaked at {} MB", peak >> 20);
}
