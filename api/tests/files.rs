//! Files on the object store, the same suite on the local directory store and on a real
//! S3-compatible server (moto, started by scripts/s3.sh): multipart uploads, versions, signed
//! downloads with ranges, type checks, no orphans when the row fails, concurrent uploads of one
//! name, deletion removing objects, folders, and the visibility matrix enforced by the database.
//!
//! One test runs both suites one after the other: the STORAGE_GC worker of a suite must use that
//! suite's store, and workers take jobs of any tenant.
mod common;

use std::time::{Duration, Instant};

use common::jobs::Worker;
use common::{code, data, id, test_config, FilePart, TestApp, TestUser};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const UPLOAD: &str = "mutation($file: Upload!, $folder: UUID, $space: UUID, $vis: FileVisibility!, $name: String) { \
    uploadFile(file: $file, folderId: $folder, spaceId: $space, visibility: $vis, name: $name) { id name size sha256 contentType currentVersion } }";

async fn upload(
    app: &TestApp,
    user: &TestUser,
    t: Uuid,
    name: &str,
    ct: &'static str,
    bytes: &[u8],
    vars: Value,
) -> Value {
    let mut v = json!({ "vis": "ORGANIZATION" });
    if let (Some(v), Some(extra)) = (v.as_object_mut(), vars.as_object()) {
        v.extend(extra.clone());
    }
    app.upload(user, t, UPLOAD, v, FilePart::new(name, ct, bytes.to_vec())).await
}

async fn objects(storage: &service::storage::Storage, t: Uuid) -> usize {
    storage.list(t, "objects/").await.map(|l| l.len()).unwrap_or(0)
}

async fn url_of(app: &TestApp, user: &TestUser, t: Uuid, file: Uuid, expires: i32) -> String {
    let res = app
        .gql(
            user,
            Some(t),
            "query($id: UUID!, $e: Int!) { file(id: $id) { downloadUrl(expiresIn: $e) } }",
            json!({ "id": file, "e": expires }),
        )
        .await;
    data(&res, "file.downloadUrl").as_str().unwrap().to_string()
}

async fn suite(storage_url: &str, local: bool) {
    let mut config = test_config();
    config.storage_url = storage_url.to_string();
    let app = TestApp::start_with(config).await;
    let storage = service::storage::Storage::open(storage_url).expect("storage");
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let health = app.client.get(format!("{}/health/storage", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Upload, then download the same bytes through the signed link, whole and by range.
    let body = b"Quarterly notes: revenue up, costs flat.\n".repeat(100);
    let res = upload(&app, &owner, t, "notes.txt", "text/plain", &body, json!({})).await;
    let f = data(&res, "uploadFile").clone();
    let file = id(&f["id"]);
    assert_eq!(f["size"], body.len());
    assert_eq!(f["sha256"], hex::encode(Sha256::digest(&body)));
    assert_eq!(f["contentType"], "text/plain");
    assert_eq!(f["currentVersion"], 1);
    let url = url_of(&app, &owner, t, file, 600).await;
    assert!(local == url.starts_with(&format!("{}/files/", app.base)), "{url}");
    let got = app.client.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    if local {
        assert_eq!(got.headers()["content-type"], "text/plain");
        assert!(got.headers()["content-disposition"].to_str().unwrap().contains("notes.txt"));
    }
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());
    let part = app.client.get(&url).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &body[10..20]);

    // The same name again: a new version; the old one still downloads.
    let v2 = b"Revised notes.\n".to_vec();
    let res = upload(&app, &owner, t, "notes.txt", "text/plain", &v2, json!({})).await;
    assert_eq!(data(&res, "uploadFile.id"), &f["id"]);
    assert_eq!(data(&res, "uploadFile.currentVersion"), 2);
    let res = app
        .gql(&owner, Some(t), "query($id: UUID!) { file(id: $id) { versions { totalCount edges { node { version size downloadUrl } } } } }", json!({ "id": file }))
        .await;
    let versions = data(&res, "file.versions.edges").as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    let old = versions.iter().find(|v| v["node"]["version"] == 1).unwrap();
    let old_bytes =
        app.client.get(old["node"]["downloadUrl"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(old_bytes.as_ref(), body.as_slice());
    assert_eq!(
        app.client.get(url_of(&app, &owner, t, file, 60).await).send().await.unwrap().bytes().await.unwrap().as_ref(),
        v2.as_slice()
    );

    // A declared type the bytes contradict is refused, and nothing is left in the store.
    let before = objects(&storage, t).await;
    let res = upload(&app, &owner, t, "photo.png", "image/png", b"not a png at all", json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let res = upload(&app, &owner, t, "doc.pdf", "application/pdf", b"%PDF-1.7\n%fake but signed\n", json!({})).await;
    assert_eq!(data(&res, "uploadFile.contentType"), "application/pdf");
    assert_eq!(objects(&storage, t).await, before + 1);
    // A failure after the object is written (the folder does not exist): the object goes too.
    let res = upload(&app, &owner, t, "lost.txt", "text/plain", b"orphan?", json!({ "folder": Uuid::now_v7() })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(objects(&storage, t).await, before + 1, "an object was left behind");

    // Two uploads of one new name at once: two versions, neither lost.
    let (a, b) = tokio::join!(
        upload(&app, &owner, t, "race.txt", "text/plain", b"first", json!({})),
        upload(&app, &owner, t, "race.txt", "text/plain", b"second", json!({})),
    );
    let mut v = vec![
        data(&a, "uploadFile.currentVersion").as_i64().unwrap(),
        data(&b, "uploadFile.currentVersion").as_i64().unwrap(),
    ];
    v.sort();
    assert_eq!(v, vec![1, 2]);
    assert_eq!(data(&a, "uploadFile.id"), data(&b, "uploadFile.id"));

    // Deleting a file removes every version's object (through the STORAGE_GC job).
    let mut worker = Worker::start_with_env(
        &app,
        &["--types", "STORAGE_GC", "--poll-ms", "200"],
        &[("ATLAS_STORAGE_URL", storage_url)],
    );
    let before = objects(&storage, t).await;
    let res =
        app.gql(&owner, Some(t), "mutation($id: UUID!) { deleteFile(id: $id) { id } }", json!({ "id": file })).await;
    data(&res, "deleteFile.id");
    let started = Instant::now();
    while objects(&storage, t).await != before - 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "objects of the deleted file remain");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let gone = app.client.get(&url).send().await.unwrap();
    assert_eq!(gone.status(), 404);

    // Folders: paths follow renames and moves; a folder cannot move into its own subtree.
    let res = app
        .gql(&owner, Some(t), "mutation { createSpace(input: { name: \"Docs\", slug: \"docs\" }) { id } }", json!({}))
        .await;
    let space = id(data(&res, "createSpace.id"));
    let folder = |name: &str, parent: Option<Uuid>| {
        let app = &app;
        let owner = &owner;
        let name = name.to_string();
        async move {
            let res = app
                .gql(
                    owner,
                    Some(t),
                    "mutation($i: CreateFolderInput!) { createFolder(input: $i) { id path } }",
                    json!({ "i": { "spaceId": space, "parentId": parent, "name": name } }),
                )
                .await;
            (id(data(&res, "createFolder.id")), data(&res, "createFolder.path").as_str().unwrap().to_string())
        }
    };
    let (fa, pa) = folder("a", None).await;
    let (fb, pb) = folder("b", Some(fa)).await;
    let (_fc, pc) = folder("c", Some(fb)).await;
    assert_eq!((pa.as_str(), pb.as_str(), pc.as_str()), ("/a/", "/a/b/", "/a/b/c/"));
    let mv = "mutation($id: UUID!, $i: UpdateFolderInput!) { updateFolder(id: $id, input: $i) { path } }";
    let res = app.gql(&owner, Some(t), mv, json!({ "id": fa, "i": { "parentId": fb } })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(res["errors"][0]["extensions"]["field"], "parentId");
    let res = app.gql(&owner, Some(t), mv, json!({ "id": fa, "i": { "name": "archive" } })).await;
    assert_eq!(data(&res, "updateFolder.path"), "/archive/");
    let res = app.gql(&owner, Some(t), mv, json!({ "id": fb, "i": { "parentId": null } })).await;
    assert_eq!(data(&res, "updateFolder.path"), "/b/");
    let res = app
        .gql(
            &owner,
            Some(t),
            "{ folders(orderBy: { field: PATH, direction: ASC }) { edges { node { path } } } }",
            json!({}),
        )
        .await;
    let paths: Vec<&str> =
        data(&res, "folders.edges").as_array().unwrap().iter().map(|e| e["node"]["path"].as_str().unwrap()).collect();
    assert_eq!(paths, vec!["/archive/", "/b/", "/b/c/"]);
    // A file in a folder; deleting the folder's space removes its objects too.
    let before = objects(&storage, t).await;
    let res =
        upload(&app, &owner, t, "inside.txt", "text/plain", b"in a folder", json!({ "folder": fb, "space": space }))
            .await;
    data(&res, "uploadFile.id");
    assert_eq!(objects(&storage, t).await, before + 1);
    let res =
        app.gql(&owner, Some(t), "mutation($id: UUID!) { deleteSpace(id: $id) { id } }", json!({ "id": space })).await;
    data(&res, "deleteSpace.id");
    let started = Instant::now();
    while objects(&storage, t).await != before {
        assert!(started.elapsed() < Duration::from_secs(60), "the deleted space's objects remain");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(worker.terminate());

    // A project's guidelines PDF is a stored file the project refers to, not base64 in a column.
    let res =
        app.gql(&owner, Some(t), "mutation { createProject(input: { name: \"Reviews\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let pdf = b"%PDF-1.4\n% guidelines for reviewers\n".to_vec();
    let res = app
        .upload(
            &owner,
            t,
            "mutation($p: UUID!, $file: Upload!) { uploadProjectGuidelines(projectId: $p, file: $file) { guidelines { name contentType downloadUrl } } }",
            json!({ "p": project }),
            FilePart::new("guidelines.pdf", "application/pdf", pdf.clone()),
        )
        .await;
    let g = data(&res, "uploadProjectGuidelines.guidelines").clone();
    assert_eq!(g["name"], "guidelines.pdf");
    assert_eq!(g["contentType"], "application/pdf");
    let got = app.client.get(g["downloadUrl"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), pdf.as_slice());

    if local {
        signed_links(&app, &owner, t).await;
    }
    visibility(&app, &owner, t).await;
}

/// Expired, tampered and spliced links are refused.
async fn signed_links(app: &TestApp, owner: &TestUser, t: Uuid) {
    let res = upload(app, owner, t, "secret.txt", "text/plain", b"for the link holder", json!({})).await;
    let file = id(data(&res, "uploadFile.id"));
    let url = url_of(app, owner, t, file, 1).await;
    let fresh = app.client.get(&url).send().await.unwrap();
    assert_eq!(fresh.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = app.client.get(&url).send().await.unwrap();
    assert_eq!(expired.status(), 403);
    assert!(expired.text().await.unwrap().contains("expired"));

    let url = url_of(app, owner, t, file, 600).await;
    let (base, token) = url.rsplit_once('/').unwrap();
    let (payload, sig) = token.split_once('.').unwrap();
    let mut bad = payload.as_bytes().to_vec();
    bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{base}/{}.{sig}", String::from_utf8(bad).unwrap());
    assert_eq!(app.client.get(&tampered).send().await.unwrap().status(), 403);
    assert_eq!(app.client.get(format!("{base}/garbage")).send().await.unwrap().status(), 403);

    // Another tenant's link, with this tenant's payload swapped in: the signature does not fit.
    let other = app.user().await;
    let o = app.tenant(&other).await;
    let res = upload(app, &other, o, "theirs.txt", "text/plain", b"other tenant", json!({})).await;
    let theirs = url_of(app, &other, o, id(data(&res, "uploadFile.id")), 600).await;
    let their_sig = theirs.rsplit_once('.').unwrap().1;
    let spliced = format!("{base}/{payload}.{their_sig}");
    assert_eq!(app.client.get(&spliced).send().await.unwrap().status(), 403);
    assert_eq!(app.client.get(&theirs).send().await.unwrap().bytes().await.unwrap().as_ref(), b"other tenant");
}

/// Who sees which file: private, space, organization, public and granted, for each role.
async fn visibility(app: &TestApp, owner: &TestUser, t: Uuid) {
    let admin = app.user().await;
    let author = app.user().await;
    let insider = app.user().await;
    let outsider = app.user().await;
    let viewer = app.user().await;
    app.join(owner, t, &admin, "ADMIN").await;
    app.join(owner, t, &author, "MEMBER").await;
    app.join(owner, t, &insider, "MEMBER").await;
    app.join(owner, t, &outsider, "MEMBER").await;
    app.join(owner, t, &viewer, "VIEWER").await;
    let res = app
        .gql(
            &author,
            Some(t),
            "mutation { createSpace(input: { name: \"Team\", slug: \"team-v\" }) { id } }",
            json!({}),
        )
        .await;
    let space = id(data(&res, "createSpace.id"));
    let res = app
        .gql(
            owner,
            Some(t),
            "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u }) { id } }",
            json!({ "s": space, "u": insider.id }),
        )
        .await;
    data(&res, "addSpaceMember.id");
    let mut files = vec![];
    for vis in ["PRIVATE", "SPACE", "ORGANIZATION", "PUBLIC"] {
        let name = format!("{vis}.txt").to_lowercase();
        let res =
            upload(app, &author, t, &name, "text/plain", vis.as_bytes(), json!({ "vis": vis, "space": space })).await;
        files.push(id(data(&res, "uploadFile.id")));
    }
    let res =
        upload(app, &author, t, "granted.txt", "text/plain", b"granted", json!({ "vis": "PRIVATE", "space": space }))
            .await;
    let granted = id(data(&res, "uploadFile.id"));
    files.push(granted);
    let res = app
        .gql(
            &author,
            Some(t),
            "mutation($f: UUID!, $u: UUID!) { grantFile(input: { fileId: $f, granteeUserId: $u }) { id } }",
            json!({ "f": granted, "u": outsider.id }),
        )
        .await;
    data(&res, "grantFile.id");
    // Columns: private, space, organization, public, granted-to-outsider.
    let matrix: [(&TestUser, [bool; 5]); 6] = [
        (&author, [true, true, true, true, true]),
        (owner, [true, true, true, true, true]),
        (&admin, [true, true, true, true, true]),
        (&insider, [false, true, true, true, false]),
        (&outsider, [false, false, true, true, true]),
        (&viewer, [false, false, true, true, false]),
    ];
    for (user, expect) in matrix {
        for (file, visible) in files.iter().zip(expect) {
            let res = app
                .gql(
                    user,
                    Some(t),
                    "query($id: UUID!) { file(id: $id) { name versions { totalCount } } }",
                    json!({ "id": file }),
                )
                .await;
            if visible {
                assert_eq!(data(&res, "file.versions.totalCount"), 1, "{res}");
            } else {
                assert_eq!(code(&res), "NOT_FOUND", "{res}");
            }
        }
        let res = app
            .gql(
                user,
                Some(t),
                "query($s: UUID!) { files(filter: { spaceId: { eq: $s } }) { totalCount } }",
                json!({ "s": space }),
            )
            .await;
        assert_eq!(data(&res, "files.totalCount"), expect.iter().filter(|v| **v).count(), "{res}");
    }
    // Seeing is not changing: the insider sees the space file but may not rename or delete it.
    let res = app
        .gql(
            &insider,
            Some(t),
            "mutation($id: UUID!) { updateFile(id: $id, input: { name: \"mine.txt\" }) { name } }",
            json!({ "id": files[1] }),
        )
        .await;
    assert!(matches!(code(&res), "FORBIDDEN" | "NOT_FOUND"), "{res}");
    let res = app
        .gql(&insider, Some(t), "mutation($id: UUID!) { deleteFile(id: $id) { id } }", json!({ "id": files[1] }))
        .await;
    assert!(matches!(code(&res), "FORBIDDEN" | "NOT_FOUND"), "{res}");
    let res =
        app.gql(&author, Some(t), "query($id: UUID!) { file(id: $id) { name } }", json!({ "id": files[1] })).await;
    assert_eq!(data(&res, "file.name"), "space.txt");
    // A new version of someone else's private file is refused, and its bytes are not kept.
    let res = upload(
        app,
        &insider,
        t,
        "private.txt",
        "text/plain",
        b"overwrite",
        json!({ "vis": "PRIVATE", "space": space }),
    )
    .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
}

#[tokio::test]
async fn files_on_the_local_store_and_on_s3() {
    let local = std::env::temp_dir().join(format!("atlas-files-{}", Uuid::now_v7()));
    suite(local.to_str().unwrap(), true).await;
    let s3 = std::env::var("ATLAS_TEST_S3_URL").expect(
        "ATLAS_TEST_S3_URL is unset: run `make test`, which starts the S3-compatible test server (scripts/s3.sh)",
    );
    suite(&s3, false).await;
    let _ = std::fs::remove_dir_all(local);
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_with_a_clear_error() {
    let mut config = test_config();
    config.max_upload_bytes = 1000;
    let app = TestApp::start_with(config).await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    let res = upload(&app, &owner, t, "big.txt", "text/plain", &[b'a'; 5000], json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("ATLAS_MAX_UPLOAD_BYTES"), "{res}");
    let res = upload(&app, &owner, t, "small.txt", "text/plain", &[b'a'; 500], json!({})).await;
    assert_eq!(data(&res, "uploadFile.size"), 500);
}
