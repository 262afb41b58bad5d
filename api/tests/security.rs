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
