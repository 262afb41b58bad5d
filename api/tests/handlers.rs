//! The ANALYTICS and EXECUTION job handlers in real worker processes. The model provider for
//! EXECUTION is an OpenAI-compatible endpoint; here a small local HTTP server streams a reply the
//! way such providers do (server-sent events), since no real provider is reachable from tests.
mod common;

use std::time::{Duration, Instant};

use common::jobs::Worker;
use common::ws::{connect, next, send, Protocol};
use common::{data, id, TestApp, TestUser};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

async fn poll(app: &TestApp, user: &TestUser, t: Uuid, query: &str, vars: Value, path: &str, done: &[&str]) -> Value {
    let started = Instant::now();
    loop {
        let res = app.gql(user, Some(t), query, vars.clone()).await;
        let v = data(&res, path).clone();
        if done.iter().any(|d| v["status"] == *d) {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn analytics_counts_and_averages_a_project() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let res = app.gql(&owner, Some(t), "mutation { createProject(input: { name: \"A\" }) { id } }", json!({})).await;
    let p = id(data(&res, "createProject.id"));
    let mut records = vec![];
    for (i, (kind, cat)) in
        [("TASK", "TOP_10"), ("TASK", "BOTTOM_10"), ("FEEDBACK", "TOP_10"), ("TASK", "TOP_10")].iter().enumerate()
    {
        let res = app
            .gql(
                &owner,
                Some(t),
                "mutation($i: CreateDataRecordInput!) { createDataRecord(input: $i) { id } }",
                json!({ "i": { "projectId": p, "recordType": kind, "category": cat, "content": format!("record {i}") } }),
            )
            .await;
        records.push(id(data(&res, "createDataRecord.id")));
    }
    // Human scores 7/5 and 3/1 on two records, an LLM's 4/4 on another.
    for (rec, user, llm, r, q) in
        [(records[0], "", None, 7, 5), (records[2], "", None, 3, 1), (records[1], "gpt-x", Some("gpt-x"), 4, 4)]
    {
        let res = app
            .gql(
                &owner,
                Some(t),
                "mutation($i: CreateLikertScoreInput!) { createLikertScore(input: $i) { id } }",
                json!({ "i": { "recordId": rec, "userId": user, "llmModel": llm, "realismScore": r, "qualityScore": q } }),
            )
            .await;
        data(&res, "createLikertScore.id");
    }
    let res = app
        .gql(&owner, Some(t), "mutation($p: UUID!) { runAnalytics(projectId: $p) { id status } }", json!({ "p": p }))
        .await;
    let run = id(data(&res, "runAnalytics.id"));
    assert_eq!(data(&res, "runAnalytics.status"), "PENDING");
    let _worker = Worker::start(&app, &["--types", "ANALYTICS", "--poll-ms", "200"]);
    let q = "query($id: UUID!) { analyticsJob(id: $id) { status totalRecords processedCount result error } }";
    let a = poll(&app, &owner, t, q, json!({ "id": run }), "analyticsJob", &["COMPLETED", "FAILED"]).await;
    assert_eq!(a["status"], "COMPLETED", "{a}");
    assert_eq!(a["processedCount"], 4);
    assert_eq!(a["totalRecords"], 4);
    let r = &a["result"];
    assert_eq!(r["byType"], json!({ "task": 3, "feedback": 1 }));
    assert_eq!(r["byCategory"], json!({ "top_10": 3, "bottom_10": 1 }));
    assert_eq!(r["likert"]["human"], json!({ "ratings": 2, "realismAvg": 5.0, "qualityAvg": 3.0 }));
    assert_eq!(r["likert"]["llm"], json!({ "ratings": 1, "realismAvg": 4.0, "qualityAvg": 4.0 }));
}

/// A minimal OpenAI-compatible chat-completions endpoint that streams `words` and reports usage;
/// it answers 400 when the request does not carry `must_contain`.
async fn fake_provider(words: &'static [&'static str], must_contain: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let must = must_contain.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body (Content-Length).
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let request = String::from_utf8_lossy(&buf).to_string();
                if !request.contains(&must) || !request.starts_with("POST /v1/chat/completions") {
                    let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\n\r\nbad request").await;
                    return;
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
                    .await;
                for w in words {
                    let event = json!({ "choices": [{ "index": 0, "delta": { "content": w } }] });
                    let _ = sock.write_all(format!("data: {event}\n\n").as_bytes()).await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let end = json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }], "usage": { "total_tokens": 42 } });
                let _ = sock.write_all(format!("data: {end}\n\ndata: [DONE]\n\n").as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// A new execution of `task` by `agent`, started.
async fn new_execution(app: &TestApp, owner: &TestUser, t: Uuid, task: Uuid, agent: Uuid) -> Uuid {
    let res = app
        .gql(
            owner,
            Some(t),
            "mutation($t: UUID!, $a: UUID!) { e: createExecution(input: { taskId: $t, agentId: $a }) { id } }",
            json!({ "t": task, "a": agent }),
        )
        .await;
    let e = id(data(&res, "e.id"));
    let res = app
        .gql(owner, Some(t), "mutation($id: UUID!) { startExecution(id: $id) { status } }", json!({ "id": e }))
        .await;
    assert_eq!(data(&res, "startExecution.status"), "PENDING");
    e
}

#[tokio::test]
async fn executions_stream_model_output_or_fail_clearly() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let res =
        app.gql(&owner, Some(t), "mutation { p: createProject(input: { name: \"Agents\" }) { id } }", json!({})).await;
    let p = id(data(&res, "p.id"));
    let res = app
        .gql(
            &owner,
            Some(t),
            "mutation($p: UUID!) { t: createTask(input: { projectId: $p, title: \"Summarise the quarterly report\" }) { id }
               a: createAgent(input: { name: \"Writer\", model: \"tiny-model\", systemPrompt: \"Be brief.\" }) { id } }",
            json!({ "p": p }),
        )
        .await;
    let task = id(data(&res, "t.id"));
    let agent = id(data(&res, "a.id"));
    let q = "query($id: UUID!) { execution(id: $id) { status error tokensUsed costUsd durationMs output } }";

    // No provider configured: the execution fails at once, saying what to set.
    let first = new_execution(&app, &owner, t, task, agent).await;
    let mut worker = Worker::start(&app, &["--types", "EXECUTION", "--poll-ms", "200"]);
    let e = poll(&app, &owner, t, q, json!({ "id": first }), "execution", &["COMPLETED", "FAILED"]).await;
    assert_eq!(e["status"], "FAILED");
    assert!(e["error"].as_str().unwrap().contains("ATLAS_LLM_URL"), "{e}");
    assert!(worker.terminate());

    // With a provider: the reply streams into the task's output, seen live by a subscriber.
    let url =
        fake_provider(&["The report ", "shows growth ", "in every region."], "Summarise the quarterly report".into())
            .await;
    let second = new_execution(&app, &owner, t, task, agent).await;
    let mut ws = connect(&app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($t: UUID!) { taskOutput(taskId: $t) { seq content } }", "variables": { "t": task } } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _worker = Worker::start_with_env(
        &app,
        &["--types", "EXECUTION", "--poll-ms", "200"],
        &[("ATLAS_LLM_URL", url.as_str()), ("ATLAS_LLM_COST_PER_1K_TOKENS", "0.5")],
    );
    let mut streamed = String::new();
    let mut chunks = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !streamed.ends_with("in every region.") {
        assert!(Instant::now() < deadline, "streamed so far: {streamed:?}");
        let Some(msg) = next(&mut ws, Duration::from_secs(20)).await else { continue };
        assert_eq!(msg["type"], "next", "{msg}");
        let out = &msg["payload"]["data"]["taskOutput"];
        chunks += 1;
        assert_eq!(out["seq"], chunks, "in order, without gaps");
        streamed.push_str(out["content"].as_str().unwrap());
    }
    assert_eq!(streamed, "The report shows growth in every region.");
    assert!(chunks >= 2, "the reply arrived in one piece, not streamed");
    let e = poll(&app, &owner, t, q, json!({ "id": second }), "execution", &["COMPLETED", "FAILED"]).await;
    assert_eq!(e["status"], "COMPLETED", "{e}");
    assert_eq!(e["tokensUsed"], 42);
    assert_eq!(e["costUsd"].as_str().map(|c| c.parse::<f64>().unwrap()), Some(0.021));
    assert!(e["durationMs"].as_i64().unwrap() > 0);
    assert_eq!(e["output"]["text"], "The report shows growth in every region.");
    assert_eq!(e["output"]["model"], "tiny-model");
}
