#!/usr/bin/env bash
# GraphiQL's bundles, taken from the npm registry once, so that the page Atlas serves works
# without internet access (no CDN at run time). Idempotent; output in .local/graphiql/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ATLAS_ASSETS_DIR:-$ROOT/.local/graphiql}
FILES=(graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js graphql-ws.min.js)
missing=0
for f in "${FILES[@]}"; do [[ -s $OUT/$f ]] || missing=1; done
[[ $missing == 0 ]] && exit 0
command -v npm >/dev/null || { echo "graphiql-assets: npm is needed to fetch GraphiQL (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent graphiql@3.9.0 react@18.3.1 react-dom@18.3.1 graphql-ws@5.16.2 >/dev/null)
mkdir -p "$OUT"
tar -xzf "$tmp"/graphiql-3.9.0.tgz -C "$tmp" package/graphiql.min.js package/graphiql.min.css
tar -xzf "$tmp"/react-18.3.1.tgz -C "$tmp" package/umd/react.production.min.js
tar -xzf "$tmp"/react-dom-18.3.1.tgz -C "$tmp" package/umd/react-dom.production.min.js
tar -xzf "$tmp"/graphql-ws-5.16.2.tgz -C "$tmp" package/umd/graphql-ws.min.js
cp "$tmp"/package/graphiql.min.js "$tmp"/package/graphiql.min.css "$tmp"/package/umd/*.min.js "$OUT"/
echo "graphiql-assets: fetched into $OUT"
