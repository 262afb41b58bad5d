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
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
