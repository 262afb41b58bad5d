//! The schema as a client sees it (introspection), for suites generated from it: every entity
//! type with its by-id query, list, and create / update / delete mutations, the input types'
//! fields, and a valid value for a required field.
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use uuid::Uuid;

use super::{data, TestApp, TestUser};

const INTROSPECTION: &str = r#"{ __schema {
  queryType { fields { name args { name type { kind name ofType { kind name } } } type { kind name ofType { kind name } } } }
  mutationType { fields { name args { name type { kind name ofType { kind name } } } type { kind name ofType { kind name } } } }
  types { name kind enumValues { name } fields { name type { kind name ofType { kind name } } } inputFields { name defaultValue type { kind name ofType { kind name ofType { kind name } } } } }
} }"#;

/// Types whose rows no client creates directly: files and their versions come from uploads (with
/// their bytes), job results from workers. The suite makes them the way Atlas does.
pub const MADE_BY_ATLAS: &[&str] = &["File", "FileVersion", "JobResult"];

/// What the schema offers for one entity type.
#[derive(Default, Debug)]
pub struct Ops {
    pub get: Option<String>,
    pub list: Option<String>,
    pub create: Option<(String, String)>,
    pub update: Option<String>,
    pub delete: Option<String>,
}

pub fn named(t: &Value) -> Option<&str> {
    t["name"].as_str().or_else(|| t["ofType"]["name"].as_str()).or_else(|| t["ofType"]["ofType"]["name"].as_str())
}

fn arg_names(f: &Value) -> Vec<&str> {
    f["args"].as_array().map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect()).unwrap_or_default()
}

pub struct Schema {
    pub entities: BTreeMap<String, Ops>,
    pub inputs: HashMap<String, Vec<Value>>,
    pub enums: HashMap<String, String>,
    /// Object types' fields.
    pub objects: HashMap<String, Vec<Value>>,
}

pub async fn schema(app: &TestApp, user: &TestUser) -> Schema {
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
            // By name as well: verbs such as `startExecution(id)` take an id alone too.
            ["id", "input"] if name.starts_with("update") => ops.update = Some(name),
            ["id"] if ["delete", "remove", "revoke", "untag"].iter().any(|v| name.starts_with(v)) => {
                ops.delete = Some(name)
            }
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
    let mut objects = HashMap::new();
    for t in s["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        if t["kind"] == "INPUT_OBJECT" {
            inputs.insert(name, t["inputFields"].as_array().cloned().unwrap_or_default());
        } else if t["kind"] == "OBJECT" {
            objects.insert(name, t["fields"].as_array().cloned().unwrap_or_default());
        } else if t["kind"] == "ENUM" {
            if let Some(v) = t["enumValues"][0]["name"].as_str() {
                enums.insert(name, v.to_string());
            }
        }
    }
    Schema { entities, inputs, enums, objects }
}

pub fn required_value(s: &Schema, input_type: &str, field: &str) -> Value {
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
