//! Schema migrations, run as the owner (`DIRECT_URL`). Each domain's tables live in one SQL file
//! pair under `sql/`: row-level security, triggers and grants read best as plain SQL.
use sea_orm_migration::async_trait::async_trait;
pub use sea_orm_migration::prelude::*;

/// A migration whose up and down are SQL files; `name` is the migration's stable id.
struct SqlMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.down).await.map(|_| ())
    }
}

macro_rules! sql_migration {
    ($name:literal, $file:literal) => {
        Box::new(SqlMigration {
            name: $name,
            up: include_str!(concat!("sql/", $file, ".up.sql")),
            down: include_str!(concat!("sql/", $file, ".down.sql")),
        }) as Box<dyn MigrationTrait>
    };
}

pub struct Migrator;

#[async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            sql_migration!("m20261123_000001_tenancy", "tenancy"),
            sql_migration!("m20261123_000002_work", "work"),
            sql_migration!("m20261123_000003_governance", "governance"),
            sql_migration!("m20261123_000004_agents", "agents"),
            sql_migration!("m20261123_000005_review", "review"),
            sql_migration!("m20261123_000006_code", "code"),
            sql_migration!("m20261123_000007_spaces", "spaces"),
            sql_migration!("m20261123_000008_knowledge", "knowledge"),
            sql_migration!("m20261123_000009_files", "files"),
            sql_migration!("m20261123_000010_chat", "chat"),
            sql_migration!("m20261123_000011_decisions", "decisions"),
            sql_migration!("m20261123_000012_ops", "ops"),
            sql_migration!("m20261123_000013_settings", "settings"),
            sql_migration!("m20261123_000014_queue", "queue"),
            sql_migration!("m20261123_000015_file_access", "file_access"),
            sql_migration!("m20261123_000016_file_refs", "file_refs"),
            sql_migration!("m20261123_000017_search", "search"),
            sql_migration!("m20261123_000018_embedding_queue", "embedding_queue"),
            sql_migration!("m20261123_000019_queue_claim", "queue_claim"),
            sql_migration!("m20261201_000020_queue_claim_plpgsql", "queue_claim_plpgsql"),
            sql_migration!("m20261201_000021_queue_finish", "queue_finish"),
            sql_migration!("m20261202_000022_hardening", "hardening"),
            sql_migration!("m20261202_000023_audit_refusals", "audit_refusals"),
            sql_migration!("m20261202_000024_global_audit", "global_audit"),
            sql_migration!("m20261202_000025_citus_ready", "citus_ready"),
            sql_migration!("m20261202_000026_space_privacy", "space_privacy"),
        ]
    }
}
