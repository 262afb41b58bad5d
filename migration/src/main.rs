//! `cargo run -p migration -- -u OWNER_URL up|down|status|fresh`: the migrations alone, without
//! the API (used by `make entities`, which must work even when entity/ is stale).
use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
