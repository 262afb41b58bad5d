//! The attacks of the outside review (issue 15), each tried over HTTP against a real server, a
//! real worker process and the real object store: each must be refused with a clear
//! `extensions.code`, and the victim's rows and objects must be intact afterwards.
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::jobs::Worker;
use common::{code, data, id, FilePart, TestApp, TestUser};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

const UPLOAD: &str =
    "mutation($file: Upload!, $vis: FileVisibility!) { uploadFile(file: $file, visibility: $vis) { id } }";

async fn upload(app: &TestApp, user: &TestUser, t: Uuid, name: &str, body: &[u8], vis: &str) -> Uuid {
    let res = app.upload(user, t, UPLOAD, json!({ "vis": vis }), FilePart::new(name, "text/csv", body.to_vec())).await;
    id(data(&res, "uploadFile.id"))
}

async fn one(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::QueryResult {
    db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await
        .expect("query")
        .expect("a row")
}

async fn download(app: &TestApp, user: &TestUser, t: Uuid, file: Uuid) -> (u16, Vec<u8>) {
    let res =
        app.gql(user, Some(t), "query($id: UUID!) { file(id: $id) { downloadUrl } }", json!({ "id": file })).await;
    let url = data(&res, "file.downloadUrl").as_str().expect("url").to_string();
    let got = app.client.get(&url).send().await.expect("download");
    (got.status().as_u16(), got.bytes().await.expect("bytes").to_vec())
}

async fn job_state(app: &TestApp, user: &TestUser, t: Uuid, job: Uuid, timeout: Duration) -> Value {
    let started = Instant::now();
    loop {
        let res =
            app.gql(user, Some(t), "query($id: UUID!) { job(id: $id) { status error } }", json!({ "id": job })).await;
        let job = data(&res, "job").clone();
        if job["status"] == "FAILED" || job["status"] == "SUCCEEDED" {
            return job;
        }
        assert!(started.elapsed() < timeout, "job still {job} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Item 1: another tenant's PRIVATE file, read through a job input. `enqueueJob` refuses the
/// internal type; a job row that names the victim's key anyway (written past the API) is run
/// without looking at that key; the store itself refuses a key outside the job's tenant.
#[tokio::test]
async fn another_tenants_file_cannot_be_read_through_a_job_input() {
    let app = TestApp::start().await;
    let victim = app.user().await;
    let v = app.tenant(&victim).await;
    let secret = b"content,category\nvictim's private row,top_10\n";
    let file = upload(&app, &victim, v, "private.csv", secret, "PRIVATE").await;
    let owner_db = app.owner_db().await;
    let key: String = one(&owner_db, "SELECT storage_key FROM files WHERE id = $1", vec![file.into()])
        .await
        .try_get("", "storage_key")
        .unwrap();

    let attacker = app.user().await;
    let a = app.tenant(&attacker).await;
    let res =
        app.gql(&attacker, Some(a), "mutation { createProject(input: { name: \"Loot\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let res = app
        .gql(
            &attacker,
            Some(a),
            "mutation($p: UUID!) { createIngestJob(input: { projectId: $p, recordType: TASK }) { id } }",
            json!({ "p": project }),
        )
        .await;
    let ingest = id(data(&res, "createIngestJob.id"));
    let forged = json!({ "ingest_job_id": ingest, "storage_key": key, "mapping": {}, "source": "x" });
    let res = app
        .gql(
            &attacker,
            Some(a),
            "mutation($i: JSON!) { enqueueJob(input: { jobType: \"INGEST_CSV\", input: $i }) { id } }",
            json!({ "i": forged }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(res["errors"][0]["extensions"]["field"], "jobType");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("ingestCsv"), "{res}");

    // Past the API: the job row exists with the forged input. The handler reads the ingest's own
    // file (it has none) and never the key in the input.
    let job = Uuid::now_v7();
    common::exec(
        &owner_db,
        "INSERT INTO jobs (tenant_id, id, job_type, input, max_retries) VALUES ($1, $2, 'INGEST_CSV', $3, 0)",
        vec![a.into(), job.into(), forged.clone().into()],
    )
    .await
    .unwrap();
    let worker = Worker::start(&app, &["--types", "INGEST_CSV", "--poll-ms", "100"]);
    let state = job_state(&app, &attacker, a, job, Duration::from_secs(60)).await;
    drop(worker);
    assert_eq!(state["status"], "FAILED", "{state}");
    let res = app.gql(&attacker, Some(a), "{ dataRecords { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "dataRecords.totalCount"), 0, "the victim's rows reached the attacker");

    // The store's own lock: a key outside the tenant is refused, whichever call asks.
    let storage = service::storage::Storage::open(&app.config.storage_url).unwrap();
    let refused = storage.size(a, &key).await.expect_err("another tenant's key");
    assert_eq!(refused.code(), "FORBIDDEN");
    assert!(storage.stream(a, &key).await.is_err());
    assert!(storage.delete(a, &key).await.is_err());
    assert!(storage.size(a, &format!("tenants/{a}/../{v}/objects/x")).await.is_err());

    // The victim's file is intact and still downloads.
    let (status, bytes) = download(&app, &victim, v, file).await;
    assert_eq!((status, bytes.as_slice()), (200, secret.as_slice()));
}

/// Item 2: internal job types, unknown types, out-of-range priorities and a STORAGE_GC below its
/// floor are refused at enqueue; `jobTypes` lists what may be enqueued.
#[tokio::test]
async fn clients_enqueue_only_declared_job_types_with_valid_input() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let member = app.user().await;
    app.join(&owner, t, &member, "MEMBER").await;
    let viewer = app.user().await;
    app.join(&owner, t, &viewer, "VIEWER").await;
    let enqueue = "mutation($t: String!, $i: JSON, $p: Int) { enqueueJob(input: { jobType: $t, input: $i, priority: $p }) { id priority } }";
    let try_enqueue = |user: &TestUser, job_type: &str, input: Value, priority: i32| {
        let vars = json!({ "t": job_type, "i": input, "p": priority });
        let user_token = format!("Bearer {}", user.token);
        let app = &app;
        async move { app.gql_raw(Some(&user_token), Some(t), enqueue, vars).await }
    };
    for internal in ["INGEST_CSV", "EMBED", "EXECUTION", "ANALYTICS"] {
        let res = try_enqueue(&member, internal, json!({}), 0).await;
        assert_eq!(
            (code(&res), &res["errors"][0]["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!("jobType")),
            "{res}"
        );
    }
    let res = try_enqueue(&member, "EMAIL_SEND", json!({}), 0).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let message = res["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("EMAIL_SEND") && message.contains("SLEEP"), "the message names the known types: {res}");
    let res = try_enqueue(&member, "SLEEP", json!({ "ms": 1 }), 2_147_483_647).await;
    assert_eq!((code(&res), &res["errors"][0]["extensions"]["field"]), ("BAD_USER_INPUT", &json!("priority")), "{res}");
    let res = try_enqueue(&member, "SLEEP", json!({ "ms": -5 }), 0).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let res = try_enqueue(&member, "SLEEP", json!({ "ms": 1, "storage_key": "x" }), 0).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "unknown input fields are refused: {res}");
    let res = try_enqueue(&viewer, "SLEEP", json!({ "ms": 1 }), 0).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    // STORAGE_GC: admins and owners only, never below its floor.
    let res = try_enqueue(&member, "STORAGE_GC", json!({}), 0).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = try_enqueue(&owner, "STORAGE_GC", json!({ "min_age_s": -1_000_000_000 }), 0).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let res = try_enqueue(&owner, "STORAGE_GC", json!({ "min_age_s": 7200 }), 0).await;
    data(&res, "enqueueJob.id");
    // A queued job's priority stays in range too.
    let res = try_enqueue(&member, "SLEEP", json!({ "ms": 1 }), 100).await;
    let job = id(data(&res, "enqueueJob.id"));
    let res = app
        .gql(
            &member,
            Some(t),
            "mutation($id: UUID!) { updateJob(id: $id, input: { priority: 1000000 }) { id } }",
            json!({ "id": job }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    // Nothing of the refused attempts was written.
    let res = app.gql(&owner, Some(t), "{ jobs { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "jobs.totalCount"), 2);

    let res =
        app.gql(&member, Some(t), "{ jobTypes { name clientEnqueue minRole startedBy description } }", json!({})).await;
    let types = data(&res, "jobTypes").as_array().unwrap().clone();
    let by_name =
        |n: &str| types.iter().find(|t| t["name"] == n).unwrap_or_else(|| panic!("no {n} in {types:?}")).clone();
    assert_eq!(by_name("INGEST_CSV")["clientEnqueue"], false);
    assert_eq!(by_name("INGEST_CSV")["startedBy"], "the ingestCsv mutation");
    assert_eq!(by_name("STORAGE_GC")["minRole"], "ADMIN");
    assert_eq!(by_name("SLEEP")["clientEnqueue"], true, "development mode offers the diagnostic types");
    let res = app.gql_raw(None, None, "{ jobTypes { name } }", json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED");
}

/// Item 2: STORAGE_GC never deletes an object younger than its floor, whatever its input says
/// (a job row written past the enqueue check).
#[tokio::test]
async fn storage_gc_keeps_young_objects_whatever_its_input() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let storage = service::storage::Storage::open(&app.config.storage_url).unwrap();
    // An object without a row, as an upload in flight leaves it before its row commits.
    let key = service::storage::Storage::new_key(t);
    storage.put_stream(t, &key, &b"in flight"[..], 100).await.unwrap();
    let job = Uuid::now_v7();
    common::exec(
        &app.owner_db().await,
        "INSERT INTO jobs (tenant_id, id, job_type, input, max_retries) VALUES ($1, $2, 'STORAGE_GC', $3, 0)",
        vec![t.into(), job.into(), json!({ "min_age_s": -1_000_000_000 }).into()],
    )
    .await
    .unwrap();
    let worker = Worker::start(&app, &["--types", "STORAGE_GC", "--poll-ms", "100"]);
    let state = job_state(&app, &owner, t, job, Duration::from_secs(60)).await;
    drop(worker);
    assert_eq!(state["status"], "SUCCEEDED", "{state}");
    assert_eq!(storage.size(t, &key).await.unwrap(), 9, "a young object was swept");
    storage.delete(t, &key).await.unwrap();
}

/// Item 3: outside development mode, `atlas serve` and `atlas worker` refuse to start without
/// real secrets, and any mode refuses a database role that bypasses row-level security.
#[test]
fn servers_refuse_to_start_without_secrets_or_with_an_owner_role() {
    let config = common::test_config();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        // Bounded: a command that wrongly starts is ended, and its stderr then lacks the refusal.
        let out = Command::new("timeout")
            .arg("20")
            .arg(env!("CARGO_BIN_EXE_atlas"))
            .args(args)
            .env_remove("ATLAS_ENV")
            .env_remove("ATLAS_JWT_SECRET")
            .env_remove("ATLAS_SECRET_KEY")
            .env_remove("ATLAS_WORKER_DATABASE_URL")
            .env("DATABASE_URL", &config.database_url)
            .env("DIRECT_URL", &config.direct_url)
            .env("ATLAS_BIND", "127.0.0.1:0")
            .env("ATLAS_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run atlas");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    for cmd in [&["serve"][..], &["worker"][..]] {
        let (ok, err) = run(cmd, &[]);
        assert!(!ok, "{cmd:?} started without secrets");
        assert!(err.contains("ATLAS_JWT_SECRET") && err.contains("ATLAS_SECRET_KEY"), "{err}");
    }
    let (ok, err) = run(&["serve"], &[("ATLAS_JWT_SECRET", "short"), ("ATLAS_SECRET_KEY", "short")]);
    assert!(!ok && err.contains("shorter than 32 bytes"), "{err}");
    let same = "x".repeat(40);
    let (ok, err) = run(&["serve"], &[("ATLAS_JWT_SECRET", &same), ("ATLAS_SECRET_KEY", &same)]);
    assert!(!ok && err.contains("the same"), "{err}");
    let (ok, err) = run(&["serve"], &[("ATLAS_ENV", "staging")]);
    assert!(!ok && err.contains("ATLAS_ENV"), "{err}");
    // The owner as DATABASE_URL: refused even in development, before serving anything.
    let (ok, err) = run(&["serve"], &[("ATLAS_ENV", "development"), ("DATABASE_URL", &config.direct_url)]);
    assert!(!ok, "served as the owner");
    assert!(err.contains("row-level security"), "{err}");
    let owner_worker = [("ATLAS_ENV", "development"), ("ATLAS_WORKER_DATABASE_URL", config.direct_url.as_str())];
    let (ok, err) = run(&["worker"], &owner_worker);
    assert!(!ok && err.contains("row-level security"), "{err}");
}

/// Item 5: download links name no key or tenant in clear text, last 15 minutes unless asked (24
/// hours at most), send nosniff, die with their file, and are audited when issued and used.
#[tokio::test]
async fn download_links_are_opaque_capped_revocable_and_audited() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let body = b"a,b\n1,2\n";
    let file = upload(&app, &owner, t, "linked.csv", body, "PRIVATE").await;
    let res =
        app.gql(&owner, Some(t), "query($id: UUID!) { file(id: $id) { downloadUrl } }", json!({ "id": file })).await;
    let url = data(&res, "file.downloadUrl").as_str().unwrap().to_string();
    let token = url.rsplit_once("/files/").unwrap().1;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split_once('.').unwrap().0).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    let text = claims.to_string();
    assert!(!text.contains("tenants/") && !text.contains("objects"), "the link shows the object key: {text}");
    let ttl = claims["e"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((890..=900).contains(&ttl), "default lifetime is 15 minutes, got {ttl}s");
    let got = app.client.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.unwrap().as_ref(), body);

    for too_long in [86_401, 604_800] {
        let res = app
            .gql(
                &owner,
                Some(t),
                "query($id: UUID!, $e: Int!) { file(id: $id) { downloadUrl(expiresIn: $e) } }",
                json!({ "id": file, "e": too_long }),
            )
            .await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    }

    // Audited: the link's issuance and the download, by whom and of what.
    let res = app
        .gql(&owner, Some(t), "{ auditLog(first: 100, filter: { entityType: { eq: \"files\" } }) { edges { node { action entityId } } } }", json!({}))
        .await;
    let actions: Vec<Value> =
        data(&res, "auditLog.edges").as_array().unwrap().iter().map(|e| e["node"]["action"].clone()).collect();
    assert!(actions.contains(&json!("file.link")) && actions.contains(&json!("file.download")), "{actions:?}");

    // Deleting the file revokes every link to it.
    let res =
        app.gql(&owner, Some(t), "mutation($id: UUID!) { deleteFile(id: $id) { id } }", json!({ "id": file })).await;
    data(&res, "deleteFile.id");
    let gone = app.client.get(&url).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

/// Item 15: files and versions come only from uploads; job results only from workers.
#[tokio::test]
async fn rows_that_claim_bytes_or_results_cannot_be_created_by_clients() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let file = upload(&app, &owner, t, "real.csv", b"x\n", "PRIVATE").await;
    for (mutation, field) in [
        ("mutation { createFile(input: { name: \"fake.bin\" }) { id } }", "createFile"),
        (
            "mutation($f: UUID!) { createFileVersion(input: { fileId: $f, version: 2, size: 999999, sha256: \"deadbeef\" }) { id } }",
            "createFileVersion",
        ),
        (
            "mutation($f: UUID!) { createJobResult(input: { jobId: $f, attempt: 1, status: SUCCEEDED }) { id } }",
            "createJobResult",
        ),
    ] {
        let res = app.gql(&owner, Some(t), mutation, json!({ "f": file })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
        assert!(res["errors"][0]["message"].as_str().unwrap().contains(field), "{res}");
    }
    let res = app
        .gql(
            &owner,
            Some(t),
            "query($id: UUID!) { file(id: $id) { currentVersion versions { totalCount } } }",
            json!({ "id": file }),
        )
        .await;
    assert_eq!(data(&res, "file.versions.totalCount"), 1);
}

/// Item 13: a mutation sent over a WebSocket commits like one over HTTP (both protocols); one that
/// fails is rolled back; the socket never reads a transaction of its own that others cannot see.
#[tokio::test]
async fn writes_over_websocket_commit_as_over_http() {
    use common::ws::{connect, next, send, Protocol};
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    for protocol in [Protocol::TransportWs, Protocol::LegacyGraphqlWs] {
        let mut ws = connect(&app, protocol).await;
        let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
        send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": t } })).await;
        assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
        let create = "mutation { createTask(input: { title: \"over the socket\" }) { id } }";
        send(&mut ws, json!({ "id": "1", "type": start, "payload": { "query": create } })).await;
        let msg = next(&mut ws, Duration::from_secs(10)).await.unwrap();
        let task = id(&msg["payload"]["data"]["createTask"]["id"]);
        // Committed: HTTP sees it while the socket is still open.
        let res =
            app.gql(&owner, Some(t), "query($id: UUID!) { task(id: $id) { title } }", json!({ "id": task })).await;
        assert_eq!(data(&res, "task.title"), "over the socket");
        // A failing mutation on the socket leaves nothing behind, and says it was rolled back.
        let bad = "mutation($p: UUID!) { a: createTask(input: { title: \"kept?\" }) { id } b: createTask(input: { title: \"x\", projectId: $p }) { id } }";
        send(
            &mut ws,
            json!({ "id": "2", "type": start, "payload": { "query": bad, "variables": { "p": Uuid::now_v7() } } }),
        )
        .await;
        let mut msg = next(&mut ws, Duration::from_secs(10)).await.unwrap();
        while msg["id"] != "2" || msg["type"] == "complete" {
            msg = next(&mut ws, Duration::from_secs(10)).await.unwrap();
        }
        let payload = &msg["payload"];
        assert!(payload["data"].is_null(), "{msg}");
        let codes: Vec<&str> =
            payload["errors"].as_array().unwrap().iter().filter_map(|e| e["extensions"]["code"].as_str()).collect();
        assert!(codes.contains(&"ROLLED_BACK"), "{msg}");
        let res =
            app.gql(&owner, Some(t), "{ tasks(filter: { title: { eq: \"kept?\" } }) { totalCount } }", json!({})).await;
        assert_eq!(data(&res, "tasks.totalCount"), 0);
    }
}

/// Item 14: a request whose second mutation fails answers no data for the first, which was rolled
/// back, and says so on it; the row does not exist.
#[tokio::test]
async fn rolled_back_mutations_answer_no_data() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let res = app
        .gql(
            &owner,
            Some(t),
            "mutation($p: UUID!) { a: createTask(input: { title: \"ghost\" }) { id } b: createTask(input: { title: \"x\", projectId: $p }) { id } }",
            json!({ "p": Uuid::now_v7() }),
        )
        .await;
    assert!(res["data"].is_null(), "a rolled-back mutation answered data: {res}");
    let errors = res["errors"].as_array().unwrap();
    let rolled = errors.iter().find(|e| e["extensions"]["code"] == "ROLLED_BACK").unwrap_or_else(|| panic!("{res}"));
    assert_eq!(rolled["path"], json!(["a"]));
    assert!(errors.iter().any(|e| e["extensions"]["code"] == "BAD_USER_INPUT"), "the cause is kept: {res}");
    let res =
        app.gql(&owner, Some(t), "{ tasks(filter: { title: { eq: \"ghost\" } }) { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "tasks.totalCount"), 0);
    // A query with an error still answers what it read.
    let res = app
        .gql(&owner, Some(t), "query($id: UUID!) { me { id } task(id: $id) { id } }", json!({ "id": Uuid::now_v7() }))
        .await;
    assert_eq!(res["data"]["me"]["id"], json!(owner.id.to_string()), "{res}");
}

/// Item 8: aliases inside a fragment count once per use of the fragment.
#[tokio::test]
async fn aliases_count_per_fragment_use() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let fields: Vec<String> = (0..90).map(|i| format!("a{i}: id")).collect();
    let fragment = format!("fragment F on User {{ {} }}", fields.join(" "));
    let four = format!("{{ w: me {{ ...F }} x: me {{ ...F }} y: me {{ ...F }} z: me {{ ...F }} }} {fragment}");
    let res = app.gql(&owner, Some(t), &four, json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("aliases"), "{res}");
    let once = format!("{{ me {{ ...F }} }} {fragment}");
    let res = app.gql(&owner, Some(t), &once, json!({})).await;
    assert_eq!(data(&res, "me.a89"), &json!(owner.id.to_string()));
}

/// Item 4: the server's role cannot claim jobs (only workers' atlas_queue may), cannot create
/// temporary tables to shadow real ones, and the owner's file functions answer only for the
/// tenant in scope.
#[tokio::test]
async fn the_app_role_cannot_claim_shadow_or_ask_about_other_tenants() {
    let app = TestApp::start().await;
    let victim = app.user().await;
    let v = app.tenant(&victim).await;
    let file = upload(&app, &victim, v, "theirs.csv", b"a\n", "PRIVATE").await;
    let attacker = app.user().await;
    let a = app.tenant(&attacker).await;
    let db = app.app_db().await;
    let claim = common::exec(&db, "SELECT * FROM atlas_claim_jobs('rogue', 10, 60000, NULL)", vec![]).await;
    assert!(claim.is_err_and(|e| e.to_string().contains("permission denied")), "the server's role claimed jobs");
    let temp = common::exec(&db, "CREATE TEMP TABLE file_permissions (x int)", vec![]).await;
    assert!(temp.is_err_and(|e| e.to_string().contains("permission denied")), "the app role made a temp table");
    // Scoped to the attacker's tenant, the functions say nothing of the victim's file.
    let tx = sea_orm::TransactionTrait::begin(&db).await.unwrap();
    service::pool::prepare_transaction(&tx).await.unwrap();
    let asked = one(
        &tx,
        "SELECT atlas_begin($1, $2) IS NOT NULL AS member, atlas_file_exists($3, $4) AS e, \
                atlas_file_granted($3, $4, false) AS g, atlas_file_writable($3, $4) AS w",
        vec![a.into(), attacker.id.into(), v.into(), file.into()],
    )
    .await;
    assert!(asked.try_get::<bool>("", "member").unwrap());
    for f in ["e", "g", "w"] {
        assert!(!asked.try_get::<bool>("", f).unwrap(), "{f} answered for another tenant");
    }
    drop(tx);
    assert_eq!(download(&app, &victim, v, file).await.0, 200);
}

/// Item 2: claiming is fair across tenants: while one tenant floods the queue with thousands of
/// jobs, another tenant's single job starts within seconds.
#[tokio::test]
async fn one_tenants_flood_does_not_starve_anothers_job() {
    let app = TestApp::start().await;
    let flooder = app.user().await;
    let f = app.tenant(&flooder).await;
    let other = app.user().await;
    let o = app.tenant(&other).await;
    // 5,000 jobs of 100 ms each, enqueued first: at 4 at a time, 125 s of work.
    common::exec(
        &app.owner_db().await,
        "INSERT INTO jobs (tenant_id, id, job_type, input, scheduled_at) \
         SELECT $1, gen_random_uuid(), 'SLEEP', '{\"ms\": 100}', now() - interval '1 minute' FROM generate_series(1, 5000)",
        vec![f.into()],
    )
    .await
    .unwrap();
    let worker = Worker::start(&app, &["--types", "SLEEP", "--concurrency", "4", "--poll-ms", "100"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let res = app
        .gql(
            &other,
            Some(o),
            "mutation { enqueueJob(input: { jobType: \"SLEEP\", input: { ms: 1 } }) { id } }",
            json!({}),
        )
        .await;
    let job = id(data(&res, "enqueueJob.id"));
    let state = job_state(&app, &other, o, job, Duration::from_secs(15)).await;
    assert_eq!(state["status"], "SUCCEEDED");
    let res =
        app.gql(&flooder, Some(f), "{ jobs(filter: { status: { eq: QUEUED } }) { totalCount } }", json!({})).await;
    let left = data(&res, "jobs.totalCount").as_i64().unwrap();
    drop(worker);
    assert!(left > 4000, "the lone job waited for the flood to drain ({left} left)");
    // Tidy: the flood would keep later SLEEP workers busy.
    common::exec(&app.owner_db().await, "DELETE FROM jobs WHERE tenant_id = $1", vec![f.into()]).await.unwrap();
}

/// Item 7: two owners who demote (or remove) each other at the same moment. The owner rows are
/// locked before the check, so one of the pair wins and the other is refused with CONFLICT:
/// every round leaves the tenant with exactly one owner.
#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = TestApp::start().await;
    let demote = "mutation($id: UUID!) { updateMemberRole(id: $id, role: MEMBER) { id } }";
    let remove = "mutation($id: UUID!) { removeMember(id: $id) { id } }";
    let owners = "{ members(filter: { role: { eq: OWNER } }) { totalCount } }";
    for round in 0..6 {
        let a = app.user().await;
        let t = app.tenant(&a).await;
        let b = app.user().await;
        let b_member = app.join(&a, t, &b, "OWNER").await;
        let mine = "query($u: UUID!) { members(filter: { userId: { eq: $u } }) { edges { node { id } } } }";
        let res = app.gql(&a, Some(t), mine, json!({ "u": a.id })).await;
        let a_member = id(&data(&res, "members.edges")[0]["node"]["id"]);
        // Odd rounds remove instead of demoting; both lose an owner the same way.
        let verb = if round % 2 == 0 { demote } else { remove };
        let (ra, rb) = tokio::join!(
            app.gql(&a, Some(t), verb, json!({ "id": b_member })),
            app.gql(&b, Some(t), verb, json!({ "id": a_member })),
        );
        let refused: Vec<&Value> = [&ra, &rb].into_iter().filter(|r| r["errors"].is_array()).collect();
        assert_eq!(refused.len(), 1, "exactly one of the pair wins: {ra} {rb}");
        // The loser waited on the winner's lock (CONFLICT: no other owner is left), or came after
        // the winner's commit and is no longer an owner (FORBIDDEN).
        assert!(["CONFLICT", "FORBIDDEN"].contains(&code(refused[0])), "{}", refused[0]);
        let winner = if ra["errors"].is_array() { &b } else { &a };
        let res = app.gql(winner, Some(t), owners, json!({})).await;
        assert_eq!(data(&res, "members.totalCount"), 1, "round {round}: {res}");
    }
}

const TASKS_SUB: &str = "subscription { taskUpdated { op id task { title } } }";

/// A socket opened with `token`, acknowledged, in `tenant`.
async fn socket(app: &TestApp, token: &str, tenant: Uuid) -> common::ws::Ws {
    use common::ws::{connect, next, send, Protocol};
    let mut ws = connect(app, Protocol::TransportWs).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}"), "X-Tenant-Id": tenant } })).await;
    let ack = next(&mut ws, Duration::from_secs(10)).await.expect("an answer to connection_init");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn create_task(app: &TestApp, user: &TestUser, t: Uuid, title: &str) -> Uuid {
    let res = app
        .gql(
            user,
            Some(t),
            "mutation($n: String!) { createProject(input: { name: $n }) { id } }",
            json!({ "n": title }),
        )
        .await;
    let project = id(data(&res, "createProject.id"));
    let res = app
        .gql(
            user,
            Some(t),
            "mutation($p: UUID!, $t: String!) { createTask(input: { projectId: $p, title: $t }) { id } }",
            json!({ "p": project, "t": title }),
        )
        .await;
    id(data(&res, "createTask.id"))
}

/// Item 6: a socket closes with 4403 when its token expires, and a member removed from the
/// tenant gets FORBIDDEN on their subscription, which then completes; the events after it
/// (the victim's new task titles) never reach them.
#[tokio::test]
async fn subscriptions_end_with_the_token_and_the_membership() {
    use common::ws::{next, send};
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let member = app.user().await;
    let member_id = app.join(&owner, t, &member, "MEMBER").await;

    // A token that expires in 3 s: the socket is closed with 4403 soon after.
    let short = app.keys.mint(member.id, None, Some(member.email.clone()), 3).expect("token");
    let mut ws = socket(&app, &short, t).await;
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": TASKS_SUB } })).await;
    let started = Instant::now();
    let closed = loop {
        match next(&mut ws, Duration::from_secs(10)).await {
            Some(m) if m["type"] == "close" => break m,
            Some(_) => continue,
            None => panic!("the socket neither closed nor answered"),
        }
    };
    assert_eq!(closed["code"], 4403, "{closed}");
    assert!(started.elapsed() < Duration::from_secs(8), "closed {:?} after subscribing", started.elapsed());

    // Removed while subscribed: the next event is a FORBIDDEN error, then `complete`.
    let mut ws = socket(&app, &member.token, t).await;
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": TASKS_SUB } })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    create_task(&app, &owner, t, "before removal").await;
    let seen = next(&mut ws, Duration::from_secs(10)).await.expect("an event while a member");
    assert_eq!(seen["payload"]["data"]["taskUpdated"]["task"]["title"], "before removal", "{seen}");
    let res = app
        .gql(&owner, Some(t), "mutation($id: UUID!) { removeMember(id: $id) { id } }", json!({ "id": member_id }))
        .await;
    data(&res, "removeMember.id");
    create_task(&app, &owner, t, "after removal: secret").await;
    let refused = next(&mut ws, Duration::from_secs(10)).await.expect("a refusal");
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    assert!(!refused.to_string().contains("secret"), "{refused}");
    let done = next(&mut ws, Duration::from_secs(10)).await.expect("complete");
    assert_eq!(done["type"], "complete", "{done}");
    create_task(&app, &owner, t, "later: secret").await;
    if let Some(more) = next(&mut ws, Duration::from_secs(2)).await {
        assert!(!more.to_string().contains("secret"), "nothing more reaches a removed member: {more}");
    }
}

/// Item 8: subscriptions per socket and sockets per user are bounded; a refused one says why,
/// and the ones already running keep going.
#[tokio::test]
async fn subscriptions_per_socket_and_sockets_per_user_are_bounded() {
    use common::ws::{next, send};
    let mut config = common::test_config();
    config.ws_max_subscriptions = 3;
    config.ws_max_sockets_per_user = 2;
    let app = TestApp::start_with(config).await;
    let user = app.user().await;
    let t = app.tenant(&user).await;

    let mut ws = socket(&app, &user.token, t).await;
    for i in 1..=4 {
        send(&mut ws, json!({ "id": i.to_string(), "type": "subscribe", "payload": { "query": TASKS_SUB } })).await;
    }
    let refused = next(&mut ws, Duration::from_secs(10)).await.expect("the fourth is refused");
    assert_eq!(refused["id"], "4", "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{refused}");
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.expect("complete")["type"], "complete");
    // Stopping one frees its place.
    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut ws, json!({ "id": "5", "type": "subscribe", "payload": { "query": TASKS_SUB } })).await;
    // Let the server register "5" before the write, or its event may come before it listens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    create_task(&app, &user, t, "seen by three").await;
    let mut ids = vec![];
    while ids.len() < 3 {
        let m = next(&mut ws, Duration::from_secs(10)).await.expect("events");
        if m["type"] == "complete" && m["id"] == "1" {
            continue; // the server's answer to stopping "1"
        }
        assert_eq!(m["type"], "next", "{m}");
        assert!(m["payload"]["errors"].is_null(), "{m}");
        ids.push(m["id"].as_str().expect("id").to_string());
    }
    ids.sort();
    assert_eq!(ids, ["2", "3", "5"]);

    // A second socket is allowed, a third is refused at connection_init.
    let _second = socket(&app, &user.token, t).await;
    let mut third = common::ws::connect(&app, common::ws::Protocol::TransportWs).await;
    send(&mut third, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", user.token), "X-Tenant-Id": t } })).await;
    let closed = next(&mut third, Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(closed["type"], "close", "{closed}");
    // Closing one gives the place back.
    drop(ws);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _again = socket(&app, &user.token, t).await;
}

/// Item 9: what the database refuses reaches the client in words of Atlas's own, naming the
/// field; PostgreSQL's text (table, constraint, value) stays in the log. Every check and unique
/// constraint of the schema has such words (a catalogue test), so a new one cannot leak.
#[tokio::test]
async fn database_refusals_answer_in_atlas_words() {
    let app = TestApp::start().await;
    let owner_db = app.owner_db().await;
    let rows = owner_db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT conname FROM pg_constraint WHERE contype IN ('c', 'u') \
             AND connamespace = 'public'::regnamespace ORDER BY conname",
        ))
        .await
        .expect("constraints");
    let known: Vec<&str> = service::error::constraints_with_messages().collect();
    let missing: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "conname").expect("name"))
        .filter(|name| !known.contains(&name.as_str()))
        .collect();
    assert!(missing.is_empty(), "constraints without a message in service::error::CONSTRAINTS: {missing:?}");

    let user = app.user().await;
    let t = app.tenant(&user).await;
    let long = "x".repeat(300);
    let cases = [
        ("mutation($n: String!) { createAgent(input: { name: $n }) { id } }", json!({ "n": long }), "name"),
        (
            "mutation { createBudget(input: { name: \"Ops\", category: SOFTWARE, limitCents: -5 }) { id } }",
            json!({}),
            "limitCents",
        ),
    ];
    for (query, vars, field) in cases {
        let res = app.gql(&user, Some(t), query, vars).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
        assert_eq!(res["errors"][0]["extensions"]["field"], field, "{res}");
        let text = res.to_string();
        for leak in ["violates", "constraint", "agents", "budgets", "relation", "SQLSTATE"] {
            assert!(!text.contains(leak), "{leak:?} reached the client: {text}");
        }
    }
}

/// Item 10: refusals are in the audit log although their transaction rolled back (as
/// `security`-level rows, written apart from it), including a stranger's attempt on a tenant they
/// do not belong to; CRUD rows name the fields a write set, never their values.
#[tokio::test]
async fn refusals_and_changed_fields_are_audited() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let viewer = app.user().await;
    app.join(&owner, t, &viewer, "VIEWER").await;
    let stranger = app.user().await;

    let res =
        app.gql(&viewer, Some(t), "mutation { createProject(input: { name: \"Nope\" }) { id } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = app.gql(&stranger, Some(t), "{ projects { totalCount } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");

    let res =
        app.gql(&owner, Some(t), "mutation { createProject(input: { name: \"Audited\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let res = app
        .gql(
            &owner,
            Some(t),
            "mutation($id: UUID!) { updateProject(id: $id, input: { description: \"top secret plan\" }) { id } }",
            json!({ "id": project }),
        )
        .await;
    data(&res, "updateProject.id");

    let log = "{ auditLog(first: 50) { nodes { action level actorUserId entityId meta } } }";
    let res = app.gql(&owner, Some(t), log, json!({})).await;
    let nodes = data(&res, "auditLog.nodes").as_array().expect("nodes").clone();
    let refused: Vec<&Value> = nodes.iter().filter(|n| n["action"] == "security.refused").collect();
    for who in [&viewer, &stranger] {
        let row = refused
            .iter()
            .find(|n| n["actorUserId"] == json!(who.id.to_string()))
            .unwrap_or_else(|| panic!("a refusal of {} in {nodes:?}", who.id));
        assert_eq!(row["level"], "SECURITY", "{row}");
        assert_eq!(row["meta"]["code"], "FORBIDDEN", "{row}");
    }
    let update = nodes
        .iter()
        .find(|n| n["action"] == "project.update" && n["entityId"] == json!(project.to_string()))
        .expect("the update's row");
    assert_eq!(update["meta"]["fields"], json!(["description"]), "{update}");
    assert!(!update.to_string().contains("top secret"), "values stay out of the log: {update}");
}

/// What a window of a parent's children should answer: its titles, hasNextPage, hasPreviousPage.
type Expect = dyn Fn(&[String]) -> (Vec<String>, bool, bool);

/// Item 8: a to-many level fetches only each parent's page, cut in SQL, with the parent's total;
/// both answering paths (the planner, and the resolvers when a selection holds an aggregate such
/// as `usage`) give the same pages, cursors and flags for every window: first, after, last, before.
#[tokio::test]
async fn to_many_pages_are_each_parents_own() {
    let app = TestApp::start().await;
    let user = app.user().await;
    let t = app.tenant(&user).await;
    let mut expected: Vec<(String, Vec<String>)> = vec![];
    for (name, n) in [("A many", 25), ("B two", 2), ("C none", 0)] {
        let res = app
            .gql(
                &user,
                Some(t),
                "mutation($n: String!) { createProject(input: { name: $n }) { id } }",
                json!({ "n": name }),
            )
            .await;
        let project = id(data(&res, "createProject.id"));
        let mut titles = vec![];
        for i in 0..n {
            let title = format!("{name} {i:02}");
            let res = app
                .gql(
                    &user,
                    Some(t),
                    "mutation($p: UUID!, $t: String!) { createTask(input: { projectId: $p, title: $t }) { id } }",
                    json!({ "p": project, "t": title }),
                )
                .await;
            data(&res, "createTask.id");
            titles.push(title);
        }
        expected.push((name.to_string(), titles));
    }
    let page = |args: &str, extra: &str| {
        format!(
            "{{ projects(orderBy: [{{ field: NAME }}]) {{ nodes {{ name tasks({args}) {{ totalCount \
             pageInfo {{ hasNextPage hasPreviousPage }} edges {{ cursor node {{ title {extra} }} }} }} }} }} }}"
        )
    };
    let titles = |res: &Value| -> Vec<(String, Vec<String>, u64, bool, bool)> {
        data(res, "projects.nodes")
            .as_array()
            .expect("nodes")
            .iter()
            .map(|p| {
                let tasks = &p["tasks"];
                let t: Vec<String> = tasks["edges"]
                    .as_array()
                    .expect("edges")
                    .iter()
                    .map(|e| e["node"]["title"].as_str().expect("title").to_string())
                    .collect();
                (
                    p["name"].as_str().expect("name").to_string(),
                    t,
                    tasks["totalCount"].as_u64().expect("total"),
                    tasks["pageInfo"]["hasNextPage"].as_bool().expect("next"),
                    tasks["pageInfo"]["hasPreviousPage"].as_bool().expect("previous"),
                )
            })
            .collect()
    };
    // A cursor is an offset within each parent's children: the second page starts after 3.
    let first = app.gql(&user, Some(t), &page("first: 3", ""), json!({})).await;
    let cursor = data(&first, "projects.nodes")[0]["tasks"]["edges"][2]["cursor"].as_str().expect("cursor").to_string();
    let windows: Vec<(String, Box<Expect>)> = vec![
        ("first: 3".into(), Box::new(|all: &[String]| (all.iter().take(3).cloned().collect(), all.len() > 3, false))),
        (
            format!("first: 4, after: \"{cursor}\""),
            Box::new(|all: &[String]| {
                (all.iter().skip(3).take(4).cloned().collect(), all.len() > 7, !all.is_empty() && all.len() > 3)
            }),
        ),
        (
            "last: 2".into(),
            Box::new(|all: &[String]| {
                let from = all.len().saturating_sub(2);
                (all[from..].to_vec(), false, from > 0)
            }),
        ),
        (
            format!("last: 2, before: \"{cursor}\""),
            Box::new(|all: &[String]| {
                let end = all.len().min(2);
                let from = end.saturating_sub(2);
                (all[from..end].to_vec(), all.len() > end, from > 0)
            }),
        ),
    ];
    for (args, want) in &windows {
        for extra in ["", "usage { tokensUsed }"] {
            let res = app.gql(&user, Some(t), &page(args, extra), json!({})).await;
            let got = titles(&res);
            for ((name, all), (got_name, got_titles, total, next, previous)) in expected.iter().zip(&got) {
                let (titles, want_next, want_previous) = want(all);
                assert_eq!(got_name, name);
                assert_eq!(got_titles, &titles, "{name} with {args} {extra}");
                assert_eq!(*total, all.len() as u64, "{name} totalCount with {args} {extra}");
                // An empty page reports no previous page, whatever its cursor.
                if !titles.is_empty() {
                    assert_eq!((*next, *previous), (want_next, want_previous), "{name} pageInfo with {args} {extra}");
                }
            }
        }
    }
}

/// Item 10: tokens minted with `atlas token` and users provisioned from a token are audited:
/// in the tenant's log when there is a tenant, else in the global log, which the app role may
/// write but not read.
#[tokio::test]
async fn token_minting_and_user_provisioning_are_audited() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let owner_db = app.owner_db().await;
    let global = |action: &'static str, user: Uuid| {
        let db = &owner_db;
        async move {
            let row = one(
                db,
                "SELECT count(*) AS n FROM global_audit_log WHERE action = $1 AND entity_id = $2",
                vec![action.into(), user.into()],
            )
            .await;
            row.try_get::<i64>("", "n").expect("n")
        }
    };
    assert_eq!(global("user.provision", owner.id).await, 1, "provisioning is in the global log");

    let mint = |tenant: Option<Uuid>| {
        let mut cmd = Command::new("timeout");
        cmd.arg("20")
            .arg(env!("CARGO_BIN_EXE_atlas"))
            .args(["token", "--user", &owner.email, "--ttl-hours", "1"])
            .env("ATLAS_ENV", "development")
            .env("DATABASE_URL", &app.config.database_url)
            .env("DIRECT_URL", &app.config.direct_url)
            .env("ATLAS_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(t) = tenant {
            cmd.args(["--tenant", &t.to_string()]);
        }
        let out = cmd.output().expect("atlas token");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    mint(Some(t));
    let res = app
        .gql(
            &owner,
            Some(t),
            "{ auditLog(filter: { action: { eq: \"token.mint\" } }) { nodes { actorType entityId meta } } }",
            json!({}),
        )
        .await;
    let row = &data(&res, "auditLog.nodes")[0];
    assert_eq!(row["actorType"], "SYSTEM", "{res}");
    assert_eq!(row["entityId"], json!(owner.id.to_string()), "{res}");
    assert_eq!(row["meta"]["ttlHours"], 1, "{res}");
    mint(None);
    assert_eq!(global("token.mint", owner.id).await, 1, "a token without a tenant is in the global log");

    // The app role writes the global log and cannot read it.
    let db = app.app_db().await;
    let read = common::exec(&db, "SELECT count(*) FROM global_audit_log", vec![]).await;
    assert!(read.is_err_and(|e| e.to_string().contains("permission denied")), "the app role read the global log");
}

/// Global setting defaults (`global_settings`, no tenant) are the operators': the app role, and
/// so any tenant's request, may read them but never write one that every tenant would get.
#[tokio::test]
async fn global_setting_defaults_are_read_only_to_the_app() {
    let app = TestApp::start().await;
    let db = app.app_db().await;
    let key = format!("probe.{}", Uuid::now_v7().simple());
    for sql in [
        "INSERT INTO global_settings (key, value) VALUES ($1, 'x')",
        "UPDATE global_settings SET value = 'x' WHERE key = $1",
        "DELETE FROM global_settings WHERE key = $1",
    ] {
        let err = common::exec(&db, sql, vec![key.clone().into()]).await.expect_err(sql);
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    common::exec(&db, "SELECT key FROM global_settings WHERE key = $1", vec![key.into()]).await.expect("reads");
}
