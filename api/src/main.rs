//! `atlas`: serve · migrate · token · seed-demo · seed-bench · schema · worker.
use std::process::ExitCode;
use std::time::Duration;

use api::auth::Keys;
use api::config::Config;
use api::{graphql, server};
use clap::{Parser, Subcommand};
use entity::{tenants, users};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use service::work::{projects, tasks};
use service::{tenancy, Principal, Scope};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "atlas", about = "Multi-tenant GraphQL backend for AI-workspace apps")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL (and GraphiQL) on ATLAS_BIND.
    Serve {
        /// On SIGTERM, how long in-flight requests and the in-process worker's jobs may take to
        /// finish; the process exits by then whatever the database does (a job's lease expires
        /// on its own). WebSockets are closed at once with 1001, and their clients reconnect.
        #[arg(long, default_value_t = 10_000)]
        grace_ms: u64,
    },
    /// Apply pending migrations as the owner (DIRECT_URL) and grant the app role its privileges.
    Migrate,
    /// Mint a development token (HS256 with ATLAS_JWT_SECRET).
    Token {
        /// A user id or email.
        #[arg(long)]
        user: String,
        /// A tenant id or slug, put in the token's tenant_id claim.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
    /// Create the demo tenant, owner and a project with tasks (once), and print a token for it.
    SeedDemo,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the statements that distribute the schema on a Citus coordinator (by tenant_id;
    /// tables without it become reference tables), after checking that Citus accepts it.
    CitusDdl,
    /// Fill the database with a reproducible benchmark dataset (replacing an earlier one):
    /// tenants `benchdata-1…`, each with its owner `benchdata-N@atlas.test`.
    SeedBench {
        #[arg(long, default_value_t = 1)]
        seed: i64,
        #[arg(long, default_value_t = 100)]
        tenants: i64,
        #[arg(long, default_value_t = 10)]
        projects: i64,
        #[arg(long, default_value_t = 20)]
        tasks: i64,
        #[arg(long, default_value_t = 2)]
        executions: i64,
        #[arg(long, default_value_t = 200)]
        records: i64,
        #[arg(long, default_value_t = 100)]
        chunks: i64,
        #[arg(long, default_value_t = 20)]
        jobs: i64,
    },
    /// Run queued jobs: claims due jobs, renews their leases, retries failures with backoff.
    Worker {
        /// Jobs run at once by this process.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Job types to run, comma-separated (all that this binary knows when left out).
        #[arg(long, value_delimiter = ',')]
        types: Option<Vec<String>>,
        /// Lease on a claimed job, renewed while it runs; a dead worker's jobs return after it.
        #[arg(long, default_value_t = 30_000)]
        lease_ms: u64,
        /// Fallback poll interval (NOTIFY wakes the worker sooner).
        #[arg(long, default_value_t = 1_000)]
        poll_ms: u64,
        /// First retry delay; each further retry doubles it (with jitter).
        #[arg(long, default_value_t = 2_000)]
        backoff_ms: u64,
        /// On SIGTERM, how long running jobs may take to finish before they are released.
        #[arg(long, default_value_t = 30_000)]
        grace_ms: u64,
    },
}

/// Thread stacks for the runtime and HTTP workers: resolving a deeply nested query polls large
/// futures (much larger in debug builds), more than the 2 MiB threads get by default.
const THREAD_STACK_BYTES: usize = 16 << 20;

fn main() -> ExitCode {
    // Read by std when the first thread is spawned: actix-server's worker threads take it too.
    if std::env::var_os("RUST_MIN_STACK").is_none() {
        std::env::set_var("RUST_MIN_STACK", THREAD_STACK_BYTES.to_string());
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(THREAD_STACK_BYTES).build() {
        Ok(rt) => {
            let code = rt.block_on(async_main());
            // Blocking tasks (a file write, the model) must not hold a stopping process open.
            rt.shutdown_timeout(Duration::from_secs(1));
            code
        }
        Err(e) => {
            eprintln!("atlas: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATLAS_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match Config::from_env() {
        Ok(config) => run(cli.command, config).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("atlas: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    // What signs tokens and links or decrypts secrets needs real secrets outside development.
    if matches!(command, Command::Serve { .. } | Command::Worker { .. } | Command::Token { .. } | Command::SeedDemo) {
        config.check_secrets()?;
        if config.development {
            tracing::warn!(
                "DEVELOPMENT MODE (ATLAS_ENV=development): public development keys stand in for unset secrets, \
                 and the NOOP, SLEEP and FAIL job types exist. Never expose this server."
            );
        }
    }
    match command {
        Command::Serve { grace_ms } => {
            let mut config = config;
            config.shutdown_grace = Duration::from_millis(grace_ms);
            serve(config).await
        }
        Command::Migrate => migrate(&config).await,
        Command::Token { user, tenant, ttl_hours } => {
            let owner = owner_db(&config).await?;
            let user = resolve_user(&owner, &user).await?;
            let tenant = match tenant {
                Some(t) => Some(resolve_tenant(&owner, &t).await?),
                None => None,
            };
            let keys = Keys::with_rules(&config.jwt_secret, config.token_rules.clone());
            let token = keys.mint(user.id, tenant, Some(user.email), ttl_hours * 3600)?;
            // Who was given a token, and for how long, is in the tenant's audit log (or the
            // global one, for a token without a tenant).
            if tenant.is_none() {
                let meta = serde_json::json!({ "userId": user.id, "ttlHours": ttl_hours, "by": "atlas token" });
                service::governance::record_global(&owner, None, "token.mint", ("users", user.id), meta)
                    .await
                    .map_err(|e| format!("could not audit the token: {}", e.message()))?;
            }
            if let Some(tenant) = tenant {
                let scope = service::Scope::new(owner.clone(), service::Principal::system(tenant));
                let meta = serde_json::json!({ "userId": user.id, "ttlHours": ttl_hours, "by": "atlas token" });
                service::governance::record(&scope, "token.mint", "users", user.id, meta)
                    .await
                    .map_err(|e| format!("could not audit the token: {}", e.message()))?;
                scope.finish(true).await.map_err(|e| format!("could not audit the token: {}", e.message()))?;
            }
            println!("{token}");
            Ok(())
        }
        Command::SeedDemo => {
            service::secrets::configure(&config.secret_key);
            seed_demo(&config).await
        }
        Command::Worker { concurrency, types, lease_ms, poll_ms, backoff_ms, grace_ms } => {
            let opts = service::queue::WorkerOptions {
                id: format!("{}-{}", hostname(), std::process::id()),
                concurrency: concurrency.max(1),
                lease: Duration::from_millis(lease_ms.max(100)),
                poll: Duration::from_millis(poll_ms.max(10)),
                backoff: service::queue::Backoff { base: Duration::from_millis(backoff_ms), ..Default::default() },
                grace: Duration::from_millis(grace_ms),
                types,
            };
            worker(config, opts).await
        }
        Command::SeedBench { seed, tenants, projects, tasks, executions, records, chunks, jobs } => {
            let shape = api::seed::BenchShape { seed, tenants, projects, tasks, executions, records, chunks, jobs };
            api::seed::seed_bench(&config, shape).await
        }
        Command::CitusDdl => {
            let owner = owner_db(&config).await?;
            let refused = api::citus::violations(&owner).await.map_err(|e| e.to_string())?;
            if !refused.is_empty() {
                return Err(format!("Citus would refuse this schema:\n  {}", refused.join("\n  ")));
            }
            for statement in api::citus::ddl(&owner).await.map_err(|e| e.to_string())? {
                println!("{statement}");
            }
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::build_schema(&config, None).sdl());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    if config.serve_worker {
        config.worker_url()?;
    }
    let bind = config.bind.clone();
    let grace = config.shutdown_grace;
    let listener = std::net::TcpListener::bind(&bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    // A worker in the same process, so jobs (CSV ingest, embeddings, …) run on a plain
    // `make run`; ATLAS_SERVE_WORKER=false leaves them to separate `atlas worker` processes.
    let state = server::state(config.clone()).await?;
    let stopping = state.stopping.clone();
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker = config.serve_worker.then(|| {
        let opts = service::queue::WorkerOptions {
            id: format!("{}-{}-serve", hostname(), std::process::id()),
            concurrency: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            backoff: service::queue::Backoff::default(),
            grace,
            types: None,
        };
        tokio::spawn(run_worker(config, opts, worker_stopped, Some(state.embedder.clone())))
    });
    tracing::info!("serving GraphQL on http://{bind}/graphql (GraphiQL in a browser)");
    let server = server::run(state, listener).map_err(|e| e.to_string())?;
    let handle = server.handle();
    let mut server = std::pin::pin!(server);
    tokio::select! {
        ended = &mut server => return ended.map_err(|e| e.to_string()),
        _ = terminated() => {}
    }
    // Draining: no new connections; subscriptions are told to go elsewhere; requests in flight
    // and running jobs get the grace period, and then the process exits regardless.
    tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down: draining requests, closing subscriptions");
    let deadline = tokio::time::Instant::now() + grace;
    let _ = stopping.send(true);
    let _ = stop_worker.send(true);
    // The server future runs the stop it is asked for: it is polled alongside the request.
    let drained = async {
        tokio::join!(handle.stop(true), &mut server, async {
            if let Some(task) = worker {
                if let Ok(Err(e)) = task.await {
                    tracing::warn!(error = %e, "the in-process worker stopped with an error");
                }
            }
        })
    };
    tokio::select! {
        _ = tokio::time::timeout_at(deadline + SHUTDOWN_SLACK, drained) => {}
        _ = terminated() => tracing::warn!("a second signal: exiting without waiting"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Beyond the grace period, what the last steps (releasing jobs, closing the pool) may take.
const SHUTDOWN_SLACK: Duration = Duration::from_secs(2);

/// SIGTERM (as an orchestrator stops a process) or Ctrl-C.
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops this process gracefully");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn worker(config: Config, opts: service::queue::WorkerOptions) -> Result<(), String> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let grace = opts.grace;
    let mut run = std::pin::pin!(run_worker(config, opts, stopped, None));
    tokio::select! {
        ended = &mut run => return ended,
        _ = terminated() => {}
    }
    tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down: letting running jobs finish");
    let _ = stop.send(true);
    tokio::select! {
        ended = tokio::time::timeout(grace + SHUTDOWN_SLACK, &mut run) => ended.unwrap_or(Ok(())),
        _ = terminated() => Ok(()),
    }
}

/// Every handler Atlas has, claiming jobs until `stopped` turns true; `embedder` is the server's
/// when the worker runs inside it (one copy of the model), else built from the configuration.
async fn run_worker(
    config: Config,
    opts: service::queue::WorkerOptions,
    stopped: tokio::sync::watch::Receiver<bool>,
    embedder: Option<std::sync::Arc<dyn service::embedding::Embedder>>,
) -> Result<(), String> {
    service::secrets::configure(&config.secret_key);
    let url = config.worker_url()?.to_string();
    let db = service::pool::connect(&url, &config.pool(opts.concurrency as u32 + 2))
        .await
        .map_err(|e| format!("cannot connect to ATLAS_WORKER_DATABASE_URL: {e}"))?;
    service::tenancy::check_app_role(&db).await.map_err(|e| format!("ATLAS_WORKER_DATABASE_URL: {e}"))?;
    service::queue::check_can_claim(&db).await.map_err(|e| format!("ATLAS_WORKER_DATABASE_URL: {e}"))?;
    let storage = std::sync::Arc::new(service::storage::Storage::open(&config.storage_url)?);
    let embedder = match embedder {
        Some(e) => e,
        None => config.embedding.build()?,
    };
    let registry = service::job_handlers(storage, embedder, service::work::execution::LlmConfig::from_env());
    // Wake-ups need a session of their own: the listen URL (direct behind a pooler), else the workers'.
    let listen =
        if config.prepared_statements { service::pool::strip_pgbouncer(&url).0 } else { config.listen_url.clone() };
    service::queue::run_worker(db, listen, registry, opts, stopped).await.map_err(svc)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into())
}

async fn owner_db(config: &Config) -> Result<DatabaseConnection, String> {
    Database::connect(config.direct_url.as_str()).await.map_err(|e| format!("cannot connect to DIRECT_URL: {e}"))
}

async fn migrate(config: &Config) -> Result<(), String> {
    let owner = owner_db(config).await?;
    Migrator::up(&owner, None).await.map_err(|e| format!("migration failed: {e}"))?;
    // Vector indexes for the configured embedding dimension, when it is not the default.
    for sql in service::search::index_statements(config.embedding.vector_dimensions()) {
        owner.execute_unprepared(&sql).await.map_err(|e| format!("could not create a vector index: {e}"))?;
    }
    // The server's login role gets the privileges of `atlas_api`, which the migrations grant.
    let owner_user = url_user(&config.direct_url);
    let grant = |role: &'static str, url: Option<&str>| {
        let user = url.and_then(url_user).filter(|u| Some(u) != owner_user.as_ref());
        let owner = &owner;
        async move {
            if let Some(user) = user {
                let sql = format!("GRANT {role} TO \"{}\"", user.replace('"', "\"\""));
                owner.execute_unprepared(&sql).await.map_err(|e| format!("could not grant {role} to {user}: {e}"))?;
            }
            Ok::<(), String>(())
        }
    };
    grant("atlas_api", Some(config.database_url.as_str())).await?;
    // Workers' login: the app's rights, and claiming jobs (which the server's role may not).
    grant("atlas_queue", config.worker_database_url.as_deref()).await?;
    println!("migrations applied");
    Ok(())
}

fn url_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let creds = rest.split_once('@')?.0;
    Some(creds.split(':').next()?.to_string()).filter(|u| !u.is_empty())
}

async fn resolve_user(owner: &DatabaseConnection, user: &str) -> Result<users::Model, String> {
    let found = match Uuid::try_parse(user) {
        Ok(id) => users::Entity::find_by_id(id).one(owner).await,
        Err(_) => users::Entity::find().filter(users::Column::Email.eq(user.to_lowercase())).one(owner).await,
    };
    found.map_err(|e| e.to_string())?.ok_or_else(|| format!("no user {user}"))
}

async fn resolve_tenant(owner: &DatabaseConnection, tenant: &str) -> Result<Uuid, String> {
    let found = match Uuid::try_parse(tenant) {
        Ok(id) => tenants::Entity::find_by_id(id).one(owner).await,
        Err(_) => tenants::Entity::find().filter(tenants::Column::Slug.eq(tenant)).one(owner).await,
    };
    Ok(found.map_err(|e| e.to_string())?.ok_or_else(|| format!("no tenant {tenant}"))?.id)
}

const DEMO_EMAIL: &str = "demo@atlas.dev";
const DEMO_SLUG: &str = "demo";
/// A second member of the demo tenant, to try the spaces' privacy with (README "Spaces").
const DEMO_MEMBER_EMAIL: &str = "sam@atlas.dev";

/// Seeds through the service layer as the demo user would, so the demo data obeys every rule.
async fn seed_demo(config: &Config) -> Result<(), String> {
    let owner = owner_db(config).await?;
    let app = service::pool::connect(&config.database_url, &config.pool(4))
        .await
        .map_err(|e| format!("cannot connect to DATABASE_URL: {e}"))?;
    let user_id = match resolve_user(&owner, DEMO_EMAIL).await {
        Ok(u) => u.id,
        Err(_) => Uuid::now_v7(),
    };
    let member_id = match resolve_user(&owner, DEMO_MEMBER_EMAIL).await {
        Ok(u) => u.id,
        Err(_) => Uuid::now_v7(),
    };
    let scope_of = |user, email: &str, tenant| {
        Scope::new(
            app.clone(),
            Principal { user_id: Some(user), tenant_id: tenant, email: Some(email.into()), system: false },
        )
    };
    let as_user = |tenant| scope_of(user_id, DEMO_EMAIL, tenant);
    let tenant_id = match resolve_tenant(&owner, DEMO_SLUG).await {
        Ok(id) => id,
        Err(_) => {
            let scope = as_user(None);
            let input = tenancy::CreateTenantInput {
                slug: DEMO_SLUG.into(),
                name: "Demo workspace".into(),
                kind: entity::sea_orm_active_enums::TenantKind::Organization,
            };
            let tenant = tenancy::create_tenant(&scope, input).await.map_err(svc)?;
            scope.finish(true).await.map_err(svc)?;
            let scope = as_user(Some(tenant.id));
            let project = projects::create(
                &scope,
                projects::Create {
                    name: "Atlas demo".into(),
                    description: Some("A project to try queries, mutations and subscriptions on".into()),
                    owner_id: None,
                    repository_url: Some("https://github.com/example/atlas-demo".into()),
                    github_repo_id: None,
                    default_branch: "main".into(),
                    guidelines_file_id: None,
                },
            )
            .await
            .map_err(svc)?;
            for (title, priority) in [("Add authentication", "high"), ("Write the onboarding guide", "medium")] {
                let priority = if priority == "high" {
                    entity::sea_orm_active_enums::TaskPriority::High
                } else {
                    entity::sea_orm_active_enums::TaskPriority::Medium
                };
                let task =
                    tasks::create(&scope, task_input(title, priority, Some(project.id), None)).await.map_err(svc)?;
                for sub in ["Design", "Build", "Review"] {
                    tasks::create(&scope, task_input(&format!("{sub}: {title}"), priority, None, Some(task.id)))
                        .await
                        .map_err(svc)?;
                }
            }
            scope.finish(true).await.map_err(svc)?;
            // A second member, a personal space each with a note, and a PUBLIC space for both.
            let invite = tenancy::InviteMemberInput {
                email: DEMO_MEMBER_EMAIL.into(),
                role: entity::sea_orm_active_enums::MemberRole::Member,
            };
            let scope = as_user(Some(tenant.id));
            let (_, invitation) = tenancy::invite_member(&scope, invite).await.map_err(svc)?;
            scope.finish(true).await.map_err(svc)?;
            let scope = scope_of(member_id, DEMO_MEMBER_EMAIL, None);
            tenancy::accept_invitation(&scope, &invitation).await.map_err(svc)?;
            scope.finish(true).await.map_err(svc)?;
            let storage = std::sync::Arc::new(service::storage::Storage::open(&config.storage_url)?);
            for (user, email, space, note) in [
                (user_id, DEMO_EMAIL, "Demo's space", "Only the demo owner reads this"),
                (member_id, DEMO_MEMBER_EMAIL, "Sam's space", "Only Sam reads this"),
            ] {
                let scope = scope_of(user, email, Some(tenant.id));
                demo_space(&scope, &storage, space, Some(user), note).await?;
                scope.finish(true).await.map_err(svc)?;
            }
            let scope = as_user(Some(tenant.id));
            demo_space(&scope, &storage, "Everyone", None, "Every member reads this").await?;
            scope.finish(true).await.map_err(svc)?;
            tenant.id
        }
    };
    let member_token = Keys::new(&config.jwt_secret).mint(
        member_id,
        Some(tenant_id),
        Some(DEMO_MEMBER_EMAIL.into()),
        30 * 24 * 3600,
    )?;
    let token =
        Keys::new(&config.jwt_secret).mint(user_id, Some(tenant_id), Some(DEMO_EMAIL.into()), 30 * 24 * 3600)?;
    println!("\nDemo tenant {DEMO_SLUG} ({tenant_id}), owner {DEMO_EMAIL}");
    println!("Bearer token (30 days):\n  {token}\n");
    println!("Try it:\n  curl -s http://{}/graphql -H 'content-type: application/json' \\", config.bind);
    println!("    -H 'authorization: Bearer {token}' \\");
    println!("    -d '{{\"query\":\"{{ me {{ email }} tenant {{ name }} projects(first: 5) {{ totalCount edges {{ node {{ name tasks {{ totalCount }} }} }} }} }}\"}}'");
    println!("\nOr open GraphiQL, signed in as the demo owner:\n  http://{}/graphql#token={token}\n", config.bind);
    println!(
        "And as {DEMO_MEMBER_EMAIL}, a member with a personal space of their own:\n  http://{}/graphql#token={member_token}\n",
        config.bind
    );
    Ok(())
}

/// A space (personal when `owner` is set, else PUBLIC for the organisation) holding one of each
/// thing a space holds, all saying `text`: a note, a task, a chat with a message and a file.
async fn demo_space(
    scope: &Scope,
    storage: &std::sync::Arc<service::storage::Storage>,
    name: &str,
    owner: Option<Uuid>,
    text: &str,
) -> Result<(), String> {
    use entity::sea_orm_active_enums::{FileVisibility, MessageRole, SpaceVisibility, TaskPriority};
    use service::chat::{chats, messages};
    use service::knowledge::notes;
    use service::tenancy::spaces;
    let slug: String = name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let visibility = if owner.is_some() { SpaceVisibility::Private } else { SpaceVisibility::Public };
    let space = spaces::create(
        scope,
        spaces::Create { name: name.into(), slug, description: None, visibility, owner_user_id: owner },
    )
    .await
    .map_err(svc)?;
    notes::create(scope, notes::Create { space_id: space.id, title: text.into(), content: String::new() })
        .await
        .map_err(svc)?;
    let task = tasks::Create { space_id: Some(space.id), ..task_input(text, TaskPriority::Medium, None, None) };
    tasks::create(scope, task).await.map_err(svc)?;
    let chat = chats::create(scope, chats::Create { space_id: Some(space.id), title: text.into(), model: None })
        .await
        .map_err(svc)?;
    let parts = serde_json::json!([{ "type": "text", "content": text }]);
    messages::create(scope, messages::Create { chat_id: chat.id, role: MessageRole::User, parts })
        .await
        .map_err(svc)?;
    let file = service::files::UploadInput {
        space_id: Some(space.id),
        folder_id: None,
        name: format!("{slug}.txt", slug = space.slug),
        content_type: Some("text/plain".into()),
        visibility: if owner.is_some() { FileVisibility::Private } else { FileVisibility::Space },
    };
    service::files::upload(scope, storage, file, text.as_bytes(), 1 << 20).await.map_err(svc)?;
    Ok(())
}

fn task_input(
    title: &str,
    priority: entity::sea_orm_active_enums::TaskPriority,
    project: Option<Uuid>,
    parent: Option<Uuid>,
) -> tasks::Create {
    tasks::Create {
        title: title.into(),
        description: None,
        prompt: None,
        status: entity::sea_orm_active_enums::TaskStatus::Pending,
        priority,
        project_id: project,
        space_id: None,
        parent_id: parent,
        result: None,
    }
}

/// A service error as the command line shows it: its code and every detail.
fn svc(e: service::ServiceError) -> String {
    format!("{}: {e:?}", e.code())
}
