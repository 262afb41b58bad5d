//! Atlas v2 (seed 002), its main flow through GraphQL over HTTP: personal and organisation
//! spaces, space members, virtual folders and file metadata with versions and grants, notes, and
//! chats whose messages are made of parts.
mod common;

use common::{code, data, id, FilePart, TestApp};
use serde_json::json;

#[tokio::test]
async fn spaces_folders_files_notes_chats() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let t = Some(tenant);
    let mate = app.user().await;
    app.join(&owner, tenant, &mate, "MEMBER").await;
    let outsider = app.user().await;

    // Spaces: the organisation's (no owner) and a personal one; slugs unique per owner.
    let space = "mutation($i: CreateSpaceInput!) { createSpace(input: $i) { id personal owner { email } } }";
    let res = app.gql(&owner, t, space, json!({ "i": { "name": "Engineering", "slug": "eng" } })).await;
    let org = id(data(&res, "createSpace.id"));
    assert_eq!(data(&res, "createSpace.personal"), false);
    let res =
        app.gql(&owner, t, space, json!({ "i": { "name": "Mine", "slug": "eng", "ownerUserId": owner.id } })).await;
    assert_eq!(data(&res, "createSpace.personal"), true, "the same slug is fine for another owner: {res}");
    assert_eq!(data(&res, "createSpace.owner.email"), &json!(owner.email));
    let res = app.gql(&mate, t, space, json!({ "i": { "name": "Eng 2", "slug": "eng" } })).await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("CONFLICT", Some("slug")));
    let res =
        app.gql(&mate, t, space, json!({ "i": { "name": "Theirs", "slug": "theirs", "ownerUserId": owner.id } })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "no personal space in someone else's name");

    // Members of a space must be members of the tenant.
    let add = "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: EDITOR }) { id role user { email } } }";
    let res = app.gql(&owner, t, add, json!({ "s": org, "u": mate.id })).await;
    assert_eq!(data(&res, "addSpaceMember.user.email"), &json!(mate.email));
    let res = app.gql(&owner, t, add, json!({ "s": org, "u": outsider.id })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Folders: a tree; sibling names are unique; files with versions and a grant to the space.
    let folder = "mutation($i: CreateFolderInput!) { createFolder(input: $i) { id } }";
    let res = app.gql(&mate, t, folder, json!({ "i": { "spaceId": org, "name": "docs" } })).await;
    let docs = id(data(&res, "createFolder.id"));
    let res = app.gql(&mate, t, folder, json!({ "i": { "spaceId": org, "parentId": docs, "name": "specs" } })).await;
    let specs = id(data(&res, "createFolder.id"));
    let res = app.gql(&mate, t, folder, json!({ "i": { "spaceId": org, "name": "docs" } })).await;
    assert_eq!(code(&res), "CONFLICT");
    let res = app.gql(&mate, t, folder, json!({ "i": { "spaceId": org, "name": "a/b" } })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    // Files come only from uploads (with their bytes); the same name again is a new version.
    let upload = "mutation($file: Upload!, $s: UUID!, $f: UUID!) { uploadFile(file: $file, spaceId: $s, folderId: $f, visibility: SPACE) { id currentVersion owner { email } visibility } }";
    let mut file = None;
    for v in [1, 2] {
        let body = format!("# API v{v}\n").into_bytes();
        let res = app
            .upload(
                &mate,
                tenant,
                upload,
                json!({ "s": org, "f": specs }),
                FilePart::new("api.md", "text/markdown", body),
            )
            .await;
        assert_eq!(data(&res, "uploadFile.currentVersion"), v);
        assert_eq!(data(&res, "uploadFile.owner.email"), &json!(mate.email));
        file = Some(id(data(&res, "uploadFile.id")));
    }
    let file = file.unwrap();
    let res = app.gql(&mate, t, "mutation { createFile(input: { name: \"fake.bin\" }) { id } }", json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "createFile is gone: {res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("createFile"), "{res}");
    let res = app.gql(&mate, t, "mutation($f: UUID!, $s: UUID!) { grantFile(input: { fileId: $f, granteeSpaceId: $s, permission: WRITE }) { id } }", json!({ "f": file, "s": org })).await;
    data(&res, "grantFile.id");
    let res = app.gql(&mate, t, "mutation($f: UUID!, $s: UUID!, $u: UUID!) { grantFile(input: { fileId: $f, granteeSpaceId: $s, granteeUserId: $u }) { id } }", json!({ "f": file, "s": org, "u": owner.id })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "one grantee per grant");

    // Notes in the space.
    let res = app.gql(&mate, t, "mutation($s: UUID!) { createNote(input: { spaceId: $s, title: \"Standup\", content: \"- shipped\" }) { id author { email } } }", json!({ "s": org })).await;
    assert_eq!(data(&res, "createNote.author.email"), &json!(mate.email));

    // A chat with messages made of parts, numbered in order.
    let res = app
        .gql(
            &mate,
            t,
            "mutation($s: UUID!) { createChat(input: { spaceId: $s, model: \"gpt-4o\" }) { id title } }",
            json!({ "s": org }),
        )
        .await;
    let chat = id(data(&res, "createChat.id"));
    assert_eq!(data(&res, "createChat.title"), "New chat");
    let post = "mutation($c: UUID!, $r: MessageRole!, $p: JSON!) { postMessage(input: { chatId: $c, role: $r, parts: $p }) { seq role } }";
    let res = app
        .gql(
            &mate,
            t,
            post,
            json!({ "c": chat, "r": "USER", "p": [{ "type": "text", "content": "Summarise the spec" }] }),
        )
        .await;
    assert_eq!(data(&res, "postMessage.seq"), 1);
    let parts = json!([{ "type": "tool-call", "name": "read_file", "args": { "path": "api.md" } }, { "type": "text", "content": "Here it is" }]);
    let res = app.gql(&mate, t, post, json!({ "c": chat, "r": "ASSISTANT", "p": parts })).await;
    assert_eq!(data(&res, "postMessage.seq"), 2);
    let res = app.gql(&mate, t, post, json!({ "c": chat, "r": "USER", "p": [{ "type": "video" }] })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app.gql(&mate, t, post, json!({ "c": chat, "r": "USER", "p": [] })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app
        .gql(
            &mate,
            t,
            "mutation($c: UUID!) { startChatStream(input: { chatId: $c }) { id status } }",
            json!({ "c": chat }),
        )
        .await;
    let stream = id(data(&res, "startChatStream.id"));
    app.gql(&mate, t, "mutation($id: UUID!) { updateChatStream(id: $id, input: { status: FINISHED, finishedAt: \"2026-01-01T00:00:00Z\" }) { id } }", json!({ "id": stream })).await;

    let res = app
        .gql(&owner, t, "query($s: UUID!) { space(id: $s) { members { totalCount } notes { totalCount }
            folders(first: 10) { edges { node { name parent { name } folders(first: 5) { edges { node { name files(first: 5) { edges { node { name versions(first: 5) { totalCount } grants(first: 5) { edges { node { permission granteeSpace { slug } } } } } } } } } } } } }
            chats(first: 5) { edges { node { messages(first: 10) { edges { node { seq role parts } } } streams(first: 5) { edges { node { status } } } } } } } }", json!({ "s": org }))
        .await;
    // The owner, who made the space and so is its owner member, and the mate they added.
    assert_eq!(data(&res, "space.members.totalCount"), 2);
    assert_eq!(data(&res, "space.notes.totalCount"), 1);
    let folders = data(&res, "space.folders.edges").as_array().unwrap().clone();
    let root = folders.iter().find(|f| f["node"]["name"] == "docs").unwrap();
    let file_node = &root["node"]["folders"]["edges"][0]["node"]["files"]["edges"][0]["node"];
    assert_eq!(file_node["name"], "api.md");
    assert_eq!(file_node["versions"]["totalCount"], 2);
    assert_eq!(file_node["grants"]["edges"][0]["node"]["granteeSpace"]["slug"], "eng");
    let messages = &data(&res, "space.chats.edges")[0]["node"]["messages"]["edges"];
    assert_eq!(messages[1]["node"]["parts"][0]["type"], "tool-call");
    assert_eq!(data(&res, "space.chats.edges")[0]["node"]["streams"]["edges"][0]["node"]["status"], "FINISHED");

    // Deleting a folder takes its subfolders and files; deleting the space takes the rest.
    app.gql(&owner, t, "mutation($id: UUID!) { deleteFolder(id: $id) { id } }", json!({ "id": docs })).await;
    let res = app.gql(&owner, t, "{ files { totalCount } folders { totalCount } }", json!({})).await;
    assert_eq!((data(&res, "files.totalCount"), data(&res, "folders.totalCount")), (&json!(0), &json!(0)));
    let res = app.gql(&owner, t, "mutation($id: UUID!) { deleteSpace(id: $id) { id } }", json!({ "id": org })).await;
    data(&res, "deleteSpace.id");
    let res = app
        .gql(
            &owner,
            t,
            "query($s: UUID!) { notes { totalCount } chats { totalCount } spaceMembers(filter: { spaceId: { eq: $s } }) { totalCount } }",
            json!({ "s": org }),
        )
        .await;
    assert_eq!(data(&res, "notes.totalCount"), 0);
    assert_eq!(data(&res, "chats.totalCount"), 0);
    assert_eq!(data(&res, "spaceMembers.totalCount"), 0);
}
