#!/usr/bin/env bash
# A local S3-compatible server for the storage tests: moto in server mode (PyPI), installed into
# .local/moto on first use, on 127.0.0.1:$ATLAS_S3_PORT with the bucket `atlas-test`.
#   scripts/s3.sh start   install if needed, start if not running, create the bucket; prints the env
#   scripts/s3.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.local/moto"
port=${ATLAS_S3_PORT:-54333}
pidfile="$root/.local/moto-$port.pid"
url="http://127.0.0.1:$port"
# Plain HTTP through Python (always here; curl may not be).
http() { python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[2], method=sys.argv[1]), timeout=2)' "$1" "$2" 2>/dev/null; }

case "${1:-start}" in
  start)
    if [[ ! -f "$dir/.installed" ]]; then
      echo "s3: installing moto[server] into $dir" >&2
      python3 -m pip install --quiet --disable-pip-version-check --target "$dir" 'moto[server]==5.1.22' >&2
      touch "$dir/.installed"
    fi
    if ! http GET "$url/moto-api/"; then
      PYTHONPATH="$dir" nohup python3 -m moto.server -H 127.0.0.1 -p "$port" > "$root/.local/moto-$port.log" 2>&1 &
      echo $! > "$pidfile"
      for _ in $(seq 1 100); do
        http GET "$url/moto-api/" && break
        sleep 0.2
      done
    fi
    http PUT "$url/atlas-test" || { echo "s3: the server on $url does not answer" >&2; exit 1; }
    echo "AWS_ENDPOINT=$url AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 ATLAS_TEST_S3_URL=s3://atlas-test"
    ;;
  stop)
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
  *) echo "usage: scripts/s3.sh start|stop" >&2; exit 2 ;;
esac
