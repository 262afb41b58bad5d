//! The privacy suite (issue 16), generated from the schema: for every type that lives in a space
//! (its create input names a `spaceId`, or it belongs to a row of such a type, as messages and
//! reply streams belong to a chat), rows made by member A in A's personal space, in a PRIVATE
//! organisation space and in a PUBLIC one are read, listed, reached through their space, changed
//! and deleted by another member, a viewer, a viewer and an editor of that space, and an admin.
//! Each sees and may do exactly what README's access table says; what they may not do leaves the
//! row as it was. Then the verbs around spaces: folder deletes, members leaving, accounts deleted,
//! drafts in the knowledge base, and a subscription.
mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::schema::{named, required_value, schema, Schema};
use common::ws::{connect, next, send, Protocol};
use common::{code, data, id, FilePart, TestApp, TestUser};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Personal,
    Private,
    Public,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Actor {
    Author,
    OtherMember,
    Viewer,
    SpaceViewer,
    SpaceEditor,
    Admin,
}

const ACTORS: [Actor; 6] =
    [Actor::Author, Actor::OtherMember, Actor::Viewer, Actor::SpaceViewer, Actor::SpaceEditor, Actor::Admin];

/// README's table: who reads what a space holds.
fn reads(kind: Kind, actor: Actor) -> bool {
    match actor {
        Actor::Author | Actor::SpaceViewer | Actor::SpaceEditor => true,
        Actor::Admin => kind != Kind::Personal,
        Actor::OtherMember | Actor::Viewer => kind == Kind::Public,
    }
}

/// Who changes a row: its author, the space's editors and owners (tenant admins own organisation
/// spaces); nobody changes another user's message. A tenant VIEWER writes nothing.
fn writes(kind: Kind, actor: Actor, entity: &str) -> bool {
    match actor {
        Actor::Author => true,
        Actor::SpaceEditor => entity != "Message",
        Actor::Admin => kind != Kind::Personal && entity != "Message",
        _ => false,
    }
}

/// The code of a refused write: NOT_FOUND when the row is invisible to the caller, FORBIDDEN when
/// they see it (or when their tenant role writes nothing at all).
fn refusal(kind: Kind, actor: Actor) -> &'static str {
    if actor == Actor::Viewer || reads(kind, actor) {
        "FORBIDDEN"
    } else {
        "NOT_FOUND"
    }
}

/// A refusal by tenant role (`deleteExecution` needs a manager), which comes before any row is
/// looked at, so it tells nothing about the row.
fn by_tenant_role(res: &Value) -> bool {
    res["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        && res["errors"][0]["message"].as_str().is_some_and(|m| m.contains("role or above is needed"))
}

fn assert_refused(res: &Value, kind: Kind, actor: Actor, what: &str) {
    assert!(by_tenant_role(res) || code(res) == refusal(kind, actor), "{what}: {res}");
}

struct World {
    app: TestApp,
    t: Uuid,
    owner: TestUser,
    users: HashMap<&'static str, TestUser>,
}

impl World {
    async fn new() -> World {
        let app = TestApp::start().await;
        let owner = app.user().await;
        let t = app.tenant(&owner).await;
        let mut users = HashMap::new();
        for (name, role) in [
            ("author", "MEMBER"),
            ("other", "MEMBER"),
            ("viewer", "VIEWER"),
            ("insider", "MEMBER"),
            ("editor", "MEMBER"),
            ("admin", "ADMIN"),
        ] {
            let u = app.user().await;
            app.join(&owner, t, &u, role).await;
            users.insert(name, u);
        }
        World { app, t, owner, users }
    }

    fn user(&self, actor: Actor) -> &TestUser {
        &self.users[match actor {
            Actor::Author => "author",
            Actor::OtherMember => "other",
            Actor::Viewer => "viewer",
            Actor::SpaceViewer => "insider",
            Actor::SpaceEditor => "editor",
            Actor::Admin => "admin",
        }]
    }

    async fn gql(&self, user: &TestUser, q: &str, v: Value) -> Value {
        self.app.gql(user, Some(self.t), q, v).await
    }

    /// A space of `kind` made by `by`, with the space viewer and editor added by its creator.
    async fn space(&self, kind: Kind, by: &TestUser) -> Uuid {
        let slug = format!("s-{}", Uuid::now_v7().simple());
        let input = match kind {
            Kind::Personal => json!({ "name": "Mine", "slug": slug, "ownerUserId": by.id }),
            Kind::Private => json!({ "name": "Team", "slug": slug }),
            Kind::Public => json!({ "name": "Everyone", "slug": slug, "visibility": "PUBLIC" }),
        };
        let res = self
            .gql(by, "mutation($i: CreateSpaceInput!) { createSpace(input: $i) { id } }", json!({ "i": input }))
            .await;
        let space = id(data(&res, "createSpace.id"));
        for (who, role) in [("insider", "VIEWER"), ("editor", "EDITOR")] {
            let res = self
                .gql(
                    by,
                    "mutation($s: UUID!, $u: UUID!, $r: SpaceRole!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: $r }) { id } }",
                    json!({ "s": space, "u": self.users[who].id, "r": role }),
                )
                .await;
            data(&res, "addSpaceMember.id");
        }
        space
    }

    async fn upload(&self, by: &TestUser, space: Uuid, folder: Option<Uuid>, vis: &str, body: &'static str) -> Uuid {
        let q = "mutation($file: Upload!, $s: UUID, $f: UUID, $v: FileVisibility!) { uploadFile(file: $file, spaceId: $s, folderId: $f, visibility: $v) { id } }";
        let name = format!("f-{}.txt", Uuid::now_v7().simple());
        let res = self
            .app
            .upload(
                by,
                self.t,
                q,
                json!({ "s": space, "f": folder, "v": vis }),
                FilePart::new(&name, "text/plain", body),
            )
            .await;
        id(data(&res, "uploadFile.id"))
    }
}

/// The types that live in a space, in the order they can be made (a chat before its messages).
fn space_types(s: &Schema) -> Vec<String> {
    let mut found: Vec<String> = vec![];
    loop {
        let before = found.len();
        for (name, ops) in &s.entities {
            let Some((_, input)) = &ops.create else { continue };
            if found.contains(name) || name == "SpaceMember" {
                continue;
            }
            let fields = &s.inputs[input];
            let in_space = fields.iter().any(|f| f["name"] == "spaceId");
            let under = fields.iter().any(|f| {
                let field = f["name"].as_str().unwrap_or_default();
                f["type"]["kind"] == "NON_NULL"
                    && named(&f["type"]) == Some("UUID")
                    && found.iter().any(|t| field == format!("{}Id", lower_first(t)))
            });
            if in_space || under {
                found.push(name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// One row of `entity` in `space`, made by `by`; references to other space types point at the
/// rows already made there.
async fn make(w: &World, s: &Schema, by: &TestUser, entity: &str, space: Uuid, made: &HashMap<String, Uuid>) -> Uuid {
    let (mutation, input_type) = s.entities[entity].create.clone().unwrap();
    let mut input = serde_json::Map::new();
    for f in &s.inputs[&input_type] {
        let name = f["name"].as_str().unwrap();
        let required = f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null();
        let value = if name == "spaceId" {
            json!(space)
        } else if let Some(target) = made.keys().find(|t| name == format!("{}Id", lower_first(t))) {
            json!(made[target])
        } else if required {
            required_value(s, &input_type, name)
        } else {
            continue;
        };
        input.insert(name.to_string(), value);
    }
    let q = format!("mutation($i: {input_type}!) {{ r: {mutation}(input: $i) {{ id }} }}");
    let res = w.gql(by, &q, json!({ "i": input })).await;
    id(res["data"]["r"]["id"].as_str().map(Value::from).as_ref().unwrap_or_else(|| panic!("{entity}: {res}")))
}

/// A field of the update input to change, with a value a permitted writer sets and one a refused
/// writer tries: text, else JSON parts, else a time.
fn change(s: &Schema, entity: &str) -> (String, Value, Value) {
    let update = s.entities[entity].update.as_ref().unwrap();
    let input = s
        .inputs
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&format!("{update}Input")))
        .unwrap_or_else(|| panic!("{entity}: no input for {update}"));
    let fields = &s.inputs[input];
    let pick = |ty: &str| {
        fields.iter().find(|f| named(&f["type"]) == Some(ty)).map(|f| f["name"].as_str().unwrap().to_string())
    };
    if let Some(f) = pick("String") {
        return (f, json!("changed"), json!("hacked"));
    }
    if let Some(f) = pick("JSON") {
        return (
            f,
            json!([{ "type": "text", "content": "changed" }]),
            json!([{ "type": "text", "content": "hacked" }]),
        );
    }
    let f = pick("DateTime").unwrap_or_else(|| panic!("{entity}: nothing to change in {input}"));
    (f, json!("2030-01-01T00:00:00+00:00"), json!("2001-01-01T00:00:00+00:00"))
}

/// The Space field that lists rows of `entity`, if any.
fn space_relation(s: &Schema, entity: &str) -> Option<String> {
    s.objects["Space"]
        .iter()
        .find(|f| named(&f["type"]) == Some(&format!("{entity}Connection")))
        .map(|f| f["name"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn what_a_space_holds_is_seen_and_changed_by_whom_the_access_table_says() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let s = schema(&w.app, &w.owner).await;
    let types = space_types(&s);
    for expected in ["Note", "Folder", "Chat", "Message", "ChatStream", "Task"] {
        assert!(types.iter().any(|t| t == expected), "{expected} is not found to live in a space: {types:?}");
    }
    for kind in [Kind::Personal, Kind::Private, Kind::Public] {
        let space = w.space(kind, &author).await;
        let mut made: HashMap<String, Uuid> = HashMap::new();
        for entity in &types {
            let row = make(&w, &s, &author, entity, space, &made).await;
            made.insert(entity.clone(), row);
        }
        // Files keep their own levels (files.rs); a SPACE file is seen as the space's content is.
        let file = w.upload(&author, space, None, "SPACE", "in a space").await;

        for actor in ACTORS {
            let user = w.user(actor);
            let visible = reads(kind, actor);
            let what = format!("{kind:?} space, {actor:?}");
            let res = w.gql(user, "query($id: UUID!) { space(id: $id) { id } }", json!({ "id": space })).await;
            // Admins see every space, to manage it, but not a personal one's content.
            if visible || actor == Actor::Admin {
                assert_eq!(data(&res, "space.id"), &json!(space), "{what}: the space: {res}");
            } else {
                assert_eq!(code(&res), "NOT_FOUND", "{what}: the space: {res}");
            }
            for (entity, row) in made.iter().map(|(e, r)| (e.clone(), *r)).chain([("File".to_string(), file)]) {
                let ops = &s.entities[&entity];
                let get = ops.get.as_ref().unwrap();
                let res = w
                    .gql(user, &format!("query($id: UUID!) {{ {get}(id: $id) {{ id }} }}"), json!({ "id": row }))
                    .await;
                if visible {
                    assert_eq!(data(&res, &format!("{get}.id")), &json!(row), "{what}: {entity} by id: {res}");
                } else {
                    assert_eq!(code(&res), "NOT_FOUND", "{what}: {entity} by id leaked: {res}");
                }
                let list = ops.list.as_ref().unwrap();
                let res = w
                    .gql(
                        user,
                        &format!("{{ {list}(first: 100) {{ totalCount edges {{ node {{ id }} }} }} }}"),
                        json!({}),
                    )
                    .await;
                let listed = data(&res, &format!("{list}.edges"))
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["node"]["id"] == json!(row));
                assert_eq!(listed, visible, "{what}: {entity} in {list}: {res}");
                if let Some(rel) = space_relation(&s, &entity) {
                    if visible || actor == Actor::Admin {
                        let q = format!("query($id: UUID!) {{ space(id: $id) {{ {rel}(first: 100) {{ totalCount edges {{ node {{ id }} }} }} }} }}");
                        let res = w.gql(user, &q, json!({ "id": space })).await;
                        let edges = data(&res, &format!("space.{rel}.edges")).as_array().unwrap();
                        assert_eq!(
                            edges.iter().any(|e| e["node"]["id"] == json!(row)),
                            visible,
                            "{what}: space.{rel}: {res}"
                        );
                        assert_eq!(
                            data(&res, &format!("space.{rel}.totalCount")),
                            edges.len(),
                            "{what}: space.{rel}: {res}"
                        );
                    }
                }
            }
        }

        // Changes: refused ones first, each leaving the row as it was.
        for entity in &types {
            let (field, good, bad) = change(&s, entity);
            let update = s.entities[entity].update.clone().unwrap();
            let get = s.entities[entity].get.clone().unwrap();
            let row = made[entity];
            for actor in ACTORS {
                let what = format!("{kind:?} space, {actor:?}, {entity}.{field}");
                let allowed = writes(kind, actor, entity);
                let value = if allowed { &good } else { &bad };
                let q = format!(
                    "mutation($id: UUID!, $v: {}) {{ {update}(id: $id, input: {{ {field}: $v }}) {{ id }} }}",
                    input_type_of(&s, entity, &field)
                );
                let res = w.gql(w.user(actor), &q, json!({ "id": row, "v": value })).await;
                if allowed {
                    assert_eq!(data(&res, &format!("{update}.id")), &json!(row), "{what}: {res}");
                } else {
                    assert_refused(&res, kind, actor, &what);
                }
            }
            let res = w
                .gql(&author, &format!("query($id: UUID!) {{ {get}(id: $id) {{ {field} }} }}"), json!({ "id": row }))
                .await;
            let now = &data(&res, &get)[&field];
            assert_ne!(now.to_string(), bad.to_string(), "{kind:?} space: a refused writer changed {entity}.{field}");
        }

        // Deletes: refused ones leave the row; then the space's editor deletes it. Rows that
        // belong to another go first (a chat's delete takes its messages).
        for entity in types.iter().rev() {
            let delete = s.entities[entity].delete.clone().unwrap();
            let get = s.entities[entity].get.clone().unwrap();
            let row = made[entity];
            for actor in [Actor::OtherMember, Actor::Viewer, Actor::SpaceViewer] {
                let res = w
                    .gql(
                        w.user(actor),
                        &format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}"),
                        json!({ "id": row }),
                    )
                    .await;
                assert_refused(&res, kind, actor, &format!("{kind:?} space, {actor:?} deleting {entity}"));
            }
            if kind == Kind::Personal {
                let res = w
                    .gql(
                        w.user(Actor::Admin),
                        &format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}"),
                        json!({ "id": row }),
                    )
                    .await;
                assert!(
                    code(&res) == "NOT_FOUND" || by_tenant_role(&res),
                    "an admin deleted {entity} in a personal space: {res}"
                );
            }
            let res =
                w.gql(&author, &format!("query($id: UUID!) {{ {get}(id: $id) {{ id }} }}"), json!({ "id": row })).await;
            assert_eq!(
                data(&res, &format!("{get}.id")),
                &json!(row),
                "{kind:?} space: {entity} was deleted by a refused caller"
            );
            let res = w
                .gql(
                    w.user(Actor::SpaceEditor),
                    &format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}"),
                    json!({ "id": row }),
                )
                .await;
            // A row only a manager deletes goes with its parent (the task) instead.
            if !by_tenant_role(&res) {
                assert_eq!(
                    data(&res, &format!("{delete}.id")),
                    &json!(row),
                    "{kind:?} space: the editor deleting {entity}: {res}"
                );
            }
        }
    }
}

/// The GraphQL type of an update input's field, as a variable declares it.
fn input_type_of(s: &Schema, entity: &str, field: &str) -> String {
    let update = s.entities[entity].update.as_ref().unwrap();
    let input = s.inputs.keys().find(|k| k.eq_ignore_ascii_case(&format!("{update}Input"))).unwrap();
    let f = s.inputs[input].iter().find(|f| f["name"] == field).unwrap();
    named(&f["type"]).unwrap().to_string()
}

#[tokio::test]
async fn spaces_and_their_members_follow_the_same_table() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let personal = w.space(Kind::Personal, &author).await;
    let private = w.space(Kind::Private, &author).await;
    // The creator is the owner member; the space's viewer cannot add members, nor can an admin
    // to someone's personal space (which would let them read it).
    let res = w
        .gql(
            &author,
            "query($s: UUID!) { spaceMembers(filter: { spaceId: { eq: $s } }) { edges { node { userId role } } } }",
            json!({ "s": private }),
        )
        .await;
    let members = data(&res, "spaceMembers.edges").as_array().unwrap().clone();
    assert!(members.iter().any(|m| m["node"]["userId"] == json!(author.id) && m["node"]["role"] == "OWNER"), "{res}");
    let add =
        "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: EDITOR }) { id } }";
    for (who, space, expect) in [
        (Actor::SpaceViewer, personal, "FORBIDDEN"),
        (Actor::Admin, personal, "FORBIDDEN"),
        (Actor::OtherMember, private, "FORBIDDEN"),
    ] {
        let user = w.user(who);
        let res = w.gql(user, add, json!({ "s": space, "u": user.id })).await;
        assert_eq!(code(&res), expect, "{who:?} joined a space by themselves: {res}");
    }
    // An admin adds members to an organisation space, renames and deletes a personal one.
    let res = w.gql(w.user(Actor::Admin), add, json!({ "s": private, "u": w.user(Actor::OtherMember).id })).await;
    data(&res, "addSpaceMember.id");
    let res = w
        .gql(
            w.user(Actor::Admin),
            "mutation($s: UUID!) { updateSpace(id: $s, input: { name: \"Renamed\" }) { name notes { totalCount } } }",
            json!({ "s": personal }),
        )
        .await;
    assert_eq!(data(&res, "updateSpace.name"), "Renamed", "{res}");
    // A member may leave a space on their own.
    let res = w
        .gql(
            w.user(Actor::SpaceViewer),
            "query($s: UUID!) { spaceMembers(filter: { spaceId: { eq: $s } }) { edges { node { id userId } } } }",
            json!({ "s": personal }),
        )
        .await;
    let mine = data(&res, "spaceMembers.edges")
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["node"]["userId"] == json!(w.user(Actor::SpaceViewer).id))
        .cloned()
        .unwrap();
    let res = w
        .gql(
            w.user(Actor::SpaceViewer),
            "mutation($id: UUID!) { removeSpaceMember(id: $id) { id } }",
            json!({ "id": mine["node"]["id"] }),
        )
        .await;
    data(&res, "removeSpaceMember.id");
    let res =
        w.gql(w.user(Actor::SpaceViewer), "query($s: UUID!) { space(id: $s) { id } }", json!({ "s": personal })).await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    // An editor may not promote themselves.
    let editor = w.user(Actor::SpaceEditor);
    let res = w
        .gql(
            editor,
            "query($s: UUID!) { spaceMembers(filter: { spaceId: { eq: $s } }) { edges { node { id userId } } } }",
            json!({ "s": private }),
        )
        .await;
    let theirs = data(&res, "spaceMembers.edges")
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["node"]["userId"] == json!(editor.id))
        .cloned()
        .unwrap();
    let res = w
        .gql(
            editor,
            "mutation($id: UUID!) { updateSpaceMember(id: $id, input: { role: OWNER }) { role } }",
            json!({ "id": theirs["node"]["id"] }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    // A tenant VIEWER writes nothing, even as a space's owner: they may leave it, but not remove
    // its other members.
    let viewer = w.user(Actor::Viewer);
    let res = w
        .gql(
            w.user(Actor::Admin),
            "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: OWNER }) { id } }",
            json!({ "s": private, "u": viewer.id }),
        )
        .await;
    let viewers = id(data(&res, "addSpaceMember.id"));
    let res = w
        .gql(
            viewer,
            "mutation($id: UUID!) { removeSpaceMember(id: $id) { id } }",
            json!({ "id": theirs["node"]["id"] }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "a tenant viewer removed a space member: {res}");
    let res = w.gql(editor, "query($s: UUID!) { space(id: $s) { id } }", json!({ "s": private })).await;
    assert_eq!(data(&res, "space.id"), &json!(private), "the editor lost the space: {res}");
    let res =
        w.gql(viewer, "mutation($id: UUID!) { removeSpaceMember(id: $id) { id } }", json!({ "id": viewers })).await;
    assert_eq!(data(&res, "removeSpaceMember.id"), &json!(viewers), "a viewer leaves: {res}");
    let res = w
        .gql(w.user(Actor::Admin), "mutation($s: UUID!) { deleteSpace(id: $s) { id } }", json!({ "s": personal }))
        .await;
    assert_eq!(data(&res, "deleteSpace.id"), &json!(personal), "{res}");
}

#[tokio::test]
async fn a_folder_holding_files_the_caller_may_not_delete_is_refused_and_they_stay_whole() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let editor = w.user(Actor::SpaceEditor).clone();
    let space = w.space(Kind::Public, &author).await;
    let res = w
        .gql(
            &author,
            "mutation($s: UUID!) { createFolder(input: { spaceId: $s, name: \"Shared\" }) { id } }",
            json!({ "s": space }),
        )
        .await;
    let folder = id(data(&res, "createFolder.id"));
    let res = w.gql(&author, "mutation($s: UUID!, $p: UUID!) { createFolder(input: { spaceId: $s, parentId: $p, name: \"Deeper\" }) { id } }", json!({ "s": space, "p": folder })).await;
    let deeper = id(data(&res, "createFolder.id"));
    let theirs = w.upload(&editor, space, Some(deeper), "PRIVATE", "the editor's own").await;
    let mine = w.upload(&author, space, Some(folder), "PRIVATE", "the author's own").await;

    let res = w.gql(&author, "mutation($id: UUID!) { deleteFolder(id: $id) { id } }", json!({ "id": folder })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let message = res["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1 file"), "the refusal says how many files: {message}");
    // The editor's file, its bytes, and the author's file are all still there.
    let res = w
        .gql(&editor, "query($id: UUID!) { file(id: $id) { downloadUrl(expiresIn: 60) } }", json!({ "id": theirs }))
        .await;
    let url = data(&res, "file.downloadUrl").as_str().unwrap().to_string();
    let body = w.app.client.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.as_ref(), b"the editor's own");
    let res = w.gql(&author, "query($id: UUID!) { file(id: $id) { id } }", json!({ "id": mine })).await;
    assert_eq!(data(&res, "file.id"), &json!(mine));

    // Once the editor moves their file out, the folder goes, with the author's own file in it.
    let res = w
        .gql(
            &editor,
            "mutation($id: UUID!) { updateFile(id: $id, input: { folderId: null }) { id } }",
            json!({ "id": theirs }),
        )
        .await;
    data(&res, "updateFile.id");
    let res = w.gql(&author, "mutation($id: UUID!) { deleteFolder(id: $id) { id } }", json!({ "id": folder })).await;
    assert_eq!(data(&res, "deleteFolder.id"), &json!(folder), "{res}");
    let res = w.gql(&author, "query($id: UUID!) { file(id: $id) { id } }", json!({ "id": mine })).await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    let res = w.gql(&editor, "query($id: UUID!) { file(id: $id) { id } }", json!({ "id": theirs })).await;
    assert_eq!(data(&res, "file.id"), &json!(theirs));
}

/// A personal space with a note and a private file, for `user`.
async fn belongings(w: &World, user: &TestUser) -> (Uuid, Uuid, Uuid) {
    let space = w.space(Kind::Personal, user).await;
    let res = w
        .gql(
            user,
            "mutation($s: UUID!) { createNote(input: { spaceId: $s, title: \"Mine\" }) { id } }",
            json!({ "s": space }),
        )
        .await;
    let note = id(data(&res, "createNote.id"));
    let file = w.upload(user, space, None, "PRIVATE", "personal").await;
    (space, note, file)
}

async fn member_id(w: &World, user: &TestUser) -> Uuid {
    let res = w
        .gql(
            &w.owner,
            "query($u: UUID!) { members(filter: { userId: { eq: $u } }) { edges { node { id } } } }",
            json!({ "u": user.id }),
        )
        .await;
    id(&data(&res, "members.edges")[0]["node"]["id"])
}

#[tokio::test]
async fn a_member_who_leaves_hands_over_their_spaces_or_they_go() {
    let w = World::new().await;
    let admin = w.user(Actor::Admin).clone();
    let heir = w.user(Actor::OtherMember).clone();
    for transfer in [true, false] {
        let leaver = w.app.user().await;
        w.app.join(&w.owner, w.t, &leaver, "MEMBER").await;
        let (space, note, file) = belongings(&w, &leaver).await;
        // A membership of an organisation space, and a grant on someone else's file.
        let team = w.space(Kind::Private, &w.owner).await;
        let res = w
            .gql(
                &w.owner,
                "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u }) { id } }",
                json!({ "s": team, "u": leaver.id }),
            )
            .await;
        data(&res, "addSpaceMember.id");
        let granted = w.upload(&heir, team, None, "PRIVATE", "granted").await;
        let res = w
            .gql(
                &heir,
                "mutation($f: UUID!, $u: UUID!) { grantFile(input: { fileId: $f, granteeUserId: $u }) { id } }",
                json!({ "f": granted, "u": leaver.id }),
            )
            .await;
        data(&res, "grantFile.id");

        let membership = member_id(&w, &leaver).await;
        let vars =
            if transfer { json!({ "id": membership, "to": heir.id }) } else { json!({ "id": membership, "to": null }) };
        let res = w
            .gql(&admin, "mutation($id: UUID!, $to: UUID) { removeMember(id: $id, transferTo: $to) { id } }", vars)
            .await;
        assert_eq!(data(&res, "removeMember.id"), &json!(membership), "{res}");

        let res = w.gql(&admin, "query($u: UUID!) { spaceMembers(filter: { userId: { eq: $u } }) { totalCount } fileGrants(filter: { granteeUserId: { eq: $u } }) { totalCount } }", json!({ "u": leaver.id })).await;
        assert_eq!(data(&res, "spaceMembers.totalCount"), 0, "memberships outlived the member: {res}");
        assert_eq!(data(&res, "fileGrants.totalCount"), 0, "grants outlived the member: {res}");
        let res = w.gql(&heir, "query($s: UUID!, $n: UUID!, $f: UUID!) { space(id: $s) { ownerUserId } note(id: $n) { id } file(id: $f) { ownerId } }", json!({ "s": space, "n": note, "f": file })).await;
        if transfer {
            assert_eq!(data(&res, "space.ownerUserId"), &json!(heir.id), "{res}");
            assert_eq!(data(&res, "note.id"), &json!(note), "{res}");
            assert_eq!(data(&res, "file.ownerId"), &json!(heir.id), "{res}");
        } else {
            assert_eq!(code(&res), "NOT_FOUND", "{res}");
            let res = w.gql(&admin, "query($s: UUID!) { space(id: $s) { id } }", json!({ "s": space })).await;
            assert_eq!(code(&res), "NOT_FOUND", "the personal space outlived its owner: {res}");
            let db = w.app.owner_db().await;
            let left = common::count(
                &db,
                "SELECT count(*) FROM files WHERE tenant_id = $1 AND id = $2",
                vec![w.t.into(), file.into()],
            )
            .await;
            assert_eq!(left, 0, "the file outlived its space");
            let gc = common::count(
                &db,
                "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND job_type = 'STORAGE_GC'",
                vec![w.t.into()],
            )
            .await;
            assert!(gc > 0, "the file's object was not queued for removal");
        }
    }
    // Transfer goes to a member only.
    let leaver = w.app.user().await;
    w.app.join(&w.owner, w.t, &leaver, "MEMBER").await;
    belongings(&w, &leaver).await;
    let stranger = w.app.user().await;
    let res = w
        .gql(
            &admin,
            "mutation($id: UUID!, $to: UUID) { removeMember(id: $id, transferTo: $to) { id } }",
            json!({ "id": member_id(&w, &leaver).await, "to": stranger.id }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
}

#[tokio::test]
async fn a_deleted_account_leaves_valid_references_and_its_token_stops_working() {
    let w = World::new().await;
    let gone = w.app.user().await;
    w.app.join(&w.owner, w.t, &gone, "MEMBER").await;
    let (space, _, file) = belongings(&w, &gone).await;
    let public = w.space(Kind::Public, &w.owner).await;
    let res = w.gql(&w.owner, "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: EDITOR }) { id } }", json!({ "s": public, "u": gone.id })).await;
    data(&res, "addSpaceMember.id");
    let res = w
        .gql(
            &gone,
            "mutation($s: UUID!) { createNote(input: { spaceId: $s, title: \"For everyone\" }) { id } }",
            json!({ "s": public }),
        )
        .await;
    let shared = id(data(&res, "createNote.id"));

    // The last owner of a tenant with members cannot leave it ownerless.
    let res = w.gql(&w.owner, "mutation { deleteMyAccount }", json!({})).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");

    let res = w.gql(&gone, "mutation { deleteMyAccount }", json!({})).await;
    assert_eq!(data(&res, "deleteMyAccount"), &json!(gone.id), "{res}");
    for tenant in [None, Some(w.t)] {
        let res = w.app.gql(&gone, tenant, "{ me { id } }", json!({})).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "a deleted account's token still works: {res}");
    }
    let res = w
        .gql(
            &w.owner,
            "query($n: UUID!, $s: UUID!) { note(id: $n) { author { name email } } space(id: $s) { id } }",
            json!({ "n": shared, "s": space }),
        )
        .await;
    assert_eq!(res["data"]["note"]["author"]["name"], "Deleted user", "{res}");
    assert_ne!(res["data"]["note"]["author"]["email"], json!(gone.email), "{res}");
    assert_eq!(code(&res), "NOT_FOUND", "the personal space outlived the account: {res}");
    let db = w.app.owner_db().await;
    let audit = common::count(
        &db,
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND actor_user_id = $2",
        vec![w.t.into(), gone.id.into()],
    )
    .await;
    assert!(audit > 0, "the audit log lost the deleted user's rows");
    let left = common::count(
        &db,
        "SELECT count(*) FROM files WHERE tenant_id = $1 AND id = $2",
        vec![w.t.into(), file.into()],
    )
    .await;
    assert_eq!(left, 0, "the personal file outlived the account");

    // An owner deletes a member's account and hands what they wrote to another member; an admin
    // may not, and nobody may delete an account that belongs to another tenant too.
    let heir = w.user(Actor::Author).clone();
    let leaver = w.app.user().await;
    w.app.join(&w.owner, w.t, &leaver, "MEMBER").await;
    let res = w.gql(&w.owner, "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: EDITOR }) { id } }", json!({ "s": public, "u": leaver.id })).await;
    data(&res, "addSpaceMember.id");
    let res = w
        .gql(
            &leaver,
            "mutation($s: UUID!) { createNote(input: { spaceId: $s, title: \"Handed on\" }) { id } }",
            json!({ "s": public }),
        )
        .await;
    let note = id(data(&res, "createNote.id"));
    let res =
        w.gql(w.user(Actor::Admin), "mutation($u: UUID!) { deleteUser(id: $u) }", json!({ "u": leaver.id })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let elsewhere = w.app.user().await;
    w.app.join(&w.owner, w.t, &elsewhere, "MEMBER").await;
    w.app.tenant(&elsewhere).await;
    let res = w.gql(&w.owner, "mutation($u: UUID!) { deleteUser(id: $u) }", json!({ "u": elsewhere.id })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = w
        .gql(
            &w.owner,
            "mutation($u: UUID!, $to: UUID!) { deleteUser(id: $u, transferTo: $to) }",
            json!({ "u": leaver.id, "to": heir.id }),
        )
        .await;
    assert_eq!(data(&res, "deleteUser"), &json!(leaver.id), "{res}");
    let res = w.gql(&w.owner, "query($n: UUID!) { note(id: $n) { createdBy } }", json!({ "n": note })).await;
    assert_eq!(data(&res, "note.createdBy"), &json!(heir.id), "{res}");
    let res = w.app.gql(&leaver, None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "{res}");
}

#[tokio::test]
async fn drafts_are_their_authors_and_editors_and_archived_documents_come_on_request() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let manager = w.app.user().await;
    w.app.join(&w.owner, w.t, &manager, "MANAGER").await;
    let word = format!("zebra{}", Uuid::now_v7().simple());
    let mut docs = HashMap::new();
    for status in ["DRAFT", "PUBLISHED", "ARCHIVED"] {
        let res = w
            .gql(
                &author,
                "mutation($i: CreateKbDocumentInput!) { createKbDocument(input: $i) { id } }",
                json!({ "i": { "title": status, "slug": format!("d-{}", Uuid::now_v7().simple()), "body": format!("{word} {status}"), "status": status } }),
            )
            .await;
        docs.insert(status, id(data(&res, "createKbDocument.id")));
    }
    let search = "query($t: String!, $f: SearchFilter) { hybridSearch(text: $t, target: KB_CHUNKS, k: 10, filter: $f) { node { ... on KbChunk { document { title } } } } }";
    for (user, sees_draft) in
        [(&author, true), (&manager, true), (w.user(Actor::OtherMember), false), (w.user(Actor::Viewer), false)]
    {
        let res = w.gql(user, "{ kbDocuments(first: 100) { edges { node { title } } } }", json!({})).await;
        let titles: Vec<&str> = data(&res, "kbDocuments.edges")
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap())
            .collect();
        let expect: Vec<&str> = if sees_draft { vec!["DRAFT", "PUBLISHED"] } else { vec!["PUBLISHED"] };
        let mut sorted = titles.clone();
        sorted.sort();
        assert_eq!(sorted, expect, "{res}");
        let res = w.gql(user, search, json!({ "t": word })).await;
        let mut found: Vec<&str> = data(&res, "hybridSearch")
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["node"]["document"]["title"].as_str().unwrap())
            .collect();
        found.sort();
        assert_eq!(found, expect, "search: {res}");
        let res = w.gql(user, "query($id: UUID!) { kbDocument(id: $id) { id } }", json!({ "id": docs["DRAFT"] })).await;
        if sees_draft {
            assert_eq!(data(&res, "kbDocument.id"), &json!(docs["DRAFT"]));
        } else {
            assert_eq!(code(&res), "NOT_FOUND", "{res}");
        }
        // Archived documents, on request.
        let res = w
            .gql(user, "{ kbDocuments(filter: { status: { eq: ARCHIVED } }) { edges { node { title } } } }", json!({}))
            .await;
        assert_eq!(data(&res, "kbDocuments.edges")[0]["node"]["title"], "ARCHIVED", "{res}");
        let res = w.gql(user, search, json!({ "t": word, "f": { "documentStatus": ["ARCHIVED"] } })).await;
        assert_eq!(data(&res, "hybridSearch")[0]["node"]["document"]["title"], "ARCHIVED", "{res}");
    }
}

/// A subscription by `actor`, over `protocol`, after the server acknowledged the connection.
async fn subscribe(w: &World, actor: Actor, protocol: Protocol, q: &str, vars: Value) -> common::ws::Ws {
    let mut ws = connect(&w.app, protocol).await;
    let user = w.user(actor);
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", user.token), "X-Tenant-Id": w.t } })).await;
    assert_eq!(next(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let start = if protocol == Protocol::TransportWs { "subscribe" } else { "start" };
    send(&mut ws, json!({ "id": "1", "type": start, "payload": { "query": q, "variables": vars } })).await;
    ws
}

/// The errors of a subscription message, for either protocol.
fn errors(msg: &Value) -> &Value {
    if msg["type"] == "error" {
        &msg["payload"]
    } else {
        &msg["payload"]["errors"]
    }
}

#[tokio::test]
async fn a_subscription_to_a_chat_in_a_space_follows_the_space() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let space = w.space(Kind::Personal, &author).await;
    let res = w
        .gql(&author, "mutation($s: UUID!) { createChat(input: { spaceId: $s }) { id } }", json!({ "s": space }))
        .await;
    let chat = id(data(&res, "createChat.id"));
    let q = "subscription($c: UUID!) { chatMessages(chatId: $c) { seq parts } }";
    let mut sockets = vec![];
    for (actor, protocol) in [
        (Actor::SpaceViewer, Protocol::TransportWs),
        (Actor::OtherMember, Protocol::TransportWs),
        (Actor::Admin, Protocol::LegacyGraphqlWs),
    ] {
        sockets.push((actor, subscribe(&w, actor, protocol, q, json!({ "c": chat })).await));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = w.gql(&author, "mutation($c: UUID!) { postMessage(input: { chatId: $c, role: USER, parts: [{ type: \"text\", content: \"private\" }] }) { seq } }", json!({ "c": chat })).await;
    data(&res, "postMessage.seq");
    for (actor, ws) in sockets.iter_mut() {
        let msg = next(ws, Duration::from_secs(10)).await.expect("an answer");
        if *actor == Actor::SpaceViewer {
            assert_eq!(msg["payload"]["data"]["chatMessages"]["parts"][0]["content"], "private", "{msg}");
        } else {
            assert_eq!(
                errors(&msg)[0]["extensions"]["code"],
                "NOT_FOUND",
                "{actor:?} subscribed to a private chat: {msg}"
            );
        }
    }
}

/// `taskUpdated` of the whole tenant: a task's life in a personal space (created, changed,
/// deleted) reaches the space's members only; others hear nothing of it, not even its id, and
/// their next event is the project task made afterwards. By id, another's task is NOT_FOUND.
#[tokio::test]
async fn task_events_of_a_space_reach_its_members_only() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let space = w.space(Kind::Personal, &author).await;
    let q = "subscription { taskUpdated { op id task { title } } }";
    let mut sockets = vec![];
    for (actor, protocol) in [
        (Actor::SpaceViewer, Protocol::TransportWs),
        (Actor::OtherMember, Protocol::TransportWs),
        (Actor::Admin, Protocol::LegacyGraphqlWs),
    ] {
        sockets.push((actor, subscribe(&w, actor, protocol, q, json!({})).await));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = w
        .gql(
            &author,
            "mutation($s: UUID!) { createTask(input: { spaceId: $s, title: \"secret\" }) { id } }",
            json!({ "s": space }),
        )
        .await;
    let task = id(data(&res, "createTask.id"));
    let res = w
        .gql(
            &author,
            "mutation($id: UUID!) { updateTask(id: $id, input: { title: \"still secret\" }) { id } }",
            json!({ "id": task }),
        )
        .await;
    data(&res, "updateTask.id");
    let res = w.gql(&author, "mutation($id: UUID!) { deleteTask(id: $id) { id } }", json!({ "id": task })).await;
    data(&res, "deleteTask.id");
    let res = w.gql(&w.owner, "mutation { createProject(input: { name: \"Open\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let res = w
        .gql(
            &w.owner,
            "mutation($p: UUID!) { createTask(input: { projectId: $p, title: \"for everyone\" }) { id } }",
            json!({ "p": project }),
        )
        .await;
    let open = id(data(&res, "createTask.id"));
    for (actor, ws) in sockets.iter_mut() {
        let mut seen = vec![];
        loop {
            let msg = next(ws, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("{actor:?}: no event"));
            let event = msg["payload"]["data"]["taskUpdated"].clone();
            assert!(!event.is_null(), "{actor:?}: {msg}");
            seen.push((event["op"].as_str().unwrap().to_string(), id(&event["id"])));
            if id(&event["id"]) == open {
                break;
            }
        }
        let expect: Vec<(String, Uuid)> = if *actor == Actor::SpaceViewer {
            vec![("CREATED".into(), task), ("UPDATED".into(), task), ("DELETED".into(), task), ("CREATED".into(), open)]
        } else {
            vec![("CREATED".into(), open)]
        };
        assert_eq!(seen, expect, "{actor:?}");
    }
    // By id: a task in another's space is NOT_FOUND at subscribe time.
    let res = w
        .gql(
            &author,
            "mutation($s: UUID!) { createTask(input: { spaceId: $s, title: \"mine\" }) { id } }",
            json!({ "s": space }),
        )
        .await;
    let mine = id(data(&res, "createTask.id"));
    let q = "subscription($id: UUID) { taskUpdated(id: $id) { op } }";
    let mut ws = subscribe(&w, Actor::OtherMember, Protocol::TransportWs, q, json!({ "id": mine })).await;
    let msg = next(&mut ws, Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(errors(&msg)[0]["extensions"]["code"], "NOT_FOUND", "{msg}");
}

/// A task is in a project or a space, and a subtask in its parent's space: so deleting a project or
/// a parent task (which any member may) can never cascade into a space the deleter does not read.
#[tokio::test]
async fn tasks_never_straddle_a_space_and_what_lies_outside_it() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let other = w.user(Actor::OtherMember).clone();
    let space = w.space(Kind::Personal, &author).await;
    let res = w.gql(&other, "mutation { createProject(input: { name: \"Theirs\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));
    let res = w
        .gql(
            &other,
            "mutation($p: UUID!) { createTask(input: { projectId: $p, title: \"decoy\" }) { id } }",
            json!({ "p": project }),
        )
        .await;
    let decoy = id(data(&res, "createTask.id"));
    let create = "mutation($i: CreateTaskInput!) { createTask(input: $i) { id spaceId projectId } }";
    for (input, field) in [
        (json!({ "title": "both", "projectId": project, "spaceId": space }), "spaceId"),
        (json!({ "title": "under theirs", "parentId": decoy, "spaceId": space }), "parentId"),
    ] {
        let res = w.gql(&author, create, json!({ "i": input })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
        assert_eq!(res["errors"][0]["extensions"]["field"], field, "{res}");
    }
    // A subtask takes its parent's space; the decoy's owner cannot hang their task under it.
    let res = w.gql(&author, create, json!({ "i": { "title": "mine", "spaceId": space } })).await;
    let mine = id(data(&res, "createTask.id"));
    let res = w.gql(&author, create, json!({ "i": { "title": "sub", "parentId": mine } })).await;
    assert_eq!(data(&res, "createTask.spaceId"), &json!(space), "{res}");
    let sub = id(data(&res, "createTask.id"));
    let res = w
        .gql(
            &author,
            "mutation($id: UUID!, $p: UUID!) { updateTask(id: $id, input: { parentId: $p }) { id } }",
            json!({ "id": sub, "p": decoy }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    // Deleting the project and the decoy leaves the space's tasks whole.
    for q in [
        "mutation($id: UUID!) { deleteTask(id: $id) { id } }",
        "mutation($id: UUID!) { deleteProject(id: $id) { id } }",
    ] {
        let target = if q.contains("deleteTask") { decoy } else { project };
        let res = w.gql(&w.owner, q, json!({ "id": target })).await;
        assert!(res["errors"].is_null(), "{res}");
    }
    let res = w
        .gql(
            &author,
            "query($a: UUID!, $b: UUID!) { a: task(id: $a) { id } b: task(id: $b) { id } }",
            json!({ "a": mine, "b": sub }),
        )
        .await;
    assert_eq!(data(&res, "a.id"), &json!(mine), "{res}");
    assert_eq!(data(&res, "b.id"), &json!(sub), "{res}");
}

/// An author who lost the right to write in a space may still delete their own chat, task or
/// folder, but not through it what others wrote below (messages, subtasks, subfolders): refused,
/// saying how many, and all of it stays. With nothing of others' below, the delete goes through.
#[tokio::test]
async fn a_demoted_author_cannot_delete_what_others_wrote_below_their_row() {
    let w = World::new().await;
    let author = w.user(Actor::Author).clone();
    let editor = w.user(Actor::SpaceEditor).clone();
    let space = w.space(Kind::Public, &w.owner).await;
    let res = w
        .gql(
            &w.owner,
            "mutation($s: UUID!, $u: UUID!) { addSpaceMember(input: { spaceId: $s, userId: $u, role: EDITOR }) { id } }",
            json!({ "s": space, "u": author.id }),
        )
        .await;
    let membership = id(data(&res, "addSpaceMember.id"));
    let made = |q: &'static str, path: &'static str, by: TestUser, vars: Value| {
        let w = &w;
        async move { id(data(&w.gql(&by, q, vars).await, path)) }
    };
    let chat = made(
        "mutation($s: UUID!) { createChat(input: { spaceId: $s }) { id } }",
        "createChat.id",
        author.clone(),
        json!({ "s": space }),
    )
    .await;
    made(
        "mutation($c: UUID!) { postMessage(input: { chatId: $c, role: USER, parts: [{ type: \"text\", content: \"mine\" }] }) { id } }",
        "postMessage.id",
        editor.clone(),
        json!({ "c": chat }),
    )
    .await;
    let task = made(
        "mutation($s: UUID!) { createTask(input: { spaceId: $s, title: \"plan\" }) { id } }",
        "createTask.id",
        author.clone(),
        json!({ "s": space }),
    )
    .await;
    let subtask = made(
        "mutation($p: UUID!) { createTask(input: { parentId: $p, title: \"step\" }) { id } }",
        "createTask.id",
        editor.clone(),
        json!({ "p": task }),
    )
    .await;
    let folder = made(
        "mutation($s: UUID!) { createFolder(input: { spaceId: $s, name: \"docs\" }) { id } }",
        "createFolder.id",
        author.clone(),
        json!({ "s": space }),
    )
    .await;
    let subfolder = made(
        "mutation($s: UUID!, $p: UUID!) { createFolder(input: { spaceId: $s, parentId: $p, name: \"theirs\" }) { id } }",
        "createFolder.id",
        editor.clone(),
        json!({ "s": space, "p": folder }),
    )
    .await;
    // The space's owner makes the author a viewer.
    let res = w
        .gql(
            &w.owner,
            "mutation($id: UUID!) { updateSpaceMember(id: $id, input: { role: VIEWER }) { role } }",
            json!({ "id": membership }),
        )
        .await;
    assert_eq!(data(&res, "updateSpaceMember.role"), "VIEWER", "{res}");
    for (delete, row, what) in
        [("deleteChat", chat, "1 message"), ("deleteTask", task, "1 subtask"), ("deleteFolder", folder, "1 subfolder")]
    {
        let res = w
            .gql(&author, &format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}"), json!({ "id": row }))
            .await;
        assert_eq!(code(&res), "FORBIDDEN", "{delete}: {res}");
        assert!(res["errors"][0]["message"].as_str().unwrap().contains(what), "{delete} says how many: {res}");
    }
    let res = w
        .gql(
            &editor,
            "query($c: UUID!, $t: UUID!, $f: UUID!) { chat(id: $c) { messages { totalCount } } task(id: $t) { subtasks { totalCount } } folder(id: $f) { folders { totalCount } } }",
            json!({ "c": chat, "t": task, "f": folder }),
        )
        .await;
    assert_eq!(data(&res, "chat.messages.totalCount"), 1, "{res}");
    assert_eq!(data(&res, "task.subtasks.totalCount"), 1, "{res}");
    assert_eq!(data(&res, "folder.folders.totalCount"), 1, "{res}");
    // Once the editor takes theirs away, the author's own go.
    for (q, row) in [
        ("mutation($id: UUID!) { deleteTask(id: $id) { id } }", subtask),
        ("mutation($id: UUID!) { deleteFolder(id: $id) { id } }", subfolder),
    ] {
        let res = w.gql(&editor, q, json!({ "id": row })).await;
        assert!(res["errors"].is_null(), "{res}");
    }
    for (delete, row) in [("deleteTask", task), ("deleteFolder", folder)] {
        let res = w
            .gql(&author, &format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}"), json!({ "id": row }))
            .await;
        assert_eq!(data(&res, &format!("{delete}.id")), &json!(row), "{res}");
    }
}
