#!/usr/bin/env bash
# The peers `make bench` measures Atlas against, installed from npm into .local/peers:
# PostGraphile v5 (on Node 22, from npm's `node@22`) and graphile-worker.
#   bench/peers.sh install | start-postgraphile | stop-postgraphile
# start-postgraphile serves Atlas's database (DATABASE_URL, the app role) on :$PEER_PORT (5005).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=$ROOT/.local/peers
NODE=$P/node_modules/.bin/node
PORT=${PEER_PORT:-5005}
case ${1:-} in
  install)
    if [[ -x $NODE && -d $P/node_modules/postgraphile && -d $P/node_modules/graphile-worker ]]; then exit 0; fi
    command -v npm >/dev/null || { echo "peers: npm is needed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$P" && cd "$P"
    [[ -f package.json ]] || npm init -y >/dev/null
    npm install --silent --no-audit --no-fund postgraphile@5 graphile-worker@0.16 jsonwebtoken@9 node@22 >/dev/null
    "$NODE" --version >/dev/null
    echo "peers: PostGraphile $(node -p "require('$P/node_modules/postgraphile/package.json').version") and graphile-worker installed in $P"
    ;;
  start-postgraphile)
    cp "$ROOT/bench/peers/graphile.config.mjs" "$P/graphile.config.mjs"
    cd "$P"
    GRAPHILE_ENV=production PORT=$PORT nohup "$NODE" node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs \
      > "$P/postgraphile.log" 2>&1 &
    echo $! > "$P/postgraphile.pid"
    for _ in $(seq 1 100); do
      curl -sf -o /dev/null -H 'content-type: application/json' -d '{"query":"{__typename}"}' "http://127.0.0.1:$PORT/graphql" && exit 0
      sleep 0.2
    done
    echo "peers: PostGraphile did not start; see $P/postgraphile.log" >&2; exit 1
    ;;
  stop-postgraphile)
    [[ -f $P/postgraphile.pid ]] && kill "$(cat "$P/postgraphile.pid")" 2>/dev/null || true
    rm -f "$P/postgraphile.pid"
    ;;
  *) echo "usage: bench/peers.sh install | start-postgraphile | stop-postgraphile" >&2; exit 2 ;;
esac
