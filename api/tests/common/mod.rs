//! Test harness: a real Atlas server (its own HTTP listener, pool and LISTEN connection) on the
//! test database, and helpers to make users and tenants through the GraphQL API itself. Every
//! test makes its own tenants, so tests share one database and run in parallel.
#![allow(dead_code)]

pub mod jobs;
pub mod link;
pub mod schema;
pub mod serve;
pub mod ws;

use std::time::Duration;

use api::auth::Keys;
use api::config::Config;
use api::server;
use sea_orm::{Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub keys: Keys,
    pub config: Config,
}

#[derive(Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    /// A token without a tenant claim; requests choose the tenant with X-Tenant-Id.
    pub token: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

/// The test servers' `ATLAS_METRICS_TOKEN`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

pub fn test_config() -> Config {
    let mut config = Config::development_from_env().expect("config");
    config.database_url = env_or("TEST_DATABASE_URL", "postgres://atlas_app:atlas_app_dev@127.0.0.1:54329/atlas_test");
    config.direct_url = env_or("TEST_DIRECT_URL", "postgres://atlas_owner:atlas_owner_dev@127.0.0.1:54329/atlas_test");
    config.worker_database_url =
        Some(env_or("TEST_WORKER_DATABASE_URL", "postgres://atlas_worker:atlas_worker_dev@127.0.0.1:54329/atlas_test"));
    // TEST_DATABASE_URL may go through the test PgBouncer (`?pgbouncer=true`, the second pass of
    // scripts/test.sh): then LISTEN goes to the direct owner URL, as in production.
    let pooled = service::pool::strip_pgbouncer(&config.database_url).1;
    config.prepared_statements = !pooled;
    config.listen_url =
        service::pool::strip_pgbouncer(if pooled { &config.direct_url } else { &config.database_url }).0;
    config.db_pool_size = 5;
    config.workers = 1;
    config.jwt_secret = "test-secret".into();
    config.metrics_token = Some(METRICS_TOKEN.into());
    // Deterministic and instant; the tests of the local model ask for it (`with_local_model`).
    config.embedding.provider = service::embedding::Provider::Hashing;
    config
}

/// The test configuration with the built-in all-MiniLM-L6-v2 model (fetched by `make test`).
pub fn with_local_model(mut config: Config) -> Config {
    config.embedding.provider = service::embedding::Provider::Local;
    config
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(mut config: Config) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        config.public_url = format!("http://{addr}");
        config.application_name = format!("atlas-test-{}", addr.port());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server_config = config.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let state = server::state(server_config).await.expect("server state");
                let srv = server::run(state, listener).expect("server");
                ready_tx.send(()).expect("ready");
                let _ = srv.await;
            })
        });
        ready_rx.recv_timeout(Duration::from_secs(30)).expect("server did not start");
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            keys: Keys::with_rules(&config.jwt_secret, config.token_rules.clone()),
            config,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("{}/graphql", self.base.replace("http://", "ws://"))
    }

    /// A new user, known to Atlas once their first request provisions them from the token.
    pub async fn user(&self) -> TestUser {
        let id = Uuid::now_v7();
        let email = format!("u{}@test.atlas", id.simple());
        let token = self.keys.mint(id, None, Some(email.clone()), 3600).expect("token");
        let user = TestUser { id, email, token };
        let me = self.gql(&user, None, "{ me { id } }", json!({})).await;
        assert_eq!(me["data"]["me"]["id"], json!(id.to_string()), "{me}");
        user
    }

    /// A new tenant owned by `owner`, made with `createTenant`.
    pub async fn tenant(&self, owner: &TestUser) -> Uuid {
        let slug = format!("t-{}", Uuid::now_v7().simple());
        let res = self
            .gql(
                owner,
                None,
                "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
                json!({ "i": { "slug": slug, "name": "Test tenant" } }),
            )
            .await;
        let id = res["data"]["createTenant"]["id"].as_str().unwrap_or_else(|| panic!("createTenant: {res}"));
        Uuid::parse_str(id).expect("uuid")
    }

    /// Adds `user` to `tenant` with `role` through an invitation from `admin`.
    pub async fn join(&self, admin: &TestUser, tenant: Uuid, user: &TestUser, role: &str) -> Uuid {
        let res = self
            .gql(
                admin,
                Some(tenant),
                "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
                json!({ "i": { "email": user.email, "role": role } }),
            )
            .await;
        let token = res["data"]["inviteMember"]["token"].as_str().unwrap_or_else(|| panic!("invite: {res}"));
        let res = self
            .gql(user, None, "mutation($t: String!) { acceptInvitation(token: $t) { id } }", json!({ "t": token }))
            .await;
        let id = res["data"]["acceptInvitation"]["id"].as_str().unwrap_or_else(|| panic!("accept: {res}"));
        Uuid::parse_str(id).expect("uuid")
    }

    pub async fn gql(&self, user: &TestUser, tenant: Option<Uuid>, query: &str, variables: Value) -> Value {
        self.gql_raw(Some(&format!("Bearer {}", user.token)), tenant, query, variables).await
    }

    pub async fn gql_raw(&self, auth: Option<&str>, tenant: Option<Uuid>, query: &str, variables: Value) -> Value {
        let mut req =
            self.client.post(format!("{}/graphql", self.base)).json(&json!({ "query": query, "variables": variables }));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        if let Some(tenant) = tenant {
            req = req.header("x-tenant-id", tenant.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        assert!(status.as_u16() < 500, "server error {status}");
        resp.json().await.expect("json body")
    }

    /// A GraphQL multipart request carrying one file as variable `file`.
    pub async fn upload(
        &self,
        user: &TestUser,
        tenant: Uuid,
        query: &str,
        mut variables: Value,
        file: FilePart,
    ) -> Value {
        let FilePart { name: file_name, content_type, body } = file;
        let file_var = "file";
        variables[file_var] = Value::Null;
        let operations = json!({ "query": query, "variables": variables });
        let map = json!({ "0": [format!("variables.{file_var}")] });
        let part = reqwest::multipart::Part::stream(body).file_name(file_name).mime_str(content_type).expect("mime");
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", map.to_string())
            .part("0", part);
        let resp = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("authorization", format!("Bearer {}", user.token))
            .header("x-tenant-id", tenant.to_string())
            .multipart(form)
            .send()
            .await
            .expect("upload request");
        let status = resp.status();
        assert!(status.as_u16() < 500, "server error {status}");
        resp.json().await.expect("json body")
    }

    /// This server's Prometheus text, fetched with the metrics token.
    pub async fn metrics(&self) -> String {
        let resp =
            self.client.get(format!("{}/metrics", self.base)).bearer_auth(METRICS_TOKEN).send().await.expect("metrics");
        assert_eq!(resp.status().as_u16(), 200, "metrics");
        resp.text().await.expect("body")
    }

    /// SQL statements this server has sent so far, read from its Prometheus endpoint.
    pub async fn statements(&self) -> u64 {
        self.metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix("atlas_db_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("atlas_db_statements_total")
    }

    /// The owner's connection (bypasses row-level security): only to arrange states the API
    /// deliberately cannot reach, and to prove what the database itself refuses.
    pub async fn owner_db(&self) -> DatabaseConnection {
        Database::connect(self.config.direct_url.as_str()).await.expect("owner db")
    }

    /// A raw connection as the app role, the server's own database user.
    pub async fn app_db(&self) -> DatabaseConnection {
        service::pool::connect(&self.config.database_url, &self.config.pool(2)).await.expect("app db")
    }
}

/// `atlas <command>` on the test configuration's databases and store, in development mode (the
/// test servers' diagnostic job types) with the tests' embedder; its standard output discarded.
pub fn atlas(config: &Config, command: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_atlas"));
    cmd.arg(command)
        .env("DATABASE_URL", &config.database_url)
        .env("DIRECT_URL", &config.direct_url)
        .env("ATLAS_WORKER_DATABASE_URL", config.worker_database_url.as_deref().unwrap_or_default())
        .env("ATLAS_STORAGE_URL", &config.storage_url)
        .env("ATLAS_LOG", "warn")
        .env("ATLAS_ENV", "development")
        // As in `test_config`; a test may ask for the model.
        .env("ATLAS_EMBEDDER", "hashing")
        .stdout(std::process::Stdio::null());
    cmd
}

pub async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, sea_orm::DbErr> {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    service::pool::execute(db, statement).await.map(|r| r.rows_affected())
}

/// The one bigint `sql` selects (as the owner, say: past row-level security).
pub async fn count(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    let row = service::pool::one(db, statement).await.expect("the query runs").expect("a row");
    row.try_get_by_index::<i64>(0).expect("a bigint")
}

/// The `extensions.code` of the first error, panicking with the response when there is none.
pub fn code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("expected an error with a code: {res}"))
}

pub fn data<'a>(res: &'a Value, path: &str) -> &'a Value {
    assert!(res.get("errors").is_none(), "unexpected errors: {res}");
    path.split('.').fold(&res["data"], |v, k| &v[k])
}

/// A file for `TestApp::upload`.
pub struct FilePart {
    pub name: String,
    pub content_type: &'static str,
    pub body: reqwest::Body,
}

impl FilePart {
    pub fn new(name: &str, content_type: &'static str, body: impl Into<reqwest::Body>) -> Self {
        Self { name: name.to_string(), content_type, body: body.into() }
    }
}

pub fn id(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap_or_else(|| panic!("not an id: {v}"))).expect("uuid")
}
