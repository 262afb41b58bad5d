//! Subscriptions over real WebSockets, both protocols: events arrive after commit, only within
//! the subscriber's tenant, and bad tokens are refused.
mod common;

use std::time::Duration;

use common::ws::{connect, next, send, Protocol, Ws};
use common::{data, id, TestApp, TestUser};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

/// Open a subscription to a project's task changes as `user` in `tenant`.
async fn subscribe(app: &TestApp, protocol: Protocol, user: &TestUser, tenant: Uuid, project: Uuid) -> Ws {
    let mut ws = connect(app, protocol).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", user.token), "X-Tenant-Id": tenant } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
    send(&mut ws, json!({ "id": "1", "type": start, "payload": {
        "query": "subscription($p: UUID) { taskUpdated(projectId: $p) { op id task { title status project { name } } } }",
        "variables": { "p": project } } }))
    .await;
    // Let the server register the subscription before the test writes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws
}

async fn project(app: &TestApp, user: &TestUser, tenant: Uuid, name: &str) -> Uuid {
    let res = app
        .gql(
            user,
            Some(tenant),
            "mutation($n: String!) { createProject(input: { name: $n }) { id } }",
            json!({ "n": name }),
        )
        .await;
    id(data(&res, "createProject.id"))
}

async fn sees_changes(protocol: Protocol) {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let p = project(&app, &alice, a, "Live").await;
    let mut ws = subscribe(&app, protocol, &alice, a, p).await;

    let res = app
        .gql(
            &alice,
            Some(a),
            "mutation($p: UUID!) { createTask(input: { title: \"Watch me\", projectId: $p }) { id } }",
            json!({ "p": p }),
        )
        .await;
    let task = id(data(&res, "createTask.id"));
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an event");
    let expected_type = if protocol == Protocol::TransportWs { "next" } else { "data" };
    assert_eq!(msg["type"], expected_type, "{msg}");
    let event = &msg["payload"]["data"]["taskUpdated"];
    assert_eq!(event["op"], "CREATED");
    assert_eq!(event["id"], json!(task.to_string()));
    assert_eq!(event["task"]["title"], "Watch me");
    assert_eq!(event["task"]["project"]["name"], "Live");

    app.gql(
        &alice,
        Some(a),
        "mutation($id: UUID!) { updateTask(id: $id, input: { status: COMPLETED }) { id } }",
        json!({ "id": task }),
    )
    .await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an update");
    assert_eq!(msg["payload"]["data"]["taskUpdated"]["task"]["status"], "COMPLETED");

    // A rolled-back write is never announced: the second mutation fails, so both roll back.
    let res = app
        .gql(&alice, Some(a), "mutation($p: UUID!) { createTask(input: { title: \"Ghost\", projectId: $p }) { id } createProject(input: { name: \"Live\" }) { id } }", json!({ "p": p }))
        .await;
    assert!(res["errors"].is_array());
    app.gql(&alice, Some(a), "mutation($id: UUID!) { deleteTask(id: $id) { id } }", json!({ "id": task })).await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("a delete");
    assert_eq!(msg["payload"]["data"]["taskUpdated"]["op"], "DELETED", "the ghost must not appear: {msg}");
    assert_eq!(msg["payload"]["data"]["taskUpdated"]["task"], Value::Null);
}

#[tokio::test]
async fn graphql_transport_ws_sees_changes_after_commit() {
    sees_changes(Protocol::TransportWs).await;
}

#[tokio::test]
async fn legacy_graphql_ws_sees_changes_after_commit() {
    sees_changes(Protocol::LegacyGraphqlWs).await;
}

#[tokio::test]
async fn subscribers_hear_only_their_tenant() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let pa = project(&app, &alice, a, "A").await;
    let pb = project(&app, &bob, b, "B").await;
    // Bob subscribes to every task change in his tenant, and (uselessly) to Alice's project id.
    let mut all_b = subscribe(&app, Protocol::TransportWs, &bob, b, pb).await;
    let mut a_from_b = subscribe(&app, Protocol::TransportWs, &bob, b, pa).await;

    app.gql(
        &alice,
        Some(a),
        "mutation($p: UUID!) { createTask(input: { title: \"A only\", projectId: $p }) { id } }",
        json!({ "p": pa }),
    )
    .await;
    app.gql(
        &bob,
        Some(b),
        "mutation($p: UUID!) { createTask(input: { title: \"B task\", projectId: $p }) { id } }",
        json!({ "p": pb }),
    )
    .await;
    // Bob's first event is his own task: Alice's, written earlier, never reached him.
    let msg = next(&mut all_b, Duration::from_secs(10)).await.expect("B's event");
    assert_eq!(msg["payload"]["data"]["taskUpdated"]["task"]["title"], "B task", "{msg}");
    assert!(next(&mut a_from_b, Duration::from_millis(1500)).await.is_none(), "tenant A's event leaked to B");
}

#[tokio::test]
async fn bad_tokens_and_strangers_are_refused() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let expired = app.keys.mint(alice.id, Some(a), Some(alice.email.clone()), -3600).unwrap();
    let forged = api::auth::Keys::new("wrong").mint(alice.id, Some(a), None, 600).unwrap();
    for token in [expired, forged] {
        let mut ws = connect(&app, Protocol::TransportWs).await;
        send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        let msg = next(&mut ws, Duration::from_secs(10)).await;
        assert!(msg.as_ref().is_none_or(|m| m["type"] == "close"), "expected the connection closed: {msg:?}");
        // async-graphql closes with 1002 where the protocol names 4403; either refuses the client.
        if let Some(m) = msg {
            assert!(m["code"] == 4403 || m["code"] == 1002, "{m}");
        }
        let mut ws = connect(&app, Protocol::LegacyGraphqlWs).await;
        send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        let msg = next(&mut ws, Duration::from_secs(10)).await.expect("a reply");
        assert!(msg["type"] == "connection_error" || msg["type"] == "close", "{msg}");
    }
    // A valid user who is not a member of the tenant gets a FORBIDDEN error for the subscription.
    let stranger = app.user().await;
    let mut ws = connect(&app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", stranger.token), "X-Tenant-Id": a } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { taskUpdated { id } }" } }),
    )
    .await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an error");
    // The subscription resolves to an error result (async-graphql sends it as `next` with errors).
    let errors = if msg["type"] == "error" { &msg["payload"] } else { &msg["payload"]["errors"] };
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{msg}");
    assert_eq!(msg["payload"]["data"], Value::Null, "{msg}");
}

#[tokio::test]
async fn a_subscriber_sees_a_worker_in_another_process_move_a_job() {
    use common::jobs::{enqueue, Worker};
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let ids = enqueue(&app, &owner, t, 1, "SLEEP", 0, "input: { ms: 200 }").await;
    for protocol in [Protocol::TransportWs, Protocol::LegacyGraphqlWs] {
        let mut ws = connect(&app, protocol).await;
        send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
        assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
        let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
        if protocol == Protocol::TransportWs {
            // The first client watches one job run, in a worker process of its own.
            send(&mut ws, json!({ "id": "1", "type": start, "payload": { "query": "subscription($id: UUID!) { jobUpdated(id: $id) { op job { status progress } } }", "variables": { "id": ids[0] } } })).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _worker = Worker::start(&app, &["--types", "SLEEP", "--poll-ms", "50"]);
            let mut seen = vec![];
            while seen.last().map(String::as_str) != Some("SUCCEEDED") {
                let msg = next(&mut ws, Duration::from_secs(20)).await.expect("a job event");
                seen.push(msg["payload"]["data"]["jobUpdated"]["job"]["status"].as_str().unwrap_or("?").to_string());
            }
            // The state at subscribe time may be sent again after missed events (a resync).
            seen.dedup();
            if seen.first().map(String::as_str) == Some("QUEUED") {
                seen.remove(0);
            }
            assert_eq!(seen, vec!["RUNNING", "SUCCEEDED"]);
        } else {
            // The second watches every job of its tenant: another tenant's new job never arrives,
            // its own does.
            send(&mut ws, json!({ "id": "1", "type": start, "payload": { "query": "subscription { jobEvents { op job { jobType status } } }" } })).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let other = app.user().await;
            let o = app.tenant(&other).await;
            enqueue(&app, &other, o, 1, "SLEEP", 0, "scheduledAt: \"2999-01-01T00:00:00Z\"").await;
            enqueue(&app, &owner, t, 1, "NOOP", 0, "scheduledAt: \"2999-01-01T00:00:00Z\"").await;
            let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an event of this tenant");
            assert_eq!(msg["payload"]["data"]["jobEvents"]["job"]["jobType"], "NOOP", "{msg}");
            assert_eq!(msg["payload"]["data"]["jobEvents"]["op"], "CREATED", "{msg}");
            // Once: no worker runs it (it is due in 2999), so nothing else happens to it (its creation was once sent twice).
            let again = next(&mut ws, Duration::from_millis(1500)).await;
            assert!(again.is_none(), "a second event for one new job: {again:?}");
        }
    }
}

#[tokio::test]
async fn task_output_replays_from_a_sequence_then_streams_and_chat_messages_arrive() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let res =
        app.gql(&alice, Some(a), "mutation { createTask(input: { title: \"Streamed\" }) { id } }", json!({})).await;
    let task = id(data(&res, "createTask.id"));
    let append = "mutation($t: UUID!, $c: String!) { appendTaskOutput(input: { taskId: $t, content: $c }) { seq } }";
    for c in ["a", "b", "c"] {
        app.gql(&alice, Some(a), append, json!({ "t": task, "c": c })).await;
    }
    let mut ws = connect(&app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", alice.token), "X-Tenant-Id": a } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($t: UUID!) { taskOutput(taskId: $t, fromSeq: 2) { seq content } }", "variables": { "t": task } } }))
    .await;
    let mut got = vec![];
    for _ in 0..2 {
        let msg = next(&mut ws, Duration::from_secs(10)).await.expect("a replayed chunk");
        got.push((
            msg["payload"]["data"]["taskOutput"]["seq"].as_i64().unwrap(),
            msg["payload"]["data"]["taskOutput"]["content"].as_str().unwrap().to_string(),
        ));
    }
    app.gql(&alice, Some(a), append, json!({ "t": task, "c": "d" })).await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("a live chunk");
    got.push((
        msg["payload"]["data"]["taskOutput"]["seq"].as_i64().unwrap(),
        msg["payload"]["data"]["taskOutput"]["content"].as_str().unwrap().to_string(),
    ));
    assert_eq!(got, vec![(2, "b".into()), (3, "c".into()), (4, "d".into())]);

    // Chat messages as they are posted, over the legacy protocol.
    let res = app.gql(&alice, Some(a), "mutation { createChat(input: { title: \"Live\" }) { id } }", json!({})).await;
    let chat = id(data(&res, "createChat.id"));
    let mut ws = connect(&app, Protocol::LegacyGraphqlWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", alice.token), "X-Tenant-Id": a } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "start", "payload": { "query": "subscription($c: UUID!) { chatMessages(chatId: $c) { seq role parts } }", "variables": { "c": chat } } })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.gql(&alice, Some(a), "mutation($c: UUID!) { postMessage(input: { chatId: $c, role: USER, parts: [{ type: \"text\", content: \"hi\" }] }) { seq } }", json!({ "c": chat })).await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("a message");
    assert_eq!(msg["payload"]["data"]["chatMessages"]["seq"], 1, "{msg}");
    assert_eq!(msg["payload"]["data"]["chatMessages"]["parts"][0]["content"], "hi");

    // Another tenant cannot subscribe to this chat or task: NOT_FOUND at once, not silence.
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let mut ws = connect(&app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", bob.token), "X-Tenant-Id": b } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    for (q, v) in [
        ("subscription($c: UUID!) { chatMessages(chatId: $c) { seq } }", json!({ "c": chat })),
        ("subscription($c: UUID!) { taskOutput(taskId: $c) { seq } }", json!({ "c": task })),
    ] {
        send(&mut ws, json!({ "id": "x", "type": "subscribe", "payload": { "query": q, "variables": v } })).await;
        let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an error");
        let errors = if msg["type"] == "error" { &msg["payload"] } else { &msg["payload"]["errors"] };
        assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{msg}");
        let _ = next(&mut ws, Duration::from_millis(300)).await; // the `complete` that follows
    }
}

#[tokio::test]
async fn after_the_listen_connection_drops_subscribers_get_the_current_state() {
    use common::jobs::enqueue;
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let ids = enqueue(&app, &owner, t, 1, "NOOP", 0, "scheduledAt: \"2999-01-01T00:00:00Z\"").await;
    let mut ws = connect(&app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription($id: UUID!) { jobUpdated(id: $id) { job { progress } } }", "variables": { "id": ids[0] } } })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // End this server's LISTEN session (as the same role), then change the job while nobody
    // listens: that notification is lost, and only the resync after reconnecting can tell.
    // As the LISTEN session's own role (the app role, or the owner behind a pooler).
    let app_db = sea_orm::Database::connect(app.config.listen_url.as_str()).await.expect("listen role");
    let name = format!("{}-events", app.config.application_name);
    let killed = app_db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1",
            [name.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(killed, 1);
    let owner_db = app.owner_db().await;
    common::exec(
        &owner_db,
        "UPDATE jobs SET progress = 0.5 WHERE tenant_id = $1 AND id = $2",
        vec![t.into(), ids[0].into()],
    )
    .await
    .unwrap();
    // The resync after reconnecting carries the current state; if the reconnect beat the UPDATE,
    // the resync shows the old progress and the UPDATE's own event follows. Either way 0.5 arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = next(&mut ws, left).await.expect("the current state after reconnecting");
        let progress = &msg["payload"]["data"]["jobUpdated"]["job"]["progress"];
        assert!(progress == 0.0 || progress == 0.5, "{msg}");
        if progress == 0.5 {
            break;
        }
    }
}

/// Apollo Client's `connectionParams` (`{ headers: { Authorization } }`) and `authToken` sign a
/// socket in as README's shape does; a subscription to one row of another tenant, or to no row at
/// all, is NOT_FOUND at once rather than silent.
#[tokio::test]
async fn apollo_style_params_sign_in_and_foreign_rows_are_not_found() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let res = app.gql(&bob, Some(b), "mutation { enqueueJob(input: { jobType: \"NOOP\" }) { id } }", json!({})).await;
    let bobs_job = id(data(&res, "enqueueJob.id"));
    let nobody = Uuid::now_v7();
    let rows = [
        ("subscription($id: UUID!) { jobUpdated(id: $id) { op } }", bobs_job),
        ("subscription($id: UUID!) { ingestJobProgress(id: $id) { op } }", nobody),
        ("subscription($id: UUID!) { executionUpdated(id: $id) { op } }", nobody),
        ("subscription($id: UUID) { taskUpdated(id: $id) { op } }", nobody),
        ("subscription($id: UUID!) { chatMessages(chatId: $id) { seq } }", nobody),
    ];
    for params in [
        json!({ "headers": { "Authorization": format!("Bearer {}", alice.token), "X-Tenant-Id": a } }),
        json!({ "authToken": alice.token, "tenantId": a }),
    ] {
        let mut ws = connect(&app, Protocol::TransportWs).await;
        send(&mut ws, json!({ "type": "connection_init", "payload": params })).await;
        assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack", "{params}");
        for (n, (q, row)) in rows.iter().enumerate() {
            send(&mut ws, json!({ "id": n.to_string(), "type": "subscribe", "payload": { "query": q, "variables": { "id": row } } }))
                .await;
            // The resolver's error comes as the operation's one result, then `complete`.
            let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an answer");
            assert_eq!(msg["id"], n.to_string(), "{msg}");
            assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{q}: {msg}");
            let end = next(&mut ws, Duration::from_secs(10)).await.expect("complete");
            assert_eq!((&end["type"], &end["id"]), (&json!("complete"), &json!(n.to_string())), "{end}");
        }
    }
}
