//! The isolation suite, generated from the schema: for every entity type that has a by-id query
//! and create / update / delete mutations, a row made in tenant A is invisible and untouchable
//! from tenant B, and B cannot create rows that point at A's. A new type gets the same checks
//! without a line of test code; a type whose rows this suite cannot make fails it.
mod common;

use std::collections::HashMap;

use common::schema::{named, required_value, schema, Schema};
use common::{code, data, FilePart, TestApp, TestUser};
use serde_json::{json, Value};
use uuid::Uuid;

/// The entity type a required `…Id` field points at, by the schema's naming.
fn referenced(field: &str) -> String {
    let stem = field.strip_suffix("Id").unwrap_or(field);
    let aliases = [
        ("record", "DataRecord"),
        ("reviewerAgent", "Agent"),
        ("reportsTo", "Agent"),
        ("document", "KbDocument"),
        ("tag", "KbTag"),
        ("segment", "CrmSegment"),
        ("contact", "CrmContact"),
        ("memo", "DecisionMemo"),
        ("granteeSpace", "Space"),
    ];
    if let Some((_, t)) = aliases.iter().find(|(f, _)| *f == stem) {
        return t.to_string();
    }
    let mut c = stem.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Optional fields a type still needs one of (its table checks that one of them is set).
const EXTRAS: &[(&str, &str)] = &[("Approval", "memoId"), ("FileGrant", "granteeSpaceId"), ("CrmContact", "firstName")];

fn needed(entity: &str, f: &Value) -> bool {
    let name = f["name"].as_str().unwrap_or_default();
    (f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null()) || EXTRAS.contains(&(entity, name))
}

async fn made_by_atlas(
    app: &TestApp,
    s: &Schema,
    user: &TestUser,
    tenant: Uuid,
    entity: &str,
    made: &mut HashMap<String, Uuid>,
) -> Uuid {
    match entity {
        "File" => {
            let upload = "mutation($file: Upload!) { uploadFile(file: $file, visibility: ORGANIZATION) { id } }";
            // Not text, so the upload makes no search chunks of its own (the suite makes a FileChunk).
            let name = format!("f-{}.dat", Uuid::now_v7().simple());
            let res = app
                .upload(user, tenant, upload, json!({}), FilePart::new(&name, "application/x-atlas-test", "isolated"))
                .await;
            common::id(data(&res, "uploadFile.id"))
        }
        "FileVersion" => {
            let file = build(app, s, user, tenant, "File", made).await;
            let res = app
                .gql(
                    user,
                    Some(tenant),
                    "query($id: UUID!) { file(id: $id) { versions { edges { node { id } } } } }",
                    json!({ "id": file }),
                )
                .await;
            common::id(&data(&res, "file.versions.edges")[0]["node"]["id"])
        }
        "JobResult" => {
            let job = build(app, s, user, tenant, "Job", made).await;
            let id = Uuid::now_v7();
            common::exec(
                &app.owner_db().await,
                "INSERT INTO job_results (tenant_id, id, job_id, attempt, status) VALUES ($1, $2, $3, 1, 'succeeded')",
                vec![tenant.into(), id.into(), job.into()],
            )
            .await
            .expect("a job result");
            id
        }
        other => panic!("{other} has no create mutation and the suite does not know how Atlas makes it"),
    }
}

/// Values for the required fields of `input`; references are made first, in `tenant`.
fn build<'a>(
    app: &'a TestApp,
    s: &'a Schema,
    user: &'a TestUser,
    tenant: Uuid,
    entity: &'a str,
    made: &'a mut HashMap<String, Uuid>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Uuid> + 'a>> {
    Box::pin(async move {
        if let Some(id) = made.get(entity) {
            return *id;
        }
        let Some((mutation, input_type)) = s.entities[entity].create.clone() else {
            let id = made_by_atlas(app, s, user, tenant, entity, made).await;
            made.insert(entity.to_string(), id);
            return id;
        };
        let mut input = serde_json::Map::new();
        for f in &s.inputs[&input_type] {
            if !needed(entity, f) {
                continue;
            }
            let name = f["name"].as_str().unwrap();
            let value = if name == "userId" {
                // Another member: the creator of a space is already its member.
                let other = app.user().await;
                app.join(user, tenant, &other, "MEMBER").await;
                json!(other.id)
            } else if named(&f["type"]) == Some("UUID") {
                let target = referenced(name);
                assert!(s.entities.contains_key(&target), "{entity}.{name}: no entity {target} to point at");
                json!(build(app, s, user, tenant, &target, made).await)
            } else {
                required_value(s, &input_type, name)
            };
            input.insert(name.to_string(), value);
        }
        let query = format!("mutation($i: {input_type}!) {{ r: {mutation}(input: $i) {{ id }} }}");
        let res = app.gql(user, Some(tenant), &query, json!({ "i": input })).await;
        let id = res["data"]["r"]["id"].as_str().unwrap_or_else(|| panic!("could not create a {entity}: {res}"));
        let id = Uuid::parse_str(id).unwrap();
        made.insert(entity.to_string(), id);
        id
    })
}

#[tokio::test]
async fn no_entity_crosses_tenants() {
    let app = TestApp::start().await;
    let alice = app.user().await;
    let a = app.tenant(&alice).await;
    let bob = app.user().await;
    let b = app.tenant(&bob).await;
    let s = schema(&app, &alice).await;
    assert!(s.entities.len() >= 45, "only {} entity types found: {:?}", s.entities.len(), s.entities.keys());

    let mut made = HashMap::new();
    let names: Vec<String> = s.entities.keys().cloned().collect();
    for entity in &names {
        build(&app, &s, &alice, a, entity, &mut made).await;
    }
    for entity in &names {
        let ops = &s.entities[entity];
        let id = made[entity];
        let get = ops.get.as_ref().unwrap();
        let by_id = |q: String| {
            let (app, bob) = (&app, &bob);
            async move { app.gql(bob, Some(b), &q, json!({ "id": id })).await }
        };
        let res = by_id(format!("query($id: UUID!) {{ {get}(id: $id) {{ id }} }}")).await;
        assert_eq!(code(&res), "NOT_FOUND", "{entity}: read by id leaked: {res}");
        let update = ops.update.as_ref().unwrap();
        let res = by_id(format!("mutation($id: UUID!) {{ {update}(id: $id, input: {{}}) {{ id }} }}")).await;
        assert_eq!(code(&res), "NOT_FOUND", "{entity}: update reached another tenant: {res}");
        let delete = ops.delete.as_ref().unwrap();
        let res = by_id(format!("mutation($id: UUID!) {{ {delete}(id: $id) {{ id }} }}")).await;
        assert_eq!(code(&res), "NOT_FOUND", "{entity}: delete reached another tenant: {res}");
        if let Some(list) = &ops.list {
            let res = app
                .gql(
                    &bob,
                    Some(b),
                    &format!("{{ {list}(first: 100) {{ totalCount edges {{ node {{ id }} }} }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(data(&res, &format!("{list}.totalCount")), 0, "{entity}: listed another tenant's rows: {res}");
        }
        // Still there for its own tenant.
        let res = app
            .gql(&alice, Some(a), &format!("query($id: UUID!) {{ {get}(id: $id) {{ id }} }}"), json!({ "id": id }))
            .await;
        assert_eq!(data(&res, &format!("{get}.id")), &json!(id.to_string()), "{entity} vanished");
    }

    // B cannot make rows that point at A's: every required reference is refused.
    for entity in &names {
        let Some((mutation, input_type)) = s.entities[entity].create.clone() else { continue };
        let refs: Vec<String> = s.inputs[&input_type]
            .iter()
            .filter(|f| needed(entity, f) && named(&f["type"]) == Some("UUID"))
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        if refs.is_empty() {
            continue;
        }
        // Bob's own versions of everything else, with A's ids swapped in for the references.
        let mut mine = HashMap::new();
        for r in refs.iter().filter(|r| *r != "userId") {
            build(&app, &s, &bob, b, &referenced(r), &mut mine).await;
        }
        for r in &refs {
            // Every required field valid; the reference under test points at A, the others at B.
            let mut attempt = serde_json::Map::new();
            for f in &s.inputs[&input_type] {
                if !needed(entity, f) {
                    continue;
                }
                let k = f["name"].as_str().unwrap();
                let v = if k == r && k == "userId" {
                    json!(alice.id)
                } else if k == "userId" {
                    json!(bob.id)
                } else if k == r {
                    json!(made[&referenced(k)])
                } else if refs.iter().any(|x| x == k) {
                    json!(mine[&referenced(k)])
                } else {
                    required_value(&s, &input_type, k)
                };
                attempt.insert(k.to_string(), v);
            }
            let query = format!("mutation($i: {input_type}!) {{ r: {mutation}(input: $i) {{ id }} }}");
            let res = app.gql(&bob, Some(b), &query, json!({ "i": attempt })).await;
            let c = code(&res);
            assert!(c == "BAD_USER_INPUT" || c == "NOT_FOUND", "{entity}.{r}: B pointed at A's row: {res}");
        }
    }
}
