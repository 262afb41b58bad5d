#!/usr/bin/env bash
# Run the workspace's tests and close with one plain line: "tests: N passed, N failed".
set -uo pipefail
log=$(mktemp); trap 'rm -f "$log"' EXIT
# Test servers run in the test process: give its threads the stack the atlas binary gives its own
# (deeply nested queries poll large futures in debug builds).
export RUST_MIN_STACK=${RUST_MIN_STACK:-16777216}
# The storage tests run against the local store and a real S3-compatible server started here.
s3_env=$("$(dirname "$0")/s3.sh" start) || { echo "could not start the S3 test server" >&2; exit 1; }
export $s3_env
# The second pass goes through PgBouncer in transaction mode (as the seeds deploy), when the
# tests use the local cluster: the pooler's own suite, the four seed scenarios, isolation,
# spaces, subscriptions and the queue, with TEST_DATABASE_URL pointing at the pooler.
pooled_env=""
if [[ ${ATLAS_TEST_PGBOUNCER:-1} != 0 && ${TEST_DATABASE_URL:-} == *"127.0.0.1:${ATLAS_PG_PORT:-54329}/"* ]]; then
  pooled_env=$("$(dirname "$0")/pgbouncer.sh" start) || { echo "could not start PgBouncer" >&2; exit 1; }
  export $pooled_env
fi
# The restart test (outage.rs) restarts a cluster of its own, on the next port but one.
if [[ ${TEST_DATABASE_URL:-} == *"127.0.0.1:${ATLAS_PG_PORT:-54329}/"* ]]; then
  restart_port=${ATLAS_PG_RESTART_PORT:-$(( ${ATLAS_PG_PORT:-54329} + 40 ))}
  # DATABASE_URL emptied: db.sh leaves a caller's database alone, and `make` sets it.
  restart_env=$(DATABASE_URL= ATLAS_PG_CLUSTER=restart ATLAS_PG_PORT=$restart_port "$(dirname "$0")/db.sh" start | sed -n 's/^TEST_/TEST_RESTART_/p')
  [[ -n $restart_env ]] || { echo "could not start the restart test's cluster" >&2; exit 1; }
  # The test fails rather than skips when the cluster was meant to be there.
  export $restart_env ATLAS_PG_RESTART_PORT=$restart_port ATLAS_TEST_RESTART_REQUIRED=1
fi
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ -n $pooled_env ]]; then
  echo "tests: second pass, through PgBouncer (transaction mode)"
  TEST_DATABASE_URL=$TEST_POOLED_DATABASE_URL TEST_WORKER_DATABASE_URL=$TEST_POOLED_WORKER_DATABASE_URL \
    cargo test --no-fail-fast -p api --test pgbouncer --test scenario_atlas_ux --test scenario_atlas_v2 --test scenario_ops_tools \
      --test scenario_vibe_coder --test isolation --test spaces --test subscriptions --test queue --test processes "$@" 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -ne 0 ]] && status=1
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
