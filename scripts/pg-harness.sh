#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: Debian's `postgresql` package (initdb/pg_ctl
# from /usr/lib/postgresql/<version>/bin), a temporary data directory, a free loopback port,
# run as a non-root user when we are root (initdb refuses root). Nothing is installed or left
# behind: the caller stops and removes the cluster with `pg_harness_stop` (trap it on EXIT).
#
# Source it, then:
#   if pg_harness_start; then
#     trap pg_harness_stop EXIT
#     XSC_TEST_POSTGRES_URL=...   # exported: postgres://xsc@127.0.0.1:<port>/xsc_test
#   else
#     echo "why: $PG_HARNESS_WHY"  # PostgreSQL missing or failed to start
#   fi
#
# Run directly (`scripts/pg-harness.sh run -- CMD...`) it starts a cluster, runs CMD with
# XSC_TEST_POSTGRES_URL set, and removes the cluster afterwards (for running suites by hand).

PG_HARNESS_DIR=""
PG_HARNESS_USER=""
PG_HARNESS_BIN=""
PG_HARNESS_WHY=""

# The newest installed server's bin directory (15 here), or PG_BIN when set.
_pg_find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/initdb" ] && { printf '%s\n' "$PG_BIN"; return 0; }
    return 1
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

# A TCP port on 127.0.0.1 that nothing listens on.
_pg_free_port() {
  local port i
  for i in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

# Run a command as the cluster's owner.
_pg_as() {
  if [ -n "$PG_HARNESS_USER" ]; then
    runuser -u "$PG_HARNESS_USER" -- "$@"
  else
    "$@"
  fi
}

pg_harness_start() {
  PG_HARNESS_WHY=""
  if ! PG_HARNESS_BIN="$(_pg_find_bin)"; then
    PG_HARNESS_WHY="no PostgreSQL server found (/usr/lib/postgresql/*/bin/initdb; Debian package 'postgresql')"
    return 1
  fi
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: use the package's `postgres` user.
    if ! id -u postgres >/dev/null 2>&1; then
      PG_HARNESS_WHY="running as root and there is no 'postgres' user to own the cluster"
      return 1
    fi
    if ! command -v runuser >/dev/null 2>&1; then
      PG_HARNESS_WHY="running as root and runuser is missing"
      return 1
    fi
    PG_HARNESS_USER=postgres
  fi
  PG_HARNESS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/xsc-pg.XXXXXX")"
  chmod 755 "$PG_HARNESS_DIR"
  [ -n "$PG_HARNESS_USER" ] && chown "$PG_HARNESS_USER" "$PG_HARNESS_DIR"
  # Trust authentication on loopback only, for the throw-away test role.
  if ! _pg_as "$PG_HARNESS_BIN/initdb" -D "$PG_HARNESS_DIR/data" -U xsc --auth=trust \
      --encoding=UTF8 --locale=C >"$PG_HARNESS_DIR/initdb.log" 2>&1; then
    PG_HARNESS_WHY="initdb failed: $(tail -n 5 "$PG_HARNESS_DIR/initdb.log" | tr '\n' ' ')"
    return 1
  fi
  # Listen on loopback TCP only; the socket directory is ours (not /var/run/postgresql).
  # fsync stays on: the tests check durability-sensitive code paths as deployed. A port that
  # looked free may be taken meanwhile (other engineers' nodes): try a few.
  local port attempt started=0
  for attempt in 1 2 3 4 5; do
    if ! port="$(_pg_free_port)"; then
      continue
    fi
    if _pg_as "$PG_HARNESS_BIN/pg_ctl" -D "$PG_HARNESS_DIR/data" -l "$PG_HARNESS_DIR/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_HARNESS_DIR -c max_connections=200" \
        -w -t 60 start >"$PG_HARNESS_DIR/pg_ctl.log" 2>&1; then
      started=1
      break
    fi
  done
  if [ "$started" != 1 ]; then
    PG_HARNESS_WHY="pg_ctl start failed: $(tail -n 5 "$PG_HARNESS_DIR/server.log" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
  if ! _pg_as "$PG_HARNESS_BIN/createdb" -h 127.0.0.1 -p "$port" -U xsc xsc_test \
      >>"$PG_HARNESS_DIR/pg_ctl.log" 2>&1; then
    PG_HARNESS_WHY="createdb failed"
    return 1
  fi
  export XSC_TEST_POSTGRES_URL="postgres://xsc@127.0.0.1:$port/xsc_test"
  export PG_HARNESS_PORT="$port"
  return 0
}

# Stop the cluster (fast shutdown) and remove its directory. Safe to call twice.
pg_harness_stop() {
  if [ -n "$PG_HARNESS_DIR" ] && [ -d "$PG_HARNESS_DIR" ]; then
    if [ -f "$PG_HARNESS_DIR/data/postmaster.pid" ]; then
      _pg_as "$PG_HARNESS_BIN/pg_ctl" -D "$PG_HARNESS_DIR/data" -m fast -w -t 60 stop \
        >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_HARNESS_DIR"
  fi
  PG_HARNESS_DIR=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "${1:-}" != "run" ]; then
    echo "usage: $0 run -- COMMAND [ARGS...]   (or source it and call pg_harness_start)" >&2
    exit 2
  fi
  shift
  [ "${1:-}" = "--" ] && shift
  if ! pg_harness_start; then
    echo "PostgreSQL harness: $PG_HARNESS_WHY" >&2
    pg_harness_stop
    exit 1
  fi
  trap pg_harness_stop EXIT
  echo "PostgreSQL harness: $XSC_TEST_POSTGRES_URL (data in $PG_HARNESS_DIR)" >&2
  "$@"
fi
