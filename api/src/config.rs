//! Configuration from the environment (and `.env`), with defaults that let `make run` work on a
//! fresh machine. Every variable is listed in README.md.
use std::env;

#[derive(Clone, Debug)]
pub struct Config {
    /// `ATLAS_ENV=development`: development keys stand in for missing secrets, and diagnostic job
    /// types exist. Anything else (the default) is production.
    pub development: bool,
    /// The app role (pooled): owns nothing, cannot bypass row-level security.
    pub database_url: String,
    /// The owner, for migrations; defaults to `database_url`.
    pub direct_url: String,
    /// Workers' login (holds `atlas_queue`, the only role that may claim jobs): the local
    /// `atlas_worker` by default, `database_url` in development when only that is set, and
    /// required outside development.
    pub worker_database_url: Option<String>,
    /// `ATLAS_DB_PREPARED_STATEMENTS`: on for a direct connection; off (or `?pgbouncer=true` in
    /// `DATABASE_URL`) behind a transaction-mode pooler (see `service::pool`).
    pub prepared_statements: bool,
    /// The session that LISTENs for change events and job wake-ups (`ATLAS_LISTEN_URL`): it must
    /// be a direct connection, so behind a pooler it defaults to `DIRECT_URL`.
    pub listen_url: String,
    pub bind: String,
    pub jwt_secret: String,
    /// What tokens must say besides their signature (`ATLAS_JWT_AUDIENCE`, `ATLAS_JWT_ISSUER`) and
    /// where an identity provider's public keys are (`ATLAS_JWKS_URL`).
    pub token_rules: crate::auth::TokenRules,
    /// `/metrics` answers only `Authorization: Bearer <ATLAS_METRICS_TOKEN>`; unset, it is off.
    pub metrics_token: Option<String>,
    /// Subscriptions one WebSocket may run at once (`ATLAS_WS_MAX_SUBSCRIPTIONS`).
    pub ws_max_subscriptions: usize,
    /// WebSockets one user may hold open on one server process (`ATLAS_WS_MAX_SOCKETS_PER_USER`).
    pub ws_max_sockets_per_user: usize,
    /// On SIGTERM, how long in-flight requests, subscriptions and the in-process worker's jobs
    /// may take to end before the process exits regardless (`atlas serve --grace-ms`).
    pub shutdown_grace: std::time::Duration,
    /// Encrypts secrets at rest (integration tokens, secret settings).
    pub secret_key: String,
    pub db_pool_size: u32,
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub introspection: bool,
    pub graphiql: bool,
    /// Folder holding GraphiQL's bundles (fetched from npm by `scripts/graphiql-assets.sh`).
    pub assets_dir: String,
    pub workers: usize,
    /// Where file bytes go: a directory (`file://…` or a path) or `s3://bucket`.
    pub storage_url: String,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// The URL clients reach this server at, for signed download links.
    pub public_url: String,
    /// Names this server's database sessions (`pg_stat_activity.application_name`); the LISTEN
    /// session gets `-events` appended.
    pub application_name: String,
    /// `atlas serve` also runs a worker (all job types) in its own process.
    pub serve_worker: bool,
    /// Which embedding provider vectorises rows and search text (`ATLAS_EMBEDDER`, `ATLAS_EMBEDDING_*`).
    pub embedding: service::embedding::EmbeddingConfig,
}

/// Local development defaults: the database `scripts/db.sh` creates.
pub const DEV_DATABASE_URL: &str = "postgres://atlas_app:atlas_app_dev@127.0.0.1:54329/atlas";
pub const DEV_DIRECT_URL: &str = "postgres://atlas_owner:atlas_owner_dev@127.0.0.1:54329/atlas";
pub const DEV_WORKER_URL: &str = "postgres://atlas_worker:atlas_worker_dev@127.0.0.1:54329/atlas";
pub const DEV_JWT_SECRET: &str = "atlas-development-secret-change-me";
pub const DEV_SECRET_KEY: &str = "atlas-development-encryption-key-change-me";

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A comma-separated list; empty when unset.
fn list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| format!("{name}={v:?} is not a valid value")),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let _ = dotenvy::dotenv();
        let development = match var("ATLAS_ENV").as_deref().map(str::trim) {
            None | Some("production") => false,
            Some("development") => true,
            Some(other) => return Err(format!("ATLAS_ENV={other:?}: say development or production")),
        };
        Self::from_env_in(development)
    }

    /// The configuration in development mode, whatever `ATLAS_ENV` says (the tests' servers).
    pub fn development_from_env() -> Result<Self, String> {
        let _ = dotenvy::dotenv();
        Self::from_env_in(true)
    }

    fn from_env_in(development: bool) -> Result<Self, String> {
        // Outside development a missing secret stays empty, and `check_secrets` refuses it.
        let secret =
            |name: &str, dev: &str| var(name).unwrap_or_else(|| if development { dev.into() } else { String::new() });
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEV_DATABASE_URL.to_string());
        let direct_url = var("DIRECT_URL").unwrap_or_else(|| {
            if var("DATABASE_URL").is_some() {
                database_url.clone()
            } else {
                DEV_DIRECT_URL.to_string()
            }
        });
        let worker_database_url = var("ATLAS_WORKER_DATABASE_URL").or_else(|| match var("DATABASE_URL") {
            None => Some(DEV_WORKER_URL.to_string()),
            Some(_) if development => Some(database_url.clone()),
            Some(_) => None,
        });
        let behind_pooler = service::pool::strip_pgbouncer(&database_url).1;
        let prepared_statements = parsed("ATLAS_DB_PREPARED_STATEMENTS", !behind_pooler)?;
        let listen_url = var("ATLAS_LISTEN_URL").unwrap_or_else(|| {
            let url = if prepared_statements { &database_url } else { &direct_url };
            service::pool::strip_pgbouncer(url).0
        });
        Ok(Self {
            development,
            prepared_statements,
            listen_url,
            worker_database_url,
            database_url,
            direct_url,
            bind: var("ATLAS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt_secret: secret("ATLAS_JWT_SECRET", DEV_JWT_SECRET),
            secret_key: secret("ATLAS_SECRET_KEY", DEV_SECRET_KEY),
            token_rules: crate::auth::TokenRules {
                audience: list("ATLAS_JWT_AUDIENCE"),
                issuer: list("ATLAS_JWT_ISSUER"),
                jwks_url: var("ATLAS_JWKS_URL"),
            },
            metrics_token: var("ATLAS_METRICS_TOKEN"),
            ws_max_subscriptions: parsed("ATLAS_WS_MAX_SUBSCRIPTIONS", 100)?,
            ws_max_sockets_per_user: parsed("ATLAS_WS_MAX_SOCKETS_PER_USER", 20)?,
            shutdown_grace: std::time::Duration::from_secs(10),
            db_pool_size: parsed("ATLAS_DB_POOL_SIZE", 20)?,
            max_body_bytes: parsed("ATLAS_MAX_BODY_BYTES", 1 << 20)?,
            max_depth: parsed("ATLAS_MAX_DEPTH", 15)?,
            max_complexity: parsed("ATLAS_MAX_COMPLEXITY", 100_000)?,
            max_aliases: parsed("ATLAS_MAX_ALIASES", 100)?,
            introspection: parsed("ATLAS_INTROSPECTION", true)?,
            graphiql: parsed("ATLAS_GRAPHIQL", true)?,
            assets_dir: var("ATLAS_ASSETS_DIR")
                .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/graphiql").to_string()),
            workers: parsed("ATLAS_WORKERS", 2)?,
            storage_url: var("ATLAS_STORAGE_URL")
                .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/data/objects").to_string()),
            max_upload_bytes: parsed("ATLAS_MAX_UPLOAD_BYTES", 2 << 30)?,
            public_url: var("ATLAS_PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{}", var("ATLAS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()))),
            application_name: var("ATLAS_APPLICATION_NAME").unwrap_or_else(|| "atlas".into()),
            serve_worker: parsed("ATLAS_SERVE_WORKER", true)?,
            embedding: service::embedding::EmbeddingConfig::from_env()?,
        })
    }

    /// The pool settings for `database_url` (and the workers' URL).
    pub fn pool(&self, max_connections: u32) -> service::pool::PoolOptions {
        service::pool::PoolOptions { max_connections, min_connections: 1, pooled: !self.prepared_statements }
    }

    /// Where workers connect, or why there is nowhere.
    pub fn worker_url(&self) -> Result<&str, String> {
        self.worker_database_url.as_deref().ok_or_else(|| {
            "set ATLAS_WORKER_DATABASE_URL: workers log in with a role of their own (`atlas migrate` grants it \
             atlas_queue, which may claim jobs); or run `atlas serve` with ATLAS_SERVE_WORKER=false"
                .to_string()
        })
    }

    /// Whether the secrets may sign tokens and links and encrypt at rest: outside development,
    /// both set, at least 32 bytes each, different from each other and from the public
    /// development keys. The error names the variables and how to fix them.
    pub fn check_secrets(&self) -> Result<(), String> {
        if self.development {
            return Ok(());
        }
        let mut wrong = vec![];
        for (name, value, dev) in [
            ("ATLAS_JWT_SECRET", &self.jwt_secret, DEV_JWT_SECRET),
            ("ATLAS_SECRET_KEY", &self.secret_key, DEV_SECRET_KEY),
        ] {
            if value.is_empty() {
                wrong.push(format!("{name} is not set"));
            } else if value.len() < 32 {
                wrong.push(format!("{name} is shorter than 32 bytes"));
            } else if value == dev {
                wrong.push(format!("{name} is the public development key"));
            }
        }
        if wrong.is_empty() && self.jwt_secret == self.secret_key {
            wrong.push("ATLAS_JWT_SECRET and ATLAS_SECRET_KEY are the same".into());
        }
        if wrong.is_empty() {
            return Ok(());
        }
        Err(format!(
            "refusing to start: {}. Set both to different random values of at least 32 bytes \
             (e.g. `openssl rand -base64 48`), or set ATLAS_ENV=development for a development server",
            wrong.join("; ")
        ))
    }
}
