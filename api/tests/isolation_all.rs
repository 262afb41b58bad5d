//! The isolation suite, generated from the schema: for every entity type that has a by-id query
//! and create / update / delete mutations, a row made in tenant A is invisible and untouchable
//! from tenant B, and B cannot create rows that point at A's. A new type gets the same checks
//! without a line of test code; a type whose rows this suite cannot make fails it.
mod common;

use std::collections::{BTreeMap, HashMap};

use common::{code, data, FilePart, TestApp, TestUser};
use serde_json::{json, Value};
use uuid::Uuid;

const INTROSPECTION: &str = r#"{ __schema {
  queryType { fields { name args { name type { kind name ofType { kind name } } } type { kind name ofType { kind name } } } }
  mutationType { fields { name args { name type { kind name ofType { kind name } } } type { kind name ofType { kind name } } } }
  types { name kind enumValues { name } inputFields { name defaultValue type { kind name ofType { kind name ofType { kind name } } } } }
} }"#;

/// What the schema offers for one entity type.
#[derive(Default, Debug)]
struct Ops {
    get: Option<String>,
    list: Option<String>,
    create: Option<(String, String)>,
    update: Option<String>,
    delete: Option<String>,
}

fn named(t: &Value) -> Option<&str> {
    t["name"].as_str().or_else(|| t["ofType"]["name"].as_str()).or_else(|| t["ofType"]["ofType"]["name"].as_str())
}

fn arg_names(f: &Value) -> Vec<&str> {
    f["args"].as_array().map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect()).unwrap_or_default()
}

struct Schema {
    entities: BTreeMap<String, Ops>,
    inputs: HashMap<String, Vec<Value>>,
    enums: HashMap<String, String>,
}

async fn schema(app: &TestApp, user: &TestUser) -> Schema {
    let res = app.gql(user, None, INTROSPECTION, json!({})).await;
    let s = data(&res, "__schema");
    let mut entities: BTreeMap<String, Ops> = BTreeMap::new();
    for f in s["queryType"]["fields"].as_array().unwrap() {
        let ty = named(&f["type"]).unwrap_or_default().to_string();
        let args = arg_names(f);
        if args == ["id"] {
            entities.entry(ty).or_default().get = Some(f["name"].as_str().unwrap().to_string());
        } else if let Some(node) = ty.strip_suffix("Connection") {
            if args.contains(&"filter") {
                entities.entry(node.to_string()).or_default().list = Some(f["name"].as_str().unwrap().to_string());
            }
        }
    }
    for f in s["mutationType"]["fields"].as_array().unwrap() {
        let ty = named(&f["type"]).unwrap_or_default().to_string();
        let name = f["name"].as_str().unwrap().to_string();
        let args = arg_names(f);
        let ops = entities.entry(ty).or_default();
        match args.as_slice() {
            ["input"] => {
                let input = f["args"][0]["type"]["ofType"]["name"].as_str().unwrap_or_default().to_string();
                ops.create = Some((name, input));
            }
            ["id", "input"] => ops.update = Some(name),
            ["id"] => ops.delete = Some(name),
            _ => {}
        }
    }
    entities.retain(|name, o| {
        o.get.is_some()
            && (o.create.is_some() || MADE_BY_ATLAS.contains(&name.as_str()))
            && o.update.is_some()
            && o.delete.is_some()
    });
    let mut inputs = HashMap::new();
    let mut enums = HashMap::new();
    for t in s["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        if t["kind"] == "INPUT_OBJECT" {
            inputs.insert(name, t["inputFields"].as_array().cloned().unwrap_or_default());
        } else if t["kind"] == "ENUM" {
            if let Some(v) = t["enumValues"][0]["name"].as_str() {
                enums.insert(name, v.to_string());
            }
        }
    }
    Schema { entities, inputs, enums }
}

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

/// Types whose rows no client creates directly: files and their versions come from uploads (with
/// their bytes), job results from workers. The suite makes them the way Atlas does.
const MADE_BY_ATLAS: &[&str] = &["File", "FileVersion", "JobResult"];

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
                json!(user.id)
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

fn required_value(s: &Schema, input_type: &str, field: &str) -> Value {
    let f = s.inputs[input_type].iter().find(|f| f["name"] == field).unwrap();
    match (field, named(&f["type"]).unwrap()) {
        ("sha", _) => json!(format!("{:x}", Uuid::now_v7().as_u128())),
        // A declared job type; it does nothing if a worker of another test runs it.
        ("jobType", _) => json!("NOOP"),
        ("intentType", _) => json!("TEST_INTENT"),
        ("slug" | "provider", _) => json!(format!("s-{}", Uuid::now_v7().simple())),
        ("parts", _) => json!([{ "type": "text", "content": "hello" }]),
        ("endTime", _) => json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()),
        (_, "String") => json!(format!("{field} {}", Uuid::now_v7().simple())),
        (_, "Int") => json!(1),
        (_, "Float") => json!(0.5),
        (_, "Boolean") => json!(true),
        (_, "DateTime") => json!(chrono::Utc::now().to_rfc3339()),
        (_, "JSON") => json!({}),
        (_, other) => json!(s.enums[other]),
    }
}
