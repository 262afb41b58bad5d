//! Similarity and hybrid search through GraphQL: inside the caller's tenant even when another
//! tenant's rows are nearer, the built-in (lexical) embedder putting the exact-term match first,
//! hybrid ranking rewarding rows that match both words and vector, clear errors, and recall@10 of
//! the tenant-filtered index scan against exact search where the caller holds 1% of the rows.
mod common;

use common::{code, data, id, TestApp, TestUser};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{json, Value};
use service::embedding::{Embedder, HashingEmbedder};
use uuid::Uuid;

/// A KB chunk with `content`, vectorised by the same built-in embedder the server uses.
async fn chunk(app: &TestApp, db: &DatabaseConnection, user: &TestUser, t: Uuid, content: &str) -> Uuid {
    let slug = format!("d-{}", Uuid::now_v7().simple());
    let res = app
        .gql(
            user,
            Some(t),
            "mutation($s: String!) { d: createKbDocument(input: { title: \"Doc\", slug: $s }) { id } }",
            json!({ "s": slug }),
        )
        .await;
    let doc = id(data(&res, "d.id"));
    let res = app
        .gql(
            user,
            Some(t),
            "mutation($d: UUID!, $c: String!) { c: createKbChunk(input: { documentId: $d, content: $c }) { id } }",
            json!({ "d": doc, "c": content }),
        )
        .await;
    let chunk = id(data(&res, "c.id"));
    let v = HashingEmbedder::new(384).vector(content);
    let lit = format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
    common::exec(
        db,
        "UPDATE kb_chunks SET embedding = $3::vector, embedding_model = $4 WHERE tenant_id = $1 AND id = $2",
        vec![t.into(), chunk.into(), lit.into(), HashingEmbedder::new(384).model().into()],
    )
    .await
    .unwrap();
    chunk
}

fn ids(res: &Value, field: &str) -> Vec<Uuid> {
    data(res, field).as_array().unwrap().iter().map(|h| id(&h["node"]["id"])).collect()
}

const SIMILAR: &str = "query($i: SimilaritySearchInput!) { similaritySearch(input: $i) { score distance node { ... on KbChunk { id content } ... on DataRecord { id content } } } }";
const HYBRID: &str = "query($t: String!) { hybridSearch(text: $t, target: KB_CHUNKS, k: 5) { score node { ... on KbChunk { id content } } } }";

#[tokio::test]
async fn search_stays_in_the_tenant_and_ranks_by_terms_and_vectors() {
    let app = TestApp::start().await;
    let db = app.owner_db().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let exact = chunk(&app, &db, &alice, a, "Rotate the database credentials every ninety days").await;
    let other = chunk(&app, &db, &alice, a, "The office plants need water on Mondays").await;
    // Bob's chunk is the query itself, nearer than anything of Alice's.
    let bobs = chunk(&app, &db, &bob, b, "rotate database credentials").await;

    let res = app
        .gql(
            &alice,
            Some(a),
            SIMILAR,
            json!({ "i": { "target": "KB_CHUNKS", "text": "rotate database credentials", "k": 10 } }),
        )
        .await;
    let found = ids(&res, "similaritySearch");
    assert_eq!(found.first(), Some(&exact), "{res}");
    assert!(!found.contains(&bobs), "another tenant's row leaked: {res}");
    let hits = data(&res, "similaritySearch").as_array().unwrap();
    assert!(hits[0]["score"].as_f64().unwrap() > 0.3, "{res}");
    if let Some(pos) = found.iter().position(|x| *x == other) {
        assert!(hits[pos]["score"].as_f64().unwrap() < hits[0]["score"].as_f64().unwrap());
    }
    // By vector: Bob's own vector finds Bob's row for Bob only.
    let v: Vec<f64> =
        HashingEmbedder::new(384).vector("rotate database credentials").iter().map(|x| *x as f64).collect();
    let res = app.gql(&alice, Some(a), SIMILAR, json!({ "i": { "target": "KB_CHUNKS", "vector": v, "k": 3 } })).await;
    assert!(!ids(&res, "similaritySearch").contains(&bobs));
    let res = app.gql(&bob, Some(b), SIMILAR, json!({ "i": { "target": "KB_CHUNKS", "vector": v, "k": 3 } })).await;
    assert_eq!(ids(&res, "similaritySearch"), vec![bobs]);
    let d = data(&res, "similaritySearch")[0]["distance"].as_f64().unwrap();
    assert!(d.abs() < 1e-4, "identical vectors are at distance 0, got {d}");

    // Hybrid: the chunk with the exact words and the nearest vector beats one with only the words
    // (among noise) and one with only related words.
    let both = chunk(&app, &db, &alice, a, "kubernetes pod restarts after each deploy").await;
    let words_only = chunk(
        &app,
        &db,
        &alice,
        a,
        "Notes: kubernetes, pod, restarts. Also lunch menu, parking, holidays, printer toner, badges, chairs",
    )
    .await;
    let related = chunk(&app, &db, &alice, a, "the pod keeps crashing after each deploy to the cluster").await;
    let res = app.gql(&alice, Some(a), HYBRID, json!({ "t": "kubernetes pod restarts after deploy" })).await;
    let found = ids(&res, "hybridSearch");
    assert_eq!(found.first(), Some(&both), "{res}");
    assert!(found.contains(&words_only) && found.contains(&related), "{res}");

    // Clear errors.
    for (input, field) in [
        (json!({ "target": "KB_CHUNKS", "k": 10 }), "vector"),
        (json!({ "target": "KB_CHUNKS", "text": "x", "vector": v, "k": 10 }), "vector"),
        (json!({ "target": "KB_CHUNKS", "text": "x", "k": 0 }), "k"),
        (json!({ "target": "KB_CHUNKS", "text": "x", "k": 101 }), "k"),
        (json!({ "target": "KB_CHUNKS", "vector": [0.1, 0.2], "k": 5 }), "vector"),
        (json!({ "target": "KB_CHUNKS", "text": "x", "filter": { "language": "rust" } }), "filter.language"),
    ] {
        let res = app.gql(&alice, Some(a), SIMILAR, json!({ "i": input })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{input}: {res}");
        assert_eq!(res["errors"][0]["extensions"]["field"], field, "{res}");
    }
}

/// A small deterministic generator, so the dataset is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }
    fn vector(&mut self, center: &[f32]) -> Vec<f32> {
        center.iter().map(|c| c + 0.35 * self.next()).collect()
    }
}

fn lit(v: &[f32]) -> String {
    format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","))
}

#[tokio::test]
async fn tenant_filtered_top_10_keeps_its_recall() {
    const TENANTS: usize = 100;
    const PER_TENANT: usize = 100;
    let app = TestApp::start().await;
    let db = app.owner_db().await;
    let owner = app.user().await;
    let mine = app.tenant(&owner).await;
    let mut rng = Lcg(42);
    // Clustered data, as embeddings are: 50 topics shared by every tenant.
    let centers: Vec<Vec<f32>> = (0..50).map(|_| (0..384).map(|_| rng.next()).collect()).collect();
    let mut tenants = vec![mine];
    for _ in 1..TENANTS {
        let t = Uuid::now_v7();
        common::exec(
            &db,
            "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Recall')",
            vec![t.into(), format!("recall-{}", t.simple()).into()],
        )
        .await
        .unwrap();
        tenants.push(t);
    }
    for t in &tenants {
        let p = Uuid::now_v7();
        common::exec(
            &db,
            "INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, 'Recall')",
            vec![(*t).into(), p.into()],
        )
        .await
        .unwrap();
        let rows: Vec<Value> = (0..PER_TENANT)
            .map(|i| json!({ "id": Uuid::now_v7(), "c": format!("row {i}"), "e": lit(&rng.vector(&centers[i % centers.len()])) }))
            .collect();
        common::exec(
            &db,
            "INSERT INTO data_records (tenant_id, id, project_id, record_type, content, embedding) \
             SELECT $1, r.id, $2, 'task', r.c, r.e::vector FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, c text, e text)",
            vec![(*t).into(), p.into(), Value::Array(rows).into()],
        )
        .await
        .unwrap();
    }
    let queries = 20;
    let mut recall = 0.0;
    for q in 0..queries {
        let v = rng.vector(&centers[(q * 7) % centers.len()]);
        let res = app
            .gql(&owner, Some(mine), SIMILAR, json!({ "i": { "target": "DATA_RECORDS", "vector": v, "k": 10 } }))
            .await;
        let got = ids(&res, "similaritySearch");
        // Exact search: no index can serve an uncast distance.
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id FROM data_records WHERE tenant_id = $1 ORDER BY embedding <=> $2::vector LIMIT 10",
                [mine.into(), lit(&v).into()],
            ))
            .await
            .unwrap();
        let exact: Vec<Uuid> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
        assert_eq!(exact.len(), 10);
        recall += got.iter().filter(|x| exact.contains(x)).count() as f64 / 10.0;
    }
    recall /= queries as f64;
    eprintln!("recall@10 with the caller holding 1% of rows: {recall:.3}");
    assert!(recall >= 0.95, "recall@10 {recall:.3}");
}

/// Documents, code and text files are chunked on write and vectorised by an EMBED worker running
/// the built-in model (the default on a fresh machine); each target is then searchable by text,
/// a paraphrase finds what it means, and a file's chunks only those who may see the file find.
#[tokio::test]
async fn written_content_is_chunked_vectorised_and_searchable() {
    use common::jobs::Worker;
    use std::time::{Duration, Instant};
    let app = TestApp::start_with(common::with_local_model(common::test_config())).await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let _worker =
        Worker::start_with_env(&app, &["--types", "EMBED", "--poll-ms", "200"], &[("ATLAS_EMBEDDER", "local")]);
    let body = format!(
        "Onboarding guide.\n\n{}\n\nTo rotate the signing keys, run the rotation script and restart the gateway.",
        "Filler paragraph about office hours and lunch. ".repeat(40)
    );
    let res = app
        .gql(&owner, Some(t), "mutation($b: String!) { createKbDocument(input: { title: \"Guide\", slug: \"guide\", body: $b }) { id chunks { totalCount } } }", json!({ "b": body }))
        .await;
    let doc = id(data(&res, "createKbDocument.id"));
    assert!(data(&res, "createKbDocument.chunks.totalCount").as_i64().unwrap() >= 2, "{res}");
    let res =
        app.gql(&owner, Some(t), "mutation { p: createProject(input: { name: \"Code\" }) { id } }", json!({})).await;
    let project = id(data(&res, "p.id"));
    let res = app
        .gql(&owner, Some(t), "mutation($p: UUID!) { indexCode(input: { projectId: $p, path: \"src/auth/token.rs\", language: \"rust\", content: \"fn refresh_token(user: &User) -> Token {\\n    issue_jwt(user)\\n}\" }) { id filePath } }", json!({ "p": project }))
        .await;
    assert_eq!(data(&res, "indexCode")[0]["filePath"], "src/auth/token.rs");
    let up = app
        .upload(
            &owner,
            t,
            "mutation($file: Upload!) { uploadFile(file: $file, visibility: PRIVATE) { id } }",
            json!({}),
            common::FilePart::new(
                "runbook.md",
                "text/markdown",
                b"# Runbook\n\nWhen the disk fills up, rotate the logs and page the on-call engineer.".to_vec(),
            ),
        )
        .await;
    data(&up, "uploadFile.id");

    let mut docs = vec![];
    for (slug, body) in [
        ("password", "To reset a forgotten password, open the sign-in page and follow the recovery link we email you."),
        ("cafeteria", "The cafeteria serves lunch from noon until two, with a vegetarian dish every day."),
    ] {
        let res = app
            .gql(&owner, Some(t), "mutation($s: String!, $b: String!) { d: createKbDocument(input: { title: $s, slug: $s, body: $b }) { id } }", json!({ "s": slug, "b": body }))
            .await;
        docs.push(id(data(&res, "d.id")));
    }

    // Wait until everything written has its vector.
    let db = app.owner_db().await;
    let started = Instant::now();
    loop {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT (SELECT count(*) FROM kb_chunks WHERE tenant_id = $1 AND embedding IS NULL) \
                      + (SELECT count(*) FROM code_embeddings WHERE tenant_id = $1 AND embedding IS NULL) \
                      + (SELECT count(*) FROM file_chunks WHERE tenant_id = $1 AND embedding IS NULL) AS n",
                [t.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() == 0 {
            break;
        }
        // The built-in model embeds on the CPU, which other test binaries may share: a generous bound.
        assert!(started.elapsed() < Duration::from_secs(180), "content still without vectors");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let search = |target: &'static str, text: &'static str, filter: Value| {
        let (app, owner) = (&app, &owner);
        async move {
            app.gql(owner, Some(t), "query($i: SimilaritySearchInput!) { similaritySearch(input: $i) { score node { ... on KbChunk { content document { id } } ... on CodeChunk { filePath } ... on FileChunk { content file { name } } } } }",
                json!({ "i": { "target": target, "text": text, "k": 3, "filter": filter } }))
                .await
        }
    };
    let res = search("KB_CHUNKS", "rotate the signing keys", json!({ "documentId": doc })).await;
    let top = &data(&res, "similaritySearch")[0]["node"];
    assert!(top["content"].as_str().unwrap().contains("signing keys"), "{res}");
    // A paraphrase sharing no word with the text it means: found by meaning, not terms.
    let res = app
        .gql(&owner, Some(t), "query { similaritySearch(input: { target: KB_CHUNKS, text: \"I can't remember my login credentials\", k: 10 }) { score node { ... on KbChunk { document { id } } } } }", json!({}))
        .await;
    let hits = data(&res, "similaritySearch").as_array().unwrap().clone();
    let rank = |d: Uuid| hits.iter().position(|h| id(&h["node"]["document"]["id"]) == d);
    assert_eq!(rank(docs[0]), Some(0), "{res}");
    // The unrelated sentence is among the few chunks of this tenant, well below the meaning match.
    let unrelated = rank(docs[1]).expect("every chunk of the tenant is within k = 10");
    let score = |r: usize| hits[r]["score"].as_f64().unwrap();
    assert!(score(0) - score(unrelated) > 0.2, "{res}");
    let res = search("CODE", "refresh token jwt", json!({ "language": "rust", "pathPrefix": "src/auth/" })).await;
    assert_eq!(data(&res, "similaritySearch")[0]["node"]["filePath"], "src/auth/token.rs", "{res}");
    let res = search("CODE", "refresh token jwt", json!({ "pathPrefix": "tests/" })).await;
    assert_eq!(data(&res, "similaritySearch").as_array().unwrap().len(), 0);
    let res = search("FILES", "disk fills up", json!({})).await;
    assert_eq!(data(&res, "similaritySearch")[0]["node"]["file"]["name"], "runbook.md", "{res}");
    // The file is private: another member's search does not find its chunks.
    let member = app.user().await;
    app.join(&owner, t, &member, "MEMBER").await;
    let res = app
        .gql(&member, Some(t), "query { hybridSearch(text: \"disk fills up\", target: FILES) { score } }", json!({}))
        .await;
    assert_eq!(data(&res, "hybridSearch").as_array().unwrap().len(), 0, "{res}");

    // Editing the document re-chunks it; the new text is vectorised and found.
    let res = app
        .gql(&owner, Some(t), "mutation($d: UUID!) { updateKbDocument(id: $d, input: { body: \"Backups run nightly at two.\" }) { chunks { totalCount } } }", json!({ "d": doc }))
        .await;
    assert_eq!(data(&res, "updateKbDocument.chunks.totalCount"), 1);
    let started = Instant::now();
    loop {
        let res = search("KB_CHUNKS", "backups nightly", json!({ "documentId": doc })).await;
        let hits = data(&res, "similaritySearch").as_array().unwrap().clone();
        if hits.len() == 1 && hits[0]["node"]["content"] == "Backups run nightly at two." {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the edited document was not re-vectorised: {res}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
