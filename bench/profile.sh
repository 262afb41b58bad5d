#!/usr/bin/env bash
# Where the nested query's time goes inside Atlas: perf samples of a release `atlas serve` while
# it answers the bench's nested query (20 projects → 400 tasks → 800 executions) over and over,
# summarised by function (self time, then inclusive) into bench/results/profile.txt.
# Needs `perf` and the `atlas seed-bench --projects 20` dataset (make bench makes it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v perf >/dev/null || { echo "profile: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
PORT=${PROFILE_PORT:-18090}
ATLAS=target/release/atlas
ATLAS_ENV=development ATLAS_BIND=127.0.0.1:$PORT ATLAS_SERVE_WORKER=false ATLAS_LOG=warn ATLAS_EMBEDDER=hashing $ATLAS serve >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.2; done
TOKEN=$($ATLAS token --user benchdata-1@atlas.test --tenant benchdata-1)
Q='{"query":"{ projects(first: 20) { nodes { id name tasks(first: 20) { nodes { id title status executions(first: 10) { nodes { id status durationMs startedAt } } } } } } }"}'
load() { for _ in $(seq 1 2000); do curl -s -o /dev/null -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d "$Q" "http://127.0.0.1:$PORT/graphql"; done; }
load & LOAD=$!
sleep 1
# A low rate and short DWARF stacks: `perf report` unwinds every sample, and at 2 kHz with 16 KiB
# stacks that took longer than the run itself.
perf record -q -F 299 --call-graph dwarf,8192 -p $PID -o /tmp/atlas-profile.data -- sleep ${PROFILE_SECONDS:-5} >/dev/null 2>&1
kill $LOAD 2>/dev/null || true
mkdir -p bench/results
{
  echo "# perf profile of atlas serve answering the nested query ($(date -u +%FT%TZ), $(nproc) cores)"
  echo "## self time"
  perf report -i /tmp/atlas-profile.data --no-children --sort symbol --percent-limit 0.7 --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | sed -E 's/ {2,}/ /g; s/ - *$//' | cut -c1-180
  echo "## inclusive (our code, the GraphQL executor, SeaORM/sqlx, serialisation)"
  perf report -i /tmp/atlas-profile.data --children --sort symbol --percent-limit 3 --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | grep -E 'api::|service::|sea_orm::executor|sqlx_postgres|serde_json::ser|do_resolve_container|malloc' \
    | sed -E 's/ {2,}/ /g; s/ - *$//' | cut -c1-180 | head -30
} > bench/results/profile.txt
rm -f /tmp/atlas-profile.data
echo "profile: bench/results/profile.txt"
