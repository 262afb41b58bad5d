#!/usr/bin/env bash
# PgBouncer in transaction mode in front of the local cluster, as the seeds deploy (Supabase's
# pooler): Debian's pgbouncer (apt), on 127.0.0.1:$ATLAS_PGBOUNCER_PORT, for the tests' second
# pass through a pooler (scripts/test.sh).
#   scripts/pgbouncer.sh start   install if needed, start if not running; prints the test env
#   scripts/pgbouncer.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pg_port=${ATLAS_PG_PORT:-54329}
port=${ATLAS_PGBOUNCER_PORT:-54349}
# PgBouncer refuses to run as root: as root, it runs as the cluster's user (scripts/db.sh), which
# must reach its folder; a clone it cannot reach (under /root) gets one under /var/tmp, as db.sh does.
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
dir="$root/.local/pgbouncer-$port"
if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$root/.local"
  if ! runuser -u postgres -- test -x "$root/.local" 2>/dev/null; then
    dir="/var/tmp/atlas-pgbouncer-$(printf '%s' "$root" | sha1sum | cut -c1-12)-$port"
  fi
fi
answers() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null; }

case "${1:-start}" in
  start)
    if ! command -v pgbouncer >/dev/null; then
      echo "pgbouncer: installing Debian's pgbouncer" >&2
      if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >&2
      else
        sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >&2
      fi
    fi
    if ! answers; then
      mkdir -p "$dir"
      # The app's and the workers' logins (the development passwords of scripts/db.sh); the owner
      # connects directly, as migrations and LISTEN must.
      cat > "$dir/userlist.txt" <<USERS
"atlas_app" "atlas_app_dev"
"atlas_worker" "atlas_worker_dev"
USERS
      cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; sqlx sends extra_float_digits at startup unless told not to (Atlas does not, behind a pooler).
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
      [[ $(id -u) -eq 0 ]] && chown -R postgres "$dir"
      as_pg pgbouncer -d "$dir/pgbouncer.ini"
      for _ in $(seq 1 50); do answers && break; sleep 0.1; done
      answers || { echo "pgbouncer: did not start; see $dir/pgbouncer.log" >&2; exit 1; }
    fi
    echo "TEST_POOLED_DATABASE_URL=postgres://atlas_app:atlas_app_dev@127.0.0.1:$port/atlas_test?pgbouncer=true TEST_POOLED_WORKER_DATABASE_URL=postgres://atlas_worker:atlas_worker_dev@127.0.0.1:$port/atlas_test?pgbouncer=true"
    ;;
  stop)
    [[ -f "$dir/pgbouncer.pid" ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    ;;
  *) echo "usage: scripts/pgbouncer.sh start|stop" >&2; exit 2 ;;
esac
