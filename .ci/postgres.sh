#!/usr/bin/env bash
# Starts a private PostgreSQL server on 127.0.0.1 for the store tests and prints its connection string.
# Installs the Debian package when it is missing (needs root), reuses a server already running on the port,
# and keeps its files under /tmp so nothing of the machine's own PostgreSQL setup is touched.
set -euo pipefail

port=${CHATPLATFORM_PG_PORT:-55432}
dir=${CHATPLATFORM_PG_DIR:-/tmp/chatplatform-pg-$port}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

bin=$(find_bin)
if [ -z "$bin" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed and this user cannot install it: run 'apt-get install postgresql' as root" >&2
    exit 1
  fi
  echo "Installing PostgreSQL (Debian package postgresql)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(find_bin)
fi

# The server refuses to run as root: run it as the postgres account the package creates.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=300" start >/dev/null
fi

echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
