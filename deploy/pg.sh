#!/usr/bin/env bash
# A private PostgreSQL cluster in a folder, reachable only through a unix socket in that folder.
#   deploy/pg.sh start DIR [PORT]  initialise (first time) and start; prints the conninfo
#   deploy/pg.sh stop DIR [MODE]   stop: MODE fast (default: clients are disconnected, open
#                                  transactions rolled back, a clean checkpoint), immediate
#                                  (every server process quits at once, recovery at the next
#                                  start: a crash) or smart (waits for clients to leave)
#   deploy/pg.sh url DIR [PORT]    print the conninfo
#   deploy/pg.sh status DIR        exit 0 when the cluster is running, 3 when not
# PostgreSQL refuses to run as root: as root the cluster belongs to the 'postgres' system user,
# which gets its own data folder (mode 0700) and traversable parents.
set -euo pipefail

cmd=${1:-}; dir=${2:-}; port=${3:-5432}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|url|status DIR [PORT|MODE]" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  # from /: the caller's folder may be closed to the postgres user (a mktemp clone is 0700)
  as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi
data=$dir/data
sock=$dir/run

conninfo() { echo "host=$sock port=$port user=$owner dbname=nns"; }

case $cmd in
start)
  mkdir -p "$data" "$sock"
  if [ "$(id -u)" -eq 0 ]; then
    # every parent folder must be traversable by the cluster's owner
    p=$dir
    while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    chown postgres "$dir" "$data" "$sock"
  fi
  chmod 0700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$data" -U "$owner" --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
max_connections = 200
shared_buffers = 256MB
wal_buffers = 16MB
max_wal_size = 4GB
# WAL segments kept recycled through a quiet spell: a burst then writes into them instead of
# creating 16 MB segments while its COMMITs wait (docs/benchmarks.md, "New WAL segments")
min_wal_size = 2GB
checkpoint_timeout = 15min
synchronous_commit = on
fsync = on
CONF
  fi
  if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  fi
  as_owner "$bindir/psql" -h "$sock" -p "$port" -U "$owner" -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'nns'" | grep -q 1 ||
    as_owner "$bindir/createdb" -h "$sock" -p "$port" -U "$owner" nns
  conninfo
  ;;
stop)
  mode=${3:-fast}
  case $mode in fast|immediate|smart) ;; *) echo "$0: stop mode '$mode' is not fast, immediate or smart" >&2; exit 2 ;; esac
  if [ -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null 2>&1 || true
  fi
  ;;
url)
  conninfo
  ;;
status)
  [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || exit 3
  ;;
*)
  echo "usage: $0 start|stop|url|status DIR [PORT|MODE]" >&2; exit 2
  ;;
esac
