#!/usr/bin/env bash
# Regenerate entity/src from the migrations: a scratch database, `migration up`, sea-orm-cli,
# then the post-processing STACK.md describes (vector columns). With --check, compare only and
# fail when entity/src is stale.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v sea-orm-cli >/dev/null || { echo "entities: sea-orm-cli missing: cargo install sea-orm-cli --version 2.0.4 --locked" >&2; exit 1; }
URL=$(DATABASE_URL= scripts/db.sh scratch atlas_entities | tail -n 1)
# The workspace build (shared with make run/test); the migration crate alone if entity/ is broken.
cargo build -q --workspace --all-targets 2>/dev/null || cargo build -q -p migration
target/debug/migration -u "$URL" up >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sea-orm-cli generate entity -u "$URL" -o "$tmp" --lib --with-copy-enums \
  --enum-extra-derives 'async_graphql::Enum,Hash' --banner-version off >/dev/null
python3 scripts/entities_post.py "$tmp"
rustfmt --config-path "$ROOT/rustfmt.toml" "$tmp"/*.rs
if [[ ${1:-} == --check ]]; then
  if ! diff -ru entity/src "$tmp" >"$tmp.diff" 2>&1; then
    cat "$tmp.diff"; rm -f "$tmp.diff"
    echo "entities: entity/src is stale; run 'make entities' and commit the result" >&2
    exit 1
  fi
  rm -f "$tmp.diff"
  echo "entities: up to date"
else
  rm -rf entity/src && mkdir -p entity/src && cp "$tmp"/*.rs entity/src/
  echo "entities: regenerated entity/src"
fi
